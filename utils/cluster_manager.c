/* cluster_manager: the command-line client of ConcordKV's HTTP admin API (add, remove, list,
 * status, transfer). Self-contained: its own small HTTP/1.1 client over a TCP socket (HTTPS
 * with OpenSSL), JSON with jansson; follows redirects to the leader; one line on stderr for
 * any failure. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define CM_DEFAULT_SERVER "http://127.0.0.1:8379"
#define CM_DEFAULT_PORT "8379"
#define CM_MAX_REDIRECTS 5
#define CM_TIMEOUT_QUERY_S 10   /* list, status */
#define CM_TIMEOUT_CHANGE_S 30  /* remove, transfer */
#define CM_TIMEOUT_ADD_S 75     /* add: the server's own deadline is 60 s */
#define CM_CONNECT_TIMEOUT_S 10
#define CM_MAX_RESPONSE (16 * 1024 * 1024)

#define EXIT_FAIL 1
#define EXIT_USAGE 2

static const char *progname = "cluster_manager";

/* What the command line asked for. */
struct options {
    const char *server;
    const char *token;
    int json;
    double timeout_s; /* 0: the command's default */
    const char *resp;
    const char *admin;
    const char *args[4];
    int nargs;
};

/* HTTPS: the CA file the server's certificate is checked against (NULL: the system's), and
 * the client certificate and key to present (the server's tls-auth-clients). */
static struct {
    const char *cacert, *cert, *key;
} tls_opts;

/* A parsed http://host:port or https://host:port URL (the path is kept for redirects). */
struct url {
    int tls;
    char host[256];
    char port[8];
    char path[1024];
};

struct http_reply {
    int status;
    char *location; /* owned; NULL if none */
    char *body;     /* owned, NUL-terminated */
    size_t body_len;
};

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see %s --help)\n", progname);
    exit(EXIT_USAGE);
}

static void print_help(void)
{
    printf("Usage: %s [options] <command> [arguments]\n"
           "\n"
           "Manage a ConcordKV cluster through a node's HTTP admin API. Changes are sent to\n"
           "the leader (redirects from followers are followed).\n"
           "\n"
           "Commands:\n"
           "  add <id> <raft-address> [--resp ADDR] [--admin ADDR]\n"
           "                      add node <id> (raft address ip:port) as a voter; --resp and\n"
           "                      --admin record its RESP and admin addresses\n"
           "  remove <id>         remove node <id> from the cluster\n"
           "  list                the cluster's nodes: id, role, leader, addresses\n"
           "  status              the contacted node's own status\n"
           "  transfer [<id>]     move leadership to node <id> (default: the most up-to-date voter)\n"
           "\n"
           "Options:\n"
           "  -s, --server URL    admin API of any node (default %s)\n"
           "  --token TOKEN       bearer token: the server's admin-token, or its requirepass\n"
           "                      when it has no admin-token (default: the\n"
           "                      CONCORDKV_ADMIN_TOKEN environment variable)\n"
           "  --cacert FILE       https:// servers: CA certificates (PEM) to check the server's\n"
           "                      certificate against (default: the system's)\n"
           "  --cert FILE, --key FILE\n"
           "                      https:// servers: client certificate and key (PEM) to\n"
           "                      present, for a server with tls-auth-clients yes\n"
           "  --json              print the server's JSON reply as is\n"
           "  --timeout SECONDS   give up after this long (default %d s; %d s for remove and\n"
           "                      transfer, %d s for add)\n"
           "  -h, --help          show this help\n"
           "  --version           print the version\n"
           "\n"
           "Exit status: 0 on success, 1 on any failure, 2 on a usage error.\n",
           progname, CM_DEFAULT_SERVER, CM_TIMEOUT_QUERY_S, CM_TIMEOUT_CHANGE_S, CM_TIMEOUT_ADD_S);
}

/* ---- command line ---- */

static const char *option_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc)
        usage_error("option '%s' needs a value", argv[*i]);
    return argv[++*i];
}

