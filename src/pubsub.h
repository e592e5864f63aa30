/* Pub/Sub: this node's registry of subscriptions (channels, patterns, shard channels) and
 * the delivery of a published message to its own subscribers, rendered as Redis 7.0's RESP2
 * push arrays. Pure: no sockets, no raft; a subscriber is an opaque owner handed back to the
 * deliver callback. Subscriptions are per node, never replicated. */
#ifndef CONCORDKV_PUBSUB_H
#define CONCORDKV_PUBSUB_H

#include <stddef.h>

struct buf;
struct dict;

/* Hand the LEN bytes at MSG (one complete RESP value) to subscriber OWNER's output. */
typedef void pubsub_deliver_fn(void *arg, void *owner, const char *msg, size_t len);

/* One connection's subscriptions, embedded in its owner (a client). */
struct pubsub_sub {
    void *owner;           /* given back to the deliver callback */
    struct dict *channels; /* names only; NULL while empty */
    struct dict *patterns;
    struct dict *shard;
};

enum pubsub_kind { PUBSUB_CHANNEL, PUBSUB_PATTERN, PUBSUB_SHARD, PUBSUB_KINDS };

struct pubsub {
    struct dict *subs[PUBSUB_KINDS]; /* name -> struct pubsub_list (its subscribers) */
    pubsub_deliver_fn *deliver;
    void *arg;
    /* notify-keyspace-events of this node (notify.h flags), read at delivery; NULL: none */
    const long long *notify_flags;
    long long messages; /* messages delivered (one per receiver) */
};

/* Set up PS to deliver through DELIVER(ARG, ...). pubsub_close frees the registry (not the
 * subscribers, which must have left with pubsub_sub_close first). */
void pubsub_init(struct pubsub *ps, pubsub_deliver_fn *deliver, void *arg);
void pubsub_close(struct pubsub *ps);

/* S belongs to OWNER and subscribes to nothing yet. */
void pubsub_sub_init(struct pubsub_sub *s, void *owner);
/* Drop every subscription of S (no replies), e.g. when its connection closes. */
void pubsub_sub_close(struct pubsub *ps, struct pubsub_sub *s);

/* Subscriptions of S counted as Redis counts them in replies: channels plus patterns
 * (SUBSCRIBE, PSUBSCRIBE ...), shard channels alone (SSUBSCRIBE ...). pubsub_sub_total:
 * all three; a connection with any is in subscribed mode. */
long long pubsub_sub_count(const struct pubsub_sub *s, enum pubsub_kind kind);
long long pubsub_sub_total(const struct pubsub_sub *s);

/* SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE NAME (copied) for S, then append the confirmation
 * (["subscribe", name, count] ...) to OUT. Subscribing twice is a no-op but still answered. */
void pubsub_subscribe(struct pubsub *ps, struct pubsub_sub *s, enum pubsub_kind kind,
                      const char *name, size_t len, struct buf *out);
/* The UNSUBSCRIBE family for one NAME, answered in OUT (["unsubscribe", name, count]). */
void pubsub_unsubscribe(struct pubsub *ps, struct pubsub_sub *s, enum pubsub_kind kind,
                        const char *name, size_t len, struct buf *out);
/* ... and with no argument: from every name of KIND, one answer each, or one answer with a
 * null name when S had none. OUT NULL: no answers (RESET). */
void pubsub_unsubscribe_all(struct pubsub *ps, struct pubsub_sub *s, enum pubsub_kind kind,
                            struct buf *out);

/* Deliver MSG on CHANNEL to this node's subscribers: SHARD 0 to the channel's subscribers
 * (["message", channel, msg]) then to each matching pattern's (["pmessage", pattern,
 * channel, msg]); SHARD 1 to the shard channel's (["smessage", channel, msg]). Returns the
 * number of receivers, as PUBLISH / SPUBLISH answer it. */
long long pubsub_publish(struct pubsub *ps, int shard, const char *channel, size_t clen,
                         const char *msg, size_t mlen);

/* PUBSUB CHANNELS / SHARDCHANNELS [pattern] (PAT NULL: all) as a RESP array, NUMSUB /
 * SHARDNUMSUB of one name, and NUMPAT. */
void pubsub_reply_channels(const struct pubsub *ps, enum pubsub_kind kind, const char *pat,
                           size_t plen, struct buf *out);
long long pubsub_numsub(const struct pubsub *ps, enum pubsub_kind kind, const char *name,
                        size_t len);
long long pubsub_numpat(const struct pubsub *ps);

#endif
