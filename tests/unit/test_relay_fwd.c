/*
 * test_relay_fwd.c: forwarding one chunk (gateway/relay/relay_fwd.c) through a
 * real core driven by tests/unit/relay_harness.c -- splitting at
 * max_chunk_out with exact Byte-Ranges and flags, the upstream answer
 * only once every piece is answered (the first non-200 wins), piece
 * timeouts (408 and the Failure REPORT, Failure-Report partial), and the
 * max_chunks_in_flight cap that stops reading a sender until answers come.
 *
 * The sender AUTHs and sends to RH_HOP_URI through its own reservation,
 * so every forwarded piece lands on the harness's fake next hop, which
 * answers only when a test says so.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/relay/relay_internal.h"
#include "relay_harness.h"

#define S_URI "msrp://127.0.0.1:9/snd;tcp"
#define P_URI "msrp://127.0.0.1:9/peer;tcp"

static struct rh *H;
static char US[512];     /* the sender's reservation */
static char TO[1200];    /* To-Path: US RH_HOP_URI */
static char FROM[1200];  /* the forwarded From-Path: US S_URI */

static void teardown(void) { rh_release(&H); }
static void finish(void) { rh_release(&H); }

TestSuite(relay_fwd, .fini = teardown, .timeout = 60);

/* Starts a core with cfg adjusted by the test, AUTHs the sender; the next
 * hop answers nothing by itself. Returns the sender's endpoint. */
static int start(uint64_t max_chunk_out, uint32_t chunk_timeout_ms, uint32_t max_in_flight)
{
    struct gw_relay_config cfg;
    rh_config_default(&cfg);
    cfg.max_chunk_out = max_chunk_out;
    cfg.chunk_timeout_ms = chunk_timeout_ms;
    cfg.max_chunks_in_flight = max_in_flight;
    H = rh_start(&cfg);
    rh_hop_answer(H, 0);
    int s = rh_peer(H);
    cr_assert_eq(rh_auth(H, s, S_URI, RH_USER, RH_PASS, -1), 200);
    snprintf(US, sizeof(US), "%s", rh_use_path(H, s));
    snprintf(TO, sizeof(TO), "%s %s", US, RH_HOP_URI);
    snprintf(FROM, sizeof(FROM), "%s %s", US, S_URI);
    return s;
}

static char *pattern(size_t n)
{
    char *b = malloc(n);
    cr_assert_not_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (char)('a' + (i * 7) % 26); /* no CR, LF or '-': no end-line */
    return b;
}

/* The 200 the relay owes the sender for tid, exactly. */
static void assert_ok_frame(int s, size_t idx, const char *tid)
{
    const struct rh_frame *f = rh_frame(H, s, idx);
    cr_assert_not_null(f, "no frame %zu", idx);
    cr_assert(!f->request);
    cr_assert_str_eq(f->tid, tid);
    cr_assert_eq(f->status, 200);
    cr_assert_str_eq(f->comment, "OK");
    cr_assert_eq(f->n_hdrs, 2);
    cr_assert_str_eq(rh_hdr(f, "To-Path"), S_URI);
    cr_assert_str_eq(rh_hdr(f, "From-Path"), US);
}

/* The raw bytes ep received end with want. */
static void assert_raw_tail(int ep, const char *want)
{
    size_t n;
    const char *raw = rh_raw(H, ep, &n);
    cr_assert(n >= strlen(want), "got:\n%s", raw);
    cr_assert_str_eq(raw + n - strlen(want), want);
}

/* The sender's inbound connection in the core. */
static struct rconn *sender_conn(void)
{
    for (struct rconn *rc = rh_core(H)->conns; rc; rc = rc->next)
        if (!rc->outgoing && rc->authed)
            return rc;
    cr_assert_fail("no sender connection");
    return NULL;
}

/* --- splitting ----------------------------------------------------------------- */

