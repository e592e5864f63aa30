/* Integration tests of lists on a real 3-node cluster (free loopback ports, temp dirs):
 * pushes, pops, LMOVE rotations, LINSERT/LREM/LTRIM/LSET and SORT ... STORE replicate to
 * the same DEBUG DIGEST on every node, through a leader failover, a follower restart, a full
 * restart and on a node added later from a snapshot, with LRANGE the same after each; the
 * fill limit is the proposing node's, carried in the log. Every wait polls a deadline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "tcluster.h"

TestSuite(list, .fini = fx_kill_all, .timeout = 180);

/* LRANGE KEY 0 -1 from the leader, flattened: elements joined by spaces. */
static char *flat(const char *key)
{
    redisReply *r = tc_leader_cmd(TC_WRITE_MS, "LRANGE %s 0 -1", key);
    cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY, "not an array");
    size_t cap = 16, len = 0;
    char *out = calloc(1, cap);
    for (size_t i = 0; i < r->elements; i++) {
        size_t n = r->element[i]->len;
        while (len + n + 2 > cap)
            out = realloc(out, cap *= 2);
        memcpy(out + len, r->element[i]->str, n);
        len += n;
        out[len++] = ' ';
        out[len] = '\0';
    }
    freeReplyObject(r);
    return out;
}

static void drain(redisContext *c, int sent)
{
    redisReply *r;
    for (int i = 0; i < sent; i++) {
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
        cr_assert(r->type != REDIS_REPLY_ERROR, "reply %d: %s", i, r->str);
        freeReplyObject(r);
    }
}

/* A pipelined mix of list writes on the leader of the moment. */
static void list_writes(int from, int to)
{
    redisContext *c = fx_connect(tc_node(tc_wait_leader())->port);
    int sent = 0;
    for (int i = from; i < to; i++) {
        redisAppendCommand(c, "RPUSH q job:%d:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", i);
        redisAppendCommand(c, "LPUSH q head:%d", i);
        redisAppendCommand(c, "LMOVE q work RIGHT LEFT");
        redisAppendCommand(c, "RPOPLPUSH work q");
        redisAppendCommand(c, "LINSERT q AFTER head:%d ins:%d", i, i);
        redisAppendCommand(c, "RPUSH small:%d a b c", i % 10);
        redisAppendCommand(c, "LREM small:%d 1 b", i % 10);
        sent += 7;
        if (i % 10 == 9) {
            redisAppendCommand(c, "LPOP q 3");
            redisAppendCommand(c, "LSET q 0 set:%d", i);
            redisAppendCommand(c, "LTRIM small:%d 0 20", i % 10);
            redisAppendCommand(c, "SORT small:%d ALPHA STORE sorted:%d", i % 10, i % 10);
            redisAppendCommand(c, "LMPOP 2 none small:%d RIGHT COUNT 2", i % 10);
            sent += 5;
        }
    }
    drain(c, sent);
    redisFree(c);
}

/* Writes converge to one digest; the same after the leader stops and a new one takes
 * writes, after a follower restart, and on a node added later from a snapshot. */
Test(list, digest_equal_through_failover_restart_and_new_node)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    static const int all4[] = {1, 2, 3, 4, 0};
    char d1[41], d2[41], d3[41], d4[41];
    int others[4];

    tc_start(3, args);
    tc_new_node(4, 0);
    int leader = tc_wait_leader();
    list_writes(0, 200);
    tc_assert_converged(NULL, NULL, d1);
    tc_leader_expect_string("quicklist", "OBJECT ENCODING %s", "q");
    tc_leader_expect_string("listpack", "OBJECT ENCODING %s", "small:3");
    char *q1 = flat("q");

    tc_drop_leader_conn();
    tc_stop_node_cleanly(leader);
    cr_assert_eq(tc_ids_except(3, leader, others), 2);
    cr_assert_neq(tc_wait_leader(), leader);
    tc_assert_converged(others, d1, NULL);
    char *q2 = flat("q");
    cr_assert_str_eq(q2, q1, "LRANGE differs on the new leader");
    list_writes(200, 260);
    tc_assert_converged(others, NULL, d2);
    tc_start_node(leader);
    tc_assert_converged(NULL, d2, NULL);

    /* a follower restarts (from its snapshot) while writes go on */
    int second = tc_wait_leader();
    int follower = second == 1 ? 2 : 1;
    tc_drop_leader_conn();
    tc_stop_node_cleanly(follower);
    list_writes(260, 280);
    char *q3 = flat("q");
    tc_start_node(follower);
    tc_assert_converged(NULL, NULL, d3);
    char *q4 = flat("q");
    cr_assert_str_eq(q4, q3, "LRANGE differs after the restart");
    tc_leader_expect_string("quicklist", "OBJECT ENCODING %s", "q");

    /* one entry each, past the snapshot threshold: node 4 cannot start from the log */
    redisContext *c = fx_connect(tc_node(tc_wait_leader())->port);
    for (int i = 0; i < 150; i++)
        fx_check_integer(c, 1, "RPUSH one:%d x", i);
    redisFree(c);
    tc_start_node(4);
    tc_add_node(4);
    tc_wait_voters(all4, 4);
    tc_assert_converged(all4, NULL, d4);
    cr_assert_geq(tc_raft_ll(4, "raft_restores"), 1, "node 4 was not brought up by a snapshot");
    list_writes(280, 290);
    tc_assert_converged(all4, NULL, NULL);
    free(q1);
    free(q2);
    free(q3);
    free(q4);
    tc_stop_cleanly();
}

/* CONFIG SET list-max-listpack-size on the leader only: its writes carry it, so every node
 * cuts the same nodes, also when a restart replays the log. */
Test(list, fill_carried_to_followers)
{
    char before[41], after[41];
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);

    fx_check_status(c, "OK", "CONFIG SET list-max-listpack-size 2");
    fx_check_integer(c, 3, "RPUSH l a b c");
    fx_check_string(c, "quicklist", "OBJECT ENCODING l");
    fx_check_status(c, "OK", "CONFIG SET list-max-listpack-size -2");
    fx_check_integer(c, 3, "RPUSH k a b c");
    fx_check_string(c, "listpack", "OBJECT ENCODING k");
    fx_check_status(c, "OK", "CONFIG SET list-compress-depth 1");
    redisFree(c);
    tc_assert_converged(NULL, NULL, before);
    tc_sigterm_all();
    tc_spawn_all();
    wait_leader();
    tc_assert_converged(NULL, before, after);
    tc_leader_expect_string("quicklist", "OBJECT ENCODING %s", "l");
    tc_leader_expect_string("listpack", "OBJECT ENCODING %s", "k");
    tc_stop_cleanly();
}
