/* Unit tests of the string commands (cmd_string.c) through the command harness: exact RESP
 * replies, Redis 7.0 error texts, prepare's rewriting and deterministic apply. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cmdtest.h"
#include "kv.h"

#define T0 1700000000000LL /* the test clock's start, in unix ms */

#define OK "+OK\r\n"
#define NIL "$-1\r\n"
#define SYNTAX "-ERR syntax error\r\n"
#define NOTINT "-ERR value is not an integer or out of range\r\n"
#define NOTFLOAT "-ERR value is not a valid float\r\n"

static struct cmdtest t;

static void setup(void)
{
    ct_init(&t, T0);
}

static void teardown(void)
{
    ct_close(&t);
}

TestSuite(cmd_string, .init = setup, .fini = teardown);

/* Shorthand: assert that running LINE replies EXPECTED. */
#define RUN(expected, ...) cr_assert_str_eq(ct_run(&t, __VA_ARGS__), expected)
/* The same through the handler alone, as apply runs an entry from the log. */
#define APPLY(expected, ...) cr_assert_str_eq(ct_apply(&t, __VA_ARGS__), expected)

/* ---- GET / SET ---- */

/* GET of a missing key is a nil bulk. */
Test(cmd_string, get_missing_is_nil)
{
    RUN(NIL, "GET nokey");
}

/* SET stores a value that GET returns; SET is case-insensitive. */
Test(cmd_string, set_then_get)
{
    RUN(OK, "SET k hello");
    RUN("$5\r\nhello\r\n", "GET k");
    RUN(OK, "set k world");
    RUN("$5\r\nworld\r\n", "get k");
}

/* SET stores binary and empty values unchanged. */
Test(cmd_string, set_binary_and_empty_values)
{
    const char *argv[] = {"SET", "k", "a\0b"};
    size_t lens[] = {3, 1, 3};
    cr_assert_str_eq(ct_runv(&t, 3, argv, lens), OK);
    cr_assert_str_eq(ct_run(&t, "STRLEN k"), ":3\r\n");
    cr_assert(memcmp(ct_run(&t, "GET k"), "$3\r\na\0b\r\n", 9) == 0);
    const char *argv2[] = {"SET", "e", ""};
    cr_assert_str_eq(ct_runv(&t, 3, argv2, NULL), OK);
    RUN("$0\r\n\r\n", "GET e");
}

/* NX sets only a missing key, XX only an existing one; a refused SET answers nil. */
Test(cmd_string, set_nx_and_xx)
{
    RUN(OK, "SET k v1 NX");
    RUN(NIL, "SET k v2 NX");
    RUN("$2\r\nv1\r\n", "GET k");
    RUN(NIL, "SET other v XX");
    RUN(":0\r\n", "EXISTS other");
    RUN(OK, "SET k v3 XX");
    RUN("$2\r\nv3\r\n", "GET k");
    RUN(OK, "SET k v4 xx XX");
    RUN("$2\r\nv4\r\n", "GET k");
}

/* Conflicting or unknown SET options are a syntax error, and nothing is stored. */
Test(cmd_string, set_conflicting_options_are_syntax_errors)
{
    RUN(SYNTAX, "SET k v NX XX");
    RUN(SYNTAX, "SET k v XX NX");
    RUN(SYNTAX, "SET k v EX 10 PX 100");
    RUN(SYNTAX, "SET k v EX 10 EXAT 100");
    RUN(SYNTAX, "SET k v PXAT 10 EXAT 100");
    RUN(SYNTAX, "SET k v KEEPTTL EX 10");
    RUN(SYNTAX, "SET k v EX 10 KEEPTTL");
    RUN(SYNTAX, "SET k v EX");
    RUN(SYNTAX, "SET k v FOO");
    RUN(SYNTAX, "SET k v PERSIST");
    RUN(NIL, "GET k");
}

/* A repeated expire option is accepted and the last value wins, as in Redis. */
Test(cmd_string, set_repeated_option_last_wins)
{
    RUN(OK, "SET k v EX 10 EX 20");
    RUN(":20000\r\n", "PTTL k");
    RUN(OK, "SET k w XX XX");
    RUN(":-1\r\n", "PTTL k");
}

