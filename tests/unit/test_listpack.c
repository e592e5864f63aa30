/* Unit tests for listpack.c: framing of short and long entries, walking both ways,
 * insert/replace/delete (while walking too), find with skip, the field/value and
 * member/score pair helpers, and a randomized model test against an array of strings. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listpack.h"
#include "prng.h"
#include "zsl_member.h"

static int entry_is(const struct listpack *lp, size_t pos, const char *s, size_t len)
{
    size_t elen;
    const unsigned char *e = listpack_get(lp, pos, &elen);
    return elen == len && memcmp(e, s, len) == 0;
}

#define ENTRY_IS(lp, pos, cstr) entry_is(lp, pos, cstr, strlen(cstr))

// An empty listpack has no first, last or indexed entry and finds nothing.
Test(listpack, empty_has_no_entries)
{
    struct listpack *lp = listpack_new();
    cr_assert_eq(listpack_count(lp), 0);
    cr_assert_eq(listpack_first(lp), LISTPACK_NONE);
    cr_assert_eq(listpack_last(lp), LISTPACK_NONE);
    cr_assert_eq(listpack_seek(lp, 0), LISTPACK_NONE);
    cr_assert_eq(listpack_seek(lp, -1), LISTPACK_NONE);
    cr_assert_eq(listpack_pair_find(lp, "a", 1), LISTPACK_NONE);
    listpack_free(lp);
    listpack_free(NULL);
}

// A single entry is both first and last, with no neighbours.
Test(listpack, one_entry_is_first_and_last)
{
    struct listpack *lp = listpack_new();
    listpack_append(&lp, "x", 1);
    size_t pos = listpack_first(lp);
    cr_assert_eq(pos, listpack_last(lp));
    cr_assert_eq(listpack_next(lp, pos), LISTPACK_NONE);
    cr_assert_eq(listpack_prev(lp, pos), LISTPACK_NONE);
    cr_assert(ENTRY_IS(lp, pos, "x"));
    listpack_free(lp);
}

// Entries of every framing size (empty, 127, 128, 16383, 16384 and 70000 bytes, binary)
// read back exactly, walking forwards and backwards.
Test(listpack, entries_of_every_length_walk_both_ways)
{
    size_t lens[] = {0, 1, 127, 128, 16383, 16384, 70000};
    int n = sizeof(lens) / sizeof(*lens);
    char *big = malloc(70000 + 16); /* entry i starts at big + i */
    for (int i = 0; i < 70000 + 16; i++)
        big[i] = (char)(i * 7);
    struct listpack *lp = listpack_new();
    for (int i = 0; i < n; i++)
        listpack_append(&lp, big + i, lens[i]);
    cr_assert_eq(listpack_count(lp), (uint32_t)n);
    size_t pos = listpack_first(lp);
    for (int i = 0; i < n; i++, pos = listpack_next(lp, pos))
        cr_assert(entry_is(lp, pos, big + i, lens[i]), "forward %d", i);
    cr_assert_eq(pos, LISTPACK_NONE);
    pos = listpack_last(lp);
    for (int i = n - 1; i >= 0; i--, pos = listpack_prev(lp, pos))
        cr_assert(entry_is(lp, pos, big + i, lens[i]), "backward %d", i);
    cr_assert_eq(pos, LISTPACK_NONE);
    free(big);
    listpack_free(lp);
}

// Short entries cost two bytes of framing; listpack_bytes counts them.
Test(listpack, bytes_count_payload_and_framing)
{
    struct listpack *lp = listpack_new();
    size_t empty = listpack_bytes(lp);
    listpack_append(&lp, "hello", 5);
    cr_assert_eq(listpack_bytes(lp), empty + 5 + 2);
    listpack_append(&lp, "", 0);
    cr_assert_eq(listpack_bytes(lp), empty + 7 + 2);
    listpack_free(lp);
}

