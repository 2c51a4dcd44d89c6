/* test_sdp.c: MSRP sections of SDP (gateway/ng/sdp.c): parse, rewrite byte for byte, limits. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/ng/sdp.h"

static void expect_slice(struct msrp_slice s, const char *want, const char *what)
{
    cr_assert(s.n == strlen(want) && (s.n == 0 || memcmp(s.p, want, s.n) == 0),
              "%s is '%.*s', want '%s'", what, (int)s.n, s.p ? s.p : "", want);
}

static size_t parse_ok(const char *sdp, struct ng_sdp_msrp *ms)
{
    size_t count = 99;
    int rc = ng_sdp_parse(sdp, strlen(sdp), ms, NG_SDP_MAX_MSRP, &count);
    cr_assert_eq(rc, 0, "parse rc %d for:\n%s", rc, sdp);
    return count;
}

/* Rewrites sdp and requires exactly want; also: every smaller cap is
 * -ENOSPC without a byte written past it, and the result parses back to
 * the same sections with the new address, port, path and setup. */
static void check_rewrite(const char *sdp, const struct ng_sdp_rewrite *rw, size_t nrw,
                          const char *want)
{
    size_t n = strlen(sdp), need = strlen(want);
    struct ng_sdp_msrp before[NG_SDP_MAX_MSRP], after[NG_SDP_MAX_MSRP];
    cr_assert_eq(parse_ok(sdp, before), nrw);

    char *buf = malloc(need + 64);
    cr_assert(buf);
    memset(buf, 0xA5, need + 64);
    int got = ng_sdp_rewrite(sdp, n, rw, nrw, buf, need + 64);
    cr_assert_eq(got, (int)need, "length %d, want %zu; got:\n%.*s\nwant:\n%s", got, need,
                 got > 0 ? got : 0, buf, want);
    cr_assert(memcmp(buf, want, need) == 0, "got:\n%.*s\nwant:\n%s", (int)need, buf, want);
    cr_assert_eq(ng_sdp_rewrite(sdp, n, rw, nrw, buf, need), (int)need, "exact cap");

    for (size_t cap = 0; cap < need; cap++) {
        memset(buf, 0xA5, need + 64);
        int rc = ng_sdp_rewrite(sdp, n, rw, nrw, buf, cap);
        cr_assert_eq(rc, -ENOSPC, "cap %zu of %zu: rc %d", cap, need, rc);
        for (size_t i = cap; i < need + 64; i++)
            cr_assert_eq((unsigned char)buf[i], 0xA5, "cap %zu: byte %zu written", cap, i);
    }
    cr_assert_eq(ng_sdp_rewrite(sdp, n, rw, nrw, NULL, 0), -ENOSPC);

    size_t count = 0;
    cr_assert_eq(ng_sdp_parse(want, need, after, NG_SDP_MAX_MSRP, &count), 0);
    cr_assert_eq(count, nrw);
    for (size_t i = 0; i < nrw; i++) {
        cr_assert_eq(after[i].port, rw[i].port);
        expect_slice(after[i].path, rw[i].path, "re-parsed path");
        expect_slice(after[i].addr, rw[i].addr, "re-parsed addr");
        cr_assert_eq(after[i].addr_ip6, strchr(rw[i].addr, ':') != NULL);
        if (rw[i].setup)
            expect_slice(after[i].setup, rw[i].setup, "re-parsed setup");
        else
            cr_assert(msrp_slice_eq(after[i].setup, before[i].setup));
        cr_assert_eq(after[i].media_index, before[i].media_index);
        cr_assert_eq(after[i].tls, before[i].tls);
        cr_assert_eq(after[i].cema, before[i].cema);
        cr_assert(msrp_slice_eq(after[i].accept_types, before[i].accept_types));
        cr_assert_eq(after[i].has_max_size, before[i].has_max_size);
    }
    free(buf);
}

static const struct ng_sdp_rewrite gw4 = {
    .addr = "198.51.100.7", .port = 2855, .path = "msrp://198.51.100.7:2855/gw1a;tcp",
};

/* --- RFC 4975 ---------------------------------------------------------- */

/* Section 4 (protocol overview): Alice's offer, Bob's answer. */
static const char rfc4975_4_offer[] =
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 atlanta.example.com\r\n"
    "s=-\r\n"
    "c=IN IP4 atlanta.example.com\r\n"
    "t=0 0\r\n"
    "m=message 7654 TCP/MSRP *\r\n"
    "a=accept-types:text/plain\r\n"
    "a=path:msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n";

static const char rfc4975_4_answer[] =
    "v=0\r\n"
    "o=bob 2890844527 2890844527 IN IP4 biloxi.example.com\r\n"
    "s=-\r\n"
    "c=IN IP4 biloxi.example.com\r\n"
    "t=0 0\r\n"
    "m=message 12763 TCP/MSRP *\r\n"
    "a=accept-types:text/plain\r\n"
    "a=path:msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n";

Test(sdp, rfc4975_overview_parse)
{
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
    cr_assert_eq(parse_ok(rfc4975_4_offer, ms), 1);
    cr_assert_eq(ms[0].media_index, 0);
    cr_assert(!ms[0].tls);
    cr_assert_eq(ms[0].port, 7654);
    expect_slice(ms[0].addr, "atlanta.example.com", "addr");
    cr_assert(!ms[0].addr_ip6);
    expect_slice(ms[0].path, "msrp://atlanta.example.com:7654/jshA7weztas;tcp", "path");
    expect_slice(ms[0].setup, "", "setup");
    expect_slice(ms[0].accept_types, "text/plain", "accept-types");
    cr_assert(!ms[0].cema && !ms[0].has_max_size);

    cr_assert_eq(parse_ok(rfc4975_4_answer, ms), 1);
    cr_assert_eq(ms[0].port, 12763);
    expect_slice(ms[0].addr, "biloxi.example.com", "addr");
    expect_slice(ms[0].path, "msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp", "path");
}

