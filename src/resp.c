/* RESP in and out. In: hiredis's redisReader, given our own object functions, builds each
 * request's argv directly, with Redis's limits and error texts; inline commands are split
 * here. Out: reply_*() helpers appending RESP2. Must not touch sockets or an event loop. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/read.h>
#include <hiredis/sds.h>
#include "resp.h"

#define RESP_INLINE_MAX (64 * 1024)   /* Redis's PROTO_INLINE_MAX_SIZE */
#define RESP_MBULK_MAX (1024 * 1024)  /* most arguments in one multibulk */
#define RESP_BIG_ARG (32 * 1024)      /* bulks this large bypass hiredis's buffer */
#define RESP_ARGV_PREALLOC 1024       /* a huge multibulk count reserves no more up front */

/* ---------------------------------------------------------------- requests */

/* argv and len share one allocation when made here (len right after argv's CAP slots);
 * requests built by hand with separate arrays are still freed correctly. */
static int request_len_shared(const struct request *req)
{
    return (void *)req->len == (void *)(req->argv + req->cap);
}

static void request_alloc_arrays(struct request *req, int cap)
{
    req->argv = xmalloc((size_t)cap * (sizeof(char *) + sizeof(size_t)));
    req->len = (size_t *)(req->argv + cap);
    req->cap = cap;
}

static void request_free_arrays(struct request *req)
{
    if (req->len != NULL && !request_len_shared(req))
        free(req->len);
    free(req->argv);
}

/* Make room for at least NEED arguments. */
static void request_grow(struct request *req, int need)
{
    struct request old = *req;
    int cap = req->cap > 0 ? req->cap : 1;
    while (cap < need)
        cap = cap > INT_MAX / 2 ? need : cap * 2;
    request_alloc_arrays(req, cap);
    if (old.argc > 0) {
        memcpy(req->argv, old.argv, sizeof(char *) * (size_t)old.argc);
        memcpy(req->len, old.len, sizeof(size_t) * (size_t)old.argc);
    }
    request_free_arrays(&old);
}

struct request *request_new(int cap)
{
    struct request *req = xmalloc(sizeof(*req));
    req->argc = 0;
    request_alloc_arrays(req, cap > 0 ? cap : 1);
    return req;
}

void request_free(struct request *req)
{
    if (req == NULL)
        return;
    for (int i = 0; i < req->argc; i++)
        free(req->argv[i]);
    request_free_arrays(req);
    free(req);
}

void request_push_owned(struct request *req, char *arg, size_t len)
{
    if (req->argc >= req->cap)
        request_grow(req, req->argc + 1);
    req->argv[req->argc] = arg;
    req->len[req->argc] = len;
    req->argc++;
}

void request_push(struct request *req, const char *p, size_t len)
{
    request_push_owned(req, xmemdup(p, len), len);
}

void request_set(struct request *req, int i, const char *p, size_t len)
{
    if (i == req->argc) {
        request_push(req, p, len);
        return;
    }
    char *copy = xmemdup(p, len); /* P may point into the argument it replaces */
    free(req->argv[i]);
    req->argv[i] = copy;
    req->len[i] = len;
}

struct request *request_dup(const struct request *req)
{
    struct request *d = request_new(req->argc);
    for (int i = 0; i < req->argc; i++)
        request_push(d, req->argv[i], req->len[i]);
    return d;
}

/* ---------------------------------------------------------------- reader */

struct resp_reader {
    redisReader *h;     /* owns the input buffer and the request being built */
    long long max_bulk;
    int dead;           /* after a protocol error; ERR says why */
    char err[192];
    size_t partial;     /* input bytes already turned into the request being built */
    struct {            /* how far the current line was searched, so dribbled input is */
        size_t pos;     /* scanned once: valid while h->pos is POS and nothing was consumed */
        size_t done;
        char ch;
        int valid;
    } scan;
    struct buf scratch; /* quoted inline arguments */
    struct {            /* a big bulk whose payload is read straight into its argument */
        char *data;     /* n + 2 bytes (payload, CRLF), or NULL */
        size_t n;
        size_t have;    /* bytes received, CRLF included */
        size_t digits;  /* length of the "<n>" in its header */
        int ready;      /* complete: hiredis now sees an empty bulk in its place */
    } big;
};

/* What a parsing step concluded. */
enum { STEP_GO, STEP_WAIT, STEP_SKIP, STEP_ERR };

/* Returned for array elements: they live in their parent request, not as objects. */
static char element_marker;

