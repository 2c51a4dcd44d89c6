/*
 * test_mconn.c: MSRP framing over a real uring connection on 127.0.0.1:
 * events in order, and flow control -- a callback that stalls must get
 * every later event after gw_mconn_resume(), including the end of a
 * bodyless frame whose bytes all arrived with its head.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "gateway/mconn.h"
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
    int heads, ends;
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
    (void)h;
    if (r->heads++ < r->stall_heads) {
        ur_timer_arm(r->loop, &r->resume, 50, 0);
        return GW_MCONN_STALL;
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
static void run(int stall_heads, int one_write)
{
    struct rig r;
    struct ur_listener *l;
    struct ur_conn *cli;
    memset(&r, 0, sizeof(r));
    r.stall_heads = stall_heads;
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
    cr_assert_eq(r.heads, 2);
    cr_assert_eq(r.ends, 2);
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
