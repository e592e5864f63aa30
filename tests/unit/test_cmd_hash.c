/* Unit tests of the hash commands (cmd_hash.c) and the typed keyspace through the command
 * harness: exact RESP replies, Redis 7.0 error texts, WRONGTYPE both ways, empty hashes
 * deleting their key, listpack -> hashtable conversion at both thresholds with the limits
 * carried by the request, HINCRBYFLOAT's exact strings, HSCAN completeness, HRANDFIELD,
 * digests independent of encoding and order, snapshot round trips of both encodings and
 * the lazy free of a large hash. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtest.h"
#include "fsm.h"
#include "hash.h"
#include "kv.h"

#define T0 1700000000000LL

#define OK "+OK\r\n"
#define NIL "$-1\r\n"
#define EMPTY "*0\r\n"
#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
#define NOTINT "-ERR value is not an integer or out of range\r\n"

static struct cmdtest t;

static void setup(void)
{
    ct_init(&t, T0);
    hash_set_limits(HASH_DEFAULT_ENTRIES, HASH_DEFAULT_VALUE);
}

static void teardown(void)
{
    ct_close(&t);
    hash_set_limits(HASH_DEFAULT_ENTRIES, HASH_DEFAULT_VALUE);
}

TestSuite(cmd_hash, .init = setup, .fini = teardown);

#define RUN(expected, ...) cr_assert_str_eq(ct_run(&t, __VA_ARGS__), expected)
#define APPLY(expected, ...) cr_assert_str_eq(ct_apply(&t, __VA_ARGS__), expected)

/* The number of elements of the RESP array (or of the second element of a SCAN reply) at
 * the start of S, and the bulks as NUL-separated strings in OUT (at most CAP bytes). */
static long array_bulks(const char *s, char *out, size_t cap, unsigned long long *cursor)
{
    long n;
    size_t used = 0;
    if (cursor != NULL) {
        cr_assert(strncmp(s, "*2\r\n$", 5) == 0, "not a scan reply: %s", s);
        s = strchr(s + 5, '\n') + 1;
        *cursor = strtoull(s, NULL, 10);
        s = strchr(s, '\n') + 1;
    }
    cr_assert_eq(*s, '*');
    n = strtol(s + 1, NULL, 10);
    s = strchr(s, '\n') + 1;
    for (long i = 0; i < n; i++) {
        cr_assert_eq(*s, '$');
        long len = strtol(s + 1, NULL, 10);
        s = strchr(s, '\n') + 1;
        if (out != NULL && used + (size_t)len + 1 <= cap) {
            memcpy(out + used, s, (size_t)len);
            out[used + (size_t)len] = '\0';
            used += (size_t)len + 1;
        }
        s += len + 2;
    }
    return n;
}

/* ---- HSET, HMSET, HSETNX, HGET, HMGET ---- */

/* HSET creates the key, answers the number of new fields; updates count nothing. */
Test(cmd_hash, hset_counts_new_fields)
{
    RUN(":2\r\n", "HSET h a 1 b 2");
    RUN(":1\r\n", "HSET h a 10 c 3");
    RUN("$2\r\n10\r\n", "HGET h a");
    RUN(NIL, "HGET h nope");
    RUN(NIL, "HGET nokey a");
    RUN(":3\r\n", "HLEN h");
    RUN("+hash\r\n", "TYPE h");
}

/* HMSET answers OK; an odd number of field/value arguments is an arity error. */
Test(cmd_hash, hmset_ok_and_pairs_required)
{
    RUN(OK, "HMSET h a 1 b 2");
    RUN("-ERR wrong number of arguments for 'hset' command\r\n", "HSET h a 1 b");
    RUN("-ERR wrong number of arguments for 'hmset' command\r\n", "HMSET h a");
    RUN(":2\r\n", "HLEN h");
}

/* HSETNX sets only a missing field; it has exactly three arguments. */
Test(cmd_hash, hsetnx_only_missing_field)
{
    RUN(":1\r\n", "HSETNX h a 1");
    RUN(":0\r\n", "HSETNX h a 2");
    RUN("$1\r\n1\r\n", "HGET h a");
    RUN("-ERR wrong number of arguments for 'hsetnx' command\r\n", "HSETNX h a 1 2");
}

