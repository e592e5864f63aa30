/* Integration tests of ReadIndex reads (read-consistency linearizable) on real 3-node
 * clusters and a single node on free loopback ports: a read costs no log entry, concurrent
 * reads share one round, a read after an acknowledged write sees it, a leader without a
 * majority serves no read, the barrier mode still appends, and a follower's signed
 * CLUSTER READINDEX answer. Every wait polls against a deadline. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fixture.h"
#include "peerauth.h"
#include "tcluster.h"

TestSuite(readindex, .fini = fx_kill_all, .timeout = 120);

#define PIPELINE 100

/* The leader, once it knows every voter's RESP address (rounds need them; until then reads
 * take barriers, and the announcements themselves are log entries). */
static int settled_leader(int n)
{
    int ids[] = {1, 2, 3, 0};
    ids[n] = 0;
    int leader = tc_wait_leader();
    tc_wait_members(leader, ids);
    return leader;
}

/* Send N pipelined GET KEY on C and assert every reply is VAL. */
static void pipelined_gets(redisContext *c, const char *key, const char *val, int n)
{
    for (int i = 0; i < n; i++)
        redisAppendCommand(c, "GET %s", key);
    for (int i = 0; i < n; i++) {
        redisReply *r;
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
        fx_assert_string(r, val);
        freeReplyObject(r);
    }
}

/* 1,000 GETs on an idle cluster append nothing to the log; pipelined reads share rounds. */
Test(readindex, reads_cost_no_log_entry_and_share_rounds)
{
    tc_start(3, NULL);
    int leader = settled_leader(3);
    tc_leader_set("k", "v");
    redisContext *c = fx_connect(tc_node(leader)->port);
    pipelined_gets(c, "k", "v", 10); /* the leader's own commit index is settled */
    long long index = tc_raft_ll(leader, "raft_last_index");
    long long rounds = tc_raft_ll(leader, "read_index_rounds");
    long long reads = tc_raft_ll(leader, "read_index_reads");
    for (int i = 0; i < 10; i++)
        pipelined_gets(c, "k", "v", PIPELINE);
    cr_assert_eq(tc_raft_ll(leader, "raft_last_index"), index, "a read appended a log entry");
    cr_assert_eq(tc_raft_ll(leader, "raft_barriers"), 0);
    long long nrounds = tc_raft_ll(leader, "read_index_rounds") - rounds;
    cr_assert_eq(tc_raft_ll(leader, "read_index_reads") - reads, 10 * PIPELINE);
    cr_assert_geq(nrounds, 1);
    cr_assert_leq(nrounds, 10 * PIPELINE / 10, "%lld rounds for %d pipelined reads", nrounds,
                  10 * PIPELINE);
    redisFree(c);
    tc_stop_cleanly();
}

/* Every read on another connection after an acknowledged write returns that write. */
Test(readindex, read_after_acked_write_sees_it)
{
    tc_start(3, NULL);
    int leader = tc_wait_leader();
    redisContext *w = fx_connect(tc_node(leader)->port);
    redisContext *r = fx_connect(tc_node(leader)->port);
    char val[32];
    for (int i = 0; i < 200; i++) {
        snprintf(val, sizeof(val), "v%d", i);
        fx_check_status(w, "OK", "SET k %s", val);
        fx_check_string(r, val, "GET k");
    }
    redisFree(w);
    redisFree(r);
    tc_stop_cleanly();
}

/* With both followers frozen the leader cannot confirm a round: the read is answered with
 * an error (timeout, or a redirect once it steps down), never with data. */
Test(readindex, leader_without_majority_serves_no_read)
{
    const char *args[] = {TC_FAST_TIMEOUTS, "--request-timeout", "1500", NULL};
    tc_start(3, args);
    int leader = tc_wait_leader();
    tc_leader_set("k", "v");
    redisContext *c = fx_connect(tc_node(leader)->port);
    fx_check_string(c, "v", "GET k");
    int others[4];
    int n = tc_ids_except(3, leader, others);
    for (int i = 0; i < n; i++)
        tc_pause(others[i]);
    redisReply *rep = fx_cmd(c, "GET k");
    cr_assert_eq(rep->type, REDIS_REPLY_ERROR, "a leader cut off from its majority answered %s",
                 tc_reply_text(rep));
    freeReplyObject(rep);
    for (int i = 0; i < n; i++)
        tc_resume(others[i]);
    redisFree(c);
    tc_wait_leader();
    tc_leader_expect("k", "v");
    tc_stop_cleanly();
}

