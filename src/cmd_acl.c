/* ACL: the subcommands that read the users run at once on the node holding the client;
 * SETUSER, DELUSER and LOAD are validated here, rewritten (passwords become #<sha256>) and
 * proposed as one __acl record, which apply (cmd_acl_apply) runs on every node against the
 * replicated store. Rules, checks and texts live in acl.c; this file only talks RESP. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "acl.h"
#include "command.h"
#include "config.h"
#include "consensus.h"
#include "exec.h"

#define ACL_ERR_MAX 512

/* ---- apply: __acl setuser|deluser|load|seed ... ---- */

/* acl-pubsub-default as a record carries it ("allchannels" or "resetchannels"; records from
 * before the option carry none and mean resetchannels): 1 for allchannels, -1 if malformed. */
static int record_pubsub_default(const struct request *req, int i)
{
    if (i >= req->argc || request_arg_is(req, i, "resetchannels"))
        return 0;
    return request_arg_is(req, i, "allchannels") ? 1 : -1;
}

/* __acl setuser <name> <rules...> (resetchannels for new users), __acl setuser-pd <default>
 * <name> <rules...>, __acl deluser <names...>, __acl load|seed <text> (the users as ACL LIST
 * writes them: every channel rule explicit, the proposer's acl-pubsub-default applied). */
void cmd_acl_apply(struct exec_ctx *ctx, struct request *req)
{
    char err[ACL_ERR_MAX];
    struct acl_store *a = ctx->acl;
    int pd = request_arg_is(req, 1, "setuser-pd"), setuser = pd || request_arg_is(req, 1, "setuser");
    int all = pd ? record_pubsub_default(req, 2) : 0;
    if (a == NULL) {
        reply_error(ctx->out, "ERR ACL state is not available here");
    } else if (all < 0 || (setuser && req->argc < 3 + pd)) {
        reply_error(ctx->out, "ERR malformed ACL record");
    } else if (setuser) {
        a->pubsub_all = all;
        int rc = acl_setuser(a, req->argv[2 + pd], req->len[2 + pd], req->argc - 3 - pd,
                             req->argv + 3 + pd, req->len + 3 + pd, err, sizeof(err));
        a->pubsub_all = 0;
        if (rc == 0) {
            a->seeded = 1; /* users set by hand: an aclfile no longer seeds them */
            reply_ok(ctx->out);
        } else {
            reply_errorf(ctx->out, "ERR %s", err);
        }
    } else if (request_arg_is(req, 1, "deluser")) {
        int n = acl_deluser(a, req->argc - 2, req->argv + 2, req->len + 2);
        a->seeded |= n > 0;
        reply_int(ctx->out, n);
    } else if ((request_arg_is(req, 1, "load") || request_arg_is(req, 1, "seed")) && req->argc == 3) {
        int seed = request_arg_is(req, 1, "seed");
        if (seed && a->seeded)
            reply_ok(ctx->out); /* another node seeded first: the first seed wins */
        else if (acl_load_text(a, req->argv[2], req->len[2], err, sizeof(err)) == 0) {
            a->seeded = 1;
            reply_ok(ctx->out);
        } else {
            reply_errorf(ctx->out, "ERR %s", err);
        }
    } else {
        reply_error(ctx->out, "ERR malformed ACL record");
    }
}

/* ---- the proposing side ---- */

/* Rewrite a SETUSER modifier so that no clear-text password reaches the log. */
static void push_rule(struct request *t, const char *op, size_t len)
{
    char rule[ACL_HASH_LEN + 2];
    if (len > 0 && (op[0] == '>' || op[0] == '<')) {
        rule[0] = op[0] == '>' ? '#' : '!';
        acl_hash_password(op + 1, len - 1, rule + 1);
        request_push(t, rule, ACL_HASH_LEN + 1);
    } else {
        request_push(t, op, len);
    }
}

static void propose(struct exec_ctx *ctx, struct request *t)
{
    consensus_write(server_consensus(ctx->srv), client_defer(ctx->client), t);
}

/* This node's acl-pubsub-default, as a record carries it. */
static const char *pubsub_default_word(const struct exec_ctx *ctx)
{
    return server_config(ctx->srv)->acl_pubsub_default ? "allchannels" : "resetchannels";
}

