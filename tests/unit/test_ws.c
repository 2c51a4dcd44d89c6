/* test_ws.c: WebSocket frame codec: RFC 6455 section 5.7 examples byte
 * for byte, every byte split, control frames inside messages, every
 * protocol error with its close code, hostile lengths, UTF-8. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ws.h"

#define B(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

/* Event log: "S<op> " start, "D:<hex>" data (consecutive pieces merged),
 * "E " end, "P:<hex> " ping, "O:<hex> " pong, "C<code>:<hex> " close, and
 * "rc=<err> " when decoding failed. */
struct logbuf {
    char *s;
    size_t n, cap;
    bool in_data;
};

static void put(struct logbuf *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct logbuf *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(l->s + l->n, l->cap - l->n, fmt, ap);
    va_end(ap);
    cr_assert(k >= 0 && (size_t)k < l->cap - l->n, "log overflow");
    l->n += (size_t)k;
}

static void put_hex(struct logbuf *l, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(l, "%02x", p[i]);
}

static void log_event(struct logbuf *l, const struct msrp_ws_event *ev)
{
    if (ev->type == MSRP_WS_EV_DATA) {
        if (!l->in_data)
            put(l, "D:");
        l->in_data = true;
        put_hex(l, ev->data, ev->n);
        return;
    }
    if (l->in_data)
        put(l, " ");
    l->in_data = false;
    switch (ev->type) {
    case MSRP_WS_EV_MSG_START:
        put(l, "S%d ", ev->opcode);
        break;
    case MSRP_WS_EV_MSG_END:
        put(l, "E ");
        break;
    case MSRP_WS_EV_PING:
        put(l, "P:");
        put_hex(l, ev->data, ev->n);
        put(l, " ");
        break;
    case MSRP_WS_EV_PONG:
        put(l, "O:");
        put_hex(l, ev->data, ev->n);
        put(l, " ");
        break;
    case MSRP_WS_EV_CLOSE:
        put(l, "C%u:", ev->close_code);
        put_hex(l, ev->data, ev->n);
        put(l, " ");
        break;
    default:
        cr_assert_fail("bad event type %d", ev->type);
    }
}

static char logmem[400000];

/*
 * Decodes in[0..len) fed as the segments cut at cuts[0..ncuts) (sorted),
 * with an output buffer of out_cap bytes (0: unmask in place). Returns the
 * log (static memory: valid until the next call).
 */
static const char *run_cut(enum msrp_ws_role role, uint64_t max, const uint8_t *in, size_t len,
                           const size_t *cuts, size_t ncuts, size_t out_cap)
{
    static struct msrp_ws_decoder d;
    static uint8_t out[1 << 17];
    uint8_t *buf = malloc(len ? len : 1);
    memcpy(buf, in, len);
    struct logbuf l = { logmem, 0, sizeof(logmem), false };
    logmem[0] = '\0';
    msrp_ws_decoder_init(&d, role, max);
    if (out_cap)
        msrp_ws_decoder_set_out(&d, out, out_cap);
    size_t from = 0;
    for (size_t c = 0; c <= ncuts; c++) {
        size_t to = c < ncuts ? cuts[c] : len;
        while (from <= to) {
            struct msrp_ws_event ev;
            size_t used;
            int rc = msrp_ws_decode(&d, buf + from, to - from, &used, &ev);
            cr_assert_leq(used, to - from);
            from += used;
            if (rc < 0) {
                if (l.in_data)
                    put(&l, " ");
                put(&l, "rc=%d ", rc);
                /* Sticky: the decoder stays failed. */
                cr_assert_eq(msrp_ws_decode(&d, buf + from, to - from, &used, &ev), rc);
                free(buf);
                return logmem;
            }
            if (rc == 0) {
                cr_assert_eq(from, to, "0 must mean all input consumed");
                break;
            }
            log_event(&l, &ev);
        }
    }
    if (l.in_data)
        put(&l, " ");
    free(buf);
    return logmem;
}

