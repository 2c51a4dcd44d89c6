/*
 * test_parser.c: the incremental frame parser (proto/parser.c).
 *
 * Every input is run through a trace builder that turns the event stream
 * into text (BODY events coalesced, their offsets checked), so "any slicing
 * gives the same events" is a string comparison: each example is fed whole,
 * in two pieces at every split point, byte by byte and in odd sizes, each
 * feed in its own exact-size heap buffer so ASan sees any read past it.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "proto/parser.h"

/* --- trace builder ------------------------------------------------------- */

struct sbuf {
    char *p;
    size_t n, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        cr_assert_not_null(b->p);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_put(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

static void sb_escaped(struct sbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r')
            sb_put(b, "\\r", 2);
        else if (c == '\n')
            sb_put(b, "\\n", 2);
        else if (c < 0x20 || c >= 0x7f)
            sb_printf(b, "\\x%02x", c);
        else
            sb_put(b, (const char *)&c, 1);
    }
}

struct tracer {
    struct msrp_parser p;
    struct msrp_head head;
    char scratch[1 << 16];
    struct sbuf out;
    struct sbuf body; /* pending coalesced body of the current frame */
    uint64_t body_seen;
    bool stopped;
    unsigned long events;
};

static void flush_body(struct tracer *t)
{
    if (t->body.n == 0)
        return;
    sb_printf(&t->out, "BODY %zu \"", t->body.n);
    sb_escaped(&t->out, t->body.p, t->body.n);
    sb_put(&t->out, "\"\n", 2);
    t->body.n = 0;
}

static void on_event(struct tracer *t, const struct msrp_event *ev)
{
    const struct msrp_head *h = ev->head;
    t->events++;
    if (ev->type != MSRP_EV_BODY)
        flush_body(t);
    switch (ev->type) {
    case MSRP_EV_FRAME_START:
        t->body_seen = 0;
        if (h->kind == MSRP_REQUEST)
            sb_printf(&t->out, "START req %.*s %.*s m=%d\n", MSRP_SLICE_ARG(h->tid),
                      MSRP_SLICE_ARG(h->method_name), (int)h->method);
        else
            sb_printf(&t->out, "START resp %.*s %u '%.*s'\n", MSRP_SLICE_ARG(h->tid),
                      h->status, MSRP_SLICE_ARG(h->comment));
        break;
    case MSRP_EV_HEADER:
        sb_printf(&t->out, "H %d %.*s: ", (int)ev->header->id, MSRP_SLICE_ARG(ev->header->name));
        sb_escaped(&t->out, ev->header->value.p, ev->header->value.n);
        sb_put(&t->out, "\n", 1);
        break;
    case MSRP_EV_HEADERS_END:
        sb_printf(&t->out, "HEND body=%d\n", (int)h->has_body);
        break;
    case MSRP_EV_BODY:
        if (ev->body_offset != t->body_seen || ev->body.n == 0)
            sb_printf(&t->out, "BADBODY off=%llu seen=%llu n=%zu\n",
                      (unsigned long long)ev->body_offset, (unsigned long long)t->body_seen,
                      ev->body.n);
        t->body_seen += ev->body.n;
        sb_put(&t->body, ev->body.p, ev->body.n);
        break;
    case MSRP_EV_FRAME_END:
        sb_printf(&t->out, "END %c\n", ev->flag);
        break;
    case MSRP_EV_ERROR:
        sb_printf(&t->out, "ERR %s @%llu\n", msrp_strerror(ev->error),
                  (unsigned long long)ev->error_offset);
        t->stopped = true;
        break;
    default:
        sb_printf(&t->out, "BADEVENT %d\n", (int)ev->type);
        break;
    }
}

static void tracer_init(struct tracer *t, const struct msrp_limits *lim)
{
    memset(t, 0, sizeof(*t));
    cr_assert_eq(msrp_parser_init(&t->p, lim, &t->head, t->scratch, sizeof t->scratch), 0);
}

/* Feeds one chunk (copied to an exact-size buffer) until it is consumed. */
static void tracer_feed(struct tracer *t, const char *data, size_t n)
{
    if (t->stopped)
        return;
    char *copy = malloc(n ? n : 1);
    cr_assert_not_null(copy);
    memcpy(copy, data, n);
    size_t off = 0;
    for (int guard = 0;; guard++) {
        struct msrp_event ev;
        memset(&ev, 0xA5, sizeof ev);
        size_t used = msrp_parse(&t->p, copy + off, n - off, &ev);
        cr_assert_leq(used, n - off);
        off += used;
        if (ev.type == MSRP_EV_NONE) {
            if (off != n)
                sb_printf(&t->out, "NONE-BUT-LEFT %zu\n", n - off);
            break;
        }
        on_event(t, &ev);
        if (t->stopped)
            break;
        cr_assert_lt(guard, 10000000, "parser does not progress");
    }
    free(copy);
}

static void tracer_finish(struct tracer *t)
{
    flush_body(t);
    if (!t->stopped && msrp_parser_in_frame(&t->p))
        sb_put(&t->out, "TRUNC\n", 6);
}

static void tracer_free(struct tracer *t)
{
    free(t->out.p);
    free(t->body.p);
}

/* Trace of data fed in chunks whose sizes cycle through sizes[]. */
static char *trace_sizes(const char *data, size_t n, const size_t *sizes, size_t nsizes,
                         const struct msrp_limits *lim)
{
    struct tracer *t = malloc(sizeof *t);
    cr_assert_not_null(t);
    tracer_init(t, lim);
    size_t off = 0, k = 0;
    while (off < n) {
        size_t sz = sizes[k++ % nsizes];
        if (sz > n - off)
            sz = n - off;
        tracer_feed(t, data + off, sz);
        off += sz;
    }
    tracer_feed(t, data + off, 0);
    tracer_finish(t);
    char *s = t->out.p ? t->out.p : strdup("");
    t->out.p = NULL;
    tracer_free(t);
    free(t);
    return s;
}

static char *trace_all(const char *data, size_t n, const struct msrp_limits *lim)
{
    size_t whole = n ? n : 1;
    return trace_sizes(data, n, &whole, 1, lim);
}

/* Whole, every two-piece split, byte by byte and odd sizes: one trace. */
static char *trace_every_split(const char *data, size_t n, const struct msrp_limits *lim)
{
    char *ref = trace_all(data, n, lim);
    for (size_t k = 0; k <= n; k++) {
        size_t two[2] = { k, n - k ? n - k : 1 };
        if (k == 0)
            two[0] = n ? n : 1;
        char *s = trace_sizes(data, n, two, 2, lim);
        cr_assert_str_eq(s, ref, "split at %zu differs:\n%s\nvs whole:\n%s", k, s, ref);
        free(s);
    }
    static const size_t odd[][3] = { { 1, 1, 1 }, { 2, 3, 5 }, { 7, 7, 7 }, { 13, 1, 64 } };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        char *s = trace_sizes(data, n, odd[i], 3, lim);
        cr_assert_str_eq(s, ref, "feed sizes %zu,%zu,%zu differ:\n%s\nvs whole:\n%s", odd[i][0],
                         odd[i][1], odd[i][2], s, ref);
        free(s);
    }
    return ref;
}

static void expect_trace(const char *data, const char *want)
{
    char *got = trace_every_split(data, strlen(data), NULL);
    cr_assert_str_eq(got, want, "trace:\n%s\nwanted:\n%s", got, want);
    free(got);
}

/* Only the last line matters: the error and its offset, after any split. */
static void expect_error(const char *data, size_t n, const struct msrp_limits *lim,
                         int err, uint64_t off)
{
    char *got = trace_every_split(data, n, lim);
    char want[128];
    snprintf(want, sizeof want, "ERR %s @%llu\n", msrp_strerror(err), (unsigned long long)off);
    size_t gl = strlen(got), wl = strlen(want);
    cr_assert(gl >= wl && strcmp(got + gl - wl, want) == 0, "trace:\n%s\nwanted last line: %s",
              got, want);
    free(got);
}

