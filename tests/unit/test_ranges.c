/* test_ranges.c: Byte-Range bookkeeping. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/ranges.h"

static void expect(const struct msrp_ranges *r, const uint64_t (*want)[2], uint32_t n)
{
    cr_assert_eq(r->n, n, "n=%u want %u", r->n, n);
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        cr_assert_eq(r->v[i].start, want[i][0], "v[%u].start=%lu", i, (unsigned long)r->v[i].start);
        cr_assert_eq(r->v[i].end, want[i][1], "v[%u].end=%lu", i, (unsigned long)r->v[i].end);
        bytes += want[i][1] - want[i][0] + 1;
    }
    cr_assert_eq(msrp_ranges_bytes(r), bytes);
}

Test(ranges, in_order_chunks_merge_into_one)
{
    struct msrp_range st[2];
    struct msrp_ranges r;
    msrp_ranges_init(&r, st, 2);
    for (uint64_t s = 1; s <= 100000; s += 2048) {
        uint64_t e = s + 2047 > 100000 ? 100000 : s + 2047;
        cr_assert_eq(msrp_ranges_add(&r, s, e), 0);
        cr_assert_eq(r.n, 1);
    }
    cr_assert(msrp_ranges_complete(&r, 100000));
    cr_assert(!msrp_ranges_complete(&r, 100001));
    cr_assert_eq(msrp_ranges_prefix(&r), 100000);
    uint64_t a, b;
    cr_assert(!msrp_ranges_first_gap(&r, 100000, &a, &b));
    cr_assert(msrp_ranges_first_gap(&r, 100005, &a, &b));
    cr_assert_eq(a, 100001);
    cr_assert_eq(b, 100005);
}

Test(ranges, overlap_adjacent_and_gaps)
{
    struct msrp_range st[8];
    struct msrp_ranges r;
    msrp_ranges_init(&r, st, 8);
    cr_assert_eq(msrp_ranges_add(&r, 50, 59), 0);
    cr_assert_eq(msrp_ranges_add(&r, 10, 19), 0);
    cr_assert_eq(msrp_ranges_add(&r, 30, 39), 0);
    expect(&r, (const uint64_t[][2]){ { 10, 19 }, { 30, 39 }, { 50, 59 } }, 3);
    cr_assert_eq(msrp_ranges_prefix(&r), 0);
    uint64_t a, b;
    cr_assert(msrp_ranges_first_gap(&r, 100, &a, &b));
    cr_assert(a == 1 && b == 9);
    cr_assert_eq(msrp_ranges_add(&r, 20, 20), 0); /* adjacent to 10-19 */
    expect(&r, (const uint64_t[][2]){ { 10, 20 }, { 30, 39 }, { 50, 59 } }, 3);
    cr_assert_eq(msrp_ranges_add(&r, 35, 45), 0); /* overlaps 30-39 */
    expect(&r, (const uint64_t[][2]){ { 10, 20 }, { 30, 45 }, { 50, 59 } }, 3);
    cr_assert_eq(msrp_ranges_add(&r, 15, 55), 0); /* swallows three */
    expect(&r, (const uint64_t[][2]){ { 10, 59 } }, 1);
    cr_assert_eq(msrp_ranges_add(&r, 1, 9), 0);
    expect(&r, (const uint64_t[][2]){ { 1, 59 } }, 1);
    cr_assert_eq(msrp_ranges_add(&r, 5, 6), 0); /* retransmission */
    expect(&r, (const uint64_t[][2]){ { 1, 59 } }, 1);
    cr_assert(msrp_ranges_complete(&r, 59));
    cr_assert(!msrp_ranges_first_gap(&r, UINT64_MAX, &a, &b)); /* unknown total */
}

