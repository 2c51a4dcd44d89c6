/* slice.c: helpers on borrowed byte runs. */
#include "proto/slice.h"

static inline unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool msrp_slice_caseeq(struct msrp_slice a, struct msrp_slice b)
{
    if (a.n != b.n)
        return false;
    for (size_t i = 0; i < a.n; i++)
        if (ascii_lower((unsigned char)a.p[i]) != ascii_lower((unsigned char)b.p[i]))
            return false;
    return true;
}
