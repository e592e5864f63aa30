/* Unit tests for the keyspace (src/kv.c): lookups, expiry metadata, incremental rehashing,
 * SCAN guarantees, sampling, tombstones and the digest. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "util.h"

#define NOW 1700000000000LL

static size_t key_of(char *buf, int i)
{
    return (size_t)sprintf(buf, "key:%07d", i);
}

static void set_int(struct kv_store *kv, int i, int64_t expire_ms)
{
    char k[32], v[32];
    size_t kl = key_of(k, i);
    size_t vl = (size_t)sprintf(v, "val:%d", i);
    kv_set(kv, k, kl, v, vl, expire_ms, (uint64_t)i + 1);
}

static int has_int(struct kv_store *kv, int i)
{
    char k[32], v[32];
    size_t kl = key_of(k, i);
    size_t vl = (size_t)sprintf(v, "val:%d", i);
    struct kv_entry *e = kv_find(kv, k, kl);
    return e && e->vlen == vl && memcmp(kv_entry_val(e), v, vl) == 0;
}

static int del_int(struct kv_store *kv, int i, uint64_t seq)
{
    char k[32];
    size_t kl = key_of(k, i);
    return kv_delete(kv, k, kl, seq);
}

/* Marks which "key:NNNNNNN" keys a visitor saw, and how many times in total. */
struct seen {
    unsigned char *hits;
    size_t n;
    size_t visits;
};

static void seen_init(struct seen *s, size_t n)
{
    s->hits = calloc(n, 1);
    s->n = n;
    s->visits = 0;
}

static void mark_seen(void *priv, const struct kv_entry *e)
{
    struct seen *s = priv;
    int i = atoi(kv_entry_key(e) + 4);
    cr_assert(i >= 0 && (size_t)i < s->n);
    if (s->hits[i] < 255)
        s->hits[i]++;
    s->visits++;
}

// A stored key is found with its value, its mod_seq and NUL terminators.
Test(kv, set_then_find_returns_value)
{
    struct kv_store *kv = kv_new();
    kv_set(kv, "foo", 3, "bar", 3, KV_NO_EXPIRE, 42);
    struct kv_entry *e = kv_find(kv, "foo", 3);
    cr_assert_not_null(e);
    cr_assert_eq(e->klen, 3);
    cr_assert_eq(e->vlen, 3);
    cr_assert_eq(memcmp(kv_entry_key(e), "foo", 3), 0); /* the key has no NUL of its own */
    cr_assert_str_eq(kv_entry_val(e), "bar");
    cr_assert_eq(e->mod_seq, 42);
    cr_assert_eq(kv_size(kv), 1);
    cr_assert_null(kv_find(kv, "fo", 2));
    cr_assert_null(kv_find(kv, "foo2", 4));
    kv_free(kv);
}

// Deleting a key removes it and reports whether anything was deleted.
Test(kv, delete_removes_key_once)
{
    struct kv_store *kv = kv_new();
    kv_set(kv, "a", 1, "1", 1, KV_NO_EXPIRE, 1);
    kv_set(kv, "b", 1, "2", 1, KV_NO_EXPIRE, 2);
    cr_assert_eq(kv_delete(kv, "a", 1, 3), 1);
    cr_assert_null(kv_find(kv, "a", 1));
    cr_assert_not_null(kv_find(kv, "b", 1));
    cr_assert_eq(kv_delete(kv, "a", 1, 4), 0);
    cr_assert_eq(kv_size(kv), 1);
    kv_free(kv);
}

// Setting an existing key replaces its entry rather than adding a second one.
Test(kv, set_replaces_existing_entry)
{
    struct kv_store *kv = kv_new();
    kv_set(kv, "k", 1, "old", 3, NOW + 1000, 1);
    struct kv_entry *e = kv_set(kv, "k", 1, "newer", 5, KV_NO_EXPIRE, 2);
    cr_assert_eq(kv_size(kv), 1);
    cr_assert_eq(kv_find(kv, "k", 1), e);
    cr_assert_str_eq(kv_entry_val(e), "newer");
    cr_assert_eq(e->mod_seq, 2);
    cr_assert_eq(e->expire_ms, KV_NO_EXPIRE);
    cr_assert_eq(kv_expires(kv), 0);
    kv_free(kv);
}

