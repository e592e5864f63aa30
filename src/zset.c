/* The skiplist encoding of a sorted set (see zset.h): dict and skiplist kept in step, and
 * the score and range syntax of the sorted-set commands. Pure: no I/O. */
#include "zset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct zset *zset_new(uint64_t seed)
{
    struct zset *zs = xmalloc(sizeof(*zs));
    zs->dict = dict_new(seed);
    zs->zsl = zsl_new();
    return zs;
}

void zset_free(struct zset *zs)
{
    if (zs)
        while (!zset_free_step(zs, SIZE_MAX / 16))
            ;
}

int zset_free_step(struct zset *zs, size_t budget)
{
    /* the skiplist first: its nodes point at the dict's member bytes */
    if (zs->zsl) {
        if (!zsl_free_step(zs->zsl, budget))
            return 0;
        zs->zsl = NULL;
    }
    if (!dict_free_step(zs->dict, budget, NULL))
        return 0;
    free(zs);
    return 1;
}

unsigned long zset_len(const struct zset *zs)
{
    return zs->zsl->length;
}

size_t zset_bytes(const struct zset *zs, size_t samples)
{
    /* the dict's values are the members' skiplist nodes */
    return util_alloc_bytes(zs) + util_alloc_bytes(zs->zsl) + util_alloc_bytes(zs->zsl->header) +
           dict_bytes_sampled(zs->dict, samples, util_alloc_bytes);
}

int zset_add(struct zset *zs, const char *member, size_t len, double score, struct prng *p)
{
    int added;
    struct dict_entry *e = dict_insert(zs->dict, member, len, &added);
    if (added) {
        e->val = zsl_insert(zs->zsl, score, e->key, e->klen, p);
        return 1;
    }
    struct zsl_node *n = e->val;
    if (n->score != score)
        e->val = zsl_update_score(zs->zsl, n->score, e->key, e->klen, score, p);
    return 0;
}

struct dict_entry *zset_lookup(struct zset *zs, const char *member, size_t len, double *score)
{
    struct dict_entry *e = dict_find(zs->dict, member, len);
    if (e != NULL)
        *score = ((const struct zsl_node *)e->val)->score;
    return e;
}

void zset_set_score(struct zset *zs, struct dict_entry *e, double score, struct prng *p)
{
    struct zsl_node *n = e->val;
    if (n->score != score)
        e->val = zsl_update_score(zs->zsl, n->score, e->key, e->klen, score, p);
}

int zset_score(const struct zset *zs, const char *member, size_t len, double *score)
{
    const struct dict_entry *e = dict_find(zs->dict, member, len);
    if (!e)
        return -1;
    *score = ((const struct zsl_node *)e->val)->score;
    return 0;
}

int zset_remove(struct zset *zs, const char *member, size_t len)
{
    struct dict_entry *e = dict_find(zs->dict, member, len);
    if (!e)
        return 0;
    double score = ((struct zsl_node *)e->val)->score;
    zsl_delete(zs->zsl, score, e->key, e->klen); /* before the dict frees the bytes */
    dict_delete(zs->dict, member, len, NULL);
    return 1;
}

long zset_rank(const struct zset *zs, const char *member, size_t len, int reverse)
{
    const struct dict_entry *e = dict_find(zs->dict, member, len);
    if (!e)
        return -1;
    double score = ((const struct zsl_node *)e->val)->score;
    unsigned long rank = zsl_rank(zs->zsl, score, e->key, e->klen);
    return reverse ? (long)(zs->zsl->length - rank) : (long)rank - 1;
}

/* Range deletion's callback: the node leaves the skiplist, its member the dict. */
static void drop_member(void *ud, struct zsl_node *node)
{
    struct dict *d = ud;
    dict_delete(d, node->ele, zsl_node_len(node), NULL);
}

unsigned long zset_remove_range_by_score(struct zset *zs, const struct zsl_range *r)
{
    return zsl_delete_range_by_score(zs->zsl, r, drop_member, zs->dict);
}

