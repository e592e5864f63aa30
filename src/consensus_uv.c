/* The raft instance of a server: raft_uv storage in the data dir, our TCP transport, a libuv
 * loop of its own (pumped by the server's libevent loop), bootstrap, start, and the lifecycle
 * (shutdown with a leadership transfer, close, free). The batching core is consensus.c. */
#include "consensus.h"
#include "consensus_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "config.h"
#include "consensus_guard.h"
#include "dircheck.h"
#include "fsm.h"
#include "log.h"
#include "memcount.h"
#include "transport.h"

/* The raft instance consensus_new runs itself (absent with consensus_new_over). */
struct consensus_uv {
    const struct config *cfg;
    uv_loop_t loop;
    struct transport transport;
    struct raft_io io;
    struct raft_fsm rfsm;
    struct raft raft;
    char address[64];
    struct dircheck_recorder acked; /* durable record of what may have been acknowledged */
    /* raft 0.15 workaround (see guarded_truncate): the last index raft_uv was asked to
     * truncate from, raft_uv's own truncate, and when the deferred close started waiting. */
    raft_index truncated_at;
    int (*uv_truncate)(struct raft_io *io, raft_index index);
    int64_t close_wait_start_us;
    struct consensus_guard guard; /* raft 0.15 workaround: docs/SAFETY.md, F4 */
    /* Snapshots by log bytes (see counted_apply): our FSM's own callbacks, wrapped, and
     * whether the snapshot in progress was started by bytes (its trailing to restore). */
    struct raft_fsm fsm_inner;
    int bytes_snapshot; /* 1: armed by bytes under writes, 2: by bytes while idle */
    int64_t last_apply_us;
    struct raft_barrier idle_barrier; /* proposed by an idle leader (consensus_uv_cron) */
    int idle_barrier_pending;
    int idle_barrier_sent; /* in this idle spell */
    /* Entries a follower has committed but not yet applied (see deferred_apply). */
    struct deferred_entry *deferred_head, **deferred_tail;
    int (*uv_append)(struct raft_io *io, struct raft_io_append *req, const struct raft_entry entries[],
                     unsigned n, raft_io_append_cb cb); /* raft_uv's own (timed_append) */
};

/* raft 0.15 workaround: a follower applies the entries a message commits before it sends the
 * acknowledgement of the entries that message carried (appendFollowerCb calls
 * replicationApply, then sendAppendEntriesResult), so every commit on the leader waits for a
 * follower's apply of the batch before. A follower therefore copies the entry here and
 * applies it once raft returns to us (the end of consensus_pump), after the acknowledgement
 * went out. Nothing of ours runs in between: clients, the cron and the admin API run on the
 * libevent loop, outside the pump. The queue is applied, in order, before anything that must
 * see the state: an apply on a node that is no longer a follower, a snapshot, a restore,
 * and the close. */
struct deferred_entry {
    struct deferred_entry *next;
    size_t len;
    char data[];
};

/* How long a shutdown waits for a truncation in flight before it gives up on raft_close. */
#define CLOSE_TRUNCATE_WAIT_US (3 * 1000 * 1000LL)

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

/* The cause of the failed raft call RV, never empty: raft's message, else the transport's or
 * the I/O backend's (0.15 does not always pass theirs on), else the error code's text. */
static const char *raft_failure(struct consensus_uv *u, int rv)
{
    const char *m = raft_errmsg(&u->raft);
    if (m == NULL || m[0] == '\0')
        m = u->transport.outer.errmsg;
    if (m == NULL || m[0] == '\0')
        m = u->io.errmsg;
    if (m == NULL || m[0] == '\0')
        m = raft_strerror(rv);
    return m;
}

