/*
 * msrpcat: MSRP file transfer on the gateway's session layer (netcat for
 * RFC 4975). One sender, one receiver, directly or through an RFC 4976
 * relay, plain or TLS.
 *
 *   msrpcat recv [--listen HOST:PORT] [--out FILE] [--count N]
 *                [--relay HOST:PORT [--user U --password P]]
 *                [--tls --cert C --key K] [--path-file F]
 *                [--accept-types T] [--bind-timeout S] [--expect-sha256 HEX]...
 *                [--expect-remote-path "URI..."] [--max-size BYTES] [--no-verify]
 *                [--sessmatch]
 *      Prints its full local path (the sender's To-Path) on stdout line 1
 *      (and atomically into --path-file), receives N messages (default 1)
 *      into FILE, FILE.1, FILE.2, ..., prints "sha256 HEX FILE" per file
 *      and exits 0; non-zero on abort, refusal, timeout or mismatch.
 *      Every request's From-Path must be reverse(the relay's Use-Path) +
 *      the sender's path (--expect-remote-path, as SDP would give it; else
 *      learned from the first SEND and held): 481 otherwise, as deployed
 *      clients answer. A message larger than --max-size (default 64 GiB), by
 *      its total or by where its bytes would go, is refused with 413.
 *
 *   msrpcat send FILE... --to-path "URI [URI...]"
 *                [--relay HOST:PORT [--user U --password P]]
 *                [--chunk-size N] [--window N] [--content-type T]
 *                [--tls [--ca CA | --insecure]] [--fail-report yes|no|partial]
 *                [--success-report] [--bind-timeout S] [--response-timeout S]
 *                [--abort-after BYTES] [--local-uri URI] [--no-verify]
 *
 *   Both: --relay HOST:PORT takes an address or a DNS name; --relay-domain
 *   DOMAIN finds the relay by SRV (_msrps._tcp with --tls, else _msrp._tcp;
 *   each target in order until one accepts; without SRV records the domain
 *   itself on port 2855). Names (also in --to-path) are resolved on the
 *   loop with the system's resolver or --resolver HOST:PORT, within
 *   --dns-timeout S (default 5); a name that does not resolve: exit 3,
 *   "cannot resolve NAME: no such name" (or "timed out").
 *      Connects to the first To-Path URI (or AUTHs to the relay and
 *      prepends its Use-Path), binds with an empty SEND, sends the files as
 *      messages interleaved on one session, waits for every response (and
 *      the Success REPORTs when asked), prints "sha256 HEX FILE" per file,
 *      exits 0 on success, else non-zero naming the failure. --local-uri
 *      sets its own URI (the From-Path; default: the socket's address).
 *      recv prints "from-path P" for each message's first chunk, send
 *      "report CODE from-path P" for each REPORT: the paths it accepted.
 *
 * Exit status: 0 success, 1 transfer failure, 2 usage / setup error,
 * 3 bind or connect failure (timeout, refused).
 * A progress line (bytes, rate, ETA) goes to stderr when it is a terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "gateway/daemon/config.h"
#include "gateway/session/endpoint.h"
#include "gateway/session/session.h"
#include "uring/log.h"
#include "uring/dns.h"
#include "uring/loop.h"
#include "uring/timer.h"
#include "uring/tls.h"

#define MAX_FILES 64

static const struct {
    int code;
    const char *name;
} code_names[] = {
    { 200, "OK" },
    { 400, "Bad Request" },
    { 401, "Unauthorized" },
    { 403, "Forbidden" },
    { 408, "Request Timeout" },
    { 413, "Stop Sending Message" },
    { 415, "Unsupported Media Type" },
    { 423, "Interval Out-of-Bounds" },
    { 481, "Session Does Not Exist" },
    { 501, "Not Implemented" },
    { 506, "Wrong Connection" },
    { GW_CODE_ABORTED, "aborted" },
    { GW_CODE_CLOSED, "connection closed" },
    { GW_CODE_IO, "file read error" },
};

static const char *code_name(int code)
{
    for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]); i++)
        if (code_names[i].code == code)
            return code_names[i].name;
    return "error";
}

struct file_slot {
    const char *path;
    int fd;
    uint64_t size;
    struct gw_msg_out *msg;
    char msgid[GW_MSGID_MAX + 1];
    int result;        /* 0 pending, else the code */
    bool report_ok;    /* Success REPORT 200 covering the message */
    pthread_t hasher;
    bool hashing;
    char sha[65];
};

