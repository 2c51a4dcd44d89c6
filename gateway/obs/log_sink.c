/*
 * log_sink.c: the bounded ring between gw_log's callers and one writer
 * thread (see log_sink.h). Positions are byte counts since start; the
 * ring index is the position modulo its size.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/obs/log.h"
#include "gateway/obs/log_sink.h"

#define WAIT_MS 100

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char *ring;              /* GW_LOG_SINK_BYTES */
static uint64_t head, tail;     /* written / taken positions */
static bool running, stopping;
static uint64_t stop_deadline_ns;
static uint64_t dropped_total, dropped_unreported;
static int (*fd_of)(void);
static pthread_t writer_th;

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
static void ring_read(char *dst, uint64_t pos, size_t n)
{
    size_t i = (size_t)(pos % GW_LOG_SINK_BYTES);
    size_t first = n < GW_LOG_SINK_BYTES - i ? n : GW_LOG_SINK_BYTES - i;
    memcpy(dst, ring + i, first);
    memcpy(dst + first, ring, n - first);
}

static void ring_write(uint64_t pos, const char *src, size_t n)
{
    size_t i = (size_t)(pos % GW_LOG_SINK_BYTES);
    size_t first = n < GW_LOG_SINK_BYTES - i ? n : GW_LOG_SINK_BYTES - i;
    memcpy(ring + i, src, first);
    memcpy(ring, src + first, n - first);
}

static bool give_up(void)
{
    pthread_mutex_lock(&mu);
    bool late = stopping && mono_ns() >= stop_deadline_ns;
    pthread_mutex_unlock(&mu);
    return late;
}

/* Writes buf whole, waiting for the descriptor in WAIT_MS steps; false when
 * it cannot (an error, or a stop whose flush time ran out). */
static bool write_all(const char *p, size_t n)
{
    while (n > 0) {
        int fd = fd_of();
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int r = poll(&pfd, 1, WAIT_MS);
        if (r < 0 && errno != EINTR)
            return false;
        if (r <= 0 || !(pfd.revents & POLLOUT)) {
            if (r > 0 && (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)))
                return false;
            if (give_up())
                return false;
            continue;
        }
        ssize_t w = write(fd, p, n);
        if (w < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static void *writer(void *arg)
{
    (void)arg;
    char buf[PIPE_BUF]; /* a pipe with POLLOUT takes this much without blocking */
    pthread_mutex_lock(&mu);
    for (;;) {
        while (head == tail && !dropped_unreported && !stopping)
            pthread_cond_wait(&cv, &mu);
        if (head == tail && dropped_unreported) {
            /* Caught up: say what was lost, as a line of the log itself. */
            uint64_t lost = dropped_unreported;
            dropped_unreported = 0;
            pthread_mutex_unlock(&mu);
            gw_log(GW_LOG_WARN, NULL, NULL, "%llu log lines dropped (log sink too slow)",
                   (unsigned long long)lost);
            pthread_mutex_lock(&mu);
            continue;
        }
        if (head == tail) { /* stopping, nothing left */
            running = false;
            break;
        }
        size_t n = head - tail < sizeof(buf) ? (size_t)(head - tail) : sizeof(buf);
        ring_read(buf, tail, n);
        tail += n;
        pthread_mutex_unlock(&mu);
        bool ok = write_all(buf, n);
        pthread_mutex_lock(&mu);
        if (!ok) {
            size_t lost = count_lines(buf, n);
            dropped_total += lost;
            if (stopping) {
                /* Out of flush time: the rest goes too. */
                while (head != tail) {
                    size_t k = head - tail < sizeof(buf) ? (size_t)(head - tail) : sizeof(buf);
                    ring_read(buf, tail, k);
                    tail += k;
                    dropped_total += count_lines(buf, k);
                }
                running = false;
                break;
            }
            dropped_unreported += lost;
        }
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int gw_log_sink_start(int (*fd_fn)(void))
{
    pthread_mutex_lock(&mu);
    if (running) {
        pthread_mutex_unlock(&mu);
        return 0;
    }
    if (!ring && !(ring = malloc(GW_LOG_SINK_BYTES))) {
        pthread_mutex_unlock(&mu);
        return -ENOMEM;
    }
    fd_of = fd_fn;
    head = tail = 0;
    stopping = false;
    int err = pthread_create(&writer_th, NULL, writer, NULL);
    if (err == 0)
        running = true;
    pthread_mutex_unlock(&mu);
    return -err;
}

void gw_log_sink_stop(unsigned flush_ms)
{
    pthread_mutex_lock(&mu);
    if (!running || stopping) {
        pthread_mutex_unlock(&mu);
        return;
    }
    stopping = true;
    stop_deadline_ns = mono_ns() + (uint64_t)flush_ms * 1000000u;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(writer_th, NULL);
    pthread_mutex_lock(&mu);
    stopping = false;
    free(ring);
    ring = NULL;
    pthread_mutex_unlock(&mu);
}

bool gw_log_sink_put(const char *line, size_t n)
{
    pthread_mutex_lock(&mu);
    if (!running) {
        pthread_mutex_unlock(&mu);
        return false;
    }
    if (n > GW_LOG_SINK_BYTES - (head - tail)) {
        dropped_total++;
        dropped_unreported++;
        pthread_mutex_unlock(&mu);
        return true;
    }
    bool was_empty = head == tail;
    ring_write(head, line, n);
    head += n;
    pthread_mutex_unlock(&mu);
    if (was_empty)
        pthread_cond_signal(&cv);
    return true;
}

uint64_t gw_log_sink_dropped(void)
{
    pthread_mutex_lock(&mu);
    uint64_t n = dropped_total;
    pthread_mutex_unlock(&mu);
    return n;
}
