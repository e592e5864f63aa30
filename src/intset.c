/* The sorted integer set (see intset.h): a header and a packed array of native-endian
 * integers of one width. In memory only; a snapshot writes the elements, not this layout. */
#include "intset.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct intset {
    uint32_t width; /* bytes per element: 2, 4 or 8 */
    uint32_t len;
    unsigned char data[];
};

static int width_for(int64_t v)
{
    if (v >= INT16_MIN && v <= INT16_MAX)
        return INTSET_WIDTH16;
    if (v >= INT32_MIN && v <= INT32_MAX)
        return INTSET_WIDTH32;
    return INTSET_WIDTH64;
}

static int64_t get_at(const unsigned char *data, int width, uint32_t i)
{
    if (width == INTSET_WIDTH16) {
        int16_t v;
        memcpy(&v, data + (size_t)i * 2, 2);
        return v;
    }
    if (width == INTSET_WIDTH32) {
        int32_t v;
        memcpy(&v, data + (size_t)i * 4, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, data + (size_t)i * 8, 8);
    return v;
}

static void set_at(unsigned char *data, int width, uint32_t i, int64_t v)
{
    if (width == INTSET_WIDTH16) {
        int16_t w = (int16_t)v;
        memcpy(data + (size_t)i * 2, &w, 2);
    } else if (width == INTSET_WIDTH32) {
        int32_t w = (int32_t)v;
        memcpy(data + (size_t)i * 4, &w, 4);
    } else {
        memcpy(data + (size_t)i * 8, &v, 8);
    }
}

static struct intset *resize(struct intset *is, uint32_t len)
{
    return xrealloc(is, sizeof(*is) + (size_t)len * is->width);
}

struct intset *intset_new(void)
{
    struct intset *is = xmalloc(sizeof(*is));
    is->width = INTSET_WIDTH16;
    is->len = 0;
    return is;
}

void intset_free(struct intset *is)
{
    free(is);
}

/* Binary search: 1 and *POS = index when found, else 0 and *POS = where V would go. */
static int search(const struct intset *is, int64_t v, uint32_t *pos)
{
    uint32_t lo = 0, hi = is->len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t cur = get_at(is->data, is->width, mid);
        if (cur == v) {
            *pos = mid;
            return 1;
        }
        if (cur < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return 0;
}

/* Rewrite every element at WIDTH and add V, which needs that width, so it is either
 * smaller than every element (negative) or larger than every element. */
static struct intset *upgrade_and_add(struct intset *is, int width, int64_t v)
{
    int old = (int)is->width;
    uint32_t len = is->len;
    int prepend = v < 0;
    is->width = (uint32_t)width;
    is = resize(is, len + 1);
    /* back to front, so that no element is overwritten before it is read */
    for (uint32_t i = len; i-- > 0;)
        set_at(is->data, width, i + (uint32_t)prepend, get_at(is->data, old, i));
    set_at(is->data, width, prepend ? 0 : len, v);
    is->len = len + 1;
    return is;
}

int intset_add(struct intset **isp, int64_t v)
{
    struct intset *is = *isp;
    int width = width_for(v);
    if (width > (int)is->width) {
        *isp = upgrade_and_add(is, width, v);
        return 1;
    }
    uint32_t pos;
    if (search(is, v, &pos))
        return 0;
    is = resize(is, is->len + 1);
    memmove(is->data + (size_t)(pos + 1) * is->width, is->data + (size_t)pos * is->width,
            (size_t)(is->len - pos) * is->width);
    set_at(is->data, (int)is->width, pos, v);
    is->len++;
    *isp = is;
    return 1;
}

int intset_remove(struct intset **isp, int64_t v)
{
    struct intset *is = *isp;
    uint32_t pos;
    if (width_for(v) > (int)is->width || !search(is, v, &pos))
        return 0;
    memmove(is->data + (size_t)pos * is->width, is->data + (size_t)(pos + 1) * is->width,
            (size_t)(is->len - pos - 1) * is->width);
    is->len--;
    *isp = resize(is, is->len);
    return 1;
}

int intset_find(const struct intset *is, int64_t v)
{
    uint32_t pos;
    return width_for(v) <= (int)is->width && search(is, v, &pos);
}

uint32_t intset_len(const struct intset *is)
{
    return is->len;
}

int64_t intset_get(const struct intset *is, uint32_t i)
{
    return get_at(is->data, (int)is->width, i);
}

int64_t intset_random(const struct intset *is, struct prng *p)
{
    return intset_get(is, (uint32_t)prng_below(p, is->len));
}

int intset_width(const struct intset *is)
{
    return (int)is->width;
}

size_t intset_bytes(const struct intset *is)
{
    return sizeof(*is) + (size_t)is->len * is->width;
}

int intset_parse(const char *s, size_t len, int64_t *out)
{
    long long v;
    if (util_parse_ll(s, len, &v) != 0)
        return 0;
    *out = v;
    return 1;
}
