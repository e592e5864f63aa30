/* Set commands (Redis 7.0's t_set.c semantics): SADD, SREM, SMOVE, SPOP, the reads,
 * SRANDMEMBER, the intersection/union/difference family and SSCAN. Writes run in apply and
 * depend only on the request and CTX: the writes that can add members (SADD, SMOVE and the
 * three stores) carry set-max-intset-entries, appended by their prepare step from the node's
 * configuration as one last argument "MAX:0" and always taken off by the handler. SPOP's
 * random choices come from command_prng (seeded by the entry in apply). */
#include "command.h"
#include "kv.h"
#include "notify.h"
#include "resp.h"
#include "set.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* The live set under argument I of REQ in *S (NULL when absent); WRITE looks it up as a
 * write (an expired key is deleted first). Returns 0, or -1 after WRONGTYPE. */
static int set_at(struct exec_ctx *ctx, const struct request *req, int i, int write,
                  struct set **s)
{
    void *obj;
    int rc = command_obj_at(ctx, req, i, write, KV_SET, &obj);
    *s = obj;
    return rc;
}

/* After a change of the set under argument I: publish EVENT ("sadd", "srem" ...), then
 * record it, or delete the key when empty ("del"). The one place set writes notify from. */
static void changed(struct exec_ctx *ctx, const struct request *req, int i, struct set *s,
                    const char *event)
{
    notify_set(ctx, event, req->argv[i], req->len[i]);
    if (set_len(s) == 0) {
        kv_delete(ctx->kv, req->argv[i], req->len[i], ctx->apply_seq);
        notify_generic(ctx, "del", req->argv[i], req->len[i]);
        return;
    }
    struct kv_entry *e = kv_find(ctx->kv, req->argv[i], req->len[i]);
    if (e != NULL)
        kv_touch(e, ctx->apply_seq);
}

static void reply_name_arity(struct buf *out, const struct request *req)
{
    char name[32];
    request_name_lower(req, name, sizeof name);
    reply_wrong_arity(out, name);
}

/* The set-max-intset-entries a prepared write carries (see the file comment) in *MAX and
 * its argc without it in *ARGC; -1 after an error when REQ has no such last argument or
 * fewer than MIN_ARGC arguments of its own. */
static int take_limit(struct exec_ctx *ctx, const struct request *req, int min_argc, int *argc,
                      long long *max)
{
    long long unused;
    if (command_take_limits(req, max, &unused) != 0) {
        reply_error(ctx->out, "ERR malformed set write: the conversion limit is missing");
        return -1;
    }
    *argc = req->argc - 1;
    if (*argc < min_argc) {
        reply_name_arity(ctx->out, req);
        return -1;
    }
    return 0;
}

/* Every member of S: a RESP3 set when AS_SET, else an array (SRANDMEMBER's). */
static void reply_members(struct buf *out, struct set *s, int as_set)
{
    struct set_iter it;
    const char *m;
    size_t len;
    if (as_set)
        reply_set_len(out, (long long)set_len(s));
    else
        reply_array(out, (long long)set_len(s));
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m, &len))
        reply_bulk(out, m, len);
    set_iter_close(&it);
}

/* ---- prepare ---- */

/* SADD, SINTERSTORE, SUNIONSTORE, SDIFFSTORE: the table's arity suffices; add the limit. */
int prep_set_add(struct request *req, int64_t now_ms, struct buf *out)
{
    (void)now_ms;
    (void)out;
    command_push_limits(req, set_max_intset_configured, 0);
    return 0;
}

/* SMOVE source destination member (arity -4 in the table so that the limit fits). */
int prep_smove(struct request *req, int64_t now_ms, struct buf *out)
{
    if (req->argc != 4) {
        reply_name_arity(out, req);
        return -1;
    }
    return prep_set_add(req, now_ms, out);
}

/* ---- writes ---- */

