/* Victim selection for maxmemory (Redis 7.0's approximated LRU/LFU/TTL with an eviction
 * pool): given the keyspace, a policy, a sample count and a random state, choose keys. Pure:
 * no loop, no raft, no clock; it only chooses (the leader proposes the deletes). */
#ifndef CONCORDKV_EVICT_H
#define CONCORDKV_EVICT_H

#include <stddef.h>
#include <stdint.h>

struct kv_store;
struct kv_entry;

/* maxmemory-policy, in the order Redis lists them in its error text. */
enum evict_policy {
    EVICT_VOLATILE_LRU = 0,
    EVICT_VOLATILE_LFU,
    EVICT_VOLATILE_RANDOM,
    EVICT_VOLATILE_TTL,
    EVICT_ALLKEYS_LRU,
    EVICT_ALLKEYS_LFU,
    EVICT_ALLKEYS_RANDOM,
    EVICT_NOEVICTION,
};
/* The names, indexed by enum evict_policy, NULL-terminated (the config table's enum). */
extern const char *const evict_policy_names[];

/* Whether POLICY picks only among keys with a TTL; whether it uses the LFU counter. */
int evict_policy_volatile(int policy);
int evict_policy_lfu(int policy);

/* The heap bytes E and its value hold, as MEMORY USAGE estimates them: E's allocation (header,
 * key, a string's bytes) plus the object's (its elements averaged over SAMPLES of them, 0
 * meaning all). What deleting E frees, about. */
size_t evict_entry_bytes(const struct kv_entry *e, size_t samples);

/* What apply did with __evicted entries on this node (struct fsm holds it; node-local
 * statistics, not replicated state): keys deleted, entries applied. */
struct evict_stats {
    long long keys;
    long long entries;
};

/* Told each victim, best first; the entry stays the store's (nothing is deleted). */
typedef void evict_pick_fn(void *priv, const struct kv_entry *e, size_t bytes);

/* Choose victims under POLICY until their estimated bytes reach NEED or MAX_KEYS were chosen,
 * each pick the best of a pool refilled with SAMPLES sampled keys (LRU: longest idle; LFU:
 * lowest counter; TTL: nearest expiry; random: any), volatile policies among keys with a TTL
 * only. RNG is the caller's random state (the node's: only the leader chooses). A key is
 * never chosen twice. Returns the number chosen (0 for noeviction, or when no candidate is
 * found), *BYTES (if not NULL) their estimated total. */
size_t evict_choose(struct kv_store *kv, int policy, int samples, uint64_t *rng, size_t need,
                    size_t max_keys, evict_pick_fn *fn, void *priv, size_t *bytes);

#endif
