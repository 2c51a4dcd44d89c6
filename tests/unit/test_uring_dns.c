/*
 * test_uring_dns.c: names on the loop (uring/dns.h) and connecting by name.
 * No query leaves the host: the resolver is pointed at a UDP socket on
 * 127.0.0.1 that never answers (the time-out cases) and "localhost" comes
 * from /etc/hosts, which c-ares reads first.
 *  - a look-up that gets no answer ends with UR_DNS_E_TIMEOUT within its
 *    bound, and the loop keeps running timers meanwhile;
 *  - look-ups of one name share a query in flight, and later ones are
 *    answered from the cache (names compared case-insensitively);
 *  - a cancelled registration is never called back;
 *  - ur_conn_connect_host("localhost") connects (TLS-free), a name that
 *    does not resolve fails the connection through on_open once;
 *  - an over-long name is refused at once.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uring/conn.h"
#include "uring/dns.h"
#include "uring/listener.h"
#include "uring/loop.h"
#include "uring/timer.h"

/* A UDP socket on 127.0.0.1 that never answers; "127.0.0.1:PORT". */
static int silent_resolver(char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    snprintf(out, cap, "127.0.0.1:%u", ntohs(a.sin_port));
    return fd;
}

struct res {
    int calls, err;
    unsigned n;
    uint64_t at_ns;
};

static void on_addr(void *arg, int err, const struct ur_dns_addrs *a)
{
    struct res *r = arg;
    r->calls++;
    r->err = err;
    r->n = a ? a->n : 0;
    r->at_ns = ur_now_ns();
    if (!err) {
        cr_assert_eq(a->a[0].ss_family, AF_INET);
        cr_assert_eq(((struct sockaddr_in *)&a->a[0])->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    }
}

static void stop_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    ur_loop_stop(arg);
}

static void tick_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    (*(int *)arg)++;
}

/* Runs the loop for ms milliseconds, or until a callback stops it. */
static void run_for(struct ur_loop *loop, unsigned ms)
{
    struct ur_timer t;
    ur_timer_init(&t, stop_cb, loop);
    ur_timer_arm(loop, &t, ms, 0);
    ur_loop_run(loop);
    ur_timer_cancel(loop, &t); /* stopped early by a callback */
}

Test(uring_dns, silent_server_times_out_without_blocking_the_loop)
{
    char srv[64];
    int fd = silent_resolver(srv, sizeof(srv));
    cr_assert_eq(ur_dns_configure(srv, 400), 0);
    struct ur_loop *loop;
    cr_assert_eq(ur_loop_new(&loop, NULL), 0);
    struct res r = { 0 }, r2 = { 0 };
    struct ur_dns_wait w, w2;
    uint64_t t0 = ur_now_ns();
    cr_assert_eq(ur_dns_resolve(loop, "nothing-answers.test", &w, on_addr, &r), 0);
    /* A second look-up of the same name while the first is in flight
     * shares its query. */
    cr_assert_eq(ur_dns_resolve(loop, "Nothing-Answers.test", &w2, on_addr, &r2), 0);
    int ticks = 0;
    struct ur_timer tick;
    ur_timer_init(&tick, tick_cb, &ticks);
    ur_timer_arm(loop, &tick, 20, 20);
    run_for(loop, 1500);
    ur_timer_cancel(loop, &tick);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.err, UR_DNS_E_TIMEOUT);
    cr_assert_eq(r2.calls, 1);
    cr_assert_eq(r2.err, UR_DNS_E_TIMEOUT);
    cr_assert_str_eq(ur_dns_strerror(r.err), "timed out");
    uint64_t took_ms = (r.at_ns - t0) / 1000000;
    cr_assert(took_ms >= 350 && took_ms < 1200, "timed out after %llu ms", (unsigned long long)took_ms);
    cr_assert_geq(ticks, 30, "the loop ran only %d timer ticks meanwhile", ticks);
    struct ur_loop_stats st;
    ur_loop_get_stats(loop, &st);
    cr_assert_eq(st.dns_queries, 1);
    cr_assert_eq(st.dns_failures, 1);
    ur_loop_free(loop);
    close(fd);
}