void cmd_sadd(struct exec_ctx *ctx, struct request *req)
{
    long long max;
    int argc, added = 0;
    struct set *s;

    if (take_limit(ctx, req, 3, &argc, &max) != 0 || set_at(ctx, req, 1, 1, &s) != 0)
        return;
    if (s == NULL) {
        s = set_new_for(req->argv[2], req->len[2]);
        kv_set_obj(ctx->kv, req->argv[1], req->len[1], KV_SET, s, KV_NO_EXPIRE, ctx->apply_seq);
    }
    for (int i = 2; i < argc; i++)
        added += set_add(s, req->argv[i], req->len[i], max);
    if (added)
        changed(ctx, req, 1, s, "sadd");
    reply_int(ctx->out, added);
}

void cmd_srem(struct exec_ctx *ctx, struct request *req)
{
    struct set *s;
    long long deleted = 0;

    if (set_at(ctx, req, 1, 1, &s) != 0)
        return;
    for (int i = 2; s != NULL && i < req->argc; i++) {
        deleted += set_remove(s, req->argv[i], req->len[i]);
        if (set_len(s) == 0)
            break;
    }
    if (deleted)
        changed(ctx, req, 1, s, "srem");
    reply_int(ctx->out, deleted);
}

void cmd_smove(struct exec_ctx *ctx, struct request *req)
{
    struct set *src, *dst;
    long long max;
    int argc;
    const char *m;
    size_t ml;

    if (take_limit(ctx, req, 4, &argc, &max) != 0)
        return;
    if (argc != 4) {
        reply_name_arity(ctx->out, req);
        return;
    }
    m = req->argv[3];
    ml = req->len[3];
    /* Redis looks both keys up first; a missing source answers 0 before any type check. */
    struct kv_entry *se = kv_lookup_write(ctx->kv, req->argv[1], req->len[1], ctx->now_ms,
                                          ctx->apply_seq);
    kv_lookup_write(ctx->kv, req->argv[2], req->len[2], ctx->now_ms, ctx->apply_seq);
    if (se == NULL) {
        reply_int(ctx->out, 0);
        return;
    }
    if (set_at(ctx, req, 1, 0, &src) != 0 || set_at(ctx, req, 2, 0, &dst) != 0)
        return;
    if (src == dst) {
        reply_int(ctx->out, set_contains(src, m, ml));
        return;
    }
    if (!set_remove(src, m, ml)) {
        reply_int(ctx->out, 0);
        return;
    }
    changed(ctx, req, 1, src, "srem");
    if (dst == NULL) {
        dst = set_new_for(m, ml);
        kv_set_obj(ctx->kv, req->argv[2], req->len[2], KV_SET, dst, KV_NO_EXPIRE, ctx->apply_seq);
    }
    if (set_add(dst, m, ml, max))
        changed(ctx, req, 2, dst, "sadd");
    reply_int(ctx->out, 1);
}

/* The optional count of SPOP/SRANDMEMBER key [count] into *L (0 when absent), at least MIN
 * (0: Redis's "must be positive", else its range error). Returns 0, or -1 after the error. */
static int count_arg(struct exec_ctx *ctx, const struct request *req, long long min,
                     long long *l)
{
    *l = 0;
    if (req->argc > 3) {
        reply_syntax_error(ctx->out);
        return -1;
    }
    if (req->argc < 3)
        return 0;
    if (command_arg_ll(req, 2, l, ctx->out) != 0)
        return -1;
    if (*l >= min)
        return 0;
    if (min == 0)
        reply_error(ctx->out, "ERR value is out of range, must be positive");
    else
        reply_errorf(ctx->out, "ERR value is out of range, value must between %ld and %ld",
                     -LONG_MAX, LONG_MAX);
    return -1;
}

#define SPOP_MOVE_STRATEGY_MUL 5

enum setop { SETOP_UNION, SETOP_DIFF };
static struct set *sunion_diff(struct exec_ctx *ctx, const struct request *req, int first, int n,
                               enum setop op, long long max);