/* Non-positive or overflowing times are "invalid expire time"; non-integers are not integers. */
Test(cmd_string, set_invalid_expire_times)
{
    const char *inv = "-ERR invalid expire time in 'set' command\r\n";
    RUN(inv, "SET k v EX 0");
    RUN(inv, "SET k v EX -1");
    RUN(inv, "SET k v PX 0");
    RUN(inv, "SET k v EXAT 0");
    RUN(inv, "SET k v PXAT -5");
    RUN(inv, "SET k v EX 9223372036854775807");
    RUN(inv, "SET k v EX 9223372036854776");
    RUN(inv, "SET k v PX 9223372036854775000");
    RUN(inv, "set k v ex 0");
    RUN(NOTINT, "SET k v EX abc");
    RUN(NOTINT, "SET k v EX 1.5");
    RUN(NOTINT, "SET k v PX 99999999999999999999");
    RUN(NIL, "GET k");
}

/* EX sets a TTL in seconds; the key disappears once the clock passes it. */
Test(cmd_string, set_ex_expires)
{
    RUN(OK, "SET k v EX 10");
    RUN(":10\r\n", "TTL k");
    RUN(":10000\r\n", "PTTL k");
    t.now_ms += 9999;
    RUN("$1\r\nv\r\n", "GET k");
    t.now_ms += 1;
    RUN(NIL, "GET k");
}

/* PX, EXAT and PXAT set the expected absolute expiry time. */
Test(cmd_string, set_px_exat_pxat)
{
    RUN(OK, "SET a v PX 1500");
    RUN(":1700000001500\r\n", "PEXPIRETIME a");
    RUN(OK, "SET b v EXAT 1800000000");
    RUN(":1800000000000\r\n", "PEXPIRETIME b");
    RUN(":1800000000\r\n", "EXPIRETIME b");
    RUN(OK, "SET c v PXAT 1700000000123");
    RUN(":123\r\n", "PTTL c");
}

/* SET with an absolute time in the past replies OK and leaves the key absent. */
Test(cmd_string, set_past_time_deletes_key)
{
    RUN(OK, "SET k old");
    RUN(OK, "SET k new EXAT 1");
    RUN(":0\r\n", "EXISTS k");
    RUN(":0\r\n", "DBSIZE");
    RUN(OK, "SET k2 v PXAT 1700000000000");
    RUN(NIL, "GET k2");
}

/* SET ... GET returns the old value or nil, even when NX/XX prevents the set. */
Test(cmd_string, set_get_returns_old_value)
{
    RUN(NIL, "SET k v1 GET");
    RUN("$2\r\nv1\r\n", "SET k v2 GET");
    RUN("$2\r\nv2\r\n", "SET k v3 NX GET");
    RUN("$2\r\nv2\r\n", "GET k");
    RUN(NIL, "SET other v XX GET");
    RUN(":0\r\n", "EXISTS other");
    RUN("$2\r\nv2\r\n", "SET k v4 XX GET EX 100");
    RUN(":100\r\n", "TTL k");
    RUN("$2\r\nv4\r\n", "SET k v5 GET PXAT 1");
    RUN(NIL, "GET k");
}

/* KEEPTTL keeps the TTL; a plain SET clears it. */
Test(cmd_string, set_keepttl_and_plain_set_clears_ttl)
{
    RUN(OK, "SET k v EX 100");
    RUN(OK, "SET k w KEEPTTL");
    RUN(":100\r\n", "TTL k");
    RUN("$1\r\nw\r\n", "GET k");
    RUN(OK, "SET k x");
    RUN(":-1\r\n", "TTL k");
    RUN(OK, "SET fresh v KEEPTTL");
    RUN(":-1\r\n", "TTL fresh");
}