Test(sdp, rfc4975_overview_rewrite)
{
    /* The session-level c= stays; the section gets its own after m=. */
    check_rewrite(rfc4975_4_offer, &gw4, 1,
                  "v=0\r\n"
                  "o=alice 2890844526 2890844526 IN IP4 atlanta.example.com\r\n"
                  "s=-\r\n"
                  "c=IN IP4 atlanta.example.com\r\n"
                  "t=0 0\r\n"
                  "m=message 2855 TCP/MSRP *\r\n"
                  "c=IN IP4 198.51.100.7\r\n"
                  "a=accept-types:text/plain\r\n"
                  "a=path:msrp://198.51.100.7:2855/gw1a;tcp\r\n");
    const struct ng_sdp_rewrite rw = {
        .addr = "198.51.100.7", .port = 2855, .path = "msrp://198.51.100.7:2855/gw1b;tcp",
        .setup = "passive",
    };
    check_rewrite(rfc4975_4_answer, &rw, 1,
                  "v=0\r\n"
                  "o=bob 2890844527 2890844527 IN IP4 biloxi.example.com\r\n"
                  "s=-\r\n"
                  "c=IN IP4 biloxi.example.com\r\n"
                  "t=0 0\r\n"
                  "m=message 2855 TCP/MSRP *\r\n"
                  "c=IN IP4 198.51.100.7\r\n"
                  "a=accept-types:text/plain\r\n"
                  "a=path:msrp://198.51.100.7:2855/gw1b;tcp\r\n"
                  "a=setup:passive\r\n");
}

/* Section 10.1 (basic IM session). */
static const char rfc4975_10_1_offer[] =
    "v=0\r\n"
    "o=alice 2890844557 2890844559 IN IP4 alicepc.example.com\r\n"
    "s= -\r\n"
    "c=IN IP4 alicepc.example.com\r\n"
    "t=0 0\r\n"
    "m=message 7777 TCP/MSRP *\r\n"
    "a=accept-types:text/plain\r\n"
    "a=path:msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n";

static const char rfc4975_10_1_answer[] =
    "v=0\r\n"
    "o=bob 2890844612 2890844616 IN IP4 bob.example.com\r\n"
    "s= -\r\n"
    "c=IN IP4 bob.example.com\r\n"
    "t=0 0\r\n"
    "m=message 8888 TCP/MSRP *\r\n"
    "a=accept-types:text/plain\r\n"
    "a=path:msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n";

Test(sdp, rfc4975_10_1_basic_im)
{
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
    cr_assert_eq(parse_ok(rfc4975_10_1_offer, ms), 1);
    cr_assert_eq(ms[0].port, 7777);
    expect_slice(ms[0].addr, "alicepc.example.com", "addr");
    expect_slice(ms[0].path, "msrp://alicepc.example.com:7777/iau39soe2843z;tcp", "path");
    cr_assert_eq(parse_ok(rfc4975_10_1_answer, ms), 1);
    cr_assert_eq(ms[0].port, 8888);
    expect_slice(ms[0].path, "msrp://bob.example.com:8888/9di4eae923wzd;tcp", "path");

    check_rewrite(rfc4975_10_1_offer, &gw4, 1,
                  "v=0\r\n"
                  "o=alice 2890844557 2890844559 IN IP4 alicepc.example.com\r\n"
                  "s= -\r\n"
                  "c=IN IP4 alicepc.example.com\r\n"
                  "t=0 0\r\n"
                  "m=message 2855 TCP/MSRP *\r\n"
                  "c=IN IP4 198.51.100.7\r\n"
                  "a=accept-types:text/plain\r\n"
                  "a=path:msrp://198.51.100.7:2855/gw1a;tcp\r\n");
    check_rewrite(rfc4975_10_1_answer, &gw4, 1,
                  "v=0\r\n"
                  "o=bob 2890844612 2890844616 IN IP4 bob.example.com\r\n"
                  "s= -\r\n"
                  "c=IN IP4 bob.example.com\r\n"
                  "t=0 0\r\n"
                  "m=message 2855 TCP/MSRP *\r\n"
                  "c=IN IP4 198.51.100.7\r\n"
                  "a=accept-types:text/plain\r\n"
                  "a=path:msrp://198.51.100.7:2855/gw1a;tcp\r\n");
}

/* --- RFC 6714 (CEMA), RFC 6135 / RFC 4145 (a=setup) --------------------- */

static const char cema_offer[] =
    "v=0\r\n"
    "o=alice 2890844526 2890844527 IN IP4 alice.example.com\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.1\r\n"
    "t=0 0\r\n"
    "m=message 7394 TCP/MSRP *\r\n"
    "a=accept-types:message/cpim text/plain text/html\r\n"
    "a=path:msrp://192.0.2.1:7394/2s93i93idj;tcp\r\n"
    "a=msrp-cema\r\n";

Test(sdp, rfc6714_cema)
{
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
    cr_assert_eq(parse_ok(cema_offer, ms), 1);
    cr_assert(ms[0].cema);
    expect_slice(ms[0].addr, "192.0.2.1", "addr");
    expect_slice(ms[0].accept_types, "message/cpim text/plain text/html", "accept-types");
    /* a=msrp-cema and a=accept-types stay, in order. */
    check_rewrite(cema_offer, &gw4, 1,
                  "v=0\r\n"
                  "o=alice 2890844526 2890844527 IN IP4 alice.example.com\r\n"
                  "s=-\r\n"
                  "c=IN IP4 192.0.2.1\r\n"
                  "t=0 0\r\n"
                  "m=message 2855 TCP/MSRP *\r\n"
                  "c=IN IP4 198.51.100.7\r\n"
                  "a=accept-types:message/cpim text/plain text/html\r\n"
                  "a=path:msrp://198.51.100.7:2855/gw1a;tcp\r\n"
                  "a=msrp-cema\r\n");
}

static char *with_setup(char *buf, size_t cap, const char *setup)
{
    snprintf(buf, cap,
             "v=0\r\n"
             "o=- 1 1 IN IP4 192.0.2.2\r\n"
             "s=-\r\n"
             "t=0 0\r\n"
             "m=message 2855 TCP/TLS/MSRP *\r\n"
             "c=IN IP4 192.0.2.2\r\n"
             "a=setup:%s\r\n"
             "a=connection:new\r\n"
             "a=accept-types:*\r\n"
             "a=path:msrps://192.0.2.2:2855/setupx;tcp\r\n",
             setup);
    return buf;
}

