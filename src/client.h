/* One client connection: socket events, the RESP reader, dispatch of each request, the
 * ordered queue of replies (some produced later by apply or a read barrier), and
 * back-pressure. */
#ifndef CONCORDKV_CLIENT_H
#define CONCORDKV_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "exec.h"
#include "list.h"
#include "multi.h"
#include "pubsub.h"
#include "resp.h"

struct server;
struct event;
struct command;
struct bufferevent;
struct ssl_ctx_st;
struct slowlog_args;
struct px_conn;

/* Back-pressure (always on, whatever client-output-buffer-limit says): a client holding more
 * than the soft limit of replies (written or not, queued, or waiting on the cluster) is not
 * read until it drains; past the hard limit of unwritten output it is closed. Deferred
 * replies in flight are limited to a window: CLIENT_PENDING_START for a new client, then about
 * CLIENT_OUT_SOFT_LIMIT bytes' worth at the size of its recent deferred replies, between
 * CLIENT_PENDING_START and CLIENT_PENDING_LIMIT. */
#define CLIENT_OUT_SOFT_LIMIT (16u << 20)
#define CLIENT_OUT_HARD_LIMIT (1024u << 20)
#define CLIENT_PENDING_LIMIT 4096
#define CLIENT_PENDING_START 16

/* A reply position in a client's queue. Created not ready by client_defer(); whoever
 * produces the reply owns it until slot_done(). */
struct slot {
    struct list_node node; /* in its client's reply queue */
    struct client *c; /* NULL once the client has gone */
    struct buf out;
    size_t cost; /* bytes of the request while not ready (for output limits) */
    int ready;
    struct blocked *blk; /* a blocking command's reply: consensus answers blocked.c */
    /* SLOWLOG of a write (client_note_executed): its command and arguments as dispatched */
    const struct command *cmd;
    struct slowlog_args *slow_args;
    int discard;         /* CLIENT REPLY OFF/SKIP: the reply is dropped when it is ready */
    int db;              /* the database its command runs in (the client's when deferred) */
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
    int passed_auth;     /* AUTH (or HELLO AUTH) with the password succeeded */
    char *user;          /* ACL user ("default" until AUTH); NULL: a peer, every permission */
    struct acl_user *user_cache; /* USER's record as of the store's generation USER_GEN */
    uint64_t user_gen;
    int close_after_reply;
    int paused;          /* reading stopped by back-pressure */
    size_t reply_est;    /* recent deferred reply size (decaying max); 0: none yet */
    size_t defer_cost;   /* size of the request being dispatched, for client_defer */
    int64_t obuf_soft_since_ms; /* over the soft client-output-buffer-limit since; 0: not */
    struct event *obuf_ev; /* rechecks the soft limit once its seconds are over */
    int64_t ctime_ms, last_ms;
    const char *last_cmd;
    struct multi_state multi; /* MULTI block and watched keys (multi.h) */
    struct pubsub_sub sub;    /* its subscriptions (pubsub.h): any puts it in subscribed mode */
    int local;                /* connected over loopback (protect.h) */
    int sentinel_only;        /* accepted on sentinel-port: Sentinel's commands only */
    struct bufferevent *bev;  /* TLS clients: libevent's OpenSSL bufferevent; NULL: plain fd */
    struct blocked *blk;      /* its blocking command (blocked.c): nothing else is dispatched */
    int blk_resume;           /* the blocking command was answered: dispatch what waits */
    struct list probes; /* of struct probe (probe.h): no-op-looking writes on the read path */
    int nprobes;        /* how many probes are pending (counted in pending too) */
    int monitor;        /* MONITOR: sees the commands this node serves (monitor_node) */
    int resp;           /* the protocol HELLO chose: RESP2 (0) or RESP3 (resp.h) */
    int readonly;       /* READONLY: its reads are served on a follower (follower_read.h) */
    struct list_node monitor_node; /* in the server's monitors */
    /* operator commands (client_ctl.c) */
    int reply_off;        /* CLIENT REPLY OFF: every reply dropped */
    int reply_skip_next;  /* CLIENT REPLY SKIP was this command: skip the next one's */
    int reply_skip;       /* the command being read is the one to skip */
    int discarding;       /* the request being dispatched is answered into DISCARD */
    struct buf discard;   /* where the immediate replies of a silent request go */
    int no_evict;         /* CLIENT NO-EVICT on (flag e; there is no client eviction) */
    struct list_node postpone_node; /* in the server's postponed list while CLIENT PAUSE holds it */
    int64_t mem_hold_ms;  /* when its held write began to wait for memory (0: not held for it) */
    int oom_forced;       /* that write waited request-timeout: it answers -OOM */
    uint64_t woff;        /* the applied index when its last write was answered (WAIT) */
    int db;               /* SELECT: the database its commands run in */
    /* follower proxying (proxy.c) */
    int cluster_aware;        /* sent CLUSTER SLOTS/SHARDS/NODES: gets -MOVED in follower-mode auto, database 0 only */
    struct px_conn *px_pin;   /* its own connection to the leader (MULTI, WATCH, blocking) */
    int px_unit;              /* a WATCH or MULTI is open on px_pin */
    int px_broken;            /* px_pin was lost with a WATCH or MULTI open: EXEC aborts */
    char *acting;             /* a peer's CLUSTER ASUSER: whose rules its scripts run under */
};

