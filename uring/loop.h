/*
 * loop.h: the per-core event loop. One struct ur_loop per thread, owning one
 * io_uring, one provided-buffer ring, its timers, listeners and
 * connections. Nothing in a loop is locked: every function in uring/ that
 * takes a loop (or an object owned by a loop) must be called on that loop's
 * thread, except ur_loop_post(), which is the one way to reach a loop from
 * another thread.
 *
 * The loop is deliberately boring: submit pending SQEs, wait for at least
 * one CQE (or the nearest timer), dispatch each CQE on the tag kept in the
 * low bits of its user_data, run deferred work (closing connections whose
 * last op completed, re-arming receives starved of buffers, open
 * notifications), repeat until ur_loop_stop().
 *
 * Kernel features are probed at ur_loop_new(); each one that is missing (or
 * disabled through ur_loop_config.disable) is logged once and replaced by a
 * fallback, never silently.
 */
#ifndef UR_LOOP_H
#define UR_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "uring/ws.h"

struct ur_loop;

/* Optional kernel features; used both to report what is in use and to force
 * a fallback (ur_loop_config.disable) so tests cover both paths. */
enum ur_feature {
    UR_FEAT_SEND_ZC = 1u << 0,        /* IORING_OP_SEND_ZC; else plain send */
    UR_FEAT_RECV_MULTISHOT = 1u << 1, /* multishot recv; else one recv per CQE */
    UR_FEAT_BUF_RING = 1u << 2,       /* provided buffer ring; else per-conn heap buffers */
    UR_FEAT_MSG_RING = 1u << 3,       /* IORING_OP_MSG_RING; else eventfd + lock-free queue */
    UR_FEAT_ACCEPT_MULTISHOT = 1u << 4, /* multishot accept; else re-armed accept */
    UR_FEAT_SINGLE_ISSUER = 1u << 5,  /* SINGLE_ISSUER|COOP_TASKRUN|DEFER_TASKRUN setup */
};

struct ur_loop_config {
    unsigned sq_entries;      /* SQ size; default 1024 (CQ is 4x) */
    unsigned buf_size;        /* receive buffer size; default 65536 */
    unsigned buf_count;       /* receive buffers per loop, power of two; default 256 */
    size_t zc_threshold;      /* send segments >= this many bytes use SEND_ZC;
                                 0 = UR_ZC_THRESHOLD_DEFAULT; SIZE_MAX = never */
    size_t conn_mem_ceiling;  /* per-conn queued-unsent bytes that pause linked
                                 producers; default 4 MiB */
    size_t conn_low_watermark;/* pending bytes under which on_drain fires and
                                 producers resume; default ceiling / 4 */
    size_t conn_hard_limit;   /* queued-unsent bytes a send may not push a conn
                                 past: the conn is closed instead (on_close
                                 err -ENOBUFS); 0 = no limit (the default) */
    unsigned disable;         /* enum ur_feature bits to force off */
};

/*
 * Measured with perf/bench_uring_send on loopback (this 2-core VM, 512 MiB
 * per run, 3 runs): SEND_ZC / plain goodput = 0.22-0.31 at 4 KiB,
 * 0.48-1.00 at 64 KiB, 0.50-1.34 at 1 MiB. On loopback the kernel copies
 * zero-copy pages at the receiver anyway, so SEND_ZC only adds its
 * notification CQE and page pinning: it never pays here, and the default
 * is "never". On a real NIC set zc_threshold from the same bench run
 * against a remote receiver (typically 64-256 KiB pays there).
 */
#define UR_ZC_THRESHOLD_DEFAULT SIZE_MAX

/* Fills *cfg with the defaults above. */
void ur_loop_config_default(struct ur_loop_config *cfg);

/*
 * Creates a loop owned by the calling thread (with SINGLE_ISSUER the ring is
 * bound to its creator: create it on the thread that will run it).
 * cfg NULL = defaults. Returns 0 or -errno.
 */
int ur_loop_new(struct ur_loop **out, const struct ur_loop_config *cfg);

