/* Protected mode and the local-only commands, as Redis 7.0 has them (protected-mode,
 * enable-debug-command): decisions from the configuration and a peer's address only; no I/O,
 * no sockets. */
#ifndef CONCORDKV_PROTECT_H
#define CONCORDKV_PROTECT_H

#include <netinet/in.h>

struct buf;
struct config;
struct command;
struct request;

/* enable-debug-command / enable-membership-command values, Redis's order. */
enum { PROTECT_NO, PROTECT_YES, PROTECT_LOCAL };

/* Redis's -DENIED line (with its CRLF) sent to a client refused by protected mode. */
extern const char PROTECT_DENIED[];

/* Whether SIN (a peer's IPv4 address) is a loopback one, as Redis's islocalClient: 127/8. */
int protect_addr_is_local(const struct sockaddr_in *sin);

/* The one protected-mode decision: true when a new connection from PEER must get
 * PROTECT_DENIED and be closed: protected-mode yes, no password anyone could log in with,
 * and PEER not loopback. PEER NULL (not IPv4, unknown) counts as not loopback. */
int server_protected_refuses(const struct config *cfg, const struct sockaddr_in *peer);

/* Whether an admin API request from a peer (LOCAL: loopback) must be refused with 403:
 * protected-mode yes, the API needs no token (REQUIRED_TOKEN NULL), and not LOCAL. */
int protect_admin_refuses(const struct config *cfg, const char *required_token, int local);

/* Whether CMD with REQ is a protected command (DEBUG; CLUSTER ADDNODE/DELNODE/TRANSFER) that
 * its option forbids for this client (LOCAL: loopback). When it is, append Redis's error reply
 * to OUT and return 1; else return 0. */
int protect_command_refused(const struct config *cfg, const struct command *cmd,
                            const struct request *req, int local, struct buf *out);

#endif
