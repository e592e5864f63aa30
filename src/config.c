/* Server options: the table, file and command-line parsing, CONFIG GET/SET/REWRITE. No I/O
 * besides reading the config file and CONFIG REWRITE's replacing it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evict.h"
#include "log.h"
#include "notify.h"
#include "resp.h"

enum opt_type { OPT_INT, OPT_MEMORY, OPT_STRING, OPT_ENUM, OPT_OBUF, OPT_NOTIFY };

struct option_def {
    const char *name;
    enum opt_type type;
    size_t offset;
    const char *def;       /* default, in text form; NULL for none */
    long long min, max;    /* bounds for OPT_INT / OPT_MEMORY */
    const char *const *enum_names;
    unsigned flags;        /* OPT_RUNTIME, OPT_SECRET, OPT_SECRET_AUTH */
    const char *help;
};

/* Option flags. OPT_RUNTIME is 1 so that a row's flags read as "may change at runtime". */
enum {
    OPT_RUNTIME = 1 << 0,     /* may change with CONFIG SET */
    OPT_SECRET = 1 << 1,      /* never shown: not by CONFIG GET, INFO or the log */
    OPT_SECRET_AUTH = 1 << 2, /* shown by CONFIG GET only to a client that passed AUTH */
    OPT_LIST = 1 << 3,        /* a comma-separated list: no empty or blank elements */
};

static const char *const bootstrap_names[] = {"auto", "no", NULL};
static const char *const consistency_names[] = {"linearizable", "stale", "barrier", "lease", NULL};
static const char *const follower_mode_names[] = {"auto", "proxy", "moved", NULL};
static const char *const loglevel_names[] = {"debug", "verbose", "notice", "warning", NULL};
static const char *const yesno_names[] = {"no", "yes", NULL};
static const char *const protected_names[] = {"no", "yes", "local", NULL}; /* Redis's order */
static const char *const pubsub_default_names[] = {"resetchannels", "allchannels", NULL};
static const char *const tls_auth_names[] = {"no", "yes", "optional", NULL};

#define OFF(f) offsetof(struct config, f)
#define BIG (1LL << 62)

