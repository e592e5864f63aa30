/* Peer authentication messages and proofs (see peerauth.h). HMAC-SHA256 and the constant-
 * time comparison come from OpenSSL's libcrypto; nonces from getrandom. No I/O. */
#include "peerauth.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static const char MAGIC[8] = {'C', 'K', 'V', 'A', 'U', 'T', 'H', '1'};
static const char LABEL_ACCEPTOR[16] = "ckv-peer-accept";   /* 15 chars + NUL */
static const char LABEL_CONNECTOR[16] = "ckv-peer-connect"; /* 16 chars, no NUL */

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

int peerauth_nonce(uint8_t nonce[PEERAUTH_NONCE])
{
    size_t got = 0;
    while (got < PEERAUTH_NONCE) {
        ssize_t n = getrandom(nonce + got, PEERAUTH_NONCE - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

void peerauth_hello_encode(uint8_t out[PEERAUTH_HELLO_SIZE], uint64_t id,
                           const uint8_t nonce[PEERAUTH_NONCE])
{
    memcpy(out, MAGIC, 8);
    put64(out + 8, id);
    memcpy(out + 16, nonce, PEERAUTH_NONCE);
}

int peerauth_hello_decode(const uint8_t in[PEERAUTH_HELLO_SIZE], uint64_t *id,
                          uint8_t nonce[PEERAUTH_NONCE])
{
    if (memcmp(in, MAGIC, 8) != 0)
        return -1;
    *id = get64(in + 8);
    memcpy(nonce, in + 16, PEERAUTH_NONCE);
    return *id == 0 ? -1 : 0;
}

void peerauth_challenge_encode(uint8_t out[PEERAUTH_CHALLENGE_SIZE], uint64_t id,
                               const uint8_t nonce[PEERAUTH_NONCE], const uint8_t mac[PEERAUTH_MAC])
{
    peerauth_hello_encode(out, id, nonce);
    memcpy(out + PEERAUTH_HELLO_SIZE, mac, PEERAUTH_MAC);
}

int peerauth_challenge_decode(const uint8_t in[PEERAUTH_CHALLENGE_SIZE], uint64_t *id,
                              uint8_t nonce[PEERAUTH_NONCE], uint8_t mac[PEERAUTH_MAC])
{
    if (peerauth_hello_decode(in, id, nonce) != 0)
        return -1;
    memcpy(mac, in + PEERAUTH_HELLO_SIZE, PEERAUTH_MAC);
    return 0;
}

void peerauth_mac(const char *secret, enum peerauth_dir dir, const uint8_t nonce_c[PEERAUTH_NONCE],
                  const uint8_t nonce_s[PEERAUTH_NONCE], uint64_t id_c, uint64_t id_s,
                  uint8_t out[PEERAUTH_MAC])
{
    uint8_t msg[16 + 2 * PEERAUTH_NONCE + 16];
    unsigned int len = PEERAUTH_MAC;
    memcpy(msg, dir == PEERAUTH_ACCEPTOR ? LABEL_ACCEPTOR : LABEL_CONNECTOR, 16);
    memcpy(msg + 16, nonce_c, PEERAUTH_NONCE);
    memcpy(msg + 16 + PEERAUTH_NONCE, nonce_s, PEERAUTH_NONCE);
    put64(msg + 16 + 2 * PEERAUTH_NONCE, id_c);
    put64(msg + 24 + 2 * PEERAUTH_NONCE, id_s);
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, sizeof(msg), out, &len) == NULL)
        memset(out, 0, PEERAUTH_MAC); /* never matches a peer's proof: the peer is refused */
}

int peerauth_mac_equal(const uint8_t a[PEERAUTH_MAC], const uint8_t b[PEERAUTH_MAC])
{
    return CRYPTO_memcmp(a, b, PEERAUTH_MAC) == 0;
}

size_t peerauth_raft_handshake_encode(uint8_t *out, size_t cap, uint64_t id, const char *address)
{
    size_t alen = strlen(address) + 1;
    size_t padded = (alen + 7) / 8 * 8;
    if (padded > PEERAUTH_MAX_ADDRESS || PEERAUTH_RAFT_PREAMBLE + padded > cap)
        return 0;
    put64(out, PEERAUTH_RAFT_PROTOCOL);
    put64(out + 8, id);
    put64(out + 16, padded);
    memset(out + PEERAUTH_RAFT_PREAMBLE, 0, padded);
    memcpy(out + PEERAUTH_RAFT_PREAMBLE, address, alen);
    return PEERAUTH_RAFT_PREAMBLE + padded;
}

int peerauth_raft_preamble_decode(const uint8_t in[PEERAUTH_RAFT_PREAMBLE], uint64_t *id,
                                  size_t *addr_len, char *err, size_t errlen)
{
    uint64_t protocol = get64(in), len = get64(in + 16);
    *id = get64(in + 8);
    if (protocol != PEERAUTH_RAFT_PROTOCOL) {
        snprintf(err, errlen, "raft handshake protocol %llu, expected %d",
                 (unsigned long long)protocol, PEERAUTH_RAFT_PROTOCOL);
        return -1;
    }
    if (*id == 0) {
        snprintf(err, errlen, "raft handshake with id 0");
        return -1;
    }
    if (len == 0 || len > PEERAUTH_MAX_ADDRESS) {
        snprintf(err, errlen, "raft handshake address length %llu (1 to %d allowed)",
                 (unsigned long long)len, PEERAUTH_MAX_ADDRESS);
        return -1;
    }
    *addr_len = (size_t)len;
    return 0;
}

int peerauth_raft_address_ok(const uint8_t *addr, size_t len)
{
    return len > 0 && addr[0] != '\0' && memchr(addr, '\0', len) != NULL;
}

static void join_mac(const char *secret, uint64_t id, const char *raft, const char *resp,
                     const char *admin, uint8_t out[PEERAUTH_MAC])
{
    char msg[512];
    unsigned int len = PEERAUTH_MAC;
    /* Fields NUL-separated ("%c" with 0), so no two field lists give the same message. */
    int n = snprintf(msg, sizeof(msg), "concordkv-join%c%llu%c%s%c%s%c%s", 0,
                     (unsigned long long)id, 0, raft, 0, resp, 0, admin);
    if (n < 0 || (size_t)n >= sizeof(msg) ||
        HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, (size_t)n,
             out, &len) == NULL)
        memset(out, 0, PEERAUTH_MAC);
}