// Insert goes before the given entry (at the front too); LISTPACK_NONE appends.
Test(listpack, insert_goes_before_position)
{
    struct listpack *lp = listpack_new();
    listpack_append(&lp, "b", 1);
    listpack_insert(&lp, listpack_first(lp), "a", 1);
    listpack_insert(&lp, LISTPACK_NONE, "d", 1);
    listpack_insert(&lp, listpack_seek(lp, 2), "c", 1);
    const char *want[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        cr_assert(ENTRY_IS(lp, listpack_seek(lp, i), want[i]));
    cr_assert(ENTRY_IS(lp, listpack_seek(lp, -1), "d"));
    cr_assert(ENTRY_IS(lp, listpack_seek(lp, -4), "a"));
    cr_assert_eq(listpack_seek(lp, -5), LISTPACK_NONE);
    cr_assert_eq(listpack_seek(lp, 4), LISTPACK_NONE);
    listpack_free(lp);
}

// Replacing with a longer (multi-byte length) and then shorter entry keeps its neighbours.
Test(listpack, replace_with_longer_and_shorter_keeps_neighbours)
{
    struct listpack *lp = listpack_new();
    listpack_append(&lp, "a", 1);
    listpack_append(&lp, "b", 1);
    listpack_append(&lp, "c", 1);
    char big[300];
    memset(big, 'z', sizeof(big));
    size_t pos = listpack_seek(lp, 1);
    listpack_replace(&lp, pos, big, sizeof(big));
    cr_assert(entry_is(lp, listpack_seek(lp, 1), big, sizeof(big)));
    cr_assert(ENTRY_IS(lp, listpack_last(lp), "c"));
    cr_assert(entry_is(lp, listpack_prev(lp, listpack_last(lp)), big, sizeof(big)));
    listpack_replace(&lp, listpack_seek(lp, 1), "B", 1);
    cr_assert(ENTRY_IS(lp, listpack_seek(lp, 1), "B"));
    cr_assert(ENTRY_IS(lp, listpack_prev(lp, listpack_last(lp)), "B"));
    cr_assert_eq(listpack_count(lp), 3);
    listpack_free(lp);
}

// Deleting while walking continues from the returned position; deleting the last entry
// returns LISTPACK_NONE; a count past the end stops at the end.
Test(listpack, delete_while_walking_continues)
{
    struct listpack *lp = listpack_new();
    char s[4];
    for (int i = 0; i < 10; i++) {
        int n = snprintf(s, sizeof(s), "%d", i);
        listpack_append(&lp, s, (size_t)n);
    }
    size_t pos = listpack_first(lp);
    int i = 0;
    while (pos != LISTPACK_NONE) {
        if (i++ % 2 == 0)
            pos = listpack_delete(&lp, pos, 1);
        else
            pos = listpack_next(lp, pos);
    }
    cr_assert_eq(listpack_count(lp), 5);
    cr_assert(ENTRY_IS(lp, listpack_first(lp), "1"));
    cr_assert(ENTRY_IS(lp, listpack_last(lp), "9"));
    cr_assert_eq(listpack_delete(&lp, listpack_last(lp), 1), LISTPACK_NONE);
    cr_assert_eq(listpack_delete(&lp, listpack_seek(lp, 1), 100), LISTPACK_NONE);
    cr_assert_eq(listpack_count(lp), 1);
    listpack_free(lp);
}

// find with skip 1 compares fields only: a value equal to a field name is not a match.
Test(listpack, find_with_skip_compares_fields_only)
{
    struct listpack *lp = listpack_new();
    listpack_pair_set(&lp, "f1", 2, "f2", 2);
    listpack_pair_set(&lp, "f2", 2, "v2", 2);
    size_t pos = listpack_pair_find(lp, "f2", 2);
    cr_assert_eq(pos, listpack_seek(lp, 2));
    cr_assert_eq(listpack_pair_find(lp, "v2", 2), LISTPACK_NONE);
    cr_assert_eq(listpack_find(lp, listpack_first(lp), "v2", 2, 0), listpack_seek(lp, 3));
    listpack_free(lp);
}

// pair_set adds, then replaces in place; pair_delete removes field and value.
Test(listpack, pair_set_replaces_and_delete_removes_both)
{
    struct listpack *lp = listpack_new();
    cr_assert_eq(listpack_pair_set(&lp, "name", 4, "ann", 3), 1);
    cr_assert_eq(listpack_pair_set(&lp, "age", 3, "30", 2), 1);
    cr_assert_eq(listpack_pair_set(&lp, "name", 4, "bob", 3), 0);
    cr_assert_eq(listpack_count(lp), 4);
    cr_assert(ENTRY_IS(lp, listpack_next(lp, listpack_pair_find(lp, "name", 4)), "bob"));
    cr_assert_eq(listpack_pair_delete(&lp, "name", 4), 1);
    cr_assert_eq(listpack_pair_delete(&lp, "name", 4), 0);
    cr_assert_eq(listpack_count(lp), 2);
    cr_assert(ENTRY_IS(lp, listpack_first(lp), "age"));
    listpack_free(lp);
}

// Scores round-trip exactly through their 8-byte encoding, infinities and -0 included.
Test(listpack, score_encoding_round_trips)
{
    double v[] = {0.0, -0.0, 1.5, -1e308, 5e-324, INFINITY, -INFINITY, 0.1};
    for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
        unsigned char b[8];
        listpack_score_encode(b, v[i]);
        double back = listpack_score_decode(b);
        cr_assert(memcmp(&back, &v[i], 8) == 0, "value %zu", i);
    }
}

