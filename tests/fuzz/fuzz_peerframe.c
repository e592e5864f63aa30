/* Fuzz target: the raft frame validator (src/peerframe.c), which stands between a peer and
 * raft 0.15's decoder. The first byte chooses the chunk sizes, the second max_message.
 * Checks: the verdict and the count of complete messages are the same fed in chunks as fed
 * in one piece; after a refusal every later byte is refused; no crash, leak or overflow on
 * any stream; and peerframe_conf_ok on the input as a configuration never reads past it. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "peerframe.h"

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
    {
        uint8_t *copy = malloc(size ? size : 1);
        memcpy(copy, data, size);
        (void)peerframe_conf_ok(copy, size);
        free(copy);
    }
    return 0;
}
