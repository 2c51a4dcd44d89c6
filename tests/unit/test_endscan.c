/*
 * test_endscan.c: the body scan's candidate finder (proto/endscan.c).
 *
 * Every implementation that runs on this machine (memchr, SSE2, AVX2) is
 * compared with a byte-by-byte reference of the contract, on runs of every
 * length 0..300 at 8 alignments, each holding planted '\r', "\r\n",
 * "\r\n-" and "\r\n-------" lookalikes; each run is its own exact-size heap
 * copy, so ASan sees a vector load that reads past it.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/endscan.h"

static const enum msrp_scan_impl impls[] = { MSRP_SCAN_BEST, MSRP_SCAN_MEMCHR, MSRP_SCAN_SSE2,
                                             MSRP_SCAN_AVX2 };
static const char *const impl_names[] = { "best", "memchr", "sse2", "avx2" };

/* The key most tests use (the parser's), and the writer's. */
static const char *key = "\r\n-";

/* The contract, one byte at a time. */
static size_t reference(const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (s[k] != key[0])
            continue;
        if (k + 1 < n && s[k + 1] != key[1])
            continue;
        if (k + 2 < n && s[k + 2] != key[2])
            continue;
        return k;
    }
    return n;
}

/* Runs every available implementation on a heap copy of s at offset
 * align (so vector loads meet every alignment) and checks each against
 * want. */
static void expect_scan(const char *s, size_t n, size_t want, const char *what)
{
    for (size_t align = 0; align < 8; align++) {
        char *buf = malloc(n + align + 1);
        cr_assert_not_null(buf);
        memcpy(buf + align, s, n);
        /* exact end for ASan: realloc down would move it; copy instead */
        char *run = malloc(n ? n : 1);
        cr_assert_not_null(run);
        memcpy(run, buf + align, n);
        for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
            if (!msrp_scan3_has(impls[i]))
                continue;
            size_t got = msrp_scan3_with(impls[i], run, n, key);
            cr_assert_eq(got, want, "%s: %s n=%zu: got %zu want %zu", impl_names[i], what, n,
                         got, want);
            /* and on the copy at an odd address inside a larger buffer */
            got = msrp_scan3_with(impls[i], buf + align, n, key);
            cr_assert_eq(got, want, "%s: %s n=%zu align=%zu: got %zu want %zu", impl_names[i],
                         what, n, align, got, want);
        }
        free(run);
        free(buf);
    }
}

Test(endscan, implementations_present)
{
    cr_assert(msrp_scan3_has(MSRP_SCAN_BEST));
    cr_assert(msrp_scan3_has(MSRP_SCAN_MEMCHR));
#if defined(__x86_64__)
    cr_assert(msrp_scan3_has(MSRP_SCAN_SSE2));
#endif
    /* the parser's wrapper is the "\r\n-" key */
    static const char s[] = "ab\r\nx\r\n-c";
    cr_assert_eq(msrp_endline_scan(s, sizeof s - 1), 5);
}

/* One pattern planted at every position of a run of 'x' of every length:
 * the result is where the pattern says, or n. */
Test(endscan, planted_at_every_position)
{
    static const struct {
        const char *pat;
        int found; /* 1: found where planted (when it fits whole) */
    } cases[] = {
        { "\r\n-", 1 },        { "\r\n-------tid$\r\n", 1 }, { "\r\nx", 0 },
        { "\rx-", 0 },         { "\r\r\n", 0 },              { "\n-------", 0 },
        { "-------", 0 },
    };
    char s[300];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t pn = strlen(cases[c].pat);
        for (size_t n = 0; n <= sizeof s; n += n < 140 ? 1 : 7) {
            for (size_t at = 0; at < n; at++) {
                memset(s, 'x', n);
                size_t k = n - at < pn ? n - at : pn; /* cut by the end of the run */
                memcpy(s + at, cases[c].pat, k);
                size_t want = reference(s, n);
                /* the reference itself: a whole pattern with two bytes after
                 * it is found iff it should be */
                if (at + pn + 2 <= n)
                    cr_assert_eq(want, cases[c].found ? at : n, "reference: case %zu", c);
                expect_scan(s, n, want, cases[c].pat);
            }
        }
    }
}

/* Runs ending in a '\r' or "\r\n": too near the end to tell, so reported. */
Test(endscan, cut_candidates_at_the_end)
{
    char s[200];
    for (size_t n = 1; n <= sizeof s; n++) {
        memset(s, 'y', n);
        s[n - 1] = '\r';
        expect_scan(s, n, n - 1, "CR last");
        if (n >= 2) {
            s[n - 2] = '\r';
            s[n - 1] = '\n';
            expect_scan(s, n, n - 2, "CRLF last");
            s[n - 1] = 'z';
            expect_scan(s, n, n, "CR z last");
        }
    }
}

/* Dense inputs: all '\r', all dashes, "\r\n" pairs, "\r\n-------" with a
 * wrong tid repeated, and random bytes with many '\r's. */
Test(endscan, dense_and_random_runs)
{
    static char s[1024];
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < 400; round++) {
        size_t n = (size_t)(x % sizeof s);
        switch (round % 5) {
        case 0:
            memset(s, '\r', n);
            break;
        case 1:
            memset(s, '-', n);
            break;
        case 2:
            for (size_t i = 0; i < n; i++)
                s[i] = "\r\n"[i % 2];
            break;
        case 3:
            for (size_t i = 0; i < n; i++)
                s[i] = "-------wrongtid$\r\n"[i % 18];
            break;
        default:
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                /* a '\r' one byte in 8, "\n" and '-' as often */
                static const char pick[] = "\r\n-abcde";
                s[i] = (x >> 32) % 4 == 0 ? pick[x % 8] : (char)(x >> 8);
            }
            break;
        }
        expect_scan(s, n, reference(s, n), "dense");
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    }
}

/* The writer's key: the first "---" (its body check, writer.c), on dash
 * runs of every length planted at every position. */
Test(endscan, dashes_key)
{
    key = "---";
    char s[260];
    for (size_t n = 0; n <= sizeof s; n += n < 140 ? 1 : 5) {
        for (size_t run = 1; run <= 4; run++) {
            for (size_t at = 0; at < n; at++) {
                memset(s, 'x', n);
                for (size_t j = at; j < at + run && j < n; j++)
                    s[j] = '-';
                size_t want = reference(s, n);
                if (run >= 3 && at + 3 <= n)
                    cr_assert_eq(want, at);
                expect_scan(s, n, want, "dashes");
            }
        }
    }
    key = "\r\n-";
}