Test(sdp, rfc6135_setup_values)
{
    static const char *roles[] = { "active", "passive", "actpass", "holdconn", "ACTIVE" };
    char sdp[512], want[512];
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        cr_assert_eq(parse_ok(with_setup(sdp, sizeof(sdp), roles[i]), ms), 1);
        cr_assert(ms[0].tls);
        expect_slice(ms[0].setup, roles[i], "setup");
        /* Replaced in place (own c= replaced in place too). */
        const struct ng_sdp_rewrite rw = {
            .addr = "198.51.100.7", .port = 2856, .path = "msrps://198.51.100.7:2856/t;tcp",
            .setup = "actpass",
        };
        snprintf(want, sizeof(want),
                 "v=0\r\n"
                 "o=- 1 1 IN IP4 192.0.2.2\r\n"
                 "s=-\r\n"
                 "t=0 0\r\n"
                 "m=message 2856 TCP/TLS/MSRP *\r\n"
                 "c=IN IP4 198.51.100.7\r\n"
                 "a=setup:actpass\r\n"
                 "a=connection:new\r\n"
                 "a=accept-types:*\r\n"
                 "a=path:msrps://198.51.100.7:2856/t;tcp\r\n");
        check_rewrite(sdp, &rw, 1, want);
        /* setup NULL: left as it was. */
        const struct ng_sdp_rewrite keep = {
            .addr = "198.51.100.7", .port = 2856, .path = "msrps://198.51.100.7:2856/t;tcp",
        };
        snprintf(want, sizeof(want),
                 "v=0\r\n"
                 "o=- 1 1 IN IP4 192.0.2.2\r\n"
                 "s=-\r\n"
                 "t=0 0\r\n"
                 "m=message 2856 TCP/TLS/MSRP *\r\n"
                 "c=IN IP4 198.51.100.7\r\n"
                 "a=setup:%s\r\n"
                 "a=connection:new\r\n"
                 "a=accept-types:*\r\n"
                 "a=path:msrps://198.51.100.7:2856/t;tcp\r\n",
                 roles[i]);
        check_rewrite(sdp, &keep, 1, want);
    }
    size_t count;
    with_setup(sdp, sizeof(sdp), "bogus");
    cr_assert_eq(ng_sdp_parse(sdp, strlen(sdp), ms, 8, &count), -EINVAL);
    with_setup(sdp, sizeof(sdp), "");
    cr_assert_eq(ng_sdp_parse(sdp, strlen(sdp), ms, 8, &count), -EINVAL);
}

Test(sdp, session_level_setup_is_inherited_and_overridden)
{
    static const char sdp[] =
        "v=0\r\n"
        "o=- 1 1 IN IP4 192.0.2.3\r\n"
        "s=-\r\n"
        "c=IN IP4 192.0.2.3\r\n"
        "t=0 0\r\n"
        "a=setup:active\r\n"
        "m=message 9 TCP/MSRP *\r\n"
        "a=path:msrp://192.0.2.3:9/s;tcp\r\n";
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
    cr_assert_eq(parse_ok(sdp, ms), 1);
    expect_slice(ms[0].setup, "active", "inherited setup");
    const struct ng_sdp_rewrite rw = {
        .addr = "198.51.100.7", .port = 2855, .path = "msrp://198.51.100.7:2855/gw1a;tcp",
        .setup = "passive",
    };
    /* The session-level a=setup stays; a media-level one after a=path wins. */
    check_rewrite(sdp, &rw, 1,
                  "v=0\r\n"
                  "o=- 1 1 IN IP4 192.0.2.3\r\n"
                  "s=-\r\n"
                  "c=IN IP4 192.0.2.3\r\n"
                  "t=0 0\r\n"
                  "a=setup:active\r\n"
                  "m=message 2855 TCP/MSRP *\r\n"
                  "c=IN IP4 198.51.100.7\r\n"
                  "a=path:msrp://198.51.100.7:2855/gw1a;tcp\r\n"
                  "a=setup:passive\r\n");
}

/* --- addresses, several sections, line endings -------------------------- */

static const char ipv6_offer[] =
    "v=0\r\n"
    "o=alice 1 1 IN IP6 2001:db8::1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "m=message 7654 TCP/MSRP *\r\n"
    "c=IN IP6 2001:db8::1\r\n"
    "a=accept-types:text/plain\r\n"
    "a=path:msrp://[2001:db8::1]:7654/v6s;tcp\r\n"
    "a=max-size:131072\r\n";

Test(sdp, ipv6)
{
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
    cr_assert_eq(parse_ok(ipv6_offer, ms), 1);
    cr_assert(ms[0].addr_ip6);
    expect_slice(ms[0].addr, "2001:db8::1", "addr");
    expect_slice(ms[0].path, "msrp://[2001:db8::1]:7654/v6s;tcp", "path");
    cr_assert(ms[0].has_max_size);
    cr_assert_eq(ms[0].max_size, 131072);
    /* IPv6 to IPv6 */
    const struct ng_sdp_rewrite rw6 = {
        .addr = "2001:db8:ffff::7", .port = 2855, .path = "msrp://[2001:db8:ffff::7]:2855/g6;tcp",
    };
    check_rewrite(ipv6_offer, &rw6, 1,
                  "v=0\r\n"
                  "o=alice 1 1 IN IP6 2001:db8::1\r\n"
                  "s=-\r\n"
                  "t=0 0\r\n"
                  "m=message 2855 TCP/MSRP *\r\n"
                  "c=IN IP6 2001:db8:ffff::7\r\n"
                  "a=accept-types:text/plain\r\n"
                  "a=path:msrp://[2001:db8:ffff::7]:2855/g6;tcp\r\n"
                  "a=max-size:131072\r\n");
    /* IPv6 endpoint anchored on an IPv4 address: the family follows ours. */
    check_rewrite(ipv6_offer, &gw4, 1,
                  "v=0\r\n"
                  "o=alice 1 1 IN IP6 2001:db8::1\r\n"
                  "s=-\r\n"
                  "t=0 0\r\n"
                  "m=message 2855 TCP/MSRP *\r\n"
                  "c=IN IP4 198.51.100.7\r\n"
                  "a=accept-types:text/plain\r\n"
                  "a=path:msrp://198.51.100.7:2855/gw1a;tcp\r\n"
                  "a=max-size:131072\r\n");
}

