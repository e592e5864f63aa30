/* faultfs: an LD_PRELOAD shim for the chaos tests that makes one node's disk fail.
 * While the file named by $FAULTFS_TRIGGER exists, every write, pwrite, writev, pwritev,
 * fsync, fdatasync, fallocate, posix_fallocate and Linux AIO submission (io_submit, which
 * canonical/raft issues through syscall(2)) on a file under $FAULTFS_DIR fails without
 * touching the file, with EIO, or ENOSPC when the trigger file's first byte is 'n'.
 * An AIO write fails either at submission (io_submit returns -1) or at completion (it is
 * submitted with nothing to write and io_getevents reports the error): the second byte of
 * the trigger picks 's' (submission), 'a' (completion), anything else alternates.
 * Sockets, pipes and files elsewhere are never affected. Compiled at run time by the chaos
 * scripts (gcc -shared -fPIC -o faultfs.so faultfs.c -ldl); never committed as a binary. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <pthread.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char *fault_dir;
static size_t fault_dir_len;
static const char *trigger;
static __thread int in_shim;

static char aio_mode; /* 's', 'a' or other: see above */

/* Checking the trigger costs an open: do it at most every 20 ms. */
static int trigger_state(void)
{
    static int cached_err;
    static struct timespec last;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    long ms = (now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000;
    if (ms >= 20 || ms < 0) {
        char c[2] = {0, 0};
        int err = 0;
        int fd = open(trigger, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            err = EIO;
            ssize_t n = read(fd, c, 2);
            if (n >= 1 && c[0] == 'n')
                err = ENOSPC;
            aio_mode = n == 2 ? c[1] : 0;
            close(fd);
        }
        cached_err = err;
        last = now;
    }
    return cached_err;
}

static void init(void)
{
    static int done;
    if (done)
        return;
    fault_dir = getenv("FAULTFS_DIR");
    trigger = getenv("FAULTFS_TRIGGER");
    fault_dir_len = fault_dir ? strlen(fault_dir) : 0;
    done = 1;
}

/* 0, or the errno FD's operation must fail with. */
static int fd_fault(int fd)
{
    char link[64], path[4096];
    init();
    if (fault_dir == NULL || trigger == NULL || in_shim)
        return 0;
    int err = trigger_state();
    if (err == 0)
        return 0;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    if (strncmp(path, fault_dir, fault_dir_len) != 0 ||
        (path[fault_dir_len] != '/' && path[fault_dir_len] != '\0'))
        return 0;
    return err;
}

#define REAL(name, ret, ...)                                        \
    static ret (*real_##name)(__VA_ARGS__);                         \
    if (real_##name == NULL)                                        \
        real_##name = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

#define FAIL_IF_FAULT(fd)          \
    do {                           \
        int e_ = fd_fault(fd);     \
        if (e_) {                  \
            errno = e_;            \
            return -1;             \
        }                          \
    } while (0)

ssize_t write(int fd, const void *buf, size_t count)
{
    REAL(write, ssize_t, int, const void *, size_t);
    FAIL_IF_FAULT(fd);
    return real_write(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
    REAL(pwrite, ssize_t, int, const void *, size_t, off_t);
    FAIL_IF_FAULT(fd);
    return real_pwrite(fd, buf, count, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t off)
{
    REAL(pwrite64, ssize_t, int, const void *, size_t, off_t);
    FAIL_IF_FAULT(fd);
    return real_pwrite64(fd, buf, count, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    REAL(writev, ssize_t, int, const struct iovec *, int);
    FAIL_IF_FAULT(fd);
    return real_writev(fd, iov, n);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    REAL(pwritev, ssize_t, int, const struct iovec *, int, off_t);
    FAIL_IF_FAULT(fd);
    return real_pwritev(fd, iov, n, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int n, off_t off)
{
    REAL(pwritev64, ssize_t, int, const struct iovec *, int, off_t);
    FAIL_IF_FAULT(fd);
    return real_pwritev64(fd, iov, n, off);
}

ssize_t pwritev2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
    REAL(pwritev2, ssize_t, int, const struct iovec *, int, off_t, int);
    FAIL_IF_FAULT(fd);
    return real_pwritev2(fd, iov, n, off, flags);
}

int fsync(int fd)
{
    REAL(fsync, int, int);
    FAIL_IF_FAULT(fd);
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fdatasync, int, int);
    FAIL_IF_FAULT(fd);
    return real_fdatasync(fd);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    REAL(fallocate, int, int, int, off_t, off_t);
    FAIL_IF_FAULT(fd);
    return real_fallocate(fd, mode, off, len);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
    REAL(posix_fallocate, int, int, off_t, off_t);
    int e = fd_fault(fd);
    if (e)
        return e; /* posix_fallocate returns the error number */
    return real_posix_fallocate(fd, off, len);
}

int posix_fallocate64(int fd, off_t off, off_t len)
{
    REAL(posix_fallocate64, int, int, off_t, off_t);
    int e = fd_fault(fd);
    if (e)
        return e;
    return real_posix_fallocate64(fd, off, len);
}

/* AIO requests submitted with nothing to do, whose completion must report an error. */
#define MAX_POISONED 256
static struct {
    void *iocb;
    int err;
} poisoned[MAX_POISONED];
static pthread_mutex_t poison_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned alternate;

static int poison(struct iocb *cb, int err)
{
    int done = 0;
    pthread_mutex_lock(&poison_lock);
    for (int i = 0; i < MAX_POISONED && !done; i++)
        if (poisoned[i].iocb == NULL) {
            poisoned[i].iocb = cb;
            poisoned[i].err = err;
            done = 1;
        }
    pthread_mutex_unlock(&poison_lock);
    return done;
}

/* The error a completed request must report instead of its result, or 0. */
static int unpoison(void *cb)
{
    int err = 0;
    pthread_mutex_lock(&poison_lock);
    for (int i = 0; i < MAX_POISONED; i++)
        if (poisoned[i].iocb == cb) {
            err = poisoned[i].err;
            poisoned[i].iocb = NULL;
            break;
        }
    pthread_mutex_unlock(&poison_lock);
    return err;
}

static int is_write(const struct iocb *cb)
{
    return cb->aio_lio_opcode == IOCB_CMD_PWRITE || cb->aio_lio_opcode == IOCB_CMD_PWRITEV ||
           cb->aio_lio_opcode == IOCB_CMD_FSYNC || cb->aio_lio_opcode == IOCB_CMD_FDSYNC;
}

/* canonical/raft submits its log writes with syscall(__NR_io_submit, ...); libuv may write
 * through syscall(SYS_pwritev, ...). Both end up here. */
long syscall(long nr, ...)
{
    REAL(syscall, long, long, long, long, long, long, long, long);
    va_list ap;
    va_start(ap, nr);
    long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
    long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
    va_end(ap);
    if (!in_shim) {
        int e = 0;
        if (nr == SYS_io_submit) {
            struct iocb **iocbs = (struct iocb **)a3;
            for (long i = 0; i < a2 && e == 0; i++)
                if (iocbs[i] && is_write(iocbs[i]))
                    e = fd_fault((int)iocbs[i]->aio_fildes);
            int async = aio_mode == 'a' || (aio_mode != 's' && (alternate++ & 1));
            if (e && async && iocbs[0]->aio_lio_opcode == IOCB_CMD_PWRITEV &&
                poison(iocbs[0], e)) {
                /* Submit the first request with nothing to write: it completes at once,
                 * and io_getevents turns its result into the error. */
                iocbs[0]->aio_nbytes = 0;
                in_shim = 1;
                long rv = real_syscall(nr, a1, 1, a3, a4, a5, a6);
                in_shim = 0;
                if (rv != 1)
                    unpoison(iocbs[0]);
                return rv;
            }
        } else if (nr == SYS_write || nr == SYS_pwrite64 || nr == SYS_writev ||
                   nr == SYS_pwritev || nr == SYS_pwritev2 || nr == SYS_fsync ||
                   nr == SYS_fdatasync || nr == SYS_fallocate) {
            e = fd_fault((int)a1);
        }
        if (e) {
            errno = e;
            return -1;
        }
    }
    in_shim = 1;
    long rv = real_syscall(nr, a1, a2, a3, a4, a5, a6);
    in_shim = 0;
    if (nr == SYS_io_getevents && rv > 0) {
        struct io_event *ev = (struct io_event *)a4;
        for (long i = 0; i < rv; i++) {
            int err = unpoison((void *)(uintptr_t)ev[i].obj);
            if (err)
                ev[i].res = -err;
        }
    }
    return rv;
}
