/* Integration tests of blocking pops on a real 3-node cluster (free loopback ports, temp
 * dirs): clients blocked on the leader are served by another client's push in the order they
 * blocked (sorted sets and lists, BLMOVE chains); timeouts answer nil; MULTI never blocks; a
 * follower answers MOVED; CLIENT UNBLOCK and disconnects unblock; a leadership change answers
 * the blocked clients "nothing popped"; a BLMOVE queue loses no acknowledged item across a
 * failover with moves in flight; and with BZPOPMIN no element is lost or delivered twice (every
 * acknowledged element is popped by exactly one client or still queued; elements missing
 * from both are at most the pops whose outcome was reported unknown). Every wait polls
 * against a deadline. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "tcluster.h"

TestSuite(blocking, .fini = fx_kill_all, .timeout = 180);

struct blocked_count {
    int port;
    long long want;
};

static bool blocked_is(void *arg)
{
    struct blocked_count *b = arg;
    return tc_info_ll(b->port, "clients", "blocked_clients") == b->want;
}

/* Wait until the node on PORT reports WANT blocked clients. */
static void wait_blocked(int port, long long want)
{
    struct blocked_count b = {port, want};
    cr_assert(fx_wait_until(blocked_is, &b, 10000), "blocked_clients never reached %lld (now %lld)",
              want, tc_info_ll(port, "clients", "blocked_clients"));
}

/* A connection that sends FMT (one string argument) without waiting for its reply. */
static redisContext *send_blocking(int port, const char *fmt, const char *arg)
{
    redisContext *c = fx_connect(port);
    struct timeval tv = {30, 0}; /* a hang fails the test instead of stalling it */
    redisSetTimeout(c, tv);
    redisAppendCommand(c, fmt, arg);
    int done = 0;
    while (!done)
        cr_assert(redisBufferWrite(c, &done) == REDIS_OK);
    return c;
}

static redisReply *get_reply(redisContext *c)
{
    redisReply *r = NULL;
    cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "no reply: %s", c->errstr);
    return r;
}

/* R is [key, member, score]. */
static void assert_popped(redisReply *r, const char *key, const char *member)
{
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 3, "got %s", tc_reply_text(r));
    cr_assert_str_eq(r->element[0]->str, key);
    cr_assert_str_eq(r->element[1]->str, member);
    freeReplyObject(r);
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Clients blocked on a key are served in the order they blocked, by a push from another
 * client, across several keys; a timeout answers a null array; MULTI does not block; a
 * follower answers MOVED; CLIENT UNBLOCK and a disconnect unblock. */
