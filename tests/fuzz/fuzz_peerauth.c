/* Fuzz target: the raft port's handshake parsing (src/peerauth.c): the input is read as a
 * HELLO, a CHALLENGE, and raft's handshake (preamble, then the address bytes it announces).
 * Checks: whatever decodes re-encodes to the same bytes; an accepted raft handshake's
 * address is a non-empty C string within the announced length, which encodes again. */
#include <string.h>

#include "fuzz.h"
#include "peerauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t nonce[PEERAUTH_NONCE], mac[PEERAUTH_MAC], again[PEERAUTH_CHALLENGE_SIZE];
    uint8_t in[PEERAUTH_CHALLENGE_SIZE];
    uint64_t id;
    size_t addr_len;
    char err[256] = "";

    if (size >= PEERAUTH_HELLO_SIZE) {
        memcpy(in, data, PEERAUTH_HELLO_SIZE);
        if (peerauth_hello_decode(in, &id, nonce) == 0) {
            FUZZ_CHECK(id != 0);
            peerauth_hello_encode(again, id, nonce);
            FUZZ_CHECK(memcmp(again, in, PEERAUTH_HELLO_SIZE) == 0);
        }
    }
    if (size >= PEERAUTH_CHALLENGE_SIZE) {
        memcpy(in, data, PEERAUTH_CHALLENGE_SIZE);
        if (peerauth_challenge_decode(in, &id, nonce, mac) == 0) {
            peerauth_challenge_encode(again, id, nonce, mac);
            FUZZ_CHECK(memcmp(again, in, PEERAUTH_CHALLENGE_SIZE) == 0);
        }
    }
    if (size >= PEERAUTH_RAFT_PREAMBLE) {
        memcpy(in, data, PEERAUTH_RAFT_PREAMBLE);
        if (peerauth_raft_preamble_decode(in, &id, &addr_len, err, sizeof(err)) != 0) {
            FUZZ_CHECK(err[0] != '\0');
            return 0;
        }
        FUZZ_CHECK(id != 0 && addr_len > 0 && addr_len <= PEERAUTH_MAX_ADDRESS);
        if (size - PEERAUTH_RAFT_PREAMBLE < addr_len)
            return 0;
        uint8_t addr[PEERAUTH_MAX_ADDRESS];
        memcpy(addr, data + PEERAUTH_RAFT_PREAMBLE, addr_len);
        if (peerauth_raft_address_ok(addr, addr_len)) {
            size_t alen = strlen((const char *)addr);
            uint8_t out[PEERAUTH_RAFT_PREAMBLE + PEERAUTH_MAX_ADDRESS];
            FUZZ_CHECK(alen > 0 && alen < addr_len);
            size_t n = peerauth_raft_handshake_encode(out, sizeof(out), id, (const char *)addr);
            FUZZ_CHECK(n > PEERAUTH_RAFT_PREAMBLE && n <= PEERAUTH_RAFT_PREAMBLE + addr_len + 7);
        }
    }
    return 0;
}
