/* CLUSTER subcommands in Redis Cluster's shapes (the leader is the master of every slot, the
 * other voters its replicas) and the replication and raft sections of INFO. Read-only views
 * of consensus state; membership changes live in cluster.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "command.h"
#include "config.h"
#include "consensus.h"
#include "exec.h"
#include "fsm.h"
#include "log.h"
#include "peerauth.h"
#include "follower_read.h"
#include "readindex.h"

#define MAX_NODES 64

/* Redis names nodes with 40 hex digits; ours encode the raft id. */
static void node_name(char out[41], uint64_t id)
{
    snprintf(out, 41, "%040llx", (unsigned long long)id);
}

static void cluster_nodes(struct exec_ctx *ctx, struct consensus_node *nodes, int n)
{
    struct buf b;
    uint64_t self = (uint64_t)server_config(ctx->srv)->id;
    uint64_t leader = consensus_leader(server_consensus(ctx->srv), NULL);
    char name[41], lname[41];
    struct consensus_info info;

    consensus_get_info(server_consensus(ctx->srv), &info);
    node_name(lname, leader);
    buf_init(&b);
    for (int i = 0; i < n; i++) {
        char ip[UTIL_IP_MAX] = "", raft_ip[UTIL_IP_MAX] = "";
        int port = 0, raft_port = 0;
        const struct consensus_node *nd = &nodes[i];
        int known = nd->resp_addr[0] && util_split_addr(nd->resp_addr, ip, &port) == 0;
        util_split_addr(nd->raft_addr, raft_ip, &raft_port);
        node_name(name, nd->id);
        buf_printf(&b, "%s %s:%d@%d %s%s%s%s %s 0 0 %llu connected%s\n", name, known ? ip : raft_ip,
                   port, raft_port, nd->id == self ? "myself," : "",
                   nd->leader ? "master" : "slave", known ? "" : ",noaddr",
                   nd->member == MEMBER_VOTER ? "" : ",nofailover",
                   nd->leader || leader == 0 ? "-" : lname, (unsigned long long)info.term,
                   nd->leader ? " 0-16383" : "");
    }
    reply_verbatim(ctx->out, b.data ? b.data : "", b.len);
    buf_close(&b);
}

static void reply_slot_node(struct buf *out, const struct consensus_node *nd)
{
    char ip[UTIL_IP_MAX] = "", name[41];
    int port = 0;
    util_split_addr(nd->resp_addr, ip, &port);
    node_name(name, nd->id);
    reply_array(out, 3);
    reply_bulk_cstr(out, ip);
    reply_int(out, port);
    reply_bulk_cstr(out, name);
}

/* During an election (no leader known) the slots stay with the last leader this node knew,
 * as Redis Cluster keeps them with a failed master until a replica is promoted: an empty
 * map would leave a client (redis-py) with no node to send to, hence no reason to look again. */
static void cluster_slots(struct exec_ctx *ctx, struct consensus_node *nodes, int n)
{
    const struct consensus_node *leader = NULL;
    const char *last_addr;
    uint64_t last = consensus_last_leader(server_consensus(ctx->srv), &last_addr);
    int replicas = 0;
    for (int i = 0; i < n && leader == NULL; i++)
        if (nodes[i].leader && nodes[i].resp_addr[0])
            leader = &nodes[i];
    for (int i = 0; i < n && leader == NULL; i++)
        if (last != 0 && nodes[i].id == last && nodes[i].resp_addr[0])
            leader = &nodes[i];
    if (leader == NULL) {
        reply_array(ctx->out, 0);
        return;
    }
    for (int i = 0; i < n; i++)
        if (&nodes[i] != leader && nodes[i].resp_addr[0] && nodes[i].member == MEMBER_VOTER)
            replicas++;
    reply_array(ctx->out, 1);
    reply_array(ctx->out, 3 + replicas);
    reply_int(ctx->out, 0);
    reply_int(ctx->out, 16383);
    reply_slot_node(ctx->out, leader);
    for (int i = 0; i < n; i++)
        if (&nodes[i] != leader && nodes[i].resp_addr[0] && nodes[i].member == MEMBER_VOTER)
            reply_slot_node(ctx->out, &nodes[i]);
}