/* prep_set rewrites relative and second-based times into PXAT and keeps the other flags. */
Test(cmd_string, prep_set_rewrites_to_pxat)
{
    cr_assert_str_eq(ct_prepare(&t, "SET k v EX 10"), "set k v PXAT 1700000010000");
    cr_assert_str_eq(ct_prepare(&t, "SET k v GET PX 5 NX"), "set k v NX GET PXAT 1700000000005");
    cr_assert_str_eq(ct_prepare(&t, "set k v exat 100"), "set k v PXAT 100000");
    cr_assert_str_eq(ct_prepare(&t, "SET k v PXAT 42 XX"), "set k v XX PXAT 42");
    cr_assert_str_eq(ct_prepare(&t, "SET k v KEEPTTL XX"), "set k v XX KEEPTTL");
    cr_assert_str_eq(ct_prepare(&t, "SET k v"), "set k v");
    cr_assert_str_eq(ct_prepare(&t, "SET k v NX XX"), SYNTAX);
}

/* ---- SETEX / PSETEX / SETNX / GETSET / GETDEL ---- */

/* SETEX sets value and TTL; prepare turns it into SET ... PXAT. */
Test(cmd_string, setex_sets_value_and_ttl)
{
    RUN(OK, "SETEX k 10 v");
    RUN("$1\r\nv\r\n", "GET k");
    RUN(":10\r\n", "TTL k");
    cr_assert_str_eq(ct_prepare(&t, "SETEX k 10 v"), "set k v PXAT 1700000010000");
    cr_assert_str_eq(ct_prepare(&t, "PSETEX k 10 v"), "set k v PXAT 1700000000010");
}

/* SETEX and PSETEX reject non-positive, overflowing and non-integer times in their own name. */
Test(cmd_string, setex_invalid_times)
{
    RUN("-ERR invalid expire time in 'setex' command\r\n", "SETEX k 0 v");
    RUN("-ERR invalid expire time in 'setex' command\r\n", "SETEX k -10 v");
    RUN("-ERR invalid expire time in 'setex' command\r\n", "setex k 9223372036854775807 v");
    RUN("-ERR invalid expire time in 'psetex' command\r\n", "PSETEX k 0 v");
    RUN("-ERR invalid expire time in 'psetex' command\r\n", "PSETEX k 9223372036854775807 v");
    RUN(NOTINT, "SETEX k ten v");
    RUN(NOTINT, "PSETEX k 1e3 v");
    RUN(":0\r\n", "EXISTS k");
}

/* PSETEX sets a millisecond TTL; TTL rounds to the nearest second. */
Test(cmd_string, psetex_ttl_rounding)
{
    RUN(OK, "PSETEX k 1500 v");
    RUN(":1500\r\n", "PTTL k");
    RUN(":2\r\n", "TTL k");
    RUN(OK, "PSETEX k 1499 v");
    RUN(":1\r\n", "TTL k");
}

/* SETNX sets only a missing (or expired) key and answers 1 or 0. */
Test(cmd_string, setnx)
{
    RUN(":1\r\n", "SETNX k v1");
    RUN(":0\r\n", "SETNX k v2");
    RUN("$2\r\nv1\r\n", "GET k");
    RUN(OK, "SET e v PX 10");
    t.now_ms += 10;
    RUN(":1\r\n", "SETNX e v2");
    RUN(":-1\r\n", "TTL e");
}

/* GETSET returns the old value (nil at first) and clears the TTL. */
Test(cmd_string, getset)
{
    RUN(NIL, "GETSET k v1");
    RUN("$2\r\nv1\r\n", "GETSET k v2");
    RUN(OK, "SET k v3 EX 100");
    RUN("$2\r\nv3\r\n", "GETSET k v4");
    RUN(":-1\r\n", "TTL k");
    RUN("$2\r\nv4\r\n", "GET k");
}

/* GETDEL returns the value and deletes the key; nil for a missing key. */
Test(cmd_string, getdel)
{
    RUN(NIL, "GETDEL k");
    RUN(OK, "SET k v");
    RUN("$1\r\nv\r\n", "GETDEL k");
    RUN(":0\r\n", "EXISTS k");
    RUN(NIL, "GETDEL k");
}

/* ---- GETEX ---- */

