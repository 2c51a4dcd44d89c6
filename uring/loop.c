/*
 * loop.c: ring setup, feature probing and the boring loop itself: submit,
 * wait, dispatch each CQE on its user_data tag, run timers and deferred
 * connection work, repeat.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uring/dns.h"
#include "uring/internal.h"

/*
 * Valgrind (3.19 at least) runs io_uring_enter holding its big lock, so a
 * loop blocked waiting for completions stops every other thread of the
 * process (start-up, signals, posts): msrpgw hangs under callgrind, which
 * perf/chunk_cost.sh needs. Under valgrind only, the loop therefore waits
 * in poll(2) on the ring fd (which valgrind treats as blocking) on a ring
 * set up without DEFER_TASKRUN (whose completions would not wake poll).
 */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef UNDER_VALGRIND
#define UNDER_VALGRIND() 0
#endif

static _Thread_local struct ur_loop *current_loop;

void ur_loop_config_default(struct ur_loop_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->sq_entries = 1024;
    cfg->buf_size = 64 * 1024;
    cfg->buf_count = 256;
    cfg->zc_threshold = UR_ZC_THRESHOLD_DEFAULT;
    cfg->conn_mem_ceiling = 4u << 20;
    cfg->conn_low_watermark = cfg->conn_mem_ceiling / 4;
}

static void fill_config(struct ur_loop_config *dst, const struct ur_loop_config *src)
{
    struct ur_loop_config def;

    ur_loop_config_default(&def);
    *dst = src ? *src : def;
    if (!dst->sq_entries)
        dst->sq_entries = def.sq_entries;
    if (!dst->buf_size)
        dst->buf_size = def.buf_size;
    if (!dst->buf_count)
        dst->buf_count = def.buf_count;
    if (!dst->zc_threshold)
        dst->zc_threshold = def.zc_threshold;
    if (!dst->conn_mem_ceiling)
        dst->conn_mem_ceiling = def.conn_mem_ceiling;
    if (!dst->conn_low_watermark || dst->conn_low_watermark > dst->conn_mem_ceiling)
        dst->conn_low_watermark = dst->conn_mem_ceiling / 4;
}

uint64_t ur_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ur_loop_turn_ns(const struct ur_loop *loop)
{
    return loop->turn_ns ? loop->turn_ns : ur_now_ns();
}

void ur_feature_lost(struct ur_loop *loop, unsigned feat, const char *key, int err)
{
    loop->features &= ~feat;
    ur_log_once(UR_LOG_WARN, key, "kernel refused %s (%s): falling back", key, strerror(-err));
}

static void dispatch(struct ur_loop *loop, const struct io_uring_cqe *cqe);

/* Moves the completions waiting in the CQ (and those the kernel holds in
 * its overflow list) into loop->spill; returns how many. */
static unsigned spill_cqes(struct ur_loop *loop)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;

    io_uring_get_events(&loop->ring);
    io_uring_for_each_cqe(&loop->ring, head, cqe) {
        if (loop->spill_n == loop->spill_cap) {
            unsigned cap = loop->spill_cap ? loop->spill_cap * 2 : 256;
            void *p = realloc(loop->spill, cap * sizeof(*loop->spill));
            if (!p)
                break; /* the CQ keeps the rest */
            loop->spill = p;
            loop->spill_cap = cap;
        }
        loop->spill[loop->spill_n++] = *cqe;
        n++;
    }
    io_uring_cq_advance(&loop->ring, n);
    return n;
}

struct io_uring_sqe *ur_sqe(struct ur_loop *loop)
{
    struct io_uring_sqe *sqe;
    unsigned refused = 0;
    int rc = 0;

    while (!(sqe = io_uring_get_sqe(&loop->ring))) {
        rc = loop->submit_full(&loop->ring);
        if (rc > 0 || rc == -EINTR)
            continue;
        if (spill_cqes(loop) > 0) {
            refused = 0;
            continue;
        }
        if (++refused >= UR_SQE_TRIES) {
            ur_log(UR_LOG_ERROR, "io_uring refuses every submission (%s): aborting",
                   strerror(rc < 0 ? -rc : EAGAIN));
            abort();
        }
    }
    return sqe;
}

/* Dispatches the completions ur_sqe spilled, oldest first; handlers may
 * spill more (appended, dispatched in this call too). */
static void dispatch_spill(struct ur_loop *loop)
{
    for (unsigned i = 0; i < loop->spill_n; i++) {
        struct io_uring_cqe c = loop->spill[i];
        dispatch(loop, &c);
    }
    loop->spill_n = 0;
}

