/* Ordering and replication of writes and consistent reads through canonical/raft 0.15.
 * Batches: every write that arrives before a flush goes into one entry; reads wait for the
 * entry proposed after them. A write arriving after a queued read starts a new batch, so a
 * client's read never sees its own later writes. A few batches are in flight at once. */
#include "consensus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "client.h"
#include "command.h"
#include "entry.h"
#include "fsm.h"
#include "kv.h"
#include "log.h"
#include "server.h"
#include "transport.h"

#define MSG_UNKNOWN "UNCERTAIN leadership was lost while the write was in flight; it may or may not have been applied"
#define MSG_TIMEOUT_WRITE "TIMEOUT the write was not committed within request-timeout; it may or may not have been applied"
#define MSG_TIMEOUT_READ "TIMEOUT the read could not be confirmed within request-timeout"
#define MSG_NOT_PROPOSED "TRYAGAIN leadership changed before the command was proposed; it was not applied"
#define MSG_SHUTDOWN "ERR server shutting down; the command was not applied"

struct pending_read {
    struct slot *slot; /* NULL once answered (timeout) */
    const struct command *cmd;
    struct request *req;
};

struct batch {
    struct batch *next, *prev;
    struct consensus *cs;
    struct entry_builder eb;
    int kind;            /* ENTRY_COMMANDS or ENTRY_NODE */
    int election;        /* the new leader's first entry: serve nothing before it applies */
    struct slot **slots; /* one per write; NULL for the server's own writes or once answered */
    int nwrites, slots_cap;
    struct pending_read *reads;
    int nreads, reads_cap;
    int64_t created_us;
    int64_t proposed_us;
    int timed_out;
    int is_barrier;
    void (*done)(void *arg, int status); /* node-metadata entries proposed by cluster.c */
    void *done_arg;
    union {
        struct raft_apply apply;
        struct raft_barrier barrier;
    } req;
};

struct batch_list {
    struct batch *head, *tail;
    int n;
};

struct consensus {
    struct server *srv;
    uv_loop_t loop;
    struct transport transport;
    struct raft_io io;
    struct raft_fsm rfsm;
    struct raft raft;
    char address[64];
    int raft_open;     /* raft_init succeeded: raft_close needed */
    int closing;       /* raft_close was called */
    int closed;        /* raft_close's callback ran */
    struct batch *open;
    struct batch_list queued, inflight;
    int barriers_inflight;
    int role;
    int ready;
    uint64_t leader_id;
    uint64_t last_leader_id;   /* the last leader whose RESP address was known */
    char last_leader_resp[64];
    struct raft_transfer transfer;
    void (*shutdown_done)(struct server *srv);
    int shutting_down;
    struct consensus_stats stats;
};

/* ---- batches ---- */

static struct batch *batch_new(struct consensus *cs, int kind)
{
    struct batch *b = xcalloc(1, sizeof(*b));
    b->cs = cs;
    b->kind = kind;
    entry_builder_init(&b->eb, (enum entry_kind)kind);
    b->created_us = util_mono_us();
    return b;
}

static void batch_free(struct batch *b)
{
    entry_builder_close(&b->eb);
    free(b->slots);
    for (int i = 0; i < b->nreads; i++)
        request_free(b->reads[i].req);
    free(b->reads);
    free(b);
}

static void list_push(struct batch_list *l, struct batch *b)
{
    b->next = NULL;
    b->prev = l->tail;
    if (l->tail)
        l->tail->next = b;
    else
        l->head = b;
    l->tail = b;
    l->n++;
}

static void list_remove(struct batch_list *l, struct batch *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        l->head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        l->tail = b->prev;
    b->next = b->prev = NULL;
    l->n--;
}

/* Answer everything B still owes with WRITE_MSG (writes) and READ_MSG (reads). */
static void batch_answer(struct batch *b, const char *write_msg, const char *read_msg)
{
    for (int i = 0; i < b->nwrites; i++)
        if (b->slots[i]) {
            slot_error(b->slots[i], write_msg);
            b->slots[i] = NULL;
        }
    for (int i = 0; i < b->nreads; i++)
        if (b->reads[i].slot) {
            slot_error(b->reads[i].slot, read_msg);
            b->reads[i].slot = NULL;
        }
}

