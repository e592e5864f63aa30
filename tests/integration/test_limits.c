/* Integration tests of the server's resource limits, one real server per test: bulks that
 * claim a huge length, proto-max-bulk-len changed at run time, a slow reader (back-pressure
 * and client-output-buffer-limit), running out of file descriptors (maxclients fitted to
 * RLIMIT_NOFILE, accept backoff), and HTTP sent to the RESP port. Memory and CPU come from
 * /proc/PID; every wait polls with a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture.h"

#define READ_MS 10000
#define RSS_BOUND_KB (300 * 1024)

TestSuite(limits, .fini = fx_kill_all, .timeout = 120);

static struct fx_server *srv;

static void start(const char *const *extra)
{
    if (fx_redis_mode())
        cr_skip_test("ConcordKV's own limits and logs");
    srv = fx_server_up(extra);
}

/* ---------------------------------------------------------------- helpers */

/* VmRSS of PID in kB, or -1. */
static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* utime + stime of PID in seconds, or -1. */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    /* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* How many times TEXT occurs in S's log. */
static int log_count(const struct fx_server *s, const char *text)
{
    FILE *f = fopen(s->log_path, "r");
    if (f == NULL)
        return 0;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, text) != NULL)
            n++;
    fclose(f);
    return n;
}

struct log_wait {
    const struct fx_server *s;
    const char *text;
};

static bool log_has(void *arg)
{
    struct log_wait *w = arg;
    return log_count(w->s, w->text) > 0;
}

static void assert_log_soon(const struct fx_server *s, const char *text)
{
    struct log_wait w = {s, text};
    if (!fx_wait_until(log_has, &w, READ_MS)) {
        fx_server_dump_log(s);
        cr_assert_fail("the log never said: %s", text);
    }
}

static bool server_answers(void *arg)
{
    int port = *(int *)arg;
    redisContext *c = fx_try_connect(port);
    if (c == NULL)
        return false;
    redisReply *r = redisCommand(c, "PING");
    bool ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r != NULL)
        freeReplyObject(r);
    redisFree(c);
    return ok;
}

static void assert_server_fine(void)
{
    cr_assert(fx_server_alive(srv), "the server died");
    cr_assert(fx_wait_until(server_answers, &srv->port, READ_MS), "the server no longer answers PING");
}