/* Bootstrap when the options ask for it; a dir that already holds state is left as is. */
static int bootstrap(struct consensus *cs, char *err, size_t errlen)
{
    const struct config *cfg = cs->uv->cfg;
    struct raft_configuration conf;
    int rv = 0;

    if (cfg->join || (cfg->cluster == NULL && cfg->bootstrap == BOOTSTRAP_NO))
        return 0;
    raft_configuration_init(&conf);
    if (cfg->cluster)
        rv = parse_cluster(cfg->cluster, &conf, (uint64_t)cfg->id, err, errlen);
    else if ((rv = raft_configuration_add(&conf, (raft_id)cfg->id, cs->uv->address, RAFT_VOTER)) != 0)
        snprintf(err, errlen, "bootstrap failed: %s", raft_strerror(rv));
    if (rv == 0) {
        rv = raft_bootstrap(cs->raft, &conf);
        if (rv == RAFT_CANTBOOTSTRAP)
            rv = 0; /* dir already holds state: recover from it */
        else if (rv == RAFT_TOOBIG)
            /* 0.15 writes the first configuration into the first block of the first segment
             * (block size minus 24 header bytes, typically 4 KiB in all) */
            snprintf(err, errlen, "option 'cluster': %u voters are too many for raft's first log "
                                  "block (its encoded configuration must fit in about 4 KiB; "
                                  "canonical/raft 0.15 limit): list fewer voters or add the rest "
                                  "later with CLUSTER ADDNODE", conf.n);
        else if (rv == RAFT_IOERR && raft_errmsg(cs->raft)[0] == '\0')
            /* 0.15 drops the reason when the first segment cannot be written, which is what a
             * dir with a log but lost or damaged metadata (term 0) gets */
            snprintf(err, errlen, "bootstrap failed: %s writing the first log segment in '%s' "
                                  "(does it hold a log whose metadata files were lost or damaged?)",
                     raft_strerror(rv), cfg->dir);
        else if (rv != 0)
            snprintf(err, errlen, "bootstrap failed: %s", raft_failure(cs->uv, rv));
        else
            log_notice("bootstrapped a cluster of %u voter(s)", conf.n);
    }
    raft_configuration_close(&conf);
    return rv == 0 ? 0 : -1;
}

/* canonical/raft 0.15 workaround: raft_close (uvClose's uvBarrierClose) calls the truncate
 * barrier's callback a second time when the truncation's work is already queued or running
 * in the thread pool: the callback frees the request the work still uses, and the work's
 * completion frees it again. The heap is corrupted ("corrupted double-linked list" at exit)
 * or raft asserts. It happens on a follower whose uncommitted entries the new leader
 * replaces (a deposed leader's), when the node is stopped a moment later. Fixed upstream
 * after 0.15 ("uv: Never invoke barrier callback twice"); tests/unit/test_raft_uv.c shows it.
 * We remember the index of the last truncation: raft appends the new leader's entries from
 * that index right after truncating, and raft_uv holds those appends until the truncation's
 * work is done, so the truncation is over once raft->last_stored reaches the index again.
 * close_raft waits for that before raft_close. See docs/SAFETY.md (raft 0.15 notes). */
static int guarded_truncate(struct raft_io *io, raft_index index)
{
    struct consensus_uv *u = (struct consensus_uv *)((char *)io - offsetof(struct consensus_uv, io));
    int rv = u->uv_truncate(io, index);
    if (rv == 0)
        u->truncated_at = index;
    return rv;
}

/* Whether a truncation may still be in flight in raft_uv (guarded_truncate). */
static int truncation_in_flight(const struct consensus *cs)
{
    return cs->uv && cs->uv->truncated_at != 0 && cs->raft->last_stored < cs->uv->truncated_at;
}

/* raft 0.15 workaround: raft_close fails the append requests raft_uv has not started writing
 * (uvAppendClose, status RAFT_CANCELED), and appendLeaderCb truncates the in-memory log at
 * each one's index: with two or more of them pending the second truncation starts past the
 * log's end (assertion "index <= logLastIndex(l)" in a debug build of 0.15, heap corruption in
 * Debian's). One entry writing and one pending, the most a window of 2 entries made, was
 * safe; the window of CONSENSUS_MAX_INFLIGHT is not. So a close waits until every entry
 * appended to the in-memory log is on disk (the writes take milliseconds; no new entry is
 * proposed once the shutdown began). Reproduced by
 * cluster::single_node_sigterm_under_load_exits_cleanly with a window of 4 or 8. */