void peerauth_join_proof(const char *secret, uint64_t id, const char *raft, const char *resp,
                         const char *admin, char out[PEERAUTH_JOIN_PROOF_SIZE])
{
    uint8_t mac[PEERAUTH_MAC];
    join_mac(secret, id, raft, resp, admin ? admin : "", mac);
    for (int i = 0; i < PEERAUTH_MAC; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

int peerauth_join_check(const char *secret, uint64_t id, const char *raft, const char *resp,
                        const char *admin, const char *proof)
{
    char want[PEERAUTH_JOIN_PROOF_SIZE];
    if (proof == NULL || strlen(proof) != PEERAUTH_JOIN_PROOF_SIZE - 1)
        return 0;
    peerauth_join_proof(secret, id, raft, resp, admin, want);
    return CRYPTO_memcmp(want, proof, PEERAUTH_JOIN_PROOF_SIZE - 1) == 0;
}

void peerauth_readindex_proof(const char *secret, uint64_t leader, uint64_t voter, uint64_t term,
                              uint64_t seq, int ok, long long remaining_ms,
                              char out[PEERAUTH_JOIN_PROOF_SIZE])
{
    char msg[160];
    uint8_t mac[PEERAUTH_MAC];
    unsigned int len = PEERAUTH_MAC;
    int n = snprintf(msg, sizeof(msg), "concordkv-readindex%c%llu%c%llu%c%llu%c%llu%c%d%c%lld", 0,
                     (unsigned long long)leader, 0, (unsigned long long)voter, 0,
                     (unsigned long long)term, 0, (unsigned long long)seq, 0, ok ? 1 : 0, 0,
                     remaining_ms);
    if (n < 0 || (size_t)n >= sizeof(msg) ||
        HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, (size_t)n,
             mac, &len) == NULL)
        memset(mac, 0, PEERAUTH_MAC);
    for (int i = 0; i < PEERAUTH_MAC; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

int peerauth_readindex_check(const char *secret, uint64_t leader, uint64_t voter, uint64_t term,
                             uint64_t seq, int ok, long long remaining_ms, const char *proof,
                             size_t len)
{
    char want[PEERAUTH_JOIN_PROOF_SIZE];
    if (secret == NULL || secret[0] == '\0' || proof == NULL || len != PEERAUTH_JOIN_PROOF_SIZE - 1)
        return 0;
    peerauth_readindex_proof(secret, leader, voter, term, seq, ok, remaining_ms, want);
    return CRYPTO_memcmp(want, proof, PEERAUTH_JOIN_PROOF_SIZE - 1) == 0;
}
