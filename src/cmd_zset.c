/* Sorted-set commands (Redis 7.0's t_zset.c semantics): ZADD and friends, ranks, ranges,
 * range removal and pops (the set operations, ZRANDMEMBER and ZSCAN are in cmd_zset_ops.c,
 * the helpers both share in cmd_zset.h). Writes run in apply and
 * depend only on the request and CTX: the writes that may convert an encoding (ZADD,
 * ZINCRBY and the stores) carry the conversion thresholds as one last argument
 * "ENTRIES:VALUE", which their prepare step always appends and their handler always takes
 * off; skiplist levels come from command_prng (seeded by the entry). */
#include "cmd_zset.h"
#include "kv.h"
#include "notify.h"
#include "blocking.h"
#include "resp.h"
#include "util.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* The live entry of the key at argument I, in *E (NULL when absent), for a read or (WRITE)
 * a write (kv_lookup_write deletes an expired key first). Returns 0, or -1 after WRONGTYPE. */
int cmd_zset_entry(struct exec_ctx *ctx, const struct request *req, int i, int write,
                   struct kv_entry **e)
{
    if (write)
        *e = kv_lookup_write(ctx->kv, req->argv[i], req->len[i], ctx->now_ms, ctx->apply_seq);
    else
        *e = kv_lookup(ctx->kv, req->argv[i], req->len[i], ctx->now_ms);
    if (*e != NULL && (*e)->type != KV_ZSET) {
        reply_wrongtype(ctx->out);
        return -1;
    }
    return 0;
}

/* After a change of the key at argument I (entry E): publish EVENT ("zadd", "zrem" ...;
 * NULL: nothing changed that Redis notifies), then record it, or delete the key when its
 * sorted set is empty ("del"). The one place sorted-set writes notify from. */
static void changed(struct exec_ctx *ctx, const struct request *req, int i, struct kv_entry *e,
                    const char *event)
{
    if (event != NULL)
        notify_zset(ctx, event, req->argv[i], req->len[i]);
    if (zobj_len(kv_entry_obj(e)) == 0) {
        kv_delete(ctx->kv, req->argv[i], req->len[i], ctx->apply_seq);
        if (event != NULL)
            notify_generic(ctx, "del", req->argv[i], req->len[i]);
    } else {
        kv_touch(e, ctx->apply_seq);
    }
}

/* The name of REQ's command, which is the event of the store and range-removal commands
 * (zunionstore, zrangestore, zremrangebyscore ...). */
static const char *command_event(const struct request *req)
{
    return command_lookup(req->argv[0], req->len[0])->name;
}

/* The limits a prepared write carries as its last argument (always there: see the file
 * comment); *ARGC receives the argument count without them. */
void cmd_zset_take_limits(const struct request *req, int *argc, struct zobj_limits *lim)
{
    lim->entries = ZOBJ_DEFAULT_ENTRIES;
    lim->value = ZOBJ_DEFAULT_VALUE;
    command_take_limits(req, &lim->entries, &lim->value);
    *argc = req->argc - 1;
}

void cmd_zset_push_limits(struct request *req)
{
    command_push_limits(req, zobj_limits_configured.entries, zobj_limits_configured.value);
}

void cmd_zset_reply_score(struct buf *out, double score)
{
    reply_double(out, score); /* zset_format_score's text: a bulk in RESP2 */
}

static void reply_name_arity(struct buf *out, const struct request *req)
{
    char name[32];
    request_name_lower(req, name, sizeof name);
    reply_wrong_arity(out, name);
}

/* A long argument as getLongFromObjectOrReply reads it. 0, or -1 after MSG (NULL: Redis's
 * "value is not an integer or out of range"). */
int cmd_zset_arg_long(const struct request *req, int i, long *v, const char *msg, struct buf *out)
{
    long long ll;
    if (util_parse_ll(req->argv[i], req->len[i], &ll) != 0 || ll < LONG_MIN || ll > LONG_MAX) {
        if (msg != NULL)
            reply_error(out, msg);
        else
            reply_not_integer(out);
        return -1;
    }
    *v = (long)ll;
    return 0;
}

/* getRangeLongFromObjectOrReply: a long within MIN..MAX, else MSG. */
int cmd_zset_arg_long_range(const struct request *req, int i, long min, long max, long *v,
                            const char *msg, struct buf *out)
{
    if (cmd_zset_arg_long(req, i, v, msg, out) != 0)
        return -1;
    if (*v < min || *v > max) {
        if (msg != NULL)
            reply_error(out, msg);
        else
            reply_errorf(out, "ERR value is out of range, value must between %ld and %ld", min,
                         max);
        return -1;
    }
    return 0;
}

