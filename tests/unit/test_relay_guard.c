/*
 * test_relay_guard.c: the AUTH state shared by cores (gateway/relay/relay_guard.c)
 * -- nonce replay cache, failure throttle, per-user reservation counts --
 * and the log rate limiter the AUTH warnings go through (gateway/obs/log.c).
 * Times are given explicitly, so windows and expiry are exact.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "gateway/obs/log.h"
#include "gateway/relay/relay_internal.h"

/* A password check that failed, as the relay makes one (relay_auth.c):
 * begun, then its verdict. True when it starts a block; a key refused at
 * the start is not checked, and nothing is counted. */
static bool check_fails(struct relay_guard *g, uint64_t key, uint32_t now)
{
    if (relay_guard_begin(g, key, now))
        return false;
    return relay_guard_done(g, key, now, RELAY_GUARD_FAILED);
}

/* A password check that passed: the key's failures are forgiven. */
static void check_passes(struct relay_guard *g, uint64_t key, uint32_t now)
{
    if (!relay_guard_begin(g, key, now))
        relay_guard_done(g, key, now, RELAY_GUARD_PASSED);
}

static struct relay_guard *mk(uint32_t nonces, uint32_t limit, uint32_t window, uint32_t block,
                              uint32_t res_cap)
{
    struct relay_guard_config c = {
        .nonce_entries = nonces,
        .throttle_entries = 1024,
        .fail_limit = limit,
        .fail_window_s = window,
        .block_s = block,
        .max_res_per_user = res_cap,
    };
    struct relay_guard *g = NULL;
    cr_assert_eq(relay_guard_new(&g, &c), 0);
    return g;
}

/* --- replay cache ----------------------------------------------------------- */

Test(guard_nonce, nc_must_grow_per_nonce)
{
    struct relay_guard *g = mk(1024, 0, 0, 0, 0);
    uint64_t now = 1000, exp = now + 300;
    cr_assert_eq(relay_guard_nonce_use(g, 990, 7, 1, exp, now), RELAY_GUARD_NONCE_OK);
    cr_assert_eq(relay_guard_nonce_use(g, 990, 7, 1, exp, now), RELAY_GUARD_NONCE_REPLAY);
    cr_assert_eq(relay_guard_nonce_use(g, 990, 7, 2, exp, now), RELAY_GUARD_NONCE_OK);
    cr_assert_eq(relay_guard_nonce_use(g, 990, 7, 1, exp, now), RELAY_GUARD_NONCE_REPLAY,
                 "an older count after a newer one");
    /* Another nonce (other salt, other stamp) has its own count: switching
     * between two nonces does not reopen the first. */
    cr_assert_eq(relay_guard_nonce_use(g, 990, 8, 1, exp, now), RELAY_GUARD_NONCE_OK);
    cr_assert_eq(relay_guard_nonce_use(g, 991, 7, 1, exp, now), RELAY_GUARD_NONCE_OK);
    cr_assert_eq(relay_guard_nonce_use(g, 990, 7, 2, exp, now), RELAY_GUARD_NONCE_REPLAY);
    relay_guard_free(g);
}

Test(guard_nonce, entries_expire_with_the_nonce)
{
    struct relay_guard *g = mk(1024, 0, 0, 0, 0);
    cr_assert_eq(relay_guard_nonce_use(g, 100, 1, 1, 400, 100), RELAY_GUARD_NONCE_OK);
    cr_assert_eq(relay_guard_nonce_use(g, 100, 1, 1, 400, 399), RELAY_GUARD_NONCE_REPLAY);
    /* At expiry the nonce itself is stale (verify refuses it first); its
     * slot is free again. */
    cr_assert_eq(relay_guard_nonce_use(g, 100, 1, 1, 400, 400), RELAY_GUARD_NONCE_OK);
    relay_guard_free(g);
}