struct app {
    struct ur_loop *loop;
    struct gw_session *s;
    struct gw_server *sv;
    struct ur_tls_ctx *tls;
    int exit_code;
    char dial_host[256];  /* what we resolve and dial first, for messages */
    bool done;
    bool verify;
    bool tty;
    /* progress */
    struct ur_timer progress;
    uint64_t total_bytes, moved;
    uint64_t t0;
    /* send */
    struct file_slot files[MAX_FILES];
    unsigned n_files;
    unsigned finished;
    bool want_report;
    uint64_t abort_after;
    bool abort_asked;
    struct ur_timer abort_timer;
    struct ur_timer report_timer;
    /* recv */
    const char *out;
    const char *path_file;
    unsigned count;
    unsigned received;
    bool messages_done;
    char out_name[4096];
    char *expect[MAX_FILES];
    unsigned n_expect;
    char names[MAX_FILES][4096];
    int fds[MAX_FILES];
    unsigned started;
};

static struct app app;

static void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("msrpcat: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(see the comment at the top of tools/msrpcat.c, or msrpcat -h)\n", stderr);
    va_end(ap);
    exit(2);
}

static void finish(int code)
{
    if (app.done)
        return;
    app.done = true;
    app.exit_code = code;
    if (app.s)
        gw_session_shutdown(app.s, code == 0);
    else
        ur_loop_stop(app.loop);
}

/* ---- hashing ---- */

