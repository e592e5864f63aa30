/* Unit tests for intset.c: order, duplicates, the 16/32/64-bit upgrades, removal, random
 * picks, memory size, canonical integer parsing, and a randomized model test against a
 * sorted array with a fixed seed. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "intset.h"

static void assert_elements(const struct intset *is, const int64_t *want, uint32_t n)
{
    cr_assert_eq(intset_len(is), n);
    for (uint32_t i = 0; i < n; i++)
        cr_assert_eq(intset_get(is, i), want[i], "element %u", i);
}

// An empty set has no elements, finds nothing, removes nothing, and is 16-bit.
Test(intset, empty_set_finds_nothing)
{
    struct intset *is = intset_new();
    cr_assert_eq(intset_len(is), 0);
    cr_assert_eq(intset_find(is, 0), 0);
    cr_assert_eq(intset_remove(&is, 0), 0);
    cr_assert_eq(intset_width(is), INTSET_WIDTH16);
    intset_free(is);
    intset_free(NULL);
}

// Adds keep ascending order whatever the insertion order; a duplicate add returns 0.
Test(intset, add_keeps_order_and_refuses_duplicates)
{
    struct intset *is = intset_new();
    int64_t in[] = {5, -3, 100, 0, 7};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(intset_add(&is, in[i]), 1);
    cr_assert_eq(intset_add(&is, 7), 0);
    cr_assert_eq(intset_add(&is, -3), 0);
    int64_t want[] = {-3, 0, 5, 7, 100};
    assert_elements(is, want, 5);
    cr_assert(intset_find(is, 100) && intset_find(is, -3) && !intset_find(is, 6));
    intset_free(is);
}

// A value past 16 bits rewrites the set at 32 bits; a positive one lands last, a negative
// one first, and every old element survives.
Test(intset, wide_value_upgrades_to_32_bits)
{
    struct intset *is = intset_new();
    intset_add(&is, 1);
    intset_add(&is, -2);
    intset_add(&is, 32767);
    cr_assert_eq(intset_width(is), INTSET_WIDTH16);
    intset_add(&is, 32768);
    cr_assert_eq(intset_width(is), INTSET_WIDTH32);
    intset_add(&is, -40000);
    int64_t want[] = {-40000, -2, 1, 32767, 32768};
    assert_elements(is, want, 5);
    intset_free(is);
}

// A 64-bit value upgrades a 16-bit set directly; INT64_MIN and INT64_MAX are kept exactly.
Test(intset, extreme_values_upgrade_to_64_bits)
{
    struct intset *is = intset_new();
    intset_add(&is, 3);
    intset_add(&is, INT64_MIN);
    cr_assert_eq(intset_width(is), INTSET_WIDTH64);
    intset_add(&is, INT64_MAX);
    intset_add(&is, (int64_t)INT32_MAX + 1);
    int64_t want[] = {INT64_MIN, 3, (int64_t)INT32_MAX + 1, INT64_MAX};
    assert_elements(is, want, 4);
    cr_assert(intset_find(is, INT64_MIN) && intset_find(is, INT64_MAX));
    intset_free(is);
}

// Removing a value wider than the encoding, or absent, changes nothing; removing the wide
// value does not narrow the encoding (as in Redis).
Test(intset, remove_never_downgrades)
{
    struct intset *is = intset_new();
    intset_add(&is, 1);
    intset_add(&is, 2);
    cr_assert_eq(intset_remove(&is, 1LL << 40), 0);
    cr_assert_eq(intset_remove(&is, 3), 0);
    intset_add(&is, 1LL << 40);
    cr_assert_eq(intset_remove(&is, 1LL << 40), 1);
    cr_assert_eq(intset_width(is), INTSET_WIDTH64);
    int64_t want[] = {1, 2};
    assert_elements(is, want, 2);
    cr_assert_eq(intset_remove(&is, 1), 1);
    cr_assert_eq(intset_remove(&is, 2), 1);
    cr_assert_eq(intset_len(is), 0);
    intset_free(is);
}

// intset_bytes counts the header and width times the length.
Test(intset, bytes_grow_with_length_and_width)
{
    struct intset *is = intset_new();
    size_t empty = intset_bytes(is);
    intset_add(&is, 1);
    intset_add(&is, 2);
    cr_assert_eq(intset_bytes(is), empty + 2 * 2);
    intset_add(&is, 1 << 20);
    cr_assert_eq(intset_bytes(is), empty + 3 * 4);
    intset_free(is);
}

// A random pick is always a member, and the same PRNG seed picks the same members.
Test(intset, random_is_a_member_and_deterministic)
{
    struct intset *is = intset_new();
    for (int i = 0; i < 50; i++)
        intset_add(&is, i * 3);
    struct prng a, b;
    prng_seed(&a, 1, 2);
    prng_seed(&b, 1, 2);
    int seen_other = 0;
    int64_t first = intset_random(is, &a);
    prng_seed(&a, 1, 2);
    for (int i = 0; i < 200; i++) {
        int64_t v = intset_random(is, &a);
        cr_assert(intset_find(is, v));
        cr_assert_eq(v, intset_random(is, &b));
        seen_other |= v != first;
    }
    cr_assert(seen_other);
    intset_free(is);
}

// Only the canonical decimal form of an int64 is intset material, as Redis's string2ll.
Test(intset, parse_accepts_only_canonical_integers)
{
    int64_t v;
    cr_assert(intset_parse("12", 2, &v) && v == 12);
    cr_assert(intset_parse("-9223372036854775808", 20, &v) && v == INT64_MIN);
    cr_assert(intset_parse("0", 1, &v) && v == 0);
    const char *bad[] = {"", "012", "+1", " 1", "1 ", "1e3", "-0", "9223372036854775808",
                         "1.0", "-"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        cr_assert_eq(intset_parse(bad[i], strlen(bad[i]), &v), 0, "%s", bad[i]);
}

/* ---- model test ---- */

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t draw_value(struct prng *p)
{
    switch (prng_below(p, 4)) {
    case 0: return (int64_t)prng_below(p, 200) - 100;
    case 1: return (int64_t)prng_below(p, 200000) - 100000;
    case 2: return (int64_t)prng_next(p);
    default: return (int64_t)prng_below(p, 70000);
    }
}

