/* Integration tests of replication: real 3-node clusters (and one single node) on free loopback
 * ports in temp dirs; election, redirection, failover under load, minority and majority loss,
 * restarts, snapshot catch-up and ordering. Every wait polls against a deadline. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "fixture.h"

/* Elections in ~0.3-0.6 s instead of 1-2 s; heartbeats well inside that. */
#define FAST_TIMEOUTS "--election-timeout", "300", "--heartbeat-timeout", "50"
#define LEADER_MS 10000   /* deadline of an election */
#define CONVERGE_MS 20000 /* deadline of followers catching up */
#define STALL_MS 80000    /* ... stretched once for the known install-snapshot stall */
#define WRITE_MS 10000    /* deadline of a write that follows redirects */

TestSuite(cluster, .fini = fx_kill_all, .timeout = 150);

/* The cluster of the current test (each test runs in its own process), and a connection to
 * the node last found leading, reused by leader_cmd. */
static struct fx_cluster *cl;
static redisContext *lconn;
static int lconn_idx = -1;
static bool paused[3]; /* SIGSTOPped: connections to it would hang, so helpers skip it */

static const char *const fast_args[] = {FAST_TIMEOUTS, NULL};

static void start_cluster(const char *const *extra)
{
    cl = fx_cluster_start(3, extra != NULL ? extra : fast_args);
}

static void drop_leader_conn(void)
{
    if (lconn != NULL)
        redisFree(lconn);
    lconn = NULL;
    lconn_idx = -1;
}

/* SIGTERM every running node at once and assert each exits with status 0, then clean up. */
static void stop_cluster(void)
{
    drop_leader_conn();
    for (int i = 0; i < cl->n; i++)
        if (cl->nodes[i]->pid > 0)
            kill(cl->nodes[i]->pid, SIGTERM);
    for (int i = 0; i < cl->n; i++) {
        int st = fx_server_wait_exit(cl->nodes[i], FX_STOP_TIMEOUT_MS);
        cr_assert(st != -2, "node %d ignored SIGTERM for %d ms", i + 1, FX_STOP_TIMEOUT_MS);
        cr_assert(st == -1 || (WIFEXITED(st) && WEXITSTATUS(st) == 0),
                  "node %d did not exit cleanly when the cluster was stopped (status 0x%x)", i + 1,
                  (unsigned)st);
    }
    fx_cluster_stop(cl);
    cl = NULL;
}

static struct fx_server *node(int i)
{
    return cl->nodes[i];
}

static bool running(int i)
{
    return !paused[i] && node(i)->pid > 0 && fx_server_alive(node(i));
}

/* ---- asking one node ---- */

/* One command on a fresh connection to PORT; NULL if the node is down or did not answer. */
static redisReply *port_cmd(int port, const char *fmt, ...)
{
    redisContext *c = fx_try_connect(port);
    redisReply *r;
    va_list ap;

    if (c == NULL)
        return NULL;
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return r;
}

/* Copy the value of FIELD from the INFO SECTION of the node on PORT into OUT. */
static bool info_field(int port, const char *section, const char *field, char *out, size_t cap)
{
    redisReply *r = port_cmd(port, "INFO %s", section);
    bool found = false;

    if (r == NULL)
        return false;
    if (r->type == REDIS_REPLY_STRING) {
        size_t flen = strlen(field);
        for (const char *p = r->str; p != NULL && *p != '\0';) {
            const char *eol = strstr(p, "\r\n");
            size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
            if (len > flen && strncmp(p, field, flen) == 0 && p[flen] == ':') {
                snprintf(out, cap, "%.*s", (int)(len - flen - 1), p + flen + 1);
                found = true;
                break;
            }
            p = eol != NULL ? eol + 2 : NULL;
        }
    }
    freeReplyObject(r);
    return found;
}

/* An integer INFO field, or -1 if it could not be read. */
static long long info_ll(int port, const char *section, const char *field)
{
    char buf[64];

    return info_field(port, section, field, buf, sizeof(buf)) ? strtoll(buf, NULL, 10) : -1;
}

/* DEBUG DIGEST of the node on PORT into OUT (41 bytes); false if unavailable or malformed. */
static bool node_digest(int port, char out[41])
{
    redisReply *r = port_cmd(port, "DEBUG DIGEST");
    bool ok = false;

    if (r == NULL)
        return false;
    if ((r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING) && r->len == 40 &&
        strspn(r->str, "0123456789abcdef") == 40) {
        memcpy(out, r->str, 41);
        ok = true;
    }
    freeReplyObject(r);
    return ok;
}

/* ---- the leader ---- */

/* Index of the only running node that says it leads and is ready to serve; -1 if none, -2 if
 * more than one. */
static int leader_now(void)
{
    int found = -1;
    char state[32];

    for (int i = 0; i < cl->n; i++) {
        if (!running(i) || !info_field(node(i)->port, "raft", "raft_state", state, sizeof(state)))
            continue;
        if (strcmp(state, "leader") != 0 || info_ll(node(i)->port, "raft", "raft_ready") != 1)
            continue;
        if (found >= 0)
            return -2;
        found = i;
    }
    return found;
}

static bool leader_known(void *arg)
{
    int *idx = arg;

    *idx = leader_now();
    return *idx >= 0;
}

/* Wait for a serving leader; returns its index. */
static int wait_leader(void)
{
    int idx = -1;

    cr_assert(fx_wait_until(leader_known, &idx, LEADER_MS), "no single ready leader after %d ms",
              LEADER_MS);
    return idx;
}

