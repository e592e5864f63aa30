/* Integration tests of the typed keyspace on real clusters (free loopback ports, temp dirs):
 * a table of writes across the types replicates to one DEBUG DIGEST on every node, after a
 * leader failover, after a follower restart, and on a node added later that is brought up to
 * date by a snapshot; deleting or flushing huge values frees them lazily while the node keeps
 * answering. Every wait polls against a deadline; nothing asserts a duration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "tcluster.h"

TestSuite(types, .fini = fx_kill_all, .timeout = 240);

/* The writes, one row per command; every %d in a row is the round number (rows may use it
 * twice). Each round sends every row once, so a row must be valid in any round and may fail
 * only with the reply its row names. Append the rows of a new type at the end of its block;
 * the digest checks need nothing else. */
struct write_row {
    const char *fmt;
    const char *error; /* NULL: any non-error reply; else the error prefix this row expects */
};

static const struct write_row writes[] = {
    /* strings */
    {"SET s:%d v%d", NULL},
    {"APPEND s:%d -tail", NULL},
    {"SETRANGE s:%d 3 XY", NULL},
    {"INCRBY n:%d 7", NULL},
    {"INCRBYFLOAT f:%d 0.1", NULL},
    {"SETNX nx:%d first", NULL},
    {"GETSET g:%d now%d", NULL},
    {"MSET m:%d a mm:%d b", NULL},
    {"SET ttl:%d v EX 100000", NULL},
    {"PEXPIRE s:%d 500000", NULL},
    {"INCR s:%d", "ERR value is not an integer"},
    /* hashes: small ones stay listpacks, "big" passes 128 fields and becomes a hashtable */
    {"HSET h:%d f1 a f2 b f3 c", NULL},
    {"HSET big field%d value%d", NULL},
    {"HSETNX h:%d f4 d", NULL},
    {"HINCRBY h:%d count 3", NULL},
    {"HINCRBYFLOAT h:%d float 1.5", NULL},
    {"HDEL h:%d f1", NULL},
    {"HMSET hm:%d a 1 b 2", NULL},
    {"HSET long:%d f xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL},
    {"HSET s:%d f v", "WRONGTYPE"},
    /* generic commands over every type */
    {"COPY h:%d hc:%d", NULL},
    {"RENAME hm:%d hr:%d", NULL},
    {"EXPIRE hc:%d 100000", NULL},
    {"PERSIST hc:%d", NULL},
    {"DEL nx:%d", NULL},
    {"UNLINK mm:%d", NULL},
    /* sets */
    {"SADD si:%d 1 2 3 %d", NULL},
    {"SADD ss:%d a b c d e f", NULL},
    {"SPOP ss:%d", NULL},
    {"SMOVE si:%d ss:%d 2", NULL},
    {"SINTERSTORE sx si:%d ss:%d", NULL},
    {"SUNIONSTORE su si:%d ss:%d", NULL},
    {"SREM si:%d 1", NULL},
    {"SADD h:%d m", "WRONGTYPE"},
    /* sorted sets */
    {"ZADD z:%d 1 a 2 b 3 c %d r", NULL},
    {"ZADD z:%d GT CH 5 a", NULL},
    {"ZINCRBY z:%d 1.5 b", NULL},
    {"ZPOPMIN z:%d", NULL},
    {"ZUNIONSTORE zu 2 z:%d zbig WEIGHTS 2 1", NULL},
    {"ZADD zbig %d m%d", NULL},
    {"ZRANGESTORE zr:%d z:%d 0 -1", NULL},
    {"ZREMRANGEBYSCORE z:%d -inf 1", NULL},
    {"ZADD s:%d 1 m", "WRONGTYPE"},
    /* lists: "lbig" grows past one 8kb node and becomes a quicklist */
    {"RPUSH l:%d a b c %d", NULL},
    {"LPUSH lbig element-%d-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL},
    {"LPOP l:%d", NULL},
    {"LMOVE l:%d lm:%d RIGHT LEFT", NULL},
    {"LINSERT l:%d BEFORE b x%d", NULL},
    {"LREM l:%d 1 c", NULL},
    {"LSET l:%d 0 first", NULL},
    {"LTRIM l:%d 0 10", NULL},
    {"SORT l:%d ALPHA STORE ls:%d", NULL},
    {"LPUSH s:%d x", "WRONGTYPE"},
};
#define NWRITES (sizeof writes / sizeof writes[0])

/* Send rounds FROM..TO-1 of the table to the leader, pipelined per round, and check every
 * reply against its row. Each round connects to the leader of the moment, so a round after
 * a failover reaches the new one. */
static void send_rounds(int from, int to)
{
    char cmd[256];
    for (int round = from; round < to; round++) {
        redisReply *r;
        int leader = tc_wait_leader();
        redisContext *c = fx_connect(tc_node(leader)->port);
        for (size_t i = 0; i < NWRITES; i++) {
            snprintf(cmd, sizeof cmd, writes[i].fmt, round, round);
            redisAppendCommand(c, cmd);
        }
        for (size_t i = 0; i < NWRITES; i++) {
            cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "round %d row %zu: %s", round,
                      i, c->errstr);
            if (writes[i].error != NULL)
                cr_assert(tc_is_error(r, writes[i].error), "round %d row %zu (%s): %s", round, i,
                          writes[i].fmt, tc_reply_text(r));
            else
                cr_assert(r->type != REDIS_REPLY_ERROR, "round %d row %zu (%s): %s", round, i,
                          writes[i].fmt, r->str);
            freeReplyObject(r);
        }
        redisFree(c);
    }
}

/* The table of writes gives one digest on every node; the same after the leader is stopped
 * and a new one elected (and more writes), after a follower restarts, and on a fourth node
 * added afterwards, which the small snapshot threshold forces to start from a snapshot. */
Test(types, digest_equal_through_failover_restart_and_snapshot)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    static const int all4[] = {1, 2, 3, 4, 0};
    char d1[41], d2[41], d3[41], d4[41];
    int others[4];

    tc_start(3, args);
    tc_new_node(4, 0);
    int leader = tc_wait_leader();
    send_rounds(0, 150);
    tc_assert_converged(NULL, NULL, d1);
    tc_leader_expect_string("hashtable", "OBJECT ENCODING %s", "big");
    tc_leader_expect_string("listpack", "OBJECT ENCODING %s", "h:7");
    tc_leader_expect_string("hashtable", "OBJECT ENCODING %s", "long:7");
    tc_leader_expect_string("quicklist", "OBJECT ENCODING %s", "lbig");
    tc_leader_expect_string("listpack", "OBJECT ENCODING %s", "l:7");

    /* failover: the leader stops, the other two elect one and hold the same data */
    tc_drop_leader_conn();
    tc_stop_node_cleanly(leader);
    int n = tc_ids_except(3, leader, others);
    cr_assert_eq(n, 2);
    int second = tc_wait_leader();
    cr_assert_neq(second, leader);
    tc_assert_converged(others, d1, NULL);
    send_rounds(150, 200);
    tc_assert_converged(others, NULL, d2);
    cr_assert_str_neq(d1, d2, "the rounds after the failover changed the data");
    tc_start_node(leader);
    tc_assert_converged(NULL, d2, NULL);

    /* a follower restarts while writes go on */
    int follower = second == 1 ? 2 : 1;
    tc_drop_leader_conn();
    tc_stop_node_cleanly(follower);
    send_rounds(200, 230);
    tc_start_node(follower);
    tc_assert_converged(NULL, NULL, d3);

    /* a node added now starts from a snapshot (the log before it is compacted away) */
    tc_start_node(4);
    tc_add_node(4);
    tc_wait_voters(all4, 4);
    tc_assert_converged(all4, d3, d4);
    cr_assert_geq(tc_raft_ll(4, "raft_restores"), 1, "node 4 was not brought up by a snapshot");
    send_rounds(230, 240);
    tc_assert_converged(all4, NULL, NULL);
    tc_stop_cleanly();
}

