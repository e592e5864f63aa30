/* SENTINEL: each node acts as a Sentinel monitoring one master, the cluster named by
 * cluster-name, whose master is the raft leader and whose replicas are the other members;
 * the other members are its fellow Sentinels. Redis 7.0 Sentinel's replies, from this node's
 * consensus view (docs/SERVER.md, "Sentinel discovery"). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "command.h"
#include "config.h"
#include "consensus.h"
#include "exec.h"
#include "resp.h"
#include "sentinel.h"
#include "util.h"

#define SENTINEL_MAX_NODES 64

/* One node of the view with its RESP address split. */
struct sentinel_node {
    const struct consensus_node *nd;
    char ip[UTIL_IP_MAX];
    int port;
};

/* The monitored master as this node sees it. */
struct sentinel_view {
    struct consensus_node nodes[SENTINEL_MAX_NODES];
    int n;
    struct consensus_info info;
    const struct sentinel_state *st;
    const struct config *cfg;
    const char *name;
    int down;                 /* no leader with a known RESP address */
    uint64_t master_id;       /* the leader, or when down the last one known; 0: none ever */
    char master_ip[UTIL_IP_MAX];
    int master_port;
    int64_t now_ms;
};

/* Redis names instances with 40 hex digits; ours encode the raft id (as CLUSTER MYID). */
static void sentinel_runid(char out[41], uint64_t id)
{
    snprintf(out, 41, "%040llx", (unsigned long long)id);
}

static void view_load(struct sentinel_view *v, struct server *srv)
{
    struct consensus *cs = server_consensus(srv);
    const char *addr = NULL;
    memset(v, 0, sizeof(*v));
    v->cfg = server_config(srv);
    v->name = v->cfg->cluster_name ? v->cfg->cluster_name : SENTINEL_DEFAULT_NAME;
    v->st = server_sentinel(srv);
    v->now_ms = util_now_ms();
    v->n = consensus_nodes(cs, v->nodes, SENTINEL_MAX_NODES);
    if (v->n > SENTINEL_MAX_NODES)
        v->n = SENTINEL_MAX_NODES;
    consensus_get_info(cs, &v->info);
    v->master_id = consensus_leader(cs, &addr);
    if (v->master_id == 0 || addr == NULL) {
        v->down = 1;
        v->master_id = consensus_last_leader(cs, &addr);
    }
    if (addr == NULL || util_split_addr(addr, v->master_ip, &v->master_port) != 0) {
        v->master_ip[0] = '\0';
        v->master_port = 0;
    }
}

static int view_is_name(const struct sentinel_view *v, const struct request *req, int i)
{
    return strlen(v->name) == req->len[i] && memcmp(v->name, req->argv[i], req->len[i]) == 0;
}

/* The members other than the master with a known RESP address: the replicas (voters and
 * standbys, which receive the log) or, with SENTINELS set, every other node but this one. */
static int view_others(const struct sentinel_view *v, int sentinels, struct sentinel_node *out)
{
    uint64_t self = (uint64_t)v->cfg->id;
    int k = 0;
    for (int i = 0; i < v->n; i++) {
        const struct consensus_node *nd = &v->nodes[i];
        if (nd->resp_addr[0] == '\0' || util_split_addr(nd->resp_addr, out[k].ip, &out[k].port) != 0)
            continue;
        if (sentinels ? nd->id == self : (nd->id == v->master_id || nd->member == MEMBER_SPARE))
            continue;
        out[k++].nd = nd;
    }
    return k;
}

/* A field-value pair of an instance's flat list. */
static void field_str(struct buf *out, const char *name, const char *value)
{
    reply_bulk_cstr(out, name);
    reply_bulk_cstr(out, value);
}

static void field_ll(struct buf *out, const char *name, long long value)
{
    reply_bulk_cstr(out, name);
    reply_bulk_ll(out, value);
}

/* The fields every instance starts with (name .. down-after-milliseconds). */
#define COMMON_FIELDS 10
static void reply_common(struct buf *out, const char *name,
                         const char *ip, int port, uint64_t id, const char *flags)
{
    char runid[41];
    sentinel_runid(runid, id);
    field_str(out, "name", name);
    field_str(out, "ip", ip);
    field_ll(out, "port", port);
    field_str(out, "runid", id ? runid : "");
    field_str(out, "flags", flags);
    field_ll(out, "link-pending-commands", 0);
    field_ll(out, "link-refcount", 1);
    field_ll(out, "last-ping-sent", 0);
    field_ll(out, "last-ok-ping-reply", 0);
    field_ll(out, "last-ping-reply", 0);
}

