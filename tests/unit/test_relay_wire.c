/*
 * test_relay_wire.c: the relay's pure pieces -- the forwarded head (exact
 * bytes), split-piece Byte-Ranges, session id core encoding, Expires
 * clamping -- and its hash table.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gateway/relay/relay.h"
#include "gateway/relay/relay_internal.h"
#include "proto/parser.h"
#include "proto/tid.h"

static struct msrp_head head;
static char scratch[16384];

/* Parses one complete frame head from text; returns the head. */
static const struct msrp_head *parse(const char *text)
{
    struct msrp_parser p;
    cr_assert_eq(msrp_parser_init(&p, NULL, &head, scratch, sizeof(scratch)), 0);
    const char *s = text;
    size_t n = strlen(text);
    for (;;) {
        struct msrp_event ev;
        size_t used = msrp_parse(&p, s, n, &ev);
        s += used;
        n -= used;
        cr_assert_neq(ev.type, MSRP_EV_ERROR, "parse error %d", ev.error);
        cr_assert_neq(ev.type, MSRP_EV_NONE, "incomplete head");
        if (ev.type == MSRP_EV_HEADERS_END)
            return ev.head;
    }
}

static const char send_frame[] =
    "MSRP a786hjs2 SEND\r\n"
    "To-Path: msrp://relay.example.com:2855/0abcdefghijklmno;tcp msrp://bob.example.com:8888/9di4ea;tcp\r\n"
    "From-Path: msrp://alice.example.com:7777/iau39;tcp\r\n"
    "Message-ID: 87652\r\n"
    "Byte-Range: 1-25/50\r\n"
    "X-Extension:  kept verbatim \r\n"
    "Content-Type: text/plain\r\n"
    "Failure-Report: partial\r\n"
    "\r\n"
    "Hi, I'm Alice and this is\r\n"
    "-------a786hjs2+\r\n";

Test(relay_wire, forwarded_head_exact_bytes)
{
    const struct msrp_head *h = parse(send_frame);
    char buf[2048];
    size_t span[2];
    int n = gw_relay_write_fwd_head(buf, sizeof(buf), h, 1, MSRP_SLICE_LIT("T0123456789abcde"),
                                    NULL, span);
    const char *want =
        "MSRP T0123456789abcde SEND\r\n"
        "To-Path: msrp://bob.example.com:8888/9di4ea;tcp\r\n"
        /* RFC 4976: the URI taken off To-Path, byte for byte. */
        "From-Path: msrp://relay.example.com:2855/0abcdefghijklmno;tcp msrp://alice.example.com:7777/iau39;tcp\r\n"
        "Message-ID: 87652\r\n"
        "Byte-Range: 1-25/50\r\n"
        "X-Extension: kept verbatim\r\n"
        "Failure-Report: partial\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n";
    cr_assert_eq(n, (int)strlen(want));
    cr_assert_arr_eq(buf, want, strlen(want), "got:\n%.*s", n, buf);
    /* The span covers exactly the Byte-Range line. */
    cr_assert_arr_eq(buf + span[0], "Byte-Range: 1-25/50\r\n", span[1]);
    cr_assert_eq(span[1], strlen("Byte-Range: 1-25/50\r\n"));
}

Test(relay_wire, forwarded_head_with_new_range)
{
    const struct msrp_head *h = parse(send_frame);
    char buf[2048];
    size_t span[2];
    struct msrp_byte_range br = { 11, 20, 50 };
    int n = gw_relay_write_fwd_head(buf, sizeof(buf), h, 1, MSRP_SLICE_LIT("T0123456789abcde"), &br, span);
    cr_assert_gt(n, 0);
    cr_assert_arr_eq(buf + span[0], "Byte-Range: 11-20/50\r\n", span[1]);
    cr_assert_eq(span[1], strlen("Byte-Range: 11-20/50\r\n"));
    cr_assert_not_null(strstr(buf, "\r\nMessage-ID: 87652\r\nByte-Range: 11-20/50\r\n"));
}

/* The first piece of an unsplit chunk keeps the range the sender wrote,
 * byte for byte (here with leading zeros, which RFC 4975's 1*DIGIT
 * allows); a range that differs is written anew. */
