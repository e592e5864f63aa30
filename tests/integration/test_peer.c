/* Integration tests of the raft port against hostile peers (issue 15): raw sockets against
 * real servers. A peer without the secret, with a wrong one, or with a non-member id is
 * closed and logged; malformed handshakes, oversized frames, the 56-byte packet and the
 * 10,000,000-entry AppendEntries (sent after a correct authentication as a member id, so the
 * frame validator is what stops them) close the connection; a RequestVote storm from a
 * non-member leaves writes working. After each attack the node is alive, its data unchanged,
 * and it still serves writes. Also: nodes with different secrets never elect a leader, a
 * join with a wrong secret is refused, a --cluster of two voters without a secret does not
 * start, CONFIG GET never shows the secret, and cluster-secret-file works. The client side
 * of the challenge-response is the server's own peerauth module. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "peerauth.h"

#define WAIT_MS 20000

TestSuite(peer, .fini = fx_kill_all, .timeout = 120);

/* ---- helpers ---- */

struct log_wait {
    const struct fx_server *s;
    const char *text;
};

static bool log_has(void *arg)
{
    struct log_wait *w = arg;
    FILE *f = fopen(w->s->log_path, "r");
    char line[4096];
    bool found = false;
    if (f == NULL)
        return false;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, w->text) != NULL;
    fclose(f);
    return found;
}

static void assert_log(const struct fx_server *s, const char *text)
{
    struct log_wait w = {s, text};
    if (!fx_wait_until(log_has, &w, WAIT_MS)) {
        fx_server_dump_log(s);
        cr_assert_fail("node %d never logged '%s'", s->id, text);
    }
}

/* Replace S's extra arguments (S not started yet). */
static void set_args(struct fx_server *s, const char *const *args)
{
    size_t n = 0;
    for (size_t i = 0; s->extra_args && s->extra_args[i]; i++)
        free(s->extra_args[i]);
    free(s->extra_args);
    while (args[n])
        n++;
    s->extra_args = calloc(n + 1, sizeof(char *));
    cr_assert(s->extra_args != NULL);
    for (size_t i = 0; i < n; i++)
        s->extra_args[i] = strdup(args[i]);
}

/* Connect to S's raft port and run the connecting side of the challenge-response as node ID
 * with SECRET. Returns the socket; *SERVER_OK tells whether the server's proof verified. */
static int auth_connect(const struct fx_server *s, const char *secret, uint64_t id, bool *server_ok)
{
    int fd = fx_raw_connect(s->raft_port);
    uint8_t nc[PEERAUTH_NONCE], ns[PEERAUTH_NONCE], mac[PEERAUTH_MAC], want[PEERAUTH_MAC];
    uint8_t hello[PEERAUTH_HELLO_SIZE];
    char ch[PEERAUTH_CHALLENGE_SIZE + 1];
    uint64_t sid;

    cr_assert_eq(peerauth_nonce(nc), 0);
    peerauth_hello_encode(hello, id, nc);
    cr_assert_eq(fx_raw_send(fd, hello, sizeof(hello)), 0);
    struct fx_raw_result r = fx_raw_read(fd, ch, sizeof(ch), PEERAUTH_CHALLENGE_SIZE, NULL, WAIT_MS);
    cr_assert_eq(r.len, PEERAUTH_CHALLENGE_SIZE, "no challenge from node %d (eof %d)", s->id, r.eof);
    cr_assert_eq(peerauth_challenge_decode((uint8_t *)ch, &sid, ns, mac), 0);
    cr_assert_eq(sid, (uint64_t)s->id);
    peerauth_mac(secret, PEERAUTH_ACCEPTOR, nc, ns, id, sid, want);
    *server_ok = peerauth_mac_equal(want, mac);
    peerauth_mac(secret, PEERAUTH_CONNECTOR, nc, ns, id, sid, mac);
    cr_assert_eq(fx_raw_send(fd, mac, sizeof(mac)), 0);
    return fd;
}

/* Send raft 0.15's handshake as node ID. */
static void send_raft_handshake(int fd, uint64_t id)
{
    uint8_t hs[128];
    size_t n = peerauth_raft_handshake_encode(hs, sizeof(hs), id, "127.0.0.1:1");
    cr_assert(n > 0);
    cr_assert_eq(fx_raw_send(fd, hs, n), 0);
}

