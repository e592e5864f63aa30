/* Fuzz target: the RESP reader and inline parser (src/resp.c). The first two bytes choose
 * the chunk sizes the rest is fed in and the max bulk length. Checks: every request has
 * argc >= 1, each argument is NUL-terminated at its length, pending bytes never exceed the
 * bytes fed, and the requests (and the final outcome) are the same fed in chunks as fed in
 * one piece. When the first byte has bit 6 set, "\xff N" in the rest stands for N * 256 bytes
 * of 'x' (so that short inputs reach the reader's big-bulk path, 32 KiB and up); inputs
 * stay under 64 KiB, where Redis's line limits would make the outcome depend on the chunks.
 * And the lengths match the input: the leading well-formed multibulk requests (*N and $L
 * with plain decimal numbers, 1 <= N <= 1024, L <= max bulk, CRLF where due), parsed here
 * independently, are the first requests the reader returns, argument by argument. */
#include <string.h>

#include "fuzz.h"
#include "resp.h"

#define MAX_REQS 4096

struct outcome {
    struct request *reqs[MAX_REQS];
    int n;
    int last; /* RESP_INCOMPLETE or RESP_ERR_PROTOCOL */
};

static void check_request(const struct request *req)
{
    FUZZ_CHECK(req->argc >= 1);
    FUZZ_CHECK(req->argc <= req->cap);
    for (int i = 0; i < req->argc; i++) {
        FUZZ_CHECK(req->argv[i] != NULL);
        FUZZ_CHECK(req->argv[i][req->len[i]] == '\0');
    }
}

/* Drain R into OUT; returns the code that stopped it. */
static int drain(struct resp_reader *r, struct outcome *out, size_t fed)
{
    char err[256];
    for (;;) {
        struct request *req = NULL;
        int rc = resp_reader_next(r, &req, err, sizeof(err));
        if (rc != RESP_OK) {
            FUZZ_CHECK(rc == RESP_INCOMPLETE || rc == RESP_ERR_PROTOCOL);
            if (rc == RESP_ERR_PROTOCOL)
                FUZZ_CHECK(strncmp(err, "Protocol error", 14) == 0);
            return rc;
        }
        FUZZ_CHECK(req != NULL);
        check_request(req);
        FUZZ_CHECK(resp_reader_pending(r) <= fed);
        if (out->n < MAX_REQS)
            out->reqs[out->n++] = req;
        else
            request_free(req);
    }
}

static void run(const uint8_t *data, size_t size, long long max_bulk, uint8_t chunk_seed,
                int whole, struct outcome *out)
{
    struct resp_reader *r = resp_reader_new(max_bulk);
    size_t off = 0, fed = 0;
    uint32_t x = chunk_seed * 2654435761u + 1;

    out->n = 0;
    out->last = RESP_INCOMPLETE;
    while (off < size) {
        size_t chunk = size - off;
        if (!whole) {
            x = x * 1103515245u + 12345u;
            chunk = 1 + (x >> 16) % (chunk_seed & 0x80 ? 7 : 64);
            if (chunk > size - off)
                chunk = size - off;
        }
        resp_reader_feed(r, (const char *)data + off, chunk);
        off += chunk;
        fed += chunk;
        out->last = drain(r, out, fed);
        if (out->last == RESP_ERR_PROTOCOL)
            break;
    }
    resp_reader_free(r);
}

/* A plain decimal number (no sign, no leading zero) ending in CRLF at P; -1 when not. */
static long long plain_number(const uint8_t *p, const uint8_t *end, const uint8_t **next)
{
    long long v = 0;
    const uint8_t *q = p;
    while (q < end && *q >= '0' && *q <= '9' && q - p < 12)
        v = v * 10 + (*q++ - '0');
    if (q == p || (q - p > 1 && *p == '0') || end - q < 2 || q[0] != '\r' || q[1] != '\n')
        return -1;
    *next = q + 2;
    return v;
}

/* Compare the leading well-formed multibulk requests of DATA with the reader's OUT. */
static void check_against_model(const uint8_t *data, size_t size, long long max_bulk,
                                const struct outcome *out)
{
    const uint8_t *p = data, *end = data + size;
    for (int r = 0; p < end && *p == '*'; r++) {
        const uint8_t *q;
        long long n = plain_number(p + 1, end, &q);
        if (n < 1 || n > 1024)
            return;
        const uint8_t *args[1024];
        size_t lens[1024];
        for (long long i = 0; i < n; i++) {
            if (q >= end || *q != '$')
                return;
            long long l = plain_number(q + 1, end, &q);
            if (l < 0 || l > max_bulk || end - q < l + 2 || q[l] != '\r' || q[l + 1] != '\n')
                return;
            args[i] = q;
            lens[i] = (size_t)l;
            q += l + 2;
        }
        FUZZ_CHECK(r < out->n || r >= MAX_REQS);
        if (r >= MAX_REQS)
            return;
        const struct request *req = out->reqs[r];
        FUZZ_CHECK(req->argc == n);
        for (long long i = 0; i < n; i++)
            FUZZ_CHECK(req->len[i] == lens[i] && memcmp(req->argv[i], args[i], lens[i]) == 0);
        p = q;
    }
}

static void outcome_free(struct outcome *o)
{
    for (int i = 0; i < o->n; i++)
        request_free(o->reqs[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct outcome a, b;
    long long max_bulk;
    uint8_t chunk_seed;

    if (size < 2)
        return 0;
    chunk_seed = data[0];
    max_bulk = data[1] & 1 ? 512LL * 1024 * 1024 : 1 + data[1] * 64;
    data += 2;
    size -= 2;
    static uint8_t expanded[65000];
    if (chunk_seed & 0x40) {
        size_t n = 0;
        for (size_t i = 0; i < size; i++) {
            if (data[i] == 0xff && i + 1 < size) {
                size_t k = (size_t)data[++i] * 256;
                if (n + k > sizeof(expanded))
                    return 0;
                memset(expanded + n, 'x', k);
                n += k;
            } else {
                if (n == sizeof(expanded))
                    return 0;
                expanded[n++] = data[i];
            }
        }
        data = expanded;
        size = n;
    } else if (size > sizeof(expanded)) {
        return 0;
    }
    run(data, size, max_bulk, chunk_seed, 0, &a);
    run(data, size, max_bulk, chunk_seed, 1, &b);
    FUZZ_CHECK(a.n == b.n);
    FUZZ_CHECK(a.last == b.last);
    for (int i = 0; i < a.n; i++) {
        FUZZ_CHECK(a.reqs[i]->argc == b.reqs[i]->argc);
        for (int j = 0; j < a.reqs[i]->argc; j++) {
            FUZZ_CHECK(a.reqs[i]->len[j] == b.reqs[i]->len[j]);
            FUZZ_CHECK(memcmp(a.reqs[i]->argv[j], b.reqs[i]->argv[j], a.reqs[i]->len[j]) == 0);
        }
    }
    check_against_model(data, size, max_bulk, &b);
    outcome_free(&a);
    outcome_free(&b);
    return 0;
}
