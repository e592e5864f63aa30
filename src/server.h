/* The server: libevent base, the RESP listener, signals, periodic jobs (active expiry),
 * and the list of clients. Wires the keyspace, the state machine and consensus together. */
#ifndef CONCORDKV_SERVER_H
#define CONCORDKV_SERVER_H

#include <stdint.h>
#include "blocking.h"
#include "config.h"
#include "exec.h"
#include "fsm.h"
#include "latency.h"
#include "list.h"
#include "pubsub.h"
#include "sentinel.h"
#include "slowlog.h"

struct event_base;
struct event;
struct client;
struct consensus;
struct kv_store;
struct cluster_state;
struct admin;
struct ssl_ctx_st;
struct readindex;
struct follower_read;
struct slot;
struct proxy;
struct command;
struct request;

struct server_stats {
    long long connections_received;
    long long rejected_connections;
    long long commands_processed;
    long long expired_keys_proposed;
    long long evicted_keys_proposed; /* victims this node proposed as leader (server_evict.c) */
    long long noop_writes; /* writes answered as reads: they changed nothing (cmd_noop.c) */
    long long net_input_bytes;
    long long net_output_bytes;
    long long error_replies;       /* total_error_replies */
    long long errorstats_overflow; /* error replies whose prefix found no room in errorstats */
    long long proxied_commands;    /* forwarded to the leader for plain clients (proxy.c) */
    long long evict_held_writes;   /* denyoom writes held for memory (server_evict_holds) */
};

/* INFO errorstats: error replies by prefix (the word after '-'), as Redis 7.0 counts them,
 * at most SERVER_ERRORSTATS_MAX prefixes (Redis's 128). */
#define SERVER_ERRORSTATS_MAX 128
struct server_errorstat {
    char name[32];
    long long count;
};

/* instantaneous_*: Redis's 16 samples, one per cron (100 ms) */
#define SERVER_METRIC_SAMPLES 16
enum { METRIC_OPS, METRIC_NET_IN, METRIC_NET_OUT, METRIC_COUNT };
struct server_metric {
    long long last_value;
    int64_t last_ms;
    long long samples[SERVER_METRIC_SAMPLES];
    int idx;
};


/* The leader's eviction in flight (server_evict.c): at most one __evicted command. */
struct server_evict {
    int inflight;
    int64_t since_ms;          /* when it was proposed */
    long long entries_mark;    /* fsm.evicted.entries then: it has been applied once this moves */
    int next_db;               /* the database the next eviction looks in first */
};

