/* Keyspace notifications (Redis's notify-keyspace-events): the flag letters, and the one
 * helper every write family calls in apply to publish __keyspace@<db>__:<key> <event> and
 * __keyevent@<db>__:<event> <key> to this node's subscribers. Events are generated in apply, so
 * every node emits the same ones in the same order; each node filters them with its own
 * setting at delivery, a node-local side effect that changes no replicated state. */
#ifndef CONCORDKV_NOTIFY_H
#define CONCORDKV_NOTIFY_H

#include <stddef.h>

struct exec_ctx;
struct pubsub;

/* Redis's classes, same bits and letters. */
enum notify_flags {
    NOTIFY_KEYSPACE = 1 << 0, /* K */
    NOTIFY_KEYEVENT = 1 << 1, /* E */
    NOTIFY_GENERIC = 1 << 2,  /* g */
    NOTIFY_STRING = 1 << 3,   /* $ */
    NOTIFY_LIST = 1 << 4,     /* l */
    NOTIFY_SET = 1 << 5,      /* s */
    NOTIFY_HASH = 1 << 6,     /* h */
    NOTIFY_ZSET = 1 << 7,     /* z */
    NOTIFY_EXPIRED = 1 << 8,  /* x */
    NOTIFY_EVICTED = 1 << 9,  /* e */
    NOTIFY_STREAM = 1 << 10,  /* t */
    NOTIFY_KEY_MISS = 1 << 11, /* m: not part of A */
    NOTIFY_MODULE = 1 << 13,  /* d */
    NOTIFY_NEW = 1 << 14,     /* n: not part of A */
};
#define NOTIFY_ALL (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | \
                    NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE)

/* The flags of the letters in S ("KEA", "Ex" ...), or -1 when S has a letter that is no
 * class (Redis's keyspaceEventsStringToFlags). */
long long notify_flags_parse(const char *s);
/* FLAGS in Redis's normal form (A for all the classes A covers, then K E m) into OUT. */
void notify_flags_text(long long flags, char *out, size_t len);

/* Publish EVENT (a class of TYPE) on KEY of database DB through PS, if PS's node asks for
 * TYPE with K or E. PS NULL: nothing (unit tests of pure keyspace code). */
void notify_event(struct pubsub *ps, int db, int type, const char *event, const char *key,
                  size_t klen);
/* The same from a handler in apply: the node's registry is CTX->pubsub. Every write family
 * calls this once per change it makes (hset, del, expired ...), as Redis's call sites do. */
void notify_keyspace_event(struct exec_ctx *ctx, int type, const char *event, const char *key,
                           size_t klen);

/* One helper per command family, so that each family names its class in one place: the
 * event EVENT on KEY (e.g. notify_hash(ctx, "hset", key, klen)). notify_list is for the
 * list commands (LPUSH: "lpush", RPOP: "rpop", ...), which come later. */
void notify_generic(struct exec_ctx *ctx, const char *event, const char *key, size_t klen);
void notify_string(struct exec_ctx *ctx, const char *event, const char *key, size_t klen);
void notify_list(struct exec_ctx *ctx, const char *event, const char *key, size_t klen);
void notify_set(struct exec_ctx *ctx, const char *event, const char *key, size_t klen);
void notify_hash(struct exec_ctx *ctx, const char *event, const char *key, size_t klen);
void notify_zset(struct exec_ctx *ctx, const char *event, const char *key, size_t klen);

#endif
