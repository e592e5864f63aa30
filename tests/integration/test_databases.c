/* Integration tests of databases (SELECT, MOVE, SWAPDB, FLUSHDB ...) on real 3-node clusters
 * on free loopback ports in temp dirs: writes in several databases replicate (DEBUG DIGEST
 * equal on every node), transactions that SELECT, active expiry and snapshots of databases
 * past 0, and the cluster-aware client's database 0 rule. Every wait polls a deadline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "tcluster.h"

TestSuite(databases, .fini = fx_kill_all, .timeout = 150);

/* Writes in databases 0, 3 and 15 replicate; the digest differs from the same keys all in
 * database 0, which MOVE then makes them, on every node; SWAPDB replicates too. */
Test(databases, writes_in_several_databases_replicate)
{
    char spread[41], in0[41], swapped[41];
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);

    fx_check_status(c, "OK", "SET a zero");
    fx_check_status(c, "OK", "SELECT 3");
    fx_check_status(c, "OK", "SET b three");
    fx_check_status(c, "OK", "SELECT 15");
    fx_check_integer(c, 1, "HSET h f v");
    fx_check_integer(c, 1, "DBSIZE");
    tc_assert_converged(NULL, NULL, spread);

    fx_check_integer(c, 1, "MOVE h 0");
    fx_check_status(c, "OK", "SELECT 3");
    fx_check_integer(c, 1, "MOVE b 0");
    fx_check_integer(c, 0, "DBSIZE");
    fx_check_status(c, "OK", "SELECT 0");
    fx_check_integer(c, 3, "DBSIZE");
    tc_assert_converged(NULL, NULL, in0);
    cr_assert_str_neq(spread, in0, "the digest does not tell databases apart");

    fx_check_status(c, "OK", "SWAPDB 0 9");
    fx_check_integer(c, 0, "DBSIZE");
    fx_check_status(c, "OK", "SELECT 9");
    fx_check_string(c, "three", "GET b");
    tc_assert_converged(NULL, NULL, swapped);
    cr_assert_str_neq(swapped, in0);
    for (int i = 0; i < 3; i++) {
        char v[64];
        cr_assert(tc_info_field(node(i)->port, "keyspace", "db9", v, sizeof(v)), "node %d", i);
        cr_assert_str_eq(v, "keys=3,expires=0,avg_ttl=0");
        cr_assert_not(tc_info_field(node(i)->port, "keyspace", "db0", v, sizeof(v)));
    }
    redisFree(c);
    tc_stop_cleanly();
}

/* SELECT inside MULTI: the commands after it run in that database, and the connection stays
 * there after EXEC; FLUSHDB empties only its own database. */
Test(databases, select_inside_multi_and_flushdb)
{
    char d[41];
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);
    redisReply *r;

    fx_check_status(c, "OK", "SELECT 2");
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "SET k two");
    fx_check_status(c, "QUEUED", "SELECT 7");
    fx_check_status(c, "QUEUED", "SET k seven");
    fx_check_status(c, "QUEUED", "GET k");
    r = fx_cmd(c, "EXEC");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, 4);
    fx_assert_string(r->element[3], "seven");
    freeReplyObject(r);
    fx_check_string(c, "seven", "GET k");
    fx_check_status(c, "OK", "SELECT 2");
    fx_check_string(c, "two", "GET k");
    fx_check_status(c, "OK", "SELECT 8");
    fx_check_error(c, "ERR DB index is out of range", "SELECT 16");
    fx_check_error(c, "ERR value is not an integer or out of range", "SELECT x");

    fx_check_status(c, "OK", "SELECT 2");
    fx_check_status(c, "OK", "FLUSHDB");
    fx_check_integer(c, 0, "DBSIZE");
    fx_check_status(c, "OK", "SELECT 7");
    fx_check_integer(c, 1, "DBSIZE");
    tc_assert_converged(NULL, NULL, d);
    for (int i = 0; i < 3; i++) {
        char v[64];
        cr_assert_not(tc_info_field(node(i)->port, "keyspace", "db2", v, sizeof(v)), "node %d", i);
        cr_assert(tc_info_field(node(i)->port, "keyspace", "db7", v, sizeof(v)), "node %d", i);
    }
    fx_check_status(c, "OK", "FLUSHALL");
    fx_check_integer(c, 0, "DBSIZE");
    redisFree(c);
    tc_stop_cleanly();
}

static bool db5_gone_everywhere(void *arg)
{
    (void)arg;
    char v[64];
    for (int i = 0; i < 3; i++)
        if (tc_info_field(node(i)->port, "keyspace", "db5", v, sizeof(v)))
            return false;
    return true;
}

/* Active expiry in database 5: the leader's __expired entry carries the database, so every
 * node deletes the key there (and not its namesake in database 0). */
Test(databases, expiry_in_database_5_deletes_on_every_node)
{
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);

    fx_check_status(c, "OK", "SET e forever");
    fx_check_status(c, "OK", "SELECT 5");
    fx_check_status(c, "OK", "SET e soon PX 300");
    tc_assert_converged(NULL, NULL, NULL);
    cr_assert(fx_wait_until(db5_gone_everywhere, NULL, TC_CONVERGE_MS),
              "database 5's key did not expire on every node");
    fx_check_status(c, "OK", "SELECT 0");
    fx_check_string(c, "forever", "GET e");
    cr_assert_geq(tc_info_ll(node(idx)->port, "stats", "expired_keys_proposed"), 1);
    redisFree(c);
    tc_stop_cleanly();
}

static bool leader_snapshotted(void *arg)
{
    return tc_info_ll(node(*(int *)arg)->port, "raft", "raft_snapshot_index") > 0;
}

