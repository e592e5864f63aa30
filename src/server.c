/* The server: the libevent base, the RESP listener, signals, the flush and cron events, the
 * libuv pump, the list of clients with output to write, and the callback table through which
 * consensus answers requests (a cookie is a client.c slot; reads run here). */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "acl.h"
#include "admin.h"
#include "blocked.h"
#include "client.h"
#include "cluster.h"
#include "command.h"
#include "consensus.h"
#include "hash.h"
#include "set.h"
#include "qlist.h"
#include "zobj.h"
#include "kv.h"
#include "log.h"
#include "notify.h"
#include "probe.h"
#include "protect.h"
#include "tls.h"
#include "follower_read.h"
#include "proxy.h"
#include "readindex.h"
#include "sdnotify.h"

#define CRON_INTERVAL_MS 100
#define EXPIRE_BUCKETS_PER_CRON 4096
#define EXPIRE_KEYS_PER_ENTRY 256
#define SERVER_RESERVED_FDS 32  /* Redis's CONFIG_MIN_RESERVED_FDS: fds kept for the server */
#define ACCEPT_BACKOFF_MS 100   /* listener off for this long when out of fds */

int server_listen_tcp(const char *bind_addr, int port)
{
    struct sockaddr_in sin;
    int fd, one = 1;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, bind_addr, &sin.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 511) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int listen_tcp(const char *bind_addr, int port, char *err, size_t errlen)
{
    int fd = server_listen_tcp(bind_addr, port);
    if (fd < 0 && errno == EINVAL)
        snprintf(err, errlen, "option 'bind': '%s' is not an IPv4 address", bind_addr);
    else if (fd < 0)
        snprintf(err, errlen, "listen on %s:%d: %s", bind_addr, port, strerror(errno));
    return fd;
}

/* Make room for maxclients clients plus SERVER_RESERVED_FDS in RLIMIT_NOFILE, as Redis's
 * adjustOpenFilesLimit does: raise the soft limit (up to the hard one) if needed, else lower
 * maxclients to what fits, with Redis's warnings. -1 with ERR when not even one client fits. */
static int server_fit_maxclients(struct config *cfg, char *err, size_t errlen)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)cfg->maxclients + SERVER_RESERVED_FDS;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        log_warning("Unable to obtain the current NOFILE limit (%s), assuming 1024 and setting "
                    "the max clients configuration accordingly.", strerror(errno));
        rl.rlim_cur = rl.rlim_max = 1024;
    } else if (rl.rlim_cur >= want) {
        return 0;
    }
    rlim_t old = rl.rlim_cur, best = old;
    int os_error = 0;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > old) {
        rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
            best = rl.rlim_cur;
            log_notice("Increased maximum number of open files to %llu (it was originally set to %llu).",
                       (unsigned long long)best, (unsigned long long)old);
        } else {
            os_error = errno;
        }
    }
    if (best >= want)
        return 0;
    if (best <= SERVER_RESERVED_FDS) {
        snprintf(err, errlen, "Your current 'ulimit -n' of %llu is not enough for the server to "
                 "start. Please increase your open file limit to at least %llu.",
                 (unsigned long long)old, (unsigned long long)SERVER_RESERVED_FDS + 1);
        return -1;
    }
    log_warning("You requested maxclients of %lld requiring at least %llu max file descriptors.",
                cfg->maxclients, (unsigned long long)want);
    if (os_error != 0)
        log_warning("Server can't set maximum open files to %llu because of OS error: %s.",
                    (unsigned long long)want, strerror(os_error));
    cfg->maxclients = (long long)(best - SERVER_RESERVED_FDS);
    log_warning("Current maximum open files is %llu. maxclients has been reduced to %lld to "
                "compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.",
                (unsigned long long)best, cfg->maxclients);
    return 0;
}

static void server_on_accept_backoff(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    if (!srv->shutting_down) {
        event_add(srv->listen_ev, NULL);
        if (srv->tls_listen_ev)
            event_add(srv->tls_listen_ev, NULL);
        if (srv->sentinel_listen_ev)
            event_add(srv->sentinel_listen_ev, NULL);
    }
}

