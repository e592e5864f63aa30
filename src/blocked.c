/* Blocked clients on the leader (blocked.h): each blocking command's record, its tries
 * (proposals of the command itself, which as applied never blocks), its place in the per-key
 * FIFO registry (blocking.c), its timer, and the pass after apply that serves the keys that
 * became non-empty. A try's cookie is the client's reply slot, which points back here. */
#include "blocked.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "blocking.h"
#include "client.h"
#include "command.h"
#include "consensus.h"
#include "kv.h"
#include "server.h"
#include "value.h"

/* What answers a client whose pop in flight comes back with nothing. */
enum { END_WAIT, END_TIMEOUT, END_UNBLOCK_ERROR, END_GONE };

struct blocked {
    struct blocking_waiter w; /* in the registry while blocked */
    struct list_node node;    /* in the server's blocked list */
    struct server *srv;
    struct client *c;         /* NULL once the client has gone */
    struct slot *slot;        /* the reply */
    struct request *req;      /* proposed again on each try */
    const struct block_spec *spec;
    int db;                   /* the client's database when it blocked */
    struct event *timer;      /* NULL: waits forever */
    int end;
};

/* Where a blocking command's keys and timeout are and what it answers when nothing comes:
 * its own small table, since only these handlers need it. */
struct block_spec {
    cmd_proc *proc;
    int type;        /* the enum kv_type it pops */
    int timeout_arg; /* 0: the last argument */
    int numkeys_arg; /* > 0: the keys follow the count there; 0: keys from 1 to the timeout */
    int one_key;     /* only argv[1] is waited on (BLMOVE, BRPOPLPUSH) */
    int nil_bulk;    /* times out with a null bulk string, else a null array */
};

static const struct block_spec block_specs[] = {
    {cmd_bzpopmin, KV_ZSET, 0, 0, 0, 0},
    {cmd_bzpopmax, KV_ZSET, 0, 0, 0, 0},
    {cmd_bzmpop, KV_ZSET, 1, 2, 0, 0},
    {cmd_blpop, KV_LIST, 0, 0, 0, 0},
    {cmd_brpop, KV_LIST, 0, 0, 0, 0},
    {cmd_blmpop, KV_LIST, 1, 2, 0, 0},
    {cmd_blmove, KV_LIST, 5, 0, 1, 1}, /* the fill limits follow the timeout */
    {cmd_brpoplpush, KV_LIST, 3, 0, 1, 1},
};

static const struct block_spec *spec_of(const struct command *cmd)
{
    for (size_t i = 0; i < sizeof(block_specs) / sizeof(block_specs[0]); i++)
        if (block_specs[i].proc == cmd->proc)
            return &block_specs[i];
    return NULL;
}

static void finish(struct blocked *b, const char *data, size_t len);

/* The registry's keys name a database too: two bytes of its index, then the key. */
#define REG_DB_BYTES 2

static char *reg_key(int db, const char *key, size_t len)
{
    char *k = xmalloc(len + REG_DB_BYTES);
    k[0] = (char)(db >> 8);
    k[1] = (char)(db & 0xff);
    memcpy(k + REG_DB_BYTES, key, len);
    return k;
}

static void on_key_created(void *arg, int db, const char *key, size_t klen)
{
    struct server *srv = arg;
    if (key == NULL) { /* the whole database (kv_signal_all_created) */
        char p[REG_DB_BYTES] = {(char)(db >> 8), (char)(db & 0xff)};
        blocking_signal_prefix(&srv->blocking, p, REG_DB_BYTES);
        return;
    }
    char *k = reg_key(db, key, klen);
    blocking_signal(&srv->blocking, k, klen + REG_DB_BYTES);
    free(k);
}

void blocked_init(struct server *srv)
{
    blocking_init(&srv->blocking);
    for (int d = 0; d < srv->fsm.ndbs; d++)
        kv_set_created_hook(srv->fsm.dbs[d], on_key_created, srv);
}

void blocked_close(struct server *srv)
{
    /* Records whose pop was in flight when their client went: nobody answers them now. */
    while (srv->blocked.head != NULL)
        finish(list_entry(srv->blocked.head, struct blocked, node), NULL, 0);
    for (int d = 0; d < srv->fsm.ndbs; d++)
        kv_set_created_hook(srv->fsm.dbs[d], NULL, NULL);
    blocking_close(&srv->blocking);
}

/* The reply meaning "nothing was popped": what the command answers as applied when every
 * key is empty, and at a timeout. */
