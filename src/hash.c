/* The hash value type: listpack while small, dict past the limits (see hash.h). Pure. */
#include "hash.h"
#include "codec.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct hash_limits hash_limits_configured = {HASH_DEFAULT_ENTRIES, HASH_DEFAULT_VALUE};

void hash_set_limits(long long entries, long long value)
{
    hash_limits_configured.entries = entries;
    hash_limits_configured.value = value;
}

static struct hash_val *val_new(const char *v, size_t len)
{
    struct hash_val *hv = xmalloc(sizeof *hv + len + 1);
    hv->len = (uint32_t)len;
    if (len)
        memcpy(hv->data, v, len);
    hv->data[len] = '\0';
    return hv;
}

static void val_free(void *v)
{
    free(v);
}

struct hash *hash_new(void)
{
    struct hash *h = xcalloc(1, sizeof *h);
    h->enc = HASH_LISTPACK;
    h->lp = listpack_new();
    return h;
}

struct hash *hash_new_dict(struct dict *d)
{
    struct hash *h = xcalloc(1, sizeof *h);
    h->enc = HASH_HASHTABLE;
    h->d = d;
    return h;
}

void hash_free(struct hash *h)
{
    if (h == NULL)
        return;
    if (h->enc == HASH_LISTPACK)
        listpack_free(h->lp);
    else
        dict_free(h->d, val_free);
    free(h);
}

int hash_free_step(struct hash *h, size_t budget)
{
    if (h->enc == HASH_HASHTABLE && h->d != NULL) {
        if (!dict_free_step(h->d, budget, val_free))
            return 0;
        h->d = NULL;
    }
    hash_free(h);
    return 1;
}

size_t hash_len(const struct hash *h)
{
    return h->enc == HASH_LISTPACK ? listpack_count(h->lp) / 2 : dict_size(h->d);
}

size_t hash_bytes(const struct hash *h, size_t samples)
{
    if (h->enc == HASH_LISTPACK)
        return util_alloc_bytes(h) + util_alloc_bytes(h->lp);
    return util_alloc_bytes(h) + dict_bytes_sampled(h->d, samples, util_alloc_bytes);
}

const char *hash_encoding_name(const struct hash *h)
{
    return h->enc == HASH_LISTPACK ? "listpack" : "hashtable";
}

const char *hash_get(const struct hash *h, const char *field, size_t flen, size_t *vlen)
{
    if (h->enc == HASH_LISTPACK) {
        size_t pos = listpack_pair_find(h->lp, field, flen);
        if (pos == LISTPACK_NONE)
            return NULL;
        return (const char *)listpack_get(h->lp, listpack_next(h->lp, pos), vlen);
    }
    struct dict_entry *de = dict_find(h->d, field, flen);
    if (de == NULL)
        return NULL;
    const struct hash_val *hv = de->val;
    *vlen = hv->len;
    return hv->data;
}

void hash_convert(struct hash *h)
{
    if (h->enc != HASH_LISTPACK)
        return;
    struct dict *d = dict_new(DICT_DEFAULT_SEED);
    for (size_t pos = listpack_first(h->lp); pos != LISTPACK_NONE;) {
        size_t fl, vl;
        const unsigned char *f = listpack_get(h->lp, pos, &fl);
        size_t vpos = listpack_next(h->lp, pos);
        const unsigned char *v = listpack_get(h->lp, vpos, &vl);
        dict_add(d, f, fl, val_new((const char *)v, vl));
        pos = listpack_next(h->lp, vpos);
    }
    listpack_free(h->lp);
    h->lp = NULL;
    h->d = d;
    h->enc = HASH_HASHTABLE;
}

void hash_try_convert(struct hash *h, const char *const *argv, const size_t *lens, int n,
                      const struct hash_limits *lim)
{
    if (h->enc != HASH_LISTPACK)
        return;
    for (int i = 0; i < n; i++) {
        if ((long long)lens[i] > lim->value) {
            hash_convert(h);
            return;
        }
    }
}

