/* Hash commands (Redis 7.0's t_hash.c semantics): HSET and friends, reads, HINCRBY*,
 * HRANDFIELD, HSCAN. Writes run in apply and depend only on the request and CTX: the
 * conversion thresholds are read by the prepare step from the node's configuration and
 * appended to the proposed request as one last argument "ENTRIES:VALUE" (every hash write
 * has an even argc by itself, so an odd argc means the limits are there; a request that
 * reaches apply without them uses the defaults). */
#include "command.h"
#include "hash.h"
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

/* ---- helpers ---- */

/* The live entry of KEY (argument 1) for a read, in *E (NULL when absent). Returns 0, or -1
 * after WRONGTYPE when it holds another type. */
static int read_entry(struct exec_ctx *ctx, const struct request *req, struct kv_entry **e)
{
    *e = kv_lookup(ctx->kv, req->argv[1], req->len[1], ctx->now_ms);
    if (*e != NULL && (*e)->type != KV_HASH) {
        reply_wrongtype(ctx->out);
        return -1;
    }
    return 0;
}

/* The same for a write (kv_lookup_write: an expired key is deleted first). */
static int write_entry(struct exec_ctx *ctx, const struct request *req, struct kv_entry **e)
{
    *e = kv_lookup_write(ctx->kv, req->argv[1], req->len[1], ctx->now_ms, ctx->apply_seq);
    if (*e != NULL && (*e)->type != KV_HASH) {
        reply_wrongtype(ctx->out);
        return -1;
    }
    return 0;
}

/* E's hash, creating the key with an empty hash when E is NULL. */
static struct hash *hash_or_create(struct exec_ctx *ctx, const struct request *req,
                                   struct kv_entry **e)
{
    if (*e == NULL)
        *e = kv_set_obj(ctx->kv, req->argv[1], req->len[1], KV_HASH, hash_new(), KV_NO_EXPIRE,
                        ctx->apply_seq);
    return kv_entry_obj(*e);
}

/* After a change of E's hash: record it and publish EVENT (the keyspace notification of the
 * change: "hset", "hdel" ...), then delete the key when the hash is empty ("del"). The one
 * place hash writes notify from. */
static void changed(struct exec_ctx *ctx, const struct request *req, struct kv_entry *e,
                    const char *event)
{
    notify_hash(ctx, event, req->argv[1], req->len[1]);
    if (hash_len(kv_entry_obj(e)) == 0) {
        kv_delete(ctx->kv, req->argv[1], req->len[1], ctx->apply_seq);
        notify_generic(ctx, "del", req->argv[1], req->len[1]);
    } else {
        kv_touch(e, ctx->apply_seq);
    }
}

/* The thresholds carried by a prepared write (see the file comment), and its argc without
 * them. */
static void request_limits(const struct request *req, int *argc, struct hash_limits *lim)
{
    lim->entries = HASH_DEFAULT_ENTRIES;
    lim->value = HASH_DEFAULT_VALUE;
    *argc = req->argc;
    if (req->argc % 2 == 0)
        return;
    command_take_limits(req, &lim->entries, &lim->value);
    *argc = req->argc - 1;
}

/* Append the node's configured limits to REQ. */
static void push_limits(struct request *req)
{
    command_push_limits(req, hash_limits_configured.entries, hash_limits_configured.value);
}

static void reply_name_arity(struct buf *out, const struct request *req)
{
    char name[32];
    request_name_lower(req, name, sizeof name);
    reply_wrong_arity(out, name);
}

/* ---- prepare ---- */

/* HSET/HMSET key field value [field value ...]: pairs, then the limits. */
int prep_hset(struct request *req, int64_t now_ms, struct buf *out)
{
    (void)now_ms;
    if (req->argc < 4 || req->argc % 2 != 0) {
        reply_name_arity(out, req);
        return -1;
    }
    push_limits(req);
    return 0;
}

/* HSETNX key field value (arity -4 in the table so that the limits fit: exact here). */
int prep_hsetnx(struct request *req, int64_t now_ms, struct buf *out)
{
    (void)now_ms;
    if (req->argc != 4) {
        reply_name_arity(out, req);
        return -1;
    }
    push_limits(req);
    return 0;
}

