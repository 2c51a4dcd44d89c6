/*
 * log.c: formatting (pure, gw_log_format_line) and output of log lines.
 * The output state is a few atomics so the data path never locks: the
 * level and format are read relaxed, the descriptor is stable (reopen
 * dup2()s over it). Only open/reopen/close take a mutex, against each
 * other.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/obs/log.h"
#include "gateway/obs/log_sink.h"
#include "uring/log.h"

_Static_assert((int)GW_LOG_ERROR == (int)UR_LOG_ERROR && (int)GW_LOG_DEBUG == (int)UR_LOG_DEBUG,
               "gw and ur log levels must coincide");

static _Atomic int cur_level = GW_LOG_INFO;
static _Atomic int cur_format = GW_LOG_TEXT;
static _Atomic int cur_fd = STDERR_FILENO;
static char cur_path[4096];   /* guarded by mu; log_file is at most GW_CONFIG_STR_MAX */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const format_names[] = {"text", "json"};

const char *gw_log_level_name(enum gw_log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "?";
}

const char *gw_log_format_name(enum gw_log_format format)
{
    return (unsigned)format < 2 ? format_names[format] : "?";
}

/* Appends with truncation; the cursor never passes end. */
struct out {
    char *p, *end;
    int cut;
};

/* All or nothing, and nothing after the first miss: a cut never splits an
 * escape sequence or a field name, so the closing "...\"}" keeps a JSON
 * line well-formed. */
static void put(struct out *o, const char *s, size_t n)
{
    if (n > (size_t)(o->end - o->p)) {
        o->cut = 1;
        o->end = o->p;
        return;
    }
    memcpy(o->p, s, n);
    o->p += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* JSON string body: quotes, backslashes and control bytes escaped. Bytes
 * >= 0x80 pass through (peers' strings are logged as received). */
static void put_json(struct out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char e[6];
        if (c == '"' || c == '\\') {
            e[0] = '\\';
            e[1] = (char)c;
            put(o, e, 2);
        } else if (c == '\n') {
            put(o, "\\n", 2);
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(e, "\\u00", 4);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            put(o, e, 6);
        } else {
            put(o, s, 1);
        }
    }
}

/* Text: control bytes (a peer's CR LF in a logged value) become '?', so a
 * line is always one line. */
static void put_text(struct out *o, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        put(o, c < 0x20 || c == 0x7f ? "?" : s, 1);
    }
}

static void format_ts(char buf[64], uint64_t ts_ms)
{
    time_t secs = (time_t)(ts_ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(buf, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ts_ms % 1000));
}