static const struct option_def options[] = {
    {"id", OPT_INT, OFF(id), "1", 1, BIG, NULL, 0, "this node's raft id, a positive integer, never reused"},
    {"bind", OPT_STRING, OFF(bind), "127.0.0.1", 0, 0, NULL, 0, "IPv4 address of the RESP and admin listeners"},
    {"port", OPT_INT, OFF(port), "6379", 1, 65535, NULL, 0, "RESP port"},
    {"raft-port", OPT_INT, OFF(raft_port), NULL, 1, 65535, NULL, 0, "raft transport port (default port + 10000)"},
    {"admin-port", OPT_INT, OFF(admin_port), NULL, 0, 65535, NULL, 0, "HTTP admin port (default port + 2000; 0 disables)"},
    {"raft-advertise", OPT_STRING, OFF(raft_advertise), NULL, 0, 0, NULL, 0, "raft address other nodes reach this one at, if not bind:raft-port (e.g. behind a proxy)"},
    {"dir", OPT_STRING, OFF(dir), NULL, 0, 0, NULL, 0, "data directory (default ./concordkv-data/<id>)"},
    {"cluster", OPT_STRING, OFF(cluster), NULL, 0, 0, NULL, OPT_LIST, "initial voters id@ip:raft-port,... (used only with an empty dir)"},
    {"join", OPT_STRING, OFF(join), NULL, 0, 0, NULL, 0, "ip:port of a member's RESP port to ask to add this node"},
    {"bootstrap", OPT_ENUM, OFF(bootstrap), "auto", 0, 0, bootstrap_names, 0, "auto: one-node cluster on an empty dir; no: wait to be added"},
    {"read-consistency", OPT_ENUM, OFF(read_consistency), "linearizable", 0, 0, consistency_names, 1, "linearizable (ReadIndex), stale (local), barrier (a log entry per read batch) or lease (ReadIndex lease; weaker under clock drift)"},
    {"follower-mode", OPT_ENUM, OFF(follower_mode), "auto", 0, 0, follower_mode_names, OPT_RUNTIME, "what a follower does with a write or consistent read: auto forwards it to the leader for clients that have not said they understand clusters (CLUSTER SLOTS/SHARDS/NODES, READONLY) and answers -MOVED to the others, proxy forwards it for every client, moved answers -MOVED to every client"},
    {"request-timeout", OPT_INT, OFF(request_timeout), "5000", 1, 3600000, NULL, 1, "ms before a pending request answers -TIMEOUT"},
    {"election-timeout", OPT_INT, OFF(election_timeout), "1000", 10, 600000, NULL, 0, "raft election timeout, ms"},
    {"heartbeat-timeout", OPT_INT, OFF(heartbeat_timeout), "100", 1, 600000, NULL, 0, "raft heartbeat timeout, ms"},
    {"snapshot-threshold", OPT_INT, OFF(snapshot_threshold), "8192", 16, BIG, NULL, 0, "log entries between snapshots"},
    {"snapshot-trailing", OPT_INT, OFF(snapshot_trailing), "2048", 0, BIG, NULL, 0, "log entries kept after a snapshot"},
    {"snapshot-log-bytes", OPT_MEMORY, OFF(snapshot_log_bytes), "8mb", 0, BIG, NULL, 0, "also snapshot once the entries applied since the last one hold this many bytes, or half the last snapshot's size if larger; once no write has been applied for a second, a quarter of this or an eighth of the last snapshot (raft keeps the entries in memory until a snapshot); 0: by entries only"},
    {"maxclients", OPT_INT, OFF(maxclients), "10000", 1, 1000000, NULL, 1, "maximum number of connected clients"},
    {"proto-max-bulk-len", OPT_MEMORY, OFF(proto_max_bulk_len), "512mb", 1024 * 1024, BIG, NULL, 1, "largest bulk string accepted"},
    {"client-query-buffer-limit", OPT_MEMORY, OFF(client_query_buffer_limit), "1gb", 1024 * 1024, BIG, NULL, 1, "largest unparsed input of one client"},
    {"client-output-buffer-limit", OPT_OBUF, OFF(obuf_limits), "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60", 0, 0, NULL, 1, "<class> <hard> <soft> <soft-seconds> ...: close a client whose pending output passes the hard limit, or the soft one for longer (0: none)"},
    {"notify-keyspace-events", OPT_NOTIFY, OFF(notify_keyspace_events), "", 0, 0, NULL, OPT_RUNTIME, "keyspace notifications this node delivers to its subscribers: Redis's letters K E g $ l s h z x e t m d n A (\"\": none)"},
    {"requirepass", OPT_STRING, OFF(requirepass), NULL, 0, 0, NULL, OPT_RUNTIME | OPT_SECRET_AUTH, "password clients must AUTH with"},
    {"aclfile", OPT_STRING, OFF(aclfile), NULL, 0, 0, NULL, 0, "ACL users file (Redis's format): seeds the replicated users of a new cluster; ACL LOAD re-reads it"},
    {"acl-pubsub-default", OPT_ENUM, OFF(acl_pubsub_default), "resetchannels", 0, 0, pubsub_default_names, OPT_RUNTIME, "the channels a user created by ACL SETUSER (or reset) starts with: resetchannels (none) or allchannels; the leader's value as a user is set is carried in its log entry"},
    {"admin-token", OPT_STRING, OFF(admin_token), NULL, 0, 0, NULL, OPT_SECRET, "bearer token required by the HTTP admin API"},
    {"admin-request-timeout", OPT_INT, OFF(admin_request_timeout), "10000", 10, 3600000, NULL, 1, "ms from accept for an admin connection to send its whole request"},
    {"admin-max-connections", OPT_INT, OFF(admin_max_connections), "64", 1, 100000, NULL, 1, "concurrent admin API connections; more are closed at once"},
    {"cluster-secret", OPT_STRING, OFF(cluster_secret), NULL, 0, 0, NULL, OPT_SECRET, "shared secret raft peers authenticate with (HMAC-SHA256); required with peers"},
    {"cluster-secret-file", OPT_STRING, OFF(cluster_secret_file), NULL, 0, 0, NULL, 0, "file whose content (trailing newline stripped) is the cluster secret"},
    {"cluster-name", OPT_STRING, OFF(cluster_name), "mymaster", 0, 0, NULL, 0, "the master name SENTINEL commands answer for (get-master-addr-by-name <cluster-name> gives the leader's RESP address) and +switch-master names; mymaster, the default of Sentinel clients and tutorials"},
    {"raft-max-message", OPT_MEMORY, OFF(raft_max_message), "512mb", 1024 * 1024, BIG, NULL, 0, "largest raft message accepted from a peer (entries, snapshots)"},
    {"loglevel", OPT_ENUM, OFF(loglevel), "notice", 0, 0, loglevel_names, 1, "debug, verbose, notice or warning"},
    {"hash-max-listpack-entries", OPT_INT, OFF(hash_max_listpack_entries), "128", 0, BIG, NULL, OPT_RUNTIME, "a hash converts from listpack to hashtable past this many fields (read when a write is proposed, carried in the log)"},
    {"hash-max-listpack-value", OPT_INT, OFF(hash_max_listpack_value), "64", 0, BIG, NULL, OPT_RUNTIME, "... or when a field or value is longer than this many bytes"},
    {"set-max-intset-entries", OPT_INT, OFF(set_max_intset_entries), "512", 0, BIG, NULL, OPT_RUNTIME, "a set of integers converts from intset to hashtable past this many members (read when a write is proposed, carried in the log)"},
    {"zset-max-listpack-entries", OPT_INT, OFF(zset_max_listpack_entries), "128", 0, BIG, NULL, OPT_RUNTIME, "a sorted set converts from listpack to skiplist past this many members (read when a write is proposed, carried in the log)"},
    {"zset-max-listpack-value", OPT_INT, OFF(zset_max_listpack_value), "64", 0, BIG, NULL, OPT_RUNTIME, "... or when a member is longer than this many bytes"},
    {"list-max-listpack-size", OPT_INT, OFF(list_max_listpack_size), "-2", INT_MIN, INT_MAX, NULL, OPT_RUNTIME, "a list node's limit: -1..-5 its bytes (4kb..64kb), a positive number its elements (read when a write is proposed, carried in the log)"},
    {"list-compress-depth", OPT_INT, OFF(list_compress_depth), "0", 0, INT_MAX, NULL, OPT_RUNTIME, "accepted for compatibility; list nodes are never compressed"},
    {"busy-script-limit", OPT_INT, OFF(busy_script_limit), "50000000", 0, BIG, NULL, OPT_RUNTIME, "Lua instructions a script may run before it is aborted and its writes rolled back, 0 for no limit (read when EVAL is proposed, carried in the log)"},
    {"slowlog-log-slower-than", OPT_INT, OFF(slowlog_log_slower_than), "10000", -1, BIG, NULL, OPT_RUNTIME, "SLOWLOG logs the commands whose execution took at least this many microseconds (a write: its handler's time in apply, logged on the node holding the client); 0 logs every command, -1 none"},
    {"slowlog-max-len", OPT_INT, OFF(slowlog_max_len), "128", 0, BIG, NULL, OPT_RUNTIME, "entries SLOWLOG keeps (the oldest are dropped)"},
    {"latency-monitor-threshold", OPT_INT, OFF(latency_monitor_threshold), "0", 0, BIG, NULL, OPT_RUNTIME, "LATENCY records the events (command, fsync-raft-log, snapshot, apply) that took at least this many milliseconds; 0: off"},
    {"maxmemory", OPT_MEMORY, OFF(maxmemory), "0", 0, BIG, NULL, OPT_RUNTIME, "memory limit in bytes (50mb, 1gb ...; 0: none): past it, writes flagged denyoom get -OOM, or the leader first evicts keys per maxmemory-policy; counts used_memory plus room for a snapshot of the keyspace (INFO mem_counted_for_evict), and caps snapshot-log-bytes at an eighth of it"},
    {"maxmemory-policy", OPT_ENUM, OFF(maxmemory_policy), "noeviction", 0, 0, evict_policy_names, OPT_RUNTIME, "what the leader evicts past maxmemory: noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl (volatile: keys with a TTL only)"},
    {"maxmemory-samples", OPT_INT, OFF(maxmemory_samples), "5", 1, 64, NULL, OPT_RUNTIME, "keys sampled per eviction pick (approximated LRU/LFU/TTL)"},
    {"databases", OPT_INT, OFF(databases), "16", 1, 1024, NULL, 0, "number of databases (SELECT 0 to N-1); startup only, and the same on every node: a record or snapshot of a database a node lacks is refused"},
    {"lfu-log-factor", OPT_INT, OFF(lfu_log_factor), "10", 0, INT_MAX, NULL, OPT_RUNTIME, "LFU counter growth: higher needs more accesses to reach the same count"},
    {"lfu-decay-time", OPT_INT, OFF(lfu_decay_time), "1", 0, INT_MAX, NULL, OPT_RUNTIME, "minutes of idleness that decrement the LFU counter by one (0: never)"},
    {"logfile", OPT_STRING, OFF(logfile), NULL, 0, 0, NULL, 0, "log file (default stderr)"},
    {"protected-mode", OPT_ENUM, OFF(protected_mode), "yes", 0, 0, yesno_names, OPT_RUNTIME, "with no password, refuse clients (RESP: -DENIED; admin API: 403 without admin-token) that do not connect over loopback"},
    {"enable-debug-command", OPT_ENUM, OFF(enable_debug_command), "local", 0, 0, protected_names, 0, "DEBUG allowed: no, yes, or local (loopback clients only)"},
    {"enable-membership-command", OPT_ENUM, OFF(enable_membership_command), "local", 0, 0, protected_names, 0, "CLUSTER ADDNODE/DELNODE/TRANSFER allowed: no, yes, or local (loopback clients only)"},
    {"sentinel-port", OPT_INT, OFF(sentinel_port), "0", 0, 65535, NULL, 0, "a second plain RESP listener answering only what a Redis Sentinel answers (SENTINEL, PING, AUTH, HELLO, INFO, ROLE, CLIENT, COMMAND, (P)SUBSCRIBE, QUIT, RESET), for clients configured with Sentinel addresses; 0: none (the RESP port answers SENTINEL too)"},
    {"tls-port", OPT_INT, OFF(tls_port), "0", 0, 65535, NULL, 0, "RESP over TLS port (0: none); needs tls-cert-file and tls-key-file"},
    {"tls-cert-file", OPT_STRING, OFF(tls_cert_file), NULL, 0, 0, NULL, OPT_RUNTIME, "PEM certificate (chain) of this node, for every TLS port; reloaded on CONFIG SET"},
    {"tls-key-file", OPT_STRING, OFF(tls_key_file), NULL, 0, 0, NULL, OPT_RUNTIME, "PEM private key of tls-cert-file"},
    {"tls-ca-cert-file", OPT_STRING, OFF(tls_ca_cert_file), NULL, 0, 0, NULL, OPT_RUNTIME, "PEM CA certificates that client and peer certificates are checked against"},
    {"tls-auth-clients", OPT_ENUM, OFF(tls_auth_clients), "yes", 0, 0, tls_auth_names, OPT_RUNTIME, "TLS clients must present a certificate signed by tls-ca-cert-file: yes, no, optional"},
    {"tls-protocols", OPT_STRING, OFF(tls_protocols), NULL, 0, 0, NULL, OPT_RUNTIME, "TLS versions allowed, e.g. \"TLSv1.2 TLSv1.3\" (default: TLSv1.2 and TLSv1.3)"},
    {"tls-ciphersuites", OPT_STRING, OFF(tls_ciphersuites), NULL, 0, 0, NULL, OPT_RUNTIME, "TLSv1.3 cipher suites (OpenSSL's syntax)"},
    {"tls-ciphers", OPT_STRING, OFF(tls_ciphers), NULL, 0, 0, NULL, OPT_RUNTIME, "TLSv1.2 ciphers (OpenSSL's syntax)"},
    {"tls-replication", OPT_ENUM, OFF(tls_replication), "no", 0, 0, yesno_names, 0, "raft traffic between peers over TLS: only 'no' for now (yes is refused at startup)"},
    {"admin-tls", OPT_ENUM, OFF(admin_tls), "no", 0, 0, yesno_names, 0, "serve the admin API over HTTPS (tls-cert-file, tls-key-file) instead of HTTP"},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static const struct option_def *option_find(const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strcasecmp(options[i].name, name) == 0)
            return &options[i];
    return NULL;
}

