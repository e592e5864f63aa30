/* Writes the binary seeds of the fuzz targets into DIR/<target>/ (tests/fuzz/run.sh and
 * utils/fuzz.sh call it): entries made by the entry builder, a snapshot fsm_serialize writes
 * for a small keyspace, a HELLO, a CHALLENGE and raft's handshake, and raft 0.15 frames
 * (RequestVote, AppendEntries with a command and a configuration change). The first bytes
 * of the resp and peerframe seeds are the targets' chunking and limit bytes. The text seeds
 * live in tests/fuzz/corpus/. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "entry.h"
#include "fsm.h"
#include "kv.h"
#include "peerauth.h"
#include "util.h"

static const char *dir;

static void write_seed(const char *target, const char *name, const void *p, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fwrite(p, 1, len, fp) != len || fclose(fp) != 0) {
        perror(path);
        exit(1);
    }
}

/* An entry of N commands, each a line of space-separated words. */
static void *entry_of(int64_t clock, size_t *len, int n, const char *const *lines)
{
    struct entry_builder eb;
    entry_builder_init(&eb, ENTRY_COMMANDS);
    for (int i = 0; i < n; i++) {
        char *copy = xstrdup(lines[i]), *argv[16], *save = NULL;
        size_t lens[16];
        int argc = 0;
        for (char *w = strtok_r(copy, " ", &save); w && argc < 16; w = strtok_r(NULL, " ", &save)) {
            argv[argc] = w;
            lens[argc++] = strlen(w);
        }
        entry_builder_add(&eb, argc, argv, lens);
        free(copy);
    }
    return entry_builder_finish(&eb, clock, len);
}

static void put64(struct buf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    buf_append(b, x, 8);
}

