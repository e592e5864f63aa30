/* Operator commands on replication and keys: TOUCH (a read: counts existing keys and stamps
 * their access), ROLE (Redis's shapes: the leader is the master, its followers replicas,
 * offsets are raft indexes) and WAIT (the followers holding the client's last write). */
#include <string.h>

#include "command.h"
#include "consensus.h"
#include "exec.h"
#include "kv.h"

#define OPS_MAX_NODES 64

/* TOUCH key [key ...]: through the read path, like any read; kv_lookup stamps each key. */
void cmd_touch(struct exec_ctx *ctx, struct request *req)
{
    long long n = 0;
    for (int i = 1; i < req->argc; i++)
        n += kv_lookup(ctx->kv, req->argv[i], req->len[i], ctx->now_ms) != NULL;
    reply_int(ctx->out, n);
}

/* ip and port of a node's RESP address (its raft address when the RESP one is not known). */
static void node_ip_port(const struct consensus_node *n, char ip[UTIL_IP_MAX], int *port)
{
    ip[0] = '\0';
    *port = 0;
    util_split_addr(n->resp_addr[0] ? n->resp_addr : n->raft_addr, ip, port);
    if (!n->resp_addr[0])
        *port = 0;
}

static void role_master(struct buf *out, const struct consensus_info *info,
                        const struct consensus_node *nodes, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += nodes[i].id != info->id;
    reply_array(out, 3);
    reply_bulk_cstr(out, "master");
    reply_int(out, (long long)info->applied_index);
    reply_array(out, k);
    for (int i = 0; i < n; i++) {
        char ip[UTIL_IP_MAX];
        int port;
        if (nodes[i].id == info->id)
            continue;
        node_ip_port(&nodes[i], ip, &port);
        reply_array(out, 3);
        reply_bulk_cstr(out, ip);
        reply_bulk_ll(out, port);
        reply_bulk_ll(out, (long long)nodes[i].match_index);
    }
}

void cmd_role(struct exec_ctx *ctx, struct request *req)
{
    struct consensus *cs = server_consensus(ctx->srv);
    struct consensus_node nodes[OPS_MAX_NODES];
    struct consensus_info info;
    consensus_get_info(cs, &info);
    int n = consensus_nodes(cs, nodes, OPS_MAX_NODES);
    if (n > OPS_MAX_NODES)
        n = OPS_MAX_NODES;
    if (info.role == ROLE_LEADER) {
        role_master(ctx->out, &info, nodes, n);
        return;
    }
    char ip[UTIL_IP_MAX] = "";
    int port = 0;
    for (int i = 0; i < n; i++)
        if (info.leader_id != 0 && nodes[i].id == info.leader_id)
            node_ip_port(&nodes[i], ip, &port);
    reply_array(ctx->out, 5);
    reply_bulk_cstr(ctx->out, "slave");
    reply_bulk_cstr(ctx->out, ip);
    reply_int(ctx->out, port);
    /* Redis's link states: connected with a known leader, connect (looking for one) else */
    reply_bulk_cstr(ctx->out, info.leader_id != 0 ? "connected" : "connect");
    reply_int(ctx->out, (long long)info.applied_index);
}

int command_arg_timeout(const struct request *req, int i, long long *ms, struct buf *out)
{
    if (util_parse_ll(req->argv[i], req->len[i], ms) != 0) {
        reply_error(out, "ERR timeout is not an integer or out of range");
        return -1;
    }
    if (*ms < 0) {
        reply_error(out, "ERR timeout is negative");
        return -1;
    }
    return 0;
}

/* WAIT numreplicas timeout (Redis 7.0's checks and texts). Every acknowledged write is on a
 * majority already; the answer counts the followers whose log holds the client's last write. */
void cmd_wait(struct exec_ctx *ctx, struct request *req)
{
    long long num, timeout;
    if (!consensus_is_leader(server_consensus(ctx->srv))) {
        reply_error(ctx->out, "ERR WAIT cannot be used with replica instances. Please also note that since "
                              "Redis 4.0 if a replica is configured to be writable (which is not the default) "
                              "writes to replicas are just local and are not propagated.");
        return;
    }
    if (command_arg_ll(req, 1, &num, ctx->out) != 0)
        return;
    if (command_arg_timeout(req, 2, &timeout, ctx->out) != 0)
        return;
    server_wait(ctx->srv, ctx->client, num, timeout, ctx->out);
}