Test(blocking, serve_in_order_timeouts_multi_moved_unblock)
{
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);
    int port = node(idx)->port;
    redisContext *w[3];

    for (int i = 0; i < 3; i++) {
        w[i] = send_blocking(port, "BZPOPMIN q1 %s 0", "q2");
        wait_blocked(port, i + 1); /* blocked in this order */
    }
    fx_check_integer(c, 2, "ZADD q2 1 a 2 b");
    assert_popped(get_reply(w[0]), "q2", "a");
    assert_popped(get_reply(w[1]), "q2", "b");
    wait_blocked(port, 1);
    fx_check_integer(c, 1, "ZADD q1 9 c");
    assert_popped(get_reply(w[2]), "q1", "c");
    wait_blocked(port, 0);
    fx_check_integer(c, 0, "EXISTS q1 q2");

    /* BZMPOP and BZPOPMAX block too; one push of three serves both */
    redisContext *m = send_blocking(port, "BZMPOP 0 1 %s MAX COUNT 2", "z");
    wait_blocked(port, 1);
    redisContext *x = send_blocking(port, "BZPOPMAX %s 0", "z");
    wait_blocked(port, 2);
    fx_check_integer(c, 3, "ZADD z 1 a 2 b 3 c");
    redisReply *r = get_reply(m);
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->elements == 2,
              "got %s", tc_reply_text(r));
    cr_assert_str_eq(r->element[1]->element[0]->element[0]->str, "c");
    freeReplyObject(r);
    assert_popped(get_reply(x), "z", "a");

    /* a blocked client runs nothing it pipelined after the blocking command meanwhile;
     * a key created and emptied again in one entry leaves it blocked */
    redisContext *p = fx_connect(port);
    redisAppendCommand(p, "BZPOPMIN pq 0");
    redisAppendCommand(p, "SET after 1");
    int sent = 0;
    while (!sent)
        cr_assert(redisBufferWrite(p, &sent) == REDIS_OK);
    wait_blocked(port, 1);
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "ZADD pq 1 gone");
    fx_check_status(c, "QUEUED", "ZPOPMIN pq");
    r = fx_cmd(c, "EXEC");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2, "got %s", tc_reply_text(r));
    freeReplyObject(r);
    cr_assert_eq(tc_info_ll(port, "clients", "blocked_clients"), 1);
    fx_check_integer(c, 0, "EXISTS after");
    fx_check_integer(c, 1, "ZADD pq 2 kept");
    assert_popped(get_reply(p), "pq", "kept");
    r = get_reply(p);
    fx_assert_status(r, "OK");
    freeReplyObject(r);
    fx_check_integer(c, 1, "EXISTS after");
    redisFree(p);

    /* a timeout answers nil from the leader's clock, after the time asked (generous bound) */
    int64_t t0 = now_ms();
    r = fx_cmd(c, "BZPOPMIN nothing 0.3");
    cr_assert(r->type == REDIS_REPLY_NIL, "got %s", tc_reply_text(r));
    freeReplyObject(r);
    int64_t took = now_ms() - t0;
    cr_assert(took >= 250 && took < 10000, "took %lld ms", (long long)took);
    r = fx_cmd(c, "BZMPOP 0.05 2 a b MIN");
    cr_assert(r->type == REDIS_REPLY_NIL, "got %s", tc_reply_text(r));
    freeReplyObject(r);

    /* MULTI: the non-blocking form, nil */
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "BZPOPMIN nothing 0");
    r = fx_cmd(c, "EXEC");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
              r->element[0]->type == REDIS_REPLY_NIL, "got %s", tc_reply_text(r));
    freeReplyObject(r);

    /* a follower redirects like any write */
    r = tc_port_cmd(node((idx + 1) % 3)->port, "BZPOPMIN q 0");
    cr_assert(tc_moved_to_leader(r, 0, NULL), "got %s", tc_reply_text(r));
    freeReplyObject(r);

    /* CLIENT UNBLOCK: TIMEOUT answers nil, ERROR the -UNBLOCKED error */
    redisContext *u = fx_connect(port);
    redisReply *ids = fx_cmd(u, "CLIENT ID");
    long long uid = ids->integer;
    freeReplyObject(ids);
    fx_check_integer(c, 0, "CLIENT UNBLOCK %lld", uid); /* not blocked */
    fx_check_integer(c, 0, "CLIENT UNBLOCK 999999");
    redisAppendCommand(u, "BZPOPMIN u 0");
    int done = 0;
    while (!done)
        cr_assert(redisBufferWrite(u, &done) == REDIS_OK);
    wait_blocked(port, 1);
    r = fx_cmd(c, "CLIENT LIST");
    cr_assert(r->type == REDIS_REPLY_STRING && strstr(r->str, " flags=b ") != NULL,
              "no blocked client in %s", r->str);
    freeReplyObject(r);
    fx_check_integer(c, 1, "CLIENT UNBLOCK %lld TIMEOUT", uid);
    r = get_reply(u);
    cr_assert(r->type == REDIS_REPLY_NIL, "got %s", tc_reply_text(r));
    freeReplyObject(r);
    /* the same connection works again, then blocks again and is unblocked with ERROR */
    fx_check_integer(c, 0, "EXISTS u");
    redisAppendCommand(u, "BZPOPMIN u 0");
    done = 0;
    while (!done)
        cr_assert(redisBufferWrite(u, &done) == REDIS_OK);
    wait_blocked(port, 1);
    fx_check_integer(c, 1, "CLIENT UNBLOCK %lld ERROR", uid);
    r = get_reply(u);
    fx_assert_error(r, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    freeReplyObject(r);
    fx_check_error(c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
                   "CLIENT UNBLOCK 1 NOW");

    /* a client that disconnects while blocked is forgotten; its key gets no pop */
    redisContext *gone = send_blocking(port, "BZPOPMIN %s 0", "g");
    wait_blocked(port, 1);
    redisFree(gone);
    wait_blocked(port, 0);
    fx_check_integer(c, 1, "ZADD g 1 kept");
    fx_check_integer(c, 1, "ZCARD g");

    for (int i = 0; i < 3; i++)
        redisFree(w[i]);
    redisFree(m);
    redisFree(x);
    redisFree(u);
    redisFree(c);
    tc_assert_converged(NULL, NULL, NULL);
    tc_stop_cleanly();
}