/* Parses data whole and returns a copy of the head at HEADERS_END. */
static void head_at_headers_end(const char *data, struct msrp_head *out, char *scratch,
                                size_t cap)
{
    struct msrp_parser p;
    cr_assert_eq(msrp_parser_init(&p, NULL, out, scratch, cap), 0);
    size_t off = 0, n = strlen(data);
    for (;;) {
        struct msrp_event ev;
        off += msrp_parse(&p, data + off, n - off, &ev);
        cr_assert_neq(ev.type, MSRP_EV_NONE, "no HEADERS_END");
        cr_assert_neq(ev.type, MSRP_EV_ERROR, "error %s @%llu", msrp_strerror(ev.error),
                      (unsigned long long)ev.error_offset);
        if (ev.type == MSRP_EV_HEADERS_END)
            return;
    }
}

/* --- RFC 4975 examples ---------------------------------------------------- */

/* RFC 4975 section 4 / 7.1: SEND and its 200. */
#define RFC4975_SEND                                                          \
    "MSRP a786hjs2 SEND\r\n"                                                  \
    "To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"         \
    "From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"          \
    "Message-ID: 87652491\r\n"                                                \
    "Byte-Range: 1-25/25\r\n"                                                 \
    "Content-Type: text/plain\r\n"                                            \
    "\r\n"                                                                    \
    "Hey Bob, are you there?\r\n"                                             \
    "-------a786hjs2$\r\n"
#define RFC4975_200                                                           \
    "MSRP a786hjs2 200 OK\r\n"                                                \
    "To-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"            \
    "From-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"       \
    "-------a786hjs2$\r\n"

Test(parser_rfc4975, send_and_200_exact_events)
{
    expect_trace(RFC4975_SEND RFC4975_200,
                 "START req a786hjs2 SEND m=1\n"
                 "H 1 To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\n"
                 "H 2 From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\n"
                 "H 3 Message-ID: 87652491\n"
                 "H 6 Byte-Range: 1-25/25\n"
                 "H 8 Content-Type: text/plain\n"
                 "HEND body=1\n"
                 "BODY 23 \"Hey Bob, are you there?\"\n"
                 "END $\n"
                 "START resp a786hjs2 200 'OK'\n"
                 "H 1 To-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\n"
                 "H 2 From-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\n"
                 "HEND body=0\n"
                 "END $\n");
}

Test(parser_rfc4975, send_typed_fields)
{
    static struct msrp_head h;
    static char scratch[16384];
    head_at_headers_end(RFC4975_SEND, &h, scratch, sizeof scratch);
    cr_assert_eq(h.kind, MSRP_REQUEST);
    cr_assert_eq(h.method, MSRP_M_SEND);
    cr_assert(msrp_slice_eq(h.tid, MSRP_SLICE_LIT("a786hjs2")));
    cr_assert_eq(h.n_to_path, 1);
    cr_assert(msrp_slice_eq(h.to_path[0].host, MSRP_SLICE_LIT("biloxi.example.com")));
    cr_assert_eq(h.to_path[0].port, 12763);
    cr_assert(msrp_slice_eq(h.to_path[0].session_id, MSRP_SLICE_LIT("kjhd37s2s20w2a")));
    cr_assert_eq(h.n_from_path, 1);
    cr_assert(msrp_slice_eq(h.from_path[0].session_id, MSRP_SLICE_LIT("jshA7weztas")));
    cr_assert(msrp_slice_eq(h.message_id, MSRP_SLICE_LIT("87652491")));
    cr_assert(h.has_byte_range);
    cr_assert_eq(h.byte_range.start, 1);
    cr_assert_eq(h.byte_range.end, 25);
    cr_assert_eq(h.byte_range.total, 25);
    cr_assert(msrp_slice_eq(h.content_type, MSRP_SLICE_LIT("text/plain")));
    cr_assert_eq(h.success_report, MSRP_REPORT_ABSENT);
    cr_assert_eq(h.failure_report, MSRP_REPORT_ABSENT);
    cr_assert(h.has_body);
    cr_assert_eq(h.n_headers, 5);
    const struct msrp_header *ct = msrp_head_find(&h, MSRP_H_CONTENT_TYPE);
    cr_assert_not_null(ct);
    cr_assert(msrp_slice_eq(ct->name, MSRP_SLICE_LIT("Content-Type")));
    cr_assert_null(msrp_head_find(&h, MSRP_H_STATUS));
}

/* RFC 4975 section 7.1.1: a message in two chunks, the first ending '+'.
 * The RFC's figure leaves the paths out; section 7.1 makes them mandatory,
 * so they are filled in with the section 10 addresses. */
#define RFC4975_CHUNKS                                                        \
    "MSRP dkei38sd SEND\r\n"                                                  \
    "To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"          \
    "From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"            \
    "Message-ID: 4564dpWd\r\n"                                                \
    "Byte-Range: 1-*/8\r\n"                                                   \
    "Content-Type: text/plain\r\n"                                            \
    "\r\n"                                                                    \
    "abcd\r\n"                                                                \
    "-------dkei38sd+\r\n"                                                    \
    "MSRP dkei38ia SEND\r\n"                                                  \
    "To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"          \
    "From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"            \
    "Message-ID: 4564dpWd\r\n"                                                \
    "Byte-Range: 5-8/8\r\n"                                                   \
    "Content-Type: text/plain\r\n"                                            \
    "\r\n"                                                                    \
    "EFGH\r\n"                                                                \
    "-------dkei38ia$\r\n"

Test(parser_rfc4975, chunked_send)
{
    expect_trace(RFC4975_CHUNKS,
                 "START req dkei38sd SEND m=1\n"
                 "H 1 To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\n"
                 "H 2 From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\n"
                 "H 3 Message-ID: 4564dpWd\n"
                 "H 6 Byte-Range: 1-*/8\n"
                 "H 8 Content-Type: text/plain\n"
                 "HEND body=1\n"
                 "BODY 4 \"abcd\"\n"
                 "END +\n"
                 "START req dkei38ia SEND m=1\n"
                 "H 1 To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\n"
                 "H 2 From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\n"
                 "H 3 Message-ID: 4564dpWd\n"
                 "H 6 Byte-Range: 5-8/8\n"
                 "H 8 Content-Type: text/plain\n"
                 "HEND body=1\n"
                 "BODY 4 \"EFGH\"\n"
                 "END $\n");
}

Test(parser_rfc4975, chunked_send_as_printed_lacks_paths)
{
    /* The figure verbatim: the first header is not To-Path. */
    const char *s = "MSRP dkei38sd SEND\r\nMessage-ID: 4564dpWd\r\nByte-Range: 1-*/8\r\n"
                    "Content-Type: text/plain\r\n\r\nabcd\r\n-------dkei38sd+\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_PATH_ORDER, 20);
}

/* RFC 4975 section 7.1.2: a bodyless REPORT. */
#define RFC4975_REPORT                                                        \
    "MSRP dkei38sd REPORT\r\n"                                                \
    "To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"          \
    "From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"            \
    "Message-ID: 12339sdqwer\r\n"                                             \
    "Byte-Range: 1-106/106\r\n"                                               \
    "Status: 000 200 OK\r\n"                                                  \
    "-------dkei38sd$\r\n"

Test(parser_rfc4975, report)
{
    expect_trace(RFC4975_REPORT,
                 "START req dkei38sd REPORT m=2\n"
                 "H 1 To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\n"
                 "H 2 From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\n"
                 "H 3 Message-ID: 12339sdqwer\n"
                 "H 6 Byte-Range: 1-106/106\n"
                 "H 7 Status: 000 200 OK\n"
                 "HEND body=0\n"
                 "END $\n");
    static struct msrp_head h;
    static char scratch[16384];
    head_at_headers_end(RFC4975_REPORT, &h, scratch, sizeof scratch);
    cr_assert(h.has_status);
    cr_assert_eq(h.status_hdr.ns, 0);
    cr_assert_eq(h.status_hdr.code, 200);
    cr_assert(msrp_slice_eq(h.status_hdr.comment, MSRP_SLICE_LIT("OK")));
    cr_assert_eq(h.byte_range.end, 106);
    cr_assert(!h.has_body);
}

