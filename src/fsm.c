/* The replicated state machine: decode an entry, run each command's handler against the
 * keyspace with the entry's clock and apply_seq, collect the replies; keep the nodes' addresses;
 * snapshot and restore. Apply is deterministic: no clock, no randomness, no configuration. */
#include "fsm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <raft.h>

#include "acl.h"
#include "codec.h"
#include "command.h"
#include "entry.h"
#include "kv.h"
#include "log.h"
#include "script_lua.h"
#include "value.h"

#define FSM_MAX_ARGS_STACK 16
#define SNAP_MAGIC_V5 "CKSNAP05" /* then the databases past 0 before the end mark */
#define SNAP_MAGIC "CKSNAP04"    /* a script section after the ACL section */
#define SNAP_MAGIC_V3 "CKSNAP03" /* an ACL section after the nodes, no scripts: still read */
#define SNAP_MAGIC_V2 "CKSNAP02" /* entries carry a type (hashes), no ACL: still read */
#define SNAP_MAGIC_V1 "CKSNAP01" /* strings only: still read */
#define SNAP_END 0x454e44534e41504bULL

void fsm_init(struct fsm *f, struct kv_store *kv)
{
    memset(f, 0, sizeof(*f));
    f->kv = kv;
    f->dbs = xmalloc(sizeof(*f->dbs));
    f->dbs[0] = kv;
    f->ndbs = 1;
    f->rng = 0x2545f4914f6cdd1dULL;
    f->snap_fd = -1;
    f->acl = acl_new();
    f->scripts = script_engine_new();
}

void fsm_set_databases(struct fsm *f, int n)
{
    if (n < 1)
        n = 1;
    if (n > FSM_DATABASES_MAX)
        n = FSM_DATABASES_MAX;
    f->dbs = xrealloc(f->dbs, sizeof(*f->dbs) * (size_t)n);
    for (int i = f->ndbs; i < n; i++) {
        f->dbs[i] = kv_new();
        kv_set_id(f->dbs[i], i);
    }
    for (int i = n; i < f->ndbs; i++)
        kv_free(f->dbs[i]);
    f->ndbs = n;
}

struct kv_store *fsm_db(const struct fsm *f, long long i)
{
    return i >= 0 && i < f->ndbs ? f->dbs[i] : NULL;
}

void fsm_result_free(struct fsm_result *r)
{
    if (r == NULL)
        return;
    buf_close(&r->out);
    free(r->ends);
    free(r->stat_cmd);
    free(r->stat_usec);
    buf_close(&r->trace);
    free(r->trace_ends);
    free(r);
}

void fsm_close(struct fsm *f)
{
    fsm_result_free(f->last);
    f->last = NULL;
    free(f->nodes);
    f->nodes = NULL;
    f->nnodes = 0;
    for (int i = 1; i < f->ndbs; i++)
        kv_free(f->dbs[i]);
    free(f->dbs);
    f->dbs = NULL;
    f->ndbs = 0;
    acl_free(f->acl);
    f->acl = NULL;
    script_engine_free(f->scripts);
    f->scripts = NULL;
    if (f->snap_fd >= 0)
        close(f->snap_fd);
    if (f->snap_pid > 0) {
        kill(f->snap_pid, SIGKILL);
        waitpid(f->snap_pid, NULL, 0);
    }
    f->snap_fd = -1;
    f->snap_pid = 0;
}

/* ---- apply ---- */

/* Run one decoded record; its reply is appended to CTX->out. Returns the command whose
 * statistics its run time (*USEC) belongs to, or NULL when no handler ran. */
