/* Integration tests of restarts and snapshots on real 3-node clusters (and single nodes) on
 * free loopback ports in temp dirs: full restarts (from logs and from snapshots), kill -9 of
 * one node or of all, catch-up of a lagging follower through an installed snapshot, also under
 * writes and with the follower killed mid-install. Every wait polls against a deadline. */
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

/* SIGTERM every node, start them again on the same dirs: 1000 keys and the digest come back. */
Test(cluster, full_restart_keeps_all_data)
{
    char before[41], after[41];
    redisContext *c;
    redisReply *r;
    int idx;

    c = start_cluster_on_leader(NULL, &idx);
    for (int i = 0; i < 1000; i++)
        redisAppendCommand(c, "SET key:%d val:%d", i, i * 31);
    for (int i = 0; i < 1000; i++) {
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
        fx_assert_status(r, "OK");
        freeReplyObject(r);
    }
    fx_check_integer(c, 1000, "DBSIZE");
    redisFree(c);
    tc_assert_converged(NULL, NULL, before);

    /* One SIGTERM each, all at once, as an init system would send them. */
    tc_sigterm_all();
    tc_spawn_all();
    wait_leader();
    tc_assert_converged(NULL, before, after);
    r = tc_leader_cmd(TC_WRITE_MS, "DBSIZE");
    fx_assert_integer(r, 1000);
    freeReplyObject(r);
    tc_leader_expect("key:0", "val:0");
    tc_leader_expect("key:999", "val:30969");
    tc_stop_cleanly();
}

/* A follower that missed far more entries than the snapshot threshold catches up through an
 * installed snapshot, and then follows ordinary appends again. */
Test(cluster, lagging_follower_catches_up_from_snapshot)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    char key[32], val[32], want[41];
    redisContext *c;
    int idx, f;

    start_cluster(args);
    idx = wait_leader();
    tc_leader_set("before", "1");
    tc_assert_converged(NULL, NULL, NULL);
    f = (idx + 1) % tc_cluster()->n;
    cr_assert_eq(tc_info_ll(node(f)->port, "raft", "raft_restores"), 0);
    stop_node_cleanly(f);
    c = fx_connect(node(idx)->port);
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        snprintf(val, sizeof(val), "val:%d", i);
        fx_check_status(c, "OK", "SET %s %s", key, val);
    }
    redisFree(c);
    cr_assert_eq(leader_now(), idx, "leadership moved while writing");
    cr_assert_gt(tc_info_ll(node(idx)->port, "raft", "raft_snapshot_index"), 1000,
                 "the leader did not compact its log");
    restart_node(f);
    tc_assert_converged(NULL, NULL, want);
    cr_assert_geq(tc_info_ll(node(f)->port, "raft", "raft_restores"), 1,
                  "the follower caught up without installing a snapshot");
    cr_assert_gt(tc_info_ll(node(f)->port, "raft", "raft_snapshot_index"), 0);
    tc_leader_set("after", "2");
    cr_assert(tc_digest(node(idx)->port, want));
    tc_assert_converged(NULL, want, NULL);
    tc_leader_expect("key:1999", "val:1999");
    tc_stop_cleanly();
}

/* A one-node cluster killed with -9 mid-pipeline keeps every acknowledged INCR after restart. */
Test(cluster, single_node_kill9_keeps_acknowledged_writes)
{
    struct fx_server *s = fx_server_new(1, NULL);
    struct incr_load l;
    struct incr_totals t;
    redisContext *c;
    redisReply *r;
    long long v;

    cr_assert(fx_server_start(s) == 0, "the server did not start; its log is above");
    s->fixed_ports = true;
    incr_open(&l, 1, s->port, "n", 1000, 5000);
    incr_pump(&l, PUMP_SEND, 1500, 20000);
    cr_assert_geq(incr_acked(&l), 1500);
    fx_server_kill(s);
    incr_pump(&l, PUMP_EOF, 0, 5000);
    cr_assert_eq(l.conn[0].fd, -1, "the connection outlived the server");
    t = incr_check(&l);
    cr_assert_lt(t.acked, 5000, "every INCR was acknowledged before the kill");
    cr_assert(fx_server_start(s) == 0, "the server did not restart; its log is above");
    c = fx_connect(s->port);
    r = fx_cmd(c, "GET n");
    v = tc_reply_ll(r);
    cr_log_info("sent %ld acked %ld lost %ld; value %lld", t.sent, t.acked, t.lost, v);
    cr_assert_geq(v, t.acked, "acknowledged INCRs were lost: %lld < %ld", v, t.acked);
    cr_assert_geq(v, incr_max_value(&l));
    cr_assert_leq(v, t.acked + t.uncertain + t.lost);
    cr_assert_leq(v, 5000);
    fx_check_integer(c, v + 1, "INCR n");
    redisFree(c);
    incr_free(&l);
    fx_server_free(s);
}

