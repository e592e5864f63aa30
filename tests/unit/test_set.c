/* Unit tests of the set type (set.c): intset while integer and small, hashtable past the
 * limit or at the first non-integer member, never back; a randomized model test against a
 * plain array with a fixed seed; pops and random picks drawn from the PRNG; digests
 * independent of encoding and order; copies and lazy free. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "set.h"

static int add(struct set *s, const char *m, long long max)
{
    return set_add(s, m, strlen(m), max);
}

static int has(const struct set *s, const char *m)
{
    return set_contains(s, m, strlen(m));
}

/* The first member decides the first encoding, as Redis's setTypeCreate. */
Test(set, first_member_decides_encoding)
{
    struct set *a = set_new_for("12", 2), *b = set_new_for("012", 3), *c = set_new_for("x", 1);
    cr_assert_str_eq(set_encoding_name(a), "intset");
    cr_assert_str_eq(set_encoding_name(b), "hashtable");
    cr_assert_str_eq(set_encoding_name(c), "hashtable");
    set_free(a);
    set_free(b);
    set_free(c);
}

/* A non-canonical integer ("+1", " 1", "01", "1.0") converts an intset; members survive. */
Test(set, non_integer_member_converts)
{
    const char *odd[] = {"+1", " 1", "01", "1.0", "-0", "9223372036854775808"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        struct set *s = set_new(SET_INTSET);
        cr_assert_eq(add(s, "1", 512), 1);
        cr_assert_eq(add(s, "-9223372036854775808", 512), 1);
        cr_assert_str_eq(set_encoding_name(s), "intset");
        cr_assert_eq(add(s, odd[i], 512), 1, "%s", odd[i]);
        cr_assert_str_eq(set_encoding_name(s), "hashtable", "%s", odd[i]);
        cr_assert(has(s, "1") && has(s, "-9223372036854775808") && has(s, odd[i]));
        cr_assert_eq(set_len(s), 3);
        set_free(s);
    }
}

/* Past MAX members an intset converts; removing members never converts back. */
Test(set, size_limit_converts_one_way)
{
    struct set *s = set_new(SET_INTSET);
    char m[32];
    for (int i = 0; i < 4; i++) {
        snprintf(m, sizeof m, "%d", i);
        add(s, m, 4);
    }
    cr_assert_str_eq(set_encoding_name(s), "intset");
    cr_assert_eq(add(s, "3", 4), 0); /* present: no growth, no conversion */
    cr_assert_str_eq(set_encoding_name(s), "intset");
    add(s, "4", 4);
    cr_assert_str_eq(set_encoding_name(s), "hashtable");
    for (int i = 0; i < 4; i++) {
        snprintf(m, sizeof m, "%d", i);
        cr_assert_eq(set_remove(s, m, strlen(m)), 1);
    }
    cr_assert_str_eq(set_encoding_name(s), "hashtable");
    cr_assert_eq(set_len(s), 1);
    set_free(s);
}

/* A limit of 0 converts at the first member. */
Test(set, zero_limit_is_hashtable_at_once)
{
    struct set *s = set_new_for("5", 1);
    add(s, "5", 0);
    cr_assert_str_eq(set_encoding_name(s), "hashtable");
    set_free(s);
}

/* Removing from an intset something that is not an integer, or absent, is 0. */
Test(set, remove_absent)
{
    struct set *s = set_new(SET_INTSET);
    add(s, "7", 512);
    cr_assert_eq(set_remove(s, "x", 1), 0);
    cr_assert_eq(set_remove(s, "8", 1), 0);
    cr_assert_eq(set_remove(s, "7", 1), 1);
    cr_assert_eq(set_len(s), 0);
    set_free(s);
}

/* An intset iterates in ascending numeric order, in decimal form. */
Test(set, intset_iterates_ascending)
{
    struct set *s = set_new(SET_INTSET);
    const char *in[] = {"10", "-3", "700000", "2"}, *want[] = {"-3", "2", "10", "700000"};
    for (int i = 0; i < 4; i++)
        add(s, in[i], 512);
    struct set_iter it;
    const char *m;
    size_t len;
    int k = 0;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m, &len)) {
        cr_assert_eq(len, strlen(want[k]));
        cr_assert(memcmp(m, want[k], len) == 0);
        k++;
    }
    set_iter_close(&it);
    cr_assert_eq(k, 4);
    set_free(s);
}

/* Model test: 20,000 random adds/removes/lookups (fixed seed) against a plain array, both
 * encodings, with the limit forcing a conversion midway. */
