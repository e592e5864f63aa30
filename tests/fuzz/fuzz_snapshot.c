/* Fuzz target: snapshot restore (fsm_restore in src/fsm.c). Checks: a rejected snapshot
 * leaves the state unchanged; an accepted one serializes to a snapshot that restores to the
 * same DEBUG DIGEST, apply_seq and nodes, and serializes to the same bytes again. */
#include <stdlib.h>
#include <string.h>

#include "fsm.h"
#include "fuzz.h"
#include "kv.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kv_store *kv = kv_new(), *kv2 = kv_new();
    struct fsm f, f2;
    char h1[41], h2[41], h0[41];
    void *copy;

    if (size > (1 << 20)) {
        kv_free(kv);
        kv_free(kv2);
        return 0;
    }
    fsm_init(&f, kv);
    fsm_init(&f2, kv2);
    kv_set(kv, "before", 6, "restore", 7, KV_NO_EXPIRE, 1); /* a refused snapshot must leave it be */
    f.apply_seq = 1;
    kv_digest_hex(kv, h0);
    copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    if (fsm_restore(&f, copy, size) != 0) {
        kv_digest_hex(kv, h1);
        FUZZ_CHECK(strcmp(h0, h1) == 0);
        FUZZ_CHECK(kv_size(kv) == 1 && f.apply_seq == 1 && f.nnodes == 0);
    } else {
        struct buf s1, s2;
        buf_init(&s1);
        buf_init(&s2);
        fsm_serialize(&f, &s1);
        FUZZ_CHECK(fsm_restore(&f2, s1.data, s1.len) == 0);
        kv_digest_hex(kv, h1);
        kv_digest_hex(kv2, h2);
        FUZZ_CHECK(strcmp(h1, h2) == 0);
        FUZZ_CHECK(f.apply_seq == f2.apply_seq);
        FUZZ_CHECK(f.nnodes == f2.nnodes);
        FUZZ_CHECK(kv_size(kv) == kv_size(kv2));
        fsm_serialize(&f2, &s2);
        FUZZ_CHECK(s1.len == s2.len);
        buf_close(&s1);
        buf_close(&s2);
    }
    free(copy);
    fsm_close(&f);
    fsm_close(&f2);
    kv_free(kv);
    kv_free(kv2);
    return 0;
}
