/* Unit tests of the generic key commands (cmd_keys.c) through the command harness: exact RESP
 * replies, Redis 7.0 error texts, expiry by the test clock, prepare's rewriting. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtest.h"
#include "kv.h"

#define T0 1700000000000LL /* the test clock's start, in unix ms */

#define OK "+OK\r\n"
#define NIL "$-1\r\n"
#define ZERO ":0\r\n"
#define ONE ":1\r\n"
#define SYNTAX "-ERR syntax error\r\n"
#define NOTINT "-ERR value is not an integer or out of range\r\n"

static struct cmdtest t;

static void setup(void)
{
    ct_init(&t, T0);
}

static void teardown(void)
{
    ct_close(&t);
}

TestSuite(cmd_keys, .init = setup, .fini = teardown);

#define RUN(expected, ...) cr_assert_str_eq(ct_run(&t, __VA_ARGS__), expected)
/* The same through the handler alone, as apply runs an entry from the log. */
#define APPLY(expected, ...) cr_assert_str_eq(ct_apply(&t, __VA_ARGS__), expected)

/* Parse a SCAN reply: the next cursor, and each key passed to SEEN. Returns the key count. */
static long scan_reply(const char *r, unsigned long long *cursor,
                       void (*seen)(const char *, size_t, void *), void *priv)
{
    long clen, n;
    cr_assert(strncmp(r, "*2\r\n$", 5) == 0, "not a SCAN reply: %s", r);
    r += 5;
    clen = strtol(r, (char **)&r, 10);
    r += 2;
    *cursor = strtoull(r, NULL, 10);
    r += clen + 2;
    cr_assert_eq(*r, '*');
    n = strtol(r + 1, (char **)&r, 10);
    r += 2;
    for (long i = 0; i < n; i++) {
        cr_assert_eq(*r, '$');
        long len = strtol(r + 1, (char **)&r, 10);
        r += 2;
        if (seen)
            seen(r, (size_t)len, priv);
        r += len + 2;
    }
    cr_assert_eq(*r, '\0', "trailing bytes after SCAN reply");
    return n;
}

/* ---- DEL / UNLINK / EXISTS / TYPE ---- */

/* DEL and UNLINK count the keys they removed. */
Test(cmd_keys, del_counts_removed_keys)
{
    RUN(OK, "MSET a 1 b 2 c 3");
    RUN(":2\r\n", "DEL a b x");
    RUN(ZERO, "DEL a");
    RUN(ONE, "UNLINK c");
    RUN(":0\r\n", "EXISTS a c");
    RUN(OK, "SET b 2");
    RUN(ONE, "DEL b b");
}

/* An expired key is not counted by DEL, and is gone afterwards. */
Test(cmd_keys, del_skips_expired_keys)
{
    RUN(OK, "SET a 1 PX 10");
    t.now_ms += 10;
    RUN(ZERO, "DEL a");
    cr_assert_null(kv_find(t.kv, "a", 1));
}

/* EXISTS counts every argument that exists, duplicates included. */
Test(cmd_keys, exists_counts_duplicates)
{
    RUN(OK, "SET a 1");
    RUN(":3\r\n", "EXISTS a a b a");
    RUN(ZERO, "EXISTS b");
}

/* TYPE is "string" for a live key, "none" otherwise. */
Test(cmd_keys, type)
{
    RUN("+none\r\n", "TYPE k");
    RUN(OK, "SET k v PX 10");
    RUN("+string\r\n", "TYPE k");
    t.now_ms += 10;
    RUN("+none\r\n", "TYPE k");
}

/* ---- KEYS / SCAN / RANDOMKEY ---- */

/* KEYS returns the live keys matching a glob pattern. */
Test(cmd_keys, keys_pattern)
{
    RUN("*0\r\n", "KEYS *");
    RUN(OK, "MSET hello 1 hallo 2 world 3");
    RUN(OK, "SET gone 1 PX 10");
    t.now_ms += 10;
    RUN("*1\r\n$5\r\nworld\r\n", "KEYS w*");
    RUN("*0\r\n", "KEYS gone");
    const char *r = ct_run(&t, "KEYS h?llo");
    cr_assert(strncmp(r, "*2\r\n", 4) == 0, "%s", r);
    cr_assert_not_null(strstr(r, "$5\r\nhello\r\n"));
    cr_assert_not_null(strstr(r, "$5\r\nhallo\r\n"));
    cr_assert(strncmp(ct_run(&t, "KEYS *"), "*3\r\n", 4) == 0);
    RUN("*1\r\n$5\r\nhello\r\n", "KEYS h[e]llo");
}

