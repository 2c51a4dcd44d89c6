/*
 * test_relay_limits.c: per-user policy limits (gateway/relay/relay_limits.c,
 * relay_auth.c) through a real core driven by tests/unit/relay_harness.c.
 * Two users, alice with limits of her own (gw_relay_config.user_limits)
 * and bob with none: a SEND is held to its AUTHed sender's user's limits,
 * an unauthenticated SEND to the receiving reservation's user's, each with
 * the global limits' answers and counters; a user's own max_reservations
 * replaces max_reservations_per_user; limits are taken at AUTH, so a
 * change (a reload) reaches later AUTHs only.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gateway/relay/relay_internal.h"
#include "relay_harness.h"

#define A_URI "msrp://127.0.0.1:9/alice1;tcp"
#define B_URI "msrp://127.0.0.1:9/bob1;tcp"
#define U_URI "msrp://127.0.0.1:9/anon1;tcp"

static struct rh *H;

static void teardown(void) { rh_release(&H); }

TestSuite(relay_limits, .fini = teardown, .timeout = 60);

/* alice's own limits: what the users table would say (tests change it). */
static struct gw_relay_user_limits alice_lim;
static char alice_types[64];
static unsigned limits_calls;

static int user_lookup(void *ud, unsigned idx, const char *name, size_t n,
                       struct msrp_slice *secret, bool *is_ha1)
{
    (void)ud;
    (void)idx;
    if (!((n == 5 && memcmp(name, "alice", 5) == 0) || (n == 3 && memcmp(name, "bob", 3) == 0)))
        return -ENOENT;
    *secret = MSRP_SLICE_LIT("secret");
    *is_ha1 = false;
    return 0;
}

static int user_limits(void *ud, unsigned idx, const char *name, size_t n,
                       struct gw_relay_user_limits *lim)
{
    (void)ud;
    (void)idx;
    limits_calls++;
    if (n == 5 && memcmp(name, "alice", 5) == 0) {
        *lim = alice_lim;
        lim->allowed_content_types = msrp_slice(alice_types, strlen(alice_types));
        return 0;
    }
    return -ENOENT; /* bob: the global limits */
}

static void start(uint32_t max_res_per_user)
{
    struct gw_relay_config cfg;
    rh_config_default(&cfg);
    cfg.user_lookup = user_lookup;
    cfg.user_limits = user_limits;
    cfg.max_message_size = 100000;
    cfg.max_reservations_per_user = max_res_per_user;
    memset(&alice_lim, 0, sizeof(alice_lim));
    alice_lim.has_max_message_size = true;
    alice_lim.max_message_size = 1000;
    alice_lim.has_allowed_content_types = true;
    snprintf(alice_types, sizeof(alice_types), "text/plain");
    H = rh_start(&cfg);
}

/* ep AUTHed as user from uri; its Use-Path into use. */
static int authed(const char *user, const char *uri, char use[512])
{
    int ep = rh_peer(H);
    cr_assert_eq(rh_auth(H, ep, uri, user, "secret", -1), 200, "AUTH %s", user);
    snprintf(use, 512, "%s", rh_use_path(H, ep));
    return ep;
}

/* A one-chunk SEND of n bytes of type ctype on ep; the answer's
 * "code comment". */
static const char *send_msg(int ep, const char *tid, const char *to, const char *from, size_t n,
                            const char *ctype)
{
    static char body[4096], extra[256], out[128];
    memset(body, 'x', sizeof(body));
    snprintf(extra, sizeof(extra), "Message-ID: %s\r\nByte-Range: 1-%zu/%zu\r\nContent-Type: %s\r\n",
             tid, n, n, ctype);
    size_t k = rh_nframes(H, ep);
    rh_request(H, ep, "SEND", tid, to, from, extra, body, n, '$');
    for (size_t i = k;; i++) {
        cr_assert(rh_wait_frames(H, ep, i + 1), "no answer to %s", tid);
        const struct rh_frame *f = rh_frame(H, ep, i);
        if (!f->request && strcmp(f->tid, tid) == 0) {
            snprintf(out, sizeof(out), "%u %s", f->status, f->comment);
            return out;
        }
    }
}

