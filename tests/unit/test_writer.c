/* test_writer.c: exact bytes of frame heads, responses, REPORTs, end-lines;
 * bounds (NOSPACE at every cap, nothing written past cap); body checks. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/writer.h"

#define S(lit) MSRP_SLICE_LIT(lit)

static const struct msrp_slice to1[] = { S("msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp") };
static const struct msrp_slice from1[] = { S("msrp://atlanta.example.com:7654/jshA7weztas;tcp") };

static struct msrp_frame send_frame(void)
{
    struct msrp_frame f;
    memset(&f, 0, sizeof(f));
    f.kind = MSRP_REQUEST;
    f.method = MSRP_M_SEND;
    f.tid = S("a786hjs2");
    f.to_path = (struct msrp_wpath){ .texts = to1, .n = 1 };
    f.from_path = (struct msrp_wpath){ .texts = from1, .n = 1 };
    f.message_id = S("87652491");
    f.has_byte_range = true;
    f.byte_range = (struct msrp_byte_range){ 1, 25, 25 };
    f.content_type = S("text/plain");
    f.has_body = true;
    return f;
}

/* RFC 4975 section 4's first example, head + body + end-line. */
Test(writer, send_with_body_exact_bytes)
{
    struct msrp_frame f = send_frame();
    char buf[512];
    int n = msrp_write_head(buf, sizeof(buf), &f);
    const char *want_head = "MSRP a786hjs2 SEND\r\n"
                            "To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
                            "From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
                            "Message-ID: 87652491\r\n"
                            "Byte-Range: 1-25/25\r\n"
                            "Content-Type: text/plain\r\n"
                            "\r\n";
    cr_assert_eq(n, (int)strlen(want_head), "n=%d", n);
    cr_assert_eq(memcmp(buf, want_head, (size_t)n), 0, "%.*s", n, buf);
    int e = msrp_write_end_line(buf, sizeof(buf), f.tid, '$', true);
    cr_assert_eq(e, 20);
    cr_assert_eq(memcmp(buf, "\r\n-------a786hjs2$\r\n", 20), 0);
}

Test(writer, all_fields_in_documented_order)
{
    static const struct msrp_slice to2[] = { S("msrp://r1.example:1/a;tcp"),
                                             S("msrps://[2001:db8::1]/b;tcp") };
    static const struct msrp_slice use[] = { S("msrps://relay.example:2855/x;tcp") };
    static const struct msrp_wheader ext[] = { { S("X-Foo"), S("bar baz") } };
    struct msrp_frame f = send_frame();
    f.tid = S("T1.-+%=x");
    f.to_path = (struct msrp_wpath){ .texts = to2, .n = 2 };
    f.success_report = MSRP_REPORT_YES;
    f.failure_report = MSRP_REPORT_PARTIAL;
    f.byte_range = (struct msrp_byte_range){ 10, MSRP_BR_STAR, MSRP_BR_STAR };
    f.has_status = true;
    f.status_hdr = (struct msrp_status_hdr){ 0, 200, S("OK") };
    f.has_expires = f.has_min_expires = f.has_max_expires = true;
    f.expires = 900;
    f.min_expires = 0;
    f.max_expires = 4294967295u;
    f.use_path = (struct msrp_wpath){ .texts = use, .n = 1 };
    f.authorization = S("Digest a=b");
    f.www_authenticate = S("Digest c=d");
    f.authentication_info = S("qop=auth");
    f.ext = ext;
    f.n_ext = 1;
    f.content_id = S("<x@y>");
    f.content_description = S("a file");
    f.content_disposition = S("attachment; filename=\"x\"");
    f.content_type = S("application/octet-stream");
    char buf[1024];
    int n = msrp_write_head(buf, sizeof(buf), &f);
    const char *want = "MSRP T1.-+%=x SEND\r\n"
                       "To-Path: msrp://r1.example:1/a;tcp msrps://[2001:db8::1]/b;tcp\r\n"
                       "From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
                       "Message-ID: 87652491\r\n"
                       "Success-Report: yes\r\n"
                       "Failure-Report: partial\r\n"
                       "Byte-Range: 10-*/*\r\n"
                       "Status: 000 200 OK\r\n"
                       "Expires: 900\r\n"
                       "Min-Expires: 0\r\n"
                       "Max-Expires: 4294967295\r\n"
                       "Use-Path: msrps://relay.example:2855/x;tcp\r\n"
                       "Authorization: Digest a=b\r\n"
                       "WWW-Authenticate: Digest c=d\r\n"
                       "Authentication-Info: qop=auth\r\n"
                       "X-Foo: bar baz\r\n"
                       "Content-ID: <x@y>\r\n"
                       "Content-Description: a file\r\n"
                       "Content-Disposition: attachment; filename=\"x\"\r\n"
                       "Content-Type: application/octet-stream\r\n"
                       "\r\n";
    cr_assert_eq(n, (int)strlen(want), "got %d:\n%.*s", n, n > 0 ? n : 0, buf);
    cr_assert_eq(memcmp(buf, want, (size_t)n), 0, "%.*s", n, buf);
}

