/* Removal detection: learning that this node was removed from the cluster (CLUSTER ISMEMBER
 * asked of the members, or of the peers file's addresses after a restart), and the removed
 * marker in the data dir that keeps it out for good. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cluster_int.h"
#include "config.h"
#include "consensus.h"
#include "fsm.h"
#include "log.h"
#include "peer.h"
#include "peers_file.h"
#include "server.h"

#define REMOVED_MARKER "removed"

int cluster_check_marker(const struct server *srv)
{
    char path[1100];
    snprintf(path, sizeof(path), "%s/%s", srv->cfg->dir, REMOVED_MARKER);
    return access(path, F_OK) == 0;
}

static void on_member_reply(void *arg, const redisReply *reply, const char *err)
{
    struct cluster_state *cs = ((struct server *)arg)->cluster;
    char target[64];
    cs->check_inflight = 0;
    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        cs->check_forced = 0;
        if (reply->integer == 0)
            cluster_mark_removed(cs->srv);
    } else if (reply && cluster_reply_moved(reply, target)) {
        snprintf(cs->check_target, sizeof(cs->check_target), "%s", target);
        cs->check_next_us = 0;
    }
}

/* A removed node hears nothing more from the leader (it is not in the new configuration)
 * and may have missed the leader's CLUSTER REMOVED notice: when it has known no leader for
 * a while, or was told it was removed, it asks the cluster. Only the leader's answer counts. */
void cluster_check_step(struct server *srv, int64_t now)
{
    struct cluster_state *cs = srv->cluster;
    char ids[24];
    int64_t quiet_us = srv->cfg->election_timeout * 3000 > 3000000 ? srv->cfg->election_timeout * 3000 : 3000000;
    if (consensus_leader(srv->cs, NULL) != 0 && !cs->check_forced) {
        cs->leaderless_since_us = 0;
        return;
    }
    if (cs->leaderless_since_us == 0)
        cs->leaderless_since_us = now;
    if (cs->check_inflight || now < cs->check_next_us || !cluster_self_member(srv) ||
        (!cs->check_forced && now - cs->leaderless_since_us < quiet_us))
        return;
    cs->check_next_us = now + 1000000;
    const char *target = cs->check_target[0] ? cs->check_target : NULL;
    int nnodes = fsm_node_count(&srv->fsm);
    for (int k = 0; target == NULL && k < nnodes; k++) {
        const struct fsm_node *n = fsm_node_at(&srv->fsm, (cs->check_rr + k) % nnodes);
        if (n->id != (uint64_t)srv->cfg->id && !n->retired && n->resp[0]) {
            target = n->resp;
            cs->check_rr += k + 1;
        }
    }
    char saved[64];
    if (target == NULL && peers_file_pick(srv->cfg->dir, cs->check_rr++, saved))
        target = saved;
    if (target == NULL)
        return;
    snprintf(ids, sizeof(ids), "%lld", srv->cfg->id);
    const char *argv[] = {"CLUSTER", "ISMEMBER", ids};
    char addr[64];
    snprintf(addr, sizeof(addr), "%s", target);
    cs->check_target[0] = '\0';
    if (peer_command(srv, addr, 3, argv, 2000, on_member_reply, srv) == 0)
        cs->check_inflight = 1;
}

void cluster_check_membership(struct server *srv)
{
    struct cluster_state *cs = srv->cluster;
    cs->check_forced = 1;
    cs->check_next_us = 0;
}


int cluster_removed(const struct server *srv)
{
    return srv->cluster && srv->cluster->removed;
}

void cluster_mark_removed(struct server *srv)
{
    struct cluster_state *cs = srv->cluster;
    char path[1100];
    if (cs->removed)
        return;
    cs->removed = 1;
    snprintf(path, sizeof(path), "%s/%s", srv->cfg->dir, REMOVED_MARKER);
    FILE *fp = fopen(path, "w");
    if (fp) {
        fputs("this node was removed from its cluster; wipe this directory to reuse it\n", fp);
        fclose(fp);
    }
    log_warning("this node was removed from the cluster: it no longer serves clients");
}

