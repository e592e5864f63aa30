/* zskiplist: the ordered half of a large sorted set, a skiplist ordered by (score, member)
 * with a span on every link so that ranks come in O(log n), after Pugh and Redis's
 * t_zset.c. Pure: no I/O.
 *
 * Deterministic: a node's level is drawn from the caller's struct prng (seeded from the
 * entry being applied), never from rand(), so the same operations build the same
 * structure on every node. Nodes do not own their member bytes: a zset points them at its
 * dict's copy of the member (see zset.h), so each member is stored once. */
#ifndef CONCORDKV_ZSKIPLIST_H
#define CONCORDKV_ZSKIPLIST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "prng.h"

#define ZSL_MAXLEVEL 32
#define ZSL_P_PERCENT 25 /* a node reaches the next level with probability 1/4 */

/* A node does not store its member's length: the member's bytes are preceded by it, as a
 * uint32_t (the layout of a dict_entry's klen and key, which is what a zset points nodes
 * at), and zsl_node_len reads it. That keeps a one-level node at 40 bytes (a 48-byte malloc
 * chunk instead of 64), a sixth of a large sorted set's memory. */
struct zsl_node {
    const char *ele; /* borrowed: must outlive the node, preceded by its length (above) */
    double score;
    struct zsl_node *backward;
    struct zsl_level {
        struct zsl_node *forward;
        unsigned long span; /* elements the link skips over, the target included */
    } level[];
};

/* The length of node N's member (see struct zsl_node). */
static inline size_t zsl_node_len(const struct zsl_node *n)
{
    uint32_t len;
    memcpy(&len, n->ele - sizeof(len), sizeof(len));
    return len;
}

struct zskiplist {
    struct zsl_node *header, *tail;
    unsigned long length;
    int level;
};

/* A score range: MIN and MAX may be -inf/+inf; MINEX/MAXEX make an end exclusive. */
struct zsl_range {
    double min, max;
    int minex, maxex;
};

/* A lex range as ZRANGEBYLEX takes it: each end is "-" (ZSL_LEX_MIN), "+" (ZSL_LEX_MAX),
 * or bytes, inclusive or exclusive. The bytes are borrowed. */
enum zsl_lex_kind { ZSL_LEX_BYTES, ZSL_LEX_MIN, ZSL_LEX_MAX };
struct zsl_lex_end {
    enum zsl_lex_kind kind;
    int ex;
    const char *s;
    size_t len;
};
struct zsl_lex_range {
    struct zsl_lex_end min, max;
};

/* Called with every node a range deletion removes, before the node is freed (a zset drops
 * the member from its dict there). */
typedef void zsl_delete_fn(void *ud, struct zsl_node *node);

/* A new empty skiplist; the caller owns it and releases it with zsl_free. */
struct zskiplist *zsl_new(void);
/* Release ZSL and its nodes (not the member bytes); zsl_free(NULL) is a no-op. */
void zsl_free(struct zskiplist *zsl);
/* Release at most BUDGET nodes of ZSL, for lazy freeing; ZSL must not be used otherwise
 * once this is first called. Returns 1 when ZSL is entirely released, else 0. */
int zsl_free_step(struct zskiplist *zsl, size_t budget);

/* A level in 1..ZSL_MAXLEVEL drawn from P. */
int zsl_random_level(struct prng *p);
/* Insert ELE (LEN bytes, borrowed) with SCORE; ELE must not already be in ZSL and SCORE
 * must not be NaN. Returns the new node. */
struct zsl_node *zsl_insert(struct zskiplist *zsl, double score, const char *ele, size_t len,
                            struct prng *p);
/* Delete the node of (SCORE, ELE). Returns 1 when it was found and deleted, else 0. */
int zsl_delete(struct zskiplist *zsl, double score, const char *ele, size_t len);
/* Move the node of (CUR, ELE), which must exist, to NEWSCORE; in place when its neighbours
 * allow, else by delete and insert (drawing a level from P). Returns the node. */
struct zsl_node *zsl_update_score(struct zskiplist *zsl, double cur, const char *ele,
                                  size_t len, double newscore, struct prng *p);

/* The 1-based rank of (SCORE, ELE), or 0 when absent. */
unsigned long zsl_rank(const struct zskiplist *zsl, double score, const char *ele, size_t len);
/* The node of 1-based RANK, or NULL when out of range. */
struct zsl_node *zsl_by_rank(const struct zskiplist *zsl, unsigned long rank);

/* Compare byte strings as Redis's sdscmp: memcmp of the common prefix, then length. */
int zsl_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen);
/* Whether SCORE / ELE lies within R (1 or 0). */
int zsl_score_in_range(double score, const struct zsl_range *r);
int zsl_lex_in_range(const char *ele, size_t len, const struct zsl_lex_range *r);

/* The first (lowest) / last (highest) node within R, or NULL when none is. */
struct zsl_node *zsl_first_in_range(const struct zskiplist *zsl, const struct zsl_range *r);
struct zsl_node *zsl_last_in_range(const struct zskiplist *zsl, const struct zsl_range *r);
/* The same for a lex range (meaningful when every score is equal, as ZRANGEBYLEX assumes). */
struct zsl_node *zsl_first_in_lex_range(const struct zskiplist *zsl,
                                        const struct zsl_lex_range *r);
struct zsl_node *zsl_last_in_lex_range(const struct zskiplist *zsl,
                                       const struct zsl_lex_range *r);

/* Delete every node within R / the lex range / ranks START..END (1-based, inclusive),
 * calling FN(UD, node) on each first (FN may be NULL). Return the number deleted. */
unsigned long zsl_delete_range_by_score(struct zskiplist *zsl, const struct zsl_range *r,
                                        zsl_delete_fn *fn, void *ud);
unsigned long zsl_delete_range_by_lex(struct zskiplist *zsl, const struct zsl_lex_range *r,
                                      zsl_delete_fn *fn, void *ud);
unsigned long zsl_delete_range_by_rank(struct zskiplist *zsl, unsigned long start,
                                       unsigned long end, zsl_delete_fn *fn, void *ud);

#endif