/* The list blocking pops: BLPOP/BRPOP/BLMPOP served in blocking order by pushes from another
 * client, BLMOVE's push to its destination serves a client blocked there (a chain), and
 * BRPOPLPUSH/BLMOVE time out with a nil bulk string. */
Test(blocking, lists_block_and_chain)
{
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);
    int port = node(idx)->port;

    redisContext *a = send_blocking(port, "BLPOP %s 0", "jobs");
    wait_blocked(port, 1);
    redisContext *b = send_blocking(port, "BRPOP %s 0", "jobs");
    wait_blocked(port, 2);
    redisContext *m = send_blocking(port, "BLMPOP 0 1 %s LEFT COUNT 5", "jobs");
    wait_blocked(port, 3);
    fx_check_integer(c, 4, "RPUSH jobs j1 j2 j3 j4");
    redisReply *r = get_reply(a);
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2, "got %s", tc_reply_text(r));
    cr_assert_str_eq(r->element[1]->str, "j1");
    freeReplyObject(r);
    r = get_reply(b);
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2, "got %s", tc_reply_text(r));
    cr_assert_str_eq(r->element[1]->str, "j4");
    freeReplyObject(r);
    r = get_reply(m);
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->elements == 2,
              "got %s", tc_reply_text(r));
    cr_assert_str_eq(r->element[1]->element[0]->str, "j2");
    cr_assert_str_eq(r->element[1]->element[1]->str, "j3");
    freeReplyObject(r);
    wait_blocked(port, 0);

    /* BLMOVE src -> work while another client waits on work: one push serves both */
    redisContext *mv = send_blocking(port, "BLMOVE %s work RIGHT LEFT 0", "src");
    wait_blocked(port, 1);
    redisContext *w = send_blocking(port, "BLPOP %s 0", "work");
    wait_blocked(port, 2);
    fx_check_integer(c, 1, "LPUSH src item");
    r = get_reply(mv);
    fx_assert_string(r, "item");
    freeReplyObject(r);
    r = get_reply(w);
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2, "got %s", tc_reply_text(r));
    cr_assert_str_eq(r->element[1]->str, "item");
    freeReplyObject(r);
    fx_check_integer(c, 0, "EXISTS src work");

    r = fx_cmd(c, "BRPOPLPUSH nothing d 0.05");
    cr_assert(r->type == REDIS_REPLY_NIL, "got %s", tc_reply_text(r));
    freeReplyObject(r);
    r = fx_cmd(c, "BLMOVE nothing d LEFT LEFT 0.05");
    cr_assert(r->type == REDIS_REPLY_NIL, "got %s", tc_reply_text(r));
    freeReplyObject(r);
    r = fx_cmd(c, "BLPOP nothing 0.05");
    cr_assert(r->type == REDIS_REPLY_NIL, "got %s", tc_reply_text(r));
    freeReplyObject(r);
    redisFree(a);
    redisFree(b);
    redisFree(m);
    redisFree(mv);
    redisFree(w);
    redisFree(c);
    tc_assert_converged(NULL, NULL, NULL);
    tc_stop_cleanly();
}

