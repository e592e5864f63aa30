/* Unit tests for the shared helpers (src/util.c): strict number parsing and formatting,
 * memory sizes, glob matching, hash slots, hashing and byte buffers. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int parse_ll(const char *s, long long *out)
{
    return util_parse_ll(s, strlen(s), out);
}

static int glob(const char *pat, const char *str, int nocase)
{
    return util_glob_match(pat, strlen(pat), str, strlen(str), nocase);
}

// Canonical decimal integers parse, including both extremes.
Test(util, parse_ll_accepts_canonical_integers)
{
    long long v = 99;
    cr_assert_eq(parse_ll("0", &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(parse_ll("-1", &v), 0);
    cr_assert_eq(v, -1);
    cr_assert_eq(parse_ll("1234567", &v), 0);
    cr_assert_eq(v, 1234567);
    cr_assert_eq(parse_ll("9223372036854775807", &v), 0);
    cr_assert_eq(v, LLONG_MAX);
    cr_assert_eq(parse_ll("-9223372036854775808", &v), 0);
    cr_assert_eq(v, LLONG_MIN);
}

// Anything Redis's string2ll refuses is refused, and the output is left alone.
Test(util, parse_ll_rejects_non_canonical_forms)
{
    static const char *bad[] = {
        "", "01", "+1", " 1", "1 ", "-", "-0", "-01", "abc", "1a", "1.0",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616",
        "99999999999999999999", "123456789012345678901",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long long v = 77;
        cr_assert_eq(parse_ll(bad[i], &v), -1, "accepted \"%s\"", bad[i]);
        cr_assert_eq(v, 77);
    }
    long long v;
    cr_assert_eq(util_parse_ll("12\0", 3, &v), -1, "an embedded NUL is not the end");
    cr_assert_eq(util_parse_ll("123", 2, &v), 0, "only LEN bytes are read");
    cr_assert_eq(v, 12);
}

// Doubles parse as Redis's string2d does; spaces, NaN, junk and underflow to zero fail.
Test(util, parse_double_accepts_numbers_rejects_junk)
{
    double v;
    cr_assert_eq(util_parse_double("10.5", 4, &v), 0);
    cr_assert_eq(v, 10.5);
    cr_assert_eq(util_parse_double("3.0e3", 5, &v), 0);
    cr_assert_eq(v, 3000.0);
    cr_assert_eq(util_parse_double("-5", 2, &v), 0);
    cr_assert_eq(v, -5.0);
    cr_assert_eq(util_parse_double(".5", 2, &v), 0);
    cr_assert_eq(v, 0.5);
    cr_assert_eq(util_parse_double("inf", 3, &v), 0);
    cr_assert(isinf(v) && v > 0);
    cr_assert_eq(util_parse_double("5e-324", 6, &v), 0, "the smallest subnormal is a number");
    cr_assert_gt(v, 0);
    static const char *bad[] = {"", " 1", "1 ", "abc", "nan", "-nan", "1.5x", "1e-99999", "0x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(util_parse_double(bad[i], strlen(bad[i]), &v), -1, "accepted \"%s\"", bad[i]);
}

// A number beyond a double's range is reported as overflow, with the infinity of its sign.
Test(util, parse_double_reports_overflow)
{
    double v = 0;
    cr_assert_eq(util_parse_double("1e99999", 7, &v), UTIL_DOUBLE_OVERFLOW);
    cr_assert(isinf(v) && v > 0);
    cr_assert_eq(util_parse_double("-1e309", 6, &v), UTIL_DOUBLE_OVERFLOW);
    cr_assert(isinf(v) && v < 0);
    cr_assert_eq(util_parse_double("1.7976931348623157e308", 22, &v), 0, "DBL_MAX is finite");
    cr_assert_eq(v, DBL_MAX);
}

static const char *d2s(double v)
{
    static char buf[UTIL_D2STR_MAX];
    cr_assert_gt(util_d2str_human(buf, sizeof buf, v), 0);
    return buf;
}

// Doubles print like INCRBYFLOAT replies: no exponent, no trailing zeros or dot.
Test(util, d2str_human_trims_like_redis)
{
    char buf[UTIL_D2STR_MAX];
    cr_assert_eq(util_d2str_human(buf, sizeof buf, 10.5), 4);
    cr_assert_str_eq(buf, "10.5");
    cr_assert_str_eq(d2s(3.0e3), "3000");
    cr_assert_str_eq(d2s(5.0e-1), "0.5");
    cr_assert_str_eq(d2s(10.5 + 0.1), "10.6");
    cr_assert_str_eq(d2s(-0.0), "0");
    cr_assert_str_eq(d2s(-2.25), "-2.25");
    cr_assert_str_eq(d2s(1e20), "100000000000000000000");
    cr_assert_eq(util_d2str_human(buf, 4, 12345.0), 0, "too small a buffer is an error");
}

// The shortest digits that read back as the same double, whatever the value's size.
Test(util, d2str_human_is_shortest_round_trip)
{
    volatile double a = 0.1, b = 0.2;
    cr_assert_str_eq(d2s(a + b), "0.30000000000000004");
    cr_assert_str_eq(d2s(0.1), "0.1");
    cr_assert_str_eq(d2s(1.0 / 3), "0.3333333333333333");
    cr_assert_str_eq(d2s(-1.0 / 3), "-0.3333333333333333");
    cr_assert_str_eq(d2s(123456789.125), "123456789.125");
    cr_assert_str_eq(d2s(9007199254740993.0), "9007199254740992");
    cr_assert_str_eq(d2s(0.000123), "0.000123");
    cr_assert_str_eq(d2s(1.5e-10), "0.00000000015");
    cr_assert_str_eq(d2s(1e21), "1000000000000000000000");
    cr_assert_str_eq(d2s(2.5e25), "25000000000000000000000000");
}

// The extremes print in full, positionally, and every printed value reads back exactly.
Test(util, d2str_human_extremes_round_trip)
{
    char want[UTIL_D2STR_MAX];
    snprintf(want, sizeof want, "1%0300d", 0);
    cr_assert_str_eq(d2s(1e300), want);
    const char *max = d2s(DBL_MAX);
    cr_assert_eq(strlen(max), 309);
    cr_assert_eq(strncmp(max, "17976931348623157", 17), 0);
    cr_assert_eq(strspn(max + 17, "0"), 309 - 17);
    const char *min = d2s(-5e-324);
    cr_assert_eq(strlen(min), 1 + 2 + 323 + 1);
    cr_assert_eq(strncmp(min, "-0.000", 6), 0);
    cr_assert_eq(min[strlen(min) - 1], '5');
    static const double vals[] = {DBL_MAX, -DBL_MAX, DBL_MIN, 5e-324, 2.2250738585072009e-308,
                                  1e300, 1e-300, 0.30000000000000004, 4.35, 1e23, 8.41e21};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        const char *s = d2s(vals[i]);
        double back;
        cr_assert_eq(util_parse_double(s, strlen(s), &back), 0, "%s", s);
        cr_assert_eq(back, vals[i], "%s does not read back", s);
        cr_assert_null(strchr(s, 'e'));
    }
    char buf[UTIL_D2STR_MAX];
    cr_assert_eq(util_d2str_human(buf, sizeof buf, 1.0 / 0.0), 0, "infinity is not printed");
    cr_assert_eq(util_d2str_human(buf, sizeof buf, NAN), 0, "NaN is not printed");
}

// Integers print in decimal, LLONG_MIN included.
Test(util, ll2str_formats_extremes)
{
    char buf[32];
    cr_assert_eq(util_ll2str(buf, LLONG_MIN), 20);
    cr_assert_str_eq(buf, "-9223372036854775808");
    cr_assert_eq(util_ll2str(buf, 0), 1);
    cr_assert_str_eq(buf, "0");
}

// Memory sizes accept Redis's unit suffixes in any case and refuse anything else.
Test(util, parse_memory_units)
{
    long long v;
    cr_assert_eq(util_parse_memory("512mb", &v), 0);
    cr_assert_eq(v, 512LL * 1024 * 1024);
    cr_assert_eq(util_parse_memory("1gb", &v), 0);
    cr_assert_eq(v, 1024LL * 1024 * 1024);
    cr_assert_eq(util_parse_memory("1GB", &v), 0);
    cr_assert_eq(v, 1024LL * 1024 * 1024);
    cr_assert_eq(util_parse_memory("10k", &v), 0);
    cr_assert_eq(v, 10000);
    cr_assert_eq(util_parse_memory("10kb", &v), 0);
    cr_assert_eq(v, 10240);
    cr_assert_eq(util_parse_memory("2m", &v), 0);
    cr_assert_eq(v, 2000000);
    cr_assert_eq(util_parse_memory("5", &v), 0);
    cr_assert_eq(v, 5);
    static const char *bad[] = {"bad", "", "-5", " 5", "10x", "10kbb", "mb", "99999999999gb"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(util_parse_memory(bad[i], &v), -1, "accepted \"%s\"", bad[i]);
}

// Wildcards: '*' matches any run, '?' exactly one byte.
Test(util, glob_star_and_question_mark)
{
    cr_assert(glob("*", "anything", 0));
    cr_assert(glob("a*", "a", 0));
    cr_assert(glob("*a", "a", 0));
    cr_assert(glob("a*b", "ab", 0));
    cr_assert(glob("a*b*", "axxbyy", 0));
    cr_assert(glob("a**b", "axb", 0));
    cr_assert_not(glob("a*b", "axxc", 0));
    cr_assert(glob("h?llo", "hello", 0));
    cr_assert_not(glob("h?llo", "hllo", 0));
    cr_assert_not(glob("hello", "hello!", 0));
    cr_assert_not(glob("hello!", "hello", 0));
    cr_assert(util_glob_match("a?c", 3, "a\0c", 3, 0), "'?' matches a NUL byte");
}

// Character classes: sets, negation, ranges (either way round) and escaped members.
Test(util, glob_character_classes)
{
    cr_assert(glob("h[ae]llo", "hallo", 0));
    cr_assert_not(glob("h[ae]llo", "hillo", 0));
    cr_assert(glob("h[^e]llo", "hallo", 0));
    cr_assert_not(glob("h[^e]llo", "hello", 0));
    cr_assert(glob("h[a-c]llo", "hbllo", 0));
    cr_assert_not(glob("h[a-c]llo", "hdllo", 0));
    cr_assert(glob("[c-a]", "b", 0));
    cr_assert(glob("[\\]]", "]", 0));
    cr_assert(glob("[ab", "b", 0), "an unterminated class ends at the pattern's end");
    cr_assert_not(glob("[ab", "bc", 0));
}

// A backslash makes the next pattern byte literal.
Test(util, glob_escapes)
{
    cr_assert(glob("h\\*llo", "h*llo", 0));
    cr_assert_not(glob("h\\*llo", "hello", 0));
    cr_assert(glob("h\\?", "h?", 0));
    cr_assert_not(glob("h\\?", "hx", 0));
}

// nocase folds letters in literals and ranges.
Test(util, glob_nocase)
{
    cr_assert(glob("HELLO", "hello", 1));
    cr_assert_not(glob("HELLO", "hello", 0));
    cr_assert(glob("[A-C]x", "bX", 1));
    cr_assert_not(glob("[A-C]x", "bX", 0));
    cr_assert(glob("h[E]*", "HeLLo", 1));
}

// Patterns built to backtrack exponentially fail quickly instead of hanging.
Test(util, glob_pathological_pattern_is_fast, .timeout = 5)
{
    char s[201];
    memset(s, 'a', 200);
    s[200] = '\0';
    cr_assert_not(glob("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", s, 0));
    cr_assert(glob("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", s, 0));
    cr_assert(glob("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*", s, 0));
}

// Hash slots match Redis Cluster's, hash tags included.
Test(util, keyslot_matches_redis_cluster)
{
    cr_assert_eq(util_keyslot("foo", 3), 12182);
    cr_assert_eq(util_keyslot("123456789", 9), 12739);
    const char *a = "{user1000}.following", *b = "{user1000}.followers";
    cr_assert_eq(util_keyslot(a, strlen(a)), util_keyslot(b, strlen(b)));
    cr_assert_eq(util_keyslot(a, strlen(a)), util_keyslot("user1000", 8));
    cr_assert_neq(util_keyslot("foo{}{bar}", 10), util_keyslot("bar", 3));
    cr_assert_eq(util_keyslot("foo{bar}{zap}", 13), util_keyslot("bar", 3));
    cr_assert_eq(util_keyslot("foo{{bar}}zap", 13), util_keyslot("{bar", 4));
    cr_assert_eq(util_keyslot("foo{", 4), util_keyslot("foo{", 4));
    cr_assert_lt(util_keyslot("foo{", 4), 16384);
}

// The seeded hash is a pure function of bytes and seed; util_hash follows the process seed.
Test(util, hash_depends_on_seed_and_bytes)
{
    uint64_t h1 = util_hash_seeded("abc", 3, 1);
    cr_assert_eq(h1, util_hash_seeded("abc", 3, 1));
    cr_assert_neq(h1, util_hash_seeded("abc", 3, 2));
    cr_assert_neq(h1, util_hash_seeded("abd", 3, 1));
    cr_assert_neq(util_hash_seeded("a", 1, 1), util_hash_seeded("a\0", 2, 1));
    util_hash_seed(42);
    cr_assert_eq(util_hash("xyz", 3), util_hash_seeded("xyz", 3, 42));
}

// Case-insensitive comparison needs equal lengths.
Test(util, eq_nocase)
{
    cr_assert(util_eq_nocase("GeT", 3, "get"));
    cr_assert_not(util_eq_nocase("GeT", 2, "get"));
    cr_assert_not(util_eq_nocase("gets", 4, "get"));
}

// Buffers grow on append and printf and hand over their bytes.
Test(util, buf_append_printf_detach)
{
    struct buf b;
    buf_init(&b);
    buf_append(&b, "hello", 5);
    buf_append(&b, "", 0);
    buf_append_str(&b, " world");
    cr_assert_eq(b.len, 11);
    cr_assert_eq(memcmp(b.data, "hello world", 11), 0);
    char big[300];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    buf_printf(&b, "[%d:%s]", 7, big); /* longer than the first reservation */
    cr_assert_eq(b.len, 11 + 4 + 299);
    cr_assert_eq(b.data[b.len - 1], ']');
    cr_assert_geq(b.cap, b.len);
    size_t len;
    char *p = buf_detach(&b, &len);
    cr_assert_eq(len, 11 + 4 + 299);
    cr_assert_eq(memcmp(p, "hello world[7:", 14), 0);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    free(p);
    p = buf_detach(&b, &len);
    cr_assert_not_null(p, "detaching an empty buffer still gives a pointer to free");
    cr_assert_eq(len, 0);
    free(p);
    buf_append(&b, "x", 1);
    cr_assert_eq(b.len, 1);
    buf_close(&b);
    cr_assert_null(b.data);
}

