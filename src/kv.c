/* The keyspace: a chained hash table that grows and shrinks incrementally like Redis's dict,
 * with TTL counts, tombstones and a layout-independent digest. Must stay pure: no I/O, no
 * clock reads, no libevent, no raft. */
#include "kv.h"
#include "codec.h"
#include "util.h"
#include "value.h"

#include <assert.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_INITIAL_SIZE 4
#define KV_EMPTY_VISITS 10   /* empty buckets a rehash or scan step may skip per unit of work */
#define KV_SHRINK_RATIO 8    /* shrink when fewer than size / 8 buckets' worth of entries */
#define KV_RANDOM_TRIES 100  /* random buckets kv_random samples before walking */
#define KV_RANDOM_WALK 65536 /* buckets the fallback walk of kv_random looks at, at most */

/* Fixed seeds: tombstone slots and digests must agree between processes. */
#define KV_TOMBSTONE_SEED 0x746f6d6273746f6eULL
static const uint64_t digest_seeds[3] = {
    0x6b76646967657374ULL, 0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL,
};

struct kv_table {
    struct kv_entry **buckets;
    size_t size; /* a power of two, or 0 while unallocated */
    size_t used;
};

struct kv_lazy {
    int type;
    void *obj;
};

struct kv_store {
    struct kv_lazy *lazy; /* values waiting for kv_lazy_free_step, a FIFO */
    size_t lazy_n, lazy_cap, lazy_head;
    struct kv_table t[2]; /* t[1] exists only during a rehash; inserts then go to it */
    int64_t rehash_idx;   /* next bucket of t[0] to move, -1 when not rehashing */
    size_t expires;
    size_t used_memory;
    uint64_t flush_seq;
    uint64_t tombstones[KV_TOMBSTONE_SLOTS];
    kv_expired_fn *on_expired; /* node-local: keyspace "expired" events */
    void *on_expired_arg;
    kv_created_fn *created; /* kv_set_created_hook */
    void *created_arg;
    int id; /* the database index (kv_set_id): kept by kv_swap, as the hooks are */
};

static int rehashing(const struct kv_store *kv)
{
    return kv->rehash_idx >= 0;
}

/* ---- access stamps (node-local; see kv.h) ---- */

static struct {
    uint32_t clock_s;  /* LRU clock: unix seconds & KV_LRU_CLOCK_MAX */
    uint32_t minutes;  /* LFU clock: unix minutes & 65535 */
    int mode;
    int log_factor;
    int decay_time;
    uint64_t rng;      /* LFU increments' coin: node-local, decides nothing replicated */
} stamps = {0, 0, KV_ACCESS_LRU, 10, 1, 0x853c49e6748fea9bULL};

void kv_set_lru_clock(int64_t now_ms)
{
    int64_t s = now_ms > 0 ? now_ms / 1000 : 0;
    stamps.clock_s = (uint32_t)(s & KV_LRU_CLOCK_MAX);
    stamps.minutes = (uint32_t)((s / 60) & 65535);
}

void kv_set_access_mode(int mode, int log_factor, int decay_time)
{
    stamps.mode = mode;
    stamps.log_factor = log_factor;
    stamps.decay_time = decay_time;
}

int kv_access_mode(void)
{
    return stamps.mode;
}

/* A fresh stamp: now, and in LFU mode the initial counter. */
static uint32_t stamp_new(void)
{
    if (stamps.mode == KV_ACCESS_LFU)
        return stamps.minutes << 8 | KV_LFU_INIT_VAL;
    return stamps.clock_s;
}

unsigned kv_entry_lfu(const struct kv_entry *e)
{
    uint32_t ldt = e->lru >> 8, counter = e->lru & 255;
    uint32_t elapsed = stamps.minutes >= ldt ? stamps.minutes - ldt : 65535 - ldt + stamps.minutes;
    uint32_t periods = stamps.decay_time > 0 ? elapsed / (uint32_t)stamps.decay_time : 0;
    return periods > counter ? 0 : counter - periods;
}

