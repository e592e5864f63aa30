/* The HTTP admin API on admin-port (libevent's evhttp, JSON with jansson): membership changes,
 * status, health, Prometheus metrics and the web page. Runs on the server's loop and never
 * blocks it: a membership change is answered from cluster.c's callback, whenever that comes.
 * What only the web page uses (its files, the cluster view, forwarding) is admin_web.c. */
#include "admin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "admin_body.h"
#include "admin_int.h"
#include "cluster.h"
#include "config.h"
#include "consensus.h"
#include "fsm.h"
#include "kv.h"
#include "list.h"
#include "log.h"
#include "metrics.h"
#include "protect.h"
#include "server.h"
#include "util.h"

#define ADMIN_EVHTTP_MAX_BODY (1024 * 1024) /* past this, evhttp refuses on its own */
#define ADMIN_TIMEOUT_S 10                  /* idle or half-sent requests are dropped */

/* A membership change waiting for its outcome. Owned by cluster.c's callback, which frees
 * it; REQ is cleared when the connection goes away first, ADMIN when admin_stop ran. */
struct pending {
    struct list_node node; /* in the admin's pending list while ADMIN is set */
    struct admin *admin;
    struct evhttp_request *req;
    int starting;          /* cluster_* has not returned yet */
    int sending;           /* the outcome is being written to the client */
    int done;              /* the outcome arrived while starting */
    int status;
    char msg[ADMIN_MSG_MAX];
};

/* One accepted connection, tracked from its bufferevent (evhttp_set_bevcb: libevent 2.1 has
 * no connection callback, no connection cap and only an idle timeout that every byte
 * resets). We hold a reference on BEV: evhttp's bufferevent_free clears its callbacks, which
 * tells us the connection is gone, and our unref then closes the socket. DEADLINE fires
 * admin-request-timeout ms after accept unless the whole request arrived first: it shuts the
 * socket down, and evhttp, reading EOF, frees the connection itself. Every answer closes its
 * connection (Connection: close), so one deadline covers the connection's only request. */
struct admin_conn {
    struct admin_conn *next;
    struct admin *admin;
    struct bufferevent *bev; /* one reference is ours */
    struct event *deadline;  /* also fires at once (0 s) for a connection over the cap */
    int over_cap;
    int complete;            /* the request arrived: the deadline no longer applies */
};

/* ---- replies ---- */

