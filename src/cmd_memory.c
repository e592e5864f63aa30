/* MEMORY USAGE and MEMORY HELP (Redis 7.0 object.c's memoryCommand). A read: it looks at
 * one key and changes nothing, not even the key's access stamp. DOCTOR, MALLOC-STATS, PURGE
 * and STATS are not implemented and answer Redis's unknown-subcommand error. */
#include "command.h"
#include "kv.h"
#include "resp.h"
#include "value.h"

#include <malloc.h>

/* The bytes KEY's entry and value hold: the entry's allocation (header, key, a string's
 * bytes) plus the object's estimate (value_ops bytes: its listpack, intset or dict and
 * elements, counted from sizes, so no sampling is needed). */
static size_t entry_usage(const struct kv_entry *e)
{
    const struct value_ops *ops = value_ops(e->type);
    size_t n = malloc_usable_size((void *)e);
    if (ops != NULL)
        n += ops->bytes(kv_entry_obj(e));
    return n;
}

/* MEMORY USAGE key [SAMPLES count]: SAMPLES is checked as Redis checks it (an integer, not
 * negative) but changes nothing, the estimate being computed rather than sampled. Like
 * Redis, the key is found in the table without an expiry check. */
static void memory_usage(struct exec_ctx *ctx, struct request *req)
{
    for (int j = 3; j < req->argc; j++) {
        long long samples;
        if (request_arg_is(req, j, "samples") && j + 1 < req->argc) {
            if (command_arg_ll(req, j + 1, &samples, ctx->out) != 0)
                return;
            if (samples < 0) {
                reply_error(ctx->out, "ERR syntax error");
                return;
            }
            j++;
        } else {
            reply_error(ctx->out, "ERR syntax error");
            return;
        }
    }
    const struct kv_entry *e = kv_find(ctx->kv, req->argv[2], req->len[2]);
    if (e == NULL)
        reply_null(ctx->out);
    else
        reply_int(ctx->out, (long long)entry_usage(e));
}

void cmd_memory(struct exec_ctx *ctx, struct request *req)
{
    static const char *const help[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Print this help.",
        NULL,
    };
    static const char *const known[] = {"usage", NULL};

    if (request_arg_is(req, 1, "usage") && req->argc >= 3) {
        memory_usage(ctx, req);
        return;
    }
    command_reply_subcommand_rest(ctx->out, req, "MEMORY", help, known);
}
