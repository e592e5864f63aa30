/* Follower reads (see follower_read.h). Reads wait in three stages: WAITING (arrived, not yet
 * asked for), ASKED (a CLUSTER FOLLOWERINDEX request in flight covers them: every one of
 * them arrived before it was sent; a few requests may be in flight, answered in order) and READY (the leader's index is known; served once it
 * is applied here, in arrival order). Why the index makes the read linearizable:
 * docs/SERVER.md, "Follower reads". */
#include "follower_read.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "client.h"
#include "consensus.h"
#include "log.h"
#include "peer.h"
#include "resp.h"
#include "server.h"
#include "util.h"

/* A FOLLOWERINDEX request unanswered this long: the connection is closed and the request
 * sent again (the leader is paused or gone). */
#define FR_ASK_TIMEOUT_MS 1000
/* Requests in flight at once, each for the reads that arrived since the previous one: a read
 * need not wait for an earlier request's answer before its own is sent. */
#define FR_MAX_ASKED 2
#define MSG_TIMEOUT_READ "TIMEOUT the read could not be confirmed within request-timeout"

struct fr_read {
    struct slot *s;
    const struct command *cmd;
    struct request *req;
};

struct fr_group {
    struct fr_group *next;
    struct fr_read *v;
    int n, cap;
    uint64_t index;     /* READY: the leader's answer */
    int64_t created_us; /* of its oldest read */
};

struct follower_read {
    struct server *srv;
    struct fr_group *waiting;
    struct fr_group *asked, *asked_tail; /* one group per request in flight, oldest first */
    int nasked;
    int retry_later;    /* the last request failed: ask again at the next cron */
    struct fr_group *ready, *ready_tail;
    /* The connection to the leader (NULL: none): AUTH, then one request at a time. */
    struct bufferevent *bev;
    redisReader *reader;
    char addr[64];      /* where it goes */
    int skip;           /* AUTH replies still to skip */
    struct follower_read_stats st;
};

struct follower_read *follower_read_new(struct server *srv)
{
    struct follower_read *fr = xcalloc(1, sizeof(*fr));
    fr->srv = srv;
    return fr;
}

static struct fr_group *group_new(void)
{
    struct fr_group *g = xcalloc(1, sizeof(*g));
    g->created_us = util_mono_us();
    return g;
}

/* Answer every read of G with MSG and free G (NULL: no-op). */
static void group_fail(struct fr_group *g, const char *msg)
{
    if (g == NULL)
        return;
    for (int i = 0; i < g->n; i++) {
        slot_error(g->v[i].s, msg);
        request_free(g->v[i].req);
    }
    free(g->v);
    free(g);
}

static void group_free(struct fr_group *g)
{
    free(g->v);
    free(g);
}

/* Close the connection: an answer still due on it can never be taken for a later request's. */
static void conn_close(struct follower_read *fr)
{
    if (fr->bev)
        bufferevent_free(fr->bev);
    if (fr->reader)
        redisReaderFree(fr->reader);
    fr->bev = NULL;
    fr->reader = NULL;
    fr->skip = 0;
}

void follower_read_free(struct follower_read *fr)
{
    if (fr == NULL)
        return;
    conn_close(fr);
    const char *msg = "TRYAGAIN server is shutting down";
    group_fail(fr->waiting, msg);
    while (fr->asked) {
        struct fr_group *g = fr->asked;
        fr->asked = g->next;
        group_fail(g, msg);
    }
    while (fr->ready) {
        struct fr_group *g = fr->ready;
        fr->ready = g->next;
        group_fail(g, msg);
    }
    free(fr);
}

struct follower_read_stats *follower_read_stats(struct follower_read *fr)
{
    return &fr->st;
}

/* Append W's reads to G and free W. */
static void group_merge(struct fr_group *g, struct fr_group *w)
{
    for (int i = 0; i < w->n; i++) {
        g->v = util_grow(g->v, g->n, &g->cap, sizeof(*g->v));
        g->v[g->n++] = w->v[i];
    }
    group_free(w);
}