Test(relay_wire, same_range_is_copied_as_written)
{
    static char frame[sizeof(send_frame) + 8];
    const char *at = strstr(send_frame, "Byte-Range: 1-25/50");
    cr_assert_not_null(at);
    size_t pre = (size_t)(at - send_frame);
    memcpy(frame, send_frame, pre);
    strcpy(frame + pre, "Byte-Range: 01-025/050");
    strcat(frame, at + strlen("Byte-Range: 1-25/50"));
    const struct msrp_head *h = parse(frame);
    char buf[2048];
    size_t span[2];
    struct msrp_byte_range same = { 1, 25, 50 }, other = { 1, 20, 50 };
    int n = gw_relay_write_fwd_head(buf, sizeof(buf), h, 1, MSRP_SLICE_LIT("T0123456789abcde"),
                                    &same, span);
    cr_assert_gt(n, 0);
    cr_assert_eq(span[1], strlen("Byte-Range: 01-025/050\r\n"));
    cr_assert_arr_eq(buf + span[0], "Byte-Range: 01-025/050\r\n", span[1]);
    h = parse(frame);
    n = gw_relay_write_fwd_head(buf, sizeof(buf), h, 1, MSRP_SLICE_LIT("T0123456789abcde"), &other,
                                span);
    cr_assert_gt(n, 0);
    cr_assert_eq(span[1], strlen("Byte-Range: 1-20/50\r\n"));
    cr_assert_arr_eq(buf + span[0], "Byte-Range: 1-20/50\r\n", span[1]);
}

Test(relay_wire, bodiless_head_gets_no_blank_line_and_inserts_range_span)
{
    const struct msrp_head *h = parse(
        "MSRP x1y2z3w4 SEND\r\n"
        "To-Path: msrp://r:1/0abcdefghijklmno;tcp msrp://b:2/s;tcp\r\n"
        "From-Path: msrp://a:3/s;tcp\r\n"
        "Message-ID: m1\r\n"
        "-------x1y2z3w4$\r\n");
    char buf[1024];
    size_t span[2];
    int n = gw_relay_write_fwd_head(buf, sizeof(buf), h, 1, MSRP_SLICE_LIT("ABCDEFGHIJKLMNOP"), NULL, span);
    const char *want = "MSRP ABCDEFGHIJKLMNOP SEND\r\n"
                       "To-Path: msrp://b:2/s;tcp\r\n"
                       "From-Path: msrp://r:1/0abcdefghijklmno;tcp msrp://a:3/s;tcp\r\n"
                       "Message-ID: m1\r\n";
    cr_assert_eq(n, (int)strlen(want));
    cr_assert_arr_eq(buf, want, strlen(want));
    cr_assert_eq(span[0], strlen(want)); /* insertion point at the end */
    cr_assert_eq(span[1], 0);
}

Test(relay_wire, forwarded_head_errors)
{
    const struct msrp_head *h = parse(send_frame);
    char buf[64];
    cr_assert_eq(gw_relay_write_fwd_head(buf, sizeof(buf), h, 1, MSRP_SLICE_LIT("T0123456789abcde"), NULL, NULL),
                 MSRP_E_NOSPACE);
    /* A To-Path with only the relay has no next hop. */
    const struct msrp_head *h1 = parse("MSRP abcd SEND\r\nTo-Path: msrp://r:1;tcp\r\n"
                                       "From-Path: msrp://a:3/s;tcp\r\n-------abcd$\r\n");
    char big[512];
    cr_assert_eq(gw_relay_write_fwd_head(big, sizeof(big), h1, 1, MSRP_SLICE_LIT("T0123456789abcde"), NULL, NULL),
                 MSRP_E_INVALID);
}

/* gw_relay_piece_range that must succeed. */
static struct msrp_byte_range piece(bool has, const struct msrp_byte_range *o, uint64_t sent,
                                    uint64_t max)
{
    struct msrp_byte_range r;
    cr_assert_eq(gw_relay_piece_range(has, o, sent, max, &r), 0);
    return r;
}

