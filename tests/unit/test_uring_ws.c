/*
 * test_uring_ws.c: the WebSocket transform of uring connections (uring/ws.h)
 * on one loop over 127.0.0.1. A blocking client thread speaks the wire
 * protocol byte by byte; the server side is an echo application that ends
 * its message after a payload ending in '.'. Checked exactly: the 101 and
 * the 400/403/426 answers (and their counters), a fragmented message with
 * a ping between its fragments, the close handshake, 1009 for a message
 * over max_message, 1002 for an unmasked frame, the handshake timeout, and
 * a long stream in random frames through a reader that keeps pausing
 * (plain and over TLS: wss), compared byte for byte.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "certs.h"
#include "proto/ws.h"
#include "uring/buf.h"
#include "uring/conn.h"
#include "uring/listener.h"
#include "uring/loop.h"
#include "uring/timer.h"
#include "uring/tls.h"
#include "uring/ws.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ==" /* RFC 6455 1.3's example key */
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static const char *const allowed[] = { "https://app.example" };

/* ---- the server: an echo application on a ws connection ---- */

struct srv {
    struct ur_loop *loop;
    struct ur_ws_config cfg;
    struct ur_conn *c;
    int open_err, opened, closed, close_err;
    char got[4096];
    size_t got_n;
};

static void s_open(struct ur_conn *c, int err)
{
    struct srv *s = ur_conn_data(c);
    s->opened = 1;
    s->open_err = err;
}

static void s_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct srv *s = ur_conn_data(c);
    (void)buf;
    if (s->got_n + n <= sizeof(s->got)) {
        memcpy(s->got + s->got_n, p, n);
        s->got_n += n;
    }
    cr_assert_eq(ur_conn_send_copy(c, p, n), 0);
    if (p[n - 1] == '.')
        cr_assert_eq(ur_conn_ws_message_end(c), 0);
}

static void s_close(struct ur_conn *c, int err)
{
    struct srv *s = ur_conn_data(c);
    s->closed = 1;
    s->close_err = err;
    s->c = NULL;
    ur_loop_stop(ur_conn_loop(c));
}

static const struct ur_conn_ops srv_ops = {
    .on_open = s_open, .on_data = s_data, .on_close = s_close,
};

static void s_accept(struct ur_listener *l, int fd, void *ud)
{
    struct srv *s = ud;
    (void)l;
    cr_assert_geq(fd, 0);
    cr_assert_eq(ur_conn_adopt(s->loop, fd, NULL, &srv_ops, s, &s->c), 0);
    cr_assert_eq(ur_conn_ws_server(s->c, &s->cfg), 0);
    cr_assert_eq(ur_conn_is_ws(s->c), 1);
    /* Nothing may be sent before the 101. */
    cr_assert_eq(ur_conn_send_copy(s->c, "x", 1), -ENOTCONN);
}

/* ---- the client thread: a script of writes and expected reads ---- */

struct client {
    uint16_t port;
    const char *request; /* sent first */
    const uint8_t *out;  /* then these bytes (frames) */
    size_t out_n;
    size_t want;         /* read this many bytes after the header section */
    char head[1024];     /* the response's header section */
    uint8_t in[1024];
    size_t in_n;
    int eof;             /* the server closed after what was read */
};