static int appends_in_flight(const struct consensus *cs)
{
    return cs->uv && cs->raft->last_stored < raft_last_index(cs->raft);
}

/* LATENCY's fsync-raft-log event: the time from raft_uv's append being submitted to its
 * completion, which is when the entries are durable (raft_uv writes them with O_DSYNC or
 * fsyncs its segment before it calls back). The fsync itself happens inside raft_uv, so what
 * is measured includes the wait behind the appends before it. Every append in flight is here
 * with the callback raft gave (the request is raft's: its callback is the only field we may
 * take over); one thread, a handful in flight. */
struct timed_append {
    struct raft_io_append *req;
    raft_io_append_cb cb;
    struct consensus_uv *u;
    int64_t start_us;
};
static struct timed_append *timed_appends;
static int n_timed_appends, timed_appends_cap;

static void report_latency(struct consensus_uv *u, const char *event, int64_t start_us)
{
    struct consensus *cs = u->raft.data;
    if (cs != NULL && cs->cb.latency)
        cs->cb.latency(cs->cb.arg, event, util_mono_us() - start_us);
}

/* Take REQ's record out of the appends in flight into *T. Returns 0, or -1 when none. */
static int timed_append_take(struct raft_io_append *req, struct timed_append *t)
{
    for (int i = 0; i < n_timed_appends; i++)
        if (timed_appends[i].req == req) {
            *t = timed_appends[i];
            timed_appends[i] = timed_appends[--n_timed_appends];
            return 0;
        }
    return -1;
}

static void on_timed_append(struct raft_io_append *req, int status)
{
    struct timed_append t;
    if (timed_append_take(req, &t) != 0)
        return; /* cannot be: every append we submit is recorded first */
    if (status == 0)
        report_latency(t.u, "fsync-raft-log", t.start_us);
    t.cb(req, status);
}

static int timed_append(struct raft_io *io, struct raft_io_append *req, const struct raft_entry entries[],
                        unsigned n, raft_io_append_cb cb)
{
    struct consensus_uv *u = (struct consensus_uv *)((char *)io - offsetof(struct consensus_uv, io));
    timed_appends = util_grow(timed_appends, n_timed_appends, &timed_appends_cap, sizeof(*timed_appends));
    timed_appends[n_timed_appends++] = (struct timed_append){req, cb, u, util_mono_us()};
    int rv = u->uv_append(io, req, entries, n, on_timed_append);
    struct timed_append t;
    if (rv != 0) /* no callback will come */
        timed_append_take(req, &t);
    return rv;
}

static void apply_settings(struct consensus *cs)
{
    const struct config *cfg = cs->uv->cfg;
    struct raft *r = cs->raft;
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
    raft_uv_set_snapshot_compression(&cs->uv->io, false);
}

/* ---- snapshots by log bytes ----
 * canonical/raft 0.15 keeps every entry since the last snapshot (plus `trailing`) in memory
 * and counts both in entries only, so a few thousand pipelined batches of hundreds of KB each
 * would stay resident: the log, not the keyspace, would dominate RSS. We count the bytes
 * applied since the last snapshot. Past the limit the apply lowers raft's entry threshold to
 * 1, which makes raft's own check after the applies of this round take a snapshot. The
 * threshold is restored as soon as the snapshot starts, the trailing (lowered to about a
 * quarter of the limit's bytes, going by the average entry) once it has been stored.
 *
 * While writes keep coming the limit is snapshot-log-bytes, or half the last snapshot's size
 * if that is larger, so that a large keyspace is not rewritten for every few MB of writes
 * (each snapshot is a fork that serializes the whole keyspace: one every eighth of it, or
 * every 2 MB, cost sustained pipelined writes 15-40 %). Once no command has been applied for
 * IDLE_SNAPSHOT_US it is a quarter of snapshot-log-bytes, or an eighth of the last snapshot
 * (consensus_uv_cron), so that a node at rest holds little log. With maxmemory set, both are
 * at most an eighth of it: the log counts against maxmemory (server_evict.c).
 * raft only considers a snapshot after applying an entry, so the leader of an idle cluster
 * proposes a barrier for the nodes that lowered their threshold. Snapshots are node-local:
 * nothing here affects what is applied. */
