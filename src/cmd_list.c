/* List commands (Redis 7.0's t_list.c semantics): the pushes, the pops (with a count),
 * LMPOP, LMOVE and RPOPLPUSH, the index commands (LINDEX, LSET, LINSERT, LRANGE, LTRIM,
 * LREM, LPOS) and LLEN. Writes run in apply and depend only on the request and CTX: the
 * writes that can add elements (the pushes, LINSERT, LMOVE, RPOPLPUSH) carry the node
 * fill limits of list-max-listpack-size, appended by their prepare step as one last
 * argument "ENTRIES:BYTES" (qlist_fill_of) and always taken off by the handler, so every
 * node cuts the same nodes. An emptied list deletes its key. The blocking variants map onto
 * these handlers: BLMOVE onto LMOVE (which needs prep_list_move's fill), BLPOP onto LPOP,
 * BLMPOP onto LMPOP. */
#include "blocking.h"
#include "cmd_zset.h" /* cmd_zset_arg_long_range: Redis's getRangeLongFromObjectOrReply */
#include "command.h"
#include "kv.h"
#include "notify.h"
#include "qlist.h"
#include "resp.h"
#include "util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* The live list under argument I of REQ in *Q (NULL when absent); WRITE looks it up as a
 * write (an expired key is deleted first). Returns 0, or -1 after WRONGTYPE. */
static int list_at(struct exec_ctx *ctx, const struct request *req, int i, int write,
                   struct qlist **q)
{
    void *obj;
    int rc = command_obj_at(ctx, req, i, write, KV_LIST, &obj);
    *q = obj;
    return rc;
}

/* A new empty list stored under argument I. */
static struct qlist *list_create(struct exec_ctx *ctx, const struct request *req, int i)
{
    struct qlist *q = qlist_new();
    kv_set_obj(ctx->kv, req->argv[i], req->len[i], KV_LIST, q, KV_NO_EXPIRE, ctx->apply_seq);
    return q;
}

/* After a change of the list under argument I: signal EVENT (Redis's keyspace event of the
 * command), then record the change, or delete the key when empty (and signal "del"). */
static void changed(struct exec_ctx *ctx, const struct request *req, int i, struct qlist *q,
                    const char *event)
{
    notify_list(ctx, event, req->argv[i], req->len[i]);
    if (qlist_len(q) == 0) {
        kv_delete(ctx->kv, req->argv[i], req->len[i], ctx->apply_seq);
        notify_generic(ctx, "del", req->argv[i], req->len[i]);
        return;
    }
    struct kv_entry *e = kv_find(ctx->kv, req->argv[i], req->len[i]);
    if (e != NULL)
        kv_touch(e, ctx->apply_seq);
}

static const char *push_event(enum qlist_where where)
{
    return where == QLIST_HEAD ? "lpush" : "rpush";
}

static const char *pop_event(enum qlist_where where)
{
    return where == QLIST_HEAD ? "lpop" : "rpop";
}

static void reply_name_arity(struct buf *out, const struct request *req)
{
    char name[32];
    request_name_lower(req, name, sizeof name);
    reply_wrong_arity(out, name);
}

/* The fill limits a prepared write carries (see the file comment) in *FILL and its argc
 * without them in *ARGC; -1 after an error when REQ has no such last argument, or when its
 * own arguments are fewer than MIN_ARGC (or not exactly MIN_ARGC when EXACT). */
static int take_fill(struct exec_ctx *ctx, const struct request *req, int min_argc, int exact,
                     int *argc, struct qlist_fill *fill)
{
    if (command_take_limits(req, &fill->max_entries, &fill->max_bytes) != 0) {
        reply_error(ctx->out, "ERR malformed list write: the fill limits are missing");
        return -1;
    }
    *argc = req->argc - 1;
    if (*argc < min_argc || (exact && *argc != min_argc)) {
        reply_name_arity(ctx->out, req);
        return -1;
    }
    return 0;
}