/* A redirect or refusal: the command was certainly not applied, another node may take it. */
static bool is_redirect(const redisReply *r)
{
    static const char *const prefixes[] = {"MOVED ", "CLUSTERDOWN ", "TRYAGAIN ", NULL};

    if (r->type != REDIS_REPLY_ERROR)
        return false;
    for (int i = 0; prefixes[i] != NULL; i++)
        if (strncmp(r->str, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

struct leader_try {
    const char *cmd; /* formatted RESP */
    size_t len;
    redisReply *reply;
};

/* Send the command to the current leader; true once it got an answer that is not a redirect. */
static bool leader_try_once(void *arg)
{
    struct leader_try *t = arg;
    redisReply *r = NULL;

    if (lconn != NULL && !running(lconn_idx))
        drop_leader_conn();
    if (lconn == NULL) {
        int idx = leader_now();
        if (idx < 0)
            return false;
        lconn = fx_try_connect(node(idx)->port);
        if (lconn == NULL)
            return false;
        lconn_idx = idx;
    }
    if (redisAppendFormattedCommand(lconn, t->cmd, t->len) != REDIS_OK ||
        redisGetReply(lconn, (void **)&r) != REDIS_OK || r == NULL) {
        drop_leader_conn();
        return false;
    }
    if (is_redirect(r)) {
        freeReplyObject(r);
        drop_leader_conn();
        return false;
    }
    t->reply = r;
    return true;
}

/* Run a command on the leader, following redirects (never applied, so safe to resend) until
 * WRITE_MS; aborts the test if no leader took it. An -UNCERTAIN or -TIMEOUT reply is returned
 * as is: only the caller knows whether resending is safe. The caller frees the reply. */
static redisReply *leader_cmd(const char *fmt, ...)
{
    struct leader_try t = {NULL, 0, NULL};
    char *cmd;
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    cr_assert(len > 0, "cannot format '%s'", fmt);
    t.cmd = cmd;
    t.len = (size_t)len;
    bool ok = fx_wait_until(leader_try_once, &t, WRITE_MS);
    redisFreeCommand(cmd);
    cr_assert(ok, "no leader answered '%s' within %d ms", fmt, WRITE_MS);
    return t.reply;
}

/* ---- convergence ---- */

struct converge {
    int leader;    /* index of the node whose digest is the target, or -1 */
    char want[41]; /* the target: fixed, or the leader's latest */
    char seen[3][41];
};

/* Every running node's digest equals the target. All are read each time, for the message. */
static bool all_digests_equal(void *arg)
{
    struct converge *cv = arg;
    bool equal = true;

    if (cv->leader >= 0 && !node_digest(node(cv->leader)->port, cv->want))
        snprintf(cv->want, sizeof(cv->want), "(leader did not answer)");
    for (int i = 0; i < cl->n; i++) {
        if (!running(i)) {
            snprintf(cv->seen[i], sizeof(cv->seen[i]), "(down)");
            continue;
        }
        if (!node_digest(node(i)->port, cv->seen[i])) {
            snprintf(cv->seen[i], sizeof(cv->seen[i]), "(no answer)");
            equal = false;
        } else if (strcmp(cv->seen[i], cv->want) != 0) {
            equal = false;
        }
    }
    return equal;
}

/* Print each running node's raft position to stderr: what a convergence failure needs. */
static void dump_raft_state(void)
{
    static const char *const fields[] = {"raft_state", "raft_term", "raft_leader_id",
                                         "raft_commit_index", "raft_applied_index",
                                         "raft_last_index", "raft_snapshot_index",
                                         "raft_snapshots", "raft_restores", NULL};
    char val[64];

    for (int i = 0; i < cl->n; i++) {
        fprintf(stderr, "node %d (%s):", i + 1, node(i)->dir);
        for (int f = 0; running(i) && fields[f] != NULL; f++)
            if (info_field(node(i)->port, "raft", fields[f], val, sizeof(val)))
                fprintf(stderr, " %s=%s", fields[f] + 5, val);
        fprintf(stderr, "%s\n", running(i) ? "" : " down");
    }
}

/* Copy every node's data dir (log, raft segments, snapshots) to a new temp dir that outlives
 * the test, and name it on stderr: a stall that resolves by itself leaves nothing otherwise. */
static void keep_evidence(void)
{
    char *dst = fx_tmpdir_new("concordkv-stall");
    char cmd[1024];

    if (dst == NULL)
        return;
    for (int i = 0; i < cl->n; i++) {
        snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s/node%d' 2>/dev/null", node(i)->dir, dst,
                 i + 1);
        if (system(cmd) != 0)
            fprintf(stderr, "WARNING: could not copy %s\n", node(i)->dir);
    }
    fprintf(stderr, "WARNING: the nodes' files are kept in %s\n", dst);
    free(dst);
}

/* Wait until every running node's DEBUG DIGEST equals WANT, or with WANT NULL the leader's
 * (re-read at every poll: the leader's own active expiry may still change it). Returns the
 * common digest in OUT (may be NULL). */
static void assert_converged(const char *want, char *out)
{
    struct converge cv;

    memset(&cv, 0, sizeof(cv));
    cv.leader = -1;
    if (want != NULL)
        snprintf(cv.want, sizeof(cv.want), "%s", want);
    else
        cv.leader = wait_leader();
    if (!fx_wait_until(all_digests_equal, &cv, CONVERGE_MS)) {
        /* Known, rare: a follower that is taking its own snapshot ignores the leader's
         * InstallSnapshot (canonical/raft 0.15), and the leader only resends it after
         * install-snapshot-timeout (60 s in consensus.c). Say so loudly, and allow it. */
        fprintf(stderr, "WARNING: no convergence after %d ms; waiting up to %d ms (stalled "
                        "snapshot install?). Raft state now:\n", CONVERGE_MS, STALL_MS);
        dump_raft_state();
        if (fx_wait_until(all_digests_equal, &cv, STALL_MS - CONVERGE_MS))
            fprintf(stderr, "WARNING: converged late; raft state:\n");
        dump_raft_state();
        keep_evidence();
    }
    cr_assert(all_digests_equal(&cv),
              "nodes did not converge on %s%s within %d ms: %s / %s / %s", cv.want,
              cv.leader >= 0 ? " (the leader's)" : "", STALL_MS, cv.seen[0], cv.seen[1],
              cv.seen[2]);
    if (out != NULL)
        memcpy(out, cv.want, 41);
}

/* ---- small checks ---- */

static void leader_set(const char *key, const char *val)
{
    redisReply *r = leader_cmd("SET %s %s", key, val);

    fx_assert_status(r, "OK");
    freeReplyObject(r);
}

static void leader_expect(const char *key, const char *val)
{
    redisReply *r = leader_cmd("GET %s", key);

    if (val == NULL)
        fx_assert_nil(r);
    else
        fx_assert_string(r, val);
    freeReplyObject(r);
}

/* Restart node I on its dir and ports; it answers PING once up (leader or not). */
static void restart_node(int i)
{
    cr_assert(fx_server_start(node(i)) == 0, "node %d failed to restart; its log is above", i + 1);
}

/* SIGTERM and wait; assert a clean exit (status 0). */
static void stop_node_cleanly(int i)
{
    int st = fx_server_stop(node(i));

    cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "node %d did not exit cleanly on SIGTERM (status 0x%x)", i + 1, (unsigned)st);
}

/* Milliseconds since T0 (fx_now_ms), for messages and the minority-refusal bound. */
static int64_t ms_since(int64_t t0)
{
    return fx_now_ms() - t0;
}

/* ---- 1. bootstrap and election ---- */

struct agreement {
    long long leader_id, term;
    char why[256];
};

/* Every node names the same leader (INFO raft and CLUSTER LEADER) in the same term. */
static bool nodes_agree(void *arg)
{
    struct agreement *a = arg;

    a->leader_id = -1;
    a->term = -1;
    for (int i = 0; i < cl->n; i++) {
        int port = node(i)->port;
        if (!running(i))
            continue;
        long long id = info_ll(port, "raft", "raft_leader_id");
        long long term = info_ll(port, "raft", "raft_term");
        redisReply *r = port_cmd(port, "CLUSTER LEADER");
        char resp[32] = "";
        bool ok = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
                  r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == id;

        /* Followers learn the leader's RESP address from an entry applied a little later. */
        if (ok && id >= 1 && id <= cl->n)
            snprintf(resp, sizeof(resp), "127.0.0.1:%d", node((int)id - 1)->port);
        ok = ok && r->element[2]->type == REDIS_REPLY_STRING &&
             strcmp(r->element[2]->str, resp) == 0;

        if (r != NULL)
            freeReplyObject(r);
        snprintf(a->why, sizeof(a->why), "node %d: leader %lld term %lld, CLUSTER LEADER %s", i + 1,
                 id, term, ok ? "agrees" : "differs");
        if (!ok || id <= 0 || term < 1)
            return false;
        if (a->leader_id < 0) {
            a->leader_id = id;
            a->term = term;
        } else if (id != a->leader_id || term != a->term) {
            return false;
        }
    }
    return true;
}

/* Every running node names the current leader and knows its RESP address (what MOVED
 * needs). */
static void wait_agreement(struct agreement *a)
{
    cr_assert(fx_wait_until(nodes_agree, a, LEADER_MS), "nodes disagree: %s", a->why);
}

/* Three fresh nodes elect exactly one leader, all agree on its id and addresses, term >= 1. */
Test(cluster, bootstrap_elects_one_leader)
{
    struct agreement a;
    int idx;
    char buf[64], port_s[16];
    redisReply *r;

    start_cluster(NULL);
    idx = wait_leader();
    wait_agreement(&a);
    cr_assert_eq(a.leader_id, idx + 1, "nodes name %lld, node %d says it leads", a.leader_id,
                 idx + 1);
    cr_assert_geq(a.term, 1);
    cr_assert_eq(leader_now(), idx, "a second leader appeared");

    /* CLUSTER LEADER gives the leader's id and its raft, RESP and admin addresses. */
    for (int i = 0; i < cl->n; i++) {
        redisContext *c = fx_connect(node(i)->port);
        r = fx_cmd(c, "CLUSTER LEADER");
        redisFree(c);
        cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
        cr_assert_eq(r->elements, 4);
        fx_assert_integer(r->element[0], idx + 1);
        snprintf(buf, sizeof(buf), "127.0.0.1:%d", node(idx)->raft_port);
        fx_assert_string(r->element[1], buf);
        snprintf(buf, sizeof(buf), "127.0.0.1:%d", node(idx)->port);
        fx_assert_string(r->element[2], buf);
        snprintf(buf, sizeof(buf), "127.0.0.1:%d", node(idx)->admin_port);
        fx_assert_string(r->element[3], buf);
        freeReplyObject(r);
    }
    /* INFO replication: one master, the others its replicas pointing at its RESP port. */
    snprintf(port_s, sizeof(port_s), "%d", node(idx)->port);
    for (int i = 0; i < cl->n; i++) {
        cr_assert(info_field(node(i)->port, "replication", "role", buf, sizeof(buf)));
        cr_assert_str_eq(buf, i == idx ? "master" : "slave", "node %d role %s", i + 1, buf);
        if (i != idx) {
            cr_assert(info_field(node(i)->port, "replication", "master_port", buf, sizeof(buf)));
            cr_assert_str_eq(buf, port_s);
            cr_assert(info_field(node(i)->port, "raft", "raft_state", buf, sizeof(buf)));
            cr_assert_str_eq(buf, "follower");
        }
    }
    stop_cluster();
}

/* ---- 2. writes and convergence ---- */

/* Writes on the leader are seen by linearizable reads there; all three digests then match. */
Test(cluster, leader_writes_replicate_to_followers)
{
    char empty[41], full[41], key[32], val[32];
    redisContext *c;
    redisReply *r;
    int idx;

    start_cluster(NULL);
    idx = wait_leader();
    assert_converged(NULL, empty);
    c = fx_connect(node(idx)->port);
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        snprintf(val, sizeof(val), "value:%d", i * 7);
        fx_check_status(c, "OK", "SET %s %s", key, val);
        fx_check_string(c, val, "GET %s", key);
    }
    fx_check_integer(c, 3, "INCRBY counter 3");
    fx_check_integer(c, 2, "DEL key:0 key:1");
    fx_check_integer(c, 199, "DBSIZE");
    r = fx_cmd(c, "MGET key:0 key:2 counter");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    fx_assert_nil(r->element[0]);
    fx_assert_string(r->element[1], "value:14");
    fx_assert_string(r->element[2], "3");
    freeReplyObject(r);
    redisFree(c);
    cr_assert_eq(leader_now(), idx, "leadership moved during the test");
    assert_converged(NULL, full);
    cr_assert_str_neq(full, empty, "the digest did not change with 200 writes");
    stop_cluster();
}

