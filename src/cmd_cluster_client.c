/* What Redis Cluster clients probe beyond CLUSTER SLOTS/NODES (cmd_cluster.c): CLUSTER SHARDS,
 * COUNTKEYSINSLOT, GETKEYSINSLOT, the INFO cluster section, and the connection flags READONLY,
 * READWRITE and ASKING. Views of consensus state and the keyspace; changes nothing replicated. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "consensus.h"
#include "exec.h"
#include "kv.h"
#include "util.h"

#define CLUSTER_SLOTS 16384
#define SHARD_MAX_NODES 64

/* One node of CLUSTER SHARDS in Redis 7.0's shape (a map, flat in RESP2). */
static void reply_shard_node(struct buf *out, const struct consensus_node *nd, int leader_known,
                             uint64_t offset)
{
    char ip[UTIL_IP_MAX] = "", name[41];
    int port = 0;
    int known = nd->resp_addr[0] && util_split_addr(nd->resp_addr, ip, &port) == 0;
    if (!known)
        util_split_addr(nd->raft_addr, ip, &port);
    snprintf(name, sizeof(name), "%040llx", (unsigned long long)nd->id);
    reply_map_len(out, 7); /* RESP2: 14 flat */
    reply_bulk_cstr(out, "id");
    reply_bulk_cstr(out, name);
    reply_bulk_cstr(out, "port");
    reply_int(out, known ? port : 0);
    reply_bulk_cstr(out, "ip");
    reply_bulk_cstr(out, ip);
    reply_bulk_cstr(out, "endpoint");
    reply_bulk_cstr(out, ip);
    reply_bulk_cstr(out, "role");
    reply_bulk_cstr(out, nd->leader ? "master" : "replica");
    reply_bulk_cstr(out, "replication-offset");
    reply_int(out, (long long)offset);
    reply_bulk_cstr(out, "health");
    reply_bulk_cstr(out, known && leader_known ? "online" : "failed");
}

/* CLUSTER SHARDS: one shard owning every slot; the leader is its master, the other voters
 * with a known RESP address its replicas (non-voters are listed too: they hold the data). */
static void cluster_shards(struct exec_ctx *ctx)
{
    struct consensus *cs = server_consensus(ctx->srv);
    struct consensus_node nodes[SHARD_MAX_NODES];
    struct consensus_info info;
    int n = consensus_nodes(cs, nodes, SHARD_MAX_NODES);
    if (n > SHARD_MAX_NODES)
        n = SHARD_MAX_NODES;
    consensus_get_info(cs, &info);
    reply_array(ctx->out, 1);
    reply_map_len(ctx->out, 2);
    reply_bulk_cstr(ctx->out, "slots");
    reply_array(ctx->out, 2);
    reply_int(ctx->out, 0);
    reply_int(ctx->out, CLUSTER_SLOTS - 1);
    reply_bulk_cstr(ctx->out, "nodes");
    reply_array(ctx->out, n);
    /* The master first, as Redis lists it. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++)
            if (nodes[i].leader == !pass)
                reply_shard_node(ctx->out, &nodes[i], info.leader_id != 0,
                                 nodes[i].id == info.id ? info.applied_index : info.commit_index);
}

struct slot_scan {
    unsigned slot;
    long long count, max;
    struct buf *out; /* NULL: count only */
};

static void visit_slot_key(void *priv, const struct kv_entry *e)
{
    struct slot_scan *s = priv;
    if (s->count >= s->max || util_keyslot(kv_entry_key(e), e->klen) != s->slot)
        return;
    if (s->out)
        reply_bulk(s->out, kv_entry_key(e), e->klen);
    s->count++;
}

/* Keys of SLOT, at most MAX, appended to OUT when it is not NULL. A scan of the keyspace:
 * these are maintenance commands (redis-cli --cluster fix/reshard), and a per-slot index
 * would cost every write for a layout with a single shard. */
static long long slot_keys(struct kv_store *kv, unsigned slot, long long max, struct buf *out)
{
    struct slot_scan s = {slot, 0, max, out};
    kv_foreach(kv, visit_slot_key, &s);
    return s.count;
}

static int parse_slot(struct exec_ctx *ctx, const struct request *req, int i, long long *slot)
{
    if (util_parse_ll(req->argv[i], req->len[i], slot) != 0) {
        reply_not_integer(ctx->out);
        return -1;
    }
    return 0;
}

static void cluster_countkeysinslot(struct exec_ctx *ctx, struct request *req)
{
    long long slot;
    if (parse_slot(ctx, req, 2, &slot) != 0)
        return;
    if (slot < 0 || slot >= CLUSTER_SLOTS) {
        reply_error(ctx->out, "ERR Invalid slot");
        return;
    }
    reply_int(ctx->out, slot_keys(ctx->kv, (unsigned)slot, LLONG_MAX, NULL));
}

static void cluster_getkeysinslot(struct exec_ctx *ctx, struct request *req)
{
    long long slot, max;
    if (parse_slot(ctx, req, 2, &slot) != 0 || parse_slot(ctx, req, 3, &max) != 0)
        return;
    if (slot < 0 || slot >= CLUSTER_SLOTS || max < 0) {
        reply_error(ctx->out, "ERR Invalid slot or number of keys");
        return;
    }
    long long n = slot_keys(ctx->kv, (unsigned)slot, max, NULL);
    reply_array(ctx->out, n);
    slot_keys(ctx->kv, (unsigned)slot, n, ctx->out);
}

int cluster_client_subcommand(struct exec_ctx *ctx, struct request *req)
{
    if (request_arg_is(req, 1, "shards") && req->argc == 2) {
        client_set_cluster_aware(ctx->client);
        cluster_shards(ctx);
    } else if (request_arg_is(req, 1, "countkeysinslot") && req->argc == 3) {
        cluster_countkeysinslot(ctx, req);
    } else if (request_arg_is(req, 1, "getkeysinslot") && req->argc == 4) {
        cluster_getkeysinslot(ctx, req);
    } else {
        return 0;
    }
    return 1;
}

void info_cluster(struct buf *b, struct server *srv)
{
    (void)srv;
    buf_append_str(b, "# Cluster\r\ncluster_enabled:1\r\n");
}

void cmd_readonly(struct exec_ctx *ctx, struct request *req)
{
    (void)req;
    client_set_readonly(ctx->client, 1);
    client_set_cluster_aware(ctx->client); /* a cluster client: MOVED for writes, not proxying */
    reply_ok(ctx->out);
}

void cmd_readwrite(struct exec_ctx *ctx, struct request *req)
{
    (void)req;
    client_set_readonly(ctx->client, 0);
    reply_ok(ctx->out);
}

/* ASKING: one shard never migrates a slot, so there is no ASK redirection to follow. */
void cmd_asking(struct exec_ctx *ctx, struct request *req)
{
    (void)req;
    reply_ok(ctx->out);
}
