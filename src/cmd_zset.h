/* What the two halves of the sorted-set commands share (cmd_zset.c: writes, ranks, ranges,
 * pops; cmd_zset_ops.c: set operations, ZRANDMEMBER, ZSCAN). Internal to them. */
#ifndef CONCORDKV_CMD_ZSET_H
#define CONCORDKV_CMD_ZSET_H

#include <stddef.h>

#include "command.h"
#include "kv.h"
#include "zobj.h"

/* A member and its score, borrowed from a value that does not change meanwhile. */
struct zitem {
    const char *m;
    size_t len;
    double score;
};

struct zitems {
    struct zitem *v;
    size_t n, cap;
};

/* Append (M, LEN, SCORE) to A, growing it. */
void cmd_zset_items_push(struct zitems *a, const char *m, size_t len, double score);
/* Reply A's members (WITHSCORES: each followed by its score) as one array. */
void cmd_zset_reply_items(struct buf *out, const struct zitems *a, int withscores);
/* Every member of Z in ascending order, WITHSCORES or not. */
void cmd_zset_reply_all(struct buf *out, const struct zobj *z, int withscores);
/* A score as Redis replies it (zset_format_score), as a bulk string. */
void cmd_zset_reply_score(struct buf *out, double score);
/* The header of N members, WITHSCORES: N pairs (reply_pairs_len; each item opened by
 * reply_pair), else an array of N. */
void cmd_zset_reply_len(struct buf *out, long long n, int withscores);
/* The live entry of the key at argument I, in *E (NULL when absent), for a read or (WRITE)
 * a write. Returns 0, or -1 after WRONGTYPE. */
int cmd_zset_entry(struct exec_ctx *ctx, const struct request *req, int i, int write,
                   struct kv_entry **e);
/* Store Z (taken) under the key at argument I, replacing whatever is there, or delete that
 * key when Z is empty; reply Z's length. */
void cmd_zset_store(struct exec_ctx *ctx, const struct request *req, int i, struct zobj *z);
/* The limits a prepared write carries as its last argument (always appended by its prepare
 * step); *ARGC receives the count without them. cmd_zset_push_limits appends the node's. */
void cmd_zset_take_limits(const struct request *req, int *argc, struct zobj_limits *lim);
void cmd_zset_push_limits(struct request *req);
/* A long argument as getLongFromObjectOrReply reads it (MSG NULL: Redis's "not an integer"
 * text), and within MIN..MAX as getRangeLongFromObjectOrReply. 0, or -1 after the error. */
int cmd_zset_arg_long(const struct request *req, int i, long *v, const char *msg,
                      struct buf *out);
int cmd_zset_arg_long_range(const struct request *req, int i, long min, long max, long *v,
                            const char *msg, struct buf *out);

#endif