/* A leadership change while clients are blocked (nothing proposed for them) answers each
 * with the "nothing was popped" error, and the elements pushed later stay queued. */
Test(blocking, leadership_lost_while_blocked_pops_nothing)
{
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);
    int port = node(idx)->port;
    redisContext *w[3];
    for (int i = 0; i < 3; i++) {
        w[i] = send_blocking(port, "BZPOPMIN %s 0", "lq");
        wait_blocked(port, i + 1);
    }
    redisReply *r = fx_cmd(c, "CLUSTER TRANSFER");
    fx_assert_status(r, "OK");
    freeReplyObject(r);
    for (int i = 0; i < 3; i++) {
        r = get_reply(w[i]);
        fx_assert_error(r, "TRYAGAIN leadership was lost while the client was blocked; "
                           "nothing was popped");
        freeReplyObject(r);
        redisFree(w[i]);
    }
    cr_assert_eq(tc_info_ll(port, "clients", "blocked_clients"), 0);
    r = tc_leader_cmd(TC_WRITE_MS, "ZADD lq 1 a 2 b");
    cr_assert(r && r->type == REDIS_REPLY_INTEGER && r->integer == 2, "got %s", tc_reply_text(r));
    freeReplyObject(r);
    r = tc_leader_cmd(TC_WRITE_MS, "ZCARD lq");
    cr_assert(r && r->integer == 2, "got %s", tc_reply_text(r));
    freeReplyObject(r);
    redisFree(c);
    tc_stop_cleanly();
}

/* ---- no element lost or delivered twice across a failover ---- */

#define N_ITEMS 400
#define N_CONSUMERS 4
#define BURST 100

struct consumer {
    pthread_t th;
    int port;
    int popped[N_ITEMS];
    int npopped;
    int unknown;       /* pops answered "outcome unknown" (or a lost connection) */
    int stop_on_nil;   /* phase 2: drain, stop at the first timeout */
    int id;            /* BLMOVE mode: moves into proc:<id> */
    int blmove;
};

static volatile int producing_done;

static void *consume(void *arg)
{
    struct consumer *k = arg;
    redisContext *c = redisConnect("127.0.0.1", k->port);
    if (c == NULL || c->err)
        return NULL;
    struct timeval tv = {30, 0};
    redisSetTimeout(c, tv);
    for (;;) {
        const char *t = k->stop_on_nil ? "0.5" : "1";
        redisReply *r = k->blmove ? redisCommand(c, "BLMOVE lq proc:%d RIGHT LEFT %s", k->id, t)
                                  : redisCommand(c, "BZPOPMIN fq %s", t);
        if (r == NULL) {
            k->unknown++;
            break;
        }
        if (k->blmove && r->type == REDIS_REPLY_STRING) {
            k->popped[k->npopped++] = atoi(r->str + 1);
        } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
            k->popped[k->npopped++] = atoi(r->element[1]->str + 1);
        } else if (r->type == REDIS_REPLY_NIL) {
            if (k->stop_on_nil || producing_done) {
                freeReplyObject(r);
                break;
            }
        } else {
            int uncertain = r->type == REDIS_REPLY_ERROR &&
                            (strncmp(r->str, "UNCERTAIN", 9) == 0 ||
                             strncmp(r->str, "TIMEOUT", 7) == 0);
            k->unknown += uncertain;
            freeReplyObject(r);
            break; /* TRYAGAIN (nothing popped), MOVED ...: this consumer is done */
        }
        freeReplyObject(r);
    }
    redisFree(c);
    return NULL;
}