/* Redis's LFULogIncr: the higher the counter, the less likely an access raises it. */
static unsigned lfu_log_incr(unsigned counter)
{
    if (counter == 255)
        return 255;
    stamps.rng ^= stamps.rng << 13;
    stamps.rng ^= stamps.rng >> 7;
    stamps.rng ^= stamps.rng << 17;
    double r = (double)(stamps.rng >> 11) / (double)(1ULL << 53);
    double base = counter > KV_LFU_INIT_VAL ? counter - KV_LFU_INIT_VAL : 0;
    return r < 1.0 / (base * stamps.log_factor + 1) ? counter + 1 : counter;
}

void kv_entry_access(struct kv_entry *e)
{
    if (stamps.mode == KV_ACCESS_LFU)
        e->lru = stamps.minutes << 8 | lfu_log_incr(kv_entry_lfu(e));
    else
        e->lru = stamps.clock_s;
}

uint64_t kv_entry_idle_ms(const struct kv_entry *e)
{
    uint64_t now = stamps.clock_s, then = e->lru;
    return (now >= then ? now - then : now + (KV_LRU_CLOCK_MAX - then)) * 1000;
}

static struct kv_entry *entry_new(struct kv_store *kv, const char *key, size_t klen,
                                  const char *val, size_t vlen, int64_t expire_ms, uint64_t seq)
{
    assert(klen <= UINT32_MAX && vlen <= UINT32_MAX);
    struct kv_entry *e = xmalloc(offsetof(struct kv_entry, data) + klen + vlen + 1);
    e->next = NULL;
    e->expire_ms = expire_ms;
    e->mod_seq = seq;
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    e->lru = stamp_new();
    e->type = KV_STRING;
    if (klen)
        memcpy(e->data, key, klen);
    if (vlen)
        memcpy(e->data + klen, val, vlen);
    e->data[klen + vlen] = '\0';
    kv->used_memory += malloc_usable_size(e);
    if (expire_ms != KV_NO_EXPIRE)
        kv->expires++;
    return e;
}

const char *kv_type_name(int type)
{
    if (type == KV_STRING)
        return "string";
    const struct value_ops *ops = value_ops(type);
    return ops != NULL ? ops->type_name : "none";
}

static void obj_free_now(int type, void *obj)
{
    const struct value_ops *ops = value_ops(type);
    if (ops != NULL)
        ops->free(obj);
}

/* Free OBJ at once when small, else queue it for kv_lazy_free_step. */
static void obj_release(struct kv_store *kv, int type, void *obj)
{
    if (obj == NULL)
        return;
    const struct value_ops *ops = value_ops(type);
    if (ops != NULL && ops->len(obj) > KV_LAZY_MIN) {
        if (kv->lazy_head > 0 && kv->lazy_head == kv->lazy_n) {
            kv->lazy_head = kv->lazy_n = 0;
        }
        if (kv->lazy_n == kv->lazy_cap) {
            kv->lazy_cap = kv->lazy_cap ? kv->lazy_cap * 2 : 16;
            kv->lazy = xrealloc(kv->lazy, kv->lazy_cap * sizeof *kv->lazy);
        }
        kv->lazy[kv->lazy_n].type = type;
        kv->lazy[kv->lazy_n++].obj = obj;
        return;
    }
    obj_free_now(type, obj);
}

size_t kv_lazy_free_step(struct kv_store *kv, size_t budget)
{
    while (kv->lazy_head < kv->lazy_n) {
        struct kv_lazy *l = &kv->lazy[kv->lazy_head];
        const struct value_ops *ops = value_ops(l->type);
        size_t before = ops->len(l->obj);
        if (!ops->free_step(l->obj, budget))
            return kv->lazy_n - kv->lazy_head;
        kv->lazy_head++;
        budget = budget > before ? budget - before : 0;
        if (budget == 0)
            break;
    }
    if (kv->lazy_head == kv->lazy_n)
        kv->lazy_head = kv->lazy_n = 0;
    return kv->lazy_n - kv->lazy_head;
}

size_t kv_lazy_pending(const struct kv_store *kv)
{
    return kv->lazy_n - kv->lazy_head;
}

static void entry_free(struct kv_store *kv, struct kv_entry *e)
{
    if (e->type != KV_STRING)
        obj_release(kv, e->type, kv_entry_obj(e));
    if (e->expire_ms != KV_NO_EXPIRE)
        kv->expires--;
    kv->used_memory -= malloc_usable_size(e);
    free(e);
}

static void table_alloc(struct kv_store *kv, struct kv_table *t, size_t size)
{
    t->buckets = xcalloc(size, sizeof *t->buckets);
    t->size = size;
    t->used = 0;
    kv->used_memory += malloc_usable_size(t->buckets);
}