/* SCAN of a small keyspace returns everything at once with cursor 0. */
Test(cmd_keys, scan_small_keyspace)
{
    RUN("*2\r\n$1\r\n0\r\n*0\r\n", "SCAN 0");
    RUN(OK, "SET k v");
    RUN("*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n", "SCAN 0");
    RUN("*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n", "SCAN 0 MATCH k* COUNT 100 TYPE string");
    RUN("*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n", "scan 0 type STRING");
    RUN("*2\r\n$1\r\n0\r\n*0\r\n", "SCAN 0 TYPE hash");
    RUN("*2\r\n$1\r\n0\r\n*0\r\n", "SCAN 0 MATCH x*");
}

struct seen_set {
    int count[200];
    int other;
};

static void mark_seen(const char *key, size_t len, void *priv)
{
    struct seen_set *s = priv;
    int i;
    char tmp[16];
    if (len < 2 || len > 5 || key[0] != 'k') {
        s->other++;
        return;
    }
    memcpy(tmp, key + 1, len - 1);
    tmp[len - 1] = '\0';
    i = atoi(tmp);
    if (i >= 0 && i < 200)
        s->count[i]++;
}

/* A full SCAN iteration with a small COUNT visits every live key and no expired one. */
Test(cmd_keys, scan_full_iteration)
{
    struct seen_set s;
    unsigned long long cursor = 0;
    int rounds = 0;

    memset(&s, 0, sizeof(s));
    for (int i = 0; i < 150; i++)
        ct_run(&t, "SET k%d v", i);
    for (int i = 150; i < 200; i++)
        ct_run(&t, "SET k%d v PX 5", i);
    ct_run(&t, "SET other v");
    t.now_ms += 5;
    do {
        scan_reply(ct_run(&t, "SCAN %llu COUNT 3 MATCH k*", cursor), &cursor, mark_seen, &s);
        rounds++;
    } while (cursor != 0 && rounds < 10000);
    cr_assert_eq(cursor, 0);
    cr_assert_gt(rounds, 1);
    for (int i = 0; i < 150; i++)
        cr_assert_geq(s.count[i], 1, "k%d never returned", i);
    for (int i = 150; i < 200; i++)
        cr_assert_eq(s.count[i], 0, "expired k%d returned", i);
    cr_assert_eq(s.other, 0);
}

/* SCAN errors: bad cursor, bad COUNT, unknown or incomplete options. */
Test(cmd_keys, scan_errors)
{
    RUN("-ERR invalid cursor\r\n", "SCAN x");
    RUN("-ERR invalid cursor\r\n", "SCAN 1x");
    RUN("-ERR invalid cursor\r\n", "SCAN 99999999999999999999");
    const char *argv[] = {"SCAN", " 1"};
    cr_assert_str_eq(ct_runv(&t, 2, argv, NULL), "-ERR invalid cursor\r\n");
    RUN(SYNTAX, "SCAN 0 COUNT 0");
    RUN(SYNTAX, "SCAN 0 COUNT -1");
    RUN(NOTINT, "SCAN 0 COUNT abc");
    RUN(SYNTAX, "SCAN 0 MATCH");
    RUN(SYNTAX, "SCAN 0 COUNT");
    RUN(SYNTAX, "SCAN 0 FOO bar");
    RUN(NOTINT, "SCAN 0 COUNT x FOO");
}

/* RANDOMKEY is nil on an empty (or all-expired) keyspace, else a live key. */
Test(cmd_keys, randomkey)
{
    RUN(NIL, "RANDOMKEY");
    RUN(OK, "SET only v");
    RUN("$4\r\nonly\r\n", "RANDOMKEY");
    RUN(OK, "SET only v PX 10");
    t.now_ms += 10;
    RUN(NIL, "RANDOMKEY");
}

/* ---- RENAME / RENAMENX / COPY ---- */

/* RENAME moves value and TTL, replacing the destination. */
Test(cmd_keys, rename)
{
    RUN(OK, "SET a 1 EX 100");
    RUN(OK, "SET b 2");
    RUN(OK, "RENAME a b");
    RUN(ZERO, "EXISTS a");
    RUN("$1\r\n1\r\n", "GET b");
    RUN(":100\r\n", "TTL b");
    RUN(OK, "RENAME b b");
    RUN("$1\r\n1\r\n", "GET b");
}