static int sha256_file(const char *path, char hex[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    wc_Sha256 h;
    uint8_t out[32];
    uint8_t *buf = malloc(1 << 20);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    wc_InitSha256(&h);
    for (;;) {
        ssize_t n = read(fd, buf, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = -errno;
            close(fd);
            free(buf);
            return e;
        }
        if (n == 0)
            break;
        wc_Sha256Update(&h, buf, (word32)n);
    }
    close(fd);
    free(buf);
    wc_Sha256Final(&h, out);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", out[i]);
    return 0;
}

static void *hash_thread(void *arg)
{
    struct file_slot *f = arg;
    if (sha256_file(f->path, f->sha) != 0)
        strcpy(f->sha, "?");
    return NULL;
}

/* ---- progress ---- */

static void fmt_bytes(char *buf, size_t cap, double b)
{
    const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int i = 0;
    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    snprintf(buf, cap, "%.1f %s", b, u[i]);
}

static void progress_cb(struct ur_timer *t, void *arg)
{
    (void)t, (void)arg;
    double secs = (double)(ur_now_ns() - app.t0) / 1e9;
    double rate = secs > 0 ? (double)app.moved / secs : 0;
    char a[32], b[32];
    fmt_bytes(a, sizeof(a), (double)app.moved);
    fmt_bytes(b, sizeof(b), (double)app.total_bytes);
    if (app.total_bytes) {
        double pct = 100.0 * (double)app.moved / (double)app.total_bytes;
        double eta = rate > 0 ? (double)(app.total_bytes - app.moved) / rate : 0;
        fprintf(stderr, "\r%s / %s %5.1f%% %8.1f MB/s ETA %.0fs   ", a, b, pct, rate / 1e6, eta);
    } else {
        fprintf(stderr, "\r%s %8.1f MB/s   ", a, rate / 1e6);
    }
}

static void progress_start(void)
{
    app.t0 = ur_now_ns();
    if (!app.tty)
        return;
    ur_timer_init(&app.progress, progress_cb, NULL);
    ur_timer_arm(app.loop, &app.progress, 250, 250);
}

static void progress_stop(void)
{
    if (app.tty && ur_timer_armed(&app.progress)) {
        ur_timer_cancel(app.loop, &app.progress);
        progress_cb(NULL, NULL);
        fputc('\n', stderr);
    }
}

static void print_rate(const char *what)
{
    double secs = (double)(ur_now_ns() - app.t0) / 1e9;
    fprintf(stderr, "msrpcat: %s %" PRIu64 " bytes in %.3f s (%.1f MB/s)\n", what, app.moved,
            secs, secs > 0 ? (double)app.moved / secs / 1e6 : 0.0);
}

/* ---- send ---- */

static void send_check_all(void)
{
    if (app.finished < app.n_files)
        return;
    for (unsigned i = 0; i < app.n_files; i++)
        if (app.files[i].result != GW_CODE_OK) {
            finish(1);
            return;
        }
    if (app.want_report) {
        for (unsigned i = 0; i < app.n_files; i++)
            if (!app.files[i].report_ok)
                return; /* report_timer bounds the wait */
        ur_timer_cancel(app.loop, &app.report_timer);
    }
    finish(0);
}

static void report_timeout(struct ur_timer *t, void *arg)
{
    (void)t, (void)arg;
    fprintf(stderr, "msrpcat: no Success REPORT received in time\n");
    finish(1);
}

static void on_sent(struct gw_session *s, struct gw_msg_out *m, int code, void *arg)
{
    (void)s, (void)m;
    struct file_slot *f = arg;
    f->result = code;
    f->msg = NULL;
    app.finished++;
    if (code != GW_CODE_OK)
        fprintf(stderr, "msrpcat: sending %s failed: %d %s\n", f->path, code, code_name(code));
    if (app.finished == app.n_files && app.want_report && !app.done)
        ur_timer_arm(app.loop, &app.report_timer, 30000, 0);
    send_check_all();
}

static void abort_cb(struct ur_timer *t, void *arg)
{
    (void)t, (void)arg;
    for (unsigned i = 0; i < app.n_files; i++)
        if (app.files[i].msg && gw_session_abort_message(app.s, app.files[i].msg) == 0)
            fprintf(stderr, "msrpcat: aborting %s after %" PRIu64 " bytes\n", app.files[i].path,
                    app.moved);
}

static void send_tap(void *arg, const char *p, size_t n)
{
    (void)arg, (void)p;
    app.moved += n;
    if (app.abort_after && !app.abort_asked && app.moved >= app.abort_after) {
        /* Not from inside the queue's own callback: next loop turn. */
        app.abort_asked = true;
        ur_timer_arm(app.loop, &app.abort_timer, 0, 0);
    }
}

static const char *content_type = "application/octet-stream";

/* A name that did not resolve, or a certificate we refused: say which
 * and why (exit 3). */
static bool report_dns(int err)
{
    if (err == -EKEYREJECTED) {
        fprintf(stderr, "msrpcat: the TLS certificate of %s was not accepted (not signed by a "
                        "trusted CA, expired, or not issued for that name)\n", app.dial_host);
        return true;
    }
    const char *why = ur_dns_strerror(err);
    if (!why)
        return false;
    fprintf(stderr, "msrpcat: cannot resolve %s: %s\n", app.dial_host, why);
    return true;
}

static void send_on_ready(struct gw_session *s, int err)
{
    if (err) {
        int code = gw_session_last_code(s);
        if (code)
            fprintf(stderr, "msrpcat: cannot bind the session: %d %s\n", code, code_name(code));
        else if (!report_dns(err))
            fprintf(stderr, "msrpcat: cannot bind the session: %s\n",
                    err == -ETIMEDOUT ? "408 Request Timeout (no answer)" : strerror(-err));
        app.exit_code = 3;
        app.done = true;
        return; /* on_close follows */
    }
    progress_start();
    for (unsigned i = 0; i < app.n_files; i++) {
        struct file_slot *f = &app.files[i];
        struct gw_send_opts o = { .content_type = content_type, .tap = send_tap };
        int rc = gw_session_send_file(s, f->fd, NULL, f->size, &o, on_sent, f, &f->msg);
        if (rc < 0) {
            fprintf(stderr, "msrpcat: cannot queue %s: %s\n", f->path, strerror(-rc));
            finish(1);
            return;
        }
        snprintf(f->msgid, sizeof(f->msgid), "%s", gw_msg_out_id(f->msg));
    }
}

static void send_on_report(struct gw_session *s, struct msrp_slice mid, uint16_t code,
                           const struct msrp_byte_range *br, const struct msrp_head *h)
{
    (void)s;
    const struct msrp_header *fp = msrp_head_find(h, MSRP_H_FROM_PATH);
    for (unsigned i = 0; i < app.n_files; i++) {
        struct file_slot *f = &app.files[i];
        if (strlen(f->msgid) != mid.n || memcmp(f->msgid, mid.p, mid.n) != 0)
            continue;
        if (fp)
            printf("report %u from-path %.*s\n", code, (int)fp->value.n, fp->value.p);
        if (code == 200 && (!br || (br->start == 1 && (br->end == f->size || f->size == 0))))
            f->report_ok = true;
        else
            fprintf(stderr, "msrpcat: REPORT for %s: %u %s\n", f->path, code, code_name(code));
        if (code != 200) {
            f->result = code;
        }
    }
    send_check_all();
}

static void recv_try_finish(void);

static void on_close(struct gw_session *s, int err)
{
    (void)s;
    app.s = NULL;
    if (app.messages_done && !app.done) {
        /* Everything arrived; the sender hung up first. Finish once the
         * last file writes are done (recv_try_finish stops the loop). */
        recv_try_finish();
        return;
    }
    if (!app.done) {
        fprintf(stderr, "msrpcat: connection closed%s%s\n", err ? ": " : "",
                err ? strerror(-err) : "");
        app.done = true;
        app.exit_code = 1;
    }
    ur_loop_stop(app.loop);
}

static const struct gw_session_ops send_ops = {
    .on_ready = send_on_ready,
    .on_report = send_on_report,
    .on_close = on_close,
};

/* ---- recv ---- */

static void recv_try_finish(void)
{
    if (!app.messages_done || app.done)
        return;
    progress_stop();
    print_rate("received");
    finish(0); /* hashes are checked once the loop is over (recv_verify) */
}

/* After the loop: the 200 to the last chunk must not wait for the hash. */
static int recv_verify(void)
{
    int rc = 0;
    for (unsigned i = 0; app.verify && i < app.received; i++) {
        char hex[65];
        if (sha256_file(app.names[i], hex) != 0) {
            fprintf(stderr, "msrpcat: cannot read back %s\n", app.names[i]);
            rc = 1;
            continue;
        }
        printf("sha256 %s %s\n", hex, app.names[i]);
        if (i < app.n_expect && strcasecmp(hex, app.expect[i]) != 0) {
            fprintf(stderr, "msrpcat: SHA-256 mismatch for %s: got %s, expected %s\n",
                    app.names[i], hex, app.expect[i]);
            rc = 1;
        }
    }
    fflush(stdout);
    return rc;
}

static int recv_on_start(struct gw_session *s, struct gw_msg_in *m)
{
    (void)s;
    if (app.started >= app.count)
        return 413; /* no more than asked for */
    unsigned idx = app.started;
    char *name = app.names[idx];
    if (idx == 0)
        snprintf(name, sizeof(app.names[0]), "%s", app.out);
    else
        snprintf(name, sizeof(app.names[0]), "%s.%u", app.out, idx);
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "msrpcat: cannot create %s: %s\n", name, strerror(errno));
        return 403;
    }
    app.fds[idx] = fd;
    app.started++;
    /* What the path checks accepted, for scripts that assert it. */
    const struct msrp_header *fp = msrp_head_find(m->head, MSRP_H_FROM_PATH);
    if (fp)
        printf("from-path %.*s\n", (int)fp->value.n, fp->value.p);
    fflush(stdout);
    m->ud = &app.fds[idx];
    if (m->total != UINT64_MAX)
        app.total_bytes += m->total;
    if (idx == 0)
        progress_start();
    return 0;
}