Test(blocking, no_element_lost_or_duplicated_across_failover)
{
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);
    struct consumer *k = calloc(2 * N_CONSUMERS, sizeof(*k));
    int acked[N_ITEMS] = {0}, unknown_push = 0;

    for (int i = 0; i < N_CONSUMERS; i++) {
        k[i].port = node(idx)->port;
        pthread_create(&k[i].th, NULL, consume, &k[i]);
    }
    wait_blocked(node(idx)->port, N_CONSUMERS);
    for (int i = 0; i < N_ITEMS; i++) {
        if (i == N_ITEMS / 2) {
            /* A burst of pushes still being applied (and the pops they wake proposed)
             * when leadership moves: pops in flight at the change. */
            for (int j = 0; j < BURST; j++)
                redisAppendCommand(c, "ZADD fq %d i%d", i + j, i + j);
            int done = 0;
            while (!done)
                cr_assert(redisBufferWrite(c, &done) == REDIS_OK);
            redisReply *t = tc_port_cmd(node(idx)->port, "CLUSTER TRANSFER");
            cr_assert(t && t->type == REDIS_REPLY_STATUS, "transfer: %s", tc_reply_text(t));
            freeReplyObject(t);
            for (int j = 0; j < BURST; j++, i++) {
                redisReply *r = get_reply(c);
                if (r->type == REDIS_REPLY_INTEGER)
                    acked[i] = 1;
                else
                    unknown_push += !tc_is_redirect(r);
                freeReplyObject(r);
            }
        }
        redisReply *r = tc_leader_cmd(TC_WRITE_MS, "ZADD fq %d i%d", i, i);
        if (r && r->type == REDIS_REPLY_INTEGER)
            acked[i] = 1;
        else
            unknown_push++;
        freeReplyObject(r);
    }
    producing_done = 1;
    for (int i = 0; i < N_CONSUMERS; i++)
        pthread_join(k[i].th, NULL);
    /* drain what is left from the new leader */
    int lead = wait_leader();
    cr_assert_neq(lead, idx, "leadership did not move");
    for (int i = N_CONSUMERS; i < 2 * N_CONSUMERS; i++) {
        k[i].port = node(lead)->port;
        k[i].stop_on_nil = 1;
        pthread_create(&k[i].th, NULL, consume, &k[i]);
    }
    for (int i = N_CONSUMERS; i < 2 * N_CONSUMERS; i++)
        pthread_join(k[i].th, NULL);

    int seen[N_ITEMS] = {0}, unknown = 0, total = 0;
    for (int i = 0; i < 2 * N_CONSUMERS; i++) {
        unknown += k[i].unknown;
        for (int j = 0; j < k[i].npopped; j++) {
            int v = k[i].popped[j];
            cr_assert(v >= 0 && v < N_ITEMS);
            cr_assert_eq(seen[v], 0, "item %d delivered twice", v);
            seen[v] = 1;
            total++;
        }
    }
    redisReply *left = tc_leader_cmd(TC_WRITE_MS, "ZRANGE fq 0 -1");
    cr_assert(left && left->type == REDIS_REPLY_ARRAY);
    for (size_t j = 0; j < left->elements; j++) {
        int v = atoi(left->element[j]->str + 1);
        cr_assert_eq(seen[v], 0, "item %d both delivered and queued", v);
        seen[v] = 2;
    }
    freeReplyObject(left);
    int missing = 0;
    for (int i = 0; i < N_ITEMS; i++)
        if (acked[i] && seen[i] == 0)
            missing++;
    cr_log_info("popped %d, unknown pops %d, unknown pushes %d, missing %d", total, unknown,
                unknown_push, missing);
    cr_assert_leq(missing, unknown, "%d acknowledged items lost (only %d unknown outcomes)",
                  missing, unknown);
    cr_assert_gt(total, 0);
    free(k);
    redisFree(c);
    tc_assert_converged(NULL, NULL, NULL);
    tc_stop_cleanly();
}

/* Count each item of the list KEY on the leader into SEEN; returns how many it holds. */
static int count_list(const char *key, int *seen)
{
    redisReply *r = tc_leader_cmd(TC_WRITE_MS, "LRANGE %s 0 -1", key);
    cr_assert(r && r->type == REDIS_REPLY_ARRAY, "LRANGE %s: %s", key, tc_reply_text(r));
    for (size_t j = 0; j < r->elements; j++) {
        int v = atoi(r->element[j]->str + 1);
        cr_assert(v >= 0 && v < N_ITEMS);
        seen[v]++;
    }
    int n = (int)r->elements;
    freeReplyObject(r);
    return n;
}

