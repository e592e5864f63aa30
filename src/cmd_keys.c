/* Generic key commands: deletion, existence, iteration, renaming, copying and expiry.
 * Prepare functions turn relative times into absolute ones; procs run inside apply and must
 * never read the clock, rand() or any global configuration. */
#include "command.h"
#include "value.h"
#include "evict.h"
#include "kv.h"
#include "notify.h"
#include "resp.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static int same_arg(const struct request *req, int i, int j)
{
    return req->len[i] == req->len[j] && memcmp(req->argv[i], req->argv[j], req->len[i]) == 0;
}

/* The live entry for KEY in a write (kv_lookup_write at CTX's clock and apply_seq). */
static struct kv_entry *lookup_write(struct exec_ctx *ctx, const char *key, size_t klen)
{
    return kv_lookup_write(ctx->kv, key, klen, ctx->now_ms, ctx->apply_seq);
}

/* ---- DEL, EXISTS, TYPE ---- */

/* DEL and UNLINK: keys that have expired are removed too, but not counted. */
void cmd_del(struct exec_ctx *ctx, struct request *req)
{
    long long n = 0;
    for (int i = 1; i < req->argc; i++) {
        if (lookup_write(ctx, req->argv[i], req->len[i]) != NULL) {
            kv_delete(ctx->kv, req->argv[i], req->len[i], ctx->apply_seq);
            notify_generic(ctx, "del", req->argv[i], req->len[i]);
            n++;
        }
    }
    reply_int(ctx->out, n);
}

void cmd_exists(struct exec_ctx *ctx, struct request *req)
{
    long long n = 0;
    for (int i = 1; i < req->argc; i++)
        if (kv_peek(ctx->kv, req->argv[i], req->len[i], ctx->now_ms) != NULL)
            n++;
    reply_int(ctx->out, n);
}

void cmd_type(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e = kv_peek(ctx->kv, req->argv[1], req->len[1], ctx->now_ms);
    reply_simple(ctx->out, e != NULL ? kv_type_name(e->type) : "none");
}

/* ---- KEYS, SCAN, RANDOMKEY ---- */

/* Collects the live keys that pass a pattern as bulk strings. */
struct key_filter {
    struct buf items;
    long long n;
    const char *pat; /* NULL: every key */
    size_t plen;
    int reject_all;  /* SCAN TYPE names a type no key has */
    int type;        /* SCAN TYPE: only keys of this enum kv_type; -1 for any */
    int64_t now_ms;
};

static void filter_key(void *priv, const struct kv_entry *e)
{
    struct key_filter *f = priv;
    if (f->reject_all || kv_entry_expired(e, f->now_ms) || (f->type >= 0 && e->type != f->type))
        return;
    if (f->pat && !util_glob_match(f->pat, f->plen, kv_entry_key(e), e->klen, 0))
        return;
    reply_bulk(&f->items, kv_entry_key(e), e->klen);
    f->n++;
}

static void filter_init(struct key_filter *f, const char *pat, size_t plen, int64_t now_ms)
{
    buf_init(&f->items);
    f->n = 0;
    f->pat = plen == 1 && pat[0] == '*' ? NULL : pat;
    f->plen = plen;
    f->reject_all = 0;
    f->type = -1;
    f->now_ms = now_ms;
}

/* Append the collected keys to OUT as one array and release them. */
static void filter_reply(struct key_filter *f, struct buf *out)
{
    reply_array(out, f->n);
    buf_append(out, f->items.data, f->items.len);
    buf_close(&f->items);
}

void cmd_keys(struct exec_ctx *ctx, struct request *req)
{
    struct key_filter f;
    filter_init(&f, req->argv[1], req->len[1], ctx->now_ms);
    kv_foreach(ctx->kv, filter_key, &f);
    filter_reply(&f, ctx->out);
}

/* SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]. The cursor is parsed like Redis's
 * strtoul-based parser, which accepts what strtoull accepts for a whole argument. */
