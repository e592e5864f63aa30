/* Unit tests of the SLOWLOG store (slowlog.c): Redis 7.0's trimming of argument lists and long
 * strings, redaction, slowlog-log-slower-than's meaning, slowlog-max-len, ids and the GET
 * reply's shape. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "resp.h"
#include "slowlog.h"
#include "util.h"

static struct slowlog_args *args_of(int argc, char **argv)
{
    size_t len[64];
    for (int i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    return slowlog_args_new(argc, argv, len, 0);
}

static const char *text(struct buf *b)
{
    buf_reserve(b, 1)[0] = '\0';
    return b->data;
}

/* Up to 32 arguments are kept as they are. */
Test(slowlog, short_arguments_are_kept)
{
    char *argv[] = {"set", "k", "v"};
    struct slowlog_args *a = args_of(3, argv);
    cr_assert_eq(a->argc, 3);
    cr_assert_str_eq(a->argv[0], "set");
    cr_assert_eq(a->len[2], 1);
    cr_assert_str_eq(a->argv[2], "v");
    slowlog_args_free(a);
}

/* Past 32 arguments the 32nd says how many more there were, as Redis writes it. */
Test(slowlog, many_arguments_end_with_a_count)
{
    char *argv[40], names[40][8];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "a%d", i);
        argv[i] = names[i];
    }
    struct slowlog_args *a = args_of(40, argv);
    cr_assert_eq(a->argc, SLOWLOG_MAX_ARGC);
    cr_assert_str_eq(a->argv[30], "a30");
    cr_assert_str_eq(a->argv[31], "... (9 more arguments)");
    slowlog_args_free(a);
}

/* A string over 128 bytes keeps its first 128 and says how many bytes were cut. */
Test(slowlog, long_string_is_cut)
{
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[299] = '\0';
    char *argv[] = {"set", "k", big};
    struct slowlog_args *a = args_of(3, argv);
    cr_assert_eq(strncmp(a->argv[2], big, 128), 0);
    cr_assert_str_eq(a->argv[2] + 128, "... (171 more bytes)");
    cr_assert_eq(a->len[2], 128 + strlen("... (171 more bytes)"));
    slowlog_args_free(a);
}

/* Redacted arguments read "(redacted)". */
Test(slowlog, redacted_arguments)
{
    char *argv[] = {"auth", "user", "secret"};
    size_t len[] = {4, 4, 6};
    struct slowlog_args *a = slowlog_args_new(3, argv, len, (1u << 1) | (1u << 2));
    cr_assert_str_eq(a->argv[0], "auth");
    cr_assert_str_eq(a->argv[1], "(redacted)");
    cr_assert_str_eq(a->argv[2], "(redacted)");
    slowlog_args_free(a);
}

/* Negative slower-than logs nothing, 0 everything, N what took at least N µs. */
Test(slowlog, slower_than_threshold)
{
    cr_assert_not(slowlog_wants(-1, 1000000));
    cr_assert(slowlog_wants(0, 0));
    cr_assert(slowlog_wants(100, 100));
    cr_assert_not(slowlog_wants(100, 99));
}

/* Entries come newest first with increasing ids; max-len drops the oldest; reset empties. */
Test(slowlog, push_trim_and_reset)
{
    struct slowlog sl;
    char *argv[] = {"get", "k"};
    slowlog_init(&sl);
    for (int i = 0; i < 5; i++)
        slowlog_push(&sl, args_of(2, argv), 10 + i, 1000 + i, "127.0.0.1:5", NULL, 3);
    cr_assert_eq(slowlog_len(&sl), 3);
    const struct slowlog_entry *e = list_entry(sl.entries.head, struct slowlog_entry, node);
    cr_assert_eq(e->id, 4);
    cr_assert_eq(e->duration, 14);
    cr_assert_str_eq(e->name, "");
    e = list_entry(sl.entries.tail, struct slowlog_entry, node);
    cr_assert_eq(e->id, 2);
    slowlog_trim(&sl, 1);
    cr_assert_eq(slowlog_len(&sl), 1);
    slowlog_push(&sl, args_of(2, argv), 1, 1, "a", "n", 0); /* max-len 0 keeps nothing */
    cr_assert_eq(slowlog_len(&sl), 0);
    slowlog_push(&sl, args_of(2, argv), 1, 1, "a", "n", 10);
    slowlog_reset(&sl);
    cr_assert_eq(slowlog_len(&sl), 0);
    slowlog_push(&sl, args_of(2, argv), 1, 1, "a", "n", 10);
    cr_assert_eq(list_entry(sl.entries.head, struct slowlog_entry, node)->id, 7, "ids go on after a reset");
    slowlog_close(&sl);
}

/* GET's reply: [id, time, duration, [args], addr, name] per entry; COUNT limits, -1 is all. */
Test(slowlog, get_reply_shape)
{
    struct slowlog sl;
    struct buf out;
    char *argv[] = {"set", "k", "v"};
    slowlog_init(&sl);
    buf_init(&out);
    slowlog_push(&sl, args_of(3, argv), 15, 1700000000, "127.0.0.1:6000", "app", 128);
    slowlog_push(&sl, args_of(2, argv), 20, 1700000001, "127.0.0.1:6001", NULL, 128);
    slowlog_reply_get(&sl, 1, &out);
    cr_assert_str_eq(text(&out), "*1\r\n*6\r\n:1\r\n:1700000001\r\n:20\r\n*2\r\n$3\r\nset\r\n$1\r\nk\r\n"
                                 "$14\r\n127.0.0.1:6001\r\n$0\r\n\r\n");
    out.len = 0;
    slowlog_reply_get(&sl, -1, &out);
    cr_assert(strncmp(text(&out), "*2\r\n", 4) == 0);
    cr_assert(strstr(text(&out), "$3\r\napp\r\n") != NULL);
    out.len = 0;
    slowlog_reply_get(&sl, 0, &out);
    cr_assert_str_eq(text(&out), "*0\r\n");
    buf_close(&out);
    slowlog_close(&sl);
}
