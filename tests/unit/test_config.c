/* Unit tests for config.c's config file reader: lines longer than 4 KiB (a bug found while
 * writing the config fuzz target: it needs no crash to do harm), unknown options, and the
 * sample concordkv.conf (every option of the table documented, the file parses). */
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

/* ---- the sample concordkv.conf (installed to $(sysconfdir)/concordkv/) ---- */

/* The sample file's text (NUL-terminated, malloc'd); its path into PATH. */
static char *sample_read(char *path, size_t len)
{
    const char *srcdir = getenv("CONCORDKV_SRCDIR");
    snprintf(path, len, "%s/concordkv.conf", srcdir ? srcdir : ".");
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp, "cannot open %s (is CONCORDKV_SRCDIR set?)", path);
    char *text = malloc(1 << 20);
    size_t n = fread(text, 1, (1 << 20) - 1, fp);
    cr_assert(feof(fp), "%s is over 1 MiB", path);
    fclose(fp);
    text[n] = '\0';
    return text;
}

/* Whether TEXT has a line "NAME value" or "# NAME value" (the commented-out default). */
static int sample_has_directive(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        const char *p = line;
        if (p[0] == '#' && p[1] == ' ')
            p += 2;
        if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return 1;
    }
    return 0;
}

/* Every option of the table appears as a directive (commented out or not) in the sample
 * file, so a new option cannot ship undocumented. */
Test(config, sample_file_lists_every_option)
{
    char path[4096];
    char *text = sample_read(path, sizeof(path));
    size_t i;
    for (i = 0; config_option_name(i); i++)
        cr_expect(sample_has_directive(text, config_option_name(i)),
                  "option '%s' is missing from %s: add it, commented out at its default, with "
                  "a comment block saying what it does", config_option_name(i), path);
    cr_assert_gt(i, 40);
    free(text);
}

/* The sample file loads and resolves as the server reads it at startup, and it sets only
 * the data dir the systemd unit prepares. */
Test(config, sample_file_parses)
{
    char path[4096], err[512] = "";
    char *argv[] = {"concordkv-server", path, NULL};
    struct config cfg;
    free(sample_read(path, sizeof(path)));
    config_init(&cfg);
    cr_assert_eq(config_load(&cfg, 2, argv, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(cfg.dir, "/var/lib/concordkv");
    cr_assert_eq(cfg.port, 6379);
    config_close(&cfg);
}

/* Every commented-out "# name value" line of the sample, uncommented, is a valid setting:
 * the defaults and examples it shows are values the server accepts. */
Test(config, sample_file_commented_values_are_valid)
{
    char path[4096], err[512];
    char *text = sample_read(path, sizeof(path));
    int checked = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "# ", 2) != 0)
            continue;
        char *name = line + 2, *value = strchr(name, ' ');
        if (value == NULL)
            continue;
        *value++ = '\0';
        int known = 0;
        for (size_t i = 0; config_option_name(i); i++)
            known |= strcmp(config_option_name(i), name) == 0;
        if (!known)
            continue;
        size_t vn = strlen(value);
        if (vn >= 2 && value[0] == '"' && value[vn - 1] == '"') {
            value[vn - 1] = '\0';
            value++;
        }
        struct config cfg;
        config_init(&cfg);
        err[0] = '\0';
        cr_expect_eq(config_set(&cfg, name, value, 0, err, sizeof(err)), 0,
                     "%s: '# %s %s': %s", path, name, value, err);
        config_close(&cfg);
        checked++;
    }
    cr_assert_gt(checked, 40);
    free(text);
}

/* CONFIG REWRITE's text (config_rewrite_text) of OLD for CFG, as a string the caller frees. */
static char *rewrite(const struct config *cfg, const char *old)
{
    struct buf out;
    buf_init(&out);
    config_rewrite_text(cfg, old, strlen(old), &out);
    buf_append(&out, "", 1);
    return out.data;
}

/* Comments, blank lines and unchanged options stay byte for byte; a changed option's line is
 * replaced where it was; options the file does not name are appended after the marker unless
 * they hold their default. */
