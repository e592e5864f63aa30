/* Unit tests for entry.c: round trips of command batches, header fields, padding, and
 * corrupt or truncated input that must be rejected without reading out of bounds. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "entry.h"

/* Build an entry of N records; record i is "cmd<i>" plus i % 4 arguments of varied sizes. */
static void *build_batch(int n, int64_t clock_ms, size_t *len)
{
    struct entry_builder eb;
    entry_builder_init(&eb, ENTRY_COMMANDS);
    for (int i = 0; i < n; i++) {
        char bufs[5][64];
        char *argv[5];
        size_t lens[5];
        int argc = 1 + i % 4;
        for (int a = 0; a < argc; a++) {
            lens[a] = (size_t)snprintf(bufs[a], sizeof(bufs[a]), a == 0 ? "cmd%d" : "arg%d-%d", i, a);
            argv[a] = bufs[a];
        }
        entry_builder_add(&eb, argc, argv, lens);
    }
    return entry_builder_finish(&eb, clock_ms, len);
}

/* Check that BUF decodes to exactly what build_batch(N) encoded. */
static void check_batch(const void *buf, size_t len, int n)
{
    struct entry_reader er;
    cr_assert_eq(entry_reader_init(&er, buf, len), 0);
    cr_assert_eq(er.h.count, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        char *argv[5];
        size_t lens[5];
        int argc = 1 + i % 4;
        cr_assert_eq(entry_reader_peek_argc(&er), argc);
        cr_assert_eq(entry_reader_next(&er, 5, argv, lens), argc);
        for (int a = 0; a < argc; a++) {
            char want[64];
            snprintf(want, sizeof(want), a == 0 ? "cmd%d" : "arg%d-%d", i, a);
            cr_assert_eq(lens[a], strlen(want));
            cr_assert_str_eq(argv[a], want);
        }
    }
    cr_assert_eq(entry_reader_peek_argc(&er), 0);
    cr_assert_eq(entry_reader_next(&er, 5, NULL, NULL), 0);
}

// An entry with no records round-trips to an empty batch of just a header.
Test(entry, empty_batch_round_trip)
{
    size_t len;
    void *buf = build_batch(0, 123, &len);
    cr_assert_eq(len, ENTRY_HEADER_SIZE);
    check_batch(buf, len, 0);
    free(buf);
}

// A single record round-trips.
Test(entry, single_record_round_trip)
{
    size_t len;
    void *buf = build_batch(1, 5, &len);
    check_batch(buf, len, 1);
    free(buf);
}

// A batch of 1000 records round-trips in order.
Test(entry, thousand_records_round_trip)
{
    size_t len;
    void *buf = build_batch(1000, 77, &len);
    check_batch(buf, len, 1000);
    free(buf);
}

// Kind, clock, count and magic are stored little-endian in the 16-byte header.
Test(entry, header_fields_preserved)
{
    struct entry_builder eb;
    entry_builder_init(&eb, ENTRY_NODE);
    char *argv[] = {"node", "3"};
    size_t lens[] = {4, 1};
    entry_builder_add(&eb, 2, argv, lens);
    entry_builder_add(&eb, 2, argv, lens);
    size_t len;
    unsigned char *buf = entry_builder_finish(&eb, -1234567890123LL, &len);
    cr_assert_eq(buf[0], 0x4b);
    cr_assert_eq(buf[1], 0x43);
    cr_assert_eq(buf[2], ENTRY_NODE);
    cr_assert_eq(buf[3], 0);
    cr_assert_eq(buf[4], 2);
    struct entry_reader er;
    cr_assert_eq(entry_reader_init(&er, buf, len), 0);
    cr_assert_eq(er.h.magic, ENTRY_MAGIC);
    cr_assert_eq(er.h.kind, ENTRY_NODE);
    cr_assert_eq(er.h.count, 2);
    cr_assert_eq(er.h.clock_ms, -1234567890123LL);
    free(buf);
    entry_builder_close(&eb);
}

