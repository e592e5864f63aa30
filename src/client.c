/* One client connection: read, parse, dispatch, and write replies in request order. A reply
 * is either immediate (appended to the output at once, or to a ready slot when earlier replies
 * are still pending) or deferred (a slot, given to consensus as the request's cookie and
 * filled later through server.c's callbacks after apply or a read barrier). Also the exec.h
 * accessors handlers use for a connection's own state (id, auth, name, MULTI state, CLIENT
 * LIST lines). */
#include "client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "acl.h"
#include "blocked.h"
#include "cluster.h"
#include "command.h"
#include "consensus.h"
#include "dict.h"
#include "kv.h"
#include "log.h"
#include "follower_read.h"
#include "monitor.h"
#include "probe.h"
#include "protect.h"
#include "proxy.h"
#include "server.h"
#include "tls.h"

#define CLIENT_READ_CHUNK (64 * 1024)

static void client_on_read(evutil_socket_t fd, short what, void *arg);
static void client_on_write(evutil_socket_t fd, short what, void *arg);
static int client_check_obuf_limits(struct client *c);
static int client_obuf_limited(const struct client *c);
static void client_on_bev_read(struct bufferevent *bev, void *arg);
static void client_on_bev_write(struct bufferevent *bev, void *arg);
static void client_on_bev_event(struct bufferevent *bev, short what, void *arg);

static void sockaddr_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char host[48] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        evutil_inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        port = ntohs(sin->sin_port);
    }
    snprintf(out, len, "%s:%d", host, port);
}

/* The parts of a new client common to plain and TLS connections. */
static struct client *client_alloc(struct server *srv, int fd)
{
    struct client *c = xcalloc(1, sizeof(*c));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    c->srv = srv;
    c->fd = fd;
    c->id = ++srv->next_client_id;
    c->reader = resp_reader_new(srv->cfg->proto_max_bulk_len);
    buf_init(&c->out);
    c->authenticated = acl_default_user_open(srv->fsm.acl, srv->cfg->requirepass);
    c->user = xstrdup("default");
    c->ctime_ms = c->last_ms = util_now_ms();
    pubsub_sub_init(&c->sub, c);
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        sockaddr_text(&ss, c->addr, sizeof(c->addr));
        c->local = ss.ss_family == AF_INET && protect_addr_is_local((const struct sockaddr_in *)&ss);
    }
    sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        sockaddr_text(&ss, c->laddr, sizeof(c->laddr));
    list_push_front(&srv->clients, &c->node);
    return c;
}

struct client *client_new(struct server *srv, int fd)
{
    struct client *c = client_alloc(srv, fd);
    c->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST, client_on_read, c);
    c->wev = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, client_on_write, c);
    event_add(c->rev, NULL);
    return c;
}