/* Answer B with MSG and free it; it was never applied. */
static void batch_drop(struct batch *b, const char *msg)
{
    batch_answer(b, msg, msg);
    if (b->done)
        b->done(b->done_arg, RAFT_NOTLEADER);
    batch_free(b);
}

/* Drop every batch not yet proposed, answering it with MSG (it was never applied). */
static void fail_queued(struct consensus *cs, const char *msg)
{
    if (cs->open) {
        batch_drop(cs->open, msg);
        cs->open = NULL;
    }
    while (cs->queued.head) {
        struct batch *b = cs->queued.head;
        list_remove(&cs->queued, b);
        batch_drop(b, msg);
    }
}

static void seal_open(struct consensus *cs)
{
    if (cs->open) {
        list_push(&cs->queued, cs->open);
        cs->open = NULL;
    }
}

void consensus_write(struct consensus *cs, struct client *c, struct request *req)
{
    if (cs->open && cs->open->nreads > 0)
        seal_open(cs);
    if (cs->open == NULL)
        cs->open = batch_new(cs, ENTRY_COMMANDS);
    struct batch *b = cs->open;
    if (b->nwrites == b->slots_cap) {
        b->slots_cap = b->slots_cap ? b->slots_cap * 2 : 16;
        b->slots = xrealloc(b->slots, sizeof(*b->slots) * (size_t)b->slots_cap);
    }
    b->slots[b->nwrites++] = c ? client_defer(c) : NULL;
    entry_builder_add(&b->eb, req->argc, req->argv, req->len);
    request_free(req);
    server_want_flush(cs->srv);
}

void consensus_read(struct consensus *cs, struct client *c, const struct command *cmd,
                    struct request *req)
{
    if (cs->open == NULL)
        cs->open = batch_new(cs, ENTRY_COMMANDS);
    struct batch *b = cs->open;
    if (b->nreads == b->reads_cap) {
        b->reads_cap = b->reads_cap ? b->reads_cap * 2 : 16;
        b->reads = xrealloc(b->reads, sizeof(*b->reads) * (size_t)b->reads_cap);
    }
    b->reads[b->nreads++] = (struct pending_read){client_defer(c), cmd, req};
    server_want_flush(cs->srv);
}

/* ---- completion ---- */

/* Hand each write's reply from R to its slot. */
static void deliver_writes(struct batch *b, struct fsm_result *r)
{
    size_t start = 0;
    for (int i = 0; i < b->nwrites; i++) {
        struct slot *s = b->slots[i];
        if (r == NULL || (uint32_t)i >= r->n) {
            if (s)
                slot_error(s, "ERR internal error: no reply from apply");
            continue;
        }
        if (s) {
            buf_append(&s->out, r->out.data + start, r->ends[i] - start);
            slot_done(s);
        }
        start = r->ends[i];
    }
}

/* Execute B's reads against the applied state, with the local clock. */
static void run_reads(struct consensus *cs, struct batch *b)
{
    struct server *srv = cs->srv;
    int64_t now = util_now_ms();
    for (int i = 0; i < b->nreads; i++) {
        struct pending_read *pr = &b->reads[i];
        if (pr->slot == NULL)
            continue;
        if (pr->slot->c != NULL) {
            struct exec_ctx ctx = {
                .kv = srv->kv, .now_ms = now, .index = srv->fsm.last_applied,
                .out = &pr->slot->out, .client = pr->slot->c, .srv = srv, .rng = &srv->rng,
            };
            command_exec(pr->cmd, &ctx, pr->req);
        }
        slot_done(pr->slot);
        pr->slot = NULL;
    }
    cs->stats.reads += b->nreads;
}

