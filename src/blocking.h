/* The pure parts of blocking commands (BLPOP, BZPOPMIN ...): Redis's timeout argument, and the
 * registry of clients blocked on keys, FIFO per key, with the set of keys that may have become
 * ready. No I/O, no clock, no loop: the dispatcher (blocked.c) owns the waiters and the timers. */
#ifndef CONCORDKV_BLOCKING_H
#define CONCORDKV_BLOCKING_H

#include <stddef.h>
#include <stdint.h>

#include "list.h"

/* Parse a blocking command's timeout (seconds, a float, as Redis 7.0's
 * getTimeoutFromObjectOrReply with UNIT_SECONDS) at NOW_MS: 0 with *DEADLINE_MS set (0: wait
 * forever, else the absolute time in ms), or -1 with *ERR pointing at Redis's error text
 * ("ERR timeout is not a float or out of range", "ERR timeout is negative"). */
int blocking_parse_timeout(const char *s, size_t len, int64_t now_ms, int64_t *deadline_ms,
                           const char **err);

struct buf;
struct request;
/* The same for argument I of REQ, for the handlers and prepare steps: 0, or -1 after the
 * error reply to OUT. */
int blocking_check_timeout_arg(const struct request *req, int i, int64_t now_ms, struct buf *out);

struct blocking_queue;

/* One blocked client, embedded in the dispatcher's record: zero it before blocking_add. */
struct blocking_waiter {
    struct blocking_link *links; /* one per distinct key, owned by the registry */
    int nlinks;
    int type;     /* the enum kv_type it pops (KV_ZSET, KV_LIST) */
    int inflight; /* the dispatcher proposed its pop and waits for the outcome */
};

/* The clients blocked on each key, in the order they blocked, and the keys signalled since
 * the last blocking_next_ready. */
struct blocking_registry {
    struct dict *keys;  /* key -> struct blocking_queue */
    struct list ready;  /* of struct blocking_queue: signalled, each once */
    int nwaiters;
};

void blocking_init(struct blocking_registry *r);
/* Free the registry; call once every waiter has been removed. */
void blocking_close(struct blocking_registry *r);
/* Block W (zeroed, owned by the caller, which keeps it alive until blocking_remove) on the
 * NKEYS keys KEYS[i] (LENS[i] bytes, copied), after every waiter already blocked on each.
 * A key given twice counts once. */
void blocking_add(struct blocking_registry *r, struct blocking_waiter *w, int type, int nkeys,
                  const char *const *keys, const size_t *lens);
/* Unblock W (no-op when it is not blocked). */
void blocking_remove(struct blocking_registry *r, struct blocking_waiter *w);
/* Whether W is blocked. */
static inline int blocking_is_blocked(const struct blocking_waiter *w) { return w->nlinks > 0; }
/* KEY (LEN bytes) may have become non-empty: remember it when a waiter is blocked on it. */
void blocking_signal(struct blocking_registry *r, const char *key, size_t len);
/* Signal every key that starts with PREFIX (LEN bytes): a whole database (SWAPDB). */
void blocking_signal_prefix(struct blocking_registry *r, const char *prefix, size_t len);
/* Signal every key W is blocked on. */
void blocking_signal_waiter(struct blocking_registry *r, struct blocking_waiter *w);
/* The next signalled key (its queue, taken off the ready set; NULL when none). The queue
 * stays valid until a waiter on it is removed. */
struct blocking_queue *blocking_next_ready(struct blocking_registry *r);
/* A queue's key (*LEN bytes) and its first waiter; blocking_queue_next: the waiter after W
 * in Q (NULL at the end). */
const char *blocking_queue_key(const struct blocking_queue *q, size_t *len);
struct blocking_waiter *blocking_queue_first(const struct blocking_queue *q);
struct blocking_waiter *blocking_queue_next(const struct blocking_queue *q,
                                            const struct blocking_waiter *w);
/* How many waiters are blocked (INFO's blocked_clients), and on KEY. */
static inline int blocking_count(const struct blocking_registry *r) { return r->nwaiters; }
int blocking_key_count(const struct blocking_registry *r, const char *key, size_t len);

#endif
