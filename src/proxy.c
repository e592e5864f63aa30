/* Follower proxying (see proxy.h): pipelined RESP connections to the leader, each reply relayed
 * byte for byte into the slot its request reserved. Never re-sends a request whose outcome the
 * lost connection left unknown. */
#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "client.h"
#include "cluster.h"
#include "command.h"
#include "config.h"
#include "consensus.h"
#include "list.h"
#include "log.h"
#include "peer.h"
#include "server.h"
#include "util.h"

/* The connections authenticate as the peer user (every permission): the follower has checked
 * the client's own ACL rules, the same replicated rules the leader would apply, and names the
 * client's user (CLUSTER ASUSER) for what it cannot check, a script's commands. A connection
 * lost with replies outstanding answers each of them -UNCERTAIN; one that never connected,
 * -TRYAGAIN. */

/* Pipelined connections shared by the plain clients of a follower (a client always uses the
 * one its id picks, so its requests stay in order). */
#define PROXY_POOL 4
/* A pooled connection whose replies are this much later than request-timeout is dropped. */
#define PROXY_SLACK_MS 2000

#define PROXY_LOST "UNCERTAIN the connection to the leader was lost while the request was in " \
                   "flight; it may or may not have been applied"
#define PROXY_UNREACHED "TRYAGAIN the leader could not be reached; the request was not sent"
#define PROXY_MOVED "TRYAGAIN leadership moved while the request was forwarded; it was not applied"
#define PROXY_EXECABORT "EXECABORT Transaction discarded because of previous errors."

struct px_entry {
    struct slot *s;      /* NULL: a reply to drop (CLUSTER ASUSER's) */
    const char *instead; /* answer this error instead of the reply (NULL: relay the reply) */
    int opener;          /* a MULTI (2) or WATCH (1): its OK opens the client's unit */
};

struct px_conn {
    struct list_node node; /* in the proxy's connections */
    struct proxy *px;
    uint64_t leader;
    char addr[64];
    struct bufferevent *bev;
    int connected;
    int skip;               /* replies still to skip (AUTH's) */
    struct px_entry *q;     /* outstanding requests, oldest at head */
    size_t head, tail, cap;
    int pool;               /* index in the pool, -1: retired or pinned */
    struct client *pin;     /* the client it is pinned to, NULL: none */
    char *caller;           /* the user the leader was last told (CLUSTER ASUSER), owned */
    int in_tx;              /* a MULTI was sent and no EXEC/DISCARD yet */
    int db;                 /* the database the leader runs this connection's commands in */
    int unit_live;          /* the leader confirmed the pinned client's open WATCH or MULTI */
};

struct proxy {
    struct server *srv;
    struct px_conn *pool[PROXY_POOL];
    struct list all; /* of struct px_conn: pooled, pinned and retired */
};

static void conn_free(struct px_conn *pc, const char *msg);
static int is_proc(const struct command *cmd, cmd_proc *proc);

struct proxy *proxy_new(struct server *srv)
{
    struct proxy *px = xcalloc(1, sizeof(*px));
    px->srv = srv;
    return px;
}

void proxy_free(struct proxy *px)
{
    if (px == NULL)
        return;
    while (px->all.head)
        conn_free(list_entry(px->all.head, struct px_conn, node), "TRYAGAIN server is shutting down");
    free(px);
}

/* ---- RESP value boundaries ---- */

/* The integer on the header line at P (up to the CR at END). -2 when malformed. */
static long long header_int(const char *p, const char *end)
{
    char tmp[24];
    size_t n = (size_t)(end - p);
    long long v;
    if (n == 0 || n >= sizeof(tmp))
        return -2;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    if (util_parse_ll(tmp, n, &v) != 0 || v < -1)
        return -2;
    return v;
}