/* SPOP key count, COUNT < size: Redis's two strategies. A small COUNT pops COUNT random
 * members; a large one draws the members that stay into a new set of the same encoding,
 * answers what is left in the old one and puts the new one in its place. */
static void spop_some(struct exec_ctx *ctx, struct set *s, unsigned long count)
{
    struct prng *p = command_prng(ctx);
    unsigned long remaining = set_len(s) - count;

    reply_set_len(ctx->out, (long long)count);
    if (remaining * SPOP_MOVE_STRATEGY_MUL > count) {
        while (count--) {
            size_t len;
            char *m = set_pop(s, p, &len);
            reply_bulk(ctx->out, m, len);
            free(m);
        }
        return;
    }
    struct set *keep = set_new(s->enc);
    while (remaining--) {
        size_t len;
        char *m = set_pop(s, p, &len);
        set_add(keep, m, len, LLONG_MAX); /* same encoding: the members came from one */
        free(m);
    }
    struct set_iter it;
    const char *m;
    size_t len;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m, &len))
        reply_bulk(ctx->out, m, len);
    set_iter_close(&it);
    struct set old = *s; /* the entry keeps its object (and its TTL): swap the contents */
    *s = *keep;
    *keep = old;
    set_free(keep);
}

/* SPOP key [count]: a write, its choices drawn in apply from the entry's PRNG. */
void cmd_spop(struct exec_ctx *ctx, struct request *req)
{
    struct set *s;
    long long l = 0;

    if (count_arg(ctx, req, 0, &l) != 0)
        return;
    if (set_at(ctx, req, 1, 1, &s) != 0)
        return;
    if (s == NULL) {
        if (req->argc == 3)
            reply_set_len(ctx->out, 0);
        else
            reply_null(ctx->out);
        return;
    }
    if (req->argc == 2) {
        size_t len;
        char *m = set_pop(s, command_prng(ctx), &len);
        reply_bulk(ctx->out, m, len);
        free(m);
    } else if (l == 0) {
        reply_set_len(ctx->out, 0);
        return;
    } else if ((unsigned long long)l >= set_len(s)) {
        struct set *all = sunion_diff(ctx, req, 1, 1, SETOP_UNION, SET_DEFAULT_MAX_INTSET);
        reply_members(ctx->out, all, 1); /* as Redis: the whole set, through a union */
        set_free(all);
        notify_set(ctx, "spop", req->argv[1], req->len[1]);
        kv_delete(ctx->kv, req->argv[1], req->len[1], ctx->apply_seq);
        notify_generic(ctx, "del", req->argv[1], req->len[1]);
        return;
    } else {
        spop_some(ctx, s, (unsigned long)l);
    }
    changed(ctx, req, 1, s, "spop");
}

/* ---- reads ---- */

void cmd_scard(struct exec_ctx *ctx, struct request *req)
{
    struct set *s;
    if (set_at(ctx, req, 1, 0, &s) == 0)
        reply_int(ctx->out, s ? (long long)set_len(s) : 0);
}

void cmd_sismember(struct exec_ctx *ctx, struct request *req)
{
    struct set *s;
    if (set_at(ctx, req, 1, 0, &s) == 0)
        reply_int(ctx->out, s && set_contains(s, req->argv[2], req->len[2]));
}

void cmd_smismember(struct exec_ctx *ctx, struct request *req)
{
    struct set *s;
    if (set_at(ctx, req, 1, 0, &s) != 0)
        return;
    reply_array(ctx->out, req->argc - 2);
    for (int i = 2; i < req->argc; i++)
        reply_int(ctx->out, s && set_contains(s, req->argv[i], req->len[i]));
}

#define SRANDMEMBER_SUB_STRATEGY_MUL 3
#define SET_RANDMEMBER_MAX_REPEAT 10000000 /* a negative count's bound (see below) */

struct member {
    const char *m;
    size_t len;
    char tmp[SET_INT_BUF];
};

