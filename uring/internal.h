/*
 * internal.h: private to uring/. The loop and connection structs, the
 * user_data tag scheme, and the helpers the .c files share. Nothing outside
 * uring/ includes this.
 *
 * user_data = object pointer | tag: every object that owns an in-flight op
 * is 16-byte aligned (pools and malloc guarantee it), which leaves the low 4
 * bits for the tag the CQE dispatcher switches on.
 */
#ifndef UR_INTERNAL_H
#define UR_INTERNAL_H

#include <liburing.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "uring/buf.h"
#include "uring/conn.h"
#include "uring/log.h"
#include "uring/loop.h"
#include "uring/pool.h"
#include "uring/timer.h"

enum ur_tag {
    UR_TAG_NONE = 0,        /* result ignored (timeout update, ...) */
    UR_TAG_TIMER,           /* the loop's one timeout; ptr = loop */
    UR_TAG_MSG,             /* message arrived via MSG_RING; ptr = ur_msg */
    UR_TAG_MSG_SENT,        /* sender side of MSG_RING; ptr = ur_msg */
    UR_TAG_EVENTFD,         /* wakeup read; ptr = loop */
    UR_TAG_ACCEPT,          /* ptr = listener */
    UR_TAG_LISTENER_OP,     /* cancel op of a listener; ptr = listener */
    UR_TAG_RECV,            /* ptr = conn */
    UR_TAG_SEND,            /* plain sendmsg; ptr = conn */
    UR_TAG_SEND_ZC,         /* ptr = seg */
    UR_TAG_CONNECT,         /* ptr = conn */
    UR_TAG_CONN_OP,         /* cancel / link timeout of a conn; ptr = conn */
    UR_TAG_FILE,            /* ptr = file op */
    UR_TAG_DNS,             /* poll of a resolver socket; ptr = dns_sock */
};
#define UR_TAG_MASK 15u

static inline uint64_t ur_ud(const void *p, enum ur_tag tag)
{
    return (uint64_t)(uintptr_t)p | (uint64_t)tag;
}
static inline enum ur_tag ur_ud_tag(uint64_t ud) { return (enum ur_tag)(ud & UR_TAG_MASK); }
static inline void *ur_ud_ptr(uint64_t ud) { return (void *)(uintptr_t)(ud & ~(uint64_t)UR_TAG_MASK); }

/* Receive buffer: ring-backed (bid valid) or heap-backed (TLS plaintext,
 * recv without buffer ring). */
struct ur_buf {
    uint8_t *data;
    uint32_t cap;
    uint32_t refs;
    struct ur_loop *loop;
    uint16_t bid;
    uint8_t heap;
};

struct ur_msg {
    ur_post_fn fn;
    void *arg;
    struct ur_loop *target;
    struct ur_msg *next;
} __attribute__((aligned(16)));

struct ur_listener;
struct ur_conn;

struct ur_loop {
    struct io_uring ring;
    struct ur_loop_config cfg;
    unsigned features;
    int stop;
    void *data;

    /* provided buffer ring (UR_FEAT_BUF_RING) */
    struct io_uring_buf_ring *br;
    size_t br_bytes;
    uint8_t *buf_mem;
    struct ur_buf *bufs;
    uint16_t bgid;
    int kick_starved;           /* a buffer came back: re-arm starved recvs */

    /* conns: all, deferred work, starved of buffers */
    struct ur_conn *conns;
    struct ur_conn *deferred;
    struct ur_conn *starved;
    struct ur_listener *listeners;

    /* timers */
    struct ur_timer *troot;     /* pairing heap of armed timers (timer.c) */
    uint32_t timers_n;
    uint64_t timer_seq;
    int timeout_armed;
    uint64_t armed_deadline;
    struct __kernel_timespec ts_arm, ts_upd;

    /* cross-core messages */
    int efd;
    uint64_t efd_val;
    _Atomic(struct ur_msg *) mq;