long proxy_resp_value_len(const char *data, size_t len)
{
    size_t pos = 0;
    long long need = 1; /* values still to read: aggregates add their elements */
    while (need > 0) {
        if (pos >= len)
            return 0;
        const char *nl = memchr(data + pos, '\n', len - pos);
        if (nl == NULL)
            return len - pos > 64 * 1024 ? -1 : 0; /* no header line is that long */
        if (nl == data + pos || nl[-1] != '\r')
            return -1;
        size_t next = (size_t)(nl - data) + 1;
        char t = data[pos];
        long long n;
        need--;
        switch (t) {
        case '+': case '-': case ':': case '_': case ',': case '#': case '(':
            break;
        case '$': case '!': case '=':
            if ((n = header_int(data + pos + 1, nl - 1)) == -2)
                return -1;
            if (n >= 0) {
                if (len - next < (size_t)n + 2)
                    return 0;
                if (data[next + n] != '\r' || data[next + n + 1] != '\n')
                    return -1;
                next += (size_t)n + 2;
            }
            break;
        case '*': case '~': case '>': case '%': case '|':
            if ((n = header_int(data + pos + 1, nl - 1)) == -2)
                return -1;
            if (n > 0)
                need += (t == '%' || t == '|') ? 2 * n : n;
            if (t == '|')
                need++; /* an attribute precedes the value it describes */
            break;
        default:
            return -1;
        }
        pos = next;
    }
    return (long)pos;
}

/* ---- connections ---- */

static size_t conn_outstanding(const struct px_conn *pc)
{
    return pc->tail - pc->head;
}

static void conn_push(struct px_conn *pc, struct slot *s, const char *instead)
{
    if (pc->tail == pc->cap) {
        if (pc->head > 0) {
            memmove(pc->q, pc->q + pc->head, conn_outstanding(pc) * sizeof(*pc->q));
            pc->tail -= pc->head;
            pc->head = 0;
        }
        if (pc->tail == pc->cap) {
            pc->cap = pc->cap ? 2 * pc->cap : 16;
            pc->q = xrealloc(pc->q, pc->cap * sizeof(*pc->q));
        }
    }
    pc->q[pc->tail].s = s;
    pc->q[pc->tail].opener = 0;
    pc->q[pc->tail++].instead = instead;
}

/* Detach PC from its client, if pinned. LOST: the connection failed, the entries still
 * outstanding unanswered: what the client was told decides its state. A MULTI it got no OK
 * for was not begun; a WATCH or MULTI it got OK for was forgotten by the leader, so the
 * transaction must abort (EXECABORT) rather than run unwatched. */
static void conn_unpin(struct px_conn *pc, int lost)
{
    struct client *c = pc->pin;
    if (c == NULL)
        return;
    int multi_unanswered = 0;
    for (size_t i = pc->head; lost && i < pc->tail; i++)
        multi_unanswered |= pc->q[i].opener == 2;
    if (lost && c->px_unit && pc->unit_live)
        c->px_broken = 1;
    if (lost && multi_unanswered) {
        c->multi.in_multi = 0;
        c->multi.multi_error = 0;
    } else if (lost && c->multi.in_multi) {
        c->multi.multi_error = 1;
    }
    c->px_unit = 0;
    c->px_pin = NULL;
    pc->pin = NULL;
}

/* Answer every outstanding request of PC with MSG (or its own error) and free PC. */
static void conn_free(struct px_conn *pc, const char *msg)
{
    struct proxy *px = pc->px;
    conn_unpin(pc, 1);
    for (size_t i = pc->head; i < pc->tail; i++)
        if (pc->q[i].s != NULL)
            slot_error(pc->q[i].s, pc->q[i].instead ? pc->q[i].instead : msg);
    if (pc->pool >= 0)
        px->pool[pc->pool] = NULL;
    list_remove(&px->all, &pc->node);
    if (pc->bev)
        bufferevent_free(pc->bev);
    free(pc->q);
    free(pc->caller);
    free(pc);
    server_kick(px->srv);
}

/* PC is retired (no longer pooled, not pinned): free it once it has nothing outstanding. */
static void conn_reap(struct px_conn *pc)
{
    if (pc->pool < 0 && pc->pin == NULL && conn_outstanding(pc) == 0)
        conn_free(pc, PROXY_LOST);
}

/* Relay one reply (LEN bytes at DATA) to PC's oldest request. */
static void conn_reply(struct px_conn *pc, const char *data, size_t len)
{
    if (pc->skip > 0) {
        pc->skip--;
        return;
    }
    if (conn_outstanding(pc) == 0) {
        log_verbose("proxy: unexpected reply from the leader at %s", pc->addr);
        return;
    }
    struct px_entry e = pc->q[pc->head++];
    if (pc->head == pc->tail)
        pc->head = pc->tail = 0;
    if (e.opener && len > 0 && data[0] != '-')
        pc->unit_live = 1;
    if (e.s == NULL)
        return; /* CLUSTER ASUSER's OK (an error: a node without it; scripts run unchecked) */
    if (e.instead)
        reply_error(slot_buf(e.s), e.instead);
    else if (len > 7 && memcmp(data, "-MOVED ", 7) == 0)
        reply_error(slot_buf(e.s), PROXY_MOVED); /* that node no longer leads: not run */
    else
        buf_append(slot_buf(e.s), data, len);
    slot_done(e.s);
}

