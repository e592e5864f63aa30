/* The raft transport: our own raft_uv_transport over libuv TCP, so that raft never sees a
 * byte from a peer that has not proved it knows the cluster secret. Every connection, accepted
 * or outgoing, first runs peerauth's mutual challenge-response (HMAC-SHA256, both nonces,
 * both ids), then raft 0.15's own handshake, which we read and check (address length and
 * NUL). An accepted peer must be a member of the current configuration; its stream reaches
 * raft through a socketpair, every message checked by peerframe (raft-max-message, counts
 * and lengths) before raft decodes it. raft 0.15 never reads from outgoing streams, which it
 * gets as plain TCP. TCP_NODELAY is set on every TCP stream (0.15 never sets it, and Nagle
 * plus delayed ACKs stall replication by ~40 ms). */
#ifndef CONCORDKV_TRANSPORT_H
#define CONCORDKV_TRANSPORT_H

#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>

#include "list.h"

/* A connection must finish authentication and raft's handshake within this. */
#define TRANSPORT_AUTH_DEADLINE_MS 5000
/* Accepted connections still authenticating, at most; more are closed at once. */
#define TRANSPORT_MAX_PENDING 32

/* Whether raft ID may connect to us: 1 yes, 0 no (not in the latest configuration). A node
 * with no configuration yet (waiting to be added) answers 1 to every authenticated peer. */
typedef int transport_member_fn(void *arg, uint64_t id);

struct transport_options {
    const char *secret;         /* copied; NULL or "": every peer is refused */
    uint64_t max_message;       /* largest raft message accepted (raft-max-message) */
    transport_member_fn *is_member;
    void *member_arg;
};

struct transport_conn;

struct transport {
    struct raft_uv_transport outer; /* what raft_uv_init is given */
    struct uv_loop_s *loop;
    char *secret;
    uint64_t max_message;
    transport_member_fn *is_member;
    void *member_arg;
    uint64_t id;
    char address[64];
    char bind_address[64];        /* "" when listening on address */
    struct uv_tcp_s *listener;    /* NULL until init */
    raft_uv_accept_cb accept_cb;
    raft_uv_transport_close_cb close_cb;
    int closing;
    struct list conns; /* of struct transport_conn: every connection not yet handed to raft, and relays */
    int pending;                  /* accepted connections authenticating */
    int64_t log_window_us;        /* rate limit of peer failure lines */
    int log_lines, log_suppressed;
};

/* Initialise T on LOOP with OPTS. Returns 0 or a raft error code. transport_close releases
 * what transport_init allocated, after raft_uv has closed the transport. */
int transport_init(struct transport *t, struct uv_loop_s *loop, const struct transport_options *opts);
void transport_close(struct transport *t);
/* Listen on ADDRESS ("ip:port") instead of the raft address (raft-advertise). 0 or
 * RAFT_INVALID. */
int transport_set_bind_address(struct transport *t, const char *address);

#endif
