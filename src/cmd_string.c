/* String commands: GET/SET and friends, counters, ranges. Prepare functions turn relative
 * times into absolute ones; procs run inside apply and must never read the clock or any
 * global configuration: the request and CTX are all they may depend on. */
#include "command.h"
#include "kv.h"
#include "notify.h"
#include "resp.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis's proto-max-bulk-len default: the largest string SETRANGE and APPEND may build. Apply
 * cannot read configuration, so every replica uses the same constant. */
#define STRING_MAX_LEN (512LL * 1024 * 1024)

/* ---- helpers shared by the handlers of this file ---- */

static void reply_invalid_expire(struct buf *out, const struct request *req)
{
    char name[64];
    request_name_lower(req, name, sizeof(name));
    reply_errorf(out, "ERR invalid expire time in '%s' command", name);
}

static void reply_too_long(struct buf *out)
{
    reply_error(out, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
}

/* The live entry for KEY in a write (kv_lookup_write at CTX's clock and apply_seq). */
static struct kv_entry *lookup_write(struct exec_ctx *ctx, const char *key, size_t klen)
{
    return kv_lookup_write(ctx->kv, key, klen, ctx->now_ms, ctx->apply_seq);
}

/* 1 after a WRONGTYPE reply when E holds a value that is not a string, else 0. */
static int wrongtype(struct exec_ctx *ctx, const struct kv_entry *e)
{
    if (e != NULL && e->type != KV_STRING) {
        reply_wrongtype(ctx->out);
        return 1;
    }
    return 0;
}

/* Reply E's string value, or nil when E is NULL; returns -1 after WRONGTYPE instead. */
static int reply_value(struct exec_ctx *ctx, const struct kv_entry *e)
{
    if (wrongtype(ctx, e))
        return -1;
    if (e == NULL)
        reply_null(ctx->out);
    else
        reply_bulk(ctx->out, kv_entry_val(e), e->vlen);
    return 0;
}

static void push_str(struct request *req, const char *s)
{
    request_push(req, s, strlen(s));
}

static void push_ll(struct request *req, long long v)
{
    char tmp[32];
    request_push(req, tmp, util_ll2str(tmp, v));
}

/* ---- SET, SETEX, PSETEX, GETEX option parsing ---- */

enum {
    SO_NX = 1 << 0,
    SO_XX = 1 << 1,
    SO_GET = 1 << 2,
    SO_KEEPTTL = 1 << 3,
    SO_PERSIST = 1 << 4,
    SO_EX = 1 << 5,
    SO_PX = 1 << 6,
    SO_EXAT = 1 << 7,
    SO_PXAT = 1 << 8,
};
#define SO_EXPIRE (SO_EX | SO_PX | SO_EXAT | SO_PXAT)

struct set_opts {
    unsigned flags;
    int time_arg; /* index of the expire time argument, 0 for none */
};

/* An expire option SELF may follow flags F: no KEEPTTL, no PERSIST, no other expire option. */
static int expire_allowed(unsigned f, unsigned self)
{
    return !(f & (SO_KEEPTTL | SO_PERSIST | (SO_EXPIRE & ~self)));
}

/* Parse the options of SET (IS_SET) or GETEX from argument FIRST on, with Redis 7.0's rules
 * for which combinations are allowed (a repeated option is accepted, the last time wins).
 * Returns 0, or -1 after a syntax error reply. */
static int parse_set_opts(const struct request *req, int first, int is_set, struct set_opts *o,
                          struct buf *out)
{
    o->flags = 0;
    o->time_arg = 0;
    for (int j = first; j < req->argc; j++) {
        unsigned f = o->flags;
        int has_next = j + 1 < req->argc;
        unsigned add;

        if (is_set && request_arg_is(req, j, "nx") && !(f & SO_XX))
            add = SO_NX;
        else if (is_set && request_arg_is(req, j, "xx") && !(f & SO_NX))
            add = SO_XX;
        else if (is_set && request_arg_is(req, j, "get"))
            add = SO_GET;
        else if (is_set && request_arg_is(req, j, "keepttl") && !(f & (SO_PERSIST | SO_EXPIRE)))
            add = SO_KEEPTTL;
        else if (!is_set && request_arg_is(req, j, "persist") && !(f & (SO_KEEPTTL | SO_EXPIRE)))
            add = SO_PERSIST;
        else if (request_arg_is(req, j, "ex") && expire_allowed(f, SO_EX) && has_next)
            add = SO_EX;
        else if (request_arg_is(req, j, "px") && expire_allowed(f, SO_PX) && has_next)
            add = SO_PX;
        else if (request_arg_is(req, j, "exat") && expire_allowed(f, SO_EXAT) && has_next)
            add = SO_EXAT;
        else if (request_arg_is(req, j, "pxat") && expire_allowed(f, SO_PXAT) && has_next)
            add = SO_PXAT;
        else {
            reply_syntax_error(out);
            return -1;
        }
        o->flags |= add;
        if (add & SO_EXPIRE)
            o->time_arg = ++j;
    }
    return 0;
}

/* Turn the expire time argument of REQ (with O's unit) into an absolute unix-ms time, relative
 * times counting from NOW_MS. Returns 0, or -1 after an error reply in Redis's words. */
static int opts_abs_time(const struct request *req, const struct set_opts *o, int64_t now_ms,
                         long long *when, struct buf *out)
{
    long long v;
    int seconds = (o->flags & (SO_EX | SO_EXAT)) != 0;

    if (command_arg_ll(req, o->time_arg, &v, out) != 0)
        return -1;
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
        reply_invalid_expire(out, req);
        return -1;
    }
    if (seconds)
        v *= 1000;
    if (o->flags & (SO_EX | SO_PX)) {
        if (now_ms > 0 && v > LLONG_MAX - now_ms) {
            reply_invalid_expire(out, req);
            return -1;
        }
        v += now_ms;
    }
    if (v <= 0) {
        reply_invalid_expire(out, req);
        return -1;
    }
    *when = v;
    return 0;
}

