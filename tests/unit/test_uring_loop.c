/*
 * test_uring_loop.c: the loop's submission path when the rings are small.
 * A 4-entry SQ (16-entry CQ) gets thousands of submissions from inside
 * handlers, so ur_sqe must submit, and reap completions into the loop's
 * spill when the kernel wants them reaped, without ever spinning and
 * without losing or duplicating a completion. Also the loop's turn clock
 * and its cache of small-send copy buffers.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>
#include <unistd.h>

#include "uring/conn.h"
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

/* ---- the loop's cache of small-send copy buffers (send.c) ---- */

struct copy_run {
    unsigned sent_done;
    int closed;
};

static void copy_big_sent(struct ur_conn *c, void *arg, int err)
{
    struct copy_run *r = arg;
    (void)c;
    cr_assert_eq(err, 0);
    r->sent_done++;
}

static void copy_on_close(struct ur_conn *c, int err)
{
    struct copy_run *r = ur_conn_data(c);
    (void)err;
    r->closed = 1;
}

static const struct ur_conn_ops copy_ops = {.on_close = copy_on_close};

/* Reads what the loop sends until want bytes came, checking each one. */
static size_t copy_drain(struct ur_loop *loop, int fd, const uint8_t *want, size_t want_n)
{
    static uint8_t buf[1 << 16];
    size_t got = 0;
    for (int turns = 0; got < want_n && turns < 10000; turns++) {
        cr_assert_eq(ur_loop_run_once(loop, 1), 0);
        ssize_t r;
        while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
            cr_assert_leq(got + (size_t)r, want_n);
            cr_assert_eq(memcmp(buf, want + got, (size_t)r), 0, "bytes %zu..", got);
            got += (size_t)r;
        }
    }
    return got;
}

/* Small copies queued behind a large send each take a 4 KiB gathering
 * buffer: once sent, the buffers go back to the loop (bounded at 256,
 * 1 MiB) and the next copies reuse them; every byte arrives in order. */
Test(uring_loop, send_copy_buffers_are_reused_and_bounded)
{
    enum { BIG = 1 << 20, SMALL = 1000, ROUNDS = 3, PER_ROUND = 200 };
    struct ur_loop *loop;
    cr_assert_eq(ur_loop_new(&loop, NULL), 0);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct copy_run run = {0};
    struct ur_conn *c;
    cr_assert_eq(ur_conn_adopt(loop, sv[0], NULL, &copy_ops, &run, &c), 0);
    size_t total = (size_t)ROUNDS * (BIG + (size_t)PER_ROUND * SMALL);
    uint8_t *want = malloc(total), *big = malloc(BIG);
    cr_assert(want && big);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (uint8_t)(i * 7 + 3);
    size_t at = 0;
    for (int round = 0; round < ROUNDS; round++) {
        size_t start = at;
        cr_assert_eq(ur_conn_send(c, big, BIG, NULL, copy_big_sent, &run), 0);
        memcpy(want + at, big, BIG);
        at += BIG;
        for (int i = 0; i < PER_ROUND; i++) {
            uint8_t small[SMALL];
            memset(small, 'a' + (round * PER_ROUND + i) % 26, SMALL);
            cr_assert_eq(ur_conn_send_copy(c, small, SMALL), 0);
            memcpy(want + at, small, SMALL);
            at += SMALL;
        }
        cr_assert_eq(copy_drain(loop, sv[1], want + start, at - start), at - start);
        /* 200 copies of 1000 B gather four to a buffer: 50 buffers, all
         * back in the cache once sent (none was freed: 50 < 256). */
        cr_assert_eq(loop->copy_bufs.n, PER_ROUND * SMALL / 4000, "round %d: %u cached", round,
                     loop->copy_bufs.n);
    }
    cr_assert_eq(run.sent_done, ROUNDS);
    /* More at once than the cache keeps: the rest are freed (ASan checks
     * that the cache frees what it keeps when the loop goes). */
    size_t start = at = 0;
    cr_assert_eq(ur_conn_send(c, big, BIG, NULL, copy_big_sent, &run), 0);
    memcpy(want, big, BIG);
    at = BIG;
    for (int i = 0; i < 1200; i++) {
        uint8_t small[SMALL];
        memset(small, 'A' + i % 26, SMALL);
        cr_assert_eq(ur_conn_send_copy(c, small, SMALL), 0);
        memcpy(want + at, small, SMALL);
        at += SMALL;
    }
    cr_assert_eq(copy_drain(loop, sv[1], want + start, at - start), at - start);
    cr_assert_eq(loop->copy_bufs.n, 256u, "300 buffers sent, the cache keeps 256");
    ur_conn_close(c);
    for (int turns = 0; turns < 100 && !run.closed; turns++)
        cr_assert_eq(ur_loop_run_once(loop, 10), 0);
    cr_assert(run.closed);
    close(sv[1]);
    free(want);
    free(big);
    ur_loop_free(loop);
}
