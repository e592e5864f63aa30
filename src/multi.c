/* The MULTI state of a connection (multi.h): the queue of requests for EXEC and the watched
 * keys. Pure: no server, client or consensus. */
#include "multi.h"

#include <stdlib.h>

#include "resp.h"
#include "util.h"

void multi_reset(struct multi_state *m)
{
    for (int i = 0; i < m->nqueued; i++)
        request_free(m->queued[i]);
    free(m->queued);
    m->queued = NULL;
    m->nqueued = m->queued_cap = 0;
    m->in_multi = 0;
    m->multi_error = 0;
}

void multi_queue(struct multi_state *m, struct request *req)
{
    m->queued = util_grow(m->queued, m->nqueued, &m->queued_cap, sizeof(*m->queued));
    m->queued[m->nqueued++] = req;
}

void multi_watch(struct multi_state *m, const char *key, size_t len, uint64_t version,
                 uint64_t apply_seq)
{
    m->watched = util_grow(m->watched, m->nwatched, &m->watched_cap, sizeof(*m->watched));
    struct watched_key *w = &m->watched[m->nwatched++];
    w->key = xmemdup(key, len);
    w->len = len;
    w->version = version;
    w->apply_seq = apply_seq;
    w->db = 0;
}

void multi_unwatch(struct multi_state *m)
{
    for (int i = 0; i < m->nwatched; i++)
        free(m->watched[i].key);
    free(m->watched);
    m->watched = NULL;
    m->nwatched = m->watched_cap = 0;
}