static void parse_args(int argc, char **argv, struct options *o)
{
    int only_positional = 0;

    memset(o, 0, sizeof(*o));
    o->server = CM_DEFAULT_SERVER;
    o->token = getenv("CONCORDKV_ADMIN_TOKEN");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            if (o->nargs == (int)(sizeof(o->args) / sizeof(o->args[0])))
                usage_error("too many arguments ('%s')", a);
            o->args[o->nargs++] = a;
        } else if (strcmp(a, "--") == 0) {
            only_positional = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_help();
            exit(0);
        } else if (strcmp(a, "--version") == 0) {
            printf("%s (ConcordKV) %s\n", progname, PACKAGE_VERSION);
            exit(0);
        } else if (strcmp(a, "-s") == 0 || strcmp(a, "--server") == 0) {
            o->server = option_value(argc, argv, &i);
        } else if (strcmp(a, "--token") == 0) {
            o->token = option_value(argc, argv, &i);
        } else if (strcmp(a, "--cacert") == 0) {
            tls_opts.cacert = option_value(argc, argv, &i);
        } else if (strcmp(a, "--cert") == 0) {
            tls_opts.cert = option_value(argc, argv, &i);
        } else if (strcmp(a, "--key") == 0) {
            tls_opts.key = option_value(argc, argv, &i);
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--timeout") == 0) {
            const char *v = option_value(argc, argv, &i);
            char *end;
            errno = 0;
            o->timeout_s = strtod(v, &end);
            if (errno || end == v || *end || !(o->timeout_s > 0) || o->timeout_s > 86400)
                usage_error("option '--timeout': '%s' is not a number of seconds (0 < s <= 86400)", v);
        } else if (strcmp(a, "--resp") == 0) {
            o->resp = option_value(argc, argv, &i);
        } else if (strcmp(a, "--admin") == 0) {
            o->admin = option_value(argc, argv, &i);
        } else {
            usage_error("unknown option '%s'", a);
        }
    }
}

/* A node id: a positive decimal integer. */
static long long parse_id(const char *s)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0 || s[0] == '+' || s[0] == ' ')
        usage_error("'%s' is not a node id (a positive integer)", s);
    return v;
}

/* ---- URLs ---- */

/* Parse "http://host[:port][/path]", "https://..." or "host[:port]" (port defaults to 8379).
 * Returns 0, or -1 with a reason in ERR. */
static int url_parse(const char *text, struct url *u, char *err, size_t errlen)
{
    const char *p = text, *host_end, *port = NULL, *path;
    size_t hlen;

    memset(u, 0, sizeof(*u));
    if (strncasecmp(p, "http://", 7) == 0) {
        p += 7;
    } else if (strncasecmp(p, "https://", 8) == 0) {
        p += 8;
        u->tls = 1;
    } else if (strstr(p, "://") != NULL) {
        snprintf(err, errlen, "'%s': only http:// and https:// URLs are supported", text);
        return -1;
    }
    path = p + strcspn(p, "/?#");
    if (*p == '[') { /* [IPv6]:port */
        host_end = memchr(p, ']', (size_t)(path - p));
        if (host_end == NULL) {
            snprintf(err, errlen, "'%s': unterminated [address]", text);
            return -1;
        }
        p++;
        if (host_end[1] == ':')
            port = host_end + 2;
    } else {
        host_end = memchr(p, ':', (size_t)(path - p));
        if (host_end != NULL)
            port = host_end + 1;
        else
            host_end = path;
    }
    hlen = (size_t)(host_end - p);
    if (hlen == 0 || hlen >= sizeof(u->host)) {
        snprintf(err, errlen, "'%s' names no host", text);
        return -1;
    }
    memcpy(u->host, p, hlen);
    if (port != NULL) {
        size_t plen = (size_t)(path - port);
        char *end;
        long v;
        if (plen == 0 || plen >= sizeof(u->port)) {
            snprintf(err, errlen, "'%s': bad port", text);
            return -1;
        }
        memcpy(u->port, port, plen);
        v = strtol(u->port, &end, 10);
        if (*end || v <= 0 || v > 65535) {
            snprintf(err, errlen, "'%s': bad port", text);
            return -1;
        }
    } else {
        snprintf(u->port, sizeof(u->port), "%s", CM_DEFAULT_PORT);
    }
    snprintf(u->path, sizeof(u->path), "%s", *path == '/' ? path : "/");
    return 0;
}

