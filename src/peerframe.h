/* Validation of the raft messages an authenticated peer sends us, before libraft 0.15
 * decodes them: every byte of an accepted stream goes through peerframe_feed first. raft's
 * wire format (uv_encoding.c): a preamble (type u64, header length u64), a header whose
 * layout depends on the type, then a payload for AppendEntries (the entries' data) and
 * InstallSnapshot (the snapshot). 0.15's decoder trusts every count and length; this
 * checks them all against the frame and against max_message, and checks the configurations
 * that raft would decode (InstallSnapshot's, and RAFT_CHANGE entries'). Pure: no sockets.
 * Costs header parsing only: payload bytes are counted, not read, except RAFT_CHANGE
 * entries (small). */
#ifndef CONCORDKV_PEERFRAME_H
#define CONCORDKV_PEERFRAME_H

#include <stddef.h>
#include <stdint.h>

#define PEERFRAME_PREAMBLE 16
/* Largest header of a fixed-size message (RequestVote and friends are 24 to 40 bytes). */
#define PEERFRAME_MAX_FIXED_HEADER 256

struct peerframe {
    uint64_t max_message;   /* preamble + header + payload, at most */
    int state;              /* PF_PREAMBLE, PF_HEADER, PF_PAYLOAD */
    uint8_t preamble[PEERFRAME_PREAMBLE];
    size_t got;             /* bytes of the current part received */
    uint64_t type;
    uint64_t header_len;
    uint8_t *header;        /* the header so far, owned; kept for AppendEntries' payload */
    uint64_t header_cap;
    uint64_t payload_len;
    uint64_t n_entries;     /* AppendEntries: entries of this message */
    uint64_t entry;         /* index of the entry the payload is in */
    uint64_t entry_got;     /* its bytes received */
    uint8_t *conf;          /* a RAFT_CHANGE entry's data being collected, owned */
    uint64_t messages;      /* complete messages seen */
};

/* Start validating a stream; MAX_MESSAGE bounds every message. */
void peerframe_init(struct peerframe *pf, uint64_t max_message);
void peerframe_close(struct peerframe *pf);
/* Check the next LEN bytes of the stream. Returns 0 when they are valid so far, or -1 with
 * a reason in ERR (the stream must then be closed: later calls keep failing). */
int peerframe_feed(struct peerframe *pf, const uint8_t *data, size_t len, char *err,
                   size_t errlen);
/* 1 when BUF (LEN bytes) is a configuration libraft 0.15 decodes safely: format 1, each
 * server an id > 0, a NUL-terminated address and a role of 0 to 2, all within LEN. */
int peerframe_conf_ok(const uint8_t *buf, uint64_t len);

#endif
