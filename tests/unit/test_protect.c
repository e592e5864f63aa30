/* Unit tests for protect.c: the protected-mode decision (loopback, password, option), the
 * admin API's, and the gating of DEBUG and the membership commands with Redis's error text. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "command.h"
#include "config.h"
#include "protect.h"
#include "resp.h"

static struct sockaddr_in addr(const char *ip)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    cr_assert(inet_pton(AF_INET, ip, &sin.sin_addr) == 1);
    return sin;
}

static struct request *req_of(const char *a, const char *b)
{
    struct request *r = request_new(2);
    request_push(r, a, strlen(a));
    if (b)
        request_push(r, b, strlen(b));
    return r;
}

/* All of 127/8 is loopback; other addresses, and an unknown peer, are not. */
Test(protect, loopback_is_all_of_127_8)
{
    struct sockaddr_in a = addr("127.0.0.1"), b = addr("127.200.3.4"), c = addr("192.0.2.7"),
                       d = addr("128.0.0.1");
    cr_assert(protect_addr_is_local(&a));
    cr_assert(protect_addr_is_local(&b));
    cr_assert_not(protect_addr_is_local(&c));
    cr_assert_not(protect_addr_is_local(&d));
    cr_assert_not(protect_addr_is_local(NULL));
}

/* Refused only with protected-mode yes, no password, and a non-loopback peer. */
Test(protect, refuses_remote_peers_only_without_password)
{
    struct config cfg;
    config_init(&cfg);
    struct sockaddr_in lo = addr("127.0.0.1"), remote = addr("198.18.0.2");
    cr_assert_eq(cfg.protected_mode, 1, "protected-mode defaults to yes");
    cr_assert(server_protected_refuses(&cfg, &remote));
    cr_assert(server_protected_refuses(&cfg, NULL));
    cr_assert_not(server_protected_refuses(&cfg, &lo));
    char err[256];
    cr_assert_eq(config_set(&cfg, "requirepass", "pw", 1, err, sizeof(err)), 0);
    cr_assert_not(server_protected_refuses(&cfg, &remote));
    cr_assert_eq(config_set(&cfg, "requirepass", "", 1, err, sizeof(err)), 0);
    cr_assert_eq(config_set(&cfg, "protected-mode", "no", 1, err, sizeof(err)), 0);
    cr_assert_not(server_protected_refuses(&cfg, &remote));
    config_close(&cfg);
}

/* The admin API refuses remote clients only while it requires no token. */
Test(protect, admin_refuses_remote_without_token)
{
    struct config cfg;
    config_init(&cfg);
    cr_assert(protect_admin_refuses(&cfg, NULL, 0));
    cr_assert_not(protect_admin_refuses(&cfg, NULL, 1));
    cr_assert_not(protect_admin_refuses(&cfg, "token", 0));
    cfg.protected_mode = 0;
    cr_assert_not(protect_admin_refuses(&cfg, NULL, 0));
    config_close(&cfg);
}

/* DEBUG and CLUSTER ADDNODE/DELNODE/TRANSFER follow their options (no, yes, local); CLUSTER
 * INFO, JOIN and SETNODE, and other commands, are never gated. */
Test(protect, debug_and_membership_follow_their_options)
{
    struct config cfg;
    struct buf out;
    char err[256];
    config_init(&cfg);
    command_init();
    buf_init(&out);
    const struct command *debug = command_lookup("debug", 5), *cluster = command_lookup("cluster", 7),
                         *get = command_lookup("get", 3);
    struct request *dd = req_of("debug", "digest"), *add = req_of("cluster", "addnode"),
                   *info = req_of("cluster", "info"), *join = req_of("cluster", "join"),
                   *g = req_of("get", "k");
    cr_assert_eq(cfg.enable_debug_command, PROTECT_LOCAL);
    cr_assert_not(protect_command_refused(&cfg, debug, dd, 1, &out));
    cr_assert(protect_command_refused(&cfg, debug, dd, 0, &out));
    cr_assert(strstr(out.data, "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\"") == out.data);
    out.len = 0;
    cr_assert(protect_command_refused(&cfg, cluster, add, 0, &out));
    cr_assert_not(protect_command_refused(&cfg, cluster, add, 1, &out));
    cr_assert_not(protect_command_refused(&cfg, cluster, info, 0, &out));
    cr_assert_not(protect_command_refused(&cfg, cluster, join, 0, &out));
    cr_assert_not(protect_command_refused(&cfg, get, g, 0, &out));
    cr_assert_eq(config_set(&cfg, "enable-debug-command", "no", 0, err, sizeof(err)), 0);
    cr_assert(protect_command_refused(&cfg, debug, dd, 1, &out));
    cr_assert_eq(config_set(&cfg, "enable-membership-command", "yes", 0, err, sizeof(err)), 0);
    cr_assert_not(protect_command_refused(&cfg, cluster, add, 0, &out));
    cr_assert_neq(config_set(&cfg, "enable-debug-command", "yes", 1, err, sizeof(err)), 0,
                  "immutable at runtime, as in Redis");
    request_free(dd);
    request_free(add);
    request_free(info);
    request_free(join);
    request_free(g);
    buf_close(&out);
    config_close(&cfg);
}
