/* LATENCY's store: per event (command, fsync-raft-log, snapshot, apply ...) the worst sample of
 * each of the last LATENCY_TS_LEN seconds that had one, the all-time worst, and the renderings
 * of LATEST, HISTORY, DOCTOR and GRAPH (Redis 7.0's shapes). Pure: no clock, loop or raft. */
#ifndef CONCORDKV_LATENCY_H
#define CONCORDKV_LATENCY_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define LATENCY_TS_LEN 160
#define LATENCY_MAX_EVENTS 16
#define LATENCY_EVENT_MAX 32 /* bytes of an event name, with its NUL */

struct latency_sample {
    int64_t time_s;   /* 0: unused */
    uint32_t latency; /* ms */
};

struct latency_series {
    char name[LATENCY_EVENT_MAX]; /* "": unused */
    int idx;                      /* the next sample's place */
    uint32_t max;                 /* all-time worst, ms */
    struct latency_sample samples[LATENCY_TS_LEN];
};

struct latency_monitor {
    struct latency_series ev[LATENCY_MAX_EVENTS];
};

void latency_init(struct latency_monitor *lm);
/* Whether a latency of USEC microseconds is recorded with latency-monitor-threshold
 * THRESHOLD_MS (0: the monitor is off). */
int latency_wants(long long threshold_ms, int64_t usec);
/* Record MS for EVENT at TIME_S; within one second the worst sample is kept. Events past
 * LATENCY_MAX_EVENTS are dropped. */
void latency_add_sample(struct latency_monitor *lm, const char *event, uint32_t ms, int64_t time_s);
/* Forget EVENT (NULL: every event). Returns how many events were reset. */
int latency_reset(struct latency_monitor *lm, const char *event, size_t len);
/* The series of EVENT, NULL when it has no samples. */
const struct latency_series *latency_find(const struct latency_monitor *lm, const char *event,
                                          size_t len);
/* LATENCY LATEST: an array of [event, time, latest ms, max ms]. */
void latency_reply_latest(const struct latency_monitor *lm, struct buf *out);
/* LATENCY HISTORY EVENT: an array of [time, ms], oldest first (empty for an unknown event). */
void latency_reply_history(const struct latency_monitor *lm, const char *event, size_t len,
                           struct buf *out);
/* LATENCY DOCTOR's text (appended to OUT as plain text, not RESP). THRESHOLD_MS: the configured
 * latency-monitor-threshold; SLOWLOG_US: slowlog-log-slower-than. */
void latency_doctor(const struct latency_monitor *lm, long long threshold_ms, long long slowlog_us,
                    struct buf *out);
/* LATENCY GRAPH's text for S (appended as plain text): one column per sample, the oldest
 * first, with the age of each under it. */
void latency_graph(const struct latency_series *s, int64_t now_s, struct buf *out);

#endif
