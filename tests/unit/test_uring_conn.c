/*
 * test_uring_conn.c: connections on one loop over 127.0.0.1 with ephemeral
 * ports -- echo with random-sized writes (default features, forced SEND_ZC,
 * every fallback), a zero-copy forwarder (client -> forwarder -> sink)
 * checked by SHA-256, backpressure bounded by the configured ceiling, and
 * TLS echo plus certificate verification.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "certs.h"
#include "uring/buf.h"
#include "uring/conn.h"
#include "uring/listener.h"
#include "uring/loop.h"
#include "uring/timer.h"
#include "uring/tls.h"

/* ---- shared helpers ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint8_t *make_source(size_t n)
{
    uint8_t *p = malloc(n);
    cr_assert_not_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rng() >> 24);
    return p;
}

static void sha(const uint8_t *p, size_t n, uint8_t out[32])
{
    wc_Sha256 s;
    wc_InitSha256(&s);
    wc_Sha256Update(&s, p, (word32)n);
    wc_Sha256Final(&s, out);
}

static void watchdog_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    *(int *)arg = 1;
    ur_loop_stop(ur_loop_current());
}

/* Runs the loop until stopped; fails the test after limit_ms. */
static void run_bounded(struct ur_loop *loop, unsigned limit_ms)
{
    struct ur_timer wd;
    int fired = 0;

    ur_timer_init(&wd, watchdog_cb, &fired);
    ur_timer_arm(loop, &wd, limit_ms, 0);
    cr_assert_eq(ur_loop_run(loop), 0);
    ur_timer_cancel(loop, &wd);
    cr_assert_eq(fired, 0, "test did not finish within %u ms", limit_ms);
}

/* ---- a random byte stream sent in random-sized writes and checked as
 * it comes back (echo, handoff) ---- */

struct stream {
    const uint8_t *src;
    size_t total, queued, received;
    size_t big, small;   /* a write is 1..big bytes one time in four, else 1..small */
    size_t window;       /* queue more while fewer bytes are pending */
};

static void stream_fill(struct ur_conn *c, struct stream *st);

static void stream_sent(struct ur_conn *c, void *arg, int err)
{
    if (err == 0)
        stream_fill(c, arg);
}

static void stream_fill(struct ur_conn *c, struct stream *st)
{
    while (st->queued < st->total && ur_conn_pending(c) < st->window) {
        size_t n = 1 + rng() % (rng() % 4 == 0 ? st->big : st->small);
        if (n > st->total - st->queued)
            n = st->total - st->queued;
        cr_assert_eq(ur_conn_send(c, st->src + st->queued, n, NULL, stream_sent, st), 0);
        st->queued += n;
    }
}

/* Checks n echoed bytes against the source; 1 once all have come back. */
static int stream_check(struct stream *st, const uint8_t *p, size_t n)
{
    cr_assert_leq(st->received + n, st->total);
    cr_assert_eq(memcmp(p, st->src + st->received, n), 0, "echo differs at %zu", st->received);
    st->received += n;
    return st->received == st->total;
}

/* Echoes p back (zero copy: the queue keeps buf) and pauses reading at the
 * ceiling: on_drain follows only a crossing of it. The send's result. */
static int echo_back(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    int rc = ur_conn_send(c, p, n, buf, NULL, NULL);
    if (ur_conn_pending(c) >= ur_loop_config(ur_conn_loop(c))->conn_mem_ceiling &&
        !ur_conn_read_paused(c))
        ur_conn_pause_read(c);
    return rc;
}

/* ---- echo ---- */

struct echo {
    struct ur_loop *loop;
    struct ur_tls_ctx *srv_tls, *cli_tls;
    const char *sni;
    struct ur_conn *server, *client;
    struct stream out;
    wc_Sha256 rx;
    int opened, server_closed, client_closed, client_open_err;
    char cli_cipher[64], srv_cipher[64]; /* TLS suite each side saw; "" if none */
    int cli_resumed, srv_resumed;        /* ur_conn_tls_resumed() each side saw */
    int srv_own;                         /* ur_conn_tls_own_records() on the server */
    int srv_close_err;                   /* the server conn's on_close err */
};

static void note_cipher(char *dst, size_t n, const struct ur_conn *c)
{
    const char *name = ur_conn_tls_cipher(c);
    if (!dst[0] && name)
        snprintf(dst, n, "%s", name);
}

static void echo_srv_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct echo *e = ur_conn_data(c);

    note_cipher(e->srv_cipher, sizeof(e->srv_cipher), c);
    e->srv_resumed |= ur_conn_tls_resumed(c);
    e->srv_own |= ur_conn_tls_own_records(c);
    cr_assert_eq(echo_back(c, p, n, buf), 0);
}

static void echo_srv_drain(struct ur_conn *c)
{
    if (ur_conn_read_paused(c))
        ur_conn_resume_read(c);
}

static void echo_srv_close(struct ur_conn *c, int err)
{
    struct echo *e = ur_conn_data(c);
    e->srv_close_err = err;
    e->server_closed++;
}

static const struct ur_conn_ops echo_srv_ops = {
    .on_data = echo_srv_data, .on_drain = echo_srv_drain, .on_close = echo_srv_close,
};

static void echo_accept(struct ur_listener *l, int fd, void *ud)
{
    struct echo *e = ud;
    (void)l;
    cr_assert_geq(fd, 0);
    cr_assert_eq(ur_conn_adopt(e->loop, fd, e->srv_tls, &echo_srv_ops, e, &e->server), 0);
}

static void echo_cli_open(struct ur_conn *c, int err)
{
    struct echo *e = ur_conn_data(c);
    e->client_open_err = err;
    e->opened = 1;
    note_cipher(e->cli_cipher, sizeof(e->cli_cipher), c);
    e->cli_resumed = ur_conn_tls_resumed(c);
    if (err == 0)
        stream_fill(c, &e->out);
    else
        ur_loop_stop(e->loop);
}

static void echo_cli_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct echo *e = ur_conn_data(c);
    (void)buf;
    wc_Sha256Update(&e->rx, p, (word32)n);
    if (stream_check(&e->out, p, n))
        ur_conn_close(c);
}

static void echo_cli_close(struct ur_conn *c, int err)
{
    struct echo *e = ur_conn_data(c);
    (void)err;
    e->client_closed++;
    ur_loop_stop(e->loop);
}

static const struct ur_conn_ops echo_cli_ops = {
    .on_open = echo_cli_open, .on_data = echo_cli_data, .on_close = echo_cli_close,
};

static void run_echo(const struct ur_loop_config *cfg, struct ur_tls_ctx *srv_tls,
                     struct ur_tls_ctx *cli_tls, const char *sni, size_t total,
                     struct echo *e)
{
    struct ur_listener *l;
    uint8_t want[32], got[32];
    struct ur_loop_stats st;

    memset(e, 0, sizeof(*e));
    cr_assert_eq(ur_loop_new(&e->loop, cfg), 0);
    e->srv_tls = srv_tls;
    e->cli_tls = cli_tls;
    /* Random sizes from 1 byte to 192 KiB, some above the ZC threshold. */
    e->out = (struct stream){.src = make_source(total), .total = total, .big = 192 * 1024,
                             .small = 3000, .window = 512 * 1024};
    wc_InitSha256(&e->rx);
    cr_assert_eq(ur_listen(e->loop, &l, "127.0.0.1", 0, 0, echo_accept, e), 0);
    cr_assert_neq(ur_listener_port(l), 0);
    cr_assert_eq(ur_conn_connect_host(e->loop, "127.0.0.1", ur_listener_port(l), 2000, cli_tls,
                                      sni, &echo_cli_ops, e, &e->client), 0);
    run_bounded(e->loop, 15000);
    if (e->client_open_err == 0) {
        cr_assert_eq(e->out.received, total);
        sha(e->out.src, total, want);
        wc_Sha256Final(&e->rx, got);
        cr_assert_eq(memcmp(want, got, 32), 0, "SHA-256 of the echo differs");
        /* Let the server see the close. */
        for (int i = 0; i < 100 && e->server_closed == 0; i++)
            cr_assert_eq(ur_loop_run_once(e->loop, 100), 0);
        cr_assert_eq(e->server_closed, 1);
        ur_loop_get_stats(e->loop, &st);
        cr_assert_eq(st.bufs_out, 0, "ring buffers leaked: %llu", (unsigned long long)st.bufs_out);
        cr_assert_eq(st.conns_open, 0);
    }
    cr_assert_eq(e->client_closed, 1);
    ur_listener_close(l);
    ur_loop_free(e->loop);
    free((void *)e->out.src);
}

Test(uring_conn, echo_random_writes_default)
{
    struct echo e;
    run_echo(NULL, NULL, NULL, NULL, 4u << 20, &e);
}

Test(uring_conn, echo_forced_send_zc)
{
    struct ur_loop_config cfg;
    struct echo e;
    ur_loop_config_default(&cfg);
    cfg.zc_threshold = 1024; /* most segments go through SEND_ZC */
    cfg.buf_size = 16384;
    cfg.buf_count = 16;      /* small ring: exercises ENOBUFS re-arm */
    /* Queued echoes pin ring buffers: keep the ceiling well under the ring
     * (256 KiB), or the server would hold every buffer the client needs. */
    cfg.conn_mem_ceiling = 64 * 1024;
    run_echo(&cfg, NULL, NULL, NULL, 3u << 20, &e);
}