/*
 * Frees the loop. Connections and listeners still open are closed without
 * callbacks; call it after ur_loop_run() returned, on the owning thread.
 */
void ur_loop_free(struct ur_loop *loop);

/* Runs until ur_loop_stop(). Returns 0, or -errno if the ring failed. */
int ur_loop_run(struct ur_loop *loop);

/* Runs one iteration: submit, wait up to timeout_ms (-1 = until a CQE or
 * timer, 0 = don't wait), dispatch. For tests and embedding. 0 or -errno. */
int ur_loop_run_once(struct ur_loop *loop, int timeout_ms);

/* Makes ur_loop_run() return after the current iteration. Loop thread
 * only; from another thread post ur_loop_stop_cb. */
void ur_loop_stop(struct ur_loop *loop);

/* ur_loop_post()-compatible wrapper: ur_loop_post(l, ur_loop_stop_cb, NULL). */
void ur_loop_stop_cb(struct ur_loop *loop, void *arg);

/* Features actually in use (enum ur_feature bits). */
unsigned ur_loop_features(const struct ur_loop *loop);

/* The configuration in effect (defaults filled in). */
const struct ur_loop_config *ur_loop_config(const struct ur_loop *loop);

/* The loop run by the calling thread (set by ur_loop_new), or NULL. */
struct ur_loop *ur_loop_current(void);

/* User pointer attached to the loop (e.g. the gateway's per-core state). */
void ur_loop_set_data(struct ur_loop *loop, void *data);
void *ur_loop_data(const struct ur_loop *loop);

/* Monotonic clock in nanoseconds, as used by timers. */
uint64_t ur_now_ns(void);
/* The same clock read once per loop turn, when its completions were
 * reaped: for bookkeeping that a turn's length cannot matter to (last use
 * of a connection, idle sweeps), so a busy loop does not read the clock
 * for every frame. Timers keep ur_now_ns. Before the first turn (or from
 * another thread's view of a loop that has not run): ur_now_ns(). */
uint64_t ur_loop_turn_ns(const struct ur_loop *loop);

/*
 * Cross-core message: runs fn(target, arg) on target's thread. No ordering
 * is promised between posts (a refused MSG_RING falls back to the queue).
 * Callable from any thread. From a
 * loop thread it is an IORING_OP_MSG_RING on the caller's ring carrying a
 * small message pointer (no lock); from a non-loop thread, or when MSG_RING
 * is unavailable, it pushes onto the target's lock-free queue and wakes it
 * through an eventfd. Hand a socket to another core by posting its fd number
 * (fds are process-wide). Returns 0 or -ENOMEM; fn is then guaranteed to
 * run, unless the target loop is freed first.
 */
typedef void (*ur_post_fn)(struct ur_loop *target, void *arg);
int ur_loop_post(struct ur_loop *target, ur_post_fn fn, void *arg);

/* Counters a metrics endpoint can expose. Loop thread only. */
struct ur_loop_stats {
    uint64_t cqes;            /* completions dispatched */
    uint64_t enobufs;         /* receives that found the buffer ring empty */
    uint64_t send_zc;         /* SEND_ZC ops submitted */
    uint64_t send_plain;      /* plain send/sendmsg ops submitted */
    uint64_t posts_in;        /* cross-core messages received */
    uint64_t conns_open;      /* connections currently alive */
    uint64_t bufs_out;        /* ring buffers currently held (callbacks or refs) */
    uint64_t ring_copies;     /* sends copied, not referenced: ring 3/4 held */
    uint64_t timers;          /* timers currently armed */
    uint64_t dns_queries;     /* look-ups sent to the resolver */
    uint64_t dns_cache_hits;  /* look-ups answered from the loop's cache */
    uint64_t dns_failures;    /* look-ups that failed (no such name, time-out, ...) */
    uint64_t ws_handshakes[UR_WS_HS_N]; /* WebSocket opening handshakes by result (ws.h) */
    uint64_t ws_open;         /* WebSocket connections open now (after the 101) */
};
void ur_loop_get_stats(const struct ur_loop *loop, struct ur_loop_stats *st);

#endif
