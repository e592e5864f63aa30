/* Unit tests of the sorted-set commands (cmd_zset.c) through the command harness: exact
 * RESP replies and Redis 7.0 error texts family by family, WRONGTYPE, empty results
 * deleting their key, conversion at both thresholds with the limits carried by the
 * request, score formatting, the set operations' weights and aggregates, ZRANDMEMBER,
 * ZSCAN completeness, and snapshot round trips through the fsm. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtest.h"
#include "fsm.h"
#include "kv.h"
#include "zobj.h"

#define T0 1700000000000LL

#define OK "+OK\r\n"
#define NIL "$-1\r\n"
#define EMPTY "*0\r\n"
#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
#define NOTINT "-ERR value is not an integer or out of range\r\n"
#define NOTFLOAT "-ERR value is not a valid float\r\n"
#define SYNTAX "-ERR syntax error\r\n"
#define RANGEF "-ERR min or max is not a float\r\n"
#define RANGEL "-ERR min or max not valid string range item\r\n"
#define LP "$8\r\nlistpack\r\n"
#define SL "$8\r\nskiplist\r\n"

static struct cmdtest t;

static void setup(void)
{
    ct_init(&t, T0);
    zobj_set_limits(ZOBJ_DEFAULT_ENTRIES, ZOBJ_DEFAULT_VALUE);
}

static void teardown(void)
{
    ct_close(&t);
    zobj_set_limits(ZOBJ_DEFAULT_ENTRIES, ZOBJ_DEFAULT_VALUE);
}

TestSuite(cmd_zset, .init = setup, .fini = teardown);

#define RUN(expected, ...) cr_assert_str_eq(ct_run(&t, __VA_ARGS__), expected)
#define APPLY(expected, ...) cr_assert_str_eq(ct_apply(&t, __VA_ARGS__), expected)

/* Bulk strings of a flat reply joined by spaces ("a 1 b 2"), for readable expectations;
 * a SCAN reply's cursor goes to *CURSOR. */
static const char *flat(const char *s, unsigned long long *cursor)
{
    static char out[65536];
    size_t used = 0;
    if (cursor != NULL) {
        cr_assert(strncmp(s, "*2\r\n$", 5) == 0, "not a scan reply: %s", s);
        s = strchr(s + 5, '\n') + 1;
        *cursor = strtoull(s, NULL, 10);
        s = strchr(s, '\n') + 1;
    }
    cr_assert_eq(*s, '*', "not an array: %s", s);
    long n = strtol(s + 1, NULL, 10);
    s = strchr(s, '\n') + 1;
    out[0] = '\0';
    for (long i = 0; i < n; i++) {
        if (*s == '*') { /* nested pair (ZMPOP): flatten it */
            n += strtol(s + 1, NULL, 10);
            s = strchr(s, '\n') + 1;
            continue;
        }
        cr_assert_eq(*s, '$', "not a bulk: %s", s);
        long len = strtol(s + 1, NULL, 10);
        s = strchr(s, '\n') + 1;
        used += (size_t)snprintf(out + used, sizeof out - used, "%s%.*s", used ? " " : "",
                                 (int)len, s);
        s += len + 2;
    }
    return out;
}

#define FLAT(expected, ...) cr_assert_str_eq(flat(ct_run(&t, __VA_ARGS__), NULL), expected)

/* A fresh z of a b c d e, all scored 0, as a listpack or (ENC) a skiplist. */
static void fill_equal_scores(int enc)
{
    ct_run(&t, "DEL z");
    if (enc)
        APPLY(":5\r\n", "ZADD z 0 a 0 b 0 c 0 d 0 e 0:64");
    else
        RUN(":5\r\n", "ZADD z 0 a 0 b 0 c 0 d 0 e");
}

/* ---- ZADD, ZINCRBY ---- */

/* ZADD answers new members (CH: changed ones too) and orders by score, then member. */
Test(cmd_zset, zadd_basic_and_ch)
{
    RUN(":3\r\n", "ZADD z 1 a 2 b 1 c");
    FLAT("a 1 c 1 b 2", "ZRANGE z 0 -1 WITHSCORES");
    RUN(":0\r\n", "ZADD z 5 a 2 b");
    RUN(":1\r\n", "ZADD z CH 6 a 2 b");
    RUN(":1\r\n", "ZADD z 1.5 d");
    RUN("$3\r\n1.5\r\n", "ZSCORE z d");
    RUN(":4\r\n", "ZCARD z");
    RUN("+zset\r\n", "TYPE z");
}

