/* The (score, member) skiplist with spans (see zskiplist.h): insert, delete, score update,
 * ranks, score and lex ranges, range deletion, lazy free. Pure: no I/O. */
#include "zskiplist.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static struct zsl_node *node_new(int level, double score, const char *ele, size_t len)
{
    struct zsl_node *n = xmalloc(sizeof(*n) + (size_t)level * sizeof(struct zsl_level));
    (void)len; /* ele carries it (zsl_node_len) */
    n->ele = ele;
    n->score = score;
    n->backward = NULL;
    return n;
}

struct zskiplist *zsl_new(void)
{
    struct zskiplist *zsl = xmalloc(sizeof(*zsl));
    zsl->header = node_new(ZSL_MAXLEVEL, 0, NULL, 0);
    for (int i = 0; i < ZSL_MAXLEVEL; i++) {
        zsl->header->level[i].forward = NULL;
        zsl->header->level[i].span = 0;
    }
    zsl->tail = NULL;
    zsl->length = 0;
    zsl->level = 1;
    return zsl;
}

int zsl_free_step(struct zskiplist *zsl, size_t budget)
{
    struct zsl_node *x = zsl->header->level[0].forward;
    while (x && budget-- > 0) {
        struct zsl_node *next = x->level[0].forward;
        free(x);
        x = next;
    }
    zsl->header->level[0].forward = x; /* where the next step resumes */
    if (x)
        return 0;
    free(zsl->header);
    free(zsl);
    return 1;
}

void zsl_free(struct zskiplist *zsl)
{
    if (zsl)
        zsl_free_step(zsl, SIZE_MAX);
}

int zsl_random_level(struct prng *p)
{
    int level = 1;
    while (level < ZSL_MAXLEVEL && (prng_next(p) & 0xffff) < (ZSL_P_PERCENT * 0xffff) / 100)
        level++;
    return level;
}

int zsl_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Whether node X sorts before (SCORE, ELE). */
static int node_less(const struct zsl_node *x, double score, const char *ele, size_t len)
{
    return x->score < score ||
           (x->score == score && zsl_bytes_cmp(x->ele, zsl_node_len(x), ele, len) < 0);
}

/* A traversal stalls on every node it reads (a large skiplist is mostly cache misses). Once
 * at X on level I, the next node read is X's forward on level I, or on level I-1 if that one
 * sorts after the target: ask for both at once, so that a descent costs no second stall. */
static inline void prefetch_next(const struct zsl_node *x, int i)
{
    __builtin_prefetch(x->level[i].forward);
    if (i > 0)
        __builtin_prefetch(x->level[i - 1].forward);
}

/* Link a new node for (SCORE, ELE) after UPDATE[i] on every level i below zsl->level, where
 * RANK[i] is UPDATE[i]'s rank (the header's is 0); its level is drawn from P. */
static struct zsl_node *link_new(struct zskiplist *zsl, struct zsl_node **update,
                                 unsigned long *rank, double score, const char *ele, size_t len,
                                 struct prng *p)
{
    int level = zsl_random_level(p);
    for (int i = zsl->level; i < level; i++) {
        rank[i] = 0;
        update[i] = zsl->header;
        update[i]->level[i].span = zsl->length;
    }
    if (level > zsl->level)
        zsl->level = level;
    struct zsl_node *x = node_new(level, score, ele, len);
    for (int i = 0; i < level; i++) {
        x->level[i].forward = update[i]->level[i].forward;
        update[i]->level[i].forward = x;
        x->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
        update[i]->level[i].span = rank[0] - rank[i] + 1;
    }
    for (int i = level; i < zsl->level; i++)
        update[i]->level[i].span++;
    x->backward = update[0] == zsl->header ? NULL : update[0];
    if (x->level[0].forward)
        x->level[0].forward->backward = x;
    else
        zsl->tail = x;
    zsl->length++;
    return x;
}

struct zsl_node *zsl_insert(struct zskiplist *zsl, double score, const char *ele, size_t len,
                            struct prng *p)
{
    struct zsl_node *update[ZSL_MAXLEVEL], *x = zsl->header;
    unsigned long rank[ZSL_MAXLEVEL];
    for (int i = zsl->level - 1; i >= 0; i--) {
        rank[i] = i == zsl->level - 1 ? 0 : rank[i + 1];
        prefetch_next(x, i);
        while (x->level[i].forward && node_less(x->level[i].forward, score, ele, len)) {
            rank[i] += x->level[i].span;
            x = x->level[i].forward;
            prefetch_next(x, i);
        }
        update[i] = x;
    }
    return link_new(zsl, update, rank, score, ele, len, p);
}