static struct command *apply_record(struct exec_ctx *ctx, struct request *req, int64_t *usec)
{
    struct command *cmd = command_lookup(req->argv[0], req->len[0]);
    *usec = 0;
    if (ctx->kv == NULL) {
        reply_error(ctx->out, "ERR DB index is out of range");
        return NULL;
    }
    if (cmd == NULL || !(cmd->flags & CMD_WRITE)) {
        reply_errorf(ctx->out, "ERR unknown command '%.64s' in log entry", req->argv[0]);
        return NULL;
    }
    if (command_check_arity(cmd, req, ctx->out) != 0)
        return NULL;
    size_t before = ctx->out->len;
    *usec = command_exec(cmd, ctx, req);
    if (ctx->out->len > before && ctx->out->data[before] == '-')
        cmd->failed_calls++;
    /* A transaction's time is EXEC's, as in Redis: EXEC is the call the client made. */
    return cmd->proc == cmd_txn ? command_lookup("exec", 4) : cmd;
}

/* Decode the next record of ER into a request whose arrays are STACK_* when they fit.
 * Returns the argc, 0 at the end, -1 if corrupt. */
static int next_record(struct entry_reader *er, struct request *req, char **stack_argv,
                       size_t *stack_len)
{
    int argc = entry_reader_peek_argc(er);
    if (argc <= 0)
        return argc;
    req->argc = req->cap = argc;
    req->argv = argc <= FSM_MAX_ARGS_STACK ? stack_argv : xmalloc(sizeof(char *) * (size_t)argc);
    req->len = argc <= FSM_MAX_ARGS_STACK ? stack_len : xmalloc(sizeof(size_t) * (size_t)argc);
    if (entry_reader_next(er, argc, req->argv, req->len) != argc) {
        if (req->argv != stack_argv) {
            free(req->argv);
            free(req->len);
        }
        return -1;
    }
    return argc;
}

static void release_record(struct request *req, char **stack_argv)
{
    if (req->argv != stack_argv) {
        free(req->argv);
        free(req->len);
    }
}

/* A "__db" n record: the records after it run in database N (one this node lacks, when the
 * databases option differs between nodes, which docs/SERVER.md refuses: they run in none,
 * answered with an error). Returns 1 when REQ was such a record. */
static int apply_db_record(struct fsm *f, struct exec_ctx *ctx, const struct request *req)
{
    long long db;
    if (req->len[0] != sizeof(FSM_DB_RECORD) - 1 || memcmp(req->argv[0], FSM_DB_RECORD, req->len[0]) != 0)
        return 0;
    if (req->argc != 2 || util_parse_ll(req->argv[1], req->len[1], &db) != 0 || fsm_db(f, db) == NULL) {
        log_warning("apply: a record selects database %.20s, which this node does not have "
                    "(databases %d)", req->argc > 1 ? req->argv[1] : "?", f->ndbs);
        ctx->kv = NULL;
    } else {
        ctx->kv = f->dbs[db];
    }
    return 1;
}

static void apply_commands(struct fsm *f, struct entry_reader *er, struct fsm_result *r,
                           uint64_t seq)
{
    char *stack_argv[FSM_MAX_ARGS_STACK];
    size_t stack_len[FSM_MAX_ARGS_STACK];
    struct request req;
    struct exec_ctx ctx = {
        .kv = f->kv, .now_ms = er->h.clock_ms, .apply_seq = seq, .out = &r->out,
        .client = NULL, .srv = NULL, .rng = &f->rng, .acl = f->acl, .pubsub = f->pubsub,
        .scripts = f->scripts, .evicted = &f->evicted, .dbs = f->dbs, .ndbs = f->ndbs,
    };
    size_t cap = er->h.count ? er->h.count : 1;
    r->ends = xmalloc(sizeof(size_t) * cap);
    r->stat_cmd = xmalloc(sizeof(struct command *) * cap);
    r->stat_usec = xmalloc(sizeof(int64_t) * cap);
    if (f->monitor_scripts) {
        r->trace_ends = xmalloc(sizeof(size_t) * cap);
        ctx.monitor_trace = &r->trace;
    }
    for (;;) {
        int argc = next_record(er, &req, stack_argv, stack_len);
        if (argc <= 0) {
            if (argc < 0)
                log_warning("apply: corrupt record in entry %llu (apply_seq)", (unsigned long long)seq);
            break;
        }
        if (apply_db_record(f, &ctx, &req)) {
            release_record(&req, stack_argv);
            continue;
        }
        int64_t usec;
        ctx.cmd_pos = (uint32_t)r->n;
        ctx.prng_seeded = 0;
        struct command *stat = apply_record(&ctx, &req, &usec);
        /* the reader yields at most h.count records, so the arrays are big enough */
        r->stat_cmd[r->n] = stat;
        r->stat_usec[r->n] = usec;
        if (r->trace_ends)
            r->trace_ends[r->n] = r->trace.len;
        r->ends[r->n++] = r->out.len;
        f->commands_applied++;
        release_record(&req, stack_argv);
    }
}