/* COUNT distinct members of S (1 < COUNT < size), Redis's two strategies: when COUNT is a
 * large part of the set, take all and drop random ones; else draw until COUNT distinct. */
static void srandmember_distinct(struct buf *out, struct set *s, struct prng *p,
                                 unsigned long count)
{
    size_t size = set_len(s);
    reply_array(out, (long long)count);
    if (count * SRANDMEMBER_SUB_STRATEGY_MUL > size) {
        struct member *all = xmalloc(size * sizeof *all);
        struct set_iter it;
        size_t n = 0;
        set_iter_init(&it, s);
        while (n < size && set_iter_next(&it, &all[n].m, &all[n].len)) {
            if (s->enc == SET_INTSET) { /* the iterator's buffer is reused */
                memcpy(all[n].tmp, all[n].m, all[n].len);
                all[n].m = all[n].tmp;
            }
            n++;
        }
        set_iter_close(&it);
        while (n > count) {
            size_t k = prng_below(p, n);
            all[k] = all[--n];
            if (all[k].m == all[n].tmp)
                all[k].m = all[k].tmp;
        }
        for (size_t i = 0; i < n; i++)
            reply_bulk(out, all[i].m, all[i].len);
        free(all);
        return;
    }
    struct dict *seen = dict_new(DICT_DEFAULT_SEED);
    while (dict_size(seen) < count) {
        struct member k;
        set_random(s, p, k.tmp, &k.m, &k.len);
        if (dict_add(seen, k.m, k.len, NULL))
            reply_bulk(out, k.m, k.len);
    }
    dict_free(seen, NULL);
}

/* SRANDMEMBER key [count]: a read; its choices come from command_prng. */
void cmd_srandmember(struct exec_ctx *ctx, struct request *req)
{
    struct set *s;
    long long l = 0;
    struct member k;

    if (count_arg(ctx, req, -LONG_MAX, &l) != 0)
        return;
    if (set_at(ctx, req, 1, 0, &s) != 0)
        return;
    if (req->argc == 2) {
        if (s == NULL) {
            reply_null(ctx->out);
            return;
        }
        set_random(s, command_prng(ctx), k.tmp, &k.m, &k.len);
        reply_bulk(ctx->out, k.m, k.len);
        return;
    }
    if (s == NULL || l == 0) {
        reply_array(ctx->out, 0);
        return;
    }
    if (l < -SET_RANDMEMBER_MAX_REPEAT) {
        /* Redis would build the whole answer (or drop the client at its output limit);
         * a huge repeat count would stall the loop and exhaust memory here. */
        reply_errorf(ctx->out, "ERR count is too large: at most %d members with repetitions",
                     SET_RANDMEMBER_MAX_REPEAT);
        return;
    }
    struct prng *p = command_prng(ctx);
    if (l < 0 || l == 1) {
        unsigned long count = l < 0 ? (unsigned long)-l : 1;
        reply_array(ctx->out, (long long)count);
        while (count--) {
            set_random(s, p, k.tmp, &k.m, &k.len);
            reply_bulk(ctx->out, k.m, k.len);
        }
        return;
    }
    if ((unsigned long long)l >= set_len(s)) {
        reply_members(ctx->out, s, 0);
        return;
    }
    srandmember_distinct(ctx->out, s, p, (unsigned long)l);
}

/* ---- SINTER, SUNION, SDIFF and their stores ---- */

/* The sets under REQ's arguments FIRST .. FIRST + N - 1 into SETS (NULL for a missing key);
 * -1 after WRONGTYPE. */
static int sets_at(struct exec_ctx *ctx, const struct request *req, int first, int n,
                   struct set **sets)
{
    for (int j = 0; j < n; j++)
        if (set_at(ctx, req, first + j, 0, &sets[j]) != 0)
            return -1;
    return 0;
}

static size_t card(const struct set *s)
{
    return s != NULL ? set_len(s) : 0;
}