/* Snapshots (a low threshold) and a full restart keep every database. */
Test(databases, snapshot_and_restart_keep_every_database)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    char before[41], after[41];
    int idx;
    redisContext *c = start_cluster_on_leader(args, &idx);

    for (int i = 0; i < 300; i++) {
        fx_check_status(c, "OK", "SELECT %d", i % 16);
        fx_check_status(c, "OK", "SET key:%d val:%d", i, i);
    }
    cr_assert(fx_wait_until(leader_snapshotted, &idx, TC_CONVERGE_MS), "no snapshot was taken");
    redisFree(c);
    tc_assert_converged(NULL, NULL, before);
    tc_sigterm_all();
    tc_spawn_all();
    idx = wait_leader();
    tc_assert_converged(NULL, before, after);
    c = fx_connect(node(idx)->port);
    for (int d = 0; d < 16; d++) {
        fx_check_status(c, "OK", "SELECT %d", d);
        fx_check_integer(c, d < 12 ? 19 : 18, "DBSIZE");
    }
    fx_check_status(c, "OK", "SELECT 13");
    fx_check_string(c, "val:29", "GET key:29");
    redisFree(c);
    tc_stop_cleanly();
}

/* A client that asked for the topology (CLUSTER SLOTS, SHARDS or NODES) keeps Redis Cluster's
 * rule: database 0 only. Another connection still selects any. */
Test(databases, cluster_aware_client_is_refused_select)
{
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);
    redisReply *r = fx_cmd(c, "CLUSTER SLOTS");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    fx_check_error(c, "ERR SELECT is not allowed in cluster mode", "SELECT 1");
    fx_check_status(c, "OK", "SELECT 0");
    redisFree(c);

    c = fx_connect(node(idx)->port);
    fx_check_status(c, "OK", "SELECT 1");
    r = fx_cmd(c, "CLIENT INFO");
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    cr_assert(strstr(r->str, " db=1 ") != NULL, "%s", r->str);
    freeReplyObject(r);
    redisFree(c);
    tc_stop_cleanly();
}

/* WATCH is per database: a write of the same name in another database leaves the transaction
 * alone, one in the watched database aborts it. */
Test(databases, watch_is_per_database)
{
    int idx;
    redisContext *a = start_cluster_on_leader(NULL, &idx);
    redisContext *b = fx_connect(node(idx)->port);
    redisReply *r;

    fx_check_status(a, "OK", "SELECT 3");
    fx_check_status(a, "OK", "WATCH w");
    fx_check_status(a, "OK", "MULTI");
    fx_check_status(a, "QUEUED", "SET w a");
    fx_check_status(b, "OK", "SET w other-db");
    r = fx_cmd(a, "EXEC");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY, "a write in database 0 aborted a watch in 3");
    freeReplyObject(r);

    fx_check_status(a, "OK", "WATCH w");
    fx_check_status(a, "OK", "MULTI");
    fx_check_status(a, "QUEUED", "SET w b");
    fx_check_status(b, "OK", "SELECT 3");
    fx_check_status(b, "OK", "SET w same-db");
    r = fx_cmd(a, "EXEC");
    cr_assert_eq(r->type, REDIS_REPLY_NIL, "got %s", fx_reply_type_name(r->type));
    freeReplyObject(r);
    fx_check_string(a, "same-db", "GET w");
    redisFree(a);
    redisFree(b);
    tc_stop_cleanly();
}

static bool one_blocked(void *arg)
{
    return tc_info_ll(node(*(int *)arg)->port, "clients", "blocked_clients") == 1;
}

/* A client blocked in database 2 is not served by a push in database 0 (the element stays
 * there) but by the push in its own. */
Test(databases, blocking_pop_waits_in_its_database)
{
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);
    int fd = fx_raw_connect(node(idx)->port);

    fx_raw_send_str(fd, "SELECT 2\r\n");
    fx_raw_expect(fd, "+OK\r\n", 5000);
    fx_raw_send_str(fd, "BLPOP q 30\r\n");
    cr_assert(fx_wait_until(one_blocked, &idx, TC_WRITE_MS), "the BLPOP did not block");
    fx_check_integer(c, 1, "RPUSH q zero");
    fx_check_status(c, "OK", "SELECT 2");
    fx_check_integer(c, 1, "RPUSH q two");
    fx_raw_expect(fd, "*2\r\n$1\r\nq\r\n$3\r\ntwo\r\n", 10000);
    fx_check_integer(c, 0, "LLEN q");
    fx_check_status(c, "OK", "SELECT 0");
    fx_check_string(c, "zero", "LPOP q");
    close(fd);
    redisFree(c);
    tc_stop_cleanly();
}

/* Keyspace events name the key's database: a subscriber on a follower gets __keyspace@4__. */
Test(databases, keyspace_events_name_the_database)
{
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);
    int f = (idx + 1) % 3;
    redisContext *fc = fx_connect(node(f)->port);
    fx_check_status(fc, "OK", "CONFIG SET notify-keyspace-events KA");
    redisFree(fc);
    int fd = fx_raw_connect(node(f)->port);
    fx_raw_send_str(fd, "PSUBSCRIBE __keyspace@*__:ev\r\n");
    fx_raw_expect(fd, "*3\r\n$10\r\npsubscribe\r\n$17\r\n__keyspace@*__:ev\r\n:1\r\n", 5000);
    fx_check_status(c, "OK", "SELECT 4");
    fx_check_status(c, "OK", "SET ev 1");
    fx_raw_expect(fd, "*4\r\n$8\r\npmessage\r\n$17\r\n__keyspace@*__:ev\r\n$17\r\n__keyspace@4__:ev\r\n"
                      "$3\r\nset\r\n", 10000);
    close(fd);
    redisFree(c);
    tc_stop_cleanly();
}