/* HMGET answers one element per field, nil for missing fields and a missing key. */
Test(cmd_hash, hmget_nils)
{
    RUN(":1\r\n", "HSET h a 1");
    RUN("*3\r\n$1\r\n1\r\n$-1\r\n$-1\r\n", "HMGET h a b c");
    RUN("*2\r\n$-1\r\n$-1\r\n", "HMGET nokey a b");
}

/* HGETALL, HKEYS, HVALS of a listpack answer in insertion order; a missing key is empty. */
Test(cmd_hash, getall_keys_vals_in_order)
{
    RUN(":3\r\n", "HSET h z 1 a 2 m 3");
    RUN("*6\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nm\r\n$1\r\n3\r\n", "HGETALL h");
    RUN("*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nm\r\n", "HKEYS h");
    RUN("*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n", "HVALS h");
    RUN(EMPTY, "HGETALL nokey");
    RUN(EMPTY, "HKEYS nokey");
    RUN(EMPTY, "HVALS nokey");
}

/* HLEN, HSTRLEN and HEXISTS answer 0 for missing keys and fields. */
Test(cmd_hash, len_strlen_exists)
{
    RUN(":1\r\n", "HSET h f hello");
    RUN(":5\r\n", "HSTRLEN h f");
    RUN(":0\r\n", "HSTRLEN h g");
    RUN(":0\r\n", "HSTRLEN nokey f");
    RUN(":1\r\n", "HEXISTS h f");
    RUN(":0\r\n", "HEXISTS h g");
    RUN(":0\r\n", "HEXISTS nokey f");
    RUN(":0\r\n", "HLEN nokey");
}

/* HDEL counts deleted fields; deleting the last one deletes the key. */
Test(cmd_hash, hdel_empties_delete_key)
{
    RUN(":3\r\n", "HSET h a 1 b 2 c 3");
    RUN(":2\r\n", "HDEL h a b x");
    RUN(":1\r\n", "EXISTS h");
    RUN(":0\r\n", "HDEL h a");
    RUN(":1\r\n", "HDEL h c c");
    RUN(":0\r\n", "EXISTS h");
    RUN("+none\r\n", "TYPE h");
    RUN(":0\r\n", "HDEL nokey a");
    RUN(":0\r\n", "DBSIZE");
}

/* ---- HINCRBY, HINCRBYFLOAT ---- */

/* HINCRBY creates fields, adds, refuses non-integers and overflow with Redis's texts. */
Test(cmd_hash, hincrby)
{
    RUN(":5\r\n", "HINCRBY h n 5");
    RUN(":2\r\n", "HINCRBY h n -3");
    RUN(":1\r\n", "HSET h s abc");
    RUN("-ERR hash value is not an integer\r\n", "HINCRBY h s 1");
    RUN(NOTINT, "HINCRBY h n x");
    RUN(":1\r\n", "HSET h big 9223372036854775800");
    RUN("-ERR increment or decrement would overflow\r\n", "HINCRBY h big 100");
    RUN(":-9223372036854775808\r\n", "HINCRBY h low -9223372036854775808");
    RUN("-ERR increment or decrement would overflow\r\n", "HINCRBY h low -1");
    RUN("-ERR wrong number of arguments for 'hincrby' command\r\n", "HINCRBY h n 1 2");
}