static int reader_set_error(struct resp_reader *rr, const char *msg)
{
    if (rr->err[0] == '\0')
        snprintf(rr->err, sizeof(rr->err), "%s", msg);
    return STEP_ERR;
}

static int reader_expected_dollar(struct resp_reader *rr, char got)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "Protocol error: expected '$', got '%c'", got);
    return reader_set_error(rr, msg);
}

static char task_type_char(int type)
{
    switch (type) {
    case REDIS_REPLY_ARRAY: return '*';
    case REDIS_REPLY_INTEGER: return ':';
    case REDIS_REPLY_STATUS: return '+';
    case REDIS_REPLY_ERROR: return '-';
    default: return '$';
    }
}

static void scan_reset(struct resp_reader *rr)
{
    rr->scan.valid = 0;
}

/* Offset from the read position of the first CH in the unconsumed input, or -1. */
static long scan_line(struct resp_reader *rr, char ch)
{
    redisReader *h = rr->h;
    size_t avail = h->len - h->pos, start = 0;
    if (rr->scan.valid && rr->scan.pos == h->pos && rr->scan.ch == ch)
        start = rr->scan.done;
    const char *base = h->buf + h->pos;
    const char *p = start < avail ? memchr(base + start, ch, avail - start) : NULL;
    rr->scan.valid = 1;
    rr->scan.pos = h->pos;
    rr->scan.ch = ch;
    rr->scan.done = p != NULL ? (size_t)(p - base) : avail;
    return p != NULL ? (long)(p - base) : -1;
}

/* Drop consumed input at the front of hiredis's buffer, as hiredis itself does. */
static void reader_compact(struct resp_reader *rr)
{
    redisReader *h = rr->h;
    if (h->pos == 0)
        return;
    sdsrange(h->buf, (int)h->pos, -1);
    h->len -= h->pos;
    h->pos = 0;
    scan_reset(rr);
}

/* Consume N bytes that we parsed ourselves (inline lines, empty multibulks). */
static void reader_consume(struct resp_reader *rr, size_t n)
{
    rr->h->pos += n;
    scan_reset(rr);
    if (rr->h->pos >= 1024 || rr->h->pos == rr->h->len)
        reader_compact(rr);
}

/* hiredis callbacks. Returning NULL aborts hiredis with an out-of-memory error, which
 * resp_reader_next replaces by the message left in rr->err. */

static void *on_array(const redisReadTask *t, int elements)
{
    struct resp_reader *rr = t->privdata;
    redisReader *h = rr->h;
    if (t->parent != NULL) {
        reader_expected_dollar(rr, '*');
        return NULL;
    }
    if (elements <= 0 || elements > RESP_MBULK_MAX) { /* root_header let it through: cannot be */
        reader_set_error(rr, "Protocol error: invalid multibulk length");
        return NULL;
    }
    scan_reset(rr);
    if (h->pos < h->len && h->buf[h->pos] != '$') {
        reader_expected_dollar(rr, h->buf[h->pos]);
        return NULL; /* hiredis has not adopted the request yet: nothing to free */
    }
    return request_new(elements < RESP_ARGV_PREALLOC ? elements : RESP_ARGV_PREALLOC);
}

/* Store one bulk argument into the parent request, then make sure the next element, if it
 * is already here, starts with '$' (hiredis would reject other bytes with its own text). */
static void *on_string(const redisReadTask *t, char *str, size_t len)
{
    struct resp_reader *rr = t->privdata;
    redisReader *h = rr->h;
    if (t->parent == NULL || t->type != REDIS_REPLY_STRING) {
        reader_expected_dollar(rr, task_type_char(t->type));
        return NULL;
    }
    if ((long long)len > rr->max_bulk) { /* only when max_bulk shrank since the header */
        reader_set_error(rr, "Protocol error: invalid bulk length");
        return NULL;
    }
    struct request *req = t->parent->obj;
    if (t->idx >= req->cap)
        request_grow(req, req->cap * 2 < t->parent->elements ? req->cap * 2 : t->parent->elements);
    if (rr->big.ready) { /* the empty stand-in for a big bulk: adopt the real payload */
        req->argv[t->idx] = rr->big.data;
        req->len[t->idx] = rr->big.n;
        rr->partial += 1 + rr->big.digits + 2 + rr->big.n + 2;
        memset(&rr->big, 0, sizeof(rr->big));
    } else {
        req->argv[t->idx] = xmemdup(str, len);
        req->len[t->idx] = len;
        rr->partial += 1 + (size_t)(str - (h->buf + h->pos)) + len + 2;
    }
    req->argc = t->idx + 1;
    scan_reset(rr);
    const char *next = str + len + 2;
    if (t->idx + 1 < t->parent->elements && next < h->buf + h->len && *next != '$') {
        reader_expected_dollar(rr, *next);
        return NULL; /* the request is hiredis's reply object: it frees it */
    }
    return &element_marker;
}