/* kill -9 of all three nodes at once under load (a power cut), with snapshots in play: after
 * the restart every acknowledged INCR is there and none beyond those in flight. */
Test(cluster, whole_cluster_kill9_keeps_acknowledged_writes)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    struct incr_load l;
    struct incr_totals t;
    long long v;
    int idx;

    start_cluster(args);
    idx = wait_leader();
    incr_open(&l, 4, node(idx)->port, "counter", 32, 1000000);
    incr_pump(&l, PUMP_SEND, 3000, 20000);
    cr_assert_geq(incr_acked(&l), 3000);
    for (int i = 0; i < tc_cluster()->n; i++)
        kill(node(i)->pid, SIGKILL);
    for (int i = 0; i < tc_cluster()->n; i++)
        fx_server_kill(node(i));
    incr_pump(&l, PUMP_EOF, 0, 5000);
    t = incr_check(&l);
    tc_spawn_all();
    v = tc_reply_ll(tc_leader_cmd(TC_WRITE_MS, "GET counter"));
    cr_log_info("acked %ld uncertain %ld lost %ld; value %lld", t.acked, t.uncertain, t.lost, v);
    cr_assert_geq(v, t.acked, "acknowledged INCRs lost: %lld < %ld", v, t.acked);
    cr_assert_geq(v, incr_max_value(&l));
    cr_assert_leq(v, t.acked + t.uncertain + t.lost);
    tc_assert_converged(NULL, NULL, NULL);
    incr_free(&l);
    tc_stop_cleanly();
}

/* A follower catching up through a snapshot while the leader keeps writing (and snapshotting)
 * ends up identical to it.
 * KNOWN SERVER BUG (liveness), seen here in about one full-suite run in eight: raft delivers
 * AppendEntries it queued while the follower was down (63 entries, commit 64); the follower
 * applies them, reaches --snapshot-threshold and starts its own snapshot; the leader's
 * InstallSnapshot arrives a few ms later and canonical/raft 0.15 drops it ("already taking or
 * installing snapshot", RAFT_BUSY); the leader resends only after install-snapshot-timeout,
 * which consensus.c sets to 60 s. assert_converged then warns, keeps the files, and waits. */
Test(cluster, snapshot_catch_up_under_ongoing_writes)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    struct incr_load l;
    char key[32], val[64];
    redisContext *c;
    int idx, f;
    long long restores;

    start_cluster(args);
    idx = wait_leader();
    f = (idx + 2) % tc_cluster()->n;
    fx_server_kill(node(f));
    c = fx_connect(node(idx)->port);
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        snprintf(val, sizeof(val), "%0*d", 40, i);
        fx_check_status(c, "OK", "SET %s %s", key, val);
    }
    redisFree(c);
    incr_open(&l, 2, node(idx)->port, "counter", 4, 1000000);
    incr_pump(&l, PUMP_SEND, 200, 20000);
    restart_node(f);
    /* Keep writing (small batches, many entries) while it installs and catches up. */
    incr_pump(&l, PUMP_SEND, incr_acked(&l) + 1500, 30000);
    incr_pump(&l, PUMP_DRAIN, 0, 20000);
    (void)incr_check(&l);
    cr_assert_eq(leader_now(), idx, "leadership moved while writing");
    tc_assert_converged(NULL, NULL, NULL);
    restores = tc_info_ll(node(f)->port, "raft", "raft_restores");
    cr_assert_geq(restores, 1, "the follower installed no snapshot");
    incr_free(&l);
    tc_stop_cleanly();
}

/* Chaos timing only (where to strike), never a wait for a condition. */
static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A follower killed (-9) while it receives a large snapshot, again and again, still ends up
 * identical to the leader. */
Test(cluster, follower_killed_during_snapshot_install_recovers)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    size_t vlen = 100 * 1024;
    char *val = malloc(vlen);
    redisContext *c;
    int idx, f;

    cr_assert(val != NULL);
    start_cluster(args);
    idx = wait_leader();
    f = (idx + 1) % tc_cluster()->n;
    tc_leader_set("first", "1");
    tc_assert_converged(NULL, NULL, NULL);
    fx_server_kill(node(f));
    c = fx_connect(node(idx)->port);
    for (int i = 0; i < 150; i++) {
        redisReply *r;
        memset(val, 'a' + i % 26, vlen);
        r = fx_cmd(c, "SET big:%d %b", i, val, vlen);
        fx_assert_status(r, "OK");
        freeReplyObject(r);
    }
    redisFree(c);
    for (int round = 0; round < 4; round++) {
        /* Strike at a different point of its catch-up each round. */
        restart_node(f);
        pause_ms(round * 40);
        fx_server_kill(node(f));
    }
    restart_node(f);
    tc_assert_converged(NULL, NULL, NULL);
    tc_leader_set("last", "2");
    tc_assert_converged(NULL, NULL, NULL);
    free(val);
    tc_stop_cleanly();
}