static void set_send_timeout(int fd, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void config_set(redisContext *c, const char *name, const char *value)
{
    redisReply *r = fx_cmd(c, "CONFIG SET %s %s", name, value);
    fx_assert_status(r, "OK");
    freeReplyObject(r);
}

/* ---------------------------------------------------------------- huge bulks */

// A "$100000000000" header with proto-max-bulk-len raised allocates nothing up front: the
// bulk grows with the bytes received until client-query-buffer-limit (changed at run time,
// after the connection opened) closes the client; the server's RSS stays bounded.
Test(limits, huge_bulk_header_grows_until_query_buffer_limit)
{
    start(NULL);
    int fd = fx_raw_connect(srv->port);
    fx_raw_send_str(fd, "PING\r\n");
    fx_raw_expect(fd, "+PONG\r\n", READ_MS);
    redisContext *c = fx_connect(srv->port);
    config_set(c, "proto-max-bulk-len", "4611686018427387904");
    config_set(c, "client-query-buffer-limit", "64mb");

    cr_assert(fx_raw_send_str(fd, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000000000\r\n") == 0);
    set_send_timeout(fd, READ_MS);
    size_t chunk = 1 << 20, sent = 0;
    char *data = malloc(chunk);
    memset(data, 'x', chunk);
    long max_rss = 0;
    int rc = 0;
    while (sent < (200u << 20) && (rc = fx_raw_send(fd, data, chunk)) == 0) {
        sent += chunk;
        long kb = rss_kb(srv->pid);
        max_rss = kb > max_rss ? kb : max_rss;
        cr_assert_lt(kb, RSS_BOUND_KB, "RSS %ld kB after %zu bytes of the bulk", kb, sent);
    }
    free(data);
    cr_assert_neq(rc, 0, "200 MB of a bulk were taken past a 64 MB client-query-buffer-limit");
    cr_assert_neq(rc, -EAGAIN, "the server stopped reading without closing the client");
    cr_assert(fx_raw_wait_closed(fd, READ_MS));
    close(fd);
    assert_log_soon(srv, "client-query-buffer-limit");
    fx_check_status(c, "PONG", "PING");
    redisFree(c);
    assert_server_fine();
    cr_log_info("max RSS %ld kB while %zu bytes of the bulk were sent", max_rss, sent);
    fx_server_free(srv);
}

// CONFIG SET proto-max-bulk-len reaches a connection opened before it: its next bulk header
// over the new limit is a protocol error.
Test(limits, proto_max_bulk_len_set_at_run_time_reaches_open_connection)
{
    start(NULL);
    int fd = fx_raw_connect(srv->port);
    fx_raw_send_str(fd, "PING\r\n");
    fx_raw_expect(fd, "+PONG\r\n", READ_MS);
    redisContext *c = fx_connect(srv->port);
    config_set(c, "proto-max-bulk-len", "1mb");
    fx_raw_send_str(fd, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n");
    fx_raw_expect(fd, "-ERR Protocol error: invalid bulk length\r\n", READ_MS);
    cr_assert(fx_raw_wait_closed(fd, READ_MS));
    close(fd);
    /* A bulk at the new limit is still accepted. */
    char *v = malloc(1 << 20);
    memset(v, 'v', 1 << 20);
    redisReply *r = fx_cmd(c, "SET k %b", v, (size_t)(1 << 20));
    fx_assert_status(r, "OK");
    freeReplyObject(r);
    free(v);
    redisFree(c);
    fx_server_free(srv);
}

/* ---------------------------------------------------------------- slow readers */

#define VALUE_LEN (1 << 20)

static void set_big_value(redisContext *c)
{
    char *v = malloc(VALUE_LEN);
    memset(v, 'b', VALUE_LEN);
    redisReply *r = fx_cmd(c, "SET big %b", v, (size_t)VALUE_LEN);
    fx_assert_status(r, "OK");
    freeReplyObject(r);
    free(v);
}

/* Send N pipelined "GET big" on FD without ever reading; stop early if the server stops
 * taking them for long. Checks RSS at each step and that OTHER gets PING answered. Returns
 * the largest RSS seen (kB). */
static long slow_reader_send(int fd, int n, redisContext *other)
{
    static const char get[] = "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
    size_t len = sizeof(get) - 1, total = len * (size_t)n, sent = 0;
    char *all = malloc(total);
    for (int i = 0; i < n; i++)
        memcpy(all + len * (size_t)i, get, len);
    long max_rss = 0;
    int64_t idle_since = fx_now_ms();
    int pings = 0;
    while (sent < total && fx_now_ms() - idle_since < 3000) {
        ssize_t k = send(fd, all + sent, total - sent < 4096 ? total - sent : 4096,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k > 0) {
            sent += (size_t)k;
            idle_since = fx_now_ms();
        } else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            break; /* closed by the server */
        }
        long kb = rss_kb(srv->pid);
        max_rss = kb > max_rss ? kb : max_rss;
        cr_assert_lt(kb, RSS_BOUND_KB, "RSS %ld kB after %zu of %zu bytes of GETs", kb, sent, total);
        if (other != NULL && (k <= 0 || pings++ % 64 == 0))
            fx_check_status(other, "PONG", "PING"); /* within the normal command timeout */
        if (k <= 0)
            usleep(10 * 1000);
    }
    free(all);
    return max_rss;
}

// A client pipelining GETs of a 1 MB value without reading holds the server's memory to a
// bound (back-pressure, with the default client-output-buffer-limit "normal 0 0 0"), and
// other clients are served meanwhile.
Test(limits, slow_reader_memory_bounded_with_default_limits)
{
    start(NULL);
    redisContext *c = fx_connect(srv->port);
    set_big_value(c);
    int fd = fx_raw_connect(srv->port);
    long max_rss = slow_reader_send(fd, 5000, c);
    /* Let everything already dispatched complete, then look again. */
    for (int i = 0; i < 50; i++) {
        fx_check_status(c, "PONG", "PING");
        long kb = rss_kb(srv->pid);
        max_rss = kb > max_rss ? kb : max_rss;
        cr_assert_lt(kb, RSS_BOUND_KB, "RSS %ld kB", kb);
        usleep(20 * 1000);
    }
    cr_log_info("max RSS %ld kB with a slow reader", max_rss);
    /* The slow reader still gets its replies, in order, once it reads. */
    char head[64];
    struct fx_raw_result res = fx_raw_read(fd, head, sizeof(head), 12, NULL, READ_MS);
    cr_assert_geq(res.len, 12);
    cr_assert_eq(strncmp(head, "$1048576\r\nbb", 12), 0);
    close(fd);
    redisFree(c);
    assert_server_fine();
    fx_server_free(srv);
}

// Past the hard client-output-buffer-limit a slow reader is closed with Redis's log line,
// and its memory is returned; others are unaffected.
Test(limits, output_hard_limit_closes_slow_reader)
{
    start(NULL);
    redisContext *c = fx_connect(srv->port);
    set_big_value(c);
    config_set(c, "client-output-buffer-limit", "normal 8mb 0 0");
    redisReply *r = fx_cmd(c, "CONFIG GET client-output-buffer-limit");
    cr_assert_eq(r->elements, 2);
    cr_assert_str_eq(r->element[1]->str, "normal 8388608 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    freeReplyObject(r);
    int fd = fx_raw_connect(srv->port);
    slow_reader_send(fd, 200, c);
    assert_log_soon(srv, "scheduled to be closed ASAP for overcoming of output buffer limits.");
    cr_assert(fx_raw_wait_closed(fd, READ_MS));
    close(fd);
    fx_check_status(c, "PONG", "PING");
    /* A client reading its replies as they come is not closed by the same limit. */
    for (int i = 0; i < 20; i++) {
        r = fx_cmd(c, "GET big");
        cr_assert_eq(r->len, VALUE_LEN);
        freeReplyObject(r);
    }
    cr_assert_eq(log_count(srv, "for overcoming of output buffer limits"), 1);
    redisFree(c);
    assert_server_fine();
    fx_server_free(srv);
}

// Above the soft client-output-buffer-limit for longer than its seconds, a slow reader that
// has stopped producing output (paused by back-pressure) is closed too.
Test(limits, output_soft_limit_closes_after_its_seconds)
{
    start(NULL);
    redisContext *c = fx_connect(srv->port);
    set_big_value(c);
    config_set(c, "client-output-buffer-limit", "normal 0 4mb 1");
    int fd = fx_raw_connect(srv->port);
    slow_reader_send(fd, 40, NULL);
    assert_log_soon(srv, "scheduled to be closed ASAP for overcoming of output buffer limits.");
    cr_assert(fx_raw_wait_closed(fd, READ_MS));
    close(fd);
    redisFree(c);
    assert_server_fine();
    fx_server_free(srv);
}

// Malformed client-output-buffer-limit values are refused with Redis's errors, changing
// nothing; classes not named keep their limits.
Test(limits, output_buffer_limit_config_errors)
{
    start(NULL);
    redisContext *c = fx_connect(srv->port);
    fx_check_error(c, "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration.",
                   "CONFIG SET client-output-buffer-limit %s", "normal 1mb 1mb");
    fx_check_error(c, "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration.",
                   "CONFIG SET client-output-buffer-limit %s", "normal 1mb 1mb 1 master 1 1 1");
    fx_check_error(c, "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration.",
                   "CONFIG SET client-output-buffer-limit %s", "normal 1mb 1mb -1");
    config_set(c, "client-output-buffer-limit", "pubsub 1mb 512kb 5 replica 2mb 1mb 9");
    redisReply *r = fx_cmd(c, "CONFIG GET client-output-buffer-limit");
    cr_assert_str_eq(r->element[1]->str, "normal 0 0 0 slave 2097152 1048576 9 pubsub 1048576 524288 5");
    freeReplyObject(r);
    redisFree(c);
    fx_server_free(srv);
}

/* ---------------------------------------------------------------- file descriptors */

/* A script that runs the server under "ulimit -n LIMIT" (soft and hard), as
 * CONCORDKV_SERVER for this test process. Returns its directory (caller removes it). */
static char *wrap_server_with_ulimit(int limit)
{
    char *dir = fx_tmpdir_new("limits-wrap");
    char path[512];
    snprintf(path, sizeof(path), "%s/server.sh", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "#!/bin/sh\nulimit -n %d || exit 99\nexec '%s' \"$@\"\n", limit, fx_server_binary());
    fclose(f);
    chmod(path, 0755);
    setenv("CONCORDKV_SERVER", path, 1);
    return dir;
}

static long long config_get_ll(redisContext *c, const char *name)
{
    redisReply *r = fx_cmd(c, "CONFIG GET %s", name);
    cr_assert_eq(r->elements, 2);
    long long v = atoll(r->element[1]->str);
    freeReplyObject(r);
    return v;
}

// With a low RLIMIT_NOFILE, maxclients is lowered to fit (with Redis's warning); a storm of
// connections past the descriptors left makes accept back off (a few log lines, little CPU)
// rather than spin, and the server answers again once they close.
Test(limits, fd_limit_lowers_maxclients_and_accept_backs_off)
{
    if (fx_redis_mode())
        cr_skip_test("ConcordKV's own limits and logs");
    char *wrap = wrap_server_with_ulimit(256);
    start(NULL);
    cr_assert_eq(log_count(srv, "maxclients has been reduced to 224 to compensate for low ulimit"), 1);
    redisContext *c = fx_connect(srv->port);
    cr_assert_eq(config_get_ll(c, "maxclients"), 224);

    /* Past maxclients, extra connections are refused one by one with Redis's error. */
    enum { STORM = 400 };
    int fds[STORM];
    for (int i = 0; i < 230; i++)
        fds[i] = fx_raw_connect(srv->port);
    char buf[128];
    struct fx_raw_result res = fx_raw_read(fds[229], buf, sizeof(buf), 0, "reached", READ_MS);
    cr_assert(strstr(buf, "-ERR max number of clients reached") != NULL, "got: %.*s", (int)res.len, buf);
    for (int i = 0; i < 230; i++)
        close(fds[i]);

    /* maxclients above what the descriptors allow is refused, the old value kept. */
    redisReply *r = fx_cmd(c, "CONFIG SET maxclients 100000");
    cr_assert_eq(r->type, REDIS_REPLY_ERROR);
    cr_assert(strstr(r->str, "not able to handle the specified number of clients, try with 224"),
              "got: %s", r->str);
    freeReplyObject(r);
    cr_assert_eq(config_get_ll(c, "maxclients"), 224);

    /* Lower the server's descriptor limit under it: accept now runs out of fds. */
    struct rlimit low = {64, 64};
    cr_assert_eq(prlimit(srv->pid, RLIMIT_NOFILE, &low, NULL), 0, "prlimit: %s", strerror(errno));
    double cpu0 = cpu_seconds(srv->pid);
    int64_t t0 = fx_now_ms();
    for (int i = 0; i < STORM; i++)
        fds[i] = fx_raw_connect(srv->port); /* completes in the listen backlog */
    assert_log_soon(srv, "accept: Too many open files");
    /* Keep the storm up for a while; a spinning accept loop would burn this whole time. */
    while (fx_now_ms() - t0 < 2000)
        usleep(50 * 1000);
    double cpu = cpu_seconds(srv->pid) - cpu0;
    double wall = (double)(fx_now_ms() - t0) / 1000.0;
    cr_log_info("storm: %.2f s of CPU over %.2f s", cpu, wall);
    cr_assert_lt(cpu, 0.25 * wall + 0.2, "the server used %.2f s of CPU in %.2f s of storm", cpu, wall);
    int lines = log_count(srv, "accept:");
    cr_assert_leq(lines, 5, "%d accept error lines", lines);

    for (int i = 0; i < STORM; i++)
        close(fds[i]);
    redisFree(c);
    assert_server_fine();
    assert_log_soon(srv, "accepting connections again");
    fx_server_free(srv);
    fx_rm_rf(wrap);
    free(wrap);
}

/* ---------------------------------------------------------------- HTTP */

// An HTTP request on the RESP port ("POST" or "Host:" as a command, as Redis checks it)
// closes the connection with Redis's security warning in the log.
Test(limits, http_request_on_resp_port_is_refused)
{
    start(NULL);
    int fd = fx_raw_connect(srv->port);
    fx_raw_send_str(fd, "POST /api HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n");
    cr_assert(fx_raw_wait_closed(fd, READ_MS), "the connection stayed open after POST");
    close(fd);
    assert_log_soon(srv, "Possible SECURITY ATTACK detected");
    /* A GET request line is just a bad command, but its Host: header closes it too, in any case. */
    fd = fx_raw_connect(srv->port);
    fx_raw_send_str(fd, "GET / HTTP/1.1\r\nhOsT: example.com\r\n\r\n");
    cr_assert(fx_raw_wait_closed(fd, READ_MS), "the connection stayed open after Host:");
    close(fd);
    /* As a multibulk command too. */
    fd = fx_raw_connect(srv->port);
    fx_raw_send_str(fd, "*1\r\n$4\r\npost\r\n");
    cr_assert(fx_raw_wait_closed(fd, READ_MS), "the connection stayed open after multibulk POST");
    close(fd);
    assert_server_fine();
    fx_server_free(srv);
}