/* The empty SEND that binds a connection (PEERS.md): no body section. */
Test(writer, bodiless_send_exact_bytes)
{
    struct msrp_frame f = send_frame();
    f.has_body = false;
    f.has_byte_range = false;
    f.content_type = S("");
    char buf[256];
    int n = msrp_write_bodiless(buf, sizeof(buf), &f, '$');
    const char *want = "MSRP a786hjs2 SEND\r\n"
                       "To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
                       "From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
                       "Message-ID: 87652491\r\n"
                       "-------a786hjs2$\r\n";
    cr_assert_eq(n, (int)strlen(want));
    cr_assert_eq(memcmp(buf, want, (size_t)n), 0, "%.*s", n, buf);
    /* has_body must use write_head + end-line, not write_bodiless */
    f.has_body = true;
    f.content_type = S("text/plain");
    cr_assert_eq(msrp_write_bodiless(buf, sizeof(buf), &f, '$'), MSRP_E_INVALID);
}

static void parse_uri(struct msrp_uri *u, const char *s)
{
    cr_assert_eq(msrp_uri_parse(u, s, strlen(s), 0), 0, "%s", s);
}

/* A SEND as a relay sees it: two-URI To-Path, two-URI From-Path. */
static void relay_send_head(struct msrp_head *h)
{
    memset(h, 0, sizeof(*h));
    h->kind = MSRP_REQUEST;
    h->method = MSRP_M_SEND;
    h->tid = S("dkei38sd");
    parse_uri(&h->to_path[0], "msrps://relay.example.com:2855/a1;tcp");
    parse_uri(&h->to_path[1], "msrps://bob.example.com:8888/9di4ea;tcp");
    h->n_to_path = 2;
    parse_uri(&h->from_path[0], "msrps://alice.example.com:7777/iau39;tcp");
    parse_uri(&h->from_path[1], "msrps://alicepc.example.com:1/z;tcp");
    h->n_from_path = 2;
    h->message_id = S("12339sdqwer");
    h->has_byte_range = true;
    h->byte_range = (struct msrp_byte_range){ 1, 106, 106 };
}

