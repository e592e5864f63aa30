/* Integration-test fixtures: free ports, temp dirs, server processes started and stopped by pid,
 * hiredis and raw-socket helpers. Launches concordkv-server, or redis-server in redis mode.
 * Never signals a process it did not start. */
#include "fixture.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#define FX_MAX_PIDS 256
#define FX_MAX_PORTS 1024
#define FX_POLL_MS 10

/* ---- environment ---- */

bool fx_redis_mode(void)
{
    const char *v = getenv("CONCORDKV_TEST_REDIS");
    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

static bool is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

const char *fx_server_binary(void)
{
    static char found[PATH_MAX];
    static const char *const rel[] = {"concordkv-server", "../concordkv-server",
                                      "../../concordkv-server"};
    const char *env;
    char exe[PATH_MAX];
    ssize_t n;

    if (fx_redis_mode()) {
        env = getenv("REDIS_SERVER");
        return env != NULL && *env != '\0' ? env : "redis-server";
    }
    env = getenv("CONCORDKV_SERVER");
    if (env != NULL && *env != '\0')
        return env;
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        if (is_executable(rel[i])) {
            if (realpath(rel[i], found) != NULL)
                return found;
        }
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL)
            *slash = '\0';
        for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
            int len = snprintf(found, sizeof(found), "%s/%s", exe, rel[i]);
            if (len > 0 && (size_t)len < sizeof(found) && is_executable(found))
                return found;
        }
    }
    return NULL;
}

int64_t fx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- ports and directories ---- */

static int used_ports[FX_MAX_PORTS];
static int n_used_ports;

static bool port_used(int port)
{
    for (int i = 0; i < n_used_ports; i++)
        if (used_ports[i] == port)
            return true;
    return false;
}

static void port_mark_used(int port)
{
    if (n_used_ports < FX_MAX_PORTS)
        used_ports[n_used_ports++] = port;
}

static bool port_bindable(int port)
{
    struct sockaddr_in sa;
    int one = 1, fd, rc;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    /* Servers set SO_REUSEADDR too, so TIME_WAIT leftovers do not count as taken. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    if (rc == 0)
        rc = listen(fd, 1);
    close(fd);
    return rc == 0;
}

/* Lowest port the kernel hands out to outgoing connections (often 32768). A listener that is
 * down for a while (a killed cluster node) could otherwise find its port taken by a client. */
static int ephemeral_low(void)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    int lo = 0, hi = 0;

    if (f != NULL) {
        if (fscanf(f, "%d %d", &lo, &hi) != 2)
            lo = 0;
        fclose(f);
    }
    return lo;
}

/* Claim PORT among every process using these fixtures (parallel Criterion workers, test
 * programs run side by side by make -j): an exclusive flock on a per-port file, held through a
 * close-on-exec fd for the rest of this process's life; the kernel drops it when we exit.
 * Returns false if another live process holds it. A failure to create the lock directory or
 * file only loses the cross-process guarantee, so it claims the port. */
static bool port_claim(int port)
{
    static char dir[PATH_MAX];
    char path[PATH_MAX + 16];
    int fd;

    if (dir[0] == '\0') {
        const char *base = getenv("TMPDIR");
        mode_t old;

        if (base == NULL || *base == '\0')
            base = "/tmp";
        snprintf(dir, sizeof(dir), "%s/concordkv-fx-ports", base);
        old = umask(0);
        if (mkdir(dir, 01777) != 0 && errno != EEXIST) {
            umask(old);
            return true;
        }
        umask(old);
    }
    snprintf(path, sizeof(path), "%s/%d", dir, port);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return true;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return false;
    }
    return true; /* FD stays open: the claim lasts as long as this process */
}