struct exec_ctx;
struct client;
struct buf;
struct server {
    struct config *cfg;
    struct event_base *base;
    int listen_fd;
    struct event *listen_ev;
    struct event *accept_backoff_ev; /* re-enables listen_ev after running out of fds */
    int accept_backoffs;             /* in the current run of accept failures; 0: none */
    struct event *cron_ev;
    struct event *lazy_free_ev; /* slices of kv_lazy_free_step while values are queued */
    struct event *flush_ev;
    struct event *uv_io_ev, *uv_timer_ev, *uv_kick_ev; /* libuv pumped inside libevent */
    struct event *sig_ev[2];
    struct kv_store *kv;
    struct fsm fsm;
    struct consensus *cs;
    struct pubsub pubsub;   /* this node's subscriptions; apply delivers through it */
    struct cluster_state *cluster; /* membership work (cluster.c) */
    struct admin *admin;           /* the HTTP admin server (admin.c) */
    struct readindex *ri;          /* the leader's ReadIndex connections (readindex.c) */
    struct follower_read *fr;      /* READONLY clients' reads on a follower (follower_read.c) */
    struct proxy *proxy;           /* a follower's connections to the leader (proxy.c) */
    struct list clients;    /* of struct client (node); .n is the number connected */
    struct list write_list; /* of struct client (write_node): replies to write */
    uint64_t next_client_id;
    uint64_t rng;
    uint64_t expire_cursors[FSM_DATABASES_MAX]; /* active expiry's, one per database */
    struct server_evict evict;
    int64_t start_ms;
    struct server_stats stats;
    int shutting_down;
    struct buf acl_seed;  /* the aclfile's users as "__acl seed" carries them (server_acl.c) */
    int64_t acl_seed_ms;  /* when the seed was last proposed; 0: never */
    uint64_t acl_subs_gen; /* the users' generation subscribers were last checked against */
    /* TLS (tls.h): the RESP TLS listener and the context new TLS connections use */
    int tls_listen_fd;
    struct event *tls_listen_ev;
    struct ssl_ctx_st *tls_ctx;
    /* the sentinel-port listener: its clients run only what a Sentinel answers */
    int sentinel_listen_fd;
    struct event *sentinel_listen_ev;
    /* blocked clients (blocked.c): the per-key registry, and every blocking command's record */
    struct blocking_registry blocking;
    struct list blocked;
    /* introspection (docs/SERVER.md): MONITOR clients, SLOWLOG, LATENCY; node-local */
    struct list monitors; /* of struct client (monitor_node) */
    struct slowlog slowlog;
    struct latency_monitor latency;
    /* operator commands (client_ctl.c): CLIENT PAUSE, postponed clients, WAIT, errorstats */
    int pause_type;           /* PAUSE_OFF / _WRITE / _ALL */
    int64_t pause_end_ms;
    struct event *pause_ev;   /* ends the pause at pause_end_ms */
    struct list postponed;    /* of struct client (postpone_node): held by the pause, in order */
    struct list waits;        /* of struct server_wait: WAIT commands waiting for followers */
    struct event *wait_ev;    /* rechecks them while any waits */
    struct server_errorstat errorstats[SERVER_ERRORSTATS_MAX];
    int n_errorstats;
    struct server_metric metrics[METRIC_COUNT];
    size_t used_memory_peak;
    size_t startup_memory;    /* used memory once the server was set up (MEMORY STATS) */
    int64_t last_save_ms;     /* INFO persistence: the last snapshot's end (start: startup) */
    int last_save_err;        /* the last snapshot failed */
    long long seen_snapshots, seen_snapshot_failures; /* the fsm's counts the cron last saw */
    struct sentinel_state sentinel; /* the leader last announced (sentinel.c) */
};

/* Set up everything from CFG (which must outlive the server). Returns 0, or -1 with a
 * message in ERR. */
int server_init(struct server *srv, struct config *cfg, char *err, size_t errlen);
/* Run until a shutdown signal; returns the exit status. */
int server_run(struct server *srv);
void server_close(struct server *srv);

/* Run libuv (raft) once the current batch of events is handled: after any raft_* call. */
void server_kick(struct server *srv);
/* Ask for consensus_flush to run once the current batch of events is handled. */
void server_want_flush(struct server *srv);
/* A non-blocking listening TCP socket on BIND_ADDR:PORT; -1 with errno set on failure
 * (EINVAL: BIND_ADDR is not IPv4). */
int server_listen_tcp(const char *bind_addr, int port);
/* Remember that C has output to write; written before the loop sleeps again. */
void server_want_write(struct server *srv, struct client *c);
/* ACLs (server_acl.c): check the aclfile at startup (0, or -1 with a message in ERR), free
 * what init kept, and have the leader seed a new cluster's users from it (cron). */
int server_acl_init(struct server *srv, char *err, size_t errlen);
void server_acl_close(struct server *srv);
void server_acl_cron(struct server *srv);
/* Once the replicated users have changed since the last call: close every subscribed
 * connection whose user was deleted or may no longer use one of its channels or patterns
 * (Redis 7.0's ACLKillPubsubClientsIfNeeded), so that an ACL change stops delivery at once
 * on every node. */
void server_acl_check_subscribers(struct server *srv);
/* The TLS context new RESP and admin TLS connections use (NULL without TLS); owned by the
 * server, replaced when CONFIG SET changes a tls-* option. */
struct ssl_ctx_st *server_tls_ctx(const struct server *srv);
/* Show REQ, a command this node proposes on its own behalf (the active-expiry cycle's
 * __expired ...), to its monitors as coming from its raft address, the way a Redis replica
 * shows what its master sends. */