int prep_hincrby(struct request *req, int64_t now_ms, struct buf *out)
{
    long long v;
    (void)now_ms;
    if (req->argc != 4) {
        reply_name_arity(out, req);
        return -1;
    }
    if (command_arg_ll(req, 3, &v, out) != 0)
        return -1;
    push_limits(req);
    return 0;
}

/* A float as Redis's HINCRBYFLOAT reads it (see cmd_incrbyfloat: a number beyond a
 * double's range is an infinity). 0 or -1. */
static int parse_float(const char *s, size_t len, double *out)
{
    int rc = util_parse_double(s, len, out);
    return rc == 0 || rc == UTIL_DOUBLE_OVERFLOW ? 0 : -1;
}

static int incrbyfloat_arg(const struct request *req, double *incr, struct buf *out)
{
    if (parse_float(req->argv[3], req->len[3], incr) != 0) {
        reply_error(out, "ERR value is not a valid float");
        return -1;
    }
    if (isnan(*incr) || isinf(*incr)) {
        reply_error(out, "ERR value is NaN or Infinity");
        return -1;
    }
    return 0;
}

int prep_hincrbyfloat(struct request *req, int64_t now_ms, struct buf *out)
{
    double incr;
    (void)now_ms;
    if (req->argc != 4) {
        reply_name_arity(out, req);
        return -1;
    }
    if (incrbyfloat_arg(req, &incr, out) != 0)
        return -1;
    push_limits(req);
    return 0;
}

/* ---- writes ---- */

static void hset_generic(struct exec_ctx *ctx, struct request *req, int is_hmset)
{
    struct hash_limits lim;
    struct kv_entry *e;
    int argc, created = 0;

    request_limits(req, &argc, &lim);
    if (argc < 4 || argc % 2 != 0) {
        reply_name_arity(ctx->out, req);
        return;
    }
    if (write_entry(ctx, req, &e) != 0)
        return;
    struct hash *h = hash_or_create(ctx, req, &e);
    hash_try_convert(h, (const char *const *)req->argv + 2, req->len + 2, argc - 2, &lim);
    for (int i = 2; i < argc; i += 2)
        created += hash_set(h, req->argv[i], req->len[i], req->argv[i + 1], req->len[i + 1], &lim);
    changed(ctx, req, e, "hset");
    if (is_hmset)
        reply_ok(ctx->out);
    else
        reply_int(ctx->out, created);
}

void cmd_hset(struct exec_ctx *ctx, struct request *req)
{
    hset_generic(ctx, req, 0);
}

void cmd_hmset(struct exec_ctx *ctx, struct request *req)
{
    hset_generic(ctx, req, 1);
}

/* The conversion limits carried by REQ (request_limits) for HSETNX, HINCRBY and
 * HINCRBYFLOAT, which take exactly a key, a field and a value: -1 after the arity error. */
static int limits_of_field_command(struct exec_ctx *ctx, struct request *req, struct hash_limits *lim)
{
    int argc;
    request_limits(req, &argc, lim);
    if (argc != 4) {
        reply_name_arity(ctx->out, req);
        return -1;
    }
    return 0;
}

void cmd_hsetnx(struct exec_ctx *ctx, struct request *req)
{
    struct hash_limits lim;
    struct kv_entry *e;
    size_t vl;

    if (limits_of_field_command(ctx, req, &lim) != 0)
        return;
    if (write_entry(ctx, req, &e) != 0)
        return;
    if (e != NULL && hash_get(kv_entry_obj(e), req->argv[2], req->len[2], &vl) != NULL) {
        reply_int(ctx->out, 0);
        return;
    }
    struct hash *h = hash_or_create(ctx, req, &e);
    hash_try_convert(h, (const char *const *)req->argv + 2, req->len + 2, 2, &lim);
    hash_set(h, req->argv[2], req->len[2], req->argv[3], req->len[3], &lim);
    changed(ctx, req, e, "hset");
    reply_int(ctx->out, 1);
}