/* ---- 3. MOVED and redis-cli -c ---- */

/* Run "timeout 20 redis-cli ARGS" and return its stdout without the trailing newline. */
static char *run_cli(const char *args)
{
    char cmd[512], *out = calloc(1, 4096);
    size_t len = 0, n;
    FILE *p;
    int st;

    cr_assert(out != NULL);
    snprintf(cmd, sizeof(cmd), "timeout 20 redis-cli %s", args);
    p = popen(cmd, "r");
    cr_assert(p != NULL, "popen %s", cmd);
    while (len < 4095 && (n = fread(out + len, 1, 4095 - len, p)) > 0)
        len += n;
    st = pclose(p);
    cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "'%s' failed (0x%x): %s", cmd,
              (unsigned)st, out);
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        out[--len] = '\0';
    return out;
}

/* A follower redirects writes and reads with Redis Cluster's exact MOVED; redis-cli -c follows. */
Test(cluster, follower_answers_moved_and_redis_cli_follows)
{
    static const char *const keys[] = {"foo", "k", "{user1}.name", "a-much-longer-key:12345"};
    char want[128], args[128], *out;
    struct agreement a;
    redisContext *c;
    redisReply *r;
    int idx, f;

    if (system("command -v redis-cli >/dev/null 2>&1") != 0)
        cr_skip_test("redis-cli is not installed");
    start_cluster(NULL);
    idx = wait_leader();
    wait_agreement(&a);
    cr_assert_eq(a.leader_id, idx + 1);
    f = (idx + 1) % cl->n;
    c = fx_connect(node(f)->port);
    fx_check_integer(c, 12182, "CLUSTER KEYSLOT foo"); /* Redis's value */
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        r = fx_cmd(c, "CLUSTER KEYSLOT %s", keys[k]);
        cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
        snprintf(want, sizeof(want), "MOVED %lld 127.0.0.1:%d", r->integer, node(idx)->port);
        freeReplyObject(r);
        fx_check_error(c, want, "SET %s v", keys[k]);
        fx_check_error(c, want, "GET %s", keys[k]);
        fx_check_error(c, want, "INCR %s", keys[k]);
    }
    /* Keyless commands redirect with slot 0. */
    snprintf(want, sizeof(want), "MOVED 0 127.0.0.1:%d", node(idx)->port);
    fx_check_error(c, want, "DBSIZE");
    redisFree(c);
    c = fx_connect(node(idx)->port);
    fx_check_nil(c, "GET k");
    redisFree(c);

    snprintf(args, sizeof(args), "-c -p %d set k v", node(f)->port);
    out = run_cli(args);
    cr_assert_str_eq(out, "OK");
    free(out);
    snprintf(args, sizeof(args), "-c -p %d get k", node(f)->port);
    out = run_cli(args);
    cr_assert_str_eq(out, "v");
    free(out);
    leader_expect("k", "v");
    stop_cluster();
}

/* Every running node agrees that node IDX leads, and the followers' MOVED names its port. */
static void assert_redirects_to_leader(int idx)
{
    struct agreement a;
    char want[64];

    wait_agreement(&a);
    cr_assert_eq(a.leader_id, idx + 1);
    snprintf(want, sizeof(want), "MOVED 12182 127.0.0.1:%d", node(idx)->port);
    for (int i = 0; i < cl->n; i++) {
        if (i == idx || !running(i))
            continue;
        redisContext *c = fx_connect(node(i)->port);
        fx_check_error(c, want, "SET foo bar");
        redisFree(c);
    }
}

/* ---- pipelined INCR load (tests 4 and 11) ---- */

struct incr_conn {
    int fd;          /* -1 once closed */
    long sent;       /* INCRs written */
    long replies;    /* replies read */
    long acked;      /* integer replies */
    long not_applied;/* errors that say the INCR was not applied */
    long uncertain;  /* errors that say it may or may not have been */
    long unexpected; /* any other reply */
    long long last;  /* last integer reply */
    bool disorder;   /* an integer reply not above the previous one */
    char bad[160];   /* the first unexpected reply */
    char in[4096];
    size_t inlen;
};

struct incr_totals {
    long sent, acked, not_applied, uncertain, lost, unexpected;
};

struct incr_load {
    struct incr_totals past; /* connections closed by incr_reopen */
    int n, window;
    long limit; /* INCRs per connection */
    struct incr_conn conn[8];
    char cmd[96];
    size_t cmdlen;
    char *out; /* room for WINDOW commands */
    size_t outcap;
    long long *values; /* every integer reply */
    size_t nvalues, cap;
};

static void incr_open(struct incr_load *l, int n, int port, const char *key, int window, long limit)
{
    memset(l, 0, sizeof(*l));
    cr_assert(n <= 8);
    l->n = n;
    l->window = window;
    l->limit = limit;
    l->cmdlen = (size_t)snprintf(l->cmd, sizeof(l->cmd), "*2\r\n$4\r\nINCR\r\n$%zu\r\n%s\r\n",
                                 strlen(key), key);
    l->outcap = l->cmdlen * (size_t)window;
    l->out = malloc(l->outcap);
    cr_assert(l->out != NULL);
    for (int i = 0; i < n; i++)
        l->conn[i].fd = fx_raw_connect(port);
}

static void incr_close_conn(struct incr_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Close every connection, keeping its counts (and every reply value) in L, and open as many
 * fresh ones to PORT: a new phase of the same load. */
static void incr_reopen(struct incr_load *l, int port)
{
    for (int i = 0; i < l->n; i++) {
        struct incr_conn *c = &l->conn[i];
        l->past.sent += c->sent;
        l->past.acked += c->acked;
        l->past.not_applied += c->not_applied;
        l->past.uncertain += c->uncertain;
        l->past.lost += c->sent - c->replies;
        l->past.unexpected += c->unexpected;
        incr_close_conn(c);
        memset(c, 0, sizeof(*c));
        c->fd = fx_raw_connect(port);
    }
}

static void incr_reply(struct incr_load *l, struct incr_conn *c, const char *line, size_t len)
{
    c->replies++;
    if (line[0] == ':') {
        long long v = strtoll(line + 1, NULL, 10);
        c->acked++;
        if (v <= c->last)
            c->disorder = true;
        c->last = v;
        if (l->nvalues == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 4096;
            l->values = realloc(l->values, l->cap * sizeof(*l->values));
            cr_assert(l->values != NULL);
        }
        l->values[l->nvalues++] = v;
        return;
    }
    if (line[0] == '-' && (strncmp(line, "-MOVED ", 7) == 0 ||
                           strncmp(line, "-CLUSTERDOWN ", 13) == 0 ||
                           strncmp(line, "-TRYAGAIN ", 10) == 0 ||
                           strstr(line, "was not applied") != NULL)) {
        c->not_applied++;
        return;
    }
    if (strncmp(line, "-UNCERTAIN ", 11) == 0 || strncmp(line, "-TIMEOUT ", 9) == 0) {
        c->uncertain++;
        return;
    }
    if (c->unexpected++ == 0) {
        size_t n = len < sizeof(c->bad) - 1 ? len : sizeof(c->bad) - 1;
        memmove(c->bad, line, n);
        c->bad[n] = '\0';
    }
}

/* Read what is available on C and count complete replies; closes C on EOF or error. */
static void incr_read(struct incr_load *l, struct incr_conn *c)
{
    ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
    size_t start = 0;

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        incr_close_conn(c);
        return;
    }
    c->inlen += (size_t)n;
    for (;;) {
        char *eol = memmem(c->in + start, c->inlen - start, "\r\n", 2);
        if (eol == NULL)
            break;
        *eol = '\0';
        incr_reply(l, c, c->in + start, (size_t)(eol - (c->in + start)));
        start = (size_t)(eol - c->in) + 2;
    }
    memmove(c->in, c->in + start, c->inlen - start);
    c->inlen -= start;
    cr_assert(c->inlen < sizeof(c->in), "a reply line longer than %zu bytes", sizeof(c->in));
}