/* NX, XX, GT, LT and their combinations, as Redis 7.0 answers them. */
Test(cmd_zset, zadd_options)
{
    RUN(":1\r\n", "ZADD z 5 a");
    RUN(":0\r\n", "ZADD z XX 1 b");
    RUN(":0\r\n", "ZADD nokey XX 1 b");
    RUN(":0\r\n", "EXISTS nokey");
    RUN(":1\r\n", "ZADD z NX 1 a 1 b");
    RUN("$1\r\n5\r\n", "ZSCORE z a");
    RUN(":0\r\n", "ZADD z GT CH 4 a");
    RUN(":1\r\n", "ZADD z GT CH 6 a");
    RUN(":0\r\n", "ZADD z LT CH 7 a");
    RUN(":1\r\n", "ZADD z LT XX CH 3 a 0 nope");
    RUN("$1\r\n3\r\n", "ZSCORE z a");
    RUN(":1\r\n", "ZADD z GT 1 c"); /* GT still adds new members */
    RUN("-ERR XX and NX options at the same time are not compatible\r\n", "ZADD z NX XX 1 a");
    RUN("-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
        "ZADD z GT LT 1 a");
    RUN("-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
        "ZADD z NX GT 1 a");
    RUN("-ERR INCR option supports a single increment-element pair\r\n", "ZADD z INCR 1 a 2 b");
    RUN(SYNTAX, "ZADD z 1 a 2");
    RUN(SYNTAX, "ZADD z NX 1");
    RUN(NOTFLOAT, "ZADD z 1 a x b");
    RUN(NOTFLOAT, "ZADD z nan a");
    RUN("-ERR wrong number of arguments for 'zadd' command\r\n", "ZADD z 1");
    RUN("$1\r\n3\r\n", "ZSCORE z a"); /* nothing changed by the errors */
    RUN(":3\r\n", "ZCARD z");
}

/* INCR and ZINCRBY reply the new score (nil when NX/XX/GT/LT skipped it); inf + -inf is
 * refused as NaN and leaves the member intact. */
Test(cmd_zset, incr_and_zincrby)
{
    RUN("$3\r\n2.5\r\n", "ZINCRBY z 2.5 a");
    RUN("$1\r\n5\r\n", "ZADD z INCR 2.5 a");
    RUN(NIL, "ZADD z INCR NX 1 a");
    RUN(NIL, "ZADD z INCR XX 1 b");
    RUN(NIL, "ZADD z INCR GT -1 a");
    RUN("$18\r\n5.0999999999999996\r\n", "ZINCRBY z 0.1 a");
    RUN("$3\r\ninf\r\n", "ZINCRBY z +inf b");
    RUN("-ERR resulting score is not a number (NaN)\r\n", "ZINCRBY z -inf b");
    RUN("$3\r\ninf\r\n", "ZSCORE z b");
    RUN("$4\r\n-inf\r\n", "ZINCRBY z -inf c");
    RUN(NOTFLOAT, "ZINCRBY z x a");
    RUN("-ERR wrong number of arguments for 'zincrby' command\r\n", "ZINCRBY z 1 a b");
    RUN("-ERR wrong number of arguments for 'zincrby' command\r\n", "ZINCRBY z 1");
    RUN(":3\r\n", "ZCARD z");
}

/* ---- ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, ZCOUNT, ZLEXCOUNT ---- */

/* ZREM counts removals and deletes the key with its last member. */
Test(cmd_zset, zrem_empties_delete_key)
{
    RUN(":2\r\n", "ZADD z 1 a 2 b");
    RUN(":1\r\n", "ZREM z a x");
    RUN(":0\r\n", "ZREM nokey a");
    RUN(":1\r\n", "ZREM z b b");
    RUN(":0\r\n", "EXISTS z");
    RUN(":0\r\n", "ZCARD z");
}

/* Scores, ranks both ways, nils for absent members and keys. */
Test(cmd_zset, scores_and_ranks)
{
    RUN(":3\r\n", "ZADD z 1 a 2 b 3 c");
    RUN("*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n3\r\n", "ZMSCORE z a x c");
    RUN("*2\r\n$-1\r\n$-1\r\n", "ZMSCORE nokey a b");
    RUN(NIL, "ZSCORE z x");
    RUN(NIL, "ZSCORE nokey x");
    RUN(":0\r\n", "ZRANK z a");
    RUN(":2\r\n", "ZREVRANK z a");
    RUN(NIL, "ZRANK z x");
    RUN(NIL, "ZREVRANK nokey x");
    RUN("-ERR wrong number of arguments for 'zmscore' command\r\n", "ZMSCORE z");
}

/* ZCOUNT and ZLEXCOUNT with inclusive, exclusive and infinite ends, both encodings. */
Test(cmd_zset, zcount_zlexcount)
{
    for (int enc = 0; enc < 2; enc++) {
        fill_equal_scores(enc);
        RUN(enc ? SL : LP, "OBJECT ENCODING z");
        RUN(":5\r\n", "ZCOUNT z -inf +inf");
        RUN(":0\r\n", "ZCOUNT z (0 +inf");
        RUN(":5\r\n", "ZCOUNT z 0 0");
        RUN(":3\r\n", "ZLEXCOUNT z [b [d");
        RUN(":1\r\n", "ZLEXCOUNT z (b (d");
        RUN(":5\r\n", "ZLEXCOUNT z - +");
        RUN(":0\r\n", "ZLEXCOUNT z + -");
        RUN(":2\r\n", "ZLEXCOUNT z - (c");
    }
    RUN(":3\r\n", "ZADD y 1 a 2 b 3 c");
    RUN(":2\r\n", "ZCOUNT y (1 3");
    RUN(":0\r\n", "ZCOUNT y 3 1");
    RUN(":0\r\n", "ZCOUNT nokey 0 1");
    RUN(RANGEF, "ZCOUNT y x 1");
    RUN(RANGEF, "ZCOUNT y 1 nan");
    RUN(RANGEL, "ZLEXCOUNT y a b");
    RUN(RANGEL, "ZLEXCOUNT y [a +b");
}

/* ---- ZRANGE family ---- */

