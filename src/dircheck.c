/* Verification of canonical/raft 0.15's data dir before raft_start (the acknowledgement record
 * it checks against is dircheck_record.c). Reads raft's on-disk format itself (described in
 * docs/SAFETY.md); never calls raft, never touches libevent. Only dircheck_truncate_tail
 * writes to the dir. */
#include "dircheck.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "util.h"

#define DISK_FORMAT 1                        /* UV__DISK_FORMAT of raft 0.15 */
#define MAX_SEGMENT (8u * 1024 * 1024)       /* UV__MAX_SEGMENT_SIZE */
#define MAX_BATCH_ENTRIES (MAX_SEGMENT / 32) /* raft's own bound on a batch's entry count */
#define META_MAX_CONF (1024 * 1024)          /* UV__META_MAX_CONFIGURATION_SIZE */
/* Our FSM's snapshot frame (fsm.c: SNAP_MAGIC ... SNAP_END); the data has no checksum. */
#define SNAP_MAGIC_V5 "CKSNAP05" /* format 4 and the databases past 0 */
#define SNAP_MAGIC "CKSNAP04"    /* typed entries, the ACL users and the script cache */
#define SNAP_MAGIC_V3 "CKSNAP03" /* typed entries and the ACL users: still read by fsm_restore */
#define SNAP_MAGIC_V2 "CKSNAP02" /* typed entries, no ACL section: still read by fsm_restore */
#define SNAP_MAGIC_V1 "CKSNAP01" /* strings only, still read by fsm_restore */
#define SNAP_END 0x454e44534e41504bULL
#define LZ4_MAGIC 0x184D2204u

static const char *const kind_names[] = {
#define DIRCHECK_NAME(name, text) text,
    DIRCHECK_KINDS(DIRCHECK_NAME)
#undef DIRCHECK_NAME
};

const char *dircheck_kind_name(int kind)
{
    if (kind < 0 || kind >= (int)(sizeof(kind_names) / sizeof(kind_names[0])))
        return "unknown";
    return kind_names[kind];
}

/* ---- bytes ---- */

static uint32_t crc_table[256];

uint32_t dircheck_crc32(const void *buf, size_t len, uint32_t init)
{
    const uint8_t *p = buf;
    uint32_t crc = init;
    if (crc_table[1] == 0) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i << 24;
            for (int k = 0; k < 8; k++)
                c = (c & 0x80000000u) ? (c << 1) ^ 0x04C11DB7u : c << 1;
            crc_table[i] = c;
        }
    }
    while (len--)
        crc = (crc << 8) ^ crc_table[((crc >> 24) ^ *p++) & 0xff];
    return crc;
}

