/* LATENCY's store (see latency.h): a fixed table of events, each a ring of one sample per
 * second. The texts of DOCTOR and GRAPH are ours; the replies of LATEST and HISTORY have
 * Redis 7.0's shapes. */
#include "latency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"
#include "util.h"

void latency_init(struct latency_monitor *lm)
{
    memset(lm, 0, sizeof(*lm));
}

int latency_wants(long long threshold_ms, int64_t usec)
{
    return threshold_ms > 0 && usec / 1000 >= threshold_ms;
}

static struct latency_series *series_find(struct latency_monitor *lm, const char *event, size_t len)
{
    for (int i = 0; i < LATENCY_MAX_EVENTS; i++) {
        struct latency_series *s = &lm->ev[i];
        if (s->name[0] != '\0' && strlen(s->name) == len && memcmp(s->name, event, len) == 0)
            return s;
    }
    return NULL;
}

const struct latency_series *latency_find(const struct latency_monitor *lm, const char *event,
                                          size_t len)
{
    return series_find((struct latency_monitor *)lm, event, len);
}

void latency_add_sample(struct latency_monitor *lm, const char *event, uint32_t ms, int64_t time_s)
{
    size_t len = strlen(event);
    struct latency_series *s = series_find(lm, event, len);
    for (int i = 0; s == NULL && i < LATENCY_MAX_EVENTS; i++)
        if (lm->ev[i].name[0] == '\0' && len < LATENCY_EVENT_MAX) {
            s = &lm->ev[i];
            memcpy(s->name, event, len + 1);
        }
    if (s == NULL)
        return;
    if (ms > s->max)
        s->max = ms;
    int prev = (s->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
    if (s->samples[prev].time_s == time_s) {
        if (ms > s->samples[prev].latency)
            s->samples[prev].latency = ms;
        return;
    }
    s->samples[s->idx].time_s = time_s;
    s->samples[s->idx].latency = ms;
    s->idx = (s->idx + 1) % LATENCY_TS_LEN;
}

int latency_reset(struct latency_monitor *lm, const char *event, size_t len)
{
    int n = 0;
    for (int i = 0; i < LATENCY_MAX_EVENTS; i++) {
        struct latency_series *s = &lm->ev[i];
        if (s->name[0] == '\0')
            continue;
        if (event != NULL && (strlen(s->name) != len || memcmp(s->name, event, len) != 0))
            continue;
        memset(s, 0, sizeof(*s));
        n++;
    }
    return n;
}

static int events_used(const struct latency_monitor *lm)
{
    int n = 0;
    for (int i = 0; i < LATENCY_MAX_EVENTS; i++)
        n += lm->ev[i].name[0] != '\0';
    return n;
}

void latency_reply_latest(const struct latency_monitor *lm, struct buf *out)
{
    reply_array(out, events_used(lm));
    for (int i = 0; i < LATENCY_MAX_EVENTS; i++) {
        const struct latency_series *s = &lm->ev[i];
        if (s->name[0] == '\0')
            continue;
        const struct latency_sample *last = &s->samples[(s->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
        reply_array(out, 4);
        reply_bulk_cstr(out, s->name);
        reply_int(out, last->time_s);
        reply_int(out, last->latency);
        reply_int(out, s->max);
    }
}

/* Iterate SP over the used samples of S, oldest first. */
#define FOREACH_SAMPLE(s, sp)                                                                   \
    for (int k_ = 0; k_ < LATENCY_TS_LEN; k_++)                                                 \
        if (((sp) = &(s)->samples[((s)->idx + k_) % LATENCY_TS_LEN])->time_s != 0)

void latency_reply_history(const struct latency_monitor *lm, const char *event, size_t len,
                           struct buf *out)
{
    const struct latency_series *s = latency_find(lm, event, len);
    const struct latency_sample *sp;
    int n = 0;
    if (s == NULL) {
        reply_array(out, 0);
        return;
    }
    FOREACH_SAMPLE(s, sp)
        n++;
    reply_array(out, n);
    FOREACH_SAMPLE(s, sp) {
        reply_array(out, 2);
        reply_int(out, sp->time_s);
        reply_int(out, sp->latency);
    }
}

/* Figures of S's samples for DOCTOR. */
struct series_stats {
    int samples;
    double avg, mad, period;
    uint32_t min, max;
};

static struct series_stats series_stats(const struct latency_series *s)
{
    struct series_stats st = {0};
    const struct latency_sample *sp;
    int64_t first = 0, last = 0;
    double sum = 0;
    FOREACH_SAMPLE(s, sp) {
        if (st.samples == 0 || sp->latency < st.min)
            st.min = sp->latency;
        if (sp->latency > st.max)
            st.max = sp->latency;
        if (st.samples == 0)
            first = sp->time_s;
        last = sp->time_s;
        sum += sp->latency;
        st.samples++;
    }
    if (st.samples == 0)
        return st;
    st.avg = sum / st.samples;
    FOREACH_SAMPLE(s, sp) {
        double d = sp->latency - st.avg;
        st.mad += d < 0 ? -d : d;
    }
    st.mad /= st.samples;
    st.period = st.samples > 1 ? (double)(last - first) / (st.samples - 1) : 0;
    return st;
}

/* One line of advice for the events this server records. */
static const char *event_advice(const char *name)
{
    if (strcmp(name, "command") == 0 || strcmp(name, "fast-command") == 0)
        return "Commands took long to execute: SLOWLOG GET shows which ones. Commands on big "
               "values (KEYS, SORT, SMEMBERS, HGETALL, large DEL) take time in proportion to "
               "their size; prefer SCAN and smaller values.";
    if (strcmp(name, "fsync-raft-log") == 0)
        return "Writing the raft log to disk was slow (append submitted to completion, fsync "
               "included): check the disk of the data directory and what else writes to it.";
    if (strcmp(name, "snapshot") == 0)
        return "Starting a snapshot (the fork of the state) was slow: a big keyspace or a "
               "virtual machine with slow fork. Raise snapshot-threshold / snapshot-log-bytes "
               "to snapshot less often.";
    if (strcmp(name, "apply") == 0)
        return "Applying one log entry (a batch of writes) was slow: large writes, big "
               "transactions or scripts run in apply on every node.";
    return NULL;
}

void latency_doctor(const struct latency_monitor *lm, long long threshold_ms, long long slowlog_us,
                    struct buf *out)
{
    int n = events_used(lm);
    if (n == 0 && threshold_ms <= 0) {
        buf_printf(out, "Latency monitoring is disabled on this node. Enable it with CONFIG SET "
                        "latency-monitor-threshold <milliseconds> to record the events slower "
                        "than that.\n");
        return;
    }
    if (n == 0) {
        buf_printf(out, "No latency spike over latency-monitor-threshold (%lld ms) was observed "
                        "on this node since it started or since the last LATENCY RESET.\n",
                   threshold_ms);
        return;
    }
    buf_printf(out, "Latency spikes over latency-monitor-threshold were observed on this node.\n\n");
    int k = 0;
    for (int i = 0; i < LATENCY_MAX_EVENTS; i++) {
        const struct latency_series *s = &lm->ev[i];
        if (s->name[0] == '\0')
            continue;
        struct series_stats st = series_stats(s);
        buf_printf(out, "%d. %s: %d latency spikes (average %.0fms, mean deviation %.0fms, "
                        "period %.2f sec). Worst all time event %ums.\n",
                   ++k, s->name, st.samples, st.avg, st.mad, st.period, s->max);
    }
    buf_printf(out, "\nAdvice:\n\n");
    for (int i = 0; i < LATENCY_MAX_EVENTS; i++) {
        const char *a = lm->ev[i].name[0] ? event_advice(lm->ev[i].name) : NULL;
        if (a)
            buf_printf(out, "- %s: %s\n", lm->ev[i].name, a);
    }
    if (slowlog_us < 0 || slowlog_us / 1000 > threshold_ms)
        buf_printf(out, "- The slow log does not catch every command over the latency threshold: "
                        "CONFIG SET slowlog-log-slower-than %lld logs them.\n",
                   threshold_ms * 1000);
}

#define GRAPH_ROWS 4

/* The age of a sample, compact: "12s", "5m", "3h", "2d". */
static void age_text(int64_t age, char *out, size_t len)
{
    if (age < 60)
        snprintf(out, len, "%llds", (long long)age);
    else if (age < 3600)
        snprintf(out, len, "%lldm", (long long)(age / 60));
    else if (age < 86400)
        snprintf(out, len, "%lldh", (long long)(age / 3600));
    else
        snprintf(out, len, "%lldd", (long long)(age / 86400));
}

void latency_graph(const struct latency_series *s, int64_t now_s, struct buf *out)
{
    struct series_stats st = series_stats(s);
    const struct latency_sample *sp;
    char ages[LATENCY_TS_LEN][24];
    int level[LATENCY_TS_LEN], n = 0;
    buf_printf(out, "%s - high %u ms, low %u ms (all time high %u ms)\n", s->name, st.max, st.min,
               s->max);
    buf_printf(out, "%.80s\n", "--------------------------------------------------------------------------------"
                               "--------------------------------------------------------------------------------");
    FOREACH_SAMPLE(s, sp) {
        uint32_t span = st.max - st.min;
        level[n] = span == 0 ? GRAPH_ROWS : 1 + (int)((uint64_t)(sp->latency - st.min) * (GRAPH_ROWS - 1) / span);
        age_text(now_s - sp->time_s, ages[n], sizeof(ages[n]));
        n++;
    }
    for (int row = GRAPH_ROWS; row >= 1; row--) {
        for (int i = 0; i < n; i++)
            buf_printf(out, "%c", level[i] == row ? '#' : level[i] > row ? '|' : row == 1 ? '_' : ' ');
        buf_printf(out, "\n");
    }
    for (int line = 0; line < 4; line++) {
        int any = 0;
        for (int i = 0; i < n; i++)
            any |= line < (int)strlen(ages[i]);
        if (!any)
            break;
        for (int i = 0; i < n; i++)
            buf_printf(out, "%c", line < (int)strlen(ages[i]) ? ages[i][line] : ' ');
        buf_printf(out, "\n");
    }
}
