/* canonical/raft 0.15's deposed-leader stall (docs/SAFETY.md, F4) in raft's own in-memory
 * cluster fixture (deterministic: simulated time and network), and the consensus_guard
 * workaround that consensus_uv.c installs on every node. */
#include <criterion/criterion.h>
#include <string.h>

#include <raft.h>
#include <raft/fixture.h>

#include "consensus_guard.h"

#define N 3

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    *result = NULL;
    return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n)
{
    *bufs = raft_malloc(sizeof **bufs);
    (*bufs)[0].len = 8;
    (*bufs)[0].base = raft_calloc(1, 8);
    *n = 1;
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    raft_free(buf->base);
    return 0;
}

static void add_entry(struct raft_fixture *f, unsigned i, raft_term term)
{
    struct raft_entry e = {.term = term, .type = RAFT_COMMAND, .batch = NULL};
    e.buf.len = 8;
    e.buf.base = raft_calloc(1, 8); /* the fixture owns it */
    raft_fixture_add_entry(f, i, &e);
}

struct cluster {
    struct raft_fixture f;
    struct raft_fsm fsms[N];
    struct consensus_guard guards[N];
    int guarded;
};

/* Servers 0 (A), 1 (B), 2 (C), all at term 2 with entries 1 (configuration) and 2 of
 * term 2; A, the leader of term 2, also holds entry 3 of term 2 that it never replicated
 * (it was stopped right after appending it, as at the end of a leadership transfer). */
static void cluster_start(struct cluster *c, int guarded)
{
    struct raft_configuration conf;
    memset(c, 0, sizeof(*c));
    c->guarded = guarded;
    cr_assert_eq(raft_fixture_initialize(&c->f), 0);
    for (unsigned i = 0; i < N; i++) {
        c->fsms[i].version = 1;
        c->fsms[i].apply = fsm_apply;
        c->fsms[i].snapshot = fsm_snapshot;
        c->fsms[i].restore = fsm_restore;
        cr_assert_eq(raft_fixture_grow(&c->f, &c->fsms[i]), 0);
    }
    cr_assert_eq(raft_fixture_configuration(&c->f, N, &conf), 0);
    cr_assert_eq(raft_fixture_bootstrap(&c->f, &conf), 0);
    raft_configuration_close(&conf);
    for (unsigned i = 0; i < N; i++) {
        raft_fixture_set_term(&c->f, i, 2);
        add_entry(&c->f, i, 2);
        raft_set_pre_vote(raft_fixture_get(&c->f, i), true); /* as consensus_uv.c */
        if (guarded)
            consensus_guard_install(&c->guards[i], &c->f.servers[i].io);
    }
    add_entry(&c->f, 0, 2);
    /* B's election timer fires first. */
    raft_fixture_set_randomized_election_timeout(&c->f, 0, 5000);
    raft_fixture_set_randomized_election_timeout(&c->f, 1, 1000);
    raft_fixture_set_randomized_election_timeout(&c->f, 2, 5000);
    cr_assert_eq(raft_fixture_start(&c->f), 0);
}

static void cluster_close(struct cluster *c)
{
    raft_fixture_close(&c->f);
    if (c->guarded)
        for (unsigned i = 0; i < N; i++)
            consensus_guard_remove(&c->guards[i]);
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    raft_free(req);
}

/* Propose one command on server I (the leader). */
static void propose(struct cluster *c, unsigned i)
{
    struct raft_buffer buf = {.base = raft_calloc(1, 8), .len = 8};
    struct raft_apply *req = raft_malloc(sizeof(*req));
    cr_assert_eq(raft_apply(raft_fixture_get(&c->f, i), req, &buf, 1, apply_cb), 0);
}

/* B is elected with C's vote (A refuses: its log is longer) and, as consensus.c does on
 * election, proposes its barrier at once, before A's answer to the election heartbeat
 * arrives; C's acknowledgement commits it. Then the cluster is idle (heartbeats only), as
 * at the end of a test or a chaos scenario. Returns the index B has applied. */
static raft_index elect_b_and_write(struct cluster *c)
{
    struct raft *b = raft_fixture_get(&c->f, 1);
    cr_assert(raft_fixture_step_until_state_is(&c->f, 1, RAFT_LEADER, 10000));
    propose(c, 1); /* index 3, term 3: conflicts with A's entry 3 */
    cr_assert(raft_fixture_step_until_applied(&c->f, 1, 3, 5000));
    return raft_last_applied(b);
}

/* Without the guard, raft 0.15 leaves A behind for good: B records match index 3 for A,
 * then ignores every rejection A sends (at or below that match). If this test fails, the
 * installed libraft no longer has the bug, and consensus_guard.c can go. */
Test(consensus_guard, raft_0_15_leaves_the_deposed_leader_behind_without_it)
{
    struct cluster c;
    cluster_start(&c, 0);
    raft_index applied = elect_b_and_write(&c);
    cr_assert_eq(applied, 3);
    cr_assert_not(raft_fixture_step_until_applied(&c.f, 0, applied, 30000),
                  "A caught up without the guard: has libraft been fixed?");
    cr_assert_lt(raft_last_applied(raft_fixture_get(&c.f, 0)), 3);
    cluster_close(&c);
}

Test(consensus_guard, the_deposed_leader_truncates_its_tail_and_catches_up)
{
    struct cluster c;
    cluster_start(&c, 1);
    raft_index applied = elect_b_and_write(&c);
    cr_assert_eq(applied, 3);
    cr_assert(raft_fixture_step_until_applied(&c.f, 0, applied, 30000),
              "A applied %llu of %llu", (unsigned long long)raft_last_applied(raft_fixture_get(&c.f, 0)),
              (unsigned long long)applied);
    cr_assert_geq(c.guards[0].clamped, 1, "A's answer to the election heartbeat was corrected");
    /* And it keeps up with later writes. */
    for (int k = 0; k < 10; k++)
        propose(&c, 1);
    raft_index last = raft_last_index(raft_fixture_get(&c.f, 1));
    cr_assert(raft_fixture_step_until_applied(&c.f, N, last, 30000)); /* N: every server */
    cluster_close(&c);
}