/* LEFT or RIGHT at argument I into *WHERE; -1 after a syntax error. */
static int where_arg(struct exec_ctx *ctx, const struct request *req, int i,
                     enum qlist_where *where)
{
    if (request_arg_is(req, i, "left"))
        *where = QLIST_HEAD;
    else if (request_arg_is(req, i, "right"))
        *where = QLIST_TAIL;
    else {
        reply_syntax_error(ctx->out);
        return -1;
    }
    return 0;
}

/* Argument I as a long into *V, Redis's getLongFromObjectOrReply. */
static int long_arg(struct exec_ctx *ctx, const struct request *req, int i, long *v)
{
    long long ll;
    if (command_arg_ll(req, i, &ll, ctx->out) != 0)
        return -1;
    *v = (long)ll;
    return 0;
}

/* Reply the elements START..END (already clamped, START <= END) head to tail, or tail to
 * head when REVERSE (START then counts from the tail). */
static void reply_range(struct buf *out, struct qlist *q, long start, long end, int reverse)
{
    struct qlist_it it;
    long n = end - start + 1;
    const char *s;
    size_t len;
    reply_array(out, n);
    qlist_it_init(&it, q, reverse ? -1 - start : start, !reverse);
    while (n-- > 0 && qlist_it_get(&it, &s, &len)) {
        reply_bulk(out, s, len);
        qlist_it_next(&it);
    }
}

/* Pop COUNT elements (at most the length) at WHERE, replying them as an array. */
static void pop_count_reply(struct buf *out, struct qlist *q, enum qlist_where where, long count)
{
    long n = count > (long)qlist_len(q) ? (long)qlist_len(q) : count;
    reply_array(out, n);
    while (n-- > 0) {
        size_t len;
        char *s = qlist_pop(q, where, &len);
        reply_bulk(out, s, len);
        free(s);
    }
}

/* ---- prepare ---- */

static void push_fill(struct request *req)
{
    struct qlist_fill f = qlist_fill_of(qlist_fill_configured);
    command_push_limits(req, f.max_entries, f.max_bytes);
}

/* LPUSH, RPUSH, LPUSHX, RPUSHX, SORT: the table's arity suffices; add the fill. */
int prep_list_push(struct request *req, int64_t now_ms, struct buf *out)
{
    (void)now_ms;
    (void)out;
    push_fill(req);
    return 0;
}

/* The fixed-arity pushes, whose table arity is negative so that the fill fits: LINSERT
 * (5), LMOVE (5), RPOPLPUSH (3). */
static int prep_exact(struct request *req, int argc, struct buf *out)
{
    if (req->argc != argc) {
        reply_name_arity(out, req);
        return -1;
    }
    push_fill(req);
    return 0;
}

int prep_linsert(struct request *req, int64_t now_ms, struct buf *out)
{
    (void)now_ms;
    return prep_exact(req, 5, out);
}

int prep_lmove(struct request *req, int64_t now_ms, struct buf *out)
{
    (void)now_ms;
    return prep_exact(req, 5, out);
}

int prep_rpoplpush(struct request *req, int64_t now_ms, struct buf *out)
{
    (void)now_ms;
    return prep_exact(req, 3, out);
}

/* ---- pushes and pops ---- */

static void push_generic(struct exec_ctx *ctx, struct request *req, enum qlist_where where,
                         int xx)
{
    struct qlist_fill fill;
    struct qlist *q;
    int argc;

    if (take_fill(ctx, req, 3, 0, &argc, &fill) != 0 || list_at(ctx, req, 1, 1, &q) != 0)
        return;
    if (q == NULL) {
        if (xx) {
            reply_int(ctx->out, 0);
            return;
        }
        q = list_create(ctx, req, 1);
    }
    for (int i = 2; i < argc; i++)
        qlist_push(q, where, req->argv[i], req->len[i], &fill);
    changed(ctx, req, 1, q, push_event(where));
    reply_int(ctx->out, (long long)qlist_len(q));
}