/* How many SENDs ep received. */
static size_t sends_at(int ep)
{
    size_t n = 0;
    for (size_t i = 0; i < rh_nframes(H, ep); i++)
        if (rh_frame(H, ep, i)->request && strcmp(rh_frame(H, ep, i)->method, "SEND") == 0)
            n++;
    return n;
}

Test(relay_limits, each_sender_is_held_to_its_own_users_limits)
{
    start(100);
    char ause[512], buse[512], to_b[1200], to_a[1200];
    int a = authed("alice", A_URI, ause);
    int b = authed("bob", B_URI, buse);
    snprintf(to_b, sizeof(to_b), "%s %s %s", ause, buse, B_URI);
    snprintf(to_a, sizeof(to_a), "%s %s %s", buse, ause, A_URI);

    /* 2000 bytes: over alice's 1000, within the global 100000 bob has. */
    cr_assert_str_eq(send_msg(a, "big00001", to_b, A_URI, 2000, "text/plain"),
                     "413 Message Too Large");
    cr_assert_str_eq(send_msg(b, "big00002", to_a, B_URI, 2000, "text/plain"), "200 OK");
    /* image/png: alice's own list is text/plain; bob has the global (all). */
    cr_assert_str_eq(send_msg(a, "png00001", to_b, A_URI, 10, "image/png"),
                     "415 Unsupported Media Type");
    cr_assert_str_eq(send_msg(b, "png00002", to_a, B_URI, 10, "image/png"), "200 OK");
    cr_assert_str_eq(send_msg(a, "ok000001", to_b, A_URI, 1000, "text/plain"), "200 OK");
    rh_settle(H);
    cr_assert_eq(sends_at(b), 1, "only alice's message within her limits reached bob");
    cr_assert_eq(sends_at(a), 2);

    const struct gw_metrics *m = rh_metrics(H);
    cr_assert_eq(m->drops[GW_DROP_MESSAGE_TOO_LARGE], 1);
    cr_assert_eq(m->drops[GW_DROP_CONTENT_TYPE], 1);
    cr_assert_eq(m->resp_sent[GW_ST_413], 1);
    cr_assert_eq(m->resp_sent[GW_ST_415], 1);
    cr_assert_eq(limits_calls, 2, "one look-up per AUTH");
    rh_release(&H);
}

Test(relay_limits, unauthenticated_sender_gets_the_receivers_limits)
{
    start(100);
    char ause[512], buse[512], to_a[1200], to_b[1200];
    int a = authed("alice", A_URI, ause);
    int b = authed("bob", B_URI, buse);
    int u = rh_peer(H);
    snprintf(to_a, sizeof(to_a), "%s %s", ause, A_URI);
    snprintf(to_b, sizeof(to_b), "%s %s", buse, B_URI);
    cr_assert_str_eq(send_msg(u, "anon0001", to_a, U_URI, 2000, "text/plain"),
                     "413 Message Too Large");
    cr_assert_str_eq(send_msg(u, "anon0002", to_a, U_URI, 10, "image/png"),
                     "415 Unsupported Media Type");
    cr_assert_str_eq(send_msg(u, "anon0003", to_b, U_URI, 2000, "image/png"), "200 OK");
    cr_assert_str_eq(send_msg(u, "anon0004", to_a, U_URI, 10, "text/plain"), "200 OK");
    rh_settle(H);
    cr_assert_eq(sends_at(a), 1);
    cr_assert_eq(sends_at(b), 1);
    /* Streaming past alice's 1000 bytes ('*' end: not known at the head):
     * cut off with '#' at her, 413 to the sender. */
    static char body[1500];
    memset(body, 'y', sizeof(body));
    size_t k = rh_nframes(H, u);
    rh_request(H, u, "SEND", "anon0005", to_a, U_URI,
               "Message-ID: anon0005\r\nByte-Range: 1-*/*\r\nContent-Type: text/plain\r\n", body,
               sizeof(body), '$');
    cr_assert(rh_wait_frames(H, u, k + 1));
    cr_assert_eq(rh_frame(H, u, k)->status, 413);
    cr_assert(rh_wait_frames(H, a, 2));
    cr_assert_eq(rh_frame(H, a, rh_nframes(H, a) - 1)->flag, '#');
    cr_assert_leq(rh_frame(H, a, rh_nframes(H, a) - 1)->body_n, 1000);
    const struct gw_metrics *m = rh_metrics(H);
    cr_assert_eq(m->drops[GW_DROP_MESSAGE_TOO_LARGE], 2);
    cr_assert_eq(m->drops[GW_DROP_CONTENT_TYPE], 1);
    rh_release(&H);
}

