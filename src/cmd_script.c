/* EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT. A write script is proposed as the EVAL
 * itself and runs in apply on every node; its redis.call goes through the same handlers a
 * MULTI/EXEC does, with the entry's clock and seed. Prepare carries the node's
 * busy-script-limit and conversion thresholds in the command, so every node runs the same
 * budget and converts encodings at the same change. A script that runs out of budget is
 * aborted and its writes undone from a journal of each written key's first state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "command.h"
#include "consensus.h"
#include "dict.h"
#include "exec.h"
#include "hash.h"
#include "kv.h"
#include "log.h"
#include "monitor.h"
#include "script_lua.h"
#include "set.h"
#include "value.h"
#include "zobj.h"

long long script_busy_limit_configured = SCRIPT_DEFAULT_LIMIT;

/* ---- the limits an EVAL carries: "busy:hash-entries:hash-value:intset:zset-entries:zset-value",
 * then ":user" when the proposer knows its caller (script_note_caller): the ACL user whose
 * permissions the script's commands are checked against in apply. Entries written before
 * the user was carried end after zset-value and run unchecked, as they did. */

struct script_limits {
    long long busy;
    struct hash_limits hash;
    long long intset;
    struct zobj_limits zset;
    int oom; /* carried as a negative busy, -1 - busy: script_oom_configured when proposed */
};

int script_oom_configured;

static void limits_push(struct request *req)
{
    char tmp[160];
    long long busy = script_busy_limit_configured;
    int n = snprintf(tmp, sizeof tmp, "%lld:%lld:%lld:%lld:%lld:%lld",
                     script_oom_configured ? -1 - busy : busy, hash_limits_configured.entries,
                     hash_limits_configured.value, set_max_intset_configured,
                     zobj_limits_configured.entries, zobj_limits_configured.value);
    request_push(req, tmp, (size_t)n);
}

/* Whose permissions a script's commands are checked against: none (CHECK 0: a peer, or an
 * entry from before callers were carried), else USER (NULL when no such user exists). */
struct script_caller {
    int check;
    const struct acl_user *user;
    const char *name; /* for ACL LOG */
};

/* Check the script's commands against user NAME (LEN bytes) as A holds it. */
static void caller_set(struct script_caller *c, const struct acl_store *a, const char *name,
                       size_t len)
{
    c->check = 1;
    c->name = name;
    c->user = a != NULL ? acl_user_find(a, name, len) : NULL;
}

void script_note_caller(const struct command *cmd, struct request *req, const char *user)
{
    if (cmd->proc != cmd_eval || user == NULL || req->argc < 1)
        return;
    struct buf b;
    buf_init(&b);
    buf_append(&b, req->argv[req->argc - 1], req->len[req->argc - 1]);
    buf_append(&b, ":", 1);
    buf_append_str(&b, user);
    request_set(req, req->argc - 1, b.data, b.len);
    buf_close(&b);
}

/* Parse REQ's last argument into L and, when it names one, the caller's user into *USER
 * (USER_LEN bytes; NULL when it names none). Returns 0, or -1 when it is not such an argument.
 * Arguments are NUL-terminated (resp.h, entry.h). */
static int limits_take(const struct request *req, struct script_limits *l, const char **user,
                       size_t *user_len)
{
    const char *arg = req->argv[req->argc - 1];
    size_t len = req->len[req->argc - 1];
    int used = 0;
    if (sscanf(arg, "%lld:%lld:%lld:%lld:%lld:%lld%n", &l->busy, &l->hash.entries,
               &l->hash.value, &l->intset, &l->zset.entries, &l->zset.value, &used) != 6)
        return -1;
    l->oom = l->busy < 0;
    if (l->oom)
        l->busy = -1 - l->busy;
    *user = NULL;
    *user_len = 0;
    if ((size_t)used == len)
        return 0;
    if ((size_t)used > len || arg[used] != ':')
        return -1;
    *user = arg + used + 1;
    *user_len = len - (size_t)used - 1;
    return 0;
}

/* The node's configured thresholds, swapped with L's for the time a script runs (the
 * handlers' prepare steps read the configured ones). */
static void limits_swap(struct script_limits *l)
{
    struct script_limits cur = {script_busy_limit_configured, hash_limits_configured,
                                set_max_intset_configured, zobj_limits_configured, l->oom};
    script_busy_limit_configured = l->busy;
    hash_limits_configured = l->hash;
    set_max_intset_configured = l->intset;
    zobj_limits_configured = l->zset;
    *l = cur;
}

