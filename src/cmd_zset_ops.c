/* Sorted-set commands, second half (see cmd_zset.c for the first): ZUNION, ZINTER, ZDIFF,
 * their stores and ZINTERCARD (Redis's zunionInterDiffGenericCommand), ZRANDMEMBER, ZSCAN.
 * The stores carry the conversion limits as their last argument, like ZADD. */
#include "cmd_zset.h"
#include "resp.h"
#include "set.h"
#include "util.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ZUNION, ZINTER, ZDIFF, their stores, ZINTERCARD ---- */

enum setop { OP_UNION, OP_INTER, OP_DIFF };
enum aggr { AGGR_SUM, AGGR_MIN, AGGR_MAX };

/* An input: a sorted set, or a plain set whose members all count as score 1 (Redis 7.0's
 * zui* functions over OBJ_SET), or no key. */
struct setop_src {
    const struct zobj *z; /* NULL: not a sorted set */
    struct set *s;        /* NULL: not a set */
    double weight;
};

static size_t src_len(const struct setop_src *s)
{
    return s->z ? zobj_len(s->z) : s->s ? set_len(s->s) : 0;
}

/* MEMBER's score in S into *SCORE: 0, or -1 when absent. */
static int src_score(const struct setop_src *s, const char *m, size_t len, double *score)
{
    if (s->z != NULL)
        return zobj_score(s->z, m, len, score);
    if (s->s != NULL && set_contains(s->s, m, len)) {
        *score = 1.0;
        return 0;
    }
    return -1;
}

/* A walk over one input's members: a sorted set's in rank order, a set's in set_iter order
 * (the result is a sorted set, so the walk's order reaches no reply). */
struct src_it {
    const struct setop_src *src;
    struct zobj_it zi;
    struct set_iter si;
};

static void src_it_init(struct src_it *it, const struct setop_src *src)
{
    it->src = src;
    if (src->z != NULL)
        zobj_it_rank(&it->zi, src->z, 0, 0);
    else if (src->s != NULL)
        set_iter_init(&it->si, src->s);
}

/* The next member into *X; 0 at the end (the walk is then closed). */
static int src_it_next(struct src_it *it, struct zitem *x)
{
    if (it->src->z != NULL) {
        if (!zobj_it_get(&it->zi, &x->m, &x->len, &x->score))
            return 0;
        zobj_it_next(&it->zi);
        return 1;
    }
    if (it->src->s == NULL)
        return 0;
    if (!set_iter_next(&it->si, &x->m, &x->len)) {
        set_iter_close(&it->si);
        return 0;
    }
    x->score = 1.0;
    return 1;
}

/* Close a walk left before its end. */
static void src_it_close(struct src_it *it)
{
    if (it->src->z == NULL && it->src->s != NULL)
        set_iter_close(&it->si);
}

static void aggregate(double *target, double val, enum aggr ag)
{
    if (ag == AGGR_SUM) {
        *target += val;
        if (isnan(*target)) /* inf + -inf: 0 as Redis */
            *target = 0.0;
    } else if (ag == AGGR_MIN) {
        *target = val < *target ? val : *target;
    } else {
        *target = val > *target ? val : *target;
    }
}

struct setop_args {
    int setnum;
    struct setop_src *src;
    enum aggr ag;
    int withscores;
    long limit; /* ZINTERCARD: 0 is none */
};

/* Parse numkeys at NK, look the keys up (WRONGTYPE first, as Redis) and parse the options,
 * within ARGC. STORE: no WITHSCORES; CARD: only LIMIT. Returns 0, or -1 after the error. */
static int setop_parse(struct exec_ctx *ctx, const struct request *req, int argc, int nk,
                       enum setop op, int store, int card, struct setop_args *a)
{
    long setnum;
    struct buf *out = ctx->out;

