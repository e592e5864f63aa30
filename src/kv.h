/* The keyspace: a hash table of string values with absolute expiry times and the apply
 * sequence number of each key's last change. Pure: no I/O, no clock, no libevent, no raft.
 * A "seq" here is always an apply sequence number (struct fsm's apply_seq: 1 for the first
 * entry the state machine applied, one more for each after, the same on every node), never
 * a raft log index, which also counts entries that never reach the state machine. */
#ifndef CONCORDKV_KV_H
#define CONCORDKV_KV_H

#include <stddef.h>
#include <stdint.h>

#define KV_NO_EXPIRE 0 /* expire_ms value of a key without a TTL */

/* The type of a value (TYPE's answer). A string's bytes sit in the entry itself, as they
 * always did; any other type's value is an object the entry points at (kv_entry_obj): a
 * struct hash for KV_HASH (hash.h); set, zset and list slot in the same way. */
enum kv_type { KV_STRING = 0, KV_HASH, KV_SET, KV_ZSET, KV_LIST };

/* One key and its value, in a single allocation. Entries are immutable once stored except
 * for expire_ms and mod_seq (kv_set_expire) and the node-local access stamp (lru); a new
 * value means a new entry. The header is 36 bytes: the access stamp shares a word with the
 * type, and the key has no NUL of its own, so that a 16-byte key with a 3-byte value (what
 * redis-benchmark writes) still fits malloc's 64-byte chunk as before the stamp. */
struct kv_entry {
    struct kv_entry *next; /* hash chain */
    int64_t expire_ms;     /* absolute unix time in ms, or KV_NO_EXPIRE */
    uint64_t mod_seq;      /* apply_seq of the entry that last changed this key */
    uint32_t klen;
    uint32_t vlen;         /* a string's length; sizeof(void *) for an object */
    uint32_t lru : 24;     /* access stamp, node-local, see kv_entry_access */
    uint32_t type : 8;     /* enum kv_type */
    char data[];           /* klen key bytes, vlen value bytes (a string, or the object
                            * pointer), NUL */
};

static inline const char *kv_entry_key(const struct kv_entry *e) { return e->data; }
static inline const char *kv_entry_val(const struct kv_entry *e) { return e->data + e->klen; }
/* True when E has a TTL that has passed at NOW_MS. */
static inline int kv_entry_expired(const struct kv_entry *e, int64_t now_ms)
{
    return e->expire_ms != KV_NO_EXPIRE && e->expire_ms <= now_ms;
}

/* The object of a non-string entry (NULL once taken by kv_entry_take_obj). */
static inline void *kv_entry_obj(const struct kv_entry *e)
{
    void *p;
    __builtin_memcpy(&p, e->data + e->klen, sizeof p);
    return p;
}
/* Detach E's object from E (RENAME moves it to a new entry): E then frees nothing. */
static inline void *kv_entry_take_obj(struct kv_entry *e)
{
    void *p = kv_entry_obj(e), *none = 0;
    __builtin_memcpy(e->data + e->klen, &none, sizeof none);
    return p;
}

/* Access stamps: node-local (never in the digest, the snapshot or a reply of a write), for
 * OBJECT IDLETIME/FREQ and for eviction (maxmemory-policy). As in Redis 7.0 the 24 bits
 * mean one of two things, chosen by the access mode: KV_ACCESS_LRU, the LRU clock in
 * seconds (wraps every 194 days) of the last access; KV_ACCESS_LFU, the minute of the last
 * access (16 bits) and a logarithmic access counter (8 bits, +1 with probability
 * 1/((counter - 5) * log_factor + 1), -1 per decay_time minutes idle; new keys start at 5).
 * Switching modes leaves old stamps meaning the other thing until keys are touched again,
 * as in Redis. The clock and the mode are process-wide: the server sets the clock from its
 * cron (kv_set_lru_clock), so kv never reads a clock itself. */
enum kv_access_mode { KV_ACCESS_LRU = 0, KV_ACCESS_LFU };
#define KV_LRU_CLOCK_MAX ((1u << 24) - 1)
#define KV_LFU_INIT_VAL 5
void kv_set_lru_clock(int64_t now_ms);
/* Select MODE; LOG_FACTOR and DECAY_TIME as Redis's lfu-log-factor (10) and lfu-decay-time (1). */
void kv_set_access_mode(int mode, int log_factor, int decay_time);
int kv_access_mode(void);
/* Record an access to E now (kv_lookup and kv_lookup_write do it; kv_peek and kv_find do
 * not, as Redis's LOOKUP_NOTOUCH for OBJECT, TYPE, EXISTS, TTL ...). */