static void table_release(struct kv_store *kv, struct kv_table *t)
{
    if (t->buckets)
        kv->used_memory -= malloc_usable_size(t->buckets);
    free(t->buckets);
    t->buckets = NULL;
    t->size = 0;
    t->used = 0;
}

/* Free every entry of T, then T's buckets. */
static void table_clear(struct kv_store *kv, struct kv_table *t)
{
    for (size_t i = 0; i < t->size; i++) {
        struct kv_entry *e = t->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            entry_free(kv, e);
        }
    }
    table_release(kv, t);
}

static size_t table_size_for(size_t n)
{
    size_t size = KV_INITIAL_SIZE;
    while (size < n)
        size *= 2;
    return size;
}

static void resize_start(struct kv_store *kv, size_t size)
{
    if (rehashing(kv) || size == kv->t[0].size)
        return;
    table_alloc(kv, &kv->t[1], size);
    kv->rehash_idx = 0;
}

/* Start a shrink when the table has become very sparse. */
static void maybe_shrink(struct kv_store *kv)
{
    const struct kv_table *t = &kv->t[0];
    if (!rehashing(kv) && t->size > KV_INITIAL_SIZE && t->used * KV_SHRINK_RATIO < t->size)
        resize_start(kv, table_size_for(t->used));
}

/* Make room for one more entry: allocate the first table or start growing at load 1. */
static void maybe_grow(struct kv_store *kv)
{
    struct kv_table *t = &kv->t[0];
    if (rehashing(kv))
        return;
    if (t->size == 0)
        table_alloc(kv, t, KV_INITIAL_SIZE);
    else if (t->used >= t->size)
        resize_start(kv, t->size * 2);
}

static void move_chain(struct kv_store *kv, struct kv_entry *e)
{
    struct kv_table *to = &kv->t[1];
    while (e) {
        struct kv_entry *next = e->next;
        size_t idx = util_hash(e->data, e->klen) & (to->size - 1);
        e->next = to->buckets[idx];
        to->buckets[idx] = e;
        kv->t[0].used--;
        to->used++;
        e = next;
    }
}

static void rehash_finish(struct kv_store *kv)
{
    table_release(kv, &kv->t[0]);
    kv->t[0] = kv->t[1];
    memset(&kv->t[1], 0, sizeof kv->t[1]);
    kv->rehash_idx = -1;
    maybe_shrink(kv);
}

/* Move up to N non-empty buckets from t[0] to t[1], skipping at most N * 10 empty ones, so
 * that no call costs time proportional to the table size. */
static void rehash_buckets(struct kv_store *kv, int n)
{
    size_t empty_budget = (size_t)(n > 0 ? n : 0) * KV_EMPTY_VISITS;
    struct kv_table *from = &kv->t[0];

    if (!rehashing(kv))
        return;
    while (n-- > 0 && from->used > 0) {
        /* used > 0 guarantees a non-empty bucket at or after rehash_idx. */
        while (from->buckets[kv->rehash_idx] == NULL) {
            kv->rehash_idx++;
            if (--empty_budget == 0)
                return;
        }
        struct kv_entry *chain = from->buckets[kv->rehash_idx];
        from->buckets[kv->rehash_idx++] = NULL;
        move_chain(kv, chain);
    }
    if (from->used == 0)
        rehash_finish(kv);
}

int kv_rehash_step(struct kv_store *kv, int n)
{
    rehash_buckets(kv, n);
    return rehashing(kv);
}

/* The link pointing at KEY's entry (in either table during a rehash), or NULL. */
static struct kv_entry **find_link(struct kv_store *kv, const char *key, size_t klen,
                                   uint64_t hash, struct kv_table **table)
{
    for (int i = 0; i < 2; i++) {
        struct kv_table *t = &kv->t[i];
        if (t->size == 0)
            continue;
        struct kv_entry **link = &t->buckets[hash & (t->size - 1)];
        for (; *link; link = &(*link)->next) {
            if ((*link)->klen == klen && memcmp((*link)->data, key, klen) == 0) {
                *table = t;
                return link;
            }
        }
    }
    return NULL;
}