/* Sort SETS by cardinality (a missing one counts as empty), ascending (REV: descending);
 * stable, so that every node (and every C library) orders sets of equal size the same way. */
static void sort_by_card(struct set **sets, int n, int rev)
{
    for (int i = 1; i < n; i++) {
        struct set *x = sets[i];
        int j = i - 1;
        while (j >= 0 && (rev ? card(sets[j]) < card(x) : card(sets[j]) > card(x))) {
            sets[j + 1] = sets[j];
            j--;
        }
        sets[j + 1] = x;
    }
}

/* Store RESULT (taken) under argument I as the new value, or delete the key when RESULT is
 * empty; answer its size. */
static void store_result(struct exec_ctx *ctx, const struct request *req, int i,
                         struct set *result)
{
    size_t n = set_len(result);
    if (n > 0) {
        kv_set_obj(ctx->kv, req->argv[i], req->len[i], KV_SET, result, KV_NO_EXPIRE,
                   ctx->apply_seq);
        /* the event is the command's name: sinterstore, sunionstore, sdiffstore */
        notify_set(ctx, command_lookup(req->argv[0], req->len[0])->name, req->argv[i], req->len[i]);
    } else {
        set_free(result);
        if (kv_delete(ctx->kv, req->argv[i], req->len[i], ctx->apply_seq))
            notify_generic(ctx, "del", req->argv[i], req->len[i]);
    }
    reply_int(ctx->out, (long long)n);
}

enum inter_mode { INTER_REPLY, INTER_STORE, INTER_CARD };

/* The intersection of the N sets under REQ's arguments from FIRST: answered (SINTER,
 * SMEMBERS), stored under argument 1 with MAX (SINTERSTORE), or counted up to LIMIT, 0 for
 * none (SINTERCARD). Redis's order: the smallest set is walked, so its order is the answer's. */
static void sinter_generic(struct exec_ctx *ctx, const struct request *req, int first, int n,
                           enum inter_mode mode, long long max, unsigned long limit)
{
    struct set **sets = xmalloc((size_t)n * sizeof *sets);
    int empty = 0;

    if (sets_at(ctx, req, first, n, sets) != 0)
        goto done;
    for (int j = 0; j < n; j++)
        empty |= sets[j] == NULL;
    if (empty) {
        if (mode == INTER_STORE) {
            if (kv_delete(ctx->kv, req->argv[1], req->len[1], ctx->apply_seq))
                notify_generic(ctx, "del", req->argv[1], req->len[1]);
            reply_int(ctx->out, 0);
        } else if (mode == INTER_CARD) {
            reply_int(ctx->out, 0);
        } else {
            reply_set_len(ctx->out, 0);
        }
        goto done;
    }
    sort_by_card(sets, n, 0);
    struct set *result = mode == INTER_STORE ? set_new(SET_INTSET) : NULL;
    struct buf items;
    unsigned long card = 0;
    struct set_iter it;
    const char *m;
    size_t len;
    buf_init(&items);
    set_iter_init(&it, sets[0]);
    while (set_iter_next(&it, &m, &len)) {
        int j;
        for (j = 1; j < n; j++)
            if (sets[j] != sets[0] && !set_contains(sets[j], m, len))
                break;
        if (j < n)
            continue;
        card++;
        if (mode == INTER_STORE)
            set_add(result, m, len, max);
        else if (mode == INTER_REPLY)
            reply_bulk(&items, m, len);
        else if (limit && card >= limit)
            break;
    }
    set_iter_close(&it);
    if (mode == INTER_STORE) {
        store_result(ctx, req, 1, result);
    } else if (mode == INTER_CARD) {
        reply_int(ctx->out, (long long)card);
    } else {
        reply_set_len(ctx->out, (long long)card);
        buf_append(ctx->out, items.data, items.len);
    }
    buf_close(&items);
done:
    free(sets);
}

/* The union or difference of the N sets under REQ's arguments from FIRST, built as Redis
 * does into a new set that starts as an intset (MAX: its conversion limit), with Redis's
 * choice between its two difference algorithms. Returns the result (the caller owns it),
 * or NULL after WRONGTYPE. */
