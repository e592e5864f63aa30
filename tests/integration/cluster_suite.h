/* What the replication suites (test_replication.c, test_failover.c, test_restart.c) and the
 * cluster tests of test_admin.c share on top of the cluster layer (tcluster.h): their 3-node
 * clusters, counted from 0 as these tests count them (node i is the layer's id i + 1). */
#ifndef CONCORDKV_CLUSTER_SUITE_H
#define CONCORDKV_CLUSTER_SUITE_H

#include <stdbool.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "fixture.h"
#include "tcluster.h"

/* Three nodes with EXTRA (NULL: tc_fast_args); stopped with tc_stop_cleanly. */
static inline void start_cluster(const char *const *extra)
{
    tc_start(3, extra);
}

static inline struct fx_server *node(int i)
{
    return tc_node(i + 1);
}

static inline bool running(int i)
{
    return tc_running(i + 1);
}

/* The index of the node that leads now; -1 if none, -2 if more than one. */
static inline int leader_now(void)
{
    int id = tc_leader_now();

    return id > 0 ? id - 1 : id;
}

static inline int wait_leader(void)
{
    return tc_wait_leader() - 1;
}

/* start_cluster, wait for the leader (its index in *IDX) and connect to it (aborts the test if
 * it cannot; the caller frees the context). */
static inline redisContext *start_cluster_on_leader(const char *const *extra, int *idx)
{
    start_cluster(extra);
    *idx = wait_leader();
    return fx_connect(node(*idx)->port);
}

static inline void restart_node(int i)
{
    tc_start_node(i + 1);
}

static inline void stop_node_cleanly(int i)
{
    tc_stop_node_cleanly(i + 1);
}

static inline void assert_redirects_to_leader(int i)
{
    tc_assert_redirects_to_leader(i + 1);
}

/* Milliseconds since T0 (fx_now_ms), for messages and the bounds of refusals. */
static inline int64_t ms_since(int64_t t0)
{
    return fx_now_ms() - t0;
}

#endif
