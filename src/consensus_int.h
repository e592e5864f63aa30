/* Private to consensus.c (the batching core) and consensus_uv.c (the raft_uv instance and
 * the lifecycle): the consensus object and what the two share. */
#ifndef CONCORDKV_CONSENSUS_INT_H
#define CONCORDKV_CONSENSUS_INT_H

#include <raft.h>

#include "consensus.h"
#include "list.h"

#define MSG_SHUTDOWN "ERR server shutting down; the command was not applied"

struct consensus_uv;
struct batch;

struct consensus {
    struct consensus_callbacks cb;
    struct consensus_params params;
    struct fsm *fsm;   /* not owned */
    struct raft *raft; /* the uv one's, or the caller's */
    struct consensus_uv *uv;
    int raft_open;     /* raft_init succeeded: raft_close needed */
    int closing;       /* raft_close was called */
    int closed;        /* raft_close's callback ran */
    int close_deferred; /* closing, raft_close not yet called: a truncation is in flight */
    int abandoned;     /* closing gave up waiting: raft is left open for the exit */
    struct batch *open;
    struct list queued, inflight; /* of struct batch */
    int barriers_inflight;
    int role;
    int ready;
    uint64_t leader_id;
    uint64_t last_leader_id;   /* the last leader whose RESP address was known */
    char last_leader_resp[64];
    struct raft_transfer transfer;
    int notify_closed; /* consensus_shutdown asked for the closed callback */
    int shutting_down;
    struct consensus_stats stats;
};

/* The batching core, not yet attached to a raft instance (consensus.c). */
struct consensus *consensus_core_new(struct fsm *fsm, const struct consensus_params *p,
                                     const struct consensus_callbacks *cb);
/* Answer every request not yet proposed with MSG; they were never applied. */
void consensus_fail_queued(struct consensus *cs, const char *msg);
/* Answer and free every batch in flight with MSG: only once raft no longer holds them. */
void consensus_drop_inflight(struct consensus *cs, const char *msg);
/* The callbacks of the same names (optional ones may be absent). */
void consensus_kick(struct consensus *cs);
void consensus_flushed(struct consensus *cs);
void consensus_notify_closed(struct consensus *cs);
/* Update the durable record of what this node may have acknowledged (consensus_uv.c's
 * instance only): every cron tick and once raft is closed. */
void consensus_uv_note(struct consensus *cs);

#endif