/* ---- GET, SET and their variants ---- */

void cmd_get(struct exec_ctx *ctx, struct request *req)
{
    reply_value(ctx, kv_lookup(ctx->kv, req->argv[1], req->len[1], ctx->now_ms));
}

/* SET's effect once everything is validated: FLAGS are SO_* (SO_EXPIRE meaning WHEN holds an
 * absolute time). Replies exactly once. */
static void set_generic(struct exec_ctx *ctx, const char *key, size_t klen, const char *val,
                        size_t vlen, unsigned flags, long long when)
{
    struct kv_entry *e = lookup_write(ctx, key, klen);

    if ((flags & SO_GET) && wrongtype(ctx, e))
        return;
    if (flags & SO_GET) {
        if (e == NULL)
            reply_null(ctx->out);
        else
            reply_bulk(ctx->out, kv_entry_val(e), e->vlen);
    }
    if (((flags & SO_NX) && e != NULL) || ((flags & SO_XX) && e == NULL)) {
        if (!(flags & SO_GET))
            reply_null(ctx->out);
        return;
    }
    if ((flags & SO_EXPIRE) && when <= ctx->now_ms) {
        /* Already in the past: the key ends up absent, as it would right after expiring. */
        if (e != NULL) {
            kv_delete(ctx->kv, key, klen, ctx->apply_seq);
            notify_generic(ctx, "del", key, klen);
        }
    } else {
        int64_t expire = KV_NO_EXPIRE;
        if (flags & SO_EXPIRE)
            expire = when;
        else if ((flags & SO_KEEPTTL) && e != NULL)
            expire = e->expire_ms;
        kv_set(ctx->kv, key, klen, val, vlen, expire, ctx->apply_seq);
        notify_string(ctx, "set", key, klen);
        if (flags & SO_EXPIRE)
            notify_generic(ctx, "expire", key, klen);
    }
    if (!(flags & SO_GET))
        reply_ok(ctx->out);
}

/* SET k v [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL] → set k v [NX|XX] [GET]
 * [KEEPTTL|PXAT abs]. */
