/*
 * test_relay_auth.c: AUTH (gateway/relay/relay_auth.c) through a real core
 * driven by tests/unit/relay_harness.c -- the 401 challenge, the 200 with
 * Use-Path and Expires, Expires rules (423, clamping, 0 releases), wrong
 * passwords and the throttle's 403, nonces bound to their connection,
 * replayed and stale nonces, and the counters of each outcome.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/relay/relay_internal.h"
#include "proto/digest.h"
#include "relay_harness.h"

#define C_URI "msrp://127.0.0.1:9/cli;tcp"

static struct rh *H;

static void teardown(void) { rh_release(&H); }
static void finish(void) { rh_release(&H); }

TestSuite(relay_auth, .fini = teardown, .timeout = 60);

static void start_with(uint32_t fail_limit)
{
    struct gw_relay_config cfg;
    rh_config_default(&cfg);
    cfg.auth_fail_limit = fail_limit;
    H = rh_start(&cfg);
}

/* Sends an AUTH on ep (extra header lines may be NULL) and returns the
 * answer (aborts the test when none comes). */
static const struct rh_frame *auth_req(int ep, const char *tid, const char *extra)
{
    size_t k = rh_nframes(H, ep);
    rh_request(H, ep, "AUTH", tid, rh_self_uri(H), C_URI, extra, NULL, 0, '$');
    cr_assert(rh_wait_frames(H, ep, k + 1), "no answer to AUTH %s", tid);
    const struct rh_frame *f = rh_frame(H, ep, k);
    cr_assert(!f->request);
    cr_assert_str_eq(f->tid, tid);
    return f;
}

/* A 401 and its challenge; www receives the WWW-Authenticate value. */
static void challenged(int ep, const char *tid, char www[1024])
{
    const struct rh_frame *f = auth_req(ep, tid, NULL);
    cr_assert_eq(f->status, 401);
    cr_assert_not_null(rh_hdr(f, "WWW-Authenticate"));
    snprintf(www, 1024, "%s", rh_hdr(f, "WWW-Authenticate"));
}

/* An AUTH answering challenge www (as user/pass, nonce-count nc), with
 * Expires when expires >= 0. */
static const struct rh_frame *answer(int ep, const char *tid, const char *www, const char *user,
                                     const char *pass, uint32_t nc, long expires)
{
    char authz[1536], extra[2048];
    rh_authorization(authz, sizeof(authz), www, rh_self_uri(H), user, pass, nc);
    int n = snprintf(extra, sizeof(extra), "Authorization: %s\r\n", authz);
    if (expires >= 0)
        snprintf(extra + n, sizeof(extra) - (size_t)n, "Expires: %ld\r\n", expires);
    return auth_req(ep, tid, extra);
}

static void stats(struct gw_relay_stats *st) { rh_stats(H, st); }

Test(relay_auth, no_credentials_get_a_digest_challenge)
{
    start_with(0);
    int c = rh_peer(H);
    const struct rh_frame *f = auth_req(c, "auth0001", NULL);
    cr_assert_eq(f->status, 401);
    cr_assert_str_eq(f->comment, "Unauthorized");
    cr_assert_str_eq(rh_hdr(f, "To-Path"), C_URI);
    cr_assert_str_eq(rh_hdr(f, "From-Path"), rh_self_uri(H));
    const char *www = rh_hdr(f, "WWW-Authenticate");
    cr_assert_not_null(www);
    cr_assert_eq(strncmp(www, "Digest realm=\"" RH_REALM "\", nonce=\"", 30), 0, "%s", www);
    struct msrp_digest_fields d;
    cr_assert_eq(msrp_digest_parse(&d, www, strlen(www)), 0);
    cr_assert_eq(d.realm.n, strlen(RH_REALM));
    cr_assert_eq(memcmp(d.realm.p, RH_REALM, d.realm.n), 0);
    cr_assert_eq(d.nonce.n, MSRP_DIGEST_NONCE_LEN);
    cr_assert_eq(d.qop.n, 4);
    cr_assert_eq(memcmp(d.qop.p, "auth", 4), 0);
    cr_assert_eq(d.opaque.n, 32);
    cr_assert_null(d.stale.p);
    /* A second challenge on the same connection is a fresh nonce. */
    const struct rh_frame *g = auth_req(c, "auth0002", NULL);
    struct msrp_digest_fields e;
    cr_assert_eq(msrp_digest_parse(&e, rh_hdr(g, "WWW-Authenticate"),
                                   strlen(rh_hdr(g, "WWW-Authenticate"))), 0);
    cr_assert(e.nonce.n != d.nonce.n || memcmp(e.nonce.p, d.nonce.p, d.nonce.n) != 0);
    struct gw_relay_stats st;
    stats(&st);
    cr_assert_eq(st.auth_challenges, 2);
    cr_assert_eq(st.auth_failures, 0);
    cr_assert_eq(st.auth_ok, 0);
    cr_assert_eq(rh_metrics(H)->auth_failed[GW_AUTHF_NO_CREDENTIALS], 2);
    cr_assert_eq(rh_metrics(H)->resp_sent[GW_ST_401], 2);
    finish();
}

