/* The Lua bridge of EVAL (script_lua.h): sandbox, script cache, RESP <-> Lua conversions,
 * the redis.* library and the instruction budget. No commands, keyspace or I/O here: a
 * script's redis.call goes through the caller's callback. Everything a script can observe
 * through this file is a function of its arguments, the callback's replies and the PRNG the
 * caller gives, so a script run in apply behaves the same on every node. */
#include "script_lua.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <openssl/sha.h>

#include "log.h"
#include "prng.h"
#include "resp.h"
#include "util.h"

/* lua-cjson and lua-bitop, from Debian's lua-cjson-dev and lua-bitop-dev (linked, not
 * loaded through require: the sandbox has no package library). */
int luaopen_cjson(lua_State *L);
int luaopen_bit(lua_State *L);

#define RUN_KEY "concordkv_run"   /* registry: the current struct script_run (light userdata) */
#define CONV_MAX_DEPTH 64         /* nesting of replies converted either way */

struct cached_script {
    char sha[41];
    char *body; /* owned */
    size_t len;
};

struct script_engine {
    lua_State *L;
    struct cached_script *scripts; /* sorted by sha */
    int n, cap;
};

void script_sha1hex(const void *p, size_t len, char hex[41])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    static const char digits[] = "0123456789abcdef";
    SHA1(p, len, md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[40] = '\0';
}

static void count_hook(lua_State *L, lua_Debug *ar);

static struct script_run *current_run(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, RUN_KEY);
    struct script_run *run = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return run;
}

/* Push Redis's error table {err = "CODE msg"}: MSG "-CODE msg" keeps its code, a MSG
 * without the dash gets "ERR"; trailing CR/LF go. */
static void push_error_table(lua_State *L, const char *msg, size_t len)
{
    while (len > 0 && (msg[len - 1] == '\r' || msg[len - 1] == '\n'))
        len--;
    if (len > 0 && msg[0] == '-' && memchr(msg, ' ', len) != NULL) {
        lua_pushlstring(L, msg + 1, len - 1);
    } else {
        if (len > 0 && msg[0] == '-') {
            msg++;
            len--;
        }
        lua_pushliteral(L, "ERR ");
        lua_pushlstring(L, msg, len);
        lua_concat(L, 2);
    }
    lua_newtable(L);
    lua_insert(L, -2);
    lua_setfield(L, -2, "err");
}

static void push_error_text(lua_State *L, const char *msg)
{
    push_error_table(L, msg, strlen(msg));
}

static int raise_error(lua_State *L, const char *msg)
{
    push_error_table(L, msg, strlen(msg));
    return lua_error(L);
}

/* ---- RESP -> Lua ---- */

/* Push the table {FIELD = the LEN bytes at S}: a status, an error, a big number. */
static void push_string_table(lua_State *L, const char *field, const char *s, size_t len)
{
    lua_newtable(L);
    lua_pushlstring(L, s, len);
    lua_setfield(L, -2, field);
}

/* Parse the RESP2 value at *P (our own replies: well formed) and push it as Redis 7.0 does:
 * integer -> number, bulk -> string, null -> false, status -> {ok=}, error -> {err=},
 * array -> table; and after redis.setresp(3) RESP3's: null -> nil, map -> {map=}, set ->
 * {set=}, double -> {double=}, boolean, big number, verbatim string. Returns 0, or -1 when the reply is malformed or nested too deep. */