static void *on_integer(const redisReadTask *t, long long v)
{
    reader_expected_dollar(t->privdata, ':');
    return NULL;
}

static void *on_nil(const redisReadTask *t)
{
    if (t->parent != NULL && t->type == REDIS_REPLY_STRING)
        reader_set_error(t->privdata, "Protocol error: invalid bulk length");
    else
        reader_expected_dollar(t->privdata, task_type_char(t->type));
    return NULL;
}

static void on_free(void *obj)
{
    if (obj != &element_marker)
        request_free(obj);
}

static redisReplyObjectFunctions resp_functions = {
    .createString = on_string,
    .createArray = on_array,
    .createInteger = on_integer,
    .createNil = on_nil,
    .freeObject = on_free,
};

struct resp_reader *resp_reader_new(long long max_bulk)
{
    struct resp_reader *rr = xcalloc(1, sizeof(*rr));
    rr->h = redisReaderCreateWithFunctions(&resp_functions);
    if (rr->h == NULL) {
        fprintf(stderr, "resp: out of memory creating a reader\n");
        abort();
    }
    rr->h->privdata = rr; /* hiredis hands it to every task */
    rr->max_bulk = max_bulk;
    buf_init(&rr->scratch);
    return rr;
}

void resp_reader_free(struct resp_reader *rr)
{
    if (rr == NULL)
        return;
    redisReaderFree(rr->h);
    buf_close(&rr->scratch);
    free(rr->big.data);
    free(rr);
}

void resp_reader_set_max_bulk(struct resp_reader *rr, long long max_bulk)
{
    rr->max_bulk = max_bulk;
}

static void reader_feed_hiredis(struct resp_reader *rr, const char *buf, size_t len)
{
    if (redisReaderFeed(rr->h, buf, len) != REDIS_OK) {
        fprintf(stderr, "resp: out of memory buffering input\n");
        abort();
    }
}

/* A big bulk's header is complete but its payload is not: move the part already buffered
 * into the argument itself and cut it from hiredis's buffer, which then ends with the
 * header. resp_reader_feed appends the rest of the payload there directly, so a 512 MB
 * argument is copied once and never held twice. */
static void big_start(struct resp_reader *rr, size_t digits, size_t n)
{
    redisReader *h = rr->h;
    size_t body = h->pos + digits + 2;
    rr->big.data = xmalloc(n + 2);
    rr->big.n = n;
    rr->big.digits = digits;
    rr->big.have = h->len - body;
    memcpy(rr->big.data, h->buf + body, rr->big.have);
    sdsrange(h->buf, 0, (int)body - 1);
    h->len = body;
}

/* The payload is complete. hiredis still waits at the header's digits: turn them into an
 * empty bulk ("...0\r\n" plus a CRLF) that on_string replaces by the real payload. */
static void big_finish(struct resp_reader *rr)
{
    redisReader *h = rr->h;
    rr->big.data[rr->big.n] = '\0';
    h->pos += rr->big.digits - 1;
    h->buf[h->pos] = '0';
    rr->big.ready = 1;
    scan_reset(rr);
    reader_feed_hiredis(rr, "\r\n", 2);
}

void resp_reader_feed(struct resp_reader *rr, const char *buf, size_t len)
{
    if (rr->dead || len == 0)
        return;
    if (rr->big.data != NULL && !rr->big.ready) {
        size_t take = rr->big.n + 2 - rr->big.have;
        take = take < len ? take : len;
        memcpy(rr->big.data + rr->big.have, buf, take);
        rr->big.have += take;
        buf += take;
        len -= take;
        if (rr->big.have == rr->big.n + 2)
            big_finish(rr);
    }
    if (len > 0)
        reader_feed_hiredis(rr, buf, len);
}

size_t resp_reader_pending(const struct resp_reader *rr)
{
    const redisReader *h = rr->h;
    if (rr->dead)
        return 0;
    size_t n = h->len - h->pos + rr->partial;
    if (h->ridx > 0 && h->rstack[h->ridx].type >= 0)
        n++; /* the '$' of the element being read */
    if (rr->big.data != NULL)
        n += rr->big.ready ? rr->big.n : rr->big.have;
    return n;
}