/* Unlink X, whose predecessors at every level are UPDATE. */
static void unlink_node(struct zskiplist *zsl, struct zsl_node *x, struct zsl_node **update)
{
    for (int i = 0; i < zsl->level; i++) {
        if (update[i]->level[i].forward == x) {
            update[i]->level[i].span += x->level[i].span - 1;
            update[i]->level[i].forward = x->level[i].forward;
        } else {
            update[i]->level[i].span--;
        }
    }
    if (x->level[0].forward)
        x->level[0].forward->backward = x->backward;
    else
        zsl->tail = x->backward;
    while (zsl->level > 1 && zsl->header->level[zsl->level - 1].forward == NULL)
        zsl->level--;
    zsl->length--;
}

/* Fill UPDATE with the last node before (SCORE, ELE) at every level; returns the node
 * that follows at level 0 (the node of (SCORE, ELE) when present). */
static struct zsl_node *find_update(const struct zskiplist *zsl, double score, const char *ele,
                                    size_t len, struct zsl_node **update)
{
    struct zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        prefetch_next(x, i);
        while (x->level[i].forward && node_less(x->level[i].forward, score, ele, len)) {
            x = x->level[i].forward;
            prefetch_next(x, i);
        }
        update[i] = x;
    }
    return x->level[0].forward;
}

static int node_is(const struct zsl_node *x, double score, const char *ele, size_t len)
{
    return x && x->score == score && zsl_bytes_cmp(x->ele, zsl_node_len(x), ele, len) == 0;
}

int zsl_delete(struct zskiplist *zsl, double score, const char *ele, size_t len)
{
    struct zsl_node *update[ZSL_MAXLEVEL];
    struct zsl_node *x = find_update(zsl, score, ele, len, update);
    if (!node_is(x, score, ele, len))
        return 0;
    unlink_node(zsl, x, update);
    free(x);
    return 1;
}

struct zsl_node *zsl_update_score(struct zskiplist *zsl, double cur, const char *ele,
                                  size_t len, double newscore, struct prng *p)
{
    /* One walk with two cursors: the old position's predecessors (to unlink) and the new
     * one's with their ranks (to link). After the paths part, the two cursors' loads are
     * independent, so their cache misses overlap: an update costs about one walk, not two.
     * The result is the same structure as a delete and an insert (the same level drawn). */
    struct zsl_node *old_up[ZSL_MAXLEVEL], *new_up[ZSL_MAXLEVEL];
    unsigned long rank[ZSL_MAXLEVEL];
    struct zsl_node *a = zsl->header, *b = zsl->header;
    unsigned long rb = 0;
    for (int i = zsl->level - 1; i >= 0; i--) {
        prefetch_next(a, i);
        if (b != a)
            prefetch_next(b, i);
        for (;;) {
            struct zsl_node *fa = a->level[i].forward, *fb = b->level[i].forward;
            int moved = 0;
            if (fa && node_less(fa, cur, ele, len)) {
                a = fa;
                prefetch_next(a, i);
                moved = 1;
            }
            if (fb && node_less(fb, newscore, ele, len)) {
                rb += b->level[i].span;
                b = fb;
                if (b != a)
                    prefetch_next(b, i);
                moved = 1;
            }
            if (!moved)
                break;
        }
        old_up[i] = a;
        new_up[i] = b;
        rank[i] = rb;
    }
    struct zsl_node *x = a->level[0].forward;
    if (!node_is(x, cur, ele, len))
        abort(); /* the caller's dict and this skiplist disagree */
    /* still strictly between its neighbours: only the score changes */
    if ((x->backward == NULL || x->backward->score < newscore) &&
        (x->level[0].forward == NULL || x->level[0].forward->score > newscore)) {
        x->score = newscore;
        return x;
    }
    for (int i = 0; i < zsl->level; i++) {
        if (new_up[i] == x) {
            /* X precedes the new place on this level: unlink it, then walk again */
            unlink_node(zsl, x, old_up);
            free(x);
            return zsl_insert(zsl, newscore, ele, len, p);
        }
    }
    /* New predecessors that follow X lose a rank once X is out. */
    for (int i = 0; i < zsl->level; i++)
        if (new_up[i] != zsl->header &&
            node_less(x, new_up[i]->score, new_up[i]->ele, zsl_node_len(new_up[i])))
            rank[i]--;
    unlink_node(zsl, x, old_up);
    free(x);
    return link_new(zsl, new_up, rank, newscore, ele, len, p);
}

