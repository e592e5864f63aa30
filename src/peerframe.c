/* Raft frame validation (see peerframe.h). Offsets follow raft 0.15's uv_encoding.c:
 *   AppendEntries    term, prev_index, prev_term, commit, n | n x (term u64, type u8, 3
 *                    unused, len u32) [| 8 bytes the encoder adds]; payload: the entries' data
 *   InstallSnapshot  term, last_index, last_term, conf_index, conf_len | conf | data_len
 *                    [| 8]; payload: the snapshot
 *   RequestVote 32 or 40, RequestVoteResult 16 or >= 24, AppendEntriesResult and TimeoutNow
 *   >= 24 bytes. */
#include "peerframe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


enum { PF_PREAMBLE, PF_HEADER, PF_PAYLOAD, PF_FAILED };
enum { T_APPEND = 1, T_APPEND_RESULT, T_VOTE, T_VOTE_RESULT, T_SNAPSHOT, T_TIMEOUT_NOW };
enum { E_COMMAND = 1, E_BARRIER, E_CHANGE };

#define AE_FIXED 40 /* AppendEntries header before the entry descriptors */
#define IS_FIXED 48 /* InstallSnapshot header without the configuration */

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void peerframe_init(struct peerframe *pf, uint64_t max_message)
{
    memset(pf, 0, sizeof(*pf));
    pf->max_message = max_message;
    pf->state = PF_PREAMBLE;
}

static void reset_message(struct peerframe *pf)
{
    free(pf->header);
    free(pf->conf);
    pf->header = NULL;
    pf->header_cap = 0;
    pf->conf = NULL;
    pf->state = PF_PREAMBLE;
    pf->got = 0;
    pf->payload_len = pf->n_entries = pf->entry = pf->entry_got = 0;
}

void peerframe_close(struct peerframe *pf)
{
    reset_message(pf);
}

int peerframe_conf_ok(const uint8_t *buf, uint64_t len)
{
    uint64_t pos = 9, n;
    if (len < 9 || buf[0] != 1)
        return 0;
    n = get64(buf + 1);
    if (n > (len - 9) / 10) /* each server takes at least 10 bytes */
        return 0;
    for (uint64_t i = 0; i < n; i++) {
        if (len - pos < 10 || get64(buf + pos) == 0)
            return 0;
        pos += 8;
        const uint8_t *nul = memchr(buf + pos, '\0', (size_t)(len - pos));
        if (nul == NULL)
            return 0;
        pos = (uint64_t)(nul - buf) + 1;
        if (pos >= len || buf[pos] > 2)
            return 0;
        pos++;
    }
    return 1;
}

static int fail(struct peerframe *pf, char *err, size_t errlen, const char *fmt,
                unsigned long long a, unsigned long long b)
{
    snprintf(err, errlen, fmt, a, b);
    pf->state = PF_FAILED;
    return -1;
}

/* The preamble is complete: check the type and the header length. */
static int check_preamble(struct peerframe *pf, char *err, size_t errlen)
{
    pf->type = get64(pf->preamble);
    pf->header_len = get64(pf->preamble + 8);
    if (pf->type < T_APPEND || pf->type > T_TIMEOUT_NOW)
        return fail(pf, err, errlen, "unknown message type %llu%.0llu", pf->type, 0);
    if (pf->header_len == 0 || pf->header_len > pf->max_message - PEERFRAME_PREAMBLE)
        return fail(pf, err, errlen, "message header of %llu bytes (raft-max-message is %llu)",
                    pf->header_len, pf->max_message);
    static const uint64_t min_len[] = {0, AE_FIXED, 24, 32, 16, IS_FIXED, 24};
    if (pf->header_len < min_len[pf->type])
        return fail(pf, err, errlen, "message type %llu with a %llu-byte header", pf->type,
                    pf->header_len);
    if (pf->type != T_APPEND && pf->type != T_SNAPSHOT && pf->header_len > PEERFRAME_MAX_FIXED_HEADER)
        return fail(pf, err, errlen, "message type %llu with a %llu-byte header", pf->type,
                    pf->header_len);
    if ((pf->type == T_VOTE && pf->header_len > 32 && pf->header_len < 40) ||
        (pf->type == T_VOTE_RESULT && pf->header_len > 16 && pf->header_len < 24))
        return fail(pf, err, errlen, "message type %llu with a %llu-byte header", pf->type,
                    pf->header_len);
    pf->state = PF_HEADER; /* the header buffer grows as its bytes arrive */
    pf->got = 0;
    return 0;
}

static int check_append_entries(struct peerframe *pf, char *err, size_t errlen)
{
    uint64_t n = get64(pf->header + 32), total = 0;
    if (n > (pf->header_len - AE_FIXED) / 16)
        return fail(pf, err, errlen, "AppendEntries of %llu entries in a %llu-byte header", n,
                    pf->header_len);
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *d = pf->header + AE_FIXED + 16 * i;
        uint32_t len = get32(d + 12);
        if (d[8] < E_COMMAND || d[8] > E_CHANGE)
            return fail(pf, err, errlen, "AppendEntries entry %llu of type %llu", i, d[8]);
        /* 0.15 pads each entry to 8 bytes when it slices the payload, but the payload is the
         * sum of the unpadded lengths: only the last entry may be unaligned. */
        if (len % 8 != 0 && i + 1 < n)
            return fail(pf, err, errlen, "AppendEntries entry %llu of %llu bytes (not 8-aligned)", i, len);
        if (d[8] == E_CHANGE && len == 0)
            return fail(pf, err, errlen, "AppendEntries entry %llu: empty configuration%.0llu", i, 0);
        total += len;
    }
    if (total > pf->max_message - PEERFRAME_PREAMBLE - pf->header_len)
        return fail(pf, err, errlen, "AppendEntries of %llu payload bytes (raft-max-message is %llu)",
                    total, pf->max_message);
    pf->n_entries = n;
    pf->payload_len = total;
    return 0;
}