/* accept failed for want of descriptors (or memory): the listener stays readable, so turn it
 * off for ACCEPT_BACKOFF_MS instead of spinning. Logged once per run of failures. */
static void server_accept_backoff(struct server *srv, int error)
{
    if (srv->accept_backoffs++ == 0)
        log_warning("accept: %s; not accepting connections for %d ms at a time until some are "
                    "closed", strerror(error), ACCEPT_BACKOFF_MS);
    event_del(srv->listen_ev);
    if (srv->tls_listen_ev)
        event_del(srv->tls_listen_ev);
    if (srv->sentinel_listen_ev)
        event_del(srv->sentinel_listen_ev);
    struct timeval tv = {0, ACCEPT_BACKOFF_MS * 1000};
    evtimer_add(srv->accept_backoff_ev, &tv);
}

/* Accept what LFD has; TLS: the connections speak TLS (the RESP TLS port); SENTINEL: they
 * may run only what a Sentinel answers (the sentinel-port). */
static void server_accept(struct server *srv, int lfd, int tls, int sentinel)
{
    for (int i = 0; i < 64; i++) {
        int one = 1;
        struct sockaddr_in sin;
        socklen_t slen = sizeof(sin);
        int fd = accept4(lfd, (struct sockaddr *)&sin, &slen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                server_accept_backoff(srv, errno);
            else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warning("accept: %s", strerror(errno));
            return;
        }
        if (srv->accept_backoffs > 0) {
            log_notice("accepting connections again (after %d backoffs)", srv->accept_backoffs);
            srv->accept_backoffs = 0;
        }
        srv->stats.connections_received++;
        if (srv->clients.n >= srv->cfg->maxclients && !tls) {
            static const char msg[] = "-ERR max number of clients reached\r\n";
            ssize_t n = write(fd, msg, sizeof(msg) - 1);
            (void)n;
            close(fd);
            srv->stats.rejected_connections++;
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        const struct sockaddr_in *peer = slen == sizeof(sin) && sin.sin_family == AF_INET ? &sin : NULL;
        struct client *c = tls ? client_new_tls(srv, fd, srv->tls_ctx) : client_new(srv, fd);
        if (c == NULL) {
            srv->stats.rejected_connections++;
            continue;
        }
        c->sentinel_only = sentinel;
        if (tls && srv->clients.n > srv->cfg->maxclients) {
            /* Told over TLS, once the handshake is done. */
            reply_error(client_reply_buf(c), "ERR max number of clients reached");
            client_close_after_reply(c);
            srv->stats.rejected_connections++;
        } else if (server_protected_refuses(srv->cfg, peer) &&
                   !acl_has_password_users(server_acl(srv))) {
            buf_append(client_reply_buf(c), PROTECT_DENIED, strlen(PROTECT_DENIED));
            client_close_after_reply(c);
            srv->stats.rejected_connections++;
        }
        if (c->close_after_reply)
            client_flush(c); /* may free C */
    }
}

static void server_on_accept(evutil_socket_t lfd, short what, void *arg)
{
    server_accept(arg, lfd, 0, 0);
}

static void server_on_accept_tls(evutil_socket_t lfd, short what, void *arg)
{
    server_accept(arg, lfd, 1, 0);
}

static void server_on_accept_sentinel(evutil_socket_t lfd, short what, void *arg)
{
    server_accept(arg, lfd, 0, 1);
}

/* kv_lookup_write in apply met an expired key: the keyspace "expired" event. */
static void server_on_key_expired(void *arg, int db, const char *key, size_t klen)
{
    struct server *srv = arg;
    notify_event(&srv->pubsub, db, NOTIFY_EXPIRED, "expired", key, klen);
}

struct pubsub *server_pubsub(struct server *srv)
{
    return &srv->pubsub;
}

void server_want_write(struct server *srv, struct client *c)
{
    if (!c->write_node.linked)
        list_push_front(&srv->write_list, &c->write_node);
}

void server_flush_writes(struct server *srv)
{
    struct list_node *n;
    while ((n = list_pop_front(&srv->write_list)) != NULL)
        client_flush(list_entry(n, struct client, write_node));
}

static void server_on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    consensus_flush(srv->cs);
}