Test(relay_auth, right_digest_gets_use_path_and_expires)
{
    start_with(0);
    int c = rh_peer(H);
    char www[1024];
    challenged(c, "auth0001", www);
    const struct rh_frame *f = answer(c, "auth0002", www, RH_USER, RH_PASS, 1, -1);
    cr_assert_eq(f->status, 200);
    cr_assert_str_eq(f->comment, "OK");
    cr_assert_eq(f->n_hdrs, 4);
    cr_assert_str_eq(f->hdrs[0].name, "To-Path");
    cr_assert_str_eq(f->hdrs[0].value, C_URI);
    cr_assert_str_eq(f->hdrs[1].value, rh_self_uri(H));
    /* Use-Path: our URI with the new session id (core 0's character). */
    const char *use = rh_hdr(f, "Use-Path");
    cr_assert_not_null(use);
    char sess[32];
    snprintf(sess, sizeof(sess), "%.*s", GW_RELAY_SESSID_LEN, rh_core(H)->conns->sessid);
    char want[256];
    snprintf(want, sizeof(want), "msrp://127.0.0.1:%u/%s;tcp", rh_port(H), sess);
    cr_assert_str_eq(use, want);
    cr_assert_eq(sess[0], '0');
    cr_assert_str_eq(rh_hdr(f, "Expires"), "900"); /* expires_default */
    struct gw_relay_stats st;
    stats(&st);
    cr_assert_eq(st.auth_ok, 1);
    cr_assert_eq(st.auth_failures, 0);
    cr_assert_eq(st.sessions, 1);
    cr_assert_eq(rh_metrics(H)->auth_ok, 1);
    cr_assert_eq(rh_metrics(H)->sessions_current, 1);
    cr_assert_eq(rh_metrics(H)->resp_sent[GW_ST_200], 1);
    finish();
}

Test(relay_auth, expires_is_clamped_refused_below_min_and_0_releases)
{
    start_with(0);
    int c = rh_peer(H);
    char www[1024];
    challenged(c, "auth0001", www);
    /* Below expires_min (10): 423 with Min-Expires, no reservation. */
    const struct rh_frame *f = answer(c, "auth0002", www, RH_USER, RH_PASS, 1, 5);
    cr_assert_eq(f->status, 423);
    cr_assert_str_eq(f->comment, "Interval Out-of-Bounds");
    cr_assert_str_eq(rh_hdr(f, "Min-Expires"), "10");
    cr_assert_null(rh_hdr(f, "Use-Path"));
    struct gw_relay_stats st;
    stats(&st);
    cr_assert_eq(st.auth_423, 1);
    cr_assert_eq(st.sessions, 0);
    cr_assert_eq(rh_metrics(H)->auth_failed[GW_AUTHF_EXPIRES], 1);
    /* Above expires_max (3600): clamped. nc counts up on the same nonce. */
    f = answer(c, "auth0003", www, RH_USER, RH_PASS, 2, 99999);
    cr_assert_eq(f->status, 200);
    cr_assert_str_eq(rh_hdr(f, "Expires"), "3600");
    f = answer(c, "auth0004", www, RH_USER, RH_PASS, 3, 20);
    cr_assert_eq(f->status, 200);
    cr_assert_str_eq(rh_hdr(f, "Expires"), "20");
    stats(&st);
    cr_assert_eq(st.sessions, 1); /* a refresh keeps the one reservation */
    /* Expires: 0 gives the reservation back. */
    f = answer(c, "auth0005", www, RH_USER, RH_PASS, 4, 0);
    cr_assert_eq(f->status, 200);
    cr_assert_str_eq(rh_hdr(f, "Expires"), "0");
    cr_assert_null(rh_hdr(f, "Use-Path"));
    stats(&st);
    cr_assert_eq(st.sessions, 0);
    cr_assert_eq(st.auth_ok, 2);
    cr_assert_eq(rh_metrics(H)->sessions_current, 0);
    finish();
}

