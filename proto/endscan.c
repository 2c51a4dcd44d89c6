/*
 * endscan.c: where may a 3-byte key start in a run of body bytes (contract
 * and rationale in endscan.h).
 *
 * Every implementation visits the bytes equal to key[0] in order and stops
 * at the first one that candidate() accepts, so they agree byte for byte;
 * they differ only in how those bytes are found: memchr, or 64-byte blocks
 * compared with key[0] as vectors into a 64-bit mask (bit b = byte base + b).
 * The last partial block is the last 64 bytes of s with the bits already
 * seen shifted out, so no vector load ever reads outside s[0..n).
 */
#include "proto/endscan.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ENDSCAN_X86 1
#include <immintrin.h>
#endif

enum { BLOCK = 64 };

/* s[k] is key[0]: could the key start here, as far as s tells? */
static inline bool candidate(const char *s, size_t n, size_t k, const char *key)
{
    return (k + 1 >= n || s[k + 1] == key[1]) && (k + 2 >= n || s[k + 2] == key[2]);
}

/* First candidate among the bytes whose bits are set in m, or n. */
static inline size_t walk(const char *s, size_t n, size_t base, uint64_t m, const char *key)
{
    while (m) {
        size_t k = base + (unsigned)__builtin_ctzll(m);
        if (candidate(s, n, k, key))
            return k;
        m &= m - 1;
    }
    return n;
}

/* walk for a block that ends at least two bytes before s[n]: key[1..2] is
 * checked in one 16-bit compare (tail = those two bytes), without bounds
 * checks. */
static inline size_t walk_inner(const char *s, size_t n, size_t base, uint64_t m, uint16_t tail)
{
    while (m) {
        size_t k = base + (unsigned)__builtin_ctzll(m);
        uint16_t next;
        memcpy(&next, s + k + 1, 2);
        if (next == tail)
            return k;
        m &= m - 1;
    }
    return n;
}

static size_t scan_memchr(const char *s, size_t n, const char *key)
{
    const char *q = s, *end = s + n;
    while (q < end) {
        const char *c = memchr(q, key[0], (size_t)(end - q));
        if (!c)
            break;
        size_t k = (size_t)(c - s);
        if (candidate(s, n, k, key))
            return k;
        q = c + 1;
    }
    return n;
}

#ifdef ENDSCAN_X86

/* SSE2 is part of x86-64: always available there. Bits of the bytes equal
 * to c in p[0..64). */
static inline uint64_t mask_sse2(const char *p, __m128i c)
{
    uint64_t m = 0;
    for (int v = 0; v < 4; v++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * v));
        m |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, c)) << (16 * v);
    }
    return m;
}

static size_t scan_sse2(const char *s, size_t n, const char *key, uint16_t tail)
{
    const __m128i c = _mm_set1_epi8(key[0]);
    size_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK) {
        uint64_t m = mask_sse2(s + i, c);
        if (m) {
            size_t k = i + BLOCK + 2 <= n ? walk_inner(s, n, i, m, tail) : walk(s, n, i, m, key);
            if (k < n)
                return k;
        }
    }
    if (i == n)
        return n;
    return walk(s, n, i, mask_sse2(s + n - BLOCK, c) >> (i - (n - BLOCK)), key);
}

/* Bits of the bytes equal to c in p[0..64). */
__attribute__((target("avx2"))) static inline uint64_t mask_avx2(const char *p, __m256i c)
{
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, c)) |
           (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, c)) << 32;
}

/* Two blocks per turn, tested together: 40% of 128-byte runs of random
 * bytes hold a given byte, so the common turn is four compares, three ORs
 * and a test, and only a turn with a hit builds the masks. */
__attribute__((target("avx2"))) static size_t scan_avx2(const char *s, size_t n, const char *key,
                                                         uint16_t tail)
{
    const __m256i c = _mm256_set1_epi8(key[0]);
    /* whole pairs that end two bytes or more before s[n] (walk_inner) */
    const size_t pairs = n < 2 ? 0 : (n - 2) & ~(size_t)(2 * BLOCK - 1);
    size_t i = 0;
    for (; i < pairs; i += 2 * BLOCK) {
        const __m256i *v = (const __m256i *)(const void *)(s + i);
        __m256i a = _mm256_cmpeq_epi8(_mm256_loadu_si256(v), c);
        __m256i b = _mm256_cmpeq_epi8(_mm256_loadu_si256(v + 1), c);
        __m256i x = _mm256_cmpeq_epi8(_mm256_loadu_si256(v + 2), c);
        __m256i d = _mm256_cmpeq_epi8(_mm256_loadu_si256(v + 3), c);
        __m256i any = _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(x, d));
        if (_mm256_testz_si256(any, any))
            continue;
        size_t k = walk_inner(s, n, i, mask_avx2(s + i, c), tail);
        if (k == n)
            k = walk_inner(s, n, i + BLOCK, mask_avx2(s + i + BLOCK, c), tail);
        if (k < n)
            return k;
    }
    for (; i + BLOCK <= n; i += BLOCK) {
        size_t k = walk(s, n, i, mask_avx2(s + i, c), key);
        if (k < n)
            return k;
    }
    if (i == n)
        return n;
    /* the last partial block: the last 64 bytes, less the ones seen */
    return walk(s, n, i, mask_avx2(s + n - BLOCK, c) >> (i - (n - BLOCK)), key);
}

static bool has_avx2(void)
{
    /* reads the CPU model libgcc filled in at start-up: a load and a test */
    return __builtin_cpu_supports("avx2");
}

#endif /* ENDSCAN_X86 */

bool msrp_scan3_has(enum msrp_scan_impl impl)
{
    switch (impl) {
    case MSRP_SCAN_BEST:
    case MSRP_SCAN_MEMCHR:
        return true;
#ifdef ENDSCAN_X86
    case MSRP_SCAN_SSE2:
        return true;
    case MSRP_SCAN_AVX2:
        return has_avx2();
#endif
    default:
        return false;
    }
}

size_t msrp_scan3_with(enum msrp_scan_impl impl, const char *s, size_t n, const char key[3])
{
    if (impl == MSRP_SCAN_BEST)
        return msrp_scan3(s, n, key);
#ifdef ENDSCAN_X86
    uint16_t tail;
    memcpy(&tail, key + 1, 2);
    /* a run shorter than one block has no vector path */
    if (n >= BLOCK && impl == MSRP_SCAN_SSE2)
        return scan_sse2(s, n, key, tail);
    if (n >= BLOCK && impl == MSRP_SCAN_AVX2)
        return scan_avx2(s, n, key, tail);
#endif
    return scan_memchr(s, n, key);
}

size_t msrp_scan3(const char *s, size_t n, const char key[3])
{
#ifdef ENDSCAN_X86
    if (n >= BLOCK) {
        uint16_t tail;
        memcpy(&tail, key + 1, 2);
        return has_avx2() ? scan_avx2(s, n, key, tail) : scan_sse2(s, n, key, tail);
    }
#endif
    return scan_memchr(s, n, key);
}
