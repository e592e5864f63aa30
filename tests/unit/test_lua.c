/* Unit tests of the Lua bridge (script_lua.c) on its own, with a stub redis.call: RESP -> Lua
 * and Lua -> RESP conversions as Redis 7.0 does them, the sandbox (no os/io/loadstring, no
 * new globals, read-only libraries, no addresses in tostring), the script cache, compile
 * errors, error texts with the script's line, and the deterministic instruction budget. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "prng.h"
#include "resp.h"
#include "script_lua.h"
#include "util.h"

static struct script_engine *e;
static struct buf out;
static struct prng rng;
static const char *stub_reply; /* what the stub redis.call answers */
static int stub_calls;

static int stub_resp; /* the protocol of the last call's reply buffer */

static void stub_call(void *arg, struct request *req, struct buf *o)
{
    stub_calls++;
    stub_resp = o->resp;
    buf_append(o, stub_reply, strlen(stub_reply));
}

static struct prng *stub_prng(void *arg) { return &rng; }

static void setup(void)
{
    e = script_engine_new();
    buf_init(&out);
    prng_seed(&rng, 1, 2);
    stub_reply = "+OK\r\n";
    stub_calls = 0;
}

static void teardown(void)
{
    script_engine_free(e);
    buf_close(&out);
}

TestSuite(lua, .init = setup, .fini = teardown);

/* Compile BODY, run it with ARGS (NKEYS of them keys) under LIMIT; the reply, NUL-ended. */
static const char *run_limited(const char *body, long long limit, int *aborted)
{
    char sha[41];
    char *argv[2] = {"k1", "a1"};
    size_t lens[2] = {2, 2};
    out.len = 0;
    if (script_engine_load(e, body, strlen(body), 1, sha, &out) != 0) {
        buf_append(&out, "", 1);
        return out.data;
    }
    struct script_run run = {.call = stub_call, .prng = stub_prng, .limit = limit};
    cr_assert_eq(script_engine_run(e, sha, argv, lens, 1, 1, &run, &out), 0);
    if (aborted)
        *aborted = run.aborted;
    buf_append(&out, "", 1);
    return out.data;
}

static const char *run(const char *body) { return run_limited(body, 0, NULL); }

#define EXPECT(body, reply) cr_assert_str_eq(run(body), reply)

/* Lua values become Redis 7.0's replies: numbers truncate, true is 1, false is nil, arrays
 * stop at the first nil, {err=} and {ok=} are error and status replies. */
Test(lua, lua_values_convert_as_redis_does)
{
    EXPECT("return 42", ":42\r\n");
    EXPECT("return 3.99", ":3\r\n");
    EXPECT("return -2.5", ":-2\r\n");
    EXPECT("return 'x'", "$1\r\nx\r\n");
    EXPECT("return true", ":1\r\n");
    EXPECT("return false", "$-1\r\n");
    EXPECT("return nil", "$-1\r\n");
    EXPECT("return {1, 'a', {2}, nil, 4}", "*3\r\n:1\r\n$1\r\na\r\n*1\r\n:2\r\n");
    EXPECT("return {err = 'BAD thing'}", "-BAD thing\r\n");
    EXPECT("return {ok = 'FINE'}", "+FINE\r\n");
    EXPECT("return {ok = 'a\\r\\nb'}", "+a  b\r\n");
}

/* Command replies become Lua values: status -> {ok}, error -> {err}, integer -> number,
 * nil bulk -> false, arrays -> tables (nested). */
Test(lua, command_replies_convert_to_lua)
{
    stub_reply = "+PONG\r\n";
    EXPECT("return redis.call('ping').ok", "$4\r\nPONG\r\n");
    stub_reply = ":7\r\n";
    EXPECT("return redis.call('x') + 1", ":8\r\n");
    stub_reply = "$-1\r\n";
    EXPECT("return tostring(redis.call('get', 'k'))", "$5\r\nfalse\r\n");
    stub_reply = "*-1\r\n";
    EXPECT("return type(redis.call('x'))", "$7\r\nboolean\r\n");
    stub_reply = "*2\r\n$1\r\na\r\n*1\r\n:5\r\n";
    EXPECT("local r = redis.call('x') return {r[1], r[2][1]}", "*2\r\n$1\r\na\r\n:5\r\n");
    stub_reply = "-WRONGTYPE no\r\n";
    EXPECT("return redis.pcall('x').err", "$12\r\nWRONGTYPE no\r\n");
}

/* After redis.setresp(3) a command replies in RESP3 and its reply becomes Redis 7.0's Lua
 * values: map -> {map=}, set -> {set=}, double -> {double=}, null -> nil, booleans; the
 * script's booleans are RESP3 booleans. Without it, calls reply in RESP2. */
