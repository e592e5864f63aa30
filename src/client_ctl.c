/* Operator controls over connections and the node's own figures, in Redis 7.0's words:
 * CLIENT KILL, CLIENT PAUSE/UNPAUSE (clients postponed in order), CLIENT REPLY, WAIT (the
 * followers holding a client's last write), INFO errorstats, the cron's instantaneous
 * metrics and memory peak, MEMORY STATS and DOCTOR. Dispatcher layer: it reads struct
 * server and struct client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "acl.h"
#include "client.h"
#include "command.h"
#include "consensus.h"
#include "kv.h"
#include "memcount.h"
#include "server.h"

/* ---- errorstats ---- */

void server_count_error(struct server *srv, const char *msg, size_t len)
{
    size_t n = 0;
    while (n < len && n < sizeof(srv->errorstats[0].name) - 1 && msg[n] != ' ' && msg[n] != '\r')
        n++;
    srv->stats.error_replies++;
    for (int i = 0; i < srv->n_errorstats; i++) {
        struct server_errorstat *e = &srv->errorstats[i];
        if (strlen(e->name) == n && memcmp(e->name, msg, n) == 0) {
            e->count++;
            return;
        }
    }
    if (srv->n_errorstats == SERVER_ERRORSTATS_MAX) {
        srv->stats.errorstats_overflow++; /* Redis stops adding prefixes too */
        return;
    }
    struct server_errorstat *e = &srv->errorstats[srv->n_errorstats++];
    memcpy(e->name, msg, n);
    e->name[n] = '\0';
    e->count = 1;
}

static void on_error_reply(void *arg, const char *msg)
{
    server_count_error(arg, msg, strlen(msg));
}

/* ---- CLIENT REPLY ---- */

void client_reply_mode(struct client *c, int mode)
{
    c->reply_off = mode == CLIENT_REPLY_OFF;
    c->reply_skip_next = mode == CLIENT_REPLY_SKIP;
    if (mode == CLIENT_REPLY_ON) {
        c->reply_skip = 0;
        c->discarding = 0;
    }
}

/* ---- CLIENT PAUSE ---- */

static void on_pause_timer(evutil_socket_t fd, short what, void *arg);

/* Have the loop run the pause event (on_pause_timer) in MS milliseconds (now if <= 0). */
static void pause_arm(struct server *srv, int64_t ms)
{
    struct timeval tv = {ms > 0 ? ms / 1000 : 0, ms > 0 ? (ms % 1000) * 1000 : 0};
    if (srv->pause_ev == NULL)
        srv->pause_ev = evtimer_new(srv->base, on_pause_timer, srv);
    evtimer_add(srv->pause_ev, &tv);
}

static void pause_wake(struct server *srv)
{
    pause_arm(srv, 0);
}

/* Resume the postponed clients in the order they were held, from the loop (never inside a
 * client's dispatch: a resumed command may be CLIENT KILL of the client that ended the
 * pause). One at a time, each of those held now once: a resumed command may kill another
 * held client or pause again, and a client still held (the pause, or memory) goes back to
 * the end of the list behind those resumed before it, so their order stays. */
static void on_pause_timer(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    struct list_node *n;
    if (srv->pause_type != PAUSE_OFF && util_now_ms() >= srv->pause_end_ms)
        srv->pause_type = PAUSE_OFF;
    for (int left = srv->postponed.n; left > 0 && (n = list_pop_front(&srv->postponed)) != NULL; left--)
        client_resume_input(list_entry(n, struct client, postpone_node));
    if (srv->pause_type != PAUSE_OFF) /* woken for memory during a pause: its end still comes */
        pause_arm(srv, srv->pause_end_ms - util_now_ms());
    server_flush_writes(srv);
}

/* End the pause now; the held clients resume once the loop runs the pause event. */
static void pause_end(struct server *srv)
{
    srv->pause_type = PAUSE_OFF;
    srv->pause_end_ms = 0;
    pause_wake(srv);
}

