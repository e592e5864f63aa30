/* What admin.c (routing, connections, membership changes) and admin_web.c (the web page's
 * files, the cluster view, forwarding) share: the admin server's state and its replies. */
#ifndef CONCORDKV_ADMIN_INT_H
#define CONCORDKV_ADMIN_INT_H

#include <stdint.h>

#include <jansson.h>

#include "list.h"

struct evbuffer;
struct evhttp;
struct evhttp_request;
struct server;
struct ssl_ctx_st;

#define ADMIN_MSG_MAX 300
#define ADMIN_FORWARD_HEADER "X-ConcordKV-Forward" /* a POST the node forwards to the leader */

struct admin {
    struct server *srv;
    struct evhttp *http;
    struct list pending; /* of struct pending (admin.c) */
    struct list relays;  /* of struct relay (admin_web.c) */
    struct admin_fetcher *fetcher;
    struct ssl_ctx_st *fetch_tls; /* the client context of https:// fetches, made on first use */
    struct admin_conn *conns; /* singly linked, live and released-but-not-swept */
    int nconns;               /* live ones */
};

typedef void admin_handler_fn(struct admin *a, struct evhttp_request *req);

/* ---- admin.c ---- */
const char *admin_reason_phrase(int code);
/* Send BODY (emptied) with CODE; headers only for HEAD. */
void admin_send_reply(struct evhttp_request *req, int code, struct evbuffer *body);
/* Answer with the JSON OBJ (stolen). */
void admin_reply_json(struct evhttp_request *req, int code, json_t *obj);
/* {"error": ...} with CODE. */
void admin_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* {"error": MSG, "retryable": true} with CODE. */
void admin_reply_retry(struct evhttp_request *req, int code, const char *msg);
/* The leader's admin address (the fsm's, valid until the loop runs on), with its id in
 * LEADER_OUT; NULL after answering 503 when there is none to name. */
const char *admin_leader_addr(struct admin *a, struct evhttp_request *req, uint64_t *leader_out);
json_t *admin_id_or_null(uint64_t id);
/* This node's /api/status object (new). */
json_t *admin_status_json(struct server *srv);
/* The configuration's nodes as /api/cluster/config lists them (a new array). */
json_t *admin_config_nodes(struct server *srv);
admin_handler_fn admin_handle_metrics;
/* Write what REQ's connection has queued now: the loop no longer runs. */
void admin_flush_now(struct evhttp_request *req);

/* ---- admin_web.c ---- */
admin_handler_fn admin_handle_page, admin_handle_page_js, admin_handle_page_css;
admin_handler_fn admin_handle_cluster_status, admin_handle_cluster_metrics;
/* Forward the change REQ asks for to the leader; answered with the leader's answer. */
void admin_forward_to_leader(struct admin *a, struct evhttp_request *req);
/* Answer every request still waiting for other nodes (503), cancel their fetches. */
void admin_web_stop(struct admin *a);

#endif