static int resp_to_lua(lua_State *L, const char **p, const char *end, int depth)
{
    const char *s = *p, *nl = s < end ? memchr(s, '\r', (size_t)(end - s)) : NULL;
    long long n;
    if (nl == NULL || nl + 1 >= end || depth > CONV_MAX_DEPTH || !lua_checkstack(L, 4))
        return -1;
    size_t hlen = (size_t)(nl - s - 1);
    *p = nl + 2;
    switch (s[0]) {
    case '+':
        push_string_table(L, "ok", s + 1, hlen);
        return 0;
    case '-':
        push_string_table(L, "err", s + 1, hlen);
        return 0;
    case ':':
        if (util_parse_ll(s + 1, hlen, &n) != 0)
            return -1;
        lua_pushnumber(L, (lua_Number)n);
        return 0;
    case '$':
        if (util_parse_ll(s + 1, hlen, &n) != 0)
            return -1;
        if (n < 0) {
            lua_pushboolean(L, 0);
            return 0;
        }
        if ((long long)(end - *p) < n + 2)
            return -1;
        lua_pushlstring(L, *p, (size_t)n);
        *p += n + 2;
        return 0;
    case '*':
        if (util_parse_ll(s + 1, hlen, &n) != 0)
            return -1;
        if (n < 0) {
            lua_pushboolean(L, 0);
            return 0;
        }
        lua_createtable(L, n < 1024 ? (int)n : 1024, 0);
        for (long long i = 0; i < n; i++) {
            if (resp_to_lua(L, p, end, depth + 1) != 0)
                return -1;
            lua_rawseti(L, -2, (int)(i + 1));
        }
        return 0;
    /* RESP3, after redis.setresp(3), as Redis 7.0 converts it */
    case '_':
        lua_pushnil(L);
        return 0;
    case '#':
        lua_pushboolean(L, hlen == 1 && s[1] == 't');
        return 0;
    case ',': {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%.*s", (int)(hlen < 63 ? hlen : 63), s + 1);
        lua_newtable(L);
        lua_pushnumber(L, (lua_Number)strtod(tmp, NULL)); /* inf and -inf too */
        lua_setfield(L, -2, "double");
        return 0;
    }
    case '(':
        push_string_table(L, "big_number", s + 1, hlen);
        return 0;
    case '=':
        if (util_parse_ll(s + 1, hlen, &n) != 0 || n < 4 || (long long)(end - *p) < n + 2)
            return -1;
        lua_newtable(L);
        lua_newtable(L);
        lua_pushlstring(L, *p, 3);
        lua_setfield(L, -2, "format");
        lua_pushlstring(L, *p + 4, (size_t)n - 4);
        lua_setfield(L, -2, "string");
        lua_setfield(L, -2, "verbatim_string");
        *p += n + 2;
        return 0;
    case '%':
    case '~': {
        int map = s[0] == '%';
        if (util_parse_ll(s + 1, hlen, &n) != 0 || n < 0)
            return -1;
        lua_newtable(L);
        lua_newtable(L);
        for (long long i = 0; i < n; i++) {
            if (resp_to_lua(L, p, end, depth + 1) != 0)
                return -1;
            if (map) {
                if (resp_to_lua(L, p, end, depth + 1) != 0)
                    return -1;
            } else {
                lua_pushboolean(L, 1);
            }
            if (lua_isnil(L, -2)) { /* a nil key cannot be stored */
                lua_pop(L, 2);
                continue;
            }
            lua_rawset(L, -3);
        }
        lua_setfield(L, -2, map ? "map" : "set");
        return 0;
    }
    default:
        return -1;
    }
}

/* ---- Lua -> RESP ---- */

/* Replace CR and LF by spaces, as Redis does for status and error texts. */
static void append_line(struct buf *out, const char *s, size_t len)
{
    char *d = buf_reserve(out, len);
    for (size_t i = 0; i < len; i++)
        d[i] = s[i] == '\r' || s[i] == '\n' ? ' ' : s[i];
    out->len += len;
}

/* Append the value at the top of L's stack (not popped) to OUT as Redis 7.0 converts a
 * script's return value: string -> bulk, number -> integer (truncated), true -> 1,
 * false/nil -> null, {err=} -> error, {ok=} -> status, {double=} {map=} {set=} ... (below),
 * other tables -> arrays up to the first nil. BOOL3 (the script called redis.setresp(3)):
 * booleans are RESP3 booleans. */
static void lua_to_resp(lua_State *L, struct buf *out, int depth, int bool3);

/* Push T[NAME] of the table at the top of L's stack and return 1 when it has TYPE; else
 * push nothing and return 0. */
static int table_field(lua_State *L, const char *name, int type)
{
    lua_pushstring(L, name);
    lua_rawget(L, -2);
    if (lua_type(L, -1) == type)
        return 1;
    lua_pop(L, 1);
    return 0;
}

