/* Integration tests of writes that change nothing (probe.h, cmd_noop.c), answered through
 * the read path with no log entry: pops and removals on a missing key, SADD of members
 * already there; anything that might change the keyspace (an expired key, a wrong type, a
 * new member) still goes to the log. A client's pipeline keeps its order when a probe is
 * followed by writes, and concurrent pushes and pops on a 3-node cluster neither lose nor
 * duplicate an element whichever way each probe resolves. Every wait polls a deadline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "tcluster.h"

TestSuite(noop, .fini = fx_kill_all, .timeout = 150);

static long long proposed(int port)
{
    return tc_info_ll(port, "raft", "raft_commands_proposed");
}

static long long noops(int port)
{
    return tc_info_ll(port, "stats", "noop_writes_as_reads");
}

/* A single node, started, and a connection to it. */
static redisContext *start_one(struct fx_server **s)
{
    *s = fx_server_new(1, NULL);
    cr_assert(fx_server_start(*s) == 0);
    return fx_connect((*s)->port);
}

/* Close C and stop S cleanly (exit status 0). */
static void stop_one(struct fx_server *s, redisContext *c)
{
    redisFree(c);
    cr_assert_eq(fx_server_stop(s), 0);
    fx_server_free(s);
}

/* The next reply of C: the integer WANT. */
static void next_integer(redisContext *c, long long want)
{
    redisReply *r;
    cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK);
    fx_assert_integer(r, want);
    freeReplyObject(r);
}

/* The replies of a pipelined LPOP q, RPUSH q e<ROUND>, LPOP q on an empty q: nil, 1, e<ROUND>. */
static void expect_pop_push_pop(redisContext *c, int round)
{
    redisReply *r;
    char want[16];
    cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK);
    fx_assert_nil(r);
    freeReplyObject(r);
    next_integer(c, 1);
    cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK);
    snprintf(want, sizeof want, "e%d", round);
    fx_assert_string(r, want);
    freeReplyObject(r);
}

/* Writes that change nothing are answered as Redis answers them and propose nothing. */
Test(noop, writes_that_change_nothing_propose_nothing)
{
    struct fx_server *s;
    redisContext *c = start_one(&s);
    fx_check_integer(c, 3, "SADD s a b c");
    long long p0 = proposed(s->port), n0 = noops(s->port);
    fx_check_integer(c, 0, "SADD s a b");
    fx_check_nil(c, "LPOP nolist");
    fx_check_nil(c, "RPOP nolist");
    fx_check_nil(c, "SPOP noset");
    fx_check_integer(c, 0, "SREM noset a");
    fx_check_integer(c, 0, "HDEL nohash f");
    fx_check_integer(c, 0, "ZREM nozset m");
    redisReply *r = fx_cmd(c, "ZPOPMIN nozset 3");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 0);
    freeReplyObject(r);
    r = fx_cmd(c, "SPOP noset 2");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 0);
    freeReplyObject(r);
    /* argument errors come from the write's own checks */
    fx_check_error(c, "ERR value is out of range, must be positive", "LPOP nolist -1");
    fx_check_error(c, "ERR value is out of range, must be positive", "ZPOPMAX nozset -1");
    cr_assert_eq(proposed(s->port), p0, "a no-op write reached the log");
    cr_assert_eq(noops(s->port) - n0, 11);
    /* these change something, or might: the log */
    fx_check_integer(c, 1, "SADD s a d");
    fx_check_status(c, "OK", "SET str v");
    fx_check_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value", "LPOP str");
    cr_assert_eq(proposed(s->port), p0 + 3);
    stop_one(s, c);
}

/* A key that has expired but is still stored is deleted by the pop's apply: not a no-op. */
Test(noop, a_pop_on_an_expired_key_goes_to_the_log)
{
    struct fx_server *s;
    redisContext *c = start_one(&s);
    fx_check_integer(c, 1, "RPUSH l a");
    /* counted before the PEXPIRE: the leader's expiry cycle may delete the key at any time
     * after it */
    long long p0 = proposed(s->port), n0 = noops(s->port);
    long long e0 = tc_info_ll(s->port, "stats", "expired_keys_proposed");
    fx_check_integer(c, 1, "PEXPIRE l 1");
    /* no sleep: the pop below is proposed whatever the clock says, since the key is stored;
     * unless the expiry cycle deleted it first (then the pop is a no-op, and the cycle's
     * entry counts instead), which expired_keys_proposed tells */
    redisReply *r = fx_cmd(c, "LPOP l");
    cr_assert(r->type == REDIS_REPLY_NIL || (r->type == REDIS_REPLY_STRING && strcmp(r->str, "a") == 0));
    freeReplyObject(r);
    cr_assert_geq(proposed(s->port), p0 + 2, "PEXPIRE, and the pop or the expiry cycle's delete");
    if (tc_info_ll(s->port, "stats", "expired_keys_proposed") == e0)
        cr_assert_eq(noops(s->port), n0, "a pop on a stored, expired key was answered as a no-op");
    fx_check_integer(c, 0, "EXISTS l");
    stop_one(s, c);
}

/* A pipeline keeps its order: a pop that looked like a no-op is followed by a push and a
 * pop of the same list; the first pop gets nothing (checked on arrival) and the second, sent
 * while the push is not answered yet, goes to the log after it and gets the element. And
 * SADD of a present member, then SREM of it, then SISMEMBER: 0, 1, 0. */
