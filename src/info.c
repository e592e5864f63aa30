/* INFO's sections (server, clients, memory, persistence, stats, cpu, commandstats,
 * errorstats, keyspace; replication and raft come from cmd_cluster.c) and CONFIG RESETSTAT, for cmd_server.c through exec.h. Part of
 * the dispatcher layer: it reads struct server, so it includes server.h, which handlers never
 * do. Reads every module, changes nothing but the statistics RESETSTAT zeroes. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "command.h"
#include "config.h"
#include "consensus.h"
#include "dict.h"
#include "evict.h"
#include "exec.h"
#include "kv.h"
#include "memcount.h"
#include "server.h"

static void human_bytes(char *out, size_t len, double n)
{
    const char *units = "BKMGT";
    int u = 0;
    while (n >= 1024 && u < 4) {
        n /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, len, "%.0fB", n);
    else
        snprintf(out, len, "%.2f%c", n, units[u]);
}

size_t info_rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (fp) {
        if (fscanf(fp, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(fp);
    }
    return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

static void info_server(struct buf *b, struct server *srv)
{
    struct utsname un;
    int64_t up = (util_now_ms() - srv->start_ms) / 1000;
    uname(&un);
    buf_printf(b, "# Server\r\nredis_version:%s\r\nconcordkv_version:%s\r\nredis_mode:standalone\r\n"
                  "os:%s %s %s\r\narch_bits:%d\r\nmultiplexing_api:libevent\r\nprocess_id:%d\r\n"
                  "run_id:%016llx%016llx%08llx\r\ntcp_port:%lld\r\nuptime_in_seconds:%lld\r\n"
                  "uptime_in_days:%lld\r\n",
               REDIS_COMPAT_VERSION, PACKAGE_VERSION, un.sysname, un.release, un.machine,
               (int)(sizeof(long) * 8), (int)getpid(), (unsigned long long)srv->start_ms,
               (unsigned long long)getpid(), (unsigned long long)srv->cfg->id,
               srv->cfg->port, (long long)up, (long long)up / 86400);
}

static void info_memory(struct buf *b, struct server *srv)
{
    char h1[32], h2[32], hmax[32];
    size_t used = memcount_used(); /* a counter: one load (memcount.h) */
    size_t rss = info_rss_bytes();
    human_bytes(h1, sizeof(h1), (double)used);
    human_bytes(h2, sizeof(h2), (double)rss);
    human_bytes(hmax, sizeof(hmax), (double)srv->cfg->maxmemory);
    buf_printf(b, "# Memory\r\nused_memory:%zu\r\nused_memory_human:%s\r\nused_memory_rss:%zu\r\n"
                  "used_memory_rss_human:%s\r\nused_memory_dataset:%zu\r\n"
                  "maxmemory:%lld\r\nmaxmemory_human:%s\r\nmaxmemory_policy:%s\r\n"
                  "mem_counted_for_evict:%zu\r\n"
                  "mem_allocator:libc\r\nlazyfree_pending_objects:%zu\r\n",
               used, h1, rss, h2, server_dbs_sum(srv, kv_used_memory), srv->cfg->maxmemory, hmax,
               evict_policy_names[srv->cfg->maxmemory_policy], server_evict_counted(srv),
               server_dbs_sum(srv, kv_lazy_pending));
    server_track_peak(srv);
    human_bytes(h1, sizeof(h1), (double)srv->used_memory_peak);
    buf_printf(b, "used_memory_peak:%zu\r\nused_memory_peak_human:%s\r\nused_memory_peak_perc:%.2f%%\r\n",
               srv->used_memory_peak, h1, srv->used_memory_peak ? 100.0 * (double)used / (double)srv->used_memory_peak : 0.0);
}

/* Redis's persistence fields with the raft analogues (docs/SERVER.md): a snapshot is the
 * RDB save, the raft log the AOF (always on, fsync'd before each acknowledgement). */