/* "host:port" for messages ("[::1]:port" for IPv6). */
static const char *url_authority(const struct url *u, char *out, size_t outlen)
{
    snprintf(out, outlen, strchr(u->host, ':') ? "[%s]:%s" : "%s:%s", u->host, u->port);
    return out;
}

/* ---- sockets with deadlines ---- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for EVENTS on FD until DEADLINE. Returns 1 when ready, 0 at the deadline, -1 on error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd pfd = {fd, events, 0};
        int64_t left = deadline - now_ms();
        int rc;
        if (left <= 0)
            return 0;
        rc = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (rc > 0)
            return 1;
        if (rc == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* Connect to U's host and port before DEADLINE. Returns the socket, or -1 with ERR. */
static int tcp_connect(const struct url *u, int64_t deadline, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char where[300];
    int fd = -1, rc, saved = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    url_authority(u, where, sizeof(where));
    rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", u->host, gai_strerror(rc));
        return -1;
    }
    int64_t connect_deadline = now_ms() + CM_CONNECT_TIMEOUT_S * 1000;
    if (connect_deadline > deadline)
        connect_deadline = deadline;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            int ready = wait_fd(fd, POLLOUT, connect_deadline);
            socklen_t len = sizeof(saved);
            if (ready == 0)
                saved = ETIMEDOUT;
            else if (ready < 0)
                saved = errno;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &saved, &len) != 0)
                saved = errno;
            if (ready > 0 && saved == 0)
                break;
        } else {
            saved = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "cannot connect to %s: %s", where,
                 saved == ETIMEDOUT ? "connection timed out" : strerror(saved));
    return fd;
}

/* A connection: a socket, and its TLS session for https://. */
struct conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

static void conn_close(struct conn *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->ctx)
        SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
}

/* After an SSL call returned RC: EAGAIN (wait for the socket as errno's twin in *EVENTS says),
 * or a failure (errno EPROTO, or 0 for a clean close). */
static int tls_retry(struct conn *c, int rc, short *events)
{
    switch (SSL_get_error(c->ssl, rc)) {
    case SSL_ERROR_WANT_READ: *events = POLLIN; errno = EAGAIN; return 1;
    case SSL_ERROR_WANT_WRITE: *events = POLLOUT; errno = EAGAIN; return 1;
    case SSL_ERROR_ZERO_RETURN: errno = 0; return 0;
    case SSL_ERROR_SYSCALL: if (errno == 0) errno = ECONNRESET; return 0;
    default: errno = EPROTO; return 0;
    }
}

/* The TLS handshake on C (connected to U) before DEADLINE, checking the server's certificate
 * against --cacert and U's host. 0, or -1 with ERR. */