/* The RESP3 tables Redis 7.0 converts whatever the script's protocol: {double=n},
 * {big_number=s}, {verbatim_string={format=, string=}} (sent as txt), {map={k=v}} and
 * {set={m=true}}. Returns 1 when the table at the top of L's stack was one (replied). */
static int lua_to_resp3_table(lua_State *L, struct buf *out, int depth, int bool3)
{
    size_t len;
    if (table_field(L, "double", LUA_TNUMBER)) {
        reply_double(out, (double)lua_tonumber(L, -1));
    } else if (table_field(L, "big_number", LUA_TSTRING)) {
        char *big = xstrdup(lua_tostring(L, -1));
        for (char *c = big; *c; c++)
            if (*c == '\r' || *c == '\n')
                *c = ' ';
        reply_bignum(out, big);
        free(big);
    } else if (table_field(L, "verbatim_string", LUA_TTABLE)) {
        if (!table_field(L, "format", LUA_TSTRING)) {
            lua_pop(L, 1);
            return 0;
        }
        lua_pop(L, 1);
        if (!table_field(L, "string", LUA_TSTRING)) {
            lua_pop(L, 1);
            return 0;
        }
        const char *s = lua_tolstring(L, -1, &len);
        reply_verbatim(out, s, len);
        lua_pop(L, 1);
    } else if (table_field(L, "map", LUA_TTABLE) || table_field(L, "set", LUA_TTABLE)) {
        lua_pushstring(L, "map");
        lua_rawget(L, -3);
        int map = lua_type(L, -1) == LUA_TTABLE;
        lua_pop(L, 1);
        struct buf items;
        buf_init(&items);
        items.resp = out->resp;
        long long n = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) { /* table, key, value */
            lua_pushvalue(L, -2);
            lua_to_resp(L, &items, depth + 1, bool3); /* the key */
            lua_pop(L, 1);
            if (map)
                lua_to_resp(L, &items, depth + 1, bool3); /* the value */
            lua_pop(L, 1);
            n++;
        }
        if (map)
            reply_map_len(out, n);
        else
            reply_set_len(out, n);
        buf_append(out, items.data, items.len);
        buf_close(&items);
    } else {
        return 0;
    }
    lua_pop(L, 1);
    return 1;
}

static void lua_to_resp(lua_State *L, struct buf *out, int depth, int bool3)
{
    size_t len;
    const char *s;
    if (depth > CONV_MAX_DEPTH || !lua_checkstack(L, 4)) {
        reply_error(out, "ERR reached lua stack limit");
        return;
    }
    switch (lua_type(L, -1)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, -1, &len);
        reply_bulk(out, s, len);
        return;
    case LUA_TBOOLEAN:
        if (bool3) /* the script called redis.setresp(3): a RESP3 boolean */
            reply_bool(out, lua_toboolean(L, -1));
        else if (lua_toboolean(L, -1))
            reply_int(out, 1);
        else
            reply_null(out);
        return;
    case LUA_TNUMBER:
        reply_int(out, (long long)lua_tonumber(L, -1));
        return;
    case LUA_TTABLE:
        break;
    default:
        reply_null(out);
        return;
    }
    lua_pushstring(L, "err");
    lua_rawget(L, -2);
    if (lua_type(L, -1) == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &len);
        buf_append(out, "-", 1);
        append_line(out, s, len);
        buf_append(out, "\r\n", 2);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_pushstring(L, "ok");
    lua_rawget(L, -2);
    if (lua_type(L, -1) == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &len);
        buf_append(out, "+", 1);
        append_line(out, s, len);
        buf_append(out, "\r\n", 2);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    if (lua_to_resp3_table(L, out, depth, bool3))
        return;
    int n = 0;
    for (;; n++) {
        lua_rawgeti(L, -1, n + 1);
        int nil = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (nil)
            break;
    }
    reply_array(out, n);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        lua_to_resp(L, out, depth + 1, bool3);
        lua_pop(L, 1);
    }
}

/* ---- the redis library ---- */