Test(relay_wire, piece_ranges)
{
    struct msrp_byte_range o = { 1, 100000, 100000 };
    struct msrp_byte_range r = piece(true, &o, 0, 65536);
    cr_assert_eq(r.start, 1);
    cr_assert_eq(r.end, 65536);
    cr_assert_eq(r.total, 100000);
    r = piece(true, &o, 65536, 65536);
    cr_assert_eq(r.start, 65537);
    cr_assert_eq(r.end, 100000);
    cr_assert_eq(r.total, 100000);
    /* A chunk in the middle of a message. */
    struct msrp_byte_range m = { 200001, 300000, 1000000 };
    r = piece(true, &m, 40000, 16384);
    cr_assert_eq(r.start, 240001);
    cr_assert_eq(r.end, 256384);
    /* Open-ended stays open, total '*' copied. */
    struct msrp_byte_range star = { 5, MSRP_BR_STAR, MSRP_BR_STAR };
    r = piece(true, &star, 10, 4);
    cr_assert_eq(r.start, 15);
    cr_assert_eq(r.end, MSRP_BR_STAR);
    cr_assert_eq(r.total, MSRP_BR_STAR);
    /* No Byte-Range: the body starts at 1, sizes unknown. */
    r = piece(false, NULL, 7, 4);
    cr_assert_eq(r.start, 8);
    cr_assert_eq(r.end, MSRP_BR_STAR);
    /* max 0 = no splitting: end is the chunk's own. */
    r = piece(true, &o, 0, 0);
    cr_assert_eq(r.end, 100000);
}

/* Issue 10 row 10: a start near the top of the value space must not wrap
 * into small numbers ("65534-*" for 2^64 - 2 + 65536); values beyond
 * MSRP_BR_MAX (2^62) cannot be represented and are refused. */
Test(relay_wire, piece_ranges_never_wrap)
{
    struct msrp_byte_range r;
    const uint64_t top = MSRP_BR_MAX;
    /* Up to the bound exactly: fine. */
    struct msrp_byte_range edge = { top - 65535, top, top };
    r = piece(true, &edge, 0, 65536);
    cr_assert_eq(r.start, top - 65535);
    cr_assert_eq(r.end, top);
    r = piece(true, &edge, 65535, 65536);
    cr_assert_eq(r.start, top);
    cr_assert_eq(r.end, top);
    /* Open-ended at the bound: the first piece fits, the next does not. */
    struct msrp_byte_range open = { top, MSRP_BR_STAR, MSRP_BR_STAR };
    r = piece(true, &open, 0, 65536);
    cr_assert_eq(r.start, top);
    cr_assert_eq(gw_relay_piece_range(true, &open, 65536, 65536, &r), -ERANGE);
    cr_assert_eq(gw_relay_piece_range(true, &open, 1, 65536, &r), -ERANGE);
    /* Values a parser of ours never yields, still refused, never wrapped. */
    struct msrp_byte_range huge = { UINT64_MAX - 1, MSRP_BR_STAR, MSRP_BR_STAR };
    cr_assert_eq(gw_relay_piece_range(true, &huge, 0, 65536, &r), -ERANGE);
    cr_assert_eq(gw_relay_piece_range(true, &huge, 65536, 65536, &r), -ERANGE);
    struct msrp_byte_range bigend = { 1, UINT64_MAX - 1, MSRP_BR_STAR };
    cr_assert_eq(gw_relay_piece_range(true, &bigend, 0, 65536, &r), -ERANGE);
    struct msrp_byte_range bigtotal = { 1, 10, UINT64_MAX - 1 };
    cr_assert_eq(gw_relay_piece_range(true, &bigtotal, 0, 65536, &r), -ERANGE);
    struct msrp_byte_range zero = { 0, 10, 10 };
    cr_assert_eq(gw_relay_piece_range(true, &zero, 0, 65536, &r), -ERANGE);
    /* sent itself near 2^64 (an endless body): refused, not wrapped. */
    struct msrp_byte_range one = { 1, MSRP_BR_STAR, MSRP_BR_STAR };
    cr_assert_eq(gw_relay_piece_range(true, &one, UINT64_MAX - 5, 65536, &r), -ERANGE);
    cr_assert_eq(gw_relay_piece_range(false, NULL, UINT64_MAX, 65536, &r), -ERANGE);
}

