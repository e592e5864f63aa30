/* Small helpers shared by every module. Nothing here does I/O beyond reading clocks. */
#include "util.h"

#include <malloc.h>
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void oom(size_t n)
{
    fprintf(stderr, "concordkv: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n);
    return q;
}

size_t util_alloc_bytes(const void *p)
{
    return p ? malloc_usable_size((void *)p) + sizeof(size_t) : 0;
}

void *util_grow(void *p, int n, int *cap, size_t size)
{
    if (n < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 16;
    return xrealloc(p, size * (size_t)*cap);
}

char *xstrdup(const char *s)
{
    return xmemdup(s, strlen(s));
}

char *xmemdup(const void *p, size_t len)
{
    char *q = xmalloc(len + 1);
    if (len)
        memcpy(q, p, len);
    q[len] = '\0';
    return q;
}

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->resp = 0;
}

void buf_close(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

char *buf_reserve(struct buf *b, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len < n)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    return b->data + b->len;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    memcpy(buf_reserve(b, n), p, n);
    b->len += n;
}

void buf_append_str(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char *dst = buf_reserve(b, 128);
    int n = vsnprintf(dst, b->cap - b->len, fmt, ap);
    if (n >= 0 && (size_t)n >= b->cap - b->len) {
        dst = buf_reserve(b, (size_t)n + 1);
        n = vsnprintf(dst, b->cap - b->len, fmt, ap2);
    }
    va_end(ap2);
    if (n > 0)
        b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *p = b->data ? b->data : xmalloc(1);
    if (len)
        *len = b->len;
    buf_init(b);
    return p;
}

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t util_now_ms(void) { return clock_us(CLOCK_REALTIME) / 1000; }
int64_t util_now_us(void) { return clock_us(CLOCK_REALTIME); }
int64_t util_mono_us(void) { return clock_us(CLOCK_MONOTONIC); }

int util_parse_ll(const char *s, size_t len, long long *out)
{
    const char *p = s;
    size_t plen = 0;
    int negative = 0;
    unsigned long long v;

    if (len == 0 || len > 20)
        return -1;
    if (len == 1 && p[0] == '0') {
        *out = 0;
        return 0;
    }
    if (p[0] == '-') {
        negative = 1;
        p++;
        plen++;
        if (plen == len)
            return -1;
    }
    if (p[0] >= '1' && p[0] <= '9') {
        v = (unsigned long long)(p[0] - '0');
        p++;
        plen++;
    } else {
        return -1;
    }
    while (plen < len && p[0] >= '0' && p[0] <= '9') {
        if (v > ULLONG_MAX / 10)
            return -1;
        v *= 10;
        if (v > ULLONG_MAX - (unsigned long long)(p[0] - '0'))
            return -1;
        v += (unsigned long long)(p[0] - '0');
        p++;
        plen++;
    }
    if (plen < len)
        return -1;
    if (negative) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return -1;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX)
            return -1;
        *out = (long long)v;
    }
    return 0;
}

/* Deterministic floats need IEEE binary64 arithmetic evaluated at its own precision. */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "apply needs FLT_EVAL_METHOD 0 (IEEE double evaluated as double): x86-64 SSE2, aarch64"
#endif

int util_parse_double(const char *s, size_t len, double *out)
{
    char tmp[UTIL_DOUBLE_MAX_CHARS];
    char *end;

    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (isspace((unsigned char)tmp[0]))
        return -1;
    errno = 0;
    double v = strtod(tmp, &end);
    if (*end != '\0' || (errno == ERANGE && v == 0) || isnan(v))
        return -1;
    *out = v;
    return errno == ERANGE && isinf(v) ? UTIL_DOUBLE_OVERFLOW : 0;
}

/* The shortest decimal digits that read back (strtod, correctly rounded) as the finite,
 * non-zero |V|: DIGITS receives 1 to 17 digits, the value is 0.DIGITS times 10^(*EXP10 + 1),
 * i.e. D.DDD x 10^*EXP10. Returns the number of digits. */
