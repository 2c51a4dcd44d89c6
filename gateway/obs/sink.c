/*
 * sink.c: the bounded ring between a sink's callers and its one writer
 * thread (see sink.h). Positions are byte counts since start; the ring
 * index is the position modulo its size. The writer takes whole lines
 * (the ring holds only whole lines, each at most GW_SINK_LINE_MAX), so a
 * failed write loses a countable number of them and syslog gets each line
 * whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "gateway/obs/log.h"
#include "gateway/obs/sink.h"

#define WAIT_MS 100

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t count_lines(const char *p, size_t n)
{
    size_t lines = 0;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
        lines++;
    return lines;
}

/* Copies n bytes at position pos out of the ring. */
static void ring_read(const struct gw_sink *s, char *dst, uint64_t pos, size_t n)
{
    size_t i = (size_t)(pos % s->cap);
    size_t first = n < s->cap - i ? n : s->cap - i;
    memcpy(dst, s->ring + i, first);
    memcpy(dst + first, s->ring, n - first);
}

static void ring_write(struct gw_sink *s, uint64_t pos, const char *src, size_t n)
{
    size_t i = (size_t)(pos % s->cap);
    size_t first = n < s->cap - i ? n : s->cap - i;
    memcpy(s->ring + i, src, first);
    memcpy(s->ring, src + first, n - first);
}

/* Takes the next whole lines, at most GW_SINK_LINE_MAX bytes, into buf;
 * their length. Called with mu held and the ring not empty. */
static size_t take(struct gw_sink *s, char *buf)
{
    size_t avail = (size_t)(s->head - s->tail);
    size_t n = avail < GW_SINK_LINE_MAX ? avail : GW_SINK_LINE_MAX;
    ring_read(s, buf, s->tail, n);
    if (n < avail) {
        /* Lines are at most GW_SINK_LINE_MAX: one ends in the window. */
        size_t whole = n;
        while (whole > 0 && buf[whole - 1] != '\n')
            whole--;
        if (whole > 0) /* else a caller broke the contract: take the bytes as they are */
            n = whole;
    }
    s->tail += n;
    return n;
}

static bool give_up(struct gw_sink *s)
{
    pthread_mutex_lock(&s->mu);
    bool late = s->stopping && mono_ns() >= s->stop_deadline_ns;
    pthread_mutex_unlock(&s->mu);
    return late;
}

/* Writes p whole to the descriptor, waiting for it in WAIT_MS steps: 0,
 * or the -errno that stopped it (-ETIMEDOUT: a stop whose flush time ran
 * out). */
