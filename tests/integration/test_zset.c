/* Integration tests of sorted sets on a real 3-node cluster (free loopback ports, temp dirs):
 * sorted-set writes in both encodings, ZPOPMIN and ZUNIONSTORE among them, replicate to the
 * same DEBUG DIGEST on every node, through snapshots, a failover and a full restart; the
 * conversion thresholds are the proposing node's, carried in the log. Every wait polls
 * against a deadline. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "tcluster.h"

TestSuite(zset, .fini = fx_kill_all, .timeout = 150);

static void expect_bulk(const char *want, const char *fmt, const char *key)
{
    redisReply *r = tc_leader_cmd(TC_WRITE_MS, fmt, key);
    fx_assert_string(r, want);
    freeReplyObject(r);
}

/* Pipeline the writes of both encodings and check every reply is not an error. */
static void write_zsets(redisContext *c)
{
    redisReply *r;
    int sent = 0;
    for (int i = 0; i < 300; i++, sent++)
        redisAppendCommand(c, "ZADD big %d m%d", i % 17, i);
    for (int i = 0; i < 40; i++, sent++)
        redisAppendCommand(c, "ZADD small:%d %d a 1.5 b", i, i);
    for (int i = 0; i < 10; i++, sent++)
        redisAppendCommand(c, "ZINCRBY small:0 0.1 c");
    for (int i = 0; i < 5; i++, sent++)
        redisAppendCommand(c, "ZPOPMIN big 3");
    redisAppendCommand(c, "ZUNIONSTORE u 3 big small:1 small:2 WEIGHTS 1 2 3 AGGREGATE MAX");
    redisAppendCommand(c, "ZINTERSTORE i 2 small:1 small:2");
    redisAppendCommand(c, "ZRANGESTORE r big 0 9");
    sent += 3;
    for (int i = 0; i < sent; i++) {
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
        cr_assert(r->type != REDIS_REPLY_ERROR, "reply %d: %s", i, r->str);
        freeReplyObject(r);
    }
}

/* Sorted sets of both encodings converge to one digest on every node (snapshots taken
 * past a small threshold), on the two nodes left after the leader stops, and after a full
 * restart. */
Test(zset, replicated_digest_equal_through_failover_and_restart)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    char before[41], after[41];
    int idx;
    redisContext *c = start_cluster_on_leader(args, &idx);

    write_zsets(c);
    for (int i = 0; i < 120; i++) /* one entry each: past the snapshot threshold */
        fx_check_integer(c, 1, "ZADD one:%d %d m%d", i % 3, i, i);
    fx_check_integer(c, 285, "ZCARD big");
    fx_check_string(c, "skiplist", "OBJECT ENCODING big");
    fx_check_string(c, "listpack", "OBJECT ENCODING small:1");
    fx_check_string(c, "0.99999999999999989", "ZSCORE small:0 c");
    redisFree(c);
    tc_assert_converged(NULL, NULL, before);

    tc_stop_node_cleanly(idx + 1);
    int lead = wait_leader();
    cr_assert_neq(lead, idx);
    tc_assert_converged(NULL, before, NULL);
    redisReply *r = tc_leader_cmd(TC_WRITE_MS, "ZPOPMAX big 2");
    cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 4);
    freeReplyObject(r);
    restart_node(idx);
    tc_assert_converged(NULL, NULL, before);

    tc_sigterm_all();
    tc_spawn_all();
    wait_leader();
    tc_assert_converged(NULL, before, after);
    expect_bulk("skiplist", "OBJECT ENCODING %s", "big");
    expect_bulk("0.99999999999999989", "ZSCORE %s c", "small:0");
    tc_stop_cleanly();
}

/* CONFIG SET of a threshold on the leader only: its writes carry it, so every node converts
 * at the same write and the digests stay equal. */
Test(zset, thresholds_carried_to_followers)
{
    char before[41];
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);

    fx_check_status(c, "OK", "CONFIG SET zset-max-listpack-entries 2");
    fx_check_integer(c, 3, "ZADD z 1 a 2 b 3 c");
    fx_check_string(c, "skiplist", "OBJECT ENCODING z");
    fx_check_integer(c, 2, "ZADD k 1 a 2 b");
    fx_check_string(c, "listpack", "OBJECT ENCODING k");
    fx_check_integer(c, 2, "ZUNIONSTORE u 1 k");
    fx_check_string(c, "listpack", "OBJECT ENCODING u");
    redisFree(c);
    tc_assert_converged(NULL, NULL, before);
    tc_stop_cleanly();
}
