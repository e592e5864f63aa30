/* RESP in and out. In: our own scanner finds each request's elements and checks them with
 * Redis's limits and error texts; hiredis's redisReader (its public API only), given our own
 * object functions, builds each request's argv from them; inline commands are split here. Out: reply_*() helpers appending RESP2. Must not touch sockets or an event loop. */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include "resp.h"

/* hiredis 1.x passes an array's element count as size_t, 0.14 as int. */
#if defined(HIREDIS_MAJOR) && HIREDIS_MAJOR >= 1
typedef size_t resp_elements_t;
#else
typedef int resp_elements_t;
#endif

#define RESP_INLINE_MAX (64 * 1024)   /* Redis's PROTO_INLINE_MAX_SIZE */
#define RESP_MBULK_MAX (1024 * 1024)  /* most arguments in one multibulk */
#define RESP_BIG_ARG (32 * 1024)      /* bulks this large are read into their own buffer */
#define RESP_BIG_SLACK_MIN (1024 * 1024) /* a big bulk's buffer may run this far ahead of */
#define RESP_BIG_SLACK (16 * 1024 * 1024) /* the bytes received (up to the received size) */
#define RESP_ARGV_PREALLOC 1024       /* a huge multibulk count reserves no more up front */

/* ---------------------------------------------------------------- requests */

/* request_new makes one allocation: the struct, argv and len for CAP arguments, and INL_CAP
 * bytes for small arguments (inline_bytes). Arrays grown later (request_grow) are one
 * allocation of their own, argv then len; requests built by hand with separate arrays are
 * still freed correctly. */
#define RESP_INLINE_ARGS 16 /* requests of up to this many arguments get inline bytes */

static size_t inline_bytes(int cap)
{
    return cap <= RESP_INLINE_ARGS ? 64 + 24 * (size_t)cap : 0;
}

static int request_arg_inline(const struct request *req, const char *p)
{
    return req->inl != NULL && p >= req->inl && p < req->inl + req->inl_cap;
}

static void request_alloc_arrays(struct request *req, int cap)
{
    req->argv = xmalloc((size_t)cap * (sizeof(char *) + sizeof(size_t)));
    req->len = (size_t *)(req->argv + cap);
    req->cap = cap;
}

/* Free arrays ARGV and LEN (CAP slots) of REQ unless they are the ones embedded in it. */
static void free_arrays(const struct request *req, char **argv, size_t *len, int cap)
{
    if ((void *)argv == (void *)(req + 1))
        return;
    if (len != NULL && (void *)len != (void *)(argv + cap))
        free(len);
    free(argv);
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
    free_arrays(req, old.argv, old.len, old.cap);
}

struct request *request_new(int cap)
{
    if (cap < 1)
        cap = 1;
    size_t arrays = (size_t)cap * (sizeof(char *) + sizeof(size_t)), inl = inline_bytes(cap);
    struct request *req = xmalloc(sizeof(*req) + arrays + inl);
    req->argc = 0;
    req->cap = cap;
    req->argv = (char **)(req + 1);
    req->len = (size_t *)(req->argv + cap);
    req->inl = inl > 0 ? (char *)(req->len + cap) : NULL;
    req->inl_used = 0;
    req->inl_cap = inl;
    return req;
}

void request_free(struct request *req)
{
    if (req == NULL)
        return;
    for (int i = 0; i < req->argc; i++)
        if (!request_arg_inline(req, req->argv[i]))
            free(req->argv[i]);
    free_arrays(req, req->argv, req->len, req->cap);
    free(req);
}

/* A NUL-terminated copy of P (LEN bytes): in REQ's inline bytes when they have room. */
static char *request_copy(struct request *req, const char *p, size_t len)
{
    if (req->inl != NULL && len < req->inl_cap - req->inl_used) {
        char *q = req->inl + req->inl_used;
        memcpy(q, p, len);
        q[len] = '\0';
        req->inl_used += len + 1;
        return q;
    }
    return xmemdup(p, len);
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
    request_push_owned(req, request_copy(req, p, len), len);
}