// Keys and values may contain NUL bytes; keys differing after a NUL are distinct.
Test(kv, binary_safe_keys_and_values)
{
    struct kv_store *kv = kv_new();
    kv_set(kv, "a\0b", 3, "x\0y\0", 4, KV_NO_EXPIRE, 1);
    kv_set(kv, "a\0c", 3, "", 0, KV_NO_EXPIRE, 2);
    kv_set(kv, "", 0, "empty", 5, KV_NO_EXPIRE, 3);
    cr_assert_eq(kv_size(kv), 3);
    struct kv_entry *e = kv_find(kv, "a\0b", 3);
    cr_assert_not_null(e);
    cr_assert_eq(e->vlen, 4);
    cr_assert_eq(memcmp(kv_entry_val(e), "x\0y\0", 5), 0);
    e = kv_find(kv, "a\0c", 3);
    cr_assert_not_null(e);
    cr_assert_eq(e->vlen, 0);
    cr_assert_eq(kv_entry_val(e)[0], '\0');
    cr_assert_null(kv_find(kv, "a", 1));
    e = kv_find(kv, "", 0);
    cr_assert_not_null(e);
    cr_assert_str_eq(kv_entry_val(e), "empty");
    kv_free(kv);
}

// kv_lookup hides a key whose TTL has passed; kv_find still returns it.
Test(kv, lookup_hides_expired_find_does_not)
{
    struct kv_store *kv = kv_new();
    kv_set(kv, "t", 1, "v", 1, NOW, 1);
    cr_assert_not_null(kv_lookup(kv, "t", 1, NOW - 1));
    cr_assert_null(kv_lookup(kv, "t", 1, NOW));
    cr_assert_null(kv_lookup(kv, "t", 1, NOW + 1));
    cr_assert_not_null(kv_find(kv, "t", 1));
    cr_assert_eq(kv_size(kv), 1);
    kv_set(kv, "p", 1, "v", 1, KV_NO_EXPIRE, 2);
    cr_assert_not_null(kv_lookup(kv, "p", 1, INT64_MAX));
    kv_free(kv);
}

// The count of keys with a TTL follows set, set_expire, replace, delete and flush.
Test(kv, expires_count_is_kept_exact)
{
    struct kv_store *kv = kv_new();
    kv_set(kv, "a", 1, "1", 1, NOW, 1);
    kv_set(kv, "b", 1, "1", 1, KV_NO_EXPIRE, 2);
    cr_assert_eq(kv_expires(kv), 1);
    struct kv_entry *b = kv_find(kv, "b", 1);
    kv_set_expire(kv, b, NOW + 5, 3);
    cr_assert_eq(kv_expires(kv), 2);
    cr_assert_eq(b->expire_ms, NOW + 5);
    cr_assert_eq(b->mod_seq, 3);
    kv_set_expire(kv, b, NOW + 6, 4);
    cr_assert_eq(kv_expires(kv), 2);
    kv_set_expire(kv, b, KV_NO_EXPIRE, 5);
    cr_assert_eq(kv_expires(kv), 1);
    kv_set(kv, "a", 1, "2", 1, KV_NO_EXPIRE, 6);
    cr_assert_eq(kv_expires(kv), 0);
    kv_set(kv, "a", 1, "3", 1, NOW, 7);
    cr_assert_eq(kv_expires(kv), 1);
    kv_delete(kv, "a", 1, 8);
    cr_assert_eq(kv_expires(kv), 0);
    kv_set(kv, "c", 1, "1", 1, NOW, 9);
    kv_flush(kv, 10);
    cr_assert_eq(kv_expires(kv), 0);
    kv_free(kv);
}

// Used memory grows with entries and comes back near the baseline once they are deleted.
Test(kv, used_memory_tracks_entries)
{
    struct kv_store *kv = kv_new();
    size_t base = kv_used_memory(kv);
    cr_assert_gt(base, 4096 * sizeof(uint64_t) - 1);
    for (int i = 0; i < 10000; i++)
        set_int(kv, i, KV_NO_EXPIRE);
    size_t full = kv_used_memory(kv);
    /* Each entry takes at least its header and bytes; the table one pointer per bucket. */
    cr_assert_geq(full, base + 10000 * (sizeof(struct kv_entry) + 20 + 8));
    cr_assert_lt(full, base + 10000 * 128 + 16384 * 8 * 3);
    char big[1000];
    memset(big, 'x', sizeof big);
    kv_set(kv, "key:0000000", 11, big, sizeof big, KV_NO_EXPIRE, 1);
    cr_assert_geq(kv_used_memory(kv), full + 900);
    for (int i = 0; i < 10000; i++)
        cr_assert_eq(del_int(kv, i, 1), 1);
    while (kv_rehash_step(kv, 100))
        ;
    cr_assert_eq(kv_size(kv), 0);
    cr_assert_lt(kv_used_memory(kv), base + 1024);
    kv_flush(kv, 1);
    cr_assert_eq(kv_used_memory(kv), base);
    kv_free(kv);
}

