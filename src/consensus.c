/* The batching and ordering core: replication of writes and consistent reads through a
 * canonical/raft 0.15 instance (consensus_uv.c's, or a caller's), below the event loop:
 * requests are opaque cookies, answers go back through the callback table.
 * Batches: every write that arrives before a flush goes into one entry; reads wait for the
 * entry of their batch, or, in a batch of reads only, a ReadIndex round (consensus_read.c)
 * or a barrier. A write arriving after a queued read starts a new batch, so a
 * client's read never sees its own later writes. A few batches are in flight at once.
 * Includes nothing of the loop (server.h, client.h, admin.h); keeps no file-scope state. */
#include "consensus.h"
#include "consensus_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <raft.h>

#include "entry.h"
#include "fsm.h"
#include "list.h"
#include "log.h"
#include "resp.h"

#define MSG_UNKNOWN "UNCERTAIN leadership was lost while the write was in flight; it may or may not have been applied"
#define MSG_TIMEOUT_WRITE "TIMEOUT the write was not committed within request-timeout; it may or may not have been applied"
#define MSG_TIMEOUT_READ "TIMEOUT the read could not be confirmed within request-timeout"
#define MSG_NOT_PROPOSED "TRYAGAIN leadership changed before the command was proposed; it was not applied"

struct pending_read {
    void *cookie; /* NULL once answered (timeout) */
    const struct command *cmd;
    struct request *req;
};

struct batch {
    struct list_node node; /* in queued or inflight */
    struct consensus *cs;
    struct entry_builder eb;
    int kind;            /* ENTRY_COMMANDS or ENTRY_NODE */
    int election;        /* the new leader's first entry: serve nothing before it applies */
    void **cookies;      /* one per write; NULL for the server's own writes or once answered */
    int nwrites, cookies_cap;
    struct pending_read *reads;
    int nreads, reads_cap;
    int nordered_reads; /* of reads: those a later write must not reach (not probes) */
    int db;             /* the database the entry's next record runs in (FSM_DB_RECORD) */
    int64_t created_us;
    int64_t proposed_us;
    int timed_out;
    int is_barrier;
    uint64_t round_seq;     /* read-only batch: the ReadIndex round that confirms it (0: none yet) */
    raft_index read_index;  /* ... and the commit index its reads must see applied */
    int rounds_failed;      /* rounds given up on for it; at READ_ROUND_ATTEMPTS, a barrier */
    int use_barrier;        /* read-only batch confirmed by a barrier after all */
    void (*done)(void *arg, int status); /* node-metadata entries proposed by cluster.c */
    void *done_arg;
    union {
        struct raft_apply apply;
        struct raft_barrier barrier;
    } req;
};

/* ---- the callback table ---- */

static int64_t now_us(const struct consensus *cs)
{
    return cs->cb.mono_us ? cs->cb.mono_us(cs->cb.arg) : util_mono_us();
}

static void want_flush(struct consensus *cs)
{
    cs->cb.want_flush(cs->cb.arg);
}

void consensus_kick(struct consensus *cs)
{
    if (cs->cb.kick)
        cs->cb.kick(cs->cb.arg);
}

void consensus_flushed(struct consensus *cs)
{
    if (cs->cb.flushed)
        cs->cb.flushed(cs->cb.arg);
}

void consensus_notify_closed(struct consensus *cs)
{
    if (cs->notify_closed && cs->cb.closed)
        cs->cb.closed(cs->cb.arg);
}

/* ---- batches ---- */

static struct batch *batch_of(struct list_node *n)
{
    return list_entry(n, struct batch, node);
}

/* The entry buffer a new batch starts with: about the last entry's size, so that a stream of
 * large batches does not grow each one by doubling (every large realloc also consolidates
 * malloc's fast bins). */
#define BATCH_ENTRY_MIN 256
#define BATCH_ENTRY_MAX (1 << 20)

