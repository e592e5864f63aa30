/* Unit tests of the set commands (cmd_set.c) through the command harness: exact RESP
 * replies and Redis 7.0 error texts, WRONGTYPE on every command, empty results deleting
 * their key, intset -> hashtable conversion by size and by a non-integer member with the
 * limit carried by the request, SPOP's strategies and determinism, SRANDMEMBER's counts,
 * the intersection/union/difference family and their stores, SSCAN completeness, the
 * numkeys key position, snapshots of both encodings and the lazy free of a large set. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtest.h"
#include "command.h"
#include "fsm.h"
#include "kv.h"
#include "set.h"

#define T0 1700000000000LL

#define OK "+OK\r\n"
#define NIL "$-1\r\n"
#define EMPTY "*0\r\n"
#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
#define NOTINT "-ERR value is not an integer or out of range\r\n"
#define SYNTAX "-ERR syntax error\r\n"

static struct cmdtest t;

static void setup(void)
{
    ct_init(&t, T0);
    set_configure_limits(SET_DEFAULT_MAX_INTSET);
}

static void teardown(void)
{
    ct_close(&t);
    set_configure_limits(SET_DEFAULT_MAX_INTSET);
}

TestSuite(cmd_set, .init = setup, .fini = teardown);

#define RUN(expected, ...) cr_assert_str_eq(ct_run(&t, __VA_ARGS__), expected)
#define APPLY(expected, ...) cr_assert_str_eq(ct_apply(&t, __VA_ARGS__), expected)

#define arr ct_bulks

/* The bulks of the array at S (or of a SCAN reply's second element when CURSOR is not
 * NULL) as a set in OUT; returns how many there were. */
static long bulks_into(const char *s, struct set *out, unsigned long long *cursor)
{
    if (cursor != NULL) {
        cr_assert(strncmp(s, "*2\r\n$", 5) == 0, "not a scan reply: %s", s);
        s = strchr(s + 5, '\n') + 1;
        *cursor = strtoull(s, NULL, 10);
        s = strchr(s, '\n') + 1;
    }
    cr_assert_eq(*s, '*', "not an array: %s", s);
    long n = strtol(s + 1, NULL, 10);
    s = strchr(s, '\n') + 1;
    for (long i = 0; i < n; i++) {
        cr_assert_eq(*s, '$');
        long len = strtol(s + 1, NULL, 10);
        s = strchr(s, '\n') + 1;
        if (out != NULL)
            set_add(out, s, (size_t)len, 0);
        s += len + 2;
    }
    return n;
}

/* ---- SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS ---- */

/* SADD answers the members it added; the key is a set. */
Test(cmd_set, sadd_counts_new_members)
{
    RUN(":3\r\n", "SADD s 3 1 2");
    RUN(":1\r\n", "SADD s 2 4");
    RUN(":0\r\n", "SADD s 1");
    RUN(":4\r\n", "SCARD s");
    RUN(":0\r\n", "SCARD nokey");
    RUN("+set\r\n", "TYPE s");
    RUN(arr(4, "1", "2", "3", "4"), "SMEMBERS s");
    RUN(EMPTY, "SMEMBERS nokey");
    RUN("-ERR wrong number of arguments for 'sadd' command\r\n", "SADD s");
}

/* SISMEMBER and SMISMEMBER answer per member, 0 for a missing key. */
Test(cmd_set, membership)
{
    RUN(":2\r\n", "SADD s a b");
    RUN(":1\r\n", "SISMEMBER s a");
    RUN(":0\r\n", "SISMEMBER s c");
    RUN(":0\r\n", "SISMEMBER nokey a");
    RUN("*3\r\n:1\r\n:0\r\n:1\r\n", "SMISMEMBER s a c b");
    RUN("*2\r\n:0\r\n:0\r\n", "SMISMEMBER nokey a b");
    RUN("-ERR wrong number of arguments for 'smismember' command\r\n", "SMISMEMBER s");
}

