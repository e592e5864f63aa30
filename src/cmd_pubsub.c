/* Pub/Sub commands. The subscribe family, PUBSUB and RESET are local: a connection's
 * subscriptions live on the node it is connected to. PUBLISH and SPUBLISH are writes: each
 * is one log entry, and every node delivers it to its own subscribers when it applies it, so
 * every subscriber of the cluster sees the messages in log order. Delivery is a side effect
 * outside the replicated state; the reply (the receivers) is counted by the node applying,
 * and only the leader's is sent. */
#include <string.h>

#include "command.h"
#include "exec.h"
#include "multi.h"
#include "pubsub.h"

/* SUBSCRIBE-like: every argument, confirmed one by one. */
static void subscribe_each(struct exec_ctx *ctx, struct request *req, enum pubsub_kind kind)
{
    struct pubsub *ps = server_pubsub(ctx->srv);
    struct pubsub_sub *s = client_pubsub(ctx->client);
    for (int i = 1; i < req->argc; i++)
        pubsub_subscribe(ps, s, kind, req->argv[i], req->len[i], ctx->out);
}

/* UNSUBSCRIBE-like: the arguments, or everything of KIND when there are none. */
static void unsubscribe_each(struct exec_ctx *ctx, struct request *req, enum pubsub_kind kind)
{
    struct pubsub *ps = server_pubsub(ctx->srv);
    struct pubsub_sub *s = client_pubsub(ctx->client);
    if (req->argc == 1) {
        pubsub_unsubscribe_all(ps, s, kind, ctx->out);
        return;
    }
    for (int i = 1; i < req->argc; i++)
        pubsub_unsubscribe(ps, s, kind, req->argv[i], req->len[i], ctx->out);
}

void cmd_subscribe(struct exec_ctx *ctx, struct request *req)
{
    subscribe_each(ctx, req, PUBSUB_CHANNEL);
}

void cmd_unsubscribe(struct exec_ctx *ctx, struct request *req)
{
    unsubscribe_each(ctx, req, PUBSUB_CHANNEL);
}

void cmd_psubscribe(struct exec_ctx *ctx, struct request *req)
{
    subscribe_each(ctx, req, PUBSUB_PATTERN);
}

void cmd_punsubscribe(struct exec_ctx *ctx, struct request *req)
{
    unsubscribe_each(ctx, req, PUBSUB_PATTERN);
}

void cmd_ssubscribe(struct exec_ctx *ctx, struct request *req)
{
    subscribe_each(ctx, req, PUBSUB_SHARD);
}

void cmd_sunsubscribe(struct exec_ctx *ctx, struct request *req)
{
    unsubscribe_each(ctx, req, PUBSUB_SHARD);
}

/* In apply: deliver to this node's subscribers; the count is this node's. */
static void publish(struct exec_ctx *ctx, struct request *req, int shard)
{
    long long n = 0;
    if (ctx->pubsub != NULL)
        n = pubsub_publish(ctx->pubsub, shard, req->argv[1], req->len[1], req->argv[2], req->len[2]);
    reply_int(ctx->out, n);
}

void cmd_publish(struct exec_ctx *ctx, struct request *req)
{
    publish(ctx, req, 0);
}

void cmd_spublish(struct exec_ctx *ctx, struct request *req)
{
    publish(ctx, req, 1);
}

static void reply_numsub(const struct pubsub *ps, enum pubsub_kind kind, const struct request *req,
                         struct buf *out)
{
    reply_array(out, (long long)(req->argc - 2) * 2);
    for (int i = 2; i < req->argc; i++) {
        reply_bulk(out, req->argv[i], req->len[i]);
        reply_int(out, pubsub_numsub(ps, kind, req->argv[i], req->len[i]));
    }
}

void cmd_pubsub(struct exec_ctx *ctx, struct request *req)
{
    static const char *const help[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Print this help.",
        NULL,
    };
    static const char *const known[] = {"channels", "numpat", "numsub", "shardchannels",
                                        "shardnumsub", "help", NULL};
    const struct pubsub *ps = server_pubsub(ctx->srv);
    int shard = request_arg_is(req, 1, "shardchannels");
    if ((shard || request_arg_is(req, 1, "channels")) && req->argc <= 3) {
        pubsub_reply_channels(ps, shard ? PUBSUB_SHARD : PUBSUB_CHANNEL,
                              req->argc == 3 ? req->argv[2] : NULL, req->argc == 3 ? req->len[2] : 0,
                              ctx->out);
    } else if (request_arg_is(req, 1, "numsub")) {
        reply_numsub(ps, PUBSUB_CHANNEL, req, ctx->out);
    } else if (request_arg_is(req, 1, "shardnumsub")) {
        reply_numsub(ps, PUBSUB_SHARD, req, ctx->out);
    } else if (request_arg_is(req, 1, "numpat") && req->argc == 2) {
        reply_int(ctx->out, pubsub_numpat(ps));
    } else {
        command_reply_subcommand_rest(ctx->out, req, "PUBSUB", req->argc == 2 ? help : NULL, known);
    }
}

void cmd_reset(struct exec_ctx *ctx, struct request *req)
{
    (void)req;
    struct multi_state *m = client_multi(ctx->client);
    struct pubsub *ps = server_pubsub(ctx->srv);
    struct pubsub_sub *s = client_pubsub(ctx->client);
    multi_reset(m);
    multi_unwatch(m);
    for (int k = 0; k < PUBSUB_KINDS; k++)
        pubsub_unsubscribe_all(ps, s, (enum pubsub_kind)k, NULL);
    client_set_name(ctx->client, NULL, 0);
    client_reset_auth(ctx->client);
    client_set_db(ctx->client, 0);
    client_monitor_stop(ctx->client);
    client_set_resp(ctx->client, RESP2);
    client_set_readonly(ctx->client, 0);
    reply_simple(ctx->out, "RESET");
}

int cmd_pubsub_allowed_subscribed(const struct command *cmd)
{
    cmd_proc *p = cmd->proc;
    return p == cmd_ping || p == cmd_subscribe || p == cmd_ssubscribe || p == cmd_unsubscribe ||
           p == cmd_sunsubscribe || p == cmd_psubscribe || p == cmd_punsubscribe ||
           p == cmd_quit || p == cmd_reset;
}
