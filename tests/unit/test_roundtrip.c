/* test_roundtrip.c: frames written by writer.c, read by parser.c, must
 * give back the same fields and body, whatever the feed slicing. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/parser.h"
#include "proto/writer.h"

#define S(lit) MSRP_SLICE_LIT(lit)

struct result {
    struct msrp_head head; /* copy taken at HEADERS_END */
    char body[4096];
    size_t body_n;
    char flag;
    int frames;
    int error;
};

/* The head copy's slices point into the scratch used for that parse. */
static char scratch[16384], scratch2[16384];
static struct msrp_head parsed_head;

/* Feeds wire[0..n) in pieces of `step` bytes (0: all at once). */
static void parse_with(char *sc, const char *wire, size_t n, size_t step, struct result *r)
{
    struct msrp_parser p;
    memset(r, 0, sizeof(*r));
    cr_assert_eq(msrp_parser_init(&p, NULL, &parsed_head, sc, sizeof(scratch)), 0);
    size_t off = 0;
    while (off < n) {
        size_t len = step ? (n - off < step ? n - off : step) : n - off;
        const char *buf = wire + off;
        size_t left = len;
        for (;;) {
            struct msrp_event ev;
            size_t used = msrp_parse(&p, buf, left, &ev);
            cr_assert_leq(used, left);
            buf += used;
            left -= used;
            if (ev.type == MSRP_EV_NONE)
                break;
            if (ev.type == MSRP_EV_ERROR) {
                r->error = ev.error;
                return;
            }
            if (ev.type == MSRP_EV_HEADERS_END)
                r->head = *ev.head;
            if (ev.type == MSRP_EV_BODY) {
                cr_assert_eq(ev.body_offset, r->body_n);
                cr_assert_leq(r->body_n + ev.body.n, sizeof(r->body));
                memcpy(r->body + r->body_n, ev.body.p, ev.body.n);
                r->body_n += ev.body.n;
            }
            if (ev.type == MSRP_EV_FRAME_END) {
                r->flag = ev.flag;
                r->frames++;
            }
        }
        off += len;
    }
}

static void parse_all(const char *wire, size_t n, size_t step, struct result *r)
{
    parse_with(scratch, wire, n, step, r);
}

static bool path_eq(const struct msrp_uri *got, uint16_t n, const struct msrp_slice *want, size_t wn)
{
    if (n != wn)
        return false;
    for (size_t i = 0; i < wn; i++)
        if (!msrp_slice_eq(got[i].raw, want[i]))
            return false;
    return true;
}

static const struct msrp_slice to2[] = { S("msrp://relay.example.com:2855/r1;tcp"),
                                         S("msrps://bob@[2001:db8::5]:9000/bobsess;tcp") };
static const struct msrp_slice from1[] = { S("msrp://alice.example.com:7654/jshA7weztas;tcp") };
static const struct msrp_slice use1[] = { S("msrp://relay.example.com:2855/r1;tcp") };

Test(roundtrip, send_with_body_every_slicing)
{
    struct msrp_frame f;
    memset(&f, 0, sizeof(f));
    f.kind = MSRP_REQUEST;
    f.method = MSRP_M_SEND;
    f.tid = S("Xy7kq2LmNp0aBcDe");
    f.to_path = (struct msrp_wpath){ .texts = to2, .n = 2 };
    f.from_path = (struct msrp_wpath){ .texts = from1, .n = 1 };
    f.message_id = S("msg-42");
    f.success_report = MSRP_REPORT_YES;
    f.failure_report = MSRP_REPORT_PARTIAL;
    f.has_byte_range = true;
    f.byte_range = (struct msrp_byte_range){ 1001, 1050, 5000 };
    f.content_type = S("application/octet-stream");
    f.has_body = true;
    /* A body full of near-misses of the end-line. */
    const char body[] = "--------Xy7kq2LmNp0aBcD\r\n-------Xy7kq2\r\n\r\nMSRP x SEND\r\n\0\xff"
                        "tail of the chunk with 50 bytes";
    size_t body_n = 50;
    cr_assert_eq(msrp_body_check(body, body_n, f.tid), 0);

    char wire[2048];
    int h = msrp_write_head(wire, sizeof(wire), &f);
    cr_assert_gt(h, 0);
    memcpy(wire + h, body, body_n);
    int e = msrp_write_end_line(wire + h + body_n, sizeof(wire) - (size_t)h - body_n, f.tid, '+', true);
    cr_assert_gt(e, 0);
    size_t n = (size_t)h + body_n + (size_t)e;

    static const size_t steps[] = { 0, 1, 2, 3, 7, 13, 64 };
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        static struct result r;
        parse_all(wire, n, steps[s], &r);
        cr_assert_eq(r.error, 0, "step %zu: %s", steps[s], msrp_strerror(r.error));
        cr_assert_eq(r.frames, 1);
        cr_assert_eq(r.flag, '+');
        const struct msrp_head *g = &r.head;
        cr_assert_eq(g->kind, MSRP_REQUEST);
        cr_assert_eq(g->method, MSRP_M_SEND);
        cr_assert(msrp_slice_eq(g->tid, f.tid));
        cr_assert(path_eq(g->to_path, g->n_to_path, to2, 2));
        cr_assert(path_eq(g->from_path, g->n_from_path, from1, 1));
        cr_assert(g->to_path[1].host_is_ipv6);
        cr_assert(msrp_slice_eq(g->message_id, f.message_id));
        cr_assert_eq(g->success_report, MSRP_REPORT_YES);
        cr_assert_eq(g->failure_report, MSRP_REPORT_PARTIAL);
        cr_assert(g->has_byte_range);
        cr_assert_eq(g->byte_range.start, 1001);
        cr_assert_eq(g->byte_range.end, 1050);
        cr_assert_eq(g->byte_range.total, 5000);
        cr_assert(msrp_slice_eq(g->content_type, f.content_type));
        cr_assert(g->has_body);
        cr_assert_eq(r.body_n, body_n, "step %zu: body %zu", steps[s], r.body_n);
        cr_assert_eq(memcmp(r.body, body, body_n), 0);
    }
}

