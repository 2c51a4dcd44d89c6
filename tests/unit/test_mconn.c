/*
 * test_mconn.c: MSRP framing over a real uring connection on 127.0.0.1:
 * events in order, and flow control -- a callback that stalls must get
 * every later event after gw_mconn_resume(), including the end of a
 * bodyless frame whose bytes all arrived with its head.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "gateway/wire/mconn.h"
#include "uring/buf.h"
#include "uring/conn.h"
#include "uring/listener.h"
#include "uring/loop.h"
#include "uring/timer.h"

struct rig {
    struct ur_loop *loop;
    struct gw_mconn *srv;
    struct ur_timer resume, watchdog;
    int stall_heads;   /* on_head stalls for the first N heads */
    int again;         /* then answers GW_MCONN_AGAIN this many times */
    int heads, ends;
    char tids[8][16];  /* the tid of each on_head call */
    int ends_at_head[8]; /* ends seen by then */
    char flags[8];
    size_t body;
    int timed_out;
};

static void resume_cb(struct ur_timer *t, void *arg)
{
    struct rig *r = arg;
    (void)t;
    gw_mconn_resume(r->srv);
}

static void watchdog_cb(struct ur_timer *t, void *arg)
{
    struct rig *r = arg;
    (void)t;
    r->timed_out = 1;
    ur_loop_stop(r->loop);
}

static int on_head(struct gw_mconn *m, const struct msrp_head *h)
{
    struct rig *r = gw_mconn_data(m);
    if (r->heads < 8) {
        snprintf(r->tids[r->heads], sizeof(r->tids[0]), "%.*s", (int)h->tid.n, h->tid.p);
        r->ends_at_head[r->heads] = r->ends;
    }
    if (r->heads++ < r->stall_heads) {
        ur_timer_arm(r->loop, &r->resume, 50, 0);
        return GW_MCONN_STALL;
    }
    if (r->again > 0) {
        r->again--;
        ur_timer_arm(r->loop, &r->resume, 20, 0);
        return GW_MCONN_AGAIN;
    }
    return GW_MCONN_CONTINUE;
}

static int on_body(struct gw_mconn *m, const struct msrp_head *h, const char *p, size_t n,
                   uint64_t off, struct ur_buf *buf)
{
    struct rig *r = gw_mconn_data(m);
    (void)h, (void)p, (void)off, (void)buf;
    r->body += n;
    return GW_MCONN_CONTINUE;
}

static int on_end(struct gw_mconn *m, const struct msrp_head *h, char flag)
{
    struct rig *r = gw_mconn_data(m);
    (void)h;
    if (r->ends < (int)sizeof(r->flags) - 1)
        r->flags[r->ends] = flag;
    r->ends++;
    if (r->ends == 2)
        ur_loop_stop(r->loop);
    return GW_MCONN_CONTINUE;
}

static void on_close(struct gw_mconn *m, int err)
{
    (void)m, (void)err;
}

static const struct gw_mconn_ops srv_ops = {
    .on_head = on_head, .on_body = on_body, .on_end = on_end, .on_close = on_close,
};

static void on_accept(struct ur_listener *l, int fd, void *ud)
{
    struct rig *r = ud;
    (void)l;
    cr_assert_eq(gw_mconn_adopt(r->loop, fd, NULL, NULL, &srv_ops, r, &r->srv), 0);
}

static void cli_close(struct ur_conn *c, int err)
{
    (void)c, (void)err;
}
static const struct ur_conn_ops cli_ops = { .on_close = cli_close };

static const char bodyless[] = "MSRP a1b2c3 SEND\r\n"
                               "To-Path: msrp://127.0.0.1:9/s1;tcp\r\n"
                               "From-Path: msrp://127.0.0.1:8/s2;tcp\r\n"
                               "Message-ID: m1\r\n"
                               "-------a1b2c3$\r\n";
static const char with_body[] = "MSRP d4e5f6 SEND\r\n"
                                "To-Path: msrp://127.0.0.1:9/s1;tcp\r\n"
                                "From-Path: msrp://127.0.0.1:8/s2;tcp\r\n"
                                "Message-ID: m2\r\n"
                                "Byte-Range: 1-5/5\r\n"
                                "Content-Type: text/plain\r\n"
                                "\r\n"
                                "hello\r\n"
                                "-------d4e5f6$\r\n";

/* Sends the frames in separate writes, the way a client sends a binding
 * SEND and waits; stalling at each head must not lose the frame end. */
