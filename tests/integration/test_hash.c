/* Integration tests of hashes on a real 3-node cluster (free loopback ports, temp dirs):
 * hash writes in both encodings replicate to the same DEBUG DIGEST on every node, through
 * snapshots and a full restart; the conversion thresholds are those of the proposing node,
 * carried in the log, so followers with other settings convert at the same write. Every wait
 * polls against a deadline. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "tcluster.h"

TestSuite(hash, .fini = fx_kill_all, .timeout = 150);

/* Hashes of both encodings, written through the leader with a small snapshot threshold,
 * converge to one digest on every node, and the same digest after a full restart. */
Test(hash, replicated_digest_equal_and_survives_restart)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    char before[41], after[41];
    redisReply *r;
    int idx;
    redisContext *c = start_cluster_on_leader(args, &idx);

    int sent = 0;
    for (int i = 0; i < 300; i++, sent++)
        redisAppendCommand(c, "HSET big f%d v%d", i, i);
    for (int i = 0; i < 50; i++, sent++)
        redisAppendCommand(c, "HSET small:%d a %d b x", i, i);
    for (int i = 0; i < 20; i++, sent++)
        redisAppendCommand(c, "HINCRBYFLOAT small:0 f 0.1");
    for (int i = 0; i < 100; i++, sent++)
        redisAppendCommand(c, "HDEL big f%d", i);
    redisAppendCommand(c, "SET s v");
    sent++;
    for (int i = 0; i < sent; i++) {
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
        cr_assert(r->type != REDIS_REPLY_ERROR, "reply %d: %s", i, r->str);
        freeReplyObject(r);
    }
    /* one entry each, past the snapshot threshold: the snapshots hold both encodings */
    for (int i = 0; i < 150; i++)
        fx_check_integer(c, 1, "HSET one:%d f v", i % 3 == 0 ? i : i + 1000);
    fx_check_integer(c, 1, "HSET big extra x");
    fx_check_integer(c, 1, "HDEL big extra");
    fx_check_integer(c, 200, "HLEN big");
    fx_check_string(c, "hashtable", "OBJECT ENCODING big");
    fx_check_string(c, "listpack", "OBJECT ENCODING small:1");
    fx_check_string(c, "2.0000000000000004", "HGET small:0 f"); /* doubles, as INCRBYFLOAT */
    redisFree(c);
    tc_assert_converged(NULL, NULL, before);

    tc_sigterm_all();
    tc_spawn_all();
    wait_leader();
    tc_assert_converged(NULL, before, after);
    tc_leader_expect_string("hashtable", "OBJECT ENCODING %s", "big");
    tc_leader_expect_string("v299", "HGET %s f299", "big");
    tc_leader_expect_string("2.0000000000000004", "HGET %s f", "small:0");
    tc_stop_cleanly();
}

/* CONFIG SET of a threshold on the leader only: its writes carry it, so every node converts
 * at the same write and the digests stay equal, also after a restart replays the log. */
Test(hash, thresholds_carried_to_followers)
{
    char before[41], after[41];
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);

    fx_check_status(c, "OK", "CONFIG SET hash-max-listpack-entries 4");
    fx_check_integer(c, 5, "HSET h a 1 b 2 c 3 d 4 e 5");
    fx_check_string(c, "hashtable", "OBJECT ENCODING h");
    fx_check_integer(c, 3, "HSET k a 1 b 2 c 3");
    fx_check_string(c, "listpack", "OBJECT ENCODING k");
    redisFree(c);
    tc_assert_converged(NULL, NULL, before);
    tc_sigterm_all();
    tc_spawn_all();
    wait_leader();
    tc_assert_converged(NULL, before, after);
    tc_leader_expect_string("hashtable", "OBJECT ENCODING %s", "h");
    tc_stop_cleanly();
}