// Growing to 100k keys rehashes incrementally and keeps every key findable throughout.
Test(kv, growth_keeps_keys_findable_mid_rehash)
{
    struct kv_store *kv = kv_new();
    int checked_mid = 0;
    for (int i = 0; i < 100000; i++) {
        set_int(kv, i, KV_NO_EXPIRE);
        if (i == 65536) { /* the insert that passed 65536 started a rehash */
            cr_assert_eq(kv_rehash_step(kv, 0), 1);
            struct seen s;
            seen_init(&s, 100000);
            kv_foreach(kv, mark_seen, &s);
            cr_assert_eq(s.visits, (size_t)i + 1);
            free(s.hits);
            for (int j = 0; j <= i; j += 7)
                cr_assert(has_int(kv, j), "key %d lost mid-rehash", j);
            cr_assert_eq(kv_rehash_step(kv, 0), 1, "a few finds must not finish the rehash");
            checked_mid = 1;
        }
    }
    cr_assert(checked_mid);
    cr_assert_eq(kv_size(kv), 100000);
    for (int i = 0; i < 100000; i++)
        cr_assert(has_int(kv, i), "key %d lost", i);
    while (kv_rehash_step(kv, 1000))
        ;
    for (int i = 0; i < 100000; i++)
        cr_assert(has_int(kv, i), "key %d lost after rehash", i);
    kv_free(kv);
}

// Explicit rehash steps are bounded: one step does not complete a big rehash.
Test(kv, rehash_step_is_incremental)
{
    struct kv_store *kv = kv_new();
    for (int i = 0; i <= 4096; i++)
        set_int(kv, i, KV_NO_EXPIRE);
    cr_assert_eq(kv_rehash_step(kv, 0), 1);
    cr_assert_eq(kv_rehash_step(kv, 1), 1);
    int steps = 0;
    while (kv_rehash_step(kv, 1))
        steps++;
    cr_assert_gt(steps, 100);
    cr_assert_eq(kv_rehash_step(kv, 1), 0);
    kv_free(kv);
}

// A table emptied to a few keys shrinks, freeing its bucket array, and keeps the survivors.
Test(kv, sparse_table_shrinks)
{
    struct kv_store *kv = kv_new();
    size_t base = kv_used_memory(kv);
    for (int i = 0; i < 20000; i++)
        set_int(kv, i, KV_NO_EXPIRE);
    while (kv_rehash_step(kv, 100))
        ;
    cr_assert_gt(kv_used_memory(kv), base + 32768 * sizeof(void *));
    for (int i = 10; i < 20000; i++)
        del_int(kv, i, 1);
    while (kv_rehash_step(kv, 100))
        ;
    cr_assert_eq(kv_size(kv), 10);
    /* Ten small entries and a table of at most 8 buckets per entry. */
    cr_assert_lt(kv_used_memory(kv), base + 10 * 64 + 80 * sizeof(void *) + 64);
    for (int i = 0; i < 10; i++)
        cr_assert(has_int(kv, i));
    kv_free(kv);
}

struct scan_run {
    struct seen s;
    size_t calls;
};

/* Scan to completion with COUNT, calling CHANGE(kv, call number) between calls. */
static void scan_all(struct kv_store *kv, struct scan_run *r, size_t count,
                     void (*change)(struct kv_store *, size_t))
{
    uint64_t cursor = 0;
    r->calls = 0;
    do {
        cursor = kv_scan(kv, cursor, count, mark_seen, &r->s);
        r->calls++;
        cr_assert_lt(r->calls, 1000000, "scan does not terminate");
        if (change)
            change(kv, r->calls);
    } while (cursor != 0);
}

/* Stable keys are 0..999; churn keys are 100000 and up. */
static void grow_churn(struct kv_store *kv, size_t call)
{
    for (int i = 0; i < 50; i++)
        set_int(kv, 100000 + (int)call * 50 + i, KV_NO_EXPIRE);
    if (call > 2)
        del_int(kv, 100000 + (int)(call - 2) * 50, call);
}

static void shrink_churn(struct kv_store *kv, size_t call)
{
    for (int i = 0; i < 200; i++)
        del_int(kv, 100000 + (int)call * 200 + i, call);
    set_int(kv, 200000 + (int)call, KV_NO_EXPIRE);
}

