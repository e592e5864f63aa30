/* The set value type: intset while small and integer, dict past that (see set.h). Pure. */
#include "set.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

long long set_max_intset_configured = SET_DEFAULT_MAX_INTSET;

void set_configure_limits(long long max_intset)
{
    set_max_intset_configured = max_intset;
}

struct set *set_new(enum set_enc enc)
{
    struct set *s = xcalloc(1, sizeof *s);
    s->enc = enc;
    if (enc == SET_INTSET)
        s->is = intset_new();
    else
        s->d = dict_new(DICT_DEFAULT_SEED);
    return s;
}

struct set *set_new_for(const char *m, size_t len)
{
    int64_t v;
    return set_new(intset_parse(m, len, &v) ? SET_INTSET : SET_HASHTABLE);
}

struct set *set_new_dict(struct dict *d)
{
    struct set *s = xcalloc(1, sizeof *s);
    s->enc = SET_HASHTABLE;
    s->d = d;
    return s;
}

void set_free(struct set *s)
{
    if (s == NULL)
        return;
    if (s->enc == SET_INTSET)
        intset_free(s->is);
    else
        dict_free(s->d, NULL);
    free(s);
}

int set_free_step(struct set *s, size_t budget)
{
    if (s->enc == SET_HASHTABLE && s->d != NULL) {
        if (!dict_free_step(s->d, budget, NULL))
            return 0;
        s->d = NULL;
    }
    set_free(s);
    return 1;
}

size_t set_len(const struct set *s)
{
    return s->enc == SET_INTSET ? intset_len(s->is) : dict_size(s->d);
}

size_t set_bytes(const struct set *s, size_t samples)
{
    if (s->enc == SET_INTSET)
        return util_alloc_bytes(s) + util_alloc_bytes(s->is);
    return util_alloc_bytes(s) + dict_bytes_sampled(s->d, samples, NULL);
}

const char *set_encoding_name(const struct set *s)
{
    return s->enc == SET_INTSET ? "intset" : "hashtable";
}

void set_convert(struct set *s)
{
    if (s->enc != SET_INTSET)
        return;
    struct dict *d = dict_new(DICT_DEFAULT_SEED);
    char tmp[SET_INT_BUF];
    for (uint32_t i = 0; i < intset_len(s->is); i++) {
        size_t n = util_ll2str(tmp, intset_get(s->is, i));
        dict_add(d, tmp, n, NULL);
    }
    intset_free(s->is);
    s->is = NULL;
    s->d = d;
    s->enc = SET_HASHTABLE;
}

int set_add(struct set *s, const char *m, size_t len, long long max_intset)
{
    int64_t v;
    if (s->enc == SET_INTSET) {
        if (intset_parse(m, len, &v)) {
            if (!intset_add(&s->is, v))
                return 0;
            if ((long long)intset_len(s->is) > max_intset)
                set_convert(s);
            return 1;
        }
        set_convert(s);
    }
    return dict_add(s->d, m, len, NULL);
}

int set_remove(struct set *s, const char *m, size_t len)
{
    int64_t v;
    if (s->enc == SET_INTSET)
        return intset_parse(m, len, &v) && intset_remove(&s->is, v);
    return dict_delete(s->d, m, len, NULL);
}

int set_contains(const struct set *s, const char *m, size_t len)
{
    int64_t v;
    if (s->enc == SET_INTSET)
        return intset_parse(m, len, &v) && intset_find(s->is, v);
    return dict_find(s->d, m, len) != NULL;
}

void set_iter_init(struct set_iter *it, struct set *s)
{
    it->s = s;
    it->pos = 0;
    if (s->enc == SET_HASHTABLE)
        dict_iter_init(&it->di, s->d);
}

int set_iter_next(struct set_iter *it, const char **m, size_t *len)
{
    if (it->s->enc == SET_INTSET) {
        if (it->pos >= intset_len(it->s->is))
            return 0;
        *len = util_ll2str(it->tmp, intset_get(it->s->is, it->pos++));
        *m = it->tmp;
        return 1;
    }
    struct dict_entry *de = dict_iter_next(&it->di);
    if (de == NULL)
        return 0;
    *m = de->key;
    *len = de->klen;
    return 1;
}

void set_iter_close(struct set_iter *it)
{
    if (it->s->enc == SET_HASHTABLE)
        dict_iter_close(&it->di);
}

void set_random(const struct set *s, struct prng *p, char tmp[SET_INT_BUF], const char **m,
                size_t *len)
{
    if (s->enc == SET_INTSET) {
        *len = util_ll2str(tmp, intset_random(s->is, p));
        *m = tmp;
        return;
    }
    struct dict_entry *de = dict_random(s->d, p);
    *m = de->key;
    *len = de->klen;
}

char *set_pop(struct set *s, struct prng *p, size_t *len)
{
    char tmp[SET_INT_BUF];
    const char *m;
    set_random(s, p, tmp, &m, len);
    char *copy = xmalloc(*len + 1);
    memcpy(copy, m, *len);
    copy[*len] = '\0';
    set_remove(s, copy, *len);
    return copy;
}

struct set *set_dup(const struct set *src)
{
    struct set *s = set_new(src->enc);
    struct set_iter it;
    const char *m;
    size_t len;
    set_iter_init(&it, (struct set *)src);
    while (set_iter_next(&it, &m, &len)) {
        if (s->enc == SET_INTSET) {
            int64_t v;
            intset_parse(m, len, &v);
            intset_add(&s->is, v);
        } else {
            dict_add(s->d, m, len, NULL);
        }
    }
    set_iter_close(&it);
    return s;
}

uint64_t set_digest(struct set *s, uint64_t seed)
{
    struct set_iter it;
    const char *m;
    size_t len;
    uint64_t acc = 0;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m, &len))
        acc ^= util_hash_seeded(m, len, seed);
    set_iter_close(&it);
    return acc;
}