struct kv_store *kv_new(void)
{
    struct kv_store *kv = xcalloc(1, sizeof *kv);
    kv->rehash_idx = -1;
    kv->used_memory = malloc_usable_size(kv);
    return kv;
}

void kv_free(struct kv_store *kv)
{
    if (kv == NULL)
        return;
    table_clear(kv, &kv->t[0]);
    table_clear(kv, &kv->t[1]);
    for (size_t i = kv->lazy_head; i < kv->lazy_n; i++)
        obj_free_now(kv->lazy[i].type, kv->lazy[i].obj);
    free(kv->lazy);
    free(kv);
}

size_t kv_size(const struct kv_store *kv)
{
    return kv->t[0].used + kv->t[1].used;
}

size_t kv_expires(const struct kv_store *kv)
{
    return kv->expires;
}

size_t kv_used_memory(const struct kv_store *kv)
{
    return kv->used_memory;
}

struct kv_entry *kv_find(struct kv_store *kv, const char *key, size_t klen)
{
    struct kv_table *t;
    rehash_buckets(kv, 1);
    struct kv_entry **link = find_link(kv, key, klen, util_hash(key, klen), &t);
    return link ? *link : NULL;
}

struct kv_entry *kv_peek(struct kv_store *kv, const char *key, size_t klen, int64_t now_ms)
{
    struct kv_entry *e = kv_find(kv, key, klen);
    return e && !kv_entry_expired(e, now_ms) ? e : NULL;
}

struct kv_read_stats kv_read_stats;

struct kv_entry *kv_lookup(struct kv_store *kv, const char *key, size_t klen, int64_t now_ms)
{
    struct kv_entry *e = kv_peek(kv, key, klen, now_ms);
    if (e != NULL)
        kv_entry_access(e);
    if (!kv_read_stats.muted) {
        if (e != NULL)
            kv_read_stats.hits++;
        else
            kv_read_stats.misses++;
    }
    return e;
}

/* Put the new entry E under KEY, replacing any existing one. */
static struct kv_entry *entry_put(struct kv_store *kv, struct kv_entry *e, const char *key,
                                  size_t klen)
{
    uint64_t hash = util_hash(key, klen);
    struct kv_table *t;

    rehash_buckets(kv, 1);
    struct kv_entry **link = find_link(kv, key, klen, hash, &t);
    if (link) {
        /* Replace in place: same key, so same bucket of the same table. */
        struct kv_entry *old = *link;
        e->next = old->next;
        if (stamps.mode == KV_ACCESS_LFU)
            e->lru = old->lru; /* an overwrite keeps the key's frequency (Redis's dbSetValue) */
        *link = e;
        entry_free(kv, old);
        return e;
    }
    maybe_grow(kv);
    t = &kv->t[rehashing(kv) ? 1 : 0];
    size_t idx = hash & (t->size - 1);
    e->next = t->buckets[idx];
    t->buckets[idx] = e;
    t->used++;
    return e;
}

struct kv_entry *kv_set(struct kv_store *kv, const char *key, size_t klen, const char *val,
                        size_t vlen, int64_t expire_ms, uint64_t seq)
{
    return entry_put(kv, entry_new(kv, key, klen, val, vlen, expire_ms, seq), key, klen);
}

struct kv_entry *kv_set_obj(struct kv_store *kv, const char *key, size_t klen, int type,
                            void *obj, int64_t expire_ms, uint64_t seq)
{
    struct kv_entry *e = entry_new(kv, key, klen, (const char *)&obj, sizeof obj, expire_ms, seq);
    e->type = (uint8_t)type;
    e = entry_put(kv, e, key, klen);
    if (kv->created)
        kv->created(kv->created_arg, kv->id, key, klen);
    return e;
}

void kv_signal_all_created(struct kv_store *kv)
{
    if (kv->created)
        kv->created(kv->created_arg, kv->id, NULL, 0);
}

void kv_set_created_hook(struct kv_store *kv, kv_created_fn *fn, void *arg)
{
    kv->created = fn;
    kv->created_arg = arg;
}

void kv_set_expire(struct kv_store *kv, struct kv_entry *e, int64_t expire_ms, uint64_t seq)
{
    if (e->expire_ms == KV_NO_EXPIRE && expire_ms != KV_NO_EXPIRE)
        kv->expires++;
    else if (e->expire_ms != KV_NO_EXPIRE && expire_ms == KV_NO_EXPIRE)
        kv->expires--;
    e->expire_ms = expire_ms;
    e->mod_seq = seq;
}