void server_pause(struct server *srv, int type, int64_t end_ms)
{
    if (type > srv->pause_type)
        srv->pause_type = type;
    if (end_ms > srv->pause_end_ms)
        srv->pause_end_ms = end_ms;
    pause_arm(srv, srv->pause_end_ms - util_now_ms());
}

void server_unpause(struct server *srv)
{
    if (srv->pause_type != PAUSE_OFF)
        pause_end(srv);
}

static int multi_has_write(const struct multi_state *m)
{
    for (int i = 0; i < m->nqueued; i++) {
        const struct command *q = command_lookup(m->queued[i]->argv[0], m->queued[i]->len[0]);
        if (q != NULL && (q->flags & CMD_WRITE))
            return 1;
    }
    return 0;
}

/* Redis's "may replicate" commands: what proposes an entry here. */
static int may_write(const struct command *cmd, const struct client *c, const struct request *req)
{
    if (cmd->flags & CMD_WRITE)
        return 1;
    if (strcmp(cmd->name, "exec") == 0)
        return c->multi.in_multi && multi_has_write(&c->multi);
    if (strcmp(cmd->name, "script") == 0)
        return request_arg_is(req, 1, "load") || request_arg_is(req, 1, "flush");
    if (strcmp(cmd->name, "acl") == 0)
        return request_arg_is(req, 1, "setuser") || request_arg_is(req, 1, "deluser") ||
               request_arg_is(req, 1, "load");
    return 0;
}

int server_pause_holds(struct server *srv, const struct command *cmd, struct client *c,
                       const struct request *req, int memory)
{
    int hold = srv->pause_type != PAUSE_OFF && cmd != NULL &&
               c->user != NULL; /* peers (user NULL) are never paused, as Redis never pauses replicas */
    if (hold && util_now_ms() >= srv->pause_end_ms) {
        pause_end(srv);
        hold = 0;
    }
    if (hold && srv->pause_type == PAUSE_WRITE && !may_write(cmd, c, req))
        hold = 0;
    hold |= memory;
    if (hold && !c->postpone_node.linked)
        list_push_back(&srv->postponed, &c->postpone_node);
    else if (!hold && c->postpone_node.linked)
        list_remove(&srv->postponed, &c->postpone_node); /* its held command runs now */
    return hold;
}

void server_memory_holds_check(struct server *srv)
{
    int64_t now = util_now_ms();
    int held = 0;
    for (struct list_node *n = srv->postponed.head; n != NULL; n = n->next) {
        const struct client *c = list_entry(n, const struct client, postpone_node);
        if (c->mem_hold_ms == 0)
            continue;
        if (now - c->mem_hold_ms >= srv->cfg->request_timeout) {
            pause_wake(srv); /* it answers -OOM (client.c) */
            return;
        }
        held = 1;
    }
    if (held && !server_evict_holds(srv))
        pause_wake(srv);
}

int server_postponed_count(const struct server *srv)
{
    return srv->postponed.n;
}

/* ---- CLIENT KILL ---- */

struct kill_filter {
    const char *addr, *laddr, *user;
    uint64_t id;
    int type; /* -1: any; else OBUF_NORMAL, OBUF_PUBSUB, or OBUF_REPLICA (none here) */
    int master; /* TYPE master: no client is one */
    int skipme;
};

