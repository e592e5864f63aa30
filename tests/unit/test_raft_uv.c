/* Unit tests of canonical/raft 0.15's raft_uv storage itself, in a temp dir with our
 * transport (never listening), on a libuv loop of the test's own: the behaviour that
 * consensus_uv.c's shutdown relies on, and the 0.15 bug it works around (docs/SAFETY.md,
 * "raft 0.15 notes": a truncation in flight at raft_close). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "transport.h"
#include "util.h"

struct store {
    char dir[64];
    uv_loop_t loop;
    struct transport transport;
    struct raft_io io;
    int appended, closed;
};

static void store_open(struct store *s)
{
    raft_term term;
    raft_id voted;
    struct raft_snapshot *snap;
    raft_index start;
    struct raft_entry *entries;
    size_t n;
    struct transport_options topts = {NULL, 1 << 20, NULL, NULL};

    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/ckv-raftuv-XXXXXX");
    cr_assert_not_null(mkdtemp(s->dir));
    cr_assert_eq(uv_loop_init(&s->loop), 0);
    cr_assert_eq(transport_init(&s->transport, &s->loop, &topts), 0);
    cr_assert_eq(raft_uv_init(&s->io, &s->loop, s->dir, &s->transport.outer), 0);
    s->io.data = s;
    cr_assert_eq(s->io.init(&s->io, 1, "127.0.0.1:9"), 0);
    cr_assert_eq(s->io.load(&s->io, &term, &voted, &snap, &start, &entries, &n), 0);
    cr_assert_eq(n, 0);
}

static void on_append(struct raft_io_append *req, int status)
{
    struct store *s = req->data;
    cr_assert_eq(status, 0);
    s->appended++;
}

/* Append entries FIRST.. of TERM (N of them) and wait until they are written. */
static void store_append(struct store *s, raft_term term, unsigned n)
{
    struct raft_entry e[8];
    struct raft_io_append req;
    cr_assert(n <= 8);
    for (unsigned i = 0; i < n; i++) {
        e[i].term = term;
        e[i].type = RAFT_COMMAND;
        e[i].buf.len = 8;
        e[i].buf.base = raft_calloc(1, 8);
        e[i].batch = NULL;
    }
    req.data = s;
    int before = s->appended;
    cr_assert_eq(s->io.append(&s->io, &req, e, n, on_append), 0);
    while (s->appended == before)
        uv_run(&s->loop, UV_RUN_ONCE);
    for (unsigned i = 0; i < n; i++)
        raft_free(e[i].buf.base);
}

static void on_closed(struct raft_io *io)
{
    struct store *s = io->data;
    s->closed = 1;
}

static void store_close(struct store *s)
{
    s->io.close(&s->io, on_closed);
    while (!s->closed)
        uv_run(&s->loop, UV_RUN_ONCE);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    raft_uv_close(&s->io);
    transport_close(&s->transport);
    cr_assert_eq(uv_loop_close(&s->loop), 0);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", s->dir);
    cr_assert_eq(system(cmd), 0);
}

/* Whether the dir holds the closed segment FIRST-LAST (raft's name for it). */
static int has_closed_segment(const struct store *s, unsigned first, unsigned last)
{
    char want[64];
    snprintf(want, sizeof(want), "%016u-%016u", first, last);
    DIR *d = opendir(s->dir);
    struct dirent *de;
    int found = 0;
    while (d && (de = readdir(d)) != NULL)
        found |= strcmp(de->d_name, want) == 0;
    if (d)
        closedir(d);
    return found;
}

/* What consensus_uv.c waits for before raft_close: once an append submitted after a
 * truncation has been written, the truncation is over (0.15 holds appends behind its
 * barrier until the truncation's work is done) and closing is safe. */
Test(raft_uv, close_after_the_append_that_follows_a_truncation_is_clean)
{
    for (int round = 0; round < 5; round++) {
        struct store s;
        store_open(&s);
        store_append(&s, 1, 4);
        cr_assert_eq(s.io.truncate(&s.io, 3), 0);
        store_append(&s, 2, 2); /* entries 3 and 4 of the new leader's term */
        store_close(&s);
    }
}

/* Blocks one thread of libuv's pool until released. */
struct blocker {
    uv_work_t work;
    uv_sem_t *go;
};

static void block_work(uv_work_t *w)
{
    struct blocker *b = w->data;
    uv_sem_wait(b->go);
}

static void block_done(uv_work_t *w, int status)
{
    free(w->data);
}

/* canonical/raft 0.15 bug (fixed upstream in "uv: Never invoke barrier callback twice",
 * after 0.15): io->close while the truncation's work is queued or running calls the
 * truncate barrier's callback a second time, which frees the truncate request the work
 * still uses; the work's completion frees it again. The heap is corrupted ("corrupted
 * double-linked list" much later) or, if the close completes first, raft asserts. This test
 * demonstrates it and so crashes (under ASan: "attempting double-free"): it runs only with
 * CONCORDKV_RAFT015_REPRO=1, to check whether an installed libraft still has the bug. */
Test(raft_uv, close_during_truncation_double_frees_in_raft_0_15)
{
    if (getenv("CONCORDKV_RAFT015_REPRO") == NULL)
        cr_skip_test("demonstrates a raft 0.15 crash; set CONCORDKV_RAFT015_REPRO=1 to run it");
    struct store s;
    uv_sem_t go;
    const char *env = getenv("UV_THREADPOOL_SIZE");
    int threads = env ? atoi(env) : 4;

    store_open(&s);
    store_append(&s, 1, 4);
    uv_sem_init(&go, 0);
    cr_assert_eq(s.io.truncate(&s.io, 3), 0);
    /* The barrier waits for the open segment to be finalized (renamed 1-4) ... */
    while (!has_closed_segment(&s, 1, 4))
        uv_run(&s.loop, UV_RUN_NOWAIT);
    /* ... then its callback queues the truncation's work: keep every pool thread busy so
     * that the work is still queued when the close comes. */
    for (int i = 0; i < threads; i++) {
        struct blocker *b = xcalloc(1, sizeof(*b));
        b->go = &go;
        b->work.data = b;
        cr_assert_eq(uv_queue_work(&s.loop, &b->work, block_work, block_done), 0);
    }
    for (int i = 0; i < 20; i++)
        uv_run(&s.loop, UV_RUN_NOWAIT);
    s.io.close(&s.io, on_closed); /* fires the truncate barrier callback again: free #1 */
    for (int i = 0; i < threads; i++)
        uv_sem_post(&go);
    usleep(300 * 1000); /* the truncation's work runs on the freed request */
    while (!s.closed)
        uv_run(&s.loop, UV_RUN_ONCE); /* its completion frees it again: free #2 */
    uv_run(&s.loop, UV_RUN_DEFAULT);
    raft_uv_close(&s.io);
    transport_close(&s.transport);
    uv_sem_destroy(&go);
}