/* The arguments of redis.call as a request; NULL (error table pushed) when one is neither a
 * string nor a number, or there are none. Numbers become integers when they are integral,
 * as Redis 7.0 formats them. */
static struct request *call_args(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc == 0) {
        push_error_text(L, "Please specify at least one argument for this redis lib call");
        return NULL;
    }
    struct request *req = request_new(argc);
    for (int i = 1; i <= argc; i++) {
        char tmp[64];
        size_t len;
        const char *s;
        if (lua_type(L, i) == LUA_TNUMBER) {
            lua_Number v = lua_tonumber(L, i);
            long long ll = (long long)v;
            int n = (lua_Number)ll == v ? snprintf(tmp, sizeof tmp, "%lld", ll)
                                        : snprintf(tmp, sizeof tmp, "%.17g", (double)v);
            request_push(req, tmp, (size_t)n);
        } else if (lua_type(L, i) == LUA_TSTRING) {
            s = lua_tolstring(L, i, &len);
            request_push(req, s, len);
        } else {
            request_free(req);
            lua_settop(L, 0);
            push_error_text(L, "Lua redis lib command arguments must be strings or integers");
            return NULL;
        }
    }
    lua_settop(L, 0);
    return req;
}

static int redis_generic_call(lua_State *L, int raise)
{
    struct script_run *run = current_run(L);
    if (run == NULL)
        return raise_error(L, "redis.call/pcall can only be called inside a script invocation");
    /* a command counts as SCRIPT_CALL_COST instructions: a loop of redis.call is bounded in
     * time too, where the hook alone would let each cheap iteration run a command */
    run->executed += SCRIPT_CALL_COST;
    if (!run->aborted && run->limit > 0 && run->executed >= run->limit) {
        run->aborted = 1;
        lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    }
    if (run->aborted)
        return raise_error(L, "Script aborted: busy-script-limit reached");
    struct request *req = call_args(L);
    if (req == NULL)
        return raise ? lua_error(L) : 1;
    struct buf reply;
    buf_init(&reply);
    reply.resp = run->resp;
    run->call(run->arg, req, &reply);
    request_free(req);
    const char *p = reply.data;
    int rc = reply.len > 0 ? resp_to_lua(L, &p, reply.data + reply.len, 0) : -1;
    int is_err = reply.len > 0 && reply.data[0] == '-';
    buf_close(&reply);
    if (rc != 0) {
        lua_settop(L, 0);
        return raise_error(L, "ERR the command's reply could not be converted");
    }
    return raise && is_err ? lua_error(L) : 1;
}

static int l_redis_call(lua_State *L) { return redis_generic_call(L, 1); }
static int l_redis_pcall(lua_State *L) { return redis_generic_call(L, 0); }

/* redis.error_reply / redis.status_reply: {err = "-..."-less text} / {ok = text}. */
static int l_error_reply(lua_State *L)
{
    size_t len;
    if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) {
        push_error_text(L, "wrong number or type of arguments");
        return 1;
    }
    const char *s = lua_tolstring(L, 1, &len);
    if (len > 0 && s[0] == '-') {
        push_error_table(L, s, len);
    } else {
        lua_pushfstring(L, "-%s", s);
        s = lua_tolstring(L, -1, &len);
        push_error_table(L, s, len);
    }
    return 1;
}

static int l_status_reply(lua_State *L)
{
    if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) {
        push_error_text(L, "wrong number or type of arguments");
        return 1;
    }
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "ok");
    return 1;
}

static int l_sha1hex(lua_State *L)
{
    size_t len;
    char hex[41];
    if (lua_gettop(L) != 1)
        return raise_error(L, "wrong number of arguments");
    const char *s = lua_tolstring(L, 1, &len);
    script_sha1hex(s ? s : "", s ? len : 0, hex);
    lua_pushstring(L, hex);
    return 1;
}