static long long *opt_ll(struct config *cfg, const struct option_def *o)
{
    return (long long *)((char *)cfg + o->offset);
}

static char **opt_str(struct config *cfg, const struct option_def *o)
{
    return (char **)((char *)cfg + o->offset);
}

static int parse_value(const struct option_def *o, const char *value, long long *num, char *err,
                       size_t errlen)
{
    switch (o->type) {
    case OPT_INT:
        if (util_parse_ll(value, strlen(value), num) != 0)
            goto bad;
        break;
    case OPT_MEMORY:
        if (util_parse_memory(value, num) != 0)
            goto bad;
        break;
    case OPT_ENUM:
        for (int i = 0; o->enum_names[i]; i++)
            if (strcasecmp(o->enum_names[i], value) == 0) {
                *num = i;
                return 0;
            }
        goto bad;
    case OPT_NOTIFY:
        *num = notify_flags_parse(value);
        if (*num < 0) {
            snprintf(err, errlen, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
            return -1;
        }
        return 0;
    case OPT_STRING:
    case OPT_OBUF:
        return 0;
    }
    if (*num < o->min || *num > o->max) {
        snprintf(err, errlen, "argument must be between %lld and %lld inclusive", o->min, o->max);
        return -1;
    }
    return 0;
bad:
    if (o->type == OPT_ENUM) {
        size_t used = (size_t)snprintf(err, errlen, "argument(s) must be one of the following: ");
        for (int i = 0; o->enum_names[i] && used < errlen; i++)
            used += (size_t)snprintf(err + used, errlen - used, "%s%s", i ? ", " : "", o->enum_names[i]);
    }
    else if (o->type == OPT_MEMORY)
        snprintf(err, errlen, "argument must be a memory value");
    else
        snprintf(err, errlen, "argument couldn't be parsed into an integer");
    return -1;
}

/* ---- client-output-buffer-limit: "<class> <hard> <soft> <soft-seconds>" groups ---- */

static const char *const obuf_class_names[OBUF_CLASSES] = {"normal", "slave", "pubsub"};

static int obuf_class_find(const char *name)
{
    if (strcasecmp(name, "normal") == 0)
        return OBUF_NORMAL;
    if (strcasecmp(name, "replica") == 0 || strcasecmp(name, "slave") == 0)
        return OBUF_REPLICA;
    if (strcasecmp(name, "pubsub") == 0)
        return OBUF_PUBSUB;
    return -1;
}

/* Parse VALUE as Redis does: all groups are checked before any class changes; classes not
 * named keep their limits. 0, or -1 with Redis's reason in ERR. */
static int obuf_limits_set(struct config *cfg, const char *value, char *err, size_t errlen)
{
    struct obuf_limit next[OBUF_CLASSES];
    char word[4][64];
    int nwords = 0;
    memcpy(next, cfg->obuf_limits, sizeof(next));
    for (const char *p = value;;) {
        p += strspn(p, " \t");
        if (*p == '\0')
            break;
        size_t n = strcspn(p, " \t");
        if (n >= sizeof(word[0])) {
            snprintf(err, errlen, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            return -1;
        }
        memcpy(word[nwords], p, n);
        word[nwords][n] = '\0';
        p += n;
        if (++nwords < 4)
            continue;
        nwords = 0;
        int cls = obuf_class_find(word[0]);
        long long hard, soft, secs;
        if (cls < 0) {
            snprintf(err, errlen, "Invalid client class specified in buffer limit configuration.");
            return -1;
        }
        if (util_parse_memory(word[1], &hard) != 0 || util_parse_memory(word[2], &soft) != 0 ||
            util_parse_ll(word[3], strlen(word[3]), &secs) != 0 || hard < 0 || soft < 0 ||
            secs < 0) {
            snprintf(err, errlen, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            return -1;
        }
        next[cls] = (struct obuf_limit){hard, soft, secs};
    }
    if (nwords != 0) {
        snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        return -1;
    }
    memcpy(cfg->obuf_limits, next, sizeof(next));
    return 0;
}

/* Redis's CONFIG GET form: "normal 0 0 0 slave 268435456 67108864 60 pubsub ...". */
static void obuf_limits_text(const struct config *cfg, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < OBUF_CLASSES && used < len; i++) {
        const struct obuf_limit *l = &cfg->obuf_limits[i];
        int n = snprintf(out + used, len - used, "%s%s %lld %lld %lld", i ? " " : "",
                         obuf_class_names[i], l->hard, l->soft, l->soft_seconds);
        used += n > 0 ? (size_t)n : 0;
    }
}

int config_set(struct config *cfg, const char *name, const char *value, int runtime, char *err,
               size_t errlen)
{
    const struct option_def *o = option_find(name);
    long long num = 0;

    if (o == NULL) {
        snprintf(err, errlen, "Unknown option or number of arguments for CONFIG SET - '%s'", name);
        return -1;
    }
    if (runtime && !(o->flags & OPT_RUNTIME)) {
        snprintf(err, errlen, "CONFIG SET failed (possibly related to argument '%s') - can't set immutable config", o->name);
        return -1;
    }
    char why[160];
    if (o->type == OPT_OBUF) {
        if (obuf_limits_set(cfg, value, why, sizeof(why)) == 0)
            return 0;
        snprintf(err, errlen, "CONFIG SET failed (possibly related to argument '%s') - %s", o->name, why);
        return -1;
    }
    if (parse_value(o, value, &num, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "CONFIG SET failed (possibly related to argument '%s') - %s", o->name, why);
        return -1;
    }
    if (o->type == OPT_STRING) {
        char **s = opt_str(cfg, o);
        free(*s);
        *s = *value ? xstrdup(value) : NULL;
    } else {
        *opt_ll(cfg, o) = num;
    }
    if (o->offset == OFF(loglevel))
        log_set_level((int)num);
    return 0;
}

void config_init(struct config *cfg)
{
    char err[256];
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].def)
            config_set(cfg, options[i].name, options[i].def, 0, err, sizeof(err));
    cfg->admin_port = -1;
}