/* RFC 4975 section 10.1: the basic IM session, four frames back to back
 * (the RFC counts the CRLF in its Byte-Range totals; the parser does not
 * check Byte-Range against the body, the session layer does). */
#define RFC4975_10_1                                                          \
    "MSRP d93kswow SEND\r\n"                                                  \
    "To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"              \
    "From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"        \
    "Message-ID: 12339sdqwer\r\n"                                             \
    "Byte-Range: 1-16/16\r\n"                                                 \
    "Content-Type: text/plain\r\n"                                            \
    "\r\n"                                                                    \
    "Hi, I'm Alice!\r\n"                                                      \
    "-------d93kswow$\r\n"                                                    \
    "MSRP d93kswow 200 OK\r\n"                                                \
    "To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"          \
    "From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"            \
    "-------d93kswow$\r\n"                                                    \
    "MSRP dkei38sd SEND\r\n"                                                  \
    "To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"          \
    "From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"            \
    "Message-ID: 456\r\n"                                                     \
    "Byte-Range: 1-21/21\r\n"                                                 \
    "Content-Type: text/plain\r\n"                                            \
    "\r\n"                                                                    \
    "Hi, Alice! I'm Bob!\r\n"                                                 \
    "-------dkei38sd$\r\n"                                                    \
    "MSRP dkei38sd 200 OK\r\n"                                                \
    "To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"              \
    "From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"        \
    "-------dkei38sd$\r\n"

Test(parser_rfc4975, section10_basic_session)
{
    char *t = trace_every_split(RFC4975_10_1, strlen(RFC4975_10_1), NULL);
    cr_assert(strstr(t, "BODY 14 \"Hi, I'm Alice!\"\nEND $\n"));
    cr_assert(strstr(t, "BODY 19 \"Hi, Alice! I'm Bob!\"\nEND $\n"));
    cr_assert(strstr(t, "START resp dkei38sd 200 'OK'\n"));
    /* four frames, nothing left over */
    int ends = 0;
    for (const char *q = t; (q = strstr(q, "END $\n")); q++)
        ends++;
    cr_assert_eq(ends, 4);
    cr_assert_null(strstr(t, "TRUNC"));
    cr_assert_null(strstr(t, "ERR"));
    free(t);
}

/* After RFC 4975 sections 10.4 (system message, reports off) and 10.5
 * (positive report requested, REPORT back). */
#define RFC4975_10_5                                                          \
    "MSRP d93kswow SEND\r\n"                                                  \
    "To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"              \
    "From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"        \
    "Message-ID: 12339sdqwer\r\n"                                             \
    "Byte-Range: 1-106/106\r\n"                                               \
    "Success-Report: yes\r\n"                                                 \
    "Failure-Report: no\r\n"                                                  \
    "Content-Type: text/html\r\n"                                             \
    "\r\n"                                                                    \
    "<html><body>\r\n"                                                        \
    "<p>Here is that important link...\r\n"                                   \
    "<a href=\"http://www.example.com/foobar\">foobar</a>\r\n"                \
    "</p>\r\n"                                                                \
    "</body></html>\r\n"                                                      \
    "-------d93kswow$\r\n"                                                    \
    RFC4975_REPORT

Test(parser_rfc4975, section10_positive_report)
{
    static struct msrp_head h;
    static char scratch[16384];
    head_at_headers_end(RFC4975_10_5, &h, scratch, sizeof scratch);
    cr_assert_eq(h.success_report, MSRP_REPORT_YES);
    cr_assert_eq(h.failure_report, MSRP_REPORT_NO);
    cr_assert(msrp_slice_eq(h.content_type, MSRP_SLICE_LIT("text/html")));
    char *t = trace_every_split(RFC4975_10_5, strlen(RFC4975_10_5), NULL);
    cr_assert(strstr(t, "HEND body=1\nBODY 121 \"<html><body>\\r\\n<p>Here"), "%s", t);
    cr_assert(strstr(t, "</body></html>\"\nEND $\nSTART req dkei38sd REPORT m=2\n"), "%s", t);
    free(t);
}

#define RFC4975_10_4                                                          \
    "MSRP dkei38sd SEND\r\n"                                                  \
    "To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"          \
    "From-Path: msrp://example.com:8888/9di4eae923wzd;tcp\r\n"                \
    "Message-ID: 12339sdqwer\r\n"                                             \
    "Byte-Range: 1-37/37\r\n"                                                 \
    "Failure-Report: no\r\n"                                                  \
    "Success-Report: no\r\n"                                                  \
    "Content-Type: text/plain\r\n"                                            \
    "\r\n"                                                                    \
    "This conference will end in 5 minutes\r\n"                               \
    "-------dkei38sd$\r\n"

Test(parser_rfc4975, section10_system_message)
{
    char *t = trace_every_split(RFC4975_10_4, strlen(RFC4975_10_4), NULL);
    cr_assert(strstr(t, "H 5 Failure-Report: no\nH 4 Success-Report: no\n"), "%s", t);
    cr_assert(strstr(t, "BODY 37 \"This conference will end in 5 minutes\"\nEND $\n"), "%s", t);
    free(t);
}

/* --- RFC 4976 examples ---------------------------------------------------- */

#define RFC4976_AUTH                                                          \
    "MSRP 49fh AUTH\r\n"                                                      \
    "To-Path: msrps://alice@intra.example.com;tcp\r\n"                        \
    "From-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"                 \
    "-------49fh$\r\n"
#define RFC4976_401                                                           \
    "MSRP 49fh 401 Unauthorized\r\n"                                          \
    "To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"                   \
    "From-Path: msrps://alice@intra.example.com;tcp\r\n"                      \
    "WWW-Authenticate: Digest realm=\"intra.example.com\", qop=\"auth\", "    \
    "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"\r\n"                        \
    "-------49fh$\r\n"
#define RFC4976_AUTH2                                                         \
    "MSRP 49fi AUTH\r\n"                                                      \
    "To-Path: msrps://alice@intra.example.com;tcp\r\n"                        \
    "From-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"                 \
    "Authorization: Digest username=\"Alice\", realm=\"intra.example.com\", " \
    "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", qop=auth, nc=00000001, "   \
    "cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\"\r\n"  \
    "-------49fi$\r\n"
#define RFC4976_200                                                           \
    "MSRP 49fi 200 OK\r\n"                                                    \
    "To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"                   \
    "From-Path: msrps://alice@intra.example.com;tcp\r\n"                      \
    "Use-Path: msrps://intra.example.com:9000/jui787s2f;tcp\r\n"              \
    "Expires: 900\r\n"                                                        \
    "-------49fi$\r\n"
#define RFC4976_SEND                                                          \
    "MSRP 6aef SEND\r\n"                                                      \
    "To-Path: msrps://intra.example.com:9000/jui787s2f;tcp "                  \
    "msrps://extra.example.com:9000/mywjs2j;tcp "                             \
    "msrps://bob.example.com:8888/9di4eae923wzd;tcp\r\n"                      \
    "From-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"                 \
    "Message-ID: 87652\r\n"                                                   \
    "Byte-Range: 1-44/44\r\n"                                                 \
    "Content-Type: text/plain\r\n"                                            \
    "\r\n"                                                                    \
    "Hi Bob, I'm about to send you file.mpeg\r\n"                             \
    "-------6aef$\r\n"