int hash_set(struct hash *h, const char *field, size_t flen, const char *val, size_t vlen,
             const struct hash_limits *lim)
{
    if (h->enc == HASH_LISTPACK && ((long long)flen > lim->value || (long long)vlen > lim->value))
        hash_convert(h);
    if (h->enc == HASH_LISTPACK) {
        int added = listpack_pair_set(&h->lp, field, flen, val, vlen);
        if ((long long)hash_len(h) > lim->entries)
            hash_convert(h);
        return added;
    }
    int added;
    struct dict_entry *de = dict_insert(h->d, field, flen, &added);
    struct hash_val *old = de->val;
    if (old != NULL && old->len == vlen) { /* the same size: overwrite in place */
        memmove(old->data, val, vlen); /* VAL may be the old value itself */
        return added;
    }
    free(old);
    de->val = val_new(val, vlen);
    return added;
}

int hash_delete(struct hash *h, const char *field, size_t flen)
{
    if (h->enc == HASH_LISTPACK)
        return listpack_pair_delete(&h->lp, field, flen);
    void *v;
    if (!dict_delete(h->d, field, flen, &v))
        return 0;
    free(v);
    return 1;
}

void hash_iter_init(struct hash_iter *it, struct hash *h)
{
    it->h = h;
    if (h->enc == HASH_LISTPACK)
        it->pos = listpack_first(h->lp);
    else
        dict_iter_init(&it->di, h->d);
}

int hash_iter_next(struct hash_iter *it, const char **f, size_t *flen, const char **v,
                   size_t *vlen)
{
    struct hash *h = it->h;
    if (h->enc == HASH_LISTPACK) {
        if (it->pos == LISTPACK_NONE)
            return 0;
        *f = (const char *)listpack_get(h->lp, it->pos, flen);
        size_t vpos = listpack_next(h->lp, it->pos);
        *v = (const char *)listpack_get(h->lp, vpos, vlen);
        it->pos = listpack_next(h->lp, vpos);
        return 1;
    }
    struct dict_entry *de = dict_iter_next(&it->di);
    if (de == NULL)
        return 0;
    const struct hash_val *hv = de->val;
    *f = de->key;
    *flen = de->klen;
    *v = hv->data;
    *vlen = hv->len;
    return 1;
}

void hash_iter_close(struct hash_iter *it)
{
    if (it->h->enc == HASH_HASHTABLE)
        dict_iter_close(&it->di);
}

struct hash *hash_dup(const struct hash *src)
{
    struct hash *h = xcalloc(1, sizeof *h);
    struct hash_iter it;
    const char *f, *v;
    size_t fl, vl;

    h->enc = src->enc;
    if (src->enc == HASH_LISTPACK)
        h->lp = listpack_new();
    else
        h->d = dict_new(DICT_DEFAULT_SEED);
    hash_iter_init(&it, (struct hash *)src);
    while (hash_iter_next(&it, &f, &fl, &v, &vl)) {
        if (h->enc == HASH_LISTPACK) {
            listpack_append(&h->lp, f, fl);
            listpack_append(&h->lp, v, vl);
        } else {
            dict_add(h->d, f, fl, val_new(v, vl));
        }
    }
    hash_iter_close(&it);
    return h;
}

void hash_random(const struct hash *h, struct prng *p, const char **f, size_t *flen,
                 const char **v, size_t *vlen)
{
    if (h->enc == HASH_LISTPACK) {
        size_t pos = listpack_random_pair(h->lp, p);
        *f = (const char *)listpack_get(h->lp, pos, flen);
        *v = (const char *)listpack_get(h->lp, listpack_next(h->lp, pos), vlen);
        return;
    }
    struct dict_entry *de = dict_random(h->d, p);
    const struct hash_val *hv = de->val;
    *f = de->key;
    *flen = de->klen;
    *v = hv->data;
    *vlen = hv->len;
}

uint64_t hash_digest(struct hash *h, uint64_t seed)
{
    struct hash_iter it;
    struct buf scratch;
    const char *f, *v;
    size_t fl, vl;
    uint64_t acc = 0;

    buf_init(&scratch);
    hash_iter_init(&it, h);
    while (hash_iter_next(&it, &f, &fl, &v, &vl)) {
        size_t n = 4 + fl + 4 + vl;
        unsigned char *p = (unsigned char *)buf_reserve(&scratch, n);
        codec_put_u32(p, (uint32_t)fl);
        memcpy(p + 4, f, fl);
        codec_put_u32(p + 4 + fl, (uint32_t)vl);
        memcpy(p + 8 + fl, v, vl);
        acc ^= util_hash_seeded(p, n, seed);
    }
    hash_iter_close(&it);
    buf_close(&scratch);
    return acc;
}
