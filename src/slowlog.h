/* SLOWLOG's store: the latest commands that ran longer than slowlog-log-slower-than, with
 * Redis 7.0's trimming of long argument lists and strings, and its GET rendering. Pure: no
 * clock (callers pass the time), no loop, no raft. */
#ifndef CONCORDKV_SLOWLOG_H
#define CONCORDKV_SLOWLOG_H

#include <stddef.h>
#include <stdint.h>
#include "list.h"

struct buf;

#define SLOWLOG_MAX_ARGC 32    /* more: the last logged argument says how many were left out */
#define SLOWLOG_MAX_STRING 128 /* longer: cut, with "... (N more bytes)" */

/* A command's arguments as the slow log keeps them: trimmed and redacted, in one allocation. */
struct slowlog_args {
    int argc;
    char **argv;
    size_t *len;
};

/* Copy ARGC arguments (ARGV, LEN) in the slow log's form: at most SLOWLOG_MAX_ARGC of them, the
 * last then "... (N more arguments)"; each longer than SLOWLOG_MAX_STRING cut with "... (N more
 * bytes)"; argument I replaced by "(redacted)" when bit I of REDACT is set (I < 64). Returns a
 * new object the caller owns (slowlog_args_free). */
struct slowlog_args *slowlog_args_new(int argc, char *const *argv, const size_t *len,
                                      uint64_t redact);
void slowlog_args_free(struct slowlog_args *a);

struct slowlog_entry {
    struct list_node node;
    long long id;
    int64_t time_s;      /* unix time when it was logged */
    long long duration;  /* microseconds */
    struct slowlog_args *args;
    char *addr;          /* client ip:port */
    char *name;          /* client name, "" for none */
};

struct slowlog {
    struct list entries; /* of struct slowlog_entry, newest first */
    long long next_id;
};

void slowlog_init(struct slowlog *sl);
void slowlog_close(struct slowlog *sl);
/* Whether a command of DURATION microseconds is logged with slowlog-log-slower-than
 * SLOWER_THAN (negative: never; 0: always). */
int slowlog_wants(long long slower_than, long long duration);
/* Log ARGS (taken: the log owns it) as run for DURATION µs at TIME_S by the client ADDR named
 * NAME (both copied; NAME NULL: none), then drop the oldest entries past MAX_LEN. */
void slowlog_push(struct slowlog *sl, struct slowlog_args *args, long long duration,
                  int64_t time_s, const char *addr, const char *name, long long max_len);
/* Drop the oldest entries past MAX_LEN (slowlog-max-len lowered). */
void slowlog_trim(struct slowlog *sl, long long max_len);
void slowlog_reset(struct slowlog *sl);
size_t slowlog_len(const struct slowlog *sl);
/* SLOWLOG GET's reply for the COUNT newest entries (negative: all) appended to OUT: an array
 * of [id, time, duration, [args...], addr, name]. */
void slowlog_reply_get(const struct slowlog *sl, long long count, struct buf *out);

#endif