// A scan sees every key present throughout, while other keys are added and the table grows.
Test(kv, scan_complete_while_growing)
{
    struct kv_store *kv = kv_new();
    struct scan_run r;
    for (int i = 0; i < 1000; i++)
        set_int(kv, i, KV_NO_EXPIRE);
    seen_init(&r.s, 400000);
    scan_all(kv, &r, 10, grow_churn);
    for (int i = 0; i < 1000; i++)
        cr_assert_geq(r.s.hits[i], 1, "key %d missed", i);
    cr_assert_gt(kv_size(kv), 8000, "the table must have grown several times");
    free(r.s.hits);
    kv_free(kv);
}

// A scan sees every key present throughout, while most keys are deleted and the table shrinks.
Test(kv, scan_complete_while_shrinking)
{
    struct kv_store *kv = kv_new();
    struct scan_run r;
    for (int i = 0; i < 1000; i++)
        set_int(kv, i, KV_NO_EXPIRE);
    for (int i = 100000; i < 160000; i++)
        set_int(kv, i, KV_NO_EXPIRE);
    seen_init(&r.s, 400000);
    scan_all(kv, &r, 5, shrink_churn);
    for (int i = 0; i < 1000; i++)
        cr_assert_geq(r.s.hits[i], 1, "key %d missed", i);
    cr_assert_lt(kv_size(kv), 3000);
    free(r.s.hits);
    kv_free(kv);
}

// A scan started mid-rehash and left unchanged visits every key, mostly once.
Test(kv, scan_during_rehash_visits_all)
{
    struct kv_store *kv = kv_new();
    struct scan_run r;
    for (int i = 0; i <= 1024; i++)
        set_int(kv, i, KV_NO_EXPIRE);
    cr_assert_eq(kv_rehash_step(kv, 0), 1);
    seen_init(&r.s, 2000);
    scan_all(kv, &r, 1, NULL);
    for (int i = 0; i <= 1024; i++)
        cr_assert_eq(r.s.hits[i], 1, "key %d seen %d times", i, r.s.hits[i]);
    free(r.s.hits);
    kv_free(kv);
}

static void count_visit(void *priv, const struct kv_entry *e)
{
    (*(size_t *)priv)++;
}

// COUNT is honoured as a minimum while keys remain; an empty store scans to 0 at once.
Test(kv, scan_visits_at_least_count)
{
    struct kv_store *kv = kv_new();
    size_t n = 0;
    cr_assert_eq(kv_scan(kv, 0, 10, count_visit, &n), 0);
    cr_assert_eq(n, 0);
    for (int i = 0; i < 5000; i++)
        set_int(kv, i, KV_NO_EXPIRE);
    uint64_t cursor = kv_scan(kv, 0, 100, count_visit, &n);
    cr_assert_neq(cursor, 0);
    cr_assert_geq(n, 100);
    cr_assert_lt(n, 200);
    n = 0;
    cursor = kv_scan(kv, 0, 1000000, count_visit, &n);
    cr_assert_eq(cursor, 0);
    cr_assert_eq(n, 5000);
    kv_free(kv);
}

// A count-1 scan over a sparse table gives up after a bounded run of empty buckets.
Test(kv, scan_bounds_empty_buckets)
{
    struct kv_store *kv = kv_new();
    struct seen s;
    for (int i = 0; i < 1 << 16; i++)
        set_int(kv, i, KV_NO_EXPIRE);
    while (kv_rehash_step(kv, 1000))
        ;
    /* Keep one key in eight: just dense enough not to shrink the 65536-bucket table. */
    for (int i = 0; i < 1 << 16; i++)
        if (i % 8 != 0)
            del_int(kv, i, 1);
    cr_assert_eq(kv_rehash_step(kv, 0), 0);
    seen_init(&s, 1 << 16);
    uint64_t cursor = 0;
    int calls = 0, empty_calls = 0;
    do {
        size_t before = s.visits;
        cursor = kv_scan(kv, cursor, 1, mark_seen, &s);
        empty_calls += s.visits == before && cursor != 0;
        calls++;
    } while (cursor != 0 && calls < 1000000);
    cr_assert_gt(empty_calls, 0, "some call should stop on a run of empty buckets");
    for (int i = 0; i < 1 << 16; i += 8)
        cr_assert_eq(s.hits[i], 1);
    free(s.hits);
    kv_free(kv);
}