static struct fsm_node *node_slot(struct fsm *f, uint64_t id, int create)
{
    for (int i = 0; i < f->nnodes; i++)
        if (f->nodes[i].id == id)
            return &f->nodes[i];
    if (!create)
        return NULL;
    f->nodes = xrealloc(f->nodes, sizeof(*f->nodes) * (size_t)(f->nnodes + 1));
    struct fsm_node *n = &f->nodes[f->nnodes++];
    memset(n, 0, sizeof(*n));
    n->id = id;
    return n;
}

const struct fsm_node *fsm_node(const struct fsm *f, uint64_t id)
{
    return node_slot((struct fsm *)f, id, 0);
}

/* Node records: "set" id resp admin, or "del" id. */
static void apply_nodes(struct fsm *f, struct entry_reader *er)
{
    char *stack_argv[FSM_MAX_ARGS_STACK];
    size_t stack_len[FSM_MAX_ARGS_STACK];
    struct request req;
    while (next_record(er, &req, stack_argv, stack_len) > 0) {
        long long id;
        if (req.argc >= 2 && util_parse_ll(req.argv[1], req.len[1], &id) == 0 && id > 0) {
            struct fsm_node *n = node_slot(f, (uint64_t)id, 1);
            if (util_eq_nocase(req.argv[0], req.len[0], "set") && req.argc == 4) {
                snprintf(n->resp, sizeof(n->resp), "%s", req.argv[2]);
                snprintf(n->admin, sizeof(n->admin), "%s", req.argv[3]);
                n->retired = 0;
            } else if (util_eq_nocase(req.argv[0], req.len[0], "del")) {
                /* Keep the id as retired: ids are never reused. */
                n->resp[0] = n->admin[0] = '\0';
                n->retired = 1;
            }
        }
        release_record(&req, stack_argv);
    }
}

struct fsm_result *fsm_apply(struct fsm *f, const void *buf, size_t len, uint64_t seq)
{
    struct entry_reader er;
    struct fsm_result *r = NULL;

    f->apply_seq = seq;
    if (entry_reader_init(&er, buf, len) != 0) {
        log_warning("apply: entry %llu (apply_seq) is not a ConcordKV entry; skipped", (unsigned long long)seq);
        return NULL;
    }
    switch (er.h.kind) {
    case ENTRY_COMMANDS:
        r = xcalloc(1, sizeof(*r));
        buf_init(&r->out);
        r->out.resp = RESP_APPLY; /* the proposer converts it to its client's protocol */
        buf_init(&r->trace);
        apply_commands(f, &er, r, seq);
        break;
    case ENTRY_NODE: /* entry_reader_init accepts no other kind */
        apply_nodes(f, &er);
        break;
    }
    return r;
}

/* ---- snapshots: serialization ---- */

/* W.b is flushed to FD as it fills when FD >= 0. */
struct snap_writer {
    struct value_snap w; /* first: value rows flush through it */
    int fd;
    int failed;
};

