/* Unit tests for dict.c: add/find/delete with binary keys, growth and shrink through
 * incremental rehashing, deterministic iteration order, deletion while iterating, the
 * SCAN cursor across rehashes, random picks during a rehash, incremental free, and a
 * randomized model test against a sorted array with a fixed seed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"

static size_t key_of(char *buf, int i)
{
    return (size_t)snprintf(buf, 32, "key:%d", i);
}

static void add_n(struct dict *d, int from, int to)
{
    char k[32];
    for (int i = from; i < to; i++) {
        size_t n = key_of(k, i);
        cr_assert_eq(dict_add(d, k, n, (void *)(intptr_t)(i + 1)), 1);
    }
}

// An empty dict finds nothing, deletes nothing, scans nothing and picks nothing.
Test(dict, empty_dict_finds_nothing)
{
    struct dict *d = dict_new(DICT_DEFAULT_SEED);
    struct prng p;
    prng_seed(&p, 1, 1);
    cr_assert_eq(dict_size(d), 0);
    cr_assert_null(dict_find(d, "a", 1));
    cr_assert_eq(dict_delete(d, "a", 1, NULL), 0);
    cr_assert_null(dict_random(d, &p));
    cr_assert_eq(dict_scan(d, 0, NULL, NULL), 0);
    struct dict_iter it;
    dict_iter_init(&it, d);
    cr_assert_null(dict_iter_next(&it));
    dict_iter_close(&it);
    dict_free(d, NULL);
    dict_free(NULL, NULL);
}

// Adding an existing key changes nothing and returns 0; dict_insert finds it.
Test(dict, add_existing_key_returns_zero)
{
    struct dict *d = dict_new(DICT_DEFAULT_SEED);
    cr_assert_eq(dict_add(d, "k", 1, (void *)1), 1);
    cr_assert_eq(dict_add(d, "k", 1, (void *)2), 0);
    int added;
    struct dict_entry *e = dict_insert(d, "k", 1, &added);
    cr_assert_eq(added, 0);
    cr_assert_eq(e->val, (void *)1);
    cr_assert_eq(dict_size(d), 1);
    dict_free(d, NULL);
}

// Keys are binary-safe: embedded NULs, the empty key and prefixes are distinct keys.
Test(dict, keys_are_binary_safe)
{
    struct dict *d = dict_new(DICT_DEFAULT_SEED);
    cr_assert(dict_add(d, "a\0b", 3, (void *)1));
    cr_assert(dict_add(d, "a\0c", 3, (void *)2));
    cr_assert(dict_add(d, "a", 1, (void *)3));
    cr_assert(dict_add(d, "", 0, (void *)4));
    cr_assert_eq(dict_find(d, "a\0c", 3)->val, (void *)2);
    cr_assert_eq(dict_find(d, "", 0)->val, (void *)4);
    cr_assert_eq(dict_find(d, "a", 1)->klen, 1);
    cr_assert_null(dict_find(d, "a\0", 2));
    void *v;
    cr_assert_eq(dict_delete(d, "a\0b", 3, &v), 1);
    cr_assert_eq(v, (void *)1);
    cr_assert_null(dict_find(d, "a\0b", 3));
    cr_assert_eq(dict_size(d), 3);
    dict_free(d, NULL);
}

// Past a load of 1 the dict rehashes incrementally, and every key stays findable while
// the rehash is in progress.
Test(dict, keys_stay_findable_during_incremental_rehash)
{
    struct dict *d = dict_new(DICT_DEFAULT_SEED);
    int seen_rehash = 0;
    char k[32];
    for (int i = 0; i < 1000; i++) {
        add_n(d, i, i + 1);
        if (dict_is_rehashing(d)) {
            seen_rehash = 1;
            for (int j = 0; j <= i; j++) {
                size_t n = key_of(k, j);
                struct dict_entry *e = dict_find(d, k, n);
                cr_assert_not_null(e, "key %d lost during rehash", j);
                cr_assert_eq(e->val, (void *)(intptr_t)(j + 1));
            }
        }
    }
    cr_assert(seen_rehash);
    while (dict_rehash_step(d, 100))
        ;
    cr_assert_eq(dict_size(d), 1000);
    dict_free(d, NULL);
}

// After most keys are deleted the table shrinks (dict_bytes falls) and the rest remain.
Test(dict, deletes_shrink_the_table)
{
    struct dict *d = dict_new(DICT_DEFAULT_SEED);
    add_n(d, 0, 4096);
    while (dict_rehash_step(d, 100))
        ;
    size_t big = dict_bytes(d);
    char k[32];
    for (int i = 10; i < 4096; i++) {
        size_t n = key_of(k, i);
        cr_assert_eq(dict_delete(d, k, n, NULL), 1);
    }
    while (dict_rehash_step(d, 100))
        ;
    cr_assert_lt(dict_bytes(d), big / 10);
    for (int i = 0; i < 10; i++) {
        size_t n = key_of(k, i);
        cr_assert_not_null(dict_find(d, k, n));
    }
    dict_free(d, NULL);
}

static void collect(struct dict *d, char **out, int max)
{
    struct dict_iter it;
    dict_iter_init(&it, d);
    int n = 0;
    for (struct dict_entry *e; (e = dict_iter_next(&it));)
        out[n++] = strdup(e->key);
    cr_assert_leq(n, max);
    dict_iter_close(&it);
}

// The same operations on two dicts (as on two nodes) give the same iteration order,
// mid-rehash included; the order does not depend on the process.
Test(dict, same_operations_give_same_iteration_order)
{
    struct dict *a = dict_new(DICT_DEFAULT_SEED), *b = dict_new(DICT_DEFAULT_SEED);
    char k[32];
    for (int i = 0; i < 3000; i++) {
        size_t n = key_of(k, i * 7 % 1000);
        if (i % 3 == 2) {
            dict_delete(a, k, n, NULL);
            dict_delete(b, k, n, NULL);
        } else {
            dict_add(a, k, n, NULL);
            dict_add(b, k, n, NULL);
        }
    }
    char *oa[1000], *ob[1000];
    size_t size = dict_size(a);
    cr_assert_eq(size, dict_size(b));
    collect(a, oa, 1000);
    collect(b, ob, 1000);
    for (size_t i = 0; i < size; i++) {
        cr_assert_str_eq(oa[i], ob[i]);
        free(oa[i]);
        free(ob[i]);
    }
    dict_free(a, NULL);
    dict_free(b, NULL);
}

// An iterator visits each element once, and the element just returned may be deleted;
// no rehash step runs meanwhile.
Test(dict, iteration_allows_deleting_the_current_element)
{
    struct dict *d = dict_new(DICT_DEFAULT_SEED);
    add_n(d, 0, 777);
    struct dict_iter it;
    dict_iter_init(&it, d);
    int visited = 0;
    for (struct dict_entry *e; (e = dict_iter_next(&it));) {
        visited++;
        intptr_t v = (intptr_t)e->val;
        if (v % 2 == 0)
            cr_assert_eq(dict_delete(d, e->key, e->klen, NULL), 1);
    }
    dict_iter_close(&it);
    cr_assert_eq(visited, 777);
    cr_assert_eq(dict_size(d), 389);
    dict_free(d, NULL);
}

struct seen {
    unsigned char *hit; /* per key index: times returned */
};