static const char audio_two_msrp[] =
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=path:not-ours\r\n"
    "a=sendrecv\r\n"
    "m=message 7654 TCP/MSRP *\r\n"
    "a=accept-types:message/cpim\r\n"
    "a=accept-wrapped-types:text/plain\r\n"
    "a=path:msrp://192.0.2.10:7654/chat1;tcp\r\n"
    "a=max-size:65536\r\n"
    "m=message 7655 TCP/TLS/MSRP *\r\n"
    "c=IN IP4 192.0.2.11\r\n"
    "a=file-selector:name:\"a.png\" type:image/png size:1024\r\n"
    "a=sendonly\r\n"
    "a=path:msrps://relay.example.net:2855/r1;tcp msrps://192.0.2.11:7655/file2;tcp\r\n"
    "a=setup:active\r\n"
    "a=max-size:1000000\r\n";

Test(sdp, audio_and_two_msrp_sections)
{
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
    cr_assert_eq(parse_ok(audio_two_msrp, ms), 2);
    cr_assert_eq(ms[0].media_index, 1);
    cr_assert_eq(ms[1].media_index, 2);
    cr_assert(!ms[0].tls && ms[1].tls);
    expect_slice(ms[0].addr, "192.0.2.10", "session-level addr");
    expect_slice(ms[1].addr, "192.0.2.11", "media-level addr");
    expect_slice(ms[1].path, "msrps://relay.example.net:2855/r1;tcp msrps://192.0.2.11:7655/file2;tcp",
                 "two-hop path");
    expect_slice(ms[1].setup, "active", "setup");
    cr_assert_eq(ms[0].max_size, 65536);
    cr_assert_eq(ms[1].max_size, 1000000);

    const struct ng_sdp_rewrite rw[2] = {
        { .addr = "203.0.113.1", .port = 2855, .path = "msrp://203.0.113.1:2855/aa;tcp",
          .setup = "actpass", .max_size_cap = 100000 },
        { .addr = "203.0.113.1", .port = 2856, .path = "msrps://203.0.113.1:2856/bb;tcp",
          .setup = "passive", .max_size_cap = 100000 },
    };
    /* Audio untouched (its a=path too); max-size 65536 kept, 1000000 clamped. */
    check_rewrite(audio_two_msrp, rw, 2,
                  "v=0\r\n"
                  "o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
                  "s=-\r\n"
                  "c=IN IP4 192.0.2.10\r\n"
                  "t=0 0\r\n"
                  "m=audio 49170 RTP/AVP 0 8 101\r\n"
                  "a=rtpmap:0 PCMU/8000\r\n"
                  "a=rtpmap:8 PCMA/8000\r\n"
                  "a=rtpmap:101 telephone-event/8000\r\n"
                  "a=path:not-ours\r\n"
                  "a=sendrecv\r\n"
                  "m=message 2855 TCP/MSRP *\r\n"
                  "c=IN IP4 203.0.113.1\r\n"
                  "a=accept-types:message/cpim\r\n"
                  "a=accept-wrapped-types:text/plain\r\n"
                  "a=path:msrp://203.0.113.1:2855/aa;tcp\r\n"
                  "a=setup:actpass\r\n"
                  "a=max-size:65536\r\n"
                  "m=message 2856 TCP/TLS/MSRP *\r\n"
                  "c=IN IP4 203.0.113.1\r\n"
                  "a=file-selector:name:\"a.png\" type:image/png size:1024\r\n"
                  "a=sendonly\r\n"
                  "a=path:msrps://203.0.113.1:2856/bb;tcp\r\n"
                  "a=setup:passive\r\n"
                  "a=max-size:100000\r\n");

    /* nrw must be the section count. */
    char out[2048];
    cr_assert_eq(ng_sdp_rewrite(audio_two_msrp, strlen(audio_two_msrp), rw, 1, out, sizeof(out)),
                 -EINVAL);
    cr_assert_eq(ng_sdp_rewrite(rfc4975_4_offer, strlen(rfc4975_4_offer), rw, 2, out, sizeof(out)),
                 -EINVAL);
    /* max 1: too many. */
    size_t count = 7;
    cr_assert_eq(ng_sdp_parse(audio_two_msrp, strlen(audio_two_msrp), ms, 1, &count), -E2BIG);
    cr_assert_eq(count, 0);
    /* out NULL: count only. */
    cr_assert_eq(ng_sdp_parse(audio_two_msrp, strlen(audio_two_msrp), NULL, 8, &count), 0);
    cr_assert_eq(count, 2);
}

Test(sdp, max_size_clamp)
{
    static const char sdp[] =
        "v=0\r\n"
        "o=- 1 1 IN IP4 192.0.2.4\r\n"
        "s=-\r\n"
        "c=IN IP4 192.0.2.4\r\n"
        "t=0 0\r\n"
        "m=message 1 TCP/MSRP *\r\n"
        "a=max-size:18446744073709551615\r\n"
        "a=path:msrp://192.0.2.4:1/m;tcp\r\n"
        "m=message 2 TCP/MSRP *\r\n"
        "a=path:msrp://192.0.2.4:2/m;tcp\r\n"
        "m=message 3 TCP/MSRP *\r\n"
        "a=max-size:4096\r\n"
        "a=path:msrp://192.0.2.4:3/m;tcp\r\n";
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
    cr_assert_eq(parse_ok(sdp, ms), 3);
    cr_assert_eq(ms[0].max_size, UINT64_MAX);
    cr_assert(!ms[1].has_max_size);
    struct ng_sdp_rewrite rw[3];
    for (int i = 0; i < 3; i++)
        rw[i] = (struct ng_sdp_rewrite){ .addr = "10.0.0.1", .port = 65535, .path = "msrp://10.0.0.1:65535/x;tcp",
                                         .max_size_cap = 4096 };
    /* Larger: clamped; absent: none added; equal: kept. */
    check_rewrite(sdp, rw, 3,
                  "v=0\r\n"
                  "o=- 1 1 IN IP4 192.0.2.4\r\n"
                  "s=-\r\n"
                  "c=IN IP4 192.0.2.4\r\n"
                  "t=0 0\r\n"
                  "m=message 65535 TCP/MSRP *\r\n"
                  "c=IN IP4 10.0.0.1\r\n"
                  "a=max-size:4096\r\n"
                  "a=path:msrp://10.0.0.1:65535/x;tcp\r\n"
                  "m=message 65535 TCP/MSRP *\r\n"
                  "c=IN IP4 10.0.0.1\r\n"
                  "a=path:msrp://10.0.0.1:65535/x;tcp\r\n"
                  "m=message 65535 TCP/MSRP *\r\n"
                  "c=IN IP4 10.0.0.1\r\n"
                  "a=max-size:4096\r\n"
                  "a=path:msrp://10.0.0.1:65535/x;tcp\r\n");
    /* No cap: every value kept. */
    for (int i = 0; i < 3; i++)
        rw[i].max_size_cap = 0;
    char out[1024];
    int n = ng_sdp_rewrite(sdp, strlen(sdp), rw, 3, out, sizeof(out));
    cr_assert_gt(n, 0);
    cr_assert(memmem(out, (size_t)n, "a=max-size:18446744073709551615\r\n", 33));
    cr_assert_eq(parse_ok(sdp, ms), 3);
}

