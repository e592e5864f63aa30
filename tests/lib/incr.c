/* The pipelined INCR load of incr.h. */
#include "incr.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture.h"

void incr_open(struct incr_load *l, int n, int port, const char *key, int window, long limit)
{
    memset(l, 0, sizeof(*l));
    cr_assert(n <= 8);
    l->n = n;
    l->window = window;
    l->limit = limit;
    l->cmdlen = (size_t)snprintf(l->cmd, sizeof(l->cmd), "*2\r\n$4\r\nINCR\r\n$%zu\r\n%s\r\n",
                                 strlen(key), key);
    l->outcap = l->cmdlen * (size_t)window;
    l->out = malloc(l->outcap);
    cr_assert(l->out != NULL);
    for (int i = 0; i < n; i++)
        l->conn[i].fd = fx_raw_connect(port);
}

static void incr_close_conn(struct incr_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Close every connection, keeping its counts (and every reply value) in L, and open as many
 * fresh ones to PORT: a new phase of the same load. */
void incr_reopen(struct incr_load *l, int port)
{
    for (int i = 0; i < l->n; i++) {
        struct incr_conn *c = &l->conn[i];
        l->past.sent += c->sent;
        l->past.acked += c->acked;
        l->past.not_applied += c->not_applied;
        l->past.uncertain += c->uncertain;
        l->past.lost += c->sent - c->replies;
        l->past.unexpected += c->unexpected;
        incr_close_conn(c);
        memset(c, 0, sizeof(*c));
        c->fd = fx_raw_connect(port);
    }
}

static void incr_reply(struct incr_load *l, struct incr_conn *c, const char *line, size_t len)
{
    c->replies++;
    if (line[0] == ':') {
        long long v = strtoll(line + 1, NULL, 10);
        c->acked++;
        if (v <= c->last)
            c->disorder = true;
        c->last = v;
        if (l->nvalues == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 4096;
            l->values = realloc(l->values, l->cap * sizeof(*l->values));
            cr_assert(l->values != NULL);
        }
        l->values[l->nvalues++] = v;
        return;
    }
    if (line[0] == '-' && (strncmp(line, "-MOVED ", 7) == 0 ||
                           strncmp(line, "-CLUSTERDOWN ", 13) == 0 ||
                           strncmp(line, "-TRYAGAIN ", 10) == 0 ||
                           strstr(line, "was not applied") != NULL)) {
        c->not_applied++;
        return;
    }
    if (strncmp(line, "-UNCERTAIN ", 11) == 0 || strncmp(line, "-TIMEOUT ", 9) == 0) {
        c->uncertain++;
        return;
    }
    if (c->unexpected++ == 0) {
        size_t n = len < sizeof(c->bad) - 1 ? len : sizeof(c->bad) - 1;
        memmove(c->bad, line, n);
        c->bad[n] = '\0';
    }
}

/* Read what is available on C and count complete replies; closes C on EOF or error. */
static void incr_read(struct incr_load *l, struct incr_conn *c)
{
    ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
    size_t start = 0;

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        incr_close_conn(c);
        return;
    }
    c->inlen += (size_t)n;
    for (;;) {
        char *eol = memmem(c->in + start, c->inlen - start, "\r\n", 2);
        if (eol == NULL)
            break;
        *eol = '\0';
        incr_reply(l, c, c->in + start, (size_t)(eol - (c->in + start)));
        start = (size_t)(eol - c->in) + 2;
    }
    memmove(c->in, c->in + start, c->inlen - start);
    c->inlen -= start;
    cr_assert(c->inlen < sizeof(c->in), "a reply line longer than %zu bytes", sizeof(c->in));
}

long incr_acked(const struct incr_load *l)
{
    long a = l->past.acked;

    for (int i = 0; i < l->n; i++)
        a += l->conn[i].acked;
    return a;
}

/* Run MODE until STOP_AT acks in all (0: no such goal), nothing is left to do, or TIMEOUT_MS. */
void incr_pump(struct incr_load *l, enum pump_mode mode, long stop_at, int timeout_ms)
{
    int64_t deadline = fx_now_ms() + timeout_ms;
    char *out = l->out;
    bool send = mode == PUMP_SEND;

    while (fx_now_ms() < deadline && (stop_at == 0 || incr_acked(l) < stop_at)) {
        struct pollfd pfd[8];
        int map[8], np = 0;

        for (int i = 0; i < l->n; i++) {
            struct incr_conn *c = &l->conn[i];
            long room = l->window - (c->sent - c->replies), k = l->limit - c->sent;
            size_t len = 0;

            if (c->fd < 0)
                continue;
            if (k > room)
                k = room;
            for (long j = 0; send && j < k; j++) {
                memcpy(out + len, l->cmd, l->cmdlen);
                len += l->cmdlen;
            }
            if (len > 0) {
                cr_assert(len <= l->outcap);
                if (fx_raw_send(c->fd, out, len) != 0) {
                    /* The bytes may or may not have reached the server: count them sent. */
                    c->sent += k;
                    incr_close_conn(c);
                    continue;
                }
                c->sent += k;
            }
            if (c->replies < c->sent || mode == PUMP_EOF) {
                pfd[np] = (struct pollfd){c->fd, POLLIN, 0};
                map[np++] = i;
            }
        }
        if (np == 0)
            break;
        if (poll(pfd, (nfds_t)np, 50) < 0 && errno != EINTR)
            cr_assert_fail("poll: %s", strerror(errno));
        for (int j = 0; j < np; j++)
            if (pfd[j].revents != 0)
                incr_read(l, &l->conn[map[j]]);
    }
}

/* Totals, asserting each connection's replies rose and no two INCRs got the same value. */
struct incr_totals incr_check(struct incr_load *l)
{
    struct incr_totals t = l->past;

    for (int i = 0; i < l->n; i++) {
        struct incr_conn *c = &l->conn[i];
        t.sent += c->sent;
        t.acked += c->acked;
        t.not_applied += c->not_applied;
        t.uncertain += c->uncertain;
        t.lost += c->sent - c->replies;
        t.unexpected += c->unexpected;
        cr_expect(c->unexpected == 0, "connection %d got %ld unexpected replies, first: %s", i,
                  c->unexpected, c->bad);
        cr_assert(!c->disorder, "connection %d: INCR replies did not rise", i);
    }
    for (size_t i = 0; i < l->nvalues; i++)
        for (size_t j = i + 1; j < l->nvalues; j++)
            cr_assert_neq(l->values[i], l->values[j], "two INCRs both returned %lld", l->values[i]);
    return t;
}

long long incr_max_value(const struct incr_load *l)
{
    long long m = 0;

    for (size_t i = 0; i < l->nvalues; i++)
        if (l->values[i] > m)
            m = l->values[i];
    return m;
}

void incr_free(struct incr_load *l)
{
    for (int i = 0; i < l->n; i++)
        incr_close_conn(&l->conn[i]);
    free(l->values);
    l->values = NULL;
    free(l->out);
    l->out = NULL;
}
