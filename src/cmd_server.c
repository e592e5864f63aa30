/* Connection and server commands: PING, ECHO, QUIT, HELLO, AUTH, SELECT, CLIENT, COMMAND,
 * INFO, TIME, LASTSAVE, CONFIG, DEBUG. They run at once on the node holding the client
 * (DEBUG DIGEST goes through the read path) and never change the keyspace. Connection state
 * (auth, name, CLIENT LIST), INFO's sections and the server's counters are reached through
 * exec.h (client.c, info.c, server.c), never struct server or struct client. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "acl.h"
#include "command.h"
#include "config.h"
#include "consensus.h"
#include "exec.h"
#include "value.h"
#include "kv.h"
#include "pubsub.h"
#include "script_lua.h"
#include "multi.h"
#include "peerauth.h"

void cmd_ping(struct exec_ctx *ctx, struct request *req)
{
    if (req->argc > 2) {
        reply_wrong_arity(ctx->out, "ping");
    } else if (ctx->client != NULL && client_resp(ctx->client) != RESP3 &&
               pubsub_sub_total(client_pubsub(ctx->client)) > 0) {
        /* Subscribed mode (RESP2): a push-like ["pong", arg or ""], as Redis answers. */
        reply_array(ctx->out, 2);
        reply_bulk_cstr(ctx->out, "pong");
        reply_bulk(ctx->out, req->argc == 2 ? req->argv[1] : "", req->argc == 2 ? req->len[1] : 0);
    } else if (req->argc == 2) {
        reply_bulk(ctx->out, req->argv[1], req->len[1]);
    } else {
        reply_simple(ctx->out, "PONG");
    }
}

void cmd_echo(struct exec_ctx *ctx, struct request *req)
{
    reply_bulk(ctx->out, req->argv[1], req->len[1]);
}

void cmd_quit(struct exec_ctx *ctx, struct request *req)
{
    reply_ok(ctx->out);
    client_close_after_reply(ctx->client);
}

int command_select_db(struct exec_ctx *ctx, const struct request *req, struct kv_store **kv)
{
    long long db;
    if (command_arg_db(req, 1, NULL, &db, ctx->out) != 0)
        return -1;
    if (db != 0 && ctx->client != NULL && client_cluster_aware(ctx->client)) {
        reply_error(ctx->out, "ERR SELECT is not allowed in cluster mode");
        return -1;
    }
    if ((*kv = command_db(ctx, db)) == NULL) {
        reply_error(ctx->out, "ERR DB index is out of range");
        return -1;
    }
    return (int)db;
}

void cmd_select(struct exec_ctx *ctx, struct request *req)
{
    struct kv_store *kv;
    int db = command_select_db(ctx, req, &kv);
    if (db < 0)
        return;
    if (ctx->client != NULL)
        client_set_db(ctx->client, db);
    ctx->kv = kv;
    reply_ok(ctx->out);
}

/* Whether "AUTH <password>" has nothing to check: the default user is nopass and this node
 * has no requirepass (Redis then answers an error, not OK). */
static int default_user_nopass(struct exec_ctx *ctx)
{
    const struct acl_user *d = acl_user_find(server_acl(ctx->srv), "default", 7);
    return server_config(ctx->srv)->requirepass == NULL && d != NULL && (d->flags & ACL_USER_NOPASS);
}

/* A peer node (peer.c) authenticates as ACL_PEER_USER with a password derived from the
 * cluster secret (peerauth_join_proof of id 0, which no node has): every permission, so that
 * cluster operations work whatever the default user may do. */
static int peer_auth_ok(struct exec_ctx *ctx, const char *user, size_t ulen, const char *pass)
{
    const char *secret = server_config(ctx->srv)->cluster_secret;
    return secret != NULL && secret[0] != '\0' && ulen == strlen(ACL_PEER_USER) &&
           memcmp(user, ACL_PEER_USER, ulen) == 0 && peerauth_join_check(secret, 0, ACL_PEER_USER, "", "", pass);
}