int prep_set(struct request *req, int64_t now_ms, struct buf *out)
{
    struct set_opts o;
    long long when = 0;

    if (parse_set_opts(req, 3, 1, &o, out) != 0)
        return -1;
    if (o.time_arg && opts_abs_time(req, &o, now_ms, &when, out) != 0)
        return -1;

    struct request *n = request_new(8);
    push_str(n, "set");
    request_push(n, req->argv[1], req->len[1]);
    request_push(n, req->argv[2], req->len[2]);
    if (o.flags & SO_NX)
        push_str(n, "NX");
    if (o.flags & SO_XX)
        push_str(n, "XX");
    if (o.flags & SO_GET)
        push_str(n, "GET");
    if (o.flags & SO_KEEPTTL)
        push_str(n, "KEEPTTL");
    if (o.time_arg) {
        push_str(n, "PXAT");
        push_ll(n, when);
    }
    request_move(req, n);
    return 0;
}

/* SETEX/PSETEX k t v → set k v PXAT abs. */
static int prep_setex_generic(struct request *req, int64_t now_ms, unsigned unit, struct buf *out)
{
    struct set_opts o = {unit, 2};
    long long when;

    if (opts_abs_time(req, &o, now_ms, &when, out) != 0)
        return -1;
    struct request *n = request_new(5);
    push_str(n, "set");
    request_push(n, req->argv[1], req->len[1]);
    request_push(n, req->argv[3], req->len[3]);
    push_str(n, "PXAT");
    push_ll(n, when);
    request_move(req, n);
    return 0;
}

int prep_setex(struct request *req, int64_t now_ms, struct buf *out)
{
    return prep_setex_generic(req, now_ms, SO_EX, out);
}

int prep_psetex(struct request *req, int64_t now_ms, struct buf *out)
{
    return prep_setex_generic(req, now_ms, SO_PX, out);
}

/* Serves SET, and SETEX/PSETEX when they reach apply without their prepare step (relative
 * times then count from the entry's clock, which is still deterministic). */
void cmd_set(struct exec_ctx *ctx, struct request *req)
{
    struct set_opts o;
    long long when = 0;

    if (request_arg_is(req, 0, "setex") || request_arg_is(req, 0, "psetex")) {
        if (req->argc != 4) {
            reply_syntax_error(ctx->out);
            return;
        }
        o.flags = request_arg_is(req, 0, "setex") ? SO_EX : SO_PX;
        o.time_arg = 2;
        if (opts_abs_time(req, &o, ctx->now_ms, &when, ctx->out) != 0)
            return;
        set_generic(ctx, req->argv[1], req->len[1], req->argv[3], req->len[3], o.flags, when);
        return;
    }
    if (req->argc < 3) {
        reply_syntax_error(ctx->out);
        return;
    }
    if (parse_set_opts(req, 3, 1, &o, ctx->out) != 0)
        return;
    if (o.time_arg && opts_abs_time(req, &o, ctx->now_ms, &when, ctx->out) != 0)
        return;
    set_generic(ctx, req->argv[1], req->len[1], req->argv[2], req->len[2], o.flags, when);
}

void cmd_setnx(struct exec_ctx *ctx, struct request *req)
{
    if (lookup_write(ctx, req->argv[1], req->len[1]) != NULL) {
        reply_int(ctx->out, 0);
        return;
    }
    kv_set(ctx->kv, req->argv[1], req->len[1], req->argv[2], req->len[2], KV_NO_EXPIRE,
           ctx->apply_seq);
    notify_string(ctx, "set", req->argv[1], req->len[1]);
    reply_int(ctx->out, 1);
}

void cmd_getset(struct exec_ctx *ctx, struct request *req)
{
    if (reply_value(ctx, lookup_write(ctx, req->argv[1], req->len[1])) != 0)
        return;
    kv_set(ctx->kv, req->argv[1], req->len[1], req->argv[2], req->len[2], KV_NO_EXPIRE,
           ctx->apply_seq);
    notify_string(ctx, "set", req->argv[1], req->len[1]);
}

void cmd_getdel(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e = lookup_write(ctx, req->argv[1], req->len[1]);
    if (reply_value(ctx, e) == 0 && e != NULL) {
        kv_delete(ctx->kv, req->argv[1], req->len[1], ctx->apply_seq);
        notify_generic(ctx, "del", req->argv[1], req->len[1]);
    }
}

/* GETEX k [EX|PX|EXAT|PXAT t|PERSIST] → getex k [PXAT abs|PERSIST]. Redis checks the time
 * value only once it has found the key (a missing key answers nil whatever the time), so an
 * invalid time is left as it is for apply to judge. */