void kv_entry_access(struct kv_entry *e);
/* Milliseconds since E's last access (LRU mode; estimateObjectIdleTime). */
uint64_t kv_entry_idle_ms(const struct kv_entry *e);
/* E's access counter, decayed to now (LFU mode; LFUDecrAndReturn). */
unsigned kv_entry_lfu(const struct kv_entry *e);

/* The type name TYPE answers. */
const char *kv_type_name(int type);

struct kv_store;

/* Create an empty store. kv_free(NULL) is a no-op. */
struct kv_store *kv_new(void);
void kv_free(struct kv_store *kv);

/* Number of entries (expired ones not yet deleted included) and of entries with a TTL. */
size_t kv_size(const struct kv_store *kv);
size_t kv_expires(const struct kv_store *kv);
/* Bytes allocated for entries and tables (malloc_usable_size of each allocation). */
size_t kv_used_memory(const struct kv_store *kv);

/* The entry for KEY, or NULL. Expired entries are returned: callers decide. */
struct kv_entry *kv_find(struct kv_store *kv, const char *key, size_t klen);
/* The entry for KEY if it exists and is not expired at NOW_MS, else NULL. Never deletes.
 * Records an access (kv_entry_access); kv_peek is the same without it. */
struct kv_entry *kv_lookup(struct kv_store *kv, const char *key, size_t klen, int64_t now_ms);
struct kv_entry *kv_peek(struct kv_store *kv, const char *key, size_t klen, int64_t now_ms);
/* INFO keyspace_hits/misses: kv_lookup counts a hit or a miss unless muted (apply mutes it,
 * so only the reads a node serves count). Process-wide, like the access stamps. */
struct kv_read_stats {
    long long hits, misses;
    int muted;
};
extern struct kv_read_stats kv_read_stats;
static inline void kv_read_stats_mute(int mute) { kv_read_stats.muted = mute; }

/* Called with the name of an expired key just before kv_lookup_write deletes it, so that
 * apply can publish the keyspace "expired" event; FN NULL: nothing. FN must not change KV:
 * it is a node-local side effect (delivery to subscribers). */
typedef void kv_expired_fn(void *arg, int db, const char *key, size_t klen);
void kv_set_expired_hook(struct kv_store *kv, kv_expired_fn *fn, void *arg);
/* The database index of KV (0 unless set), passed to the hooks (DB) and used for keyspace
 * channels (__keyspace@<db>__) and INFO keyspace. */
void kv_set_id(struct kv_store *kv, int id);
int kv_id(const struct kv_store *kv);
/* SWAPDB: exchange the contents (keys, tables, counters, tombstones, lazy frees) of A and
 * B; each keeps its index and hooks. */
void kv_swap(struct kv_store *a, struct kv_store *b);
/* The entry for KEY as a write sees it, as Redis's lookupKeyWrite does: NULL if absent; an
 * entry that has expired at NOW_MS is deleted (recording SEQ, as kv_delete) and NULL is
 * returned; a live one records an access. Deterministic in apply, where NOW_MS is the
 * entry's clock (the access stamp is node-local and decides nothing there). */
struct kv_entry *kv_lookup_write(struct kv_store *kv, const char *key, size_t klen,
                                 int64_t now_ms, uint64_t seq);

/* Store VAL (copied) under KEY (copied), replacing any existing entry, with EXPIRE_MS
 * (KV_NO_EXPIRE for none) and mod_seq SEQ. Returns the new entry, owned by the store. */
struct kv_entry *kv_set(struct kv_store *kv, const char *key, size_t klen, const char *val,
                        size_t vlen, int64_t expire_ms, uint64_t seq);
/* Store the object OBJ of TYPE (not KV_STRING; the store owns it from now on) under KEY,
 * replacing any existing entry, as kv_set. */
struct kv_entry *kv_set_obj(struct kv_store *kv, const char *key, size_t klen, int type,
                            void *obj, int64_t expire_ms, uint64_t seq);
/* Tell FN (with ARG) the key of every container value kv_set_obj stores (created, or
 * replacing another value): where a blocked client's key may have become non-empty. FN only
 * records the key, for the node's loop to look at after apply; it must not change the
 * store, and nothing replicated depends on it. NULL: no hook. */
