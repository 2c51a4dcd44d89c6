/*
 * sink.h: whole lines leave the loop threads without blocking them.
 *
 * A sink is a bounded ring of lines plus one writer thread that drains it
 * to a descriptor (borrowed, or a file the sink opens and owns) and/or
 * syslog. gw_sink_put copies a line into the ring under a mutex held only
 * for that copy. A slow output (a full pipe, a stalled disk, a blocked
 * terminal) blocks only the writer: when the ring is full a line is
 * dropped and counted, and once the writer catches up it logs "N <unit>
 * dropped (<name> sink too slow)". The writer waits for the descriptor
 * with poll(2) and writes at most GW_SINK_LINE_MAX bytes (PIPE_BUF) of
 * whole lines at a time, so it notices a stop request within 100 ms even
 * when a pipe's reader never reads.
 *
 * Users: the log's process-wide sink (log_sink.h) and the accounting
 * records (accounting.h), each a `static struct gw_sink = GW_SINK_INIT`.
 * The struct lives in the caller's storage, not on the heap, so any
 * thread may call gw_sink_put at any time, also during or after
 * gw_sink_stop (it then returns false): there is no pointer to free under
 * a logging thread.
 */
#ifndef GW_SINK_H
#define GW_SINK_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_SINK_RING_BYTES (1u << 20)
#define GW_SINK_LINE_MAX PIPE_BUF /* one write of whole lines; a longer line is dropped */
#define GW_SINK_PATH_MAX 4096

struct gw_sink_config {
    const char *name;     /* "log", "accounting": in the sink's own messages (static string) */
    const char *unit;     /* what its lines are, plural: "log lines" (static string) */
    size_t ring_bytes;    /* 0: GW_SINK_RING_BYTES */
    int fd;               /* a descriptor the caller keeps open (its number must not
                           * change while the sink runs; dup2() over it is fine), or -1 */
    const char *path;     /* or (fd -1): a file the sink opens for appending, owns and
                           * reopens on gw_sink_reopen; NULL or "": none */
    bool to_syslog;       /* each line also goes to syslog(LOG_INFO); the caller openlog()s */
    bool reports_to_self; /* the sink is the log's own: its drop reports are lines of its
                           * own, written only once a write of it has worked again */
};

/* Private to sink.c: use the functions. */
struct gw_sink {
    pthread_mutex_t mu;
    pthread_cond_t work;     /* the writer waits for lines, a stop or a reopen */
    pthread_cond_t progress; /* gw_sink_flush waits for `done` */
    char *ring;
    size_t cap;
    uint64_t head, tail, done; /* positions: put / taken by the writer / written or lost */
    bool running, stopping, healthy;
    uint64_t stop_deadline_ns;
    uint64_t dropped, dropped_unreported;
    int last_err;              /* why the last write failed, 0: it did not */
    atomic_bool reopen_wanted;
    int fd;
    bool own_fd, to_syslog, reports_to_self;
    const char *name, *unit;
    char path[GW_SINK_PATH_MAX];
    pthread_t writer;
};

#define GW_SINK_INIT                                                                          \
    {                                                                                         \
        .mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER,                   \
        .progress = PTHREAD_COND_INITIALIZER, .fd = -1                                       \
    }

/* Opens cfg->path (when given) and starts the writer. 0, -EBUSY when the
 * sink already runs, -EINVAL without an output, or another -errno. The
 * drop count carries on from an earlier run. */
int gw_sink_start(struct gw_sink *s, const struct gw_sink_config *cfg);

/* Queues one line (n bytes, ending in '\n', at most GW_SINK_LINE_MAX).
 * False when the sink is not running: the caller decides (the log writes
 * the line itself). True otherwise, also when the line was dropped for
 * lack of room or length (counted). */
bool gw_sink_put(struct gw_sink *s, const char *line, size_t n);

/* Counts `lines` the caller lost before it could queue them (a record
 * that did not format), so the sink's count and report include them. */
void gw_sink_lost(struct gw_sink *s, uint64_t lines);

/* Waits until every line queued before the call is written (or dropped):
 * 0, or -ETIMEDOUT after timeout_ms. 0 at once when not running. */
int gw_sink_flush(struct gw_sink *s, unsigned timeout_ms);

/* The owned file is reopened by the writer before its next write
 * (SIGHUP after a rotation); a failure keeps the old one (logged). */
void gw_sink_reopen(struct gw_sink *s);

/* Writes what the ring holds (giving up after flush_ms when the output
 * does not take it: those lines are counted as dropped), joins the
 * writer, frees the ring and closes an owned file. No-op when not
 * running. */
void gw_sink_stop(struct gw_sink *s, unsigned flush_ms);

/* Lines dropped since the struct was initialized, over all its runs. */
uint64_t gw_sink_dropped(struct gw_sink *s);

#endif