static size_t tombstone_slot(const char *key, size_t klen)
{
    return util_hash_seeded(key, klen, KV_TOMBSTONE_SEED) % KV_TOMBSTONE_SLOTS;
}

int kv_delete(struct kv_store *kv, const char *key, size_t klen, uint64_t seq)
{
    struct kv_table *t;
    rehash_buckets(kv, 1);
    struct kv_entry **link = find_link(kv, key, klen, util_hash(key, klen), &t);
    if (link == NULL)
        return 0;
    struct kv_entry *e = *link;
    /* KEY may point into E (kv_entry_key): record the tombstone before freeing. */
    uint64_t *slot = &kv->tombstones[tombstone_slot(key, klen)];
    if (seq > *slot)
        *slot = seq;
    *link = e->next;
    t->used--;
    entry_free(kv, e);
    maybe_shrink(kv);
    return 1;
}

struct kv_entry *kv_lookup_write(struct kv_store *kv, const char *key, size_t klen,
                                 int64_t now_ms, uint64_t seq)
{
    struct kv_entry *e = kv_find(kv, key, klen);
    if (e != NULL && kv_entry_expired(e, now_ms)) {
        if (kv->on_expired != NULL)
            kv->on_expired(kv->on_expired_arg, kv->id, key, klen);
        kv_delete(kv, key, klen, seq);
        return NULL;
    }
    if (e != NULL)
        kv_entry_access(e);
    return e;
}

void kv_set_expired_hook(struct kv_store *kv, kv_expired_fn *fn, void *arg)
{
    kv->on_expired = fn;
    kv->on_expired_arg = arg;
}

void kv_set_id(struct kv_store *kv, int id)
{
    kv->id = id;
}

int kv_id(const struct kv_store *kv)
{
    return kv->id;
}

void kv_swap(struct kv_store *a, struct kv_store *b)
{
    struct kv_store t = *a;
    *a = *b;
    *b = t;
    /* the hooks and the index belong to the slot, not to the contents */
    b->on_expired = a->on_expired;
    b->on_expired_arg = a->on_expired_arg;
    b->created = a->created;
    b->created_arg = a->created_arg;
    b->id = a->id;
    a->on_expired = t.on_expired;
    a->on_expired_arg = t.on_expired_arg;
    a->created = t.created;
    a->created_arg = t.created_arg;
    a->id = t.id;
}

void kv_flush(struct kv_store *kv, uint64_t seq)
{
    table_clear(kv, &kv->t[0]);
    table_clear(kv, &kv->t[1]);
    kv->rehash_idx = -1;
    if (seq > kv->flush_seq)
        kv->flush_seq = seq;
}

uint64_t kv_tombstone(const struct kv_store *kv, const char *key, size_t klen)
{
    uint64_t slot = kv->tombstones[tombstone_slot(key, klen)];
    return slot > kv->flush_seq ? slot : kv->flush_seq;
}

uint64_t *kv_tombstones(struct kv_store *kv)
{
    return kv->tombstones;
}

uint64_t kv_flush_seq(const struct kv_store *kv)
{
    return kv->flush_seq;
}

void kv_set_flush_seq(struct kv_store *kv, uint64_t seq)
{
    kv->flush_seq = seq;
}

static size_t visit_chain(const struct kv_entry *e, kv_visit_fn *fn, void *priv)
{
    size_t n = 0;
    while (e) {
        const struct kv_entry *next = e->next;
        fn(priv, e);
        n++;
        e = next;
    }
    return n;
}

static uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0f0f0f0f0f0f0f0fULL) | ((v & 0x0f0f0f0f0f0f0f0fULL) << 4);
    return __builtin_bswap64(v);
}

/* Increment the reversed cursor in the bits MASK covers (the other bits are set first so
 * the carry runs through them and out). */
static uint64_t cursor_next(uint64_t v, uint64_t mask)
{
    v |= ~mask;
    return rev64(rev64(v) + 1);
}

/* One dictScan step from cursor V: visit one bucket (during a rehash, one bucket of the
 * smaller table and every bucket of the larger that expands it). Adds to *BUCKETS and
 * *ENTRIES; returns the next cursor. The store must have a table. */
