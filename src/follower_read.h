/* Follower reads (docs/SERVER.md, "Follower reads"): a READONLY client's consistent read on a
 * follower is served by the follower once it has applied the index the leader names after
 * confirming its leadership (CLUSTER FOLLOWERINDEX, answered through the leader's own read
 * path). One request to the leader serves every read waiting on this follower when it is
 * sent. Loop layer (libevent): one RESP connection to the leader. */
#ifndef CONCORDKV_FOLLOWER_READ_H
#define CONCORDKV_FOLLOWER_READ_H

#include <stdint.h>

struct buf;
struct command;
struct follower_read;
struct request;
struct server;
struct slot;

struct follower_read_stats {
    long long requests; /* CLUSTER FOLLOWERINDEX requests sent to the leader */
    long long reads;    /* reads served after such an index */
    long long timeouts; /* reads answered -TIMEOUT */
    long long answers;  /* as leader: FOLLOWERINDEX requests answered */
};

struct follower_read *follower_read_new(struct server *srv);
/* Answer every read still held with -TRYAGAIN and close; NULL is a no-op. */
void follower_read_free(struct follower_read *fr);
/* Take read REQ (CMD's) for slot S: executed once the leader's index is applied here. Takes
 * REQ; S is answered exactly once. */
void follower_read_submit(struct follower_read *fr, struct slot *s, const struct command *cmd,
                          struct request *req);
/* Serve the reads whose index is applied (after raft ran). */
void follower_read_serve(struct follower_read *fr);
/* Time out reads held longer than request-timeout; reconnect and ask again after failures. */
void follower_read_cron(struct follower_read *fr);
struct follower_read_stats *follower_read_stats(struct follower_read *fr);

#endif
