/* The deterministic incrementally rehashing hash table (see dict.h): lookups, changes,
 * rehash steps, iteration, the reverse-binary SCAN cursor, random picks and lazy free. */
#include "dict.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DICT_EMPTY_VISITS 10 /* empty buckets a unit of rehash or free work may skip */
#define DICT_SHRINK_RATIO 8  /* shrink when fewer than 1/8 of the buckets are used */

static int rehashing(const struct dict *d)
{
    return d->rehash_idx >= 0;
}

static uint64_t hash_key(const struct dict *d, const void *key, size_t klen)
{
    return util_hash_seeded(key, klen, d->seed);
}

static void table_alloc(struct dict_table *t, size_t size)
{
    t->buckets = xcalloc(size, sizeof(*t->buckets));
    t->size = size;
    t->used = 0;
}

static void table_reset(struct dict_table *t)
{
    free(t->buckets);
    memset(t, 0, sizeof(*t));
}

struct dict *dict_new(uint64_t seed)
{
    struct dict *d = xcalloc(1, sizeof(*d));
    d->rehash_idx = -1;
    d->seed = seed;
    return d;
}

static size_t size_for(size_t n)
{
    size_t size = DICT_MIN_SIZE;
    while (size < n)
        size <<= 1;
    return size;
}

/* Start moving everything into a table of SIZE buckets (or just allocate the first). */
static void resize_to(struct dict *d, size_t size)
{
    if (rehashing(d) || size == d->t[0].size)
        return;
    if (d->t[0].size == 0) {
        table_alloc(&d->t[0], size);
        return;
    }
    table_alloc(&d->t[1], size);
    d->rehash_idx = 0;
}

/* The deterministic resize policy, applied on every change while no iterator is open. */
static void resize_if_needed(struct dict *d)
{
    const struct dict_table *t = &d->t[0];
    if (d->paused || rehashing(d))
        return;
    if (t->size == 0)
        resize_to(d, DICT_MIN_SIZE);
    else if (t->used >= t->size)
        resize_to(d, size_for(t->used * 2));
    else if (t->size > DICT_MIN_SIZE && t->used * DICT_SHRINK_RATIO < t->size)
        resize_to(d, size_for(t->used));
}

static void move_chain(struct dict *d, struct dict_entry *e)
{
    struct dict_table *to = &d->t[1];
    while (e) {
        struct dict_entry *next = e->next;
        size_t b = hash_key(d, e->key, e->klen) & (to->size - 1);
        e->next = to->buckets[b];
        to->buckets[b] = e;
        d->t[0].used--;
        to->used++;
        e = next;
    }
}

int dict_rehash_step(struct dict *d, int n)
{
    int empty = n * DICT_EMPTY_VISITS;
    struct dict_table *from = &d->t[0];
    while (rehashing(d) && n-- > 0 && from->used > 0) {
        /* used > 0 guarantees a non-empty bucket at or after rehash_idx */
        while (from->buckets[d->rehash_idx] == NULL) {
            d->rehash_idx++;
            if (--empty == 0)
                return 1;
        }
        struct dict_entry *chain = from->buckets[d->rehash_idx];
        from->buckets[d->rehash_idx++] = NULL;
        move_chain(d, chain);
    }
    if (rehashing(d) && from->used == 0) {
        table_reset(&d->t[0]);
        d->t[0] = d->t[1];
        memset(&d->t[1], 0, sizeof(d->t[1]));
        d->rehash_idx = -1;
    }
    return rehashing(d);
}

int dict_is_rehashing(const struct dict *d)
{
    return rehashing(d);
}

/* The per-change housekeeping: one rehash step, then the resize policy. */
static void housekeep(struct dict *d)
{
    if (d->paused)
        return;
    if (rehashing(d))
        dict_rehash_step(d, 1);
    resize_if_needed(d);
}

size_t dict_size(const struct dict *d)
{
    return d->t[0].used + d->t[1].used;
}

size_t dict_bytes(const struct dict *d)
{
    size_t n = dict_size(d);
    return sizeof(*d) + (d->t[0].size + d->t[1].size) * sizeof(struct dict_entry *) +
           n * (sizeof(struct dict_entry) + 1) + d->key_bytes;
}

size_t dict_bytes_sampled(const struct dict *d, size_t samples,
                          size_t (*val_bytes)(const void *val))
{
    size_t n = dict_size(d), seen = 0, elem = 0;
    size_t total = util_alloc_bytes(d) + util_alloc_bytes(d->t[0].buckets) +
                   util_alloc_bytes(d->t[1].buckets);
    for (int t = 0; t <= 1 && (samples == 0 || seen < samples); t++)
        for (size_t b = 0; b < d->t[t].size && (samples == 0 || seen < samples); b++)
            for (const struct dict_entry *e = d->t[t].buckets[b];
                 e != NULL && (samples == 0 || seen < samples); e = e->next) {
                elem += util_alloc_bytes(e) + (val_bytes ? val_bytes(e->val) : 0);
                seen++;
            }
    return seen ? total + (size_t)((double)elem / (double)seen * (double)n) : total;
}

