/* The sorted-set value type (see zobj.h): both encodings behind one set of operations, the
 * listpack one walking pairs (member, score), the skiplist one delegating to struct zset. */
#include "zobj.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "util.h"

struct zobj_limits zobj_limits_configured = {ZOBJ_DEFAULT_ENTRIES, ZOBJ_DEFAULT_VALUE};

void zobj_set_limits(long long entries, long long value)
{
    zobj_limits_configured.entries = entries;
    zobj_limits_configured.value = value;
}

/* Levels of copies and restores decide no reply: any fixed seed keeps them deterministic. */
#define ZOBJ_COPY_SEED 0x7a6f626aULL

struct zobj *zobj_wrap(struct listpack *lp, struct zset *zs)
{
    struct zobj *z = xmalloc(sizeof *z);
    z->enc = zs != NULL ? ZOBJ_SKIPLIST : ZOBJ_LISTPACK;
    z->lp = zs != NULL ? NULL : lp;
    z->zs = zs;
    return z;
}

struct zobj *zobj_new_skiplist(void)
{
    return zobj_wrap(NULL, zset_new(DICT_DEFAULT_SEED));
}

struct zobj *zobj_new(const struct zobj_limits *lim, size_t first_len)
{
    if (lim->entries == 0 || (long long)first_len > lim->value)
        return zobj_new_skiplist();
    return zobj_wrap(listpack_new(), NULL);
}

void zobj_free(struct zobj *z)
{
    if (z == NULL)
        return;
    if (z->enc == ZOBJ_LISTPACK)
        listpack_free(z->lp);
    else
        zset_free(z->zs);
    free(z);
}

int zobj_free_step(struct zobj *z, size_t budget)
{
    if (z->enc == ZOBJ_SKIPLIST && z->zs != NULL) {
        if (!zset_free_step(z->zs, budget))
            return 0;
        z->zs = NULL;
    }
    if (z->enc == ZOBJ_LISTPACK)
        listpack_free(z->lp);
    free(z);
    return 1;
}

/* The member of the listpack pair at POS. */
static const char *lp_member(const struct listpack *lp, size_t pos, size_t *len)
{
    return (const char *)listpack_get(lp, pos, len);
}

static size_t lp_next_pair(const struct listpack *lp, size_t pos)
{
    return listpack_next(lp, listpack_next(lp, pos));
}

static void lp_append_pair(struct listpack **lp, const char *m, size_t len, double score)
{
    unsigned char enc[8];
    listpack_score_encode(enc, score);
    listpack_append(lp, m, len);
    listpack_append(lp, enc, 8);
}

struct zobj *zobj_dup(const struct zobj *z)
{
    if (z->enc == ZOBJ_LISTPACK) {
        struct listpack *lp = listpack_new();
        size_t len;
        for (size_t pos = listpack_first(z->lp); pos != LISTPACK_NONE;
             pos = listpack_next(z->lp, pos)) {
            const unsigned char *s = listpack_get(z->lp, pos, &len);
            listpack_append(&lp, s, len);
        }
        return zobj_wrap(lp, NULL);
    }
    struct prng p;
    struct dict_iter it;
    struct dict_entry *de;
    struct zset *zs = zset_new(DICT_DEFAULT_SEED);
    prng_seed(&p, ZOBJ_COPY_SEED, zset_len(z->zs));
    dict_iter_init(&it, z->zs->dict);
    while ((de = dict_iter_next(&it)) != NULL)
        zset_add(zs, de->key, de->klen, ((struct zsl_node *)de->val)->score, &p);
    dict_iter_close(&it);
    return zobj_wrap(NULL, zs);
}

size_t zobj_len(const struct zobj *z)
{
    /* the dict's count, not the skiplist's: it stays valid while a lazy free releases the
     * skiplist first (kv asks the length between steps) */
    return z->enc == ZOBJ_LISTPACK ? listpack_count(z->lp) / 2 : dict_size(z->zs->dict);
}

size_t zobj_bytes(const struct zobj *z, size_t samples)
{
    return util_alloc_bytes(z) + (z->enc == ZOBJ_LISTPACK ? util_alloc_bytes(z->lp)
                                                         : zset_bytes(z->zs, samples));
}