Test(sdp, lf_only)
{
    static const char sdp[] =
        "v=0\n"
        "o=- 7 7 IN IP4 192.0.2.5\n"
        "s=-\n"
        "c=IN IP4 192.0.2.5\n"
        "t=0 0\n"
        "m=message 7654 TCP/MSRP *\n"
        "a=accept-types:text/plain\n"
        "a=path:msrp://192.0.2.5:7654/lf;tcp\n";
    const struct ng_sdp_rewrite rw = {
        .addr = "198.51.100.7", .port = 2855, .path = "msrp://198.51.100.7:2855/gw1a;tcp",
        .setup = "actpass",
    };
    check_rewrite(sdp, &rw, 1,
                  "v=0\n"
                  "o=- 7 7 IN IP4 192.0.2.5\n"
                  "s=-\n"
                  "c=IN IP4 192.0.2.5\n"
                  "t=0 0\n"
                  "m=message 2855 TCP/MSRP *\n"
                  "c=IN IP4 198.51.100.7\n"
                  "a=accept-types:text/plain\n"
                  "a=path:msrp://198.51.100.7:2855/gw1a;tcp\n"
                  "a=setup:actpass\n");
}

Test(sdp, mixed_line_endings)
{
    static const char sdp[] =
        "v=0\n"
        "o=- 1 1 IN IP4 192.0.2.9\r\n"
        "s=-\n"
        "c=IN IP4 192.0.2.9\n"
        "t=0 0\r\n"
        "m=message 9 TCP/MSRP *\r\n"
        "a=accept-types:*\n"
        "a=path:msrp://192.0.2.9:9/x;tcp\n"
        "m=message 10 TCP/TLS/MSRP *\n"
        "c=IN IP6 2001:db8::9\r\n"
        "a=path:msrps://[2001:db8::9]:10/y;tcp\r\n"
        "a=setup:actpass\n";
    const struct ng_sdp_rewrite rw[2] = {
        { .addr = "203.0.113.5", .port = 2855, .path = "msrp://203.0.113.5:2855/a1;tcp",
          .setup = "active" },
        { .addr = "2001:db8::5", .port = 2856, .path = "msrps://[2001:db8::5]:2856/b2;tcp",
          .setup = "passive" },
    };
    /* Each line keeps its ending; inserted lines take their m= line's. */
    check_rewrite(sdp, rw, 2,
                  "v=0\n"
                  "o=- 1 1 IN IP4 192.0.2.9\r\n"
                  "s=-\n"
                  "c=IN IP4 192.0.2.9\n"
                  "t=0 0\r\n"
                  "m=message 2855 TCP/MSRP *\r\n"
                  "c=IN IP4 203.0.113.5\r\n"
                  "a=accept-types:*\n"
                  "a=path:msrp://203.0.113.5:2855/a1;tcp\n"
                  "a=setup:active\r\n"
                  "m=message 2856 TCP/TLS/MSRP *\n"
                  "c=IN IP6 2001:db8::5\r\n"
                  "a=path:msrps://[2001:db8::5]:2856/b2;tcp\r\n"
                  "a=setup:passive\n");
}

Test(sdp, last_line_without_ending)
{
    static const char sdp[] =
        "v=0\r\n"
        "o=- 1 1 IN IP4 h.example\r\n"
        "s=-\r\n"
        "t=0 0\r\n"
        "m=message 5 TCP/MSRP *\r\n"
        "c=IN IP4 h.example\r\n"
        "a=path:msrp://h.example:5/s;tcp";
    const struct ng_sdp_rewrite rw = {
        .addr = "192.0.2.77", .port = 7, .path = "msrp://192.0.2.77:7/p;tcp", .setup = "actpass",
    };
    check_rewrite(sdp, &rw, 1,
                  "v=0\r\n"
                  "o=- 1 1 IN IP4 h.example\r\n"
                  "s=-\r\n"
                  "t=0 0\r\n"
                  "m=message 7 TCP/MSRP *\r\n"
                  "c=IN IP4 192.0.2.77\r\n"
                  "a=path:msrp://192.0.2.77:7/p;tcp\r\n"
                  "a=setup:actpass");
    const struct ng_sdp_rewrite keep = { .addr = "192.0.2.77", .port = 7, .path = "msrp://192.0.2.77:7/p;tcp" };
    check_rewrite(sdp, &keep, 1,
                  "v=0\r\n"
                  "o=- 1 1 IN IP4 h.example\r\n"
                  "s=-\r\n"
                  "t=0 0\r\n"
                  "m=message 7 TCP/MSRP *\r\n"
                  "c=IN IP4 192.0.2.77\r\n"
                  "a=path:msrp://192.0.2.77:7/p;tcp");
}

/* --- what is not an MSRP section ---------------------------------------- */

Test(sdp, not_msrp_sections_copied_verbatim)
{
    static const char sdp[] =
        "v=0\r\n"
        "o=- 1 1 IN IP4 192.0.2.6\r\n"
        "s=-\r\n"
        "c=IN IP4 192.0.2.6\r\n"
        "t=0 0\r\n"
        "m=message 0 TCP/MSRP *\r\n"              /* rejected: no a=path needed */
        "m=message 7000 TCP/WSS/MSRP *\r\n"       /* RFC 7977: not anchored here */
        "a=path:msrps://ws.example/x;ws\r\n"
        "m=audio 99999 RTP/AVP 0\n"               /* not ours to judge */
        "m=video 9 RTP/AVP 96\r\n"
        "\r\n";
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
    cr_assert_eq(parse_ok(sdp, ms), 0);
    char out[512];
    cr_assert_eq(ng_sdp_rewrite(sdp, strlen(sdp), NULL, 0, out, sizeof(out)), (int)strlen(sdp));
    cr_assert(memcmp(out, sdp, strlen(sdp)) == 0);

    static const char session_only[] = "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n";
    cr_assert_eq(parse_ok(session_only, ms), 0);
    cr_assert_eq(parse_ok("v=0", ms), 0);

    /* Port 0 section before an MSRP one: media_index still counts it. */
    static const char rejected_first[] =
        "v=0\r\nc=IN IP4 h\r\nm=message 0 TCP/MSRP *\r\nm=message 1 TCP/MSRP *\r\na=path:msrp://h:1/s;tcp\r\n";
    cr_assert_eq(parse_ok(rejected_first, ms), 1);
    cr_assert_eq(ms[0].media_index, 1);
}