/* GETEX returns the value and sets, replaces or removes the TTL. */
Test(cmd_string, getex_sets_and_persists_ttl)
{
    RUN(OK, "SET k v");
    RUN("$1\r\nv\r\n", "GETEX k");
    RUN(":-1\r\n", "TTL k");
    RUN("$1\r\nv\r\n", "GETEX k EX 10");
    RUN(":10\r\n", "TTL k");
    RUN("$1\r\nv\r\n", "GETEX k");
    RUN(":10\r\n", "TTL k");
    RUN("$1\r\nv\r\n", "GETEX k PX 2500");
    RUN(":2500\r\n", "PTTL k");
    RUN("$1\r\nv\r\n", "GETEX k EXAT 1800000000");
    RUN(":1800000000\r\n", "EXPIRETIME k");
    RUN("$1\r\nv\r\n", "GETEX k PERSIST");
    RUN(":-1\r\n", "TTL k");
}

/* GETEX with a past absolute time replies the value and deletes the key. */
Test(cmd_string, getex_past_time_deletes)
{
    RUN(OK, "SET k v");
    RUN("$1\r\nv\r\n", "GETEX k PXAT 1");
    RUN(":0\r\n", "EXISTS k");
}

/* GETEX rejects SET-only and conflicting options; time errors only when the key exists. */
Test(cmd_string, getex_errors)
{
    RUN(SYNTAX, "GETEX k NX");
    RUN(SYNTAX, "GETEX k KEEPTTL");
    RUN(SYNTAX, "GETEX k GET");
    RUN(SYNTAX, "GETEX k EX 10 PERSIST");
    RUN(SYNTAX, "GETEX k PERSIST EX 10");
    RUN(SYNTAX, "GETEX k EX 10 PX 10");
    RUN(SYNTAX, "GETEX k EX");
    /* Redis looks the key up before checking the time. */
    RUN(NIL, "GETEX k EX 0");
    RUN(NIL, "GETEX k EX abc");
    RUN(OK, "SET k v");
    RUN("-ERR invalid expire time in 'getex' command\r\n", "GETEX k EX 0");
    RUN("-ERR invalid expire time in 'getex' command\r\n", "GETEX k PX 9223372036854775000");
    RUN(NOTINT, "GETEX k EX abc");
    RUN(":-1\r\n", "TTL k");
}

/* prep_getex rewrites to PXAT or PERSIST and leaves bad times for apply. */
Test(cmd_string, prep_getex_rewrites)
{
    cr_assert_str_eq(ct_prepare(&t, "GETEX k EX 5"), "getex k PXAT 1700000005000");
    cr_assert_str_eq(ct_prepare(&t, "GETEX k px 5"), "getex k PXAT 1700000000005");
    cr_assert_str_eq(ct_prepare(&t, "GETEX k EXAT 5"), "getex k PXAT 5000");
    cr_assert_str_eq(ct_prepare(&t, "GETEX k persist"), "getex k PERSIST");
    cr_assert_str_eq(ct_prepare(&t, "GETEX k"), "GETEX k");
    cr_assert_str_eq(ct_prepare(&t, "GETEX k EX 0"), "GETEX k EX 0");
    cr_assert_str_eq(ct_prepare(&t, "GETEX k NX"), SYNTAX);
}

/* ---- MGET / MSET / MSETNX ---- */

/* MGET answers one value or nil per key, in order. */
Test(cmd_string, mget)
{
    RUN(OK, "MSET a 1 c 3");
    RUN("*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n3\r\n", "MGET a b c");
    RUN("*1\r\n$-1\r\n", "MGET zz");
}

/* MSET sets every pair and clears TTLs; an incomplete pair is an arity error. */
Test(cmd_string, mset)
{
    RUN(OK, "SET a old EX 100");
    RUN(OK, "MSET a 1 b 2");
    RUN("*2\r\n$1\r\n1\r\n$1\r\n2\r\n", "MGET a b");
    RUN(":-1\r\n", "TTL a");
    RUN(OK, "MSET a x a y");
    RUN("$1\r\ny\r\n", "GET a");
    RUN("-ERR wrong number of arguments for 'mset' command\r\n", "MSET a 1 b");
    RUN("-ERR wrong number of arguments for 'mset' command\r\n", "mset a");
    RUN("$1\r\n2\r\n", "GET b");
}

