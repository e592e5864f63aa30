/* The raft transport (see transport.h): listen, accept and connect on libuv TCP; peerauth's
 * challenge-response and raft's handshake on every connection; accepted streams relayed to
 * raft through a socketpair after peerframe has checked each chunk.
 *
 * A connection is a struct transport_conn in one of three kinds: IN (accepted, being
 * authenticated), OUT (connecting, being authenticated; handed to raft as plain TCP once
 * the proof and raft's handshake are written), RELAY (accepted and authenticated: TCP in,
 * our end of the socketpair out). Handshake reads are exactly sized, so no byte of a later
 * stage is read early. */
#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "list.h"
#include "log.h"
#include "peerauth.h"
#include "peerframe.h"
#include "util.h"

#define RELAY_READ_SIZE 65536
#define RELAY_PAUSE_BYTES (8u << 20)  /* stop reading the peer above this queued to raft */
#define RELAY_RESUME_BYTES (1u << 20)
#define LOG_WINDOW_US 10000000LL
#define LOG_LINES_PER_WINDOW 20

enum conn_kind { CONN_IN, CONN_OUT, CONN_RELAY, CONN_DONE };
enum conn_stage { ST_HELLO, ST_PROOF, ST_RAFT_PREAMBLE, ST_RAFT_ADDRESS, ST_CHALLENGE };

struct transport_conn {
    struct list_node node; /* in the transport's conns */
    struct transport *t;
    int kind;
    int stage;
    int closing;
    int handles;                 /* our open handles; the conn is freed when 0 */
    struct uv_tcp_s *tcp;        /* malloc'ed: raft frees it once it owns it */
    uv_timer_t timer;            /* the authentication deadline */
    uv_pipe_t pipe;              /* RELAY: our end of the socketpair */
    int pipe_open;
    char peer[64];               /* the peer's ip:port, for log lines */
    uint64_t id_c, id_s;
    uint8_t nonce_c[PEERAUTH_NONCE], nonce_s[PEERAUTH_NONCE];
    uint8_t in[PEERAUTH_CHALLENGE_SIZE + PEERAUTH_MAX_ADDRESS];
    size_t in_got, in_need;
    size_t addr_len;
    /* OUT */
    struct uv_connect_s connect;
    struct raft_uv_connect *req;
    raft_uv_connect_cb cb;
    /* RELAY */
    struct peerframe pf;
    int paused;
};

/* A write and its bytes; relay reads are allocated as one of these so that the chunk is
 * written without a copy. */
struct wreq {
    uv_write_t req;
    struct transport_conn *c;
    char data[];
};

static void conn_close(struct transport_conn *c);

/* ---- log lines about peers: rate-limited, an attacker must not flood the log ---- */

static int log_allowed(struct transport *t)
{
    int64_t now = util_mono_us();
    if (now - t->log_window_us > LOG_WINDOW_US) {
        if (t->log_suppressed > 0)
            log_warning("raft transport: %d more peer failure lines suppressed", t->log_suppressed);
        t->log_window_us = now;
        t->log_lines = 0;
        t->log_suppressed = 0;
    }
    if (t->log_lines >= LOG_LINES_PER_WINDOW) {
        t->log_suppressed++;
        return 0;
    }
    t->log_lines++;
    return 1;
}

#define peer_warn(t, ...)                 \
    do {                                  \
        if (log_allowed(t))               \
            log_warning(__VA_ARGS__);     \
    } while (0)

/* ---- connections ---- */

static struct transport_conn *conn_new(struct transport *t, int kind)
{
    struct transport_conn *c = xcalloc(1, sizeof(*c));
    c->t = t;
    c->kind = kind;
    list_push_front(&t->conns, &c->node);
    c->tcp = xmalloc(sizeof(*c->tcp));
    uv_tcp_init(t->loop, c->tcp);
    c->tcp->data = c;
    uv_timer_init(t->loop, &c->timer);
    c->timer.data = c;
    c->handles = 2;
    if (kind == CONN_IN)
        t->pending++;
    return c;
}

