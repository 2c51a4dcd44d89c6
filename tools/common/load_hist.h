/*
 * load_hist.h: a log-bucketed histogram of non-negative integer samples
 * (latencies in nanoseconds), in the manner of HdrHistogram: values below
 * 64 are kept exactly; above, each power of two is cut into 64 equal
 * sub-buckets, so a reported quantile is within 1/64 (1.6%) of a sample
 * actually recorded. Fixed size (no per-sample storage, no allocation),
 * mergeable, so each load-generator thread keeps its own and the totals
 * are summed once at the end.
 */
#ifndef GW_LOAD_HIST_H
#define GW_LOAD_HIST_H

#include <stdint.h>

#define GW_HIST_SUB_BITS 6
#define GW_HIST_SUB (1u << GW_HIST_SUB_BITS)
/* 64 exact values, then 64 sub-buckets for each exponent 6..63. */
#define GW_HIST_BUCKETS (GW_HIST_SUB + (64 - GW_HIST_SUB_BITS) * GW_HIST_SUB)

struct gw_hist {
    uint64_t count;
    uint64_t min, max; /* exact; min is UINT64_MAX while empty */
    uint64_t sum;      /* saturates */
    uint64_t b[GW_HIST_BUCKETS];
};

void gw_hist_init(struct gw_hist *h);
void gw_hist_add(struct gw_hist *h, uint64_t v);
/* dst += src. */
void gw_hist_merge(struct gw_hist *dst, const struct gw_hist *src);

/* Bucket index of v, and the [lo, hi] range of values a bucket holds. */
unsigned gw_hist_index(uint64_t v);
void gw_hist_bucket_range(unsigned idx, uint64_t *lo, uint64_t *hi);

/*
 * The value at quantile q (0..1): the upper bound of the bucket holding
 * the ceil(q * count)-th smallest sample, clamped to [min, max], so
 * q = 1 gives the exact maximum and q = 0 the exact minimum. 0 when empty.
 */
uint64_t gw_hist_quantile(const struct gw_hist *h, double q);

/* Mean of the samples (exact unless sum saturated); 0 when empty. */
double gw_hist_mean(const struct gw_hist *h);

#endif
