/* Unit tests for resp.c: the request reader (multibulk, inline, limits, protocol errors),
 * the request helpers and the exact bytes of every reply helper. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "resp.h"

#define MAX_BULK (512LL * 1024 * 1024)

static struct resp_reader *rd;
static char errmsg[256];

static void setup(void)
{
    rd = resp_reader_new(MAX_BULK);
    errmsg[0] = '\0';
}

static void teardown(void)
{
    resp_reader_free(rd);
}

TestSuite(resp, .init = setup, .fini = teardown);

static void feed(const char *s)
{
    resp_reader_feed(rd, s, strlen(s));
}

/* The next request, which must be complete. */
static struct request *next_ok(void)
{
    struct request *req = NULL;
    int rc = resp_reader_next(rd, &req, errmsg, sizeof(errmsg));
    cr_assert_eq(rc, RESP_OK, "rc %d: %s", rc, errmsg);
    cr_assert_not_null(req);
    return req;
}

static void assert_incomplete(void)
{
    struct request *req = NULL;
    cr_assert_eq(resp_reader_next(rd, &req, errmsg, sizeof(errmsg)), RESP_INCOMPLETE);
    cr_assert_null(req);
}

static void assert_error(const char *msg)
{
    struct request *req = NULL;
    cr_assert_eq(resp_reader_next(rd, &req, errmsg, sizeof(errmsg)), RESP_ERR_PROTOCOL);
    cr_assert_null(req);
    cr_assert_str_eq(errmsg, msg);
}

/* Assert REQ holds exactly the C-string arguments given, then free it. */
static void assert_args(struct request *req, int argc, const char *const *argv)
{
    cr_assert_eq(req->argc, argc, "argc %d, expected %d", req->argc, argc);
    for (int i = 0; i < argc; i++) {
        cr_assert_eq(req->len[i], strlen(argv[i]), "arg %d", i);
        cr_assert_eq(memcmp(req->argv[i], argv[i], req->len[i]), 0, "arg %d", i);
        cr_assert_eq(req->argv[i][req->len[i]], '\0', "arg %d not NUL-terminated", i);
    }
    request_free(req);
}

#define ARGS(...) (sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)), (const char *[]){__VA_ARGS__}

static void expect(const char *input_error, const char *msg)
{
    feed(input_error);
    assert_error(msg);
}

/* ------------------------------------------------------------------ multibulk */