/* Skip 0: the loopback hop between two of our cores forwards a frame as
 * it came (issue 10 row 7). */
Test(relay_wire, forwarded_head_skip_zero_is_verbatim_paths)
{
    const struct msrp_head *h = parse("MSRP abcd SEND\r\n"
                                      "To-Path: msrp://r:1/1abcdefghijklmno;tcp msrp://b:2/s;tcp\r\n"
                                      "From-Path: msrp://f:9/x;tcp msrp://a:3/s;tcp\r\n"
                                      "Message-ID: m1\r\n-------abcd$\r\n");
    char buf[1024];
    int n = gw_relay_write_fwd_head(buf, sizeof(buf), h, 0, MSRP_SLICE_LIT("ABCDEFGHIJKLMNOP"),
                                    NULL, NULL);
    const char *want = "MSRP ABCDEFGHIJKLMNOP SEND\r\n"
                       "To-Path: msrp://r:1/1abcdefghijklmno;tcp msrp://b:2/s;tcp\r\n"
                       "From-Path: msrp://f:9/x;tcp msrp://a:3/s;tcp\r\n"
                       "Message-ID: m1\r\n";
    cr_assert_eq(n, (int)strlen(want));
    cr_assert_arr_eq(buf, want, strlen(want));
}

Test(relay_wire, session_id_core)
{
    char id[GW_RELAY_SESSID_LEN] = "0AAAAAAAAAAAAAAA";
    cr_assert_eq(gw_relay_sessid_core(msrp_slice(id, sizeof(id)), 2), 0);
    id[0] = gw_relay_core_char(1);
    cr_assert_eq(id[0], '1');
    cr_assert_eq(gw_relay_sessid_core(msrp_slice(id, sizeof(id)), 2), 1);
    cr_assert_eq(gw_relay_sessid_core(msrp_slice(id, sizeof(id)), 1), -1, "core out of range");
    id[0] = gw_relay_core_char(61);
    cr_assert_eq(id[0], 'Z');
    cr_assert_eq(gw_relay_sessid_core(msrp_slice(id, sizeof(id)), 62), 61);
    id[0] = '-';
    cr_assert_eq(gw_relay_sessid_core(msrp_slice(id, sizeof(id)), 62), -1);
    cr_assert_eq(gw_relay_sessid_core(msrp_slice(id, 15), 62), -1, "wrong length");
    cr_assert_eq(gw_relay_sessid_core(msrp_slice("", 0), 62), -1);
}

Test(relay_wire, expires_rules)
{
    cr_assert_eq(gw_relay_expires(false, 0, 600, 60, 3600), 600);
    cr_assert_eq(gw_relay_expires(true, 120, 600, 60, 3600), 120);
    cr_assert_eq(gw_relay_expires(true, 60, 600, 60, 3600), 60);
    cr_assert_eq(gw_relay_expires(true, 59, 600, 60, 3600), -1);
    cr_assert_eq(gw_relay_expires(true, 99999, 600, 60, 3600), 3600);
    cr_assert_eq(gw_relay_expires(false, 0, 10, 60, 3600), 60, "default clamped up");
}

struct item {
    struct rnode node;
    char key[8];
};

Test(relay_table, put_get_del_and_growth)
{
    struct rtable t;
    cr_assert_eq(relay_table_init(&t, 4), 0);
    static struct item items[1000];
    for (int i = 0; i < 1000; i++) {
        snprintf(items[i].key, sizeof(items[i].key), "k%05d", i);
        items[i].node.key = items[i].key;
        items[i].node.klen = strlen(items[i].key);
        relay_table_put(&t, &items[i].node);
    }
    cr_assert_eq(t.n, 1000);
    cr_assert_gt(t.nb, 16, "the table grew");
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(relay_table_get(&t, items[i].key, strlen(items[i].key)), &items[i].node);
    cr_assert_null(relay_table_get(&t, "k01000", 6));
    cr_assert_null(relay_table_get(&t, "k0000", 5), "prefix is not a match");
    for (int i = 0; i < 1000; i += 2)
        relay_table_del(&t, &items[i].node);
    cr_assert_eq(t.n, 500);
    for (int i = 0; i < 1000; i++) {
        struct rnode *n = relay_table_get(&t, items[i].key, strlen(items[i].key));
        if (i % 2)
            cr_assert_eq(n, &items[i].node);
        else
            cr_assert_null(n);
    }
    relay_table_free(&t);
}