const char *zobj_encoding_name(const struct zobj *z)
{
    return z->enc == ZOBJ_LISTPACK ? "listpack" : "skiplist";
}

void zobj_convert(struct zobj *z, struct prng *p)
{
    if (z->enc == ZOBJ_SKIPLIST)
        return;
    struct zset *zs = zset_new(DICT_DEFAULT_SEED);
    size_t len;
    for (size_t pos = listpack_first(z->lp); pos != LISTPACK_NONE; pos = lp_next_pair(z->lp, pos)) {
        const char *m = lp_member(z->lp, pos, &len);
        zset_add(zs, m, len, listpack_score_at(z->lp, pos), p);
    }
    listpack_free(z->lp);
    z->lp = NULL;
    z->zs = zs;
    z->enc = ZOBJ_SKIPLIST;
}

void zobj_shrink_if_small(struct zobj *z, const struct zobj_limits *lim, size_t maxelelen)
{
    if (z->enc == ZOBJ_LISTPACK || (long long)zset_len(z->zs) > lim->entries ||
        (long long)maxelelen > lim->value)
        return;
    struct listpack *lp = listpack_new();
    for (struct zsl_node *n = z->zs->zsl->header->level[0].forward; n; n = n->level[0].forward)
        lp_append_pair(&lp, n->ele, zsl_node_len(n), n->score);
    zset_free(z->zs);
    z->zs = NULL;
    z->lp = lp;
    z->enc = ZOBJ_LISTPACK;
}

/* The part of zsetAdd both encodings share once the current score is known: NX, INCR, GT
 * and LT. Returns 1 when the caller should set *SCORE, 0 when nothing is to be done (flags
 * set), -1 for NaN. */
static int add_existing(double cur, double *score, int in, int *out)
{
    if (in & ZADD_IN_NX) {
        *out |= ZADD_OUT_NOP;
        return 0;
    }
    if (in & ZADD_IN_INCR) {
        *score += cur;
        if (isnan(*score)) {
            *out |= ZADD_OUT_NAN;
            return -1;
        }
    }
    if (((in & ZADD_IN_LT) && *score >= cur) || ((in & ZADD_IN_GT) && *score <= cur)) {
        *out |= ZADD_OUT_NOP;
        return 0;
    }
    return 1;
}

static int add_listpack(struct zobj *z, double score, const char *m, size_t len, int in,
                        int *out, double *newscore)
{
    size_t pos = listpack_score_find(z->lp, m, len);
    double cur = listpack_score_at(z->lp, pos);
    int rc = add_existing(cur, &score, in, out);
    if (rc <= 0)
        return rc == 0;
    *newscore = score;
    if (score != cur) {
        listpack_delete(&z->lp, pos, 2);
        listpack_score_insert(&z->lp, m, len, score);
        *out |= ZADD_OUT_UPDATED;
    }
    return 1;
}

int zobj_add(struct zobj *z, double score, const char *m, size_t len, int in, int *out,
             double *newscore, const struct zobj_limits *lim, struct prng *p)
{
    double cur;
    *out = 0;
    if (isnan(score)) {
        *out = ZADD_OUT_NAN;
        return 0;
    }
    if (z->enc == ZOBJ_LISTPACK) {
        if (listpack_score_find(z->lp, m, len) != LISTPACK_NONE)
            return add_listpack(z, score, m, len, in, out, newscore);
        if (in & ZADD_IN_XX) {
            *out |= ZADD_OUT_NOP;
            return 1;
        }
        if ((long long)zobj_len(z) + 1 > lim->entries || (long long)len > lim->value) {
            zobj_convert(z, p);
        } else {
            listpack_score_insert(&z->lp, m, len, score);
            *newscore = score;
            *out |= ZADD_OUT_ADDED;
            return 1;
        }
    }
    struct dict_entry *de = zset_lookup(z->zs, m, len, &cur);
    if (de != NULL) {
        int rc = add_existing(cur, &score, in, out);
        if (rc <= 0)
            return rc == 0;
        *newscore = score;
        if (score != cur) {
            zset_set_score(z->zs, de, score, p);
            *out |= ZADD_OUT_UPDATED;
        }
        return 1;
    }
    if (in & ZADD_IN_XX) {
        *out |= ZADD_OUT_NOP;
        return 1;
    }
    zset_add(z->zs, m, len, score, p);
    *newscore = score;
    *out |= ZADD_OUT_ADDED;
    return 1;
}