unsigned long zsl_rank(const struct zskiplist *zsl, double score, const char *ele, size_t len)
{
    const struct zsl_node *x = zsl->header;
    unsigned long rank = 0;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward &&
               (node_less(x->level[i].forward, score, ele, len) ||
                node_is(x->level[i].forward, score, ele, len))) {
            rank += x->level[i].span;
            x = x->level[i].forward;
        }
        if (x != zsl->header && node_is(x, score, ele, len))
            return rank;
    }
    return 0;
}

struct zsl_node *zsl_by_rank(const struct zskiplist *zsl, unsigned long rank)
{
    if (rank == 0 || rank > zsl->length)
        return NULL;
    struct zsl_node *x = zsl->header;
    unsigned long traversed = 0;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && traversed + x->level[i].span <= rank) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        if (traversed == rank)
            return x;
    }
    return NULL;
}

/* ---- score ranges ---- */

static int gte_min(double v, const struct zsl_range *r)
{
    return r->minex ? v > r->min : v >= r->min;
}

static int lte_max(double v, const struct zsl_range *r)
{
    return r->maxex ? v < r->max : v <= r->max;
}

int zsl_score_in_range(double score, const struct zsl_range *r)
{
    return gte_min(score, r) && lte_max(score, r);
}

/* Whether some node of ZSL may lie within R: R is not empty and overlaps ZSL's span. */
static int range_overlaps(const struct zskiplist *zsl, const struct zsl_range *r)
{
    if (r->min > r->max || (r->min == r->max && (r->minex || r->maxex)))
        return 0;
    if (!zsl->tail || !gte_min(zsl->tail->score, r))
        return 0;
    const struct zsl_node *first = zsl->header->level[0].forward;
    return first && lte_max(first->score, r);
}

struct zsl_node *zsl_first_in_range(const struct zskiplist *zsl, const struct zsl_range *r)
{
    if (!range_overlaps(zsl, r))
        return NULL;
    struct zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (x->level[i].forward && !gte_min(x->level[i].forward->score, r))
            x = x->level[i].forward;
    x = x->level[0].forward; /* not NULL: the tail is at or above the minimum */
    return lte_max(x->score, r) ? x : NULL;
}

struct zsl_node *zsl_last_in_range(const struct zskiplist *zsl, const struct zsl_range *r)
{
    if (!range_overlaps(zsl, r))
        return NULL;
    struct zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (x->level[i].forward && lte_max(x->level[i].forward->score, r))
            x = x->level[i].forward;
    return gte_min(x->score, r) ? x : NULL; /* x is not the header: the head is in range */
}

/* ---- lex ranges ---- */

static int lex_gte_min(const char *ele, size_t len, const struct zsl_lex_end *m)
{
    if (m->kind != ZSL_LEX_BYTES)
        return m->kind == ZSL_LEX_MIN;
    int c = zsl_bytes_cmp(ele, len, m->s, m->len);
    return m->ex ? c > 0 : c >= 0;
}

static int lex_lte_max(const char *ele, size_t len, const struct zsl_lex_end *m)
{
    if (m->kind != ZSL_LEX_BYTES)
        return m->kind == ZSL_LEX_MAX;
    int c = zsl_bytes_cmp(ele, len, m->s, m->len);
    return m->ex ? c < 0 : c <= 0;
}

int zsl_lex_in_range(const char *ele, size_t len, const struct zsl_lex_range *r)
{
    return lex_gte_min(ele, len, &r->min) && lex_lte_max(ele, len, &r->max);
}

/* Order two range ends: "-" before every string, "+" after. */
static int lex_end_cmp(const struct zsl_lex_end *a, const struct zsl_lex_end *b)
{
    static const int order[] = {[ZSL_LEX_MIN] = -1, [ZSL_LEX_BYTES] = 0, [ZSL_LEX_MAX] = 1};
    if (a->kind != b->kind)
        return order[a->kind] < order[b->kind] ? -1 : 1;
    if (a->kind != ZSL_LEX_BYTES)
        return 0;
    return zsl_bytes_cmp(a->s, a->len, b->s, b->len);
}