static void writer_flush(struct value_snap *w)
{
    struct snap_writer *sw = (struct snap_writer *)w;
    size_t off = 0;
    while (sw->fd >= 0 && off < w->b->len && !sw->failed) {
        ssize_t n = write(sw->fd, w->b->data + off, w->b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            sw->failed = 1;
        else
            off += (size_t)n;
    }
    if (sw->fd >= 0)
        w->b->len = 0;
}

static void snap_entry(void *priv, const struct kv_entry *e)
{
    struct value_snap *w = priv;
    const struct value_ops *ops = value_ops(e->type);
    value_put_str(w->b, kv_entry_key(e), e->klen);
    value_put_u64(w->b, e->type);
    if (ops != NULL)
        ops->snap_write(w, kv_entry_obj(e));
    else
        value_put_str(w->b, kv_entry_val(e), e->vlen);
    value_put_u64(w->b, (uint64_t)e->expire_ms);
    value_put_u64(w->b, e->mod_seq);
    value_snap_maybe_flush(w);
}

/* The ACL section (format 3): u64 seeded, then the users as acl_serialize's text. */
static void snap_acl(struct fsm *f, struct buf *b)
{
    struct buf text;
    buf_init(&text);
    acl_serialize(f->acl, &text);
    value_put_u64(b, (uint64_t)f->acl->seeded);
    value_put_str(b, text.data ? text.data : "", text.len);
    buf_close(&text);
}

/* The script section (format 4): u64 count, then each cached body, in SHA order. */
static void snap_scripts(struct fsm *f, struct buf *b)
{
    size_t n = script_engine_count(f->scripts);
    value_put_u64(b, n);
    for (size_t i = 0; i < n; i++) {
        const char *sha;
        size_t len;
        const char *body = script_engine_body(f->scripts, i, &sha, &len);
        value_put_str(b, body, len);
    }
}

/* Whether database KV has anything a snapshot must keep: keys, or the seqs WATCH compares. */
static int db_in_use(struct kv_store *kv)
{
    uint64_t *tomb = kv_tombstones(kv);
    if (kv_size(kv) > 0 || kv_flush_seq(kv) != 0)
        return 1;
    for (int i = 0; i < KV_TOMBSTONE_SLOTS; i++)
        if (tomb[i] != 0)
            return 1;
    return 0;
}

/* Format 5's tail: u64 count, then per database in use past 0: u64 index, u64 flush_seq,
 * the tombstones, u64 keys and the keys as database 0's. */
static void snap_databases(struct fsm *f, struct value_snap *w, int used)
{
    value_put_u64(w->b, (uint64_t)used);
    for (int d = 1; d < f->ndbs; d++) {
        struct kv_store *kv = f->dbs[d];
        if (!db_in_use(kv))
            continue;
        value_put_u64(w->b, (uint64_t)d);
        value_put_u64(w->b, kv_flush_seq(kv));
        uint64_t *tomb = kv_tombstones(kv);
        for (int i = 0; i < KV_TOMBSTONE_SLOTS; i++)
            value_put_u64(w->b, tomb[i]);
        value_put_u64(w->b, kv_size(kv));
        kv_foreach(kv, snap_entry, w);
    }
}

static void serialize_to(struct fsm *f, struct value_snap *w)
{
    struct buf *b = w->b;
    int used = 0;
    for (int d = 1; d < f->ndbs; d++)
        used += db_in_use(f->dbs[d]);
    /* database 0 alone: format 4, as before databases */
    buf_append(b, used > 0 ? SNAP_MAGIC_V5 : SNAP_MAGIC, 8);
    value_put_u64(b, f->apply_seq);
    value_put_u64(b, kv_flush_seq(f->kv));
    uint64_t *tomb = kv_tombstones(f->kv);
    for (int i = 0; i < KV_TOMBSTONE_SLOTS; i++)
        value_put_u64(b, tomb[i]);
    value_put_u64(b, (uint64_t)f->nnodes);
    for (int i = 0; i < f->nnodes; i++) {
        value_put_u64(b, f->nodes[i].id);
        value_put_str(b, f->nodes[i].resp, strlen(f->nodes[i].resp));
        value_put_str(b, f->nodes[i].admin, strlen(f->nodes[i].admin));
        value_put_u64(b, (uint64_t)f->nodes[i].retired);
    }
    snap_acl(f, b);
    snap_scripts(f, b);
    value_put_u64(b, kv_size(f->kv));
    kv_foreach(f->kv, snap_entry, w);
    if (used > 0)
        snap_databases(f, w, used);
    value_put_u64(b, SNAP_END);
    writer_flush(w);
}

void fsm_serialize(struct fsm *f, struct buf *out)
{
    struct snap_writer w = {{out, NULL}, -1, 0};
    serialize_to(f, &w.w);
}

/* One key's value: a string (*VAL, *VLEN) or an object (*OBJ, of *TYPE). V1 snapshots
 * hold strings only. With KEEP 0 an object is read (checked) and freed. */
static void read_value(struct codec_reader *r, int v1, int keep, int *type, const char **val,
                       size_t *vlen, void **obj)
{
    *type = KV_STRING;
    *obj = NULL;
    if (!v1) {
        uint64_t t = codec_read_u64(r);
        if (t != KV_STRING && value_ops((int)t) == NULL) {
            r->bad = 1;
            return;
        }
        *type = (int)t;
    }
    if (*type == KV_STRING) {
        *val = value_get_str(r, vlen);
        return;
    }
    const struct value_ops *ops = value_ops(*type);
    *obj = ops->snap_read(r);
    if (!keep && *obj != NULL) {
        ops->free(*obj);
        *obj = NULL;
    }
}

/* Read the ACL section into TO (when not NULL). Returns 0, or -1 (R->bad set) if damaged. */
static int read_acl(struct codec_reader *r, struct acl_store *to)
{
    char err[256];
    size_t len;
    uint64_t seeded = codec_read_u64(r);
    const char *text = value_get_str(r, &len);
    struct acl_store *a = to ? to : acl_new();
    int rc = r->bad || seeded > 1 || acl_load_text(a, text, len, err, sizeof(err)) != 0 ? -1 : 0;
    if (rc == 0)
        a->seeded = (int)seeded;
    if (to == NULL)
        acl_free(a);
    if (rc != 0)
        r->bad = 1;
    return rc;
}

/* Read the script section into TO (when not NULL: its cache is replaced). Returns 0, or -1
 * (R->bad set) when it is damaged or a body does not compile. */
static int read_scripts(struct codec_reader *r, struct script_engine *to)
{
    uint64_t n = codec_read_u64(r);
    struct buf err;
    buf_init(&err);
    if (to != NULL)
        script_engine_flush(to);
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        size_t len;
        char sha[41];
        const char *body = value_get_str(r, &len);
        if (!r->bad && to != NULL && script_engine_load(to, body, len, 1, sha, &err) != 0)
            r->bad = 1;
    }
    buf_close(&err);
    return r->bad ? -1 : 0;
}