static void conn_on_read(struct bufferevent *bev, void *arg)
{
    struct px_conn *pc = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    const char *data = (const char *)evbuffer_pullup(in, (ssize_t)n);
    size_t used = 0;
    long v;
    while (used < n && (v = proxy_resp_value_len(data + used, n - used)) > 0) {
        conn_reply(pc, data + used, (size_t)v);
        used += (size_t)v;
    }
    evbuffer_drain(in, used);
    if (used < n && v < 0) {
        log_warning("proxy: protocol error from the leader at %s; closing", pc->addr);
        conn_free(pc, PROXY_LOST);
        return;
    }
    struct client *c = pc->pin;
    if (c != NULL && !c->px_unit && conn_outstanding(pc) == 0) {
        conn_unpin(pc, 0); /* the transaction or blocking call is over: C uses the pool again */
    }
    server_kick(pc->px->srv);
    conn_reap(pc);
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct px_conn *pc = arg;
    if (what & BEV_EVENT_CONNECTED) {
        pc->connected = 1;
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && conn_outstanding(pc) == 0) {
        bufferevent_enable(bev, EV_READ); /* idle, not silent */
        return;
    }
    log_verbose("proxy: connection to the leader at %s %s", pc->addr,
                (what & BEV_EVENT_TIMEOUT) ? "silent with replies outstanding" : "failed or closed");
    conn_free(pc, pc->connected ? PROXY_LOST : PROXY_UNREACHED);
}

/* A new connection to LEADER at ADDR, pinned (no reply deadline: a blocking call may wait
 * for ever) or pooled. NULL when ADDR is not an IPv4 address:port. */
