/* Address announcements: a member whose RESP/admin addresses the replicated node table does
 * not hold (or holds wrong) sends them to the leader (CLUSTER SETNODE). */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "cluster_int.h"
#include "consensus.h"
#include "fsm.h"
#include "log.h"
#include "peer.h"
#include "server.h"

#define ANNOUNCE_INTERVAL_MS 1000

static void on_announce_reply(void *arg, const redisReply *reply, const char *err)
{
    struct server *srv = arg;
    struct cluster_state *cs = srv->cluster;
    cs->announce_inflight = 0;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        log_verbose("announcing this node's addresses: %s", reply ? reply->str : err);
}

/* A member whose addresses the cluster does not know (or knows wrong) tells the leader. */
void cluster_announce_step(struct server *srv, int64_t now)
{
    struct cluster_state *cs = srv->cluster;
    char ids[24], raft[64], resp[64], admin[64];
    const char *leader_addr;
    if (cs->announce_inflight || now < cs->announce_next_us || !cluster_self_member(srv))
        return;
    uint64_t leader = consensus_leader(srv->cs, &leader_addr);
    if (leader == 0 || leader_addr == NULL || leader == (uint64_t)srv->cfg->id)
        return;
    cluster_self_addresses(srv, raft, resp, admin);
    const struct fsm_node *n = fsm_node(&srv->fsm, (uint64_t)srv->cfg->id);
    if (n && strcmp(n->resp, resp) == 0 && strcmp(n->admin, admin) == 0)
        return;
    cs->announce_next_us = now + ANNOUNCE_INTERVAL_MS * 1000;
    snprintf(ids, sizeof(ids), "%lld", srv->cfg->id);
    const char *argv[] = {"CLUSTER", "SETNODE", ids, resp, admin};
    if (peer_command(srv, leader_addr, 5, argv, 5000, on_announce_reply, srv) == 0)
        cs->announce_inflight = 1;
}

