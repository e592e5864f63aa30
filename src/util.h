/* Small helpers shared by every module: allocation that aborts on OOM, growable byte
 * buffers, clocks, strict number parsing, glob matching, hashing. No I/O here. */
#ifndef CONCORDKV_UTIL_H
#define CONCORDKV_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

/* Allocation wrappers: they never return NULL; on out-of-memory they print a message and
 * abort. The caller owns the result and releases it with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* The heap bytes block P takes: malloc's usable size plus its chunk header; 0 for NULL.
 * For MEMORY USAGE's estimates, which count what the allocator really holds. */
size_t util_alloc_bytes(const void *p);
/* Room for element N of the array P of SIZE-byte elements whose capacity is *CAP: P as it is
 * when N < *CAP, else reallocated to twice the capacity (16 at first; *CAP updated). The
 * caller owns the result, which replaces P. */
void *util_grow(void *p, int n, int *cap, size_t size);
char *xstrdup(const char *s);
/* Copy LEN bytes of P into a new NUL-terminated allocation of LEN + 1 bytes. */
char *xmemdup(const void *p, size_t len);

/* A growable byte buffer. Embedded: buf_init/buf_close; data is owned by the buffer. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
    /* The protocol the reply_*() helpers of resp.h write into this buffer (RESP2 when 0,
     * resp.h's RESP_*); bytes appended directly are not affected. buf_init sets 0. */
    int resp;
};
void buf_init(struct buf *b);
void buf_close(struct buf *b);
/* Make room for N more bytes; returns a pointer to the first free byte. */
char *buf_reserve(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Drop the first N bytes (all of them when N >= len). */
void buf_consume(struct buf *b, size_t n);
/* Give the bytes to the caller (who frees them) and leave the buffer empty. */
char *buf_detach(struct buf *b, size_t *len);

/* Wall-clock time in milliseconds / microseconds since the epoch. */
int64_t util_now_ms(void);
int64_t util_now_us(void);
/* Monotonic clock in microseconds, for durations and deadlines. */
int64_t util_mono_us(void);

/* Strict decimal parsing as Redis does it: no spaces, no '+', no leading zeros, whole
 * string, no overflow. Return 0 on success, -1 otherwise. */
int util_parse_ll(const char *s, size_t len, long long *out);
/* Format V in decimal into BUF (at least 21 bytes), NUL-terminated; returns the length. */
size_t util_ll2str(char *buf, long long v);

/* Floats that apply computes (INCRBYFLOAT today; HINCRBYFLOAT, ZINCRBY, ZADD INCR later)
 * are IEEE binary64 doubles, parsed and printed by these two, so that every node computes
 * and stores the same bytes whatever its architecture (see fsm.h). */
#define UTIL_DOUBLE_MAX_CHARS 5120 /* longest accepted input, Redis's MAX_LONG_DOUBLE_CHARS */
/* Parse S (LEN bytes) as a double as Redis's string2d does: the whole string, no leading
 * space, not NaN, "inf" accepted; a number too small to be anything but zero is refused.
 * Returns 0, or -1 when malformed, or UTIL_DOUBLE_OVERFLOW when S is a number too large for
 * a double (*OUT is then the infinity of its sign; Redis's string2d refuses it, INCRBYFLOAT
 * reports an infinite result). */
#define UTIL_DOUBLE_OVERFLOW (-2)
int util_parse_double(const char *s, size_t len, double *out);
/* Format the finite V in positional notation (no exponent: "5200", "0.5", "1" and 300
 * zeros), with the fewest significant digits that read back as exactly V ("10.6", not
 * "10.59999999999999964"; 0.1 + 0.2 is "0.30000000000000004"), and -0 as "0". Depends
 * only on the C library's correctly rounded printf/strtod of doubles, never on long
 * double. BUF holds at least UTIL_D2STR_MAX bytes. Returns the length, or 0 when V is not
 * finite or CAP is too small. */
#define UTIL_D2STR_MAX 360
size_t util_d2str_human(char *buf, size_t cap, double v);
/* Parse a size with optional k/kb/m/mb/g/gb suffix (case-insensitive). 0 or -1. */
int util_parse_memory(const char *s, long long *out);

/* Glob-style match (Redis's stringmatchlen): * ? [abc] [^a] [a-z] and \ escapes. */
int util_glob_match(const char *pat, size_t plen, const char *str, size_t slen, int nocase);

/* A fast 64-bit hash of LEN bytes, with the process-wide seed set by util_hash_seed. */
uint64_t util_hash(const void *data, size_t len);
void util_hash_seed(uint64_t seed);

/* Redis Cluster's hash slot of a key: CRC16 of the key or of its {hashtag}, mod 16384. */
unsigned util_keyslot(const char *key, size_t len);

/* Parse a strict IPv4 "a.b.c.d:port" (decimal octets 0-255 and port 1-65535, no signs,
 * spaces or leading zeros) and write its canonical form into CANON (at least 22 bytes) if
 * not NULL. Returns 0, or -1 when malformed. */
int util_parse_addr(const char *s, char *canon, size_t len);
/* Parse S exactly as util_parse_addr does and split it: IP receives the canonical dotted
 * quad, *PORT the port. Returns 0, or -1 when malformed (IP is then "" and *PORT 0). Every
 * module that needs the parts of an ip:port uses this one. */
#define UTIL_IP_MAX 16 /* "255.255.255.255" and its NUL */
int util_split_addr(const char *s, char ip[UTIL_IP_MAX], int *port);

/* Case-insensitive comparison of a counted string with a C string. */
int util_eq_nocase(const char *s, size_t len, const char *cstr);

/* The same hash with an explicit seed: stable across processes (DEBUG DIGEST uses it). */
uint64_t util_hash_seeded(const void *data, size_t len, uint64_t seed);

#endif