/* MSETNX sets all keys only when none exists. */
Test(cmd_string, msetnx)
{
    RUN(":1\r\n", "MSETNX a 1 b 2");
    RUN(":0\r\n", "MSETNX b 3 c 4");
    RUN(":0\r\n", "EXISTS c");
    RUN("$1\r\n2\r\n", "GET b");
    RUN("-ERR wrong number of arguments for 'msetnx' command\r\n", "MSETNX a 1 b");
    RUN(OK, "SET e v PX 5");
    t.now_ms += 5;
    RUN(":1\r\n", "MSETNX e 1 f 2");
}

/* ---- APPEND / STRLEN ---- */

/* APPEND creates or extends a value, returns the new length and keeps the TTL. */
Test(cmd_string, append)
{
    RUN(":2\r\n", "APPEND k ab");
    RUN(":4\r\n", "APPEND k cd");
    RUN("$4\r\nabcd\r\n", "GET k");
    RUN(":1\r\n", "EXPIRE k 100");
    RUN(":5\r\n", "APPEND k e");
    RUN(":100\r\n", "TTL k");
    const char *argv[] = {"APPEND", "k", ""};
    cr_assert_str_eq(ct_runv(&t, 3, argv, NULL), ":5\r\n");
}

/* STRLEN is the value's length, 0 for a missing key. */
Test(cmd_string, strlen)
{
    RUN(":0\r\n", "STRLEN k");
    RUN(OK, "SET k hello");
    RUN(":5\r\n", "STRLEN k");
}

/* ---- counters ---- */

/* INCR, DECR, INCRBY and DECRBY count from 0 and reply the new value. */
Test(cmd_string, incr_family)
{
    RUN(":1\r\n", "INCR k");
    RUN(":11\r\n", "INCRBY k 10");
    RUN(":10\r\n", "DECR k");
    RUN(":5\r\n", "DECRBY k 5");
    RUN(":2\r\n", "INCRBY k -3");
    RUN(":7\r\n", "DECRBY k -5");
    RUN("$1\r\n7\r\n", "GET k");
    RUN(":-1\r\n", "DECR n");
}

/* A non-integer stored value or increment is "not an integer". */
Test(cmd_string, incr_not_integer)
{
    RUN(OK, "SET k abc");
    RUN(NOTINT, "INCR k");
    RUN(NOTINT, "DECR k");
    RUN(OK, "SET k 01");
    RUN(NOTINT, "INCR k");
    RUN(OK, "SET k 1.5");
    RUN(NOTINT, "INCRBY k 1");
    const char *argv[] = {"SET", "k", " 1"};
    cr_assert_str_eq(ct_runv(&t, 3, argv, NULL), OK);
    RUN(NOTINT, "INCR k");
    RUN(NOTINT, "INCRBY n abc");
    RUN(NOTINT, "INCRBY n 1.5");
    RUN(NOTINT, "DECRBY n 99999999999999999999");
    RUN(":0\r\n", "EXISTS n");
}

/* Overflow in either direction is refused and leaves the value alone. */
Test(cmd_string, incr_overflow)
{
    RUN(OK, "SET k 9223372036854775807");
    RUN("-ERR increment or decrement would overflow\r\n", "INCR k");
    RUN("-ERR increment or decrement would overflow\r\n", "INCRBY k 1");
    RUN(":9223372036854775806\r\n", "DECR k");
    RUN(OK, "SET k -9223372036854775808");
    RUN("-ERR increment or decrement would overflow\r\n", "DECR k");
    RUN("-ERR increment or decrement would overflow\r\n", "INCRBY k -1");
    RUN("-ERR increment or decrement would overflow\r\n", "DECRBY k 1");
    RUN("-ERR decrement would overflow\r\n", "DECRBY k -9223372036854775808");
    RUN(":-1\r\n", "INCRBY k 9223372036854775807");
}

/* INCR keeps the key's TTL; an expired counter starts again from 0 without TTL. */
Test(cmd_string, incr_keeps_ttl)
{
    RUN(OK, "SET k 5 EX 100");
    RUN(":6\r\n", "INCR k");
    RUN(":100\r\n", "TTL k");
    t.now_ms += 100000;
    RUN(":1\r\n", "INCR k");
    RUN(":-1\r\n", "TTL k");
}