void cmd_lpush(struct exec_ctx *ctx, struct request *req) { push_generic(ctx, req, QLIST_HEAD, 0); }
void cmd_rpush(struct exec_ctx *ctx, struct request *req) { push_generic(ctx, req, QLIST_TAIL, 0); }
void cmd_lpushx(struct exec_ctx *ctx, struct request *req) { push_generic(ctx, req, QLIST_HEAD, 1); }
void cmd_rpushx(struct exec_ctx *ctx, struct request *req) { push_generic(ctx, req, QLIST_TAIL, 1); }

/* LPOP/RPOP key [count]. */
static void pop_generic(struct exec_ctx *ctx, struct request *req, enum qlist_where where)
{
    long long count = 0;
    int hascount = req->argc == 3;
    struct qlist *q;

    if (req->argc > 3) {
        reply_name_arity(ctx->out, req);
        return;
    }
    if (hascount) { /* Redis answers a non-integer count with the range error too */
        if (util_parse_ll(req->argv[2], req->len[2], &count) != 0 || count < 0 ||
            count > LONG_MAX) {
            reply_error(ctx->out, "ERR value is out of range, must be positive");
            return;
        }
    }
    if (list_at(ctx, req, 1, 1, &q) != 0)
        return;
    if (q == NULL) {
        if (hascount)
            reply_null_array(ctx->out);
        else
            reply_null(ctx->out);
        return;
    }
    if (hascount) {
        if (count == 0) {
            reply_array(ctx->out, 0);
            return;
        }
        pop_count_reply(ctx->out, q, where, (long)count);
    } else {
        size_t len;
        char *s = qlist_pop(q, where, &len);
        reply_bulk(ctx->out, s, len);
        free(s);
    }
    changed(ctx, req, 1, q, pop_event(where));
}

void cmd_lpop(struct exec_ctx *ctx, struct request *req) { pop_generic(ctx, req, QLIST_HEAD); }
void cmd_rpop(struct exec_ctx *ctx, struct request *req) { pop_generic(ctx, req, QLIST_TAIL); }

/* The arguments of LMPOP (NUMKEYS_ARG 1) and BLMPOP (2): numkeys key [key ...] LEFT|RIGHT
 * [COUNT count], in Redis's order of checks: *WHERE_IDX is LEFT|RIGHT's index. Returns 0,
 * or -1 after the error reply. */
static int lmpop_parse(struct exec_ctx *ctx, const struct request *req, int numkeys_arg,
                       int *where_idx, enum qlist_where *where, long *count)
{
    long numkeys;
    *count = -1;
    if (cmd_zset_arg_long_range(req, numkeys_arg, 1, LONG_MAX, &numkeys,
                                "ERR numkeys should be greater than 0", ctx->out) != 0)
        return -1;
    if (numkeys >= req->argc - numkeys_arg - 1) {
        reply_syntax_error(ctx->out);
        return -1;
    }
    *where_idx = numkeys_arg + 1 + (int)numkeys;
    if (where_arg(ctx, req, *where_idx, where) != 0)
        return -1;
    for (int j = *where_idx + 1; j < req->argc; j++) {
        if (*count == -1 && request_arg_is(req, j, "count") && j + 1 < req->argc) {
            if (cmd_zset_arg_long_range(req, ++j, 1, LONG_MAX, count,
                                        "ERR count should be greater than 0", ctx->out) != 0)
                return -1;
        } else {
            reply_syntax_error(ctx->out);
            return -1;
        }
    }
    if (*count == -1)
        *count = 1;
    return 0;
}

/* Pop COUNT at WHERE from the first non-empty list of the keys REQ->argv[FIRST .. END):
 * [key, [elements]]; none: a nil array. */