static void cluster_info(struct exec_ctx *ctx, int n)
{
    struct consensus_info info;
    struct buf b;
    consensus_get_info(server_consensus(ctx->srv), &info);
    int ok = info.leader_id != 0;
    buf_init(&b);
    buf_printf(&b, "cluster_enabled:1\r\ncluster_state:%s\r\ncluster_slots_assigned:16384\r\n"
                   "cluster_slots_ok:%d\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:%d\r\n"
                   "cluster_known_nodes:%d\r\ncluster_size:1\r\ncluster_current_epoch:%llu\r\n"
                   "cluster_my_epoch:%llu\r\nraft_leader_id:%llu\r\nraft_voters:%d\r\n",
               ok ? "ok" : "fail", ok ? 16384 : 0, ok ? 0 : 16384, n, (unsigned long long)info.term,
               (unsigned long long)info.term, (unsigned long long)info.leader_id, info.voters);
    reply_verbatim(ctx->out, b.data, b.len);
    buf_close(&b);
}

static void cluster_leader(struct exec_ctx *ctx, struct consensus_node *nodes, int n)
{
    for (int i = 0; i < n; i++) {
        if (!nodes[i].leader)
            continue;
        reply_array(ctx->out, 4);
        reply_int(ctx->out, (long long)nodes[i].id);
        reply_bulk_cstr(ctx->out, nodes[i].raft_addr);
        reply_bulk_cstr(ctx->out, nodes[i].resp_addr);
        reply_bulk_cstr(ctx->out, nodes[i].admin_addr);
        return;
    }
    reply_error(ctx->out, "CLUSTERDOWN The cluster is down: no leader is known");
}

/* Redis error prefixes for the outcomes of membership changes. */
static void reply_cluster_status(struct buf *out, int status, const char *msg)
{
    switch (status) {
    case CLUSTER_OK: reply_ok(out); break;
    case CLUSTER_EDUPID: reply_errorf(out, "DUPID %s", msg); break;
    case CLUSTER_EDUPADDR: reply_errorf(out, "DUPADDR %s", msg); break;
    case CLUSTER_ENOID: reply_errorf(out, "NOSUCHNODE %s", msg); break;
    case CLUSTER_EBUSY: reply_errorf(out, "TRYAGAIN %s", msg); break;
    case CLUSTER_ETIMEOUT: reply_errorf(out, "TIMEOUT %s", msg); break;
    default: reply_errorf(out, "ERR %s", msg); break;
    }
}

static void on_cluster_done(void *arg, int status, const char *msg)
{
    struct slot *s = arg;
    reply_cluster_status(slot_buf(s), status, msg);
    slot_done(s);
}

static int parse_id(const struct request *req, int i, uint64_t *id)
{
    long long v;
    if (i >= req->argc || util_parse_ll(req->argv[i], req->len[i], &v) != 0 || v < 0)
        return -1;
    *id = (uint64_t)v;
    return 0;
}

/* ADDNODE, DELNODE, TRANSFER, SETNODE: run on the leader, answered when the change is over. */
static void cluster_change(struct exec_ctx *ctx, struct request *req, int join)
{
    struct server *srv = ctx->srv;
    struct client *c = ctx->client;
    char msg[300];
    uint64_t id = 0;
    int rc;
    int add = join || request_arg_is(req, 1, "addnode"), del = request_arg_is(req, 1, "delnode");
    int transfer = request_arg_is(req, 1, "transfer"), setnode = request_arg_is(req, 1, "setnode");

    if ((add && (req->argc < 4 || req->argc > 6)) || (del && req->argc != 3) ||
        (transfer && req->argc > 3) || (setnode && (req->argc < 4 || req->argc > 5))) {
        reply_wrong_subcommand_arity(ctx->out, "cluster", req->argv[1]);
        return;
    }
    if ((req->argc > 2 && parse_id(req, 2, &id) != 0) || ((add || del || setnode) && id == 0)) {
        reply_error(ctx->out, "ERR node id must be a positive integer");
        return;
    }
    if (client_redirect(c, 0))
        return;
    struct slot *s = client_defer(c);
    if (add)
        rc = cluster_add(srv, id, req->argv[3], req->argc > 4 ? req->argv[4] : NULL,
                         req->argc > 5 ? req->argv[5] : NULL, on_cluster_done, s, msg, sizeof(msg));
    else if (del)
        rc = cluster_remove(srv, id, on_cluster_done, s, msg, sizeof(msg));
    else if (transfer)
        rc = cluster_transfer(srv, id, on_cluster_done, s, msg, sizeof(msg));
    else
        rc = cluster_set_node(srv, id, req->argv[3], req->argc > 4 ? req->argv[4] : NULL,
                              on_cluster_done, s, msg, sizeof(msg));
    if (rc == CLUSTER_ENOTLEADER) {
        server_reply_redirect(srv, 0, slot_buf(s));
        slot_done(s);
    } else if (rc != 0) {
        reply_cluster_status(slot_buf(s), rc > 0 ? CLUSTER_OK : rc, msg);
        slot_done(s);
    }
}

