/* Integration tests of follower reads and what cluster clients probe, on real 3-node
 * clusters on free loopback ports: after READONLY a follower answers reads itself (MOVED
 * without it, MOVED for writes), a write acknowledged by the leader is seen by the next
 * follower read, a follower cut off from a majority answers no data in linearizable mode but
 * its local data in stale mode, concurrent reads share the follower's index requests, and
 * CLUSTER SHARDS / COUNTKEYSINSLOT / GETKEYSINSLOT / ASKING / INFO cluster answer as Redis. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fixture.h"
#include "tcluster.h"

TestSuite(follower_reads, .fini = fx_kill_all, .timeout = 120);

#define PIPELINE 100

/* The leader, once every node knows every voter's RESP address (the followers need the
 * leader's to ask it; redirects name it). */
static int settled_leader(void)
{
    int ids[] = {1, 2, 3, 0};
    int leader = tc_wait_leader();
    for (int i = 0; ids[i]; i++)
        tc_wait_members(ids[i], ids);
    return leader;
}

/* CMD on C answers -MOVED to the current leader. */
static void assert_moved(redisContext *c, const char *cmd)
{
    redisReply *r = fx_cmd(c, cmd);
    cr_assert(tc_moved_to_leader(r, 0, NULL), "%s answered %s", cmd, tc_reply_text(r));
    freeReplyObject(r);
}

static redisContext *readonly_conn(int id)
{
    redisContext *c = fx_connect(tc_node(id)->port);
    fx_check_status(c, "OK", "READONLY");
    return c;
}

Test(follower_reads, readonly_follower_serves_reads_not_writes)
{
    tc_start(3, NULL);
    int leader = settled_leader();
    int others[4];
    tc_ids_except(3, leader, others);
    tc_leader_set("k", "v");
    redisContext *c = fx_connect(tc_node(others[0])->port);
    assert_moved(c, "GET k");
    fx_check_status(c, "OK", "READONLY");
    long long before = tc_raft_ll(others[0], "follower_reads");
    fx_check_string(c, "v", "GET k");
    fx_check_integer(c, 1, "EXISTS k");
    cr_assert_eq(tc_raft_ll(others[0], "follower_reads"), before + 2);
    assert_moved(c, "SET k w");
    redisReply *r = fx_cmd(c, "CLIENT LIST");
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    cr_assert(strstr(r->str, "flags=r ") != NULL, "CLIENT LIST: %s", r->str);
    freeReplyObject(r);
    fx_check_status(c, "OK", "READWRITE");
    assert_moved(c, "GET k");
    fx_check_status(c, "OK", "READONLY");
    fx_check_status(c, "RESET", "RESET");
    assert_moved(c, "GET k");
    redisFree(c);
    tc_leader_expect("k", "v");
    tc_stop_cleanly();
}

/* Linearizable: every follower read after an acknowledged write (another connection, on the
 * leader) returns that write, on both followers in turn. */
Test(follower_reads, read_after_acked_write_sees_it)
{
    tc_start(3, NULL);
    int leader = settled_leader();
    int others[4];
    tc_ids_except(3, leader, others);
    redisContext *w = fx_connect(tc_node(leader)->port);
    redisContext *f[2] = {readonly_conn(others[0]), readonly_conn(others[1])};
    char val[32];
    for (int i = 0; i < 300; i++) {
        snprintf(val, sizeof(val), "v%d", i);
        fx_check_status(w, "OK", "SET k %s", val);
        fx_check_string(f[i % 2], val, "GET k");
    }
    cr_assert_geq(tc_raft_ll(others[0], "follower_reads"), 150);
    cr_assert_geq(tc_raft_ll(leader, "follower_index_answers"), 150);
    redisFree(w);
    redisFree(f[0]);
    redisFree(f[1]);
    tc_stop_cleanly();
}

/* A follower whose leader and other follower are frozen cannot learn a confirmed index: a
 * linearizable read errors (never data); with read-consistency stale it answers its own. */