/* SREM answers the members removed; removing the last deletes the key. */
Test(cmd_set, srem_last_member_deletes_key)
{
    RUN(":3\r\n", "SADD s a b c");
    RUN(":2\r\n", "SREM s a x b");
    RUN(":0\r\n", "SREM nokey a");
    RUN(":1\r\n", "SREM s c a");
    RUN(":0\r\n", "EXISTS s");
    RUN(":2\r\n", "SADD n 1 2");
    RUN(":2\r\n", "SREM n 1 2 x");
    RUN(":0\r\n", "EXISTS n");
}

/* Every set command answers WRONGTYPE on a string key, and leaves it alone. */
Test(cmd_set, wrongtype_everywhere)
{
    const char *cmds[] = {
        "SADD k a", "SREM k a", "SCARD k", "SISMEMBER k a", "SMISMEMBER k a", "SMEMBERS k",
        "SPOP k", "SPOP k 2", "SRANDMEMBER k", "SRANDMEMBER k 2", "SMOVE k s a", "SMOVE s k a",
        "SINTER s k", "SINTER k", "SINTERCARD 2 s k", "SINTERSTORE d s k", "SUNION s k",
        "SUNIONSTORE d s k", "SDIFF k s", "SDIFF s k", "SDIFFSTORE d s k", "SSCAN k 0",
        "SORT k", "SORT_RO k",
    };
    RUN(OK, "SET k v");
    RUN(":1\r\n", "SADD s a");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        cr_assert_str_eq(ct_run(&t, "%s", cmds[i]), WRONGTYPE, "%s", cmds[i]);
    RUN("$1\r\nv\r\n", "GET k");
    RUN(arr(1, "a"), "SMEMBERS s");
    RUN(":0\r\n", "EXISTS d");
    /* a set key is the wrong type for the string and hash commands */
    RUN(WRONGTYPE, "GET s");
    RUN(WRONGTYPE, "HGET s a");
    RUN(WRONGTYPE, "INCR s");
}

/* ---- encodings ---- */

/* Integers make an intset; past set-max-intset-entries it becomes a hashtable, for good. */
Test(cmd_set, intset_converts_by_size)
{
    set_configure_limits(4);
    RUN(":4\r\n", "SADD s 1 2 3 4");
    RUN("$6\r\nintset\r\n", "OBJECT ENCODING s");
    RUN(":1\r\n", "SADD s 5");
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING s");
    RUN(":4\r\n", "SREM s 1 2 3 4");
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING s");
    RUN(arr(1, "5"), "SMEMBERS s");
}

/* A non-integer member (or a non-canonical one) converts; a first one makes a hashtable. */
Test(cmd_set, intset_converts_by_non_integer)
{
    RUN(":2\r\n", "SADD s 1 2");
    RUN("$6\r\nintset\r\n", "OBJECT ENCODING s");
    RUN(":1\r\n", "SADD s 007");
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING s");
    RUN(":1\r\n", "SISMEMBER s 007");
    RUN(":0\r\n", "SISMEMBER s 7");
    RUN(":1\r\n", "SADD h x");
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING h");
    RUN(":1\r\n", "SADD big 9223372036854775807");
    RUN("$6\r\nintset\r\n", "OBJECT ENCODING big");
    RUN(":1\r\n", "SADD big 9223372036854775808");
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING big");
}

/* The limit travels in the request: prepare appends the node's setting, apply uses only
 * what the request carries. */
Test(cmd_set, limit_carried_by_the_request)
{
    set_configure_limits(7);
    cr_assert_str_eq(ct_prepare(&t, "SADD s 1"), "SADD s 1 7:0");
    cr_assert_str_eq(ct_prepare(&t, "SINTERSTORE d a b"), "SINTERSTORE d a b 7:0");
    cr_assert_str_eq(ct_prepare(&t, "SMOVE a b 1 2"),
                     "-ERR wrong number of arguments for 'smove' command\r\n");
    set_configure_limits(512);
    APPLY(":3\r\n", "SADD s 1 2 3 2:0"); /* the node says 512, the entry says 2 */
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING s");
    APPLY("-ERR malformed set write: the conversion limit is missing\r\n", "SADD q 1");
    RUN(":0\r\n", "EXISTS q");
}

