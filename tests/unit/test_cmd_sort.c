/* Unit tests of SORT and SORT_RO (cmd_sort.c) over sets and lists through the harness:
 * numeric and ALPHA (byte) order, DESC, LIMIT clamping, BY string keys and hash fields,
 * BY a constant (no sorting), GET # / keys / hash fields, Redis's error texts, WRONGTYPE,
 * STORE (a list; an empty result deletes the destination; a set BY nosort is stored sorted,
 * as Redis does) and SORT_RO refusing STORE. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmdtest.h"
#include "set.h"

#define T0 1700000000000LL
#define EMPTY "*0\r\n"
#define NIL "$-1\r\n"
#define SYNTAX "-ERR syntax error\r\n"
#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"

static struct cmdtest t;

static void setup(void)
{
    ct_init(&t, T0);
}

static void teardown(void)
{
    ct_close(&t);
}

TestSuite(cmd_sort, .init = setup, .fini = teardown);

#define RUN(expected, ...) cr_assert_str_eq(ct_run(&t, __VA_ARGS__), expected)

#define arr ct_bulks

/* Numbers sort numerically, ASC by default; DESC reverses. */
Test(cmd_sort, numeric_asc_desc)
{
    RUN(":5\r\n", "SADD s 10 -1 3 2.5 1e1x");
    RUN("-ERR One or more scores can't be converted into double\r\n", "SORT s");
    RUN(":1\r\n", "SREM s 1e1x");
    RUN(":1\r\n", "SADD s 1e1");
    RUN(arr(5, "-1", "2.5", "3", "10", "1e1"), "SORT s"); /* 10 == 1e1: ties by bytes */
    RUN(arr(5, "1e1", "10", "3", "2.5", "-1"), "SORT s DESC");
    RUN(arr(5, "-1", "2.5", "3", "10", "1e1"), "SORT_RO s ASC");
    RUN(":1\r\n", "SADD n nan");
    RUN("-ERR One or more scores can't be converted into double\r\n", "SORT n");
}

/* ALPHA compares bytes (no locale): "a10" < "a2" < "b"; uppercase before lowercase. */
Test(cmd_sort, alpha_is_byte_order)
{
    RUN(":5\r\n", "SADD s b a2 a10 B ab");
    RUN(arr(5, "B", "a10", "a2", "ab", "b"), "SORT s ALPHA");
    RUN(arr(5, "b", "ab", "a2", "a10", "B"), "SORT s ALPHA DESC");
}

/* LIMIT offset count, clamped as Redis does. */
Test(cmd_sort, limit_clamps)
{
    RUN(":5\r\n", "SADD s 1 2 3 4 5");
    RUN(arr(2, "2", "3"), "SORT s LIMIT 1 2");
    RUN(arr(2, "1", "2"), "SORT s LIMIT -5 2");
    RUN(arr(4, "2", "3", "4", "5"), "SORT s LIMIT 1 -1");
    RUN(arr(4, "2", "3", "4", "5"), "SORT s LIMIT 1 100");
    RUN(EMPTY, "SORT s LIMIT 5 1");
    RUN(EMPTY, "SORT s LIMIT 1 0");
    RUN(arr(2, "4", "3"), "SORT s DESC LIMIT 1 2");
    RUN("-ERR value is not an integer or out of range\r\n", "SORT s LIMIT x 1");
    RUN(SYNTAX, "SORT s LIMIT 1");
}

/* BY a pattern sorts by other keys' values; a missing one counts as 0 (numeric) or comes
 * first (ALPHA); ties keep a fixed order. */
Test(cmd_sort, by_pattern_strings_and_hash_fields)
{
    RUN(":3\r\n", "SADD s a b c");
    RUN("+OK\r\n", "MSET w_a 3 w_b 1 w_c 2");
    RUN(arr(3, "b", "c", "a"), "SORT s BY w_*");
    RUN(arr(3, "a", "c", "b"), "SORT s BY w_* DESC");
    RUN(":1\r\n", "DEL w_c");
    RUN(arr(3, "c", "b", "a"), "SORT s BY w_*"); /* c: 0 */
    RUN(":1\r\n", "HSET h_a f z");
    RUN(":1\r\n", "HSET h_b f y");
    RUN(arr(3, "c", "b", "a"), "SORT s BY h_*->f ALPHA"); /* c has no hash: first */
    RUN(":1\r\n", "HSET h_c f 0");
    RUN("-ERR One or more scores can't be converted into double\r\n", "SORT s BY h_*->f");
    static char members[256];
    snprintf(members, sizeof members, "%s", ct_run(&t, "SMEMBERS s"));
    RUN(members, "SORT s BY nosuchkey_* ALPHA"); /* all missing: stable, the set's order */
}

/* BY a pattern without '*' does not sort: the set's own order (an intset's is ascending). */
Test(cmd_sort, by_constant_is_nosort)
{
    RUN(":4\r\n", "SADD s 30 10 20 5");
    RUN(arr(4, "5", "10", "20", "30"), "SORT s BY nosort DESC");
    RUN(arr(2, "10", "20"), "SORT s BY nosort LIMIT 1 2");
}

