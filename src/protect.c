/* Protected mode and the local-only commands (see protect.h): what Redis 7.0 refuses to
 * clients that do not connect over loopback. Pure decisions; the caller does the I/O. */
#include "protect.h"

#include <arpa/inet.h>
#include <string.h>

#include "command.h"
#include "config.h"
#include "resp.h"

/* Redis 7.0's text (networking.c, clientAcceptHandler), word for word. */
const char PROTECT_DENIED[] =
    "-DENIED Redis is running in protected mode because protected "
    "mode is enabled and no password is set for the default user. "
    "In this mode connections are only accepted from the loopback interface. "
    "If you want to connect from external computers to Redis you "
    "may adopt one of the following solutions: "
    "1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface "
    "by connecting to Redis from the same host the server is "
    "running, however MAKE SURE Redis is not publicly accessible "
    "from internet if you do so. Use CONFIG REWRITE to make this "
    "change permanent. "
    "2) Alternatively you can just disable the protected mode by "
    "editing the Redis configuration file, and setting the protected "
    "mode option to 'no', and then restarting the server. "
    "3) If you started the server manually just for testing, restart "
    "it with the '--protected-mode no' option. "
    "4) Setup a an authentication password for the default user. "
    "NOTE: You only need to do one of the above things in order for "
    "the server to start accepting connections from the outside.\r\n";

int protect_addr_is_local(const struct sockaddr_in *sin)
{
    return sin != NULL && sin->sin_family == AF_INET && (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
}

/* Whether some client could authenticate with a password. */
static int protect_has_password(const struct config *cfg)
{
    if (cfg->requirepass != NULL && cfg->requirepass[0] != '\0')
        return 1;
    /* ACL users with a password count too: the caller (server.c's accept) adds
     * acl_has_password_users(), which needs the replicated store this module does not see. */
    return 0;
}

int server_protected_refuses(const struct config *cfg, const struct sockaddr_in *peer)
{
    return cfg->protected_mode && !protect_has_password(cfg) && !protect_addr_is_local(peer);
}

int protect_admin_refuses(const struct config *cfg, const char *required_token, int local)
{
    return cfg->protected_mode && required_token == NULL && !local;
}

/* Whether OPTION (a PROTECT_* value) allows the command for a client (LOCAL: loopback), as
 * Redis's allowProtectedAction. */
static int protect_allows(long long option, int local)
{
    return option == PROTECT_YES || (option == PROTECT_LOCAL && local);
}

/* The CLUSTER subcommands that change membership or leadership from a client's request.
 * JOIN (proved with the cluster secret) and SETNODE (nodes announcing their own addresses)
 * are what nodes send each other, so they are not gated. */
static int protect_is_membership(const struct request *req)
{
    return req->argc > 1 && (request_arg_is(req, 1, "addnode") || request_arg_is(req, 1, "delnode") ||
                             request_arg_is(req, 1, "transfer"));
}

int protect_command_refused(const struct config *cfg, const struct command *cmd,
                            const struct request *req, int local, struct buf *out)
{
    const char *what, *option;
    if (cmd->proc == cmd_debug) {
        if (protect_allows(cfg->enable_debug_command, local))
            return 0;
        what = "DEBUG";
        option = "enable-debug-command";
    } else if (cmd->proc == cmd_cluster && protect_is_membership(req)) {
        if (protect_allows(cfg->enable_membership_command, local))
            return 0;
        what = "CLUSTER membership";
        option = "enable-membership-command";
    } else {
        return 0;
    }
    reply_errorf(out, "ERR %s command not allowed. If the %s option is set to \"local\", you can "
                      "run it from a local connection, otherwise you need to set this option in "
                      "the configuration file, and then restart the server.", what, option);
    return 1;
}