static int tls_start(struct conn *c, const struct url *u, int64_t deadline, char *err, size_t errlen)
{
    char where[300], why[256] = "";
    unsigned char ip[16];
    url_authority(u, where, sizeof(where));
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL)
        goto fail;
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if ((tls_opts.cacert ? SSL_CTX_load_verify_locations(c->ctx, tls_opts.cacert, NULL)
                         : SSL_CTX_set_default_verify_paths(c->ctx)) != 1) {
        snprintf(err, errlen, "--cacert '%s': cannot load it", tls_opts.cacert ? tls_opts.cacert : "(system)");
        return -1;
    }
    if (tls_opts.cert && (SSL_CTX_use_certificate_chain_file(c->ctx, tls_opts.cert) != 1 ||
                          SSL_CTX_use_PrivateKey_file(c->ctx, tls_opts.key ? tls_opts.key : tls_opts.cert,
                                                      SSL_FILETYPE_PEM) != 1)) {
        snprintf(err, errlen, "--cert '%s' / --key: cannot load them", tls_opts.cert);
        return -1;
    }
    c->ssl = SSL_new(c->ctx);
    if (c->ssl == NULL)
        goto fail;
    SSL_set_fd(c->ssl, c->fd);
    if (inet_pton(AF_INET, u->host, ip) == 1 || inet_pton(AF_INET6, u->host, ip) == 1) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), u->host);
    } else {
        SSL_set_tlsext_host_name(c->ssl, u->host);
        SSL_set1_host(c->ssl, u->host);
    }
    for (;;) {
        int rc = SSL_connect(c->ssl);
        short events;
        if (rc == 1)
            return 0;
        if (!tls_retry(c, rc, &events))
            break;
        int ready = wait_fd(c->fd, events, deadline);
        if (ready <= 0) {
            snprintf(err, errlen, "TLS handshake with %s: %s", where, ready == 0 ? "timed out" : strerror(errno));
            return -1;
        }
    }
    long v = SSL_get_verify_result(c->ssl);
    if (v != X509_V_OK)
        snprintf(why, sizeof(why), "certificate verify failed: %s", X509_verify_cert_error_string(v));
fail:
    if (why[0] == '\0')
        ERR_error_string_n(ERR_get_error(), why, sizeof(why));
    snprintf(err, errlen, "TLS handshake with %s failed: %s", where, why);
    return -1;
}

static ssize_t conn_send(struct conn *c, const char *data, size_t len, short *events)
{
    *events = POLLOUT;
    if (c->ssl == NULL)
        return send(c->fd, data, len, MSG_NOSIGNAL);
    int n = SSL_write(c->ssl, data, (int)(len > INT_MAX ? INT_MAX : len));
    if (n > 0)
        return n;
    if (!tls_retry(c, n, events) && errno == 0)
        errno = ECONNRESET;
    return -1;
}

/* >0 bytes, 0 at the end of the stream, -1 with errno (EAGAIN: wait for *EVENTS). */
static ssize_t conn_recv(struct conn *c, char *buf, size_t len, short *events)
{
    *events = POLLIN;
    if (c->ssl == NULL)
        return recv(c->fd, buf, len, 0);
    int n = SSL_read(c->ssl, buf, (int)(len > INT_MAX ? INT_MAX : len));
    if (n > 0)
        return n;
    if (!tls_retry(c, n, events) && errno == 0)
        return 0;
    return -1;
}