static void lmpop_exec(struct exec_ctx *ctx, struct request *req, int first, int end,
                       enum qlist_where where, long count)
{
    for (int k = first; k < end; k++) {
        struct qlist *q;
        if (list_at(ctx, req, k, 1, &q) != 0)
            return;
        if (q == NULL)
            continue;
        reply_array(ctx->out, 2);
        reply_bulk(ctx->out, req->argv[k], req->len[k]);
        pop_count_reply(ctx->out, q, where, count);
        changed(ctx, req, k, q, pop_event(where));
        return;
    }
    reply_null_array(ctx->out);
}

/* LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: the first non-empty list of the
 * keys, in order, answers [key, [elements]]; none: a nil array. */
void cmd_lmpop(struct exec_ctx *ctx, struct request *req)
{
    long count;
    int where_idx;
    enum qlist_where where;
    if (lmpop_parse(ctx, req, 1, &where_idx, &where, &count) != 0)
        return;
    lmpop_exec(ctx, req, 2, where_idx, where, count);
}

/* LMOVE source destination LEFT|RIGHT LEFT|RIGHT, and RPOPLPUSH (RIGHT LEFT). */
static void move_generic(struct exec_ctx *ctx, struct request *req, enum qlist_where from,
                         enum qlist_where to, const struct qlist_fill *fill)
{
    struct qlist *src, *dst;
    if (list_at(ctx, req, 1, 1, &src) != 0)
        return;
    if (src == NULL) {
        reply_null(ctx->out);
        return;
    }
    if (list_at(ctx, req, 2, 1, &dst) != 0)
        return;
    size_t len;
    char *s = qlist_pop(src, from, &len);
    if (dst == NULL)
        dst = list_create(ctx, req, 2);
    qlist_push(dst, to, s, len, fill);
    reply_bulk(ctx->out, s, len);
    free(s);
    changed(ctx, req, 2, dst, push_event(to));
    if (dst != src)
        changed(ctx, req, 1, src, pop_event(from));
    else
        notify_list(ctx, pop_event(from), req->argv[1], req->len[1]);
}

void cmd_lmove(struct exec_ctx *ctx, struct request *req)
{
    struct qlist_fill fill;
    enum qlist_where from, to;
    int argc;
    if (take_fill(ctx, req, 5, 1, &argc, &fill) != 0 || where_arg(ctx, req, 3, &from) != 0 ||
        where_arg(ctx, req, 4, &to) != 0)
        return;
    move_generic(ctx, req, from, to, &fill);
}

void cmd_rpoplpush(struct exec_ctx *ctx, struct request *req)
{
    struct qlist_fill fill;
    int argc;
    if (take_fill(ctx, req, 3, 1, &argc, &fill) != 0)
        return;
    move_generic(ctx, req, QLIST_TAIL, QLIST_HEAD, &fill);
}

/* ---- reads ---- */

void cmd_llen(struct exec_ctx *ctx, struct request *req)
{
    struct qlist *q;
    if (list_at(ctx, req, 1, 0, &q) == 0)
        reply_int(ctx->out, q != NULL ? (long long)qlist_len(q) : 0);
}

/* Clamp START..END (negative from the end) to a list of LLEN as Redis does; 0 when the
 * range is empty. */
static int clamp_range(long llen, long *start, long *end)
{
    if (*start < 0)
        *start += llen;
    if (*end < 0)
        *end += llen;
    if (*start < 0)
        *start = 0;
    if (*start > *end || *start >= llen)
        return 0;
    if (*end >= llen)
        *end = llen - 1;
    return 1;
}

void cmd_lrange(struct exec_ctx *ctx, struct request *req)
{
    long start, end;
    struct qlist *q;
    if (long_arg(ctx, req, 2, &start) != 0 || long_arg(ctx, req, 3, &end) != 0 ||
        list_at(ctx, req, 1, 0, &q) != 0)
        return;
    if (q == NULL || !clamp_range((long)qlist_len(q), &start, &end)) {
        reply_array(ctx->out, 0);
        return;
    }
    reply_range(ctx->out, q, start, end, 0);
}

