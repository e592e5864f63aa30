/* zset: the skiplist encoding of a sorted set, a dict (member -> skiplist node) for O(1)
 * ZSCORE beside a zskiplist for order and rank, as Redis pairs them; plus the parsing and
 * formatting of scores and ranges the sorted-set commands share. Pure: no I/O.
 *
 * Each member is stored once: the dict entry holds the bytes and the skiplist node points
 * at them (dict entries never move). Every change that may insert into the skiplist takes
 * the caller's struct prng, seeded from the entry being applied, so the structure is the
 * same on every node. */
#ifndef CONCORDKV_ZSET_H
#define CONCORDKV_ZSET_H

#include <stddef.h>

#include "dict.h"
#include "prng.h"
#include "zskiplist.h"

struct zset {
    struct dict *dict;       /* member -> struct zsl_node * */
    struct zskiplist *zsl;
};

/* A new empty zset whose dict hashes with SEED; the caller owns it (zset_free). */
struct zset *zset_new(uint64_t seed);
/* Release ZS and every member; zset_free(NULL) is a no-op. */
void zset_free(struct zset *zs);
/* Release at most about BUDGET members of ZS, for lazy freeing; ZS must not be used
 * otherwise once this is first called. Returns 1 when ZS is entirely released, else 0. */
int zset_free_step(struct zset *zs, size_t budget);

/* The number of members. */
unsigned long zset_len(const struct zset *zs);
/* Heap bytes ZS holds, an estimate for MEMORY USAGE: its structures, plus the dict's
 * members with their skiplist nodes averaged over SAMPLES members (0: all). */
size_t zset_bytes(const struct zset *zs, size_t samples);

/* Set MEMBER's score to SCORE (not NaN), adding MEMBER (copied) when absent. Returns 1
 * when added, 0 when it existed (its score now SCORE). */
int zset_add(struct zset *zs, const char *member, size_t len, double score, struct prng *p);
/* MEMBER's entry, its score into *SCORE, or NULL when absent: one lookup for a change of
 * score with zset_set_score (E stays valid until ZS changes otherwise). */
struct dict_entry *zset_lookup(struct zset *zs, const char *member, size_t len, double *score);
void zset_set_score(struct zset *zs, struct dict_entry *e, double score, struct prng *p);
/* MEMBER's score into *SCORE: 0, or -1 when absent. */
int zset_score(const struct zset *zs, const char *member, size_t len, double *score);
/* Remove MEMBER. Returns 1 when removed, 0 when absent. */
int zset_remove(struct zset *zs, const char *member, size_t len);
/* MEMBER's 0-based rank, ascending or (REVERSE) descending, or -1 when absent. */
long zset_rank(const struct zset *zs, const char *member, size_t len, int reverse);

/* Remove the members within R / the lex range / 0-based ranks START..END (inclusive, both
 * within 0..len-1). Return the number removed. */
unsigned long zset_remove_range_by_score(struct zset *zs, const struct zsl_range *r);
unsigned long zset_remove_range_by_lex(struct zset *zs, const struct zsl_lex_range *r);
unsigned long zset_remove_range_by_rank(struct zset *zs, unsigned long start,
                                        unsigned long end);

/* ---- snapshots ----
 * The dict's shape decides ZSCAN and ZRANDMEMBER, so a snapshot records it (dict_get_shape
 * on zs->dict) and the members in the dict's iteration order; the skiplist's levels decide
 * no reply, so its nodes are simply inserted again. */
/* A new empty zset whose dict has SHAPE (see dict_new_shaped), or NULL when SHAPE is
 * impossible. */
struct zset *zset_new_shaped(uint64_t seed, const struct dict_shape *shape);
/* Append MEMBER with SCORE (not NaN) in dict iteration order; levels are drawn from P.
 * Returns 0, or -1 for a duplicate or misplaced member (see dict_restore_append). */
int zset_restore_append(struct zset *zs, const char *member, size_t len, double score,
                        struct prng *p);

/* ---- scores and ranges as the commands read and write them ---- */

/* Parse a score as ZADD and ZINCRBY do (Redis's string2d): the whole string, "inf",
 * "-inf", "+inf" accepted; NaN, overflow, leading space and trailing bytes (an embedded NUL
 * too) refused.
 * Returns 0, or -1 ("value is not a valid float"). */
int zset_parse_score(const char *s, size_t len, double *out);
/* Parse a ZRANGEBYSCORE-style range ("1.5", "(1.5", "-inf", "+inf"), with Redis's strtod
 * leniency (leading space, "" as 0, hex floats). Returns 0, or -1 ("min or max is not a
 * float"); NaN is refused. */
int zset_parse_range(const char *min, size_t minlen, const char *max, size_t maxlen,
                     struct zsl_range *r);
/* Parse a ZRANGEBYLEX-style range ("[a", "(a", "-", "+"); the ends point into MIN and MAX,
 * which must outlive R. Returns 0, or -1 ("min or max not valid string range item"). */
int zset_parse_lex_range(const char *min, size_t minlen, const char *max, size_t maxlen,
                         struct zsl_lex_range *r);
/* Format a score as Redis replies it: "inf", "-inf", else printf's %.17g ("1.5", "-0",
 * "0.10000000000000001"), which reads back as the same double. BUF holds at least
 * ZSET_SCORE_MAX bytes; returns the length. */
#define ZSET_SCORE_MAX 32
size_t zset_format_score(char *buf, size_t cap, double score);

#endif
