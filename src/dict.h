/* dict: a chained hash table of byte-string keys to pointer values (set members leave the
 * value NULL), for the hashtable encodings of hashes, sets and sorted sets. Pure: no I/O.
 *
 * Deterministic by construction, because every node must iterate a value the same way
 * (SMEMBERS of a hashtable set, SSCAN, SINTERSTORE's result): the hash seed is given at
 * creation (a constant, or a per-cluster value agreed through the log), never random per
 * process; tables grow and shrink, and rehash steps run, only inside changes (add, delete,
 * dict_rehash_step), never inside lookups, scans or random picks, and never from a timer.
 * The same sequence of changes therefore yields the same buckets and chains everywhere.
 *
 * Rehashing is incremental as in Redis: past a load of 1 the table doubles into a second
 * table, and each later change moves one bucket (dict_rehash_step moves more); a table
 * under 1/8 full shrinks the same way. dict_scan's reverse-binary cursor returns every
 * element present for the whole scan at least once, across any resizes between calls. */
#ifndef CONCORDKV_DICT_H
#define CONCORDKV_DICT_H

#include <stddef.h>
#include <stdint.h>

#include "prng.h"

#define DICT_DEFAULT_SEED 0x5ca1ab1e0ddba11ULL /* the same on every node */
#define DICT_MIN_SIZE 4

/* One element. KEY (KLEN bytes, NUL-terminated for convenience) is the dict's copy and
 * never moves while the element exists (rehashing relinks entries, it does not copy
 * them), so another structure may point at it (a zset's skiplist does). Callers read key
 * and klen and may read and write val; the other fields are the dict's. */
struct dict_entry {
    struct dict_entry *next;
    void *val;
    uint32_t klen;
    char key[];
};

struct dict_table {
    struct dict_entry **buckets;
    size_t size; /* 0 or a power of two */
    size_t used;
};

/* Treat as opaque; in the header so that a value can embed it without a second allocation. */
struct dict {
    struct dict_table t[2]; /* t[1] exists only during a rehash; adds then go to it */
    long rehash_idx;        /* next bucket of t[0] to move, -1 when not rehashing */
    uint64_t seed;
    int paused;             /* open iterators: no rehash step or resize meanwhile */
    size_t key_bytes;       /* sum of the keys' lengths, for dict_bytes */
    int free_table;         /* dict_free_step's progress */
    size_t free_idx;
    size_t restore_used0;   /* dict_restore_append: elements that go to t[0] */
};

/* Called on every value a free function releases; NULL releases nothing. */
typedef void dict_free_fn(void *val);

/* A new empty dict hashing with SEED. The caller owns it (dict_free / dict_free_step). */
struct dict *dict_new(uint64_t seed);
/* Release D, every key, and every value through FREE_VAL; dict_free(NULL, f) is a no-op.
 * O(n): for a large value use dict_free_step. */
void dict_free(struct dict *d, dict_free_fn *free_val);
/* Release at most about BUDGET elements of D (an empty bucket counts a tenth), for lazy
 * freeing (UNLINK, FLUSHALL ASYNC) that never stalls the loop; D must no longer be used
 * otherwise once this is first called. Returns 1 when D is entirely released (D is then
 * gone), 0 when more calls are needed. */
int dict_free_step(struct dict *d, size_t budget, dict_free_fn *free_val);

/* The number of elements. */
size_t dict_size(const struct dict *d);
/* An estimate of the bytes D holds (tables, entries, keys; not what the values point to). */
size_t dict_bytes(const struct dict *d);
/* The heap bytes D holds, as MEMORY USAGE estimates them (Redis's objectComputeSize): its
 * own and its tables' allocations, plus the element count times the average allocation of
 * the first SAMPLES elements in bucket order (0: every element), each element's entry and,
 * when VAL_BYTES is not NULL, what VAL_BYTES says its value holds. Deterministic. */
size_t dict_bytes_sampled(const struct dict *d, size_t samples,
                          size_t (*val_bytes)(const void *val));

/* Find KEY or add it with a NULL value: returns its entry, and *ADDED (if not NULL) is 1
 * when the entry is new. KEY is copied. */
