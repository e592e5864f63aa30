/* Joining a cluster from a new node (option join): ask the given member, or the leader it
 * names, to add this node (CLUSTER ADDNODE), with backoff, until it is in the configuration. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "cluster_int.h"
#include "config.h"
#include "log.h"
#include "peer.h"
#include "peerauth.h"
#include "server.h"

#define JOIN_DEADLINE_MS 300000

static void join_retry(struct cluster_state *cs, const char *why)
{
    log_notice("join: %s; retrying in %d ms", why, cs->join_backoff_ms);
    cs->join_next_us = util_mono_us() + (int64_t)cs->join_backoff_ms * 1000;
    cs->join_backoff_ms = cs->join_backoff_ms * 2 > 5000 ? 5000 : cs->join_backoff_ms * 2;
}

static void on_join_reply(void *arg, const redisReply *reply, const char *err)
{
    struct server *srv = arg;
    struct cluster_state *cs = srv->cluster;
    char target[64];
    cs->join_inflight = 0;
    if (reply == NULL) {
        join_retry(cs, err);
    } else if (reply->type != REDIS_REPLY_ERROR) {
        log_notice("join: added to the cluster through %s", cs->join_target);
        cs->joining = 0;
    } else if (cluster_reply_moved(reply, target)) {
        log_notice("join: %s redirects to the leader at %s", cs->join_target, target);
        snprintf(cs->join_target, sizeof(cs->join_target), "%s", target);
        cs->join_next_us = 0;
    } else if (strncmp(reply->str, "DUPID", 5) == 0 && cluster_self_member(srv)) {
        cs->joining = 0;
    } else if (strstr(reply->str, "databases") != NULL) {
        /* nothing changes that until this node restarts with the cluster's databases */
        log_warning("join: %s refused this node: %s; giving up", cs->join_target, reply->str);
        cs->joining = 0;
    } else {
        if (strstr(reply->str, "cluster secret") || strstr(reply->str, "cluster-secret"))
            log_warning("join: %s refused this node: %s; check cluster-secret", cs->join_target, reply->str);
        join_retry(cs, reply->str);
    }
}

static void join_attempt(struct server *srv, struct cluster_state *cs, int64_t now)
{
    char ids[24], raft[64], resp[64], admin[64], ndbs[24];
    if (cluster_self_member(srv)) {
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
    snprintf(ids, sizeof(ids), "%lld", srv->cfg->id);
    cluster_self_addresses(srv, raft, resp, admin);
    /* The secret is required with --join (config.c); the proof shows we know it. */
    char proof[PEERAUTH_JOIN_PROOF_SIZE];
    peerauth_join_proof(srv->cfg->cluster_secret ? srv->cfg->cluster_secret : "", (uint64_t)srv->cfg->id,
                        raft, resp, admin, proof);
    snprintf(ndbs, sizeof(ndbs), "%lld", srv->cfg->databases);
    const char *argv[] = {"CLUSTER", "JOIN", ids, raft, resp, admin, proof, "DATABASES", ndbs};
    log_notice("join: asking %s to add node %s at %s", cs->join_target, ids, raft);
    if (peer_command(srv, cs->join_target, 9, argv, ADD_DEADLINE_MS + 5000, on_join_reply, srv) == 0)
        cs->join_inflight = 1;
    else {
        log_warning("join: '%s' is not an ip:port address", cs->join_target);
        cs->joining = 0;
    }
}


void cluster_join_step(struct server *srv, int64_t now)
{
    struct cluster_state *cs = srv->cluster;
    if (srv->cfg->join && !cs->joining && cs->join_deadline_us == 0 && !cluster_self_member(srv) &&
        !cs->removed) {
        cs->joining = 1;
        cs->join_backoff_ms = 200;
        cs->join_deadline_us = now + (int64_t)JOIN_DEADLINE_MS * 1000;
        snprintf(cs->join_target, sizeof(cs->join_target), "%s", srv->cfg->join);
    }
    if (cs->joining)
        join_attempt(srv, cs, now);
}