void cmd_scan(struct exec_ctx *ctx, struct request *req)
{
    struct key_filter f;
    struct scan_args a;
    int reject_all = 0, type = -1;

    if (command_parse_scan(req, 1, 1, &a, ctx->out) != 0)
        return;
    if (a.type_arg >= 0) {
        /* A type name no key can have matches nothing. */
        static const char *const names[] = {"string", "hash", "set", "zset", "list"};
        reject_all = 1;
        for (int t = 0; t < 5; t++)
            if (request_arg_is(req, a.type_arg, names[t])) {
                reject_all = 0;
                type = t;
            }
    }
    const char *pat = a.pat ? a.pat : "*";
    size_t plen = a.pat ? a.plen : 1;
    long long count = a.count;
    unsigned long long cursor = a.cursor;
    filter_init(&f, pat, plen, ctx->now_ms);
    f.reject_all = reject_all;
    f.type = type;
    uint64_t next = kv_scan(ctx->kv, cursor, (size_t)count, filter_key, &f);

    char tmp[32];
    reply_array(ctx->out, 2);
    reply_bulk(ctx->out, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)next));
    filter_reply(&f, ctx->out);
}

void cmd_randomkey(struct exec_ctx *ctx, struct request *req)
{
    uint64_t local = 0x9E3779B97F4A7C15ULL;
    struct kv_entry *e = kv_random(ctx->kv, ctx->rng ? ctx->rng : &local, ctx->now_ms);
    if (e == NULL)
        reply_null(ctx->out);
    else
        reply_bulk(ctx->out, kv_entry_key(e), e->klen);
}

/* ---- RENAME, RENAMENX, COPY ---- */

static void rename_generic(struct exec_ctx *ctx, struct request *req, int nx)
{
    struct kv_entry *e = lookup_write(ctx, req->argv[1], req->len[1]);

    if (e == NULL) {
        reply_error(ctx->out, "ERR no such key");
        return;
    }
    if (same_arg(req, 1, 2)) {
        if (nx)
            reply_int(ctx->out, 0);
        else
            reply_ok(ctx->out);
        return;
    }
    if (lookup_write(ctx, req->argv[2], req->len[2]) != NULL && nx) {
        reply_int(ctx->out, 0);
        return;
    }
    /* E is another key's entry: replacing the destination leaves it in place. An object
     * moves to the new entry. */
    if (e->type != KV_STRING)
        kv_set_obj(ctx->kv, req->argv[2], req->len[2], e->type, kv_entry_take_obj(e),
                   e->expire_ms, ctx->apply_seq);
    else
        kv_set(ctx->kv, req->argv[2], req->len[2], kv_entry_val(e), e->vlen, e->expire_ms,
               ctx->apply_seq);
    kv_delete(ctx->kv, req->argv[1], req->len[1], ctx->apply_seq);
    notify_generic(ctx, "rename_from", req->argv[1], req->len[1]);
    notify_generic(ctx, "rename_to", req->argv[2], req->len[2]);
    if (nx)
        reply_int(ctx->out, 1);
    else
        reply_ok(ctx->out);
}

void cmd_rename(struct exec_ctx *ctx, struct request *req)
{
    rename_generic(ctx, req, 0);
}

void cmd_renamenx(struct exec_ctx *ctx, struct request *req)
{
    rename_generic(ctx, req, 1);
}

/* A database index argument (SELECT, MOVE, SWAPDB, COPY ... DB): an integer (Redis's
 * "value is not an integer or out of range"); NAME the argument's name in the range error
 * Redis gives for a long beyond an int (NULL: the plain "not an integer" error, as SELECT
 * and MOVE have it). Returns 0 with *DB, or -1 after the error. The index itself is checked
 * against the databases where it is used (command_db). */
int command_arg_db(const struct request *req, int i, const char *name, long long *db,
                   struct buf *out)
{
    if (command_arg_ll(req, i, db, out) != 0)
        return -1;
    if (*db < INT_MIN || *db > INT_MAX) {
        if (name != NULL)
            reply_errorf(out, "ERR value is out of range, value must between %d and %d",
                         INT_MIN, INT_MAX);
        else
            reply_not_integer(out);
        return -1;
    }
    return 0;
}

/* COPY's options, checked in Redis's order. Returns 0 with *REPLACE and *DB (-1: no DB
 * option), or -1 after an error. */
static int copy_args(const struct request *req, int *replace, long long *dbp, struct buf *out)
{
    *replace = 0;
    *dbp = -1;
    for (int j = 3; j < req->argc; j++) {
        if (request_arg_is(req, j, "replace")) {
            *replace = 1;
        } else if (request_arg_is(req, j, "db") && j + 1 < req->argc) {
            if (command_arg_db(req, j + 1, "db", dbp, out) != 0)
                return -1;
            if (*dbp < 0) {
                reply_error(out, "ERR DB index is out of range");
                return -1;
            }
            j++;
        } else {
            reply_syntax_error(out);
            return -1;
        }
    }
    return 0;
}

