/* The web page's side of the admin API: the page's files (compiled in, admin_page.h), the
 * cluster view that asks every node for its status, a node's metrics through this one, and
 * changes forwarded to the leader: the page talks to its own origin only. Requests that wait
 * for other nodes are relays, answered when the last fetch (admin_fetch.c) comes back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "admin_body.h"
#include "admin_fetch.h"
#include "admin_int.h"
#include "admin_page.h"
#include "config.h"
#include "consensus.h"
#include "fsm.h"
#include "server.h"
#include "tls.h"
#include "util.h"

#define ADMIN_STATUS_FETCH_MS 1000 /* a node's /api/status or /metrics for the page */
#define ADMIN_FORWARD_MS 75000     /* a forwarded change (an add may take 60 s) */

/* A request answered once other nodes have: GET /api/cluster/status (VIEW: one fetch per
 * other node), a node's /metrics or a POST forwarded to the leader (one fetch each). Freed
 * when answered, or when its client goes away (its fetches cancelled). */
struct relay {
    struct list_node node; /* in the admin's relays list */
    struct admin *admin;
    struct evhttp_request *req;
    int nslots, outstanding;
    struct relay_slot {
        struct relay *relay;
        int index;                 /* into VIEW's nodes */
        struct admin_fetch *fetch; /* NULL once answered */
    } *slots;
    json_t *view; /* the cluster view being filled in; NULL when forwarding */
    int metrics;  /* forwarding GET /metrics, not a change */
};

/* ---- relays: answers that wait for other nodes ---- */

static void relay_free(struct relay *r)
{
    for (int i = 0; i < r->nslots; i++)
        if (r->slots[i].fetch != NULL)
            admin_fetch_cancel(r->slots[i].fetch);
    if (r->admin != NULL)
        list_remove(&r->admin->relays, &r->node);
    json_decref(r->view);
    free(r->slots);
    free(r);
}

/* The client's connection went away: nobody is left to answer. */
static void on_relay_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    relay_free(arg);
}

/* Detach R from its client's connection before answering it. */
static struct evhttp_request *relay_take_req(struct relay *r)
{
    struct evhttp_request *req = r->req;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);

    if (evcon != NULL)
        evhttp_connection_set_closecb(evcon, NULL, NULL);
    r->req = NULL;
    return req;
}

/* A relay for REQ with NSLOTS fetches to come, answered by the caller if none is started. */
static struct relay *relay_new(struct admin *a, struct evhttp_request *req, int nslots)
{
    struct relay *r = xcalloc(1, sizeof(*r));

    r->admin = a;
    r->req = req;
    r->nslots = nslots;
    r->slots = xcalloc((size_t)(nslots > 0 ? nslots : 1), sizeof(*r->slots));
    list_push_back(&a->relays, &r->node);
    return r;
}

/* The client context for https:// fetches (admin-tls), made on first use; NULL for http. */
static struct ssl_ctx_st *fetch_tls(struct admin *a, char *err, size_t errlen)
{
    if (!a->srv->cfg->admin_tls)
        return NULL;
    if (a->fetch_tls == NULL)
        a->fetch_tls = tls_ctx_new(a->srv->cfg, TLS_PEER_CLIENT, err, errlen);
    return a->fetch_tls;
}

static void on_relay_fetched(void *arg, int status, const char *body, size_t len);

/* Start slot SLOT's request; -1 with ERR when it could not start. */
static int relay_fetch(struct relay *r, int slot, const char *addr, const char *method,
                       const char *path, const char *body, size_t blen, long timeout_ms,
                       char *err, size_t errlen)
{
    struct admin *a = r->admin;
    struct ssl_ctx_st *tls = fetch_tls(a, err, errlen);
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
    struct relay_slot *s = &r->slots[slot];

    if (a->srv->cfg->admin_tls && tls == NULL)
        return -1;
    if (a->fetcher == NULL)
        a->fetcher = admin_fetcher_new(a->srv->base);
    s->relay = r;
    s->index = slot;
    s->fetch = admin_fetch_start(a->fetcher, tls, addr, method, path, auth, body, blen, timeout_ms,
                                 on_relay_fetched, s, err, errlen);
    if (s->fetch == NULL)
        return -1;
    r->outstanding++;
    return 0;
}

