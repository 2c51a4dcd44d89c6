/*
 * test_sink.c: the sink instance (gateway/obs/sink.h) alone. Two sinks
 * run at once, each into its own output, and count their drops apart: a
 * sink whose pipe nobody reads drops and reports its own lines while the
 * other writes all of its own; flush waits for what was queued; limits
 * and restarts keep the count.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/obs/log.h"
#include "gateway/obs/sink.h"

#define LINES 200
#define PAD 1000

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    size_t cap = 1 << 20, n = 0;
    char *b = malloc(cap + 1);
    size_t r;
    while ((r = fread(b + n, 1, cap - n, f)) > 0)
        n += r;
    fclose(f);
    b[n] = '\0';
    if (len)
        *len = n;
    return b;
}

static size_t make_line(char *buf, const char *tag, int seq)
{
    return (size_t)snprintf(buf, PAD + 64, "%s seq=%04d %.*s\n", tag, seq, PAD,
                            "................................................................"
                            "................................................................"
                            "................................................................"
                            "................................................................"
                            "................................................................"
                            "................................................................"
                            "................................................................"
                            "................................................................"
                            "................................................................"
                            "................................................................"
                            "................................................................"
                            "................................................................"
                            "................................................................"
                            "................................................................"
                            "................................................................"
                            "................................................................");
}

/* Lines of `tag` in text, in increasing order and whole; how many. */
static int check_lines(char *text, size_t n, const char *tag)
{
    int last = -1, seen = 0;
    char *s = text, *end = text + n;
    while (s < end) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        cr_assert_not_null(nl, "the output ends with a whole line");
        *nl = '\0';
        if (strcmp(s, "fill") == 0) { /* what filled the pipe first */
            s = nl + 1;
            continue;
        }
        cr_assert_eq(strncmp(s, tag, strlen(tag)), 0, "only %s lines here: %.40s", tag, s);
        int seq = atoi(s + strlen(tag) + 5);
        cr_assert_gt(seq, last, "in order: %d after %d", seq, last);
        cr_assert_eq(strlen(s), strlen(tag) + 10 + PAD, "whole line %d", seq);
        last = seq;
        seen++;
        s = nl + 1;
    }
    return seen;
}

struct drain {
    int fd;
    char *buf;
    size_t n;
};

static void *drain_pipe(void *arg)
{
    struct drain *d = arg;
    size_t cap = LINES * (PAD + 64) + (1 << 20);
    d->buf = malloc(cap);
    ssize_t r;
    while ((r = read(d->fd, d->buf + d->n, cap - d->n)) > 0)
        d->n += (size_t)r;
    return NULL;
}

/* Sum of "N <unit> dropped (<name> sink too slow)" in the log. */
static unsigned long long reported(const char *log, const char *unit, const char *name)
{
    char pat[128];
    snprintf(pat, sizeof(pat), " %s dropped (%s sink too slow)", unit, name);
    unsigned long long sum = 0;
    for (const char *p = log; (p = strstr(p, pat)) != NULL; p++) {
        const char *q = p;
        while (q > log && q[-1] >= '0' && q[-1] <= '9')
            q--;
        sum += strtoull(q, NULL, 10);
    }
    return sum;
}

