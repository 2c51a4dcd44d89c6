/*
 * test_uring_timer.c: thousands of timers fire in deadline order and never
 * early, cancelled ones never fire, repeating timers repeat and may cancel
 * themselves, re-arming an earlier deadline updates the ring's timeout.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "uring/loop.h"
#include "uring/timer.h"

#define N 5000

struct rec {
    struct ur_timer t;
    uint64_t deadline;
    int fired;
    int cancelled;
};

static struct rec recs[N];
static uint64_t last_deadline;
static int fired_total, out_of_order, early;
static struct ur_loop *loop;

static void on_fire(struct ur_timer *t, void *arg)
{
    struct rec *r = arg;
    uint64_t now = ur_now_ns();

    cr_assert_eq(&r->t, t);
    cr_assert_eq(ur_timer_armed(t), 0);
    if (r->deadline < last_deadline)
        out_of_order++;
    if (now < r->deadline)
        early++;
    last_deadline = r->deadline;
    r->fired++;
    fired_total++;
}

Test(uring_timer, thousands_in_order_with_cancellation)
{
    uint64_t seed = 12345;
    int expected = 0;
    struct ur_loop_stats st;

    cr_assert_eq(ur_loop_new(&loop, NULL), 0);
    for (int i = 0; i < N; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        ur_timer_init(&recs[i].t, on_fire, &recs[i]);
        ur_timer_arm_ns(loop, &recs[i].t, (seed >> 33) % 300000000ull, 0);
        recs[i].deadline = recs[i].t.deadline_ns;
    }
    ur_loop_get_stats(loop, &st);
    cr_assert_eq(st.timers, N);
    for (int i = 0; i < N; i += 3) {
        ur_timer_cancel(loop, &recs[i].t);
        ur_timer_cancel(loop, &recs[i].t); /* idempotent */
        recs[i].cancelled = 1;
    }
    for (int i = 0; i < N; i++)
        expected += !recs[i].cancelled;
    /* Bounded by wall time (5 s), not asserted on it. */
    uint64_t until = ur_now_ns() + 5000000000ull;
    while (fired_total < expected && ur_now_ns() < until)
        cr_assert_eq(ur_loop_run_once(loop, 50), 0);
    cr_assert_eq(fired_total, expected);
    cr_assert_eq(out_of_order, 0);
    cr_assert_eq(early, 0, "%d timers fired before their deadline", early);
    for (int i = 0; i < N; i++)
        cr_assert_eq(recs[i].fired, recs[i].cancelled ? 0 : 1, "timer %d", i);
    ur_loop_get_stats(loop, &st);
    cr_assert_eq(st.timers, 0);
    ur_loop_free(loop);
}

static int ticks;
static void on_tick(struct ur_timer *t, void *arg)
{
    (void)arg;
    if (++ticks == 5) {
        ur_timer_cancel(loop, t);
        ur_loop_stop(loop);
    }
}

static int late_fired, early_fired;
static void on_late(struct ur_timer *t, void *arg)
{
    (void)t;
    (void)arg;
    late_fired++;
}
static void on_early(struct ur_timer *t, void *arg)
{
    (void)t;
    (void)arg;
    early_fired++;
    cr_assert_eq(late_fired, 0);
    ur_loop_stop(loop);
}

Test(uring_timer, repeating_and_earlier_rearm)
{
    struct ur_timer rep, late, early_t;

    cr_assert_eq(ur_loop_new(&loop, NULL), 0);
    ur_timer_init(&rep, on_tick, NULL);
    ur_timer_arm(loop, &rep, 1, 2);
    for (int i = 0; i < 500 && ticks < 5; i++)
        cr_assert_eq(ur_loop_run_once(loop, 100), 0);
    cr_assert_eq(ticks, 5);
    cr_assert_eq(ur_timer_armed(&rep), 0);

    /* A far timer arms the ring's timeout; a nearer one must update it,
     * otherwise the loop would sleep until the far deadline. */
    ur_timer_init(&late, on_late, NULL);
    ur_timer_init(&early_t, on_early, NULL);
    ur_timer_arm(loop, &late, 60000, 0);
    cr_assert_eq(ur_loop_run_once(loop, 0), 0);
    ur_timer_arm(loop, &early_t, 5, 0);
    cr_assert_eq(ur_loop_run(loop), 0); /* returns only via on_early */
    cr_assert_eq(early_fired, 1);
    cr_assert_eq(late_fired, 0);
    cr_assert(ur_timer_armed(&late));
    ur_loop_free(loop);
    cr_assert_eq(ur_timer_armed(&late), 0); /* loop teardown disarms */
}

/* Callbacks that reshape the heap: each firing cancels one pending timer
 * and re-arms another (both picked pseudo-randomly, often deep inside the
 * heap). Every timer still armed fires exactly once, at or after its
 * latest deadline, in deadline order; the cancelled never fire. */
#define CHURN 3000
static struct rec churn[CHURN];
static uint64_t churn_seed = 99;

static uint64_t churn_rand(void)
{
    churn_seed = churn_seed * 6364136223846793005ull + 1442695040888963407ull;
    return churn_seed >> 33;
}

static void on_churn(struct ur_timer *t, void *arg)
{
    on_fire(t, arg);
    struct rec *victim = &churn[churn_rand() % CHURN];
    if (ur_timer_armed(&victim->t)) {
        ur_timer_cancel(loop, &victim->t);
        victim->cancelled = 1;
    }
    struct rec *moved = &churn[churn_rand() % CHURN];
    if (ur_timer_armed(&moved->t)) {
        ur_timer_arm_ns(loop, &moved->t, churn_rand() % 50000000ull, 0);
        moved->deadline = moved->t.deadline_ns;
    }
}

Test(uring_timer, churn_inside_callbacks)
{
    cr_assert_eq(ur_loop_new(&loop, NULL), 0);
    last_deadline = 0;
    fired_total = out_of_order = early = 0;
    for (int i = 0; i < CHURN; i++) {
        ur_timer_init(&churn[i].t, on_churn, &churn[i]);
        ur_timer_arm_ns(loop, &churn[i].t, churn_rand() % 100000000ull, 0);
        churn[i].deadline = churn[i].t.deadline_ns;
    }
    uint64_t until = ur_now_ns() + 5000000000ull;
    struct ur_loop_stats st;
    do {
        cr_assert_eq(ur_loop_run_once(loop, 50), 0);
        ur_loop_get_stats(loop, &st);
    } while (st.timers > 0 && ur_now_ns() < until);
    cr_assert_eq(st.timers, 0);
    int cancelled = 0;
    for (int i = 0; i < CHURN; i++) {
        cr_assert_eq(churn[i].fired, churn[i].cancelled ? 0 : 1, "timer %d", i);
        cancelled += churn[i].cancelled;
    }
    cr_assert_gt(cancelled, CHURN / 10, "the callbacks did cancel (%d)", cancelled);
    cr_assert_eq(fired_total, CHURN - cancelled);
    cr_assert_eq(out_of_order, 0);
    cr_assert_eq(early, 0);
    ur_loop_free(loop);
}
