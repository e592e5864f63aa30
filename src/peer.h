/* Outgoing RESP requests to another node (join, address announcements, relaying a command to
 * the leader): connect, optionally AUTH, send one command, read one reply, close. Never
 * blocks the loop; every request ends with exactly one callback. */
#ifndef CONCORDKV_PEER_H
#define CONCORDKV_PEER_H

#include <stddef.h>

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
 * is not one); AUTH queued on OUT as peer_command sends it (0: none needed; 1: with the
 * requirepass; 2: as the peer user, whose reply is to be skipped even when an error); ARGV
 * (ARGC arguments) queued on OUT as a RESP command. */
struct sockaddr_in;
struct evbuffer;
int peer_sockaddr(const char *addr, struct sockaddr_in *sin);
int peer_append_auth(struct server *srv, struct evbuffer *out);
void peer_append_command(struct evbuffer *out, int argc, const char *const *argv);
/* Cancel and free every request of SRV still in flight, without calling their callbacks
 * (shutdown: cluster_close calls it before freeing the state those callbacks use). */
void peer_cancel_all(struct server *srv);

#endif