static int cl_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    struct timeval tv = { .tv_sec = 5 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *client_main(void *arg)
{
    struct client *cl = arg;
    int fd = cl_connect(cl->port);
    size_t hn = 0;
    if (fd < 0)
        return NULL;
    if (cl->request && write(fd, cl->request, strlen(cl->request)) < 0)
        goto out;
    /* The header section, one byte at a time so no frame byte is eaten. */
    while (cl->request && hn + 1 < sizeof(cl->head)) {
        if (read(fd, cl->head + hn, 1) != 1)
            goto out;
        hn++;
        cl->head[hn] = 0;
        if (hn >= 4 && memcmp(cl->head + hn - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    if (cl->out_n && write(fd, cl->out, cl->out_n) < 0)
        goto out;
    while (cl->in_n < sizeof(cl->in)) {
        ssize_t r = read(fd, cl->in + cl->in_n, cl->in_n < cl->want ? cl->want - cl->in_n : 1);
        if (r == 0)
            cl->eof = 1;
        if (r <= 0)
            break;
        cl->in_n += (size_t)r;
    }
out:
    close(fd);
    return NULL;
}

static void watchdog_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    *(int *)arg = 1;
    ur_loop_stop(ur_loop_current());
}

/* Runs one client script against a fresh loop; returns the loop's ws
 * counters in *st. */
static void run(struct srv *s, struct client *cl, struct ur_loop_stats *st)
{
    struct ur_listener *l;
    struct ur_timer wd;
    pthread_t th;
    int fired = 0;

    cr_assert_eq(ur_loop_new(&s->loop, NULL), 0);
    cr_assert_eq(ur_listen(s->loop, &l, "127.0.0.1", 0, 0, s_accept, s), 0);
    cl->port = ur_listener_port(l);
    cr_assert_eq(pthread_create(&th, NULL, client_main, cl), 0);
    ur_timer_init(&wd, watchdog_cb, &fired);
    ur_timer_arm(s->loop, &wd, 10000, 0);
    cr_assert_eq(ur_loop_run(s->loop), 0);
    ur_timer_cancel(s->loop, &wd);
    cr_assert_eq(fired, 0, "the server connection did not close in time");
    pthread_join(th, NULL);
    ur_loop_get_stats(s->loop, st);
    ur_listener_close(l);
    ur_loop_free(s->loop);
}

static const char good_req[] = "GET /msrp HTTP/1.1\r\n"
                               "Host: relay.example\r\n"
                               "Upgrade: websocket\r\n"
                               "Connection: Upgrade\r\n"
                               "Sec-WebSocket-Key: " KEY "\r\n"
                               "Sec-WebSocket-Version: 13\r\n"
                               "Sec-WebSocket-Protocol: sip, msrp\r\n"
                               "Origin: https://app.example\r\n"
                               "\r\n";

static const char accept_resp[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Accept: " ACCEPT "\r\n"
                                  "Sec-WebSocket-Protocol: msrp\r\n"
                                  "\r\n";

/* A masked client frame of op with payload p (mask fixed: tests only). */
static size_t cframe(uint8_t *out, enum msrp_ws_opcode op, bool fin, const char *p, size_t n)
{
    static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
    long len = msrp_ws_encode_frame(out, 256, op, fin, (const uint8_t *)p, n, key);
    cr_assert_gt(len, 0);
    return (size_t)len;
}

static void expect_hs_counts(const struct ur_loop_stats *st, enum ur_ws_hs_result r)
{
    for (int i = 0; i < UR_WS_HS_N; i++)
        cr_assert_eq(st->ws_handshakes[i], i == (int)r ? 1u : 0u, "%s: %llu",
                     ur_ws_hs_result_names[i], (unsigned long long)st->ws_handshakes[i]);
    cr_assert_eq(st->ws_open, 0);
}

/* ---- handshakes ---- */

Test(uring_ws, accept_then_close_handshake)
{
    struct srv s = { .cfg = { .origins = allowed, .n_origins = 1 } };
    uint8_t out[64];
    size_t n = cframe(out, MSRP_WS_OP_CLOSE, true, "\x03\xe8" "bye", 5);
    struct client cl = { .request = good_req, .out = out, .out_n = n, .want = 4 };
    struct ur_loop_stats st;

    run(&s, &cl, &st);
    cr_assert_str_eq(cl.head, accept_resp);
    cr_assert_eq(s.opened, 1);
    cr_assert_eq(s.open_err, 0);
    /* The close is echoed with its code, then the connection ends. */
    cr_assert_eq(cl.in_n, 4);
    cr_assert_eq(memcmp(cl.in, "\x88\x02\x03\xe8", 4), 0);
    cr_assert_eq(cl.eof, 1);
    cr_assert_eq(s.close_err, 0);
    expect_hs_counts(&st, UR_WS_HS_OK);
}

static void refused(const char *req, const char *resp, const char *body, int err,
                    enum ur_ws_hs_result r)
{
    struct srv s = { .cfg = { .origins = allowed, .n_origins = 1 } };
    struct client cl = { .request = req };
    struct ur_loop_stats st;

    run(&s, &cl, &st);
    cr_assert_str_eq(cl.head, resp);
    cr_assert_eq(cl.in_n, strlen(body));
    cr_assert_eq(memcmp(cl.in, body, cl.in_n), 0);
    cr_assert_eq(cl.eof, 1);
    cr_assert_eq(s.close_err, err);
    cr_assert_eq(s.open_err, err); /* on_open reports the failure too */
    expect_hs_counts(&st, r);
}

Test(uring_ws, refuses_without_msrp_subprotocol)
{
    refused("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: sip\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n"
            "Content-Length: 23\r\n\r\n",
            "ws_hs_msrp_not_offered\n", -EPROTO, UR_WS_HS_BAD_REQUEST);
}

Test(uring_ws, refuses_foreign_origin)
{
    refused("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: msrp\r\nOrigin: https://evil.example\r\n\r\n",
            "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n"
            "Content-Length: 21\r\n\r\n",
            "ws_hs_origin_refused\n", -EPROTO, UR_WS_HS_FORBIDDEN);
}

Test(uring_ws, refuses_other_version)
{
    refused("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 8\r\n"
            "Sec-WebSocket-Protocol: msrp\r\n\r\n",
            "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
            "Connection: close\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n\r\n",
            "ws_hs_unsupported_version\n", -EPROTO, UR_WS_HS_UPGRADE_REQUIRED);
}

Test(uring_ws, handshake_timeout)
{
    struct srv s = { .cfg = { .handshake_timeout_ms = 100 } };
    struct client cl = { .request = NULL, .want = 1 }; /* connects, says nothing */
    struct ur_loop_stats st;

    run(&s, &cl, &st);
    cr_assert_eq(s.close_err, -ETIMEDOUT);
    cr_assert_eq(cl.in_n, 0);
    cr_assert_eq(cl.eof, 1);
    expect_hs_counts(&st, UR_WS_HS_TIMEOUT);
}

/* ---- frames ---- */

Test(uring_ws, fragmented_message_with_ping_between)
{
    struct srv s = { 0 };
    uint8_t out[256];
    size_t n = 0;
    n += cframe(out + n, MSRP_WS_OP_TEXT, false, "hel", 3);
    n += cframe(out + n, MSRP_WS_OP_PING, true, "p1", 2);
    n += cframe(out + n, MSRP_WS_OP_CONT, true, "lo.", 3);
    n += cframe(out + n, MSRP_WS_OP_CLOSE, true, "", 0);
    /* hel -> binary frame (message open), pong, lo. -> continuation, FIN
     * frame, then the close echoed without a code. */
    static const uint8_t want[] = { 0x02, 3, 'h', 'e', 'l', 0x8a, 2, 'p', '1',
                                    0x00, 3, 'l', 'o', '.', 0x80, 0, 0x88, 0 };
    struct client cl = { .request = good_req, .out = out, .out_n = n, .want = sizeof(want) };
    struct ur_loop_stats st;

    run(&s, &cl, &st);
    cr_assert_str_eq(cl.head, accept_resp);
    cr_assert_eq(s.got_n, 6);
    cr_assert_eq(memcmp(s.got, "hello.", 6), 0);
    cr_assert_eq(cl.in_n, sizeof(want), "got %zu bytes", cl.in_n);
    cr_assert_eq(memcmp(cl.in, want, sizeof(want)), 0);
    cr_assert_eq(cl.eof, 1);
    cr_assert_eq(s.close_err, 0);
}

/* The echo of what was delivered before the error (an open binary
 * message), then the close with code, then the end of the connection. */
static void protocol_error(const uint8_t *frames, size_t n, uint64_t max, uint16_t code,
                           const char *delivered)
{
    struct srv s = { .cfg = { .max_message = max } };
    uint8_t want[64];
    size_t wn = 0, dn = strlen(delivered);
    if (dn) {
        want[wn++] = 0x02;
        want[wn++] = (uint8_t)dn;
        memcpy(want + wn, delivered, dn);
        wn += dn;
    }
    want[wn++] = 0x88;
    want[wn++] = 2;
    want[wn++] = (uint8_t)(code >> 8);
    want[wn++] = (uint8_t)code;
    struct client cl = { .request = good_req, .out = frames, .out_n = n, .want = wn };
    struct ur_loop_stats st;

    run(&s, &cl, &st);
    cr_assert_str_eq(cl.head, accept_resp);
    cr_assert_eq(cl.in_n, wn, "got %zu bytes", cl.in_n);
    cr_assert_eq(memcmp(cl.in, want, wn), 0, "close code %u expected", code);
    cr_assert_eq(cl.eof, 1);
    cr_assert_eq(s.close_err, -EPROTO);
    cr_assert_eq(s.got_n, dn);
    cr_assert_eq(memcmp(s.got, delivered, dn), 0);
}

Test(uring_ws, oversize_message_is_1009)
{
    uint8_t out[256];
    size_t n = 0;
    n += cframe(out + n, MSRP_WS_OP_BINARY, false, "0123456789", 10);
    n += cframe(out + n, MSRP_WS_OP_CONT, true, "abcdefg", 7); /* 17 > 16 */
    protocol_error(out, n, 16, 1009, "0123456789");
}

Test(uring_ws, unmasked_client_frame_is_1002)
{
    uint8_t out[64];
    long n = msrp_ws_encode_frame(out, sizeof(out), MSRP_WS_OP_BINARY, true,
                                  (const uint8_t *)"abc", 3, NULL);
    protocol_error(out, (size_t)n, 0, 1002, "");
}

/* ---- a long stream through a pausing, handed-off reader ---- */

/*
 * A client conn on the same loop sends `total` random bytes as masked
 * frames of 1..3000 bytes, messages of random length, pings between
 * fragments. The server echoes zero-copy (the unmasked bytes in their
 * receive buffer), pauses reading after every delivery (resumed by a
 * timer), ends its message every ~10 KB, and is handed off (detach +
 * adopt_handoff on the same loop) once, mid-stream. The client decodes the
 * echo and compares it byte for byte, then closes with 1000.
 */
struct flow {
    struct ur_loop *loop;
    struct ur_ws_config cfg;
    struct ur_conn *srv, *cli;
    struct ur_timer resume;
    uint8_t *src;
    size_t total, queued, echoed, since_end, handed_at;
    int handed, msg_open, hs_done, pongs, pings, closed;
    char head[512];
    size_t head_n;
    struct msrp_ws_decoder dec;
    size_t received;
    int cli_err, srv_err;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static const struct ur_conn_ops flow_srv_ops;

static void f_resume(struct ur_timer *t, void *arg)
{
    (void)t;
    struct flow *f = arg;
    if (f->srv && ur_conn_read_paused(f->srv))
        ur_conn_resume_read(f->srv);
}

static void f_adopt(struct ur_conn *c, struct ur_handoff *h, void *arg)
{
    struct flow *f = arg;
    (void)c;
    f->handed = 1;
    cr_assert_eq(ur_conn_adopt_handoff(f->loop, h, &flow_srv_ops, f, &f->srv), 0);
    cr_assert_eq(ur_conn_is_ws(f->srv), 1);
}

static void fs_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct flow *f = ur_conn_data(c);
    cr_assert_leq(f->echoed + n, f->total);
    cr_assert_eq(memcmp(p, f->src + f->echoed, n), 0, "server got bad bytes at %zu",
                 f->echoed);
    cr_assert_eq(ur_conn_send(c, p, n, buf, NULL, NULL), 0);
    f->echoed += n;
    f->since_end += n;
    if (f->since_end >= 10000) {
        cr_assert_eq(ur_conn_ws_message_end(c), 0);
        f->since_end = 0;
    }
    if (!f->handed && !f->handed_at && f->echoed >= f->total / 3) {
        f->handed_at = f->echoed;
        cr_assert_eq(ur_conn_detach(c, NULL, 0, f_adopt, f), 0);
        return;
    }
    if (!ur_conn_read_paused(c)) {
        ur_conn_pause_read(c);
        ur_timer_arm(f->loop, &f->resume, rng() % 2, 0);
    }
}

static void fs_close(struct ur_conn *c, int err)
{
    struct flow *f = ur_conn_data(c);
    (void)c;
    f->srv_err = err;
    f->srv = NULL;
    if (++f->closed == 2)
        ur_loop_stop(f->loop);
}

static const struct ur_conn_ops flow_srv_ops = { .on_data = fs_data, .on_close = fs_close };

static void fs_accept(struct ur_listener *l, int fd, void *ud)
{
    struct flow *f = ud;
    (void)l;
    cr_assert_eq(ur_conn_adopt(f->loop, fd, NULL, &flow_srv_ops, f, &f->srv), 0);
    cr_assert_eq(ur_conn_ws_server(f->srv, &f->cfg), 0);
}

static struct ur_tls_ctx *flow_srv_tls;

static void fs_accept_tls(struct ur_listener *l, int fd, void *ud)
{
    struct flow *f = ud;
    (void)l;
    cr_assert_eq(ur_conn_adopt(f->loop, fd, flow_srv_tls, &flow_srv_ops, f, &f->srv), 0);
    cr_assert_eq(ur_conn_ws_server(f->srv, &f->cfg), 0);
}

static void fc_send_frame(struct flow *f, enum msrp_ws_opcode op, bool fin, const uint8_t *p,
                          size_t n)
{
    uint8_t key[4], *buf = malloc(n + MSRP_WS_MAX_HEADER);
    uint64_t r = rng();
    memcpy(key, &r, 4);
    long len = msrp_ws_encode_frame(buf, n + MSRP_WS_MAX_HEADER, op, fin, p, n, key);
    cr_assert_gt(len, 0);
    cr_assert_eq(ur_conn_send_copy(f->cli, buf, (size_t)len), 0);
    free(buf);
}

static void fc_fill(struct flow *f)
{
    while (f->queued < f->total && ur_conn_pending(f->cli) < 256 * 1024) {
        size_t n = 1 + rng() % 3000;
        if (n > f->total - f->queued)
            n = f->total - f->queued;
        bool last = f->queued + n == f->total;
        bool fin = last || rng() % 3 == 0;
        if (f->msg_open && rng() % 5 == 0) {
            fc_send_frame(f, MSRP_WS_OP_PING, true, (const uint8_t *)"pq", 2);
            f->pings++;
        }
        fc_send_frame(f, f->msg_open ? MSRP_WS_OP_CONT : MSRP_WS_OP_BINARY, fin,
                      f->src + f->queued, n);
        f->msg_open = !fin;
        f->queued += n;
    }
}

static void fc_drain(struct ur_conn *c)
{
    struct flow *f = ur_conn_data(c);
    if (f->hs_done)
        fc_fill(f);
}

static void fc_open(struct ur_conn *c, int err)
{
    struct flow *f = ur_conn_data(c);
    cr_assert_eq(err, 0);
    cr_assert_eq(ur_conn_send_copy(c, good_req, strlen(good_req)), 0);
    (void)f;
}

static void fc_frames(struct flow *f, uint8_t *p, size_t n)
{
    while (n) {
        struct msrp_ws_event ev;
        size_t used;
        int rc = msrp_ws_decode(&f->dec, p, n, &used, &ev);
        cr_assert_geq(rc, 0, "client decode error %s", msrp_ws_strerror(rc));
        p += used;
        n -= used;
        if (rc == 0)
            break;
        if (ev.type == MSRP_WS_EV_PONG) {
            cr_assert_eq(ev.n, 2);
            f->pongs++;
        } else if (ev.type == MSRP_WS_EV_DATA) {
            cr_assert_leq(f->received + ev.n, f->total);
            cr_assert_eq(memcmp(ev.data, f->src + f->received, ev.n), 0, "echo differs at %zu",
                         f->received);
            f->received += ev.n;
            if (f->received == f->total) {
                uint8_t pl[2] = { 0x03, 0xe8 };
                fc_send_frame(f, MSRP_WS_OP_CLOSE, true, pl, 2);
            }
        } else if (ev.type == MSRP_WS_EV_CLOSE) {
            cr_assert_eq(ev.close_code, 1000);
        }
    }
}

static void fc_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct flow *f = ur_conn_data(c);
    (void)buf;
    if (!f->hs_done) {
        /* The 101, read into head; what follows it is frames. */
        size_t k = 0;
        while (k < n && !f->hs_done) {
            cr_assert_lt(f->head_n, sizeof(f->head) - 1);
            f->head[f->head_n++] = (char)p[k++];
            f->head[f->head_n] = 0;
            if (f->head_n >= 4 && memcmp(f->head + f->head_n - 4, "\r\n\r\n", 4) == 0)
                f->hs_done = 1;
        }
        if (!f->hs_done)
            return;
        cr_assert_str_eq(f->head, accept_resp);
        fc_fill(f);
        p += k;
        n -= k;
    }
    uint8_t *tmp = malloc(n ? n : 1); /* decoded in place: our own copy */
    memcpy(tmp, p, n);
    fc_frames(f, tmp, n);
    free(tmp);
    fc_fill(f); /* the echo coming back means the window moved */
}

static void fc_close(struct ur_conn *c, int err)
{
    struct flow *f = ur_conn_data(c);
    f->cli_err = err;
    if (++f->closed == 2)
        ur_loop_stop(f->loop);
}

static const struct ur_conn_ops flow_cli_ops = {
    .on_open = fc_open, .on_data = fc_data, .on_drain = fc_drain, .on_close = fc_close,
};

static void run_flow(size_t total, struct ur_tls_ctx *srv_tls, struct ur_tls_ctx *cli_tls)
{
    struct flow f = { .total = total };
    struct ur_listener *l;
    struct ur_timer wd;
    struct ur_loop_stats st;
    int fired = 0;

    f.src = malloc(total);
    for (size_t i = 0; i < total; i++)
        f.src[i] = (uint8_t)(rng() >> 24);
    msrp_ws_decoder_init(&f.dec, MSRP_WS_CLIENT, UINT64_MAX >> 1);
    flow_srv_tls = srv_tls;
    cr_assert_eq(ur_loop_new(&f.loop, NULL), 0);
    ur_timer_init(&f.resume, f_resume, &f);
    cr_assert_eq(ur_listen(f.loop, &l, "127.0.0.1", 0, 0, srv_tls ? fs_accept_tls : fs_accept,
                           &f),
                 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(ur_listener_port(l)) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(ur_conn_connect(f.loop, (struct sockaddr *)&a, sizeof(a), 2000, cli_tls,
                                 NULL, &flow_cli_ops, &f, &f.cli),
                 0);
    ur_timer_init(&wd, watchdog_cb, &fired);
    ur_timer_arm(f.loop, &wd, 60000, 0);
    cr_assert_eq(ur_loop_run(f.loop), 0);
    ur_timer_cancel(f.loop, &wd);
    cr_assert_eq(fired, 0, "stream did not finish: echoed %zu received %zu of %zu", f.echoed,
                 f.received, total);
    cr_assert_eq(f.received, total);
    cr_assert_eq(f.handed, 1);
    cr_assert_eq(f.pongs, f.pings);
    cr_assert_eq(f.srv_err, 0);
    cr_assert_eq(f.cli_err, 0);
    ur_loop_get_stats(f.loop, &st);
    cr_assert_eq(st.ws_handshakes[UR_WS_HS_OK], 1);
    cr_assert_eq(st.ws_open, 0);
    ur_timer_cancel(f.loop, &f.resume);
    ur_listener_close(l);
    ur_loop_free(f.loop);
    free(f.src);
}

Test(uring_ws, stream_through_pauses_and_handoff)
{
    run_flow(3u << 20, NULL, NULL);
}

Test(uring_ws, wss_stream_through_pauses_and_handoff, .init = test_cert_make, .fini = test_cert_rm)
{
    char cert[128], key[128];
    struct ur_tls_config sc = { .server = 1, .cert_file = cert, .key_file = key };
    struct ur_tls_config cc = { .insecure = 1 };
    struct ur_tls_ctx *srv, *cli;

    snprintf(cert, sizeof(cert), "%s/cert.pem", test_certdir);
    snprintf(key, sizeof(key), "%s/key.pem", test_certdir);
    cr_assert_eq(ur_tls_ctx_new(&srv, &sc), 0);
    cr_assert_eq(ur_tls_ctx_new(&cli, &cc), 0);
    run_flow(1u << 20, srv, cli);
    ur_tls_ctx_free(cli);
    ur_tls_ctx_free(srv);
}