const char *admin_reason_phrase(int code)
{
    switch (code) {
    case 200: return "OK";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

/* Send BODY (emptied) with CODE. A HEAD request gets the headers only: evhttp 2.1 would
 * send the body anyway. */
void admin_send_reply(struct evhttp_request *req, int code, struct evbuffer *body)
{
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        char len[24];
        snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", len);
        evbuffer_drain(body, evbuffer_get_length(body));
    }
    evhttp_send_reply(req, code, admin_reason_phrase(code), body);
}

/* Answer REQ with CODE and the JSON OBJ (stolen). */
void admin_reply_json(struct evhttp_request *req, int code, json_t *obj)
{
    struct evbuffer *body = evbuffer_new();
    char *text = json_dumps(obj, JSON_COMPACT);

    json_decref(obj);
    if (text == NULL)
        text = xstrdup("{\"error\":\"out of memory\"}");
    evbuffer_add(body, text, strlen(text));
    evbuffer_add(body, "\n", 1);
    free(text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    admin_send_reply(req, code, body);
    evbuffer_free(body);
}

/* {"error": MSG} with CODE, and "retryable": true when RETRYABLE: nothing was started, the same
 * request may succeed later (cluster_manager retries these). */
static void reply_message(struct evhttp_request *req, int code, int retryable, const char *msg)
{
    json_t *obj = json_pack("{s:s}", "error", msg);
    if (retryable)
        json_object_set_new(obj, "retryable", json_true());
    admin_reply_json(req, code, obj);
}

/* {"error": ...} with CODE. */
void admin_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
    char msg[ADMIN_MSG_MAX + 100];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply_message(req, code, 0, msg);
}

void admin_reply_retry(struct evhttp_request *req, int code, const char *msg)
{
    reply_message(req, code, 1, msg);
}

/* The leader's admin address, or NULL after answering 503 when there is none to name. */
const char *admin_leader_addr(struct admin *a, struct evhttp_request *req, uint64_t *leader_out)
{
    struct server *srv = a->srv;
    uint64_t leader = consensus_leader(srv->cs, NULL);
    const struct fsm_node *n = leader ? fsm_node(&srv->fsm, leader) : NULL;

    *leader_out = leader;
    if (srv->shutting_down) {
        admin_reply_retry(req, 503, "the server is shutting down");
        return NULL;
    }
    if (leader == 0) {
        admin_reply_retry(req, 503, "no leader is known; retry later");
        return NULL;
    }
    if (leader == (uint64_t)srv->cfg->id) {
        admin_reply_retry(req, 503, "this node was just elected leader and is not ready yet; retry");
        return NULL;
    }
    if (n == NULL || n->admin[0] == '\0') {
        char msg[128];
        snprintf(msg, sizeof(msg), "the leader (node %llu) has no known admin address; retry later",
                 (unsigned long long)leader);
        admin_reply_retry(req, 503, msg);
        return NULL;
    }
    return n->admin;
}

/* 307 to the same path on the leader's admin address, or 503 when there is none to name. */
static void reply_redirect(struct admin *a, struct evhttp_request *req)
{
    struct server *srv = a->srv;
    uint64_t leader;
    const char *admin_addr = admin_leader_addr(a, req, &leader);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    char location[FSM_ADDR_MAX + 1100];

    if (admin_addr == NULL)
        return;
    /* admin-tls is one setting for the whole cluster: the leader speaks what we speak */
    snprintf(location, sizeof(location), "%s://%s%s%s%s", srv->cfg->admin_tls ? "https" : "http",
             admin_addr, path ? path : "/",
             query ? "?" : "", query ? query : "");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
    admin_reply_json(req, 307, json_pack("{s:s, s:I, s:s}", "error", "this node is not the leader",
                                   "leader", (json_int_t)leader, "location", location));
}

/* The reply for a membership outcome (cluster.h's codes; 1 means "nothing to do"). */
static void reply_change(struct admin *a, struct evhttp_request *req, int status, const char *msg)
{
    switch (status) {
    case CLUSTER_OK:
    case 1:
        admin_reply_json(req, 200, json_pack("{s:b, s:s}", "ok", 1, "message", msg));
        break;
    case CLUSTER_EINVAL: admin_reply_error(req, 400, "%s", msg); break;
    case CLUSTER_EDUPID:
    case CLUSTER_EDUPADDR:
    case CLUSTER_ENOID: admin_reply_error(req, 409, "%s", msg); break;
    case CLUSTER_EBUSY: admin_reply_retry(req, 409, msg); break;
    case CLUSTER_ENOTLEADER:
        if (a != NULL)
            reply_redirect(a, req);
        else
            admin_reply_error(req, 503, "%s", msg);
        break;
    case CLUSTER_ETIMEOUT: admin_reply_error(req, 504, "%s", msg); break;
    default: admin_reply_error(req, 500, "%s", msg); break;
    }
}

/* ---- pending membership changes ---- */

/* A pending change lives from start_change until both its outcome has arrived and the reply
 * has left (or the connection went away): the loop may stop in between, and admin_stop must
 * then push out what is still queued. */

static void pending_link(struct admin *a, struct pending *p)
{
    p->admin = a;
    list_push_front(&a->pending, &p->node);
}

static void pending_free(struct pending *p)
{
    if (p->admin != NULL)
        list_remove(&p->admin->pending, &p->node);
    free(p);
}

/* The client's connection went away: nobody is left to answer. */
static void on_connection_closed(struct evhttp_connection *evcon, void *arg)
{
    struct pending *p = arg;

    p->req = NULL;
    if (p->sending)
        pending_free(p);
}

/* The reply has been written. */
static void on_reply_sent(struct evhttp_request *req, void *arg)
{
    struct pending *p = arg;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);

    if (evcon != NULL) /* the connection may serve further requests */
        evhttp_connection_set_closecb(evcon, NULL, NULL);
    pending_free(p);
}

static void on_change_done(void *arg, int status, const char *msg)
{
    struct pending *p = arg;
    struct evhttp_request *req = p->req;

    if (p->starting) { /* answered from inside cluster_*: start_change replies */
        p->done = 1;
        p->status = status;
        snprintf(p->msg, sizeof(p->msg), "%s", msg);
        return;
    }
    if (req == NULL || evhttp_request_get_connection(req) == NULL) {
        if (req != NULL) /* detached by evhttp: answering frees it */
            evhttp_send_reply(req, 503, admin_reason_phrase(503), NULL);
        pending_free(p);
        return;
    }
    p->sending = 1;
    evhttp_request_set_on_complete_cb(req, on_reply_sent, p);
    reply_change(p->admin, req, status, msg);
}