static void maybe_closed(struct transport *t)
{
    if (t->closing && t->conns.n == 0 && t->listener == NULL && t->close_cb) {
        raft_uv_transport_close_cb cb = t->close_cb;
        t->close_cb = NULL;
        cb(&t->outer);
    }
}

static void conn_free(struct transport_conn *c)
{
    struct transport *t = c->t;
    list_remove(&t->conns, &c->node);
    peerframe_close(&c->pf);
    free(c);
    maybe_closed(t);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct transport_conn *c = h->data;
    if (h == (uv_handle_t *)c->tcp) {
        free(c->tcp);
        c->tcp = NULL;
    }
    if (--c->handles == 0)
        conn_free(c);
}

/* Close C and everything it owns; an OUT connection's raft callback fires now. */
static void conn_close(struct transport_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->kind == CONN_IN)
        c->t->pending--;
    if (c->kind == CONN_OUT && c->cb) {
        raft_uv_connect_cb cb = c->cb;
        c->cb = NULL;
        cb(c->req, NULL, c->t->closing ? RAFT_CANCELED : RAFT_NOCONNECTION);
    }
    if (c->tcp)
        uv_close((uv_handle_t *)c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    if (c->pipe_open)
        uv_close((uv_handle_t *)&c->pipe, on_handle_closed);
}

static void on_deadline(uv_timer_t *timer)
{
    struct transport_conn *c = timer->data;
    peer_warn(c->t, "raft peer %s: authentication not completed within %d ms; closed", c->peer,
              TRANSPORT_AUTH_DEADLINE_MS);
    conn_close(c);
}

/* The end of a connection kept open a moment so that its last write reaches the peer. */
static void on_linger(uv_timer_t *timer)
{
    conn_close(timer->data);
}

static void set_nodelay(struct uv_tcp_s *tcp)
{
    uv_tcp_nodelay(tcp, 1);
}

static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = req->data;
    struct transport_conn *c = w->c;
    free(w);
    if (status != 0) {
        if (status != UV_ECANCELED && !c->closing)
            peer_warn(c->t, "raft peer %s: write failed: %s", c->peer, uv_strerror(status));
        conn_close(c);
        return;
    }
}

/* Write LEN bytes of DATA (copied) to STREAM on behalf of C. */
static int conn_write(struct transport_conn *c, uv_stream_t *stream, const void *data, size_t len,
                      uv_write_cb cb)
{
    struct wreq *w = xmalloc(sizeof(*w) + len);
    w->c = c;
    w->req.data = w;
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    int rv = uv_write(&w->req, stream, &b, 1, cb);
    if (rv != 0)
        free(w);
    return rv;
}

/* ---- handshake reads: exactly the bytes of the current stage ---- */

static void expect(struct transport_conn *c, int stage, size_t need)
{
    c->stage = stage;
    c->in_got = 0;
    c->in_need = need;
}

static void on_auth_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct transport_conn *c = h->data;
    *buf = uv_buf_init((char *)c->in + c->in_got, (unsigned)(c->in_need - c->in_got));
}

static void stage_done(struct transport_conn *c);

static void on_auth_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct transport_conn *c = s->data;
    if (nread == 0 || c->closing)
        return;
    if (nread < 0) {
        if (c->kind == CONN_IN && c->stage == ST_PROOF)
            peer_warn(c->t, "raft peer %s (node %llu): closed before proving the cluster secret "
                      "(wrong cluster secret?)", c->peer, (unsigned long long)c->id_c);
        else if (c->kind == CONN_OUT)
            peer_warn(c->t, "raft peer node %llu at %s: closed during authentication "
                      "(does it have a cluster-secret?)", (unsigned long long)c->id_s, c->peer);
        else
            log_verbose("raft peer %s: closed during the handshake", c->peer);
        conn_close(c);
        return;
    }
    c->in_got += (size_t)nread;
    if (c->in_got == c->in_need)
        stage_done(c);
}

