/*
 * test_relay_route.c: the relay's routing of SENDs (gateway/relay/relay.c route,
 * relay_fwd_start's head) driven through a real core by
 * tests/unit/relay_harness.c: a reservation's URI reaches its AUTHed
 * client with RFC 4976 section 7.2's path rewriting, a foreign next hop is
 * dialled, and each refusal gets its exact answer and counter.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "gateway/relay/relay_internal.h"
#include "proto/error.h"
#include "relay_harness.h"

#define R_URI "msrp://127.0.0.1:9/rcv;tcp"
#define S_URI "msrp://127.0.0.1:9/snd;tcp"

static struct rh *H;

static void setup(void)
{
    struct gw_relay_config cfg;
    rh_config_default(&cfg);
    H = rh_start(&cfg);
}

static void teardown(void) { rh_release(&H); }
static void finish(void) { rh_release(&H); }

TestSuite(relay_route, .init = setup, .fini = teardown, .timeout = 60);

/* The raw bytes ep received equal want exactly. */
static void assert_raw(int ep, const char *want)
{
    size_t n;
    const char *raw = rh_raw(H, ep, &n);
    cr_assert_eq(n, strlen(want), "got %zu bytes:\n%s\nwanted:\n%s", n, raw, want);
    cr_assert_eq(memcmp(raw, want, n), 0, "got:\n%s\nwanted:\n%s", raw, want);
}

/* A receiver R that AUTHed, and its reservation URI. */
static int receiver(char use[512])
{
    int r = rh_peer(H);
    cr_assert_eq(rh_auth(H, r, R_URI, RH_USER, RH_PASS, -1), 200);
    snprintf(use, 512, "%s", rh_use_path(H, r));
    cr_assert_neq(use[0], '\0');
    return r;
}

/* The header names of f in order, joined by ','. */
static void names(const struct rh_frame *f, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < f->n_hdrs && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "," : "", f->hdrs[i].name);
}

Test(relay_route, reservation_reaches_its_client_with_rewritten_paths)
{
    char use[512], to[1200], from[1200];
    int r = receiver(use);
    /* Use-Path is one of our URIs with a 16-character session id of core 0. */
    char prefix[160];
    snprintf(prefix, sizeof(prefix), "msrp://127.0.0.1:%u/", rh_port(H));
    cr_assert_eq(strncmp(use, prefix, strlen(prefix)), 0, "%s", use);
    cr_assert_eq(strlen(use), strlen(prefix) + GW_RELAY_SESSID_LEN + 4, "%s", use);
    cr_assert_str_eq(use + strlen(use) - 4, ";tcp");
    cr_assert_eq(use[strlen(prefix)], '0');

    int s = rh_peer(H);
    snprintf(to, sizeof(to), "%s %s", use, R_URI);
    rh_request(H, s, "SEND", "snd00001", to, S_URI,
               "Message-ID: m-77\r\nContent-Type: text/plain\r\nByte-Range: 1-5/5\r\n"
               "X-Ext: kept  as is\r\n", "hello", 5, '$');
    cr_assert(rh_wait_frames(H, r, 3)); /* 401, 200, then the SEND */
    const struct rh_frame *f = rh_frame(H, r, 2);
    cr_assert(f->request);
    cr_assert_str_eq(f->method, "SEND");
    /* A tid of our own (16 characters), not the sender's. */
    cr_assert_eq(strlen(f->tid), 16);
    cr_assert_str_neq(f->tid, "snd00001");
    /* RFC 4976 section 7.2: our URI moves from To-Path to From-Path. */
    cr_assert_str_eq(rh_hdr(f, "To-Path"), R_URI);
    snprintf(from, sizeof(from), "%s %s", use, S_URI);
    cr_assert_str_eq(rh_hdr(f, "From-Path"), from);
    /* Other headers verbatim, Content-Type last. */
    char hn[256];
    names(f, hn, sizeof(hn));
    cr_assert_str_eq(hn, "To-Path,From-Path,Message-ID,Byte-Range,X-Ext,Content-Type");
    cr_assert_str_eq(rh_hdr(f, "Message-ID"), "m-77");
    cr_assert_str_eq(rh_hdr(f, "Byte-Range"), "1-5/5");
    cr_assert_str_eq(rh_hdr(f, "X-Ext"), "kept  as is");
    cr_assert_str_eq(rh_hdr(f, "Content-Type"), "text/plain");
    cr_assert_eq(f->body_n, 5);
    cr_assert_str_eq(f->body, "hello");
    cr_assert_eq(f->flag, '$');

    /* R's 200 comes back as the relay's own 200, hop by hop. */
    cr_assert(rh_wait_frames(H, s, 1));
    char want[2048];
    snprintf(want, sizeof(want),
             "MSRP snd00001 200 OK\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------snd00001$\r\n",
             S_URI, use);
    assert_raw(s, want);
    struct gw_relay_stats st;
    rh_stats(H, &st);
    cr_assert_eq(st.frames_forwarded, 1);
    cr_assert_eq(st.responses_up, 1);
    cr_assert_eq(st.active_chunks, 0);
    cr_assert_eq(rh_metrics(H)->resp_relayed[GW_ST_200], 1);
    cr_assert_eq(rh_parse_error(H, r), 0);
    finish();
}

