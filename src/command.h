/* The command table and dispatch helpers. The table is data: one row per command with its
 * handler, arity, flags and key positions; dispatch, COMMAND, INFO and ACL-like checks all
 * read it. Handlers reply through reply_*() and never touch sockets. */
#ifndef CONCORDKV_COMMAND_H
#define CONCORDKV_COMMAND_H

#include <stddef.h>
#include <stdint.h>
#include "prng.h"
#include "resp.h"

struct kv_store;
struct acl_store;
struct pubsub;
struct client;
struct server;
struct script_engine;
struct evict_stats;

enum cmd_flags {
    CMD_WRITE = 1 << 0,    /* changes the keyspace: validated, proposed, executed by apply */
    CMD_READONLY = 1 << 1, /* reads the keyspace: answered after a read barrier */
    CMD_DENYOOM = 1 << 2,
    CMD_ADMIN = 1 << 3,
    CMD_FAST = 1 << 4,
    CMD_NOAUTH = 1 << 5,   /* allowed before AUTH */
    CMD_LOCAL = 1 << 6,    /* answered at once from local state (PING, INFO, CLIENT ...) */
    CMD_TX = 1 << 7,       /* MULTI/EXEC/DISCARD/WATCH/UNWATCH: never queued by MULTI */
    CMD_INTERNAL = 1 << 8, /* only produced by the server itself (active expiry ...) */
    CMD_NOMULTI = 1 << 10, /* refused inside MULTI at queue time (blocking, admin ...) */
    CMD_ORDERED = 1 << 11, /* reads local state: waits for the client's earlier writes */
    /* Keys from numkeys (movablekeys): the argument after the row's fixed keys (argv[1]
     * when the row has none) counts the keys that follow it. The row's first/last/step
     * describe only the fixed keys, as Redis's COMMAND reports them: 0,0,0 for SINTERCARD,
     * ZUNION, ZMPOP; 1,1,1 for ZUNIONSTORE's destination. command_get_keys finds them all. */
    CMD_KEYNUM = 1 << 12,
    /* BLPOP, BZPOPMIN ...: on the leader, a client whose pop found nothing waits for its
     * keys (blocked.c); as applied (and inside MULTI) the command never blocks. */
    CMD_BLOCKING = 1 << 13,
    /* With CMD_KEYNUM: the numkeys argument is argv[2], after an argument that is not a key
     * (BLMPOP's and BZMPOP's timeout, EVAL's script, EVALSHA's sha). */
    CMD_KEYNUM_AT2 = 1 << 14,
};

/* What a handler sees. For a write this is filled by fsm apply on every node: NOW_MS is the
 * entry's clock and APPLY_SEQ the entry's apply sequence number, CLIENT is NULL. For a read
 * or a local command it is filled on the node that holds the client: NOW_MS is the local
 * clock, APPLY_SEQ the last applied entry's. An apply_seq counts the entries the state
 * machine applied (struct fsm's apply_seq), never raft's log index; kv records it as each
 * key's mod_seq and WATCH compares it. */
struct exec_ctx {
    struct kv_store *kv;
    int64_t now_ms;
    uint64_t apply_seq;
    struct buf *out;       /* the reply goes here: exactly one RESP value per command */
    struct client *client; /* NULL during apply */
    struct server *srv;    /* NULL in unit tests of pure keyspace commands */
    uint64_t *rng;         /* the node's random state, for reads (RANDOMKEY ...) */
    uint32_t cmd_pos;      /* apply: the command's position in its entry (0-based) */
    int prng_seeded;       /* PRNG below is seeded (command_prng) */
    struct prng prng;
    struct acl_store *acl; /* the replicated ACL users: set during apply (NULL otherwise) */
    /* This node's Pub/Sub registry (pubsub.h): PUBLISH and keyspace notifications deliver to
     * it in apply, a node-local side effect; NULL in unit tests of keyspace commands. */
    struct pubsub *pubsub;
    struct script_engine *scripts; /* the node's Lua interpreter and script cache (its fsm's) */
    /* MONITOR's "[0 lua]" lines of the commands a script calls are appended here (monitor.h,
     * unstamped); NULL: this node has no monitor. Side output only, like PUBSUB. */
    struct buf *monitor_trace;
    struct evict_stats *evicted;   /* apply: its fsm's eviction counters (NULL: none) */
    /* Every database (the databases option; KV is one of them): SELECT inside MULTI or a
     * script, MOVE, SWAPDB, COPY ... DB, FLUSHALL. NULL (unit tests): KV is database 0,
     * the only one. */
    struct kv_store *const *dbs;
    int ndbs;
};