unsigned long zset_remove_range_by_lex(struct zset *zs, const struct zsl_lex_range *r)
{
    return zsl_delete_range_by_lex(zs->zsl, r, drop_member, zs->dict);
}

unsigned long zset_remove_range_by_rank(struct zset *zs, unsigned long start,
                                        unsigned long end)
{
    return zsl_delete_range_by_rank(zs->zsl, start + 1, end + 1, drop_member, zs->dict);
}

/* ---- snapshots ---- */

struct zset *zset_new_shaped(uint64_t seed, const struct dict_shape *shape)
{
    struct dict *d = dict_new_shaped(seed, shape);
    if (!d)
        return NULL;
    struct zset *zs = xmalloc(sizeof(*zs));
    zs->dict = d;
    zs->zsl = zsl_new();
    return zs;
}

int zset_restore_append(struct zset *zs, const char *member, size_t len, double score,
                        struct prng *p)
{
    if (isnan(score))
        return -1;
    struct dict_entry *e = dict_restore_append(zs->dict, member, len, NULL);
    if (!e)
        return -1;
    e->val = zsl_insert(zs->zsl, score, e->key, e->klen, p);
    return 0;
}

/* ---- scores and ranges ---- */

int zset_parse_score(const char *s, size_t len, double *out)
{
    /* string2d wants strtod to consume all LEN bytes, so an embedded NUL is an error (the
     * long-double parser of INCRBYFLOAT, and util_parse_double, stop quietly at it) */
    if (memchr(s, '\0', len))
        return -1;
    return util_parse_double(s, len, out) == 0 ? 0 : -1;
}

/* One end of a score range: "(" makes it exclusive; the rest goes through strtod as
 * Redis's zslParseRange does, up to the first NUL. */
static int parse_range_end(const char *s, size_t len, double *v, int *ex)
{
    *ex = len > 0 && s[0] == '(';
    char *copy = xmemdup(s + *ex, len - (size_t)*ex), *end;
    *v = strtod(copy, &end);
    int ok = end[0] == '\0' && !isnan(*v);
    free(copy);
    return ok ? 0 : -1;
}

int zset_parse_range(const char *min, size_t minlen, const char *max, size_t maxlen,
                     struct zsl_range *r)
{
    if (parse_range_end(min, minlen, &r->min, &r->minex) != 0 ||
        parse_range_end(max, maxlen, &r->max, &r->maxex) != 0)
        return -1;
    return 0;
}

static int parse_lex_end(const char *s, size_t len, struct zsl_lex_end *e)
{
    if (len == 0)
        return -1;
    e->s = NULL;
    e->len = 0;
    switch (s[0]) {
    case '+':
    case '-':
        e->kind = s[0] == '+' ? ZSL_LEX_MAX : ZSL_LEX_MIN;
        e->ex = 1;
        return len == 1 ? 0 : -1;
    case '(':
    case '[':
        e->kind = ZSL_LEX_BYTES;
        e->ex = s[0] == '(';
        e->s = s + 1;
        e->len = len - 1;
        return 0;
    default:
        return -1;
    }
}

int zset_parse_lex_range(const char *min, size_t minlen, const char *max, size_t maxlen,
                         struct zsl_lex_range *r)
{
    if (parse_lex_end(min, minlen, &r->min) != 0 || parse_lex_end(max, maxlen, &r->max) != 0)
        return -1;
    return 0;
}

size_t zset_format_score(char *buf, size_t cap, double score)
{
    int n;
    if (isinf(score))
        n = snprintf(buf, cap, "%s", score > 0 ? "inf" : "-inf");
    else
        n = snprintf(buf, cap, "%.17g", score);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* Skiplist nodes read a member's length just before its bytes (zsl_node_len): a zset points
 * them at its dict entries' keys, which have klen there. */
_Static_assert(offsetof(struct dict_entry, key) == offsetof(struct dict_entry, klen) + sizeof(uint32_t),
               "a dict_entry's klen must immediately precede its key");