/* RENAME of a missing (or expired) key is "no such key", even onto itself. */
Test(cmd_keys, rename_missing_key)
{
    RUN("-ERR no such key\r\n", "RENAME a b");
    RUN("-ERR no such key\r\n", "RENAME a a");
    RUN("-ERR no such key\r\n", "RENAMENX a b");
    RUN(OK, "SET a 1 PX 10");
    t.now_ms += 10;
    RUN("-ERR no such key\r\n", "RENAME a b");
}

/* RENAMENX renames only onto a missing key. */
Test(cmd_keys, renamenx)
{
    RUN(OK, "MSET a 1 b 2");
    RUN(ZERO, "RENAMENX a b");
    RUN("$1\r\n2\r\n", "GET b");
    RUN(ZERO, "RENAMENX a a");
    RUN(ONE, "RENAMENX a c");
    RUN(ZERO, "EXISTS a");
    RUN("$1\r\n1\r\n", "GET c");
}

/* COPY duplicates value and TTL; it needs REPLACE to overwrite. */
Test(cmd_keys, copy)
{
    RUN(OK, "SET a 1 EX 100");
    RUN(ONE, "COPY a b");
    RUN("$1\r\n1\r\n", "GET b");
    RUN(":100\r\n", "TTL b");
    RUN(OK, "SET a 2");
    RUN(ZERO, "COPY a b");
    RUN("$1\r\n1\r\n", "GET b");
    RUN(ONE, "COPY a b REPLACE");
    RUN("$1\r\n2\r\n", "GET b");
    RUN(":-1\r\n", "TTL b");
    RUN(ONE, "COPY a c DB 0 replace");
    RUN(ZERO, "COPY missing x");
    RUN(ZERO, "EXISTS x");
}

/* COPY's argument errors, in Redis's order. */
Test(cmd_keys, copy_errors)
{
    RUN(OK, "SET a 1");
    RUN("-ERR source and destination objects are the same\r\n", "COPY a a");
    RUN("-ERR DB index is out of range\r\n", "COPY a b DB 1");
    RUN("-ERR DB index is out of range\r\n", "COPY a a DB -1");
    RUN(NOTINT, "COPY a b DB x");
    RUN("-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
        "COPY a b DB 4294967296");
    RUN(SYNTAX, "COPY a b DB");
    RUN(SYNTAX, "COPY a b FOO");
    RUN(SYNTAX, "COPY a a FOO");
    RUN(ZERO, "EXISTS b");
}

/* ---- expiry ---- */

/* EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT set the TTL; 0 for a missing key. */
Test(cmd_keys, expire_family_sets_ttl)
{
    RUN(ZERO, "EXPIRE k 10");
    RUN(OK, "SET k v");
    RUN(ONE, "EXPIRE k 10");
    RUN(":10\r\n", "TTL k");
    RUN(ONE, "PEXPIRE k 1500");
    RUN(":1500\r\n", "PTTL k");
    RUN(ONE, "EXPIREAT k 1700000100");
    RUN(":100\r\n", "TTL k");
    RUN(ONE, "PEXPIREAT k 1700000005000");
    RUN(":1700000005000\r\n", "PEXPIRETIME k");
    t.now_ms += 4999;
    RUN("$1\r\nv\r\n", "GET k");
    t.now_ms += 1;
    RUN(NIL, "GET k");
    RUN(ZERO, "EXPIRE k 10");
}

/* A time at or before now deletes the key and answers 1. */
Test(cmd_keys, expire_in_the_past_deletes)
{
    RUN(OK, "MSET a 1 b 2 c 3 d 4");
    RUN(ONE, "EXPIRE a -1");
    RUN(ONE, "EXPIRE b 0");
    RUN(ONE, "EXPIREAT c 1");
    RUN(ONE, "PEXPIREAT d -9223372036854775808");
    RUN(ZERO, "EXISTS a b c d");
    RUN(ZERO, "DBSIZE");
}