/* libuv inside libevent: run what is ready without blocking, then arm the timer for
 * libuv's next deadline (or run again at once when it has more ready work). */
static void server_on_uv(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    int timeout = consensus_pump(srv->cs);
    if (timeout == 0) {
        event_active(srv->uv_kick_ev, EV_TIMEOUT, 0);
    } else if (timeout > 0) {
        struct timeval tv = {timeout / 1000, (timeout % 1000) * 1000};
        evtimer_add(srv->uv_timer_ev, &tv);
    } else {
        evtimer_del(srv->uv_timer_ev);
    }
}

void server_kick(struct server *srv)
{
    if (srv->uv_kick_ev)
        event_active(srv->uv_kick_ev, EV_TIMEOUT, 0);
}

void server_want_flush(struct server *srv)
{
    event_active(srv->flush_ev, EV_TIMEOUT, 0);
}

struct expire_scan {
    struct request *req;
};

static void collect_expired(void *priv, const struct kv_entry *e)
{
    struct expire_scan *es = priv;
    if (es->req->argc <= EXPIRE_KEYS_PER_ENTRY)
        request_push(es->req, kv_entry_key(e), e->klen);
}

/* Active expiry: the leader proposes deletes of keys whose TTL has passed; apply deletes
 * them only if they are still expired at the entry's clock. */
static void server_active_expire_db(struct server *srv, int db)
{
    struct kv_store *kv = srv->fsm.dbs[db];
    if (kv_expires(kv) == 0)
        return;
    struct expire_scan es = {request_new(16)};
    request_push(es.req, "__expired", 9);
    kv_expired_sample(kv, &srv->expire_cursors[db], EXPIRE_BUCKETS_PER_CRON, util_now_ms(),
                      collect_expired, &es);
    if (es.req->argc > 1) {
        srv->stats.expired_keys_proposed += es.req->argc - 1;
        server_feed_monitors_self(srv, db, es.req);
        consensus_write_db(srv->cs, NULL, db, es.req); /* the entry carries the database */
    } else {
        request_free(es.req);
    }
}

/* Each database in turn, with a cursor of its own. */
static void server_active_expire(struct server *srv)
{
    if (!consensus_is_leader(srv->cs) || srv->pause_type != PAUSE_OFF)
        return; /* CLIENT PAUSE stops expiry too, as in Redis */
    for (int d = 0; d < srv->fsm.ndbs; d++)
        server_active_expire_db(srv, d);
}

/* Deleted large values (kv_lazy_free_step) are freed in slices of this many elements, one
 * slice per SERVER_LAZY_FREE_GAP_US while any are queued: a slice of cold entries costs
 * about 1.5 ms, and clients are served between slices (about 800,000 elements a second). */
#define SERVER_LAZY_FREE_BUDGET 2000
#define SERVER_LAZY_FREE_GAP_US 1000

static void server_on_lazy_free(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    size_t left = 0;
    for (int d = 0; d < srv->fsm.ndbs; d++)
        left += kv_lazy_free_step(srv->fsm.dbs[d], SERVER_LAZY_FREE_BUDGET);
    if (left > 0) {
        struct timeval tv = {0, SERVER_LAZY_FREE_GAP_US};
        event_add(srv->lazy_free_ev, &tv);
    } else {
        server_memory_holds_check(srv); /* an eviction's values are freed */
    }
}

static void server_on_cron(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    kv_set_lru_clock(util_now_ms()); /* node-local access stamps (kv.h) */
    server_active_expire(srv);
    server_evict_cron(srv);
    consensus_cron(srv->cs);
    follower_read_cron(srv->fr);
    blocked_serve(srv); /* a leadership lost without an entry applied */
    cluster_cron(srv);
    server_acl_cron(srv);
    for (int d = 0; d < srv->fsm.ndbs; d++)
        kv_rehash_step(srv->fsm.dbs[d], 100);
    server_ops_cron(srv);
    if (server_dbs_sum(srv, kv_lazy_pending) > 0 && !evtimer_pending(srv->lazy_free_ev, NULL))
        server_on_lazy_free(-1, 0, srv);
}

