/*
 * bench_splice: what moving bytes from one loopback TCP socket to another
 * costs a relay per MB, by the primitive it uses. A writer process streams
 * a fixed amount into socket A; this process relays A -> B with one of the
 * methods below; a reader process drains B and checks the byte count. The
 * relay's own CPU time (utime + stime of this process, io-wq workers
 * included) per MB relayed is printed for each method, with wall MB/s.
 *
 *   bench_splice [--mib N] [--block BYTES] [METHOD...]
 *
 * Methods (default: all):
 *   copy          read(2) into a buffer, write(2) out: what a relay that
 *                 must see every byte pays at least
 *   uring-copy    the same with io_uring recv and send
 *   splice        splice(2) socket -> pipe -> socket, blocking
 *   poll-splice   nonblocking splice(2) from the loop thread, waiting for
 *                 readiness with io_uring POLL_ADD (how an io_uring loop
 *                 would splice)
 *   uring-splice  IORING_OP_SPLICE both ways (runs in io-wq workers)
 *
 * Not part of perf/run.sh: it answers a design question (README, W7) and
 * takes about 10 s. Loopback only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum method { M_COPY, M_URING_COPY, M_SPLICE, M_POLL_SPLICE, M_URING_SPLICE, M_N };
static const char *const names[M_N] = { "copy", "uring-copy", "splice", "poll-splice",
                                        "uring-splice" };

static double cpu_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-6;
}

static double wall_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* A connected loopback pair: *a (the far end) and *b (accepted). */
static void tcp_pair(int *a, int *b)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1) ||
        getsockname(ls, (struct sockaddr *)&sa, &sl))
        die("listen");
    *a = socket(AF_INET, SOCK_STREAM, 0);
    if (*a < 0 || connect(*a, (struct sockaddr *)&sa, sizeof(sa)))
        die("connect");
    *b = accept(ls, NULL, NULL);
    if (*b < 0)
        die("accept");
    close(ls);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write");
        p += w;
        n -= (size_t)w;
    }
}

/* Writer: total bytes into fd, then EOF. */
static void writer(int fd, long long total)
{
    static char buf[1 << 20];
    memset(buf, 'x', sizeof(buf));
    while (total > 0) {
        size_t n = total < (long long)sizeof(buf) ? (size_t)total : sizeof(buf);
        write_all(fd, buf, n);
        total -= (long long)n;
    }
    close(fd);
}

/* Reader: drains fd; exit status 0 when exactly total bytes came. */
static int reader(int fd, long long total)
{
    static char buf[1 << 20];
    long long got = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        got += r;
    return got == total ? 0 : 1;
}

static struct io_uring_cqe *one(struct io_uring *ring)
{
    struct io_uring_cqe *cqe;
    if (io_uring_submit_and_wait(ring, 1) < 0 || io_uring_wait_cqe(ring, &cqe))
        die("io_uring");
    return cqe;
}

/* Submits sqe-prepared op and returns its result. */
static int run_op(struct io_uring *ring)
{
    struct io_uring_cqe *cqe = one(ring);
    int res = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    return res;
}

static void wait_ready(struct io_uring *ring, int fd, unsigned events)
{
    io_uring_prep_poll_add(io_uring_get_sqe(ring), fd, events);
    run_op(ring);
}