static int kill_parse(struct server *srv, const struct request *req, struct kill_filter *f,
                      struct buf *out)
{
    memset(f, 0, sizeof(*f));
    f->type = -1;
    f->skipme = 1;
    for (int i = 2; i < req->argc; i += 2) {
        if (i + 1 >= req->argc) {
            reply_syntax_error(out);
            return -1;
        }
        const char *v = req->argv[i + 1];
        if (request_arg_is(req, i, "id")) {
            long long id;
            if (util_parse_ll(v, req->len[i + 1], &id) != 0 || id < 1) {
                reply_error(out, "ERR client-id should be greater than 0");
                return -1;
            }
            f->id = (uint64_t)id;
        } else if (request_arg_is(req, i, "type")) {
            if (strcasecmp(v, "normal") == 0)
                f->type = OBUF_NORMAL;
            else if (strcasecmp(v, "pubsub") == 0)
                f->type = OBUF_PUBSUB;
            else if (strcasecmp(v, "replica") == 0 || strcasecmp(v, "slave") == 0)
                f->type = OBUF_REPLICA;
            else if (strcasecmp(v, "master") == 0)
                f->master = 1;
            else {
                reply_errorf(out, "ERR Unknown client type '%.128s'", v);
                return -1;
            }
        } else if (request_arg_is(req, i, "addr")) {
            f->addr = v;
        } else if (request_arg_is(req, i, "laddr")) {
            f->laddr = v;
        } else if (request_arg_is(req, i, "user")) {
            if (acl_user_find(srv->fsm.acl, v, req->len[i + 1]) == NULL) {
                reply_errorf(out, "ERR No such user '%.128s'", v);
                return -1;
            }
            f->user = v;
        } else if (request_arg_is(req, i, "skipme")) {
            if (strcasecmp(v, "yes") == 0)
                f->skipme = 1;
            else if (strcasecmp(v, "no") == 0)
                f->skipme = 0;
            else {
                reply_syntax_error(out);
                return -1;
            }
        } else {
            reply_syntax_error(out);
            return -1;
        }
    }
    return 0;
}

static int kill_matches(const struct kill_filter *f, const struct client *c, const struct client *self)
{
    if (f->master || (f->id && c->id != f->id) || (f->addr && strcmp(c->addr, f->addr) != 0) ||
        (f->laddr && strcmp(c->laddr, f->laddr) != 0))
        return 0;
    if (f->user && (c->user == NULL || strcmp(c->user, f->user) != 0))
        return 0;
    if (f->type >= 0 && f->type != (pubsub_sub_total(&c->sub) ? OBUF_PUBSUB : OBUF_NORMAL))
        return 0;
    return !(c == self && f->skipme);
}

/* Close the clients F matches; SELF closes once this reply is written. Returns how many. */
static int kill_clients(struct server *srv, struct client *self, const struct kill_filter *f)
{
    int killed = 0;
    struct list_node *n = srv->clients.head;
    while (n != NULL) {
        struct client *c = list_entry(n, struct client, node);
        n = n->next; /* C may be freed below */
        if (!kill_matches(f, c, self))
            continue;
        killed++;
        if (c == self)
            c->close_after_reply = 1;
        else
            client_free(c);
    }
    return killed;
}

void client_list_cmd(struct server *srv, const struct request *req, struct buf *out)
{
    struct kill_filter f;
    uint64_t ids[64];
    int nids = 0;
    memset(&f, 0, sizeof(f));
    f.type = -1;
    if (req->argc == 4 && request_arg_is(req, 2, "type")) {
        if (kill_parse(srv, req, &f, out) != 0)
            return;
    } else if (req->argc >= 4 && request_arg_is(req, 2, "id")) {
        for (int i = 3; i < req->argc && nids < 64; i++) {
            long long id;
            if (util_parse_ll(req->argv[i], req->len[i], &id) != 0 || id < 1) {
                reply_error(out, "ERR Invalid client ID");
                return;
            }
            ids[nids++] = (uint64_t)id;
        }
    } else if (req->argc != 2) {
        reply_syntax_error(out);
        return;
    }
    struct buf b;
    int64_t now = util_now_ms();
    buf_init(&b);
    for (struct list_node *n = srv->clients.head; n; n = n->next) {
        const struct client *c = list_entry(n, const struct client, node);
        int want = nids == 0 && kill_matches(&f, c, NULL);
        for (int i = 0; i < nids && !want; i++)
            want = c->id == ids[i];
        if (want)
            client_info_at(c, &b, now);
    }
    reply_verbatim(out, b.data ? b.data : "", b.len);
    buf_close(&b);
}