Test(uring_conn, echo_all_fallbacks)
{
    struct ur_loop_config cfg;
    struct echo e;
    ur_loop_config_default(&cfg);
    cfg.disable = UR_FEAT_SEND_ZC | UR_FEAT_RECV_MULTISHOT | UR_FEAT_BUF_RING |
                  UR_FEAT_MSG_RING | UR_FEAT_ACCEPT_MULTISHOT | UR_FEAT_SINGLE_ISSUER;
    run_echo(&cfg, NULL, NULL, NULL, 2u << 20, &e);
}

Test(uring_conn, connect_refused_reports_error_once)
{
    struct ur_loop *loop;
    struct ur_listener *l;
    struct echo e;
    uint16_t port;

    memset(&e, 0, sizeof(e));
    cr_assert_eq(ur_loop_new(&loop, NULL), 0);
    e.loop = loop;
    /* A port nobody listens on: bound (so nobody else takes it) but not
     * listening. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    port = ntohs(a.sin_port);
    (void)l;
    cr_assert_eq(ur_conn_connect_host(loop, "127.0.0.1", port, 2000, NULL, NULL, &echo_cli_ops,
                                      &e, &e.client), 0);
    run_bounded(loop, 5000);
    cr_assert_eq(e.client_open_err, -ECONNREFUSED);
    cr_assert_eq(e.client_closed, 1);
    close(fd);
    /* Names are resolved (test_uring_dns.c); a malformed host is refused. */
    cr_assert_eq(ur_conn_connect_host(loop, "", 1, 0, NULL, NULL, &echo_cli_ops, &e, &e.client),
                 -EINVAL);
    ur_loop_free(loop);
}

/* ---- forwarder: client -> fwd_up | fwd_down -> sink ---- */

struct fwd {
    struct ur_loop *loop;
    uint16_t sink_port;
    struct ur_conn *client, *up, *down, *sink;
    const uint8_t *src;
    size_t total, queued, received, fwd_calls;
    wc_Sha256 rx;
    int sink_pause;          /* backpressure test: sink starts paused */
    int stalled;
    size_t last_up_in;
    int still_ticks;
    size_t down_pending_at_stall;
    int closes;
    int up_paused;           /* up paused because down is over its ceiling */
    struct ur_timer tick;
};

static void fwd_up_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct fwd *f = ur_conn_data(c);
    /* Zero copy: the received ring buffer rides the send queue. */
    cr_assert_eq(ur_conn_send(f->down, p, n, buf, NULL, NULL), 0);
    f->fwd_calls++;
    /* Backpressure the way the relay does it: over the sink's ceiling the
     * producer stops reading, and the sink's on_drain resumes it. */
    if (ur_conn_over_ceiling(f->down) && !f->up_paused) {
        f->up_paused = 1;
        ur_conn_pause_read(f->up);
    }
}

static void fwd_down_drain(struct ur_conn *c)
{
    struct fwd *f = ur_conn_data(c);
    if (f->up_paused && f->up) {
        f->up_paused = 0;
        ur_conn_resume_read(f->up);
    }
}

static void fwd_any_close(struct ur_conn *c, int err)
{
    struct fwd *f = ur_conn_data(c);
    (void)err;
    f->closes++;
    if (c == f->up && f->down)
        ur_conn_close_after_flush(f->down);
}

static const struct ur_conn_ops fwd_up_ops = {.on_data = fwd_up_data, .on_close = fwd_any_close};
static const struct ur_conn_ops fwd_down_ops = {.on_drain = fwd_down_drain,
                                                .on_close = fwd_any_close};

static void fwd_accept(struct ur_listener *l, int fd, void *ud)
{
    struct fwd *f = ud;
    (void)l;
    cr_assert_eq(ur_conn_adopt(f->loop, fd, NULL, &fwd_up_ops, f, &f->up), 0);
    cr_assert_eq(ur_conn_connect_host(f->loop, "127.0.0.1", f->sink_port, 2000, NULL, NULL,
                                      &fwd_down_ops, f, &f->down), 0);
}

static void small_buffers(int fd)
{
    int sz = 256 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

static void sink_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct fwd *f = ur_conn_data(c);
    (void)buf;
    cr_assert_leq(f->received + n, f->total);
    wc_Sha256Update(&f->rx, p, (word32)n);
    f->received += n;
    if (f->received == f->total)
        ur_loop_stop(f->loop);
}

static void sink_open(struct ur_conn *c, int err)
{
    struct fwd *f = ur_conn_data(c);
    cr_assert_eq(err, 0);
    if (f->sink_pause) {
        small_buffers(ur_conn_fd(c));
        ur_conn_pause_read(c);
    }
}

static const struct ur_conn_ops sink_ops = {
    .on_open = sink_open, .on_data = sink_data, .on_close = fwd_any_close,
};

static void sink_accept(struct ur_listener *l, int fd, void *ud)
{
    struct fwd *f = ud;
    (void)l;
    if (f->sink_pause)
        small_buffers(fd);
    cr_assert_eq(ur_conn_adopt(f->loop, fd, NULL, &sink_ops, f, &f->sink), 0);
}

static void fwd_fill(struct ur_conn *c, struct fwd *f);
static void fwd_sent(struct ur_conn *c, void *arg, int err)
{
    if (err == 0)
        fwd_fill(c, arg);
}

static void fwd_fill(struct ur_conn *c, struct fwd *f)
{
    while (f->queued < f->total && ur_conn_pending(c) < 256 * 1024) {
        size_t n = 1 + rng() % 70000;
        if (n > f->total - f->queued)
            n = f->total - f->queued;
        cr_assert_eq(ur_conn_send(c, f->src + f->queued, n, NULL, fwd_sent, f), 0);
        f->queued += n;
    }
}

static void fwd_cli_open(struct ur_conn *c, int err)
{
    struct fwd *f = ur_conn_data(c);
    cr_assert_eq(err, 0);
    if (f->sink_pause)
        small_buffers(ur_conn_fd(c));
    fwd_fill(c, f);
}

static const struct ur_conn_ops fwd_cli_ops = {.on_open = fwd_cli_open, .on_close = fwd_any_close};

/* Backpressure phase detection: the forwarder stopped taking bytes. */
static void stall_tick(struct ur_timer *t, void *arg)
{
    struct fwd *f = arg;
    struct ur_conn_stats st;

    if (!f->up)
        return;
    ur_conn_get_stats(f->up, &st);
    f->still_ticks = st.bytes_in == f->last_up_in ? f->still_ticks + 1 : 0;
    f->last_up_in = st.bytes_in;
    if (f->still_ticks >= 5) {
        f->stalled = 1;
        f->down_pending_at_stall = ur_conn_pending(f->down);
        ur_timer_cancel(f->loop, t);
        ur_loop_stop(f->loop);
    }
}

static void setup_fwd(struct fwd *f, const struct ur_loop_config *cfg, size_t total,
                      struct ur_listener **lf, struct ur_listener **ls)
{
    memset(f, 0, sizeof(*f));
    cr_assert_eq(ur_loop_new(&f->loop, cfg), 0);
    f->total = total;
    f->src = make_source(total);
    wc_InitSha256(&f->rx);
    cr_assert_eq(ur_listen(f->loop, ls, "127.0.0.1", 0, 0, sink_accept, f), 0);
    f->sink_port = ur_listener_port(*ls);
    cr_assert_eq(ur_listen(f->loop, lf, "::1", 0, 0, fwd_accept, f), 0);
}

static void check_sha(struct fwd *f)
{
    uint8_t want[32], got[32];
    cr_assert_eq(f->received, f->total);
    sha(f->src, f->total, want);
    wc_Sha256Final(&f->rx, got);
    cr_assert_eq(memcmp(want, got, 32), 0, "sink SHA-256 differs from the source");
}

static void teardown_fwd(struct fwd *f, struct ur_listener *lf, struct ur_listener *ls)
{
    struct ur_loop_stats st;

    ur_conn_close(f->client);
    for (int i = 0; i < 100 && f->closes < 4; i++)
        cr_assert_eq(ur_loop_run_once(f->loop, 100), 0);
    cr_assert_eq(f->closes, 4, "close did not propagate client -> fwd -> sink");
    ur_loop_get_stats(f->loop, &st);
    cr_assert_eq(st.bufs_out, 0, "buffer references leaked");
    cr_assert_eq(st.conns_open, 0);
    ur_listener_close(lf);
    ur_listener_close(ls);
    ur_loop_free(f->loop);
    free((void *)f->src);
}

Test(uring_conn, forwarder_zero_copy_sha256)
{
    struct ur_listener *lf, *ls;
    struct fwd f;

    setup_fwd(&f, NULL, 8u << 20, &lf, &ls);
    cr_assert_eq(ur_conn_connect_host(f.loop, "::1", ur_listener_port(lf), 2000, NULL, NULL,
                                      &fwd_cli_ops, &f, &f.client), 0);
    run_bounded(f.loop, 15000);
    check_sha(&f);
    cr_assert_gt(f.fwd_calls, 0);
    teardown_fwd(&f, lf, ls);
}