/* Table of what each optional feature needs and what replaces it. */
static const struct {
    unsigned feat;
    int opcode; /* -1: not an opcode probe */
    const char *key;
    const char *fallback;
} feature_table[] = {
    {UR_FEAT_SEND_ZC, IORING_OP_SEND_ZC, "send-zc", "plain send for every segment"},
    {UR_FEAT_MSG_RING, IORING_OP_MSG_RING, "msg-ring", "eventfd + lock-free queue for posts"},
    {UR_FEAT_RECV_MULTISHOT, -1, "recv-multishot", "one recv per completion"},
    {UR_FEAT_ACCEPT_MULTISHOT, -1, "accept-multishot", "one accept per completion"},
    {UR_FEAT_BUF_RING, -1, "buf-ring", "per-connection heap receive buffers"},
    {UR_FEAT_SINGLE_ISSUER, -1, "single-issuer", "default ring setup flags"},
};

static int ring_init(struct ur_loop *loop)
{
    struct io_uring_params p;
    int rc;

    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = loop->cfg.sq_entries * 4;
    if (ur_has(loop, UR_FEAT_SINGLE_ISSUER)) {
        p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
                   IORING_SETUP_DEFER_TASKRUN;
        rc = io_uring_queue_init_params(loop->cfg.sq_entries, &loop->ring, &p);
        if (rc == 0)
            return 0;
        if (rc != -EINVAL)
            return rc;
        ur_feature_lost(loop, UR_FEAT_SINGLE_ISSUER, "single-issuer", rc);
        memset(&p, 0, sizeof(p));
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = loop->cfg.sq_entries * 4;
    }
    return io_uring_queue_init_params(loop->cfg.sq_entries, &loop->ring, &p);
}

static void probe_features(struct ur_loop *loop)
{
    struct io_uring_probe *probe = io_uring_get_probe_ring(&loop->ring);

    for (size_t i = 0; i < sizeof(feature_table) / sizeof(feature_table[0]); i++) {
        unsigned f = feature_table[i].feat;
        if (feature_table[i].opcode < 0 || !ur_has(loop, f))
            continue;
        if (!probe || !io_uring_opcode_supported(probe, feature_table[i].opcode)) {
            loop->features &= ~f;
            ur_log_once(UR_LOG_WARN, feature_table[i].key, "kernel lacks %s: %s",
                        feature_table[i].key, feature_table[i].fallback);
        }
    }
    if (probe)
        io_uring_free_probe(probe);
}

int ur_loop_new(struct ur_loop **out, const struct ur_loop_config *cfg)
{
    struct ur_loop *loop;
    int rc;

    *out = NULL;
    loop = aligned_alloc(16, (sizeof(*loop) + 15) & ~(size_t)15);
    if (!loop)
        return -ENOMEM;
    memset(loop, 0, sizeof(*loop));
    fill_config(&loop->cfg, cfg);
    if (loop->cfg.buf_count & (loop->cfg.buf_count - 1) || loop->cfg.buf_count > 32768) {
        free(loop);
        return -EINVAL;
    }
    loop->features = UR_FEAT_SEND_ZC | UR_FEAT_RECV_MULTISHOT | UR_FEAT_BUF_RING |
                     UR_FEAT_MSG_RING | UR_FEAT_ACCEPT_MULTISHOT | UR_FEAT_SINGLE_ISSUER;
    for (size_t i = 0; i < sizeof(feature_table) / sizeof(feature_table[0]); i++)
        if (loop->cfg.disable & feature_table[i].feat)
            ur_log_once(UR_LOG_INFO, feature_table[i].key, "%s disabled by config: %s",
                        feature_table[i].key, feature_table[i].fallback);
    loop->features &= ~loop->cfg.disable;
    loop->efd = -1;
    if (UNDER_VALGRIND()) {
        loop->poll_wait = 1;
        loop->features &= ~UR_FEAT_SINGLE_ISSUER;
    }

    loop->submit_full = io_uring_submit;
    rc = ring_init(loop);
    if (rc < 0) {
        free(loop);
        return rc;
    }
    probe_features(loop);
    rc = ur_bufring_init(loop);
    if (rc == 0)
        rc = ur_post_init(loop);
    if (rc < 0) {
        ur_bufring_free(loop);
        io_uring_queue_exit(&loop->ring);
        free(loop);
        return rc;
    }
    current_loop = loop;
    *out = loop;
    return 0;
}

void ur_loop_free(struct ur_loop *loop)
{
    if (!loop)
        return;
    ur_listeners_free(loop);
    ur_conns_free(loop);
    ur_dns_free(loop);
    ur_timers_free(loop);
    /* Exiting the ring cancels and reaps every op still in the kernel, so
     * the memory below is no longer referenced after it. */
    io_uring_queue_exit(&loop->ring);
    free(loop->spill);
    ur_post_free(loop);
    ur_bufring_free(loop);
    ur_pool_destroy(&loop->conn_pool);
    ur_pool_destroy(&loop->seg_pool);
    ur_tls_loop_free(loop);
    ur_send_loop_free(loop);
    ur_pool_destroy(&loop->stash_pool);
    ur_pool_destroy(&loop->fop_pool);
    if (current_loop == loop)
        current_loop = NULL;
    free(loop);
}