/* GET # answers the element, GET pattern a key's value or a hash field, nil when missing
 * or when the pattern has no '*'. */
Test(cmd_sort, get_patterns)
{
    RUN(":2\r\n", "SADD s 1 2");
    RUN("+OK\r\n", "SET o_1 one");
    RUN(":1\r\n", "HSET h_2 name two");
    RUN(arr(8, "1", "one", "(nil)", "(nil)", "2", "(nil)", "two", "(nil)"),
        "SORT s GET # GET o_* GET h_*->name GET fixed");
    RUN(arr(2, "two", "(nil)"), "SORT s DESC GET h_*->name");
    RUN(":1\r\n", "HSET o_2 x y"); /* wrong type behind the pattern: nil */
    RUN(arr(2, "one", "(nil)"), "SORT s GET o_*");
}

/* A missing key sorts as empty; strings and hashes are the wrong type; bad options are
 * syntax errors; SORT_RO refuses STORE with a syntax error, as Redis. */
Test(cmd_sort, errors_and_store)
{
    RUN(EMPTY, "SORT nokey");
    RUN("+OK\r\n", "SET str 1");
    RUN(WRONGTYPE, "SORT str");
    RUN(":1\r\n", "HSET h a 1");
    RUN(WRONGTYPE, "SORT_RO h");
    RUN(":1\r\n", "SADD s 1");
    RUN(SYNTAX, "SORT s FOO");
    RUN(SYNTAX, "SORT s BY");
    RUN(SYNTAX, "SORT s GET");
    RUN(SYNTAX, "SORT_RO s STORE dst");
    RUN(":0\r\n", "EXISTS dst");
    cr_assert_str_eq(ct_apply(&t, "SORT s"), "-ERR malformed SORT: the fill limits are missing\r\n");
}

/* SORT over a list, and STORE: a list replacing the destination (of any type), GET values
 * stored with "" for a missing one, an empty result deleting the destination. */
Test(cmd_sort, lists_and_store)
{
    RUN(":4\r\n", "RPUSH l 3 1 10 2");
    RUN(arr(4, "1", "2", "3", "10"), "SORT l");
    RUN(arr(4, "1", "10", "2", "3"), "SORT l ALPHA");
    RUN(arr(4, "3", "1", "10", "2"), "SORT l BY nosort");
    RUN(arr(2, "10", "3"), "SORT_RO l DESC LIMIT 0 2");
    RUN("+OK\r\n", "SET dst x");
    RUN(":4\r\n", "SORT l DESC STORE dst");
    RUN("+list\r\n", "TYPE dst");
    RUN(arr(4, "10", "3", "2", "1"), "LRANGE dst 0 -1");
    RUN("+OK\r\n", "SET w_1 one");
    RUN(":2\r\n", "SORT l LIMIT 0 2 GET w_* STORE dst");
    RUN(arr(2, "one", ""), "LRANGE dst 0 -1");
    RUN(":0\r\n", "SORT nokey STORE dst");
    RUN(":0\r\n", "EXISTS dst");
    RUN(":1\r\n", "SADD s b");
    RUN(":2\r\n", "SADD s a c");
    RUN(":3\r\n", "SORT s BY nosort STORE dst");
    RUN(arr(3, "a", "b", "c"), "LRANGE dst 0 -1");
    RUN(":3\r\n", "SORT l BY nosort LIMIT 1 3 STORE l");
    RUN(arr(3, "1", "10", "2"), "LRANGE l 0 -1");
}

/* A hashtable set sorts the same as the intset holding the same members. */
Test(cmd_sort, encoding_does_not_matter)
{
    static char a[4096];
    for (int i = 0; i < 30; i++) {
        ct_run(&t, "SADD i %d", (i * 7) % 30);
        ct_run(&t, "SADD h %d", (i * 7) % 30);
    }
    ct_run(&t, "SADD h x");
    ct_run(&t, "SREM h x");
    RUN("$9\r\nhashtable\r\n", "OBJECT ENCODING h");
    snprintf(a, sizeof a, "%s", ct_run(&t, "SORT i DESC LIMIT 3 10"));
    RUN(a, "SORT h DESC LIMIT 3 10");
}

// A sorted set sorts its members like a set; BY nosort keeps their score order.
Test(cmd_sort, sorted_set_members)
{
    RUN(":3\r\n", "ZADD z 1 30 2 10 3 20");
    RUN(arr(3, "10", "20", "30"), "SORT z");
    RUN(arr(3, "30", "10", "20"), "SORT z BY nosort");
    RUN(arr(2, "10", "20"), "SORT_RO z BY nosort LIMIT 1 2");
    RUN(":2\r\n", "ZADD za 2 b 1 c");
    RUN(arr(2, "c", "b"), "SORT za DESC ALPHA");
}