static void run_again(int stall_heads, int one_write, int again, struct rig *out)
{
    struct rig r;
    struct ur_listener *l;
    struct ur_conn *cli;
    memset(&r, 0, sizeof(r));
    r.stall_heads = stall_heads;
    r.again = again;
    cr_assert_eq(ur_loop_new(&r.loop, NULL), 0);
    ur_timer_init(&r.resume, resume_cb, &r);
    ur_timer_init(&r.watchdog, watchdog_cb, &r);
    cr_assert_eq(ur_listen(r.loop, &l, "127.0.0.1", 0, 0, on_accept, &r), 0);
    cr_assert_eq(ur_conn_connect_host(r.loop, "127.0.0.1", ur_listener_port(l), 1000, NULL, NULL,
                                      &cli_ops, &r, &cli), 0);
    if (one_write) {
        char both[sizeof(bodyless) + sizeof(with_body)];
        memcpy(both, bodyless, sizeof(bodyless) - 1);
        memcpy(both + sizeof(bodyless) - 1, with_body, sizeof(with_body) - 1);
        cr_assert_eq(ur_conn_send_copy(cli, both, sizeof(bodyless) + sizeof(with_body) - 2), 0);
    } else {
        cr_assert_eq(ur_conn_send_copy(cli, bodyless, sizeof(bodyless) - 1), 0);
    }
    ur_timer_arm(r.loop, &r.watchdog, 3000, 0);
    /* Run until the first frame ended (or the watchdog), then send the
     * second frame only if the first one was fully delivered. */
    while (!r.timed_out && r.ends < 1)
        cr_assert_eq(ur_loop_run_once(r.loop, -1), 0);
    cr_assert_eq(r.timed_out, 0, "the bodyless frame never ended after resume");
    if (!one_write)
        cr_assert_eq(ur_conn_send_copy(cli, with_body, sizeof(with_body) - 1), 0);
    while (!r.timed_out && r.ends < 2)
        cr_assert_eq(ur_loop_run_once(r.loop, -1), 0);
    cr_assert_eq(r.timed_out, 0, "the second frame never ended");
    cr_assert_eq(r.heads, 2 + again);
    cr_assert_eq(r.ends, 2);
    struct gw_mconn_stats st;
    gw_mconn_get_stats(r.srv, &st);
    cr_assert_eq(st.frames_in, 2, "a head delivered again is one frame");
    cr_assert_str_eq(r.flags, "$$");
    cr_assert_eq(r.body, 5);
    ur_timer_cancel(r.loop, &r.watchdog);
    ur_timer_cancel(r.loop, &r.resume);
    ur_conn_close(cli);
    gw_mconn_close(r.srv);
    for (int i = 0; i < 20; i++)
        ur_loop_run_once(r.loop, 10);
    ur_listener_close(l);
    ur_loop_free(r.loop);
    if (out)
        *out = r;
}

static void run(int stall_heads, int one_write)
{
    run_again(stall_heads, one_write, 0, NULL);
}

/* GW_MCONN_AGAIN: the same head again after each resume, nothing of the
 * frame (its end, the next frame) before the owner takes it. */
Test(mconn, again_delivers_the_same_head_after_resume)
{
    struct rig r;
    run_again(0, 1, 2, &r);
    static const char *want[4] = { "a1b2c3", "a1b2c3", "a1b2c3", "d4e5f6" };
    for (int i = 0; i < 4; i++)
        cr_assert_str_eq(r.tids[i], want[i], "head %d: %s", i, r.tids[i]);
    cr_assert_eq(r.ends_at_head[2], 0, "the frame ended before its head was taken");
    cr_assert_eq(r.ends_at_head[3], 1);
}

Test(mconn, stall_at_bodyless_head_then_resume_delivers_its_end)
{
    run(1, 0);
}

Test(mconn, stall_at_every_head_of_back_to_back_frames)
{
    run(2, 1);
}

Test(mconn, no_stall)
{
    run(0, 0);
}

/*
 * Self-backpressure (row 1 of issue 10): a peer that sends requests and
 * never reads the answers. The server side's socket send buffer and the
 * client's receive buffer are made small so unsent answers queue in the
 * connection at once; the ceiling is 64 KiB, the low watermark 16 KiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define BP_CEILING (64u << 10)
#define BP_LOW (16u << 10)

struct bp {
    struct ur_loop *loop;
    struct gw_mconn *srv;
    int heads, ends;
    int stall_first;      /* on_head of the first frame queues blast and stalls */
    size_t blast;
    int blast_rc;
    int closed, close_err;
    int cfd;              /* the raw client socket */
    size_t got;           /* bytes the client read */
};