Test(sink, two_sinks_at_once_count_their_own_drops, .timeout = 60)
{
    char dir[] = "/tmp/test_sink.XXXXXX", logp[256], bpath[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(logp, sizeof(logp), "%s/log", dir);
    snprintf(bpath, sizeof(bpath), "%s/b", dir);
    cr_assert_eq(gw_log_open(GW_LOG_INFO, GW_LOG_TEXT, logp), 0); /* the reports */

    int p[2];
    cr_assert_eq(pipe(p), 0);
    /* a's pipe starts full, so its writer blocks at once (else it could
     * take all the ring held before the puts end). */
    cr_assert_eq(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
    while (write(p[1], "fill\n", 5) == 5)
        ;
    cr_assert_eq(fcntl(p[1], F_SETFL, 0), 0);
    static struct gw_sink a = GW_SINK_INIT, b = GW_SINK_INIT;
    struct gw_sink_config ca = {.name = "a", .unit = "a-lines", .ring_bytes = 16384, .fd = p[1]};
    struct gw_sink_config cb = {.name = "b", .unit = "b-lines", .fd = -1, .path = bpath};
    cr_assert_eq(gw_sink_start(&a, &ca), 0);
    cr_assert_eq(gw_sink_start(&b, &cb), 0);
    cr_assert_eq(gw_sink_start(&b, &cb), -EBUSY);

    /* Nobody reads a's pipe (64 KiB) and its ring holds 16 KiB: of 200 KB
     * most is dropped; b's 1 MiB ring and file take all. */
    char line[PAD + 64];
    for (int i = 0; i < LINES; i++) {
        cr_assert(gw_sink_put(&a, line, make_line(line, "a", i)));
        cr_assert(gw_sink_put(&b, line, make_line(line, "b", i)));
    }
    cr_assert_eq(gw_sink_flush(&a, 200), -ETIMEDOUT, "a's pipe is full");
    cr_assert_eq(gw_sink_flush(&b, 10000), 0);
    uint64_t dropped_a = gw_sink_dropped(&a);
    cr_assert_gt(dropped_a, 0);
    cr_assert_eq(gw_sink_dropped(&b), 0, "b counts none of a's drops");

    pthread_t th;
    struct drain d = {.fd = p[0]};
    cr_assert_eq(pthread_create(&th, NULL, drain_pipe, &d), 0);
    cr_assert_eq(gw_sink_flush(&a, 10000), 0);
    gw_sink_stop(&a, 5000);
    gw_sink_stop(&b, 5000);
    close(p[1]);
    pthread_join(th, NULL);
    close(p[0]);
    gw_log_close();

    int seen_a = check_lines(d.buf, d.n, "a");
    cr_assert_eq(gw_sink_dropped(&a), dropped_a, "no more lost after the reader came");
    cr_assert_eq((uint64_t)seen_a + dropped_a, LINES, "%d out + %llu dropped", seen_a,
                 (unsigned long long)dropped_a);
    size_t nb;
    char *out_b = slurp(bpath, &nb);
    cr_assert_eq(check_lines(out_b, nb, "b"), LINES);

    char *log = slurp(logp, NULL);
    cr_assert_eq(reported(log, "a-lines", "a"), dropped_a, "log: %s", log);
    cr_assert_null(strstr(log, "b-lines"), "b reports nothing: %s", log);
    free(log);
    free(out_b);
    free(d.buf);
    unlink(logp);
    unlink(bpath);
    rmdir(dir);
}

Test(sink, limits_and_restart_keep_the_count)
{
    char path[] = "/tmp/test_sink_r.XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    static struct gw_sink s = GW_SINK_INIT;
    struct gw_sink_config c = {.name = "r", .unit = "r-lines", .fd = fd};
    struct gw_sink_config none = {.name = "r", .unit = "r-lines", .fd = -1};
    cr_assert_eq(gw_sink_start(&s, &none), -EINVAL, "no output");
    cr_assert_not(gw_sink_put(&s, "x\n", 2), "not running: the caller writes");

    cr_assert_eq(gw_sink_start(&s, &c), 0);
    static char big[GW_SINK_LINE_MAX + 1];
    memset(big, 'x', sizeof(big));
    big[sizeof(big) - 1] = '\n';
    cr_assert(gw_sink_put(&s, big, sizeof(big)));
    cr_assert_eq(gw_sink_dropped(&s), 1, "a line over GW_SINK_LINE_MAX is dropped");
    big[GW_SINK_LINE_MAX - 1] = '\n';
    cr_assert(gw_sink_put(&s, big, GW_SINK_LINE_MAX), "a line of the maximum fits");
    gw_sink_lost(&s, 2);
    cr_assert_eq(gw_sink_dropped(&s), 3);
    gw_sink_stop(&s, 1000);
    cr_assert_not(gw_sink_put(&s, "x\n", 2));
    cr_assert_eq(gw_sink_flush(&s, 0), 0, "stopped: nothing to wait for");

    cr_assert_eq(gw_sink_start(&s, &c), 0, "a stopped sink starts again");
    cr_assert(gw_sink_put(&s, "y\n", 2));
    gw_sink_stop(&s, 1000);
    cr_assert_eq(gw_sink_dropped(&s), 3, "the count carries on");
    size_t n;
    char *out = slurp(path, &n);
    cr_assert_eq(n, GW_SINK_LINE_MAX + 2);
    cr_assert_eq(memcmp(out + GW_SINK_LINE_MAX, "y\n", 2), 0);
    free(out);
    close(fd);
    unlink(path);
}
