/* The hash type's row of value operations (value.h), and its snapshot form:
 * u64 encoding; a listpack: u64 pairs, then field, value ... in order; a hashtable: its dict
 * shape (size0, size1, rehash_idx, used0), u64 pairs, then the pairs in dict_iter order, so
 * that dict_new_shaped/dict_restore_append rebuild the same table. */
#include "codec.h"
#include "hash.h"
#include "util.h"
#include "value.h"

#include <stdlib.h>
#include <string.h>

static void snap_write(struct value_snap *w, void *obj)
{
    struct hash *h = obj;
    struct hash_iter it;
    const char *f, *v;
    size_t fl, vl;

    value_put_u64(w->b, (uint64_t)h->enc);
    if (h->enc == HASH_HASHTABLE)
        value_put_dict_shape(w->b, h->d);
    value_put_u64(w->b, hash_len(h));
    hash_iter_init(&it, h);
    while (hash_iter_next(&it, &f, &fl, &v, &vl)) {
        value_put_str(w->b, f, fl);
        value_put_str(w->b, v, vl);
        value_snap_maybe_flush(w);
    }
    hash_iter_close(&it);
}

static void *read_listpack(struct codec_reader *r)
{
    struct hash *h = hash_new();
    size_t fl, vl;
    uint64_t n = codec_read_u64(r);
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        const char *f = value_get_str(r, &fl);
        const char *v = value_get_str(r, &vl);
        if (!r->bad) {
            listpack_append(&h->lp, f, fl);
            listpack_append(&h->lp, v, vl);
        }
    }
    return h;
}

static void *read_hashtable(struct codec_reader *r)
{
    size_t fl, vl;
    struct dict *d = value_get_shaped_dict(r);
    if (d == NULL)
        return NULL;
    struct hash *h = hash_new_dict(d);
    uint64_t n = codec_read_u64(r);
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        const char *f = value_get_str(r, &fl);
        const char *v = value_get_str(r, &vl);
        if (r->bad)
            break;
        struct hash_val *hv = xmalloc(sizeof *hv + vl + 1);
        hv->len = (uint32_t)vl;
        memcpy(hv->data, v, vl);
        hv->data[vl] = '\0';
        if (dict_restore_append(d, f, fl, hv) == NULL) {
            free(hv);
            r->bad = 1;
        }
    }
    if (!r->bad && dict_restore_done(d) != 0)
        r->bad = 1;
    return h;
}

static void *snap_read(struct codec_reader *r)
{
    static value_body_reader *const readers[] = {[HASH_LISTPACK] = read_listpack,
                                                  [HASH_HASHTABLE] = read_hashtable};
    return value_snap_read_encoded(r, readers, sizeof readers / sizeof readers[0],
                                   &value_ops_hash);
}

static size_t v_len(const void *o) { return hash_len(o); }
static void v_free(void *o) { hash_free(o); }
static int v_free_step(void *o, size_t budget) { return hash_free_step(o, budget); }
static void *v_dup(const void *o) { return hash_dup(o); }
static size_t v_bytes(const void *o, size_t samples) { return hash_bytes(o, samples); }
static const char *v_encoding(const void *o) { return hash_encoding_name(o); }
static uint64_t v_digest(void *o, uint64_t seed) { return hash_digest(o, seed); }

const struct value_ops value_ops_hash = {
    .type_name = "hash",
    .len = v_len,
    .free = v_free,
    .free_step = v_free_step,
    .dup = v_dup,
    .bytes = v_bytes,
    .encoding = v_encoding,
    .digest = v_digest,
    .snap_write = snap_write,
    .snap_read = snap_read,
};
