/* Blocked clients on the leader (BLPOP, BZPOPMIN ...): the pop is a replicated write. A
 * blocking command is first proposed as is (as applied it never blocks); when its reply says
 * nothing was popped, the client waits in the per-key FIFO registry (blocking.h); when an
 * applied entry creates one of its keys, the leader proposes that client's pop again. Timeouts
 * run on the leader's clock (one timer per client), CLIENT UNBLOCK and a lost leadership
 * answer the client; apply never sees any of it. Loop layer, beside client.c. */
#ifndef CONCORDKV_BLOCKED_H
#define CONCORDKV_BLOCKED_H

#include <stddef.h>
#include <stdint.h>

struct blocked;
struct client;
struct command;
struct request;
struct server;

/* Texts a blocked client gets (docs/SERVER.md). */
#define BLOCKED_MSG_UNBLOCKED "UNBLOCKED client unblocked via CLIENT UNBLOCK"
#define BLOCKED_MSG_LOST \
    "TRYAGAIN leadership was lost while the client was blocked; nothing was popped"
#define BLOCKED_MSG_UNKNOWN                                                                   \
    "UNCERTAIN leadership was lost while the blocked client's pop was in flight; it may or " \
    "may not have popped"

/* Set up and tear down SRV's blocked clients (the registry and the keyspace hook). Close
 * after every client was freed. */
void blocked_init(struct server *srv);
void blocked_close(struct server *srv);
/* Run the blocking command REQ (CMD, validated by its prepare) for C, on the leader: its
 * reply takes C's next reply position, and C dispatches nothing more until it is answered.
 * Takes REQ. */
void blocked_start(struct client *c, const struct command *cmd, struct request *req);
/* A try of B was applied: LEN bytes of RESP at DATA (not kept). */
void blocked_on_reply(struct blocked *b, const char *data, size_t len);
/* A try of B failed in consensus with MSG (no leading '-'). */
void blocked_on_error(struct blocked *b, const char *msg);
/* B's client is being freed (its slots already orphaned): forget it, or, with a pop in
 * flight, let the pop's outcome free it. */
void blocked_client_gone(struct blocked *b);
/* After applied replies were delivered: propose the pops of clients whose keys became
 * non-empty, in blocking order; if this node no longer leads, answer every blocked client
 * with no pop in flight with BLOCKED_MSG_LOST. */
void blocked_serve(struct server *srv);

#endif