static long incr_acked(const struct incr_load *l)
{
    long a = l->past.acked;

    for (int i = 0; i < l->n; i++)
        a += l->conn[i].acked;
    return a;
}

enum pump_mode {
    PUMP_SEND,  /* keep WINDOW INCRs in flight on every open connection */
    PUMP_DRAIN, /* send nothing; read until every INCR sent is answered */
    PUMP_EOF,   /* send nothing; read until the server closed every connection */
};

/* Run MODE until STOP_AT acks in all (0: no such goal), nothing is left to do, or TIMEOUT_MS. */
static void incr_pump(struct incr_load *l, enum pump_mode mode, long stop_at, int timeout_ms)
{
    int64_t deadline = fx_now_ms() + timeout_ms;
    char *out = l->out;
    bool send = mode == PUMP_SEND;

    while (fx_now_ms() < deadline && (stop_at == 0 || incr_acked(l) < stop_at)) {
        struct pollfd pfd[8];
        int map[8], np = 0;

        for (int i = 0; i < l->n; i++) {
            struct incr_conn *c = &l->conn[i];
            long room = l->window - (c->sent - c->replies), k = l->limit - c->sent;
            size_t len = 0;

            if (c->fd < 0)
                continue;
            if (k > room)
                k = room;
            for (long j = 0; send && j < k; j++) {
                memcpy(out + len, l->cmd, l->cmdlen);
                len += l->cmdlen;
            }
            if (len > 0) {
                cr_assert(len <= l->outcap);
                if (fx_raw_send(c->fd, out, len) != 0) {
                    /* The bytes may or may not have reached the server: count them sent. */
                    c->sent += k;
                    incr_close_conn(c);
                    continue;
                }
                c->sent += k;
            }
            if (c->replies < c->sent || mode == PUMP_EOF) {
                pfd[np] = (struct pollfd){c->fd, POLLIN, 0};
                map[np++] = i;
            }
        }
        if (np == 0)
            break;
        if (poll(pfd, (nfds_t)np, 50) < 0 && errno != EINTR)
            cr_assert_fail("poll: %s", strerror(errno));
        for (int j = 0; j < np; j++)
            if (pfd[j].revents != 0)
                incr_read(l, &l->conn[map[j]]);
    }
}


/* Totals, asserting each connection's replies rose and no two INCRs got the same value. */
static struct incr_totals incr_check(struct incr_load *l)
{
    struct incr_totals t = l->past;

    for (int i = 0; i < l->n; i++) {
        struct incr_conn *c = &l->conn[i];
        t.sent += c->sent;
        t.acked += c->acked;
        t.not_applied += c->not_applied;
        t.uncertain += c->uncertain;
        t.lost += c->sent - c->replies;
        t.unexpected += c->unexpected;
        cr_expect(c->unexpected == 0, "connection %d got %ld unexpected replies, first: %s", i,
                  c->unexpected, c->bad);
        cr_assert(!c->disorder, "connection %d: INCR replies did not rise", i);
    }
    for (size_t i = 0; i < l->nvalues; i++)
        for (size_t j = i + 1; j < l->nvalues; j++)
            cr_assert_neq(l->values[i], l->values[j], "two INCRs both returned %lld", l->values[i]);
    return t;
}

static long long max_value(const struct incr_load *l)
{
    long long m = 0;

    for (size_t i = 0; i < l->nvalues; i++)
        if (l->values[i] > m)
            m = l->values[i];
    return m;
}

static void incr_free(struct incr_load *l)
{
    for (int i = 0; i < l->n; i++)
        incr_close_conn(&l->conn[i]);
    free(l->values);
    l->values = NULL;
    free(l->out);
    l->out = NULL;
}

static long long reply_ll(redisReply *r)
{
    long long v;

    cr_assert(r->type == REDIS_REPLY_STRING, "expected a number, got %s %s",
              fx_reply_type_name(r->type), r->str ? r->str : "");
    v = strtoll(r->str, NULL, 10);
    freeReplyObject(r);
    return v;
}

/* ---- 4. failover under load ---- */

/* kill -9 of the leader under 4 pipelining INCR clients: a new leader is elected, the counter
 * holds every acknowledged INCR and no more than acked + uncertain, and the node rejoins. */
Test(cluster, leader_kill_during_pipelined_incr)
{
    struct incr_load l;
    struct incr_totals t;
    long long v, v2;
    int64_t t0;
    int idx, nidx;

    start_cluster(NULL);
    idx = wait_leader();
    incr_open(&l, 4, node(idx)->port, "counter", 32, 1000000);
    incr_pump(&l, PUMP_SEND, 2000, 20000);
    cr_assert_geq(incr_acked(&l), 2000, "only %ld INCRs acknowledged before the kill",
                  incr_acked(&l));
    /* Keep the pipelines full right up to the kill. */
    fx_server_kill(node(idx));
    t0 = fx_now_ms();
    incr_pump(&l, PUMP_EOF, 0, 5000);
    for (int i = 0; i < l.n; i++)
        cr_assert_eq(l.conn[i].fd, -1, "connection %d to the killed leader stayed open", i);
    t = incr_check(&l);

    nidx = wait_leader();
    cr_assert_neq(nidx, idx);
    assert_redirects_to_leader(nidx);
    cr_log_info("new leader after %lld ms; sent %ld acked %ld uncertain %ld lost %ld not applied %ld",
                (long long)ms_since(t0), t.sent, t.acked, t.uncertain, t.lost, t.not_applied);
    v = reply_ll(leader_cmd("GET counter"));
    cr_assert_geq(v, t.acked, "acknowledged INCRs were lost: value %lld < %ld acked", v, t.acked);
    cr_assert_geq(v, max_value(&l), "value %lld below an acknowledged reply %lld", v,
                  max_value(&l));
    cr_assert_leq(v, t.acked + t.uncertain + t.lost,
                  "value %lld > acked %ld + uncertain %ld + lost %ld", v, t.acked, t.uncertain,
                  t.lost);
    cr_assert_eq(t.unexpected, 0);

    /* Writes go on with two nodes, and the killed one comes back to the same state. */
    redisReply *r = leader_cmd("INCR counter");
    fx_assert_integer(r, v + 1);
    freeReplyObject(r);
    restart_node(idx);
    assert_converged(NULL, NULL);
    v2 = reply_ll(leader_cmd("GET counter"));
    cr_assert_eq(v2, v + 1, "the counter moved from %lld to %lld after the restart", v + 1, v2);
    incr_free(&l);
    stop_cluster();
}

/* ---- 5. minority down ---- */

/* With one follower killed the other two keep taking writes; the follower then catches up. */
Test(cluster, minority_down_writes_continue_then_catch_up)
{
    char key[32], val[32], before[41], after[41];
    int idx, f;

    start_cluster(NULL);
    idx = wait_leader();
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "early:%d", i);
        leader_set(key, "x");
    }
    f = (idx + 2) % cl->n;
    assert_converged(NULL, before);
    fx_server_kill(node(f));
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "late:%d", i);
        snprintf(val, sizeof(val), "v%d", i);
        leader_set(key, val);
    }
    leader_expect("late:299", "v299");
    cr_assert(node_digest(node(wait_leader())->port, after));
    cr_assert_str_neq(after, before);
    restart_node(f);
    assert_converged(after, NULL);
    /* The returning follower is a follower of the same leader, and it keeps up. */
    leader_set("after:return", "1");
    assert_converged(NULL, NULL);
    stop_cluster();
}

/* ---- 6. majority down ---- */

#define BIG_LEN (64 * 1024)

static bool refused_reply(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR &&
           (is_redirect(r) || strncmp(r->str, "TIMEOUT ", 8) == 0 ||
            strncmp(r->str, "UNCERTAIN ", 10) == 0);
}

static bool node_not_leader(void *arg)
{
    char state[32];
    int port = *(int *)arg;

    return info_field(port, "raft", "raft_state", state, sizeof(state)) &&
           strcmp(state, "leader") != 0;
}

/* Pipeline one SET of a 64 KiB value, 20 two-key MSETs and a GET to PORT; every reply must be a
 * refusal within request-timeout (1 s) plus slack. */
