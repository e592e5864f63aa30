/* Replication of writes and consistent reads through canonical/raft, below the event loop.
 * Writes are batched: the requests that arrive while entries are in flight go into the next
 * entry (one raft_apply per batch, a few entries in flight). Reads wait for the entry of the
 * batch they joined, or, in a batch of reads only, for a ReadIndex round (consensus_read.c)
 * or one shared barrier. Each
 * request is an opaque cookie of the caller's, answered through its callback table in
 * submission order; consensus knows nothing of clients or the loop (docs/ARCHITECTURE.md). */
#ifndef CONCORDKV_CONSENSUS_H
#define CONCORDKV_CONSENSUS_H

#include <stddef.h>
#include <stdint.h>
#include "histogram.h"

struct command;
struct config;
struct fsm;
struct raft;
struct request;

/* How consensus hands work back to the layer above it (the dispatcher: server.c and
 * client.c). Every function gets ARG, the table's opaque pointer. A request is named by the
 * opaque COOKIE its submitter gave; each cookie is answered exactly once, by reply, error or
 * run_read, in the order the requests were submitted. */
struct consensus_callbacks {
    void *arg;
    /* The reply of write COOKIE: LEN bytes of RESP at DATA (not kept). */
    void (*reply)(void *arg, void *cookie, const char *data, size_t len);
    /* COOKIE failed: MSG is the error text without the leading '-' (not kept). */
    void (*error)(void *arg, void *cookie, const char *msg);
    /* Execute read REQ (CMD's handler) for COOKIE now, against the applied state, and answer
     * COOKIE. REQ stays the consensus's. */
    void (*run_read)(void *arg, void *cookie, const struct command *cmd, struct request *req);
    /* Read COOKIE (CMD's) failed: MSG as for error. Optional: error is called instead. */
    void (*read_error)(void *arg, void *cookie, const struct command *cmd, const char *msg);
    /* consensus_flush should run once the current batch of events is handled. */
    void (*want_flush)(void *arg);
    /* raft was called: run libuv (consensus_pump) soon. Optional. */
    void (*kick)(void *arg);
    /* Replies were delivered: send them. Optional. */
    void (*flushed)(void *arg);
    /* consensus_shutdown finished: raft is closed. Optional. */
    void (*closed)(void *arg);
    /* Monotonic clock in microseconds; NULL: util_mono_us. Tests drive time with it. */
    int64_t (*mono_us)(void *arg);
    /* ReadIndex: ask every other voter "am I still your leader for TERM?" for round SEQ and
     * report each valid yes with consensus_read_ack. Optional: without it, reads wait for a
     * barrier entry as in CONSENSUS_READ_BARRIER. */
    void (*read_round)(void *arg, uint64_t term, uint64_t seq);
    /* Write COOKIE's handler ran USEC microseconds in apply, its scripts' calls traced as the
     * TRACE_LEN bytes of MONITOR lines at TRACE (not kept); called just before its reply
     * (SLOWLOG, MONITOR). Optional. */
    void (*executed)(void *arg, void *cookie, int64_t usec, const char *trace, size_t trace_len);
    /* EVENT ("fsync-raft-log", "snapshot", "apply") took USEC microseconds (LATENCY).
     * Optional. */
    void (*latency)(void *arg, const char *event, int64_t usec);
};

/* How a read-only batch is confirmed (read-consistency; stale reads never reach consensus). */
enum consensus_read_mode {
    CONSENSUS_READ_INDEX,   /* linearizable: a round of acks from a majority, no log entry */
    CONSENSUS_READ_BARRIER, /* a barrier entry appended and committed (one disk write) */
    CONSENSUS_READ_LEASE,   /* a round's acks promise no election for a while: no round then */
};

/* What the batching core needs to know about this node. */
struct consensus_params {
    uint64_t id;
    long long request_timeout_ms;
    char resp_addr[64];  /* this node's RESP address, proposed with its election entry */
    char admin_addr[64]; /* "" when it has none */
    long long election_timeout_ms; /* bounds a read lease; 0: no lease is ever taken */
};

/* Entries proposed and not yet applied, at most. The open batch stays open while the window
 * is full. Measured on 2 cores (docs/BENCHMARKS.md, "In-flight window"): 8 against 2 raised
 * -P 16 SET by 15-20 % on one node and ZADD by 5-15 % on three, and lowered nothing. */
#define CONSENSUS_MAX_INFLIGHT 8

