/*
 * bench_uring_send.c: loopback goodput of plain send vs SEND_ZC through
 * ur_conn, for 4 KiB, 64 KiB and 1 MiB segments in the same run. The
 * sender is one ur_loop; the receiver a plain thread doing blocking reads,
 * so the figures compare the send paths, not two event loops. Prints MB/s
 * per mode and the ratio zc/plain that sets UR_ZC_THRESHOLD_DEFAULT.
 *
 * usage: bench_uring_send [MiB per run, default 512]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uring/conn.h"
#include "uring/loop.h"

struct run {
    size_t seg, total, queued;
    int lfd;
    uint16_t port;
    struct ur_loop *loop;
    uint64_t t_end;
    int failed;
};

static uint8_t src[1u << 20];

static void *receiver(void *arg)
{
    struct run *r = arg;
    static uint8_t buf[1u << 20];
    size_t got = 0;
    int fd = accept(r->lfd, NULL, NULL);

    while (fd >= 0 && got < r->total) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    r->t_end = ur_now_ns();
    if (got != r->total)
        r->failed = 1;
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void fill(struct ur_conn *c, struct run *r);
static void sent(struct ur_conn *c, void *arg, int err)
{
    struct run *r = arg;
    if (err)
        r->failed = 1;
    else
        fill(c, r);
}

static void fill(struct ur_conn *c, struct run *r)
{
    size_t depth = r->seg * 8 > (4u << 20) ? r->seg * 8 : (4u << 20);

    while (r->queued < r->total && ur_conn_pending(c) < depth) {
        size_t n = r->seg < r->total - r->queued ? r->seg : r->total - r->queued;
        if (ur_conn_send(c, src, n, NULL, sent, r) < 0) {
            r->failed = 1;
            return;
        }
        r->queued += n;
    }
    if (r->queued == r->total && ur_conn_pending(c) == 0)
        ur_loop_stop(r->loop);
}

static void on_open(struct ur_conn *c, int err)
{
    struct run *r = ur_conn_data(c);
    if (err) {
        r->failed = 1;
        ur_loop_stop(r->loop);
        return;
    }
    fill(c, r);
}

static const struct ur_conn_ops ops = {.on_open = on_open};

static double one_run(size_t seg, size_t total, int zc, uint64_t *zc_ops)
{
    struct ur_loop_config cfg;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    struct run r = {.seg = seg, .total = total};
    struct ur_loop_stats st;
    struct ur_conn *c;
    pthread_t th;
    uint64_t t0;

    ur_loop_config_default(&cfg);
    cfg.zc_threshold = zc ? 1 : SIZE_MAX;
    if (ur_loop_new(&r.loop, &cfg) < 0)
        return -1;
    r.lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(r.lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(r.lfd, 1) < 0 ||
        getsockname(r.lfd, (struct sockaddr *)&a, &alen) < 0)
        return -1;
    pthread_create(&th, NULL, receiver, &r);
    t0 = ur_now_ns();
    if (ur_conn_connect(r.loop, (struct sockaddr *)&a, sizeof(a), 2000, NULL, NULL, &ops, &r,
                        &c) < 0)
        return -1;
    ur_loop_run(r.loop);
    ur_loop_get_stats(r.loop, &st);
    *zc_ops = st.send_zc;
    ur_conn_close(c);
    for (int i = 0; i < 10 && st.conns_open; i++) {
        ur_loop_run_once(r.loop, 100);
        ur_loop_get_stats(r.loop, &st);
    }
    pthread_join(th, NULL);
    close(r.lfd);
    ur_loop_free(r.loop);
    if (r.failed)
        return -1;
    return (double)total / ((double)(r.t_end - t0) / 1e9) / 1e6;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 512;
    static const size_t segs[] = {4096, 65536, 1u << 20};

    memset(src, 0x5a, sizeof(src));
    printf("# loopback goodput, %zu MiB per run, one sender loop + blocking reader thread\n",
           mib);
    printf("%-10s %12s %12s %8s %10s\n", "segment", "plain MB/s", "zc MB/s", "zc/plain",
           "zc ops");
    for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        uint64_t zc_ops = 0, none = 0;
        double plain = one_run(segs[i], mib << 20, 0, &none);
        double zc = one_run(segs[i], mib << 20, 1, &zc_ops);
        printf("%-10zu %12.0f %12.0f %8.2f %10llu\n", segs[i], plain, zc,
               plain > 0 ? zc / plain : 0.0, (unsigned long long)zc_ops);
        if (plain < 0 || zc < 0) {
            fprintf(stderr, "run failed\n");
            return 1;
        }
    }
    return 0;
}