Test(guard_nonce, full_refuses_new_nonces_and_keeps_live_ones)
{
    /* 1 entry asked: one set of 32 ways. */
    struct relay_guard *g = mk(1, 0, 0, 0, 0);
    unsigned ok = 0;
    for (uint64_t s = 0; s < 100; s++)
        ok += relay_guard_nonce_use(g, 50, s, 1, 1000, 60) == RELAY_GUARD_NONCE_OK;
    cr_assert_eq(ok, 32, "bounded: %u accepted", ok);
    cr_assert_eq(relay_guard_nonce_use(g, 50, 99, 1, 1000, 60), RELAY_GUARD_NONCE_FULL);
    /* Every live one is still remembered. */
    for (uint64_t s = 0; s < 32; s++)
        cr_assert_eq(relay_guard_nonce_use(g, 50, s, 1, 1000, 60), RELAY_GUARD_NONCE_REPLAY);
    /* Once they expire, room again. */
    cr_assert_eq(relay_guard_nonce_use(g, 50, 99, 1, 2000, 1000), RELAY_GUARD_NONCE_OK);
    relay_guard_free(g);
}

struct race {
    struct relay_guard *g;
    _Atomic unsigned ok;
};

static void *race_thread(void *arg)
{
    struct race *r = arg;
    for (uint64_t s = 0; s < 2000; s++)
        if (relay_guard_nonce_use(r->g, 7, s, 1, 1000, 10) == RELAY_GUARD_NONCE_OK)
            atomic_fetch_add(&r->ok, 1);
    return NULL;
}

Test(guard_nonce, once_across_threads)
{
    struct race r = { .g = mk(1 << 16, 0, 0, 0, 0) };
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, race_thread, &r);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(atomic_load(&r.ok), 2000, "each nonce/nc accepted exactly once: %u",
                 atomic_load(&r.ok));
    relay_guard_free(r.g);
}

/* --- throttle ----------------------------------------------------------------- */

Test(guard_throttle, limit_in_window_blocks_for_block_time)
{
    struct relay_guard *g = mk(0, 3, 60, 300, 0);
    uint64_t k = relay_guard_key(g, 'U', "bob", 3);
    cr_assert_eq(relay_guard_blocked(g, k, 10), 0);
    cr_assert_not(check_fails(g, k, 10));
    cr_assert_not(check_fails(g, k, 20));
    cr_assert_eq(relay_guard_blocked(g, k, 20), 0);
    cr_assert(check_fails(g, k, 30), "third failure in the window blocks");
    cr_assert_eq(relay_guard_blocked(g, k, 30), 300);
    cr_assert_eq(relay_guard_blocked(g, k, 329), 1);
    /* Failures while blocked do not extend it. */
    cr_assert_not(check_fails(g, k, 100));
    cr_assert_eq(relay_guard_blocked(g, k, 330), 0, "block over");
    /* A fresh window after the block: limit tries again. */
    cr_assert_not(check_fails(g, k, 331));
    cr_assert_not(check_fails(g, k, 332));
    cr_assert(check_fails(g, k, 333));
    relay_guard_free(g);
}

Test(guard_throttle, window_slides_out)
{
    struct relay_guard *g = mk(0, 3, 60, 300, 0);
    uint64_t k = relay_guard_addr_key(g, "192.0.2.1:5060");
    cr_assert_not(check_fails(g, k, 10));
    cr_assert_not(check_fails(g, k, 20));
    /* 60 s after the window opened it starts over. */
    cr_assert_not(check_fails(g, k, 70));
    cr_assert_not(check_fails(g, k, 71));
    cr_assert(check_fails(g, k, 72));
    relay_guard_free(g);
}

Test(guard_throttle, forgive_and_independent_keys)
{
    struct relay_guard *g = mk(0, 2, 60, 300, 0);
    uint64_t bob = relay_guard_key(g, 'U', "bob", 3), alice = relay_guard_key(g, 'U', "alice", 5);
    cr_assert_not(check_fails(g, bob, 10));
    check_passes(g, bob, 11);
    cr_assert_not(check_fails(g, bob, 12), "forgiven: counting from 0");
    cr_assert(check_fails(g, bob, 13));
    cr_assert_gt(relay_guard_blocked(g, bob, 14), 0);
    check_passes(g, bob, 15);
    cr_assert_gt(relay_guard_blocked(g, bob, 16), 0, "a block is not forgiven");
    cr_assert_eq(relay_guard_blocked(g, alice, 16), 0);
    relay_guard_free(g);
}

