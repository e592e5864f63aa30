/* Unit tests for zset.c: dict and skiplist kept in step (add, update, remove, ranks,
 * range removal), lazy free, Redis's score and range syntax and score formatting, and a
 * randomized model test against a sorted array with a fixed seed. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zset.h"

static struct prng rng;

static void setup(void)
{
    prng_seed(&rng, 4242, 0);
}

TestSuite(zset, .init = setup);

#define ADD(zs, cstr, score) zset_add(zs, cstr, strlen(cstr), score, &rng)

static double score_of(const struct zset *zs, const char *cstr)
{
    double s = NAN;
    cr_assert_eq(zset_score(zs, cstr, strlen(cstr), &s), 0, "%s has a score", cstr);
    return s;
}

// Adding returns 1 for a new member and 0 for an existing one, whose score changes.
Test(zset, add_new_member_then_update_its_score)
{
    struct zset *zs = zset_new(DICT_DEFAULT_SEED);
    cr_assert_eq(zset_len(zs), 0);
    cr_assert_eq(ADD(zs, "a", 1), 1);
    cr_assert_eq(ADD(zs, "b", 2), 1);
    cr_assert_eq(ADD(zs, "a", 3), 0);
    cr_assert_eq(ADD(zs, "b", 2), 0);
    cr_assert_eq(zset_len(zs), 2);
    cr_assert_eq(score_of(zs, "a"), 3);
    cr_assert_eq(zset_rank(zs, "a", 1, 0), 1);
    cr_assert_eq(zset_rank(zs, "a", 1, 1), 0);
    cr_assert_eq(zset_rank(zs, "b", 1, 1), 1);
    double s;
    cr_assert_eq(zset_score(zs, "c", 1, &s), -1);
    cr_assert_eq(zset_rank(zs, "c", 1, 0), -1);
    zset_free(zs);
    zset_free(NULL);
}

// Removing drops the member from both halves; removing it again returns 0.
Test(zset, remove_drops_member_from_dict_and_skiplist)
{
    struct zset *zs = zset_new(DICT_DEFAULT_SEED);
    ADD(zs, "a", 1);
    ADD(zs, "b", 1);
    cr_assert_eq(zset_remove(zs, "a", 1), 1);
    cr_assert_eq(zset_remove(zs, "a", 1), 0);
    cr_assert_eq(zset_len(zs), 1);
    cr_assert_eq(dict_size(zs->dict), 1);
    cr_assert_eq(zset_rank(zs, "b", 1, 0), 0);
    zset_free(zs);
}

// Range removals by score, lex and rank remove the members from the dict too.
Test(zset, range_removals_keep_dict_in_step)
{
    struct zset *zs = zset_new(DICT_DEFAULT_SEED);
    const char *m[] = {"a", "b", "c", "d", "e", "f"};
    for (int i = 0; i < 6; i++)
        ADD(zs, m[i], 0);
    struct zsl_lex_range lr;
    cr_assert_eq(zset_parse_lex_range("(a", 2, "[c", 2, &lr), 0);
    cr_assert_eq(zset_remove_range_by_lex(zs, &lr), 2);
    double s;
    cr_assert_eq(zset_score(zs, "b", 1, &s), -1);
    cr_assert_eq(zset_remove_range_by_rank(zs, 0, 0), 1); /* a */
    cr_assert_eq(zset_score(zs, "a", 1, &s), -1);
    ADD(zs, "f", 5);
    struct zsl_range r;
    cr_assert_eq(zset_parse_range("(0", 2, "+inf", 4, &r), 0);
    cr_assert_eq(zset_remove_range_by_score(zs, &r), 1);
    cr_assert_eq(zset_score(zs, "f", 1, &s), -1);
    cr_assert_eq(zset_len(zs), 2);
    cr_assert_eq(dict_size(zs->dict), 2);
    zset_free(zs);
}

// Lazy free of a large zset takes bounded steps and completes.
Test(zset, incremental_free_completes)
{
    struct zset *zs = zset_new(DICT_DEFAULT_SEED);
    char k[16];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(k, sizeof(k), "%d", i);
        zset_add(zs, k, (size_t)n, i % 17, &rng);
    }
    cr_assert_gt(zset_bytes(zs, 0), 20000 * 40);
    int calls = 1;
    while (!zset_free_step(zs, 1000))
        calls++;
    cr_assert_geq(calls, 40, "nodes then members, 1000 at a time");
}