struct follower_read *server_follower_read(struct server *srv)
{
    return srv->fr;
}

struct consensus *server_consensus(struct server *srv)
{
    return srv->cs;
}

const struct config *server_config(const struct server *srv)
{
    return srv->cfg;
}

const struct fsm *server_fsm(const struct server *srv)
{
    return &srv->fsm;
}

/* CONFIG SET maxclients above what RLIMIT_NOFILE allows (after trying to raise it) is
 * refused with Redis's text and the old value kept, as Redis's updateMaxclients does. */
static int server_check_maxclients(struct server *srv, long long old, char *err, size_t errlen)
{
    long long want = srv->cfg->maxclients;
    if (want <= old)
        return 0;
    char why[200];
    int rc = server_fit_maxclients(srv->cfg, why, sizeof why);
    long long fit = rc == 0 ? srv->cfg->maxclients : 0;
    if (fit >= want)
        return 0;
    srv->cfg->maxclients = old;
    snprintf(err, errlen, "CONFIG SET failed (possibly related to argument 'maxclients') - The "
             "operating system is not able to handle the specified number of clients, try with %lld",
             fit > old ? fit : old);
    return -1;
}

struct ssl_ctx_st *server_tls_ctx(const struct server *srv)
{
    return srv->tls_ctx;
}

/* CONFIG SET of a tls-* option: build the new context at once (new connections use it); if
 * the files do not load, the option keeps its old value, as Redis does. */
static int server_tls_reload(struct server *srv, const char *name, const char *value, char *err,
                             size_t errlen)
{
    char old[1024], why[512];
    config_text(srv->cfg, name, old, sizeof(old));
    if (config_set(srv->cfg, name, value, 1, err, errlen) != 0)
        return -1;
    if (!tls_configured(srv->cfg))
        return 0;
    struct ssl_ctx_st *ctx = tls_ctx_new(srv->cfg, TLS_SERVER, why, sizeof(why));
    if (ctx == NULL) {
        config_set(srv->cfg, name, old, 1, err, errlen);
        snprintf(err, errlen, "CONFIG SET failed (possibly related to argument '%s') - Unable to update TLS configuration. Check server logs.", name);
        log_warning("CONFIG SET %s: %s; kept the previous TLS configuration", name, why);
        return -1;
    }
    tls_ctx_free(srv->tls_ctx);
    srv->tls_ctx = ctx;
    log_notice("TLS configuration reloaded (%s)", name);
    return 0;
}

/* Tell consensus how read-consistency confirms reads (stale ones never reach it). */
static void server_apply_read_mode(struct server *srv)
{
    long long v = srv->cfg->read_consistency;
    if (srv->cs)
        consensus_set_read_mode(srv->cs, v == READ_BARRIER ? CONSENSUS_READ_BARRIER
                                         : v == READ_LEASE ? CONSENSUS_READ_LEASE
                                                           : CONSENSUS_READ_INDEX);
}

int server_config_set(struct server *srv, const char *name, const char *value, char *err,
                      size_t errlen)
{
    if (tls_option_reloads(name))
        return server_tls_reload(srv, name, value, err, errlen);
    long long old_maxclients = srv->cfg->maxclients;
    int rc = config_set(srv->cfg, name, value, 1, err, errlen);
    if (rc == 0 && server_check_maxclients(srv, old_maxclients, err, errlen) != 0)
        return -1;
    hash_set_limits(srv->cfg->hash_max_listpack_entries, srv->cfg->hash_max_listpack_value);
    set_configure_limits(srv->cfg->set_max_intset_entries);
    zobj_set_limits(srv->cfg->zset_max_listpack_entries, srv->cfg->zset_max_listpack_value);
    qlist_configure(srv->cfg->list_max_listpack_size);
    script_busy_limit_configured = srv->cfg->busy_script_limit;
    server_evict_configure(srv->cfg);
    if (rc == 0 && strcasecmp(name, "maxmemory") == 0)
        server_evict_limit_set(srv);
    server_apply_read_mode(srv);
    return rc;
}