void cmd_hdel(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e;
    long long deleted = 0;

    if (write_entry(ctx, req, &e) != 0)
        return;
    if (e == NULL) {
        reply_int(ctx->out, 0);
        return;
    }
    struct hash *h = kv_entry_obj(e);
    for (int i = 2; i < req->argc; i++) {
        deleted += hash_delete(h, req->argv[i], req->len[i]);
        if (hash_len(h) == 0)
            break;
    }
    if (deleted)
        changed(ctx, req, e, "hdel");
    reply_int(ctx->out, deleted);
}

void cmd_hincrby(struct exec_ctx *ctx, struct request *req)
{
    struct hash_limits lim;
    struct kv_entry *e;
    long long incr, value = 0;
    size_t vl;

    if (limits_of_field_command(ctx, req, &lim) != 0)
        return;
    if (command_arg_ll(req, 3, &incr, ctx->out) != 0 || write_entry(ctx, req, &e) != 0)
        return;
    const char *v = e ? hash_get(kv_entry_obj(e), req->argv[2], req->len[2], &vl) : NULL;
    if (v != NULL && util_parse_ll(v, vl, &value) != 0) {
        reply_error(ctx->out, "ERR hash value is not an integer");
        return;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        reply_error(ctx->out, "ERR increment or decrement would overflow");
        return;
    }
    value += incr;
    char tmp[32];
    size_t n = util_ll2str(tmp, value);
    struct hash *h = hash_or_create(ctx, req, &e);
    hash_set(h, req->argv[2], req->len[2], tmp, n, &lim);
    changed(ctx, req, e, "hincrby");
    reply_int(ctx->out, value);
}

void cmd_hincrbyfloat(struct exec_ctx *ctx, struct request *req)
{
    struct hash_limits lim;
    struct kv_entry *e;
    double incr, value = 0;
    size_t vl;

    if (limits_of_field_command(ctx, req, &lim) != 0)
        return;
    if (incrbyfloat_arg(req, &incr, ctx->out) != 0 || write_entry(ctx, req, &e) != 0)
        return;
    const char *v = e ? hash_get(kv_entry_obj(e), req->argv[2], req->len[2], &vl) : NULL;
    if (v != NULL && parse_float(v, vl, &value) != 0) {
        reply_error(ctx->out, "ERR hash value is not a float");
        return;
    }
    value += incr; /* IEEE double on every node, as INCRBYFLOAT */
    if (isnan(value) || isinf(value)) {
        reply_error(ctx->out, "ERR increment would produce NaN or Infinity");
        return;
    }
    char tmp[UTIL_D2STR_MAX];
    size_t n = util_d2str_human(tmp, sizeof tmp, value);
    struct hash *h = hash_or_create(ctx, req, &e);
    hash_set(h, req->argv[2], req->len[2], tmp, n, &lim);
    changed(ctx, req, e, "hincrbyfloat");
    reply_bulk(ctx->out, tmp, n);
}

/* ---- reads ---- */

/* The value of the field named by REQ's argument I in the hash E (NULL: no key), or nil. */
static void reply_field(struct buf *out, struct kv_entry *e, const struct request *req, int i)
{
    size_t vl;
    const char *v = e ? hash_get(kv_entry_obj(e), req->argv[i], req->len[i], &vl) : NULL;
    if (v == NULL)
        reply_null(out);
    else
        reply_bulk(out, v, vl);
}

void cmd_hget(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e;
    if (read_entry(ctx, req, &e) == 0)
        reply_field(ctx->out, e, req, 2);
}

void cmd_hmget(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e;
    if (read_entry(ctx, req, &e) != 0)
        return;
    reply_array(ctx->out, req->argc - 2);
    for (int i = 2; i < req->argc; i++)
        reply_field(ctx->out, e, req, i);
}

/* PAIRS: fields and values as HRANDFIELD WITHVALUES answers them (RESP3 pairs) */
enum { WANT_FIELDS = 1, WANT_VALUES = 2, WANT_PAIRS = 4 };