    struct ur_pool conn_pool, seg_pool, stash_pool, fop_pool;
    /* TLS records sealed by msrpgw (tls.c): buffers of one size, kept for
     * reuse up to a bound instead of a malloc and free per 16 KiB record. */
    struct ur_bufcache tls_bufs;
    /* Gathering copies of small sends (send.c): one size, kept for reuse
     * up to a bound -- jemalloc's thread cache holds only a few 4 KiB
     * regions, so bursts of them took its slow path (about 800
     * instructions per malloc, measured with callgrind). */
    struct ur_bufcache copy_bufs;
    struct ur_loop_stats stats;
    struct ur_dns *dns;         /* resolver, created at the first look-up */
    /* Completions reaped by ur_sqe to make room for a submission, in CQ
     * order; the loop dispatches them before any completion posted later. */
    struct io_uring_cqe *spill;
    unsigned spill_n, spill_cap;
    /* ur_sqe's submission when the SQ is full: io_uring_submit (tests put
     * a refusing one here). */
    int (*submit_full)(struct io_uring *ring);
    /* Under valgrind: wait in poll(2), never in io_uring_enter (loop.c). */
    int poll_wait;
    /* When this turn's completions were reaped (ur_loop_turn_ns). */
    uint64_t turn_ns;
};

/* An SQE, submitting first if the SQ is full. When the kernel refuses the
 * submission until completions are reaped (-EBUSY/-EAGAIN: CQ overflow), the
 * CQ is moved into loop->spill, never dispatched from here (callers may be
 * inside a handler). Never NULL: a ring that refuses every submission for
 * UR_SQE_TRIES rounds without anything to reap is broken, and the process
 * aborts with a log line rather than spinning. */
#define UR_SQE_TRIES 1000
struct io_uring_sqe *ur_sqe(struct ur_loop *loop);

/* Feature enabled on this loop. */
static inline int ur_has(const struct ur_loop *loop, unsigned feat) { return (loop->features & feat) != 0; }

/* Turns a feature off at run time after the kernel refused it. */
void ur_feature_lost(struct ur_loop *loop, unsigned feat, const char *key, int err);

/* bufring.c */
int ur_bufring_init(struct ur_loop *loop);
void ur_bufring_free(struct ur_loop *loop);
struct ur_buf *ur_bufring_take(struct ur_loop *loop, uint16_t bid); /* refs = 1 */
/* tls.c: frees the loop's cached TLS record buffers (ur_loop_free). */
void ur_tls_loop_free(struct ur_loop *loop);
/* send.c: frees the loop's cached copy buffers (ur_loop_free). */
void ur_send_loop_free(struct ur_loop *loop);
struct ur_buf *ur_buf_heap_new(struct ur_loop *loop, size_t cap);    /* refs = 1 */

/* timer.c */
void ur_timers_run(struct ur_loop *loop);
void ur_timers_arm_sqe(struct ur_loop *loop);
void ur_timers_free(struct ur_loop *loop);

/* post.c */
int ur_post_init(struct ur_loop *loop);
void ur_post_free(struct ur_loop *loop);
void ur_post_cqe(struct ur_loop *loop, enum ur_tag tag, void *ptr, int res);

/* listener.c */
void ur_listener_cqe(struct ur_loop *loop, enum ur_tag tag, struct ur_listener *l,
                     const struct io_uring_cqe *cqe);
void ur_listeners_free(struct ur_loop *loop);

/* conn.c / send.c / tls.c */
void ur_conn_cqe(struct ur_loop *loop, enum ur_tag tag, void *ptr, const struct io_uring_cqe *cqe);
void ur_conns_deferred(struct ur_loop *loop);
void ur_conns_free(struct ur_loop *loop);

/* file.c */
void ur_file_cqe(struct ur_loop *loop, void *ptr, int res);

/* dns.c */
struct ur_dns;
void ur_dns_cqe(struct ur_loop *loop, void *ptr, int res);

#endif