/* INCRBYFLOAT adds and formats like Redis (trailing zeros trimmed). */
Test(cmd_string, incrbyfloat)
{
    RUN(OK, "SET k 10.50");
    RUN("$4\r\n10.6\r\n", "INCRBYFLOAT k 0.1");
    RUN("$3\r\n5.6\r\n", "INCRBYFLOAT k -5");
    RUN("$3\r\n5.6\r\n", "GET k");
    RUN(OK, "SET k 5.0e3");
    RUN("$4\r\n5200\r\n", "INCRBYFLOAT k 2.0e2");
    RUN("$4\r\n3000\r\n", "INCRBYFLOAT n 3.0e3");
    RUN("$1\r\n0\r\n", "INCRBYFLOAT n -3000");
    RUN("$3\r\n0.5\r\n", "INCRBYFLOAT m .5");
}

/* INCRBYFLOAT errors: bad increment, bad stored value, infinite or NaN result. */
Test(cmd_string, incrbyfloat_errors)
{
    RUN(NOTFLOAT, "INCRBYFLOAT k abc");
    RUN(NOTFLOAT, "INCRBYFLOAT k nan");
    RUN(NOTFLOAT, "INCRBYFLOAT k 1x");
    const char *argv[] = {"INCRBYFLOAT", "k", " 1"};
    cr_assert_str_eq(ct_runv(&t, 3, argv, NULL), NOTFLOAT);
    RUN(":0\r\n", "EXISTS k");
    RUN(OK, "SET k abc");
    RUN(NOTFLOAT, "INCRBYFLOAT k 1");
    RUN(OK, "SET k 1");
    RUN("-ERR increment would produce NaN or Infinity\r\n", "INCRBYFLOAT k inf");
    RUN(OK, "SET k 1e4932");
    RUN("-ERR increment would produce NaN or Infinity\r\n", "INCRBYFLOAT k 1e4932");
}

/* INCRBYFLOAT keeps the TTL. */
Test(cmd_string, incrbyfloat_keeps_ttl)
{
    RUN(OK, "SET k 1 PX 5000");
    RUN("$3\r\n1.5\r\n", "INCRBYFLOAT k 0.5");
    RUN(":5000\r\n", "PTTL k");
}

/* INCRBYFLOAT computes in IEEE double and stores the shortest string that reads back. */
Test(cmd_string, incrbyfloat_is_ieee_double_shortest)
{
    RUN(OK, "SET k 0.1");
    RUN("$19\r\n0.30000000000000004\r\n", "INCRBYFLOAT k 0.2");
    RUN("$19\r\n0.30000000000000004\r\n", "GET k");
    RUN("$3\r\n0.4\r\n", "INCRBYFLOAT k 0.1");
    RUN(OK, "SET k -0");
    RUN("$1\r\n0\r\n", "INCRBYFLOAT k -0.0");
    RUN(OK, "SET k 1.5e-10");
    RUN("$13\r\n0.00000000015\r\n", "INCRBYFLOAT k 0");
    RUN("$18\r\n100000000000000000\r\n", "INCRBYFLOAT big 1e17");
    RUN("$16\r\n9007199254740992\r\n", "INCRBYFLOAT two53 9007199254740993");
}

/* Large exponents print in full; a sum past a double's range is refused and changes nothing. */
Test(cmd_string, incrbyfloat_large_exponents_and_overflow)
{
    char want[400];
    snprintf(want, sizeof want, "$301\r\n1%0300d\r\n", 0);
    RUN(want, "INCRBYFLOAT k 1e300");
    snprintf(want, sizeof want, "$301\r\n2%0300d\r\n", 0);
    RUN(want, "INCRBYFLOAT k 1e300");
    RUN("-ERR increment would produce NaN or Infinity\r\n", "INCRBYFLOAT k 1e309");
    RUN(OK, "SET k 1.7976931348623157e308");
    RUN("-ERR increment would produce NaN or Infinity\r\n", "INCRBYFLOAT k 1.7976931348623157e308");
    RUN("$22\r\n1.7976931348623157e308\r\n", "GET k");
    RUN(OK, "SET k 1");
    RUN("-ERR increment would produce NaN or Infinity\r\n", "INCRBYFLOAT k -inf");
    RUN(NOTFLOAT, "INCRBYFLOAT k 1e-99999");
    RUN("$1\r\n1\r\n", "GET k");
}