/* ---- SMOVE ---- */

/* SMOVE moves a member, creates the destination, deletes an emptied source. */
Test(cmd_set, smove_cases)
{
    RUN(":2\r\n", "SADD a 1 x");
    RUN(":1\r\n", "SMOVE a b 1");
    RUN("$6\r\nintset\r\n", "OBJECT ENCODING b");
    RUN(":0\r\n", "SMOVE a b 1");
    RUN(":0\r\n", "SMOVE nokey b 1");
    RUN(":1\r\n", "SMOVE a a x"); /* same key: membership */
    RUN(":0\r\n", "SMOVE a a nope");
    RUN(":1\r\n", "SADD b x");
    RUN(":1\r\n", "SMOVE a b x"); /* already in b: still 1 */
    RUN(":0\r\n", "EXISTS a");
    RUN(arr(2, "1", "x"), "SORT b ALPHA");
    RUN(OK, "SET str v");
    RUN(":0\r\n", "SMOVE nokey str 1"); /* missing source: 0 before any type check */
    RUN(WRONGTYPE, "SMOVE b str 1");
    RUN(":1\r\n", "SISMEMBER b 1");
    RUN("-ERR wrong number of arguments for 'smove' command\r\n", "SMOVE a b");
}

/* ---- SPOP ---- */

/* SPOP without a count: one member or nil; the last one deletes the key. */
Test(cmd_set, spop_single)
{
    RUN(NIL, "SPOP nokey");
    RUN(":1\r\n", "SADD s only");
    RUN("$4\r\nonly\r\n", "SPOP s");
    RUN(":0\r\n", "EXISTS s");
}

/* SPOP's count: 0 and a missing key answer an empty array, a negative one an error, more
 * than the size the whole set (and the key is gone); too many arguments a syntax error. */
Test(cmd_set, spop_count_edges)
{
    RUN(EMPTY, "SPOP nokey 3");
    RUN(":3\r\n", "SADD s 3 1 2");
    RUN(EMPTY, "SPOP s 0");
    RUN("-ERR value is out of range, must be positive\r\n", "SPOP s -1");
    RUN(NOTINT, "SPOP s x");
    RUN(SYNTAX, "SPOP s 1 2");
    RUN(":3\r\n", "SCARD s");
    RUN(arr(3, "1", "2", "3"), "SPOP s 9223372036854775807");
    RUN(":0\r\n", "EXISTS s");
}

/* As Redis 7.0's spopWithCountCommand: the count is parsed before the key is looked up
 * (a bad count wins over WRONGTYPE and over a missing key), the type is checked before a
 * zero count is served, and a count equal to the size takes the whole set of either
 * encoding and deletes the key. */
Test(cmd_set, spop_count_order_of_checks)
{
    RUN(OK, "SET str x");
    RUN("-ERR value is out of range, must be positive\r\n", "SPOP str -1");
    RUN(NOTINT, "SPOP str 1.5");
    RUN(WRONGTYPE, "SPOP str 0");
    RUN(WRONGTYPE, "SPOP str 1");
    RUN("-ERR value is out of range, must be positive\r\n", "SPOP nokey -5");
    RUN(EMPTY, "SPOP nokey 0");
    RUN("$1\r\nx\r\n", "GET str");
    RUN(":2\r\n", "SADD h a b");
    RUN(":1\r\n", "EXPIRE h 100");
    cr_assert_eq(strncmp(ct_run(&t, "SPOP h 2"), "*2\r\n", 4), 0);
    RUN(":0\r\n", "EXISTS h");
    RUN(":-2\r\n", "TTL h");
    RUN(":3\r\n", "SADD i 7 8 9");
    RUN(arr(3, "7", "8", "9"), "SPOP i 3");
    RUN(":0\r\n", "EXISTS i");
}

/* Both strategies pop COUNT distinct members and leave the rest; the large-count one keeps
 * the key's TTL and encoding. */