int fx_free_port(void)
{
    /* Keep port + FX_RAFT_OFFSET below the ephemeral range when the range allows it. */
    int span = 10000, lo = ephemeral_low();

    if (lo > 20000 + FX_RAFT_OFFSET + 1000 && lo - FX_RAFT_OFFSET - 20000 < span)
        span = lo - FX_RAFT_OFFSET - 20000;
    for (int attempt = 0; attempt < 1000; attempt++) {
        uint32_t r;
        int port;

        if (getrandom(&r, sizeof(r), 0) != sizeof(r))
            r = (uint32_t)rand();
        port = 20000 + (int)(r % (uint32_t)span);
        if (port_used(port) || port_used(port + FX_ADMIN_OFFSET) ||
            port_used(port + FX_RAFT_OFFSET))
            continue;
        if (!port_bindable(port) || !port_bindable(port + FX_ADMIN_OFFSET) ||
            !port_bindable(port + FX_RAFT_OFFSET))
            continue;
        /* A claim is never released by this process, even when the triple fails: such a
         * port is marked used so that it is not tried again. */
        bool ok = true;
        for (int k = 0; k < 3; k++) {
            int p = port + (k == 0 ? 0 : k == 1 ? FX_ADMIN_OFFSET : FX_RAFT_OFFSET);
            if (!ok || !port_claim(p)) {
                ok = false;
                break;
            }
            port_mark_used(p);
        }
        if (ok)
            return port;
    }
    cr_assert_fail("fx_free_port: no free port triple found in 20000-29999");
    return -1;
}

char *fx_tmpdir_new(const char *prefix)
{
    const char *base = getenv("TMPDIR");
    char *path;

    if (base == NULL || *base == '\0')
        base = "/tmp";
    if (asprintf(&path, "%s/%s-XXXXXX", base, prefix) < 0)
        return NULL;
    if (mkdtemp(path) == NULL) {
        free(path);
        return NULL;
    }
    return path;
}

int fx_rm_rf(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int rc = 0;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    d = opendir(path);
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char *child;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (asprintf(&child, "%s/%s", path, e->d_name) < 0) {
            rc = -1;
            continue;
        }
        if (fx_rm_rf(child) != 0)
            rc = -1;
        free(child);
    }
    closedir(d);
    if (rmdir(path) != 0)
        rc = -1;
    return rc;
}

/* ---- the registry of started processes ---- */

struct live_server {
    pid_t pid;
    const char *dir; /* owned by the fx_server, valid while registered */
};

static struct live_server live[FX_MAX_PIDS];
static pid_t registry_owner;
static bool atexit_done;

static void registry_add(pid_t pid, const char *dir)
{
    if (!atexit_done) {
        atexit(fx_kill_all);
        atexit_done = true;
    }
    registry_owner = getpid();
    for (int i = 0; i < FX_MAX_PIDS; i++) {
        if (live[i].pid == 0) {
            live[i].dir = dir;
            live[i].pid = pid;
            return;
        }
    }
}

static void registry_remove(pid_t pid)
{
    for (int i = 0; i < FX_MAX_PIDS; i++)
        if (live[i].pid == pid)
            live[i].pid = 0;
}

static void write_str(const char *str)
{
    ssize_t n = write(2, str, strlen(str));
    (void)n;
}

void fx_kill_all(void)
{
    int saved = errno;

    /* A forked copy of this process must not kill its parent's servers. */
    if (registry_owner != getpid())
        return;
    for (int i = 0; i < FX_MAX_PIDS; i++) {
        pid_t pid = live[i].pid;
        if (pid > 0) {
            kill(pid, SIGKILL);
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
            }
            live[i].pid = 0;
            /* Left behind by a failed test: keep its files (and log) for a post-mortem. */
            write_str("fx: killed a server the test left running; its files: ");
            write_str(live[i].dir);
            write_str("\n");
        }
    }
    errno = saved;
}

/* ---- server processes ---- */