int prep_getex(struct request *req, int64_t now_ms, struct buf *out)
{
    struct set_opts o;
    long long when;
    struct buf scratch;

    if (parse_set_opts(req, 2, 0, &o, out) != 0)
        return -1;
    if (o.time_arg == 0 && !(o.flags & SO_PERSIST))
        return 0;
    buf_init(&scratch);
    int bad = o.time_arg && opts_abs_time(req, &o, now_ms, &when, &scratch) != 0;
    buf_close(&scratch);
    if (bad)
        return 0;

    struct request *n = request_new(4);
    push_str(n, "getex");
    request_push(n, req->argv[1], req->len[1]);
    if (o.time_arg) {
        push_str(n, "PXAT");
        push_ll(n, when);
    } else {
        push_str(n, "PERSIST");
    }
    request_move(req, n);
    return 0;
}

void cmd_getex(struct exec_ctx *ctx, struct request *req)
{
    struct set_opts o;
    long long when = 0;

    if (parse_set_opts(req, 2, 0, &o, ctx->out) != 0)
        return;
    struct kv_entry *e = lookup_write(ctx, req->argv[1], req->len[1]);
    if (wrongtype(ctx, e))
        return;
    if (e == NULL) {
        reply_null(ctx->out);
        return;
    }
    if (o.time_arg && opts_abs_time(req, &o, ctx->now_ms, &when, ctx->out) != 0)
        return;
    reply_bulk(ctx->out, kv_entry_val(e), e->vlen);
    const char *event = NULL;
    if (o.time_arg && when <= ctx->now_ms) {
        kv_delete(ctx->kv, req->argv[1], req->len[1], ctx->apply_seq);
        event = "del";
    } else if (o.time_arg) {
        kv_set_expire(ctx->kv, e, when, ctx->apply_seq);
        event = "expire";
    } else if ((o.flags & SO_PERSIST) && e->expire_ms != KV_NO_EXPIRE) {
        kv_set_expire(ctx->kv, e, KV_NO_EXPIRE, ctx->apply_seq);
        event = "persist";
    }
    if (event != NULL)
        notify_generic(ctx, event, req->argv[1], req->len[1]);
}

/* ---- multi-key ---- */

void cmd_mget(struct exec_ctx *ctx, struct request *req)
{
    reply_array(ctx->out, req->argc - 1);
    for (int i = 1; i < req->argc; i++) {
        struct kv_entry *e = kv_lookup(ctx->kv, req->argv[i], req->len[i], ctx->now_ms);
        if (e == NULL || e->type != KV_STRING)
            reply_null(ctx->out);
        else
            reply_bulk(ctx->out, kv_entry_val(e), e->vlen);
    }
}

/* MSET/MSETNX need key-value pairs; Redis reports an odd count as an arity error. */
static int check_pairs(const struct request *req, struct buf *out)
{
    if (req->argc < 3 || req->argc % 2 == 0) {
        char name[64];
        request_name_lower(req, name, sizeof(name));
        reply_wrong_arity(out, name);
        return -1;
    }
    return 0;
}

int prep_mset(struct request *req, int64_t now_ms, struct buf *out)
{
    return check_pairs(req, out);
}

void cmd_mset(struct exec_ctx *ctx, struct request *req)
{
    if (check_pairs(req, ctx->out) != 0)
        return;
    for (int i = 1; i < req->argc; i += 2) {
        kv_set(ctx->kv, req->argv[i], req->len[i], req->argv[i + 1], req->len[i + 1],
               KV_NO_EXPIRE, ctx->apply_seq);
        notify_string(ctx, "set", req->argv[i], req->len[i]);
    }
    reply_ok(ctx->out);
}

void cmd_msetnx(struct exec_ctx *ctx, struct request *req)
{
    int exists = 0;

    if (check_pairs(req, ctx->out) != 0)
        return;
    for (int i = 1; i < req->argc; i += 2)
        if (lookup_write(ctx, req->argv[i], req->len[i]) != NULL)
            exists = 1;
    if (exists) {
        reply_int(ctx->out, 0);
        return;
    }
    for (int i = 1; i < req->argc; i += 2) {
        kv_set(ctx->kv, req->argv[i], req->len[i], req->argv[i + 1], req->len[i + 1],
               KV_NO_EXPIRE, ctx->apply_seq);
        notify_string(ctx, "set", req->argv[i], req->len[i]);
    }
    reply_int(ctx->out, 1);
}