Test(follower_reads, cut_off_follower_serves_no_linearizable_read)
{
    const char *args[] = {TC_FAST_TIMEOUTS, "--request-timeout", "1500", NULL};
    tc_start(3, args);
    int leader = settled_leader();
    int others[4];
    tc_ids_except(3, leader, others);
    tc_leader_set("k", "v1");
    redisContext *c = readonly_conn(others[0]);
    fx_check_string(c, "v1", "GET k");
    tc_pause(leader);
    tc_pause(others[1]);
    redisReply *r = fx_cmd(c, "GET k");
    cr_assert_eq(r->type, REDIS_REPLY_ERROR, "a follower cut off from the cluster answered %s",
                 tc_reply_text(r));
    cr_assert(tc_is_error(r, "TIMEOUT") || tc_is_error(r, "CLUSTERDOWN"), "%s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_status(c, "OK", "CONFIG SET read-consistency stale");
    fx_check_string(c, "v1", "GET k");
    fx_check_status(c, "OK", "CONFIG SET read-consistency linearizable");
    tc_resume(others[1]);
    tc_resume(leader);
    redisFree(c);
    tc_wait_leader();
    tc_leader_expect("k", "v1");
    tc_stop_cleanly();
}

/* A frozen leader: the follower's read waits for the new leader's index (or times out),
 * and a write acknowledged by the new leader is then seen. */
Test(follower_reads, frozen_leader_read_waits_for_the_next)
{
    const char *args[] = {TC_FAST_TIMEOUTS, NULL};
    tc_start(3, args);
    int leader = settled_leader();
    int others[4];
    tc_ids_except(3, leader, others);
    tc_leader_set("k", "v1");
    tc_pause(leader);
    int next = tc_wait_leader();
    cr_assert_neq(next, leader);
    tc_leader_set("k", "v2");
    int follower = others[0] == next ? others[1] : others[0];
    redisContext *c = readonly_conn(follower);
    redisReply *r = fx_cmd(c, "GET k");
    cr_assert(r->type == REDIS_REPLY_ERROR || (r->type == REDIS_REPLY_STRING && strcmp(r->str, "v2") == 0),
              "after a failover the follower answered %s", tc_reply_text(r));
    freeReplyObject(r);
    redisFree(c);
    tc_resume(leader);
    tc_stop_cleanly();
}

/* Pipelined reads from several connections share the follower's requests to the leader. */
Test(follower_reads, concurrent_reads_share_index_requests)
{
    tc_start(3, NULL);
    int leader = settled_leader();
    int others[4];
    tc_ids_except(3, leader, others);
    tc_leader_set("k", "v");
    redisContext *c[4];
    for (int i = 0; i < 4; i++)
        c[i] = readonly_conn(others[0]);
    fx_check_string(c[0], "v", "GET k");
    long long reqs = tc_raft_ll(others[0], "follower_read_index_requests");
    long long reads = tc_raft_ll(others[0], "follower_reads");
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < PIPELINE; j++)
                redisAppendCommand(c[i], "GET k");
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < PIPELINE; j++) {
                redisReply *r;
                cr_assert(redisGetReply(c[i], (void **)&r) == REDIS_OK, "%s", c[i]->errstr);
                fx_assert_string(r, "v");
                freeReplyObject(r);
            }
    }
    long long nreqs = tc_raft_ll(others[0], "follower_read_index_requests") - reqs;
    cr_assert_eq(tc_raft_ll(others[0], "follower_reads") - reads, 5 * 4 * PIPELINE);
    cr_assert_geq(nreqs, 1);
    cr_assert_leq(nreqs, 5 * 4 * PIPELINE / 10, "%lld index requests for %d reads", nreqs,
                  5 * 4 * PIPELINE);
    for (int i = 0; i < 4; i++)
        redisFree(c[i]);
    tc_stop_cleanly();
}

static const redisReply *map_get(const redisReply *m, const char *key)
{
    cr_assert_eq(m->type, REDIS_REPLY_ARRAY);
    for (size_t i = 0; i + 1 < m->elements; i += 2)
        if (m->element[i]->type == REDIS_REPLY_STRING && strcmp(m->element[i]->str, key) == 0)
            return m->element[i + 1];
    cr_assert_fail("no field %s", key);
    return NULL;
}

static bool info_has(redisContext *c, const char *args, const char *line)
{
    redisReply *r = fx_cmd(c, args);
    bool found = r->type == REDIS_REPLY_STRING && strstr(r->str, line) != NULL;
    freeReplyObject(r);
    return found;
}