// One multibulk request is decoded into its arguments.
Test(resp, multibulk_single_request)
{
    feed("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
    assert_args(next_ok(), ARGS("SET", "key", "value"));
    assert_incomplete();
    cr_assert_eq(resp_reader_pending(rd), 0);
}

// Several requests in one read come out one by one, in order.
Test(resp, multibulk_pipelined_in_order)
{
    feed("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
    assert_args(next_ok(), ARGS("PING"));
    assert_args(next_ok(), ARGS("GET", "a"));
    assert_args(next_ok(), ARGS("ECHO", ""));
    assert_incomplete();
}

// Bulk arguments are binary-safe: NULs and CRLF inside are kept, and a NUL follows each.
Test(resp, multibulk_binary_arguments)
{
    static const char in[] = "*2\r\n$3\r\nSET\r\n$6\r\na\0b\r\nc\r\n";
    resp_reader_feed(rd, in, sizeof(in) - 1);
    struct request *req = next_ok();
    cr_assert_eq(req->argc, 2);
    cr_assert_eq(req->len[1], 6);
    cr_assert_eq(memcmp(req->argv[1], "a\0b\r\nc", 6), 0);
    cr_assert_eq(req->argv[1][6], '\0');
    request_free(req);
}

// A request cut short is incomplete until the rest arrives.
Test(resp, bulk_cut_short_is_incomplete)
{
    feed("*2\r\n$3\r\nGET\r\n$3\r\nfo");
    assert_incomplete();
    feed("o\r\n");
    assert_args(next_ok(), ARGS("GET", "foo"));
}

// Input fed one byte at a time yields the same requests.
Test(resp, multibulk_one_byte_at_a_time)
{
    const char *in = "*3\r\n$3\r\nSET\r\n$10\r\n0123456789\r\n$0\r\n\r\n*1\r\n$4\r\nPING\r\n";
    int got = 0;
    for (size_t i = 0; in[i]; i++) {
        resp_reader_feed(rd, in + i, 1);
        struct request *req = NULL;
        int rc = resp_reader_next(rd, &req, errmsg, sizeof(errmsg));
        if (rc == RESP_INCOMPLETE)
            continue;
        cr_assert_eq(rc, RESP_OK, "%s", errmsg);
        if (got++ == 0)
            assert_args(req, ARGS("SET", "0123456789", ""));
        else
            assert_args(req, ARGS("PING"));
    }
    cr_assert_eq(got, 2);
}

// An inline command fed one byte at a time is parsed once its newline arrives.
Test(resp, inline_one_byte_at_a_time)
{
    const char *in = "SET k \"a b\"\r\n";
    for (size_t i = 0; in[i + 1]; i++) {
        resp_reader_feed(rd, in + i, 1);
        assert_incomplete();
    }
    feed("\n");
    assert_args(next_ok(), ARGS("SET", "k", "a b"));
}

/* Encode request number I (alternating multibulk and inline) into OUT. */
static void encode_request(struct buf *out, int i)
{
    char val[32];
    snprintf(val, sizeof(val), "v%d", i * 7919);
    if (i % 5 == 4) {
        buf_printf(out, "SET key:%d %s\r\n", i, val);
        return;
    }
    char key[32];
    snprintf(key, sizeof(key), "key:%d", i);
    buf_printf(out, "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", strlen(key), key,
               strlen(val), val);
}

// 10,000 pipelined commands fed in random-size chunks all come out, in order, intact.
Test(resp, pipeline_random_chunks)
{
    struct buf in;
    buf_init(&in);
    for (int i = 0; i < 10000; i++)
        encode_request(&in, i);
    srand(42);
    size_t off = 0;
    int got = 0;
    while (off < in.len || got < 10000) {
        size_t n = (size_t)(rand() % 300) + 1;
        if (n > in.len - off)
            n = in.len - off;
        resp_reader_feed(rd, in.data + off, n);
        off += n;
        struct request *req;
        int rc;
        while ((rc = resp_reader_next(rd, &req, errmsg, sizeof(errmsg))) == RESP_OK) {
            char key[32], val[32];
            snprintf(key, sizeof(key), "key:%d", got);
            snprintf(val, sizeof(val), "v%d", got * 7919);
            assert_args(req, ARGS("SET", key, val));
            got++;
        }
        cr_assert_eq(rc, RESP_INCOMPLETE, "%s", errmsg);
        cr_assert(off < in.len || got == 10000);
    }
    cr_assert_eq(got, 10000);
    cr_assert_eq(resp_reader_pending(rd), 0);
    buf_close(&in);
}

// A 4 MB bulk arriving in 16 KB chunks is reassembled exactly.
Test(resp, large_bulk_in_chunks)
{
    size_t big = 4 << 20;
    struct buf in;
    buf_init(&in);
    buf_printf(&in, "*2\r\n$3\r\nSET\r\n$%zu\r\n", big);
    char *payload = buf_reserve(&in, big);
    for (size_t i = 0; i < big; i++)
        payload[i] = (char)(i * 31 + 7);
    in.len += big;
    buf_append(&in, "\r\n", 2);
    for (size_t off = 0; off < in.len; off += 16384) {
        size_t n = in.len - off < 16384 ? in.len - off : 16384;
        resp_reader_feed(rd, in.data + off, n);
        if (off + n < in.len)
            assert_incomplete();
    }
    struct request *req = next_ok();
    cr_assert_eq(req->argc, 2);
    cr_assert_eq(req->len[1], big);
    cr_assert_eq(memcmp(req->argv[1], in.data + in.len - 2 - big, big), 0);
    request_free(req);
    buf_close(&in);
}

/* Build "SET <a> <b>" with big binary values A_LEN and B_LEN bytes long, then "PING". */
static void encode_big(struct buf *in, size_t a_len, size_t b_len)
{
    buf_printf(in, "*3\r\n$3\r\nSET\r\n$%zu\r\n", a_len);
    for (size_t i = 0; i < a_len; i++)
        buf_append(in, &(char){(char)(i * 13)}, 1);
    buf_printf(in, "\r\n$%zu\r\n", b_len);
    for (size_t i = 0; i < b_len; i++)
        buf_append(in, &(char){(char)(i * 7 + 1)}, 1);
    buf_append_str(in, "\r\n*1\r\n$4\r\nPING\r\n");
}

static void assert_big(struct request *req, size_t a_len, size_t b_len)
{
    cr_assert_eq(req->argc, 3);
    cr_assert_eq(req->len[1], a_len);
    cr_assert_eq(req->len[2], b_len);
    for (size_t i = 0; i < a_len; i++)
        cr_assert_eq(req->argv[1][i], (char)(i * 13), "byte %zu of arg 1", i);
    for (size_t i = 0; i < b_len; i++)
        cr_assert_eq(req->argv[2][i], (char)(i * 7 + 1), "byte %zu of arg 2", i);
    cr_assert_eq(req->argv[1][a_len], '\0');
    cr_assert_eq(req->argv[2][b_len], '\0');
    request_free(req);
}

// Big bulks (read past hiredis's buffer) survive any chunking, and what follows is intact.
Test(resp, big_bulks_random_chunks)
{
    struct buf in;
    buf_init(&in);
    encode_big(&in, 40000, 70001);
    for (unsigned seed = 1; seed <= 20; seed++) {
        srand(seed);
        size_t off = 0;
        int got = 0;
        while (off < in.len) {
            size_t n = (size_t)(rand() % (seed < 10 ? 5000 : 70)) + 1;
            n = n < in.len - off ? n : in.len - off;
            resp_reader_feed(rd, in.data + off, n);
            off += n;
            struct request *req;
            int rc;
            while ((rc = resp_reader_next(rd, &req, errmsg, sizeof(errmsg))) == RESP_OK) {
                if (got++ == 0)
                    assert_big(req, 40000, 70001);
                else
                    assert_args(req, ARGS("PING"));
            }
            cr_assert_eq(rc, RESP_INCOMPLETE, "%s", errmsg);
        }
        cr_assert_eq(got, 2, "seed %u", seed);
        cr_assert_eq(resp_reader_pending(rd), 0);
    }
    buf_close(&in);
}

// While a big bulk is arriving, pending counts every byte fed so far.
Test(resp, big_bulk_pending)
{
    struct buf in;
    buf_init(&in);
    encode_big(&in, 50000, 1);
    size_t first = 30000;
    resp_reader_feed(rd, in.data, first);
    assert_incomplete();
    cr_assert_eq(resp_reader_pending(rd), first);
    resp_reader_feed(rd, in.data + first, 15000);
    assert_incomplete();
    cr_assert_eq(resp_reader_pending(rd), first + 15000);
    resp_reader_feed(rd, in.data + first + 15000, in.len - first - 15000);
    assert_big(next_ok(), 50000, 1);
    cr_assert_eq(resp_reader_pending(rd), 14);
    assert_args(next_ok(), ARGS("PING"));
    buf_close(&in);
}

// A big bulk fed one byte at a time is read once and complete.
Test(resp, big_bulk_one_byte_at_a_time)
{
    struct buf in;
    buf_init(&in);
    encode_big(&in, 33000, 0);
    int got = 0;
    for (size_t i = 0; i < in.len; i++) {
        resp_reader_feed(rd, in.data + i, 1);
        struct request *req;
        int rc = resp_reader_next(rd, &req, errmsg, sizeof(errmsg));
        cr_assert_neq(rc, RESP_ERR_PROTOCOL, "%s", errmsg);
        if (rc == RESP_OK && got++ == 0)
            assert_big(req, 33000, 0);
        else if (rc == RESP_OK)
            assert_args(req, ARGS("PING"));
    }
    cr_assert_eq(got, 2);
    buf_close(&in);
}

// Freeing a reader in the middle of a big bulk leaks nothing (ASan checks).
Test(resp, free_during_big_bulk)
{
    feed("*2\r\n$3\r\nSET\r\n$100000\r\nabc");
    assert_incomplete();
    cr_assert_eq(resp_reader_pending(rd), 25);
}

// More arguments than the reader preallocates (1024) are all kept.
Test(resp, multibulk_many_arguments)
{
    struct buf in;
    buf_init(&in);
    buf_printf(&in, "*3000\r\n");
    for (int i = 0; i < 3000; i++) {
        char a[16];
        int n = snprintf(a, sizeof(a), "%d", i);
        buf_printf(&in, "$%d\r\n%s\r\n", n, a);
    }
    resp_reader_feed(rd, in.data, in.len);
    struct request *req = next_ok();
    cr_assert_eq(req->argc, 3000);
    cr_assert_str_eq(req->argv[2999], "2999");
    cr_assert_str_eq(req->argv[1024], "1024");
    request_free(req);
    buf_close(&in);
}

// *0, *-1 and other counts <= 0 are skipped without producing a request.
Test(resp, empty_multibulk_is_skipped)
{
    feed("*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nPING\r\n");
    assert_args(next_ok(), ARGS("PING"));
    assert_incomplete();
    cr_assert_eq(resp_reader_pending(rd), 0);
}

// Pending counts every byte not yet returned as a request, including a partial one.
Test(resp, pending_counts_unconsumed_bytes)
{
    const char *part = "*2\r\n$3\r\nGET\r\n$3\r\nfo";
    feed("*1\r\n$4\r\nPING\r\n");
    feed(part);
    cr_assert_eq(resp_reader_pending(rd), 14 + strlen(part));
    assert_args(next_ok(), ARGS("PING"));
    assert_incomplete();
    cr_assert_eq(resp_reader_pending(rd), strlen(part));
    feed("o\r\nPIN");
    assert_args(next_ok(), ARGS("GET", "foo"));
    assert_incomplete();
    cr_assert_eq(resp_reader_pending(rd), 3);
}

/* ------------------------------------------------------------------ inline */

// An inline command is split on spaces and tabs; CRLF or a bare LF ends it.
Test(resp, inline_simple)
{
    feed("SET  key\tvalue\r\nGET key\n");
    assert_args(next_ok(), ARGS("SET", "key", "value"));
    assert_args(next_ok(), ARGS("GET", "key"));
    assert_incomplete();
}

// Double quotes understand \n \r \t \b \a \\ \" and \xHH; single quotes understand \'.
Test(resp, inline_quotes_and_escapes)
{
    feed("SET \"a\\n\\r\\t\\b\\a\\\\\\\"\\x41\\x4a\\q\" 'it\\'s \"x\"' \"\" ''\r\n");
    assert_args(next_ok(), ARGS("SET", "a\n\r\t\b\a\\\"AJq", "it's \"x\"", "", ""));
}

// A quote opening inside a word continues that word.
Test(resp, inline_quote_inside_word)
{
    feed("echo ab\"c d\" x'y z'\r\n");
    assert_args(next_ok(), ARGS("echo", "abc d", "xy z"));
}

// A \x escape can produce a NUL byte inside an argument.
Test(resp, inline_hex_escape_nul)
{
    feed("echo \"a\\x00b\"\r\n");
    struct request *req = next_ok();
    cr_assert_eq(req->argc, 2);
    cr_assert_eq(req->len[1], 3);
    cr_assert_eq(memcmp(req->argv[1], "a\0b", 3), 0);
    request_free(req);
}

// Empty and blank lines yield no request and are skipped.
Test(resp, empty_lines_are_skipped)
{
    feed("\r\n\n   \r\n\t\n");
    assert_incomplete();
    cr_assert_eq(resp_reader_pending(rd), 0);
    feed("PING\r\n");
    assert_args(next_ok(), ARGS("PING"));
}

// Inline and multibulk requests can be mixed in one stream.
Test(resp, mixed_inline_and_multibulk)
{
    feed("PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nECHO 'x y'\r\n*1\r\n$4\r\nQUIT\r\n");
    assert_args(next_ok(), ARGS("PING"));
    assert_args(next_ok(), ARGS("ECHO", "hi"));
    assert_args(next_ok(), ARGS("ECHO", "x y"));
    assert_args(next_ok(), ARGS("QUIT"));
    assert_incomplete();
}

// Many inline commands keep the reader's buffer compacted and all come out.
Test(resp, inline_many_commands)
{
    for (int i = 0; i < 2000; i++) {
        char line[64];
        snprintf(line, sizeof(line), "INCR counter:%d\r\n", i);
        feed(line);
        struct request *req = next_ok();
        cr_assert_eq(req->argc, 2);
        char key[32];
        snprintf(key, sizeof(key), "counter:%d", i);
        cr_assert_str_eq(req->argv[1], key);
        request_free(req);
    }
    cr_assert_eq(resp_reader_pending(rd), 0);
}

/* ------------------------------------------------------------------ errors */

// Unbalanced or badly closed quotes are a protocol error.
Test(resp, inline_unbalanced_quotes)
{
    expect("SET \"a b\r\n", "Protocol error: unbalanced quotes in request");
}

// A closing quote followed by a letter is an unbalanced-quotes error.
Test(resp, inline_quote_followed_by_letter)
{
    expect("SET 'a'b\r\n", "Protocol error: unbalanced quotes in request");
}

// An unterminated single quote is an unbalanced-quotes error.
Test(resp, inline_unbalanced_single_quote)
{
    expect("SET 'abc\n", "Protocol error: unbalanced quotes in request");
}

// More than 64 KiB without a newline is a too-big inline request.
Test(resp, inline_too_big)
{
    char *s = malloc(70000);
    memset(s, 'a', 70000);
    resp_reader_feed(rd, s, 65536);
    assert_incomplete();
    resp_reader_feed(rd, s, 70000 - 65536);
    assert_error("Protocol error: too big inline request");
    free(s);
}

// A multibulk count that is not a number is an invalid multibulk length.
Test(resp, multibulk_count_not_a_number)
{
    expect("*abc\r\n", "Protocol error: invalid multibulk length");
}

// A multibulk count with a plus sign is rejected as Redis rejects it.
Test(resp, multibulk_count_with_plus)
{
    expect("*+1\r\n$4\r\nPING\r\n", "Protocol error: invalid multibulk length");
}

// More than 1024*1024 arguments is an invalid multibulk length.
Test(resp, multibulk_count_too_large)
{
    feed("*1048576\r\n");
    assert_incomplete();
    resp_reader_free(rd);
    rd = resp_reader_new(MAX_BULK);
    expect("*1048577\r\n", "Protocol error: invalid multibulk length");
}

// A multibulk count line longer than 64 KiB without CRLF is rejected.
Test(resp, multibulk_count_string_too_big)
{
    char *s = malloc(70001);
    s[0] = '*';
    memset(s + 1, '1', 70000);
    resp_reader_feed(rd, s, 70001);
    assert_error("Protocol error: too big mbulk count string");
    free(s);
}

// A bulk count line longer than 64 KiB without CRLF is rejected.
Test(resp, bulk_count_string_too_big)
{
    char *s = malloc(70005);
    memcpy(s, "*1\r\n$", 5);
    memset(s + 5, '1', 70000);
    resp_reader_feed(rd, s, 70005);
    assert_error("Protocol error: too big bulk count string");
    free(s);
}

// A bulk length that is not a number is an invalid bulk length.
Test(resp, bulk_length_not_a_number)
{
    expect("*1\r\n$abc\r\n", "Protocol error: invalid bulk length");
}

// A negative bulk length inside a request is an invalid bulk length.
Test(resp, bulk_length_negative)
{
    expect("*2\r\n$3\r\nGET\r\n$-1\r\n", "Protocol error: invalid bulk length");
}

// A bulk length below -1 is an invalid bulk length too.
Test(resp, bulk_length_very_negative)
{
    expect("*1\r\n$-7\r\n", "Protocol error: invalid bulk length");
}

// A bulk length arriving in pieces is checked once its CRLF is here.
Test(resp, bulk_length_checked_when_dribbled)
{
    feed("*1\r\n$1");
    assert_incomplete();
    feed("x");
    assert_incomplete();
    feed("\r\n");
    assert_error("Protocol error: invalid bulk length");
}

// A bulk over max_bulk is rejected from its header alone, before the payload.
Test(resp, bulk_over_max_detected_before_payload)
{
    resp_reader_set_max_bulk(rd, 100);
    feed("*2\r\n$3\r\nSET\r\n$100\r\n");
    assert_incomplete();
    resp_reader_free(rd);
    rd = resp_reader_new(100);
    feed("*2\r\n$3\r\nSET\r\n$101\r\n");
    assert_error("Protocol error: invalid bulk length");
}

// A bulk over max_bulk that arrives complete in one read is rejected too.
Test(resp, bulk_over_max_complete_rejected)
{
    resp_reader_set_max_bulk(rd, 3);
    expect("*1\r\n$4\r\nPING\r\n", "Protocol error: invalid bulk length");
}

// A bulk exactly max_bulk long is accepted.
Test(resp, bulk_at_max_accepted)
{
    resp_reader_set_max_bulk(rd, 4);
    feed("*1\r\n$4\r\nPING\r\n");
    assert_args(next_ok(), ARGS("PING"));
}

// An element that is not a bulk string names the byte found instead of '$'.
Test(resp, element_not_a_bulk)
{
    expect("*1\r\n+OK\r\n", "Protocol error: expected '$', got '+'");
}

// An integer element is refused with the expected-'$' error.
Test(resp, element_integer_refused)
{
    feed("*2\r\n$3\r\nGET\r\n");
    assert_incomplete();
    expect(":1\r\n", "Protocol error: expected '$', got ':'");
}

// A garbage byte where an element should start is an expected-'$' error.
Test(resp, element_garbage_byte)
{
    expect("*2\r\n$1\r\na\r\nx\r\n", "Protocol error: expected '$', got 'x'");
}

// A nested array is refused.
Test(resp, nested_array_refused)
{
    expect("*1\r\n*1\r\n$1\r\na\r\n", "Protocol error: expected '$', got '*'");
}

// After a protocol error the reader stays dead and repeats the error.
Test(resp, error_is_sticky)
{
    expect("*x\r\n", "Protocol error: invalid multibulk length");
    feed("*1\r\n$4\r\nPING\r\n");
    assert_error("Protocol error: invalid multibulk length");
    cr_assert_eq(resp_reader_pending(rd), 0);
}

// Freeing a reader holding a half-built request leaks nothing (ASan checks).
Test(resp, free_with_partial_request)
{
    feed("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nva");
    assert_incomplete();
    cr_assert_gt(resp_reader_pending(rd), 0);
}

/* ------------------------------------------------------------------ big bulks, limits */

// A huge bulk header (max_bulk raised) allocates nothing from its header: only what arrived.
Test(resp, huge_bulk_header_allocates_by_arrival)
{
    resp_reader_set_max_bulk(rd, 1LL << 62);
    feed("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000000000\r\nabcdefghij");
    assert_incomplete();
    cr_assert_lt(resp_reader_allocated(rd), 4u << 20, "%zu", resp_reader_allocated(rd));
    cr_assert_eq(resp_reader_pending(rd), 4 + 9 + 7 + 15 + 10);
}

// A big bulk's buffer grows with the bytes received, a bounded chunk ahead of them.
Test(resp, big_bulk_buffer_grows_as_bytes_arrive)
{
    resp_reader_set_max_bulk(rd, 1LL << 62);
    feed("*2\r\n$3\r\nSET\r\n$100000000000\r\n");
    assert_incomplete();
    size_t chunk = 256 * 1024, got = 0;
    char *data = malloc(chunk);
    memset(data, 'v', chunk);
    for (int i = 0; i < 160; i++) { /* 40 MiB */
        resp_reader_feed(rd, data, chunk);
        got += chunk;
        assert_incomplete();
        size_t alloc = resp_reader_allocated(rd);
        cr_assert_geq(alloc, got);
        cr_assert_leq(alloc, got + (got < (16u << 20) ? got : (16u << 20)) + (2u << 20),
                      "%zu allocated for %zu received", alloc, got);
    }
    cr_assert_eq(resp_reader_pending(rd), 4 + 9 + 15 + got);
    free(data);
}

// A big bulk that arrives in one piece with the next request is split correctly.
Test(resp, big_bulk_then_request_in_one_feed)
{
    struct buf in;
    buf_init(&in);
    encode_big(&in, 100000, 40000);
    feed("*1\r\n$4\r\nPING\r\n");
    resp_reader_feed(rd, in.data, in.len);
    assert_args(next_ok(), ARGS("PING"));
    assert_big(next_ok(), 100000, 40000);
    assert_args(next_ok(), ARGS("PING"));
    assert_incomplete();
    cr_assert_eq(resp_reader_pending(rd), 0);
    buf_close(&in);
}

// Two big bulks arriving in pieces, each started before the previous one's CRLF.
Test(resp, two_big_bulks_split_at_every_boundary)
{
    struct buf in;
    buf_init(&in);
    encode_big(&in, 40000, 40000);
    size_t cuts[] = {1, 3, 20, 40020, 40021, 40022, 40030, 80040, 80041, in.len - 3};
    size_t at = 0;
    int got = 0;
    for (size_t i = 0; i <= sizeof(cuts) / sizeof(cuts[0]); i++) {
        size_t to = i < sizeof(cuts) / sizeof(cuts[0]) ? cuts[i] : in.len;
        resp_reader_feed(rd, in.data + at, to - at);
        at = to;
        struct request *req;
        int rc;
        while ((rc = resp_reader_next(rd, &req, errmsg, sizeof(errmsg))) == RESP_OK) {
            if (got++ == 0)
                assert_big(req, 40000, 40000);
            else
                assert_args(req, ARGS("PING"));
        }
        cr_assert_eq(rc, RESP_INCOMPLETE, "%s", errmsg);
    }
    cr_assert_eq(got, 2);
    buf_close(&in);
}

// A max_bulk lowered between requests applies to the next bulk header of the same reader.
Test(resp, max_bulk_change_applies_to_next_header)
{
    feed("*2\r\n$3\r\nSET\r\n$5\r\nhello\r\n");
    assert_args(next_ok(), ARGS("SET", "hello"));
    resp_reader_set_max_bulk(rd, 4);
    expect("*2\r\n$3\r\nSET\r\n$5\r\nhello\r\n", "Protocol error: invalid bulk length");
}

// A bulk header past max_bulk is refused even when it follows a big bulk of the same request.
Test(resp, bulk_over_max_after_big_bulk)
{
    resp_reader_set_max_bulk(rd, 50000);
    feed("*3\r\n$3\r\nSET\r\n$40000\r\n");
    char *v = calloc(1, 40000);
    resp_reader_feed(rd, v, 40000);
    free(v);
    assert_incomplete();
    expect("\r\n$50001\r\n", "Protocol error: invalid bulk length");
}

// Exactly 1024*1024 arguments (Redis's limit) are accepted.
Test(resp, multibulk_at_argument_limit_accepted)
{
    struct buf in;
    buf_init(&in);
    buf_printf(&in, "*1048576\r\n");
    for (int i = 0; i < 1048576; i++)
        buf_append(&in, "$1\r\nx\r\n", 7);
    resp_reader_feed(rd, in.data, in.len);
    struct request *req = next_ok();
    cr_assert_eq(req->argc, 1048576);
    request_free(req);
    buf_close(&in);
}

// An inline line of just under 64 KiB is accepted; the limit counts bytes without a newline.
Test(resp, inline_just_under_limit_accepted)
{
    size_t n = 64 * 1024 - 8;
    char *s = malloc(n + 1);
    memcpy(s, "ECHO ", 5);
    memset(s + 5, 'a', n - 6);
    s[n - 1] = '\n';
    resp_reader_feed(rd, s, n);
    struct request *req = next_ok();
    cr_assert_eq(req->argc, 2);
    cr_assert_eq(req->len[1], n - 6);
    request_free(req);
    free(s);
}

// Requests of every kind interleaved, dribbled in random pieces, come out in order and whole.
Test(resp, mixed_kinds_random_chunks)
{
    struct buf in;
    buf_init(&in);
    for (int i = 0; i < 50; i++) {
        buf_printf(&in, "PING\r\n*2\r\n$4\r\nECHO\r\n$%d\r\n", 33000 + i);
        char *p = buf_reserve(&in, (size_t)(33000 + i));
        memset(p, 'a' + i % 26, (size_t)(33000 + i));
        in.len += (size_t)(33000 + i);
        buf_printf(&in, "\r\n*2\r\n$3\r\nGET\r\n$%d\r\nk%d\r\n", i < 10 ? 2 : 3, i);
    }
    srand(7);
    size_t at = 0;
    int got = 0;
    while (at < in.len) {
        size_t n = (size_t)(rand() % 5000) + 1;
        n = n < in.len - at ? n : in.len - at;
        resp_reader_feed(rd, in.data + at, n);
        at += n;
        struct request *req;
        int rc;
        while ((rc = resp_reader_next(rd, &req, errmsg, sizeof(errmsg))) == RESP_OK) {
            int i = got / 3, kind = got % 3;
            if (kind == 0) {
                cr_assert_str_eq(req->argv[0], "PING");
            } else if (kind == 1) {
                cr_assert_eq(req->len[1], (size_t)(33000 + i));
                cr_assert_eq(req->argv[1][100], 'a' + i % 26);
                cr_assert_eq(req->argv[1][req->len[1]], '\0');
            } else {
                char k[16];
                snprintf(k, sizeof(k), "k%d", i);
                cr_assert_str_eq(req->argv[1], k);
            }
            got++;
            request_free(req);
        }
        cr_assert_eq(rc, RESP_INCOMPLETE, "%s", errmsg);
    }
    cr_assert_eq(got, 150);
    cr_assert_eq(resp_reader_pending(rd), 0);
    buf_close(&in);
}

// Random bytes biased towards protocol characters never crash the reader, and an error sticks.
Test(resp, random_input_is_safe)
{
    static const char alphabet[] = "*$+:-\r\n0123456789 \"'\\xab";
    srand(99);
    for (int round = 0; round < 3000; round++) {
        struct resp_reader *r = resp_reader_new(rand() % 2 ? 64 : MAX_BULK);
        int dead = 0;
        for (int chunk = 0; chunk < 8; chunk++) {
            char in[64];
            size_t n = (size_t)(rand() % (int)sizeof(in)) + 1;
            for (size_t i = 0; i < n; i++)
                in[i] = rand() % 8 ? alphabet[rand() % (int)(sizeof(alphabet) - 1)] : (char)rand();
            resp_reader_feed(r, in, n);
            struct request *req;
            int rc;
            while ((rc = resp_reader_next(r, &req, errmsg, sizeof(errmsg))) == RESP_OK) {
                cr_assert(!dead);
                cr_assert_gt(req->argc, 0);
                request_free(req);
            }
            if (rc == RESP_ERR_PROTOCOL) {
                cr_assert_eq(strncmp(errmsg, "Protocol error: ", 16), 0, "%s", errmsg);
                dead = 1;
            } else {
                cr_assert(!dead);
                cr_assert_eq(rc, RESP_INCOMPLETE);
            }
        }
        resp_reader_free(r);
    }
}

/* ------------------------------------------------------------------ requests */

// request_push grows past the initial capacity and keeps every argument.
Test(resp, request_push_grows)
{
    struct request *req = request_new(1);
    for (int i = 0; i < 100; i++) {
        char a[8];
        request_push(req, a, (size_t)snprintf(a, sizeof(a), "%d", i));
    }
    request_push_owned(req, xmemdup("own", 3), 3);
    cr_assert_eq(req->argc, 101);
    cr_assert_str_eq(req->argv[99], "99");
    cr_assert_str_eq(req->argv[100], "own");
    request_free(req);
    request_free(NULL);
}

// request_set replaces one argument by a copy, even of itself.
Test(resp, request_set_replaces)
{
    struct request *req = request_new(2);
    request_push(req, "set", 3);
    request_push(req, "k", 1);
    request_set(req, 0, "pexpireat", 9);
    request_set(req, 1, req->argv[1], req->len[1]);
    assert_args(req, ARGS("pexpireat", "k"));
}

// request_dup makes a deep copy that outlives the original.
Test(resp, request_dup_is_deep)
{
    struct request *req = request_new(0);
    request_push(req, "a\0b", 3);
    request_push(req, "", 0);
    struct request *d = request_dup(req);
    request_free(req);
    cr_assert_eq(d->argc, 2);
    cr_assert_eq(d->len[0], 3);
    cr_assert_eq(memcmp(d->argv[0], "a\0b", 4), 0);
    cr_assert_eq(d->len[1], 0);
    cr_assert_eq(d->argv[1][0], '\0');
    request_free(d);
}

/* ------------------------------------------------------------------ replies */

static struct buf out;

static void assert_out(const char *expected)
{
    cr_assert_eq(out.len, strlen(expected), "got %zu bytes: %.*s", out.len, (int)out.len, out.data);
    cr_assert_eq(memcmp(out.data, expected, out.len), 0, "got: %.*s", (int)out.len, out.data);
    out.len = 0;
}

// Each reply helper writes the exact RESP2 bytes.
Test(resp, reply_exact_bytes)
{
    buf_init(&out);
    reply_simple(&out, "PONG");
    assert_out("+PONG\r\n");
    reply_ok(&out);
    assert_out("+OK\r\n");
    reply_int(&out, 0);
    assert_out(":0\r\n");
    reply_int(&out, -42);
    assert_out(":-42\r\n");
    reply_int(&out, LLONG_MAX);
    assert_out(":9223372036854775807\r\n");
    reply_int(&out, LLONG_MIN);
    assert_out(":-9223372036854775808\r\n");
    reply_bulk(&out, "a\0b", 3);
    cr_assert_eq(out.len, 9);
    cr_assert_eq(memcmp(out.data, "$3\r\na\0b\r\n", 9), 0);
    out.len = 0;
    reply_bulk(&out, "", 0);
    assert_out("$0\r\n\r\n");
    reply_bulk_cstr(&out, "hello");
    assert_out("$5\r\nhello\r\n");
    reply_bulk_cstr(&out, NULL);
    assert_out("$-1\r\n");
    reply_bulk_ll(&out, -1234567890123LL);
    assert_out("$14\r\n-1234567890123\r\n");
    reply_null(&out);
    assert_out("$-1\r\n");
    reply_null_array(&out);
    assert_out("*-1\r\n");
    reply_array(&out, 3);
    assert_out("*3\r\n");
    reply_array(&out, 0);
    assert_out("*0\r\n");
    buf_close(&out);
}

// Errors get a '-' prefix and CRLF; CR and LF inside become spaces.
Test(resp, reply_errors_exact_bytes)
{
    buf_init(&out);
    reply_error(&out, "ERR bad\r\nthing\n");
    assert_out("-ERR bad  thing \r\n");
    reply_errorf(&out, "ERR %s %d", "x", 5);
    assert_out("-ERR x 5\r\n");
    reply_syntax_error(&out);
    assert_out("-ERR syntax error\r\n");
    reply_not_integer(&out);
    assert_out("-ERR value is not an integer or out of range\r\n");
    reply_wrong_arity(&out, "get");
    assert_out("-ERR wrong number of arguments for 'get' command\r\n");
    reply_wrong_arity(&out, "GeT");
    assert_out("-ERR wrong number of arguments for 'GeT' command\r\n");
    buf_close(&out);
}

// A long formatted error is written whole, not truncated.
Test(resp, reply_errorf_long)
{
    char big[1000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_init(&out);
    reply_errorf(&out, "ERR %s", big);
    cr_assert_eq(out.len, 1 + 4 + 999 + 2);
    cr_assert_eq(out.data[out.len - 3], 'z');
    buf_close(&out);
}

// Replies append: several helpers in a row build one stream.
Test(resp, replies_append)
{
    buf_init(&out);
    reply_array(&out, 2);
    reply_bulk_cstr(&out, "a");
    reply_int(&out, 7);
    assert_out("*2\r\n$1\r\na\r\n:7\r\n");
    buf_close(&out);
}

// RESP3's types fall back to their RESP2 forms in a RESP2 buffer (resp 0, buf_init's).
Test(resp, resp3_helpers_in_resp2)
{
    buf_init(&out);
    reply_map_len(&out, 2);
    assert_out("*4\r\n");
    reply_set_len(&out, 3);
    assert_out("*3\r\n");
    reply_push_len(&out, 3);
    assert_out("*3\r\n");
    reply_double(&out, 1.5);
    assert_out("$3\r\n1.5\r\n");
    reply_double(&out, 0.1);
    assert_out("$19\r\n0.10000000000000001\r\n");
    reply_double(&out, -1.0 / 0.0);
    assert_out("$4\r\n-inf\r\n");
    reply_bool(&out, 1);
    assert_out(":1\r\n");
    reply_bool(&out, 0);
    assert_out(":0\r\n");
    reply_verbatim(&out, "a:b\r\n", 5);
    assert_out("$5\r\na:b\r\n\r\n");
    reply_bignum(&out, "12345678901234567890");
    assert_out("$20\r\n12345678901234567890\r\n");
    reply_pairs_len(&out, 2);
    reply_pair(&out);
    assert_out("*4\r\n");
    buf_close(&out);
}

// In a RESP3 buffer each helper writes Redis 7.0's RESP3 bytes; nulls are _.
Test(resp, resp3_helpers_in_resp3)
{
    buf_init(&out);
    out.resp = RESP3;
    reply_map_len(&out, 2);
    assert_out("%2\r\n");
    reply_set_len(&out, 3);
    assert_out("~3\r\n");
    reply_push_len(&out, 3);
    assert_out(">3\r\n");
    reply_double(&out, 2.5);
    assert_out(",2.5\r\n");
    reply_double(&out, 1.0 / 0.0);
    assert_out(",inf\r\n");
    reply_bool(&out, 1);
    assert_out("#t\r\n");
    reply_bool(&out, 0);
    assert_out("#f\r\n");
    reply_verbatim(&out, "x=1", 3);
    assert_out("=7\r\ntxt:x=1\r\n");
    reply_bignum(&out, "-99");
    assert_out("(-99\r\n");
    reply_null(&out);
    assert_out("_\r\n");
    reply_null_array(&out);
    assert_out("_\r\n");
    reply_bulk_cstr(&out, NULL);
    assert_out("_\r\n");
    reply_pairs_len(&out, 2);
    reply_pair(&out);
    assert_out("*2\r\n*2\r\n");
    reply_array(&out, 1);
    reply_int(&out, 3);
    assert_out("*1\r\n:3\r\n"); /* the RESP2 types are RESP3's too */
    buf_close(&out);
    cr_assert_eq(out.resp, RESP2, "buf_close leaves a RESP2 buffer");
}

/* A reply using every helper, written into OUT in OUT's protocol. */
static void build_mixed(struct buf *o)
{
    reply_array(o, 12);
    reply_map_len(o, 1);
    reply_bulk_cstr(o, "k");
    reply_set_len(o, 2);
    reply_bulk(o, "%2\r\n$-1\r\n", 9); /* payload that looks like RESP stays as it is */
    reply_null(o);
    reply_null_array(o);
    reply_double(o, -0.25);
    reply_bool(o, 1);
    reply_verbatim(o, "line1\r\nline2", 12);
    reply_bignum(o, "1234567890123456789012");
    reply_pairs_len(o, 2);
    reply_pair(o);
    reply_bulk_cstr(o, "m1");
    reply_double(o, 1);
    reply_pair(o);
    reply_bulk_cstr(o, "m2");
    reply_double(o, 2);
    reply_push_len(o, 1);
    reply_simple(o, "OK");
    reply_error(o, "ERR x");
    reply_int(o, -7);
    reply_array(o, 0);
}

// reply_convert turns apply's form into exactly what the helpers write directly, in either
// protocol: a write answers as a read would.
Test(resp, convert_apply_form_equals_direct)
{
    struct buf apply, direct, conv;
    buf_init(&apply);
    apply.resp = RESP_APPLY;
    build_mixed(&apply);
    for (int proto = 0; proto < 2; proto++) {
        buf_init(&direct);
        buf_init(&conv);
        direct.resp = conv.resp = proto ? RESP3 : RESP2;
        build_mixed(&direct);
        reply_convert(&conv, apply.data, apply.len);
        cr_assert_eq(conv.len, direct.len, "proto %d: %.*s vs %.*s", proto, (int)conv.len,
                     conv.data, (int)direct.len, direct.data);
        cr_assert_eq(memcmp(conv.data, direct.data, conv.len), 0, "proto %d", proto);
        buf_close(&direct);
        buf_close(&conv);
    }
    /* to apply's own form: a copy */
    buf_init(&conv);
    conv.resp = RESP_APPLY;
    reply_convert(&conv, apply.data, apply.len);
    cr_assert_eq(conv.len, apply.len);
    cr_assert_eq(memcmp(conv.data, apply.data, conv.len), 0);
    buf_close(&conv);
    buf_close(&apply);
}

// Plain RESP2 converts to RESP2 unchanged, and to RESP3 with only its nulls changed.
Test(resp, convert_resp2_input)
{
    const char *in = "*3\r\n$-1\r\n*-1\r\n$4\r\n*-1\r\n\r\n+OK\r\n:1\r\n";
    buf_init(&out);
    reply_convert(&out, in, strlen(in));
    assert_out(in);
    out.resp = RESP3;
    reply_convert(&out, in, strlen(in));
    assert_out("*3\r\n_\r\n_\r\n$4\r\n*-1\r\n\r\n+OK\r\n:1\r\n");
    buf_close(&out);
}

// A truncated value (never produced by apply) is passed on as it is, never read past.
Test(resp, convert_truncated_input)
{
    buf_init(&out);
    out.resp = RESP3;
    reply_convert(&out, "$10\r\nabc", 8);
    assert_out("$10\r\nabc");
    reply_convert(&out, "%2", 2);
    assert_out("%2");
    buf_close(&out);
}