static int l_log(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc < 2)
        return raise_error(L, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1))
        return raise_error(L, "First argument must be a number (log level).");
    int level = (int)lua_tonumber(L, 1);
    if (level < LOG_DEBUG || level > LOG_WARNING)
        return raise_error(L, "Invalid debug level.");
    struct buf line;
    buf_init(&line);
    for (int i = 2; i <= argc; i++) {
        size_t len;
        const char *s = lua_tolstring(L, i, &len);
        if (s == NULL)
            continue;
        if (line.len > 0)
            buf_append(&line, " ", 1);
        buf_append(&line, s, len);
    }
    log_write(level, "%.*s", (int)line.len, line.data ? line.data : "");
    buf_close(&line);
    return 0;
}

static int l_setresp(lua_State *L)
{
    if (current_run(L) == NULL)
        return raise_error(L, "redis.setresp can only be called inside a script invocation");
    if (lua_gettop(L) != 1)
        return raise_error(L, "redis.setresp() requires one argument.");
    int v = (int)lua_tonumber(L, 1);
    if (v != 2 && v != 3)
        return raise_error(L, "RESP version must be 2 or 3.");
    current_run(L)->resp = v == 3 ? RESP3 : RESP2;
    return 0;
}

/* Redis 7.0 keeps these for old scripts: effects replication is always on. */
static int l_true(lua_State *L)
{
    lua_pushboolean(L, 1);
    return 1;
}

static int l_noop(lua_State *L) { return 0; }

/* math.random / math.randomseed over the caller's PRNG (the entry's seed in apply), with
 * Lua 5.1's argument conventions. */
static int l_math_random(lua_State *L)
{
    struct script_run *run = current_run(L);
    if (run == NULL)
        return luaL_error(L, "math.random can only be called inside a script invocation");
    double r = (double)(prng_next(run->prng(run->arg)) >> 11) * (1.0 / 9007199254740992.0);
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, r);
        return 1;
    case 1: {
        int u = luaL_checkint(L, 1);
        luaL_argcheck(L, 1 <= u, 1, "interval is empty");
        lua_pushnumber(L, (lua_Number)((long long)(r * u) + 1));
        return 1;
    }
    case 2: {
        int l = luaL_checkint(L, 1), u = luaL_checkint(L, 2);
        luaL_argcheck(L, l <= u, 2, "interval is empty");
        lua_pushnumber(L, (lua_Number)((long long)(r * ((double)u - l + 1)) + l));
        return 1;
    }
    default:
        return luaL_error(L, "wrong number of arguments");
    }
}

static int l_math_randomseed(lua_State *L)
{
    struct script_run *run = current_run(L);
    if (run == NULL)
        return luaL_error(L, "math.randomseed can only be called inside a script invocation");
    prng_seed(run->prng(run->arg), (uint64_t)luaL_checkint(L, 1), 0);
    return 0;
}

/* ---- the sandbox ---- */

static int l_readonly_error(lua_State *L) { return luaL_error(L, "Attempt to modify a readonly table"); }

static int l_global_error(lua_State *L)
{
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                      name ? name : "?");
}

/* Whether the table at IDX is the globals table or a read-only proxy (its metatable
 * carries __ro). */
static int is_protected(lua_State *L, int idx)
{
    if (lua_rawequal(L, idx, LUA_GLOBALSINDEX))
        return 1;
    if (!lua_getmetatable(L, idx))
        return 0;
    lua_pushstring(L, "__ro");
    lua_rawget(L, -2);
    int ro = lua_toboolean(L, -1);
    lua_pop(L, 2);
    return ro;
}

static int l_rawset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    if (is_protected(L, 1))
        return luaL_error(L, "Attempt to modify a readonly table");
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

/* tostring without addresses: a table's or function's address differs between nodes. */
static int l_tostring(lua_State *L)
{
    luaL_checkany(L, 1);
    if (luaL_callmeta(L, 1, "__tostring"))
        return 1;
    int t = lua_type(L, 1);
    if (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TUSERDATA || t == LUA_TTHREAD ||
        t == LUA_TLIGHTUSERDATA) {
        lua_pushstring(L, lua_typename(L, t));
        return 1;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "concordkv_tostring");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
}

/* Replace the global NAME (a table) by a read-only proxy of it. */
static void protect_global(lua_State *L, const char *name)
{
    lua_getglobal(L, name);
    lua_newtable(L); /* the proxy */
    lua_newtable(L); /* its metatable */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_readonly_error);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "__ro");
    lua_setmetatable(L, -2);
    lua_setglobal(L, name);
    lua_pop(L, 1);
}