/* The format version of a snapshot from its magic: 1 to 5, or 0 when it is none. */
static int snap_version(const void *buf, size_t len)
{
    if (len < 8)
        return 0;
    if (memcmp(buf, SNAP_MAGIC_V5, 8) == 0)
        return 5;
    if (memcmp(buf, SNAP_MAGIC, 8) == 0)
        return 4;
    if (memcmp(buf, SNAP_MAGIC_V3, 8) == 0)
        return 3;
    if (memcmp(buf, SNAP_MAGIC_V2, 8) == 0)
        return 2;
    return memcmp(buf, SNAP_MAGIC_V1, 8) == 0 ? 1 : 0;
}

/* Read (and check) NK keys into KV, or only check them when KV is NULL. */
static void read_keys(struct codec_reader *r, int v1, uint64_t nk, struct kv_store *kv)
{
    for (uint64_t i = 0; i < nk && !r->bad; i++) {
        size_t kl, vl = 0;
        const char *k = value_get_str(r, &kl);
        const char *v = NULL;
        void *obj;
        int type;
        read_value(r, v1, kv != NULL, &type, &v, &vl, &obj);
        int64_t expire = (int64_t)codec_read_u64(r);
        uint64_t mod = codec_read_u64(r);
        if (kv == NULL)
            continue;
        if (type == KV_STRING)
            kv_set(kv, k, kl, v, vl, expire, mod);
        else
            kv_set_obj(kv, k, kl, type, obj, expire, mod);
    }
}