/* Ranks, negative ranks, out-of-range ends, REV, WITHSCORES. */
Test(cmd_zset, zrange_by_rank)
{
    RUN(":4\r\n", "ZADD z 1 a 2 b 3 c 4 d");
    FLAT("a b c d", "ZRANGE z 0 -1");
    FLAT("b c", "ZRANGE z 1 2");
    FLAT("c d", "ZRANGE z -2 100");
    FLAT("", "ZRANGE z 3 1");
    FLAT("", "ZRANGE z 5 10");
    FLAT("a", "ZRANGE z -100 0");
    FLAT("d 4 c 3", "ZRANGE z 0 1 REV WITHSCORES");
    FLAT("d c b a", "ZREVRANGE z 0 -1");
    FLAT("c 3", "ZREVRANGE z 1 1 WITHSCORES");
    FLAT("", "ZRANGE nokey 0 -1");
    RUN(NOTINT, "ZRANGE z a 1");
    RUN("-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or "
        "BYLEX\r\n", "ZRANGE z 0 1 LIMIT 0 1");
    RUN(SYNTAX, "ZRANGE z 0 1 FOO");
    RUN(SYNTAX, "ZREVRANGE z 0 1 REV");
}

/* BYSCORE with exclusive ends, LIMIT (negative count: all; negative offset: nothing), REV
 * taking max first, and the legacy forms. */
Test(cmd_zset, zrange_by_score)
{
    RUN(":5\r\n", "ZADD z 1 a 2 b 3 c 4 d 5 e");
    FLAT("b c d", "ZRANGE z 2 4 BYSCORE");
    FLAT("c", "ZRANGE z (2 (4 BYSCORE");
    FLAT("d 4 c 3", "ZRANGE z 4 2 BYSCORE REV LIMIT 0 2 WITHSCORES");
    FLAT("c d e", "ZRANGEBYSCORE z 3 +inf");
    FLAT("d e", "ZRANGEBYSCORE z -inf +inf LIMIT 3 -1");
    FLAT("", "ZRANGEBYSCORE z -inf +inf LIMIT -1 2");
    FLAT("", "ZRANGEBYSCORE z -inf +inf LIMIT 5 2");
    FLAT("e 5 d 4", "ZREVRANGEBYSCORE z +inf (3 WITHSCORES");
    FLAT("b a", "ZREVRANGEBYSCORE z 2 -inf");
    FLAT("", "ZRANGEBYSCORE z 4 2");
    RUN(RANGEF, "ZRANGEBYSCORE z a 2");
    RUN(NOTINT, "ZRANGEBYSCORE z 1 2 LIMIT x 1");
    RUN(SYNTAX, "ZRANGEBYSCORE z 1 2 LIMIT 1");
    RUN(SYNTAX, "ZRANGEBYSCORE z 1 2 BYLEX");
}

/* BYLEX in both directions, LIMIT, and WITHSCORES refused. */
Test(cmd_zset, zrange_by_lex)
{
    for (int enc = 0; enc < 2; enc++) {
        fill_equal_scores(enc);
        FLAT("b c d", "ZRANGE z [b [d BYLEX");
        FLAT("d c", "ZRANGE z [d (b BYLEX REV");
        FLAT("c d", "ZRANGEBYLEX z (b + LIMIT 0 2");
        FLAT("e d c", "ZREVRANGEBYLEX z + [c");
        FLAT("a b c d e", "ZRANGEBYLEX z - +");
        FLAT("", "ZRANGEBYLEX z + -");
    }
    RUN("-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
        "ZRANGE z - + BYLEX WITHSCORES");
    RUN("-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
        "ZRANGEBYLEX z - + WITHSCORES");
    RUN(RANGEL, "ZRANGEBYLEX z a +");
}

/* ZRANGESTORE stores the selection (no TTL), replaces any type, deletes on empty. */
Test(cmd_zset, zrangestore)
{
    RUN(":4\r\n", "ZADD z 1 a 2 b 3 c 4 d");
    RUN(OK, "SET dst x");
    RUN(":1\r\n", "EXPIRE dst 100");
    RUN(":2\r\n", "ZRANGESTORE dst z 1 2");
    FLAT("b 2 c 3", "ZRANGE dst 0 -1 WITHSCORES");
    RUN(":-1\r\n", "TTL dst");
    RUN(LP, "OBJECT ENCODING dst");
    RUN(":2\r\n", "ZRANGESTORE dst z 4 3 BYSCORE REV");
    FLAT("c d", "ZRANGE dst 0 -1");
    RUN(":1\r\n", "ZRANGESTORE dst z (a [b BYLEX LIMIT 0 1");
    RUN(":0\r\n", "ZRANGESTORE dst z 10 20");
    RUN(":0\r\n", "EXISTS dst");
    RUN(":0\r\n", "ZRANGESTORE dst nokey 0 -1");
    RUN(SYNTAX, "ZRANGESTORE dst z 0 1 WITHSCORES");
    RUN(":3\r\n", "ZRANGESTORE z z 1 -1"); /* into itself */
    FLAT("b c d", "ZRANGE z 0 -1");
    RUN(OK, "SET s v");
    RUN(WRONGTYPE, "ZRANGESTORE dst s 0 1");
    cr_assert_str_eq(ct_prepare(&t, "ZRANGESTORE d z 0 1"), "ZRANGESTORE d z 0 1 128:64");
    APPLY(":3\r\n", "ZRANGESTORE big z 0 -1 2:64");
    RUN(SL, "OBJECT ENCODING big");
}

/* ---- ZREMRANGEBY*, ZPOP*, ZMPOP ---- */