Test(cmd_set, spop_count_strategies)
{
    for (int enc = 0; enc < 2; enc++) {
        for (int i = 0; i < 100; i++)
            ct_run(&t, enc ? "SADD s m%d" : "SADD s %d", i);
        RUN(":1\r\n", "EXPIRE s 1000");
        const char *want = enc ? "$9\r\nhashtable\r\n" : "$6\r\nintset\r\n";
        long counts[] = {3, 90}; /* 97 * 5 > 3: pop; 10 * 5 <= 90: keep the rest */
        struct set *popped = set_new(SET_HASHTABLE);
        size_t total = 0;
        for (int c = 0; c < 2; c++) {
            cr_assert_eq(bulks_into(ct_run(&t, "SPOP s %ld", counts[c]), popped, NULL), counts[c]);
            total += (size_t)counts[c];
            cr_assert_eq(set_len(popped), total);
            RUN(want, "OBJECT ENCODING s");
        }
        RUN(":7\r\n", "SCARD s");
        cr_assert_str_neq(ct_run(&t, "TTL s"), ":-1\r\n");
        struct set *rest = set_new(SET_HASHTABLE);
        bulks_into(ct_run(&t, "SMEMBERS s"), rest, NULL);
        struct set_iter it;
        const char *m;
        size_t len;
        set_iter_init(&it, rest);
        while (set_iter_next(&it, &m, &len))
            cr_assert(!set_contains(popped, m, len), "popped and kept: %.*s", (int)len, m);
        set_iter_close(&it);
        set_free(rest);
        set_free(popped);
        RUN(":1\r\n", "DEL s");
    }
}

/* SPOP is deterministic: the same writes at the same apply_seq pop the same members. */
Test(cmd_set, spop_same_seed_same_result)
{
    static char first[4][2048];
    for (int run = 0; run < 2; run++) {
        ct_close(&t);
        ct_init(&t, T0);
        for (int i = 0; i < 300; i++)
            ct_run(&t, "SADD s m%d", i);
        const char *r[4] = {ct_run(&t, "SPOP s"), NULL, NULL, NULL};
        char a[2048];
        snprintf(a, sizeof a, "%s", r[0]);
        if (run == 0)
            strcpy(first[0], a);
        else
            cr_assert_str_eq(a, first[0]);
        const char *lines[] = {"SPOP s 5", "SPOP s 250", "SMEMBERS s"};
        for (int k = 0; k < 3; k++) {
            snprintf(a, sizeof a, "%s", ct_run(&t, "%s", lines[k]));
            if (run == 0)
                strcpy(first[k + 1], a);
            else
                cr_assert_str_eq(a, first[k + 1], "%s", lines[k]);
        }
    }
    /* another apply_seq draws differently (with overwhelming probability) */
    ct_close(&t);
    ct_init(&t, T0);
    ct_run(&t, "SET pad x");
    for (int i = 0; i < 300; i++)
        ct_run(&t, "SADD s m%d", i);
    cr_assert_str_neq(ct_run(&t, "SPOP s 5"), first[2]);
}

/* ---- SRANDMEMBER ---- */

/* SRANDMEMBER's forms: nil or empty for a missing key; a negative count repeats; a count
 * past the size answers the whole set; a count in between answers distinct members. */
