/* Membership: add, remove and transfer, shared by the CLUSTER commands and the HTTP admin
 * API (cluster.c); joining a cluster from a new node (cluster_join.c); announcing this node's
 * addresses to the leader (cluster_announce.c); learning that it was removed (cluster_check.c).
 * One configuration change at a time, each with a deadline and exactly one outcome. */
#ifndef CONCORDKV_CLUSTER_H
#define CONCORDKV_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

struct server;

enum cluster_status {
    CLUSTER_OK = 0,
    CLUSTER_EINVAL = -1,     /* bad arguments */
    CLUSTER_EDUPID = -2,     /* the id is already a member */
    CLUSTER_EDUPADDR = -3,   /* the address is already used by a member */
    CLUSTER_ENOID = -4,      /* no member has that id */
    CLUSTER_EBUSY = -5,      /* another change is in progress: retry */
    CLUSTER_ENOTLEADER = -6, /* ask the leader */
    CLUSTER_ETIMEOUT = -7,   /* the deadline passed; the change may still complete */
    CLUSTER_EFAILED = -8,    /* raft refused or leadership was lost */
};

/* Outcome of an operation: STATUS and a one-line MSG (without a RESP prefix). */
typedef void cluster_done_fn(void *arg, int status, const char *msg);

/* Start an operation. Returns 0 and calls CB later exactly once, or a negative status with
 * the reason in MSG, without calling CB. Leader only (CLUSTER_ENOTLEADER elsewhere).
 * ADD: ID with raft address RAFT_ADDR becomes a spare, catches up, becomes a voter; then its
 * RESP/ADMIN addresses (optional, may be NULL) are recorded. REMOVE: ID leaves; removing the
 * leader transfers leadership first and has the new leader remove it. TRANSFER: leadership
 * moves to ID (0: the most up-to-date voter); when ID already leads, it returns 1 with MSG set
 * and does not call CB. */
int cluster_add(struct server *srv, uint64_t id, const char *raft_addr, const char *resp,
                const char *admin, cluster_done_fn *cb, void *arg, char *msg, size_t msglen);
int cluster_remove(struct server *srv, uint64_t id, cluster_done_fn *cb, void *arg, char *msg,
                   size_t msglen);
int cluster_transfer(struct server *srv, uint64_t id, cluster_done_fn *cb, void *arg, char *msg,
                     size_t msglen);
/* Record ID's addresses (a member announcing itself). Leader only; same contract (1 when
 * they are already recorded). */
int cluster_set_node(struct server *srv, uint64_t id, const char *resp, const char *admin,
                     cluster_done_fn *cb, void *arg, char *msg, size_t msglen);

/* Check an "a.b.c.d:port" address. Returns 1 when valid. */
int cluster_valid_address(const char *addr);

/* Create SRV's cluster state (srv->cluster), reading the data dir's removed marker. Call once,
 * before the other cluster_* functions; cluster_close frees it. */
void cluster_init(struct server *srv);
/* Periodic work: deadlines, join attempts, announcing this node's addresses. */
void cluster_cron(struct server *srv);
/* This node was removed from the cluster (it stops serving). */
int cluster_removed(const struct server *srv);
void cluster_mark_removed(struct server *srv);
/* Ask the leader soon whether this node is still a member (after a CLUSTER REMOVED notice,
 * which is only a hint: anyone could send it). */
void cluster_check_membership(struct server *srv);
/* True when ID is in this node's raft configuration. */
int cluster_is_member(struct server *srv, uint64_t id);
/* "member", "joining", "waiting" (bootstrap no, not added yet) or "removed". */
const char *cluster_membership(const struct server *srv);
void cluster_close(struct server *srv);

/* Membership changes by outcome: ok, failed, timeout, rejected (refused at once). */
#define CLUSTER_OUTCOMES 4
void cluster_change_counts(const struct server *srv, long long out[CLUSTER_OUTCOMES]);

#endif
