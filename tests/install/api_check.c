/*
 * api_check.c: exact behaviour of libmsrpgw's public API, compiled by
 * tests/install/install.sh against the installed headers and library only
 * (pkg-config), so it sees what a library user sees. Prints one line per
 * failed check and exits 1 if any failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msrpgw/msrpgw.h>

static int failed;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
            failed++;                                                      \
        }                                                                  \
    } while (0)

#define CHECK_EQ(a, b)                                                     \
    do {                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                \
        if (a_ != b_) {                                                    \
            printf("FAIL %s:%d: %s == %lld, want %lld\n", __FILE__, __LINE__, #a, a_, b_); \
            failed++;                                                      \
        }                                                                  \
    } while (0)

static int slice_is(const char *p, size_t n, const char *want)
{
    return p && n == strlen(want) && memcmp(p, want, n) == 0;
}

/* Feeds all of buf; returns the first event of interest (stops there). */
static int feed_until(struct msrpgw_parser *p, const char **buf, size_t *len, int want)
{
    for (;;) {
        size_t used = 0;
        int ev = msrpgw_parser_feed(p, *buf, *len, &used);
        *buf += used;
        *len -= used;
        if (ev == want || ev == MSRPGW_EV_ERROR || ev == MSRPGW_EV_NONE)
            return ev;
    }
}

static void check_writer(void)
{
    struct msrpgw_frame *f;
    char buf[1024];

    CHECK_EQ(msrpgw_frame_new_request(&f, "SE ND", NULL), -EINVAL);
    CHECK_EQ(msrpgw_frame_new_request(&f, "SEND", "abc"), -EINVAL); /* tid < 4 */
    CHECK_EQ(msrpgw_frame_new_response(&f, "a786hjs2", 99, NULL), -EINVAL);

    CHECK_EQ(msrpgw_frame_new_request(&f, "SEND", "a786hjs2"), 0);
    CHECK(strcmp(msrpgw_frame_tid(f), "a786hjs2") == 0);
    CHECK_EQ(msrpgw_frame_write_head(f, buf, sizeof(buf)), -EINVAL); /* no paths yet */
    CHECK_EQ(msrpgw_frame_add_header(f, "To-Path", "msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp"), 0);
    CHECK_EQ(msrpgw_frame_add_header(f, "To-Path", "msrp://x.example.com/a;tcp"), -EINVAL);
    CHECK_EQ(msrpgw_frame_add_header(f, "From-Path", "not a uri"), -EINVAL);
    CHECK_EQ(msrpgw_frame_add_header(f, "From-Path", "msrp://atlanta.example.com:7654/jshA7weztas;tcp"), 0);
    CHECK_EQ(msrpgw_frame_add_header(f, "Byte-Range", "1-x/25"), -EINVAL);
    CHECK_EQ(msrpgw_frame_add_header(f, "Failure-Report", "maybe"), -EINVAL);
    CHECK_EQ(msrpgw_frame_add_header(f, "X-Note", "a\r\nInjected: 1"), -EINVAL);
    CHECK_EQ(msrpgw_frame_add_header(f, "Bad Name", "v"), -EINVAL);
    /* Content-Type given first is still written last, after the others. */
    CHECK_EQ(msrpgw_frame_add_header(f, "Content-Type", "text/plain"), 0);
    CHECK_EQ(msrpgw_frame_add_header(f, "Message-ID", "87652491"), 0);
    CHECK_EQ(msrpgw_frame_add_header(f, "Byte-Range", "1-25/25"), 0);
    CHECK_EQ(msrpgw_frame_add_header(f, "X-Note", "hello"), 0);

    static const char head[] =
        "MSRP a786hjs2 SEND\r\n"
        "To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
        "From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
        "Message-ID: 87652491\r\n"
        "Byte-Range: 1-25/25\r\n"
        "X-Note: hello\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n";
    int n = msrpgw_frame_write_head(f, buf, sizeof(buf));
    CHECK_EQ(n, (int)sizeof(head) - 1);
    CHECK(n > 0 && memcmp(buf, head, (size_t)n) == 0);
    if (n > 0 && memcmp(buf, head, (size_t)n) != 0)
        printf("got:\n%.*s\n", n, buf);
    CHECK_EQ(msrpgw_frame_write_head(f, buf, 40), -ENOSPC);
    n = msrpgw_frame_write_end(f, '$', buf, sizeof(buf));
    CHECK(n == 20 && memcmp(buf, "\r\n-------a786hjs2$\r\n", 20) == 0);
    CHECK_EQ(msrpgw_frame_write_end(f, 'x', buf, sizeof(buf)), -EINVAL);
    CHECK_EQ(msrpgw_frame_check_body(f, "hi -------a786hjs2$", 19), -EINVAL);
    CHECK_EQ(msrpgw_frame_check_body(f, "hi -------a786hjs3$", 19), 0);
    msrpgw_frame_free(f);

    /* No Content-Type: no body section, end-line without the CRLF. */
    CHECK_EQ(msrpgw_frame_new_request(&f, "SEND", "tid4x"), 0);
    msrpgw_frame_add_header(f, "To-Path", "msrp://b.example.com/s1;tcp");
    msrpgw_frame_add_header(f, "From-Path", "msrp://a.example.com/s2;tcp");
    n = msrpgw_frame_write_end(f, '$', buf, sizeof(buf));
    CHECK(n == 15 && memcmp(buf, "-------tid4x$\r\n", 15) == 0);
    msrpgw_frame_free(f);

    /* A response. */
    CHECK_EQ(msrpgw_frame_new_response(&f, "a786hjs2", 200, "OK"), 0);
    msrpgw_frame_add_header(f, "To-Path", "msrp://a.example.com/s2;tcp");
    msrpgw_frame_add_header(f, "From-Path", "msrp://b.example.com/s1;tcp");
    n = msrpgw_frame_write_head(f, buf, sizeof(buf));
    static const char resp[] = "MSRP a786hjs2 200 OK\r\nTo-Path: msrp://a.example.com/s2;tcp\r\n"
                               "From-Path: msrp://b.example.com/s1;tcp\r\n";
    CHECK(n == (int)sizeof(resp) - 1 && memcmp(buf, resp, (size_t)n) == 0);
    msrpgw_frame_free(f);
}