void client_kill(struct server *srv, struct client *self, const struct request *req, struct buf *out)
{
    struct kill_filter f;
    if (req->argc == 3) { /* the old form: CLIENT KILL addr:port, self included */
        memset(&f, 0, sizeof(f));
        f.type = -1;
        f.addr = req->argv[2];
        if (kill_clients(srv, self, &f) == 0)
            reply_error(out, "ERR No such client");
        else
            reply_ok(out);
        return;
    }
    if (kill_parse(srv, req, &f, out) != 0)
        return;
    reply_int(out, kill_clients(srv, self, &f));
}

/* ---- WAIT ---- */

struct server_wait {
    struct list_node node;
    struct slot *slot;
    uint64_t woff;
    long long num;
    int64_t deadline_ms; /* 0: none */
};

/* Followers (voters other than this leader) whose match index is at least WOFF. */
static int wait_acked(struct server *srv, uint64_t woff)
{
    struct consensus_node nodes[64];
    struct consensus_info info;
    consensus_get_info(srv->cs, &info);
    int n = consensus_nodes(srv->cs, nodes, 64), k = 0;
    for (int i = 0; i < n && i < 64; i++)
        if (nodes[i].id != info.id && nodes[i].member == MEMBER_VOTER && nodes[i].match_index >= woff)
            k++;
    return k;
}

static void wait_finish(struct server *srv, struct server_wait *w)
{
    list_remove(&srv->waits, &w->node);
    reply_int(slot_buf(w->slot), wait_acked(srv, w->woff));
    slot_done(w->slot);
    free(w);
}

static void on_wait_timer(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    int64_t now = util_now_ms();
    struct list_node *n, *next;
    list_foreach_safe(n, next, &srv->waits) {
        struct server_wait *w = list_entry(n, struct server_wait, node);
        if (w->slot->c == NULL || !consensus_is_leader(srv->cs) || wait_acked(srv, w->woff) >= w->num ||
            (w->deadline_ms && now >= w->deadline_ms))
            wait_finish(srv, w);
    }
    if (srv->waits.n > 0) {
        struct timeval tv = {0, 10 * 1000};
        evtimer_add(srv->wait_ev, &tv);
    }
    server_flush_writes(srv);
}

void server_wait(struct server *srv, struct client *c, long long num, long long timeout_ms, struct buf *out)
{
    int acked = wait_acked(srv, c->woff);
    if (acked >= num) {
        reply_int(out, acked);
        return;
    }
    struct server_wait *w = xcalloc(1, sizeof(*w));
    w->slot = client_defer(c);
    w->woff = c->woff;
    w->num = num;
    w->deadline_ms = timeout_ms > 0 ? util_now_ms() + timeout_ms : 0;
    list_push_back(&srv->waits, &w->node);
    if (srv->wait_ev == NULL)
        srv->wait_ev = evtimer_new(srv->base, on_wait_timer, srv);
    if (!evtimer_pending(srv->wait_ev, NULL)) {
        struct timeval tv = {0, 10 * 1000};
        evtimer_add(srv->wait_ev, &tv);
    }
}

/* ---- the cron's figures ---- */

static void metric_sample(struct server_metric *m, long long value, int64_t now_ms)
{
    if (m->last_ms > 0 && now_ms > m->last_ms)
        m->samples[m->idx++ % SERVER_METRIC_SAMPLES] = (value - m->last_value) * 1000 / (now_ms - m->last_ms);
    m->last_ms = now_ms;
    m->last_value = value;
}

long long server_metric_value(const struct server *srv, int which)
{
    long long sum = 0;
    for (int i = 0; i < SERVER_METRIC_SAMPLES; i++)
        sum += srv->metrics[which].samples[i];
    return sum / SERVER_METRIC_SAMPLES;
}

void server_track_peak(struct server *srv)
{
    size_t used = memcount_used();
    if (used > srv->used_memory_peak)
        srv->used_memory_peak = used;
}

