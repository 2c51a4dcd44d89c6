/*
 * slice.h: a borrowed run of bytes (pointer + length), the currency of the
 * proto/ library. A slice never owns memory; each API says how long the
 * bytes it points at stay valid.
 */
#ifndef MSRP_SLICE_H
#define MSRP_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct msrp_slice {
    const char *p;
    size_t n;
};

#define MSRP_SLICE_FMT "%.*s"
#define MSRP_SLICE_ARG(s) (int)(s).n, (s).p
#define MSRP_SLICE_LIT(lit) ((struct msrp_slice){ (lit), sizeof(lit) - 1 })

static inline struct msrp_slice msrp_slice(const char *p, size_t n)
{
    return (struct msrp_slice){ p, n };
}

static inline bool msrp_slice_eq(struct msrp_slice a, struct msrp_slice b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* ASCII case-insensitive equality (header names, schemes, hosts). */
bool msrp_slice_caseeq(struct msrp_slice a, struct msrp_slice b);

#endif
