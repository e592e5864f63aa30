/* One-shot RESP client on a libevent bufferevent, parsing replies with hiredis's redisReader.
 * Used for node-to-node requests; nothing here touches the keyspace. */
#include "peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "acl.h"
#include "peerauth.h"
#include "server.h"
#include "util.h"

struct peer_req {
    struct peer_req *prev, *next; /* in flight: the list peer_cancel_all frees */
    struct server *srv;
    struct event *fail_ev;        /* reports a failed connect on the next loop turn */
    struct bufferevent *bev;
    redisReader *reader;
    peer_reply_fn *cb;
    void *arg;
    int skip;   /* replies to skip first (the AUTH reply) */
    int skip_errors; /* skip it even when an error: a node with another cluster secret then
                      * answers the command itself as the default user (its own error text) */
    int done;
};

/* Every request in flight, so that none outlives the server (one server per process). */
static struct peer_req *inflight;

static void peer_free(struct peer_req *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        inflight = p->next;
    if (p->next)
        p->next->prev = p->prev;
    if (p->fail_ev)
        event_free(p->fail_ev);
    bufferevent_free(p->bev);
    redisReaderFree(p->reader);
    free(p);
}

static void peer_finish(struct peer_req *p, const redisReply *reply, const char *err)
{
    if (!p->done) {
        p->done = 1;
        if (p->cb)
            p->cb(p->arg, reply, err);
    }
    peer_free(p);
}

void peer_cancel_all(struct server *srv)
{
    for (struct peer_req *p = inflight, *next; p; p = next) {
        next = p->next;
        if (p->srv == srv)
            peer_free(p); /* no callback: its owner is going away */
    }
}

static void peer_on_read(struct bufferevent *bev, void *arg)
{
    struct peer_req *p = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    char *data = (char *)evbuffer_pullup(in, (ssize_t)n);
    redisReaderFeed(p->reader, data, n);
    evbuffer_drain(in, n);
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(p->reader, &reply) != REDIS_OK) {
            peer_finish(p, NULL, "protocol error in the peer's reply");
            return;
        }
        if (reply == NULL)
            return;
        redisReply *r = reply;
        if (p->skip > 0 && (r->type != REDIS_REPLY_ERROR || p->skip_errors)) {
            p->skip--;
            freeReplyObject(r);
            continue;
        }
        peer_finish(p, r, NULL);
        freeReplyObject(r);
        return;
    }
}

static void peer_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct peer_req *p = arg;
    if (what & BEV_EVENT_CONNECTED)
        return;
    peer_finish(p, NULL, (what & BEV_EVENT_TIMEOUT) ? "timed out" : "connection failed or closed");
}

static void peer_on_connect_failed(evutil_socket_t fd, short what, void *arg)
{
    peer_finish(arg, NULL, "connection failed");
}

void peer_append_command(struct evbuffer *out, int argc, const char *const *argv, const size_t *len)
{
    evbuffer_add_printf(out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t n = len ? len[i] : strlen(argv[i]);
        evbuffer_add_printf(out, "$%zu\r\n", n);
        evbuffer_add(out, argv[i], n);
        evbuffer_add(out, "\r\n", 2);
    }
}

int peer_sockaddr(const char *addr, struct sockaddr_in *sin)
{
    char ip[UTIL_IP_MAX];
    int port;
    if (util_split_addr(addr, ip, &port) != 0)
        return -1;
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, ip, &sin->sin_addr) == 1 ? 0 : -1;
}

int peer_append_auth(const struct server *srv, struct evbuffer *out)
{
    if (srv->cfg->cluster_secret && srv->cfg->cluster_secret[0]) {
        /* the peer user (cmd_server.c): every permission whatever the ACL users say */
        char proof[PEERAUTH_JOIN_PROOF_SIZE];
        peerauth_join_proof(srv->cfg->cluster_secret, 0, ACL_PEER_USER, "", "", proof);
        const char *auth[] = {"AUTH", ACL_PEER_USER, proof};
        peer_append_command(out, 3, auth, NULL);
        return PEER_AUTH_SECRET;
    }
    if (srv->cfg->requirepass) {
        const char *auth[] = {"AUTH", srv->cfg->requirepass};
        peer_append_command(out, 2, auth, NULL);
        return PEER_AUTH_PASSWORD;
    }
    return PEER_AUTH_NONE;
}

int peer_command(struct server *srv, const char *addr, int argc, const char *const *argv,
                 int timeout_ms, peer_reply_fn *cb, void *arg)
{
    struct sockaddr_in sin;
    if (peer_sockaddr(addr, &sin) != 0)
        return -1;

    struct peer_req *p = xcalloc(1, sizeof(*p));
    p->srv = srv;
    p->next = inflight;
    if (inflight)
        inflight->prev = p;
    inflight = p;
    p->cb = cb;
    p->arg = arg;
    p->reader = redisReaderCreate();
    p->bev = bufferevent_socket_new(srv->base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(p->bev, peer_on_read, NULL, peer_on_event, p);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(p->bev, &tv, &tv);
    struct evbuffer *out = bufferevent_get_output(p->bev);
    int auth = peer_append_auth(srv, out);
    p->skip = auth != PEER_AUTH_NONE;
    p->skip_errors = auth == PEER_AUTH_SECRET;
    peer_append_command(out, argc, argv, NULL);
    bufferevent_enable(p->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        /* Report the failure on the next loop turn: callbacks never run inside this call. */
        struct timeval now = {0, 0};
        p->fail_ev = evtimer_new(srv->base, peer_on_connect_failed, p);
        evtimer_add(p->fail_ev, &now);
    }
    return 0;
}