Test(uring_conn, backpressure_bounded_then_full_delivery)
{
    struct ur_loop_config cfg;
    struct ur_listener *lf, *ls;
    struct ur_conn_stats up_st, down_st;
    struct fwd f;

    ur_loop_config_default(&cfg);
    cfg.conn_mem_ceiling = 256 * 1024;
    cfg.conn_low_watermark = 64 * 1024;
    setup_fwd(&f, &cfg, 16u << 20, &lf, &ls);
    f.sink_pause = 1;
    cr_assert_eq(ur_conn_connect_host(f.loop, "::1", ur_listener_port(lf), 2000, NULL, NULL,
                                      &fwd_cli_ops, &f, &f.client), 0);
    ur_timer_init(&f.tick, stall_tick, &f);
    ur_timer_arm(f.loop, &f.tick, 20, 20);
    run_bounded(f.loop, 15000);

    /* Phase 1: the sink reads nothing; the forwarder must stop growing. */
    cr_assert(f.stalled);
    cr_assert_eq(f.received, 0);
    ur_conn_get_stats(f.up, &up_st);
    ur_conn_get_stats(f.down, &down_st);
    cr_assert(ur_conn_read_paused(f.up), "producer not paused at the ceiling");
    cr_assert_geq(up_st.pauses, 1);
    /* Paused with hysteresis: the queue has not drained under the low
     * watermark (the kernel may have taken some since the ceiling). */
    cr_assert_geq(f.down_pending_at_stall, cfg.conn_low_watermark);
    /* At most one receive buffer of overshoot past the ceiling. */
    cr_assert_leq(down_st.pending_max, cfg.conn_mem_ceiling + cfg.buf_size,
                  "pending grew to %zu", down_st.pending_max);
    cr_assert_lt(up_st.bytes_in, f.total, "whole stream absorbed: no backpressure");
    cr_assert_gt(ur_conn_pending(f.client), 0, "client not pushed back");

    /* Phase 2: the sink resumes; everything arrives intact. */
    ur_conn_resume_read(f.sink);
    run_bounded(f.loop, 15000);
    check_sha(&f);
    cr_assert(!ur_conn_read_paused(f.up));
    ur_conn_get_stats(f.down, &down_st);
    cr_assert_leq(down_st.pending_max, cfg.conn_mem_ceiling + cfg.buf_size);
    teardown_fwd(&f, lf, ls);
}

/* A sink that reads nothing and a ceiling far above the ring: received
 * buffers queued toward the sink must not pin the whole ring (the loop
 * could then receive nothing at all). Past three quarters held, sends are
 * copied; everything still arrives intact. */
Test(uring_conn, queued_sends_never_pin_the_whole_ring)
{
    struct ur_loop_config cfg;
    struct ur_listener *lf, *ls;
    struct ur_loop_stats st;
    struct fwd f;

    ur_loop_config_default(&cfg);
    cfg.buf_size = 16384;
    cfg.buf_count = 16;
    cfg.conn_mem_ceiling = 64u << 20;
    cfg.conn_low_watermark = 1u << 20;
    setup_fwd(&f, &cfg, 8u << 20, &lf, &ls);
    f.sink_pause = 1;
    cr_assert_eq(ur_conn_connect_host(f.loop, "::1", ur_listener_port(lf), 2000, NULL, NULL,
                                      &fwd_cli_ops, &f, &f.client), 0);
    ur_timer_init(&f.tick, stall_tick, &f);
    ur_timer_arm(f.loop, &f.tick, 20, 20);
    run_bounded(f.loop, 15000);
    cr_assert(f.stalled);
    ur_loop_get_stats(f.loop, &st);
    cr_assert_leq(st.bufs_out, cfg.buf_count * 3 / 4, "%llu of %u ring buffers held",
                  (unsigned long long)st.bufs_out, cfg.buf_count);
    cr_assert_gt(st.ring_copies, 0);
    ur_conn_resume_read(f.sink);
    run_bounded(f.loop, 15000);
    check_sha(&f);
    teardown_fwd(&f, lf, ls);
}

/* ---- close from inside callbacks ---- */

struct closer {
    int data_calls, closes, open_calls, sent_err;
    struct ur_loop *loop;
    struct ur_conn *srv;
};

static void closer_sent(struct ur_conn *c, void *arg, int err)
{
    struct closer *k = arg;
    (void)c;
    k->sent_err = err;
}

static void closer_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct closer *k = ur_conn_data(c);
    (void)p;
    (void)n;
    (void)buf;
    k->data_calls++;
    /* Queue a send and close at once: the send must fail, not leak, and
     * no callback may follow except on_close. */
    ur_conn_close(c);
    ur_conn_close(c);
    cr_assert_eq(ur_conn_send(c, "x", 1, NULL, closer_sent, k), -EPIPE);
}

static void closer_close(struct ur_conn *c, int err)
{
    struct closer *k = ur_conn_data(c);
    (void)err;
    k->closes++;
    if (k->closes == 2)
        ur_loop_stop(k->loop);
}

static void closer_open(struct ur_conn *c, int err)
{
    struct closer *k = ur_conn_data(c);
    cr_assert_eq(err, 0);
    k->open_calls++;
    cr_assert_eq(ur_conn_send_copy(c, "hello", 5), 0);
}

static const struct ur_conn_ops closer_ops = {
    .on_open = closer_open, .on_data = closer_data, .on_close = closer_close,
};

static void closer_accept(struct ur_listener *l, int fd, void *ud)
{
    struct closer *k = ud;
    (void)l;
    cr_assert_eq(ur_conn_adopt(k->loop, fd, NULL, &closer_ops, k, &k->srv), 0);
}

Test(uring_conn, close_inside_on_data_is_safe)
{
    struct ur_listener *l;
    struct ur_conn *cli;
    struct closer k;

    memset(&k, 0, sizeof(k));
    cr_assert_eq(ur_loop_new(&k.loop, NULL), 0);
    cr_assert_eq(ur_listen(k.loop, &l, "127.0.0.1", 0, 0, closer_accept, &k), 0);
    cr_assert_eq(ur_conn_connect_host(k.loop, "127.0.0.1", ur_listener_port(l), 1000, NULL, NULL,
                                      &closer_ops, &k, &cli), 0);
    run_bounded(k.loop, 5000);
    cr_assert_eq(k.closes, 2);
    cr_assert_eq(k.open_calls, 2);
    cr_assert_geq(k.data_calls, 1);
    cr_assert_leq(k.data_calls, 2);
    ur_listener_close(l);
    ur_loop_free(k.loop);
}

/* ---- TLS ---- */

static struct ur_tls_ctx *server_ctx(void)
{
    char cert[128], key[128];
    struct ur_tls_config tc = {.server = 1, .cert_file = cert, .key_file = key};
    struct ur_tls_ctx *ctx;

    snprintf(cert, sizeof(cert), "%s/cert.pem", test_certdir);
    snprintf(key, sizeof(key), "%s/key.pem", test_certdir);
    cr_assert_eq(ur_tls_ctx_new(&ctx, &tc), 0);
    return ctx;
}

Test(uring_tls, echo_insecure_client, .init = test_cert_make, .fini = test_cert_rm)
{
    struct ur_tls_config cc = {.insecure = 1};
    struct ur_tls_ctx *srv = server_ctx(), *cli;
    struct echo e;

    cr_assert_eq(ur_tls_ctx_new(&cli, &cc), 0);
    run_echo(NULL, srv, cli, NULL, 2u << 20, &e);
    cr_assert_eq(e.client_open_err, 0);
    /* TLS 1.3 with AES-GCM: the server's records are ours where the
     * library gives the secrets (the client keeps wolfSSL's: independent). */
    cr_assert_eq(e.srv_own, ur_tls_own_records() && strstr(e.srv_cipher, "GCM") != NULL,
                 "cipher %s, own records %d", e.srv_cipher, e.srv_own);
    ur_tls_ctx_free(cli);
    ur_tls_ctx_free(srv);
}

Test(uring_tls, verify_with_ca_and_name_succeeds, .init = test_cert_make, .fini = test_cert_rm)
{
    char ca[128];
    struct ur_tls_config cc = {.ca_file = ca};
    struct ur_tls_ctx *srv = server_ctx(), *cli;
    struct echo e;

    snprintf(ca, sizeof(ca), "%s/cert.pem", test_certdir);
    cr_assert_eq(ur_tls_ctx_new(&cli, &cc), 0);
    run_echo(NULL, srv, cli, "localhost", 256u << 10, &e);
    cr_assert_eq(e.client_open_err, 0);
    ur_tls_ctx_free(cli);
    ur_tls_ctx_free(srv);
}

Test(uring_tls, verify_fails_without_ca, .init = test_cert_make, .fini = test_cert_rm)
{
    struct ur_tls_config cc = {0}; /* verification on, no CA loaded */
    struct ur_tls_ctx *srv = server_ctx(), *cli;
    struct echo e;

    cr_assert_eq(ur_tls_ctx_new(&cli, &cc), 0);
    run_echo(NULL, srv, cli, "localhost", 1024, &e);
    cr_assert_eq(e.client_open_err, -EKEYREJECTED);
    cr_assert_eq(e.out.received, 0);
    ur_tls_ctx_free(cli);
    ur_tls_ctx_free(srv);
}

Test(uring_tls, verify_fails_on_name_mismatch, .init = test_cert_make, .fini = test_cert_rm)
{
    char ca[128];
    struct ur_tls_config cc = {.ca_file = ca};
    struct ur_tls_ctx *srv = server_ctx(), *cli;
    struct echo e;

    snprintf(ca, sizeof(ca), "%s/cert.pem", test_certdir);
    cr_assert_eq(ur_tls_ctx_new(&cli, &cc), 0);
    run_echo(NULL, srv, cli, "msrp.example.com", 1024, &e);
    cr_assert_eq(e.client_open_err, -EKEYREJECTED);
    ur_tls_ctx_free(cli);
    ur_tls_ctx_free(srv);
}