static char **strv_copy(const char *const *v)
{
    size_t n = 0;
    char **out;

    while (v != NULL && v[n] != NULL)
        n++;
    out = calloc(n + 1, sizeof(*out));
    cr_assert(out != NULL);
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(v[i]);
        cr_assert(out[i] != NULL);
    }
    return out;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

static void server_pick_ports(struct fx_server *s)
{
    s->port = fx_free_port();
    s->admin_port = s->port + FX_ADMIN_OFFSET;
    s->raft_port = s->port + FX_RAFT_OFFSET;
}

struct fx_server *fx_server_new(int id, const char *const *extra_args)
{
    struct fx_server *s = calloc(1, sizeof(*s));

    cr_assert(s != NULL);
    s->id = id;
    server_pick_ports(s);
    s->dir = fx_tmpdir_new("concordkv-test");
    cr_assert(s->dir != NULL, "fx_server_new: mkdtemp: %s", strerror(errno));
    cr_assert(asprintf(&s->log_path, "%s/server.log", s->dir) >= 0);
    s->extra_args = strv_copy(extra_args);
    s->ready = FX_READY_SERVING;
    for (size_t i = 0; s->extra_args[i] != NULL; i++) {
        const char *a = s->extra_args[i];
        if (strcmp(a, "--requirepass") == 0)
            s->ready = FX_READY_REPLY;
        else if (s->ready == FX_READY_SERVING &&
                 (strcmp(a, "--bootstrap") == 0 || strcmp(a, "--join") == 0 ||
                  strcmp(a, "--cluster") == 0))
            s->ready = FX_READY_PONG;
    }
    return s;
}

/* True when S's log holds an AddressSanitizer, LeakSanitizer or UBSan report (a build with
 * --enable-sanitizers): the test fails, and the log is printed before the dir goes. */
static bool server_log_has_sanitizer_report(const struct fx_server *s)
{
    static const char *const marks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                        "runtime error: ", NULL};
    char line[4096];
    bool found = false;
    FILE *f = fopen(s->log_path, "r");

    if (f == NULL)
        return false;
    while (!found && fgets(line, sizeof(line), f) != NULL)
        for (size_t i = 0; marks[i] != NULL && !found; i++)
            found = strstr(line, marks[i]) != NULL;
    fclose(f);
    return found;
}

void fx_server_free(struct fx_server *s)
{
    if (s == NULL)
        return;
    if (s->pid > 0)
        fx_server_stop(s);
    if (s->log_path != NULL && server_log_has_sanitizer_report(s)) {
        fx_server_dump_log(s);
        cr_expect(false, "server %d (port %d): a sanitizer report in its log (printed above)", s->id, s->port);
    }
    if (s->dir != NULL)
        fx_rm_rf(s->dir);
    free(s->dir);
    free(s->log_path);
    free(s->config_file);
    strv_free(s->extra_args);
    free(s);
}

/* Options redis-server does not know; in redis mode they are dropped with their value. */
static bool concordkv_only_option(const char *arg)
{
    static const char *const only[] = {
        "--id", "--raft-port", "--admin-port", "--cluster", "--join", "--bootstrap",
        "--read-consistency", "--request-timeout", "--election-timeout", "--heartbeat-timeout",
        "--snapshot-threshold", "--admin-token", "--cluster-secret", "--cluster-secret-file",
        "--raft-max-message", "--follower-mode", NULL};
    for (size_t i = 0; only[i] != NULL; i++)
        if (strcmp(arg, only[i]) == 0)
            return true;
    return false;
}