static void acl_setuser_cmd(struct exec_ctx *ctx, struct request *req)
{
    char err[ACL_ERR_MAX];
    struct acl_store *a = server_acl(ctx->srv);
    if (client_redirect(ctx->client, 0))
        return;
    a->pubsub_all = (int)server_config(ctx->srv)->acl_pubsub_default;
    int rc = acl_setuser_check(a, req->argv[2], req->len[2], req->argc - 3, req->argv + 3,
                               req->len + 3, err, sizeof(err));
    a->pubsub_all = 0;
    if (rc != 0) {
        reply_errorf(ctx->out, "ERR %s", err);
        return;
    }
    struct request *t = request_new(req->argc + 2);
    const char *pd = pubsub_default_word(ctx);
    request_push(t, "__acl", 5);
    request_push(t, "setuser-pd", 10);
    request_push(t, pd, strlen(pd));
    request_push(t, req->argv[2], req->len[2]);
    for (int i = 3; i < req->argc; i++)
        push_rule(t, req->argv[i], req->len[i]);
    propose(ctx, t);
}

static void acl_deluser_cmd(struct exec_ctx *ctx, struct request *req)
{
    for (int i = 2; i < req->argc; i++)
        if (req->len[i] == 7 && memcmp(req->argv[i], "default", 7) == 0) {
            reply_error(ctx->out, "ERR The 'default' user cannot be removed");
            return;
        }
    if (client_redirect(ctx->client, 0))
        return;
    struct request *t = request_new(req->argc);
    request_push(t, "__acl", 5);
    for (int i = 1; i < req->argc; i++)
        request_push(t, req->argv[i], req->len[i]);
    propose(ctx, t);
}

static void acl_load_cmd(struct exec_ctx *ctx, const char *path)
{
    char err[ACL_ERR_MAX];
    struct buf text;
    if (client_redirect(ctx->client, 0))
        return;
    buf_init(&text);
    if (server_acl_read_file(path, (int)server_config(ctx->srv)->acl_pubsub_default, &text, err, sizeof(err)) != 0) {
        reply_errorf(ctx->out, "ERR %s", err);
    } else {
        struct request *t = request_new(3);
        request_push(t, "__acl", 5);
        request_push(t, "load", 4);
        request_push(t, text.data ? text.data : "", text.len);
        propose(ctx, t);
    }
    buf_close(&text);
}

static void acl_save_cmd(struct exec_ctx *ctx, const char *path)
{
    char tmp[4096];
    struct acl_store *a = server_acl(ctx->srv);
    const char *rp = server_config(ctx->srv)->requirepass;
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < a->n; i++) {
        buf_printf(&b, "user %s ", a->users[i]->name);
        acl_describe_user(a->users[i], rp, &b);
        buf_append_str(&b, "\n");
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp-%llu", path, (unsigned long long)client_id(ctx->client));
    FILE *fp = fopen(tmp, "w");
    int ok = fp != NULL && fwrite(b.data ? b.data : "", 1, b.len, fp) == b.len;
    ok = fp != NULL && fclose(fp) == 0 && ok;
    if (ok && rename(tmp, path) == 0) {
        reply_ok(ctx->out);
    } else {
        unlink(tmp);
        reply_error(ctx->out, "ERR There was an error trying to save the ACLs. Please check the "
                              "server logs for more information");
    }
    buf_close(&b);
}

/* ---- reads ---- */

static void reply_buf(struct buf *out, struct buf *b)
{
    reply_bulk(out, b->data ? b->data : "", b->len);
    b->len = 0;
}

static void acl_getuser_cmd(struct exec_ctx *ctx, struct request *req)
{
    const struct acl_user *u = acl_user_find(server_acl(ctx->srv), req->argv[2], req->len[2]);
    const char *rp = server_config(ctx->srv)->requirepass;
    int override = rp != NULL && strcmp(u ? u->name : "", "default") == 0;
    struct buf b;
    if (u == NULL) {
        reply_null(ctx->out);
        return;
    }
    buf_init(&b);
    reply_map_len(ctx->out, 6);
    reply_bulk_cstr(ctx->out, "flags");
    int nopass = (u->flags & ACL_USER_NOPASS) && !override;
    reply_set_len(ctx->out, 2 + nopass);
    reply_bulk_cstr(ctx->out, (u->flags & ACL_USER_ON) ? "on" : "off");
    if (nopass)
        reply_bulk_cstr(ctx->out, "nopass");
    reply_bulk_cstr(ctx->out, (u->flags & ACL_USER_SKIP_SANITIZE) ? "skip-sanitize-payload" : "sanitize-payload");
    reply_bulk_cstr(ctx->out, "passwords");
    if (override) {
        char hex[ACL_HASH_LEN + 1];
        acl_hash_password(rp, strlen(rp), hex);
        reply_array(ctx->out, 1);
        reply_bulk_cstr(ctx->out, hex);
    } else {
        reply_array(ctx->out, u->npass);
        for (int i = 0; i < u->npass; i++)
            reply_bulk_cstr(ctx->out, u->pass[i]);
    }
    reply_bulk_cstr(ctx->out, "commands");
    acl_describe_commands(u, &b);
    reply_buf(ctx->out, &b);
    reply_bulk_cstr(ctx->out, "keys");
    acl_describe_keys(u, &b);
    reply_buf(ctx->out, &b);
    reply_bulk_cstr(ctx->out, "channels");
    acl_describe_channels(u, &b);
    reply_buf(ctx->out, &b);
    reply_bulk_cstr(ctx->out, "selectors");
    reply_array(ctx->out, 0);
    buf_close(&b);
}

