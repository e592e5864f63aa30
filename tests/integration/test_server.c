/* Integration tests of the RESP front end: one real server process per test, on free loopback
 * ports in a temp dir. Expected texts are Redis 7.0's: CONCORDKV_TEST_REDIS=1 runs them against
 * redis-server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture.h"

#define READ_MS 5000

TestSuite(server, .fini = fx_kill_all, .timeout = 60);

static struct fx_server *srv;

static void start(const char *const *extra)
{
    srv = fx_server_up(extra);
}

static void stop(void)
{
    fx_server_free(srv);
    srv = NULL;
}

/* The server answers PING on a fresh connection. */
static bool server_answers(void *arg)
{
    int port = *(int *)arg;
    redisContext *c = fx_try_connect(port);
    redisReply *r;
    bool ok;

    if (c == NULL)
        return false;
    r = redisCommand(c, "PING");
    ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r != NULL)
        freeReplyObject(r);
    redisFree(c);
    return ok;
}

static void assert_server_fine(void)
{
    cr_assert(fx_server_alive(srv), "the server died");
    cr_assert(server_answers(&srv->port), "the server no longer answers PING");
}

/* 10,000 pipelined SET/GET commands are all answered, in order, correctly. */
Test(server, pipeline_10000_commands_in_order)
{
    redisContext *c;
    redisReply *r;
    char val[32];

    start(NULL);
    c = fx_connect(srv->port);
    for (int i = 0; i < 5000; i++) {
        redisAppendCommand(c, "SET key:%d val:%d", i % 1000, i);
        redisAppendCommand(c, "GET key:%d", i % 1000);
    }
    for (int i = 0; i < 5000; i++) {
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", 2 * i, c->errstr);
        fx_assert_status(r, "OK");
        freeReplyObject(r);
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", 2 * i + 1, c->errstr);
        snprintf(val, sizeof(val), "val:%d", i);
        fx_assert_string(r, val);
        freeReplyObject(r);
    }
    fx_check_integer(c, 1000, "DBSIZE");
    redisFree(c);
    stop();
}

