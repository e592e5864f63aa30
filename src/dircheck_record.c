/* The acknowledgement record of a data dir (DIRCHECK_RECORD_FILE): the highest index this
 * node may have acknowledged, kept durable from the server's cron and read by the startup
 * check (dircheck.c). Plain file I/O only: no raft, no libevent. The window: docs/SAFETY.md. */
#include "dircheck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "util.h"

/* 24 bytes: magic, index (little endian), CRC32 of those 16 bytes, 4 zero bytes. */
#define RECORD_MAGIC "CKVACK01"
#define RECORD_SIZE 24

/* Read up to CAP bytes of DIR's record into B. Returns 0 with *LEN, or -1 (errno). */
static int read_record(const char *dir, uint8_t *b, size_t cap, size_t *len)
{
    char path[4096];
    int fd;
    snprintf(path, sizeof(path), "%s/%s", dir, DIRCHECK_RECORD_FILE);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    *len = 0;
    while (*len < cap) {
        ssize_t n = read(fd, b + *len, cap - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        *len += (size_t)n;
    }
    close(fd);
    return 0;
}

int dircheck_record_read(const char *dir, uint64_t *index, char *err, size_t errlen)
{
    uint8_t b[RECORD_SIZE + 1];
    size_t len = 0;
    int rv = -1;
    if (read_record(dir, b, sizeof(b), &len) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", DIRCHECK_RECORD_FILE, strerror(errno));
        return -1;
    }
    if (len != RECORD_SIZE)
        snprintf(err, errlen, "%s has %zu bytes instead of %d", DIRCHECK_RECORD_FILE, len, RECORD_SIZE);
    else if (memcmp(b, RECORD_MAGIC, 8) != 0)
        snprintf(err, errlen, "%s: bad magic", DIRCHECK_RECORD_FILE);
    else if (codec_get_u32(b + 16) != dircheck_crc32(b, 16, 0))
        snprintf(err, errlen, "%s: checksum mismatch", DIRCHECK_RECORD_FILE);
    else {
        *index = codec_get_u64(b + 8);
        rv = 1;
    }
    return rv;
}

static void record_encode(uint8_t *b, uint64_t index)
{
    memset(b, 0, RECORD_SIZE);
    memcpy(b, RECORD_MAGIC, 8);
    codec_put_u64(b + 8, index);
    uint32_t crc = dircheck_crc32(b, 16, 0);
    for (int i = 0; i < 4; i++)
        b[16 + i] = (uint8_t)(crc >> (8 * i));
}

/* Open (creating it, then syncing DIR so that the name is durable) the record file. */
static int record_open(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    int fd, dfd, created = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, DIRCHECK_RECORD_FILE);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        created = 1;
    }
    if (fd < 0) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        return -1;
    }
    if (created && (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return fd;
}

/* One 24-byte block at offset 0 of a file that never changes size: a sector-atomic write. */
static int record_put(int fd, uint64_t index, char *err, size_t errlen)
{
    uint8_t b[RECORD_SIZE];
    record_encode(b, index);
    if (pwrite(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
        snprintf(err, errlen, "write %s: %s", DIRCHECK_RECORD_FILE, strerror(errno));
        return -1;
    }
    if (fdatasync(fd) != 0) {
        snprintf(err, errlen, "fdatasync %s: %s", DIRCHECK_RECORD_FILE, strerror(errno));
        return -1;
    }
    return 0;
}

int dircheck_record_write(const char *dir, uint64_t index, char *err, size_t errlen)
{
    int fd = record_open(dir, err, errlen), rv;
    if (fd < 0)
        return -1;
    rv = record_put(fd, index, err, errlen);
    close(fd);
    return rv;
}

/* ---- the recorder ---- */

void dircheck_recorder_init(struct dircheck_recorder *r, const char *dir)
{
    char err[256];
    memset(r, 0, sizeof(*r));
    r->dir = xstrdup(dir);
    r->fd = -1;
    if (dircheck_record_read(dir, &r->written, err, sizeof(err)) < 0)
        r->written = 0;
}

void dircheck_recorder_note(struct dircheck_recorder *r, uint64_t applied, uint64_t stored)
{
    char err[256];
    uint64_t index = applied < stored ? applied : stored;
    if (r->dir == NULL || index <= r->written)
        return;
    if (r->fd < 0 && (r->fd = record_open(r->dir, err, sizeof(err))) < 0) {
        if (!r->failing)
            log_warning("cannot record the acknowledged index: %s", err);
        r->failing = 1;
        return;
    }
    if (record_put(r->fd, index, err, sizeof(err)) != 0) {
        if (!r->failing)
            log_warning("cannot record the acknowledged index: %s", err);
        r->failing = 1;
        return;
    }
    if (r->failing)
        log_notice("recording the acknowledged index again (%llu)", (unsigned long long)index);
    r->failing = 0;
    r->written = index;
}

void dircheck_recorder_close(struct dircheck_recorder *r)
{
    if (r->dir == NULL)
        return; /* never initialised (zeroed) or already closed */
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    free(r->dir);
    r->dir = NULL;
}
