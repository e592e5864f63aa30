/* What a command handler may ask of the dispatcher (server.c, client.c, info.c) beyond its
 * exec_ctx, without seeing struct server or struct client: the node's consensus, configuration
 * and state machine, deferred replies, redirects, a connection's own state (auth, name, MULTI
 * state) and the INFO and CLIENT LIST renderings. Handlers include this, never
 * server.h/client.h. */
#ifndef CONCORDKV_EXEC_H
#define CONCORDKV_EXEC_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct client;
struct config;
struct consensus;
struct fsm;
struct multi_state;
struct pubsub;
struct pubsub_sub;
struct request;
struct server;
struct slot;
struct sentinel_state;

/* The node's follower-read state (follower_read.h), owned by the server. */
struct follower_read *server_follower_read(struct server *srv);
/* The server's consensus, configuration and state machine (owned by the server). */
struct consensus *server_consensus(struct server *srv);
const struct config *server_config(const struct server *srv);
const struct fsm *server_fsm(const struct server *srv);
/* CONFIG SET NAME VALUE at runtime. Returns 0, or -1 with a message in ERR. */
int server_config_set(struct server *srv, const char *name, const char *value, char *err,
                      size_t errlen);
/* The node's ACL store: the replicated users (owned by its fsm) and this node's ACL LOG. */
struct acl_store *server_acl(struct server *srv);
/* Read the aclfile at PATH and check it: on success OUT receives its users in the form the
 * log carries (acl_serialize: passwords hashed, channel rules explicit, a user without any
 * starting with allchannels when PUBSUB_ALL: acl-pubsub-default) and 0 is returned; -1 with
 * Redis's message in ERR otherwise. */
int server_acl_read_file(const char *path, int pubsub_all, struct buf *out, char *err, size_t errlen);
/* What sentinel.c last saw of the leader (owned by the server). */
const struct sentinel_state *server_sentinel(struct server *srv);
/* When the server started (ms since the epoch). */
int64_t server_start_ms(const struct server *srv);

/* INFO (info.c): append to OUT the sections REQ (INFO [section ...]) asks for. */
void info_render(struct server *srv, const struct request *req, struct buf *out);
/* CONFIG RESETSTAT: zero the command statistics, errorstats, the server's counters, the
 * keyspace hits/misses, the instantaneous samples and the memory peak. */
void info_resetstat(struct server *srv);

/* A connection's own state (client.c). */
uint64_t client_id(const struct client *c);
/* Whether C may run commands (no password set, or AUTH done). */
int client_authenticated(const struct client *c);
/* Whether C passed AUTH with the password (CONFIG GET shows secrets only then). */
int client_passed_auth(const struct client *c);
/* AUTH (or HELLO AUTH) succeeded as the user named USER (copied; NULL: a peer node, which
 * has every permission). */
void client_set_user(struct client *c, const char *user, size_t len);
/* The user C is authenticated as ("default" until an AUTH); for a peer node the user it acts
 * for (CLUSTER ASUSER: a follower forwarding that user's commands), else NULL. */
const char *client_user(const struct client *c);
/* CLUSTER ASUSER: peer node C forwards the commands of USER (LEN bytes, copied) from now on;
 * its scripts' commands are checked against USER's rules. Returns 0, or -1 when C is not a
 * peer node. */
int client_act_as(struct client *c, const char *user, size_t len);
/* RESET: C is authenticated as "default" again, as a new connection is (no AUTH needed
 * unless the default user requires a password). */
void client_reset_auth(struct client *c);
/* The protocol C speaks (resp.h: RESP2 or RESP3), and HELLO's switch. Replies to commands
 * already dispatched keep the protocol of their time. */
int client_resp(const struct client *c);
void client_set_resp(struct client *c, int resp);
/* C's name, NULL when it has none. */
const char *client_name(const struct client *c);
/* Name C with the LEN bytes at NAME (copied); NAME NULL: no name. */
void client_set_name(struct client *c, const char *name, size_t len);
/* READONLY (1) / READWRITE (0): whether C may have its reads served by this node when it
 * is a follower (follower_read.h). */
void client_set_readonly(struct client *c, int on);
int client_readonly(const struct client *c);
/* C said it understands clusters (CLUSTER SLOTS/SHARDS/NODES, READONLY): a follower answers
 * its writes -MOVED in follower-mode auto instead of forwarding them (proxy.h), and SELECT
 * allows only database 0. C may be NULL. */
