/*
 * test_session_segments.c: the session's read path. A raw client thread
 * writes a large SEND (two chunks of one message, the second open-ended
 * "N-*" and cut by '$') to a server-bound acceptor session in odd-sized
 * writes; the session must deliver the body as segments whose absolute
 * positions tile the message exactly, survive on_data stalls, answer
 * every chunk with 200 and report the message complete. Also: the
 * acceptor's binding rules (481 for an unknown session).
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/session/endpoint.h"
#include "gateway/session/session.h"
#include "uring/loop.h"
#include "uring/timer.h"

#define MSG_LEN 1000000u
#define CUT 400000u /* first chunk: bytes [0, CUT) */

static uint8_t *msg;

struct seg_test {
    struct ur_loop *loop;
    struct gw_server *sv;
    struct gw_session *s;
    uint8_t *got;       /* reassembled from segments */
    uint64_t next_pos;  /* positions must arrive in order here */
    uint64_t segments;
    int bad_pos;
    int ends, end_status;
    int closed;
    unsigned stalls;
    struct ur_timer resume;
    char path[512];
    uint16_t port;
    /* client thread */
    char reply[8192];
    size_t reply_n;
};

static void resume_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    struct seg_test *st = arg;
    gw_session_resume(st->s);
}

static int on_data(struct gw_session *s, struct gw_msg_in *m, const char *p, size_t n,
                   uint64_t pos, struct ur_buf *buf)
{
    (void)s, (void)buf;
    struct seg_test *st = gw_session_data(s);
    if (pos != st->next_pos || pos + n > MSG_LEN || m->total != MSG_LEN)
        st->bad_pos++;
    else
        memcpy(st->got + pos, p, n);
    st->next_pos = pos + n;
    st->segments++;
    /* Stall every 7th segment and resume from a timer: delivery must go
     * on exactly where it stopped. */
    if (st->segments % 7 == 0) {
        st->stalls++;
        ur_timer_arm(st->loop, &st->resume, 1, 0);
        return GW_MCONN_STALL;
    }
    return GW_MCONN_CONTINUE;
}

static void on_end(struct gw_session *s, struct gw_msg_in *m, int status)
{
    struct seg_test *st = gw_session_data(s);
    (void)m;
    st->ends++;
    st->end_status = status;
}

static void on_close(struct gw_session *s, int err)
{
    (void)err;
    struct seg_test *st = gw_session_data(s);
    st->closed = 1;
    ur_loop_stop(st->loop);
}

static const struct gw_session_ops ops = {
    .on_data = on_data,
    .on_message_end = on_end,
    .on_close = on_close,
};

