/*
 * load_hist.c: the log-bucketed histogram of load_hist.h. Index arithmetic
 * only: a sample costs a count-leading-zeros and an increment.
 */
#include "tools/common/load_hist.h"

#include <string.h>

void gw_hist_init(struct gw_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

unsigned gw_hist_index(uint64_t v)
{
    if (v < GW_HIST_SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= GW_HIST_SUB_BITS */
    unsigned sub = (unsigned)(v >> (e - GW_HIST_SUB_BITS)) & (GW_HIST_SUB - 1);
    return GW_HIST_SUB + (e - GW_HIST_SUB_BITS) * GW_HIST_SUB + sub;
}

void gw_hist_bucket_range(unsigned idx, uint64_t *lo, uint64_t *hi)
{
    if (idx < GW_HIST_SUB) {
        *lo = *hi = idx;
        return;
    }
    unsigned e = (idx - GW_HIST_SUB) / GW_HIST_SUB + GW_HIST_SUB_BITS;
    uint64_t sub = (idx - GW_HIST_SUB) % GW_HIST_SUB;
    unsigned shift = e - GW_HIST_SUB_BITS;
    *lo = (GW_HIST_SUB + sub) << shift;
    /* The top bucket's end is UINT64_MAX; computing lo + width - 1 keeps
     * that from overflowing. */
    *hi = *lo + ((uint64_t)1 << shift) - 1;
}

void gw_hist_add(struct gw_hist *h, uint64_t v)
{
    h->b[gw_hist_index(v)]++;
    h->count++;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->sum = h->sum + v < h->sum ? UINT64_MAX : h->sum + v;
}

void gw_hist_merge(struct gw_hist *dst, const struct gw_hist *src)
{
    for (unsigned i = 0; i < GW_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->sum = dst->sum + src->sum < dst->sum ? UINT64_MAX : dst->sum + src->sum;
}

uint64_t gw_hist_quantile(const struct gw_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q <= 0)
        return h->min;
    if (q >= 1)
        return h->max;
    double r = q * (double)h->count;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r)
        rank++; /* ceil: the rank-th smallest sample, 1-based */
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < GW_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t lo, hi;
            gw_hist_bucket_range(i, &lo, &hi);
            if (hi > h->max)
                hi = h->max;
            if (hi < h->min)
                hi = h->min;
            return hi;
        }
    }
    return h->max;
}

double gw_hist_mean(const struct gw_hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}
