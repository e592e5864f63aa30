/* Integration tests of the HTTP admin API and of cluster_manager: real server processes on
 * free loopback ports, a raw-socket HTTP client written here, and the built cluster_manager
 * binary ($CONCORDKV_CLUSTER_MANAGER). Every wait polls against a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "fxhttp.h"
#include "tcluster.h"

#define CM_MS 90000 /* deadline of one cluster_manager run */

TestSuite(admin, .fini = fx_kill_all, .timeout = 120);

/* ---- a small HTTP client ---- */

/* ---- cluster_manager ---- */

struct cm_result {
    int code;        /* exit status, -1 if it did not exit normally */
    char out[65536]; /* stdout */
    char err[4096];  /* stderr */
};

static const char *cm_binary(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("CONCORDKV_CLUSTER_MANAGER");
    const char *server;
    char copy[PATH_MAX];

    if (env != NULL && *env != '\0')
        return env;
    server = fx_server_binary();
    cr_assert(server != NULL, "no concordkv-server binary");
    snprintf(copy, sizeof(copy), "%s", server);
    snprintf(path, sizeof(path), "%s/utils/cluster_manager", dirname(copy));
    return path;
}

static void read_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;

    if (f != NULL) {
        n = fread(out, 1, cap - 1, f);
        fclose(f);
    }
    out[n] = '\0';
}

/* Run cluster_manager with ARGS (NULL-terminated, without the program name). */
static void cm_run(struct cm_result *res, const char *const *args)
{
    char *dir = fx_tmpdir_new("concordkv-cm");
    char outp[PATH_MAX], errp[PATH_MAX];
    const char *argv[32];
    int n = 0, status = 0;
    int64_t deadline = fx_now_ms() + CM_MS;
    pid_t pid;

    cr_assert(dir != NULL);
    snprintf(outp, sizeof(outp), "%s/out", dir);
    snprintf(errp, sizeof(errp), "%s/err", dir);
    argv[n++] = cm_binary();
    for (int i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0)
            _exit(127);
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (fx_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert_fail("cluster_manager %s did not finish in %d ms", args[0], CM_MS);
        }
        usleep(10000);
    }
    res->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    read_file(outp, res->out, sizeof(res->out));
    read_file(errp, res->err, sizeof(res->err));
    fx_rm_rf(dir);
    free(dir);
}

static void cm_expect_ok(struct cm_result *res, const char *const *args)
{
    char line[512] = "";
    size_t len = 0;

    for (int i = 0; args[i] != NULL && len < sizeof(line); i++)
        len += (size_t)snprintf(line + len, sizeof(line) - len, " %s", args[i]);
    cm_run(res, args);
    cr_assert_eq(res->code, 0, "cluster_manager%s exited %d: %s", line, res->code, res->err);
}