static void getall_generic(struct exec_ctx *ctx, struct request *req, int want)
{
    struct kv_entry *e;
    struct hash_iter it;
    const char *f, *v;
    size_t fl, vl;

    if (read_entry(ctx, req, &e) != 0)
        return;
    int map = want == (WANT_FIELDS | WANT_VALUES); /* HGETALL: a map in RESP3 */
    int pairs = (want & WANT_PAIRS) != 0;
    if (e == NULL) {
        if (map)
            reply_map_len(ctx->out, 0);
        else
            reply_array(ctx->out, 0);
        return;
    }
    struct hash *h = kv_entry_obj(e);
    if (map)
        reply_map_len(ctx->out, (long long)hash_len(h));
    else if (pairs)
        reply_pairs_len(ctx->out, (long long)hash_len(h));
    else
        reply_array(ctx->out, (long long)hash_len(h));
    hash_iter_init(&it, h);
    while (hash_iter_next(&it, &f, &fl, &v, &vl)) {
        if (pairs)
            reply_pair(ctx->out);
        if (want & WANT_FIELDS)
            reply_bulk(ctx->out, f, fl);
        if (want & WANT_VALUES)
            reply_bulk(ctx->out, v, vl);
    }
    hash_iter_close(&it);
}

void cmd_hgetall(struct exec_ctx *ctx, struct request *req)
{
    getall_generic(ctx, req, WANT_FIELDS | WANT_VALUES);
}

void cmd_hkeys(struct exec_ctx *ctx, struct request *req)
{
    getall_generic(ctx, req, WANT_FIELDS);
}

void cmd_hvals(struct exec_ctx *ctx, struct request *req)
{
    getall_generic(ctx, req, WANT_VALUES);
}

void cmd_hlen(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e;
    if (read_entry(ctx, req, &e) != 0)
        return;
    reply_int(ctx->out, e ? (long long)hash_len(kv_entry_obj(e)) : 0);
}

void cmd_hstrlen(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e;
    size_t vl = 0;
    if (read_entry(ctx, req, &e) != 0)
        return;
    const char *v = e ? hash_get(kv_entry_obj(e), req->argv[2], req->len[2], &vl) : NULL;
    reply_int(ctx->out, v ? (long long)vl : 0);
}

void cmd_hexists(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e;
    size_t vl;
    if (read_entry(ctx, req, &e) != 0)
        return;
    reply_int(ctx->out, e && hash_get(kv_entry_obj(e), req->argv[2], req->len[2], &vl) != NULL);
}

/* ---- HRANDFIELD ---- */

struct pick {
    const char *f, *v;
    size_t fl, vl;
};

static void reply_pick(struct buf *out, const struct pick *p, int withvalues)
{
    reply_bulk(out, p->f, p->fl);
    if (withvalues)
        reply_bulk(out, p->v, p->vl);
}

/* One of HRANDFIELD's: WITHVALUES a [field, value] pair in RESP3. */
static void reply_randfield(struct buf *out, const struct pick *p, int withvalues)
{
    if (withvalues)
        reply_pair(out);
    reply_bulk(out, p->f, p->fl);
    if (withvalues)
        reply_bulk(out, p->v, p->vl);
}

/* COUNT distinct fields of H (0 < COUNT < size), Redis's two strategies: when COUNT is a
 * large part of the hash, take all and drop random ones; else draw until COUNT distinct. */
static void randfield_distinct(struct buf *out, struct hash *h, struct prng *p,
                               unsigned long count, int withvalues)
{
    size_t size = hash_len(h);
    if (withvalues)
        reply_pairs_len(out, (long long)count);
    else
        reply_array(out, (long long)count);
    if (count * 3 > size) {
        struct pick *all = xmalloc(size * sizeof *all);
        struct hash_iter it;
        size_t n = 0;
        hash_iter_init(&it, h);
        while (n < size && hash_iter_next(&it, &all[n].f, &all[n].fl, &all[n].v, &all[n].vl))
            n++;
        hash_iter_close(&it);
        while (n > count) {
            size_t k = prng_below(p, n);
            all[k] = all[--n]; /* order is not part of the answer */
        }
        for (size_t i = 0; i < n; i++)
            reply_randfield(out, &all[i], withvalues);
        free(all);
        return;
    }
    struct dict *seen = dict_new(DICT_DEFAULT_SEED);
    while (dict_size(seen) < count) {
        struct pick k;
        hash_random(h, p, &k.f, &k.fl, &k.v, &k.vl);
        if (dict_add(seen, k.f, k.fl, NULL))
            reply_randfield(out, &k, withvalues);
    }
    dict_free(seen, NULL);
}

