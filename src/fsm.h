/* The replicated state machine: applies log entries to the keyspace, deterministically, on
 * every node, and snapshots/restores it. Never reads the clock or local configuration: the
 * entry carries its clock. */
/* Floating point in apply (INCRBYFLOAT now; HINCRBYFLOAT, ZINCRBY and ZADD INCR reuse the
 * same helpers) is computed in apply, in IEEE-754 binary64 doubles, and printed with
 * util_d2str_human (the shortest digits that read back, positional, as Redis's INCRBYFLOAT
 * replies look). Never long double: it is 80-bit on x86-64 and 128-bit on aarch64, so the
 * same log would store different strings on different nodes. Doubles round identically
 * wherever FLT_EVAL_METHOD is 0 (util.c refuses to build otherwise) and no multiply-add is
 * fused (-ffp-contract=off in Makefile.am), and glibc's printf/strtod of doubles are exact.
 * We chose this over settling the value before proposing (Redis replicates INCRBYFLOAT as a
 * SET of the result): the proposer would have to compute from state that the commands
 * queued ahead of it in the same batch, or in the entries still in flight, may change
 * before the entry applies; settling would need the proposer to track every pending write
 * per key. Computing in apply keeps a write a pure function of the log. */
#ifndef CONCORDKV_FSM_H
#define CONCORDKV_FSM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "evict.h"
#include "util.h"

struct acl_store;
struct command;
struct kv_store;
struct pubsub;
struct script_engine;
struct raft_fsm;

#define FSM_ADDR_MAX 64

/* A node's client-facing addresses, replicated so that any node can name the leader's. */
struct fsm_node {
    uint64_t id;
    char resp[FSM_ADDR_MAX];  /* ip:port of its RESP listener */
    char admin[FSM_ADDR_MAX]; /* ip:port of its admin listener, "" if none */
    int retired;              /* removed from the cluster: its id is never reused */
};

/* Databases (the databases option): at most this many, so that an index fits the marker. */
#define FSM_DATABASES_MAX 1024
/* The record that switches the databases of the records after it in an entry ("__db" n):
 * each entry starts in database 0, and the proposer writes one before a command whose
 * client is in another database than the record before it (consensus_write_db). It gets
 * no reply; entries of database 0 alone hold none and read as they always did. */
#define FSM_DB_RECORD "__db"

struct fsm {
    struct kv_store *kv;     /* database 0 (not owned) */
    struct kv_store **dbs;   /* NDBS databases: dbs[0] is KV, the others owned */
    int ndbs;
    /* Apply sequence number of the last entry applied, i.e. the number of entries applied
     * (commands and node entries, and undecodable ones): the apply_seq recorded as each
     * key's mod_seq and compared by WATCH. Not raft's log index (barriers and configuration
     * entries never reach the state machine). The same on every node for the same log; part
     * of the snapshot. */
    uint64_t apply_seq;
    uint64_t rng;
    long long commands_applied;
    struct fsm_node *nodes;
    int nnodes;
    struct acl_store *acl;   /* the ACL users (owned): replicated state, in snapshots */
    /* This node's Pub/Sub registry (not owned; NULL: none): handed to the handlers so that
     * PUBLISH and keyspace events reach local subscribers. Delivery changes no state here. */
    struct pubsub *pubsub;
    struct script_engine *scripts; /* the Lua interpreter and script cache (owned): the
                                    * cache is replicated state, in snapshots */
    struct fsm_result *last; /* result of the last apply until the apply callback takes it */
    int monitor_scripts; /* this node has MONITOR clients: record scripts' calls (fsm_result) */
    /* snapshots */
    int (*snapshot_busy)(void *arg); /* non-zero: refuse to snapshot now (RAFT_BUSY) */
    void *busy_arg;
    pid_t snap_pid;
    int snap_fd;
    int64_t snap_start_us;
    long long snapshots;
    long long snapshot_failures;
    int64_t last_snapshot_us; /* duration of the last snapshot */
    size_t last_snapshot_bytes;
    /* Bytes of the snapshot being collected and stored (its buffer, from the thread pool's
     * first read until finalize frees it), 0 otherwise; read atomically: maxmemory reserves
     * room for a snapshot and counts this one against it (server_evict.c). */
    size_t snap_held;
    long long restores;
    struct evict_stats evicted; /* __evicted entries applied here (INFO evicted_keys) */
};

/* The replies of one applied commands entry: reply i is OUT[ends[i-1] .. ends[i]). Record i
 * ran STAT_CMD[i]'s handler (NULL when none ran) for STAT_USEC[i] microseconds. */
struct fsm_result {
    struct buf out;
    size_t *ends;
    struct command **stat_cmd;
    int64_t *stat_usec;
    uint32_t n;
    /* With monitor_scripts: the unstamped MONITOR lines of the commands record i's scripts called are
     * TRACE[trace_ends[i-1] .. trace_ends[i]); trace_ends NULL otherwise. */
    struct buf trace;
    size_t *trace_ends;
};

void fsm_init(struct fsm *f, struct kv_store *kv);
/* Have N databases (1 <= N <= FSM_DATABASES_MAX; fsm_init gives 1): the ones past KV are
 * created empty, with their index set (kv_set_id). Call once, before the first apply. */
void fsm_set_databases(struct fsm *f, int n);
/* Database I, or NULL when out of range. */
struct kv_store *fsm_db(const struct fsm *f, long long i);
void fsm_close(struct fsm *f);
/* Apply the entry BUF (LEN bytes) as the entry of apply sequence number SEQ (the previous
 * apply_seq + 1; raft's log index is never used). Returns the replies (the
 * caller frees them with fsm_result_free), or NULL for an entry that yields none. Never
 * fails: a command that fails yields an error reply; an undecodable entry is skipped. */
struct fsm_result *fsm_apply(struct fsm *f, const void *buf, size_t len, uint64_t seq);
void fsm_result_free(struct fsm_result *r);

/* Fill RF as canonical/raft's FSM (version 3: the snapshot is written by a forked child,
 * collected on the thread pool, so the loop never stalls in proportion to the keyspace). */
void fsm_raft_init(struct fsm *f, struct raft_fsm *rf);
/* Take ownership of RESULT, the result an apply callback received (NULL-safe). Only the
 * node that proposed the entry takes it, so this is where the handlers' time in apply is
 * added to the commands' usec: on the node that counted their calls. */
struct fsm_result *fsm_take_result(struct fsm *f, void *result);

/* Serialize the whole state into OUT / restore it from BUF. Restore returns 0 or -1 (the
 * state is then unchanged). Used by snapshots and tests. */
void fsm_serialize(struct fsm *f, struct buf *out);
int fsm_restore(struct fsm *f, const void *buf, size_t len);

/* Node metadata. */
const struct fsm_node *fsm_node(const struct fsm *f, uint64_t id);
/* How many nodes are recorded (retired ones included), and the I-th (0 <= I < count). */
int fsm_node_count(const struct fsm *f);
const struct fsm_node *fsm_node_at(const struct fsm *f, int i);

#endif
