/* Counters and histograms, rendered by INFO and by /metrics (Prometheus text format). */
#ifndef CONCORDKV_METRICS_H
#define CONCORDKV_METRICS_H

#include <stdint.h>
#include "util.h"

struct server;

#define METRICS_BUCKETS 16

/* A histogram with fixed upper bounds. */
struct histogram {
    const double *bounds; /* METRICS_BUCKETS - 1 finite bounds, ascending */
    uint64_t counts[METRICS_BUCKETS];
    uint64_t n;
    double sum;
};

extern const double metrics_batch_bounds[METRICS_BUCKETS - 1];   /* commands per entry */
extern const double metrics_latency_bounds[METRICS_BUCKETS - 1]; /* seconds */

void histogram_init(struct histogram *h, const double *bounds);
void histogram_observe(struct histogram *h, double v);
/* Prometheus text of H named NAME (with HELP text) appended to OUT. */
void histogram_render(const struct histogram *h, const char *name, const char *help, struct buf *out);

/* Everything /metrics shows, in Prometheus text exposition format 0.0.4. */
void metrics_render(struct server *srv, struct buf *out);

#endif