/* The cluster view's entry SLOT gets "status" (the node's /api/status) or "error". */
static void view_set(struct relay *r, int slot, json_t *status, const char *error)
{
    json_t *node = json_array_get(json_object_get(r->view, "nodes"), (size_t)slot);

    json_object_set_new(node, "status", status ? status : json_null());
    if (error != NULL)
        json_object_set_new(node, "error", json_string(error));
}

/* Answer a forwarded request with the other node's answer: a change the leader made, or a
 * node's metrics (METRICS). */
static void forward_answer(struct evhttp_request *req, int metrics, int status, const char *body,
                           size_t len)
{
    struct evbuffer *out;

    if (status == 0 && metrics) {
        admin_reply_error(req, 502, "no metrics from that node: %s", body);
        return;
    }
    if (status == 0) {
        admin_reply_error(req, 502, "forwarding to the leader failed: %s; check the configuration "
                              "before retrying", body);
        return;
    }
    if (status == 307) { /* it stopped leading meanwhile: nothing was started there */
        admin_reply_retry(req, 503, "leadership moved while forwarding; retry");
        return;
    }
    out = evbuffer_new();
    evbuffer_add(out, body, len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      metrics && status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
                                               : "application/json");
    admin_send_reply(req, status, out);
    evbuffer_free(out);
}

static void on_relay_fetched(void *arg, int status, const char *body, size_t len)
{
    struct relay_slot *s = arg;
    struct relay *r = s->relay;

    s->fetch = NULL;
    r->outstanding--;
    if (r->view == NULL) {
        forward_answer(relay_take_req(r), r->metrics, status, body, len);
        relay_free(r);
        return;
    }
    json_t *obj = status ? json_loadb(body, len, 0, NULL) : NULL;
    if (status == 200 && json_is_object(obj)) {
        view_set(r, s->index, obj, NULL);
    } else {
        char why[ADMIN_MSG_MAX];
        const char *e = json_string_value(json_object_get(obj, "error"));
        if (status && e)
            snprintf(why, sizeof(why), "HTTP %d: %.200s", status, e);
        else if (status)
            snprintf(why, sizeof(why), "HTTP %d", status);
        else
            snprintf(why, sizeof(why), "%.200s", body);
        view_set(r, s->index, NULL, why);
        json_decref(obj);
    }
    if (r->outstanding == 0) {
        json_t *view = r->view;
        r->view = NULL;
        admin_reply_json(relay_take_req(r), 200, view);
        relay_free(r);
    }
}

/* Forward the change REQ asks for to the leader and answer with its answer: the web page
 * sends its POSTs to its own node (a browser does not carry the token across origins, and
 * the leader refuses other origins), with the X-ConcordKV-Forward header. */
void admin_forward_to_leader(struct admin *a, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    uint64_t leader;
    const char *addr = admin_leader_addr(a, req, &leader);
    char err[ADMIN_MSG_MAX];

    if (addr == NULL)
        return;
    if (len > ADMIN_MAX_BODY) {
        admin_reply_error(req, 413, "request body over %d bytes", ADMIN_MAX_BODY);
        return;
    }
    struct relay *r = relay_new(a, req, 1);
    if (relay_fetch(r, 0, addr, "POST", evhttp_uri_get_path(uri),
                    (const char *)evbuffer_pullup(in, -1), len, ADMIN_FORWARD_MS, err,
                    sizeof(err)) != 0) {
        relay_free(r);
        admin_reply_error(req, 502, "cannot forward to the leader (node %llu at %s): %s",
                    (unsigned long long)leader, addr, err);
        return;
    }
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_relay_conn_closed, r);
}


/* ---- the web page ---- */

/* Only this server's own files run on the page; it talks to its own origin only. */
#define ADMIN_PAGE_CSP "default-src 'none'; script-src 'self'; style-src 'self'; " \
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; " \
    "frame-ancestors 'none'"

static void send_asset(struct evhttp_request *req, const char *type, const unsigned char *data,
                       size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *body = evbuffer_new();

    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "Content-Security-Policy", ADMIN_PAGE_CSP);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evbuffer_add(body, data, len);
    admin_send_reply(req, 200, body);
    evbuffer_free(body);
}

void admin_handle_page(struct admin *a, struct evhttp_request *req)
{
    send_asset(req, "text/html; charset=utf-8", admin_page_html, admin_page_html_len);
}