Test(sdp, values_are_trimmed_and_names_case_insensitive)
{
    static const char sdp[] =
        "v=0\r\n"
        "c=IN IP4 192.0.2.8\r\n"
        "m=MESSAGE 00042 tcp/msrp *\r\n"
        "A=path:x\r\n"                             /* not an a= line: verbatim */
        "a=Path: msrp://192.0.2.8:42/t;tcp \r\n"
        "a=SETUP:\tpassive\r\n"
        "a=Max-Size: 77\r\n"
        "a=msrp-cema\r\n"
        "a=msrp-cema\r\n";
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
    cr_assert_eq(parse_ok(sdp, ms), 1);
    cr_assert_eq(ms[0].port, 42);
    expect_slice(ms[0].path, "msrp://192.0.2.8:42/t;tcp", "path");
    expect_slice(ms[0].setup, "passive", "setup");
    cr_assert_eq(ms[0].max_size, 77);
    cr_assert(ms[0].cema);
    const struct ng_sdp_rewrite rw = { .addr = "192.0.2.200", .port = 2855, .path = "msrp://g/x;tcp",
                                       .setup = "active", .max_size_cap = 10 };
    check_rewrite(sdp, &rw, 1,
                  "v=0\r\n"
                  "c=IN IP4 192.0.2.8\r\n"
                  "m=MESSAGE 2855 tcp/msrp *\r\n"
                  "c=IN IP4 192.0.2.200\r\n"
                  "A=path:x\r\n"
                  "a=Path:msrp://g/x;tcp\r\n"
                  "a=SETUP:active\r\n"
                  "a=Max-Size:10\r\n"
                  "a=msrp-cema\r\n"
                  "a=msrp-cema\r\n");
}

/* --- hostile input ------------------------------------------------------ */

#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
#define CLINE "c=IN IP4 192.0.2.1\r\n"
#define PATH "a=path:msrp://192.0.2.1:7654/s;tcp\r\n"