static void check_parser(void)
{
    static const char wire[] =
        "MSRP a786hjs2 SEND\r\n"
        "To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
        "From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
        "Message-ID: 87652491\r\n"
        "Byte-Range: 1-*/*\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "Hey Bob, are you there?\r\n"
        "-------a786hjs2+\r\n"
        "MSRP x BAD\r\n";
    struct msrpgw_parser *p;
    const char *at = wire;
    size_t left = sizeof(wire) - 1, n;
    uint64_t s, e, t, off;

    CHECK_EQ(msrpgw_parser_new(&p, 100), -EINVAL);
    CHECK_EQ(msrpgw_parser_new(&p, 0), 0);
    CHECK_EQ(msrpgw_parser_in_frame(p), 0);
    CHECK_EQ(feed_until(p, &at, &left, MSRPGW_EV_FRAME_START), MSRPGW_EV_FRAME_START);
    CHECK_EQ(msrpgw_parser_in_frame(p), 1);
    CHECK_EQ(feed_until(p, &at, &left, MSRPGW_EV_HEADERS_END), MSRPGW_EV_HEADERS_END);
    CHECK_EQ(msrpgw_parser_is_request(p), 1);
    const char *m = msrpgw_parser_method(p, &n);
    CHECK(slice_is(m, n, "SEND"));
    m = msrpgw_parser_tid(p, &n);
    CHECK(slice_is(m, n, "a786hjs2"));
    CHECK_EQ(msrpgw_parser_status(p), 0);
    CHECK_EQ(msrpgw_parser_header_count(p), 5);
    const char *hn, *hv;
    size_t hnl, hvl;
    CHECK_EQ(msrpgw_parser_header_at(p, 2, &hn, &hnl, &hv, &hvl), 0);
    CHECK(slice_is(hn, hnl, "Message-ID") && slice_is(hv, hvl, "87652491"));
    CHECK_EQ(msrpgw_parser_header_at(p, 5, &hn, &hnl, &hv, &hvl), -ENOENT);
    hv = msrpgw_parser_header(p, "content-TYPE", &hvl);
    CHECK(slice_is(hv, hvl, "text/plain"));
    CHECK(msrpgw_parser_header(p, "Expires", &hvl) == NULL);
    CHECK_EQ(msrpgw_parser_byte_range(p, &s, &e, &t), 0);
    CHECK(s == 1 && e == MSRPGW_STAR && t == MSRPGW_STAR);

    char buf[512];
    int rn = msrpgw_parser_write_response(p, 200, "OK", buf, sizeof(buf));
    static const char resp[] = "MSRP a786hjs2 200 OK\r\n"
                               "To-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
                               "From-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
                               "-------a786hjs2$\r\n";
    CHECK(rn == (int)sizeof(resp) - 1 && memcmp(buf, resp, (size_t)rn) == 0);
    CHECK_EQ(msrpgw_parser_write_response(p, 200, "OK", buf, 10), -ENOSPC);

    CHECK_EQ(feed_until(p, &at, &left, MSRPGW_EV_BODY), MSRPGW_EV_BODY);
    const char *b = msrpgw_parser_body(p, &n, &off);
    CHECK(slice_is(b, n, "Hey Bob, are you there?") && off == 0);
    CHECK_EQ(feed_until(p, &at, &left, MSRPGW_EV_FRAME_END), MSRPGW_EV_FRAME_END);
    CHECK_EQ(msrpgw_parser_flag(p), '+');
    CHECK_EQ(feed_until(p, &at, &left, MSRPGW_EV_ERROR), MSRPGW_EV_ERROR);
    int err = msrpgw_parser_error(p, &off);
    CHECK(strcmp(msrpgw_parse_error_name(err), "bad_transaction_id") == 0);
    /* at the space that ends the one-character id (RFC 4975: 4 at least) */
    CHECK_EQ(off, (long long)(strstr(wire, "MSRP x BAD") - wire) + 6);
    msrpgw_parser_reset(p);
    CHECK_EQ(msrpgw_parser_error(p, &off), 0);
    msrpgw_parser_free(p);
}

