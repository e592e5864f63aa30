/* The leader's side of the ReadIndex peer channel (see readindex.h): one persistent
 * bufferevent per voter, requests pipelined, answers parsed with hiredis's redisReader and
 * checked (shape, round, proof) before consensus counts them. A connection that fails or
 * stays silent with answers outstanding is closed and opened again at the next round. */
#include "readindex.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "consensus.h"
#include "log.h"
#include "peerauth.h"
#include "server.h"
#include "util.h"

#define READINDEX_MAX_PEERS 64
/* Answers outstanding this long: the connection is closed (the peer is paused or gone). */
#define READINDEX_SILENCE_MS 1000

struct ri_peer {
    uint64_t id;
    char addr[64];
    struct bufferevent *bev; /* NULL: not connected */
    redisReader *reader;
    int pending;             /* answers outstanding, AUTH's included */
    int skip;                /* AUTH answers still to skip */
    struct readindex *ri;
};

struct readindex {
    struct server *srv;
    struct ri_peer peers[READINDEX_MAX_PEERS];
    int npeers;
};

struct readindex *readindex_new(struct server *srv)
{
    struct readindex *ri = xcalloc(1, sizeof(*ri));
    ri->srv = srv;
    return ri;
}

static void peer_disconnect(struct ri_peer *p)
{
    if (p->bev)
        bufferevent_free(p->bev);
    if (p->reader)
        redisReaderFree(p->reader);
    p->bev = NULL;
    p->reader = NULL;
    p->pending = p->skip = 0;
}

void readindex_free(struct readindex *ri)
{
    if (ri == NULL)
        return;
    for (int i = 0; i < ri->npeers; i++)
        peer_disconnect(&ri->peers[i]);
    free(ri);
}

static int reply_ull(const redisReply *r, uint64_t *out)
{
    if (r->type != REDIS_REPLY_INTEGER || r->integer < 0)
        return -1;
    *out = (uint64_t)r->integer;
    return 0;
}

/* One answer from P: count it when it is a signed yes from P for the round it names. */
static void peer_answer(struct ri_peer *p, const redisReply *r)
{
    struct server *srv = p->ri->srv;
    uint64_t voter, term, seq, ok;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 6 || reply_ull(r->element[0], &voter) != 0 ||
        reply_ull(r->element[1], &term) != 0 || reply_ull(r->element[2], &seq) != 0 ||
        reply_ull(r->element[3], &ok) != 0 || r->element[4]->type != REDIS_REPLY_INTEGER ||
        r->element[5]->type != REDIS_REPLY_STRING) {
        if (r->type == REDIS_REPLY_ERROR)
            log_verbose("readindex: node %llu answered %s", (unsigned long long)p->id, r->str);
        return;
    }
    long long remaining = r->element[4]->integer;
    if (ok != 1)
        log_debug("readindex: node %llu does not follow this node in term %llu",
                  (unsigned long long)voter, (unsigned long long)term);
    if (voter != p->id || ok != 1 ||
        !peerauth_readindex_check(srv->cfg->cluster_secret, (uint64_t)srv->cfg->id, voter, term,
                                  seq, 1, remaining, r->element[5]->str, r->element[5]->len))
        return;
    consensus_read_ack(srv->cs, seq, term, voter, remaining);
}

static void peer_on_read(struct bufferevent *bev, void *arg)
{
    struct ri_peer *p = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    redisReaderFeed(p->reader, (const char *)evbuffer_pullup(in, (ssize_t)n), n);
    evbuffer_drain(in, n);
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(p->reader, &reply) != REDIS_OK) {
            log_verbose("readindex: protocol error from node %llu", (unsigned long long)p->id);
            peer_disconnect(p);
            return;
        }
        if (reply == NULL)
            break;
        if (p->pending > 0)
            p->pending--;
        if (p->skip > 0)
            p->skip--;
        else
            peer_answer(p, reply);
        freeReplyObject(reply);
        if (p->bev == NULL)
            return;
    }
    server_kick(p->ri->srv); /* an ack may have let consensus ask for a flush */
}