/* Range removal by rank (negative ends), score and lex; the key goes with the last member. */
Test(cmd_zset, zremrange)
{
    RUN(":6\r\n", "ZADD z 1 a 2 b 3 c 4 d 5 e 6 f");
    RUN(":2\r\n", "ZREMRANGEBYRANK z -2 -1");
    RUN(":0\r\n", "ZREMRANGEBYRANK z 3 1");
    RUN(":0\r\n", "ZREMRANGEBYRANK z 10 20");
    RUN(":2\r\n", "ZREMRANGEBYSCORE z (1 3");
    FLAT("a d", "ZRANGE z 0 -1");
    RUN(":1\r\n", "ZREMRANGEBYLEX z [a [a");
    RUN(":1\r\n", "ZREMRANGEBYRANK z 0 100");
    RUN(":0\r\n", "EXISTS z");
    RUN(":0\r\n", "ZREMRANGEBYSCORE nokey 0 1");
    RUN(NOTINT, "ZREMRANGEBYRANK z a 1");
    RUN(RANGEF, "ZREMRANGEBYSCORE z 1 x");
    RUN(RANGEL, "ZREMRANGEBYLEX z a b");
    RUN(OK, "SET s v");
    RUN(WRONGTYPE, "ZREMRANGEBYRANK s 0 1");
}

/* ZPOPMIN/ZPOPMAX with and without a count; errors as Redis's. */
Test(cmd_zset, zpop)
{
    RUN(":4\r\n", "ZADD z 1 a 2 b 3 c 4 d");
    FLAT("a 1", "ZPOPMIN z");
    FLAT("d 4 c 3", "ZPOPMAX z 2");
    FLAT("", "ZPOPMIN z 0");
    FLAT("b 2", "ZPOPMIN z 10");
    RUN(":0\r\n", "EXISTS z");
    RUN(EMPTY, "ZPOPMIN z");
    RUN("-ERR value is out of range, must be positive\r\n", "ZPOPMIN z -1");
    RUN("-ERR value is out of range, must be positive\r\n", "ZPOPMIN z x");
    RUN(SYNTAX, "ZPOPMIN z 1 2");
    RUN(OK, "SET s v");
    RUN(WRONGTYPE, "ZPOPMAX s");
}

/* ZMPOP pops from the first non-empty key; null array when none; its errors. */
Test(cmd_zset, zmpop)
{
    RUN(":3\r\n", "ZADD z2 1 a 2 b 3 c");
    RUN("*2\r\n$2\r\nz2\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n", "ZMPOP 2 z1 z2 MIN");
    FLAT("z2 c 3 b 2", "ZMPOP 2 z1 z2 MAX COUNT 10");
    RUN(":0\r\n", "EXISTS z2");
    RUN("*-1\r\n", "ZMPOP 2 z1 z2 MIN");
    RUN("-ERR numkeys should be greater than 0\r\n", "ZMPOP 0 z MIN");
    RUN("-ERR numkeys should be greater than 0\r\n", "ZMPOP x z MIN");
    RUN("-ERR count should be greater than 0\r\n", "ZMPOP 1 z MIN COUNT 0");
    RUN(SYNTAX, "ZMPOP 1 z MIDDLE");
    RUN(SYNTAX, "ZMPOP 3 z MIN");
    RUN(SYNTAX, "ZMPOP 1 z MIN COUNT 1 COUNT 1");
    RUN(OK, "SET s v");
    RUN(WRONGTYPE, "ZMPOP 1 s MIN");
}

/* As applied, BZPOPMIN/BZPOPMAX pop key, member, score from the first non-empty key and
 * answer a null array when all are empty (what the leader then blocks on, and what MULTI
 * gets); the timeout is checked first, in Redis's words. */
Test(cmd_zset, bzpop_as_applied_never_blocks)
{
    RUN("*-1\r\n", "BZPOPMIN z1 z2 0");
    RUN(":2\r\n", "ZADD z2 1 a 2 b");
    FLAT("z2 a 1", "BZPOPMIN z1 z2 0");
    FLAT("z2 b 2", "BZPOPMAX z1 z2 1.5");
    RUN(":0\r\n", "EXISTS z2");
    RUN("-ERR timeout is not a float or out of range\r\n", "BZPOPMIN z abc");
    RUN("-ERR timeout is negative\r\n", "BZPOPMAX z -1");
    RUN(OK, "SET s v");
    RUN(WRONGTYPE, "BZPOPMIN z1 s 0");
    RUN("-ERR timeout is negative\r\n", "BZPOPMIN s -1");
    RUN(":1\r\n", "ZADD z1 5 x");
    FLAT("z1 x 5", "BZPOPMIN z1 s 0"); /* a live key before the wrong one */
}

/* BZMPOP checks numkeys, MIN|MAX and COUNT before its timeout, as Redis does; then pops as
 * ZMPOP does. */
Test(cmd_zset, bzmpop)
{
    RUN("*-1\r\n", "BZMPOP 0 2 z1 z2 MIN");
    RUN(":3\r\n", "ZADD z2 1 a 2 b 3 c");
    RUN("*2\r\n$2\r\nz2\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n", "BZMPOP 0 2 z1 z2 MIN");
    FLAT("z2 c 3 b 2", "BZMPOP 0.5 2 z1 z2 MAX COUNT 10");
    RUN("-ERR numkeys should be greater than 0\r\n", "BZMPOP x 0 z MIN");
    RUN(SYNTAX, "BZMPOP x 1 z MIDDLE");
    RUN("-ERR count should be greater than 0\r\n", "BZMPOP -1 1 z MIN COUNT 0");
    RUN("-ERR timeout is not a float or out of range\r\n", "BZMPOP x 1 z MIN");
    RUN("-ERR timeout is negative\r\n", "BZMPOP -1 1 z MIN COUNT 1");
    RUN(OK, "SET s v");
    RUN(WRONGTYPE, "BZMPOP 0 1 s MIN");
}

