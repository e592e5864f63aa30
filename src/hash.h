/* The hash value type: a field -> value map in one of two encodings, as Redis 7.0 keeps
 * it: "listpack" (field, value, field, value ... in insertion order, O(n) lookups) while
 * small, "hashtable" (a dict of field -> struct hash_val) once it has more than
 * limits.entries fields or a field or value longer than limits.value bytes. A hash never
 * converts back. Pure: no I/O, no clock, no configuration; the limits come from the
 * caller (carried in the log entry, see docs/DATATYPES.md), so every node converts at the
 * same change. */
#ifndef CONCORDKV_HASH_H
#define CONCORDKV_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "dict.h"
#include "listpack.h"
#include "prng.h"

enum hash_enc { HASH_LISTPACK, HASH_HASHTABLE };

/* Conversion thresholds (hash-max-listpack-entries / hash-max-listpack-value). */
struct hash_limits {
    long long entries;
    long long value;
};
#define HASH_DEFAULT_ENTRIES 128
#define HASH_DEFAULT_VALUE 64

/* The node's configured limits: written by the server at startup and by CONFIG SET, read
 * only by the prepare step of hash writes (which copies them into the proposed command).
 * Apply never reads this. */
extern struct hash_limits hash_limits_configured;
void hash_set_limits(long long entries, long long value);

/* A value of the hashtable encoding: the dict entry's val. */
struct hash_val {
    uint32_t len;
    char data[]; /* len bytes, NUL */
};

struct hash {
    enum hash_enc enc;
    struct listpack *lp; /* HASH_LISTPACK */
    struct dict *d;      /* HASH_HASHTABLE */
};

/* A new empty listpack hash; the caller owns it (hash_free / hash_free_step). */
struct hash *hash_new(void);
/* A new empty hash of encoding ENC (snapshot restore); for HASH_HASHTABLE D is taken. */
struct hash *hash_new_dict(struct dict *d);
void hash_free(struct hash *h);
/* Release at most about BUDGET fields; returns 1 when H is entirely gone. */
int hash_free_step(struct hash *h, size_t budget);
/* A deep copy in the same encoding (COPY): a hashtable copy is built in iteration order. */
struct hash *hash_dup(const struct hash *h);

size_t hash_len(const struct hash *h);
/* Heap bytes held, an estimate (MEMORY USAGE): a listpack's allocation, or the dict's with
 * fields and values averaged over SAMPLES fields (0: all; dict_bytes_sampled). */
size_t hash_bytes(const struct hash *h, size_t samples);
const char *hash_encoding_name(const struct hash *h);

/* The value of FIELD (*VLEN receives its length), or NULL when absent; valid until the
 * next change of H. */
const char *hash_get(const struct hash *h, const char *field, size_t flen, size_t *vlen);
/* Convert to the hashtable encoding when any of the N strings ARGV[i] (lengths LENS) is
 * longer than LIM->value (Redis's hashTypeTryConversion, before any change). */
void hash_try_convert(struct hash *h, const char *const *argv, const size_t *lens, int n,
                      const struct hash_limits *lim);
/* Set FIELD to VALUE (copied), converting per LIM. Returns 1 when FIELD was added, 0 when
 * its value was replaced. */
int hash_set(struct hash *h, const char *field, size_t flen, const char *val, size_t vlen,
             const struct hash_limits *lim);
/* Delete FIELD: 1 when deleted, 0 when absent. */
int hash_delete(struct hash *h, const char *field, size_t flen);
/* Convert a listpack hash to a hashtable (no-op when already one). */
void hash_convert(struct hash *h);

/* Iteration (no changes meanwhile): listpack order, or dict_iter order. */
struct hash_iter {
    struct hash *h;
    size_t pos;
    struct dict_iter di;
};
void hash_iter_init(struct hash_iter *it, struct hash *h);
/* The next field and value; 0 at the end. */
int hash_iter_next(struct hash_iter *it, const char **f, size_t *flen, const char **v,
                   size_t *vlen);
void hash_iter_close(struct hash_iter *it);

/* A random field drawn from P: its field and value. H must not be empty. */
void hash_random(const struct hash *h, struct prng *p, const char **f, size_t *flen,
                 const char **v, size_t *vlen);

/* An order- and encoding-independent digest of H's content: XOR over fields of a hash of
 * (field, value), with SEED. */
uint64_t hash_digest(struct hash *h, uint64_t seed);

#endif