/* Database I of CTX, or NULL when out of range (command.c). */
struct kv_store *command_db(const struct exec_ctx *ctx, long long i);
/* The number of databases CTX has (1 without dbs). */
int command_ndbs(const struct exec_ctx *ctx);

/* The random generator a handler draws from (SPOP, SRANDMEMBER, HRANDFIELD, skiplist
 * levels ...). In apply (CTX->client NULL) it is seeded by the entry itself, from
 * (apply_seq, cmd_pos), so every node draws the same; the commands of a transaction share
 * their record's stream, one after the other. For a read served by a node it is seeded from
 * that node's random state (CTX->rng). Seeded on first use for each command. */
struct prng *command_prng(struct exec_ctx *ctx);

typedef void cmd_proc(struct exec_ctx *ctx, struct request *req);
/* Runs on the proposing node before a write is proposed: validate REQ completely and rewrite
 * it into a deterministic form (relative TTLs become absolute PXAT/PEXPIREAT times computed
 * from NOW_MS). Returns 0, or -1 after appending exactly one error reply to OUT. */
typedef int cmd_prepare_proc(struct request *req, int64_t now_ms, struct buf *out);

/* A write that changes nothing in the current state (SADD of members already there, a pop
 * or a removal on a key that does not exist) may be answered through the read path, with no
 * log entry, as Redis skips its AOF and fsync for it. A row's noop says whether REQ is such
 * a write against CTX's keyspace at CTX's clock: exactly (1 only when the write certainly
 * changes nothing, 0 when unsure or when the arguments are anything but well-formed: the
 * write path answers those), read-only, and with REQ's reply appended to ctx->out when it
 * says 1. CMD is the row itself. Rows get it in command_init (cmd_noop.c); dispatch and
 * server.c use it. */
struct command;
typedef int cmd_noop_proc(struct exec_ctx *ctx, const struct command *cmd, struct request *req);

struct command {
    const char *name;          /* lower case */
    cmd_proc *proc;
    cmd_prepare_proc *prepare; /* writes only; NULL when nothing needs checking or rewriting */
    int arity;                 /* > 0 exact, < 0 at least -arity; includes the name */
    unsigned flags;
    int first_key, last_key, key_step; /* last_key -1: the last argument; 0,0,0: no keys */
    const char *group;         /* COMMAND DOCS group: "string", "generic", "server" ... */
    const char *summary;
    cmd_noop_proc *noop; /* set by command_init; NULL: always a write */
    size_t name_len;     /* strlen(name), set by command_init */
    /* statistics, updated by dispatch (calls, failed_calls), command_exec and fsm (usec) */
    long long calls;
    long long failed_calls;
    long long usec;        /* time in the handler: see command_exec and fsm_take_result */
};

/* The noop of the write named NAME (cmd_noop.c), or NULL. */
cmd_noop_proc *command_noop_for(const char *name);
/* Build the name lookup table. Call once at startup (idempotent). */
void command_init(void);
/* The command named NAME (case-insensitive), or NULL. */
struct command *command_lookup(const char *name, size_t len);
/* The table: *N receives the number of rows. */
struct command *command_table(size_t *n);
/* Check REQ's arity against CMD. Returns 0, or -1 after replying with Redis's text. */
int command_check_arity(const struct command *cmd, const struct request *req, struct buf *out);
/* The key arguments of one request (Redis's getKeysFromCommand), each with the access it
 * needs: WRITE for a write command's keys, except that the keys a numkeys argument counts
 * are only read when the row also has fixed keys (ZUNIONSTORE's sources, not ZMPOP's). */
struct command_key {
    int pos;   /* index into req->argv */
    int write; /* 1: written, 0: only read */
};
#define COMMAND_KEYS_INLINE 8
struct command_keys {
    int n;
    struct command_key *v; /* INLINE or a heap array */
    struct command_key inline_v[COMMAND_KEYS_INLINE];
};
/* Fill KS with REQ's keys for CMD, in argument order; a numkeys argument that is not a
 * positive integer contributes no keys (the command refuses it), one that counts past
 * the end only the keys present. Returns KS->n. Release with command_keys_close. */
int command_get_keys(const struct command *cmd, const struct request *req,
                     struct command_keys *ks);