static int bp_on_head(struct gw_mconn *m, const struct msrp_head *h)
{
    struct bp *b = gw_mconn_data(m);
    if (b->heads++ == 0 && b->blast) {
        static char big[512u << 10];
        b->blast_rc = gw_mconn_send_copy(m, big, b->blast);
        if (b->stall_first)
            return GW_MCONN_STALL;
        return GW_MCONN_CONTINUE;
    }
    gw_mconn_respond(m, h, 200, "OK", NULL);
    return GW_MCONN_CONTINUE;
}

static int bp_on_body(struct gw_mconn *m, const struct msrp_head *h, const char *p, size_t n,
                      uint64_t off, struct ur_buf *buf)
{
    (void)m, (void)h, (void)p, (void)n, (void)off, (void)buf;
    return GW_MCONN_CONTINUE;
}

static int bp_on_end(struct gw_mconn *m, const struct msrp_head *h, char flag)
{
    struct bp *b = gw_mconn_data(m);
    (void)h, (void)flag;
    b->ends++;
    return GW_MCONN_CONTINUE;
}

static void bp_on_close(struct gw_mconn *m, int err)
{
    struct bp *b = gw_mconn_data(m);
    b->closed = 1;
    b->close_err = err;
    b->srv = NULL;
}

static const struct gw_mconn_ops bp_ops = {
    .on_head = bp_on_head, .on_body = bp_on_body, .on_end = bp_on_end, .on_close = bp_on_close,
};

static void bp_accept(struct ur_listener *l, int fd, void *ud)
{
    struct bp *b = ud;
    int small = 4096;
    (void)l;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    cr_assert_eq(gw_mconn_adopt(b->loop, fd, NULL, NULL, &bp_ops, b, &b->srv), 0);
}