static uint64_t scan_step(struct kv_store *kv, uint64_t v, kv_visit_fn *fn, void *priv,
                          size_t *buckets, size_t *entries)
{
    const struct kv_table *small = &kv->t[0], *big = &kv->t[1];

    if (!rehashing(kv)) {
        uint64_t m = small->size - 1;
        *entries += visit_chain(small->buckets[v & m], fn, priv);
        (*buckets)++;
        return cursor_next(v, m);
    }
    if (small->size > big->size) {
        const struct kv_table *tmp = small;
        small = big;
        big = tmp;
    }
    uint64_t m0 = small->size - 1, m1 = big->size - 1;
    *entries += visit_chain(small->buckets[v & m0], fn, priv);
    (*buckets)++;
    do {
        *entries += visit_chain(big->buckets[v & m1], fn, priv);
        (*buckets)++;
        v = cursor_next(v, m1);
    } while (v & (m0 ^ m1));
    return v;
}

uint64_t kv_scan(struct kv_store *kv, uint64_t cursor, size_t count, kv_visit_fn *fn, void *priv)
{
    size_t buckets = 0, entries = 0, empty_steps = 0;
    size_t max_empty = (count ? count : 1) * KV_EMPTY_VISITS;

    if (kv->t[0].size == 0)
        return 0;
    do {
        size_t before = entries;
        cursor = scan_step(kv, cursor, fn, priv, &buckets, &entries);
        if (entries == before && ++empty_steps >= max_empty)
            break;
    } while (cursor != 0 && entries < count);
    return cursor;
}

void kv_foreach(struct kv_store *kv, kv_visit_fn *fn, void *priv)
{
    for (int i = 0; i < 2; i++)
        for (size_t b = 0; b < kv->t[i].size; b++)
            visit_chain(kv->t[i].buckets[b], fn, priv);
}

struct expired_visit {
    int64_t now_ms;
    kv_visit_fn *fn;
    void *priv;
};

static void visit_if_expired(void *priv, const struct kv_entry *e)
{
    struct expired_visit *ev = priv;
    if (kv_entry_expired(e, ev->now_ms))
        ev->fn(ev->priv, e);
}

/* Walks with the SCAN cursor so that one full cycle sees every key even across resizes;
 * stops when the cursor wraps so no entry is reported twice in one call. */
size_t kv_expired_sample(struct kv_store *kv, uint64_t *cursor, size_t max_buckets,
                         int64_t now_ms, kv_visit_fn *fn, void *priv)
{
    struct expired_visit ev = {now_ms, fn, priv};
    size_t buckets = 0, entries = 0;
    uint64_t v = *cursor;

    if (kv->t[0].size == 0 || kv->expires == 0) {
        *cursor = 0;
        return 0;
    }
    while (buckets < max_buckets) {
        v = scan_step(kv, v, visit_if_expired, &ev, &buckets, &entries);
        if (v == 0)
            break;
    }
    *cursor = v;
    return buckets;
}