/* ---- lazy free ---- */

static long long pending(int port)
{
    return tc_info_ll(port, "memory", "lazyfree_pending_objects");
}

/* Fill KEY with FIELDS fields, 1,000 per pipelined HSET. */
static void fill_hash(redisContext *c, const char *key, int fields)
{
    static char buf[1000][16];
    const char *argv[2 + 2 * 1000];
    size_t lens[2 + 2 * 1000];
    int sent = 0;
    for (int base = 0; base < fields; base += 1000) {
        int n = fields - base < 1000 ? fields - base : 1000, argc = 2;
        argv[0] = "HSET";
        argv[1] = key;
        for (int j = 0; j < n; j++) {
            snprintf(buf[j], sizeof buf[j], "f%d", base + j);
            argv[argc++] = buf[j];
            argv[argc++] = "v";
        }
        for (int j = 0; j < argc; j++)
            lens[j] = strlen(argv[j]);
        redisAppendCommandArgv(c, argc, argv, lens);
        sent++;
    }
    for (int i = 0; i < sent; i++) {
        redisReply *r;
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "%s", c->errstr);
        cr_assert(r->type == REDIS_REPLY_INTEGER, "HSET: %s", tc_reply_text(r));
        freeReplyObject(r);
    }
}

/* While values are still queued for freeing, PINGs keep getting answered: at least MIN of
 * them before the queue is empty (polled to a deadline), and the queue does empty. */