static void open_lib(lua_State *L, const char *name, lua_CFunction open)
{
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_istable(L, -1) && name[0] != '\0')
        lua_setglobal(L, name);
    else
        lua_pop(L, 1);
}

static void set_fn(lua_State *L, const char *name, lua_CFunction f)
{
    lua_pushcfunction(L, f);
    lua_setfield(L, -2, name);
}

static void setup_redis_lib(lua_State *L)
{
    lua_newtable(L);
    set_fn(L, "call", l_redis_call);
    set_fn(L, "pcall", l_redis_pcall);
    set_fn(L, "error_reply", l_error_reply);
    set_fn(L, "status_reply", l_status_reply);
    set_fn(L, "sha1hex", l_sha1hex);
    set_fn(L, "log", l_log);
    set_fn(L, "setresp", l_setresp);
    set_fn(L, "replicate_commands", l_true);
    set_fn(L, "set_repl", l_noop);
    static const struct { const char *name; int v; } consts[] = {
        {"LOG_DEBUG", LOG_DEBUG}, {"LOG_VERBOSE", LOG_VERBOSE}, {"LOG_NOTICE", LOG_NOTICE},
        {"LOG_WARNING", LOG_WARNING}, {"REPL_NONE", 0}, {"REPL_AOF", 1}, {"REPL_SLAVE", 2},
        {"REPL_REPLICA", 2}, {"REPL_ALL", 3},
    };
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++) {
        lua_pushnumber(L, consts[i].v);
        lua_setfield(L, -2, consts[i].name);
    }
    lua_setglobal(L, "redis");
}

/* Redis 7.0's sandbox, and a little more for determinism: no os, io, debug, package,
 * loadstring/load/dofile/loadfile, print, set/getfenv, collectgarbage (the heap differs
 * between a node that restarted and one that did not); cjson's settings are fixed (they
 * would be interpreter state a snapshot does not carry); the library tables are
 * read-only proxies and globals cannot be created, so one script cannot change what the
 * next one sees. */
static void sandbox(lua_State *L)
{
    open_lib(L, "", luaopen_base);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, "cjson", luaopen_cjson);
    open_lib(L, "bit", luaopen_bit);
    static const char *const removed[] = {
        "dofile", "loadfile", "loadstring", "load", "print", "getfenv", "setfenv",
        "collectgarbage", "gcinfo", "newproxy", "module", "require",
    };
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    lua_getglobal(L, "cjson");
    static const char *const cjson_cfg[] = {
        "encode_sparse_array", "encode_max_depth", "decode_max_depth", "encode_number_precision",
        "encode_keep_buffer", "encode_invalid_numbers", "decode_invalid_numbers", "new",
    };
    for (size_t i = 0; i < sizeof cjson_cfg / sizeof cjson_cfg[0]; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, cjson_cfg[i]);
    }
    lua_pop(L, 1);
    lua_getglobal(L, "math");
    set_fn(L, "random", l_math_random);
    set_fn(L, "randomseed", l_math_randomseed);
    lua_pop(L, 1);
    lua_getglobal(L, "tostring");
    lua_setfield(L, LUA_REGISTRYINDEX, "concordkv_tostring");
    lua_pushcfunction(L, l_tostring);
    lua_setglobal(L, "tostring");
    lua_pushcfunction(L, l_rawset);
    lua_setglobal(L, "rawset");
    setup_redis_lib(L);

    static const char *const libs[] = {"string", "table", "math", "redis", "cjson", "bit"};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++)
        protect_global(L, libs[i]);
    /* strings' metatable would hand out the real string table */
    lua_pushstring(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    /* globals: reading an unknown one and creating one are errors */
    lua_newtable(L);
    lua_pushcfunction(L, l_global_error);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_readonly_error);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, LUA_GLOBALSINDEX);
}

struct script_engine *script_engine_new(void)
{
    struct script_engine *e = xcalloc(1, sizeof(*e));
    e->L = luaL_newstate();
    if (e->L == NULL) {
        fprintf(stderr, "out of memory creating the Lua interpreter\n");
        abort();
    }
    sandbox(e->L);
    return e;
}