/* ---- ZUNION, ZINTER, ZDIFF, stores, ZINTERCARD ---- */

/* Unions with weights and each aggregate; inf + -inf sums to 0. */
Test(cmd_zset, zunion_weights_aggregate)
{
    RUN(":3\r\n", "ZADD a 1 x 2 y 3 z");
    RUN(":2\r\n", "ZADD b 10 y 20 w");
    FLAT("x 1 z 3 y 12 w 20", "ZUNION 2 a b WITHSCORES");
    FLAT("x 2 z 6 y 34 w 60", "ZUNION 2 a b WEIGHTS 2 3 WITHSCORES");
    FLAT("x 1 y 2 z 3 w 20", "ZUNION 2 a b AGGREGATE MIN WITHSCORES");
    FLAT("x 1 z 3 y 10 w 20", "ZUNION 2 a b AGGREGATE MAX WITHSCORES");
    FLAT("x z y w", "ZUNION 3 a b nokey");
    RUN(":1\r\n", "ZADD p +inf m");
    RUN(":1\r\n", "ZADD n -inf m");
    FLAT("m 0", "ZUNION 2 p n WITHSCORES");
    FLAT("m 0", "ZINTER 2 p n WITHSCORES");
    FLAT("m inf", "ZUNION 2 p n AGGREGATE MAX WITHSCORES");
    RUN("-ERR weight value is not a float\r\n", "ZUNION 2 a b WEIGHTS 1 nan");
    RUN(SYNTAX, "ZUNION 2 a b WEIGHTS 1");
    RUN(SYNTAX, "ZUNION 2 a b AGGREGATE AVG");
    RUN(SYNTAX, "ZUNION 3 a b");
    RUN("-ERR at least 1 input key is needed for 'zunion' command\r\n", "ZUNION 0 a");
    RUN(NOTINT, "ZUNION x a");
    RUN(OK, "SET s v");
    RUN(WRONGTYPE, "ZUNION 2 a s");
}

/* Intersections and differences, with a key given twice and absent keys. */
Test(cmd_zset, zinter_zdiff)
{
    RUN(":3\r\n", "ZADD a 1 x 2 y 3 z");
    RUN(":2\r\n", "ZADD b 10 y 20 z");
    FLAT("y 12 z 23", "ZINTER 2 a b WITHSCORES");
    FLAT("y 10 z 20", "ZINTER 2 a b AGGREGATE MAX WITHSCORES");
    FLAT("x 2 y 4 z 6", "ZINTER 2 a a WITHSCORES");
    FLAT("", "ZINTER 2 a nokey");
    FLAT("x 1", "ZDIFF 2 a b WITHSCORES");
    FLAT("x y z", "ZDIFF 2 a nokey");
    FLAT("", "ZDIFF 2 nokey a");
    FLAT("", "ZDIFF 1 nokey");
    RUN(SYNTAX, "ZDIFF 2 a b WEIGHTS 1 2");
    RUN(":2\r\n", "ZINTERCARD 2 a b");
    RUN(":1\r\n", "ZINTERCARD 2 a b LIMIT 1");
    RUN(":2\r\n", "ZINTERCARD 2 a b LIMIT 0");
    RUN("-ERR LIMIT can't be negative\r\n", "ZINTERCARD 2 a b LIMIT -1");
    RUN(SYNTAX, "ZINTERCARD 2 a b WITHSCORES");
    RUN("-ERR at least 1 input key is needed for 'zintercard' command\r\n", "ZINTERCARD 0 a");
}

/* The stores replace the destination, delete it when empty, and build listpack or
 * skiplist by the carried limits. */
Test(cmd_zset, stores)
{
    RUN(":3\r\n", "ZADD a 1 x 2 y 3 z");
    RUN(":2\r\n", "ZADD b 10 y 20 z");
    RUN(OK, "SET d v");
    RUN(":3\r\n", "ZUNIONSTORE d 2 a b");
    FLAT("x 1 y 12 z 23", "ZRANGE d 0 -1 WITHSCORES");
    RUN(LP, "OBJECT ENCODING d");
    RUN(":2\r\n", "ZINTERSTORE d 2 a b WEIGHTS 1 0");
    FLAT("y 2 z 3", "ZRANGE d 0 -1 WITHSCORES");
    RUN(":1\r\n", "ZDIFFSTORE d 2 a b");
    FLAT("x 1", "ZRANGE d 0 -1 WITHSCORES");
    RUN(":0\r\n", "ZINTERSTORE d 2 a nokey");
    RUN(":0\r\n", "EXISTS d");
    RUN(":3\r\n", "ZUNIONSTORE a 1 a WEIGHTS 2"); /* into a source */
    FLAT("x 2 y 4 z 6", "ZRANGE a 0 -1 WITHSCORES");
    RUN(SYNTAX, "ZUNIONSTORE d 2 a b WITHSCORES");
    RUN("-ERR at least 1 input key is needed for 'zunionstore' command\r\n", "ZUNIONSTORE d 0 a");
    cr_assert_str_eq(ct_prepare(&t, "ZDIFFSTORE d 1 a"), "ZDIFFSTORE d 1 a 128:64");
    APPLY(":3\r\n", "ZUNIONSTORE d 1 a 2:64");
    RUN(SL, "OBJECT ENCODING d");
    APPLY(":3\r\n", "ZUNIONSTORE d 1 a 3:0");
    RUN(SL, "OBJECT ENCODING d");
    APPLY(":3\r\n", "ZUNIONSTORE d 1 a 3:1");
    RUN(LP, "OBJECT ENCODING d");
}

