/* A pipelined INCR load on raw sockets, for failover tests: N connections each keep WINDOW
 * INCRs of one key in flight, every reply is counted by kind (acknowledged, certainly not
 * applied, uncertain, unexpected), every integer reply is kept, and the checks say whether each
 * reply kept its word. Assertions abort the current Criterion test. */
#ifndef CONCORDKV_INCR_H
#define CONCORDKV_INCR_H

#include <stdbool.h>
#include <stddef.h>

struct incr_conn {
    int fd;          /* -1 once closed */
    long sent;       /* INCRs written */
    long replies;    /* replies read */
    long acked;      /* integer replies */
    long not_applied;/* errors that say the INCR was not applied */
    long uncertain;  /* errors that say it may or may not have been */
    long unexpected; /* any other reply */
    long long last;  /* last integer reply */
    bool disorder;   /* an integer reply not above the previous one */
    char bad[160];   /* the first unexpected reply */
    char in[4096];
    size_t inlen;
};

struct incr_totals {
    long sent, acked, not_applied, uncertain, lost, unexpected;
};

struct incr_load {
    struct incr_totals past; /* connections closed by incr_reopen */
    int n, window;
    long limit; /* INCRs per connection */
    struct incr_conn conn[8];
    char cmd[96];
    size_t cmdlen;
    char *out; /* room for WINDOW commands */
    size_t outcap;
    long long *values; /* every integer reply */
    size_t nvalues, cap;
};

enum pump_mode {
    PUMP_SEND,  /* keep WINDOW INCRs in flight on every open connection */
    PUMP_DRAIN, /* send nothing; read until every INCR sent is answered */
    PUMP_EOF,   /* send nothing; read until the server closed every connection */
};

/* Open N (<= 8) connections to PORT for INCRs of KEY, WINDOW in flight each, at most LIMIT per
 * connection. Free with incr_free. */
void incr_open(struct incr_load *l, int n, int port, const char *key, int window, long limit);

/* Close every connection, keeping its counts (and every reply value) in L, and open as many
 * fresh ones to PORT: a new phase of the same load. */
void incr_reopen(struct incr_load *l, int port);

/* INCRs acknowledged with an integer so far. */
long incr_acked(const struct incr_load *l);

/* Run MODE until STOP_AT acks in all (0: no such goal), nothing is left to do, or TIMEOUT_MS. */
void incr_pump(struct incr_load *l, enum pump_mode mode, long stop_at, int timeout_ms);

/* Totals, asserting each connection's replies rose and no two INCRs got the same value. */
struct incr_totals incr_check(struct incr_load *l);

/* The largest integer reply (0 if none). */
long long incr_max_value(const struct incr_load *l);

/* Close the connections and free what L holds. */
void incr_free(struct incr_load *l);

#endif