/* ---- accepted side ---- */

static void on_relay_write(uv_write_t *req, int status);

static void on_relay_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct wreq *w = xmalloc(sizeof(*w) + RELAY_READ_SIZE);
    *buf = uv_buf_init(w->data, RELAY_READ_SIZE);
}

static void on_relay_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct transport_conn *c = s->data;
    struct wreq *w = buf->base ? (struct wreq *)(buf->base - offsetof(struct wreq, data)) : NULL;
    char why[200];

    if (nread <= 0 || c->closing) {
        free(w);
        if (nread < 0 && !c->closing) {
            if (nread != UV_EOF)
                log_verbose("raft peer %s: read: %s", c->peer, uv_strerror((int)nread));
            conn_close(c);
        }
        return;
    }
    /* Membership is checked again on every chunk: a node removed from the configuration
     * loses the connection it had (a call per chunk, not per byte). */
    if (c->t->is_member && !c->t->is_member(c->t->member_arg, c->id_c)) {
        free(w);
        peer_warn(c->t, "raft peer %s: node %llu is no longer in the configuration; closed", c->peer,
                  (unsigned long long)c->id_c);
        conn_close(c);
        return;
    }
    if (peerframe_feed(&c->pf, (const uint8_t *)buf->base, (size_t)nread, why, sizeof(why)) != 0) {
        free(w);
        peer_warn(c->t, "raft peer %s (node %llu): invalid raft message, connection closed: %s",
                  c->peer, (unsigned long long)c->id_c, why);
        conn_close(c);
        return;
    }
    w->c = c;
    w->req.data = w;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)nread);
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_relay_write) != 0) {
        free(w);
        conn_close(c);
        return;
    }
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > RELAY_PAUSE_BYTES) {
        uv_read_stop((uv_stream_t *)c->tcp);
        c->paused = 1;
    }
}

static void on_relay_write(uv_write_t *req, int status)
{
    struct wreq *w = req->data;
    struct transport_conn *c = w->c;
    free(w);
    if (status != 0 || c->closing) {
        conn_close(c);
        return;
    }
    if (c->paused && uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) < RELAY_RESUME_BYTES) {
        c->paused = 0;
        uv_read_start((uv_stream_t *)c->tcp, on_relay_alloc, on_relay_read);
    }
}

static void on_pipe_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char sink[64]; /* raft never writes to its end: anything read is dropped */
    *buf = uv_buf_init(sink, sizeof(sink));
}

static void on_pipe_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct transport_conn *c = s->data;
    if (nread < 0)
        conn_close(c); /* raft closed its end (a decode error, or raft is closing) */
}

/* Authentication and raft's handshake are done: relay the stream to raft. */
static void accept_handoff(struct transport_conn *c)
{
    struct transport *t = c->t;
    int sv[2];
    uv_pipe_t *raft_end;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        log_warning("raft peer %s: socketpair: %s", c->peer, strerror(errno));
        conn_close(c);
        return;
    }
    raft_end = xmalloc(sizeof(*raft_end)); /* raft frees it (raft_free, the default heap) */
    uv_pipe_init(t->loop, raft_end, 0);
    uv_pipe_init(t->loop, &c->pipe, 0);
    c->pipe.data = c;
    c->pipe_open = 1;
    c->handles++;
    if (uv_pipe_open(raft_end, sv[0]) != 0 || uv_pipe_open(&c->pipe, sv[1]) != 0) {
        log_warning("raft peer %s: cannot open the relay", c->peer);
        uv_close((uv_handle_t *)raft_end, (uv_close_cb)free);
        conn_close(c);
        return;
    }
    t->pending--;
    c->kind = CONN_RELAY;
    uv_timer_stop(&c->timer);
    peerframe_init(&c->pf, t->max_message);
    uv_read_stop((uv_stream_t *)c->tcp);
    uv_read_start((uv_stream_t *)c->tcp, on_relay_alloc, on_relay_read);
    uv_read_start((uv_stream_t *)&c->pipe, on_pipe_alloc, on_pipe_read);
    log_verbose("raft peer %s: node %llu authenticated", c->peer, (unsigned long long)c->id_c);
    t->accept_cb(&t->outer, c->id_c, (const char *)c->in, (struct uv_stream_s *)raft_end);
}