/* HINCRBYFLOAT formats as INCRBYFLOAT does: shortest exact positional text. */
Test(cmd_hash, hincrbyfloat_exact_strings)
{
    RUN("$4\r\n10.5\r\n", "HINCRBYFLOAT h f 10.5");
    RUN("$4\r\n10.6\r\n", "HINCRBYFLOAT h f 0.1");
    RUN("$4\r\n5000\r\n", "HINCRBYFLOAT h g 5.0e3");
    RUN("$3\r\n0.1\r\n", "HINCRBYFLOAT h x 0.1");
    RUN("$19\r\n0.30000000000000004\r\n", "HINCRBYFLOAT h x 0.2");
    RUN("$1\r\n0\r\n", "HINCRBYFLOAT h z -0");
    RUN(":1\r\n", "HSET h s abc");
    RUN("-ERR hash value is not a float\r\n", "HINCRBYFLOAT h s 1");
    RUN("-ERR value is not a valid float\r\n", "HINCRBYFLOAT h f abc");
    RUN("-ERR value is NaN or Infinity\r\n", "HINCRBYFLOAT h f inf");
    RUN(":1\r\n", "HSET h m 1.7e308");
    RUN("-ERR increment would produce NaN or Infinity\r\n", "HINCRBYFLOAT h m 1.7e308");
    RUN("$7\r\n1.7e308\r\n", "HGET h m");
}

/* ---- WRONGTYPE ---- */