int zobj_score(const struct zobj *z, const char *m, size_t len, double *score)
{
    if (z->enc == ZOBJ_SKIPLIST)
        return zset_score(z->zs, m, len, score);
    size_t pos = listpack_score_find(z->lp, m, len);
    if (pos == LISTPACK_NONE)
        return -1;
    *score = listpack_score_at(z->lp, pos);
    return 0;
}

int zobj_remove(struct zobj *z, const char *m, size_t len)
{
    if (z->enc == ZOBJ_SKIPLIST)
        return zset_remove(z->zs, m, len);
    size_t pos = listpack_score_find(z->lp, m, len);
    if (pos == LISTPACK_NONE)
        return 0;
    listpack_delete(&z->lp, pos, 2);
    return 1;
}

long zobj_rank(const struct zobj *z, const char *m, size_t len, int rev)
{
    if (z->enc == ZOBJ_SKIPLIST)
        return zset_rank(z->zs, m, len, rev);
    long rank = 0;
    size_t ml;
    for (size_t pos = listpack_first(z->lp); pos != LISTPACK_NONE; pos = lp_next_pair(z->lp, pos)) {
        const char *s = lp_member(z->lp, pos, &ml);
        if (ml == len && memcmp(s, m, len) == 0)
            return rev ? (long)zobj_len(z) - 1 - rank : rank;
        rank++;
    }
    return -1;
}

/* Delete the listpack pairs MATCH accepts, walking from the first; PAST says when nothing
 * further can match. */
typedef int lp_match_fn(const struct listpack *lp, size_t pos, const void *range);

static unsigned long lp_remove_matching(struct zobj *z, lp_match_fn *match, lp_match_fn *past,
                                        const void *range)
{
    unsigned long removed = 0;
    size_t pos = listpack_first(z->lp);
    while (pos != LISTPACK_NONE) {
        if (match(z->lp, pos, range)) {
            pos = listpack_delete(&z->lp, pos, 2);
            removed++;
        } else if (past(z->lp, pos, range)) {
            break;
        } else {
            pos = lp_next_pair(z->lp, pos);
        }
    }
    return removed;
}

static int lp_in_score(const struct listpack *lp, size_t pos, const void *range)
{
    return zsl_score_in_range(listpack_score_at(lp, pos), range);
}

static int lp_past_score(const struct listpack *lp, size_t pos, const void *range)
{
    const struct zsl_range *r = range;
    double s = listpack_score_at(lp, pos);
    return r->maxex ? s >= r->max : s > r->max;
}

static int lp_in_lex(const struct listpack *lp, size_t pos, const void *range)
{
    size_t len;
    const char *m = lp_member(lp, pos, &len);
    return zsl_lex_in_range(m, len, range);
}

static int lp_never_past(const struct listpack *lp, size_t pos, const void *range)
{
    (void)lp, (void)pos, (void)range;
    return 0;
}

unsigned long zobj_remove_range_by_score(struct zobj *z, const struct zsl_range *r)
{
    if (z->enc == ZOBJ_SKIPLIST)
        return zset_remove_range_by_score(z->zs, r);
    return lp_remove_matching(z, lp_in_score, lp_past_score, r);
}

unsigned long zobj_remove_range_by_lex(struct zobj *z, const struct zsl_lex_range *r)
{
    if (z->enc == ZOBJ_SKIPLIST)
        return zset_remove_range_by_lex(z->zs, r);
    return lp_remove_matching(z, lp_in_lex, lp_never_past, r);
}

unsigned long zobj_remove_range_by_rank(struct zobj *z, unsigned long start, unsigned long end)
{
    if (z->enc == ZOBJ_SKIPLIST)
        return zset_remove_range_by_rank(z->zs, start, end);
    unsigned long n = end - start + 1;
    listpack_delete(&z->lp, listpack_seek(z->lp, 2 * (long)start), (uint32_t)(2 * n));
    return n;
}

