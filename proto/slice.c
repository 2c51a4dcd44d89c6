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
    /* Hosts and transports of every chunk's URIs come here, nearly always
     * in the same case: bytes are lowered only where they differ. */
    for (size_t i = 0; i < a.n; i++) {
        unsigned char x = (unsigned char)a.p[i], y = (unsigned char)b.p[i];
        if (x != y && ascii_lower(x) != ascii_lower(y))
            return false;
    }
    return true;
}