/* ---- APPEND, STRLEN, GETRANGE, SETRANGE ---- */

void cmd_append(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e = lookup_write(ctx, req->argv[1], req->len[1]);
    const char *add = req->argv[2];
    size_t addlen = req->len[2];

    if (wrongtype(ctx, e))
        return;
    if (e == NULL) {
        kv_set(ctx->kv, req->argv[1], req->len[1], add, addlen, KV_NO_EXPIRE, ctx->apply_seq);
        notify_string(ctx, "append", req->argv[1], req->len[1]);
        reply_int(ctx->out, (long long)addlen);
        return;
    }
    if ((long long)e->vlen + (long long)addlen > STRING_MAX_LEN) {
        reply_too_long(ctx->out);
        return;
    }
    size_t total = e->vlen + addlen;
    char *v = xmalloc(total + 1);
    memcpy(v, kv_entry_val(e), e->vlen);
    memcpy(v + e->vlen, add, addlen);
    kv_set(ctx->kv, req->argv[1], req->len[1], v, total, e->expire_ms, ctx->apply_seq);
    notify_string(ctx, "append", req->argv[1], req->len[1]);
    free(v);
    reply_int(ctx->out, (long long)total);
}

void cmd_strlen(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e = kv_lookup(ctx->kv, req->argv[1], req->len[1], ctx->now_ms);
    if (wrongtype(ctx, e))
        return;
    reply_int(ctx->out, e ? (long long)e->vlen : 0);
}

void cmd_getrange(struct exec_ctx *ctx, struct request *req)
{
    long long start, end;

    if (util_parse_ll(req->argv[2], req->len[2], &start) != 0 ||
        util_parse_ll(req->argv[3], req->len[3], &end) != 0) {
        reply_not_integer(ctx->out);
        return;
    }
    struct kv_entry *e = kv_lookup(ctx->kv, req->argv[1], req->len[1], ctx->now_ms);
    if (wrongtype(ctx, e))
        return;
    long long len = e ? (long long)e->vlen : 0;
    if (e == NULL || (start < 0 && end < 0 && start > end)) {
        reply_bulk(ctx->out, "", 0);
        return;
    }
    if (start < 0)
        start += len;
    if (end < 0)
        end += len;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= len)
        end = len - 1;
    if (start > end || len == 0)
        reply_bulk(ctx->out, "", 0);
    else
        reply_bulk(ctx->out, kv_entry_val(e) + start, (size_t)(end - start + 1));
}

/* Validate SETRANGE's arguments. Returns 0 with *OFFSET, or -1 after an error reply. */
static int setrange_args(const struct request *req, long long *offset, struct buf *out)
{
    if (command_arg_ll(req, 2, offset, out) != 0)
        return -1;
    if (*offset < 0) {
        reply_error(out, "ERR offset is out of range");
        return -1;
    }
    /* An empty value changes nothing, so Redis never complains about its size. */
    if (req->len[3] > 0 && *offset > STRING_MAX_LEN - (long long)req->len[3]) {
        reply_too_long(out);
        return -1;
    }
    return 0;
}

int prep_setrange(struct request *req, int64_t now_ms, struct buf *out)
{
    return setrange_args(req, &(long long){0}, out);
}

void cmd_setrange(struct exec_ctx *ctx, struct request *req)
{
    long long offset;

    if (setrange_args(req, &offset, ctx->out) != 0)
        return;
    struct kv_entry *e = lookup_write(ctx, req->argv[1], req->len[1]);
    if (wrongtype(ctx, e))
        return;
    size_t olen = e ? e->vlen : 0;
    size_t vlen = req->len[3];
    if (vlen == 0) {
        reply_int(ctx->out, (long long)olen);
        return;
    }
    size_t need = (size_t)offset + vlen;
    size_t total = need > olen ? need : olen;
    char *v = xcalloc(total + 1, 1);
    if (olen)
        memcpy(v, kv_entry_val(e), olen);
    memcpy(v + offset, req->argv[3], vlen);
    kv_set(ctx->kv, req->argv[1], req->len[1], v, total, e ? e->expire_ms : KV_NO_EXPIRE,
           ctx->apply_seq);
    notify_string(ctx, "setrange", req->argv[1], req->len[1]);
    free(v);
    reply_int(ctx->out, (long long)total);
}

