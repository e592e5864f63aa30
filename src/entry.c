/* Raft log entries: a 16-byte little-endian header, then COUNT records of length-prefixed,
 * NUL-terminated arguments, padded to 8 bytes. Decoding is in place and never reads past
 * the buffer, however corrupt it is. Pure: no I/O, no clock. */
#include <limits.h>
#include <string.h>
#include "codec.h"
#include "entry.h"

void entry_builder_init(struct entry_builder *eb, enum entry_kind kind)
{
    entry_builder_init_sized(eb, kind, 256);
}

void entry_builder_init_sized(struct entry_builder *eb, enum entry_kind kind, size_t cap)
{
    buf_init(&eb->b);
    eb->count = 0;
    char *h = buf_reserve(&eb->b, cap > ENTRY_HEADER_SIZE ? cap : ENTRY_HEADER_SIZE);
    memset(h, 0, ENTRY_HEADER_SIZE);
    codec_put_u16(h, ENTRY_MAGIC);
    codec_put_u16(h + 2, (uint16_t)kind);
    eb->b.len = ENTRY_HEADER_SIZE;
}

void entry_builder_close(struct entry_builder *eb)
{
    buf_close(&eb->b);
    eb->count = 0;
}

void entry_builder_add(struct entry_builder *eb, int argc, char *const *argv, const size_t *len)
{
    if (argc < 1)
        return; /* would read back as corrupt and stop the batch on every node */
    size_t need = 4;
    for (int i = 0; i < argc; i++)
        need += 4 + len[i] + 1;
    char *p = buf_reserve(&eb->b, need);
    codec_put_u32(p, (uint32_t)argc);
    p += 4;
    for (int i = 0; i < argc; i++) {
        codec_put_u32(p, (uint32_t)len[i]);
        memcpy(p + 4, argv[i], len[i]);
        p[4 + len[i]] = '\0';
        p += 4 + len[i] + 1;
    }
    eb->b.len += need;
    eb->count++;
}

void *entry_builder_finish(struct entry_builder *eb, int64_t clock_ms, size_t *len)
{
    size_t pad = (8 - eb->b.len % 8) % 8;
    if (pad > 0) {
        memset(buf_reserve(&eb->b, pad), 0, pad);
        eb->b.len += pad;
    }
    codec_put_u32(eb->b.data + 4, eb->count);
    codec_put_u64(eb->b.data + 8, (uint64_t)clock_ms);
    eb->count = 0;
    /* The entry may stay in memory for long (raft's log): no more than 1/8 of slack. A
     * shrinking realloc splits the block in place. */
    if (eb->b.cap > eb->b.len + eb->b.len / 8) {
        eb->b.data = xrealloc(eb->b.data, eb->b.len);
        eb->b.cap = eb->b.len;
    }
    return buf_detach(&eb->b, len);
}

int entry_reader_init(struct entry_reader *er, const void *buf, size_t len)
{
    const char *p = buf;
    memset(er, 0, sizeof(*er));
    if (buf == NULL || len < ENTRY_HEADER_SIZE || len % 8 != 0)
        return -1;
    er->h.magic = codec_get_u16(p);
    er->h.kind = codec_get_u16(p + 2);
    er->h.count = codec_get_u32(p + 4);
    er->h.clock_ms = (int64_t)codec_get_u64(p + 8);
    if (er->h.magic != ENTRY_MAGIC || (er->h.kind != ENTRY_COMMANDS && er->h.kind != ENTRY_NODE))
        return -1;
    /* every record takes at least 4 bytes */
    if (er->h.count > (len - ENTRY_HEADER_SIZE) / 4)
        return -1;
    er->p = p + ENTRY_HEADER_SIZE;
    er->end = p + len;
    er->left = er->h.count;
    return 0;
}

int entry_reader_peek_argc(const struct entry_reader *er)
{
    if (er->left == 0)
        return 0;
    if (er->end - er->p < 4)
        return -1;
    uint32_t argc = codec_get_u32(er->p);
    /* a record has at least one argument, and each takes at least 5 bytes (length, NUL) */
    if (argc == 0 || argc > INT_MAX || argc > (uint64_t)(er->end - er->p - 4) / 5)
        return -1;
    return (int)argc;
}

int entry_reader_next(struct entry_reader *er, int max, char **argv, size_t *len)
{
    int argc = entry_reader_peek_argc(er);
    if (argc <= 0)
        return argc;
    const char *p = er->p + 4;
    for (int i = 0; i < argc; i++) {
        if (er->end - p < 5)
            return -1;
        uint32_t n = codec_get_u32(p);
        if (n > (size_t)(er->end - p - 5) || p[4 + n] != '\0')
            return -1;
        if (i < max) {
            argv[i] = (char *)(p + 4);
            len[i] = n;
        }
        p += 4 + (size_t)n + 1;
    }
    if (argc <= max) {
        er->p = p;
        er->left--;
    }
    return argc;
}