/* The "*<count>\r\n" at the read position, checked as Redis checks it; counts <= 0 are
 * consumed here so hiredis only ever sees requests with arguments. */
static int root_header(struct resp_reader *rr)
{
    redisReader *h = rr->h;
    size_t avail = h->len - h->pos;
    long off = scan_line(rr, '\r');
    if (off < 0 || (size_t)off + 1 >= avail) {
        if (off < 0 && avail > RESP_INLINE_MAX)
            return reader_set_error(rr, "Protocol error: too big mbulk count string");
        return STEP_WAIT;
    }
    const char *line = h->buf + h->pos;
    long long n;
    if (line[off + 1] != '\n' || util_parse_ll(line + 1, (size_t)off - 1, &n) != 0 ||
        n > RESP_MBULK_MAX)
        return reader_set_error(rr, "Protocol error: invalid multibulk length");
    if (n <= 0) {
        reader_consume(rr, (size_t)off + 2);
        return STEP_SKIP;
    }
    rr->partial = (size_t)off + 2;
    return STEP_GO;
}

/* Look at the element hiredis is waiting for: reject a type other than '$', or a bulk
 * length that is malformed or over max_bulk, as soon as its header is here (before the
 * payload); start reading a big payload past hiredis. STEP_WAIT: nothing to parse yet. */
static int element_check(struct resp_reader *rr)
{
    redisReader *h = rr->h;
    const redisReadTask *t = &h->rstack[h->ridx];
    size_t avail = h->len - h->pos;
    if (rr->big.data != NULL && !rr->big.ready)
        return STEP_WAIT;
    if (t->type < 0) {
        if (avail == 0)
            return STEP_WAIT;
        return h->buf[h->pos] == '$' ? STEP_GO : reader_expected_dollar(rr, h->buf[h->pos]);
    }
    if (t->type != REDIS_REPLY_STRING)
        return STEP_GO; /* cannot happen; the callbacks would reject it */
    long off = scan_line(rr, '\r');
    if (off < 0 || (size_t)off + 1 >= avail) {
        if (off < 0 && avail + 1 > RESP_INLINE_MAX)
            return reader_set_error(rr, "Protocol error: too big bulk count string");
        return STEP_WAIT;
    }
    long long n;
    if (h->buf[h->pos + (size_t)off + 1] != '\n' ||
        util_parse_ll(h->buf + h->pos, (size_t)off, &n) != 0 || n < 0 || n > rr->max_bulk)
        return reader_set_error(rr, "Protocol error: invalid bulk length");
    if (avail >= (size_t)off + 2 + (size_t)n + 2)
        return STEP_GO;
    if (n >= RESP_BIG_ARG && !rr->big.ready)
        big_start(rr, (size_t)off, (size_t)n);
    return STEP_WAIT;
}

/* Append the quoted argument starting at P (just past the opening QUOTE) to OUT, with
 * sdssplitargs's escapes. Returns the position after the closing quote, or NULL when the
 * quote is unbalanced or not followed by a space or the end of the line. */
static const char *inline_quoted(const char *p, const char *end, char quote, struct buf *out)
{
    for (;;) {
        if (p >= end)
            return NULL;
        if (quote == '"' && p[0] == '\\' && end - p >= 4 && p[1] == 'x' &&
            isxdigit((unsigned char)p[2]) && isxdigit((unsigned char)p[3])) {
            char hex[3] = {p[2], p[3], 0};
            char byte = (char)strtol(hex, NULL, 16);
            buf_append(out, &byte, 1);
            p += 4;
        } else if (quote == '"' && p[0] == '\\' && end - p >= 2) {
            const char *from = "nrtba", *to = "\n\r\t\b\a";
            const char *k = strchr(from, p[1]);
            char c = p[1] != '\0' && k != NULL ? to[k - from] : p[1];
            buf_append(out, &c, 1);
            p += 2;
        } else if (quote == '\'' && p[0] == '\\' && end - p >= 2 && p[1] == '\'') {
            buf_append(out, "'", 1);
            p += 2;
        } else if (p[0] == quote) {
            p++;
            if (p < end && !isspace((unsigned char)*p))
                return NULL;
            return p;
        } else {
            buf_append(out, p, 1);
            p++;
        }
    }
}

