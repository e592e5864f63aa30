/* Integration tests of the data-dir check: a real node takes 1,000 acknowledged INCRs, is
 * killed with SIGKILL, its dir is damaged in one way, and it is restarted. It must refuse with
 * a clear reason in its log, or, only for a torn tail above its acknowledgement record, start
 * with every acknowledged INCR. Also --check-dir's output and exit codes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dircheck.h"
#include "fixture.h"

#define INCRS 1000

TestSuite(corruption, .fini = fx_kill_all, .timeout = 120);

static struct fx_server *srv;

/* The whole file at PATH as a string (the caller frees it). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    cr_assert(f, "open %s: %s", path, strerror(errno));
    FILE *out = open_memstream(&buf, &len);
    int c;
    while ((c = fgetc(f)) != EOF)
        fputc(c, out);
    fclose(out);
    fclose(f);
    return buf;
}

static long long applied_index(redisContext *c)
{
    redisReply *r = fx_cmd(c, "INFO raft");
    const char *p = r->type == REDIS_REPLY_STRING
                        ? strstr(r->str, "raft_applied_index:") : NULL;
    cr_assert(p, "no raft_applied_index in INFO");
    long long v = atoll(p + strlen("raft_applied_index:"));
    freeReplyObject(r);
    return v;
}

struct record_wait {
    const char *dir;
    uint64_t want;
};

static bool record_reached(void *arg)
{
    struct record_wait *w = arg;
    uint64_t v = 0;
    char err[256];
    return dircheck_record_read(w->dir, &v, err, sizeof(err)) == 1 && v >= w->want;
}

/* A node with INCRS acknowledged INCRs of "counter", killed with SIGKILL once its record
 * covers them (the record is written every 100 ms: docs/SAFETY.md). */
static void run_and_kill(const char *const *extra)
{
    redisContext *c;
    redisReply *r;
    srv = fx_server_up(extra);
    c = fx_connect(srv->port);
    /* One at a time, as separate clients' writes would be: one log entry each, not a few
     * large batches. */
    for (int i = 0; i < INCRS; i++) {
        r = fx_cmd(c, "INCR counter");
        fx_assert_integer(r, i + 1);
        freeReplyObject(r);
    }
    struct record_wait w = {srv->dir, (uint64_t)applied_index(c)};
    redisFree(c);
    cr_assert(fx_wait_until(record_reached, &w, 10000), "the record never reached %llu",
              (unsigned long long)w.want);
    fx_server_kill(srv);
}

static struct dircheck_file last_open_segment(void);

static void stop(void)
{
    fx_server_free(srv);
    srv = NULL;
}

static char *path_in(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/%s", srv->dir, name);
    return path;
}

/* The segment that holds most entries, found by listing the dir (a small workload may land in
 * one open segment; after a snapshot, in closed ones). */