static void write_to_minority(int port, const char *big, int round)
{
    redisContext *c = fx_connect(port);
    redisReply *r;
    int64_t t0 = fx_now_ms();

    redisAppendCommand(c, "SET big:%d %b", round, big, (size_t)BIG_LEN);
    for (int i = 0; i < 20; i++)
        redisAppendCommand(c, "MSET pa:%d:%d x%d pb:%d:%d x%d", round, i, i, round, i, i);
    redisAppendCommand(c, "GET early");
    for (int i = 0; i < 22; i++) {
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
        cr_assert(refused_reply(r), "round %d reply %d on a minority: %s \"%s\"", round, i,
                  fx_reply_type_name(r->type), r->str ? r->str : "");
        if (i == 0)
            cr_log_info("round %d: minority answered \"%s\" after %lld ms", round, r->str,
                        (long long)ms_since(t0));
        freeReplyObject(r);
    }
    cr_assert_leq(ms_since(t0), 1000 + 2000, "the minority took %lld ms to refuse",
                  (long long)ms_since(t0));
    redisFree(c);
}

/* Check that round ROUND's writes are all-or-nothing after the majority is back. */
static void check_atomic(const char *big, int round)
{
    redisReply *r = leader_cmd("GET big:%d", round);

    cr_assert(r->type == REDIS_REPLY_NIL ||
                  (r->type == REDIS_REPLY_STRING && r->len == BIG_LEN &&
                   memcmp(r->str, big, BIG_LEN) == 0),
              "big:%d is half there: %s of %zu bytes", round, fx_reply_type_name(r->type), r->len);
    freeReplyObject(r);
    for (int i = 0; i < 20; i++) {
        char want[16];
        r = leader_cmd("MGET pa:%d:%d pb:%d:%d", round, i, round, i);
        cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2);
        snprintf(want, sizeof(want), "x%d", i);
        if (r->element[0]->type == REDIS_REPLY_NIL) {
            fx_assert_nil(r->element[1]);
        } else {
            fx_assert_string(r->element[0], want);
            fx_assert_string(r->element[1], want);
        }
        freeReplyObject(r);
    }
}

/* With two of three nodes killed, writes and reads on the survivor are refused within
 * request-timeout, and after the restart each of those writes is whole or absent. */
Test(cluster, majority_down_refuses_and_applies_nothing_half)
{
    const char *const args[] = {FAST_TIMEOUTS, "--request-timeout", "1000", NULL};
    char *big = malloc(BIG_LEN);
    int idx, a, b, port;

    for (int i = 0; i < BIG_LEN; i++)
        big[i] = (char)('a' + i % 26);
    start_cluster(args);
    idx = wait_leader();
    leader_set("early", "1");
    assert_converged(NULL, NULL);
    a = (idx + 1) % cl->n;
    b = (idx + 2) % cl->n;
    port = node(idx)->port;
    fx_server_kill(node(a));
    fx_server_kill(node(b));
    /* Round 0: the survivor may still believe it leads. */
    write_to_minority(port, big, 0);
    /* Round 1: once it has noticed (it should step down without a quorum). */
    cr_assert(fx_wait_until(node_not_leader, &port, 5000),
              "the survivor still says it leads 5 s after losing its quorum");
    write_to_minority(port, big, 1);

    restart_node(a);
    restart_node(b);
    wait_leader();
    check_atomic(big, 0);
    check_atomic(big, 1);
    leader_expect("early", "1");
    assert_converged(NULL, NULL);
    free(big);
    stop_cluster();
}

/* ---- 7. full restart ---- */

/* SIGTERM every node, start them again on the same dirs: 1000 keys and the digest come back. */
Test(cluster, full_restart_keeps_all_data)
{
    char before[41], after[41];
    redisContext *c;
    redisReply *r;
    int idx;

    start_cluster(NULL);
    idx = wait_leader();
    c = fx_connect(node(idx)->port);
    for (int i = 0; i < 1000; i++)
        redisAppendCommand(c, "SET key:%d val:%d", i, i * 31);
    for (int i = 0; i < 1000; i++) {
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
        fx_assert_status(r, "OK");
        freeReplyObject(r);
    }
    fx_check_integer(c, 1000, "DBSIZE");
    redisFree(c);
    assert_converged(NULL, before);

    /* One SIGTERM each, all at once, as an init system would send them. */
    for (int i = 0; i < cl->n; i++)
        kill(node(i)->pid, SIGTERM);
    for (int i = 0; i < cl->n; i++) {
        int st = fx_server_wait_exit(node(i), FX_STOP_TIMEOUT_MS);
        cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "node %d did not exit cleanly on SIGTERM (status 0x%x)", i + 1, (unsigned)st);
    }
    drop_leader_conn();
    for (int i = 0; i < cl->n; i++)
        cr_assert(fx_server_spawn(node(i)) == 0);
    for (int i = 0; i < cl->n; i++)
        cr_assert(fx_server_wait_ready(node(i), FX_START_TIMEOUT_MS) == 0, "node %d", i + 1);
    wait_leader();
    assert_converged(before, after);
    r = leader_cmd("DBSIZE");
    fx_assert_integer(r, 1000);
    freeReplyObject(r);
    leader_expect("key:0", "val:0");
    leader_expect("key:999", "val:30969");
    stop_cluster();
}

/* ---- 8. catch-up through a snapshot ---- */

/* A follower that missed far more entries than the snapshot threshold catches up through an
 * installed snapshot, and then follows ordinary appends again. */
Test(cluster, lagging_follower_catches_up_from_snapshot)
{
    const char *const args[] = {FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    char key[32], val[32], want[41];
    redisContext *c;
    int idx, f;

    start_cluster(args);
    idx = wait_leader();
    leader_set("before", "1");
    assert_converged(NULL, NULL);
    f = (idx + 1) % cl->n;
    cr_assert_eq(info_ll(node(f)->port, "raft", "raft_restores"), 0);
    stop_node_cleanly(f);
    c = fx_connect(node(idx)->port);
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        snprintf(val, sizeof(val), "val:%d", i);
        fx_check_status(c, "OK", "SET %s %s", key, val);
    }
    redisFree(c);
    cr_assert_eq(leader_now(), idx, "leadership moved while writing");
    cr_assert_gt(info_ll(node(idx)->port, "raft", "raft_snapshot_index"), 1000,
                 "the leader did not compact its log");
    restart_node(f);
    assert_converged(NULL, want);
    cr_assert_geq(info_ll(node(f)->port, "raft", "raft_restores"), 1,
                  "the follower caught up without installing a snapshot");
    cr_assert_gt(info_ll(node(f)->port, "raft", "raft_snapshot_index"), 0);
    leader_set("after", "2");
    cr_assert(node_digest(node(idx)->port, want));
    assert_converged(want, NULL);
    leader_expect("key:1999", "val:1999");
    stop_cluster();
}

/* ---- 9. large values ---- */

/* Three 1 MiB binary values go through the cluster intact and every node holds them. */
Test(cluster, one_mebibyte_values_replicate)
{
    size_t n = 1024 * 1024;
    unsigned char *val = malloc(n);
    redisContext *c;
    redisReply *r;
    char before[41], after[41];
    int idx;

    cr_assert(val != NULL);
    start_cluster(NULL);
    idx = wait_leader();
    assert_converged(NULL, before);
    c = fx_connect(node(idx)->port);
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < n; i++)
            val[i] = (unsigned char)(((i + (size_t)k) * 2654435761u) >> 13);
        r = fx_cmd(c, "SET big:%d %b", k, val, n);
        fx_assert_status(r, "OK");
        freeReplyObject(r);
    }
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < n; i++)
            val[i] = (unsigned char)(((i + (size_t)k) * 2654435761u) >> 13);
        r = fx_cmd(c, "GET big:%d", k);
        cr_assert(r->type == REDIS_REPLY_STRING && r->len == n, "big:%d: %s of %zu bytes", k,
                  fx_reply_type_name(r->type), r->len);
        cr_assert(memcmp(r->str, val, n) == 0, "big:%d changed on the way", k);
        freeReplyObject(r);
    }
    redisFree(c);
    assert_converged(NULL, after);
    cr_assert_str_neq(before, after);
    free(val);
    stop_cluster();
}

/* ---- 10. pipelined order ---- */

/* 2000 pipelined SET k i / GET k pairs: every GET sees the SET just before it. */
Test(cluster, pipelined_reads_and_writes_keep_order)
{
    redisContext *c;
    redisReply *r;
    char want[16];
    int idx;

    start_cluster(NULL);
    idx = wait_leader();
    c = fx_connect(node(idx)->port);
    for (int i = 0; i < 2000; i++) {
        redisAppendCommand(c, "SET k %d", i);
        redisAppendCommand(c, "GET k");
    }
    for (int i = 0; i < 2000; i++) {
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "SET %d: %s", i, c->errstr);
        fx_assert_status(r, "OK");
        freeReplyObject(r);
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "GET %d: %s", i, c->errstr);
        snprintf(want, sizeof(want), "%d", i);
        fx_assert_string(r, want);
        freeReplyObject(r);
    }
    redisFree(c);
    stop_cluster();
}

