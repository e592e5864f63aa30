/* Integration tests of Pub/Sub on a real 3-node cluster (free loopback ports, temp dirs):
 * subscribers on the leader and on both followers receive the same messages in the same
 * order; PUBLISH on a follower is redirected and its reply is the leader's own count;
 * keyspace events arrive on every node in the same order, the expiry cycle's "expired"
 * included; a subscriber that does not read is closed past client-output-buffer-limit pubsub.
 * Every wait polls against a deadline (subscriber reads have a socket timeout). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "tcluster.h"

TestSuite(pubsub, .fini = fx_kill_all, .timeout = 150);

#define NMSG 300

/* A subscriber connection to node I with COMMAND (e.g. "SUBSCRIBE ch") confirmed, reads
 * bounded by a 10 s timeout. */
static redisContext *subscriber(int i, const char *command)
{
    redisContext *c = fx_connect(node(i)->port);
    struct timeval tv = {10, 0};
    redisSetTimeout(c, tv);
    redisReply *r = redisCommand(c, command);
    cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 3,
              "node %d: %s: %s", i, command, tc_reply_text(r));
    freeReplyObject(r);
    return c;
}

/* The next pushed message on C as "kind channel payload" (pmessage: "pmessage pattern channel
 * payload") into OUT; aborts on a timeout. */
static void next_message(redisContext *c, int i, char *out, size_t cap)
{
    redisReply *r = NULL;
    cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK && r != NULL,
              "node %d: no message (%s)", i, c->errstr);
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements >= 3, "node %d: %s", i, tc_reply_text(r));
    size_t len = 0;
    out[0] = '\0';
    for (size_t k = 0; k < r->elements; k++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", k ? " " : "", r->element[k]->str);
    freeReplyObject(r);
}

/* Wait until every node counts WANT subscribers on CHANNEL (PUBSUB NUMSUB). */
struct numsub_wait {
    const char *channel;
    long long want[3];
};

static bool numsub_reached(void *arg)
{
    struct numsub_wait *w = arg;
    for (int i = 0; i < 3; i++) {
        redisReply *r = tc_port_cmd(node(i)->port, "PUBSUB NUMSUB %s", w->channel);
        bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                  r->element[1]->integer == w->want[i];
        freeReplyObject(r);
        if (!ok)
            return false;
    }
    return true;
}

/* Two publishers interleaving on the leader: the subscribers of all three nodes (a channel
 * subscriber each, and a pattern subscriber on one follower) see one and the same order. */
Test(pubsub, every_node_delivers_the_same_order)
{
    int leader;
    redisContext *p1 = start_cluster_on_leader(NULL, &leader);
    redisContext *p2 = fx_connect(node(leader)->port);
    redisContext *sub[3], *pat;
    for (int i = 0; i < 3; i++)
        sub[i] = subscriber(i, "SUBSCRIBE ch");
    int follower = (leader + 1) % 3;
    pat = subscriber(follower, "PSUBSCRIBE c*");
    for (int k = 0; k < NMSG / 2; k++) {
        redisAppendCommand(p1, "PUBLISH ch a%d", k);
        redisAppendCommand(p2, "PUBLISH ch b%d", k);
    }
    for (int k = 0; k < NMSG / 2; k++) {
        redisReply *r;
        cr_assert(redisGetReply(p1, (void **)&r) == REDIS_OK && r->type == REDIS_REPLY_INTEGER);
        /* the leader's own receivers: one channel subscriber, no pattern on the leader */
        cr_assert_eq(r->integer, 1, "PUBLISH answered %lld", r->integer);
        freeReplyObject(r);
        cr_assert(redisGetReply(p2, (void **)&r) == REDIS_OK && r->type == REDIS_REPLY_INTEGER);
        freeReplyObject(r);
    }
    static char seq[3][NMSG][64];
    char m[128];
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < NMSG; k++)
            next_message(sub[i], i, seq[i][k], sizeof seq[i][k]);
    for (int k = 0; k < NMSG; k++) {
        cr_assert(strncmp(seq[0][k], "message ch ", 11) == 0, "%s", seq[0][k]);
        cr_assert_str_eq(seq[1][k], seq[0][k], "message %d differs: %s / %s", k, seq[1][k], seq[0][k]);
        cr_assert_str_eq(seq[2][k], seq[0][k], "message %d differs: %s / %s", k, seq[2][k], seq[0][k]);
        next_message(pat, follower, m, sizeof m);
        char want[128];
        snprintf(want, sizeof want, "pmessage c* ch %s", seq[0][k] + 11);
        cr_assert_str_eq(m, want);
    }
    /* each publisher's own messages keep their order */
    int na = 0, nb = 0;
    for (int k = 0; k < NMSG; k++) {
        char want[16];
        const char *payload = seq[0][k] + 11;
        snprintf(want, sizeof want, payload[0] == 'a' ? "a%d" : "b%d", payload[0] == 'a' ? na++ : nb++);
        cr_assert_str_eq(payload, want);
    }
    tc_assert_converged(NULL, NULL, NULL); /* delivery changed no replicated state */
    for (int i = 0; i < 3; i++)
        redisFree(sub[i]);
    redisFree(pat);
    redisFree(p1);
    redisFree(p2);
    tc_stop_cleanly();
}