static const char *run(enum msrp_ws_role role, const uint8_t *in, size_t len)
{
    return run_cut(role, 1 << 20, in, len, NULL, 0, 0);
}

/* Whole, one byte at a time, every 2-way split, and through a 3-byte out
 * buffer: the same log each way. */
static void check_splits(enum msrp_ws_role role, const uint8_t *in, size_t len, const char *want)
{
    cr_assert_str_eq(run(role, in, len), want);
    size_t *cuts = malloc((len + 1) * sizeof(*cuts));
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    cr_assert_str_eq(run_cut(role, 1 << 20, in, len, cuts, len ? len - 1 : 0, 0), want,
                     "byte at a time");
    for (size_t i = 0; i <= len; i++) {
        size_t cut = i;
        cr_assert_str_eq(run_cut(role, 1 << 20, in, len, &cut, 1, 0), want, "split at %zu", i);
    }
    cr_assert_str_eq(run_cut(role, 1 << 20, in, len, NULL, 0, 3), want, "out buffer");
    free(cuts);
}

/* ---- RFC 6455 section 5.7, decoding ----------------------------------- */

#define HELLO_HEX "48656c6c6f"

Test(ws, rfc_single_frame_unmasked_text)
{
    check_splits(MSRP_WS_CLIENT, B(0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f),
                 "S1 D:" HELLO_HEX " E ");
}

Test(ws, rfc_single_frame_masked_text)
{
    check_splits(MSRP_WS_SERVER,
                 B(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58),
                 "S1 D:" HELLO_HEX " E ");
}

Test(ws, rfc_fragmented_unmasked_text)
{
    check_splits(MSRP_WS_CLIENT, B(0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f),
                 "S1 D:" HELLO_HEX " E ");
}

Test(ws, rfc_ping_and_masked_pong)
{
    check_splits(MSRP_WS_CLIENT, B(0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f), "P:" HELLO_HEX " ");
    check_splits(MSRP_WS_SERVER,
                 B(0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58),
                 "O:" HELLO_HEX " ");
}

/* 256 bytes (16-bit length) and 64 KiB (64-bit length), unmasked binary. */
static void check_big(size_t n, const uint8_t *hdr, size_t hn)
{
    uint8_t *f = malloc(hn + n);
    memcpy(f, hdr, hn);
    for (size_t i = 0; i < n; i++)
        f[hn + i] = (uint8_t)(i * 7 + 1);
    uint8_t h[MSRP_WS_MAX_HEADER];
    cr_assert_eq(msrp_ws_frame_header(h, MSRP_WS_OP_BINARY, true, n, NULL), hn);
    cr_assert_arr_eq(h, hdr, hn);
    char *want = malloc(2 * n + 32);
    size_t w = (size_t)sprintf(want, "S2 D:");
    for (size_t i = 0; i < n; i++)
        w += (size_t)sprintf(want + w, "%02x", f[hn + i]);
    sprintf(want + w, " E ");
    cr_assert_str_eq(run(MSRP_WS_CLIENT, f, hn + n), want);
    /* A split inside the extended length, and one in the payload. */
    size_t cuts[2] = { 3, hn + n / 2 };
    cr_assert_str_eq(run_cut(MSRP_WS_CLIENT, 1 << 20, f, hn + n, cuts, 2, 0), want);
    free(want);
    free(f);
}

Test(ws, rfc_256_bytes_and_64k)
{
    check_big(256, B(0x82, 0x7E, 0x01, 0x00));
    check_big(65536, B(0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00));
}

/* ---- RFC 6455 section 5.7, encoding ----------------------------------- */

