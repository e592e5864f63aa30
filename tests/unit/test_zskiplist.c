/* Unit tests for zskiplist.c: order by (score, member) with ties, ranks, score updates,
 * inclusive/exclusive and infinite score ranges, lex ranges with "-", "+", empty strings
 * and binary members, range deletions, determinism of the structure, lazy free, and a
 * randomized model test against a sorted array with a fixed seed. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zskiplist.h"
#include "zsl_member.h"

static struct prng rng;

static void setup(void)
{
    prng_seed(&rng, 12345, 0);
}

TestSuite(zskiplist, .init = setup);

#define INS(zsl, score, cstr) zsl_insert(zsl, score, zsl_member(cstr, strlen(cstr)), strlen(cstr), &rng)

static struct zsl_range range(double min, int minex, double max, int maxex)
{
    struct zsl_range r = {min, max, minex, maxex};
    return r;
}

static struct zsl_lex_end lex(const char *s, int ex)
{
    struct zsl_lex_end e = {ZSL_LEX_BYTES, ex, s, strlen(s)};
    if (strcmp(s, "-") == 0 && !ex)
        e.kind = ZSL_LEX_MIN, e.ex = 1;
    else if (strcmp(s, "+") == 0 && !ex)
        e.kind = ZSL_LEX_MAX, e.ex = 1;
    return e;
}

/* "-" and "+" (not exclusive) are the infinities; anything else is bytes. */
static struct zsl_lex_range lexr(const char *min, int minex, const char *max, int maxex)
{
    struct zsl_lex_range r = {lex(min, minex), lex(max, maxex)};
    return r;
}

static int node_is(const struct zsl_node *n, const char *cstr)
{
    return n && zsl_node_len(n) == strlen(cstr) && memcmp(n->ele, cstr, strlen(cstr)) == 0;
}

// An empty skiplist has no rank, no node by rank and nothing in any range.
Test(zskiplist, empty_list_has_nothing_in_range)
{
    struct zskiplist *zsl = zsl_new();
    struct zsl_range all = range(-INFINITY, 0, INFINITY, 0);
    struct zsl_lex_range lall = lexr("-", 0, "+", 0);
    cr_assert_eq(zsl->length, 0);
    cr_assert_eq(zsl_rank(zsl, 1, "a", 1), 0);
    cr_assert_null(zsl_by_rank(zsl, 1));
    cr_assert_null(zsl_by_rank(zsl, 0));
    cr_assert_null(zsl_first_in_range(zsl, &all));
    cr_assert_null(zsl_last_in_range(zsl, &all));
    cr_assert_null(zsl_first_in_lex_range(zsl, &lall));
    cr_assert_eq(zsl_delete(zsl, 1, "a", 1), 0);
    cr_assert_eq(zsl_delete_range_by_score(zsl, &all, NULL, NULL), 0);
    zsl_free(zsl);
    zsl_free(NULL);
}

// Nodes are ordered by score, equal scores by member bytes; backward links mirror it.
Test(zskiplist, equal_scores_are_ordered_by_member)
{
    struct zskiplist *zsl = zsl_new();
    INS(zsl, 2, "b");
    INS(zsl, 1, "z");
    INS(zsl, 2, "a");
    INS(zsl, 2, "ab");
    INS(zsl, -INFINITY, "m");
    INS(zsl, INFINITY, "c");
    const char *want[] = {"m", "z", "a", "ab", "b", "c"};
    const struct zsl_node *x = zsl->header->level[0].forward;
    for (int i = 0; i < 6; i++, x = x->level[0].forward)
        cr_assert(node_is(x, want[i]), "position %d", i);
    cr_assert_null(x);
    x = zsl->tail;
    for (int i = 5; i >= 0; i--, x = x->backward)
        cr_assert(node_is(x, want[i]), "backwards %d", i);
    cr_assert_null(x);
    zsl_free(zsl);
}

// Ranks are 1-based and by_rank inverts them; an unknown member or score has rank 0.
Test(zskiplist, rank_and_by_rank_invert_each_other)
{
    struct zskiplist *zsl = zsl_new();
    char k[16];
    char *keys[300];
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof(k), "m%03d", i);
        keys[i] = strdup(k);
        zsl_insert(zsl, i / 3, zsl_member(keys[i], 4), 4, &rng); /* ties of three */
    }
    for (int i = 0; i < 300; i++) {
        cr_assert_eq(zsl_rank(zsl, i / 3, keys[i], 4), (unsigned long)i + 1);
        cr_assert(node_is(zsl_by_rank(zsl, (unsigned long)i + 1), keys[i]));
    }
    cr_assert_eq(zsl_rank(zsl, 5, keys[0], 4), 0, "right member, wrong score");
    cr_assert_eq(zsl_rank(zsl, 0, "zzz", 3), 0);
    cr_assert_null(zsl_by_rank(zsl, 301));
    zsl_free(zsl);
    for (int i = 0; i < 300; i++)
        free(keys[i]);
}