static void reply_master(struct buf *out, const struct sentinel_view *v)
{
    struct sentinel_node others[SENTINEL_MAX_NODES];
    int slaves = view_others(v, 0, others);
    int sentinels = view_others(v, 1, others);
    int64_t down = v->down && v->st->down_ms ? v->now_ms - v->st->down_ms : 0;
    int64_t since = v->st->master_ms ? v->now_ms - v->st->master_ms : 0;
    reply_map_len(out, COMMON_FIELDS + 10 + (v->down ? 2 : 0)); /* RESP3: a map, as Redis */
    reply_common(out, v->name, v->master_ip, v->master_port, v->master_id,
                 v->down ? "s_down,o_down,master" : "master");
    if (v->down) {
        field_ll(out, "s-down-time", down);
        field_ll(out, "o-down-time", down);
    }
    field_ll(out, "down-after-milliseconds", v->cfg->election_timeout);
    field_ll(out, "info-refresh", 0);
    field_str(out, "role-reported", "master");
    field_ll(out, "role-reported-time", since);
    field_ll(out, "config-epoch", (long long)v->info.term);
    field_ll(out, "num-slaves", slaves);
    field_ll(out, "num-other-sentinels", sentinels);
    field_ll(out, "quorum", v->info.voters / 2 + 1);
    field_ll(out, "failover-timeout", v->cfg->election_timeout * 2);
    field_ll(out, "parallel-syncs", 1);
}

static void reply_replicas(struct buf *out, const struct sentinel_view *v)
{
    struct sentinel_node r[SENTINEL_MAX_NODES];
    int n = view_others(v, 0, r);
    reply_array(out, n);
    for (int i = 0; i < n; i++) {
        char name[UTIL_IP_MAX + 8];
        snprintf(name, sizeof(name), "%s:%d", r[i].ip, r[i].port);
        reply_map_len(out, COMMON_FIELDS + 11);
        reply_common(out, name, r[i].ip, r[i].port, r[i].nd->id, "slave");
        field_ll(out, "down-after-milliseconds", v->cfg->election_timeout);
        field_ll(out, "info-refresh", 0);
        field_str(out, "role-reported", "slave");
        field_ll(out, "role-reported-time", 0);
        field_ll(out, "master-link-down-time", 0);
        field_str(out, "master-link-status", v->down ? "err" : "ok");
        field_str(out, "master-host", v->master_ip[0] ? v->master_ip : "?");
        field_ll(out, "master-port", v->master_port);
        field_ll(out, "slave-priority", 100);
        field_ll(out, "slave-repl-offset", (long long)v->info.commit_index);
        field_ll(out, "replica-announced", 1);
    }
}

static void reply_sentinels(struct buf *out, const struct sentinel_view *v)
{
    struct sentinel_node s[SENTINEL_MAX_NODES];
    char runid[41], leader[41];
    int n = view_others(v, 1, s);
    sentinel_runid(leader, v->info.leader_id);
    reply_array(out, n);
    for (int i = 0; i < n; i++) {
        sentinel_runid(runid, s[i].nd->id);
        reply_map_len(out, COMMON_FIELDS + 4);
        reply_common(out, runid, s[i].ip, s[i].port, s[i].nd->id, "sentinel");
        field_ll(out, "down-after-milliseconds", v->cfg->election_timeout);
        field_ll(out, "last-hello-message", 0);
        field_str(out, "voted-leader", v->info.leader_id ? leader : "?");
        field_ll(out, "voted-leader-epoch", (long long)v->info.term);
    }
}

/* IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>: down when IP:PORT is the
 * master and no leader is known now; the "vote" is the raft leader of this node's term. */
static void reply_is_down(struct buf *out, const struct sentinel_view *v, const struct request *req)
{
    long long port, epoch;
    char leader[41];
    if (util_parse_ll(req->argv[3], req->len[3], &port) != 0 ||
        util_parse_ll(req->argv[4], req->len[4], &epoch) != 0) {
        reply_not_integer(out);
        return;
    }
    int master = v->master_ip[0] && port == v->master_port && strcmp(req->argv[2], v->master_ip) == 0;
    int vote = master && strcmp(req->argv[5], "*") != 0 && v->info.leader_id != 0;
    sentinel_runid(leader, v->info.leader_id);
    reply_array(out, 3);
    reply_int(out, master && v->down);
    reply_bulk_cstr(out, vote ? leader : "*");
    reply_int(out, vote ? (long long)v->info.term : 0);
}