/* Format 5's databases past 0, into F's (F NULL: only checked; NDBS: the databases this
 * node has, a snapshot with a database past them is refused). */
static void read_databases(struct codec_reader *r, struct fsm *f, int ndbs)
{
    uint64_t n = codec_read_u64(r);
    for (uint64_t j = 0; j < n && !r->bad; j++) {
        uint64_t d = codec_read_u64(r);
        if (d == 0 || d >= (uint64_t)ndbs) {
            log_warning("snapshot holds database %llu; this node has %d (databases must be "
                        "the same on every node)", (unsigned long long)d, ndbs);
            r->bad = 1;
            return;
        }
        struct kv_store *kv = f ? f->dbs[d] : NULL;
        uint64_t fs = codec_read_u64(r);
        uint64_t *tomb = kv ? kv_tombstones(kv) : NULL;
        for (int i = 0; i < KV_TOMBSTONE_SLOTS; i++) {
            uint64_t t = codec_read_u64(r);
            if (tomb)
                tomb[i] = t;
        }
        if (kv)
            kv_set_flush_seq(kv, fs);
        read_keys(r, 0, codec_read_u64(r), kv);
    }
}

/* Check that BUF is a whole, well-formed snapshot before touching the state. */
static int snapshot_valid(const void *buf, size_t len, int ndbs)
{
    struct codec_reader r;
    codec_reader_init(&r, buf, len);
    size_t l;
    int version = snap_version(buf, len);
    if (version == 0)
        return 0;
    int v1 = version == 1;
    codec_read_bytes(&r, 8); /* the magic, checked above */
    for (int i = 0; i < 2 + KV_TOMBSTONE_SLOTS; i++)
        codec_read_u64(&r);
    uint64_t nn = codec_read_u64(&r);
    for (uint64_t i = 0; i < nn && !r.bad; i++) {
        codec_read_u64(&r);
        value_get_str(&r, &l);
        value_get_str(&r, &l);
        codec_read_u64(&r);
    }
    if (version >= 3 && !r.bad)
        read_acl(&r, NULL);
    if (version >= 4 && !r.bad)
        read_scripts(&r, NULL);
    read_keys(&r, v1, codec_read_u64(&r), NULL);
    if (version >= 5 && !r.bad)
        read_databases(&r, NULL, ndbs);
    return !r.bad && codec_read_u64(&r) == SNAP_END && !r.bad && codec_reader_left(&r) == 0;
}

