/* Fixed-bound histograms: counting only; rendering is metrics.c's. */
#include "histogram.h"

#include <string.h>

const double histogram_batch_bounds[HISTOGRAM_BUCKETS - 1] = {1, 2, 4, 8, 16, 32, 64, 128, 256,
                                                              512, 1024, 2048, 4096, 8192, 16384};
const double histogram_latency_bounds[HISTOGRAM_BUCKETS - 1] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016,
    0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048};

void histogram_init(struct histogram *h, const double *bounds)
{
    memset(h, 0, sizeof(*h));
    h->bounds = bounds;
}

void histogram_observe(struct histogram *h, double v)
{
    int i = 0;
    while (i < HISTOGRAM_BUCKETS - 1 && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->n++;
    h->sum += v;
}