static struct batch *batch_new(struct consensus *cs, int kind)
{
    struct batch *b = cs->spare;
    if (b != NULL) { /* keep its arrays (and their capacity) for this batch */
        void **cookies = b->cookies;
        struct pending_read *reads = b->reads;
        int cookies_cap = b->cookies_cap, reads_cap = b->reads_cap;
        cs->spare = NULL;
        memset(b, 0, sizeof(*b));
        b->cookies = cookies;
        b->cookies_cap = cookies_cap;
        b->reads = reads;
        b->reads_cap = reads_cap;
    } else {
        b = xcalloc(1, sizeof(*b));
    }
    b->cs = cs;
    b->kind = kind;
    size_t hint = cs->last_entry_len + cs->last_entry_len / 4;
    entry_builder_init_sized(&b->eb, (enum entry_kind)kind,
                             hint < BATCH_ENTRY_MIN ? BATCH_ENTRY_MIN
                             : hint > BATCH_ENTRY_MAX ? BATCH_ENTRY_MAX : hint);
    b->created_us = now_us(cs);
    return b;
}

static void batch_release(struct batch *b)
{
    free(b->cookies);
    free(b->reads);
    free(b);
}

/* Free B, or keep it as the consensus's one spare (batch_new reuses its arrays). */
static void batch_free(struct batch *b)
{
    struct consensus *cs = b->cs;
    entry_builder_close(&b->eb);
    for (int i = 0; i < b->nreads; i++)
        request_free(b->reads[i].req);
    if (cs->spare == NULL && !cs->closed)
        cs->spare = b;
    else
        batch_release(b);
}

void consensus_free_spare(struct consensus *cs)
{
    if (cs->spare != NULL)
        batch_release(cs->spare);
    cs->spare = NULL;
}

