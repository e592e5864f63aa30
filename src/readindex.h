/* The ReadIndex peer channel (docs/ARCHITECTURE.md, "The read path"): the leader's side keeps
 * one persistent RESP connection to every other voter's RESP address and sends each round as
 * CLUSTER READINDEX <leader-id> <term> <seq>; every answer carries an HMAC under the cluster
 * secret and only a valid yes reaches consensus_read_ack. The voter's side is
 * cluster_readindex (CLUSTER READINDEX), which asks consensus_vouch. Loop layer (libevent);
 * the round bookkeeping is consensus_read.c's. */
#ifndef CONCORDKV_READINDEX_H
#define CONCORDKV_READINDEX_H

#include <stdint.h>

struct exec_ctx;
struct readindex;
struct request;
struct server;

/* The leader's side for SRV (connections open lazily, at the first round). */
struct readindex *readindex_new(struct server *srv);
/* Close every connection; readindex_free(NULL) is a no-op. */
void readindex_free(struct readindex *ri);
/* Send round SEQ of TERM to every other voter of the current configuration whose RESP
 * address is known; a voter whose connection has this many answers outstanding is skipped
 * (it is paused or far behind, and the round does not need it). */
#define READINDEX_MAX_PENDING 16
void readindex_round(struct readindex *ri, uint64_t term, uint64_t seq);

/* CLUSTER READINDEX <leader-id> <term> <seq>: this node's signed answer, an array of
 * [voter-id, current-term, seq, ok (1/0), remaining-ms, proof]. */
void cluster_readindex(struct exec_ctx *ctx, struct request *req);

#endif