static struct set *sunion_diff(struct exec_ctx *ctx, const struct request *req, int first, int n,
                               enum setop op, long long max)
{
    struct set **sets = xmalloc((size_t)n * sizeof *sets);
    struct set *result = NULL;
    int sameset = 0, algo = 1;
    struct set_iter it;
    const char *m;
    size_t len;

    if (sets_at(ctx, req, first, n, sets) != 0)
        goto done;
    for (int j = 1; j < n; j++)
        sameset |= sets[j] != NULL && sets[j] == sets[0];
    if (op == SETOP_DIFF && sets[0] != NULL && !sameset) {
        long long one = 0, two = 0;
        for (int j = 0; j < n; j++) {
            if (sets[j] == NULL)
                continue;
            one += (long long)set_len(sets[0]);
            two += (long long)set_len(sets[j]);
        }
        one /= 2;
        algo = one <= two ? 1 : 2;
        if (algo == 1 && n > 1)
            sort_by_card(sets + 1, n - 1, 1);
    }
    result = set_new(SET_INTSET);
    if (op == SETOP_UNION) {
        for (int j = 0; j < n; j++) {
            if (sets[j] == NULL)
                continue;
            set_iter_init(&it, sets[j]);
            while (set_iter_next(&it, &m, &len))
                set_add(result, m, len, max);
            set_iter_close(&it);
        }
    } else if (sets[0] != NULL && !sameset && algo == 1) {
        set_iter_init(&it, sets[0]);
        while (set_iter_next(&it, &m, &len)) {
            int j;
            for (j = 1; j < n; j++)
                if (sets[j] != NULL && set_contains(sets[j], m, len))
                    break;
            if (j == n)
                set_add(result, m, len, max);
        }
        set_iter_close(&it);
    } else if (sets[0] != NULL && !sameset) {
        for (int j = 0; j < n && (j == 0 || set_len(result) > 0); j++) {
            if (sets[j] == NULL)
                continue;
            set_iter_init(&it, sets[j]);
            while (set_iter_next(&it, &m, &len)) {
                if (j == 0)
                    set_add(result, m, len, max);
                else
                    set_remove(result, m, len);
            }
            set_iter_close(&it);
        }
    }
done:
    free(sets);
    return result;
}

/* The limit for a result only answered, never stored: it decides the answer's order (an
 * intset is sorted). A node serving the read uses its setting; apply (inside MULTI) the
 * default, never local configuration. */
static long long reply_limit(const struct exec_ctx *ctx)
{
    return ctx->client != NULL ? set_max_intset_configured : SET_DEFAULT_MAX_INTSET;
}

static void setop_reply(struct exec_ctx *ctx, struct request *req, enum setop op)
{
    struct set *r = sunion_diff(ctx, req, 1, req->argc - 1, op, reply_limit(ctx));
    if (r != NULL) {
        reply_members(ctx->out, r, 1);
        set_free(r);
    }
}

static void setop_store(struct exec_ctx *ctx, struct request *req, enum setop op)
{
    long long max;
    int argc;
    if (take_limit(ctx, req, 3, &argc, &max) != 0)
        return;
    struct set *r = sunion_diff(ctx, req, 2, argc - 2, op, max);
    if (r != NULL)
        store_result(ctx, req, 1, r);
}

void cmd_smembers(struct exec_ctx *ctx, struct request *req)
{
    sinter_generic(ctx, req, 1, 1, INTER_REPLY, 0, 0);
}

void cmd_sinter(struct exec_ctx *ctx, struct request *req)
{
    sinter_generic(ctx, req, 1, req->argc - 1, INTER_REPLY, 0, 0);
}