Test(parser_rfc4976, auth_exchange_exact_events)
{
    expect_trace(RFC4976_AUTH RFC4976_401,
                 "START req 49fh AUTH m=3\n"
                 "H 1 To-Path: msrps://alice@intra.example.com;tcp\n"
                 "H 2 From-Path: msrps://alice.example.com:9892/98cjs;tcp\n"
                 "HEND body=0\n"
                 "END $\n"
                 "START resp 49fh 401 'Unauthorized'\n"
                 "H 1 To-Path: msrps://alice.example.com:9892/98cjs;tcp\n"
                 "H 2 From-Path: msrps://alice@intra.example.com;tcp\n"
                 "H 16 WWW-Authenticate: Digest realm=\"intra.example.com\", qop=\"auth\", "
                 "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"\n"
                 "HEND body=0\n"
                 "END $\n");
}

Test(parser_rfc4976, authorization_use_path_expires)
{
    char *t = trace_every_split(RFC4976_AUTH2 RFC4976_200, strlen(RFC4976_AUTH2 RFC4976_200),
                                NULL);
    cr_assert(strstr(t, "H 17 Authorization: Digest username=\"Alice\""), "%s", t);
    cr_assert(strstr(t, "H 15 Use-Path: msrps://intra.example.com:9000/jui787s2f;tcp\n"
                        "H 12 Expires: 900\nHEND body=0\nEND $\n"),
              "%s", t);
    free(t);
    static struct msrp_head h;
    static char scratch[16384];
    head_at_headers_end(RFC4976_200, &h, scratch, sizeof scratch);
    cr_assert_eq(h.n_use_path, 1);
    cr_assert_eq(h.use_path[0].scheme, MSRP_SCHEME_MSRPS);
    cr_assert_eq(h.use_path[0].port, 9000);
    cr_assert(h.has_expires);
    cr_assert_eq(h.expires, 900);
    cr_assert_eq(h.status, 200);
}

Test(parser_rfc4976, send_through_relays)
{
    char *t = trace_every_split(RFC4976_SEND, strlen(RFC4976_SEND), NULL);
    cr_assert(strstr(t, "BODY 39 \"Hi Bob, I'm about to send you file.mpeg\"\nEND $\n"), "%s", t);
    free(t);
    static struct msrp_head h;
    static char scratch[16384];
    head_at_headers_end(RFC4976_SEND, &h, scratch, sizeof scratch);
    cr_assert_eq(h.n_to_path, 3);
    cr_assert(msrp_slice_eq(h.to_path[1].host, MSRP_SLICE_LIT("extra.example.com")));
    cr_assert(msrp_slice_eq(h.to_path[2].session_id, MSRP_SLICE_LIT("9di4eae923wzd")));
}

/* --- framing details --------------------------------------------------- */

#define PATHS                                                                 \
    "To-Path: msrp://b.example.com:2855/s1;tcp\r\n"                           \
    "From-Path: msrp://a.example.com:2855/s2;tcp\r\n"
#define TID "tid12345"

Test(parser_framing, empty_body_forms)
{
    /* blank line, no data, CRLF, end-line: the ABNF's empty body */
    expect_trace("MSRP " TID " SEND\r\n" PATHS "\r\n\r\n-------" TID "$\r\n",
                 "START req " TID " SEND m=1\nH 1 To-Path: msrp://b.example.com:2855/s1;tcp\n"
                 "H 2 From-Path: msrp://a.example.com:2855/s2;tcp\nHEND body=1\nEND $\n");
    /* blank line straight into the end-line (sloppy peers): same events */
    expect_trace("MSRP " TID " SEND\r\n" PATHS "\r\n-------" TID "#\r\n",
                 "START req " TID " SEND m=1\nH 1 To-Path: msrp://b.example.com:2855/s1;tcp\n"
                 "H 2 From-Path: msrp://a.example.com:2855/s2;tcp\nHEND body=1\nEND #\n");
}

Test(parser_framing, header_spacing_tolerance_and_unknowns)
{
    expect_trace("MSRP " TID " FOO\r\n"
                 "to-path:msrp://b.example.com:2855/s1;tcp  \r\n"
                 "FROM-PATH: \t msrp://a.example.com:2855/s2;tcp\r\n"
                 "X-Thing:   some  value \r\n"
                 "Content-Disposition: inline\r\n"
                 "-------" TID "$\r\n",
                 "START req " TID " FOO m=0\n"
                 "H 1 to-path: msrp://b.example.com:2855/s1;tcp\n"
                 "H 2 FROM-PATH: msrp://a.example.com:2855/s2;tcp\n"
                 "H 0 X-Thing: some  value\n"
                 "H 11 Content-Disposition: inline\n"
                 "HEND body=0\nEND $\n");
}

Test(parser_framing, response_without_comment_and_stray_crlf_between_frames)
{
    expect_trace("\r\nMSRP " TID " 481\r\n" PATHS "-------" TID "$\r\n\r\n\r\n"
                 "MSRP " TID " 200 \r\n" PATHS "-------" TID "$\r\n",
                 "START resp " TID " 481 ''\nH 1 To-Path: msrp://b.example.com:2855/s1;tcp\n"
                 "H 2 From-Path: msrp://a.example.com:2855/s2;tcp\nHEND body=0\nEND $\n"
                 "START resp " TID " 200 ''\nH 1 To-Path: msrp://b.example.com:2855/s1;tcp\n"
                 "H 2 From-Path: msrp://a.example.com:2855/s2;tcp\nHEND body=0\nEND $\n");
}

Test(parser_framing, end_line_look_alikes_are_body)
{
    const char *body =
        "a\r\n---b\r\n-------" "tid1234" "$\r\n"  /* another (shorter) tid */
        "\r\n-------" TID "x\r\n"                 /* our tid, then a non-flag */
        "\r\n-------" TID "9$\r\n"                /* a longer tid */
        "\r\n-------" TID "$x"                    /* flag, then no CRLF */
        "\r\n-------" TID "+\r\r\n"               /* flag, CR, CR */
        "\r\r\n\r\n-------\r\n-------" TID;       /* ends in our tid, no flag */
    char frame[1024];
    snprintf(frame, sizeof frame, "MSRP " TID " SEND\r\n" PATHS "\r\n%s\r\n-------" TID "$\r\n",
             body);
    char *t = trace_every_split(frame, strlen(frame), NULL);
    struct sbuf want = { 0 };
    sb_printf(&want, "BODY %zu \"", strlen(body));
    sb_escaped(&want, body, strlen(body));
    sb_put(&want, "\"\nEND $\n", 8);
    cr_assert(strstr(t, want.p), "trace:\n%s\nwant:\n%s", t, want.p);
    cr_assert_null(strstr(t, "TRUNC"));
    free(want.p);
    free(t);
}

/* Expects a SEND of body (ending "+") and a 200 after it to trace as that
 * one body, END + and the 200, fed whole, split in two at every offset and
 * in odd sizes. The 200 puts the end-line in the middle of a feed, where
 * the scan's unchecked inner loop meets it. */
static void expect_long_body(const char *body, size_t bn)
{
    static const char head[] = "MSRP " TID " SEND\r\n" PATHS "\r\n";
    static const char tail[] = "\r\n-------" TID "+\r\n"
                               "MSRP " TID " 200 OK\r\n" PATHS "-------" TID "$\r\n";
    size_t n = strlen(head) + bn + strlen(tail);
    char *frame = malloc(n);
    cr_assert_not_null(frame);
    memcpy(frame, head, strlen(head));
    memcpy(frame + strlen(head), body, bn);
    memcpy(frame + strlen(head) + bn, tail, strlen(tail));
    char *t = trace_every_split(frame, n, NULL);
    struct sbuf want = { 0 };
    sb_printf(&want, "HEND body=1\nBODY %zu \"", bn);
    sb_escaped(&want, body, bn);
    sb_put(&want, "\"\nEND +\nSTART resp " TID " 200 'OK'\n", 8 + 21 + strlen(TID));
    const char *at = strstr(t, "HEND");
    cr_assert(at && strncmp(at, want.p, want.n) == 0 && strstr(t, "END $\n") &&
                  strcmp(strstr(t, "END $\n"), "END $\n") == 0,
              "trace:\n%s\nwant:\n%s", t, want.p);
    free(want.p);
    free(t);
    free(frame);
}