static int send_all(struct conn *c, const char *data, size_t len, int64_t deadline)
{
    while (len > 0) {
        short events;
        ssize_t n = conn_send(c, data, len, &events);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int ready = wait_fd(c->fd, events, deadline);
            if (ready <= 0) {
                errno = ready == 0 ? ETIMEDOUT : errno;
                return -1;
            }
        } else if (n < 0 && errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

/* ---- HTTP ---- */

static void reply_free(struct http_reply *r)
{
    free(r->location);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* Decode a chunked body in place. Returns the decoded length, or -1 if it is malformed or
 * incomplete. */
static long dechunk(char *body, size_t len)
{
    size_t in = 0, out = 0;

    for (;;) {
        char *end;
        unsigned long n;
        char *eol = memmem(body + in, len - in, "\r\n", 2);
        if (eol == NULL)
            return -1;
        n = strtoul(body + in, &end, 16);
        if (end == body + in)
            return -1;
        in = (size_t)(eol - body) + 2;
        if (n == 0)
            return (long)out;
        if (n > len - in || len - in - n < 2)
            return -1;
        memmove(body + out, body + in, n);
        out += n;
        in += n + 2;
    }
}

/* Find header NAME in the header block HEAD (NUL-terminated, lines end in \r\n). Returns a
 * copy of its value (the caller frees it) or NULL. */
static char *header_value(const char *head, const char *name)
{
    size_t nlen = strlen(name);

    for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            const char *end = strstr(v, "\r\n");
            while (*v == ' ' || *v == '\t')
                v++;
            if (end == NULL)
                end = v + strlen(v);
            while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
            return strndup(v, (size_t)(end - v));
        }
    }
    return NULL;
}

/* Parse the complete response RAW (LEN bytes, NUL-terminated) into OUT. Returns 0 or -1. */
static int parse_response(char *raw, size_t len, struct http_reply *out)
{
    char *sep = strstr(raw, "\r\n\r\n");
    char *te, *cl;
    size_t body_len;
    int status;

    if (sep == NULL || sscanf(raw, "HTTP/%*d.%*d %d", &status) != 1)
        return -1;
    sep[2] = '\0'; /* the header block keeps its last \r\n */
    body_len = len - (size_t)(sep + 4 - raw);
    te = header_value(raw, "Transfer-Encoding");
    cl = header_value(raw, "Content-Length");
    out->status = status;
    out->location = header_value(raw, "Location");
    if (te != NULL && strcasecmp(te, "chunked") == 0) {
        long n = dechunk(sep + 4, body_len);
        if (n < 0) {
            free(te);
            free(cl);
            return -1;
        }
        body_len = (size_t)n;
    } else if (cl != NULL && strtoull(cl, NULL, 10) < body_len) {
        body_len = (size_t)strtoull(cl, NULL, 10);
    }
    free(te);
    free(cl);
    out->body = strndup(sep + 4, body_len);
    out->body_len = body_len;
    return 0;
}

/* True when RAW holds a whole response (headers and Content-Length bytes of body). */
static int response_complete(const char *raw, size_t len)
{
    const char *sep = strstr(raw, "\r\n\r\n");
    char *cl, *head;
    int done = 0;

    if (sep == NULL)
        return 0;
    head = strndup(raw, (size_t)(sep - raw) + 2);
    cl = header_value(head, "Content-Length");
    if (cl != NULL)
        done = len - (size_t)(sep + 4 - raw) >= strtoull(cl, NULL, 10);
    free(cl);
    free(head);
    return done;
}

/* One request to U (METHOD U->path with BODY, which may be NULL) before DEADLINE. Returns 0
 * with OUT filled, or -1 with ERR. */
static int http_once(const struct url *u, const char *method, const char *body, const char *token,
                     int64_t deadline, double timeout_s, struct http_reply *out, char *err,
                     size_t errlen)
{
    char where[300], *req = NULL, *raw = NULL;
    size_t len = 0, cap = 0;
    int n, rc = -1;
    struct conn conn = {-1, NULL, NULL};
    short events;

    url_authority(u, where, sizeof(where));
    conn.fd = tcp_connect(u, deadline, err, errlen);
    if (conn.fd < 0)
        return -1;
    if (u->tls && tls_start(&conn, u, deadline, err, errlen) != 0)
        goto out_fd;
    n = asprintf(&req,
                 "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: cluster_manager\r\n"
                 "Accept: application/json\r\nConnection: close\r\n%s%s%s"
                 "%s%s%zu\r\n\r\n%s",
                 method, u->path, where, token ? "Authorization: Bearer " : "", token ? token : "",
                 token ? "\r\n" : "",
                 body || strcmp(method, "POST") == 0 ? "Content-Type: application/json\r\n" : "",
                 "Content-Length: ", body ? strlen(body) : 0, body ? body : "");
    if (n < 0) {
        snprintf(err, errlen, "out of memory");
        goto out_fd;
    }
    if (send_all(&conn, req, (size_t)n, deadline) != 0) {
        if (errno == ETIMEDOUT)
            snprintf(err, errlen, "no answer from %s within %g s", where, timeout_s);
        else
            snprintf(err, errlen, "sending to %s failed: %s", where, strerror(errno));
        goto out_req;
    }
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 16384;
            raw = realloc(raw, cap);
            if (raw == NULL) {
                snprintf(err, errlen, "out of memory");
                goto out_req;
            }
        }
        ssize_t got = conn_recv(&conn, raw + len, cap - len - 1, &events);
        if (got > 0) {
            len += (size_t)got;
            raw[len] = '\0';
            if (len > CM_MAX_RESPONSE) {
                snprintf(err, errlen, "the reply from %s is too large", where);
                goto out_raw;
            }
            if (response_complete(raw, len))
                break;
        } else if (got == 0) {
            break;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int ready = wait_fd(conn.fd, events, deadline);
            if (ready == 0) {
                snprintf(err, errlen, "no answer from %s within %g s", where, timeout_s);
                goto out_raw;
            }
            if (ready < 0) {
                snprintf(err, errlen, "reading from %s failed: %s", where, strerror(errno));
                goto out_raw;
            }
        } else if (errno != EINTR) {
            unsigned long e = errno == EPROTO ? ERR_peek_last_error() : 0;
            char why[256];
            if (e != 0)
                ERR_error_string_n(e, why, sizeof(why));
            snprintf(err, errlen, "reading from %s failed: %s%s", where, e ? why : strerror(errno),
                     e && ERR_GET_REASON(e) == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED
                         ? " (the server wants a client certificate: --cert and --key)" : "");
            goto out_raw;
        }
    }
    if (raw == NULL || len == 0) {
        snprintf(err, errlen, "%s closed the connection without answering", where);
        goto out_raw;
    }
    raw[len] = '\0';
    if (parse_response(raw, len, out) != 0) {
        reply_free(out);
        snprintf(err, errlen, "%s sent a malformed HTTP reply", where);
        goto out_raw;
    }
    rc = 0;