/* Start a membership change for REQ and answer it now (refused, nothing to do) or when
 * cluster.c reports the outcome. */
static void start_change(struct admin *a, struct evhttp_request *req, int op, uint64_t id,
                         const char *address, const char *resp, const char *admin_addr)
{
    struct server *srv = a->srv;
    struct pending *p = xcalloc(1, sizeof(*p));
    char msg[ADMIN_MSG_MAX] = "";
    int rc;

    p->req = req;
    p->starting = 1;
    if (op == ADMIN_ADD)
        rc = cluster_add(srv, id, address, resp, admin_addr, on_change_done, p, msg, sizeof(msg));
    else if (op == ADMIN_REMOVE)
        rc = cluster_remove(srv, id, on_change_done, p, msg, sizeof(msg));
    else
        rc = cluster_transfer(srv, id, on_change_done, p, msg, sizeof(msg));
    p->starting = 0;
    if (rc != 0 || p->done) {
        reply_change(a, req, rc != 0 ? rc : p->status, rc != 0 ? msg : p->msg);
        free(p);
        return;
    }
    pending_link(a, p);
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_connection_closed, p);
}

/* ---- request bodies ---- */

/* Parse and validate REQ's body for OP (admin_body.c). Returns 0 with BODY filled in (the
 * caller closes it), or -1 after answering 400/413. */
static int read_body(struct evhttp_request *req, enum admin_op op, struct admin_body *body)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char err[ADMIN_MSG_MAX];
    int rc;

    rc = admin_body_parse(op, len > ADMIN_MAX_BODY ? NULL : (const char *)evbuffer_pullup(in, -1),
                          len, body, err, sizeof(err));
    if (rc != 0) {
        admin_reply_error(req, rc, "%s", err);
        return -1;
    }
    return 0;
}

/* ---- POST handlers ---- */

/* Only the leader changes membership; others point at it, or forward REQ to it when asked
 * (X-ConcordKV-Forward). Returns 1 when REQ was answered or forwarded. */
static int redirected(struct admin *a, struct evhttp_request *req)
{
    if (consensus_accepts(a->srv->cs))
        return 0;
    if (evhttp_find_header(evhttp_request_get_input_headers(req), ADMIN_FORWARD_HEADER) != NULL)
        admin_forward_to_leader(a, req);
    else
        reply_redirect(a, req);
    return 1;
}

static void handle_add(struct admin *a, struct evhttp_request *req)
{
    struct admin_body body;

    if (redirected(a, req) || read_body(req, ADMIN_ADD, &body) != 0)
        return;
    start_change(a, req, ADMIN_ADD, body.id, body.address, body.resp, body.admin_addr);
    admin_body_close(&body);
}

/* A change named by {"id": N} alone: remove (ID required) or transfer (ID optional). */
static void handle_id_change(struct admin *a, struct evhttp_request *req, enum admin_op op)
{
    struct admin_body body;

    if (redirected(a, req) || read_body(req, op, &body) != 0)
        return;
    start_change(a, req, op, body.id, NULL, NULL, NULL);
    admin_body_close(&body);
}

static void handle_remove(struct admin *a, struct evhttp_request *req)
{
    handle_id_change(a, req, ADMIN_REMOVE);
}

static void handle_transfer(struct admin *a, struct evhttp_request *req)
{
    handle_id_change(a, req, ADMIN_TRANSFER);
}

/* ---- GET handlers ---- */

json_t *admin_id_or_null(uint64_t id)
{
    return id ? json_integer((json_int_t)id) : json_null();
}

static const char *member_name(int member)
{
    switch (member) {
    case MEMBER_VOTER: return "voter";
    case MEMBER_STANDBY: return "standby";
    case MEMBER_SPARE: return "spare";
    default: return "none";
    }
}