void server_feed_monitors_self(struct server *srv, int db, const struct request *req);
/* Operator commands (client_ctl.c). Whether REQ (command CMD, from C) must wait for the end
 * of a CLIENT PAUSE (ALL: every command; WRITE: the commands that may write), or MEMORY set
 * (held for memory, client.c); when it must, C is queued to be resumed (client_resume_input)
 * once the pause ends or memory is released, in order. */
int server_pause_holds(struct server *srv, const struct command *cmd, struct client *c,
                       const struct request *req, int memory);
/* Wake the clients held for memory (MEMORY given to server_pause_holds) once the leader is
 * back under the hold threshold (server_evict_holds) or one of them has waited
 * request-timeout (it answers -OOM): they resume from the loop, in order. Called after
 * applies, after lazy frees and from the cron. */
void server_memory_holds_check(struct server *srv);
/* Count an error reply (MSG: LEN bytes of its text after '-') in INFO errorstats. */
void server_count_error(struct server *srv, const char *msg, size_t len);
/* Install the error counter (init); the cron's share: sample the instantaneous metrics,
 * track used_memory_peak, end a pause that is over; free what is held (close). */
void server_ops_init(struct server *srv);
void server_ops_cron(struct server *srv);
void server_ops_close(struct server *srv);
/* used_memory_peak: raise it to the current used memory. */
void server_track_peak(struct server *srv);
/* The process's resident set size in bytes (info.c). */
size_t info_rss_bytes(void);
/* The mean of the last 16 samples of metric WHICH (METRIC_*), per second. */
long long server_metric_value(const struct server *srv, int which);

/* maxmemory (server_evict.c). counted: the figure compared with maxmemory (INFO
 * mem_counted_for_evict), used memory plus room for the next snapshot of the keyspace.
 * admit, for a denyoom write about to be proposed: 0 to admit it (under the limit, or an
 * eviction is running or was just proposed), -1 when it must be refused with -OOM
 * (noeviction, or nothing can be evicted). cron: the leader proposes evictions while over
 * the limit. configure: the keyspace's access mode (LRU or LFU stamps) from
 * maxmemory-policy, lfu-log-factor and lfu-decay-time. */
size_t server_evict_counted(const struct server *srv);
int server_evict_admit(struct server *srv);
/* Back-pressure on the leader: 1 when a denyoom write must wait (held, not refused): the
 * counted figure is past maxmemory and an eviction is running (one is proposed if none is),
 * or nothing is evictable yet while requests are in flight. 0 otherwise: followers,
 * noeviction, no limit, under the limit, or nothing to evict (admit refuses then). */
int server_evict_holds(struct server *srv);
void server_evict_cron(struct server *srv);
void server_evict_configure(const struct config *cfg);
/* CONFIG SET maxmemory: Redis's warning when the new limit is below the current figure, and
 * the leader's first eviction at once. */
void server_evict_limit_set(struct server *srv);
/* Write the output of every client that has some. */
void server_flush_writes(struct server *srv);
/* Run read REQ (CMD's) for slot S now, against the applied state, and complete S (a
 * confirmed read: consensus's or follower_read's). REQ stays the caller's. */
void server_run_read(struct server *srv, struct slot *s, const struct command *cmd, struct request *req);

/* Fill CTX: the context of a command run against this node's applied state, its local clock
 * read at NOW_MS (a local or confirmed read, a probe's no-op check), for client C, its reply
 * into OUT. A command dispatched as it arrives uses its client's last_ms, the time its input
 * was read (one clock read per input batch); a read answered later reads the clock then. */
void server_local_ctx(struct exec_ctx *ctx, struct server *srv, struct client *c, struct buf *out,
                      int64_t now_ms);
/* EACH (kv_size, kv_expires, kv_used_memory, kv_lazy_pending ...) summed over every
 * database. */
size_t server_dbs_sum(const struct server *srv, size_t (*each)(const struct kv_store *kv));

#endif