Test(relay_fwd, big_chunk_goes_as_pieces_with_exact_ranges)
{
    int s = start(1000, 30000, 0);
    char *body = pattern(4500);
    rh_request(H, s, "SEND", "big00001", TO, S_URI,
               "Message-ID: big\r\nByte-Range: 1-4500/4500\r\nContent-Type: application/octet-stream\r\n",
               body, 4500, '$');
    cr_assert(rh_wait_hops(H, 1));
    int hop = rh_hop(H, 0);
    cr_assert(rh_wait_frames(H, hop, 5));
    static const char *ranges[5] = { "1-1000/4500", "1001-2000/4500", "2001-3000/4500",
                                     "3001-4000/4500", "4001-4500/4500" };
    static const char flags[5] = { '+', '+', '+', '+', '$' };
    char *got = malloc(4500);
    size_t at = 0;
    for (size_t i = 0; i < 5; i++) {
        const struct rh_frame *f = rh_frame(H, hop, i);
        cr_assert_str_eq(f->method, "SEND");
        cr_assert_str_eq(rh_hdr(f, "To-Path"), RH_HOP_URI);
        cr_assert_str_eq(rh_hdr(f, "From-Path"), FROM);
        cr_assert_str_eq(rh_hdr(f, "Message-ID"), "big");
        cr_assert_str_eq(rh_hdr(f, "Byte-Range"), ranges[i], "piece %zu: %s", i,
                         rh_hdr(f, "Byte-Range"));
        cr_assert_str_eq(f->hdrs[f->n_hdrs - 1].name, "Content-Type");
        cr_assert_eq(f->flag, flags[i], "piece %zu ends '%c'", i, f->flag);
        cr_assert_eq(f->body_n, i < 4 ? 1000u : 500u);
        cr_assert_eq(strlen(f->tid), 16);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(f->tid, rh_frame(H, hop, j)->tid, "pieces share a tid");
        memcpy(got + at, f->body, f->body_n);
        at += f->body_n;
    }
    cr_assert_eq(at, 4500);
    cr_assert_eq(memcmp(got, body, 4500), 0);
    free(got);
    free(body);

    /* No answer upstream until every piece is answered. */
    rh_settle(H);
    cr_assert_eq(rh_nframes(H, s), 2); /* the AUTH's 401 and 200 */
    for (size_t i = 0; i < 4; i++)
        rh_answer(H, hop, i, 200);
    rh_settle(H);
    cr_assert_eq(rh_nframes(H, s), 2);
    rh_answer(H, hop, 4, 200);
    cr_assert(rh_wait_frames(H, s, 3));
    char want[2048];
    snprintf(want, sizeof(want),
             "MSRP big00001 200 OK\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------big00001$\r\n",
             S_URI, US);
    assert_raw_tail(s, want);
    rh_settle(H);
    cr_assert_eq(rh_nframes(H, s), 3);
    struct gw_relay_stats st;
    rh_stats(H, &st);
    cr_assert_eq(st.frames_forwarded, 1);
    cr_assert_eq(st.pieces_out, 5);
    cr_assert_eq(st.chunks_split, 1);
    cr_assert_eq(st.body_bytes, 4500);
    cr_assert_eq(st.responses_up, 1);
    cr_assert_eq(st.active_chunks, 0);
    cr_assert_eq(rh_core(H)->pieces.n, 0);
    finish();
}

Test(relay_fwd, pieces_of_a_chunk_without_byte_range_get_one)
{
    int s = start(1000, 30000, 0);
    rh_hop_answer(H, 200);
    char *body = pattern(2500);
    /* A continuation chunk: the last piece keeps the sender's '+'. */
    rh_request(H, s, "SEND", "nbr00001", TO, S_URI, "Message-ID: nbr\r\n", body, 2500, '+');
    cr_assert(rh_wait_hops(H, 1));
    int hop = rh_hop(H, 0);
    cr_assert(rh_wait_frames(H, hop, 3));
    /* The first piece goes out as the sender wrote it (no Byte-Range:
     * 1-*, RFC 4975 section 7.3.1); later ones say where they start. */
    cr_assert_null(rh_hdr(rh_frame(H, hop, 0), "Byte-Range"));
    cr_assert_str_eq(rh_hdr(rh_frame(H, hop, 1), "Byte-Range"), "1001-*/*");
    cr_assert_str_eq(rh_hdr(rh_frame(H, hop, 2), "Byte-Range"), "2001-*/*");
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(rh_frame(H, hop, i)->flag, '+');
    cr_assert_eq(memcmp(rh_frame(H, hop, 2)->body, body + 2000, 500), 0);
    free(body);
    cr_assert(rh_wait_frames(H, s, 3));
    assert_ok_frame(s, 2, "nbr00001");
    finish();
}