static void accept_hello(struct transport_conn *c)
{
    struct transport *t = c->t;
    uint8_t msg[PEERAUTH_CHALLENGE_SIZE], mac[PEERAUTH_MAC];
    if (peerauth_hello_decode(c->in, &c->id_c, c->nonce_c) != 0) {
        peer_warn(t, "raft peer %s: did not authenticate (not a ConcordKV peer, or one without "
                  "cluster-secret; wrong cluster secret?); closed", c->peer);
        conn_close(c);
        return;
    }
    if (t->secret == NULL) {
        peer_warn(t, "raft peer %s (node %llu): refused: this node has no cluster-secret", c->peer,
                  (unsigned long long)c->id_c);
        conn_close(c);
        return;
    }
    c->id_s = t->id;
    if (peerauth_nonce(c->nonce_s) != 0) {
        conn_close(c);
        return;
    }
    peerauth_mac(t->secret, PEERAUTH_ACCEPTOR, c->nonce_c, c->nonce_s, c->id_c, c->id_s, mac);
    peerauth_challenge_encode(msg, c->id_s, c->nonce_s, mac);
    if (conn_write(c, (uv_stream_t *)c->tcp, msg, sizeof(msg), on_write) != 0) {
        conn_close(c);
        return;
    }
    expect(c, ST_PROOF, PEERAUTH_PROOF_SIZE);
}

static void accept_proof(struct transport_conn *c)
{
    uint8_t want[PEERAUTH_MAC];
    peerauth_mac(c->t->secret, PEERAUTH_CONNECTOR, c->nonce_c, c->nonce_s, c->id_c, c->id_s, want);
    if (!peerauth_mac_equal(want, c->in)) {
        peer_warn(c->t, "raft peer %s (node %llu): authentication failed (wrong cluster secret?); closed",
                  c->peer, (unsigned long long)c->id_c);
        conn_close(c);
        return;
    }
    expect(c, ST_RAFT_PREAMBLE, PEERAUTH_RAFT_PREAMBLE);
}

static void accept_raft_preamble(struct transport_conn *c)
{
    uint64_t id;
    char why[160];
    if (peerauth_raft_preamble_decode(c->in, &id, &c->addr_len, why, sizeof(why)) != 0 ||
        (id != c->id_c && snprintf(why, sizeof(why), "raft handshake id %llu differs from the "
                                   "authenticated id", (unsigned long long)id) > 0)) {
        peer_warn(c->t, "raft peer %s (node %llu): bad raft handshake: %s; closed", c->peer,
                  (unsigned long long)c->id_c, why);
        conn_close(c);
        return;
    }
    expect(c, ST_RAFT_ADDRESS, c->addr_len);
}

static void accept_raft_address(struct transport_conn *c)
{
    struct transport *t = c->t;
    if (!peerauth_raft_address_ok(c->in, c->addr_len)) {
        peer_warn(t, "raft peer %s (node %llu): bad raft handshake: address not NUL-terminated; closed",
                  c->peer, (unsigned long long)c->id_c);
        conn_close(c);
        return;
    }
    if (t->is_member && !t->is_member(t->member_arg, c->id_c)) {
        peer_warn(t, "raft peer %s: node %llu is not in the configuration; refused", c->peer,
                  (unsigned long long)c->id_c);
        conn_close(c);
        return;
    }
    accept_handoff(c);
}

/* ---- connecting side ---- */