/* Bodies longer than the scan's 64- and 128-byte vector blocks (endscan.c):
 * near-misses of the end-line straddle every block boundary as the split
 * point moves, and the end-line itself is split at every offset. */
Test(parser_framing, long_bodies_of_look_alikes)
{
    char body[700];
    size_t n = 0;
    /* the end-line with a wrong tid byte at each position, flags and CRs
     * in the wrong places, then runs of dashes and bare CRs */
    static const char el[] = "\r\n-------" TID "$\r\n";
    for (size_t k = 2; k + 3 < sizeof el; k++) {
        memcpy(body + n, el, sizeof el - 1);
        body[n + k] = k < 9 ? '+' : '-';
        n += sizeof el - 1;
    }
    static const char more[] = "\r\n-------" TID "\r\n-------" TID "x\r\n\r\r\n-"
                               "--------------------------------------\r\r\r\r\n";
    memcpy(body + n, more, sizeof more - 1);
    n += sizeof more - 1;
    cr_assert_lt(n, sizeof body);
    expect_long_body(body, n);

    /* all dashes; all CRLF-dash triples */
    memset(body, '-', 300);
    expect_long_body(body, 300);
    for (size_t i = 0; i < 300; i++)
        body[i] = "\r\n-"[i % 3];
    expect_long_body(body, 300);
    /* ends in "\r\n-------" + our tid without its flag: one byte short */
    memset(body, 'q', 200);
    memcpy(body + 200, "\r\n-------" TID, 9 + strlen(TID));
    expect_long_body(body, 200 + 9 + strlen(TID));
}

/* The end-line found whole in one feed is checked with one compare
 * (parse_body, end_line); each wrong byte position must still fall back to
 * the byte matcher: body for a body candidate, the old error for a
 * bodyless one. trace_every_split compares whole feeds (compare) against
 * every split (matcher). */
Test(parser_framing, end_line_compare_each_wrong_byte)
{
    const char el[] = "\r\n-------" TID "$\r\n";
    for (size_t k = 0; k + 1 < sizeof(el); k++) {
        char cand[sizeof(el)];
        memcpy(cand, el, sizeof(el));
        cand[k] = cand[k] == 'Z' ? 'Y' : 'Z'; /* not CR, LF, '-' or a flag */
        char frame[512];
        snprintf(frame, sizeof frame, "MSRP " TID " SEND\r\n" PATHS "\r\nab%s\r\n-------" TID
                 "+\r\n", cand);
        char *t = trace_every_split(frame, strlen(frame), NULL);
        struct sbuf want = { 0 };
        sb_printf(&want, "BODY %zu \"ab", strlen(cand) + 2);
        sb_escaped(&want, cand, strlen(cand));
        sb_put(&want, "\"\nEND +\n", 8);
        cr_assert(strstr(t, want.p), "byte %zu wrong: trace:\n%s\nwant:\n%s", k, t, want.p);
        free(want.p);
        free(t);
    }
    for (size_t k = 1; k < 7 + strlen(TID); k++) { /* k = 0: a header line */
        char line[64];
        snprintf(line, sizeof line, "-------" TID "#\r\n");
        line[k] = 'Z';
        char frame[512];
        snprintf(frame, sizeof frame, "MSRP " TID " SEND\r\n" PATHS "%s", line);
        expect_error(frame, strlen(frame), NULL, MSRP_E_END_LINE, 108 + k);
    }
    const char *ok[] = { "-------" TID "$\r\n", "-------" TID "+\r\n", "-------" TID "#\r\n" };
    for (size_t i = 0; i < 3; i++) {
        char frame[512];
        snprintf(frame, sizeof frame, "MSRP " TID " SEND\r\n" PATHS "%s", ok[i]);
        char *t = trace_every_split(frame, strlen(frame), NULL);
        char want[16];
        snprintf(want, sizeof want, "END %c\n", ok[i][7 + strlen(TID)]);
        cr_assert(strstr(t, want), "trace:\n%s", t);
        free(t);
    }
}

Test(parser_framing, truncated_inputs_report_in_frame)
{
    const char *full = RFC4975_SEND;
    size_t n = strlen(full);
    for (size_t k = 1; k < n; k++) {
        char *t = trace_all(full, k, NULL);
        cr_assert(strstr(t, "TRUNC\n"), "prefix %zu not reported truncated:\n%s", k, t);
        cr_assert_null(strstr(t, "END $"), "prefix %zu", k);
        free(t);
    }
    char *t = trace_all(full, n, NULL);
    cr_assert_null(strstr(t, "TRUNC"));
    free(t);
}

#define TIDX "abcde"
Test(parser_framing, pending_frame_end_on_empty_call)
{
    static struct msrp_parser p;
    static struct msrp_head h;
    static char scratch[16384];
    cr_assert_eq(msrp_parser_init(&p, NULL, &h, scratch, sizeof scratch), 0);
    const char *s = RFC4975_200;
    size_t n = strlen(s), off = 0;
    struct msrp_event ev;
    int types[8], k = 0;
    while (k < 8) {
        off += msrp_parse(&p, s + off, n - off, &ev);
        types[k++] = ev.type;
        if (ev.type == MSRP_EV_NONE)
            break;
    }
    cr_assert_eq(k, 6);
    cr_assert_eq(types[3], MSRP_EV_HEADERS_END);
    cr_assert_eq(types[4], MSRP_EV_FRAME_END);
    cr_assert_eq(types[5], MSRP_EV_NONE);
    cr_assert_eq(off, n);
    cr_assert(!msrp_parser_in_frame(&p));
    /* an empty feed, even a NULL one, is NONE in every state */
    cr_assert_eq(msrp_parse(&p, NULL, 0, &ev), 0);
    cr_assert_eq(ev.type, MSRP_EV_NONE);
    cr_assert_eq(msrp_parse(&p, "MSRP " TIDX, 10, &ev), 10);
    cr_assert(msrp_parser_in_frame(&p), "a partial start line is inside a frame");
    cr_assert_eq(msrp_parse(&p, NULL, 0, &ev), 0);
    cr_assert_eq(ev.type, MSRP_EV_NONE);
}

/* --- errors with exact offsets -------------------------------------------- */

#define START "MSRP " TID " SEND\r\n" /* 20 bytes */

Test(parser_errors, start_line)
{
    expect_error("HTTP/1.1 200 OK\r\n", 17, NULL, MSRP_E_START_LINE, 0);
    expect_error("MSRPX", 5, NULL, MSRP_E_START_LINE, 4);
    expect_error("\r\r\n", 3, NULL, MSRP_E_START_LINE, 1);
    expect_error("MSRP ab SEND\r\n", 14, NULL, MSRP_E_TID, 7);
    expect_error("MSRP -abc SEND\r\n", 16, NULL, MSRP_E_TID, 5);
    expect_error("MSRP ab/cd SEND\r\n", 17, NULL, MSRP_E_TID, 7);
    expect_error("MSRP abcd\r\n", 11, NULL, MSRP_E_TID, 9);
    const char *longtid = "MSRP abcdefghijklmnopqrstuvwxyz0123456789 SEND\r\n";
    expect_error(longtid, strlen(longtid), NULL, MSRP_E_TID_TOO_LONG, 37);
    expect_error("MSRP abcd send\r\n", 16, NULL, MSRP_E_METHOD, 10);
    expect_error("MSRP abcd SEND \r\n", 17, NULL, MSRP_E_METHOD, 14);
    expect_error("MSRP abcd \r\n", 12, NULL, MSRP_E_METHOD, 10);
    expect_error("MSRP abcd 20\r\n", 14, NULL, MSRP_E_STATUS_CODE, 12);
    expect_error("MSRP abcd 2000\r\n", 16, NULL, MSRP_E_STATUS_CODE, 13);
    expect_error("MSRP abcd 099 x\r\n", 17, NULL, MSRP_E_STATUS_CODE, 10);
    expect_error("MSRP abcd 200 O\001K\r\n", 19, NULL, MSRP_E_START_LINE, 15);
}