struct client *client_new_tls(struct server *srv, int fd, struct ssl_ctx_st *ctx)
{
    char why[256];
    SSL *ssl = ctx ? SSL_new(ctx) : NULL;
    struct bufferevent *bev = ssl ? bufferevent_openssl_socket_new(srv->base, fd, ssl,
                                                                   BUFFEREVENT_SSL_ACCEPTING,
                                                                   BEV_OPT_CLOSE_ON_FREE)
                                  : NULL;
    if (bev == NULL) {
        log_warning("TLS: cannot start a session: %s", tls_error_text(why, sizeof(why)));
        if (ssl)
            SSL_free(ssl);
        close(fd);
        return NULL;
    }
    struct client *c = client_alloc(srv, fd);
    c->bev = bev;
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    bufferevent_setcb(bev, client_on_bev_read, client_on_bev_write, client_on_bev_event, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    return c;
}

/* Freed slots kept for reuse with their (small) reply buffers: a pipelined command would
 * otherwise cost a slot and a buffer allocation and free each. Single-threaded. */
#ifdef __SANITIZE_ADDRESS__
#define SLOT_POOL_KEEP 0 /* sanitizer builds: a use after free stays visible */
#else
#define SLOT_POOL_KEEP 4096
#endif
#define SLOT_POOL_BUF_MAX 512
static struct slot *slot_pool[SLOT_POOL_KEEP > 0 ? SLOT_POOL_KEEP : 1];
static int slot_pool_n;

static void slot_free(struct slot *s)
{
    if (s->slow_args) {
        slowlog_args_free(s->slow_args);
        s->slow_args = NULL;
    }
    if (slot_pool_n < SLOT_POOL_KEEP) {
        if (s->out.cap > SLOT_POOL_BUF_MAX)
            buf_close(&s->out);
        s->out.len = 0;
        slot_pool[slot_pool_n++] = s;
        return;
    }
    buf_close(&s->out);
    free(s);
}

void client_slot_pool_clear(void)
{
    while (slot_pool_n > 0) {
        struct slot *s = slot_pool[--slot_pool_n];
        buf_close(&s->out);
        free(s);
    }
}

void client_free(struct client *c)
{
    struct server *srv = c->srv;

    struct list_node *n;
    while ((n = list_pop_front(&c->slots)) != NULL) {
        struct slot *s = list_entry(n, struct slot, node);
        if (s->ready)
            slot_free(s);
        else
            s->c = NULL; /* its producer frees it in slot_done */
    }
    if (c->blk)
        blocked_client_gone(c->blk); /* after the slots: its slot is an orphan now */
    c->blk = NULL;
    if (c->write_node.linked)
        list_remove(&srv->write_list, &c->write_node);
    client_monitor_stop(c);
    if (c->postpone_node.linked)
        list_remove(&srv->postponed, &c->postpone_node); /* killed while CLIENT PAUSE held it */
    list_remove(&srv->clients, &c->node);
    if (c->bev) {
        bufferevent_free(c->bev); /* closes the socket and frees the TLS session */
    } else {
        event_free(c->rev);
        event_free(c->wev);
        close(c->fd);
    }
    if (c->obuf_ev)
        event_free(c->obuf_ev);
    resp_reader_free(c->reader);
    request_free(c->held);
    probe_client_gone(c);
    proxy_client_gone(c);
    pubsub_sub_close(&srv->pubsub, &c->sub);
    multi_reset(&c->multi);
    multi_unwatch(&c->multi);
    buf_close(&c->out);
    buf_close(&c->discard);
    free(c->name);
    free(c->user);
    free(c->acting);
    free(c);
}

static struct slot *slot_append(struct client *c, int ready)
{
    struct slot *s;
    if (slot_pool_n > 0) {
        s = slot_pool[--slot_pool_n];
        struct buf out = s->out; /* empty, with its capacity */
        memset(s, 0, sizeof(*s));
        s->out = out;
    } else {
        s = xcalloc(1, sizeof(*s));
        buf_init(&s->out);
    }
    s->c = c;
    s->ready = ready;
    list_push_back(&c->slots, &s->node);
    return s;
}

/* The buffer itself: its protocol is set by client_reply_buf. */
static struct buf *reply_buf(struct client *c)
{
    if (c->discarding)
        return &c->discard; /* CLIENT REPLY OFF/SKIP */
    if (c->slots.head == NULL)
        return &c->out;
    if (list_entry(c->slots.tail, struct slot, node)->ready)
        return &list_entry(c->slots.tail, struct slot, node)->out;
    return &slot_append(c, 1)->out;
}

struct buf *client_reply_buf(struct client *c)
{
    struct buf *b = reply_buf(c);
    b->resp = c->resp; /* the protocol as of the command replying now */
    return b;
}

struct slot *client_defer(struct client *c)
{
    return client_defer_db(c, c->db);
}

struct slot *client_defer_db(struct client *c, int db)
{
    c->pending++;
    struct slot *s = slot_append(c, 0);
    s->cost = c->defer_cost;
    s->discard = c->discarding;
    s->out.resp = c->resp; /* the reply comes later, in the protocol of the command's time */
    s->db = db;
    return s;
}

int slot_db(const struct slot *s)
{
    return s->db;
}

int client_db(const struct client *c)
{
    return c->db;
}

void client_set_db(struct client *c, int db)
{
    c->db = db;
}

int client_cluster_aware(const struct client *c)
{
    return c->cluster_aware;
}

int client_resp(const struct client *c)
{
    return c->resp;
}

void client_set_resp(struct client *c, int resp)
{
    c->resp = resp;
}

/* Move the replies at the head of C's queue that are ready into its output. */
static void client_drain_slots(struct client *c)
{
    struct slot *s;
    while ((s = list_entry(c->slots.head, struct slot, node)) != NULL && s->ready) {
        if (c->out.len == c->out_pos) {
            /* Steal the slot's buffer instead of copying it. */
            buf_close(&c->out);
            c->out = s->out;
            c->out_pos = 0;
            buf_init(&s->out);
        } else {
            buf_append(&c->out, s->out.data, s->out.len);
        }
        list_remove(&c->slots, &s->node);
        slot_free(s);
    }
}

/* ---- output limits: back-pressure and client-output-buffer-limit ---- */

/* Bytes of output C has not written yet: its buffer, and for TLS what the bufferevent holds. */
static size_t client_unwritten(const struct client *c)
{
    size_t n = c->out.len - c->out_pos;
    if (c->bev)
        n += evbuffer_get_length(bufferevent_get_output(c->bev));
    return n;
}

/* Bytes of replies C holds: unwritten output, every queued slot's buffer, and the requests of
 * the slots still waiting on the cluster. O(queued slots). */
static size_t client_output_usage(const struct client *c)
{
    size_t n = client_unwritten(c);
    for (const struct list_node *p = c->slots.head; p; p = p->next) {
        const struct slot *s = list_entry(p, const struct slot, node);
        n += s->out.len + (s->ready ? 0 : s->cost);
    }
    return n;
}

/* A deferred reply of N bytes was produced: follow the size of C's deferred replies. */
static void client_note_reply(struct client *c, size_t n)
{
    size_t decayed = c->reply_est - c->reply_est / 8;
    c->reply_est = n > decayed ? n : decayed;
    if (c->reply_est == 0)
        c->reply_est = 1;
}

/* How many deferred replies C may have in flight: a reply's size is known only once it is
 * produced, so the window starts small, then holds about CLIENT_OUT_SOFT_LIMIT bytes of
 * replies the size of C's recent ones. */
static int client_pending_window(const struct client *c)
{
    if (c->reply_est == 0)
        return CLIENT_PENDING_START;
    size_t w = CLIENT_OUT_SOFT_LIMIT / c->reply_est;
    if (w < CLIENT_PENDING_START)
        return CLIENT_PENDING_START;
    return w > CLIENT_PENDING_LIMIT ? CLIENT_PENDING_LIMIT : (int)w;
}

/* C's client-output-buffer-limit class, as Redis's getClientType: "pubsub" while it has
 * subscriptions, else "normal". */
static const struct obuf_limit *client_obuf_class(const struct client *c)
{
    int cls = pubsub_sub_total(&c->sub) > 0 ? OBUF_PUBSUB : OBUF_NORMAL;
    return &c->srv->cfg->obuf_limits[cls];
}

static int client_obuf_limited(const struct client *c)
{
    const struct obuf_limit *l = client_obuf_class(c);
    return l->hard > 0 || l->soft > 0;
}

static void client_on_obuf_timer(evutil_socket_t fd, short what, void *arg)
{
    client_check_obuf_limits(arg);
}

/* Check the client-output-buffer-limit of C's class (client_obuf_class) as Redis does: past
 * the hard limit, or past the soft one continuously for more than its seconds, C is logged
 * and closed, its replies freed. Returns 1 if C was freed. */
static int client_check_obuf_limits(struct client *c)
{
    const struct obuf_limit *l = client_obuf_class(c);
    if (!client_obuf_limited(c)) {
        c->obuf_soft_since_ms = 0;
        return 0;
    }
    size_t used = client_output_usage(c);
    int hard = l->hard > 0 && used >= (unsigned long long)l->hard;
    int soft = l->soft > 0 && used >= (unsigned long long)l->soft;
    int64_t now = util_now_ms();
    if (!soft) {
        c->obuf_soft_since_ms = 0;
    } else {
        if (c->obuf_soft_since_ms == 0)
            c->obuf_soft_since_ms = now; /* the first time: start counting */
        int64_t left = l->soft_seconds * 1000 - (now - c->obuf_soft_since_ms);
        if (left >= 0) {
            soft = 0;
            /* A paused client produces no more output: recheck once the time is up. */
            if (c->obuf_ev == NULL)
                c->obuf_ev = evtimer_new(c->srv->base, client_on_obuf_timer, c);
            struct timeval tv = {(time_t)((left + 10) / 1000), (suseconds_t)((left + 10) % 1000) * 1000};
            evtimer_add(c->obuf_ev, &tv);
        }
    }
    if (!hard && !soft)
        return 0;
    log_warning("Client id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld omem=%zu "
                "cmd=%s scheduled to be closed ASAP for overcoming of output buffer limits.",
                (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
                (long long)(now - c->ctime_ms) / 1000, (long long)(now - c->last_ms) / 1000,
                used, c->last_cmd ? c->last_cmd : "NULL");
    client_free(c);
    return 1;
}

/* Redis's securityWarningCommand: "POST" or "Host:" as a command means an HTTP request was
 * sent to the RESP port (cross-protocol scripting). Logged at most once a minute, as Redis
 * does; the caller closes the connection. */
static int client_is_http(const struct request *req)
{
    static int64_t logged_ms;
    char first = req->len[0] > 0 ? (char)(req->argv[0][0] | 0x20) : 0;
    if ((first != 'p' || !request_arg_is(req, 0, "post")) &&
        (first != 'h' || !request_arg_is(req, 0, "host:")))
        return 0;
    int64_t now = util_now_ms();
    if (logged_ms == 0 || now - logged_ms > 60000) {
        log_warning("Possible SECURITY ATTACK detected. It looks like somebody is sending POST or "
                    "Host: commands to Redis. This is likely due to an attacker attempting to use "
                    "Cross Protocol Scripting in order to compromise your Redis instance. "
                    "Connection aborted.");
        logged_ms = now;
    }
    return 1;
}

static size_t request_bytes(const struct request *req)
{
    size_t n = sizeof(*req);
    for (int i = 0; i < req->argc; i++)
        n += req->len[i] + 1 + sizeof(char *) + sizeof(size_t);
    return n;
}

void slot_done(struct slot *s)
{
    struct client *c = s->c;
    s->ready = 1;
    if (c == NULL) {
        slot_free(s);
        return;
    }
    c->pending--;
    if (s->discard)
        s->out.len = 0;
    client_note_reply(c, s->out.len);
    if (c->slots.head == &s->node) {
        client_drain_slots(c);
        server_want_write(c->srv, c);
    } else if (client_obuf_limited(c)) {
        server_want_write(c->srv, c); /* client_flush checks the limits */
    }
}

void client_deliver(void *arg, void *owner, const char *msg, size_t len)
{
    struct client *c = owner;
    if (c->reply_off)
        return; /* CLIENT REPLY OFF drops messages too */
    struct buf *out = client_reply_buf(c);
    if (c->resp == RESP3 && len > 0 && msg[0] == '*') {
        /* a message (RESP2 array) is a push to a RESP3 client */
        buf_append(out, ">", 1);
        buf_append(out, msg + 1, len - 1);
    } else {
        buf_append(out, msg, len);
    }
    server_want_write(c->srv, c);
}

struct pubsub_sub *client_pubsub(struct client *c)
{
    return &c->sub;
}

struct buf *slot_buf(struct slot *s)
{
    return &s->out;
}

void slot_error(struct slot *s, const char *msg)
{
    reply_error(&s->out, msg);
    slot_done(s);
}

/* Back-pressure: stop reading C. FULL also counts queued slots (O(slots)); without it only
 * the cheap measures are looked at. */
static int client_over_limits_full(const struct client *c, int full)
{
    if (client_unwritten(c) > CLIENT_OUT_SOFT_LIMIT || c->pending >= client_pending_window(c))
        return 1;
    return full && client_output_usage(c) > CLIENT_OUT_SOFT_LIMIT;
}

static int client_over_limits(const struct client *c)
{
    return client_over_limits_full(c, 1);
}

static void client_pause(struct client *c)
{
    if (!c->paused) {
        c->paused = 1;
        if (c->bev)
            bufferevent_disable(c->bev, EV_READ);
        else
            event_del(c->rev);
    }
}

void client_resume(struct client *c)
{
    if (!c->paused || client_over_limits(c))
        return;
    c->paused = 0;
    if (c->bev)
        bufferevent_enable(c->bev, EV_READ);
    else
        event_add(c->rev, NULL);
}

static void client_dispatch(struct client *c, struct request *req, struct command *cmd);

/* Dispatch with CLIENT REPLY's modes: OFF drops every reply, SKIP the next command's (the
 * CLIENT REPLY OFF/SKIP commands themselves answer nothing). */
static void client_dispatch_replying(struct client *c, struct request *req, struct command *cmd)
{
    c->discarding = c->reply_off || c->reply_skip;
    c->reply_skip = 0;
    client_dispatch(c, req, cmd);
    if (c->reply_skip_next) {
        c->reply_skip = 1;
        c->reply_skip_next = 0;
    }
    c->discarding = 0;
    c->discard.len = 0;
}

static int client_memory_holds(struct client *c, const struct command *cmd);

/* Parse and dispatch every complete request in C's input. Returns -1 if C was freed. */
static int client_process_input(struct client *c)
{
    char err[256];
    unsigned nreq = 0;
    int64_t now_ms = util_now_ms(); /* the last-command time of everything read now */
    /* CONFIG SET proto-max-bulk-len reaches open connections at their next bulk header. */
    resp_reader_set_max_bulk(c->reader, c->srv->cfg->proto_max_bulk_len);
    while (!c->close_after_reply && c->blk == NULL) {
        if (client_over_limits_full(c, (nreq++ & 15) == 0)) {
            client_pause(c);
            break;
        }
        struct request *req = c->held;
        int rc = RESP_OK;
        c->held = NULL;
        if (req == NULL)
            rc = resp_reader_next(c->reader, &req, err, sizeof(err));
        if (rc == RESP_INCOMPLETE)
            break;
        if (rc != RESP_OK) {
            reply_errorf(client_reply_buf(c), "ERR %s", err);
            log_verbose("client %s: %s; closing", c->addr, err);
            c->close_after_reply = 1;
            break;
        }
        if (client_is_http(req)) {
            request_free(req);
            client_free(c);
            return -1;
        }
        struct command *cmd = command_lookup(req->argv[0], req->len[0]);
        if (c->pending > 0 && cmd != NULL && ((cmd->flags & CMD_ORDERED) || proxy_must_wait(c, cmd))) {
            /* WATCH, DEBUG: they read local state, so they run once this client's earlier
             * writes are applied (client_flush resumes). */
            c->held = req;
            break;
        }
        if (server_pause_holds(c->srv, cmd, c, req, client_memory_holds(c, cmd))) {
            c->held = req; /* CLIENT PAUSE or memory: resumed by client_resume_input */
            if (c->mem_hold_ms > 0)
                client_pause(c); /* its next writes wait in the socket, not in our memory */
            break;
        }
        c->last_ms = now_ms;
        c->defer_cost = request_bytes(req);
        client_dispatch_replying(c, req, cmd);
        c->defer_cost = 0;
        c->oom_forced = 0;
    }
    if (client_check_obuf_limits(c))
        return -1;
    if (!c->close_after_reply &&
        (long long)resp_reader_pending(c->reader) > c->srv->cfg->client_query_buffer_limit) {
        log_warning("client %s: query buffer over client-query-buffer-limit; closing", c->addr);
        client_free(c);
        return -1;
    }
    if (c->paused)
        return 0;
    return 0;
}

void client_resume_input(struct client *c)
{
    if (client_process_input(c) != 0)
        return;
    client_flush(c);
}

static void client_on_read(evutil_socket_t fd, short what, void *arg)
{
    static char chunk[CLIENT_READ_CHUNK];
    struct client *c = arg;

    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        client_free(c);
        return;
    }
    if (n < 0)
        return;
    c->srv->stats.net_input_bytes += n;
    resp_reader_feed(c->reader, chunk, (size_t)n);
    if (client_process_input(c) != 0)
        return;
    client_flush(c);
}

static void client_on_write(evutil_socket_t fd, short what, void *arg)
{
    client_flush(arg);
}

/* ---- TLS clients: the same steps through an OpenSSL bufferevent ---- */

static void client_on_bev_read(struct bufferevent *bev, void *arg)
{
    static char chunk[CLIENT_READ_CHUNK];
    struct client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    int n;

    while ((n = evbuffer_remove(in, chunk, sizeof(chunk))) > 0) {
        c->srv->stats.net_input_bytes += n;
        resp_reader_feed(c->reader, chunk, (size_t)n);
    }
    if (client_process_input(c) != 0)
        return;
    client_flush(c);
}

/* The bufferevent wrote everything it held. */
static void client_on_bev_write(struct bufferevent *bev, void *arg)
{
    client_flush(arg);
}

static void client_on_bev_event(struct bufferevent *bev, short what, void *arg)
{
    struct client *c = arg;
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
        return;
    unsigned long e = bufferevent_get_openssl_error(bev);
    if (e != 0) {
        char why[256];
        ERR_error_string_n(e, why, sizeof(why));
        log_verbose("client %s: TLS: %s; closing", c->addr, why);
    }
    client_free(c);
}

/* Hand C's output to its bufferevent. Returns -1 if C was freed. */
static int client_flush_tls(struct client *c)
{
    size_t n = c->out.len - c->out_pos;
    if (n > 0) {
        evbuffer_add(bufferevent_get_output(c->bev), c->out.data + c->out_pos, n);
        c->srv->stats.net_output_bytes += (long long)n;
        c->out_pos = c->out.len;
    }
    if (client_unwritten(c) > CLIENT_OUT_HARD_LIMIT) {
        log_warning("client %s: output over %u bytes; closing", c->addr, CLIENT_OUT_HARD_LIMIT);
        client_free(c);
        return -1;
    }
    return 0;
}

void client_flush(struct client *c)
{
    if (client_check_obuf_limits(c))
        return;
    if (c->bev && client_flush_tls(c) != 0)
        return;
    while (c->out_pos < c->out.len) {
        ssize_t n = write(c->fd, c->out.data + c->out_pos, c->out.len - c->out_pos);
        if (n > 0) {
            c->out_pos += (size_t)n;
            c->srv->stats.net_output_bytes += n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (c->out.len - c->out_pos > CLIENT_OUT_HARD_LIMIT) {
                log_warning("client %s: output over %u bytes; closing", c->addr, CLIENT_OUT_HARD_LIMIT);
                client_free(c);
                return;
            }
            event_add(c->wev, NULL);
            return;
        }
        client_free(c); /* the peer is gone */
        return;
    }
    /* Everything written (TLS: handed to the bufferevent). */
    if (!c->bev)
        event_del(c->wev);
    if (c->out.cap > 64 * 1024) {
        buf_close(&c->out);
    }
    c->out.len = 0;
    c->out_pos = 0;
    if (c->close_after_reply && c->pending == 0 && c->slots.head == NULL && client_unwritten(c) == 0) {
        client_free(c);
        return;
    }
    if ((c->held && c->pending == 0) || (c->blk_resume && c->blk == NULL)) {
        c->blk_resume = 0;
        if (client_process_input(c) != 0)
            return;
        if (c->out.len > 0)
            server_want_write(c->srv, c);
    }
    if (c->paused && !client_over_limits(c)) {
        client_resume(c);
        if (client_process_input(c) != 0)
            return;
        if (c->out.len > 0)
            server_want_write(c->srv, c);
    }
}

/* ---- what handlers may ask of a connection (exec.h) ---- */

uint64_t client_id(const struct client *c)
{
    return c->id;
}

int client_authenticated(const struct client *c)
{
    return c->authenticated;
}

int client_passed_auth(const struct client *c)
{
    return c->passed_auth;
}

void client_set_user(struct client *c, const char *user, size_t len)
{
    c->authenticated = 1;
    c->passed_auth = 1;
    free(c->user);
    c->user = user ? xmemdup(user, len) : NULL;
    c->user_cache = NULL;
}

void client_reset_auth(struct client *c)
{
    free(c->user);
    c->user = xstrdup("default");
    c->user_cache = NULL;
    c->passed_auth = 0;
    c->authenticated = acl_default_user_open(c->srv->fsm.acl, c->srv->cfg->requirepass);
}

const char *client_user(const struct client *c)
{
    return c->user ? c->user : c->acting;
}

int client_act_as(struct client *c, const char *user, size_t len)
{
    if (c == NULL || c->user != NULL || !c->authenticated)
        return -1;
    free(c->acting);
    c->acting = xmemdup(user, len);
    return 0;
}

const char *client_name(const struct client *c)
{
    return c->name;
}

void client_set_name(struct client *c, const char *name, size_t len)
{
    free(c->name);
    c->name = name ? xmemdup(name, len) : NULL;
}

void client_set_readonly(struct client *c, int on)
{
    c->readonly = on;
}

int client_readonly(const struct client *c)
{
    return c->readonly;
}

void client_set_cluster_aware(struct client *c)
{
    if (c != NULL)
        c->cluster_aware = 1;
}

void client_close_after_reply(struct client *c)
{
    c->close_after_reply = 1;
}

struct multi_state *client_multi(struct client *c)
{
    return &c->multi;
}

void client_set_no_evict(struct client *c, int on)
{
    c->no_evict = on;
}

/* CLIENT LIST's flags, in Redis 7.0's order (P x b c e, N for none); b also while CLIENT
 * PAUSE holds the client, as Redis blocks it. */
static const char *client_flags(const struct client *c, char *f)
{
    char *p = f;
    if (c->monitor)
        *p++ = 'O';
    if (pubsub_sub_total(&c->sub))
        *p++ = 'P';
    if (c->multi.in_multi)
        *p++ = 'x';
    if (c->blk || c->postpone_node.linked)
        *p++ = 'b';
    if (c->close_after_reply)
        *p++ = 'c';
    if (c->readonly)
        *p++ = 'r';
    if (c->no_evict)
        *p++ = 'e';
    if (p == f)
        *p++ = 'N';
    *p = '\0';
    return f;
}

static void client_info_line(struct buf *b, const struct client *c, int64_t now)
{
    char flags[16];
    buf_printf(b,
               "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=%zu "
               "psub=%zu ssub=%zu multi=%d qbuf=%zu qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 "
               "obl=0 oll=0 omem=%zu tot-mem=0 events=r cmd=%s user=%s redir=-1 resp=%d\n",
               (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
               (long long)(now - c->ctime_ms) / 1000, (long long)(now - c->last_ms) / 1000,
               client_flags(c, flags), c->db,
               c->sub.channels ? dict_size(c->sub.channels) : 0,
               c->sub.patterns ? dict_size(c->sub.patterns) : 0,
               c->sub.shard ? dict_size(c->sub.shard) : 0, c->multi.in_multi ? c->multi.nqueued : -1,
               resp_reader_pending(c->reader), c->out.len - c->out_pos,
               c->last_cmd ? c->last_cmd : "NULL", c->user ? c->user : ACL_PEER_USER,
               c->resp == RESP3 ? 3 : 2);
}

void client_info(const struct client *c, struct buf *out)
{
    client_info_line(out, c, util_now_ms());
}

void client_info_at(const struct client *c, struct buf *out, int64_t now_ms)
{
    client_info_line(out, c, now_ms);
}

/* ---- introspection: MONITOR, SLOWLOG, LATENCY ---- */

int client_monitor_start(struct client *c)
{
    if (c->monitor)
        return 1;
    c->monitor = 1;
    list_push_back(&c->srv->monitors, &c->monitor_node);
    c->srv->fsm.monitor_scripts = 1;
    return 0;
}

void client_monitor_stop(struct client *c)
{
    if (!c->monitor)
        return;
    c->monitor = 0;
    list_remove(&c->srv->monitors, &c->monitor_node);
    c->srv->fsm.monitor_scripts = c->srv->monitors.n > 0;
}

/* Append the LEN bytes of complete MONITOR lines at LINES to every monitor of SRV. */
static void client_monitor_feed_raw(struct server *srv, const char *lines, size_t len)
{
    for (struct list_node *n = srv->monitors.head; n; n = n->next) {
        struct client *m = list_entry(n, struct client, monitor_node);
        buf_append(client_reply_buf(m), lines, len);
        server_want_write(srv, m);
    }
}

void client_monitor_feed_trace(struct server *srv, const char *lines, size_t len)
{
    if (len == 0 || srv->monitors.n == 0)
        return;
    struct buf b;
    buf_init(&b);
    monitor_stamp(&b, util_now_us(), lines, len);
    client_monitor_feed_raw(srv, b.data, b.len);
    buf_close(&b);
}

void client_feed_monitors(struct server *srv, int db, const char *who, const struct command *cmd,
                          const struct request *req)
{
    if (srv->monitors.n == 0 || (cmd != NULL && !monitor_shows(cmd, req)))
        return;
    struct buf line;
    buf_init(&line);
    monitor_format(&line, util_now_us(), db, who, req, cmd ? monitor_redact_mask(cmd, req) : 0);
    client_monitor_feed_raw(srv, line.data, line.len);
    buf_close(&line);
}

/* MONITOR lines for the commands C queued in MULTI, which its EXEC is about to run. */
static void client_feed_queued(struct client *c)
{
    if (!c->multi.in_multi || c->multi.multi_error)
        return;
    for (int i = 0; i < c->multi.nqueued; i++) {
        struct request *q = c->multi.queued[i];
        struct command *qc = command_lookup(q->argv[0], q->len[0]);
        if (qc != NULL)
            client_feed_monitors(c->srv, c->db, c->addr, qc, q);
    }
}

/* Log in SLOWLOG (ARGS, taken; NULL: made from REQ when it is logged) and LATENCY that CMD
 * ran USEC microseconds for C. */
static void client_note_slow(struct client *c, const struct command *cmd, struct slowlog_args *args,
                             const struct request *req, int64_t usec)
{
    const struct config *cfg = c->srv->cfg;
    if (slowlog_wants(cfg->slowlog_log_slower_than, usec) && cmd->proc != cmd_exec &&
        (args != NULL || req != NULL)) {
        if (args == NULL)
            args = slowlog_args_new(req->argc, req->argv, req->len, monitor_redact_mask(cmd, req));
        slowlog_push(&c->srv->slowlog, args, usec, util_now_ms() / 1000, c->addr, c->name,
                     cfg->slowlog_max_len);
        args = NULL;
    }
    slowlog_args_free(args);
    if (latency_wants(cfg->latency_monitor_threshold, usec))
        latency_add_sample(&c->srv->latency, (cmd->flags & CMD_FAST) ? "fast-command" : "command",
                           (uint32_t)(usec / 1000), util_now_ms() / 1000);
}

void client_note_exec(struct client *c, const struct command *cmd, const struct request *req,
                      int64_t usec)
{
    client_note_slow(c, cmd, NULL, req, usec);
}

void client_note_executed(struct slot *s, int64_t usec)
{
    struct slowlog_args *args = s->slow_args;
    s->slow_args = NULL;
    if (s->c == NULL || s->cmd == NULL) {
        slowlog_args_free(args);
        return;
    }
    client_note_slow(s->c, s->cmd, args, NULL, usec);
}

/* ---- dispatch ---- */

static void reply_unknown_command(struct buf *out, const struct request *req)
{
    struct buf args;
    buf_init(&args);
    for (int i = 1; i < req->argc && args.len < 128; i++)
        buf_printf(&args, "'%.*s' ", (int)(128 - args.len), req->argv[i]);
    reply_errorf(out, "ERR unknown command '%.128s', with args beginning with: %.*s", req->argv[0],
                 (int)args.len, args.data ? args.data : "");
    buf_close(&args);
}

static void client_queue(struct client *c, struct request *req)
{
    multi_queue(&c->multi, req);
    reply_simple(client_reply_buf(c), "QUEUED");
}

/* Reject REQ before execution: the reply goes out in order, a MULTI block is spoiled. */
static void dispatch_reject(struct client *c, struct command *cmd)
{
    if (c->multi.in_multi)
        c->multi.multi_error = 1;
    if (cmd)
        cmd->failed_calls++;
}

int client_redirect(struct client *c, int slot)
{
    if (consensus_accepts(c->srv->cs))
        return 0;
    server_reply_redirect(c->srv, slot, client_reply_buf(c));
    return 1;
}

void server_reply_redirect(struct server *srv, int slot, struct buf *out)
{
    const char *addr, *last_addr;
    uint64_t leader = consensus_leader(srv->cs, &addr);
    uint64_t last = consensus_last_leader(srv->cs, &last_addr);
    if (cluster_removed(srv) && last != 0 && last != (uint64_t)srv->cfg->id)
        reply_errorf(out, "MOVED %d %s", slot, last_addr); /* a removed node points to the cluster */
    else if (cluster_removed(srv))
        reply_error(out, "ERR this node has been removed from the cluster; it no longer serves data");
    else if (srv->shutting_down)
        reply_error(out, "TRYAGAIN server is shutting down");
    else if (leader != 0 && addr != NULL)
        reply_errorf(out, "MOVED %d %s", slot, addr);
    else if (leader != 0)
        reply_errorf(out, "CLUSTERDOWN The cluster is down: the address of leader %llu is not known yet",
                     (unsigned long long)leader);
    else
        reply_error(out, "CLUSTERDOWN The cluster is down: no leader is known");
}

/* Check REQ against the ACL rules of C's user: 0 when it may run, else 1 after replying
 * Redis's -NOPERM text and logging the denial in ACL LOG. A connection whose user was
 * deleted meanwhile must AUTH again (Redis disconnects it). */
static int client_acl_denied(struct client *c, struct command *cmd, struct request *req)
{
    struct acl_store *a = c->srv->fsm.acl;
    char msg[160];
    int pos;
    if (c->user == NULL)
        return 0;
    if (c->user_cache == NULL || c->user_gen != a->gen) {
        c->user_cache = acl_user_find(a, c->user, strlen(c->user));
        c->user_gen = a->gen;
    }
    if (c->user_cache == NULL) {
        c->authenticated = 0;
        reply_error(client_reply_buf(c), "NOAUTH Authentication required.");
        return 1;
    }
    int rc = acl_check(c->user_cache, cmd, req, &pos);
    if (rc == ACL_OK)
        return 0;
    struct buf info;
    int64_t now = util_now_ms();
    buf_init(&info);
    client_info_line(&info, c, now);
    info.data[--info.len] = '\0'; /* the line's newline */
    acl_log_add(a, rc, c->multi.in_multi, rc == ACL_DENIED_CMD ? cmd->name : req->argv[pos], c->user,
                info.data, now);
    buf_close(&info);
    acl_noperm_message(rc, cmd, msg, sizeof(msg));
    reply_error(client_reply_buf(c), msg);
    return 1;
}

#define OOM_ERROR "OOM command not allowed when used memory > 'maxmemory'."

/* Whether the EXEC that C sends would run a command flagged denyoom. */
static int multi_denyoom(const struct client *c)
{
    for (int i = 0; i < c->multi.nqueued; i++) {
        const struct request *q = c->multi.queued[i];
        const struct command *qc = command_lookup(q->argv[0], q->len[0]);
        if (qc != NULL && (qc->flags & CMD_DENYOOM))
            return 1;
    }
    return 0;
}

/* Back-pressure (server_evict_holds): whether CMD, a denyoom write or an EXEC of one, must
 * wait for the leader's eviction instead of running now. A write held request-timeout is
 * let through with oom_forced set: client_oom_refused answers it -OOM. */
static int client_memory_holds(struct client *c, const struct command *cmd)
{
    struct server *srv = c->srv;
    int exec = c->multi.in_multi && cmd != NULL && cmd->proc == cmd_exec && !c->multi.multi_error;
    if (cmd == NULL || !c->authenticated || srv->cfg->maxmemory <= 0 ||
        !(exec ? multi_denyoom(c) : (cmd->flags & CMD_DENYOOM) && !c->multi.in_multi))
        return 0;
    int64_t now = util_now_ms();
    if (c->mem_hold_ms > 0 && now - c->mem_hold_ms >= srv->cfg->request_timeout) {
        c->mem_hold_ms = 0;
        c->oom_forced = 1;
        return 0;
    }
    if (!server_evict_holds(srv)) {
        c->mem_hold_ms = 0;
        return 0;
    }
    if (c->mem_hold_ms == 0) {
        c->mem_hold_ms = now;
        srv->stats.evict_held_writes++;
    }
    return 1;
}

/* maxmemory on the node taking writes, as Redis's processCommand checks it: past the limit
 * (and with nothing to evict, server_evict_admit) a command flagged denyoom is refused, so
 * is anything queued inside MULTI but EXEC/DISCARD/QUIT/RESET, and an EXEC whose queue holds
 * a denyoom command aborts the transaction; so is a write held for memory request-timeout
 * (oom_forced, client_memory_holds). Returns 1 after replying. A follower answers
 * writes with -MOVED instead, later in dispatch. */
static int client_oom_refused(struct client *c, struct command *cmd)
{
    struct server *srv = c->srv;
    int in_multi = c->multi.in_multi;
    int exec = in_multi && cmd->proc == cmd_exec && !c->multi.multi_error;

    if (cmd->proc == cmd_eval || cmd->proc == cmd_exec) /* their prepare carries it */
        script_oom_configured = srv->cfg->maxmemory > 0 && consensus_accepts(srv->cs) &&
                                server_evict_admit(srv) != 0;
    if (srv->cfg->maxmemory <= 0 || !consensus_accepts(srv->cs))
        return 0;
    if (!(cmd->flags & CMD_DENYOOM) && !(in_multi && !(cmd->flags & CMD_TX)) && !exec)
        return 0;
    if (exec && !multi_denyoom(c))
        return 0;
    if (!c->oom_forced && server_evict_admit(srv) == 0)
        return 0;
    if (exec) {
        reply_error(client_reply_buf(c), "EXECABORT Transaction discarded because of: " OOM_ERROR);
        multi_reset(&c->multi);
        multi_unwatch(&c->multi);
    } else {
        reply_error(client_reply_buf(c), OOM_ERROR);
    }
    return 1;
}

/* The hash slot named in a MOVED reply for REQ: its first key's, or 0. */
static int request_slot(const struct command *cmd, const struct request *req)
{
    int k = command_first_key(cmd, req);
    return k < 0 ? 0 : (int)util_keyslot(req->argv[k], req->len[k]);
}

/* Execute one request for C: lookup done (CMD: command_lookup's answer, NULL for none), then
 * arity, auth, MULTI queueing, then a local command now, a read through the consensus read
 * path, or a write proposed. Takes REQ. */
static void client_dispatch(struct client *c, struct request *req, struct command *cmd)
{
    struct server *srv = c->srv;

    srv->stats.commands_processed++;
    if (cmd == NULL || (cmd->flags & CMD_INTERNAL) || (c->sentinel_only && !cmd_sentinel_allowed(cmd))) {
        reply_unknown_command(client_reply_buf(c), req);
        dispatch_reject(c, NULL);
        goto done;
    }
    c->last_cmd = cmd->name;
    cmd->calls++;
    if (command_check_arity(cmd, req, client_reply_buf(c)) != 0) {
        dispatch_reject(c, cmd);
        goto done;
    }
    if (!c->authenticated && !(cmd->flags & CMD_NOAUTH)) {
        reply_error(client_reply_buf(c), "NOAUTH Authentication required.");
        dispatch_reject(c, cmd);
        goto done;
    }
    if (protect_command_refused(srv->cfg, cmd, req, c->local, client_reply_buf(c))) {
        dispatch_reject(c, cmd);
        goto done;
    }
    if (!(cmd->flags & CMD_NOAUTH) && client_acl_denied(c, cmd, req)) {
        dispatch_reject(c, cmd);
        goto done;
    }
    if (pubsub_sub_total(&c->sub) > 0 && c->resp != RESP3 && !cmd_pubsub_allowed_subscribed(cmd)) {
        reply_errorf(client_reply_buf(c),
                     "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                     "QUIT / RESET are allowed in this context", cmd->name);
        dispatch_reject(c, cmd);
        goto done;
    }
    if (c->monitor && (cmd->flags & (CMD_WRITE | CMD_READONLY))) {
        reply_error(client_reply_buf(c), "ERR Replica can't interact with the keyspace");
        dispatch_reject(c, cmd);
        goto done;
    }
    if (client_oom_refused(c, cmd)) {
        dispatch_reject(c, cmd);
        goto done;
    }
    if (proxy_dispatch(c, cmd, req))
        return; /* forwarded to the leader (follower-mode) */
    int consistent = ((cmd->flags & CMD_READONLY) && srv->cfg->read_consistency != READ_STALE) ||
                     cmd_cluster_is_followerindex(cmd, req);
    if (c->multi.in_multi && !(cmd->flags & CMD_TX)) {
        if (!command_allowed_in_multi(cmd, req)) {
            reply_error(client_reply_buf(c), "ERR Command not allowed inside a transaction");
            dispatch_reject(c, cmd);
            goto done;
        }
        if (((cmd->flags & CMD_WRITE) || consistent) && !consensus_accepts(srv->cs)) {
            /* Redis Cluster: MOVED at the first keyed command, then EXEC answers EXECABORT */
            server_reply_redirect(srv, request_slot(cmd, req), client_reply_buf(c));
            dispatch_reject(c, cmd);
            goto done;
        }
        client_queue(c, req);
        return;
    }
    if ((cmd->flags & (CMD_WRITE | CMD_READONLY)) && cluster_removed(srv)) {
        server_reply_redirect(srv, request_slot(cmd, req), client_reply_buf(c));
        goto done;
    }
    /* READONLY on a follower that knows a leader: served here (follower_read.h). */
    int follower_read = consistent && c->readonly && (cmd->flags & CMD_READONLY) &&
                        !consensus_accepts(srv->cs) && consensus_leader(srv->cs, NULL) != 0 &&
                        !srv->shutting_down;
    if (((cmd->flags & CMD_WRITE) || consistent) && !consensus_accepts(srv->cs) && !follower_read) {
        server_reply_redirect(srv, request_slot(cmd, req), client_reply_buf(c));
        goto done;
    }
    if ((cmd->flags & (CMD_WRITE | CMD_READONLY)) && srv->monitors.n > 0)
        client_feed_monitors(srv, c->db, c->addr, cmd, req); /* as sent: before prepare rewrites it */
    if (follower_read) {
        follower_read_submit(srv->fr, client_defer(c), cmd, req);
        return;
    }
    if ((cmd->flags & CMD_WRITE) && !(cmd->flags & CMD_BLOCKING) && probe_start(c, cmd, req))
        return;
    if (cmd->flags & CMD_WRITE) {
        struct slowlog_args *args = NULL;
        if (srv->cfg->slowlog_log_slower_than >= 0)
            args = slowlog_args_new(req->argc, req->argv, req->len, monitor_redact_mask(cmd, req));
        int64_t start_us = cmd->prepare ? util_mono_us() : 0;
        if (cmd->prepare && cmd->prepare(req, util_now_ms(), client_reply_buf(c)) != 0) {
            /* refused by its own checks: Redis would have run it, so it is logged */
            client_note_slow(c, cmd, args, NULL, util_mono_us() - start_us);
            cmd->failed_calls++;
            goto done;
        }
        script_note_caller(cmd, req, client_user(c)); /* a peer: the user it forwards for */
        if (cmd->flags & CMD_BLOCKING) {
            slowlog_args_free(args);
            blocked_start(c, cmd, req);
            return;
        }
        struct slot *s = client_defer(c);
        s->cmd = cmd;
        s->slow_args = args;
        consensus_write_db(srv->cs, s, c->db, req);
        return;
    }
    if (consistent) {
        consensus_read(srv->cs, client_defer(c), cmd, req);
        return;
    }
    if (cmd->proc == cmd_exec && srv->monitors.n > 0)
        client_feed_queued(c); /* Redis shows them as EXEC runs them, before EXEC itself */
    struct exec_ctx ctx;
    server_local_ctx(&ctx, srv, c, client_reply_buf(c), c->last_ms);
    struct buf trace;
    buf_init(&trace);
    ctx.monitor_trace = srv->monitors.n > 0 ? &trace : NULL; /* a stale EVAL_RO's calls */
    int64_t usec = command_exec(cmd, &ctx, req);
    client_monitor_feed_trace(srv, trace.data, trace.len);
    buf_close(&trace);
    if (srv->monitors.n > 0 && !(cmd->flags & CMD_READONLY)) /* a stale read was shown */
        client_feed_monitors(srv, c->db, c->addr, cmd, req); /* after it ran, as Redis: MONITOR's own */
    client_note_exec(c, cmd, req, usec);
done:
    request_free(req);
}