// Members are kept ordered by score, ties by member bytes (binary, prefix first).
Test(listpack, score_insert_orders_by_score_then_member)
{
    struct listpack *lp = listpack_new();
    listpack_score_insert(&lp, "b", 1, 2);
    listpack_score_insert(&lp, "a", 1, 2);
    listpack_score_insert(&lp, "z", 1, -INFINITY);
    listpack_score_insert(&lp, "ab", 2, 2);
    listpack_score_insert(&lp, "a\0", 2, 2);
    listpack_score_insert(&lp, "m", 1, INFINITY);
    listpack_score_insert(&lp, "", 0, 2);
    const char *want[] = {"z", "", "a", "a\0", "ab", "b", "m"};
    size_t wlen[] = {1, 0, 1, 2, 2, 1, 1};
    double wscore[] = {-INFINITY, 2, 2, 2, 2, 2, INFINITY};
    size_t pos = listpack_first(lp);
    for (int i = 0; i < 7; i++) {
        cr_assert(entry_is(lp, pos, want[i], wlen[i]), "member %d", i);
        cr_assert_eq(listpack_score_at(lp, pos), wscore[i]);
        pos = listpack_next(lp, listpack_next(lp, pos));
    }
    cr_assert_eq(pos, LISTPACK_NONE);
    listpack_free(lp);
}

static int same_member(const struct listpack *lp, size_t pos, const struct zsl_node *n)
{
    if (pos == LISTPACK_NONE || n == NULL)
        return pos == LISTPACK_NONE && n == NULL;
    return entry_is(lp, pos, n->ele, zsl_node_len(n)) && listpack_score_at(lp, pos) == n->score;
}

// Score and lex range ends found by scanning a member/score listpack are the skiplist's,
// for random inclusive/exclusive/infinite ranges over the same members (ties included).
Test(listpack, score_ranges_agree_with_the_skiplist)
{
    struct prng p;
    prng_seed(&p, 20261202, 6);
    static char names[100][8];
    struct listpack *lp = listpack_new();
    struct zskiplist *zsl = zsl_new();
    for (int i = 0; i < 100; i++) {
        size_t n = (size_t)snprintf(names[i], 8, "%c%d", 'a' + (int)prng_below(&p, 5), i);
        double score = (double)prng_below(&p, 10);
        listpack_score_insert(&lp, names[i], n, score);
        zsl_insert(zsl, score, zsl_member(names[i], n), n, &p);
        cr_assert_eq(listpack_score_find(lp, names[i], n) != LISTPACK_NONE, 1);
    }
    double ends[] = {-INFINITY, -1, 0, 3, 3.5, 7, 9, 10, INFINITY};
    for (int t = 0; t < 400; t++) {
        struct zsl_range r = {ends[prng_below(&p, 9)], ends[prng_below(&p, 9)],
                              (int)prng_below(&p, 2), (int)prng_below(&p, 2)};
        cr_assert(same_member(lp, listpack_score_first_in_range(lp, &r),
                              zsl_first_in_range(zsl, &r)), "first of range %d", t);
        cr_assert(same_member(lp, listpack_score_last_in_range(lp, &r),
                              zsl_last_in_range(zsl, &r)), "last of range %d", t);
    }
    /* lex: one score for everyone */
    listpack_free(lp);
    zsl_free(zsl);
    lp = listpack_new();
    zsl = zsl_new();
    for (int i = 0; i < 100; i++) {
        listpack_score_insert(&lp, names[i], strlen(names[i]), 0);
        zsl_insert(zsl, 0, zsl_member(names[i], strlen(names[i])), strlen(names[i]), &p);
    }
    const char *lex_ends[] = {"a", "b5", "c", "e9", "", "z"};
    for (int t = 0; t < 400; t++) {
        struct zsl_lex_range r;
        const char *a = lex_ends[prng_below(&p, 6)], *b = lex_ends[prng_below(&p, 6)];
        r.min = (struct zsl_lex_end){ZSL_LEX_BYTES, (int)prng_below(&p, 2), a, strlen(a)};
        r.max = (struct zsl_lex_end){ZSL_LEX_BYTES, (int)prng_below(&p, 2), b, strlen(b)};
        if (t % 10 == 0)
            r.min.kind = ZSL_LEX_MIN;
        if (t % 10 == 1)
            r.max.kind = ZSL_LEX_MAX;
        cr_assert(same_member(lp, listpack_score_first_in_lex_range(lp, &r),
                              zsl_first_in_lex_range(zsl, &r)), "first of lex range %d", t);
        cr_assert(same_member(lp, listpack_score_last_in_lex_range(lp, &r),
                              zsl_last_in_lex_range(zsl, &r)), "last of lex range %d", t);
    }
    listpack_free(lp);
    zsl_free(zsl);
}