Test(lua, setresp3_replies_convert_to_lua)
{
    stub_reply = ":1\r\n";
    EXPECT("return redis.call('x')", ":1\r\n");
    cr_assert_eq(stub_resp, RESP2);
    EXPECT("redis.setresp(3) return redis.call('x')", ":1\r\n");
    cr_assert_eq(stub_resp, RESP3);
    stub_reply = "%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n_\r\n";
    EXPECT("redis.setresp(3) local t = redis.call('x') return {t.map.a, type(t.map.b)}",
           "*2\r\n:1\r\n$3\r\nnil\r\n");
    stub_reply = "~1\r\n$1\r\nm\r\n";
    EXPECT("redis.setresp(3) return tostring(redis.call('x').set.m)", "$4\r\ntrue\r\n");
    stub_reply = ",2.5\r\n";
    EXPECT("redis.setresp(3) return redis.call('x').double * 2", ":5\r\n");
    stub_reply = "#f\r\n";
    EXPECT("redis.setresp(3) return type(redis.call('x'))", "$7\r\nboolean\r\n");
    stub_reply = "=9\r\ntxt:hello\r\n";
    EXPECT("redis.setresp(3) return redis.call('x').verbatim_string.string", "$5\r\nhello\r\n");
    stub_reply = "(12345678901234567890\r\n";
    EXPECT("redis.setresp(3) return redis.call('x').big_number", "$20\r\n12345678901234567890\r\n");
    EXPECT("redis.setresp(3) return false", ":0\r\n"); /* a boolean, to a RESP2 client */
    out.resp = RESP3;
    EXPECT("redis.setresp(3) return true", "#t\r\n");
    EXPECT("redis.setresp(3) return false", "#f\r\n");
}

/* The RESP3 tables a script returns, in the reply buffer's protocol (RESP2 here). */
Test(lua, resp3_tables_convert_to_replies)
{
    EXPECT("return {double = 1.5}", "$3\r\n1.5\r\n");
    EXPECT("return {map = {a = 1}}", "*2\r\n$1\r\na\r\n:1\r\n");
    EXPECT("return {set = {x = true}}", "*1\r\n$1\r\nx\r\n");
    EXPECT("return {big_number = '99'}", "$2\r\n99\r\n");
    EXPECT("return {verbatim_string = {format = 'txt', string = 'hi'}}", "$2\r\nhi\r\n");
    out.resp = RESP3;
    EXPECT("return {map = {a = {double = 2}}}", "%1\r\n$1\r\na\r\n,2\r\n");
    EXPECT("return false", "_\r\n");
}

/* redis.call raises a command's error with the script's position; pcall returns it. */
Test(lua, call_raises_errors_with_the_line)
{
    stub_reply = "-ERR nope\r\n";
    const char *r = run("\nreturn redis.call('x')");
    cr_assert(strncmp(r, "-ERR nope script: ", 18) == 0, "%s", r);
    cr_assert(strstr(r, ", on @user_script:2.\r\n") != NULL, "%s", r);
    EXPECT("return redis.pcall('x')", "-ERR nope\r\n");
    r = run("error('boom')");
    cr_assert(strncmp(r, "-ERR user_script:1: boom script: ", 33) == 0, "%s", r);
    r = run("return redis.call()");
    cr_assert(strncmp(r, "-ERR Please specify at least one argument for this redis lib call script:", 73) == 0, "%s", r);
    r = run("return redis.call({})");
    cr_assert(strncmp(r, "-ERR Lua redis lib command arguments must be strings or integers script:", 72) == 0, "%s", r);
    cr_assert_eq(stub_calls, 2);
}

/* error_reply adds no second dash, keeps the code; status_reply; sha1hex; setresp(2). */
Test(lua, helpers)
{
    EXPECT("return redis.error_reply('MY err')", "-MY err\r\n");
    EXPECT("return redis.error_reply('-X y')", "-X y\r\n");
    EXPECT("return redis.status_reply('GOOD')", "+GOOD\r\n");
    EXPECT("return redis.sha1hex('')", "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n");
    EXPECT("redis.setresp(2) return 1", ":1\r\n");
    cr_assert(strstr(run("redis.setresp(4)"), "RESP version must be 2 or 3.") != NULL);
    EXPECT("return KEYS[1] .. ARGV[1] .. #KEYS .. #ARGV", "$6\r\nk1a111\r\n");
    EXPECT("return cjson.encode({1, 2})", "$5\r\n[1,2]\r\n");
    EXPECT("return bit.bxor(5, 3)", ":6\r\n");
    EXPECT("redis.log(redis.LOG_DEBUG, 'x') return 1", ":1\r\n");
}

