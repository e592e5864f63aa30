/* The sorted-set value type: members with scores, ordered by (score, member), in one of two
 * encodings as Redis 7.0 keeps them: "listpack" (member, score ... in order, O(n) lookups)
 * while it has at most limits.entries members, none longer than limits.value bytes, else
 * "skiplist" (struct zset: dict + zskiplist). A value never converts back, except that the
 * stores (ZUNIONSTORE ...) shrink their fresh result (zobj_shrink_if_small). Pure: no I/O,
 * no clock, no configuration; limits and the PRNG for skiplist levels come from the caller
 * (carried in, or seeded by, the log entry), so every node builds the same structure. */
#ifndef CONCORDKV_ZOBJ_H
#define CONCORDKV_ZOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "listpack.h"
#include "prng.h"
#include "zset.h"

enum zobj_enc { ZOBJ_LISTPACK, ZOBJ_SKIPLIST };

/* Conversion thresholds (zset-max-listpack-entries / zset-max-listpack-value). */
struct zobj_limits {
    long long entries;
    long long value;
};
#define ZOBJ_DEFAULT_ENTRIES 128
#define ZOBJ_DEFAULT_VALUE 64

/* The node's configured limits: written at startup and by CONFIG SET, read only by the
 * prepare step of sorted-set writes (which copies them into the proposed command). */
extern struct zobj_limits zobj_limits_configured;
void zobj_set_limits(long long entries, long long value);

struct zobj {
    enum zobj_enc enc;
    struct listpack *lp; /* ZOBJ_LISTPACK */
    struct zset *zs;     /* ZOBJ_SKIPLIST */
};

/* A new empty sorted set for a first member of FIRST_LEN bytes, as ZADD creates one: a
 * skiplist when LIM->entries is 0 or FIRST_LEN > LIM->value, else a listpack. The caller
 * owns it (zobj_free / zobj_free_step). */
struct zobj *zobj_new(const struct zobj_limits *lim, size_t first_len);
/* A new empty skiplist sorted set (the stores build one, then shrink it). */
struct zobj *zobj_new_skiplist(void);
/* Wrap LP (taken) or ZS (taken) into a value (snapshot restore). */
struct zobj *zobj_wrap(struct listpack *lp, struct zset *zs);
void zobj_free(struct zobj *z);
/* Release at most about BUDGET members; 1 when Z is entirely gone. */
int zobj_free_step(struct zobj *z, size_t budget);
/* A deep copy in the same encoding (COPY); a skiplist copy is built in dict order with
 * levels from a fixed seed (levels decide no reply). */
struct zobj *zobj_dup(const struct zobj *z);

size_t zobj_len(const struct zobj *z);
/* Heap bytes held, an estimate (MEMORY USAGE): a listpack's allocation, or the skiplist's
 * dict, members and nodes averaged over SAMPLES members (0: all). */
size_t zobj_bytes(const struct zobj *z, size_t samples);
const char *zobj_encoding_name(const struct zobj *z);

/* Convert a listpack value to a skiplist (no-op when already one). */
void zobj_convert(struct zobj *z, struct prng *p);
/* A store's result: convert a skiplist to a listpack when it has at most LIM->entries
 * members and MAXELELEN <= LIM->value (Redis's zsetConvertToListpackIfNeeded). */
void zobj_shrink_if_small(struct zobj *z, const struct zobj_limits *lim, size_t maxelelen);

/* ZADD's flags in and out (Redis's zsetAdd). */
enum {
    ZADD_IN_INCR = 1 << 0,
    ZADD_IN_NX = 1 << 1,
    ZADD_IN_XX = 1 << 2,
    ZADD_IN_GT = 1 << 3,
    ZADD_IN_LT = 1 << 4,
};
enum {
    ZADD_OUT_NOP = 1 << 0,
    ZADD_OUT_NAN = 1 << 1,
    ZADD_OUT_ADDED = 1 << 2,
    ZADD_OUT_UPDATED = 1 << 3,
};
/* Add or update MEMBER (copied) with SCORE under IN_FLAGS, converting per LIM (the count
 * or the member's length); *OUT_FLAGS says what happened, *NEWSCORE the resulting score.
 * Returns 1, or 0 when SCORE or the incremented score is NaN (nothing changed). */
int zobj_add(struct zobj *z, double score, const char *member, size_t len, int in_flags,
             int *out_flags, double *newscore, const struct zobj_limits *lim, struct prng *p);
/* MEMBER's score into *SCORE: 0, or -1 when absent. */
int zobj_score(const struct zobj *z, const char *member, size_t len, double *score);
/* Remove MEMBER: 1 when removed, 0 when absent. */
int zobj_remove(struct zobj *z, const char *member, size_t len);
/* MEMBER's 0-based rank, ascending or (REV) descending, or -1 when absent. */
long zobj_rank(const struct zobj *z, const char *member, size_t len, int rev);

/* Remove the members in R / the lex range / ascending 0-based ranks START..END (within
 * 0..len-1). Return the number removed. */
unsigned long zobj_remove_range_by_score(struct zobj *z, const struct zsl_range *r);
unsigned long zobj_remove_range_by_lex(struct zobj *z, const struct zsl_lex_range *r);
unsigned long zobj_remove_range_by_rank(struct zobj *z, unsigned long start, unsigned long end);

/* An ordered walk, ascending or (REV) descending, from a rank or the first member of a
 * range in that direction; the caller checks the range's other end. Members stay valid
 * until the next change of the value. */
struct zobj_it {
    const struct zobj *z;
    int rev;
    size_t pos;            /* listpack: the member's entry, or LISTPACK_NONE */
    struct zsl_node *node; /* skiplist, or NULL */
};
void zobj_it_rank(struct zobj_it *it, const struct zobj *z, unsigned long rank, int rev);
void zobj_it_score(struct zobj_it *it, const struct zobj *z, const struct zsl_range *r, int rev);
void zobj_it_lex(struct zobj_it *it, const struct zobj *z, const struct zsl_lex_range *r,
                 int rev);
/* The current member and score; 0 when the walk is over. */
int zobj_it_get(const struct zobj_it *it, const char **member, size_t *len, double *score);
void zobj_it_next(struct zobj_it *it);

/* A member drawn uniformly from P; Z must not be empty. */
void zobj_random(const struct zobj *z, struct prng *p, const char **member, size_t *len,
                 double *score);

/* An order- and encoding-independent digest: XOR over members of a hash of (member,
 * score's bits), with SEED. */
uint64_t zobj_digest(const struct zobj *z, uint64_t seed);

#endif