void cmd_sinterstore(struct exec_ctx *ctx, struct request *req)
{
    long long max;
    int argc;
    if (take_limit(ctx, req, 3, &argc, &max) == 0)
        sinter_generic(ctx, req, 2, argc - 2, INTER_STORE, max, 0);
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
void cmd_sintercard(struct exec_ctx *ctx, struct request *req)
{
    long long numkeys, limit = 0;

    if (util_parse_ll(req->argv[1], req->len[1], &numkeys) != 0 || numkeys < 1) {
        reply_error(ctx->out, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > req->argc - 2) {
        reply_error(ctx->out, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < req->argc; j++) {
        if (request_arg_is(req, j, "limit") && j + 1 < req->argc) {
            j++;
            if (util_parse_ll(req->argv[j], req->len[j], &limit) != 0 || limit < 0) {
                reply_error(ctx->out, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            reply_syntax_error(ctx->out);
            return;
        }
    }
    sinter_generic(ctx, req, 2, (int)numkeys, INTER_CARD, 0, (unsigned long)limit);
}

void cmd_sunion(struct exec_ctx *ctx, struct request *req)
{
    setop_reply(ctx, req, SETOP_UNION);
}

void cmd_sdiff(struct exec_ctx *ctx, struct request *req)
{
    setop_reply(ctx, req, SETOP_DIFF);
}

void cmd_sunionstore(struct exec_ctx *ctx, struct request *req)
{
    setop_store(ctx, req, SETOP_UNION);
}

void cmd_sdiffstore(struct exec_ctx *ctx, struct request *req)
{
    setop_store(ctx, req, SETOP_DIFF);
}

/* ---- SSCAN ---- */

struct scan_acc {
    struct member *items;
    size_t n, cap;
};

static void scan_push(struct scan_acc *a, const char *m, size_t len)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->items = xrealloc(a->items, a->cap * sizeof *a->items);
    }
    struct member *k = &a->items[a->n++];
    k->len = len;
    if (len < SET_INT_BUF) { /* an intset's members come from a reused buffer */
        memcpy(k->tmp, m, len);
        k->m = NULL;
    } else {
        k->m = m;
    }
}

static void scan_collect(void *ud, const struct dict_entry *de)
{
    scan_push(ud, de->key, de->klen);
}

/* SSCAN key cursor [MATCH pattern] [COUNT count]: an intset is returned whole with cursor
 * 0, a hashtable a few dict_scan positions at a time (at most COUNT * 10). */
void cmd_sscan(struct exec_ctx *ctx, struct request *req)
{
    struct scan_args sa;
    struct set *s;

    if (command_parse_scan(req, 2, 0, &sa, ctx->out) != 0 || set_at(ctx, req, 1, 0, &s) != 0)
        return;
    struct scan_acc a = {NULL, 0, 0};
    uint64_t next = 0;
    if (s != NULL && s->enc == SET_INTSET) {
        struct set_iter it;
        const char *m;
        size_t len;
        set_iter_init(&it, s);
        while (set_iter_next(&it, &m, &len))
            scan_push(&a, m, len);
        set_iter_close(&it);
    } else if (s != NULL) {
        long long budget = sa.count * 10;
        next = sa.cursor;
        do
            next = dict_scan(s->d, next, scan_collect, &a);
        while (next != 0 && budget-- > 0 && (long long)a.n < sa.count);
    }
    size_t kept = 0;
    for (size_t i = 0; i < a.n; i++) {
        struct member *k = &a.items[i];
        const char *m = k->m != NULL ? k->m : k->tmp;
        if (sa.pat == NULL || util_glob_match(sa.pat, sa.plen, m, k->len, 0))
            a.items[kept++] = *k;
    }
    char tmp[32];
    reply_array(ctx->out, 2);
    reply_bulk(ctx->out, tmp, (size_t)snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)next));
    reply_array(ctx->out, (long long)kept);
    for (size_t i = 0; i < kept; i++)
        reply_bulk(ctx->out, a.items[i].m != NULL ? a.items[i].m : a.items[i].tmp,
                   a.items[i].len);
    free(a.items);
}
