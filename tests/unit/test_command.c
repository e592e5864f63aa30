/* Unit tests of the command table: lookup, arity checks, key positions, table sanity. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "util.h"

static struct request *req_of(int argc, const char **argv)
{
    struct request *r = request_new(argc);
    for (int i = 0; i < argc; i++)
        request_push(r, argv[i], strlen(argv[i]));
    return r;
}

/* Lookup ignores case and rejects unknown names and prefixes. */
Test(command, lookup_is_case_insensitive)
{
    cr_assert_not_null(command_lookup("GET", 3));
    cr_assert_eq(command_lookup("gEt", 3), command_lookup("get", 3));
    cr_assert_null(command_lookup("ge", 2));
    cr_assert_null(command_lookup("gett", 4));
    cr_assert_null(command_lookup("", 0));
    /* ASCII case only: a byte that folds to a letter elsewhere, or a NUL, is no match */
    cr_assert_null(command_lookup("g\xc5t", 3));
    cr_assert_null(command_lookup("ge\0", 3));
    cr_assert_null(command_lookup("GET\0", 4));
    /* every row is found by its own name, in upper case too */
    size_t n;
    struct command *rows = command_table(&n);
    for (size_t i = 0; i < n; i++) {
        char up[64];
        size_t len = strlen(rows[i].name);
        cr_assert_lt(len, sizeof(up));
        for (size_t j = 0; j < len; j++)
            up[j] = (char)toupper((unsigned char)rows[i].name[j]);
        cr_assert_eq(command_lookup(up, len), &rows[i], "%s", rows[i].name);
    }
}

/* Exact arity rejects more and fewer arguments with Redis's text. */
Test(command, exact_arity_errors)
{
    struct buf out;
    buf_init(&out);
    const char *argv[] = {"GET", "a", "b"};
    struct request *r = req_of(3, argv);
    cr_assert_eq(command_check_arity(command_lookup("get", 3), r, &out), -1);
    cr_assert_eq(out.len, strlen("-ERR wrong number of arguments for 'get' command\r\n"));
    cr_assert(memcmp(out.data, "-ERR wrong number of arguments for 'get' command\r\n", out.len) == 0);
    r->argc = 2;
    out.len = 0;
    cr_assert_eq(command_check_arity(command_lookup("get", 3), r, &out), 0);
    cr_assert_eq(out.len, 0);
    r->argc = 3; /* request_free frees argc arguments */
    request_free(r);
    buf_close(&out);
}

/* Negative arity is a minimum. */
Test(command, minimum_arity)
{
    struct buf out;
    buf_init(&out);
    const char *argv[] = {"SET", "k", "v", "NX", "GET"};
    struct request *r = req_of(5, argv);
    struct command *set = command_lookup("set", 3);
    cr_assert_eq(command_check_arity(set, r, &out), 0);
    r->argc = 2;
    cr_assert_eq(command_check_arity(set, r, &out), -1);
    r->argc = 5;
    request_free(r);
    buf_close(&out);
}

/* The first key is found for keyed commands and absent for keyless ones. */
Test(command, first_key_positions)
{
    const char *argv[] = {"MSET", "a", "1", "b", "2"};
    struct request *r = req_of(5, argv);
    cr_assert_eq(command_first_key(command_lookup("mset", 4), r), 1);
    cr_assert_eq(command_first_key(command_lookup("ping", 4), r), -1);
    r->argc = 1;
    cr_assert_eq(command_first_key(command_lookup("mset", 4), r), -1);
    r->argc = 5;
    request_free(r);
}

/* Space-separated LINE as a request. */
static struct request *req_line(const char *line)
{
    static char copy[1024];
    const char *argv[64];
    int argc = 0;
    snprintf(copy, sizeof copy, "%s", line);
    for (char *t = strtok(copy, " "); t != NULL && argc < 64; t = strtok(NULL, " "))
        argv[argc++] = t;
    return req_of(argc, argv);
}

/* command_get_keys of LINE as "pos:w pos:r ..." in a static buffer. */
static const char *keys_of(const char *line)
{
    static char out[512];
    struct request *r = req_line(line);
    struct command_keys ks;
    size_t used = 0;
    out[0] = '\0';
    command_get_keys(command_lookup(r->argv[0], r->len[0]), r, &ks);
    for (int i = 0; i < ks.n; i++)
        used += (size_t)snprintf(out + used, sizeof out - used, "%s%d:%c", i ? " " : "",
                                 ks.v[i].pos, ks.v[i].write ? 'w' : 'r');
    command_keys_close(&ks);
    request_free(r);
    return out;
}