void script_engine_free(struct script_engine *e)
{
    if (e == NULL)
        return;
    lua_close(e->L);
    for (int i = 0; i < e->n; i++)
        free(e->scripts[i].body);
    free(e->scripts);
    free(e);
}

/* The cache position of SHA (40 lower-case digits): *FOUND tells whether it is there. */
static size_t cache_pos(const struct script_engine *e, const char *sha, int *found)
{
    size_t lo = 0, hi = e->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp(e->scripts[mid].sha, sha, 40);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

/* SHA (LEN bytes) in lower case into OUT; 0, or -1 when it is not 40 hex digits. */
static int norm_sha(const char *sha, size_t len, char out[41])
{
    if (len != 40)
        return -1;
    for (size_t i = 0; i < 40; i++) {
        char c = sha[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -1;
        out[i] = c;
    }
    out[40] = '\0';
    return 0;
}

int script_engine_exists(const struct script_engine *e, const char *sha, size_t len)
{
    char s[41];
    int found;
    if (norm_sha(sha, len, s) != 0)
        return 0;
    cache_pos(e, s, &found);
    return found;
}

int script_engine_compiled(struct script_engine *e, const char *sha, size_t len)
{
    char name[43] = "f_";
    if (norm_sha(sha, len, name + 2) != 0)
        return 0;
    lua_getfield(e->L, LUA_REGISTRYINDEX, name);
    int ok = lua_isfunction(e->L, -1);
    lua_pop(e->L, 1);
    return ok;
}

int script_engine_load(struct script_engine *e, const char *body, size_t len, int cache,
                       char sha[41], struct buf *err)
{
    char name[43] = "f_";
    int found;
    script_sha1hex(body, len, sha);
    memcpy(name + 2, sha, 41);
    if (!script_engine_compiled(e, sha, 40)) {
        if (luaL_loadbuffer(e->L, body, len, "@user_script") != 0) {
            reply_errorf(err, "ERR Error compiling script (new function): %s",
                         lua_tostring(e->L, -1));
            lua_pop(e->L, 1);
            return -1;
        }
        lua_setfield(e->L, LUA_REGISTRYINDEX, name);
    }
    size_t pos = cache_pos(e, sha, &found);
    if (cache && !found) {
        e->scripts = util_grow(e->scripts, e->n, &e->cap, sizeof(*e->scripts));
        memmove(e->scripts + pos + 1, e->scripts + pos, ((size_t)e->n - pos) * sizeof(*e->scripts));
        memcpy(e->scripts[pos].sha, sha, 41);
        e->scripts[pos].body = xmemdup(body, len);
        e->scripts[pos].len = len;
        e->n++;
    }
    return 0;
}

void script_engine_flush(struct script_engine *e)
{
    for (int i = 0; i < e->n; i++)
        free(e->scripts[i].body);
    e->n = 0;
    /* compiled functions, cached or compiled for the read path alike: a new interpreter */
    lua_close(e->L);
    e->L = luaL_newstate();
    if (e->L == NULL)
        abort();
    sandbox(e->L);
}

size_t script_engine_count(const struct script_engine *e)
{
    return (size_t)e->n;
}

const char *script_engine_body(const struct script_engine *e, size_t i, const char **sha,
                               size_t *len)
{
    *sha = e->scripts[i].sha;
    *len = e->scripts[i].len;
    return e->scripts[i].body;
}

void script_engine_digest(const struct script_engine *e, char hex[41])
{
    if (e->n == 0)
        return;
    struct buf b;
    buf_init(&b);
    buf_append(&b, hex, 40);
    for (int i = 0; i < e->n; i++)
        buf_append(&b, e->scripts[i].sha, 40);
    script_sha1hex(b.data, b.len, hex);
    buf_close(&b);
}

/* ---- running ---- */

static void count_hook(lua_State *L, lua_Debug *ar)
{
    struct script_run *run = current_run(L);
    if (run == NULL)
        return;
    run->executed += SCRIPT_HOOK_STEP;
    if (!run->aborted && (run->limit == 0 || run->executed < run->limit))
        return;
    /* from now on every instruction raises, so pcall inside the script cannot go on */
    run->aborted = 1;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    raise_error(L, "Script aborted: busy-script-limit reached");
}

/* The error handler: a string error becomes {err = "ERR ..."}; source and line are those
 * of the Lua function that raised it (the caller of redis.call or error when a C function
 * raised it). */
static int error_handler(lua_State *L)
{
    lua_Debug ar;
    int have = lua_getstack(L, 1, &ar) && lua_getinfo(L, "nSl", &ar);
    if (have && strcmp(ar.what, "C") == 0)
        have = lua_getstack(L, 2, &ar) && lua_getinfo(L, "nSl", &ar);
    if (!lua_istable(L, 1)) {
        const char *s = lua_tostring(L, 1);
        lua_newtable(L);
        lua_pushfstring(L, "ERR %s", s ? s : "(error object is not a string)");
        lua_setfield(L, -2, "err");
        lua_replace(L, 1);
    }
    if (have) {
        lua_pushstring(L, ar.source);
        lua_setfield(L, 1, "source");
        lua_pushnumber(L, ar.currentline);
        lua_setfield(L, 1, "line");
    }
    lua_settop(L, 1);
    return 1;
}

/* Push a Lua array of the N strings at ARGV. */
static void push_array(lua_State *L, char **argv, size_t *lens, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushlstring(L, argv[i], lens[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

/* The reply to a script that raised the error at the top of the stack. */
static void reply_script_error(lua_State *L, const char *sha, struct buf *out)
{
    if (!lua_istable(L, -1)) {
        const char *msg = lua_tostring(L, -1);
        reply_errorf(out, "ERR Error running script f_%s, %.100s ", sha,
                     msg ? msg : "execution failure");
        return;
    }
    lua_getfield(L, -1, "err");
    lua_getfield(L, -2, "source");
    lua_getfield(L, -3, "line");
    size_t len;
    const char *msg = lua_tolstring(L, -3, &len);
    buf_append(out, "-", 1);
    append_line(out, msg ? msg : "ERR unknown error", msg ? len : 17);
    if (lua_isstring(L, -2) && lua_isstring(L, -1))
        buf_printf(out, " script: %s, on %s:%s.", sha, lua_tostring(L, -2), lua_tostring(L, -1));
    buf_append(out, "\r\n", 2);
    lua_pop(L, 3);
}

int script_engine_run(struct script_engine *e, const char *sha, char **argv, size_t *lens,
                      int nkeys, int nargs, struct script_run *run, struct buf *out)
{
    lua_State *L = e->L;
    char name[43] = "f_";
    memcpy(name + 2, sha, 40);
    name[42] = '\0';
    lua_pushcfunction(L, error_handler);
    lua_getfield(L, LUA_REGISTRYINDEX, name);
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 2);
        return -1;
    }
    lua_pushstring(L, "KEYS");
    push_array(L, argv, lens, nkeys);
    lua_rawset(L, LUA_GLOBALSINDEX);
    lua_pushstring(L, "ARGV");
    push_array(L, argv + nkeys, lens + nkeys, nargs);
    lua_rawset(L, LUA_GLOBALSINDEX);
    lua_pushlightuserdata(L, run);
    lua_setfield(L, LUA_REGISTRYINDEX, RUN_KEY);
    run->executed = 0;
    run->aborted = 0;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, SCRIPT_HOOK_STEP);
    int err = lua_pcall(L, 0, 1, -2);
    lua_sethook(L, NULL, 0, 0);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, RUN_KEY);
    if (run->aborted)
        reply_errorf(out, "ERR Script aborted: it ran more than busy-script-limit (%lld) Lua "
                          "instructions; its writes were rolled back script: %s", run->limit, sha);
    else if (err)
        reply_script_error(L, sha, out);
    else
        lua_to_resp(L, out, 0, run->resp == RESP3);
    lua_settop(L, 0);
    /* a full collection now and then keeps garbage from piling up between scripts */
    lua_gc(L, LUA_GCSTEP, 10);
    return 0;
}