// kv_random returns live keys, NULL on an empty store and NULL when every key is expired.
Test(kv, random_returns_live_keys_only)
{
    struct kv_store *kv = kv_new();
    uint64_t rng = 12345;
    cr_assert_null(kv_random(kv, &rng, NOW));
    for (int i = 0; i < 1000; i++)
        set_int(kv, i, i < 990 ? NOW : KV_NO_EXPIRE);
    struct seen s;
    seen_init(&s, 1000);
    for (int n = 0; n < 2000; n++) {
        struct kv_entry *e = kv_random(kv, &rng, NOW);
        cr_assert_not_null(e);
        cr_assert(!kv_entry_expired(e, NOW));
        mark_seen(&s, e);
    }
    int distinct = 0;
    for (int i = 990; i < 1000; i++)
        distinct += s.hits[i] > 0;
    cr_assert_eq(distinct, 10, "every live key should come up in 2000 draws");
    free(s.hits);
    for (int i = 990; i < 1000; i++)
        set_int(kv, i, NOW - 1);
    cr_assert_null(kv_random(kv, &rng, NOW));
    cr_assert_not_null(kv_random(kv, &rng, NOW - 2));
    kv_flush(kv, 1);
    cr_assert_null(kv_random(kv, &rng, NOW));
    kv_free(kv);
}

// kv_random copes with a table in the middle of a rehash.
Test(kv, random_during_rehash)
{
    struct kv_store *kv = kv_new();
    uint64_t rng = 99;
    for (int i = 0; i <= 2048; i++)
        set_int(kv, i, KV_NO_EXPIRE);
    cr_assert_eq(kv_rehash_step(kv, 0), 1);
    for (int n = 0; n < 1000; n++) {
        struct kv_entry *e = kv_random(kv, &rng, NOW);
        cr_assert_not_null(e);
        cr_assert_eq(strncmp(kv_entry_key(e), "key:", 4), 0);
    }
    kv_free(kv);
}

// A delete records the highest apply_seq in the key's tombstone; a flush raises every key's.
Test(kv, tombstones_and_flush_seq)
{
    struct kv_store *kv = kv_new();
    cr_assert_eq(kv_tombstone(kv, "a", 1), 0);
    kv_set(kv, "a", 1, "1", 1, KV_NO_EXPIRE, 1);
    kv_delete(kv, "a", 1, 7);
    cr_assert_eq(kv_tombstone(kv, "a", 1), 7);
    cr_assert_eq(kv_tombstone(kv, "b", 1), 0);
    kv_set(kv, "a", 1, "1", 1, KV_NO_EXPIRE, 8);
    kv_delete(kv, "a", 1, 5); /* a lower seq never lowers the slot */
    cr_assert_eq(kv_tombstone(kv, "a", 1), 7);
    cr_assert_eq(kv_delete(kv, "b", 1, 9), 0);
    cr_assert_eq(kv_tombstone(kv, "b", 1), 0, "deleting nothing records nothing");
    kv_flush(kv, 20);
    cr_assert_eq(kv_flush_seq(kv), 20);
    cr_assert_eq(kv_tombstone(kv, "a", 1), 20);
    cr_assert_eq(kv_tombstone(kv, "b", 1), 20);
    kv_set_flush_seq(kv, 3);
    cr_assert_eq(kv_tombstone(kv, "a", 1), 7);
    uint64_t *slots = kv_tombstones(kv);
    size_t nonzero = 0;
    for (size_t i = 0; i < KV_TOMBSTONE_SLOTS; i++)
        nonzero += slots[i] != 0;
    cr_assert_eq(nonzero, 1);
    kv_free(kv);
}

// Tombstone slots and digests do not depend on the per-process hash seed.
Test(kv, tombstones_and_digest_independent_of_seed)
{
    char da[41], db[41];
    struct kv_store *a = kv_new();
    kv_set(a, "user:1", 6, "x", 1, NOW, 1);
    kv_set(a, "gone", 4, "y", 1, KV_NO_EXPIRE, 2);
    kv_delete(a, "gone", 4, 3);
    kv_digest_hex(a, da);
    util_hash_seed(0x1234567890abcdefULL);
    struct kv_store *b = kv_new();
    kv_set(b, "gone", 4, "y", 1, KV_NO_EXPIRE, 2);
    kv_delete(b, "gone", 4, 3);
    kv_set(b, "user:1", 6, "x", 1, NOW, 1);
    kv_digest_hex(b, db);
    cr_assert_str_eq(da, db);
    cr_assert_eq(memcmp(kv_tombstones(a), kv_tombstones(b), KV_TOMBSTONE_SLOTS * 8), 0);
    kv_free(a);
    kv_free(b);
}

struct expired_list {
    struct seen s;
    int64_t now;
    int bad;
};