int64_t server_start_ms(const struct server *srv)
{
    return srv->start_ms;
}

/* ---- the consensus callback table: a cookie is a struct slot of client.c ---- */

static void on_consensus_reply(void *arg, void *cookie, const char *data, size_t len)
{
    struct slot *s = cookie;
    if (s->blk) {
        blocked_on_reply(s->blk, data, len);
        return;
    }
    if (s->c != NULL) {
        struct consensus_info info;
        consensus_get_info(((struct server *)arg)->cs, &info);
        s->c->woff = info.applied_index; /* WAIT: its last write is at or below it */
        if (len > 0 && data[0] == '-')
            server_count_error(arg, data + 1, len - 1); /* errors of apply count here */
    }
    reply_convert(&s->out, data, len); /* apply's form to the client's protocol */
    slot_done(s);
}

static void on_consensus_read_error(void *arg, void *cookie, const struct command *cmd, const char *msg)
{
    (void)arg;
    if (cmd->noop != NULL)
        probe_on_read_error(cookie, msg);
    else
        slot_error(cookie, msg);
}

static void on_consensus_error(void *arg, void *cookie, const char *msg)
{
    struct slot *s = cookie;
    if (s->blk) {
        blocked_on_error(s->blk, msg);
        return;
    }
    slot_error(cookie, msg);
}

size_t server_dbs_sum(const struct server *srv, size_t (*each)(const struct kv_store *kv))
{
    size_t n = 0;
    for (int d = 0; d < srv->fsm.ndbs; d++)
        n += each(srv->fsm.dbs[d]);
    return n;
}

void server_local_ctx(struct exec_ctx *ctx, struct server *srv, struct client *c, struct buf *out,
                      int64_t now_ms)
{
    struct kv_store *kv = c != NULL ? fsm_db(&srv->fsm, client_db(c)) : NULL;
    *ctx = (struct exec_ctx){
        .kv = kv != NULL ? kv : srv->kv, .now_ms = now_ms, .apply_seq = srv->fsm.apply_seq,
        .out = out, .client = c, .srv = srv, .rng = &srv->rng, .scripts = srv->fsm.scripts,
        .dbs = srv->fsm.dbs, .ndbs = srv->fsm.ndbs,
    };
}

/* A confirmed read runs against the applied state, with the local clock. */
static void on_consensus_read(void *arg, void *cookie, const struct command *cmd, struct request *req)
{
    struct server *srv = arg;
    if (cmd->noop != NULL) { /* a probe (probe.h): only they send such writes here */
        probe_on_read(srv, cookie, req);
        return;
    }
    server_run_read(srv, cookie, cmd, req);
}

void server_run_read(struct server *srv, struct slot *s, const struct command *cmd, struct request *req)
{
    if (s->c != NULL) {
        struct exec_ctx ctx;
        server_local_ctx(&ctx, srv, s->c, &s->out, util_now_ms());
        struct kv_store *kv = fsm_db(&srv->fsm, s->db); /* its database when it was sent */
        if (kv != NULL)
            ctx.kv = kv;
        struct buf trace;
        buf_init(&trace);
        ctx.monitor_trace = srv->monitors.n > 0 ? &trace : NULL;
        int64_t usec = command_exec(cmd, &ctx, req);
        client_monitor_feed_trace(srv, trace.data, trace.len);
        buf_close(&trace);
        client_note_exec(s->c, cmd, req, usec);
    }
    slot_done(s);
}

static void on_consensus_executed(void *arg, void *cookie, int64_t usec, const char *trace,
                                  size_t trace_len)
{
    client_monitor_feed_trace(arg, trace, trace_len);
    client_note_executed(cookie, usec);
}

