/* test_uri.c: MSRP URI parsing, formatting, RFC 4975 6.1 comparison, paths. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "proto/error.h"
#include "proto/uri.h"

static void expect_slice(struct msrp_slice s, const char *want, const char *what, const char *uri)
{
    cr_assert(s.n == strlen(want) && (s.n == 0 || memcmp(s.p, want, s.n) == 0),
              "%s: %s is '%.*s', want '%s'", uri, what, (int)s.n, s.p ? s.p : "", want);
}

struct good {
    const char *text;
    enum msrp_scheme scheme;
    const char *user, *host;
    bool v6;
    int port; /* -1: absent */
    const char *sid, *transport, *params;
};

static const struct good goods[] = {
    { "msrp://atlanta.example.com:7654/jshA7weztas;tcp", MSRP_SCHEME_MSRP, "", "atlanta.example.com", false, 7654, "jshA7weztas", "tcp", "" },
    { "msrps://alice@192.0.2.1:2855/s1;tcp", MSRP_SCHEME_MSRPS, "alice", "192.0.2.1", false, 2855, "s1", "tcp", "" },
    { "MSRP://Relay.Example.COM;tcp", MSRP_SCHEME_MSRP, "", "Relay.Example.COM", false, -1, "", "tcp", "" },
    { "MsRpS://[2001:db8::1]:9/abc;tcp", MSRP_SCHEME_MSRPS, "", "2001:db8::1", true, 9, "abc", "tcp", "" },
    { "msrp://[::1]/x;TCP", MSRP_SCHEME_MSRP, "", "::1", true, -1, "x", "TCP", "" },
    { "msrp://h:65535/a+b=c/d-_.~;sctp;foo=bar;baz", MSRP_SCHEME_MSRP, "", "h", false, 65535, "a+b=c/d-_.~", "sctp", "foo=bar;baz" },
    { "msrp://u:pw;x=1@h:1/s;tcp", MSRP_SCHEME_MSRP, "u:pw;x=1", "h", false, 1, "s", "tcp", "" },
    { "msrp://b%41r.example/s;tcp", MSRP_SCHEME_MSRP, "", "b%41r.example", false, -1, "s", "tcp", "" },
    { "msrp://h:002855/s;tcp;a=b", MSRP_SCHEME_MSRP, "", "h", false, 2855, "s", "tcp", "a=b" },
    { "msrp://h;ws", MSRP_SCHEME_MSRP, "", "h", false, -1, "", "ws", "" },
};

Test(uri, parses_valid_table)
{
    for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
        const struct good *g = &goods[i];
        struct msrp_uri u;
        int rc = msrp_uri_parse(&u, g->text, strlen(g->text), 1024);
        cr_assert_eq(rc, 0, "%s: rc %d (%s)", g->text, rc, msrp_strerror(rc));
        cr_assert_eq(u.scheme, g->scheme, "%s scheme", g->text);
        expect_slice(u.user, g->user, "user", g->text);
        expect_slice(u.host, g->host, "host", g->text);
        cr_assert_eq(u.host_is_ipv6, g->v6, "%s v6", g->text);
        cr_assert_eq(u.has_port, g->port >= 0, "%s has_port", g->text);
        if (g->port >= 0)
            cr_assert_eq(u.port, g->port, "%s port", g->text);
        cr_assert_eq(msrp_uri_port(&u), g->port >= 0 ? g->port : 2855, "%s msrp_uri_port", g->text);
        expect_slice(u.session_id, g->sid, "session_id", g->text);
        expect_slice(u.transport, g->transport, "transport", g->text);
        expect_slice(u.params, g->params, "params", g->text);
        expect_slice(u.raw, g->text, "raw", g->text);
    }
}

