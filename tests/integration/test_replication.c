/* Integration tests of replication on real 3-node clusters on free loopback ports in temp
 * dirs: election and agreement on the leader, writes and their convergence, redirection
 * (MOVED, redis-cli -c), large values, pipelined order, stale reads on followers, expiry and
 * transactions. Every wait polls against a deadline. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "incr.h"
#include "tcluster.h"

TestSuite(cluster, .fini = fx_kill_all, .timeout = 150);

/* Three fresh nodes elect exactly one leader, all agree on its id and addresses, term >= 1. */
Test(cluster, bootstrap_elects_one_leader)
{
    struct tc_agreement a;
    int idx;
    char buf[64], port_s[16];
    redisReply *r;

    start_cluster(NULL);
    idx = wait_leader();
    tc_wait_agreement(&a);
    cr_assert_eq(a.leader_id, idx + 1, "nodes name %lld, node %d says it leads", a.leader_id,
                 idx + 1);
    cr_assert_geq(a.term, 1);
    cr_assert_eq(leader_now(), idx, "a second leader appeared");

    /* CLUSTER LEADER gives the leader's id and its raft, RESP and admin addresses. */
    for (int i = 0; i < tc_cluster()->n; i++) {
        redisContext *c = fx_connect(node(i)->port);
        r = fx_cmd(c, "CLUSTER LEADER");
        redisFree(c);
        cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
        cr_assert_eq(r->elements, 4);
        fx_assert_integer(r->element[0], idx + 1);
        snprintf(buf, sizeof(buf), "127.0.0.1:%d", node(idx)->raft_port);
        fx_assert_string(r->element[1], buf);
        snprintf(buf, sizeof(buf), "127.0.0.1:%d", node(idx)->port);
        fx_assert_string(r->element[2], buf);
        snprintf(buf, sizeof(buf), "127.0.0.1:%d", node(idx)->admin_port);
        fx_assert_string(r->element[3], buf);
        freeReplyObject(r);
    }
    /* INFO replication: one master, the others its replicas pointing at its RESP port. */
    snprintf(port_s, sizeof(port_s), "%d", node(idx)->port);
    for (int i = 0; i < tc_cluster()->n; i++) {
        cr_assert(tc_info_field(node(i)->port, "replication", "role", buf, sizeof(buf)));
        cr_assert_str_eq(buf, i == idx ? "master" : "slave", "node %d role %s", i + 1, buf);
        if (i != idx) {
            cr_assert(tc_info_field(node(i)->port, "replication", "master_port", buf, sizeof(buf)));
            cr_assert_str_eq(buf, port_s);
            cr_assert(tc_info_field(node(i)->port, "raft", "raft_state", buf, sizeof(buf)));
            cr_assert_str_eq(buf, "follower");
        }
    }
    tc_stop_cleanly();
}

/* Writes on the leader are seen by linearizable reads there; all three digests then match. */
Test(cluster, leader_writes_replicate_to_followers)
{
    char empty[41], full[41], key[32], val[32];
    redisContext *c;
    redisReply *r;
    int idx;

    start_cluster(NULL);
    idx = wait_leader();
    tc_assert_converged(NULL, NULL, empty);
    c = fx_connect(node(idx)->port);
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        snprintf(val, sizeof(val), "value:%d", i * 7);
        fx_check_status(c, "OK", "SET %s %s", key, val);
        fx_check_string(c, val, "GET %s", key);
    }
    fx_check_integer(c, 3, "INCRBY counter 3");
    fx_check_integer(c, 2, "DEL key:0 key:1");
    fx_check_integer(c, 199, "DBSIZE");
    r = fx_cmd(c, "MGET key:0 key:2 counter");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    fx_assert_nil(r->element[0]);
    fx_assert_string(r->element[1], "value:14");
    fx_assert_string(r->element[2], "3");
    freeReplyObject(r);
    redisFree(c);
    cr_assert_eq(leader_now(), idx, "leadership moved during the test");
    tc_assert_converged(NULL, NULL, full);
    cr_assert_str_neq(full, empty, "the digest did not change with 200 writes");
    /* The followers applied after acknowledging (consensus_uv.c), and hold the same state. */
    for (int i = 0; i < tc_cluster()->n; i++)
        if (i != idx)
            cr_assert_gt(tc_info_ll(node(i)->port, "raft", "raft_applied_after_ack"), 0,
                         "node %d applied nothing after acknowledging", i);
    tc_stop_cleanly();
}

/* Run "timeout 20 redis-cli ARGS" and return its stdout without the trailing newline. */
static char *run_cli(const char *args)
{
    char cmd[512], *out = calloc(1, 4096);
    size_t len = 0, n;
    FILE *p;
    int st;

    cr_assert(out != NULL);
    snprintf(cmd, sizeof(cmd), "timeout 20 redis-cli %s", args);
    p = popen(cmd, "r");
    cr_assert(p != NULL, "popen %s", cmd);
    while (len < 4095 && (n = fread(out + len, 1, 4095 - len, p)) > 0)
        len += n;
    st = pclose(p);
    cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "'%s' failed (0x%x): %s", cmd,
              (unsigned)st, out);
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        out[--len] = '\0';
    return out;
}

