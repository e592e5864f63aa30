/* Probes: writes that look like no-ops (cmd_noop_proc in command.h) sent down the read path,
 * so that, when the confirmed read finds they still change nothing, they are answered with
 * no log entry. A probe whose read finds otherwise is proposed as the write it is.
 *
 * Order: a client's commands take effect in the order it sent them. A client's probes wait
 * on the read path while its next commands are dispatched, so the first command of that
 * client that is not a probe converts every probe still pending into its write first
 * (proposed in order, before it), and a probe is never answered as a no-op while an earlier
 * converted one of its client has not been answered (its write may not be applied yet). The
 * read path still answers a converted probe later; that answer is dropped. */
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
/* C is about to dispatch something that is not a probe: propose its pending probes. */
void probe_convert_all(struct client *c);
/* The read path's answer for probe TOKEN (consensus run_read / read_error of a write). */
void probe_on_read(struct server *srv, void *token, struct request *req);
void probe_on_read_error(void *token, const char *msg);
/* C is being freed: its pending probes answer nobody (their slots are orphans already). */
void probe_client_gone(struct client *c);

#endif
