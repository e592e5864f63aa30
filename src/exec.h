/* What a command handler may ask of the dispatcher (server.c, client.c) beyond its exec_ctx,
 * without seeing struct server or struct client: the node's consensus, configuration and
 * state machine, deferred replies, redirects. Handlers include this, never server.h/client.h. */
#ifndef CONCORDKV_EXEC_H
#define CONCORDKV_EXEC_H

struct buf;
struct client;
struct config;
struct consensus;
struct fsm;
struct server;
struct slot;

/* The server's consensus, configuration and state machine (owned by the server). */
struct consensus *server_consensus(struct server *srv);
const struct config *server_config(const struct server *srv);
const struct fsm *server_fsm(const struct server *srv);

/* Reserve the next reply position of C for a reply produced later; whoever produces it owns
 * the slot until slot_done(). */
struct slot *client_defer(struct client *c);
/* Where a deferred reply is written. */
struct buf *slot_buf(struct slot *s);
/* The reply in the slot is complete: queue it for sending (or free S if its client is gone). */
void slot_done(struct slot *s);

/* When this node cannot take writes or consistent reads (not the leader), reply to C with
 * -MOVED SLOT <leader>, -CLUSTERDOWN or -TRYAGAIN and return 1; else return 0. */
int client_redirect(struct client *c, int slot);
/* Append to OUT the error telling a client where to go instead of this node: -MOVED SLOT
 * <leader>, -CLUSTERDOWN, -TRYAGAIN (shutting down), or the removed-node error. */
void server_reply_redirect(struct server *srv, int slot, struct buf *out);

#endif