/* ---- ordered walks ---- */

void zobj_it_rank(struct zobj_it *it, const struct zobj *z, unsigned long rank, int rev)
{
    unsigned long len = zobj_len(z);
    it->z = z;
    it->rev = rev;
    it->pos = LISTPACK_NONE;
    it->node = NULL;
    if (rank >= len)
        return;
    unsigned long asc = rev ? len - 1 - rank : rank;
    if (z->enc == ZOBJ_LISTPACK)
        it->pos = listpack_seek(z->lp, 2 * (long)asc);
    else
        it->node = zsl_by_rank(z->zs->zsl, asc + 1);
}

void zobj_it_score(struct zobj_it *it, const struct zobj *z, const struct zsl_range *r, int rev)
{
    it->z = z;
    it->rev = rev;
    it->pos = LISTPACK_NONE;
    it->node = NULL;
    if (z->enc == ZOBJ_LISTPACK)
        it->pos = rev ? listpack_score_last_in_range(z->lp, r)
                      : listpack_score_first_in_range(z->lp, r);
    else
        it->node = rev ? zsl_last_in_range(z->zs->zsl, r) : zsl_first_in_range(z->zs->zsl, r);
}

void zobj_it_lex(struct zobj_it *it, const struct zobj *z, const struct zsl_lex_range *r,
                 int rev)
{
    it->z = z;
    it->rev = rev;
    it->pos = LISTPACK_NONE;
    it->node = NULL;
    if (z->enc == ZOBJ_LISTPACK)
        it->pos = rev ? listpack_score_last_in_lex_range(z->lp, r)
                      : listpack_score_first_in_lex_range(z->lp, r);
    else
        it->node = rev ? zsl_last_in_lex_range(z->zs->zsl, r)
                       : zsl_first_in_lex_range(z->zs->zsl, r);
}

int zobj_it_get(const struct zobj_it *it, const char **m, size_t *len, double *score)
{
    if (it->z->enc == ZOBJ_LISTPACK) {
        if (it->pos == LISTPACK_NONE)
            return 0;
        *m = lp_member(it->z->lp, it->pos, len);
        *score = listpack_score_at(it->z->lp, it->pos);
        return 1;
    }
    if (it->node == NULL)
        return 0;
    *m = it->node->ele;
    *len = zsl_node_len(it->node);
    *score = it->node->score;
    return 1;
}

void zobj_it_next(struct zobj_it *it)
{
    if (it->z->enc == ZOBJ_LISTPACK) {
        const struct listpack *lp = it->z->lp;
        it->pos = it->rev ? listpack_prev(lp, listpack_prev(lp, it->pos))
                          : lp_next_pair(lp, it->pos);
    } else if (it->node != NULL) {
        it->node = it->rev ? it->node->backward : it->node->level[0].forward;
    }
}

void zobj_random(const struct zobj *z, struct prng *p, const char **m, size_t *len,
                 double *score)
{
    if (z->enc == ZOBJ_LISTPACK) {
        size_t pos = listpack_random_pair(z->lp, p);
        *m = lp_member(z->lp, pos, len);
        *score = listpack_score_at(z->lp, pos);
        return;
    }
    struct dict_entry *de = dict_random(z->zs->dict, p);
    *m = de->key;
    *len = de->klen;
    *score = ((struct zsl_node *)de->val)->score;
}

uint64_t zobj_digest(const struct zobj *z, uint64_t seed)
{
    struct zobj_it it;
    struct buf scratch;
    const char *m;
    size_t len;
    double score;
    uint64_t acc = 0;

    buf_init(&scratch);
    for (zobj_it_rank(&it, z, 0, 0); zobj_it_get(&it, &m, &len, &score); zobj_it_next(&it)) {
        unsigned char *p = (unsigned char *)buf_reserve(&scratch, 4 + len + 8);
        codec_put_u32(p, (uint32_t)len);
        memcpy(p + 4, m, len);
        listpack_score_encode(p + 4 + len, score);
        acc ^= util_hash_seeded(p, 4 + len + 8, seed);
    }
    buf_close(&scratch);
    return acc;
}
