/*
 * fuzz_parser.c: differential libFuzzer target for proto/parser.c.
 *
 * The input is parsed twice: (a) in one piece, (b) in slices whose sizes
 * come from the input's first bytes (each slice in its own exact-size heap
 * copy, so ASan catches any read past a feed). Each run folds its events
 * into a running hash that ignores how the body was cut into BODY events
 * but covers everything else: event types, start-line fields, each header
 * (id, name, value), typed fields at HEADERS_END, body bytes, flags, error
 * code and offset, and whether the input ended inside a frame. Any
 * difference aborts: slicing must never change what the parser reports.
 * Contract checks (progress, NONE only with all input consumed, contiguous
 * body offsets, sticky errors) abort as well. The whole run meets each
 * chunk's end-line in one feed (parse_body's one-compare check) where the
 * sliced runs meet it cut (the byte matcher): the two paths are compared.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/parser.h"

struct run {
    struct msrp_parser p;
    struct msrp_head head;
    char scratch[16384];
    uint64_t h;         /* running FNV-1a over the event stream */
    uint64_t body_next; /* expected body_offset of the next BODY */
    int in_body;        /* last event was BODY */
    int stopped;
};

static void mix(struct run *r, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        r->h ^= s[i];
        r->h *= 0x100000001b3ull;
    }
}

static void mix_u64(struct run *r, uint64_t v)
{
    mix(r, &v, sizeof v);
}

static void mix_slice(struct run *r, struct msrp_slice s)
{
    mix_u64(r, s.n);
    if (s.n)
        mix(r, s.p, s.n);
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_parser: contract broken: %s\n", what);
        abort();
    }
}

static void on_event(struct run *r, const struct msrp_event *ev)
{
    const struct msrp_head *h = ev->head;
    if (ev->type != MSRP_EV_BODY) {
        r->in_body = 0;
        mix_u64(r, (uint64_t)ev->type);
    }
    switch (ev->type) {
    case MSRP_EV_FRAME_START:
        check(h != NULL, "FRAME_START without head");
        r->body_next = 0;
        mix_u64(r, h->kind);
        mix_slice(r, h->tid);
        mix_u64(r, h->method);
        mix_slice(r, h->method_name);
        mix_u64(r, h->status);
        mix_slice(r, h->comment);
        break;
    case MSRP_EV_HEADER:
        check(h != NULL && ev->header != NULL, "HEADER without header");
        mix_u64(r, ev->header->id);
        mix_slice(r, ev->header->name);
        mix_slice(r, ev->header->value);
        break;
    case MSRP_EV_HEADERS_END:
        check(h != NULL, "HEADERS_END without head");
        mix_u64(r, h->has_body);
        mix_u64(r, h->n_headers);
        mix_u64(r, h->n_to_path);
        mix_u64(r, h->n_from_path);
        mix_u64(r, h->n_use_path);
        for (uint16_t i = 0; i < h->n_to_path; i++)
            mix_slice(r, h->to_path[i].raw);
        mix_slice(r, h->message_id);
        mix_u64(r, h->has_byte_range);
        if (h->has_byte_range) {
            mix_u64(r, h->byte_range.start);
            mix_u64(r, h->byte_range.end);
            mix_u64(r, h->byte_range.total);
        }
        mix_u64(r, h->success_report);
        mix_u64(r, h->failure_report);
        mix_u64(r, h->has_status ? h->status_hdr.code : 0);
        mix_slice(r, h->content_type);
        mix_u64(r, h->has_expires ? h->expires : UINT64_MAX);
        break;
    case MSRP_EV_BODY:
        check(ev->body.n > 0, "empty BODY event");
        check(ev->body_offset == r->body_next, "BODY offsets not contiguous");
        r->body_next += ev->body.n;
        if (!r->in_body) {
            mix_u64(r, (uint64_t)MSRP_EV_BODY);
            r->in_body = 1;
        }
        mix(r, ev->body.p, ev->body.n);
        break;
    case MSRP_EV_FRAME_END:
        check(ev->flag == '$' || ev->flag == '+' || ev->flag == '#', "bad flag");
        mix_u64(r, (uint64_t)(unsigned char)ev->flag);
        mix_u64(r, r->body_next);
        break;
    case MSRP_EV_ERROR:
        check(ev->error < 0, "ERROR with a non-negative code");
        mix_u64(r, (uint64_t)(int64_t)ev->error);
        mix_u64(r, ev->error_offset);
        r->stopped = 1;
        break;
    default:
        check(0, "unknown event type");
    }
}

static void feed(struct run *r, const uint8_t *data, size_t n)
{
    if (r->stopped)
        return;
    char *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    if (n)
        memcpy(copy, data, n);
    size_t off = 0;
    /* Every call but the last either consumes or reports, so the number
     * of calls is bounded by bytes + events. */
    for (size_t calls = 0;; calls++) {
        check(calls <= 4 * n + 1000000, "no progress");
        struct msrp_event ev;
        size_t used = msrp_parse(&r->p, copy + off, n - off, &ev);
        check(used <= n - off, "consumed more than given");
        off += used;
        if (ev.type == MSRP_EV_NONE) {
            check(off == n, "NONE with input left");
            break;
        }
        on_event(r, &ev);
        if (r->stopped) {
            struct msrp_event again;
            check(msrp_parse(&r->p, copy, n, &again) == 0 && again.type == MSRP_EV_ERROR &&
                      again.error == ev.error && again.error_offset == ev.error_offset,
                  "error not sticky");
            break;
        }
    }
    free(copy);
}

static void run_init(struct run *r, const struct msrp_limits *lim)
{
    memset(r, 0, sizeof(*r));
    r->h = 0xcbf29ce484222325ull;
    if (msrp_parser_init(&r->p, lim, &r->head, r->scratch, sizeof r->scratch) != 0)
        abort();
}

static void run_finish(struct run *r)
{
    mix_u64(r, r->stopped ? 2 : msrp_parser_in_frame(&r->p));
}

static struct run a, b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Limits are a function of the input, so the small ones get fuzzed
     * too; both runs use the same. */
    struct msrp_limits lim;
    msrp_limits_default(&lim);
    if (size > 0 && (data[size - 1] & 0x80)) {
        lim.max_header_bytes = 300;
        lim.max_headers = 6;
        lim.max_path_uris = 2;
        lim.max_uri_len = 48;
        lim.max_tid_len = 8;
    }
    /* The relay's setting (responses' paths left unparsed) on a second bit. */
    lim.raw_response_paths = size > 0 && (data[size - 1] & 0x40);

    run_init(&a, &lim);
    feed(&a, data, size);
    run_finish(&a);

    /* Slice sizes from the first (up to) 8 bytes: 1..64, or 4096 for 0. */
    size_t sizes[8], ns = size < 8 ? size : 8;
    for (size_t i = 0; i < ns; i++)
        sizes[i] = data[i] ? (size_t)(data[i] & 0x3f) + 1 : 4096;
    if (ns == 0)
        sizes[ns++] = 1;
    run_init(&b, &lim);
    size_t off = 0;
    for (size_t k = 0; off < size; k++) {
        size_t sz = sizes[k % ns];
        if (sz > size - off)
            sz = size - off;
        feed(&b, data + off, sz);
        off += sz;
    }
    feed(&b, data + off, 0);
    run_finish(&b);

    if (a.h != b.h) {
        fprintf(stderr, "fuzz_parser: whole and sliced runs differ (%016llx vs %016llx)\n",
                (unsigned long long)a.h, (unsigned long long)b.h);
        abort();
    }
    return 0;
}