/* The configuration's nodes as /api/cluster/config lists them (a new array). */
json_t *admin_config_nodes(struct server *srv)
{
    struct consensus_node fixed[16], *nodes = fixed;
    int n = consensus_nodes(srv->cs, nodes, 16);
    json_t *list = json_array();

    if (n > 16) {
        nodes = xcalloc((size_t)n, sizeof(*nodes));
        n = consensus_nodes(srv->cs, nodes, n);
    }
    for (int i = 0; i < n; i++) {
        const struct consensus_node *c = &nodes[i];
        json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:s, s:s, s:b}",
                                              "id", (json_int_t)c->id, "address", c->raft_addr,
                                              "resp_address", c->resp_addr,
                                              "admin_address", c->admin_addr,
                                              "role", member_name(c->member), "leader", c->leader));
    }
    if (nodes != fixed)
        free(nodes);
    return list;
}

static void handle_config(struct admin *a, struct evhttp_request *req)
{
    struct server *srv = a->srv;
    admin_reply_json(req, 200, json_pack("{s:o, s:o}", "leader", admin_id_or_null(consensus_leader(srv->cs, NULL)),
                                   "nodes", admin_config_nodes(srv)));
}

/* This node's /api/status object. */
json_t *admin_status_json(struct server *srv)
{
    struct consensus_info info;

    consensus_get_info(srv->cs, &info);
    return json_pack("{s:I, s:s, s:I, s:o, s:I, s:I, s:I, s:I, s:s, s:s}",
                    "id", (json_int_t)info.id, "state", consensus_role_name(info.role),
                    "term", (json_int_t)info.term, "leader", admin_id_or_null(info.leader_id),
                    "commit_index", (json_int_t)info.commit_index,
                    "applied_index", (json_int_t)info.applied_index,
                    "keys", (json_int_t)server_dbs_sum(srv, kv_size),
                    "uptime_seconds", (json_int_t)((util_now_ms() - srv->start_ms) / 1000),
                    "version", PACKAGE_VERSION, "membership", cluster_membership(srv));
}

static void handle_status(struct admin *a, struct evhttp_request *req)
{
    admin_reply_json(req, 200, admin_status_json(a->srv));
}

static void handle_health(struct admin *a, struct evhttp_request *req)
{
    struct server *srv = a->srv;
    const char *membership = cluster_membership(srv);
    uint64_t leader = consensus_leader(srv->cs, NULL);
    const char *why = NULL;

    if (cluster_removed(srv))
        why = "this node was removed from the cluster";
    else if (strcmp(membership, "member") != 0)
        why = strcmp(membership, "joining") == 0 ? "this node is joining a cluster"
                                                  : "this node is not in a cluster yet";
    else if (leader == 0)
        why = "no leader is known";
    if (why != NULL)
        admin_reply_json(req, 503, json_pack("{s:s, s:s}", "status", "unavailable", "error", why));
    else
        admin_reply_json(req, 200, json_pack("{s:s, s:I}", "status", "ok", "leader", (json_int_t)leader));
}

