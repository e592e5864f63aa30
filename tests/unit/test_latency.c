/* Unit tests of the LATENCY store (latency.c): one sample per second keeping the worst, the
 * 160-sample ring, the all-time max, RESET of one or every event, and the shapes of LATEST and
 * HISTORY; DOCTOR's and GRAPH's texts mention what they should. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "latency.h"
#include "resp.h"
#include "util.h"

static struct latency_monitor lm;
static struct buf out;

static void setup(void)
{
    latency_init(&lm);
    buf_init(&out);
}

static void teardown(void)
{
    buf_close(&out);
}

static const char *text(void)
{
    buf_reserve(&out, 1)[0] = '\0';
    return out.data;
}

TestSuite(latency, .init = setup, .fini = teardown);

/* The threshold is in ms; 0 turns the monitor off. */
Test(latency, threshold)
{
    cr_assert_not(latency_wants(0, 1000000));
    cr_assert(latency_wants(1, 1000));
    cr_assert_not(latency_wants(1, 999));
    cr_assert(latency_wants(5, 7000));
}

/* Samples within one second merge, keeping the worst; LATEST gives [event, time, latest, max]. */
Test(latency, same_second_keeps_the_worst)
{
    latency_add_sample(&lm, "command", 30, 100);
    latency_add_sample(&lm, "command", 50, 100);
    latency_add_sample(&lm, "command", 20, 100);
    latency_add_sample(&lm, "command", 7, 101);
    latency_reply_latest(&lm, &out);
    cr_assert_str_eq(text(), "*1\r\n*4\r\n$7\r\ncommand\r\n:101\r\n:7\r\n:50\r\n");
    out.len = 0;
    latency_reply_history(&lm, "command", 7, &out);
    cr_assert_str_eq(text(), "*2\r\n*2\r\n:100\r\n:50\r\n*2\r\n:101\r\n:7\r\n");
}

/* The history holds the last 160 seconds' samples, oldest first; the max stays all-time. */
Test(latency, history_keeps_160_samples)
{
    latency_add_sample(&lm, "apply", 999, 1);
    for (int t = 2; t < 2 + 200; t++)
        latency_add_sample(&lm, "apply", (uint32_t)t, t);
    latency_reply_history(&lm, "apply", 5, &out);
    const char *want = "*160\r\n*2\r\n:42\r\n:42\r\n";
    cr_assert(strncmp(text(), want, strlen(want)) == 0, "%s", text());
    cr_assert_eq(latency_find(&lm, "apply", 5)->max, 999);
}

/* An unknown event has an empty history; RESET of named events counts those it reset. */
Test(latency, reset_and_unknown)
{
    latency_reply_history(&lm, "nosuch", 6, &out);
    cr_assert_str_eq(text(), "*0\r\n");
    latency_add_sample(&lm, "command", 3, 10);
    latency_add_sample(&lm, "fsync-raft-log", 4, 10);
    latency_add_sample(&lm, "snapshot", 5, 10);
    cr_assert_eq(latency_reset(&lm, "command", 7), 1);
    cr_assert_eq(latency_reset(&lm, "nosuch", 6), 0);
    cr_assert_null(latency_find(&lm, "command", 7));
    cr_assert_eq(latency_reset(&lm, NULL, 0), 2);
    out.len = 0;
    latency_reply_latest(&lm, &out);
    cr_assert_str_eq(text(), "*0\r\n");
}

/* Events past the table's size are dropped, never overwrite another. */
Test(latency, table_is_bounded)
{
    char name[16];
    for (int i = 0; i < LATENCY_MAX_EVENTS + 4; i++) {
        snprintf(name, sizeof(name), "e%d", i);
        latency_add_sample(&lm, name, 1, 5);
    }
    cr_assert_not_null(latency_find(&lm, "e0", 2));
    cr_assert_null(latency_find(&lm, "e17", 3));
}

/* DOCTOR says when the monitor is off, when nothing was seen, and names each event seen. */
Test(latency, doctor_text)
{
    latency_doctor(&lm, 0, 10000, &out);
    cr_assert(strstr(text(), "disabled") != NULL);
    out.len = 0;
    latency_doctor(&lm, 5, 10000, &out);
    cr_assert(strstr(text(), "No latency spike") != NULL);
    latency_add_sample(&lm, "fsync-raft-log", 12, 100);
    latency_add_sample(&lm, "fsync-raft-log", 20, 102);
    out.len = 0;
    latency_doctor(&lm, 5, 10000, &out);
    cr_assert(strstr(text(), "1. fsync-raft-log: 2 latency spikes (average 16ms") != NULL, "%s", text());
    cr_assert(strstr(text(), "Worst all time event 20ms") != NULL);
    cr_assert(strstr(text(), "slowlog-log-slower-than 5000") != NULL);
}

/* GRAPH draws one column per sample, the worst at the top, with the samples' ages. */
Test(latency, graph_text)
{
    latency_add_sample(&lm, "command", 10, 100);
    latency_add_sample(&lm, "command", 40, 130);
    latency_graph(latency_find(&lm, "command", 7), 160, &out);
    cr_assert(strncmp(text(), "command - high 40 ms, low 10 ms (all time high 40 ms)\n", 54) == 0, "%s", text());
    cr_assert(strstr(text(), "\n #\n") != NULL, "%s", text());
    cr_assert(strstr(text(), "\n#|\n") != NULL, "%s", text());
    cr_assert(strstr(text(), "\n13\nm0\n s\n") != NULL, "%s", text());
}
