/* Follower proxying (docs/SERVER.md, "Follower modes"): a follower forwards a plain client's
 * writes and consistent reads to the leader and relays the raw replies in request order.
 * Loop layer (libevent); MULTI/WATCH and blocking calls get a connection of their own. */
#ifndef CONCORDKV_PROXY_H
#define CONCORDKV_PROXY_H

#include <stddef.h>

struct client;
struct command;
struct proxy;
struct request;
struct server;

/* The node's proxy (connections open lazily, at the first forwarded request). */
struct proxy *proxy_new(struct server *srv);
/* Close every connection; requests still outstanding answer -TRYAGAIN. NULL: a no-op. */
void proxy_free(struct proxy *px);

/* Whether C's writes and consistent reads are forwarded now: this node is a follower that
 * knows the leader's address, follower-mode is proxy, or auto and C is not cluster-aware
 * (and C is not a peer node). */
int proxy_applies(const struct client *c);
/* The dispatcher's hook, after the node's own checks (arity, auth, ACL ...): 1 when REQ
 * was forwarded (REQ taken, its reply in a deferred slot of C), 0 to dispatch it locally. */
int proxy_dispatch(struct client *c, const struct command *cmd, struct request *req);
/* Whether REQ (CMD's) must wait until C has no reply pending before it is dispatched: it
 * moves C onto a connection of its own (MULTI, WATCH, a blocking command), which must not
 * overtake what C sent before. */
int proxy_must_wait(const struct client *c, const struct command *cmd);
/* C is going away (or RESET): close its pinned connection. */
void proxy_client_gone(struct client *c);

/* The end of the first complete RESP value (RESP2 or RESP3) in DATA (LEN bytes): its length,
 * 0 while incomplete, -1 when DATA is not RESP. Pure. */
long proxy_resp_value_len(const char *data, size_t len);

#endif
