/* Prometheus text rendering of the server's counters, gauges and histograms. Reads state;
 * changes nothing. */
#include "metrics.h"

#include <string.h>

#include "cluster.h"
#include "command.h"
#include "consensus.h"
#include "kv.h"
#include "memcount.h"
#include "server.h"

void histogram_render(const struct histogram *h, const char *name, const char *help, struct buf *out)
{
    uint64_t cum = 0;
    buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (int i = 0; i < HISTOGRAM_BUCKETS - 1; i++) {
        cum += h->counts[i];
        buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], (unsigned long long)cum);
    }
    buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
               (unsigned long long)h->n, name, h->sum, name, (unsigned long long)h->n);
}

static void metric(struct buf *out, const char *type, const char *name, const char *help, double v)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static void render_raft(struct server *srv, struct buf *out)
{
    struct consensus_info info;
    const struct consensus_stats *st = consensus_stats(srv->cs);
    consensus_get_info(srv->cs, &info);
    metric(out, "gauge", "concordkv_raft_term", "Current raft term.", (double)info.term);
    buf_printf(out, "# HELP concordkv_raft_state Raft role of this node (1 for the current one).\n"
                    "# TYPE concordkv_raft_state gauge\n");
    for (int r = ROLE_UNAVAILABLE; r <= ROLE_LEADER; r++)
        buf_printf(out, "concordkv_raft_state{state=\"%s\"} %d\n", consensus_role_name(r), info.role == r);
    metric(out, "gauge", "concordkv_raft_leader_id", "Id of the known leader, 0 if none.", (double)info.leader_id);
    metric(out, "gauge", "concordkv_raft_commit_index", "Highest log index known committed.", (double)info.commit_index);
    metric(out, "gauge", "concordkv_raft_applied_index", "Highest log index applied.", (double)info.applied_index);
    metric(out, "gauge", "concordkv_raft_snapshot_index", "Log index of the last snapshot.", (double)info.snapshot_index);
    metric(out, "gauge", "concordkv_raft_voters", "Voters in the current configuration.", info.voters);
    metric(out, "counter", "concordkv_raft_leader_changes_total", "Times the known leader changed.", (double)st->leader_changes);
    metric(out, "counter", "concordkv_raft_entries_proposed_total", "Log entries proposed by this node.", (double)st->entries_proposed);
    metric(out, "counter", "concordkv_raft_commands_proposed_total", "Commands proposed (entries hold batches).", (double)st->commands_proposed);
    metric(out, "counter", "concordkv_raft_barriers_total", "Read barriers proposed.", (double)st->barriers);
    metric(out, "counter", "concordkv_request_timeouts_total", "Batches answered -TIMEOUT.", (double)st->timeouts);
    metric(out, "counter", "concordkv_unknown_outcomes_total", "Write batches whose outcome became unknown.", (double)st->unknown_outcomes);
    histogram_render(&st->batch_size, "concordkv_raft_batch_size", "Commands per proposed entry.", out);
    histogram_render(&st->commit_latency, "concordkv_raft_commit_seconds", "From proposal to apply on this leader.", out);
    metric(out, "counter", "concordkv_snapshots_total", "Snapshots taken.", (double)srv->fsm.snapshots);
    metric(out, "counter", "concordkv_snapshot_failures_total", "Snapshots that failed.", (double)srv->fsm.snapshot_failures);
    metric(out, "gauge", "concordkv_snapshot_last_seconds", "Duration of the last snapshot.", srv->fsm.last_snapshot_us / 1e6);
    metric(out, "counter", "concordkv_snapshot_restores_total", "Snapshots restored.", (double)srv->fsm.restores);
}

static void render_changes(struct server *srv, struct buf *out)
{
    long long counts[CLUSTER_OUTCOMES];
    static const char *names[CLUSTER_OUTCOMES] = {"ok", "failed", "timeout", "rejected"};
    cluster_change_counts(srv, counts);
    buf_printf(out, "# HELP concordkv_config_changes_total Membership changes by outcome.\n"
                    "# TYPE concordkv_config_changes_total counter\n");
    for (int i = 0; i < CLUSTER_OUTCOMES; i++)
        buf_printf(out, "concordkv_config_changes_total{outcome=\"%s\"} %lld\n", names[i], counts[i]);
}

static void render_commands(struct buf *out)
{
    size_t n;
    struct command *t = command_table(&n);
    buf_printf(out, "# HELP concordkv_commands_total Commands by name and outcome.\n"
                    "# TYPE concordkv_commands_total counter\n");
    for (size_t i = 0; i < n; i++) {
        if (t[i].calls == 0)
            continue;
        long long failed = t[i].failed_calls < t[i].calls ? t[i].failed_calls : t[i].calls;
        buf_printf(out, "concordkv_commands_total{command=\"%s\",outcome=\"ok\"} %lld\n", t[i].name, t[i].calls - failed);
        buf_printf(out, "concordkv_commands_total{command=\"%s\",outcome=\"error\"} %lld\n", t[i].name, failed);
    }
}

void metrics_render(struct server *srv, struct buf *out)
{
    render_raft(srv, out);
    render_changes(srv, out);
    render_commands(out);
    metric(out, "gauge", "concordkv_connected_clients", "Connected RESP clients.", srv->clients.n);
    metric(out, "counter", "concordkv_connections_received_total", "RESP connections accepted.", (double)srv->stats.connections_received);
    metric(out, "counter", "concordkv_rejected_connections_total", "Connections refused by maxclients.", (double)srv->stats.rejected_connections);
    metric(out, "gauge", "concordkv_keys", "Keys in the keyspace.", (double)server_dbs_sum(srv, kv_size));
    metric(out, "gauge", "concordkv_keys_with_ttl", "Keys with a time to live.", (double)server_dbs_sum(srv, kv_expires));
    metric(out, "gauge", "concordkv_memory_used_bytes", "Bytes allocated by the process (malloc).", (double)memcount_used());
    metric(out, "gauge", "concordkv_memory_dataset_bytes", "Bytes allocated for the keyspace.", (double)server_dbs_sum(srv, kv_used_memory));
    metric(out, "gauge", "concordkv_uptime_seconds", "Seconds since start.", (util_now_ms() - srv->start_ms) / 1000.0);
}