static void on_connected_write(uv_write_t *req, int status)
{
    struct wreq *w = req->data;
    struct transport_conn *c = w->c;
    free(w);
    if (c->closing)
        return;
    if (status != 0) {
        conn_close(c);
        return;
    }
    /* raft 0.15 only writes to outgoing streams: it gets the TCP handle itself. */
    raft_uv_connect_cb cb = c->cb;
    struct uv_tcp_s *tcp = c->tcp;
    c->cb = NULL;
    c->tcp = NULL;
    c->kind = CONN_DONE;
    c->closing = 1;
    c->handles--; /* the TCP handle is raft's now */
    uv_read_stop((uv_stream_t *)tcp);
    tcp->data = NULL;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    cb(c->req, (struct uv_stream_s *)tcp, 0);
}

static void connect_challenge(struct transport_conn *c)
{
    struct transport *t = c->t;
    uint8_t nonce[PEERAUTH_NONCE], mac[PEERAUTH_MAC], want[PEERAUTH_MAC];
    uint8_t out[PEERAUTH_PROOF_SIZE + PEERAUTH_RAFT_PREAMBLE + PEERAUTH_MAX_ADDRESS];
    uint64_t id;

    uv_read_stop((uv_stream_t *)c->tcp);
    if (peerauth_challenge_decode(c->in, &id, nonce, mac) != 0) {
        peer_warn(t, "raft peer node %llu at %s: not a ConcordKV peer answering; closed",
                  (unsigned long long)c->id_s, c->peer);
        conn_close(c);
        return;
    }
    if (id != c->id_s) {
        peer_warn(t, "raft peer at %s answers as node %llu, expected node %llu; closed", c->peer,
                  (unsigned long long)id, (unsigned long long)c->id_s);
        conn_close(c);
        return;
    }
    memcpy(c->nonce_s, nonce, PEERAUTH_NONCE);
    peerauth_mac(t->secret, PEERAUTH_ACCEPTOR, c->nonce_c, c->nonce_s, c->id_c, c->id_s, want);
    if (!peerauth_mac_equal(want, mac)) {
        peer_warn(t, "raft peer node %llu at %s: authentication failed (wrong cluster secret?); closed",
                  (unsigned long long)c->id_s, c->peer);
        /* An invalid proof, so that the peer logs the failure too (never a valid one: that
         * would be an oracle for whoever sent this challenge). */
        memset(out, 0, PEERAUTH_PROOF_SIZE);
        /* raft's callback fires exactly once, here: taken before a failed write's conn_close
         * (which would fire it and leave c->cb NULL to be called). */
        raft_uv_connect_cb cb = c->cb;
        c->cb = NULL;
        if (conn_write(c, (uv_stream_t *)c->tcp, out, PEERAUTH_PROOF_SIZE, on_write) != 0)
            conn_close(c);
        else
            uv_timer_start(&c->timer, on_linger, 1000, 0); /* closes it after the write */
        cb(c->req, NULL, RAFT_NOCONNECTION);
        return;
    }
    peerauth_mac(t->secret, PEERAUTH_CONNECTOR, c->nonce_c, c->nonce_s, c->id_c, c->id_s, out);
    size_t n = peerauth_raft_handshake_encode(out + PEERAUTH_PROOF_SIZE, sizeof(out) - PEERAUTH_PROOF_SIZE,
                                              t->id, t->address);
    if (conn_write(c, (uv_stream_t *)c->tcp, out, PEERAUTH_PROOF_SIZE + n, on_connected_write) != 0)
        conn_close(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct transport_conn *c = req->data;
    uint8_t hello[PEERAUTH_HELLO_SIZE];
    if (c->closing)
        return;
    if (status != 0) {
        log_debug("raft connect to %s: %s", c->peer, uv_strerror(status));
        conn_close(c);
        return;
    }
    set_nodelay(c->tcp);
    peerauth_hello_encode(hello, c->id_c, c->nonce_c);
    if (conn_write(c, (uv_stream_t *)c->tcp, hello, sizeof(hello), on_write) != 0) {
        conn_close(c);
        return;
    }
    expect(c, ST_CHALLENGE, PEERAUTH_CHALLENGE_SIZE);
    uv_read_start((uv_stream_t *)c->tcp, on_auth_alloc, on_auth_read);
}

static void stage_done(struct transport_conn *c)
{
    switch (c->stage) {
    case ST_HELLO:
        accept_hello(c);
        break;
    case ST_PROOF:
        accept_proof(c);
        break;
    case ST_RAFT_PREAMBLE:
        accept_raft_preamble(c);
        break;
    case ST_RAFT_ADDRESS:
        accept_raft_address(c);
        break;
    case ST_CHALLENGE:
        connect_challenge(c);
        break;
    }
}

/* ---- raft_uv_transport ---- */

static int parse_ip_port(const char *address, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(address, ':');
    if (colon == NULL || (size_t)(colon - address) >= sizeof(host))
        return -1;
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    long long port;
    if (util_parse_ll(colon + 1, strlen(colon + 1), &port) != 0 || port < 1 || port > 65535)
        return -1;
    return uv_ip4_addr(host, (int)port, sa) == 0 ? 0 : -1;
}

static int tr_init(struct raft_uv_transport *tr, raft_id id, const char *address)
{
    struct transport *t = tr->impl;
    if (strlen(address) + 1 > sizeof(t->address)) {
        snprintf(tr->errmsg, sizeof(tr->errmsg), "raft address too long");
        return RAFT_INVALID;
    }
    t->id = id;
    snprintf(t->address, sizeof(t->address), "%s", address);
    t->listener = xmalloc(sizeof(*t->listener));
    uv_tcp_init(t->loop, t->listener);
    t->listener->data = t;
    return 0;
}

static void peer_name(struct uv_tcp_s *tcp, char *out, size_t len)
{
    struct sockaddr_storage ss;
    int n = sizeof(ss);
    char ip[64] = "?";
    int port = 0;
    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &n) == 0 && ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        uv_ip4_name(sin, ip, sizeof(ip));
        port = ntohs(sin->sin_port);
    }
    snprintf(out, len, "%s:%d", ip, port);
}