    if (cmd_zset_arg_long(req, nk, &setnum, NULL, out) != 0)
        return -1;
    if (setnum < 1) {
        char name[32];
        request_name_lower(req, name, sizeof name);
        reply_errorf(out, "ERR at least 1 input key is needed for '%s' command", name);
        return -1;
    }
    if (setnum > argc - (nk + 1)) {
        reply_syntax_error(out);
        return -1;
    }
    a->setnum = (int)setnum;
    a->ag = AGGR_SUM;
    a->withscores = 0;
    a->limit = 0;
    a->src = xcalloc((size_t)setnum, sizeof *a->src);
    int j = nk + 1;
    for (int i = 0; i < a->setnum; i++, j++) {
        struct kv_entry *e = kv_lookup(ctx->kv, req->argv[j], req->len[j], ctx->now_ms);
        if (e != NULL && e->type != KV_ZSET && e->type != KV_SET) {
            reply_wrongtype(out);
            goto fail;
        }
        a->src[i].z = e && e->type == KV_ZSET ? kv_entry_obj(e) : NULL;
        a->src[i].s = e && e->type == KV_SET ? kv_entry_obj(e) : NULL;
        a->src[i].weight = 1.0;
    }
    while (j < argc) {
        int remaining = argc - j;
        if (op != OP_DIFF && !card && remaining >= a->setnum + 1 &&
            request_arg_is(req, j, "weights")) {
            j++;
            for (int i = 0; i < a->setnum; i++, j++)
                if (zset_parse_score(req->argv[j], req->len[j], &a->src[i].weight) != 0) {
                    reply_error(out, "ERR weight value is not a float");
                    goto fail;
                }
        } else if (op != OP_DIFF && !card && remaining >= 2 &&
                   request_arg_is(req, j, "aggregate")) {
            if (request_arg_is(req, j + 1, "sum"))
                a->ag = AGGR_SUM;
            else if (request_arg_is(req, j + 1, "min"))
                a->ag = AGGR_MIN;
            else if (request_arg_is(req, j + 1, "max"))
                a->ag = AGGR_MAX;
            else {
                reply_syntax_error(out);
                goto fail;
            }
            j += 2;
        } else if (!store && !card && request_arg_is(req, j, "withscores")) {
            a->withscores = 1;
            j++;
        } else if (card && remaining >= 2 && request_arg_is(req, j, "limit")) {
            if (cmd_zset_arg_long_range(req, j + 1, 0, LONG_MAX, &a->limit,
                                        "ERR LIMIT can't be negative",
                                        out) != 0)
                goto fail;
            j += 2;
        } else {
            reply_syntax_error(out);
            goto fail;
        }
    }
    return 0;
fail:
    free(a->src);
    return -1;
}

/* Order the inputs by cardinality, stably (Redis sorts them so; the order decides the
 * floating-point sums, so it must be the same on every node). */
static void sort_by_len(struct setop_src *src, int n)
{
    for (int i = 1; i < n; i++) {
        struct setop_src x = src[i];
        int j = i - 1;
        for (; j >= 0 && src_len(&src[j]) > src_len(&x); j--)
            src[j + 1] = src[j];
        src[j + 1] = x;
    }
}

/* Add MEMBER with SCORE to the result RES (a skiplist), or aggregate it when present. */
static void result_add(struct zset *res, const struct zitem *x, double score, enum aggr ag,
                       size_t *maxlen, struct prng *p)
{
    double cur;
    if (zset_score(res, x->m, x->len, &cur) == 0) {
        aggregate(&cur, score, ag);
        zset_add(res, x->m, x->len, cur, p);
        return;
    }
    zset_add(res, x->m, x->len, score, p);
    if (x->len > *maxlen)
        *maxlen = x->len;
}

/* Compute the operation into a new skiplist value; *CARD counts ZINTERCARD's matches
 * instead (CARD not NULL: nothing is added). */
static struct zobj *setop_compute(struct exec_ctx *ctx, struct setop_args *a, enum setop op,
                                  unsigned long *card, size_t *maxlen)
{
    struct zobj *dst = zobj_new_skiplist();
    struct prng *p = command_prng(ctx);
    struct src_it it;
    struct zitem x;
    double v;

    *maxlen = 0;
    if (op != OP_DIFF)
        sort_by_len(a->src, a->setnum);
    if (op == OP_UNION) {
        for (int i = 0; i < a->setnum; i++) {
            for (src_it_init(&it, &a->src[i]); src_it_next(&it, &x);) {
                double score = a->src[i].weight * x.score;
                if (isnan(score))
                    score = 0;
                result_add(dst->zs, &x, score, a->ag, maxlen, p);
            }
        }
        return dst;
    }
    for (src_it_init(&it, &a->src[0]); src_it_next(&it, &x);) {
        int j = 1;
        if (op == OP_DIFF) {
            while (j < a->setnum && src_score(&a->src[j], x.m, x.len, &v) != 0)
                j++;
            if (j == a->setnum)
                result_add(dst->zs, &x, x.score, AGGR_SUM, maxlen, p);
            continue;
        }
        double score = a->src[0].weight * x.score;
        if (isnan(score))
            score = 0;
        for (; j < a->setnum; j++) {
            if (src_score(&a->src[j], x.m, x.len, &v) != 0)
                break;
            aggregate(&score, v * a->src[j].weight, a->ag);
        }
        if (j < a->setnum)
            continue;
        if (card != NULL) {
            if (++*card == (unsigned long)a->limit && a->limit != 0) {
                src_it_close(&it);
                break;
            }
            continue;
        }
        result_add(dst->zs, &x, score, a->ag, maxlen, p);
    }
    return dst;
}