int fsm_restore(struct fsm *f, const void *buf, size_t len)
{
    struct codec_reader r;
    codec_reader_init(&r, buf, len);
    size_t al = 0;
    if (!snapshot_valid(buf, len, f->ndbs))
        return -1;
    int version = snap_version(buf, len), v1 = version == 1;
    codec_read_bytes(&r, 8); /* the magic, checked above */
    for (int d = 0; d < f->ndbs; d++) {
        kv_flush(f->dbs[d], 0);
        kv_set_flush_seq(f->dbs[d], 0);
        memset(kv_tombstones(f->dbs[d]), 0, sizeof(uint64_t) * KV_TOMBSTONE_SLOTS);
    }
    f->apply_seq = codec_read_u64(&r);
    kv_set_flush_seq(f->kv, codec_read_u64(&r));
    uint64_t *tomb = kv_tombstones(f->kv);
    for (int i = 0; i < KV_TOMBSTONE_SLOTS; i++)
        tomb[i] = codec_read_u64(&r);
    f->nnodes = 0;
    uint64_t nn = codec_read_u64(&r);
    for (uint64_t i = 0; i < nn; i++) {
        struct fsm_node *n = node_slot(f, codec_read_u64(&r), 1);
        const char *s = value_get_str(&r, &al);
        snprintf(n->resp, sizeof(n->resp), "%.*s", (int)al, s);
        s = value_get_str(&r, &al);
        snprintf(n->admin, sizeof(n->admin), "%.*s", (int)al, s);
        n->retired = codec_read_u64(&r) != 0;
    }
    /* checked by snapshot_valid; a format 1 or 2 snapshot leaves only the default user */
    if (version >= 3) {
        read_acl(&r, f->acl);
    } else {
        acl_reset_users(f->acl);
        f->acl->seeded = 0;
    }
    /* a format 3 or older snapshot holds no scripts; bodies were checked to compile */
    if (version >= 4)
        read_scripts(&r, f->scripts);
    else
        script_engine_flush(f->scripts);
    read_keys(&r, v1, codec_read_u64(&r), f->kv);
    /* format 4 and older: everything is database 0's */
    if (version >= 5)
        read_databases(&r, f, f->ndbs);
    return 0;
}

/* ---- canonical/raft FSM (version 3) ---- */

static int fsm_on_apply(struct raft_fsm *rf, const struct raft_buffer *buf, void **result)
{
    struct fsm *f = rf->data;
    /* Results nobody took (this node did not propose the entry) are dropped here. */
    fsm_result_free(f->last);
    /* INFO errorstats and keyspace_hits/misses count what clients are answered, where they
     * are answered (server.c, kv_read_stats): not in apply, which runs on every node. */
    resp_mute_errors(1);
    kv_read_stats_mute(1);
    f->last = fsm_apply(f, buf->base, buf->len, f->apply_seq + 1);
    kv_read_stats_mute(0);
    resp_mute_errors(0);
    *result = f->last;
    return 0;
}

struct fsm_result *fsm_take_result(struct fsm *f, void *result)
{
    struct fsm_result *r = result;
    if (r != NULL && r == f->last)
        f->last = NULL;
    for (uint32_t i = 0; r != NULL && i < r->n; i++)
        if (r->stat_cmd[i] != NULL)
            r->stat_cmd[i]->usec += r->stat_usec[i];
    return r;
}

/* On the loop: fork a child that writes the state to a pipe. The child sees the state as of
 * this instant (copy-on-write), so apply may go on at once. */
static int fsm_on_snapshot(struct raft_fsm *rf, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct fsm *f = rf->data;
    int fds[2];

    *bufs = NULL;
    *n_bufs = 0;
    if ((f->snapshot_busy && f->snapshot_busy(f->busy_arg)) || f->snap_pid > 0)
        return RAFT_BUSY;
    if (pipe2(fds, O_CLOEXEC) != 0)
        return RAFT_BUSY;
    f->snap_start_us = util_mono_us();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        f->snapshot_failures++;
        return RAFT_BUSY;
    }
    if (pid == 0) {
        struct buf b;
        buf_init(&b);
        close(fds[0]);
        struct snap_writer w = {{&b, writer_flush}, fds[1], 0};
        serialize_to(f, &w.w);
        _exit(w.failed ? 1 : 0);
    }
    close(fds[1]);
    f->snap_pid = pid;
    f->snap_fd = fds[0];
    return 0;
}