Test(relay_auth, wrong_password_is_rechallenged_then_throttled)
{
    start_with(3);
    int c = rh_peer(H);
    char www[1024];
    challenged(c, "auth0001", www);
    static const char *tids[3] = { "bad00001", "bad00002", "bad00003" };
    for (int i = 0; i < 3; i++) {
        const struct rh_frame *f = answer(c, tids[i], www, RH_USER, "wrong", 1, -1);
        cr_assert_eq(f->status, 401, "failure %d answered %u", i + 1, f->status);
        cr_assert_str_eq(f->comment, "Unauthorized");
        const char *nw = rh_hdr(f, "WWW-Authenticate");
        cr_assert_not_null(nw);
        snprintf(www, sizeof(www), "%s", nw);
    }
    struct gw_relay_stats st;
    stats(&st);
    cr_assert_eq(st.auth_failures, 3);
    cr_assert_eq(rh_metrics(H)->auth_failed[GW_AUTHF_BAD_PASSWORD], 3);
    cr_assert_eq(rh_metrics(H)->auth_failed[GW_AUTHF_THROTTLED], 0);
    /* auth_fail_limit reached: even the right password gets 403, with no
     * challenge (no oracle), on this connection and on a new one. */
    const struct rh_frame *f = answer(c, "blk00001", www, RH_USER, RH_PASS, 1, -1);
    cr_assert_eq(f->status, 403);
    cr_assert_str_eq(f->comment, "Too Many Failures");
    cr_assert_null(rh_hdr(f, "WWW-Authenticate"));
    int d = rh_peer(H);
    f = auth_req(d, "blk00002", NULL);
    cr_assert_eq(f->status, 403);
    stats(&st);
    cr_assert_eq(st.auth_ok, 0);
    cr_assert_eq(st.auth_failures, 5);
    cr_assert_eq(st.resp_403, 2, "resp_403 = %llu", (unsigned long long)st.resp_403);
    cr_assert_eq(st.sessions, 0);
    cr_assert_eq(rh_metrics(H)->auth_failed[GW_AUTHF_THROTTLED], 2);
    cr_assert_eq(rh_metrics(H)->resp_sent[GW_ST_403], 2);
    finish();
}

Test(relay_auth, below_the_limit_a_right_password_passes)
{
    start_with(3);
    int c = rh_peer(H);
    char www[1024];
    challenged(c, "auth0001", www);
    const struct rh_frame *f = answer(c, "bad00001", www, RH_USER, "wrong", 1, -1);
    cr_assert_eq(f->status, 401);
    snprintf(www, sizeof(www), "%s", rh_hdr(f, "WWW-Authenticate"));
    f = answer(c, "unk00001", www, "mallory", "x", 1, -1);
    cr_assert_eq(f->status, 401);
    cr_assert_eq(rh_metrics(H)->auth_failed[GW_AUTHF_UNKNOWN_USER], 1);
    snprintf(www, sizeof(www), "%s", rh_hdr(f, "WWW-Authenticate"));
    f = answer(c, "good0001", www, RH_USER, RH_PASS, 1, -1);
    cr_assert_eq(f->status, 200);
    cr_assert_not_null(rh_hdr(f, "Use-Path"));
    finish();
}

