/*
 * test_uring_loop.c: the loop's submission path when the rings are small.
 * A 4-entry SQ (16-entry CQ) gets thousands of submissions from inside
 * handlers, so ur_sqe must submit, and reap completions into the loop's
 * spill when the kernel wants them reaped, without ever spinning and
 * without losing or duplicating a completion.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "uring/internal.h"
#include "uring/loop.h"

#define POSTS 5000

struct tally {
    unsigned ran[POSTS];
    unsigned total;
};

static struct tally tally;

static void on_post(struct ur_loop *loop, void *arg)
{
    (void)loop;
    unsigned i = (unsigned)(uintptr_t)arg;
    tally.ran[i]++;
    tally.total++;
}

/* A handler that floods the small SQ: POSTS messages to its own loop,
 * each an SQE (MSG_RING) whose completions (sender and receiver side)
 * overflow the 16-entry CQ many times over. */
static void flood(struct ur_loop *loop, void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < POSTS; i++)
        cr_assert_eq(ur_loop_post(loop, on_post, (void *)(uintptr_t)i), 0);
}

/* What kernels before 5.19 did with a full CQ: refuse submissions (-EBUSY)
 * until the completions are reaped. */
static int submit_busy_while_cq(struct io_uring *ring)
{
    if (io_uring_cq_ready(ring) > 0)
        return -EBUSY;
    return io_uring_submit(ring);
}

static int submit_refuse(struct io_uring *ring)
{
    (void)ring;
    return -EAGAIN;
}

static void run_flood(unsigned disable, int (*submit)(struct io_uring *), bool spills)
{
    memset(&tally, 0, sizeof(tally));
    struct ur_loop_config cfg;
    ur_loop_config_default(&cfg);
    cfg.sq_entries = 4;
    cfg.disable = disable;
    struct ur_loop *loop;
    cr_assert_eq(ur_loop_new(&loop, &cfg), 0);
    if (submit)
        loop->submit_full = submit;
    cr_assert_eq(ur_loop_post(loop, flood, NULL), 0);
    for (int turns = 0; turns < 100000 && tally.total < POSTS; turns++)
        cr_assert_eq(ur_loop_run_once(loop, 100), 0);
    cr_assert_eq(tally.total, POSTS, "every post ran once (%u of %u)", tally.total, POSTS);
    for (unsigned i = 0; i < POSTS; i++)
        cr_assert_eq(tally.ran[i], 1, "post %u ran %u times", i, tally.ran[i]);
    cr_assert_eq(loop->spill_n, 0, "nothing left in the spill");
    if (spills)
        cr_assert_gt(loop->spill_cap, 0, "completions were reaped into the spill");
    ur_loop_free(loop);
}

Test(uring_loop, small_rings_msg_ring) { run_flood(0, NULL, false); }

Test(uring_loop, small_rings_eventfd_posts) { run_flood(UR_FEAT_MSG_RING, NULL, false); }

/* The kernel wants the CQ reaped first: ur_sqe spills it and the loop
 * dispatches every spilled completion exactly once. */
Test(uring_loop, busy_kernel_spills_msg_ring) { run_flood(0, submit_busy_while_cq, true); }

/* A ring that refuses everything with nothing to reap: a logged abort,
 * not an endless spin. */
Test(uring_loop, refusing_ring_aborts, .signal = SIGABRT, .timeout = 20)
{
    run_flood(0, submit_refuse, false);
}

/* --- the turn's clock (ur_loop_turn_ns) --------------------------------------------- */

struct turn_seen {
    uint64_t turn[2], now[2];
    int n;
};

static void note_turn(struct ur_loop *loop, void *arg)
{
    struct turn_seen *t = arg;
    t->turn[t->n] = ur_loop_turn_ns(loop);
    t->now[t->n] = ur_now_ns();
    t->n++;
}

/* Read once per turn, when its completions are reaped: a handler sees a
 * time between the start of the turn and its own reading of the clock,
 * and the next turn a later one. */
Test(uring_loop, turn_clock_is_read_once_per_turn)
{
    struct ur_loop *loop;
    cr_assert_eq(ur_loop_new(&loop, NULL), 0);
    uint64_t before = ur_now_ns();
    cr_assert_geq(ur_loop_turn_ns(loop), before, "before the first turn: the clock itself");
    struct turn_seen t = {0};
    uint64_t start[2];
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(ur_loop_post(loop, note_turn, &t), 0);
        start[i] = ur_now_ns();
        for (int turns = 0; turns < 100 && t.n == i; turns++)
            cr_assert_eq(ur_loop_run_once(loop, 100), 0);
        cr_assert_eq(t.n, i + 1);
        cr_assert_geq(t.turn[i], start[i], "turn %d: the time the turn reaped", i);
        cr_assert_leq(t.turn[i], t.now[i], "turn %d: not after the handler's own clock", i);
        cr_assert_eq(ur_loop_turn_ns(loop), t.turn[i], "turn %d: one reading per turn", i);
    }
    cr_assert_gt(t.turn[1], t.turn[0], "a later turn reads the clock again");
    ur_loop_free(loop);
}