void server_ops_cron(struct server *srv)
{
    int64_t now = util_now_ms();
    metric_sample(&srv->metrics[METRIC_OPS], srv->stats.commands_processed, now);
    metric_sample(&srv->metrics[METRIC_NET_IN], srv->stats.net_input_bytes, now);
    metric_sample(&srv->metrics[METRIC_NET_OUT], srv->stats.net_output_bytes, now);
    server_track_peak(srv);
    if (srv->fsm.snapshots != srv->seen_snapshots) {
        srv->seen_snapshots = srv->fsm.snapshots;
        srv->last_save_ms = now;
        srv->last_save_err = 0;
    }
    if (srv->fsm.snapshot_failures != srv->seen_snapshot_failures) {
        srv->seen_snapshot_failures = srv->fsm.snapshot_failures;
        srv->last_save_err = 1;
    }
    if (srv->pause_type != PAUSE_OFF && now >= srv->pause_end_ms)
        pause_end(srv);
    server_memory_holds_check(srv);
}

void server_ops_init(struct server *srv)
{
    srv->last_save_ms = util_now_ms();
    srv->startup_memory = memcount_used();
    resp_set_error_hook(on_error_reply, srv);
}

void server_ops_close(struct server *srv)
{
    resp_set_error_hook(NULL, NULL);
    while (srv->waits.head) {
        struct server_wait *w = list_entry(srv->waits.head, struct server_wait, node);
        list_remove(&srv->waits, &w->node);
        slot_error(w->slot, "ERR server is shutting down");
        free(w);
    }
    if (srv->pause_ev)
        event_free(srv->pause_ev);
    if (srv->wait_ev)
        event_free(srv->wait_ev);
    srv->pause_ev = srv->wait_ev = NULL;
}

/* ---- MEMORY STATS and MEMORY DOCTOR ---- */

struct memory_figures {
    size_t peak, total, startup, raft_log, clients, dataset, rss, keys;
};

static void memory_figures(struct server *srv, struct memory_figures *m)
{
    server_track_peak(srv);
    memset(m, 0, sizeof(*m));
    m->peak = srv->used_memory_peak;
    m->total = memcount_used();
    m->startup = srv->startup_memory;
    m->raft_log = (size_t)consensus_stats(srv->cs)->log_bytes;
    for (struct list_node *n = srv->clients.head; n; n = n->next) {
        const struct client *c = list_entry(n, const struct client, node);
        m->clients += c->out.cap + resp_reader_allocated(c->reader);
    }
    m->dataset = server_dbs_sum(srv, kv_used_memory);
    m->rss = info_rss_bytes();
    m->keys = server_dbs_sum(srv, kv_size);
}

static void stat_int(struct buf *out, const char *name, long long v)
{
    reply_bulk_cstr(out, name);
    reply_int(out, v);
}

static void stat_double(struct buf *out, const char *name, double v)
{
    reply_bulk_cstr(out, name);
    reply_double(out, v); /* a bulk in RESP2, a double in RESP3, as Redis's addReplyDouble */
}

/* Redis 7.0's MEMORY STATS shape (a flat array of names and values). The raft log kept in
 * memory until the next snapshot is reported as replication.backlog (it is what followers
 * catch up from) and again as raft.log; the allocator is libc, so allocator.* repeat the
 * allocated and resident figures. */