/* Count the lines of S. */
static int line_count(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ---- single nodes ---- */

static struct fx_server *srv;

static void start_single(const char *const *extra)
{
    srv = fx_server_up(extra);
}

static void stop_single(void)
{
    fx_server_free(srv);
    srv = NULL;
}

/* GET /api/status describes this node; /health is 200 on a serving one-node cluster. */
Test(admin, status_and_health_of_a_single_node)
{
    struct fx_http_resp r;
    char ctype[64];

    start_single(NULL);
    r = fx_http_get(srv->admin_port, "/api/status");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(fx_http_header(&r, "Content-Type", ctype, sizeof(ctype)) && strcmp(ctype, "application/json") == 0);
    cr_assert_eq(fx_http_jint(&r, "id"), 1);
    cr_assert_str_eq(fx_http_jstr(&r, "state"), "leader");
    cr_assert_eq(fx_http_jint(&r, "leader"), 1);
    cr_assert(fx_http_jint(&r, "term") >= 1);
    cr_assert(fx_http_jint(&r, "commit_index") >= 1);
    cr_assert(fx_http_jint(&r, "applied_index") >= 1);
    cr_assert(fx_http_jint(&r, "uptime_seconds") >= 0);
    cr_assert_eq(fx_http_jint(&r, "keys"), 0);
    cr_assert(fx_http_jstr(&r, "version") != NULL && fx_http_jstr(&r, "version")[0] != '\0');
    cr_assert_str_eq(fx_http_jstr(&r, "membership"), "member");
    fx_http_free(&r);

    redisContext *c = fx_connect(srv->port);
    fx_check_status(c, "OK", "SET a 1");
    fx_check_status(c, "OK", "SET b 2");
    redisFree(c);
    r = fx_http_get(srv->admin_port, "/api/status");
    cr_assert_eq(fx_http_jint(&r, "keys"), 2, "%s", r.body);
    fx_http_free(&r);

    r = fx_http_get(srv->admin_port, "/health");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(fx_http_jstr(&r, "status"), "ok");
    fx_http_free(&r);
    r = fx_http(srv->admin_port, "HEAD", "/health", NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "", "HEAD has a body: %s", r.body);
    fx_http_free(&r);
    stop_single();
}

/* GET /api/cluster/config lists the nodes; /metrics is Prometheus text. */
Test(admin, config_and_metrics_of_a_single_node)
{
    struct fx_http_resp r;
    char ctype[128], addr[64];
    json_t *nodes, *n;

    start_single(NULL);
    r = fx_http_get(srv->admin_port, "/api/cluster/config");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(fx_http_jint(&r, "leader"), 1, "%s", r.body);
    nodes = json_object_get(r.json, "nodes");
    cr_assert(json_is_array(nodes) && json_array_size(nodes) == 1, "%s", r.body);
    n = json_array_get(nodes, 0);
    cr_assert_eq(json_integer_value(json_object_get(n, "id")), 1);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", srv->raft_port);
    cr_assert_str_eq(json_string_value(json_object_get(n, "address")), addr);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", srv->port);
    cr_assert_str_eq(json_string_value(json_object_get(n, "resp_address")), addr);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", srv->admin_port);
    cr_assert_str_eq(json_string_value(json_object_get(n, "admin_address")), addr);
    cr_assert_str_eq(json_string_value(json_object_get(n, "role")), "voter");
    cr_assert(json_is_true(json_object_get(n, "leader")));
    fx_http_free(&r);

    r = fx_http_get(srv->admin_port, "/metrics");
    cr_assert_eq(r.status, 200);
    cr_assert(fx_http_header(&r, "Content-Type", ctype, sizeof(ctype)));
    cr_assert(strstr(ctype, "text/plain") && strstr(ctype, "version=0.0.4"), "Content-Type %s", ctype);
    cr_assert(strstr(r.body, "\nconcordkv_raft_term ") != NULL, "no concordkv_raft_term in /metrics");
    cr_assert(strstr(r.body, "concordkv_commands_total") != NULL, "no concordkv_commands_total");
    cr_assert(strstr(r.body, "# TYPE ") != NULL);
    fx_http_free(&r);
    stop_single();
}

/* Unknown paths are 404, wrong methods 405 with Allow; all as JSON errors. */
Test(admin, unknown_path_and_wrong_method)
{
    struct fx_http_resp r;
    char allow[64];

    start_single(NULL);
    fx_http_expect_error(srv->admin_port, "GET", "/nope", NULL, 404, NULL);
    fx_http_expect_error(srv->admin_port, "GET", "/api/status/", NULL, 404, NULL);
    fx_http_expect_error(srv->admin_port, "POST", "/api", "{}", 404, NULL);

    r = fx_http_get(srv->admin_port, "/api/cluster/add");
    fx_http_assert_error(&r, 405, NULL);
    cr_assert(fx_http_header(&r, "Allow", allow, sizeof(allow)) && strcmp(allow, "POST") == 0, "Allow: %s", allow);
    fx_http_free(&r);
    r = fx_http_post(srv->admin_port, "/api/status", "{}");
    fx_http_assert_error(&r, 405, NULL);
    cr_assert(fx_http_header(&r, "Allow", allow, sizeof(allow)) && strstr(allow, "GET") != NULL, "Allow: %s", allow);
    fx_http_free(&r);
    fx_http_expect_error(srv->admin_port, "DELETE", "/api/cluster/remove", NULL, 405, NULL);
    fx_http_expect_error(srv->admin_port, "PUT", "/metrics", "x", 405, NULL);
    stop_single();
}

/* Malformed bodies, missing and wrong-typed fields, bad ids and addresses are 400. */
Test(admin, bad_requests_are_400)
{
    const int p = (start_single(NULL), srv->admin_port);

    fx_http_expect_error(p, "POST", "/api/cluster/add", "{\"id\":4,", 400, "malformed JSON");
    fx_http_expect_error(p, "POST", "/api/cluster/add", "not json", 400, "malformed JSON");
    fx_http_expect_error(p, "POST", "/api/cluster/add", "", 400, NULL);
    fx_http_expect_error(p, "POST", "/api/cluster/add", "[1,2]", 400, "object");
    fx_http_expect_error(p, "POST", "/api/cluster/add", "{\"address\":\"127.0.0.1:1234\"}", 400, "missing field 'id'");
    fx_http_expect_error(p, "POST", "/api/cluster/add", "{\"id\":4}", 400, "missing field 'address'");
    fx_http_expect_error(p, "POST", "/api/cluster/add", "{\"id\":\"4\",\"address\":\"127.0.0.1:1234\"}", 400, "integer");
    fx_http_expect_error(p, "POST", "/api/cluster/add", "{\"id\":4.5,\"address\":\"127.0.0.1:1234\"}", 400, "integer");
    fx_http_expect_error(p, "POST", "/api/cluster/add", "{\"id\":4,\"address\":1234}", 400, "string");
    fx_http_expect_error(p, "POST", "/api/cluster/add", "{\"id\":4,\"address\":\"127.0.0.1:1234\",\"resp_address\":5}", 400, "string");
    fx_http_expect_error(p, "POST", "/api/cluster/add", "{\"id\":0,\"address\":\"127.0.0.1:1234\"}", 400, "positive");
    fx_http_expect_error(p, "POST", "/api/cluster/add", "{\"id\":-3,\"address\":\"127.0.0.1:1234\"}", 400, "positive");
    fx_http_expect_error(p, "POST", "/api/cluster/add", "{\"id\":4,\"address\":\"localhost\"}", 400, "ip:port");
    fx_http_expect_error(p, "POST", "/api/cluster/add", "{\"id\":4,\"address\":\"127.0.0.1:99999\"}", 400, "ip:port");
    fx_http_expect_error(p, "POST", "/api/cluster/add", "{\"id\":4,\"address\":\"127.0.0.1:1234\",\"admin_address\":\"x:1\"}", 400, "ip:port");
    fx_http_expect_error(p, "POST", "/api/cluster/add", "{\"id\":4,\"address\":\"127.0.0.1:1234\",\"bogus\":1}", 400, "unknown field");
    fx_http_expect_error(p, "POST", "/api/cluster/remove", "{}", 400, "missing field 'id'");
    fx_http_expect_error(p, "POST", "/api/cluster/remove", "{\"id\":0}", 400, "positive");
    fx_http_expect_error(p, "POST", "/api/cluster/remove", "{\"id\":true}", 400, "integer");
    fx_http_expect_error(p, "POST", "/api/cluster/transfer", "{\"id\":\"x\"}", 400, "integer");
    fx_http_expect_error(p, "POST", "/api/cluster/transfer", "{\"id\":1", 400, "malformed JSON");
    stop_single();
}

/* Duplicate id, duplicate address and unknown id are 409; a body over 64 KiB is 413. */
Test(admin, conflicts_are_409_and_huge_bodies_413)
{
    char body[256];
    struct fx_http_resp r;
    size_t big = 100 * 1024;
    char *huge = malloc(big + 1);

    start_single(NULL);
    r = fx_http_post(srv->admin_port, "/api/cluster/add", "{\"id\":1,\"address\":\"127.0.0.1:1234\"}");
    fx_http_assert_error(&r, 409, "already");
    cr_assert(json_object_get(r.json, "retryable") == NULL, "a duplicate is not retryable: %s", r.body);
    fx_http_free(&r);
    snprintf(body, sizeof(body), "{\"id\":7,\"address\":\"127.0.0.1:%d\"}", srv->raft_port);
    fx_http_expect_error(srv->admin_port, "POST", "/api/cluster/add", body, 409, "already used");
    snprintf(body, sizeof(body), "{\"id\":7,\"address\":\"127.0.0.1:1234\",\"resp_address\":\"127.0.0.1:%d\"}",
             srv->port);
    fx_http_expect_error(srv->admin_port, "POST", "/api/cluster/add", body, 409, "already used");
    fx_http_expect_error(srv->admin_port, "POST", "/api/cluster/remove", "{\"id\":9}", 409, "no member has id 9");
    fx_http_expect_error(srv->admin_port, "POST", "/api/cluster/transfer", "{\"id\":9}", 409, "no member has id 9");

    /* Transfer to the current leader (or to anyone, alone) answers at once. */
    r = fx_http_post(srv->admin_port, "/api/cluster/transfer", "{\"id\":1}");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(json_is_true(json_object_get(r.json, "ok")), "%s", r.body);
    cr_assert(fx_http_jstr(&r, "message") != NULL);
    fx_http_free(&r);

    cr_assert(huge != NULL);
    memset(huge, ' ', big);
    memcpy(huge, "{\"id\":5}", 8);
    huge[big] = '\0';
    fx_http_expect_error(srv->admin_port, "POST", "/api/cluster/remove", huge, 413, NULL);
    free(huge);
    /* The server is unharmed. */
    r = fx_http_get(srv->admin_port, "/api/status");
    cr_assert_eq(r.status, 200);
    fx_http_free(&r);
    stop_single();
}

/* With admin-token, every endpoint needs "Authorization: Bearer <token>". */
Test(admin, token_is_required_everywhere)
{
    static const char *const args[] = {"--admin-token", "s3cret-token", NULL};
    static const char *const paths[] = {"/health", "/metrics", "/api/status", "/api/cluster/config",
                                        "/nope", NULL};
    struct fx_http_resp r;
    struct cm_result cm;
    char server[64], www[64];

    start_single(args);
    for (int i = 0; paths[i] != NULL; i++) {
        r = fx_http_get(srv->admin_port, paths[i]);
        fx_http_assert_error(&r, 401, "token");
        cr_assert(fx_http_header(&r, "WWW-Authenticate", www, sizeof(www)), "401 without WWW-Authenticate");
        fx_http_free(&r);
        r = fx_http(srv->admin_port, "GET", paths[i], "Authorization: Bearer wrong-token\r\n", NULL);
        fx_http_assert_error(&r, 401, NULL);
        fx_http_free(&r);
        r = fx_http(srv->admin_port, "GET", paths[i], "Authorization: Bearer s3cret-toke\r\n", NULL);
        fx_http_assert_error(&r, 401, NULL);
        fx_http_free(&r);
        r = fx_http(srv->admin_port, "GET", paths[i], "Authorization: Basic s3cret-token\r\n", NULL);
        fx_http_assert_error(&r, 401, NULL);
        fx_http_free(&r);
        r = fx_http(srv->admin_port, "GET", paths[i], "Authorization: Bearer s3cret-token\r\n", NULL);
        cr_assert_eq(r.status, strcmp(paths[i], "/nope") == 0 ? 404 : 200, "%s: %d %s", paths[i],
                     r.status, r.body);
        fx_http_free(&r);
    }
    fx_http_expect_error(srv->admin_port, "POST", "/api/cluster/remove", "{\"id\":9}", 401, NULL);
    r = fx_http(srv->admin_port, "POST", "/api/cluster/remove", "Authorization: bearer s3cret-token\r\n",
             "{\"id\":9}");
    fx_http_assert_error(&r, 409, "no member");
    fx_http_free(&r);

    snprintf(server, sizeof(server), "http://127.0.0.1:%d", srv->admin_port);
    cm_run(&cm, (const char *const[]){"-s", server, "status", NULL});
    cr_assert_eq(cm.code, 1, "exit %d without a token", cm.code);
    cr_assert(strstr(cm.err, "HTTP 401") != NULL, "stderr: %s", cm.err);
    cm_expect_ok(&cm, (const char *const[]){"-s", server, "--token", "s3cret-token", "status", NULL});
    cr_assert(strstr(cm.out, "state:") != NULL, "%s", cm.out);
    stop_single();
}

/* A node started with --bootstrap no is in no cluster: /health 503, POSTs 503. */
Test(admin, node_waiting_to_be_added_is_unhealthy)
{
    static const char *const args[] = {"--bootstrap", "no", NULL};
    struct fx_http_resp r;

    start_single(args);
    r = fx_http_get(srv->admin_port, "/health");
    fx_http_assert_error(&r, 503, "not in a cluster");
    fx_http_free(&r);
    r = fx_http_get(srv->admin_port, "/api/status");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(fx_http_jstr(&r, "membership"), "waiting");
    cr_assert(json_is_null(json_object_get(r.json, "leader")), "%s", r.body);
    fx_http_free(&r);
    r = fx_http_get(srv->admin_port, "/api/cluster/config");
    cr_assert_eq(r.status, 200);
    cr_assert(json_is_null(json_object_get(r.json, "leader")), "%s", r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "nodes")), 0, "%s", r.body);
    fx_http_free(&r);
    r = fx_http_post(srv->admin_port, "/api/cluster/add", "{\"id\":4,\"address\":\"127.0.0.1:1234\"}");
    fx_http_assert_error(&r, 503, "no leader");
    cr_assert(json_is_true(json_object_get(r.json, "retryable")), "503 not retryable: %s", r.body);
    fx_http_free(&r);
    stop_single();
}