/* read-consistency barrier confirms reads with a log entry; linearizable (ReadIndex) does
 * not; both return the same data. */
Test(readindex, barrier_mode_appends_readindex_does_not)
{
    tc_start(3, NULL);
    int leader = settled_leader(3);
    tc_leader_set("k", "v");
    redisContext *c = fx_connect(tc_node(leader)->port);
    fx_check_status(c, "OK", "CONFIG SET read-consistency barrier");
    long long index = tc_raft_ll(leader, "raft_last_index");
    fx_check_string(c, "v", "GET k");
    cr_assert_gt(tc_raft_ll(leader, "raft_last_index"), index);
    cr_assert_geq(tc_raft_ll(leader, "raft_barriers"), 1);
    fx_check_status(c, "OK", "CONFIG SET read-consistency linearizable");
    index = tc_raft_ll(leader, "raft_last_index");
    fx_check_string(c, "v", "GET k");
    cr_assert_eq(tc_raft_ll(leader, "raft_last_index"), index);
    char mode[32];
    cr_assert(tc_info_field(tc_node(leader)->port, "raft", "read_consistency", mode, sizeof(mode)));
    cr_assert_str_eq(mode, "linearizable");
    redisFree(c);
    tc_stop_cleanly();
}

/* A single node confirms a round by itself: reads are served, nothing is appended. */
Test(readindex, single_node_reads_need_no_peer)
{
    tc_start(1, NULL);
    settled_leader(1);
    tc_leader_set("k", "v");
    redisContext *c = fx_connect(tc_node(1)->port);
    long long index = tc_raft_ll(1, "raft_last_index");
    pipelined_gets(c, "k", "v", PIPELINE);
    cr_assert_eq(tc_raft_ll(1, "raft_last_index"), index);
    cr_assert_geq(tc_raft_ll(1, "read_index_reads"), PIPELINE);
    redisFree(c);
    tc_stop_cleanly();
}

/* A follower vouches (ok 1, signed with the cluster secret) only for its leader's id and
 * term; a wrong term or leader gets ok 0. */
Test(readindex, follower_signs_its_answer)
{
    tc_start(3, NULL);
    int leader = tc_wait_leader();
    int others[4];
    tc_ids_except(3, leader, others);
    int f = others[0];
    long long term = tc_raft_ll(leader, "raft_term");
    struct { long long leader, term; int ok; } cases[] = {
        {leader, term, 1}, {leader, term + 1, 0}, {others[1], term, 0},
    };
    redisContext *c = fx_connect(tc_node(f)->port);
    for (int i = 0; i < 3; i++) {
        redisReply *r = fx_cmd(c, "CLUSTER READINDEX %lld %lld 7", cases[i].leader, cases[i].term);
        cr_assert_eq(r->type, REDIS_REPLY_ARRAY, "%s", tc_reply_text(r));
        cr_assert_eq(r->elements, 6);
        cr_assert_eq(r->element[0]->integer, f);
        cr_assert_eq(r->element[1]->integer, term);
        cr_assert_eq(r->element[2]->integer, 7);
        cr_assert_eq(r->element[3]->integer, cases[i].ok, "case %d", i);
        cr_assert(peerauth_readindex_check(FX_CLUSTER_SECRET, (uint64_t)cases[i].leader, (uint64_t)f,
                                           (uint64_t)term, 7, cases[i].ok, r->element[4]->integer,
                                           r->element[5]->str, r->element[5]->len),
                  "case %d: the proof does not verify", i);
        cr_assert_not(peerauth_readindex_check("another secret", (uint64_t)cases[i].leader,
                                               (uint64_t)f, (uint64_t)term, 7, cases[i].ok,
                                               r->element[4]->integer, r->element[5]->str,
                                               r->element[5]->len));
        freeReplyObject(r);
    }
    fx_check_error(c, "ERR value is not an integer or out of range", "CLUSTER READINDEX x 1 1");
    redisFree(c);
    tc_stop_cleanly();
}