Test(noop, a_pipeline_keeps_its_order_around_a_probe)
{
    struct fx_server *s;
    redisContext *c = start_one(&s);
    fx_check_integer(c, 1, "SADD s x");
    for (int round = 0; round < 50; round++) {
        redisAppendCommand(c, "LPOP q");
        redisAppendCommand(c, "RPUSH q e%d", round);
        redisAppendCommand(c, "LPOP q");
        redisAppendCommand(c, "SADD s x");
        redisAppendCommand(c, "SREM s x");
        redisAppendCommand(c, "SISMEMBER s x");
        redisAppendCommand(c, "SADD s x");
        expect_pop_push_pop(c, round);
        long long expect[] = {0, 1, 0, 1};
        for (int i = 0; i < 4; i++)
            next_integer(c, expect[i]);
    }
    fx_check_integer(c, 0, "EXISTS q");
    stop_one(s, c);
}

/* A no-op stays one when its client's next command writes the same key: in each pipelined
 * round the first SADD (a present member) and the first LPOP (an empty list) are answered
 * with no entry although a write of their key follows at once; what comes after an
 * unanswered write of the client goes to the log. */
Test(noop, a_probe_followed_by_a_write_stays_a_no_op)
{
    struct fx_server *s;
    redisContext *c = start_one(&s);
    fx_check_integer(c, 1, "SADD s x");
    long long p0 = proposed(s->port), n0 = noops(s->port);
    for (int round = 0; round < 20; round++) {
        redisAppendCommand(c, "SADD s x");
        redisAppendCommand(c, "SADD s m%d", round);
        redisAppendCommand(c, "SADD s x");
        next_integer(c, 0);
        next_integer(c, 1);
        next_integer(c, 0);
        redisAppendCommand(c, "LPOP q");
        redisAppendCommand(c, "RPUSH q e%d", round);
        redisAppendCommand(c, "LPOP q");
        expect_pop_push_pop(c, round);
    }
    /* per round: two no-ops answered as reads; the second SADD x, RPUSH and LPOP logged */
    cr_assert_eq(noops(s->port) - n0, 40);
    cr_assert_eq(proposed(s->port) - p0, 80);
    fx_check_integer(c, 21, "SCARD s");
    stop_one(s, c);
}

#define PRODUCERS 3
#define ITEMS 300

/* On a 3-node cluster, consumers pipeline LPOPs on a queue that is often empty (their pops
 * are probes) while producers push into it: every item pushed is popped exactly once or
 * left in the queue, and the followers hold the same data. */
Test(noop, concurrent_pops_and_pushes_lose_and_duplicate_nothing)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, NULL};
    int idx;
    redisContext *seed = start_cluster_on_leader(args, &idx);
    redisFree(seed);
    int port = node(idx)->port;
    redisContext *prod[PRODUCERS], *cons[2];
    for (int i = 0; i < PRODUCERS; i++)
        prod[i] = fx_connect(port);
    for (int i = 0; i < 2; i++)
        cons[i] = fx_connect(port);
    static char seen[PRODUCERS][ITEMS];
    int popped = 0;
    for (int k = 0; k < ITEMS; k++) {
        for (int i = 0; i < PRODUCERS; i++)
            redisAppendCommand(prod[i], "RPUSH q %d:%d", i, k);
        for (int j = 0; j < 2; j++)
            for (int n = 0; n < 4; n++)
                redisAppendCommand(cons[j], "LPOP q");
        for (int i = 0; i < PRODUCERS; i++) {
            redisReply *r;
            cr_assert(redisGetReply(prod[i], (void **)&r) == REDIS_OK);
            cr_assert(r->type == REDIS_REPLY_INTEGER, "RPUSH: %s", tc_reply_text(r));
            freeReplyObject(r);
        }
        for (int j = 0; j < 2; j++)
            for (int n = 0; n < 4; n++) {
                redisReply *r;
                int pi, pk;
                cr_assert(redisGetReply(cons[j], (void **)&r) == REDIS_OK);
                if (r->type == REDIS_REPLY_STRING) {
                    cr_assert(sscanf(r->str, "%d:%d", &pi, &pk) == 2);
                    cr_assert(!seen[pi][pk], "%s popped twice", r->str);
                    seen[pi][pk] = 1;
                    popped++;
                } else {
                    fx_assert_nil(r);
                }
                freeReplyObject(r);
            }
    }
    redisReply *rest = fx_cmd(prod[0], "LRANGE q 0 -1");
    cr_assert(rest->type == REDIS_REPLY_ARRAY);
    for (size_t e = 0; e < rest->elements; e++) {
        int pi, pk;
        cr_assert(sscanf(rest->element[e]->str, "%d:%d", &pi, &pk) == 2);
        cr_assert(!seen[pi][pk], "%s both popped and still queued", rest->element[e]->str);
        seen[pi][pk] = 1;
    }
    for (int i = 0; i < PRODUCERS; i++)
        for (int k = 0; k < ITEMS; k++)
            cr_assert(seen[i][k], "%d:%d was lost", i, k);
    cr_assert_eq((size_t)popped + rest->elements, (size_t)PRODUCERS * ITEMS);
    freeReplyObject(rest);
    cr_assert_gt(noops(port), 0, "no pop was ever answered as a no-op");
    for (int i = 0; i < PRODUCERS; i++)
        redisFree(prod[i]);
    for (int i = 0; i < 2; i++)
        redisFree(cons[i]);
    tc_assert_converged(NULL, NULL, NULL);
    tc_stop_cleanly();
}
