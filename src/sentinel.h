/* Sentinel discovery: every node answers the SENTINEL commands clients use to find the master
 * (the raft leader) of the cluster named by cluster-name, in Redis 7.0 Sentinel's shapes, and
 * publishes +switch-master to its own subscribers when it learns of a new leader. */
#ifndef CONCORDKV_SENTINEL_H
#define CONCORDKV_SENTINEL_H

#include <stdint.h>

struct server;

/* cluster-name's default: the master name of every Sentinel tutorial and client example. */
#define SENTINEL_DEFAULT_NAME "mymaster"

/* What this node last told its subscribers, embedded in the server. */
struct sentinel_state {
    char master[64];      /* RESP address of the leader last seen; "" before the first */
    int64_t master_ms;    /* when it was first seen leading */
    int64_t down_ms;      /* since when no leader with a known address is known; 0: one is */
    long long switches;   /* +switch-master events published */
};

/* Notice a change of leader (called whenever raft ran): when the leader's RESP address
 * differs from the last one seen, publish "+switch-master <name> <old-ip> <old-port>
 * <new-ip> <new-port>" on the channel +switch-master to this node's subscribers. The first
 * leader a node learns of is not a switch. */
void sentinel_watch(struct server *srv);

#endif
