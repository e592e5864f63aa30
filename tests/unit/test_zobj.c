/* Unit tests of the sorted-set value type (zobj.c) and its row of value operations
 * (zobj_value.c): encodings and their one-way conversion at both thresholds, ZADD's flags,
 * ranks and ordered walks from ranks and ranges in both directions, range removal, digests
 * independent of encoding, copies, snapshot round trips and refusal of damaged ones, and a
 * randomized model test of both encodings against a sorted array. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "kv.h"
#include "util.h"
#include "value.h"
#include "zobj.h"

static const struct zobj_limits deflim = {ZOBJ_DEFAULT_ENTRIES, ZOBJ_DEFAULT_VALUE};

static struct prng P;

static void setup(void)
{
    prng_seed(&P, 1, 2);
}

TestSuite(zobj, .init = setup);

static int add(struct zobj *z, const char *m, double score, int flags, const struct zobj_limits *lim)
{
    int out;
    double ns;
    cr_assert(zobj_add(z, score, m, strlen(m), flags, &out, &ns, lim, &P));
    return out;
}

/* The members of Z in ascending order joined by spaces, as "m:score". */
static const char *dump(const struct zobj *z)
{
    static char buf[8192];
    struct zobj_it it;
    const char *m;
    size_t len, used = 0;
    double s;
    buf[0] = '\0';
    for (zobj_it_rank(&it, z, 0, 0); zobj_it_get(&it, &m, &len, &s); zobj_it_next(&it))
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%.*s:%g", used ? " " : "",
                                 (int)len, m, s);
    return buf;
}

/* Members are kept ordered by score, then bytes, in either encoding. */
Test(zobj, ordered_by_score_then_member)
{
    for (int enc = 0; enc < 2; enc++) {
        struct zobj *z = enc ? zobj_new_skiplist() : zobj_new(&deflim, 1);
        cr_assert_eq(z->enc, enc ? ZOBJ_SKIPLIST : ZOBJ_LISTPACK);
        cr_assert_eq(add(z, "b", 2, 0, &deflim), ZADD_OUT_ADDED);
        add(z, "a", 2, 0, &deflim);
        add(z, "c", 1, 0, &deflim);
        add(z, "ab", 2, 0, &deflim);
        cr_assert_str_eq(dump(z), "c:1 a:2 ab:2 b:2");
        cr_assert_eq(zobj_rank(z, "ab", 2, 0), 2);
        cr_assert_eq(zobj_rank(z, "ab", 2, 1), 1);
        cr_assert_eq(zobj_rank(z, "zz", 2, 0), -1);
        cr_assert_eq(add(z, "c", 5, 0, &deflim), ZADD_OUT_UPDATED);
        cr_assert_str_eq(dump(z), "a:2 ab:2 b:2 c:5");
        cr_assert_eq(add(z, "c", 5, 0, &deflim), 0); /* same score: neither */
        cr_assert_eq(zobj_remove(z, "a", 1), 1);
        cr_assert_eq(zobj_remove(z, "a", 1), 0);
        cr_assert_eq(zobj_len(z), 3);
        zobj_free(z);
    }
}

/* NX, XX, GT, LT and INCR follow zsetAdd, NaN included. */
Test(zobj, add_flags)
{
    for (int enc = 0; enc < 2; enc++) {
        struct zobj *z = enc ? zobj_new_skiplist() : zobj_new(&deflim, 1);
        int out;
        double ns = 0;
        cr_assert_eq(add(z, "a", 1, ZADD_IN_XX, &deflim), ZADD_OUT_NOP);
        cr_assert_eq(zobj_len(z), 0);
        add(z, "a", 1, 0, &deflim);
        cr_assert_eq(add(z, "a", 9, ZADD_IN_NX, &deflim), ZADD_OUT_NOP);
        cr_assert_eq(add(z, "a", 0, ZADD_IN_GT, &deflim), ZADD_OUT_NOP);
        cr_assert_eq(add(z, "a", 3, ZADD_IN_GT, &deflim), ZADD_OUT_UPDATED);
        cr_assert_eq(add(z, "a", 4, ZADD_IN_LT, &deflim), ZADD_OUT_NOP);
        cr_assert_eq(add(z, "a", 2, ZADD_IN_LT | ZADD_IN_XX, &deflim), ZADD_OUT_UPDATED);
        cr_assert(zobj_add(z, 2.5, "a", 1, ZADD_IN_INCR, &out, &ns, &deflim, &P));
        cr_assert_eq(ns, 4.5);
        cr_assert(zobj_add(z, INFINITY, "a", 1, ZADD_IN_INCR, &out, &ns, &deflim, &P));
        cr_assert(!zobj_add(z, -INFINITY, "a", 1, ZADD_IN_INCR, &out, &ns, &deflim, &P));
        cr_assert_eq(out, ZADD_OUT_NAN);
        cr_assert(!zobj_add(z, NAN, "b", 1, 0, &out, &ns, &deflim, &P));
        double s;
        cr_assert_eq(zobj_score(z, "a", 1, &s), 0);
        cr_assert(isinf(s) && s > 0);
        cr_assert_eq(zobj_score(z, "b", 1, &s), -1);
        zobj_free(z);
    }
}

