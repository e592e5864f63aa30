/* MULTI/EXEC/DISCARD/WATCH/UNWATCH. EXEC turns the queued commands into one internal
 * __txn command, proposed as a single unit when it writes (a read barrier otherwise), so the
 * whole transaction is applied atomically at one log position. WATCH is decided at apply
 * time from each key's last-modified apply_seq, identically on every node. The connection's
 * MULTI state (multi.h) is reached through client_multi() of exec.h. */
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "config.h"
#include "consensus.h"
#include "exec.h"
#include "kv.h"
#include "multi.h"

/* __txn layout: "__txn" nwatch {key version apply_seq}* ncmds {argc arg*}*
 * A command answered at EXEC time (a write whose validation failed, a connection or server
 * command such as PING) is encoded as {2 "__raw" reply-bytes}. A key watched in a database
 * other than 0 has "apply_seq@db"; a SELECT queued in the transaction is {2 "select" n}: the
 * commands after it run in database N (the transaction starts in its client's database,
 * which its entry records as any command's, and apply returns to it after). */
#define TXN_RAW "__raw"

void cmd_multi(struct exec_ctx *ctx, struct request *req)
{
    struct multi_state *m = client_multi(ctx->client);
    if (m->in_multi) {
        reply_error(ctx->out, "ERR MULTI calls can not be nested");
        return;
    }
    m->in_multi = 1;
    reply_ok(ctx->out);
}

/* Forget M's MULTI block and watched keys. */
static void tx_forget(struct multi_state *m)
{
    multi_reset(m);
    multi_unwatch(m);
}

void cmd_discard(struct exec_ctx *ctx, struct request *req)
{
    struct multi_state *m = client_multi(ctx->client);
    if (!m->in_multi) {
        reply_error(ctx->out, "ERR DISCARD without MULTI");
        return;
    }
    tx_forget(m);
    reply_ok(ctx->out);
}