void config_close(struct config *cfg)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].type == OPT_STRING) {
            char **s = opt_str(cfg, &options[i]);
            free(*s);
            *s = NULL;
        }
    free(cfg->config_file);
    cfg->config_file = NULL;
}

/* Turn a config_set failure into a startup message naming the option. */
static int startup_error(const char *name, const char *value, const char *why, char *err,
                         size_t errlen)
{
    const char *reason = strstr(why, " - ");
    snprintf(err, errlen, "option '%.64s' = '%.200s': %s", name, value, reason ? reason + 3 : why);
    return -1;
}

/* Split one config file line (changed in place) into its option NAME and VALUE: blanks
 * around them and one pair of matching quotes around the value removed. Returns 0 for a
 * comment or a blank line, 1 for a directive. */
static int config_split_line(char *p, char **name, char **value)
{
    p[strcspn(p, "\r\n")] = '\0';
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '#' || *p == '\0')
        return 0;
    *name = p;
    p += strcspn(p, " \t");
    if (*p)
        *p++ = '\0';
    while (*p == ' ' || *p == '\t')
        p++;
    char *v = p;
    for (char *e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t');)
        *--e = '\0';
    if (strlen(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[strlen(v) - 1] == v[0]) {
        v[strlen(v) - 1] = '\0';
        v++;
    }
    *value = v;
    return 1;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    char *line = NULL, why[256];
    size_t cap = 0;
    int lineno = 0, rc = 0;

    if (fp == NULL) {
        snprintf(err, errlen, "config file '%s': %s", path, strerror(errno));
        return -1;
    }
    /* Lines of any length: a fixed buffer would split a long line and read its tail as a
     * directive of its own (the tail of a long comment could set an option). */
    while (getline(&line, &cap, fp) >= 0) {
        char *name, *value;
        lineno++;
        if (!config_split_line(line, &name, &value))
            continue;
        if (option_find(name) == NULL) {
            snprintf(err, errlen, "%s:%d: unknown option '%.200s'", path, lineno, name);
            rc = -1;
            break;
        }
        if (config_set(cfg, name, value, 0, why, sizeof(why)) != 0) {
            char msg[600];
            startup_error(name, value, why, msg, sizeof(msg));
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            rc = -1;
            break;
        }
    }
    free(line);
    fclose(fp);
    return rc;
}

/* Check the comma-separated VALUE of list option NAME: every element non-empty, with no
 * blanks (so no leading, trailing or doubled comma). 0, or -1 with ERR naming the option. */
static int check_list(const char *name, const char *value, char *err, size_t errlen)
{
    const char *p = value;
    int i = 1;
    for (;; i++) {
        size_t n = strcspn(p, ",");
        if (n == 0) {
            snprintf(err, errlen, "option '%s': element %d of '%.200s' is empty (a leading, "
                                  "trailing or doubled comma?)", name, i, value);
            return -1;
        }
        if (strcspn(p, " \t\r\n") < n) {
            snprintf(err, errlen, "option '%s': element %d of '%.200s' contains a blank", name, i, value);
            return -1;
        }
        if (p[n] == '\0')
            return 0;
        p += n + 1;
    }
}

/* Read cluster-secret-file into cluster-secret: the whole file, one trailing newline (and
 * CR) stripped; an unreadable or empty file is an error. */
static int secret_file_load(struct config *cfg, char *err, size_t errlen)
{
    FILE *fp = fopen(cfg->cluster_secret_file, "r");
    char buf[4097];
    size_t n;

    if (fp == NULL) {
        snprintf(err, errlen, "option 'cluster-secret-file': cannot read '%.200s': %s",
                 cfg->cluster_secret_file, strerror(errno));
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    int bad = ferror(fp) || !feof(fp);
    fclose(fp);
    if (bad) {
        snprintf(err, errlen, "option 'cluster-secret-file': '%.200s' is unreadable or over 4096 bytes",
                 cfg->cluster_secret_file);
        return -1;
    }
    buf[n] = '\0';
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    if (n == 0 || strlen(buf) != n) {
        snprintf(err, errlen, "option 'cluster-secret-file': '%.200s' is empty or holds a NUL byte",
                 cfg->cluster_secret_file);
        return -1;
    }
    free(cfg->cluster_secret);
    cfg->cluster_secret = xstrdup(buf);
    return 0;
}

/* The cluster secret: loaded from its file, and required whenever this node has or joins
 * peers (a --cluster of two or more voters, --join, --bootstrap no). */
static int secret_resolve(struct config *cfg, char *err, size_t errlen)
{
    int voters = 0;
    if (cfg->cluster_secret_file) {
        if (cfg->cluster_secret) {
            snprintf(err, errlen, "option 'cluster-secret-file': cannot be combined with 'cluster-secret'");
            return -1;
        }
        if (secret_file_load(cfg, err, errlen) != 0)
            return -1;
    }
    for (const char *p = cfg->cluster; p && *p; p++)
        if (*p != ',' && (p == cfg->cluster || p[-1] == ','))
            voters++;
    if (cfg->cluster_secret == NULL && (voters > 1 || cfg->join || cfg->bootstrap == BOOTSTRAP_NO)) {
        snprintf(err, errlen, "option 'cluster-secret': required when this node has or joins peers "
                 "(--cluster of 2+ voters, --join, --bootstrap no); set cluster-secret or cluster-secret-file");
        return -1;
    }
    return 0;
}

/* The TLS options that go together: a TLS listener needs a certificate and its key; client
 * or peer certificates are checked against a CA (Redis's rule for tls-auth-clients and
 * tls-replication). */
static int tls_resolve(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->tls_replication) {
        snprintf(err, errlen, "option 'tls-replication': 'yes' is not supported yet (raft traffic "
                 "is authenticated by cluster-secret but not encrypted)");
        return -1;
    }
    int any = cfg->tls_port > 0 || cfg->admin_tls;
    const char *need = cfg->tls_port > 0 ? "tls-port" : cfg->tls_replication ? "tls-replication" : "admin-tls";
    if (any && (cfg->tls_cert_file == NULL || cfg->tls_key_file == NULL)) {
        snprintf(err, errlen, "option '%s': needs tls-cert-file and tls-key-file", need);
        return -1;
    }
    if (cfg->tls_ca_cert_file == NULL &&
        (cfg->tls_replication || (cfg->tls_port > 0 && cfg->tls_auth_clients != 0))) {
        snprintf(err, errlen, "option 'tls-ca-cert-file': required with %s",
                 cfg->tls_replication ? "tls-replication yes" : "tls-auth-clients yes or optional");
        return -1;
    }
    if (cfg->sentinel_port > 0 && (cfg->sentinel_port == cfg->port || cfg->sentinel_port == cfg->raft_port ||
                                   cfg->sentinel_port == cfg->admin_port || cfg->sentinel_port == cfg->tls_port)) {
        snprintf(err, errlen, "option 'sentinel-port': must differ from port, raft-port, admin-port and tls-port");
        return -1;
    }
    if (cfg->tls_port > 0 && (cfg->tls_port == cfg->port || cfg->tls_port == cfg->raft_port ||
                              cfg->tls_port == cfg->admin_port)) {
        snprintf(err, errlen, "option 'tls-port': must differ from port, raft-port and admin-port");
        return -1;
    }
    return 0;
}

static int config_resolve(struct config *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const char *v = (options[i].flags & OPT_LIST) ? *opt_str(cfg, &options[i]) : NULL;
        if (v && check_list(options[i].name, v, err, errlen) != 0)
            return -1;
    }
    if (cfg->cluster_name == NULL || cfg->cluster_name[strcspn(cfg->cluster_name, " \t\r\n")] != '\0') {
        snprintf(err, errlen, "option 'cluster-name': must be a non-empty name without spaces");
        return -1;
    }
    if (cfg->raft_port == 0) {
        if (cfg->port + 10000 > 65535) {
            snprintf(err, errlen, "option 'raft-port': port + 10000 is over 65535; set raft-port explicitly");
            return -1;
        }
        cfg->raft_port = cfg->port + 10000;
    }
    if (cfg->admin_port < 0) {
        if (cfg->port + 2000 > 65535) {
            snprintf(err, errlen, "option 'admin-port': port + 2000 is over 65535; set admin-port explicitly");
            return -1;
        }
        cfg->admin_port = cfg->port + 2000;
    }
    if (cfg->raft_port == cfg->port || cfg->admin_port == cfg->port ||
        cfg->admin_port == cfg->raft_port) {
        snprintf(err, errlen, "option 'port': port, raft-port and admin-port must all differ");
        return -1;
    }
    if (cfg->dir == NULL) {
        char d[64];
        snprintf(d, sizeof(d), "./concordkv-data/%lld", cfg->id);
        cfg->dir = xstrdup(d);
    }
    if (cfg->raft_advertise && util_parse_addr(cfg->raft_advertise, NULL, 0) != 0) {
        snprintf(err, errlen, "option 'raft-advertise': '%.100s' is not an IPv4 ip:port", cfg->raft_advertise);
        return -1;
    }
    if (cfg->join && util_parse_addr(cfg->join, NULL, 0) != 0) {
        snprintf(err, errlen, "option 'join': '%.100s' is not an IPv4 ip:port", cfg->join);
        return -1;
    }
    if (cfg->cluster && cfg->join) {
        snprintf(err, errlen, "option 'join': cannot be combined with 'cluster'");
        return -1;
    }
    if (cfg->join && cfg->bootstrap == BOOTSTRAP_NO) {
        snprintf(err, errlen, "option 'bootstrap': 'no' cannot be combined with 'join'");
        return -1;
    }
    if (cfg->heartbeat_timeout >= cfg->election_timeout) {
        snprintf(err, errlen, "option 'heartbeat-timeout': must be smaller than election-timeout");
        return -1;
    }
    if (tls_resolve(cfg, err, errlen) != 0)
        return -1;
    return secret_resolve(cfg, err, errlen);
}