/* CKQUORUM: with a leader, a majority of the voters is reachable (raft's own quorum); without
 * one, only this node is known to be usable. Redis's texts. */
static void reply_ckquorum(struct buf *out, const struct sentinel_view *v)
{
    int quorum = v->info.voters / 2 + 1, voters = v->n > 0 ? v->n : 1;
    if (!v->down) {
        char msg[128];
        snprintf(msg, sizeof(msg), "OK %d usable Sentinels. Quorum and failover authorization can be reached",
                 v->info.voters);
        reply_simple(out, msg);
        return;
    }
    int noquorum = 1 < quorum, noauth = 1 < voters / 2 + 1;
    reply_errorf(out, "NOQUORUM 1 usable Sentinels. %s%s%s",
                 noquorum ? "Not enough available Sentinels to reach the specified quorum for this master" : "",
                 noquorum && noauth ? ". " : "",
                 noauth ? "Not enough available Sentinels to reach the majority and authorize a failover" : "");
}

static const char *const sentinel_help[] = {
    "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum",
    "    needed to failover a master and the majority needed to authorize the",
    "    failover.",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "HELP",
    "    Prints this help.",
    NULL,
};

/* Subcommand, its exact argc (Redis 7.0's arities), and whether argv[2] names the master. */
static const struct {
    const char *name;
    int argc;
    int named;
} sentinel_subs[] = {
    {"masters", 2, 0},   {"master", 3, 1},   {"replicas", 3, 1}, {"slaves", 3, 1},
    {"sentinels", 3, 1}, {"myid", 2, 0},     {"ckquorum", 3, 1}, {"get-master-addr-by-name", 3, 0},
    {"is-master-down-by-addr", 6, 0}, {"help", 2, 0},
};

void cmd_sentinel(struct exec_ctx *ctx, struct request *req)
{
    struct sentinel_view v;
    size_t s;
    for (s = 0; s < sizeof(sentinel_subs) / sizeof(sentinel_subs[0]); s++)
        if (request_arg_is(req, 1, sentinel_subs[s].name))
            break;
    if (s < sizeof(sentinel_subs) / sizeof(sentinel_subs[0]) && req->argc != sentinel_subs[s].argc) {
        reply_wrong_subcommand_arity(ctx->out, "sentinel", req->argv[1]);
        return;
    }
    if (s == sizeof(sentinel_subs) / sizeof(sentinel_subs[0]) || request_arg_is(req, 1, "help")) {
        command_reply_subcommand_rest(ctx->out, req, "SENTINEL", sentinel_help, NULL);
        return;
    }
    view_load(&v, ctx->srv);
    const char *sub = sentinel_subs[s].name;
    if (sentinel_subs[s].named && !view_is_name(&v, req, 2)) {
        reply_error(ctx->out, "ERR No such master with that name");
    } else if (strcmp(sub, "masters") == 0) {
        reply_array(ctx->out, 1);
        reply_master(ctx->out, &v);
    } else if (strcmp(sub, "master") == 0) {
        reply_master(ctx->out, &v);
    } else if (strcmp(sub, "replicas") == 0 || strcmp(sub, "slaves") == 0) {
        reply_replicas(ctx->out, &v);
    } else if (strcmp(sub, "sentinels") == 0) {
        reply_sentinels(ctx->out, &v);
    } else if (strcmp(sub, "myid") == 0) {
        char runid[41];
        sentinel_runid(runid, (uint64_t)v.cfg->id);
        reply_bulk_cstr(ctx->out, runid);
    } else if (strcmp(sub, "ckquorum") == 0) {
        reply_ckquorum(ctx->out, &v);
    } else if (strcmp(sub, "get-master-addr-by-name") == 0) {
        if (!view_is_name(&v, req, 2) || v.down) {
            reply_null_array(ctx->out);
        } else {
            reply_array(ctx->out, 2);
            reply_bulk_cstr(ctx->out, v.master_ip);
            reply_bulk_ll(ctx->out, v.master_port);
        }
    } else {
        reply_is_down(ctx->out, &v, req);
    }
}

int cmd_sentinel_allowed(const struct command *cmd)
{
    static const char *const allowed[] = {"sentinel", "ping", "auth", "hello", "info", "role", "client",
                                          "command", "subscribe", "unsubscribe", "psubscribe",
                                          "punsubscribe", "quit", "reset", NULL};
    for (int i = 0; allowed[i]; i++)
        if (strcmp(cmd->name, allowed[i]) == 0)
            return 1;
    return 0;
}
