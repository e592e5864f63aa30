/* Integration-test fixtures: free loopback ports, temp dirs, server processes, hiredis helpers.
 * Used by Criterion tests; helpers that "assert" abort the current test on failure.
 * Never touches processes it did not start: everything is killed by pid. */
#ifndef CONCORDKV_FIXTURE_H
#define CONCORDKV_FIXTURE_H

/* The cluster-secret every ConcordKV node started by the fixtures gets (server_argv), unless
 * its extra args carry --cluster-secret or --cluster-secret-file. */
#define FX_CLUSTER_SECRET "concordkv-test-secret"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

/* Offsets from the RESP port, as the server's defaults (SPEC.md). */
#define FX_ADMIN_OFFSET 2000
#define FX_RAFT_OFFSET 10000
/* Deadlines of start, stop and hiredis commands. */
#define FX_START_TIMEOUT_MS 10000
#define FX_STOP_TIMEOUT_MS 10000
#define FX_CMD_TIMEOUT_MS 10000

/* ---- environment ---- */

/* True when CONCORDKV_TEST_REDIS is set (and not "0"): servers are redis-server, and options
 * only ConcordKV knows are dropped. */
bool fx_redis_mode(void);

/* The server binary: redis-server (or $REDIS_SERVER) in redis mode; else $CONCORDKV_SERVER, else
 * the first executable of ./concordkv-server, ../concordkv-server, ../../concordkv-server and the
 * same relative to this test's executable. Returns a static string, or NULL if none is found. */
const char *fx_server_binary(void);

/* Monotonic clock in milliseconds. */
int64_t fx_now_ms(void);

/* ---- ports and directories ---- */

/* A random port in 20000..29999 such that it, port + FX_ADMIN_OFFSET and port + FX_RAFT_OFFSET
 * are all bindable on 127.0.0.1 and were not handed out before by this process, nor by any
 * other live process using these fixtures (a flock per port under $TMPDIR/concordkv-fx-ports,
 * held until this process exits). When the kernel's ephemeral range starts above 31000 the
 * range shrinks so that port + FX_RAFT_OFFSET stays below it: a killed node's ports cannot be
 * taken by outgoing connections meanwhile. Aborts the test if none is found after many tries. */
int fx_free_port(void);

/* A new directory under $TMPDIR (or /tmp) named PREFIX-XXXXXX. The caller owns the string
 * (free it) and the directory (fx_rm_rf it). Returns NULL on failure. */
char *fx_tmpdir_new(const char *prefix);

/* Remove PATH recursively (no symlinks are followed). Returns 0, or -1 with errno set. */
int fx_rm_rf(const char *path);

/* ---- server processes ---- */

enum fx_ready {
    FX_READY_SERVING, /* PING answers +PONG and a read (EXISTS) an integer: a single node has
                         elected itself and serves (the default of fx_server_new) */
    FX_READY_PONG,   /* PING answers +PONG (cluster nodes, --bootstrap no) */
    FX_READY_REPLY,  /* PING gets any reply, error included (e.g. -NOAUTH) */
    FX_READY_ACCEPT, /* the RESP port accepts connections */
};

struct fx_server {
    int id;
    int port, raft_port, admin_port;
    char *dir;                /* data dir, owned; also holds the log */
    char *log_path;           /* owned */
    pid_t pid;                /* 0 when not running */
    char **extra_args;        /* owned, NULL-terminated copy */
    enum fx_ready ready;      /* how fx_server_start decides the server is up */
    bool fixed_ports;         /* ports are known to others (cluster): never re-pick them */
    int last_status;          /* waitpid status of the last stop/kill */
    char *config_file;        /* owned; when set, given first (the config file argument) */
};

/* A server description with id ID, fresh free ports and a fresh temp dir; not started.
 * EXTRA_ARGS (NULL-terminated, may be NULL) is copied. Readiness is FX_READY_SERVING, or
 * FX_READY_REPLY if EXTRA_ARGS has --requirepass, FX_READY_PONG if it has --bootstrap, --join
 * or --cluster; change s->ready before starting to override. Free with fx_server_free.
 * Aborts the test on failure. */
struct fx_server *fx_server_new(int id, const char *const *extra_args);

/* Stop S if running, remove its directory and free it. NULL is a no-op. */
void fx_server_free(struct fx_server *s);

/* Start the process without waiting for it to be ready. Returns 0 or -1. */
int fx_server_spawn(struct fx_server *s);

/* Wait (up to TIMEOUT_MS) for S to be ready per s->ready. Returns 0, or -1 if the process exited
 * or the deadline passed; on failure the server's log is printed to stderr. */
int fx_server_wait_ready(struct fx_server *s, int timeout_ms);

/* Spawn and wait for readiness (FX_START_TIMEOUT_MS). If the server exits because a port was
 * taken meanwhile, picks new ports and retries (unless fixed_ports). Returns 0 or -1 (the log
 * has been printed). Restarting a stopped server keeps its directory. */
int fx_server_start(struct fx_server *s);

/* fx_server_new + fx_server_start, aborting the test on failure. */
struct fx_server *fx_server_up(const char *const *extra_args);

/* SIGTERM, poll waitpid up to FX_STOP_TIMEOUT_MS, then SIGKILL. Returns the wait status
 * (also in s->last_status), or -1 if S was not running. */
int fx_server_stop(struct fx_server *s);