static const char *bads[] = {
    "",
    "msrp:",
    "msrp://",
    "sip://h;tcp",
    "msrp:/h;tcp",
    "msrp://h",                 /* missing transport */
    "msrp://h/s",               /* missing transport */
    "msrp://h/s;",              /* empty transport */
    "msrp://;tcp",              /* empty host */
    "msrp://u@;tcp",            /* empty host after userinfo */
    "msrp://h:0/s;tcp",         /* port 0 */
    "msrp://h:65536/s;tcp",     /* port too large */
    "msrp://h:99999999999999999999/s;tcp",
    "msrp://h:/s;tcp",          /* empty port */
    "msrp://h:12a/s;tcp",
    "msrp://h/;tcp",            /* empty session id */
    "msrp://h/a b;tcp",         /* space inside */
    "msrp://h/a\tb;tcp",
    "msrp://h/a\r\nb;tcp",
    "msrp://h/a%20;tcp",        /* '%' not allowed in a session id */
    "msrp://h/a\x01;tcp",
    "msrp://h\x7f/a;tcp",
    "msrp://h/a;tcp;",          /* trailing ';' */
    "msrp://h/a;tcp;;x",
    "msrp://h/a;tcp;=x",
    "msrp://h/a;tcp;x=",
    "msrp://h/a;tcp;x=\"y\"",
    "msrp://h/a;t-p",           /* transport is 1*ALPHANUM */
    "msrp://[2001:db8::1/s;tcp",
    "msrp://[2001:db8::g]/s;tcp",
    "msrp://[]/s;tcp",
    "msrp://[1.2.3.4]/s;tcp",
    "msrp://h%4/s;tcp",         /* truncated pct-encoding */
    "msrp://h%zz/s;tcp",
    "msrp://a@b@h/s;tcp",
    "msrp://u ser@h/s;tcp",
    "msrp://h/s@x;tcp",
    "msrp://h x/s;tcp",
    "msrp://h/s;tcp ",
    " msrp://h/s;tcp",
};

Test(uri, rejects_invalid_table)
{
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        struct msrp_uri u;
        int rc = msrp_uri_parse(&u, bads[i], strlen(bads[i]), 1024);
        cr_assert_eq(rc, MSRP_E_URI, "'%s': rc %d (%s), want bad_uri", bads[i], rc,
                     msrp_strerror(rc));
    }
    /* An embedded NUL is a control byte like any other. */
    struct msrp_uri u;
    cr_assert_eq(msrp_uri_parse(&u, "msrp://h/a\0b;tcp", 16, 0), MSRP_E_URI);
    /* Also inside an IPv6 literal, where inet_pton would stop at it and
     * let the bytes after it into the host (fuzz_uri: an '@' there, and
     * the formatted URI without its empty userinfo no longer parsed). */
    static const char v6nul[] = "msrp://@[70::\0z,t@x1]/s;tcp";
    cr_assert_eq(msrp_uri_parse(&u, v6nul, sizeof(v6nul) - 1, 0), MSRP_E_URI);
    static const char v6zone[] = "msrp://[fe80::1%eth0]/s;tcp";
    cr_assert_eq(msrp_uri_parse(&u, v6zone, sizeof(v6zone) - 1, 0), MSRP_E_URI);
}

Test(uri, length_limit)
{
    const char *t = "msrp://host.example:1/abc;tcp"; /* 29 chars */
    struct msrp_uri u;
    cr_assert_eq(msrp_uri_parse(&u, t, strlen(t), 29), 0);
    cr_assert_eq(msrp_uri_parse(&u, t, strlen(t), 28), MSRP_E_URI_TOO_LONG);
    cr_assert_eq(msrp_uri_parse(&u, t, strlen(t), 0), 0); /* 0: unbounded */
}

static bool eq(const char *a, const char *b)
{
    struct msrp_uri ua, ub;
    cr_assert_eq(msrp_uri_parse(&ua, a, strlen(a), 0), 0, "%s", a);
    cr_assert_eq(msrp_uri_parse(&ub, b, strlen(b), 0), 0, "%s", b);
    bool r = msrp_uri_equal(&ua, &ub);
    cr_assert_eq(r, msrp_uri_equal(&ub, &ua), "equality not symmetric: %s %s", a, b);
    /* msrp_uri_key: equal keys exactly for equal URIs. */
    char ka[256], kb[256];
    size_t na = msrp_uri_key(&ua, ka, sizeof(ka)), nb = msrp_uri_key(&ub, kb, sizeof(kb));
    cr_assert(na <= sizeof(ka) && nb <= sizeof(kb));
    cr_assert_leq(na, ua.raw.n + MSRP_URI_KEY_SLACK);
    bool keq = na == nb && memcmp(ka, kb, na) == 0;
    cr_assert_eq(keq, r, "key equality differs from msrp_uri_equal: %s %s", a, b);
    return r;
}

