/* MEMORY USAGE, STATS, DOCTOR and HELP (Redis 7.0 object.c's memoryCommand). A read: USAGE
 * looks at one key and changes nothing, not even the key's access stamp; STATS and DOCTOR
 * report this node's figures (client_ctl.c). MALLOC-STATS and PURGE are not implemented and
 * answer Redis's unknown-subcommand error. */
#include "command.h"
#include "exec.h"
#include "evict.h"
#include "kv.h"
#include "resp.h"

#include "util.h"

#define MEMORY_DEFAULT_SAMPLES 5 /* Redis's OBJ_COMPUTE_SIZE_DEF_SAMPLES */

/* MEMORY USAGE key [SAMPLES count]: SAMPLES (default 5, 0 all) is checked as Redis checks
 * it (an integer, not negative). Like Redis, the key is found in the table without an
 * expiry check. */
static void memory_usage(struct exec_ctx *ctx, struct request *req)
{
    long long samples = MEMORY_DEFAULT_SAMPLES;
    for (int j = 3; j < req->argc; j++) {
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
        reply_int(ctx->out, (long long)evict_entry_bytes(e, (size_t)samples));
}

void cmd_memory(struct exec_ctx *ctx, struct request *req)
{
    static const char *const help[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "STATS",
        "    Return information about the memory usage of the server.",
        "DOCTOR",
        "    Return memory problems reports.",
        "HELP",
        "    Print this help.",
        NULL,
    };
    static const char *const known[] = {"usage", "stats", "doctor", NULL};

    if (request_arg_is(req, 1, "usage") && req->argc >= 3) {
        memory_usage(ctx, req);
        return;
    }
    if (request_arg_is(req, 1, "stats") && req->argc == 2 && ctx->srv != NULL) {
        server_memory_stats(ctx->srv, ctx->out);
        return;
    }
    if (request_arg_is(req, 1, "doctor") && req->argc == 2 && ctx->srv != NULL) {
        server_memory_doctor(ctx->srv, ctx->out);
        return;
    }
    command_reply_subcommand_rest(ctx->out, req, "MEMORY", help, known);
}