void cmd_zset_items_push(struct zitems *a, const char *m, size_t len, double score)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = (struct zitem){m, len, score};
}

void cmd_zset_reply_len(struct buf *out, long long n, int withscores)
{
    if (withscores)
        reply_pairs_len(out, n); /* RESP3: [member, score] pairs, as Redis 7.0 */
    else
        reply_array(out, n);
}

void cmd_zset_reply_items(struct buf *out, const struct zitems *a, int withscores)
{
    cmd_zset_reply_len(out, (long long)a->n, withscores);
    for (size_t i = 0; i < a->n; i++) {
        if (withscores)
            reply_pair(out);
        reply_bulk(out, a->v[i].m, a->v[i].len);
        if (withscores)
            cmd_zset_reply_score(out, a->v[i].score);
    }
}

/* Every member of Z in ascending order, WITHSCORES or not. */
void cmd_zset_reply_all(struct buf *out, const struct zobj *z, int withscores)
{
    struct zobj_it it;
    struct zitem x;
    cmd_zset_reply_len(out, (long long)zobj_len(z), withscores);
    for (zobj_it_rank(&it, z, 0, 0); zobj_it_get(&it, &x.m, &x.len, &x.score); zobj_it_next(&it)) {
        if (withscores)
            reply_pair(out);
        reply_bulk(out, x.m, x.len);
        if (withscores)
            cmd_zset_reply_score(out, x.score);
    }
}

/* Store Z (taken) under the key at argument I of REQ, replacing whatever is there, or delete
 * that key when Z is empty; reply Z's length (Redis's store commands). */
void cmd_zset_store(struct exec_ctx *ctx, const struct request *req, int i, struct zobj *z)
{
    size_t n = zobj_len(z);
    if (n > 0) {
        kv_set_obj(ctx->kv, req->argv[i], req->len[i], KV_ZSET, z, KV_NO_EXPIRE, ctx->apply_seq);
        notify_zset(ctx, command_event(req), req->argv[i], req->len[i]);
    } else {
        zobj_free(z);
        if (kv_delete(ctx->kv, req->argv[i], req->len[i], ctx->apply_seq))
            notify_generic(ctx, "del", req->argv[i], req->len[i]);
    }
    reply_int(ctx->out, (long long)n);
}

/* ---- ZADD, ZINCRBY ---- */

struct zadd_args {
    int flags, ch;
    int scoreidx, elements;
};

/* Parse ZADD's options and pairs within ARGC (zaddGenericCommand's checks and texts, the
 * scores included). Returns 0, or -1 after the error. */
