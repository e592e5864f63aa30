/* Integration tests of Lua scripts on a real 3-node cluster (free loopback ports, temp dirs):
 * a script's writes, its random numbers and its clock are the same on every node (DEBUG
 * DIGEST); SCRIPT LOAD is replicated, so EVALSHA works on the new leader after the old one is
 * killed; a runaway script is aborted on every node with its partial writes undone, and the
 * cluster keeps serving. Every wait polls against a deadline. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "tcluster.h"

TestSuite(script, .fini = fx_kill_all, .timeout = 150);

/* Scripts writing strings, hashes and sets from random numbers and TIME converge to one
 * digest on every node; EVAL_RO reads on the leader; followers redirect. */
Test(script, writes_equal_on_every_node)
{
    char digest[41];
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);
    for (int i = 0; i < 50; i++) {
        redisReply *r = redisCommand(c,
            "EVAL %s 2 s:%d h:%d %d",
            "redis.call('set', KEYS[1], math.random(1000000)) "
            "redis.call('hset', KEYS[2], 'f', ARGV[1], 't', redis.call('time')[1]) "
            "redis.call('sadd', 'all', math.random()) "
            "return redis.call('incr', 'n')", i, i, i);
        fx_assert_integer(r, i + 1);
        freeReplyObject(r);
    }
    fx_check_string(c, "50", "EVAL_RO %s 1 n", "return redis.call('get', KEYS[1])");
    redisFree(c);
    tc_assert_converged(NULL, NULL, digest);
    cr_assert_str_neq(digest, "0000000000000000000000000000000000000000");
    int f = (idx + 1) % 3;
    redisReply *r = tc_port_cmd(node(f)->port, "EVAL %s 0", "return 1");
    cr_assert(tc_is_error(r, "MOVED"), "follower: %s", tc_reply_text(r));
    freeReplyObject(r);
    tc_stop_cleanly();
}

/* SCRIPT LOAD reaches every node: after the leader is killed, EVALSHA runs on the new one. */
Test(script, evalsha_after_failover)
{
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);
    redisReply *r = redisCommand(c, "SCRIPT LOAD %s", "return redis.call('incrby', KEYS[1], ARGV[1])");
    cr_assert(r != NULL && r->type == REDIS_REPLY_STRING && r->len == 40, "%s", tc_reply_text(r));
    char sha[41];
    memcpy(sha, r->str, 41);
    freeReplyObject(r);
    fx_check_integer(c, 5, "EVALSHA %s 1 k 5", sha);
    redisFree(c);
    tc_assert_converged(NULL, NULL, NULL);
    fx_server_kill(node(idx));
    int nidx = wait_leader();
    cr_assert_neq(nidx, idx);
    r = tc_leader_cmd(TC_WRITE_MS, "EVALSHA %s 1 k 2", sha);
    fx_assert_integer(r, 7);
    freeReplyObject(r);
    r = tc_leader_cmd(TC_WRITE_MS, "SCRIPT EXISTS %s", sha);
    cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
              r->element[0]->integer == 1, "%s", tc_reply_text(r));
    freeReplyObject(r);
    tc_stop_all();
}

/* An endless loop with writes before it is aborted at the budget the leader carried, on every
 * node: the client gets the error, the keys are as before everywhere, and writes go on. */
Test(script, runaway_script_aborted_everywhere)
{
    char before[41], after[41];
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);
    const char *body = "redis.call('set', 'k', 'partial') redis.call('set', 'other', 1) "
                       "while true do end";
    fx_check_status(c, "OK", "SET k before");
    fx_check_status(c, "OK", "CONFIG SET busy-script-limit 2000000");
    /* cached first: the digest covers the script cache, which EVAL would change */
    redisReply *r = redisCommand(c, "SCRIPT LOAD %s", body);
    cr_assert(r != NULL && r->type == REDIS_REPLY_STRING, "%s", tc_reply_text(r));
    freeReplyObject(r);
    redisFree(c);
    tc_assert_converged(NULL, NULL, before);
    c = fx_connect(node(idx)->port);
    r = redisCommand(c, "EVAL %s 0", body);
    cr_assert(tc_is_error(r, "ERR Script aborted: it ran more than busy-script-limit (2000000)"),
              "%s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_string(c, "before", "GET k");
    fx_check_integer(c, 0, "EXISTS other");
    redisFree(c);
    tc_assert_converged(NULL, before, NULL);
    for (int i = 0; i < 3; i++) {
        r = tc_port_cmd(node(i)->port, "EVAL_RO %s 0", "return 1");
        cr_assert(r != NULL, "node %d does not answer", i);
        freeReplyObject(r);
    }
    tc_leader_set("k", "after");
    tc_assert_converged(NULL, NULL, after);
    cr_assert_str_neq(after, before);
    tc_stop_cleanly();
}
