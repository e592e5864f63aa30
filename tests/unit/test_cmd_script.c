/* Unit tests of EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT's apply side (cmd_script.c)
 * through the command harness: error texts, KEYS/ARGV, redis.call into real handlers,
 * pcall, error_reply, the entry's clock and seed, read-only refusals, commands scripts may
 * not call, the limits prepare carries, the rollback of a script stopped at its budget, and
 * the caller's ACL permissions applied to what a script calls. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "acl.h"
#include "cmdtest.h"
#include "command.h"
#include "kv.h"
#include "script_lua.h"

#define T0 1700000000123LL

static struct cmdtest t;

static void setup(void)
{
    ct_init(&t, T0);
    script_busy_limit_configured = SCRIPT_DEFAULT_LIMIT;
    script_oom_configured = 0;
}

static void teardown(void)
{
    acl_free(t.acl);
    t.acl = NULL;
    t.user = NULL;
    ct_close(&t);
    script_busy_limit_configured = SCRIPT_DEFAULT_LIMIT;
    script_oom_configured = 0;
}

TestSuite(cmd_script, .init = setup, .fini = teardown);

/* Run CMD BODY with the N more string arguments that follow. */
static const char *ev(const char *cmd, const char *body, int n, ...)
{
    const char *argv[16] = {cmd, body};
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        argv[2 + i] = va_arg(ap, const char *);
    va_end(ap);
    return ct_runv(&t, 2 + n, argv, NULL);
}

#define STARTS(s, prefix) cr_assert(strncmp((s), (prefix), strlen(prefix)) == 0, "%s", (s))

/* KEYS and ARGV come from numkeys; numkeys errors are Redis's texts. */
Test(cmd_script, keys_and_argv_and_numkeys_errors)
{
    cr_assert_str_eq(ev("EVAL", "return {KEYS[1], KEYS[2], ARGV[1]}", 4, "2", "a", "b", "c"),
                     "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    cr_assert_str_eq(ev("EVAL", "return 1", 2, "2", "a"),
                     "-ERR Number of keys can't be greater than number of args\r\n");
    cr_assert_str_eq(ev("EVAL", "return 1", 1, "-1"), "-ERR Number of keys can't be negative\r\n");
    cr_assert_str_eq(ev("EVAL", "return 1", 1, "x"), "-ERR value is not an integer or out of range\r\n");
    cr_assert_str_eq(ev("EVAL_RO", "return 1", 1, "3"),
                     "-ERR Number of keys can't be greater than number of args\r\n");
}

/* redis.call runs the real handlers; errors carry the script's SHA and line. */
Test(cmd_script, call_writes_and_reports_errors)
{
    cr_assert_str_eq(ev("EVAL", "return redis.call('set', KEYS[1], ARGV[1])", 3, "1", "k", "v"), "+OK\r\n");
    cr_assert_str_eq(ct_run(&t, "GET k"), "$1\r\nv\r\n");
    const char *r = ev("EVAL", "return redis.call('incr', 'k')", 1, "0");
    STARTS(r, "-ERR value is not an integer or out of range script: ");
    cr_assert(strstr(r, ", on @user_script:1.\r\n") != NULL, "%s", r);
    cr_assert_str_eq(ev("EVAL", "return redis.pcall('incr', 'k')", 1, "0"),
                     "-ERR value is not an integer or out of range\r\n");
    cr_assert_str_eq(ev("EVAL", "return redis.error_reply('MY fault')", 1, "0"), "-MY fault\r\n");
    STARTS(ev("EVAL", "return nosuch", 1, "0"),
           "-ERR user_script:1: Script attempted to access nonexistent global variable 'nosuch' script: ");
    STARTS(ev("EVAL", "return redis.call('nosuch')", 1, "0"),
           "-ERR Unknown Redis command called from script script: ");
    STARTS(ev("EVAL", "return redis.call('get')", 1, "0"),
           "-ERR Wrong number of args calling Redis command from script script: ");
    STARTS(ev("EVAL", "return +", 1, "0"), "-ERR Error compiling script (new function): user_script:1:");
}

/* MULTI, EXEC, WATCH, EVAL, SCRIPT, FLUSHALL and layout-dependent reads are refused. */
Test(cmd_script, commands_a_script_may_not_call)
{
    const char *cmds[] = {"multi", "exec", "watch", "eval", "script", "flushall", "keys",
                          "randomkey", "config", "client"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char body[96];
        snprintf(body, sizeof body, "return redis.call('%s', 'x', 'y')", cmds[i]);
        const char *r = ev("EVAL", body, 1, "0");
        cr_assert(strstr(r, "This Redis command is not allowed from script") != NULL ||
                  strstr(r, "Wrong number of args") != NULL, "%s: %s", cmds[i], r);
    }
    STARTS(ev("EVAL", "return redis.call('multi')", 1, "0"),
           "-ERR This Redis command is not allowed from script script: ");
}

