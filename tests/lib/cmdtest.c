/* Command unit-test harness: command lookup, arity, prepare and handler against a store with a
 * test-controlled clock. Mirrors what dispatch and fsm apply do, without raft or sockets. */
#include "cmdtest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "fsm.h"
#include "kv.h"
#include "script_lua.h"

void ct_init(struct cmdtest *t, int64_t now_ms)
{
    memset(t, 0, sizeof(*t));
    t->kv = kv_new();
    t->now_ms = now_ms;
    t->rng = 0x1234567890abcdefULL;
    buf_init(&t->out);
    buf_init(&t->line);
    t->scripts = script_engine_new();
    command_init();
}

void ct_databases(struct cmdtest *t, int n)
{
    t->dbs = xcalloc((size_t)n, sizeof(*t->dbs));
    t->dbs[0] = t->kv;
    for (int i = 1; i < n; i++) {
        t->dbs[i] = kv_new();
        kv_set_id(t->dbs[i], i);
    }
    t->ndbs = n;
    t->db = 0;
}

void ct_close(struct cmdtest *t)
{
    for (int i = 1; i < t->ndbs; i++)
        kv_free(t->dbs[i]);
    free(t->dbs);
    t->dbs = NULL;
    t->ndbs = 0;
    kv_free(t->kv);
    t->kv = NULL;
    script_engine_free(t->scripts);
    t->scripts = NULL;
    buf_close(&t->out);
    buf_close(&t->line);
}

struct request *ct_request(const char *line)
{
    struct request *req = request_new(8);
    const char *p = line;
    for (;;) {
        const char *sp = strchr(p, ' ');
        size_t n = sp ? (size_t)(sp - p) : strlen(p);
        request_push(req, p, n);
        if (sp == NULL)
            break;
        p = sp + 1;
    }
    return req;
}

static struct request *request_vfmt(const char *fmt, va_list ap)
{
    struct buf b;
    buf_init(&b);
    buf_vprintf(&b, fmt, ap);
    buf_append(&b, "", 1);
    struct request *req = ct_request(b.data);
    buf_close(&b);
    return req;
}

/* Set REQ to the request of FMT and the arguments after it, inside the variadic function
 * that has them. */
#define REQUEST_OF(fmt, req)                                                                   \
    do {                                                                                       \
        va_list ap_;                                                                           \
        va_start(ap_, fmt);                                                                    \
        (req) = request_vfmt(fmt, ap_);                                                        \
        va_end(ap_);                                                                           \
    } while (0)

/* NUL-terminate the reply buffer without counting the NUL. */
static const char *finish(struct buf *b)
{
    buf_reserve(b, 1)[0] = '\0';
    return b->data;
}

static void exec_proc(struct cmdtest *t, const struct command *cmd, struct request *req)
{
    struct exec_ctx ctx = {
        .kv = t->dbs ? t->dbs[t->db] : t->kv,
        .now_ms = t->now_ms,
        .apply_seq = t->apply_seq,
        .out = &t->out,
        .client = NULL,
        .srv = NULL,
        .rng = &t->rng,
        .pubsub = t->pubsub,
        .scripts = t->scripts,
        .acl = t->acl,
        .dbs = t->dbs,
        .ndbs = t->ndbs,
    };
    if (cmd->flags & CMD_WRITE)
        ctx.apply_seq = ++t->apply_seq;
    cmd->proc(&ctx, req);
    for (int i = 0; i < t->ndbs; i++) /* SELECT (no client here) changed the database */
        if (ctx.kv == t->dbs[i])
            t->db = i;
}