/* HRANDFIELD key [count [WITHVALUES]]. A read, served by the node that holds the client:
 * its choices come from command_prng (the node's random state; the entry's inside MULTI). */
void cmd_hrandfield(struct exec_ctx *ctx, struct request *req)
{
    struct kv_entry *e;
    long long l = 0;
    int withvalues = 0;
    struct prng *p;

    if (command_parse_randcount(req, "withvalues", &l, &withvalues, ctx->out) != 0 ||
        read_entry(ctx, req, &e) != 0)
        return;
    p = command_prng(ctx);
    if (req->argc == 2) {
        struct pick k;
        if (e == NULL) {
            reply_null(ctx->out);
            return;
        }
        hash_random(kv_entry_obj(e), p, &k.f, &k.fl, &k.v, &k.vl);
        reply_bulk(ctx->out, k.f, k.fl);
        return;
    }
    if (e == NULL || l == 0) {
        reply_array(ctx->out, 0);
        return;
    }
    struct hash *h = kv_entry_obj(e);
    if (l < 0) {
        unsigned long count = (unsigned long)-l;
        if (withvalues)
            reply_pairs_len(ctx->out, (long long)count);
        else
            reply_array(ctx->out, (long long)count);
        while (count--) {
            struct pick k;
            hash_random(h, p, &k.f, &k.fl, &k.v, &k.vl);
            reply_randfield(ctx->out, &k, withvalues);
        }
        return;
    }
    if ((unsigned long long)l >= hash_len(h)) {
        getall_generic(ctx, req, withvalues ? WANT_FIELDS | WANT_VALUES | WANT_PAIRS : WANT_FIELDS);
        return;
    }
    randfield_distinct(ctx->out, h, p, (unsigned long)l, withvalues);
}

/* ---- HSCAN ---- */

struct scan_acc {
    struct pick *items;
    size_t n, cap;
};

static void scan_collect(void *ud, const struct dict_entry *de)
{
    struct scan_acc *a = ud;
    const struct hash_val *hv = de->val;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->items = xrealloc(a->items, a->cap * sizeof *a->items);
    }
    a->items[a->n++] = (struct pick){de->key, hv->data, de->klen, hv->len};
}

/* HSCAN key cursor [MATCH pattern] [COUNT count]: a listpack hash is returned whole with
 * cursor 0, a hashtable one a few dict_scan positions at a time (at most COUNT * 10). */
void cmd_hscan(struct exec_ctx *ctx, struct request *req)
{
    struct scan_args sa;
    struct kv_entry *e;

    if (command_parse_scan(req, 2, 0, &sa, ctx->out) != 0)
        return;
    const char *pat = sa.pat;
    size_t plen = sa.plen;
    long long count = sa.count;
    unsigned long long cursor = sa.cursor;
    if (read_entry(ctx, req, &e) != 0)
        return;
    struct scan_acc a = {NULL, 0, 0};
    uint64_t next = 0;
    if (e != NULL) {
        struct hash *h = kv_entry_obj(e);
        if (h->enc == HASH_LISTPACK) {
            struct hash_iter it;
            struct pick k;
            hash_iter_init(&it, h);
            while (hash_iter_next(&it, &k.f, &k.fl, &k.v, &k.vl)) {
                if (a.n == a.cap) {
                    a.cap = a.cap ? a.cap * 2 : 16;
                    a.items = xrealloc(a.items, a.cap * sizeof *a.items);
                }
                a.items[a.n++] = k;
            }
            hash_iter_close(&it);
        } else {
            long long budget = count * 10;
            next = cursor;
            do
                next = dict_scan(h->d, next, scan_collect, &a);
            while (next != 0 && budget-- > 0 && (long long)a.n < count);
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < a.n; i++)
        if (pat == NULL || util_glob_match(pat, plen, a.items[i].f, a.items[i].fl, 0))
            a.items[kept++] = a.items[i];
    char tmp[32];
    reply_array(ctx->out, 2);
    reply_bulk(ctx->out, tmp, (size_t)snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)next));
    reply_array(ctx->out, (long long)kept * 2);
    for (size_t i = 0; i < kept; i++)
        reply_pick(ctx->out, &a.items[i], 1);
    free(a.items);
}
