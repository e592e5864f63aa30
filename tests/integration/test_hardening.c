/* Integration tests of issue 15's hardening (tx-admin): MULTI refusals at queue time, secrets
 * kept out of CONFIG GET, the bind warning, the admin port's deadline, connection cap,
 * Content-Type, Origin and password protection, and startup failures that state their cause.
 * Real server processes on free loopback ports; every wait polls against a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture.h"

#define IO_MS 10000

TestSuite(hardening, .fini = fx_kill_all, .timeout = 120);

/* The whole of PATH (a log), NUL-terminated; the caller frees. */
static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *data = NULL;
    size_t len = 0;

    if (fp == NULL)
        return strdup("");
    FILE *mem = open_memstream(&data, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        fwrite(chunk, 1, n, mem);
    fclose(fp);
    fclose(mem);
    return data;
}

struct log_probe {
    const char *path;
    const char *text;
};

static bool log_has(void *arg)
{
    struct log_probe *p = arg;
    char *log = slurp(p->path);
    bool found = strstr(log, p->text) != NULL;
    free(log);
    return found;
}

static void assert_log_has(const struct fx_server *s, const char *text)
{
    struct log_probe p = {s->log_path, text};
    if (!fx_wait_until(log_has, &p, IO_MS)) {
        fx_server_dump_log(s);
        cr_assert_fail("the log of node %d does not say '%s'", s->id, text);
    }
}

/* Send RAW on a fresh connection to PORT and read until EXPECT_END occurs; returns the bytes. */
static char *raw_exchange(int port, const char *raw, const char *expect_end)
{
    static char buf[65536];
    int fd = fx_raw_connect(port);
    cr_assert_eq(fx_raw_send_str(fd, raw), 0);
    struct fx_raw_result r = fx_raw_read(fd, buf, sizeof(buf), 0, expect_end, IO_MS);
    close(fd);
    cr_assert_not(r.timed_out, "no '%s' in the answer to %s: got '%s'", expect_end, raw, buf);
    return buf;
}

/* ---- MULTI ---- */

/* The reported desync: CLUSTER TRANSFER inside MULTI is refused when queued, the transaction
 * is discarded at EXEC, and there is exactly one reply per command. */
Test(hardening, multi_refuses_cluster_transfer_with_one_reply_per_command)
{
    struct fx_server *s = fx_server_up(NULL);
    const char *expected = "+OK\r\n"
                           "-ERR Command not allowed inside a transaction\r\n"
                           "+QUEUED\r\n"
                           "-EXECABORT Transaction discarded because of previous errors.\r\n"
                           "+PONG\r\n";
    char *got = raw_exchange(s->port, "MULTI\r\nCLUSTER TRANSFER\r\nSET a 1\r\nEXEC\r\nPING\r\n", "+PONG\r\n");
    cr_assert_str_eq(got, expected);
    /* Nothing arrives after PONG, and the SET was not applied. */
    redisContext *c = fx_connect(s->port);
    fx_check_nil(c, "GET a");
    redisFree(c);
    fx_server_free(s);
}

/* Every membership change and DEBUG are refused inside MULTI; CLUSTER reads are queued and
 * answered by EXEC in order. */
Test(hardening, multi_refuses_membership_changes_and_queues_cluster_reads)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *c = fx_connect(s->port);
    const char *refused[] = {"CLUSTER ADDNODE 2 127.0.0.1:1", "CLUSTER DELNODE 2", "CLUSTER SETNODE 1 127.0.0.1:1",
                             "CLUSTER TRANSFER 2", "CLUSTER REMOVED 1", "DEBUG DIGEST"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        fx_check_status(c, "OK", "MULTI");
        fx_check_error(c, "ERR Command not allowed inside a transaction", refused[i]);
        fx_check_error(c, "EXECABORT Transaction discarded because of previous errors.", "EXEC");
    }
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "SET k v");
    fx_check_status(c, "QUEUED", "CLUSTER MYID");
    fx_check_status(c, "QUEUED", "CLUSTER ISMEMBER 1");
    fx_check_status(c, "QUEUED", "GET k");
    redisReply *r = fx_cmd(c, "EXEC");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, 4);
    fx_assert_status(r->element[0], "OK");
    fx_assert_string(r->element[1], "0000000000000000000000000000000000000001");
    fx_assert_integer(r->element[2], 1);
    fx_assert_string(r->element[3], "v");
    freeReplyObject(r);
    fx_check_status(c, "PONG", "PING");
    redisFree(c);
    fx_server_free(s);
}