/* Every node restarts from its own snapshot plus the log after it: the data comes back. */
Test(cluster, full_restart_from_snapshots)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    char key[32], before[41];
    redisContext *c;
    int idx;

    c = start_cluster_on_leader(args, &idx);
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        fx_check_status(c, "OK", "SET %s %d", key, i);
    }
    fx_check_integer(c, 2, "DEL key:0 key:1");
    redisFree(c);
    tc_assert_converged(NULL, NULL, before);
    for (int i = 0; i < tc_cluster()->n; i++)
        cr_assert_gt(tc_info_ll(node(i)->port, "raft", "raft_snapshot_index"), 0,
                     "node %d took no snapshot", i + 1);
    tc_sigterm_all();
    tc_spawn_all();
    wait_leader();
    tc_assert_converged(NULL, before, NULL);
    tc_leader_expect("key:0", NULL);
    tc_leader_expect("key:299", "299");
    tc_stop_cleanly();
}

/* docs/OPERATIONS.md's backup and restore: a copy of a stopped follower's dir (the cluster
 * goes on meanwhile), later put back as every node's dir, brings the whole cluster back to
 * the keys of the copy: the same digest on every node, the later writes gone. */
Test(cluster, backup_of_a_stopped_follower_restores_the_whole_cluster)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    char cmd[4096], at_backup[41], later[41];
    char *backup = fx_tmpdir_new("concordkv-backup");
    redisContext *c;
    int idx;

    c = start_cluster_on_leader(args, &idx);
    for (int i = 0; i < 300; i++)
        fx_check_status(c, "OK", "SET key:%d %d", i, i);
    redisFree(c);
    tc_assert_converged(NULL, NULL, at_backup);
    int follower = (idx + 1) % tc_cluster()->n; /* an index, as idx */
    cr_assert_gt(tc_info_ll(node(follower)->port, "raft", "raft_snapshot_index"), 0,
                 "the copy should hold a snapshot");
    stop_node_cleanly(follower);
    snprintf(cmd, sizeof(cmd), "cp -a '%s/.' '%s/'", node(follower)->dir, backup);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    restart_node(follower);
    tc_write_keys("later", 100);
    tc_assert_converged(NULL, NULL, later);
    cr_assert_str_neq(later, at_backup);

    tc_sigterm_all();
    for (int i = 0; i < tc_cluster()->n; i++) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", node(i)->dir, backup,
                 node(i)->dir);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
    }
    tc_spawn_all();
    wait_leader();
    tc_assert_converged(NULL, at_backup, NULL);
    tc_leader_expect("key:299", "299");
    tc_leader_expect("later:0", NULL);
    tc_write_keys("restored", 10); /* and it takes writes again */
    tc_stop_cleanly();
    fx_rm_rf(backup);
    free(backup);
}

/* A SIGTERM right after a new node's first writes (its election entry, and in every other
 * round one SET: raft's open segment just appended to) exits cleanly, node after node. raft 0.15 could fire its close
 * callback twice there and crash the node on its way out (docs/SAFETY.md, F5). */
Test(cluster, sigterm_right_after_the_first_writes_exits_cleanly)
{
    for (int round = 0; round < 20; round++) {
        struct fx_server *s = fx_server_new(1, NULL);
        redisContext *c;
        int status;

        cr_assert(fx_server_start(s) == 0, "round %d: the server did not start; its log is above", round);
        if (round % 2 == 1) {
            c = fx_connect(s->port);
            fx_check_status(c, "OK", "SET k %d", round);
            redisFree(c);
        }
        status = fx_server_stop(s);
        cr_assert(status == 0, "round %d: exit status 0x%x (log above)", round, (unsigned)status);
        fx_server_free(s);
    }
}

/* Whether the node on port *ARG has stored a snapshot and is taking none. */
static bool snapshot_stored(void *arg)
{
    int port = *(int *)arg;
    return tc_info_ll(port, "raft", "raft_snapshot_index") > 0 &&
           tc_info_ll(port, "raft", "raft_snapshot_in_progress") == 0;
}

/* An idle node snapshots a log past its idle limit (an eighth of the last snapshot, below
 * the half that triggers under writes): writes stop with every node's log between the two,
 * and within a few seconds every node has taken an idle snapshot, which the leader's barrier
 * triggers, and holds less log than the idle limit; the data is the same everywhere. */
static bool idle_snapshot_taken(void *arg)
{
    int port = *(int *)arg;
    return tc_info_ll(port, "raft", "raft_snapshots_when_idle") > 0 &&
           tc_info_ll(port, "raft", "raft_snapshot_in_progress") == 0;
}