Test(ranges, bad_ranges_and_empty_chunk)
{
    struct msrp_range st[2];
    struct msrp_ranges r;
    msrp_ranges_init(&r, st, 2);
    cr_assert_eq(msrp_ranges_add(&r, 0, 5), MSRP_E_BYTE_RANGE);
    cr_assert_eq(msrp_ranges_add(&r, 10, 8), MSRP_E_BYTE_RANGE);
    cr_assert_eq(msrp_ranges_add(&r, 1, UINT64_MAX), MSRP_E_BYTE_RANGE);
    cr_assert_eq(msrp_ranges_add(&r, 10, 9), 0);
    cr_assert_eq(r.n, 0);
    cr_assert(msrp_ranges_complete(&r, 0));
    cr_assert(!msrp_ranges_complete(&r, 1));
    cr_assert_eq(msrp_ranges_add(&r, UINT64_MAX - 1, UINT64_MAX - 1), 0);
    cr_assert_eq(msrp_ranges_bytes(&r), 1);
}

Test(ranges, full_fails_without_change)
{
    struct msrp_range st[3];
    struct msrp_ranges r;
    msrp_ranges_init(&r, st, 3);
    cr_assert_eq(msrp_ranges_add(&r, 1, 1), 0);
    cr_assert_eq(msrp_ranges_add(&r, 3, 3), 0);
    cr_assert_eq(msrp_ranges_add(&r, 5, 5), 0);
    cr_assert_eq(msrp_ranges_add(&r, 7, 7), MSRP_E_NOSPACE);
    expect(&r, (const uint64_t[][2]){ { 1, 1 }, { 3, 3 }, { 5, 5 } }, 3);
    cr_assert_eq(msrp_ranges_add(&r, 6, 6), 0); /* merges: still fits */
    cr_assert_eq(msrp_ranges_add(&r, 2, 2), 0); /* bridges two */
    expect(&r, (const uint64_t[][2]){ { 1, 3 }, { 5, 6 } }, 2);
    struct msrp_ranges z;
    msrp_ranges_init(&z, NULL, 5);
    cr_assert_eq(msrp_ranges_add(&z, 1, 1), MSRP_E_NOSPACE);
}

/* Against a bitmap on random adds over a small universe. */
Test(ranges, matches_bitmap_reference)
{
    unsigned seed = 7;
    for (int iter = 0; iter < 300; iter++) {
        bool bit[201] = { false };
        struct msrp_range st[128];
        struct msrp_ranges r;
        msrp_ranges_init(&r, st, 128);
        for (int k = 0; k < 40; k++) {
            uint64_t s = 1 + (uint64_t)(rand_r(&seed) % 200);
            uint64_t e = s + (uint64_t)(rand_r(&seed) % 10);
            if (e > 200)
                e = 200;
            cr_assert_eq(msrp_ranges_add(&r, s, e), 0);
            for (uint64_t i = s; i <= e; i++)
                bit[i] = true;
            uint64_t cnt = 0, prefix = 0;
            bool gap = false;
            uint64_t gs = 0, ge = 0;
            for (uint64_t i = 1; i <= 200; i++) {
                cnt += bit[i];
                if (!gap && bit[i] && prefix == i - 1)
                    prefix = i;
                if (!bit[i] && !gap) {
                    gap = true;
                    gs = i;
                }
            }
            if (gap)
                for (ge = gs; ge < 200 && !bit[ge + 1]; ge++)
                    ;
            cr_assert_eq(msrp_ranges_bytes(&r), cnt);
            cr_assert_eq(msrp_ranges_prefix(&r), prefix);
            uint64_t a = 0, b = 0;
            cr_assert_eq(msrp_ranges_first_gap(&r, 200, &a, &b), gap);
            if (gap)
                cr_assert(a == gs && b == ge, "gap %lu-%lu want %lu-%lu", (unsigned long)a,
                          (unsigned long)b, (unsigned long)gs, (unsigned long)ge);
            for (uint32_t i = 0; i + 1 < r.n; i++)
                cr_assert_lt(r.v[i].end + 1, r.v[i + 1].start); /* disjoint, non-adjacent */
        }
    }
}