/* Authenticate with the test secret as member ID and send raft's handshake. */
static int member_connect(const struct fx_server *s, uint64_t id)
{
    bool ok;
    int fd = auth_connect(s, FX_CLUSTER_SECRET, id, &ok);
    cr_assert(ok, "the server's proof did not verify");
    send_raft_handshake(fd, id);
    return fd;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A RequestVote (disrupt-leader flag set) of TERM from CANDIDATE. */
static size_t request_vote(uint8_t out[56], uint64_t term, uint64_t candidate)
{
    put64(out, 3);
    put64(out + 8, 40);
    put64(out + 16, term);
    put64(out + 24, candidate);
    put64(out + 32, 1000000);
    put64(out + 40, term);
    put64(out + 48, 1);
    return 56;
}

static void assert_closed(int fd, const char *what)
{
    cr_assert(fx_raw_wait_closed(fd, WAIT_MS), "%s: the connection stayed open", what);
    close(fd);
}

/* S is alive, "canary" still holds "v1", and a write succeeds. */
static void assert_serving(struct fx_server *s)
{
    cr_assert(fx_server_alive(s), "node %d died", s->id);
    redisContext *c = fx_connect(s->port);
    fx_check_string(c, "v1", "GET canary");
    fx_check_status(c, "OK", "SET after ok");
    redisFree(c);
}

static struct fx_server *single_node(const char *const *args)
{
    struct fx_server *s = fx_server_up(args);
    redisContext *c = fx_connect(s->port);
    fx_check_status(c, "OK", "SET canary v1");
    redisFree(c);
    return s;
}

/* ---- no secret, wrong secret, non-member ---- */

/* The exact bytes of issue 15's repro: raft's plain handshake, then a 56-byte AppendEntries. */
Test(peer, raft_plain_handshake_without_secret_is_closed)
{
    struct fx_server *s = single_node(NULL);
    uint8_t pkt[64];
    put64(pkt, 1);
    put64(pkt + 8, 2);
    put64(pkt + 16, 16);
    memcpy(pkt + 24, "127.0.0.1:1\0\0\0\0\0", 16);
    put64(pkt + 40, 1);
    put64(pkt + 48, 8);
    put64(pkt + 56, 0);
    int fd = fx_raw_connect(s->raft_port);
    cr_assert_eq(fx_raw_send(fd, pkt, sizeof(pkt)), 0);
    assert_closed(fd, "plain raft handshake");
    assert_log(s, "did not authenticate");
    assert_serving(s);
    fx_server_free(s);
}

Test(peer, wrong_secret_is_closed_and_logged)
{
    struct fx_server *s = single_node(NULL);
    bool ok;
    int fd = auth_connect(s, "not-the-secret", 1, &ok);
    cr_assert_not(ok, "the server's proof verified under the wrong secret");
    assert_closed(fd, "wrong secret");
    assert_log(s, "authentication failed (wrong cluster secret?)");
    assert_serving(s);
    fx_server_free(s);
}

Test(peer, silent_peer_is_closed_at_the_auth_deadline)
{
    struct fx_server *s = single_node(NULL);
    int fd = fx_raw_connect(s->raft_port);
    assert_closed(fd, "silent peer");
    assert_log(s, "authentication not completed");
    assert_serving(s);
    fx_server_free(s);
}

Test(peer, correct_secret_but_non_member_id_is_refused)
{
    struct fx_server *s = single_node(NULL);
    int fd = member_connect(s, 7);
    assert_closed(fd, "non-member");
    assert_log(s, "node 7 is not in the configuration; refused");
    assert_serving(s);
    fx_server_free(s);
}

/* ---- malformed handshakes ---- */

Test(peer, handshake_address_without_nul_is_closed)
{
    struct fx_server *s = single_node(NULL);
    bool ok;
    int fd = auth_connect(s, FX_CLUSTER_SECRET, 1, &ok);
    uint8_t hs[24 + 16];
    put64(hs, 1);
    put64(hs + 8, 1);
    put64(hs + 16, 16);
    memset(hs + 24, 'a', 16);
    cr_assert_eq(fx_raw_send(fd, hs, sizeof(hs)), 0);
    assert_closed(fd, "address without NUL");
    assert_log(s, "address not NUL-terminated");
    assert_serving(s);
    fx_server_free(s);
}

Test(peer, huge_handshake_address_length_is_closed)
{
    struct fx_server *s = single_node(NULL);
    bool ok;
    int fd = auth_connect(s, FX_CLUSTER_SECRET, 1, &ok);
    uint8_t hs[24];
    put64(hs, 1);
    put64(hs + 8, 1);
    put64(hs + 16, 1ULL << 40);
    cr_assert_eq(fx_raw_send(fd, hs, sizeof(hs)), 0);
    assert_closed(fd, "huge address length");
    assert_log(s, "address length");
    assert_serving(s);
    fx_server_free(s);
}

/* ---- frames from an authenticated member ---- */

Test(peer, oversized_frame_is_closed)
{
    struct fx_server *s = single_node((const char *[]){"--raft-max-message", "1mb", NULL});
    int fd = member_connect(s, 1);
    uint8_t pre[16];
    put64(pre, 1);
    put64(pre + 8, 2u << 20); /* a 2 MB header */
    cr_assert_eq(fx_raw_send(fd, pre, sizeof(pre)), 0);
    assert_closed(fd, "oversized frame");
    assert_log(s, "raft-max-message is");
    assert_serving(s);
    fx_server_free(s);
}

Test(peer, the_56_byte_packet_from_a_member_is_closed)
{
    struct fx_server *s = single_node(NULL);
    int fd = member_connect(s, 1);
    uint8_t msg[24];
    put64(msg, 1);
    put64(msg + 8, 8);
    put64(msg + 16, 0);
    cr_assert_eq(fx_raw_send(fd, msg, sizeof(msg)), 0);
    assert_closed(fd, "56-byte packet");
    assert_log(s, "invalid raft message");
    assert_serving(s);
    fx_server_free(s);
}

Test(peer, ten_million_entries_from_a_member_are_closed)
{
    struct fx_server *s = single_node(NULL);
    int fd = member_connect(s, 1);
    uint8_t msg[16 + 48] = {0};
    put64(msg, 1);
    put64(msg + 8, 48);
    put64(msg + 16, 99); /* term */
    put64(msg + 48, 10000000);
    cr_assert_eq(fx_raw_send(fd, msg, sizeof(msg)), 0);
    assert_closed(fd, "10,000,000 entries");
    assert_log(s, "AppendEntries of 10000000 entries");
    assert_serving(s);
    fx_server_free(s);
}

/* ---- vote storms ---- */

Test(peer, request_vote_storm_from_non_members_leaves_writes_working)
{
    struct fx_cluster *cl = fx_cluster_start(3, NULL);
    int port = 0;
    for (int tries = 0; port == 0 && tries < 2000; tries++) {
        for (int i = 0; i < 3 && port == 0; i++) {
            redisContext *c = fx_connect(cl->nodes[i]->port);
            redisReply *r = fx_cmd(c, "SET warmup 1");
            if (r->type == REDIS_REPLY_STATUS)
                port = cl->nodes[i]->port;
            freeReplyObject(r);
            redisFree(c);
        }
        if (port == 0)
            usleep(10000);
    }
    cr_assert(port != 0, "no leader");
    redisContext *c = fx_connect(port);
    for (int i = 0; i < 99; i++) {
        uint8_t rv[56];
        struct fx_server *target = cl->nodes[i % 3];
        int fd;
        if (i % 2) { /* with the secret, as a non-member */
            fd = member_connect(target, 9);
        } else {     /* raft's plain handshake, no secret */
            uint8_t hs[40];
            fd = fx_raw_connect(target->raft_port);
            size_t n = peerauth_raft_handshake_encode(hs, sizeof(hs), 9, "127.0.0.1:1");
            cr_assert_eq(fx_raw_send(fd, hs, n), 0);
        }
        fx_raw_send(fd, rv, request_vote(rv, 1000 + (uint64_t)i, 9));
        assert_closed(fd, "vote");
        fx_check_integer(c, i + 1, "INCR counter");
    }
    redisFree(c);
    assert_log(cl->nodes[0], "is not in the configuration");
    fx_cluster_stop(cl);
}

/* ---- cluster-level ---- */

Test(peer, nodes_with_different_secrets_never_elect_a_leader)
{
    struct fx_server *n[3];
    char spec[200], secret[3][16];
    for (int i = 0; i < 3; i++) {
        n[i] = fx_server_new(i + 1, NULL);
        n[i]->fixed_ports = true;
        n[i]->ready = FX_READY_PONG;
    }
    snprintf(spec, sizeof(spec), "1@127.0.0.1:%d,2@127.0.0.1:%d,3@127.0.0.1:%d", n[0]->raft_port,
             n[1]->raft_port, n[2]->raft_port);
    for (int i = 0; i < 3; i++) {
        snprintf(secret[i], sizeof(secret[i]), "secret-%d", i);
        set_args(n[i], (const char *[]){"--cluster", spec, "--cluster-secret", secret[i],
                                        "--election-timeout", "300", "--heartbeat-timeout", "50", NULL});
        cr_assert_eq(fx_server_spawn(n[i]), 0);
    }
    for (int i = 0; i < 3; i++)
        cr_assert_eq(fx_server_wait_ready(n[i], FX_START_TIMEOUT_MS), 0);
    /* Every node has tried every peer, on both sides of a connection, and said why it failed. */
    for (int i = 0; i < 3; i++)
        assert_log(n[i], "wrong cluster secret?");
    for (int i = 0; i < 3; i++) {
        struct log_wait w = {n[i], "became leader"};
        cr_assert_not(log_has(&w), "node %d became leader", i + 1);
        redisContext *c = fx_connect(n[i]->port);
        redisReply *r = fx_cmd(c, "CLUSTER INFO");
        cr_assert(strstr(r->str, "raft_leader_id:0\r\n") != NULL, "node %d: %s", i + 1, r->str);
        freeReplyObject(r);
        redisFree(c);
    }
    for (int i = 0; i < 3; i++)
        fx_server_free(n[i]);
}

/* Node ID started with --join to A and OPT VAL. */
static struct fx_server *joiner(const struct fx_server *a, int id, const char *opt, const char *val)
{
    char join[32];
    snprintf(join, sizeof(join), "127.0.0.1:%d", a->port);
    struct fx_server *s = fx_server_new(id, (const char *[]){"--join", join, opt, val, NULL});
    cr_assert_eq(fx_server_start(s), 0);
    return s;
}

/* A is still a cluster of one voter, and serves. */
static void assert_alone(struct fx_server *a)
{
    redisContext *c = fx_connect(a->port);
    redisReply *r = fx_cmd(c, "CLUSTER INFO");
    cr_assert(strstr(r->str, "raft_voters:1\r\n") != NULL, "%s", r->str);
    freeReplyObject(r);
    redisFree(c);
    assert_serving(a);
}

Test(peer, join_with_a_wrong_secret_is_refused)
{
    struct fx_server *a = single_node(NULL);
    struct fx_server *b = joiner(a, 2, "--cluster-secret", "wrong");
    assert_log(a, "join: node 2");
    assert_log(a, "refused: wrong cluster secret");
    assert_log(b, "join refused: wrong cluster secret");
    assert_alone(a);
    fx_server_free(b);
    fx_server_free(a);
}

/* A node whose databases option differs from the cluster's is refused at the join (it could
 * apply nothing the others write past its last database), says why, and stops trying; one
 * with the cluster's value joins. */
Test(peer, join_with_other_databases_is_refused)
{
    struct fx_server *a = single_node(NULL);
    struct fx_server *b = joiner(a, 2, "--databases", "4");
    assert_log(a, "refused: it has databases 4, this cluster 16");
    assert_log(b, "this cluster runs with databases 16, the joining node with 4");
    assert_log(b, "giving up");
    assert_alone(a);
    fx_server_free(b);
    struct fx_server *d = joiner(a, 3, "--databases", "16");
    assert_log(d, "join: added to the cluster");
    fx_server_free(d);
    fx_server_free(a);
}

Test(peer, two_voters_without_a_secret_do_not_start)
{
    struct fx_server *s = fx_server_new(1, (const char *[]){"--cluster", "1@127.0.0.1:30001,2@127.0.0.1:30002",
                                                            "--cluster-secret", "", NULL});
    cr_assert_eq(fx_server_spawn(s), 0);
    int st = fx_server_wait_exit(s, WAIT_MS);
    cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "status %d", st);
    assert_log(s, "option 'cluster-secret': required when this node has or joins peers");
    fx_server_free(s);
}

