/*
 * timer.c: per-loop pairing heap of caller-embedded timers (the links live
 * in struct ur_timer, so nothing is allocated), driven by a single
 * absolute IORING_OP_TIMEOUT armed at the earliest deadline. Arming an
 * earlier timer updates that timeout in place (IORING_TIMEOUT_UPDATE) rather
 * than adding SQEs, so the ring carries one timeout whatever the count.
 */
#include <stddef.h>

#include "uring/internal.h"

static int before(const struct ur_timer *a, const struct ur_timer *b)
{
    if (a->deadline_ns != b->deadline_ns)
        return a->deadline_ns < b->deadline_ns;
    return a->seq < b->seq;
}

/* Links two heaps (roots a and b, either may be NULL); returns the root. */
static struct ur_timer *meld(struct ur_timer *a, struct ur_timer *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (before(b, a)) {
        struct ur_timer *t = a;
        a = b;
        b = t;
    }
    /* b becomes a's first child. */
    b->next = a->child;
    if (a->child)
        a->child->prev = b;
    b->prev = a;
    a->child = b;
    a->next = NULL;
    return a;
}

/* The standard two-pass merge of a sibling list (first = its head), without
 * recursion: pairs left to right, each pair pushed on a stack threaded
 * through `next`, then the stack melded right to left. */
static struct ur_timer *merge_pairs(struct ur_timer *first)
{
    struct ur_timer *stack = NULL;

    while (first) {
        struct ur_timer *a = first, *b = a->next;
        first = b ? b->next : NULL;
        a->next = NULL;
        if (b)
            b->next = NULL;
        struct ur_timer *m = meld(a, b);
        m->next = stack;
        stack = m;
    }
    struct ur_timer *root = NULL;
    while (stack) {
        struct ur_timer *m = stack;
        stack = m->next;
        m->next = NULL;
        root = meld(root, m);
    }
    if (root)
        root->prev = root;
    return root;
}

static void heap_insert(struct ur_loop *loop, struct ur_timer *t)
{
    t->child = t->next = NULL;
    t->prev = t;
    loop->troot = meld(loop->troot, t);
    loop->troot->prev = loop->troot;
    loop->timers_n++;
}

static void heap_remove(struct ur_loop *loop, struct ur_timer *t)
{
    struct ur_timer *sub = merge_pairs(t->child);

    if (t == loop->troot) {
        loop->troot = sub;
    } else {
        /* Unlink t from its parent's child list. */
        if (t->prev->child == t)
            t->prev->child = t->next;
        else
            t->prev->next = t->next;
        if (t->next)
            t->next->prev = t->prev;
        loop->troot = meld(loop->troot, sub);
        loop->troot->prev = loop->troot;
    }
    t->child = t->next = t->prev = NULL;
    loop->timers_n--;
}

void ur_timer_init(struct ur_timer *t, ur_timer_fn fn, void *arg)
{
    t->deadline_ns = 0;
    t->period_ns = 0;
    t->seq = 0;
    t->child = t->next = t->prev = NULL;
    t->fn = fn;
    t->arg = arg;
}

int ur_timer_armed(const struct ur_timer *t) { return t->prev != NULL; }

void ur_timer_cancel(struct ur_loop *loop, struct ur_timer *t)
{
    if (t->prev)
        heap_remove(loop, t);
}

void ur_timer_arm_ns(struct ur_loop *loop, struct ur_timer *t, uint64_t delay_ns,
                     uint64_t period_ns)
{
    ur_timer_cancel(loop, t);
    t->deadline_ns = ur_now_ns() + delay_ns;
    t->period_ns = period_ns;
    t->seq = loop->timer_seq++;
    heap_insert(loop, t);
}

void ur_timer_arm(struct ur_loop *loop, struct ur_timer *t, uint64_t delay_ms, uint64_t period_ms)
{
    ur_timer_arm_ns(loop, t, delay_ms * 1000000u, period_ms * 1000000u);
}

void ur_timers_run(struct ur_loop *loop)
{
    uint64_t now;

    if (!loop->troot)
        return;
    now = ur_now_ns();
    /* A repeating timer re-armed below lands after `now`, so this ends. */
    while (loop->troot && loop->troot->deadline_ns <= now) {
        struct ur_timer *t = loop->troot;
        heap_remove(loop, t);
        if (t->period_ns) {
            t->deadline_ns += t->period_ns;
            if (t->deadline_ns <= now)
                t->deadline_ns = now + t->period_ns; /* don't replay missed ticks */
            t->seq = loop->timer_seq++;
            heap_insert(loop, t);
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

    if (!loop->troot)
        return;
    next = loop->troot->deadline_ns;
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
    /* Disarm every timer (their owners may still look at them). */
    while (loop->troot)
        heap_remove(loop, loop->troot);
}