Test(guard_throttle, addresses_keys)
{
    struct relay_guard *g = mk(0, 1, 60, 300, 0);
    /* Port does not matter; IPv6 by /64; v4-mapped is the v4 address. */
    cr_assert_eq(relay_guard_addr_key(g, "127.0.0.2:1"), relay_guard_addr_key(g, "127.0.0.2:2"));
    cr_assert_neq(relay_guard_addr_key(g, "127.0.0.2:1"), relay_guard_addr_key(g, "127.0.0.1:1"));
    cr_assert_eq(relay_guard_addr_key(g, "[2001:db8:1:2::1]:5"),
                 relay_guard_addr_key(g, "[2001:db8:1:2:ffff::9]:6"));
    cr_assert_neq(relay_guard_addr_key(g, "[2001:db8:1:2::1]:5"),
                  relay_guard_addr_key(g, "[2001:db8:1:3::1]:5"));
    cr_assert_eq(relay_guard_addr_key(g, "[::ffff:192.0.2.7]:5"),
                 relay_guard_addr_key(g, "192.0.2.7:9"));
    cr_assert_neq(relay_guard_addr_key(g, "192.0.2.7:9"), 0);
    relay_guard_free(g);
}

Test(guard_throttle, zero_limit_never_blocks)
{
    struct relay_guard *g = mk(0, 0, 60, 300, 0);
    uint64_t k = relay_guard_key(g, 'U', "x", 1);
    for (int i = 0; i < 100; i++)
        cr_assert_not(check_fails(g, k, 10));
    cr_assert_eq(relay_guard_blocked(g, k, 10), 0);
    relay_guard_free(g);
}

Test(guard_throttle, bounded_and_blocked_entries_kept_first)
{
    /* 1024 entries; 5000 keys each failing once (limit 2: none blocked),
     * interleaved with a blocked key: the table stays bounded, the
     * blocked key survives the flood of unblocked ones. */
    struct relay_guard *g = mk(0, 2, 600, 300, 0);
    uint64_t victim = relay_guard_key(g, 'U', "victim", 6);
    check_fails(g, victim, 1);
    cr_assert(check_fails(g, victim, 1));
    for (unsigned i = 0; i < 5000; i++) {
        char name[32];
        int n = snprintf(name, sizeof(name), "u%u", i);
        check_fails(g, relay_guard_key(g, 'U', name, (size_t)n), 2 + i / 100);
    }
    cr_assert_gt(relay_guard_blocked(g, victim, 60), 0);
    relay_guard_free(g);
}

/* --- reservations per user ------------------------------------------------- */

Test(guard_res, cap_and_release)
{
    struct relay_guard *g = mk(0, 0, 0, 0, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(relay_guard_res_take(g, "alice"), 0);
    cr_assert_eq(relay_guard_res_take(g, "alice"), -EDQUOT);
    cr_assert_eq(relay_guard_res_take(g, "bob"), 0, "another user has their own count");
    cr_assert_eq(relay_guard_res_count(g, "alice"), 3);
    relay_guard_res_give(g, "alice");
    cr_assert_eq(relay_guard_res_take(g, "alice"), 0, "a released one makes room");
    for (int i = 0; i < 3; i++)
        relay_guard_res_give(g, "alice");
    cr_assert_eq(relay_guard_res_count(g, "alice"), 0);
    relay_guard_res_give(g, "alice"); /* unknown: ignored */
    cr_assert_eq(relay_guard_res_count(g, "bob"), 1);
    relay_guard_free(g); /* frees bob's entry (ASan: no leak) */
}

Test(guard_res, zero_is_unlimited)
{
    struct relay_guard *g = mk(0, 0, 0, 0, 0);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(relay_guard_res_take(g, "alice"), 0);
    cr_assert_eq(relay_guard_res_count(g, "alice"), 1000);
    relay_guard_free(g);
}

/* --- log rate limiter ------------------------------------------------------- */

Test(log_rl, k_per_second_then_suppressed_count)
{
    static struct gw_log_rl rl;
    uint64_t lost = 99;
    unsigned passed = 0;
    for (int i = 0; i < 1000; i++)
        passed += (unsigned)gw_log_rl_admit(&rl, 5, 10000 + (uint64_t)i, &lost) ;
    /* 1000 calls over 10000..10999 ms: one second. */
    cr_assert_eq(passed, 5);
    cr_assert_eq(gw_log_rl_admit(&rl, 5, 11000, &lost), 1, "a new second opens");
    cr_assert_eq(lost, 995, "the first line of it reports the losses: %llu",
                 (unsigned long long)lost);
    cr_assert_eq(gw_log_rl_admit(&rl, 5, 11001, &lost), 1);
    cr_assert_eq(lost, 0, "reported once");
    /* A quiet site later: nothing to report. */
    cr_assert_eq(gw_log_rl_admit(&rl, 5, 50000, &lost), 1);
    cr_assert_eq(lost, 0);
}

struct rl_race {
    struct gw_log_rl rl;
    _Atomic unsigned passed;
};

static void *rl_thread(void *arg)
{
    struct rl_race *r = arg;
    uint64_t lost;
    for (int i = 0; i < 10000; i++)
        if (gw_log_rl_admit(&r->rl, 7, 5000, &lost))
            atomic_fetch_add(&r->passed, 1);
    return NULL;
}

Test(log_rl, exact_under_threads)
{
    static struct rl_race r;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, rl_thread, &r);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(atomic_load(&r.passed), 7);
    uint64_t lost;
    cr_assert_eq(gw_log_rl_admit(&r.rl, 7, 6000, &lost), 1);
    cr_assert_eq(lost, 40000 - 7);
}