void command_keys_close(struct command_keys *ks);
/* Index of the first key argument of REQ for CMD, or -1 when it has none. */
int command_first_key(const struct command *cmd, const struct request *req);
/* Parse REQ's argument I as a strict integer (util_parse_ll). Returns 0, or -1 after
 * replying Redis's "-ERR value is not an integer or out of range" to OUT. */
int command_arg_ll(const struct request *req, int i, long long *v, struct buf *out);
/* The arguments of a SCAN-family command: the cursor at REQ->argv[FIRST], then COUNT n and
 * MATCH pattern pairs, and TYPE name when WITH_TYPE. */
struct scan_args {
    unsigned long long cursor;
    const char *pat; /* NULL: no MATCH, or MATCH * */
    size_t plen;
    long long count; /* 10 unless given */
    int type_arg;    /* index of TYPE's name in REQ, or -1 */
};
/* Parse them into A. Returns 0, or -1 after replying Redis's error to OUT ("ERR invalid
 * cursor", a syntax error, or a non-integer COUNT). */
int command_parse_scan(const struct request *req, int first, int with_type, struct scan_args *a,
                       struct buf *out);
/* HRANDFIELD/ZRANDMEMBER key [count [WITH]]: *COUNT (0 when absent) and *WITH (1 when the
 * word WITH follows the count), with Redis's range checks (a count with WITH must fit twice
 * in a long). Returns 0, or -1 after the error reply to OUT. */
int command_parse_randcount(const struct request *req, const char *with_word, long long *count,
                            int *with, struct buf *out);
/* The last branches of a container command's subcommand dispatch, REQ->argv[1] being the
 * subcommand and CMD the command's name in upper case: HELP answers HELP's lines (an array
 * of simple strings; HELP NULL: the command has none); a subcommand named in KNOWN (NULL-
 * terminated, lower case) that reached here had the wrong arguments; anything else is an
 * unknown subcommand. Redis's texts. */
void command_reply_subcommand_rest(struct buf *out, const struct request *req, const char *cmd,
                                   const char *const *help, const char *const *known);
/* Conversion thresholds carried by a proposed write (docs/DATATYPES.md): the prepare step
 * appends the node's configured values as one last argument "A:B"; apply takes them off, so
 * every node converts an encoding at the same change. command_take_limits parses REQ's
 * last argument: 0 with *A, *B set (both >= 0), or -1 when it is not such an argument. */
void command_push_limits(struct request *req, long long a, long long b);
int command_take_limits(const struct request *req, long long *a, long long *b);
/* Execute REQ with CMD's handler in CTX (no arity or flag checks). Returns the handler's
 * run time in microseconds (monotonic clock), which is added to CMD's usec statistic when
 * CTX has a client; during apply (no client) the caller decides where it belongs. */
int64_t command_exec(const struct command *cmd, struct exec_ctx *ctx, struct request *req);
/* Whether REQ may be queued by MULTI: not when CMD carries CMD_NOMULTI, nor for a CLUSTER
 * subcommand that is not a pure read of cluster state (membership changes answer later,
 * through reply slots of their own, which a transaction cannot hold). */
int command_allowed_in_multi(const struct command *cmd, const struct request *req);

/* Handler families. Strings (cmd_string.c): */
cmd_proc cmd_get, cmd_set, cmd_setnx, cmd_getset, cmd_getdel, cmd_getex, cmd_mget,
    cmd_mset, cmd_msetnx, cmd_append, cmd_strlen, cmd_incr, cmd_decr, cmd_incrby,
    cmd_decrby, cmd_incrbyfloat, cmd_getrange, cmd_setrange;
cmd_prepare_proc prep_set, prep_setex, prep_psetex, prep_getex, prep_mset, prep_incrby,
    prep_incrbyfloat, prep_setrange;
/* Keys (cmd_keys.c): */
cmd_proc cmd_del, cmd_exists, cmd_type, cmd_keys, cmd_scan, cmd_rename, cmd_renamenx,
    cmd_randomkey, cmd_copy, cmd_pexpireat, cmd_ttl, cmd_pttl, cmd_persist,
    cmd_expiretime, cmd_pexpiretime, cmd_dbsize, cmd_flushall, cmd_expired, cmd_evicted,
    cmd_flushdb, cmd_move, cmd_swapdb;
/* SELECT's argument in REQ (cmd_server.c): the index, with *KV its database, or -1 after
 * Redis's error (not an integer, out of range, or a cluster-aware client's non-zero). */
