/*
 * timer.h: one-shot and repeating timers. The caller embeds a struct
 * ur_timer in its own object (a chunk transaction, a bind attempt), so
 * arming and cancelling never allocate and a handle never dangles. A loop
 * keeps its armed timers in a min-heap and keeps exactly one io_uring
 * IORING_OP_TIMEOUT armed at the earliest deadline (absolute,
 * CLOCK_MONOTONIC), updated in place when an earlier timer arrives: tens of
 * thousands of pending timers cost one SQE. The heap is a pairing heap
 * linked through the timers themselves: arming never allocates and never
 * fails; O(1) arm, O(log n) amortised cancel and expiry.
 *
 * Timers with equal deadlines fire in the order they were armed. A callback
 * may re-arm or cancel any timer, including its own.
 */
#ifndef UR_TIMER_H
#define UR_TIMER_H

#include <stdint.h>

struct ur_loop;
struct ur_timer;

typedef void (*ur_timer_fn)(struct ur_timer *t, void *arg);

struct ur_timer {
    /* private: managed by the loop */
    uint64_t deadline_ns;
    uint64_t period_ns;   /* 0 = one-shot */
    uint64_t seq;         /* FIFO tie-break */
    /* Pairing heap links: first child, next sibling, and the previous
     * sibling or (first child) the parent; prev == NULL when not armed,
     * prev == the timer itself at the root. */
    struct ur_timer *child, *next, *prev;
    ur_timer_fn fn;
    void *arg;
};

/* Sets callback and argument; the timer starts disarmed. */
void ur_timer_init(struct ur_timer *t, ur_timer_fn fn, void *arg);

/*
 * Arms (or re-arms) t to fire after delay_ms, then every period_ms if
 * period_ms > 0. Cannot fail.
 */
void ur_timer_arm(struct ur_loop *loop, struct ur_timer *t, uint64_t delay_ms,
                  uint64_t period_ms);

/* Same with nanosecond resolution. */
void ur_timer_arm_ns(struct ur_loop *loop, struct ur_timer *t, uint64_t delay_ns,
                     uint64_t period_ns);

/* Disarms t; no-op when it is not armed. The callback will not run. */
void ur_timer_cancel(struct ur_loop *loop, struct ur_timer *t);

/* Nonzero while armed (a one-shot is disarmed before its callback runs). */
int ur_timer_armed(const struct ur_timer *t);

#endif
