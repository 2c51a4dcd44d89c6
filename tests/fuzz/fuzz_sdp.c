/*
 * fuzz_sdp.c: ng_sdp_parse / ng_sdp_rewrite (gateway/ng/sdp.c) on arbitrary
 * bytes. A body that parses must rewrite, with fixed values, into n + 512
 * bytes per section; the result must parse back to as many sections with
 * the new port, address, path and setup and the rest of each section as
 * it was; one byte less room must be -ENOSPC without a write past it; and
 * rewriting the result again must give it back unchanged.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/ng/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool slice_is(struct msrp_slice s, const char *lit)
{
    return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP], back[NG_SDP_MAX_MSRP];
    size_t count = 0, c2 = 0;
    int rc = ng_sdp_parse(s, size, ms, NG_SDP_MAX_MSRP, &count);
    if (rc != 0) {
        if ((rc != -EINVAL && rc != -E2BIG) || count != 0)
            abort();
        return 0;
    }
    if (count > NG_SDP_MAX_MSRP || ng_sdp_parse(s, size, NULL, count, &c2) != 0 || c2 != count)
        abort();

    /* Two fixed rewrites, chosen by the input's length: IPv6 with a=setup
     * and a clamp, IPv4 leaving a=setup and a=max-size alone. */
    bool v6 = size & 1;
    struct ng_sdp_rewrite rw[NG_SDP_MAX_MSRP];
    for (size_t i = 0; i < count; i++)
        rw[i] = v6 ? (struct ng_sdp_rewrite){ .addr = "2001:db8::77", .port = 40000 + (uint16_t)i,
                                              .path = "msrps://[2001:db8::77]:40000/fz;tcp",
                                              .setup = "actpass", .max_size_cap = 4096 }
                   : (struct ng_sdp_rewrite){ .addr = "198.51.100.7", .port = 2855,
                                              .path = "msrp://198.51.100.7:2855/fz;tcp" };
    size_t cap = size + 512 * count;
    char *out = malloc(cap + 1);
    if (!out)
        return 0;
    int w = ng_sdp_rewrite(s, size, rw, count, out, cap);
    if (w < 0 || (size_t)w > cap)
        abort();

    if (ng_sdp_parse(out, (size_t)w, back, NG_SDP_MAX_MSRP, &c2) != 0 || c2 != count)
        abort();
    for (size_t i = 0; i < count; i++) {
        if (back[i].port != rw[i].port || !slice_is(back[i].path, rw[i].path) ||
            !slice_is(back[i].addr, rw[i].addr) || back[i].addr_ip6 != v6)
            abort();
        if (rw[i].setup ? !slice_is(back[i].setup, rw[i].setup)
                        : !msrp_slice_eq(back[i].setup, ms[i].setup))
            abort();
        if (back[i].media_index != ms[i].media_index || back[i].tls != ms[i].tls ||
            back[i].cema != ms[i].cema || back[i].has_max_size != ms[i].has_max_size ||
            !msrp_slice_eq(back[i].accept_types, ms[i].accept_types))
            abort();
        uint64_t want = ms[i].max_size;
        if (rw[i].max_size_cap && want > rw[i].max_size_cap)
            want = rw[i].max_size_cap;
        if (ms[i].has_max_size && back[i].max_size != want)
            abort();
    }

    /* Idempotent: the result rewritten again is itself. */
    char *again = malloc((size_t)w + 512 * count + 1);
    if (again) {
        int w2 = ng_sdp_rewrite(out, (size_t)w, rw, count, again, (size_t)w + 512 * count);
        if (w2 != w || memcmp(again, out, (size_t)w) != 0)
            abort();
        free(again);
    }

    /* One byte short: -ENOSPC, and the byte at cap untouched. */
    if (w > 0) {
        out[w - 1] = 'Z';
        if (ng_sdp_rewrite(s, size, rw, count, out, (size_t)w - 1) != -ENOSPC || out[w - 1] != 'Z')
            abort();
    }
    free(out);
    return 0;
}