/* WATCH inside MULTI answers Redis's error; as in Redis 7.0 it does not spoil the
 * transaction (multi.c watchCommand replies without flagging it). */
Test(hardening, watch_inside_multi_is_an_error)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *c = fx_connect(s->port);
    fx_check_status(c, "OK", "MULTI");
    fx_check_error(c, "ERR WATCH inside MULTI is not allowed", "WATCH k");
    fx_check_status(c, "QUEUED", "SET k 1");
    redisReply *r = fx_cmd(c, "EXEC");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, 1);
    fx_assert_status(r->element[0], "OK");
    freeReplyObject(r);
    fx_check_status(c, "PONG", "PING");
    redisFree(c);
    fx_server_free(s);
}

/* ---- CONFIG GET secrets ---- */

/* Number of name/value pairs CONFIG GET PATTERN returns, and whether NAME is among them. */
static size_t config_get(redisContext *c, const char *pattern, const char *name, bool *found)
{
    redisReply *r = fx_cmd(c, "CONFIG GET %s", pattern);
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    *found = false;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        *found |= strcmp(r->element[i]->str, name) == 0;
    size_t n = r->elements / 2;
    freeReplyObject(r);
    return n;
}

/* admin-token is never returned; requirepass only after AUTH; unauthenticated clients cannot
 * run CONFIG at all. */
Test(hardening, config_get_hides_secrets)
{
    const char *const args[] = {"--requirepass", "pw1", "--admin-token", "tok1", NULL};
    struct fx_server *s = fx_server_up(args);
    redisContext *c = fx_connect(s->port);
    bool found;

    fx_check_error(c, "NOAUTH Authentication required.", "CONFIG GET requirepass");
    fx_check_status(c, "OK", "AUTH pw1");
    cr_assert_eq(config_get(c, "admin-token", "admin-token", &found), 0);
    config_get(c, "*", "admin-token", &found);
    cr_assert_not(found, "CONFIG GET * returned admin-token");
    redisReply *r = fx_cmd(c, "CONFIG GET requirepass");
    cr_assert_eq(r->elements, 2);
    fx_assert_string(r->element[1], "pw1");
    freeReplyObject(r);
    r = fx_cmd(c, "INFO everything");
    cr_assert(strstr(r->str, "tok1") == NULL && strstr(r->str, "pw1") == NULL);
    freeReplyObject(r);
    redisFree(c);
    fx_server_free(s);
    /* without a password, admin-token is still never shown */
    const char *const args2[] = {"--admin-token", "tok2", NULL};
    s = fx_server_up(args2);
    c = fx_connect(s->port);
    config_get(c, "*", "admin-token", &found);
    cr_assert_not(found);
    cr_assert_eq(config_get(c, "admin-token", "admin-token", &found), 0);
    redisFree(c);
    char *log = slurp(s->log_path);
    char *server_part = strchr(log, '\n'); /* past the fixture's "=== fx: starting" line */
    cr_assert(server_part && strstr(server_part, "tok2") == NULL, "the log shows the admin token");
    free(log);
    fx_server_free(s);
}

/* A client that connected before requirepass was set (so never passed AUTH) is not shown it. */
Test(hardening, config_get_requirepass_needs_auth_even_when_set_at_runtime)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *c = fx_connect(s->port);
    bool found;
    fx_check_status(c, "OK", "CONFIG SET requirepass pw9");
    config_get(c, "requirepass", "requirepass", &found);
    cr_assert_not(found);
    fx_check_status(c, "OK", "AUTH pw9");
    config_get(c, "requirepass", "requirepass", &found);
    cr_assert(found);
    redisFree(c);
    fx_server_free(s);
}

/* ---- bind warning ---- */

