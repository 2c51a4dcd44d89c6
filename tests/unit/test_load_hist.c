/* test_load_hist.c: the load generator's latency histogram (tools/common/load_hist.c). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tools/common/load_hist.h"

static struct gw_hist H, H2;

Test(load_hist, bucket_edges_are_exact_then_64_per_power_of_two)
{
    for (uint64_t v = 0; v < 64; v++)
        cr_assert_eq(gw_hist_index(v), v);
    cr_assert_eq(gw_hist_index(64), 64);
    cr_assert_eq(gw_hist_index(127), 127);
    /* From 128 on, buckets are 2 wide: 128,129 share one. */
    cr_assert_eq(gw_hist_index(128), 128);
    cr_assert_eq(gw_hist_index(129), 128);
    cr_assert_eq(gw_hist_index(130), 129);
    cr_assert_eq(gw_hist_index(UINT64_MAX), GW_HIST_BUCKETS - 1);
    uint64_t lo, hi;
    gw_hist_bucket_range(128, &lo, &hi);
    cr_assert(lo == 128 && hi == 129, "lo=%lu hi=%lu", (unsigned long)lo, (unsigned long)hi);
    gw_hist_bucket_range(GW_HIST_BUCKETS - 1, &lo, &hi);
    cr_assert_eq(hi, UINT64_MAX);
    cr_assert_eq(lo, UINT64_MAX - ((uint64_t)1 << 57) + 1);
}

Test(load_hist, every_value_lies_in_its_bucket_and_buckets_tile)
{
    uint64_t prev_hi = 0;
    for (unsigned i = 0; i < GW_HIST_BUCKETS; i++) {
        uint64_t lo, hi;
        gw_hist_bucket_range(i, &lo, &hi);
        if (i > 0)
            cr_assert_eq(lo, prev_hi + 1, "gap before bucket %u", i);
        cr_assert_eq(gw_hist_index(lo), i);
        cr_assert_eq(gw_hist_index(hi), i);
        /* width / lo <= 1/64: the precision promised */
        cr_assert(i < 64 || (hi - lo + 1) * 64 <= lo, "bucket %u too wide", i);
        prev_hi = hi;
    }
    cr_assert_eq(prev_hi, UINT64_MAX);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

Test(load_hist, quantiles_within_1_6_percent_of_the_sorted_samples)
{
    enum { N = 100000 };
    uint64_t *v = malloc(N * sizeof(*v));
    uint64_t x = 88172645463325252ull;
    gw_hist_init(&H);
    for (unsigned i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* long-tailed: 1 us .. ~1 s */
        v[i] = 1000 + (x % 1000000) * (1 + (x >> 60) * (x >> 60) * (x >> 60));
        gw_hist_add(&H, v[i]);
    }
    qsort(v, N, sizeof(*v), cmp_u64);
    static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
    for (unsigned k = 0; k < 4; k++) {
        uint64_t want = v[(size_t)(qs[k] * N) - 1]; /* ceil(q*N)-th smallest */
        uint64_t got = gw_hist_quantile(&H, qs[k]);
        cr_assert(got >= want && (double)(got - want) <= (double)want / 64.0,
                  "q=%g got %lu want %lu", qs[k], (unsigned long)got, (unsigned long)want);
    }
    cr_assert_eq(gw_hist_quantile(&H, 1.0), v[N - 1]);
    cr_assert_eq(gw_hist_quantile(&H, 0.0), v[0]);
    cr_assert_eq(H.count, N);
    free(v);
}

Test(load_hist, merge_equals_adding_everything_to_one)
{
    gw_hist_init(&H);
    gw_hist_init(&H2);
    struct gw_hist *all = calloc(1, sizeof(*all));
    gw_hist_init(all);
    for (uint64_t i = 1; i <= 5000; i++) {
        uint64_t val = i * i * 37;
        gw_hist_add(i % 3 ? &H : &H2, val);
        gw_hist_add(all, val);
    }
    gw_hist_merge(&H, &H2);
    cr_assert_eq(memcmp(&H, all, sizeof(H)), 0);
    cr_assert_eq(H.min, 37);
    cr_assert_eq(H.max, 5000ull * 5000 * 37);
    /* sum of i^2 for 1..5000 = 5000*5001*10001/6 */
    cr_assert_eq(H.sum, 37ull * 5000 * 5001 * 10001 / 6);
    free(all);
}

Test(load_hist, empty_and_single_sample)
{
    gw_hist_init(&H);
    cr_assert_eq(gw_hist_quantile(&H, 0.99), 0);
    cr_assert_eq(gw_hist_mean(&H), 0.0);
    gw_hist_add(&H, 123456789);
    /* clamped to the exact sample, not the bucket's upper bound */
    cr_assert_eq(gw_hist_quantile(&H, 0.5), 123456789);
    cr_assert_eq(gw_hist_quantile(&H, 0.999), 123456789);
    cr_assert_eq(gw_hist_mean(&H), 123456789.0);
    gw_hist_add(&H, UINT64_MAX);
    cr_assert_eq(H.sum, UINT64_MAX, "sum saturates");
    cr_assert_eq(gw_hist_quantile(&H, 1.0), UINT64_MAX);
}
