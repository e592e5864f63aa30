/* Outgoing RESP requests to another node (join, address announcements, relaying a command to
 * the leader): connect, optionally AUTH, send one command, read one reply, close. Never
 * blocks the loop; every request ends with exactly one callback. */
#ifndef CONCORDKV_PEER_H
#define CONCORDKV_PEER_H

#include <stddef.h>

struct evbuffer;
struct server;
struct redisReply;

/* REPLY is the peer's reply (valid during the call only), or NULL with ERR set when the
 * connection failed, timed out or the reply was not valid RESP. */
typedef void peer_reply_fn(void *arg, const struct redisReply *reply, const char *err);

/* Send ARGV (ARGC arguments) to ADDR ("ip:port"), with AUTH first when the server has a
 * requirepass, within TIMEOUT_MS. Returns 0 and calls CB (if not NULL) later exactly once,
 * or -1 (bad address) without calling it. */
int peer_command(struct server *srv, const char *addr, int argc, const char *const *argv,
                 int timeout_ms, peer_reply_fn *cb, void *arg);
/* For a persistent channel of the caller's: ADDR ("ip:port") as a sockaddr (0, or -1 when it
 * is not one). */
struct sockaddr_in;
struct evbuffer;
int peer_sockaddr(const char *addr, struct sockaddr_in *sin);
/* Append ARGV (ARGC arguments, LEN[i] bytes each; LEN NULL: NUL-terminated) to OUT as one RESP
 * request. */
void peer_append_command(struct evbuffer *out, int argc, const char *const *argv, const size_t *len);
/* Append to OUT the AUTH a node sends another first: as the peer user (every permission) with
 * the proof of the cluster secret, or with requirepass when there is no secret. Returns which
 * (the AUTH's reply is to be skipped), or PEER_AUTH_NONE when nothing was appended. */
enum { PEER_AUTH_NONE, PEER_AUTH_SECRET, PEER_AUTH_PASSWORD };
int peer_append_auth(const struct server *srv, struct evbuffer *out);
/* Cancel and free every request of SRV still in flight, without calling their callbacks
 * (shutdown: cluster_close calls it before freeing the state those callbacks use). */
void peer_cancel_all(struct server *srv);

#endif