/* Plain sets are inputs with every score 1, in either encoding, as Redis 7.0's zui*
 * functions treat OBJ_SET; other types stay WRONGTYPE. */
Test(cmd_zset, setops_take_sets)
{
    RUN(":3\r\n", "ZADD z 1 x 2 y 3 z");
    RUN(":2\r\n", "SADD s y w");     /* hashtable */
    RUN(":3\r\n", "SADD i 1 2 3");   /* intset */
    RUN(":2\r\n", "ZADD zi 5 1 7 9");
    FLAT("w 1 x 1 y 3 z 3", "ZUNION 2 z s WITHSCORES");
    FLAT("x 1 w 2 z 3 y 4", "ZUNION 2 z s WEIGHTS 1 2 WITHSCORES");
    FLAT("y 3", "ZINTER 2 z s WITHSCORES");
    FLAT("y 1", "ZINTER 2 z s AGGREGATE MIN WITHSCORES");
    FLAT("1 6", "ZINTER 2 i zi WITHSCORES");
    FLAT("2 1 3 1", "ZDIFF 2 i zi WITHSCORES");
    FLAT("w 1", "ZDIFF 2 s z WITHSCORES");
    FLAT("x 1 z 3", "ZDIFF 2 z s WITHSCORES");
    FLAT("1 1 2 1 3 1 w 1 y 1", "ZUNION 2 i s WITHSCORES");
    RUN(":1\r\n", "ZINTERCARD 2 s z");
    RUN(":1\r\n", "ZINTERCARD 2 i zi LIMIT 1");
    RUN(":2\r\n", "ZUNIONSTORE d 1 s WEIGHTS 4");
    FLAT("w 4 y 4", "ZRANGE d 0 -1 WITHSCORES");
    RUN(LP, "OBJECT ENCODING d");
    RUN(":1\r\n", "ZINTERSTORE d 2 s z");
    FLAT("y 3", "ZRANGE d 0 -1 WITHSCORES");
    RUN(":2\r\n", "ZDIFFSTORE d 2 i zi");
    FLAT("2 1 3 1", "ZRANGE d 0 -1 WITHSCORES");
    RUN(":4\r\n", "ZUNIONSTORE s 2 s z"); /* a set destination is replaced by a zset */
    RUN("+zset\r\n", "TYPE s");
    RUN(":3\r\n", "SCARD i");             /* sources intact */
    RUN(":1\r\n", "HSET h f v");
    RUN(WRONGTYPE, "ZUNION 2 i h");
    RUN(WRONGTYPE, "ZINTERCARD 2 h i");
    RUN(WRONGTYPE, "ZDIFFSTORE d 2 i h");
}

/* ---- conversion, limits, WRONGTYPE, generic commands ---- */

/* Past 128 members or with a member over 64 bytes a sorted set becomes a skiplist for
 * good; a first member over the limit creates a skiplist at once. */
Test(cmd_zset, converts_at_thresholds)
{
    for (int i = 0; i < 128; i++)
        cr_assert_str_eq(ct_run(&t, "ZADD z %d m%d", i, i), ":1\r\n");
    RUN(LP, "OBJECT ENCODING z");
    RUN(":1\r\n", "ZADD z 128 m128");
    RUN(SL, "OBJECT ENCODING z");
    RUN(":100\r\n", "ZREMRANGEBYRANK z 0 99");
    RUN(SL, "OBJECT ENCODING z");
    FLAT("m100 m101", "ZRANGE z 0 1");
    char v65[66];
    memset(v65, 'y', 65);
    v65[65] = '\0';
    RUN(":1\r\n", "ZADD y 1 a");
    RUN(":1\r\n", "ZADD y 1 %s", v65);
    RUN(SL, "OBJECT ENCODING y");
    RUN(":1\r\n", "ZADD w 1 %s", v65);
    RUN(SL, "OBJECT ENCODING w");
}

/* Prepare appends the node's limits to ZADD/ZINCRBY; apply uses the carried ones. */
Test(cmd_zset, limits_carried_by_the_request)
{
    cr_assert_str_eq(ct_prepare(&t, "ZADD z 1 a"), "ZADD z 1 a 128:64");
    cr_assert_str_eq(ct_prepare(&t, "ZINCRBY z 1 a"), "ZINCRBY z 1 a 128:64");
    zobj_set_limits(2, 64);
    cr_assert_str_eq(ct_prepare(&t, "ZADD z 1 a"), "ZADD z 1 a 2:64");
    RUN(":3\r\n", "ZADD z 1 a 2 b 3 c");
    RUN(SL, "OBJECT ENCODING z");
    APPLY(":3\r\n", "ZADD l 1 a 2 b 3 c 128:64");
    RUN(LP, "OBJECT ENCODING l");
    APPLY(":1\r\n", "ZADD v 1 abc 128:2");
    RUN(SL, "OBJECT ENCODING v");
    /* a member that looks like limits is a member when the limits follow it */
    APPLY(":1\r\n", "ZADD m 1 1:2 128:64");
    FLAT("1:2", "ZRANGE m 0 -1");
}