void cmd_lindex(struct exec_ctx *ctx, struct request *req)
{
    struct qlist *q;
    struct qlist_it it;
    long index;
    const char *s;
    size_t len;
    if (list_at(ctx, req, 1, 0, &q) != 0)
        return;
    if (q == NULL) {
        reply_null(ctx->out);
        return;
    }
    if (long_arg(ctx, req, 2, &index) != 0)
        return;
    if (qlist_it_init(&it, q, index, 1) && qlist_it_get(&it, &s, &len))
        reply_bulk(ctx->out, s, len);
    else
        reply_null(ctx->out);
}

/* LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]. */
void cmd_lpos(struct exec_ctx *ctx, struct request *req)
{
    long rank = 1, count = -1, maxlen = 0;
    struct qlist *q;

    for (int j = 3; j < req->argc; j++) {
        int more = j + 1 < req->argc;
        if (request_arg_is(req, j, "rank") && more) {
            if (long_arg(ctx, req, ++j, &rank) != 0)
                return;
            if (rank == 0) {
                reply_error(ctx->out, "ERR RANK can't be zero: use 1 to start from the first "
                                      "match, 2 from the second ... or use negative to start "
                                      "from the end of the list");
                return;
            }
        } else if (request_arg_is(req, j, "count") && more) {
            if (cmd_zset_arg_long_range(req, ++j, 0, LONG_MAX, &count,
                                        "ERR COUNT can't be negative", ctx->out) != 0)
                return;
        } else if (request_arg_is(req, j, "maxlen") && more) {
            if (cmd_zset_arg_long_range(req, ++j, 0, LONG_MAX, &maxlen,
                                        "ERR MAXLEN can't be negative", ctx->out) != 0)
                return;
        } else {
            reply_syntax_error(ctx->out);
            return;
        }
    }
    int forward = rank > 0;
    unsigned long want = rank > 0 ? (unsigned long)rank : 0UL - (unsigned long)rank;
    if (list_at(ctx, req, 1, 0, &q) != 0)
        return;
    if (q == NULL) {
        if (count != -1)
            reply_array(ctx->out, 0);
        else
            reply_null(ctx->out);
        return;
    }
    long llen = (long)qlist_len(q), index = 0, found = -1;
    unsigned long matches = 0;
    long *hits = NULL;
    size_t nhits = 0, cap = 0;
    struct qlist_it it;
    const char *s;
    size_t len;
    qlist_it_init(&it, q, forward ? 0 : -1, forward);
    for (; qlist_it_get(&it, &s, &len) && (maxlen == 0 || index < maxlen);
         qlist_it_next(&it), index++) {
        if (len != req->len[2] || memcmp(s, req->argv[2], len) != 0)
            continue;
        if (++matches < want)
            continue;
        found = forward ? index : llen - index - 1;
        if (count == -1)
            break;
        if (nhits == cap) {
            cap = cap ? cap * 2 : 16;
            hits = xrealloc(hits, cap * sizeof *hits);
        }
        hits[nhits++] = found;
        if (count != 0 && (long)nhits >= count)
            break;
    }
    if (count == -1) {
        if (found >= 0)
            reply_int(ctx->out, found);
        else
            reply_null(ctx->out);
        return;
    }
    reply_array(ctx->out, (long long)nhits);
    for (size_t i = 0; i < nhits; i++)
        reply_int(ctx->out, hits[i]);
    free(hits);
}

/* ---- writes by index and value ---- */

void cmd_lset(struct exec_ctx *ctx, struct request *req)
{
    struct qlist *q;
    struct qlist_it it;
    long index;
    if (list_at(ctx, req, 1, 1, &q) != 0)
        return;
    if (q == NULL) {
        reply_error(ctx->out, "ERR no such key");
        return;
    }
    if (long_arg(ctx, req, 2, &index) != 0)
        return;
    if (!qlist_it_init(&it, q, index, 1)) {
        reply_error(ctx->out, "ERR index out of range");
        return;
    }
    qlist_it_replace(&it, req->argv[3], req->len[3]);
    changed(ctx, req, 1, q, "lset");
    reply_ok(ctx->out);
}