// Empty and binary arguments (NUL, CR, LF, 0xff) come back byte for byte, NUL-terminated.
Test(entry, empty_and_binary_arguments)
{
    struct entry_builder eb;
    entry_builder_init(&eb, ENTRY_COMMANDS);
    char bin[256];
    for (int i = 0; i < 256; i++)
        bin[i] = (char)i;
    char *argv[] = {"set", "", bin};
    size_t lens[] = {3, 0, sizeof(bin)};
    entry_builder_add(&eb, 3, argv, lens);
    size_t len;
    void *buf = entry_builder_finish(&eb, 0, &len);
    struct entry_reader er;
    cr_assert_eq(entry_reader_init(&er, buf, len), 0);
    char *out[3];
    size_t olen[3];
    cr_assert_eq(entry_reader_next(&er, 3, out, olen), 3);
    cr_assert_eq(olen[1], 0);
    cr_assert_eq(out[1][0], '\0');
    cr_assert_eq(olen[2], sizeof(bin));
    cr_assert_eq(memcmp(out[2], bin, sizeof(bin)), 0);
    cr_assert_eq(out[2][sizeof(bin)], '\0');
    cr_assert_eq(entry_reader_next(&er, 3, out, olen), 0);
    free(buf);
}

// Every entry is padded with zeros to a multiple of 8 bytes, whatever its content.
Test(entry, padded_to_multiple_of_eight)
{
    for (size_t n = 0; n < 24; n++) {
        struct entry_builder eb;
        entry_builder_init(&eb, ENTRY_COMMANDS);
        char arg[32];
        memset(arg, 'x', sizeof(arg));
        char *argv[] = {arg};
        entry_builder_add(&eb, 1, argv, &n);
        size_t len;
        char *buf = entry_builder_finish(&eb, 0, &len);
        size_t used = ENTRY_HEADER_SIZE + 4 + 4 + n + 1;
        cr_assert_eq(len % 8, 0, "len %zu for n %zu", len, n);
        cr_assert(len >= used && len < used + 8);
        for (size_t i = used; i < len; i++)
            cr_assert_eq(buf[i], 0);
        free(buf);
    }
}

// A record with more arguments than MAX is not consumed; bigger arrays then read it.
Test(entry, more_arguments_than_max)
{
    size_t len;
    void *buf = build_batch(4, 0, &len); /* record 3 has 4 arguments */
    struct entry_reader er;
    cr_assert_eq(entry_reader_init(&er, buf, len), 0);
    char *argv[4];
    size_t lens[4];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(entry_reader_next(&er, 4, argv, lens), i + 1);
    cr_assert_eq(entry_reader_next(&er, 2, argv, lens), 4);
    cr_assert_str_eq(argv[1], "arg3-1");
    cr_assert_eq(entry_reader_peek_argc(&er), 4);
    cr_assert_eq(entry_reader_next(&er, 4, argv, lens), 4);
    cr_assert_str_eq(argv[3], "arg3-3");
    cr_assert_eq(entry_reader_next(&er, 4, argv, lens), 0);
    free(buf);
}

// A record without arguments is never written.
Test(entry, zero_argument_record_not_written)
{
    struct entry_builder eb;
    entry_builder_init(&eb, ENTRY_COMMANDS);
    entry_builder_add(&eb, 0, NULL, NULL);
    size_t len;
    void *buf = entry_builder_finish(&eb, 0, &len);
    struct entry_reader er;
    cr_assert_eq(entry_reader_init(&er, buf, len), 0);
    cr_assert_eq(er.h.count, 0);
    free(buf);
}

// A wrong magic, an unknown kind or a short header is rejected.
Test(entry, bad_header_rejected)
{
    size_t len;
    unsigned char *buf = build_batch(3, 0, &len);
    struct entry_reader er;
    buf[0] ^= 0xff;
    cr_assert_eq(entry_reader_init(&er, buf, len), -1);
    buf[0] ^= 0xff;
    buf[2] = 9;
    cr_assert_eq(entry_reader_init(&er, buf, len), -1);
    buf[2] = ENTRY_COMMANDS;
    cr_assert_eq(entry_reader_init(&er, buf, 8), -1);
    cr_assert_eq(entry_reader_init(&er, NULL, 0), -1);
    cr_assert_eq(entry_reader_init(&er, buf, len), 0);
    free(buf);
}

