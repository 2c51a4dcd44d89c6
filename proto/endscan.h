/*
 * endscan.h: the body scans' inner loop -- where in a run of body bytes
 * may an end-line ("\r\n-------" tid flag CRLF) start? (The sender's check
 * that a body holds no "-------" tid, writer.c, asks the same of "---".)
 *
 * A tid holds no CR, so an end-line can only start at a '\r' followed by
 * "\n-". msrp_endline_scan returns the first such '\r'; a '\r' in the last
 * two bytes counts too, since what follows it is not known yet. The parser
 * checks the rest of the end-line itself (parser.c, parse_body).
 *
 * Bodies of random bytes hold a '\r' every 256 bytes on average: memchr
 * stopping at each one costs a call and a restart per stop, which was most
 * of a 64 KiB chunk's cost in msrpgw (perf/chunk_cost.sh). Here 64 bytes
 * are compared with '\r' at once (two AVX2 or four SSE2 vectors); a block
 * without one costs a handful of instructions, and the '\r's of a block
 * are visited as the bits of a mask, without leaving the loop.
 *
 * Pure function of its input: no allocation, no state. The vector code is
 * chosen per call from the CPU's features (x86-64 only; elsewhere, and for
 * runs shorter than a block, a memchr loop does the same job).
 */
#ifndef MSRP_ENDSCAN_H
#define MSRP_ENDSCAN_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Index of the first k in s[0..n) where key[0..3) starts: s[k] == key[0],
 * s[k+1] == key[1] (or k + 1 == n) and s[k+2] == key[2] (or k + 2 >= n);
 * n when there is none.
 */
size_t msrp_scan3(const char *s, size_t n, const char key[3]);

/* The parser's scan: the first "\r\n-", or a '\r' or "\r\n" cut by the end. */
static inline size_t msrp_endline_scan(const char *s, size_t n)
{
    return msrp_scan3(s, n, "\r\n-");
}

/* The implementations, for tests and benchmarks: the same result from each. */
enum msrp_scan_impl {
    MSRP_SCAN_BEST = 0, /* what msrp_scan3 uses on this CPU */
    MSRP_SCAN_MEMCHR,   /* portable: memchr for key[0], then two compares */
    MSRP_SCAN_SSE2,     /* x86-64 */
    MSRP_SCAN_AVX2,     /* x86-64 with AVX2 */
};

/* False when impl cannot run here (not x86-64, or no AVX2). */
bool msrp_scan3_has(enum msrp_scan_impl impl);

/* msrp_scan3 with a given implementation; impl must be available. */
size_t msrp_scan3_with(enum msrp_scan_impl impl, const char *s, size_t n, const char key[3]);

#endif