/* Accept FD (already non-blocking) as a new client of SRV. Returns the client. */
struct client *client_new(struct server *srv, int fd);
/* Accept FD (non-blocking) as a new TLS client of SRV, its handshake run with a new session
 * of CTX (the server's current context). Returns the client, or NULL (FD closed) when no TLS
 * session could be made. */
struct client *client_new_tls(struct server *srv, int fd, struct ssl_ctx_st *ctx);
/* Close the socket and free the client; pending slots become orphans freed by slot_done. */
void client_free(struct client *c);
/* Free the slots kept for reuse (server_close). */
void client_slot_pool_clear(void);

/* The buffer an immediate reply must be appended to so that it goes out after every
 * earlier reply of C. */
struct buf *client_reply_buf(struct client *c);
/* client_defer, slot_buf, slot_done, client_redirect, server_reply_redirect and the
 * accessors handlers use (client_id, client_name, client_multi, client_list ...): exec.h. */
/* Reply to a deferred slot with one error. */
void slot_error(struct slot *s, const char *msg);

/* The server's Pub/Sub deliver callback: append the message MSG (LEN bytes) to the client
 * OWNER's replies and have it written. Never frees the client: the output limits are
 * checked when it is flushed. */
void client_deliver(void *arg, void *owner, const char *msg, size_t len);

/* The command of slot S (a write, dispatched with its arguments kept for SLOWLOG) ran USEC
 * microseconds in apply: log it in SLOWLOG and LATENCY as its client's. */
void client_note_executed(struct slot *s, int64_t usec);
/* CMD ran USEC microseconds for C with the arguments REQ (a read or a local command): log it
 * in SLOWLOG and LATENCY when slow enough. */
void client_note_exec(struct client *c, const struct command *cmd, const struct request *req,
                      int64_t usec);
/* Show the LEN bytes of unstamped MONITOR lines at LINES (a script's calls) to every monitor of
 * SRV, stamped now. */
void client_monitor_feed_trace(struct server *srv, const char *lines, size_t len);
/* Show REQ (CMD's, NULL: a command of the node's own such as __expired) to SRV's monitors as
 * run in database DB by WHO ("ip:port"). */
void client_feed_monitors(struct server *srv, int db, const char *who, const struct command *cmd,
                          const struct request *req);

/* Write what C has to write; called by the server after a batch of replies. */
void client_flush(struct client *c);
/* C's CLIENT LIST line at NOW_MS, appended to OUT. */
void client_info_at(const struct client *c, struct buf *out, int64_t now_ms);
/* Run the requests of C held by CLIENT PAUSE (client_ctl.c calls it when the pause ends). */
void client_resume_input(struct client *c);
/* Continue reading a client whose back-pressure pause is over. */
void client_resume(struct client *c);

#endif
