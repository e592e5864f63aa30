/* Ordering of writes and consistent reads (local engine: one node, entries applied as soon
 * as they are flushed). Batches: every write that arrives before a flush goes into one entry;
 * reads wait for the entry proposed after them. A write arriving after a queued read starts
 * a new batch, so a client's read never sees its own later writes. */
#include "consensus.h"

#include <stdlib.h>

#include "client.h"
#include "command.h"
#include "entry.h"
#include "fsm.h"
#include "kv.h"
#include "log.h"
#include "server.h"

struct pending_read {
    struct slot *slot;
    const struct command *cmd;
    struct request *req;
};

struct batch {
    struct batch *next;
    struct entry_builder eb;
    struct slot **slots; /* one per write; NULL for the server's own writes */
    int nwrites, slots_cap;
    struct pending_read *reads;
    int nreads, reads_cap;
};

struct consensus {
    struct server *srv;
    struct batch *open;
    struct batch *head, *tail; /* sealed batches not yet proposed */
    struct consensus_stats stats;
};

static struct batch *batch_new(void)
{
    struct batch *b = xcalloc(1, sizeof(*b));
    entry_builder_init(&b->eb, ENTRY_COMMANDS);
    return b;
}

static void batch_free(struct batch *b)
{
    entry_builder_close(&b->eb);
    free(b->slots);
    for (int i = 0; i < b->nreads; i++)
        request_free(b->reads[i].req);
    free(b->reads);
    free(b);
}

struct consensus *consensus_new(struct server *srv, char *err, size_t errlen)
{
    struct consensus *cs = xcalloc(1, sizeof(*cs));
    cs->srv = srv;
    return cs;
}

/* Answer everything B still owes with ERR. */
static void batch_fail(struct batch *b, const char *msg)
{
    for (int i = 0; i < b->nwrites; i++)
        if (b->slots[i])
            slot_error(b->slots[i], msg);
    for (int i = 0; i < b->nreads; i++)
        slot_error(b->reads[i].slot, msg);
    batch_free(b);
}

void consensus_free(struct consensus *cs)
{
    if (cs == NULL)
        return;
    const char *msg = "ERR server shutting down";
    while (cs->head) {
        struct batch *b = cs->head;
        cs->head = b->next;
        batch_fail(b, msg);
    }
    if (cs->open)
        batch_fail(cs->open, msg);
    free(cs);
}

static void seal_open(struct consensus *cs)
{
    struct batch *b = cs->open;
    if (b == NULL)
        return;
    cs->open = NULL;
    if (cs->tail)
        cs->tail->next = b;
    else
        cs->head = b;
    cs->tail = b;
}

void consensus_write(struct consensus *cs, struct client *c, struct request *req)
{
    if (cs->open && cs->open->nreads > 0)
        seal_open(cs);
    if (cs->open == NULL)
        cs->open = batch_new();
    struct batch *b = cs->open;
    if (b->nwrites == b->slots_cap) {
        b->slots_cap = b->slots_cap ? b->slots_cap * 2 : 16;
        b->slots = xrealloc(b->slots, sizeof(*b->slots) * (size_t)b->slots_cap);
    }
    b->slots[b->nwrites++] = c ? client_defer(c) : NULL;
    entry_builder_add(&b->eb, req->argc, req->argv, req->len);
    request_free(req);
    server_want_flush(cs->srv);
}

void consensus_read(struct consensus *cs, struct client *c, const struct command *cmd,
                    struct request *req)
{
    if (cs->open == NULL)
        cs->open = batch_new();
    struct batch *b = cs->open;
    if (b->nreads == b->reads_cap) {
        b->reads_cap = b->reads_cap ? b->reads_cap * 2 : 16;
        b->reads = xrealloc(b->reads, sizeof(*b->reads) * (size_t)b->reads_cap);
    }
    b->reads[b->nreads++] = (struct pending_read){client_defer(c), cmd, req};
    server_want_flush(cs->srv);
}

/* Hand each write's reply from R to its slot. */
static void deliver_writes(struct batch *b, struct fsm_result *r)
{
    size_t start = 0;
    for (int i = 0; i < b->nwrites; i++) {
        struct slot *s = b->slots[i];
        if (r == NULL || (uint32_t)i >= r->n) {
            if (s)
                slot_error(s, "ERR internal error: no reply from apply");
            continue;
        }
        if (s) {
            buf_append(&s->out, r->out.data + start, r->ends[i] - start);
            slot_done(s);
        }
        start = r->ends[i];
    }
}

/* Execute B's reads against the applied state, with the local clock. */
static void run_reads(struct consensus *cs, struct batch *b)
{
    struct server *srv = cs->srv;
    int64_t now = util_now_ms();
    for (int i = 0; i < b->nreads; i++) {
        struct pending_read *pr = &b->reads[i];
        if (pr->slot->c != NULL) {
            struct exec_ctx ctx = {
                .kv = srv->kv, .now_ms = now, .index = srv->fsm.last_applied,
                .out = &pr->slot->out, .client = pr->slot->c, .srv = srv, .rng = &srv->rng,
            };
            command_exec(pr->cmd, &ctx, pr->req);
        }
        slot_done(pr->slot);
    }
    cs->stats.reads += b->nreads;
}

/* The local engine: an entry is committed and applied as soon as it is proposed. */
static void batch_propose(struct consensus *cs, struct batch *b)
{
    if (b->nwrites > 0) {
        size_t len;
        void *entry = entry_builder_finish(&b->eb, util_now_ms(), &len);
        struct fsm_result *r = fsm_apply(&cs->srv->fsm, entry, len, cs->srv->fsm.last_applied + 1);
        cs->stats.entries_proposed++;
        cs->stats.commands_proposed += b->nwrites;
        deliver_writes(b, r);
        fsm_result_free(r);
        free(entry);
        entry_builder_init(&b->eb, ENTRY_COMMANDS);
    } else {
        cs->stats.barriers++;
    }
    run_reads(cs, b);
    batch_free(b);
}

void consensus_flush(struct consensus *cs)
{
    seal_open(cs);
    while (cs->head) {
        struct batch *b = cs->head;
        cs->head = b->next;
        if (cs->head == NULL)
            cs->tail = NULL;
        batch_propose(cs, b);
    }
    server_flush_writes(cs->srv);
}

int consensus_is_leader(const struct consensus *cs)
{
    return 1;
}

const struct consensus_stats *consensus_stats(const struct consensus *cs)
{
    return &cs->stats;
}