Test(parser_errors, line_endings)
{
    expect_error("MSRP abcd SEND\n", 15, NULL, MSRP_E_LINE_ENDING, 14);
    expect_error("MSRP abcd SE\rND\r\n", 17, NULL, MSRP_E_LINE_ENDING, 12);
    const char *s = START "To-Path: msrp://b.example.com:2855/s1;tcp\n";
    expect_error(s, strlen(s), NULL, MSRP_E_LINE_ENDING, strlen(s) - 1);
}

Test(parser_errors, headers)
{
    const char *s = START "Message-ID: 1\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_PATH_ORDER, 20);
    s = START "From-Path: msrp://a.example.com/x;tcp\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_PATH_ORDER, 20);
    s = START "-------" TID "$\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_PATH_ORDER, 20);
    s = START "To-Path: msrp://b.example.com:2855/s1;tcp\r\n\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_PATH_ORDER, 63);
    s = START PATHS "Bad Name: x\r\n"; /* PATHS = 88 bytes */
    expect_error(s, strlen(s), NULL, MSRP_E_HEADER_SYNTAX, 111);
    s = START PATHS "NoColon\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_HEADER_SYNTAX, 115);
    s = START PATHS "1x: y\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_HEADER_SYNTAX, 108);
    s = START PATHS "X: a\001b\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_HEADER_VALUE, 112);
    s = START PATHS "Byte-Range: 1-2/3\r\nByte-Range: 1-2/3\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_DUPLICATE_HEADER, 127);
    s = START PATHS "To-Path: msrp://b.example.com:2855/s1;tcp\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_DUPLICATE_HEADER, 108);
    s = START PATHS "Byte-Range: 0-2/3\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_BYTE_RANGE, 120);
    s = START PATHS "Success-Report: partial\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_REPORT_VALUE, 124);
    s = START PATHS "Status: 000 20 OK\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_STATUS_HEADER, 116);
    s = START PATHS "Expires: 4294967296\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_EXPIRES, 117);
    s = START PATHS "Message-ID: a b\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_HEADER_VALUE, 120);
    s = START "To-Path: http://b.example.com/s1;tcp\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_URI, 29);
}

Test(parser_errors, end_lines)
{
    const char *s = START PATHS "-------tid99999$\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_END_LINE, 108 + 10);
    s = START PATHS "-------" TID "\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_END_LINE, 108 + 15);
    s = START PATHS "-------" TID "$$\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_END_LINE, 108 + 16);
    s = START PATHS "------\r\n";
    expect_error(s, strlen(s), NULL, MSRP_E_END_LINE, 108 + 6);
}

Test(parser_errors, sticky_until_reset)
{
    static struct msrp_parser p;
    static struct msrp_head h;
    static char scratch[16384];
    cr_assert_eq(msrp_parser_init(&p, NULL, &h, scratch, sizeof scratch), 0);
    struct msrp_event ev;
    cr_assert_eq(msrp_parse(&p, "GET", 3, &ev), 0);
    cr_assert_eq(ev.type, MSRP_EV_ERROR);
    cr_assert_eq(ev.error, MSRP_E_START_LINE);
    const char *ok = RFC4975_200;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(msrp_parse(&p, ok, strlen(ok), &ev), 0);
        cr_assert_eq(ev.type, MSRP_EV_ERROR);
        cr_assert_eq(ev.error_offset, 0);
    }
    msrp_parser_reset(&p);
    cr_assert_gt(msrp_parse(&p, ok, strlen(ok), &ev), 0);
    cr_assert_eq(ev.type, MSRP_EV_FRAME_START);
    cr_assert_eq(h.status, 200);
}

/* --- limits -------------------------------------------------------------- */

Test(parser_limits, header_bytes)
{
    struct msrp_limits lim;
    msrp_limits_default(&lim);
    lim.max_header_bytes = 200;
    /* an endless header line stops at the budget, not at memory */
    size_t n = 100000;
    char *s = malloc(n);
    memset(s, 'a', n);
    memcpy(s, START PATHS "X: ", 20 + 88 + 3);
    expect_error(s, 5000, &lim, MSRP_E_HEADERS_TOO_LARGE, 200);
    char *t = trace_all(s, n, NULL);
    cr_assert(strstr(t, "ERR header_section_too_large @16384\n"), "%s", t);
    free(t);
    /* an endless start line too */
    memset(s, 'a', n);
    memcpy(s, "MSRP abcd ", 10);
    t = trace_all(s, n, NULL);
    cr_assert(strstr(t, "ERR header_section_too_large @16384\n"), "%s", t);
    free(t);
    free(s);
    /* exactly at the budget is fine: 20 + 88 + 18 (end-line) = 126 */
    lim.max_header_bytes = 126;
    const char *f = START PATHS "-------" TID "$\r\n";
    t = trace_every_split(f, strlen(f), &lim);
    cr_assert(strstr(t, "END $\n"), "%s", t);
    free(t);
    lim.max_header_bytes = 125;
    expect_error(f, strlen(f), &lim, MSRP_E_HEADERS_TOO_LARGE, 125);
}

Test(parser_limits, header_count)
{
    struct msrp_limits lim;
    msrp_limits_default(&lim);
    lim.max_headers = 4;
    const char *s = START PATHS "A: 1\r\nB: 2\r\nC: 3\r\n";
    expect_error(s, strlen(s), &lim, MSRP_E_TOO_MANY_HEADERS, 108 + 12);
    const char *ok = START PATHS "A: 1\r\nB: 2\r\n-------" TID "$\r\n";
    char *t = trace_every_split(ok, strlen(ok), &lim);
    cr_assert(strstr(t, "END $\n"), "%s", t);
    free(t);
}

/* Parses data whole (limits lim) up to its error; the head is in *h. */
static int error_with_head(const char *data, const struct msrp_limits *lim, struct msrp_head *h,
                           char *scratch, size_t cap)
{
    struct msrp_parser p;
    size_t off = 0, n = strlen(data);
    cr_assert_eq(msrp_parser_init(&p, lim, h, scratch, cap), 0);
    for (;;) {
        struct msrp_event ev;
        off += msrp_parse(&p, data + off, n - off, &ev);
        cr_assert_neq(ev.type, MSRP_EV_NONE, "no error");
        cr_assert_neq(ev.type, MSRP_EV_HEADERS_END, "HEADERS_END for a head in error");
        if (ev.type == MSRP_EV_ERROR)
            return ev.error;
    }
}

/* Header values are checked for control bytes 16 bytes at a time (SSE2;
 * a word at a time elsewhere), the tail as an overlapping last block
 * (find_ctl): each control byte (and HTAB, DEL's neighbours, a high byte,
 * which are fine) at every position of values of every length 1..40 (so
 * up to two whole blocks and every tail), fed whole: the error and its
 * offset. */