/* Every sorted-set command refuses another type's key, and string commands a zset. */
Test(cmd_zset, wrongtype_everywhere)
{
    RUN(OK, "SET s v");
    const char *cmds[] = {"ZADD s 1 a", "ZINCRBY s 1 a", "ZREM s a", "ZCARD s", "ZSCORE s a",
                          "ZMSCORE s a", "ZRANK s a", "ZREVRANK s a", "ZCOUNT s 0 1",
                          "ZLEXCOUNT s - +", "ZRANGE s 0 1", "ZREVRANGE s 0 1",
                          "ZRANGEBYSCORE s 0 1", "ZREVRANGEBYSCORE s 1 0", "ZRANGEBYLEX s - +",
                          "ZREVRANGEBYLEX s + -", "ZREMRANGEBYSCORE s 0 1",
                          "ZREMRANGEBYLEX s - +", "ZPOPMIN s", "ZINTER 1 s", "ZDIFF 1 s",
                          "ZINTERCARD 1 s", "ZDIFFSTORE d 1 s", "ZRANDMEMBER s", "ZSCAN s 0"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        cr_assert_str_eq(ct_run(&t, "%s", cmds[i]), WRONGTYPE, "%s", cmds[i]);
    RUN(":1\r\n", "ZADD z 1 a");
    RUN(WRONGTYPE, "GET z");
    RUN(WRONGTYPE, "HGET z a");
    RUN("$1\r\nv\r\n", "GET s");
}

/* RENAME, COPY, EXPIRE, DEL and SCAN TYPE work on sorted sets. */
Test(cmd_zset, generic_commands)
{
    RUN(":2\r\n", "ZADD z 1 a 2 b");
    RUN(OK, "RENAME z z2");
    RUN(":1\r\n", "COPY z2 z3");
    RUN(":1\r\n", "ZADD z3 3 c");
    RUN(":2\r\n", "ZCARD z2");
    RUN(":3\r\n", "ZCARD z3");
    RUN("*2\r\n$1\r\n0\r\n*1\r\n$2\r\nz2\r\n", "SCAN 0 TYPE zset MATCH z2*");
    RUN(":1\r\n", "EXPIRE z2 10");
    t.now_ms += 11000;
    RUN(":0\r\n", "ZCARD z2");
    RUN(":1\r\n", "ZADD z2 1 x");
    RUN(":1\r\n", "ZCARD z2");
    RUN(":2\r\n", "DEL z2 z3");
}

/* ---- ZRANDMEMBER, ZSCAN ---- */

/* ZRANDMEMBER's forms: single, count 0, negative with repetition, all, distinct. */
Test(cmd_zset, zrandmember)
{
    RUN(NIL, "ZRANDMEMBER nokey");
    RUN(EMPTY, "ZRANDMEMBER nokey 3");
    RUN(":3\r\n", "ZADD z 1 a 2 b 3 c");
    const char *one = ct_run(&t, "ZRANDMEMBER z");
    cr_assert(strcmp(one, "$1\r\na\r\n") == 0 || strcmp(one, "$1\r\nb\r\n") == 0 ||
              strcmp(one, "$1\r\nc\r\n") == 0);
    RUN(EMPTY, "ZRANDMEMBER z 0");
    FLAT("a 1 b 2 c 3", "ZRANDMEMBER z 5 WITHSCORES");
    const char *rep = flat(ct_run(&t, "ZRANDMEMBER z -7"), NULL);
    cr_assert_eq(strlen(rep), 13);
    const char *two = flat(ct_run(&t, "ZRANDMEMBER z 2 WITHSCORES"), NULL);
    cr_assert_eq(strlen(two), 7);
    cr_assert(two[0] != two[4]);
    RUN(SYNTAX, "ZRANDMEMBER z 1 FOO");
    RUN(NOTINT, "ZRANDMEMBER z x");
    RUN("-ERR value is out of range\r\n", "ZRANDMEMBER z -9223372036854775807 WITHSCORES");
    /* a skiplist, few picks: distinct draws */
    for (int i = 0; i < 300; i++)
        ct_run(&t, "ZADD big %d m%d", i, i);
    const char *ten = flat(ct_run(&t, "ZRANDMEMBER big 10"), NULL);
    char *copy = strdup(ten), *save, *tok;
    int n = 0;
    char seen[10][8];
    for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        for (int j = 0; j < n; j++)
            cr_assert_str_neq(seen[j], tok);
        snprintf(seen[n++], sizeof seen[0], "%s", tok);
    }
    cr_assert_eq(n, 10);
    free(copy);
}