void admin_handle_metrics(struct admin *a, struct evhttp_request *req)
{
    struct evbuffer *body = evbuffer_new();
    struct buf text;

    buf_init(&text);
    metrics_render(a->srv, &text);
    evbuffer_add(body, text.data, text.len);
    buf_close(&text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    admin_send_reply(req, 200, body);
    evbuffer_free(body);
}

/* ---- connections: the cap and the whole-request deadline ---- */

static int conn_released(const struct admin_conn *c)
{
    /* evhttp keeps its event callback for the connection's whole life (the read one comes
     * and goes); bufferevent_free clears them all */
    bufferevent_event_cb ev = NULL;
    bufferevent_getcb(c->bev, NULL, NULL, &ev, NULL);
    return ev == NULL;
}

static void conn_free(struct admin_conn *c)
{
    event_free(c->deadline);
    bufferevent_decref(c->bev); /* closes the socket once evhttp has let go too */
    free(c);
}

/* Forget the connections evhttp has freed; recount the live ones. */
static void conns_sweep(struct admin *a)
{
    struct admin_conn **pp = &a->conns;
    a->nconns = 0;
    while (*pp) {
        struct admin_conn *c = *pp;
        if (conn_released(c)) {
            *pp = c->next;
            conn_free(c);
        } else {
            a->nconns++;
            pp = &c->next;
        }
    }
}

static void on_conn_deadline(evutil_socket_t fd_unused, short what, void *arg)
{
    struct admin_conn *c = arg;
    evutil_socket_t fd = bufferevent_getfd(c->bev);

    if (conn_released(c) || c->complete || fd < 0)
        return;
    if (!c->over_cap)
        log_verbose("admin: dropped a connection that sent no complete request within %lld ms",
                    c->admin->srv->cfg->admin_request_timeout);
    shutdown(fd, SHUT_RDWR); /* evhttp reads EOF and frees the connection */
}

/* evhttp's bufferevent factory: called for every accepted connection, before its fd is set. */
static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
    struct admin *a = arg;
    struct admin_conn *c = xcalloc(1, sizeof(*c));
    long long ms = a->srv->cfg->admin_request_timeout;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

    conns_sweep(a);
    c->admin = a;
    if (a->srv->cfg->admin_tls) {
        /* HTTPS: the handshake starts once evhttp gives the bufferevent its socket. */
        SSL *ssl = SSL_new(server_tls_ctx(a->srv));
        c->bev = ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                      BEV_OPT_CLOSE_ON_FREE)
                     : NULL;
        if (c->bev == NULL && ssl)
            SSL_free(ssl);
        else if (c->bev)
            bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    } else {
        c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    if (c->bev == NULL) {
        free(c);
        return NULL;
    }
    bufferevent_incref(c->bev);
    c->deadline = evtimer_new(base, on_conn_deadline, c);
    if (a->nconns >= a->srv->cfg->admin_max_connections) {
        /* Over the cap: closed as soon as evhttp has given it its socket. */
        c->over_cap = 1;
        tv.tv_sec = 0;
        tv.tv_usec = 0;
        log_verbose("admin: %d connections open (admin-max-connections): closing a new one", a->nconns);
    }
    evtimer_add(c->deadline, &tv);
    c->next = a->conns;
    a->conns = c;
    a->nconns++;
    return c->bev;
}

/* REQ has arrived whole: its connection's deadline no longer applies. Returns 0, or -1 when
 * the connection is one over the cap (the caller answers nothing: it is being closed). */
static int conn_request_complete(struct admin *a, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

    for (struct admin_conn *c = a->conns; c; c = c->next) {
        if (c->bev != bev)
            continue;
        if (c->over_cap)
            return -1;
        c->complete = 1;
        event_del(c->deadline);
    }
    return 0;
}

static void conns_close(struct admin *a)
{
    while (a->conns) {
        struct admin_conn *c = a->conns;
        a->conns = c->next;
        conn_free(c);
    }
    a->nconns = 0;
}

/* ---- routing ---- */

static const struct route {
    const char *path;
    enum evhttp_cmd_type method;
    admin_handler_fn *handle;
    int open; /* the page's static files: no token (it is typed into the page) */
} routes[] = {
    {"/api/cluster/add", EVHTTP_REQ_POST, handle_add, 0},
    {"/api/cluster/remove", EVHTTP_REQ_POST, handle_remove, 0},
    {"/api/cluster/transfer", EVHTTP_REQ_POST, handle_transfer, 0},
    {"/api/cluster/config", EVHTTP_REQ_GET, handle_config, 0},
    {"/api/status", EVHTTP_REQ_GET, handle_status, 0},
    {"/health", EVHTTP_REQ_GET, handle_health, 0},
    {"/metrics", EVHTTP_REQ_GET, admin_handle_metrics, 0},
    {"/api/cluster/status", EVHTTP_REQ_GET, admin_handle_cluster_status, 0},
    {"/api/cluster/metrics", EVHTTP_REQ_GET, admin_handle_cluster_metrics, 0},
    {"/", EVHTTP_REQ_GET, admin_handle_page, 1},
    {"/admin.js", EVHTTP_REQ_GET, admin_handle_page_js, 1},
    {"/admin.css", EVHTTP_REQ_GET, admin_handle_page_css, 1},
};

/* Compare in time that depends only on WANT's length. */
static int token_equal(const char *given, size_t glen, const char *want)
{
    size_t wlen = strlen(want);
    unsigned char diff = glen != wlen;

    for (size_t i = 0; i < wlen; i++)
        diff |= (unsigned char)want[i] ^ (unsigned char)(i < glen ? given[i] : 0);
    return diff == 0;
}

/* The token the API requires: admin-token, else requirepass (a password-protected server
 * never has an open admin API), else none. */
