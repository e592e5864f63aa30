/* Unit tests for evict.c: victim selection over a real keyspace with a fixed random state,
 * per policy (which keys are candidates, which are preferred), and its bounds (bytes
 * wanted, keys per call, never the same key twice). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evict.h"
#include "kv.h"

#define T0 1700000000000LL
#define HOUR (3600 * 1000LL)

static struct kv_store *kv;
static uint64_t rng;

struct picked {
    char keys[2048][16];
    size_t n, bytes;
};
static struct picked got;

static void setup(void)
{
    kv = kv_new();
    rng = 42;
    memset(&got, 0, sizeof(got));
    kv_set_access_mode(KV_ACCESS_LRU, 10, 1);
    kv_set_lru_clock(T0);
}

static void teardown(void)
{
    kv_free(kv);
    kv_set_access_mode(KV_ACCESS_LRU, 10, 1);
}

TestSuite(evict, .init = setup, .fini = teardown);

static void pick(void *priv, const struct kv_entry *e, size_t bytes)
{
    struct picked *p = priv;
    cr_assert_lt(p->n, 2048);
    snprintf(p->keys[p->n], sizeof(p->keys[0]), "%.*s", (int)e->klen, kv_entry_key(e));
    p->n++;
    p->bytes += bytes;
}

/* Store keys PREFIX0 .. PREFIX<N-1> with a 100-byte value, EXPIRE_MS for each (0: none). */
static void fill(const char *prefix, int n, int64_t expire_ms)
{
    char key[16], val[100];
    memset(val, 'v', sizeof(val));
    for (int i = 0; i < n; i++) {
        int len = snprintf(key, sizeof(key), "%s%d", prefix, i);
        kv_set(kv, key, (size_t)len, val, sizeof(val), expire_ms, 1);
    }
}

static size_t choose(int policy, int samples, size_t need, size_t max_keys)
{
    size_t bytes = 0;
    size_t n = evict_choose(kv, policy, samples, &rng, need, max_keys, pick, &got,
                            &bytes);
    cr_assert_eq(n, got.n);
    cr_assert_eq(bytes, got.bytes);
    return n;
}

static size_t count_prefix(const char *prefix)
{
    size_t c = 0;
    for (size_t i = 0; i < got.n; i++)
        c += strncmp(got.keys[i], prefix, strlen(prefix)) == 0;
    return c;
}

/* noeviction never chooses; nor does any policy on an empty store. */
Test(evict, noeviction_and_empty_store_choose_nothing)
{
    cr_assert_eq(choose(EVICT_ALLKEYS_LRU, 5, 1 << 20, 100), 0);
    fill("k", 10, 0);
    cr_assert_eq(choose(EVICT_NOEVICTION, 5, 1 << 20, 100), 0);
}

/* allkeys-lru prefers keys idle for long: keys read an hour later survive. */
Test(evict, lru_prefers_idle_keys)
{
    fill("cold", 200, 0);
    fill("hot", 200, 0);
    kv_set_lru_clock(T0 + HOUR);
    char key[16];
    for (int i = 0; i < 200; i++) {
        int len = snprintf(key, sizeof(key), "hot%d", i);
        cr_assert_not_null(kv_lookup(kv, key, (size_t)len, T0 + HOUR));
    }
    kv_set_lru_clock(T0 + 2 * HOUR);
    cr_assert_eq(choose(EVICT_ALLKEYS_LRU, 5, (size_t)-1, 100), 100);
    cr_assert_geq(count_prefix("cold"), 95, "cold %zu of 100", count_prefix("cold"));
}

/* allkeys-lfu prefers keys rarely accessed: keys read 50 times each survive. */
Test(evict, lfu_prefers_rarely_used_keys)
{
    kv_set_access_mode(KV_ACCESS_LFU, 1, 1);
    fill("rare", 200, 0);
    fill("often", 200, 0);
    char key[16];
    for (int r = 0; r < 50; r++)
        for (int i = 0; i < 200; i++) {
            int len = snprintf(key, sizeof(key), "often%d", i);
            kv_lookup(kv, key, (size_t)len, T0);
        }
    kv_set_lru_clock(T0); /* no decay */
    size_t bytes = 0;
    size_t n = evict_choose(kv, EVICT_ALLKEYS_LFU, 5, &rng, (size_t)-1, 100, pick, &got, &bytes);
    cr_assert_eq(n, 100);
    cr_assert_geq(count_prefix("rare"), 95, "rare %zu of 100", count_prefix("rare"));
}

/* volatile-* policies choose only keys with a TTL (sampling finds most of them in one call
 * when asked for more than there are; the next entry takes the rest). */
Test(evict, volatile_policies_choose_only_keys_with_ttl)
{
    int policies[] = {EVICT_VOLATILE_LRU, EVICT_VOLATILE_LFU, EVICT_VOLATILE_RANDOM, EVICT_VOLATILE_TTL};
    fill("plain", 300, 0);
    fill("ttl", 20, T0 + 10 * HOUR);
    for (size_t p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
        memset(&got, 0, sizeof(got));
        size_t n = choose(policies[p], 5, (size_t)-1, 1000);
        cr_assert(n >= 15 && n <= 20, "policy %d: %zu", policies[p], n);
        cr_assert_eq(count_prefix("ttl"), n);
    }
}