/*
 * Body bytes go to the file with pwrite(2) from the callback: page-cache
 * writes take microseconds, and not stalling the connection matters: the
 * runtime drops bytes kept back by a pause when the peer closes right after
 * its last chunk (reported to the uring owner), which a sender with
 * Failure-Report no does.
 */
static int recv_on_data(struct gw_session *s, struct gw_msg_in *m, const char *p, size_t n,
                        uint64_t pos, struct ur_buf *buf)
{
    (void)s, (void)buf;
    int fd = *(int *)m->ud;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)pos);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "msrpcat: writing the output failed: %s\n",
                    w < 0 ? strerror(errno) : "no progress");
            finish(1);
            return GW_MCONN_CONTINUE;
        }
        p += w;
        n -= (size_t)w;
        pos += (uint64_t)w;
        app.moved += (uint64_t)w;
    }
    return GW_MCONN_CONTINUE;
}

static void recv_on_end(struct gw_session *s, struct gw_msg_in *m, int status)
{
    (void)s;
    int *fdp = m->ud;
    if (!fdp)
        return;
    close(*fdp);
    *fdp = -1;
    if (status != 0) {
        const char *why = status == GW_CODE_ABORTED ? "aborted by the sender ('#')"
                                                    : code_name(status);
        fprintf(stderr, "msrpcat: message %s: %s after %" PRIu64 " bytes\n", m->message_id,
                why, m->received);
        app.received++;
        finish(1);
        return;
    }
    fprintf(stderr, "msrpcat: message %s complete: %" PRIu64 " bytes -> %s\n", m->message_id,
            m->received, app.names[fdp - app.fds]);
    app.received++;
    if (app.received >= app.count) {
        app.messages_done = true;
        recv_try_finish();
    }
}