/* The pieces table (own_keys: our 16-character random tids, cheap hash):
 * the same put/get/del and growth, keys shorter than 8 bytes still found
 * (they take SipHash), lookups of foreign tids miss, and the random keys
 * spread: no bucket holds more than a handful. */
Test(relay_table, own_keys_put_get_del_and_spread)
{
    struct rtable t;
    cr_assert_eq(relay_table_init(&t, 4), 0);
    t.own_keys = true;
    static struct {
        struct rnode node;
        char key[RELAY_TID_LEN];
    } items[4096];
    struct msrp_tid_gen g = { 0 };
    for (int i = 0; i < 4096; i++) {
        cr_assert_eq(msrp_tid_gen_next(&g, items[i].key, RELAY_TID_LEN), 0);
        items[i].node.key = items[i].key;
        items[i].node.klen = RELAY_TID_LEN;
        relay_table_put(&t, &items[i].node);
    }
    struct rnode shortk = { .key = "abc", .klen = 3 };
    relay_table_put(&t, &shortk);
    cr_assert_eq(t.n, 4097);
    for (int i = 0; i < 4096; i++)
        cr_assert_eq(relay_table_get(&t, items[i].key, RELAY_TID_LEN), &items[i].node);
    cr_assert_eq(relay_table_get(&t, "abc", 3), &shortk);
    cr_assert_null(relay_table_get(&t, "ZZZZZZZZZZZZZZZZ", RELAY_TID_LEN));
    size_t longest = 0;
    for (size_t b = 0; b < t.nb; b++) {
        size_t len = 0;
        for (struct rnode *n = t.b[b]; n; n = n->next)
            len++;
        longest = len > longest ? len : longest;
    }
    cr_assert_leq(longest, 8, "a chain of %zu in %zu buckets", longest, t.nb);
    for (int i = 0; i < 4096; i += 2)
        relay_table_del(&t, &items[i].node);
    for (int i = 0; i < 4096; i++) {
        struct rnode *n = relay_table_get(&t, items[i].key, RELAY_TID_LEN);
        cr_assert_eq(n, i % 2 ? &items[i].node : NULL);
    }
    relay_table_free(&t);
}

/* A path crossing this relay twice (both endpoints AUTHed to it): every
 * leading URI of ours is moved from To-Path to From-Path in one hop, the
 * receiver's reservation (taken last) first: the receiver predicts
 * reverse(its Use-Path) + the sender's path (RFC 4976 section 7.2). */
Test(relay_wire, forwarded_head_skips_two_own_uris)
{
    static const char frame[] =
        "MSRP t1234 SEND\r\n"
        "To-Path: msrp://relay:2855/0aaaa;tcp msrp://relay:2855/0bbbb;tcp msrp://bob:9/b1;tcp\r\n"
        "From-Path: msrp://alice:7/a1;tcp\r\n"
        "-------t1234$\r\n";
    const struct msrp_head *h = parse(frame);
    char buf[1024];
    int n = gw_relay_write_fwd_head(buf, sizeof(buf), h, 2, MSRP_SLICE_LIT("T0123456789abcde"), NULL, NULL);
    const char *want = "MSRP T0123456789abcde SEND\r\n"
                       "To-Path: msrp://bob:9/b1;tcp\r\n"
                       "From-Path: msrp://relay:2855/0bbbb;tcp msrp://relay:2855/0aaaa;tcp "
                       "msrp://alice:7/a1;tcp\r\n";
    cr_assert_eq(n, (int)strlen(want), "got:\n%.*s", n, buf);
    cr_assert_arr_eq(buf, want, strlen(want));
    /* Nothing may be left to forward to. */
    cr_assert_lt(gw_relay_write_fwd_head(buf, sizeof(buf), h, 3, MSRP_SLICE_LIT("T0123456789abcde"), NULL, NULL),
                 0);
}