size_t gw_log_format_line(char *buf, size_t cap, enum gw_log_format format, uint64_t ts_ms,
                          enum gw_log_level level, const char *session_id, const char *peer,
                          const char *msg)
{
    /* Keep room for the "..." marker, the closing of a JSON string and
     * object and '\n', so a cut line is still one well-formed line. */
    static const size_t tail = 8;
    struct out o = {buf, buf + cap - tail, 0};
    char ts[64];

    format_ts(ts, ts_ms);
    if (format == GW_LOG_JSON) {
        puts_(&o, "{\"ts\":\"");
        puts_(&o, ts);
        puts_(&o, "\",\"level\":\"");
        puts_(&o, gw_log_level_name(level));
        if (session_id) {
            puts_(&o, "\",\"sess\":\"");
            put_json(&o, session_id);
        }
        if (peer) {
            puts_(&o, "\",\"peer\":\"");
            put_json(&o, peer);
        }
        puts_(&o, "\",\"msg\":\"");
        put_json(&o, msg);
        o.end = buf + cap - 1;
        if (o.cut)
            puts_(&o, "...");
        puts_(&o, "\"}\n");
    } else {
        puts_(&o, ts);
        puts_(&o, " ");
        puts_(&o, gw_log_level_name(level));
        puts_(&o, " sess=");
        put_text(&o, session_id ? session_id : "-");
        puts_(&o, " peer=");
        put_text(&o, peer ? peer : "-");
        puts_(&o, " ");
        put_text(&o, msg);
        o.end = buf + cap - 1;
        if (o.cut)
            puts_(&o, "...");
        puts_(&o, "\n");
    }
    *o.p = '\0';
    return (size_t)(o.p - buf);
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void emit(enum gw_log_level level, const char *sess, const char *peer, const char *msg)
{
    char line[GW_LOG_LINE_MAX];
    size_t n = gw_log_format_line(line, sizeof(line),
                                  atomic_load_explicit(&cur_format, memory_order_relaxed),
                                  now_ms(), level, sess, peer, msg);
    const char *p = line;

    if (gw_log_sink_put(line, n))
        return; /* the sink's thread writes it (log_sink.h) */
    /* One write per line: O_APPEND (or a pipe/tty for stderr under
     * systemd) keeps concurrent lines whole. A short write is finished
     * rather than dropped. */
    while (n > 0) {
        ssize_t w = write(atomic_load_explicit(&cur_fd, memory_order_relaxed), p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

int gw_log_enabled(enum gw_log_level level)
{
    return (int)level <= atomic_load_explicit(&cur_level, memory_order_relaxed);
}

void gw_log(enum gw_log_level level, const char *session_id, const char *peer,
            const char *fmt, ...)
{
    char msg[GW_LOG_LINE_MAX];
    va_list ap;

    if (!gw_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit(level, session_id, peer, msg);
}

#define RL_COUNT_MASK ((UINT64_C(1) << 24) - 1)

int gw_log_rl_admit(struct gw_log_rl *rl, unsigned per_sec, uint64_t now_ms,
                    uint64_t *suppressed)
{
    uint64_t sec = now_ms / 1000;
    uint64_t w = atomic_load_explicit(&rl->window, memory_order_relaxed);

    *suppressed = 0;
    for (;;) {
        uint64_t next;
        bool fresh = (w >> 24) != sec;
        if (fresh)
            next = sec << 24 | 1;
        else if ((w & RL_COUNT_MASK) < per_sec)
            next = w + 1;
        else {
            atomic_fetch_add_explicit(&rl->suppressed, 1, memory_order_relaxed);
            return 0;
        }
        if (atomic_compare_exchange_weak_explicit(&rl->window, &w, next, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            /* The first line of a second reports what the last ones lost. */
            if (fresh)
                *suppressed = atomic_exchange_explicit(&rl->suppressed, 0, memory_order_relaxed);
            return 1;
        }
    }
}

void gw_log_limited(struct gw_log_rl *rl, unsigned per_sec, enum gw_log_level level,
                    const char *session_id, const char *peer, const char *fmt, ...)
{
    char msg[GW_LOG_LINE_MAX];
    uint64_t lost;
    va_list ap;

    if (!gw_log_enabled(level))
        return;
    if (!gw_log_rl_admit(rl, per_sec, now_ms(), &lost))
        return;
    if (lost) {
        snprintf(msg, sizeof(msg), "%llu similar lines suppressed", (unsigned long long)lost);
        emit(level, NULL, NULL, msg);
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit(level, session_id, peer, msg);
}

static void ur_hook(enum ur_log_level level, const char *msg, void *ud)
{
    (void)ud;
    if (gw_log_enabled((enum gw_log_level)level))
        emit((enum gw_log_level)level, NULL, NULL, msg);
}

static int open_path(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

    return fd < 0 ? -errno : fd;
}

/*
 * The file descriptor number writers use is never closed once created:
 * a writer may have loaded it just before a switch, and a closed number
 * could be reused by a socket. Files are swapped under it with dup2().
 */
static int priv_fd = -1;   /* guarded by mu */
static int hook_installed; /* guarded by mu */

static int install_file(const char *path)
{
    int fd = open_path(path);

    if (fd < 0)
        return fd;
    if (priv_fd < 0) {
        priv_fd = fd;
        return 0;
    }
    if (dup2(fd, priv_fd) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    close(fd);
    return 0;
}

int gw_log_open(enum gw_log_level level, enum gw_log_format format, const char *path)
{
    int rc = 0;

    pthread_mutex_lock(&mu);
    if (path && *path) {
        if (strlen(path) >= sizeof(cur_path)) {
            rc = -ENAMETOOLONG;
            goto out;
        }
        rc = install_file(path);
        if (rc != 0)
            goto out;
        strcpy(cur_path, path);
        atomic_store(&cur_fd, priv_fd);
    } else {
        atomic_store(&cur_fd, STDERR_FILENO);
        if (priv_fd >= 0)
            dup2(STDERR_FILENO, priv_fd);  /* let go of the old file */
        cur_path[0] = '\0';
    }
    atomic_store(&cur_level, (int)level);
    atomic_store(&cur_format, (int)format);
    /* ur_log_set() is startup configuration (plain globals in uring/):
     * install once; later level changes are applied by ur_hook's filter,
     * down to the level installed first. */
    if (!hook_installed) {
        ur_log_set(ur_hook, NULL, (enum ur_log_level)level);
        hook_installed = 1;
    }
out:
    pthread_mutex_unlock(&mu);
    return rc;
}

int gw_log_reopen(void)
{
    int rc = 0;

    pthread_mutex_lock(&mu);
    if (cur_path[0] != '\0')
        rc = install_file(cur_path);
    pthread_mutex_unlock(&mu);
    return rc;
}

void gw_log_close(void)
{
    pthread_mutex_lock(&mu);
    atomic_store(&cur_fd, STDERR_FILENO);
    if (priv_fd >= 0)
        dup2(STDERR_FILENO, priv_fd);
    cur_path[0] = '\0';
    if (hook_installed) {
        ur_log_set(NULL, NULL, UR_LOG_INFO);
        hook_installed = 0;
    }
    pthread_mutex_unlock(&mu);
}

int gw_log_fd(void)
{
    return atomic_load_explicit(&cur_fd, memory_order_relaxed);
}

void gw_log_set_level(enum gw_log_level level)
{
    pthread_mutex_lock(&mu);
    atomic_store(&cur_level, (int)level);
    pthread_mutex_unlock(&mu);
}