Test(ws, rfc_examples_encoded_byte_for_byte)
{
    static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
    uint8_t out[32];
    long n = msrp_ws_encode_frame(out, sizeof(out), MSRP_WS_OP_TEXT, true,
                                  (const uint8_t *)"Hello", 5, NULL);
    cr_assert_eq(n, 7);
    cr_assert_arr_eq(out, ((uint8_t[]){ 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f }), 7);
    n = msrp_ws_encode_frame(out, sizeof(out), MSRP_WS_OP_TEXT, true,
                             (const uint8_t *)"Hello", 5, key);
    cr_assert_eq(n, 11);
    cr_assert_arr_eq(out,
                     ((uint8_t[]){ 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51,
                                   0x58 }),
                     11);
    n = msrp_ws_encode_frame(out, sizeof(out), MSRP_WS_OP_TEXT, false,
                             (const uint8_t *)"Hel", 3, NULL);
    cr_assert_eq(n, 5);
    cr_assert_arr_eq(out, ((uint8_t[]){ 0x01, 0x03, 0x48, 0x65, 0x6c }), 5);
    n = msrp_ws_encode_frame(out, sizeof(out), MSRP_WS_OP_CONT, true,
                             (const uint8_t *)"lo", 2, NULL);
    cr_assert_eq(n, 4);
    cr_assert_arr_eq(out, ((uint8_t[]){ 0x80, 0x02, 0x6c, 0x6f }), 4);
    n = msrp_ws_encode_frame(out, sizeof(out), MSRP_WS_OP_PING, true,
                             (const uint8_t *)"Hello", 5, NULL);
    cr_assert_arr_eq(out, ((uint8_t[]){ 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f }), 7);
    n = msrp_ws_encode_frame(out, sizeof(out), MSRP_WS_OP_PONG, true,
                             (const uint8_t *)"Hello", 5, key);
    cr_assert_arr_eq(out,
                     ((uint8_t[]){ 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51,
                                   0x58 }),
                     11);
    /* Too small an output. */
    cr_assert_eq(msrp_ws_encode_frame(out, 6, MSRP_WS_OP_TEXT, true,
                                      (const uint8_t *)"Hello", 5, NULL),
                 -1);
}

/* Masking in pieces at any offset equals masking at once. */
Test(ws, mask_in_pieces)
{
    static const uint8_t key[4] = { 0x01, 0x20, 0x03, 0x40 };
    uint8_t a[141], b[141];
    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = b[i] = (uint8_t)(i * 13);
    msrp_ws_mask(a, sizeof(a), key, 0);
    for (size_t i = 0; i < sizeof(b); i++)
        cr_assert_eq(a[i], (uint8_t)(i * 13) ^ key[i & 3]);
    /* Pieces through the 32-, 8- and 1-byte steps at odd offsets. */
    msrp_ws_mask(b, 5, key, 0);
    msrp_ws_mask(b + 5, 71, key, 5);
    msrp_ws_mask(b + 76, 13, key, 76);
    msrp_ws_mask(b + 89, 52, key, 89);
    cr_assert_arr_eq(a, b, sizeof(a));
}

/* ---- streams ---------------------------------------------------------- */

/* Control frames between fragments, masked; then a close with a reason. */
Test(ws, control_frames_inside_a_message_every_split)
{
    static const uint8_t k[4] = { 0xa1, 0xb2, 0xc3, 0xd4 };
    uint8_t s[128];
    size_t n = 0;
    n += (size_t)msrp_ws_encode_frame(s + n, sizeof(s) - n, MSRP_WS_OP_BINARY, false,
                                      (const uint8_t *)"MSRP", 4, k);
    n += (size_t)msrp_ws_encode_frame(s + n, sizeof(s) - n, MSRP_WS_OP_PING, true,
                                      (const uint8_t *)"p", 1, k);
    n += (size_t)msrp_ws_encode_frame(s + n, sizeof(s) - n, MSRP_WS_OP_CONT, false, NULL, 0, k);
    n += (size_t)msrp_ws_encode_frame(s + n, sizeof(s) - n, MSRP_WS_OP_PONG, true, NULL, 0, k);
    n += (size_t)msrp_ws_encode_frame(s + n, sizeof(s) - n, MSRP_WS_OP_CONT, true,
                                      (const uint8_t *)" a", 2, k);
    uint8_t cp[MSRP_WS_MAX_CONTROL];
    size_t cn = msrp_ws_close_payload(cp, 1001, "bye", 3);
    n += (size_t)msrp_ws_encode_frame(s + n, sizeof(s) - n, MSRP_WS_OP_CLOSE, true, cp, cn, k);
    check_splits(MSRP_WS_SERVER, s, n, "S2 D:4d535250 P:70 O: D:2061 E C1001:03e9627965 ");
}

