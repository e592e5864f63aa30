/* Membership changes through canonical/raft (raft_add -> raft_assign, raft_remove,
 * raft_transfer), one at a time with a deadline, and recording node addresses; shared by
 * CLUSTER commands and the HTTP admin API. Owns the cluster state and runs the periodic jobs
 * of cluster_join.c, cluster_announce.c and cluster_check.c. */
#include "cluster.h"

#include <hiredis/hiredis.h>
#include <raft.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"
#include "config.h"
#include "consensus.h"
#include "fsm.h"
#include "log.h"
#include "peer.h"
#include "peers_file.h"
#include "server.h"

void cluster_init(struct server *srv)
{
    struct cluster_state *cs = xcalloc(1, sizeof(*cs));
    cs->srv = srv;
    srv->cluster = cs;
    cs->removed = cluster_check_marker(srv);
}

int cluster_valid_address(const char *addr)
{
    /* Strict and canonical: "127.0.0.1:016379" would alias 127.0.0.1:16379 and slip past
     * the duplicate checks, which compare strings. */
    return util_parse_addr(addr, NULL, 0) == 0;
}

/* Give the requester its outcome (once). */
static void op_answer(struct cluster_state *cs, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void op_answer(struct cluster_state *cs, int status, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    if (cs->answered)
        return;
    cs->answered = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_notice("cluster: %s", msg);
    cs->outcomes[status == CLUSTER_OK ? 0 : status == CLUSTER_ETIMEOUT ? 2 : 1]++;
    cs->cb(cs->arg, status, msg);
}

/* The operation is over on raft's side too. */
static void op_end(struct cluster_state *cs)
{
    cs->op = OP_NONE;
    cs->raft_busy = 0;
}

/* Common preconditions: leader, no change in progress. */
static struct raft *op_begin(struct server *srv, int op, char *msg, size_t msglen, int *rc)
{
    struct cluster_state *cs = srv->cluster;
    struct raft *r = consensus_raft(srv->cs);
    *rc = 0;
    if (r == NULL || !consensus_is_leader(srv->cs)) {
        snprintf(msg, msglen, "this node is not the leader");
        *rc = CLUSTER_ENOTLEADER;
    } else if (cs->op != OP_NONE || consensus_config_uncommitted(srv->cs)) {
        snprintf(msg, msglen, "a configuration change is already in progress; retry later");
        *rc = CLUSTER_EBUSY;
    }
    return *rc ? NULL : r;
}

static void op_setup(struct cluster_state *cs, int op, uint64_t id, int deadline_ms,
                     cluster_done_fn *cb, void *arg)
{
    cs->op = op;
    cs->id = id;
    cs->cb = cb;
    cs->arg = arg;
    cs->answered = 0;
    cs->raft_busy = 1;
    cs->deadline_us = util_mono_us() + (int64_t)deadline_ms * 1000;
    cs->change.data = cs;
    cs->transfer.data = cs;
}

static int raft_status(int rv, char *msg, size_t msglen, const char *what)
{
    snprintf(msg, msglen, "%s: %s", what, raft_strerror(rv));
    if (rv == RAFT_CANTCHANGE)
        return CLUSTER_EBUSY;
    if (rv == RAFT_NOTLEADER)
        return CLUSTER_ENOTLEADER;
    return CLUSTER_EFAILED;
}

/* ---- add ---- */


static void on_meta_recorded(void *arg, int status)
{
    struct cluster_state *cs = arg;
    if (status == 0)
        op_answer(cs, CLUSTER_OK, "node %llu is a voter", (unsigned long long)cs->id);
    else
        op_answer(cs, CLUSTER_OK, "node %llu is a voter (its addresses are not recorded yet: %s)",
                  (unsigned long long)cs->id, raft_strerror(status));
    op_end(cs);
}

static void on_rollback(struct raft_change *req, int status)
{
    op_end(req->data);
}

/* Promotion failed: take the spare out again so the configuration is as before. */
static void add_rollback(struct cluster_state *cs, int status, const char *step)
{
    struct raft *r = consensus_raft(cs->srv->cs);
    if (status == RAFT_LEADERSHIPLOST || status == RAFT_SHUTDOWN)
        op_answer(cs, CLUSTER_ETIMEOUT, "leadership was lost while %s node %llu: it may remain a spare; "
                  "check CLUSTER NODES", step, (unsigned long long)cs->id);
    else
        op_answer(cs, CLUSTER_EFAILED, "adding node %llu failed while %s: %s", (unsigned long long)cs->id,
                  step, raft_strerror(status));
    if (r && raft_state(r) == RAFT_LEADER && consensus_find_server(cs->srv->cs, cs->id, NULL, NULL) &&
        raft_remove(r, &cs->change, cs->id, on_rollback) == 0) {
        server_kick(cs->srv);
        return;
    }
    op_end(cs);
}

static void on_assigned(struct raft_change *req, int status)
{
    struct cluster_state *cs = req->data;
    struct server *srv = cs->srv;
    if (status != 0) {
        add_rollback(cs, status, "catching up");
        return;
    }
    if (cs->resp[0] && consensus_raft(srv->cs)) {
        consensus_propose_node(srv->cs, cs->id, cs->resp, cs->admin, on_meta_recorded, cs);
        return;
    }
    op_answer(cs, CLUSTER_OK, "node %llu is a voter", (unsigned long long)cs->id);
    op_end(cs);
}

static void on_added(struct raft_change *req, int status)
{
    struct cluster_state *cs = req->data;
    struct raft *r = consensus_raft(cs->srv->cs);
    if (status == RAFT_LEADERSHIPLOST || status == RAFT_SHUTDOWN) {
        /* The configuration entry may still be committed by the next leader. */
        op_answer(cs, CLUSTER_ETIMEOUT, "leadership was lost while adding node %llu: it may or may "
                  "not have been added (as a spare); check CLUSTER NODES", (unsigned long long)cs->id);
        op_end(cs);
        return;
    }
    if (status != 0) {
        op_answer(cs, CLUSTER_EFAILED, "adding node %llu failed: %s", (unsigned long long)cs->id,
                  raft_strerror(status));
        op_end(cs);
        return;
    }
    int rv = r ? raft_assign(r, &cs->change, cs->id, RAFT_VOTER, on_assigned) : RAFT_SHUTDOWN;
    if (rv != 0)
        add_rollback(cs, rv, "promoting it");
    else
        server_kick(cs->srv);
}

/* Start adding node ID (CB answers), with the addresses to record once it is a voter. */
static void add_setup(struct cluster_state *cs, uint64_t id, const char *resp, const char *admin,
                      cluster_done_fn *cb, void *arg)
{
    op_setup(cs, OP_ADD, id, ADD_DEADLINE_MS, cb, arg);
    snprintf(cs->resp, sizeof(cs->resp), "%s", resp ? resp : "");
    snprintf(cs->admin, sizeof(cs->admin), "%s", admin ? admin : "");
}

/* ADDNODE of a node that is already in the configuration at that address as a spare or a
 * standby: an earlier ADDNODE was interrupted after its spare entry committed (its leader
 * failed or lost leadership before the promotion), so carry on from the promotion rather
 * than leave the node a non-voter that every retry refuses as a duplicate. */
static int add_resume(struct server *srv, uint64_t id, const char *resp, const char *admin,
                      cluster_done_fn *cb, void *arg, char *msg, size_t msglen)
{
    struct cluster_state *cs = srv->cluster;
    struct raft *r = consensus_raft(srv->cs);
    add_setup(cs, id, resp, admin, cb, arg);
    int rv = raft_assign(r, &cs->change, id, RAFT_VOTER, on_assigned);
    if (rv != 0) {
        op_end(cs);
        return raft_status(rv, msg, msglen, "raft_assign");
    }
    log_notice("cluster: node %llu is a non-voter already: promoting it", (unsigned long long)id);
    server_kick(srv);
    return 0;
}

static int add_start(struct server *srv, uint64_t id, const char *raft_addr, const char *resp,
                     const char *admin, cluster_done_fn *cb, void *arg, char *msg, size_t msglen)
{
    struct cluster_state *cs = srv->cluster;
    int rc;

    if (id == 0) {
        snprintf(msg, msglen, "node id must be a positive integer");
        return CLUSTER_EINVAL;
    }
    if (!cluster_valid_address(raft_addr) || (resp && *resp && !cluster_valid_address(resp)) ||
        (admin && *admin && !cluster_valid_address(admin))) {
        snprintf(msg, msglen, "addresses must be IPv4 ip:port (e.g. 127.0.0.1:16382)");
        return CLUSTER_EINVAL;
    }
    struct raft *r = op_begin(srv, OP_ADD, msg, msglen, &rc);
    if (r == NULL)
        return rc;
    struct consensus_node node;
    if (consensus_find_server(srv->cs, id, NULL, &node)) {
        if (node.member != MEMBER_VOTER && strcmp(node.raft_addr, raft_addr) == 0)
            return add_resume(srv, id, resp, admin, cb, arg, msg, msglen);
        snprintf(msg, msglen, "node id %llu is already a member (raft address %s)",
                 (unsigned long long)id, node.raft_addr);
        return CLUSTER_EDUPID;
    }
    const struct fsm_node *old = fsm_node(&srv->fsm, id);
    if (old && old->retired) {
        snprintf(msg, msglen, "node id %llu belonged to a removed node; ids are never reused",
                 (unsigned long long)id);
        return CLUSTER_EDUPID;
    }
    if (consensus_find_server(srv->cs, 0, raft_addr, &node)) {
        snprintf(msg, msglen, "address %s is already used by node %llu", raft_addr,
                 (unsigned long long)node.id);
        return CLUSTER_EDUPADDR;
    }
    for (int i = 0; resp && *resp && i < fsm_node_count(&srv->fsm); i++) {
        const struct fsm_node *n = fsm_node_at(&srv->fsm, i);
        if (strcmp(n->resp, resp) == 0 && consensus_find_server(srv->cs, n->id, NULL, NULL)) {
            snprintf(msg, msglen, "address %s is already used by node %llu", resp,
                     (unsigned long long)n->id);
            return CLUSTER_EDUPADDR;
        }
    }
    add_setup(cs, id, resp, admin, cb, arg);
    int rv = raft_add(r, &cs->change, id, raft_addr, on_added);
    if (rv != 0) {
        op_end(cs);
        return raft_status(rv, msg, msglen, "raft_add");
    }
    log_notice("cluster: adding node %llu at %s", (unsigned long long)id, raft_addr);
    server_kick(srv);
    return 0;
}

/* ---- remove ---- */

static void on_removed(struct raft_change *req, int status)
{
    struct cluster_state *cs = req->data;
    struct server *srv = cs->srv;
    if (status == RAFT_LEADERSHIPLOST || status == RAFT_SHUTDOWN) {
        op_answer(cs, CLUSTER_ETIMEOUT, "leadership was lost while removing node %llu: it may or may "
                  "not have been removed; check CLUSTER NODES", (unsigned long long)cs->id);
    } else if (status != 0) {
        op_answer(cs, CLUSTER_EFAILED, "removing node %llu failed: %s", (unsigned long long)cs->id,
                  raft_strerror(status));
    } else {
        const struct fsm_node *n = fsm_node(&srv->fsm, cs->id);
        if (n && n->resp[0]) {
            /* Tell the node, so it stops serving (it no longer hears from the leader). */
            char ids[24];
            snprintf(ids, sizeof(ids), "%llu", (unsigned long long)cs->id);
            const char *argv[] = {"CLUSTER", "REMOVED", ids};
            peer_command(srv, n->resp, 3, argv, 2000, NULL, NULL);
        }
        if (consensus_raft(srv->cs))
            consensus_propose_node(srv->cs, cs->id, NULL, NULL, NULL, NULL);
        op_answer(cs, CLUSTER_OK, "node %llu removed", (unsigned long long)cs->id);
    }
    op_end(cs);
}

/* The leader removing itself: after the transfer, the new leader does the removal. */
static void on_relayed(void *arg, const redisReply *reply, const char *err)
{
    struct cluster_state *cs = arg;
    if (reply == NULL)
        op_answer(cs, CLUSTER_EFAILED, "leadership moved, but asking the new leader to remove node %llu failed: %s",
                  (unsigned long long)cs->id, err);
    else if (reply->type == REDIS_REPLY_ERROR &&
             (!strncmp(reply->str, "MOVED", 5) || !strncmp(reply->str, "TRYAGAIN", 8) ||
              !strncmp(reply->str, "CLUSTERDOWN", 11)) &&
             util_mono_us() < cs->deadline_us) {
        cs->relay_at_us = util_mono_us() + 100000; /* the new leader is not ready yet */
        return;
    } else if (reply->type == REDIS_REPLY_ERROR)
        op_answer(cs, CLUSTER_EFAILED, "the new leader could not remove node %llu: %s",
                  (unsigned long long)cs->id, reply->str);
    else
        op_answer(cs, CLUSTER_OK, "node %llu removed", (unsigned long long)cs->id);
    op_end(cs);
}

/* raft_transfer's callback runs when this node steps down, often before it has heard from
 * the new leader: decide once a leader is known (cluster_cron), within a deadline. */
static void await_new_leader(struct raft_transfer *req)
{
    struct cluster_state *cs = req->data;
    int64_t wait_ms = cs->srv->cfg->election_timeout * 5;
    cs->transfer_deadline_us = util_mono_us() + (wait_ms > 3000 ? wait_ms : 3000) * 1000;
}

static void remove_after_transfer(struct cluster_state *cs)
{
    struct server *srv = cs->srv;
    const char *addr = NULL;
    uint64_t leader = consensus_leader(srv->cs, &addr);
    char ids[24];
    snprintf(ids, sizeof(ids), "%llu", (unsigned long long)cs->id);
    const char *argv[] = {"CLUSTER", "DELNODE", ids};
    if (leader == 0 || leader == cs->id || addr == NULL) {
        op_answer(cs, CLUSTER_EFAILED, "could not move leadership away from node %llu before removing it",
                  (unsigned long long)cs->id);
        op_end(cs);
        return;
    }
    if (peer_command(srv, addr, 3, argv, (int)srv->cfg->request_timeout, on_relayed, cs) != 0) {
        op_answer(cs, CLUSTER_EFAILED, "the new leader's address %s is not usable", addr);
        op_end(cs);
    }
}

static int remove_start(struct server *srv, uint64_t id, cluster_done_fn *cb, void *arg, char *msg,
                        size_t msglen)
{
    struct cluster_state *cs = srv->cluster;
    int rc;

    if (id == 0) {
        snprintf(msg, msglen, "node id must be a positive integer");
        return CLUSTER_EINVAL;
    }
    struct raft *r = op_begin(srv, OP_REMOVE, msg, msglen, &rc);
    if (r == NULL)
        return rc;
    if (!consensus_find_server(srv->cs, id, NULL, NULL)) {
        snprintf(msg, msglen, "no member has id %llu", (unsigned long long)id);
        return CLUSTER_ENOID;
    }
    int voters = consensus_voter_count(srv->cs);
    op_setup(cs, OP_REMOVE, id, (int)srv->cfg->request_timeout * 2, cb, arg);
    int rv;
    if (id == (uint64_t)srv->cfg->id) {
        if (voters <= 1) {
            op_end(cs);
            snprintf(msg, msglen, "cannot remove the only voter");
            return CLUSTER_EINVAL;
        }
        cs->after_transfer = remove_after_transfer;
        rv = raft_transfer(r, &cs->transfer, 0, await_new_leader);
        if (rv != 0) {
            op_end(cs);
            return raft_status(rv, msg, msglen, "raft_transfer");
        }
    } else {
        rv = raft_remove(r, &cs->change, id, on_removed);
        if (rv != 0) {
            op_end(cs);
            return raft_status(rv, msg, msglen, "raft_remove");
        }
    }
    log_notice("cluster: removing node %llu", (unsigned long long)id);
    server_kick(srv);
    return 0;
}

/* ---- transfer ---- */

static void transfer_done(struct cluster_state *cs)
{
    struct server *srv = cs->srv;
    uint64_t leader = consensus_leader(srv->cs, NULL);
    if (leader != 0 && leader != (uint64_t)srv->cfg->id && (cs->id == 0 || leader == cs->id))
        op_answer(cs, CLUSTER_OK, "leadership moved to node %llu", (unsigned long long)leader);
    else
        op_answer(cs, CLUSTER_EFAILED, "leadership transfer did not complete (leader is %llu)",
                  (unsigned long long)leader);
    op_end(cs);
}

static int transfer_start(struct server *srv, uint64_t id, cluster_done_fn *cb, void *arg,
                          char *msg, size_t msglen)
{
    struct cluster_state *cs = srv->cluster;
    int rc;

    struct raft *r = op_begin(srv, OP_TRANSFER, msg, msglen, &rc);
    if (r == NULL)
        return rc;
    struct consensus_node node;
    if (id && !consensus_find_server(srv->cs, id, NULL, &node)) {
        snprintf(msg, msglen, "no member has id %llu", (unsigned long long)id);
        return CLUSTER_ENOID;
    }
    if (id && node.member != MEMBER_VOTER) {
        snprintf(msg, msglen, "node %llu is not a voter", (unsigned long long)id);
        return CLUSTER_EINVAL;
    }
    if (id == (uint64_t)srv->cfg->id) {
        snprintf(msg, msglen, "node %llu is already the leader", (unsigned long long)id);
        return 1; /* nothing to do: the caller answers at once */
    }
    if (consensus_voter_count(srv->cs) < 2) {
        snprintf(msg, msglen, "there is no other voter to transfer leadership to");
        return CLUSTER_EINVAL;
    }
    op_setup(cs, OP_TRANSFER, id, (int)srv->cfg->request_timeout, cb, arg);
    cs->after_transfer = transfer_done;
    int rv = raft_transfer(r, &cs->transfer, id, await_new_leader);
    if (rv != 0) {
        op_end(cs);
        return raft_status(rv, msg, msglen, "raft_transfer");
    }
    server_kick(srv);
    return 0;
}

/* ---- node addresses ---- */

/* Recording addresses is not a configuration change: it needs no exclusive slot. */
struct setnode_req {
    cluster_done_fn *cb;
    void *arg;
    uint64_t id;
};

static void on_setnode(void *arg, int status)
{
    struct setnode_req *req = arg;
    char msg[160];
    if (status == 0)
        snprintf(msg, sizeof(msg), "addresses of node %llu recorded", (unsigned long long)req->id);
    else
        snprintf(msg, sizeof(msg), "recording the addresses of node %llu failed: %s",
                 (unsigned long long)req->id, raft_strerror(status));
    req->cb(req->arg, status == 0 ? CLUSTER_OK : CLUSTER_EFAILED, msg);
    free(req);
}

static int set_node_start(struct server *srv, uint64_t id, const char *resp, const char *admin,
                          cluster_done_fn *cb, void *arg, char *msg, size_t msglen)
{
    struct raft *r = consensus_raft(srv->cs);
    if (!cluster_valid_address(resp) || (admin && *admin && !cluster_valid_address(admin))) {
        snprintf(msg, msglen, "addresses must be IPv4 ip:port");
        return CLUSTER_EINVAL;
    }
    if (r == NULL || !consensus_is_leader(srv->cs)) {
        snprintf(msg, msglen, "this node is not the leader");
        return CLUSTER_ENOTLEADER;
    }
    if (!consensus_find_server(srv->cs, id, NULL, NULL)) {
        snprintf(msg, msglen, "no member has id %llu", (unsigned long long)id);
        return CLUSTER_ENOID;
    }
    const struct fsm_node *known = fsm_node(&srv->fsm, id);
    if (known && strcmp(known->resp, resp) == 0 && strcmp(known->admin, admin ? admin : "") == 0) {
        snprintf(msg, msglen, "addresses of node %llu already recorded", (unsigned long long)id);
        return 1; /* nothing to change: the caller answers at once */
    }
    struct setnode_req *req = xmalloc(sizeof(*req));
    *req = (struct setnode_req){cb, arg, id};
    consensus_propose_node(srv->cs, id, resp, admin ? admin : "", on_setnode, req);
    return 0;
}

int cluster_self_member(struct server *srv)
{
    return consensus_find_server(srv->cs, (uint64_t)srv->cfg->id, NULL, NULL);
}

void cluster_self_addresses(struct server *srv, char *raft, char *resp, char *admin)
{
    struct config *cfg = srv->cfg;
    consensus_raft_address(cfg, raft, 64);
    snprintf(resp, 64, "%s:%lld", cfg->bind, cfg->port);
    if (cfg->admin_port > 0)
        snprintf(admin, 64, "%s:%lld", cfg->bind, cfg->admin_port);
    else
        admin[0] = '\0';
}

int cluster_reply_moved(const struct redisReply *reply, char target[64])
{
    int slot;
    return reply->type == REDIS_REPLY_ERROR && sscanf(reply->str, "MOVED %d %63s", &slot, target) == 2;
}

int cluster_is_member(struct server *srv, uint64_t id)
{
    return consensus_find_server(srv->cs, id, NULL, NULL);
}

void cluster_cron(struct server *srv)
{
    struct cluster_state *cs = srv->cluster;
    int64_t now = util_mono_us();
    if (cs->transfer_deadline_us) {
        const char *addr;
        uint64_t leader = consensus_leader(srv->cs, &addr);
        if ((leader != 0 && leader != (uint64_t)srv->cfg->id && addr != NULL) || now > cs->transfer_deadline_us) {
            cs->transfer_deadline_us = 0;
            cs->after_transfer(cs);
        }
    }
    if (cs->relay_at_us && now >= cs->relay_at_us) {
        cs->relay_at_us = 0;
        remove_after_transfer(cs);
    }
    if (cs->op != OP_NONE && !cs->answered && now > cs->deadline_us)
        op_answer(cs, CLUSTER_ETIMEOUT, "the change did not complete in time; it may still complete");
    cluster_join_step(srv, now);
    if (!cs->removed) {
        cluster_announce_step(srv, now);
        cluster_check_step(srv, now);
        peers_file_save(srv->cfg->dir, &srv->fsm, (uint64_t)srv->cfg->id, &cs->peers_saved_hash);
    }
}

void cluster_change_counts(const struct server *srv, long long out[CLUSTER_OUTCOMES])
{
    memset(out, 0, sizeof(long long) * CLUSTER_OUTCOMES);
    if (srv->cluster)
        memcpy(out, srv->cluster->outcomes, sizeof(srv->cluster->outcomes));
}

/* Count a change refused before it started (bad arguments, not leader, busy...). */
static int rejected(struct server *srv, int rc)
{
    if (rc < 0)
        srv->cluster->outcomes[3]++;
    return rc;
}

int cluster_add(struct server *srv, uint64_t id, const char *raft_addr, const char *resp,
                const char *admin, cluster_done_fn *cb, void *arg, char *msg, size_t msglen)
{
    return rejected(srv, add_start(srv, id, raft_addr, resp, admin, cb, arg, msg, msglen));
}

int cluster_remove(struct server *srv, uint64_t id, cluster_done_fn *cb, void *arg, char *msg,
                   size_t msglen)
{
    return rejected(srv, remove_start(srv, id, cb, arg, msg, msglen));
}

int cluster_transfer(struct server *srv, uint64_t id, cluster_done_fn *cb, void *arg, char *msg,
                     size_t msglen)
{
    return rejected(srv, transfer_start(srv, id, cb, arg, msg, msglen));
}

int cluster_set_node(struct server *srv, uint64_t id, const char *resp, const char *admin,
                     cluster_done_fn *cb, void *arg, char *msg, size_t msglen)
{
    return rejected(srv, set_node_start(srv, id, resp, admin, cb, arg, msg, msglen));
}


const char *cluster_membership(const struct server *srv)
{
    if (cluster_removed(srv))
        return "removed";
    if (srv->cluster && srv->cluster->joining)
        return "joining";
    if (consensus_raft(srv->cs) && consensus_config_size(srv->cs) == 0)
        return "waiting";
    return "member";
}

void cluster_close(struct server *srv)
{
    struct cluster_state *cs = srv->cluster;
    peer_cancel_all(srv); /* announce, join, relay requests still in flight (tx-admin) */
    if (cs && cs->op != OP_NONE && !cs->answered)
        op_answer(cs, CLUSTER_EFAILED, "server shutting down");
    free(cs);
    srv->cluster = NULL;
}