static void acl_list_cmd(struct exec_ctx *ctx, int names_only)
{
    const struct acl_store *a = server_acl(ctx->srv);
    const char *rp = server_config(ctx->srv)->requirepass;
    struct buf b;
    buf_init(&b);
    reply_array(ctx->out, a->n);
    for (int i = 0; i < a->n; i++) {
        if (names_only) {
            reply_bulk_cstr(ctx->out, a->users[i]->name);
            continue;
        }
        buf_printf(&b, "user %s ", a->users[i]->name);
        acl_describe_user(a->users[i], rp, &b);
        reply_buf(ctx->out, &b);
    }
    buf_close(&b);
}

static void acl_cat_cmd(struct exec_ctx *ctx, struct request *req)
{
    size_t n;
    struct command *t = command_table(&n);
    if (req->argc == 2) {
        int k = 0;
        while (acl_category_name(k) != NULL)
            k++;
        reply_array(ctx->out, k);
        for (int i = 0; i < k; i++)
            reply_bulk_cstr(ctx->out, acl_category_name(i));
        return;
    }
    unsigned cat = acl_category_by_name(req->argv[2], req->len[2]);
    if (cat == 0) {
        reply_errorf(ctx->out, "ERR Unknown category '%.128s'", req->argv[2]);
        return;
    }
    int count = 0;
    for (size_t i = 0; i < n; i++)
        count += !(t[i].flags & CMD_INTERNAL) && (acl_command_categories(&t[i]) & cat);
    reply_array(ctx->out, count);
    for (size_t i = 0; i < n; i++)
        if (!(t[i].flags & CMD_INTERNAL) && (acl_command_categories(&t[i]) & cat))
            reply_bulk_cstr(ctx->out, t[i].name);
}

#define GENPASS_MAX_BITS 4096