/* Build the argv for S; the strings are owned by the returned vector (free with strv_free). */
static char **server_argv(const struct fx_server *s, const char *bin)
{
    char **argv = calloc(64 + 2 * 32, sizeof(*argv));
    size_t n = 0;
    bool redis = fx_redis_mode();

    cr_assert(argv != NULL);
#define PUSH(x) (argv[n++] = strdup(x))
#define PUSHF(...) cr_assert(asprintf(&argv[n++], __VA_ARGS__) >= 0)
    PUSH(bin);
    if (s->config_file != NULL)
        PUSH(s->config_file);
    if (!redis) {
        PUSH("--id");
        PUSHF("%d", s->id);
    }
    PUSH("--bind");
    PUSH("127.0.0.1");
    PUSH("--port");
    PUSHF("%d", s->port);
    if (!redis) {
        PUSH("--raft-port");
        PUSHF("%d", s->raft_port);
        PUSH("--admin-port");
        PUSHF("%d", s->admin_port);
    }
    PUSH("--dir");
    PUSH(s->dir);
    if (redis) {
        /* Our server has no disk snapshots to save and a single database. */
        PUSH("--save");
        PUSH("");
        PUSH("--appendonly");
        PUSH("no");
        PUSH("--databases");
        PUSH("1");
    }
    for (size_t i = 0; s->extra_args[i] != NULL && n < 64 + 2 * 32 - 2; i++) {
        if (redis && concordkv_only_option(s->extra_args[i])) {
            if (s->extra_args[i + 1] != NULL)
                i++;
            continue;
        }
        PUSH(s->extra_args[i]);
    }
    /* Every ConcordKV node gets the test cluster secret, unless the test passes its own. */
    bool has_secret = false;
    for (size_t i = 0; s->extra_args[i] != NULL; i++)
        has_secret |= strcmp(s->extra_args[i], "--cluster-secret") == 0 ||
                      strcmp(s->extra_args[i], "--cluster-secret-file") == 0;
    if (!redis && !has_secret) {
        PUSH("--cluster-secret");
        PUSH(FX_CLUSTER_SECRET);
    }
    /* Followers answer -MOVED (the suites were written for Redis Cluster's redirects), unless
     * the test chooses a follower-mode (test_proxy). */
    bool has_mode = false;
    for (size_t i = 0; s->extra_args[i] != NULL; i++)
        has_mode |= strcmp(s->extra_args[i], "--follower-mode") == 0;
    if (!redis && !has_mode && s->config_file == NULL) {
        PUSH("--follower-mode");
        PUSH("moved");
    }
#undef PUSH
#undef PUSHF
    return argv;
}

static void close_inherited_fds(void)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = 3; fd < (max > 0 ? max : 4096); fd++)
        close((int)fd);
}

