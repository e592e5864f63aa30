/* A client writing continuously from its own thread, for membership tests: SET k<i> i for
 * i = 0, 1, ... following -MOVED, backing off after refusals and dropped connections, counting
 * every kind of answer; afterwards every acknowledged key is checked on the leader. Uses the
 * nodes of the shared cluster layer (tcluster.h). */
#ifndef CONCORDKV_WRITER_H
#define CONCORDKV_WRITER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "tcluster.h"

#define WRITER_KEYS 2000000

struct writer {
    pthread_t thread;
    atomic_bool stop;
    int ports[TC_MAX_IDS + 1]; /* RESP ports to fall back on after a dropped connection */
    int nports;
    int port;               /* where it sends now */
    int fallback;           /* next index in ports */
    int backoff_ms;         /* pause after a refusal or a dropped connection */
    char *acked;            /* acked[i]: SET k<i> i was answered +OK */
    atomic_long next;       /* keys attempted: 0..next-1 */
    atomic_long acks, moved, tryagain, clusterdown, uncertain, timeouts, dropped, other;
    char other_text[200];   /* the first unexpected reply */
};

/* Start W (zeroed here) writing to PORT, falling back on the nodes FALLBACK_IDS (0-terminated)
 * after a dropped connection or an unexpected error, pausing BACKOFF_MS after each refusal.
 * W->acked is the caller's to free after writer_stop. */
void writer_start(struct writer *w, int port, const int *fallback_ids, int backoff_ms);

/* What the writer met so far, for messages (a static buffer). */
const char *writer_counts(struct writer *w);

/* Wait (TC_CONVERGE_MS) until the writer has N more acknowledged writes than now. */
void writer_progress(struct writer *w, long n, const char *when);

/* Stop the thread and join it. */
void writer_stop(struct writer *w);

/* Every key the writer saw acknowledged has its value, read with MGET on the leader. */
void writer_assert_acked_present(struct writer *w);

/* Free W->acked and W, which the caller allocated with calloc. */
void writer_free(struct writer *w);

#endif