/* The link to KEY's entry (hash H) and its table, or NULL. */
static struct dict_entry **find_link_h(const struct dict *d, const void *key, size_t klen,
                                       uint64_t h, int *table)
{
    for (int i = 0; i <= 1; i++) {
        const struct dict_table *t = &d->t[i];
        if (t->size == 0)
            continue;
        struct dict_entry **link = &t->buckets[h & (t->size - 1)];
        for (; *link; link = &(*link)->next) {
            if ((*link)->klen == klen && memcmp((*link)->key, key, klen) == 0) {
                *table = i;
                return link;
            }
        }
    }
    return NULL;
}

static struct dict_entry **find_link(const struct dict *d, const void *key, size_t klen,
                                     int *table)
{
    if (dict_size(d) == 0)
        return NULL;
    return find_link_h(d, key, klen, hash_key(d, key, klen), table);
}

struct dict_entry *dict_find(const struct dict *d, const void *key, size_t klen)
{
    int table;
    struct dict_entry **link = find_link(d, key, klen, &table);
    return link ? *link : NULL;
}

struct dict_entry *dict_insert(struct dict *d, const void *key, size_t klen, int *added)
{
    housekeep(d);
    if (d->t[0].size == 0)
        table_alloc(&d->t[0], DICT_MIN_SIZE); /* first add while an iterator is open */
    uint64_t h = hash_key(d, key, klen); /* once: for the lookup and the new entry's bucket */
    int table;
    struct dict_entry **link = find_link_h(d, key, klen, h, &table);
    if (added)
        *added = link == NULL;
    if (link)
        return *link;
    struct dict_table *t = &d->t[rehashing(d) ? 1 : 0];
    size_t b = h & (t->size - 1);
    struct dict_entry *e = xmalloc(sizeof(*e) + klen + 1);
    e->val = NULL;
    e->klen = (uint32_t)klen;
    memcpy(e->key, key, klen);
    e->key[klen] = '\0';
    e->next = t->buckets[b];
    t->buckets[b] = e;
    t->used++;
    d->key_bytes += klen;
    return e;
}

int dict_add(struct dict *d, const void *key, size_t klen, void *val)
{
    int added;
    struct dict_entry *e = dict_insert(d, key, klen, &added);
    if (added)
        e->val = val;
    return added;
}

int dict_delete(struct dict *d, const void *key, size_t klen, void **val)
{
    int table;
    struct dict_entry **link = find_link(d, key, klen, &table);
    if (!link)
        return 0;
    struct dict_entry *e = *link;
    *link = e->next;
    d->t[table].used--;
    d->key_bytes -= e->klen;
    if (val)
        *val = e->val;
    free(e);
    housekeep(d);
    return 1;
}

static void free_chain(struct dict_entry *e, dict_free_fn *free_val, size_t *freed)
{
    while (e) {
        struct dict_entry *next = e->next;
        if (free_val)
            free_val(e->val);
        free(e);
        (*freed)++;
        e = next;
    }
}

int dict_free_step(struct dict *d, size_t budget, dict_free_fn *free_val)
{
    size_t work = 0, limit = budget * DICT_EMPTY_VISITS;
    while (d->free_table <= 1) {
        struct dict_table *t = &d->t[d->free_table];
        for (; d->free_idx < t->size && work < limit; d->free_idx++) {
            size_t freed = 0;
            free_chain(t->buckets[d->free_idx], free_val, &freed);
            t->buckets[d->free_idx] = NULL;
            work += freed ? freed * DICT_EMPTY_VISITS : 1;
        }
        if (d->free_idx < t->size)
            return 0;
        table_reset(t);
        d->free_table++;
        d->free_idx = 0;
    }
    free(d);
    return 1;
}

void dict_free(struct dict *d, dict_free_fn *free_val)
{
    if (d)
        while (!dict_free_step(d, SIZE_MAX / DICT_EMPTY_VISITS, free_val))
            ;
}

/* ---- iteration ---- */

void dict_iter_init(struct dict_iter *it, struct dict *d)
{
    it->d = d;
    it->table = 0;
    it->bucket = 0;
    it->next = NULL;
    d->paused++;
}

struct dict_entry *dict_iter_next(struct dict_iter *it)
{
    while (it->next == NULL) {
        const struct dict_table *t = &it->d->t[it->table];
        if (it->bucket >= t->size) {
            if (it->table == 1)
                return NULL;
            it->table = 1;
            it->bucket = 0;
            continue;
        }
        it->next = t->buckets[it->bucket++];
    }
    struct dict_entry *e = it->next;
    it->next = e->next; /* read now, so that E may be deleted */
    return e;
}

void dict_iter_close(struct dict_iter *it)
{
    it->d->paused--;
}

/* ---- scan ---- */