// xmemdup copies exactly LEN bytes and NUL-terminates them.
Test(util, xmemdup_terminates)
{
    char *p = xmemdup("ab\0cd", 5);
    cr_assert_eq(memcmp(p, "ab\0cd", 6), 0);
    free(p);
    p = xstrdup("");
    cr_assert_str_eq(p, "");
    free(p);
}

// The clocks read plausible values and the monotonic one does not go backwards.
Test(util, clocks_are_sane)
{
    cr_assert_gt(util_now_ms(), 1600000000000LL);
    int64_t us = util_now_us();
    cr_assert_geq(us / 1000, util_now_ms() - 1000);
    int64_t a = util_mono_us(), b = util_mono_us();
    cr_assert_geq(b, a);
}

// Strict IPv4 ip:port parses, and its canonical form is written when asked for.
Test(util, parse_addr_accepts_ipv4_with_port)
{
    char canon[32];
    cr_assert_eq(util_parse_addr("127.0.0.1:6379", canon, sizeof(canon)), 0);
    cr_assert_str_eq(canon, "127.0.0.1:6379");
    cr_assert_eq(util_parse_addr("255.255.255.255:65535", NULL, 0), 0);
    cr_assert_eq(util_parse_addr("0.0.0.0:1", canon, sizeof(canon)), 0);
    cr_assert_str_eq(canon, "0.0.0.0:1");
}