static void on_consensus_latency(void *arg, const char *event, int64_t usec)
{
    struct server *srv = arg;
    if (latency_wants(srv->cfg->latency_monitor_threshold, usec))
        latency_add_sample(&srv->latency, event, (uint32_t)(usec / 1000), util_now_ms() / 1000);
}

void server_feed_monitors_self(struct server *srv, int db, const struct request *req)
{
    char who[64];
    if (srv->monitors.n == 0)
        return;
    consensus_raft_address(srv->cfg, who, sizeof(who));
    client_feed_monitors(srv, db, who, NULL, req);
}

struct slowlog *server_slowlog(struct server *srv)
{
    return &srv->slowlog;
}

struct latency_monitor *server_latency(struct server *srv)
{
    return &srv->latency;
}

/* ReadIndex: ask the other voters whether this node still leads TERM (readindex.c). */
static void on_consensus_read_round(void *arg, uint64_t term, uint64_t seq)
{
    struct server *srv = arg;
    readindex_round(srv->ri, term, seq);
}

static void on_consensus_kick(void *arg)
{
    server_kick(arg);
}

static void on_consensus_want_flush(void *arg)
{
    server_want_flush(arg);
}

static void on_consensus_flushed(void *arg)
{
    struct server *srv = arg;
    server_acl_check_subscribers(arg);
    follower_read_serve(srv->fr);
    blocked_serve(arg);
    sentinel_watch(arg);
    server_memory_holds_check(srv); /* an eviction applied may release held writes */
    server_flush_writes(arg);
}

static void server_on_closed(void *arg)
{
    struct server *srv = arg;
    event_base_loopbreak(srv->base);
}

static void server_on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;
    if (srv->shutting_down) {
        log_warning("received a second signal: exiting now");
        event_base_loopbreak(srv->base);
        return;
    }
    log_notice("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    srv->shutting_down = 1;
    sdnotify_send("STOPPING=1");
    /* Stop taking new clients; answer the rest once raft is closed. */
    event_del(srv->listen_ev);
    if (srv->tls_listen_ev)
        event_del(srv->tls_listen_ev);
    if (srv->sentinel_listen_ev)
        event_del(srv->sentinel_listen_ev);
    consensus_shutdown(srv->cs);
}

