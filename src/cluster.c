/* Membership changes through canonical/raft (raft_add -> raft_assign, raft_remove,
 * raft_transfer), one at a time with a deadline; joining a cluster; announcing this node's
 * addresses. Shared by CLUSTER commands and the HTTP admin API. */
#include "cluster.h"

#include <hiredis/hiredis.h>
#include <raft.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "consensus.h"
#include "fsm.h"
#include "log.h"
#include "peerauth.h"
#include "peer.h"
#include "server.h"

#define ADD_DEADLINE_MS 60000
#define JOIN_DEADLINE_MS 300000
#define ANNOUNCE_INTERVAL_MS 1000
#define REMOVED_MARKER "removed"

enum op_kind { OP_NONE, OP_ADD, OP_REMOVE, OP_TRANSFER };

struct cluster_state {
    struct server *srv;
    /* the change in progress */
    int op;
    int answered;          /* the requester has its outcome */
    int raft_busy;         /* a raft request of ours is still pending */
    uint64_t id;
    char resp[64], admin[64];
    int64_t deadline_us;
    cluster_done_fn *cb;
    void *arg;
    struct raft_change change;
    struct raft_transfer transfer;
    /* after a transfer, wait (in cluster_cron) until the new leader is known */
    void (*after_transfer)(struct cluster_state *cs);
    int64_t transfer_deadline_us;
    int64_t relay_at_us; /* retry asking the new leader to remove the old one */
    /* joining */
    int joining;
    char join_target[64];
    int64_t join_next_us, join_deadline_us;
    int join_backoff_ms;
    int join_inflight;
    /* announcing */
    int64_t announce_next_us;
    int announce_inflight;
    int removed;
    long long outcomes[CLUSTER_OUTCOMES];
    /* asking the cluster whether this node is still a member */
    int check_forced;
    int check_inflight;
    int64_t leaderless_since_us, check_next_us;
    int check_rr;
    char check_target[64];
    uint64_t peers_saved_hash; /* of the addresses last written to dir/peers */
};