/* The oldest asked group, taken off the list. */
static struct fr_group *asked_pop(struct follower_read *fr)
{
    struct fr_group *g = fr->asked;
    fr->asked = g->next;
    if (fr->asked == NULL)
        fr->asked_tail = NULL;
    fr->nasked--;
    g->next = NULL;
    return g;
}

/* The asked groups go back, in order, to the front of the waiting reads: they are asked for
 * again (the connection was closed: no answer of the old requests is taken any more). */
static void requeue_asked(struct follower_read *fr)
{
    if (fr->asked == NULL)
        return;
    struct fr_group *g = asked_pop(fr);
    while (fr->asked)
        group_merge(g, asked_pop(fr));
    if (fr->waiting)
        group_merge(g, fr->waiting);
    fr->waiting = g;
}

static void ask(struct follower_read *fr);

/* The leader's answer REPLY to the request in flight (NULL: the connection failed, ERR). */
static void on_answer(struct follower_read *fr, const redisReply *reply, const char *err)
{
    if (fr->asked == NULL)
        return;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer >= 0) {
        struct fr_group *g = asked_pop(fr);
        g->index = (uint64_t)reply->integer;
        if (fr->ready_tail)
            fr->ready_tail->next = g;
        else
            fr->ready = g;
        fr->ready_tail = g;
        follower_read_serve(fr);
    } else if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "MOVED", 5) != 0 &&
               strncmp(reply->str, "TRYAGAIN", 8) != 0 && strncmp(reply->str, "CLUSTERDOWN", 11) != 0) {
        /* the leader's own answer (-TIMEOUT ...): passed on */
        group_fail(asked_pop(fr), reply->str);
    } else {
        /* Leadership moved, or the leader could not be reached: ask again (whoever leads
         * then) until request-timeout. Every read held arrived before the next request. */
        log_verbose("follower read: asking the leader failed: %s",
                    err ? err : reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "bad reply");
        conn_close(fr);
        requeue_asked(fr);
        fr->retry_later = 1;
        return;
    }
    ask(fr);
}

static void conn_on_read(struct bufferevent *bev, void *arg)
{
    struct follower_read *fr = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    redisReaderFeed(fr->reader, (const char *)evbuffer_pullup(in, (ssize_t)n), n);
    evbuffer_drain(in, n);
    while (fr->bev) {
        void *reply = NULL;
        if (redisReaderGetReply(fr->reader, &reply) != REDIS_OK) {
            log_verbose("follower read: protocol error in the leader's reply");
            conn_close(fr);
            requeue_asked(fr);
            fr->retry_later = 1;
            break;
        }
        if (reply == NULL)
            break;
        if (fr->skip > 0)
            fr->skip--;
        else
            on_answer(fr, reply, NULL);
        freeReplyObject(reply);
    }
    server_flush_writes(fr->srv);
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct follower_read *fr = arg;
    if (what & BEV_EVENT_CONNECTED)
        return;
    if ((what & BEV_EVENT_TIMEOUT) && fr->asked == NULL && fr->skip == 0) {
        bufferevent_enable(bev, EV_READ); /* idle, not silent: keep it */
        return;
    }
    if (fr->asked)
        on_answer(fr, NULL, (what & BEV_EVENT_TIMEOUT) ? "timed out" : "connection failed or closed");
    else
        conn_close(fr);
    server_flush_writes(fr->srv);
}