/* ---- GETRANGE / SETRANGE ---- */

/* GETRANGE follows Redis's negative-index and clamping rules. */
Test(cmd_string, getrange)
{
    const char *argv[] = {"SET", "k", "This is a string"};
    cr_assert_str_eq(ct_runv(&t, 3, argv, NULL), OK);
    RUN("$4\r\nThis\r\n", "GETRANGE k 0 3");
    RUN("$3\r\ning\r\n", "GETRANGE k -3 -1");
    RUN("$16\r\nThis is a string\r\n", "GETRANGE k 0 -1");
    RUN("$6\r\nstring\r\n", "GETRANGE k 10 100");
    RUN("$3\r\nThi\r\n", "GETRANGE k -100 2");
    RUN("$0\r\n\r\n", "GETRANGE k -1 -5");
    RUN("$0\r\n\r\n", "GETRANGE k 5 3");
    RUN("$0\r\n\r\n", "GETRANGE k 100 200");
    RUN("$1\r\nT\r\n", "GETRANGE k -9223372036854775808 0");
    RUN("$0\r\n\r\n", "GETRANGE missing 0 -1");
    RUN(NOTINT, "GETRANGE k a 1");
    RUN(NOTINT, "GETRANGE missing 0 b");
    const char *argv2[] = {"SET", "e", ""};
    cr_assert_str_eq(ct_runv(&t, 3, argv2, NULL), OK);
    RUN("$0\r\n\r\n", "GETRANGE e 0 -1");
}

/* SETRANGE overwrites, zero-pads a missing key and returns the new length. */
Test(cmd_string, setrange)
{
    const char *argv[] = {"SET", "k", "Hello World"};
    cr_assert_str_eq(ct_runv(&t, 3, argv, NULL), OK);
    RUN(":11\r\n", "SETRANGE k 6 Redis");
    RUN("$11\r\nHello Redis\r\n", "GET k");
    RUN(":13\r\n", "SETRANGE k 11 !!");
    RUN(":7\r\n", "SETRANGE n 5 ab");
    RUN(":7\r\n", "STRLEN n");
    RUN("$2\r\nab\r\n", "GETRANGE n 5 6");
    cr_assert(memcmp(ct_run(&t, "GET n"), "$7\r\n\0\0\0\0\0ab\r\n", 13) == 0);
}

/* SETRANGE with an empty value answers the length and creates nothing. */
Test(cmd_string, setrange_empty_value)
{
    const char *argv[] = {"SETRANGE", "missing", "3", ""};
    cr_assert_str_eq(ct_runv(&t, 4, argv, NULL), ":0\r\n");
    RUN(":0\r\n", "EXISTS missing");
    RUN(OK, "SET k hello");
    const char *argv2[] = {"SETRANGE", "k", "536870912", ""};
    cr_assert_str_eq(ct_runv(&t, 4, argv2, NULL), ":5\r\n");
}

/* SETRANGE errors: bad or negative offset, result past 512 MB. */
Test(cmd_string, setrange_errors)
{
    RUN(OK, "SET k v EX 100");
    RUN("-ERR offset is out of range\r\n", "SETRANGE k -1 x");
    RUN(NOTINT, "SETRANGE k abc x");
    RUN("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
        "SETRANGE k 536870912 x");
    RUN("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
        "SETRANGE k 536870911 xy");
    RUN("$1\r\nv\r\n", "GET k");
    RUN(":2\r\n", "SETRANGE k 1 w");
    RUN(":100\r\n", "TTL k");
}

/* ---- expiry, apply_seq, determinism ---- */

/* Every string command treats an expired key as absent. */
Test(cmd_string, expired_key_is_absent_everywhere)
{
    RUN(OK, "SET k 5 PX 10");
    t.now_ms += 10;
    RUN(NIL, "GET k");
    RUN(":0\r\n", "STRLEN k");
    RUN("$0\r\n\r\n", "GETRANGE k 0 -1");
    RUN("*1\r\n$-1\r\n", "MGET k");
    RUN(NIL, "GETDEL k");
    RUN(OK, "SET k 5 PX 10");
    t.now_ms += 10;
    RUN(NIL, "SET k v XX");
    RUN(NIL, "GETEX k PERSIST");
    RUN(OK, "SET k 5 PX 10");
    t.now_ms += 10;
    RUN(":1\r\n", "APPEND k x");
    RUN(":-1\r\n", "TTL k");
}

