/* Raft log entries: encoding and decoding. An entry is a header (kind, proposer's clock,
 * count) and a body; a commands entry holds a batch of requests. Lengths are little-endian
 * u32; every argument is followed by a NUL so decoded arguments are C strings in place.
 * The whole entry is padded to a multiple of 8 bytes. Pure: no I/O. */
#ifndef CONCORDKV_ENTRY_H
#define CONCORDKV_ENTRY_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

#define ENTRY_MAGIC 0x434b /* "CK" */

enum entry_kind {
    ENTRY_COMMANDS = 1, /* a batch of requests */
    ENTRY_NODE = 2,     /* a node's metadata: id, RESP and admin addresses (cluster) */
};

struct entry_header {
    uint16_t magic;
    uint16_t kind;
    uint32_t count;    /* number of records in the body */
    int64_t clock_ms;  /* proposer's wall clock, used by apply for expiry decisions */
};

#define ENTRY_HEADER_SIZE 16

/* Builds one entry. Embedded: entry_builder_init / entry_builder_close. */
struct entry_builder {
    struct buf b;
    uint32_t count;
};
void entry_builder_init(struct entry_builder *eb, enum entry_kind kind);
/* The same, with room for CAP bytes up front. */
void entry_builder_init_sized(struct entry_builder *eb, enum entry_kind kind, size_t cap);
void entry_builder_close(struct entry_builder *eb);
/* Append one record of ARGC arguments (ARGV[i] of LEN[i] bytes), copied. ARGC must be at
 * least 1: a call with fewer adds nothing (such a record would read back as corrupt). */
void entry_builder_add(struct entry_builder *eb, int argc, char *const *argv, const size_t *len);
/* Set the clock, pad to a multiple of 8 and hand the bytes to the caller (free() them);
 * the builder is left empty and must be re-initialised before reuse. */
void *entry_builder_finish(struct entry_builder *eb, int64_t clock_ms, size_t *len);

/* Decodes an entry in place: records point into the caller's buffer, which must outlive
 * the reader. */
struct entry_reader {
    struct entry_header h;
    const char *p;
    const char *end;
    uint32_t left;
};
/* Check the header of BUF (LEN bytes). Returns 0, or -1 when it is not a valid entry (bad
 * magic or kind, LEN not a multiple of 8, or a count the body cannot hold). */
int entry_reader_init(struct entry_reader *er, const void *buf, size_t len);
/* Next record: up to MAX arguments decoded into ARGV/LEN (pointers into the buffer, each
 * NUL-terminated). Returns the number of arguments (which may exceed MAX: call again with
 * bigger arrays via entry_reader_peek_argc), 0 at the end, -1 if the body is corrupt.
 * A record with more than MAX arguments is not consumed: its first MAX are filled in and
 * the same record comes back on the next call. After -1, ARGV and LEN hold nothing usable. */
int entry_reader_peek_argc(const struct entry_reader *er);
int entry_reader_next(struct entry_reader *er, int max, char **argv, size_t *len);

#endif