/* numkeys of EVAL-family REQ (argc ARGC, without carried limits): 0 with *N, or -1 after
 * Redis's error reply. */
static int parse_numkeys(const struct request *req, int argc, long long *n, struct buf *out)
{
    if (command_arg_ll(req, 2, n, out) != 0)
        return -1;
    if (*n > argc - 3) {
        reply_error(out, "ERR Number of keys can't be greater than number of args");
        return -1;
    }
    if (*n < 0) {
        reply_error(out, "ERR Number of keys can't be negative");
        return -1;
    }
    return 0;
}

int prep_eval(struct request *req, int64_t now_ms, struct buf *out)
{
    long long n;
    (void)now_ms;
    if (parse_numkeys(req, req->argc, &n, out) != 0)
        return -1;
    limits_push(req);
    return 0;
}

/* ---- the undo journal: each key's state before a script's first write to it ---- */

struct undo_rec {
    struct kv_store *kv; /* its database (a script may SELECT) */
    char *key;
    size_t klen;
    int had;
    int type;
    char *str;  /* a string's bytes */
    size_t slen;
    void *obj;  /* another type's copy (value ops dup) */
    int64_t expire_ms;
    uint64_t mod_seq;
};

struct undo {
    struct dict *seen;
    struct undo_rec *recs;
    int n, cap;
};

static void undo_key(struct undo *u, struct kv_store *kv, const char *key, size_t klen)
{
    int added, db = kv_id(kv);
    if (u->seen == NULL)
        u->seen = dict_new(DICT_DEFAULT_SEED);
    /* seen per database: the index's bytes, then the key */
    char *k = xmalloc(klen + sizeof db);
    memcpy(k, &db, sizeof db);
    memcpy(k + sizeof db, key, klen);
    dict_insert(u->seen, k, klen + sizeof db, &added);
    free(k);
    if (!added)
        return;
    u->recs = util_grow(u->recs, u->n, &u->cap, sizeof(*u->recs));
    struct undo_rec *r = &u->recs[u->n++];
    memset(r, 0, sizeof(*r));
    r->kv = kv;
    r->key = xmemdup(key, klen);
    r->klen = klen;
    struct kv_entry *e = kv_find(kv, key, klen);
    if (e == NULL)
        return;
    r->had = 1;
    r->type = e->type;
    r->expire_ms = e->expire_ms;
    r->mod_seq = e->mod_seq;
    if (e->type == KV_STRING) {
        r->str = xmemdup(kv_entry_val(e), e->vlen);
        r->slen = e->vlen;
    } else {
        r->obj = value_ops(e->type)->dup(kv_entry_obj(e));
    }
}

/* Record the keys the write REQ of CMD may change: its key positions, and ZMPOP's keys
 * after its count. */
static void undo_command(struct undo *u, struct kv_store *kv, const struct command *cmd,
                         const struct request *req)
{
    if (cmd->proc == cmd_zmpop) {
        long long n;
        if (util_parse_ll(req->argv[1], req->len[1], &n) == 0)
            for (long long i = 0; i < n && 2 + i < req->argc; i++)
                undo_key(u, kv, req->argv[2 + i], req->len[2 + i]);
        return;
    }
    if (cmd->first_key <= 0)
        return;
    int last = cmd->last_key < 0 ? req->argc + cmd->last_key : cmd->last_key;
    for (int i = cmd->first_key; i <= last && i < req->argc; i += cmd->key_step > 0 ? cmd->key_step : 1)
        undo_key(u, kv, req->argv[i], req->len[i]);
}

/* Put every journalled key back as it was (ROLLBACK 1), or just forget the journal. */
static void undo_finish(struct undo *u, uint64_t seq, int rollback)
{
    for (int i = u->n - 1; i >= 0; i--) {
        struct undo_rec *r = &u->recs[i];
        struct kv_store *kv = r->kv;
        if (rollback) {
            kv_delete(kv, r->key, r->klen, seq);
            if (r->had && r->type == KV_STRING)
                kv_set(kv, r->key, r->klen, r->str, r->slen, r->expire_ms, r->mod_seq);
            else if (r->had)
                kv_set_obj(kv, r->key, r->klen, r->type, r->obj, r->expire_ms, r->mod_seq);
            r->obj = NULL;
        }
        if (r->obj != NULL)
            value_ops(r->type)->free(r->obj);
        free(r->str);
        free(r->key);
    }
    free(u->recs);
    if (u->seen != NULL)
        dict_free(u->seen, NULL);
    memset(u, 0, sizeof(*u));
}