out_raw:
    free(raw);
out_req:
    free(req);
out_fd:
    conn_close(&conn);
    return rc;
}

/* METHOD PATH on SERVER, following up to CM_MAX_REDIRECTS redirects, before DEADLINE
 * (TIMEOUT_S after the start, for messages). Returns 0 with OUT filled (any status), or -1
 * with ERR. */
static int http_request(const char *server, const char *method, const char *path, const char *body,
                        const char *token, int64_t deadline, double timeout_s,
                        struct http_reply *out, char *err, size_t errlen)
{
    struct url u;

    if (url_parse(server, &u, err, errlen) != 0)
        return -1;
    snprintf(u.path, sizeof(u.path), "%s", path);
    for (int hops = 0;; hops++) {
        memset(out, 0, sizeof(*out));
        if (http_once(&u, method, body, token, deadline, timeout_s, out, err, errlen) != 0)
            return -1;
        if (out->status != 307 && out->status != 308)
            return 0;
        if (out->location == NULL) {
            snprintf(err, errlen, "redirect (HTTP %d) without a Location", out->status);
            reply_free(out);
            return -1;
        }
        if (hops == CM_MAX_REDIRECTS) {
            snprintf(err, errlen, "too many redirects (the last to %s)", out->location);
            reply_free(out);
            return -1;
        }
        if (out->location[0] == '/') { /* same server, another path */
            snprintf(u.path, sizeof(u.path), "%s", out->location);
        } else if (url_parse(out->location, &u, err, errlen) != 0) {
            reply_free(out);
            return -1;
        }
        reply_free(out);
    }
}

/* ---- commands ---- */

struct command {
    const char *name;
    int min_args, max_args; /* after the command name */
    const char *method;
    const char *path;
    int timeout_s;
};

static const struct command commands[] = {
    {"add", 2, 2, "POST", "/api/cluster/add", CM_TIMEOUT_ADD_S},
    {"remove", 1, 1, "POST", "/api/cluster/remove", CM_TIMEOUT_CHANGE_S},
    {"list", 0, 0, "GET", "/api/cluster/config", CM_TIMEOUT_QUERY_S},
    {"status", 0, 0, "GET", "/api/status", CM_TIMEOUT_QUERY_S},
    {"transfer", 0, 1, "POST", "/api/cluster/transfer", CM_TIMEOUT_CHANGE_S},
};

