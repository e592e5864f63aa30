/* Probes (probe.h): the dispatcher's side of writes that change nothing. */
#include "probe.h"

#include <stdint.h>
#include <stdlib.h>

#include "client.h"
#include "command.h"
#include "consensus.h"
#include "resp.h"
#include "server.h"
#include "util.h"

/* The read path's cookie for one probe. It lives until the read path answers it; the slot
 * it answers is detached (NULL) once the probe has been converted. */
struct probe {
    struct list_node node; /* in its client's probes while pending */
    struct client *c;      /* NULL once detached or once the client has gone */
    struct slot *slot;
    const struct command *cmd;
    struct request *req; /* the read path's: valid until it answers the probe */
    /* The state the no-op answer in the slot was computed on: while nothing has been
     * applied (or restored) since, it still stands. */
    uint64_t apply_seq;
    long long restores;
};

/* The first no-op check's reply, before there is a slot for it; kept for its buffer. */
static struct buf probe_scratch;

static struct exec_ctx read_ctx(struct server *srv, struct client *c, struct buf *out)
{
    struct exec_ctx ctx = {
        .kv = srv->kv, .now_ms = util_now_ms(), .apply_seq = srv->fsm.apply_seq,
        .out = out, .client = c, .srv = srv, .rng = &srv->rng, .scripts = srv->fsm.scripts,
    };
    return ctx;
}

int probe_start(struct client *c, const struct command *cmd, struct request *req)
{
    struct server *srv = c->srv;
    if (cmd->noop == NULL || srv->cfg->read_consistency == READ_STALE || c->converted > 0)
        return 0;
    probe_scratch.len = 0;
    struct exec_ctx ctx = read_ctx(srv, c, &probe_scratch);
    if (!cmd->noop(&ctx, req))
        return 0;
    struct probe *p = xcalloc(1, sizeof(*p));
    p->c = c;
    p->slot = client_defer(c);
    p->cmd = cmd;
    p->req = req;
    p->apply_seq = srv->fsm.apply_seq;
    p->restores = srv->fsm.restores;
    buf_append(slot_buf(p->slot), probe_scratch.data, probe_scratch.len);
    list_push_back(&c->probes, &p->node);
    consensus_probe(srv->cs, p, cmd, req);
    return 1;
}

/* Take P out of its client's pending probes; its slot is now the caller's to answer. */
static struct slot *detach(struct probe *p)
{
    struct slot *s = p->slot;
    if (p->c != NULL)
        list_remove(&p->c->probes, &p->node);
    p->c = NULL;
    p->slot = NULL;
    return s;
}

/* Propose P's write, answering its slot S later (or now with a prepare error). */
static void convert(struct server *srv, struct probe *p, struct client *c)
{
    struct slot *s = detach(p);
    struct request *w = request_dup(p->req);
    slot_buf(s)->len = 0; /* the no-op answer, if it had one: the write answers */
    if (p->cmd->prepare && p->cmd->prepare(w, util_now_ms(), slot_buf(s)) != 0) {
        request_free(w);
        ((struct command *)p->cmd)->failed_calls++;
        slot_done(s);
        return;
    }
    slot_set_converted(s, c);
    consensus_write(srv->cs, s, w);
}

void probe_convert_all(struct client *c)
{
    struct list_node *n, *next;
    list_foreach_safe(n, next, &c->probes)
        convert(c->srv, list_entry(n, struct probe, node), c);
}

void probe_on_read(struct server *srv, void *token, struct request *req)
{
    struct probe *p = token;
    struct client *c = p->c;
    (void)req;
    if (p->slot == NULL) { /* converted already, or its client has gone and was answered */
        free(p);
        return;
    }
    if (c == NULL) { /* the client has gone: nobody reads the answer */
        slot_done(detach(p));
        free(p);
        return;
    }
    int unchanged = srv->fsm.apply_seq == p->apply_seq && srv->fsm.restores == p->restores;
    struct exec_ctx ctx = read_ctx(srv, c, slot_buf(p->slot));
    if (!unchanged)
        slot_buf(p->slot)->len = 0; /* check again on the state the read confirmed */
    if (c->converted == 0 && (unchanged || p->cmd->noop(&ctx, p->req))) {
        srv->stats.noop_writes++;
        slot_done(detach(p));
    } else {
        /* Not a no-op now, or an earlier converted probe of C may not be applied yet: it
         * goes to the log (C's probes before it were resolved first: reads answer in
         * order; those after it see C->converted and follow). */
        struct list_node *n, *next;
        list_foreach_safe(n, next, &c->probes) {
            struct probe *q = list_entry(n, struct probe, node);
            convert(srv, q, c);
            if (q == p)
                break;
        }
    }
    free(p);
}

void probe_on_read_error(void *token, const char *msg)
{
    struct probe *p = token;
    if (p->slot != NULL) {
        struct slot *s = detach(p);
        slot_buf(s)->len = 0; /* the no-op answer the read could not confirm */
        slot_error(s, msg); /* nothing was applied: the read was not confirmed */
    }
    free(p);
}

void probe_client_gone(struct client *c)
{
    struct list_node *n, *next;
    list_foreach_safe(n, next, &c->probes) {
        struct probe *p = list_entry(n, struct probe, node);
        list_remove(&c->probes, &p->node);
        p->c = NULL; /* the slot stays: an orphan, freed when the read path answers it */
    }
}