/* ---- KeyUpdate and close_notify against wolfSSL's own record layer: a
 * blocking wolfSSL TLS 1.3 client in a thread, the echo server on the loop.
 * Each round: 100,000 bytes out and back; between rounds the client sends
 * KeyUpdate(update_requested), so the server must take the client's next
 * key and answer with a KeyUpdate of its own before its next data (RFC 8446
 * 4.6.3); wolfSSL checks that answer came (wolfSSL_key_update_response). */

struct ku {
    uint16_t port;
    const char *cipher;
    int split;   /* records leave in pieces of 1..700 bytes, 20 us apart */
    int garbage; /* after one round: 1 bad tag, 2 handshake type, 3 too long */
    volatile int fd; /* the client's socket, once connected */
    volatile int done;
    char err[160];
};

/* wolfSSL's send callback for ku.split: every record in small pieces, so
 * that the server gets records (and headers) cut anywhere. */
static int ku_send_split(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    int fd = *(int *)ctx, sent = 0;
    static unsigned r = 12345;

    (void)ssl;
    while (sent < sz) {
        int k = 1 + (int)((r = r * 1103515245u + 12345u) >> 16) % 700;
        ssize_t w;
        if (k > sz - sent)
            k = sz - sent;
        w = send(fd, buf + sent, (size_t)k, MSG_NOSIGNAL);
        if (w <= 0)
            return WOLFSSL_CBIO_ERR_GENERAL;
        sent += (int)w;
        usleep(20);
    }
    return sz;
}

/* Raw records after the handshake that a TLS 1.3 peer must refuse. The
 * long one comes whole: msrpgw's record layer refuses it at its header,
 * wolfSSL 5.5.4's takes longer records and fails it on its tag. */
static void ku_send_garbage(int fd, int kind)
{
    static uint8_t rec[5 + 16641];

    memcpy(rec, (const uint8_t[5]){23, 3, 3, 0, 64}, 5);
    for (size_t i = 5; i < sizeof(rec); i++)
        rec[i] = (uint8_t)(i * 37); /* no valid tag */
    if (kind == 2)
        rec[0] = 22; /* a plaintext handshake record */
    if (kind == 3)
        rec[3] = 0x41, rec[4] = 0x01; /* 16641: more than 2^14 + 256 */
    (void)!send(fd, rec, kind == 3 ? sizeof(rec) : 5 + 64, MSG_NOSIGNAL);
}

static int ku_io(WOLFSSL *ssl, uint8_t *p, size_t n, int rd)
{
    while (n) {
        int r = rd ? wolfSSL_read(ssl, p, (int)n) : wolfSSL_write(ssl, p, (int)n);
        if (r <= 0)
            return wolfSSL_get_error(ssl, r);
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void *ku_client(void *arg)
{
    struct ku *k = arg;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(k->port)};
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
    WOLFSSL *ssl = NULL;
    static uint8_t out[100000], in[100000];
    int fd = socket(AF_INET, SOCK_STREAM, 0), e, required = 1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    k->fd = fd;
    if (!ctx || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        snprintf(k->err, sizeof(k->err), "setup failed");
        goto out;
    }
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
    wolfSSL_CTX_set_cipher_list(ctx, k->cipher);
    ssl = wolfSSL_new(ctx);
    wolfSSL_set_fd(ssl, fd);
    if (k->split) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        wolfSSL_SSLSetIOSend(ssl, ku_send_split);
        wolfSSL_SetIOWriteCtx(ssl, &fd);
    }
    if (wolfSSL_connect(ssl) != WOLFSSL_SUCCESS) {
        snprintf(k->err, sizeof(k->err), "handshake failed");
        goto out;
    }
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < sizeof(out); i++)
            out[i] = (uint8_t)(i * 7 + (size_t)round * 13 + (i >> 9));
        if ((e = ku_io(ssl, out, sizeof(out), 0)) || (e = ku_io(ssl, in, sizeof(in), 1))) {
            snprintf(k->err, sizeof(k->err), "round %d: wolfSSL error %d", round, e);
            goto out;
        }
        if (memcmp(in, out, sizeof(in)) != 0) {
            snprintf(k->err, sizeof(k->err), "round %d: echo differs", round);
            goto out;
        }
        if (k->garbage) { /* the server must close: no data comes back */
            ku_send_garbage(fd, k->garbage);
            if (wolfSSL_read(ssl, in, sizeof(in)) > 0)
                snprintf(k->err, sizeof(k->err), "data after a refused record");
            goto out;
        }
        if (round && (wolfSSL_key_update_response(ssl, &required) != 0 || required)) {
            snprintf(k->err, sizeof(k->err), "round %d: no KeyUpdate answered ours", round);
            goto out;
        }
        if (round < 3 && wolfSSL_update_keys(ssl) != WOLFSSL_SUCCESS) {
            snprintf(k->err, sizeof(k->err), "round %d: wolfSSL_update_keys failed", round);
            goto out;
        }
    }
    /* close_notify out; the server's comes back (or the stream ends). */
    wolfSSL_shutdown(ssl);
out:
    wolfSSL_free(ssl);
    wolfSSL_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
    ur_tls_thread_cleanup(); /* this thread's ECC cache (FP_ECC builds) */
    k->done = 1;
    return NULL;
}