/* Decode BUF completely; returns the number of records read, or -1 on rejection. */
static int decode_all(const void *buf, size_t len)
{
    struct entry_reader er;
    if (entry_reader_init(&er, buf, len) != 0)
        return -1;
    int n = 0;
    for (;;) {
        char *argv[8];
        size_t lens[8];
        int argc = entry_reader_next(&er, 8, argv, lens);
        if (argc < 0)
            return -1;
        if (argc == 0)
            return n;
        cr_assert(argc <= 8);
        for (int a = 0; a < argc; a++)
            cr_assert_eq(argv[a][lens[a]], '\0');
        n++;
    }
}

// Every truncation of a valid entry, in a buffer of exactly that size, is rejected.
Test(entry, every_truncation_rejected)
{
    size_t len;
    char *buf = build_batch(50, 0, &len);
    for (size_t cut = 0; cut < len; cut++) {
        char *copy = malloc(cut ? cut : 1); /* exact size: ASan catches any overread */
        memcpy(copy, buf, cut);
        cr_assert_eq(decode_all(copy, cut), -1, "truncated at %zu of %zu", cut, len);
        free(copy);
    }
    cr_assert_eq(decode_all(buf, len), 50);
    free(buf);
}

// A count larger than the records present is rejected, not read past the end.
Test(entry, count_beyond_body_rejected)
{
    size_t len;
    unsigned char *buf = build_batch(10, 0, &len);
    buf[4] = 11;
    cr_assert_eq(decode_all(buf, len), -1);
    buf[4] = 0xff;
    buf[7] = 0xff;
    cr_assert_eq(decode_all(buf, len), -1);
    free(buf);
}

// Corrupt lengths, argument counts and missing NULs are rejected.
Test(entry, corrupt_fields_rejected)
{
    size_t len;
    unsigned char *buf = build_batch(1, 0, &len); /* argc 1, "cmd0" */
    unsigned char *rec = buf + ENTRY_HEADER_SIZE;
    rec[4] = 200; /* length past the end */
    cr_assert_eq(decode_all(buf, len), -1);
    rec[4] = 4;
    rec[8 + 4] = 'x'; /* the NUL after "cmd0" */
    cr_assert_eq(decode_all(buf, len), -1);
    rec[8 + 4] = 0;
    rec[3] = 0x80; /* argc over INT_MAX */
    cr_assert_eq(decode_all(buf, len), -1);
    rec[3] = 0;
    rec[0] = 0; /* argc 0 */
    cr_assert_eq(decode_all(buf, len), -1);
    rec[0] = 1;
    cr_assert_eq(decode_all(buf, len), 1);
    free(buf);
}

// Random garbage after a valid header never reads out of bounds.
Test(entry, random_garbage_is_safe)
{
    srand(7);
    for (int round = 0; round < 2000; round++) {
        size_t len = 16 + 8 * (size_t)(rand() % 16);
        unsigned char *buf = malloc(len);
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)(rand() % 4 == 0 ? rand() : rand() % 3);
        buf[0] = 0x4b;
        buf[1] = 0x43;
        buf[2] = ENTRY_COMMANDS;
        buf[3] = 0;
        int n = decode_all(buf, len);
        cr_assert(n >= -1);
        free(buf);
    }
}

// Flipping any single byte of a valid entry never reads out of bounds.
Test(entry, single_byte_corruption_is_safe)
{
    size_t len;
    unsigned char *buf = build_batch(20, 0, &len);
    int rejected = 0;
    for (size_t i = 0; i < len; i++) {
        for (int v = 0; v < 256; v += 51) {
            unsigned char *copy = malloc(len);
            memcpy(copy, buf, len);
            copy[i] = (unsigned char)v;
            rejected += decode_all(copy, len) < 0;
            free(copy);
        }
    }
    cr_assert_gt(rejected, 0);
    free(buf);
}