static struct cluster_state *state_of(struct server *srv)
{
    if (srv->cluster == NULL) {
        srv->cluster = xcalloc(1, sizeof(struct cluster_state));
        srv->cluster->srv = srv;
        char path[1100];
        snprintf(path, sizeof(path), "%s/%s", srv->cfg->dir, REMOVED_MARKER);
        srv->cluster->removed = access(path, F_OK) == 0;
    }
    return srv->cluster;
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

static int find_server(const struct raft *r, uint64_t id, const char *addr)
{
    for (unsigned i = 0; i < r->configuration.n; i++) {
        const struct raft_server *s = &r->configuration.servers[i];
        if ((id && s->id == id) || (addr && strcmp(s->address, addr) == 0))
            return (int)i;
    }
    return -1;
}

/* Common preconditions: leader, no change in progress. */
static struct raft *op_begin(struct server *srv, int op, char *msg, size_t msglen, int *rc)
{
    struct cluster_state *cs = state_of(srv);
    struct raft *r = consensus_raft(srv->cs);
    *rc = 0;
    if (r == NULL || !consensus_is_leader(srv->cs)) {
        snprintf(msg, msglen, "this node is not the leader");
        *rc = CLUSTER_ENOTLEADER;
    } else if (cs->op != OP_NONE || r->configuration_uncommitted_index != 0) {
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
    if (r && raft_state(r) == RAFT_LEADER && find_server(r, cs->id, NULL) >= 0 &&
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

static int add_start(struct server *srv, uint64_t id, const char *raft_addr, const char *resp,
                     const char *admin, cluster_done_fn *cb, void *arg, char *msg, size_t msglen)
{
    struct cluster_state *cs = state_of(srv);
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
    int at = find_server(r, id, NULL);
    if (at >= 0) {
        snprintf(msg, msglen, "node id %llu is already a member (raft address %s)",
                 (unsigned long long)id, r->configuration.servers[at].address);
        return CLUSTER_EDUPID;
    }
    const struct fsm_node *old = fsm_node(&srv->fsm, id);
    if (old && old->retired) {
        snprintf(msg, msglen, "node id %llu belonged to a removed node; ids are never reused",
                 (unsigned long long)id);
        return CLUSTER_EDUPID;
    }
    at = find_server(r, 0, raft_addr);
    if (at >= 0) {
        snprintf(msg, msglen, "address %s is already used by node %llu", raft_addr,
                 (unsigned long long)r->configuration.servers[at].id);
        return CLUSTER_EDUPADDR;
    }
    for (int i = 0; resp && *resp && i < srv->fsm.nnodes; i++)
        if (strcmp(srv->fsm.nodes[i].resp, resp) == 0 && find_server(r, srv->fsm.nodes[i].id, NULL) >= 0) {
            snprintf(msg, msglen, "address %s is already used by node %llu", resp,
                     (unsigned long long)srv->fsm.nodes[i].id);
            return CLUSTER_EDUPADDR;
        }
    op_setup(cs, OP_ADD, id, ADD_DEADLINE_MS, cb, arg);
    snprintf(cs->resp, sizeof(cs->resp), "%s", resp ? resp : "");
    snprintf(cs->admin, sizeof(cs->admin), "%s", admin ? admin : "");
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
    struct cluster_state *cs = state_of(srv);
    int rc;

    if (id == 0) {
        snprintf(msg, msglen, "node id must be a positive integer");
        return CLUSTER_EINVAL;
    }
    struct raft *r = op_begin(srv, OP_REMOVE, msg, msglen, &rc);
    if (r == NULL)
        return rc;
    if (find_server(r, id, NULL) < 0) {
        snprintf(msg, msglen, "no member has id %llu", (unsigned long long)id);
        return CLUSTER_ENOID;
    }
    int voters = 0;
    for (unsigned i = 0; i < r->configuration.n; i++)
        voters += r->configuration.servers[i].role == RAFT_VOTER;
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
    struct cluster_state *cs = state_of(srv);
    int rc;

    struct raft *r = op_begin(srv, OP_TRANSFER, msg, msglen, &rc);
    if (r == NULL)
        return rc;
    int at = id ? find_server(r, id, NULL) : 0;
    if (at < 0) {
        snprintf(msg, msglen, "no member has id %llu", (unsigned long long)id);
        return CLUSTER_ENOID;
    }
    if (id && r->configuration.servers[at].role != RAFT_VOTER) {
        snprintf(msg, msglen, "node %llu is not a voter", (unsigned long long)id);
        return CLUSTER_EINVAL;
    }
    if (id == (uint64_t)srv->cfg->id) {
        snprintf(msg, msglen, "node %llu is already the leader", (unsigned long long)id);
        return 1; /* nothing to do: the caller answers at once */
    }
    int voters = 0;
    for (unsigned i = 0; i < r->configuration.n; i++)
        voters += r->configuration.servers[i].role == RAFT_VOTER;
    if (voters < 2) {
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
    if (find_server(r, id, NULL) < 0) {
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

/* ---- join and announce (this node's side) ---- */

static int self_in_configuration(struct server *srv)
{
    struct raft *r = consensus_raft(srv->cs);
    return r && find_server(r, (uint64_t)srv->cfg->id, NULL) >= 0;
}

static void self_addresses(struct server *srv, char *raft, char *resp, char *admin)
{
    struct config *cfg = srv->cfg;
    consensus_raft_address(cfg, raft, 64);
    snprintf(resp, 64, "%s:%lld", cfg->bind, cfg->port);
    if (cfg->admin_port > 0)
        snprintf(admin, 64, "%s:%lld", cfg->bind, cfg->admin_port);
    else
        admin[0] = '\0';
}

static void join_retry(struct cluster_state *cs, const char *why)
{
    log_notice("join: %s; retrying in %d ms", why, cs->join_backoff_ms);
    cs->join_next_us = util_mono_us() + (int64_t)cs->join_backoff_ms * 1000;
    cs->join_backoff_ms = cs->join_backoff_ms * 2 > 5000 ? 5000 : cs->join_backoff_ms * 2;
}

static void on_join_reply(void *arg, const redisReply *reply, const char *err)
{
    struct server *srv = arg;
    struct cluster_state *cs = state_of(srv);
    char target[64];
    int slot;
    cs->join_inflight = 0;
    if (reply == NULL) {
        join_retry(cs, err);
    } else if (reply->type != REDIS_REPLY_ERROR) {
        log_notice("join: added to the cluster through %s", cs->join_target);
        cs->joining = 0;
    } else if (sscanf(reply->str, "MOVED %d %63s", &slot, target) == 2) {
        log_notice("join: %s redirects to the leader at %s", cs->join_target, target);
        snprintf(cs->join_target, sizeof(cs->join_target), "%s", target);
        cs->join_next_us = 0;
    } else if (strncmp(reply->str, "DUPID", 5) == 0 && self_in_configuration(srv)) {
        cs->joining = 0;
    } else {
        if (strstr(reply->str, "cluster secret") || strstr(reply->str, "cluster-secret"))
            log_warning("join: %s refused this node: %s; check cluster-secret", cs->join_target, reply->str);
        join_retry(cs, reply->str);
    }
}

static void join_step(struct server *srv, struct cluster_state *cs, int64_t now)
{
    char ids[24], raft[64], resp[64], admin[64];
    if (self_in_configuration(srv)) {
        log_notice("join: this node is a member");
        cs->joining = 0;
        return;
    }
    if (cs->join_inflight || now < cs->join_next_us)
        return;
    if (now > cs->join_deadline_us) {
        log_warning("join: gave up after %d s; add this node by hand (CLUSTER ADDNODE)", JOIN_DEADLINE_MS / 1000);
        cs->joining = 0;
        return;
    }
    char proof[PEERAUTH_JOIN_PROOF_SIZE];
    snprintf(ids, sizeof(ids), "%lld", srv->cfg->id);
    self_addresses(srv, raft, resp, admin);
    /* The secret is required with --join (config.c); the proof shows we know it. */
    peerauth_join_proof(srv->cfg->cluster_secret ? srv->cfg->cluster_secret : "", (uint64_t)srv->cfg->id, raft, resp, admin, proof);
    const char *argv[] = {"CLUSTER", "JOIN", ids, raft, resp, admin, proof};
    log_notice("join: asking %s to add node %s at %s", cs->join_target, ids, raft);
    if (peer_command(srv, cs->join_target, 7, argv, ADD_DEADLINE_MS + 5000, on_join_reply, srv) == 0)
        cs->join_inflight = 1;
    else {
        log_warning("join: '%s' is not an ip:port address", cs->join_target);
        cs->joining = 0;
    }
}

static void on_announce_reply(void *arg, const redisReply *reply, const char *err)
{
    struct server *srv = arg;
    struct cluster_state *cs = state_of(srv);
    cs->announce_inflight = 0;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        log_verbose("announcing this node's addresses: %s", reply ? reply->str : err);
}

/* A member whose addresses the cluster does not know (or knows wrong) tells the leader. */
static void announce_step(struct server *srv, struct cluster_state *cs, int64_t now)
{
    char ids[24], raft[64], resp[64], admin[64];
    const char *leader_addr;
    if (cs->announce_inflight || now < cs->announce_next_us || !self_in_configuration(srv))
        return;
    uint64_t leader = consensus_leader(srv->cs, &leader_addr);
    if (leader == 0 || leader_addr == NULL || leader == (uint64_t)srv->cfg->id)
        return;
    self_addresses(srv, raft, resp, admin);
    const struct fsm_node *n = fsm_node(&srv->fsm, (uint64_t)srv->cfg->id);
    if (n && strcmp(n->resp, resp) == 0 && strcmp(n->admin, admin) == 0)
        return;
    cs->announce_next_us = now + ANNOUNCE_INTERVAL_MS * 1000;
    snprintf(ids, sizeof(ids), "%lld", srv->cfg->id);
    const char *argv[] = {"CLUSTER", "SETNODE", ids, resp, admin};
    if (peer_command(srv, leader_addr, 5, argv, 5000, on_announce_reply, srv) == 0)
        cs->announce_inflight = 1;
}

/* ---- learning that this node was removed ---- */

static void on_member_reply(void *arg, const redisReply *reply, const char *err)
{
    struct server *srv = arg;
    struct cluster_state *cs = state_of(srv);
    char target[64];
    int slot;
    cs->check_inflight = 0;
    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        cs->check_forced = 0;
        if (reply->integer == 0)
            cluster_mark_removed(srv);
    } else if (reply && reply->type == REDIS_REPLY_ERROR && sscanf(reply->str, "MOVED %d %63s", &slot, target) == 2) {
        snprintf(cs->check_target, sizeof(cs->check_target), "%s", target);
        cs->check_next_us = 0;
    }
}

#define PEERS_FILE "peers"

/* Keep the members' RESP addresses in dir/peers: after a restart, before anything is applied,
 * a node removed while it was down still has someone to ask. */
static void save_peers(struct server *srv, struct cluster_state *cs)
{
    struct buf b;
    char path[1100], tmp[1110];
    buf_init(&b);
    for (int i = 0; i < srv->fsm.nnodes; i++) {
        const struct fsm_node *n = &srv->fsm.nodes[i];
        if (!n->retired && n->resp[0] && n->id != (uint64_t)srv->cfg->id)
            buf_printf(&b, "%llu %s\n", (unsigned long long)n->id, n->resp);
    }
    uint64_t h = util_hash_seeded(b.data ? b.data : "", b.len, 0x70656572);
    if (b.len > 0 && h != cs->peers_saved_hash) {
        snprintf(path, sizeof(path), "%s/%s", srv->cfg->dir, PEERS_FILE);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        FILE *fp = fopen(tmp, "w");
        if (fp && fwrite(b.data, 1, b.len, fp) == b.len && fclose(fp) == 0 && rename(tmp, path) == 0)
            cs->peers_saved_hash = h;
        else if (fp == NULL)
            log_verbose("cannot write %s", tmp);
    }
    buf_close(&b);
}

/* The K-th saved peer address (wrapping) into OUT; returns 0 when there is none. */
static int saved_peer(struct server *srv, int k, char out[64])
{
    char path[1100], line[128], addrs[16][64];
    int n = 0;
    snprintf(path, sizeof(path), "%s/%s", srv->cfg->dir, PEERS_FILE);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return 0;
    while (n < 16 && fgets(line, sizeof(line), fp)) {
        unsigned long long id;
        if (sscanf(line, "%llu %63s", &id, addrs[n]) == 2 && util_parse_addr(addrs[n], NULL, 0) == 0)
            n++;
    }
    fclose(fp);
    if (n == 0)
        return 0;
    memcpy(out, addrs[(unsigned)k % (unsigned)n], 64);
    return 1;
}

/* A removed node hears nothing more from the leader (it is not in the new configuration)
 * and may have missed the leader's CLUSTER REMOVED notice: when it has known no leader for
 * a while, or was told it was removed, it asks the cluster. Only the leader's answer counts. */
static void membership_check(struct server *srv, struct cluster_state *cs, int64_t now)
{
    char ids[24];
    int64_t quiet_us = srv->cfg->election_timeout * 3000 > 3000000 ? srv->cfg->election_timeout * 3000 : 3000000;
    if (consensus_leader(srv->cs, NULL) != 0 && !cs->check_forced) {
        cs->leaderless_since_us = 0;
        return;
    }
    if (cs->leaderless_since_us == 0)
        cs->leaderless_since_us = now;
    if (cs->check_inflight || now < cs->check_next_us || !self_in_configuration(srv) ||
        (!cs->check_forced && now - cs->leaderless_since_us < quiet_us))
        return;
    cs->check_next_us = now + 1000000;
    const char *target = cs->check_target[0] ? cs->check_target : NULL;
    for (int k = 0; target == NULL && k < srv->fsm.nnodes; k++) {
        const struct fsm_node *n = &srv->fsm.nodes[(cs->check_rr + k) % srv->fsm.nnodes];
        if (n->id != (uint64_t)srv->cfg->id && !n->retired && n->resp[0]) {
            target = n->resp;
            cs->check_rr += k + 1;
        }
    }
    char saved[64];
    if (target == NULL && saved_peer(srv, cs->check_rr++, saved))
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
    struct cluster_state *cs = state_of(srv);
    cs->check_forced = 1;
    cs->check_next_us = 0;
}

int cluster_is_member(struct server *srv, uint64_t id)
{
    struct raft *r = consensus_raft(srv->cs);
    return r && find_server(r, id, NULL) >= 0;
}

void cluster_cron(struct server *srv)
{
    struct cluster_state *cs = state_of(srv);
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
    if (srv->cfg->join && !cs->joining && cs->join_deadline_us == 0 && !self_in_configuration(srv) &&
        !cs->removed) {
        cs->joining = 1;
        cs->join_backoff_ms = 200;
        cs->join_deadline_us = now + (int64_t)JOIN_DEADLINE_MS * 1000;
        snprintf(cs->join_target, sizeof(cs->join_target), "%s", srv->cfg->join);
    }
    if (cs->joining)
        join_step(srv, cs, now);
    if (!cs->removed) {
        announce_step(srv, cs, now);
        membership_check(srv, cs, now);
        save_peers(srv, cs);
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
        state_of(srv)->outcomes[3]++;
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

int cluster_removed(const struct server *srv)
{
    return srv->cluster && srv->cluster->removed;
}

void cluster_mark_removed(struct server *srv)
{
    struct cluster_state *cs = state_of(srv);
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

const char *cluster_membership(const struct server *srv)
{
    if (cluster_removed(srv))
        return "removed";
    if (srv->cluster && srv->cluster->joining)
        return "joining";
    struct raft *r = consensus_raft(srv->cs);
    if (r && r->configuration.n == 0)
        return "waiting";
    return "member";
}

void cluster_close(struct server *srv)
{
    struct cluster_state *cs = srv->cluster;
    if (cs && cs->op != OP_NONE && !cs->answered)
        op_answer(cs, CLUSTER_EFAILED, "server shutting down");
    free(cs);
    srv->cluster = NULL;
}