Test(set, randomized_against_model)
{
    struct prng p;
    prng_seed(&p, 42, 7);
    for (int round = 0; round < 2; round++) {
        struct set *s = set_new(SET_INTSET);
        char model[300]; /* model[v] says whether member v (maybe "sv") is in */
        memset(model, 0, sizeof model);
        size_t n = 0;
        for (int op = 0; op < 20000; op++) {
            int v = (int)prng_below(&p, 300);
            char m[16];
            if (round == 1 && v >= 250)
                snprintf(m, sizeof m, "s%d", v);
            else
                snprintf(m, sizeof m, "%d", v - 100);
            int r = (int)prng_below(&p, 3);
            if (r == 0) {
                cr_assert_eq(add(s, m, 128), !model[v]);
                n += !model[v];
                model[v] = 1;
            } else if (r == 1) {
                cr_assert_eq(set_remove(s, m, strlen(m)), model[v]);
                n -= model[v];
                model[v] = 0;
            } else {
                cr_assert_eq(has(s, m), model[v]);
            }
            cr_assert_eq(set_len(s), n);
        }
        cr_assert_str_eq(set_encoding_name(s), "hashtable"); /* > 128 members at some point */
        size_t seen = 0;
        struct set_iter it;
        const char *m;
        size_t len;
        set_iter_init(&it, s);
        while (set_iter_next(&it, &m, &len))
            seen++;
        set_iter_close(&it);
        cr_assert_eq(seen, n);
        set_free(s);
    }
}

/* Pops drain the set without repeats; the same seed pops the same sequence. */
Test(set, pop_is_seeded_and_drains)
{
    for (int enc = 0; enc < 2; enc++) {
        struct set *a = set_new(SET_INTSET), *b = set_new(SET_INTSET);
        char m[16];
        for (int i = 0; i < 100; i++) { /* built the same way: the same structure */
            snprintf(m, sizeof m, enc ? "m%d" : "%d", i);
            add(a, m, 512);
            add(b, m, 512);
        }
        struct set *c = set_dup(a);
        cr_assert_str_eq(set_encoding_name(c), set_encoding_name(a));
        cr_assert_eq(set_digest(c, 3), set_digest(a, 3));
        set_free(c);
        struct prng p1, p2;
        prng_seed(&p1, 9, 1);
        prng_seed(&p2, 9, 1);
        struct set *seen = set_new(SET_HASHTABLE);
        while (set_len(a) > 0) {
            size_t l1, l2;
            char *x = set_pop(a, &p1, &l1), *y = set_pop(b, &p2, &l2);
            cr_assert_str_eq(x, y);
            cr_assert_eq(set_add(seen, x, l1, 0), 1, "popped twice: %s", x);
            cr_assert(!has(a, x));
            free(x);
            free(y);
        }
        cr_assert_eq(set_len(seen), 100);
        set_free(a);
        set_free(b);
        set_free(seen);
    }
}

/* set_random answers members, and every member shows up over enough draws. */
Test(set, random_reaches_every_member)
{
    struct set *s = set_new(SET_HASHTABLE);
    char m[16];
    for (int i = 0; i < 20; i++) {
        snprintf(m, sizeof m, "k%d", i);
        add(s, m, 512);
    }
    struct set *hit = set_new(SET_HASHTABLE);
    struct prng p;
    prng_seed(&p, 1, 2);
    for (int i = 0; i < 2000; i++) {
        char tmp[SET_INT_BUF];
        const char *r;
        size_t len;
        set_random(s, &p, tmp, &r, &len);
        cr_assert(set_contains(s, r, len));
        set_add(hit, r, len, 0);
    }
    cr_assert_eq(set_len(hit), 20);
    set_free(s);
    set_free(hit);
}

/* The digest ignores encoding and insertion order, and sees any difference in content. */
Test(set, digest_independent_of_encoding_and_order)
{
    struct set *a = set_new(SET_INTSET), *b = set_new(SET_HASHTABLE), *c = set_new(SET_INTSET);
    const char *ms[] = {"1", "2", "300", "-4"};
    for (int i = 0; i < 4; i++) {
        add(a, ms[i], 512);
        add(b, ms[3 - i], 512);
        add(c, ms[i], 512);
    }
    add(c, "5", 512);
    cr_assert_str_eq(set_encoding_name(a), "intset");
    cr_assert_str_eq(set_encoding_name(b), "hashtable");
    cr_assert_eq(set_digest(a, 1), set_digest(b, 1));
    cr_assert_neq(set_digest(a, 1), set_digest(c, 1));
    set_free(a);
    set_free(b);
    set_free(c);
}

/* A large hashtable set is released a slice at a time. */
Test(set, free_step_in_slices)
{
    struct set *s = set_new(SET_HASHTABLE);
    char m[16];
    for (int i = 0; i < 10000; i++) {
        snprintf(m, sizeof m, "%d", i);
        add(s, m, 512);
    }
    int calls = 1;
    while (!set_free_step(s, 1000))
        calls++;
    cr_assert_geq(calls, 10);
    struct set *small = set_new_for("1", 1);
    cr_assert(set_bytes(small, 0) > 0);
    set_free(small);
}