/* ---- redis.call ---- */

struct script_exec {
    struct exec_ctx *ctx;
    int readonly;
    uint64_t rng;  /* the random state of the commands the script calls (RANDOMKEY ...) */
    struct undo undo;
    const struct script_caller *caller;
    int oom;   /* proposed while out of memory: no denyoom command before a write */
    int wrote; /* a write command was called */
};

/* Redis 7.0's texts (script.c, scriptVerifyACL) for a command of a script its caller may not
 * run; the denial goes to ACL LOG with the context "lua", as Redis logs it. */
static int script_acl_denied(struct exec_ctx *ctx, const struct script_caller *who,
                             const struct command *cmd, const struct request *req, struct buf *out)
{
    int pos = 0;
    int rc = who->user != NULL ? acl_check(who->user, cmd, req, &pos) : ACL_DENIED_CMD;
    if (rc == ACL_OK)
        return 0;
    struct acl_store *a = ctx->acl != NULL ? ctx->acl : ctx->srv ? server_acl(ctx->srv) : NULL;
    if (a != NULL) {
        struct buf info;
        buf_init(&info);
        if (ctx->client != NULL)
            client_info(ctx->client, &info);
        if (info.len > 0 && info.data[info.len - 1] == '\n')
            info.len--;
        buf_append(&info, "", 1);
        acl_log_add(a, rc, ACL_LOG_LUA, rc == ACL_DENIED_CMD ? cmd->name : req->argv[pos],
                    who->name, info.data, ctx->now_ms);
        buf_close(&info);
    }
    if (rc == ACL_DENIED_CMD)
        reply_error(out, "ERR The user executing the script can't run this command or subcommand");
    else if (rc == ACL_DENIED_KEY)
        reply_error(out, "ERR The user executing the script can't access at least one of the "
                         "keys mentioned in the command arguments");
    else if (rc == ACL_DENIED_CHANNEL)
        reply_error(out, "ERR The user executing the script can't publish to the channel "
                         "mentioned in the command");
    else
        reply_error(out, "ERR The user executing the script is lacking the permissions for the "
                         "command");
    return 1;
}

/* Commands a script may not call: transactions, connection and server commands, other
 * scripts, FLUSHALL/FLUSHDB (no journal could undo them cheaply); and, in a script run in
 * apply, commands whose answer depends on the node's table layout or access stamps. */
static int script_refuses(const struct command *cmd, int in_apply)
{
    static const char *const layout[] = {"keys", "scan", "randomkey", "object", "memory", NULL};
    if (cmd->proc == cmd_ping || cmd->proc == cmd_echo || cmd->proc == cmd_time)
        return 0;
    if (!(cmd->flags & (CMD_WRITE | CMD_READONLY)) || (cmd->flags & (CMD_TX | CMD_NOMULTI)))
        return 1;
    if (cmd->proc == cmd_eval || cmd->proc == cmd_eval_ro || cmd->proc == cmd_flushall ||
        cmd->proc == cmd_flushdb || cmd->proc == cmd_swapdb || cmd->proc == cmd_move)
        return 1;
    for (int i = 0; in_apply && layout[i]; i++)
        if (strcmp(cmd->name, layout[i]) == 0)
            return 1;
    return 0;
}