/* One ku client against the echo server on e's loop, to its end. */
static void ku_run(struct echo *e, struct ku *k)
{
    pthread_t th;

    e->server_closed = 0;
    e->srv_close_err = 1;
    e->srv_own = 0;
    struct timespec t0, now;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(pthread_create(&th, NULL, ku_client, k), 0);
    do { /* a turn per event: bounded by time, 20 s */
        cr_assert_eq(ur_loop_run_once(e->loop, 50), 0);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (!(k->done && e->server_closed) && now.tv_sec - t0.tv_sec < 20);
    if (!k->done)
        shutdown(k->fd, SHUT_RDWR); /* unblocks the client: the test fails below */
    pthread_join(th, NULL);
    cr_assert_str_empty(k->err, "%s: %s", k->cipher, k->err);
    cr_assert_eq(e->server_closed, 1, "the server saw no end of the connection");
    cr_assert_eq(e->srv_own, ur_tls_own_records(), "own records %d", e->srv_own);
}

static void key_update_case(const char *cipher, int split, int garbage)
{
    struct ur_tls_ctx *srv = server_ctx();
    struct ur_listener *l;
    struct ku k = {.cipher = cipher, .split = split, .garbage = garbage, .fd = -1};
    struct echo e;

    memset(&e, 0, sizeof(e));
    cr_assert_eq(ur_loop_new(&e.loop, NULL), 0);
    e.srv_tls = srv;
    cr_assert_eq(ur_listen(e.loop, &l, "127.0.0.1", 0, 0, echo_accept, &e), 0);
    k.port = ur_listener_port(l);
    ku_run(&e, &k);
    if (!garbage) {
        /* close_notify: an orderly end */
        cr_assert_eq(e.srv_close_err, 0, "close err %d", e.srv_close_err);
    } else {
        /* refused: closed with an error, and the next client is served */
        if (ur_tls_own_records())
            cr_assert_eq(e.srv_close_err, -EPROTO, "close err %d", e.srv_close_err);
        else
            cr_assert_lt(e.srv_close_err, 0);
        k = (struct ku){.cipher = cipher, .port = k.port, .fd = -1};
        ku_run(&e, &k);
        cr_assert_eq(e.srv_close_err, 0);
    }
    ur_listener_close(l);
    ur_loop_free(e.loop);
    ur_tls_ctx_free(srv);
}

Test(uring_tls, key_update_both_ways_aes128, .init = test_cert_make, .fini = test_cert_rm)
{
    key_update_case("TLS13-AES128-GCM-SHA256", 0, 0);
}

Test(uring_tls, key_update_both_ways_aes256, .init = test_cert_make, .fini = test_cert_rm)
{
    key_update_case("TLS13-AES256-GCM-SHA384", 0, 0);
}

/* Records and their headers cut anywhere by TCP: gathered across reads. */
Test(uring_tls, records_cut_anywhere_are_gathered, .init = test_cert_make, .fini = test_cert_rm)
{
    key_update_case("TLS13-AES128-GCM-SHA256", 1, 0);
}

/* A record with a wrong tag, a plaintext handshake record, a length over
 * 2^14 + 256: each closes its connection only. */
Test(uring_tls, refused_records_close_only_their_connection, .init = test_cert_make,
     .fini = test_cert_rm)
{
    for (int kind = 1; kind <= 3; kind++)
        key_update_case("TLS13-AES128-GCM-SHA256", 0, kind);
}

/* The cipher policy: AES-GCM first where the CPU has AES-NI and the linked
 * wolfSSL uses it, ChaCha20-Poly1305 first otherwise; the server's order
 * wins over the client's; tls_ciphers (cipher_list) overrides. */
#define AES128 "TLS13-AES128-GCM-SHA256"
#define CHACHA "TLS13-CHACHA20-POLY1305-SHA256"

static void cipher_case2(const char *srv_list, const char *cli_list, const char *want)
{
    char cert[128], key[128];
    struct ur_tls_config tc = {.server = 1, .cert_file = cert, .key_file = key,
                               .cipher_list = srv_list};
    struct ur_tls_config cc = {.insecure = 1, .cipher_list = cli_list};
    struct ur_tls_ctx *srv, *cli;
    struct echo e;

    snprintf(cert, sizeof(cert), "%s/cert.pem", test_certdir);
    snprintf(key, sizeof(key), "%s/key.pem", test_certdir);
    cr_assert_eq(ur_tls_ctx_new(&srv, &tc), 0);
    cr_assert_eq(ur_tls_ctx_new(&cli, &cc), 0);
    run_echo(NULL, srv, cli, NULL, 64u << 10, &e);
    cr_assert_eq(e.client_open_err, 0);
    cr_assert_str_eq(e.cli_cipher, want, "client list %s", cli_list ? cli_list : "(default)");
    cr_assert_str_eq(e.srv_cipher, want, "client list %s", cli_list ? cli_list : "(default)");
    ur_tls_ctx_free(cli);
    ur_tls_ctx_free(srv);
}

static void cipher_case(const char *cli_list, const char *want)
{
    cipher_case2(NULL, cli_list, want);
}

Test(uring_tls, policy_follows_cpu_and_library)
{
    int aesni_cpu = __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul");
#ifdef WOLFSSL_AESNI
    cr_assert_eq(ur_tls_aes_fast(), aesni_cpu);
#else
    cr_assert_eq(ur_tls_aes_fast(), 0, "a wolfSSL without AES-NI never prefers AES-GCM (CPU: %d)",
                 aesni_cpu);
#endif
#ifdef MSRP_WOLFSSL_BUILT
    /* The built library is only chosen on AES-NI CPUs: it must be used. */
    cr_assert_eq(ur_tls_aes_fast(), 1);
    cr_assert_str_eq(ur_tls_default_ciphers(), UR_TLS_CIPHERS_AES_FIRST);
#endif
    cr_assert_str_eq(ur_tls_default_ciphers(), ur_tls_aes_fast() ? UR_TLS_CIPHERS_AES_FIRST
                                                                 : UR_TLS_CIPHERS_CHACHA_FIRST);
    char d[512];
    ur_tls_describe(d, sizeof(d));
    cr_assert_not_null(strstr(d, "wolfSSL 5."), "%s", d);
    cr_assert_not_null(strstr(d, ur_tls_aes_fast() ? "default AEAD: AES-GCM"
                                                   : "default AEAD: ChaCha20-Poly1305"), "%s", d);
}

Test(uring_tls, default_contexts_negotiate_the_fast_aead, .init = test_cert_make, .fini = test_cert_rm)
{
    cipher_case(NULL, ur_tls_aes_fast() ? AES128 : CHACHA);
}

Test(uring_tls, server_order_wins_over_client_preference, .init = test_cert_make, .fini = test_cert_rm)
{
    /* The client ranks first what the server ranks second. */
    if (ur_tls_aes_fast())
        cipher_case(CHACHA ":" AES128, AES128);
    else
        cipher_case(AES128 ":TLS13-AES256-GCM-SHA384:" CHACHA, CHACHA);
}

Test(uring_tls, tls_ciphers_forces_chacha20, .init = test_cert_make, .fini = test_cert_rm)
{
    cipher_case2(UR_TLS_CIPHERS_CHACHA_FIRST, NULL, CHACHA);
}

Test(uring_tls, tls_ciphers_forces_aes_gcm, .init = test_cert_make, .fini = test_cert_rm)
{
    cipher_case2(UR_TLS_CIPHERS_AES_FIRST, NULL, AES128);
}

Test(uring_tls, aes_only_client_still_connects, .init = test_cert_make, .fini = test_cert_rm)
{
    cipher_case(AES128, AES128);
}

Test(uring_tls, chacha_only_client_still_connects, .init = test_cert_make, .fini = test_cert_rm)
{
    cipher_case(CHACHA, CHACHA);
}

/* A client context that reconnects to the same server name resumes the
 * session (TLS 1.3 ticket; TLS 1.2 ticket or id): no certificate, no key
 * exchange signature the second time. */
static void resume_case(const char *cli_list, const char *want)
{
    struct ur_tls_config cc = {.insecure = 1, .cipher_list = cli_list};
    struct ur_tls_ctx *srv = server_ctx(), *cli;
    struct echo e;

    /* Each run listens on a new port: sessions are kept by server name. */
    cr_assert_eq(ur_tls_ctx_new(&cli, &cc), 0);
    run_echo(NULL, srv, cli, "localhost", 64u << 10, &e);
    cr_assert_eq(e.client_open_err, 0);
    cr_assert_str_eq(e.cli_cipher, want);
    cr_assert_eq(e.cli_resumed, 0, "first connection cannot resume");
    cr_assert_eq(e.srv_resumed, 0);
    /* Only tickets of full handshakes are kept (see sess_save): resumed,
     * full, resumed. */
    for (int i = 0; i < 3; i++) {
        int want_resumed = i != 1;
        run_echo(NULL, srv, cli, "localhost", 256u << 10, &e);
        cr_assert_eq(e.client_open_err, 0);
        cr_assert_str_eq(e.cli_cipher, want);
        cr_assert_eq(e.cli_resumed, want_resumed, "reconnection %d (client)", i + 1);
        cr_assert_eq(e.srv_resumed, want_resumed, "reconnection %d (server)", i + 1);
    }
    ur_tls_ctx_free(cli);
    ur_tls_ctx_free(srv);
}

Test(uring_tls, reconnect_resumes_tls13, .init = test_cert_make, .fini = test_cert_rm)
{
    resume_case(NULL, ur_tls_aes_fast() ? AES128 : CHACHA);
}


/* ---- TLS record sizing: a tap between client and server parses the
 * record headers the server sends ---- */

#define TAP_MAX_RECORDS 512

struct tap {
    int lfd;
    uint16_t port, srv_port;
    pthread_t th;
    size_t n;                          /* records server -> client */
    uint8_t type[TAP_MAX_RECORDS];
    uint16_t len[TAP_MAX_RECORDS];
    uint8_t hdr[5];                    /* record header being read */
    size_t hdr_n, body_left;
};

static void tap_parse(struct tap *t, const uint8_t *p, size_t n)
{
    while (n) {
        if (t->body_left) {
            size_t k = t->body_left < n ? t->body_left : n;
            t->body_left -= k;
            p += k;
            n -= k;
            continue;
        }
        t->hdr[t->hdr_n++] = *p++;
        n--;
        if (t->hdr_n == 5) {
            if (t->n < TAP_MAX_RECORDS) {
                t->type[t->n] = t->hdr[0];
                t->len[t->n] = (uint16_t)(t->hdr[3] << 8 | t->hdr[4]);
                t->n++;
            }
            t->body_left = (size_t)(t->hdr[3] << 8 | t->hdr[4]);
            t->hdr_n = 0;
        }
    }
}

/* One connection: client <-> tap <-> server, bytes passed unchanged. */
static void *tap_main(void *arg)
{
    struct tap *t = arg;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(t->srv_port)};
    int cfd = accept(t->lfd, NULL, NULL), sfd = socket(AF_INET, SOCK_STREAM, 0);
    struct pollfd pf[2];
    uint8_t buf[65536];
    int open_ = 2;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (cfd < 0 || sfd < 0 || connect(sfd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return NULL;
    pf[0] = (struct pollfd){.fd = cfd, .events = POLLIN};
    pf[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
    while (open_ && poll(pf, 2, 10000) > 0) {
        for (int i = 0; i < 2; i++) {
            ssize_t r;
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            r = read(pf[i].fd, buf, sizeof(buf));
            if (r <= 0) {
                shutdown(pf[1 - i].fd, SHUT_WR);
                pf[i].fd = -1;
                open_--;
                continue;
            }
            if (i == 1)
                tap_parse(t, buf, (size_t)r);
            for (ssize_t off = 0; off < r;) {
                ssize_t w = write(pf[1 - i].fd, buf + off, (size_t)(r - off));
                if (w <= 0)
                    break;
                off += w;
            }
        }
    }
    close(cfd);
    close(sfd);
    return NULL;
}

static void tap_start(struct tap *t, uint16_t srv_port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);

    memset(t, 0, sizeof(*t));
    t->srv_port = srv_port;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    t->lfd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(t->lfd, 0);
    cr_assert_eq(bind(t->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(t->lfd, 1), 0);
    cr_assert_eq(getsockname(t->lfd, (struct sockaddr *)&a, &len), 0);
    t->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&t->th, NULL, tap_main, t), 0);
}

/* The server answers the client's first bytes with, from one callback: a
 * 100-byte response (copied), a 100,000-byte body (by reference) and a
 * 60-byte end line (copied). */
#define BURST_HEAD 100
#define BURST_BODY 100000
#define BURST_TAIL 60
#define BURST_TOTAL (BURST_HEAD + BURST_BODY + BURST_TAIL)

struct burst {
    struct ur_loop *loop;
    struct ur_tls_ctx *srv_tls;
    struct ur_conn *server, *client;
    uint8_t *body;
    size_t received;
    int sent, body_done, client_closed;
};

static void burst_body_sent(struct ur_conn *c, void *arg, int err)
{
    struct burst *b = arg;
    (void)c;
    cr_assert_eq(err, 0);
    b->body_done++;
}

static void burst_srv_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct burst *b = ur_conn_data(c);
    uint8_t head[BURST_HEAD], tail[BURST_TAIL];

    (void)p, (void)n, (void)buf;
    if (b->sent++)
        return;
    memset(head, 'h', sizeof(head));
    memset(tail, 't', sizeof(tail));
    cr_assert_eq(ur_conn_send_copy(c, head, sizeof(head)), 0);
    cr_assert_eq(ur_conn_send(c, b->body, BURST_BODY, NULL, burst_body_sent, b), 0);
    cr_assert_eq(ur_conn_send_copy(c, tail, sizeof(tail)), 0);
}