// A random pair starts at a field (even index), reaches every pair, and repeats for the
// same PRNG seed; an empty listpack has none.
Test(listpack, random_pair_is_a_field_and_deterministic)
{
    struct listpack *lp = listpack_new();
    struct prng a, b;
    prng_seed(&a, 3, 3);
    prng_seed(&b, 3, 3);
    cr_assert_eq(listpack_random_pair(lp, &a), LISTPACK_NONE);
    char f[8];
    for (int i = 0; i < 10; i++) {
        int n = snprintf(f, sizeof(f), "f%d", i);
        listpack_pair_set(&lp, f, (size_t)n, "v", 1);
    }
    int seen[10] = {0};
    for (int i = 0; i < 500; i++) {
        size_t pos = listpack_random_pair(lp, &a);
        cr_assert_eq(pos, listpack_random_pair(lp, &b));
        size_t len;
        const unsigned char *e = listpack_get(lp, pos, &len);
        cr_assert(len == 2 && e[0] == 'f');
        seen[e[1] - '0'] = 1;
    }
    for (int i = 0; i < 10; i++)
        cr_assert(seen[i], "pair %d never drawn", i);
    listpack_free(lp);
}

/* ---- model test ---- */

#define MODEL_MAX 200

struct model {
    char *s[MODEL_MAX];
    size_t len[MODEL_MAX];
    int n;
};

static size_t draw_string(struct prng *p, char *buf)
{
    size_t len = prng_below(p, 8) == 0 ? 100 + prng_below(p, 200) : prng_below(p, 6);
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)('a' + prng_below(p, 4));
    return len;
}

static void model_check(const struct model *m, const struct listpack *lp)
{
    cr_assert_eq(listpack_count(lp), (uint32_t)m->n);
    size_t pos = listpack_first(lp);
    for (int i = 0; i < m->n; i++, pos = listpack_next(lp, pos))
        cr_assert(entry_is(lp, pos, m->s[i], m->len[i]), "entry %d", i);
    cr_assert_eq(pos, LISTPACK_NONE);
    pos = listpack_last(lp);
    for (int i = m->n - 1; i >= 0; i--, pos = listpack_prev(lp, pos))
        cr_assert(entry_is(lp, pos, m->s[i], m->len[i]), "entry %d backwards", i);
}

static void model_insert(struct model *m, int at, const char *s, size_t len)
{
    memmove(m->s + at + 1, m->s + at, sizeof(char *) * (size_t)(m->n - at));
    memmove(m->len + at + 1, m->len + at, sizeof(size_t) * (size_t)(m->n - at));
    m->s[at] = malloc(len + 1);
    memcpy(m->s[at], s, len);
    m->len[at] = len;
    m->n++;
}

static void model_delete(struct model *m, int at)
{
    free(m->s[at]);
    memmove(m->s + at, m->s + at + 1, sizeof(char *) * (size_t)(m->n - at - 1));
    memmove(m->len + at, m->len + at + 1, sizeof(size_t) * (size_t)(m->n - at - 1));
    m->n--;
}

// Random inserts, replaces, deletes and finds agree with an array model, both walking
// directions checked after every step.
Test(listpack, model_random_operations_match_array)
{
    struct prng p;
    prng_seed(&p, 20261202, 2);
    struct model m = {.n = 0};
    struct listpack *lp = listpack_new();
    char buf[400];
    for (int step = 0; step < 5000; step++) {
        size_t len = draw_string(&p, buf);
        int op = (int)prng_below(&p, 4);
        if (m.n == 0 || (op == 0 && m.n < MODEL_MAX)) {
            int at = (int)prng_below(&p, (uint64_t)m.n + 1);
            listpack_insert(&lp, at == m.n ? LISTPACK_NONE : listpack_seek(lp, at), buf, len);
            model_insert(&m, at, buf, len);
        } else if (op == 1) {
            int at = (int)prng_below(&p, (uint64_t)m.n);
            listpack_replace(&lp, listpack_seek(lp, at), buf, len);
            model_delete(&m, at);
            model_insert(&m, at, buf, len);
        } else if (op == 2) {
            int at = (int)prng_below(&p, (uint64_t)m.n);
            listpack_delete(&lp, listpack_seek(lp, at), 1);
            model_delete(&m, at);
        } else {
            int want = -1;
            for (int i = 0; i < m.n && want < 0; i++)
                if (m.len[i] == len && memcmp(m.s[i], buf, len) == 0)
                    want = i;
            size_t got = listpack_find(lp, listpack_first(lp), buf, len, 0);
            cr_assert_eq(got, want < 0 ? LISTPACK_NONE : listpack_seek(lp, want));
        }
        model_check(&m, lp);
    }
    while (m.n > 0)
        model_delete(&m, 0);
    listpack_free(lp);
}