static int connect_port(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Writes buf in pieces of cycling odd sizes. */
static void write_odd(int fd, const char *p, size_t n)
{
    static const size_t sizes[] = { 1, 13, 4093, 65537, 7, 100003, 2, 31 };
    size_t i = 0;
    while (n > 0) {
        size_t k = sizes[i++ % 8];
        if (k > n)
            k = n;
        ssize_t w = write(fd, p, k);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static char *frame(const char *path, const char *tid, const char *br, const uint8_t *body,
                   size_t n, char flag, size_t *len)
{
    char *f = malloc(n + 1024);
    int h = snprintf(f, 1024,
                     "MSRP %s SEND\r\nTo-Path: %s\r\nFrom-Path: msrp://127.0.0.1:9/peer;tcp\r\n"
                     "Message-ID: m1\r\nByte-Range: %s\r\nContent-Type: application/octet-stream"
                     "\r\n\r\n",
                     tid, path, br);
    memcpy(f + h, body, n);
    *len = (size_t)h + n + (size_t)sprintf(f + h + n, "\r\n-------%s%c\r\n", tid, flag);
    return f;
}

static void *client(void *arg)
{
    struct seg_test *st = arg;
    int fd = connect_port(st->port);
    if (fd < 0)
        return NULL;
    char br1[64], br2[64];
    snprintf(br1, sizeof(br1), "1-%u/%u", CUT, MSG_LEN);
    snprintf(br2, sizeof(br2), "%u-*/%u", CUT + 1, MSG_LEN);
    size_t l1, l2;
    char *f1 = frame(st->path, "tidone1", br1, msg, CUT, '+', &l1);
    char *f2 = frame(st->path, "tidtwo2", br2, msg + CUT, MSG_LEN - CUT, '$', &l2);
    write_odd(fd, f1, l1);
    write_odd(fd, f2, l2);
    free(f1);
    free(f2);
    /* Read both responses, then hang up. */
    for (;;) {
        ssize_t r = read(fd, st->reply + st->reply_n, sizeof(st->reply) - 1 - st->reply_n);
        if (r <= 0)
            break;
        st->reply_n += (size_t)r;
        st->reply[st->reply_n] = '\0';
        if (strstr(st->reply, "tidone1 200") && strstr(st->reply, "tidtwo2 200") &&
            strstr(strstr(st->reply, "tidtwo2 200"), "$\r\n"))
            break;
    }
    close(fd);
    return NULL;
}

static void watchdog(struct ur_timer *t, void *arg)
{
    (void)t;
    *(int *)arg = 1;
    ur_loop_stop(ur_loop_current());
}

Test(session_segments, large_send_in_odd_reads)
{
    static struct seg_test st;
    memset(&st, 0, sizeof(st));
    msg = malloc(MSG_LEN);
    st.got = calloc(1, MSG_LEN);
    for (size_t i = 0; i < MSG_LEN; i++)
        msg[i] = (uint8_t)(i * 2654435761u >> 13);
    cr_assert_eq(ur_loop_new(&st.loop, NULL), 0);
    ur_timer_init(&st.resume, resume_cb, &st);
    cr_assert_eq(gw_server_new(st.loop, "127.0.0.1", 0, NULL, NULL, NULL, 5000, &st.sv), 0);
    st.port = gw_server_port(st.sv);
    cr_assert_eq(gw_session_accept(st.sv, NULL, &ops, &st, NULL, &st.s), 0);
    snprintf(st.path, sizeof(st.path), "%s", gw_session_local_path(st.s));
    cr_assert(strstr(st.path, "msrp://127.0.0.1:") == st.path, "path %s", st.path);

    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, client, &st), 0);
    struct ur_timer wd;
    int fired = 0;
    ur_timer_init(&wd, watchdog, &fired);
    ur_timer_arm(st.loop, &wd, 20000, 0);
    ur_loop_run(st.loop); /* until the session closes (client hung up) */
    ur_timer_cancel(st.loop, &wd);
    pthread_join(th, NULL);

    cr_assert_eq(fired, 0, "timed out");
    cr_assert_eq(st.bad_pos, 0, "segments out of place");
    cr_assert_eq(st.next_pos, MSG_LEN);
    cr_assert(st.segments >= 2);
    cr_assert(st.stalls >= 1);
    cr_assert_eq(memcmp(st.got, msg, MSG_LEN), 0, "reassembled body differs");
    cr_assert_eq(st.ends, 1);
    cr_assert_eq(st.end_status, 0);
    cr_assert(strstr(st.reply, "MSRP tidone1 200 OK\r\n") != NULL, "reply: %s", st.reply);
    cr_assert(strstr(st.reply, "MSRP tidtwo2 200 OK\r\n") != NULL, "reply: %s", st.reply);
    /* Responses go back to the previous hop, from us. */
    cr_assert(strstr(st.reply, "To-Path: msrp://127.0.0.1:9/peer;tcp\r\n") != NULL);
    cr_assert_eq(st.closed, 1);
    gw_server_free(st.sv);
    ur_loop_free(st.loop);
    free(msg);
    free(st.got);
}

/* A first chunk naming a session the server does not have: 481, closed. */
static void *client_wrong(void *arg)
{
    struct seg_test *st = arg;
    int fd = connect_port(st->port);
    if (fd < 0)
        return NULL;
    char path[600];
    snprintf(path, sizeof(path), "msrp://127.0.0.1:%u/nosuchsession;tcp", st->port);
    size_t l;
    char *f = frame(path, "tidwrong", "1-3/3", (const uint8_t *)"abc", 3, '$', &l);
    write_odd(fd, f, l);
    free(f);
    for (;;) {
        ssize_t r = read(fd, st->reply + st->reply_n, sizeof(st->reply) - 1 - st->reply_n);
        if (r <= 0)
            break; /* the server closes after answering */
        st->reply_n += (size_t)r;
        st->reply[st->reply_n] = '\0';
    }
    close(fd);
    ur_loop_post(st->loop, ur_loop_stop_cb, NULL);
    return NULL;
}

Test(session_segments, unknown_session_gets_481)
{
    static struct seg_test st;
    memset(&st, 0, sizeof(st));
    cr_assert_eq(ur_loop_new(&st.loop, NULL), 0);
    cr_assert_eq(gw_server_new(st.loop, "127.0.0.1", 0, NULL, NULL, NULL, 5000, &st.sv), 0);
    st.port = gw_server_port(st.sv);
    cr_assert_eq(gw_session_accept(st.sv, NULL, &ops, &st, NULL, &st.s), 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, client_wrong, &st), 0);
    struct ur_timer wd;
    int fired = 0;
    ur_timer_init(&wd, watchdog, &fired);
    ur_timer_arm(st.loop, &wd, 10000, 0);
    ur_loop_run(st.loop);
    ur_timer_cancel(st.loop, &wd);
    pthread_join(th, NULL);
    cr_assert_eq(fired, 0, "timed out");
    cr_assert(strncmp(st.reply, "MSRP tidwrong 481 Session Does Not Exist\r\n", 42) == 0,
              "reply: %s", st.reply);
    cr_assert_eq(st.ends, 0);
    /* The waiting session is not bound by it: shut it down. */
    gw_session_shutdown(st.s, false);
    ur_timer_arm(st.loop, &wd, 10000, 0);
    ur_loop_run(st.loop);
    ur_timer_cancel(st.loop, &wd);
    cr_assert_eq(st.closed, 1);
    gw_server_free(st.sv);
    ur_loop_free(st.loop);
}
