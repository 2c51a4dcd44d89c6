/*
 * ranges.h: which bytes of one message have arrived (Byte-Range
 * bookkeeping for reassembly, Success-Report ranges and Failure-Report
 * partial, RFC 4975 sections 7.1.3, 7.3.1).
 *
 * A sorted set of disjoint, non-adjacent inclusive intervals [start, end]
 * (1-based, as in Byte-Range) kept in a caller-owned fixed array: memory
 * is bounded by the caller, never grown. Chunks that arrive in order merge
 * into one interval, so a capacity of a few dozen covers any honest
 * sender; only a hostile or badly broken one fragments the message.
 * When an add would need more intervals than the capacity, it fails with
 * MSRP_E_NOSPACE and leaves the set unchanged: the caller should then fail
 * the message (413 to that chunk and a Failure REPORT, or abort the
 * message), not retry.
 *
 * Adds are O(capacity) worst case (binary search plus one memmove), every
 * query O(1) or O(n). No allocation, no I/O, no globals.
 */
#ifndef MSRP_RANGES_H
#define MSRP_RANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct msrp_range {
    uint64_t start; /* >= 1 */
    uint64_t end;   /* inclusive, >= start */
};

struct msrp_ranges {
    struct msrp_range *v; /* caller storage, sorted by start */
    uint32_t n;
    uint32_t cap;
    uint64_t bytes;       /* total bytes covered */
};

/* Uses storage[0..cap) for the intervals; starts empty. */
void msrp_ranges_init(struct msrp_ranges *r, struct msrp_range *storage, uint32_t cap);

/*
 * Records bytes start..end (inclusive). A zero-length chunk (end ==
 * start - 1) is accepted and changes nothing. Overlaps with what is known
 * are fine (retransmissions). Returns 0, MSRP_E_BYTE_RANGE (start 0,
 * end < start - 1, end == UINT64_MAX: resolve an open "N-*" range from the
 * body length first) or MSRP_E_NOSPACE (capacity exhausted, unchanged).
 */
int msrp_ranges_add(struct msrp_ranges *r, uint64_t start, uint64_t end);

/* Total distinct bytes received. */
uint64_t msrp_ranges_bytes(const struct msrp_ranges *r);

/* True when bytes 1..total have all arrived (total 0: always true). */
bool msrp_ranges_complete(const struct msrp_ranges *r, uint64_t total);

/*
 * Bytes received contiguously from the first byte (0 if byte 1 is
 * missing): the range to report as received when a transfer stops.
 */
uint64_t msrp_ranges_prefix(const struct msrp_ranges *r);

/*
 * First missing run within 1..total (total may be UINT64_MAX for "unknown",
 * then a gap after the last byte received is not reported). Returns true
 * and sets *gap_start and *gap_end (inclusive) if there is one.
 */
bool msrp_ranges_first_gap(const struct msrp_ranges *r, uint64_t total, uint64_t *gap_start,
                           uint64_t *gap_end);

#endif