Test(relay_route, unknown_session_gets_481)
{
    char to[1200], want[2048];
    int s = rh_peer(H);
    char unknown[160];
    snprintf(unknown, sizeof(unknown), "msrp://127.0.0.1:%u/0AAAAAAAAAAAAAAA;tcp", rh_port(H));
    snprintf(to, sizeof(to), "%s %s", unknown, R_URI);
    rh_request(H, s, "SEND", "unk00001", to, S_URI, NULL, "x", 1, '$');
    cr_assert(rh_wait_frames(H, s, 1));
    snprintf(want, sizeof(want),
             "MSRP unk00001 481 Session Does Not Exist\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------unk00001$\r\n",
             S_URI, unknown);
    assert_raw(s, want);
    struct gw_relay_stats st;
    rh_stats(H, &st);
    cr_assert_eq(st.resp_481, 1);
    cr_assert_eq(st.frames_forwarded, 0);
    cr_assert_eq(rh_metrics(H)->drops[GW_DROP_UNKNOWN_SESSION], 1);
    cr_assert_eq(rh_metrics(H)->resp_sent[GW_ST_481], 1);
    finish();
}

Test(relay_route, known_session_with_another_client_uri_gets_481)
{
    /* RFC 4975 section 6.1: the URI after the reservation must be its
     * client's, or someone guesses session ids. */
    char use[512], to[1200];
    int r = receiver(use);
    int s = rh_peer(H);
    snprintf(to, sizeof(to), "%s msrp://127.0.0.1:9/other;tcp", use);
    rh_request(H, s, "SEND", "unk00002", to, S_URI, NULL, "x", 1, '$');
    cr_assert(rh_wait_frames(H, s, 1));
    const struct rh_frame *f = rh_frame(H, s, 0);
    cr_assert_eq(f->status, 481);
    cr_assert_str_eq(f->comment, "Session Does Not Exist");
    rh_settle(H);
    cr_assert_eq(rh_nframes(H, r), 2); /* its AUTH answers only */
    cr_assert_eq(rh_metrics(H)->drops[GW_DROP_UNKNOWN_SESSION], 1);
    finish();
}

Test(relay_route, our_uri_alone_gets_481)
{
    /* A relay is never the target of a SEND (RFC 4976 section 6.2). */
    int s = rh_peer(H);
    rh_request(H, s, "SEND", "unk00003", rh_self_uri(H), S_URI, NULL, "x", 1, '$');
    cr_assert(rh_wait_frames(H, s, 1));
    cr_assert_eq(rh_frame(H, s, 0)->status, 481);
    finish();
}

Test(relay_route, authed_sender_dials_a_foreign_next_hop)
{
    char to[1200], want[2048], from[1200];
    int s = rh_peer(H);
    cr_assert_eq(rh_auth(H, s, S_URI, RH_USER, RH_PASS, -1), 200);
    char us[512];
    snprintf(us, sizeof(us), "%s", rh_use_path(H, s));
    cr_assert_eq(rh_hops(H), 0);
    snprintf(to, sizeof(to), "%s %s", us, RH_HOP_URI);
    rh_request(H, s, "SEND", "fwd00001", to, S_URI, "Message-ID: m1\r\n", "abc", 3, '$');
    cr_assert(rh_wait_hops(H, 1));
    int hop = rh_hop(H, 0);
    cr_assert(rh_wait_frames(H, hop, 1));
    const struct rh_frame *f = rh_frame(H, hop, 0);
    cr_assert_str_eq(f->method, "SEND");
    cr_assert_str_eq(rh_hdr(f, "To-Path"), RH_HOP_URI);
    snprintf(from, sizeof(from), "%s %s", us, S_URI);
    cr_assert_str_eq(rh_hdr(f, "From-Path"), from);
    cr_assert_str_eq(f->body, "abc");
    cr_assert(rh_wait_frames(H, s, 3)); /* 401, 200, then the SEND's 200 */
    size_t n;
    const char *raw = rh_raw(H, s, &n);
    snprintf(want, sizeof(want),
             "MSRP fwd00001 200 OK\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------fwd00001$\r\n", S_URI, us);
    cr_assert(n >= strlen(want));
    cr_assert_str_eq(raw + n - strlen(want), want);

    /* The next SEND to that authority reuses the connection. */
    rh_request(H, s, "SEND", "fwd00002", to, S_URI, NULL, "d", 1, '$');
    cr_assert(rh_wait_frames(H, s, 4));
    cr_assert_eq(rh_frame(H, s, 3)->status, 200);
    cr_assert_eq(rh_hops(H), 1);
    cr_assert_eq(rh_nframes(H, hop), 2);
    struct gw_relay_stats st;
    rh_stats(H, &st);
    cr_assert_eq(st.conns_out, 1);
    cr_assert_eq(st.conns_reused, 1);
    finish();
}