int config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    int i = 1;
    char why[256];

    if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
        if (config_load_file(cfg, argv[1], err, errlen) != 0)
            return -1;
        char *abs = realpath(argv[1], NULL); /* CONFIG REWRITE's target */
        free(cfg->config_file);
        cfg->config_file = abs ? abs : xstrdup(argv[1]);
        i = 2;
    }
    for (; i < argc; i += 2) {
        if (strncmp(argv[i], "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (options are --name value)", argv[i]);
            return -1;
        }
        const char *name = argv[i] + 2;
        if (option_find(name) == NULL) {
            snprintf(err, errlen, "unknown option '%s' (see --help)", name);
            return -1;
        }
        if (i + 1 >= argc) {
            snprintf(err, errlen, "option '%s' needs a value", name);
            return -1;
        }
        if (config_set(cfg, name, argv[i + 1], 0, why, sizeof(why)) != 0)
            return startup_error(name, argv[i + 1], why, err, errlen);
    }
    return config_resolve(cfg, err, errlen);
}

static void option_text(const struct config *cfg, const struct option_def *o, char *out, size_t len)
{
    const char *base = (const char *)cfg + o->offset;
    switch (o->type) {
    case OPT_STRING: {
        const char *s = *(char *const *)base;
        snprintf(out, len, "%s", s ? s : "");
        break;
    }
    case OPT_ENUM:
        snprintf(out, len, "%s", o->enum_names[*(const long long *)base]);
        break;
    case OPT_OBUF:
        obuf_limits_text(cfg, out, len);
        break;
    case OPT_NOTIFY:
        notify_flags_text(*(const long long *)base, out, len);
        break;
    default:
        snprintf(out, len, "%lld", *(const long long *)base);
        break;
    }
}