Test(cmd_set, srandmember_counts)
{
    RUN(NIL, "SRANDMEMBER nokey");
    RUN(EMPTY, "SRANDMEMBER nokey 5");
    RUN(EMPTY, "SRANDMEMBER nokey -5");
    RUN(":1\r\n", "SADD one x");
    RUN("$1\r\nx\r\n", "SRANDMEMBER one");
    RUN(arr(4, "x", "x", "x", "x"), "SRANDMEMBER one -4");
    RUN(EMPTY, "SRANDMEMBER one 0");
    RUN(NOTINT, "SRANDMEMBER one x");
    RUN(SYNTAX, "SRANDMEMBER one 1 2");
    RUN("-ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807\r\n", "SRANDMEMBER one -9223372036854775808");
    for (int i = 0; i < 50; i++)
        ct_run(&t, "SADD s %d", i);
    RUN(":50\r\n", "SCARD s");
    struct set *got = set_new(SET_HASHTABLE);
    cr_assert_eq(bulks_into(ct_run(&t, "SRANDMEMBER s 100"), got, NULL), 50);
    cr_assert_eq(set_len(got), 50);
    set_free(got);
    long counts[] = {1, 5, 20, 49}; /* both distinct strategies */
    for (int c = 0; c < 4; c++) {
        got = set_new(SET_HASHTABLE);
        cr_assert_eq(bulks_into(ct_run(&t, "SRANDMEMBER s %ld", counts[c]), got, NULL), counts[c]);
        cr_assert_eq(set_len(got), (size_t)counts[c], "count %ld: repeats", counts[c]);
        set_free(got);
    }
    got = set_new(SET_HASHTABLE);
    cr_assert_eq(bulks_into(ct_run(&t, "SRANDMEMBER s -500"), got, NULL), 500);
    cr_assert_leq(set_len(got), 50);
    set_free(got);
    RUN(":50\r\n", "SCARD s"); /* a read */
    RUN("-ERR count is too large: at most 10000000 members with repetitions\r\n",
        "SRANDMEMBER s -9223372036854775807");
}

/* ---- SINTER, SUNION, SDIFF, stores, SINTERCARD ---- */

/* The intersection walks the smallest set; a missing key makes it empty. */
Test(cmd_set, sinter_family)
{
    RUN(":5\r\n", "SADD a 1 2 3 4 5");
    RUN(":3\r\n", "SADD b 5 3 1");
    RUN(":4\r\n", "SADD c 1 3 5 x");
    RUN(arr(3, "1", "3", "5"), "SINTER a b c");
    RUN(EMPTY, "SINTER a nokey");
    RUN(arr(5, "1", "2", "3", "4", "5"), "SINTER a a");
    RUN(":3\r\n", "SINTERSTORE d a b c");
    RUN("$6\r\nintset\r\n", "OBJECT ENCODING d");
    RUN(arr(3, "1", "3", "5"), "SMEMBERS d");
    RUN(":0\r\n", "SINTERSTORE d a nokey");
    RUN(":0\r\n", "EXISTS d");
    RUN(":1\r\n", "SADD e x");
    RUN(":0\r\n", "SINTERSTORE d a e"); /* empty result: no key */
    RUN(":0\r\n", "EXISTS d");
    RUN(":1\r\n", "SINTERSTORE d c e");
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING d");
    RUN(OK, "SET str v");
    RUN(":3\r\n", "SINTERSTORE str a b"); /* a store overwrites any type */
    RUN("+set\r\n", "TYPE str");
    RUN(":3\r\n", "SINTERSTORE a a b"); /* into one of its sources */
    RUN(arr(3, "1", "3", "5"), "SMEMBERS a");
}

/* SINTERCARD's numkeys and LIMIT, with Redis's error texts. */
Test(cmd_set, sintercard_numkeys_and_limit)
{
    RUN(":5\r\n", "SADD a 1 2 3 4 5");
    RUN(":4\r\n", "SADD b 2 3 4 5");
    RUN(":4\r\n", "SINTERCARD 2 a b");
    RUN(":2\r\n", "SINTERCARD 2 a b LIMIT 2");
    RUN(":4\r\n", "SINTERCARD 2 a b LIMIT 0");
    RUN(":4\r\n", "SINTERCARD 2 a b LIMIT 100");
    RUN(":0\r\n", "SINTERCARD 2 a nokey");
    RUN(":5\r\n", "SINTERCARD 1 a");
    RUN("-ERR numkeys should be greater than 0\r\n", "SINTERCARD 0 a");
    RUN("-ERR numkeys should be greater than 0\r\n", "SINTERCARD x a");
    RUN("-ERR Number of keys can't be greater than number of args\r\n", "SINTERCARD 3 a b");
    RUN("-ERR LIMIT can't be negative\r\n", "SINTERCARD 2 a b LIMIT -1");
    RUN("-ERR LIMIT can't be negative\r\n", "SINTERCARD 2 a b LIMIT x");
    RUN(SYNTAX, "SINTERCARD 2 a b LIMIT");
    RUN(SYNTAX, "SINTERCARD 1 a b");
}

