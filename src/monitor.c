/* MONITOR's rules and line format, and the argument redaction SLOWLOG shares (monitor.h).
 * Texts and exclusions follow Redis 7.0: admin commands and subcommands are never shown. */
#include "monitor.h"

#include <ctype.h>
#include <string.h>

#include "command.h"
#include "config.h"
#include "resp.h"
#include "util.h"

/* Subcommands Redis 7.0 flags admin in commands that are not admin as a whole. */
static const char *const acl_admin_subs[] = {
    "deluser", "dryrun", "getuser", "list", "load", "log", "save", "setuser", "users", NULL,
};
static const char *const client_admin_subs[] = {
    "kill", "list", "no-evict", "pause", "unpause", NULL,
};

static int arg_in(const struct request *req, int i, const char *const *words)
{
    for (int k = 0; words[k] != NULL; k++)
        if (request_arg_is(req, i, words[k]))
            return 1;
    return 0;
}

int monitor_shows(const struct command *cmd, const struct request *req)
{
    if (cmd->flags & (CMD_ADMIN | CMD_INTERNAL))
        return 0;
    if (req->argc < 2)
        return 1;
    if (cmd->proc == cmd_acl)
        return !arg_in(req, 1, acl_admin_subs);
    if (cmd->proc == cmd_client)
        return !arg_in(req, 1, client_admin_subs);
    if (cmd->proc == cmd_cluster)
        return cmd_cluster_is_read(req);
    return 1;
}

uint64_t monitor_redact_mask(const struct command *cmd, const struct request *req)
{
    uint64_t m = 0;
    if (cmd->proc == cmd_auth) {
        for (int i = 1; i < req->argc && i < 64; i++)
            m |= 1ULL << i;
    } else if (cmd->proc == cmd_hello) {
        /* HELLO [protover [AUTH username password] [SETNAME clientname]] */
        for (int i = 2; i < req->argc && i < 62;) {
            if (request_arg_is(req, i, "auth")) {
                for (int k = i + 1; k <= i + 2 && k < req->argc; k++)
                    m |= 1ULL << k;
                i += 3;
            } else {
                i += request_arg_is(req, i, "setname") ? 2 : 1;
            }
        }
    } else if (cmd->proc == cmd_config && request_arg_is(req, 1, "set")) {
        for (int i = 2; i + 1 < req->argc && i + 1 < 64; i += 2)
            if (config_is_secret(req->argv[i]))
                m |= 1ULL << (i + 1);
    }
    return m;
}

void monitor_repr(struct buf *out, const char *p, size_t len)
{
    char tmp[4];
    buf_append(out, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        switch (ch) {
        case '\\': buf_append(out, "\\\\", 2); break;
        case '"': buf_append(out, "\\\"", 2); break;
        case '\n': buf_append(out, "\\n", 2); break;
        case '\r': buf_append(out, "\\r", 2); break;
        case '\t': buf_append(out, "\\t", 2); break;
        case '\a': buf_append(out, "\\a", 2); break;
        case '\b': buf_append(out, "\\b", 2); break;
        default:
            if (ch >= 0x20 && ch < 0x7f) {
                buf_append(out, (const char *)&p[i], 1);
            } else {
                static const char hex[] = "0123456789abcdef";
                tmp[0] = '\\';
                tmp[1] = 'x';
                tmp[2] = hex[ch >> 4];
                tmp[3] = hex[ch & 15];
                buf_append(out, tmp, 4);
            }
        }
    }
    buf_append(out, "\"", 1);
}

static void stamp(struct buf *out, int64_t now_us)
{
    buf_printf(out, "+%lld.%06lld ", (long long)(now_us / 1000000), (long long)(now_us % 1000000));
}

void monitor_format(struct buf *out, int64_t now_us, int db, const char *who,
                    const struct request *req, uint64_t redact)
{
    stamp(out, now_us);
    monitor_format_unstamped(out, db, who, req, redact);
}

void monitor_stamp(struct buf *out, int64_t now_us, const char *lines, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(lines, '\n', len);
        size_t n = nl ? (size_t)(nl - lines) + 1 : len;
        stamp(out, now_us);
        buf_append(out, lines, n);
        lines += n;
        len -= n;
    }
}

void monitor_format_unstamped(struct buf *out, int db, const char *who,
                              const struct request *req, uint64_t redact)
{
    buf_printf(out, "[%d %s]", db, who);
    for (int i = 0; i < req->argc; i++) {
        buf_append(out, " ", 1);
        if (i < 64 && (redact >> i) & 1)
            monitor_repr(out, "(redacted)", 10);
        else
            monitor_repr(out, req->argv[i], req->len[i]);
    }
    buf_append(out, "\r\n", 2);
}
