/* Unit tests of the RESP value-boundary scanner follower proxying relays replies with
 * (proxy_resp_value_len, proxy.c): every RESP2 and RESP3 type, nested aggregates, nulls,
 * values split anywhere (incomplete until the last byte), and malformed input. */
#include <criterion/criterion.h>
#include <string.h>

#include "proxy.h"

static long scan(const char *s)
{
    return proxy_resp_value_len(s, strlen(s));
}

/* Each simple type, bulk strings (empty and null) and empty or null arrays. */
Test(proxy, simple_values)
{
    cr_assert_eq(scan("+OK\r\n"), 5);
    cr_assert_eq(scan("-ERR no\r\n"), 9);
    cr_assert_eq(scan(":42\r\n"), 5);
    cr_assert_eq(scan("$3\r\nabc\r\n"), 9);
    cr_assert_eq(scan("$0\r\n\r\n"), 6);
    cr_assert_eq(scan("$-1\r\n"), 5);
    cr_assert_eq(scan("*-1\r\n"), 5);
    cr_assert_eq(scan("*0\r\n"), 4);
}

/* The length is the first value's, whatever follows; a bulk's body is skipped by length. */
Test(proxy, only_the_first_value_counts)
{
    cr_assert_eq(scan("+OK\r\n+PONG\r\n"), 5);
    cr_assert_eq(scan("$4\r\n\r\n\r\n\r\n:1\r\n"), 10); /* a bulk may hold CRLF */
}

/* Arrays inside arrays (an EXEC reply) count every element. */
Test(proxy, nested_aggregates)
{
    const char *v = "*3\r\n$1\r\na\r\n*2\r\n:1\r\n*1\r\n$-1\r\n+x\r\n";
    cr_assert_eq(scan(v), (long)strlen(v));
    const char *exec = "*2\r\n+OK\r\n-ERR bad\r\n";
    cr_assert_eq(scan(exec), (long)strlen(exec));
}

/* Maps, sets, doubles, booleans, nulls, big numbers, verbatim strings, attributes, pushes. */
Test(proxy, resp3_types)
{
    const char *m = "%2\r\n+a\r\n:1\r\n+b\r\n~1\r\n,1.5\r\n";
    cr_assert_eq(scan(m), (long)strlen(m));
    cr_assert_eq(scan("_\r\n"), 3);
    cr_assert_eq(scan("#t\r\n"), 4);
    cr_assert_eq(scan("(123\r\n"), 6);
    cr_assert_eq(scan("=8\r\ntxt:abcd\r\n"), 14);
    const char *attr = "|1\r\n+k\r\n+v\r\n:7\r\n"; /* an attribute, then its value */
    cr_assert_eq(scan(attr), (long)strlen(attr));
    const char *push = ">2\r\n+message\r\n$1\r\nx\r\n";
    cr_assert_eq(scan(push), (long)strlen(push));
}

/* A value cut at any byte is incomplete (0), never a shorter value. */
Test(proxy, incomplete_at_every_cut)
{
    const char *v = "*3\r\n$5\r\nhello\r\n:12\r\n*1\r\n+z\r\n";
    size_t n = strlen(v);
    for (size_t cut = 0; cut < n; cut++)
        cr_assert_eq(proxy_resp_value_len(v, cut), 0, "cut at %zu", cut);
    cr_assert_eq(proxy_resp_value_len(v, n), (long)n);
}

/* Unknown types, bare LF, bad lengths and a bulk without its CRLF are not RESP. */
Test(proxy, malformed)
{
    cr_assert_eq(scan("?x\r\n"), -1);
    cr_assert_eq(scan("+OK\n"), -1);
    cr_assert_eq(scan("$abc\r\n"), -1);
    cr_assert_eq(scan("$-5\r\n"), -1);
    cr_assert_eq(scan("$3\r\nabcd\r\n"), -1);
    cr_assert_eq(scan("*x\r\n"), -1);
}
