/* The set value type, as Redis 7.0 keeps it: "intset" while every member is the canonical
 * decimal form of an int64 and there are at most the caller's max_intset members, else
 * "hashtable" (a dict of members with NULL values, DICT_DEFAULT_SEED). A set never
 * converts back. Pure: no I/O, no clock, no configuration; the limit comes from the caller
 * (carried in the log entry, see docs/DATATYPES.md), so every node converts at the same
 * change. */
#ifndef CONCORDKV_SET_H
#define CONCORDKV_SET_H

#include <stddef.h>
#include <stdint.h>

#include "dict.h"
#include "intset.h"
#include "prng.h"

enum set_enc { SET_INTSET, SET_HASHTABLE };

#define SET_DEFAULT_MAX_INTSET 512 /* set-max-intset-entries */
/* Room for an int64 in decimal (set_iter, set_random write integers there). */
#define SET_INT_BUF 24

/* The node's configured set-max-intset-entries: written by the server at startup and by
 * CONFIG SET, read only by the prepare step of set writes (which copies it into the
 * proposed command). Apply never reads it. */
extern long long set_max_intset_configured;
void set_configure_limits(long long max_intset);

struct set {
    enum set_enc enc;
    struct intset *is; /* SET_INTSET */
    struct dict *d;    /* SET_HASHTABLE */
};

/* A new empty set of encoding ENC. The caller owns it (set_free / set_free_step). */
struct set *set_new(enum set_enc enc);
/* A new empty set for a first member M (Redis's setTypeCreate): an intset when M is an
 * integer, else a hashtable. */
struct set *set_new_for(const char *m, size_t len);
/* A set of the hashtable encoding around D (snapshot restore); D is taken. */
struct set *set_new_dict(struct dict *d);
void set_free(struct set *s);
/* Release at most about BUDGET members; returns 1 when S is entirely gone. */
int set_free_step(struct set *s, size_t budget);
/* A deep copy in the same encoding (COPY); a hashtable copy is built in iteration order. */
struct set *set_dup(const struct set *s);

size_t set_len(const struct set *s);
/* Heap bytes held, an estimate (MEMORY USAGE): an intset's allocation, or the dict's with
 * members averaged over SAMPLES members (0: all; dict_bytes_sampled). */
size_t set_bytes(const struct set *s, size_t samples);
const char *set_encoding_name(const struct set *s);

/* Add M (copied), converting to a hashtable when M is not an integer or when the intset
 * would pass MAX_INTSET members. Returns 1 when added, 0 when already present. */
int set_add(struct set *s, const char *m, size_t len, long long max_intset);
/* Remove M: 1 when removed, 0 when absent. An intset stays an intset. */
int set_remove(struct set *s, const char *m, size_t len);
/* 1 when M is a member, else 0. */
int set_contains(const struct set *s, const char *m, size_t len);
/* Convert an intset to a hashtable (no-op when already one). */
void set_convert(struct set *s);

/* Iteration (no changes meanwhile, except removing the member just returned from a
 * hashtable set): ascending order for an intset, dict_iter order for a hashtable. */
struct set_iter {
    struct set *s;
    uint32_t pos;
    struct dict_iter di;
    char tmp[SET_INT_BUF];
};
void set_iter_init(struct set_iter *it, struct set *s);
/* The next member in *M, *LEN (valid until the next call); 0 at the end. */
int set_iter_next(struct set_iter *it, const char **m, size_t *len);
void set_iter_close(struct set_iter *it);

/* A random member drawn from P; S must not be empty. *M points into S, or into TMP for an
 * intset; valid until the next change of S. */
void set_random(const struct set *s, struct prng *p, char tmp[SET_INT_BUF], const char **m,
                size_t *len);
/* Remove a random member drawn from P and return it (NUL-terminated, *LEN bytes; the caller
 * frees it); S must not be empty. */
char *set_pop(struct set *s, struct prng *p, size_t *len);

/* An order- and encoding-independent digest of S's members: XOR over members of a hash of
 * the member's bytes (an intset member as its decimal form), with SEED. */
uint64_t set_digest(struct set *s, uint64_t seed);

#endif
