/* Probes (probe.h): the dispatcher's side of writes that change nothing. */
#include "probe.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "command.h"
#include "consensus.h"
#include "kv.h"
#include "resp.h"
#include "server.h"
#include "util.h"

/* The read path's cookie for one probe. It lives until the read path answers it. Its slot
 * already holds the reply; SLOT is NULL once answered or once its client has gone. */
struct probe {
    struct list_node node; /* in its client's probes while pending */
    struct client *c;      /* NULL once its client has gone */
    struct slot *slot;
};

/* The no-op check's reply, before there is a slot for it; kept for its buffer. */
static struct buf probe_scratch;

/* Answered probes kept for the next ones: a pipeline of no-op pops makes one per command. */
#define PROBE_POOL_KEEP 1024
static struct probe *probe_pool[PROBE_POOL_KEEP];
static int probe_pool_n;

static struct probe *probe_new(void)
{
    if (probe_pool_n > 0) {
        struct probe *p = probe_pool[--probe_pool_n];
        memset(p, 0, sizeof(*p));
        return p;
    }
    return xcalloc(1, sizeof(struct probe));
}

static void probe_release(struct probe *p)
{
    if (probe_pool_n < PROBE_POOL_KEEP)
        probe_pool[probe_pool_n++] = p;
    else
        free(p);
}

void probe_pool_clear(void)
{
    while (probe_pool_n > 0)
        free(probe_pool[--probe_pool_n]);
}

int probe_start(struct client *c, const struct command *cmd, struct request *req)
{
    struct server *srv = c->srv;
    /* Every other command the client sent before this one must have been answered: the
     * state checked now has to include its earlier writes. */
    if (cmd->noop == NULL || srv->cfg->read_consistency == READ_STALE || c->pending > c->nprobes)
        return 0;
    probe_scratch.len = 0;
    probe_scratch.resp = client_resp(c);
    struct exec_ctx ctx;
    server_local_ctx(&ctx, srv, c, &probe_scratch, c->last_ms);
    kv_read_stats_mute(1); /* a write's lookups are no keyspace hits or misses (INFO) */
    int noop = cmd->noop(&ctx, cmd, req);
    kv_read_stats_mute(0);
    if (!noop)
        return 0;
    struct probe *p = probe_new();
    p->c = c;
    p->slot = client_defer(c);
    buf_append(slot_buf(p->slot), probe_scratch.data, probe_scratch.len);
    list_push_back(&c->probes, &p->node);
    c->nprobes++;
    consensus_probe(srv->cs, p, cmd, req);
    return 1;
}

/* Take P out of its client's pending probes; its slot is now the caller's to answer. */
static struct slot *detach(struct probe *p)
{
    struct slot *s = p->slot;
    if (p->c != NULL) {
        list_remove(&p->c->probes, &p->node);
        p->c->nprobes--;
    }
    p->c = NULL;
    p->slot = NULL;
    return s;
}

void probe_on_read(struct server *srv, void *token, struct request *req)
{
    struct probe *p = token;
    (void)req;
    if (p->slot != NULL) {
        if (p->c != NULL)
            srv->stats.noop_writes++;
        slot_done(detach(p)); /* an orphan (its client has gone) is freed */
    }
    probe_release(p);
}

void probe_on_read_error(void *token, const char *msg)
{
    struct probe *p = token;
    if (p->slot != NULL) {
        struct slot *s = detach(p);
        slot_buf(s)->len = 0; /* the no-op answer the read could not confirm */
        slot_error(s, msg);   /* nothing was applied */
    }
    probe_release(p);
}

void probe_client_gone(struct client *c)
{
    struct list_node *n, *next;
    list_foreach_safe(n, next, &c->probes) {
        struct probe *p = list_entry(n, struct probe, node);
        list_remove(&c->probes, &p->node);
        p->c = NULL; /* the slot stays: an orphan, freed when the read path answers it */
    }
    c->nprobes = 0;
}
