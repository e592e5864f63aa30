/* The continuous writer of writer.h. */
#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

/* Back off after a refusal or a dropped connection, as careful clients do. */
static void writer_pause(const struct writer *w)
{
    usleep((useconds_t)w->backoff_ms * 1000);
}

/* Count an error reply by kind; follow MOVED; on an error no transition explains, go to
 * another node (the test fails on it at the end). */
static void writer_error(struct writer *w, const redisReply *r, redisContext **c)
{
    int slot, port;
    char host[64];

    if (tc_is_error(r, "MOVED ")) {
        atomic_fetch_add(&w->moved, 1);
        if (sscanf(r->str, "MOVED %d %63[^:]:%d", &slot, host, &port) == 3) {
            w->port = port;
            redisFree(*c);
            *c = NULL;
        }
        return;
    }
    if (tc_is_error(r, "TRYAGAIN "))
        atomic_fetch_add(&w->tryagain, 1);
    else if (tc_is_error(r, "CLUSTERDOWN "))
        atomic_fetch_add(&w->clusterdown, 1);
    else if (tc_is_error(r, "UNCERTAIN "))
        atomic_fetch_add(&w->uncertain, 1);
    else if (tc_is_error(r, "TIMEOUT "))
        atomic_fetch_add(&w->timeouts, 1);
    else {
        if (atomic_fetch_add(&w->other, 1) == 0)
            snprintf(w->other_text, sizeof(w->other_text), "%s (from port %d)", r->str,
                     w->port);
        /* Counted as a failure; try another node so the test goes on and says so. */
        w->port = w->ports[w->fallback++ % w->nports];
        redisFree(*c);
        *c = NULL;
    }
    writer_pause(w);
}

/* SET k<i> i for i = 0, 1, ... following MOVED; an unanswered or refused SET is sent again
 * (it is idempotent), so every key the loop passes was acknowledged. */
static void *writer_main(void *arg)
{
    struct writer *w = arg;
    redisContext *c = NULL;
    long i = 0;

    while (!atomic_load(&w->stop) && i < WRITER_KEYS) {
        redisReply *r;

        if (c == NULL && (c = fx_try_connect(w->port)) == NULL) {
            atomic_fetch_add(&w->dropped, 1);
            w->port = w->ports[w->fallback++ % w->nports];
            writer_pause(w);
            continue;
        }
        atomic_store(&w->next, i + 1);
        r = redisCommand(c, "SET k%ld %ld", i, i);
        if (r == NULL) {
            atomic_fetch_add(&w->dropped, 1);
            redisFree(c);
            c = NULL;
            w->port = w->ports[w->fallback++ % w->nports];
            writer_pause(w);
            continue;
        }
        if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0) {
            w->acked[i++] = 1;
            atomic_fetch_add(&w->acks, 1);
        } else if (r->type == REDIS_REPLY_ERROR) {
            writer_error(w, r, &c);
        } else if (atomic_fetch_add(&w->other, 1) == 0) {
            snprintf(w->other_text, sizeof(w->other_text), "a reply of type %s",
                     fx_reply_type_name(r->type));
        }
        freeReplyObject(r);
    }
    if (c != NULL)
        redisFree(c);
    return NULL;
}

void writer_start(struct writer *w, int port, const int *fallback_ids, int backoff_ms)
{
    memset(w, 0, sizeof(*w));
    w->backoff_ms = backoff_ms;
    w->acked = calloc(WRITER_KEYS, 1);
    cr_assert(w->acked != NULL);
    w->port = port;
    for (int i = 0; fallback_ids[i] != 0; i++)
        w->ports[w->nports++] = tc_node(fallback_ids[i])->port;
    cr_assert(pthread_create(&w->thread, NULL, writer_main, w) == 0);
}

struct progress {
    struct writer *w;
    long target;
};

static bool writer_reached(void *arg)
{
    struct progress *p = arg;

    return atomic_load(&p->w->acks) >= p->target;
}

/* What the writer met so far, for messages. */
const char *writer_counts(struct writer *w)
{
    static char buf[400];

    snprintf(buf, sizeof(buf),
             "%ld acknowledged, %ld MOVED, %ld TRYAGAIN, %ld CLUSTERDOWN, %ld UNCERTAIN, "
             "%ld TIMEOUT, %ld dropped connections, %ld unexpected (first: %s); sending to %d",
             atomic_load(&w->acks), atomic_load(&w->moved), atomic_load(&w->tryagain),
             atomic_load(&w->clusterdown), atomic_load(&w->uncertain), atomic_load(&w->timeouts),
             atomic_load(&w->dropped), atomic_load(&w->other),
             w->other_text[0] ? w->other_text : "none", w->port);
    return buf;
}

/* Wait until the writer has N more acknowledged writes than now: writes go on. */
void writer_progress(struct writer *w, long n, const char *when)
{
    struct progress p = {w, atomic_load(&w->acks) + n};

    cr_assert(fx_wait_until(writer_reached, &p, TC_CONVERGE_MS),
              "the writer made no progress %s: %s", when, writer_counts(w));
}

void writer_stop(struct writer *w)
{
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
}

/* Every key the writer saw acknowledged has its value, read with MGET on the leader. */
void writer_assert_acked_present(struct writer *w)
{
    enum { BATCH = 500 };
    long n = atomic_load(&w->next), checked = 0;
    char keys[BATCH][24];
    const char *argv[BATCH + 1];
    long idx[BATCH];
    int leader = tc_wait_leader();
    redisContext *c = fx_connect(tc_node(leader)->port);

    argv[0] = "MGET";
    for (long i = 0; i < n;) {
        int k = 0;
        redisReply *r;

        for (; i < n && k < BATCH; i++) {
            if (!w->acked[i])
                continue;
            snprintf(keys[k], sizeof(keys[k]), "k%ld", i);
            argv[k + 1] = keys[k];
            idx[k++] = i;
        }
        if (k == 0)
            break;
        r = fx_cmd_argv(c, k + 1, argv, NULL);
        cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)k, "MGET: %s",
                  tc_reply_text(r));
        for (int j = 0; j < k; j++) {
            char want[24];
            snprintf(want, sizeof(want), "%ld", idx[j]);
            cr_assert(r->element[j]->type == REDIS_REPLY_STRING &&
                          strcmp(r->element[j]->str, want) == 0,
                      "acknowledged key k%ld is %s on the leader", idx[j],
                      r->element[j]->type == REDIS_REPLY_STRING ? r->element[j]->str : "missing");
        }
        checked += k;
        freeReplyObject(r);
    }
    redisFree(c);
    cr_assert_eq(checked, atomic_load(&w->acks));
}

void writer_free(struct writer *w)
{
    free(w->acked);
    free(w);
}
