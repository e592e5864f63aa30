/* The sorted-set type's row of value operations (value.h), and its snapshot form:
 * u64 encoding; a listpack: u64 pairs, then member, u64 score bits ... in order; a skiplist:
 * its dict shape (size0, size1, rehash_idx, used0), u64 members, then member, score bits in
 * dict_iter order, so that zset_new_shaped/zset_restore_append rebuild the same table (the
 * skiplist's levels decide no reply: they are drawn from a fixed seed). */
#include "codec.h"
#include "util.h"
#include "value.h"
#include "zobj.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ZOBJ_RESTORE_SEED 0x736e6170ULL

static void snap_write(struct value_snap *w, void *obj)
{
    struct zobj *z = obj;

    value_put_u64(w->b, (uint64_t)z->enc);
    if (z->enc == ZOBJ_LISTPACK) {
        struct zobj_it it;
        const char *m;
        size_t len;
        double score;
        value_put_u64(w->b, zobj_len(z));
        for (zobj_it_rank(&it, z, 0, 0); zobj_it_get(&it, &m, &len, &score); zobj_it_next(&it)) {
            uint64_t bits;
            memcpy(&bits, &score, 8);
            value_put_str(w->b, m, len);
            value_put_u64(w->b, bits);
        }
        return;
    }
    struct dict_shape sh;
    struct dict_iter it;
    struct dict_entry *de;
    dict_get_shape(z->zs->dict, &sh);
    value_put_u64(w->b, sh.size0);
    value_put_u64(w->b, sh.size1);
    value_put_u64(w->b, (uint64_t)sh.rehash_idx);
    value_put_u64(w->b, sh.used0);
    value_put_u64(w->b, zobj_len(z));
    dict_iter_init(&it, z->zs->dict);
    while ((de = dict_iter_next(&it)) != NULL) {
        double score = ((struct zsl_node *)de->val)->score;
        uint64_t bits;
        memcpy(&bits, &score, 8);
        value_put_str(w->b, de->key, de->klen);
        value_put_u64(w->b, bits);
        value_snap_maybe_flush(w);
    }
    dict_iter_close(&it);
}

static double get_score(struct codec_reader *r)
{
    uint64_t bits = codec_read_u64(r);
    double d;
    memcpy(&d, &bits, 8);
    if (isnan(d))
        r->bad = 1;
    return d;
}

/* A listpack must come in (score, member) order, strictly: anything else is damage. */
static void *read_listpack(struct codec_reader *r)
{
    struct listpack *lp = listpack_new();
    const char *prev = NULL;
    size_t prevlen = 0;
    double prevscore = 0;
    uint64_t n = codec_read_u64(r);
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        size_t len;
        const char *m = value_get_str(r, &len);
        double score = get_score(r);
        if (r->bad)
            break;
        if (prev != NULL && (score < prevscore ||
                             (score == prevscore && zsl_bytes_cmp(prev, prevlen, m, len) >= 0))) {
            r->bad = 1;
            break;
        }
        unsigned char enc[8];
        listpack_score_encode(enc, score);
        listpack_append(&lp, m, len);
        listpack_append(&lp, enc, 8);
        prev = m;
        prevlen = len;
        prevscore = score;
    }
    return zobj_wrap(lp, NULL);
}

static void *read_skiplist(struct codec_reader *r)
{
    struct dict_shape sh;
    struct prng p;
    sh.size0 = codec_read_u64(r);
    sh.size1 = codec_read_u64(r);
    sh.rehash_idx = (int64_t)codec_read_u64(r);
    sh.used0 = codec_read_u64(r);
    struct zset *zs = r->bad ? NULL : zset_new_shaped(DICT_DEFAULT_SEED, &sh);
    if (zs == NULL) {
        r->bad = 1;
        return NULL;
    }
    prng_seed(&p, ZOBJ_RESTORE_SEED, 0);
    uint64_t n = codec_read_u64(r);
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        size_t len;
        const char *m = value_get_str(r, &len);
        double score = get_score(r);
        if (!r->bad && zset_restore_append(zs, m, len, score, &p) != 0)
            r->bad = 1;
    }
    if (!r->bad && dict_restore_done(zs->dict) != 0)
        r->bad = 1;
    return zobj_wrap(NULL, zs);
}

static void *snap_read(struct codec_reader *r)
{
    static value_body_reader *const readers[] = {[ZOBJ_LISTPACK] = read_listpack,
                                                  [ZOBJ_SKIPLIST] = read_skiplist};
    return value_snap_read_encoded(r, readers, sizeof readers / sizeof readers[0],
                                   &value_ops_zset);
}

static size_t v_len(const void *o) { return zobj_len(o); }
static void v_free(void *o) { zobj_free(o); }
static int v_free_step(void *o, size_t budget) { return zobj_free_step(o, budget); }
static void *v_dup(const void *o) { return zobj_dup(o); }
static size_t v_bytes(const void *o, size_t samples) { return zobj_bytes(o, samples); }
static const char *v_encoding(const void *o) { return zobj_encoding_name(o); }
static uint64_t v_digest(void *o, uint64_t seed) { return zobj_digest(o, seed); }

const struct value_ops value_ops_zset = {
    .type_name = "zset",
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
