/* The one little-endian byte codec: fixed-width unsigned integers written to and read from
 * byte pointers, and a bounds-checked cursor for decoding untrusted bytes. Used by the log
 * entry format (entry.c), the snapshot format (fsm.c) and the digest (kv.c), so that every
 * on-disk and on-wire integer is encoded one way. Pure and header-only: no I/O, no
 * allocation, no dependence on the host's byte order or alignment. */
#ifndef CONCORDKV_CODEC_H
#define CONCORDKV_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* ---- writers: P must have room for the width; no alignment needed ---- */

static inline void codec_put_u8(void *p, uint8_t v)
{
    *(unsigned char *)p = v;
}

/* Write the low BYTES bytes of V, least significant first. */
static inline void codec_put_le(void *p, uint64_t v, int bytes)
{
    unsigned char *q = p;
    for (int i = 0; i < bytes; i++)
        q[i] = (unsigned char)(v >> (8 * i));
}

static inline void codec_put_u16(void *p, uint16_t v) { codec_put_le(p, v, 2); }
static inline void codec_put_u32(void *p, uint32_t v) { codec_put_le(p, v, 4); }
static inline void codec_put_u64(void *p, uint64_t v) { codec_put_le(p, v, 8); }

/* ---- readers: P must hold the width (unchecked; see struct codec_reader) ---- */

static inline uint8_t codec_get_u8(const void *p)
{
    return *(const unsigned char *)p;
}

/* Read BYTES bytes, least significant first. */
static inline uint64_t codec_get_le(const void *p, int bytes)
{
    const unsigned char *q = p;
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)q[i] << (8 * i);
    return v;
}

static inline uint16_t codec_get_u16(const void *p) { return (uint16_t)codec_get_le(p, 2); }
static inline uint32_t codec_get_u32(const void *p) { return (uint32_t)codec_get_le(p, 4); }
static inline uint64_t codec_get_u64(const void *p) { return codec_get_le(p, 8); }

/* ---- a decoding cursor that never reads past its end ----
 * Every read checks the bytes left; a short read returns 0 (or NULL), consumes nothing and
 * sets BAD, which stays set. Callers decode a whole structure and check BAD once. */
struct codec_reader {
    const unsigned char *p;   /* next byte */
    const unsigned char *end; /* one past the last byte */
    int bad;                  /* set by the first read that did not fit */
};

static inline void codec_reader_init(struct codec_reader *r, const void *buf, size_t len)
{
    r->p = buf;
    r->end = r->p + len;
    r->bad = 0;
}

/* Bytes not yet read. */
static inline size_t codec_reader_left(const struct codec_reader *r)
{
    return (size_t)(r->end - r->p);
}

/* N raw bytes (a pointer into the buffer), or NULL (BAD set) when fewer are left. */
static inline const void *codec_read_bytes(struct codec_reader *r, uint64_t n)
{
    if (r->bad || n > codec_reader_left(r)) {
        r->bad = 1;
        return NULL;
    }
    const void *s = r->p;
    r->p += n;
    return s;
}

static inline uint64_t codec_read_le(struct codec_reader *r, int bytes)
{
    const void *p = codec_read_bytes(r, (uint64_t)bytes);
    return p != NULL ? codec_get_le(p, bytes) : 0;
}

static inline uint8_t codec_read_u8(struct codec_reader *r) { return (uint8_t)codec_read_le(r, 1); }
static inline uint16_t codec_read_u16(struct codec_reader *r) { return (uint16_t)codec_read_le(r, 2); }
static inline uint32_t codec_read_u32(struct codec_reader *r) { return (uint32_t)codec_read_le(r, 4); }
static inline uint64_t codec_read_u64(struct codec_reader *r) { return codec_read_le(r, 8); }

#endif