Test(follower_reads, cluster_commands_answer_as_redis)
{
    tc_start(3, NULL);
    int leader = settled_leader();
    int others[4];
    tc_ids_except(3, leader, others);
    tc_leader_set("foo", "bar"); /* slot 12182 */
    redisContext *c = fx_connect(tc_node(leader)->port);
    redisReply *r = fx_cmd(c, "CLUSTER SHARDS");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, 1);
    const redisReply *slots = map_get(r->element[0], "slots");
    cr_assert_eq(slots->elements, 2);
    cr_assert_eq(slots->element[0]->integer, 0);
    cr_assert_eq(slots->element[1]->integer, 16383);
    const redisReply *nodes = map_get(r->element[0], "nodes");
    cr_assert_eq(nodes->elements, 3);
    cr_assert_str_eq(map_get(nodes->element[0], "role")->str, "master");
    cr_assert_eq(map_get(nodes->element[0], "port")->integer, tc_node(leader)->port);
    cr_assert_str_eq(map_get(nodes->element[0], "health")->str, "online");
    cr_assert_eq(strlen(map_get(nodes->element[0], "id")->str), 40);
    cr_assert_str_eq(map_get(nodes->element[1], "role")->str, "replica");
    cr_assert_str_eq(map_get(nodes->element[2], "endpoint")->str, "127.0.0.1");
    map_get(nodes->element[2], "replication-offset");
    freeReplyObject(r);

    fx_check_integer(c, 12182, "CLUSTER KEYSLOT foo");
    fx_check_integer(c, 1, "CLUSTER COUNTKEYSINSLOT 12182");
    fx_check_integer(c, 0, "CLUSTER COUNTKEYSINSLOT 0");
    r = fx_cmd(c, "CLUSTER GETKEYSINSLOT 12182 10");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, 1);
    fx_assert_string(r->element[0], "foo");
    freeReplyObject(r);
    r = fx_cmd(c, "CLUSTER GETKEYSINSLOT 12182 0");
    cr_assert_eq(r->elements, 0);
    freeReplyObject(r);
    fx_check_error(c, "ERR Invalid slot", "CLUSTER COUNTKEYSINSLOT 16384");
    fx_check_error(c, "ERR Invalid slot", "CLUSTER COUNTKEYSINSLOT -1");
    fx_check_error(c, "ERR value is not an integer or out of range", "CLUSTER COUNTKEYSINSLOT x");
    fx_check_error(c, "ERR Invalid slot or number of keys", "CLUSTER GETKEYSINSLOT 0 -1");
    fx_check_error(c, "ERR Invalid slot or number of keys", "CLUSTER GETKEYSINSLOT 16384 1");
    fx_check_error(c, "ERR value is not an integer or out of range", "CLUSTER GETKEYSINSLOT 1 y");
    fx_check_error(c, "ERR wrong number of arguments for 'cluster|countkeysinslot' command",
                   "CLUSTER COUNTKEYSINSLOT");
    fx_check_error(c, "ERR wrong number of arguments for 'cluster|getkeysinslot' command",
                   "CLUSTER GETKEYSINSLOT 1");
    fx_check_error(c, "ERR wrong number of arguments for 'readonly' command", "READONLY x");
    fx_check_status(c, "OK", "ASKING");
    fx_check_status(c, "OK", "READONLY");
    fx_check_status(c, "OK", "READWRITE");
    fx_check_string(c, "bar", "GET foo");
    cr_assert(info_has(c, "INFO cluster", "# Cluster\r\ncluster_enabled:1\r\n"));
    cr_assert(info_has(c, "INFO", "cluster_enabled:1\r\n"));
    cr_assert(info_has(c, "INFO all", "cluster_enabled:1\r\n"));
    cr_assert(!info_has(c, "INFO server", "cluster_enabled"));
    redisFree(c);
    c = fx_connect(tc_node(others[0])->port);
    r = fx_cmd(c, "CLUSTER SHARDS");
    nodes = map_get(r->element[0], "nodes");
    cr_assert_eq(map_get(nodes->element[0], "port")->integer, tc_node(leader)->port);
    freeReplyObject(r);
    redisFree(c);
    tc_stop_cleanly();
}
