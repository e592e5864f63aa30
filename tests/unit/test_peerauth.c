/* Unit tests for peerauth.c (the challenge-response messages, HMAC proofs, raft's handshake,
 * the join proof) and peerframe.c (validation of raft messages before libraft decodes them),
 * with no sockets: the frames are built here in raft 0.15's wire format. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peerauth.h"
#include "peerframe.h"

#define MAX (1u << 20)

/* ---- a little frame builder ---- */

struct fb {
    uint8_t data[8192];
    size_t len;
};

static void put64(struct fb *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b->data[b->len++] = (uint8_t)(v >> (8 * i));
}

static void put_bytes(struct fb *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* Entry descriptor: term, type, 3 unused, len u32. */
static void put_entry(struct fb *b, uint64_t term, uint8_t type, uint32_t len)
{
    put64(b, term);
    b->data[b->len++] = type;
    memset(b->data + b->len, 0, 3);
    b->len += 3;
    for (int i = 0; i < 4; i++)
        b->data[b->len++] = (uint8_t)(len >> (8 * i));
}

/* A raft configuration of one voter (id, address), as configurationEncode writes it. */
static size_t conf_encode(uint8_t *out, uint64_t id, const char *addr)
{
    size_t n = 0;
    out[n++] = 1;
    for (int i = 0; i < 8; i++)
        out[n++] = (uint8_t)((uint64_t)1 >> (8 * i));
    for (int i = 0; i < 8; i++)
        out[n++] = (uint8_t)(id >> (8 * i));
    memcpy(out + n, addr, strlen(addr) + 1);
    n += strlen(addr) + 1;
    out[n++] = 1; /* RAFT_VOTER */
    while (n % 8)
        out[n++] = 0;
    return n;
}

/* AppendEntries with N entries of LENS and TYPES, payload bytes FILL (or confs for type 3). */
static void build_append(struct fb *b, int n, const uint32_t *lens, const uint8_t *types,
                         const uint8_t *payload)
{
    size_t header = 48 + 16 * (size_t)n, plen = 0;
    put64(b, 1);
    put64(b, header);
    for (int i = 0; i < 4; i++)
        put64(b, 7);
    put64(b, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        put_entry(b, 2, types[i], lens[i]);
        plen += lens[i];
    }
    put64(b, 0); /* the 8 bytes the 0.15 encoder adds */
    put_bytes(b, payload, plen);
}

static int feed_all(const struct fb *b, size_t step)
{
    struct peerframe pf;
    char err[200];
    int rv = 0;
    peerframe_init(&pf, MAX);
    for (size_t off = 0; off < b->len && rv == 0; off += step)
        rv = peerframe_feed(&pf, b->data + off, off + step > b->len ? b->len - off : step, err, sizeof(err));
    peerframe_close(&pf);
    return rv;
}

/* ---- peerauth ---- */

Test(peerauth, hello_and_challenge_round_trip)
{
    uint8_t nonce[PEERAUTH_NONCE], nonce2[PEERAUTH_NONCE], mac[PEERAUTH_MAC], mac2[PEERAUTH_MAC];
    uint8_t hello[PEERAUTH_HELLO_SIZE], ch[PEERAUTH_CHALLENGE_SIZE];
    uint64_t id;
    cr_assert_eq(peerauth_nonce(nonce), 0);
    memset(mac, 0xab, sizeof(mac));
    peerauth_hello_encode(hello, 42, nonce);
    cr_assert_eq(peerauth_hello_decode(hello, &id, nonce2), 0);
    cr_assert_eq(id, 42);
    cr_assert_arr_eq(nonce, nonce2, PEERAUTH_NONCE);
    peerauth_challenge_encode(ch, 7, nonce, mac);
    cr_assert_eq(peerauth_challenge_decode(ch, &id, nonce2, mac2), 0);
    cr_assert_eq(id, 7);
    cr_assert_arr_eq(mac, mac2, PEERAUTH_MAC);
}

Test(peerauth, raft_plain_handshake_is_not_a_hello)
{
    uint8_t raw[PEERAUTH_HELLO_SIZE] = {0}, nonce[PEERAUTH_NONCE];
    uint64_t id;
    raw[0] = 1; /* raft's protocol 1 where our magic should be */
    cr_assert_eq(peerauth_hello_decode(raw, &id, nonce), -1);
    peerauth_hello_encode(raw, 0, nonce);
    cr_assert_eq(peerauth_hello_decode(raw, &id, nonce), -1, "id 0 refused");
}

Test(peerauth, macs_depend_on_secret_direction_nonces_and_ids)
{
    uint8_t nc[PEERAUTH_NONCE] = {1}, ns[PEERAUTH_NONCE] = {2}, a[PEERAUTH_MAC], b[PEERAUTH_MAC];
    peerauth_mac("s", PEERAUTH_ACCEPTOR, nc, ns, 1, 2, a);
    peerauth_mac("s", PEERAUTH_ACCEPTOR, nc, ns, 1, 2, b);
    cr_assert(peerauth_mac_equal(a, b));
    peerauth_mac("s", PEERAUTH_CONNECTOR, nc, ns, 1, 2, b);
    cr_assert_not(peerauth_mac_equal(a, b), "direction");
    peerauth_mac("t", PEERAUTH_ACCEPTOR, nc, ns, 1, 2, b);
    cr_assert_not(peerauth_mac_equal(a, b), "secret");
    peerauth_mac("s", PEERAUTH_ACCEPTOR, ns, nc, 1, 2, b);
    cr_assert_not(peerauth_mac_equal(a, b), "nonces swapped");
    peerauth_mac("s", PEERAUTH_ACCEPTOR, nc, ns, 2, 1, b);
    cr_assert_not(peerauth_mac_equal(a, b), "ids swapped");
}

Test(peerauth, raft_handshake_round_trip_and_bounds)
{
    uint8_t buf[128];
    uint64_t id;
    size_t alen;
    char err[160];
    size_t n = peerauth_raft_handshake_encode(buf, sizeof(buf), 3, "127.0.0.1:17003");
    cr_assert_eq(n, 24 + 16);
    cr_assert_eq(peerauth_raft_preamble_decode(buf, &id, &alen, err, sizeof(err)), 0);
    cr_assert_eq(id, 3);
    cr_assert_eq(alen, 16);
    cr_assert(peerauth_raft_address_ok(buf + 24, alen));
    char longaddr[100];
    memset(longaddr, 'x', 99);
    longaddr[99] = '\0';
    cr_assert_eq(peerauth_raft_handshake_encode(buf, sizeof(buf), 3, longaddr), 0);
}

Test(peerauth, malformed_raft_handshakes_are_refused)
{
    uint8_t pre[24] = {0}, addr[16];
    uint64_t id;
    size_t alen;
    char err[160];
    pre[0] = 1;
    pre[8] = 2;
    pre[16] = 0xff;
    pre[17] = 0xff; /* address length 65535 */
    cr_assert_eq(peerauth_raft_preamble_decode(pre, &id, &alen, err, sizeof(err)), -1);
    cr_assert(strstr(err, "address length") != NULL, "%s", err);
    pre[16] = 16;
    pre[17] = 0;
    pre[0] = 2;
    cr_assert_eq(peerauth_raft_preamble_decode(pre, &id, &alen, err, sizeof(err)), -1);
    memset(addr, 'a', sizeof(addr));
    cr_assert_not(peerauth_raft_address_ok(addr, sizeof(addr)), "no NUL");
    memset(addr, 0, sizeof(addr));
    cr_assert_not(peerauth_raft_address_ok(addr, sizeof(addr)), "empty");
}

Test(peerauth, join_proof_checks_secret_and_every_field)
{
    char proof[PEERAUTH_JOIN_PROOF_SIZE];
    peerauth_join_proof("sec", 4, "127.0.0.1:1", "127.0.0.1:2", "", proof);
    cr_assert_eq(strlen(proof), 64);
    cr_assert(peerauth_join_check("sec", 4, "127.0.0.1:1", "127.0.0.1:2", "", proof));
    cr_assert_not(peerauth_join_check("other", 4, "127.0.0.1:1", "127.0.0.1:2", "", proof));
    cr_assert_not(peerauth_join_check("sec", 5, "127.0.0.1:1", "127.0.0.1:2", "", proof));
    cr_assert_not(peerauth_join_check("sec", 4, "127.0.0.1:9", "127.0.0.1:2", "", proof));
    cr_assert_not(peerauth_join_check("sec", 4, "127.0.0.1:1", "127.0.0.1:2", "x", proof));
    cr_assert_not(peerauth_join_check("sec", 4, "127.0.0.1:1", "127.0.0.1:2", "", "00"));
    cr_assert_not(peerauth_join_check("sec", 4, "127.0.0.1:1", "127.0.0.1:2", "", NULL));
}

/* ---- peerframe ---- */

Test(peerframe, valid_messages_pass_in_one_chunk_or_byte_by_byte)
{
    struct fb b = {0};
    /* RequestVote (40), AppendEntries heartbeat, AppendEntries with a command and a
     * configuration entry, InstallSnapshot. */
    put64(&b, 3);
    put64(&b, 40);
    for (int i = 0; i < 5; i++)
        put64(&b, 1);
    uint32_t hb_lens[1] = {0};
    uint8_t hb_types[1] = {0};
    build_append(&b, 0, hb_lens, hb_types, NULL);
    uint8_t payload[256] = {0};
    size_t clen = conf_encode(payload + 64, 1, "127.0.0.1:1");
    uint32_t lens[2] = {64, (uint32_t)clen};
    uint8_t types[2] = {1, 3};
    build_append(&b, 2, lens, types, payload);
    uint8_t conf[64];
    size_t cl = conf_encode(conf, 2, "127.0.0.1:2");
    put64(&b, 5);
    put64(&b, 56 + cl);
    for (int i = 0; i < 4; i++)
        put64(&b, 9);
    put64(&b, cl);
    put_bytes(&b, conf, cl);
    put64(&b, 100); /* snapshot data */
    put64(&b, 0);
    uint8_t snap[100] = {0};
    put_bytes(&b, snap, sizeof(snap));
    cr_assert_eq(feed_all(&b, b.len), 0);
    cr_assert_eq(feed_all(&b, 1), 0);
    cr_assert_eq(feed_all(&b, 7), 0);
}

/* The 56-byte repro of issue 15 after its 32-byte handshake: AppendEntries, header of 8. */
Test(peerframe, short_append_entries_header_is_refused)
{
    struct fb b = {0};
    put64(&b, 1);
    put64(&b, 8);
    put64(&b, 0);
    cr_assert_eq(feed_all(&b, b.len), -1);
}

Test(peerframe, ten_million_entries_in_a_small_header_are_refused)
{
    struct fb b = {0};
    put64(&b, 1);
    put64(&b, 48);
    for (int i = 0; i < 4; i++)
        put64(&b, 1);
    put64(&b, 10000000);
    put64(&b, 0);
    cr_assert_eq(feed_all(&b, b.len), -1);
}

Test(peerframe, oversized_and_unknown_messages_are_refused)
{
    struct fb b = {0};
    put64(&b, 1);
    put64(&b, (uint64_t)MAX * 2);
    cr_assert_eq(feed_all(&b, b.len), -1, "header over max");
    b.len = 0;
    put64(&b, 9);
    put64(&b, 24);
    cr_assert_eq(feed_all(&b, b.len), -1, "unknown type");
    b.len = 0;
    put64(&b, 0);
    put64(&b, 24);
    cr_assert_eq(feed_all(&b, b.len), -1, "type 0");
    b.len = 0;
    put64(&b, 3);
    put64(&b, 36);
    cr_assert_eq(feed_all(&b, b.len), -1, "RequestVote of 36 bytes");
    b.len = 0;
    put64(&b, 6);
    put64(&b, 100000);
    cr_assert_eq(feed_all(&b, b.len), -1, "TimeoutNow of 100000 bytes");
    b.len = 0;
    put64(&b, 2);
    put64(&b, 0);
    cr_assert_eq(feed_all(&b, b.len), -1, "empty header");
}

Test(peerframe, entry_payload_over_max_is_refused)
{
    struct fb b = {0};
    uint32_t lens[2] = {MAX / 2, MAX / 2 + 8};
    uint8_t types[2] = {1, 1};
    put64(&b, 1);
    put64(&b, 48 + 32);
    for (int i = 0; i < 4; i++)
        put64(&b, 1);
    put64(&b, 2);
    put_entry(&b, 1, types[0], lens[0]);
    put_entry(&b, 1, types[1], lens[1]);
    put64(&b, 0);
    cr_assert_eq(feed_all(&b, b.len), -1);
}

Test(peerframe, unaligned_entries_and_bad_types_are_refused)
{
    uint8_t payload[64] = {0};
    struct fb b = {0};
    uint32_t lens[2] = {12, 8};
    uint8_t types[2] = {1, 1};
    build_append(&b, 2, lens, types, payload);
    cr_assert_eq(feed_all(&b, b.len), -1, "unaligned first entry");
    b.len = 0;
    uint32_t lens2[2] = {8, 12};
    build_append(&b, 2, lens2, types, payload);
    cr_assert_eq(feed_all(&b, b.len), 0, "only the last entry may be unaligned");
    b.len = 0;
    uint8_t types2[1] = {9};
    build_append(&b, 1, lens, types2, payload);
    cr_assert_eq(feed_all(&b, b.len), -1, "entry type 9");
}

Test(peerframe, malformed_configuration_entry_is_refused)
{
    uint8_t payload[64];
    struct fb b = {0};
    size_t n = conf_encode(payload, 1, "127.0.0.1:1");
    memset(payload + 17, 'x', n - 17); /* the address loses its NUL */
    uint32_t lens[1] = {(uint32_t)n};
    uint8_t types[1] = {3};
    build_append(&b, 1, lens, types, payload);
    cr_assert_eq(feed_all(&b, b.len), -1);
    cr_assert_eq(feed_all(&b, 3), -1);
}

Test(peerframe, install_snapshot_with_bad_sizes_is_refused)
{
    uint8_t conf[64];
    size_t cl = conf_encode(conf, 2, "127.0.0.1:2");
    struct fb b = {0};
    put64(&b, 5);
    put64(&b, 56 + cl);
    for (int i = 0; i < 4; i++)
        put64(&b, 9);
    put64(&b, cl + 1000); /* configuration past the header */
    put_bytes(&b, conf, cl);
    put64(&b, 8);
    put64(&b, 0);
    cr_assert_eq(feed_all(&b, b.len), -1);
    b.len = 0;
    put64(&b, 5);
    put64(&b, 56 + cl);
    for (int i = 0; i < 4; i++)
        put64(&b, 9);
    put64(&b, cl);
    put_bytes(&b, conf, cl);
    put64(&b, (uint64_t)MAX * 4); /* snapshot over max */
    put64(&b, 0);
    cr_assert_eq(feed_all(&b, b.len), -1);
}

Test(peerframe, configuration_checker)
{
    uint8_t conf[64];
    size_t n = conf_encode(conf, 1, "a:1");
    cr_assert(peerframe_conf_ok(conf, n));
    cr_assert_not(peerframe_conf_ok(conf, 0));
    conf[0] = 2;
    cr_assert_not(peerframe_conf_ok(conf, n), "format 2");
    conf[0] = 1;
    conf[1] = 200; /* 200 servers */
    cr_assert_not(peerframe_conf_ok(conf, n));
    conf[1] = 1;
    memset(conf + 9, 0, 8); /* id 0 */
    cr_assert_not(peerframe_conf_ok(conf, n));
}

Test(peerframe, a_refused_stream_stays_refused)
{
    struct peerframe pf;
    char err[200];
    uint8_t bad[16] = {42};
    uint8_t good[16] = {0};
    peerframe_init(&pf, MAX);
    cr_assert_eq(peerframe_feed(&pf, bad, sizeof(bad), err, sizeof(err)), -1);
    cr_assert(strstr(err, "unknown message type") != NULL, "%s", err);
    cr_assert_eq(peerframe_feed(&pf, good, sizeof(good), err, sizeof(err)), -1);
    peerframe_close(&pf);
}
