/* canonical/raft 0.15 workarounds at the raft_io boundary: a follower's success reply to an
 * AppendEntries reports its whole stored log, not the entries the leader's request vouched
 * for (docs/SAFETY.md, F4); raft_uv can fire its close callback twice (F5). */
#ifndef CONSENSUS_GUARD_H
#define CONSENSUS_GUARD_H

#include <raft.h>

struct consensus_guard {
    struct raft_io *io;
    int (*io_start)(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                    raft_io_recv_cb recv);
    int (*io_send)(struct raft_io *io, struct raft_io_send *req,
                   const struct raft_message *message, raft_io_send_cb cb);
    void (*io_close)(struct raft_io *io, raft_io_close_cb cb);
    raft_io_recv_cb raft_recv;
    raft_io_close_cb raft_close_cb; /* raft's, set by close and passed on once */
    int closed;            /* raft's close callback has run */
    unsigned long long close_repeats; /* further close callbacks raft_uv fired (F5) */
    raft_id from;          /* sender of the message being handled, 0 outside raft's recv */
    raft_index vouched;    /* the last index that message proves the follower matches */
    unsigned long long clamped; /* success replies whose last_log_index was lowered */
};

/* Wrap IO's start, send and close (in place, before raft_init or at least before raft_start).
 * G must outlive IO's use; at most CONSENSUS_GUARD_MAX guards are installed at once. */
#define CONSENSUS_GUARD_MAX 16
void consensus_guard_install(struct consensus_guard *g, struct raft_io *io);
/* Forget G (IO is closed or about to be freed). */
void consensus_guard_remove(struct consensus_guard *g);

#endif
