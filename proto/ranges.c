/* ranges.c: bounded interval set of received message bytes. */
#include "proto/ranges.h"

#include <string.h>

#include "proto/error.h"

void msrp_ranges_init(struct msrp_ranges *r, struct msrp_range *storage, uint32_t cap)
{
    r->v = storage;
    r->n = 0;
    r->cap = storage ? cap : 0;
    r->bytes = 0;
}

/* First interval that ends at or after start - 1 (could touch start). */
static uint32_t lower_bound(const struct msrp_ranges *r, uint64_t start)
{
    uint32_t lo = 0, hi = r->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->v[mid].end + 1 < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int msrp_ranges_add(struct msrp_ranges *r, uint64_t start, uint64_t end)
{
    if (start == 0 || end == UINT64_MAX || end + 1 < start)
        return MSRP_E_BYTE_RANGE;
    if (end + 1 == start)
        return 0; /* empty chunk */
    uint32_t lo = lower_bound(r, start);
    uint32_t hi = lo;
    uint64_t merged = 0; /* bytes already counted inside the new span */
    /* Intervals starting at or before end + 1 touch or overlap the new one. */
    while (hi < r->n && r->v[hi].start <= end + 1) {
        merged += r->v[hi].end - r->v[hi].start + 1;
        hi++;
    }
    if (hi == lo) {
        if (r->n == r->cap)
            return MSRP_E_NOSPACE;
        memmove(&r->v[lo + 1], &r->v[lo], (size_t)(r->n - lo) * sizeof(r->v[0]));
        r->v[lo] = (struct msrp_range){ start, end };
        r->n++;
        r->bytes += end - start + 1;
        return 0;
    }
    struct msrp_range m = { start, end };
    if (r->v[lo].start < m.start)
        m.start = r->v[lo].start;
    if (r->v[hi - 1].end > m.end)
        m.end = r->v[hi - 1].end;
    r->v[lo] = m;
    memmove(&r->v[lo + 1], &r->v[hi], (size_t)(r->n - hi) * sizeof(r->v[0]));
    r->n -= hi - lo - 1;
    r->bytes += (m.end - m.start + 1) - merged;
    return 0;
}

uint64_t msrp_ranges_bytes(const struct msrp_ranges *r)
{
    return r->bytes;
}

uint64_t msrp_ranges_prefix(const struct msrp_ranges *r)
{
    return (r->n && r->v[0].start == 1) ? r->v[0].end : 0;
}

bool msrp_ranges_complete(const struct msrp_ranges *r, uint64_t total)
{
    return total == 0 || msrp_ranges_prefix(r) >= total;
}

bool msrp_ranges_first_gap(const struct msrp_ranges *r, uint64_t total, uint64_t *gap_start,
                           uint64_t *gap_end)
{
    uint64_t next = 1; /* first byte not known to be covered */
    for (uint32_t i = 0; i < r->n && next <= total; i++) {
        if (r->v[i].start > next) {
            *gap_start = next;
            *gap_end = r->v[i].start - 1 < total ? r->v[i].start - 1 : total;
            return true;
        }
        next = r->v[i].end + 1;
    }
    if (total != UINT64_MAX && next <= total) {
        *gap_start = next;
        *gap_end = total;
        return true;
    }
    return false;
}
