/*
 * log.h: the daemon's log. Structured lines with the session and the peer
 * they concern, one write(2) per line so lines from different threads never
 * interleave (O_APPEND file or stderr), filtered by level. Two formats:
 *
 *   text: 2026-11-25T15:29:31.123Z warn sess=abc123 peer=192.0.2.1:4711 msg
 *   json: {"ts":"2026-11-25T15:29:31.123Z","level":"warn","sess":"abc123",
 *          "peer":"192.0.2.1:4711","msg":"..."}
 *
 * (sess= / peer= are "-" in text and absent in json when not given.)
 * gw_log_open() also installs the log as the uring runtime's hook
 * (ur_log_set), so runtime messages come out the same way, as sess "-".
 *
 * logrotate: on SIGHUP the daemon calls gw_log_reopen(), which opens the
 * path again and dup2()s the new file over the old descriptor: a thread
 * writing at that moment writes either to the old or to the new file, never
 * to a closed descriptor. Safe from any thread, not from a signal handler
 * (the daemon handles signals in its main thread).
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum gw_log_level {   /* numerically equal to enum ur_log_level */
    GW_LOG_ERROR = 0,
    GW_LOG_WARN = 1,
    GW_LOG_INFO = 2,
    GW_LOG_DEBUG = 3,
};

enum gw_log_format {
    GW_LOG_TEXT = 0,
    GW_LOG_JSON = 1,
};

#define GW_LOG_LINE_MAX 2048  /* longer lines are cut (and end with "...") */

/*
 * Starts logging at most `level`, in `format`, appending to path (NULL or
 * "" = stderr), and installs the uring log hook. May be called again (a
 * reload with another level, format or file). 0 or -errno from open(2).
 * Before the first call, gw_log writes text lines at info to stderr.
 * The uring hook is installed by the first call only, with that level as
 * the runtime's ceiling (ur_log_set() must not race the loops); later
 * calls change level, format and file for both.
 */
int gw_log_open(enum gw_log_level level, enum gw_log_format format, const char *path);

/* Reopens the file (logrotate). No-op for stderr. 0 or -errno; on error
 * the old file stays in use. */
int gw_log_reopen(void);

/* Back to stderr; uninstalls the uring hook (call after the loops
 * stopped: ur_log_set() is not synchronised). */
void gw_log_close(void);

/* The descriptor lines go to now (for the asynchronous sink, log_sink.h). */
int gw_log_fd(void);

/* Changes only the level (a reload). */
void gw_log_set_level(enum gw_log_level level);

/* Nonzero when a line at level would be written: guard expensive
 * argument preparation on the data path. */
int gw_log_enabled(enum gw_log_level level);

/* session_id and peer may be NULL. */
void gw_log(enum gw_log_level level, const char *session_id, const char *peer,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * The formatter alone (pure; for tests): writes one line ending in '\n'
 * into buf and returns its length (< cap; a too long message is cut and
 * ends in "..."). ts_ms is Unix time in milliseconds. cap must be >= 64.
 */
size_t gw_log_format_line(char *buf, size_t cap, enum gw_log_format format, uint64_t ts_ms,
                          enum gw_log_level level, const char *session_id, const char *peer,
                          const char *msg);

const char *gw_log_level_name(enum gw_log_level level);
const char *gw_log_format_name(enum gw_log_format format);

/*
 * Rate limit for hot warnings (a peer can make a line repeat at its own
 * rate): at most `per_sec` lines per wall-clock second through one
 * limiter; the rest are counted, and the first line let through in a
 * later second is preceded by "N similar lines suppressed". One static
 * limiter per call site (GW_LOG_LIMITED does that); lock-free, any thread.
 * The count of a flood that stops is reported when the site next logs.
 */
struct gw_log_rl {
    _Atomic uint64_t window;     /* second << 24 | lines let through in it */
    _Atomic uint64_t suppressed; /* lines dropped since the last report */
};

/* 1: write the line (after reporting *suppressed lines when not 0);
 * 0: drop it (counted). now_ms: wall-clock milliseconds. */
int gw_log_rl_admit(struct gw_log_rl *rl, unsigned per_sec, uint64_t now_ms,
                    uint64_t *suppressed);

/* gw_log through the call site's own limiter (per_sec lines a second). */
void gw_log_limited(struct gw_log_rl *rl, unsigned per_sec, enum gw_log_level level,
                    const char *session_id, const char *peer, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
#define GW_LOG_LIMITED(per_sec, level, session_id, peer, ...)                          \
    do {                                                                               \
        static struct gw_log_rl gw_log_rl_site_;                                       \
        gw_log_limited(&gw_log_rl_site_, (per_sec), (level), (session_id), (peer),     \
                       __VA_ARGS__);                                                   \
    } while (0)

#endif
