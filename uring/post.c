/*
 * post.c: cross-core messages. From a loop thread a post is one
 * IORING_OP_MSG_RING SQE on the sender's ring that drops a CQE carrying the
 * message pointer into the target's ring: no lock, no syscall beyond the
 * sender's next submit. From other threads, when MSG_RING is missing, or
 * when the kernel refuses a message (target CQ overflow), the message goes
 * onto the target's lock-free LIFO and an eventfd write wakes the target,
 * which keeps one read on that eventfd armed.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "uring/internal.h"

static void arm_eventfd(struct ur_loop *loop)
{
    struct io_uring_sqe *sqe = ur_sqe(loop);

    io_uring_prep_read(sqe, loop->efd, &loop->efd_val, sizeof(loop->efd_val), 0);
    io_uring_sqe_set_data64(sqe, ur_ud(loop, UR_TAG_EVENTFD));
}

int ur_post_init(struct ur_loop *loop)
{
    loop->efd = eventfd(0, EFD_CLOEXEC);
    if (loop->efd < 0)
        return -errno;
    atomic_init(&loop->mq, NULL);
    arm_eventfd(loop);
    return 0;
}

/* Runs the queued messages in the order they were pushed. */
static void drain_queue(struct ur_loop *loop)
{
    struct ur_msg *m = atomic_exchange_explicit(&loop->mq, NULL, memory_order_acquire);
    struct ur_msg *rev = NULL;

    while (m) {
        struct ur_msg *next = m->next;
        m->next = rev;
        rev = m;
        m = next;
    }
    while (rev) {
        struct ur_msg *next = rev->next;
        loop->stats.posts_in++;
        rev->fn(loop, rev->arg);
        free(rev);
        rev = next;
    }
}

void ur_post_free(struct ur_loop *loop)
{
    struct ur_msg *m = atomic_exchange(&loop->mq, NULL);

    while (m) {
        struct ur_msg *next = m->next;
        free(m);
        m = next;
    }
    if (loop->efd >= 0)
        close(loop->efd);
    loop->efd = -1;
}

static void push_queue(struct ur_loop *target, struct ur_msg *m)
{
    uint64_t one = 1;
    struct ur_msg *head = atomic_load_explicit(&target->mq, memory_order_relaxed);

    do {
        m->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&target->mq, &head, m, memory_order_release,
                                                    memory_order_relaxed));
    /* A failed write can only mean the counter is saturated, i.e. a wakeup
     * is already pending. */
    if (write(target->efd, &one, sizeof(one)) < 0) {
    }
}

int ur_loop_post(struct ur_loop *target, ur_post_fn fn, void *arg)
{
    struct ur_loop *self = ur_loop_current();
    struct ur_msg *m = aligned_alloc(16, sizeof(*m));

    if (!m)
        return -ENOMEM;
    m->fn = fn;
    m->arg = arg;
    m->target = target;
    m->next = NULL;
    if (self && ur_has(self, UR_FEAT_MSG_RING) && ur_has(target, UR_FEAT_MSG_RING)) {
        struct io_uring_sqe *sqe = ur_sqe(self);
        io_uring_prep_msg_ring(sqe, target->ring.ring_fd, 0, ur_ud(m, UR_TAG_MSG), 0);
        io_uring_sqe_set_data64(sqe, ur_ud(m, UR_TAG_MSG_SENT));
        return 0;
    }
    push_queue(target, m);
    return 0;
}

void ur_post_cqe(struct ur_loop *loop, enum ur_tag tag, void *ptr, int res)
{
    struct ur_msg *m = ptr;

    switch (tag) {
    case UR_TAG_MSG:
        loop->stats.posts_in++;
        m->fn(loop, m->arg);
        free(m);
        break;
    case UR_TAG_MSG_SENT:
        /* On success the target owns (and may already have freed) m. */
        if (res < 0) {
            if (res == -EINVAL || res == -EOPNOTSUPP)
                ur_feature_lost(loop, UR_FEAT_MSG_RING, "msg-ring", res);
            push_queue(m->target, m);
        }
        break;
    case UR_TAG_EVENTFD:
        drain_queue(loop);
        if (res >= 0 || res == -EINTR || res == -EAGAIN)
            arm_eventfd(loop);
        else
            ur_log(UR_LOG_ERROR, "eventfd read failed: %d; posts from other threads stop", res);
        break;
    default:
        break;
    }
}
