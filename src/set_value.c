/* The set type's row of value operations (value.h), and its snapshot form: u64 encoding;
 * an intset: u64 count, then each member as a u64 (two's complement) in ascending order; a
 * hashtable: its dict shape (size0, size1, rehash_idx, used0), u64 count, then the members
 * in dict_iter order, so that dict_new_shaped/dict_restore_append rebuild the same table
 * (SMEMBERS, SSCAN, SPOP and SRANDMEMBER of a restored node match the leader's). */
#include "codec.h"
#include "set.h"
#include "util.h"
#include "value.h"

#include <stdlib.h>
#include <string.h>

static void snap_write(struct value_snap *w, void *obj)
{
    struct set *s = obj;

    value_put_u64(w->b, (uint64_t)s->enc);
    if (s->enc == SET_INTSET) {
        uint32_t n = intset_len(s->is);
        value_put_u64(w->b, n);
        for (uint32_t i = 0; i < n; i++)
            value_put_u64(w->b, (uint64_t)intset_get(s->is, i));
        return;
    }
    struct set_iter it;
    const char *m;
    size_t len;
    value_put_dict_shape(w->b, s->d);
    value_put_u64(w->b, set_len(s));
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m, &len)) {
        value_put_str(w->b, m, len);
        value_snap_maybe_flush(w);
    }
    set_iter_close(&it);
}

/* Members must come strictly ascending: anything else is a damaged snapshot. */
static void *read_intset(struct codec_reader *r)
{
    struct set *s = set_new(SET_INTSET);
    uint64_t n = codec_read_u64(r);
    int64_t prev = 0;
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        int64_t v = (int64_t)codec_read_u64(r);
        if (r->bad || (i > 0 && v <= prev)) {
            r->bad = 1;
            break;
        }
        intset_add(&s->is, v);
        prev = v;
    }
    return s;
}

static void *read_hashtable(struct codec_reader *r)
{
    size_t len;
    struct dict *d = value_get_shaped_dict(r);
    if (d == NULL)
        return NULL;
    struct set *s = set_new_dict(d);
    uint64_t n = codec_read_u64(r);
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        const char *m = value_get_str(r, &len);
        if (!r->bad && dict_restore_append(d, m, len, NULL) == NULL)
            r->bad = 1;
    }
    if (!r->bad && dict_restore_done(d) != 0)
        r->bad = 1;
    return s;
}

static void *snap_read(struct codec_reader *r)
{
    static value_body_reader *const readers[] = {[SET_INTSET] = read_intset,
                                                  [SET_HASHTABLE] = read_hashtable};
    return value_snap_read_encoded(r, readers, sizeof readers / sizeof readers[0],
                                   &value_ops_set);
}

static size_t v_len(const void *o) { return set_len(o); }
static void v_free(void *o) { set_free(o); }
static int v_free_step(void *o, size_t budget) { return set_free_step(o, budget); }
static void *v_dup(const void *o) { return set_dup(o); }
static size_t v_bytes(const void *o, size_t samples) { return set_bytes(o, samples); }
static const char *v_encoding(const void *o) { return set_encoding_name(o); }
static uint64_t v_digest(void *o, uint64_t seed) { return set_digest(o, seed); }

const struct value_ops value_ops_set = {
    .type_name = "set",
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