/* The sandbox: no os, io, loadstring, dofile, print; unknown globals and new globals are
 * errors; libraries are read-only; tostring shows no address. */
Test(lua, sandbox)
{
    const char *names[] = {"os", "io", "loadstring", "dofile", "loadfile", "load", "print",
                           "require", "setfenv", "debug", "package"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char body[64];
        snprintf(body, sizeof body, "return %s", names[i]);
        const char *r = run(body);
        cr_assert(strstr(r, "Script attempted to access nonexistent global variable") != NULL,
                  "%s: %s", names[i], r);
    }
    cr_assert(strstr(run("x = 1"), "Attempt to modify a readonly table") != NULL);
    cr_assert(strstr(run("string.foo = 1"), "Attempt to modify a readonly table") != NULL);
    cr_assert(strstr(run("rawset(_G, 'y', 1)"), "Attempt to modify a readonly table") != NULL);
    cr_assert(strstr(run("rawset(math, 'y', 1)"), "Attempt to modify a readonly table") != NULL);
    cr_assert(strstr(run("setmetatable(_G, nil)"), "protected metatable") != NULL);
    EXPECT("return tostring({})", "$5\r\ntable\r\n");
    EXPECT("return tostring(rawget(_G, 'print') == nil)", "$4\r\ntrue\r\n");
    EXPECT("local t = {} t.a = 1 return t.a", ":1\r\n");
    EXPECT("return ('abc'):upper()", "$3\r\nABC\r\n");
}

/* math.random draws from the caller's PRNG: the same seed gives the same numbers. */
Test(lua, math_random_follows_the_given_seed)
{
    char first[64];
    snprintf(first, sizeof first, "%s", run("return {math.random(1000000), math.random(5, 6)}"));
    prng_seed(&rng, 1, 2);
    EXPECT("return {math.random(1000000), math.random(5, 6)}", first);
    prng_seed(&rng, 9, 9);
    cr_assert_str_neq(run("return {math.random(1000000), math.random(5, 6)}"), first);
    EXPECT("local r = math.random() return r >= 0 and r < 1", ":1\r\n");
}

/* A loop is stopped at the budget, even behind pcall; a short script is not. */
Test(lua, budget_aborts_runaway_scripts)
{
    int aborted;
    const char *r = run_limited("while true do end", 100000, &aborted);
    cr_assert_eq(aborted, 1);
    cr_assert(strstr(r, "busy-script-limit") != NULL, "%s", r);
    run_limited("while true do pcall(function() while true do end end) end", 100000, &aborted);
    cr_assert_eq(aborted, 1);
    r = run_limited("local x = 0 for i = 1, 1000 do x = x + i end return x", 100000, &aborted);
    cr_assert_eq(aborted, 0);
    cr_assert_str_eq(r, ":500500\r\n");
    /* each redis.call counts SCRIPT_CALL_COST: a loop of calls stops too */
    stub_calls = 0;
    run_limited("while true do redis.call('x') end", 100000, &aborted);
    cr_assert_eq(aborted, 1);
    cr_assert_leq(stub_calls, 100000 / SCRIPT_CALL_COST);
}

/* The cache keeps bodies in SHA order; compile errors are Redis's text and cache nothing;
 * flush forgets everything; the digest moves only when the cache is not empty. */
Test(lua, cache_load_exists_flush)
{
    char sha[41], hex[41] = "0000000000000000000000000000000000000000";
    script_engine_digest(e, hex);
    cr_assert_str_eq(hex, "0000000000000000000000000000000000000000");
    cr_assert_eq(script_engine_load(e, "return 1", 8, 1, sha, &out), 0);
    cr_assert_str_eq(sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    cr_assert(script_engine_exists(e, "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", 40));
    cr_assert_eq(script_engine_load(e, "return 2", 8, 0, sha, &out), 0);
    cr_assert_not(script_engine_exists(e, sha, 40));
    cr_assert(script_engine_compiled(e, sha, 40));
    cr_assert_eq(script_engine_count(e), 1);
    out.len = 0;
    cr_assert_eq(script_engine_load(e, "return +", 8, 1, sha, &out), -1);
    buf_append(&out, "", 1);
    cr_assert(strncmp(out.data, "-ERR Error compiling script (new function): user_script:1:", 58) == 0, "%s", out.data);
    cr_assert_eq(script_engine_count(e), 1);
    script_engine_digest(e, hex);
    cr_assert_str_neq(hex, "0000000000000000000000000000000000000000");
    script_engine_flush(e);
    cr_assert_eq(script_engine_count(e), 0);
    cr_assert_not(script_engine_compiled(e, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", 40));
}