static int all_zero(const uint8_t *b, size_t from, size_t len)
{
    for (size_t i = from; i < len; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

static void path_join(char *out, size_t len, const char *dir, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

/* Read DIR/NAME whole into a malloc'd buffer (the caller frees it). Returns 0 or -1 (errno). */
static int read_file(const char *dir, const char *name, uint8_t **out, size_t *len)
{
    char path[4096];
    struct stat st;
    int fd;
    path_join(path, sizeof(path), dir, name);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    uint8_t *b = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    *out = b;
    *len = got;
    return 0;
}

/* ---- the report ---- */

static void set_problem(struct dircheck_report *rep, int kind, const char *file, uint64_t offset,
                        uint64_t first, uint64_t last, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Record the first problem only: what comes after it is likely a consequence. */
static void set_problem(struct dircheck_report *rep, int kind, const char *file, uint64_t offset,
                        uint64_t first, uint64_t last, const char *fmt, ...)
{
    struct dircheck_problem *p = &rep->problem;
    va_list ap;
    if (p->kind != DIRCHECK_NONE)
        return;
    p->kind = kind;
    snprintf(p->file, sizeof(p->file), "%s", file);
    p->offset = offset;
    p->first = first;
    p->last = last;
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
    va_end(ap);
}

static struct dircheck_file *add_file(struct dircheck_report *rep, const char *name, int type,
                                      uint64_t size)
{
    rep->files = xrealloc(rep->files, (rep->nfiles + 1) * sizeof(*rep->files));
    struct dircheck_file *f = &rep->files[rep->nfiles++];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->type = type;
    f->size = size;
    f->ok = 1;
    return f;
}

static int classify(const char *name, uint64_t *a, uint64_t *b, uint64_t *c)
{
    unsigned long long x, y, z;
    int used = 0;
    size_t len = strlen(name);
    if (strcmp(name, "metadata1") == 0 || strcmp(name, "metadata2") == 0) {
        *a = (uint64_t)(name[8] - '0');
        return DIRCHECK_FILE_METADATA;
    }
    if (strcmp(name, DIRCHECK_RECORD_FILE) == 0)
        return DIRCHECK_FILE_RECORD;
    if (sscanf(name, "%016llu-%016llu%n", &x, &y, &used) == 2 && (size_t)used == len) {
        *a = x;
        *b = y;
        return DIRCHECK_FILE_CLOSED;
    }
    if (sscanf(name, "open-%llu%n", &x, &used) == 1 && (size_t)used == len) {
        *a = x;
        return DIRCHECK_FILE_OPEN;
    }
    if (sscanf(name, "snapshot-%llu-%llu-%llu.meta%n", &x, &y, &z, &used) == 3 &&
        (size_t)used == len) {
        *a = x;
        *b = y;
        *c = z;
        return DIRCHECK_FILE_SNAPSHOT;
    }
    return DIRCHECK_FILE_OTHER;
}

static int cmp_name(const void *p1, const void *p2)
{
    const struct dircheck_file *f1 = p1, *f2 = p2;
    if (f1->type != f2->type)
        return f1->type - f2->type;
    if (f1->type == DIRCHECK_FILE_OPEN)
        return f1->a < f2->a ? -1 : f1->a > f2->a;
    return strcmp(f1->name, f2->name);
}

/* List DIR into REP->files, sorted by type, then as raft orders them. */
static int list_dir(const char *dir, struct dircheck_report *rep, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (d == NULL) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot read data dir '%s': %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        uint64_t a = 0, b = 0, c = 0;
        int type;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        path_join(path, sizeof(path), dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        /* A snapshot's data file is checked with its .meta. */
        type = classify(de->d_name, &a, &b, &c);
        struct dircheck_file *f = add_file(rep, de->d_name, type, (uint64_t)st.st_size);
        f->a = a;
        f->b = b;
        f->c = c;
        if (type == DIRCHECK_FILE_CLOSED) {
            f->first = a;
            f->last = b;
        }
    }
    closedir(d);
    if (rep->nfiles > 1)
        qsort(rep->files, rep->nfiles, sizeof(*rep->files), cmp_name);
    return 0;
}

/* ---- metadata ---- */

static void check_metadata(const char *dir, struct dircheck_report *rep)
{
    struct dircheck_file *m[2] = {NULL, NULL};
    for (size_t i = 0; i < rep->nfiles; i++)
        if (rep->files[i].type == DIRCHECK_FILE_METADATA)
            m[rep->files[i].a - 1] = &rep->files[i];
    for (int n = 0; n < 2; n++) {
        struct dircheck_file *f = m[n];
        uint8_t *b = NULL;
        size_t len = 0;
        if (f == NULL)
            continue;
        if (f->size < 32) {
            /* raft 0.15 takes a short copy for an interrupted write and ignores it. */
            snprintf(f->note, sizeof(f->note), "%llu bytes: an interrupted write, ignored by raft",
                     (unsigned long long)f->size);
            f->a = 0;
            continue;
        }
        if (f->size > 32 || read_file(dir, f->name, &b, &len) != 0 || len != 32) {
            f->ok = 0;
            snprintf(f->note, sizeof(f->note), "%llu bytes instead of 32",
                     (unsigned long long)f->size);
        } else if (codec_get_u64(b) != DISK_FORMAT) {
            f->ok = 0;
            snprintf(f->note, sizeof(f->note), "bad format version %llu", (unsigned long long)codec_get_u64(b));
        } else if (codec_get_u64(b + 8) == 0) {
            f->ok = 0;
            snprintf(f->note, sizeof(f->note), "version is zero");
        } else {
            f->a = codec_get_u64(b + 8);
            f->b = codec_get_u64(b + 16);
            f->c = codec_get_u64(b + 24);
            snprintf(f->note, sizeof(f->note), "version %llu, term %llu, vote %llu",
                     (unsigned long long)f->a, (unsigned long long)f->b, (unsigned long long)f->c);
        }
        free(b);
        if (!f->ok) {
            /* The damaged copy may be the newer one: the term and vote are unknown. raft 0.15
             * writes the 32 bytes in place, so this is not an interrupted write. */
            set_problem(rep, DIRCHECK_METADATA, f->name, 0, 0, 0,
                        "%s: %s; the node's current term and vote are unknown (metadata has no "
                        "checksum; the other copy may be older)", f->name, f->note);
            f->a = 0;
        }
    }
    uint64_t v1 = m[0] && m[0]->ok ? m[0]->a : 0, v2 = m[1] && m[1]->ok ? m[1]->a : 0;
    if (v1 != 0 && v1 == v2) {
        m[0]->ok = m[1]->ok = 0;
        set_problem(rep, DIRCHECK_METADATA, "metadata1", 0, 0, 0,
                    "metadata1 and metadata2 are both at version %llu", (unsigned long long)v1);
    } else if (v1 || v2) {
        struct dircheck_file *f = v1 > v2 ? m[0] : m[1];
        rep->meta_version = f->a;
        rep->term = f->b;
        rep->voted_for = f->c;
    }
}

static void check_record(const char *dir, struct dircheck_report *rep)
{
    char msg[256];
    uint64_t index = 0;
    struct dircheck_file *f = NULL;
    for (size_t i = 0; i < rep->nfiles; i++)
        if (rep->files[i].type == DIRCHECK_FILE_RECORD)
            f = &rep->files[i];
    if (f == NULL)
        return;
    int rv = dircheck_record_read(dir, &index, msg, sizeof(msg));
    if (rv == 1) {
        rep->has_record = 1;
        rep->record = index;
        snprintf(f->note, sizeof(f->note), "may have acknowledged up to index %llu",
                 (unsigned long long)index);
    } else if (rv < 0) {
        f->ok = 0;
        snprintf(f->note, sizeof(f->note), "%.190s", msg);
        set_problem(rep, DIRCHECK_RECORD, f->name, 0, 0, 0,
                    "%s: what this node may have acknowledged is unknown", msg);
    }
}

/* ---- snapshots ---- */

static int check_snapshot_files(const char *dir, struct dircheck_file *f, char *why, size_t len)
{
    char data[DIRCHECK_NAME_MAX], path[4096];
    uint8_t *b = NULL, frame[16];
    size_t n = 0;
    struct stat st;
    int fd, ok = 0;

    snprintf(data, sizeof(data), "%.*s", (int)(strlen(f->name) - 5), f->name);
    if (read_file(dir, f->name, &b, &n) != 0) {
        snprintf(why, len, "cannot read: %s", strerror(errno));
        return 0;
    }
    if (n < 32)
        snprintf(why, len, "metadata has %zu bytes", n);
    else if (codec_get_u64(b) != DISK_FORMAT)
        snprintf(why, len, "metadata: bad format version %llu", (unsigned long long)codec_get_u64(b));
    else if (codec_get_u64(b + 24) == 0 || codec_get_u64(b + 24) > META_MAX_CONF || n != 32 + codec_get_u64(b + 24))
        snprintf(why, len, "metadata: configuration length %llu in a file of %zu bytes",
                 (unsigned long long)codec_get_u64(b + 24), n);
    else if ((uint32_t)codec_get_u64(b + 8) != dircheck_crc32(b + 32, n - 32, dircheck_crc32(b + 16, 16, 0)))
        snprintf(why, len, "metadata: checksum mismatch");
    else
        ok = 1;
    free(b);
    if (!ok)
        return 0;
    path_join(path, sizeof(path), dir, data);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        snprintf(why, len, "data file %s: %s", data, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 0;
    }
    ok = 0;
    if (st.st_size < 16 || pread(fd, frame, 16, 0) != 16)
        snprintf(why, len, "data file %s has %lld bytes", data, (long long)st.st_size);
    else if (codec_get_u32(frame) == LZ4_MAGIC)
        ok = 1, snprintf(why, len, "lz4-compressed: frame not checked");
    else if (memcmp(frame, SNAP_MAGIC_V5, 8) != 0 && memcmp(frame, SNAP_MAGIC, 8) != 0 &&
             memcmp(frame, SNAP_MAGIC_V3, 8) != 0 &&
             memcmp(frame, SNAP_MAGIC_V2, 8) != 0 &&
             memcmp(frame, SNAP_MAGIC_V1, 8) != 0)
        snprintf(why, len, "data file %s: bad magic", data);
    else if (pread(fd, frame, 8, st.st_size - 8) != 8 || codec_get_u64(frame) != SNAP_END)
        snprintf(why, len, "data file %s: cut short (no end marker)", data);
    else
        ok = 1, snprintf(why, len, "%lld bytes of data, frame intact (the data has no checksum)",
                         (long long)st.st_size);
    close(fd);
    return ok;
}

/* The snapshot raft would load: the newest whose data file exists and is not empty. */
static void check_snapshots(const char *dir, struct dircheck_report *rep)
{
    struct dircheck_file *newest = NULL;
    for (size_t i = 0; i < rep->nfiles; i++) {
        struct dircheck_file *f = &rep->files[i];
        char data[DIRCHECK_NAME_MAX], path[4096];
        struct stat st;
        if (f->type != DIRCHECK_FILE_SNAPSHOT)
            continue;
        snprintf(data, sizeof(data), "%.*s", (int)(strlen(f->name) - 5), f->name);
        path_join(path, sizeof(path), dir, data);
        if (stat(path, &st) != 0 || st.st_size == 0) {
            snprintf(f->note, sizeof(f->note), "no data file: an unfinished snapshot, ignored by raft");
            f->type = DIRCHECK_FILE_OTHER;
            continue;
        }
        f->ok = check_snapshot_files(dir, f, f->note, sizeof(f->note));
        if (newest == NULL || f->a > newest->a || (f->a == newest->a && f->b > newest->b) ||
            (f->a == newest->a && f->b == newest->b && f->c > newest->c))
            newest = f;
    }
    for (size_t i = 0; i < rep->nfiles; i++) {
        struct dircheck_file *f = &rep->files[i];
        if (f->type == DIRCHECK_FILE_SNAPSHOT && f != newest && !f->ok) {
            /* raft loads only the newest: an older damaged one is never read. */
            size_t l = strlen(f->note);
            snprintf(f->note + l, sizeof(f->note) - l, " (older snapshot, not loaded)");
            f->ok = 1;
        }
    }
    for (size_t i = 0; i < rep->nfiles; i++) {
        struct dircheck_file *f = &rep->files[i];
        /* Data files belong to their .meta; listed as other files otherwise. */
        if (f->type == DIRCHECK_FILE_OTHER && strncmp(f->name, "snapshot-", 9) == 0 && !f->note[0])
            snprintf(f->note, sizeof(f->note), "snapshot data");
    }
    if (newest == NULL)
        return;
    rep->snapshot_term = newest->a;
    rep->snapshot_index = newest->b;
    if (!newest->ok)
        set_problem(rep, DIRCHECK_SNAPSHOT, newest->name, 0, 1, newest->b,
                    "the newest snapshot (index %llu) is damaged: %s; raft 0.15 loads only it",
                    (unsigned long long)newest->b, newest->note);
}

/* ---- segments ---- */

struct batch_scan {
    unsigned batches;
    uint64_t entries;
    size_t data_end;     /* just past the last good batch */
    int kind;            /* DIRCHECK_NONE: the data ends cleanly (EOF or zeros) */
    int torn_shape;      /* the bad batch is incomplete, or only zeros follow it */
    uint64_t bad_entries; /* entries the bad batch declares, when its header is good */
    int zeros_after;     /* the good data is followed by zeros, not by EOF */
    char detail[160];
};

/* True if a batch with a good header checksum starts at an 8-byte boundary after OFF: what
 * follows a batch whose extent is unknown is then log data, not the rest of a torn write. */
static int valid_batch_after(const uint8_t *b, size_t len, size_t off)
{
    while (len > off && b[len - 1] == 0)
        len--; /* the zeros of the preallocated rest */
    for (size_t p = off + 8; p + 32 <= len; p += 8) {
        uint64_t n = codec_get_u64(b + p + 8);
        if (n == 0 || n > MAX_BATCH_ENTRIES || p + 16 + 16 * n > len)
            continue;
        if (dircheck_crc32(b + p + 8, 8 + 16 * (size_t)n, 0) == codec_get_u32(b + p))
            return 1;
    }
    return 0;
}

/* Walk the batches of a segment from offset 8, as raft 0.15's uvLoadEntriesBatch does. */
static void scan_batches(const uint8_t *b, size_t len, struct batch_scan *s)
{
    size_t off = 8;
    memset(s, 0, sizeof(*s));
    for (;;) {
        s->data_end = off;
        if (off == len)
            return;
        if (all_zero(b, off, len)) {
            s->zeros_after = 1;
            return;
        }
        if (len - off < 16) {
            s->kind = DIRCHECK_SHORT;
            s->torn_shape = 1;
            snprintf(s->detail, sizeof(s->detail), "only %zu bytes left for a batch preamble", len - off);
            return;
        }
        uint64_t n = codec_get_u64(b + off + 8);
        if (n == 0 || n > MAX_BATCH_ENTRIES) {
            s->kind = DIRCHECK_COUNT;
            s->torn_shape = !valid_batch_after(b, len, off);
            snprintf(s->detail, sizeof(s->detail), "entry count %llu", (unsigned long long)n);
            return;
        }
        size_t hlen = 8 + 16 * (size_t)n;
        if (off + 8 + hlen > len) {
            s->kind = DIRCHECK_SHORT;
            s->torn_shape = 1;
            snprintf(s->detail, sizeof(s->detail), "header of %llu entries cut by the end of the file",
                     (unsigned long long)n);
            return;
        }
        if (dircheck_crc32(b + off + 8, hlen, 0) != codec_get_u32(b + off)) {
            s->kind = DIRCHECK_HEADER_CRC;
            s->torn_shape = !valid_batch_after(b, len, off);
            snprintf(s->detail, sizeof(s->detail), "header checksum mismatch");
            return;
        }
        size_t dlen = 0;
        for (uint64_t i = 0; i < n; i++) {
            const uint8_t *h = b + off + 16 + 16 * i;
            if (h[8] < 1 || h[8] > 3) {
                s->kind = DIRCHECK_HEADER;
                snprintf(s->detail, sizeof(s->detail), "entry %llu of the batch has type %u",
                         (unsigned long long)i, h[8]);
                return;
            }
            dlen += codec_get_u32(h + 12);
        }
        s->bad_entries = n;
        size_t end = off + 8 + hlen + dlen;
        if (end > len) {
            s->kind = DIRCHECK_SHORT;
            s->torn_shape = 1;
            snprintf(s->detail, sizeof(s->detail), "%llu entries, %zu bytes of data cut by the end of the file",
                     (unsigned long long)n, dlen);
            return;
        }
        if (dircheck_crc32(b + off + 8 + hlen, dlen, 0) != codec_get_u32(b + off + 4)) {
            s->kind = DIRCHECK_DATA_CRC;
            s->torn_shape = all_zero(b, end, len);
            snprintf(s->detail, sizeof(s->detail), "%llu entries, data checksum mismatch%s",
                     (unsigned long long)n, s->torn_shape ? ", only zeros after it" : ", valid-looking data after it");
            return;
        }
        s->bad_entries = 0;
        s->batches++;
        s->entries += n;
        off = end;
    }
}

/* Check a closed segment F, which must hold exactly F->first..F->last. */
static void check_closed(const char *dir, struct dircheck_report *rep, struct dircheck_file *f)
{
    uint8_t *b = NULL;
    size_t len = 0;
    struct batch_scan s;
    uint64_t want = f->last - f->first + 1;

    if (read_file(dir, f->name, &b, &len) != 0) {
        f->ok = 0;
        set_problem(rep, DIRCHECK_IO, f->name, 0, f->first, f->last, "cannot read: %s", strerror(errno));
        return;
    }
    if (len < 8 || codec_get_u64(b) != DISK_FORMAT) {
        f->ok = 0;
        snprintf(f->note, sizeof(f->note), len < 8 ? "%zu bytes" : "bad format version %zu",
                 len < 8 ? len : (size_t)codec_get_u64(b));
        set_problem(rep, DIRCHECK_FORMAT, f->name, 0, f->first, f->last, "%s", f->note);
        free(b);
        return;
    }
    scan_batches(b, len, &s);
    f->batches = s.batches;
    f->data_end = s.data_end;
    if (s.kind != DIRCHECK_NONE || s.zeros_after) {
        uint64_t at = f->first + s.entries;
        f->ok = 0;
        f->last = s.entries ? at - 1 : 0;
        if (s.entries == 0)
            f->first = 0;
        snprintf(f->note, sizeof(f->note), "batch %u at offset %zu: %s", s.batches + 1, s.data_end,
                 s.kind ? s.detail : "zeros where the next batch should be");
        set_problem(rep, s.kind ? s.kind : DIRCHECK_COUNT, f->name, s.data_end, at,
                    f->first + want - 1, "%s", f->note);
    } else if (s.entries != want) {
        f->ok = 0;
        snprintf(f->note, sizeof(f->note), "holds %llu entries, its name says %llu",
                 (unsigned long long)s.entries, (unsigned long long)want);
        set_problem(rep, DIRCHECK_ENTRIES, f->name, 0, f->first, f->last, "%s", f->note);
    }
    free(b);
}

/* Check the open segment F, whose first entry is NEXT. LAST_USED: no later open segment holds
 * data, so a torn batch here is the tail of the log. Returns the number of good entries. */
static uint64_t check_open(const char *dir, struct dircheck_report *rep, struct dircheck_file *f,
                           uint64_t next, int last_used)
{
    uint8_t *b = NULL;
    size_t len = 0;
    struct batch_scan s;

    if (read_file(dir, f->name, &b, &len) != 0) {
        f->ok = 0;
        set_problem(rep, DIRCHECK_IO, f->name, 0, next, 0, "cannot read: %s", strerror(errno));
        return 0;
    }
    if (len < 8 || codec_get_u64(b) != DISK_FORMAT) {
        if (len == 0) {
            snprintf(f->note, sizeof(f->note), "empty (raft removes it)");
        } else if (all_zero(b, 0, len) && len >= 8) {
            snprintf(f->note, sizeof(f->note), "preallocated, never written (raft removes it)");
        } else if (all_zero(b, 0, len) && last_used) {
            /* raft 0.15 fails on an open segment of 1..7 bytes: cut it to 0, which it removes. */
            snprintf(f->note, sizeof(f->note), "%zu bytes: an interrupted first write", len);
            if (rep->problem.kind == DIRCHECK_NONE) {
                snprintf(rep->tail_file, sizeof(rep->tail_file), "%s", f->name);
                rep->tail_offset = 0;
            }
            set_problem(rep, DIRCHECK_SHORT, f->name, 0, next, 0, "%s", f->note);
            f->ok = 0;
        } else {
            f->ok = 0;
            snprintf(f->note, sizeof(f->note), "bad format version %llu",
                     len < 8 ? 0ULL : (unsigned long long)codec_get_u64(b));
            set_problem(rep, DIRCHECK_FORMAT, f->name, 0, next, 0, "%s", f->note);
        }
        free(b);
        return 0;
    }
    scan_batches(b, len, &s);
    free(b);
    f->batches = s.batches;
    f->data_end = s.data_end;
    if (s.entries) {
        f->first = next;
        f->last = next + s.entries - 1;
    }
    if (s.kind == DIRCHECK_NONE && (len > s.data_end ? len - s.data_end < 16 : s.batches == 0)) {
        /* raft 0.15 fails (and may double-free) on a short read where it expects the next
         * preamble: a bare format header, or fewer than 16 zero bytes after the last batch. */
        s.kind = DIRCHECK_SHORT;
        s.torn_shape = 1;
        snprintf(s.detail, sizeof(s.detail), "%zu bytes after the last batch, too few for raft",
                 len - s.data_end);
    }
    if (s.kind == DIRCHECK_NONE) {
        snprintf(f->note, sizeof(f->note), "%u batches, data ends at offset %zu", s.batches, s.data_end);
        return s.entries;
    }
    f->ok = 0;
    uint64_t at = next + s.entries;
    snprintf(f->note, sizeof(f->note), "batch %u at offset %zu: %s", s.batches + 1, s.data_end, s.detail);
    char what[200];
    snprintf(what, sizeof(what), "batch %u: %s", s.batches + 1, s.detail);
    if (rep->problem.kind == DIRCHECK_NONE && last_used && s.torn_shape) {
        /* A torn tail: the verdict depends on the record (decided by the caller). */
        snprintf(rep->tail_file, sizeof(rep->tail_file), "%s", f->name);
        rep->tail_offset = s.batches ? s.data_end : 0;
    }
    set_problem(rep, s.kind, f->name, s.data_end, at, s.bad_entries ? at + s.bad_entries - 1 : 0,
                "%s", what);
    return s.entries;
}

static int used_open(const char *dir, const struct dircheck_file *f)
{
    uint8_t *b = NULL;
    size_t len = 0;
    int used;
    if (f->size == 0)
        return 0;
    if (read_file(dir, f->name, &b, &len) != 0)
        return 1;
    used = !all_zero(b, 0, len);
    free(b);
    return used;
}

/* Walk the segments as raft 0.15's uvFilterSegments and uvSegmentLoadAll would. */
static void check_segments(const char *dir, struct dircheck_report *rep)
{
    struct dircheck_file **closed = xcalloc(rep->nfiles + 1, sizeof(*closed));
    struct dircheck_file **open = xcalloc(rep->nfiles + 1, sizeof(*open));
    size_t nc = 0, no = 0, chain = 0;
    uint64_t snap = rep->snapshot_index, next;

    for (size_t i = 0; i < rep->nfiles; i++) {
        if (rep->files[i].type == DIRCHECK_FILE_CLOSED)
            closed[nc++] = &rep->files[i];
        else if (rep->files[i].type == DIRCHECK_FILE_OPEN)
            open[no++] = &rep->files[i];
    }
    next = snap + 1;
    if (nc > 0 && snap > 0 && closed[nc - 1]->last < snap && no == 0) {
        chain = nc; /* every closed segment is behind the snapshot */
    } else if (nc > 0 && snap > 0) {
        chain = nc - 1;
        while (chain > 0 && closed[chain - 1]->last + 1 == closed[chain]->first)
            chain--;
        next = closed[chain]->first;
        if (next > snap + 1)
            set_problem(rep, DIRCHECK_GAP, closed[chain]->name, 0, snap + 1, next - 1,
                        "entries %llu..%llu are in no segment and not in the snapshot",
                        (unsigned long long)(snap + 1), (unsigned long long)(next - 1));
    } else if (nc > 0) {
        next = 1;
    }
    for (size_t i = 0; i < chain; i++)
        snprintf(closed[i]->note, sizeof(closed[i]->note), "before the snapshot: raft ignores it");
    for (size_t i = chain; i < nc; i++) {
        struct dircheck_file *f = closed[i];
        if (f->first != next) {
            f->ok = 0;
            snprintf(f->note, sizeof(f->note), "starts at %llu, the log needs %llu next",
                     (unsigned long long)f->first, (unsigned long long)next);
            if (f->first > next)
                set_problem(rep, DIRCHECK_GAP, f->name, 0, next, f->first - 1,
                            "entries %llu..%llu are in no segment", (unsigned long long)next,
                            (unsigned long long)(f->first - 1));
            else
                set_problem(rep, DIRCHECK_GAP, f->name, 0, f->first, f->last,
                            "overlaps the previous segment");
        }
        if (rep->first_index == 0)
            rep->first_index = f->first;
        check_closed(dir, rep, f);
        next = f->last + 1;
        if (!f->ok)
            break;
    }
    size_t last_used = no;
    for (size_t i = 0; i < no; i++)
        if (used_open(dir, open[i]))
            last_used = i;
    for (size_t i = 0; i < no; i++) {
        if (rep->problem.kind != DIRCHECK_NONE) {
            snprintf(open[i]->note, sizeof(open[i]->note), "not checked: after the problem");
            continue;
        }
        uint64_t n = check_open(dir, rep, open[i], next, i == last_used);
        if (n && rep->first_index == 0)
            rep->first_index = next;
        next += n;
    }
    if (rep->first_index)
        rep->last_index = next - 1;
    if (rep->last_index && snap && rep->last_index < snap)
        set_problem(rep, DIRCHECK_GAP, "(log)", 0, 0, 0,
                    "the last entry, %llu, is behind the snapshot's index %llu",
                    (unsigned long long)rep->last_index, (unsigned long long)snap);
    free(closed);
    free(open);
}

/* ---- verdict ---- */

static void decide(const char *dir, struct dircheck_report *rep)
{
    struct dircheck_problem *p = &rep->problem;
    int holds = rep->last_good || rep->meta_version;

    if (rep->meta_version == 0 && rep->last_good > 0)
        set_problem(rep, DIRCHECK_METADATA, "metadata1", 0, 0, 0,
                    "neither metadata1 nor metadata2 is readable, yet the dir holds entries up "
                    "to %llu: the node's term and vote are lost", (unsigned long long)rep->last_good);
    if (p->kind == DIRCHECK_NONE && rep->has_record && rep->record > rep->last_good)
        set_problem(rep, DIRCHECK_GAP, holds ? "(log)" : "(every raft file)", 0, rep->last_good + 1,
                    rep->record, "the dir holds entries up to %llu, but this node may have "
                    "acknowledged up to %llu", (unsigned long long)rep->last_good,
                    (unsigned long long)rep->record);
    if (p->kind == DIRCHECK_NONE) {
        rep->verdict = DIRCHECK_CLEAN;
        char entries[64] = "no entries", record[64] = "no record";
        if (rep->first_index)
            snprintf(entries, sizeof(entries), "entries %llu..%llu", (unsigned long long)rep->first_index,
                     (unsigned long long)rep->last_index);
        if (rep->has_record)
            snprintf(record, sizeof(record), "record %llu", (unsigned long long)rep->record);
        snprintf(rep->reason, sizeof(rep->reason), "%s, snapshot %llu, %s", entries,
                 (unsigned long long)rep->snapshot_index, record);
        return;
    }
    if (rep->tail_file[0] && strcmp(rep->tail_file, p->file) == 0 &&
        (!rep->has_record || rep->record < p->first)) {
        rep->verdict = DIRCHECK_TORN_TAIL;
        snprintf(rep->reason, sizeof(rep->reason),
                 "torn tail in %.80s/%.40s at offset %llu: %.150s; entries from %llu on are above "
                 "what this node may have acknowledged (record: %s%llu): cutting them",
                 dir, p->file, (unsigned long long)p->offset, p->detail, (unsigned long long)p->first,
                 rep->has_record ? "" : "none, ", (unsigned long long)rep->record);
        return;
    }
    rep->verdict = DIRCHECK_DAMAGED;
    char range[96] = "";
    uint64_t last = p->last;
    if (rep->has_record && p->first && rep->record > last)
        last = rep->record;
    if (p->first && last >= p->first)
        snprintf(range, sizeof(range), "; entries %llu..%llu affected", (unsigned long long)p->first,
                 (unsigned long long)last);
    else if (p->first)
        snprintf(range, sizeof(range), "; entries from %llu on affected", (unsigned long long)p->first);
    char where[80] = "";
    if (p->file[0] != '(' && p->kind != DIRCHECK_METADATA && p->kind != DIRCHECK_RECORD)
        snprintf(where, sizeof(where), " at offset %llu", (unsigned long long)p->offset);
    snprintf(rep->reason, sizeof(rep->reason),
             "data dir %.80s is damaged: %.40s%s: %.150s%s (acknowledged: %s%llu); refusing to "
             "start; recovery: remove the node from the cluster, wipe the dir, add it back under "
             "a new id (docs/SAFETY.md)",
             dir, p->file, where, p->detail, range, rep->has_record ? "up to " : "no record, ",
             (unsigned long long)rep->record);
}

int dircheck_scan(const char *dir, struct dircheck_report *rep, char *err, size_t errlen)
{
    memset(rep, 0, sizeof(*rep));
    if (list_dir(dir, rep, err, errlen) != 0)
        return -1;
    check_metadata(dir, rep);
    check_record(dir, rep);
    check_snapshots(dir, rep);
    check_segments(dir, rep);
    rep->last_good = rep->last_index > rep->snapshot_index ? rep->last_index : rep->snapshot_index;
    decide(dir, rep);
    return 0;
}

void dircheck_report_close(struct dircheck_report *rep)
{
    free(rep->files);
    rep->files = NULL;
    rep->nfiles = 0;
}

static const char *const type_names[] = {"metadata", "closed segment", "open segment",
                                         "snapshot", "record", "other"};
static const char *const verdict_names[] = {"clean", "torn tail", "damaged"};

void dircheck_print(const struct dircheck_report *rep, FILE *fp)
{
    fprintf(fp, "files:\n");
    for (size_t i = 0; i < rep->nfiles; i++) {
        const struct dircheck_file *f = &rep->files[i];
        char range[64] = "-";
        if (f->first && f->last >= f->first)
            snprintf(range, sizeof(range), "%llu..%llu", (unsigned long long)f->first,
                     (unsigned long long)f->last);
        else if (f->type == DIRCHECK_FILE_SNAPSHOT)
            snprintf(range, sizeof(range), "up to %llu", (unsigned long long)f->b);
        fprintf(fp, "  %-36s %-14s %10llu bytes  %-22s %s%s\n", f->name, type_names[f->type],
                (unsigned long long)f->size, range, f->ok ? "" : "DAMAGED: ", f->note);
    }
    fprintf(fp, "metadata: version %llu, term %llu, vote %llu\n", (unsigned long long)rep->meta_version,
            (unsigned long long)rep->term, (unsigned long long)rep->voted_for);
    fprintf(fp, "snapshot: %llu (term %llu)\n", (unsigned long long)rep->snapshot_index,
            (unsigned long long)rep->snapshot_term);
    fprintf(fp, "log: %llu..%llu\n", (unsigned long long)rep->first_index,
            (unsigned long long)rep->last_index);
    if (rep->has_record)
        fprintf(fp, "acknowledged: up to %llu (%s)\n", (unsigned long long)rep->record, DIRCHECK_RECORD_FILE);
    else
        fprintf(fp, "acknowledged: no record\n");
    if (rep->problem.kind != DIRCHECK_NONE)
        fprintf(fp, "problem: %s at offset %llu: %s: %s\n", rep->problem.file,
                (unsigned long long)rep->problem.offset, dircheck_kind_name(rep->problem.kind),
                rep->problem.detail);
    fprintf(fp, "verdict: %s: %s\n", verdict_names[rep->verdict], rep->reason);
}

/* ---- repair and startup ---- */

int dircheck_truncate_tail(const char *dir, const struct dircheck_report *rep, char *err,
                           size_t errlen)
{
    char path[4096];
    int fd;
    if (rep->verdict != DIRCHECK_TORN_TAIL) {
        snprintf(err, errlen, "no torn tail to cut");
        return -1;
    }
    path_join(path, sizeof(path), dir, rep->tail_file);
    /* Cut at the end of the last good batch: raft 0.15 then stops at the end of the file (a
     * zero-filled rest would fail on a preamble shorter than 16 bytes). An open segment with
     * no good batch becomes empty, which raft removes. */
    if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 || ftruncate(fd, (off_t)rep->tail_offset) != 0 ||
        fsync(fd) != 0) {
        snprintf(err, errlen, "cannot cut %s at %llu: %s", path, (unsigned long long)rep->tail_offset,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int dircheck_startup(const char *dir, char *err, size_t errlen)
{
    struct dircheck_report rep;
    if (dircheck_scan(dir, &rep, err, errlen) != 0)
        return -1;
    if (rep.verdict == DIRCHECK_TORN_TAIL) {
        log_warning("%s", rep.reason);
        if (dircheck_truncate_tail(dir, &rep, err, errlen) != 0) {
            dircheck_report_close(&rep);
            return -1;
        }
        dircheck_report_close(&rep);
        if (dircheck_scan(dir, &rep, err, errlen) != 0)
            return -1;
    }
    if (rep.verdict != DIRCHECK_CLEAN) {
        snprintf(err, errlen, "%s", rep.reason);
        dircheck_report_close(&rep);
        return -1;
    }
    log_notice("data dir %s checked: %s", dir, rep.reason);
    dircheck_report_close(&rep);
    return 0;
}
