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

/* Voters a ReadIndex round can count, at most (a larger configuration falls back to barriers). */
#define READ_ROUND_MAX_VOTERS 64

/* The ReadIndex round (consensus_read.c): one in flight at a time; it proves this node was
 * still the leader of TERM after SENT_US once a majority of the voters it was sent to ack. */
struct read_round {
    uint64_t seq;          /* the last round started (0: none yet) */
    uint64_t confirmed;    /* the last round a majority acknowledged */
    int inflight;          /* round SEQ is waiting for acks */
    uint64_t term;
    int64_t sent_us;
    uint64_t voters[READ_ROUND_MAX_VOTERS];
    unsigned char acked[READ_ROUND_MAX_VOTERS];
    int nvoters, acks, quorum;
    int64_t min_remaining_us; /* lease: the shortest promise among the acks counted */
    int64_t lease_until_us;   /* lease mode: reads are served without a round until then */
};

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
    struct batch *spare;   /* a finished batch kept for its arrays (batch_free) */
    size_t last_entry_len; /* of the last entry proposed: the next batch's buffer */
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
    int read_mode;             /* enum consensus_read_mode */
    long long lease_us;        /* lease mode: the longest lease taken (election timeout - margin) */
    struct read_round round;
    raft_index completed_index; /* the index of the last of our entries applied */
};

/* The batching core, not yet attached to a raft instance (consensus.c). */
struct consensus *consensus_core_new(struct fsm *fsm, const struct consensus_params *p,
                                     const struct consensus_callbacks *cb);
/* Answer every request not yet proposed with MSG; they were never applied. */
void consensus_fail_queued(struct consensus *cs, const char *msg);
/* Free the spare batch (consensus_free). */
void consensus_free_spare(struct consensus *cs);
/* Answer and free every batch in flight with MSG: only once raft no longer holds them. */
void consensus_drop_inflight(struct consensus *cs, const char *msg);
/* The callbacks of the same names (optional ones may be absent). */
void consensus_kick(struct consensus *cs);
void consensus_flushed(struct consensus *cs);
void consensus_notify_closed(struct consensus *cs);
/* ReadIndex (consensus_read.c). True when read-only batches are confirmed by rounds rather
 * than barriers. */
int read_round_enabled(const struct consensus *cs);
/* Rounds a read-only batch may wait for before it falls back to a barrier. */
#define READ_ROUND_ATTEMPTS 3
/* True when enough voters (this node and those whose RESP address is known) could ack. */
int read_round_reachable(const struct consensus *cs);
/* Start round SEQ+1 over the current voters (this node acks itself; a single voter confirms
 * at once) and ask the dispatcher to send it. Returns the new round's seq. */
uint64_t read_round_start(struct consensus *cs);
/* True when round SEQ (or, in lease mode, a lease still running) confirms reads queued
 * before it started. */
int read_round_confirms(const struct consensus *cs, uint64_t seq);
/* Give up a round that gets no majority (cron) and forget it on leadership changes. */
int read_round_expire(struct consensus *cs);
void read_round_reset(struct consensus *cs);

/* Update the durable record of what this node may have acknowledged (consensus_uv.c's
 * instance only): every cron tick and once raft is closed. */
void consensus_uv_note(struct consensus *cs);
/* consensus_uv.c's periodic work: snapshots of an idle node's log. */
void consensus_uv_cron(struct consensus *cs);

#endif