/* In the child: never returns. */
static void child_exec(char **argv, int logfd, pid_t parent)
{
    sigset_t none;
    int devnull;

    /* Die with the test process, even if it crashes. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, 0);
    dup2(logfd, 1);
    dup2(logfd, 2);
    close_inherited_fds();
    execvp(argv[0], argv);
    dprintf(2, "fx: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int fx_server_spawn(struct fx_server *s)
{
    const char *bin = fx_server_binary();
    char **argv;
    int logfd;
    pid_t parent = getpid(), pid;

    if (bin == NULL) {
        fprintf(stderr, "fx: no concordkv-server binary (set CONCORDKV_SERVER)\n");
        return -1;
    }
    if (s->pid > 0) {
        fprintf(stderr, "fx: server %d already running (pid %d)\n", s->id, (int)s->pid);
        return -1;
    }
    argv = server_argv(s, bin);
    logfd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        fprintf(stderr, "fx: open %s: %s\n", s->log_path, strerror(errno));
        strv_free(argv);
        return -1;
    }
    dprintf(logfd, "=== fx: starting:");
    for (size_t i = 0; argv[i] != NULL; i++)
        dprintf(logfd, " '%s'", argv[i]);
    dprintf(logfd, "\n");
    fflush(NULL);
    pid = fork();
    if (pid == 0)
        child_exec(argv, logfd, parent);
    close(logfd);
    strv_free(argv);
    if (pid < 0) {
        fprintf(stderr, "fx: fork: %s\n", strerror(errno));
        return -1;
    }
    s->pid = pid;
    registry_add(pid, s->dir);
    return 0;
}

/* Reap S if it exited. Returns true if it is still running. */
static bool server_check_alive(struct fx_server *s)
{
    int status;
    pid_t r;

    if (s->pid <= 0)
        return false;
    r = waitpid(s->pid, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return true;
    registry_remove(s->pid);
    s->last_status = r == s->pid ? status : -1;
    s->pid = 0;
    return false;
}

bool fx_server_alive(struct fx_server *s)
{
    return server_check_alive(s);
}

/* One readiness probe: true if S is ready per s->ready. */
static bool server_probe(const struct fx_server *s)
{
    char buf[256];
    struct fx_raw_result res;
    int fd = fx_raw_try_connect(s->port);
    bool ok;

    if (fd < 0)
        return false;
    if (s->ready == FX_READY_ACCEPT) {
        close(fd);
        return true;
    }
    if (s->ready == FX_READY_SERVING) {
        /* A read needs a leader: until then it gets -CLUSTERDOWN or similar. */
        if (fx_raw_send_str(fd, "*1\r\n$4\r\nPING\r\n"
                                "*2\r\n$6\r\nEXISTS\r\n$8\r\nfx:ready\r\n") != 0) {
            close(fd);
            return false;
        }
        fx_raw_read(fd, buf, sizeof(buf), 11, NULL, 2000);
        close(fd);
        return strncmp(buf, "+PONG\r\n:", 8) == 0;
    }
    if (fx_raw_send_str(fd, "PING\r\n") != 0) {
        close(fd);
        return false;
    }
    res = fx_raw_read(fd, buf, sizeof(buf), 0, "\r\n", 1000);
    close(fd);
    if (s->ready == FX_READY_PONG)
        ok = strncmp(buf, "+PONG\r\n", 7) == 0;
    else
        ok = res.len >= 3 && (buf[0] == '+' || buf[0] == '-');
    return ok;
}

static int server_wait(struct fx_server *s, int timeout_ms)
{
    int64_t deadline = fx_now_ms() + timeout_ms;

    for (;;) {
        if (!server_check_alive(s))
            return -1;
        if (server_probe(s))
            return 0;
        if (fx_now_ms() >= deadline)
            return -2;
        sleep_ms(FX_POLL_MS);
    }
}

void fx_server_dump_log(const struct fx_server *s)
{
    char buf[4096];
    FILE *f = fopen(s->log_path, "r");
    size_t n;

    fprintf(stderr, "----- log of server %d (port %d): %s -----\n", s->id, s->port, s->log_path);
    if (f != NULL) {
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
            fwrite(buf, 1, n, stderr);
        fclose(f);
    }
    fprintf(stderr, "----- end of log of server %d -----\n", s->id);
}

/* Say why S did not start (RC of server_wait: -2 not ready by TIMEOUT_MS, killed now; else it
 * exited) and print its log. Returns -1. */
static int server_start_failed(struct fx_server *s, int rc, int timeout_ms)
{
    if (rc == -2) {
        fprintf(stderr, "fx: server %d (pid %d) not ready on port %d after %d ms\n", s->id,
                (int)s->pid, s->port, timeout_ms);
        fx_server_kill(s);
    } else {
        fprintf(stderr, "fx: server %d exited during start (status 0x%x)\n", s->id,
                (unsigned)s->last_status);
    }
    fx_server_dump_log(s);
    return -1;
}

int fx_server_wait_ready(struct fx_server *s, int timeout_ms)
{
    int rc = server_wait(s, timeout_ms);

    return rc == 0 ? 0 : server_start_failed(s, rc, timeout_ms);
}

static bool log_says_port_taken(const struct fx_server *s)
{
    char buf[65536];
    FILE *f = fopen(s->log_path, "r");
    size_t n;

    if (f == NULL)
        return false;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, "in use") != NULL;
}

int fx_server_start(struct fx_server *s)
{
    for (int attempt = 0;; attempt++) {
        int rc;

        if (fx_server_spawn(s) != 0)
            return -1;
        rc = server_wait(s, FX_START_TIMEOUT_MS);
        if (rc == 0)
            return 0;
        /* Another process took one of our ports between the check and the bind. */
        if (rc == -1 && !s->fixed_ports && attempt < 3 && log_says_port_taken(s)) {
            fprintf(stderr, "fx: server %d: port taken, retrying on new ports\n", s->id);
            server_pick_ports(s);
            continue;
        }
        return server_start_failed(s, rc, FX_START_TIMEOUT_MS);
    }
}

struct fx_server *fx_server_up(const char *const *extra_args)
{
    struct fx_server *s = fx_server_new(1, extra_args);

    if (fx_server_start(s) != 0) {
        fx_server_free(s);
        cr_assert_fail("server failed to start (%s); its log is above", fx_server_binary());
    }
    return s;
}

static int server_reap(struct fx_server *s, int status)
{
    registry_remove(s->pid);
    s->pid = 0;
    s->last_status = status;
    return status;
}

int fx_server_stop(struct fx_server *s)
{
    int status;

    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    kill(s->pid, SIGCONT); /* a paused server could not act on SIGTERM */
    status = fx_server_wait_exit(s, FX_STOP_TIMEOUT_MS);
    if (status != -2) {
        if (status != 0 && s->log_path != NULL) {
            /* an unclean exit fails the caller's check: show why before its dir goes */
            fprintf(stderr, "fx: server %d (port %d) exited with status %d\n", s->id, s->port,
                    status);
            fx_server_dump_log(s);
        }
        return status;
    }
    fprintf(stderr, "fx: server %d (pid %d) ignored SIGTERM for %d ms; killing it\n", s->id,
            (int)s->pid, FX_STOP_TIMEOUT_MS);
    return fx_server_kill(s);
}

int fx_server_wait_exit(struct fx_server *s, int timeout_ms)
{
    int64_t deadline = fx_now_ms() + timeout_ms;
    int status;

    if (s->pid <= 0)
        return -1;
    for (;;) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid)
            return server_reap(s, status);
        if (r < 0 && errno != EINTR)
            return server_reap(s, -1);
        if (fx_now_ms() >= deadline)
            return -2;
        sleep_ms(FX_POLL_MS);
    }
}

