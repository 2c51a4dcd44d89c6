/*
 * test_session_static.c: gw_session_send_chunk_static (the body sent from
 * the caller's memory, head and end-line built apart) puts exactly the
 * bytes on the wire that gw_session_send_chunk (one copied frame) does,
 * tids aside -- for a body sent by reference (64 KiB) and one below the
 * threshold (copied, 1 KiB). The peer is a raw socket read byte by byte by
 * the test, which answers the binding SEND itself.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/session/endpoint.h"
#include "gateway/session/session.h"
#include "uring/loop.h"

#define BIG 65536
#define SMALL 1024

struct st {
    struct ur_loop *loop;
    struct gw_session *s;
    int ready;
    int lfd, fd;
    char *in;          /* every byte the session sent */
    size_t in_n, in_cap;
};

static void ready(struct gw_session *s, int err)
{
    struct st *t = gw_session_data(s);
    cr_assert_eq(err, 0);
    t->ready = 1;
}

static void closed(struct gw_session *s, int err)
{
    (void)s, (void)err;
}

static const struct gw_session_ops ops = { .on_ready = ready, .on_close = closed };

/* Runs the loop and reads the peer's socket for up to ms, until cond. */
static void pump(struct st *t, int ms, bool (*cond)(const struct st *t))
{
    uint64_t end = ur_now_ns() + (uint64_t)ms * 1000000u;
    while (!cond(t) && ur_now_ns() < end) {
        ur_loop_run_once(t->loop, 2);
        if (t->fd < 0) {
            t->fd = accept(t->lfd, NULL, NULL);
            if (t->fd >= 0)
                fcntl(t->fd, F_SETFL, O_NONBLOCK);
            continue;
        }
        if (t->in_cap - t->in_n < 65536) {
            t->in_cap = t->in_cap * 2 + 65536;
            t->in = realloc(t->in, t->in_cap + 1);
            cr_assert_not_null(t->in);
        }
        ssize_t r = read(t->fd, t->in + t->in_n, t->in_cap - t->in_n);
        if (r > 0)
            t->in_n += (size_t)r;
        t->in[t->in_n] = '\0';
    }
}

/* Number of complete frames received (end-lines: "-------TID" + flag). */
static size_t frames(const struct st *t)
{
    size_t n = 0;
    for (const char *p = t->in; (p = strstr(p, "\r\n-------")); p += 9) {
        const char *q = p + 9;
        while (*q && *q != '$' && *q != '+' && *q != '#' && *q != '\r')
            q++;
        if ((*q == '$' || *q == '+' || *q == '#') && q[1] == '\r' && q[2] == '\n')
            n++;
    }
    /* the binding SEND has no body: its end-line follows its last header */
    return n;
}

static bool got_bind(const struct st *t)
{
    return strstr(t->in ? t->in : "", "$\r\n") != NULL;
}

static bool got_four(const struct st *t)
{
    return t->in && frames(t) >= 5;
}

static bool is_ready(const struct st *t)
{
    return t->ready;
}

/* The value of header name in the frame at f (up to the end of its line). */
static void header(const char *f, const char *name, char *out, size_t cap)
{
    const char *p = strstr(f, name);
    cr_assert_not_null(p, "no %s in %.200s", name, f);
    p += strlen(name);
    const char *e = strstr(p, "\r\n");
    snprintf(out, cap, "%.*s", (int)(e - p), p);
}

/* The frame starting at *p; *p moves past it. Its tid replaced by "TID". */
static char *next_frame(const char **p)
{
    const char *f = *p;
    char tid[64];
    cr_assert_eq(sscanf(f, "MSRP %63s SEND", tid), 1, "%.80s", f);
    char end[80];
    int en = snprintf(end, sizeof(end), "-------%s", tid);
    const char *e = strstr(f, end);
    cr_assert_not_null(e);
    size_t n = (size_t)(e - f) + (size_t)en + 3; /* flag CR LF */
    *p = f + n;
    char *out = malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (strncmp(f + i, tid, strlen(tid)) == 0) {
            memcpy(out + o, "TID", 3);
            o += 3;
            i += strlen(tid);
        } else {
            out[o++] = f[i++];
        }
    }
    out[o] = '\0';
    return out;
}

static void nop_resp(struct gw_session *s, int code, void *arg)
{
    (void)s, (void)code, (void)arg;
}