/* JOIN <id> <raft> <resp> <admin or ""> <proof> [DATABASES <n>]: what a node started with
 * --join sends. The proof (peerauth_join_proof) shows it knows the cluster secret; then it is
 * ADDNODE. A node whose databases option differs could apply nothing past database 0 the
 * others write (fsm refuses such records), so it is refused here, before it is a member. */
static void cluster_join(struct exec_ctx *ctx, struct request *req)
{
    const struct config *cfg = server_config(ctx->srv);
    const char *secret = cfg->cluster_secret;
    uint64_t id, ndbs;
    if (req->argc != 7 && !(req->argc == 9 && request_arg_is(req, 7, "databases"))) {
        reply_wrong_subcommand_arity(ctx->out, "cluster", req->argv[1]);
        return;
    }
    if (parse_id(req, 2, &id) != 0 || id == 0) {
        reply_error(ctx->out, "ERR node id must be a positive integer");
        return;
    }
    if (secret == NULL || !peerauth_join_check(secret, id, req->argv[3], req->argv[4], req->argv[5], req->argv[6])) {
        log_warning("join: node %llu at %.64s refused: %s", (unsigned long long)id, req->argv[3],
                    secret ? "wrong cluster secret" : "this node has no cluster-secret");
        reply_error(ctx->out, secret ? "ERR join refused: wrong cluster secret"
                                     : "ERR join refused: this node has no cluster-secret");
        return;
    }
    if (req->argc == 9 && (parse_id(req, 8, &ndbs) != 0 || ndbs != (uint64_t)cfg->databases)) {
        log_warning("join: node %llu at %.64s refused: it has databases %.20s, this cluster %lld",
                    (unsigned long long)id, req->argv[3], req->argv[8], cfg->databases);
        reply_errorf(ctx->out, "ERR join refused: this cluster runs with databases %lld, the "
                        "joining node with %.20s (the option must be the same on every node)",
                        cfg->databases, req->argv[8]);
        return;
    }
    /* ADDNODE's arguments: the proof (and an empty admin address) are hidden from it for the
     * call, then given back, since request_free frees argc arguments. */
    int argc = req->argc; /* DATABASES <n> is hidden with them */
    req->argc = req->argv[5][0] ? 6 : 5;
    cluster_change(ctx, req, 1);
    req->argc = argc;
}

int cmd_cluster_is_followerindex(const struct command *cmd, const struct request *req)
{
    return cmd->proc == cmd_cluster && req->argc == 2 && request_arg_is(req, 1, "followerindex");
}

/* CLUSTER FOLLOWERINDEX, as the leader's read path runs it once confirmed (the dispatcher
 * sends it there as a consistent read): the applied index, at least the commit index
 * captured after the request arrived. What a follower waits for before a READONLY read. */
static void cluster_followerindex(struct exec_ctx *ctx)
{
    struct consensus *cs = server_consensus(ctx->srv);
    follower_read_stats(server_follower_read(ctx->srv))->answers++;
    reply_int(ctx->out, (long long)consensus_applied(cs));
}

int cmd_cluster_is_read(const struct request *req)
{
    static const char *const reads[] = {"info", "myid", "nodes", "slots", "keyslot", "leader", "ismember", "help",
                                        "shards", "countkeysinslot", "getkeysinslot"};
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
        if (request_arg_is(req, 1, reads[i]))
            return 1;
    return 0;
}