/* Execute REQ as dispatch would; takes ownership of REQ. */
static const char *run_request(struct cmdtest *t, struct request *req)
{
    t->out.len = 0;
    struct command *cmd = req->argc > 0 ? command_lookup(req->argv[0], req->len[0]) : NULL;
    if (cmd == NULL) {
        reply_errorf(&t->out, "ERR unknown command '%s'", req->argc > 0 ? req->argv[0] : "");
    } else if (command_check_arity(cmd, req, &t->out) == 0) {
        if (!(cmd->flags & CMD_WRITE) || cmd->prepare == NULL ||
            cmd->prepare(req, t->now_ms, &t->out) == 0) {
            script_note_caller(cmd, req, t->user);
            /* Apply looks the command up again by its possibly rewritten name. */
            struct command *applied = command_lookup(req->argv[0], req->len[0]);
            exec_proc(t, applied ? applied : cmd, req);
        }
    }
    request_free(req);
    return finish(&t->out);
}

const char *ct_run(struct cmdtest *t, const char *fmt, ...)
{
    struct request *req;

    REQUEST_OF(fmt, req);
    return run_request(t, req);
}

const char *ct_runv(struct cmdtest *t, int argc, const char *const *argv, const size_t *lens)
{
    struct request *req = request_new(argc > 0 ? argc : 1);
    for (int i = 0; i < argc; i++)
        request_push(req, argv[i], lens ? lens[i] : strlen(argv[i]));
    return run_request(t, req);
}

const char *ct_apply(struct cmdtest *t, const char *fmt, ...)
{
    struct request *req;

    REQUEST_OF(fmt, req);
    t->out.len = 0;
    struct command *cmd = command_lookup(req->argv[0], req->len[0]);
    if (cmd == NULL)
        reply_errorf(&t->out, "ERR unknown command '%s'", req->argv[0]);
    else
        exec_proc(t, cmd, req);
    request_free(req);
    return finish(&t->out);
}

const char *ct_prepare(struct cmdtest *t, const char *fmt, ...)
{
    struct request *req;

    REQUEST_OF(fmt, req);
    struct command *cmd = command_lookup(req->argv[0], req->len[0]);
    t->out.len = 0;
    t->line.len = 0;
    if (cmd != NULL && cmd->prepare != NULL && cmd->prepare(req, t->now_ms, &t->out) != 0) {
        request_free(req);
        return finish(&t->out);
    }
    if (cmd != NULL)
        script_note_caller(cmd, req, t->user);
    for (int i = 0; i < req->argc; i++) {
        if (i > 0)
            buf_append(&t->line, " ", 1);
        buf_append(&t->line, req->argv[i], req->len[i]);
    }
    request_free(req);
    return finish(&t->line);
}

const char *ct_digest(struct cmdtest *t)
{
    static char hex[41];
    kv_digest_hex(t->kv, hex);
    return hex;
}

const char *ct_bulks(int n, ...)
{
    static char out[8192];
    va_list ap;
    size_t used = (size_t)snprintf(out, sizeof out, "*%d\r\n", n);
    va_start(ap, n);
    for (int i = 0; i < n && used < sizeof out; i++) {
        const char *s = va_arg(ap, const char *);
        if (strcmp(s, "(nil)") == 0)
            used += (size_t)snprintf(out + used, sizeof out - used, "$-1\r\n");
        else
            used += (size_t)snprintf(out + used, sizeof out - used, "$%zu\r\n%s\r\n", strlen(s), s);
    }
    va_end(ap);
    return out;
}

int ct_snapshot_into(struct cmdtest *t, struct kv_store *into, struct buf *snap, char da[41],
                     char db[41])
{
    struct fsm fa;
    fsm_init(&fa, t->kv);
    snap->len = 0;
    fsm_serialize(&fa, snap);
    fsm_close(&fa);
    int rc = ct_restore(into, snap, snap->len);
    kv_digest_hex(t->kv, da);
    kv_digest_hex(into, db);
    return rc;
}

int ct_restore(struct kv_store *into, const struct buf *snap, size_t len)
{
    struct fsm fb;
    fsm_init(&fb, into);
    int rc = fsm_restore(&fb, snap->data, len);
    fsm_close(&fb);
    return rc;
}
