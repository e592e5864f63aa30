/* SLOWLOG's store (see slowlog.h): entries newest first, trimmed to slowlog-max-len when one is
 * added. No clock, no I/O: the server passes the time and the client's address and name. */
#include "slowlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"
#include "util.h"

#define SLOWLOG_REDACTED "(redacted)"

/* The text argument I of the slow log's copy holds, into TMP when it is made up (TMP holds
 * SLOWLOG_MAX_STRING + 40 bytes). */
static const char *logged_arg(int i, int argc, int kept, char *const *argv, const size_t *len,
                              uint64_t redact, char *tmp, size_t *out_len)
{
    if (kept != argc && i == kept - 1) {
        *out_len = (size_t)snprintf(tmp, SLOWLOG_MAX_STRING + 40, "... (%d more arguments)",
                                    argc - kept + 1);
        return tmp;
    }
    if (i < 64 && (redact >> i) & 1) {
        *out_len = strlen(SLOWLOG_REDACTED);
        return SLOWLOG_REDACTED;
    }
    if (len[i] > SLOWLOG_MAX_STRING) {
        memcpy(tmp, argv[i], SLOWLOG_MAX_STRING);
        *out_len = SLOWLOG_MAX_STRING +
                   (size_t)snprintf(tmp + SLOWLOG_MAX_STRING, 40, "... (%zu more bytes)",
                                    len[i] - SLOWLOG_MAX_STRING);
        return tmp;
    }
    *out_len = len[i];
    return argv[i];
}

struct slowlog_args *slowlog_args_new(int argc, char *const *argv, const size_t *len,
                                      uint64_t redact)
{
    char tmp[SLOWLOG_MAX_STRING + 40];
    int kept = argc > SLOWLOG_MAX_ARGC ? SLOWLOG_MAX_ARGC : argc;
    size_t bytes = 0, n;
    for (int i = 0; i < kept; i++) {
        logged_arg(i, argc, kept, argv, len, redact, tmp, &n);
        bytes += n + 1;
    }
    size_t head = sizeof(struct slowlog_args) + (size_t)kept * (sizeof(char *) + sizeof(size_t));
    struct slowlog_args *a = xmalloc(head + bytes);
    a->argc = kept;
    a->argv = (char **)(void *)(a + 1);
    a->len = (size_t *)(void *)(a->argv + kept);
    char *p = (char *)a + head;
    for (int i = 0; i < kept; i++) {
        const char *s = logged_arg(i, argc, kept, argv, len, redact, tmp, &n);
        memcpy(p, s, n);
        p[n] = '\0';
        a->argv[i] = p;
        a->len[i] = n;
        p += n + 1;
    }
    return a;
}

void slowlog_args_free(struct slowlog_args *a)
{
    free(a);
}

void slowlog_init(struct slowlog *sl)
{
    memset(sl, 0, sizeof(*sl));
}

static void entry_free(struct slowlog_entry *e)
{
    slowlog_args_free(e->args);
    free(e->addr);
    free(e->name);
    free(e);
}

void slowlog_reset(struct slowlog *sl)
{
    struct list_node *n;
    while ((n = list_pop_front(&sl->entries)) != NULL)
        entry_free(list_entry(n, struct slowlog_entry, node));
}

void slowlog_close(struct slowlog *sl)
{
    slowlog_reset(sl);
}

int slowlog_wants(long long slower_than, long long duration)
{
    return slower_than >= 0 && duration >= slower_than;
}

void slowlog_trim(struct slowlog *sl, long long max_len)
{
    while (sl->entries.n > 0 && (long long)sl->entries.n > max_len) {
        struct list_node *n = sl->entries.tail;
        list_remove(&sl->entries, n);
        entry_free(list_entry(n, struct slowlog_entry, node));
    }
}

void slowlog_push(struct slowlog *sl, struct slowlog_args *args, long long duration,
                  int64_t time_s, const char *addr, const char *name, long long max_len)
{
    struct slowlog_entry *e = xcalloc(1, sizeof(*e));
    e->id = sl->next_id++;
    e->time_s = time_s;
    e->duration = duration;
    e->args = args;
    e->addr = xstrdup(addr ? addr : "");
    e->name = xstrdup(name ? name : "");
    list_push_front(&sl->entries, &e->node);
    slowlog_trim(sl, max_len);
}

size_t slowlog_len(const struct slowlog *sl)
{
    return (size_t)sl->entries.n;
}

void slowlog_reply_get(const struct slowlog *sl, long long count, struct buf *out)
{
    long long n = count < 0 || count > sl->entries.n ? sl->entries.n : count;
    const struct list_node *p = sl->entries.head;
    reply_array(out, n);
    for (long long k = 0; k < n; k++, p = p->next) {
        const struct slowlog_entry *e = list_entry(p, const struct slowlog_entry, node);
        reply_array(out, 6);
        reply_int(out, e->id);
        reply_int(out, e->time_s);
        reply_int(out, e->duration);
        reply_array(out, e->args->argc);
        for (int i = 0; i < e->args->argc; i++)
            reply_bulk(out, e->args->argv[i], e->args->len[i]);
        reply_bulk(out, e->addr, strlen(e->addr));
        reply_bulk(out, e->name, strlen(e->name));
    }
}