static int lex_overlaps(const struct zskiplist *zsl, const struct zsl_lex_range *r)
{
    int c = lex_end_cmp(&r->min, &r->max);
    if (c > 0 || (c == 0 && (r->min.ex || r->max.ex)))
        return 0;
    if (!zsl->tail || !lex_gte_min(zsl->tail->ele, zsl_node_len(zsl->tail), &r->min))
        return 0;
    const struct zsl_node *first = zsl->header->level[0].forward;
    return first && lex_lte_max(first->ele, zsl_node_len(first), &r->max);
}

/* The last node before the lex range R (LAST == 0: the last below its min) or the last node
 * in it or before it (LAST == 1: the last not above its max); the header when there is none. */
static struct zsl_node *lex_descend(const struct zskiplist *zsl, const struct zsl_lex_range *r, int last)
{
    struct zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        for (struct zsl_node *f; (f = x->level[i].forward) != NULL; x = f)
            if (last ? !lex_lte_max(f->ele, zsl_node_len(f), &r->max) : lex_gte_min(f->ele, zsl_node_len(f), &r->min))
                break;
    return x;
}

struct zsl_node *zsl_first_in_lex_range(const struct zskiplist *zsl,
                                        const struct zsl_lex_range *r)
{
    if (!lex_overlaps(zsl, r))
        return NULL;
    struct zsl_node *x = lex_descend(zsl, r, 0)->level[0].forward;
    return lex_lte_max(x->ele, zsl_node_len(x), &r->max) ? x : NULL;
}

struct zsl_node *zsl_last_in_lex_range(const struct zskiplist *zsl,
                                       const struct zsl_lex_range *r)
{
    if (!lex_overlaps(zsl, r))
        return NULL;
    struct zsl_node *x = lex_descend(zsl, r, 1);
    return lex_gte_min(x->ele, zsl_node_len(x), &r->min) ? x : NULL;
}

/* ---- range deletion ---- */

/* Delete nodes from X on (UPDATE its predecessors) while IN(X) holds. */
static unsigned long delete_while(struct zskiplist *zsl, struct zsl_node *x,
                                  struct zsl_node **update,
                                  int (*in)(const struct zsl_node *, const void *),
                                  const void *arg, zsl_delete_fn *fn, void *ud)
{
    unsigned long removed = 0;
    while (x && in(x, arg)) {
        struct zsl_node *next = x->level[0].forward;
        unlink_node(zsl, x, update);
        if (fn)
            fn(ud, x);
        free(x);
        removed++;
        x = next;
    }
    return removed;
}

static int below_max(const struct zsl_node *x, const void *r)
{
    return lte_max(x->score, r);
}

unsigned long zsl_delete_range_by_score(struct zskiplist *zsl, const struct zsl_range *r,
                                        zsl_delete_fn *fn, void *ud)
{
    struct zsl_node *update[ZSL_MAXLEVEL], *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && !gte_min(x->level[i].forward->score, r))
            x = x->level[i].forward;
        update[i] = x;
    }
    return delete_while(zsl, x->level[0].forward, update, below_max, r, fn, ud);
}

static int below_lex_max(const struct zsl_node *x, const void *r)
{
    return lex_lte_max(x->ele, zsl_node_len(x), &((const struct zsl_lex_range *)r)->max);
}

unsigned long zsl_delete_range_by_lex(struct zskiplist *zsl, const struct zsl_lex_range *r,
                                      zsl_delete_fn *fn, void *ud)
{
    struct zsl_node *update[ZSL_MAXLEVEL], *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward &&
               !lex_gte_min(x->level[i].forward->ele, zsl_node_len(x->level[i].forward), &r->min))
            x = x->level[i].forward;
        update[i] = x;
    }
    return delete_while(zsl, x->level[0].forward, update, below_lex_max, r, fn, ud);
}

struct rank_window {
    unsigned long next, end; /* rank of the node being looked at, last rank to delete */
};

static int within_rank(const struct zsl_node *x, const void *arg)
{
    struct rank_window *w = (struct rank_window *)arg;
    (void)x;
    return w->next++ <= w->end;
}

unsigned long zsl_delete_range_by_rank(struct zskiplist *zsl, unsigned long start,
                                       unsigned long end, zsl_delete_fn *fn, void *ud)
{
    struct zsl_node *update[ZSL_MAXLEVEL], *x = zsl->header;
    unsigned long traversed = 0;
    if (start == 0)
        start = 1;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && traversed + x->level[i].span < start) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        update[i] = x;
    }
    struct rank_window w = {traversed + 1, end};
    return delete_while(zsl, x->level[0].forward, update, within_rank, &w, fn, ud);
}