/* canonical/raft 0.15 cannot recover from a failed write of its own log in-process: after
 * an io_submit failure its append queue stalls for good (the leader keeps heartbeating, so
 * the whole cluster stops), and after a write that fails at completion appendLeaderCb()
 * truncates entries already sent to followers and may corrupt memory (fixed upstream in 0.16).
 * Stopping the process is safe (the entry's fate is decided by the followers; clients see
 * the connection drop, an unknown outcome) and turns a cluster-wide stall into the loss of
 * one node until it is restarted. See docs/SAFETY.md (F1, F2). */
static void fail_stop(struct consensus *cs, const char *why)
{
    log_warning("raft storage failure (%s): stopping this node to keep the cluster available; "
                "restart it once its disk works", why);
    _exit(3);
}

/* B's entry was applied (STATUS 0) or failed. */
static void batch_complete(struct batch *b, int status, struct fsm_result *r)
{
    struct consensus *cs = b->cs;
    list_remove(&cs->inflight, b);
    if (b->is_barrier)
        cs->barriers_inflight--;
    if (status == 0) {
        histogram_observe(&cs->stats.commit_latency, (util_mono_us() - b->proposed_us) / 1e6);
        deliver_writes(b, r);
        run_reads(cs, b);
        if (b->election && cs->role == ROLE_LEADER) {
            cs->ready = 1;
            log_notice("leader of term %llu: ready", (unsigned long long)cs->raft.current_term);
        }
    } else {
        if (b->nwrites > 0)
            cs->stats.unknown_outcomes++;
        if (status == RAFT_IOERR)
            fail_stop(cs, "a log write failed");
        batch_answer(b, status == RAFT_SHUTDOWN ? MSG_SHUTDOWN : MSG_UNKNOWN, MSG_NOT_PROPOSED);
    }
    if (b->done)
        b->done(b->done_arg, status);
    fsm_result_free(r);
    batch_free(b);
    server_want_flush(cs->srv);
}

static void on_apply(struct raft_apply *req, int status, void *result)
{
    struct batch *b = req->data;
    batch_complete(b, status, fsm_take_result(&b->cs->srv->fsm, result));
}

static void on_barrier(struct raft_barrier *req, int status)
{
    struct batch *b = req->data;
    batch_complete(b, status, NULL);
}

/* ---- proposing ---- */

static int batch_propose(struct consensus *cs, struct batch *b)
{
    int rv;
    if (b->nwrites > 0 || b->kind == ENTRY_NODE) {
        size_t len;
        void *entry = entry_builder_finish(&b->eb, util_now_ms(), &len);
        struct raft_buffer rb = {raft_malloc(len), len};
        memcpy(rb.base, entry, len);
        free(entry);
        entry_builder_init(&b->eb, (enum entry_kind)b->kind);
        b->req.apply.data = b;
        rv = raft_apply(&cs->raft, &b->req.apply, &rb, 1, on_apply);
        if (rv != 0)
            raft_free(rb.base);
        else {
            cs->stats.entries_proposed++;
            cs->stats.commands_proposed += b->nwrites;
            cs->stats.last_batch_size = b->nwrites;
            histogram_observe(&cs->stats.batch_size, b->nwrites);
            if (b->nwrites > cs->stats.max_batch_size)
                cs->stats.max_batch_size = b->nwrites;
        }
    } else {
        b->req.barrier.data = b;
        rv = raft_barrier(&cs->raft, &b->req.barrier, on_barrier);
        if (rv == 0) {
            cs->stats.barriers++;
            cs->barriers_inflight++;
            b->is_barrier = 1;
        }
    }
    if (rv == RAFT_IOERR)
        fail_stop(cs, raft_errmsg(&cs->raft));
    if (rv != 0) {
        log_verbose("propose failed: %s", raft_strerror(rv));
        batch_drop(b, MSG_NOT_PROPOSED);
        return rv;
    }
    b->proposed_us = util_mono_us();
    list_push(&cs->inflight, b);
    return 0;
}