Test(ws, empty_messages_and_close_without_code)
{
    check_splits(MSRP_WS_CLIENT, B(0x81, 0x00, 0x02, 0x00, 0x80, 0x00, 0x88, 0x00),
                 "S1 E S2 E C1005: ");
}

/* RFC 6455 5.2 asks senders for the minimal length form; we accept more. */
Test(ws, non_minimal_lengths_accepted)
{
    cr_assert_str_eq(run(MSRP_WS_CLIENT, B(0x82, 0x7E, 0x00, 0x01, 0x41)), "S2 D:41 E ");
    cr_assert_str_eq(run(MSRP_WS_CLIENT, B(0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x41)),
                     "S2 D:41 E ");
}

/* ---- errors and their close codes ------------------------------------- */

static void check_err(enum msrp_ws_role role, uint64_t max, const uint8_t *in, size_t len,
                      int err, int close_code)
{
    char want[64];
    snprintf(want, sizeof(want), "rc=%d ", err);
    const char *got = run_cut(role, max, in, len, NULL, 0, 0);
    const char *tail = strstr(got, "rc=");
    cr_assert(tail, "no error in \"%s\", wanted %s", got, msrp_ws_strerror(err));
    cr_assert_str_eq(tail, want, "got \"%s\"", got);
    cr_assert_eq(msrp_ws_err_close_code(err), close_code);
}

Test(ws, rsv_bits)
{
    check_err(MSRP_WS_CLIENT, 100, B(0xC1, 0x00), MSRP_WS_E_RSV, 1002);
    check_err(MSRP_WS_CLIENT, 100, B(0xA1, 0x00), MSRP_WS_E_RSV, 1002);
    check_err(MSRP_WS_CLIENT, 100, B(0x91, 0x00), MSRP_WS_E_RSV, 1002);
    check_err(MSRP_WS_CLIENT, 100, B(0xC9, 0x00), MSRP_WS_E_RSV, 1002);
}

Test(ws, reserved_opcodes)
{
    for (uint8_t op = 3; op <= 0xF; op++) {
        if (op >= 8 && op <= 0xA)
            continue;
        uint8_t f[2] = { (uint8_t)(0x80 | op), 0x00 };
        check_err(MSRP_WS_CLIENT, 100, f, 2, MSRP_WS_E_OPCODE, 1002);
    }
}

Test(ws, masking_by_role)
{
    /* A client's frame must be masked; a server's must not. */
    check_err(MSRP_WS_SERVER, 100, B(0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f),
              MSRP_WS_E_UNMASKED, 1002);
    check_err(MSRP_WS_CLIENT, 100,
              B(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58),
              MSRP_WS_E_MASKED, 1002);
    check_err(MSRP_WS_SERVER, 100, B(0x89, 0x00), MSRP_WS_E_UNMASKED, 1002);
}

Test(ws, control_frame_rules)
{
    uint8_t f[2 + 2 + 126] = { 0x89, 0x7E, 0x00, 0x7E };
    check_err(MSRP_WS_CLIENT, 1000, f, sizeof(f), MSRP_WS_E_CONTROL_LEN, 1002);
    check_err(MSRP_WS_CLIENT, 1000, B(0x8A, 0x7F), MSRP_WS_E_CONTROL_LEN, 1002);
    check_err(MSRP_WS_CLIENT, 1000, B(0x09, 0x00), MSRP_WS_E_CONTROL_FRAG, 1002);
    check_err(MSRP_WS_CLIENT, 1000, B(0x08, 0x00), MSRP_WS_E_CONTROL_FRAG, 1002);
    /* 125 is allowed. */
    uint8_t ok[2 + 125] = { 0x89, 0x7D };
    const char *got = run(MSRP_WS_CLIENT, ok, sizeof(ok));
    cr_assert_eq(strlen(got), 2 + 250 + 1);
}

