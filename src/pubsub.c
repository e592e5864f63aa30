/* Pub/Sub registry and delivery (pubsub.h): which of this node's connections listen to
 * which channel, pattern or shard channel, and the RESP2 arrays Redis 7.0 sends them. Pure:
 * delivery goes through the callback the dispatcher gives; nothing here is replicated. */
#include "pubsub.h"

#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "resp.h"
#include "util.h"

/* The subscribers of one name, in subscription order (delivery follows it). */
struct pubsub_list {
    struct pubsub_sub **v;
    size_t n, cap;
};

static const char *const kind_subscribe[PUBSUB_KINDS] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const kind_unsubscribe[PUBSUB_KINDS] = {"unsubscribe", "punsubscribe",
                                                           "sunsubscribe"};

static void list_free(void *p)
{
    struct pubsub_list *l = p;
    if (l != NULL)
        free(l->v);
    free(l);
}

void pubsub_init(struct pubsub *ps, pubsub_deliver_fn *deliver, void *arg)
{
    memset(ps, 0, sizeof(*ps));
    for (int k = 0; k < PUBSUB_KINDS; k++)
        ps->subs[k] = dict_new(DICT_DEFAULT_SEED);
    ps->deliver = deliver;
    ps->arg = arg;
}

void pubsub_close(struct pubsub *ps)
{
    for (int k = 0; k < PUBSUB_KINDS; k++) {
        dict_free(ps->subs[k], list_free);
        ps->subs[k] = NULL;
    }
}

void pubsub_sub_init(struct pubsub_sub *s, void *owner)
{
    memset(s, 0, sizeof(*s));
    s->owner = owner;
}

static struct dict **sub_dict(struct pubsub_sub *s, enum pubsub_kind kind)
{
    return kind == PUBSUB_CHANNEL ? &s->channels : kind == PUBSUB_PATTERN ? &s->patterns : &s->shard;
}

static size_t dsize(const struct dict *d)
{
    return d ? dict_size(d) : 0;
}

long long pubsub_sub_count(const struct pubsub_sub *s, enum pubsub_kind kind)
{
    if (kind == PUBSUB_SHARD)
        return (long long)dsize(s->shard);
    return (long long)(dsize(s->channels) + dsize(s->patterns));
}

long long pubsub_sub_total(const struct pubsub_sub *s)
{
    return (long long)(dsize(s->channels) + dsize(s->patterns) + dsize(s->shard));
}

/* [word, name or null, count]: the (un)subscribe confirmations. */
static void reply_confirm(struct buf *out, const char *word, const char *name, size_t len,
                          long long count)
{
    reply_push_len(out, 3);
    reply_bulk_cstr(out, word);
    if (name != NULL)
        reply_bulk(out, name, len);
    else
        reply_null(out);
    reply_int(out, count);
}

void pubsub_subscribe(struct pubsub *ps, struct pubsub_sub *s, enum pubsub_kind kind,
                      const char *name, size_t len, struct buf *out)
{
    struct dict **mine = sub_dict(s, kind);
    if (*mine == NULL)
        *mine = dict_new(DICT_DEFAULT_SEED);
    int added;
    dict_insert(*mine, name, len, &added);
    if (added) {
        struct dict_entry *e = dict_insert(ps->subs[kind], name, len, NULL);
        struct pubsub_list *l = e->val;
        if (l == NULL)
            l = e->val = xcalloc(1, sizeof(*l));
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 4;
            l->v = xrealloc(l->v, sizeof(*l->v) * l->cap);
        }
        l->v[l->n++] = s;
    }
    reply_confirm(out, kind_subscribe[kind], name, len, pubsub_sub_count(s, kind));
}

/* Remove S from NAME's subscribers in the registry (S's own dict is the caller's). */
static void registry_remove(struct pubsub *ps, struct pubsub_sub *s, enum pubsub_kind kind,
                            const char *name, size_t len)
{
    struct dict_entry *e = dict_find(ps->subs[kind], name, len);
    struct pubsub_list *l = e ? e->val : NULL;
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == s) {
            memmove(&l->v[i], &l->v[i + 1], sizeof(*l->v) * (l->n - i - 1));
            l->n--;
            break;
        }
    if (l->n == 0) {
        dict_delete(ps->subs[kind], name, len, NULL);
        list_free(l);
    }
}

void pubsub_unsubscribe(struct pubsub *ps, struct pubsub_sub *s, enum pubsub_kind kind,
                        const char *name, size_t len, struct buf *out)
{
    struct dict **mine = sub_dict(s, kind);
    if (*mine != NULL && dict_delete(*mine, name, len, NULL)) {
        registry_remove(ps, s, kind, name, len);
        if (dict_size(*mine) == 0) {
            dict_free(*mine, NULL);
            *mine = NULL;
        }
    }
    if (out != NULL)
        reply_confirm(out, kind_unsubscribe[kind], name, len, pubsub_sub_count(s, kind));
}