static void mark(void *ud, const struct dict_entry *e)
{
    struct seen *s = ud;
    s->hit[(intptr_t)e->val - 1]++;
}

// A scan that starts before a growth and continues through its incremental rehash (and
// more adds) returns every element present from start to end at least once.
Test(dict, scan_returns_every_element_across_growth)
{
    struct dict *d = dict_new(DICT_DEFAULT_SEED);
    add_n(d, 0, 500);
    while (dict_rehash_step(d, 100))
        ;
    struct seen s = {calloc(5000, 1)};
    uint64_t cursor = 0;
    int next = 500, steps = 0, scanned_while_rehashing = 0;
    do {
        cursor = dict_scan(d, cursor, mark, &s);
        if (next < 5000) {
            add_n(d, next, next + 20); /* grows the table, several times, mid-scan */
            next += 20;
        }
        scanned_while_rehashing |= dict_is_rehashing(d);
        steps++;
    } while (cursor != 0);
    cr_assert(scanned_while_rehashing);
    for (int i = 0; i < 500; i++)
        cr_assert_geq(s.hit[i], 1, "key %d missed", i);
    free(s.hit);
    dict_free(d, NULL);
}

// A scan through a shrink (deletes mid-scan) still returns every element never deleted.
Test(dict, scan_returns_every_element_across_shrink)
{
    struct dict *d = dict_new(DICT_DEFAULT_SEED);
    add_n(d, 0, 4000);
    while (dict_rehash_step(d, 100))
        ;
    struct seen s = {calloc(4000, 1)};
    uint64_t cursor = 0;
    int del = 100;
    char k[32];
    do {
        cursor = dict_scan(d, cursor, mark, &s);
        for (int j = 0; j < 50 && del < 4000; j++, del++) {
            size_t n = key_of(k, del);
            dict_delete(d, k, n, NULL);
        }
    } while (cursor != 0);
    for (int i = 0; i < 100; i++)
        cr_assert_geq(s.hit[i], 1, "key %d missed", i);
    free(s.hit);
    dict_free(d, NULL);
}