/* Split the inline line [P, END) into REQ like Redis's sdssplitargs. 0, or -1 when quotes
 * are unbalanced. */
static int inline_split(struct resp_reader *rr, const char *p, const char *end,
                        struct request *req)
{
    for (;;) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (p == end)
            return 0;
        const char *tok = p;
        while (p < end && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != '"' &&
               *p != '\'')
            p++;
        if (p == end || (*p != '"' && *p != '\'')) {
            request_push(req, tok, (size_t)(p - tok));
            continue;
        }
        rr->scratch.len = 0;
        buf_append(&rr->scratch, tok, (size_t)(p - tok));
        p = inline_quoted(p + 1, end, *p, &rr->scratch);
        if (p == NULL)
            return -1;
        request_push(req, rr->scratch.data ? rr->scratch.data : "", rr->scratch.len);
    }
}

/* One inline command line at the read position. STEP_SKIP for an empty line. */
static int inline_next(struct resp_reader *rr, struct request **out)
{
    redisReader *h = rr->h;
    size_t avail = h->len - h->pos;
    long nl = scan_line(rr, '\n');
    if (nl < 0) {
        if (avail > RESP_INLINE_MAX)
            return reader_set_error(rr, "Protocol error: too big inline request");
        return STEP_WAIT;
    }
    const char *line = h->buf + h->pos;
    size_t n = (size_t)nl;
    if (n > 0 && line[n - 1] == '\r')
        n--;
    const char *nul = memchr(line, '\0', n); /* Redis splits a C string: a NUL ends it */
    if (nul != NULL)
        n = (size_t)(nul - line);
    struct request *req = request_new(4);
    if (inline_split(rr, line, line + n, req) != 0) {
        request_free(req);
        return reader_set_error(rr, "Protocol error: unbalanced quotes in request");
    }
    reader_consume(rr, (size_t)nl + 1);
    if (req->argc == 0) {
        request_free(req);
        return STEP_SKIP;
    }
    *out = req;
    return STEP_GO;
}

/* Turn a hiredis error that no callback explained into Redis's wording. */
static void reader_explain_hiredis(struct resp_reader *rr)
{
    const char *e = rr->h->errstr;
    if (strstr(e, "ulk string length") != NULL)
        reader_set_error(rr, "Protocol error: invalid bulk length");
    else if (strstr(e, "ulti-bulk length") != NULL)
        reader_set_error(rr, "Protocol error: invalid multibulk length");
    else {
        char msg[160];
        snprintf(msg, sizeof(msg), "Protocol error: %s", e);
        reader_set_error(rr, msg);
    }
}

static int reader_fail(struct resp_reader *rr, char *errmsg, size_t errlen)
{
    if (rr->err[0] == '\0')
        reader_explain_hiredis(rr);
    rr->dead = 1;
    if (errlen > 0)
        snprintf(errmsg, errlen, "%s", rr->err);
    return RESP_ERR_PROTOCOL;
}

static int reader_wait(struct resp_reader *rr)
{
    if (rr->h->pos > 0 && rr->h->pos == rr->h->len)
        reader_compact(rr); /* lets hiredis release a large, now empty, buffer */
    return RESP_INCOMPLETE;
}

/* Run hiredis for the multibulk request under way. */
static int reader_hiredis(struct resp_reader *rr, struct request **out, char *errmsg,
                          size_t errlen)
{
    redisReader *h = rr->h;
    void *reply = NULL;
    size_t pos = h->pos;
    if (redisReaderGetReply(h, &reply) != REDIS_OK)
        return reader_fail(rr, errmsg, errlen);
    if (h->pos != pos)
        scan_reset(rr);
    if (reply == NULL) {
        if (element_check(rr) == STEP_ERR)
            return reader_fail(rr, errmsg, errlen);
        return reader_wait(rr);
    }
    rr->partial = 0;
    *out = reply;
    return RESP_OK;
}

int resp_reader_next(struct resp_reader *rr, struct request **out, char *errmsg, size_t errlen)
{
    *out = NULL;
    if (rr->dead)
        return reader_fail(rr, errmsg, errlen);
    for (;;) {
        redisReader *h = rr->h;
        int step;
        if (h->ridx >= 0)
            step = element_check(rr);
        else if (h->pos == h->len)
            return reader_wait(rr);
        else if (h->buf[h->pos] != '*')
            step = inline_next(rr, out);
        else
            step = root_header(rr);
        if (step == STEP_ERR)
            return reader_fail(rr, errmsg, errlen);
        if (step == STEP_WAIT)
            return reader_wait(rr);
        if (step == STEP_SKIP)
            continue;
        if (*out != NULL)
            return RESP_OK; /* an inline command */
        return reader_hiredis(rr, out, errmsg, errlen);
    }
}