#define CONTAINER_UV(rf) ((struct consensus_uv *)((char *)(rf) - offsetof(struct consensus_uv, rfsm)))
#define IDLE_SNAPSHOT_US (1000 * 1000LL)
#define EVICT_LOG_MIN (256 * 1024ULL) /* the log's share of a tiny maxmemory, at least */
#define IDLE_BARRIER_US (IDLE_SNAPSHOT_US + 500 * 1000LL) /* the followers' crons have run */

static unsigned long long log_bytes_limit(const struct consensus *cs, int idle)
{
    unsigned long long limit = (unsigned long long)cs->uv->cfg->snapshot_log_bytes / (idle ? 4 : 1);
    unsigned long long share = cs->fsm->last_snapshot_bytes / (idle ? 8 : 2);
    unsigned long long chosen = share > limit ? share : limit;
    /* With maxmemory set the log counts against it (server_evict.c): keep it to an eighth,
     * so that the keyspace keeps most of the room. */
    unsigned long long cap = (unsigned long long)cs->uv->cfg->maxmemory / 8;
    if (cap > 0 && cap < EVICT_LOG_MIN)
        cap = EVICT_LOG_MIN;
    return cap > 0 && chosen > cap ? cap : chosen;
}

unsigned long long consensus_log_bytes_limit(const struct consensus *cs, int idle)
{
    if (cs->uv == NULL || cs->uv->cfg->snapshot_log_bytes <= 0)
        return 0;
    return log_bytes_limit(cs, idle);
}

/* Entries of about BYTES at the average size of those applied since the last snapshot. */
static unsigned trailing_for_bytes(const struct consensus *cs, unsigned long long bytes, unsigned long long entries)
{
    unsigned long long configured = (unsigned long long)cs->uv->cfg->snapshot_trailing;
    unsigned long long avg = entries > 0 ? (unsigned long long)cs->stats.log_bytes / entries : 1;
    unsigned long long n = bytes / (avg > 0 ? avg : 1);
    if (n < 1)
        n = 1;
    return (unsigned)(n < configured ? n : configured);
}

/* Have raft snapshot after its next apply, keeping about a quarter of LIMIT as trailing. */
static void arm_bytes_snapshot(struct consensus_uv *u, unsigned long long limit, int idle)
{
    struct consensus *cs = u->raft.data;
    raft_index since = u->raft.last_applied + 1 - u->raft.log.snapshot.last_index;
    u->bytes_snapshot = idle ? 2 : 1;
    raft_set_snapshot_threshold(&u->raft, 1);
    raft_set_snapshot_trailing(&u->raft, trailing_for_bytes(cs, limit / 4, since));
}

/* Apply the entries deferred by counted_apply, in order. */
static void apply_deferred(struct consensus_uv *u)
{
    struct consensus *cs = u->raft.data;
    struct deferred_entry *d;
    while ((d = u->deferred_head) != NULL) {
        u->deferred_head = d->next;
        if (u->deferred_head == NULL)
            u->deferred_tail = &u->deferred_head;
        struct raft_buffer buf = {d->data, d->len};
        void *result = NULL;
        int64_t start_us = util_mono_us();
        u->fsm_inner.apply(&u->rfsm, &buf, &result);
        report_latency(u, "apply", start_us);
        cs->stats.applied_after_ack++;
        free(d);
    }
}