int prep_copy(struct request *req, int64_t now_ms, struct buf *out)
{
    int replace;
    long long db;
    if (copy_args(req, &replace, &db, out) != 0)
        return -1;
    if (db < 0 && same_arg(req, 1, 2)) { /* with DB: the same only in the same database */
        reply_error(out, "ERR source and destination objects are the same");
        return -1;
    }
    return 0;
}

/* Store a copy of E's value under KEY in DST (the source untouched), with E's TTL. */
static void copy_value(struct exec_ctx *ctx, struct kv_store *dst, const struct kv_entry *e,
                       const char *key, size_t klen)
{
    const struct value_ops *ops = value_ops(e->type);
    if (ops != NULL)
        kv_set_obj(dst, key, klen, e->type, ops->dup(kv_entry_obj(e)), e->expire_ms,
                   ctx->apply_seq);
    else
        kv_set(dst, key, klen, kv_entry_val(e), e->vlen, e->expire_ms, ctx->apply_seq);
}

void cmd_copy(struct exec_ctx *ctx, struct request *req)
{
    int replace;
    long long db;

    if (copy_args(req, &replace, &db, ctx->out) != 0)
        return;
    struct kv_store *dst = db < 0 ? ctx->kv : command_db(ctx, db);
    if (dst == NULL) {
        reply_error(ctx->out, "ERR DB index is out of range");
        return;
    }
    if (dst == ctx->kv && same_arg(req, 1, 2)) {
        reply_error(ctx->out, "ERR source and destination objects are the same");
        return;
    }
    struct kv_entry *e = lookup_write(ctx, req->argv[1], req->len[1]);
    if (e == NULL) {
        reply_int(ctx->out, 0);
        return;
    }
    if (kv_lookup_write(dst, req->argv[2], req->len[2], ctx->now_ms, ctx->apply_seq) != NULL &&
        !replace) {
        reply_int(ctx->out, 0);
        return;
    }
    copy_value(ctx, dst, e, req->argv[2], req->len[2]);
    struct kv_store *src = ctx->kv;
    ctx->kv = dst; /* the event is the destination database's */
    notify_generic(ctx, "copy_to", req->argv[2], req->len[2]);
    ctx->kv = src;
    reply_int(ctx->out, 1);
}

/* MOVE key db: the key goes to database DB unless a key of that name is there. */
void cmd_move(struct exec_ctx *ctx, struct request *req)
{
    long long db;
    if (command_arg_db(req, 2, NULL, &db, ctx->out) != 0)
        return;
    struct kv_store *dst = command_db(ctx, db);
    if (dst == NULL) {
        reply_error(ctx->out, "ERR DB index is out of range");
        return;
    }
    if (dst == ctx->kv) {
        reply_error(ctx->out, "ERR source and destination objects are the same");
        return;
    }
    struct kv_entry *e = lookup_write(ctx, req->argv[1], req->len[1]);
    if (e == NULL ||
        kv_lookup_write(dst, req->argv[1], req->len[1], ctx->now_ms, ctx->apply_seq) != NULL) {
        reply_int(ctx->out, 0);
        return;
    }
    /* the value itself moves: a new entry in DST takes E's object (or its string) */
    if (e->type != KV_STRING)
        kv_set_obj(dst, req->argv[1], req->len[1], e->type, kv_entry_take_obj(e), e->expire_ms,
                   ctx->apply_seq);
    else
        kv_set(dst, req->argv[1], req->len[1], kv_entry_val(e), e->vlen, e->expire_ms,
               ctx->apply_seq);
    notify_generic(ctx, "move_from", req->argv[1], req->len[1]);
    kv_delete(ctx->kv, req->argv[1], req->len[1], ctx->apply_seq);
    struct kv_store *src = ctx->kv;
    ctx->kv = dst;
    notify_generic(ctx, "move_to", req->argv[1], req->len[1]);
    ctx->kv = src;
    reply_int(ctx->out, 1);
}

/* SWAPDB a b: the two databases exchange their keys. WATCH on either sees a change: both
 * record this entry as their flush, so every key watched in them reads as touched (Redis
 * touches only the watched keys that exist in either; this is the conservative side). */
