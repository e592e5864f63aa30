/* Server options: one declarative table (name, type, default, bounds, help) read by the
 * config file parser, the command line, CONFIG GET/SET and --help. */
#ifndef CONCORDKV_CONFIG_H
#define CONCORDKV_CONFIG_H

#include <stdio.h>
#include "util.h"

enum { BOOTSTRAP_AUTO, BOOTSTRAP_NO };
enum { READ_LINEARIZABLE, READ_STALE, READ_BARRIER, READ_LEASE };
enum { FOLLOWER_AUTO, FOLLOWER_PROXY, FOLLOWER_MOVED };

/* client-output-buffer-limit, per client class as in Redis (a connection with subscriptions
 * is "pubsub", every other "normal"; "replica" is kept for replicas later). 0 disables a
 * limit. */
enum { OBUF_NORMAL, OBUF_REPLICA, OBUF_PUBSUB, OBUF_CLASSES };
struct obuf_limit {
    long long hard;         /* bytes */
    long long soft;         /* bytes */
    long long soft_seconds; /* how long the soft limit may be exceeded */
};

struct config {
    long long id;
    char *bind;
    long long port;
    long long raft_port;  /* 0 until resolved: port + 10000 */
    long long admin_port; /* -1 until resolved: port + 2000; 0 disables */
    char *dir;            /* NULL until resolved: ./concordkv-data/<id> */
    char *raft_advertise; /* raft address peers use, when not bind:raft-port (a proxy) */
    char *cluster;
    char *join;
    long long bootstrap;
    long long read_consistency;
    long long follower_mode;  /* FOLLOWER_*: what a follower does with writes (proxy.c) */
    long long request_timeout;
    long long election_timeout;
    long long heartbeat_timeout;
    long long snapshot_threshold;
    long long snapshot_trailing;
    long long snapshot_log_bytes;
    long long maxclients;
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    struct obuf_limit obuf_limits[OBUF_CLASSES];
    long long notify_keyspace_events; /* notify.h flags; read at delivery, node-local */
    char *requirepass;
    char *aclfile;       /* users seeding the replicated ACL state (see docs/SERVER.md) */
    long long acl_pubsub_default; /* 1: a new or reset user starts with allchannels */
    char *admin_token;
    long long admin_request_timeout; /* ms from accept to a complete admin request */
    long long admin_max_connections;
    char *cluster_secret;      /* secret: shared key of raft peers; never shown by CONFIG GET */
    char *cluster_secret_file; /* file holding cluster_secret (read at startup) */
    long long raft_max_message;
    long long loglevel;
    char *logfile;
    long long maxmemory;         /* bytes, 0: none; the leader decides eviction (server_evict.c) */
    long long maxmemory_policy;  /* enum evict_policy */
    long long maxmemory_samples;
    long long databases; /* SELECT's range; the same on every node (fsm.h) */
    long long lfu_log_factor;    /* kv_set_access_mode's, node-local like every access stamp */
    long long lfu_decay_time;
    long long hash_max_listpack_entries; /* prepare copies both into hash writes */
    long long hash_max_listpack_value;
    long long set_max_intset_entries;    /* prepare copies it into set writes */
    long long zset_max_listpack_entries; /* prepare copies both into sorted-set writes */
    long long zset_max_listpack_value;
    long long list_max_listpack_size;    /* prepare copies its fill limits into list writes */
    long long list_compress_depth;       /* accepted, not applied */
    long long busy_script_limit;         /* prepare copies it into EVAL/EVALSHA */
    long long slowlog_log_slower_than;   /* µs; -1: SLOWLOG off (slowlog.h) */
    long long slowlog_max_len;
    long long latency_monitor_threshold; /* ms; 0: LATENCY off (latency.h) */
    /* protected mode and local-only commands (protect.h), TLS (tls.h) */
    long long protected_mode;            /* 0 no, 1 yes */
    long long enable_debug_command;      /* PROTECT_NO / _YES / _LOCAL */
    long long enable_membership_command; /* likewise, for CLUSTER ADDNODE/DELNODE/TRANSFER */
    long long tls_port;                  /* 0: no TLS RESP listener */
    char *tls_cert_file, *tls_key_file, *tls_ca_cert_file;
    long long tls_auth_clients;          /* TLS_AUTH_NO / _YES / _OPTIONAL */
    char *tls_protocols, *tls_ciphersuites, *tls_ciphers;
    long long tls_replication;           /* raft peers over mutually authenticated TLS */
    long long admin_tls;                 /* the admin API over HTTPS */
    char *config_file;                   /* the file the server started with (absolute), or NULL */
    char *cluster_name;                  /* the master name SENTINEL answers for */
    long long sentinel_port;             /* 0: no Sentinel-only listener */
};

/* Fill CFG with defaults. config_close frees the strings. */
void config_init(struct config *cfg);
void config_close(struct config *cfg);

/* Parse argv: an optional config file first, then "--name value" pairs (the command line
 * wins), then resolve derived defaults and check combinations. Returns 0, or -1 with one
 * line naming the option in ERR. "--help" / "--version" are handled by the caller. */
int config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen);
/* Read "name value" lines from PATH. Returns 0 or -1 with ERR (file:line: ...). */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);
/* Set one option from its text form. RUNTIME refuses options that cannot change while the
 * server runs. Returns 0, or -1 with a Redis-style reason in ERR. */
int config_set(struct config *cfg, const char *name, const char *value, int runtime, char *err,
               size_t errlen);
/* Append the "name value" pairs of options matching the glob PATTERN as RESP bulk strings
 * to OUT; returns the number of pairs (the caller writes the array header first, so this
 * renders into a scratch buffer). Secret options are left out: admin-token always,
 * requirepass unless AUTHED (the client passed AUTH with the password). */
int config_get(const struct config *cfg, const char *pattern, int authed, struct buf *out);
/* The text form of option NAME's value into OUT (secrets included: for the server's own use,
 * e.g. to restore a value). 0, or -1 for an unknown option. */
int config_text(const struct config *cfg, const char *name, char *out, size_t len);
/* The read-consistency option's name for VALUE (READ_*). */
const char *config_read_consistency_name(long long value);
/* The name of the I-th option of the table, NULL past its end (the test that the sample
 * concordkv.conf documents every option walks it). */
const char *config_option_name(size_t i);
/* Whether option NAME holds a secret (requirepass, admin-token ...): CONFIG SET's value is
 * redacted in MONITOR and SLOWLOG. */
int config_is_secret(const char *name);
/* CONFIG REWRITE, as Redis's rewriteConfig: the text of config file OLD (LEN bytes) with
 * CFG's values, appended to OUT. Comments, blank and unknown lines stay as they are; the
 * lines of an option whose value in CFG differs from what the file sets are replaced by one
 * line (at the first one) with CFG's value; options the file does not name are appended,
 * after a "# Generated by CONFIG REWRITE" line, unless they hold their default (or derived)
 * value. Returns the number of options appended. Pure. */
int config_rewrite_text(const struct config *cfg, const char *old, size_t len, struct buf *out);
/* Rewrite cfg->config_file so (config_rewrite_text), atomically: a temporary file in the
 * same directory, fsync'd, renamed over it. 0, or -1 with Redis's "Rewriting config file:
 * <reason>" in ERR. */
int config_rewrite(const struct config *cfg, char *err, size_t errlen);
/* Print the option table for --help. */
void config_print_help(FILE *fp);

#endif
