/* The replicated state machine: applies log entries to the keyspace, deterministically, on
 * every node. Never reads the clock or local configuration: the entry carries its clock. */
#ifndef CONCORDKV_FSM_H
#define CONCORDKV_FSM_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

struct kv_store;

struct fsm {
    struct kv_store *kv;     /* not owned */
    uint64_t last_applied;   /* log index of the last applied entry */
    uint64_t rng;            /* for commands that need randomness at apply (none today) */
    long long commands_applied;
};

/* The replies of one applied commands entry: reply i is OUT[ends[i-1] .. ends[i]). */
struct fsm_result {
    struct buf out;
    size_t *ends;
    uint32_t n;
};

void fsm_init(struct fsm *f, struct kv_store *kv);
/* Apply the entry BUF (LEN bytes) at log INDEX. Returns the replies (the caller frees them
 * with fsm_result_free), or NULL for an entry that yields none. Never fails: a command that
 * fails yields an error reply; an undecodable entry is logged and skipped. */
struct fsm_result *fsm_apply(struct fsm *f, const void *buf, size_t len, uint64_t index);
void fsm_result_free(struct fsm_result *r);

#endif
