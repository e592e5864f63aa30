/* ReadIndex rounds: how the leader proves, without a log entry, that it was still the leader
 * of its term after a read arrived. A round asks every other voter "am I your leader for term
 * T?" (the dispatcher carries it: cb.read_round, answers through consensus_read_ack); once a
 * majority, this node included, said yes, no other leader can have been elected before the
 * round was sent (a voter that acked had not seen a higher term, and any election needs a
 * majority, which meets the acking one). The follower's side is consensus_vouch.
 * In lease mode each ack also promises no vote for another leader for a while (the follower's
 * election timer has that long to run), so reads are served without a round until the
 * shortest promise, counted from when the round was sent, minus a clock-drift margin.
 * Part of the consensus core: no loop, no sockets; no file-scope state. */
#include "consensus.h"
#include "consensus_int.h"

#include <stdint.h>

#include <raft.h>

#include "fsm.h"
#include "util.h"

/* A round without a majority this long is given up; the reads it held take the next one. */
#define READ_ROUND_RETRY_US 200000LL
/* Lease: keep this fraction of a promise, and this much less, against clock-rate drift. */
#define LEASE_DRIFT_NUM 9
#define LEASE_DRIFT_DEN 10
#define LEASE_DRIFT_MIN_US 5000LL

static int64_t now_us(const struct consensus *cs)
{
    return cs->cb.mono_us ? cs->cb.mono_us(cs->cb.arg) : util_mono_us();
}

int read_round_enabled(const struct consensus *cs)
{
    return cs->read_mode != CONSENSUS_READ_BARRIER && cs->cb.read_round != NULL &&
           consensus_voter_count(cs) <= READ_ROUND_MAX_VOTERS;
}

int read_round_reachable(const struct consensus *cs)
{
    const struct raft_configuration *conf = &cs->raft->configuration;
    int voters = 0, reachable = 0;
    for (unsigned i = 0; i < conf->n; i++) {
        if (conf->servers[i].role != RAFT_VOTER)
            continue;
        voters++;
        const struct fsm_node *n = fsm_node(cs->fsm, conf->servers[i].id);
        reachable += conf->servers[i].id == cs->params.id || (n != NULL && n->resp[0] != '\0');
    }
    return reachable >= voters / 2 + 1;
}

void consensus_set_read_mode(struct consensus *cs, int mode)
{
    cs->read_mode = mode;
    if (mode != CONSENSUS_READ_LEASE)
        cs->round.lease_until_us = 0;
}

/* Round R has its majority. */
static void round_confirm(struct consensus *cs)
{
    struct read_round *r = &cs->round;
    r->inflight = 0;
    r->confirmed = r->seq;
    if (cs->read_mode != CONSENSUS_READ_LEASE || cs->params.election_timeout_ms <= 0)
        return;
    int64_t promise = r->min_remaining_us;
    int64_t cap = cs->params.election_timeout_ms * 1000;
    if (promise > cap)
        promise = cap;
    int64_t lease = promise * LEASE_DRIFT_NUM / LEASE_DRIFT_DEN - LEASE_DRIFT_MIN_US;
    if (lease > 0)
        r->lease_until_us = r->sent_us + lease;
}

uint64_t read_round_start(struct consensus *cs)
{
    struct read_round *r = &cs->round;
    const struct raft_configuration *conf = &cs->raft->configuration;
    r->seq++;
    r->inflight = 1;
    r->term = cs->raft->current_term;
    r->sent_us = now_us(cs);
    r->nvoters = r->acks = 0;
    r->min_remaining_us = INT64_MAX;
    for (unsigned i = 0; i < conf->n && r->nvoters < READ_ROUND_MAX_VOTERS; i++) {
        if (conf->servers[i].role != RAFT_VOTER)
            continue;
        int self = conf->servers[i].id == cs->params.id;
        r->voters[r->nvoters] = conf->servers[i].id;
        r->acked[r->nvoters++] = (unsigned char)self;
        r->acks += self;
    }
    r->quorum = r->nvoters / 2 + 1;
    cs->stats.read_index_rounds++;
    if (r->acks >= r->quorum)
        round_confirm(cs);
    else
        cs->cb.read_round(cs->cb.arg, r->term, r->seq);
    return r->seq;
}

int read_round_confirms(const struct consensus *cs, uint64_t seq)
{
    const struct read_round *r = &cs->round;
    if (seq != 0 && r->confirmed >= seq)
        return 1;
    /* A lease holds only in the term it was taken, and not while a transfer may let the
     * target be elected by voters that promised us nothing. */
    return cs->read_mode == CONSENSUS_READ_LEASE && r->lease_until_us > now_us(cs) &&
           r->term == cs->raft->current_term && cs->raft->transfer == NULL;
}

void consensus_read_ack(struct consensus *cs, uint64_t seq, uint64_t term, uint64_t id,
                        long long remaining_ms)
{
    struct read_round *r = &cs->round;
    if (!r->inflight || seq != r->seq || term != r->term || cs->role != RAFT_LEADER ||
        !cs->raft_open || cs->closed || cs->raft->current_term != term)
        return;
    for (int i = 0; i < r->nvoters; i++) {
        if (r->voters[i] != id || r->acked[i])
            continue;
        r->acked[i] = 1;
        r->acks++;
        int64_t promise = remaining_ms > 0 ? (int64_t)remaining_ms * 1000 : 0;
        if (promise < r->min_remaining_us)
            r->min_remaining_us = promise;
        if (r->acks >= r->quorum) {
            round_confirm(cs);
            cs->cb.want_flush(cs->cb.arg);
        }
        return;
    }
}

int read_round_expire(struct consensus *cs)
{
    struct read_round *r = &cs->round;
    if (!r->inflight || now_us(cs) - r->sent_us < READ_ROUND_RETRY_US)
        return 0;
    r->inflight = 0;
    cs->stats.read_index_retries++;
    return 1;
}

void read_round_reset(struct consensus *cs)
{
    cs->round.inflight = 0;
    cs->round.lease_until_us = 0;
}

int consensus_vouch(const struct consensus *cs, uint64_t leader, uint64_t term, uint64_t *my_term,
                    long long *remaining_ms)
{
    const struct raft *r = cs->raft;
    *my_term = 0;
    *remaining_ms = 0;
    if (!cs->raft_open || cs->closed || leader == 0)
        return 0;
    *my_term = r->current_term;
    if (r->state != RAFT_FOLLOWER || r->current_term != term ||
        r->follower_state.current_leader.id != leader)
        return 0;
    /* Until the election timer fires this node refuses every vote (it has a leader). raft's
     * clock is libuv's cached, possibly coarse, time: never ahead of the monotonic clock, so
     * the elapsed time is not underestimated. */
    long long elapsed = (long long)(util_mono_us() / 1000) - (long long)r->election_timer_start;
    long long left = (long long)r->follower_state.randomized_election_timeout - elapsed;
    *remaining_ms = left > 0 ? left : 0;
    return 1;
}