/* Answer everything B still owes with WRITE_MSG (writes) and READ_MSG (reads). */
static void batch_answer(struct batch *b, const char *write_msg, const char *read_msg)
{
    const struct consensus_callbacks *cb = &b->cs->cb;
    for (int i = 0; i < b->nwrites; i++)
        if (b->cookies[i]) {
            cb->error(cb->arg, b->cookies[i], write_msg);
            b->cookies[i] = NULL;
        }
    for (int i = 0; i < b->nreads; i++)
        if (b->reads[i].cookie) {
            if (cb->read_error)
                cb->read_error(cb->arg, b->reads[i].cookie, b->reads[i].cmd, read_msg);
            else
                cb->error(cb->arg, b->reads[i].cookie, read_msg);
            b->reads[i].cookie = NULL;
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

/* Drop every batch not yet proposed, answering it with MSG (it was never applied). The queue
 * goes first: the open batch holds the newest requests, and answers go out in request order. */
void consensus_fail_queued(struct consensus *cs, const char *msg)
{
    struct list_node *n;
    while ((n = list_pop_front(&cs->queued)) != NULL)
        batch_drop(batch_of(n), msg);
    if (cs->open) {
        batch_drop(cs->open, msg);
        cs->open = NULL;
    }
}

static void seal_open(struct consensus *cs)
{
    if (cs->open) {
        list_push_back(&cs->queued, &cs->open->node);
        cs->open = NULL;
    }
}

void consensus_drop_inflight(struct consensus *cs, const char *msg)
{
    struct list_node *n;
    while ((n = list_pop_front(&cs->inflight)) != NULL)
        batch_drop(batch_of(n), msg);
}

/* The batch that takes requests now, created when there is none. */
static struct batch *open_batch(struct consensus *cs)
{
    if (cs->open == NULL)
        cs->open = batch_new(cs, ENTRY_COMMANDS);
    return cs->open;
}

void consensus_write(struct consensus *cs, void *cookie, struct request *req)
{
    consensus_write_db(cs, cookie, 0, req);
}

void consensus_write_db(struct consensus *cs, void *cookie, int db, struct request *req)
{
    if (cs->open && cs->open->nordered_reads > 0)
        seal_open(cs);
    struct batch *b = open_batch(cs);
    b->cookies = util_grow(b->cookies, b->nwrites, &b->cookies_cap, sizeof(*b->cookies));
    b->cookies[b->nwrites++] = cookie;
    if (db != b->db) { /* a "__db" n record, which apply answers nothing for */
        char num[16];
        int n = snprintf(num, sizeof(num), "%d", db);
        char *argv[2] = {FSM_DB_RECORD, num};
        size_t len[2] = {sizeof(FSM_DB_RECORD) - 1, (size_t)n};
        entry_builder_add(&b->eb, 2, argv, len);
        b->db = db;
    }
    entry_builder_add(&b->eb, req->argc, req->argv, req->len);
    request_free(req);
    want_flush(cs);
}

static void add_read(struct consensus *cs, void *cookie, const struct command *cmd,
                     struct request *req, int ordered)
{
    struct batch *b = open_batch(cs);
    b->reads = util_grow(b->reads, b->nreads, &b->reads_cap, sizeof(*b->reads));
    b->reads[b->nreads++] = (struct pending_read){cookie, cmd, req};
    b->nordered_reads += ordered;
    want_flush(cs);
}

void consensus_read(struct consensus *cs, void *cookie, const struct command *cmd,
                    struct request *req)
{
    add_read(cs, cookie, cmd, req, 1);
}

void consensus_probe(struct consensus *cs, void *cookie, const struct command *cmd,
                     struct request *req)
{
    add_read(cs, cookie, cmd, req, 0);
}

/* ---- completion ---- */

/* Hand each write's reply from R to its cookie. */
static void deliver_writes(struct batch *b, struct fsm_result *r)
{
    const struct consensus_callbacks *cb = &b->cs->cb;
    size_t start = 0, tstart = 0;
    for (int i = 0; i < b->nwrites; i++) {
        void *cookie = b->cookies[i];
        if (r == NULL || (uint32_t)i >= r->n) {
            if (cookie)
                cb->error(cb->arg, cookie, "ERR internal error: no reply from apply");
            continue;
        }
        size_t tend = r->trace_ends ? r->trace_ends[i] : 0;
        if (cookie && cb->executed)
            cb->executed(cb->arg, cookie, r->stat_usec[i], r->trace_ends ? r->trace.data + tstart : NULL,
                         tend - tstart);
        tstart = tend;
        if (cookie)
            cb->reply(cb->arg, cookie, r->out.data + start, r->ends[i] - start);
        start = r->ends[i];
    }
}

/* Have the dispatcher execute B's reads against the applied state. */
static void run_reads(struct consensus *cs, struct batch *b)
{
    for (int i = 0; i < b->nreads; i++) {
        struct pending_read *pr = &b->reads[i];
        if (pr->cookie == NULL)
            continue;
        cs->cb.run_read(cs->cb.arg, pr->cookie, pr->cmd, pr->req);
        pr->cookie = NULL;
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
    list_remove(&cs->inflight, &b->node);
    if (b->is_barrier)
        cs->barriers_inflight--;
    if (status == 0) {
        raft_index index = b->is_barrier ? b->req.barrier.index : b->req.apply.index;
        if (index > cs->completed_index)
            cs->completed_index = index;
        histogram_observe(&cs->stats.commit_latency, (now_us(cs) - b->proposed_us) / 1e6);
        deliver_writes(b, r);
        run_reads(cs, b);
        if (b->election && cs->role == ROLE_LEADER) {
            cs->ready = 1;
            log_notice("leader of term %llu: ready", (unsigned long long)cs->raft->current_term);
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
    want_flush(cs);
}

static void on_apply(struct raft_apply *req, int status, void *result)
{
    struct batch *b = req->data;
    batch_complete(b, status, fsm_take_result(b->cs->fsm, result));
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
        /* raft frees it with raft_free: raft's default heap is malloc's (we set no other). */
        struct raft_buffer rb = {entry, len};
        cs->last_entry_len = len;
        b->req.apply.data = b;
        rv = raft_apply(cs->raft, &b->req.apply, &rb, 1, on_apply);
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
        rv = raft_barrier(cs->raft, &b->req.barrier, on_barrier);
        if (rv == 0) {
            cs->stats.barriers++;
            cs->barriers_inflight++;
            b->is_barrier = 1;
        }
    }
    if (rv == RAFT_IOERR)
        fail_stop(cs, raft_errmsg(cs->raft));
    if (rv != 0) {
        log_verbose("propose failed: %s", raft_strerror(rv));
        batch_drop(b, MSG_NOT_PROPOSED);
        return rv;
    }
    b->proposed_us = now_us(cs);
    list_push_back(&cs->inflight, &b->node);
    return 0;
}

/* The applied index as far as our reads are concerned: raft sets last_applied only after
 * the apply callback of an entry returns, so inside one it is the entry's own index. */
static raft_index applied_index(const struct consensus *cs)
{
    raft_index a = raft_last_applied(cs->raft);
    return a > cs->completed_index ? a : cs->completed_index;
}

/* Serve the read-only batch B at the head of the queue if a ReadIndex round (or a lease)
 * confirms it, every batch before it has completed and the commit index it saw is applied;
 * else start its round when none is in flight. Batches behind B wait (so a client's read
 * never sees its own later writes). Returns 1 when B was served (and freed). */
static int read_index_serve(struct consensus *cs, struct batch *b)
{
    if (b->round_seq == 0 && !read_round_confirms(cs, 0)) {
        /* A round already in flight was sent before these reads were queued: wait. */
        if (cs->round.inflight)
            return 0;
        b->read_index = cs->raft->commit_index;
        b->round_seq = read_round_start(cs);
    } else if (b->round_seq == 0) {
        b->read_index = cs->raft->commit_index; /* under a lease */
    }
    if (b->round_seq != 0 && !read_round_confirms(cs, b->round_seq))
        return 0;
    if (cs->inflight.n > 0 || applied_index(cs) < b->read_index)
        return 0;
    list_remove(&cs->queued, &b->node);
    cs->stats.read_index_reads += b->nreads;
    if (b->round_seq == 0)
        cs->stats.lease_reads += b->nreads;
    run_reads(cs, b);
    batch_free(b);
    return 1;
}

static int is_read_only(const struct batch *b)
{
    return b->nwrites == 0 && b->kind == ENTRY_COMMANDS;
}

void consensus_flush(struct consensus *cs)
{
    int proposed = 0;
    /* The open batch stays open while the window is full: what arrives meanwhile joins it, so
     * one entry (one append, one fsync, one round trip) carries many commands. */
    while (cs->role == ROLE_LEADER) {
        if (cs->queued.head == NULL)
            seal_open(cs);
        struct batch *b = batch_of(cs->queued.head);
        if (b == NULL || (!cs->ready && !b->election))
            break;
        if (is_read_only(b) && read_round_enabled(cs) && !b->use_barrier) {
            /* Rounds need a majority of voters whose RESP address is known (replicated
             * metadata, which may itself be queued behind this batch): else a barrier. */
            if (b->round_seq == 0 && !read_round_reachable(cs)) {
                b->use_barrier = 1;
            } else {
                if (!read_index_serve(cs, b))
                    break;
                continue;
            }
        }
        if (cs->inflight.n >= CONSENSUS_MAX_INFLIGHT)
            break;
        /* One read barrier in flight at a time: reads that arrive meanwhile share the next. */
        if (is_read_only(b) && cs->barriers_inflight > 0)
            break;
        list_remove(&cs->queued, &b->node);
        batch_propose(cs, b);
        proposed = 1;
    }
    if (cs->role != ROLE_LEADER && !cs->shutting_down)
        consensus_fail_queued(cs, MSG_NOT_PROPOSED);
    if (proposed)
        consensus_kick(cs);
    consensus_flushed(cs);
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
    list_push_back(&cs->queued, &b->node);
    want_flush(cs);
}

struct raft *consensus_raft(struct consensus *cs)
{
    return cs->raft_open && !cs->closed ? cs->raft : NULL;
}

static void propose_election_entry(struct consensus *cs)
{
    const struct consensus_params *p = &cs->params;
    struct batch *b = node_batch(cs, p->id, p->resp_addr, p->admin_addr);
    b->election = 1;
    /* It goes first: nothing is served before it is applied. */
    list_push_front(&cs->queued, &b->node);
    want_flush(cs);
}

void consensus_update(struct consensus *cs)
{
    const char *addr;
    raft_id leader;
    int role = raft_state(cs->raft);

    raft_leader(cs->raft, &leader, &addr);
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
    read_round_reset(cs);
    if (role == RAFT_LEADER) {
        log_notice("became leader of term %llu", (unsigned long long)cs->raft->current_term);
        propose_election_entry(cs);
    } else if (was == RAFT_LEADER) {
        log_notice("lost leadership (now %s)", consensus_role_name(role));
        consensus_fail_queued(cs, MSG_NOT_PROPOSED);
    }
}

void consensus_cron(struct consensus *cs)
{
    long long timeout_us = cs->params.request_timeout_ms * 1000;
    int64_t limit = now_us(cs) - timeout_us;
    struct list_node *n, *next;
    list_foreach_safe(n, next, &cs->queued) {
        struct batch *b = batch_of(n);
        if (b->created_us < limit && !b->election) {
            list_remove(&cs->queued, n);
            cs->stats.timeouts++;
            batch_answer(b, "TIMEOUT no leader could commit the write within request-timeout; it was not applied",
                         MSG_TIMEOUT_READ);
            batch_drop(b, MSG_TIMEOUT_READ);
        }
    }
    list_foreach_safe(n, next, &cs->inflight) {
        struct batch *b = batch_of(n);
        raft_index index = b->is_barrier ? b->req.barrier.index : b->req.apply.index;
        if (cs->role == RAFT_LEADER && b->proposed_us < limit - timeout_us &&
            cs->raft->last_stored < index)
            fail_stop(cs, "the log has not reached the disk for twice request-timeout");
        if (b->created_us < limit && !b->timed_out) {
            b->timed_out = 1;
            cs->stats.timeouts++;
            batch_answer(b, MSG_TIMEOUT_WRITE, MSG_TIMEOUT_READ);
        }
    }
    if (read_round_expire(cs) && cs->queued.head) {
        struct batch *b = batch_of(cs->queued.head);
        b->round_seq = 0; /* queued before the next round too */
        /* Raft itself may still commit (the peer channel alone failing): do not hold the
         * queue behind rounds that keep failing. */
        if (++b->rounds_failed >= READ_ROUND_ATTEMPTS)
            b->use_barrier = 1;
    }
    if (cs->queued.head)
        want_flush(cs); /* a read may wait for an entry that has no callback of ours */
    consensus_flushed(cs);
    if (cs->uv) {
        consensus_uv_note(cs); /* the durable record of what may have been acknowledged */
        consensus_uv_cron(cs);
    }
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
    const struct fsm_node *n = cs->leader_id ? fsm_node(cs->fsm, cs->leader_id) : NULL;
    if (resp_addr)
        *resp_addr = n && n->resp[0] ? n->resp : NULL;
    return cs->leader_id;
}

uint64_t consensus_last_leader(const struct consensus *cs, const char **resp_addr)
{
    *resp_addr = cs->last_leader_id ? cs->last_leader_resp : NULL;
    return cs->last_leader_id;
}

static int snapshot_busy(void *arg)
{
    struct consensus *cs = arg;
    /* 0.15 can assert if a configuration change is compacted away before it commits. */
    return cs->raft->configuration_uncommitted_index != 0;
}

struct consensus *consensus_core_new(struct fsm *fsm, const struct consensus_params *p,
                                     const struct consensus_callbacks *cb)
{
    struct consensus *cs = xcalloc(1, sizeof(*cs));
    cs->cb = *cb;
    cs->params = *p;
    cs->fsm = fsm;
    cs->role = ROLE_UNAVAILABLE;
    histogram_init(&cs->stats.batch_size, histogram_batch_bounds);
    histogram_init(&cs->stats.commit_latency, histogram_latency_bounds);
    fsm->snapshot_busy = snapshot_busy;
    fsm->busy_arg = cs;
    return cs;
}

struct consensus *consensus_new_over(struct raft *r, struct fsm *fsm, const struct consensus_params *p,
                                     const struct consensus_callbacks *cb)
{
    struct consensus *cs = consensus_core_new(fsm, p, cb);
    cs->raft = r;
    cs->raft_open = 1;
    return cs;
}

const char *consensus_role_name(int role)
{
    static const char *const names[] = {
        [ROLE_UNAVAILABLE] = "unavailable", [ROLE_FOLLOWER] = "follower",
        [ROLE_CANDIDATE] = "candidate",     [ROLE_LEADER] = "leader",
    };
    return role >= 0 && role <= ROLE_LEADER ? names[role] : "unavailable";
}

/* The raft configuration, or NULL once raft is closed. */
static const struct raft_configuration *configuration(const struct consensus *cs)
{
    return cs->raft_open && !cs->closed ? &cs->raft->configuration : NULL;
}

int consensus_voter_count(const struct consensus *cs)
{
    const struct raft_configuration *conf = configuration(cs);
    int n = 0;
    for (unsigned i = 0; conf && i < conf->n; i++)
        n += conf->servers[i].role == RAFT_VOTER;
    return n;
}

int consensus_config_size(const struct consensus *cs)
{
    const struct raft_configuration *conf = configuration(cs);
    return conf ? (int)conf->n : 0;
}

int consensus_config_uncommitted(const struct consensus *cs)
{
    return configuration(cs) && cs->raft->configuration_uncommitted_index != 0;
}

/* Fill O from the configuration's server S. */
static void node_fill(const struct consensus *cs, const struct raft_server *s, struct consensus_node *o)
{
    const struct fsm_node *n = fsm_node(cs->fsm, s->id);
    memset(o, 0, sizeof(*o));
    o->id = s->id;
    snprintf(o->raft_addr, sizeof(o->raft_addr), "%s", s->address);
    if (n) {
        snprintf(o->resp_addr, sizeof(o->resp_addr), "%s", n->resp);
        snprintf(o->admin_addr, sizeof(o->admin_addr), "%s", n->admin);
    }
    o->member = s->role == RAFT_VOTER ? MEMBER_VOTER : s->role == RAFT_STANDBY ? MEMBER_STANDBY : MEMBER_SPARE;
    o->leader = s->id == cs->leader_id;
    const struct raft *r = cs->raft;
    if (r->state == RAFT_LEADER && s->id == r->id)
        o->match_index = raft_last_index((struct raft *)r);
    else if (r->state == RAFT_LEADER && r->leader_state.progress != NULL)
        o->match_index = r->leader_state.progress[s - r->configuration.servers].match_index;
}

int consensus_find_server(const struct consensus *cs, uint64_t id, const char *addr,
                          struct consensus_node *out)
{
    const struct raft_configuration *conf = configuration(cs);
    for (unsigned i = 0; conf && i < conf->n; i++) {
        const struct raft_server *s = &conf->servers[i];
        if ((id && s->id == id) || (addr && strcmp(s->address, addr) == 0)) {
            if (out)
                node_fill(cs, s, out);
            return 1;
        }
    }
    return 0;
}

uint64_t consensus_applied(const struct consensus *cs)
{
    return cs->raft_open && !cs->closed ? applied_index(cs) : 0;
}

void consensus_get_info(const struct consensus *cs, struct consensus_info *info)
{
    const struct raft *r = cs->raft;
    memset(info, 0, sizeof(*info));
    info->id = cs->params.id;
    info->role = cs->role;
    info->ready = cs->ready;
    info->leader_id = cs->leader_id;
    info->queued = cs->queued.n;
    info->inflight = cs->inflight.n;
    if (!cs->raft_open || cs->closed)
        return;
    info->term = r->current_term;
    info->commit_index = r->commit_index;
    info->applied_index = raft_last_applied((struct raft *)r);
    info->last_index = raft_last_index((struct raft *)r);
    info->snapshot_index = r->log.snapshot.last_index;
    info->voters = consensus_voter_count(cs);
}

int consensus_nodes(const struct consensus *cs, struct consensus_node *out, int max)
{
    const struct raft_configuration *conf = configuration(cs);
    if (conf == NULL)
        return 0;
    for (unsigned i = 0; i < conf->n && (int)i < max; i++)
        node_fill(cs, &conf->servers[i], &out[i]);
    return (int)conf->n;
}

int consensus_snapshot_in_progress(const struct consensus *cs)
{
    return cs->raft_open && (cs->raft->snapshot.pending.term != 0 || cs->raft->snapshot.put.data != NULL);
}

const struct consensus_stats *consensus_stats(const struct consensus *cs)
{
    return &cs->stats;
}