static const struct ur_conn_ops burst_srv_ops = {.on_data = burst_srv_data};

static void burst_accept(struct ur_listener *l, int fd, void *ud)
{
    struct burst *b = ud;
    (void)l;
    cr_assert_eq(ur_conn_adopt(b->loop, fd, b->srv_tls, &burst_srv_ops, b, &b->server), 0);
}

static void burst_cli_open(struct ur_conn *c, int err)
{
    cr_assert_eq(err, 0);
    cr_assert_eq(ur_conn_send_copy(c, "go", 2), 0);
}

static void burst_cli_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct burst *b = ur_conn_data(c);
    size_t at = b->received;

    (void)buf;
    for (size_t i = 0; i < n; i++, at++) {
        uint8_t want = at < BURST_HEAD ? 'h'
                       : at < BURST_HEAD + BURST_BODY ? b->body[at - BURST_HEAD]
                                                      : 't';
        cr_assert_eq(p[i], want, "byte %zu", at);
    }
    b->received += n;
    if (b->received == BURST_TOTAL)
        ur_conn_close(c);
}

static void burst_cli_close(struct ur_conn *c, int err)
{
    struct burst *b = ur_conn_data(c);
    (void)err;
    b->client_closed++;
    ur_loop_stop(b->loop);
}

static const struct ur_conn_ops burst_cli_ops = {
    .on_open = burst_cli_open, .on_data = burst_cli_data, .on_close = burst_cli_close,
};

/* Sends of one loop turn share records: the response, the body and the
 * end line leave as full 16 KiB records and one last shorter record, not
 * as a short record each (100 + 6 x 16384 + 1696 + 60 bytes before). The
 * records are the last application_data records the server sent (its
 * session tickets come before them). */
Test(uring_tls, sends_of_one_turn_fill_16k_records, .init = test_cert_make, .fini = test_cert_rm)
{
    struct ur_tls_config cc = {.insecure = 1};
    struct ur_tls_ctx *cli;
    struct ur_listener *l;
    struct burst b = {0};
    struct tap t;
    size_t full = BURST_TOTAL / 16384, last = BURST_TOTAL % 16384, recs = full + 1, first, ov;

    b.srv_tls = server_ctx();
    b.body = make_source(BURST_BODY);
    cr_assert_eq(ur_tls_ctx_new(&cli, &cc), 0);
    cr_assert_eq(ur_loop_new(&b.loop, NULL), 0);
    cr_assert_eq(ur_listen(b.loop, &l, "127.0.0.1", 0, 0, burst_accept, &b), 0);
    tap_start(&t, ur_listener_port(l));
    cr_assert_eq(ur_conn_connect_host(b.loop, "127.0.0.1", t.port, 2000, cli, "localhost",
                                      &burst_cli_ops, &b, &b.client), 0);
    run_bounded(b.loop, 15000);
    cr_assert_eq(b.received, BURST_TOTAL);
    cr_assert_eq(b.client_closed, 1);
    for (int i = 0; i < 100 && b.body_done == 0; i++)
        cr_assert_eq(ur_loop_run_once(b.loop, 50), 0);
    cr_assert_eq(b.body_done, 1, "the body's send completed once");
    ur_listener_close(l);
    ur_loop_free(b.loop); /* closes the server side: the tap sees EOF */
    pthread_join(t.th, NULL);
    close(t.lfd);

    /* Skip trailing non-data records (a close_notify alert). */
    while (t.n && t.type[t.n - 1] != 23)
        t.n--;
    cr_assert_geq(t.n, recs);
    first = t.n - recs;
    ov = t.len[first] - 16384u; /* AEAD tag + inner content type */
    cr_assert(ov > 0 && ov <= 64, "record overhead %zu", ov);
    for (size_t i = first; i < first + full; i++) {
        cr_assert_eq(t.type[i], 23);
        cr_assert_eq(t.len[i], 16384 + ov, "record %zu: %u bytes", i - first, t.len[i]);
    }
    cr_assert_eq(t.len[t.n - 1], last + ov);
    ur_tls_ctx_free(cli);
    ur_tls_ctx_free(b.srv_tls);
    free(b.body);
}

Test(uring_tls, unknown_cipher_list_is_einval)
{
    struct ur_tls_config tc = {.insecure = 1, .cipher_list = "NO-SUCH-CIPHER"};
    struct ur_tls_ctx *ctx;
    cr_assert_eq(ur_tls_ctx_new(&ctx, &tc), -EINVAL);
    cr_assert_null(ctx);
}

Test(uring_tls, missing_files_are_errors)
{
    struct ur_tls_config tc = {.server = 1, .cert_file = "/nonexistent/c.pem",
                               .key_file = "/nonexistent/k.pem"};
    struct ur_tls_ctx *ctx;
    cr_assert_eq(ur_tls_ctx_new(&ctx, &tc), -ENOENT);
    cr_assert_null(ctx);
}

/* ---- end of stream while the reader is paused ---- */

/* A peer writes a few dozen kilobytes and closes before the receiver's
 * first recv is armed, so data and FIN complete in one batch; the receiver
 * pauses on its first bytes and resumes later. Every byte that arrived
 * before the FIN must be delivered before on_close, never dropped. */
struct eofp {
    struct ur_loop *loop;
    struct ur_conn *srv;
    struct ur_timer adopt, resume;
    int fd;
    size_t got;
    size_t got_at_close;
    int close_err;
    int closes;
    int paused_once;
    wc_Sha256 h;
};

static void eofp_resume(struct ur_timer *t, void *arg)
{
    struct eofp *e = arg;
    (void)t;
    ur_conn_resume_read(e->srv);
}

static void eofp_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct eofp *e = ur_conn_data(c);
    (void)buf;
    e->got += n;
    wc_Sha256Update(&e->h, p, (word32)n);
    if (!e->paused_once) {
        e->paused_once = 1;
        ur_conn_pause_read(c);
        ur_timer_arm(e->loop, &e->resume, 200, 0);
    }
}

static void eofp_close(struct ur_conn *c, int err)
{
    struct eofp *e = ur_conn_data(c);
    e->got_at_close = e->got;
    e->close_err = err;
    e->closes++;
    ur_loop_stop(e->loop);
}

static const struct ur_conn_ops eofp_srv_ops = {.on_data = eofp_data, .on_close = eofp_close};

static void eofp_adopt(struct ur_timer *t, void *arg)
{
    struct eofp *e = arg;
    (void)t;
    cr_assert_eq(ur_conn_adopt(e->loop, e->fd, NULL, &eofp_srv_ops, e, &e->srv), 0);
}

static void eofp_accept(struct ur_listener *l, int fd, void *ud)
{
    struct eofp *e = ud;
    (void)l;
    /* Adopt later: by then the peer's bytes and FIN wait in the socket. */
    e->fd = fd;
    ur_timer_arm(e->loop, &e->adopt, 200, 0);
}

Test(uring_conn, eof_while_paused_delivers_everything)
{
    const size_t total = 48 * 1024;
    struct ur_loop_config cfg;
    struct ur_listener *l;
    struct eofp e;
    uint8_t *src = make_source(total);
    uint8_t want[32], got[32];
    struct sockaddr_in sa = {.sin_family = AF_INET};

    memset(&e, 0, sizeof(e));
    wc_InitSha256(&e.h);
    ur_loop_config_default(&cfg);
    cfg.buf_size = 4096; /* a dozen completions queue up behind the pause */
    cfg.buf_count = 64;
    cr_assert_eq(ur_loop_new(&e.loop, &cfg), 0);
    ur_timer_init(&e.resume, eofp_resume, &e);
    ur_timer_init(&e.adopt, eofp_adopt, &e);
    cr_assert_eq(ur_listen(e.loop, &l, "127.0.0.1", 0, 0, eofp_accept, &e), 0);

    /* A plain blocking peer: the kernel completes the handshake from the
     * listen backlog, and the bytes fit in the socket buffers. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    sa.sin_port = htons(ur_listener_port(l));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(write(fd, src, total), (ssize_t)total);
    close(fd);

    run_bounded(e.loop, 5000);
    cr_assert_eq(e.closes, 1);
    cr_assert_eq(e.close_err, 0);
    cr_assert_eq(e.got_at_close, total, "delivered %zu of %zu bytes before close",
                 e.got_at_close, total);
    sha(src, total, want);
    wc_Sha256Final(&e.h, got);
    cr_assert_arr_eq(got, want, 32);
    ur_listener_close(l);
    ur_loop_free(e.loop);
    free(src);
}

/* ---- handing a connection to another loop (ur_conn_detach) ----
 *
 * The client on the test thread's loop streams 3 MiB of random bytes in
 * random-sized writes to a server conn on the same loop, which detaches
 * after it has been given detach_at bytes (or at once, at accept: before a TLS handshake) and
 * passes those bytes back as pre. A loop on its own thread adopts the
 * handoff and echoes everything. The client checks the echo byte for byte:
 * any byte lost, doubled or reordered at the handoff -- or TLS state not
 * carried over -- fails it. */

#include <pthread.h>
#include <stdatomic.h>

#include "uring/runtime.h"

struct hand {
    struct ur_loop *loop;              /* the test thread's */
    struct ur_runtime *rt;             /* the adopting loop */
    struct ur_tls_ctx *srv_tls, *cli_tls;
    size_t detach_at;                  /* SIZE_MAX: detach before any data */
    uint8_t *pre;
    size_t pre_n;
    int detached, data_after_detach;
    struct stream out;
    /* Set on the adopting loop's thread (no cr_assert there). */
    atomic_int adopted_on_other, srv_closed, srv_open_err, srv_errors, srv_open_secure;
    atomic_size_t srv_bytes;
    int client_closed;
    /* Mid-handshake: the client goes through a plain TCP proxy on this
     * loop, which detaches the server conn the moment the server's first
     * flight reaches it -- the server has read the whole ClientHello and
     * written its answer, and the client cannot have sent its Finished. */
    int mid_handshake, detach_called, hs_done_at_detach;
    struct ur_conn *srv_conn;          /* the accepted conn, until detached */
    struct ur_conn *px_cli, *px_srv;   /* proxy: client side, server side */
    uint16_t srv_port;
    size_t up_bytes, down_bytes;       /* through the proxy, each way */
    uint8_t hello_hdr[5];              /* the client's first record header */
    size_t up_at_detach;
};

static void hand_srv_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct hand *h = ur_conn_data(c);
    atomic_fetch_add(&h->srv_bytes, n);
    if (echo_back(c, p, n, buf) != 0)
        atomic_fetch_add(&h->srv_errors, 1);
}

