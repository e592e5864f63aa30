/* Unit tests for codec.h: the little-endian byte layout of every width (independent of the
 * host's byte order and alignment) and the bounds-checked decoding cursor. */
#include <criterion/criterion.h>
#include <string.h>

#include "codec.h"

// Each width is written least significant byte first, and nothing past its width.
Test(codec, put_writes_little_endian_bytes)
{
    unsigned char b[10];
    memset(b, 0xee, sizeof(b));
    codec_put_u16(b, 0x0102);
    cr_assert(b[0] == 0x02 && b[1] == 0x01 && b[2] == 0xee);
    memset(b, 0xee, sizeof(b));
    codec_put_u32(b, 0x01020304u);
    cr_assert(b[0] == 0x04 && b[1] == 0x03 && b[2] == 0x02 && b[3] == 0x01 && b[4] == 0xee);
    memset(b, 0xee, sizeof(b));
    codec_put_u64(b, 0x0102030405060708ull);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(b[i], 8 - i);
    cr_assert_eq(b[8], 0xee);
    codec_put_u8(b, 0x7f);
    cr_assert_eq(b[0], 0x7f);
}

// Reading back what was written gives the same value, at an odd (unaligned) offset too.
Test(codec, get_round_trips_at_unaligned_offsets)
{
    unsigned char b[32];
    codec_put_u16(b + 1, 0xbeef);
    codec_put_u32(b + 3, 0xdeadbeefu);
    codec_put_u64(b + 7, 0xfedcba9876543210ull);
    codec_put_u8(b + 15, 0xa5);
    cr_assert_eq(codec_get_u16(b + 1), 0xbeef);
    cr_assert_eq(codec_get_u32(b + 3), 0xdeadbeefu);
    cr_assert_eq(codec_get_u64(b + 7), 0xfedcba9876543210ull);
    cr_assert_eq(codec_get_u8(b + 15), 0xa5);
    /* a negative value survives the round trip through its unsigned form */
    codec_put_u64(b, (uint64_t)(int64_t)-2);
    cr_assert_eq((int64_t)codec_get_u64(b), -2);
}

// Known bytes decode to the little-endian value, whatever the host's byte order.
Test(codec, get_reads_fixed_bytes)
{
    const unsigned char b[8] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80};
    cr_assert_eq(codec_get_u16(b), 1);
    cr_assert_eq(codec_get_u32(b), 1);
    cr_assert_eq(codec_get_u64(b), 0x8000000000000001ull);
}

// The cursor reads values in sequence and counts the bytes left.
Test(codec, reader_reads_in_sequence)
{
    unsigned char b[15];
    codec_put_u8(b, 9);
    codec_put_u16(b + 1, 513);
    codec_put_u32(b + 3, 70000);
    codec_put_u64(b + 7, 1ull << 40);
    struct codec_reader r;
    codec_reader_init(&r, b, sizeof(b));
    cr_assert_eq(codec_read_u8(&r), 9);
    cr_assert_eq(codec_read_u16(&r), 513);
    cr_assert_eq(codec_read_u32(&r), 70000);
    cr_assert_eq(codec_reader_left(&r), 8);
    cr_assert_eq(codec_read_u64(&r), 1ull << 40);
    cr_assert_eq(codec_reader_left(&r), 0);
    cr_assert_not(r.bad);
}

// A read that does not fit returns 0, consumes nothing, and marks the cursor bad for good.
Test(codec, reader_short_read_sets_bad_and_stays_bad)
{
    unsigned char b[6] = {1, 2, 3, 4, 5, 6};
    struct codec_reader r;
    codec_reader_init(&r, b, sizeof(b));
    cr_assert_eq(codec_read_u64(&r), 0);
    cr_assert(r.bad);
    cr_assert_eq(codec_reader_left(&r), 6);
    /* even a read that would fit fails once the cursor is bad */
    cr_assert_eq(codec_read_u8(&r), 0);
    cr_assert_null(codec_read_bytes(&r, 1));
}

// Raw byte runs point into the buffer; a length beyond the end (even a huge one) is refused.
Test(codec, reader_bytes_checks_length)
{
    const char b[] = "hello world";
    struct codec_reader r;
    codec_reader_init(&r, b, 11);
    const char *s = codec_read_bytes(&r, 5);
    cr_assert_eq(s, b);
    cr_assert_eq(codec_read_bytes(&r, 0), b + 5);
    cr_assert_null(codec_read_bytes(&r, UINT64_MAX));
    cr_assert(r.bad);
    struct codec_reader e;
    codec_reader_init(&e, b, 0);
    cr_assert_eq(codec_read_u8(&e), 0);
    cr_assert(e.bad);
}