Test(roundtrip, bodiless_send_and_open_range)
{
    struct msrp_frame f;
    memset(&f, 0, sizeof(f));
    f.kind = MSRP_REQUEST;
    f.method = MSRP_M_SEND;
    f.tid = S("abcd1234");
    f.to_path = (struct msrp_wpath){ .texts = to2, .n = 1 };
    f.from_path = (struct msrp_wpath){ .texts = from1, .n = 1 };
    f.message_id = S("m1");
    f.has_byte_range = true;
    f.byte_range = (struct msrp_byte_range){ 1, MSRP_BR_STAR, 0 };
    char wire[1024];
    int n = msrp_write_bodiless(wire, sizeof(wire), &f, '$');
    cr_assert_gt(n, 0);
    static struct result r;
    parse_all(wire, (size_t)n, 1, &r);
    cr_assert_eq(r.error, 0, "%s", msrp_strerror(r.error));
    cr_assert_eq(r.frames, 1);
    cr_assert_eq(r.flag, '$');
    cr_assert(!r.head.has_body);
    cr_assert_eq(r.body_n, 0);
    cr_assert_eq(r.head.byte_range.end, MSRP_BR_STAR);
    cr_assert_eq(r.head.byte_range.total, 0);
}

Test(roundtrip, auth_response_and_report)
{
    /* An AUTH as received by the relay. */
    struct msrp_frame a;
    memset(&a, 0, sizeof(a));
    a.kind = MSRP_REQUEST;
    a.method = MSRP_M_AUTH;
    a.tid = S("auth0001");
    a.to_path = (struct msrp_wpath){ .texts = use1, .n = 1 };
    a.from_path = (struct msrp_wpath){ .texts = from1, .n = 1 };
    a.authorization = S("Digest username=\"alice\", realm=\"r\", nonce=\"n\", response=\"x\"");
    a.has_expires = true;
    a.expires = 1800;
    char wire[2048];
    int n = msrp_write_bodiless(wire, sizeof(wire), &a, '$');
    cr_assert_gt(n, 0);
    static struct result r;
    parse_all(wire, (size_t)n, 5, &r);
    cr_assert_eq(r.error, 0, "%s", msrp_strerror(r.error));
    cr_assert_eq(r.head.method, MSRP_M_AUTH);
    cr_assert(r.head.has_expires);
    cr_assert_eq(r.head.expires, 1800);
    const struct msrp_header *ah = msrp_head_find(&r.head, MSRP_H_AUTHORIZATION);
    cr_assert_not_null(ah);
    cr_assert(msrp_slice_eq(ah->value, a.authorization));

    /* The relay's 200 with Use-Path and Expires, parsed back. */
    struct msrp_frame extra;
    memset(&extra, 0, sizeof(extra));
    extra.use_path = (struct msrp_wpath){ .texts = use1, .n = 1 };
    extra.has_expires = true;
    extra.expires = 900;
    static struct msrp_head req;
    req = r.head;
    char resp[1024];
    n = msrp_write_response(resp, sizeof(resp), &req, 200, "OK", &extra);
    cr_assert_gt(n, 0);
    static struct result r2;
    parse_with(scratch2, resp, (size_t)n, 3, &r2); /* req's slices stay in scratch */
    cr_assert_eq(r2.error, 0, "%s", msrp_strerror(r2.error));
    cr_assert_eq(r2.head.kind, MSRP_RESPONSE);
    cr_assert_eq(r2.head.status, 200);
    cr_assert(msrp_slice_eq(r2.head.comment, S("OK")));
    cr_assert(msrp_slice_eq(r2.head.tid, S("auth0001")));
    cr_assert(path_eq(r2.head.to_path, r2.head.n_to_path, from1, 1));
    cr_assert(path_eq(r2.head.from_path, r2.head.n_from_path, use1, 1));
    cr_assert(path_eq(r2.head.use_path, r2.head.n_use_path, use1, 1));
    cr_assert_eq(r2.head.expires, 900);
}

Test(roundtrip, report_parses_back)
{
    struct msrp_frame f;
    memset(&f, 0, sizeof(f));
    f.kind = MSRP_REQUEST;
    f.method = MSRP_M_REPORT;
    f.tid = S("rep12345");
    f.to_path = (struct msrp_wpath){ .texts = from1, .n = 1 };
    f.from_path = (struct msrp_wpath){ .texts = to2, .n = 2 };
    f.message_id = S("msg-42");
    f.has_byte_range = true;
    f.byte_range = (struct msrp_byte_range){ 1, 5000, 5000 };
    f.has_status = true;
    f.status_hdr = (struct msrp_status_hdr){ 0, 200, S("OK") };
    char wire[1024];
    int n = msrp_write_bodiless(wire, sizeof(wire), &f, '$');
    cr_assert_gt(n, 0);
    static struct result r;
    parse_all(wire, (size_t)n, 0, &r);
    cr_assert_eq(r.error, 0, "%s", msrp_strerror(r.error));
    cr_assert_eq(r.head.method, MSRP_M_REPORT);
    cr_assert(r.head.has_status);
    cr_assert_eq(r.head.status_hdr.ns, 0);
    cr_assert_eq(r.head.status_hdr.code, 200);
    cr_assert(msrp_slice_eq(r.head.status_hdr.comment, S("OK")));
    cr_assert_eq(r.head.byte_range.total, 5000);
}