Test(session_static, sends_the_same_bytes_as_a_copied_frame)
{
    struct st t = { .lfd = -1, .fd = -1 };
    cr_assert_eq(ur_loop_new(&t.loop, NULL), 0);
    t.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    cr_assert_eq(bind(t.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(t.lfd, 1), 0);
    cr_assert_eq(getsockname(t.lfd, (struct sockaddr *)&a, &al), 0);
    char path[128];
    snprintf(path, sizeof(path), "msrp://127.0.0.1:%u/peersession;tcp", ntohs(a.sin_port));
    struct gw_session_config cfg;
    gw_session_config_default(&cfg);
    cr_assert_eq(gw_session_connect(t.loop, &cfg, &ops, &t, NULL, path, NULL, NULL, &t.s), 0);

    /* The binding SEND: answered by hand, as the peer. */
    pump(&t, 5000, got_bind);
    cr_assert(got_bind(&t), "no binding SEND: %s", t.in ? t.in : "");
    char tid[64], to[256], from[256], ok[1024];
    cr_assert_eq(sscanf(t.in, "MSRP %63s SEND", tid), 1);
    header(t.in, "To-Path: ", to, sizeof(to));
    header(t.in, "From-Path: ", from, sizeof(from));
    int n = snprintf(ok, sizeof(ok), "MSRP %s 200 OK\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------%s$\r\n",
                     tid, from, to, tid);
    cr_assert_eq(write(t.fd, ok, (size_t)n), n);
    pump(&t, 5000, is_ready);
    cr_assert(t.ready);
    size_t bind_n = t.in_n;

    /* Bytes without CR: no end-line in the body, whatever the tid. */
    uint8_t *body = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        body[i] = (uint8_t)((i * 2654435761u >> 13) % 240 + 14); /* 14..253: no CR, no NUL */
    struct msrp_byte_range br = { 1, BIG, BIG }, sr = { 1, SMALL, SMALL };
    cr_assert_eq(gw_session_send_chunk_static(t.s, "big", &br, "application/octet-stream", body,
                                              BIG, '$', MSRP_REPORT_NO, nop_resp, NULL), 0);
    cr_assert_eq(gw_session_send_chunk(t.s, "big", &br, "application/octet-stream", body, BIG,
                                       '$', MSRP_REPORT_NO, nop_resp, NULL), 0);
    cr_assert_eq(gw_session_send_chunk_static(t.s, "small", &sr, "text/plain", body, SMALL, '+',
                                              MSRP_REPORT_NO, nop_resp, NULL), 0);
    cr_assert_eq(gw_session_send_chunk(t.s, "small", &sr, "text/plain", body, SMALL, '+',
                                       MSRP_REPORT_NO, nop_resp, NULL), 0);
    pump(&t, 5000, got_four);
    cr_assert_eq(frames(&t), 5, "got %zu frames", frames(&t));

    const char *p = t.in + bind_n;
    char *f[4];
    for (int i = 0; i < 4; i++)
        f[i] = next_frame(&p);
    cr_assert_eq((size_t)(p - t.in), t.in_n, "bytes after the last frame");
    cr_assert_str_eq(f[0], f[1], "the static frame differs from the copied one");
    cr_assert_str_eq(f[2], f[3], "the small static frame differs from the copied one");
    /* and each is the frame it should be: head, the body, the end-line */
    char *b = strstr(f[0], "\r\n\r\n");
    cr_assert_not_null(b);
    cr_assert_eq(memcmp(b + 4, body, BIG), 0, "the body");
    cr_assert_str_eq(b + 4 + BIG, "\r\n-------TID$\r\n");
    cr_assert_not_null(strstr(f[0], "Byte-Range: 1-65536/65536\r\n"));
    cr_assert_not_null(strstr(f[2], "Message-ID: small\r\n"));
    cr_assert_str_eq(f[2] + strlen(f[2]) - 15, "\r\n-------TID+\r\n");
    for (int i = 0; i < 4; i++)
        free(f[i]);
    free(body);
    gw_session_shutdown(t.s, false);
    for (int i = 0; i < 50; i++)
        ur_loop_run_once(t.loop, 2);
    close(t.fd);
    close(t.lfd);
    free(t.in);
    ur_loop_free(t.loop);
}
