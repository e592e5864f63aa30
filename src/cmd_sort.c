/* SORT and SORT_RO (Redis 7.0's sort.c semantics): BY pattern (a constant pattern means no
 * sorting, "key->field" reads a hash field), LIMIT, GET (# is the element itself), ASC/DESC,
 * ALPHA. Deterministic everywhere: our own stable merge sort (never the C library's qsort),
 * and ALPHA compares bytes (memcmp, shorter first on a common prefix) where Redis uses
 * strcoll: the server has no locale, so the order is the same on every node. SORT is a
 * write (as Redis flags it): STORE replaces the destination with a list of the result (a
 * missing GET value stored as an empty string) or deletes it when the result is empty,
 * cutting nodes with the fill limits its prepare step appends (prep_list_push), which every
 * SORT carries and takes off; SORT_RO, a read, refuses STORE with a syntax error as Redis
 * does. */
#include "command.h"
#include "hash.h"
#include "kv.h"
#include "qlist.h"
#include "resp.h"
#include "set.h"
#include "zobj.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sort_item {
    char *elem; /* a copy: NUL-terminated */
    size_t len;
    double score;
    const char *cmp; /* BY ... ALPHA: the value compared, NULL when absent */
    size_t cmplen;
};

struct sort_opts {
    int desc, alpha, dontsort;
    long long start, count;
    int by;            /* index of BY's pattern, or -1 */
    int *gets;         /* indexes of GET patterns */
    int ngets;
    int store;         /* index of STORE's destination, or 0 */
};

/* Parse the options from argv[2]. Returns 0, or -1 after the error reply. */
static int sort_parse(struct exec_ctx *ctx, const struct request *req, int readonly,
                      struct sort_opts *o)
{
    *o = (struct sort_opts){.count = -1, .by = -1};
    o->gets = xmalloc((size_t)req->argc * sizeof *o->gets);
    for (int j = 2; j < req->argc; j++) {
        int left = req->argc - j - 1;
        if (request_arg_is(req, j, "asc")) {
            o->desc = 0;
        } else if (request_arg_is(req, j, "desc")) {
            o->desc = 1;
        } else if (request_arg_is(req, j, "alpha")) {
            o->alpha = 1;
        } else if (request_arg_is(req, j, "limit") && left >= 2) {
            if (command_arg_ll(req, j + 1, &o->start, ctx->out) != 0 ||
                command_arg_ll(req, j + 2, &o->count, ctx->out) != 0)
                return -1;
            j += 2;
        } else if (!readonly && request_arg_is(req, j, "store") && left >= 1) {
            o->store = ++j;
        } else if (request_arg_is(req, j, "by") && left >= 1) {
            o->by = j + 1;
            o->dontsort = strchr(req->argv[j + 1], '*') == NULL;
            j++;
        } else if (request_arg_is(req, j, "get") && left >= 1) {
            o->gets[o->ngets++] = j + 1;
            j++;
        } else {
            reply_syntax_error(ctx->out);
            return -1;
        }
    }
    return 0;
}

/* The value PATTERN names for ELEM (Redis's lookupKeyByPattern): "#" is ELEM itself; the
 * first '*' is replaced by ELEM to name a key, a string whose value is taken, or with
 * "->field" after the '*' a hash whose field is taken. NULL when there is no '*', no such
 * key, or the key holds another type. */
static const char *by_pattern(struct exec_ctx *ctx, const char *pat, size_t plen,
                              const struct sort_item *it, size_t *vlen)
{
    if (plen == 1 && pat[0] == '#') {
        *vlen = it->len;
        return it->elem;
    }
    const char *star = memchr(pat, '*', plen);
    if (star == NULL)
        return NULL;
    const char *arrow = NULL;
    for (const char *q = star + 1; q + 1 < pat + plen; q++)
        if (q[0] == '-' && q[1] == '>') {
            arrow = q;
            break;
        }
    if (arrow != NULL && arrow + 2 == pat + plen)
        arrow = NULL; /* "->" at the very end is part of the key name */
    size_t pre = (size_t)(star - pat);
    size_t post = (size_t)((arrow ? arrow : pat + plen) - (star + 1));
    struct buf key;
    buf_init(&key);
    buf_append(&key, pat, pre);
    buf_append(&key, it->elem, it->len);
    buf_append(&key, star + 1, post);
    struct kv_entry *e = kv_lookup(ctx->kv, key.data ? key.data : "", key.len, ctx->now_ms);
    buf_close(&key);
    if (e == NULL)
        return NULL;
    if (arrow != NULL) {
        if (e->type != KV_HASH)
            return NULL;
        return hash_get(kv_entry_obj(e), arrow + 2, (size_t)(pat + plen - arrow - 2), vlen);
    }
    if (e->type != KV_STRING)
        return NULL;
    *vlen = e->vlen;
    return kv_entry_val(e);
}

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c != 0)
        return c;
    return al < bl ? -1 : al > bl;
}