/* Every key is found, fixed ones and those a numkeys argument counts (Redis's
 * getKeysFromCommand), with the access each needs; a bad count contributes no keys. */
Test(command, get_keys_with_numkeys)
{
    cr_assert_str_eq(keys_of("GET a"), "1:r");
    cr_assert_str_eq(keys_of("MSET a 1 b 2"), "1:w 3:w");
    cr_assert_str_eq(keys_of("SINTERSTORE d a b"), "1:w 2:w 3:w");
    cr_assert_str_eq(keys_of("SINTERCARD 2 a b LIMIT 1"), "2:r 3:r");
    cr_assert_str_eq(keys_of("ZUNION 3 a b c WITHSCORES"), "2:r 3:r 4:r");
    cr_assert_str_eq(keys_of("ZINTERCARD 1 a"), "2:r");
    cr_assert_str_eq(keys_of("ZUNIONSTORE d 2 a b WEIGHTS 1 2"), "1:w 3:r 4:r");
    cr_assert_str_eq(keys_of("ZDIFFSTORE d 1 a 128:64"), "1:w 3:r");
    cr_assert_str_eq(keys_of("ZMPOP 2 a b MIN COUNT 3"), "2:w 3:w");
    cr_assert_str_eq(keys_of("ZUNIONSTORE d x a"), "1:w");
    cr_assert_str_eq(keys_of("ZUNION 0 a"), "");
    cr_assert_str_eq(keys_of("ZUNION -1 a"), "");
    cr_assert_str_eq(keys_of("ZUNION 5 a b"), "2:r 3:r");
    cr_assert_str_eq(keys_of("PING"), "");
    cr_assert_str_eq(keys_of("ZUNION 20 a b c d e f g h i j k l m n o p q r s t"),
                     "2:r 3:r 4:r 5:r 6:r 7:r 8:r 9:r 10:r 11:r 12:r 13:r 14:r 15:r 16:r "
                     "17:r 18:r 19:r 20:r 21:r");
    const char *numkeys[] = {"sintercard", "zunion", "zinter", "zintercard", "zdiff",
                             "zmpop", "zunionstore", "zinterstore", "zdiffstore"};
    for (size_t i = 0; i < sizeof numkeys / sizeof numkeys[0]; i++)
        cr_assert(command_lookup(numkeys[i], strlen(numkeys[i]))->flags & CMD_KEYNUM, "%s",
                  numkeys[i]);
}

static int multi_ok(int argc, const char **argv)
{
    struct request *r = req_of(argc, argv);
    int ok = command_allowed_in_multi(command_lookup(argv[0], strlen(argv[0])), r);
    request_free(r);
    return ok;
}

/* MULTI queues reads, writes and cluster reads, but refuses membership changes and DEBUG. */
Test(command, multi_refuses_cluster_changes_and_debug)
{
    const char *set[] = {"set", "k", "v"}, *info[] = {"cluster", "info"}, *nodes[] = {"CLUSTER", "NODES"};
    const char *transfer[] = {"cluster", "transfer"}, *add[] = {"cluster", "addnode", "2", "127.0.0.1:1"};
    const char *del[] = {"cluster", "DELNODE", "2"}, *setnode[] = {"cluster", "setnode", "2", "127.0.0.1:1"};
    const char *removed[] = {"cluster", "removed", "1"}, *debug[] = {"debug", "digest"};
    cr_assert(multi_ok(3, set));
    cr_assert(multi_ok(2, info));
    cr_assert(multi_ok(2, nodes));
    cr_assert_not(multi_ok(2, transfer));
    cr_assert_not(multi_ok(4, add));
    cr_assert_not(multi_ok(3, del));
    cr_assert_not(multi_ok(4, setnode));
    cr_assert_not(multi_ok(3, removed));
    cr_assert_not(multi_ok(2, debug));
}

/* Every row is well formed: a handler, a lower-case name, one of write/read/local, and
 * prepare functions only on writes. */
