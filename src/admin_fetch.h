/* Outgoing HTTP requests of the admin API to other nodes' admin ports (libevent's evhttp
 * client): the web page's cluster view asks every node for its status, and a POST the page
 * sends to a follower is forwarded to the leader. One request per connection. */
#ifndef CONCORDKV_ADMIN_FETCH_H
#define CONCORDKV_ADMIN_FETCH_H

#include <stddef.h>

struct event_base;
struct ssl_ctx_st;
struct admin_fetcher;
struct admin_fetch;

/* The outcome of a request: STATUS is the HTTP status with BODY (LEN bytes, NUL-terminated,
 * valid during the call), or 0 when no answer came (BODY says why). */
typedef void admin_fetch_cb(void *arg, int status, const char *body, size_t len);

/* Requests made on BASE (the caller keeps it). */
struct admin_fetcher *admin_fetcher_new(struct event_base *base);
/* Cancel the requests in flight (their callbacks never run) and free FR. NULL-safe. */
void admin_fetcher_free(struct admin_fetcher *fr);

/* METHOD ("GET" or "POST") PATH on ADDR ("ip:port"), over TLS when TLS (a client context,
 * kept by the caller) is set, with AUTHORIZATION (a header value, may be NULL) and, for a
 * POST, the JSON BODY of BLEN bytes (copied). CB runs once, from the loop, within TIMEOUT_MS
 * (or with status 0). Returns the request, valid until CB has run or it is cancelled; NULL
 * with ERR when it could not be started (CB never runs). */
struct admin_fetch *admin_fetch_start(struct admin_fetcher *fr, struct ssl_ctx_st *tls,
                                      const char *addr, const char *method, const char *path,
                                      const char *authorization, const char *body, size_t blen,
                                      long timeout_ms, admin_fetch_cb *cb, void *arg, char *err,
                                      size_t errlen);
/* Drop F before its callback ran: the callback never runs. */
void admin_fetch_cancel(struct admin_fetch *f);

#endif