Test(relay_limits, own_max_reservations_replaces_the_global_cap)
{
    start(1);
    alice_lim.has_max_reservations = true;
    alice_lim.max_reservations = 2;
    char use[512];
    authed("alice", A_URI, use);
    authed("alice", "msrp://127.0.0.1:9/alice2;tcp", use);
    int a3 = rh_peer(H);
    cr_assert_eq(rh_auth(H, a3, "msrp://127.0.0.1:9/alice3;tcp", "alice", "secret", -1), 403);
    cr_assert_str_eq(rh_frame(H, a3, 1)->comment, "Too Many Reservations");
    authed("bob", B_URI, use);
    int b2 = rh_peer(H);
    cr_assert_eq(rh_auth(H, b2, "msrp://127.0.0.1:9/bob2;tcp", "bob", "secret", -1), 403,
                 "bob has the global max_reservations_per_user = 1");
    cr_assert_eq(rh_metrics(H)->auth_failed[GW_AUTHF_RESERVATION_LIMIT], 2);
    /* 0 of her own: unlimited, whatever the global cap. */
    alice_lim.max_reservations = 0;
    int a4 = rh_peer(H);
    cr_assert_eq(rh_auth(H, a4, "msrp://127.0.0.1:9/alice4;tcp", "alice", "secret", -1), 200);
    rh_release(&H);
}

Test(relay_limits, limits_are_taken_at_auth)
{
    start(100);
    char ause[512], buse[512], to_b[1200];
    int a = authed("alice", A_URI, ause);
    int b = authed("bob", B_URI, buse);
    (void)b;
    snprintf(to_b, sizeof(to_b), "%s %s %s", ause, buse, B_URI);
    /* A reload raises alice's limit: her reservation keeps the old one... */
    alice_lim.max_message_size = 5000;
    cr_assert_str_eq(send_msg(a, "old00001", to_b, A_URI, 2000, "text/plain"),
                     "413 Message Too Large");
    /* ...and her next AUTH gets the new one. */
    int a2 = authed("alice", "msrp://127.0.0.1:9/alice2;tcp", ause);
    snprintf(to_b, sizeof(to_b), "%s %s %s", ause, buse, B_URI);
    cr_assert_str_eq(send_msg(a2, "new00001", to_b, "msrp://127.0.0.1:9/alice2;tcp", 2000,
                              "text/plain"),
                     "200 OK");
    /* Her own limits gone: the global ones (100000, all types). */
    alice_lim.has_max_message_size = false;
    alice_lim.has_allowed_content_types = false;
    int a3 = authed("alice", "msrp://127.0.0.1:9/alice3;tcp", ause);
    snprintf(to_b, sizeof(to_b), "%s %s %s", ause, buse, B_URI);
    cr_assert_str_eq(send_msg(a3, "glob0001", to_b, "msrp://127.0.0.1:9/alice3;tcp", 4000,
                              "image/png"),
                     "200 OK");
    rh_release(&H);
}
