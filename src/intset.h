/* intset: a sorted array of distinct 64-bit integers stored at the narrowest width that
 * holds them all (2, 4 or 8 bytes), as Redis's small integer sets are. Pure: no I/O.
 *
 * The width only ever grows (adding 70000 to a set of 16-bit values rewrites every element
 * at 32 bits); removing the wide element does not narrow it again, as in Redis. Lookups are
 * binary searches; adds and removes move the tail, O(n), which is why a set converts to a
 * hashtable past set-max-intset-entries (512). The layout is one allocation, so the set
 * moves when it grows: the functions that change it take a struct intset **. */
#ifndef CONCORDKV_INTSET_H
#define CONCORDKV_INTSET_H

#include <stddef.h>
#include <stdint.h>

#include "prng.h"

#define INTSET_WIDTH16 2
#define INTSET_WIDTH32 4
#define INTSET_WIDTH64 8

struct intset; /* opaque */

/* A new empty set (16-bit width). The caller owns it and releases it with intset_free. */
struct intset *intset_new(void);
/* Release IS; intset_free(NULL) is a no-op. */
void intset_free(struct intset *is);

/* Add V. *IS may be reallocated (and upgraded to a wider width). Returns 1 when V was
 * added, 0 when it was already present. */
int intset_add(struct intset **is, int64_t v);
/* Remove V. *IS may be reallocated (shrunk). Returns 1 when V was removed, 0 when absent. */
int intset_remove(struct intset **is, int64_t v);
/* 1 when V is in IS, else 0. */
int intset_find(const struct intset *is, int64_t v);

/* The number of elements. */
uint32_t intset_len(const struct intset *is);
/* The element at position I (0 <= I < intset_len), in ascending order: iterating I from 0
 * to len - 1 visits the set in order. */
int64_t intset_get(const struct intset *is, uint32_t i);
/* A uniformly chosen element drawn from P; IS must not be empty. */
int64_t intset_random(const struct intset *is, struct prng *p);
/* The width of each element in bytes: INTSET_WIDTH16, INTSET_WIDTH32 or INTSET_WIDTH64. */
int intset_width(const struct intset *is);
/* Bytes allocated for IS (header and elements), for MEMORY USAGE. */
size_t intset_bytes(const struct intset *is);

/* Whether S (LEN bytes) is the canonical decimal form of an int64 (what Redis stores in an
 * intset: "12" yes, "012", "+12", " 12" and "1e3" no); when it is, *OUT receives it.
 * Returns 1 or 0. */
int intset_parse(const char *s, size_t len, int64_t *out);

#endif
