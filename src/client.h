/* One client connection: socket events, the RESP reader, dispatch of each request, the
 * ordered queue of replies (some produced later by apply or a read barrier), and
 * back-pressure. */
#ifndef CONCORDKV_CLIENT_H
#define CONCORDKV_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "exec.h"
#include "list.h"
#include "resp.h"

struct server;
struct event;
struct command;

/* Output limits: past the soft limit the client is not read until it drains; past the hard
 * limit it is closed. Likewise for replies still waiting on the cluster. */
#define CLIENT_OUT_SOFT_LIMIT (16u << 20)
#define CLIENT_OUT_HARD_LIMIT (1024u << 20)
#define CLIENT_PENDING_LIMIT 4096

/* A reply position in a client's queue. Created not ready by client_defer(); whoever
 * produces the reply owns it until slot_done(). */
struct slot {
    struct list_node node; /* in its client's reply queue */
    struct client *c; /* NULL once the client has gone */
    struct buf out;
    int ready;
};

struct watched_key {
    char *key;
    size_t len;
    uint64_t version; /* mod_index when WATCH ran, 0 if the key was absent */
    uint64_t index;   /* applied index when WATCH ran */
};

struct client {
    struct server *srv;
    struct list_node node;       /* in the server's clients */
    struct list_node write_node; /* in the server's write list while it has output to write */
    uint64_t id;
    int fd;
    struct event *rev, *wev;
    struct resp_reader *reader;
    struct buf out;      /* bytes ready to be written */
    size_t out_pos;      /* written so far */
    struct list slots;   /* of struct slot: replies in request order */
    int pending;         /* slots not ready yet */
    struct request *held; /* a CMD_ORDERED request waiting for the pending ones */
    char addr[64], laddr[64];
    char *name;
    int authenticated;
    int close_after_reply;
    int paused;          /* reading stopped by back-pressure */
    int64_t ctime_ms, last_ms;
    const char *last_cmd;
    /* MULTI state */
    int in_multi;
    int multi_error;
    struct request **queued;
    int nqueued, queued_cap;
    struct watched_key *watched;
    int nwatched;
};

/* Accept FD (already non-blocking) as a new client of SRV. Returns the client. */
struct client *client_new(struct server *srv, int fd);
/* Close the socket and free the client; pending slots become orphans freed by slot_done. */
void client_free(struct client *c);

/* The buffer an immediate reply must be appended to so that it goes out after every
 * earlier reply of C. */
struct buf *client_reply_buf(struct client *c);
/* client_defer, slot_buf, slot_done, client_redirect, server_reply_redirect: exec.h. */
/* Reply to a deferred slot with one error. */
void slot_error(struct slot *s, const char *msg);

/* Write what C has to write; called by the server after a batch of replies. */
void client_flush(struct client *c);
/* Continue reading a client whose back-pressure pause is over. */
void client_resume(struct client *c);

/* Execute one request for C (dispatch): lookup, arity, auth, MULTI queueing, then a local
 * command now, a read through the consensus read path, or a write proposed. Takes REQ. */
void client_dispatch(struct client *c, struct request *req);

/* Forget the MULTI state and watched keys of C. */
void client_multi_reset(struct client *c);
void client_unwatch(struct client *c);

#endif