static int shortest_digits(double v, char digits[18], int *exp10)
{
    char tmp[40];
    int p;
    for (p = 1; p < 17; p++) {
        snprintf(tmp, sizeof(tmp), "%.*e", p - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    if (p == 17)
        snprintf(tmp, sizeof(tmp), "%.16e", v); /* 17 significant digits always round-trip */
    /* tmp is "D[.DDD]e[+-]XX" */
    int n = 0;
    const char *q = tmp;
    for (; *q != 'e'; q++)
        if (*q >= '0' && *q <= '9')
            digits[n++] = *q;
    *exp10 = atoi(q + 1);
    while (n > 1 && digits[n - 1] == '0') /* %.*e may pad, e.g. 1e+20 at p = 1 is exact */
        n--;
    digits[n] = '\0';
    return n;
}

size_t util_d2str_human(char *buf, size_t cap, double v)
{
    char digits[18];
    int e, n, len = 0;

    if (cap < UTIL_D2STR_MAX || !isfinite(v))
        return 0;
    if (v == 0) { /* -0 prints as 0, as Redis's trimming does */
        memcpy(buf, "0", 2);
        return 1;
    }
    if (v < 0) {
        buf[len++] = '-';
        v = -v;
    }
    n = shortest_digits(v, digits, &e);
    if (e < 0) { /* 0.000DDD */
        buf[len++] = '0';
        buf[len++] = '.';
        for (int i = 0; i < -e - 1; i++)
            buf[len++] = '0';
        memcpy(buf + len, digits, (size_t)n);
        len += n;
    } else if (e >= n - 1) { /* DDD000 */
        memcpy(buf + len, digits, (size_t)n);
        len += n;
        for (int i = 0; i < e - (n - 1); i++)
            buf[len++] = '0';
    } else { /* DD.DD */
        memcpy(buf + len, digits, (size_t)e + 1);
        len += e + 1;
        buf[len++] = '.';
        memcpy(buf + len, digits + e + 1, (size_t)(n - e - 1));
        len += n - e - 1;
    }
    buf[len] = '\0';
    return (size_t)len;
}

size_t util_ll2str(char *buf, long long v)
{
    char tmp[24];
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    size_t n = 0, k = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        buf[k++] = '-';
    while (n > 0)
        buf[k++] = tmp[--n];
    buf[k] = '\0';
    return k;
}

int util_parse_memory(const char *s, long long *out)
{
    char *end;
    long long mul = 1;

    if (*s == '\0' || *s == '-' || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    if (*end) {
        if (!strcasecmp(end, "b"))
            mul = 1;
        else if (!strcasecmp(end, "k"))
            mul = 1000;
        else if (!strcasecmp(end, "kb"))
            mul = 1024;
        else if (!strcasecmp(end, "m"))
            mul = 1000LL * 1000;
        else if (!strcasecmp(end, "mb"))
            mul = 1024LL * 1024;
        else if (!strcasecmp(end, "g"))
            mul = 1000LL * 1000 * 1000;
        else if (!strcasecmp(end, "gb"))
            mul = 1024LL * 1024 * 1024;
        else
            return -1;
    }
    if (v > (unsigned long long)LLONG_MAX / (unsigned long long)mul)
        return -1;
    *out = (long long)v * mul;
    return 0;
}

/* *GIVE_UP is set once the pattern after some '*' has failed against every suffix of the
 * string: an outer '*' swallowing more characters can then only fail too, so the search
 * stops instead of taking exponential time on patterns like "a*a*a*a*b". */
static int glob_match(const char *pat, size_t plen, const char *str, size_t slen, int nocase,
                      int depth, int *give_up)
{
    /* Bound recursion like Redis 7.0 does against pathological patterns. */
    if (depth > 1000)
        return 0;
    while (plen && slen) {
        switch (pat[0]) {
        case '*':
            while (plen > 1 && pat[1] == '*') {
                pat++;
                plen--;
            }
            if (plen == 1)
                return 1;
            while (slen) {
                if (glob_match(pat + 1, plen - 1, str, slen, nocase, depth + 1, give_up))
                    return 1;
                if (*give_up)
                    return 0;
                str++;
                slen--;
            }
            *give_up = 1;
            return 0;
        case '?':
            str++;
            slen--;
            break;
        case '[': {
            int not_, match = 0;
            pat++;
            plen--;
            not_ = plen && pat[0] == '^';
            if (not_) {
                pat++;
                plen--;
            }
            for (;;) {
                if (plen == 0) {
                    /* Unterminated class: treat the end as the closing bracket. */
                    break;
                }
                if (pat[0] == '\\' && plen >= 2) {
                    pat++;
                    plen--;
                    if (pat[0] == str[0])
                        match = 1;
                } else if (pat[0] == ']') {
                    break;
                } else if (plen >= 3 && pat[1] == '-') {
                    int start = (unsigned char)pat[0], end = (unsigned char)pat[2];
                    int c = (unsigned char)str[0];
                    if (start > end) {
                        int t = start;
                        start = end;
                        end = t;
                    }
                    if (nocase) {
                        start = tolower(start);
                        end = tolower(end);
                        c = tolower(c);
                    }
                    pat += 2;
                    plen -= 2;
                    if (c >= start && c <= end)
                        match = 1;
                } else if (nocase ? tolower((unsigned char)pat[0]) == tolower((unsigned char)str[0])
                                  : pat[0] == str[0]) {
                    match = 1;
                }
                pat++;
                plen--;
            }
            if (not_)
                match = !match;
            if (!match)
                return 0;
            str++;
            slen--;
            if (plen == 0)
                return slen == 0;
            break;
        }
        case '\\':
            if (plen >= 2) {
                pat++;
                plen--;
            }
            /* fall through */
        default:
            if (nocase ? tolower((unsigned char)pat[0]) != tolower((unsigned char)str[0])
                       : pat[0] != str[0])
                return 0;
            str++;
            slen--;
            break;
        }
        pat++;
        plen--;
        if (slen == 0) {
            while (plen && *pat == '*') {
                pat++;
                plen--;
            }
            break;
        }
    }
    return plen == 0 && slen == 0;
}

int util_glob_match(const char *pat, size_t plen, const char *str, size_t slen, int nocase)
{
    int give_up = 0;
    return glob_match(pat, plen, str, slen, nocase, 0, &give_up);
}

static uint64_t hash_seed = 0x9e3779b97f4a7c15ULL;

void util_hash_seed(uint64_t seed)
{
    hash_seed = seed;
}

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

uint64_t util_hash_seeded(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
    while (len >= 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        h ^= mix64(k + 0x2545f4914f6cdd1dULL);
        h = (h << 27 | h >> 37) * 0x9e3779b97f4a7c15ULL + 0x52dce729;
        p += 8;
        len -= 8;
    }
    uint64_t tail = 0;
    memcpy(&tail, p, len);
    h ^= mix64(tail ^ ((uint64_t)len << 56));
    return mix64(h);
}

uint64_t util_hash(const void *data, size_t len)
{
    return util_hash_seeded(data, len, hash_seed);
}

static uint16_t crc16(const char *buf, size_t len)
{
    /* CRC16-CCITT (XMODEM), the polynomial Redis Cluster uses; computed bitwise. */
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((unsigned char)buf[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

unsigned util_keyslot(const char *key, size_t len)
{
    size_t s, e;
    for (s = 0; s < len; s++)
        if (key[s] == '{')
            break;
    if (s == len)
        return crc16(key, len) & 16383;
    for (e = s + 1; e < len; e++)
        if (key[e] == '}')
            break;
    if (e == len || e == s + 1)
        return crc16(key, len) & 16383;
    return crc16(key + s + 1, e - s - 1) & 16383;
}

int util_eq_nocase(const char *s, size_t len, const char *cstr)
{
    size_t n = strlen(cstr);
    return n == len && strncasecmp(s, cstr, n) == 0;
}

/* A decimal number of 1 to MAXDIGITS digits without a leading zero (but "0" itself),
 * at most MAX. Advances *P. Returns the value or -1. */
static long parse_dec(const char **p, int maxdigits, long max)
{
    const char *s = *p;
    long v = 0;
    int n = 0;
    while (s[n] >= '0' && s[n] <= '9' && n <= maxdigits)
        v = v * 10 + (s[n++] - '0');
    if (n == 0 || n > maxdigits || (n > 1 && s[0] == '0') || v > max)
        return -1;
    *p = s + n;
    return v;
}

/* The one ip:port parser: PART receives the four octets and the port. 0 or -1. */
static int parse_addr(const char *s, long part[5])
{
    const char *p = s;
    if (s == NULL)
        return -1;
    for (int i = 0; i < 4; i++) {
        if ((part[i] = parse_dec(&p, 3, 255)) < 0)
            return -1;
        if (*p++ != (i < 3 ? '.' : ':'))
            return -1;
    }
    if ((part[4] = parse_dec(&p, 5, 65535)) <= 0 || *p != '\0')
        return -1;
    return 0;
}

int util_parse_addr(const char *s, char *canon, size_t len)
{
    long part[5];
    if (parse_addr(s, part) != 0)
        return -1;
    if (canon)
        snprintf(canon, len, "%ld.%ld.%ld.%ld:%ld", part[0], part[1], part[2], part[3], part[4]);
    return 0;
}

int util_split_addr(const char *s, char ip[UTIL_IP_MAX], int *port)
{
    long part[5];
    if (parse_addr(s, part) != 0) {
        ip[0] = '\0';
        *port = 0;
        return -1;
    }
    snprintf(ip, UTIL_IP_MAX, "%ld.%ld.%ld.%ld", part[0], part[1], part[2], part[3]);
    *port = (int)part[4];
    return 0;
}