/* ZSCAN: a listpack whole with cursor 0; a skiplist completely across calls. */
Test(cmd_zset, zscan)
{
    unsigned long long cur;
    RUN(":2\r\n", "ZADD z 1 a 2.5 b");
    cr_assert_str_eq(flat(ct_run(&t, "ZSCAN z 0"), &cur), "a 1 b 2.5");
    cr_assert_eq(cur, 0);
    cr_assert_str_eq(flat(ct_run(&t, "ZSCAN z 0 MATCH b*"), &cur), "b 2.5");
    cr_assert_str_eq(flat(ct_run(&t, "ZSCAN nokey 0"), &cur), "");
    RUN("-ERR invalid cursor\r\n", "ZSCAN z x");
    for (int i = 0; i < 500; i++)
        ct_run(&t, "ZADD big %d m%03d", i, i);
    int seen[500] = {0}, calls = 0;
    cur = 0;
    do {
        static char page[65536];
        strcpy(page, flat(ct_run(&t, "ZSCAN big %llu COUNT 20", cur), &cur));
        char *save, *tok = strtok_r(page, " ", &save);
        for (; tok; tok = strtok_r(NULL, " ", &save)) {
            int k = atoi(tok + 1);
            tok = strtok_r(NULL, " ", &save);
            cr_assert_eq(atoi(tok), k);
            seen[k] = 1;
        }
        calls++;
    } while (cur != 0);
    for (int i = 0; i < 500; i++)
        cr_assert(seen[i], "m%03d missing", i);
    cr_assert_gt(calls, 10);
}

/* ---- digest, snapshot, determinism ---- */

/* The digest is independent of encoding and insertion order, and changes with a score. */
Test(cmd_zset, digest_independent_of_encoding)
{
    RUN(":2\r\n", "ZADD z 1 a 2 b");
    char d1[41];
    strcpy(d1, ct_digest(&t));
    RUN(":1\r\n", "DEL z");
    APPLY(":2\r\n", "ZADD z 2 b 1 a 0:64");
    RUN(SL, "OBJECT ENCODING z");
    cr_assert_str_eq(ct_digest(&t), d1);
    RUN(":0\r\n", "ZADD z 3 a");
    cr_assert_str_neq(ct_digest(&t), d1);
}

/* Both encodings survive a snapshot: same digest, ZSCAN order, ZRANGE and encodings. */
Test(cmd_zset, snapshot_round_trip)
{
    RUN(":2\r\n", "ZADD small 2 b 1 a");
    for (int i = 0; i < 500; i++)
        ct_run(&t, "ZADD big %d m%d", i % 13, i);
    for (int i = 0; i < 400; i++)
        ct_run(&t, "ZREM big m%d", i);
    struct fsm fa, fb;
    struct kv_store *kb = kv_new();
    struct buf snap;
    buf_init(&snap);
    fsm_init(&fa, t.kv);
    fsm_init(&fb, kb);
    fsm_serialize(&fa, &snap);
    cr_assert_eq(fsm_restore(&fb, snap.data, snap.len), 0);
    char da[41], db[41];
    kv_digest_hex(t.kv, da);
    kv_digest_hex(kb, db);
    cr_assert_str_eq(da, db);
    static char before[65536], after[65536];
    snprintf(before, sizeof before, "%s", ct_run(&t, "ZSCAN big 0 COUNT 7"));
    snprintf(before + strlen(before), sizeof before - strlen(before), "%s",
             ct_run(&t, "ZRANGE big 0 -1 WITHSCORES"));
    struct kv_store *ka = t.kv;
    t.kv = kb;
    snprintf(after, sizeof after, "%s", ct_run(&t, "ZSCAN big 0 COUNT 7"));
    snprintf(after + strlen(after), sizeof after - strlen(after), "%s",
             ct_run(&t, "ZRANGE big 0 -1 WITHSCORES"));
    cr_assert_str_eq(before, after);
    RUN(SL, "OBJECT ENCODING big");
    RUN(LP, "OBJECT ENCODING small");
    FLAT("a 1 b 2", "ZRANGE small 0 -1 WITHSCORES");
    t.kv = ka;
    for (size_t cut = snap.len - 1; cut > snap.len - 400; cut -= 37)
        cr_assert_eq(fsm_restore(&fb, snap.data, cut), -1);
    fsm_close(&fa);
    fsm_close(&fb);
    kv_free(kb);
    buf_close(&snap);
}

/* The same writes at the same apply_seq build the same structure: ZSCAN pages agree. */
Test(cmd_zset, same_writes_same_structure)
{
    static char first[65536];
    struct cmdtest u;
    ct_init(&u, T0);
    for (int i = 0; i < 300; i++) {
        ct_run(&t, "ZADD z %d m%d", i, i);
        ct_run(&u, "ZADD z %d m%d", i, i);
    }
    ct_run(&t, "ZUNIONSTORE d 1 z");
    ct_run(&u, "ZUNIONSTORE d 1 z");
    ct_run(&t, "ZPOPMIN z 7");
    ct_run(&u, "ZPOPMIN z 7");
    strcpy(first, ct_run(&t, "ZSCAN d 0 COUNT 5"));
    cr_assert_str_eq(ct_run(&u, "ZSCAN d 0 COUNT 5"), first);
    strcpy(first, ct_digest(&t));
    cr_assert_str_eq(ct_digest(&u), first);
    ct_close(&u);
}

/* Deleting a large sorted set detaches it at once and frees it a slice at a time. */
Test(cmd_zset, large_zset_freed_incrementally)
{
    for (int i = 0; i < 5000; i++)
        ct_run(&t, "ZADD z %d m%d", i, i);
    RUN(":1\r\n", "DEL z");
    cr_assert_eq(kv_lazy_pending(t.kv), 1);
    int steps = 0;
    while (kv_lazy_free_step(t.kv, 1000) > 0)
        steps++;
    cr_assert_geq(steps, 3);
    cr_assert_eq(kv_lazy_pending(t.kv), 0);
}