static void collect_expired(void *priv, const struct kv_entry *e)
{
    struct expired_list *l = priv;
    if (!kv_entry_expired(e, l->now))
        l->bad++;
    mark_seen(&l->s, e);
}

// Sampling with a cursor reports exactly the expired keys, each once per cycle.
Test(kv, expired_sample_reports_expired_keys)
{
    struct kv_store *kv = kv_new();
    struct expired_list l = {.now = NOW, .bad = 0};
    uint64_t cursor = 0;
    for (int i = 0; i < 3000; i++)
        set_int(kv, i, i % 3 == 0 ? NOW - 1 : i % 3 == 1 ? NOW + 1000 : KV_NO_EXPIRE);
    seen_init(&l.s, 3000);
    int calls = 0;
    do {
        size_t looked = kv_expired_sample(kv, &cursor, 20, NOW, collect_expired, &l);
        cr_assert_gt(looked, 0);
        cr_assert_leq(looked, 20 + 4); /* one scan step may cover a few more mid-rehash */
        calls++;
    } while (cursor != 0 && calls < 100000);
    cr_assert_eq(cursor, 0);
    cr_assert_eq(l.bad, 0);
    for (int i = 0; i < 3000; i++)
        cr_assert_eq(l.s.hits[i], i % 3 == 0 ? 1 : 0, "key %d seen %d times", i, l.s.hits[i]);
    free(l.s.hits);
    kv_free(kv);
}

// Sampling an empty store or one without TTLs looks at nothing and resets the cursor.
Test(kv, expired_sample_on_store_without_ttls)
{
    struct kv_store *kv = kv_new();
    struct expired_list l = {.now = NOW};
    uint64_t cursor = 5;
    seen_init(&l.s, 10);
    cr_assert_eq(kv_expired_sample(kv, &cursor, 10, NOW, collect_expired, &l), 0);
    cr_assert_eq(cursor, 0);
    set_int(kv, 1, KV_NO_EXPIRE);
    cr_assert_eq(kv_expired_sample(kv, &cursor, 10, NOW, collect_expired, &l), 0);
    cr_assert_eq(l.s.visits, 0);
    free(l.s.hits);
    kv_free(kv);
}

// The digest ignores insertion order and table layout but not values or expiry times.
Test(kv, digest_depends_on_content_only)
{
    char empty[41], da[41], db[41], dc[41];
    struct kv_store *a = kv_new(), *b = kv_new();
    kv_digest_hex(a, empty);
    cr_assert_str_eq(empty, "0000000000000000000000000000000000000000");
    for (int i = 0; i < 500; i++)
        set_int(a, i, i % 2 ? NOW + i : KV_NO_EXPIRE);
    for (int i = 5000; i < 9000; i++) /* make b's table larger, then empty it again */
        set_int(b, i, KV_NO_EXPIRE);
    for (int i = 499; i >= 0; i--)
        set_int(b, i, i % 2 ? NOW + i : KV_NO_EXPIRE);
    for (int i = 5000; i < 9000; i++)
        del_int(b, i, 1);
    kv_digest_hex(a, da);
    kv_digest_hex(b, db);
    cr_assert_eq(strlen(da), 40);
    cr_assert_str_eq(da, db);
    cr_assert_str_neq(da, empty);
    kv_set(b, "key:0000007", 11, "val:8", 5, NOW + 7, 1);
    kv_digest_hex(b, dc);
    cr_assert_str_neq(da, dc, "value change must change the digest");
    kv_set(b, "key:0000007", 11, "val:7", 5, NOW + 7, 1);
    kv_digest_hex(b, dc);
    cr_assert_str_eq(da, dc);
    kv_set_expire(b, kv_find(b, "key:0000007", 11), NOW + 8, 2);
    kv_digest_hex(b, dc);
    cr_assert_str_neq(da, dc, "expiry change must change the digest");
    for (size_t i = 0; i < 40; i++)
        cr_assert(strchr("0123456789abcdef", dc[i]) != NULL);
    kv_free(a);
    kv_free(b);
}

// Flush empties the store, records its seq and leaves it usable.
Test(kv, flush_empties_store)
{
    struct kv_store *kv = kv_new();
    size_t base = kv_used_memory(kv);
    for (int i = 0; i < 3000; i++)
        set_int(kv, i, i % 2 ? NOW : KV_NO_EXPIRE);
    kv_flush(kv, 42);
    cr_assert_eq(kv_size(kv), 0);
    cr_assert_eq(kv_expires(kv), 0);
    cr_assert_eq(kv_used_memory(kv), base);
    cr_assert_eq(kv_flush_seq(kv), 42);
    cr_assert_null(kv_find(kv, "key:0000001", 11));
    set_int(kv, 1, KV_NO_EXPIRE);
    cr_assert(has_int(kv, 1));
    cr_assert_eq(kv_size(kv), 1);
    kv_free(kv);
    kv_free(NULL);
}