/* LINSERT key BEFORE|AFTER pivot element: the new length, -1 without the pivot, 0 without
 * the key. */
void cmd_linsert(struct exec_ctx *ctx, struct request *req)
{
    struct qlist_fill fill;
    struct qlist *q;
    struct qlist_it it;
    int argc, after;
    const char *s;
    size_t len;

    if (take_fill(ctx, req, 5, 1, &argc, &fill) != 0)
        return;
    if (request_arg_is(req, 2, "after"))
        after = 1;
    else if (request_arg_is(req, 2, "before"))
        after = 0;
    else {
        reply_syntax_error(ctx->out);
        return;
    }
    if (list_at(ctx, req, 1, 1, &q) != 0)
        return;
    if (q == NULL) {
        reply_int(ctx->out, 0);
        return;
    }
    for (qlist_it_init(&it, q, 0, 1); qlist_it_get(&it, &s, &len); qlist_it_next(&it)) {
        if (len == req->len[3] && memcmp(s, req->argv[3], len) == 0) {
            qlist_it_insert(&it, after, req->argv[4], req->len[4], &fill);
            changed(ctx, req, 1, q, "linsert");
            reply_int(ctx->out, (long long)qlist_len(q));
            return;
        }
    }
    reply_int(ctx->out, -1);
}

/* LREM key count element: COUNT > 0 from the head, < 0 from the tail, 0 all. */
void cmd_lrem(struct exec_ctx *ctx, struct request *req)
{
    long long toremove, removed = 0;
    struct qlist *q;
    struct qlist_it it;
    const char *s;
    size_t len;

    if (command_arg_ll(req, 2, &toremove, ctx->out) != 0 || list_at(ctx, req, 1, 1, &q) != 0)
        return;
    if (q == NULL) {
        reply_int(ctx->out, 0);
        return;
    }
    int forward = toremove >= 0;
    unsigned long long limit = forward ? (unsigned long long)toremove
                                       : 0ULL - (unsigned long long)toremove;
    qlist_it_init(&it, q, forward ? 0 : -1, forward);
    while (qlist_it_get(&it, &s, &len)) {
        if (len == req->len[3] && memcmp(s, req->argv[3], len) == 0) {
            qlist_it_delete(&it);
            if (++removed == (long long)limit && limit != 0)
                break;
        } else {
            qlist_it_next(&it);
        }
    }
    if (removed)
        changed(ctx, req, 1, q, "lrem");
    reply_int(ctx->out, removed);
}

void cmd_ltrim(struct exec_ctx *ctx, struct request *req)
{
    long start, end;
    struct qlist *q;
    if (long_arg(ctx, req, 2, &start) != 0 || long_arg(ctx, req, 3, &end) != 0 ||
        list_at(ctx, req, 1, 1, &q) != 0)
        return;
    if (q == NULL) {
        reply_ok(ctx->out);
        return;
    }
    long llen = (long)qlist_len(q), ltrim, rtrim;
    if (clamp_range(llen, &start, &end)) {
        ltrim = start;
        rtrim = llen - end - 1;
    } else {
        ltrim = llen;
        rtrim = 0;
    }
    qlist_delete_range(q, 0, (size_t)ltrim);
    if (rtrim > 0)
        qlist_delete_range(q, qlist_len(q) - (size_t)rtrim, (size_t)rtrim);
    changed(ctx, req, 1, q, "ltrim"); /* Redis signals the key even when nothing was trimmed */
    reply_ok(ctx->out);
}

/* ---- BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH: as applied, they never block ---- */

/* BLPOP/BRPOP key [key ...] timeout. */
int prep_blpop(struct request *req, int64_t now_ms, struct buf *out)
{
    return blocking_check_timeout_arg(req, req->argc - 1, now_ms, out);
}

/* BLPOP/BRPOP: [key, element] from the first non-empty list; a null array when every key is
 * empty (the leader then blocks the client: blocked.c; MULTI gets it as is). */