Test(hardening, non_loopback_bind_without_password_warns)
{
    const char *const args[] = {"--bind", "0.0.0.0", "--protected-mode", "no", NULL};
    struct fx_server *s = fx_server_up(args);
    assert_log_has(s, "is not a loopback address and no requirepass is set");
    fx_server_free(s);

    s = fx_server_up(NULL);
    assert_log_has(s, "ready on 127.0.0.1");
    char *log = slurp(s->log_path);
    cr_assert(strstr(log, "not a loopback address") == NULL);
    free(log);
    fx_server_free(s);
}

/* ---- admin port ---- */

/* One HTTP request on a fresh connection; returns the status code (0: no answer). */
static int http_status(int port, const char *method, const char *path, const char *headers,
                       const char *body, char *resp, size_t cap)
{
    char head[2048];
    int fd = fx_raw_connect(port), status = 0;
    snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n%s",
             method, path, port, headers ? headers : "", body ? strlen(body) : 0, body ? body : "");
    cr_assert_eq(fx_raw_send_str(fd, head), 0);
    struct fx_raw_result r = fx_raw_read(fd, resp, cap, 0, NULL, IO_MS);
    close(fd);
    if (!r.timed_out)
        sscanf(resp, "HTTP/1.%*d %d", &status);
    return status;
}

/* A request trickled one byte every 300 ms never completes within admin-request-timeout:
 * the connection is closed, although every byte arrives well within the idle timeout. */
Test(hardening, admin_slowloris_connection_is_closed_at_the_deadline)
{
    const char *const args[] = {"--admin-request-timeout", "1000", NULL};
    struct fx_server *s = fx_server_up(args);
    const char *req = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    int fd = fx_raw_connect(s->admin_port);
    bool closed = false;
    for (size_t i = 0; req[i] != '\0' && !closed; i++) {
        if (fx_raw_send(fd, &req[i], 1) != 0) {
            closed = true;
            break;
        }
        closed = fx_raw_wait_closed(fd, 300);
    }
    close(fd);
    cr_assert(closed, "the trickling connection was served to the end");
    char resp[4096];
    cr_assert_eq(http_status(s->admin_port, "GET", "/health", NULL, NULL, resp, sizeof(resp)), 200);
    fx_server_free(s);
}

/* An answer ends its connection even when the request asked to keep it alive: a second
 * request could otherwise be trickled past the whole-request deadline. */