Test(writer, response_from_request_head)
{
    static struct msrp_head h;
    relay_send_head(&h);
    char buf[512];
    int n = msrp_write_response(buf, sizeof(buf), &h, 200, "OK", NULL);
    const char *want = "MSRP dkei38sd 200 OK\r\n"
                       "To-Path: msrps://alice.example.com:7777/iau39;tcp\r\n"
                       "From-Path: msrps://relay.example.com:2855/a1;tcp\r\n"
                       "-------dkei38sd$\r\n";
    cr_assert_eq(n, (int)strlen(want), "%.*s", n > 0 ? n : 0, buf);
    cr_assert_eq(memcmp(buf, want, (size_t)n), 0, "%.*s", n, buf);

    /* No comment; extra headers for an AUTH answer. */
    static const struct msrp_slice use[] = { S("msrps://relay.example.com:2855/a1;tcp") };
    struct msrp_frame extra;
    memset(&extra, 0, sizeof(extra));
    extra.use_path = (struct msrp_wpath){ .texts = use, .n = 1 };
    extra.has_expires = true;
    extra.expires = 600;
    extra.content_type = S("text/plain"); /* ignored: responses have no body */
    extra.has_body = true;
    n = msrp_write_response(buf, sizeof(buf), &h, 200, NULL, &extra);
    const char *want2 = "MSRP dkei38sd 200\r\n"
                        "To-Path: msrps://alice.example.com:7777/iau39;tcp\r\n"
                        "From-Path: msrps://relay.example.com:2855/a1;tcp\r\n"
                        "Expires: 600\r\n"
                        "Use-Path: msrps://relay.example.com:2855/a1;tcp\r\n"
                        "-------dkei38sd$\r\n";
    cr_assert_eq(n, (int)strlen(want2), "%.*s", n > 0 ? n : 0, buf);
    cr_assert_eq(memcmp(buf, want2, (size_t)n), 0, "%.*s", n, buf);

    h.kind = MSRP_RESPONSE;
    cr_assert_eq(msrp_write_response(buf, sizeof(buf), &h, 200, "OK", NULL), MSRP_E_INVALID);
    h.kind = MSRP_REQUEST;
    h.n_from_path = 0;
    cr_assert_eq(msrp_write_response(buf, sizeof(buf), &h, 200, "OK", NULL), MSRP_E_INVALID);
    h.n_from_path = 2;
    cr_assert_eq(msrp_write_response(buf, sizeof(buf), &h, 99, "OK", NULL), MSRP_E_STATUS_CODE);
    cr_assert_eq(msrp_write_response(buf, sizeof(buf), &h, 1000, "OK", NULL), MSRP_E_STATUS_CODE);
}

Test(writer, report_exact_bytes)
{
    static struct msrp_head h;
    relay_send_head(&h);
    char buf[512];
    /* Endpoint success report: From-Path = last URI of the SEND's To-Path. */
    int n = msrp_write_report(buf, sizeof(buf), &h, S("rep00001"), NULL, 200, "OK", NULL);
    const char *want = "MSRP rep00001 REPORT\r\n"
                       "To-Path: msrps://alice.example.com:7777/iau39;tcp msrps://alicepc.example.com:1/z;tcp\r\n"
                       "From-Path: msrps://bob.example.com:8888/9di4ea;tcp\r\n"
                       "Message-ID: 12339sdqwer\r\n"
                       "Byte-Range: 1-106/106\r\n"
                       "Status: 000 200 OK\r\n"
                       "-------rep00001$\r\n";
    cr_assert_eq(n, (int)strlen(want), "%.*s", n > 0 ? n : 0, buf);
    cr_assert_eq(memcmp(buf, want, (size_t)n), 0, "%.*s", n, buf);

    /* Relay failure report with an explicit reporter and range. */
    struct msrp_slice me = S("msrps://relay.example.com:2855/a1;tcp");
    struct msrp_byte_range br = { 1, 50, 106 };
    n = msrp_write_report(buf, sizeof(buf), &h, S("rep00002"), &me, 408, "Request Timeout", &br);
    const char *want2 = "MSRP rep00002 REPORT\r\n"
                        "To-Path: msrps://alice.example.com:7777/iau39;tcp msrps://alicepc.example.com:1/z;tcp\r\n"
                        "From-Path: msrps://relay.example.com:2855/a1;tcp\r\n"
                        "Message-ID: 12339sdqwer\r\n"
                        "Byte-Range: 1-50/106\r\n"
                        "Status: 000 408 Request Timeout\r\n"
                        "-------rep00002$\r\n";
    cr_assert_eq(n, (int)strlen(want2), "%.*s", n > 0 ? n : 0, buf);
    cr_assert_eq(memcmp(buf, want2, (size_t)n), 0, "%.*s", n, buf);

    h.message_id = S("");
    cr_assert_eq(msrp_write_report(buf, sizeof(buf), &h, S("rep00003"), NULL, 200, NULL, NULL),
                 MSRP_E_INVALID);
}

/* For every cap below the needed size: NOSPACE and not one byte touched
 * past cap (canary, and an exact-size heap block so ASan sees overruns). */
