/* Keyspace notifications (notify.h): flag letters and the publish of each event to this
 * node's own subscribers. Changes no replicated state: delivery is a node-local side effect. */
#include "notify.h"

#include <stdio.h>
#include <string.h>

#include "command.h"
#include "kv.h"
#include "pubsub.h"
#include "util.h"

static const struct {
    char letter;
    int flag;
} letters[] = {
    {'g', NOTIFY_GENERIC}, {'$', NOTIFY_STRING}, {'l', NOTIFY_LIST},   {'s', NOTIFY_SET},
    {'h', NOTIFY_HASH},    {'z', NOTIFY_ZSET},   {'x', NOTIFY_EXPIRED}, {'e', NOTIFY_EVICTED},
    {'t', NOTIFY_STREAM},  {'d', NOTIFY_MODULE}, {'n', NOTIFY_NEW},     {'K', NOTIFY_KEYSPACE},
    {'E', NOTIFY_KEYEVENT}, {'m', NOTIFY_KEY_MISS},
};
#define N_LETTERS (sizeof(letters) / sizeof(letters[0]))

long long notify_flags_parse(const char *s)
{
    long long flags = 0;
    for (; *s; s++) {
        if (*s == 'A') {
            flags |= NOTIFY_ALL;
            continue;
        }
        size_t i = 0;
        while (i < N_LETTERS && letters[i].letter != *s)
            i++;
        if (i == N_LETTERS)
            return -1;
        flags |= letters[i].flag;
    }
    return flags;
}

void notify_flags_text(long long flags, char *out, size_t len)
{
    size_t n = 0;
    char tmp[32];
    int all = (flags & NOTIFY_ALL) == NOTIFY_ALL;
    if (all)
        tmp[n++] = 'A';
    for (size_t i = 0; i < N_LETTERS; i++) {
        int in_all = (letters[i].flag & NOTIFY_ALL) != 0;
        if ((flags & letters[i].flag) && !(all && in_all))
            tmp[n++] = letters[i].letter;
    }
    tmp[n] = '\0';
    snprintf(out, len, "%s", tmp);
}

/* "__keyspace@<db>__:" KEY or "__keyevent@<db>__:" EVENT (KIND "keyspace" or "keyevent")
 * as a channel name in B. */
static void channel_name(struct buf *b, const char *kind, int db, const char *name, size_t len)
{
    b->len = 0;
    buf_printf(b, "__%s@%d__:", kind, db);
    buf_append(b, name, len);
}

void notify_event(struct pubsub *ps, int db, int type, const char *event, const char *key,
                  size_t klen)
{
    long long flags = ps && ps->notify_flags ? *ps->notify_flags : 0;
    if (!(flags & type) || !(flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)))
        return;
    struct buf ch;
    size_t elen = strlen(event);
    buf_init(&ch);
    if (flags & NOTIFY_KEYSPACE) {
        channel_name(&ch, "keyspace", db, key, klen);
        pubsub_publish(ps, 0, ch.data, ch.len, event, elen);
    }
    if (flags & NOTIFY_KEYEVENT) {
        channel_name(&ch, "keyevent", db, event, elen);
        pubsub_publish(ps, 0, ch.data, ch.len, key, klen);
    }
    buf_close(&ch);
}

void notify_keyspace_event(struct exec_ctx *ctx, int type, const char *event, const char *key,
                           size_t klen)
{
    notify_event(ctx->pubsub, kv_id(ctx->kv), type, event, key, klen);
}

void notify_generic(struct exec_ctx *ctx, const char *event, const char *key, size_t klen)
{
    notify_event(ctx->pubsub, kv_id(ctx->kv), NOTIFY_GENERIC, event, key, klen);
}

void notify_string(struct exec_ctx *ctx, const char *event, const char *key, size_t klen)
{
    notify_event(ctx->pubsub, kv_id(ctx->kv), NOTIFY_STRING, event, key, klen);
}

void notify_list(struct exec_ctx *ctx, const char *event, const char *key, size_t klen)
{
    notify_event(ctx->pubsub, kv_id(ctx->kv), NOTIFY_LIST, event, key, klen);
}

void notify_set(struct exec_ctx *ctx, const char *event, const char *key, size_t klen)
{
    notify_event(ctx->pubsub, kv_id(ctx->kv), NOTIFY_SET, event, key, klen);
}

void notify_hash(struct exec_ctx *ctx, const char *event, const char *key, size_t klen)
{
    notify_event(ctx->pubsub, kv_id(ctx->kv), NOTIFY_HASH, event, key, klen);
}

void notify_zset(struct exec_ctx *ctx, const char *event, const char *key, size_t klen)
{
    notify_event(ctx->pubsub, kv_id(ctx->kv), NOTIFY_ZSET, event, key, klen);
}