/* The read forms: ZUNION/ZINTER/ZDIFF numkeys key ... and ZINTERCARD. */
static void setop_read(struct exec_ctx *ctx, struct request *req, enum setop op, int card)
{
    struct setop_args a;
    unsigned long n = 0;
    size_t maxlen;

    if (setop_parse(ctx, req, req->argc, 1, op, 0, card, &a) != 0)
        return;
    struct zobj *res = setop_compute(ctx, &a, op, card ? &n : NULL, &maxlen);
    if (card)
        reply_int(ctx->out, (long long)n);
    else
        cmd_zset_reply_all(ctx->out, res, a.withscores);
    zobj_free(res);
    free(a.src);
}

void cmd_zunion(struct exec_ctx *ctx, struct request *req)
{
    setop_read(ctx, req, OP_UNION, 0);
}

void cmd_zinter(struct exec_ctx *ctx, struct request *req)
{
    setop_read(ctx, req, OP_INTER, 0);
}

void cmd_zdiff(struct exec_ctx *ctx, struct request *req)
{
    setop_read(ctx, req, OP_DIFF, 0);
}

void cmd_zintercard(struct exec_ctx *ctx, struct request *req)
{
    setop_read(ctx, req, OP_INTER, 1);
}

/* Stores take their limits; everything else is checked in apply (it needs the keys). */
int prep_zstore(struct request *req, int64_t now_ms, struct buf *out)
{
    (void)now_ms, (void)out;
    cmd_zset_push_limits(req);
    return 0;
}

static void setop_store(struct exec_ctx *ctx, struct request *req, enum setop op)
{
    struct zobj_limits lim;
    struct setop_args a;
    size_t maxlen;
    int argc;

    cmd_zset_take_limits(req, &argc, &lim);
    if (setop_parse(ctx, req, argc, 2, op, 1, 0, &a) != 0)
        return;
    struct zobj *res = setop_compute(ctx, &a, op, NULL, &maxlen);
    free(a.src);
    zobj_shrink_if_small(res, &lim, maxlen);
    cmd_zset_store(ctx, req, 1, res);
}

void cmd_zunionstore(struct exec_ctx *ctx, struct request *req)
{
    setop_store(ctx, req, OP_UNION);
}

void cmd_zinterstore(struct exec_ctx *ctx, struct request *req)
{
    setop_store(ctx, req, OP_INTER);
}

void cmd_zdiffstore(struct exec_ctx *ctx, struct request *req)
{
    setop_store(ctx, req, OP_DIFF);
}

/* ---- ZRANDMEMBER ---- */

static void reply_pick(struct buf *out, const struct zitem *x, int withscores)
{
    if (withscores)
        reply_pair(out);
    reply_bulk(out, x->m, x->len);
    if (withscores)
        cmd_zset_reply_score(out, x->score);
}

/* COUNT distinct members of Z (0 < COUNT < size): when COUNT is a large part of Z, take all
 * and drop random ones; else draw until COUNT distinct (Redis's two strategies). */