void cmd_watch(struct exec_ctx *ctx, struct request *req)
{
    struct multi_state *m = client_multi(ctx->client);
    if (m->in_multi) {
        reply_error(ctx->out, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < req->argc; i++) {
        struct kv_entry *e = kv_peek(ctx->kv, req->argv[i], req->len[i], ctx->now_ms);
        multi_watch(m, req->argv[i], req->len[i], e ? e->mod_seq : 0, ctx->apply_seq);
        m->watched[m->nwatched - 1].db = kv_id(ctx->kv);
    }
    reply_ok(ctx->out);
}

void cmd_unwatch(struct exec_ctx *ctx, struct request *req)
{
    multi_unwatch(client_multi(ctx->client));
    reply_ok(ctx->out);
}

static void push_ll(struct request *r, unsigned long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%llu", v);
    request_push(r, tmp, (size_t)n);
}

/* Build the __txn request for M's queued commands; *WRITES tells whether any of them writes. */
static struct request *txn_build(struct exec_ctx *ctx, const struct multi_state *m, int *writes)
{
    struct request *t = request_new(8);
    struct buf raw;

    buf_init(&raw);
    raw.resp = RESP_APPLY; /* as __txn's other replies: converted for the client at the end */
    *writes = 0;
    request_push(t, "__txn", 5);
    push_ll(t, (unsigned long long)m->nwatched);
    for (int i = 0; i < m->nwatched; i++) {
        request_push(t, m->watched[i].key, m->watched[i].len);
        push_ll(t, m->watched[i].version);
        if (m->watched[i].db != 0) {
            char tmp[48];
            int n = snprintf(tmp, sizeof(tmp), "%llu@%d", (unsigned long long)m->watched[i].apply_seq,
                             m->watched[i].db);
            request_push(t, tmp, (size_t)n);
        } else {
            push_ll(t, m->watched[i].apply_seq);
        }
    }
    push_ll(t, (unsigned long long)m->nqueued);
    for (int i = 0; i < m->nqueued; i++) {
        struct request *q = m->queued[i];
        struct command *cmd = command_lookup(q->argv[0], q->len[0]);
        raw.len = 0;
        if (!command_allowed_in_multi(cmd, q)) {
            /* refused at queue time; kept out of EXEC should one ever get here */
            reply_error(&raw, "ERR Command not allowed inside a transaction");
        } else if (cmd->proc == cmd_select) {
            struct exec_ctx local = *ctx;
            local.out = &raw;
            struct kv_store *kv;
            int db = command_select_db(&local, q, &kv);
            if (db >= 0) { /* the client stays there after EXEC, as in Redis */
                client_set_db(ctx->client, db);
                push_ll(t, 2);
                request_push(t, "select", 6);
                push_ll(t, (unsigned long long)db);
                continue;
            }
        } else if (cmd->flags & CMD_WRITE) {
            *writes = 1;
            if (cmd->prepare && cmd->prepare(q, ctx->now_ms, &raw) == 0)
                script_note_caller(cmd, q, client_user(ctx->client));
        } else if (!(cmd->flags & CMD_READONLY)) {
            struct exec_ctx local = *ctx;
            local.out = &raw;
            command_exec(cmd, &local, q);
        }
        if (raw.len > 0) {
            push_ll(t, 2);
            request_push(t, TXN_RAW, strlen(TXN_RAW));
            request_push(t, raw.data, raw.len);
            continue;
        }
        push_ll(t, (unsigned long long)q->argc);
        for (int j = 0; j < q->argc; j++)
            request_push(t, q->argv[j], q->len[j]);
    }
    buf_close(&raw);
    return t;
}

void cmd_exec(struct exec_ctx *ctx, struct request *req)
{
    struct client *c = ctx->client;
    struct multi_state *m = client_multi(c);
    struct consensus *cs = server_consensus(ctx->srv);
    int writes;

    if (!m->in_multi) {
        reply_error(ctx->out, "ERR EXEC without MULTI");
        return;
    }
    if (m->multi_error) {
        tx_forget(m);
        reply_error(ctx->out, "EXECABORT Transaction discarded because of previous errors.");
        return;
    }
    int consistent = server_config(ctx->srv)->read_consistency != READ_STALE;
    int has_writes = 0;
    for (int i = 0; i < m->nqueued; i++)
        has_writes |= (command_lookup(m->queued[i]->argv[0], m->queued[i]->len[0])->flags & CMD_WRITE) != 0;
    if ((has_writes || consistent) && client_redirect(c, 0)) {
        tx_forget(m);
        return;
    }
    int db = client_db(c); /* where it starts: a SELECT in it changes the client's */
    struct request *t = txn_build(ctx, m, &writes);
    tx_forget(m);
    struct command *txn = command_lookup("__txn", 5);
    if (writes)
        consensus_write_db(cs, client_defer_db(c, db), db, t);
    else if (consistent)
        consensus_read(cs, client_defer_db(c, db), txn, t);
    else {
        command_exec(txn, ctx, t);
        request_free(t);
    }
}

/* Parse the unsigned number at argument *I of REQ and advance. -1 on a malformed record. */
static int txn_num(const struct request *req, int *i, unsigned long long *out)
{
    long long v;
    if (*i >= req->argc || util_parse_ll(req->argv[*i], req->len[*i], &v) != 0 || v < 0)
        return -1;
    (*i)++;
    *out = (unsigned long long)v;
    return 0;
}

/* A watched key's "apply_seq" or "apply_seq@db" at argument *I: its database in *KV (NULL:
 * one this node lacks). -1 on a malformed record. */
static int txn_watch_seq(struct exec_ctx *ctx, const struct request *req, int *i,
                         unsigned long long *seq, struct kv_store **kv)
{
    long long v, db = 0;
    const char *at = *i < req->argc ? memchr(req->argv[*i], '@', req->len[*i]) : NULL;
    size_t n = at ? (size_t)(at - req->argv[*i]) : *i < req->argc ? req->len[*i] : 0;
    if (*i >= req->argc || util_parse_ll(req->argv[*i], n, &v) != 0 || v < 0 ||
        (at && util_parse_ll(at + 1, req->len[*i] - n - 1, &db) != 0))
        return -1;
    (*i)++;
    *seq = (unsigned long long)v;
    *kv = command_db(ctx, db);
    return 0;
}

/* Returns 1 when every watched key is unchanged, 0 when one changed, -1 when malformed. */
static int txn_watch_ok(struct exec_ctx *ctx, const struct request *req, int *i)
{
    unsigned long long n, version, seq;
    int ok = 1;
    if (txn_num(req, i, &n) != 0)
        return -1;
    for (unsigned long long k = 0; k < n; k++) {
        int ki = (*i)++;
        struct kv_store *kv;
        if (ki >= req->argc || txn_num(req, i, &version) != 0 || txn_watch_seq(ctx, req, i, &seq, &kv) != 0)
            return -1;
        if (kv == NULL) {
            ok = 0;
            continue;
        }
        struct kv_entry *e = kv_peek(kv, req->argv[ki], req->len[ki], ctx->now_ms);
        uint64_t now_version = e ? e->mod_seq : 0;
        if (now_version != version)
            ok = 0;
        else if (e == NULL && kv_tombstone(kv, req->argv[ki], req->len[ki]) > seq)
            ok = 0;
    }
    return ok;
}

void cmd_txn(struct exec_ctx *ctx, struct request *req)
{
    unsigned long long ncmds, argc;
    int i = 1;
    int ok = txn_watch_ok(ctx, req, &i);

    if (ok < 0 || txn_num(req, &i, &ncmds) != 0) {
        reply_error(ctx->out, "ERR malformed transaction");
        return;
    }
    if (!ok) {
        reply_null_array(ctx->out);
        return;
    }
    struct kv_store *start = ctx->kv; /* the next record of the entry runs there again */
    reply_array(ctx->out, (long long)ncmds);
    for (unsigned long long k = 0; k < ncmds; k++) {
        if (txn_num(req, &i, &argc) != 0 || argc == 0 || argc > (unsigned long long)(req->argc - i)) {
            reply_error(ctx->out, "ERR malformed transaction");
            continue;
        }
        struct request sub = {.argc = (int)argc, .cap = (int)argc, .argv = req->argv + i, .len = req->len + i};
        i += (int)argc;
        struct command *cmd = command_lookup(sub.argv[0], sub.len[0]);
        struct kv_store *kv;
        if (util_eq_nocase(sub.argv[0], sub.len[0], TXN_RAW) && argc == 2)
            reply_convert(ctx->out, sub.argv[1], sub.len[1]);
        else if (cmd != NULL && cmd->proc == cmd_select && argc == 2) {
            if (command_select_db(ctx, &sub, &kv) >= 0) {
                ctx->kv = kv;
                reply_ok(ctx->out);
            }
        } else if (cmd == NULL || !(cmd->flags & (CMD_WRITE | CMD_READONLY)) || (cmd->flags & CMD_INTERNAL))
            reply_errorf(ctx->out, "ERR command '%.64s' not allowed in a transaction", sub.argv[0]);
        else
            command_exec(cmd, ctx, &sub);
    }
    ctx->kv = start;
}