int command_select_db(struct exec_ctx *ctx, const struct request *req, struct kv_store **kv);
/* A database index at argument I (cmd_keys.c): 0 with *DB, or -1 after Redis's error (NAME:
 * the option's name for the out-of-int-range text; NULL for "not an integer"). */
int command_arg_db(const struct request *req, int i, const char *name, long long *db,
                   struct buf *out);
cmd_prepare_proc prep_expire, prep_pexpire, prep_expireat, prep_pexpireat, prep_copy,
    prep_flushall;
/* Hashes (cmd_hash.c): */
cmd_proc cmd_hset, cmd_hmset, cmd_hsetnx, cmd_hget, cmd_hmget, cmd_hgetall, cmd_hkeys,
    cmd_hvals, cmd_hlen, cmd_hstrlen, cmd_hexists, cmd_hdel, cmd_hincrby, cmd_hincrbyfloat,
    cmd_hrandfield, cmd_hscan;
cmd_prepare_proc prep_hset, prep_hsetnx, prep_hincrby, prep_hincrbyfloat;
/* Sets (cmd_set.c): */
cmd_proc cmd_sadd, cmd_srem, cmd_smove, cmd_spop, cmd_scard, cmd_sismember, cmd_smismember,
    cmd_smembers, cmd_srandmember, cmd_sinter, cmd_sinterstore, cmd_sintercard, cmd_sunion,
    cmd_sunionstore, cmd_sdiff, cmd_sdiffstore, cmd_sscan;
cmd_prepare_proc prep_set_add, prep_smove;
/* Lists (cmd_list.c): */
cmd_proc cmd_lpush, cmd_rpush, cmd_lpushx, cmd_rpushx, cmd_lpop, cmd_rpop, cmd_lmpop,
    cmd_lmove, cmd_rpoplpush, cmd_llen, cmd_lrange, cmd_lindex, cmd_lpos, cmd_lset,
    cmd_linsert, cmd_lrem, cmd_ltrim;
cmd_prepare_proc prep_list_push, prep_linsert, prep_lmove, prep_rpoplpush;
/* The blocking list pops (cmd_list.c): as applied, never blocking (blocked.c blocks). */
cmd_proc cmd_blpop, cmd_brpop, cmd_blmove, cmd_brpoplpush, cmd_blmpop;
cmd_prepare_proc prep_blpop, prep_blmove, prep_brpoplpush, prep_blmpop;
/* SORT, SORT_RO (cmd_sort.c): */
cmd_proc cmd_sort, cmd_sort_ro;
/* Sorted sets (cmd_zset.c): */
cmd_proc cmd_zadd, cmd_zincrby, cmd_zrem, cmd_zcard, cmd_zscore, cmd_zmscore, cmd_zrank,
    cmd_zrevrank, cmd_zcount, cmd_zlexcount, cmd_zrange, cmd_zrevrange, cmd_zrangebyscore,
    cmd_zrevrangebyscore, cmd_zrangebylex, cmd_zrevrangebylex, cmd_zrangestore,
    cmd_zremrangebyrank, cmd_zremrangebyscore, cmd_zremrangebylex, cmd_zpopmin, cmd_zpopmax,
    cmd_zmpop, cmd_zunion, cmd_zunionstore, cmd_zinter, cmd_zinterstore, cmd_zintercard,
    cmd_zdiff, cmd_zdiffstore, cmd_zrandmember, cmd_zscan, cmd_bzpopmin, cmd_bzpopmax,
    cmd_bzmpop;
cmd_prepare_proc prep_zadd, prep_zincrby, prep_zrangestore, prep_zstore, prep_bzpop,
    prep_bzmpop;
/* OBJECT (cmd_keys.c). */
cmd_proc cmd_object;
/* MEMORY (cmd_memory.c). */
cmd_proc cmd_memory;
/* TOUCH, ROLE, WAIT (cmd_ops.c). */
cmd_proc cmd_touch, cmd_role, cmd_wait;
/* A millisecond timeout argument (WAIT, CLIENT PAUSE): REQ's argument I, a non-negative
 * integer. Returns 0, or -1 after Redis's error ("timeout is not an integer or out of
 * range", "timeout is negative") to OUT (cmd_ops.c). */