static void hand_srv_open(struct ur_conn *c, int err)
{
    struct hand *h = ur_conn_data(c);
    atomic_store(&h->srv_open_err, err);
    atomic_store(&h->srv_open_secure, ur_conn_tls_cipher(c) != NULL);
}

static void hand_srv_close(struct ur_conn *c, int err)
{
    struct hand *h = ur_conn_data(c);
    (void)err;
    atomic_fetch_add(&h->srv_closed, 1);
}

static const struct ur_conn_ops hand_srv_ops = {
    .on_open = hand_srv_open, .on_data = hand_srv_data, .on_drain = echo_srv_drain,
    .on_close = hand_srv_close,
};

static void hand_adopt(struct ur_loop *self, void *arg)
{
    struct ur_handoff *ho = arg;
    struct ur_conn *c;
    struct hand *h = *(struct hand **)ur_loop_data(self);
    if (self == ur_runtime_loop(h->rt, 0))
        atomic_store(&h->adopted_on_other, 1);
    if (ur_conn_adopt_handoff(self, ho, &hand_srv_ops, h, &c) != 0)
        atomic_fetch_add(&h->srv_errors, 1);
}

static void hand_detached(struct ur_conn *c, struct ur_handoff *ho, void *arg)
{
    struct hand *h = arg;
    cr_assert_eq(ur_conn_loop(c), h->loop);
    cr_assert_geq(ur_handoff_fd(ho), 0);
    h->detached = 1;
    cr_assert_eq(ur_loop_post(ur_runtime_loop(h->rt, 0), hand_adopt, ho), 0);
}

static void steer_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct hand *h = ur_conn_data(c);
    (void)buf;
    if (h->detached || h->detach_called || h->pre_n >= h->detach_at) {
        h->data_after_detach = 1;
        return;
    }
    h->pre = realloc(h->pre, h->pre_n + n);
    cr_assert_not_null(h->pre);
    memcpy(h->pre + h->pre_n, p, n);
    h->pre_n += n;
    if (h->pre_n >= h->detach_at)
        cr_assert_eq(ur_conn_detach(c, h->pre, h->pre_n, hand_detached, h), 0);
}

static void steer_close(struct ur_conn *c, int err)
{
    (void)c;
    cr_assert_fail("the detaching conn closed (%d) instead of handing off", err);
}

static const struct ur_conn_ops steer_ops = {.on_data = steer_data, .on_close = steer_close};

static void hand_accept(struct ur_listener *l, int fd, void *ud)
{
    struct hand *h = ud;
    struct ur_conn *c;
    (void)l;
    cr_assert_geq(fd, 0);
    cr_assert_eq(ur_conn_adopt(h->loop, fd, h->srv_tls, &steer_ops, h, &c), 0);
    h->srv_conn = c;
    if (h->mid_handshake)
        return; /* the proxy detaches it (px_srv_data) */
    if (h->detach_at == SIZE_MAX) /* before the handshake has even started */
        cr_assert_eq(ur_conn_detach(c, NULL, 0, hand_detached, h), 0);
}

static void hand_cli_open(struct ur_conn *c, int err)
{
    struct hand *h = ur_conn_data(c);
    cr_assert_eq(err, 0);
    stream_fill(c, &h->out);
}

static void hand_cli_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct hand *h = ur_conn_data(c);
    (void)buf;
    if (stream_check(&h->out, p, n))
        ur_conn_close(c);
}

/* The test loop stops once the client and the proxy (if any) are gone. */
static void hand_maybe_stop(struct hand *h)
{
    if (h->client_closed && !h->px_cli && !h->px_srv)
        ur_loop_stop(h->loop);
}

static void hand_cli_close(struct ur_conn *c, int err)
{
    struct hand *h = ur_conn_data(c);
    (void)err;
    h->client_closed++;
    hand_maybe_stop(h);
}

static const struct ur_conn_ops hand_cli_ops = {
    .on_open = hand_cli_open, .on_data = hand_cli_data, .on_close = hand_cli_close,
};

/* ---- the proxy of the mid-handshake case ---- */

static void px_cli_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct hand *h = ur_conn_data(c);
    for (size_t i = 0; i < n && h->up_bytes + i < sizeof(h->hello_hdr); i++)
        h->hello_hdr[h->up_bytes + i] = p[i];
    h->up_bytes += n;
    cr_assert_eq(ur_conn_send(h->px_srv, p, n, buf, NULL, NULL), 0);
}

static void px_srv_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct hand *h = ur_conn_data(c);
    if (h->down_bytes == 0) {
        /* The server's first flight: it has read the ClientHello and is
         * waiting for the client's Finished, which cannot exist before
         * these bytes reach the client. Detach now. */
        cr_assert_not_null(h->srv_conn);
        h->hs_done_at_detach = ur_conn_tls_cipher(h->srv_conn) != NULL;
        h->up_at_detach = h->up_bytes;
        h->detach_called = 1;
        cr_assert_eq(ur_conn_detach(h->srv_conn, NULL, 0, hand_detached, h), 0);
        h->srv_conn = NULL;
    }
    h->down_bytes += n;
    cr_assert_eq(ur_conn_send(h->px_cli, p, n, buf, NULL, NULL), 0);
}

/* Either side's close ends the other once its queue has gone out. */
static void px_close(struct ur_conn *c, int err)
{
    struct hand *h = ur_conn_data(c);
    (void)err;
    if (c == h->px_cli) {
        h->px_cli = NULL;
        if (h->px_srv)
            ur_conn_close_after_flush(h->px_srv);
    } else {
        h->px_srv = NULL;
        if (h->px_cli)
            ur_conn_close_after_flush(h->px_cli);
    }
    hand_maybe_stop(h);
}

static const struct ur_conn_ops px_cli_ops = {.on_data = px_cli_data, .on_close = px_close};
static const struct ur_conn_ops px_srv_ops = {.on_data = px_srv_data, .on_close = px_close};

static void px_accept(struct ur_listener *l, int fd, void *ud)
{
    struct hand *h = ud;
    (void)l;
    cr_assert_geq(fd, 0);
    cr_assert_null(h->px_cli, "one client only");
    cr_assert_eq(ur_conn_adopt(h->loop, fd, NULL, &px_cli_ops, h, &h->px_cli), 0);
    cr_assert_eq(ur_conn_connect_host(h->loop, "127.0.0.1", h->srv_port, 2000, NULL, NULL,
                                      &px_srv_ops, h, &h->px_srv), 0);
}

static struct hand *hand_current;

static int hand_init(struct ur_loop *loop, unsigned idx, void *ud)
{
    (void)idx;
    (void)ud;
    ur_loop_set_data(loop, &hand_current);
    return 0;
}