/* A listpack converts past the entries limit and for a long member, never back. */
Test(zobj, converts_one_way)
{
    struct zobj_limits lim = {3, 4};
    struct zobj *z = zobj_new(&lim, 1);
    add(z, "a", 1, 0, &lim);
    add(z, "b", 2, 0, &lim);
    add(z, "c", 3, 0, &lim);
    cr_assert_str_eq(zobj_encoding_name(z), "listpack");
    add(z, "d", 4, 0, &lim);
    cr_assert_str_eq(zobj_encoding_name(z), "skiplist");
    cr_assert_str_eq(dump(z), "a:1 b:2 c:3 d:4");
    zobj_remove(z, "a", 1);
    zobj_remove(z, "b", 1);
    cr_assert_str_eq(zobj_encoding_name(z), "skiplist");
    zobj_free(z);

    z = zobj_new(&lim, 1);
    add(z, "abcd", 1, 0, &lim);
    cr_assert_str_eq(zobj_encoding_name(z), "listpack");
    add(z, "abcde", 1, 0, &lim);
    cr_assert_str_eq(zobj_encoding_name(z), "skiplist");
    zobj_free(z);

    struct zobj *a = zobj_new(&lim, 5), *b = zobj_new(&(struct zobj_limits){0, 64}, 1);
    cr_assert_eq(a->enc, ZOBJ_SKIPLIST);
    cr_assert_eq(b->enc, ZOBJ_SKIPLIST);
    zobj_free(a);
    zobj_free(b);
}

/* A store's skiplist result shrinks to a listpack only when both limits allow. */
Test(zobj, shrink_if_small)
{
    struct zobj_limits lim = {2, 3};
    struct zobj *z = zobj_new_skiplist();
    add(z, "b", 2, 0, &deflim);
    add(z, "a", 1, 0, &deflim);
    zobj_shrink_if_small(z, &lim, 4);
    cr_assert_eq(z->enc, ZOBJ_SKIPLIST);
    zobj_shrink_if_small(z, &lim, 1);
    cr_assert_eq(z->enc, ZOBJ_LISTPACK);
    cr_assert_str_eq(dump(z), "a:1 b:2");
    zobj_free(z);
    z = zobj_new_skiplist();
    for (int i = 0; i < 3; i++)
        add(z, (const char[]){(char)('a' + i), 0}, i, 0, &deflim);
    zobj_shrink_if_small(z, &lim, 1);
    cr_assert_eq(z->enc, ZOBJ_SKIPLIST);
    zobj_free(z);
}

/* Walks start at a rank or at a range's first member in their direction. */
Test(zobj, walks_from_ranks_and_ranges)
{
    for (int enc = 0; enc < 2; enc++) {
        struct zobj *z = enc ? zobj_new_skiplist() : zobj_new(&deflim, 1);
        const char *names[] = {"a", "b", "c", "d", "e"};
        for (int i = 0; i < 5; i++)
            add(z, names[i], i, 0, &deflim);
        struct zobj_it it;
        const char *m;
        size_t len;
        double s;
        zobj_it_rank(&it, z, 1, 1);
        cr_assert(zobj_it_get(&it, &m, &len, &s));
        cr_assert_eq(*m, 'd');
        zobj_it_next(&it);
        cr_assert(zobj_it_get(&it, &m, &len, &s));
        cr_assert_eq(*m, 'c');
        zobj_it_rank(&it, z, 5, 0);
        cr_assert(!zobj_it_get(&it, &m, &len, &s));
        struct zsl_range r = {1, 3, 1, 0}; /* (1 .. 3 */
        zobj_it_score(&it, z, &r, 0);
        cr_assert(zobj_it_get(&it, &m, &len, &s) && *m == 'c');
        zobj_it_score(&it, z, &r, 1);
        cr_assert(zobj_it_get(&it, &m, &len, &s) && *m == 'd');
        zobj_it_next(&it);
        zobj_it_next(&it);
        cr_assert(zobj_it_get(&it, &m, &len, &s) && *m == 'b'); /* the caller checks the end */
        struct zsl_lex_range lr;
        cr_assert_eq(zset_parse_lex_range("(a", 2, "[c", 2, &lr), 0);
        zobj_it_lex(&it, z, &lr, 1);
        cr_assert(zobj_it_get(&it, &m, &len, &s) && *m == 'c');
        zobj_free(z);
    }
}