Test(relay_fwd, a_failed_piece_answers_the_chunk_with_its_code)
{
    int s = start(1000, 30000, 0);
    char *body = pattern(3000);
    rh_request(H, s, "SEND", "err00001", TO, S_URI, "Message-ID: e\r\nByte-Range: 1-3000/3000\r\n",
               body, 3000, '$');
    free(body);
    cr_assert(rh_wait_hops(H, 1));
    int hop = rh_hop(H, 0);
    cr_assert(rh_wait_frames(H, hop, 3));
    rh_answer(H, hop, 0, 200);
    rh_answer(H, hop, 1, 413);
    rh_settle(H);
    cr_assert_eq(rh_nframes(H, s), 2);
    rh_answer(H, hop, 2, 200);
    cr_assert(rh_wait_frames(H, s, 3));
    char want[2048];
    snprintf(want, sizeof(want),
             "MSRP err00001 413 Message Too Large\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------err00001$\r\n",
             S_URI, US);
    assert_raw_tail(s, want);
    /* The next hop reported it: no Failure REPORT of ours. */
    rh_settle(H);
    cr_assert_eq(rh_nframes(H, s), 3);
    cr_assert_eq(rh_metrics(H)->resp_relayed[GW_ST_413], 1);
    struct gw_relay_stats st;
    rh_stats(H, &st);
    cr_assert_eq(st.failure_reports, 0);
    cr_assert_eq(st.active_chunks, 0);
    finish();
}

Test(relay_fwd, unsplit_chunk_relays_the_next_hop_code)
{
    int s = start(0, 30000, 0);
    rh_hop_answer(H, 415);
    char *body = pattern(4500);
    rh_request(H, s, "SEND", "one00001", TO, S_URI, "Byte-Range: 1-4500/4500\r\n", body, 4500,
               '$');
    cr_assert(rh_wait_frames(H, s, 3));
    const struct rh_frame *f = rh_frame(H, s, 2);
    cr_assert_eq(f->status, 415);
    cr_assert_str_eq(f->comment, "Unsupported Media Type");
    int hop = rh_hop(H, 0);
    cr_assert_eq(rh_nframes(H, hop), 1);
    cr_assert_str_eq(rh_hdr(rh_frame(H, hop, 0), "Byte-Range"), "1-4500/4500");
    cr_assert_eq(memcmp(rh_frame(H, hop, 0)->body, body, 4500), 0);
    free(body);
    finish();
}

/* --- piece timeouts ------------------------------------------------------------ */

static bool no_pieces(struct rh *h, void *arg)
{
    (void)arg;
    return rh_core(h)->pieces.n == 0;
}

Test(relay_fwd, silent_next_hop_gets_408_and_a_failure_report)
{
    int s = start(1000, 150, 0);
    uint64_t t0 = rh_now_ms();
    rh_request(H, s, "SEND", "tmo00001", TO, S_URI, "Message-ID: t1\r\nByte-Range: 1-4/4\r\n",
               "late", 4, '$');
    cr_assert(rh_wait_frames(H, s, 4)); /* 408, then the REPORT */
    cr_assert_geq(rh_now_ms() - t0, 150, "answered before chunk_timeout");
    char want[4096];
    snprintf(want, sizeof(want),
             "MSRP tmo00001 408 Request Timeout\r\nTo-Path: %s\r\nFrom-Path: %s\r\n"
             "-------tmo00001$\r\n",
             S_URI, US);
    size_t n;
    const char *raw = rh_raw(H, s, &n);
    cr_assert_not_null(strstr(raw, want), "got:\n%s", raw);
    const struct rh_frame *f = rh_frame(H, s, 2);
    cr_assert_eq(f->status, 408);
    /* RFC 4975 section 7.1.2: Failure-Report absent means yes; a failure
     * we made up ourselves is reported to the sender's endpoint. */
    f = rh_frame(H, s, 3);
    cr_assert(f->request);
    cr_assert_str_eq(f->method, "REPORT");
    cr_assert_str_eq(rh_hdr(f, "To-Path"), S_URI);
    cr_assert_str_eq(rh_hdr(f, "From-Path"), US);
    cr_assert_str_eq(rh_hdr(f, "Message-ID"), "t1");
    cr_assert_str_eq(rh_hdr(f, "Byte-Range"), "1-4/4");
    cr_assert_str_eq(rh_hdr(f, "Status"), "000 408 Request Timeout");
    struct gw_relay_stats st;
    rh_stats(H, &st);
    cr_assert_eq(st.timeouts_408, 1);
    cr_assert_eq(st.failure_reports, 1);
    cr_assert_eq(st.active_chunks, 0);
    cr_assert_eq(rh_metrics(H)->drops[GW_DROP_TIMEOUT], 1);
    cr_assert_eq(rh_metrics(H)->resp_sent[GW_ST_408], 1);
    cr_assert_eq(rh_metrics(H)->reports_sent, 1);
    /* The piece's record is gone: a late answer changes nothing ... */
    cr_assert_eq(rh_core(H)->pieces.n, 0);
    int hop = rh_hop(H, 0);
    rh_answer(H, hop, 0, 200);
    rh_settle(H);
    cr_assert_eq(rh_nframes(H, s), 4);
    /* ... and the hop's slot serves the next chunk. */
    rh_request(H, s, "SEND", "tmo00002", TO, S_URI, NULL, "next", 4, '$');
    cr_assert(rh_wait_frames(H, hop, 2));
    cr_assert_str_eq(rh_frame(H, hop, 1)->body, "next");
    rh_answer(H, hop, 1, 200);
    cr_assert(rh_wait_frames(H, s, 5));
    assert_ok_frame(s, 4, "tmo00002");
    finish();
}

