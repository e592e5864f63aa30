/* Fuzz target: raft log entry decoding (src/entry.c). Checks: an accepted entry's records
 * lie inside the input, each argument NUL-terminated at its length, argc >= 1, and
 * re-encoding the records with the builder decodes back to the same records. */
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "fuzz.h"

#define SMALL 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct entry_reader er;
    struct entry_builder eb;
    void *copy, *again;
    size_t again_len;
    int records = 0;

    if (size > (1 << 20))
        return 0;
    /* A copy with no slack after it, so ASan sees any read past the end. */
    copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    if (entry_reader_init(&er, copy, size) != 0) {
        free(copy);
        return 0;
    }
    FUZZ_CHECK(size % 8 == 0 && size >= ENTRY_HEADER_SIZE);
    entry_builder_init(&eb, er.h.kind);
    for (;;) {
        char *argv_small[SMALL];
        size_t len_small[SMALL];
        int n = entry_reader_next(&er, SMALL, argv_small, len_small);
        if (n <= 0)
            break;
        char **argv = argv_small;
        size_t *len = len_small;
        if (n > SMALL) {
            FUZZ_CHECK(entry_reader_peek_argc(&er) == n);
            argv = malloc(sizeof(*argv) * n);
            len = malloc(sizeof(*len) * n);
            FUZZ_CHECK(entry_reader_next(&er, n, argv, len) == n);
        }
        for (int i = 0; i < n; i++) {
            FUZZ_CHECK(argv[i] >= (char *)copy && argv[i] + len[i] < (char *)copy + size);
            FUZZ_CHECK(argv[i][len[i]] == '\0');
        }
        entry_builder_add(&eb, n, argv, len);
        records++;
        if (argv != argv_small) {
            free(argv);
            free(len);
        }
    }
    /* Round trip of the records read (up to the first corrupt one). */
    again = entry_builder_finish(&eb, er.h.clock_ms, &again_len);
    {
        struct entry_reader e2, e1;
        FUZZ_CHECK(entry_reader_init(&e2, again, again_len) == 0);
        FUZZ_CHECK(e2.h.count == (uint32_t)records);
        FUZZ_CHECK(e2.h.clock_ms == er.h.clock_ms);
        FUZZ_CHECK(entry_reader_init(&e1, copy, size) == 0);
        for (int r = 0; r < records; r++) {
            char *a1[64], *a2[64];
            size_t l1[64], l2[64];
            int n1 = entry_reader_next(&e1, 64, a1, l1);
            int n2 = entry_reader_next(&e2, 64, a2, l2);
            FUZZ_CHECK(n1 == n2 && n1 > 0);
            for (int i = 0; i < n1 && i < 64; i++)
                FUZZ_CHECK(l1[i] == l2[i] && memcmp(a1[i], a2[i], l1[i]) == 0);
            if (n1 > 64) /* not consumed: skip the rest of the comparison */
                break;
        }
    }
    free(again);
    free(copy);
    return 0;
}