static uint64_t rev64(uint64_t v)
{
    uint64_t r = 0;
    for (int i = 0; i < 64; i++) {
        r = (r << 1) | (v & 1);
        v >>= 1;
    }
    return r;
}

/* Increment the reversed bits of V above MASK: the next cursor in reverse-binary order. */
static uint64_t next_cursor(uint64_t v, uint64_t mask)
{
    v |= ~mask;
    v = rev64(v);
    v++;
    return rev64(v);
}

static void scan_bucket(const struct dict_table *t, uint64_t v, dict_scan_fn *fn, void *ud)
{
    for (const struct dict_entry *e = t->buckets[v & (t->size - 1)]; e; e = e->next)
        fn(ud, e);
}

uint64_t dict_scan(const struct dict *d, uint64_t v, dict_scan_fn *fn, void *ud)
{
    if (dict_size(d) == 0)
        return 0;
    if (!rehashing(d)) {
        uint64_t m0 = d->t[0].size - 1;
        scan_bucket(&d->t[0], v, fn, ud);
        return next_cursor(v, m0);
    }
    const struct dict_table *small = &d->t[0], *large = &d->t[1];
    if (small->size > large->size) {
        small = &d->t[1];
        large = &d->t[0];
    }
    uint64_t m0 = small->size - 1, m1 = large->size - 1;
    scan_bucket(small, v, fn, ud);
    /* then every bucket of the larger table that the smaller one's bucket expands to */
    do {
        scan_bucket(large, v, fn, ud);
        v = next_cursor(v, m1);
    } while (v & (m0 ^ m1));
    return v;
}

/* ---- random ---- */

struct dict_entry *dict_random(const struct dict *d, struct prng *p)
{
    if (dict_size(d) == 0)
        return NULL;
    const struct dict_entry *e;
    size_t s0 = d->t[0].size;
    if (rehashing(d)) {
        size_t lo = (size_t)d->rehash_idx; /* buckets of t[0] below it are empty */
        do {
            size_t h = lo + prng_below(p, s0 + d->t[1].size - lo);
            e = h >= s0 ? d->t[1].buckets[h - s0] : d->t[0].buckets[h];
        } while (!e);
    } else {
        do
            e = d->t[0].buckets[prng_below(p, s0)];
        while (!e);
    }
    size_t len = 0;
    for (const struct dict_entry *c = e; c; c = c->next)
        len++;
    for (size_t i = prng_below(p, len); i > 0; i--)
        e = e->next;
    return (struct dict_entry *)e;
}

/* ---- snapshots ---- */

void dict_get_shape(const struct dict *d, struct dict_shape *shape)
{
    shape->size0 = d->t[0].size;
    shape->size1 = d->t[1].size;
    shape->rehash_idx = d->rehash_idx;
    shape->used0 = d->t[0].used;
}

#define DICT_MAX_RESTORE_SIZE (1ULL << 40)

static int size_ok(uint64_t size)
{
    return size <= DICT_MAX_RESTORE_SIZE && (size & (size - 1)) == 0;
}

struct dict *dict_new_shaped(uint64_t seed, const struct dict_shape *shape)
{
    int rehash = shape->rehash_idx >= 0;
    if (!size_ok(shape->size0) || !size_ok(shape->size1) || shape->rehash_idx < -1)
        return NULL;
    if (rehash ? shape->size0 == 0 || shape->size1 == 0 ||
                     (uint64_t)shape->rehash_idx >= shape->size0
               : shape->size1 != 0)
        return NULL;
    struct dict *d = dict_new(seed);
    if (shape->size0)
        table_alloc(&d->t[0], (size_t)shape->size0);
    if (rehash) {
        table_alloc(&d->t[1], (size_t)shape->size1);
        d->rehash_idx = (long)shape->rehash_idx;
    }
    d->restore_used0 = (size_t)shape->used0;
    return d;
}

struct dict_entry *dict_restore_append(struct dict *d, const void *key, size_t klen,
                                       void *val)
{
    int table = d->t[0].used < d->restore_used0 ? 0 : 1;
    struct dict_table *t = &d->t[table];
    if (t->size == 0 || dict_find(d, key, klen))
        return NULL;
    uint64_t h = hash_key(d, key, klen);
    if (table == 0 && rehashing(d) && (h & (t->size - 1)) < (size_t)d->rehash_idx)
        return NULL; /* that part of t[0] is empty in a real dict */
    struct dict_entry **link = &t->buckets[h & (t->size - 1)];
    while (*link)
        link = &(*link)->next;
    struct dict_entry *e = xmalloc(sizeof(*e) + klen + 1);
    e->next = NULL;
    e->val = val;
    e->klen = (uint32_t)klen;
    memcpy(e->key, key, klen);
    e->key[klen] = '\0';
    *link = e;
    t->used++;
    d->key_bytes += klen;
    return e;
}

int dict_restore_done(const struct dict *d)
{
    return d->t[0].used == d->restore_used0 ? 0 : -1;
}