Test(relay_fwd, every_piece_of_a_split_chunk_times_out_once)
{
    int s = start(1000, 150, 0);
    char *body = pattern(2500);
    rh_request(H, s, "SEND", "tmo00003", TO, S_URI, "Byte-Range: 1-2500/2500\r\n", body, 2500,
               '$');
    free(body);
    cr_assert(rh_wait_frames(H, s, 4));
    cr_assert_eq(rh_frame(H, s, 2)->status, 408);
    cr_assert_str_eq(rh_frame(H, s, 3)->method, "REPORT");
    rh_settle(H);
    cr_assert_eq(rh_nframes(H, s), 4); /* one answer, one REPORT per chunk */
    cr_assert_eq(rh_nframes(H, rh_hop(H, 0)), 3);
    struct gw_relay_stats st;
    rh_stats(H, &st);
    cr_assert_eq(st.timeouts_408, 3);
    cr_assert_eq(st.failure_reports, 1);
    cr_assert_eq(st.active_chunks, 0);
    cr_assert_eq(rh_core(H)->pieces.n, 0);
    finish();
}

Test(relay_fwd, failure_report_partial_takes_silence_as_success)
{
    int s = start(0, 150, 0);
    rh_request(H, s, "SEND", "par00001", TO, S_URI, "Failure-Report: partial\r\n", "p", 1, '$');
    cr_assert(rh_wait_hops(H, 1));
    cr_assert(rh_wait_frames(H, rh_hop(H, 0), 1));
    cr_assert(rh_run_until(H, no_pieces, NULL, RH_DEADLINE_MS));
    rh_settle(H);
    /* RFC 4975 section 7.1.2: no 200 for partial, no 408 for silence. */
    cr_assert_eq(rh_nframes(H, s), 2);
    struct gw_relay_stats st;
    rh_stats(H, &st);
    cr_assert_eq(st.timeouts_408, 0);
    cr_assert_eq(st.failure_reports, 0);
    cr_assert_eq(st.active_chunks, 0);
    finish();
}

/* --- chunks in flight per sender --------------------------------------------------- */

Test(relay_fwd, in_flight_cap_stops_reading_the_sender_until_answers)
{
    int s = start(0, 30000, 2);
    static const char *tids[5] = { "cap00001", "cap00002", "cap00003", "cap00004", "cap00005" };
    for (int i = 0; i < 5; i++)
        rh_request(H, s, "SEND", tids[i], TO, S_URI, NULL, "c", 1, '$');
    cr_assert(rh_wait_hops(H, 1));
    int hop = rh_hop(H, 0);
    cr_assert(rh_wait_frames(H, hop, 2));
    rh_settle(H);
    cr_assert_eq(rh_nframes(H, hop), 2, "%zu chunks passed a cap of 2", rh_nframes(H, hop));
    struct rconn *rc = sender_conn();
    cr_assert(rc->ups_full);
    cr_assert_eq(rc->n_ups, 2);
    cr_assert(gw_mconn_stalled(rc->m));

    /* One answer lets exactly one more chunk through. */
    rh_answer(H, hop, 0, 200);
    cr_assert(rh_wait_frames(H, hop, 3));
    rh_settle(H);
    cr_assert_eq(rh_nframes(H, hop), 3);
    cr_assert(rc->ups_full);
    rh_answer(H, hop, 1, 200);
    rh_answer(H, hop, 2, 200);
    cr_assert(rh_wait_frames(H, hop, 5));
    rh_answer(H, hop, 3, 200);
    rh_answer(H, hop, 4, 200);
    cr_assert(rh_wait_frames(H, s, 7));
    for (int i = 0; i < 5; i++)
        assert_ok_frame(s, 2 + (size_t)i, tids[i]);
    cr_assert(!sender_conn()->ups_full);
    cr_assert_eq(sender_conn()->n_ups, 0);
    finish();
}

