/* The compact encoding of small aggregates (see listpack.h): framing, walking, edits and
 * the field/value and member/score pair helpers. Pure: no I/O. */
#include "listpack.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "util.h"

struct listpack {
    uint32_t used;  /* bytes of data in use */
    uint32_t count; /* entries */
    unsigned char data[];
};

#define VARINT_MAX 10 /* bytes of the longest LEB128 encoding of a 64-bit value */

static size_t varint_len(size_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Write V forwards (LEB128) at P; returns the bytes written. */
static size_t varint_put(unsigned char *p, size_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

static size_t varint_get(const unsigned char *p, size_t *v)
{
    size_t n = 0, out = 0;
    int shift = 0;
    do {
        out |= (size_t)(p[n] & 0x7f) << shift;
        shift += 7;
    } while (p[n++] & 0x80);
    *v = out;
    return n;
}

/* Write V backwards so that it ends just before END: its first (lowest) group is at
 * END - 1. Returns the bytes written (varint_len(V)). */
static size_t backlen_put(unsigned char *end, size_t v)
{
    unsigned char tmp[VARINT_MAX];
    size_t n = varint_put(tmp, v);
    for (size_t i = 0; i < n; i++)
        end[-1 - (long)i] = tmp[i];
    return n;
}

/* Read the back length that ends just before END; *N receives its own size. */
static size_t backlen_get(const unsigned char *end, size_t *n)
{
    size_t v = 0, i = 0;
    int shift = 0;
    do {
        v |= (size_t)(end[-1 - (long)i] & 0x7f) << shift;
        shift += 7;
    } while (end[-1 - (long)i++] & 0x80);
    *n = i;
    return v;
}

/* The bytes an entry of LEN bytes occupies: header, payload, back length. */
static size_t entry_size(size_t len)
{
    size_t body = varint_len(len) + len;
    return body + varint_len(body);
}

static size_t entry_size_at(const struct listpack *lp, size_t pos)
{
    size_t len;
    varint_get(lp->data + pos, &len);
    return entry_size(len);
}

/* Encode an entry of S at P (which has entry_size(LEN) bytes). */
static void entry_put(unsigned char *p, const void *s, size_t len)
{
    size_t h = varint_put(p, len);
    memcpy(p + h, s, len);
    backlen_put(p + h + len + varint_len(h + len), h + len);
}

struct listpack *listpack_new(void)
{
    struct listpack *lp = xmalloc(sizeof(*lp));
    lp->used = 0;
    lp->count = 0;
    return lp;
}

void listpack_free(struct listpack *lp)
{
    free(lp);
}

uint32_t listpack_count(const struct listpack *lp)
{
    return lp->count;
}

size_t listpack_bytes(const struct listpack *lp)
{
    return sizeof(*lp) + lp->used;
}

size_t listpack_entry_bytes(size_t len)
{
    return entry_size(len);
}

size_t listpack_first(const struct listpack *lp)
{
    return lp->used ? 0 : LISTPACK_NONE;
}

size_t listpack_last(const struct listpack *lp)
{
    if (!lp->used)
        return LISTPACK_NONE;
    size_t n;
    size_t body = backlen_get(lp->data + lp->used, &n);
    return lp->used - n - body;
}

size_t listpack_next(const struct listpack *lp, size_t pos)
{
    if (pos == LISTPACK_NONE)
        return LISTPACK_NONE;
    size_t next = pos + entry_size_at(lp, pos);
    return next < lp->used ? next : LISTPACK_NONE;
}

size_t listpack_prev(const struct listpack *lp, size_t pos)
{
    if (pos == 0 || pos == LISTPACK_NONE)
        return LISTPACK_NONE;
    size_t n;
    size_t body = backlen_get(lp->data + pos, &n);
    return pos - n - body;
}

size_t listpack_seek(const struct listpack *lp, long index)
{
    if (index < 0)
        index += (long)lp->count;
    if (index < 0 || index >= (long)lp->count)
        return LISTPACK_NONE;
    size_t pos;
    if (index <= (long)lp->count / 2) {
        pos = listpack_first(lp);
        while (index-- > 0)
            pos = listpack_next(lp, pos);
    } else {
        pos = listpack_last(lp);
        for (long i = (long)lp->count - 1; i > index; i--)
            pos = listpack_prev(lp, pos);
    }
    return pos;
}

const unsigned char *listpack_get(const struct listpack *lp, size_t pos, size_t *len)
{
    size_t h = varint_get(lp->data + pos, len);
    return lp->data + pos + h;
}

/* Make room for GROW more bytes (or release -GROW); returns the moved listpack. */
static struct listpack *resize(struct listpack *lp, long grow)
{
    size_t used = (size_t)((long)lp->used + grow);
    if (used > LISTPACK_MAX_BYTES)
        abort(); /* the keyspace converts long before; a listpack this size is a bug */
    return xrealloc(lp, sizeof(*lp) + used);
}

size_t listpack_insert(struct listpack **lpp, size_t pos, const void *s, size_t len)
{
    struct listpack *lp = *lpp;
    size_t size = entry_size(len);
    if (pos == LISTPACK_NONE)
        pos = lp->used;
    lp = resize(lp, (long)size);
    memmove(lp->data + pos + size, lp->data + pos, lp->used - pos);
    entry_put(lp->data + pos, s, len);
    lp->used += (uint32_t)size;
    lp->count++;
    *lpp = lp;
    return pos;
}

void listpack_append(struct listpack **lpp, const void *s, size_t len)
{
    listpack_insert(lpp, LISTPACK_NONE, s, len);
}

size_t listpack_replace(struct listpack **lpp, size_t pos, const void *s, size_t len)
{
    struct listpack *lp = *lpp;
    size_t old = entry_size_at(lp, pos), size = entry_size(len);
    size_t tail = pos + old;
    if (size > old)
        lp = resize(lp, (long)(size - old));
    memmove(lp->data + pos + size, lp->data + tail, lp->used - tail);
    entry_put(lp->data + pos, s, len);
    lp->used = (uint32_t)(lp->used - old + size);
    if (size < old)
        lp = resize(lp, 0);
    *lpp = lp;
    return pos;
}

size_t listpack_delete(struct listpack **lpp, size_t pos, uint32_t n)
{
    struct listpack *lp = *lpp;
    size_t end = pos;
    uint32_t removed = 0;
    while (removed < n && end < lp->used) {
        end += entry_size_at(lp, end);
        removed++;
    }
    memmove(lp->data + pos, lp->data + end, lp->used - end);
    lp->used -= (uint32_t)(end - pos);
    lp->count -= removed;
    lp = resize(lp, 0);
    *lpp = lp;
    return pos < lp->used ? pos : LISTPACK_NONE;
}

size_t listpack_find(const struct listpack *lp, size_t pos, const void *s, size_t len,
                     uint32_t skip)
{
    while (pos != LISTPACK_NONE && pos < lp->used) {
        size_t elen;
        const unsigned char *e = listpack_get(lp, pos, &elen);
        if (elen == len && memcmp(e, s, len) == 0)
            return pos;
        pos = listpack_next(lp, pos);
        for (uint32_t i = 0; i < skip && pos != LISTPACK_NONE; i++)
            pos = listpack_next(lp, pos);
    }
    return LISTPACK_NONE;
}

/* ---- pairs ---- */

size_t listpack_pair_find(const struct listpack *lp, const void *field, size_t len)
{
    return listpack_find(lp, listpack_first(lp), field, len, 1);
}

int listpack_pair_set(struct listpack **lpp, const void *field, size_t flen, const void *val,
                      size_t vlen)
{
    size_t pos = listpack_pair_find(*lpp, field, flen);
    if (pos != LISTPACK_NONE) {
        listpack_replace(lpp, listpack_next(*lpp, pos), val, vlen);
        return 0;
    }
    listpack_append(lpp, field, flen);
    listpack_append(lpp, val, vlen);
    return 1;
}

int listpack_pair_delete(struct listpack **lpp, const void *field, size_t len)
{
    size_t pos = listpack_pair_find(*lpp, field, len);
    if (pos == LISTPACK_NONE)
        return 0;
    listpack_delete(lpp, pos, 2);
    return 1;
}

void listpack_score_encode(unsigned char out[8], double score)
{
    uint64_t bits;
    memcpy(&bits, &score, 8);
    codec_put_u64(out, bits);
}

double listpack_score_decode(const unsigned char in[8])
{
    uint64_t bits = codec_get_u64(in);
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

double listpack_score_at(const struct listpack *lp, size_t member_pos)
{
    size_t len;
    const unsigned char *p = listpack_get(lp, listpack_next(lp, member_pos), &len);
    return len == 8 ? listpack_score_decode(p) : 0;
}

/* Byte-wise comparison as Redis's sdscmp: memcmp of the common prefix, then length. */
static int bytes_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

size_t listpack_score_insert(struct listpack **lpp, const void *member, size_t len,
                             double score)
{
    const struct listpack *lp = *lpp;
    size_t pos = listpack_first(lp);
    while (pos != LISTPACK_NONE) {
        double s = listpack_score_at(lp, pos);
        size_t mlen;
        const unsigned char *m = listpack_get(lp, pos, &mlen);
        if (s > score || (s == score && bytes_cmp(m, mlen, member, len) > 0))
            break;
        pos = listpack_next(lp, listpack_next(lp, pos));
    }
    unsigned char enc[8];
    listpack_score_encode(enc, score);
    pos = listpack_insert(lpp, pos, member, len);
    listpack_insert(lpp, listpack_next(*lpp, pos), enc, 8); /* NONE appends */
    return pos;
}

size_t listpack_score_find(const struct listpack *lp, const void *member, size_t len)
{
    return listpack_pair_find(lp, member, len);
}

size_t listpack_score_first_in_range(const struct listpack *lp, const struct zsl_range *r)
{
    for (size_t pos = listpack_first(lp); pos != LISTPACK_NONE;
         pos = listpack_next(lp, listpack_next(lp, pos))) {
        double s = listpack_score_at(lp, pos);
        if (zsl_score_in_range(s, r))
            return pos;
        if (r->maxex ? s >= r->max : s > r->max)
            break; /* ordered by score: nothing further can be in range */
    }
    return LISTPACK_NONE;
}

size_t listpack_score_last_in_range(const struct listpack *lp, const struct zsl_range *r)
{
    for (size_t pos = listpack_prev(lp, listpack_last(lp)); pos != LISTPACK_NONE;
         pos = listpack_prev(lp, listpack_prev(lp, pos))) {
        double s = listpack_score_at(lp, pos);
        if (zsl_score_in_range(s, r))
            return pos;
        if (r->minex ? s <= r->min : s < r->min)
            break;
    }
    return LISTPACK_NONE;
}

static int member_in_lex(const struct listpack *lp, size_t pos, const struct zsl_lex_range *r)
{
    size_t len;
    const unsigned char *m = listpack_get(lp, pos, &len);
    return zsl_lex_in_range((const char *)m, len, r);
}

size_t listpack_score_first_in_lex_range(const struct listpack *lp,
                                         const struct zsl_lex_range *r)
{
    for (size_t pos = listpack_first(lp); pos != LISTPACK_NONE;
         pos = listpack_next(lp, listpack_next(lp, pos)))
        if (member_in_lex(lp, pos, r))
            return pos;
    return LISTPACK_NONE;
}

size_t listpack_score_last_in_lex_range(const struct listpack *lp,
                                        const struct zsl_lex_range *r)
{
    for (size_t pos = listpack_prev(lp, listpack_last(lp)); pos != LISTPACK_NONE;
         pos = listpack_prev(lp, listpack_prev(lp, pos)))
        if (member_in_lex(lp, pos, r))
            return pos;
    return LISTPACK_NONE;
}

size_t listpack_random_pair(const struct listpack *lp, struct prng *p)
{
    if (lp->count < 2)
        return LISTPACK_NONE;
    return listpack_seek(lp, 2 * (long)prng_below(p, lp->count / 2));
}
