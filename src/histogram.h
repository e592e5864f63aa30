/* A histogram with fixed bucket bounds: a leaf, so that any module can count into one; the
 * renderers (metrics.c, INFO) only read it. No I/O. */
#ifndef CONCORDKV_HISTOGRAM_H
#define CONCORDKV_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_BUCKETS 16

struct histogram {
    const double *bounds; /* HISTOGRAM_BUCKETS - 1 finite bounds, ascending; not owned */
    uint64_t counts[HISTOGRAM_BUCKETS];
    uint64_t n;
    double sum;
};

extern const double histogram_batch_bounds[HISTOGRAM_BUCKETS - 1];   /* commands per entry */
extern const double histogram_latency_bounds[HISTOGRAM_BUCKETS - 1]; /* seconds */

/* Empty H, with BOUNDS (which must outlive H). */
void histogram_init(struct histogram *h, const double *bounds);
/* Count V in the first bucket whose bound is >= V (the last bucket is +Inf). */
void histogram_observe(struct histogram *h, double v);

#endif
