/* canonical/raft 0.15 bug, worked around here (docs/SAFETY.md, F4): a follower that answers
 * an AppendEntries whose entries it already holds (a heartbeat, n_entries == 0, or entries
 * all present) replies success with last_log_index = its last STORED index, whatever lies
 * past the request's entries. The leader takes that (capped at its own last index) as the
 * follower's match index. A deposed leader keeps an uncommitted tail of its own term past
 * the new leader's log; the new leader's first heartbeat (prev = its last index, sent at
 * election) matches, the reply says "I have up to my tail", and by the time it arrives the
 * new leader has appended its election barrier at that index: it records a match the
 * follower does not have. Its next AppendEntries is rejected (the terms differ at that
 * index), and a rejection at or below match_index is ignored as stale in pipeline mode, so
 * the follower is never sent the entry that would truncate its tail: it applies nothing
 * more, with no error anywhere. Worse, the leader counts the false match toward commit.
 * Still so in raft 0.18.1 (recv_append_entries.c, replication.c).
 *
 * The Raft paper's rule is that a successful reply vouches for prev_log_index + the
 * request's entries and nothing more. Raft handles such requests synchronously (it sends
 * the reply from inside its recv callback), so we note what each incoming AppendEntries or
 * InstallSnapshot vouches for and lower the last_log_index of a success reply sent to that
 * peer meanwhile. Lowering it is always safe: the leader only ever raises match_index, and
 * a lower one makes it send the entries from there, which the follower then truncates
 * against. Replies sent later (after an append is written) are left alone: such an append
 * truncated any conflicting tail or extended the log's end, so nothing unvouched follows. */
/*
 * canonical/raft 0.15 bug, worked around here too (docs/SAFETY.md, F5): raft_uv's close
 * (uvClose) fires its callback once nothing it tracks is pending, but it stops tracking an
 * open segment when it starts finalizing it (the segment leaves append_segments before its
 * writer's uv_close completes). If the finalize work in the thread pool completes first,
 * the close callback fires from there, and the writer's close callback then fires it again
 * (uvAliveSegmentWriterCloseCb calls uvMaybeFireCloseCb). raft's callback (ioCloseCb) frees
 * r->address and closes the log a second time, and whoever freed raft_uv in the first call
 * has the second read freed memory: a SIGTERM a few milliseconds after an append (a node
 * just elected, with its barrier entry on disk) crashed inside libraft. So raft's close
 * callback is passed on once; the caller frees raft_uv only after the loop has drained. */
#include "consensus_guard.h"

#include <stddef.h>
#include <stdlib.h>

#include "log.h"

static struct consensus_guard *guards[CONSENSUS_GUARD_MAX];

static struct consensus_guard *guard_of(const struct raft_io *io)
{
    for (size_t i = 0; i < CONSENSUS_GUARD_MAX; i++)
        if (guards[i] != NULL && guards[i]->io == io)
            return guards[i];
    return NULL;
}

static void guarded_recv(struct raft_io *io, struct raft_message *m)
{
    struct consensus_guard *g = guard_of(io);
    if (m->type == RAFT_IO_APPEND_ENTRIES) {
        g->from = m->server_id;
        g->vouched = m->append_entries.prev_log_index + m->append_entries.n_entries;
    } else if (m->type == RAFT_IO_INSTALL_SNAPSHOT) {
        g->from = m->server_id;
        g->vouched = m->install_snapshot.last_index;
    }
    g->raft_recv(io, m);
    g->from = 0;
}

static int guarded_send(struct raft_io *io, struct raft_io_send *req,
                        const struct raft_message *m, raft_io_send_cb cb)
{
    struct consensus_guard *g = guard_of(io);
    if (g->from != 0 && m->type == RAFT_IO_APPEND_ENTRIES_RESULT && m->server_id == g->from &&
        m->append_entries_result.rejected == 0 &&
        m->append_entries_result.last_log_index > g->vouched) {
        struct raft_message fixed = *m;
        fixed.append_entries_result.last_log_index = g->vouched;
        g->clamped++;
        log_notice("raft reply to %llu: last_log_index %llu lowered to %llu, what its request "
                   "vouched for (raft 0.15 workaround, docs/SAFETY.md F4)",
                   (unsigned long long)m->server_id,
                   (unsigned long long)m->append_entries_result.last_log_index,
                   (unsigned long long)g->vouched);
        return g->io_send(io, req, &fixed, cb);
    }
    return g->io_send(io, req, m, cb);
}

static int guarded_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                         raft_io_recv_cb recv)
{
    struct consensus_guard *g = guard_of(io);
    g->raft_recv = recv;
    return g->io_start(io, msecs, tick, guarded_recv);
}

static void guarded_close_cb(struct raft_io *io)
{
    struct consensus_guard *g = guard_of(io); /* removed only after the loop drained */
    if (g->closed) {
        g->close_repeats++;
        return;
    }
    g->closed = 1;
    g->raft_close_cb(io);
}

static void guarded_close(struct raft_io *io, raft_io_close_cb cb)
{
    struct consensus_guard *g = guard_of(io);
    g->raft_close_cb = cb;
    g->io_close(io, guarded_close_cb);
}

void consensus_guard_install(struct consensus_guard *g, struct raft_io *io)
{
    size_t i = 0;
    while (i < CONSENSUS_GUARD_MAX && guards[i] != NULL)
        i++;
    if (i == CONSENSUS_GUARD_MAX)
        abort(); /* a fixed, small number of raft instances per process */
    g->io = io;
    g->io_start = io->start;
    g->io_send = io->send;
    g->io_close = io->close;
    g->raft_recv = NULL;
    g->raft_close_cb = NULL;
    g->closed = 0;
    g->close_repeats = 0;
    g->from = 0;
    g->vouched = 0;
    g->clamped = 0;
    io->start = guarded_start;
    io->send = guarded_send;
    io->close = guarded_close;
    guards[i] = g;
}

void consensus_guard_remove(struct consensus_guard *g)
{
    for (size_t i = 0; i < CONSENSUS_GUARD_MAX; i++)
        if (guards[i] == g)
            guards[i] = NULL;
}