static void on_listen(uv_stream_t *server, int status)
{
    struct transport *t = server->data;
    if (status != 0 || t->closing)
        return;
    struct transport_conn *c = conn_new(t, CONN_IN);
    if (uv_accept(server, (uv_stream_t *)c->tcp) != 0) {
        conn_close(c);
        return;
    }
    peer_name(c->tcp, c->peer, sizeof(c->peer));
    if (t->pending > TRANSPORT_MAX_PENDING) {
        peer_warn(t, "raft peer %s: closed, %d connections are already authenticating", c->peer,
                  TRANSPORT_MAX_PENDING);
        conn_close(c);
        return;
    }
    set_nodelay(c->tcp);
    uv_timer_start(&c->timer, on_deadline, TRANSPORT_AUTH_DEADLINE_MS, 0);
    expect(c, ST_HELLO, PEERAUTH_HELLO_SIZE);
    uv_read_start((uv_stream_t *)c->tcp, on_auth_alloc, on_auth_read);
}

static int tr_listen(struct raft_uv_transport *tr, raft_uv_accept_cb cb)
{
    struct transport *t = tr->impl;
    struct sockaddr_in sa;
    const char *addr = t->bind_address[0] ? t->bind_address : t->address;
    int rv;
    t->accept_cb = cb;
    if (parse_ip_port(addr, &sa) != 0) {
        snprintf(tr->errmsg, sizeof(tr->errmsg), "bad listen address %s", addr);
        return RAFT_INVALID;
    }
    if ((rv = uv_tcp_bind(t->listener, (const struct sockaddr *)&sa, 0)) != 0 ||
        (rv = uv_listen((uv_stream_t *)t->listener, 128, on_listen)) != 0) {
        snprintf(tr->errmsg, sizeof(tr->errmsg), "listen on %s: %s", addr, uv_strerror(rv));
        log_warning("raft transport: %s", tr->errmsg); /* raft 0.15 drops this message */
        return RAFT_IOERR;
    }
    return 0;
}