static bool log_between_limits(int n)
{
    for (int i = 0; i < n; i++) {
        long long bytes = tc_info_ll(node(i)->port, "raft", "raft_log_bytes");
        if (bytes < tc_info_ll(node(i)->port, "raft", "raft_log_bytes_idle_limit") ||
            bytes > tc_info_ll(node(i)->port, "raft", "raft_log_bytes_limit") * 3 / 4)
            return false;
    }
    return true;
}

Test(cluster, idle_nodes_snapshot_their_log)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "100000",
                                "--snapshot-log-bytes", "64kb", NULL};
    char *val = malloc(4097);
    redisContext *c;
    int idx, i = 0, n;

    memset(val, 'v', 4096);
    val[4096] = '\0';
    c = start_cluster_on_leader(args, &idx);
    n = tc_cluster()->n;
    /* A keyspace of 2 MB: the next snapshot's limits are 1 MB (writes) and 256 KB (idle). */
    for (; i < 512; i++)
        fx_check_status(c, "OK", "SET key:%d %s", i, val);
    tc_assert_converged(NULL, NULL, NULL);
    int64_t t0 = fx_now_ms();
    /* One 4 KB entry at a time: stop once every node's log is between the two limits. */
    while (!log_between_limits(n)) {
        cr_assert_lt(ms_since(t0), 60000, "no node log came to rest between the limits");
        fx_check_status(c, "OK", "SET key:%d %s", i % 600, val);
        i++;
        tc_assert_converged(NULL, NULL, NULL);
    }
    long long before = 0;
    for (int k = 0; k < n; k++)
        before += tc_info_ll(node(k)->port, "raft", "raft_snapshots_when_idle");
    cr_assert_eq(before, 0, "an idle snapshot while writes came in");
    for (int k = 0; k < n; k++) {
        int port = node(k)->port;
        cr_assert(fx_wait_until(idle_snapshot_taken, &port, 15000), "node %d took no idle snapshot",
                  k + 1);
        cr_assert_lt(tc_info_ll(port, "raft", "raft_log_bytes"),
                     tc_info_ll(port, "raft", "raft_log_bytes_idle_limit"), "node %d", k + 1);
    }
    tc_assert_converged(NULL, NULL, NULL);
    fx_check_status(c, "OK", "SET after idle");
    redisFree(c);
    tc_leader_expect("after", "idle");
    free(val);
    tc_stop_cleanly();
}

/* Snapshots by log bytes (snapshot-log-bytes): with an entry threshold that never fires,
 * 4 KB writes still make every node snapshot, with a trailing cut to a few entries, and
 * every node restarts from that snapshot and the log after it with the same data. */
Test(cluster, snapshots_by_log_bytes_and_restart)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "100000",
                                "--snapshot-log-bytes", "64kb", NULL};
    char before[41];
    char *val = malloc(4097);
    redisContext *c;
    int idx;

    memset(val, 'v', 4096);
    val[4096] = '\0';
    c = start_cluster_on_leader(args, &idx);
    for (int i = 0; i < 400; i++)
        redisAppendCommand(c, "SET key:%d %d:%s", i, i, val);
    for (int i = 0; i < 400; i++) {
        redisReply *r = NULL;
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK && r != NULL);
        cr_assert(r->type == REDIS_REPLY_STATUS, "SET %d: %s", i, r->str);
        freeReplyObject(r);
    }
    fx_check_integer(c, 1, "DEL key:0");
    redisFree(c);
    tc_assert_converged(NULL, NULL, before);
    for (int i = 0; i < tc_cluster()->n; i++) {
        cr_assert_gt(tc_info_ll(node(i)->port, "raft", "raft_snapshots_by_bytes"), 0,
                     "node %d took no snapshot by bytes", i + 1);
        int port = node(i)->port;
        cr_assert(fx_wait_until(snapshot_stored, &port, 30000), "node %d: no snapshot stored", i + 1);
        long long last = tc_info_ll(node(i)->port, "raft", "raft_last_index");
        long long snap = tc_info_ll(node(i)->port, "raft", "raft_snapshot_index");
        cr_assert_gt(snap, 0, "node %d", i + 1);
        cr_assert_lt(last - snap, 400, "node %d: the log after the snapshot is all of it", i + 1);
    }
    tc_sigterm_all();
    tc_spawn_all();
    idx = wait_leader();
    tc_assert_converged(NULL, before, NULL);
    tc_leader_expect("key:0", NULL);
    c = fx_connect(node(idx)->port);
    redisReply *r = redisCommand(c, "GETRANGE key:399 0 5");
    cr_assert(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "399:vv") == 0);
    freeReplyObject(r);
    redisFree(c);
    free(val);
    tc_stop_cleanly();
}