// foreach visits each entry exactly once, also in the middle of a rehash.
Test(kv, foreach_visits_each_once)
{
    struct kv_store *kv = kv_new();
    struct seen s;
    for (int i = 0; i <= 512; i++)
        set_int(kv, i, KV_NO_EXPIRE);
    cr_assert_eq(kv_rehash_step(kv, 0), 1);
    seen_init(&s, 600);
    kv_foreach(kv, mark_seen, &s);
    cr_assert_eq(s.visits, 513);
    for (int i = 0; i <= 512; i++)
        cr_assert_eq(s.hits[i], 1);
    free(s.hits);
    kv_free(kv);
}

// Replacing and deleting keys while a rehash is in progress keeps counts and lookups right.
Test(kv, replace_and_delete_mid_rehash)
{
    struct kv_store *kv = kv_new();
    for (int i = 0; i <= 1024; i++)
        set_int(kv, i, KV_NO_EXPIRE);
    cr_assert_eq(kv_rehash_step(kv, 0), 1);
    for (int i = 0; i <= 1024; i += 2)
        kv_set(kv, "key:0000000", 11, "x", 1, KV_NO_EXPIRE, 1);
    for (int i = 1; i <= 1024; i += 2)
        cr_assert_eq(del_int(kv, i, 1), 1);
    cr_assert_eq(kv_size(kv), 513);
    cr_assert_str_eq(kv_entry_val(kv_find(kv, "key:0000000", 11)), "x");
    for (int i = 2; i <= 1024; i += 2)
        cr_assert(has_int(kv, i));
    kv_free(kv);
}

// A write's lookup deletes a key that has expired, recording the seq as its tombstone.
Test(kv, lookup_write_deletes_expired)
{
    struct kv_store *kv = kv_new();
    kv_set(kv, "live", 4, "1", 1, 2000, 1);
    kv_set(kv, "dead", 4, "1", 1, 1000, 2);
    cr_assert_not_null(kv_lookup_write(kv, "live", 4, 1500, 3));
    cr_assert_null(kv_lookup_write(kv, "dead", 4, 1500, 3));
    cr_assert_null(kv_find(kv, "dead", 4), "the expired key is gone");
    cr_assert_geq(kv_tombstone(kv, "dead", 4), 3);
    cr_assert_null(kv_lookup_write(kv, "none", 4, 1500, 4));
    cr_assert_eq(kv_size(kv), 1);
    kv_free(kv);
}

// kv_lookup and kv_lookup_write record an access; kv_peek and kv_find do not.
Test(kv, lookups_touch_peek_does_not)
{
    struct kv_store *kv = kv_new();
    kv_set_lru_clock(1000000);
    kv_set(kv, "k", 1, "v", 1, KV_NO_EXPIRE, 1);
    kv_set_lru_clock(1010000);
    cr_assert_eq(kv_entry_idle_ms(kv_peek(kv, "k", 1, 0)), 10000);
    cr_assert_eq(kv_entry_idle_ms(kv_find(kv, "k", 1)), 10000);
    cr_assert_eq(kv_entry_idle_ms(kv_lookup(kv, "k", 1, 0)), 0);
    kv_set_lru_clock(1013000);
    cr_assert_eq(kv_entry_idle_ms(kv_peek(kv, "k", 1, 0)), 3000);
    cr_assert_eq(kv_entry_idle_ms(kv_lookup_write(kv, "k", 1, 0, 2)), 0);
    kv_free(kv);
}

// The 24-bit LRU clock wraps (every 194 days); the idle time survives one wrap.
Test(kv, idle_time_across_clock_wrap)
{
    struct kv_store *kv = kv_new();
    kv_set_lru_clock((int64_t)(KV_LRU_CLOCK_MAX - 5) * 1000);
    kv_set(kv, "k", 1, "v", 1, KV_NO_EXPIRE, 1);
    kv_set_lru_clock((int64_t)(KV_LRU_CLOCK_MAX + 1 + 4) * 1000);
    cr_assert_eq(kv_entry_idle_ms(kv_peek(kv, "k", 1, 0)), 9000);
    kv_free(kv);
}