static void peer_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct ri_peer *p = arg;
    if (what & BEV_EVENT_CONNECTED)
        return;
    if ((what & BEV_EVENT_TIMEOUT) && p->pending == 0) {
        bufferevent_enable(bev, EV_READ); /* idle, not silent: keep the connection */
        return;
    }
    log_verbose("readindex: connection to node %llu %s", (unsigned long long)p->id,
                (what & BEV_EVENT_TIMEOUT) ? "silent with answers outstanding" : "failed or closed");
    peer_disconnect(p);
}

static void append_command(struct evbuffer *out, int argc, const char *const *argv)
{
    evbuffer_add_printf(out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        evbuffer_add_printf(out, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
}

static int peer_connect(struct readindex *ri, struct ri_peer *p)
{
    struct sockaddr_in sin;
    char ip[UTIL_IP_MAX];
    int port;
    if (util_split_addr(p->addr, ip, &port) != 0)
        return -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &sin.sin_addr) != 1)
        return -1;
    p->reader = redisReaderCreate();
    p->bev = bufferevent_socket_new(ri->srv->base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(p->bev, peer_on_read, NULL, peer_on_event, p);
    struct timeval tv = {READINDEX_SILENCE_MS / 1000, (READINDEX_SILENCE_MS % 1000) * 1000};
    bufferevent_set_timeouts(p->bev, &tv, &tv);
    bufferevent_enable(p->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        peer_disconnect(p);
        return -1;
    }
    evutil_socket_t fd = bufferevent_getfd(p->bev);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (ri->srv->cfg->requirepass) {
        const char *auth[] = {"AUTH", ri->srv->cfg->requirepass};
        append_command(bufferevent_get_output(p->bev), 2, auth);
        p->pending++;
        p->skip++;
    }
    return 0;
}

/* The entry for voter ND, (re)connected when its address changed. */
static struct ri_peer *peer_for(struct readindex *ri, const struct consensus_node *nd)
{
    struct ri_peer *p = NULL;
    for (int i = 0; i < ri->npeers && p == NULL; i++)
        if (ri->peers[i].id == nd->id)
            p = &ri->peers[i];
    if (p == NULL) {
        if (ri->npeers == READINDEX_MAX_PEERS)
            return NULL;
        p = &ri->peers[ri->npeers++];
        memset(p, 0, sizeof(*p));
        p->id = nd->id;
        p->ri = ri;
    }
    if (strcmp(p->addr, nd->resp_addr) != 0) {
        peer_disconnect(p);
        snprintf(p->addr, sizeof(p->addr), "%s", nd->resp_addr);
    }
    if (p->bev == NULL && peer_connect(ri, p) != 0)
        return NULL;
    return p;
}

void readindex_round(struct readindex *ri, uint64_t term, uint64_t seq)
{
    struct consensus_node nodes[READINDEX_MAX_PEERS];
    int n = consensus_nodes(ri->srv->cs, nodes, READINDEX_MAX_PEERS);
    char leader[24], terms[24], seqs[24];
    snprintf(leader, sizeof(leader), "%lld", ri->srv->cfg->id);
    snprintf(terms, sizeof(terms), "%llu", (unsigned long long)term);
    snprintf(seqs, sizeof(seqs), "%llu", (unsigned long long)seq);
    const char *argv[] = {"CLUSTER", "READINDEX", leader, terms, seqs};
    for (int i = 0; i < n && i < READINDEX_MAX_PEERS; i++) {
        const struct consensus_node *nd = &nodes[i];
        if (nd->id == (uint64_t)ri->srv->cfg->id || nd->member != MEMBER_VOTER || nd->resp_addr[0] == '\0')
            continue;
        struct ri_peer *p = peer_for(ri, nd);
        if (p == NULL || p->pending >= READINDEX_MAX_PENDING)
            continue;
        append_command(bufferevent_get_output(p->bev), 5, argv);
        p->pending++;
    }
}