Test(relay_route, unauthenticated_sender_may_not_open_connections)
{
    /* RFC 4976 section 6.3: only AUTHed clients make the relay dial. */
    char to[1200], want[2048];
    int s = rh_peer(H);
    snprintf(to, sizeof(to), "%s %s", rh_self_uri(H), RH_HOP_URI);
    rh_request(H, s, "SEND", "den00001", to, S_URI, NULL, "x", 1, '$');
    cr_assert(rh_wait_frames(H, s, 1));
    snprintf(want, sizeof(want),
             "MSRP den00001 403 Forbidden\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------den00001$\r\n", S_URI,
             rh_self_uri(H));
    assert_raw(s, want);
    rh_settle(H);
    cr_assert_eq(rh_hops(H), 0);
    struct gw_relay_stats st;
    rh_stats(H, &st);
    cr_assert_eq(st.resp_403, 1);
    cr_assert_eq(st.conns_out, 0);
    cr_assert_eq(rh_metrics(H)->drops[GW_DROP_NOT_AUTHORIZED], 1);
    cr_assert_eq(rh_metrics(H)->drops[GW_DROP_DEST_DENIED], 0);
    cr_assert_eq(rh_metrics(H)->resp_sent[GW_ST_403], 1);
    finish();
}

Test(relay_route, denied_destination_gets_403_dest_denied)
{
    char to[1200];
    int s = rh_peer(H);
    cr_assert_eq(rh_auth(H, s, S_URI, RH_USER, RH_PASS, -1), 200);
    snprintf(to, sizeof(to), "%s msrp://127.0.0.1:1/x;tcp", rh_use_path(H, s));
    rh_request(H, s, "SEND", "den00002", to, S_URI, NULL, "x", 1, '$');
    cr_assert(rh_wait_frames(H, s, 3));
    const struct rh_frame *f = rh_frame(H, s, 2);
    cr_assert_eq(f->status, 403);
    cr_assert_str_eq(f->comment, "Forbidden");
    rh_settle(H);
    cr_assert_eq(rh_hops(H), 0);
    cr_assert_eq(rh_metrics(H)->drops[GW_DROP_DEST_DENIED], 1);
    cr_assert_eq(rh_metrics(H)->drops[GW_DROP_NOT_AUTHORIZED], 0);
    finish();
}

/* --- bad_path ------------------------------------------------------------------
 *
 * The parser refuses requests without both paths, and any head it accepts
 * can be rewritten, so the relay's "400 Cannot Forward" (drop reason
 * bad_path) is reached here by making the rewrite fail: the binary links
 * with -Wl,--wrap=gw_relay_write_fwd_head (tests/CMakeLists.txt). */
static int fail_fwd_head;

int __real_gw_relay_write_fwd_head(char *buf, size_t cap, const struct msrp_head *h,
                                   unsigned skip, struct msrp_slice tid,
                                   const struct msrp_byte_range *br, size_t br_span[2]);
int __wrap_gw_relay_write_fwd_head(char *buf, size_t cap, const struct msrp_head *h,
                                   unsigned skip, struct msrp_slice tid,
                                   const struct msrp_byte_range *br, size_t br_span[2]);
int __wrap_gw_relay_write_fwd_head(char *buf, size_t cap, const struct msrp_head *h,
                                   unsigned skip, struct msrp_slice tid,
                                   const struct msrp_byte_range *br, size_t br_span[2])
{
    if (fail_fwd_head > 0) {
        fail_fwd_head--;
        return MSRP_E_NOSPACE;
    }
    return __real_gw_relay_write_fwd_head(buf, cap, h, skip, tid, br, br_span);
}

Test(relay_route, unforwardable_head_gets_400_and_counts_bad_path)
{
    char use[512], to[1200], want[2048];
    int r = receiver(use);
    int s = rh_peer(H);
    snprintf(to, sizeof(to), "%s %s", use, R_URI);
    fail_fwd_head = 1;
    rh_request(H, s, "SEND", "bad00001", to, S_URI, NULL, "lost", 4, '$');
    cr_assert(rh_wait_frames(H, s, 1));
    snprintf(want, sizeof(want),
             "MSRP bad00001 400 Cannot Forward\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------bad00001$\r\n",
             S_URI, use);
    assert_raw(s, want);
    cr_assert_eq(rh_metrics(H)->drops[GW_DROP_BAD_PATH], 1);
    cr_assert_eq(rh_metrics(H)->resp_sent[GW_ST_400], 1);
    /* Nothing reached R, nothing is left in flight, and the connection
     * goes on: the next SEND is forwarded. */
    struct gw_relay_stats st;
    rh_stats(H, &st);
    cr_assert_eq(st.active_chunks, 0);
    cr_assert_eq(st.frames_forwarded, 0);
    rh_request(H, s, "SEND", "bad00002", to, S_URI, NULL, "kept", 4, '$');
    cr_assert(rh_wait_frames(H, r, 3));
    cr_assert_str_eq(rh_frame(H, r, 2)->body, "kept");
    cr_assert(rh_wait_frames(H, s, 2));
    cr_assert_eq(rh_frame(H, s, 1)->status, 200);
    cr_assert_eq(rh_metrics(H)->drops[GW_DROP_BAD_PATH], 1);
    finish();
}