struct consensus_stats {
    long long entries_proposed;
    long long commands_proposed;
    long long barriers;
    long long reads;
    long long leader_changes;
    long long timeouts;
    long long unknown_outcomes;
    long long io_errors;
    long long read_index_rounds;  /* ReadIndex rounds started */
    long long read_index_reads;   /* reads served by a round (or a lease), no log entry */
    long long read_index_retries; /* rounds given up without a majority */
    long long lease_reads;        /* of read_index_reads: served under a lease */
    long long log_bytes;          /* bytes of the commands applied since the last snapshot */
    long long snapshots_by_bytes; /* snapshots started because of log_bytes (snapshot-log-bytes) */
    long long snapshots_when_idle; /* of which started once no command had been applied for a while */
    long long applied_after_ack;  /* entries a follower applied after acknowledging (consensus_uv.c) */
    long long last_batch_size;
    long long max_batch_size;
    struct histogram batch_size;     /* commands per entry */
    struct histogram commit_latency; /* seconds from proposal to apply */
};

enum consensus_role { ROLE_UNAVAILABLE, ROLE_FOLLOWER, ROLE_CANDIDATE, ROLE_LEADER };
enum consensus_member { MEMBER_STANDBY, MEMBER_VOTER, MEMBER_SPARE, MEMBER_NONE };

/* One server of the current raft configuration, with its replicated addresses. */
struct consensus_node {
    uint64_t id;
    char raft_addr[64];
    char resp_addr[64]; /* "" when not known yet */
    char admin_addr[64];
    int member;         /* enum consensus_member */
    int leader;
    uint64_t match_index; /* on the leader: the highest entry it knows the node holds (its own
                           * last index for itself); 0 elsewhere */
};

/* Raft progress figures for INFO and /metrics. */
struct consensus_info {
    uint64_t id;
    int role;           /* enum consensus_role */
    int ready;          /* leader whose election barrier has been applied */
    uint64_t term;
    uint64_t leader_id;
    uint64_t commit_index;
    uint64_t applied_index;
    uint64_t last_index;
    uint64_t snapshot_index;
    int voters;
    int inflight;
    int queued;
};

struct consensus;

/* Create the raft instance described by CFG over FSM (raft_uv storage in cfg->dir, our TCP
 * transport, its own libuv loop): bootstrap when the options say so and dir holds no state,
 * start. CFG, FSM and CB's table must outlive the consensus; the table is copied. Returns
 * NULL with a message in ERR on failure; a consensus with ERR set when raft was initialised
 * but could not start (free it with consensus_free). */
struct consensus *consensus_new(const struct config *cfg, struct fsm *fsm,
                                const struct consensus_callbacks *cb, char *err, size_t errlen);
/* The batching core alone, over R, a raft instance its caller created, started and owns
 * (R->data becomes the consensus's). Used by the unit tests over raft's fixture. */
struct consensus *consensus_new_over(struct raft *r, struct fsm *fsm, const struct consensus_params *p,
                                     const struct consensus_callbacks *cb);
/* Free; answers every pending request with an error. consensus_free(NULL) is a no-op.
 * Call after the closed callback ran (or when consensus_new's server never ran); with
 * consensus_new_over, after its caller closed the raft instance or when nothing is in flight. */
void consensus_free(struct consensus *cs);
/* Stop: answer what is queued, transfer leadership away if this node leads a cluster of more
 * than one voter, then close raft. The closed callback runs once raft is closed. */
void consensus_shutdown(struct consensus *cs);

/* Propose the validated, deterministic write REQ (the consensus takes REQ); its reply,
 * produced by apply, goes to COOKIE in order. COOKIE may be NULL when nobody waits (the
 * server's own writes: active expiry). Only when consensus_accepts() is true. */
void consensus_write(struct consensus *cs, void *cookie, struct request *req);
/* The same for a command that runs in database DB (a client's SELECT): the entry records
 * the switch before it when the record before it runs in another (fsm.h, FSM_DB_RECORD).
 * consensus_write is DB 0. */
void consensus_write_db(struct consensus *cs, void *cookie, int db, struct request *req);
/* Have the read REQ (CMD's handler) run for COOKIE through the run_read callback once this
 * node has proved its leadership after now (its batch's entry, a ReadIndex round or a
 * barrier) and applied what it had committed; the consensus takes REQ. Only when
 * consensus_accepts() is true. */
void consensus_read(struct consensus *cs, void *cookie, const struct command *cmd,
                    struct request *req);
/* consensus_read for a probe (probe.h): its batch takes later writes, of any client (a
 * probe's own client converts it before sending another command, so what the read sees
 * of later writes is only what concurrent clients did, which linearizability allows). */