void cmd_swapdb(struct exec_ctx *ctx, struct request *req)
{
    long long a, b;
    if (command_arg_db(req, 1, NULL, &a, ctx->out) != 0 || command_arg_db(req, 2, NULL, &b, ctx->out) != 0)
        return;
    struct kv_store *x = command_db(ctx, a), *y = command_db(ctx, b);
    if (x == NULL || y == NULL) {
        reply_error(ctx->out, "ERR DB index is out of range");
        return;
    }
    if (x != y) {
        kv_swap(x, y);
        kv_set_flush_seq(x, ctx->apply_seq);
        kv_set_flush_seq(y, ctx->apply_seq);
        kv_signal_all_created(x); /* clients blocked in either may now be served */
        kv_signal_all_created(y);
    }
    reply_ok(ctx->out);
}

/* ---- OBJECT ---- */

/* A string's encoding as Redis 7.0 names it: "int" for a value that is a long long in
 * canonical form, "embstr" up to 44 bytes, else "raw". */
static const char *string_encoding(const struct kv_entry *e)
{
    long long v;
    if (e->vlen <= 20 && util_parse_ll(kv_entry_val(e), e->vlen, &v) == 0)
        return "int";
    return e->vlen <= 44 ? "embstr" : "raw";
}

/* OBJECT REFCOUNT's answer. Redis shares the objects of the integers 0..9999 unless an
 * LRU or LFU eviction policy needs per-key stamps, and reports a shared object's count as
 * INT_MAX; every other value has one reference. */
static long long object_refcount(const struct kv_entry *e)
{
    long long v;
    if (e->type == KV_STRING && kv_access_mode() != KV_ACCESS_LFU && e->vlen <= 4 &&
        util_parse_ll(kv_entry_val(e), e->vlen, &v) == 0 && v >= 0 && v < 10000)
        return 2147483647;
    return 1;
}

#define OBJECT_POLICY_NOTE                                                                  \
    "Please note that when switching between policies at runtime LRU and LFU data will " \
    "take some time to adjust."

/* OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ key, OBJECT HELP. The key is looked up without
 * recording an access (LOOKUP_NOTOUCH). IDLETIME and FREQ read the node-local access stamp
 * (kv.h), each refused in the other access mode, as Redis refuses them per policy. */
void cmd_object(struct exec_ctx *ctx, struct request *req)
{
    static const char *const help[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Print this help.",
        NULL,
    };
    static const char *const known[] = {"encoding", "refcount", "idletime", "freq", NULL};

    if (req->argc == 3) {
        int sub = -1;
        for (int i = 0; known[i]; i++)
            if (request_arg_is(req, 1, known[i]))
                sub = i;
        if (sub >= 0) {
            struct kv_entry *e = kv_peek(ctx->kv, req->argv[2], req->len[2], ctx->now_ms);
            int lfu = kv_access_mode() == KV_ACCESS_LFU;
            if (e == NULL) {
                reply_null(ctx->out);
            } else if (sub == 0) {
                const struct value_ops *ops = value_ops(e->type);
                reply_bulk_cstr(ctx->out, ops != NULL ? ops->encoding(kv_entry_obj(e))
                                                      : string_encoding(e));
            } else if (sub == 1) {
                reply_int(ctx->out, object_refcount(e));
            } else if (sub == 2 && !lfu) {
                reply_int(ctx->out, (long long)(kv_entry_idle_ms(e) / 1000));
            } else if (sub == 2) {
                reply_error(ctx->out, "ERR An LFU maxmemory policy is selected, idle time not "
                                      "tracked. " OBJECT_POLICY_NOTE);
            } else if (lfu) {
                reply_int(ctx->out, kv_entry_lfu(e));
            } else {
                reply_error(ctx->out, "ERR An LFU maxmemory policy is not selected, access "
                                      "frequency not tracked. " OBJECT_POLICY_NOTE);
            }
            return;
        }
    }
    command_reply_subcommand_rest(ctx->out, req, "OBJECT", help, known);
}

/* ---- EXPIRE and friends ---- */

enum { EXP_NX = 1, EXP_XX = 2, EXP_GT = 4, EXP_LT = 8 };