int command_arg_timeout(const struct request *req, int i, long long *ms, struct buf *out);
/* "-WRONGTYPE Operation against a key holding the wrong kind of value". */
void reply_wrongtype(struct buf *out);
/* The live value of type TYPE under argument I of REQ in *OBJ (NULL when absent); WRITE looks
 * it up as a write (an expired key is deleted first). Returns 0, or -1 after WRONGTYPE. */
int command_obj_at(struct exec_ctx *ctx, const struct request *req, int i, int write, int type,
                   void **obj);
/* The Redis version we answer as (HELLO, INFO). */
#define REDIS_COMPAT_VERSION "7.0.0"
/* Server and connection (cmd_server.c), transactions (cmd_tx.c): */
cmd_proc cmd_ping, cmd_echo, cmd_quit, cmd_hello, cmd_auth, cmd_select, cmd_client,
    cmd_command, cmd_info, cmd_time, cmd_config, cmd_debug, cmd_lastsave, cmd_multi,
    cmd_exec, cmd_discard, cmd_watch, cmd_unwatch, cmd_txn;
/* Pub/Sub (cmd_pubsub.c): the subscribe family and PUBSUB run locally on the node holding
 * the connection; PUBLISH and SPUBLISH are writes, delivered by every node in apply. RESET
 * leaves subscribed mode (and MULTI, WATCH, the name, the user: back to "default"). */
cmd_proc cmd_subscribe, cmd_unsubscribe, cmd_psubscribe, cmd_punsubscribe, cmd_ssubscribe,
    cmd_sunsubscribe, cmd_publish, cmd_spublish, cmd_pubsub, cmd_reset;
/* 1 when CMD may run on a connection in subscribed mode (RESP2), as Redis allows. */
int cmd_pubsub_allowed_subscribed(const struct command *cmd);
/* ACL (cmd_acl.c): ACL itself, and __acl, the replicated form of its writes (apply). */
cmd_proc cmd_acl, cmd_acl_apply;
/* Scripts (cmd_script.c): EVAL/EVALSHA (writes, run in apply), EVAL_RO/EVALSHA_RO (reads),
 * SCRIPT, and __script, the replicated form of SCRIPT LOAD/FLUSH. */
cmd_proc cmd_eval, cmd_eval_ro, cmd_script, cmd_script_apply;
cmd_prepare_proc prep_eval;
/* After CMD's prepare step: when CMD is EVAL or EVALSHA and USER is not NULL (a client's ACL
 * user, not a peer's), REQ carries USER so that apply checks the script's commands against
 * that user's permissions on every node. */
void script_note_caller(const struct command *cmd, struct request *req, const char *user);
/* busy-script-limit: the Lua instruction budget prepare carries in each EVAL/EVALSHA. */
extern long long script_busy_limit_configured;
/* Introspection (cmd_introspect.c): MONITOR, SLOWLOG, LATENCY, node-local. */
cmd_proc cmd_monitor, cmd_slowlog, cmd_latency;
/* 1 when the node proposing an EVAL/EVALSHA is over maxmemory with nothing to evict (set by
 * dispatch before prepare): carried in the entry, the script may then call no denyoom command
 * before it has called a write, as Redis 7.0's scriptVerifyOOM. */
extern int script_oom_configured;
/* Sentinel discovery (cmd_sentinel.c): */
cmd_proc cmd_sentinel;
/* Whether CMD is one a Sentinel answers (a sentinel-port client may run only those). */
int cmd_sentinel_allowed(const struct command *cmd);
/* Cluster (cmd_cluster.c): */
cmd_proc cmd_cluster;
/* 1 when the CLUSTER request REQ only reads cluster state (INFO, NODES, SLOTS ...). */
int cmd_cluster_is_read(const struct request *req);
/* 1 when REQ (CMD's) is CLUSTER FOLLOWERINDEX: a consistent read of the leader's index. */
int cmd_cluster_is_followerindex(const struct command *cmd, const struct request *req);
/* INFO sections rendered by cmd_cluster.c. */
void info_replication(struct buf *b, struct server *srv);
void info_raft(struct buf *b, struct server *srv);
/* What cluster clients probe (cmd_cluster_client.c): READONLY, READWRITE, ASKING; CLUSTER
 * SHARDS, COUNTKEYSINSLOT, GETKEYSINSLOT (1 when REQ was one of them, answered); INFO cluster. */
cmd_proc cmd_readonly, cmd_readwrite, cmd_asking;
int cluster_client_subcommand(struct exec_ctx *ctx, struct request *req);
void info_cluster(struct buf *b, struct server *srv);

#endif