void cmd_cluster(struct exec_ctx *ctx, struct request *req)
{
    /* a client that asks for the topology is a cluster client: database 0 only (SELECT) */
    if (ctx->client != NULL && req->argc == 2 && (request_arg_is(req, 1, "slots") ||
        request_arg_is(req, 1, "shards") || request_arg_is(req, 1, "nodes")))
        client_set_cluster_aware(ctx->client);
    if (request_arg_is(req, 1, "addnode") || request_arg_is(req, 1, "delnode") || request_arg_is(req, 1, "transfer") ||
        request_arg_is(req, 1, "setnode")) {
        cluster_change(ctx, req, 0);
        return;
    }
    if (request_arg_is(req, 1, "join")) {
        cluster_join(ctx, req);
        return;
    }
    if (request_arg_is(req, 1, "followerindex") && req->argc == 2) {
        cluster_followerindex(ctx);
        return;
    }
    if (request_arg_is(req, 1, "readindex")) {
        cluster_readindex(ctx, req);
        return;
    }
    if (request_arg_is(req, 1, "asuser") && req->argc == 3) {
        /* a follower forwarding a client's commands (proxy.c) names that client's user */
        if (client_act_as(ctx->client, req->argv[2], req->len[2]) == 0)
            reply_ok(ctx->out);
        else
            reply_error(ctx->out, "ERR CLUSTER ASUSER is for cluster nodes only");
        return;
    }
    if (request_arg_is(req, 1, "removed") && req->argc == 3) {
        uint64_t id;
        if (parse_id(req, 2, &id) == 0 && id == (uint64_t)server_config(ctx->srv)->id) {
            cluster_check_membership(ctx->srv); /* a hint: the leader decides */
            reply_ok(ctx->out);
        } else {
            reply_error(ctx->out, "ERR that is not this node's id");
        }
        return;
    }
    if (request_arg_is(req, 1, "ismember") && req->argc == 3) {
        uint64_t id;
        if (parse_id(req, 2, &id) != 0)
            reply_error(ctx->out, "ERR node id must be a positive integer");
        else if (!consensus_accepts(server_consensus(ctx->srv)))
            server_reply_redirect(ctx->srv, 0, ctx->out); /* into OUT: EXEC runs this too */
        else
            reply_int(ctx->out, cluster_is_member(ctx->srv, id));
        return;
    }

    if (cluster_client_subcommand(ctx, req))
        return;
    struct consensus_node nodes[MAX_NODES];
    int n = consensus_nodes(server_consensus(ctx->srv), nodes, MAX_NODES);
    if (n > MAX_NODES)
        n = MAX_NODES;

    if (request_arg_is(req, 1, "info") && req->argc == 2) {
        cluster_info(ctx, n);
    } else if (request_arg_is(req, 1, "myid") && req->argc == 2) {
        char name[41];
        node_name(name, (uint64_t)server_config(ctx->srv)->id);
        reply_bulk_cstr(ctx->out, name);
    } else if (request_arg_is(req, 1, "nodes") && req->argc == 2) {
        client_set_cluster_aware(ctx->client); /* a cluster client: MOVED, not proxying */
        cluster_nodes(ctx, nodes, n);
    } else if (request_arg_is(req, 1, "slots") && req->argc == 2) {
        client_set_cluster_aware(ctx->client);
        cluster_slots(ctx, nodes, n);
    } else if (request_arg_is(req, 1, "keyslot") && req->argc == 3) {
        reply_int(ctx->out, util_keyslot(req->argv[2], req->len[2]));
    } else if (request_arg_is(req, 1, "leader") && req->argc == 2) {
        cluster_leader(ctx, nodes, n);
    } else {
        static const char *const help[] = {
            "CLUSTER <subcommand> [<arg> ...]. Subcommands are:",
            "INFO, MYID, NODES, SLOTS, SHARDS, KEYSLOT <key>, LEADER,",
            "COUNTKEYSINSLOT <slot>, GETKEYSINSLOT <slot> <count>,",
            "ADDNODE <id> <raft-ip:port> [<resp-ip:port> [<admin-ip:port>]], DELNODE <id>, TRANSFER [<id>],",
            "JOIN <id> <raft> <resp> <admin> <proof> (sent by --join: proves the cluster secret),",
            "ASUSER <user> (sent by a follower forwarding a client's commands: nodes only),",
            "HELP", NULL,
        };
        static const char *const known[] = {"info", "myid", "nodes", "slots", "keyslot", "leader", "shards",
                                            "countkeysinslot", "getkeysinslot", NULL};
        command_reply_subcommand_rest(ctx->out, req, "CLUSTER", help, known);
    }
}