void consensus_flush(struct consensus *cs)
{
    int proposed = 0;
    /* The open batch stays open while the window is full: what arrives meanwhile joins it, so
     * one entry (one append, one fsync, one round trip) carries many commands. */
    while (cs->inflight.n < CONSENSUS_MAX_INFLIGHT && cs->role == ROLE_LEADER) {
        if (cs->queued.head == NULL)
            seal_open(cs);
        struct batch *b = cs->queued.head;
        if (b == NULL || (!cs->ready && !b->election))
            break;
        /* One read barrier in flight at a time: reads that arrive meanwhile share the next. */
        if (b->nwrites == 0 && b->kind == ENTRY_COMMANDS && cs->barriers_inflight > 0)
            break;
        list_remove(&cs->queued, b);
        batch_propose(cs, b);
        proposed = 1;
    }
    if (cs->role != ROLE_LEADER && !cs->shutting_down)
        fail_queued(cs, MSG_NOT_PROPOSED);
    if (proposed)
        server_kick(cs->srv);
    server_flush_writes(cs->srv);
}

/* ---- leadership ---- */

/* A node-metadata batch: "set" ID RESP ADMIN, or "del" ID when RESP is NULL. */
static struct batch *node_batch(struct consensus *cs, uint64_t id, const char *resp, const char *admin)
{
    char ids[24];
    struct batch *b = batch_new(cs, ENTRY_NODE);
    snprintf(ids, sizeof(ids), "%llu", (unsigned long long)id);
    if (resp) {
        char *argv[] = {"set", ids, (char *)resp, (char *)(admin ? admin : "")};
        size_t len[] = {3, strlen(ids), strlen(resp), admin ? strlen(admin) : 0};
        entry_builder_add(&b->eb, 4, argv, len);
    } else {
        char *argv[] = {"del", ids};
        size_t len[] = {3, strlen(ids)};
        entry_builder_add(&b->eb, 2, argv, len);
    }
    return b;
}

void consensus_propose_node(struct consensus *cs, uint64_t id, const char *resp, const char *admin,
                            void (*done)(void *arg, int status), void *arg)
{
    struct batch *b = node_batch(cs, id, resp, admin);
    b->done = done;
    b->done_arg = arg;
    seal_open(cs);
    list_push(&cs->queued, b);
    server_want_flush(cs->srv);
}

struct raft *consensus_raft(struct consensus *cs)
{
    return cs->raft_open && !cs->closed ? &cs->raft : NULL;
}

static void propose_election_entry(struct consensus *cs)
{
    struct config *cfg = cs->srv->cfg;
    char resp[64], admin[64];
    snprintf(resp, sizeof(resp), "%s:%lld", cfg->bind, cfg->port);
    if (cfg->admin_port > 0)
        snprintf(admin, sizeof(admin), "%s:%lld", cfg->bind, cfg->admin_port);
    else
        admin[0] = '\0';
    struct batch *b = node_batch(cs, (uint64_t)cfg->id, resp, admin);
    b->election = 1;
    /* It goes first: nothing is served before it is applied. */
    b->next = cs->queued.head;
    b->prev = NULL;
    if (cs->queued.head)
        cs->queued.head->prev = b;
    else
        cs->queued.tail = b;
    cs->queued.head = b;
    cs->queued.n++;
    server_want_flush(cs->srv);
}

/* Notice role and leader changes after raft ran. */
static void check_state(struct consensus *cs)
{
    const char *addr;
    raft_id leader;
    int role = raft_state(&cs->raft);

    raft_leader(&cs->raft, &leader, &addr);
    if (leader != cs->leader_id) {
        cs->leader_id = leader;
        if (leader != 0)
            cs->stats.leader_changes++;
        log_notice("leader is now %llu", (unsigned long long)leader);
    }
    const char *resp;
    if (consensus_leader(cs, &resp) != 0 && resp != NULL) {
        cs->last_leader_id = cs->leader_id;
        snprintf(cs->last_leader_resp, sizeof(cs->last_leader_resp), "%s", resp);
    }
    if (role == cs->role)
        return;
    int was = cs->role;
    cs->role = role;
    cs->ready = 0;
    if (role == RAFT_LEADER) {
        log_notice("became leader of term %llu", (unsigned long long)cs->raft.current_term);
        propose_election_entry(cs);
    } else if (was == RAFT_LEADER) {
        log_notice("lost leadership (now %s)", consensus_role_name(role));
        fail_queued(cs, MSG_NOT_PROPOSED);
    }
}