void client_set_cluster_aware(struct client *c);
/* Close C once the reply to the current request has been written (QUIT). */
void client_close_after_reply(struct client *c);
/* The node's Pub/Sub registry (owned by the server) and C's subscriptions (owned by C). */
struct pubsub *server_pubsub(struct server *srv);
struct pubsub_sub *client_pubsub(struct client *c);
/* C's MULTI state (multi.h), owned by C. */
struct multi_state *client_multi(struct client *c);
/* Append C's CLIENT LIST line to OUT (CLIENT LIST itself: client_list_cmd). */
void client_info(const struct client *c, struct buf *out);

/* MONITOR: C sees the commands this node serves from now on. Returns 0, or 1 when C already
 * was a monitor. client_monitor_stop: RESET ends it. */
int client_monitor_start(struct client *c);
void client_monitor_stop(struct client *c);
/* The node's SLOWLOG and LATENCY stores (slowlog.h, latency.h), owned by the server. */
struct slowlog *server_slowlog(struct server *srv);
struct latency_monitor *server_latency(struct server *srv);
/* Operator commands (client_ctl.c). CLIENT REPLY: MODE one of CLIENT_REPLY_*; ON also
 * makes the current reply go out (write it to client_reply_buf, not the silenced ctx->out). */
enum { CLIENT_REPLY_ON, CLIENT_REPLY_OFF, CLIENT_REPLY_SKIP };
void client_reply_mode(struct client *c, int mode);
struct buf *client_reply_buf(struct client *c);
/* CLIENT NO-EVICT on|off: only the flag (there is no client eviction). */
void client_set_no_evict(struct client *c, int on);
/* CLIENT LIST [TYPE normal|pubsub|replica|master] [ID id ...]: the lines to OUT as a bulk. */
void client_list_cmd(struct server *srv, const struct request *req, struct buf *out);
/* CLIENT KILL with REQ's arguments (both forms), from SELF: the reply to OUT. */
void client_kill(struct server *srv, struct client *self, const struct request *req, struct buf *out);
/* CLIENT PAUSE: hold the commands TYPE (PAUSE_WRITE / PAUSE_ALL) names until END_MS (a
 * longer or stricter pause already in force stays); CLIENT UNPAUSE ends it, resuming the
 * held clients in order. Node-local. */
enum { PAUSE_OFF, PAUSE_WRITE, PAUSE_ALL };
void server_pause(struct server *srv, int type, int64_t end_ms);
void server_unpause(struct server *srv);
/* Clients held by CLIENT PAUSE now (INFO counts them in blocked_clients, as Redis). */
int server_postponed_count(const struct server *srv);
/* WAIT NUM TIMEOUT_MS for C (the leader): the followers holding C's last write, answered
 * into OUT at once when NUM already do, else in a deferred reply once they do or TIMEOUT_MS
 * (0: none) passes. */
void server_wait(struct server *srv, struct client *c, long long num, long long timeout_ms,
                 struct buf *out);
/* MEMORY STATS (Redis 7.0's flat array) and MEMORY DOCTOR (a text) of this node, to OUT. */
void server_memory_stats(struct server *srv, struct buf *out);
void server_memory_doctor(struct server *srv, struct buf *out);

/* Reserve the next reply position of C for a reply produced later; whoever produces it owns
 * the slot until slot_done(). */
struct slot *client_defer(struct client *c);
/* client_defer for a command that runs in database DB rather than C's current one (EXEC of
 * a transaction that SELECTs); slot_db: the database a slot's command runs in. */
struct slot *client_defer_db(struct client *c, int db);
int slot_db(const struct slot *s);
/* C's database (SELECT), and setting it. */
int client_db(const struct client *c);
void client_set_db(struct client *c, int db);
/* Whether C declared itself cluster-aware (CLUSTER SLOTS/SHARDS/NODES, READONLY): SELECT
 * then refuses any database but 0, as Redis Cluster does. */
int client_cluster_aware(const struct client *c);
/* Where a deferred reply is written. */
struct buf *slot_buf(struct slot *s);
/* The reply in the slot is complete: queue it for sending (or free S if its client is gone). */
void slot_done(struct slot *s);

/* CLIENT UNBLOCK: answer the client ID blocked in a blocking command with nil (ERROR 0) or
 * the -UNBLOCKED error (a pop already in flight still delivers what it popped). Returns 1,
 * or 0 when no such client is blocked (blocked.c). */
int server_unblock_client(struct server *srv, uint64_t id, int error);

/* When this node cannot take writes or consistent reads (not the leader), reply to C with
 * -MOVED SLOT <leader>, -CLUSTERDOWN or -TRYAGAIN and return 1; else return 0. */
int client_redirect(struct client *c, int slot);
/* Append to OUT the error telling a client where to go instead of this node: -MOVED SLOT
 * <leader>, -CLUSTERDOWN, -TRYAGAIN (shutting down), or the removed-node error. */
void server_reply_redirect(struct server *srv, int slot, struct buf *out);

#endif