static void bp_start(struct bp *b, struct ur_listener **l, size_t hard_limit)
{
    struct ur_loop_config cfg;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int small = 4096;

    ur_loop_config_default(&cfg);
    cfg.conn_mem_ceiling = BP_CEILING;
    cfg.conn_low_watermark = BP_LOW;
    cfg.conn_hard_limit = hard_limit;
    cr_assert_eq(ur_loop_new(&b->loop, &cfg), 0);
    cr_assert_eq(ur_listen(b->loop, l, "127.0.0.1", 0, 0, bp_accept, b), 0);
    b->cfd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(b->cfd, 0);
    setsockopt(b->cfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    a.sin_port = htons(ur_listener_port(*l));
    cr_assert_eq(connect(b->cfd, (struct sockaddr *)&a, sizeof(a)), 0);
    fcntl(b->cfd, F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 100 && !b->srv; i++)
        ur_loop_run_once(b->loop, 10);
    cr_assert_not_null(b->srv);
}

static void bp_stop(struct bp *b, struct ur_listener *l)
{
    close(b->cfd);
    if (b->srv)
        gw_mconn_close(b->srv);
    for (int i = 0; i < 20; i++)
        ur_loop_run_once(b->loop, 10);
    ur_listener_close(l);
    ur_loop_free(b->loop);
}

/* Runs the loop for ms, writing out[*off..] as the socket takes it and,
 * if read_it, reading (and counting) what the server sent. Stops early
 * when done(b) holds. */
static void bp_pump(struct bp *b, const char *out, size_t out_n, size_t *off, int read_it, int ms,
                    int (*done)(const struct bp *b))
{
    uint64_t end = ur_now_ns() + (uint64_t)ms * 1000000u;
    while (ur_now_ns() < end && !(done && done(b))) {
        if (out && *off < out_n) {
            ssize_t w = write(b->cfd, out + *off, out_n - *off);
            if (w > 0)
                *off += (size_t)w;
        }
        if (read_it) {
            char buf[65536];
            ssize_t r;
            while ((r = read(b->cfd, buf, sizeof(buf))) > 0)
                b->got += (size_t)r;
        }
        ur_loop_run_once(b->loop, 2);
    }
}

#define BP_FRAMES 3000

static char *bp_requests(size_t *n)
{
    size_t one = sizeof(bodyless) - 1;
    char *p = malloc(one * BP_FRAMES);
    cr_assert_not_null(p);
    for (size_t i = 0; i < BP_FRAMES; i++)
        memcpy(p + i * one, bodyless, one);
    *n = one * BP_FRAMES;
    return p;
}

static int bp_all_answered(const struct bp *b)
{
    return b->heads == BP_FRAMES && b->srv && !gw_mconn_output_blocked(b->srv) &&
           gw_mconn_pending(b->srv) == 0;
}

Test(mconn, unread_responses_stop_reading_at_the_ceiling_and_resume_after_drain)
{
    struct bp b = {0};
    struct ur_listener *l;
    size_t n, off = 0;
    char *req = bp_requests(&n);

    bp_start(&b, &l, 0);
    /* 3000 requests (about 420 KB) whose 200s (about 390 KB) nobody reads. */
    bp_pump(&b, req, n, &off, 0, 500, NULL);
    cr_assert(gw_mconn_output_blocked(b.srv), "input not stopped; %zu bytes queued",
              gw_mconn_pending(b.srv));
    cr_assert_lt(b.heads, BP_FRAMES);
    struct ur_conn_stats st;
    ur_conn_get_stats(gw_mconn_conn(b.srv), &st);
    /* At most one answer past the ceiling. */
    cr_assert_leq(st.pending_max, BP_CEILING + 512, "queued %zu", st.pending_max);
    int heads_blocked = b.heads;
    bp_pump(&b, req, n, &off, 0, 200, NULL);
    cr_assert_eq(b.heads, heads_blocked, "events delivered while output is over the ceiling");
    /* The peer reads: everything is answered, in bounded memory. */
    bp_pump(&b, req, n, &off, 1, 5000, bp_all_answered);
    cr_assert(bp_all_answered(&b), "heads %d of %d, blocked %d", b.heads, BP_FRAMES,
              b.srv ? gw_mconn_output_blocked(b.srv) : -1);
    bp_pump(&b, NULL, 0, &off, 1, 100, NULL); /* the last bytes in flight */
    ur_conn_get_stats(gw_mconn_conn(b.srv), &st);
    cr_assert_leq(st.pending_max, BP_CEILING + 512);
    cr_assert_eq(b.got, st.bytes_out);
    free(req);
    bp_stop(&b, l);
}

static int bp_two_ends(const struct bp *b)
{
    return b->ends == 2;
}

/* Frame 1's head queues 200 KiB that the peer does not read and stalls (a
 * relay waiting for its next hop): both reasons hold. Input must flow again
 * only once both cleared, whichever clears first. */
static void both_stalls(int resume_first)
{
    struct bp b = {0};
    struct ur_listener *l;
    char both[sizeof(bodyless) + sizeof(with_body)];
    size_t n = sizeof(bodyless) + sizeof(with_body) - 2, off = 0;

    memcpy(both, bodyless, sizeof(bodyless) - 1);
    memcpy(both + sizeof(bodyless) - 1, with_body, sizeof(with_body) - 1);
    b.stall_first = 1;
    b.blast = 200u << 10;
    bp_start(&b, &l, 0);
    bp_pump(&b, both, n, &off, 0, 200, NULL);
    cr_assert_eq(b.blast_rc, 0);
    cr_assert_eq(b.heads, 1);
    cr_assert(gw_mconn_stalled(b.srv));
    cr_assert(gw_mconn_output_blocked(b.srv));
    if (resume_first) {
        gw_mconn_resume(b.srv); /* the next hop is ready, the peer still reads nothing */
        bp_pump(&b, NULL, 0, &off, 0, 200, NULL);
        cr_assert_eq(b.ends, 0, "an event came while the output was over the ceiling");
        cr_assert(gw_mconn_output_blocked(b.srv));
        bp_pump(&b, NULL, 0, &off, 1, 3000, bp_two_ends); /* now the peer reads */
    } else {
        bp_pump(&b, NULL, 0, &off, 1, 3000, NULL); /* drained, still stalled */
        cr_assert(!gw_mconn_output_blocked(b.srv));
        cr_assert(gw_mconn_stalled(b.srv));
        cr_assert_eq(b.ends, 0, "an event came while the owner stalled");
        gw_mconn_resume(b.srv);
        bp_pump(&b, NULL, 0, &off, 1, 3000, bp_two_ends);
    }
    cr_assert_eq(b.heads, 2);
    cr_assert_eq(b.ends, 2);
    cr_assert(!gw_mconn_stalled(b.srv));
    cr_assert(!gw_mconn_output_blocked(b.srv));
    bp_stop(&b, l);
}

Test(mconn, owner_stall_and_output_stall_resume_after_resume_then_drain)
{
    both_stalls(1);
}

Test(mconn, owner_stall_and_output_stall_resume_after_drain_then_resume)
{
    both_stalls(0);
}

/* Output backpressure cannot stop (here: the owner's own blast) past the
 * hard limit closes the connection with -ENOBUFS. */
Test(mconn, output_past_the_hard_limit_closes_with_enobufs)
{
    struct bp b = {0};
    struct ur_listener *l;
    size_t n = sizeof(bodyless) - 1, off = 0;

    b.blast = 300u << 10;
    bp_start(&b, &l, 256u << 10);
    bp_pump(&b, bodyless, n, &off, 0, 300, NULL);
    cr_assert_eq(b.blast_rc, -ENOBUFS);
    cr_assert(b.closed);
    cr_assert_eq(b.close_err, -ENOBUFS);
    bp_stop(&b, l);
}

/* --- the output frame lock (gw_mconn_frame_begin) ---------------------------------- */

/* The server writes a frame in parts around the client's requests: its
 * head at the first request, its end-line at request `end_at` (0: never,
 * the test ends it); every request is answered with gw_mconn_respond. */
struct lk {
    struct bp b;
    int end_at;
};

static const char lk_open[] = "MSRP open01 SEND\r\nTo-Path: msrp://x/y;tcp\r\n"
                              "From-Path: msrp://x/z;tcp\r\nByte-Range: 1-*/*\r\n"
                              "Content-Type: text/plain\r\n\r\nbody";
static const char lk_end[] = "\r\n-------open01$\r\n";

static int lk_on_head(struct gw_mconn *m, const struct msrp_head *h)
{
    struct lk *k = gw_mconn_data(m);
    int i = k->b.heads++;
    if (i == 0) {
        cr_assert_eq(gw_mconn_send_copy(m, lk_open, sizeof(lk_open) - 1), 0);
        gw_mconn_frame_begin(m);
    }
    if (k->end_at && i == k->end_at) {
        cr_assert_eq(gw_mconn_send_copy(m, lk_end, sizeof(lk_end) - 1), 0);
        cr_assert_eq(gw_mconn_frame_end(m), 0);
    }
    gw_mconn_respond(m, h, 200, "OK", NULL);
    return GW_MCONN_CONTINUE;
}

static int lk_on_end(struct gw_mconn *m, const struct msrp_head *h, char flag)
{
    (void)h, (void)flag;
    struct lk *k = gw_mconn_data(m);
    k->b.ends++;
    return GW_MCONN_CONTINUE;
}

static const struct gw_mconn_ops lk_ops = {
    .on_head = lk_on_head, .on_body = bp_on_body, .on_end = lk_on_end, .on_close = bp_on_close,
};

static void lk_accept(struct ur_listener *l, int fd, void *ud)
{
    struct lk *k = ud;
    (void)l;
    cr_assert_eq(gw_mconn_adopt(k->b.loop, fd, NULL, NULL, &lk_ops, k, &k->b.srv), 0);
}

static void lk_start(struct lk *k, struct ur_listener **l, size_t hard_limit)
{
    struct ur_loop_config cfg;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ur_loop_config_default(&cfg);
    cfg.conn_mem_ceiling = BP_CEILING;
    cfg.conn_low_watermark = BP_LOW;
    cfg.conn_hard_limit = hard_limit;
    cr_assert_eq(ur_loop_new(&k->b.loop, &cfg), 0);
    cr_assert_eq(ur_listen(k->b.loop, l, "127.0.0.1", 0, 0, lk_accept, k), 0);
    k->b.cfd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(k->b.cfd, 0);
    a.sin_port = htons(ur_listener_port(*l));
    cr_assert_eq(connect(k->b.cfd, (struct sockaddr *)&a, sizeof(a)), 0);
    fcntl(k->b.cfd, F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 100 && !k->b.srv; i++)
        ur_loop_run_once(k->b.loop, 10);
    cr_assert_not_null(k->b.srv);
}

/* Runs the loop until `want` bytes came back (kept in out) or ms passed. */
static size_t lk_read(struct lk *k, char *out, size_t cap, size_t want, int ms)
{
    size_t got = 0;
    uint64_t end = ur_now_ns() + (uint64_t)ms * 1000000u;
    while (got < want && ur_now_ns() < end) {
        ssize_t r = read(k->b.cfd, out + got, cap - got);
        if (r > 0)
            got += (size_t)r;
        ur_loop_run_once(k->b.loop, 2);
    }
    return got;
}

static const char lk_ok[] = "MSRP a1b2c3 200 OK\r\nTo-Path: msrp://127.0.0.1:8/s2;tcp\r\n"
                            "From-Path: msrp://127.0.0.1:9/s1;tcp\r\n-------a1b2c3$\r\n";

/* Answers written while the frame is open follow its end-line, in order;
 * the one after it goes out at once. */
Test(mconn, answers_wait_for_the_open_frame_and_keep_their_order)
{
    struct lk k = { .end_at = 3 };
    struct ur_listener *l;
    lk_start(&k, &l, 0);
    char in[4 * sizeof(bodyless)];
    for (int i = 0; i < 4; i++)
        memcpy(in + i * (sizeof(bodyless) - 1), bodyless, sizeof(bodyless) - 1);
    cr_assert_eq(write(k.b.cfd, in, 4 * (sizeof(bodyless) - 1)), (ssize_t)(4 * (sizeof(bodyless) - 1)));

    char want[4096];
    size_t wn = 0;
    memcpy(want + wn, lk_open, sizeof(lk_open) - 1), wn += sizeof(lk_open) - 1;
    memcpy(want + wn, lk_end, sizeof(lk_end) - 1), wn += sizeof(lk_end) - 1;
    for (int i = 0; i < 4; i++)
        memcpy(want + wn, lk_ok, sizeof(lk_ok) - 1), wn += sizeof(lk_ok) - 1;
    char got[8192];
    size_t gn = lk_read(&k, got, sizeof(got), wn, 5000);
    got[gn < sizeof(got) ? gn : sizeof(got) - 1] = '\0';
    cr_assert_eq(gn, wn, "got %zu of %zu bytes:\n%s", gn, wn, got);
    cr_assert_eq(memcmp(got, want, wn), 0, "got:\n%s", got);
    struct gw_mconn_stats st;
    gw_mconn_get_stats(k.b.srv, &st);
    cr_assert_eq(st.frames_held, 3);
    bp_stop(&k.b, l);
}

static int lk_blocked(const struct bp *b)
{
    return b->srv && gw_mconn_output_blocked(b->srv);
}

static int lk_all_in(const struct bp *b)
{
    return b->heads == BP_FRAMES;
}

/* Held answers count against the ceiling: an inbound peer is not read
 * while they are over it, and is read again once the frame ends. */
Test(mconn, held_answers_over_the_ceiling_stop_reading_until_the_frame_ends)
{
    struct lk k = { 0 };
    struct ur_listener *l;
    lk_start(&k, &l, 0);
    size_t n, off = 0;
    char *reqs = bp_requests(&n);
    bp_pump(&k.b, reqs, n, &off, 1, 3000, lk_blocked);
    cr_assert(gw_mconn_output_blocked(k.b.srv), "held answers did not stop reading");
    bp_pump(&k.b, reqs, n, &off, 1, 200, NULL);
    int heads = k.b.heads;
    cr_assert_lt(heads, BP_FRAMES);
    cr_assert_leq((size_t)heads * (sizeof(lk_ok) - 1), BP_CEILING + 2 * sizeof(lk_ok),
                  "%d answers held past a %u-byte ceiling", heads, BP_CEILING);
    cr_assert_eq(gw_mconn_send_copy(k.b.srv, lk_end, sizeof(lk_end) - 1), 0);
    cr_assert_eq(gw_mconn_frame_end(k.b.srv), 0);
    bp_pump(&k.b, reqs, n, &off, 1, 10000, lk_all_in);
    cr_assert_eq(k.b.heads, BP_FRAMES);
    free(reqs);
    bp_stop(&k.b, l);
}

/* Held frames past the hard limit close the connection with -ENOBUFS. */
Test(mconn, held_answers_past_the_hard_limit_close_with_enobufs)
{
    struct lk k = { 0 };
    struct ur_listener *l;
    lk_start(&k, &l, 4096);
    size_t n = sizeof(bodyless) - 1, off = 0;
    char in[64 * sizeof(bodyless)];
    for (int i = 0; i < 64; i++)
        memcpy(in + i * n, bodyless, n);
    bp_pump(&k.b, in, 64 * n, &off, 1, 2000, NULL);
    cr_assert(k.b.closed);
    cr_assert_eq(k.b.close_err, -ENOBUFS);
    cr_assert_lt(k.b.heads, 64);
    bp_stop(&k.b, l);
}