/* volatile-* with no key having a TTL: nothing to evict (the caller answers -OOM). */
Test(evict, volatile_without_ttl_keys_chooses_nothing)
{
    fill("plain", 50, 0);
    cr_assert_eq(choose(EVICT_VOLATILE_LRU, 5, (size_t)-1, 1000), 0);
    cr_assert_eq(choose(EVICT_VOLATILE_TTL, 5, (size_t)-1, 1000), 0);
}

/* One key with a TTL among thousands is still found: before answering that nothing can be
 * evicted (-OOM), the whole table is walked once. */
Test(evict, sparse_candidate_is_found)
{
    fill("plain", 5000, 0);
    fill("ttl", 1, T0 + HOUR);
    cr_assert_eq(choose(EVICT_VOLATILE_RANDOM, 5, (size_t)-1, 10), 1);
    cr_assert_str_eq(got.keys[0], "ttl0");
    memset(&got, 0, sizeof(got));
    cr_assert_eq(choose(EVICT_VOLATILE_LRU, 5, (size_t)-1, 10), 1);
    cr_assert_str_eq(got.keys[0], "ttl0");
}

/* volatile-ttl takes the nearest expiry first (every key sampled: a small store). */
Test(evict, volatile_ttl_takes_nearest_expiry_first)
{
    char key[16], val[8] = "v";
    for (int i = 0; i < 40; i++) {
        int len = snprintf(key, sizeof(key), "t%02d", i);
        kv_set(kv, key, (size_t)len, val, 1, T0 + 10 * HOUR + (39 - i) * 1000, 1);
    }
    cr_assert_eq(choose(EVICT_VOLATILE_TTL, 64, (size_t)-1, 5), 5);
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "t%02d", 39 - i);
        cr_assert_str_eq(got.keys[i], key);
    }
}

/* Selection stops once the estimated bytes reach what is needed, or at MAX_KEYS. */
Test(evict, stops_at_needed_bytes_or_max_keys)
{
    fill("k", 500, 0);
    size_t n = choose(EVICT_ALLKEYS_RANDOM, 5, 10000, 1000);
    cr_assert_geq(got.bytes, 10000);
    cr_assert_lt(got.bytes - got.bytes / n, 10000, "one key fewer would not have been enough");
    memset(&got, 0, sizeof(got));
    cr_assert_eq(choose(EVICT_ALLKEYS_LRU, 5, (size_t)-1, 37), 37);
}

/* A key is never chosen twice: asking for more than the store holds chooses most keys,
 * each once. */
Test(evict, never_chooses_a_key_twice)
{
    int policies[] = {EVICT_ALLKEYS_RANDOM, EVICT_ALLKEYS_LRU, EVICT_ALLKEYS_LFU};
    fill("k", 300, 0);
    for (size_t p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
        memset(&got, 0, sizeof(got));
        size_t n = choose(policies[p], 5, (size_t)-1, 1000);
        cr_assert(n >= 250 && n <= 300, "policy %d: %zu", policies[p], n);
        for (size_t i = 0; i < got.n; i++)
            for (size_t j = i + 1; j < got.n; j++)
                cr_assert_str_neq(got.keys[i], got.keys[j]);
    }
}

/* The same store and random state choose the same victims (the leader's choice is carried
 * in the entry, but a reproducible choice makes the behaviour testable). */
Test(evict, same_state_same_choice)
{
    fill("k", 1000, 0);
    choose(EVICT_ALLKEYS_LRU, 5, (size_t)-1, 50);
    struct picked first = got;
    memset(&got, 0, sizeof(got));
    rng = 42;
    choose(EVICT_ALLKEYS_LRU, 5, (size_t)-1, 50);
    cr_assert_eq(first.n, got.n);
    for (size_t i = 0; i < got.n; i++)
        cr_assert_str_eq(first.keys[i], got.keys[i]);
}

/* The policy names are Redis's, in its order, and the predicates agree with them. */
Test(evict, policy_names_and_kinds)
{
    cr_assert_str_eq(evict_policy_names[EVICT_ALLKEYS_LRU], "allkeys-lru");
    cr_assert_str_eq(evict_policy_names[EVICT_NOEVICTION], "noeviction");
    cr_assert_null(evict_policy_names[EVICT_NOEVICTION + 1]);
    cr_assert(evict_policy_volatile(EVICT_VOLATILE_TTL));
    cr_assert_not(evict_policy_volatile(EVICT_ALLKEYS_RANDOM));
    cr_assert(evict_policy_lfu(EVICT_VOLATILE_LFU) && evict_policy_lfu(EVICT_ALLKEYS_LFU));
    cr_assert_not(evict_policy_lfu(EVICT_ALLKEYS_LRU));
}