static const struct {
    const char *sdp;
    int rc;
} hostile[] = {
    { "", -EINVAL },
    { "o=- 1 1 IN IP4 h\r\nv=0\r\n", -EINVAL },                       /* v= not first */
    { "\r\nv=0\r\n", -EINVAL },
    { "V=0\r\n", -EINVAL },
    { "m=message 7654 TCP/MSRP *\r\n" CLINE PATH, -EINVAL },
    { HEAD CLINE "m=message 99999 TCP/MSRP *\r\n" PATH, -EINVAL },
    { HEAD CLINE "m=message 65536 TCP/MSRP *\r\n" PATH, -EINVAL },
    { HEAD CLINE "m=message 184467440737095516160 TCP/MSRP *\r\n" PATH, -EINVAL },
    { HEAD CLINE "m=message -1 TCP/MSRP *\r\n" PATH, -EINVAL },
    { HEAD CLINE "m=message 76a4 TCP/MSRP *\r\n" PATH, -EINVAL },
    { HEAD CLINE "m=message 7654/2 TCP/MSRP *\r\n" PATH, -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP\r\n" PATH, -EINVAL },       /* no fmt */
    { HEAD CLINE "m=message 7654\r\n" PATH, -EINVAL },
    { HEAD CLINE "m=message\r\n" PATH, -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\n", -EINVAL },          /* no a=path */
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\na=accept-types:text/plain\r\nm=audio 1 RTP/AVP 0\r\n" PATH, -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\na=path:\r\n", -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\na=path:   \r\n", -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\na=path\r\n", -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\n" PATH PATH, -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\na=path:msrp://h/\x01;tcp\r\n", -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\na=path:msrp://h/\x7f;tcp\r\n", -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\na=path:msrp://h/a\rb;tcp\r\n", -EINVAL },
    { HEAD "m=message 7654 TCP/MSRP *\r\n" PATH, -EINVAL },             /* no c= at all */
    { HEAD CLINE CLINE "m=message 7654 TCP/MSRP *\r\n" PATH, -EINVAL }, /* which one? */
    { HEAD "m=message 7654 TCP/MSRP *\r\n" CLINE CLINE PATH, -EINVAL },
    { HEAD "m=message 7654 TCP/MSRP *\r\nc=IN IP4\r\n" PATH, -EINVAL },
    { HEAD "m=message 7654 TCP/MSRP *\r\nc=IN IPX 192.0.2.1\r\n" PATH, -EINVAL },
    { HEAD "m=message 7654 TCP/MSRP *\r\nc=ATM NSAP 47.0005\r\n" PATH, -EINVAL },
    { HEAD "m=message 7654 TCP/MSRP *\r\nc=IN IP4 224.2.0.1/127\r\n" PATH, -EINVAL },
    { HEAD "m=message 7654 TCP/MSRP *\r\nc=IN IP4 192.0.2.1 x\r\n" PATH, -EINVAL },
    { HEAD "m=message 7654 TCP/MSRP *\r\nc=\r\n" PATH, -EINVAL },
    { HEAD "c=IN IP4\r\nm=message 7654 TCP/MSRP *\r\n" PATH, -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\n" PATH "a=setup:bogus\r\n", -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\n" PATH "a=setup:active\r\na=setup:active\r\n", -EINVAL },
    { HEAD CLINE "a=setup:x\r\nm=message 7654 TCP/MSRP *\r\n" PATH, -EINVAL },
    { HEAD CLINE "a=setup:active\r\na=setup:passive\r\nm=message 7654 TCP/MSRP *\r\n" PATH, -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\n" PATH "a=max-size:12x\r\n", -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\n" PATH "a=max-size:\r\n", -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\n" PATH "a=max-size:18446744073709551616\r\n", -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\n" PATH "a=max-size:1\r\na=max-size:1\r\n", -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\n" PATH "a=accept-types:a\r\na=accept-types:b\r\n", -EINVAL },
    { HEAD CLINE "m=message 7654 TCP/MSRP *\r\n" PATH "a=accept-types:text/\x02plain\r\n", -EINVAL },
    { HEAD "s=bare\rCR\r\n", -EINVAL },                                 /* anywhere */
    { HEAD "m=audio 1 RTP/AVP 0\r\na=x\ry\r\n", -EINVAL },
    { "v=0\r\r\n", -EINVAL },
};

Test(sdp, hostile_inputs_table)
{
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        const char *s = hostile[i].sdp;
        struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
        size_t count = 5;
        int rc = ng_sdp_parse(s, strlen(s), ms, NG_SDP_MAX_MSRP, &count);
        cr_assert_eq(rc, hostile[i].rc, "#%zu: rc %d, want %d:\n%s", i, rc, hostile[i].rc, s);
        cr_assert_eq(count, 0, "#%zu: count set on error", i);
        /* The rewrite refuses the same bodies, whatever nrw. */
        const struct ng_sdp_rewrite rw[2] = { gw4, gw4 };
        char out[1024];
        for (size_t nrw = 0; nrw <= 2; nrw++)
            cr_assert_lt(ng_sdp_rewrite(s, strlen(s), rw, nrw, out, sizeof(out)), 0, "#%zu nrw %zu", i, nrw);
    }
}

Test(sdp, nul_bytes)
{
    static const char good[] = HEAD CLINE "m=message 7654 TCP/MSRP *\r\n" PATH;
    size_t n = sizeof(good) - 1;
    char buf[sizeof(good)];
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
    size_t count;
    cr_assert_eq(ng_sdp_parse(good, n, ms, 8, &count), 0);
    cr_assert_eq(count, 1);
    /* A NUL anywhere, even in the line endings or the session part, is refused. */
    for (size_t i = 0; i < n; i++) {
        memcpy(buf, good, n);
        buf[i] = '\0';
        int rc = ng_sdp_parse(buf, n, ms, 8, &count);
        cr_assert_lt(rc, 0, "NUL at %zu accepted", i);
        char out[512];
        cr_assert_lt(ng_sdp_rewrite(buf, n, &gw4, 1, out, sizeof(out)), 0);
    }
    /* The length is the caller's: counting a C string's terminator in is refused. */
    cr_assert_eq(ng_sdp_parse(good, n + 1, ms, 8, &count), -EINVAL);
    cr_assert_eq(ng_sdp_parse(NULL, 0, ms, 8, &count), -EINVAL);
}

static char *msrp_sections(size_t k, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, HEAD CLINE);
    for (size_t i = 0; i < k; i++)
        n += (size_t)snprintf(buf + n, cap - n,
                              "m=message %zu TCP/MSRP *\r\na=path:msrp://192.0.2.1:%zu/s%zu;tcp\r\n",
                              7000 + i, 7000 + i, i);
    return buf;
}

Test(sdp, too_many_sections)
{
    char sdp[4096];
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP + 1];
    size_t count;
    msrp_sections(NG_SDP_MAX_MSRP, sdp, sizeof(sdp));
    cr_assert_eq(ng_sdp_parse(sdp, strlen(sdp), ms, NG_SDP_MAX_MSRP, &count), 0);
    cr_assert_eq(count, NG_SDP_MAX_MSRP);
    for (size_t i = 0; i < count; i++)
        cr_assert_eq(ms[i].port, 7000 + i);

    msrp_sections(NG_SDP_MAX_MSRP + 1, sdp, sizeof(sdp));
    cr_assert_eq(ng_sdp_parse(sdp, strlen(sdp), ms, NG_SDP_MAX_MSRP, &count), -E2BIG);
    cr_assert_eq(count, 0);
    /* max is the caller's: with room for 9, 9 parse. */
    cr_assert_eq(ng_sdp_parse(sdp, strlen(sdp), ms, NG_SDP_MAX_MSRP + 1, &count), 0);
    cr_assert_eq(count, NG_SDP_MAX_MSRP + 1);
    cr_assert_eq(ng_sdp_parse(sdp, strlen(sdp), ms, 0, &count), -E2BIG);
}

Test(sdp, very_long_lines)
{
    size_t cap = 3 * NG_SDP_MAX_LINE;
    char *sdp = malloc(cap), *out = malloc(2 * cap);
    struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
    size_t count;
    cr_assert(sdp && out);
    for (size_t len = NG_SDP_MAX_LINE - 1; len <= NG_SDP_MAX_LINE + 1; len++) {
        /* A long attribute in an audio section. */
        size_t n = (size_t)snprintf(sdp, cap, HEAD CLINE "m=audio 1 RTP/AVP 0\r\n"), at = n;
        memcpy(sdp + n, "a=x:", 4);
        memset(sdp + n + 4, 'y', len - 4);
        n += len;
        n += (size_t)snprintf(sdp + n, cap - n, "\r\nm=message 7654 TCP/MSRP *\r\n" PATH);
        int rc = ng_sdp_parse(sdp, n, ms, 8, &count);
        cr_assert_eq(rc, len <= NG_SDP_MAX_LINE ? 0 : -EINVAL, "line of %zu: rc %d", len, rc);
        if (!rc) {
            int w = ng_sdp_rewrite(sdp, n, &gw4, 1, out, 2 * cap);
            cr_assert_gt(w, 0);
            cr_assert(memmem(out, (size_t)w, sdp + at, len + 2), "long line kept");
        }
    }
    /* An MSRP m= line must leave room for a 5-digit port. */
    for (size_t len = NG_SDP_MAX_LINE - 6; len <= NG_SDP_MAX_LINE; len++) {
        size_t n = (size_t)snprintf(sdp, cap, HEAD CLINE "m=message 1 TCP/MSRP");
        size_t fill = len - strlen("m=message 1 TCP/MSRP");
        memset(sdp + n, ' ', fill);
        sdp[n + fill - 1] = '*';
        n += fill;
        n += (size_t)snprintf(sdp + n, cap - n, "\r\n" PATH);
        int rc = ng_sdp_parse(sdp, n, ms, 8, &count);
        cr_assert_eq(rc, len + 4 <= NG_SDP_MAX_LINE ? 0 : -EINVAL, "m= line of %zu: rc %d", len, rc);
        if (!rc) {
            const struct ng_sdp_rewrite rw = { .addr = "1.2.3.4", .port = 65535, .path = "msrp://1.2.3.4:65535/s;tcp" };
            int w = ng_sdp_rewrite(sdp, n, &rw, 1, out, 2 * cap);
            cr_assert_gt(w, 0);
            cr_assert_eq(ng_sdp_parse(out, (size_t)w, ms, 8, &count), 0);
            cr_assert_eq(ms[0].port, 65535);
        }
    }
    /* A path as long as a line may be, and one byte more. */
    size_t n = (size_t)snprintf(sdp, cap, HEAD CLINE "m=message 7654 TCP/MSRP *\r\na=path:");
    size_t plen = NG_SDP_MAX_LINE - 7;
    memset(sdp + n, 'p', plen);
    memcpy(sdp + n + plen, "\r\n", 2);
    cr_assert_eq(ng_sdp_parse(sdp, n + plen + 2, ms, 8, &count), 0);
    cr_assert_eq(ms[0].path.n, plen);
    sdp[n + plen] = 'p';
    memcpy(sdp + n + plen + 1, "\r\n", 2);
    cr_assert_eq(ng_sdp_parse(sdp, n + plen + 3, ms, 8, &count), -EINVAL);
    free(sdp);
    free(out);
}