int config_text(const struct config *cfg, const char *name, char *out, size_t len)
{
    const struct option_def *o = option_find(name);
    if (o == NULL)
        return -1;
    option_text(cfg, o, out, len);
    return 0;
}

/* Redis options that clients and tools ask for (redis-benchmark reads these two at start),
 * with the values that describe ConcordKV: no RDB saves, no AOF (the raft log is the
 * durable record of every write). Read-only. */
static const char *const compat_options[][2] = {{"save", ""}, {"appendonly", "no"}};

int config_get(const struct config *cfg, const char *pattern, int authed, struct buf *out)
{
    char value[1024];
    int n = 0;
    for (size_t i = 0; i < sizeof(compat_options) / sizeof(compat_options[0]); i++) {
        const char *name = compat_options[i][0];
        if (util_glob_match(pattern, strlen(pattern), name, strlen(name), 1)) {
            reply_bulk_cstr(out, name);
            reply_bulk_cstr(out, compat_options[i][1]);
            n++;
        }
    }
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const struct option_def *o = &options[i];
        if (!util_glob_match(pattern, strlen(pattern), o->name, strlen(o->name), 1))
            continue;
        if ((o->flags & OPT_SECRET) || ((o->flags & OPT_SECRET_AUTH) && !authed))
            continue; /* secrets are left out, as if the option did not exist */
        option_text(cfg, o, value, sizeof(value));
        reply_bulk_cstr(out, o->name);
        reply_bulk_cstr(out, value);
        n++;
    }
    return n;
}