static void randmember_distinct(struct buf *out, const struct zobj *z, struct prng *p,
                                unsigned long count, int withscores)
{
    size_t size = zobj_len(z);
    cmd_zset_reply_len(out, (long long)count, withscores);
    if (count * 3 > size) {
        struct zitems all = {NULL, 0, 0};
        struct zobj_it it;
        struct zitem x;
        for (zobj_it_rank(&it, z, 0, 0); zobj_it_get(&it, &x.m, &x.len, &x.score);
             zobj_it_next(&it))
            cmd_zset_items_push(&all, x.m, x.len, x.score);
        while (all.n > count) {
            size_t k = prng_below(p, all.n);
            all.v[k] = all.v[--all.n]; /* order is not part of the answer */
        }
        for (size_t i = 0; i < all.n; i++)
            reply_pick(out, &all.v[i], withscores);
        free(all.v);
        return;
    }
    struct dict *seen = dict_new(DICT_DEFAULT_SEED);
    while (dict_size(seen) < count) {
        struct zitem x;
        zobj_random(z, p, &x.m, &x.len, &x.score);
        if (dict_add(seen, x.m, x.len, NULL))
            reply_pick(out, &x, withscores);
    }
    dict_free(seen, NULL);
}

/* ZRANDMEMBER key [count [WITHSCORES]]: a read; its choices come from command_prng. */
void cmd_zrandmember(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e;
    long long l = 0;
    int withscores = 0;

    if (command_parse_randcount(req, "withscores", &l, &withscores, ctx->out) != 0 ||
        cmd_zset_entry(ctx, req, 1, 0, &e) != 0)
        return;
    struct prng *p = command_prng(ctx);
    struct zitem x;
    if (req->argc == 2) {
        if (e == NULL) {
            reply_null(ctx->out);
            return;
        }
        zobj_random(kv_entry_obj(e), p, &x.m, &x.len, &x.score);
        reply_bulk(ctx->out, x.m, x.len);
        return;
    }
    if (e == NULL || l == 0) {
        reply_array(ctx->out, 0);
        return;
    }
    const struct zobj *z = kv_entry_obj(e);
    if (l < 0 || l == 1) {
        unsigned long count = l < 0 ? (unsigned long)-l : 1;
        cmd_zset_reply_len(ctx->out, (long long)count, withscores);
        while (count--) {
            zobj_random(z, p, &x.m, &x.len, &x.score);
            reply_pick(ctx->out, &x, withscores);
        }
        return;
    }
    if ((unsigned long long)l >= zobj_len(z)) {
        cmd_zset_reply_all(ctx->out, z, withscores);
        return;
    }
    randmember_distinct(ctx->out, z, p, (unsigned long)l, withscores);
}

/* ---- ZSCAN ---- */

static void scan_collect(void *ud, const struct dict_entry *de)
{
    cmd_zset_items_push(ud, de->key, de->klen, ((const struct zsl_node *)de->val)->score);
}

/* ZSCAN key cursor [MATCH pattern] [COUNT count]: a listpack value is returned whole with
 * cursor 0, a skiplist one a few dict_scan positions at a time (at most COUNT * 10). */
void cmd_zscan(struct exec_ctx *ctx, struct request *req)
{
    struct scan_args sa;
    struct kv_entry *e;
    struct zitems a = {NULL, 0, 0};
    uint64_t next = 0;

    if (command_parse_scan(req, 2, 0, &sa, ctx->out) != 0 ||
        cmd_zset_entry(ctx, req, 1, 0, &e) != 0)
        return;
    if (e != NULL) {
        const struct zobj *z = kv_entry_obj(e);
        if (z->enc == ZOBJ_LISTPACK) {
            struct zobj_it it;
            struct zitem x;
            for (zobj_it_rank(&it, z, 0, 0); zobj_it_get(&it, &x.m, &x.len, &x.score);
                 zobj_it_next(&it))
                cmd_zset_items_push(&a, x.m, x.len, x.score);
        } else {
            long long budget = sa.count * 10;
            next = sa.cursor;
            do
                next = dict_scan(z->zs->dict, next, scan_collect, &a);
            while (next != 0 && budget-- > 0 && (long long)a.n < sa.count);
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < a.n; i++)
        if (sa.pat == NULL || util_glob_match(sa.pat, sa.plen, a.v[i].m, a.v[i].len, 0))
            a.v[kept++] = a.v[i];
    a.n = kept;
    char tmp[32];
    reply_array(ctx->out, 2);
    reply_bulk(ctx->out, tmp, (size_t)snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)next));
    /* flat, the scores as bulks in RESP3 too (Redis's SCAN replies) */
    reply_array(ctx->out, (long long)a.n * 2);
    for (size_t i = 0; i < a.n; i++) {
        reply_bulk(ctx->out, a.v[i].m, a.v[i].len);
        reply_bulk(ctx->out, tmp, zset_format_score(tmp, sizeof tmp, a.v[i].score));
    }
    free(a.v);
}