static void assert_serves_while_freeing(redisContext *c, int port, int min)
{
    int answered_while_pending = 0;
    int64_t deadline = fx_now_ms() + 60000;
    while (pending(port) > 0) {
        cr_assert_lt(fx_now_ms(), deadline, "lazy free did not finish");
        fx_check_status(c, "PONG", "PING");
        answered_while_pending++;
    }
    cr_assert_geq(answered_while_pending, min,
                  "only %d PINGs answered while the value was being freed",
                  answered_while_pending);
    fx_check_integer(c, 0, "EXISTS big");
}

/* DEL of a 1,000,000-field hash returns at once with the value queued (INFO memory
 * lazyfree_pending_objects), and the node answers PINGs while it is freed in slices; the
 * allocation counter (used_memory) falls back once it is done. */
Test(types, del_of_huge_hash_frees_lazily_and_keeps_serving)
{
    tc_start(1, NULL);
    int port = tc_node(tc_wait_leader())->port;
    redisContext *c = fx_connect(port);
    long long before = tc_info_ll(port, "memory", "used_memory");
    fill_hash(c, "big", 1000000);
    long long full = tc_info_ll(port, "memory", "used_memory");
    cr_assert_gt(full, before + 20000000, "1,000,000 fields allocated %lld bytes",
                 full - before);
    fx_check_integer(c, 1, "DEL big");
    /* 1,000,000 elements take at least 500 slices a millisecond apart: still queued now */
    cr_assert_eq(pending(port), 1);
    assert_serves_while_freeing(c, port, 20);
    long long after = tc_info_ll(port, "memory", "used_memory");
    cr_assert_lt(after, full - 20000000, "used_memory %lld after freeing, %lld full", after,
                 full);
    redisFree(c);
    tc_stop_cleanly();
}

/* FLUSHALL with large values: every one is queued, the node keeps answering, all are freed. */
Test(types, flushall_of_large_values_frees_lazily)
{
    tc_start(1, NULL);
    int port = tc_node(tc_wait_leader())->port;
    redisContext *c = fx_connect(port);
    char key[32];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "h%d", i);
        fill_hash(c, key, 100000);
    }
    fx_check_integer(c, 100000, "HLEN h9");
    fx_check_status(c, "OK", "FLUSHALL");
    long long queued = pending(port);
    cr_assert(queued >= 1 && queued <= 10, "queued after FLUSHALL: %lld", queued);
    fx_check_integer(c, 0, "DBSIZE");
    assert_serves_while_freeing(c, port, 20);
    redisFree(c);
    tc_stop_cleanly();
}
