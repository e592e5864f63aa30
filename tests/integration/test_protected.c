/* Integration tests of protected mode and the local-only commands from a client that is NOT on
 * loopback: each test makes its own network namespace joined to this one by a veth pair
 * (198.18.N.1 here, 198.18.N.2 there; RFC 2544's benchmarking range), starts a server bound to
 * 0.0.0.0, and talks to it from inside the namespace (a forked child that setns()es), so the
 * server sees a non-loopback peer. Needs root and ip(8): skipped, saying why, otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <criterion/criterion.h>

#include "fixture.h"

#define IO_MS 5000

static char ns_name[32], host_ip[32], ns_ip[32];
static int ns_ready;

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), fmt, a, b);
    return system(cmd);
}

/* The namespace and its veth pair; ns_ready stays 0 when this machine cannot make them. */
static void ns_setup(void)
{
    int n = (int)(getpid() % 250) + 1;
    char host_if[32], ns_if[32], cmd[1024];
    snprintf(ns_name, sizeof(ns_name), "ckvpm%d", (int)getpid());
    snprintf(host_if, sizeof(host_if), "ckh%d", (int)getpid());
    snprintf(ns_if, sizeof(ns_if), "ckn%d", (int)getpid());
    snprintf(host_ip, sizeof(host_ip), "198.18.%d.1", n);
    snprintf(ns_ip, sizeof(ns_ip), "198.18.%d.2", n);
    if (geteuid() != 0 || system("command -v ip >/dev/null 2>&1") != 0)
        return;
    snprintf(cmd, sizeof(cmd),
             "ip netns add %s && ip link add %s type veth peer name %s && "
             "ip link set %s netns %s && ip addr add %s/30 dev %s && ip link set %s up && "
             "ip netns exec %s ip addr add %s/30 dev %s && ip netns exec %s ip link set %s up && "
             "ip netns exec %s ip link set lo up",
             ns_name, host_if, ns_if, ns_if, ns_name, host_ip, host_if, host_if, ns_name, ns_ip,
             ns_if, ns_name, ns_if, ns_name);
    if (system(cmd) == 0)
        ns_ready = 1;
    else
        sh("ip netns del %s >/dev/null 2>&1; ip link del %s >/dev/null 2>&1", ns_name, host_if);
}

static void ns_teardown(void)
{
    fx_kill_all();
    if (ns_name[0]) {
        char host_if[32];
        snprintf(host_if, sizeof(host_if), "ckh%d", (int)getpid());
        sh("ip netns del %s >/dev/null 2>&1; ip link del %s >/dev/null 2>&1", ns_name, host_if);
    }
}

TestSuite(protected, .init = ns_setup, .fini = ns_teardown, .timeout = 120);

static void need_ns(void)
{
    if (!ns_ready)
        cr_skip_test("cannot make a network namespace with a veth pair here (needs root and ip "
                     "netns): no non-loopback client to test with");
}

/* From inside the namespace: connect to host_ip:PORT, send SEND (may be NULL), and read until
 * the peer closes, UNTIL appears, or IO_MS passes. The answer goes into OUT (NUL-terminated);
 * returns its length, or -1 when the connection could not be made. */
