/* The map from enum kv_type to each type's operations (value.h). */
#include "value.h"
#include "codec.h"
#include "kv.h"
#include "util.h"

/* One line per type, kept apart so that adding a type touches only its own line. */
static const struct value_ops *const rows[] = {
    [KV_STRING] = NULL,

    [KV_HASH] = &value_ops_hash,

    [KV_SET] = NULL,

    [KV_ZSET] = &value_ops_zset,

    [KV_LIST] = NULL,
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

void value_snap_maybe_flush(struct value_snap *w)
{
    if (w->flush != NULL && w->b->len >= VALUE_SNAP_FLUSH)
        w->flush(w);
}
