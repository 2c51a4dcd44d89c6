/*
 * timer.c: per-loop min-heap of caller-embedded timers, driven by a single
 * absolute IORING_OP_TIMEOUT armed at the earliest deadline. Arming an
 * earlier timer updates that timeout in place (IORING_TIMEOUT_UPDATE) rather
 * than adding SQEs, so the ring carries one timeout whatever the count.
 */
#include <errno.h>
#include <stdlib.h>

#include "uring/internal.h"

#define NOT_ARMED UINT32_MAX

static int before(const struct ur_timer *a, const struct ur_timer *b)
{
    if (a->deadline_ns != b->deadline_ns)
        return a->deadline_ns < b->deadline_ns;
    return a->seq < b->seq;
}

static void place(struct ur_loop *loop, uint32_t i, struct ur_timer *t)
{
    loop->heap[i] = t;
    t->heap_idx = i;
}

static void sift_up(struct ur_loop *loop, uint32_t i)
{
    struct ur_timer *t = loop->heap[i];

    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!before(t, loop->heap[parent]))
            break;
        place(loop, i, loop->heap[parent]);
        i = parent;
    }
    place(loop, i, t);
}

static void sift_down(struct ur_loop *loop, uint32_t i)
{
    struct ur_timer *t = loop->heap[i];

    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= loop->heap_n)
            break;
        if (c + 1 < loop->heap_n && before(loop->heap[c + 1], loop->heap[c]))
            c++;
        if (!before(loop->heap[c], t))
            break;
        place(loop, i, loop->heap[c]);
        i = c;
    }
    place(loop, i, t);
}

static void heap_remove(struct ur_loop *loop, struct ur_timer *t)
{
    uint32_t i = t->heap_idx;
    struct ur_timer *last = loop->heap[--loop->heap_n];

    t->heap_idx = NOT_ARMED;
    if (i == loop->heap_n)
        return;
    place(loop, i, last);
    sift_down(loop, i);
    sift_up(loop, last->heap_idx);
}

void ur_timer_init(struct ur_timer *t, ur_timer_fn fn, void *arg)
{
    t->deadline_ns = 0;
    t->period_ns = 0;
    t->seq = 0;
    t->heap_idx = NOT_ARMED;
    t->fn = fn;
    t->arg = arg;
}

int ur_timer_armed(const struct ur_timer *t) { return t->heap_idx != NOT_ARMED; }

void ur_timer_cancel(struct ur_loop *loop, struct ur_timer *t)
{
    if (t->heap_idx != NOT_ARMED)
        heap_remove(loop, t);
}

int ur_timer_arm_ns(struct ur_loop *loop, struct ur_timer *t, uint64_t delay_ns,
                    uint64_t period_ns)
{
    ur_timer_cancel(loop, t);
    if (loop->heap_n == loop->heap_cap) {
        uint32_t cap = loop->heap_cap ? loop->heap_cap * 2 : 256;
        struct ur_timer **h = realloc(loop->heap, cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        loop->heap = h;
        loop->heap_cap = cap;
    }
    t->deadline_ns = ur_now_ns() + delay_ns;
    t->period_ns = period_ns;
    t->seq = loop->timer_seq++;
    loop->heap[loop->heap_n] = t;
    t->heap_idx = loop->heap_n++;
    sift_up(loop, t->heap_idx);
    return 0;
}

int ur_timer_arm(struct ur_loop *loop, struct ur_timer *t, uint64_t delay_ms, uint64_t period_ms)
{
    return ur_timer_arm_ns(loop, t, delay_ms * 1000000u, period_ms * 1000000u);
}

void ur_timers_run(struct ur_loop *loop)
{
    uint64_t now;

    if (!loop->heap_n)
        return;
    now = ur_now_ns();
    /* A repeating timer re-armed below lands after `now`, so this ends. */
    while (loop->heap_n && loop->heap[0]->deadline_ns <= now) {
        struct ur_timer *t = loop->heap[0];
        heap_remove(loop, t);
        if (t->period_ns) {
            t->deadline_ns += t->period_ns;
            if (t->deadline_ns <= now)
                t->deadline_ns = now + t->period_ns; /* don't replay missed ticks */
            t->seq = loop->timer_seq++;
            loop->heap[loop->heap_n] = t;
            t->heap_idx = loop->heap_n++;
            sift_up(loop, t->heap_idx);
        }
        t->fn(t, t->arg);
    }
}

static void set_ts(struct __kernel_timespec *ts, uint64_t ns)
{
    ts->tv_sec = (long long)(ns / 1000000000u);
    ts->tv_nsec = (long long)(ns % 1000000000u);
}

void ur_timers_arm_sqe(struct ur_loop *loop)
{
    struct io_uring_sqe *sqe;
    uint64_t next;

    if (!loop->heap_n)
        return;
    next = loop->heap[0]->deadline_ns;
    if (loop->timeout_armed && loop->armed_deadline <= next)
        return; /* fires early at worst; ur_timers_run re-checks */
    sqe = ur_sqe(loop);
    if (loop->timeout_armed) {
        set_ts(&loop->ts_upd, next);
        io_uring_prep_timeout_update(sqe, &loop->ts_upd, ur_ud(loop, UR_TAG_TIMER),
                                     IORING_TIMEOUT_ABS);
        io_uring_sqe_set_data64(sqe, ur_ud(NULL, UR_TAG_NONE));
    } else {
        set_ts(&loop->ts_arm, next);
        io_uring_prep_timeout(sqe, &loop->ts_arm, 0, IORING_TIMEOUT_ABS);
        io_uring_sqe_set_data64(sqe, ur_ud(loop, UR_TAG_TIMER));
        loop->timeout_armed = 1;
    }
    loop->armed_deadline = next;
}

void ur_timers_free(struct ur_loop *loop)
{
    for (uint32_t i = 0; i < loop->heap_n; i++)
        loop->heap[i]->heap_idx = NOT_ARMED;
    free(loop->heap);
    loop->heap = NULL;
    loop->heap_n = loop->heap_cap = 0;
}
