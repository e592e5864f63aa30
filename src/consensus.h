/* Ordering and replication of writes and consistent reads. Writes are batched: the requests
 * that arrive while earlier entries are in flight go into the next entry. Reads wait for the
 * next entry proposed after their arrival to be applied. Replies go to each client in the
 * order it sent its requests. */
#ifndef CONCORDKV_CONSENSUS_H
#define CONCORDKV_CONSENSUS_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct client;
struct command;
struct request;

struct consensus_stats {
    long long entries_proposed;
    long long commands_proposed;
    long long barriers;
    long long reads;
};

struct consensus;

/* Create the consensus layer of SRV (which owns it). Returns NULL with ERR on failure. */
struct consensus *consensus_new(struct server *srv, char *err, size_t errlen);
/* Free; answers every pending request with an error. consensus_free(NULL) is a no-op. */
void consensus_free(struct consensus *cs);

/* Propose the validated, deterministic write REQ of client C (the consensus takes REQ); its
 * reply, produced by apply, goes to C in order. C may be NULL for the server's own writes
 * (active expiry). */
void consensus_write(struct consensus *cs, struct client *c, struct request *req);
/* Run the read REQ (CMD's handler) for C once the next entry proposed after now is applied;
 * the consensus takes REQ. */
void consensus_read(struct consensus *cs, struct client *c, const struct command *cmd,
                    struct request *req);
/* Propose what has been queued since the last flush. The server calls it from the event
 * loop after consensus_write/consensus_read asked for it (server_want_flush). */
void consensus_flush(struct consensus *cs);
/* True when this node may propose (the leader; always true for the local engine). */
int consensus_is_leader(const struct consensus *cs);
const struct consensus_stats *consensus_stats(const struct consensus *cs);

#endif