// Deleting needs both score and member; ranks of the rest close up.
Test(zskiplist, delete_needs_score_and_member)
{
    struct zskiplist *zsl = zsl_new();
    INS(zsl, 1, "a");
    INS(zsl, 2, "b");
    INS(zsl, 3, "c");
    cr_assert_eq(zsl_delete(zsl, 1, "b", 1), 0);
    cr_assert_eq(zsl_delete(zsl, 2, "b", 1), 1);
    cr_assert_eq(zsl->length, 2);
    cr_assert_eq(zsl_rank(zsl, 3, "c", 1), 2);
    cr_assert(node_is(zsl->tail->backward, "a"));
    cr_assert_eq(zsl_delete(zsl, 3, "c", 1), 1);
    cr_assert(node_is(zsl->tail, "a"));
    zsl_free(zsl);
}

// A score update between the same neighbours keeps the node; one past a neighbour moves it.
Test(zskiplist, update_score_moves_only_when_order_changes)
{
    struct zskiplist *zsl = zsl_new();
    INS(zsl, 1, "a");
    struct zsl_node *b = INS(zsl, 2, "b");
    INS(zsl, 3, "c");
    cr_assert_eq(zsl_update_score(zsl, 2, zsl_member("b", 1), 1, 2.5, &rng), b, "updated in place");
    cr_assert_eq(b->score, 2.5);
    struct zsl_node *moved = zsl_update_score(zsl, 2.5, zsl_member("b", 1), 1, 10, &rng);
    cr_assert(node_is(moved, "b"));
    cr_assert_eq(zsl->tail, moved);
    cr_assert_eq(zsl_rank(zsl, 10, "b", 1), 3);
    moved = zsl_update_score(zsl, 10, zsl_member("b", 1), 1, 1, &rng); /* tie with "a": after it */
    cr_assert_eq(zsl_rank(zsl, 1, "b", 1), 2);
    zsl_free(zsl);
}

// Score ranges honour inclusive and exclusive ends and the infinities.
Test(zskiplist, score_ranges_inclusive_exclusive_and_infinite)
{
    struct zskiplist *zsl = zsl_new();
    INS(zsl, -INFINITY, "ninf");
    INS(zsl, 1, "a");
    INS(zsl, 2, "b");
    INS(zsl, 2, "c");
    INS(zsl, 3, "d");
    INS(zsl, INFINITY, "pinf");
    struct zsl_range r = range(2, 0, 3, 0);
    cr_assert(node_is(zsl_first_in_range(zsl, &r), "b"));
    cr_assert(node_is(zsl_last_in_range(zsl, &r), "d"));
    r = range(2, 1, 3, 1);
    cr_assert_null(zsl_first_in_range(zsl, &r), "(2 (3 holds nothing");
    r = range(1, 1, 3, 1);
    cr_assert(node_is(zsl_first_in_range(zsl, &r), "b"));
    cr_assert(node_is(zsl_last_in_range(zsl, &r), "c"));
    r = range(-INFINITY, 0, INFINITY, 0);
    cr_assert(node_is(zsl_first_in_range(zsl, &r), "ninf"));
    cr_assert(node_is(zsl_last_in_range(zsl, &r), "pinf"));
    r = range(-INFINITY, 1, INFINITY, 1);
    cr_assert(node_is(zsl_first_in_range(zsl, &r), "a"));
    cr_assert(node_is(zsl_last_in_range(zsl, &r), "d"));
    r = range(3, 0, 2, 0);
    cr_assert_null(zsl_first_in_range(zsl, &r), "min > max is empty");
    r = range(2, 1, 2, 0);
    cr_assert_null(zsl_last_in_range(zsl, &r), "(2 2 is empty");
    r = range(2.5, 0, 2.7, 0);
    cr_assert_null(zsl_first_in_range(zsl, &r), "a gap between scores");
    cr_assert_null(zsl_last_in_range(zsl, &r));
    cr_assert(zsl_score_in_range(2, &(struct zsl_range){2, 2, 0, 0}));
    zsl_free(zsl);
}