void admin_handle_page_js(struct admin *a, struct evhttp_request *req)
{
    send_asset(req, "text/javascript; charset=utf-8", admin_page_js, admin_page_js_len);
}

void admin_handle_page_css(struct admin *a, struct evhttp_request *req)
{
    send_asset(req, "text/css; charset=utf-8", admin_page_css, admin_page_css_len);
}


/* The configuration's nodes, each with its own /api/status (asked of it, with this request's
 * token, for at most a second) or the "error" that kept it: the web page's cluster view. */
void admin_handle_cluster_status(struct admin *a, struct evhttp_request *req)
{
    struct server *srv = a->srv;
    json_t *nodes = admin_config_nodes(srv);
    int n = (int)json_array_size(nodes);
    struct relay *r = relay_new(a, req, n);
    char err[ADMIN_MSG_MAX];

    r->view = json_pack("{s:I, s:o, s:o}", "self", (json_int_t)srv->cfg->id,
                        "leader", admin_id_or_null(consensus_leader(srv->cs, NULL)), "nodes", nodes);
    for (int i = 0; i < n; i++) {
        json_t *node = json_array_get(nodes, (size_t)i);
        const char *addr = json_string_value(json_object_get(node, "admin_address"));
        if (json_integer_value(json_object_get(node, "id")) == srv->cfg->id)
            view_set(r, i, admin_status_json(srv), NULL);
        else if (addr == NULL || addr[0] == '\0')
            view_set(r, i, NULL, "its admin address is not known yet");
        else if (relay_fetch(r, i, addr, "GET", "/api/status", NULL, 0, ADMIN_STATUS_FETCH_MS, err,
                             sizeof(err)) != 0)
            view_set(r, i, NULL, err);
    }
    if (r->outstanding == 0) {
        json_t *view = r->view;
        r->view = NULL;
        r->req = NULL;
        admin_reply_json(req, 200, view);
        relay_free(r);
        return;
    }
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_relay_conn_closed, r);
}

/* GET /api/cluster/metrics?id=N: node N's /metrics, asked of it with this request's token
 * (this node's own without id): the web page's charts of any node from its own origin. */
void admin_handle_cluster_metrics(struct admin *a, struct evhttp_request *req)
{
    struct server *srv = a->srv;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq params;
    TAILQ_INIT(&params);
    const char *v;
    char *end, err[ADMIN_MSG_MAX];
    unsigned long long id = (unsigned long long)srv->cfg->id;

    if (query && evhttp_parse_query_str(query, &params) == 0 && (v = evhttp_find_header(&params, "id"))) {
        id = strtoull(v, &end, 10);
        if (*v < '1' || *v > '9' || *end != '\0')
            id = 0;
    }
    evhttp_clear_headers(&params);
    if (id == 0) {
        admin_reply_error(req, 400, "id must be a positive integer");
        return;
    }
    if (id == (unsigned long long)srv->cfg->id) {
        admin_handle_metrics(a, req);
        return;
    }
    const struct fsm_node *n = fsm_node(&srv->fsm, id);
    if (n == NULL || n->admin[0] == '\0') {
        admin_reply_error(req, 409, "node %llu has no known admin address", id);
        return;
    }
    struct relay *r = relay_new(a, req, 1);
    r->metrics = 1;
    if (relay_fetch(r, 0, n->admin, "GET", "/metrics", NULL, 0, ADMIN_STATUS_FETCH_MS, err,
                    sizeof(err)) != 0) {
        relay_free(r);
        admin_reply_error(req, 502, "no metrics from node %llu: %s", id, err);
        return;
    }
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_relay_conn_closed, r);
}


void admin_web_stop(struct admin *a)
{
    struct list_node *n;

    while ((n = list_pop_front(&a->relays)) != NULL) {
        struct relay *r = list_entry(n, struct relay, node);
        struct evhttp_request *req = relay_take_req(r);

        r->admin = NULL;
        admin_reply_error(req, 503, "the server is shutting down%s",
                    r->view ? "" : "; the forwarded change may still complete");
        admin_flush_now(req);
        relay_free(r);
    }
    admin_fetcher_free(a->fetcher); /* after the relays: cancelling reaches into it */
    tls_ctx_free(a->fetch_tls);
}