/* PUBLISH on a follower is a write: -MOVED to the leader. On the leader the reply counts the
 * leader's subscribers only, while the followers' still receive the message. */
Test(pubsub, follower_publish_redirects_and_reply_is_leaders_count)
{
    int leader;
    redisContext *c = start_cluster_on_leader(NULL, &leader);
    struct tc_agreement ag;
    tc_wait_agreement(&ag); /* every follower knows the leader's address (MOVED) */
    int f = (leader + 1) % 3;
    redisContext *s1 = subscriber(leader, "SUBSCRIBE news");
    redisContext *s2 = subscriber(leader, "PSUBSCRIBE n*");
    redisContext *s3 = subscriber(f, "SUBSCRIBE news");
    redisReply *r = tc_port_cmd(node(f)->port, "PUBLISH news x");
    cr_assert(tc_moved_to_leader(r, f + 1, NULL), "follower answered %s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_integer(c, 2, "PUBLISH news hello");
    char m[128];
    next_message(s3, f, m, sizeof m);
    cr_assert_str_eq(m, "message news hello");
    next_message(s1, leader, m, sizeof m);
    cr_assert_str_eq(m, "message news hello");
    next_message(s2, leader, m, sizeof m);
    cr_assert_str_eq(m, "pmessage n* news hello");
    /* subscribed mode on a follower: only the subscribe family, PING, QUIT, RESET */
    r = redisCommand(s3, "GET k");
    fx_assert_error(r, "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                       "QUIT / RESET are allowed in this context");
    freeReplyObject(r);
    r = redisCommand(s3, "PING");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
              strcmp(r->element[0]->str, "pong") == 0 && r->element[1]->len == 0, "%s", tc_reply_text(r));
    freeReplyObject(r);
    r = redisCommand(s3, "RESET");
    fx_assert_status(r, "RESET");
    freeReplyObject(r);
    r = redisCommand(s3, "GET k"); /* a normal connection again: a follower's read redirects */
    cr_assert(tc_is_redirect(r), "%s", tc_reply_text(r));
    freeReplyObject(r);
    redisFree(s1);
    redisFree(s2);
    redisFree(s3);
    redisFree(c);
    tc_stop_cleanly();
}

/* Keyspace events are generated in apply: every node, with notify-keyspace-events set on
 * it, sends its subscriber the same events in the same order, including "expired" when the
 * leader's expiry cycle deletes a key. */
Test(pubsub, keyspace_events_same_order_every_node)
{
    int leader;
    redisContext *c = start_cluster_on_leader(NULL, &leader);
    redisContext *sub[3];
    for (int i = 0; i < 3; i++) {
        redisReply *r = tc_port_cmd(node(i)->port, "CONFIG SET notify-keyspace-events KEA");
        fx_assert_status(r, "OK");
        freeReplyObject(r);
        sub[i] = subscriber(i, "PSUBSCRIBE __keyevent@0__:*");
    }
    fx_check_status(c, "OK", "SET k v");
    fx_check_integer(c, 1, "HSET h f v");
    fx_check_integer(c, 1, "SADD s m");
    fx_check_integer(c, 1, "ZADD z 1 m");
    fx_check_integer(c, 1, "INCR n");
    fx_check_integer(c, 1, "DEL k");
    fx_check_status(c, "OK", "SET t 1 PX 50");
    const char *want[] = {"set k", "hset h", "sadd s", "zadd z", "incrby n", "del k", "set t",
                          "expire t", "expired t"};
    size_t n = sizeof(want) / sizeof(*want);
    for (int i = 0; i < 3; i++)
        for (size_t k = 0; k < n; k++) {
            char m[256], w[128];
            next_message(sub[i], i, m, sizeof m);
            const char *ev = strchr(want[k], ' ');
            snprintf(w, sizeof w, "pmessage __keyevent@0__:* __keyevent@0__:%.*s %s",
                     (int)(ev - want[k]), want[k], ev + 1);
            cr_assert_str_eq(m, w, "node %d event %zu", i, k);
        }
    tc_assert_converged(NULL, NULL, NULL);
    for (int i = 0; i < 3; i++)
        redisFree(sub[i]);
    redisFree(c);
    tc_stop_cleanly();
}

/* Read and discard what FD holds until the peer closes it (true) or TIMEOUT_MS passes. */
static bool drained_to_eof(int fd, int timeout_ms)
{
    static char chunk[65536];
    int64_t end = fx_now_ms() + timeout_ms;
    struct timeval tv = {0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t total = 0;
    ssize_t n = -1;
    int err = 0;
    while (fx_now_ms() < end) {
        n = recv(fd, chunk, sizeof chunk, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        if (n > 0)
            total += (size_t)n;
        else
            err = errno;
    }
    fprintf(stderr, "drained %zu bytes without an EOF (last %zd, errno %d)\n", total, n, err);
    return false;
}

struct gone {
    int port;
};

static bool subscriber_gone(void *arg)
{
    struct gone *g = arg;
    redisReply *r = tc_port_cmd(g->port, "PUBSUB NUMSUB big");
    bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->integer == 0;
    freeReplyObject(r);
    return ok;
}

/* A subscriber that never reads is closed once its output passes the pubsub hard limit; the
 * node keeps serving, and memory is not held for it. */
Test(pubsub, output_limit_closes_non_reading_subscriber)
{
    int leader;
    redisContext *c = start_cluster_on_leader(NULL, &leader);
    fx_check_status(c, "OK", "CONFIG SET client-output-buffer-limit %s", "pubsub 1mb 256kb 60");
    redisReply *r = redisCommand(c, "CONFIG GET client-output-buffer-limit");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    cr_assert(strstr(r->element[1]->str, "pubsub 1048576 262144 60") != NULL, "%s", r->element[1]->str);
    freeReplyObject(r);
    int fd = fx_raw_connect(node(leader)->port);
    fx_raw_send_str(fd, "SUBSCRIBE big\r\n");
    struct numsub_wait w = {"big", {0, 0, 0}};
    w.want[leader] = 1;
    cr_assert(fx_wait_until(numsub_reached, &w, 5000), "the subscription did not register");
    char *payload = malloc(64 * 1024 + 1);
    memset(payload, 'x', 64 * 1024);
    payload[64 * 1024] = '\0';
    struct gone g = {node(leader)->port};
    int sent = 0;
    for (; sent < 400 && !subscriber_gone(&g); sent++) {
        r = redisCommand(c, "PUBLISH big %s", payload);
        cr_assert(r && r->type == REDIS_REPLY_INTEGER, "%s", tc_reply_text(r));
        freeReplyObject(r);
    }
    cr_assert(fx_wait_until(subscriber_gone, &g, 5000), "subscriber still there after %d MB", sent / 16);
    cr_assert(sent < 400, "never closed");
    cr_assert(drained_to_eof(fd, 10000), "the socket was not closed");
    close(fd);
    fx_check_integer(c, 0, "PUBLISH big after");
    free(payload);
    redisFree(c);
    tc_stop_cleanly();
}

/* A connection to node I authenticated as USER (password PASS) once the user has reached
 * that node, with reads bounded by a 10 s timeout. */
static redisContext *connect_as(int i, const char *user, const char *pass)
{
    int64_t end = fx_now_ms() + 10000;
    for (;;) {
        redisContext *c = fx_connect(node(i)->port);
        struct timeval tv = {10, 0};
        redisSetTimeout(c, tv);
        redisReply *r = redisCommand(c, "AUTH %s %s", user, pass);
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (ok)
            return c;
        redisFree(c);
        cr_assert_lt(fx_now_ms(), end, "node %d: AUTH %s never succeeded", i, user);
        usleep(50 * 1000);
    }
}

/* Channel permissions (Redis 7.0's &patterns): a user limited to &news.* publishes and
 * subscribes only there, -NOPERM elsewhere; when the leader takes the channel away, the
 * follower closes that user's subscriber at once and keeps another user's. */
Test(pubsub, channel_permissions_and_their_withdrawal)
{
    int leader;
    redisContext *c = start_cluster_on_leader(NULL, &leader);
    int f = (leader + 1) % 3;
    fx_check_status(c, "OK", "ACL SETUSER lim on >pw ~* +@all &news.*");
    redisContext *lim = connect_as(f, "lim", "pw");
    redisReply *r = redisCommand(lim, "SUBSCRIBE news.a");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3, "%s", tc_reply_text(r));
    freeReplyObject(r);
    redisContext *other = connect_as(f, "lim", "pw");
    r = redisCommand(other, "SUBSCRIBE other");
    cr_assert(tc_is_error(r, "NOPERM this user has no permissions to access one of the channels "
                             "used as arguments"), "%s", tc_reply_text(r));
    freeReplyObject(r);
    redisFree(other);
    redisContext *plain = subscriber(f, "SUBSCRIBE news.a");
    struct numsub_wait w = {"news.a", {0, 0, 0}};
    w.want[f] = 2;
    cr_assert(fx_wait_until(numsub_reached, &w, 5000), "the subscriptions did not register");

    redisContext *pub = connect_as(leader, "lim", "pw");
    r = redisCommand(pub, "PUBLISH other x");
    cr_assert(tc_is_error(r, "NOPERM"), "%s", tc_reply_text(r));
    freeReplyObject(r);
    r = redisCommand(pub, "PUBLISH news.a m1");
    cr_assert(r && r->type == REDIS_REPLY_INTEGER, "%s", tc_reply_text(r));
    freeReplyObject(r);
    char got[256];
    next_message(lim, f, got, sizeof got);
    cr_assert_str_eq(got, "message news.a m1");
    next_message(plain, f, got, sizeof got);
    cr_assert_str_eq(got, "message news.a m1");

    fx_check_status(c, "OK", "ACL SETUSER lim resetchannels &other");
    w.want[f] = 1;
    cr_assert(fx_wait_until(numsub_reached, &w, 5000), "the follower kept the withdrawn subscriber");
    r = NULL;
    cr_assert(redisGetReply(lim, (void **)&r) != REDIS_OK, "the withdrawn subscriber got %s",
              tc_reply_text(r));
    fx_check_integer(c, 0, "PUBLISH news.a m2"); /* the leader's own count */
    next_message(plain, f, got, sizeof got);
    cr_assert_str_eq(got, "message news.a m2");
    redisFree(lim);
    redisFree(plain);
    redisFree(pub);
    redisFree(c);
    tc_stop_cleanly();
}