// Lex ranges: "-" and "+", inclusive and exclusive ends, the empty string and binary
// members with NUL bytes and high bytes.
Test(zskiplist, lex_ranges_with_empty_and_binary_members)
{
    struct zskiplist *zsl = zsl_new();
    zsl_insert(zsl, 0, zsl_member("", 0), 0, &rng);
    zsl_insert(zsl, 0, zsl_member("a\0", 2), 2, &rng);
    INS(zsl, 0, "a");
    INS(zsl, 0, "b");
    zsl_insert(zsl, 0, zsl_member("\xff", 1), 1, &rng);
    struct zsl_lex_range r = lexr("-", 0, "+", 0);
    cr_assert_eq(zsl_node_len(zsl_first_in_lex_range(zsl, &r)), 0, "the empty member comes first");
    cr_assert(node_is(zsl_last_in_lex_range(zsl, &r), "\xff"));
    r = lexr("", 1, "b", 1); /* ( and (b */
    cr_assert(node_is(zsl_first_in_lex_range(zsl, &r), "a"));
    const struct zsl_node *last = zsl_last_in_lex_range(zsl, &r);
    cr_assert(zsl_node_len(last) == 2 && memcmp(last->ele, "a\0", 2) == 0);
    r = lexr("", 0, "", 0); /* [ [ : just the empty member */
    cr_assert_eq(zsl_node_len(zsl_first_in_lex_range(zsl, &r)), 0);
    cr_assert_eq(zsl_node_len(zsl_last_in_lex_range(zsl, &r)), 0);
    r = lexr("b", 0, "a", 0);
    cr_assert_null(zsl_first_in_lex_range(zsl, &r), "min > max is empty");
    r = lexr("a", 1, "a", 0);
    cr_assert_null(zsl_first_in_lex_range(zsl, &r), "(a [a is empty");
    r = lexr("+", 0, "-", 0);
    cr_assert_null(zsl_first_in_lex_range(zsl, &r), "+ - is empty");
    r = lexr("-", 0, "-", 0);
    cr_assert_null(zsl_first_in_lex_range(zsl, &r), "- - is empty");
    r = lexr("c", 0, "+", 0);
    cr_assert(node_is(zsl_first_in_lex_range(zsl, &r), "\xff"));
    r = lexr("\xff", 1, "+", 0);
    cr_assert_null(zsl_first_in_lex_range(zsl, &r));
    zsl_free(zsl);
}

static int deleted_count;

static void on_delete(void *ud, struct zsl_node *n)
{
    deleted_count++;
    cr_assert_not_null(n->ele);
}