static void check_every_cap(const struct msrp_frame *f, bool bodiless)
{
    char full[1024];
    int need = bodiless ? msrp_write_bodiless(full, sizeof(full), f, '+')
                        : msrp_write_head(full, sizeof(full), f);
    cr_assert_gt(need, 0);
    for (int cap = 0; cap <= need; cap++) {
        char *b = malloc((size_t)cap + 8);
        memset(b, 0x5a, (size_t)cap + 8);
        int n = bodiless ? msrp_write_bodiless(b, (size_t)cap, f, '+')
                         : msrp_write_head(b, (size_t)cap, f);
        if (cap < need) {
            cr_assert_eq(n, MSRP_E_NOSPACE, "cap %d: %d", cap, n);
        } else {
            cr_assert_eq(n, need);
            cr_assert_eq(memcmp(b, full, (size_t)need), 0);
        }
        for (int k = 0; k < 8; k++)
            cr_assert_eq((unsigned char)b[cap + k], 0x5a, "cap %d: byte %d past cap written", cap, k);
        free(b);
    }
}

Test(writer, nospace_at_every_cap)
{
    struct msrp_frame f = send_frame();
    check_every_cap(&f, false);
    f.has_body = false;
    f.content_type = S("");
    f.has_status = true;
    f.status_hdr = (struct msrp_status_hdr){ 0, 413, S("too big") };
    check_every_cap(&f, true);
    char b[20];
    for (size_t cap = 0; cap < 20; cap++)
        cr_assert_eq(msrp_write_end_line(b, cap, S("a786hjs2"), '#', true), MSRP_E_NOSPACE);
    cr_assert_eq(msrp_write_end_line(NULL, 0, S("a786hjs2"), '#', true), MSRP_E_NOSPACE);
}

Test(writer, end_line_variants)
{
    char b[64];
    cr_assert_eq(msrp_write_end_line(b, sizeof(b), S("abcd"), '+', false), 14);
    cr_assert_eq(memcmp(b, "-------abcd+\r\n", 14), 0);
    cr_assert_eq(msrp_write_end_line(b, sizeof(b), S("abcd"), '#', true), 16);
    cr_assert_eq(memcmp(b, "\r\n-------abcd#\r\n", 16), 0);
    cr_assert_eq(msrp_write_end_line(b, sizeof(b), S("abcd"), '!', true), MSRP_E_END_LINE);
    cr_assert_eq(msrp_write_end_line(b, sizeof(b), S("ab cd"), '$', true), MSRP_E_TID);
    cr_assert_eq(msrp_write_end_line(b, sizeof(b), S("-abc"), '$', true), MSRP_E_TID);
    cr_assert_eq(msrp_write_end_line(b, sizeof(b), S(""), '$', true), MSRP_E_TID);
}

/* Values are checked a word at a time (w_value): CR, LF or NUL at every
 * position of values of every length up to 40 is refused, and every other
 * byte value is written through; tids are checked by a class table
 * (valid_tid): each byte value in each position. */
Test(writer, value_and_tid_checks_every_position)
{
    char buf[512], v[40];
    for (size_t n = 1; n <= sizeof v; n++) {
        for (size_t at = 0; at < n; at++) {
            for (int b = 0; b < 256; b++) {
                memset(v, 'x', n);
                v[at] = (char)b;
                struct msrp_frame f = send_frame();
                f.content_type = msrp_slice(v, n);
                int r = msrp_write_head(buf, sizeof buf, &f);
                if (b == '\r' || b == '\n' || b == 0)
                    cr_assert_eq(r, MSRP_E_HEADER_VALUE, "n %zu at %zu byte %d", n, at, b);
                else
                    cr_assert_gt(r, 0, "n %zu at %zu byte %d: %d", n, at, b, r);
            }
        }
    }
    char t[8];
    for (size_t at = 0; at < sizeof t; at++) {
        for (int b = 0; b < 256; b++) {
            memset(t, 'k', sizeof t);
            t[at] = (char)b;
            bool alnum = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
            bool ok = alnum || (at > 0 && b && strchr(".-+%=", b));
            int r = msrp_write_end_line(buf, sizeof buf, msrp_slice(t, sizeof t), '$', true);
            cr_assert_eq(r > 0, ok, "tid byte %d at %zu: %d", b, at, r);
        }
    }
}

