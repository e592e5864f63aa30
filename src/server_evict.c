/* maxmemory on a node (Redis 7.0's performEvictions, split for raft): whether a denyoom write
 * may be proposed, and the leader's evictions, proposed as ONE "__evicted key ..." command
 * that every node applies as plain deletes. Dispatcher layer: reads struct server. */
#include <stdint.h>

#include "config.h"
#include "consensus.h"
#include "evict.h"
#include "kv.h"
#include "log.h"
#include "memcount.h"
#include "resp.h"
#include "server.h"
#include "util.h"

/* At most this many keys in one __evicted command (a bounded entry and apply), and at most
 * one such command in flight: the next is chosen once it has been applied, from the memory
 * figure it left. */
#define EVICT_MAX_KEYS_PER_ENTRY 1000
/* Evict this far below the limit (a 16th of it, at most 4 MiB), so that a steady write load
 * does not need an entry per write, and followers, which apply the evictions a little later
 * than the leader, stay under the limit too. */
#define EVICT_SLACK_DIV 16
#define EVICT_SLACK_MAX (4 * 1024 * 1024)

/* The memory figure compared with maxmemory (docs/SERVER.md, "Memory limit and eviction"):
 * every byte the process has allocated (INFO used_memory), the raft log held in memory
 * included (snapshots keep it to an eighth of maxmemory, consensus_uv.c), plus room for the
 * next snapshot. A node stores a snapshot by holding the whole serialized keyspace in memory
 * until it is on disk (canonical/raft 0.15 takes the snapshot as buffers): not reserving it
 * would let RSS reach twice maxmemory at every snapshot, and counting it only while it is
 * held would evict most of the keyspace at every snapshot. So the keyspace's size counts
 * once more, less what a snapshot in progress holds already. */
size_t server_evict_counted(const struct server *srv)
{
    size_t used = memcount_used(), dataset = server_dbs_sum(srv, kv_used_memory);
    size_t held = __atomic_load_n(&srv->fsm.snap_held, __ATOMIC_RELAXED);
    return used + (dataset > held ? dataset - held : 0);
}

static void collect_victim(void *priv, const struct kv_entry *e, size_t bytes)
{
    (void)bytes;
    request_push(priv, kv_entry_key(e), e->klen);
}

/* Whether an eviction proposed earlier may still free memory: its entry not applied yet
 * (within request-timeout), or values it deleted still being freed by the cron. */
static int evict_running(struct server *srv, int64_t now)
{
    struct server_evict *ev = &srv->evict;
    if (ev->inflight && srv->fsm.evicted.entries == ev->entries_mark &&
        now - ev->since_ms < srv->cfg->request_timeout)
        return 1;
    ev->inflight = 0;
    return server_dbs_sum(srv, kv_lazy_pending) > 0;
}

/* Propose the eviction of enough keys to bring USED under the limit. Returns 1 when an
 * eviction is running (in flight or just proposed), 0 when nothing can be evicted. */
static int evict_propose(struct server *srv, size_t used)
{
    const struct config *cfg = srv->cfg;
    int64_t now = util_now_ms();

    if (evict_running(srv, now))
        return 1;
    size_t limit = (size_t)cfg->maxmemory, slack = limit / EVICT_SLACK_DIV;
    size_t need = used - limit + (slack < EVICT_SLACK_MAX ? slack : EVICT_SLACK_MAX);
    struct request *req = request_new(64);
    request_push(req, "__evicted", 9);
    /* the databases in turn: the first (from the one after the last evicted from) with
     * victims gives them; its __evicted entry carries it (consensus_write_db) */
    size_t n = 0;
    int db = 0;
    for (int i = 0; i < srv->fsm.ndbs && n == 0; i++) {
        db = (srv->evict.next_db + i) % srv->fsm.ndbs;
        n = evict_choose(srv->fsm.dbs[db], (int)cfg->maxmemory_policy,
                         (int)cfg->maxmemory_samples, &srv->rng, need,
                         EVICT_MAX_KEYS_PER_ENTRY, collect_victim, req, NULL);
    }
    if (n == 0) {
        request_free(req);
        return 0;
    }
    srv->evict.next_db = (db + 1) % srv->fsm.ndbs;
    srv->stats.evicted_keys_proposed += (long long)n;
    srv->evict.inflight = 1;
    srv->evict.since_ms = now;
    srv->evict.entries_mark = srv->fsm.evicted.entries;
    server_feed_monitors_self(srv, db, req); /* as the expiry cycle's __expired */
    consensus_write_db(srv->cs, NULL, db, req);
    return 1;
}

int server_evict_admit(struct server *srv)
{
    const struct config *cfg = srv->cfg;
    if (cfg->maxmemory <= 0)
        return 0;
    size_t used = server_evict_counted(srv);
    if (used <= (size_t)cfg->maxmemory)
        return 0;
    if (cfg->maxmemory_policy == EVICT_NOEVICTION || !consensus_accepts(srv->cs))
        return -1;
    return evict_propose(srv, used) ? 0 : -1;
}

/* Back-pressure: a denyoom write over the limit waits, as Redis's evicts before it runs. The
 * threshold is the limit itself, not a margin past it: what the leader admitted but has not
 * applied yet (its entries, the requests kept until they are answered, the copies sent to
 * the followers) is not in the keyspace, where an eviction could free it, so any margin
 * fills with writes in flight, and applying them overshoots it. Held until the eviction
 * running has applied and the counted figure is back under the limit (each eviction frees
 * a slack below it, so writers then run until the next one). When nothing can be evicted
 * but requests are still in flight (keys the eviction cannot choose yet, buffers that are
 * freed once they apply) or a snapshot is being taken (its buffers are freed once it is
 * stored), the write waits for them too instead of -OOM. */
int server_evict_holds(struct server *srv)
{
    const struct config *cfg = srv->cfg;
    if (cfg->maxmemory <= 0 || cfg->maxmemory_policy == EVICT_NOEVICTION ||
        !consensus_accepts(srv->cs))
        return 0;
    size_t used = server_evict_counted(srv);
    if (used <= (size_t)cfg->maxmemory)
        return 0;
    if (evict_propose(srv, used))
        return 1;
    struct consensus_info info;
    consensus_get_info(srv->cs, &info);
    return info.queued + info.inflight > 0 || /* else admit answers -OOM */
           consensus_snapshot_in_progress(srv->cs);
}

void server_evict_cron(struct server *srv)
{
    const struct config *cfg = srv->cfg;
    if (cfg->maxmemory <= 0 || cfg->maxmemory_policy == EVICT_NOEVICTION ||
        !consensus_accepts(srv->cs))
        return;
    size_t used = server_evict_counted(srv);
    if (used > (size_t)cfg->maxmemory)
        evict_propose(srv, used);
}

void server_evict_limit_set(struct server *srv)
{
    size_t used = server_evict_counted(srv);
    if (srv->cfg->maxmemory > 0 && used > (size_t)srv->cfg->maxmemory)
        log_warning("WARNING: the new maxmemory value set via CONFIG SET (%lld) is smaller than "
                    "the current memory usage (%zu). This will result in key eviction and/or the "
                    "inability to accept new write commands depending on the maxmemory-policy.",
                    srv->cfg->maxmemory, used);
    server_evict_cron(srv);
}

void server_evict_configure(const struct config *cfg)
{
    int lfu = evict_policy_lfu((int)cfg->maxmemory_policy);
    kv_set_access_mode(lfu ? KV_ACCESS_LFU : KV_ACCESS_LRU, (int)cfg->lfu_log_factor,
                       (int)cfg->lfu_decay_time);
}