int config_is_secret(const char *name)
{
    const struct option_def *o = option_find(name);
    return o != NULL && (o->flags & (OPT_SECRET | OPT_SECRET_AUTH)) != 0;
}

void config_print_help(FILE *fp)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const struct option_def *o = &options[i];
        fprintf(fp, "  --%-26s %s", o->name, o->help);
        if (o->def)
            fprintf(fp, " [%s]", o->def);
        fputc('\n', fp);
    }
}

const char *config_option_name(size_t i)
{
    return i < N_OPTIONS ? options[i].name : NULL;
}

const char *config_read_consistency_name(long long value)
{
    return value >= 0 && value < (long long)(sizeof(consistency_names) / sizeof(consistency_names[0])) - 1
               ? consistency_names[value]
               : "linearizable";
}

/* ---- CONFIG REWRITE ---- */

#define CONFIG_REWRITE_SIGNATURE "# Generated by CONFIG REWRITE"

/* Whether option O of CFG holds what it would hold without being set: its default, or the
 * value derived from other options (raft-port, admin-port, dir), or cluster-secret read from
 * cluster-secret-file (written as the file's name only). */
static int option_is_implied(const struct config *cfg, const struct option_def *o, const char *cur)
{
    char def[1024] = "";
    if (strcmp(o->name, "raft-port") == 0) /* 0, -1, NULL: not resolved yet */
        return cfg->raft_port == 0 || cfg->raft_port == cfg->port + 10000;
    if (strcmp(o->name, "admin-port") == 0)
        return cfg->admin_port == -1 || cfg->admin_port == cfg->port + 2000;
    if (strcmp(o->name, "dir") == 0) {
        snprintf(def, sizeof(def), "./concordkv-data/%lld", cfg->id);
        return cfg->dir == NULL || strcmp(cfg->dir, def) == 0;
    }
    if (strcmp(o->name, "cluster-secret") == 0 && cfg->cluster_secret_file != NULL)
        return 1;
    struct config d;
    config_init(&d);
    option_text(&d, o, def, sizeof(def));
    config_close(&d);
    return strcmp(def, cur) == 0;
}