/* NX/XX/GT/LT follow Redis 7.0, a key without TTL counting as an infinite TTL. */
Test(cmd_keys, expire_conditions)
{
    RUN(OK, "SET k v");
    RUN(ZERO, "EXPIRE k 10 XX");
    RUN(ZERO, "EXPIRE k 10 GT");
    RUN(ONE, "EXPIRE k 10 LT");
    RUN(ZERO, "EXPIRE k 20 LT");
    RUN(ONE, "EXPIRE k 5 lt");
    RUN(":5\r\n", "TTL k");
    RUN(ZERO, "EXPIRE k 5 GT");
    RUN(ONE, "EXPIRE k 100 GT");
    RUN(ZERO, "EXPIRE k 50 GT");
    RUN(ZERO, "EXPIRE k 10 NX");
    RUN(ONE, "EXPIRE k 10 XX");
    RUN(ONE, "EXPIRE k 20 XX GT");
    RUN(":20\r\n", "TTL k");
    RUN(ONE, "PERSIST k");
    RUN(ONE, "EXPIRE k 10 NX");
    RUN(":10\r\n", "TTL k");
}

/* Option errors come before value errors, with Redis's texts. */
Test(cmd_keys, expire_option_errors)
{
    RUN(OK, "SET k v");
    const char *nxerr = "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
    RUN(nxerr, "EXPIRE k 10 NX XX");
    RUN(nxerr, "EXPIRE k 10 GT NX");
    RUN(nxerr, "PEXPIRE k 10 NX LT");
    RUN("-ERR GT and LT options at the same time are not compatible\r\n", "EXPIRE k 10 GT LT");
    RUN("-ERR Unsupported option FOO\r\n", "EXPIRE k 10 FOO");
    RUN("-ERR Unsupported option foo\r\n", "EXPIRE k abc foo");
    RUN(NOTINT, "EXPIRE k abc");
    RUN(NOTINT, "PEXPIREAT k 1.5");
    RUN(":-1\r\n", "TTL k");
}

/* Overflowing times are "invalid expire time" in the name the client used. */
Test(cmd_keys, expire_overflow)
{
    RUN(OK, "SET k v");
    RUN("-ERR invalid expire time in 'expire' command\r\n", "EXPIRE k 9223372036854775807");
    RUN("-ERR invalid expire time in 'expire' command\r\n", "expire k -9223372036854776");
    RUN("-ERR invalid expire time in 'pexpire' command\r\n", "PEXPIRE k 9223372036854775807");
    RUN("-ERR invalid expire time in 'expireat' command\r\n", "EXPIREAT k 9223372036854776");
    RUN(ONE, "PEXPIREAT k 9223372036854775807");
    RUN(":9223372036854775807\r\n", "PEXPIRETIME k");
    RUN(":9223372036854776\r\n", "EXPIRETIME k");
}