/* Range removals by score, lex and rank agree across encodings. */
Test(zobj, remove_ranges)
{
    for (int enc = 0; enc < 2; enc++) {
        struct zobj *z = enc ? zobj_new_skiplist() : zobj_new(&deflim, 1);
        const char *names[] = {"a", "b", "c", "d", "e", "f"};
        for (int i = 0; i < 6; i++)
            add(z, names[i], i, 0, &deflim);
        struct zsl_range r = {1, 2, 0, 0};
        cr_assert_eq(zobj_remove_range_by_score(z, &r), 2);
        cr_assert_str_eq(dump(z), "a:0 d:3 e:4 f:5");
        cr_assert_eq(zobj_remove_range_by_rank(z, 1, 2), 2);
        cr_assert_str_eq(dump(z), "a:0 f:5");
        struct zsl_lex_range lr;
        cr_assert_eq(zset_parse_lex_range("-", 1, "[a", 2, &lr), 0);
        cr_assert_eq(zobj_remove_range_by_lex(z, &lr), 1);
        cr_assert_str_eq(dump(z), "f:5");
        zobj_free(z);
    }
}

/* The digest depends on content only; copies keep encoding and content. */
Test(zobj, digest_and_dup)
{
    struct zobj *a = zobj_new(&deflim, 1), *b = zobj_new_skiplist();
    add(a, "x", 1.5, 0, &deflim);
    add(a, "y", -0.25, 0, &deflim);
    add(b, "y", -0.25, 0, &deflim);
    add(b, "x", 1.5, 0, &deflim);
    cr_assert_eq(zobj_digest(a, 7), zobj_digest(b, 7));
    cr_assert_neq(zobj_digest(a, 7), zobj_digest(a, 8));
    struct zobj *c = zobj_dup(b), *d = zobj_dup(a);
    cr_assert_eq(c->enc, ZOBJ_SKIPLIST);
    cr_assert_eq(d->enc, ZOBJ_LISTPACK);
    cr_assert_str_eq(dump(c), "y:-0.25 x:1.5");
    add(c, "x", 2, 0, &deflim);
    cr_assert_neq(zobj_digest(c, 7), zobj_digest(b, 7));
    cr_assert_eq(zobj_digest(d, 7), zobj_digest(a, 7));
    zobj_free(a);
    zobj_free(b);
    zobj_free(c);
    zobj_free(d);
}

static struct zobj *round_trip(struct zobj *z, size_t cut)
{
    const struct value_ops *ops = value_ops(KV_ZSET);
    struct buf b;
    struct value_snap w = {&b, NULL};
    struct codec_reader r;
    buf_init(&b);
    ops->snap_write(&w, z);
    codec_reader_init(&r, b.data, cut == 0 ? b.len : cut);
    struct zobj *out = ops->snap_read(&r);
    cr_assert_eq(out == NULL, r.bad != 0);
    buf_close(&b);
    return out;
}