static void put_entry_desc(struct buf *b, uint64_t term, uint8_t type, uint32_t len)
{
    uint8_t x[8] = {type, 0, 0, 0, (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                    (uint8_t)(len >> 24)};
    put64(b, term);
    buf_append(b, x, 8);
}

static void seeds_entry(void)
{
    static const char *const one[] = {"set k v"};
    static const char *const batch[] = {"set a 1", "incr a", "rpush l x y z", "del a b",
                                        "set e v px 1000"};
    size_t len;
    void *e = entry_of(1000, &len, 1, one);
    write_seed("entry", "set", e, len);
    free(e);
    e = entry_of(123456789, &len, 5, batch);
    write_seed("entry", "batch", e, len);
    free(e);
    static const char *const acl[] = {"__acl setuser u on >p ~k:* +@all -@dangerous",
                                      "__acl deluser u", "__acl seed user default on nopass ~* +@all"};
    e = entry_of(7, &len, 3, acl);
    write_seed("entry", "acl", e, len);
    free(e);
    {
        struct entry_builder eb;
        char *argv[3] = {"7", "127.0.0.1:6379", "127.0.0.1:8379"};
        size_t lens[3] = {1, 14, 14};
        entry_builder_init(&eb, ENTRY_NODE);
        entry_builder_add(&eb, 3, argv, lens);
        e = entry_builder_finish(&eb, 5, &len);
        write_seed("entry", "node", e, len);
        free(e);
    }
}

static void seeds_snapshot(void)
{
    static const char *const cmds[] = {"set a 1", "set b hello px 90000", "rpush l x y z",
                                       "sadd s m1 m2 3", "zadd z 1 one 2.5 two", "del b",
                                       "incrbyfloat f 1.5",
                                       "__acl setuser fz on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b %R~a:* &c +@read -get +config|get"};
    struct kv_store *kv = kv_new();
    struct fsm f;
    struct buf snap;
    size_t len;
    void *e;

    fsm_init(&f, kv);
    buf_init(&snap);
    fsm_serialize(&f, &snap);
    write_seed("snapshot", "empty", snap.data, snap.len);
    snap.len = 0;
    e = entry_of(1000, &len, 8, cmds);
    fsm_result_free(fsm_apply(&f, e, len, 1));
    free(e);
    {
        struct entry_builder eb;
        char *argv[3] = {"7", "127.0.0.1:6379", "127.0.0.1:8379"};
        size_t lens[3] = {1, 14, 14};
        entry_builder_init(&eb, ENTRY_NODE);
        entry_builder_add(&eb, 3, argv, lens);
        e = entry_builder_finish(&eb, 1001, &len);
        fsm_result_free(fsm_apply(&f, e, len, 2));
        free(e);
    }
    fsm_serialize(&f, &snap);
    write_seed("snapshot", "small", snap.data, snap.len);
    buf_close(&snap);
    fsm_close(&f);
    kv_free(kv);
}

static void seeds_peerauth(void)
{
    uint8_t nonce[PEERAUTH_NONCE], mac[PEERAUTH_MAC], hello[PEERAUTH_HELLO_SIZE];
    uint8_t ch[PEERAUTH_CHALLENGE_SIZE], hs[PEERAUTH_RAFT_PREAMBLE + PEERAUTH_MAX_ADDRESS];
    for (int i = 0; i < PEERAUTH_NONCE; i++)
        nonce[i] = (uint8_t)(i * 7);
    peerauth_mac("secret", PEERAUTH_ACCEPTOR, nonce, nonce, 1, 2, mac);
    peerauth_hello_encode(hello, 1, nonce);
    write_seed("peerauth", "hello", hello, sizeof(hello));
    peerauth_challenge_encode(ch, 2, nonce, mac);
    write_seed("peerauth", "challenge", ch, sizeof(ch));
    size_t n = peerauth_raft_handshake_encode(hs, sizeof(hs), 3, "127.0.0.1:16382");
    write_seed("peerauth", "raft_handshake", hs, n);
}

/* A raft configuration of one voter, as raft 0.15's configurationEncode writes it. */
static void conf_encode(struct buf *b, uint64_t id, const char *addr)
{
    uint8_t role = 1;
    buf_append(b, "\x01", 1);
    put64(b, 1);
    put64(b, id);
    buf_append(b, addr, strlen(addr) + 1);
    buf_append(b, &role, 1);
    while (b->len % 8)
        buf_append(b, "", 1);
}

static void seeds_peerframe(void)
{
    struct buf b, conf, cmd;
    size_t clen, hlen;
    void *e;
    static const char *const one[] = {"set k v"};

    /* byte 0: chunking; byte 1 odd: max_message of 64 MiB */
    buf_init(&b);
    buf_append(&b, "\x00\x01", 2);
    /* RequestVote (type 3, 40-byte header) */
    put64(&b, 3);
    put64(&b, 40);
    put64(&b, 5);
    put64(&b, 1);
    put64(&b, 10);
    put64(&b, 4);
    put64(&b, 0);
    write_seed("peerframe", "request_vote", b.data, b.len);
    /* AppendEntries with a command entry and a configuration change */
    b.len = 2;
    buf_init(&conf);
    buf_init(&cmd);
    conf_encode(&conf, 1, "127.0.0.1:16381");
    e = entry_of(1000, &clen, 1, one);
    buf_append(&cmd, e, clen);
    free(e);
    hlen = 40 + 16 * 2 + 8;
    put64(&b, 1);
    put64(&b, hlen);
    put64(&b, 3);  /* term */
    put64(&b, 9);  /* prev index */
    put64(&b, 3);  /* prev term */
    put64(&b, 9);  /* commit */
    put64(&b, 2);  /* entries */
    put_entry_desc(&b, 3, 1, (uint32_t)cmd.len);
    put_entry_desc(&b, 3, 3, (uint32_t)conf.len);
    put64(&b, 0);
    buf_append(&b, cmd.data, cmd.len);
    buf_append(&b, conf.data, conf.len);
    write_seed("peerframe", "append_entries", b.data, b.len);
    /* the same followed by an AppendEntriesResult (type 2, 24 bytes) */
    put64(&b, 2);
    put64(&b, 24);
    put64(&b, 3);
    put64(&b, 0);
    put64(&b, 11);
    write_seed("peerframe", "append_then_result", b.data, b.len);
    buf_close(&b);
    buf_close(&conf);
    buf_close(&cmd);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    seeds_entry();
    seeds_snapshot();
    seeds_peerauth();
    seeds_peerframe();
    return 0;
}