/* The admin port being taken stops startup with a line naming admin-port. */
Test(admin, admin_port_in_use_stops_startup)
{
    struct fx_server *s = fx_server_new(1, NULL);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->admin_port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    char log[8192], want[128];
    int64_t deadline;

    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    cr_assert(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 && listen(fd, 1) == 0);
    cr_assert(fx_server_spawn(s) == 0);
    deadline = fx_now_ms() + FX_START_TIMEOUT_MS;
    while (fx_server_alive(s) && fx_now_ms() < deadline)
        usleep(10000);
    cr_assert(!fx_server_alive(s), "the server started although its admin port is taken");
    cr_assert(WIFEXITED(s->last_status) && WEXITSTATUS(s->last_status) != 0);
    read_file(s->log_path, log, sizeof(log));
    snprintf(want, sizeof(want), "option 'admin-port': cannot listen on 127.0.0.1:%d:", s->admin_port);
    cr_assert(strstr(log, want) != NULL, "no '%s' in the log:\n%s", want, log);
    close(fd);
    fx_server_free(s);
}

/* A change still pending when the client hangs up, then at shutdown, harms nothing; one
 * whose client is still there gets a JSON answer before the server exits. */
Test(admin, pending_change_survives_hangup_and_shutdown)
{
    char body[128];
    struct fx_http_resp r;
    struct fx_raw_result res;
    char buf[4096];
    int hung, waiting;

    start_single(NULL);
    /* Node 2's raft address listens nowhere: catching it up never finishes. */
    snprintf(body, sizeof(body), "{\"id\":2,\"address\":\"127.0.0.1:%d\"}", fx_free_port());
    hung = fx_raw_connect(srv->admin_port);
    snprintf(buf, sizeof(buf), "POST /api/cluster/add HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    cr_assert(fx_raw_send_str(hung, buf) == 0);
    /* The change is in progress once another one is refused as such. */
    for (int64_t deadline = fx_now_ms() + FX_HTTP_MS;;) {
        r = fx_http_post(srv->admin_port, "/api/cluster/remove", "{\"id\":2}");
        if (r.status == 409 && strstr(fx_http_jstr(&r, "error"), "in progress")) {
            fx_http_free(&r);
            break;
        }
        fx_http_free(&r);
        cr_assert(fx_now_ms() < deadline, "the add never became a change in progress");
        usleep(20000);
    }
    close(hung);
    r = fx_http_get(srv->admin_port, "/api/status");
    cr_assert_eq(r.status, 200, "the loop is blocked or the server died");
    fx_http_free(&r);

    /* Start another pending change from a client that stays. */
    r = fx_http_post(srv->admin_port, "/api/cluster/add", "{\"id\":3,\"address\":\"127.0.0.1:1235\"}");
    fx_http_assert_error(&r, 409, "in progress");
    cr_assert(json_is_true(json_object_get(r.json, "retryable")), "busy is not retryable: %s", r.body);
    fx_http_free(&r);
    cr_assert_eq(fx_server_stop(srv), 0, "server exit status %d after SIGTERM", srv->last_status);
    cr_assert(WIFEXITED(srv->last_status) && WEXITSTATUS(srv->last_status) == 0);
    stop_single();

    /* Again with the client connected through shutdown. */
    start_single(NULL);
    snprintf(body, sizeof(body), "{\"id\":2,\"address\":\"127.0.0.1:%d\"}", fx_free_port());
    waiting = fx_raw_connect(srv->admin_port);
    snprintf(buf, sizeof(buf), "POST /api/cluster/add HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    cr_assert(fx_raw_send_str(waiting, buf) == 0);
    for (int64_t deadline = fx_now_ms() + FX_HTTP_MS;;) {
        r = fx_http_post(srv->admin_port, "/api/cluster/remove", "{\"id\":2}");
        bool busy = r.status == 409 && strstr(fx_http_jstr(&r, "error"), "in progress");
        fx_http_free(&r);
        if (busy)
            break;
        cr_assert(fx_now_ms() < deadline, "the add never became a change in progress");
        usleep(20000);
    }
    cr_assert(fx_raw_nothing_pending(waiting), "the add was answered before it completed");
    kill(srv->pid, SIGTERM);
    res = fx_raw_read(waiting, buf, sizeof(buf), 0, "}\n", FX_HTTP_MS);
    cr_assert(!res.timed_out && res.len > 0, "no answer to the pending add at shutdown (%zu bytes%s%s): %s",
              res.len, res.eof ? ", eof" : "", res.timed_out ? ", timed out" : "", buf);
    cr_assert(strncmp(buf, "HTTP/1.1 5", 10) == 0, "pending add answered: %s", buf);
    cr_assert(strstr(buf, "{\"error\":") != NULL, "pending add answered: %s", buf);
    close(waiting);
    for (int64_t deadline = fx_now_ms() + FX_STOP_TIMEOUT_MS; fx_server_alive(srv);)
        cr_assert(fx_now_ms() < deadline && usleep(10000) == 0, "the server did not exit on SIGTERM");
    cr_assert(WIFEXITED(srv->last_status) && WEXITSTATUS(srv->last_status) == 0,
              "exit status %d", srv->last_status);
    stop_single();
}

/* ---- clusters ---- */

static struct fx_server *n4; /* started with --bootstrap no, added by the test */

/* Nodes 1-3 (indexes 0-2) in a cluster, and node 4 (index 3) waiting to be added. */
static void start_admin_cluster(void)
{
    start_cluster(NULL);
    n4 = tc_start_new_node(4, 0);
}

static bool leader_found(void *arg)
{
    *(int *)arg = leader_now();
    return *(int *)arg >= 0;
}

/* The leader's config names every node's admin address (their announcements are done). */
static bool addresses_known(void *arg)
{
    int want = *(int *)arg, leader = leader_now(), known = 0;
    struct fx_http_resp r;
    json_t *nodes, *n;
    size_t i;

    if (leader < 0 || !fx_http_try(node(leader)->admin_port, "GET", "/api/cluster/config", NULL, NULL, 0, &r))
        return false;
    nodes = json_object_get(r.json, "nodes");
    json_array_foreach(nodes, i, n) {
        const char *a = json_string_value(json_object_get(n, "admin_address"));
        known += a && *a && strcmp(json_string_value(json_object_get(n, "role")), "voter") == 0;
    }
    fx_http_free(&r);
    return known == want && (int)json_array_size(nodes) >= 0;
}

static void wait_addresses_known(int voters)
{
    cr_assert(fx_wait_until(addresses_known, &voters, TC_CONVERGE_MS),
              "the leader never knew the admin address of %d voters", voters);
}

/* POST to PORT, retrying while the answer is retryable (503: no leader or not ready; 409: a
 * change, such as a node announcing its addresses, in progress). */
static struct fx_http_resp post_retry(int port, const char *path, const char *body)
{
    int64_t deadline = fx_now_ms() + TC_CHANGE_MS;

    for (;;) {
        struct fx_http_resp r = fx_http_post(port, path, body);
        bool again = json_is_true(json_object_get(r.json, "retryable"));
        if (!again || fx_now_ms() > deadline)
            return r;
        fx_http_free(&r);
        usleep(50000);
    }
}

/* The JSON node of ID in the config served on PORT (a new reference), or NULL. */
static json_t *config_node(int port, int id, long long *leader)
{
    struct fx_http_resp r = fx_http_get(port, "/api/cluster/config");
    json_t *nodes = json_object_get(r.json, "nodes"), *n, *found = NULL;
    size_t i;

    cr_assert_eq(r.status, 200, "%s", r.body);
    if (leader)
        *leader = fx_http_jint(&r, "leader");
    json_array_foreach(nodes, i, n)
        if (json_integer_value(json_object_get(n, "id")) == id)
            found = json_incref(n);
    fx_http_free(&r);
    return found;
}

/* Predicates for fx_wait_until: /health of the node ARG (a struct fx_server) answers 200, 503. */
static bool node_healthy(void *arg)
{
    return tc_admin_get(((struct fx_server *)arg)->id, "/health", NULL) == 200;
}

static bool node_unhealthy(void *arg)
{
    return tc_admin_get(((struct fx_server *)arg)->id, "/health", NULL) == 503;
}

static bool is_leader(void *arg)
{
    int idx = *(int *)arg;
    return leader_now() == idx;
}

static void add_body(char *out, size_t cap, struct fx_server *s)
{
    snprintf(out, cap,
             "{\"id\":%d,\"address\":\"127.0.0.1:%d\",\"resp_address\":\"127.0.0.1:%d\","
             "\"admin_address\":\"127.0.0.1:%d\"}",
             s->id, s->raft_port, s->port, s->admin_port);
}

/* Add a 4th node over HTTP (after a redirect from a follower), see it replicate, transfer
 * leadership, then remove it. */
Test(admin, add_transfer_remove_over_http, .timeout = 120)
{
    char body[512], want[256], loc[256];
    struct fx_http_resp r;
    json_t *n;
    int leader, follower, target;
    long long lid;

    start_admin_cluster();
    leader = wait_leader();
    follower = (leader + 1) % 3;
    wait_addresses_known(3);
    for (int i = 0; i < 3; i++)
        cr_assert(fx_wait_until(node_healthy, node(i), TC_CONVERGE_MS), "node %d unhealthy", i + 1);

    /* A follower redirects a POST to the leader's same path. */
    add_body(body, sizeof(body), n4);
    r = post_retry(node(follower)->admin_port, "/api/cluster/add", body);
    cr_assert_eq(r.status, 307, "%d %s", r.status, r.body);
    snprintf(want, sizeof(want), "http://127.0.0.1:%d/api/cluster/add", node(leader)->admin_port);
    cr_assert(fx_http_header(&r, "Location", loc, sizeof(loc)), "307 without Location");
    cr_assert_str_eq(loc, want);
    fx_http_free(&r);

    /* The leader adds node 4. */
    r = post_retry(node(leader)->admin_port, "/api/cluster/add", body);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    cr_assert(json_is_true(json_object_get(r.json, "ok")), "%s", r.body);
    fx_http_free(&r);
    n = config_node(node(leader)->admin_port, 4, NULL);
    cr_assert(n != NULL, "node 4 is not in the config");
    cr_assert_str_eq(json_string_value(json_object_get(n, "role")), "voter");
    snprintf(want, sizeof(want), "127.0.0.1:%d", n4->raft_port);
    cr_assert_str_eq(json_string_value(json_object_get(n, "address")), want);
    snprintf(want, sizeof(want), "127.0.0.1:%d", n4->admin_port);
    cr_assert_str_eq(json_string_value(json_object_get(n, "admin_address")), want);
    json_decref(n);

    /* It replicates. */
    redisContext *c = fx_connect(node(leader)->port);
    for (int i = 0; i < 50; i++)
        fx_check_status(c, "OK", "SET key:%d value:%d", i, i);
    redisFree(c);
    tc_assert_converged((const int[]){leader + 1, 4, 0}, NULL, NULL);
    cr_assert(fx_wait_until(node_healthy, n4, TC_CONVERGE_MS), "node 4 never became healthy");

    /* Duplicates are conflicts now. */
    r = post_retry(node(leader)->admin_port, "/api/cluster/add", body);
    fx_http_assert_error(&r, 409, "already");
    fx_http_free(&r);
    snprintf(body, sizeof(body), "{\"id\":9,\"address\":\"127.0.0.1:%d\"}", n4->raft_port);
    r = post_retry(node(leader)->admin_port, "/api/cluster/add", body);
    fx_http_assert_error(&r, 409, "already used");
    fx_http_free(&r);

    /* Transfer leadership to a chosen follower. */
    target = (leader + 2) % 3;
    snprintf(body, sizeof(body), "{\"id\":%d}", target + 1);
    r = post_retry(node(leader)->admin_port, "/api/cluster/transfer", body);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    fx_http_free(&r);
    cr_assert(fx_wait_until(is_leader, &target, TC_LEADER_MS), "node %d does not lead", target + 1);
    /* The old leader now redirects to the new one. */
    for (int64_t deadline = fx_now_ms() + TC_CONVERGE_MS;;) {
        r = fx_http_post(node(leader)->admin_port, "/api/cluster/remove", "{\"id\":4}");
        snprintf(want, sizeof(want), "http://127.0.0.1:%d/api/cluster/remove", node(target)->admin_port);
        bool ok = r.status == 307 && fx_http_header(&r, "Location", loc, sizeof(loc)) && strcmp(loc, want) == 0;
        int status = r.status;
        fx_http_free(&r);
        if (ok)
            break;
        cr_assert(fx_now_ms() < deadline, "old leader answers %d, not 307 to %s", status, want);
        usleep(50000);
    }

    /* Remove node 4 on the new leader. */
    r = post_retry(node(target)->admin_port, "/api/cluster/remove", "{\"id\":4}");
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    fx_http_free(&r);
    n = config_node(node(target)->admin_port, 4, &lid);
    cr_assert(n == NULL, "node 4 is still in the config");
    cr_assert_eq(lid, target + 1);
    r = post_retry(node(target)->admin_port, "/api/cluster/remove", "{\"id\":4}");
    fx_http_assert_error(&r, 409, "no member has id 4");
    fx_http_free(&r);
    cr_assert(fx_wait_until(node_unhealthy, n4, TC_CONVERGE_MS), "removed node 4 is still healthy");
    tc_stop_all();
}

/* cluster_manager: list, status, --json, transfer, add (through a follower), remove, and its
 * failures. */
Test(admin, cluster_manager_manages_a_cluster, .timeout = 120)
{
    struct cm_result cm;
    char leader_url[64], follower_url[64], raft4[32], resp4[32], admin4[32], id4[8], dead_url[64];
    json_t *root;
    int leader, follower;

    start_admin_cluster();
    leader = wait_leader();
    follower = (leader + 1) % 3;
    wait_addresses_known(3);
    snprintf(leader_url, sizeof(leader_url), "http://127.0.0.1:%d", node(leader)->admin_port);
    snprintf(follower_url, sizeof(follower_url), "http://127.0.0.1:%d", node(follower)->admin_port);

    /* list: a header and three rows, one marked leader. */
    cm_expect_ok(&cm, (const char *const[]){"-s", follower_url, "list", NULL});
    cr_assert_eq(line_count(cm.out), 4, "list:\n%s", cm.out);
    cr_assert(strncmp(cm.out, "ID", 2) == 0 && strstr(cm.out, "ROLE") && strstr(cm.out, "RAFT ADDRESS") &&
                  strstr(cm.out, "RESP ADDRESS") && strstr(cm.out, "ADMIN ADDRESS"),
              "list header:\n%s", cm.out);
    cr_assert(strstr(cm.out, "voter") != NULL);
    cr_assert(strchr(cm.out, '*') != NULL && strchr(cm.out, '*') == strrchr(cm.out, '*'),
              "not one leader mark:\n%s", cm.out);
    for (int i = 0; i < 3; i++) {
        char addr[32];
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", node(i)->raft_port);
        cr_assert(strstr(cm.out, addr) != NULL, "%s missing from list:\n%s", addr, cm.out);
    }

    /* status of the contacted node. */
    cm_expect_ok(&cm, (const char *const[]){"-s", follower_url, "status", NULL});
    cr_assert(strstr(cm.out, "state:") && strstr(cm.out, "follower"), "status:\n%s", cm.out);
    cr_assert(strstr(cm.out, "applied_index:") != NULL, "status:\n%s", cm.out);

    /* --json prints the server's JSON. */
    cm_expect_ok(&cm, (const char *const[]){"--json", "-s", leader_url, "list", NULL});
    root = json_loads(cm.out, 0, NULL);
    cr_assert(root != NULL, "--json list is not JSON: %s", cm.out);
    cr_assert_eq(json_array_size(json_object_get(root, "nodes")), 3);
    cr_assert_eq(json_integer_value(json_object_get(root, "leader")), leader + 1);
    json_decref(root);

    /* transfer without an id moves leadership to another voter (before node 4 exists, so that
     * removing node 4 below never removes the leader). */
    cm_expect_ok(&cm, (const char *const[]){"-s", follower_url, "transfer", NULL});
    cr_assert_eq(line_count(cm.out), 1, "transfer printed:\n%s", cm.out);
    cr_assert(strstr(cm.out, "leadership moved to node") != NULL, "transfer printed: %s", cm.out);
    cr_assert(fx_wait_until(leader_found, &leader, TC_LEADER_MS), "no leader after the transfer");
    follower = (leader + 1) % 3;
    snprintf(leader_url, sizeof(leader_url), "http://127.0.0.1:%d", node(leader)->admin_port);
    snprintf(follower_url, sizeof(follower_url), "http://127.0.0.1:%d", node(follower)->admin_port);

    /* add, sent to a follower: the redirect is followed. */
    snprintf(id4, sizeof(id4), "%d", n4->id);
    snprintf(raft4, sizeof(raft4), "127.0.0.1:%d", n4->raft_port);
    snprintf(resp4, sizeof(resp4), "127.0.0.1:%d", n4->port);
    snprintf(admin4, sizeof(admin4), "127.0.0.1:%d", n4->admin_port);
    cm_expect_ok(&cm, (const char *const[]){"-s", follower_url, "add", id4, raft4, "--resp", resp4,
                                            "--admin", admin4, NULL});
    cr_assert_eq(line_count(cm.out), 1, "add printed:\n%s", cm.out);
    cr_assert(strstr(cm.out, "4") != NULL, "add printed: %s", cm.out);
    cm_expect_ok(&cm, (const char *const[]){"-s", leader_url, "list", NULL});
    cr_assert_eq(line_count(cm.out), 5, "list after add:\n%s", cm.out);
    cr_assert(strstr(cm.out, admin4) != NULL, "list after add:\n%s", cm.out);
    cr_assert(fx_wait_until(node_healthy, n4, TC_CONVERGE_MS), "node 4 never became healthy");

    /* A second add of the same id fails with the server's reason. */
    cm_run(&cm, (const char *const[]){"-s", leader_url, "add", id4, raft4, NULL});
    cr_assert_eq(cm.code, 1);
    cr_assert(strstr(cm.err, "cluster_manager: add 4: ") == cm.err && strstr(cm.err, "(HTTP 409)"),
              "stderr: %s", cm.err);
    cr_assert_eq(line_count(cm.err), 1, "stderr: %s", cm.err);


    /* remove node 4 (through whichever node), then it is gone. */
    cm_expect_ok(&cm, (const char *const[]){"-s", follower_url, "--timeout", "60", "remove", id4, NULL});
    cr_assert(strstr(cm.out, "removed") != NULL, "remove printed: %s", cm.out);
    cm_expect_ok(&cm, (const char *const[]){"-s", follower_url, "--json", "list", NULL});
    root = json_loads(cm.out, 0, NULL);
    cr_assert(root != NULL && json_array_size(json_object_get(root, "nodes")) == 3, "%s", cm.out);
    json_decref(root);

    /* Failures: unknown id, unreachable server, usage. */
    cm_run(&cm, (const char *const[]){"-s", follower_url, "remove", "9", NULL});
    cr_assert_eq(cm.code, 1);
    cr_assert_str_eq(cm.err, "cluster_manager: remove 9: no member has id 9 (HTTP 409)\n");
    cr_assert_str_eq(cm.out, "");
    snprintf(dead_url, sizeof(dead_url), "http://127.0.0.1:%d", fx_free_port());
    cm_run(&cm, (const char *const[]){"-s", dead_url, "list", NULL});
    cr_assert_eq(cm.code, 1);
    cr_assert(strstr(cm.err, "cannot connect to 127.0.0.1:") != NULL && strstr(cm.err, "refused"),
              "stderr: %s", cm.err);
    cr_assert_eq(line_count(cm.err), 1, "stderr: %s", cm.err);
    cm_run(&cm, (const char *const[]){"-s", leader_url, "frobnicate", NULL});
    cr_assert_eq(cm.code, 2);
    cr_assert(strstr(cm.err, "unknown command") != NULL, "stderr: %s", cm.err);
    cm_run(&cm, (const char *const[]){"-s", leader_url, "remove", NULL});
    cr_assert_eq(cm.code, 2);
    cm_run(&cm, (const char *const[]){"-s", leader_url, "remove", "0", NULL});
    cr_assert_eq(cm.code, 2);
    cm_run(&cm, (const char *const[]){"--bogus", "list", NULL});
    cr_assert_eq(cm.code, 2);
    cm_expect_ok(&cm, (const char *const[]){"--help", NULL});
    cr_assert(strstr(cm.out, "Usage:") != NULL);
    tc_stop_all();
}

/* ---- the web page's side of the API (admin_web.c) ---- */

/* The page and its files need no token, carry no-store and a CSP without inline script; the
 * API still needs the token; Sec-Fetch-Site: cross-site is refused except a navigation to the
 * page itself. */
Test(admin, web_page_files_and_cross_site_requests)
{
    static const char *const args[] = {"--admin-token", "admin-token", NULL};
    static const char *const files[][2] = {{"/", "text/html; charset=utf-8"},
                                           {"/admin.js", "text/javascript; charset=utf-8"},
                                           {"/admin.css", "text/css; charset=utf-8"}};
    const char *auth = "Authorization: Bearer admin-token\r\n";
    struct fx_http_resp r;
    char value[512];

    start_single(args);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        r = fx_http_get(srv->admin_port, files[i][0]);
        cr_assert_eq(r.status, 200, "%s: %d %s", files[i][0], r.status, r.body);
        cr_assert(fx_http_header(&r, "Content-Type", value, sizeof(value)));
        cr_assert_str_eq(value, files[i][1]);
        cr_assert(fx_http_header(&r, "Cache-Control", value, sizeof(value)));
        cr_assert_str_eq(value, "no-store");
        cr_assert(fx_http_header(&r, "Content-Security-Policy", value, sizeof(value)));
        cr_assert(strstr(value, "script-src 'self'") && strstr(value, "default-src 'none'") &&
                  !strstr(value, "unsafe"), "CSP: %s", value);
        cr_assert(strlen(r.body) > 500, "%s is %zu bytes", files[i][0], strlen(r.body));
        fx_http_free(&r);
    }
    r = fx_http_get(srv->admin_port, "/");
    cr_assert(strstr(r.body, "<script src=\"/admin.js\"") && !strstr(r.body, "<script>"),
              "the page must load its script from /admin.js only");
    fx_http_free(&r);
    r = fx_http(srv->admin_port, "HEAD", "/", NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "");
    fx_http_free(&r);
    r = fx_http_get(srv->admin_port, "/api/cluster/status");
    fx_http_assert_error(&r, 401, "token");
    fx_http_free(&r);

    r = fx_http(srv->admin_port, "POST", "/api/cluster/transfer",
                "Authorization: Bearer admin-token\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: cors\r\n", "{}");
    fx_http_assert_error(&r, 403, "cross-site");
    fx_http_free(&r);
    r = fx_http(srv->admin_port, "GET", "/api/status",
                "Authorization: Bearer admin-token\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: navigate\r\n", NULL);
    fx_http_assert_error(&r, 403, "cross-site");
    fx_http_free(&r);
    r = fx_http(srv->admin_port, "GET", "/admin.js", "Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\n", NULL);
    fx_http_assert_error(&r, 403, "cross-site");
    fx_http_free(&r);
    r = fx_http(srv->admin_port, "GET", "/", "Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: navigate\r\n", NULL);
    cr_assert_eq(r.status, 200, "a link to the page from another site: %d", r.status);
    fx_http_free(&r);
    snprintf(value, sizeof(value), "%sSec-Fetch-Site: same-origin\r\nOrigin: http://127.0.0.1:%d\r\n", auth,
             srv->admin_port);
    r = fx_http(srv->admin_port, "POST", "/api/cluster/remove", value, "{\"id\":9}");
    fx_http_assert_error(&r, 409, "no member"); /* past the origin checks */
    fx_http_free(&r);
    stop_single();
}

/* The number of nodes in VIEW (a /api/cluster/status answer) whose status says STATE. */
static int view_count(json_t *view, const char *state)
{
    json_t *n;
    size_t i;
    int count = 0;

    json_array_foreach(json_object_get(view, "nodes"), i, n) {
        const char *s = json_string_value(json_object_get(json_object_get(n, "status"), "state"));
        count += s != NULL && strcmp(s, state) == 0;
    }
    return count;
}

static bool view_complete(void *arg)
{
    struct fx_http_resp r;
    bool ok;

    if (!fx_http_try(*(int *)arg, "GET", "/api/cluster/status", NULL, NULL, 0, &r))
        return false;
    ok = r.status == 200 && view_count(r.json, "leader") == 1 && view_count(r.json, "follower") == 2;
    fx_http_free(&r);
    return ok;
}

/* A follower's cluster view holds every node's status (an "error" for one that is down), its
 * metrics proxy serves another node's /metrics, and it forwards a POST marked
 * X-ConcordKV-Forward to the leader instead of redirecting it. */
Test(admin, cluster_view_metrics_and_forwarding, .timeout = 120)
{
    struct fx_http_resp r;
    char path[64];
    int leader, follower, other;
    json_t *n;
    size_t i;

    start_cluster(NULL);
    leader = wait_leader();
    wait_addresses_known(3);
    follower = (leader + 1) % 3;
    other = (leader + 2) % 3;
    int port = node(follower)->admin_port;
    cr_assert(fx_wait_until(view_complete, &port, TC_CONVERGE_MS), "no complete cluster view");
    r = fx_http_get(port, "/api/cluster/status");
    cr_assert_eq(fx_http_jint(&r, "self"), follower + 1, "%s", r.body);
    cr_assert_eq(fx_http_jint(&r, "leader"), leader + 1, "%s", r.body);
    json_array_foreach(json_object_get(r.json, "nodes"), i, n) {
        json_t *st = json_object_get(n, "status");
        cr_assert_eq(json_integer_value(json_object_get(st, "id")),
                     json_integer_value(json_object_get(n, "id")), "%s", r.body);
        cr_assert(json_integer_value(json_object_get(st, "applied_index")) > 0, "%s", r.body);
    }
    fx_http_free(&r);

    snprintf(path, sizeof(path), "/api/cluster/metrics?id=%d", leader + 1);
    r = fx_http_get(port, path);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "concordkv_raft_state{state=\"leader\"} 1"), "not the leader's metrics");
    fx_http_free(&r);
    r = fx_http_get(port, "/api/cluster/metrics");
    cr_assert(strstr(r.body, "concordkv_raft_state{state=\"follower\"} 1"), "not this node's metrics");
    fx_http_free(&r);
    fx_http_expect_error(port, "GET", "/api/cluster/metrics?id=x", NULL, 400, "positive");
    fx_http_expect_error(port, "GET", "/api/cluster/metrics?id=9", NULL, 409, "node 9");

    char body[64];
    snprintf(body, sizeof(body), "{\"id\":%d}", other + 1);
    r = fx_http(port, "POST", "/api/cluster/transfer", NULL, body);
    cr_assert_eq(r.status, 307, "a plain POST to a follower: %d %s", r.status, r.body);
    fx_http_free(&r);
    r = fx_http(port, "POST", "/api/cluster/transfer", "X-ConcordKV-Forward: 1\r\n", body);
    cr_assert_eq(r.status, 200, "a forwarded transfer: %d %s", r.status, r.body);
    cr_assert(strstr(fx_http_jstr(&r, "message"), "leadership moved") != NULL, "%s", r.body);
    fx_http_free(&r);
    cr_assert(fx_wait_until(is_leader, &other, TC_LEADER_MS), "node %d never led", other + 1);
    r = fx_http(port, "POST", "/api/cluster/remove", "X-ConcordKV-Forward: 1\r\n", "{\"id\":9}");
    fx_http_assert_error(&r, 409, "9");
    fx_http_free(&r);

    /* the old leader down: the view says why it has no status */
    cr_assert_neq(fx_server_kill(node(leader)), -1);
    r = fx_http_get(port, "/api/cluster/status");
    cr_assert_eq(r.status, 200, "%s", r.body);
    json_array_foreach(json_object_get(r.json, "nodes"), i, n) {
        if (json_integer_value(json_object_get(n, "id")) != leader + 1)
            continue;
        cr_assert(json_is_null(json_object_get(n, "status")), "%s", r.body);
        cr_assert(json_string_value(json_object_get(n, "error")) != NULL, "%s", r.body);
    }
    fx_http_free(&r);
    tc_stop_all();
}