static int write_fd(struct gw_sink *s, const char *p, size_t n)
{
    while (n > 0) {
        struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
        int r = poll(&pfd, 1, WAIT_MS);
        if (r < 0 && errno != EINTR)
            return -errno;
        if (r > 0 && (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)))
            return -EPIPE; /* e.g. a pipe without reader: no write, no SIGPIPE */
        if (r <= 0 || !(pfd.revents & POLLOUT)) {
            if (give_up(s))
                return -ETIMEDOUT;
            continue;
        }
        ssize_t w = write(s->fd, p, n);
        if (w < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int write_out(struct gw_sink *s, const char *p, size_t n)
{
    if (s->to_syslog) {
        for (const char *e, *l = p; l < p + n; l = e + 1) {
            e = memchr(l, '\n', (size_t)(p + n - l));
            if (!e)
                break;
            syslog(LOG_INFO, "%.*s", (int)(e - l), l);
        }
    }
    return s->fd >= 0 ? write_fd(s, p, n) : 0;
}

static int open_path(const char *path)
{
    int f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    return f < 0 ? -errno : f;
}

/* On the writer thread, which alone uses fd while the sink runs. */
static void reopen_file(struct gw_sink *s)
{
    if (!s->own_fd)
        return;
    int f = open_path(s->path);
    if (f < 0) {
        gw_log(GW_LOG_ERROR, NULL, NULL, "%s file %s: cannot reopen: %s (kept)", s->name, s->path,
               strerror(-f));
        return;
    }
    close(s->fd);
    s->fd = f;
}

/* The log's own sink says what it lost only through a write that works,
 * else a broken descriptor would keep its writer reporting its own
 * failures for ever. */
static bool report_due(const struct gw_sink *s)
{
    return s->dropped_unreported && (s->healthy || !s->reports_to_self);
}

/* Called with mu held, the ring empty: says what was lost, as a log line. */
static void report(struct gw_sink *s)
{
    uint64_t lost = s->dropped_unreported;
    int err = s->last_err;
    s->dropped_unreported = 0;
    s->last_err = 0;
    pthread_mutex_unlock(&s->mu);
    if (err)
        gw_log(GW_LOG_WARN, NULL, NULL, "%" PRIu64 " %s dropped (%s sink: %s)", lost, s->unit,
               s->name, strerror(-err));
    else
        gw_log(GW_LOG_WARN, NULL, NULL, "%" PRIu64 " %s dropped (%s sink too slow)", lost,
               s->unit, s->name);
    pthread_mutex_lock(&s->mu);
}

/* Out of flush time: what the ring still holds is lost. */
static void drop_rest(struct gw_sink *s, char *buf)
{
    while (s->head != s->tail)
        s->dropped += count_lines(buf, take(s, buf));
}

static void *writer(void *arg)
{
    struct gw_sink *s = arg;
    char buf[GW_SINK_LINE_MAX]; /* a pipe with POLLOUT takes this much without blocking */
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->head == s->tail && !report_due(s) && !s->stopping &&
               !atomic_load(&s->reopen_wanted))
            pthread_cond_wait(&s->work, &s->mu);
        if (atomic_exchange(&s->reopen_wanted, false)) {
            pthread_mutex_unlock(&s->mu);
            reopen_file(s);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        if (s->head == s->tail && report_due(s)) {
            report(s);
            continue;
        }
        if (s->head == s->tail) /* stopping, nothing left */
            break;
        size_t n = take(s, buf);
        pthread_mutex_unlock(&s->mu);
        int err = write_out(s, buf, n);
        pthread_mutex_lock(&s->mu);
        s->healthy = err == 0;
        if (err) {
            size_t lost = count_lines(buf, n);
            s->dropped += lost;
            if (err == -ETIMEDOUT) { /* only a stop gives up waiting */
                drop_rest(s, buf);
                s->done = s->tail;
                break;
            }
            s->dropped_unreported += lost;
            s->last_err = err;
        }
        s->done = s->tail;
        pthread_cond_broadcast(&s->progress);
    }
    s->running = false;
    pthread_cond_broadcast(&s->progress);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int gw_sink_start(struct gw_sink *s, const struct gw_sink_config *cfg)
{
    bool has_path = cfg->path && cfg->path[0];
    if (cfg->fd < 0 && !has_path && !cfg->to_syslog)
        return -EINVAL;
    if (has_path && strlen(cfg->path) >= sizeof(s->path))
        return -ENAMETOOLONG;
    size_t cap = cfg->ring_bytes ? cfg->ring_bytes : GW_SINK_RING_BYTES;
    pthread_mutex_lock(&s->mu);
    if (s->running || s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return -EBUSY;
    }
    int rc = 0;
    int fd = cfg->fd;
    if (fd < 0 && has_path && (fd = open_path(cfg->path)) < 0) {
        rc = fd;
        goto out;
    }
    if (!(s->ring = malloc(cap))) {
        rc = -ENOMEM;
        goto out;
    }
    s->cap = cap;
    s->fd = fd;
    s->own_fd = cfg->fd < 0 && has_path;
    snprintf(s->path, sizeof(s->path), "%s", s->own_fd ? cfg->path : "");
    s->to_syslog = cfg->to_syslog;
    s->reports_to_self = cfg->reports_to_self;
    s->name = cfg->name;
    s->unit = cfg->unit;
    s->head = s->tail = s->done = 0;
    s->healthy = true;
    s->last_err = 0;
    atomic_store(&s->reopen_wanted, false);
    int err = pthread_create(&s->writer, NULL, writer, s);
    if (err) {
        rc = -err;
        goto out;
    }
    s->running = true;
out:
    if (rc < 0) {
        free(s->ring);
        s->ring = NULL;
        if (fd >= 0 && fd != cfg->fd)
            close(fd);
        s->fd = -1;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

bool gw_sink_put(struct gw_sink *s, const char *line, size_t n)
{
    pthread_mutex_lock(&s->mu);
    if (!s->running) {
        pthread_mutex_unlock(&s->mu);
        return false;
    }
    if (n > GW_SINK_LINE_MAX || n > s->cap - (size_t)(s->head - s->tail)) {
        s->dropped++;
        s->dropped_unreported++;
        pthread_mutex_unlock(&s->mu);
        return true;
    }
    bool was_empty = s->head == s->tail;
    ring_write(s, s->head, line, n);
    s->head += n;
    pthread_mutex_unlock(&s->mu);
    if (was_empty)
        pthread_cond_signal(&s->work);
    return true;
}

void gw_sink_lost(struct gw_sink *s, uint64_t lines)
{
    pthread_mutex_lock(&s->mu);
    s->dropped += lines;
    s->dropped_unreported += lines;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
}

int gw_sink_flush(struct gw_sink *s, unsigned timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    uint64_t ns = (uint64_t)until.tv_nsec + (uint64_t)timeout_ms * 1000000u;
    until.tv_sec += (time_t)(ns / 1000000000u);
    until.tv_nsec = (long)(ns % 1000000000u);
    pthread_mutex_lock(&s->mu);
    uint64_t target = s->head;
    int rc = 0;
    while (s->running && s->done < target && rc == 0)
        rc = pthread_cond_timedwait(&s->progress, &s->mu, &until);
    bool flushed = !s->running || s->done >= target;
    pthread_mutex_unlock(&s->mu);
    return flushed ? 0 : -ETIMEDOUT;
}

void gw_sink_reopen(struct gw_sink *s)
{
    atomic_store(&s->reopen_wanted, true);
    pthread_mutex_lock(&s->mu);
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
}

void gw_sink_stop(struct gw_sink *s, unsigned flush_ms)
{
    pthread_mutex_lock(&s->mu);
    if (!s->running || s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    s->stopping = true;
    s->stop_deadline_ns = mono_ns() + (uint64_t)flush_ms * 1000000u;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->writer, NULL);
    pthread_mutex_lock(&s->mu);
    s->stopping = false;
    free(s->ring);
    s->ring = NULL;
    if (s->own_fd)
        close(s->fd);
    s->fd = -1;
    s->own_fd = false;
    pthread_mutex_unlock(&s->mu);
}

uint64_t gw_sink_dropped(struct gw_sink *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->dropped;
    pthread_mutex_unlock(&s->mu);
    return n;
}
