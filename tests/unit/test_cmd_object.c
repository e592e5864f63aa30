/* OBJECT REFCOUNT/IDLETIME/FREQ and MEMORY USAGE/HELP through the command harness: replies,
 * errors, and that introspection never counts as an access. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtest.h"
#include "hash.h"
#include "kv.h"
#include "memcount.h"

#define T0 1700000000000LL
#define OK "+OK\r\n"
#define NIL "$-1\r\n"
#define NOT_LFU                                                                              \
    "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "   \
    "note that when switching between policies at runtime LRU and LFU data will take some " \
    "time to adjust.\r\n"
#define IS_LFU                                                                              \
    "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "    \
    "when switching between policies at runtime LRU and LFU data will take some time to "   \
    "adjust.\r\n"

static struct cmdtest t;

static void setup(void)
{
    ct_init(&t, T0);
    kv_set_lru_clock(T0);
}

static void teardown(void)
{
    ct_close(&t);
    kv_set_access_mode(KV_ACCESS_LRU, 10, 1);
}

TestSuite(cmd_object, .init = setup, .fini = teardown);

#define RUN(expected, ...) cr_assert_str_eq(ct_run(&t, __VA_ARGS__), expected)

/* The integers 0..9999 are shared objects in Redis (refcount INT_MAX); the rest have one. */
Test(cmd_object, refcount)
{
    RUN(OK, "SET small 9999");
    RUN(OK, "SET big 10000");
    RUN(OK, "SET neg -1");
    RUN(OK, "SET s hello");
    RUN(":1\r\n", "HSET h a 1");
    RUN(":2147483647\r\n", "OBJECT REFCOUNT small");
    RUN(":1\r\n", "OBJECT REFCOUNT big");
    RUN(":1\r\n", "OBJECT REFCOUNT neg");
    RUN(":1\r\n", "OBJECT REFCOUNT s");
    RUN(":1\r\n", "OBJECT REFCOUNT h");
    RUN(NIL, "OBJECT REFCOUNT nokey");
}

/* IDLETIME counts seconds since the last read or write; OBJECT, TYPE, EXISTS, TTL and
 * MEMORY USAGE do not touch the key (Redis's LOOKUP_NOTOUCH), GET and HGET do. */
Test(cmd_object, idletime_touched_by_access_not_by_introspection)
{
    RUN(OK, "SET s v");
    RUN(":1\r\n", "HSET h a 1");
    RUN(":0\r\n", "OBJECT IDLETIME s");
    kv_set_lru_clock(T0 + 42000);
    RUN(":42\r\n", "OBJECT IDLETIME s");
    RUN("+string\r\n", "TYPE s");
    RUN(":1\r\n", "EXISTS s");
    RUN(":-1\r\n", "TTL s");
    cr_assert_eq(ct_run(&t, "MEMORY USAGE s")[0], ':');
    RUN(":42\r\n", "OBJECT IDLETIME s");
    RUN("$1\r\nv\r\n", "GET s");
    RUN(":0\r\n", "OBJECT IDLETIME s");
    RUN(":42\r\n", "OBJECT IDLETIME h");
    RUN("$1\r\n1\r\n", "HGET h a");
    RUN(":0\r\n", "OBJECT IDLETIME h");
    kv_set_lru_clock(T0 + 50000);
    RUN(":1\r\n", "HSET h b 2");
    RUN(":0\r\n", "OBJECT IDLETIME h");
    RUN(NIL, "OBJECT IDLETIME nokey");
}

/* FREQ is refused unless the LFU mode is on, IDLETIME is refused when it is (Redis's texts). */
Test(cmd_object, freq_only_in_lfu_mode)
{
    RUN(OK, "SET s v");
    RUN(NOT_LFU, "OBJECT FREQ s");
    kv_set_access_mode(KV_ACCESS_LFU, 10, 1);
    RUN(OK, "SET t v");
    RUN(":5\r\n", "OBJECT FREQ t");
    RUN("$1\r\nv\r\n", "GET t");
    RUN(":6\r\n", "OBJECT FREQ t");
    RUN(IS_LFU, "OBJECT IDLETIME t");
    RUN(NIL, "OBJECT FREQ nokey");
}

/* OBJECT's argument errors. */
Test(cmd_object, object_errors)
{
    RUN("-ERR unknown subcommand 'nope'. Try OBJECT HELP.\r\n", "OBJECT nope k");
    RUN("-ERR wrong number of arguments for 'object|idletime' command\r\n", "OBJECT idletime");
}