// Scores parse as ZADD reads them: inf in any sign, no NaN, no overflow, no spaces.
Test(zset, parse_score_follows_string2d)
{
    double v;
    cr_assert(zset_parse_score("1.5", 3, &v) == 0 && v == 1.5);
    cr_assert(zset_parse_score("inf", 3, &v) == 0 && isinf(v) && v > 0);
    cr_assert(zset_parse_score("+inf", 4, &v) == 0 && isinf(v) && v > 0);
    cr_assert(zset_parse_score("-inf", 4, &v) == 0 && isinf(v) && v < 0);
    cr_assert(zset_parse_score("-0", 2, &v) == 0 && v == 0 && signbit(v));
    cr_assert(zset_parse_score("1e3", 3, &v) == 0 && v == 1000);
    const char *bad[] = {"", "nan", "NaN", " 1", "1 ", "abc", "1e400", "-1e400", "1e-400",
                         "1.5x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        cr_assert_eq(zset_parse_score(bad[i], strlen(bad[i]), &v), -1, "%s", bad[i]);
    cr_assert_eq(zset_parse_score("1\0", 2, &v), -1, "an embedded NUL is trailing bytes");
}

static int parses(const char *min, const char *max, struct zsl_range *r)
{
    return zset_parse_range(min, strlen(min), max, strlen(max), r) == 0;
}

// Score ranges: "(" makes an end exclusive, infinities and strtod's leniency as Redis.
Test(zset, parse_range_reads_exclusive_ends_and_infinities)
{
    struct zsl_range r;
    cr_assert(parses("(1", "5", &r));
    cr_assert(r.min == 1 && r.minex && r.max == 5 && !r.maxex);
    cr_assert(parses("-inf", "(+inf", &r));
    cr_assert(isinf(r.min) && r.min < 0 && !r.minex && isinf(r.max) && r.maxex);
    cr_assert(parses("1e400", "-inf", &r) && isinf(r.min), "overflow is infinity here");
    cr_assert(parses(" 2", "0x10", &r) && r.min == 2 && r.max == 16, "strtod leniency");
    cr_assert(parses("(", "", &r) && r.min == 0 && r.minex && r.max == 0, "empty is 0");
    cr_assert(!parses("nan", "1", &r));
    cr_assert(!parses("1", "(nan", &r));
    cr_assert(!parses("1x", "2", &r));
    cr_assert(!parses("[1", "2", &r), "[ is only for lex ranges");
    cr_assert(!parses("1", "((2", &r));
}

static int lex_parses(const char *min, const char *max, struct zsl_lex_range *r)
{
    return zset_parse_lex_range(min, strlen(min), max, strlen(max), r) == 0;
}

// Lex ranges: "[" inclusive, "(" exclusive, "-" and "+" alone; anything else is an error.
Test(zset, parse_lex_range_reads_every_end_form)
{
    struct zsl_lex_range r;
    cr_assert(lex_parses("[a", "(b", &r));
    cr_assert(r.min.kind == ZSL_LEX_BYTES && !r.min.ex && r.min.len == 1 && r.min.s[0] == 'a');
    cr_assert(r.max.kind == ZSL_LEX_BYTES && r.max.ex && r.max.s[0] == 'b');
    cr_assert(lex_parses("-", "+", &r));
    cr_assert(r.min.kind == ZSL_LEX_MIN && r.max.kind == ZSL_LEX_MAX);
    cr_assert(lex_parses("[", "(", &r) && r.min.len == 0 && r.max.len == 0, "empty strings");
    cr_assert(zset_parse_lex_range("[a\0b", 4, "+", 1, &r) == 0 && r.min.len == 3,
              "binary bytes");
    const char *bad[] = {"a", "", "-a", "+a", "{a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        cr_assert(!lex_parses(bad[i], "+", &r), "min %s", bad[i]);
        cr_assert(!lex_parses("-", bad[i], &r), "max %s", bad[i]);
    }
}

static const char *fmt(double v)
{
    static char buf[ZSET_SCORE_MAX];
    size_t n = zset_format_score(buf, sizeof(buf), v);
    cr_assert_eq(n, strlen(buf));
    return buf;
}

// Scores reply as Redis's addReplyDouble: inf, -inf, else %.17g, which round-trips.
Test(zset, format_score_matches_redis_replies)
{
    cr_assert_str_eq(fmt(1.5), "1.5");
    cr_assert_str_eq(fmt(3), "3");
    cr_assert_str_eq(fmt(1.1), "1.1000000000000001");
    cr_assert_str_eq(fmt(0.1 + 0.2), "0.30000000000000004");
    cr_assert_str_eq(fmt(INFINITY), "inf");
    cr_assert_str_eq(fmt(-INFINITY), "-inf");
    cr_assert_str_eq(fmt(-0.0), "-0");
    cr_assert_str_eq(fmt(1e20), "1e+20");
    cr_assert_str_eq(fmt(-1.7976931348623157e308), "-1.7976931348623157e+308");
    cr_assert_str_eq(fmt(5e-324), "4.9406564584124654e-324");
    double back;
    cr_assert(zset_parse_score(fmt(1.1), strlen(fmt(1.1)), &back) == 0 && back == 1.1);
}

static void scan_into(void *ud, const struct dict_entry *e)
{
    char *out = ud;
    strcat(out, e->key);
    strcat(out, ",");
}

// A zset rebuilt from its dict's shape and its members in dict order scans (ZSCAN) the
// same way as the original and ranks every member the same.
Test(zset, restored_zset_scans_and_ranks_identically)
{
    struct zset *zs = zset_new(DICT_DEFAULT_SEED);
    char k[16];
    for (int i = 0; i < 1025; i++) { /* the 1025th add leaves the dict mid-rehash */
        int n = snprintf(k, sizeof(k), "m%d", i);
        zset_add(zs, k, (size_t)n, i % 10, &rng);
    }
    cr_assert(dict_is_rehashing(zs->dict));
    struct dict_shape shape;
    dict_get_shape(zs->dict, &shape);
    struct zset *r = zset_new_shaped(DICT_DEFAULT_SEED, &shape);
    struct prng other;
    prng_seed(&other, 1, 1); /* levels differ from the original's: no reply depends on them */
    struct dict_iter it;
    dict_iter_init(&it, zs->dict);
    for (struct dict_entry *e; (e = dict_iter_next(&it));) {
        double s = ((struct zsl_node *)e->val)->score;
        cr_assert_eq(zset_restore_append(r, e->key, e->klen, s, &other), 0);
    }
    dict_iter_close(&it);
    cr_assert_eq(dict_restore_done(r->dict), 0);
    cr_assert_eq(zset_restore_append(r, "m1", 2, 0, &other), -1, "duplicate");
    static char a[20000], b[20000];
    a[0] = b[0] = '\0';
    uint64_t c = 0;
    do
        c = dict_scan(zs->dict, c, scan_into, a);
    while (c);
    do
        c = dict_scan(r->dict, c, scan_into, b);
    while (c);
    cr_assert_str_eq(a, b);
    for (int i = 0; i < 1025; i += 7) {
        int n = snprintf(k, sizeof(k), "m%d", i);
        cr_assert_eq(zset_rank(r, k, (size_t)n, 0), zset_rank(zs, k, (size_t)n, 0));
    }
    zset_free(zs);
    zset_free(r);
}

/* ---- model test ---- */

struct item {
    double score;
    char key[8];
    size_t len;
    int present;
};

static int item_cmp(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return zsl_bytes_cmp(x->key, x->len, y->key, y->len);
}

/* The model's sorted members into OUT; returns their count. */
static int model_sorted(const struct item *keys, int nkeys, struct item *out)
{
    int n = 0;
    for (int i = 0; i < nkeys; i++)
        if (keys[i].present)
            out[n++] = keys[i];
    qsort(out, (size_t)n, sizeof(*out), item_cmp);
    return n;
}

// Random adds, updates, removes, score and rank queries and lex-range removals (all
// members at one score, as ZREMRANGEBYLEX expects) agree with a sorted array model.
Test(zset, model_random_operations_match_sorted_array)
{
    struct prng p;
    prng_seed(&p, 20261202, 5);
    struct item keys[300] = {{0}}, sorted[300];
    struct zset *zs = zset_new(DICT_DEFAULT_SEED);
    for (int i = 0; i < 300; i++)
        keys[i].len = (size_t)snprintf(keys[i].key, 8, "%c%d", 'a' + i % 26, i);
    for (int step = 0; step < 6000; step++) {
        int k = (int)prng_below(&p, 300);
        int lexphase = step >= 4000; /* one score for all: lex order only */
        double score = lexphase ? 0 : (double)prng_below(&p, 40) - 20;
        uint64_t op = prng_below(&p, 10);
        if (op < 5) {
            cr_assert_eq(zset_add(zs, keys[k].key, keys[k].len, score, &p), !keys[k].present);
            keys[k].present = 1;
            keys[k].score = score;
        } else if (op < 8) {
            cr_assert_eq(zset_remove(zs, keys[k].key, keys[k].len), keys[k].present);
            keys[k].present = 0;
        } else if (op == 8 && lexphase && step % 7 == 0) {
            /* remove ["x", "x~") for a random first letter x */
            char lo[2] = {(char)('a' + prng_below(&p, 26)), 0}, hi[3] = {lo[0], '~', 0};
            char mn[3] = {'[', lo[0], 0}, mx[4] = {'(', hi[0], hi[1], 0};
            struct zsl_lex_range r;
            cr_assert_eq(zset_parse_lex_range(mn, 2, mx, 3, &r), 0);
            unsigned long want = 0;
            for (int i = 0; i < 300; i++)
                if (keys[i].present && keys[i].key[0] == lo[0]) {
                    keys[i].present = 0;
                    want++;
                }
            cr_assert_eq(zset_remove_range_by_lex(zs, &r), want);
        }
        if (lexphase && step == 4000)
            for (int i = 0; i < 300; i++) /* move everyone to score 0 */
                if (keys[i].present) {
                    zset_add(zs, keys[i].key, keys[i].len, 0, &p);
                    keys[i].score = 0;
                }
        int n = model_sorted(keys, 300, sorted);
        cr_assert_eq(zset_len(zs), (unsigned long)n);
        if (step % 50 != 0)
            continue;
        for (int i = 0; i < n; i++) {
            cr_assert_eq(score_of(zs, sorted[i].key), sorted[i].score);
            cr_assert_eq(zset_rank(zs, sorted[i].key, sorted[i].len, 0), i);
            cr_assert_eq(zset_rank(zs, sorted[i].key, sorted[i].len, 1), n - 1 - i);
        }
    }
    zset_free(zs);
}