int consensus_pump(struct consensus *cs)
{
    for (int i = 0; i < 16; i++) {
        uv_run(&cs->loop, UV_RUN_NOWAIT);
        if (uv_backend_timeout(&cs->loop) != 0)
            break;
    }
    if (cs->raft_open && !cs->closed)
        check_state(cs);
    server_flush_writes(cs->srv);
    return uv_backend_timeout(&cs->loop);
}

int consensus_backend_fd(const struct consensus *cs)
{
    return uv_backend_fd(&cs->loop);
}

void consensus_cron(struct consensus *cs)
{
    int64_t limit = util_mono_us() - cs->srv->cfg->request_timeout * 1000;
    for (struct batch *b = cs->queued.head, *next; b; b = next) {
        next = b->next;
        if (b->created_us < limit && !b->election) {
            list_remove(&cs->queued, b);
            cs->stats.timeouts++;
            batch_drop(b, "TIMEOUT no leader could commit the write within request-timeout; it was not applied");
        }
    }
    for (struct batch *b = cs->inflight.head; b; b = b->next) {
        raft_index index = b->is_barrier ? b->req.barrier.index : b->req.apply.index;
        if (cs->role == RAFT_LEADER && b->proposed_us < limit - cs->srv->cfg->request_timeout * 1000 &&
            cs->raft.last_stored < index)
            fail_stop(cs, "the log has not reached the disk for twice request-timeout");
        if (b->created_us < limit && !b->timed_out) {
            b->timed_out = 1;
            cs->stats.timeouts++;
            batch_answer(b, MSG_TIMEOUT_WRITE, MSG_TIMEOUT_READ);
        }
    }
    server_flush_writes(cs->srv);
}

int consensus_accepts(const struct consensus *cs)
{
    return cs->role == RAFT_LEADER && !cs->shutting_down;
}

int consensus_is_leader(const struct consensus *cs)
{
    return cs->role == RAFT_LEADER && cs->ready && !cs->shutting_down;
}

uint64_t consensus_leader(const struct consensus *cs, const char **resp_addr)
{
    const struct fsm_node *n = cs->leader_id ? fsm_node(&cs->srv->fsm, cs->leader_id) : NULL;
    if (resp_addr)
        *resp_addr = n && n->resp[0] ? n->resp : NULL;
    return cs->leader_id;
}

uint64_t consensus_last_leader(const struct consensus *cs, const char **resp_addr)
{
    *resp_addr = cs->last_leader_id ? cs->last_leader_resp : NULL;
    return cs->last_leader_id;
}

/* ---- setup and teardown ---- */

static int snapshot_busy(void *arg)
{
    struct consensus *cs = arg;
    /* 0.15 can assert if a configuration change is compacted away before it commits. */
    return cs->raft.configuration_uncommitted_index != 0;
}

static int mkdir_p(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Parse "id@ip:port,..." into CONF. Returns 0 or -1 with ERR. */
static int parse_cluster(const char *spec, struct raft_configuration *conf, uint64_t self,
                         char *err, size_t errlen)
{
    char *copy = xstrdup(spec), *save = NULL;
    int found = 0, rv = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *at = strchr(tok, '@');
        long long id;
        if (at == NULL || util_parse_ll(tok, (size_t)(at - tok), &id) != 0 || id <= 0 ||
            util_parse_addr(at + 1, NULL, 0) != 0) {
            snprintf(err, errlen, "option 'cluster': '%s' is not id@ip:port", tok);
            rv = -1;
            break;
        }
        if (raft_configuration_add(conf, (raft_id)id, at + 1, RAFT_VOTER) != 0) {
            snprintf(err, errlen, "option 'cluster': duplicate id or address in '%s'", tok);
            rv = -1;
            break;
        }
        found |= (uint64_t)id == self;
    }
    free(copy);
    if (rv == 0 && !found) {
        snprintf(err, errlen, "option 'cluster': does not list this node's id %llu", (unsigned long long)self);
        rv = -1;
    }
    return rv;
}

