/* The MULTI state of one connection: whether a MULTI block is open, whether it is spoiled,
 * the requests queued for EXEC and the keys WATCHed. Embedded in struct client (client.c
 * queues into it while dispatching); cmd_tx.c reaches it through client_multi() of exec.h. */
#ifndef CONCORDKV_MULTI_H
#define CONCORDKV_MULTI_H

#include <stddef.h>
#include <stdint.h>

struct request;

struct watched_key {
    char *key;
    size_t len;
    uint64_t version; /* mod_seq when WATCH ran, 0 if the key was absent */
    uint64_t apply_seq; /* the last applied entry's apply_seq when WATCH ran */
    int db;             /* its database (multi_watch sets 0; WATCH the client's) */
};

struct multi_state {
    int in_multi;
    int multi_error;          /* a command was rejected while queueing: EXEC aborts */
    struct request **queued;  /* owned */
    int nqueued, queued_cap;
    struct watched_key *watched; /* owned, with their keys */
    int nwatched, watched_cap;
};

/* Forget the open MULTI block: free the queued requests, in_multi and multi_error go to 0. */
void multi_reset(struct multi_state *m);
/* Queue REQ for EXEC. Takes REQ. */
void multi_queue(struct multi_state *m, struct request *req);
/* Watch the key KEY (LEN bytes, copied) seen at VERSION after the entry APPLY_SEQ. */
void multi_watch(struct multi_state *m, const char *key, size_t len, uint64_t version,
                 uint64_t apply_seq);
/* Forget every watched key. */
void multi_unwatch(struct multi_state *m);

#endif