// The access stamp changes neither the digest nor anything a reply shows.
Test(kv, access_stamp_not_in_digest)
{
    struct kv_store *a = kv_new(), *b = kv_new();
    char ha[41], hb[41];
    kv_set_lru_clock(5000000);
    kv_set(a, "k", 1, "v", 1, KV_NO_EXPIRE, 1);
    kv_set_lru_clock(9000000);
    kv_set(b, "k", 1, "v", 1, KV_NO_EXPIRE, 1);
    kv_lookup(b, "k", 1, 0);
    kv_digest_hex(a, ha);
    kv_digest_hex(b, hb);
    cr_assert_str_eq(ha, hb);
    kv_free(a);
    kv_free(b);
}

// LFU mode: a new key starts at 5, accesses raise the counter logarithmically (the first
// ones surely, later ones rarely), idle minutes decay it, and an overwrite keeps it.
Test(kv, lfu_counter_grows_decays_and_survives_overwrite)
{
    struct kv_store *kv = kv_new();
    kv_set_access_mode(KV_ACCESS_LFU, 10, 1);
    kv_set_lru_clock(600000000);
    kv_set(kv, "k", 1, "v", 1, KV_NO_EXPIRE, 1);
    cr_assert_eq(kv_entry_lfu(kv_find(kv, "k", 1)), KV_LFU_INIT_VAL);
    kv_lookup(kv, "k", 1, 0);
    cr_assert_eq(kv_entry_lfu(kv_find(kv, "k", 1)), KV_LFU_INIT_VAL + 1,
                 "at the initial value an access always counts");
    for (int i = 0; i < 100000; i++)
        kv_lookup(kv, "k", 1, 0);
    unsigned c = kv_entry_lfu(kv_find(kv, "k", 1));
    cr_assert(c > 20 && c < 255, "100,000 accesses give a logarithmic count, got %u", c);
    kv_set(kv, "k", 1, "w", 1, KV_NO_EXPIRE, 2);
    cr_assert_eq(kv_entry_lfu(kv_find(kv, "k", 1)), c, "an overwrite keeps the frequency");
    kv_set_lru_clock(600000000 + 3 * 60000);
    cr_assert_eq(kv_entry_lfu(kv_find(kv, "k", 1)), c - 3, "one per idle minute");
    kv_set_access_mode(KV_ACCESS_LRU, 10, 1);
    kv_free(kv);
}

// An entry is one allocation: a 16-byte key with a 3-byte value (redis-benchmark's shape)
// fits a 64-byte malloc chunk, access stamp included.
Test(kv, benchmark_shaped_entry_fits_64_byte_chunk)
{
    struct kv_store *kv = kv_new();
    size_t base = kv_used_memory(kv);
    kv_set(kv, "key:000000000042", 16, "xxx", 3, KV_NO_EXPIRE, 1);
    size_t table = 4 * sizeof(void *);
    cr_assert_leq(kv_used_memory(kv) - base, 56 + table + 16);
    cr_assert_leq(offsetof(struct kv_entry, data) + 16 + 3 + 1, 56);
    kv_free(kv);
}

static int hook_db = -1;
static void note_created(void *arg, int db, const char *key, size_t klen)
{
    (void)arg;
    (void)key;
    (void)klen;
    hook_db = db;
}

/* kv_swap exchanges the contents (keys, counts, tombstones) and leaves each store its index
 * and hooks, which report that index. */
Test(kv, swap_keeps_index_and_hooks)
{
    struct kv_store *a = kv_new(), *b = kv_new();
    kv_set_id(b, 7);
    kv_set_created_hook(b, note_created, NULL);
    kv_set(a, "x", 1, "1", 1, 5000, 3);
    kv_set(a, "gone", 4, "1", 1, KV_NO_EXPIRE, 3);
    kv_delete(a, "gone", 4, 4);
    kv_swap(a, b);
    cr_assert_eq(kv_size(a), 0);
    cr_assert_eq(kv_size(b), 1);
    cr_assert_eq(kv_expires(b), 1);
    cr_assert_not_null(kv_find(b, "x", 1));
    cr_assert_eq(kv_tombstone(b, "gone", 4), 4);
    cr_assert_eq(kv_tombstone(a, "gone", 4), 0);
    cr_assert_eq(kv_id(a), 0);
    cr_assert_eq(kv_id(b), 7);
    kv_signal_all_created(b);
    cr_assert_eq(hook_db, 7);
    hook_db = -1;
    kv_signal_all_created(a); /* no hook on A */
    cr_assert_eq(hook_db, -1);
    kv_free(a);
    kv_free(b);
}