// A full scan started and finished while a rehash is in progress returns every element.
Test(dict, scan_during_rehash_in_progress_returns_everything)
{
    struct dict *d = dict_new(DICT_DEFAULT_SEED);
    add_n(d, 0, 1025); /* the 1025th add starts a rehash from 1024 buckets */
    cr_assert(dict_is_rehashing(d));
    struct seen s = {calloc(1025, 1)};
    uint64_t cursor = 0;
    do
        cursor = dict_scan(d, cursor, mark, &s);
    while (cursor != 0);
    cr_assert(dict_is_rehashing(d), "scan must not rehash");
    for (int i = 0; i < 1025; i++)
        cr_assert_geq(s.hit[i], 1, "key %d missed", i);
    free(s.hit);
    dict_free(d, NULL);
}

// Random picks are members, reach most elements, work mid-rehash, leave the dict
// unchanged, and repeat exactly for the same PRNG seed.
Test(dict, random_picks_are_members_and_deterministic)
{
    struct dict *d = dict_new(DICT_DEFAULT_SEED);
    add_n(d, 0, 1025);
    cr_assert(dict_is_rehashing(d));
    struct prng a, b;
    prng_seed(&a, 77, 0);
    prng_seed(&b, 77, 0);
    unsigned char *hit = calloc(1025, 1);
    int distinct = 0;
    for (int i = 0; i < 20000; i++) {
        struct dict_entry *e = dict_random(d, &a);
        cr_assert_not_null(e);
        cr_assert_eq(e, dict_random(d, &b));
        intptr_t v = (intptr_t)e->val - 1;
        cr_assert(v >= 0 && v < 1025);
        distinct += hit[v]++ == 0;
    }
    cr_assert(dict_is_rehashing(d), "random must not rehash");
    cr_assert_gt(distinct, 900);
    free(hit);
    dict_free(d, NULL);
}

static int freed_values;

static void count_free(void *val)
{
    freed_values += val != NULL;
}

// Incremental free of a 1,000,000-member set takes many bounded steps, releases every
// value, and completes.
Test(dict, incremental_free_of_a_million_members_completes)
{
    struct dict *d = dict_new(DICT_DEFAULT_SEED);
    add_n(d, 0, 1000000);
    freed_values = 0;
    int calls = 0, last_count = 0;
    while (!dict_free_step(d, 1000, count_free)) {
        calls++;
        cr_assert_leq(freed_values - last_count, 1000 + 16, "a step freed too much");
        last_count = freed_values;
    }
    cr_assert_eq(freed_values, 1000000);
    cr_assert_geq(calls, 999);
}

/* ---- model test ---- */

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

// Random adds, deletes, lookups and rehash steps agree with a sorted array of the keys
// present; a full iteration and a full scan return exactly that set.
Test(dict, model_random_operations_match_sorted_array)
{
    struct prng p;
    prng_seed(&p, 20261202, 3);
    struct dict *d = dict_new(DICT_DEFAULT_SEED);
    int *model = malloc(sizeof(int) * 3000), n = 0;
    char k[32];
    for (int step = 0; step < 60000; step++) {
        int key = (int)prng_below(&p, step < 30000 ? 3000 : 300);
        size_t kl = key_of(k, key);
        int *hit = bsearch(&key, model, (size_t)n, sizeof(int), cmp_int);
        switch (prng_below(&p, 5)) {
        case 0:
        case 1:
            cr_assert_eq(dict_add(d, k, kl, (void *)(intptr_t)(key + 1)), hit == NULL);
            if (!hit) {
                model[n++] = key;
                qsort(model, (size_t)n, sizeof(int), cmp_int);
            }
            break;
        case 2:
        case 3:
            cr_assert_eq(dict_delete(d, k, kl, NULL), hit != NULL);
            if (hit) {
                memmove(hit, hit + 1, (size_t)(model + n - hit - 1) * sizeof(int));
                n--;
            }
            break;
        default:
            cr_assert_eq(dict_find(d, k, kl) != NULL, hit != NULL);
            dict_rehash_step(d, 1);
        }
        cr_assert_eq(dict_size(d), (size_t)n);
        if (step % 2000 == 0) {
            struct seen s = {calloc(3000, 1)};
            uint64_t cursor = 0;
            do
                cursor = dict_scan(d, cursor, mark, &s);
            while (cursor != 0);
            for (int i = 0, j = 0; i < 3000; i++) {
                int present = j < n && model[j] == i;
                cr_assert_eq(s.hit[i], present, "scan of key %d", i);
                j += present;
            }
            free(s.hit);
        }
    }
    free(model);
    dict_free(d, NULL);
}