static void rewrite_append_option(struct buf *out, const char *name, const char *value)
{
    size_t n = strlen(value);
    int quote = n == 0 || value[0] == ' ' || value[n - 1] == ' ' || value[0] == '"' || value[0] == '\'';
    buf_printf(out, quote ? "%s \"%s\"\n" : "%s %s\n", name, value);
}

int config_rewrite_text(const struct config *cfg, const char *old, size_t len, struct buf *out)
{
    struct config file; /* what the old file's lines set, over the defaults */
    char cur[1024], was[1024], why[256];
    unsigned char seen[N_OPTIONS] = {0}; /* 1: in the file; 2: its line already written */
    int has_signature = 0, appended = 0;
    config_init(&file);
    for (int pass = 0; pass < 2; pass++) {
        const char *p = old, *end = old + len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
            const char *start = p;
            char *line = xmemdup(p, ll), *name, *value;
            const struct option_def *o = NULL;
            p += ll + (nl != NULL);
            if (config_split_line(line, &name, &value))
                o = option_find(name);
            if (pass == 0 && o != NULL) {
                seen[o - options] = 1;
                config_set(&file, o->name, value, 0, why, sizeof(why));
            } else if (pass == 1) {
                size_t i = o ? (size_t)(o - options) : 0;
                if (o != NULL) {
                    option_text(cfg, o, cur, sizeof(cur));
                    option_text(&file, o, was, sizeof(was));
                }
                if (o == NULL || strcmp(cur, was) == 0) { /* comments, unknown lines, unchanged */
                    buf_append(out, start, ll);
                    buf_append_str(out, "\n");
                    if (ll == strlen(CONFIG_REWRITE_SIGNATURE) && memcmp(start, CONFIG_REWRITE_SIGNATURE, ll) == 0)
                        has_signature = 1;
                } else if (seen[i] == 1) { /* changed: its first line gets the value */
                    rewrite_append_option(out, o->name, cur);
                    seen[i] = 2;
                } /* later lines of a changed option are dropped */
            }
            free(line);
        }
    }
    config_close(&file);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (seen[i])
            continue;
        option_text(cfg, &options[i], cur, sizeof(cur));
        if (option_is_implied(cfg, &options[i], cur))
            continue;
        if (!has_signature && !appended)
            buf_append_str(out, CONFIG_REWRITE_SIGNATURE "\n");
        rewrite_append_option(out, options[i].name, cur);
        appended++;
    }
    return appended;
}

/* Read all of PATH into OUT. 0, or -1 with errno set. */
static int read_whole(const char *path, struct buf *out)
{
    FILE *fp = fopen(path, "r");
    char chunk[4096];
    size_t n;
    if (fp == NULL)
        return errno == ENOENT ? 0 : -1; /* a missing file is rewritten from nothing */
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_append(out, chunk, n);
    int bad = ferror(fp);
    fclose(fp);
    return bad ? -1 : 0;
}

int config_rewrite(const struct config *cfg, char *err, size_t errlen)
{
    struct buf old, text;
    char tmp[PATH_MAX + 32];
    struct stat st;
    int fd = -1, rc = -1;
    buf_init(&old);
    buf_init(&text);
    if (read_whole(cfg->config_file, &old) != 0)
        goto fail;
    config_rewrite_text(cfg, old.data ? old.data : "", old.len, &text);
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", cfg->config_file, (int)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto fail;
    if (stat(cfg->config_file, &st) == 0)
        (void)fchmod(fd, st.st_mode & 07777); /* keep the file's permissions */
    for (size_t off = 0; off < text.len;) {
        ssize_t w = write(fd, text.data + off, text.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            goto fail_tmp;
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        goto fail_tmp;
    }
    fd = -1;
    if (rename(tmp, cfg->config_file) != 0)
        goto fail_tmp;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", cfg->config_file);
    char *slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        int dfd = open(slash == dir ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    rc = 0;
    goto done;
fail_tmp:
    {
        int e = errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        errno = e;
    }
fail:
    snprintf(err, errlen, "Rewriting config file: %s", strerror(errno));
done:
    buf_close(&old);
    buf_close(&text);
    return rc;
}