Test(relay_auth, nonce_of_another_connection_is_rechallenged)
{
    start_with(0);
    int a = rh_peer(H), b = rh_peer(H);
    char www_a[1024], www_b[1024];
    challenged(a, "auth0001", www_a);
    /* b answers a's challenge: right password, wrong connection. */
    const struct rh_frame *f = answer(b, "auth0002", www_a, RH_USER, RH_PASS, 1, -1);
    cr_assert_eq(f->status, 401);
    cr_assert_not_null(rh_hdr(f, "WWW-Authenticate"));
    cr_assert_str_neq(rh_hdr(f, "WWW-Authenticate"), www_a);
    snprintf(www_b, sizeof(www_b), "%s", rh_hdr(f, "WWW-Authenticate"));
    cr_assert_eq(rh_metrics(H)->auth_failed[GW_AUTHF_FOREIGN_NONCE], 1);
    /* Its own challenge passes; a's nonce is still good on a. */
    cr_assert_eq(answer(b, "auth0003", www_b, RH_USER, RH_PASS, 1, -1)->status, 200);
    cr_assert_eq(answer(a, "auth0004", www_a, RH_USER, RH_PASS, 1, -1)->status, 200);
    struct gw_relay_stats st;
    stats(&st);
    cr_assert_eq(st.auth_ok, 2);
    cr_assert_eq(st.auth_failures, 1);
    cr_assert_eq(st.sessions, 2);
    finish();
}

Test(relay_auth, replayed_nonce_count_is_refused)
{
    start_with(0);
    int c = rh_peer(H);
    char www[1024];
    challenged(c, "auth0001", www);
    cr_assert_eq(answer(c, "auth0002", www, RH_USER, RH_PASS, 1, -1)->status, 200);
    /* The same Authorization again (nc 1): a replay. */
    const struct rh_frame *f = answer(c, "auth0003", www, RH_USER, RH_PASS, 1, -1);
    cr_assert_eq(f->status, 401);
    cr_assert_eq(rh_metrics(H)->auth_failed[GW_AUTHF_REPLAY], 1);
    /* A higher count on that nonce is a refresh. */
    cr_assert_eq(answer(c, "auth0004", www, RH_USER, RH_PASS, 2, -1)->status, 200);
    struct gw_relay_stats st;
    stats(&st);
    cr_assert_eq(st.auth_ok, 2);
    cr_assert_eq(st.auth_failures, 1);
    finish();
}

Test(relay_auth, stale_nonce_gets_a_stale_challenge)
{
    start_with(0);
    int c = rh_peer(H);
    char www[1024];
    challenged(c, "auth0001", www);
    /* An authentic nonce of ours, issued 1000 s ago (nonce_lifetime 300):
     * minted with the relay's own Digest state. */
    char old[1024];
    int n = msrp_digest_challenge(old, sizeof(old), &rh_core(H)->r->dsv,
                                  (uint64_t)time(NULL) - 1000, 1, false);
    cr_assert_gt(n, 0);
    old[n] = '\0';
    const struct rh_frame *f = answer(c, "auth0002", old, RH_USER, RH_PASS, 1, -1);
    cr_assert_eq(f->status, 401);
    const char *nw = rh_hdr(f, "WWW-Authenticate");
    cr_assert_not_null(nw);
    cr_assert_not_null(strstr(nw, ", stale=true"), "%s", nw);
    cr_assert_eq(rh_metrics(H)->auth_failed[GW_AUTHF_STALE_NONCE], 1);
    /* The fresh nonce passes without the user being asked again. */
    snprintf(www, sizeof(www), "%s", nw);
    cr_assert_eq(answer(c, "auth0003", www, RH_USER, RH_PASS, 1, -1)->status, 200);
    /* A stale nonce is not a wrong password: no throttle count. */
    cr_assert_eq(rh_metrics(H)->auth_failed[GW_AUTHF_BAD_PASSWORD], 0);
    finish();
}

Test(relay_auth, auth_must_name_this_relay_only)
{
    start_with(0);
    int c = rh_peer(H);
    char to[512];
    snprintf(to, sizeof(to), "msrp://127.0.0.1:%u/0AAAAAAAAAAAAAAA;tcp", rh_port(H));
    rh_request(H, c, "AUTH", "auth0001", to, C_URI, NULL, NULL, 0, '$');
    cr_assert(rh_wait_frames(H, c, 1));
    cr_assert_eq(rh_frame(H, c, 0)->status, 481);
    cr_assert_str_eq(rh_frame(H, c, 0)->comment, "Not This Relay");
    const struct rh_frame *f = auth_req(c, "auth0002", "Authorization: Basic YWxpY2U6c2VjcmV0\r\n");
    cr_assert_eq(f->status, 400);
    cr_assert_str_eq(f->comment, "Bad Authorization");
    cr_assert_eq(rh_metrics(H)->auth_failed[GW_AUTHF_BAD_PARAM], 1);
    finish();
}