/* Send a raw POST of BODY to PATH on FD, marked for forwarding to the leader. */
static void send_forwarded(int fd, const char *path, const char *body)
{
    char buf[1024];

    snprintf(buf, sizeof(buf), "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "X-ConcordKV-Forward: 1\r\nContent-Length: %zu\r\n\r\n%s", path, strlen(body), body);
    cr_assert(fx_raw_send_str(fd, buf) == 0);
}

/* Requests waiting for other nodes: a cluster view whose client hangs up while a node is
 * paused, and a forwarded add (it cannot finish) pending when the forwarding node shuts down:
 * answered 503, the node exits cleanly. */
Test(admin, relayed_requests_survive_hangup_and_shutdown, .timeout = 120)
{
    struct fx_http_resp r;
    struct fx_raw_result res;
    char buf[4096], body[128];
    int leader, f, g, fd;

    start_cluster(NULL);
    leader = wait_leader();
    wait_addresses_known(3);
    f = (leader + 1) % 3;
    g = (leader + 2) % 3;

    tc_pause(g + 1); /* its /api/status waits the whole second */
    fd = fx_raw_connect(node(f)->admin_port);
    cr_assert(fx_raw_send_str(fd, "GET /api/cluster/status HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
    cr_assert(fx_raw_nothing_pending(fd), "the view was answered while a node is paused");
    close(fd);
    tc_resume(g + 1);
    r = fx_http_get(node(f)->admin_port, "/api/cluster/status");
    cr_assert_eq(r.status, 200, "after a hang-up: %d %s", r.status, r.body);
    fx_http_free(&r);

    /* Node 4's raft address listens nowhere: catching it up never finishes. */
    snprintf(body, sizeof(body), "{\"id\":4,\"address\":\"127.0.0.1:%d\"}", fx_free_port());
    fd = fx_raw_connect(node(f)->admin_port);
    send_forwarded(fd, "/api/cluster/add", body);
    for (int64_t deadline = fx_now_ms() + FX_HTTP_MS;;) {
        r = fx_http_post(node(leader)->admin_port, "/api/cluster/remove", "{\"id\":9}");
        bool busy = r.status == 409 && strstr(fx_http_jstr(&r, "error"), "in progress");
        fx_http_free(&r);
        if (busy)
            break;
        cr_assert(fx_now_ms() < deadline, "the forwarded add never became a change in progress");
        usleep(20000);
    }
    cr_assert(fx_raw_nothing_pending(fd), "the forwarded add was answered before it completed");
    kill(node(f)->pid, SIGTERM);
    res = fx_raw_read(fd, buf, sizeof(buf), 0, "}\n", FX_HTTP_MS);
    cr_assert(!res.timed_out && res.len > 0, "no answer to the forwarded add at shutdown: %s", buf);
    cr_assert(strncmp(buf, "HTTP/1.1 503", 12) == 0 && strstr(buf, "shutting down"),
              "forwarded add answered: %s", buf);
    close(fd);
    for (int64_t deadline = fx_now_ms() + FX_STOP_TIMEOUT_MS; fx_server_alive(node(f));)
        cr_assert(fx_now_ms() < deadline && usleep(10000) == 0, "the node did not exit on SIGTERM");
    cr_assert(WIFEXITED(node(f)->last_status) && WEXITSTATUS(node(f)->last_status) == 0,
              "exit status %d", node(f)->last_status);
    tc_stop_all();
}