struct dict_entry *dict_insert(struct dict *d, const void *key, size_t klen, int *added);
/* Add KEY with VAL when absent: returns 1 (D owns VAL now), or 0 when KEY exists (nothing
 * changes and the caller still owns VAL). */
int dict_add(struct dict *d, const void *key, size_t klen, void *val);
/* The entry of KEY, or NULL. Never changes D. */
struct dict_entry *dict_find(const struct dict *d, const void *key, size_t klen);
/* Remove KEY: returns 1 and gives its value to the caller through *VAL (if VAL is not
 * NULL; else the value is simply dropped, not freed), or 0 when KEY is absent. */
int dict_delete(struct dict *d, const void *key, size_t klen, void **val);

/* Move up to N buckets of a rehash in progress (an empty bucket counts a tenth). Returns 1
 * while a rehash remains in progress, else 0. */
int dict_rehash_step(struct dict *d, int n);
/* 1 when a rehash is in progress. */
int dict_is_rehashing(const struct dict *d);

/* Full iteration in bucket order. While an iterator is open D neither rehashes nor
 * resizes, and the element last returned may be deleted (no other deletion or any
 * addition is allowed); dict_iter_close must follow. */
struct dict_iter {
    struct dict *d;
    int table;
    size_t bucket;
    struct dict_entry *next;
};
void dict_iter_init(struct dict_iter *it, struct dict *d);
/* The next element, or NULL at the end. */
struct dict_entry *dict_iter_next(struct dict_iter *it);
void dict_iter_close(struct dict_iter *it);

/* One SCAN step from CURSOR (0 starts): calls FN(UD, entry) for the elements of one
 * cursor position (FN must not change D) and returns the next cursor, 0 when the scan is
 * complete. Elements present from the first to the last call are all returned at least
 * once, even if D resizes or rehashes between calls; some may be returned twice. */
typedef void dict_scan_fn(void *ud, const struct dict_entry *e);
uint64_t dict_scan(const struct dict *d, uint64_t cursor, dict_scan_fn *fn, void *ud);

/* A random element drawn from P (as Redis: a random non-empty bucket, then a random
 * element of its chain), or NULL when D is empty. Never changes D. */
struct dict_entry *dict_random(const struct dict *d, struct prng *p);

/* ---- snapshots: rebuilding the very same structure ----
 * A node restored from a snapshot must iterate, scan and pick at random exactly as the
 * leader does, so inserting the members again is not enough (the table's size and rehash
 * progress depend on its history). A snapshot therefore records the shape and the
 * elements in dict_iter order; dict_new_shaped and dict_restore_append rebuild the same
 * buckets, chains and rehash position. */
struct dict_shape {
    uint64_t size0, size1; /* bucket counts of t[0] and t[1] (0 when absent) */
    int64_t rehash_idx;    /* -1 when not rehashing */
    uint64_t used0;        /* elements in t[0]: dict_iter returns them first */
};
void dict_get_shape(const struct dict *d, struct dict_shape *shape);
/* A new empty dict of SHAPE hashing with SEED, or NULL when SHAPE is impossible (sizes not
 * 0 or a power of two up to 2^40, a second table without a rehash, a rehash index out of
 * range): SHAPE may come from a damaged snapshot. The caller owns the result. */
struct dict *dict_new_shaped(uint64_t seed, const struct dict_shape *shape);
/* Append KEY (copied) with VAL to a dict made by dict_new_shaped, in the order dict_iter
 * returned the elements: the first SHAPE.used0 go to t[0], the rest to t[1], each at the
 * end of its bucket's chain. Returns the new entry (D owns VAL), or NULL when KEY is
 * already present or would sit in the part of t[0] already rehashed, or in a table that
 * does not exist (a damaged snapshot; the caller still owns VAL). */
struct dict_entry *dict_restore_append(struct dict *d, const void *key, size_t klen,
                                       void *val);
/* After the last append: 0 when t[0] received exactly SHAPE.used0 elements, else -1 (a
 * damaged snapshot). */
int dict_restore_done(const struct dict *d);

#endif