/* A multibulk command that arrives one byte per segment is executed once, when complete. */
Test(server, multibulk_one_byte_at_a_time)
{
    static const char set[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$11\r\nhello world\r\n";
    static const char get[] = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    int fd;

    start(NULL);
    fd = fx_raw_connect(srv->port);
    for (size_t i = 0; i < sizeof(set) - 2; i++) {
        cr_assert(fx_raw_send(fd, set + i, 1) == 0);
        cr_assert(fx_raw_nothing_pending(fd), "a reply came before the command was complete");
    }
    cr_assert(fx_raw_send(fd, set + sizeof(set) - 2, 1) == 0);
    fx_raw_expect(fd, "+OK\r\n", READ_MS);
    for (size_t i = 0; i < sizeof(get) - 1; i++)
        cr_assert(fx_raw_send(fd, get + i, 1) == 0);
    fx_raw_expect(fd, "$11\r\nhello world\r\n", READ_MS);
    close(fd);
    stop();
}

/* Inline commands work, with quoted arguments, escapes and bare \n line ends. */
Test(server, inline_commands)
{
    int fd;

    start(NULL);
    fd = fx_raw_connect(srv->port);
    fx_raw_send_str(fd, "PING\r\n");
    fx_raw_expect(fd, "+PONG\r\n", READ_MS);
    fx_raw_send_str(fd, "SET a b\r\n");
    fx_raw_expect(fd, "+OK\r\n", READ_MS);
    fx_raw_send_str(fd, "GET a\r\n");
    fx_raw_expect(fd, "$1\r\nb\r\n", READ_MS);
    fx_raw_send_str(fd, "SET \"hello world\" \"x\\x41y\\n\"\r\n");
    fx_raw_expect(fd, "+OK\r\n", READ_MS);
    fx_raw_send_str(fd, "GET 'hello world'\r\n");
    fx_raw_expect(fd, "$4\r\nxAy\n\r\n", READ_MS);
    fx_raw_send_str(fd, "  SET   c    d  \r\n\r\nGET c\n");
    fx_raw_expect(fd, "+OK\r\n$1\r\nd\r\n", READ_MS);
    close(fd);
    stop();
}

/* Send BYTES on a fresh raw connection and expect exactly REPLY, then a closed connection. */
static void expect_protocol_error(const char *bytes, const char *reply)
{
    int fd = fx_raw_connect(srv->port);

    cr_assert(fx_raw_send_str(fd, bytes) == 0);
    fx_raw_expect(fd, reply, READ_MS);
    cr_assert(fx_raw_wait_closed(fd, READ_MS), "the connection stayed open after: %s", reply);
    close(fd);
}

/* Malformed requests get "-ERR Protocol error: ..." and lose their connection; others do not. */
Test(server, malformed_protocol_closes_only_that_connection)
{
    redisContext *other;

    start(NULL);
    other = fx_connect(srv->port);
    fx_check_status(other, "OK", "SET survivor yes");
    expect_protocol_error("*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    expect_protocol_error("*3\r\n$3\r\nSET\r\n+ab\r\n",
                          "-ERR Protocol error: expected '$', got '+'\r\n");
    expect_protocol_error("*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
    expect_protocol_error("SET \"abc\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n");
    /* Commands before the bad one in the same packet are still answered. */
    expect_protocol_error("PING\r\n*1\r\n$-5\r\n",
                          "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
    fx_check_string(other, "yes", "GET survivor");
    redisFree(other);
    stop();
}

/* An inline request longer than 64 KiB without a line end is a protocol error. */
Test(server, inline_request_too_big)
{
    char *big = malloc(100000 + 1);
    int fd;

    start(NULL);
    memset(big, 'x', 100000);
    big[100000] = '\0';
    fd = fx_raw_connect(srv->port);
    fx_raw_send_str(fd, big); /* may fail part-way once the server closes */
    fx_raw_expect(fd, "-ERR Protocol error: too big inline request\r\n", READ_MS);
    cr_assert(fx_raw_wait_closed(fd, READ_MS));
    close(fd);
    free(big);
    assert_server_fine();
    stop();
}

/* A bulk length above proto-max-bulk-len is a protocol error; one at the limit is accepted. */
Test(server, bulk_longer_than_proto_max_bulk_len)
{
    const char *const args[] = {"--proto-max-bulk-len", "1mb", NULL};
    size_t n = 1024 * 1024;
    char *val = malloc(n);
    redisContext *c;
    redisReply *r;

    start(args);
    expect_protocol_error("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n",
                          "-ERR Protocol error: invalid bulk length\r\n");
    expect_protocol_error("*1\r\n$1048577\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    assert_server_fine();
    memset(val, 'v', n);
    c = fx_connect(srv->port);
    r = fx_cmd(c, "SET big %b", val, n);
    fx_assert_status(r, "OK");
    freeReplyObject(r);
    fx_check_integer(c, (long long)n, "STRLEN big");
    redisFree(c);
    free(val);
    stop();
}

/* A client whose unparsed input passes client-query-buffer-limit is closed; the server is fine. */
Test(server, client_query_buffer_limit_closes_client)
{
    const char *const args[] = {"--client-query-buffer-limit", "1mb", NULL};
    size_t n = 2 * 1024 * 1024;
    char *body = malloc(n);
    char buf[256];
    struct fx_raw_result res;
    int fd;

    start(args);
    memset(body, 'x', n);
    fd = fx_raw_connect(srv->port);
    cr_assert(fx_raw_send_str(fd, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4000000\r\n") == 0);
    fx_raw_send(fd, body, n); /* the server may close before taking it all */
    res = fx_raw_read(fd, buf, sizeof(buf), 0, NULL, READ_MS);
    cr_assert(res.eof, "the connection was not closed");
    cr_assert(res.len == 0 || buf[0] == '-', "unexpected reply: %s", buf);
    close(fd);
    free(body);
    assert_server_fine();
    stop();
}

/* With maxclients 2 the third connection is refused with an error and closed. */
Test(server, maxclients_refuses_extra_connection)
{
    const char *const args[] = {"--maxclients", "2", NULL};
    redisContext *a, *b;
    int fd;

    start(args);
    a = fx_connect(srv->port);
    b = fx_connect(srv->port);
    fx_check_status(a, "PONG", "PING");
    fx_check_status(b, "PONG", "PING");
    fd = fx_raw_connect(srv->port);
    fx_raw_expect(fd, "-ERR max number of clients reached\r\n", READ_MS);
    cr_assert(fx_raw_wait_closed(fd, READ_MS));
    close(fd);
    fx_check_status(a, "PONG", "PING");
    redisFree(a);
    /* The freed slot becomes usable once the server has noticed the close. */
    cr_assert(fx_wait_until(server_answers, &srv->port, 5000));
    redisFree(b);
    stop();
}

/* A client that sends a pipeline and disconnects without reading does not hurt the server. */
Test(server, client_disconnects_mid_pipeline)
{
    size_t vlen = 100 * 1024, cap = 1 << 20, len = 0;
    char *val = malloc(vlen), *pipe = malloc(cap);
    redisContext *c;
    redisReply *r;
    int fd;

    start(NULL);
    memset(val, 'p', vlen);
    c = fx_connect(srv->port);
    r = fx_cmd(c, "SET big %b", val, vlen);
    fx_assert_status(r, "OK");
    freeReplyObject(r);
    for (int i = 0; i < 1000; i++)
        len += (size_t)snprintf(pipe + len, cap - len,
                                "*3\r\n$3\r\nSET\r\n$6\r\nk:%04d\r\n$1\r\nv\r\n", i);
    /* 100 GETs of 100 KiB: ~10 MB of replies nobody will read. */
    for (int i = 0; i < 100; i++)
        len += (size_t)snprintf(pipe + len, cap - len, "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
    for (int round = 0; round < 3; round++) {
        fd = fx_raw_connect(srv->port);
        fx_raw_send(fd, pipe, len);
        close(fd);
    }
    fx_check_status(c, "PONG", "PING");
    fx_check_integer(c, (long long)vlen, "STRLEN big");
    assert_server_fine();
    redisFree(c);
    free(val);
    free(pipe);
    stop();
}

/* With requirepass, commands need AUTH; wrong passwords are refused with Redis's texts. */
Test(server, auth_with_requirepass)
{
    const char *const args[] = {"--requirepass", "s3cret", NULL};
    redisContext *c;

    start(args);
    c = fx_connect(srv->port);
    fx_check_error(c, "NOAUTH Authentication required.", "GET a");
    fx_check_error(c, "NOAUTH Authentication required.", "PING");
    fx_check_error(c, "WRONGPASS invalid username-password pair or user is disabled.",
                   "AUTH wrong");
    fx_check_error(c, "NOAUTH Authentication required.", "SET a b");
    fx_check_error(c, "ERR wrong number of arguments for 'auth' command", "AUTH");
    fx_check_status(c, "OK", "AUTH s3cret");
    fx_check_status(c, "OK", "SET a b");
    fx_check_string(c, "b", "GET a");
    redisFree(c);
    /* Authentication is per connection. */
    c = fx_connect(srv->port);
    fx_check_error(c, "NOAUTH Authentication required.", "GET a");
    redisFree(c);
    stop();
}

/* AUTH without a configured password is an error that says so. */
Test(server, auth_without_password_configured)
{
    redisContext *c;

    start(NULL);
    c = fx_connect(srv->port);
    fx_check_error(c,
                   "ERR AUTH <password> called without any password configured for the default "
                   "user. Are you sure your configuration is correct?",
                   "AUTH whatever");
    fx_check_status(c, "PONG", "PING");
    redisFree(c);
    stop();
}

/* Unknown commands are reported with the name as sent and up to 128 characters of arguments. */
Test(server, unknown_command_text)
{
    char big[201], expect[400];
    redisContext *c;

    start(NULL);
    c = fx_connect(srv->port);
    fx_check_error(c, "ERR unknown command 'foo', with args beginning with: 'a' 'b' ", "foo a b");
    fx_check_error(c, "ERR unknown command 'FOO', with args beginning with: ", "FOO");
    memset(big, 'x', 200);
    big[200] = '\0';
    snprintf(expect, sizeof(expect),
             "ERR unknown command 'foo', with args beginning with: '%.128s' ", big);
    fx_check_error(c, expect, "foo %s y", big);
    redisFree(c);
    stop();
}

/* Wrong arity names the command in lower case. */
Test(server, wrong_arity_text)
{
    redisContext *c;

    start(NULL);
    c = fx_connect(srv->port);
    fx_check_error(c, "ERR wrong number of arguments for 'get' command", "GET");
    fx_check_error(c, "ERR wrong number of arguments for 'get' command", "get a b");
    fx_check_error(c, "ERR wrong number of arguments for 'set' command", "SET k");
    fx_check_error(c, "ERR wrong number of arguments for 'incr' command", "INCR");
    fx_check_status(c, "PONG", "PING");
    redisFree(c);
    stop();
}

/* QUIT answers +OK, then the server closes the connection; later pipelined commands are dropped. */
Test(server, quit_closes_connection)
{
    char buf[256];
    struct fx_raw_result res;
    int fd;

    start(NULL);
    fd = fx_raw_connect(srv->port);
    fx_raw_send_str(fd, "PING\r\nQUIT\r\nSET after quit\r\n");
    res = fx_raw_read(fd, buf, sizeof(buf), 0, NULL, READ_MS);
    cr_assert(res.eof, "the connection stayed open after QUIT");
    cr_assert_str_eq(buf, "+PONG\r\n+OK\r\n");
    close(fd);
    {
        redisContext *c = fx_connect(srv->port);
        fx_check_nil(c, "GET after");
        redisFree(c);
    }
    stop();
}

/* A 1 MiB binary value comes back byte for byte. */
Test(server, large_value_round_trip)
{
    size_t n = 1024 * 1024;
    unsigned char *val = malloc(n);
    redisContext *c;
    redisReply *r;

    start(NULL);
    for (size_t i = 0; i < n; i++)
        val[i] = (unsigned char)((i * 2654435761u) >> 13);
    val[0] = '\0';
    val[n - 1] = '\n';
    c = fx_connect(srv->port);
    r = fx_cmd(c, "SET %b %b", "bin\0key", (size_t)7, val, n);
    fx_assert_status(r, "OK");
    freeReplyObject(r);
    r = fx_cmd(c, "GET %b", "bin\0key", (size_t)7);
    cr_assert(r->type == REDIS_REPLY_STRING && r->len == n);
    cr_assert(memcmp(r->str, val, n) == 0, "the value changed on the way");
    freeReplyObject(r);
    redisFree(c);
    free(val);
    stop();
}

/* Only database 0 exists. */
Test(server, select_within_databases)
{
    const char *const one[] = {"--databases", "1", NULL};
    redisContext *c;

    start(NULL);
    c = fx_connect(srv->port);
    fx_check_status(c, "OK", "SELECT 15");
    fx_check_error(c, "ERR DB index is out of range", "SELECT 16");
    fx_check_error(c, "ERR DB index is out of range", "SELECT -1");
    fx_check_error(c, "ERR value is not an integer or out of range", "SELECT x");
    fx_check_status(c, "OK", "SELECT 0");
    redisFree(c);
    stop();
    start(one); /* databases 1: database 0 only */
    c = fx_connect(srv->port);
    fx_check_error(c, "ERR DB index is out of range", "SELECT 1");
    fx_check_status(c, "OK", "SELECT 0");
    redisFree(c);
    stop();
}

/* MULTI/EXEC runs queued commands; WATCH aborts EXEC when another client changed the key. */
Test(server, multi_exec_watch)
{
    redisContext *a, *b;
    redisReply *r;

    start(NULL);
    a = fx_connect(srv->port);
    b = fx_connect(srv->port);
    fx_check_status(a, "OK", "MULTI");
    fx_check_status(a, "QUEUED", "SET n 1");
    fx_check_status(a, "QUEUED", "INCR n");
    r = fx_cmd(a, "EXEC");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    fx_assert_status(r->element[0], "OK");
    fx_assert_integer(r->element[1], 2);
    freeReplyObject(r);

    fx_check_status(a, "OK", "WATCH n");
    fx_check_integer(b, 3, "INCR n");
    fx_check_status(a, "OK", "MULTI");
    fx_check_status(a, "QUEUED", "SET n 100");
    fx_check_nil(a, "EXEC");
    fx_check_string(a, "3", "GET n");

    /* An untouched watched key lets EXEC through. */
    fx_check_status(a, "OK", "WATCH n");
    fx_check_status(a, "OK", "MULTI");
    fx_check_status(a, "QUEUED", "SET n 100");
    r = fx_cmd(a, "EXEC");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    freeReplyObject(r);
    fx_check_string(b, "100", "GET n");

    fx_check_status(a, "OK", "MULTI");
    fx_check_error(a, "ERR unknown command 'nosuch', with args beginning with: 'x' ", "nosuch x");
    fx_check_status(a, "QUEUED", "SET n 5");
    fx_check_error(a, "EXECABORT Transaction discarded because of previous errors.", "EXEC");
    fx_check_string(a, "100", "GET n");

    fx_check_error(a, "ERR EXEC without MULTI", "EXEC");
    fx_check_error(a, "ERR DISCARD without MULTI", "DISCARD");
    fx_check_status(a, "OK", "MULTI");
    fx_check_error(a, "ERR MULTI calls can not be nested", "MULTI");
    fx_check_status(a, "OK", "DISCARD");
    redisFree(a);
    redisFree(b);
    stop();
}

struct key_probe {
    redisContext *c;
    const char *key;
};

static bool key_gone(void *arg)
{
    struct key_probe *p = arg;
    redisReply *r = fx_cmd(p->c, "EXISTS %s", p->key);
    bool gone = r->type == REDIS_REPLY_INTEGER && r->integer == 0;

    freeReplyObject(r);
    return gone;
}

/* A key given PEXPIRE 100 disappears, not before 100 ms, observed by polling. */
Test(server, pexpire_expires_key)
{
    struct key_probe p;
    redisContext *c;
    redisReply *r;
    int64_t t0;

    start(NULL);
    c = fx_connect(srv->port);
    fx_check_status(c, "OK", "SET temp v");
    t0 = fx_now_ms();
    fx_check_integer(c, 1, "PEXPIRE temp 100");
    r = fx_cmd(c, "PTTL temp");
    cr_assert(r->type == REDIS_REPLY_INTEGER && r->integer > 0 && r->integer <= 100,
              "PTTL %lld", r->integer);
    freeReplyObject(r);
    p.c = c;
    p.key = "temp";
    cr_assert(fx_wait_until(key_gone, &p, 5000), "the key never expired");
    cr_assert(fx_now_ms() - t0 >= 100, "the key expired early");
    fx_check_nil(c, "GET temp");
    fx_check_integer(c, -2, "PTTL temp");
    fx_check_integer(c, 0, "PEXPIRE temp 100");
    redisFree(c);
    stop();
}