static void info_persistence(struct buf *b, struct server *srv)
{
    struct consensus_info info;
    const struct fsm *f = &srv->fsm;
    consensus_get_info(srv->cs, &info);
    int busy = consensus_snapshot_in_progress(srv->cs);
    buf_printf(b, "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:%llu\r\n"
                  "rdb_bgsave_in_progress:%d\r\nrdb_last_save_time:%lld\r\nrdb_last_bgsave_status:%s\r\n"
                  "rdb_last_bgsave_time_sec:%lld\r\nrdb_current_bgsave_time_sec:%lld\r\nrdb_saves:%lld\r\n"
                  "aof_enabled:1\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n"
                  "aof_last_write_status:ok\r\n",
               (unsigned long long)(info.applied_index > info.snapshot_index ? info.applied_index - info.snapshot_index : 0),
               busy, (long long)(srv->last_save_ms / 1000), srv->last_save_err ? "err" : "ok",
               f->snapshots ? (long long)(f->last_snapshot_us / 1000000) : -1LL,
               busy && f->snap_pid > 0 ? (long long)((util_mono_us() - f->snap_start_us) / 1000000) : -1LL,
               f->snapshots);
}

static void info_cpu(struct buf *b, struct server *srv)
{
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    buf_printf(b, "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n"
                  "used_cpu_sys_children:%ld.%06ld\r\nused_cpu_user_children:%ld.%06ld\r\n",
               (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec, (long)self.ru_utime.tv_sec,
               (long)self.ru_utime.tv_usec, (long)children.ru_stime.tv_sec, (long)children.ru_stime.tv_usec,
               (long)children.ru_utime.tv_sec, (long)children.ru_utime.tv_usec);
}

static void info_errorstats(struct buf *b, struct server *srv)
{
    buf_append_str(b, "# Errorstats\r\n");
    for (int i = 0; i < srv->n_errorstats; i++)
        buf_printf(b, "errorstat_%s:count=%lld\r\n", srv->errorstats[i].name, srv->errorstats[i].count);
}

static void info_stats(struct buf *b, struct server *srv)
{
    const struct server_stats *s = &srv->stats;
    buf_printf(b, "# Stats\r\ntotal_connections_received:%lld\r\ntotal_commands_processed:%lld\r\n"
                  "total_net_input_bytes:%lld\r\ntotal_net_output_bytes:%lld\r\n"
                  "rejected_connections:%lld\r\nexpired_keys_proposed:%lld\r\nnoop_writes_as_reads:%lld\r\n"
                  "pubsub_channels:%zu\r\npubsub_patterns:%zu\r\npubsubshard_channels:%zu\r\n",
               s->connections_received, s->commands_processed, s->net_input_bytes,
               s->net_output_bytes, s->rejected_connections, s->expired_keys_proposed, s->noop_writes,
               dict_size(srv->pubsub.subs[PUBSUB_CHANNEL]), dict_size(srv->pubsub.subs[PUBSUB_PATTERN]),
               dict_size(srv->pubsub.subs[PUBSUB_SHARD]));
    buf_printf(b, "keyspace_hits:%lld\r\nkeyspace_misses:%lld\r\ninstantaneous_ops_per_sec:%lld\r\n"
                  "instantaneous_input_kbps:%.2f\r\ninstantaneous_output_kbps:%.2f\r\n"
                  "total_error_replies:%lld\r\n",
               kv_read_stats.hits, kv_read_stats.misses, server_metric_value(srv, METRIC_OPS),
               (double)server_metric_value(srv, METRIC_NET_IN) / 1024,
               (double)server_metric_value(srv, METRIC_NET_OUT) / 1024, s->error_replies);
    buf_printf(b, "evicted_keys:%lld\r\nevicted_keys_proposed:%lld\r\n", srv->fsm.evicted.keys,
               s->evicted_keys_proposed);
    buf_printf(b, "proxied_commands:%lld\r\n", s->proxied_commands);
    buf_printf(b, "evict_held_writes:%lld\r\n", s->evict_held_writes);
}

static void info_commandstats(struct buf *b, struct server *srv)
{
    size_t n;
    struct command *t = command_table(&n);
    buf_append_str(b, "# Commandstats\r\n");
    for (size_t i = 0; i < n; i++) {
        if (t[i].calls == 0)
            continue;
        buf_printf(b, "cmdstat_%s:calls=%lld,usec=%lld,usec_per_call=%.2f,rejected_calls=0,failed_calls=%lld\r\n",
                   t[i].name, t[i].calls, t[i].usec, t[i].calls ? (double)t[i].usec / (double)t[i].calls : 0.0,
                   t[i].failed_calls);
    }
}

/* Redis 7.0's selection: no argument and "default" give the default sections (IN_DEFAULT
 * 1), "all" and "everything" every section (commandstats too), and any number of names. */
static int want_section(const struct request *req, const char *name, int in_default)
{
    if (req->argc == 1)
        return in_default == 1;
    for (int i = 1; i < req->argc; i++) {
        if (request_arg_is(req, i, name) || request_arg_is(req, i, "everything") || request_arg_is(req, i, "all") ||
            (request_arg_is(req, i, "default") && in_default == 1))
            return 1;
    }
    return 0;
}

static void info_clients(struct buf *b, struct server *srv)
{
    buf_printf(b, "# Clients\r\nconnected_clients:%d\r\nmaxclients:%lld\r\nblocked_clients:%d\r\n",
               srv->clients.n, srv->cfg->maxclients,
               blocking_count(&srv->blocking) + server_postponed_count(srv));
}

static void info_keyspace(struct buf *b, struct server *srv)
{
    buf_append_str(b, "# Keyspace\r\n");
    for (int d = 0; d < srv->fsm.ndbs; d++) {
        struct kv_store *kv = srv->fsm.dbs[d];
        if (kv_size(kv) > 0)
            buf_printf(b, "db%d:keys=%zu,expires=%zu,avg_ttl=0\r\n", d, kv_size(kv), kv_expires(kv));
    }
}

/* The INFO sections in output order; IN_DEFAULT as want_section takes it. */
static const struct {
    const char *name;
    int in_default;
    void (*render)(struct buf *b, struct server *srv);
} info_sections[] = {
    {"server", 1, info_server},           {"clients", 1, info_clients},
    {"memory", 1, info_memory},           {"persistence", 1, info_persistence},
    {"stats", 1, info_stats},             {"replication", 1, info_replication},
    {"cpu", 1, info_cpu},                 {"raft", 1, info_raft},
    {"commandstats", 2, info_commandstats}, {"errorstats", 1, info_errorstats},
    {"cluster", 1, info_cluster},
    {"keyspace", 1, info_keyspace},
};

void info_render(struct server *srv, const struct request *req, struct buf *out)
{
    size_t start = out->len;
    for (size_t i = 0; i < sizeof(info_sections) / sizeof(info_sections[0]); i++) {
        if (!want_section(req, info_sections[i].name, info_sections[i].in_default))
            continue;
        if (out->len > start)
            buf_append_str(out, "\r\n");
        info_sections[i].render(out, srv);
    }
}

void info_resetstat(struct server *srv)
{
    size_t n;
    struct command *t = command_table(&n);
    for (size_t i = 0; i < n; i++)
        t[i].calls = t[i].failed_calls = t[i].usec = 0;
    memset(&srv->stats, 0, sizeof(srv->stats));
    memset(srv->errorstats, 0, sizeof(srv->errorstats));
    srv->n_errorstats = 0;
    kv_read_stats.hits = kv_read_stats.misses = 0;
    memset(srv->metrics, 0, sizeof(srv->metrics));
    srv->used_memory_peak = 0;
    server_track_peak(srv);
    srv->fsm.evicted.keys = 0; /* .entries stays: server_evict.c compares it */
}
