/* MONITOR, SLOWLOG and LATENCY: this node's view of the commands it serves and of its slow
 * events (docs/SERVER.md, "Introspection"). Node-local: nothing here is replicated. The
 * stores are slowlog.c and latency.c; the feeding is done by client.c and server.c. */
#include "command.h"

#include <string.h>

#include "config.h"
#include "exec.h"
#include "latency.h"
#include "multi.h"
#include "slowlog.h"
#include "util.h"

void cmd_monitor(struct exec_ctx *ctx, struct request *req)
{
    (void)req;
    if (client_multi(ctx->client)->in_multi) { /* as EXEC runs it: Redis's text */
        reply_error(ctx->out, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    if (client_monitor_start(ctx->client) != 0)
        return; /* already a monitor: Redis answers nothing */
    reply_ok(ctx->out);
}

static const char *const slowlog_help[] = {
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
    NULL,
};

/* The subcommands of a container whose only arity is exactly 2 (name and subcommand). */
static int sub_is(const struct request *req, const char *sub, int argc)
{
    return request_arg_is(req, 1, sub) && req->argc == argc;
}

/* HELP and the known subcommands with the wrong number of arguments, unknown ones: the end of
 * SLOWLOG's and LATENCY's dispatch. NAME: "SLOWLOG"/"LATENCY". */
static void introspect_rest(struct exec_ctx *ctx, struct request *req, const char *name,
                            const char *lower, const char *const *help, const char *const *known)
{
    if (request_arg_is(req, 1, "help") && req->argc != 2) {
        reply_wrong_subcommand_arity(ctx->out, lower, "help");
        return;
    }
    command_reply_subcommand_rest(ctx->out, req, name, help, known);
}

void cmd_slowlog(struct exec_ctx *ctx, struct request *req)
{
    static const char *const known[] = {"len", "reset", NULL};
    struct slowlog *sl = server_slowlog(ctx->srv);
    if (request_arg_is(req, 1, "get")) {
        long long count = 10;
        if (req->argc > 3) {
            reply_errorf(ctx->out, "ERR unknown subcommand or wrong number of arguments for "
                                   "'%.128s'. Try SLOWLOG HELP.", req->argv[1]);
            return;
        }
        if (req->argc == 3 && (util_parse_ll(req->argv[2], req->len[2], &count) != 0 || count < -1)) {
            reply_error(ctx->out, "ERR count should be greater than or equal to -1");
            return;
        }
        slowlog_reply_get(sl, count, ctx->out);
    } else if (sub_is(req, "len", 2)) {
        reply_int(ctx->out, (long long)slowlog_len(sl));
    } else if (sub_is(req, "reset", 2)) {
        slowlog_reset(sl);
        reply_ok(ctx->out);
    } else {
        introspect_rest(ctx, req, "SLOWLOG", "slowlog", slowlog_help, known);
    }
}

static const char *const latency_help[] = {
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HELP",
    "    Prints this help.",
    "(ConcordKV's events: command, fast-command, fsync-raft-log, snapshot, apply.)",
    NULL,
};

void cmd_latency(struct exec_ctx *ctx, struct request *req)
{
    static const char *const known[] = {"latest", "history", "doctor", "graph", NULL};
    struct latency_monitor *lm = server_latency(ctx->srv);
    const struct config *cfg = server_config(ctx->srv);
    if (sub_is(req, "latest", 2)) {
        latency_reply_latest(lm, ctx->out);
    } else if (sub_is(req, "history", 3)) {
        latency_reply_history(lm, req->argv[2], req->len[2], ctx->out);
    } else if (request_arg_is(req, 1, "reset")) {
        int n = 0;
        if (req->argc == 2)
            n = latency_reset(lm, NULL, 0);
        for (int i = 2; i < req->argc; i++)
            n += latency_reset(lm, req->argv[i], req->len[i]);
        reply_int(ctx->out, n);
    } else if (sub_is(req, "doctor", 2) || sub_is(req, "graph", 3)) {
        struct buf text;
        buf_init(&text);
        if (req->argc == 2) {
            latency_doctor(lm, cfg->latency_monitor_threshold, cfg->slowlog_log_slower_than, &text);
        } else {
            const struct latency_series *s = latency_find(lm, req->argv[2], req->len[2]);
            if (s == NULL) {
                reply_errorf(ctx->out, "ERR No samples available for event '%.64s'", req->argv[2]);
                buf_close(&text);
                return;
            }
            latency_graph(s, util_now_ms() / 1000, &text);
        }
        reply_verbatim(ctx->out, text.data ? text.data : "", text.len);
        buf_close(&text);
    } else {
        introspect_rest(ctx, req, "LATENCY", "latency", latency_help, known);
    }
}