/* On the thread pool: collect what the child wrote. */
static int fsm_on_snapshot_async(struct raft_fsm *rf, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct fsm *f = rf->data;
    /* Sized from the last snapshot, so that a large one is not held at up to twice its size
     * by doubling (it counts in used_memory until it is stored). */
    size_t cap = f->last_snapshot_bytes + f->last_snapshot_bytes / 16 + (256 << 10), len = 0;
    char *data = raft_malloc(cap);
    int status = 0, rv = 0;

    __atomic_store_n(&f->snap_held, cap, __ATOMIC_RELAXED);
    for (;;) {
        if (data == NULL) {
            rv = RAFT_NOMEM;
            break;
        }
        if (cap - len < 65536) {
            /* by an eighth (at least 1 MiB): a doubled buffer would hold up to twice the
             * snapshot while it is stored (large blocks are mmap'd: realloc is a remap) */
            size_t grow = cap / 8 > (1 << 20) ? cap / 8 : (1 << 20);
            char *bigger = raft_realloc(data, cap + grow);
            if (bigger == NULL) {
                raft_free(data);
                data = NULL;
                continue;
            }
            data = bigger;
            cap += grow;
            __atomic_store_n(&f->snap_held, cap, __ATOMIC_RELAXED);
        }
        ssize_t n = read(f->snap_fd, data + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rv = RAFT_IOERR;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(f->snap_fd);
    f->snap_fd = -1;
    while (waitpid(f->snap_pid, &status, 0) < 0 && errno == EINTR)
        ;
    f->snap_pid = 0;
    if (rv == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
        rv = RAFT_IOERR;
    if (rv != 0) {
        raft_free(data);
        __atomic_store_n(&f->snap_held, 0, __ATOMIC_RELAXED);
        return rv;
    }
    *bufs = raft_malloc(sizeof(struct raft_buffer));
    if (*bufs == NULL) {
        raft_free(data);
        __atomic_store_n(&f->snap_held, 0, __ATOMIC_RELAXED);
        return RAFT_NOMEM;
    }
    (*bufs)[0].base = data;
    (*bufs)[0].len = len;
    *n_bufs = 1;
    return 0;
}

/* Back on the loop once raft has stored the snapshot (or given up). */
static int fsm_on_snapshot_finalize(struct raft_fsm *rf, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct fsm *f = rf->data;
    if (*bufs != NULL) {
        f->snapshots++;
        f->last_snapshot_bytes = (*bufs)[0].len;
        for (unsigned i = 0; i < *n_bufs; i++)
            raft_free((*bufs)[i].base);
        raft_free(*bufs);
    } else {
        f->snapshot_failures++;
    }
    f->last_snapshot_us = util_mono_us() - f->snap_start_us;
    __atomic_store_n(&f->snap_held, 0, __ATOMIC_RELAXED);
    *bufs = NULL;
    *n_bufs = 0;
    return 0;
}

static int fsm_on_restore(struct raft_fsm *rf, struct raft_buffer *buf)
{
    struct fsm *f = rf->data;
    if (fsm_restore(f, buf->base, buf->len) != 0) {
        log_warning("snapshot restore failed: malformed snapshot of %zu bytes", buf->len);
        return RAFT_MALFORMED;
    }
    f->restores++;
    size_t keys = 0;
    for (int d = 0; d < f->ndbs; d++)
        keys += kv_size(f->dbs[d]);
    log_notice("restored a snapshot: %zu keys, %zu bytes", keys, buf->len);
    raft_free(buf->base);
    return 0;
}

void fsm_raft_init(struct fsm *f, struct raft_fsm *rf)
{
    memset(rf, 0, sizeof(*rf));
    rf->version = 3;
    rf->data = f;
    rf->apply = fsm_on_apply;
    rf->snapshot = fsm_on_snapshot;
    rf->snapshot_async = fsm_on_snapshot_async;
    rf->snapshot_finalize = fsm_on_snapshot_finalize;
    rf->restore = fsm_on_restore;
}

int fsm_node_count(const struct fsm *f)
{
    return f->nnodes;
}

const struct fsm_node *fsm_node_at(const struct fsm *f, int i)
{
    return &f->nodes[i];
}