/* SUNION and SDIFF (both algorithms), and their stores. */
Test(cmd_set, sunion_sdiff_and_stores)
{
    RUN(":3\r\n", "SADD a 1 2 3");
    RUN(":2\r\n", "SADD b 3 4");
    RUN(arr(4, "1", "2", "3", "4"), "SUNION a b nokey");
    RUN(EMPTY, "SUNION nokey");
    RUN(arr(2, "1", "2"), "SDIFF a b nokey");
    RUN(EMPTY, "SDIFF nokey a");
    RUN(EMPTY, "SDIFF a a");
    RUN(EMPTY, "SDIFF a b a");
    RUN(arr(3, "1", "2", "3"), "SDIFF a");
    for (int i = 0; i < 40; i++)
        ct_run(&t, "SADD big %d", i); /* big second set: algorithm 1; many firsts: 2 */
    RUN(EMPTY, "SDIFF a big");
    RUN(arr(36, "0", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17",
            "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31",
            "32", "33", "34", "35", "36", "37", "38", "39"),
        "SDIFF big a b");
    RUN(":4\r\n", "SUNIONSTORE u a b");
    RUN("$6\r\nintset\r\n", "OBJECT ENCODING u");
    RUN(":1\r\n", "SADD w word");
    RUN(":5\r\n", "SUNIONSTORE u u w");
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING u");
    RUN(":2\r\n", "SDIFFSTORE dd a b");
    RUN(arr(2, "1", "2"), "SMEMBERS dd");
    RUN(":0\r\n", "SDIFFSTORE dd a a");
    RUN(":0\r\n", "EXISTS dd");
    RUN(":0\r\n", "SUNIONSTORE dd nokey");
    RUN(":0\r\n", "EXISTS dd");
    set_configure_limits(2); /* stores convert by the carried limit */
    RUN(":3\r\n", "SUNIONSTORE dd a");
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING dd");
    RUN("-ERR wrong number of arguments for 'sunionstore' command\r\n", "SUNIONSTORE dd");
}

/* ---- SSCAN ---- */

/* An intset is returned whole with cursor 0; MATCH filters; options are checked. */
Test(cmd_set, sscan_intset_whole)
{
    RUN(":3\r\n", "SADD s 10 20 3");
    RUN("*2\r\n$1\r\n0\r\n*3\r\n$1\r\n3\r\n$2\r\n10\r\n$2\r\n20\r\n", "SSCAN s 0");
    RUN("*2\r\n$1\r\n0\r\n*2\r\n$2\r\n10\r\n$2\r\n20\r\n", "SSCAN s 0 MATCH *0");
    RUN("*2\r\n$1\r\n0\r\n*0\r\n", "SSCAN nokey 0");
    RUN("-ERR invalid cursor\r\n", "SSCAN s x");
    RUN(SYNTAX, "SSCAN s 0 COUNT 0");
    RUN(SYNTAX, "SSCAN s 0 FOO 1");
}

/* A hashtable set's scan returns every member over the cursor loop, also while it changes
 * size between calls. */
Test(cmd_set, sscan_hashtable_complete)
{
    for (int i = 0; i < 1000; i++)
        ct_run(&t, "SADD s m%d", i);
    struct set *seen = set_new(SET_HASHTABLE);
    unsigned long long cursor = 0;
    int calls = 0;
    do {
        bulks_into(ct_run(&t, "SSCAN s %llu COUNT 20", cursor), seen, &cursor);
        if (calls++ == 10)
            for (int i = 1000; i < 1500; i++)
                ct_run(&t, "SADD s m%d", i); /* grows mid-scan */
    } while (cursor != 0);
    for (int i = 0; i < 1000; i++) {
        char m[16];
        snprintf(m, sizeof m, "m%d", i);
        cr_assert(set_contains(seen, m, strlen(m)), "%s missing", m);
    }
    cr_assert_gt(calls, 10);
    set_free(seen);
}