/* Read-only scripts read, and refuse writes with Redis's text. */
Test(cmd_script, read_only_scripts_refuse_writes)
{
    ct_run(&t, "SET a 1");
    cr_assert_str_eq(ev("EVAL_RO", "return redis.call('get', 'a')", 1, "0"), "$1\r\n1\r\n");
    STARTS(ev("EVAL_RO", "return redis.call('set', 'a', 2)", 1, "0"),
           "-ERR Write commands are not allowed from read-only scripts. script: ");
    cr_assert_str_eq(ct_run(&t, "GET a"), "$1\r\n1\r\n");
}

/* EVALSHA runs a cached script and answers NOSCRIPT otherwise; SCRIPT's apply side loads
 * and flushes the cache. */
Test(cmd_script, evalsha_and_the_cache)
{
    const char *sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"; /* return 1 */
    cr_assert_str_eq(ev("EVALSHA", sha, 1, "0"), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
    cr_assert_str_eq(ev("EVALSHA_RO", sha, 1, "0"), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
    const char *load[] = {"__script", "load", "return 1"};
    cr_assert_str_eq(ct_runv(&t, 3, load, NULL), "$40\r\ne0e1f9fabfc9d4800c877a703b823ac0578ff8db\r\n");
    cr_assert_str_eq(ev("EVALSHA", sha, 1, "0"), ":1\r\n");
    cr_assert_str_eq(ev("EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", 1, "0"), ":1\r\n");
    cr_assert_str_eq(ev("EVALSHA_RO", sha, 1, "0"), ":1\r\n");
    /* EVAL caches what it runs */
    ev("EVAL", "return 2", 1, "0");
    cr_assert_eq(script_engine_count(t.scripts), 2);
    cr_assert_str_eq(ct_run(&t, "__script flush"), "+OK\r\n");
    cr_assert_str_eq(ev("EVALSHA", sha, 1, "0"), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
}

/* TIME is the entry's clock; math.random the entry's seed: the same apply_seq gives the
 * same numbers, another one others. */
Test(cmd_script, clock_and_seed_are_the_entrys)
{
    cr_assert_str_eq(ev("EVAL", "return redis.call('time')", 1, "0"),
                     "*2\r\n$10\r\n1700000000\r\n$6\r\n123000\r\n");
    uint64_t seq = t.apply_seq;
    char first[128];
    snprintf(first, sizeof first, "%s", ev("EVAL", "return {math.random(1000000), math.random(1000000)}", 1, "0"));
    t.apply_seq = seq;
    cr_assert_str_eq(ev("EVAL", "return {math.random(1000000), math.random(1000000)}", 1, "0"), first);
    cr_assert_str_neq(ev("EVAL", "return {math.random(1000000), math.random(1000000)}", 1, "0"), first);
}

/* Prepare carries the budget; apply refuses an EVAL without it. */
Test(cmd_script, prepare_carries_the_limits)
{
    script_busy_limit_configured = 12345;
    STARTS(ct_prepare(&t, "EVAL x 0"), "EVAL x 0 12345:");
    STARTS(ct_prepare(&t, "EVALSHA x 2 a"), "-ERR Number of keys can't be greater");
    cr_assert_str_eq(ct_apply(&t, "EVAL x 0"), "-ERR malformed EVAL in log entry\r\n");
}

/* An EVAL proposed out of memory carries it (busy as -1 - busy): in apply the script may
 * read and delete, but a denyoom command before its first write answers -OOM (Redis 7.0's
 * scriptVerifyOOM); after a write it goes on. Without the flag nothing changes. */
Test(cmd_script, proposed_out_of_memory_refuses_denyoom_before_a_write)
{
    script_busy_limit_configured = 12345;
    script_oom_configured = 1;
    STARTS(ct_prepare(&t, "EVAL x 0"), "EVAL x 0 -12346:");
    STARTS(ev("EVAL", "return redis.call('set','a','1')", 1, "0"),
           "-OOM command not allowed when used memory > 'maxmemory'. script: ");
    cr_assert_str_eq(ct_run(&t, "EXISTS a"), ":0\r\n");
    cr_assert_str_eq(ev("EVAL", "return redis.call('get','a')", 1, "0"), "$-1\r\n");
    cr_assert_str_eq(ev("EVAL", "redis.call('del','a') return redis.call('set','a','1')", 1, "0"),
                     "+OK\r\n");
    script_oom_configured = 0;
    cr_assert_str_eq(ev("EVAL", "return redis.call('set','b','1')", 1, "0"), "+OK\r\n");
}

/* A script stopped at its budget leaves no write behind: changed, created and deleted keys
 * of every type are as they were, TTLs included; the error says what happened. */
Test(cmd_script, budget_abort_rolls_back_every_write)
{
    ct_run(&t, "SET s old");
    ct_run(&t, "PEXPIRE s 100000");
    ct_run(&t, "HSET h f v");
    ct_run(&t, "SADD z 1 2 3");
    char before[41];
    snprintf(before, sizeof before, "%s", ct_digest(&t));
    script_busy_limit_configured = 200000;
    const char *r = ev("EVAL",
                       "redis.call('set', 's', 'new') redis.call('hset', 'h', 'g', 'w') "
                       "redis.call('del', 'z') redis.call('set', 'fresh', 1) "
                       "redis.call('rename', 'h', 'h2') while true do end", 1, "0");
    STARTS(r, "-ERR Script aborted: it ran more than busy-script-limit (200000)");
    cr_assert_str_eq(ct_digest(&t), before);
    cr_assert_str_eq(ct_run(&t, "GET s"), "$3\r\nold\r\n");
    cr_assert_str_eq(ct_run(&t, "PTTL s"), ":100000\r\n");
    cr_assert_str_eq(ct_run(&t, "EXISTS fresh h2"), ":0\r\n");
    cr_assert_str_eq(ct_run(&t, "HGETALL h"), "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    cr_assert_str_eq(ct_run(&t, "SCARD z"), ":3\r\n");
    /* a script within budget keeps its writes */
    cr_assert_str_eq(ev("EVAL", "return redis.call('incr', 'n')", 1, "0"), ":1\r\n");
    cr_assert_str_eq(ct_run(&t, "GET n"), "$1\r\n1\r\n");
}

/* ACL SETUSER NAME with the rules that follow (NULL-terminated) into A. */
static void setuser(struct acl_store *a, const char *name, ...)
{
    char *argv[8];
    size_t len[8];
    int n = 0;
    char err[256];
    va_list ap;
    va_start(ap, name);
    for (const char *r; n < 8 && (r = va_arg(ap, const char *)) != NULL; n++) {
        argv[n] = (char *)r;
        len[n] = strlen(r);
    }
    va_end(ap);
    cr_assert_eq(acl_setuser(a, name, strlen(name), n, argv, len, err, sizeof err), 0, "%s", err);
}

/* The caller's user travels with an EVAL (script_note_caller) and apply checks every command
 * the script calls against that user's permissions, with Redis 7.0's texts: nothing refused
 * is written, pcall gets the error as a value, ACL LOG records the denial in the context
 * "lua". A user gone by the time of apply may run nothing; an EVAL that carries no user (a
 * peer's, or one logged before callers were carried) runs unchecked. */
Test(cmd_script, commands_run_with_the_callers_permissions)
{
    t.acl = acl_new();
    setuser(t.acl, "alice", "on", "~*", "+@all", "-set", NULL);
    setuser(t.acl, "bob", "on", "~b*", "+@all", NULL);
    script_busy_limit_configured = 12345;
    t.user = "alice";
    const char *p = ct_prepare(&t, "EVAL x 0");
    STARTS(p, "EVAL x 0 12345:");
    cr_assert(strlen(p) > 6 && strcmp(p + strlen(p) - 6, ":alice") == 0, "%s", p);

    STARTS(ev("EVAL", "return redis.call('set', 'k', 'v')", 1, "0"),
           "-ERR The user executing the script can't run this command or subcommand script: ");
    cr_assert_str_eq(ev("EVAL", "return redis.pcall('set', 'k', 'v')", 1, "0"),
                     "-ERR The user executing the script can't run this command or subcommand\r\n");
    cr_assert_str_eq(ct_run(&t, "EXISTS k"), ":0\r\n");
    cr_assert_str_eq(ev("EVAL", "return redis.call('incr', 'k')", 1, "0"), ":1\r\n");
    cr_assert_geq(t.acl->nlog, 1);
    cr_assert_eq(t.acl->log[0].multi, ACL_LOG_LUA);
    cr_assert_str_eq(t.acl->log[0].object, "set");
    cr_assert_str_eq(t.acl->log[0].username, "alice");
    cr_assert_eq(t.acl->log[0].count, 2);

    t.user = "bob";
    STARTS(ev("EVAL", "return redis.call('get', 'k')", 1, "0"),
           "-ERR The user executing the script can't access at least one of the keys mentioned in "
           "the command arguments script: ");
    cr_assert_str_eq(t.acl->log[0].object, "k");
    cr_assert_str_eq(ev("EVAL", "return redis.call('incr', KEYS[1])", 2, "1", "b1"), ":1\r\n");

    t.user = "carol"; /* deleted after the proposal */
    STARTS(ev("EVAL", "return redis.call('get', 'b1')", 1, "0"),
           "-ERR The user executing the script can't run this command or subcommand script: ");

    t.user = NULL;
    cr_assert_str_eq(ev("EVAL", "return redis.call('set', 'k', 'v')", 1, "0"), "+OK\r\n");
}