/* A follower redirects writes and reads with Redis Cluster's exact MOVED; redis-cli -c follows. */
Test(cluster, follower_answers_moved_and_redis_cli_follows)
{
    static const char *const keys[] = {"foo", "k", "{user1}.name", "a-much-longer-key:12345"};
    char want[128], args[128], *out;
    struct tc_agreement a;
    redisContext *c;
    redisReply *r;
    int idx, f;

    if (system("command -v redis-cli >/dev/null 2>&1") != 0)
        cr_skip_test("redis-cli is not installed");
    start_cluster(NULL);
    idx = wait_leader();
    tc_wait_agreement(&a);
    cr_assert_eq(a.leader_id, idx + 1);
    f = (idx + 1) % tc_cluster()->n;
    c = fx_connect(node(f)->port);
    fx_check_integer(c, 12182, "CLUSTER KEYSLOT foo"); /* Redis's value */
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        r = fx_cmd(c, "CLUSTER KEYSLOT %s", keys[k]);
        cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
        snprintf(want, sizeof(want), "MOVED %lld 127.0.0.1:%d", r->integer, node(idx)->port);
        freeReplyObject(r);
        fx_check_error(c, want, "SET %s v", keys[k]);
        fx_check_error(c, want, "GET %s", keys[k]);
        fx_check_error(c, want, "INCR %s", keys[k]);
    }
    /* Keyless commands redirect with slot 0. */
    snprintf(want, sizeof(want), "MOVED 0 127.0.0.1:%d", node(idx)->port);
    fx_check_error(c, want, "DBSIZE");
    redisFree(c);
    c = fx_connect(node(idx)->port);
    fx_check_nil(c, "GET k");
    redisFree(c);

    snprintf(args, sizeof(args), "-c -p %d set k v", node(f)->port);
    out = run_cli(args);
    cr_assert_str_eq(out, "OK");
    free(out);
    snprintf(args, sizeof(args), "-c -p %d get k", node(f)->port);
    out = run_cli(args);
    cr_assert_str_eq(out, "v");
    free(out);
    tc_leader_expect("k", "v");
    tc_stop_cleanly();
}

/* Three 1 MiB binary values go through the cluster intact and every node holds them. */
Test(cluster, one_mebibyte_values_replicate)
{
    size_t n = 1024 * 1024;
    unsigned char *val = malloc(n);
    redisContext *c;
    redisReply *r;
    char before[41], after[41];
    int idx;

    cr_assert(val != NULL);
    start_cluster(NULL);
    idx = wait_leader();
    tc_assert_converged(NULL, NULL, before);
    c = fx_connect(node(idx)->port);
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < n; i++)
            val[i] = (unsigned char)(((i + (size_t)k) * 2654435761u) >> 13);
        r = fx_cmd(c, "SET big:%d %b", k, val, n);
        fx_assert_status(r, "OK");
        freeReplyObject(r);
    }
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < n; i++)
            val[i] = (unsigned char)(((i + (size_t)k) * 2654435761u) >> 13);
        r = fx_cmd(c, "GET big:%d", k);
        cr_assert(r->type == REDIS_REPLY_STRING && r->len == n, "big:%d: %s of %zu bytes", k,
                  fx_reply_type_name(r->type), r->len);
        cr_assert(memcmp(r->str, val, n) == 0, "big:%d changed on the way", k);
        freeReplyObject(r);
    }
    redisFree(c);
    tc_assert_converged(NULL, NULL, after);
    cr_assert_str_neq(before, after);
    free(val);
    tc_stop_cleanly();
}

/* 2000 pipelined SET k i / GET k pairs: every GET sees the SET just before it. */
Test(cluster, pipelined_reads_and_writes_keep_order)
{
    redisContext *c;
    redisReply *r;
    char want[16];
    int idx;

    c = start_cluster_on_leader(NULL, &idx);
    for (int i = 0; i < 2000; i++) {
        redisAppendCommand(c, "SET k %d", i);
        redisAppendCommand(c, "GET k");
    }
    for (int i = 0; i < 2000; i++) {
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "SET %d: %s", i, c->errstr);
        fx_assert_status(r, "OK");
        freeReplyObject(r);
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "GET %d: %s", i, c->errstr);
        snprintf(want, sizeof(want), "%d", i);
        fx_assert_string(r, want);
        freeReplyObject(r);
    }
    redisFree(c);
    tc_stop_cleanly();
}

/* With read-consistency stale, followers answer reads from their own state and soon see the
 * leader's writes; writes there are still redirected. */