/* Bootstrap when the options ask for it; a dir that already holds state is left as is. */
static int bootstrap(struct consensus *cs, char *err, size_t errlen)
{
    struct config *cfg = cs->srv->cfg;
    struct raft_configuration conf;
    int rv = 0;

    if (cfg->join || (cfg->cluster == NULL && cfg->bootstrap == BOOTSTRAP_NO))
        return 0;
    raft_configuration_init(&conf);
    if (cfg->cluster)
        rv = parse_cluster(cfg->cluster, &conf, (uint64_t)cfg->id, err, errlen);
    else
        rv = raft_configuration_add(&conf, (raft_id)cfg->id, cs->address, RAFT_VOTER);
    if (rv == 0) {
        rv = raft_bootstrap(&cs->raft, &conf);
        if (rv == RAFT_CANTBOOTSTRAP)
            rv = 0; /* dir already holds state: recover from it */
        else if (rv != 0)
            snprintf(err, errlen, "bootstrap failed: %s", raft_errmsg(&cs->raft));
        else
            log_notice("bootstrapped a cluster of %u voter(s)", conf.n);
    }
    raft_configuration_close(&conf);
    return rv == 0 ? 0 : -1;
}

static void apply_settings(struct consensus *cs)
{
    struct config *cfg = cs->srv->cfg;
    struct raft *r = &cs->raft;
    raft_set_election_timeout(r, (unsigned)cfg->election_timeout);
    raft_set_heartbeat_timeout(r, (unsigned)cfg->heartbeat_timeout);
    raft_set_pre_vote(r, true);
    raft_set_snapshot_threshold(r, (unsigned)cfg->snapshot_threshold);
    raft_set_snapshot_trailing(r, (unsigned)cfg->snapshot_trailing);
    raft_set_max_catch_up_round_duration(r, 30000);
    /* 0.15 drops an InstallSnapshot that arrives while the follower takes its own snapshot
     * and resends only after this timeout: keep it short. */
    raft_set_install_snapshot_timeout(r, 10000);
    /* Snapshots are written by the thread pool; lz4 would only add CPU on the loop's core. */
    raft_uv_set_snapshot_compression(&cs->io, false);
}

/* The transport asks whether raft node ID may connect: members of the latest configuration
 * (committed or not), or anyone authenticated while this node has none yet (it waits to be
 * added, by --join or --bootstrap no). */
static int transport_member(void *arg, uint64_t id)
{
    const struct raft_configuration *conf = &((struct consensus *)arg)->raft.configuration;
    for (unsigned i = 0; i < conf->n; i++)
        if (conf->servers[i].id == id)
            return 1;
    return conf->n == 0;
}

struct consensus *consensus_new(struct server *srv, char *err, size_t errlen)
{
    struct config *cfg = srv->cfg;
    struct consensus *cs = xcalloc(1, sizeof(*cs));
    int rv;