Test(parser_errors, value_control_byte_every_position)
{
    static const char pre[] = "MSRP " TID " SEND\r\n" PATHS "X-Test: ";
    static const unsigned char bytes[] = { 0x00, 0x01, 0x08, 0x09, 0x0b, 0x1f, 0x20,
                                           0x7e, 0x7f, 0x80, 0xff };
    static struct msrp_head h;
    static char scratch[16384];
    for (size_t n = 1; n <= 40; n++) {
        for (size_t at = 0; at < n; at++) {
            for (size_t b = 0; b < sizeof bytes; b++) {
                char frame[512];
                size_t pn = strlen(pre);
                memcpy(frame, pre, pn);
                memset(frame + pn, 'v', n);
                frame[pn + at] = (char)bytes[b];
                memcpy(frame + pn + n, "z\r\n\r\n", 5);
                size_t len = pn + n + 5;
                bool ctl = (bytes[b] < 0x20 && bytes[b] != 0x09) || bytes[b] == 0x7f;
                struct msrp_parser p;
                cr_assert_eq(msrp_parser_init(&p, NULL, &h, scratch, sizeof scratch), 0);
                size_t off = 0;
                struct msrp_event ev;
                do {
                    off += msrp_parse(&p, frame + off, len - off, &ev);
                } while (ev.type != MSRP_EV_ERROR && ev.type != MSRP_EV_HEADERS_END &&
                         ev.type != MSRP_EV_NONE);
                if (ctl) {
                    cr_assert_eq(ev.type, MSRP_EV_ERROR, "n %zu at %zu byte %#x", n, at, bytes[b]);
                    cr_assert_eq(ev.error, MSRP_E_HEADER_VALUE);
                    cr_assert_eq(ev.error_offset, pn + at, "n %zu at %zu byte %#x: @%llu", n, at,
                                 bytes[b], (unsigned long long)ev.error_offset);
                } else {
                    cr_assert_eq(ev.type, MSRP_EV_HEADERS_END, "n %zu at %zu byte %#x: %d", n,
                                 at, bytes[b], (int)ev.type);
                }
            }
        }
    }
}

/* Too many URIs in either path: the frame fails at the end of its header
 * section with both paths read (their first max_path_uris URIs), so the
 * gateway can address a 400 to it; an invalid URI still fails at once. */
Test(parser_limits, path_too_long_keeps_both_paths_for_the_400)
{
    static struct msrp_head h;
    static char scratch[1 << 16];
    struct msrp_limits lim;
    msrp_limits_default(&lim);
    lim.max_path_uris = 2;
    const char *to3 = START "To-Path: msrp://a.example.com/1;tcp msrp://b.example.com/2;tcp "
                            "msrp://c.example.com/3;tcp\r\n"
                            "From-Path: msrp://f.example.com/9;tcp\r\n"
                            "Message-ID: m\r\n-------" TID "$\r\n";
    cr_assert_eq(error_with_head(to3, &lim, &h, scratch, sizeof scratch), MSRP_E_TOO_MANY_URIS);
    cr_assert_eq(h.n_to_path, 2);
    cr_assert_eq(h.n_from_path, 1);
    cr_assert_eq(h.to_path[0].host.n, strlen("a.example.com"));
    cr_assert_eq(memcmp(h.from_path[0].host.p, "f.example.com", 13), 0);
    cr_assert_eq(h.message_id.n, 1, "the rest of the head was read");
    /* Reported at the end-line, under every split of the input. */
    expect_error(to3, strlen(to3), &lim, MSRP_E_TOO_MANY_URIS,
                 strlen(to3) - strlen("-------" TID "$\r\n"));
    const char *from3 = START "To-Path: msrp://a.example.com/1;tcp\r\n"
                              "From-Path: msrp://f.example.com/1;tcp msrp://g.example.com/2;tcp "
                              "msrp://h.example.com/3;tcp\r\n\r\nbody\r\n-------" TID "$\r\n";
    cr_assert_eq(error_with_head(from3, &lim, &h, scratch, sizeof scratch),
                 MSRP_E_TOO_MANY_URIS);
    cr_assert_eq(h.n_to_path, 1);
    cr_assert_eq(h.n_from_path, 2);
    const char *bad = START "To-Path: msrp:/x msrp://b.example.com/2;tcp "
                            "msrp://c.example.com/3;tcp\r\n";
    expect_error(bad, strlen(bad), &lim, MSRP_E_URI, 29);
}

Test(parser_limits, path_uris_uri_length_tid)
{
    /* max_path_uris: path_too_long_keeps_both_paths_for_the_400 */
    struct msrp_limits lim;
    msrp_limits_default(&lim);
    lim.max_uri_len = 20;
    const char *s = START "To-Path: msrp://abcdefghij.example.com/1;tcp\r\n";
    expect_error(s, strlen(s), &lim, MSRP_E_URI_TOO_LONG, 29);
    msrp_limits_default(&lim);
    lim.max_tid_len = 8;
    s = "MSRP abcdefghi SEND\r\n";
    expect_error(s, strlen(s), &lim, MSRP_E_TID_TOO_LONG, 13);
    s = "MSRP abcdefgh SEND\r\n" PATHS "-------abcdefgh$\r\n";
    char *t = trace_every_split(s, strlen(s), &lim);
    cr_assert(strstr(t, "END $\n"), "%s", t);
    free(t);
}

/* raw_response_paths (the relay's setting): a response's paths are kept as
 * header values only, even when they are not URIs; requests are parsed
 * and refused exactly as without it. */
Test(parser_limits, raw_response_paths)
{
    static struct msrp_head h;
    static char scratch[1 << 16];
    struct msrp_limits lim;
    msrp_limits_default(&lim);
    cr_assert_not(lim.raw_response_paths);
    lim.raw_response_paths = true;
    struct msrp_parser p;
    const char *resp = RFC4975_200;
    cr_assert_eq(msrp_parser_init(&p, &lim, &h, scratch, sizeof scratch), 0);
    size_t off = 0, n = strlen(resp);
    struct msrp_event ev;
    do {
        off += msrp_parse(&p, resp + off, n - off, &ev);
        cr_assert_neq(ev.type, MSRP_EV_ERROR);
    } while (ev.type != MSRP_EV_HEADERS_END);
    cr_assert_eq(h.status, 200);
    cr_assert_eq(h.n_to_path, 0);
    cr_assert_eq(h.n_from_path, 0);
    cr_assert_eq(h.n_headers, 2);
    cr_assert_eq(h.headers[0].id, MSRP_H_TO_PATH);
    cr_assert(msrp_slice_eq(h.headers[0].value,
                            MSRP_SLICE_LIT("msrp://atlanta.example.com:7654/jshA7weztas;tcp")));
    /* Not URIs: fine in a response, refused in a request. */
    const char *bad_resp = "MSRP t1234 200 OK\r\nTo-Path: not-a-uri\r\nFrom-Path: x\r\n-------t1234$\r\n";
    char *t = trace_every_split(bad_resp, strlen(bad_resp), &lim);
    cr_assert(strstr(t, "END $\n"), "trace:\n%s", t);
    free(t);
    expect_error(bad_resp, strlen(bad_resp), NULL, MSRP_E_URI, 28);
    const char *bad_req = "MSRP t1234 SEND\r\nTo-Path: not-a-uri\r\nFrom-Path: x\r\n-------t1234$\r\n";
    expect_error(bad_req, strlen(bad_req), &lim, MSRP_E_URI, 26);
    expect_error(bad_req, strlen(bad_req), NULL, MSRP_E_URI, 26);
}

Test(parser_limits, init_and_check)
{
    static struct msrp_parser p;
    static struct msrp_head h;
    static char scratch[100];
    struct msrp_limits lim;
    msrp_limits_default(&lim);
    cr_assert_eq(lim.max_header_bytes, 16384);
    cr_assert_eq(lim.max_headers, 32);
    cr_assert_eq(lim.max_path_uris, 8);
    cr_assert_eq(lim.max_uri_len, 1024);
    cr_assert_eq(lim.max_tid_len, 32);
    cr_assert_eq(msrp_limits_check(&lim), 0);
    cr_assert_eq(msrp_parser_init(&p, NULL, &h, scratch, sizeof scratch), MSRP_E_INVALID);
    lim.max_header_bytes = 100;
    cr_assert_eq(msrp_parser_init(&p, &lim, &h, scratch, sizeof scratch), 0);
    lim.max_headers = 65;
    lim.max_tid_len = 0;
    cr_assert_eq(msrp_limits_check(&lim), MSRP_E_INVALID);
    cr_assert_eq(lim.max_headers, MSRP_HEADERS_CAP);
    cr_assert_eq(lim.max_tid_len, 1);
}

