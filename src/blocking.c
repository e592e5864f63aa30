/* The pure parts of blocking commands: the timeout argument and the per-key FIFO registry of
 * blocked clients (blocking.h). Knows nothing of clients, consensus or the loop. */
#include "blocking.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "resp.h"
#include "util.h"

#define TIMEOUT_MAX_CHARS 5120 /* Redis's MAX_LONG_DOUBLE_CHARS */

int blocking_parse_timeout(const char *s, size_t len, int64_t now_ms, int64_t *deadline_ms,
                           const char **err)
{
    char buf[TIMEOUT_MAX_CHARS], *end;
    long double v;

    /* Redis's string2ld: the whole string, no leading space, no NaN, no overflow. */
    if (len == 0 || len >= sizeof(buf)) {
        *err = "ERR timeout is not a float or out of range";
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || *end != '\0' || (size_t)(end - buf) != len ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)) || errno == EINVAL ||
        isnan(v)) {
        *err = "ERR timeout is not a float or out of range";
        return -1;
    }
    long double ms = ceill(v * 1000.0L);
    /* Redis converts with (long long): on x86-64 anything out of range (infinity
     * included) becomes LLONG_MIN, hence "negative". */
    if (!(ms >= -9223372036854775808.0L && ms < 9223372036854775808.0L) || ms < 0) {
        *err = "ERR timeout is negative";
        return -1;
    }
    int64_t t = (int64_t)ms;
    if (t == 0)
        *deadline_ms = 0;
    else
        *deadline_ms = t > INT64_MAX - now_ms ? INT64_MAX : t + now_ms;
    return 0;
}

int blocking_check_timeout_arg(const struct request *req, int i, int64_t now_ms, struct buf *out)
{
    int64_t deadline;
    const char *err;
    if (blocking_parse_timeout(req->argv[i], req->len[i], now_ms, &deadline, &err) != 0) {
        reply_error(out, err);
        return -1;
    }
    return 0;
}

/* ---- the registry ---- */

struct blocking_link {
    struct list_node node; /* in its queue */
    struct blocking_waiter *w;
    struct blocking_queue *q;
};

struct blocking_queue {
    struct list waiters;   /* of struct blocking_link, in blocking order */
    struct list_node ready_node;
    const char *key;       /* the dict's copy */
    size_t klen;
};

void blocking_init(struct blocking_registry *r)
{
    memset(r, 0, sizeof(*r));
    r->keys = dict_new(DICT_DEFAULT_SEED);
}

static void queue_free(void *val)
{
    free(val);
}

void blocking_close(struct blocking_registry *r)
{
    dict_free(r->keys, queue_free);
    memset(r, 0, sizeof(*r));
}

void blocking_add(struct blocking_registry *r, struct blocking_waiter *w, int type, int nkeys,
                  const char *const *keys, const size_t *lens)
{
    w->type = type;
    w->links = xcalloc((size_t)(nkeys > 0 ? nkeys : 1), sizeof(*w->links));
    w->nlinks = 0;
    for (int i = 0; i < nkeys; i++) {
        int added;
        struct dict_entry *de = dict_insert(r->keys, keys[i], lens[i], &added);
        if (added) {
            struct blocking_queue *q = xcalloc(1, sizeof(*q));
            q->key = de->key;
            q->klen = de->klen;
            de->val = q;
        }
        struct blocking_queue *q = de->val;
        int dup = 0;
        for (int j = 0; j < w->nlinks; j++)
            dup |= w->links[j].q == q;
        if (dup)
            continue;
        struct blocking_link *l = &w->links[w->nlinks++];
        l->w = w;
        l->q = q;
        list_push_back(&q->waiters, &l->node);
    }
    r->nwaiters++;
}

void blocking_remove(struct blocking_registry *r, struct blocking_waiter *w)
{
    if (w->nlinks == 0)
        return;
    for (int i = 0; i < w->nlinks; i++) {
        struct blocking_queue *q = w->links[i].q;
        list_remove(&q->waiters, &w->links[i].node);
        if (q->waiters.n == 0) {
            if (q->ready_node.linked)
                list_remove(&r->ready, &q->ready_node);
            dict_delete(r->keys, q->key, q->klen, NULL);
            free(q);
        }
    }
    free(w->links);
    w->links = NULL;
    w->nlinks = 0;
    r->nwaiters--;
}

void blocking_signal(struct blocking_registry *r, const char *key, size_t len)
{
    if (r->nwaiters == 0)
        return;
    struct dict_entry *de = dict_find(r->keys, key, len);
    if (de == NULL)
        return;
    struct blocking_queue *q = de->val;
    if (!q->ready_node.linked)
        list_push_back(&r->ready, &q->ready_node);
}

void blocking_signal_prefix(struct blocking_registry *r, const char *prefix, size_t len)
{
    struct dict_iter it;
    struct dict_entry *de;
    if (r->nwaiters == 0)
        return;
    dict_iter_init(&it, r->keys);
    while ((de = dict_iter_next(&it)) != NULL) {
        struct blocking_queue *q = de->val;
        if (de->klen >= len && memcmp(de->key, prefix, len) == 0 && !q->ready_node.linked)
            list_push_back(&r->ready, &q->ready_node);
    }
    dict_iter_close(&it);
}

void blocking_signal_waiter(struct blocking_registry *r, struct blocking_waiter *w)
{
    for (int i = 0; i < w->nlinks; i++) {
        struct blocking_queue *q = w->links[i].q;
        if (!q->ready_node.linked)
            list_push_back(&r->ready, &q->ready_node);
    }
}

struct blocking_queue *blocking_next_ready(struct blocking_registry *r)
{
    struct list_node *n = list_pop_front(&r->ready); /* list_entry reads its argument twice */
    return list_entry(n, struct blocking_queue, ready_node);
}

const char *blocking_queue_key(const struct blocking_queue *q, size_t *len)
{
    *len = q->klen;
    return q->key;
}

struct blocking_waiter *blocking_queue_first(const struct blocking_queue *q)
{
    struct blocking_link *l = list_entry(q->waiters.head, struct blocking_link, node);
    return l ? l->w : NULL;
}

struct blocking_waiter *blocking_queue_next(const struct blocking_queue *q,
                                            const struct blocking_waiter *w)
{
    for (int i = 0; i < w->nlinks; i++)
        if (w->links[i].q == q) {
            struct blocking_link *l = list_entry(w->links[i].node.next, struct blocking_link, node);
            return l ? l->w : NULL;
        }
    return NULL;
}

int blocking_key_count(const struct blocking_registry *r, const char *key, size_t len)
{
    struct dict_entry *de = dict_find(r->keys, key, len);
    return de ? ((struct blocking_queue *)de->val)->waiters.n : 0;
}
