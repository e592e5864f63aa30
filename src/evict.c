/* evict.h: an eviction pool as Redis 7.0's, refilled by sampling, and a set of the keys
 * already chosen (nothing is deleted until the leader's __evicted entry is applied). Pure:
 * reads the keyspace and the access stamps, never the clock; never changes the store. */
#include "evict.h"

#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "util.h"
#include "value.h"

#define EVICT_POOL_SIZE 16    /* Redis's EVPOOL_SIZE */
#define EVICT_EMPTY_ROUNDS 16 /* samplings in a row that find nothing new before giving up */

const char *const evict_policy_names[] = {
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    "allkeys-lru",  "allkeys-lfu",  "allkeys-random",  "noeviction", NULL,
};

int evict_policy_volatile(int policy)
{
    return policy >= EVICT_VOLATILE_LRU && policy <= EVICT_VOLATILE_TTL;
}

int evict_policy_lfu(int policy)
{
    return policy == EVICT_VOLATILE_LFU || policy == EVICT_ALLKEYS_LFU;
}

size_t evict_entry_bytes(const struct kv_entry *e, size_t samples)
{
    const struct value_ops *ops = value_ops(e->type);
    size_t n = util_alloc_bytes(e);
    if (ops != NULL)
        n += ops->bytes(kv_entry_obj(e), samples);
    return n;
}

/* The keys chosen so far: open addressing on the entry's address (entries do not move while
 * nothing changes the store). */
struct chosen {
    const struct kv_entry **slot;
    size_t mask;
};

static size_t chosen_pos(const struct chosen *c, const struct kv_entry *e)
{
    uint64_t h = (uint64_t)(uintptr_t)e * 0x9e3779b97f4a7c15ULL;
    size_t i = (size_t)(h >> 20) & c->mask;
    while (c->slot[i] != NULL && c->slot[i] != e)
        i = (i + 1) & c->mask;
    return i;
}

static int chosen_has(const struct chosen *c, const struct kv_entry *e)
{
    return c->slot[chosen_pos(c, e)] == e;
}

static void chosen_add(struct chosen *c, const struct kv_entry *e)
{
    c->slot[chosen_pos(c, e)] = e;
}

struct pool_item {
    const struct kv_entry *e;
    uint64_t score; /* higher: a better victim */
};

struct pool {
    struct pool_item item[EVICT_POOL_SIZE]; /* ascending score: the best is last */
    int n;
    int policy;
    const struct chosen *chosen;
};

static uint64_t victim_score(int policy, const struct kv_entry *e)
{
    if (policy == EVICT_VOLATILE_TTL)
        return UINT64_MAX - (uint64_t)e->expire_ms; /* the nearest expiry first */
    if (evict_policy_lfu(policy))
        return 255 - kv_entry_lfu(e);
    return kv_entry_idle_ms(e);
}

/* Insert a sampled entry in its place, as Redis's evictionPoolPopulate: when the pool is
 * full, only if it beats the worst, which is dropped. Returns 0 for a key already chosen
 * or pooled (it does not count as a sample). */
static int pool_offer(void *priv, const struct kv_entry *e)
{
    struct pool *p = priv;
    if (chosen_has(p->chosen, e))
        return 0;
    for (int i = 0; i < p->n; i++)
        if (p->item[i].e == e)
            return 0;
    uint64_t score = victim_score(p->policy, e);
    int k = 0;
    while (k < p->n && p->item[k].score < score)
        k++;
    if (p->n == EVICT_POOL_SIZE) {
        if (k == 0)
            return 1; /* worse than everything held */
        memmove(&p->item[0], &p->item[1], (size_t)(k - 1) * sizeof(p->item[0]));
        k--;
    } else {
        memmove(&p->item[k + 1], &p->item[k], (size_t)(p->n - k) * sizeof(p->item[0]));
        p->n++;
    }
    p->item[k] = (struct pool_item){e, score};
    return 1;
}

/* Random policies: the first sampled key not chosen yet. */
static int take_first(void *priv, const struct kv_entry *e)
{
    struct pool *p = priv;
    if (chosen_has(p->chosen, e))
        return 0;
    p->item[0] = (struct pool_item){e, 0};
    p->n = 1;
    return 1;
}

/* The next victim, from up to MAX_BUCKETS buckets' worth of samples (0: kv_sample's
 * default), or NULL when none was found. */
static const struct kv_entry *next_victim(struct kv_store *kv, struct pool *pool, int samples,
                                          uint64_t *rng, size_t max_buckets)
{
    int with_ttl = evict_policy_volatile(pool->policy);
    if (pool->policy == EVICT_ALLKEYS_RANDOM || pool->policy == EVICT_VOLATILE_RANDOM) {
        pool->n = 0;
        kv_sample(kv, rng, 1, with_ttl, max_buckets, take_first, pool);
    } else {
        kv_sample(kv, rng, (size_t)samples, with_ttl, max_buckets, pool_offer, pool);
    }
    return pool->n > 0 ? pool->item[--pool->n].e : NULL;
}

size_t evict_choose(struct kv_store *kv, int policy, int samples, uint64_t *rng, size_t need,
                    size_t max_keys, evict_pick_fn *fn, void *priv, size_t *bytes)
{
    size_t n = 0, total = 0, cap = 16;
    int empty = 0;

    if (bytes != NULL)
        *bytes = 0;
    if (policy == EVICT_NOEVICTION || max_keys == 0 || kv_size(kv) == 0 ||
        (evict_policy_volatile(policy) && kv_expires(kv) == 0))
        return 0;
    while (cap < 2 * max_keys)
        cap *= 2;
    struct chosen chosen = {xcalloc(cap, sizeof(*chosen.slot)), cap - 1};
    struct pool pool = {.n = 0, .policy = policy, .chosen = &chosen};
    if (samples < 1)
        samples = 1;

    while (n < max_keys && total < need && empty <= EVICT_EMPTY_ROUNDS) {
        /* Sparse candidates (a few keys with a TTL among many): before answering that
         * nothing can be evicted, walk the whole table once. */
        size_t budget = empty == EVICT_EMPTY_ROUNDS && n == 0 ? (size_t)-1 : 0;
        if (empty == EVICT_EMPTY_ROUNDS && n > 0)
            break;
        const struct kv_entry *e = next_victim(kv, &pool, samples, rng, budget);
        if (e == NULL) {
            empty++;
            continue;
        }
        empty = 0;
        chosen_add(&chosen, e);
        size_t b = evict_entry_bytes(e, 5);
        total += b;
        n++;
        fn(priv, e, b);
    }
    free(chosen.slot);
    if (bytes != NULL)
        *bytes = total;
    return n;
}
