/* Fuzz target: applying command entries (fsm_apply in src/fsm.c and the command handlers it
 * runs). The input is text: entries separated by blank lines, commands by newlines, arguments
 * by spaces; each entry's clock advances by the first argument's length times 100 ms.
 * DEBUG, and SETRANGE past 1 MiB, are left out (they sleep or allocate by design). Checks:
 * one reply per command; two state machines fed the same log end with the same DEBUG
 * DIGEST and apply_seq (apply is deterministic); the final state survives a snapshot round
 * trip with the same digest. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "entry.h"
#include "fsm.h"
#include "fuzz.h"
#include "kv.h"
#include "util.h"

#define MAX_ARGS 32

static int allowed(int argc, char **argv)
{
    if (strcasecmp(argv[0], "debug") == 0)
        return 0;
    if (strcasecmp(argv[0], "setrange") == 0 && argc >= 3 && strtoll(argv[2], NULL, 10) > (1 << 20))
        return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kv_store *kv1 = kv_new(), *kv2 = kv_new(), *kv3 = kv_new();
    struct fsm f1, f2, f3;
    char *text, *entry_save = NULL;
    int64_t clock = 1000;
    uint64_t seq = 0;
    char h1[41], h2[41];

    if (size > 16384) {
        kv_free(kv1);
        kv_free(kv2);
        kv_free(kv3);
        return 0;
    }
    text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    for (size_t i = 0; i + 1 < size; i++) /* "\n\n" separates entries: mark it */
        if (text[i] == '\n' && text[i + 1] == '\n')
            text[i] = '\x01';
    fsm_init(&f1, kv1);
    fsm_init(&f2, kv2);
    fsm_init(&f3, kv3);
    for (char *ent = strtok_r(text, "\x01", &entry_save); ent; ent = strtok_r(NULL, "\x01", &entry_save)) {
        struct entry_builder eb;
        char *line_save = NULL;
        uint32_t n = 0;
        entry_builder_init(&eb, ENTRY_COMMANDS);
        for (char *line = strtok_r(ent, "\n", &line_save); line; line = strtok_r(NULL, "\n", &line_save)) {
            char *argv[MAX_ARGS], *arg_save = NULL;
            size_t len[MAX_ARGS];
            int argc = 0;
            for (char *w = strtok_r(line, " ", &arg_save); w && argc < MAX_ARGS; w = strtok_r(NULL, " ", &arg_save)) {
                argv[argc] = w;
                len[argc++] = strlen(w);
            }
            if (argc == 0 || !allowed(argc, argv))
                continue;
            if (n == 0)
                clock += (int64_t)len[0] * 100;
            entry_builder_add(&eb, argc, argv, len);
            n++;
        }
        size_t elen;
        void *e = entry_builder_finish(&eb, clock, &elen);
        seq++;
        struct fsm_result *r1 = fsm_apply(&f1, e, elen, seq);
        struct fsm_result *r2 = fsm_apply(&f2, e, elen, seq);
        if (n > 0) {
            FUZZ_CHECK(r1 != NULL && r1->n == n);
            FUZZ_CHECK(r2 != NULL && r2->n == n);
            FUZZ_CHECK(r1->out.len == r2->out.len && memcmp(r1->out.data, r2->out.data, r1->out.len) == 0);
            for (uint32_t i = 0; i < n; i++)
                FUZZ_CHECK(r1->ends[i] <= r1->out.len && (i == 0 || r1->ends[i - 1] <= r1->ends[i]));
        }
        fsm_result_free(r1);
        fsm_result_free(r2);
        free(e);
    }
    kv_digest_hex(kv1, h1);
    kv_digest_hex(kv2, h2);
    FUZZ_CHECK(strcmp(h1, h2) == 0);
    FUZZ_CHECK(f1.apply_seq == f2.apply_seq);
    {
        struct buf snap;
        buf_init(&snap);
        fsm_serialize(&f1, &snap);
        FUZZ_CHECK(fsm_restore(&f3, snap.data, snap.len) == 0);
        kv_digest_hex(kv3, h2);
        FUZZ_CHECK(strcmp(h1, h2) == 0);
        FUZZ_CHECK(f3.apply_seq == f1.apply_seq);
        buf_close(&snap);
    }
    free(text);
    fsm_close(&f1);
    fsm_close(&f2);
    fsm_close(&f3);
    kv_free(kv1);
    kv_free(kv2);
    kv_free(kv3);
    return 0;
}