static int check_install_snapshot(struct peerframe *pf, char *err, size_t errlen)
{
    uint64_t conf_len = get64(pf->header + 32), data_len;
    if (conf_len == 0 || conf_len > pf->header_len - IS_FIXED)
        return fail(pf, err, errlen, "InstallSnapshot configuration of %llu bytes in a %llu-byte header",
                    conf_len, pf->header_len);
    if (!peerframe_conf_ok(pf->header + 40, conf_len))
        return fail(pf, err, errlen, "InstallSnapshot with a malformed configuration%.0llu%.0llu", 0, 0);
    data_len = get64(pf->header + 40 + conf_len);
    if (data_len == 0 || data_len > pf->max_message - PEERFRAME_PREAMBLE - pf->header_len)
        return fail(pf, err, errlen, "InstallSnapshot of %llu bytes (raft-max-message is %llu)",
                    data_len, pf->max_message);
    pf->payload_len = data_len;
    return 0;
}

/* Make room for NEED header bytes (NEED <= header_len). */
static int header_reserve(struct peerframe *pf, uint64_t need)
{
    if (need <= pf->header_cap)
        return 0;
    uint64_t cap = pf->header_cap ? pf->header_cap * 2 : 256;
    if (cap < need)
        cap = need;
    if (cap > pf->header_len)
        cap = pf->header_len;
    uint8_t *h = realloc(pf->header, (size_t)cap);
    if (h == NULL)
        return -1;
    pf->header = h;
    pf->header_cap = cap;
    return 0;
}

static void message_done(struct peerframe *pf)
{
    pf->messages++;
    reset_message(pf);
}

/* Entry descriptor I of the AppendEntries being received. */
static void entry_at(const struct peerframe *pf, uint64_t i, int *type, uint32_t *len)
{
    const uint8_t *d = pf->header + AE_FIXED + 16 * i;
    *type = d[8];
    *len = get32(d + 12);
}

/* Walk LEN payload bytes of an AppendEntries, collecting and checking RAFT_CHANGE entries. */
static int feed_entries(struct peerframe *pf, const uint8_t *data, size_t len, char *err,
                        size_t errlen)
{
    while (len > 0 && pf->entry < pf->n_entries) {
        int type;
        uint32_t elen;
        entry_at(pf, pf->entry, &type, &elen);
        uint64_t take = elen - pf->entry_got;
        if (take > len)
            take = len;
        if (type == E_CHANGE) {
            if (pf->conf == NULL && (pf->conf = malloc(elen)) == NULL)
                return fail(pf, err, errlen, "out of memory for a %llu-byte entry%.0llu", elen, 0);
            memcpy(pf->conf + pf->entry_got, data, (size_t)take);
        }
        pf->entry_got += take;
        data += take;
        len -= (size_t)take;
        if (pf->entry_got == elen) {
            if (type == E_CHANGE) {
                int ok = peerframe_conf_ok(pf->conf, elen);
                free(pf->conf);
                pf->conf = NULL;
                if (!ok)
                    return fail(pf, err, errlen, "AppendEntries entry %llu: malformed configuration%.0llu",
                                pf->entry, 0);
            }
            pf->entry++;
            pf->entry_got = 0;
        }
    }
    return 0;
}

/* Consume up to LEN bytes of the current part; returns how many, or -1. */
static long long feed_part(struct peerframe *pf, const uint8_t *data, size_t len, char *err,
                           size_t errlen)
{
    size_t take;
    switch (pf->state) {
    case PF_PREAMBLE:
        take = PEERFRAME_PREAMBLE - pf->got < len ? PEERFRAME_PREAMBLE - pf->got : len;
        memcpy(pf->preamble + pf->got, data, take);
        pf->got += take;
        if (pf->got == PEERFRAME_PREAMBLE && check_preamble(pf, err, errlen) != 0)
            return -1;
        return (long long)take;
    case PF_HEADER:
        take = pf->header_len - pf->got < len ? (size_t)(pf->header_len - pf->got) : len;
        if (header_reserve(pf, pf->got + take) != 0)
            return fail(pf, err, errlen, "out of memory for a %llu-byte header%.0llu", pf->header_len, 0);
        memcpy(pf->header + pf->got, data, take);
        pf->got += take;
        if (pf->got < pf->header_len)
            return (long long)take;
        if (pf->type == T_APPEND && check_append_entries(pf, err, errlen) != 0)
            return -1;
        if (pf->type == T_SNAPSHOT && check_install_snapshot(pf, err, errlen) != 0)
            return -1;
        pf->got = 0;
        if (pf->payload_len == 0)
            message_done(pf);
        else
            pf->state = PF_PAYLOAD;
        return (long long)take;
    case PF_PAYLOAD:
        take = pf->payload_len - pf->got < len ? (size_t)(pf->payload_len - pf->got) : len;
        if (pf->type == T_APPEND && feed_entries(pf, data, take, err, errlen) != 0)
            return -1;
        pf->got += take;
        if (pf->got == pf->payload_len)
            message_done(pf);
        return (long long)take;
    default:
        snprintf(err, errlen, "stream already refused");
        return -1;
    }
}

int peerframe_feed(struct peerframe *pf, const uint8_t *data, size_t len, char *err,
                   size_t errlen)
{
    while (len > 0) {
        long long n = feed_part(pf, data, len, err, errlen);
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return pf->state == PF_FAILED ? -1 : 0;
}
