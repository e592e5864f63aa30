/* The raw-socket helpers of fixture.h: blocking loopback TCP connections, sends and reads with
 * deadlines, for tests that speak bytes rather than RESP through hiredis. */
#include "fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

int fx_raw_try_connect(int port)
{
    struct sockaddr_in sa;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int fx_raw_connect(int port)
{
    int fd = fx_raw_try_connect(port);

    cr_assert(fd >= 0, "fx_raw_connect(%d): %s", port, strerror(errno));
    return fd;
}

int fx_raw_send(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fx_raw_send_str(int fd, const char *s)
{
    return fx_raw_send(fd, s, strlen(s));
}

static bool raw_done(const char *buf, size_t len, size_t want, const char *pattern)
{
    if (want > 0 && len >= want)
        return true;
    return pattern != NULL && memmem(buf, len, pattern, strlen(pattern)) != NULL;
}

struct fx_raw_result fx_raw_read(int fd, char *buf, size_t cap, size_t want, const char *pattern,
                                 int timeout_ms)
{
    struct fx_raw_result res = {0, false, false};
    int64_t deadline = fx_now_ms() + timeout_ms;
    char sink[4096];

    if (cap > 0)
        buf[0] = '\0';
    while (!raw_done(buf, res.len, want, pattern)) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int64_t left = deadline - fx_now_ms();
        ssize_t n;
        int rc;

        if (left <= 0) {
            res.timed_out = true;
            break;
        }
        rc = poll(&pfd, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            res.timed_out = rc == 0;
            break;
        }
        /* Once BUF is full keep draining into SINK so EOF can still be seen. */
        if (res.len + 1 < cap)
            n = recv(fd, buf + res.len, cap - 1 - res.len, 0);
        else
            n = recv(fd, sink, sizeof(sink), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            res.eof = true;
            break;
        }
        if (res.len + 1 < cap) {
            res.len += (size_t)n;
            buf[res.len] = '\0';
        }
    }
    return res;
}

void fx_raw_expect(int fd, const char *expected, int timeout_ms)
{
    size_t want = strlen(expected);
    char *buf = malloc(want + 1);
    struct fx_raw_result res;

    cr_assert(buf != NULL);
    res = fx_raw_read(fd, buf, want + 1, want, NULL, timeout_ms);
    cr_assert(res.len == want && memcmp(buf, expected, want) == 0,
              "raw: expected \"%s\", got \"%.*s\"%s%s", expected, (int)res.len, buf,
              res.eof ? " then EOF" : "", res.timed_out ? " then a timeout" : "");
    free(buf);
}

bool fx_raw_wait_closed(int fd, int timeout_ms)
{
    char buf[4096];
    struct fx_raw_result res = fx_raw_read(fd, buf, sizeof(buf), 0, NULL, timeout_ms);

    return res.eof;
}

bool fx_raw_nothing_pending(int fd)
{
    struct pollfd pfd = {fd, POLLIN, 0};

    return poll(&pfd, 1, 0) == 0;
}