/* Writes record the apply_seq of their entry as the key's mod_seq. */
Test(cmd_string, writes_record_their_apply_seq)
{
    RUN(OK, "SET k v");
    uint64_t first = t.apply_seq;
    cr_assert_eq(kv_find(t.kv, "k", 1)->mod_seq, first);
    RUN(":2\r\n", "APPEND k w");
    cr_assert_eq(kv_find(t.kv, "k", 1)->mod_seq, first + 1);
    RUN("$2\r\nvw\r\n", "GETEX k EX 10");
    cr_assert_eq(kv_find(t.kv, "k", 1)->mod_seq, first + 2);
}

static void script(struct cmdtest *c)
{
    ct_run(c, "SET a 1 EX 100");
    ct_run(c, "INCRBY a 41");
    ct_run(c, "INCRBYFLOAT f 1.25");
    ct_run(c, "MSET b 2 c 3");
    ct_run(c, "SETRANGE d 3 xyz");
    ct_run(c, "APPEND b 22");
    ct_run(c, "GETEX c PX 500");
    ct_run(c, "SETEX e 5 v");
    ct_run(c, "GETDEL b");
}

/* The same commands at the same clock give the same keyspace digest on two stores. */
Test(cmd_string, same_requests_same_digest)
{
    struct cmdtest u;
    ct_init(&u, T0);
    script(&t);
    script(&u);
    char d1[41];
    strcpy(d1, ct_digest(&t));
    cr_assert_str_neq(d1, "0000000000000000000000000000000000000000");
    cr_assert_str_eq(ct_digest(&u), d1);
    ct_close(&u);
}

/* A prepared request gives the same state wherever and whenever it is applied. */
Test(cmd_string, prepared_request_is_deterministic)
{
    struct cmdtest u;
    ct_init(&u, T0 + 3000); /* a replica applying later */
    char line[128];
    snprintf(line, sizeof(line), "%s", ct_prepare(&t, "SET k v EX 100"));
    cr_assert_str_eq(ct_apply(&t, "%s", line), OK);
    cr_assert_str_eq(ct_apply(&u, "%s", line), OK);
    snprintf(line, sizeof(line), "%s", ct_prepare(&t, "SETEX s 7 v"));
    cr_assert_str_eq(ct_apply(&t, "%s", line), OK);
    cr_assert_str_eq(ct_apply(&u, "%s", line), OK);
    char d1[41];
    strcpy(d1, ct_digest(&t));
    cr_assert_str_eq(ct_digest(&u), d1);
    ct_close(&u);
}

/* Handlers defend themselves against unprepared or malformed requests from the log. */
Test(cmd_string, apply_defends_against_raw_requests)
{
    APPLY(OK, "set k v EX 10");
    RUN(":10\r\n", "TTL k");
    APPLY(OK, "setex s 10 v");
    RUN(":10\r\n", "TTL s");
    APPLY("-ERR invalid expire time in 'setex' command\r\n", "setex s 0 v");
    APPLY(SYNTAX, "set k v BOGUS");
    APPLY("-ERR invalid expire time in 'set' command\r\n", "set k v EX 0");
    APPLY(NOTINT, "incrby k x");
    APPLY("-ERR decrement would overflow\r\n", "decrby k -9223372036854775808");
    APPLY(NOTFLOAT, "incrbyfloat k x");
    APPLY("-ERR wrong number of arguments for 'mset' command\r\n", "mset a 1 b");
    APPLY("-ERR offset is out of range\r\n", "setrange k -1 x");
    APPLY(SYNTAX, "getex k EX");
}

/* Dispatch checks arity before any handler runs. */
Test(cmd_string, wrong_arity)
{
    RUN("-ERR wrong number of arguments for 'get' command\r\n", "GET");
    RUN("-ERR wrong number of arguments for 'set' command\r\n", "SET k");
    RUN("-ERR wrong number of arguments for 'getrange' command\r\n", "GETRANGE k 0");
}