static int counted_apply(struct raft_fsm *rf, const struct raft_buffer *buf, void **result)
{
    struct consensus_uv *u = CONTAINER_UV(rf);
    struct consensus *cs = u->raft.data;
    cs->stats.log_bytes += (long long)buf->len;
    u->last_apply_us = util_mono_us();
    u->idle_barrier_sent = 0;
    unsigned long long limit = cs->uv->cfg->snapshot_log_bytes > 0 ? log_bytes_limit(cs, 0) : 0;
    if (limit > 0 && !u->bytes_snapshot && (unsigned long long)cs->stats.log_bytes >= limit)
        arm_bytes_snapshot(u, limit, 0);
    if (u->raft.state == RAFT_FOLLOWER) {
        struct deferred_entry *d = xmalloc(sizeof(*d) + buf->len);
        d->next = NULL;
        d->len = buf->len;
        memcpy(d->data, buf->base, buf->len);
        *u->deferred_tail = d;
        u->deferred_tail = &d->next;
        *result = NULL; /* a follower has no request waiting for it */
        return 0;
    }
    apply_deferred(u);
    int64_t start_us = util_mono_us();
    int rv = u->fsm_inner.apply(rf, buf, result);
    report_latency(u, "apply", start_us);
    return rv;
}

static void on_idle_barrier(struct raft_barrier *req, int status)
{
    struct consensus_uv *u = req->data;
    (void)status;
    u->idle_barrier_pending = 0;
}

/* Cron: once nothing has been applied for IDLE_SNAPSHOT_US, a log past the idle limit gets
 * a snapshot (see above). */
void consensus_uv_cron(struct consensus *cs)
{
    struct consensus_uv *u = cs->uv;
    if (u->cfg->snapshot_log_bytes <= 0 || !cs->raft_open || cs->closed || u->last_apply_us == 0)
        return;
    int64_t idle_us = util_mono_us() - u->last_apply_us;
    if (idle_us < IDLE_SNAPSHOT_US)
        return;
    unsigned long long limit = log_bytes_limit(cs, 1);
    if (!u->bytes_snapshot && !consensus_snapshot_in_progress(cs) &&
        (unsigned long long)cs->stats.log_bytes >= limit)
        arm_bytes_snapshot(u, limit, 1);
    if (u->bytes_snapshot == 2 && idle_us >= IDLE_BARRIER_US && !u->idle_barrier_pending &&
        !u->idle_barrier_sent && u->raft.state == RAFT_LEADER) {
        u->idle_barrier.data = u;
        if (raft_barrier(&u->raft, &u->idle_barrier, on_idle_barrier) == 0) {
            u->idle_barrier_pending = 1;
            u->idle_barrier_sent = 1; /* once per idle spell: a follower armed late snapshots
                                       * at the next entry */
        }
    }
}

static int counted_snapshot(struct raft_fsm *rf, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct consensus_uv *u = CONTAINER_UV(rf);
    struct consensus *cs = u->raft.data;
    apply_deferred(u); /* the snapshot is of the state at raft's last_applied */
    int64_t start_us = util_mono_us();
    int rv = u->fsm_inner.snapshot(rf, bufs, n_bufs); /* the fork: what the loop waits for */
    if (rv == 0) {
        report_latency(u, "snapshot", start_us);
        /* raft decided; the entries applied from now on belong to the next snapshot */
        if (u->bytes_snapshot)
            cs->stats.snapshots_by_bytes++;
        if (u->bytes_snapshot == 2)
            cs->stats.snapshots_when_idle++;
        cs->stats.log_bytes = 0;
        raft_set_snapshot_threshold(&u->raft, (unsigned)u->cfg->snapshot_threshold);
    }
    return rv; /* RAFT_BUSY: the lowered threshold makes raft try again after the next apply */
}

static int counted_finalize(struct raft_fsm *rf, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct consensus_uv *u = CONTAINER_UV(rf);
    int rv = u->fsm_inner.snapshot_finalize(rf, bufs, n_bufs);
    if (u->bytes_snapshot) {
        /* raft has dropped the log up to the snapshot minus the lowered trailing */
        raft_set_snapshot_trailing(&u->raft, (unsigned)u->cfg->snapshot_trailing);
        u->bytes_snapshot = 0;
    }
    memcount_trim(); /* the dropped entries and the snapshot buffer were freed just now */
    return rv;
}

