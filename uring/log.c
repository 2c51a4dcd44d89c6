/*
 * log.c: the process-wide log hook (configured once at startup) and the
 * log-once registry used for feature fallbacks.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "uring/log.h"

static ur_log_fn log_fn;
static void *log_ud;
static enum ur_log_level log_max = UR_LOG_INFO;

/* Log-once keys; a handful of fallbacks exist, a small table is enough. */
#define ONCE_MAX 32
static const char *once_keys[ONCE_MAX];
static unsigned once_n;
static pthread_mutex_t once_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

const char *ur_log_level_name(enum ur_log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "?";
}

void ur_log_set(ur_log_fn fn, void *ud, enum ur_log_level max_level)
{
    log_fn = fn;
    log_ud = ud;
    log_max = max_level;
}

static void vlog(enum ur_log_level level, const char *fmt, va_list ap)
{
    char line[512];

    if (level > log_max)
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    if (log_fn)
        log_fn(level, line, log_ud);
    else
        fprintf(stderr, "uring %s: %s\n", ur_log_level_name(level), line);
}

void ur_log(enum ur_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void ur_log_once(enum ur_log_level level, const char *key, const char *fmt, ...)
{
    va_list ap;
    int seen = 0;

    /* Fallback paths are rare events, not the data path: a mutex is fine. */
    pthread_mutex_lock(&once_mu);
    for (unsigned i = 0; i < once_n; i++)
        if (strcmp(once_keys[i], key) == 0)
            seen = 1;
    if (!seen && once_n < ONCE_MAX)
        once_keys[once_n++] = key;
    pthread_mutex_unlock(&once_mu);
    if (seen)
        return;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}