/* The request body of command C, or NULL for a GET. The caller frees it. */
static char *build_body(const struct command *c, const struct options *o)
{
    json_t *obj;
    char *text;

    if (strcmp(c->method, "POST") != 0)
        return NULL;
    obj = json_object();
    if (o->nargs > 1)
        json_object_set_new(obj, "id", json_integer(parse_id(o->args[1])));
    if (strcmp(c->name, "add") == 0) {
        json_object_set_new(obj, "address", json_string(o->args[2]));
        if (o->resp)
            json_object_set_new(obj, "resp_address", json_string(o->resp));
        if (o->admin)
            json_object_set_new(obj, "admin_address", json_string(o->admin));
    }
    text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}

static const char *str_or_dash(json_t *v)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    return s && *s ? s : "-";
}

/* Print the table of GET /api/cluster/config. */
static int print_list(json_t *root)
{
    static const char *const heads[] = {"ID", "ROLE", "LEADER", "RAFT ADDRESS", "RESP ADDRESS",
                                        "ADMIN ADDRESS"};
    json_t *nodes = json_object_get(root, "nodes");
    size_t n = json_array_size(nodes);
    char (*cells)[6][72] = calloc(n + 1, sizeof(*cells));
    int width[6] = {0};

    if (!json_is_array(nodes) || cells == NULL) {
        free(cells);
        return -1;
    }
    for (int k = 0; k < 6; k++)
        snprintf(cells[0][k], sizeof(cells[0][k]), "%s", heads[k]);
    for (size_t i = 0; i < n; i++) {
        json_t *node = json_array_get(nodes, i);
        char (*row)[72] = cells[i + 1];
        snprintf(row[0], 72, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(node, "id")));
        snprintf(row[1], 72, "%s", str_or_dash(json_object_get(node, "role")));
        snprintf(row[2], 72, "%s", json_is_true(json_object_get(node, "leader")) ? "*" : "");
        snprintf(row[3], 72, "%s", str_or_dash(json_object_get(node, "address")));
        snprintf(row[4], 72, "%s", str_or_dash(json_object_get(node, "resp_address")));
        snprintf(row[5], 72, "%s", str_or_dash(json_object_get(node, "admin_address")));
    }
    for (size_t i = 0; i <= n; i++)
        for (int k = 0; k < 6; k++)
            if ((int)strlen(cells[i][k]) > width[k])
                width[k] = (int)strlen(cells[i][k]);
    for (size_t i = 0; i <= n; i++) {
        for (int k = 0; k < 5; k++)
            printf("%-*s  ", width[k], cells[i][k]);
        printf("%s\n", cells[i][5]);
    }
    free(cells);
    return 0;
}

/* Print GET /api/status as "key: value" lines, in the server's order. */
static int print_status(json_t *root)
{
    const char *key;
    json_t *v;

    if (!json_is_object(root))
        return -1;
    json_object_foreach(root, key, v) {
        char label[64];
        snprintf(label, sizeof(label), "%s:", key);
        if (json_is_string(v)) {
            printf("%-16s %s\n", label, json_string_value(v));
        } else if (json_is_null(v)) {
            printf("%-16s %s\n", label, "none");
        } else {
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            printf("%-16s %s\n", label, text ? text : "?");
            free(text);
        }
    }
    return 0;
}

/* "add 4" / "remove 9" / "list": the command as the user typed it, for error lines. */
static void describe(const struct command *c, const struct options *o, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s%s", c->name, o->nargs > 1 ? " " : "", o->nargs > 1 ? o->args[1] : "");
}

/* True when R says that nothing was started and the same request may succeed a little later
 * (no leader yet, another change in progress). */
static int retryable(const struct http_reply *r, json_t *root)
{
    return r->status != 200 && json_is_true(json_object_get(root, "retryable"));
}

/* Send command C, retrying a retryable refusal until the deadline. Returns 0 with the last
 * reply in R and its JSON in *ROOT (NULL if not JSON), or -1 with ERR. */
