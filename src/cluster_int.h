/* Private to the cluster*.c files: the state of cluster work on this node (one struct, one
 * section per job) and what the jobs share. Created by cluster_init, freed by cluster_close. */
#ifndef CONCORDKV_CLUSTER_INT_H
#define CONCORDKV_CLUSTER_INT_H

#include <raft.h>
#include <stdint.h>

#include "cluster.h"

struct server;

#define ADD_DEADLINE_MS 60000 /* also how long a joining node waits for its CLUSTER ADDNODE */

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
    long long outcomes[CLUSTER_OUTCOMES];
    /* asking the cluster whether this node is still a member */
    int removed;
    int check_forced;
    int check_inflight;
    int64_t leaderless_since_us, check_next_us;
    int check_rr;
    char check_target[64];
    uint64_t peers_saved_hash; /* of the addresses last written to dir/peers */
};

/* True when this node is in its raft configuration. */
int cluster_self_member(struct server *srv);
/* This node's raft, RESP and admin ("" if none) addresses, 64 bytes each. */
void cluster_self_addresses(struct server *srv, char *raft, char *resp, char *admin);

/* True when REPLY is "-MOVED <slot> <addr>": ADDR goes into TARGET. */
struct redisReply;
int cluster_reply_moved(const struct redisReply *reply, char target[64]);

/* The jobs cluster_cron runs, each in its own file; NOW is util_mono_us(). */
void cluster_join_step(struct server *srv, int64_t now);     /* cluster_join.c */
void cluster_announce_step(struct server *srv, int64_t now); /* cluster_announce.c */
void cluster_check_step(struct server *srv, int64_t now);    /* cluster_check.c */
/* Read the removed marker of the data dir (cluster_check.c). */
int cluster_check_marker(const struct server *srv);

#endif