static int auth_check(struct exec_ctx *ctx, const struct request *req, const char *user, size_t ulen,
                      const char *pass, size_t plen)
{
    struct acl_store *a = server_acl(ctx->srv);
    if (user == NULL) {
        user = "default";
        ulen = 7;
    }
    if (peer_auth_ok(ctx, user, ulen, pass)) {
        client_set_user(ctx->client, NULL, 0);
        return 0;
    }
    if (acl_authenticate(a, user, ulen, pass, plen, server_config(ctx->srv)->requirepass) == 0) {
        client_set_user(ctx->client, user, ulen);
        return 0;
    }
    struct buf info;
    buf_init(&info);
    client_info(ctx->client, &info);
    if (info.len > 0)
        info.data[--info.len] = '\0';
    char *name = xmemdup(user, ulen);
    acl_log_add(a, ACL_DENIED_AUTH, client_multi(ctx->client)->in_multi, req->argv[0], name,
                info.data ? info.data : "", ctx->now_ms);
    free(name);
    buf_close(&info);
    reply_error(ctx->out, "WRONGPASS invalid username-password pair or user is disabled.");
    return -1;
}

void cmd_auth(struct exec_ctx *ctx, struct request *req)
{
    if (req->argc > 3) {
        reply_syntax_error(ctx->out);
        return;
    }
    if (req->argc == 2 && default_user_nopass(ctx)) {
        reply_error(ctx->out, "ERR AUTH <password> called without any password configured for "
                              "the default user. Are you sure your configuration is correct?");
        return;
    }
    const char *user = req->argc == 3 ? req->argv[1] : NULL;
    size_t ulen = req->argc == 3 ? req->len[1] : 0;
    if (auth_check(ctx, req, user, ulen, req->argv[req->argc - 1], req->len[req->argc - 1]) == 0)
        reply_ok(ctx->out);
}

static int valid_client_name(const char *s, size_t len);

/* HELLO [protover [AUTH username password] [SETNAME clientname]], as Redis 7.0: the options
 * are checked first, then AUTH, then the name is set and the protocol switched; the reply
 * (a map in RESP3) is in the protocol switched to. */
