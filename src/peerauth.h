/* Peer authentication on the raft port: the messages of the mutual challenge-response that
 * runs before raft's own handshake, their HMAC-SHA256 proofs, raft 0.15's handshake, and the
 * proof a joining node sends with CLUSTER JOIN. Pure: no sockets, no loop.
 *
 * The exchange (all integers little endian):
 *   connecting side -> HELLO     "CKVAUTH1" | id_c u64 | nonce_c[32]                 (48 bytes)
 *   accepting side  -> CHALLENGE "CKVAUTH1" | id_s u64 | nonce_s[32] | mac_s[32]     (80 bytes)
 *   connecting side -> PROOF     mac_c[32], then raft's handshake (protocol 1, id, address
 *                                length, NUL-padded address) and raft's messages.
 * mac_x = HMAC-SHA256(secret, label_x | nonce_c | nonce_s | id_c | id_s), with a different
 * label per direction, so neither proof can be replayed or reflected. */
#ifndef CONCORDKV_PEERAUTH_H
#define CONCORDKV_PEERAUTH_H

#include <stddef.h>
#include <stdint.h>

#define PEERAUTH_NONCE 32
#define PEERAUTH_MAC 32
#define PEERAUTH_HELLO_SIZE 48
#define PEERAUTH_CHALLENGE_SIZE 80
#define PEERAUTH_PROOF_SIZE PEERAUTH_MAC
/* raft 0.15's handshake: protocol, id, padded address length, then the address. */
#define PEERAUTH_RAFT_PREAMBLE 24
#define PEERAUTH_RAFT_PROTOCOL 1
/* Longest handshake address accepted (NUL and padding included). */
#define PEERAUTH_MAX_ADDRESS 64
/* Hex proof of CLUSTER JOIN, with its NUL. */
#define PEERAUTH_JOIN_PROOF_SIZE (2 * PEERAUTH_MAC + 1)

enum peerauth_dir { PEERAUTH_ACCEPTOR, PEERAUTH_CONNECTOR };

/* Fill NONCE with random bytes (getrandom). Returns 0 or -1. */
int peerauth_nonce(uint8_t nonce[PEERAUTH_NONCE]);

void peerauth_hello_encode(uint8_t out[PEERAUTH_HELLO_SIZE], uint64_t id,
                           const uint8_t nonce[PEERAUTH_NONCE]);
/* Returns 0, or -1 when IN is not a HELLO (wrong magic, id 0). */
int peerauth_hello_decode(const uint8_t in[PEERAUTH_HELLO_SIZE], uint64_t *id,
                          uint8_t nonce[PEERAUTH_NONCE]);
void peerauth_challenge_encode(uint8_t out[PEERAUTH_CHALLENGE_SIZE], uint64_t id,
                               const uint8_t nonce[PEERAUTH_NONCE], const uint8_t mac[PEERAUTH_MAC]);
/* Returns 0, or -1 when IN is not a CHALLENGE. */
int peerauth_challenge_decode(const uint8_t in[PEERAUTH_CHALLENGE_SIZE], uint64_t *id,
                              uint8_t nonce[PEERAUTH_NONCE], uint8_t mac[PEERAUTH_MAC]);

/* The proof that side DIR knows SECRET, over both nonces and both ids. */
void peerauth_mac(const char *secret, enum peerauth_dir dir, const uint8_t nonce_c[PEERAUTH_NONCE],
                  const uint8_t nonce_s[PEERAUTH_NONCE], uint64_t id_c, uint64_t id_s,
                  uint8_t out[PEERAUTH_MAC]);
/* Constant-time comparison of two MACs: 1 when equal. */
int peerauth_mac_equal(const uint8_t a[PEERAUTH_MAC], const uint8_t b[PEERAUTH_MAC]);

/* Encode raft 0.15's handshake for ID and ADDRESS into OUT (CAP bytes). Returns its length,
 * or 0 when ADDRESS is too long. */
size_t peerauth_raft_handshake_encode(uint8_t *out, size_t cap, uint64_t id, const char *address);
/* Decode raft's handshake preamble: protocol 1, id > 0, 0 < address length <=
 * PEERAUTH_MAX_ADDRESS. Returns 0 or -1 with a reason in ERR. */
int peerauth_raft_preamble_decode(const uint8_t in[PEERAUTH_RAFT_PREAMBLE], uint64_t *id,
                                  size_t *addr_len, char *err, size_t errlen);
/* 1 when the LEN address bytes of the handshake hold a non-empty NUL-terminated string. */
int peerauth_raft_address_ok(const uint8_t *addr, size_t len);

/* CLUSTER JOIN's proof: hex HMAC-SHA256(SECRET, "concordkv-join" | id | raft | resp | admin),
 * fields NUL-separated; ADMIN may be "". */
void peerauth_join_proof(const char *secret, uint64_t id, const char *raft, const char *resp,
                         const char *admin, char out[PEERAUTH_JOIN_PROOF_SIZE]);
/* 1 when PROOF is the join proof of these fields under SECRET (constant time). */
int peerauth_join_check(const char *secret, uint64_t id, const char *raft, const char *resp,
                        const char *admin, const char *proof);

/* A voter's answer to a ReadIndex round (CLUSTER READINDEX): hex HMAC-SHA256(SECRET,
 * "concordkv-readindex" | leader | voter | term | seq | ok | remaining_ms), fields
 * NUL-separated. The round's seq is new for every round of a leader, so an answer cannot be
 * replayed into a later round. */
void peerauth_readindex_proof(const char *secret, uint64_t leader, uint64_t voter, uint64_t term,
                              uint64_t seq, int ok, long long remaining_ms,
                              char out[PEERAUTH_JOIN_PROOF_SIZE]);
/* 1 when PROOF (LEN bytes) is that answer's proof under SECRET (constant time); 0 without a
 * secret. */
int peerauth_readindex_check(const char *secret, uint64_t leader, uint64_t voter, uint64_t term,
                             uint64_t seq, int ok, long long remaining_ms, const char *proof,
                             size_t len);

#endif