static void acl_genpass_cmd(struct exec_ctx *ctx, struct request *req)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char raw[GENPASS_MAX_BITS / 8];
    char hex[GENPASS_MAX_BITS / 4];
    long long bits = 256;
    if (req->argc == 3 && command_arg_ll(req, 2, &bits, ctx->out) != 0)
        return;
    if (bits <= 0 || bits > GENPASS_MAX_BITS) {
        reply_errorf(ctx->out, "ERR ACL GENPASS argument must be the number of bits for the output "
                               "password, a positive number up to %d", GENPASS_MAX_BITS);
        return;
    }
    long long chars = (bits + 3) / 4;
    if (RAND_bytes(raw, (int)((chars + 1) / 2)) != 1) {
        reply_error(ctx->out, "ERR could not generate random bytes");
        return;
    }
    for (long long i = 0; i < chars; i++)
        hex[i] = digits[(raw[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
    reply_bulk(ctx->out, hex, (size_t)chars);
}

static void acl_log_cmd(struct exec_ctx *ctx, struct request *req)
{
    struct acl_store *a = server_acl(ctx->srv);
    long long count = 10;
    if (req->argc == 3) {
        if (request_arg_is(req, 2, "reset")) {
            acl_log_reset(a);
            reply_ok(ctx->out);
            return;
        }
        if (command_arg_ll(req, 2, &count, ctx->out) != 0)
            return;
        if (count < 0)
            count = 0;
    }
    if (count > a->nlog)
        count = a->nlog;
    static const char *const reasons[] = {"unknown", "command", "key", "auth", "channel"};
    reply_array(ctx->out, count);
    for (long long i = 0; i < count; i++) {
        const struct acl_log_entry *e = &a->log[i];
        reply_map_len(ctx->out, 7);
        reply_bulk_cstr(ctx->out, "count");
        reply_int(ctx->out, e->count);
        reply_bulk_cstr(ctx->out, "reason");
        reply_bulk_cstr(ctx->out, reasons[e->reason >= 0 && e->reason <= 4 ? e->reason : 0]);
        reply_bulk_cstr(ctx->out, "context");
        reply_bulk_cstr(ctx->out, e->multi == ACL_LOG_LUA     ? "lua"
                                 : e->multi == ACL_LOG_MULTI ? "multi"
                                                             : "toplevel");
        reply_bulk_cstr(ctx->out, "object");
        reply_bulk_cstr(ctx->out, e->object);
        reply_bulk_cstr(ctx->out, "username");
        reply_bulk_cstr(ctx->out, e->username);
        reply_bulk_cstr(ctx->out, "age-seconds");
        reply_double(ctx->out, (double)(ctx->now_ms - e->ctime_ms) / 1000);
        reply_bulk_cstr(ctx->out, "client-info");
        reply_bulk_cstr(ctx->out, e->cinfo);
    }
}

static void acl_dryrun_cmd(struct exec_ctx *ctx, struct request *req)
{
    char msg[300];
    const struct acl_user *u = acl_user_find(server_acl(ctx->srv), req->argv[2], req->len[2]);
    if (u == NULL) {
        reply_errorf(ctx->out, "ERR User '%.128s' not found", req->argv[2]);
        return;
    }
    struct command *cmd = command_lookup(req->argv[3], req->len[3]);
    if (cmd == NULL || (cmd->flags & CMD_INTERNAL)) {
        reply_errorf(ctx->out, "ERR Command '%.128s' not found", req->argv[3]);
        return;
    }
    struct request sub = {.argc = req->argc - 3, .cap = req->argc - 3, .argv = req->argv + 3, .len = req->len + 3};
    if ((cmd->arity > 0 && cmd->arity != sub.argc) || sub.argc < -cmd->arity) {
        reply_errorf(ctx->out, "ERR wrong number of arguments for '%s' command", cmd->name);
        return;
    }
    int pos;
    int rc = acl_check(u, cmd, &sub, &pos);
    if (rc == ACL_OK) {
        reply_ok(ctx->out);
        return;
    }
    if (rc == ACL_DENIED_CMD)
        snprintf(msg, sizeof(msg), "This user has no permissions to run the '%s' command", cmd->name);
    else if (rc == ACL_DENIED_CHANNEL)
        snprintf(msg, sizeof(msg), "This user has no permissions to access the '%.128s' channel", sub.argv[pos]);
    else
        snprintf(msg, sizeof(msg), "This user has no permissions to access the '%.128s' key", sub.argv[pos]);
    reply_bulk_cstr(ctx->out, msg);
}

static const char *const acl_help[] = {
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Print this help.",
    NULL,
};

void cmd_acl(struct exec_ctx *ctx, struct request *req)
{
    const char *aclfile = server_config(ctx->srv)->aclfile;
    if (request_arg_is(req, 1, "setuser") && req->argc >= 3) {
        acl_setuser_cmd(ctx, req);
    } else if (request_arg_is(req, 1, "deluser") && req->argc >= 3) {
        acl_deluser_cmd(ctx, req);
    } else if (request_arg_is(req, 1, "getuser") && req->argc == 3) {
        acl_getuser_cmd(ctx, req);
    } else if ((request_arg_is(req, 1, "list") || request_arg_is(req, 1, "users")) && req->argc == 2) {
        acl_list_cmd(ctx, request_arg_is(req, 1, "users"));
    } else if (request_arg_is(req, 1, "whoami") && req->argc == 2) {
        const char *u = client_user(ctx->client);
        if (u)
            reply_bulk_cstr(ctx->out, u);
        else
            reply_null(ctx->out);
    } else if (aclfile == NULL && (request_arg_is(req, 1, "load") || request_arg_is(req, 1, "save"))) {
        reply_error(ctx->out, "ERR This Redis instance is not configured to use an ACL file. You may "
                              "want to specify users via the ACL SETUSER command and then issue a "
                              "CONFIG REWRITE (assuming you have a Redis configuration file set) in "
                              "order to store users in the Redis configuration.");
    } else if (request_arg_is(req, 1, "load") && req->argc == 2) {
        acl_load_cmd(ctx, aclfile);
    } else if (request_arg_is(req, 1, "save") && req->argc == 2) {
        acl_save_cmd(ctx, aclfile);
    } else if (request_arg_is(req, 1, "cat") && (req->argc == 2 || req->argc == 3)) {
        acl_cat_cmd(ctx, req);
    } else if (request_arg_is(req, 1, "genpass") && (req->argc == 2 || req->argc == 3)) {
        acl_genpass_cmd(ctx, req);
    } else if (request_arg_is(req, 1, "log") && (req->argc == 2 || req->argc == 3)) {
        acl_log_cmd(ctx, req);
    } else if (request_arg_is(req, 1, "dryrun") && req->argc >= 4) {
        acl_dryrun_cmd(ctx, req);
    } else {
        static const char *const known[] = {"setuser", "deluser", "getuser", "list", "users", "whoami",
                                            "load", "save", "cat", "genpass", "log", "dryrun", NULL};
        command_reply_subcommand_rest(ctx->out, req, "ACL", acl_help, known);
    }
}