Test(ws, fragmentation_errors)
{
    check_err(MSRP_WS_CLIENT, 100, B(0x80, 0x00), MSRP_WS_E_CONT_NO_MSG, 1002);
    check_err(MSRP_WS_CLIENT, 100, B(0x81, 0x01, 0x61, 0x00, 0x00), MSRP_WS_E_CONT_NO_MSG, 1002);
    check_err(MSRP_WS_CLIENT, 100, B(0x01, 0x01, 0x61, 0x81, 0x01, 0x62), MSRP_WS_E_START_IN_MSG,
              1002);
    check_err(MSRP_WS_CLIENT, 100, B(0x02, 0x00, 0x02, 0x00), MSRP_WS_E_START_IN_MSG, 1002);
}

Test(ws, hostile_lengths)
{
    /* Top bit of the 64-bit length. */
    check_err(MSRP_WS_CLIENT, UINT64_MAX, B(0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0),
              MSRP_WS_E_LEN64, 1002);
    /* 2^63 - 1 is refused by the bound, after exactly the header. */
    static struct msrp_ws_decoder d;
    uint8_t f[] = { 0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x41 };
    msrp_ws_decoder_init(&d, MSRP_WS_CLIENT, 1 << 20);
    struct msrp_ws_event ev;
    size_t used;
    cr_assert_eq(msrp_ws_decode(&d, f, sizeof(f), &used, &ev), MSRP_WS_E_TOO_BIG);
    cr_assert_eq(used, 10);
    cr_assert_eq(msrp_ws_err_close_code(MSRP_WS_E_TOO_BIG), 1009);
    /* A huge but legal length with an unbounded max streams, never buffers. */
    msrp_ws_decoder_init(&d, MSRP_WS_CLIENT, UINT64_MAX >> 1);
    cr_assert_eq(msrp_ws_decode(&d, f, sizeof(f), &used, &ev), 1);
    cr_assert_eq(ev.type, MSRP_WS_EV_MSG_START);
    cr_assert_eq(msrp_ws_decode(&d, f + used, sizeof(f) - used, &used, &ev), 1);
    cr_assert_eq(ev.type, MSRP_WS_EV_DATA);
    cr_assert_eq(ev.n, 1);
    cr_assert_eq(d.remaining, (UINT64_MAX >> 1) - 1);
}

Test(ws, max_message_size)
{
    /* Exactly at the bound, in one frame and across fragments. */
    cr_assert_str_eq(run_cut(MSRP_WS_CLIENT, 3, B(0x82, 0x03, 1, 2, 3), NULL, 0, 0),
                     "S2 D:010203 E ");
    cr_assert_str_eq(run_cut(MSRP_WS_CLIENT, 3, B(0x02, 0x02, 1, 2, 0x80, 0x01, 3), NULL, 0, 0),
                     "S2 D:010203 E ");
    check_err(MSRP_WS_CLIENT, 3, B(0x82, 0x04, 1, 2, 3, 4), MSRP_WS_E_TOO_BIG, 1009);
    check_err(MSRP_WS_CLIENT, 3, B(0x02, 0x02, 1, 2, 0x80, 0x02, 3, 4), MSRP_WS_E_TOO_BIG, 1009);
    /* The bound is per message: a second message starts from zero. */
    cr_assert_str_eq(run_cut(MSRP_WS_CLIENT, 3, B(0x82, 0x03, 1, 2, 3, 0x82, 0x03, 4, 5, 6), NULL,
                             0, 0),
                     "S2 D:010203 E S2 D:040506 E ");
}