Test(hardening, admin_answers_close_the_connection)
{
    struct fx_server *s = fx_server_up(NULL);
    char resp[4096];
    int fd = fx_raw_connect(s->admin_port);
    cr_assert_eq(fx_raw_send_str(fd, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"), 0);
    struct fx_raw_result r = fx_raw_read(fd, resp, sizeof(resp), 0, NULL, IO_MS);
    close(fd);
    cr_assert(r.eof, "the connection stayed open after the answer");
    cr_assert(strstr(resp, " 200 ") != NULL && strcasestr(resp, "Connection: close") != NULL, "%s", resp);
    fx_server_free(s);
}

/* Connections over admin-max-connections are closed at once; afterwards a normal client is
 * still served. */
Test(hardening, admin_connection_cap)
{
    const char *const args[] = {"--admin-max-connections", "4", NULL};
    struct fx_server *s = fx_server_up(args);
    int fds[4];
    char resp[4096];
    for (int i = 0; i < 4; i++)
        fds[i] = fx_raw_connect(s->admin_port);
    /* make sure the four are accepted before the fifth */
    cr_assert_eq(fx_raw_send_str(fds[3], "GET"), 0);
    int extra = fx_raw_connect(s->admin_port);
    fx_raw_send_str(extra, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    struct fx_raw_result r = fx_raw_read(extra, resp, sizeof(resp), 0, NULL, IO_MS);
    cr_assert(r.eof, "the connection over the cap was not closed");
    cr_assert(strstr(resp, "200 OK") == NULL, "the connection over the cap was served: %s", resp);
    close(extra);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    /* the cap frees up as connections close (evhttp notices the EOF) */
    int status = 0;
    for (int64_t end = fx_now_ms() + IO_MS; status != 200 && fx_now_ms() < end;)
        status = http_status(s->admin_port, "GET", "/health", NULL, NULL, resp, sizeof(resp));
    cr_assert_eq(status, 200);
    fx_server_free(s);
}

Test(hardening, admin_post_needs_json_content_type)
{
    struct fx_server *s = fx_server_up(NULL);
    char resp[4096];
    cr_assert_eq(http_status(s->admin_port, "POST", "/api/cluster/transfer", NULL, "{}", resp, sizeof(resp)), 415);
    cr_assert(strstr(resp, "{\"error\":") != NULL, "no JSON error body: %s", resp);
    cr_assert_eq(http_status(s->admin_port, "POST", "/api/cluster/transfer", "Content-Type: text/plain\r\n", "{}", resp,
                             sizeof(resp)), 415);
    cr_assert_neq(http_status(s->admin_port, "POST", "/api/cluster/transfer", "Content-Type: application/json\r\n",
                              "{\"id\":99}", resp, sizeof(resp)), 415);
    fx_server_free(s);
}

Test(hardening, admin_foreign_origin_is_forbidden)
{
    struct fx_server *s = fx_server_up(NULL);
    char resp[4096], own[128];
    cr_assert_eq(http_status(s->admin_port, "GET", "/api/status", "Origin: http://evil.example\r\n", NULL, resp,
                             sizeof(resp)), 403);
    cr_assert(strstr(resp, "Access-Control-Allow") == NULL);
    cr_assert_eq(http_status(s->admin_port, "POST", "/api/cluster/transfer",
                             "Origin: http://evil.example\r\nContent-Type: application/json\r\n", "{}", resp,
                             sizeof(resp)), 403);
    snprintf(own, sizeof(own), "Origin: http://127.0.0.1:%d\r\n", s->admin_port);
    cr_assert_eq(http_status(s->admin_port, "GET", "/api/status", own, NULL, resp, sizeof(resp)), 200);
    cr_assert(strstr(resp, "Access-Control-Allow") == NULL);
    cr_assert_eq(http_status(s->admin_port, "GET", "/api/status", NULL, NULL, resp, sizeof(resp)), 200);
    fx_server_free(s);
}

/* With requirepass and no admin-token, the admin API takes the password as its bearer token;
 * cluster_manager's --token works with it. */
Test(hardening, admin_with_requirepass_needs_the_password)
{
    const char *const args[] = {"--requirepass", "pw5", NULL};
    struct fx_server *s = fx_server_up(args);
    char resp[4096];
    cr_assert_eq(http_status(s->admin_port, "GET", "/api/status", NULL, NULL, resp, sizeof(resp)), 401);
    cr_assert_eq(http_status(s->admin_port, "POST", "/api/cluster/transfer", "Content-Type: application/json\r\n", "{}",
                             resp, sizeof(resp)), 401);
    cr_assert_eq(http_status(s->admin_port, "GET", "/api/status", "Authorization: Bearer wrong\r\n", NULL, resp,
                             sizeof(resp)), 401);
    cr_assert_eq(http_status(s->admin_port, "GET", "/api/status", "Authorization: Bearer pw5\r\n", NULL, resp,
                             sizeof(resp)), 200);

    const char *cm = getenv("CONCORDKV_CLUSTER_MANAGER");
    cr_assert(cm != NULL, "CONCORDKV_CLUSTER_MANAGER is not set");
    char url[64], cmd[1024];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->admin_port);
    snprintf(cmd, sizeof(cmd), "'%s' -s %s --token pw5 status >/dev/null 2>&1", cm, url);
    cr_assert_eq(system(cmd), 0, "cluster_manager --token <requirepass> status failed");
    snprintf(cmd, sizeof(cmd), "'%s' -s %s status >/dev/null 2>&1", cm, url);
    cr_assert_neq(system(cmd), 0, "cluster_manager without a token was let in");
    fx_server_free(s);
}

/* ---- startup failures ---- */

/* Start a server with ARGS, which must fail; assert its output says TEXT. */
static void assert_startup_fails(const char *const *args, const char *text)
{
    struct fx_server *s = fx_server_new(1, args);
    cr_assert_eq(fx_server_spawn(s), 0);
    int st = fx_server_wait_exit(s, FX_START_TIMEOUT_MS);
    cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "the server did not fail to start (status %d)", st);
    char *log = slurp(s->log_path);
    cr_assert(strstr(log, text) != NULL, "the output does not say '%s':\n%s", text, log);
    cr_assert(strstr(log, ": \n") == NULL, "an empty reason in:\n%s", log);
    free(log);
    fx_server_free(s);
}

Test(hardening, cluster_list_with_trailing_comma_is_refused)
{
    char arg[128];
    snprintf(arg, sizeof(arg), "1@127.0.0.1:%d,", fx_free_port());
    const char *const args[] = {"--cluster", arg, NULL};
    assert_startup_fails(args, "option 'cluster': element 2 of");
    const char *const args2[] = {"--cluster", "1@127.0.0.1:30001,,2@127.0.0.1:30002", NULL};
    assert_startup_fails(args2, "is empty (a leading, trailing or doubled comma?)");
    const char *const args3[] = {"--cluster", ",1@127.0.0.1:30001", NULL};
    assert_startup_fails(args3, "option 'cluster': element 1 of");
}

/* A --cluster list longer than raft's first log block can hold says so. */
Test(hardening, too_many_voters_says_why)
{
    size_t cap = 16384, len = 0;
    char *list = malloc(cap);
    cr_assert(list != NULL);
    list[0] = '\0';
    for (int i = 1; i <= 299; i++)
        len += (size_t)snprintf(list + len, cap - len, "%s%d@127.0.0.1:%d", i > 1 ? "," : "", i, 30000 + i);
    const char *const args[] = {"--cluster", list, NULL};
    assert_startup_fails(args, "299 voters are too many for raft's first log block");
    free(list);
}

/* The raft port taken by another socket: raft start names the cause. */
Test(hardening, raft_port_in_use_says_why)
{
    struct fx_server *holder = fx_server_up(NULL);
    char port[16];
    snprintf(port, sizeof(port), "%d", holder->raft_port);
    const char *const args[] = {"--raft-port", port, NULL};
    struct fx_server *s = fx_server_new(2, args);
    cr_assert_eq(fx_server_spawn(s), 0);
    int st = fx_server_wait_exit(s, FX_START_TIMEOUT_MS);
    cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
    char *log = slurp(s->log_path);
    char *line = strstr(log, "raft start on ");
    cr_assert(line != NULL, "no 'raft start on' line:\n%s", log);
    char *colon = strstr(line + strlen("raft start on "), ": ");
    cr_assert(colon != NULL && colon[2] != '\n' && colon[2] != '\0', "an empty reason:\n%s", log);
    free(log);
    fx_server_free(s);
    fx_server_free(holder);
}

/* A dir whose log survives but whose metadata says term 0 (damaged): bootstrap says why. */
Test(hardening, bootstrap_over_damaged_metadata_says_why)
{
    struct fx_server *s = fx_server_up(NULL);
    cr_assert_eq(fx_server_stop(s), 0);
    char path[1024];
    snprintf(path, sizeof(path), "%s/metadata1", s->dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f != NULL);
    uint64_t meta[4] = {1, 5, 0, 0}; /* format 1, sequence 5, term 0, no vote (little-endian host) */
    fwrite(meta, sizeof(meta), 1, f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/metadata2", s->dir);
    unlink(path);
    cr_assert_eq(fx_server_spawn(s), 0);
    int st = fx_server_wait_exit(s, FX_START_TIMEOUT_MS);
    cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
    char *log = slurp(s->log_path);
    /* (today "bootstrap failed: I/O error writing the first log segment ..."; a check of the
     * dir before raft may refuse earlier, with its own reason) */
    const char *line = strstr(log, "startup failed: ");
    cr_assert(line != NULL, "%s", log);
    line += strlen("startup failed: ");
    cr_assert(strncmp(line, "bootstrap failed: \n", 19) != 0 && *line != '\n', "an empty reason:\n%s", log);
    free(log);
    fx_server_free(s);
}