/* Redis's sortCompare, with memcmp in place of strcoll. */
static int item_cmp(const struct sort_item *a, const struct sort_item *b,
                    const struct sort_opts *o)
{
    int c;
    if (!o->alpha) {
        c = a->score > b->score ? 1 : a->score < b->score ? -1
                                                          : bytes_cmp(a->elem, a->len, b->elem, b->len);
    } else if (o->by >= 0) {
        if (a->cmp == NULL || b->cmp == NULL)
            c = a->cmp == b->cmp ? 0 : a->cmp == NULL ? -1 : 1;
        else
            c = bytes_cmp(a->cmp, a->cmplen, b->cmp, b->cmplen);
    } else {
        c = bytes_cmp(a->elem, a->len, b->elem, b->len);
    }
    return o->desc ? -c : c;
}

/* A stable merge sort: the same order on every node and with every C library, also for
 * items that compare equal (BY ... ALPHA with equal or missing values). */
static void merge_sort(struct sort_item *v, struct sort_item *tmp, size_t n,
                       const struct sort_opts *o)
{
    if (n < 2)
        return;
    size_t h = n / 2, i = 0, j = h, k = 0;
    merge_sort(v, tmp, h, o);
    merge_sort(v + h, tmp, n - h, o);
    while (i < h && j < n)
        tmp[k++] = item_cmp(&v[j], &v[i], o) < 0 ? v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static void push_item(struct sort_item **v, size_t *n, size_t *cap, const char *m, size_t len)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *v = xrealloc(*v, *cap * sizeof **v);
    }
    struct sort_item *it = &(*v)[(*n)++];
    *it = (struct sort_item){.elem = xmalloc(len + 1), .len = len};
    memcpy(it->elem, m, len);
    it->elem[len] = '\0';
}

/* The elements of E's value, in its own order, into *V (*N of them). The one per-type
 * switch of SORT: each type that SORT accepts adds its case here. Returns 0, or -1 when E
 * holds a type SORT refuses (WRONGTYPE). */
static int sort_collect(struct kv_entry *e, struct sort_item **v, size_t *n)
{
    size_t cap = 0;
    *v = NULL;
    *n = 0;
    if (e == NULL)
        return 0; /* a missing key sorts as an empty list */
    switch (e->type) {
    case KV_SET: {
        struct set_iter it;
        const char *m;
        size_t len;
        set_iter_init(&it, kv_entry_obj(e));
        while (set_iter_next(&it, &m, &len))
            push_item(v, n, &cap, m, len);
        set_iter_close(&it);
        return 0;
    }
    case KV_ZSET: { /* score order (ties by member): also the order of BY nosort */
        struct zobj_it it;
        const char *m;
        size_t len;
        double score;
        for (zobj_it_rank(&it, kv_entry_obj(e), 0, 0); zobj_it_get(&it, &m, &len, &score);
             zobj_it_next(&it))
            push_item(v, n, &cap, m, len);
        return 0;
    }
    case KV_LIST: {
        struct qlist_it it;
        const char *m;
        size_t len;
        for (qlist_it_init(&it, kv_entry_obj(e), 0, 1); qlist_it_get(&it, &m, &len);
             qlist_it_next(&it))
            push_item(v, n, &cap, m, len);
        return 0;
    }
    default:
        return -1;
    }
}

/* The scores (or ALPHA values) the sort compares; -1 when one is not a number. */
static int sort_load(struct exec_ctx *ctx, const struct request *req, const struct sort_opts *o,
                     struct sort_item *v, size_t n)
{
    int bad = 0;
    for (size_t j = 0; j < n; j++) {
        const char *val = v[j].elem;
        size_t vlen = v[j].len;
        if (o->by >= 0) {
            val = by_pattern(ctx, req->argv[o->by], req->len[o->by], &v[j], &vlen);
            if (val == NULL)
                continue;
        }
        if (o->alpha) {
            if (o->by >= 0) {
                v[j].cmp = val;
                v[j].cmplen = vlen;
            }
            continue;
        }
        /* strtod needs a NUL after the bytes (a listpack hash's value has none) */
        char *copy = xmalloc(vlen + 1), *end;
        memcpy(copy, val, vlen);
        copy[vlen] = '\0';
        errno = 0;
        v[j].score = strtod(copy, &end);
        if (end != copy + vlen || errno == ERANGE || isnan(v[j].score))
            bad = 1;
        free(copy);
    }
    return bad ? -1 : 0;
}