static int counted_restore(struct raft_fsm *rf, struct raft_buffer *buf)
{
    struct consensus_uv *u = CONTAINER_UV(rf);
    apply_deferred(u);
    return u->fsm_inner.restore(rf, buf);
}

static void fsm_wrap(struct consensus_uv *u, struct fsm *fsm)
{
    u->deferred_head = NULL;
    u->deferred_tail = &u->deferred_head;
    fsm_raft_init(fsm, &u->fsm_inner);
    u->rfsm = u->fsm_inner;
    u->rfsm.apply = counted_apply;
    u->rfsm.snapshot = counted_snapshot;
    u->rfsm.snapshot_finalize = counted_finalize;
    u->rfsm.restore = counted_restore;
}

/* The transport asks whether raft node ID may connect: members of the latest configuration
 * (committed or not), or anyone authenticated while this node has none yet (it waits to be
 * added, by --join or --bootstrap no). */
static int transport_member(void *arg, uint64_t id)
{
    const struct consensus *cs = arg;
    return consensus_find_server(cs, id, NULL, NULL) || consensus_config_size(cs) == 0;
}

static void params_from_config(const struct config *cfg, struct consensus_params *p)
{
    memset(p, 0, sizeof(*p));
    p->id = (uint64_t)cfg->id;
    p->request_timeout_ms = cfg->request_timeout;
    p->election_timeout_ms = cfg->election_timeout;
    snprintf(p->resp_addr, sizeof(p->resp_addr), "%s:%lld", cfg->bind, cfg->port);
    if (cfg->admin_port > 0)
        snprintf(p->admin_addr, sizeof(p->admin_addr), "%s:%lld", cfg->bind, cfg->admin_port);
}

struct consensus *consensus_new(const struct config *cfg, struct fsm *fsm,
                                const struct consensus_callbacks *cb, char *err, size_t errlen)
{
    struct consensus_params params;
    int rv;

    params_from_config(cfg, &params);
    struct consensus *cs = consensus_core_new(fsm, &params, cb);
    struct consensus_uv *u = xcalloc(1, sizeof(*u));
    cs->uv = u;
    cs->raft = &u->raft;
    u->cfg = cfg;
    uv_loop_init(&u->loop);
    consensus_raft_address(cfg, u->address, sizeof(u->address));
    if (mkdir_p(cfg->dir) != 0) {
        snprintf(err, errlen, "option 'dir': cannot create '%s': %s", cfg->dir, strerror(errno));
        goto fail;
    }
    /* Verify the dir before raft reads it: cut a torn tail, or refuse (dircheck.c). */
    if (dircheck_startup(cfg->dir, err, errlen) != 0)
        goto fail;
    dircheck_recorder_init(&u->acked, cfg->dir);
    struct transport_options topts = {cfg->cluster_secret, (uint64_t)cfg->raft_max_message,
                                      transport_member, cs};
    if ((rv = transport_init(&u->transport, &u->loop, &topts)) != 0) {
        snprintf(err, errlen, "raft transport: %s", raft_strerror(rv));
        goto fail;
    }
    if (cfg->raft_advertise) {
        /* Peers connect to the advertised address; listen on our own. */
        char bind_addr[64];
        snprintf(bind_addr, sizeof(bind_addr), "%s:%lld", cfg->bind, cfg->raft_port);
        if ((rv = transport_set_bind_address(&u->transport, bind_addr)) != 0) {
            snprintf(err, errlen, "raft bind address %s: %s", bind_addr, raft_strerror(rv));
            goto fail_transport;
        }
    }
    if ((rv = raft_uv_init(&u->io, &u->loop, cfg->dir, &u->transport.outer)) != 0) {
        snprintf(err, errlen, "raft storage in '%s': %s", cfg->dir, u->io.errmsg[0] ? u->io.errmsg : raft_strerror(rv));
        goto fail_transport;
    }
    /* canonical/raft 0.15 workaround: raft_uv_init implements async_work (the version-2 field
     * that FSM version 3 needs to snapshot off the loop) but reports io->version = 1, so
     * raft_init would refuse our FSM. Later releases set 2; the field is there, so say so. */
    if (u->io.version < 2 && u->io.async_work != NULL)
        u->io.version = 2;
    u->uv_truncate = u->io.truncate;
    u->io.truncate = guarded_truncate;
    u->uv_append = u->io.append;
    u->io.append = timed_append;
    consensus_guard_install(&u->guard, &u->io);
    fsm_wrap(u, fsm);
    if ((rv = raft_init(&u->raft, &u->io, &u->rfsm, (raft_id)cfg->id, u->address)) != 0) {
        snprintf(err, errlen, "raft init: %s", raft_failure(u, rv));
        goto fail_io;
    }
    u->raft.data = cs;
    cs->raft_open = 1;
    apply_settings(cs);
    if (bootstrap(cs, err, errlen) != 0)
        return cs; /* raft must be closed through the loop: the caller frees */
    if ((rv = raft_start(&u->raft)) != 0) {
        snprintf(err, errlen, "raft start on %s: %s", u->address, raft_failure(u, rv));
        return cs;
    }
    err[0] = '\0';
    return cs;

fail_io:
    raft_uv_close(&u->io);
fail_transport:
    transport_close(&u->transport);
fail:
    dircheck_recorder_close(&u->acked);
    uv_loop_close(&u->loop);
    consensus_guard_remove(&u->guard);
    free(u);
    free(cs);
    return NULL;
}

