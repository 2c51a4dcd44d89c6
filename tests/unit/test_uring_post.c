/*
 * test_uring_post.c: cross-core messages between loops on their own
 * threads (runtime helper), through MSG_RING and through the eventfd
 * fallback, and handing an accepted socket's fd to another core.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uring/conn.h"
#include "uring/listener.h"
#include "uring/loop.h"
#include "uring/runtime.h"

#define ROUNDS 2000

static struct ur_runtime *rt;
static pthread_t owner[2];
static atomic_int hits[2];
static atomic_int wrong_thread;
static atomic_int done;

static int init_cb(struct ur_loop *loop, unsigned idx, void *ud)
{
    (void)ud;
    owner[idx] = pthread_self();
    ur_loop_set_data(loop, (void *)(uintptr_t)idx);
    return ur_loop_current() == loop ? 0 : -1;
}

static void ping(struct ur_loop *self, void *arg)
{
    unsigned idx = (unsigned)(uintptr_t)ur_loop_data(self);
    intptr_t left = (intptr_t)arg;

    if (!pthread_equal(pthread_self(), owner[idx]))
        atomic_fetch_add(&wrong_thread, 1);
    atomic_fetch_add(&hits[idx], 1);
    if (left == 0) {
        atomic_store(&done, 1);
        return;
    }
    cr_assert_eq(ur_loop_post(ur_runtime_loop(rt, 1 - idx), ping, (void *)(left - 1)), 0);
}

static void run_pingpong(unsigned disable)
{
    struct ur_runtime_config cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.threads = 2;
    cfg.loop.disable = disable;
    cfg.init = init_cb;
    atomic_store(&done, 0);
    cr_assert_eq(ur_runtime_start(&rt, &cfg), 0);
    cr_assert_eq(ur_runtime_count(rt), 2);
    cr_assert_eq(ur_loop_features(ur_runtime_loop(rt, 0)) & disable, 0);
    /* From a non-loop thread: the queue + eventfd path. */
    cr_assert_eq(ur_loop_post(ur_runtime_loop(rt, 0), ping, (void *)(intptr_t)ROUNDS), 0);
    for (int i = 0; i < 5000 && !atomic_load(&done); i++)
        usleep(1000);
    cr_assert(atomic_load(&done), "ping-pong did not finish");
    ur_runtime_stop(rt);
    cr_assert_eq(ur_runtime_join(rt), 0);
    cr_assert_eq(atomic_load(&hits[0]) + atomic_load(&hits[1]), ROUNDS + 1);
    cr_assert_eq(atomic_load(&hits[0]), ROUNDS / 2 + 1);
    cr_assert_eq(atomic_load(&wrong_thread), 0);
}

Test(uring_post, ping_pong_msg_ring) { run_pingpong(0); }
Test(uring_post, ping_pong_eventfd_fallback) { run_pingpong(UR_FEAT_MSG_RING); }

/* fd handoff: loop 0 accepts, loop 1 owns the connection. */
static atomic_int srv_bytes, srv_on_loop1;
static uint16_t port;

static void h_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    (void)p;
    (void)buf;
    if ((uintptr_t)ur_loop_data(ur_conn_loop(c)) == 1 && ur_conn_loop(c) == ur_loop_current())
        atomic_store(&srv_on_loop1, 1);
    atomic_fetch_add(&srv_bytes, (int)n);
    ur_conn_send_copy(c, "ok", 2);
}
static const struct ur_conn_ops h_ops = {.on_data = h_data};

static void adopt_here(struct ur_loop *self, void *arg)
{
    struct ur_conn *c;
    cr_assert_eq(ur_conn_adopt(self, (int)(intptr_t)arg, NULL, &h_ops, NULL, &c), 0);
}

static void on_acc(struct ur_listener *l, int fd, void *ud)
{
    (void)l;
    (void)ud;
    cr_assert_eq(ur_loop_post(ur_runtime_loop(rt, 1), adopt_here, (void *)(intptr_t)fd), 0);
}

static int listen_init(struct ur_loop *loop, unsigned idx, void *ud)
{
    struct ur_listener *l;
    (void)ud;
    ur_loop_set_data(loop, (void *)(uintptr_t)idx);
    if (idx != 0)
        return 0;
    cr_assert_eq(ur_listen(loop, &l, "127.0.0.1", 0, 0, on_acc, NULL), 0);
    port = ur_listener_port(l);
    return 0;
}

Test(uring_post, accepted_fd_handed_to_other_core)
{
    struct ur_runtime_config cfg;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char reply[2];
    int fd;

    memset(&cfg, 0, sizeof(cfg));
    cfg.threads = 2;
    cfg.init = listen_init;
    cr_assert_eq(ur_runtime_start(&rt, &cfg), 0);
    a.sin_port = htons(port);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(write(fd, "hello", 5), 5);
    cr_assert_eq(read(fd, reply, 2), 2);
    cr_assert_eq(memcmp(reply, "ok", 2), 0);
    cr_assert_eq(atomic_load(&srv_bytes), 5);
    cr_assert_eq(atomic_load(&srv_on_loop1), 1);
    close(fd);
    ur_runtime_stop(rt);
    cr_assert_eq(ur_runtime_join(rt), 0);
}
