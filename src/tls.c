/* TLS contexts from the tls-* options (see tls.h): certificates, CA, protocol versions and
 * ciphers, as Redis 6 reads its options of the same names. Files are read when a context is
 * built; CONFIG SET builds new ones, which new connections use. */
#include "tls.h"

#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"

const char *tls_error_text(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    buf[0] = '\0';
    if (e != 0)
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

/* tls-protocols: a blank-separated subset of TLSv1 TLSv1.1 TLSv1.2 TLSv1.3 (Redis's
 * words); NULL or empty: TLSv1.2 and TLSv1.3. Versions not named are turned off. */
static int tls_set_protocols(SSL_CTX *ctx, const char *value, char *err, size_t errlen)
{
    static const struct { const char *name; long op; } versions[] = {
        {"TLSv1", SSL_OP_NO_TLSv1}, {"TLSv1.1", SSL_OP_NO_TLSv1_1},
        {"TLSv1.2", SSL_OP_NO_TLSv1_2}, {"TLSv1.3", SSL_OP_NO_TLSv1_3},
    };
    long off = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
               SSL_OP_NO_TLSv1_2 | SSL_OP_NO_TLSv1_3;
    const char *p = value && *value ? value : "TLSv1.2 TLSv1.3";
    int named = 0;
    while (*p) {
        size_t n;
        p += strspn(p, " \t");
        n = strcspn(p, " \t");
        if (n == 0)
            break;
        size_t i;
        for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
            if (strlen(versions[i].name) == n && strncasecmp(p, versions[i].name, n) == 0)
                break;
        if (i == sizeof(versions) / sizeof(versions[0])) {
            snprintf(err, errlen, "option 'tls-protocols': unknown protocol '%.*s' (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)",
                     (int)(n > 32 ? 32 : n), p);
            return -1;
        }
        off &= ~versions[i].op;
        named++;
        p += n;
    }
    if (named == 0) {
        snprintf(err, errlen, "option 'tls-protocols': no protocol named");
        return -1;
    }
    SSL_CTX_set_options(ctx, (unsigned long)off);
    return 0;
}

/* Certificate, key, CA and the peer verification ROLE asks for. */
static int tls_set_identity(SSL_CTX *ctx, const struct config *cfg, enum tls_role role, char *err,
                            size_t errlen)
{
    char why[256];
    if (cfg->tls_cert_file && SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1) {
        snprintf(err, errlen, "option 'tls-cert-file': cannot load '%.200s': %s", cfg->tls_cert_file,
                 tls_error_text(why, sizeof(why)));
        return -1;
    }
    if (cfg->tls_key_file && (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
                              SSL_CTX_check_private_key(ctx) != 1)) {
        snprintf(err, errlen, "option 'tls-key-file': cannot load '%.200s' (or it does not match tls-cert-file): %s",
                 cfg->tls_key_file, tls_error_text(why, sizeof(why)));
        return -1;
    }
    if (cfg->tls_ca_cert_file && SSL_CTX_load_verify_locations(ctx, cfg->tls_ca_cert_file, NULL) != 1) {
        snprintf(err, errlen, "option 'tls-ca-cert-file': cannot load '%.200s': %s",
                 cfg->tls_ca_cert_file, tls_error_text(why, sizeof(why)));
        return -1;
    }
    int mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    if (role == TLS_SERVER)
        mode = cfg->tls_auth_clients == 0 ? SSL_VERIFY_NONE
             : cfg->tls_auth_clients == 1 ? mode : SSL_VERIFY_PEER;
    SSL_CTX_set_verify(ctx, mode, NULL);
    return 0;
}

struct ssl_ctx_st *tls_ctx_new(const struct config *cfg, enum tls_role role, char *err,
                               size_t errlen)
{
    char why[256];
    SSL_CTX *ctx = SSL_CTX_new(role == TLS_PEER_CLIENT ? TLS_client_method() : TLS_server_method());
    if (ctx == NULL) {
        snprintf(err, errlen, "TLS: cannot create a context: %s", tls_error_text(why, sizeof(why)));
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Resumed sessions of clients that presented a certificate need a context id. */
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"concordkv", 9);
    if (tls_set_protocols(ctx, cfg->tls_protocols, err, errlen) != 0 ||
        tls_set_identity(ctx, cfg, role, err, errlen) != 0)
        goto fail;
    if (cfg->tls_ciphers && SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1) {
        snprintf(err, errlen, "option 'tls-ciphers': '%.200s': %s", cfg->tls_ciphers, tls_error_text(why, sizeof(why)));
        goto fail;
    }
    if (cfg->tls_ciphersuites && SSL_CTX_set_ciphersuites(ctx, cfg->tls_ciphersuites) != 1) {
        snprintf(err, errlen, "option 'tls-ciphersuites': '%.200s': %s", cfg->tls_ciphersuites,
                 tls_error_text(why, sizeof(why)));
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

void tls_ctx_free(struct ssl_ctx_st *ctx)
{
    SSL_CTX_free(ctx);
}

int tls_configured(const struct config *cfg)
{
    return cfg->tls_port > 0 || cfg->admin_tls || cfg->tls_replication;
}

int tls_option_reloads(const char *name)
{
    static const char *const names[] = {"tls-cert-file", "tls-key-file", "tls-ca-cert-file",
                                        "tls-auth-clients", "tls-protocols", "tls-ciphersuites",
                                        "tls-ciphers"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}