/* Checks in flight count against the limit: with fail_limit 3, three
 * connections (on any cores) may be checking bob's password at once, a
 * fourth is refused until one ends; so never more than 3 checks happen
 * before the block (hostile 05 saw 11 of 10 on two cores without this). */
Test(guard_throttle, checks_in_flight_count_against_the_limit)
{
    struct relay_guard *g = mk(0, 3, 60, 300, 0);
    uint64_t k = relay_guard_key(g, 'U', "bob", 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(relay_guard_begin(g, k, 10), 0, "check %d admitted", i);
    cr_assert_eq(relay_guard_begin(g, k, 10), 1, "a fourth check in flight is refused");
    cr_assert_eq(relay_guard_blocked(g, k, 10), 0, "refused, but not blocked");
    cr_assert_not(relay_guard_done(g, k, 10, RELAY_GUARD_NO_VERDICT));
    cr_assert_eq(relay_guard_begin(g, k, 10), 0, "an ended check frees its try");
    cr_assert_not(relay_guard_done(g, k, 11, RELAY_GUARD_FAILED));
    cr_assert_not(relay_guard_done(g, k, 11, RELAY_GUARD_FAILED));
    cr_assert_eq(relay_guard_begin(g, k, 11), 1, "2 failed + 1 in flight = the limit");
    cr_assert(relay_guard_done(g, k, 12, RELAY_GUARD_FAILED), "the third failure blocks");
    cr_assert_eq(relay_guard_begin(g, k, 12), 300);
    relay_guard_free(g);
}

Test(guard_throttle, passed_check_forgives_and_no_verdict_counts_nothing)
{
    struct relay_guard *g = mk(0, 2, 60, 300, 0);
    uint64_t k = relay_guard_key(g, 'U', "bob", 3);
    cr_assert_eq(relay_guard_begin(g, k, 10), 0);
    cr_assert_not(relay_guard_done(g, k, 10, RELAY_GUARD_FAILED));
    cr_assert_eq(relay_guard_begin(g, k, 11), 0);
    cr_assert_not(relay_guard_done(g, k, 11, RELAY_GUARD_PASSED));
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(relay_guard_begin(g, k, 12), 0);
        cr_assert_not(relay_guard_done(g, k, 12, RELAY_GUARD_NO_VERDICT));
    }
    cr_assert_not(check_fails(g, k, 13), "forgiven: counting from 0");
    cr_assert(check_fails(g, k, 13));
    relay_guard_free(g);
}

/* Looked-up names leave no slot behind: 10,000 made-up names that were
 * begun and ended without a verdict do not push out a key with failures. */
Test(guard_throttle, lookups_do_not_evict_failures)
{
    struct relay_guard *g = mk(0, 3, 60, 300, 0); /* 1024 throttle entries */
    uint64_t victim = relay_guard_key(g, 'U', "victim", 6);
    cr_assert_not(check_fails(g, victim, 1));
    cr_assert_not(check_fails(g, victim, 1));
    for (int i = 0; i < 10000; i++) {
        char name[32];
        int n = snprintf(name, sizeof(name), "made-up-%d", i);
        uint64_t k = relay_guard_key(g, 'U', name, (size_t)n);
        cr_assert_eq(relay_guard_begin(g, k, 2), 0);
        relay_guard_done(g, k, 2, RELAY_GUARD_NO_VERDICT);
    }
    cr_assert(check_fails(g, victim, 3), "the victim's two failures were kept");
    relay_guard_free(g);
}