// Range deletions remove exactly the range, call back once per node, and keep ranks right.
Test(zskiplist, delete_ranges_by_score_lex_and_rank)
{
    struct zskiplist *zsl = zsl_new();
    const char *m[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    for (int i = 0; i < 8; i++)
        INS(zsl, i, m[i]);
    deleted_count = 0;
    struct zsl_range r = range(1, 1, 3, 0);
    cr_assert_eq(zsl_delete_range_by_score(zsl, &r, on_delete, NULL), 2); /* c, d */
    cr_assert_eq(deleted_count, 2);
    cr_assert_eq(zsl_rank(zsl, 4, "e", 1), 3);
    cr_assert_eq(zsl_delete_range_by_rank(zsl, 1, 2, on_delete, NULL), 2); /* a, b */
    cr_assert(node_is(zsl_by_rank(zsl, 1), "e"));
    cr_assert_eq(deleted_count, 4);
    struct zsl_lex_range lr = lexr("f", 1, "+", 0); /* lex over mixed scores: by order */
    cr_assert_eq(zsl_delete_range_by_lex(zsl, &lr, on_delete, NULL), 2); /* g, h */
    cr_assert_eq(zsl->length, 2);
    cr_assert(node_is(zsl->tail, "f"));
    cr_assert_eq(zsl_delete_range_by_rank(zsl, 5, 9, NULL, NULL), 0);
    r = range(-INFINITY, 0, INFINITY, 0);
    cr_assert_eq(zsl_delete_range_by_score(zsl, &r, NULL, NULL), 2);
    cr_assert_null(zsl->tail);
    cr_assert_eq(zsl->level, 1);
    zsl_free(zsl);
}

static void levels_of(struct zskiplist *zsl, int *out)
{
    int i = 0;
    for (const struct zsl_node *x = zsl->header->level[0].forward; x; x = x->level[0].forward) {
        int l = 0;
        /* a node's level is the highest one through which the header's path reaches it */
        for (int j = 0; j < zsl->level; j++) {
            const struct zsl_node *y = zsl->header->level[j].forward;
            while (y && y != x && (y->score < x->score))
                y = y->level[j].forward;
            if (y == x)
                l = j + 1;
        }
        out[i++] = l;
    }
}

// The same operations with the same PRNG seed give the same structure (every node's
// level), as apply on every node must.
Test(zskiplist, same_seed_builds_same_structure)
{
    struct prng a, b;
    prng_seed(&a, 99, 1);
    prng_seed(&b, 99, 1);
    struct zskiplist *x = zsl_new(), *y = zsl_new();
    static char names[500][12];
    for (int i = 0; i < 500; i++) {
        snprintf(names[i], 12, "%d", i);
        const char *m = zsl_member(names[i], strlen(names[i]));
        zsl_insert(x, i, m, strlen(names[i]), &a);
        zsl_insert(y, i, m, strlen(names[i]), &b);
    }
    int lx[500], ly[500];
    levels_of(x, lx);
    levels_of(y, ly);
    cr_assert_eq(x->level, y->level);
    for (int i = 0; i < 500; i++)
        cr_assert_eq(lx[i], ly[i]);
    cr_assert_gt(x->level, 2, "levels are drawn, not all 1");
    zsl_free(x);
    zsl_free(y);
}

// Levels are drawn with p = 1/4: about three quarters are level 1, none past the maximum.
Test(zskiplist, random_level_follows_quarter_probability)
{
    int ones = 0;
    for (int i = 0; i < 40000; i++) {
        int l = zsl_random_level(&rng);
        cr_assert(l >= 1 && l <= ZSL_MAXLEVEL);
        ones += l == 1;
    }
    cr_assert(ones > 29000 && ones < 31000, "%d level-1 draws", ones);
}

// Lazy free releases a bounded number of nodes per call and completes.
Test(zskiplist, incremental_free_completes)
{
    struct zskiplist *zsl = zsl_new();
    for (int i = 0; i < 10000; i++)
        zsl_insert(zsl, i, zsl_member("m", 1), 1, &rng);
    int calls = 1;
    while (!zsl_free_step(zsl, 100))
        calls++;
    cr_assert_eq(calls, 100); /* 100 nodes per call, the last call also frees the list */
}

/* ---- model test ---- */

struct item {
    double score;
    char key[8];
    size_t len;
};

static int item_cmp(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return zsl_bytes_cmp(x->key, x->len, y->key, y->len);
}

/* The first index of MODEL (N items) within R, and one past the last. */
static void model_range(const struct item *model, int n, const struct zsl_range *r, int *lo,
                        int *hi)
{
    *lo = 0;
    while (*lo < n && !zsl_score_in_range(model[*lo].score, r) &&
           !(model[*lo].score > r->max))
        (*lo)++;
    *hi = *lo;
    while (*hi < n && zsl_score_in_range(model[*hi].score, r))
        (*hi)++;
}

// Random inserts, deletes and score updates agree with a sorted array: order, ranks,
// by_rank and the ends of random score ranges.
Test(zskiplist, model_random_operations_match_sorted_array)
{
    struct prng p;
    prng_seed(&p, 20261202, 4);
    /* members "k0".."k399", each present at most once; keys[] keeps the bytes alive */
    static struct item keys[400];
    static int present[400];
    struct item model[400];
    int n = 0;
    struct zskiplist *zsl = zsl_new();
    for (int step = 0; step < 8000; step++) {
        int k = (int)prng_below(&p, 400);
        double score = (double)prng_below(&p, 50) / 2;
        if (!present[k]) {
            keys[k].len = (size_t)snprintf(keys[k].key, 8, "k%d", k);
            keys[k].score = score;
            zsl_insert(zsl, score, zsl_member(keys[k].key, keys[k].len), keys[k].len, &p);
            present[k] = 1;
        } else if (prng_below(&p, 2)) {
            cr_assert_eq(zsl_delete(zsl, keys[k].score, keys[k].key, keys[k].len), 1);
            present[k] = 0;
        } else {
            zsl_update_score(zsl, keys[k].score, zsl_member(keys[k].key, keys[k].len), keys[k].len, score, &p);
            keys[k].score = score;
        }
        n = 0;
        for (int i = 0; i < 400; i++)
            if (present[i])
                model[n++] = keys[i];
        qsort(model, (size_t)n, sizeof(*model), item_cmp);
        cr_assert_eq(zsl->length, (unsigned long)n);
        if (step % 100 != 0)
            continue;
        for (int i = 0; i < n; i++) {
            const struct zsl_node *x = zsl_by_rank(zsl, (unsigned long)i + 1);
            cr_assert(zsl_node_len(x) == model[i].len && memcmp(x->ele, model[i].key, model[i].len) == 0);
            cr_assert_eq(zsl_rank(zsl, model[i].score, model[i].key, model[i].len),
                         (unsigned long)i + 1);
        }
        for (int t = 0; t < 20; t++) {
            double a = (double)prng_below(&p, 60) / 2 - 2, b = (double)prng_below(&p, 60) / 2 - 2;
            struct zsl_range r = range(a, (int)prng_below(&p, 2), b, (int)prng_below(&p, 2));
            int lo, hi;
            model_range(model, n, &r, &lo, &hi);
            const struct zsl_node *f = zsl_first_in_range(zsl, &r), *l = zsl_last_in_range(zsl, &r);
            if (lo == hi) {
                cr_assert_null(f);
                cr_assert_null(l);
            } else {
                cr_assert_eq(zsl_rank(zsl, f->score, f->ele, zsl_node_len(f)), (unsigned long)lo + 1);
                cr_assert_eq(zsl_rank(zsl, l->score, l->ele, zsl_node_len(l)), (unsigned long)hi);
            }
        }
    }
    zsl_free(zsl);
}

/* Every level of A and B links the same members with the same spans and scores. */
static void assert_same_structure(const struct zskiplist *a, const struct zskiplist *b)
{
    cr_assert_eq(a->length, b->length);
    cr_assert_eq(a->level, b->level);
    for (int i = 0; i < a->level; i++) {
        const struct zsl_node *x = a->header, *y = b->header;
        while (x && y) {
            cr_assert_eq(x->level[i].span, y->level[i].span, "span on level %d", i);
            x = x->level[i].forward;
            y = y->level[i].forward;
            if (x && y) {
                cr_assert_eq(x->ele, y->ele, "member on level %d", i);
                cr_assert(x->score == y->score);
            }
        }
        cr_assert(x == NULL && y == NULL, "level %d has different lengths", i);
    }
    cr_assert_eq(a->tail ? a->tail->ele : NULL, b->tail ? b->tail->ele : NULL);
}

// A score update (one walk with two cursors) builds exactly what a delete and an insert
// with the same PRNG build: members, scores, levels and spans, over thousands of moves in
// both directions, ties by member included, on a list tall enough to have many levels.
Test(zskiplist, update_score_builds_what_delete_and_insert_build)
{
    struct prng p, q, ops;
    prng_seed(&p, 7, 3);
    prng_seed(&q, 7, 3);
    prng_seed(&ops, 2026, 12);
    enum { M = 2000 };
    static const char *member[M];
    static size_t mlen[M];
    static double score[M];
    static char name[16];
    struct zskiplist *a = zsl_new(), *b = zsl_new();
    for (int k = 0; k < M; k++) {
        mlen[k] = (size_t)snprintf(name, sizeof(name), "m%d", k);
        member[k] = zsl_member(name, mlen[k]);
        score[k] = (double)prng_below(&ops, 300);
        zsl_insert(a, score[k], member[k], mlen[k], &p);
        zsl_insert(b, score[k], member[k], mlen[k], &q);
    }
    cr_assert_gt(a->level, 4);
    int moved = 0;
    for (int step = 0; step < 20000; step++) {
        int k = (int)prng_below(&ops, M);
        double s = (double)prng_below(&ops, 300);
        struct zsl_node *n = zsl_update_score(a, score[k], member[k], mlen[k], s, &p);
        cr_assert_eq(n->ele, member[k]);
        cr_assert(n->score == s);
        /* the reference: in place when the order holds (as documented), else delete+insert */
        struct zsl_node *r = zsl_by_rank(b, zsl_rank(b, score[k], member[k], mlen[k]));
        cr_assert_eq(r->ele, member[k]);
        if ((r->backward == NULL || r->backward->score < s) &&
            (r->level[0].forward == NULL || r->level[0].forward->score > s)) {
            r->score = s;
        } else {
            cr_assert_eq(zsl_delete(b, score[k], member[k], mlen[k]), 1);
            zsl_insert(b, s, member[k], mlen[k], &q);
            moved++;
        }
        score[k] = s;
        if (step % 1000 == 0)
            assert_same_structure(a, b);
    }
    assert_same_structure(a, b);
    cr_assert_gt(moved, 10000);
    for (int k = 0; k < M; k += 37)
        cr_assert_eq(zsl_by_rank(a, zsl_rank(a, score[k], member[k], mlen[k]))->ele, member[k]);
    zsl_free(a);
    zsl_free(b);
}