static int tr_connect(struct raft_uv_transport *tr, struct raft_uv_connect *req, raft_id id,
                      const char *address, raft_uv_connect_cb cb)
{
    struct transport *t = tr->impl;
    struct sockaddr_in sa;
    if (parse_ip_port(address, &sa) != 0) {
        snprintf(tr->errmsg, sizeof(tr->errmsg), "bad peer address %s", address);
        return RAFT_NOCONNECTION;
    }
    if (t->secret == NULL) {
        if (log_allowed(t))
            log_warning("raft: cannot connect to node %llu at %s: this node has no cluster-secret",
                        (unsigned long long)id, address);
        snprintf(tr->errmsg, sizeof(tr->errmsg), "no cluster-secret");
        return RAFT_NOCONNECTION;
    }
    struct transport_conn *c = conn_new(t, CONN_OUT);
    snprintf(c->peer, sizeof(c->peer), "%s", address);
    c->req = req;
    c->cb = cb;
    req->cb = cb;
    c->id_c = t->id;
    c->id_s = id;
    c->connect.data = c;
    if (peerauth_nonce(c->nonce_c) != 0 ||
        uv_tcp_connect(&c->connect, c->tcp, (const struct sockaddr *)&sa, on_connect) != 0) {
        snprintf(tr->errmsg, sizeof(tr->errmsg), "connect to %s failed", address);
        c->cb = NULL; /* a failed connect never calls its callback */
        conn_close(c);
        return RAFT_NOCONNECTION;
    }
    uv_timer_start(&c->timer, on_deadline, TRANSPORT_AUTH_DEADLINE_MS, 0);
    return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct transport *t = h->data;
    free(t->listener);
    t->listener = NULL;
    maybe_closed(t);
}

static void tr_close(struct raft_uv_transport *tr, raft_uv_transport_close_cb cb)
{
    struct transport *t = tr->impl;
    t->closing = 1;
    t->close_cb = cb;
    struct list_node *n, *next;
    list_foreach_safe(n, next, &t->conns)
        conn_close(list_entry(n, struct transport_conn, node));
    if (t->listener)
        uv_close((uv_handle_t *)t->listener, on_listener_closed);
    else
        maybe_closed(t);
}

int transport_init(struct transport *t, struct uv_loop_s *loop, const struct transport_options *opts)
{
    memset(t, 0, sizeof(*t));
    t->loop = loop;
    t->secret = opts->secret && opts->secret[0] ? xstrdup(opts->secret) : NULL;
    t->max_message = opts->max_message;
    t->is_member = opts->is_member;
    t->member_arg = opts->member_arg;
    t->outer.impl = t;
    t->outer.init = tr_init;
    t->outer.listen = tr_listen;
    t->outer.connect = tr_connect;
    t->outer.close = tr_close;
    return 0;
}

int transport_set_bind_address(struct transport *t, const char *address)
{
    struct sockaddr_in sa;
    if (strlen(address) + 1 > sizeof(t->bind_address) || parse_ip_port(address, &sa) != 0)
        return RAFT_INVALID;
    snprintf(t->bind_address, sizeof(t->bind_address), "%s", address);
    return 0;
}

void transport_close(struct transport *t)
{
    free(t->secret);
    t->secret = NULL;
    /* A listener that raft never closed (raft_init failed after init). */
    if (t->listener && !uv_is_closing((uv_handle_t *)t->listener)) {
        t->listener->data = NULL;
        uv_close((uv_handle_t *)t->listener, (uv_close_cb)free);
        t->listener = NULL;
    }
}