/* The reliable queue: consumers BLMOVE items into their own processing lists while leadership
 * moves with pushes and moves in flight. A move never loses an item whatever its client heard:
 * every acknowledged item is afterwards in exactly one place (the queue or one processing
 * list), and every item a client received is in that client's processing list. */
Test(blocking, blmove_queue_loses_nothing_across_failover)
{
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);
    struct consumer *k = calloc(2 * N_CONSUMERS, sizeof(*k));
    int acked[N_ITEMS] = {0};

    producing_done = 0;
    for (int i = 0; i < N_CONSUMERS; i++) {
        k[i].port = node(idx)->port;
        k[i].id = i;
        k[i].blmove = 1;
        pthread_create(&k[i].th, NULL, consume, &k[i]);
    }
    wait_blocked(node(idx)->port, N_CONSUMERS);
    for (int i = 0; i < N_ITEMS; i++) {
        if (i == N_ITEMS / 2) {
            for (int j = 0; j < BURST; j++)
                redisAppendCommand(c, "LPUSH lq i%d", i + j);
            int done = 0;
            while (!done)
                cr_assert(redisBufferWrite(c, &done) == REDIS_OK);
            redisReply *t = tc_port_cmd(node(idx)->port, "CLUSTER TRANSFER");
            cr_assert(t && t->type == REDIS_REPLY_STATUS, "transfer: %s", tc_reply_text(t));
            freeReplyObject(t);
            for (int j = 0; j < BURST; j++, i++) {
                redisReply *r = get_reply(c);
                acked[i] = r->type == REDIS_REPLY_INTEGER;
                freeReplyObject(r);
            }
        }
        redisReply *r = tc_leader_cmd(TC_WRITE_MS, "LPUSH lq i%d", i);
        acked[i] = r && r->type == REDIS_REPLY_INTEGER;
        freeReplyObject(r);
    }
    producing_done = 1;
    for (int i = 0; i < N_CONSUMERS; i++)
        pthread_join(k[i].th, NULL);
    int lead = wait_leader();
    cr_assert_neq(lead, idx, "leadership did not move");
    for (int i = N_CONSUMERS; i < 2 * N_CONSUMERS; i++) {
        k[i].port = node(lead)->port;
        k[i].id = i;
        k[i].blmove = 1;
        k[i].stop_on_nil = 1;
        pthread_create(&k[i].th, NULL, consume, &k[i]);
    }
    for (int i = N_CONSUMERS; i < 2 * N_CONSUMERS; i++)
        pthread_join(k[i].th, NULL);

    int where[N_ITEMS] = {0}, unknown = 0, received = 0;
    cr_assert_eq(count_list("lq", where), 0, "the drain left items queued");
    for (int i = 0; i < 2 * N_CONSUMERS; i++) {
        char key[32];
        int mine[N_ITEMS] = {0};
        snprintf(key, sizeof key, "proc:%d", i);
        count_list(key, mine);
        unknown += k[i].unknown;
        for (int v = 0; v < N_ITEMS; v++)
            where[v] += mine[v];
        for (int j = 0; j < k[i].npopped; j++, received++)
            cr_assert_eq(mine[k[i].popped[j]], 1, "item %d received by %d but not in its list",
                         k[i].popped[j], i);
    }
    int lost = 0, twice = 0;
    for (int v = 0; v < N_ITEMS; v++) {
        lost += acked[v] && where[v] == 0;
        twice += where[v] > 1;
    }
    cr_log_info("received %d, unknown moves %d, lost %d, duplicated %d", received, unknown, lost,
                twice);
    cr_assert_eq(lost, 0, "%d acknowledged items lost", lost);
    cr_assert_eq(twice, 0, "%d items in two places", twice);
    cr_assert_gt(received, 0);
    free(k);
    redisFree(c);
    tc_assert_converged(NULL, NULL, NULL);
    tc_stop_cleanly();
}
