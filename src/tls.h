/* TLS contexts built from the tls-* options (OpenSSL): one for the RESP TLS port and the
 * admin API, and, with tls-replication, one for each side of a raft peer connection. No
 * sockets: the callers wrap connections (libevent's OpenSSL bufferevents, the transport). */
#ifndef CONCORDKV_TLS_H
#define CONCORDKV_TLS_H

#include <stddef.h>

struct config;
struct ssl_ctx_st;

enum tls_role {
    TLS_SERVER,      /* accepts clients; asks for their certificates as tls-auth-clients says */
    TLS_PEER_SERVER, /* accepts raft peers: a certificate signed by the CA is required */
    TLS_PEER_CLIENT, /* connects to raft peers: presents ours, checks theirs against the CA */
};

/* A new context for ROLE from CFG's tls-cert-file, tls-key-file, tls-ca-cert-file,
 * tls-protocols, tls-ciphers and tls-ciphersuites (files read now). The caller owns the
 * result (tls_ctx_free). NULL with one line naming the option in ERR on failure. */
struct ssl_ctx_st *tls_ctx_new(const struct config *cfg, enum tls_role role, char *err,
                               size_t errlen);
/* Drop the caller's reference to CTX (connections made from it keep theirs); NULL is a
 * no-op. */
void tls_ctx_free(struct ssl_ctx_st *ctx);
/* Whether CFG uses TLS anywhere (a TLS port, HTTPS admin API, tls-replication). */
int tls_configured(const struct config *cfg);
/* Whether option NAME is one whose change rebuilds the contexts. */
int tls_option_reloads(const char *name);
/* The text of the oldest OpenSSL error queued on this thread, emptied; "" when none. */
const char *tls_error_text(char *buf, size_t len);

#endif