/* ---- counters ---- */

static void incr_generic(struct exec_ctx *ctx, struct request *req, long long incr)
{
    struct kv_entry *e = lookup_write(ctx, req->argv[1], req->len[1]);
    long long v = 0;
    char tmp[32];

    if (wrongtype(ctx, e))
        return;
    if (e != NULL && util_parse_ll(kv_entry_val(e), e->vlen, &v) != 0) {
        reply_not_integer(ctx->out);
        return;
    }
    if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) ||
        (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
        reply_error(ctx->out, "ERR increment or decrement would overflow");
        return;
    }
    v += incr;
    kv_set(ctx->kv, req->argv[1], req->len[1], tmp, util_ll2str(tmp, v),
           e ? e->expire_ms : KV_NO_EXPIRE, ctx->apply_seq);
    notify_string(ctx, "incrby", req->argv[1], req->len[1]);
    reply_int(ctx->out, v);
}

/* The amount of INCRBY/DECRBY, negated for DECRBY. Returns 0, or -1 after an error reply. */
static int incrby_amount(const struct request *req, long long *incr, struct buf *out)
{
    if (command_arg_ll(req, 2, incr, out) != 0)
        return -1;
    if (request_arg_is(req, 0, "decrby")) {
        if (*incr == LLONG_MIN) {
            reply_error(out, "ERR decrement would overflow");
            return -1;
        }
        *incr = -*incr;
    }
    return 0;
}

int prep_incrby(struct request *req, int64_t now_ms, struct buf *out)
{
    return incrby_amount(req, &(long long){0}, out);
}

void cmd_incr(struct exec_ctx *ctx, struct request *req)
{
    incr_generic(ctx, req, 1);
}

void cmd_decr(struct exec_ctx *ctx, struct request *req)
{
    incr_generic(ctx, req, -1);
}

void cmd_incrby(struct exec_ctx *ctx, struct request *req)
{
    long long incr;
    if (incrby_amount(req, &incr, ctx->out) == 0)
        incr_generic(ctx, req, incr);
}

void cmd_decrby(struct exec_ctx *ctx, struct request *req)
{
    cmd_incrby(ctx, req);
}

static void reply_not_float(struct buf *out)
{
    reply_error(out, "ERR value is not a valid float");
}

/* A float operand of INCRBYFLOAT. Redis reads it as a long double, whose range is far
 * wider than a double's; here a number beyond a double's range is an infinity, so the
 * result is refused as infinite, not the operand as malformed. 0 or -1. */
static int parse_float_operand(const char *s, size_t len, double *out)
{
    int rc = util_parse_double(s, len, out);
    return rc == 0 || rc == UTIL_DOUBLE_OVERFLOW ? 0 : -1;
}

int prep_incrbyfloat(struct request *req, int64_t now_ms, struct buf *out)
{
    double incr;
    if (parse_float_operand(req->argv[2], req->len[2], &incr) != 0) {
        reply_not_float(out);
        return -1;
    }
    return 0;
}

void cmd_incrbyfloat(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e = lookup_write(ctx, req->argv[1], req->len[1]);
    double v = 0, incr;
    char tmp[UTIL_D2STR_MAX];

    if (wrongtype(ctx, e))
        return;
    if ((e != NULL && parse_float_operand(kv_entry_val(e), e->vlen, &v) != 0) ||
        parse_float_operand(req->argv[2], req->len[2], &incr) != 0) {
        reply_not_float(ctx->out);
        return;
    }
    v += incr; /* IEEE double on every node: see fsm.h */
    if (isnan(v) || isinf(v)) {
        reply_error(ctx->out, "ERR increment would produce NaN or Infinity");
        return;
    }
    size_t n = util_d2str_human(tmp, sizeof(tmp), v); /* finite, and TMP is big enough */
    kv_set(ctx->kv, req->argv[1], req->len[1], tmp, n, e ? e->expire_ms : KV_NO_EXPIRE,
           ctx->apply_seq);
    notify_string(ctx, "incrbyfloat", req->argv[1], req->len[1]);
    reply_bulk(ctx->out, tmp, n);
}