int fx_server_kill(struct fx_server *s)
{
    int status = -1;

    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGKILL);
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {
    }
    return server_reap(s, status);
}

int fx_server_pause(struct fx_server *s)
{
    return s->pid > 0 ? kill(s->pid, SIGSTOP) : -1;
}

int fx_server_resume(struct fx_server *s)
{
    return s->pid > 0 ? kill(s->pid, SIGCONT) : -1;
}

/* ---- clusters ---- */

struct fx_cluster *fx_cluster_start(int n, const char *const *extra_args)
{
    struct fx_cluster *c = calloc(1, sizeof(*c));
    size_t len = 0, nextra = 0;
    const char **args;

    cr_assert(c != NULL && n > 0);
    cr_assert(!fx_redis_mode(), "fx_cluster_start: clusters need concordkv-server");
    c->n = n;
    c->nodes = calloc((size_t)n, sizeof(*c->nodes));
    cr_assert(c->nodes != NULL);
    for (int i = 0; i < n; i++) {
        c->nodes[i] = fx_server_new(i + 1, NULL);
        c->nodes[i]->fixed_ports = true;
        c->nodes[i]->ready = FX_READY_PONG; /* followers do not serve reads */
    }
    c->cluster_arg = calloc((size_t)n, 48);
    cr_assert(c->cluster_arg != NULL);
    for (int i = 0; i < n; i++)
        len += (size_t)sprintf(c->cluster_arg + len, "%s%d@127.0.0.1:%d", i ? "," : "", i + 1,
                               c->nodes[i]->raft_port);
    while (extra_args != NULL && extra_args[nextra] != NULL)
        nextra++;
    args = calloc(nextra + 3, sizeof(*args));
    cr_assert(args != NULL);
    args[0] = "--cluster";
    args[1] = c->cluster_arg;
    for (size_t i = 0; i < nextra; i++)
        args[2 + i] = extra_args[i];
    for (int i = 0; i < n; i++) {
        strv_free(c->nodes[i]->extra_args);
        c->nodes[i]->extra_args = strv_copy(args);
    }
    free(args);
    /* Spawn all before waiting: a node may need a quorum before it answers. */
    for (int i = 0; i < n; i++)
        cr_assert(fx_server_spawn(c->nodes[i]) == 0, "fx_cluster_start: spawn of node %d", i + 1);
    for (int i = 0; i < n; i++) {
        if (fx_server_wait_ready(c->nodes[i], FX_START_TIMEOUT_MS) != 0) {
            fx_cluster_stop(c);
            cr_assert_fail("fx_cluster_start: node %d failed to start; its log is above", i + 1);
        }
    }
    return c;
}

