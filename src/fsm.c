/* The replicated state machine: decode an entry, run each command's handler against the
 * keyspace with the entry's clock and index, collect the replies. Deterministic: no clock,
 * no randomness, no configuration. */
#include "fsm.h"

#include <stdlib.h>

#include "command.h"
#include "entry.h"
#include "kv.h"
#include "log.h"

#define FSM_MAX_ARGS_STACK 16

void fsm_init(struct fsm *f, struct kv_store *kv)
{
    f->kv = kv;
    f->last_applied = 0;
    f->rng = 0x2545f4914f6cdd1dULL;
    f->commands_applied = 0;
}

void fsm_result_free(struct fsm_result *r)
{
    if (r == NULL)
        return;
    buf_close(&r->out);
    free(r->ends);
    free(r);
}

/* Run one decoded record; its reply is appended to CTX->out. */
static void apply_record(struct exec_ctx *ctx, struct request *req)
{
    struct command *cmd = command_lookup(req->argv[0], req->len[0]);
    if (cmd == NULL || !(cmd->flags & CMD_WRITE)) {
        reply_errorf(ctx->out, "ERR unknown command '%.64s' in log entry", req->argv[0]);
        return;
    }
    if (command_check_arity(cmd, req, ctx->out) != 0)
        return;
    size_t before = ctx->out->len;
    command_exec(cmd, ctx, req);
    if (ctx->out->len > before && ctx->out->data[before] == '-')
        cmd->failed_calls++;
}

static void apply_commands(struct fsm *f, struct entry_reader *er, struct fsm_result *r,
                           uint64_t index)
{
    char *stack_argv[FSM_MAX_ARGS_STACK];
    size_t stack_len[FSM_MAX_ARGS_STACK];
    struct exec_ctx ctx = {
        .kv = f->kv, .now_ms = er->h.clock_ms, .index = index, .out = &r->out,
        .client = NULL, .srv = NULL, .rng = &f->rng,
    };
    r->ends = xmalloc(sizeof(size_t) * (er->h.count ? er->h.count : 1));
    for (;;) {
        int argc = entry_reader_peek_argc(er);
        if (argc <= 0) {
            if (argc < 0)
                log_warning("apply: corrupt record in entry %llu", (unsigned long long)index);
            break;
        }
        char **argv = argc <= FSM_MAX_ARGS_STACK ? stack_argv : xmalloc(sizeof(char *) * (size_t)argc);
        size_t *len = argc <= FSM_MAX_ARGS_STACK ? stack_len : xmalloc(sizeof(size_t) * (size_t)argc);
        if (entry_reader_next(er, argc, argv, len) != argc) {
            log_warning("apply: corrupt record in entry %llu", (unsigned long long)index);
            if (argv != stack_argv) {
                free(argv);
                free(len);
            }
            break;
        }
        struct request req = {.argc = argc, .cap = argc, .argv = argv, .len = len};
        apply_record(&ctx, &req);
        if (r->n < er->h.count)
            r->ends[r->n++] = r->out.len;
        f->commands_applied++;
        if (argv != stack_argv) {
            free(argv);
            free(len);
        }
    }
}

struct fsm_result *fsm_apply(struct fsm *f, const void *buf, size_t len, uint64_t index)
{
    struct entry_reader er;
    struct fsm_result *r = NULL;

    f->last_applied = index;
    if (entry_reader_init(&er, buf, len) != 0) {
        log_warning("apply: entry %llu is not a ConcordKV entry; skipped", (unsigned long long)index);
        return NULL;
    }
    switch (er.h.kind) {
    case ENTRY_COMMANDS:
        r = xcalloc(1, sizeof(*r));
        buf_init(&r->out);
        apply_commands(f, &er, r, index);
        break;
    default:
        break;
    }
    return r;
}