// Random adds and removes agree with a sorted array model at every step, and the
// encoding is the narrowest that held every value ever added.
Test(intset, model_random_operations_match_sorted_array)
{
    struct prng p;
    prng_seed(&p, 20261202, 1);
    struct intset *is = intset_new();
    int64_t *model = malloc(sizeof(int64_t) * 20000);
    size_t n = 0;
    int widest = INTSET_WIDTH16;
    for (int step = 0; step < 20000; step++) {
        int64_t v = draw_value(&p);
        int64_t *hit = bsearch(&v, model, n, sizeof(*model), cmp64);
        if (prng_below(&p, 3) > 0) {
            cr_assert_eq(intset_add(&is, v), hit == NULL);
            if (!hit) {
                model[n++] = v;
                qsort(model, n, sizeof(*model), cmp64);
            }
            int w = v >= INT16_MIN && v <= INT16_MAX ? 2 : v >= INT32_MIN && v <= INT32_MAX ? 4 : 8;
            widest = w > widest ? w : widest;
        } else {
            cr_assert_eq(intset_remove(&is, v), hit != NULL);
            if (hit) {
                memmove(hit, hit + 1, (size_t)(model + n - hit - 1) * sizeof(*model));
                n--;
            }
        }
        cr_assert_eq(intset_width(is), widest);
        if (step % 500 == 0)
            assert_elements(is, model, (uint32_t)n);
    }
    assert_elements(is, model, (uint32_t)n);
    free(model);
    intset_free(is);
}