    cs->srv = srv;
    cs->role = ROLE_UNAVAILABLE;
    histogram_init(&cs->stats.batch_size, metrics_batch_bounds);
    histogram_init(&cs->stats.commit_latency, metrics_latency_bounds);
    uv_loop_init(&cs->loop);
    consensus_raft_address(cfg, cs->address, sizeof(cs->address));
    if (mkdir_p(cfg->dir) != 0) {
        snprintf(err, errlen, "option 'dir': cannot create '%s': %s", cfg->dir, strerror(errno));
        goto fail;
    }
    struct transport_options topts = {cfg->cluster_secret, (uint64_t)cfg->raft_max_message,
                                      transport_member, cs};
    if ((rv = transport_init(&cs->transport, &cs->loop, &topts)) != 0) {
        snprintf(err, errlen, "raft transport: %s", raft_strerror(rv));
        goto fail;
    }
    if (cfg->raft_advertise) {
        /* Peers connect to the advertised address; listen on our own. */
        char bind_addr[64];
        snprintf(bind_addr, sizeof(bind_addr), "%s:%lld", cfg->bind, cfg->raft_port);
        if ((rv = transport_set_bind_address(&cs->transport, bind_addr)) != 0) {
            snprintf(err, errlen, "raft bind address %s: %s", bind_addr, raft_strerror(rv));
            goto fail_transport;
        }
    }
    if ((rv = raft_uv_init(&cs->io, &cs->loop, cfg->dir, &cs->transport.outer)) != 0) {
        snprintf(err, errlen, "raft storage in '%s': %s", cfg->dir, cs->io.errmsg);
        goto fail_transport;
    }
    /* canonical/raft 0.15 workaround: raft_uv_init implements async_work (the version-2 field
     * that FSM version 3 needs to snapshot off the loop) but reports io->version = 1, so
     * raft_init would refuse our FSM. Later releases set 2; the field is there, so say so. */
    if (cs->io.version < 2 && cs->io.async_work != NULL)
        cs->io.version = 2;
    fsm_raft_init(&srv->fsm, &cs->rfsm);
    srv->fsm.snapshot_busy = snapshot_busy;
    srv->fsm.busy_arg = cs;
    if ((rv = raft_init(&cs->raft, &cs->io, &cs->rfsm, (raft_id)cfg->id, cs->address)) != 0) {
        snprintf(err, errlen, "raft: %s", raft_errmsg(&cs->raft));
        goto fail_io;
    }
    cs->raft.data = cs;
    cs->raft_open = 1;
    apply_settings(cs);
    if (bootstrap(cs, err, errlen) != 0)
        return cs; /* raft must be closed through the loop: the caller frees */
    if ((rv = raft_start(&cs->raft)) != 0) {
        snprintf(err, errlen, "raft start on %s: %s", cs->address, raft_errmsg(&cs->raft));
        return cs;
    }
    err[0] = '\0';
    return cs;

fail_io:
    raft_uv_close(&cs->io);
fail_transport:
    transport_close(&cs->transport);
fail:
    uv_loop_close(&cs->loop);
    free(cs);
    return NULL;
}

static void on_raft_close(struct raft *r)
{
    struct consensus *cs = r->data;
    raft_uv_close(&cs->io);
    transport_close(&cs->transport);
    cs->closed = 1;
    if (cs->shutdown_done)
        cs->shutdown_done(cs->srv);
}

static void close_raft(struct consensus *cs)
{
    if (cs->closing)
        return; /* a second signal, or the transfer callback after raft_close cancelled it */
    cs->closing = 1;
    if (cs->raft_open && !cs->closed)
        raft_close(&cs->raft, on_raft_close);
    else if (cs->shutdown_done)
        cs->shutdown_done(cs->srv);
    server_kick(cs->srv);
}

static void on_transfer(struct raft_transfer *req)
{
    struct consensus *cs = req->data;
    raft_id leader;
    const char *addr;
    raft_leader(&cs->raft, &leader, &addr);
    log_notice("leadership transfer before shutdown: leader is now %llu", (unsigned long long)leader);
    close_raft(cs);
}

static int voter_count(const struct consensus *cs)
{
    int n = 0;
    for (unsigned i = 0; i < cs->raft.configuration.n; i++)
        n += cs->raft.configuration.servers[i].role == RAFT_VOTER;
    return n;
}

