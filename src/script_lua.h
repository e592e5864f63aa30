/* The Lua 5.1 interpreter of EVAL: a sandboxed lua_State, the script cache (SHA1 -> body),
 * RESP <-> Lua conversions as Redis 7.0 does them, and a deterministic instruction budget.
 * Knows nothing of commands, the keyspace or the server: redis.call goes through a callback. */
#ifndef CONCORDKV_SCRIPT_LUA_H
#define CONCORDKV_SCRIPT_LUA_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct prng;
struct request;
struct script_engine;

/* Instructions between two looks at the budget (the hook's count): the budget is checked
 * in steps of this many, so every node stops a script at the same instruction. */
#define SCRIPT_HOOK_STEP 1000
#define SCRIPT_CALL_COST 100 /* instructions a redis.call/pcall counts as */
#define SCRIPT_DEFAULT_LIMIT 50000000LL /* busy-script-limit: Lua instructions per script */

/* One script call. CALL runs a command for redis.call/pcall: it appends exactly one RESP2
 * reply to OUT (an error reply for a refused or failing command). PRNG gives the stream
 * math.random draws from. LIMIT is the instruction budget (0: none). */
struct script_run {
    void (*call)(void *arg, struct request *req, struct buf *out);
    struct prng *(*prng)(void *arg);
    void *arg;
    long long limit;
    long long executed; /* out: instructions counted (in SCRIPT_HOOK_STEP steps) */
    int aborted;        /* out: the budget ran out; the reply says so */
    int resp;           /* redis.setresp: the protocol redis.call's replies come in (RESP2: 0) */
};

/* A new interpreter with the sandbox set up and an empty cache; script_engine_free(NULL) is
 * a no-op. */
struct script_engine *script_engine_new(void);
void script_engine_free(struct script_engine *e);

/* HEX receives the 40 lower-case hex digits of the SHA1 of the LEN bytes at P, and a NUL. */
void script_sha1hex(const void *p, size_t len, char hex[41]);

/* Compile BODY (LEN bytes) and name it by its SHA1, written to SHA. CACHE 1 records it in
 * the cache (SCRIPT LOAD, EVAL in apply: replicated state); 0 only compiles it for this
 * interpreter (EVAL_RO on the read path). Returns 0, or -1 after appending Redis's
 * "Error compiling script" reply to ERR. */
int script_engine_load(struct script_engine *e, const char *body, size_t len, int cache,
                       char sha[41], struct buf *err);
/* Whether the script SHA (LEN bytes, any case) is in the cache. */
int script_engine_exists(const struct script_engine *e, const char *sha, size_t len);
/* Whether the script SHA is compiled in this interpreter (cached or not). */
int script_engine_compiled(struct script_engine *e, const char *sha, size_t len);
/* Forget every script (SCRIPT FLUSH, restore). */
void script_engine_flush(struct script_engine *e);
/* The cache in SHA order: how many scripts, and the I-th one's SHA and body. */
size_t script_engine_count(const struct script_engine *e);
const char *script_engine_body(const struct script_engine *e, size_t i, const char **sha,
                               size_t *len);

/* Fold the cache into the keyspace digest HEX (40 hex digits, rewritten in place): HEX stays
 * as it is when the cache is empty, else becomes the SHA1 of HEX and the cached SHAs. */
void script_engine_digest(const struct script_engine *e, char hex[41]);

/* Run the compiled script SHA (40 hex digits, lower case) with KEYS = ARGV[0 .. NKEYS) and
 * ARGV = the NARGS arguments after them, appending its reply (one RESP2 value) to OUT.
 * Returns 0, or -1 when SHA is not compiled (nothing appended). Not reentrant: a script
 * calling EVAL is refused by the caller's CALL. */
int script_engine_run(struct script_engine *e, const char *sha, char **argv, size_t *lens,
                      int nkeys, int nargs, struct script_run *run, struct buf *out);

#endif