/* STORE: the rows START..END (each row its GET values, or the element) as a list under
 * the destination, replacing what was there; an empty result deletes it. Replies the
 * stored length. */
static void sort_store(struct exec_ctx *ctx, const struct request *req,
                       const struct sort_opts *o, struct sort_item *v, long long start,
                       long long end, const struct qlist_fill *fill)
{
    struct qlist *q = qlist_new();
    for (long long j = start; j <= end; j++) {
        if (o->ngets == 0)
            qlist_push(q, QLIST_TAIL, v[j].elem, v[j].len, fill);
        for (int g = 0; g < o->ngets; g++) {
            size_t vlen = 0;
            const char *val = by_pattern(ctx, req->argv[o->gets[g]], req->len[o->gets[g]], &v[j], &vlen);
            qlist_push(q, QLIST_TAIL, val != NULL ? val : "", val != NULL ? vlen : 0, fill);
        }
    }
    const char *key = req->argv[o->store];
    size_t klen = req->len[o->store];
    long long len = (long long)qlist_len(q);
    if (len > 0) {
        kv_set_obj(ctx->kv, key, klen, KV_LIST, q, KV_NO_EXPIRE, ctx->apply_seq);
    } else {
        qlist_free(q);
        kv_delete(ctx->kv, key, klen, ctx->apply_seq);
    }
    reply_int(ctx->out, len);
}

static void sort_generic(struct exec_ctx *ctx, struct request *req, int readonly)
{
    struct sort_opts o = {.gets = NULL};
    struct sort_item *v = NULL;
    size_t n = 0;
    struct qlist_fill fill = {0, 0};

    /* SORT carries the fill limits (see the file comment); SORT_RO does not. */
    if (!readonly && command_take_limits(req, &fill.max_entries, &fill.max_bytes) != 0) {
        reply_error(ctx->out, "ERR malformed SORT: the fill limits are missing");
        goto done;
    }
    if (!readonly)
        req->argc--; /* the options end before the limits */
    int parsed = sort_parse(ctx, req, readonly, &o);
    if (!readonly)
        req->argc++;
    if (parsed != 0)
        goto done;
    struct kv_entry *e = kv_lookup(ctx->kv, req->argv[1], req->len[1], ctx->now_ms);
    if (sort_collect(e, &v, &n) != 0) {
        reply_wrongtype(ctx->out);
        goto done;
    }
    if (o.dontsort && o.store && e != NULL && e->type == KV_SET) {
        /* Redis sorts a set stored with BY nosort by its members, for a stable result */
        o.dontsort = 0;
        o.alpha = 1;
        o.by = -1;
    }
    long long len = (long long)n;
    long long start = o.start < 0 ? 0 : o.start > len ? len : o.start;
    long long count = o.count < -1 ? -1 : o.count > len ? len : o.count;
    long long end = count < 0 ? len - 1 : start + count - 1;
    if (start >= len) {
        start = len - 1;
        end = len - 2;
    }
    if (end >= len)
        end = len - 1;
    if (!o.dontsort) {
        if (sort_load(ctx, req, &o, v, n) != 0) {
            reply_error(ctx->out, "ERR One or more scores can't be converted into double");
            goto done;
        }
        struct sort_item *tmp = xmalloc((n ? n : 1) * sizeof *tmp);
        merge_sort(v, tmp, n, &o);
        free(tmp);
    }
    long long rows = end - start + 1;
    if (o.store) {
        sort_store(ctx, req, &o, v, start, end, &fill);
        goto done;
    }
    reply_array(ctx->out, o.ngets ? rows * o.ngets : rows);
    for (long long j = start; j <= end; j++) {
        if (o.ngets == 0)
            reply_bulk(ctx->out, v[j].elem, v[j].len);
        for (int g = 0; g < o.ngets; g++) {
            size_t vlen;
            const char *val = by_pattern(ctx, req->argv[o.gets[g]], req->len[o.gets[g]], &v[j], &vlen);
            if (val == NULL)
                reply_null(ctx->out);
            else
                reply_bulk(ctx->out, val, vlen);
        }
    }
done:
    for (size_t j = 0; j < n; j++)
        free(v[j].elem);
    free(v);
    free(o.gets);
}

/* SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
 * [STORE destination]: a write (see the file comment). */
void cmd_sort(struct exec_ctx *ctx, struct request *req)
{
    sort_generic(ctx, req, 0);
}

/* SORT_RO: SORT without STORE. */
void cmd_sort_ro(struct exec_ctx *ctx, struct request *req)
{
    sort_generic(ctx, req, 1);
}