static int is_nil(const struct blocked *b, const char *data, size_t len)
{
    const char *nil = b->spec->nil_bulk ? "$-1\r\n" : "*-1\r\n";
    return len == 5 && memcmp(data, nil, 5) == 0;
}

/* Answer B's client with DATA (LEN bytes of RESP; NULL: the nil reply) and free B. */
static void finish(struct blocked *b, const char *data, size_t len)
{
    struct server *srv = b->srv;
    blocking_remove(&srv->blocking, &b->w);
    list_remove(&srv->blocked, &b->node);
    if (b->timer)
        event_free(b->timer);
    struct buf *out = slot_buf(b->slot);
    if (data)
        reply_convert(out, data, len); /* apply's form to the client's protocol */
    else if (b->spec->nil_bulk)
        reply_null(out);
    else
        reply_null_array(out);
    b->slot->blk = NULL;
    if (b->c) {
        b->c->blk = NULL;
        b->c->blk_resume = 1; /* client_flush dispatches what it sent meanwhile */
        server_want_write(srv, b->c);
    }
    slot_done(b->slot); /* frees the slot when the client has gone */
    request_free(b->req);
    free(b);
}

static void finish_error(struct blocked *b, const char *msg)
{
    struct buf e;
    buf_init(&e);
    reply_error(&e, msg);
    finish(b, e.data, e.len);
    buf_close(&e);
}

/* Propose B's pop (the command as the client sent it). */
static void try_pop(struct blocked *b)
{
    b->w.inflight = 1;
    consensus_write_db(b->srv->cs, b->slot, b->db, request_dup(b->req));
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct blocked *b = arg;
    if (b->w.inflight)
        b->end = END_TIMEOUT; /* the pop's outcome decides: an element, or nil */
    else
        finish(b, NULL, 0);
}

void blocked_start(struct client *c, const struct command *cmd, struct request *req)
{
    struct server *srv = c->srv;
    const struct block_spec *spec = spec_of(cmd);
    if (spec == NULL) {
        reply_error(client_reply_buf(c), "ERR this blocking command is not available yet");
        request_free(req);
        return;
    }
    int t = spec->timeout_arg > 0 ? spec->timeout_arg : req->argc - 1;
    int64_t now = util_now_ms(), deadline = 0;
    const char *err;
    if (blocking_parse_timeout(req->argv[t], req->len[t], now, &deadline, &err) != 0) {
        reply_error(client_reply_buf(c), err); /* prepare checked it: not reached */
        request_free(req);
        return;
    }
    struct blocked *b = xcalloc(1, sizeof(*b));
    b->srv = srv;
    b->c = c;
    b->spec = spec;
    b->req = req;
    b->db = client_db(c);
    b->slot = client_defer(c);
    b->slot->blk = b;
    c->blk = b;
    list_push_back(&srv->blocked, &b->node);
    if (deadline > 0) {
        int64_t ms = deadline - now;
        struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
        b->timer = evtimer_new(srv->base, on_timeout, b);
        evtimer_add(b->timer, &tv);
    }
    try_pop(b);
}