static int zadd_parse(const struct request *req, int argc, int flags, struct zadd_args *a,
                      struct buf *out)
{
    int j = 2;
    a->ch = 0;
    for (; j < argc; j++) {
        if (request_arg_is(req, j, "nx"))
            flags |= ZADD_IN_NX;
        else if (request_arg_is(req, j, "xx"))
            flags |= ZADD_IN_XX;
        else if (request_arg_is(req, j, "ch"))
            a->ch = 1;
        else if (request_arg_is(req, j, "incr"))
            flags |= ZADD_IN_INCR;
        else if (request_arg_is(req, j, "gt"))
            flags |= ZADD_IN_GT;
        else if (request_arg_is(req, j, "lt"))
            flags |= ZADD_IN_LT;
        else
            break;
    }
    a->flags = flags;
    a->scoreidx = j;
    int elements = argc - j;
    if (elements % 2 || elements == 0) {
        reply_syntax_error(out);
        return -1;
    }
    a->elements = elements / 2;
    int nx = flags & ZADD_IN_NX, gt = flags & ZADD_IN_GT, lt = flags & ZADD_IN_LT;
    if (nx && (flags & ZADD_IN_XX)) {
        reply_error(out, "ERR XX and NX options at the same time are not compatible");
        return -1;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        reply_error(out, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return -1;
    }
    if ((flags & ZADD_IN_INCR) && a->elements > 1) {
        reply_error(out, "ERR INCR option supports a single increment-element pair");
        return -1;
    }
    for (int k = 0; k < a->elements; k++) {
        double d;
        int i = a->scoreidx + 2 * k;
        if (zset_parse_score(req->argv[i], req->len[i], &d) != 0) {
            reply_error(out, "ERR value is not a valid float");
            return -1;
        }
    }
    return 0;
}

int prep_zadd(struct request *req, int64_t now_ms, struct buf *out)
{
    struct zadd_args a;
    (void)now_ms;
    if (zadd_parse(req, req->argc, 0, &a, out) != 0)
        return -1;
    cmd_zset_push_limits(req);
    return 0;
}

/* ZINCRBY key increment member (arity -4 in the table so that the limits fit: exact here). */
int prep_zincrby(struct request *req, int64_t now_ms, struct buf *out)
{
    struct zadd_args a;
    (void)now_ms;
    if (req->argc != 4) {
        reply_name_arity(out, req);
        return -1;
    }
    if (zadd_parse(req, req->argc, ZADD_IN_INCR, &a, out) != 0)
        return -1;
    cmd_zset_push_limits(req);
    return 0;
}

static void zadd_generic(struct exec_ctx *ctx, struct request *req, int flags)
{
    struct zobj_limits lim;
    struct zadd_args a;
    struct kv_entry *e;
    int argc, added = 0, updated = 0, processed = 0;
    double score = 0;

    cmd_zset_take_limits(req, &argc, &lim);
    if (zadd_parse(req, argc, flags, &a, ctx->out) != 0 || cmd_zset_entry(ctx, req, 1, 1, &e) != 0)
        return;
    int incr = a.flags & ZADD_IN_INCR;
    if (e == NULL && !(a.flags & ZADD_IN_XX)) {
        struct zobj *z = zobj_new(&lim, req->len[a.scoreidx + 1]);
        e = kv_set_obj(ctx->kv, req->argv[1], req->len[1], KV_ZSET, z, KV_NO_EXPIRE,
                       ctx->apply_seq);
    }
    for (int k = 0; e != NULL && k < a.elements; k++) {
        int i = a.scoreidx + 2 * k, out;
        double newscore = 0;
        zset_parse_score(req->argv[i], req->len[i], &score);
        if (!zobj_add(kv_entry_obj(e), score, req->argv[i + 1], req->len[i + 1], a.flags, &out,
                      &newscore, &lim, command_prng(ctx))) {
            reply_error(ctx->out, "ERR resulting score is not a number (NaN)");
            return; /* only INCR fails, on its single pair: nothing changed */
        }
        added += !!(out & ZADD_OUT_ADDED);
        updated += !!(out & ZADD_OUT_UPDATED);
        processed += !(out & ZADD_OUT_NOP);
        score = newscore;
    }
    if (e != NULL)
        changed(ctx, req, 1, e, added + updated == 0 ? NULL : incr ? "zincr" : "zadd");
    if (incr) {
        if (processed)
            cmd_zset_reply_score(ctx->out, score);
        else
            reply_null(ctx->out);
    } else {
        reply_int(ctx->out, a.ch ? added + updated : added);
    }
}

void cmd_zadd(struct exec_ctx *ctx, struct request *req)
{
    zadd_generic(ctx, req, 0);
}

void cmd_zincrby(struct exec_ctx *ctx, struct request *req)
{
    zadd_generic(ctx, req, ZADD_IN_INCR);
}

/* ---- ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK ---- */

void cmd_zrem(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e;
    long long deleted = 0;

    if (cmd_zset_entry(ctx, req, 1, 1, &e) != 0)
        return;
    if (e == NULL) {
        reply_int(ctx->out, 0);
        return;
    }
    struct zobj *z = kv_entry_obj(e);
    for (int i = 2; i < req->argc && zobj_len(z) > 0; i++)
        deleted += zobj_remove(z, req->argv[i], req->len[i]);
    if (deleted)
        changed(ctx, req, 1, e, "zrem");
    reply_int(ctx->out, deleted);
}

void cmd_zcard(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e;
    if (cmd_zset_entry(ctx, req, 1, 0, &e) == 0)
        reply_int(ctx->out, e ? (long long)zobj_len(kv_entry_obj(e)) : 0);
}

/* The score of the member at argument I in E (NULL: no key), or nil. */
static void reply_member_score(struct buf *out, struct kv_entry *e, const struct request *req,
                               int i)
{
    double s;
    if (e != NULL && zobj_score(kv_entry_obj(e), req->argv[i], req->len[i], &s) == 0)
        cmd_zset_reply_score(out, s);
    else
        reply_null(out);
}

void cmd_zscore(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e;
    if (cmd_zset_entry(ctx, req, 1, 0, &e) == 0)
        reply_member_score(ctx->out, e, req, 2);
}

void cmd_zmscore(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e;
    if (cmd_zset_entry(ctx, req, 1, 0, &e) != 0)
        return;
    reply_array(ctx->out, req->argc - 2);
    for (int i = 2; i < req->argc; i++)
        reply_member_score(ctx->out, e, req, i);
}

static void rank_generic(struct exec_ctx *ctx, struct request *req, int rev)
{
    struct kv_entry *e;
    if (cmd_zset_entry(ctx, req, 1, 0, &e) != 0)
        return;
    long rank = e ? zobj_rank(kv_entry_obj(e), req->argv[2], req->len[2], rev) : -1;
    if (rank < 0)
        reply_null(ctx->out);
    else
        reply_int(ctx->out, rank);
}

void cmd_zrank(struct exec_ctx *ctx, struct request *req)
{
    rank_generic(ctx, req, 0);
}

void cmd_zrevrank(struct exec_ctx *ctx, struct request *req)
{
    rank_generic(ctx, req, 1);
}

/* ---- ZCOUNT, ZLEXCOUNT ---- */

static int parse_score_range(const struct request *req, int i, int j, struct zsl_range *r,
                             struct buf *out)
{
    if (zset_parse_range(req->argv[i], req->len[i], req->argv[j], req->len[j], r) != 0) {
        reply_error(out, "ERR min or max is not a float");
        return -1;
    }
    return 0;
}

static int parse_lex_range(const struct request *req, int i, int j, struct zsl_lex_range *r,
                           struct buf *out)
{
    if (zset_parse_lex_range(req->argv[i], req->len[i], req->argv[j], req->len[j], r) != 0) {
        reply_error(out, "ERR min or max not valid string range item");
        return -1;
    }
    return 0;
}

/* The members of a range counted from its first: ranks on a skiplist (O(log n)), a walk on
 * a listpack. */
static unsigned long count_walk(struct zobj_it *it, const struct zsl_range *r,
                                const struct zsl_lex_range *lr)
{
    struct zitem x;
    unsigned long n = 0;
    for (; zobj_it_get(it, &x.m, &x.len, &x.score); zobj_it_next(it)) {
        if (r != NULL ? !zsl_score_in_range(x.score, r) : !zsl_lex_in_range(x.m, x.len, lr))
            break;
        n++;
    }
    return n;
}

static unsigned long count_range(const struct zobj *z, const struct zsl_range *r,
                                 const struct zsl_lex_range *lr)
{
    struct zobj_it it;
    if (z->enc == ZOBJ_SKIPLIST) {
        const struct zskiplist *zsl = z->zs->zsl;
        struct zsl_node *a = r ? zsl_first_in_range(zsl, r) : zsl_first_in_lex_range(zsl, lr);
        struct zsl_node *b = r ? zsl_last_in_range(zsl, r) : zsl_last_in_lex_range(zsl, lr);
        if (a == NULL || b == NULL)
            return 0;
        unsigned long ra = zsl_rank(zsl, a->score, a->ele, zsl_node_len(a));
        unsigned long rb = zsl_rank(zsl, b->score, b->ele, zsl_node_len(b));
        return rb >= ra ? rb - ra + 1 : 0;
    }
    if (r != NULL)
        zobj_it_score(&it, z, r, 0);
    else
        zobj_it_lex(&it, z, lr, 0);
    return count_walk(&it, r, lr);
}

void cmd_zcount(struct exec_ctx *ctx, struct request *req)
{
    struct zsl_range r;
    struct kv_entry *e;
    if (parse_score_range(req, 2, 3, &r, ctx->out) != 0 || cmd_zset_entry(ctx, req, 1, 0, &e) != 0)
        return;
    reply_int(ctx->out, e ? (long long)count_range(kv_entry_obj(e), &r, NULL) : 0);
}

void cmd_zlexcount(struct exec_ctx *ctx, struct request *req)
{
    struct zsl_lex_range r;
    struct kv_entry *e;
    if (parse_lex_range(req, 2, 3, &r, ctx->out) != 0 || cmd_zset_entry(ctx, req, 1, 0, &e) != 0)
        return;
    reply_int(ctx->out, e ? (long long)count_range(kv_entry_obj(e), NULL, &r) : 0);
}

/* ---- ZRANGE and its family ---- */

enum zrange_type { ZR_AUTO, ZR_RANK, ZR_SCORE, ZR_LEX };
enum zrange_dir { ZD_AUTO, ZD_FORWARD, ZD_REVERSE };

struct zrange_args {
    enum zrange_type type;
    int rev, withscores;
    long start, end;   /* ZR_RANK */
    long offset, limit; /* ZR_SCORE, ZR_LEX: limit -1 is none */
    struct zsl_range r;
    struct zsl_lex_range lr;
};

/* Parse <src> <min> <max> [BYSCORE|BYLEX] [REV] [WITHSCORES] [LIMIT offset count] from
 * argument SRC within ARGC, as zrangeGenericCommand (STORE: no WITHSCORES). */
static int zrange_parse(const struct request *req, int argc, int src, int store,
                        enum zrange_type type, enum zrange_dir dir, struct zrange_args *a,
                        struct buf *out)
{
    int minidx = src + 1, maxidx = src + 2;
    a->withscores = 0;
    a->offset = 0;
    a->limit = -1;
    for (int j = src + 3; j < argc; j++) {
        int left = argc - j - 1;
        if (!store && request_arg_is(req, j, "withscores")) {
            a->withscores = 1;
        } else if (request_arg_is(req, j, "limit") && left >= 2) {
            if (cmd_zset_arg_long(req, j + 1, &a->offset, NULL, out) != 0 ||
                cmd_zset_arg_long(req, j + 2, &a->limit, NULL, out) != 0)
                return -1;
            j += 2;
        } else if (dir == ZD_AUTO && request_arg_is(req, j, "rev")) {
            dir = ZD_REVERSE;
        } else if (type == ZR_AUTO && request_arg_is(req, j, "bylex")) {
            type = ZR_LEX;
        } else if (type == ZR_AUTO && request_arg_is(req, j, "byscore")) {
            type = ZR_SCORE;
        } else {
            reply_syntax_error(out);
            return -1;
        }
    }
    a->type = type == ZR_AUTO ? ZR_RANK : type;
    a->rev = dir == ZD_REVERSE;
    if (a->limit != -1 && a->type == ZR_RANK) {
        reply_error(out, "ERR syntax error, LIMIT is only supported in combination with either "
                         "BYSCORE or BYLEX");
        return -1;
    }
    if (a->withscores && a->type == ZR_LEX) {
        reply_error(out, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return -1;
    }
    if (a->rev && a->type != ZR_RANK) { /* the range is given as max, min */
        minidx = src + 2;
        maxidx = src + 1;
    }
    if (a->type == ZR_RANK)
        return cmd_zset_arg_long(req, minidx, &a->start, NULL, out) != 0 ||
                       cmd_zset_arg_long(req, maxidx, &a->end, NULL, out) != 0
                   ? -1
                   : 0;
    if (a->type == ZR_SCORE)
        return parse_score_range(req, minidx, maxidx, &a->r, out);
    return parse_lex_range(req, minidx, maxidx, &a->lr, out);
}

/* Ranks START..END (negative: from the end) of a value of LEN members, clamped as Redis
 * does: 0 with both within 0..LEN-1, or -1 when the range is empty. */
static int rank_bounds(long len, long *start, long *end)
{
    if (*start < 0)
        *start += len;
    if (*end < 0)
        *end += len;
    if (*start < 0)
        *start = 0;
    if (*start > *end || *start >= len)
        return -1;
    if (*end >= len)
        *end = len - 1;
    return 0;
}

/* The members Z's range A selects, in its direction, into OUT. */
static void zrange_collect(const struct zobj *z, const struct zrange_args *a, struct zitems *out)
{
    struct zobj_it it;
    struct zitem x;
    long len = (long)zobj_len(z);

    if (a->type == ZR_RANK) {
        long start = a->start, end = a->end;
        if (rank_bounds(len, &start, &end) != 0)
            return;
        zobj_it_rank(&it, z, (unsigned long)start, a->rev);
        for (long n = end - start + 1; n > 0 && zobj_it_get(&it, &x.m, &x.len, &x.score); n--) {
            cmd_zset_items_push(out, x.m, x.len, x.score);
            zobj_it_next(&it);
        }
        return;
    }
    if (a->offset > 0 && a->offset >= len)
        return;
    if (a->type == ZR_SCORE)
        zobj_it_score(&it, z, &a->r, a->rev);
    else
        zobj_it_lex(&it, z, &a->lr, a->rev);
    /* a negative offset walks off the end, as Redis's "while (offset--)" does */
    for (long off = a->offset; off != 0 && zobj_it_get(&it, &x.m, &x.len, &x.score); off--)
        zobj_it_next(&it);
    for (long lim = a->limit; lim != 0 && zobj_it_get(&it, &x.m, &x.len, &x.score); lim--) {
        if (a->type == ZR_SCORE ? !zsl_score_in_range(x.score, &a->r)
                                : !zsl_lex_in_range(x.m, x.len, &a->lr))
            break;
        cmd_zset_items_push(out, x.m, x.len, x.score);
        zobj_it_next(&it);
    }
}

/* ZRANGE and the legacy forms (REQ's source key at argument 1). */
static void zrange_read(struct exec_ctx *ctx, struct request *req, enum zrange_type type,
                        enum zrange_dir dir)
{
    struct zrange_args a;
    struct kv_entry *e;
    struct zitems items = {NULL, 0, 0};