static void check_uri(void)
{
    struct msrpgw_uri *a, *b, *c;
    CHECK_EQ(msrpgw_uri_parse(&a, "http://example.com/"), -EINVAL);
    CHECK_EQ(msrpgw_uri_parse(&a, "msrps://alice@[2001:db8::1]:2856/s3ss;tcp;x=1"), 0);
    CHECK_EQ(msrpgw_uri_is_tls(a), 1);
    CHECK(strcmp(msrpgw_uri_user(a), "alice") == 0);
    CHECK(strcmp(msrpgw_uri_host(a), "2001:db8::1") == 0);
    CHECK_EQ(msrpgw_uri_port(a), 2856);
    CHECK(strcmp(msrpgw_uri_session_id(a), "s3ss") == 0);
    CHECK(strcmp(msrpgw_uri_transport(a), "tcp") == 0);
    CHECK(strcmp(msrpgw_uri_text(a), "msrps://alice@[2001:db8::1]:2856/s3ss;tcp;x=1") == 0);
    CHECK_EQ(msrpgw_uri_parse(&b, "msrp://relay.example.com;tcp"), 0);
    CHECK_EQ(msrpgw_uri_port(b), 2855);
    CHECK(strcmp(msrpgw_uri_session_id(b), "") == 0);
    /* An explicit 2855 never equals an absent port (RFC 4975 6.1). */
    CHECK_EQ(msrpgw_uri_parse(&c, "msrp://RELAY.example.com:2855;TCP"), 0);
    CHECK_EQ(msrpgw_uri_equal(b, c), 0);
    msrpgw_uri_free(c);
    CHECK_EQ(msrpgw_uri_parse(&c, "msrp://RELAY.example.com;TCP"), 0);
    CHECK_EQ(msrpgw_uri_equal(b, c), 1);
    msrpgw_uri_free(a);
    msrpgw_uri_free(b);
    msrpgw_uri_free(c);
}

static void check_options(void)
{
    struct msrpgw_session_opts *o;
    struct msrpgw_relay *r;
    CHECK_EQ(msrpgw_session_opts_new(&o), 0);
    CHECK_EQ(msrpgw_session_opts_chunk_size(o, 0), -EINVAL);
    CHECK_EQ(msrpgw_session_opts_chunk_size(o, 4096), 0);
    CHECK_EQ(msrpgw_session_opts_window(o, 0), -EINVAL);
    CHECK_EQ(msrpgw_session_opts_failure_report(o, "sometimes"), -EINVAL);
    CHECK_EQ(msrpgw_session_opts_failure_report(o, "partial"), 0);
    CHECK_EQ(msrpgw_session_opts_accept_types(o, "text/plain image/*"), 0);
    msrpgw_session_opts_free(o);
    CHECK_EQ(msrpgw_relay_new(&r, "", 0, NULL, NULL), -EINVAL);
    CHECK_EQ(msrpgw_relay_new(&r, "127.0.0.1", 0, "alice", "pw"), 0);
    msrpgw_relay_free(r);
    struct msrpgw_tls *t;
    CHECK_EQ(msrpgw_tls_client_new(&t, NULL, 0), -EINVAL); /* verify without CAs */
    CHECK(strcmp(msrpgw_version(), MSRPGW_VERSION_STRING) == 0);
}

int main(void)
{
    check_writer();
    check_parser();
    check_uri();
    check_options();
    if (failed) {
        printf("api_check: %d failure(s)\n", failed);
        return 1;
    }
    printf("api_check: ok\n");
    return 0;
}