/* ---- 11. one node, kill -9 ---- */

/* A one-node cluster killed with -9 mid-pipeline keeps every acknowledged INCR after restart. */
Test(cluster, single_node_kill9_keeps_acknowledged_writes)
{
    struct fx_server *s = fx_server_new(1, NULL);
    struct incr_load l;
    struct incr_totals t;
    redisContext *c;
    redisReply *r;
    long long v;

    cr_assert(fx_server_start(s) == 0, "the server did not start; its log is above");
    s->fixed_ports = true;
    incr_open(&l, 1, s->port, "n", 1000, 5000);
    incr_pump(&l, PUMP_SEND, 1500, 20000);
    cr_assert_geq(incr_acked(&l), 1500);
    fx_server_kill(s);
    incr_pump(&l, PUMP_EOF, 0, 5000);
    cr_assert_eq(l.conn[0].fd, -1, "the connection outlived the server");
    t = incr_check(&l);
    cr_assert_lt(t.acked, 5000, "every INCR was acknowledged before the kill");
    cr_assert(fx_server_start(s) == 0, "the server did not restart; its log is above");
    c = fx_connect(s->port);
    r = fx_cmd(c, "GET n");
    v = reply_ll(r);
    cr_log_info("sent %ld acked %ld lost %ld; value %lld", t.sent, t.acked, t.lost, v);
    cr_assert_geq(v, t.acked, "acknowledged INCRs were lost: %lld < %ld", v, t.acked);
    cr_assert_geq(v, max_value(&l));
    cr_assert_leq(v, t.acked + t.uncertain + t.lost);
    cr_assert_leq(v, 5000);
    fx_check_integer(c, v + 1, "INCR n");
    redisFree(c);
    incr_free(&l);
    fx_server_free(s);
}

/* ---- 12. SIGTERM of the leader ---- */

struct new_leader {
    int old;
    int idx;
};

static bool other_leader(void *arg)
{
    struct new_leader *nl = arg;

    nl->idx = leader_now();
    return nl->idx >= 0 && nl->idx != nl->old;
}

/* SIGTERM makes the leader hand over before exiting: another node leads at once, writes go on. */
Test(cluster, sigterm_leader_transfers_leadership)
{
    /* A long election timeout tells a transfer (immediate) from an election after the leader
     * vanished (at least 2 s of silence first). */
    const char *const args[] = {"--election-timeout", "2000", "--heartbeat-timeout", "50", NULL};
    struct new_leader nl;
    long long term;
    int64_t t0, stop_ms;
    int idx;

    start_cluster(args);
    idx = wait_leader();
    leader_set("before", "1");
    assert_converged(NULL, NULL);
    term = info_ll(node(idx)->port, "raft", "raft_term");
    t0 = fx_now_ms();
    stop_node_cleanly(idx);
    stop_ms = ms_since(t0);
    nl.old = idx;
    cr_assert(fx_wait_until(other_leader, &nl, LEADER_MS), "no new leader");
    cr_log_info("leader stopped in %lld ms; new leader %d ready %lld ms after SIGTERM",
                (long long)stop_ms, nl.idx + 1, (long long)ms_since(t0));
    /* Without a transfer the followers would wait out a 2-4 s election timeout first. */
    cr_assert_lt(ms_since(t0), 1800, "leadership took %lld ms to move: no transfer?",
                 (long long)ms_since(t0));
    cr_assert_gt(info_ll(node(nl.idx)->port, "raft", "raft_term"), term);
    assert_redirects_to_leader(nl.idx);
    leader_expect("before", "1");
    leader_set("after", "2");
    cr_assert_eq(leader_now(), nl.idx);
    assert_converged(NULL, NULL);
    stop_cluster();
}

/* ---- more failure modes ---- */

/* Pump INCRs from 4 connections to the node at PORT, SIGTERM it (once) mid-stream, keep sending
 * until it has closed every connection, and wait for it to exit; with CLEAN, assert it exited
 * with status 0. Returns the counts. */
static struct incr_totals sigterm_under_load(struct fx_server *s, struct incr_load *l, bool clean)
{
    int st;

    incr_open(l, 4, s->port, "counter", 64, 1000000);
    incr_pump(l, PUMP_SEND, 1000, 20000);
    cr_assert_geq(incr_acked(l), 1000);
    kill(s->pid, SIGTERM);
    incr_pump(l, PUMP_SEND, 0, FX_STOP_TIMEOUT_MS);
    for (int i = 0; i < l->n; i++)
        cr_assert_eq(l->conn[i].fd, -1, "connection %d outlived the server", i);
    st = fx_server_wait_exit(s, FX_STOP_TIMEOUT_MS);
    cr_assert(st >= 0, "the server did not exit within %d ms of SIGTERM", FX_STOP_TIMEOUT_MS);
    if (clean)
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "the server did not exit cleanly on SIGTERM under load (status 0x%x%s)",
                  (unsigned)st, WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV ? ", SIGSEGV" : "");
    else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        cr_log_warn("the server died on SIGTERM under load (status 0x%x): see "
                    "single_node_sigterm_under_load_exits_cleanly", (unsigned)st);
    return incr_check(l);
}

/* SIGTERM of the leader under pipelined INCRs: every reply keeps its word. Acknowledged INCRs
 * are kept, and those answered "not applied" (TRYAGAIN, MOVED, "...was not applied") were not:
 * acked <= value <= acked + uncertain + unanswered. */
Test(cluster, sigterm_leader_under_load_keeps_its_word)
{
    struct incr_load l;
    struct incr_totals t;
    long long v;
    int idx;

    start_cluster(NULL);
    idx = wait_leader();
    t = sigterm_under_load(node(idx), &l, true);
    drop_leader_conn();
    v = reply_ll(leader_cmd("GET counter"));
    cr_log_info("sent %ld acked %ld uncertain %ld lost %ld not applied %ld; value %lld", t.sent,
                t.acked, t.uncertain, t.lost, t.not_applied, v);
    cr_assert_geq(v, t.acked, "acknowledged INCRs were lost: %lld < %ld", v, t.acked);
    cr_assert_geq(v, max_value(&l));
    cr_assert_leq(v, t.acked + t.uncertain + t.lost,
                  "%lld INCRs applied, but only %ld acked + %ld uncertain + %ld unanswered: "
                  "some of the %ld answered 'not applied' were applied",
                  v, t.acked, t.uncertain, t.lost, t.not_applied);
    restart_node(idx);
    assert_converged(NULL, NULL);
    incr_free(&l);
    stop_cluster();
}

/* The same on a one-node cluster: after SIGTERM under load and a restart, the counter holds
 * every acknowledged INCR and none of those answered "not applied". */
Test(cluster, single_node_sigterm_under_load_keeps_its_word)
{
    struct fx_server *s = fx_server_new(1, NULL);
    struct incr_load l;
    struct incr_totals t;
    redisContext *c;
    long long v;

    cr_assert(fx_server_start(s) == 0, "the server did not start; its log is above");
    s->fixed_ports = true;
    /* Its exit status is single_node_sigterm_under_load_exits_cleanly's business. */
    t = sigterm_under_load(s, &l, false);
    cr_assert(fx_server_start(s) == 0, "the server did not restart; its log is above");
    c = fx_connect(s->port);
    v = reply_ll(fx_cmd(c, "GET counter"));
    redisFree(c);
    cr_log_info("sent %ld acked %ld uncertain %ld lost %ld not applied %ld; value %lld", t.sent,
                t.acked, t.uncertain, t.lost, t.not_applied, v);
    cr_assert_geq(v, t.acked, "acknowledged INCRs were lost: %lld < %ld", v, t.acked);
    cr_assert_leq(v, t.acked + t.uncertain + t.lost,
                  "%lld INCRs applied, but only %ld acked + %ld uncertain + %ld unanswered: "
                  "some of the %ld answered 'not applied' were applied",
                  v, t.acked, t.uncertain, t.lost, t.not_applied);
    incr_free(&l);
    fx_server_free(s);
}

/* A leader frozen (SIGSTOP) while the others elect a new one never answers a read with the old
 * value nor acknowledges a write once it runs again: it must find out it was deposed first. */
