/* The raft transport: canonical/raft's raft_uv_tcp, wrapped so that every connected and
 * accepted stream has TCP_NODELAY (0.15 never sets it, and Nagle plus delayed ACKs stall
 * replication by ~40 ms once more than one message is in flight). */
#ifndef CONCORDKV_TRANSPORT_H
#define CONCORDKV_TRANSPORT_H

#include <raft.h>
#include <raft/uv.h>

struct transport {
    struct raft_uv_transport outer; /* what raft_uv_init is given */
    struct raft_uv_transport tcp;   /* the wrapped raft_uv_tcp */
    raft_uv_accept_cb accept_cb;
    raft_uv_transport_close_cb close_cb;
};

/* Initialise T on LOOP. Returns 0 or a raft error code. transport_close releases what
 * transport_init allocated, after raft_uv has closed the transport. */
int transport_init(struct transport *t, struct uv_loop_s *loop);
void transport_close(struct transport *t);

#endif