static void dispatch(struct ur_loop *loop, const struct io_uring_cqe *cqe)
{
    enum ur_tag tag = ur_ud_tag(cqe->user_data);
    void *ptr = ur_ud_ptr(cqe->user_data);

    loop->stats.cqes++;
    switch (tag) {
    case UR_TAG_NONE:
        break;
    case UR_TAG_TIMER:
        loop->timeout_armed = 0;
        break;
    case UR_TAG_MSG:
    case UR_TAG_MSG_SENT:
    case UR_TAG_EVENTFD:
        ur_post_cqe(loop, tag, ptr, cqe->res);
        break;
    case UR_TAG_ACCEPT:
    case UR_TAG_LISTENER_OP:
        ur_listener_cqe(loop, tag, ptr, cqe);
        break;
    case UR_TAG_RECV:
    case UR_TAG_SEND:
    case UR_TAG_SEND_ZC:
    case UR_TAG_CONNECT:
    case UR_TAG_CONN_OP:
        ur_conn_cqe(loop, tag, ptr, cqe);
        break;
    case UR_TAG_FILE:
        ur_file_cqe(loop, ptr, cqe->res);
        break;
    case UR_TAG_DNS:
        ur_dns_cqe(loop, ptr, cqe->res);
        break;
    }
}

#define CQE_BATCH 64

/* The valgrind wait (see the top of this file): submit, sleep in poll(2)
 * until a completion is posted or timeout_ms (-1: none) passes, reap. */
static int poll_wait(struct ur_loop *loop, int timeout_ms)
{
    int rc = io_uring_submit(&loop->ring);
    if (rc < 0)
        return rc;
    if (io_uring_cq_ready(&loop->ring) == 0) {
        struct pollfd pfd = {.fd = loop->ring.ring_fd, .events = POLLIN};
        if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
            return -errno;
    }
    return io_uring_get_events(&loop->ring);
}

int ur_loop_run_once(struct ur_loop *loop, int timeout_ms)
{
    struct io_uring_cqe *batch[CQE_BATCH];
    struct io_uring_cqe copy[CQE_BATCH];
    unsigned n;
    int rc;

    ur_timers_arm_sqe(loop);
    if (loop->deferred || loop->stop || loop->spill_n || timeout_ms == 0) {
        rc = io_uring_submit_and_get_events(&loop->ring);
    } else if (loop->poll_wait) {
        rc = poll_wait(loop, timeout_ms);
    } else if (timeout_ms > 0) {
        struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
                                       .tv_nsec = (long long)(timeout_ms % 1000) * 1000000};
        struct io_uring_cqe *cqe;
        rc = io_uring_submit_and_wait_timeout(&loop->ring, &cqe, 1, &ts, NULL);
        if (rc == -ETIME)
            rc = 0;
    } else {
        rc = io_uring_submit_and_wait(&loop->ring, 1);
    }
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
        return rc;

    loop->turn_ns = ur_now_ns();
    dispatch_spill(loop);
    /* Copy a batch out and release the CQ slots before dispatching, so the
     * handlers may submit (and the kernel may post) freely. */
    while ((n = io_uring_peek_batch_cqe(&loop->ring, batch, CQE_BATCH)) > 0) {
        for (unsigned i = 0; i < n; i++)
            copy[i] = *batch[i];
        io_uring_cq_advance(&loop->ring, n);
        for (unsigned i = 0; i < n; i++)
            dispatch(loop, &copy[i]);
        dispatch_spill(loop); /* reaped by those handlers: newer than copy[] */
    }
    ur_timers_run(loop);
    ur_conns_deferred(loop);
    return 0;
}

int ur_loop_run(struct ur_loop *loop)
{
    int rc = 0;

    loop->stop = 0;
    while (!loop->stop && rc == 0)
        rc = ur_loop_run_once(loop, -1);
    /* Flush SQEs queued by the last callbacks (posts, closes). */
    io_uring_submit(&loop->ring);
    return rc;
}

void ur_loop_stop(struct ur_loop *loop) { loop->stop = 1; }

void ur_loop_stop_cb(struct ur_loop *loop, void *arg)
{
    (void)arg;
    ur_loop_stop(loop);
}

unsigned ur_loop_features(const struct ur_loop *loop) { return loop->features; }
const struct ur_loop_config *ur_loop_config(const struct ur_loop *loop) { return &loop->cfg; }
struct ur_loop *ur_loop_current(void) { return current_loop; }
void ur_loop_set_data(struct ur_loop *loop, void *data) { loop->data = data; }
void *ur_loop_data(const struct ur_loop *loop) { return loop->data; }

void ur_loop_get_stats(const struct ur_loop *loop, struct ur_loop_stats *st)
{
    *st = loop->stats;
    st->timers = loop->timers_n;
}