static int ns_exchange(int port, const char *send, const char *until, char *out, size_t cap)
{
    int pfd[2];
    cr_assert(pipe(pfd) == 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        char path[128], buf[8192];
        size_t got = 0;
        close(pfd[0]);
        snprintf(path, sizeof(path), "/var/run/netns/%s", ns_name);
        int nsfd = open(path, O_RDONLY);
        if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0)
            _exit(2);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, host_ip, &sin.sin_addr);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
            _exit(3);
        if (send && write(fd, send, strlen(send)) != (ssize_t)strlen(send))
            _exit(4);
        int64_t deadline = fx_now_ms() + IO_MS;
        while (got < sizeof(buf) - 1 && fx_now_ms() < deadline) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 50) <= 0)
                continue;
            ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            buf[got] = '\0';
            if (until && strstr(buf, until))
                break;
        }
        if (write(pfd[1], buf, got) != (ssize_t)got)
            _exit(5);
        _exit(0);
    }
    close(pfd[1]);
    size_t len = 0;
    ssize_t n;
    while (len < cap - 1 && (n = read(pfd[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? (int)len : -1;
}

static struct fx_server *server_up(const char *const *more)
{
    const char *args[24] = {"--bind", "0.0.0.0"};
    int n = 2;
    for (int i = 0; more && more[i]; i++)
        args[n++] = more[i];
    args[n] = NULL;
    return fx_server_up(args);
}

/* With no password, a non-loopback client gets Redis's -DENIED text and is closed; loopback
 * clients are served. */
Test(protected, non_loopback_client_is_denied_without_password)
{
    need_ns();
    char out[8192];
    struct fx_server *s = server_up(NULL);
    cr_assert(ns_exchange(s->port, "PING\r\n", NULL, out, sizeof(out)) > 0);
    cr_assert(strncmp(out, "-DENIED Redis is running in protected mode because protected mode is "
                           "enabled and no password is set for the default user.", 120) == 0,
              "got: %s", out);
    cr_assert(strstr(out, "+PONG") == NULL);
    redisContext *c = fx_connect(s->port);
    fx_check_status(c, "PONG", "PING");
    redisFree(c);
    fx_server_free(s);
}

/* A password ends protected mode: the non-loopback client is asked to AUTH, and may. */
Test(protected, password_lets_non_loopback_clients_authenticate)
{
    need_ns();
    char out[8192];
    const char *const args[] = {"--requirepass", "pw", NULL};
    struct fx_server *s = server_up(args);
    cr_assert(ns_exchange(s->port, "PING\r\nAUTH pw\r\nPING\r\n", "+PONG", out, sizeof(out)) > 0);
    cr_assert(strstr(out, "-NOAUTH") == out, "got: %s", out);
    cr_assert(strstr(out, "+OK\r\n+PONG\r\n") != NULL, "got: %s", out);
    fx_server_free(s);
}

/* CONFIG SET protected-mode no (from loopback) opens the server to the next connection. */
Test(protected, config_set_protected_mode_no_admits_remote_clients)
{
    need_ns();
    char out[8192];
    struct fx_server *s = server_up(NULL);
    redisContext *c = fx_connect(s->port);
    redisReply *r = fx_cmd(c, "CONFIG GET protected-mode");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    cr_assert_str_eq(r->element[1]->str, "yes");
    freeReplyObject(r);
    fx_check_status(c, "OK", "CONFIG SET protected-mode no");
    cr_assert(ns_exchange(s->port, "PING\r\n", "\r\n", out, sizeof(out)) > 0);
    cr_assert_str_eq(out, "+PONG\r\n");
    fx_check_status(c, "OK", "CONFIG SET protected-mode yes");
    cr_assert(ns_exchange(s->port, "PING\r\n", NULL, out, sizeof(out)) > 0);
    cr_assert(strncmp(out, "-DENIED", 7) == 0, "got: %s", out);
    redisFree(c);
    fx_server_free(s);
}

/* enable-debug-command local (the default): DEBUG runs for loopback clients only, with Redis's
 * error for the others; yes lets everyone run it. */
Test(protected, debug_is_local_only_by_default)
{
    need_ns();
    char out[8192];
    const char *const args[] = {"--protected-mode", "no", NULL};
    struct fx_server *s = server_up(args);
    cr_assert(ns_exchange(s->port, "DEBUG DIGEST\r\n", "\r\n", out, sizeof(out)) > 0);
    cr_assert_str_eq(out, "-ERR DEBUG command not allowed. If the enable-debug-command option is "
                          "set to \"local\", you can run it from a local connection, otherwise you "
                          "need to set this option in the configuration file, and then restart "
                          "the server.\r\n");
    redisContext *c = fx_connect(s->port);
    redisReply *r = fx_cmd(c, "DEBUG DIGEST");
    cr_assert(r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING);
    cr_assert_eq(strlen(r->str), 40);
    freeReplyObject(r);
    fx_check_error(c, "ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config",
                   "CONFIG SET enable-debug-command yes");
    redisFree(c);
    fx_server_free(s);

    const char *const yes[] = {"--protected-mode", "no", "--enable-debug-command", "yes", NULL};
    s = server_up(yes);
    cr_assert(ns_exchange(s->port, "DEBUG DIGEST\r\n", "\r\n", out, sizeof(out)) > 0);
    cr_assert(out[0] == '$' || out[0] == '+', "got: %s", out);
    fx_server_free(s);
}

/* CLUSTER ADDNODE/DELNODE/TRANSFER are refused to remote clients (enable-membership-command
 * local); the read subcommands are not. */
Test(protected, membership_commands_are_local_only_by_default)
{
    need_ns();
    char out[8192];
    const char *const args[] = {"--protected-mode", "no", NULL};
    struct fx_server *s = server_up(args);
    cr_assert(ns_exchange(s->port, "CLUSTER ADDNODE 5 127.0.0.1:1\r\n", "\r\n", out, sizeof(out)) > 0);
    cr_assert(strncmp(out, "-ERR CLUSTER membership command not allowed. If the "
                           "enable-membership-command option is set to \"local\"", 100) == 0,
              "got: %s", out);
    cr_assert(ns_exchange(s->port, "CLUSTER TRANSFER\r\n", "\r\n", out, sizeof(out)) > 0);
    cr_assert(strncmp(out, "-ERR CLUSTER membership command not allowed", 40) == 0, "got: %s", out);
    cr_assert(ns_exchange(s->port, "CLUSTER KEYSLOT foo\r\n", "\r\n", out, sizeof(out)) > 0);
    cr_assert_str_eq(out, ":12182\r\n");
    fx_server_free(s);
}

/* The admin API: 403 to remote clients while it needs no token; with admin-token they get
 * 401 without it and 200 with it. */
Test(protected, admin_api_refuses_remote_clients_without_token)
{
    need_ns();
    char out[8192];
    const char *get = "GET /api/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    struct fx_server *s = server_up(NULL);
    cr_assert(ns_exchange(s->admin_port, get, NULL, out, sizeof(out)) > 0);
    cr_assert(strncmp(out, "HTTP/1.1 403", 12) == 0, "got: %s", out);
    cr_assert(strstr(out, "{\"error\": \"protected mode") != NULL || strstr(out, "\"protected mode") != NULL, "got: %s", out);
    fx_server_free(s);

    const char *const tok[] = {"--admin-token", "t0k", NULL};
    s = server_up(tok);
    cr_assert(ns_exchange(s->admin_port, get, NULL, out, sizeof(out)) > 0);
    cr_assert(strncmp(out, "HTTP/1.1 401", 12) == 0, "got: %s", out);
    cr_assert(ns_exchange(s->admin_port, "GET /api/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0k\r\n"
                                         "Connection: close\r\n\r\n", NULL, out, sizeof(out)) > 0);
    cr_assert(strncmp(out, "HTTP/1.1 200", 12) == 0, "got: %s", out);
    /* protected mode does not apply to the RESP port here: no password is set */
    cr_assert(ns_exchange(s->port, "PING\r\n", NULL, out, sizeof(out)) > 0);
    cr_assert(strncmp(out, "-DENIED", 7) == 0, "got: %s", out);
    fx_server_free(s);
}