static const char *required_token(const struct admin *a)
{
    const struct config *cfg = a->srv->cfg;
    if (cfg->admin_token && cfg->admin_token[0])
        return cfg->admin_token;
    if (cfg->requirepass && cfg->requirepass[0])
        return cfg->requirepass;
    return NULL;
}

/* True when REQ may proceed: no token required, or "Authorization: Bearer <token>". */
static int authorized(struct admin *a, struct evhttp_request *req)
{
    const char *token = required_token(a);
    const char *h;

    if (token == NULL)
        return 1;
    h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (h == NULL || strlen(h) < 7 || !util_eq_nocase(h, 6, "bearer") || h[6] != ' ')
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    size_t len = strlen(h);
    while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
        len--;
    return token_equal(h, len, token);
}

/* True when REQ carries no Origin header, or the admin server's own origin: http://bind:port,
 * http://<the connection's local address>:port, and http://localhost:port on a loopback
 * bind. A page a browser loaded from anywhere else (DNS rebinding included: its Origin
 * names the attacker's host) gets 403; no CORS header is ever sent. */
static int same_origin(struct admin *a, struct evhttp_request *req)
{
    const char *origin = evhttp_find_header(evhttp_request_get_input_headers(req), "Origin");
    const struct config *cfg = a->srv->cfg;
    char own[128];

    const char *scheme = cfg->admin_tls ? "https" : "http";
    if (origin == NULL)
        return 1;
    snprintf(own, sizeof(own), "%s://%s:%lld", scheme, cfg->bind, cfg->admin_port);
    if (strcasecmp(origin, own) == 0)
        return 1;
    if (strncmp(cfg->bind, "127.", 4) == 0) {
        snprintf(own, sizeof(own), "%s://localhost:%lld", scheme, cfg->admin_port);
        if (strcasecmp(origin, own) == 0)
            return 1;
    }
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    char ip[INET_ADDRSTRLEN];
    if (bev && getsockname(bufferevent_getfd(bev), (struct sockaddr *)&sin, &slen) == 0 &&
        sin.sin_family == AF_INET && inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof(ip))) {
        snprintf(own, sizeof(own), "%s://%s:%lld", scheme, ip, cfg->admin_port);
        if (strcasecmp(origin, own) == 0)
            return 1;
    }
    return 0;
}

/* True when a browser says REQ comes from another site (Sec-Fetch-Site: cross-site), unless
 * it is a navigation to one of the page's files (a link to the page from elsewhere). */
static int cross_site(struct evhttp_request *req, const struct route *r)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *site = evhttp_find_header(h, "Sec-Fetch-Site");
    const char *mode = evhttp_find_header(h, "Sec-Fetch-Mode");

    if (site == NULL || strcasecmp(site, "cross-site") != 0)
        return 0;
    return !(r != NULL && r->open && mode != NULL && strcasecmp(mode, "navigate") == 0 &&
             evhttp_request_get_command(req) != EVHTTP_REQ_POST);
}

/* The route of PATH, or NULL. */
static const struct route *route_find(const char *path)
{
    for (size_t i = 0; path && i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strcmp(path, routes[i].path) == 0)
            return &routes[i];
    return NULL;
}

/* True when REQ's Content-Type is application/json (parameters such as charset allowed). */
static int json_content_type(struct evhttp_request *req)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    size_t n = strlen("application/json");
    if (ct == NULL)
        return 0;
    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Whether REQ's peer connected over loopback. */