/* A connection to ADDR (the leader's RESP address), AUTH queued. */
static int conn_open(struct follower_read *fr, const char *addr)
{
    struct server *srv = fr->srv;
    struct sockaddr_in sin;
    if (peer_sockaddr(addr, &sin) != 0)
        return -1;
    snprintf(fr->addr, sizeof(fr->addr), "%s", addr);
    fr->reader = redisReaderCreate();
    fr->bev = bufferevent_socket_new(srv->base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(fr->bev, conn_on_read, NULL, conn_on_event, fr);
    struct timeval tv = {FR_ASK_TIMEOUT_MS / 1000, (FR_ASK_TIMEOUT_MS % 1000) * 1000};
    bufferevent_set_timeouts(fr->bev, &tv, &tv);
    fr->skip = peer_append_auth(srv, bufferevent_get_output(fr->bev)) != PEER_AUTH_NONE;
    bufferevent_enable(fr->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(fr->bev, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        conn_close(fr);
        return -1;
    }
    int one = 1;
    setsockopt(bufferevent_getfd(fr->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

/* Send the one FOLLOWERINDEX request for the waiting reads, unless one is in flight. */
static void ask(struct follower_read *fr)
{
    struct server *srv = fr->srv;
    const char *addr = NULL;
    if (fr->nasked >= FR_MAX_ASKED || fr->waiting == NULL || fr->retry_later)
        return;
    if (consensus_accepts(srv->cs)) {
        /* This node leads now: its own read path confirms them. */
        struct fr_group *g = fr->waiting;
        fr->waiting = NULL;
        for (int i = 0; i < g->n; i++)
            consensus_read(srv->cs, g->v[i].s, g->v[i].cmd, g->v[i].req);
        group_free(g);
        return;
    }
    if (consensus_leader(srv->cs, &addr) == 0 || addr == NULL)
        return; /* no leader known: the cron asks again */
    if (fr->bev && strcmp(fr->addr, addr) != 0) { /* leadership moved */
        conn_close(fr);
        requeue_asked(fr);
    }
    if (fr->bev == NULL && conn_open(fr, addr) != 0) {
        fr->retry_later = 1;
        return;
    }
    static const char *const argv[] = {"CLUSTER", "FOLLOWERINDEX"};
    peer_append_command(bufferevent_get_output(fr->bev), 2, argv, NULL);
    if (fr->asked_tail)
        fr->asked_tail->next = fr->waiting;
    else
        fr->asked = fr->waiting;
    fr->asked_tail = fr->waiting;
    fr->nasked++;
    fr->waiting = NULL;
    fr->st.requests++;
}

void follower_read_submit(struct follower_read *fr, struct slot *s, const struct command *cmd,
                          struct request *req)
{
    if (fr->waiting == NULL)
        fr->waiting = group_new();
    struct fr_group *g = fr->waiting;
    g->v = util_grow(g->v, g->n, &g->cap, sizeof(*g->v));
    g->v[g->n++] = (struct fr_read){s, cmd, req};
    ask(fr);
}

void follower_read_serve(struct follower_read *fr)
{
    uint64_t applied = consensus_applied(fr->srv->cs);
    while (fr->ready && fr->ready->index <= applied) {
        struct fr_group *g = fr->ready;
        fr->ready = g->next;
        if (fr->ready == NULL)
            fr->ready_tail = NULL;
        for (int i = 0; i < g->n; i++) {
            server_run_read(fr->srv, g->v[i].s, g->v[i].cmd, g->v[i].req);
            request_free(g->v[i].req);
        }
        fr->st.reads += g->n;
        group_free(g);
    }
}

static int expired(struct fr_group *g, int64_t limit)
{
    return g && g->created_us < limit;
}

void follower_read_cron(struct follower_read *fr)
{
    int64_t limit = util_mono_us() - fr->srv->cfg->request_timeout * 1000;
    if (expired(fr->asked, limit)) {
        while (expired(fr->asked, limit)) {
            struct fr_group *g = asked_pop(fr);
            fr->st.timeouts += g->n;
            group_fail(g, MSG_TIMEOUT_READ);
        }
        conn_close(fr); /* their answers must not be taken for later requests' */
        requeue_asked(fr);
    }
    if (expired(fr->waiting, limit)) {
        fr->st.timeouts += fr->waiting->n;
        group_fail(fr->waiting, MSG_TIMEOUT_READ);
        fr->waiting = NULL;
    }
    while (expired(fr->ready, limit)) { /* this node does not catch up with the leader */
        struct fr_group *g = fr->ready;
        fr->ready = g->next;
        if (fr->ready == NULL)
            fr->ready_tail = NULL;
        fr->st.timeouts += g->n;
        group_fail(g, MSG_TIMEOUT_READ);
    }
    fr->retry_later = 0;
    ask(fr);
}