Test(ws, close_payloads)
{
    check_err(MSRP_WS_CLIENT, 100, B(0x88, 0x01, 0x03), MSRP_WS_E_CLOSE_LEN, 1002);
    static const unsigned bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t f[4] = { 0x88, 0x02, (uint8_t)(bad[i] >> 8), (uint8_t)bad[i] };
        check_err(MSRP_WS_CLIENT, 100, f, 4, MSRP_WS_E_CLOSE_CODE, 1002);
    }
    static const unsigned good[] = { 1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999 };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint8_t f[4] = { 0x88, 0x02, (uint8_t)(good[i] >> 8), (uint8_t)good[i] };
        char want[32];
        snprintf(want, sizeof(want), "C%u:%02x%02x ", good[i], f[2], f[3]);
        cr_assert_str_eq(run(MSRP_WS_CLIENT, f, 4), want);
    }
    /* The reason must be UTF-8. */
    check_err(MSRP_WS_CLIENT, 100, B(0x88, 0x03, 0x03, 0xE8, 0xFF), MSRP_WS_E_UTF8, 1007);
    /* Nothing after a close. */
    check_err(MSRP_WS_CLIENT, 100, B(0x88, 0x00, 0x89, 0x00), MSRP_WS_E_AFTER_CLOSE, 1002);
}

Test(ws, utf8_text_messages)
{
    /* Euro sign split across fragments and byte splits: fine. */
    check_splits(MSRP_WS_CLIENT, B(0x01, 0x02, 0xE2, 0x82, 0x80, 0x01, 0xAC),
                 "S1 D:e282ac E ");
    /* 4-byte sequence, U+10FFFF, the largest. */
    check_splits(MSRP_WS_CLIENT, B(0x81, 0x04, 0xF4, 0x8F, 0xBF, 0xBF), "S1 D:f48fbfbf E ");
    check_err(MSRP_WS_CLIENT, 100, B(0x81, 0x01, 0xFF), MSRP_WS_E_UTF8, 1007);
    check_err(MSRP_WS_CLIENT, 100, B(0x81, 0x02, 0xC0, 0x80), MSRP_WS_E_UTF8, 1007);       /* overlong */
    check_err(MSRP_WS_CLIENT, 100, B(0x81, 0x03, 0xE0, 0x80, 0x80), MSRP_WS_E_UTF8, 1007); /* overlong */
    check_err(MSRP_WS_CLIENT, 100, B(0x81, 0x03, 0xED, 0xA0, 0x80), MSRP_WS_E_UTF8, 1007); /* surrogate */
    check_err(MSRP_WS_CLIENT, 100, B(0x81, 0x04, 0xF4, 0x90, 0x80, 0x80), MSRP_WS_E_UTF8, 1007);
    check_err(MSRP_WS_CLIENT, 100, B(0x81, 0x02, 0x41, 0x80), MSRP_WS_E_UTF8, 1007); /* lone cont */
    /* A message ending inside a code point, even when each piece was fine. */
    check_err(MSRP_WS_CLIENT, 100, B(0x01, 0x01, 0xE2, 0x80, 0x01, 0x82), MSRP_WS_E_UTF8, 1007);
    /* Long ASCII runs (the 8-byte fast path) then a bad byte at 19. */
    uint8_t f[2 + 20];
    f[0] = 0x81;
    f[1] = 20;
    memset(f + 2, 'a', 20);
    f[2 + 19] = 0xFF;
    check_err(MSRP_WS_CLIENT, 100, f, sizeof(f), MSRP_WS_E_UTF8, 1007);
    /* Binary messages are not checked. */
    cr_assert_str_eq(run(MSRP_WS_CLIENT, B(0x82, 0x01, 0xFF)), "S2 D:ff E ");
}

Test(ws, error_names)
{
    cr_assert_str_eq(msrp_ws_strerror(0), "ok");
    cr_assert_str_eq(msrp_ws_strerror(MSRP_WS_E_TOO_BIG), "ws_message_too_big");
    cr_assert_str_eq(msrp_ws_strerror(-999), "unknown");
    cr_assert_eq(msrp_ws_err_close_code(-999), 0);
}
