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
 * for expire_ms and mod_seq (kv_set_expire); a new value means a new entry. */
struct kv_entry {
    struct kv_entry *next; /* hash chain */
    int64_t expire_ms;     /* absolute unix time in ms, or KV_NO_EXPIRE */
    uint64_t mod_seq;      /* apply_seq of the entry that last changed this key */
    uint32_t klen;
    uint32_t vlen;         /* a string's length; sizeof(void *) for an object */
    uint8_t type;          /* enum kv_type */
    char data[];           /* klen key bytes, NUL, vlen value bytes (a string, or the
                            * object pointer), NUL */
};

static inline const char *kv_entry_key(const struct kv_entry *e) { return e->data; }
static inline const char *kv_entry_val(const struct kv_entry *e) { return e->data + e->klen + 1; }
/* True when E has a TTL that has passed at NOW_MS. */
static inline int kv_entry_expired(const struct kv_entry *e, int64_t now_ms)
{
    return e->expire_ms != KV_NO_EXPIRE && e->expire_ms <= now_ms;
}

/* The object of a non-string entry (NULL once taken by kv_entry_take_obj). */
static inline void *kv_entry_obj(const struct kv_entry *e)
{
    void *p;
    __builtin_memcpy(&p, e->data + e->klen + 1, sizeof p);
    return p;
}
/* Detach E's object from E (RENAME moves it to a new entry): E then frees nothing. */
static inline void *kv_entry_take_obj(struct kv_entry *e)
{
    void *p = kv_entry_obj(e), *none = 0;
    __builtin_memcpy(e->data + e->klen + 1, &none, sizeof none);
    return p;
}
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
/* The entry for KEY if it exists and is not expired at NOW_MS, else NULL. Never deletes. */
struct kv_entry *kv_lookup(struct kv_store *kv, const char *key, size_t klen, int64_t now_ms);

/* The entry for KEY as a write sees it, as Redis's lookupKeyWrite does: NULL if absent; an
 * entry that has expired at NOW_MS is deleted (recording SEQ, as kv_delete) and NULL is
 * returned. Deterministic in apply, where NOW_MS is the entry's clock. */
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