static void write_path_file(const char *path)
{
    if (!app.path_file)
        return;
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", app.path_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", path) < 0 || fclose(f) != 0 || rename(tmp, app.path_file) != 0) {
        fprintf(stderr, "msrpcat: cannot write %s\n", app.path_file);
        finish(2);
    }
}

static void announce_path(void)
{
    const char *path = gw_session_local_path(app.s);
    printf("%s\n", path);
    fflush(stdout);
    write_path_file(path);
}

static void recv_on_ready(struct gw_session *s, int err)
{
    if (err) {
        int code = gw_session_last_code(s);
        if (code)
            fprintf(stderr, "msrpcat: the relay refused AUTH: %d %s\n", code, code_name(code));
        else if (!report_dns(err))
            fprintf(stderr, "msrpcat: %s: %s\n",
                    err == -ETIMEDOUT ? "no sender bound the session in time" : "session failed",
                    strerror(-err));
        app.exit_code = 3;
        app.done = true;
        return;
    }
    if (app.sv == NULL)
        announce_path(); /* relay: the path is known once AUTH succeeded */
}

static const struct gw_session_ops recv_ops = {
    .on_ready = recv_on_ready,
    .on_message_start = recv_on_start,
    .on_data = recv_on_data,
    .on_message_end = recv_on_end,
    .on_close = on_close,
};

/* ---- arguments ---- */

static uint64_t parse_u64(const char *opt, const char *v, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || end == v || x < min || x > max)
        die_usage("bad value for %s: %s", opt, v);
    return x;
}

static enum msrp_report parse_report(const char *v)
{
    if (!strcmp(v, "yes"))
        return MSRP_REPORT_YES;
    if (!strcmp(v, "no"))
        return MSRP_REPORT_NO;
    if (!strcmp(v, "partial"))
        return MSRP_REPORT_PARTIAL;
    die_usage("--fail-report must be yes, no or partial");
    return MSRP_REPORT_ABSENT;
}

static void log_hook(enum ur_log_level level, const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "msrpcat: [%s] %s\n", ur_log_level_name(level), msg);
}