/* The tables' hash is SipHash-2-4: the reference vectors of the SipHash
 * paper (key 00..0f, messages 00, 00 01, ..., of length 0, 7, 8 and 15). */
Test(relay_wire, table_hash_is_siphash24)
{
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    cr_assert_eq(relay_siphash24(key, msg, 0), 0x726fdb47dd0e0e31ull);
    cr_assert_eq(relay_siphash24(key, msg, 7), 0xab0200f58b01d137ull);
    cr_assert_eq(relay_siphash24(key, msg, 8), 0x93f5f5799a932462ull);
    cr_assert_eq(relay_siphash24(key, msg, 15), 0xa129ca6149be45e5ull);
}

/* A body longer than its own Byte-Range (1-10/10 with more than 10 bytes):
 * no piece range exists past the end (before: "11-10/10", which strict
 * receivers refuse), so the relay answers 400 instead of inventing one. */
Test(relay_wire, piece_range_past_the_declared_end)
{
    struct msrp_byte_range br = { 1, 10, 10 }, out;
    cr_assert_eq(gw_relay_piece_range(true, &br, 0, 4, &out), 0);
    cr_assert_eq(out.start, 1);
    cr_assert_eq(out.end, 4);
    cr_assert_eq(gw_relay_piece_range(true, &br, 8, 4, &out), 0);
    cr_assert_eq(out.start, 9);
    cr_assert_eq(out.end, 10);
    cr_assert_eq(gw_relay_piece_range(true, &br, 10, 4, &out), -ERANGE);
    cr_assert_eq(gw_relay_piece_range(true, &br, 64, 4, &out), -ERANGE);
    /* An empty message is one empty chunk, "1-0/0" (RFC 4975 section 7.1). */
    struct msrp_byte_range empty = { 1, 0, 0 };
    cr_assert_eq(gw_relay_piece_range(true, &empty, 0, 4, &out), 0);
    cr_assert_eq(out.start, 1);
    cr_assert_eq(out.end, 0);
}

/* The head copy of a forwarded chunk is sized by gw_relay_head_bound:
 * enough for every skip, the longest tid and the widest Byte-Range, and
 * far below max_header_bytes for an ordinary head. */
Test(relay_wire, head_bound_fits_every_rewrite)
{
    static const char frames[][1024] = {
        "MSRP a786hjs2 SEND\r\n"
        "To-Path: msrp://relay.example.com:2855/0abcdefghijklmno;tcp "
        "msrp://r2.example.com:2855/1abc;tcp msrp://r3.example.com:2855/2abc;tcp "
        "msrp://bob.example.com:8888/9di4ea;tcp\r\n"
        "From-Path: msrp://alice.example.com:7777/iau39;tcp\r\n"
        "Message-ID: 87652\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n",
        "MSRP b123 SEND\r\n"
        "To-Path: msrp://a:1/x;tcp msrp://b:2/y;tcp\r\n"
        "From-Path: msrp://c:3/z;tcp\r\n"
        "Message-ID: m\r\n"
        "Byte-Range: 1-*/*\r\n"
        "\r\n",
    };
    static const char tid32[] = "abcdefghijklmnopqrstuvwxyz012345";
    struct msrp_byte_range wide = { MSRP_BR_MAX - 1, MSRP_BR_MAX, MSRP_BR_MAX };
    for (size_t f = 0; f < sizeof(frames) / sizeof(frames[0]); f++) {
        const struct msrp_head *h = parse(frames[f]);
        size_t bound = gw_relay_head_bound(h);
        cr_assert_lt(bound, strlen(frames[f]) + 200, "bound %zu for a %zu-byte head", bound,
                     strlen(frames[f]));
        char *buf = malloc(bound);
        for (unsigned skip = 0; skip < h->n_to_path; skip++) {
            size_t span[2];
            int n = gw_relay_write_fwd_head(buf, bound, h, skip, msrp_slice(tid32, 32), &wide,
                                            span);
            cr_assert_gt(n, 0, "frame %zu skip %u: %d", f, skip, n);
            cr_assert_leq((size_t)n, bound);
        }
        free(buf);
    }
}