/* MEMORY USAGE: the entry's allocation plus the value's estimate; grows with the value. */
Test(cmd_object, memory_usage)
{
    long long s1, s2, h1, h2;
    RUN(OK, "SET s x");
    cr_assert_eq(sscanf(ct_run(&t, "MEMORY USAGE s"), ":%lld", &s1), 1);
    /* at least the entry (header, key, value, NUL); at most one small malloc chunk (the
     * sanitizers' allocator reports the size asked for, glibc's a 16-byte-rounded chunk) */
    long long least = (long long)offsetof(struct kv_entry, data) + 3;
    cr_assert(s1 >= least && s1 <= 64, "a 1-byte string costs one small allocation: %lld", s1);
    RUN(OK, "SET s xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    cr_assert_eq(sscanf(ct_run(&t, "MEMORY USAGE s"), ":%lld", &s2), 1);
    cr_assert_geq(s2, s1 + 80);
    RUN(":1\r\n", "HSET h a 1");
    cr_assert_eq(sscanf(ct_run(&t, "MEMORY USAGE h"), ":%lld", &h1), 1);
    for (int i = 0; i < 200; i++)
        ct_run(&t, "HSET h field%d value%d", i, i);
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING h");
    cr_assert_eq(sscanf(ct_run(&t, "MEMORY USAGE h SAMPLES 0"), ":%lld", &h2), 1);
    cr_assert_geq(h2, h1 + 200 * 20, "200 fields: %lld vs %lld", h2, h1);
    RUN(NIL, "MEMORY USAGE nokey");
}

static long long usage_of(const char *cmd)
{
    long long n = -1;
    cr_assert_eq(sscanf(ct_run(&t, "%s", cmd), ":%lld", &n), 1, "%s", cmd);
    return n;
}

/* A hashtable-encoded value's usage counts its fields' and values' allocations: it grows
 * with every field (SAMPLES 5 extrapolates), and for a hash, a set and a sorted set of
 * 2,000 elements is within 30 % of the heap bytes their creation really took. */
Test(cmd_object, memory_usage_is_honest_for_large_values)
{
    char v[101];
    memset(v, 'v', 100);
    v[100] = '\0';
    ct_run(&t, "HSET h f0 %s", v);
    for (int i = 1; i < 200; i++)
        ct_run(&t, "HSET h f%d %s", i, v);
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING h");
    long long h200 = usage_of("MEMORY USAGE h");
    for (int i = 200; i < 2000; i++)
        ct_run(&t, "HSET h f%d %s", i, v);
    long long h2000 = usage_of("MEMORY USAGE h");
    cr_assert_geq(h2000, 2000LL * (100 + 5), "2000 fields of 100 bytes: %lld", h2000);
    cr_assert(h2000 > h200 * 8 && h2000 < h200 * 12, "grows with fields: %lld, %lld", h200, h2000);
    const char *fill[] = {"HSET k f%d %s", "SADD k m%d%s", "ZADD k %d m%s"};
    for (size_t k = 0; k < sizeof fill / sizeof fill[0]; k++) {
        RUN(":1\r\n", "DEL h");
        ct_run(&t, "DEL k");
        size_t before = memcount_used();
        for (int i = 0; i < 2000; i++)
            ct_run(&t, fill[k], i, v);
        long long real = (long long)(memcount_used() - before);
        long long est = usage_of("MEMORY USAGE k SAMPLES 0");
        long long sampled = usage_of("MEMORY USAGE k");
        cr_assert(est > real * 7 / 10 && est < real * 13 / 10, "%s: usage %lld, allocated %lld",
                  fill[k], est, real);
        cr_assert(sampled > est * 8 / 10 && sampled < est * 12 / 10, "%s: sampled %lld of %lld",
                  fill[k], sampled, est);
        RUN(":1\r\n", "DEL k");
        ct_run(&t, "SET h x");
    }
}

/* MEMORY's argument errors and unimplemented subcommands. */
Test(cmd_object, memory_errors)
{
    RUN(OK, "SET s x");
    RUN("-ERR syntax error\r\n", "MEMORY USAGE s SAMPLES -1");
    RUN("-ERR syntax error\r\n", "MEMORY USAGE s SAMPLES");
    RUN("-ERR syntax error\r\n", "MEMORY USAGE s foo 1");
    RUN("-ERR value is not an integer or out of range\r\n", "MEMORY USAGE s SAMPLES x");
    RUN("-ERR unknown subcommand 'MALLOC-STATS'. Try MEMORY HELP.\r\n", "MEMORY MALLOC-STATS");
    RUN("-ERR wrong number of arguments for 'memory|stats' command\r\n", "MEMORY STATS x");
    RUN("-ERR wrong number of arguments for 'memory|usage' command\r\n", "MEMORY usage");
    cr_assert_eq(strncmp(ct_run(&t, "MEMORY HELP"), "*10\r\n", 5), 0);
}