static void on_raft_close(struct raft *r)
{
    struct consensus *cs = r->data;
    consensus_uv_note(cs); /* final */
    /* raft_uv is freed in consensus_free once the loop has drained: raft 0.15 may still
     * call into it (its close callback a second time, docs/SAFETY.md F5). */
    transport_close(&cs->uv->transport);
    cs->closed = 1;
    consensus_notify_closed(cs);
}

/* raft_close now, or once no truncation is in flight (guarded_truncate); 0 while it waits.
 * Past CLOSE_TRUNCATE_WAIT_US raft is left open (the process exits without closing it, as
 * after a crash, which raft recovers from) rather than risk the heap. */
static int close_raft_when_safe(struct consensus *cs)
{
    if (truncation_in_flight(cs) || appends_in_flight(cs)) {
        const char *what = truncation_in_flight(cs) ? "truncation" : "append";
        int64_t now = util_mono_us();
        if (cs->uv->close_wait_start_us == 0) {
            cs->uv->close_wait_start_us = now;
            if (truncation_in_flight(cs))
                log_notice("shutdown waits for the raft log truncation in flight");
            else
                log_verbose("shutdown waits for the raft log appends in flight");
        }
        if (now - cs->uv->close_wait_start_us < CLOSE_TRUNCATE_WAIT_US)
            return 0;
        log_warning("raft log %s still in flight after %lld s: exiting without closing "
                    "raft (canonical/raft 0.15 would corrupt memory); the log recovers at restart",
                    what, CLOSE_TRUNCATE_WAIT_US / 1000000);
        cs->close_deferred = 0;
        cs->abandoned = 1;
        consensus_notify_closed(cs);
        return 1;
    }
    cs->close_deferred = 0;
    raft_close(cs->raft, on_raft_close);
    return 1;
}

static void close_raft(struct consensus *cs)
{
    if (cs->closing)
        return; /* a second signal, or the transfer callback after raft_close cancelled it */
    cs->closing = 1;
    if (cs->uv && cs->raft_open && !cs->closed) {
        cs->close_deferred = 1;
        close_raft_when_safe(cs); /* else consensus_pump tries again */
    } else
        consensus_notify_closed(cs); /* nothing to close, or the raft instance is our caller's */
    consensus_kick(cs);
}