/* --- big body ------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

struct big_ctx {
    wc_Sha256 sha;
    uint64_t bytes, next_off;
    int ends, starts;
    bool bad;
};

static void big_feed(struct msrp_parser *p, struct big_ctx *c, const char *buf, size_t n)
{
    size_t off = 0;
    for (;;) {
        struct msrp_event ev;
        off += msrp_parse(p, buf + off, n - off, &ev);
        switch (ev.type) {
        case MSRP_EV_NONE:
            if (off != n)
                c->bad = true;
            return;
        case MSRP_EV_BODY:
            if (ev.body_offset != c->next_off)
                c->bad = true;
            c->next_off += ev.body.n;
            c->bytes += ev.body.n;
            wc_Sha256Update(&c->sha, (const byte *)ev.body.p, (word32)ev.body.n);
            break;
        case MSRP_EV_FRAME_START:
            c->starts++;
            break;
        case MSRP_EV_FRAME_END:
            c->ends++;
            break;
        case MSRP_EV_ERROR:
            c->bad = true;
            return;
        default:
            break;
        }
    }
}

Test(parser_big, body_64mib_odd_feeds_checksum, .timeout = 120)
{
    const size_t body_n = 64u << 20;
    const char *head = "MSRP bigtid00000000000000000001 SEND\r\n" PATHS
                       "Byte-Range: 1-67108864/67108864\r\nContent-Type: application/octet-stream\r\n\r\n";
    const char *tail = "\r\n-------bigtid00000000000000000001$\r\n";
    size_t hn = strlen(head), tn = strlen(tail), n = hn + body_n + tn;
    char *s = malloc(n);
    cr_assert_not_null(s);
    memcpy(s, head, hn);
    char *b = s + hn;
    for (size_t i = 0; i < body_n; i += 8) {
        uint64_t r = rng();
        memcpy(b + i, &r, 8);
    }
    /* text-like stretches full of CRLF and dash runs, too */
    for (size_t i = 0; i + 64 < body_n; i += 1 << 16)
        memcpy(b + i, "\r\n-------bigtid0000\r\n\r\n-------\r\n---", 34);
    memcpy(s + hn + body_n, tail, tn);

    byte want[WC_SHA256_DIGEST_SIZE], got[WC_SHA256_DIGEST_SIZE];
    wc_Sha256 sha;
    wc_InitSha256(&sha);
    wc_Sha256Update(&sha, (const byte *)b, (word32)body_n);
    wc_Sha256Final(&sha, want);

    static struct msrp_parser p;
    static struct msrp_head h;
    static char scratch[16384];
    cr_assert_eq(msrp_parser_init(&p, NULL, &h, scratch, sizeof scratch), 0);
    struct big_ctx c = { 0 };
    wc_InitSha256(&c.sha);
    static const size_t sizes[] = { 65521, 1, 4093, 17, 131071, 2, 36, 37, 38 };
    size_t off = 0;
    for (size_t k = 0; off < n; k++) {
        size_t sz = sizes[k % (sizeof sizes / sizeof sizes[0])];
        if (sz > n - off)
            sz = n - off;
        big_feed(&p, &c, s + off, sz);
        off += sz;
    }
    wc_Sha256Final(&c.sha, got);
    cr_assert(!c.bad);
    cr_assert_eq(c.starts, 1);
    cr_assert_eq(c.ends, 1);
    cr_assert_eq(c.bytes, body_n);
    cr_assert_arr_eq(got, want, sizeof want);
    cr_assert(!msrp_parser_in_frame(&p));
    free(s);
}

/* Storage lent between frames: a frame parsed in a second head/scratch
 * pair, with the first pair scribbled over meanwhile, gives the same
 * fields; a switch in the middle of a frame is refused. */
Test(parser_api, set_storage_between_frames_only)
{
    static const char f[] = "MSRP abcd SEND\r\n"
                            "To-Path: msrp://b.example.com:7/s;tcp\r\n"
                            "From-Path: msrp://a.example.com:7/t;tcp\r\n"
                            "Message-ID: m1\r\n"
                            "-------abcd$\r\n";
    struct msrp_parser p;
    struct msrp_head *h1 = calloc(1, sizeof(*h1)), *h2 = calloc(1, sizeof(*h2));
    char *s1 = malloc(16384), *s2 = malloc(16384);
    struct msrp_event ev;
    cr_assert_eq(msrp_parser_init(&p, NULL, h1, s1, 16384), 0);
    size_t used = msrp_parse(&p, f, 5, &ev); /* part of the start line */
    cr_assert_eq(used, 5);
    cr_assert(msrp_parser_in_frame(&p));
    cr_assert_eq(msrp_parser_set_storage(&p, h2, s2, 16384), MSRP_E_INVALID);
    size_t off = 5;
    int ends = 0;
    do {
        off += msrp_parse(&p, f + off, sizeof(f) - 1 - off, &ev);
        if (ev.type == MSRP_EV_FRAME_END)
            ends++;
    } while (ev.type != MSRP_EV_NONE);
    cr_assert_eq(ends, 1);
    cr_assert_eq(msrp_parser_set_storage(&p, h2, s2, 100), MSRP_E_INVALID, "too small");
    cr_assert_eq(msrp_parser_set_storage(&p, h2, s2, 16384), 0);
    memset(s1, 'x', 16384);
    memset(h1, 0xA5, sizeof(*h1));
    const struct msrp_head *got = NULL;
    off = 0;
    do {
        off += msrp_parse(&p, f + off, sizeof(f) - 1 - off, &ev);
        if (ev.type == MSRP_EV_HEADERS_END)
            got = ev.head;
    } while (ev.type != MSRP_EV_NONE);
    cr_assert_eq(got, h2);
    cr_assert_eq(got->n_to_path, 1);
    cr_assert_eq(got->to_path[0].host.n, strlen("b.example.com"));
    cr_assert_arr_eq(got->to_path[0].host.p, "b.example.com", 13);
    cr_assert_arr_eq(got->message_id.p, "m1", 2);
    free(h1);
    free(h2);
    free(s1);
    free(s2);
}

/* A frame failing in its start line leaves no head of the previous frame
 * behind: the relay answers framing errors with a 400 addressed by the
 * head's paths, and once wrote the previous frame's stale From-Path there
 * (fuzz_relay_conn: "the relay wrote a malformed frame ... bad_uri"). */
Test(parser, error_in_start_line_clears_the_previous_head)
{
    static const char ok[] = "MSRP a1b2 SEND\r\n"
                             "To-Path: msrp://h.example:2855/s;tcp\r\n"
                             "From-Path: msrp://c.example:2855/x;tcp\r\n"
                             "\r\n"
                             "-------a1b2$\r\n";
    static const char bad[] = "MSRP c3d4 SEND\rabcdef\r\nTo-Path: x\r\n\r\n";
    struct msrp_head h;
    static char scratch[1 << 17];
    struct msrp_parser p;
    struct msrp_event ev;
    cr_assert_eq(msrp_parser_init(&p, NULL, &h, scratch, sizeof scratch), 0);
    size_t off = 0;
    bool ended = false;
    while (off < sizeof(ok) - 1 && !ended) {
        off += msrp_parse(&p, ok + off, sizeof(ok) - 1 - off, &ev);
        cr_assert_neq(ev.type, MSRP_EV_ERROR);
        ended = ev.type == MSRP_EV_FRAME_END;
    }
    cr_assert(ended);
    cr_assert_eq(h.n_to_path, 1);
    off = 0;
    do {
        off += msrp_parse(&p, bad + off, sizeof(bad) - 1 - off, &ev);
    } while (ev.type != MSRP_EV_ERROR && ev.type != MSRP_EV_NONE);
    cr_assert_eq(ev.type, MSRP_EV_ERROR, "a bare CR in the start line fails");
    cr_assert_eq(h.n_to_path, 0, "no To-Path of the previous frame: %u", h.n_to_path);
    cr_assert_eq(h.n_from_path, 0, "no From-Path of the previous frame: %u", h.n_from_path);
}