Test(cluster, deposed_leader_serves_no_stale_read)
{
    char val[32];
    int old, nidx;

    start_cluster(NULL);
    for (int round = 0; round < 3; round++) {
        redisContext *c;
        redisReply *r;

        old = wait_leader();
        snprintf(val, sizeof(val), "old%d", round);
        leader_set("k", val);
        c = fx_connect(node(old)->port);
        fx_check_string(c, val, "GET k");
        drop_leader_conn();
        cr_assert(fx_server_pause(node(old)) == 0);
        paused[old] = true;
        nidx = wait_leader();
        cr_assert_neq(nidx, old);
        snprintf(val, sizeof(val), "new%d", round);
        leader_set("k", val);
        /* Queued in the frozen leader's socket: it sees them as soon as it runs. */
        redisAppendCommand(c, "GET k");
        redisAppendCommand(c, "SET w%d x", round);
        redisAppendCommand(c, "GET k");
        cr_assert(fx_server_resume(node(old)) == 0);
        paused[old] = false;
        for (int i = 0; i < 3; i++) {
            cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
            if (i == 1 && r->type == REDIS_REPLY_STATUS) {
                /* Only possible if the write really committed through the new majority. */
                char key[16];
                snprintf(key, sizeof(key), "w%d", round);
                leader_expect(key, "x");
            } else if (r->type != REDIS_REPLY_ERROR) {
                fx_assert_string(r, val); /* never "old<round>" */
            } else {
                cr_assert(refused_reply(r), "round %d reply %d: %s", round, i, r->str);
            }
            freeReplyObject(r);
        }
        redisFree(c);
        assert_converged(NULL, NULL);
    }
    stop_cluster();
}

/* Rounds of kill -9 under load, alternately of the leader and of a follower, each victim
 * restarted before the next round: no acknowledged INCR is ever lost, none is applied twice,
 * and the nodes converge. CONCORDKV_CHAOS_ROUNDS overrides the number of rounds (4). */
Test(cluster, repeated_kill9_under_load_loses_no_acknowledged_write)
{
    const char *env = getenv("CONCORDKV_CHAOS_ROUNDS");
    int rounds = env != NULL && atoi(env) > 0 ? atoi(env) : 4;
    struct incr_load l;
    struct incr_totals t;
    long long v;
    int idx;

    start_cluster(NULL);
    idx = wait_leader();
    incr_open(&l, 4, node(idx)->port, "counter", 32, 1000000);
    for (int round = 0; round < rounds; round++) {
        int victim = round % 2 == 0 ? idx : (idx + 1 + round / 2 % 2) % cl->n;
        long goal = incr_acked(&l) + 300;

        incr_pump(&l, PUMP_SEND, goal, 20000);
        cr_assert_geq(incr_acked(&l), goal, "round %d: the load stalled", round);
        fx_server_kill(node(victim));
        if (victim == idx) {
            incr_pump(&l, PUMP_EOF, 0, 5000);
        } else {
            /* The two others go on: more acks, then every INCR sent gets its answer. */
            incr_pump(&l, PUMP_SEND, incr_acked(&l) + 300, 20000);
            incr_pump(&l, PUMP_DRAIN, 0, 20000);
        }
        drop_leader_conn();
        t = incr_check(&l);
        v = reply_ll(leader_cmd("GET counter"));
        cr_log_info("round %d (killed node %d, %s): acked %ld uncertain %ld lost %ld; value %lld",
                    round, victim + 1, victim == idx ? "leader" : "follower", t.acked,
                    t.uncertain, t.lost, v);
        cr_assert_geq(v, t.acked, "round %d: acknowledged INCRs lost: %lld < %ld", round, v,
                      t.acked);
        cr_assert_geq(v, max_value(&l), "round %d", round);
        cr_assert_leq(v, t.acked + t.uncertain + t.lost, "round %d: value %lld too high", round,
                      v);
        restart_node(victim);
        assert_converged(NULL, NULL);
        idx = wait_leader();
        /* Every INCR is answered: the next round's count starts from the settled value. */
        incr_reopen(&l, node(idx)->port);
        l.past.acked += v - t.acked; /* the uncertain ones that were applied, now known */
        l.past.uncertain = 0;
        l.past.lost = 0;
    }
    incr_free(&l);
    stop_cluster();
}

/* kill -9 of all three nodes at once under load (a power cut), with snapshots in play: after
 * the restart every acknowledged INCR is there and none beyond those in flight. */
Test(cluster, whole_cluster_kill9_keeps_acknowledged_writes)
{
    const char *const args[] = {FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    struct incr_load l;
    struct incr_totals t;
    long long v;
    int idx;

    start_cluster(args);
    idx = wait_leader();
    incr_open(&l, 4, node(idx)->port, "counter", 32, 1000000);
    incr_pump(&l, PUMP_SEND, 3000, 20000);
    cr_assert_geq(incr_acked(&l), 3000);
    for (int i = 0; i < cl->n; i++)
        kill(node(i)->pid, SIGKILL);
    for (int i = 0; i < cl->n; i++)
        fx_server_kill(node(i));
    incr_pump(&l, PUMP_EOF, 0, 5000);
    t = incr_check(&l);
    drop_leader_conn();
    for (int i = 0; i < cl->n; i++)
        cr_assert(fx_server_spawn(node(i)) == 0);
    for (int i = 0; i < cl->n; i++)
        cr_assert(fx_server_wait_ready(node(i), FX_START_TIMEOUT_MS) == 0, "node %d", i + 1);
    v = reply_ll(leader_cmd("GET counter"));
    cr_log_info("acked %ld uncertain %ld lost %ld; value %lld", t.acked, t.uncertain, t.lost, v);
    cr_assert_geq(v, t.acked, "acknowledged INCRs lost: %lld < %ld", v, t.acked);
    cr_assert_geq(v, max_value(&l));
    cr_assert_leq(v, t.acked + t.uncertain + t.lost);
    assert_converged(NULL, NULL);
    incr_free(&l);
    stop_cluster();
}

/* A follower catching up through a snapshot while the leader keeps writing (and snapshotting)
 * ends up identical to it.
 * KNOWN SERVER BUG (liveness), seen here in about one full-suite run in eight: raft delivers
 * AppendEntries it queued while the follower was down (63 entries, commit 64); the follower
 * applies them, reaches --snapshot-threshold and starts its own snapshot; the leader's
 * InstallSnapshot arrives a few ms later and canonical/raft 0.15 drops it ("already taking or
 * installing snapshot", RAFT_BUSY); the leader resends only after install-snapshot-timeout,
 * which consensus.c sets to 60 s. assert_converged then warns, keeps the files, and waits. */
Test(cluster, snapshot_catch_up_under_ongoing_writes)
{
    const char *const args[] = {FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    struct incr_load l;
    char key[32], val[64];
    redisContext *c;
    int idx, f;
    long long restores;

    start_cluster(args);
    idx = wait_leader();
    f = (idx + 2) % cl->n;
    fx_server_kill(node(f));
    c = fx_connect(node(idx)->port);
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        snprintf(val, sizeof(val), "%0*d", 40, i);
        fx_check_status(c, "OK", "SET %s %s", key, val);
    }
    redisFree(c);
    incr_open(&l, 2, node(idx)->port, "counter", 4, 1000000);
    incr_pump(&l, PUMP_SEND, 200, 20000);
    restart_node(f);
    /* Keep writing (small batches, many entries) while it installs and catches up. */
    incr_pump(&l, PUMP_SEND, incr_acked(&l) + 1500, 30000);
    incr_pump(&l, PUMP_DRAIN, 0, 20000);
    (void)incr_check(&l);
    cr_assert_eq(leader_now(), idx, "leadership moved while writing");
    assert_converged(NULL, NULL);
    restores = info_ll(node(f)->port, "raft", "raft_restores");
    cr_assert_geq(restores, 1, "the follower installed no snapshot");
    incr_free(&l);
    stop_cluster();
}

/* With read-consistency stale, followers answer reads from their own state and soon see the
 * leader's writes; writes there are still redirected. */
Test(cluster, stale_reads_on_followers)
{
    const char *const args[] = {FAST_TIMEOUTS, "--read-consistency", "stale", NULL};
    struct agreement a;
    char want[64];
    int idx, f;

    start_cluster(args);
    idx = wait_leader();
    wait_agreement(&a);
    f = (idx + 1) % cl->n;
    leader_set("foo", "fresh");
    assert_converged(NULL, NULL);
    redisContext *c = fx_connect(node(f)->port);
    fx_check_string(c, "fresh", "GET foo");
    fx_check_integer(c, 1, "DBSIZE");
    snprintf(want, sizeof(want), "MOVED 12182 127.0.0.1:%d", node(idx)->port);
    fx_check_error(c, want, "SET foo other");
    redisFree(c);
    stop_cluster();
}

static bool leader_key_gone(void *arg)
{
    redisReply *r = leader_cmd("EXISTS %s", (const char *)arg);
    bool gone;

    cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
    gone = r->integer == 0;
    freeReplyObject(r);
    return gone;
}

static bool leader_dbsize_is_2(void *arg)
{
    redisReply *r = leader_cmd("DBSIZE");
    bool two = r->type == REDIS_REPLY_INTEGER && r->integer == 2;

    freeReplyObject(r);
    return two;
}

/* Chaos timing only (where to strike), never a wait for a condition. */
static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A follower killed (-9) while it receives a large snapshot, again and again, still ends up
 * identical to the leader. */
Test(cluster, follower_killed_during_snapshot_install_recovers)
{
    const char *const args[] = {FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    size_t vlen = 100 * 1024;
    char *val = malloc(vlen);
    redisContext *c;
    int idx, f;

    cr_assert(val != NULL);
    start_cluster(args);
    idx = wait_leader();
    f = (idx + 1) % cl->n;
    leader_set("first", "1");
    assert_converged(NULL, NULL);
    fx_server_kill(node(f));
    c = fx_connect(node(idx)->port);
    for (int i = 0; i < 150; i++) {
        redisReply *r;
        memset(val, 'a' + i % 26, vlen);
        r = fx_cmd(c, "SET big:%d %b", i, val, vlen);
        fx_assert_status(r, "OK");
        freeReplyObject(r);
    }
    redisFree(c);
    for (int round = 0; round < 4; round++) {
        /* Strike at a different point of its catch-up each round. */
        restart_node(f);
        pause_ms(round * 40);
        fx_server_kill(node(f));
    }
    restart_node(f);
    assert_converged(NULL, NULL);
    leader_set("last", "2");
    assert_converged(NULL, NULL);
    free(val);
    stop_cluster();
}

/* Keys that expire converge: the digest is the same on every node once they are gone. */
Test(cluster, expired_keys_converge)
{
    redisReply *r;
    char d[41];

    start_cluster(NULL);
    wait_leader();
    leader_set("stay", "1");
    for (int i = 0; i < 20; i++) {
        r = leader_cmd("SET tmp:%d v PX %d", i, 100 + 10 * i);
        fx_assert_status(r, "OK");
        freeReplyObject(r);
    }
    r = leader_cmd("SET later v EX 1000");
    fx_assert_status(r, "OK");
    freeReplyObject(r);
    assert_converged(NULL, NULL);
    /* Linearizable reads on the leader see them gone after their TTL. */
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof(key), "tmp:%d", i);
        cr_assert(fx_wait_until(leader_key_gone, key, 5000), "%s never expired", key);
    }
    /* Active expiry deletes them for good, through the log, so every node drops them. */
    cr_assert(fx_wait_until(leader_dbsize_is_2, NULL, 10000), "expired keys were not deleted");
    assert_converged(NULL, d);
    leader_expect("stay", "1");
    leader_expect("later", "v");
    stop_cluster();
}