void cmd_hello(struct exec_ctx *ctx, struct request *req)
{
    struct client *c = ctx->client;
    long long ver = 0;
    int i = 1, user = 0, name = 0;
    if (req->argc >= 2) {
        if (util_parse_ll(req->argv[1], req->len[1], &ver) != 0) {
            reply_error(ctx->out, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            reply_error(ctx->out, "NOPROTO unsupported protocol version");
            return;
        }
        i = 2;
    }
    for (; i < req->argc; i++) {
        int more = req->argc - 1 - i;
        if (request_arg_is(req, i, "auth") && more >= 2) {
            user = i + 1;
            i += 2;
        } else if (request_arg_is(req, i, "setname") && more >= 1) {
            name = i + 1;
            if (!valid_client_name(req->argv[name], req->len[name])) {
                reply_error(ctx->out, "ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
            i++;
        } else {
            reply_errorf(ctx->out, "ERR Syntax error in HELLO option '%.128s'", req->argv[i]);
            return;
        }
    }
    if (user && auth_check(ctx, req, req->argv[user], req->len[user], req->argv[user + 1],
                           req->len[user + 1]) != 0)
        return;
    if (!client_authenticated(c)) {
        reply_error(ctx->out, "NOAUTH HELLO must be called with the client already authenticated, "
                              "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                              "authenticate the client and select the RESP protocol version at the same time");
        return;
    }
    if (name)
        client_set_name(c, req->argv[name], req->len[name]);
    if (ver) {
        client_set_resp(c, ver == 3 ? RESP3 : RESP2);
        if (ctx->out->resp != RESP_APPLY)
            ctx->out->resp = client_resp(c);
    }
    reply_map_len(ctx->out, 7);
    reply_bulk_cstr(ctx->out, "server");
    reply_bulk_cstr(ctx->out, "redis");
    reply_bulk_cstr(ctx->out, "version");
    reply_bulk_cstr(ctx->out, REDIS_COMPAT_VERSION);
    reply_bulk_cstr(ctx->out, "proto");
    reply_int(ctx->out, client_resp(c) == RESP3 ? 3 : 2);
    reply_bulk_cstr(ctx->out, "id");
    reply_int(ctx->out, (long long)client_id(c));
    reply_bulk_cstr(ctx->out, "mode");
    reply_bulk_cstr(ctx->out, "standalone");
    reply_bulk_cstr(ctx->out, "role");
    reply_bulk_cstr(ctx->out, consensus_is_leader(server_consensus(ctx->srv)) ? "master" : "replica");
    reply_bulk_cstr(ctx->out, "modules");
    reply_array(ctx->out, 0);
}

static int valid_client_name(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '!' || s[i] > '~')
            return 0;
    return 1;
}

/* CLIENT UNBLOCK id [TIMEOUT|ERROR], in Redis 7.0's words. */
static void client_unblock(struct exec_ctx *ctx, struct request *req)
{
    long long id;
    int error = 0;
    if (req->argc == 4) {
        if (request_arg_is(req, 3, "error")) {
            error = 1;
        } else if (!request_arg_is(req, 3, "timeout")) {
            reply_error(ctx->out, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    if (command_arg_ll(req, 2, &id, ctx->out) != 0)
        return;
    reply_int(ctx->out, server_unblock_client(ctx->srv, (uint64_t)id, error));
}

/* CLIENT PAUSE timeout [WRITE|ALL], Redis 7.0's checks and texts. */
static void client_pause_cmd(struct exec_ctx *ctx, struct request *req)
{
    int type = PAUSE_ALL;
    long long ms;
    if (req->argc == 4) {
        if (request_arg_is(req, 3, "write")) {
            type = PAUSE_WRITE;
        } else if (!request_arg_is(req, 3, "all")) {
            reply_error(ctx->out, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    if (command_arg_timeout(req, 2, &ms, ctx->out) != 0)
        return;
    server_pause(ctx->srv, type, ctx->now_ms + ms);
    reply_ok(ctx->out);
}

/* CLIENT REPLY ON|OFF|SKIP: OFF and SKIP answer nothing, ON answers OK (even while OFF). */
static void client_reply_cmd(struct exec_ctx *ctx, struct request *req)
{
    if (request_arg_is(req, 2, "on")) {
        client_reply_mode(ctx->client, CLIENT_REPLY_ON);
        reply_ok(client_reply_buf(ctx->client));
    } else if (request_arg_is(req, 2, "off")) {
        client_reply_mode(ctx->client, CLIENT_REPLY_OFF);
    } else if (request_arg_is(req, 2, "skip")) {
        client_reply_mode(ctx->client, CLIENT_REPLY_SKIP);
    } else {
        reply_syntax_error(ctx->out);
    }
}

/* The CLIENT subcommands that control connections (client_ctl.c). 0: not one of them. */
static int client_control(struct exec_ctx *ctx, struct request *req)
{
    if (request_arg_is(req, 1, "kill") && req->argc >= 3) {
        client_kill(ctx->srv, ctx->client, req, ctx->out);
    } else if (request_arg_is(req, 1, "pause") && (req->argc == 3 || req->argc == 4)) {
        client_pause_cmd(ctx, req);
    } else if (request_arg_is(req, 1, "unpause") && req->argc == 2) {
        server_unpause(ctx->srv);
        reply_ok(ctx->out);
    } else if (request_arg_is(req, 1, "reply") && req->argc == 3) {
        client_reply_cmd(ctx, req);
    } else if (request_arg_is(req, 1, "no-evict") && req->argc == 3) {
        if (request_arg_is(req, 2, "on") || request_arg_is(req, 2, "off")) {
            client_set_no_evict(ctx->client, request_arg_is(req, 2, "on"));
            reply_ok(ctx->out);
        } else {
            reply_syntax_error(ctx->out);
        }
    } else {
        return 0;
    }
    return 1;
}

void cmd_client(struct exec_ctx *ctx, struct request *req)
{
    struct client *c = ctx->client;
    if (client_control(ctx, req)) {
        return;
    } else if (request_arg_is(req, 1, "id") && req->argc == 2) {
        reply_int(ctx->out, (long long)client_id(c));
    } else if (request_arg_is(req, 1, "setname") && req->argc == 3) {
        if (!valid_client_name(req->argv[2], req->len[2])) {
            reply_error(ctx->out, "ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        client_set_name(c, req->len[2] ? req->argv[2] : NULL, req->len[2]);
        reply_ok(ctx->out);
    } else if (request_arg_is(req, 1, "getname") && req->argc == 2) {
        if (client_name(c))
            reply_bulk_cstr(ctx->out, client_name(c));
        else
            reply_null(ctx->out);
    } else if (request_arg_is(req, 1, "setinfo") && req->argc == 4) {
        if (!request_arg_is(req, 2, "lib-name") && !request_arg_is(req, 2, "lib-ver"))
            reply_errorf(ctx->out, "ERR Unrecognized option '%.128s'", req->argv[2]);
        else
            reply_ok(ctx->out);
    } else if (request_arg_is(req, 1, "list")) {
        client_list_cmd(ctx->srv, req, ctx->out);
    } else if (request_arg_is(req, 1, "unblock") && (req->argc == 3 || req->argc == 4)) {
        client_unblock(ctx, req);
    } else if (request_arg_is(req, 1, "info") && req->argc == 2) {
        struct buf b;
        buf_init(&b);
        client_info(c, &b);
        reply_verbatim(ctx->out, b.data, b.len);
        buf_close(&b);
    } else {
        static const char *const help[] = {
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "    * ID <client-id> [<client-id> ...]",
            "      Return clients of the specified IDs only.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds (this node only).",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <LIB-NAME|LIB-VER> <value>",
            "    Accepted; nothing is kept.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "NO-EVICT (ON|OFF)",
            "    Accepted and shown as flag e (there is no client eviction).",
            "HELP",
            "    Print this help.",
            NULL,
        };
        static const char *const known[] = {"id", "setname", "getname", "setinfo", "list", "info",
                                            "unblock", "kill", "pause", "unpause", "reply",
                                            "no-evict", NULL};
        command_reply_subcommand_rest(ctx->out, req, "CLIENT", help, known);
    }
}

void cmd_time(struct exec_ctx *ctx, struct request *req)
{
    int64_t us = util_now_us();
    reply_array(ctx->out, 2);
    reply_bulk_ll(ctx->out, us / 1000000);
    reply_bulk_ll(ctx->out, us % 1000000);
}

void cmd_lastsave(struct exec_ctx *ctx, struct request *req)
{
    reply_int(ctx->out, server_start_ms(ctx->srv) / 1000);
}

void cmd_config(struct exec_ctx *ctx, struct request *req)
{
    const struct config *cfg = server_config(ctx->srv);
    char err[300];
    if (request_arg_is(req, 1, "get") && req->argc >= 3) {
        struct buf pairs;
        int n = 0;
        buf_init(&pairs);
        for (int i = 2; i < req->argc; i++)
            n += config_get(cfg, req->argv[i], client_passed_auth(ctx->client), &pairs);
        reply_map_len(ctx->out, n);
        buf_append(ctx->out, pairs.data, pairs.len);
        buf_close(&pairs);
    } else if (request_arg_is(req, 1, "set") && req->argc >= 4 && req->argc % 2 == 0) {
        for (int i = 2; i < req->argc; i += 2) {
            if (server_config_set(ctx->srv, req->argv[i], req->argv[i + 1], err, sizeof(err)) != 0) {
                reply_errorf(ctx->out, "ERR %s", err);
                return;
            }
        }
        reply_ok(ctx->out);
    } else if (request_arg_is(req, 1, "resetstat") && req->argc == 2) {
        info_resetstat(ctx->srv);
        reply_ok(ctx->out);
    } else if (request_arg_is(req, 1, "rewrite") && req->argc == 2) {
        if (cfg->config_file == NULL)
            reply_error(ctx->out, "ERR The server is running without a config file");
        else if (config_rewrite(cfg, err, sizeof(err)) != 0)
            reply_errorf(ctx->out, "ERR %s", err);
        else
            reply_ok(ctx->out);
    } else {
        static const char *const known[] = {"get", "set", "resetstat", "rewrite", NULL};
        command_reply_subcommand_rest(ctx->out, req, "CONFIG", NULL, known);
    }
}

/* DEBUG SLEEP seconds: block this node's loop, as Redis does, raft included (a leader that
 * sleeps past election-timeout loses its leadership). At most DEBUG_SLEEP_MAX seconds. */
#define DEBUG_SLEEP_MAX 600
static void debug_sleep(struct exec_ctx *ctx, struct request *req)
{
    double secs;
    if (util_parse_double(req->argv[2], req->len[2], &secs) != 0 || secs != secs) {
        reply_error(ctx->out, "ERR value is not a valid float");
        return;
    }
    if (secs > DEBUG_SLEEP_MAX) {
        reply_errorf(ctx->out, "ERR DEBUG SLEEP is limited to %d seconds here (it stalls this node's raft too)",
                     DEBUG_SLEEP_MAX);
        return;
    }
    if (secs > 0) {
        int64_t us = (int64_t)(secs * 1e6);
        while (us > 0) { /* usleep takes less than a second portably */
            int64_t step = us > 500000 ? 500000 : us;
            usleep((useconds_t)step);
            us -= step;
        }
    }
    reply_ok(ctx->out);
}

/* DEBUG DIGEST past database 0: a non-empty database D's own digest, with D, is hashed
 * into HEX (a keyspace all in database 0 keeps the digest it had before databases). */
static void debug_digest_mix(struct kv_store *kv, int d, char hex[41])
{
    char dh[41], b[100];
    if (kv_size(kv) == 0)
        return;
    kv_digest_hex(kv, dh);
    int n = snprintf(b, sizeof(b), "%s:%d:%s", hex, d, dh);
    script_sha1hex(b, (size_t)n, hex);
}

void cmd_debug(struct exec_ctx *ctx, struct request *req)
{
    if (request_arg_is(req, 1, "digest") && req->argc == 2) {
        char hex[41];
        kv_digest_hex(command_db(ctx, 0), hex);
        for (int d = 1; d < command_ndbs(ctx); d++)
            debug_digest_mix(command_db(ctx, d), d, hex);
        if (ctx->scripts != NULL)
            script_engine_digest(ctx->scripts, hex);
        reply_simple(ctx->out, hex);
    } else if (request_arg_is(req, 1, "digest-value")) {
        reply_array(ctx->out, req->argc - 2);
        for (int i = 2; i < req->argc; i++) {
            struct kv_entry *e = kv_peek(ctx->kv, req->argv[i], req->len[i], ctx->now_ms);
            char hex[17];
            uint64_t h = 0;
            const struct value_ops *ops = e != NULL ? value_ops(e->type) : NULL;
            if (ops != NULL)
                h = ops->digest(kv_entry_obj(e), 0x636b6476); /* order-independent */
            else if (e != NULL)
                h = util_hash_seeded(kv_entry_val(e), e->vlen, 0x636b6476);
            snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)h);
            reply_simple(ctx->out, hex);
        }
    } else if (request_arg_is(req, 1, "sleep") && req->argc == 3) {
        debug_sleep(ctx, req);
    } else {
        command_reply_subcommand_rest(ctx->out, req, "DEBUG", NULL, NULL);
    }
}

/* ---- COMMAND ---- */

static void reply_flags(struct buf *out, unsigned f)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {CMD_WRITE, "write"}, {CMD_READONLY, "readonly"}, {CMD_DENYOOM, "denyoom"},
        {CMD_ADMIN, "admin"}, {CMD_NOAUTH, "no_auth"}, {CMD_FAST, "fast"},
        {CMD_BLOCKING, "blocking"}, {CMD_KEYNUM, "movablekeys"},
    };
    int n = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        n += (f & names[i].bit) != 0;
    reply_set_len(out, n);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (f & names[i].bit)
            reply_simple(out, names[i].name);
}

static void reply_category(struct buf *out, const char *name)
{
    buf_printf(out, "+@%s\r\n", name);
}

static void reply_command_info(struct buf *out, const struct command *c)
{
    reply_array(out, 10);
    reply_bulk_cstr(out, c->name);
    reply_int(out, c->arity);
    reply_flags(out, c->flags);
    reply_int(out, c->first_key);
    reply_int(out, c->last_key);
    reply_int(out, c->key_step);
    unsigned cats = acl_command_categories(c); /* the categories ACL rules use */
    reply_set_len(out, __builtin_popcount(cats));
    for (int i = 0; acl_category_name(i) != NULL; i++)
        if (cats & (1u << i))
            reply_category(out, acl_category_name(i));
    reply_set_len(out, 0); /* tips */
    reply_set_len(out, 0); /* key specs */
    reply_set_len(out, 0); /* subcommands (Redis: a set when there are none) */
}

static void reply_command_docs(struct buf *out, const struct command *c)
{
    reply_bulk_cstr(out, c->name);
    reply_map_len(out, 3);
    reply_bulk_cstr(out, "summary");
    reply_bulk_cstr(out, c->summary);
    reply_bulk_cstr(out, "since");
    reply_bulk_cstr(out, "1.0.0");
    reply_bulk_cstr(out, "group");
    reply_bulk_cstr(out, c->group);
}

static int command_public(const struct command *c)
{
    return !(c->flags & CMD_INTERNAL);
}

/* COMMAND GETKEYS / GETKEYSANDFLAGS command arg...: the keys command_get_keys finds in the
 * command given (Redis 7.0's errors); with FLAGS each key comes with Redis's flags for what
 * the command does to it, as far as the table knows (a read or a write). */
static void command_getkeys(struct buf *out, const struct request *req, int flags)
{
    const struct command *c = command_lookup(req->argv[2], req->len[2]);
    if (c == NULL || !command_public(c)) {
        reply_error(out, "ERR Invalid command specified");
        return;
    }
    if (c->first_key <= 0 && !(c->flags & CMD_KEYNUM)) {
        reply_error(out, "ERR The command has no key arguments");
        return;
    }
    struct request sub = {.argc = req->argc - 2, .cap = req->argc - 2, .argv = req->argv + 2, .len = req->len + 2};
    if ((c->arity > 0 && sub.argc != c->arity) || sub.argc < -c->arity) {
        reply_error(out, "ERR Invalid number of arguments specified for command");
        return;
    }
    struct command_keys ks;
    /* a script's keys are optional (EVAL ... 0): Redis answers an empty array there */
    int optional = (c->flags & CMD_KEYNUM_AT2) && !(c->flags & CMD_BLOCKING);
    if (command_get_keys(c, &sub, &ks) == 0 && !optional) {
        reply_error(out, "ERR Invalid arguments specified for command");
        command_keys_close(&ks);
        return;
    }
    reply_array(out, ks.n);
    for (int i = 0; i < ks.n; i++) {
        if (flags) {
            reply_array(out, 2);
            reply_bulk(out, sub.argv[ks.v[i].pos], sub.len[ks.v[i].pos]);
            reply_set_len(out, 2); /* the key's flags: a set in RESP3 */
            reply_bulk_cstr(out, ks.v[i].write ? "RW" : "RO");
            reply_bulk_cstr(out, ks.v[i].write ? "update" : "access");
        } else {
            reply_bulk(out, sub.argv[ks.v[i].pos], sub.len[ks.v[i].pos]);
        }
    }
    command_keys_close(&ks);
}

static const char *const command_help[] = {
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Print this help.",
    NULL};
static const char *const command_subcommands[] = {"count", "list", "info", "docs", "getkeys",
                                                  "getkeysandflags", NULL};

void cmd_command(struct exec_ctx *ctx, struct request *req)
{
    size_t n, pub = 0;
    struct command *t = command_table(&n);
    for (size_t i = 0; i < n; i++)
        pub += command_public(&t[i]);

    if (req->argc == 1) {
        reply_array(ctx->out, (long long)pub);
        for (size_t i = 0; i < n; i++)
            if (command_public(&t[i]))
                reply_command_info(ctx->out, &t[i]);
    } else if (request_arg_is(req, 1, "count") && req->argc == 2) {
        reply_int(ctx->out, (long long)pub);
    } else if (request_arg_is(req, 1, "info")) {
        reply_array(ctx->out, req->argc - 2);
        for (int i = 2; i < req->argc; i++) {
            struct command *c = command_lookup(req->argv[i], req->len[i]);
            if (c && command_public(c))
                reply_command_info(ctx->out, c);
            else
                reply_null_array(ctx->out);
        }
    } else if (request_arg_is(req, 1, "docs")) {
        struct buf b;
        long long k = 0;
        buf_init(&b);
        b.resp = ctx->out->resp;
        if (req->argc == 2) {
            for (size_t i = 0; i < n; i++)
                if (command_public(&t[i])) {
                    reply_command_docs(&b, &t[i]);
                    k++;
                }
        } else {
            for (int i = 2; i < req->argc; i++) {
                struct command *c = command_lookup(req->argv[i], req->len[i]);
                if (c && command_public(c)) {
                    reply_command_docs(&b, c);
                    k++;
                }
            }
        }
        reply_map_len(ctx->out, k);
        buf_append(ctx->out, b.data, b.len);
        buf_close(&b);
    } else if ((request_arg_is(req, 1, "getkeys") || request_arg_is(req, 1, "getkeysandflags")) &&
               req->argc >= 4) {
        command_getkeys(ctx->out, req, request_arg_is(req, 1, "getkeysandflags"));
    } else if (request_arg_is(req, 1, "list") && req->argc == 2) {
        reply_array(ctx->out, (long long)pub);
        for (size_t i = 0; i < n; i++)
            if (command_public(&t[i]))
                reply_bulk_cstr(ctx->out, t[i].name);
    } else {
        command_reply_subcommand_rest(ctx->out, req, "COMMAND", command_help, command_subcommands);
    }
}

/* ---- INFO ---- */

void cmd_info(struct exec_ctx *ctx, struct request *req)
{
    struct buf b;
    buf_init(&b);
    info_render(ctx->srv, req, &b);
    reply_verbatim(ctx->out, b.data ? b.data : "", b.len);
    buf_close(&b);
}