static struct dircheck_file main_segment_of(uint64_t min_entries)
{
    struct dircheck_report rep;
    struct dircheck_file best;
    char err[256];
    uint64_t most = 0;
    cr_assert_eq(dircheck_scan(srv->dir, &rep, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(rep.verdict, DIRCHECK_CLEAN, "before any damage: %s", rep.reason);
    memset(&best, 0, sizeof(best));
    for (size_t i = 0; i < rep.nfiles; i++) {
        const struct dircheck_file *f = &rep.files[i];
        if ((f->type == DIRCHECK_FILE_OPEN || f->type == DIRCHECK_FILE_CLOSED) && f->first &&
            f->last - f->first + 1 > most) {
            most = f->last - f->first + 1;
            best = *f;
        }
    }
    dircheck_report_close(&rep);
    cr_assert(most >= min_entries, "no segment holds the workload's entries");
    return best;
}

static struct dircheck_file main_segment(void)
{
    return main_segment_of(INCRS / 2);
}

static void poke(const char *name, off_t at, const void *bytes, size_t n)
{
    int fd = open(path_in(name), O_RDWR);
    cr_assert(fd >= 0, "open %s: %s", name, strerror(errno));
    cr_assert_eq(pwrite(fd, bytes, n, at), (ssize_t)n);
    close(fd);
}

static void flip(const char *name, off_t at)
{
    unsigned char c;
    int fd = open(path_in(name), O_RDWR);
    cr_assert(fd >= 0);
    cr_assert_eq(pread(fd, &c, 1, at), 1);
    c ^= 0x5a;
    cr_assert_eq(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

/* Restart: the node must exit with status 1 (not a crash) and its log must say why. Returns
 * the log (the caller frees it). */
static char *restart_refused(void)
{
    cr_assert_eq(fx_server_spawn(srv), 0);
    int status = fx_server_wait_exit(srv, FX_START_TIMEOUT_MS);
    if (status == -2)
        fx_server_dump_log(srv);
    cr_assert(status >= 0, "the damaged node started (or hung) instead of refusing");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "exit status %#x: a crash?", status);
    char *log = slurp(srv->log_path);
    cr_assert(strstr(log, "refusing to start"), "%s", log);
    cr_assert(strstr(log, "docs/SAFETY.md"), "%s", log);
    cr_assert(strstr(log, "is damaged"), "%s", log);
    return log;
}

static void assert_counter(long long want)
{
    char text[32];
    redisContext *c = fx_connect(srv->port);
    snprintf(text, sizeof(text), "%lld", want);
    fx_check_string(c, text, "GET counter");
    redisFree(c);
}

/* ---- no damage ---- */

/* A plain SIGKILL loses no acknowledged write. */
Test(corruption, kill_without_damage_loses_nothing)
{
    run_and_kill(NULL);
    cr_assert_eq(fx_server_start(srv), 0);
    assert_counter(INCRS);
    char *log = slurp(srv->log_path);
    cr_assert(strstr(log, "checked:"), "%s", log);
    free(log);
    stop();
}

/* ---- refusals ---- */

/* One byte flipped in the middle of the segment that holds the entries: refused, naming the
 * segment and the affected indexes. */
Test(corruption, flipped_byte_mid_segment_refuses)
{
    run_and_kill(NULL);
    struct dircheck_file seg = main_segment();
    flip(seg.name, (off_t)(seg.data_end / 2));
    char *log = restart_refused();
    cr_assert(strstr(log, seg.name), "%s", log);
    cr_assert(strstr(log, "checksum mismatch"), "%s", log);
    cr_assert(strstr(log, "entries "), "%s", log);
    free(log);
    stop();
}

/* The last 200 bytes of data zeroed: refused (those entries were acknowledged). */
Test(corruption, zeroed_tail_refuses)
{
    static const char zeros[200];
    run_and_kill(NULL);
    struct dircheck_file seg = main_segment();
    poke(seg.name, (off_t)seg.data_end - 200, zeros, sizeof(zeros));
    char *log = restart_refused();
    cr_assert(strstr(log, seg.name) || strstr(log, "(log)"), "%s", log);
    free(log);
    stop();
}

/* The segment cut 200 bytes short inside its data (raft 0.15 double-frees on this): refused
 * cleanly, raft never sees it. */
Test(corruption, truncated_segment_refuses)
{
    run_and_kill(NULL);
    struct dircheck_file seg = main_segment();
    cr_assert_eq(truncate(path_in(seg.name), (off_t)seg.data_end - 200), 0);
    char *log = restart_refused();
    cr_assert(strstr(log, seg.name), "%s", log);
    cr_assert(strstr(log, "incomplete") || strstr(log, "cut by the end of the file"), "%s", log);
    free(log);
    stop();
}

/* The segment that holds the entries deleted: refused, the entries missing. */
Test(corruption, deleted_segment_refuses)
{
    run_and_kill(NULL);
    struct dircheck_file seg = main_segment();
    cr_assert_eq(unlink(path_in(seg.name)), 0);
    char *log = restart_refused();
    cr_assert(strstr(log, "may have acknowledged up to") || strstr(log, "acknowledged: up to"), "%s", log);
    free(log);
    stop();
}

/* metadata1 overwritten: refused with the reason (before: "bootstrap failed: " and nothing). */
Test(corruption, overwritten_metadata_refuses)
{
    run_and_kill(NULL);
    poke("metadata1", 0, "overwritten by something else!!!", 32);
    char *log = restart_refused();
    cr_assert(strstr(log, "metadata1"), "%s", log);
    cr_assert(strstr(log, "bad format version"), "%s", log);
    cr_assert(strstr(log, "term and vote"), "%s", log);
    free(log);
    stop();
}

static const char *const snap_args[] = {"--snapshot-threshold", "200", "--snapshot-trailing", "20", NULL};

/* The newest snapshot damaged while the log no longer holds its entries: refused. */
Test(corruption, damaged_snapshot_refuses)
{
    struct dircheck_report rep;
    char err[256], name[DIRCHECK_NAME_MAX] = "";
    run_and_kill(snap_args);
    cr_assert_eq(dircheck_scan(srv->dir, &rep, err, sizeof(err)), 0);
    cr_assert_eq(rep.verdict, DIRCHECK_CLEAN, "%s", rep.reason);
    cr_assert(rep.snapshot_index > 0 && rep.first_index > 1, "no compaction: log %llu.., snapshot %llu",
              (unsigned long long)rep.first_index, (unsigned long long)rep.snapshot_index);
    for (size_t i = 0; i < rep.nfiles; i++)
        if (rep.files[i].type == DIRCHECK_FILE_SNAPSHOT && rep.files[i].b == rep.snapshot_index)
            snprintf(name, sizeof(name), "%s", rep.files[i].name);
    dircheck_report_close(&rep);
    flip(name, 40);
    char *log = restart_refused();
    cr_assert(strstr(log, name), "%s", log);
    cr_assert(strstr(log, "snapshot"), "%s", log);
    free(log);
    stop();
}

/* ---- the torn tail ---- */

/* An interrupted append after the last acknowledged batch (above the record): cut with a
 * warning naming the file and offset; every acknowledged INCR is there. */
Test(corruption, torn_tail_above_record_is_cut)
{
    static const char torn[] = "\x11\x22\x33\x44\x55\x66\x77\x88partial-batch-of-an-append";
    char offset[64];
    run_and_kill(NULL);
    struct dircheck_file last = last_open_segment();
    poke(last.name, (off_t)last.data_end, torn, sizeof(torn) - 1);
    cr_assert_eq(fx_server_start(srv), 0);
    assert_counter(INCRS);
    char *log = slurp(srv->log_path);
    snprintf(offset, sizeof(offset), "at offset %llu", (unsigned long long)last.data_end);
    cr_assert(strstr(log, "torn tail"), "%s", log);
    cr_assert(strstr(log, last.name), "%s", log);
    cr_assert(strstr(log, offset), "%s", log);
    free(log);
    /* And it stays good: a clean stop and start keep the counter. */
    fx_server_stop(srv);
    cr_assert_eq(fx_server_start(srv), 0);
    assert_counter(INCRS);
    stop();
}

/* ---- --check-dir ---- */

/* Run --check-dir on DIR; returns the exit status, the output in *OUT (caller frees). */
static int check_dir(const char *dir, char **out)
{
    char cmd[4200];
    const char *bin = fx_server_binary();
    cr_assert(bin);
    snprintf(cmd, sizeof(cmd), "'%s' --check-dir '%s' 2>&1", bin, dir);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t len = 0;
    FILE *o = open_memstream(out, &len);
    int c;
    while ((c = fgetc(p)) != EOF)
        fputc(c, o);
    fclose(o);
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The open segment that holds the last entries. */
static struct dircheck_file last_open_segment(void)
{
    struct dircheck_report rep;
    struct dircheck_file last;
    char err[256];
    memset(&last, 0, sizeof(last));
    cr_assert_eq(dircheck_scan(srv->dir, &rep, err, sizeof(err)), 0);
    for (size_t i = 0; i < rep.nfiles; i++)
        if (rep.files[i].type == DIRCHECK_FILE_OPEN && rep.files[i].first)
            last = rep.files[i];
    dircheck_report_close(&rep);
    cr_assert_eq(last.type, DIRCHECK_FILE_OPEN, "no open segment holds entries");
    return last;
}

/* --check-dir: 0 and a clean verdict on a killed node's dir; 1 and the problem on a torn or a
 * damaged one, which it leaves as it was. */
Test(corruption, check_dir_reports_and_exits)
{
    static const char torn[] = "partial-batch-of-an-append";
    char *out, got[sizeof(torn)];
    struct stat before, after;
    run_and_kill(NULL);
    struct dircheck_file seg = main_segment();
    cr_assert_eq(check_dir(srv->dir, &out), 0, "%s", out);
    cr_assert(strstr(out, "verdict: clean"), "%s", out);
    cr_assert(strstr(out, seg.name), "%s", out);
    cr_assert(strstr(out, "metadata1"), "%s", out);
    cr_assert(strstr(out, "acknowledged: up to"), "%s", out);
    free(out);

    /* A torn tail is reported, not cut. */
    struct dircheck_file last = last_open_segment();
    poke(last.name, (off_t)last.data_end, torn, sizeof(torn) - 1);
    cr_assert_eq(check_dir(srv->dir, &out), 1, "%s", out);
    cr_assert(strstr(out, "verdict: torn tail"), "%s", out);
    free(out);
    int fd = open(path_in(last.name), O_RDONLY);
    cr_assert(fd >= 0);
    cr_assert_eq(pread(fd, got, sizeof(torn) - 1, (off_t)last.data_end), (ssize_t)sizeof(torn) - 1);
    close(fd);
    cr_assert(memcmp(got, torn, sizeof(torn) - 1) == 0, "--check-dir cut the tail");

    cr_assert_eq(truncate(path_in(seg.name), (off_t)seg.data_end - 200), 0);
    cr_assert_eq(stat(path_in(seg.name), &before), 0);
    cr_assert_eq(check_dir(srv->dir, &out), 1, "%s", out);
    cr_assert(strstr(out, "verdict: damaged"), "%s", out);
    cr_assert(strstr(out, "problem: "), "%s", out);
    cr_assert(strstr(out, seg.name), "%s", out);
    free(out);
    cr_assert_eq(stat(path_in(seg.name), &after), 0);
    cr_assert_eq(before.st_size, after.st_size, "--check-dir changed the dir");
    stop();
}

/* --help lists --check-dir. */
Test(corruption, help_lists_check_dir)
{
    char *out;
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "'%s' --help", fx_server_binary());
    FILE *p = popen(cmd, "r");
    size_t len = 0;
    FILE *o = open_memstream(&out, &len);
    int c;
    while ((c = fgetc(p)) != EOF)
        fputc(c, o);
    fclose(o);
    cr_assert_eq(pclose(p), 0);
    cr_assert(strstr(out, "--check-dir DIR"), "%s", out);
    free(out);
}

/* ---- the recovery procedure (docs/SAFETY.md) ---- */

#define CL_FAST "--election-timeout", "300", "--heartbeat-timeout", "50"
#define CL_INCRS 200

static redisReply *port_cmd(int port, const char *cmd)
{
    redisContext *c = fx_try_connect(port);
    redisReply *r;
    if (c == NULL)
        return NULL;
    r = redisCommand(c, cmd);
    redisFree(c);
    return r;
}

struct leader_find {
    struct fx_cluster *cl;
    int index; /* of the leader in cl->nodes, or -1 */
};

static bool find_leader(void *arg)
{
    struct leader_find *f = arg;
    for (int i = 0; i < f->cl->n; i++) {
        if (f->cl->nodes[i]->pid <= 0)
            continue;
        redisReply *r = port_cmd(f->cl->nodes[i]->port, "INFO raft");
        bool leader = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "raft_state:leader") &&
                      strstr(r->str, "raft_ready:1");
        if (r)
            freeReplyObject(r);
        if (leader) {
            f->index = i;
            return true;
        }
    }
    return false;
}

struct counter_wait {
    int port;
    const char *want;
};

static bool counter_is(void *arg)
{
    struct counter_wait *w = arg;
    redisReply *r = port_cmd(w->port, "GET counter");
    bool ok = r && r->type == REDIS_REPLY_STRING && strcmp(r->str, w->want) == 0;
    if (r)
        freeReplyObject(r);
    return ok;
}

struct applied_wait {
    int port;
    long long want;
};

static bool applied_reached(void *arg)
{
    struct applied_wait *w = arg;
    redisContext *c = fx_try_connect(w->port);
    redisReply *r;
    bool ok = false;
    if (c == NULL)
        return false;
    r = redisCommand(c, "INFO raft");
    if (r && r->type == REDIS_REPLY_STRING) {
        const char *p = strstr(r->str, "raft_applied_index:");
        ok = p && atoll(p + strlen("raft_applied_index:")) >= w->want;
    }
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return ok;
}

/* A follower whose dir is damaged refuses to start; removed from the cluster and replaced by
 * a node with a new id and an empty dir, the cluster has every acknowledged INCR on it. */
Test(corruption, recovery_under_new_id_restores_the_replica)
{
    static const char *const fast[] = {CL_FAST, NULL};
    static const char *const joiner[] = {"--bootstrap", "no", "--read-consistency", "stale", CL_FAST, NULL};
    struct fx_cluster *cl = fx_cluster_start(3, fast);
    struct leader_find lf = {cl, -1};
    char cmd[128], want[16];
    cr_assert(fx_wait_until(find_leader, &lf, 10000), "no leader");
    struct fx_server *leader = cl->nodes[lf.index];
    redisContext *c = fx_connect(leader->port);
    for (int i = 0; i < CL_INCRS; i++) {
        redisReply *r = fx_cmd(c, "INCR counter");
        fx_assert_integer(r, i + 1);
        freeReplyObject(r);
    }
    struct applied_wait aw = {cl->nodes[(lf.index + 1) % 3]->port, applied_index(c)};
    redisFree(c);
    cr_assert(fx_wait_until(applied_reached, &aw, 20000), "the follower never caught up");
    srv = cl->nodes[(lf.index + 1) % 3]; /* a follower, with every entry */
    int victim = srv->id;
    fx_server_kill(srv);
    struct dircheck_file seg = main_segment_of(CL_INCRS / 2);
    flip(seg.name, (off_t)(seg.data_end / 2));
    free(restart_refused());
    srv = NULL;

    snprintf(cmd, sizeof(cmd), "CLUSTER DELNODE %d", victim);
    redisReply *r = port_cmd(leader->port, cmd);
    cr_assert(r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0, "%s: %s", cmd,
              r ? r->str : "no reply");
    freeReplyObject(r);

    struct fx_server *fresh = fx_server_new(4, joiner);
    fresh->fixed_ports = true;
    cr_assert_eq(fx_server_start(fresh), 0);
    snprintf(cmd, sizeof(cmd), "CLUSTER ADDNODE 4 127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d",
             fresh->raft_port, fresh->port, fresh->admin_port);
    r = port_cmd(leader->port, cmd);
    cr_assert(r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0, "%s: %s", cmd,
              r ? r->str : "no reply");
    freeReplyObject(r);
    snprintf(want, sizeof(want), "%d", CL_INCRS);
    struct counter_wait w = {fresh->port, want};
    cr_assert(fx_wait_until(counter_is, &w, 20000), "the new node never had counter = %s", want);

    /* The old id can never come back: ADDNODE refuses it. */
    snprintf(cmd, sizeof(cmd), "CLUSTER ADDNODE %d 127.0.0.1:1", victim);
    r = port_cmd(leader->port, cmd);
    cr_assert(r && r->type == REDIS_REPLY_ERROR && strstr(r->str, "DUPID"), "%s: %s", cmd,
              r ? r->str : "no reply");
    freeReplyObject(r);
    fx_server_free(fresh);
    fx_cluster_stop(cl);
}