static void run_handoff_ex(struct ur_tls_ctx *srv_tls, struct ur_tls_ctx *cli_tls,
                           size_t detach_at, int mid_handshake)
{
    struct hand *h = calloc(1, sizeof(*h));
    struct ur_runtime_config rc;
    struct ur_listener *l, *pl = NULL;
    struct ur_conn *cli;
    uint16_t port;

    cr_assert_not_null(h);
    hand_current = h;
    h->srv_tls = srv_tls;
    h->cli_tls = cli_tls;
    h->detach_at = detach_at;
    h->mid_handshake = mid_handshake;
    h->out = (struct stream){.src = make_source(3u << 20), .total = 3u << 20,
                             .big = 100 * 1024, .small = 1500, .window = 256 * 1024};
    memset(&rc, 0, sizeof(rc));
    rc.threads = 1;
    rc.init = hand_init;
    cr_assert_eq(ur_runtime_start(&h->rt, &rc), 0);
    cr_assert_eq(ur_loop_new(&h->loop, NULL), 0);
    cr_assert_eq(ur_listen(h->loop, &l, "127.0.0.1", 0, 0, hand_accept, h), 0);
    port = h->srv_port = ur_listener_port(l);
    if (mid_handshake) {
        cr_assert_eq(ur_listen(h->loop, &pl, "127.0.0.1", 0, 0, px_accept, h), 0);
        port = ur_listener_port(pl);
    }
    cr_assert_eq(ur_conn_connect_host(h->loop, "127.0.0.1", port, 2000, cli_tls, NULL,
                                      &hand_cli_ops, h, &cli), 0);
    run_bounded(h->loop, 20000);
    if (mid_handshake) {
        /* Detached with exactly the ClientHello read and the handshake
         * not finished; the adopting loop finished it (on_open saw the
         * cipher) and then got every byte. */
        cr_assert(h->detach_called);
        cr_assert_eq(h->hs_done_at_detach, 0, "the handshake was already done at detach");
        cr_assert_eq(h->hello_hdr[0], 22, "the client's first record is not a handshake");
        cr_assert_eq(h->up_at_detach, 5u + ((size_t)h->hello_hdr[3] << 8 | h->hello_hdr[4]),
                     "detached after %zu bytes, not after the ClientHello", h->up_at_detach);
        cr_assert_gt(h->up_bytes, h->up_at_detach);
        cr_assert_eq(atomic_load(&h->srv_open_secure), 1);
        ur_listener_close(pl);
    }
    cr_assert_eq(h->client_closed, 1);
    cr_assert_eq(h->out.received, h->out.total);
    cr_assert(h->detached);
    cr_assert_eq(h->data_after_detach, 0, "on_data after ur_conn_detach()");
    cr_assert(atomic_load(&h->adopted_on_other));
    cr_assert_eq(atomic_load(&h->srv_open_err), 0);
    cr_assert_eq(atomic_load(&h->srv_errors), 0);
    /* The adopting loop saw the whole stream, pre included, then the close. */
    for (int i = 0; i < 200 && atomic_load(&h->srv_closed) == 0; i++)
        usleep(10000);
    cr_assert_eq(atomic_load(&h->srv_closed), 1);
    cr_assert_eq(atomic_load(&h->srv_bytes), h->out.total);
    if (detach_at != SIZE_MAX)
        cr_assert_geq(h->pre_n, detach_at);
    struct ur_loop_stats st;
    ur_loop_get_stats(h->loop, &st);
    cr_assert_eq(st.conns_open, 0);
    cr_assert_eq(st.bufs_out, 0, "ring buffers leaked");
    ur_listener_close(l);
    ur_loop_free(h->loop); /* first: a post from a loop thread rides its ring */
    ur_runtime_stop(h->rt);
    cr_assert_eq(ur_runtime_join(h->rt), 0);
    free(h->pre);
    free((void *)h->out.src);
    free(h);
}

static void run_handoff(struct ur_tls_ctx *srv_tls, struct ur_tls_ctx *cli_tls,
                        size_t detach_at)
{
    run_handoff_ex(srv_tls, cli_tls, detach_at, 0);
}

Test(uring_handoff, plain_after_first_bytes) { run_handoff(NULL, NULL, 1); }
Test(uring_handoff, plain_after_100k) { run_handoff(NULL, NULL, 100000); }
Test(uring_handoff, plain_before_any_data) { run_handoff(NULL, NULL, SIZE_MAX); }

/* TLS: an insecure client against the test certificate. */
static void run_tls_handoff_ex(size_t detach_at, int mid_handshake)
{
    struct ur_tls_config cc = {.insecure = 1};
    struct ur_tls_ctx *srv = server_ctx(), *cli;
    cr_assert_eq(ur_tls_ctx_new(&cli, &cc), 0);
    run_handoff_ex(srv, cli, detach_at, mid_handshake);
    /* Every connection's WOLFSSL, the handed-over one included, is gone. */
    cr_assert_eq(ur_tls_ctx_refs(srv), 1, "a server WOLFSSL outlived its connection");
    cr_assert_eq(ur_tls_ctx_refs(cli), 1);
    ur_tls_ctx_free(cli);
    ur_tls_ctx_free(srv);
}

static void run_tls_handoff(size_t detach_at) { run_tls_handoff_ex(detach_at, 0); }

Test(uring_handoff, tls_after_first_record, .init = test_cert_make, .fini = test_cert_rm)
{
    run_tls_handoff(1);
}

Test(uring_handoff, tls_after_100k, .init = test_cert_make, .fini = test_cert_rm)
{
    run_tls_handoff(100000);
}

/* Detached at accept, before the server has read the ClientHello: the
 * adopting loop runs the whole handshake. (The relay itself detaches a TLS
 * connection only after its handshake and first header section,
 * relay_steer.c, which tls_after_first_record covers; a detach in the
 * middle of a handshake is not a path it takes.) */
Test(uring_handoff, tls_before_handshake, .init = test_cert_make, .fini = test_cert_rm)
{
    run_tls_handoff(SIZE_MAX);
}

/* Detached in the middle of the handshake: the server has read the whole
 * ClientHello (exactly that record, counted by the proxy) and written its
 * flight, and the client's Finished is still to come. The WOLFSSL object
 * with its handshake state travels in the handoff; the adopting loop reads
 * the Finished, completes the handshake (on_open with a cipher) and gets
 * the whole 3 MiB stream, which it echoes. */
Test(uring_handoff, tls_mid_handshake, .init = test_cert_make, .fini = test_cert_rm)
{
    run_tls_handoff_ex(SIZE_MAX, 1);
}

/*
 * Reference-counted TLS contexts (issue 10 row 12): a reload drops the
 * daemon's reference on the old contexts while connections still use
 * them. Each connection holds its own, so the contexts live (and the
 * connections keep working) until the last connection closes, and are
 * freed then -- under ASan a use after free or a leak fails this test.
 */
struct rtls {
    struct ur_loop *loop;
    struct ur_tls_ctx *srv_ctx;
    struct ur_conn *srv, *cli;
    int cli_open, closed;
    char got[16];
    size_t got_n;
};

static void rtls_srv_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    (void)buf;
    ur_conn_send_copy(c, p, n); /* echo */
}

static void rtls_cli_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct rtls *r = ur_conn_data(c);
    (void)buf;
    for (size_t i = 0; i < n && r->got_n < sizeof(r->got) - 1; i++)
        r->got[r->got_n++] = (char)p[i];
}

static void rtls_open(struct ur_conn *c, int err)
{
    struct rtls *r = ur_conn_data(c);
    cr_assert_eq(err, 0);
    r->cli_open = 1;
}

static void rtls_close(struct ur_conn *c, int err)
{
    struct rtls *r = ur_conn_data(c);
    (void)err;
    r->closed++;
}

static const struct ur_conn_ops rtls_srv_ops = {.on_data = rtls_srv_data, .on_close = rtls_close};
static const struct ur_conn_ops rtls_cli_ops = {
    .on_open = rtls_open, .on_data = rtls_cli_data, .on_close = rtls_close};

static void rtls_accept(struct ur_listener *l, int fd, void *ud)
{
    struct rtls *r = ud;
    (void)l;
    cr_assert_eq(ur_conn_adopt(r->loop, fd, r->srv_ctx, &rtls_srv_ops, r, &r->srv), 0);
}

Test(uring_tls, ctx_lives_until_its_last_connection_closes, .init = test_cert_make, .fini = test_cert_rm)
{
    struct ur_tls_config cc = {.insecure = 1};
    struct ur_tls_ctx *cli_ctx;
    struct ur_listener *l;
    struct rtls r = {0};

    r.srv_ctx = server_ctx();
    cr_assert_eq(ur_tls_ctx_new(&cli_ctx, &cc), 0);
    cr_assert_eq(ur_tls_ctx_refs(r.srv_ctx), 1);
    cr_assert_eq(ur_loop_new(&r.loop, NULL), 0);
    cr_assert_eq(ur_listen(r.loop, &l, "127.0.0.1", 0, 0, rtls_accept, &r), 0);
    cr_assert_eq(ur_conn_connect_host(r.loop, "127.0.0.1", ur_listener_port(l), 2000, cli_ctx,
                                      "localhost", &rtls_cli_ops, &r, &r.cli), 0);
    for (int i = 0; i < 300 && !(r.cli_open && r.srv); i++)
        ur_loop_run_once(r.loop, 10);
    cr_assert(r.cli_open && r.srv);
    cr_assert_eq(ur_tls_ctx_refs(r.srv_ctx), 2, "the server connection holds a reference");
    cr_assert_eq(ur_tls_ctx_refs(cli_ctx), 2, "the client connection holds a reference");

    /* The reload: the owner lets go of both contexts. */
    struct ur_tls_ctx *srv_ctx = r.srv_ctx;
    ur_tls_ctx_free(r.srv_ctx);
    ur_tls_ctx_free(cli_ctx);
    r.srv_ctx = NULL;
    cr_assert_eq(ur_tls_ctx_refs(srv_ctx), 1);
    cr_assert_eq(ur_tls_ctx_refs(cli_ctx), 1);

    /* Both connections still work: records through wolfSSL both ways. */
    cr_assert_eq(ur_conn_send_copy(r.cli, "ping", 4), 0);
    for (int i = 0; i < 300 && r.got_n < 4; i++)
        ur_loop_run_once(r.loop, 10);
    cr_assert_str_eq(r.got, "ping");

    /* The last connections go: the contexts go with them (ASan: no leak,
     * no use after free from the close_notify both sides send). */
    ur_conn_close_after_flush(r.cli);
    for (int i = 0; i < 300 && r.closed < 2; i++)
        ur_loop_run_once(r.loop, 10);
    cr_assert_eq(r.closed, 2);
    ur_listener_close(l);
    ur_loop_free(r.loop);
}
