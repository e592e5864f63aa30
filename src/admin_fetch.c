/* Outgoing admin HTTP requests (evhttp's client), one per connection. A finished request's
 * connection cannot be freed from inside its own callback (evhttp still uses it on return),
 * so it stays on the fetcher's list, marked done, until the next request or the fetcher's
 * end frees it: no deferred event is left behind when the loop stops. */
#include "admin_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "util.h"

#define FETCH_ERR_MAX 128

struct admin_fetch {
    struct admin_fetch *next;
    struct admin_fetcher *fetcher;
    struct evhttp_connection *evcon;
    admin_fetch_cb *cb;
    void *arg;
    int done;  /* the callback ran or the request was cancelled: only the connection is left */
    int in_cb; /* the callback is running (it may start another request) */
    char err[FETCH_ERR_MAX];
};

struct admin_fetcher {
    struct event_base *base;
    struct admin_fetch *fetches; /* singly linked, in flight and done */
};

struct admin_fetcher *admin_fetcher_new(struct event_base *base)
{
    struct admin_fetcher *fr = xcalloc(1, sizeof(*fr));
    fr->base = base;
    return fr;
}

/* Free the done requests (all of them when ALL: the in-flight ones are cancelled). */
static void fetcher_sweep(struct admin_fetcher *fr, int all)
{
    struct admin_fetch **pp = &fr->fetches;
    while (*pp) {
        struct admin_fetch *f = *pp;
        if ((f->done && !f->in_cb) || all) {
            *pp = f->next;
            evhttp_connection_free(f->evcon); /* pending requests go without callbacks */
            free(f);
        } else {
            pp = &f->next;
        }
    }
}

void admin_fetcher_free(struct admin_fetcher *fr)
{
    if (fr == NULL)
        return;
    fetcher_sweep(fr, 1);
    free(fr);
}

static void on_fetch_error(enum evhttp_request_error error, void *arg)
{
    struct admin_fetch *f = arg;
    const char *why = "no answer";

    switch (error) {
    case EVREQ_HTTP_TIMEOUT: why = "timed out"; break;
    case EVREQ_HTTP_EOF: why = "the connection closed without an answer"; break;
    case EVREQ_HTTP_INVALID_HEADER: why = "a malformed answer"; break;
    case EVREQ_HTTP_BUFFER_ERROR: why = "cannot connect"; break;
    case EVREQ_HTTP_DATA_TOO_LONG: why = "the answer is too long"; break;
    default: break;
    }
    snprintf(f->err, sizeof(f->err), "%s", why);
}

static void on_fetch_done(struct evhttp_request *resp, void *arg)
{
    struct admin_fetch *f = arg;
    int status = resp ? evhttp_request_get_response_code(resp) : 0;

    if (f->done)
        return;
    f->in_cb = 1;
    if (status == 0) {
        f->cb(f->arg, 0, f->err, strlen(f->err));
    } else {
        struct evbuffer *in = evhttp_request_get_input_buffer(resp);
        size_t len = evbuffer_get_length(in);
        char *body = xmalloc(len + 1);
        evbuffer_copyout(in, body, len);
        body[len] = '\0';
        f->cb(f->arg, status, body, len);
        free(body);
    }
    f->in_cb = 0;
    f->done = 1;
}

/* Split "ip:port" into HOST (cap bytes) and PORT; -1 when malformed. */
static int split_addr(const char *addr, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(addr, ':');
    char *end;
    long p;

    if (colon == NULL || colon == addr || (size_t)(colon - addr) >= cap)
        return -1;
    p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535)
        return -1;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    *port = (int)p;
    return 0;
}

static struct bufferevent *fetch_bev(struct event_base *base, struct ssl_ctx_st *tls)
{
    SSL *ssl;
    struct bufferevent *bev;

    if (tls == NULL)
        return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    ssl = SSL_new(tls);
    if (ssl == NULL)
        return NULL;
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        SSL_free(ssl);
    else
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

struct admin_fetch *admin_fetch_start(struct admin_fetcher *fr, struct ssl_ctx_st *tls,
                                      const char *addr, const char *method, const char *path,
                                      const char *authorization, const char *body, size_t blen,
                                      long timeout_ms, admin_fetch_cb *cb, void *arg, char *err,
                                      size_t errlen)
{
    char host[64];
    int port, post = strcmp(method, "POST") == 0;
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
    struct bufferevent *bev;
    struct evhttp_request *req;
    struct evkeyvalq *h;
    struct admin_fetch *f;

    fetcher_sweep(fr, 0);
    if (split_addr(addr, host, sizeof(host), &port) != 0) {
        snprintf(err, errlen, "malformed admin address '%.100s'", addr);
        return NULL;
    }
    bev = fetch_bev(fr->base, tls);
    f = xcalloc(1, sizeof(*f));
    f->evcon = bev ? evhttp_connection_base_bufferevent_new(fr->base, NULL, bev, host, (ev_uint16_t)port)
                   : NULL;
    if (f->evcon == NULL) {
        if (bev)
            bufferevent_free(bev);
        free(f);
        snprintf(err, errlen, "cannot create a connection to %.100s", addr);
        return NULL;
    }
    evhttp_connection_set_timeout_tv(f->evcon, &tv);
    f->fetcher = fr;
    f->cb = cb;
    f->arg = arg;
    snprintf(f->err, sizeof(f->err), "no answer");
    req = evhttp_request_new(on_fetch_done, f);
    evhttp_request_set_error_cb(req, on_fetch_error);
    h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", addr);
    evhttp_add_header(h, "Connection", "close");
    if (authorization != NULL)
        evhttp_add_header(h, "Authorization", authorization);
    if (post) {
        evhttp_add_header(h, "Content-Type", "application/json");
        evbuffer_add(evhttp_request_get_output_buffer(req), body ? body : "", body ? blen : 0);
    }
    /* on failure evhttp has freed REQ, without calling back */
    if (evhttp_make_request(f->evcon, req, post ? EVHTTP_REQ_POST : EVHTTP_REQ_GET, path) != 0) {
        evhttp_connection_free(f->evcon);
        free(f);
        snprintf(err, errlen, "cannot send a request to %.100s", addr);
        return NULL;
    }
    f->next = fr->fetches;
    fr->fetches = f;
    return f;
}

void admin_fetch_cancel(struct admin_fetch *f)
{
    f->done = 1; /* the next sweep frees its connection */
}