Test(writer, rejects_header_injection_and_bad_descriptions)
{
    char buf[512];
    struct msrp_frame f = send_frame();
    f.message_id = S("abc\r\nEvil: 1");
    cr_assert_eq(msrp_write_head(buf, sizeof(buf), &f), MSRP_E_HEADER_VALUE);
    f = send_frame();
    f.content_type = S("text/plain\n");
    cr_assert_eq(msrp_write_head(buf, sizeof(buf), &f), MSRP_E_HEADER_VALUE);
    f = send_frame();
    static const struct msrp_slice bad_to[] = { S("msrp://a/b;tcp msrp://evil/c;tcp") };
    f.to_path = (struct msrp_wpath){ .texts = bad_to, .n = 1 };
    cr_assert_eq(msrp_write_head(buf, sizeof(buf), &f), MSRP_E_URI);
    f = send_frame();
    f.to_path.n = 0;
    cr_assert_eq(msrp_write_head(buf, sizeof(buf), &f), MSRP_E_INVALID);
    f = send_frame();
    f.content_type = S("");
    cr_assert_eq(msrp_write_head(buf, sizeof(buf), &f), MSRP_E_INVALID);
    f = send_frame();
    f.success_report = MSRP_REPORT_PARTIAL;
    cr_assert_eq(msrp_write_head(buf, sizeof(buf), &f), MSRP_E_INVALID);
    f = send_frame();
    f.byte_range = (struct msrp_byte_range){ 0, 5, 5 };
    cr_assert_eq(msrp_write_head(buf, sizeof(buf), &f), MSRP_E_BYTE_RANGE);
    f.byte_range = (struct msrp_byte_range){ 1, 6, 5 };
    cr_assert_eq(msrp_write_head(buf, sizeof(buf), &f), MSRP_E_BYTE_RANGE);
    f = send_frame();
    f.method = MSRP_M_UNKNOWN;
    cr_assert_eq(msrp_write_head(buf, sizeof(buf), &f), MSRP_E_METHOD);
    f.method_name = S("FOO");
    cr_assert_gt(msrp_write_head(buf, sizeof(buf), &f), 0);
    cr_assert_eq(memcmp(buf, "MSRP a786hjs2 FOO\r\n", 19), 0);
    f.method_name = S("foo");
    cr_assert_eq(msrp_write_head(buf, sizeof(buf), &f), MSRP_E_METHOD);
    f = send_frame();
    static const struct msrp_wheader bad_ext[] = { { S("X Bad"), S("v") } };
    f.ext = bad_ext;
    f.n_ext = 1;
    cr_assert_eq(msrp_write_head(buf, sizeof(buf), &f), MSRP_E_HEADER_SYNTAX);
}

Test(writer, body_check_whole)
{
    struct msrp_slice tid = S("a786hjs2");
    const char *ok = "hello -------a786hjs ------- a786hjs2";
    cr_assert_eq(msrp_body_check(ok, strlen(ok), tid), 0);
    const char *bad = "hello\r\n-------a786hjs2$\r\nMSRP x SEND";
    cr_assert_eq(msrp_body_check(bad, strlen(bad), tid), MSRP_E_BODY_HAS_END_LINE);
    const char *bad2 = "---------a786hjs2"; /* extra dashes before */
    cr_assert_eq(msrp_body_check(bad2, strlen(bad2), tid), MSRP_E_BODY_HAS_END_LINE);
    cr_assert_eq(msrp_body_check("", 0, tid), 0);
    cr_assert_eq(msrp_body_check("x", 1, S("bad tid")), MSRP_E_TID);
}

/* A tid with dashes needs a real string matcher (KMP), not a restart. */
Test(writer, body_check_dashed_tid)
{
    struct msrp_slice tid = S("a-------b");
    const char *bad = "-------a-------a-------b";
    cr_assert_eq(msrp_body_check(bad, strlen(bad), tid), MSRP_E_BODY_HAS_END_LINE);
    const char *ok = "-------a-------a------b";
    cr_assert_eq(msrp_body_check(ok, strlen(ok), tid), 0);
}

