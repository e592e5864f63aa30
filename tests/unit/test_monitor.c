/* Unit tests of MONITOR's rules and format (monitor.c): sdscatrepr's quoting, the line's
 * shape, which commands are shown (no admin commands or subcommands), and what is redacted
 * (AUTH, HELLO's AUTH pair, secret CONFIG SET values). */
#include <criterion/criterion.h>
#include <string.h>

#include "command.h"
#include "monitor.h"
#include "resp.h"
#include "util.h"

static struct request *req_of(int argc, const char *const *argv)
{
    struct request *r = request_new(argc);
    for (int i = 0; i < argc; i++)
        request_push(r, argv[i], strlen(argv[i]));
    return r;
}

static const char *text(struct buf *b)
{
    buf_reserve(b, 1)[0] = '\0';
    return b->data;
}

/* Quotes, backslashes, control and high bytes are escaped as Redis's sdscatrepr does. */
Test(monitor, repr_escapes)
{
    struct buf b;
    buf_init(&b);
    monitor_repr(&b, "a \"b\"\\\n\r\t\a\b\x01\xff", 13);
    cr_assert_str_eq(text(&b), "\"a \\\"b\\\"\\\\\\n\\r\\t\\a\\b\\x01\\xff\"");
    buf_close(&b);
}

/* The line: +sec.usec [0 addr] "arg" ..., CRLF. */
Test(monitor, line_format)
{
    const char *argv[] = {"set", "k", "v"};
    struct request *r = req_of(3, argv);
    struct buf b;
    buf_init(&b);
    monitor_format(&b, 1701234567123456LL, 0, "127.0.0.1:54321", r, 0);
    cr_assert_str_eq(text(&b), "+1701234567.123456 [0 127.0.0.1:54321] \"set\" \"k\" \"v\"\r\n");
    b.len = 0;
    monitor_format(&b, 1701234567000001LL, 3, "x", r, 1u << 2);
    cr_assert_str_eq(text(&b), "+1701234567.000001 [3 x] \"set\" \"k\" \"(redacted)\"\r\n");
    request_free(r);
    buf_close(&b);
}

/* A script's calls are traced unstamped and stamped line by line when shown. */
Test(monitor, trace_stamped_when_shown)
{
    const char *a1[] = {"set", "x", "1"}, *a2[] = {"get", "x"};
    struct request *r1 = req_of(3, a1), *r2 = req_of(2, a2);
    struct buf t, b;
    buf_init(&t);
    buf_init(&b);
    monitor_format_unstamped(&t, 0, "lua", r1, 0);
    monitor_format_unstamped(&t, 0, "lua", r2, 0);
    cr_assert_str_eq(text(&t), "[0 lua] \"set\" \"x\" \"1\"\r\n[0 lua] \"get\" \"x\"\r\n");
    monitor_stamp(&b, 2000000000000042LL, t.data, t.len);
    cr_assert_str_eq(text(&b), "+2000000000.000042 [0 lua] \"set\" \"x\" \"1\"\r\n"
                               "+2000000000.000042 [0 lua] \"get\" \"x\"\r\n");
    request_free(r1);
    request_free(r2);
    buf_close(&t);
    buf_close(&b);
}

/* Admin commands and admin subcommands are not shown; the rest are. */
Test(monitor, admin_commands_hidden)
{
    static const char *const cases[][3] = {
        {"config", "get", "x"}, {"slowlog", "get", NULL}, {"monitor", NULL, NULL},
        {"client", "list", NULL}, {"acl", "setuser", "u"}, {"cluster", "addnode", "4"},
    };
    static const char *const shown[][3] = {
        {"get", "k", NULL}, {"client", "setname", "n"}, {"acl", "whoami", NULL},
        {"cluster", "info", NULL}, {"ping", NULL, NULL},
    };
    command_init();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int n = cases[i][1] == NULL ? 1 : cases[i][2] == NULL ? 2 : 3;
        struct request *r = req_of(n, cases[i]);
        cr_assert_not(monitor_shows(command_lookup(cases[i][0], strlen(cases[i][0])), r), "%s", cases[i][0]);
        request_free(r);
    }
    for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
        int n = shown[i][1] == NULL ? 1 : shown[i][2] == NULL ? 2 : 3;
        struct request *r = req_of(n, shown[i]);
        cr_assert(monitor_shows(command_lookup(shown[i][0], strlen(shown[i][0])), r), "%s", shown[i][0]);
        request_free(r);
    }
}

static uint64_t mask_of(int argc, const char *const *argv)
{
    struct request *r = req_of(argc, argv);
    uint64_t m = monitor_redact_mask(command_lookup(argv[0], strlen(argv[0])), r);
    request_free(r);
    return m;
}

/* AUTH's arguments, HELLO's AUTH pair and secret CONFIG SET values are redacted. */
Test(monitor, redaction)
{
    command_init();
    cr_assert_eq(mask_of(2, (const char *[]){"auth", "pw"}), 1u << 1);
    cr_assert_eq(mask_of(3, (const char *[]){"AUTH", "u", "pw"}), (1u << 1) | (1u << 2));
    cr_assert_eq(mask_of(7, (const char *[]){"hello", "3", "setname", "auth", "auth", "u", "p"}),
                 (1u << 5) | (1u << 6));
    cr_assert_eq(mask_of(4, (const char *[]){"config", "set", "requirepass", "pw"}), 1u << 3);
    cr_assert_eq(mask_of(4, (const char *[]){"config", "set", "maxclients", "10"}), 0);
    cr_assert_eq(mask_of(3, (const char *[]){"set", "auth", "v"}), 0);
}