Test(uring_dns, shared_query_cache_and_cancel)
{
    char srv[64];
    int fd = silent_resolver(srv, sizeof(srv));
    cr_assert_eq(ur_dns_configure(srv, 2000), 0);
    struct ur_loop *loop;
    cr_assert_eq(ur_loop_new(&loop, NULL), 0);
    struct res r1 = { 0 }, r2 = { 0 }, r3 = { 0 }, r4 = { 0 };
    struct ur_dns_wait w1, w2, w3, w4;
    cr_assert_eq(ur_dns_resolve(loop, "localhost", &w1, on_addr, &r1), 0);
    cr_assert_eq(ur_dns_resolve(loop, "LocalHost", &w2, on_addr, &r2), 0); /* same name */
    cr_assert_eq(ur_dns_resolve(loop, "localhost", &w3, on_addr, &r3), 0);
    ur_dns_cancel(&w3);
    cr_assert_eq(r1.calls + r2.calls, 0, "answers come from the loop, not the call");
    run_for(loop, 200);
    cr_assert_eq(r1.calls, 1);
    cr_assert_eq(r1.err, 0, "localhost: %s", ur_dns_strerror(r1.err));
    cr_assert_eq(r1.n, 1);
    cr_assert_eq(r2.calls, 1);
    cr_assert_eq(r3.calls, 0, "a cancelled registration was called back");
    cr_assert_eq(ur_dns_resolve(loop, "localhost", &w4, on_addr, &r4), 0);
    run_for(loop, 50);
    cr_assert_eq(r4.calls, 1);
    struct ur_loop_stats st;
    ur_loop_get_stats(loop, &st);
    /* /etc/hosts answers at once: the later look-ups are cache hits. */
    cr_assert_eq(st.dns_queries, 1);
    cr_assert_geq(st.dns_cache_hits, 1);
    struct ur_dns_wait w5;
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    cr_assert_eq(ur_dns_resolve(loop, longname, &w5, on_addr, &r4), -EINVAL);
    ur_loop_free(loop);
    close(fd);
}

struct cli {
    int opens, closes, open_err;
    struct ur_loop *loop;
};

static void cli_open(struct ur_conn *c, int err)
{
    struct cli *k = ur_conn_data(c);
    k->opens++;
    k->open_err = err;
    ur_conn_close(c);
}

static void cli_close(struct ur_conn *c, int err)
{
    (void)err;
    struct cli *k = ur_conn_data(c);
    k->closes++;
    ur_loop_stop(k->loop);
}

static const struct ur_conn_ops cli_ops = { .on_open = cli_open, .on_close = cli_close };

static void on_accept(struct ur_listener *l, int fd, void *ud)
{
    (void)l;
    (*(int *)ud)++;
    if (fd >= 0)
        close(fd);
}

Test(uring_dns, connect_by_name)
{
    char srv[64];
    int fd = silent_resolver(srv, sizeof(srv));
    cr_assert_eq(ur_dns_configure(srv, 300), 0);
    struct ur_loop *loop;
    cr_assert_eq(ur_loop_new(&loop, NULL), 0);
    struct ur_listener *l;
    int accepted = 0;
    cr_assert_eq(ur_listen(loop, &l, "127.0.0.1", 0, 0, on_accept, &accepted), 0);
    struct cli k = { .loop = loop };
    struct ur_conn *c;
    cr_assert_eq(ur_conn_connect_host(loop, "localhost", ur_listener_port(l), 2000, NULL, NULL,
                                      &cli_ops, &k, &c), 0);
    run_for(loop, 3000);
    cr_assert_eq(k.opens, 1);
    cr_assert_eq(k.open_err, 0, "connect to localhost: %s", strerror(-k.open_err));
    cr_assert_eq(k.closes, 1);

    struct cli bad = { .loop = loop };
    cr_assert_eq(ur_conn_connect_host(loop, "unanswered.test", 1, 2000, NULL, NULL, &cli_ops, &bad,
                                      &c), 0);
    run_for(loop, 3000);
    cr_assert_eq(bad.opens, 1, "on_open once");
    cr_assert_eq(bad.open_err, UR_DNS_E_TIMEOUT);
    cr_assert_eq(bad.closes, 1);

    char longname[300];
    memset(longname, 'b', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    cr_assert_eq(ur_conn_connect_host(loop, longname, 1, 0, NULL, NULL, &cli_ops, &bad, &c),
                 -EINVAL);
    ur_listener_close(l);
    ur_loop_free(loop);
    close(fd);
}
