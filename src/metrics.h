/* Rendering of the counters and histograms (struct histogram is histogram.h's) for /metrics
 * (Prometheus text format). Reads every module; nothing below it includes it. */
#ifndef CONCORDKV_METRICS_H
#define CONCORDKV_METRICS_H

#include <stdint.h>
#include "histogram.h"
#include "util.h"

struct server;

/* Prometheus text of H named NAME (with HELP text) appended to OUT. */
void histogram_render(const struct histogram *h, const char *name, const char *help, struct buf *out);

/* Everything /metrics shows, in Prometheus text exposition format 0.0.4. */
void metrics_render(struct server *srv, struct buf *out);

#endif
