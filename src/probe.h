/* Probes: writes that look like no-ops (cmd_noop_proc in command.h) sent down the read path,
 * so that they are answered with no log entry.
 *
 * The no-op check runs when the command arrives, on the leader's applied state, and only when
 * every earlier command of its client has been answered (so that state holds the client's
 * earlier writes). Its reply waits in the client's reply queue until the read path confirms
 * that this node was still the leader after the command arrived: then the state checked was
 * current when the command came (everything acknowledged before it was applied here), and the
 * command takes effect (none) at that point, before any later command of its client. So later
 * commands need not wait for it, and a probe is never turned into a write. A read that cannot
 * be confirmed answers its error: nothing was applied. */
#ifndef CONCORDKV_PROBE_H
#define CONCORDKV_PROBE_H

struct client;
struct command;
struct request;
struct server;
struct slot;

/* Dispatch REQ (CMD, a write past every check) as a probe if it looks like a no-op now.
 * Returns 1 when it did (REQ is the read path's), 0 to dispatch it as a write. */
int probe_start(struct client *c, const struct command *cmd, struct request *req);
/* The read path's answer for probe TOKEN (consensus run_read / read_error of a write). */
void probe_on_read(struct server *srv, void *token, struct request *req);
void probe_on_read_error(void *token, const char *msg);
/* C is being freed: its pending probes answer nobody (their slots are orphans already). */
void probe_client_gone(struct client *c);
/* Free the pool of answered probes (at shutdown). */
void probe_pool_clear(void);

#endif
