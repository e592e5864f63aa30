/* listpack: our compact encoding for small hashes and sorted sets (what OBJECT ENCODING
 * reports as "listpack"; the byte format is our own, not Redis's). One allocation holds a
 * sequence of byte strings, each framed as
 *     [length, LEB128 varint][bytes][back length, reversed varint]
 * so that an entry of up to 127 bytes costs 2 bytes of framing and the sequence can be
 * walked both ways. Every search is an O(n) scan, which is why a value converts to a
 * hashtable or skiplist past the *-max-listpack-entries / -value thresholds.
 *
 * Pairs: a small hash stores field, value, field, value ...; a small sorted set stores
 * member, score, member, score ... ordered by (score, member), the score as the 8 bytes of
 * its IEEE binary64 bit pattern (little-endian), exact and cheap to compare.
 *
 * Positions are byte offsets of an entry's start, valid until the next change (a change
 * may move the whole listpack: the functions that change it take a struct listpack **). */
#ifndef CONCORDKV_LISTPACK_H
#define CONCORDKV_LISTPACK_H

#include <stddef.h>
#include <stdint.h>

#include "prng.h"
#include "zskiplist.h" /* struct zsl_range, struct zsl_lex_range: one range syntax */

#define LISTPACK_NONE ((size_t)-1) /* "no entry": past the end or before the start */
#define LISTPACK_MAX_BYTES 0x7fffffffu /* a listpack is far smaller: values convert first */

struct listpack; /* opaque */

/* A new empty listpack; the caller owns it and releases it with listpack_free. */
struct listpack *listpack_new(void);
/* Release LP; listpack_free(NULL) is a no-op. */
void listpack_free(struct listpack *lp);

/* The number of entries (of a pair listpack: twice the number of pairs). */
uint32_t listpack_count(const struct listpack *lp);
/* Bytes allocated for LP, framing and header included, for MEMORY USAGE. */
size_t listpack_bytes(const struct listpack *lp);
/* The bytes an entry of LEN bytes adds to a listpack, framing included. */
size_t listpack_entry_bytes(size_t len);

/* Walking: the first, last, next and previous entry's position, or LISTPACK_NONE (also
 * when POS is LISTPACK_NONE, so that a pair step past either end is safe). */
size_t listpack_first(const struct listpack *lp);
size_t listpack_last(const struct listpack *lp);
size_t listpack_next(const struct listpack *lp, size_t pos);
size_t listpack_prev(const struct listpack *lp, size_t pos);
/* The position of entry INDEX (negative counts from the end: -1 is the last), or
 * LISTPACK_NONE when out of range. O(n). */
size_t listpack_seek(const struct listpack *lp, long index);
/* The bytes of the entry at POS (*LEN receives their count); they belong to LP and are
 * valid until its next change. */
const unsigned char *listpack_get(const struct listpack *lp, size_t pos, size_t *len);

/* Append a copy of S (LEN bytes). */
void listpack_append(struct listpack **lp, const void *s, size_t len);
/* Insert a copy of S before the entry at POS (LISTPACK_NONE appends). Returns the new
 * entry's position. */
size_t listpack_insert(struct listpack **lp, size_t pos, const void *s, size_t len);
/* Replace the entry at POS with a copy of S. Returns POS. */
size_t listpack_replace(struct listpack **lp, size_t pos, const void *s, size_t len);
/* Delete N entries from POS on (fewer if the end comes first). Returns the position of the
 * entry that followed them, or LISTPACK_NONE: deleting while walking continues from the
 * returned position. */
size_t listpack_delete(struct listpack **lp, size_t pos, uint32_t n);

/* The first entry at or after POS equal to S (LEN bytes), comparing only every (SKIP + 1)th
 * entry (SKIP 1 looks at the fields of a pair listpack, starting at a field), or
 * LISTPACK_NONE. */
size_t listpack_find(const struct listpack *lp, size_t pos, const void *s, size_t len,
                     uint32_t skip);

/* ---- pairs ---- */

/* Field/value: the position of FIELD's entry (its value is the next entry), or
 * LISTPACK_NONE. */
size_t listpack_pair_find(const struct listpack *lp, const void *field, size_t len);
/* Set FIELD to VALUE: replaces the value when FIELD exists, else appends the pair.
 * Returns 1 when the pair was added, 0 when a value was replaced. */
int listpack_pair_set(struct listpack **lp, const void *field, size_t flen, const void *val,
                      size_t vlen);
/* Delete FIELD and its value. Returns 1 when deleted, 0 when absent. */
int listpack_pair_delete(struct listpack **lp, const void *field, size_t len);

/* Member/score, ordered by (score, member) with members compared as bytes. The score of
 * the member at position POS (the entry after POS holds it). */
double listpack_score_at(const struct listpack *lp, size_t member_pos);
/* Insert MEMBER (not present) with SCORE at its ordered place. Returns its position. */
size_t listpack_score_insert(struct listpack **lp, const void *member, size_t len,
                             double score);
/* The position of MEMBER's entry in a member/score listpack, or LISTPACK_NONE. */
size_t listpack_score_find(const struct listpack *lp, const void *member, size_t len);
/* The first / last member within the score range R, or LISTPACK_NONE (the first stops at
 * the first member past R, the last walks back from the end). */
size_t listpack_score_first_in_range(const struct listpack *lp, const struct zsl_range *r);
size_t listpack_score_last_in_range(const struct listpack *lp, const struct zsl_range *r);
/* The same for a lex range (meaningful when every score is equal, as ZRANGEBYLEX assumes). */
size_t listpack_score_first_in_lex_range(const struct listpack *lp,
                                         const struct zsl_lex_range *r);
size_t listpack_score_last_in_lex_range(const struct listpack *lp,
                                        const struct zsl_lex_range *r);
/* The position of the first entry of a pair chosen uniformly by P (HRANDFIELD,
 * ZRANDMEMBER on a small value), or LISTPACK_NONE when LP is empty. */
size_t listpack_random_pair(const struct listpack *lp, struct prng *p);
/* Encode / decode a score entry: 8 bytes, the bit pattern least significant byte first. */
void listpack_score_encode(unsigned char out[8], double score);
double listpack_score_decode(const unsigned char in[8]);

#endif