/* The NX/XX/GT/LT options from argument 3 on. Returns 0, or -1 after an error reply. */
static int expire_flags(const struct request *req, unsigned *flags, struct buf *out)
{
    *flags = 0;
    for (int j = 3; j < req->argc; j++) {
        if (request_arg_is(req, j, "nx"))
            *flags |= EXP_NX;
        else if (request_arg_is(req, j, "xx"))
            *flags |= EXP_XX;
        else if (request_arg_is(req, j, "gt"))
            *flags |= EXP_GT;
        else if (request_arg_is(req, j, "lt"))
            *flags |= EXP_LT;
        else {
            reply_errorf(out, "ERR Unsupported option %s", req->argv[j]);
            return -1;
        }
    }
    if ((*flags & EXP_NX) && (*flags & (EXP_XX | EXP_GT | EXP_LT))) {
        reply_error(out, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return -1;
    }
    if ((*flags & EXP_GT) && (*flags & EXP_LT)) {
        reply_error(out, "ERR GT and LT options at the same time are not compatible");
        return -1;
    }
    return 0;
}

/* Parse an EXPIRE-family request: the time argument in seconds (SECONDS) or ms, plus
 * BASETIME, as an absolute unix-ms time (which may be negative: that simply means the past).
 * Returns 0, or -1 after an error reply in Redis's words and order. */
static int expire_args(const struct request *req, int64_t basetime, int seconds, long long *when,
                       unsigned *flags, struct buf *out)
{
    long long v;

    if (expire_flags(req, flags, out) != 0)
        return -1;
    if (command_arg_ll(req, 2, &v, out) != 0)
        return -1;
    if (seconds) {
        if (v > LLONG_MAX / 1000 || v < LLONG_MIN / 1000)
            goto invalid;
        v *= 1000;
    }
    if (v > LLONG_MAX - basetime)
        goto invalid;
    *when = v + basetime;
    return 0;

invalid:;
    char name[64];
    request_name_lower(req, name, sizeof(name));
    reply_errorf(out, "ERR invalid expire time in '%s' command", name);
    return -1;
}

/* Validate and rewrite to "pexpireat key <abs-ms> [options]". */
static int prep_expire_generic(struct request *req, int64_t basetime, int seconds,
                               struct buf *out)
{
    long long when;
    unsigned flags;
    char tmp[32];

    if (expire_args(req, basetime, seconds, &when, &flags, out) != 0)
        return -1;
    request_set(req, 0, "pexpireat", strlen("pexpireat"));
    request_set(req, 2, tmp, util_ll2str(tmp, when));
    return 0;
}

int prep_expire(struct request *req, int64_t now_ms, struct buf *out)
{
    return prep_expire_generic(req, now_ms, 1, out);
}

int prep_pexpire(struct request *req, int64_t now_ms, struct buf *out)
{
    return prep_expire_generic(req, now_ms, 0, out);
}

int prep_expireat(struct request *req, int64_t now_ms, struct buf *out)
{
    return prep_expire_generic(req, 0, 1, out);
}

int prep_pexpireat(struct request *req, int64_t now_ms, struct buf *out)
{
    return prep_expire_generic(req, 0, 0, out);
}

/* Serves PEXPIREAT, and EXPIRE/PEXPIRE/EXPIREAT if they reach apply unprepared (relative times
 * then count from the entry's clock). A key without a TTL counts as an infinite TTL for GT/LT.
 * A time not after the entry's clock deletes the key. */
void cmd_pexpireat(struct exec_ctx *ctx, struct request *req)
{
    int relative = request_arg_is(req, 0, "expire") || request_arg_is(req, 0, "pexpire");
    int seconds = request_arg_is(req, 0, "expire") || request_arg_is(req, 0, "expireat");
    long long when;
    unsigned flags;

    if (expire_args(req, relative ? ctx->now_ms : 0, seconds, &when, &flags, ctx->out) != 0)
        return;
    struct kv_entry *e = lookup_write(ctx, req->argv[1], req->len[1]);
    if (e == NULL) {
        reply_int(ctx->out, 0);
        return;
    }
    int has_ttl = e->expire_ms != KV_NO_EXPIRE;
    if (((flags & EXP_NX) && has_ttl) || ((flags & EXP_XX) && !has_ttl) ||
        ((flags & EXP_GT) && (!has_ttl || when <= e->expire_ms)) ||
        ((flags & EXP_LT) && has_ttl && when >= e->expire_ms)) {
        reply_int(ctx->out, 0);
        return;
    }
    if (when <= ctx->now_ms) {
        kv_delete(ctx->kv, req->argv[1], req->len[1], ctx->apply_seq);
        notify_generic(ctx, "del", req->argv[1], req->len[1]);
    } else {
        kv_set_expire(ctx->kv, e, when, ctx->apply_seq);
        notify_generic(ctx, "expire", req->argv[1], req->len[1]);
    }
    reply_int(ctx->out, 1);
}

void cmd_persist(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e = lookup_write(ctx, req->argv[1], req->len[1]);
    if (e == NULL || e->expire_ms == KV_NO_EXPIRE) {
        reply_int(ctx->out, 0);
        return;
    }
    kv_set_expire(ctx->kv, e, KV_NO_EXPIRE, ctx->apply_seq);
    notify_generic(ctx, "persist", req->argv[1], req->len[1]);
    reply_int(ctx->out, 1);
}

/* TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 without a TTL, else the time
 * left (or the absolute time), in ms or in seconds rounded to the nearest. */
static void ttl_generic(struct exec_ctx *ctx, struct request *req, int ms, int absolute)
{
    struct kv_entry *e = kv_peek(ctx->kv, req->argv[1], req->len[1], ctx->now_ms);
    if (e == NULL) {
        reply_int(ctx->out, -2);
        return;
    }
    if (e->expire_ms == KV_NO_EXPIRE) {
        reply_int(ctx->out, -1);
        return;
    }
    long long t = absolute ? e->expire_ms : e->expire_ms - ctx->now_ms;
    if (t < 0)
        t = 0;
    /* Round to the nearest second without overflowing near LLONG_MAX. */
    reply_int(ctx->out, ms ? t : t / 1000 + (t % 1000 >= 500));
}

void cmd_ttl(struct exec_ctx *ctx, struct request *req)
{
    ttl_generic(ctx, req, 0, 0);
}

void cmd_pttl(struct exec_ctx *ctx, struct request *req)
{
    ttl_generic(ctx, req, 1, 0);
}

void cmd_expiretime(struct exec_ctx *ctx, struct request *req)
{
    ttl_generic(ctx, req, 0, 1);
}

void cmd_pexpiretime(struct exec_ctx *ctx, struct request *req)
{
    ttl_generic(ctx, req, 1, 1);
}

/* ---- DBSIZE, FLUSHDB/FLUSHALL, active expiry ---- */

void cmd_dbsize(struct exec_ctx *ctx, struct request *req)
{
    reply_int(ctx->out, (long long)kv_size(ctx->kv));
}

static int flush_args(const struct request *req, struct buf *out)
{
    if (req->argc == 1 || (req->argc == 2 && (request_arg_is(req, 1, "sync") || request_arg_is(req, 1, "async"))))
        return 0;
    reply_syntax_error(out);
    return -1;
}

int prep_flushall(struct request *req, int64_t now_ms, struct buf *out)
{
    return flush_args(req, out);
}

void cmd_flushall(struct exec_ctx *ctx, struct request *req)
{
    if (flush_args(req, ctx->out) != 0)
        return;
    for (int d = 0; d < command_ndbs(ctx); d++)
        kv_flush(command_db(ctx, d), ctx->apply_seq);
    reply_ok(ctx->out);
}

void cmd_flushdb(struct exec_ctx *ctx, struct request *req)
{
    if (flush_args(req, ctx->out) != 0)
        return;
    kv_flush(ctx->kv, ctx->apply_seq);
    reply_ok(ctx->out);
}

/* __expired key [key ...]: proposed by the active expiry cycle; deletes each key that is
 * still present and expired at the entry's clock (it may have been rewritten meanwhile). */
void cmd_expired(struct exec_ctx *ctx, struct request *req)
{
    long long n = 0;
    for (int i = 1; i < req->argc; i++) {
        struct kv_entry *e = kv_find(ctx->kv, req->argv[i], req->len[i]);
        if (e != NULL && kv_entry_expired(e, ctx->now_ms)) {
            notify_keyspace_event(ctx, NOTIFY_EXPIRED, "expired", req->argv[i], req->len[i]);
            n += kv_delete(ctx->kv, req->argv[i], req->len[i], ctx->apply_seq);
        }
    }
    reply_int(ctx->out, n);
}

/* __evicted key [key ...]: proposed by the leader when used memory is over maxmemory
 * (server_evict.c), the victims chosen there from its own access statistics. Deletes each
 * key present, unconditionally: the choice was made before proposing, so every node deletes
 * the same keys whatever its local stamps or configuration. Publishes "evicted" as Redis. */
void cmd_evicted(struct exec_ctx *ctx, struct request *req)
{
    long long n = 0;
    for (int i = 1; i < req->argc; i++) {
        if (kv_find(ctx->kv, req->argv[i], req->len[i]) == NULL)
            continue;
        notify_keyspace_event(ctx, NOTIFY_EVICTED, "evicted", req->argv[i], req->len[i]);
        n += kv_delete(ctx->kv, req->argv[i], req->len[i], ctx->apply_seq);
    }
    if (ctx->evicted != NULL) {
        ctx->evicted->keys += n;
        ctx->evicted->entries++;
    }
    reply_int(ctx->out, n);
}