/* Every node restarts from its own snapshot plus the log after it: the data comes back. */
Test(cluster, full_restart_from_snapshots)
{
    const char *const args[] = {FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    char key[32], before[41];
    redisContext *c;
    int idx;

    start_cluster(args);
    idx = wait_leader();
    c = fx_connect(node(idx)->port);
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        fx_check_status(c, "OK", "SET %s %d", key, i);
    }
    fx_check_integer(c, 2, "DEL key:0 key:1");
    redisFree(c);
    assert_converged(NULL, before);
    for (int i = 0; i < cl->n; i++)
        cr_assert_gt(info_ll(node(i)->port, "raft", "raft_snapshot_index"), 0,
                     "node %d took no snapshot", i + 1);
    for (int i = 0; i < cl->n; i++)
        kill(node(i)->pid, SIGTERM);
    for (int i = 0; i < cl->n; i++) {
        int st = fx_server_wait_exit(node(i), FX_STOP_TIMEOUT_MS);
        cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "node %d did not exit cleanly on SIGTERM (status 0x%x)", i + 1, (unsigned)st);
    }
    drop_leader_conn();
    for (int i = 0; i < cl->n; i++)
        cr_assert(fx_server_spawn(node(i)) == 0);
    for (int i = 0; i < cl->n; i++)
        cr_assert(fx_server_wait_ready(node(i), FX_START_TIMEOUT_MS) == 0, "node %d", i + 1);
    wait_leader();
    assert_converged(before, NULL);
    leader_expect("key:0", NULL);
    leader_expect("key:299", "299");
    stop_cluster();
}

/* MULTI/EXEC runs atomically on the leader and replicates as one unit. */
Test(cluster, multi_exec_replicates)
{
    redisContext *c;
    redisReply *r;
    int idx;

    start_cluster(NULL);
    idx = wait_leader();
    c = fx_connect(node(idx)->port);
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "SET a 1");
    fx_check_status(c, "QUEUED", "INCR a");
    fx_check_status(c, "QUEUED", "GET a");
    fx_check_status(c, "QUEUED", "SET b 2");
    r = fx_cmd(c, "EXEC");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 4, "EXEC: %s",
              fx_reply_type_name(r->type));
    fx_assert_status(r->element[0], "OK");
    fx_assert_integer(r->element[1], 2);
    fx_assert_string(r->element[2], "2");
    fx_assert_status(r->element[3], "OK");
    freeReplyObject(r);
    fx_check_string(c, "2", "GET a");
    redisFree(c);
    assert_converged(NULL, NULL);
    stop_cluster();
}

/* ---- regressions of server bugs these tests found ---- */

/* A second signal while the leader transfers leadership before exiting ("received a second
 * signal: exiting now") still exits cleanly, and the rest of the cluster keeps serving.
 * SIGINT follows SIGTERM: two SIGTERMs sent at once may merge into one pending signal.
 * (It used to abort in libuv: the cancelled transfer's callback called raft_close twice.) */
Test(cluster, second_signal_during_leader_shutdown_exits_cleanly)
{
    int idx, st;

    start_cluster(NULL);
    idx = wait_leader();
    leader_set("before", "1");
    kill(node(idx)->pid, SIGTERM);
    kill(node(idx)->pid, SIGINT);
    st = fx_server_wait_exit(node(idx), FX_STOP_TIMEOUT_MS);
    cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "the leader did not exit cleanly on a second signal (status 0x%x%s)", (unsigned)st,
              st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT ? ", SIGABRT" : "");
    leader_expect("before", "1");
    stop_cluster();
}

/* A client's WATCH pipelined after its own write sees that write, as in Redis: SET k 1, WATCH k,
 * MULTI, SET k 2, EXEC sent at once runs the transaction (EXEC -> [OK], k = 2). WATCH and
 * DEBUG wait for the client's earlier writes (they used to run on arrival and see the state
 * before them). */
Test(cluster, pipelined_watch_after_own_write_runs_transaction)
{
    redisContext *c;
    redisReply *r;
    int idx;

    start_cluster(NULL);
    idx = wait_leader();
    c = fx_connect(node(idx)->port);
    redisAppendCommand(c, "SET k 1");
    redisAppendCommand(c, "WATCH k");
    redisAppendCommand(c, "MULTI");
    redisAppendCommand(c, "SET k 2");
    redisAppendCommand(c, "EXEC");
    redisAppendCommand(c, "GET k");
    for (int i = 0; i < 6; i++) {
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
        if (i == 3)
            fx_assert_status(r, "QUEUED");
        else if (i == 4)
            cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 1,
                      "EXEC was aborted by the client's own earlier SET");
        else if (i == 5)
            fx_assert_string(r, "2");
        else
            fx_assert_status(r, "OK");
        freeReplyObject(r);
    }
    redisFree(c);
    stop_cluster();
}

/* A one-node cluster given SIGTERM while clients pipeline writes exits with status 0, ten
 * times over. History: before the group-commit change (in-flight window of 2 entries) the
 * server died with SIGSEGV in about one try in four, inside raft_close() called from
 * consensus_shutdown() -> close_raft(), while appends were in flight (LIBRAFT_TRACE: "clear
 * leader state", then "leader: written 1 entries ...: status 13" (RAFT_CANCELED), then the
 * crash). It no longer reproduces; this guards against its return. */
Test(cluster, single_node_sigterm_under_load_exits_cleanly)
{
    for (int round = 0; round < 10; round++) {
        struct fx_server *s = fx_server_new(1, NULL);
        struct incr_load l;

        cr_assert(fx_server_start(s) == 0, "the server did not start; its log is above");
        (void)sigterm_under_load(s, &l, true);
        incr_free(&l);
        fx_server_free(s);
    }
}
