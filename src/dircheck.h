/* Verification of canonical/raft 0.15's data dir before raft reads it, and the durable record of
 * the highest index this node may have acknowledged. Parses raft's on-disk format itself: no
 * raft calls, no libevent; only plain file I/O. Formats and the recovery procedure:
 * docs/SAFETY.md. */
#ifndef CONCORDKV_DIRCHECK_H
#define CONCORDKV_DIRCHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The record file, kept in the data dir beside raft's files (raft ignores names it does not
 * know). */
#define DIRCHECK_RECORD_FILE "concordkv-acked"
#define DIRCHECK_NAME_MAX 128

enum dircheck_file_type {
    DIRCHECK_FILE_METADATA,
    DIRCHECK_FILE_CLOSED,   /* START-END */
    DIRCHECK_FILE_OPEN,     /* open-N */
    DIRCHECK_FILE_SNAPSHOT, /* snapshot-TERM-INDEX-TIMESTAMP.meta and its data file */
    DIRCHECK_FILE_RECORD,   /* DIRCHECK_RECORD_FILE */
    DIRCHECK_FILE_OTHER,    /* ignored by raft: logs, temp files, corrupt-* */
};

/* Problem kinds, with their report names. */
#define DIRCHECK_KINDS(X)                                                                        \
    X(NONE, "none")                                                                              \
    X(IO, "I/O error")                                                                           \
    X(METADATA, "damaged metadata")                                                              \
    X(FORMAT, "bad format version")                                                              \
    X(SHORT, "incomplete batch")                                                                 \
    X(COUNT, "bad entry count")                                                                  \
    X(HEADER_CRC, "batch header checksum mismatch")                                              \
    X(HEADER, "malformed batch header")                                                          \
    X(DATA_CRC, "batch data checksum mismatch")                                                  \
    X(ENTRIES, "entry count differs from the file name")                                         \
    X(GAP, "missing entries")                                                                    \
    X(SNAPSHOT, "damaged snapshot")                                                              \
    X(RECORD, "damaged acknowledgement record")

enum dircheck_kind {
#define DIRCHECK_ENUM(name, text) DIRCHECK_##name,
    DIRCHECK_KINDS(DIRCHECK_ENUM)
#undef DIRCHECK_ENUM
};

enum dircheck_verdict {
    DIRCHECK_CLEAN,     /* raft may start */
    DIRCHECK_TORN_TAIL, /* the open segment ends in an incomplete batch above the record:
                           dircheck_truncate_tail makes it clean */
    DIRCHECK_DAMAGED,   /* entries this node may have acknowledged are damaged or missing, or
                           its term and vote are unknown: do not start */
};

/* One file of the dir, as found. */
struct dircheck_file {
    char name[DIRCHECK_NAME_MAX];
    int type;               /* enum dircheck_file_type */
    uint64_t size;
    uint64_t first, last;   /* entries it holds (segments: good batches only); 0, 0: none */
    uint64_t a, b, c;       /* metadata: version, term, vote; snapshot: term, index, timestamp */
    uint64_t data_end;      /* segments: offset just past the last good batch */
    unsigned batches;       /* segments: good batches */
    int ok;                 /* 0 when this file holds the problem or is damaged */
    char note[200];
};

struct dircheck_problem {
    int kind;               /* enum dircheck_kind; DIRCHECK_NONE when there is none */
    char file[DIRCHECK_NAME_MAX];
    uint64_t offset;
    uint64_t first, last;   /* indexes affected, when known (0, 0: not known) */
    char detail[300];
};

struct dircheck_report {
    struct dircheck_file *files; /* owned */
    size_t nfiles;
    uint64_t term, voted_for, meta_version; /* from the newer metadata copy */
    uint64_t snapshot_term, snapshot_index; /* the snapshot raft would load; 0 when none */
    uint64_t first_index, last_index;       /* the good log entries (0, 0: none) */
    uint64_t last_good;      /* highest index held: the log's last, else the snapshot's */
    int has_record;
    uint64_t record;         /* highest index this node may have acknowledged */
    struct dircheck_problem problem; /* the first problem */
    int verdict;             /* enum dircheck_verdict */
    /* When verdict is DIRCHECK_TORN_TAIL: where to cut. */
    char tail_file[DIRCHECK_NAME_MAX];
    uint64_t tail_offset;    /* new size of tail_file (0: remove every byte) */
    char reason[640];        /* one line: what is damaged, the indexes, what to do */
};

/* The report name of a problem kind (enum dircheck_kind). */
const char *dircheck_kind_name(int kind);

/* Scan DIR into REP (which the caller then frees with dircheck_report_close). Changes nothing.
 * Returns 0 when the scan ran (the verdict says what was found), -1 with ERR when DIR cannot
 * be read at all. A dir that does not exist or is empty is clean. */
int dircheck_scan(const char *dir, struct dircheck_report *rep, char *err, size_t errlen);
void dircheck_report_close(struct dircheck_report *rep);

/* Print REP for an operator: files, index ranges, problems, verdict. */
void dircheck_print(const struct dircheck_report *rep, FILE *fp);

/* Cut the torn tail REP found in DIR (verdict DIRCHECK_TORN_TAIL) so that raft 0.15 loads the
 * segment cleanly: truncate the file at the last good batch and fsync it. Returns 0, or -1
 * with ERR. */
int dircheck_truncate_tail(const char *dir, const struct dircheck_report *rep, char *err,
                           size_t errlen);

/* At startup, before raft opens DIR: scan; a clean dir passes; a torn tail above the record
 * is cut with a warning in the log naming file, offset and indexes; anything else fails
 * with one line in ERR (what, which indexes, docs/SAFETY.md). Returns 0 or -1. */
int dircheck_startup(const char *dir, char *err, size_t errlen);

/* ---- the acknowledgement record ---- */

/* The record of DIR. Returns 1 with *INDEX when present, 0 when absent, -1 with ERR when the
 * file is damaged or unreadable. */
int dircheck_record_read(const char *dir, uint64_t *index, char *err, size_t errlen);
/* Write INDEX as the record of DIR: pwrite of one 24-byte block at offset 0, fdatasync.
 * Returns 0, or -1 with ERR. */
int dircheck_record_write(const char *dir, uint64_t index, char *err, size_t errlen);

/* Keeps the record of one dir up to date from the running server. */
struct dircheck_recorder {
    char *dir;               /* owned */
    int fd;                  /* the record file, open once written; -1 before */
    uint64_t written;        /* last index made durable */
    int failing;             /* the last write failed (warned once) */
};

/* Start recording for DIR; reads the current record. Copies DIR. */
void dircheck_recorder_init(struct dircheck_recorder *r, const char *dir);
/* Make min(APPLIED, STORED) durable if it is above what was written: called from the cron
 * (every 100 ms) and at shutdown with raft's last_applied and last_stored. Entries applied
 * here are committed, so raft never truncates them; entries also stored here may have counted
 * towards their commit (this node's acknowledgement). Failures are logged, never fatal. */
void dircheck_recorder_note(struct dircheck_recorder *r, uint64_t applied, uint64_t stored);
void dircheck_recorder_close(struct dircheck_recorder *r);

/* CRC-32 as raft 0.15 computes it (polynomial 0x04C11DB7, MSB first, no reflection, no final
 * xor), continuing from INIT. */
uint32_t dircheck_crc32(const void *buf, size_t len, uint32_t init);

#endif