static int peer_is_local(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    if (bev == NULL || getpeername(bufferevent_getfd(bev), (struct sockaddr *)&sin, &slen) != 0)
        return 0;
    return slen == sizeof(sin) && protect_addr_is_local(&sin);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct admin *a = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    const struct route *r = route_find(path);

    if (conn_request_complete(a, req) != 0)
        return; /* over the cap: the connection is being closed; evhttp frees REQ with it */
    /* one request per connection: a kept-alive one would escape the whole-request deadline */
    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    if (protect_admin_refuses(a->srv->cfg, required_token(a), peer_is_local(req))) {
        admin_reply_error(req, 403, "protected mode: the admin API answers only loopback clients while "
                              "no admin-token (or requirepass) is set; set admin-token, or "
                              "protected-mode no");
        return;
    }
    if (!same_origin(a, req)) {
        admin_reply_error(req, 403, "cross-origin requests are refused (Origin is not this admin server)");
        return;
    }
    if (cross_site(req, r)) {
        admin_reply_error(req, 403, "cross-site requests are refused (Sec-Fetch-Site: cross-site)");
        return;
    }
    if (!(r != NULL && r->open) && !authorized(a, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"concordkv\"");
        admin_reply_error(req, 401, "missing or wrong admin token (Authorization: Bearer <token>)");
        return;
    }
    if (r == NULL) {
        admin_reply_error(req, 404, "no such endpoint: %s", path ? path : "(none)");
        return;
    }
    if (method == r->method || (r->method == EVHTTP_REQ_GET && method == EVHTTP_REQ_HEAD)) {
        if (method == EVHTTP_REQ_POST && !json_content_type(req)) {
            admin_reply_error(req, 415, "POST bodies must be sent with Content-Type: application/json");
            return;
        }
        r->handle(a, req);
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                      r->method == EVHTTP_REQ_GET ? "GET, HEAD" : "POST");
    admin_reply_error(req, 405, "%s takes %s", r->path, r->method == EVHTTP_REQ_GET ? "GET" : "POST");
}

/* ---- start and stop ---- */


int admin_start(struct server *srv, char *err, size_t errlen)
{
    struct config *cfg = srv->cfg;
    struct admin *a;
    int fd;

    if (cfg->admin_port <= 0)
        return 0;
    fd = server_listen_tcp(cfg->bind, (int)cfg->admin_port);
    if (fd < 0) {
        snprintf(err, errlen, "option 'admin-port': cannot listen on %s:%lld: %s", cfg->bind,
                 cfg->admin_port, strerror(errno));
        return -1;
    }
    a = xcalloc(1, sizeof(*a));
    a->srv = srv;
    a->http = evhttp_new(srv->base);
    if (a->http == NULL || evhttp_accept_socket_with_handle(a->http, fd) == NULL) {
        snprintf(err, errlen, "option 'admin-port': cannot serve HTTP on %s:%lld", cfg->bind,
                 cfg->admin_port);
        if (a->http)
            evhttp_free(a->http);
        close(fd);
        free(a);
        return -1;
    }
    /* Every method reaches on_request, so that 405 is ours (JSON, with Allow). */
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(a->http, ADMIN_EVHTTP_MAX_BODY);
    evhttp_set_max_headers_size(a->http, 64 * 1024);
    evhttp_set_timeout(a->http, ADMIN_TIMEOUT_S);
    evhttp_set_gencb(a->http, on_request, a);
    evhttp_set_bevcb(a->http, on_new_conn, a);
    srv->admin = a;
    log_notice("admin API on %s://%s:%lld", cfg->admin_tls ? "https" : "http", cfg->bind, cfg->admin_port);
    return 0;
}

/* Whether BEV is a TLS one: its bytes cannot be written to the socket as they are. */
static int bev_is_tls(struct bufferevent *bev)
{
    return bufferevent_openssl_get_ssl(bev) != NULL;
}

/* Write what REQ's connection has queued now: the loop no longer runs. Best effort (not
 * over TLS). */
void admin_flush_now(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

    if (bev != NULL && !bev_is_tls(bev)) {
        struct evbuffer *out = bufferevent_get_output(bev);
        evbuffer_unfreeze(out, 1);
        evbuffer_write(out, bufferevent_getfd(bev));
        evbuffer_freeze(out, 1);
    }
}

void admin_stop(struct server *srv)
{
    struct admin *a = srv->admin;

    if (a == NULL)
        return;
    struct list_node *n;
    while ((n = list_pop_front(&a->pending)) != NULL) {
        struct pending *p = list_entry(n, struct pending, node);
        struct evhttp_request *req = p->req;
        struct evhttp_connection *evcon = req ? evhttp_request_get_connection(req) : NULL;

        p->admin = NULL;
        p->req = NULL;
        if (evcon != NULL) {
            evhttp_connection_set_closecb(evcon, NULL, NULL);
            if (!p->sending)
                admin_reply_error(req, 503, "the server is shutting down; the change may still complete");
            admin_flush_now(req);
        }
        if (p->sending)
            free(p); /* its outcome came; otherwise cluster.c's callback frees it later */
    }
    admin_web_stop(a);
    evhttp_free(a->http);
    conns_close(a);
    free(a);
    srv->admin = NULL;
}