void pubsub_unsubscribe_all(struct pubsub *ps, struct pubsub_sub *s, enum pubsub_kind kind,
                            struct buf *out)
{
    struct dict **mine = sub_dict(s, kind);
    if (*mine == NULL) {
        if (out != NULL)
            reply_confirm(out, kind_unsubscribe[kind], NULL, 0, pubsub_sub_count(s, kind));
        return;
    }
    /* Unsubscribing empties and frees *MINE: take the names out first. */
    struct dict *d = *mine;
    size_t n = dict_size(d), i = 0;
    struct dict_entry **names = xmalloc(sizeof(*names) * (n ? n : 1));
    struct dict_iter it;
    struct dict_entry *e;
    dict_iter_init(&it, d);
    while ((e = dict_iter_next(&it)) != NULL)
        names[i++] = e;
    dict_iter_close(&it);
    *mine = NULL;
    for (i = 0; i < n; i++) {
        registry_remove(ps, s, kind, names[i]->key, names[i]->klen);
        if (out != NULL)
            reply_confirm(out, kind_unsubscribe[kind], names[i]->key, names[i]->klen,
                          (long long)(n - i - 1) + (kind == PUBSUB_SHARD ? 0 : pubsub_sub_count(s, kind)));
    }
    free(names);
    dict_free(d, NULL);
}

void pubsub_sub_close(struct pubsub *ps, struct pubsub_sub *s)
{
    for (int k = 0; k < PUBSUB_KINDS; k++)
        pubsub_unsubscribe_all(ps, s, (enum pubsub_kind)k, NULL);
}

/* Hand the message in MSG to every subscriber of L. Returns how many. */
static long long deliver_list(struct pubsub *ps, const struct pubsub_list *l, const struct buf *msg)
{
    for (size_t i = 0; i < l->n; i++)
        ps->deliver(ps->arg, l->v[i]->owner, msg->data, msg->len);
    ps->messages += (long long)l->n;
    return (long long)l->n;
}

long long pubsub_publish(struct pubsub *ps, int shard, const char *channel, size_t clen,
                         const char *msg, size_t mlen)
{
    long long receivers = 0;
    struct buf b;
    buf_init(&b);
    struct dict_entry *e = dict_find(ps->subs[shard ? PUBSUB_SHARD : PUBSUB_CHANNEL], channel, clen);
    if (e != NULL) {
        reply_array(&b, 3);
        reply_bulk_cstr(&b, shard ? "smessage" : "message");
        reply_bulk(&b, channel, clen);
        reply_bulk(&b, msg, mlen);
        receivers += deliver_list(ps, e->val, &b);
    }
    if (!shard && dict_size(ps->subs[PUBSUB_PATTERN]) > 0) {
        struct dict_iter it;
        dict_iter_init(&it, ps->subs[PUBSUB_PATTERN]);
        while ((e = dict_iter_next(&it)) != NULL) {
            if (!util_glob_match(e->key, e->klen, channel, clen, 0))
                continue;
            b.len = 0;
            reply_array(&b, 4);
            reply_bulk_cstr(&b, "pmessage");
            reply_bulk(&b, e->key, e->klen);
            reply_bulk(&b, channel, clen);
            reply_bulk(&b, msg, mlen);
            receivers += deliver_list(ps, e->val, &b);
        }
        dict_iter_close(&it);
    }
    buf_close(&b);
    return receivers;
}

void pubsub_reply_channels(const struct pubsub *ps, enum pubsub_kind kind, const char *pat,
                           size_t plen, struct buf *out)
{
    struct buf items;
    long long n = 0;
    struct dict_iter it;
    struct dict_entry *e;
    buf_init(&items);
    dict_iter_init(&it, ps->subs[kind]);
    while ((e = dict_iter_next(&it)) != NULL)
        if (pat == NULL || util_glob_match(pat, plen, e->key, e->klen, 0)) {
            reply_bulk(&items, e->key, e->klen);
            n++;
        }
    dict_iter_close(&it);
    reply_array(out, n);
    if (items.len)
        buf_append(out, items.data, items.len);
    buf_close(&items);
}

long long pubsub_numsub(const struct pubsub *ps, enum pubsub_kind kind, const char *name,
                        size_t len)
{
    struct dict_entry *e = dict_find(ps->subs[kind], name, len);
    return e ? (long long)((struct pubsub_list *)e->val)->n : 0;
}

long long pubsub_numpat(const struct pubsub *ps)
{
    return (long long)dict_size(ps->subs[PUBSUB_PATTERN]);
}