/* Register B on its keys, after every client already blocked on them. */
static void block_on_keys(struct blocked *b)
{
    const struct request *req = b->req;
    int first, end;
    if (b->spec->numkeys_arg > 0) {
        long long n = 0;
        util_parse_ll(req->argv[b->spec->numkeys_arg], req->len[b->spec->numkeys_arg], &n);
        first = b->spec->numkeys_arg + 1;
        end = first + (int)n;
    } else {
        first = 1;
        end = b->spec->one_key ? 2 : req->argc - 1;
    }
    int n = end - first;
    char **keys = xmalloc(sizeof(char *) * (size_t)(n > 0 ? n : 1));
    size_t *lens = xmalloc(sizeof(size_t) * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++) {
        keys[i] = reg_key(b->db, req->argv[first + i], req->len[first + i]);
        lens[i] = req->len[first + i] + REG_DB_BYTES;
    }
    blocking_add(&b->srv->blocking, &b->w, b->spec->type, n, (const char *const *)keys, lens);
    for (int i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    free(lens);
    /* Its keys may have been created in the very entry that found them empty. */
    blocking_signal_waiter(&b->srv->blocking, &b->w);
}

void blocked_on_reply(struct blocked *b, const char *data, size_t len)
{
    b->w.inflight = 0;
    if (!is_nil(b, data, len)) {
        /* Popped (or an error such as WRONGTYPE): the others on its keys may be next. */
        blocking_signal_waiter(&b->srv->blocking, &b->w);
        finish(b, data, len);
        return;
    }
    switch (b->end) {
    case END_TIMEOUT:
    case END_GONE:
        finish(b, NULL, 0);
        return;
    case END_UNBLOCK_ERROR:
        finish_error(b, BLOCKED_MSG_UNBLOCKED);
        return;
    }
    if (!blocking_is_blocked(&b->w))
        block_on_keys(b);
}

void blocked_on_error(struct blocked *b, const char *msg)
{
    int was_blocked = blocking_is_blocked(&b->w);
    b->w.inflight = 0;
    if (was_blocked && strncmp(msg, "UNCERTAIN", 9) == 0)
        msg = BLOCKED_MSG_UNKNOWN;
    else if (was_blocked && strncmp(msg, "TRYAGAIN", 8) == 0)
        msg = BLOCKED_MSG_LOST;
    finish_error(b, msg);
}

void blocked_client_gone(struct blocked *b)
{
    b->c = NULL;
    if (b->w.inflight) {
        /* Answered (to nobody) when the pop's outcome arrives. */
        b->end = END_GONE;
        blocking_remove(&b->srv->blocking, &b->w);
        return;
    }
    finish(b, NULL, 0);
}

/* The type of the value at the registry's key KEY (database and key) and how many elements
 * it holds (0: absent or a string). */
static size_t key_elements(struct server *srv, const char *key, size_t len, int *type)
{
    struct kv_store *kv = len >= REG_DB_BYTES
        ? fsm_db(&srv->fsm, ((unsigned char)key[0] << 8) | (unsigned char)key[1]) : NULL;
    struct kv_entry *e = kv ? kv_peek(kv, key + REG_DB_BYTES, len - REG_DB_BYTES, util_now_ms()) : NULL;
    if (e == NULL || value_ops(e->type) == NULL)
        return 0;
    *type = e->type;
    return value_ops(e->type)->len(kv_entry_obj(e));
}

/* Leadership is gone (or the server stops): nothing will be proposed for the blocked
 * clients; answer them with MSG. */
static void fail_blocked(struct server *srv, const char *msg)
{
    struct list_node *n, *next;
    list_foreach_safe(n, next, &srv->blocked) {
        struct blocked *b = list_entry(n, struct blocked, node);
        if (!b->w.inflight && blocking_is_blocked(&b->w))
            finish_error(b, msg);
    }
    while (blocking_next_ready(&srv->blocking) != NULL)
        ;
}

void blocked_serve(struct server *srv)
{
    struct blocking_registry *r = &srv->blocking;
    struct blocking_queue *q;
    if (r->nwaiters == 0)
        return;
    if (srv->shutting_down) {
        fail_blocked(srv, "TRYAGAIN server is shutting down; nothing was popped");
        return;
    }
    if (!consensus_accepts(srv->cs)) {
        fail_blocked(srv, BLOCKED_MSG_LOST);
        return;
    }
    while ((q = blocking_next_ready(r)) != NULL) {
        size_t klen;
        int type = -1;
        const char *key = blocking_queue_key(q, &klen);
        size_t avail = key_elements(srv, key, klen, &type);
        /* Pops already in flight take elements first; then the rest in blocking order. A
         * client waiting for another type stays blocked, as in Redis 7.0. */
        struct blocking_waiter *x;
        for (x = blocking_queue_first(q); x && avail > 0; x = blocking_queue_next(q, x))
            if (x->inflight && x->type == type)
                avail--;
        for (x = blocking_queue_first(q); x && avail > 0; x = blocking_queue_next(q, x)) {
            struct blocked *b = (struct blocked *)(void *)x; /* w is the first member */
            if (x->inflight || x->type != type || b->end != END_WAIT)
                continue;
            try_pop(b);
            avail--;
        }
    }
}

int server_unblock_client(struct server *srv, uint64_t id, int error)
{
    for (struct list_node *n = srv->blocked.head; n; n = n->next) {
        struct blocked *b = list_entry(n, struct blocked, node);
        if (b->c == NULL || client_id(b->c) != id || !blocking_is_blocked(&b->w) ||
            b->end != END_WAIT)
            continue;
        if (b->w.inflight)
            b->end = error ? END_UNBLOCK_ERROR : END_TIMEOUT;
        else if (error)
            finish_error(b, BLOCKED_MSG_UNBLOCKED);
        else
            finish(b, NULL, 0);
        return 1;
    }
    return 0;
}