/* --- answers and chunks sharing a connection --------------------------------------- */

struct raw_has {
    int ep;
    const char *text;
};

static bool raw_contains(struct rh *h, void *arg)
{
    const struct raw_has *w = arg;
    size_t n;
    const char *raw = rh_raw(h, w->ep, &n);
    return memmem(raw, n, w->text, strlen(w->text)) != NULL;
}

/*
 * Both directions at once on one connection: while another peer's chunk
 * streams into the sender's connection (its head and part of its body
 * sent, the rest not yet arrived), the sender's own chunk is answered by
 * the next hop.
 * The relay's 200 must wait for the streaming frame's end-line: written
 * at once it would land inside that frame's body, corrupting the file
 * and losing the answer.
 */
Test(relay_fwd, an_answer_waits_for_the_frame_streaming_into_its_connection)
{
    int s = start(0, 30000, 0);
    rh_request(H, s, "SEND", "own00001", TO, S_URI, "Message-ID: own\r\nByte-Range: 1-3/3\r\n",
               "abc", 3, '$');
    cr_assert(rh_wait_hops(H, 1));
    int hop = rh_hop(H, 0);
    cr_assert(rh_wait_frames(H, hop, 1));

    /* A peer P sends towards the sender through its reservation: the head
     * and the first half of the body now, the rest later. */
    int p = rh_peer(H);
    char head[2048];
    int hn = snprintf(head, sizeof(head),
                      "MSRP pee00001 SEND\r\nTo-Path: %s %s\r\nFrom-Path: %s\r\n"
                      "Message-ID: back\r\nByte-Range: 1-2000/2000\r\n"
                      "Content-Type: application/octet-stream\r\n\r\n",
                      US, S_URI, P_URI);
    char *body = pattern(2000);
    rh_write(H, p, head, (size_t)hn);
    rh_write(H, p, body, 1000);
    struct raw_has started = { s, "Message-ID: back" };
    cr_assert(rh_run_until(H, raw_contains, &started, RH_DEADLINE_MS));
    rh_settle(H);

    /* Now the sender's chunk is answered: its 200 must not go out yet. */
    rh_answer(H, hop, 0, 200);
    rh_settle(H);
    cr_assert_eq(rh_nframes(H, s), 2, "a frame completed inside the streaming one");
    size_t n;
    const char *raw = rh_raw(H, s, &n);
    cr_assert_null(memmem(raw, n, "own00001 200", 12), "the 200 went out mid-frame:\n%s", raw);

    char end[64];
    int en = snprintf(end, sizeof(end), "\r\n-------pee00001$\r\n");
    rh_write(H, p, body + 1000, 1000);
    rh_write(H, p, end, (size_t)en);
    cr_assert(rh_wait_frames(H, s, 4));
    cr_assert_eq(rh_parse_error(H, s), 0);
    const struct rh_frame *f = rh_frame(H, s, 2);
    cr_assert(f->request);
    cr_assert_str_eq(f->method, "SEND");
    cr_assert_str_eq(rh_hdr(f, "Message-ID"), "back");
    cr_assert_eq(f->body_n, 2000);
    cr_assert_eq(memcmp(f->body, body, 2000), 0, "the streamed body was corrupted");
    cr_assert_eq(f->flag, '$');
    assert_ok_frame(s, 3, "own00001");
    struct gw_mconn_stats ms;
    gw_mconn_get_stats(sender_conn()->m, &ms);
    cr_assert_eq(ms.frames_held, 1);
    free(body);
    finish();
}