void consensus_probe(struct consensus *cs, void *cookie, const struct command *cmd,
                     struct request *req);
/* Switch how later read-only batches are confirmed (CONFIG SET read-consistency). */
void consensus_set_read_mode(struct consensus *cs, int mode);
/* Voter ID answered yes to ReadIndex round SEQ of TERM, promising not to vote for another
 * leader for REMAINING_MS. Stale, duplicate and unknown acks are ignored. */
void consensus_read_ack(struct consensus *cs, uint64_t seq, uint64_t term, uint64_t id,
                        long long remaining_ms);
/* A follower's answer to "is LEADER your leader for TERM?": 1 when this node follows LEADER
 * in TERM (it has not seen a higher term), else 0. Fills *MY_TERM and, for a yes, the ms
 * before its election timer could fire (*REMAINING_MS, 0 when unknown). */
int consensus_vouch(const struct consensus *cs, uint64_t leader, uint64_t term, uint64_t *my_term,
                    long long *remaining_ms);
/* Propose node metadata for ID (its RESP and admin addresses; RESP NULL deletes it). DONE, if
 * not NULL, runs once with 0 when applied or a raft error code. */
void consensus_propose_node(struct consensus *cs, uint64_t id, const char *resp, const char *admin,
                            void (*done)(void *arg, int status), void *arg);
/* The raft instance, for cluster.c's membership changes; NULL when closed. */
struct raft *consensus_raft(struct consensus *cs);
/* Notice role and leader changes after raft ran (consensus_pump does it; tests that step
 * raft themselves call it). */
void consensus_update(struct consensus *cs);
/* Propose what has been queued since the last flush (the server runs it from the loop after
 * consensus_write/consensus_read asked for it). */
void consensus_flush(struct consensus *cs);
/* Answer requests older than request-timeout; called by the server's cron. */
void consensus_cron(struct consensus *cs);

/* True when this node is the leader (requests are accepted; they are served once the
 * election barrier is applied). */
int consensus_accepts(const struct consensus *cs);
/* True when this node is the leader and its election barrier has been applied. */
int consensus_is_leader(const struct consensus *cs);
/* The known leader's id (0 if none) and RESP address (NULL if not known). */
uint64_t consensus_leader(const struct consensus *cs, const char **resp_addr);

/* The last leader whose RESP address was known (0 if none): where a removed node sends its
 * clients. */
uint64_t consensus_last_leader(const struct consensus *cs, const char **resp_addr);

/* Run libuv's ready work without blocking; returns uv_backend_timeout() (ms, -1 none). */
int consensus_pump(struct consensus *cs);
int consensus_backend_fd(const struct consensus *cs);

void consensus_get_info(const struct consensus *cs, struct consensus_info *info);
/* The index of the last entry applied here, as reads see it (inside an apply callback: that
 * entry's own). */
uint64_t consensus_applied(const struct consensus *cs);

/* Reading the raft configuration (cluster.c): all return 0 / -1 / NULL when raft is closed. */
/* Voters in the current configuration. */
int consensus_voter_count(const struct consensus *cs);
/* Servers in the current configuration (0: none yet, this node waits to be added). */
int consensus_config_size(const struct consensus *cs);
/* True while a configuration change is appended but not committed. */
int consensus_config_uncommitted(const struct consensus *cs);
/* The configuration's server with ID (when ID is not 0) or raft address ADDR (when not
 * NULL): returns 1 and fills OUT (if not NULL), or 0. */
int consensus_find_server(const struct consensus *cs, uint64_t id, const char *addr,
                          struct consensus_node *out);
/* Fill up to MAX nodes of the current configuration; returns how many there are. */
int consensus_nodes(const struct consensus *cs, struct consensus_node *out, int max);
const struct consensus_stats *consensus_stats(const struct consensus *cs);
/* 1 while raft takes or installs a snapshot on this node (its buffers are then in memory). */
int consensus_snapshot_in_progress(const struct consensus *cs);
/* The log bytes past which this node snapshots while writes come in (IDLE 0), and once none
 * has been applied for a second (IDLE 1); 0 when snapshot-log-bytes is 0. */
unsigned long long consensus_log_bytes_limit(const struct consensus *cs, int idle);
const char *consensus_role_name(int role);
/* This node's raft address as peers see it: raft-advertise, or bind:raft-port. */
void consensus_raft_address(const struct config *cfg, char *out, size_t len);

#endif