Test(command, table_rows_are_consistent)
{
    size_t n;
    struct command *t = command_table(&n);
    cr_assert_gt(n, 50);
    for (size_t i = 0; i < n; i++) {
        unsigned kind = t[i].flags & (CMD_WRITE | CMD_READONLY | CMD_LOCAL);
        cr_assert_not_null(t[i].proc, "%s has no handler", t[i].name);
        cr_assert(kind == CMD_WRITE || kind == CMD_READONLY || kind == CMD_LOCAL,
                  "%s must be exactly one of write, read, local", t[i].name);
        cr_assert(t[i].prepare == NULL || (t[i].flags & CMD_WRITE), "%s: prepare on a non-write", t[i].name);
        for (const char *p = t[i].name; *p; p++)
            cr_assert(!(*p >= 'A' && *p <= 'Z'), "%s is not lower case", t[i].name);
        cr_assert_eq(command_lookup(t[i].name, strlen(t[i].name)), &t[i]);
        cr_assert_not_null(t[i].group);
        cr_assert_not_null(t[i].summary);
    }
}

/* A handler that runs until the monotonic clock has moved on by at least 3 microseconds. */
static void slow_proc(struct exec_ctx *ctx, struct request *req)
{
    int64_t start = util_mono_us();
    while (util_mono_us() - start < 3)
        ;
    reply_simple(ctx->out, "OK");
}

/* command_exec measures the handler's run time and credits it to a client's command. */
Test(command, exec_measures_usec_for_a_client)
{
    struct command slow = {.name = "slow", .proc = slow_proc, .arity = 1};
    struct buf out;
    int fake_client;
    buf_init(&out);
    struct exec_ctx ctx = {.out = &out, .client = (struct client *)&fake_client};
    const char *argv[] = {"SLOW"};
    struct request *r = req_of(1, argv);
    int64_t t = command_exec(&slow, &ctx, r);
    cr_assert_geq(t, 3);
    cr_assert_eq(slow.usec, t);
    t += command_exec(&slow, &ctx, r);
    cr_assert_eq(slow.usec, t, "the time accumulates");
    request_free(r);
    buf_close(&out);
}

/* In apply (no client) the time is returned but not credited: fsm decides where it goes. */
Test(command, exec_in_apply_leaves_usec_to_the_caller)
{
    struct command slow = {.name = "slow", .proc = slow_proc, .arity = 1};
    struct buf out;
    buf_init(&out);
    struct exec_ctx ctx = {.out = &out, .client = NULL};
    const char *argv[] = {"SLOW"};
    struct request *r = req_of(1, argv);
    cr_assert_geq(command_exec(&slow, &ctx, r), 3);
    cr_assert_eq(slow.usec, 0);
    request_free(r);
    buf_close(&out);
}

/* The end of a container's dispatch: HELP's lines, arity errors for known subcommands,
 * unknown ones, in Redis's words. */
Test(command, subcommand_rest_replies)
{
    static const char *const help[] = {"FOO <subcommand>", "HELP", NULL};
    static const char *const known[] = {"bar", NULL};
    struct buf out;
    buf_init(&out);
    const char *h[] = {"FOO", "help"}, *b[] = {"FOO", "BAR", "x"}, *u[] = {"FOO", "baz"};
    struct request *r = req_of(2, h);
    command_reply_subcommand_rest(&out, r, "FOO", help, known);
    cr_assert_eq(memcmp(out.data, "*2\r\n+FOO <subcommand>\r\n+HELP\r\n", out.len), 0);
    request_free(r);
    out.len = 0;
    r = req_of(3, b);
    command_reply_subcommand_rest(&out, r, "FOO", help, known);
    buf_append(&out, "", 1);
    cr_assert_str_eq(out.data, "-ERR wrong number of arguments for 'foo|bar' command\r\n");
    request_free(r);
    out.len = 0;
    r = req_of(2, u);
    command_reply_subcommand_rest(&out, r, "FOO", NULL, NULL);
    buf_append(&out, "", 1);
    cr_assert_str_eq(out.data, "-ERR unknown subcommand 'baz'. Try FOO HELP.\r\n");
    request_free(r);
    out.len = 0;
    r = req_of(2, h);
    command_reply_subcommand_rest(&out, r, "FOO", NULL, known);
    buf_append(&out, "", 1);
    cr_assert_str_eq(out.data, "-ERR unknown subcommand 'help'. Try FOO HELP.\r\n", "no help: HELP is unknown");
    request_free(r);
    buf_close(&out);
}