// Anything but a dotted quad and a port in 1-65535, written canonically, is refused.
Test(util, parse_addr_rejects_malformed)
{
    static const char *const bad[] = {
        "", ":", "127.0.0.1", "127.0.0.1:", ":6379", "127.0.0:6379", "127.0.0.1.1:6379",
        "256.0.0.1:6379", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.01:6379",
        "127.0.0.1:06379", " 127.0.0.1:6379", "127.0.0.1:6379 ", "127.0.0.1:+6379",
        "127.0.0.1:-1", "localhost:6379", "[::1]:6379", "127.0.0.1:6379:1", "1234.0.0.1:1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(util_parse_addr(bad[i], NULL, 0), -1, "accepted '%s'", bad[i]);
    cr_assert_eq(util_parse_addr(NULL, NULL, 0), -1);
}

// Splitting gives the dotted quad and the port of exactly what util_parse_addr accepts.
Test(util, split_addr_gives_ip_and_port)
{
    char ip[UTIL_IP_MAX];
    int port = -1;
    cr_assert_eq(util_split_addr("10.1.2.3:16379", ip, &port), 0);
    cr_assert_str_eq(ip, "10.1.2.3");
    cr_assert_eq(port, 16379);
    cr_assert_eq(util_split_addr("255.255.255.255:65535", ip, &port), 0);
    cr_assert_str_eq(ip, "255.255.255.255");
    cr_assert_eq(port, 65535);
}

// A malformed address splits into nothing: an empty ip and port 0.
Test(util, split_addr_rejects_malformed_and_clears)
{
    char ip[UTIL_IP_MAX] = "x";
    int port = 7;
    cr_assert_eq(util_split_addr("10.1.2.3:99999", ip, &port), -1);
    cr_assert_str_eq(ip, "");
    cr_assert_eq(port, 0);
    strcpy(ip, "x");
    cr_assert_eq(util_split_addr("host:80", ip, &port), -1);
    cr_assert_str_eq(ip, "");
    cr_assert_eq(util_split_addr(NULL, ip, &port), -1);
}

/* util_grow keeps the array while there is room and doubles it (from 16) when there is not,
 * keeping the elements. */
Test(util, grow_doubles_only_when_full)
{
    int *a = NULL, cap = 0;
    for (int i = 0; i < 40; i++) {
        int *before = a;
        int old_cap = cap;
        a = util_grow(a, i, &cap, sizeof(*a));
        if (i < old_cap)
            cr_assert_eq(a, before, "element %d fits: the array must not move", i);
        cr_assert(cap > i, "capacity %d after growing for element %d", cap, i);
        a[i] = i * 3;
    }
    cr_assert_eq(cap, 64);
    for (int i = 0; i < 40; i++)
        cr_assert_eq(a[i], i * 3);
    free(a);
}
