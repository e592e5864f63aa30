/* Unit tests for config.c's config file reader: lines longer than 4 KiB (a bug found while
 * writing the config fuzz target: it needs no crash to do harm), unknown options. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

/* Write TEXT to a new temp file; its path goes to PATH (PATH_MAX bytes). */
static void write_file(char *path, const char *text)
{
    strcpy(path, "/tmp/concordkv-test-config.XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* A comment longer than the old 4 KiB line buffer used to be cut there, and its tail read
 * as a directive of its own. */
Test(config, long_comment_tail_is_not_a_directive)
{
    size_t n = 4094 + 64;
    char *text = malloc(n + 32), path[64], err[512] = "";
    struct config cfg;
    memset(text, 0, n + 32);
    text[0] = '#';
    memset(text + 1, 'x', 4094); /* with the #, 4095 bytes: what fgets took of it */
    strcat(text, "port 7777\nbind 127.0.0.2\n");
    write_file(path, text);
    config_init(&cfg);
    cr_assert_eq(config_load_file(&cfg, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.port, 6379, "the comment's tail set port");
    config_close(&cfg);
    unlink(path);
    free(text);
}

/* A value longer than 4 KiB is read whole. */
Test(config, long_value_is_read_whole)
{
    size_t n = 6000;
    char *text = malloc(n + 32), path[64], err[512] = "";
    struct config cfg;
    strcpy(text, "requirepass ");
    memset(text + 12, 'p', n);
    strcpy(text + 12 + n, "\nport 7000\n");
    write_file(path, text);
    config_init(&cfg);
    cr_assert_eq(config_load_file(&cfg, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(cfg.requirepass);
    cr_assert_eq(strlen(cfg.requirepass), n);
    cr_assert_eq(cfg.port, 7000);
    config_close(&cfg);
    unlink(path);
    free(text);
}

/* An unknown option names its line. */
Test(config, unknown_option_names_the_line)
{
    char path[64], err[512] = "";
    struct config cfg;
    write_file(path, "# comment\nport 7000\nno-such-option 1\n");
    config_init(&cfg);
    cr_assert_eq(config_load_file(&cfg, path, err, sizeof(err)), -1);
    cr_assert(strstr(err, ":3: unknown option 'no-such-option'") != NULL, "%s", err);
    config_close(&cfg);
    unlink(path);
}
