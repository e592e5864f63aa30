/* Writes that change nothing, answered as reads (see cmd_noop_proc in command.h): a pop or a
 * removal on a key that does not exist (not even expired: an expired key is deleted by the
 * write in apply, so that write is not a no-op), and SADD of members all already in the
 * set. Redis writes nothing to its AOF for these, so with appendfsync always they cost it no
 * fsync; here they cost no log entry. Pure: reads the keyspace, never changes it. */
#include "command.h"

#include <string.h>

#include "exec.h"
#include "kv.h"
#include "resp.h"
#include "set.h"

/* The key does not exist at all: the write's own handler answers (its empty reply, or its
 * argument error), and with no key to find it changes nothing. */
static int noop_absent(struct exec_ctx *ctx, const struct command *cmd, struct request *req)
{
    if (kv_find(ctx->kv, req->argv[1], req->len[1]) != NULL)
        return 0;
    cmd->proc(ctx, req);
    return 1;
}

/* SADD key member...: the key holds a set (not expired) with every member in it. */
static int noop_sadd(struct exec_ctx *ctx, const struct command *cmd, struct request *req)
{
    (void)cmd;
    struct kv_entry *e = kv_peek(ctx->kv, req->argv[1], req->len[1], ctx->now_ms);
    if (e == NULL || e->type != KV_SET)
        return 0;
    const struct set *s = kv_entry_obj(e);
    for (int i = 2; i < req->argc; i++)
        if (!set_contains(s, req->argv[i], req->len[i]))
            return 0;
    reply_int(ctx->out, 0);
    return 1;
}

cmd_noop_proc *command_noop_for(const char *name)
{
    static const struct {
        const char *name;
        cmd_noop_proc *noop;
    } rows[] = {
        {"sadd", noop_sadd},     {"srem", noop_absent},    {"spop", noop_absent},
        {"hdel", noop_absent},   {"zrem", noop_absent},    {"zpopmin", noop_absent},
        {"zpopmax", noop_absent}, {"lpop", noop_absent},   {"rpop", noop_absent},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (strcmp(rows[i].name, name) == 0)
            return rows[i].noop;
    return NULL;
}