static void bpop_generic(struct exec_ctx *ctx, struct request *req, enum qlist_where where)
{
    if (prep_blpop(req, ctx->now_ms, ctx->out) != 0)
        return;
    for (int k = 1; k < req->argc - 1; k++) {
        struct qlist *q;
        if (list_at(ctx, req, k, 1, &q) != 0)
            return;
        if (q == NULL)
            continue;
        size_t len;
        char *s = qlist_pop(q, where, &len);
        reply_array(ctx->out, 2);
        reply_bulk(ctx->out, req->argv[k], req->len[k]);
        reply_bulk(ctx->out, s, len);
        free(s);
        changed(ctx, req, k, q, pop_event(where));
        return;
    }
    reply_null_array(ctx->out);
}

void cmd_blpop(struct exec_ctx *ctx, struct request *req) { bpop_generic(ctx, req, QLIST_HEAD); }
void cmd_brpop(struct exec_ctx *ctx, struct request *req) { bpop_generic(ctx, req, QLIST_TAIL); }

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout: the directions, then the timeout,
 * as Redis checks them; the fill goes last, as LMOVE's. */
int prep_blmove(struct request *req, int64_t now_ms, struct buf *out)
{
    if (req->argc != 6) {
        reply_name_arity(out, req);
        return -1;
    }
    for (int i = 3; i <= 4; i++)
        if (!request_arg_is(req, i, "left") && !request_arg_is(req, i, "right")) {
            reply_syntax_error(out);
            return -1;
        }
    if (blocking_check_timeout_arg(req, 5, now_ms, out) != 0)
        return -1;
    push_fill(req);
    return 0;
}

/* BRPOPLPUSH source destination timeout. */
int prep_brpoplpush(struct request *req, int64_t now_ms, struct buf *out)
{
    if (req->argc != 4) {
        reply_name_arity(out, req);
        return -1;
    }
    if (blocking_check_timeout_arg(req, 3, now_ms, out) != 0)
        return -1;
    push_fill(req);
    return 0;
}

/* An empty source answers a null bulk string, what the leader blocks on. */
void cmd_blmove(struct exec_ctx *ctx, struct request *req)
{
    struct qlist_fill fill;
    enum qlist_where from, to;
    int argc;
    if (take_fill(ctx, req, 6, 1, &argc, &fill) != 0 || where_arg(ctx, req, 3, &from) != 0 ||
        where_arg(ctx, req, 4, &to) != 0 ||
        blocking_check_timeout_arg(req, 5, ctx->now_ms, ctx->out) != 0)
        return;
    move_generic(ctx, req, from, to, &fill);
}

void cmd_brpoplpush(struct exec_ctx *ctx, struct request *req)
{
    struct qlist_fill fill;
    int argc;
    if (take_fill(ctx, req, 4, 1, &argc, &fill) != 0 ||
        blocking_check_timeout_arg(req, 3, ctx->now_ms, ctx->out) != 0)
        return;
    move_generic(ctx, req, QLIST_TAIL, QLIST_HEAD, &fill);
}

/* BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]: its other arguments are
 * checked before the timeout, as Redis does. */
int prep_blmpop(struct request *req, int64_t now_ms, struct buf *out)
{
    struct exec_ctx tmp = {.out = out};
    long count;
    int where_idx;
    enum qlist_where where;
    if (lmpop_parse(&tmp, req, 2, &where_idx, &where, &count) != 0)
        return -1;
    return blocking_check_timeout_arg(req, 1, now_ms, out);
}

void cmd_blmpop(struct exec_ctx *ctx, struct request *req)
{
    long count;
    int where_idx;
    enum qlist_where where;
    if (prep_blmpop(req, ctx->now_ms, ctx->out) != 0)
        return;
    lmpop_parse(ctx, req, 2, &where_idx, &where, &count);
    lmpop_exec(ctx, req, 3, where_idx, where, count);
}