static void session_log(struct gw_session *s, const struct gw_slog_event *ev, void *ud)
{
    (void)s, (void)ud;
    static const char *names[] = { "in-start", "in-data", "in-end", "out", "debug",
                                   "info", "warn", "error", "fatal" };
    if (ev->kind >= GW_SLOG_DEBUG) {
        fprintf(stderr, "msrpcat: [%s] %.*s\n", names[ev->kind], (int)ev->n, ev->p);
    } else if (ev->kind == GW_SLOG_IN_START) {
        const struct msrp_head *h = ev->head;
        if (h->kind == MSRP_REQUEST)
            fprintf(stderr, "msrpcat: [in] %.*s %.*s\n", (int)h->tid.n, h->tid.p,
                    (int)h->method_name.n, h->method_name.p);
        else
            fprintf(stderr, "msrpcat: [in] %.*s %u\n", (int)h->tid.n, h->tid.p, h->status);
    } else if (ev->kind == GW_SLOG_IN_END) {
        fprintf(stderr, "msrpcat: [in-end] %c\n", ev->p[0]);
    } else if (ev->kind == GW_SLOG_OUT) {
        fprintf(stderr, "msrpcat: [out]\n%.*s\n", (int)ev->n, ev->p);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs("usage: msrpcat recv [--listen HOST:PORT] [--out FILE] [--count N] [--relay HOST:PORT\n"
              "                    --user U --password P] [--tls --cert C --key K] [--path-file F]\n"
              "                    [--accept-types T] [--bind-timeout S] [--expect-sha256 HEX]\n"
              "                    [--expect-remote-path \"URI [URI...]\"] [--max-size BYTES]\n"
              "       msrpcat send FILE... --to-path \"URI [URI...]\" [--relay HOST:PORT --user U\n"
              "                    --password P] [--chunk-size N] [--window N] [--content-type T]\n"
              "                    [--tls [--ca CA | --insecure]] [--fail-report yes|no|partial]\n"
              "                    [--success-report] [--bind-timeout S] [--response-timeout S]\n"
              "                    [--local-uri URI]\n"
              "       common: [--relay-domain DOMAIN] [--resolver HOST:PORT] [--dns-timeout S]\n"
              "               [--no-verify] [--sessmatch] [--verbose]\n",
              argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    bool recv = !strcmp(argv[1], "recv");
    if (!recv && strcmp(argv[1], "send"))
        die_usage("first argument must be recv or send");

    static const struct option opts[] = {
        { "listen", required_argument, 0, 'l' },    { "out", required_argument, 0, 'o' },
        { "relay", required_argument, 0, 'r' },     { "user", required_argument, 0, 'u' },
        { "password", required_argument, 0, 'p' }, { "tls", no_argument, 0, 'T' },
        { "cert", required_argument, 0, 'c' },      { "key", required_argument, 0, 'k' },
        { "ca", required_argument, 0, 'A' },        { "insecure", no_argument, 0, 'I' },
        { "path-file", required_argument, 0, 'P' }, { "accept-types", required_argument, 0, 'a' },
        { "bind-timeout", required_argument, 0, 'b' },
        { "expect-sha256", required_argument, 0, 'e' },
        { "expect-remote-path", required_argument, 0, 'E' },
        { "local-uri", required_argument, 0, 'L' },
        { "relay-domain", required_argument, 0, 'D' },
        { "resolver", required_argument, 0, 'Z' },
        { "dns-timeout", required_argument, 0, 'W' },
        { "max-size", required_argument, 0, 'M' },
        { "to-path", required_argument, 0, 't' },   { "chunk-size", required_argument, 0, 'C' },
        { "window", required_argument, 0, 'w' },    { "content-type", required_argument, 0, 'y' },
        { "fail-report", required_argument, 0, 'f' },
        { "success-report", no_argument, 0, 's' },
        { "response-timeout", required_argument, 0, 'R' },
        { "count", required_argument, 0, 'n' },     { "abort-after", required_argument, 0, 'X' },
        { "no-verify", no_argument, 0, 'N' },       { "sessmatch", no_argument, 0, 'S' },
        { "verbose", no_argument, 0, 'v' },         { 0, 0, 0, 0 },
    };
    const char *listen = "127.0.0.1:0", *relay = NULL, *user = NULL, *password = NULL;
    const char *cert = NULL, *key = NULL, *ca = NULL, *to_path = NULL, *remote_path = NULL;
    const char *local_uri = NULL, *relay_domain = NULL, *resolver = NULL;
    unsigned dns_timeout_ms = 5000;
    bool tls = false, insecure = false, verbose = false;
    struct gw_session_config cfg;
    gw_session_config_default(&cfg);
    /* A peer names where its bytes go: never past this in our files. */
    cfg.max_message_size = 64ull << 30;
    app.out = "msrpcat.out";
    app.count = 1;
    app.verify = true;
    for (unsigned i = 0; i < MAX_FILES; i++)
        app.fds[i] = -1;
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'l': listen = optarg; break;
        case 'o': app.out = optarg; break;
        case 'r': relay = optarg; break;
        case 'u': user = optarg; break;
        case 'p': password = optarg; break;
        case 'T': tls = true; break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 'A': ca = optarg; tls = true; break;
        case 'I': insecure = true; tls = true; break;
        case 'P': app.path_file = optarg; break;
        case 'a': cfg.accept_types = optarg; break;
        case 'b': cfg.bind_timeout_ms = (uint32_t)parse_u64("--bind-timeout", optarg, 1, 86400) * 1000; break;
        case 'R': cfg.response_timeout_ms = (uint32_t)parse_u64("--response-timeout", optarg, 1, 86400) * 1000; break;
        case 'e':
            if (app.n_expect >= MAX_FILES)
                die_usage("too many --expect-sha256");
            app.expect[app.n_expect++] = optarg;
            break;
        case 't': to_path = optarg; break;
        case 'E': remote_path = optarg; break;
        case 'L': local_uri = optarg; break;
        case 'D': relay_domain = optarg; break;
        case 'Z': resolver = optarg; break;
        case 'M': cfg.max_message_size = parse_u64("--max-size", optarg, 1, UINT64_MAX - 1); break;
        case 'W': dns_timeout_ms = (unsigned)parse_u64("--dns-timeout", optarg, 1, 60) * 1000; break;
        case 'C': cfg.chunk_size = (uint32_t)parse_u64("--chunk-size", optarg, 1, 16u << 20); break;
        case 'w': cfg.window = (uint32_t)parse_u64("--window", optarg, 1, 1024); break;
        case 'y': content_type = optarg; break;
        case 'f': cfg.failure_report = parse_report(optarg); break;
        case 's': cfg.success_report = MSRP_REPORT_YES; app.want_report = true; break;
        case 'n': app.count = (unsigned)parse_u64("--count", optarg, 1, MAX_FILES); break;
        case 'X': app.abort_after = parse_u64("--abort-after", optarg, 1, UINT64_MAX - 1); break;
        case 'N': app.verify = false; break;
        case 'S': cfg.sessmatch = true; break;
        case 'v': verbose = true; break;
        default: die_usage("unknown option");
        }
    }
    if (relay && relay_domain)
        die_usage("--relay and --relay-domain exclude each other");
    if (relay_domain)
        relay = relay_domain; /* through a relay, found by SRV */
    app.tty = isatty(2);
    ur_log_set(log_hook, NULL, verbose ? UR_LOG_DEBUG : UR_LOG_WARN);

    /* Files first: fail before touching the network. */
    if (!recv) {
        if (!to_path)
            die_usage("send needs --to-path");
        for (int i = optind; i < argc; i++) {
            if (app.n_files >= MAX_FILES)
                die_usage("at most %d files", MAX_FILES);
            struct file_slot *f = &app.files[app.n_files++];
            f->path = argv[i];
            f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
            struct stat st;
            if (f->fd < 0 || fstat(f->fd, &st) != 0) {
                fprintf(stderr, "msrpcat: cannot open %s: %s\n", f->path, strerror(errno));
                return 2;
            }
            f->size = (uint64_t)st.st_size;
            app.total_bytes += f->size;
        }
        if (app.n_files == 0)
            die_usage("send needs at least one FILE");
    } else if (optind != argc) {
        die_usage("recv takes no file argument (use --out)");
    }

    int rc = ur_loop_new(&app.loop, NULL);
    if (rc < 0) {
        fprintf(stderr, "msrpcat: io_uring setup failed: %s\n", strerror(-rc));
        return 2;
    }
    if (tls) {
        struct ur_tls_config tc = { .server = recv && !relay, .cert_file = cert,
                                    .key_file = key, .ca_file = ca, .insecure = insecure };
        if (tc.server && (!cert || !key))
            die_usage("recv --tls needs --cert and --key");
        if (!tc.server && !ca && !insecure)
            die_usage("--tls on the connecting side needs --ca or --insecure");
        rc = ur_tls_ctx_new(&app.tls, &tc);
        if (rc < 0) {
            fprintf(stderr, "msrpcat: TLS setup failed: %s\n", strerror(-rc));
            return 2;
        }
    }
    struct gw_relay_settings rs = { 0 };
    struct gw_addr raddr;
    if (relay_domain) {
        rs.domain = relay_domain;
        snprintf(app.dial_host, sizeof(app.dial_host), "the relay of %s", relay_domain);
    } else if (relay) {
        if (gw_addr_parse(relay, &raddr, NULL, 0) != 0)
            die_usage("bad --relay %s", relay);
        rs.host = raddr.host;
        rs.port = raddr.port;
        snprintf(app.dial_host, sizeof(app.dial_host), "%s", raddr.host);
    } else if (to_path) {
        struct msrp_uri first;
        const char *sp = strchr(to_path, ' ');
        if (msrp_uri_parse(&first, to_path, sp ? (size_t)(sp - to_path) : strlen(to_path), 0) == 0)
            snprintf(app.dial_host, sizeof(app.dial_host), "%.*s", (int)first.host.n, first.host.p);
    }
    if (relay) {
        rs.tls = app.tls;
        rs.username = user;
        rs.password = password;
    }
    if (ur_dns_configure(resolver, dns_timeout_ms) < 0)
        die_usage("bad --resolver %s", resolver);
    ur_timer_init(&app.abort_timer, abort_cb, NULL);
    ur_timer_init(&app.report_timer, report_timeout, NULL);

    if (recv) {
        if (relay) {
            rc = gw_session_relay_accept(app.loop, &cfg, &recv_ops, NULL, NULL, &rs, &app.s);
        } else {
            struct gw_addr la;
            if (gw_addr_parse(listen, &la, NULL, 0) != 0)
                die_usage("bad --listen %s", listen);
            rc = gw_server_new(app.loop, la.host, la.port, NULL, app.tls, NULL, cfg.bind_timeout_ms, &app.sv);
            if (rc == 0)
                rc = gw_session_accept(app.sv, &cfg, &recv_ops, NULL, NULL, &app.s);
            if (rc == 0)
                announce_path();
        }
    } else {
        rc = gw_session_connect(app.loop, &cfg, &send_ops, NULL, local_uri, to_path, app.tls,
                                relay ? &rs : NULL, &app.s);
    }
    if (rc == 0 && recv && remote_path && (rc = gw_session_set_remote_path(app.s, remote_path)) < 0)
        die_usage("bad --expect-remote-path %s", remote_path);
    if (rc < 0) {
        fprintf(stderr, "msrpcat: cannot start: %s\n", strerror(-rc));
        return 2;
    }
    if (verbose)
        gw_session_set_log(app.s, session_log, NULL);
    if (!recv && app.verify) {
        /* Hash the files on another core while they are sent. */
        for (unsigned i = 0; i < app.n_files; i++)
            app.files[i].hashing =
                pthread_create(&app.files[i].hasher, NULL, hash_thread, &app.files[i]) == 0;
    }

    ur_loop_run(app.loop);

    if (!recv) {
        progress_stop();
        if (app.exit_code == 0)
            print_rate("sent");
        for (unsigned i = 0; i < app.n_files; i++) {
            struct file_slot *f = &app.files[i];
            if (f->hashing) {
                pthread_join(f->hasher, NULL);
                printf("sha256 %s %s\n", f->sha, f->path);
            }
            close(f->fd);
        }
        fflush(stdout);
    } else {
        if (!app.done || app.exit_code != 0)
            progress_stop();
        else if (app.exit_code == 0 && recv_verify() != 0)
            app.exit_code = 1;
    }
    for (unsigned i = 0; i < MAX_FILES; i++)
        if (app.fds[i] >= 0)
            close(app.fds[i]);
    if (app.sv)
        gw_server_free(app.sv);
    ur_loop_free(app.loop);
    if (app.tls)
        ur_tls_ctx_free(app.tls);
    ur_tls_thread_cleanup(); /* this thread ran the loop: its ECC cache */
    return app.exit_code;
}