void info_replication(struct buf *b, struct server *srv)
{
    struct consensus_node nodes[MAX_NODES];
    struct consensus_info info;
    const char *leader_addr;
    int n = consensus_nodes(server_consensus(srv), nodes, MAX_NODES);
    consensus_get_info(server_consensus(srv), &info);
    consensus_leader(server_consensus(srv), &leader_addr);

    buf_append_str(b, "# Replication\r\n");
    if (info.role == ROLE_LEADER) {
        int k = 0;
        buf_printf(b, "role:master\r\nconnected_slaves:%d\r\n", n > 0 ? n - 1 : 0);
        for (int i = 0; i < n && i < MAX_NODES; i++) {
            char ip[UTIL_IP_MAX] = "";
            int port = 0;
            if (nodes[i].id == info.id)
                continue;
            util_split_addr(nodes[i].resp_addr[0] ? nodes[i].resp_addr : nodes[i].raft_addr, ip, &port);
            buf_printf(b, "slave%d:ip=%s,port=%d,state=online,offset=%llu,lag=0\r\n", k++, ip,
                       nodes[i].resp_addr[0] ? port : 0, (unsigned long long)nodes[i].match_index);
        }
    } else {
        char ip[UTIL_IP_MAX] = "";
        int port = 0;
        if (leader_addr)
            util_split_addr(leader_addr, ip, &port);
        buf_printf(b, "role:slave\r\nmaster_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\n",
                   ip, port, info.leader_id ? "up" : "down");
    }
    buf_printf(b, "master_repl_offset:%llu\r\n", (unsigned long long)info.applied_index);
}

void info_raft(struct buf *b, struct server *srv)
{
    struct consensus_info info;
    const struct consensus_stats *st = consensus_stats(server_consensus(srv));
    const struct fsm *f = server_fsm(srv);
    consensus_get_info(server_consensus(srv), &info);
    buf_printf(b, "# Raft\r\nraft_id:%llu\r\nraft_state:%s\r\nraft_ready:%d\r\nraft_term:%llu\r\n"
                  "raft_leader_id:%llu\r\nraft_commit_index:%llu\r\nraft_applied_index:%llu\r\n"
                  "raft_last_index:%llu\r\nraft_snapshot_index:%llu\r\nraft_voters:%d\r\n"
                  "raft_entries_proposed:%lld\r\nraft_commands_proposed:%lld\r\nraft_barriers:%lld\r\n"
                  "raft_last_batch_size:%lld\r\nraft_max_batch_size:%lld\r\nraft_inflight:%d\r\n"
                  "raft_queued:%d\r\nraft_leader_changes:%lld\r\nraft_timeouts:%lld\r\n"
                  "raft_unknown_outcomes:%lld\r\nraft_snapshots:%lld\r\nraft_snapshot_failures:%lld\r\n"
                  "raft_last_snapshot_ms:%.3f\r\nraft_last_snapshot_bytes:%zu\r\nraft_restores:%lld\r\n"
                  "raft_log_bytes:%lld\r\nraft_snapshots_by_bytes:%lld\r\nraft_snapshots_when_idle:%lld\r\n"
                  "raft_applied_after_ack:%lld\r\n"
                  "raft_log_bytes_limit:%llu\r\nraft_log_bytes_idle_limit:%llu\r\nraft_snapshot_in_progress:%d\r\n"
                  "read_consistency:%s\r\n"
                  "read_index_rounds:%lld\r\nread_index_reads:%lld\r\nread_index_retries:%lld\r\n"
                  "read_lease_reads:%lld\r\n",
               (unsigned long long)info.id, consensus_role_name(info.role), info.ready,
               (unsigned long long)info.term, (unsigned long long)info.leader_id,
               (unsigned long long)info.commit_index, (unsigned long long)info.applied_index,
               (unsigned long long)info.last_index, (unsigned long long)info.snapshot_index,
               info.voters, st->entries_proposed, st->commands_proposed, st->barriers,
               st->last_batch_size, st->max_batch_size, info.inflight, info.queued,
               st->leader_changes, st->timeouts, st->unknown_outcomes, f->snapshots,
               f->snapshot_failures, f->last_snapshot_us / 1000.0,
               f->last_snapshot_bytes, f->restores, st->log_bytes, st->snapshots_by_bytes,
               st->snapshots_when_idle, st->applied_after_ack, consensus_log_bytes_limit(server_consensus(srv), 0),
               consensus_log_bytes_limit(server_consensus(srv), 1),
               consensus_snapshot_in_progress(server_consensus(srv)),
               config_read_consistency_name(server_config(srv)->read_consistency),
               st->read_index_rounds, st->read_index_reads, st->read_index_retries, st->lease_reads);
    const struct follower_read_stats *fs = follower_read_stats(server_follower_read(srv));
    buf_printf(b, "follower_read_index_requests:%lld\r\nfollower_reads:%lld\r\nfollower_read_timeouts:%lld\r\n"
                  "follower_index_answers:%lld\r\n",
               fs->requests, fs->reads, fs->timeouts, fs->answers);
}