void fx_cluster_stop(struct fx_cluster *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->n; i++)
        if (c->nodes[i] != NULL && c->nodes[i]->pid > 0) {
            kill(c->nodes[i]->pid, SIGTERM);
            kill(c->nodes[i]->pid, SIGCONT); /* a paused node could not act on it */
        }
    /* One SIGTERM each: a second one would make a node abandon its shutdown half-way. */
    for (int i = 0; i < c->n; i++)
        if (c->nodes[i] != NULL && c->nodes[i]->pid > 0 &&
            fx_server_wait_exit(c->nodes[i], FX_STOP_TIMEOUT_MS) == -2) {
            fprintf(stderr, "fx: server %d (pid %d) ignored SIGTERM for %d ms; killing it\n",
                    c->nodes[i]->id, (int)c->nodes[i]->pid, FX_STOP_TIMEOUT_MS);
            fx_server_kill(c->nodes[i]);
        }
    for (int i = 0; i < c->n; i++)
        fx_server_free(c->nodes[i]);
    free(c->nodes);
    free(c->cluster_arg);
    free(c);
}

/* ---- hiredis helpers ---- */

redisContext *fx_try_connect(int port)
{
    struct timeval ct = {2, 0};
    struct timeval cmd = {FX_CMD_TIMEOUT_MS / 1000, (FX_CMD_TIMEOUT_MS % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, ct);

    if (c == NULL)
        return NULL;
    if (c->err || redisSetTimeout(c, cmd) != REDIS_OK) {
        redisFree(c);
        return NULL;
    }
    /* Servers we spawn later must not inherit this connection. */
    fcntl(c->fd, F_SETFD, FD_CLOEXEC);
    return c;
}

redisContext *fx_connect(int port)
{
    struct timeval ct = {2, 0};
    redisContext *c = fx_try_connect(port);

    if (c == NULL) {
        redisContext *e = redisConnectWithTimeout("127.0.0.1", port, ct);
        cr_assert_fail("fx_connect(%d): %s", port, e != NULL ? e->errstr : "out of memory");
    }
    return c;
}

redisReply *fx_cmd(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert(r != NULL, "command '%s' failed: %s", fmt, c->errstr);
    return r;
}

redisReply *fx_cmd_argv(redisContext *c, int argc, const char **argv, const size_t *argvlen)
{
    redisReply *r = redisCommandArgv(c, argc, argv, argvlen);

    cr_assert(r != NULL, "command '%s' failed: %s", argc > 0 ? argv[0] : "", c->errstr);
    return r;
}

const char *fx_reply_type_name(int type)
{
    switch (type) {
    case REDIS_REPLY_STRING: return "string";
    case REDIS_REPLY_ARRAY: return "array";
    case REDIS_REPLY_INTEGER: return "integer";
    case REDIS_REPLY_NIL: return "nil";
    case REDIS_REPLY_STATUS: return "status";
    case REDIS_REPLY_ERROR: return "error";
    default: return "unknown";
    }
}

static void assert_text(const redisReply *r, int type, const char *text)
{
    cr_assert(r->type == type, "expected %s \"%s\", got %s \"%.*s\"", fx_reply_type_name(type),
              text, fx_reply_type_name(r->type), r->str ? (int)r->len : 0, r->str ? r->str : "");
    cr_assert(r->len == strlen(text) && memcmp(r->str, text, r->len) == 0,
              "expected %s \"%s\", got \"%.*s\"", fx_reply_type_name(type), text, (int)r->len,
              r->str);
}

void fx_assert_status(const redisReply *r, const char *text)
{
    assert_text(r, REDIS_REPLY_STATUS, text);
}

void fx_assert_string(const redisReply *r, const char *text)
{
    assert_text(r, REDIS_REPLY_STRING, text);
}

void fx_assert_error(const redisReply *r, const char *text)
{
    assert_text(r, REDIS_REPLY_ERROR, text);
}

void fx_assert_error_prefix(const redisReply *r, const char *prefix)
{
    cr_assert(r->type == REDIS_REPLY_ERROR, "expected an error \"%s...\", got %s", prefix,
              fx_reply_type_name(r->type));
    cr_assert(strncmp(r->str, prefix, strlen(prefix)) == 0, "expected error \"%s...\", got \"%s\"",
              prefix, r->str);
}

void fx_assert_integer(const redisReply *r, long long value)
{
    cr_assert(r->type == REDIS_REPLY_INTEGER, "expected integer %lld, got %s \"%.*s\"", value,
              fx_reply_type_name(r->type), r->str ? (int)r->len : 0, r->str ? r->str : "");
    cr_assert(r->integer == value, "expected integer %lld, got %lld", value, r->integer);
}

void fx_assert_nil(const redisReply *r)
{
    cr_assert(r->type == REDIS_REPLY_NIL, "expected nil, got %s \"%.*s\"",
              fx_reply_type_name(r->type), r->str ? (int)r->len : 0, r->str ? r->str : "");
}

static redisReply *vcmd(redisContext *c, const char *fmt, va_list ap)
{
    redisReply *r = redisvCommand(c, fmt, ap);

    cr_assert(r != NULL, "command '%s' failed: %s", fmt, c->errstr);
    return r;
}

#define FX_CHECK_BODY(assertion)      \
    va_list ap;                       \
    redisReply *r;                    \
    va_start(ap, fmt);                \
    r = vcmd(c, fmt, ap);             \
    va_end(ap);                       \
    assertion;                        \
    freeReplyObject(r)

void fx_check_status(redisContext *c, const char *text, const char *fmt, ...)
{
    FX_CHECK_BODY(fx_assert_status(r, text));
}

void fx_check_string(redisContext *c, const char *text, const char *fmt, ...)
{
    FX_CHECK_BODY(fx_assert_string(r, text));
}

void fx_check_integer(redisContext *c, long long value, const char *fmt, ...)
{
    FX_CHECK_BODY(fx_assert_integer(r, value));
}

void fx_check_error(redisContext *c, const char *text, const char *fmt, ...)
{
    FX_CHECK_BODY(fx_assert_error(r, text));
}

void fx_check_nil(redisContext *c, const char *fmt, ...)
{
    FX_CHECK_BODY(fx_assert_nil(r));
}

/* ---- polling ---- */

bool fx_wait_until(bool (*pred)(void *arg), void *arg, int timeout_ms)
{
    int64_t deadline = fx_now_ms() + timeout_ms;

    for (;;) {
        if (pred(arg))
            return true;
        if (fx_now_ms() >= deadline)
            return pred(arg);
        sleep_ms(FX_POLL_MS);
    }
}