/* prep_expire and friends rewrite to PEXPIREAT with an absolute time, keeping options. */
Test(cmd_keys, prep_expire_rewrites_to_pexpireat)
{
    cr_assert_str_eq(ct_prepare(&t, "EXPIRE k 10 NX"), "pexpireat k 1700000010000 NX");
    cr_assert_str_eq(ct_prepare(&t, "PEXPIRE k 10"), "pexpireat k 1700000000010");
    cr_assert_str_eq(ct_prepare(&t, "EXPIREAT k 100 GT"), "pexpireat k 100000 GT");
    cr_assert_str_eq(ct_prepare(&t, "PEXPIREAT k 123"), "pexpireat k 123");
    cr_assert_str_eq(ct_prepare(&t, "expire k -5"), "pexpireat k 1699999995000");
    cr_assert_str_eq(ct_prepare(&t, "EXPIRE k 10 NX XX"),
                     "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
}

/* TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 missing, -1 no TTL, seconds rounded. */
Test(cmd_keys, ttl_family)
{
    RUN(":-2\r\n", "TTL k");
    RUN(":-2\r\n", "PTTL k");
    RUN(":-2\r\n", "EXPIRETIME k");
    RUN(":-2\r\n", "PEXPIRETIME k");
    RUN(OK, "SET k v");
    RUN(":-1\r\n", "TTL k");
    RUN(":-1\r\n", "PTTL k");
    RUN(":-1\r\n", "EXPIRETIME k");
    RUN(":-1\r\n", "PEXPIRETIME k");
    RUN(ONE, "PEXPIRE k 1499");
    RUN(":1\r\n", "TTL k");
    RUN(":1499\r\n", "PTTL k");
    RUN(":1700000001\r\n", "EXPIRETIME k");
    RUN(":1700000001499\r\n", "PEXPIRETIME k");
    RUN(ONE, "PEXPIRE k 1500");
    RUN(":2\r\n", "TTL k");
    RUN(":1700000002\r\n", "EXPIRETIME k");
    t.now_ms += 1500;
    RUN(":-2\r\n", "TTL k");
}

/* PERSIST removes a TTL: 1 if there was one, else 0. */
Test(cmd_keys, persist)
{
    RUN(ZERO, "PERSIST k");
    RUN(OK, "SET k v");
    RUN(ZERO, "PERSIST k");
    RUN(ONE, "EXPIRE k 10");
    RUN(ONE, "PERSIST k");
    RUN(":-1\r\n", "TTL k");
    t.now_ms += 100000;
    RUN("$1\r\nv\r\n", "GET k");
}

/* ---- DBSIZE / FLUSH / active expiry ---- */

/* DBSIZE counts the keys. */
Test(cmd_keys, dbsize)
{
    RUN(ZERO, "DBSIZE");
    RUN(OK, "MSET a 1 b 2");
    RUN(":2\r\n", "DBSIZE");
}

/* FLUSHALL and FLUSHDB remove every key and record the flush seq; only SYNC/ASYNC allowed. */
Test(cmd_keys, flush)
{
    RUN(OK, "MSET a 1 b 2");
    RUN(OK, "FLUSHALL");
    RUN(ZERO, "DBSIZE");
    cr_assert_eq(kv_flush_seq(t.kv), t.apply_seq);
    RUN(OK, "SET a 1");
    RUN(OK, "FLUSHDB ASYNC");
    RUN(ZERO, "DBSIZE");
    RUN(OK, "flushall sync");
    RUN(SYNTAX, "FLUSHALL foo");
    RUN(SYNTAX, "FLUSHDB ASYNC SYNC");
}

/* __expired deletes only keys that are present and expired at the entry's clock. */
Test(cmd_keys, internal_expired)
{
    RUN(OK, "SET a 1 PX 10");
    RUN(OK, "SET b 2");
    RUN(OK, "SET c 3 PX 1000");
    t.now_ms += 100;
    RUN(ONE, "__expired a b c missing a");
    cr_assert_null(kv_find(t.kv, "a", 1));
    cr_assert_not_null(kv_find(t.kv, "b", 1));
    cr_assert_not_null(kv_find(t.kv, "c", 1));
    RUN(":2\r\n", "DBSIZE");
}

/* __evicted deletes every named key still present, whatever its TTL or the clock (the
 * leader chose them), and counts the deleted ones. */
Test(cmd_keys, internal_evicted)
{
    RUN(OK, "SET a 1 PX 10");
    RUN(OK, "SET b 2");
    RUN(OK, "SET c 3 PX 100000");
    t.now_ms += 100;
    RUN(":3\r\n", "__evicted a b c missing b");
    RUN(ZERO, "DBSIZE");
    RUN(OK, "SET d 4");
    RUN(ZERO, "__evicted missing");
    RUN(":1\r\n", "DBSIZE");
}

/* ---- determinism and defences ---- */

/* A prepared EXPIRE applied on two replicas at different clocks gives the same state. */
Test(cmd_keys, prepared_expire_is_deterministic)
{
    struct cmdtest u;
    ct_init(&u, T0 + 2000);
    char line[128];
    ct_run(&t, "SET k v");
    ct_run(&u, "SET k v");
    snprintf(line, sizeof(line), "%s", ct_prepare(&t, "EXPIRE k 100 NX"));
    cr_assert_str_eq(ct_apply(&t, "%s", line), ONE);
    cr_assert_str_eq(ct_apply(&u, "%s", line), ONE);
    ct_run(&t, "COPY k k2");
    ct_run(&u, "COPY k k2");
    ct_run(&t, "RENAME k k3");
    ct_run(&u, "RENAME k k3");
    char d1[41];
    strcpy(d1, ct_digest(&t));
    cr_assert_str_neq(d1, "0000000000000000000000000000000000000000");
    cr_assert_str_eq(ct_digest(&u), d1);
    ct_close(&u);
}

/* Handlers defend themselves against unprepared or malformed requests from the log. */
Test(cmd_keys, apply_defends_against_raw_requests)
{
    ct_run(&t, "SET k v");
    APPLY(ONE, "expire k 10");
    RUN(":10\r\n", "TTL k");
    APPLY(NOTINT, "pexpireat k abc");
    APPLY("-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
          "pexpireat k 10 NX XX");
    APPLY(SYNTAX, "flushall foo");
    APPLY("-ERR source and destination objects are the same\r\n", "copy k k");
    APPLY("-ERR DB index is out of range\r\n", "copy k x DB 3");
    RUN(ONE, "EXISTS k");
}

/* COMMAND GETKEYS / GETKEYSANDFLAGS find the keys as Redis 7.0 does, numkeys included
 * (LMPOP at argv[1]; BLMPOP, BZMPOP and EVAL at argv[2], after the timeout or script), with
 * Redis's errors for an unknown command, one without keys, a wrong argument count and
 * arguments that name no key. */
Test(cmd_keys, command_getkeys)
{
    RUN("*1\r\n$1\r\nk\r\n", "COMMAND GETKEYS SET k v");
    RUN("*2\r\n$1\r\na\r\n$1\r\nb\r\n", "COMMAND GETKEYS MSET a 1 b 2");
    RUN("*2\r\n$1\r\na\r\n$1\r\nb\r\n", "COMMAND GETKEYS LMPOP 2 a b LEFT");
    RUN("*2\r\n$1\r\na\r\n$1\r\nb\r\n", "COMMAND GETKEYS BLMPOP 0 2 a b LEFT");
    RUN("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "COMMAND GETKEYS BZMPOP 1.5 3 a b c MIN COUNT 2");
    RUN("*2\r\n$2\r\nk1\r\n$2\r\nk2\r\n", "COMMAND GETKEYS EVAL s 2 k1 k2 a1");
    RUN("*0\r\n", "COMMAND GETKEYS EVAL s 0");
    RUN("*1\r\n$2\r\nk1\r\n", "COMMAND GETKEYS EVALSHA_RO sha 1 k1");
    RUN("*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n", "COMMAND GETKEYS ZUNIONSTORE d 2 a b WEIGHTS 1 2");
    RUN("*1\r\n*2\r\n$1\r\nk\r\n*2\r\n$2\r\nRO\r\n$6\r\naccess\r\n", "COMMAND GETKEYSANDFLAGS GET k");
    RUN("-ERR Invalid command specified\r\n", "COMMAND GETKEYS NOSUCH x");
    RUN("-ERR The command has no key arguments\r\n", "COMMAND GETKEYS PING x");
    RUN("-ERR Invalid number of arguments specified for command\r\n", "COMMAND GETKEYS SET k");
    RUN("-ERR Invalid arguments specified for command\r\n", "COMMAND GETKEYS ZUNION 0 a");
    RUN("-ERR wrong number of arguments for 'command|getkeys' command\r\n", "COMMAND GETKEYS GET");
    RUN("-ERR unknown subcommand 'NOPE'. Try COMMAND HELP.\r\n", "COMMAND NOPE");
}

/* ---- databases: SELECT, MOVE, SWAPDB, FLUSHDB, FLUSHALL, COPY ... DB ---- */

#define RANGE "-ERR DB index is out of range\r\n"
#define SAME "-ERR source and destination objects are the same\r\n"

Test(cmd_keys, select_changes_the_database_keyed_commands_use)
{
    ct_databases(&t, 16);
    cr_assert_str_eq(ct_run(&t, "set k zero"), OK);
    cr_assert_str_eq(ct_run(&t, "select 3"), OK);
    cr_assert_eq(t.db, 3);
    cr_assert_str_eq(ct_run(&t, "get k"), NIL);
    cr_assert_str_eq(ct_run(&t, "set k three"), OK);
    cr_assert_str_eq(ct_run(&t, "dbsize"), ONE);
    cr_assert_str_eq(ct_run(&t, "select 16"), RANGE);
    cr_assert_str_eq(ct_run(&t, "select -1"), RANGE);
    cr_assert_str_eq(ct_run(&t, "select x"), NOTINT);
    cr_assert_str_eq(ct_run(&t, "select 99999999999"), NOTINT);
    cr_assert_eq(t.db, 3, "a refused SELECT keeps the database");
    cr_assert_str_eq(ct_run(&t, "select 0"), OK);
    cr_assert_str_eq(ct_run(&t, "get k"), "$4\r\nzero\r\n");
}

Test(cmd_keys, move_between_databases)
{
    ct_databases(&t, 16);
    ct_run(&t, "rpush l a b c");
    ct_run(&t, "set s v PX 5000");
    cr_assert_str_eq(ct_run(&t, "move l 2"), ONE);
    cr_assert_str_eq(ct_run(&t, "exists l"), ZERO);
    cr_assert_str_eq(ct_run(&t, "move nokey 2"), ZERO);
    cr_assert_str_eq(ct_run(&t, "move s 0"), SAME);
    cr_assert_str_eq(ct_run(&t, "move s 16"), RANGE);
    cr_assert_str_eq(ct_run(&t, "move s x"), NOTINT);
    cr_assert_str_eq(ct_run(&t, "move s 2"), ONE);
    ct_run(&t, "set s again");
    t.db = 2;
    cr_assert_str_eq(ct_run(&t, "lrange l 0 -1"), ct_bulks(3, "a", "b", "c"));
    cr_assert_str_eq(ct_run(&t, "pttl s"), ":5000\r\n", "the TTL moves with the key");
    cr_assert_str_eq(ct_run(&t, "move s 0"), ZERO, "a key of that name is there: nothing moves");
    cr_assert_str_eq(ct_run(&t, "get s"), "$1\r\nv\r\n");
}

Test(cmd_keys, swapdb_exchanges_the_keyspaces)
{
    ct_databases(&t, 4);
    ct_run(&t, "set a 0");
    t.db = 1;
    ct_run(&t, "set b 1");
    ct_run(&t, "set c 1");
    cr_assert_str_eq(ct_run(&t, "swapdb 0 1"), OK);
    cr_assert_str_eq(ct_run(&t, "dbsize"), ONE);
    cr_assert_str_eq(ct_run(&t, "get a"), "$1\r\n0\r\n");
    t.db = 0;
    cr_assert_str_eq(ct_run(&t, "dbsize"), ":2\r\n");
    cr_assert_eq(kv_id(t.dbs[0]), 0, "each database keeps its index");
    cr_assert_str_eq(ct_run(&t, "swapdb 0 4"), RANGE);
    cr_assert_str_eq(ct_run(&t, "swapdb x 1"), NOTINT);
    cr_assert_str_eq(ct_run(&t, "swapdb 2 2"), OK);
    cr_assert_str_eq(ct_run(&t, "dbsize"), ":2\r\n", "refused swaps change nothing");
}

Test(cmd_keys, flushdb_empties_one_database_flushall_every_one)
{
    ct_databases(&t, 4);
    ct_run(&t, "set a 0");
    t.db = 2;
    ct_run(&t, "set a 2");
    cr_assert_str_eq(ct_run(&t, "flushdb"), OK);
    cr_assert_str_eq(ct_run(&t, "dbsize"), ZERO);
    t.db = 0;
    cr_assert_str_eq(ct_run(&t, "dbsize"), ONE, "FLUSHDB leaves the other databases");
    cr_assert_str_eq(ct_run(&t, "flushdb async"), OK);
    t.db = 3;
    ct_run(&t, "set z 3");
    cr_assert_str_eq(ct_run(&t, "flushdb now"), SYNTAX);
    cr_assert_str_eq(ct_run(&t, "flushall"), OK);
    cr_assert_eq(kv_size(t.dbs[3]), 0);
}

Test(cmd_keys, copy_to_another_database)
{
    ct_databases(&t, 4);
    ct_run(&t, "sadd s x y");
    cr_assert_str_eq(ct_run(&t, "copy s s db 1"), ONE, "the same name in another database");
    cr_assert_str_eq(ct_run(&t, "copy s s db 0"), SAME);
    cr_assert_str_eq(ct_run(&t, "copy s s"), SAME);
    cr_assert_str_eq(ct_run(&t, "copy s s db 4"), RANGE);
    cr_assert_str_eq(ct_run(&t, "copy s s db -1"), RANGE);
    cr_assert_str_eq(ct_run(&t, "copy s s db 1"), ZERO);
    cr_assert_str_eq(ct_run(&t, "copy s s db 1 replace"), ONE);
    t.db = 1;
    cr_assert_str_eq(ct_run(&t, "scard s"), ":2\r\n");
    t.db = 0;
    cr_assert_str_eq(ct_run(&t, "scard s"), ":2\r\n", "the source stays");
}

Test(cmd_keys, one_database_without_dbs)
{
    /* unit tests of pure keyspace code have no dbs: the store is database 0, the only one */
    cr_assert_str_eq(ct_run(&t, "select 0"), OK);
    cr_assert_str_eq(ct_run(&t, "select 1"), RANGE);
    ct_run(&t, "set k v");
    cr_assert_str_eq(ct_run(&t, "move k 1"), RANGE);
}
