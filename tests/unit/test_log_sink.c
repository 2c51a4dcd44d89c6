/*
 * test_log_sink.c: with the sink running, gw_log never blocks on a log
 * that nobody reads; lines that did not fit are counted and reported by a
 * line of the log itself; every line that comes out is whole and in order.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/obs/log.h"
#include "gateway/obs/log_sink.h"

#define LINES 20000

struct drain {
    int fd;
    char *buf;
    size_t n, cap;
};

static void *drain_pipe(void *arg)
{
    struct drain *d = arg;
    for (;;) {
        if (d->n + 65536 > d->cap) {
            d->cap = d->cap ? d->cap * 2 : 1 << 22;
            d->buf = realloc(d->buf, d->cap);
            cr_assert_not_null(d->buf);
        }
        ssize_t r = read(d->fd, d->buf + d->n, d->cap - d->n);
        if (r <= 0)
            break;
        d->n += (size_t)r;
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_pipe_log(int p[2])
{
    cr_assert_eq(pipe(p), 0);
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", p[1]);
    return gw_log_open(GW_LOG_INFO, GW_LOG_TEXT, path);
}

Test(log_sink, unread_log_never_blocks_and_losses_are_reported, .timeout = 60)
{
    int p[2];
    cr_assert_eq(open_pipe_log(p), 0);
    cr_assert_eq(gw_log_sink_start(gw_log_fd), 0);
    char pad[161];
    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    /* Nobody reads the pipe (64 KiB) yet: a blocking log would hang
     * here for ever (the test's timeout); the sink only drops. */
    double t0 = now_s();
    for (int i = 0; i < LINES; i++)
        gw_log(GW_LOG_INFO, "sess", "peer", "seq=%06d %s", i, pad);
    double took = now_s() - t0;
    cr_assert_gt(gw_log_sink_dropped(), 0, "a 1 MiB ring cannot hold %d lines", LINES);

    pthread_t th;
    struct drain d = { .fd = p[0] };
    cr_assert_eq(pthread_create(&th, NULL, drain_pipe, &d), 0);
    gw_log_sink_stop(5000);
    gw_log_close(); /* the log's descriptor lets go of the pipe */
    close(p[1]);
    pthread_join(th, NULL);
    close(p[0]);

    /* Every line whole, sequence numbers increasing, the gaps equal to
     * the reported losses. */
    int last = -1, seen = 0;
    unsigned long long reported = 0;
    char *s = d.buf, *end = d.buf + d.n;
    while (s < end) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        cr_assert_not_null(nl, "the output ends with a whole line");
        *nl = '\0';
        char *q;
        unsigned long long lost;
        if ((q = strstr(s, "seq=")) != NULL) {
            int seq = atoi(q + 4);
            cr_assert_gt(seq, last, "in order: %d after %d", seq, last);
            cr_assert_eq(strlen(q), 4 + 6 + 1 + strlen(pad), "whole line: %s", s);
            last = seq;
            seen++;
        } else if ((q = strstr(s, " warn ")) != NULL &&
                   sscanf(strstr(s, "peer=- ") + 7, "%llu log lines dropped", &lost) == 1) {
            reported += lost;
        } else {
            cr_assert_fail("unexpected line: %s", s);
        }
        s = nl + 1;
    }
    cr_assert_gt(seen, 0);
    cr_assert_eq(seen + reported, LINES, "%d lines out + %llu reported lost", seen, reported);
    cr_assert_eq(reported, gw_log_sink_dropped());
    cr_log_info("%d lines logged in %.3f s with nobody reading; %d written, %llu dropped",
                LINES, took, seen, reported);
    free(d.buf);
}

Test(log_sink, without_the_sink_lines_are_written_in_place)
{
    int p[2];
    cr_assert_eq(open_pipe_log(p), 0);
    gw_log(GW_LOG_WARN, NULL, NULL, "at once");
    char buf[512];
    ssize_t r = read(p[0], buf, sizeof(buf) - 1);
    cr_assert_gt(r, 0);
    buf[r] = '\0';
    cr_assert(strstr(buf, " warn sess=- peer=- at once\n"), "%s", buf);
    gw_log_close();
    close(p[0]);
    close(p[1]);
}

/* A log whose reader went away: its writer counts the lost line and does
 * not then report that loss into the same dead descriptor, fail, count
 * that, report again, ... (a busy loop that grew the count for ever). */
Test(log_sink, a_dead_log_does_not_report_into_itself)
{
    int p[2];
    cr_assert_eq(open_pipe_log(p), 0);
    close(p[0]); /* no reader: poll says POLLERR, nothing is written */
    cr_assert_eq(gw_log_sink_start(gw_log_fd), 0);
    gw_log(GW_LOG_INFO, NULL, NULL, "into the void");
    for (int i = 0; i < 200 && gw_log_sink_dropped() == 0; i++)
        usleep(5000);
    usleep(200000);
    cr_assert_eq(gw_log_sink_dropped(), 1, "one line lost, no reports of reports");
    gw_log_sink_stop(1000);
    gw_log_close();
    close(p[1]);
}