typedef void kv_created_fn(void *arg, int db, const char *key, size_t klen);
/* Call KV's created hook with KEY NULL: any key of KV may have become non-empty (SWAPDB). */
void kv_signal_all_created(struct kv_store *kv);
void kv_set_created_hook(struct kv_store *kv, kv_created_fn *fn, void *arg);
/* E's object was changed in place at SEQ (a field added ...): record it as E's last change. */
static inline void kv_touch(struct kv_entry *e, uint64_t seq) { e->mod_seq = seq; }
/* Change the TTL of E (an entry of KV) in place and record SEQ as its last change. */
void kv_set_expire(struct kv_store *kv, struct kv_entry *e, int64_t expire_ms, uint64_t seq);
/* Delete KEY, recording SEQ in its tombstone slot (kv_tombstone). Returns 1 if a key was
 * deleted, 0 if there was none. */
int kv_delete(struct kv_store *kv, const char *key, size_t klen, uint64_t seq);
/* Delete every key; records SEQ as the flush seq. */
void kv_flush(struct kv_store *kv, uint64_t seq);

/* Deleted values too large to free at once (a hash of more than KV_LAZY_MIN fields) wait
 * in a queue; each call releases about BUDGET of their elements (the server cron calls it,
 * so DEL/UNLINK/FLUSHALL never stall the loop in proportion to a value's size). Freeing
 * is invisible to replies, so it may run outside apply. Returns the values still queued. */
#define KV_LAZY_MIN 64
size_t kv_lazy_free_step(struct kv_store *kv, size_t budget);
size_t kv_lazy_pending(const struct kv_store *kv);

/* The highest seq at which a key hashing to KEY's tombstone slot was deleted, or at which
 * the store was flushed, whichever is larger; 0 if never. WATCH uses it to notice that a key
 * absent at WATCH time was created and deleted again. Part of the snapshot state. */
uint64_t kv_tombstone(const struct kv_store *kv, const char *key, size_t klen);
#define KV_TOMBSTONE_SLOTS 4096
/* Raw access to the tombstone array and flush seq, for snapshots. */
uint64_t *kv_tombstones(struct kv_store *kv);
uint64_t kv_flush_seq(const struct kv_store *kv);
void kv_set_flush_seq(struct kv_store *kv, uint64_t seq);

/* Visit the entries of a few buckets starting at CURSOR, Redis SCAN style (reverse binary
 * increment): every entry present for the whole scan is visited at least once, even across
 * a resize. Visits at least COUNT entries when that many remain. Returns the next cursor,
 * 0 when the scan is complete. FN must not modify the store. */
typedef void kv_visit_fn(void *priv, const struct kv_entry *e);
uint64_t kv_scan(struct kv_store *kv, uint64_t cursor, size_t count, kv_visit_fn *fn, void *priv);

/* Visit every entry once (no modifications allowed meanwhile). */
void kv_foreach(struct kv_store *kv, kv_visit_fn *fn, void *priv);

/* A uniformly-ish random live entry (at NOW_MS) using RNG (a caller-owned state), or NULL
 * when the store holds no live key. Tries a bounded number of samples. */
struct kv_entry *kv_random(struct kv_store *kv, uint64_t *rng, int64_t now_ms);

/* Eviction sampling (Redis's dictGetSomeKeys): from a random bucket (RNG a caller-owned
 * state) walk consecutive buckets and offer FN each entry met, only those with a TTL when
 * WITH_TTL, until FN took COUNT of them (FN returns 1 for an entry it takes, 0 for one it
 * skips) or MAX_BUCKETS buckets were looked at (0: about 10 per entry wanted; the whole
 * table at most). FN must not modify the store. Returns the entries FN took. */
typedef int kv_sample_fn(void *priv, const struct kv_entry *e);
size_t kv_sample(struct kv_store *kv, uint64_t *rng, size_t count, int with_ttl,
                 size_t max_buckets, kv_sample_fn *fn, void *priv);

/* Active expiry support: starting at *CURSOR, look at up to MAX_BUCKETS buckets and call FN
 * for each entry expired at NOW_MS. Advances *CURSOR (wraps to 0). FN must not modify the
 * store. Returns the number of buckets looked at. */
size_t kv_expired_sample(struct kv_store *kv, uint64_t *cursor, size_t max_buckets,
                         int64_t now_ms, kv_visit_fn *fn, void *priv);

/* Do up to N steps of incremental rehashing (each moves one bucket). Returns 1 while a
 * rehash is still in progress. Every kv_set/kv_delete/kv_find also does one step. */
int kv_rehash_step(struct kv_store *kv, int n);

/* A 40-hex-digit digest of every entry (key, type, value, expiry; a hash's value digested
 * independently of its encoding and field order; expired entries not yet deleted
 * included, so it depends only on the applied log), independent of table layout and
 * insertion order: equal on nodes holding the same data; forty '0's when the store is
 * empty. HEX receives 41 bytes (NUL-terminated). */
void kv_digest_hex(struct kv_store *kv, char hex[41]);

#endif
