/* The map from enum kv_type to each type's operations (value.h). */
#include "value.h"
#include "codec.h"
#include "dict.h"
#include "kv.h"
#include "util.h"

/* One line per type, kept apart so that adding a type touches only its own line. */
static const struct value_ops *const rows[] = {
    [KV_STRING] = NULL,

    [KV_HASH] = &value_ops_hash,

    [KV_SET] = &value_ops_set,

    [KV_ZSET] = &value_ops_zset,

    [KV_LIST] = &value_ops_list,
};

const struct value_ops *value_ops(int type)
{
    if (type < 0 || (size_t)type >= sizeof rows / sizeof rows[0])
        return NULL;
    return rows[type];
}

void value_put_u64(struct buf *b, uint64_t v)
{
    codec_put_u64(buf_reserve(b, 8), v);
    b->len += 8;
}

void value_put_str(struct buf *b, const char *s, size_t len)
{
    value_put_u64(b, len);
    buf_append(b, s, len);
}

const char *value_get_str(struct codec_reader *r, size_t *len)
{
    uint64_t n = codec_read_u64(r);
    const char *s = codec_read_bytes(r, n);
    *len = s != NULL ? (size_t)n : 0;
    return s != NULL ? s : "";
}

void *value_snap_read_encoded(struct codec_reader *r, value_body_reader *const *readers,
                              size_t n, const struct value_ops *ops)
{
    uint64_t enc = codec_read_u64(r);
    void *obj = NULL;

    if (!r->bad && enc < n)
        obj = readers[enc](r);
    else
        r->bad = 1;
    if (obj != NULL && (r->bad || ops->len(obj) == 0)) {
        ops->free(obj);
        r->bad = 1;
        return NULL;
    }
    return obj;
}

void value_snap_maybe_flush(struct value_snap *w)
{
    if (w->flush != NULL && w->b->len >= VALUE_SNAP_FLUSH)
        w->flush(w);
}

void value_put_dict_shape(struct buf *b, const struct dict *d)
{
    struct dict_shape sh;
    dict_get_shape(d, &sh);
    value_put_u64(b, sh.size0);
    value_put_u64(b, sh.size1);
    value_put_u64(b, (uint64_t)sh.rehash_idx);
    value_put_u64(b, sh.used0);
}

struct dict *value_get_shaped_dict(struct codec_reader *r)
{
    struct dict_shape sh;
    sh.size0 = codec_read_u64(r);
    sh.size1 = codec_read_u64(r);
    sh.rehash_idx = (int64_t)codec_read_u64(r);
    sh.used0 = codec_read_u64(r);
    struct dict *d = r->bad ? NULL : dict_new_shaped(DICT_DEFAULT_SEED, &sh);
    if (d == NULL)
        r->bad = 1;
    return d;
}