Test(writer, body_scan_across_every_split)
{
    struct msrp_slice tid = S("x-y9");
    const char *body = "aaaa--------x-y-------x-y9zzzz";
    for (size_t a = 0; a <= strlen(body); a++)
        for (size_t b = a; b <= strlen(body); b++) {
            struct msrp_body_scan s;
            cr_assert_eq(msrp_body_scan_init(&s, tid), 0);
            int r1 = msrp_body_scan_feed(&s, body, a);
            int r2 = msrp_body_scan_feed(&s, body + a, b - a);
            int r3 = msrp_body_scan_feed(&s, body + b, strlen(body) - b);
            cr_assert_eq(r3, MSRP_E_BODY_HAS_END_LINE, "split %zu/%zu: %d %d %d", a, b, r1, r2, r3);
        }
    /* Byte by byte, and sticky once found. */
    struct msrp_body_scan s;
    msrp_body_scan_init(&s, tid);
    int r = 0;
    for (size_t i = 0; i < strlen(body) && r == 0; i++)
        r = msrp_body_scan_feed(&s, body + i, 1);
    cr_assert_eq(r, MSRP_E_BODY_HAS_END_LINE);
    cr_assert_eq(msrp_body_scan_feed(&s, "", 0), MSRP_E_BODY_HAS_END_LINE);
}

/* Against a naive reference on pseudo-random bodies over a tiny alphabet
 * (so partial matches are frequent), fed in random-sized pieces. */
Test(writer, body_scan_matches_reference)
{
    unsigned seed = 12345;
    struct msrp_slice tid = S("a-a");
    const char pat[] = "-------a-a";
    for (int iter = 0; iter < 3000; iter++) {
        char body[64];
        size_t n = (size_t)(rand_r(&seed) % 64);
        for (size_t i = 0; i < n; i++)
            body[i] = "-a"[rand_r(&seed) % 2];
        bool want = n >= 10 && memmem(body, n, pat, 10) != NULL;
        struct msrp_body_scan s;
        msrp_body_scan_init(&s, tid);
        int r = 0;
        size_t off = 0;
        while (off < n) {
            size_t k = 1 + (size_t)(rand_r(&seed) % 7);
            if (k > n - off)
                k = n - off;
            r = msrp_body_scan_feed(&s, body + off, k);
            off += k;
        }
        if (n == 0)
            r = msrp_body_scan_feed(&s, body, 0);
        cr_assert_eq(r == MSRP_E_BODY_HAS_END_LINE, want, "iter %d body %.*s", iter, (int)n, body);
    }
}

/* The same on bodies long enough for the vector scan (64-byte blocks,
 * endscan.c) that looks for "---" while nothing has matched: dash runs of
 * 1..9 and the whole pattern planted at random places, fed in pieces of
 * 1..300 bytes, so runs and matches straddle blocks and feeds. */
Test(writer, body_scan_long_bodies_match_reference)
{
    unsigned seed = 777;
    struct msrp_slice tid = S("a-a");
    const char pat[] = "-------a-a";
    static char body[1200];
    for (int iter = 0; iter < 2000; iter++) {
        size_t n = (size_t)(rand_r(&seed) % sizeof body);
        for (size_t i = 0; i < n; i++)
            body[i] = (char)(rand_r(&seed) % 4 ? 'a' + rand_r(&seed) % 3 : rand_r(&seed));
        for (int r = rand_r(&seed) % 6; r > 0 && n > 10; r--) {
            size_t at = (size_t)rand_r(&seed) % (n - 10), len = 1 + (size_t)(rand_r(&seed) % 9);
            memset(body + at, '-', len);
        }
        if (n > 10 && iter % 3 == 0)
            memcpy(body + (size_t)rand_r(&seed) % (n - 10), pat, 10);
        bool want = n >= 10 && memmem(body, n, pat, 10) != NULL;
        struct msrp_body_scan s;
        msrp_body_scan_init(&s, tid);
        int r = 0;
        size_t off = 0;
        while (off < n) {
            size_t k = 1 + (size_t)(rand_r(&seed) % 300);
            if (k > n - off)
                k = n - off;
            r = msrp_body_scan_feed(&s, body + off, k);
            off += k;
        }
        cr_assert_eq(r == MSRP_E_BODY_HAS_END_LINE, want, "iter %d n %zu", iter, n);
    }
}