/* ---- key positions, snapshots, lazy free ---- */

/* SINTERCARD reports 0,0,0 (as Redis's COMMAND) yet MOVED finds its first key. */
Test(cmd_set, numkeys_first_key)
{
    struct command *c = command_lookup("sintercard", 10);
    cr_assert_not_null(c);
    cr_assert_eq(c->first_key, 0);
    struct request *req = ct_request("SINTERCARD 2 a b");
    cr_assert_eq(command_first_key(c, req), 2);
    request_free(req);
    req = ct_request("SINTERCARD x a");
    cr_assert_eq(command_first_key(c, req), -1);
    request_free(req);
    c = command_lookup("smove", 5);
    req = ct_request("SMOVE a b m");
    cr_assert_eq(command_first_key(c, req), 1);
    request_free(req);
}

/* Both encodings survive a snapshot round trip: same digest, same SMEMBERS and SSCAN
 * order, same SPOP choices afterwards; damaged snapshots are refused. */
Test(cmd_set, snapshot_round_trip_both_encodings)
{
    RUN(":3\r\n", "SADD small 3 1 2");
    for (int i = 0; i < 600; i++)
        ct_run(&t, "SADD big m%d", i);
    for (int i = 0; i < 500; i++)
        ct_run(&t, "SREM big m%d", i); /* shrinks: a rehash may be in progress */
    RUN(":1\r\n", "EXPIRE small 100");
    struct kv_store *kb = kv_new();
    struct buf snap;
    char da[41], db[41];
    buf_init(&snap);
    cr_assert_eq(ct_snapshot_into(&t, kb, &snap, da, db), 0);
    cr_assert_str_eq(da, db);
    static char before[65536], after[65536];
    const char *lines[] = {"SMEMBERS big", "SSCAN big 0 COUNT 7", "SMEMBERS small", "SPOP big 3"};
    uint64_t seq = t.apply_seq;
    for (int k = 0; k < 4; k++)
        snprintf(before + strlen(before), sizeof before - strlen(before), "%s",
                 ct_run(&t, "%s", lines[k]));
    struct kv_store *ka = t.kv;
    t.kv = kb;
    t.apply_seq = seq;
    for (int k = 0; k < 4; k++)
        snprintf(after + strlen(after), sizeof after - strlen(after), "%s",
                 ct_run(&t, "%s", lines[k]));
    cr_assert_str_eq(before, after);
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING big");
    RUN("$6\r\nintset\r\n", "OBJECT ENCODING small");
    t.kv = ka;
    for (size_t cut = snap.len - 1; cut > snap.len - 400; cut -= 37)
        cr_assert_eq(ct_restore(kb, &snap, cut), -1);
    kv_free(kb);
    buf_close(&snap);
}

/* COPY duplicates a set in its encoding; RENAME moves it. */
Test(cmd_set, copy_and_rename)
{
    RUN(":2\r\n", "SADD s 1 2");
    RUN(":1\r\n", "COPY s c");
    RUN("$6\r\nintset\r\n", "OBJECT ENCODING c");
    RUN(":1\r\n", "SADD c 3");
    RUN(":2\r\n", "SCARD s");
    RUN(OK, "RENAME c r");
    RUN(arr(3, "1", "2", "3"), "SMEMBERS r");
}

/* Deleting a large set detaches it at once and frees it a slice at a time. */
Test(cmd_set, large_set_freed_incrementally)
{
    for (int i = 0; i < 5000; i++)
        ct_run(&t, "SADD s m%d", i);
    RUN(":1\r\n", "DEL s");
    cr_assert_eq(kv_lazy_pending(t.kv), 1);
    int steps = 0;
    while (kv_lazy_free_step(t.kv, 1000) > 0)
        steps++;
    cr_assert_geq(steps, 3);
    cr_assert_eq(kv_lazy_pending(t.kv), 0);
}