/* RFC 4975 section 6.1, one pair per rule. */
Test(uri, rfc4975_6_1_equal_pairs)
{
    static const char *pairs[][2] = {
        { "msrp://h.example:1/s;tcp", "MSRP://h.example:1/s;tcp" },        /* scheme case */
        { "msrp://h.example:1/s;tcp", "msrp://H.EXAMPLE:1/s;tcp" },        /* host case */
        { "msrp://alice@h:1/s;tcp", "msrp://bob@h:1/s;tcp" },             /* userinfo ignored */
        { "msrp://alice@h:1/s;tcp", "msrp://h:1/s;tcp" },
        { "msrp://h:1/s;tcp", "msrp://h:1/s;TCP" },                       /* transport case */
        { "msrp://h:1/s;tcp;a=b", "msrp://h:1/s;tcp;c=d" },               /* params ignored */
        { "msrp://h:01/s;tcp", "msrp://h:1/s;tcp" },                      /* port value */
        { "msrp://b%41r.example/s;tcp", "msrp://bar.example/s;tcp" },     /* pct-decoding */
        { "msrp://b%61r.example/s;tcp", "msrp://BAR.example/s;tcp" },
        { "msrp://a%2Cb/s;tcp", "msrp://a%2cb/s;tcp" },                   /* hex case */
        { "msrp://[2001:db8::1]:1/s;tcp", "msrp://[2001:DB8:0:0::1]:1/s;tcp" }, /* address */
        { "msrp://h;tcp", "msrp://h;tcp" },                               /* no session id */
        { "msrps://h/s;tcp", "msrps://h/s;tcp" },                         /* both portless */
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        cr_assert(eq(pairs[i][0], pairs[i][1]), "want equal: %s == %s", pairs[i][0], pairs[i][1]);
}

Test(uri, rfc4975_6_1_unequal_pairs)
{
    static const char *pairs[][2] = {
        { "msrp://h:1/s;tcp", "msrps://h:1/s;tcp" },          /* scheme */
        { "msrp://h:1/s;tcp", "msrp://g:1/s;tcp" },           /* host */
        { "msrp://h:1/s;tcp", "msrp://h:2/s;tcp" },           /* port */
        /* "A URI with an explicit port is never equivalent to another with
         * no port specified", even the default one. */
        { "msrp://h:2855/s;tcp", "msrp://h/s;tcp" },
        { "msrp://h:1/s;tcp", "msrp://h:1/S;tcp" },           /* session id is case-sensitive */
        { "msrp://h:1/s;tcp", "msrp://h:1;tcp" },             /* session id present vs absent */
        { "msrp://h:1/s;tcp", "msrp://h:1/s;sctp" },          /* transport */
        { "msrp://a%2Cb/s;tcp", "msrp://a,b/s;tcp" },         /* encoded reserved != literal */
        { "msrp://[::1]/s;tcp", "msrp://localhost/s;tcp" },   /* no DNS */
        { "msrp://[::1]/s;tcp", "msrp://[::2]/s;tcp" },
        { "msrp://hh/s;tcp", "msrp://h/s;tcp" },
        /* Key fields cannot run into each other. */
        { "msrp://h:11636/s;cp", "msrp://h/s;tcp" },
        { "msrp://h/a;tcp", "msrp://h/a;tcp2" },
        { "msrp://h:1/s;tcp", "msrp://h:256/s;tcp" },
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        cr_assert(!eq(pairs[i][0], pairs[i][1]), "want unequal: %s != %s", pairs[i][0], pairs[i][1]);
}

Test(uri, format_canonical_and_round_trip)
{
    static const char *io[][2] = {
        { "MSRPS://Alice@Host.Example:002855/AbC;TCP;X=y", "msrps://Alice@Host.Example:2855/AbC;tcp;X=y" },
        { "msrp://[2001:db8::1]/s;tcp", "msrp://[2001:db8::1]/s;tcp" },
        { "msrp://h;ws", "msrp://h;ws" },
        { "msrp://h:65535/a/b;tcp;k", "msrp://h:65535/a/b;tcp;k" },
    };
    for (size_t i = 0; i < sizeof(io) / sizeof(io[0]); i++) {
        struct msrp_uri u, v;
        char buf[256];
        cr_assert_eq(msrp_uri_parse(&u, io[i][0], strlen(io[i][0]), 0), 0);
        size_t n = msrp_uri_format(&u, buf, sizeof(buf));
        cr_assert_eq(n, strlen(io[i][1]), "%s -> %s", io[i][0], buf);
        cr_assert_str_eq(buf, io[i][1]);
        cr_assert_eq(msrp_uri_parse(&v, buf, n, 0), 0);
        cr_assert(msrp_uri_equal(&u, &v), "%s", buf);
        cr_assert(msrp_slice_eq(u.user, v.user) && msrp_slice_eq(u.params, v.params));
    }
}

Test(uri, format_truncates_like_snprintf)
{
    const char *t = "msrp://h:1/s;tcp";
    struct msrp_uri u;
    cr_assert_eq(msrp_uri_parse(&u, t, strlen(t), 0), 0);
    char buf[32];
    for (size_t cap = 0; cap <= strlen(t) + 1; cap++) {
        memset(buf, 'Z', sizeof(buf));
        size_t n = msrp_uri_format(&u, buf, cap);
        cr_assert_eq(n, strlen(t));
        if (cap) {
            cr_assert_eq(strlen(buf), cap - 1 < n ? cap - 1 : n);
            cr_assert_eq(memcmp(buf, t, strlen(buf)), 0);
        }
        cr_assert_eq(buf[cap], 'Z', "wrote past cap %zu", cap);
    }
}

Test(uri, path_split)
{
    struct msrp_uri p[4];
    const char *s = "msrp://r1:1/a;tcp msrp://r2/b;tcp\t \tmsrps://[::1]:3/c;tcp";
    int n = msrp_path_parse(p, 4, s, strlen(s), 1024);
    cr_assert_eq(n, 3);
    expect_slice(p[0].host, "r1", "host0", s);
    expect_slice(p[1].raw, "msrp://r2/b;tcp", "raw1", s);
    expect_slice(p[2].host, "::1", "host2", s);
    cr_assert_eq(p[2].port, 3);

    /* folded whitespace between URIs */
    const char *f = "msrp://a/x;tcp\r\n msrp://b/y;tcp";
    cr_assert_eq(msrp_path_parse(p, 4, f, strlen(f), 0), 2);
    expect_slice(p[1].host, "b", "host", f);

    /* leading/trailing whitespace tolerated */
    const char *w = "  msrp://a/x;tcp  ";
    cr_assert_eq(msrp_path_parse(p, 4, w, strlen(w), 0), 1);
    expect_slice(p[0].raw, "msrp://a/x;tcp", "raw", w);
}

Test(uri, path_limits_and_errors)
{
    struct msrp_uri p[2];
    const char *three = "msrp://a/x;tcp msrp://b/y;tcp msrp://c/z;tcp";
    cr_assert_eq(msrp_path_parse(p, 2, three, strlen(three), 0), MSRP_E_TOO_MANY_URIS);
    cr_assert_eq(msrp_path_parse(p, 2, "", 0, 0), MSRP_E_URI);
    cr_assert_eq(msrp_path_parse(p, 2, "   ", 3, 0), MSRP_E_URI);
    const char *bare_lf = "msrp://a/x;tcp\nmsrp://b/y;tcp";
    cr_assert_eq(msrp_path_parse(p, 2, bare_lf, strlen(bare_lf), 0), MSRP_E_URI);
    const char *crlf_nows = "msrp://a/x;tcp\r\nmsrp://b/y;tcp";
    cr_assert_eq(msrp_path_parse(p, 2, crlf_nows, strlen(crlf_nows), 0), MSRP_E_URI);
    const char *one_bad = "msrp://a/x;tcp msrp://b/y";
    cr_assert_eq(msrp_path_parse(p, 2, one_bad, strlen(one_bad), 0), MSRP_E_URI);
    const char *long1 = "msrp://a/x;tcp msrp://bbbbbbbbbb/y;tcp";
    cr_assert_eq(msrp_path_parse(p, 2, long1, strlen(long1), 15), MSRP_E_URI_TOO_LONG);
    cr_assert_eq(msrp_path_parse(p, 2, long1, strlen(long1), 23), 2);
}