    if (zrange_parse(req, req->argc, 1, 0, type, dir, &a, ctx->out) != 0 ||
        cmd_zset_entry(ctx, req, 1, 0, &e) != 0)
        return;
    if (e != NULL)
        zrange_collect(kv_entry_obj(e), &a, &items);
    cmd_zset_reply_items(ctx->out, &items, a.withscores);
    free(items.v);
}

void cmd_zrange(struct exec_ctx *ctx, struct request *req)
{
    zrange_read(ctx, req, ZR_AUTO, ZD_AUTO);
}

void cmd_zrevrange(struct exec_ctx *ctx, struct request *req)
{
    zrange_read(ctx, req, ZR_RANK, ZD_REVERSE);
}

void cmd_zrangebyscore(struct exec_ctx *ctx, struct request *req)
{
    zrange_read(ctx, req, ZR_SCORE, ZD_FORWARD);
}

void cmd_zrevrangebyscore(struct exec_ctx *ctx, struct request *req)
{
    zrange_read(ctx, req, ZR_SCORE, ZD_REVERSE);
}

void cmd_zrangebylex(struct exec_ctx *ctx, struct request *req)
{
    zrange_read(ctx, req, ZR_LEX, ZD_FORWARD);
}

void cmd_zrevrangebylex(struct exec_ctx *ctx, struct request *req)
{
    zrange_read(ctx, req, ZR_LEX, ZD_REVERSE);
}

int prep_zrangestore(struct request *req, int64_t now_ms, struct buf *out)
{
    struct zrange_args a;
    (void)now_ms;
    if (zrange_parse(req, req->argc, 2, 1, ZR_AUTO, ZD_AUTO, &a, out) != 0)
        return -1;
    cmd_zset_push_limits(req);
    return 0;
}

/* ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]. */
void cmd_zrangestore(struct exec_ctx *ctx, struct request *req)
{
    struct zobj_limits lim;
    struct zrange_args a;
    struct kv_entry *e;
    struct zitems items = {NULL, 0, 0};
    int argc, out;
    double ns;

    cmd_zset_take_limits(req, &argc, &lim);
    if (zrange_parse(req, argc, 2, 1, ZR_AUTO, ZD_AUTO, &a, ctx->out) != 0 ||
        cmd_zset_entry(ctx, req, 2, 0, &e) != 0)
        return;
    if (e != NULL)
        zrange_collect(kv_entry_obj(e), &a, &items);
    struct zobj *z = (long long)items.n > lim.entries ? zobj_new_skiplist() : zobj_new(&lim, 0);
    for (size_t i = 0; i < items.n; i++)
        zobj_add(z, items.v[i].score, items.v[i].m, items.v[i].len, 0, &out, &ns, &lim,
                 command_prng(ctx));
    free(items.v);
    cmd_zset_store(ctx, req, 1, z);
}

/* ---- ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX ---- */

static void zremrange_generic(struct exec_ctx *ctx, struct request *req, enum zrange_type type)
{
    struct zsl_range r;
    struct zsl_lex_range lr;
    struct kv_entry *e;
    long start = 0, end = 0;
    unsigned long deleted;

    if (type == ZR_RANK) {
        if (cmd_zset_arg_long(req, 2, &start, NULL, ctx->out) != 0 ||
            cmd_zset_arg_long(req, 3, &end, NULL, ctx->out) != 0)
            return;
    } else if (type == ZR_SCORE) {
        if (parse_score_range(req, 2, 3, &r, ctx->out) != 0)
            return;
    } else if (parse_lex_range(req, 2, 3, &lr, ctx->out) != 0) {
        return;
    }
    if (cmd_zset_entry(ctx, req, 1, 1, &e) != 0)
        return;
    if (e == NULL) {
        reply_int(ctx->out, 0);
        return;
    }
    struct zobj *z = kv_entry_obj(e);
    if (type == ZR_RANK) {
        if (rank_bounds((long)zobj_len(z), &start, &end) != 0) {
            reply_int(ctx->out, 0);
            return;
        }
        deleted = zobj_remove_range_by_rank(z, (unsigned long)start, (unsigned long)end);
    } else if (type == ZR_SCORE) {
        deleted = zobj_remove_range_by_score(z, &r);
    } else {
        deleted = zobj_remove_range_by_lex(z, &lr);
    }
    if (deleted)
        changed(ctx, req, 1, e, command_event(req));
    reply_int(ctx->out, (long long)deleted);
}

void cmd_zremrangebyrank(struct exec_ctx *ctx, struct request *req)
{
    zremrange_generic(ctx, req, ZR_RANK);
}

void cmd_zremrangebyscore(struct exec_ctx *ctx, struct request *req)
{
    zremrange_generic(ctx, req, ZR_SCORE);
}

void cmd_zremrangebylex(struct exec_ctx *ctx, struct request *req)
{
    zremrange_generic(ctx, req, ZR_LEX);
}

/* ---- ZPOPMIN, ZPOPMAX, ZMPOP ---- */

/* How pop_members replies: *2n member, score ...; *n of [member, score]; or, for BZPOPMIN's
 * single member, *3 key, member, score. */
/* FLAT: ZPOPMIN key; PAIRS: with a count (RESP3 pairs); NESTED: ZMPOP's; KEYED: BZPOPMIN's */
enum { POP_FLAT, POP_PAIRS, POP_NESTED, POP_KEYED };

/* Pop up to COUNT members from the key at argument I (entry E, a sorted set), lowest or
 * (MAX) highest first, replying as MODE says. */
static void pop_members(struct exec_ctx *ctx, const struct request *req, int i,
                        struct kv_entry *e, long count, int max, int mode)
{
    struct zobj *z = kv_entry_obj(e);
    long n = count > (long)zobj_len(z) ? (long)zobj_len(z) : count;
    int nested = mode == POP_NESTED;
    if (mode == POP_KEYED) {
        n = 1;
        reply_array(ctx->out, 3);
        reply_bulk(ctx->out, req->argv[i], req->len[i]);
    } else if (mode == POP_PAIRS) {
        reply_pairs_len(ctx->out, n);
    } else {
        reply_array(ctx->out, nested ? n : n * 2);
    }
    while (n-- > 0) {
        struct zobj_it it;
        struct zitem x;
        zobj_it_rank(&it, z, 0, max);
        zobj_it_get(&it, &x.m, &x.len, &x.score);
        if (nested)
            reply_array(ctx->out, 2);
        else if (mode == POP_PAIRS)
            reply_pair(ctx->out);
        reply_bulk(ctx->out, x.m, x.len);
        cmd_zset_reply_score(ctx->out, x.score);
        char *copy = xmemdup(x.m, x.len); /* the removal frees the member's bytes */
        zobj_remove(z, copy, x.len);
        free(copy);
    }
    changed(ctx, req, i, e, max ? "zpopmax" : "zpopmin");
}

static void zpop_generic(struct exec_ctx *ctx, struct request *req, int max)
{
    struct kv_entry *e;
    long count = -1;

    if (req->argc > 3) {
        reply_syntax_error(ctx->out);
        return;
    }
    if (req->argc == 3 && cmd_zset_arg_long_range(req, 2, 0, LONG_MAX, &count,
                                         "ERR value is out of range, must be positive",
                                         ctx->out) != 0)
        return;
    if (cmd_zset_entry(ctx, req, 1, 1, &e) != 0)
        return;
    if (e == NULL || count == 0) {
        reply_array(ctx->out, 0);
        return;
    }
    pop_members(ctx, req, 1, e, count == -1 ? 1 : count, max, count == -1 ? POP_FLAT : POP_PAIRS);
}

void cmd_zpopmin(struct exec_ctx *ctx, struct request *req)
{
    zpop_generic(ctx, req, 0);
}

void cmd_zpopmax(struct exec_ctx *ctx, struct request *req)
{
    zpop_generic(ctx, req, 1);
}

/* The arguments of ZMPOP (NUMKEYS_ARG 1) and BZMPOP (2): numkeys key [key ...] MIN|MAX
 * [COUNT count], in Redis's order of checks. Returns 0, or -1 after the error reply. */
static int zmpop_parse(const struct request *req, int numkeys_arg, int *where, int *max,
                       long *count, struct buf *out)
{
    long numkeys;
    *count = -1;
    if (cmd_zset_arg_long_range(req, numkeys_arg, 1, LONG_MAX, &numkeys,
                                "ERR numkeys should be greater than 0", out) != 0)
        return -1;
    if (numkeys >= req->argc - numkeys_arg - 1) {
        reply_syntax_error(out);
        return -1;
    }
    *where = numkeys_arg + 1 + (int)numkeys;
    if (request_arg_is(req, *where, "min")) {
        *max = 0;
    } else if (request_arg_is(req, *where, "max")) {
        *max = 1;
    } else {
        reply_syntax_error(out);
        return -1;
    }
    for (int j = *where + 1; j < req->argc; j++) {
        if (*count == -1 && request_arg_is(req, j, "count") && j + 1 < req->argc) {
            j++;
            if (cmd_zset_arg_long_range(req, j, 1, LONG_MAX, count,
                                        "ERR count should be greater than 0", out) != 0)
                return -1;
        } else {
            reply_syntax_error(out);
            return -1;
        }
    }
    return 0;
}

/* Pop from the first non-empty sorted set of the keys REQ->argv[FIRST .. END): KEYED replies
 * key, member, score (BZPOPMIN); else *2 key, *n of [member, score] (ZMPOP). A null array
 * when every key is empty: what a blocking pop answers when it would block (the leader
 * then blocks the client, blocked.c), and what it answers inside MULTI. */
static void zpop_first_nonempty(struct exec_ctx *ctx, struct request *req, int first, int end,
                                long count, int max, int keyed)
{
    for (int i = first; i < end; i++) {
        struct kv_entry *e;
        if (cmd_zset_entry(ctx, req, i, 1, &e) != 0)
            return;
        if (e == NULL)
            continue;
        if (keyed) {
            pop_members(ctx, req, i, e, 1, max, POP_KEYED);
            return;
        }
        reply_array(ctx->out, 2);
        reply_bulk(ctx->out, req->argv[i], req->len[i]);
        pop_members(ctx, req, i, e, count == -1 ? 1 : count, max, POP_NESTED);
        return;
    }
    reply_null_array(ctx->out);
}

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: the first non-empty key's members, as
 * *2 key, *n of [member, score]; a null array when every key is empty. */
void cmd_zmpop(struct exec_ctx *ctx, struct request *req)
{
    long count;
    int where, max;
    if (zmpop_parse(req, 1, &where, &max, &count, ctx->out) != 0)
        return;
    zpop_first_nonempty(ctx, req, 2, where, count, max, 0);
}

/* ---- BZPOPMIN, BZPOPMAX, BZMPOP: as applied, they never block ---- */

/* BZPOPMIN/BZPOPMAX key [key ...] timeout: the timeout is checked first, as Redis does. */
int prep_bzpop(struct request *req, int64_t now_ms, struct buf *out)
{
    return blocking_check_timeout_arg(req, req->argc - 1, now_ms, out);
}

/* BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: the other arguments first. */
int prep_bzmpop(struct request *req, int64_t now_ms, struct buf *out)
{
    long count;
    int where, max;
    if (zmpop_parse(req, 2, &where, &max, &count, out) != 0)
        return -1;
    return blocking_check_timeout_arg(req, 1, now_ms, out);
}

static void bzpop_generic(struct exec_ctx *ctx, struct request *req, int max)
{
    if (prep_bzpop(req, ctx->now_ms, ctx->out) != 0)
        return;
    zpop_first_nonempty(ctx, req, 1, req->argc - 1, 1, max, 1);
}

void cmd_bzpopmin(struct exec_ctx *ctx, struct request *req)
{
    bzpop_generic(ctx, req, 0);
}

void cmd_bzpopmax(struct exec_ctx *ctx, struct request *req)
{
    bzpop_generic(ctx, req, 1);
}

void cmd_bzmpop(struct exec_ctx *ctx, struct request *req)
{
    if (prep_bzmpop(req, ctx->now_ms, ctx->out) != 0)
        return;
    long count;
    int where, max;
    zmpop_parse(req, 2, &where, &max, &count, ctx->out);
    zpop_first_nonempty(ctx, req, 3, where, count, max, 0);
}
