/*
 * log.h: the runtime's logging hook. uring/ never prints on its own: every
 * line goes through one callback the program installs (the daemon routes it
 * to its log file / syslog with session context), stderr by default.
 * Feature fallbacks (no SEND_ZC, no MSG_RING, ...) are logged once per
 * process through ur_log_once() so an operator knows which path runs.
 */
#ifndef UR_LOG_H
#define UR_LOG_H

enum ur_log_level {
    UR_LOG_ERROR = 0,
    UR_LOG_WARN = 1,
    UR_LOG_INFO = 2,
    UR_LOG_DEBUG = 3,
};

/* msg is a formatted line without trailing newline, valid during the call. */
typedef void (*ur_log_fn)(enum ur_log_level level, const char *msg, void *ud);

/*
 * Install the process-wide log hook (NULL restores stderr) and the most
 * verbose level that is passed on. Call once at startup, before loops run:
 * it is configuration, not a data-path operation.
 */
void ur_log_set(ur_log_fn fn, void *ud, enum ur_log_level max_level);

void ur_log(enum ur_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Log once per process for each distinct `key` (a static string naming the
 * event, e.g. "no-send-zc"); later calls with the same key are dropped. */
void ur_log_once(enum ur_log_level level, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Short name of a level ("error", "warn", "info", "debug"). */
const char *ur_log_level_name(enum ur_log_level level);

#endif
