/* A harness for unit tests of command handlers: runs a command line through lookup, arity,
 * prepare (for writes) and the handler against an in-memory store with a test-controlled
 * clock, and hands back the raw RESP reply. No server, no raft, no sockets. */
#ifndef CONCORDKV_CMDTEST_H
#define CONCORDKV_CMDTEST_H

#include <stddef.h>
#include <stdint.h>

#include "resp.h"
#include "util.h"

struct kv_store;
struct pubsub;
struct script_engine;

struct cmdtest {
    struct kv_store *kv;
    int64_t now_ms;  /* the clock seen by prepare and by the handler (tests advance it) */
    uint64_t apply_seq; /* apply_seq of the last write; incremented before each write */
    uint64_t rng;    /* state handed to RANDOMKEY */
    struct buf out;  /* the last reply, NUL-terminated */
    struct buf line; /* the last rewritten request, see ct_prepare */
    struct pubsub *pubsub; /* handed to handlers as exec_ctx.pubsub (NULL unless a test sets it) */
    struct script_engine *scripts; /* the Lua interpreter EVAL runs in */
    struct acl_store *acl; /* handed to handlers as exec_ctx.acl (NULL unless a test sets it) */
    const char *user;      /* the caller's ACL user, noted after prepare (NULL: a peer) */
    struct kv_store **dbs; /* ct_databases: NDBS databases, dbs[0] is KV (NULL: KV only) */
    int ndbs;
    int db;                /* the database commands run in (ct_databases; SELECT sets it) */
};

/* Start with an empty store and the clock at NOW_MS. ct_close releases everything. */
void ct_init(struct cmdtest *t, int64_t now_ms);
/* Have N databases (KV is database 0; the others empty): handlers see them as exec_ctx.dbs,
 * commands run in t->db, which SELECT changes. */
void ct_databases(struct cmdtest *t, int n);
void ct_close(struct cmdtest *t);

/* Format FMT like printf, split the result on single spaces (no quoting; use ct_runv for
 * empty or binary arguments) and execute it as a client's command: lookup ("-ERR unknown
 * command ..." if none), arity, then for a write the prepare step at t->now_ms followed, if
 * it succeeded, by the handler with the next apply_seq; for other commands only the handler.
 * Returns the reply (exactly what was appended), valid until the next call on T. */
const char *ct_run(struct cmdtest *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with explicit arguments: ARGV[i] of LENS[i] bytes (LENS NULL: strlen each). */
const char *ct_runv(struct cmdtest *t, int argc, const char *const *argv, const size_t *lens);

/* Run only the handler, as apply does with an entry from the log: no arity check and no
 * prepare (so the handler's own defences are what is tested). Writes take the next apply_seq. */
const char *ct_apply(struct cmdtest *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Run only the prepare step of FMT at t->now_ms. Returns the rewritten request with its
 * arguments joined by single spaces (e.g. "set k v PXAT 1000010000"), the unchanged request
 * when the command has no prepare step, or the error reply when it fails. Valid until the
 * next call on T. */
const char *ct_prepare(struct cmdtest *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The store's digest (kv_digest_hex) in a static buffer valid until the next call. */
const char *ct_digest(struct cmdtest *t);

/* Write T's store as a snapshot into SNAP (emptied first) and restore it into INTO (a store
 * of the caller's), as a follower installing it would. Returns fsm_restore's result (0), and
 * the digests of both stores in DA and DB (41 bytes each). ct_restore restores the first LEN
 * bytes of SNAP into INTO (damaged-snapshot checks): 0 or -1. */
int ct_snapshot_into(struct cmdtest *t, struct kv_store *into, struct buf *snap, char da[41],
                     char db[41]);
int ct_restore(struct kv_store *into, const struct buf *snap, size_t len);

/* The RESP array of the N strings that follow, as bulks ("(nil)" stands for a nil bulk),
 * in a static buffer valid until the next call: an expected reply. */
const char *ct_bulks(int n, ...);

/* Split LINE on single spaces into a new request (the caller frees it). */
struct request *ct_request(const char *line);

#endif