void request_move(struct request *req, struct request *from)
{
    for (int i = 0; i < req->argc; i++)
        if (!request_arg_inline(req, req->argv[i]))
            free(req->argv[i]);
    req->argc = 0;
    req->inl_used = 0;
    for (int i = 0; i < from->argc; i++) {
        if (request_arg_inline(from, from->argv[i]))
            request_push(req, from->argv[i], from->len[i]);
        else
            request_push_owned(req, from->argv[i], from->len[i]); /* the heap string moves */
    }
    from->argc = 0;
    request_free(from);
}

void request_set(struct request *req, int i, const char *p, size_t len)
{
    if (i == req->argc) {
        request_push(req, p, len);
        return;
    }
    char *copy = xmemdup(p, len); /* P may point into the argument it replaces */
    if (!request_arg_inline(req, req->argv[i]))
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

/* Our code owns the input and finds each element's boundaries: the "*<n>" header, then every
 * "$<len>" header with Redis's checks, before any of its bytes go further. hiredis (through
 * its public reader API only) is handed exactly the complete elements found, and builds the
 * request's argv through our object functions. A bulk of RESP_BIG_ARG bytes or more whose
 * payload has not all arrived is read straight into its own buffer, grown as bytes arrive
 * (never sized from its header alone), then handed to hiredis as an empty stand-in bulk that
 * on_string replaces by the real payload. So hiredis only ever sees valid, complete input,
 * and its buffer is empty between our calls. */

struct resp_reader {
    redisReader *h;     /* builds the request under way from the elements handed to it */
    struct buf in;      /* input; bytes before POS are consumed */
    size_t pos;
    long long max_bulk;
    int dead;           /* after a protocol error; ERR says why */
    char err[192];
    long long nelem;    /* elements of the multibulk under way; 0 between requests */
    long long fed;      /* of which handed to hiredis */
    size_t taken;       /* input bytes of that request consumed from IN so far */
    size_t header;      /* its "*<n>" header, just before POS, not yet handed to hiredis */
    struct {            /* how far the line starting at FROM was searched for CH, so that */
        size_t from;    /* dribbled input is scanned once */
        size_t done;
        char ch;
        int valid;
    } scan;
    struct buf scratch; /* quoted inline arguments */
    struct {            /* a big bulk whose payload is read straight into its argument */
        char *data;     /* CAP bytes, of which HAVE received; NULL when none */
        size_t n;       /* payload length from its header; complete at n + 2 (CRLF) */
        size_t have;
        size_t cap;
        int active;     /* a big bulk is under way */
        int ready;      /* complete and being handed to hiredis as a stand-in */
    } big;
};

/* What a parsing step concluded. */
enum { STEP_GO, STEP_WAIT, STEP_SKIP, STEP_ERR };

/* The reader whose redisReaderGetReply is running: the object functions find it here rather
 * than in hiredis's struct. The server is single-threaded; tests are too. */
static struct resp_reader *reader_current;

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

/* Offset from FROM (an offset in the input) of the first CH, or -1. Remembers how far it
 * searched so that asking again for the same line only looks at new bytes. */
static long scan_line(struct resp_reader *rr, size_t from, char ch)
{
    size_t avail = rr->in.len - from, start = 0;
    if (rr->scan.valid && rr->scan.from == from && rr->scan.ch == ch && rr->scan.done <= avail)
        start = rr->scan.done;
    const char *base = rr->in.data + from;
    const char *p = start < avail ? memchr(base + start, ch, avail - start) : NULL;
    rr->scan.valid = 1;
    rr->scan.from = from;
    rr->scan.ch = ch;
    rr->scan.done = p != NULL ? (size_t)(p - base) : avail;
    return p != NULL ? (long)(p - base) : -1;
}

/* Drop consumed input at the front of IN; an emptied large buffer is released. */
static void reader_compact(struct resp_reader *rr)
{
    if (rr->pos == 0)
        return;
    if (rr->pos == rr->in.len) {
        rr->in.len = 0;
        if (rr->in.cap > 256 * 1024)
            buf_close(&rr->in);
    } else {
        buf_consume(&rr->in, rr->pos);
    }
    if (rr->scan.valid && rr->scan.from >= rr->pos)
        rr->scan.from -= rr->pos;
    else
        rr->scan.valid = 0;
    rr->pos = 0;
}

/* hiredis object functions. They only ever see what bulk_scan let through: a "*<n>" header
 * with 0 < n <= RESP_MBULK_MAX, then complete bulks. */

static void *on_array(const redisReadTask *t, resp_elements_t elements)
{
    if (t->parent != NULL || (long long)elements <= 0)
        return NULL; /* cannot happen: hiredis reports out of memory, reader_hiredis fails */
    return request_new((long long)elements < RESP_ARGV_PREALLOC ? (int)elements : RESP_ARGV_PREALLOC);
}

static void *on_string(const redisReadTask *t, char *str, size_t len)
{
    struct resp_reader *rr = reader_current;
    if (t->parent == NULL || t->type != REDIS_REPLY_STRING || rr == NULL)
        return NULL; /* cannot happen, as above */
    struct request *req = t->parent->obj;
    long long elements = (long long)t->parent->elements;
    if (t->idx >= req->cap)
        request_grow(req, (long long)req->cap * 2 < elements ? req->cap * 2 : (int)elements);
    if (rr->big.ready) { /* the empty stand-in for a big bulk: adopt the real payload */
        rr->big.data[rr->big.n] = '\0';
        req->argv[t->idx] = rr->big.data;
        req->len[t->idx] = rr->big.n;
        memset(&rr->big, 0, sizeof(rr->big));
    } else {
        req->argv[t->idx] = request_copy(req, str, len);
        req->len[t->idx] = len;
    }
    req->argc = t->idx + 1;
    return &element_marker;
}

static void *on_integer(const redisReadTask *t, long long v)
{
    return NULL;
}

static void *on_nil(const redisReadTask *t)
{
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
    rr->max_bulk = max_bulk;
    buf_init(&rr->in);
    buf_init(&rr->scratch);
    return rr;
}

void resp_reader_free(struct resp_reader *rr)
{
    if (rr == NULL)
        return;
    redisReaderFree(rr->h); /* frees the half-built request through on_free */
    buf_close(&rr->in);
    buf_close(&rr->scratch);
    free(rr->big.data);
    free(rr);
}

void resp_reader_set_max_bulk(struct resp_reader *rr, long long max_bulk)
{
    rr->max_bulk = max_bulk;
}

/* Append LEN received payload bytes to the big bulk, growing its buffer by what arrived
 * (doubling, but never more than RESP_BIG_SLACK ahead of the bytes received, and never past
 * the payload's length). */
static void big_append(struct resp_reader *rr, const char *p, size_t len)
{
    size_t need = rr->big.have + len, whole = rr->big.n + 2;
    if (len == 0)
        return; /* the header came alone: nothing is allocated yet */
    if (need > rr->big.cap) {
        size_t slack = need < RESP_BIG_SLACK_MIN ? RESP_BIG_SLACK_MIN
                     : need > RESP_BIG_SLACK ? RESP_BIG_SLACK : need;
        size_t cap = whole - need < slack ? whole : need + slack;
        rr->big.data = xrealloc(rr->big.data, cap);
        rr->big.cap = cap;
    }
    memcpy(rr->big.data + rr->big.have, p, len);
    rr->big.have = need;
}

void resp_reader_feed(struct resp_reader *rr, const char *buf, size_t len)
{
    if (rr->dead || len == 0)
        return;
    if (rr->big.active && rr->big.have < rr->big.n + 2) {
        size_t take = rr->big.n + 2 - rr->big.have;
        take = take < len ? take : len;
        big_append(rr, buf, take);
        buf += take;
        len -= take;
    }
    if (len == 0)
        return;
    reader_compact(rr);
    buf_append(&rr->in, buf, len);
}

size_t resp_reader_pending(const struct resp_reader *rr)
{
    if (rr->dead)
        return 0;
    return rr->in.len - rr->pos + rr->taken + rr->big.have;
}

size_t resp_reader_allocated(const struct resp_reader *rr)
{
    return rr->in.cap + rr->big.cap;
}

/* Hand LEN bytes of complete elements to hiredis and let it build; *OUT is the request once
 * its last element was handed over. */
static int reader_hiredis(struct resp_reader *rr, const char *p, size_t len, struct request **out)
{
    void *reply = NULL;
    reader_current = rr;
    int rc = redisReaderFeed(rr->h, p, len);
    if (rc == REDIS_OK)
        rc = redisReaderGetReply(rr->h, &reply);
    reader_current = NULL;
    if (rc != REDIS_OK)
        return reader_set_error(rr, "Protocol error: out of memory building the request");
    if (reply != NULL) {
        *out = reply;
        rr->nelem = rr->fed = 0;
        rr->taken = 0;
    }
    return STEP_GO;
}

/* The "*<count>\r\n" at the read position, checked as Redis checks it; counts <= 0 are
 * consumed here so hiredis only ever sees requests with arguments. */
/* The common case, "<digits>\r\n" in canonical form (no sign, no leading zero, at most 18
 * digits) at P: its value in *N; returns the line's length with its CRLF, or 0 for anything
 * else (incomplete, malformed, huge), which the general path then handles. */
static size_t number_line_fast(const char *p, size_t avail, long long *n)
{
    size_t i = 0;
    long long v = 0;
    if (avail < 3 || p[0] < '0' || p[0] > '9' || (p[0] == '0' && p[1] != '\r'))
        return 0;
    while (i < avail && i < 18 && p[i] >= '0' && p[i] <= '9')
        v = v * 10 + (p[i++] - '0');
    if (i + 1 >= avail || p[i] != '\r' || p[i + 1] != '\n')
        return 0;
    *n = v;
    return i + 2;
}

/* The "*<count>\r\n" at the read position, checked as Redis checks it; counts <= 0 are
 * consumed here so hiredis only ever sees requests with arguments. */
static int root_header(struct resp_reader *rr, struct request **out)
{
    size_t avail = rr->in.len - rr->pos;
    const char *line = rr->in.data + rr->pos;
    long long n;
    size_t len = number_line_fast(line + 1, avail - 1, &n);
    if (len > 0 && n <= RESP_MBULK_MAX) {
        len++; /* the '*' */
    } else {
        long off = scan_line(rr, rr->pos, '\r');
        if (off < 0 || (size_t)off + 1 >= avail) {
            if (off < 0 && avail > RESP_INLINE_MAX)
                return reader_set_error(rr, "Protocol error: too big mbulk count string");
            return STEP_WAIT;
        }
        if (line[off + 1] != '\n' || util_parse_ll(line + 1, (size_t)off - 1, &n) != 0 ||
            n > RESP_MBULK_MAX)
            return reader_set_error(rr, "Protocol error: invalid multibulk length");
        len = (size_t)off + 2;
    }
    rr->pos += len;
    if (n <= 0)
        return STEP_SKIP;
    rr->nelem = n;
    rr->fed = 0;
    rr->taken = len;
    rr->header = len; /* handed to hiredis with the first elements */
    return STEP_GO;
}

/* The big bulk is complete: hand hiredis an empty bulk in its place (on_string adopts the
 * payload). */
static int big_finish(struct resp_reader *rr, struct request **out)
{
    rr->taken += rr->big.have;
    rr->big.ready = 1;
    rr->fed++;
    return reader_hiredis(rr, "$0\r\n\r\n", 6, out);
}

/* Find the complete elements of the multibulk under way at the read position, checking each
 * header as soon as it is here (before its payload), and hand them to hiredis in one piece;
 * start reading a big payload past the input buffer. */
static int multibulk_step(struct resp_reader *rr, struct request **out)
{
    if (rr->big.active) {
        if (rr->big.have < rr->big.n + 2)
            return STEP_WAIT;
        return big_finish(rr, out);
    }
    size_t start = rr->pos - rr->header, p = rr->pos;
    long long k = rr->fed;
    size_t big_hdr = 0, big_n = 0;
    while (k < rr->nelem && p < rr->in.len) {
        size_t avail = rr->in.len - p;
        const char *e = rr->in.data + p;
        if (*e != '$')
            return reader_expected_dollar(rr, *e);
        long long n;
        size_t hdr = number_line_fast(e + 1, avail - 1, &n);
        if (hdr > 0 && n <= rr->max_bulk) {
            hdr++; /* the '$' */
        } else {
            long off = scan_line(rr, p, '\r');
            if (off < 0 || (size_t)off + 1 >= avail) {
                if (off < 0 && avail > RESP_INLINE_MAX)
                    return reader_set_error(rr, "Protocol error: too big bulk count string");
                break;
            }
            if (e[off + 1] != '\n' || util_parse_ll(e + 1, (size_t)off - 1, &n) != 0 || n < 0 ||
                n > rr->max_bulk)
                return reader_set_error(rr, "Protocol error: invalid bulk length");
            hdr = (size_t)off + 2;
        }
        if ((unsigned long long)n <= (unsigned long long)(avail - hdr) &&
            avail - hdr - (size_t)n >= 2) {
            p += hdr + (size_t)n + 2;
            k++;
            continue;
        }
        if (n >= RESP_BIG_ARG) {
            big_hdr = hdr;
            big_n = (size_t)n;
        }
        break;
    }
    if (p > start) {
        rr->taken += p - rr->pos;
        rr->pos = p;
        rr->header = 0;
        rr->fed = k;
        if (reader_hiredis(rr, rr->in.data + start, p - start, out) == STEP_ERR)
            return STEP_ERR;
        if (*out != NULL)
            return STEP_GO;
    }
    if (big_hdr > 0) {
        size_t body = rr->pos + big_hdr;
        rr->big.active = 1;
        rr->big.n = big_n;
        rr->taken += big_hdr;
        big_append(rr, rr->in.data + body, rr->in.len - body);
        rr->pos = rr->in.len;
    }
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
    size_t avail = rr->in.len - rr->pos;
    long nl = scan_line(rr, rr->pos, '\n');
    if (nl < 0) {
        if (avail > RESP_INLINE_MAX)
            return reader_set_error(rr, "Protocol error: too big inline request");
        return STEP_WAIT;
    }
    const char *line = rr->in.data + rr->pos;
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
    rr->pos += (size_t)nl + 1;
    if (req->argc == 0) {
        request_free(req);
        return STEP_SKIP;
    }
    *out = req;
    return STEP_GO;
}

static int reader_fail(struct resp_reader *rr, char *errmsg, size_t errlen)
{
    if (rr->err[0] == '\0')
        reader_set_error(rr, "Protocol error: unexpected input");
    rr->dead = 1;
    if (errlen > 0)
        snprintf(errmsg, errlen, "%s", rr->err);
    return RESP_ERR_PROTOCOL;
}

int resp_reader_next(struct resp_reader *rr, struct request **out, char *errmsg, size_t errlen)
{
    *out = NULL;
    if (rr->dead)
        return reader_fail(rr, errmsg, errlen);
    for (;;) {
        int step;
        if (rr->nelem > 0)
            step = multibulk_step(rr, out);
        else if (rr->pos == rr->in.len)
            step = STEP_WAIT;
        else if (rr->in.data[rr->pos] != '*')
            step = inline_next(rr, out);
        else
            step = root_header(rr, out);
        if (step == STEP_ERR)
            return reader_fail(rr, errmsg, errlen);
        if (*out != NULL)
            return RESP_OK;
        if (step == STEP_WAIT) {
            if (rr->pos == rr->in.len)
                reader_compact(rr); /* releases a large, now empty, buffer */
            return RESP_INCOMPLETE;
        }
    }
}

/* ---------------------------------------------------------------- replies */

/* "<type><n>\r\n" */
static void reply_header(struct buf *out, char type, long long n)
{
    char *p = buf_reserve(out, 32);
    p[0] = type;
    size_t k = 1 + util_ll2str(p + 1, n);
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

static struct {
    resp_error_fn *fn;
    void *arg;
    int muted;
} error_hook;

void resp_set_error_hook(resp_error_fn *fn, void *arg)
{
    error_hook.fn = fn;
    error_hook.arg = arg;
}

void resp_mute_errors(int mute)
{
    error_hook.muted = mute;
}

void reply_error(struct buf *out, const char *msg)
{
    if (error_hook.fn != NULL && !error_hook.muted)
        error_hook.fn(error_hook.arg, msg);
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
    size_t k = 1 + util_ll2str(d + 1, (long long)len);
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
    reply_bulk(out, tmp, util_ll2str(tmp, v));
}

/* OUT takes RESP3's types (maps, sets, doubles ...): a RESP3 client's or apply's. */
static int resp3_types(const struct buf *out)
{
    return out->resp == RESP3 || out->resp == RESP_APPLY;
}

void reply_null(struct buf *out)
{
    if (out->resp == RESP3)
        buf_append(out, "_\r\n", 3);
    else
        buf_append(out, "$-1\r\n", 5);
}

void reply_null_array(struct buf *out)
{
    if (out->resp == RESP3)
        buf_append(out, "_\r\n", 3);
    else
        buf_append(out, "*-1\r\n", 5);
}

void reply_array(struct buf *out, long long n)
{
    reply_header(out, '*', n);
}

void reply_map_len(struct buf *out, long long n)
{
    if (resp3_types(out))
        reply_header(out, '%', n);
    else
        reply_header(out, '*', 2 * n);
}

void reply_set_len(struct buf *out, long long n)
{
    reply_header(out, resp3_types(out) ? '~' : '*', n);
}

void reply_push_len(struct buf *out, long long n)
{
    reply_header(out, resp3_types(out) ? '>' : '*', n);
}

void reply_double(struct buf *out, double d)
{
    char tmp[64];
    int n;
    if (isinf(d))
        n = snprintf(tmp, sizeof(tmp), "%s", d > 0 ? "inf" : "-inf");
    else
        n = snprintf(tmp, sizeof(tmp), "%.17g", d);
    if (!resp3_types(out)) {
        reply_bulk(out, tmp, (size_t)n);
        return;
    }
    buf_printf(out, ",%s\r\n", tmp);
}

void reply_bool(struct buf *out, int b)
{
    if (resp3_types(out))
        buf_append(out, b ? "#t\r\n" : "#f\r\n", 4);
    else
        buf_append(out, b ? ":1\r\n" : ":0\r\n", 4);
}

void reply_verbatim(struct buf *out, const char *p, size_t len)
{
    if (!resp3_types(out)) {
        reply_bulk(out, p, len);
        return;
    }
    buf_printf(out, "=%zu\r\ntxt:", len + 4);
    buf_append(out, p, len);
    buf_append(out, "\r\n", 2);
}

void reply_bignum(struct buf *out, const char *digits)
{
    if (!resp3_types(out)) {
        reply_bulk_cstr(out, digits);
        return;
    }
    buf_printf(out, "(%s\r\n", digits);
}

void reply_pairs_len(struct buf *out, long long n)
{
    if (out->resp == RESP_APPLY)
        reply_header(out, '@', n);
    else
        reply_header(out, '*', out->resp == RESP3 ? n : 2 * n);
}

void reply_pair(struct buf *out)
{
    if (out->resp == RESP_APPLY)
        buf_append(out, "&2\r\n", 4);
    else if (out->resp == RESP3)
        buf_append(out, "*2\r\n", 4);
}

/* ---- RESP_APPLY (or RESP2) to the client's protocol ---- */

void reply_convert(struct buf *out, const char *p, size_t len)
{
    const char *end = p + len;
    if (out->resp == RESP_APPLY) {
        buf_append(out, p, len);
        return;
    }
    int to3 = out->resp == RESP3;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL || eol == p || eol[-1] != '\r') {
            buf_append(out, p, (size_t)(end - p)); /* not ours to judge: as it is */
            return;
        }
        const char *line = p + 1;
        size_t llen = (size_t)(eol - 1 - line);
        const char *next = eol + 1;
        long long n = 0;
        int num = util_parse_ll(line, llen, &n) == 0;
        char type = *p;
        if ((type == '$' || type == '=') && num && n >= 0) {
            if ((size_t)(end - next) < (size_t)n + 2) {
                buf_append(out, p, (size_t)(end - p));
                return;
            }
            if (type == '=' && !to3 && n >= 4)
                reply_bulk(out, next + 4, (size_t)n - 4);
            else
                buf_append(out, p, (size_t)(next + n + 2 - p));
            p = next + n + 2;
            continue;
        }
        if ((type == '@' || type == '&') && num) {
            if (to3)
                reply_header(out, '*', n);
            else if (type == '@')
                reply_header(out, '*', 2 * n);
        } else if (to3) {
            if ((type == '$' || type == '*') && num && n == -1)
                buf_append(out, "_\r\n", 3);
            else
                buf_append(out, p, (size_t)(next - p));
        } else if (type == '%' && num) {
            reply_header(out, '*', 2 * n);
        } else if ((type == '~' || type == '>') && num) {
            reply_header(out, '*', n);
        } else if (type == ',' || type == '(') {
            reply_bulk(out, line, llen);
        } else if (type == '#') {
            buf_append(out, llen == 1 && line[0] == 't' ? ":1\r\n" : ":0\r\n", 4);
        } else if (type == '_') {
            buf_append(out, "$-1\r\n", 5);
        } else {
            buf_append(out, p, (size_t)(next - p));
        }
        p = next;
    }
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