static void on_transfer(struct raft_transfer *req)
{
    struct consensus *cs = req->data;
    raft_id leader;
    const char *addr;
    raft_leader(cs->raft, &leader, &addr);
    log_notice("leadership transfer before shutdown: leader is now %llu", (unsigned long long)leader);
    close_raft(cs);
}

void consensus_shutdown(struct consensus *cs)
{
    cs->notify_closed = 1;
    cs->shutting_down = 1;
    consensus_fail_queued(cs, MSG_SHUTDOWN);
    if (cs->role == RAFT_LEADER && consensus_voter_count(cs) > 1 && cs->raft->transfer == NULL) {
        cs->transfer.data = cs;
        if (raft_transfer(cs->raft, &cs->transfer, 0, on_transfer) == 0) {
            log_notice("transferring leadership before shutdown");
            consensus_kick(cs);
            return;
        }
    }
    close_raft(cs);
}

void consensus_free(struct consensus *cs)
{
    if (cs == NULL)
        return;
    consensus_fail_queued(cs, MSG_SHUTDOWN);
    cs->notify_closed = 0;
    struct consensus_uv *u = cs->uv;
    if (u && cs->raft_open && !cs->closed && !cs->closing) {
        /* Startup failed after raft_init, or a second signal cut the shutdown short. */
        cs->closing = 1;
        cs->close_deferred = 1;
    }
    /* A close that waits for a truncation in flight (close_raft_when_safe, bounded). */
    while (u && cs->close_deferred && !close_raft_when_safe(cs))
        uv_run(&u->loop, UV_RUN_ONCE);
    if (cs->abandoned) {
        /* raft still owns its handles, requests and batches: leave them to the exit. */
        free(cs);
        return;
    }
    for (int i = 0; u && i < 1000 && !cs->closed && cs->raft_open; i++)
        uv_run(&u->loop, UV_RUN_ONCE);
    if (cs->closed || !cs->raft_open || u == NULL) {
        /* raft no longer holds the requests: answer and free what is left. */
        consensus_drop_inflight(cs, MSG_SHUTDOWN);
    }
    if (u) {
        uv_run(&u->loop, UV_RUN_DEFAULT);
        apply_deferred(u);
        if (cs->closed) {
            if (u->guard.close_repeats > 0)
                log_verbose("raft_uv fired its close callback %llu more time(s) (raft 0.15, "
                            "docs/SAFETY.md F5): ignored",
                            u->guard.close_repeats);
            raft_uv_close(&u->io);
        }
        if (uv_loop_close(&u->loop) != 0)
            log_warning("libuv loop still had handles at exit");
        dircheck_recorder_close(&u->acked);
        consensus_guard_remove(&u->guard);
        free(u);
    }
    consensus_free_spare(cs);
    free(cs);
}

void consensus_uv_note(struct consensus *cs)
{
    dircheck_recorder_note(&cs->uv->acked, cs->raft->last_applied, cs->raft->last_stored);
}

int consensus_pump(struct consensus *cs)
{
    uv_loop_t *loop = &cs->uv->loop;
    for (int i = 0; i < 16; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        if (uv_backend_timeout(loop) != 0)
            break;
    }
    apply_deferred(cs->uv);
    if (cs->close_deferred)
        close_raft_when_safe(cs);
    if (cs->raft_open && !cs->closed && !cs->abandoned)
        consensus_update(cs);
    consensus_flushed(cs);
    int timeout = uv_backend_timeout(loop);
    /* A deferred close polls: raft's own timers may be further away than we want. */
    return cs->close_deferred && (timeout < 0 || timeout > 10) ? 10 : timeout;
}

int consensus_backend_fd(const struct consensus *cs)
{
    return uv_backend_fd(&cs->uv->loop);
}

/* ---- introspection ---- */

void consensus_raft_address(const struct config *cfg, char *out, size_t len)
{
    if (cfg->raft_advertise)
        snprintf(out, len, "%s", cfg->raft_advertise);
    else
        snprintf(out, len, "%s:%lld", cfg->bind, cfg->raft_port);
}