static void script_call(void *arg, struct request *req, struct buf *out)
{
    struct script_exec *se = arg;
    struct exec_ctx *ctx = se->ctx;
    struct command *cmd = command_lookup(req->argv[0], req->len[0]);
    if (cmd == NULL || (cmd->flags & CMD_INTERNAL)) {
        reply_error(out, "ERR Unknown Redis command called from script");
        return;
    }
    if ((cmd->arity > 0 && req->argc != cmd->arity) || req->argc < -cmd->arity) {
        reply_error(out, "ERR Wrong number of args calling Redis command from script");
        return;
    }
    if (cmd->proc == cmd_select) { /* Redis 7.0: the script's own database, not its caller's */
        struct kv_store *kv;
        struct exec_ctx sub = *ctx;
        sub.out = out;
        if (command_select_db(&sub, req, &kv) >= 0) {
            ctx->kv = kv;
            reply_ok(out);
        }
        return;
    }
    if (script_refuses(cmd, ctx->client == NULL)) {
        reply_error(out, "ERR This Redis command is not allowed from script");
        return;
    }
    if (se->caller->check && script_acl_denied(ctx, se->caller, cmd, req, out))
        return;
    if ((cmd->flags & CMD_WRITE) && se->readonly) {
        reply_error(out, "ERR Write commands are not allowed from read-only scripts.");
        return;
    }
    if (se->oom && !se->wrote && (cmd->flags & CMD_DENYOOM)) { /* Redis's scriptVerifyOOM */
        reply_error(out, "OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }
    if (ctx->monitor_trace != NULL && monitor_shows(cmd, req)) /* as sent, stamped when shown */
        monitor_format_unstamped(ctx->monitor_trace, kv_id(ctx->kv), "lua", req,
                                 monitor_redact_mask(cmd, req));
    if (cmd->proc == cmd_time) { /* the entry's clock in apply */
        reply_array(out, 2);
        reply_bulk_ll(out, ctx->now_ms / 1000);
        reply_bulk_ll(out, (ctx->now_ms % 1000) * 1000);
        return;
    }
    if (cmd->flags & CMD_WRITE) {
        se->wrote = 1;
        undo_command(&se->undo, ctx->kv, cmd, req);
        if (cmd->prepare && cmd->prepare(req, ctx->now_ms, out) != 0)
            return;
    }
    struct exec_ctx sub = *ctx;
    sub.out = out;
    sub.rng = &se->rng;
    command_exec(cmd, &sub, req);
    /* the script and the commands it calls draw from one stream */
    ctx->prng = sub.prng;
    ctx->prng_seeded = sub.prng_seeded;
}

static struct prng *script_prng(void *arg)
{
    struct script_exec *se = arg;
    return command_prng(se->ctx);
}

/* Run the script SHA with REQ's keys and args (REQ's first ARGC arguments, NKEYS keys). */
static void eval_run(struct exec_ctx *ctx, struct request *req, int argc, long long nkeys,
                     const char *sha, int readonly, long long limit,
                     const struct script_caller *caller, int oom)
{
    struct script_exec se = {.ctx = ctx, .readonly = readonly, .caller = caller, .oom = oom};
    struct kv_store *kv = ctx->kv;
    se.rng = prng_next(command_prng(ctx));
    struct script_run run = {.call = script_call, .prng = script_prng, .arg = &se, .limit = limit};
    script_engine_run(ctx->scripts, sha, req->argv + 3, req->len + 3, (int)nkeys,
                      argc - 3 - (int)nkeys, &run, ctx->out);
    if (run.aborted)
        log_warning("script %s aborted after %lld Lua instructions (busy-script-limit %lld); "
                    "its writes were rolled back", sha, run.executed, limit);
    undo_finish(&se.undo, ctx->apply_seq, run.aborted);
    ctx->kv = kv; /* a SELECT in the script changed only the script's database */
}

/* The SHA of the script REQ names: EVAL's body (compiled, and cached when CACHE), or
 * EVALSHA's digest when the script is known. 0, or -1 after the error reply. */
static int eval_script(struct exec_ctx *ctx, struct request *req, int cache, char sha[41])
{
    int by_sha = req->len[0] >= 7 && util_eq_nocase(req->argv[0], 7, "evalsha");
    if (!by_sha)
        return script_engine_load(ctx->scripts, req->argv[1], req->len[1], cache, sha, ctx->out);
    int known = cache ? script_engine_exists(ctx->scripts, req->argv[1], req->len[1])
                      : script_engine_compiled(ctx->scripts, req->argv[1], req->len[1]);
    if (!known) {
        reply_error(ctx->out, "NOSCRIPT No matching script. Please use EVAL.");
        return -1;
    }
    for (int i = 0; i < 40; i++) {
        char c = req->argv[1][i];
        sha[i] = c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
    }
    sha[40] = '\0';
    return 0;
}

/* EVAL/EVALSHA script numkeys key... arg... limits: in apply, on every node. */
void cmd_eval(struct exec_ctx *ctx, struct request *req)
{
    struct script_limits lim;
    struct script_caller caller = {0};
    const char *user;
    size_t user_len;
    long long nkeys;
    char sha[41];
    if (req->argc < 4 || limits_take(req, &lim, &user, &user_len) != 0) {
        reply_error(ctx->out, "ERR malformed EVAL in log entry");
        return;
    }
    int argc = req->argc - 1;
    if (parse_numkeys(req, argc, &nkeys, ctx->out) != 0 || eval_script(ctx, req, 1, sha) != 0)
        return;
    if (user != NULL) /* the replicated users as of this entry: the same on every node */
        caller_set(&caller, ctx->acl, user, user_len);
    long long limit = lim.busy;
    int oom = lim.oom;
    limits_swap(&lim);
    eval_run(ctx, req, argc, nkeys, sha, 0, limit, &caller, oom);
    limits_swap(&lim);
}

/* EVAL_RO/EVALSHA_RO: on the read path of the node that holds the client (or in apply,
 * inside a transaction, where the default budget stands in for the node's). */
void cmd_eval_ro(struct exec_ctx *ctx, struct request *req)
{
    long long nkeys;
    char sha[41];
    if (parse_numkeys(req, req->argc, &nkeys, ctx->out) != 0 || eval_script(ctx, req, 0, sha) != 0)
        return;
    long long limit = ctx->client != NULL ? script_busy_limit_configured : SCRIPT_DEFAULT_LIMIT;
    struct script_caller caller = {0};
    const char *user = ctx->client != NULL ? client_user(ctx->client) : NULL;
    if (user != NULL && ctx->srv != NULL) /* on the read path: the connection's user */
        caller_set(&caller, server_acl(ctx->srv), user, strlen(user));
    eval_run(ctx, req, req->argc, nkeys, sha, 1, limit, &caller, 0);
}

/* ---- SCRIPT ---- */

static const char *const script_help[] = {
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache (on every node: the cache is replicated).",
    "KILL",
    "    Kill the currently executing Lua script (never needed: scripts have a budget).",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it (on every node).",
    "HELP",
    "    Print this help.",
    NULL,
};

/* Propose __script WHAT [ARG] for C. */
static void script_propose(struct exec_ctx *ctx, const char *what, const char *arg, size_t len)
{
    struct request *r = request_new(3);
    request_push(r, "__script", 8);
    request_push(r, what, strlen(what));
    if (arg != NULL)
        request_push(r, arg, len);
    consensus_write(server_consensus(ctx->srv), client_defer(ctx->client), r);
}

void cmd_script(struct exec_ctx *ctx, struct request *req)
{
    static const char *const known[] = {"exists", "flush", "kill", "load", NULL};
    if (request_arg_is(req, 1, "load") && req->argc == 3) {
        struct buf err;
        char sha[41];
        buf_init(&err);
        /* compile errors answer at once; the cache itself changes in apply */
        int rc = script_engine_load(ctx->scripts, req->argv[2], req->len[2], 0, sha, &err);
        if (rc != 0)
            buf_append(ctx->out, err.data, err.len);
        buf_close(&err);
        if (rc == 0 && !client_redirect(ctx->client, 0))
            script_propose(ctx, "load", req->argv[2], req->len[2]);
    } else if (request_arg_is(req, 1, "flush") && req->argc <= 3) {
        if (req->argc == 3 && !request_arg_is(req, 2, "sync") && !request_arg_is(req, 2, "async"))
            reply_error(ctx->out, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        else if (!client_redirect(ctx->client, 0))
            script_propose(ctx, "flush", NULL, 0);
    } else if (request_arg_is(req, 1, "exists") && req->argc >= 3) {
        reply_array(ctx->out, req->argc - 2);
        for (int i = 2; i < req->argc; i++)
            reply_int(ctx->out, script_engine_exists(ctx->scripts, req->argv[i], req->len[i]));
    } else if (request_arg_is(req, 1, "kill") && req->argc == 2) {
        reply_error(ctx->out, "NOTBUSY No scripts in execution right now.");
    } else {
        command_reply_subcommand_rest(ctx->out, req, "SCRIPT", script_help, known);
    }
}

/* __script load BODY | __script flush: in apply. */
void cmd_script_apply(struct exec_ctx *ctx, struct request *req)
{
    char sha[41];
    if (request_arg_is(req, 1, "load") && req->argc == 3) {
        if (script_engine_load(ctx->scripts, req->argv[2], req->len[2], 1, sha, ctx->out) == 0)
            reply_bulk(ctx->out, sha, 40);
    } else if (request_arg_is(req, 1, "flush") && req->argc == 2) {
        script_engine_flush(ctx->scripts);
        reply_ok(ctx->out);
    } else {
        reply_error(ctx->out, "ERR malformed __script in log entry");
    }
}