Test(cluster, stale_reads_on_followers)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--read-consistency", "stale", NULL};
    struct tc_agreement a;
    char want[64];
    int idx, f;

    start_cluster(args);
    idx = wait_leader();
    tc_wait_agreement(&a);
    f = (idx + 1) % tc_cluster()->n;
    tc_leader_set("foo", "fresh");
    tc_assert_converged(NULL, NULL, NULL);
    redisContext *c = fx_connect(node(f)->port);
    fx_check_string(c, "fresh", "GET foo");
    fx_check_integer(c, 1, "DBSIZE");
    snprintf(want, sizeof(want), "MOVED 12182 127.0.0.1:%d", node(idx)->port);
    fx_check_error(c, want, "SET foo other");
    redisFree(c);
    tc_stop_cleanly();
}

static bool leader_key_gone(void *arg)
{
    redisReply *r = tc_leader_cmd(TC_WRITE_MS, "EXISTS %s", (const char *)arg);
    bool gone;

    cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
    gone = r->integer == 0;
    freeReplyObject(r);
    return gone;
}

static bool leader_dbsize_is_2(void *arg)
{
    redisReply *r = tc_leader_cmd(TC_WRITE_MS, "DBSIZE");
    bool two = r->type == REDIS_REPLY_INTEGER && r->integer == 2;

    freeReplyObject(r);
    return two;
}

/* Keys that expire converge: the digest is the same on every node once they are gone. */
Test(cluster, expired_keys_converge)
{
    redisReply *r;
    char d[41];

    start_cluster(NULL);
    wait_leader();
    tc_leader_set("stay", "1");
    for (int i = 0; i < 20; i++) {
        r = tc_leader_cmd(TC_WRITE_MS, "SET tmp:%d v PX %d", i, 100 + 10 * i);
        fx_assert_status(r, "OK");
        freeReplyObject(r);
    }
    r = tc_leader_cmd(TC_WRITE_MS, "SET later v EX 1000");
    fx_assert_status(r, "OK");
    freeReplyObject(r);
    tc_assert_converged(NULL, NULL, NULL);
    /* Linearizable reads on the leader see them gone after their TTL. */
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof(key), "tmp:%d", i);
        cr_assert(fx_wait_until(leader_key_gone, key, 5000), "%s never expired", key);
    }
    /* Active expiry deletes them for good, through the log, so every node drops them. */
    cr_assert(fx_wait_until(leader_dbsize_is_2, NULL, 10000), "expired keys were not deleted");
    tc_assert_converged(NULL, NULL, d);
    tc_leader_expect("stay", "1");
    tc_leader_expect("later", "v");
    tc_stop_cleanly();
}

/* MULTI/EXEC runs atomically on the leader and replicates as one unit. */
Test(cluster, multi_exec_replicates)
{
    redisContext *c;
    redisReply *r;
    int idx;

    c = start_cluster_on_leader(NULL, &idx);
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "SET a 1");
    fx_check_status(c, "QUEUED", "INCR a");
    fx_check_status(c, "QUEUED", "GET a");
    fx_check_status(c, "QUEUED", "SET b 2");
    r = fx_cmd(c, "EXEC");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 4, "EXEC: %s",
              fx_reply_type_name(r->type));
    fx_assert_status(r->element[0], "OK");
    fx_assert_integer(r->element[1], 2);
    fx_assert_string(r->element[2], "2");
    fx_assert_status(r->element[3], "OK");
    freeReplyObject(r);
    fx_check_string(c, "2", "GET a");
    redisFree(c);
    tc_assert_converged(NULL, NULL, NULL);
    tc_stop_cleanly();
}

/* A client's WATCH pipelined after its own write sees that write, as in Redis: SET k 1, WATCH k,
 * MULTI, SET k 2, EXEC sent at once runs the transaction (EXEC -> [OK], k = 2). WATCH and
 * DEBUG wait for the client's earlier writes (they used to run on arrival and see the state
 * before them). */
Test(cluster, pipelined_watch_after_own_write_runs_transaction)
{
    redisContext *c;
    redisReply *r;
    int idx;

    c = start_cluster_on_leader(NULL, &idx);
    redisAppendCommand(c, "SET k 1");
    redisAppendCommand(c, "WATCH k");
    redisAppendCommand(c, "MULTI");
    redisAppendCommand(c, "SET k 2");
    redisAppendCommand(c, "EXEC");
    redisAppendCommand(c, "GET k");
    for (int i = 0; i < 6; i++) {
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
        if (i == 3)
            fx_assert_status(r, "QUEUED");
        else if (i == 4)
            cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 1,
                      "EXEC was aborted by the client's own earlier SET");
        else if (i == 5)
            fx_assert_string(r, "2");
        else
            fx_assert_status(r, "OK");
        freeReplyObject(r);
    }
    redisFree(c);
    tc_stop_cleanly();
}