/* A listener reachable from other machines with no password and protected mode off: say so. */
static void server_warn_exposed(const struct config *cfg)
{
    struct in_addr a;
    if (cfg->requirepass != NULL || cfg->protected_mode)
        return;
    if (inet_pton(AF_INET, cfg->bind, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127)
        return;
    log_warning("WARNING: bind %s is not a loopback address and no requirepass is set: any host "
                "that reaches port %lld (and admin port %lld) can read and write every key "
                "(protected-mode is off). Set requirepass (and admin-token), or bind 127.0.0.1.",
                cfg->bind, cfg->port, cfg->admin_port);
}

/* A listener on bind:PORT whose connections CB accepts, into *FD and *EV. 0, or -1 with a
 * message in ERR. */
static int server_listener(struct server *srv, long long port, event_callback_fn cb, int *fd,
                           struct event **ev, char *err, size_t errlen)
{
    *fd = listen_tcp(srv->cfg->bind, (int)port, err, errlen);
    if (*fd < 0)
        return -1;
    *ev = event_new(srv->base, *fd, EV_READ | EV_PERSIST, cb, srv);
    event_add(*ev, NULL);
    return 0;
}

/* The TLS context (any TLS use) and the RESP TLS listener (tls-port). */
static int server_tls_start(struct server *srv, char *err, size_t errlen)
{
    const struct config *cfg = srv->cfg;
    if (!tls_configured(cfg))
        return 0;
    srv->tls_ctx = tls_ctx_new(cfg, TLS_SERVER, err, errlen);
    if (srv->tls_ctx == NULL)
        return -1;
    if (cfg->tls_port <= 0)
        return 0;
    if (server_listener(srv, cfg->tls_port, server_on_accept_tls, &srv->tls_listen_fd,
                        &srv->tls_listen_ev, err, errlen) != 0)
        return -1;
    log_notice("RESP over TLS on %s:%lld", cfg->bind, cfg->tls_port);
    return 0;
}

int server_init(struct server *srv, struct config *cfg, char *err, size_t errlen)
{
    memset(srv, 0, sizeof(*srv));
    srv->cfg = cfg;
    hash_set_limits(cfg->hash_max_listpack_entries, cfg->hash_max_listpack_value);
    set_configure_limits(cfg->set_max_intset_entries);
    zobj_set_limits(cfg->zset_max_listpack_entries, cfg->zset_max_listpack_value);
    qlist_configure(cfg->list_max_listpack_size);
    script_busy_limit_configured = cfg->busy_script_limit;
    server_evict_configure(cfg);
    srv->listen_fd = -1;
    srv->tls_listen_fd = -1;
    srv->sentinel_listen_fd = -1;
    srv->start_ms = util_now_ms();
    kv_set_lru_clock(srv->start_ms);
    srv->rng = (uint64_t)util_now_us() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    util_hash_seed(srv->rng * 0xff51afd7ed558ccdULL);
    command_init();
    signal(SIGPIPE, SIG_IGN);

    srv->base = event_base_new();
    if (srv->base == NULL) {
        snprintf(err, errlen, "cannot create the event base");
        return -1;
    }
    srv->kv = kv_new();
    fsm_init(&srv->fsm, srv->kv);
    fsm_set_databases(&srv->fsm, (int)cfg->databases);
    pubsub_init(&srv->pubsub, client_deliver, srv);
    slowlog_init(&srv->slowlog);
    latency_init(&srv->latency);
    srv->pubsub.notify_flags = &cfg->notify_keyspace_events;
    srv->fsm.pubsub = &srv->pubsub;
    for (int d = 0; d < srv->fsm.ndbs; d++)
        kv_set_expired_hook(srv->fsm.dbs[d], server_on_key_expired, srv);
    blocked_init(srv);
    if (server_acl_init(srv, err, errlen) != 0)
        return -1;
    if (server_fit_maxclients(cfg, err, errlen) != 0)
        return -1;
    cluster_init(srv);
    srv->listen_fd = listen_tcp(cfg->bind, (int)cfg->port, err, errlen);
    if (srv->listen_fd < 0)
        return -1;
    srv->listen_ev = event_new(srv->base, srv->listen_fd, EV_READ | EV_PERSIST, server_on_accept, srv);
    event_add(srv->listen_ev, NULL);
    srv->accept_backoff_ev = evtimer_new(srv->base, server_on_accept_backoff, srv);
    if (server_tls_start(srv, err, errlen) != 0)
        return -1;
    if (cfg->sentinel_port > 0) {
        if (server_listener(srv, cfg->sentinel_port, server_on_accept_sentinel, &srv->sentinel_listen_fd,
                            &srv->sentinel_listen_ev, err, errlen) != 0)
            return -1;
        log_notice("Sentinel commands on %s:%lld", cfg->bind, cfg->sentinel_port);
    }
    struct consensus_callbacks cb = {
        .arg = srv, .reply = on_consensus_reply, .error = on_consensus_error,
        .run_read = on_consensus_read, .read_error = on_consensus_read_error,
        .want_flush = on_consensus_want_flush,
        .kick = on_consensus_kick, .flushed = on_consensus_flushed, .closed = server_on_closed,
        .read_round = on_consensus_read_round,
        .executed = on_consensus_executed, .latency = on_consensus_latency,
    };
    srv->ri = readindex_new(srv);
    srv->proxy = proxy_new(srv);
    server_ops_init(srv);
    srv->fr = follower_read_new(srv);
    srv->cs = consensus_new(cfg, &srv->fsm, &cb, err, errlen);
    if (srv->cs == NULL || err[0] != '\0')
        return -1;
    server_apply_read_mode(srv);
    srv->uv_io_ev = event_new(srv->base, consensus_backend_fd(srv->cs), EV_READ | EV_PERSIST, server_on_uv, srv);
    srv->uv_timer_ev = evtimer_new(srv->base, server_on_uv, srv);
    srv->uv_kick_ev = event_new(srv->base, -1, 0, server_on_uv, srv);
    event_add(srv->uv_io_ev, NULL);
    server_kick(srv);
    if (admin_start(srv, err, errlen) != 0)
        return -1;
    srv->flush_ev = event_new(srv->base, -1, 0, server_on_flush, srv);
    srv->cron_ev = event_new(srv->base, -1, EV_PERSIST, server_on_cron, srv);
    srv->lazy_free_ev = evtimer_new(srv->base, server_on_lazy_free, srv);
    struct timeval tv = {0, CRON_INTERVAL_MS * 1000};
    event_add(srv->cron_ev, &tv);
    srv->sig_ev[0] = evsignal_new(srv->base, SIGTERM, server_on_signal, srv);
    srv->sig_ev[1] = evsignal_new(srv->base, SIGINT, server_on_signal, srv);
    event_add(srv->sig_ev[0], NULL);
    event_add(srv->sig_ev[1], NULL);
    log_notice("ConcordKV %s ready on %s:%lld (id %lld)", PACKAGE_VERSION, cfg->bind, cfg->port, cfg->id);
    server_warn_exposed(cfg);
    return 0;
}

int server_run(struct server *srv)
{
    /* Listeners bound and the raft log and snapshot loaded: ready to serve (systemd's
     * Type=notify). Not "a leader is known": the first node of a cluster started one at a
     * time waits for its peers, and systemd must not time out on it meanwhile. */
    if (sdnotify_send("READY=1\nSTATUS=serving") < 0)
        log_warning("cannot notify the service manager at $NOTIFY_SOCKET: %s", strerror(errno));
    event_base_dispatch(srv->base);
    return 0;
}

void server_close(struct server *srv)
{
    admin_stop(srv);
    while (srv->clients.head)
        client_free(list_entry(srv->clients.head, struct client, node));
    consensus_free(srv->cs);
    srv->cs = NULL;
    if (srv->kv)
        blocked_close(srv); /* after consensus answered the pops in flight */
    readindex_free(srv->ri);
    srv->ri = NULL;
    proxy_free(srv->proxy);
    srv->proxy = NULL;
    cluster_close(srv); /* after raft: its callbacks may still report to cluster.c */
    server_ops_close(srv);
    follower_read_free(srv->fr); /* after cluster_close cancelled its requests in flight */
    srv->fr = NULL;
    fsm_close(&srv->fsm);
    pubsub_close(&srv->pubsub);
    slowlog_close(&srv->slowlog);
    server_acl_close(srv);
    if (srv->uv_io_ev)
        event_free(srv->uv_io_ev);
    if (srv->uv_timer_ev)
        event_free(srv->uv_timer_ev);
    if (srv->uv_kick_ev)
        event_free(srv->uv_kick_ev);
    if (srv->listen_ev)
        event_free(srv->listen_ev);
    if (srv->accept_backoff_ev)
        event_free(srv->accept_backoff_ev);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    if (srv->tls_listen_ev)
        event_free(srv->tls_listen_ev);
    if (srv->tls_listen_fd >= 0)
        close(srv->tls_listen_fd);
    if (srv->sentinel_listen_ev)
        event_free(srv->sentinel_listen_ev);
    if (srv->sentinel_listen_fd >= 0)
        close(srv->sentinel_listen_fd);
    tls_ctx_free(srv->tls_ctx);
    if (srv->flush_ev)
        event_free(srv->flush_ev);
    if (srv->cron_ev)
        event_free(srv->cron_ev);
    if (srv->lazy_free_ev)
        event_free(srv->lazy_free_ev);
    for (int i = 0; i < 2; i++)
        if (srv->sig_ev[i])
            event_free(srv->sig_ev[i]);
    client_slot_pool_clear();
    probe_pool_clear();
    kv_free(srv->kv);
    if (srv->base)
        event_base_free(srv->base);
    memset(srv, 0, sizeof(*srv));
}