/* Hash commands on a string key answer WRONGTYPE and change nothing. */
Test(cmd_hash, hash_commands_on_string_wrongtype)
{
    RUN(OK, "SET s v");
    const char *cmds[] = {"HSET s a 1", "HSETNX s a 1", "HMSET s a 1", "HGET s a", "HMGET s a",
                          "HGETALL s", "HKEYS s", "HVALS s", "HLEN s", "HSTRLEN s a",
                          "HEXISTS s a", "HDEL s a", "HINCRBY s a 1", "HINCRBYFLOAT s a 1",
                          "HRANDFIELD s", "HRANDFIELD s 2", "HSCAN s 0"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        cr_assert_str_eq(ct_run(&t, "%s", cmds[i]), WRONGTYPE, "%s", cmds[i]);
    RUN("$1\r\nv\r\n", "GET s");
}

/* String commands on a hash answer WRONGTYPE; SET, MSET overwrite; MGET answers nil. */
Test(cmd_hash, string_commands_on_hash_wrongtype)
{
    RUN(":1\r\n", "HSET h a 1");
    const char *cmds[] = {"GET h", "GETSET h v", "GETDEL h", "GETEX h", "APPEND h x",
                          "STRLEN h", "INCR h", "DECR h", "INCRBY h 2", "DECRBY h 2",
                          "INCRBYFLOAT h 1.5", "GETRANGE h 0 1", "SETRANGE h 0 x",
                          "SET h v GET"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        cr_assert_str_eq(ct_run(&t, "%s", cmds[i]), WRONGTYPE, "%s", cmds[i]);
    RUN("+hash\r\n", "TYPE h");
    RUN("*2\r\n$-1\r\n$-1\r\n", "MGET h nokey");
    RUN(":0\r\n", "SETNX h v");
    RUN(OK, "SET h v");
    RUN("+string\r\n", "TYPE h");
    RUN(":1\r\n", "HSET h2 a 1");
    RUN(OK, "MSET h2 x");
    RUN("$1\r\nx\r\n", "GET h2");
}

/* ---- generic commands on hashes ---- */

/* RENAME moves a hash, COPY duplicates it, EXPIRE and TTL work, SCAN TYPE filters. */
Test(cmd_hash, generic_commands)
{
    RUN(":2\r\n", "HSET h a 1 b 2");
    RUN(OK, "RENAME h h2");
    RUN(":0\r\n", "EXISTS h");
    RUN("*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n", "HGETALL h2");
    RUN(":1\r\n", "COPY h2 h3");
    RUN(":1\r\n", "HSET h3 c 3");
    RUN(":2\r\n", "HLEN h2");
    RUN(":3\r\n", "HLEN h3");
    RUN(OK, "SET s v");
    RUN("*2\r\n$1\r\n0\r\n*1\r\n$2\r\nh2\r\n", "SCAN 0 TYPE hash MATCH h2*");
    RUN("*2\r\n$1\r\n0\r\n*0\r\n", "SCAN 0 TYPE string MATCH h*");
    RUN("*2\r\n$1\r\n0\r\n*1\r\n$1\r\ns\r\n", "SCAN 0 TYPE string");
    RUN("*2\r\n$1\r\n0\r\n*0\r\n", "SCAN 0 TYPE set");
    RUN(":1\r\n", "EXPIRE h2 10");
    RUN(":10\r\n", "TTL h2");
    t.now_ms += 11000;
    RUN(":0\r\n", "HLEN h2");
    RUN(":1\r\n", "HSET h2 z 1");
    RUN(":1\r\n", "HLEN h2");
    RUN(":3\r\n", "DEL h2 h3 s");
    RUN(OK, "FLUSHALL");
}

/* OBJECT ENCODING names the hash and string encodings as Redis 7.0 does. */
Test(cmd_hash, object_encoding)
{
    RUN(":1\r\n", "HSET h a 1");
    RUN("$8\r\nlistpack\r\n", "OBJECT ENCODING h");
    RUN(OK, "SET i 12345");
    RUN("$3\r\nint\r\n", "OBJECT ENCODING i");
    RUN(OK, "SET e hello");
    RUN("$6\r\nembstr\r\n", "OBJECT ENCODING e");
    RUN(OK, "SET r 123456789012345678901234567890123456789012345");
    RUN("$3\r\nraw\r\n", "OBJECT ENCODING r");
    RUN(NIL, "OBJECT ENCODING nokey");
    RUN(":1\r\n", "OBJECT REFCOUNT h");
}

/* ---- conversion ---- */

/* Past 128 fields a listpack hash becomes a hashtable, and never converts back. */
Test(cmd_hash, converts_past_entries_threshold)
{
    for (int i = 0; i < 128; i++)
        cr_assert_str_eq(ct_run(&t, "HSET h f%d v", i), ":1\r\n");
    RUN("$8\r\nlistpack\r\n", "OBJECT ENCODING h");
    RUN(":1\r\n", "HSET h f128 v");
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING h");
    RUN(":129\r\n", "HLEN h");
    for (int i = 0; i < 120; i++)
        cr_assert_str_eq(ct_run(&t, "HDEL h f%d", i), ":1\r\n");
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING h");
    RUN("$1\r\nv\r\n", "HGET h f128");
}

/* A field or value longer than 64 bytes converts, checked before anything changes. */
Test(cmd_hash, converts_past_value_threshold)
{
    char v64[65], v65[66];
    memset(v64, 'x', 64);
    v64[64] = '\0';
    memset(v65, 'y', 65);
    v65[65] = '\0';
    RUN(":1\r\n", "HSET h a %s", v64);
    RUN("$8\r\nlistpack\r\n", "OBJECT ENCODING h");
    RUN(":1\r\n", "HSET h b %s", v65);
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING h");
    RUN(":1\r\n", "HSET k %s 1", v65);
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING k");
    RUN(":1\r\n", "HSETNX n %s 1", v65);
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING n");
}

/* Prepare appends the node's configured thresholds; apply uses the carried ones, not the
 * node's, so every node converts at the same write. */
Test(cmd_hash, thresholds_carried_by_the_request)
{
    cr_assert_str_eq(ct_prepare(&t, "HSET h a 1"), "HSET h a 1 128:64");
    cr_assert_str_eq(ct_prepare(&t, "HINCRBY h a 1"), "HINCRBY h a 1 128:64");
    hash_set_limits(2, 64);
    cr_assert_str_eq(ct_prepare(&t, "HSETNX h a 1"), "HSETNX h a 1 2:64");
    RUN(":3\r\n", "HSET h a 1 b 2 c 3");
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING h");
    /* apply of a request carrying other limits ignores the node's setting */
    APPLY(":3\r\n", "HSET l a 1 b 2 c 3 128:64");
    RUN("$8\r\nlistpack\r\n", "OBJECT ENCODING l");
    APPLY(":1\r\n", "HINCRBY v a 1 128:0");
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING v");
    /* a request without them (never produced by prepare) uses the defaults */
    APPLY(":3\r\n", "HSET d a 1 b 2 c 3");
    RUN("$8\r\nlistpack\r\n", "OBJECT ENCODING d");
}

/* ---- HRANDFIELD ---- */

/* HRANDFIELD's count forms: 0, negative with repetition, all, distinct, WITHVALUES. */
Test(cmd_hash, hrandfield)
{
    char buf[4096];
    RUN(NIL, "HRANDFIELD nokey");
    RUN(EMPTY, "HRANDFIELD nokey 3");
    RUN(":3\r\n", "HSET h a 1 b 2 c 3");
    const char *one = ct_run(&t, "HRANDFIELD h");
    cr_assert(strcmp(one, "$1\r\na\r\n") == 0 || strcmp(one, "$1\r\nb\r\n") == 0 ||
              strcmp(one, "$1\r\nc\r\n") == 0, "%s", one);
    RUN(EMPTY, "HRANDFIELD h 0");
    cr_assert_eq(array_bulks(ct_run(&t, "HRANDFIELD h -10"), NULL, 0, NULL), 10);
    cr_assert_eq(array_bulks(ct_run(&t, "HRANDFIELD h -10 WITHVALUES"), NULL, 0, NULL), 20);
    RUN("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "HRANDFIELD h 5");
    RUN("*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
        "HRANDFIELD h 3 withvalues");
    cr_assert_eq(array_bulks(ct_run(&t, "HRANDFIELD h 2"), buf, sizeof buf, NULL), 2);
    cr_assert_str_neq(buf, buf + strlen(buf) + 1);
    RUN("-ERR syntax error\r\n", "HRANDFIELD h 2 withscores");
    RUN("-ERR syntax error\r\n", "HRANDFIELD h 2 withvalues x");
    RUN(NOTINT, "HRANDFIELD h x");
    RUN("-ERR value is out of range\r\n", "HRANDFIELD h 9223372036854775807 withvalues");
}

/* Distinct picks of a hashtable hash are distinct, both strategies. */
Test(cmd_hash, hrandfield_distinct_large)
{
    for (int i = 0; i < 300; i++)
        ct_run(&t, "HSET h f%03d v", i);
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING h");
    static char buf[8192];
    int counts[] = {5, 250};
    for (int c = 0; c < 2; c++) {
        long n = array_bulks(ct_run(&t, "HRANDFIELD h %d", counts[c]), buf, sizeof buf, NULL);
        cr_assert_eq(n, counts[c]);
        char seen[300] = {0};
        for (char *p = buf; n-- > 0; p += strlen(p) + 1) {
            int k = atoi(p + 1);
            cr_assert_eq(seen[k], 0, "%s twice", p);
            seen[k] = 1;
        }
    }
}

/* ---- HSCAN ---- */

/* A listpack hash is returned whole with cursor 0; MATCH filters fields; errors. */
Test(cmd_hash, hscan_listpack_and_errors)
{
    RUN(":3\r\n", "HSET h aa 1 ab 2 b 3");
    RUN("*2\r\n$1\r\n0\r\n*6\r\n$2\r\naa\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n3\r\n",
        "HSCAN h 0");
    RUN("*2\r\n$1\r\n0\r\n*4\r\n$2\r\naa\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n2\r\n", "HSCAN h 0 MATCH a*");
    RUN("*2\r\n$1\r\n0\r\n*0\r\n", "HSCAN nokey 0");
    RUN("-ERR invalid cursor\r\n", "HSCAN h x");
    RUN("-ERR syntax error\r\n", "HSCAN h 0 COUNT 0");
    RUN("-ERR syntax error\r\n", "HSCAN h 0 TYPE string");
    RUN("-ERR syntax error\r\n", "HSCAN h 0 MATCH");
}

/* A full HSCAN of a hashtable hash returns every field, also while it grows meanwhile. */
Test(cmd_hash, hscan_hashtable_complete)
{
    for (int i = 0; i < 1000; i++)
        ct_run(&t, "HSET h f%04d v", i);
    static char buf[65536];
    char seen[1000] = {0};
    unsigned long long cursor = 0;
    int calls = 0;
    do {
        long n = array_bulks(ct_run(&t, "HSCAN h %llu COUNT 10", cursor), buf, sizeof buf, &cursor);
        char *p = buf;
        for (long i = 0; i < n; i += 2) {
            if (p[0] == 'f')
                seen[atoi(p + 1)] = 1;
            p += strlen(p) + 1;
            p += strlen(p) + 1;
        }
        if (calls++ == 5)
            for (int i = 1000; i < 3000; i++)
                ct_run(&t, "HSET h g%04d v", i);
    } while (cursor != 0);
    for (int i = 0; i < 1000; i++)
        cr_assert(seen[i], "f%04d missing", i);
    cr_assert_gt(calls, 10);
}

/* ---- digest, snapshot, lazy free ---- */

/* The digest of a hash depends on its content only: not on field order or encoding. */
Test(cmd_hash, digest_independent_of_order_and_encoding)
{
    RUN(":2\r\n", "HSET h a 1 b 2");
    char d1[41];
    strcpy(d1, ct_digest(&t));
    RUN(":1\r\n", "DEL h");
    RUN(":2\r\n", "HSET h b 2 a 1");
    cr_assert_str_eq(ct_digest(&t), d1);
    RUN(":1\r\n", "DEL h");
    APPLY(":2\r\n", "HSET h b 2 a 1 0:64");
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING h");
    cr_assert_str_eq(ct_digest(&t), d1);
    RUN(":0\r\n", "HSET h a 2");
    cr_assert_str_neq(ct_digest(&t), d1);
    RUN(OK, "SET h x");
    cr_assert_str_neq(ct_digest(&t), d1);
}

/* Both encodings survive a snapshot round trip: same digest, same order of HGETALL and
 * HSCAN (the dict shape is rebuilt), same encoding. */
Test(cmd_hash, snapshot_round_trip_both_encodings)
{
    RUN(":2\r\n", "HSET small b 2 a 1");
    for (int i = 0; i < 500; i++)
        ct_run(&t, "HSET big f%d %d", i, i);
    for (int i = 0; i < 400; i++)
        ct_run(&t, "HDEL big f%d", i); /* shrinks: a rehash may be in progress */
    RUN(OK, "SET s v");
    RUN(":1\r\n", "EXPIRE small 100");
    struct kv_store *kb = kv_new();
    struct buf snap;
    char da[41], db[41];
    buf_init(&snap);
    cr_assert_eq(ct_snapshot_into(&t, kb, &snap, da, db), 0);
    cr_assert_str_eq(da, db);
    static char before[65536], after[65536];
    snprintf(before, sizeof before, "%s", ct_run(&t, "HGETALL big"));
    snprintf(before + strlen(before), sizeof before - strlen(before), "%s",
             ct_run(&t, "HSCAN big 0 COUNT 7"));
    struct kv_store *ka = t.kv;
    t.kv = kb;
    snprintf(after, sizeof after, "%s", ct_run(&t, "HGETALL big"));
    snprintf(after + strlen(after), sizeof after - strlen(after), "%s",
             ct_run(&t, "HSCAN big 0 COUNT 7"));
    cr_assert_str_eq(before, after);
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING big");
    RUN("$8\r\nlistpack\r\n", "OBJECT ENCODING small");
    RUN("*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n", "HGETALL small");
    t.kv = ka;
    /* a damaged snapshot is refused whole */
    for (size_t cut = snap.len - 1; cut > snap.len - 400; cut -= 37)
        cr_assert_eq(ct_restore(kb, &snap, cut), -1);
    kv_free(kb);
    buf_close(&snap);
}

/* Deleting a large hash detaches it at once and frees it a slice at a time. */
Test(cmd_hash, large_hash_freed_incrementally)
{
    for (int i = 0; i < 5000; i++)
        ct_run(&t, "HSET h f%d v", i);
    RUN(":1\r\n", "DEL h");
    RUN(":0\r\n", "DBSIZE");
    cr_assert_eq(kv_lazy_pending(t.kv), 1);
    int steps = 0;
    while (kv_lazy_free_step(t.kv, 1000) > 0)
        steps++;
    cr_assert_geq(steps, 3);
    cr_assert_eq(kv_lazy_pending(t.kv), 0);
    for (int i = 0; i < 200; i++)
        ct_run(&t, "HSET h f%d v", i);
    RUN(OK, "FLUSHALL");
    cr_assert_eq(kv_lazy_pending(t.kv), 1);
    /* kv_free releases what is still queued (checked by the sanitizer build) */
}