Test(peer, config_get_never_shows_the_secret)
{
    struct fx_server *s = single_node(NULL);
    redisContext *c = fx_connect(s->port);
    redisReply *r = fx_cmd(c, "CONFIG GET cluster-secret");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, 0);
    freeReplyObject(r);
    r = fx_cmd(c, "CONFIG GET *");
    for (size_t i = 0; i < r->elements; i++)
        cr_assert(strstr(r->element[i]->str, FX_CLUSTER_SECRET) == NULL, "%s", r->element[i]->str);
    freeReplyObject(r);
    redisFree(c);
    fx_server_free(s);
}

Test(peer, cluster_secret_file_is_read_without_its_newline)
{
    char *dir = fx_tmpdir_new("concordkv-secret");
    char path[512];
    snprintf(path, sizeof(path), "%s/secret", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL);
    fputs("from-a-file\n", f);
    fclose(f);
    struct fx_server *s = single_node((const char *[]){"--cluster-secret-file", path, NULL});
    bool ok;
    int fd = auth_connect(s, "from-a-file", 1, &ok);
    cr_assert(ok, "the file's secret did not verify");
    close(fd);
    fx_server_free(s);

    f = fopen(path, "w");
    fclose(f); /* empty */
    s = fx_server_new(1, (const char *[]){"--cluster-secret-file", path, NULL});
    cr_assert_eq(fx_server_spawn(s), 0);
    int st = fx_server_wait_exit(s, WAIT_MS);
    cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "status %d", st);
    assert_log(s, "option 'cluster-secret-file'");
    fx_server_free(s);
    fx_rm_rf(dir);
    free(dir);
}