/* ---------------------------------------------------------------- replies */

/* Decimal digits of V into P (room for 20); returns their number. */
static size_t resp_ll2str(char *p, long long v)
{
    char tmp[24];
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    size_t n = 0, k = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        p[k++] = '-';
    while (n > 0)
        p[k++] = tmp[--n];
    return k;
}

/* "<type><n>\r\n" */
static void reply_header(struct buf *out, char type, long long n)
{
    char *p = buf_reserve(out, 32);
    p[0] = type;
    size_t k = 1 + resp_ll2str(p + 1, n);
    p[k++] = '\r';
    p[k++] = '\n';
    out->len += k;
}

void reply_simple(struct buf *out, const char *s)
{
    size_t n = strlen(s);
    char *p = buf_reserve(out, n + 3);
    p[0] = '+';
    memcpy(p + 1, s, n);
    p[n + 1] = '\r';
    p[n + 2] = '\n';
    out->len += n + 3;
}

void reply_ok(struct buf *out)
{
    buf_append(out, "+OK\r\n", 5);
}

void reply_error(struct buf *out, const char *msg)
{
    size_t n = strlen(msg);
    char *p = buf_reserve(out, n + 3);
    p[0] = '-';
    for (size_t i = 0; i < n; i++)
        p[i + 1] = msg[i] == '\r' || msg[i] == '\n' ? ' ' : msg[i];
    p[n + 1] = '\r';
    p[n + 2] = '\n';
    out->len += n + 3;
}

void reply_errorf(struct buf *out, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        reply_error(out, "ERR");
        return;
    }
    if ((size_t)n < sizeof(small)) {
        reply_error(out, small);
        return;
    }
    char *big = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    reply_error(out, big);
    free(big);
}

void reply_int(struct buf *out, long long v)
{
    reply_header(out, ':', v);
}

void reply_bulk(struct buf *out, const char *p, size_t len)
{
    char *d = buf_reserve(out, len + 32);
    d[0] = '$';
    size_t k = 1 + resp_ll2str(d + 1, (long long)len);
    d[k++] = '\r';
    d[k++] = '\n';
    if (len > 0)
        memcpy(d + k, p, len);
    k += len;
    d[k++] = '\r';
    d[k++] = '\n';
    out->len += k;
}

void reply_bulk_cstr(struct buf *out, const char *s)
{
    if (s == NULL)
        reply_null(out);
    else
        reply_bulk(out, s, strlen(s));
}

void reply_bulk_ll(struct buf *out, long long v)
{
    char tmp[24];
    reply_bulk(out, tmp, resp_ll2str(tmp, v));
}

void reply_null(struct buf *out)
{
    buf_append(out, "$-1\r\n", 5);
}

void reply_null_array(struct buf *out)
{
    buf_append(out, "*-1\r\n", 5);
}

void reply_array(struct buf *out, long long n)
{
    reply_header(out, '*', n);
}

void reply_syntax_error(struct buf *out)
{
    buf_append_str(out, "-ERR syntax error\r\n");
}

void reply_not_integer(struct buf *out)
{
    buf_append_str(out, "-ERR value is not an integer or out of range\r\n");
}

void reply_wrong_arity(struct buf *out, const char *cmdname)
{
    reply_errorf(out, "ERR wrong number of arguments for '%s' command", cmdname);
}

void reply_wrong_subcommand_arity(struct buf *out, const char *cmd, const char *sub)
{
    char lower[64];
    size_t i;
    for (i = 0; sub[i] && i < sizeof(lower) - 1; i++)
        lower[i] = (char)tolower((unsigned char)sub[i]);
    lower[i] = '\0';
    reply_errorf(out, "ERR wrong number of arguments for '%s|%s' command", cmd, lower);
}

int request_arg_is(const struct request *req, int i, const char *word)
{
    return i < req->argc && util_eq_nocase(req->argv[i], req->len[i], word);
}

void request_name_lower(const struct request *req, char *dst, size_t cap)
{
    size_t i;
    for (i = 0; i + 1 < cap && i < req->len[0]; i++)
        dst[i] = (char)tolower((unsigned char)req->argv[0][i]);
    dst[i] = '\0';
}