/* ---- snapshot restore ---- */

struct order {
    char *keys[4000];
    int n;
};

static void record(void *ud, const struct dict_entry *e)
{
    struct order *o = ud;
    o->keys[o->n++] = strdup(e->key);
}

/* Iteration order, full scan order and 50 random picks of D, as strings in O. */
static void observe(struct dict *d, struct order *o)
{
    o->n = 0;
    struct dict_iter it;
    dict_iter_init(&it, d);
    for (struct dict_entry *e; (e = dict_iter_next(&it));)
        record(o, e);
    dict_iter_close(&it);
    uint64_t c = 0;
    do
        c = dict_scan(d, c, record, o);
    while (c != 0);
    struct prng p;
    prng_seed(&p, 5, 5);
    for (int i = 0; i < 50; i++)
        record(o, dict_random(d, &p));
}

static void assert_same_and_free(struct order *a, struct order *b)
{
    cr_assert_eq(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        cr_assert_str_eq(a->keys[i], b->keys[i], "observation %d", i);
        free(a->keys[i]);
        free(b->keys[i]);
    }
}

/* Snapshot D (shape + elements in iteration order) and rebuild it. */
static struct dict *snapshot_and_restore(struct dict *d)
{
    struct dict_shape shape;
    dict_get_shape(d, &shape);
    struct dict *r = dict_new_shaped(DICT_DEFAULT_SEED, &shape);
    cr_assert_not_null(r);
    struct dict_iter it;
    dict_iter_init(&it, d);
    for (struct dict_entry *e; (e = dict_iter_next(&it));)
        cr_assert_not_null(dict_restore_append(r, e->key, e->klen, e->val));
    dict_iter_close(&it);
    cr_assert_eq(dict_restore_done(r), 0);
    return r;
}

// A dict rebuilt from its shape and elements (mid-rehash too) iterates, scans and picks
// at random exactly as the original, and keeps doing so after the same further changes:
// a node restored from a snapshot answers as the leader does.
Test(dict, restored_dict_behaves_identically)
{
    for (int round = 0; round < 2; round++) {
        struct dict *d = dict_new(DICT_DEFAULT_SEED);
        add_n(d, 0, 3000);
        char k[32];
        for (int i = 0; i < 2800; i++) { /* shrink, leaving it mid-rehash or not */
            size_t n = key_of(k, i);
            dict_delete(d, k, n, NULL);
        }
        if (round == 1)
            add_n(d, 5000, 5400); /* grow again */
        while (round == 0 && dict_rehash_step(d, 1))
            ;
        cr_assert_eq(dict_is_rehashing(d), round == 1, "round 1 is mid-rehash");
        struct dict *r = snapshot_and_restore(d);
        cr_assert_eq(dict_is_rehashing(r), dict_is_rehashing(d));
        static struct order a, b;
        observe(d, &a);
        observe(r, &b);
        assert_same_and_free(&a, &b);
        add_n(d, 9000, 9500);
        add_n(r, 9000, 9500);
        observe(d, &a);
        observe(r, &b);
        assert_same_and_free(&a, &b);
        dict_free(d, NULL);
        dict_free(r, NULL);
    }
}

// Impossible shapes and misplaced elements from a damaged snapshot are refused.
Test(dict, damaged_snapshot_shapes_are_refused)
{
    struct dict_shape bad[] = {
        {3, 0, -1, 0},    /* not a power of two */
        {4, 8, -1, 0},    /* a second table without a rehash */
        {4, 0, 0, 0},     /* a rehash into nothing */
        {4, 8, 4, 0},     /* rehash index past t[0] */
        {4, 8, -2, 0},
        {1ULL << 50, 0, -1, 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        cr_assert_null(dict_new_shaped(DICT_DEFAULT_SEED, &bad[i]), "shape %zu", i);
    struct dict_shape one = {4, 0, -1, 1};
    struct dict *d = dict_new_shaped(DICT_DEFAULT_SEED, &one);
    cr_assert_not_null(dict_restore_append(d, "a", 1, NULL));
    cr_assert_null(dict_restore_append(d, "a", 1, NULL), "duplicate");
    cr_assert_null(dict_restore_append(d, "b", 1, NULL), "more than used0, and no t[1]");
    cr_assert_eq(dict_restore_done(d), 0);
    dict_free(d, NULL);
    struct dict_shape two = {4, 0, -1, 2};
    d = dict_new_shaped(DICT_DEFAULT_SEED, &two);
    dict_restore_append(d, "a", 1, NULL);
    cr_assert_eq(dict_restore_done(d), -1, "fewer elements than recorded");
    dict_free(d, NULL);
}