Test(sdp, rewrite_refuses_bad_values)
{
    const char *s = rfc4975_4_offer;
    size_t n = strlen(s);
    char out[1024];
    static char longp[NG_SDP_MAX_LINE];
    memset(longp, 'p', sizeof(longp) - 1);
    const struct ng_sdp_rewrite bad[] = {
        { .addr = NULL, .port = 1, .path = "msrp://h/s;tcp" },
        { .addr = "", .port = 1, .path = "msrp://h/s;tcp" },
        { .addr = "1.2.3.4\r\na=evil", .port = 1, .path = "msrp://h/s;tcp" },
        { .addr = "1.2.3.4 5", .port = 1, .path = "msrp://h/s;tcp" },
        { .addr = "224.0.0.1/3", .port = 1, .path = "msrp://h/s;tcp" },
        { .addr = "1.2.3.4", .port = 0, .path = "msrp://h/s;tcp" },
        { .addr = "1.2.3.4", .port = 1, .path = NULL },
        { .addr = "1.2.3.4", .port = 1, .path = "" },
        { .addr = "1.2.3.4", .port = 1, .path = "msrp://h/s;tcp\r\nm=audio 1 RTP/AVP 0" },
        { .addr = "1.2.3.4", .port = 1, .path = " msrp://h/s;tcp" },
        { .addr = "1.2.3.4", .port = 1, .path = "msrp://h/s;tcp " },
        { .addr = "1.2.3.4", .port = 1, .path = "msrp://h/s;tcp", .setup = "" },
        { .addr = "1.2.3.4", .port = 1, .path = "msrp://h/s;tcp", .setup = "active\r\n" },
        { .addr = "1.2.3.4", .port = 1, .path = longp },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(ng_sdp_rewrite(s, n, &bad[i], 1, out, sizeof(out)), -EINVAL, "#%zu", i);
    cr_assert_eq(ng_sdp_rewrite(s, n, NULL, 1, out, sizeof(out)), -EINVAL);
    cr_assert_eq(ng_sdp_rewrite(s, n, &gw4, 1, NULL, 10), -EINVAL);
    cr_assert_eq(ng_sdp_rewrite(NULL, 0, &gw4, 1, out, sizeof(out)), -EINVAL);
    longp[NG_SDP_MAX_LINE - 7] = '\0'; /* "a=path:" + this: exactly a full line */
    const struct ng_sdp_rewrite full = { .addr = "1.2.3.4", .port = 1, .path = longp };
    static char big[2 * NG_SDP_MAX_LINE];
    cr_assert_gt(ng_sdp_rewrite(s, n, &full, 1, big, sizeof(big)), 0);
}

/* Seeds mutated by a fixed PRNG: no crash, parse and rewrite agree, and
 * anything that parses rewrites into n + 512 per section and parses back. */
Test(sdp, mutations_agree)
{
    const char *seeds[] = { rfc4975_4_offer, rfc4975_10_1_answer, cema_offer, ipv6_offer, audio_two_msrp };
    uint64_t x = 0x9E3779B97F4A7C15ull;
    static const char alphabet[] = "\r\n \t:/=*acmpv0123456789\0\x7f";
    char buf[2048], out[2048 + 512 * NG_SDP_MAX_MSRP];
    for (int iter = 0; iter < 20000; iter++) {
        const char *seed = seeds[iter % 5];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        for (int k = 0; k < 1 + iter % 4; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t at = (size_t)(x % n);
            switch ((x >> 32) % 3) {
            case 0: buf[at] = alphabet[(x >> 40) % (sizeof(alphabet) - 1)]; break;
            case 1: n = at + 1; break;                                /* truncate */
            case 2: memmove(buf + at, buf + at + 1, n - at - 1); n--; break; /* delete */
            }
            if (!n)
                break;
        }
        struct ng_sdp_msrp ms[NG_SDP_MAX_MSRP];
        size_t count;
        if (ng_sdp_parse(buf, n, ms, NG_SDP_MAX_MSRP, &count) != 0)
            continue;
        struct ng_sdp_rewrite rw[NG_SDP_MAX_MSRP];
        for (size_t i = 0; i < count; i++)
            rw[i] = (struct ng_sdp_rewrite){ .addr = "2001:db8::77", .port = 40000,
                                             .path = "msrp://[2001:db8::77]:40000/z;tcp",
                                             .setup = "active", .max_size_cap = 1000 };
        int w = ng_sdp_rewrite(buf, n, rw, count, out, n + 512 * count);
        cr_assert_geq(w, 0, "iter %d: rc %d", iter, w);
        size_t c2;
        cr_assert_eq(ng_sdp_parse(out, (size_t)w, ms, NG_SDP_MAX_MSRP, &c2), 0, "iter %d", iter);
        cr_assert_eq(c2, count);
        for (size_t i = 0; i < c2; i++) {
            cr_assert_eq(ms[i].port, 40000);
            expect_slice(ms[i].path, "msrp://[2001:db8::77]:40000/z;tcp", "path");
        }
    }
}
