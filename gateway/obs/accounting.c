/*
 * accounting.c: session records as JSON lines, and their writer thread
 * (see accounting.h). The queue is a byte buffer that producers append
 * whole lines to; the writer swaps it for its own empty one under the
 * mutex and writes outside it, so a producer waits at most for a memcpy.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "gateway/obs/accounting.h"
#include "gateway/obs/log.h"

/* --- formatting -------------------------------------------------------------- */

size_t gw_json_str(char *buf, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    if (cap < 2)
        return 0;
    buf[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        size_t k;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            k = 2;
        } else if (c < 0x20 || c >= 0x7f) {
            k = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
        } else {
            esc[0] = (char)c;
            k = 1;
        }
        if (o + k + 1 > cap)
            return 0;
        memcpy(buf + o, esc, k);
        o += k;
    }
    if (o + 1 > cap)
        return 0;
    buf[o++] = '"';
    return o;
}

struct jout {
    char *p;
    size_t cap, n;
    bool full;
};

static void jraw(struct jout *o, const char *s)
{
    size_t k = strlen(s);
    if (o->full || o->n + k > o->cap) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->n, s, k);
    o->n += k;
}

static void jkey_str(struct jout *o, const char *key, const char *v)
{
    if (!v || o->full)
        return;
    jraw(o, o->n > 1 ? ",\"" : "\"");
    jraw(o, key);
    jraw(o, "\":");
    size_t k = o->full ? 0 : gw_json_str(o->p + o->n, o->cap - o->n, v, strlen(v));
    if (!k)
        o->full = true;
    o->n += k;
}

static void jkey_u64(struct jout *o, const char *key, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRIu64, v);
    jraw(o, o->n > 1 ? ",\"" : "\"");
    jraw(o, key);
    jraw(o, "\":");
    jraw(o, num);
}

int gw_acct_format(char *buf, size_t cap, const struct gw_acct_record *r)
{
    struct jout o = { buf, cap, 0, false };
    jraw(&o, "{");
    jkey_str(&o, "kind", r->kind);
    jkey_str(&o, "id", r->id);
    jkey_str(&o, "call_id", r->call_id);
    jkey_str(&o, "user", r->user);
    jkey_str(&o, "peer", r->peer);
    jkey_str(&o, "remote", r->remote);
    jkey_u64(&o, "start_ms", r->start_ms);
    jkey_u64(&o, "duration_ms", r->duration_ms);
    jkey_u64(&o, "bytes_in", r->bytes_in);
    jkey_u64(&o, "bytes_out", r->bytes_out);
    jkey_u64(&o, "body_in", r->body_in);
    jkey_u64(&o, "body_out", r->body_out);
    jkey_u64(&o, "chunks_in", r->chunks_in);
    jkey_u64(&o, "chunks_out", r->chunks_out);
    jkey_str(&o, "reason", r->reason);
    jraw(&o, "}\n");
    return o.full ? -ENOSPC : (int)o.n;
}

/* --- the writer ---------------------------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char *queue, *spare;         /* GW_ACCT_QUEUE_BYTES each */
static size_t queued;
static bool running, stopping;
static uint64_t dropped, dropped_unreported;
static _Atomic bool reopen_wanted;
static _Atomic bool enabled;
static char path[4096];
static int fd = -1;
static bool to_syslog;
static pthread_t writer_th;

static int open_file(void)
{
    int f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    return f < 0 ? -errno : f;
}

static void write_out(const char *p, size_t n)
{
    if (fd >= 0) {
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(fd, p + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                gw_log(GW_LOG_ERROR, NULL, NULL, "accounting file %s: %s (%zu bytes lost)", path,
                       w < 0 ? strerror(errno) : "short write", n - off);
                break;
            }
            off += (size_t)w;
        }
    }
    if (to_syslog) {
        for (const char *e, *s = p; s < p + n; s = e + 1) {
            e = memchr(s, '\n', (size_t)(p + n - s));
            if (!e)
                break;
            syslog(LOG_INFO, "%.*s", (int)(e - s), s);
        }
    }
}

static void *writer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!queued && !stopping && !atomic_load(&reopen_wanted))
            pthread_cond_wait(&cv, &mu);
        char *batch = queue;
        size_t n = queued;
        uint64_t lost = dropped_unreported;
        queue = spare;
        spare = NULL;
        queued = 0;
        dropped_unreported = 0;
        bool last = stopping;
        pthread_mutex_unlock(&mu);

        if (path[0] && atomic_exchange(&reopen_wanted, false)) {
            int f = open_file();
            if (f < 0) {
                gw_log(GW_LOG_ERROR, NULL, NULL, "accounting file %s: cannot reopen: %s (kept)",
                       path, strerror(-f));
            } else {
                if (fd >= 0)
                    close(fd);
                fd = f;
            }
        }
        if (n)
            write_out(batch, n);
        if (lost)
            gw_log(GW_LOG_WARN, NULL, NULL,
                   "%" PRIu64 " accounting records dropped (accounting sink too slow)", lost);

        pthread_mutex_lock(&mu);
        spare = batch;
        if (last && !queued)
            break;
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int gw_acct_start(const char *file, bool use_syslog)
{
    if ((!file || !file[0]) && !use_syslog)
        return 0;
    snprintf(path, sizeof(path), "%s", file ? file : "");
    if (path[0] && (fd = open_file()) < 0) {
        int e = fd;
        fd = -1;
        return e;
    }
    queue = malloc(GW_ACCT_QUEUE_BYTES);
    spare = malloc(GW_ACCT_QUEUE_BYTES);
    if (!queue || !spare) {
        gw_acct_stop();
        return -ENOMEM;
    }
    to_syslog = use_syslog;
    if (to_syslog)
        openlog("msrpgw", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    queued = 0;
    stopping = false;
    int err = pthread_create(&writer_th, NULL, writer, NULL);
    if (err) {
        gw_acct_stop();
        return -err;
    }
    running = true;
    atomic_store(&enabled, true);
    return 0;
}

bool gw_acct_enabled(void) { return atomic_load_explicit(&enabled, memory_order_relaxed); }

void gw_acct_put(const struct gw_acct_record *r)
{
    if (!gw_acct_enabled())
        return;
    char line[GW_ACCT_LINE_MAX];
    int n = gw_acct_format(line, sizeof(line), r);
    pthread_mutex_lock(&mu);
    if (n < 0 || !running || !queue || queued + (size_t)n > GW_ACCT_QUEUE_BYTES) {
        dropped++;
        dropped_unreported++;
    } else {
        memcpy(queue + queued, line, (size_t)n);
        queued += (size_t)n;
        pthread_cond_signal(&cv);
    }
    pthread_mutex_unlock(&mu);
}

void gw_acct_reopen(void)
{
    atomic_store(&reopen_wanted, true);
    pthread_mutex_lock(&mu);
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

void gw_acct_stop(void)
{
    atomic_store(&enabled, false);
    pthread_mutex_lock(&mu);
    bool was = running;
    stopping = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    if (was)
        pthread_join(writer_th, NULL);
    pthread_mutex_lock(&mu);
    running = false;
    free(queue);
    free(spare);
    queue = spare = NULL;
    queued = 0;
    pthread_mutex_unlock(&mu);
    if (fd >= 0)
        close(fd);
    fd = -1;
    if (to_syslog)
        closelog();
    to_syslog = false;
}

uint64_t gw_acct_dropped(void)
{
    pthread_mutex_lock(&mu);
    uint64_t d = dropped;
    pthread_mutex_unlock(&mu);
    return d;
}
