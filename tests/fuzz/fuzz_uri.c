/*
 * fuzz_uri.c: msrp_uri_parse / msrp_path_parse on arbitrary bytes. A URI
 * that parses must format to text that parses back to an equal URI with
 * the same user and params (the relay echoes formatted URIs into frames),
 * and msrp_uri_key must agree with msrp_uri_equal: equal URIs, equal keys;
 * two URIs of a path, equal keys exactly when they are equal.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct msrp_uri u, v;
    if (msrp_uri_parse(&u, s, size, 4096) == 0) {
        char buf[8192];
        size_t n = msrp_uri_format(&u, buf, sizeof(buf));
        if (n >= sizeof(buf))
            abort(); /* canonical text is never longer than input + 0 */
        if (msrp_uri_parse(&v, buf, n, 0) != 0)
            abort();
        if (!msrp_uri_equal(&u, &v) || !msrp_uri_equal(&v, &u) || !msrp_uri_equal(&u, &u))
            abort();
        if (!msrp_slice_eq(u.user, v.user) || !msrp_slice_eq(u.params, v.params) ||
            msrp_uri_port(&u) != msrp_uri_port(&v))
            abort();
        /* Equal URIs have equal keys, within the documented length. */
        static char ku[8192 + MSRP_URI_KEY_SLACK], kv[sizeof(ku)];
        size_t nu = msrp_uri_key(&u, ku, sizeof(ku)), nv = msrp_uri_key(&v, kv, sizeof(kv));
        if (nu > u.raw.n + MSRP_URI_KEY_SLACK || nu != nv || memcmp(ku, kv, nu) != 0)
            abort();
        /* Formatting is idempotent. */
        char buf2[8192];
        size_t n2 = msrp_uri_format(&v, buf2, sizeof(buf2));
        if (n2 != n || memcmp(buf, buf2, n) != 0)
            abort();
    }
    struct msrp_uri path[8];
    int k = msrp_path_parse(path, 8, s, size, 1024);
    if (k > 8 || k == 0)
        abort();
    for (int i = 0; i + 1 < k; i++) {
        static char ka[1024 + MSRP_URI_KEY_SLACK], kb[sizeof(ka)];
        size_t na = msrp_uri_key(&path[i], ka, sizeof(ka));
        size_t nb = msrp_uri_key(&path[i + 1], kb, sizeof(kb));
        if (na > sizeof(ka) || nb > sizeof(kb))
            abort();
        bool keq = na == nb && memcmp(ka, kb, na) == 0;
        if (keq != msrp_uri_equal(&path[i], &path[i + 1]))
            abort();
    }
    return 0;
}
