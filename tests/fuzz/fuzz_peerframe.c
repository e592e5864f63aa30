/* Fuzz target: the raft frame validator (src/peerframe.c), which stands between a peer and
 * raft 0.15's decoder. The first byte chooses the chunk sizes, the second max_message.
 * Checks: the verdict and the count of complete messages are the same fed in chunks as fed
 * in one piece; after a refusal every later byte is refused; no crash, leak or overflow on
 * any stream; peerframe_conf_ok on the input as a configuration never reads past it; and
 * every message the validator accepted is one that raft 0.15's decoder (uvDecodeMessage,
 * uvDecodeEntriesBatch, configurationDecode, as read in uv_encoding.c and configuration.c)
 * reads within its header and payload: that decoder is re-enacted here with bounds checks,
 * independently of peerframe.c. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "peerframe.h"

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* raft 0.15's configurationDecode on LEN bytes, every read checked. */
static void raft_conf_reads_in_bounds(const uint8_t *buf, uint64_t len)
{
    uint64_t pos = 0, n;
    FUZZ_CHECK(len > 0); /* raft asserts it */
    FUZZ_CHECK(pos + 1 <= len);
    if (buf[pos++] != 1)
        return; /* RAFT_MALFORMED: refused safely */
    FUZZ_CHECK(pos + 8 <= len);
    n = le64(buf + pos);
    pos += 8;
    for (uint64_t i = 0; i < n; i++) {
        FUZZ_CHECK(pos + 8 <= len); /* the id */
        pos += 8;
        FUZZ_CHECK(pos <= len);
        const uint8_t *nul = memchr(buf + pos, 0, (size_t)(len - pos));
        if (nul == NULL)
            return; /* byteGetString returns NULL: refused safely */
        pos = (uint64_t)(nul - buf) + 1;
        FUZZ_CHECK(pos + 1 <= len); /* the role */
        pos++;
    }
}

/* The first MESSAGES messages of the stream S (LEN bytes) as raft 0.15 decodes them. */
static void raft_decodes_in_bounds(const uint8_t *s, size_t len, uint64_t messages)
{
    size_t pos = 0;
    for (uint64_t m = 0; m < messages; m++) {
        FUZZ_CHECK(len - pos >= 16);
        uint64_t type = le64(s + pos), hlen = le64(s + pos + 8), payload = 0;
        pos += 16;
        FUZZ_CHECK(hlen > 0 && hlen <= len - pos);
        const uint8_t *h = s + pos;
        pos += (size_t)hlen;
        switch (type) {
        case 3: /* RequestVote: 32 bytes, 40 unless exactly 32 */
            FUZZ_CHECK(hlen >= (hlen == 32 ? 32 : 40));
            break;
        case 4: /* RequestVoteResult: 16, 24 when longer */
            FUZZ_CHECK(hlen >= (hlen > 16 ? 24 : 16));
            break;
        case 2: /* AppendEntriesResult */
        case 6: /* TimeoutNow */
            FUZZ_CHECK(hlen >= 24);
            break;
        case 1: { /* AppendEntries */
            FUZZ_CHECK(hlen >= 40);
            unsigned n = (unsigned)le64(h + 32); /* raft truncates it so */
            FUZZ_CHECK(40 + 16 * (uint64_t)n <= hlen);
            uint64_t lens[n ? n : 1];
            for (unsigned i = 0; i < n; i++) {
                const uint8_t *d = h + 40 + 16 * (size_t)i;
                FUZZ_CHECK(d[8] >= 1 && d[8] <= 3); /* else RAFT_MALFORMED; accepted? */
                lens[i] = (uint32_t)(d[12] | d[13] << 8 | d[14] << 16 | (uint32_t)d[15] << 24);
                payload += lens[i];
            }
            FUZZ_CHECK(payload <= len - pos);
            /* uvDecodeEntriesBatch: entries sliced at padded offsets of the payload */
            uint64_t off = 0;
            for (unsigned i = 0; i < n; i++) {
                const uint8_t *d = h + 40 + 16 * (size_t)i;
                if (lens[i] == 0)
                    continue;
                FUZZ_CHECK(off + lens[i] <= payload);
                if (d[8] == 3)
                    raft_conf_reads_in_bounds(s + pos + off, lens[i]);
                off += (lens[i] + 7) / 8 * 8;
            }
            break;
        }
        case 5: { /* InstallSnapshot */
            FUZZ_CHECK(hlen >= 48);
            uint64_t clen = le64(h + 32);
            FUZZ_CHECK(clen <= hlen - 48);
            raft_conf_reads_in_bounds(h + 40, clen);
            payload = le64(h + 40 + clen);
            FUZZ_CHECK(payload <= len - pos);
            break;
        }
        default:
            FUZZ_CHECK(!"an unknown message type was accepted");
        }
        pos += (size_t)payload;
    }
}

static int run(const uint8_t *data, size_t size, uint64_t max_message, uint8_t seed, int whole,
               uint64_t *messages)
{
    struct peerframe pf;
    char err[256];
    size_t off = 0;
    uint32_t x = seed * 2654435761u + 7;
    int rc = 0;

    peerframe_init(&pf, max_message);
    while (off < size) {
        size_t chunk = size - off;
        if (!whole) {
            x = x * 1103515245u + 12345u;
            chunk = 1 + (x >> 16) % (seed & 0x80 ? 5 : 97);
            if (chunk > size - off)
                chunk = size - off;
        }
        err[0] = '\0';
        rc = peerframe_feed(&pf, data + off, chunk, err, sizeof(err));
        if (rc != 0) {
            FUZZ_CHECK(rc == -1 && err[0] != '\0');
            uint8_t more = 0;
            FUZZ_CHECK(peerframe_feed(&pf, &more, 1, err, sizeof(err)) == -1);
            break;
        }
        off += chunk;
    }
    *messages = pf.messages;
    peerframe_close(&pf);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t max_message, m1, m2;
    uint8_t seed;
    int r1, r2;

    if (size < 2)
        return 0;
    seed = data[0];
    max_message = data[1] & 1 ? 64ULL << 20 : 64 + (uint64_t)data[1] * 16;
    data += 2;
    size -= 2;
    r1 = run(data, size, max_message, seed, 0, &m1);
    r2 = run(data, size, max_message, seed, 1, &m2);
    FUZZ_CHECK(r1 == r2);
    FUZZ_CHECK(m1 == m2);
    raft_decodes_in_bounds(data, size, m1);
    {
        uint8_t *copy = malloc(size ? size : 1);
        memcpy(copy, data, size);
        (void)peerframe_conf_ok(copy, size);
        free(copy);
    }
    return 0;
}