static int exchange(const struct command *c, const struct options *o, struct http_reply *r,
                    json_t **root, char *err, size_t errlen)
{
    double timeout_s = o->timeout_s > 0 ? o->timeout_s : c->timeout_s;
    int64_t deadline = now_ms() + (int64_t)(timeout_s * 1000);
    char *body = build_body(c, o);
    int backoff_ms = 100, rc;

    for (;;) {
        rc = http_request(o->server, c->method, c->path, body, o->token, deadline, timeout_s, r,
                          err, errlen);
        if (rc != 0)
            break;
        *root = json_loadb(r->body, r->body_len, 0, NULL);
        if (!retryable(r, *root) || now_ms() + backoff_ms >= deadline)
            break;
        json_decref(*root);
        *root = NULL;
        reply_free(r);
        usleep((useconds_t)backoff_ms * 1000);
        backoff_ms = backoff_ms * 2 > 1000 ? 1000 : backoff_ms * 2;
    }
    free(body);
    return rc;
}

static int run(const struct command *c, const struct options *o)
{
    char err[1200], what[128];
    struct http_reply r;
    json_t *root = NULL;
    int exit_code = EXIT_FAIL;

    describe(c, o, what, sizeof(what));
    if (exchange(c, o, &r, &root, err, sizeof(err)) != 0) {
        /* no HTTP answer: the reason names the server */
        fprintf(stderr, "%s: %s\n", progname, err);
        return EXIT_FAIL;
    }
    if (o->json) {
        fwrite(r.body, 1, r.body_len, stdout);
        if (r.body_len == 0 || r.body[r.body_len - 1] != '\n')
            putchar('\n');
    }
    if (r.status != 200) {
        json_t *e = json_object_get(root, "error");
        fprintf(stderr, "%s: %s: %s (HTTP %d)\n", progname, what,
                json_is_string(e) ? json_string_value(e) : "the server refused the request", r.status);
    } else if (root == NULL) {
        fprintf(stderr, "%s: %s: the server's reply is not JSON\n", progname, what);
    } else if (o->json) {
        exit_code = 0;
    } else if (strcmp(c->name, "list") == 0 || strcmp(c->name, "status") == 0) {
        if ((strcmp(c->name, "list") == 0 ? print_list(root) : print_status(root)) == 0)
            exit_code = 0;
        else
            fprintf(stderr, "%s: %s: unexpected reply from the server\n", progname, what);
    } else {
        json_t *m = json_object_get(root, "message");
        printf("%s\n", json_is_string(m) ? json_string_value(m) : "ok");
        exit_code = 0;
    }
    json_decref(root);
    reply_free(&r);
    return exit_code;
}

int main(int argc, char **argv)
{
    struct options o;
    const struct command *c = NULL;

    if (argc > 0 && argv[0][0] != '\0') /* its own name: installed as concordkv-cluster-manager */
        progname = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    parse_args(argc, argv, &o);
    if (o.nargs == 0)
        usage_error("no command given (add, remove, list, status or transfer)");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(o.args[0], commands[i].name) == 0)
            c = &commands[i];
    if (c == NULL)
        usage_error("unknown command '%s'", o.args[0]);
    if (o.nargs - 1 < c->min_args || o.nargs - 1 > c->max_args)
        usage_error("%s takes %s", c->name,
                    strcmp(c->name, "add") == 0        ? "<id> <raft-address> [--resp ADDR] [--admin ADDR]"
                    : strcmp(c->name, "remove") == 0   ? "<id>"
                    : strcmp(c->name, "transfer") == 0 ? "an optional <id>"
                                                       : "no arguments");
    if ((o.resp || o.admin) && strcmp(c->name, "add") != 0)
        usage_error("--resp and --admin go with add");
    if (o.nargs > 1)
        parse_id(o.args[1]);
    struct url u;
    char err[300];
    if (url_parse(o.server, &u, err, sizeof(err)) != 0)
        usage_error("option '--server': %s", err);
    return run(c, &o);
}