static uint64_t xorshift64s(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Bucket I of the two tables laid end to end. */
static struct kv_entry *bucket_at(const struct kv_store *kv, size_t i)
{
    if (i < kv->t[0].size)
        return kv->t[0].buckets[i];
    return kv->t[1].buckets[i - kv->t[0].size];
}

/* A random entry of CHAIN among those live at NOW_MS, or NULL. */
static struct kv_entry *random_live(struct kv_entry *chain, uint64_t r, int64_t now_ms)
{
    size_t live = 0;
    struct kv_entry *e;

    for (e = chain; e; e = e->next)
        live += !kv_entry_expired(e, now_ms);
    if (live == 0)
        return NULL;
    size_t k = r % live;
    for (e = chain;; e = e->next)
        if (!kv_entry_expired(e, now_ms) && k-- == 0)
            return e;
}

struct kv_entry *kv_random(struct kv_store *kv, uint64_t *rng, int64_t now_ms)
{
    size_t total = kv->t[0].size + kv->t[1].size;
    size_t lo = rehashing(kv) ? (size_t)kv->rehash_idx : 0; /* t[0] is empty below it */
    struct kv_entry *e;

    if (kv_size(kv) == 0)
        return NULL;
    for (int i = 0; i < KV_RANDOM_TRIES; i++) {
        size_t b = lo + xorshift64s(rng) % (total - lo);
        if ((e = random_live(bucket_at(kv, b), xorshift64s(rng), now_ms)) != NULL)
            return e;
    }
    /* Mostly expired or very sparse: walk a bounded stretch from a random bucket. */
    size_t start = xorshift64s(rng) % total;
    size_t walk = total < KV_RANDOM_WALK ? total : KV_RANDOM_WALK;
    for (size_t i = 0; i < walk; i++) {
        if ((e = random_live(bucket_at(kv, (start + i) % total), xorshift64s(rng), now_ms)))
            return e;
    }
    return NULL;
}

size_t kv_sample(struct kv_store *kv, uint64_t *rng, size_t count, int with_ttl,
                 size_t max_buckets, kv_sample_fn *fn, void *priv)
{
    size_t total = kv->t[0].size + kv->t[1].size;
    size_t lo = rehashing(kv) ? (size_t)kv->rehash_idx : 0; /* t[0] is empty below it */
    size_t seen = 0;

    if (max_buckets == 0)
        max_buckets = count * KV_EMPTY_VISITS + 16;
    if (kv_size(kv) == 0 || count == 0 || (with_ttl && kv->expires == 0) || total <= lo)
        return 0;
    size_t b = lo + xorshift64s(rng) % (total - lo);
    for (size_t i = 0; i < max_buckets && i < total - lo && seen < count; i++) {
        for (const struct kv_entry *e = bucket_at(kv, b); e != NULL && seen < count; e = e->next) {
            if (with_ttl && e->expire_ms == KV_NO_EXPIRE)
                continue;
            seen += fn(priv, e) != 0;
        }
        b = b + 1 < total ? b + 1 : lo;
    }
    return seen;
}

struct digest {
    struct buf scratch;
    uint64_t acc[3];
};

/* A non-string entry: (u32 klen, key, u32 0xffffffff, u8 type, u64 the value's own
 * order-independent digest, i64 expiry), three ways. */
static void digest_obj(struct digest *d, const struct kv_entry *e)
{
    size_t n = 4 + e->klen + 4 + 1 + 8 + 8;
    unsigned char *p = (unsigned char *)buf_reserve(&d->scratch, n);

    codec_put_u32(p, e->klen);
    memcpy(p + 4, kv_entry_key(e), e->klen);
    codec_put_u32(p + 4 + e->klen, UINT32_MAX);
    p[8 + e->klen] = e->type;
    codec_put_u64(p + 9 + e->klen + 8, (uint64_t)e->expire_ms);
    for (int i = 0; i < 3; i++) {
        const struct value_ops *ops = value_ops(e->type);
        uint64_t vd = ops != NULL ? ops->digest(kv_entry_obj(e), digest_seeds[i]) : 0;
        codec_put_u64(p + 9 + e->klen, vd);
        d->acc[i] ^= util_hash_seeded(p, n, digest_seeds[i]);
    }
}

/* Serialize E unambiguously (u32 klen, key, u32 vlen, value, i64 expiry, little-endian),
 * hash it three ways and fold it into the accumulator. */
static void digest_entry(void *priv, const struct kv_entry *e)
{
    struct digest *d = priv;
    if (e->type != KV_STRING) {
        digest_obj(d, e);
        return;
    }
    size_t n = 4 + e->klen + 4 + e->vlen + 8;
    unsigned char *p = (unsigned char *)buf_reserve(&d->scratch, n);

    codec_put_u32(p, e->klen);
    memcpy(p + 4, kv_entry_key(e), e->klen);
    codec_put_u32(p + 4 + e->klen, e->vlen);
    memcpy(p + 8 + e->klen, kv_entry_val(e), e->vlen);
    codec_put_u64(p + 8 + e->klen + e->vlen, (uint64_t)e->expire_ms);
    for (int i = 0; i < 3; i++)
        d->acc[i] ^= util_hash_seeded(p, n, digest_seeds[i]);
}

void kv_digest_hex(struct kv_store *kv, char hex[41])
{
    struct digest d = {.acc = {0, 0, 0}};

    buf_init(&d.scratch);
    kv_foreach(kv, digest_entry, &d);
    buf_close(&d.scratch);
    snprintf(hex, 41, "%016" PRIx64 "%016" PRIx64 "%08" PRIx64, d.acc[0], d.acc[1],
             d.acc[2] >> 32);
}