Test(config, rewrite_keeps_comments_and_updates_in_place)
{
    const char *old = "# top comment\n\nport 7000\n  # indented comment\nloglevel \"notice\"\nbind 127.0.0.1\n";
    struct config cfg;
    char err[256];
    config_init(&cfg);
    cr_assert_eq(config_set(&cfg, "port", "7000", 0, err, sizeof(err)), 0);
    cr_assert_eq(config_set(&cfg, "loglevel", "warning", 0, err, sizeof(err)), 0);
    cr_assert_eq(config_set(&cfg, "maxclients", "123", 0, err, sizeof(err)), 0);
    char *text = rewrite(&cfg, old);
    cr_assert_str_eq(text, "# top comment\n\nport 7000\n  # indented comment\nloglevel warning\nbind 127.0.0.1\n"
                           "# Generated by CONFIG REWRITE\nmaxclients 123\n");
    free(text);
    config_close(&cfg);
}

/* An option set on several lines (the effect of all of them counts): unchanged, every line
 * stays; changed, the first line takes the whole value and the others go. */
Test(config, rewrite_multi_line_option)
{
    const char *old = "client-output-buffer-limit normal 0 0 0\nclient-output-buffer-limit pubsub 64mb 16mb 60\n";
    struct config cfg;
    char err[256];
    config_init(&cfg);
    cr_assert_eq(config_set(&cfg, "client-output-buffer-limit", "pubsub 64mb 16mb 60", 0, err, sizeof(err)), 0);
    char *text = rewrite(&cfg, old);
    cr_assert_str_eq(text, old);
    free(text);
    cr_assert_eq(config_set(&cfg, "client-output-buffer-limit", "pubsub 1mb 1mb 1", 0, err, sizeof(err)), 0);
    text = rewrite(&cfg, old);
    cr_assert(strncmp(text, "client-output-buffer-limit normal 0 0 0 slave", 45) == 0, "%s", text);
    cr_assert(strstr(text, "pubsub 1048576 1048576 1\n") != NULL, "%s", text);
    cr_assert(strstr(text + 1, "\nclient-output-buffer-limit") == NULL, "the second line stayed: %s", text);
    free(text);
    config_close(&cfg);
}

/* A file that already has the marker gets no second one; values are quoted when empty;
 * derived options (raft-port = port + 10000) and unknown lines are left alone; a file
 * without a final newline gets one. */
Test(config, rewrite_marker_once_quotes_and_derived)
{
    const char *old = "port 7100\n# Generated by CONFIG REWRITE\nrequirepass secret";
    struct config cfg;
    char err[256];
    config_init(&cfg);
    cr_assert_eq(config_set(&cfg, "port", "7100", 0, err, sizeof(err)), 0);
    cr_assert_eq(config_set(&cfg, "requirepass", "secret", 0, err, sizeof(err)), 0);
    cr_assert_eq(config_set(&cfg, "notify-keyspace-events", "KA", 0, err, sizeof(err)), 0);
    cfg.raft_port = 17100;
    cfg.admin_port = 9100;
    char *text = rewrite(&cfg, old);
    cr_assert_str_eq(text, "port 7100\n# Generated by CONFIG REWRITE\nrequirepass secret\nnotify-keyspace-events AK\n");
    free(text);
    cr_assert_eq(config_set(&cfg, "notify-keyspace-events", "", 0, err, sizeof(err)), 0);
    text = rewrite(&cfg, "notify-keyspace-events KA\n");
    cr_assert(strncmp(text, "notify-keyspace-events \"\"\n", 26) == 0, "%s", text);
    free(text);
    config_close(&cfg);
}

/* config_rewrite replaces the file the server was started with; config_load records it. */
Test(config, rewrite_replaces_the_file)
{
    char path[64], err[512] = "";
    write_file(path, "# keep me\nport 7200\n");
    char *argv[] = {"concordkv-server", path, "--maxclients", "77", NULL};
    struct config cfg;
    config_init(&cfg);
    cr_assert_eq(config_load(&cfg, 4, argv, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(cfg.config_file);
    cr_assert_eq(config_set(&cfg, "port", "7201", 0, err, sizeof(err)), 0);
    cr_assert_eq(config_rewrite(&cfg, err, sizeof(err)), 0, "%s", err);
    struct config again;
    config_init(&again);
    cr_assert_eq(config_load_file(&again, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(again.port, 7201);
    cr_assert_eq(again.maxclients, 77);
    config_close(&again);
    config_close(&cfg);
    FILE *fp = fopen(path, "r");
    char line[128];
    cr_assert(fgets(line, sizeof(line), fp) != NULL);
    cr_assert_str_eq(line, "# keep me\n");
    fclose(fp);
    unlink(path);
}