/* Both encodings survive a snapshot: same encoding, order, and dict layout (ZSCAN order). */
Test(zobj, snapshot_round_trip)
{
    cr_assert_str_eq(value_ops(KV_ZSET)->type_name, "zset");
    struct zobj *small = zobj_new(&deflim, 1), *big = zobj_new_skiplist();
    add(small, "b", 2, 0, &deflim);
    add(small, "a", 2, 0, &deflim);
    char m[16];
    for (int i = 0; i < 300; i++) {
        snprintf(m, sizeof m, "m%d", i);
        add(big, m, i % 7, 0, &deflim);
    }
    for (int i = 0; i < 250; i++) {
        snprintf(m, sizeof m, "m%d", i);
        zobj_remove(big, m, strlen(m));
    }
    struct zobj *s2 = round_trip(small, 0), *b2 = round_trip(big, 0);
    cr_assert_not_null(s2);
    cr_assert_not_null(b2);
    cr_assert_eq(s2->enc, ZOBJ_LISTPACK);
    cr_assert_eq(b2->enc, ZOBJ_SKIPLIST);
    cr_assert_str_eq(dump(s2), "a:2 b:2");
    static char before[8192];
    strcpy(before, dump(big));
    cr_assert_str_eq(dump(b2), before);
    struct dict_iter i1, i2;
    struct dict_entry *e1, *e2;
    dict_iter_init(&i1, big->zs->dict);
    dict_iter_init(&i2, b2->zs->dict);
    do {
        e1 = dict_iter_next(&i1);
        e2 = dict_iter_next(&i2);
        cr_assert_eq(e1 == NULL, e2 == NULL);
        if (e1)
            cr_assert(e1->klen == e2->klen && memcmp(e1->key, e2->key, e1->klen) == 0);
    } while (e1);
    dict_iter_close(&i1);
    dict_iter_close(&i2);
    cr_assert_eq(zobj_digest(b2, 1), zobj_digest(big, 1));
    cr_assert_null(round_trip(big, 40)); /* cut short */
    zobj_free(s2);
    zobj_free(b2);
    zobj_free(small);
    zobj_free(big);
}

/* A listpack out of order, a NaN score or an empty value is refused. */
Test(zobj, damaged_snapshot_refused)
{
    const struct value_ops *ops = value_ops(KV_ZSET);
    struct buf b;
    struct codec_reader r;
    double scores[][2] = {{2, 1}, {1, NAN}};
    for (int k = 0; k < 2; k++) {
        buf_init(&b);
        value_put_u64(&b, ZOBJ_LISTPACK);
        value_put_u64(&b, 2);
        for (int i = 0; i < 2; i++) {
            uint64_t bits;
            memcpy(&bits, &scores[k][i], 8);
            value_put_str(&b, i ? "b" : "a", 1);
            value_put_u64(&b, bits);
        }
        codec_reader_init(&r, b.data, b.len);
        cr_assert_null(ops->snap_read(&r));
        cr_assert(r.bad);
        buf_close(&b);
    }
    buf_init(&b);
    value_put_u64(&b, ZOBJ_LISTPACK);
    value_put_u64(&b, 0);
    codec_reader_init(&r, b.data, b.len);
    cr_assert_null(ops->snap_read(&r));
    buf_close(&b);
}

/* Thousands of random operations on both encodings agree with a plain sorted model. */
Test(zobj, model_random)
{
    enum { N = 60 };
    double model[N];
    int present[N] = {0};
    struct zobj_limits lim = {40, 64};
    struct zobj *z = zobj_new(&lim, 3), *s = zobj_new_skiplist();
    struct prng r;
    prng_seed(&r, 42, 0);
    char m[8];
    for (int step = 0; step < 5000; step++) {
        int k = (int)prng_below(&r, N), op = (int)prng_below(&r, 4);
        snprintf(m, sizeof m, "k%02d", k);
        if (op < 3) {
            double sc = (double)prng_below(&r, 10) - 5;
            add(z, m, sc, 0, &lim);
            add(s, m, sc, 0, &lim);
            model[k] = sc;
            present[k] = 1;
        } else {
            cr_assert_eq(zobj_remove(z, m, 3), present[k]);
            cr_assert_eq(zobj_remove(s, m, 3), present[k]);
            present[k] = 0;
        }
        if (step % 50 == 0) {
            /* model order: score, then name (names sort as their index) */
            long rank = 0;
            for (int i = 0; i < N; i++)
                if (present[i] && (model[i] < model[k] || (model[i] == model[k] && i < k)))
                    rank++;
            cr_assert_eq(zobj_rank(z, m, 3, 0), present[k] ? rank : -1);
            cr_assert_eq(zobj_rank(s, m, 3, 0), present[k] ? rank : -1);
            static char a[8192];
            strcpy(a, dump(z));
            cr_assert_str_eq(a, dump(s));
        }
    }
    size_t n = 0;
    for (int i = 0; i < N; i++)
        n += (size_t)present[i];
    cr_assert_eq(zobj_len(z), n);
    cr_assert_eq(zobj_digest(z, 3), zobj_digest(s, 3));
    zobj_free(z);
    zobj_free(s);
}