void consensus_shutdown(struct consensus *cs, void (*done)(struct server *srv))
{
    cs->shutdown_done = done;
    cs->shutting_down = 1;
    fail_queued(cs, MSG_SHUTDOWN);
    if (cs->role == RAFT_LEADER && voter_count(cs) > 1 && cs->raft.transfer == NULL) {
        cs->transfer.data = cs;
        if (raft_transfer(&cs->raft, &cs->transfer, 0, on_transfer) == 0) {
            log_notice("transferring leadership before shutdown");
            server_kick(cs->srv);
            return;
        }
    }
    close_raft(cs);
}

void consensus_free(struct consensus *cs)
{
    if (cs == NULL)
        return;
    fail_queued(cs, MSG_SHUTDOWN);
    cs->shutdown_done = NULL;
    if (cs->raft_open && !cs->closed && !cs->closing) {
        /* Startup failed after raft_init, or a second signal cut the shutdown short. */
        cs->closing = 1;
        raft_close(&cs->raft, on_raft_close);
    }
    for (int i = 0; i < 1000 && !cs->closed && cs->raft_open; i++)
        uv_run(&cs->loop, UV_RUN_ONCE);
    if (cs->closed || !cs->raft_open) {
        /* raft no longer holds the requests: answer and free what is left. */
        while (cs->inflight.head) {
            struct batch *b = cs->inflight.head;
            list_remove(&cs->inflight, b);
            batch_drop(b, MSG_SHUTDOWN);
        }
    }
    uv_run(&cs->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&cs->loop) != 0)
        log_warning("libuv loop still had handles at exit");
    free(cs);
}

/* ---- introspection ---- */

void consensus_raft_address(const struct config *cfg, char *out, size_t len)
{
    if (cfg->raft_advertise)
        snprintf(out, len, "%s", cfg->raft_advertise);
    else
        snprintf(out, len, "%s:%lld", cfg->bind, cfg->raft_port);
}

const char *consensus_role_name(int role)
{
    switch (role) {
    case ROLE_FOLLOWER: return "follower";
    case ROLE_CANDIDATE: return "candidate";
    case ROLE_LEADER: return "leader";
    default: return "unavailable";
    }
}

void consensus_get_info(const struct consensus *cs, struct consensus_info *info)
{
    struct raft *r = (struct raft *)&cs->raft;
    memset(info, 0, sizeof(*info));
    info->id = (uint64_t)cs->srv->cfg->id;
    info->role = cs->role;
    info->ready = cs->ready;
    info->leader_id = cs->leader_id;
    info->queued = cs->queued.n;
    info->inflight = cs->inflight.n;
    if (!cs->raft_open || cs->closed)
        return;
    info->term = r->current_term;
    info->commit_index = r->commit_index;
    info->applied_index = raft_last_applied(r);
    info->last_index = raft_last_index(r);
    info->snapshot_index = r->log.snapshot.last_index;
    info->voters = voter_count(cs);
}

int consensus_nodes(const struct consensus *cs, struct consensus_node *out, int max)
{
    const struct raft_configuration *conf = &cs->raft.configuration;
    if (!cs->raft_open || cs->closed)
        return 0;
    for (unsigned i = 0; i < conf->n && (int)i < max; i++) {
        const struct raft_server *s = &conf->servers[i];
        const struct fsm_node *n = fsm_node(&cs->srv->fsm, s->id);
        struct consensus_node *o = &out[i];
        memset(o, 0, sizeof(*o));
        o->id = s->id;
        snprintf(o->raft_addr, sizeof(o->raft_addr), "%s", s->address);
        if (n) {
            snprintf(o->resp_addr, sizeof(o->resp_addr), "%s", n->resp);
            snprintf(o->admin_addr, sizeof(o->admin_addr), "%s", n->admin);
        }
        o->member = s->role == RAFT_VOTER ? MEMBER_VOTER : s->role == RAFT_STANDBY ? MEMBER_STANDBY : MEMBER_SPARE;
        o->leader = s->id == cs->leader_id;
    }
    return (int)conf->n;
}

const struct consensus_stats *consensus_stats(const struct consensus *cs)
{
    return &cs->stats;
}