/* Wait up to TIMEOUT_MS for S to exit by itself (after a signal the caller sent), sending
 * nothing. Returns the wait status (also in s->last_status), -1 if S was not running, or -2 if
 * it is still running at the deadline (it is left running). */
int fx_server_wait_exit(struct fx_server *s, int timeout_ms);

/* SIGKILL and reap. Returns the wait status, or -1 if S was not running. */
int fx_server_kill(struct fx_server *s);

/* SIGSTOP / SIGCONT (chaos tests). Return 0 or -1. */
int fx_server_pause(struct fx_server *s);
int fx_server_resume(struct fx_server *s);

/* True if S's process has not exited (reaps it if it has). */
bool fx_server_alive(struct fx_server *s);

/* Print S's log to stderr, framed by a header. */
void fx_server_dump_log(const struct fx_server *s);

/* SIGKILL and reap every server this process started and has not stopped, naming its directory
 * (left in place for a post-mortem) on stderr. Registered with atexit at the first start; use it
 * as a Criterion .fini too. Async-signal-safe. */
void fx_kill_all(void);

/* ---- clusters (not in redis mode) ---- */

struct fx_cluster {
    int n;
    struct fx_server **nodes; /* nodes[i]->id == i + 1 */
    char *cluster_arg;        /* "1@127.0.0.1:<raft1>,2@..." */
};

/* N servers with ids 1..N, each given --cluster <all voters> plus EXTRA_ARGS, spawned together,
 * then waited for. Aborts the test on failure (and in redis mode: skip cluster tests there). */
struct fx_cluster *fx_cluster_start(int n, const char *const *extra_args);

/* Stop every node (one SIGTERM each, all at once; SIGKILL after FX_STOP_TIMEOUT_MS), remove
 * their directories, free C. NULL is a no-op. */
void fx_cluster_stop(struct fx_cluster *c);

/* ---- hiredis helpers ---- */

/* Connect to 127.0.0.1:PORT (2 s connect timeout, FX_CMD_TIMEOUT_MS command timeout).
 * fx_connect aborts the test on failure; fx_try_connect returns NULL. Free with redisFree. */
redisContext *fx_connect(int port);
redisContext *fx_try_connect(int port);

/* redisCommand (hiredis formats: %s, %b with a size_t length; no printf checking) that aborts
 * the test on a NULL reply (I/O error, timeout). Caller frees the reply with freeReplyObject. */
redisReply *fx_cmd(redisContext *c, const char *fmt, ...);
redisReply *fx_cmd_argv(redisContext *c, int argc, const char **argv, const size_t *argvlen);

/* Assertions on a reply (which they do not free). */
void fx_assert_status(const redisReply *r, const char *text);
void fx_assert_string(const redisReply *r, const char *text);
void fx_assert_integer(const redisReply *r, long long value);
void fx_assert_error(const redisReply *r, const char *text);
void fx_assert_error_prefix(const redisReply *r, const char *prefix);
void fx_assert_nil(const redisReply *r);

/* Run a command and assert its reply in one call; the reply is freed. */
void fx_check_status(redisContext *c, const char *text, const char *fmt, ...);
void fx_check_string(redisContext *c, const char *text, const char *fmt, ...);
void fx_check_integer(redisContext *c, long long value, const char *fmt, ...);
void fx_check_error(redisContext *c, const char *text, const char *fmt, ...);
void fx_check_nil(redisContext *c, const char *fmt, ...);

/* Text of a reply type, for messages. */
const char *fx_reply_type_name(int type);

/* ---- polling ---- */

/* Call PRED(ARG) every ~10 ms until it returns true or TIMEOUT_MS passes. Returns true if it
 * did (it is always called at least once, and once more at the deadline). */
bool fx_wait_until(bool (*pred)(void *arg), void *arg, int timeout_ms);

/* ---- raw sockets ---- */

/* A blocking TCP_NODELAY socket connected to 127.0.0.1:PORT, or -1 (fx_raw_connect aborts). */
int fx_raw_try_connect(int port);
int fx_raw_connect(int port);

/* Send all LEN bytes (MSG_NOSIGNAL). Returns 0, or -errno if the peer closed or failed. */
int fx_raw_send(int fd, const void *buf, size_t len);
int fx_raw_send_str(int fd, const char *s);

struct fx_raw_result {
    size_t len;      /* bytes stored in buf (NUL-terminated, so cap - 1 at most) */
    bool eof;        /* the peer closed (EOF or ECONNRESET) */
    bool timed_out;  /* the deadline passed first */
};

/* Read into BUF (capacity CAP) until at least WANT bytes have arrived (WANT > 0), or PATTERN
 * occurs in what was read (PATTERN non-NULL), or the peer closes, or TIMEOUT_MS passes. With
 * WANT == 0 and no PATTERN, reads until EOF or the deadline. */
struct fx_raw_result fx_raw_read(int fd, char *buf, size_t cap, size_t want, const char *pattern,
                                 int timeout_ms);

/* Read exactly strlen(EXPECTED) bytes (deadline TIMEOUT_MS) and assert they equal EXPECTED. */
void fx_raw_expect(int fd, const char *expected, int timeout_ms);

/* True if the peer closes FD within TIMEOUT_MS; any data read meanwhile is discarded. */
bool fx_raw_wait_closed(int fd, int timeout_ms);

/* True if no byte is readable on FD right now (non-blocking check, no waiting). */
bool fx_raw_nothing_pending(int fd);

#endif