void server_memory_stats(struct server *srv, struct buf *out)
{
    struct memory_figures m;
    memory_figures(srv, &m);
    size_t overhead = m.startup + m.raft_log + m.clients;
    size_t net = m.total > m.startup ? m.total - m.startup : 0;
    double frag = m.total ? (double)m.rss / (double)m.total : 0;
    reply_map_len(out, 29); /* Redis's addReplyMapLen: a flat array in RESP2 */
    stat_int(out, "peak.allocated", (long long)m.peak);
    stat_int(out, "total.allocated", (long long)m.total);
    stat_int(out, "startup.allocated", (long long)m.startup);
    stat_int(out, "replication.backlog", (long long)m.raft_log);
    stat_int(out, "clients.slaves", 0);
    stat_int(out, "clients.normal", (long long)m.clients);
    stat_int(out, "cluster.links", 0);
    stat_int(out, "aof.buffer", 0);
    stat_int(out, "lua.caches", 0);
    stat_int(out, "functions.caches", 0);
    stat_int(out, "raft.log", (long long)m.raft_log);
    stat_int(out, "overhead.total", (long long)overhead);
    reply_bulk_cstr(out, "db.0");
    reply_map_len(out, 2);
    stat_int(out, "overhead.hashtable.main", (long long)(m.dataset > 0 ? m.keys * sizeof(void *) : 0));
    stat_int(out, "overhead.hashtable.expires", 0);
    stat_int(out, "keys.count", (long long)m.keys);
    stat_int(out, "keys.bytes-per-key", m.keys ? (long long)(net / m.keys) : 0);
    stat_int(out, "dataset.bytes", (long long)m.dataset);
    stat_double(out, "dataset.percentage", net ? 100.0 * (double)m.dataset / (double)net : 0);
    stat_double(out, "peak.percentage", m.peak ? 100.0 * (double)m.total / (double)m.peak : 0);
    stat_int(out, "allocator.allocated", (long long)m.total);
    stat_int(out, "allocator.active", (long long)m.total);
    stat_int(out, "allocator.resident", (long long)m.rss);
    stat_double(out, "allocator-fragmentation.ratio", 1.0);
    stat_int(out, "allocator-fragmentation.bytes", 0);
    stat_double(out, "allocator.rss-ratio", frag);
    stat_int(out, "allocator.rss-bytes", (long long)m.rss - (long long)m.total);
    stat_double(out, "rss-overhead.ratio", 1.0);
    stat_int(out, "rss-overhead.bytes", 0);
    stat_double(out, "fragmentation", frag);
    stat_int(out, "fragmentation.bytes", (long long)m.rss - (long long)m.total);
}

/* MEMORY DOCTOR: what the figures above suggest, in a few sentences. */
void server_memory_doctor(struct server *srv, struct buf *out)
{
    struct memory_figures m;
    struct buf t;
    memory_figures(srv, &m);
    buf_init(&t);
    if (m.total < 5 * 1024 * 1024) {
        buf_append_str(&t, "This instance is empty or uses very little memory (under 5 MB): there is "
                           "nothing for the memory doctor to look at yet.\n");
    } else {
        int found = 0;
        if (m.peak > m.total * 3 / 2) {
            buf_printf(&t, " * Peak memory: this node once used %.1f times the memory it uses now "
                           "(%zu bytes at the peak). RSS may stay high: freed memory is not always returned "
                           "to the system. CONFIG RESETSTAT resets the peak.\n",
                       (double)m.peak / (double)m.total, m.peak);
            found++;
        }
        if (m.rss > m.total * 7 / 5 && m.rss - m.total > 10 * 1024 * 1024) {
            buf_printf(&t, " * High fragmentation: the resident set is %.2f times the allocated memory.\n",
                       (double)m.rss / (double)m.total);
            found++;
        }
        if (m.raft_log > m.dataset / 2 && m.raft_log > 16 * 1024 * 1024) {
            buf_printf(&t, " * Raft log: %zu bytes of entries are kept in memory until the next snapshot; "
                           "a lower snapshot-threshold or snapshot-log-bytes keeps fewer.\n", m.raft_log);
            found++;
        }
        if (m.clients > 64 * 1024 * 1024) {
            buf_printf(&t, " * Clients: connection buffers hold %zu bytes (CLIENT LIST shows which).\n", m.clients);
            found++;
        }
        if (found == 0)
            buf_append_str(&t, "I can't find any memory issue in this node. I can only account for what "
                               "ConcordKV itself allocates.\n");
        else
            buf_append_str(&t, "\nThe figures behind these notes: MEMORY STATS and INFO memory.\n");
    }
    reply_verbatim(out, t.data, t.len);
    buf_close(&t);
}