static struct px_conn *conn_new(struct proxy *px, uint64_t leader, const char *addr, int pinned)
{
    struct server *srv = px->srv;
    struct sockaddr_in sin;
    if (peer_sockaddr(addr, &sin) != 0)
        return NULL;
    struct px_conn *pc = xcalloc(1, sizeof(*pc));
    pc->px = px;
    pc->leader = leader;
    pc->pool = -1;
    snprintf(pc->addr, sizeof(pc->addr), "%s", addr);
    list_push_back(&px->all, &pc->node);
    pc->bev = bufferevent_socket_new(srv->base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(pc->bev, conn_on_read, NULL, conn_on_event, pc);
    if (!pinned) {
        long long ms = srv->cfg->request_timeout + PROXY_SLACK_MS;
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        bufferevent_set_timeouts(pc->bev, &tv, &tv);
    }
    if (peer_append_auth(srv, bufferevent_get_output(pc->bev)) != PEER_AUTH_NONE)
        pc->skip++; /* as peer.c: the peer user, or requirepass without a secret */
    bufferevent_enable(pc->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(pc->bev, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        bufferevent_free(pc->bev);
        pc->bev = NULL;
        conn_free(pc, PROXY_UNREACHED);
        return NULL;
    }
    int one = 1;
    setsockopt(bufferevent_getfd(pc->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return pc;
}

/* The current leader (its id, its RESP address in *ADDR), or 0. */
static uint64_t current_leader(struct server *srv, const char **addr)
{
    *addr = NULL;
    uint64_t leader = consensus_leader(srv->cs, addr);
    if (leader == 0 || leader == (uint64_t)srv->cfg->id || *addr == NULL || (*addr)[0] == '\0')
        return 0;
    return leader;
}

/* The pooled connection for C to the current leader, opened when needed. */
static struct px_conn *pool_conn(struct client *c)
{
    struct proxy *px = c->srv->proxy;
    const char *addr;
    uint64_t leader = current_leader(c->srv, &addr);
    int i = (int)(c->id % PROXY_POOL);
    struct px_conn *pc = px->pool[i];
    if (pc != NULL && (pc->leader != leader || strcmp(pc->addr, addr ? addr : "") != 0)) {
        px->pool[i] = NULL; /* leadership moved: new requests go to the new leader */
        pc->pool = -1;
        conn_reap(pc);
        pc = NULL;
    }
    if (pc == NULL && leader != 0 && (pc = conn_new(px, leader, addr, 0)) != NULL) {
        pc->pool = i;
        px->pool[i] = pc;
    }
    return pc;
}

/* Send REQ (CMD's) over PC for C, its reply into a new deferred slot (INSTEAD: an error
 * answered in its place). First, outside MULTI, CLUSTER ASUSER when the leader was told
 * another user: the commands of C's scripts are checked against C's user's rules there, as
 * they would be for a client of its own (everything else C sends was checked here). Takes
 * REQ. */
static void conn_forward(struct px_conn *pc, struct client *c, const struct command *cmd,
                         struct request *req, const char *instead)
{
    struct evbuffer *out = bufferevent_get_output(pc->bev);
    const char *user = client_user(c);
    if (!pc->in_tx && client_db(c) != pc->db) { /* the client's database (SELECT) */
        char n[24];
        snprintf(n, sizeof(n), "%d", client_db(c));
        const char *argv[] = {"SELECT", n};
        peer_append_command(out, 2, argv, NULL);
        conn_push(pc, NULL, NULL);
        pc->db = client_db(c);
    }
    if (!pc->in_tx && user != NULL && (pc->caller == NULL || strcmp(pc->caller, user) != 0)) {
        const char *argv[] = {"CLUSTER", "ASUSER", user};
        peer_append_command(out, 3, argv, NULL);
        conn_push(pc, NULL, NULL);
        free(pc->caller);
        pc->caller = xstrdup(user);
    }
    if (is_proc(cmd, cmd_multi))
        pc->in_tx = 1;
    else if (is_proc(cmd, cmd_exec) || is_proc(cmd, cmd_discard))
        pc->in_tx = 0;
    c->srv->stats.proxied_commands++;
    /* this node's MONITOR shows what its clients send, forwarded or not (inside MULTI, as
     * each command is forwarded to be queued by the leader) */
    client_feed_monitors(c->srv, client_db(c), c->addr, cmd, req);
    peer_append_command(out, req->argc, (const char *const *)req->argv, req->len);
    conn_push(pc, client_defer(c), instead);
    if (pc->pin != NULL && (is_proc(cmd, cmd_multi) || is_proc(cmd, cmd_watch)))
        pc->q[pc->tail - 1].opener = is_proc(cmd, cmd_multi) ? 2 : 1;
    request_free(req);
}

/* ---- the dispatcher's side ---- */

int proxy_applies(const struct client *c)
{
    struct server *srv = c->srv;
    const char *addr;
    if (c->user == NULL || srv->proxy == NULL)
        return 0; /* a peer node: it is told where the leader is */
    long long mode = srv->cfg->follower_mode;
    if (mode == FOLLOWER_MOVED || (mode == FOLLOWER_AUTO && c->cluster_aware))
        return 0;
    /* The leader connections speak RESP2, whose replies cannot be turned back into RESP3's
     * maps, sets and doubles: a RESP3 client is redirected (-MOVED) instead. */
    if (c->resp == RESP3)
        return 0;
    if (consensus_accepts(srv->cs) || cluster_removed(srv) || srv->shutting_down)
        return 0;
    return current_leader(srv, &addr) != 0;
}

static int is_proc(const struct command *cmd, cmd_proc *proc)
{
    return cmd != NULL && cmd->proc == proc;
}

/* Whether CMD's reply needs the leader: a write, or a read with a consistent read-consistency. */
static int needs_leader(const struct client *c, const struct command *cmd)
{
    /* a READONLY client's reads are served here (follower_read.c) */
    return (cmd->flags & CMD_WRITE) ||
           ((cmd->flags & CMD_READONLY) && c->srv->cfg->read_consistency != READ_STALE &&
            !c->readonly);
}

/* Commands that start a unit pinned to one connection. */
static int starts_unit(const struct command *cmd)
{
    return is_proc(cmd, cmd_multi) || is_proc(cmd, cmd_watch) || (cmd->flags & CMD_BLOCKING);
}

int proxy_must_wait(const struct client *c, const struct command *cmd)
{
    return cmd != NULL && c->px_pin == NULL && !c->multi.in_multi && starts_unit(cmd) &&
           proxy_applies(c);
}

void proxy_client_gone(struct client *c)
{
    struct px_conn *pc = c->px_pin;
    if (pc == NULL)
        return;
    conn_unpin(pc, 0);
    c->px_broken = 0;
    conn_free(pc, PROXY_LOST); /* the leader drops its MULTI, WATCH or blocked call */
}

/* C is pinned to a connection: what goes over it. */
static int pinned_dispatch(struct client *c, const struct command *cmd, struct request *req)
{
    struct px_conn *pc = c->px_pin;
    if (is_proc(cmd, cmd_reset)) {
        proxy_client_gone(c);
        return 0;
    }
    if (c->px_unit && c->multi.in_multi && is_proc(cmd, cmd_select)) {
        /* the leader would switch databases in the transaction while this node's client
         * stayed where it was: refused, and the transaction with it */
        c->multi.multi_error = 1;
        reply_error(client_reply_buf(c), "ERR SELECT inside a transaction is not supported through a "
                                         "follower: SELECT before MULTI, or connect to the leader");
        request_free(req);
        return 1;
    }
    if (is_proc(cmd, cmd_auth) || is_proc(cmd, cmd_hello) || is_proc(cmd, cmd_quit) ||
        is_proc(cmd, cmd_client) || is_proc(cmd, cmd_select))
        return 0; /* the connection's own state stays on this node */
    if (c->px_unit && c->multi.in_multi) {
        /* inside MULTI: everything is queued by the leader, EXEC or DISCARD ends it */
        const char *instead = NULL;
        if (is_proc(cmd, cmd_exec) || is_proc(cmd, cmd_discard)) {
            if (is_proc(cmd, cmd_exec) && c->multi.multi_error) {
                request_free(req); /* refused here at queue time: discard it there */
                req = request_new(1);
                request_push(req, "DISCARD", 7);
                instead = PROXY_EXECABORT;
            }
            multi_reset(&c->multi);
            c->px_unit = 0;
        }
        conn_forward(pc, c, cmd, req, instead);
        return 1;
    }
    if (c->px_unit) { /* watching */
        if (is_proc(cmd, cmd_multi)) {
            c->multi.in_multi = 1;
            c->multi.multi_error = 0;
        } else if (is_proc(cmd, cmd_unwatch)) {
            c->px_unit = 0;
        } else if (!(cmd->flags & CMD_TX) && !needs_leader(c, cmd)) {
            return 0;
        }
        conn_forward(pc, c, cmd, req, NULL);
        return 1;
    }
    /* draining the unit's replies: C stays on this connection until they are in */
    if (is_proc(cmd, cmd_multi) || is_proc(cmd, cmd_watch)) {
        c->px_unit = 1;
        pc->unit_live = 0;
        c->multi.in_multi = is_proc(cmd, cmd_multi);
        c->multi.multi_error = 0;
    } else if (!needs_leader(c, cmd)) {
        return 0;
    }
    conn_forward(pc, c, cmd, req, NULL);
    return 1;
}

int proxy_dispatch(struct client *c, const struct command *cmd, struct request *req)
{
    if (c->px_pin != NULL)
        return pinned_dispatch(c, cmd, req);
    if (c->px_broken && !c->multi.in_multi && (is_proc(cmd, cmd_multi) || is_proc(cmd, cmd_watch))) {
        /* the leader lost this client's WATCH: the transaction it guards must abort (a new
         * WATCH cannot make up for it), here */
        if (is_proc(cmd, cmd_multi)) {
            c->px_broken = 0;
            c->multi.in_multi = 1;
            c->multi.multi_error = 1;
        }
        reply_ok(client_reply_buf(c));
        request_free(req);
        return 1;
    }
    if (c->px_broken && (is_proc(cmd, cmd_exec) || is_proc(cmd, cmd_discard) ||
                         is_proc(cmd, cmd_unwatch) || is_proc(cmd, cmd_reset)))
        c->px_broken = 0; /* answered here as without a WATCH */
    if (c->multi.in_multi || !proxy_applies(c))
        return 0; /* a transaction begun before this node became a follower stays local */
    if (starts_unit(cmd)) {
        const char *addr;
        uint64_t leader = current_leader(c->srv, &addr);
        struct px_conn *pc = conn_new(c->srv->proxy, leader, addr, 1);
        if (pc == NULL)
            return 0;
        pc->pin = c;
        c->px_pin = pc;
        c->px_unit = !(cmd->flags & CMD_BLOCKING);
        c->multi.in_multi = is_proc(cmd, cmd_multi);
        c->multi.multi_error = 0;
        conn_forward(pc, c, cmd, req, NULL);
        return 1;
    }
    if (!needs_leader(c, cmd))
        return 0;
    struct px_conn *pc = pool_conn(c);
    if (pc == NULL)
        return 0;
    conn_forward(pc, c, cmd, req, NULL);
    return 1;
}