/* Relays in -> out with method m until EOF; returns bytes moved. */
static long long relay(enum method m, int in, int out, size_t block)
{
    long long moved = 0;
    char *buf = malloc(block);
    int p[2];
    struct io_uring ring;
    if (!buf || pipe2(p, m == M_POLL_SPLICE ? O_NONBLOCK : 0) ||
        io_uring_queue_init(8, &ring, 0))
        die("setup");
    if (m == M_POLL_SPLICE && (fcntl(in, F_SETFL, O_NONBLOCK) || fcntl(out, F_SETFL, O_NONBLOCK)))
        die("fcntl");
    for (;;) {
        ssize_t n;
        switch (m) {
        case M_COPY:
            n = read(in, buf, block);
            if (n > 0)
                write_all(out, buf, (size_t)n);
            break;
        case M_URING_COPY:
            io_uring_prep_recv(io_uring_get_sqe(&ring), in, buf, block, 0);
            n = run_op(&ring);
            for (ssize_t off = 0; off < n;) {
                io_uring_prep_send(io_uring_get_sqe(&ring), out, buf + off, (size_t)(n - off), 0);
                int w = run_op(&ring);
                if (w <= 0)
                    die("send");
                off += w;
            }
            break;
        case M_SPLICE:
        case M_POLL_SPLICE: {
            unsigned fl = SPLICE_F_MOVE | (m == M_POLL_SPLICE ? SPLICE_F_NONBLOCK : 0);
            n = splice(in, NULL, p[1], NULL, block, fl);
            if (n < 0 && errno == EAGAIN) {
                wait_ready(&ring, in, POLLIN);
                continue;
            }
            for (ssize_t left = n; left > 0;) {
                ssize_t w = splice(p[0], NULL, out, NULL, (size_t)left, fl);
                if (w < 0 && errno == EAGAIN) {
                    wait_ready(&ring, out, POLLOUT);
                    continue;
                }
                if (w <= 0)
                    die("splice out");
                left -= w;
            }
            break;
        }
        case M_URING_SPLICE:
            io_uring_prep_splice(io_uring_get_sqe(&ring), in, -1, p[1], -1, (unsigned)block,
                                 SPLICE_F_MOVE);
            n = run_op(&ring);
            for (ssize_t left = n; left > 0;) {
                io_uring_prep_splice(io_uring_get_sqe(&ring), p[0], -1, out, -1, (unsigned)left,
                                     SPLICE_F_MOVE);
                int w = run_op(&ring);
                if (w <= 0)
                    die("uring splice out");
                left -= w;
            }
            break;
        default:
            n = -1;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        moved += n;
    }
    io_uring_queue_exit(&ring);
    close(p[0]);
    close(p[1]);
    free(buf);
    return moved;
}

static int bench(enum method m, long long total, size_t block)
{
    int a0, a1, b0, b1;
    tcp_pair(&a0, &a1); /* writer a0 -> relay a1 */
    tcp_pair(&b0, &b1); /* relay b1 -> reader b0 */
    pid_t w = fork();
    if (w == 0) {
        close(a1), close(b0), close(b1);
        writer(a0, total);
        _exit(0);
    }
    pid_t r = fork();
    if (r == 0) {
        close(a0), close(a1), close(b1);
        _exit(reader(b0, total));
    }
    close(a0);
    close(b0);
    double c0 = cpu_s(), t0 = wall_s();
    long long moved = relay(m, a1, b1, block);
    double c1 = cpu_s(), t1 = wall_s();
    close(a1);
    close(b1);
    int st_w, st_r;
    waitpid(w, &st_w, 0);
    waitpid(r, &st_r, 0);
    bool ok = moved == total && WIFEXITED(st_r) && WEXITSTATUS(st_r) == 0;
    double mb = (double)moved / 1e6;
    printf("%-13s block %7zu: %7.0f MB/s wall, relay CPU %.3f ms per MB%s\n", names[m], block,
           mb / (t1 - t0), (c1 - c0) * 1e3 / mb, ok ? "" : "  (BYTE COUNT WRONG)");
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    long long mib = 4096;
    size_t block = 64 * 1024;
    bool want[M_N] = { false };
    bool any = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
            mib = atoll(argv[++i]);
        } else if (strcmp(argv[i], "--block") == 0 && i + 1 < argc) {
            block = (size_t)atoll(argv[++i]);
        } else {
            int k = 0;
            while (k < M_N && strcmp(argv[i], names[k]) != 0)
                k++;
            if (k == M_N) {
                fprintf(stderr, "usage: bench_splice [--mib N] [--block BYTES] "
                                "[copy|uring-copy|splice|poll-splice|uring-splice...]\n");
                return 2;
            }
            want[k] = any = true;
        }
    }
    if (mib <= 0 || block == 0 || block > (1u << 30)) {
        fprintf(stderr, "bench_splice: bad --mib or --block\n");
        return 2;
    }
    int bad = 0;
    for (int m = 0; m < M_N; m++)
        if (!any || want[m])
            bad |= bench((enum method)m, mib << 20, block);
    return bad;
}
