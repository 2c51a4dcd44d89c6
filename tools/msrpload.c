/*
 * msrpload: MSRP load generator on the gateway's session layer.
 *
 * Opens N sessions, each a receiver and a sender in this process, spread
 * over --threads uring loops, and pushes chunks from senders to receivers:
 *
 *   direct    receivers listen (one server per loop), senders connect to
 *             them; with --via HOST:PORT senders connect through TCP
 *             forwarders instead (the raw-proxy baseline: same workload,
 *             receivers match on the session id only). With --listen-port
 *             P loop i listens on P+i, and with --via H:V its senders go to
 *             H:V+i: run one forwarder V+i -> P+i per loop;
 *   relay     --relay HOST:PORT [--user U --password P]: receivers AUTH to
 *             the RFC 4976 relay (Digest on 401), senders connect straight
 *             to the relay with To-Path = Use-Path + receiver URI (the
 *             arrangement that works with msrpgw and Kamailio, PEERS.md).
 *
 * Every session sends --messages messages (0 = until --duration) of
 * --message-size bytes in --chunk-size chunks with Byte-Range, each chunk a
 * SEND whose 200 is awaited; closed loop with --window outstanding chunks
 * per session (default), or open loop at --rate chunks/s overall (the
 * window then only caps what is outstanding). Bodies are a deterministic
 * pattern chosen by the Message-ID, so receivers compare every byte and the
 * byte count of every message against it.
 *
 * Measured: goodput (body bytes answered 200) and chunks/s over the sending
 * phase, SEND->200 latency (log histogram, 1.6%), errors by status, CPU
 * seconds of --target-pid / --target-pgid processes over the sending phase
 * and their VmRSS before sessions and once all are set up (memory per
 * connection with --idle-sessions), and msrpload's own CPU. A human summary
 * goes to stdout, or one JSON document with --json.
 *
 * Exit status: 0 all chunks answered 200 and all data verified, 1 errors
 * or verification failures, 2 usage / setup error, 3 sessions could not be
 * set up.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>


#include "gateway/daemon/config.h"
#include "gateway/session/endpoint.h"
#include "tools/common/load_hist.h"
#include "gateway/session/session.h"
#include "uring/log.h"
#include "uring/dns.h"
#include "uring/loop.h"
#include "uring/runtime.h"
#include "uring/timer.h"
#include "uring/tls.h"

#define PAT_LEN (1u << 20)      /* pattern period; bodies are windows of it */
#define MAX_TARGETS 64
#define MAX_CODES 16
#define SETUP_INFLIGHT 128      /* session setups in progress per loop */
#define DRAIN_GRACE_MS 10000    /* receivers catching up after the last 200 */
#define SHUTDOWN_GRACE_MS 5000

/* ---- options ---- */

/* The command line, parsed once by main. */
static struct load_args {
    unsigned sessions, idle, threads, window;
    uint32_t chunk;
    uint64_t msg_size, messages;
    double rate, duration, ramp;
    bool tls, insecure, json, verbose;
    const char *ca, *cert, *key;
    struct gw_addr relay_at, via_at;
    bool relay, via;
    const char *user, *password;
    uint32_t response_timeout_ms, setup_timeout_ms;
    uint16_t listen_port; /* direct: loop i listens on listen_port + i; 0 = ephemeral */
    int target_pids[MAX_TARGETS];
    unsigned n_pids;
    int target_pgids[MAX_TARGETS];
    unsigned n_pgids;
} args;

static uint8_t *pattern; /* PAT_LEN + chunk bytes: pattern[PAT_LEN + i] = pattern[i] */
static struct ur_tls_ctx *tls_client, *tls_server;

/* ---- per-thread state ---- */

struct lthread;

struct slot {
    struct pair *p;
    uint64_t t0;
    uint32_t n;
    bool last;
    bool busy;
};

struct pair {
    struct lthread *t;
    unsigned idx;          /* global session number */
    bool idle;
    struct gw_session *rx, *tx;
    bool rx_ready, tx_ready, settled, failed, done_sending;
    /* sender */
    uint64_t msg_no, msg_off;
    uint32_t msg_pat;
    unsigned outstanding;
    uint64_t msgs_acked;
    struct slot *slots;
    unsigned slot_next;
    /* receiver */
    uint64_t rx_ok, rx_bad, rx_incomplete;
};

struct code_count {
    int code;
    uint64_t n;
};

struct lstats {
    struct gw_hist hist;
    uint64_t chunks_ok, bytes_ok, msgs_acked;
    uint64_t rx_ok, rx_bad, rx_incomplete, rx_bytes;
    uint64_t setup_fail, closed_early;
    uint64_t tls_conns, tls_resumed; /* our TLS client connections; resumed ones */
    struct code_count codes[MAX_CODES];
    struct code_count setup_codes[MAX_CODES];
    uint64_t t_last_ack;
};

struct lthread {
    unsigned idx;
    struct ur_loop *loop;
    struct gw_server *sv;
    struct pair *pairs;
    unsigned n_pairs;
    unsigned setup_next, setup_inflight, settled;
    uint64_t setup_t0;
    struct ur_timer setup_timer, rate_timer, end_timer, drain_timer, stop_timer;
    bool sending, stop_new, finished, shutting;
    double tokens;
    uint64_t last_tick;
    unsigned rr;
    unsigned open_sessions;
    struct lstats st;
};

static struct lthread *lthreads;
static atomic_uint threads_settled, threads_finished, setup_failures;

static void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("msrpload: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(msrpload -h for usage)\n", stderr);
    va_end(ap);
    exit(2);
}

static void count_code(struct code_count *cc, int code)
{
    for (unsigned i = 0; i < MAX_CODES; i++) {
        if (cc[i].code == code || cc[i].code == 0) {
            cc[i].code = code;
            cc[i].n++;
            return;
        }
    }
    cc[MAX_CODES - 1].n++; /* table full: lumped into the last code */
}

/* ---- the data pattern ---- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static uint32_t msg_pattern(unsigned pair, uint64_t msg)
{
    return (uint32_t)(mix64(((uint64_t)pair << 40) ^ msg) % PAT_LEN);
}

static void pattern_init(void)
{
    pattern = malloc((size_t)PAT_LEN + args.chunk);
    if (!pattern) {
        fprintf(stderr, "msrpload: out of memory\n");
        exit(2);
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < PAT_LEN; i += 8) {
        x = mix64(x + i);
        memcpy(pattern + i, &x, 8);
    }
    for (size_t i = 0; i < args.chunk; i++)
        pattern[PAT_LEN + i] = pattern[i % PAT_LEN];
}

/* Message-IDs are "L<session>.<message>" in decimal, written and read by
 * hand: once per message on each side, where snprintf and sscanf cost
 * about as much as the rest of a one-chunk message's user time. */
static size_t put_dec(char *out, uint64_t v)
{
    char tmp[20];
    size_t k = sizeof tmp;
    do {
        tmp[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(out, tmp + k, sizeof tmp - k);
    return sizeof tmp - k;
}

static void mid_format(char out[48], unsigned session, uint64_t msg)
{
    size_t n = 0;
    out[n++] = 'L';
    n += put_dec(out + n, session);
    out[n++] = '.';
    n += put_dec(out + n, msg);
    out[n] = '\0';
}

/* Reads decimal digits at *s (1..19 of them) into *v; advances *s. */
static bool get_dec(const char **s, uint64_t *v)
{
    const char *p = *s;
    uint64_t x = 0;
    while (*p >= '0' && *p <= '9' && p - *s < 19)
        x = x * 10 + (uint64_t)(*p++ - '0');
    if (p == *s)
        return false;
    *s = p;
    *v = x;
    return true;
}

/* The inverse of mid_format; false for any other text. */
static bool mid_parse(const char *s, unsigned *session, uint64_t *msg)
{
    uint64_t a;
    if (*s++ != 'L' || !get_dec(&s, &a) || a > UINT32_MAX || *s++ != '.' || !get_dec(&s, msg) ||
        *s != '\0')
        return false;
    *session = (unsigned)a;
    return true;
}

/* Compares n received bytes at message position pos with the pattern. */
static bool pattern_matches(uint32_t pat, uint64_t pos, const char *p, size_t n)
{
    uint64_t off = (pat + pos) % PAT_LEN;
    while (n > 0) {
        size_t k = PAT_LEN - off < n ? PAT_LEN - off : n;
        if (memcmp(p, pattern + off, k) != 0)
            return false;
        p += k;
        n -= k;
        off = 0;
    }
    return true;
}

/* ---- /proc: CPU and memory of the target processes ---- */

struct proc_sample {
    double cpu_s;
    uint64_t rss_kib;
    unsigned procs;
};

/* utime+stime (+ waited-for children) and pgrp from /proc/PID/stat. */
static int read_stat(int pid, double *cpu, int *pgrp)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and ')': fields start after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -EINVAL;
    char st;
    int ppid, pg;
    unsigned long long ut, stm;
    long long cut, cst;
    if (sscanf(p + 1, " %c %d %d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &st,
               &ppid, &pg, &ut, &stm, &cut, &cst) != 7)
        return -EINVAL;
    *cpu = (double)(ut + stm + (unsigned long long)cut + (unsigned long long)cst) /
           (double)sysconf(_SC_CLK_TCK);
    *pgrp = pg;
    return 0;
}

static uint64_t read_rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    uint64_t kib = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %" SCNu64, &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static void sample_targets(struct proc_sample *s)
{
    memset(s, 0, sizeof(*s));
    for (unsigned i = 0; i < args.n_pids; i++) {
        double cpu;
        int pg;
        if (read_stat(args.target_pids[i], &cpu, &pg) == 0) {
            s->cpu_s += cpu;
            s->rss_kib += read_rss_kib(args.target_pids[i]);
            s->procs++;
        }
    }
    if (args.n_pgids == 0)
        return;
    DIR *d = opendir("/proc");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        double cpu;
        int pg;
        if (read_stat((int)pid, &cpu, &pg) != 0)
            continue;
        for (unsigned i = 0; i < args.n_pgids; i++) {
            if (pg == args.target_pgids[i]) {
                s->cpu_s += cpu;
                s->rss_kib += read_rss_kib((int)pid);
                s->procs++;
                break;
            }
        }
    }
    closedir(d);
}

static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- sending ---- */

static void pump(struct pair *p);
static void thread_check_finished(struct lthread *t);

static bool pair_has_more(const struct pair *p)
{
    return !p->failed && !p->done_sending && !p->t->stop_new &&
           (args.messages == 0 || p->msg_no < args.messages);
}

static void pair_maybe_done(struct pair *p)
{
    if (p->outstanding == 0 && !pair_has_more(p))
        p->done_sending = true;
}

static void chunk_resp(struct gw_session *s, int code, void *arg)
{
    (void)s;
    struct slot *sl = arg;
    struct pair *p = sl->p;
    struct lthread *t = p->t;
    uint64_t now = ur_now_ns();
    sl->busy = false;
    p->outstanding--;
    if (code == GW_CODE_OK) {
        gw_hist_add(&t->st.hist, now - sl->t0);
        t->st.chunks_ok++;
        t->st.bytes_ok += sl->n;
        t->st.t_last_ack = now;
        if (sl->last && !p->failed) {
            p->msgs_acked++;
            t->st.msgs_acked++;
        }
    } else {
        count_code(t->st.codes, code);
        if (!p->failed && args.verbose)
            fprintf(stderr, "msrpload: session %u: chunk answered %d\n", p->idx, code);
        p->failed = true; /* the message now has a hole: stop this session */
    }
    if (!args.rate && t->sending)
        pump(p);
    pair_maybe_done(p);
    thread_check_finished(t);
}

/* Sends the next chunk of p. 0, or -EAGAIN when it may not send now. */
static int send_one(struct pair *p)
{
    if (!pair_has_more(p) || p->outstanding >= args.window || !p->tx)
        return -EAGAIN;
    struct slot *sl = &p->slots[p->slot_next];
    for (unsigned i = 0; sl->busy && i < args.window; i++) {
        p->slot_next = (p->slot_next + 1) % args.window;
        sl = &p->slots[p->slot_next];
    }
    if (sl->busy)
        return -EAGAIN;
    if (p->msg_off == 0)
        p->msg_pat = msg_pattern(p->idx, p->msg_no);
    uint64_t left = args.msg_size - p->msg_off;
    uint32_t n = left < args.chunk ? (uint32_t)left : args.chunk;
    bool last = p->msg_off + n == args.msg_size;
    char mid[48];
    mid_format(mid, p->idx, p->msg_no);
    struct msrp_byte_range br = { .start = p->msg_off + 1, .end = p->msg_off + n,
                                  .total = args.msg_size };
    sl->p = p;
    sl->n = n;
    sl->last = last;
    sl->busy = true;
    sl->t0 = ur_now_ns();
    const uint8_t *body = pattern + (p->msg_pat + p->msg_off) % PAT_LEN;
    /* the pattern lives as long as the process: sent from it, not copied */
    int rc = gw_session_send_chunk_static(p->tx, mid, &br, "application/octet-stream", body, n,
                                          last ? '$' : '+', MSRP_REPORT_ABSENT, chunk_resp, sl);
    if (rc < 0) {
        sl->busy = false;
        count_code(p->t->st.codes, GW_CODE_CLOSED);
        p->failed = true;
        return rc;
    }
    p->outstanding++;
    p->slot_next = (p->slot_next + 1) % args.window;
    if (last) {
        p->msg_no++;
        p->msg_off = 0;
    } else {
        p->msg_off += n;
    }
    return 0;
}

static void pump(struct pair *p)
{
    while (send_one(p) == 0)
        ;
}

/* Open loop: tokens accrue at rate / threads per second; each tick spends
 * them round robin over the sessions that have room in their window. */
static void rate_tick(struct ur_timer *tm, void *arg)
{
    (void)tm;
    struct lthread *t = arg;
    uint64_t now = ur_now_ns();
    double per_thread = args.rate / (double)args.threads;
    t->tokens += per_thread * (double)(now - t->last_tick) / 1e9;
    t->last_tick = now;
    if (t->tokens > per_thread * 0.05 + 1)
        t->tokens = per_thread * 0.05 + 1; /* at most a 50 ms burst after a stall */
    unsigned misses = 0;
    while (t->tokens >= 1 && misses < t->n_pairs) {
        struct pair *p = &t->pairs[t->rr];
        t->rr = (t->rr + 1) % t->n_pairs;
        if (!p->idle && send_one(p) == 0) {
            t->tokens -= 1;
            misses = 0;
        } else {
            misses++;
        }
    }
    if (t->stop_new || misses >= t->n_pairs) {
        for (unsigned i = 0; i < t->n_pairs; i++)
            if (!t->pairs[i].idle)
                pair_maybe_done(&t->pairs[i]);
        thread_check_finished(t);
    }
}

/* ---- phases: setup, sending, finishing, shutdown ---- */

static bool receivers_caught_up(const struct lthread *t)
{
    for (unsigned i = 0; i < t->n_pairs; i++) {
        const struct pair *p = &t->pairs[i];
        if (!p->idle && !p->failed && p->rx_ok + p->rx_bad < p->msgs_acked)
            return false;
    }
    return true;
}

static void thread_finish(struct lthread *t)
{
    if (t->finished)
        return;
    t->finished = true;
    ur_timer_cancel(t->loop, &t->rate_timer);
    ur_timer_cancel(t->loop, &t->end_timer);
    ur_timer_cancel(t->loop, &t->drain_timer);
    atomic_fetch_add(&threads_finished, 1);
}

static void thread_check_finished(struct lthread *t)
{
    if (!t->sending || t->finished)
        return;
    for (unsigned i = 0; i < t->n_pairs; i++) {
        struct pair *p = &t->pairs[i];
        if (!p->idle && !p->done_sending && !(p->failed && p->outstanding == 0))
            return;
    }
    /* Every 200 is in; with hop-by-hop 200s (Kamailio) the receivers may
     * still be reading: wait for them, bounded by drain_timer. */
    if (receivers_caught_up(t))
        thread_finish(t);
    else if (!ur_timer_armed(&t->drain_timer))
        ur_timer_arm(t->loop, &t->drain_timer, 20, 20);
}

static void drain_tick(struct ur_timer *tm, void *arg)
{
    (void)tm;
    struct lthread *t = arg;
    if (receivers_caught_up(t) || ur_now_ns() - t->st.t_last_ack > DRAIN_GRACE_MS * 1000000ull)
        thread_finish(t);
}

static void end_cb(struct ur_timer *tm, void *arg)
{
    (void)tm;
    struct lthread *t = arg;
    t->stop_new = true;
    for (unsigned i = 0; i < t->n_pairs; i++)
        if (!t->pairs[i].idle)
            pair_maybe_done(&t->pairs[i]);
    thread_check_finished(t);
}

static void start_cb(struct ur_loop *loop, void *arg)
{
    (void)loop;
    struct lthread *t = arg;
    t->sending = true;
    t->last_tick = ur_now_ns();
    t->st.t_last_ack = t->last_tick;
    if (args.duration > 0)
        ur_timer_arm(t->loop, &t->end_timer, (uint64_t)(args.duration * 1000), 0);
    if (args.rate > 0) {
        ur_timer_arm(t->loop, &t->rate_timer, 1, 1);
    } else {
        for (unsigned i = 0; i < t->n_pairs; i++)
            if (!t->pairs[i].idle && !t->pairs[i].failed)
                pump(&t->pairs[i]);
    }
    for (unsigned i = 0; i < t->n_pairs; i++)
        if (!t->pairs[i].idle)
            pair_maybe_done(&t->pairs[i]);
    thread_check_finished(t);
}

static void stop_now(struct ur_timer *tm, void *arg)
{
    (void)tm;
    struct lthread *t = arg;
    ur_loop_stop(t->loop);
}

static void session_gone(struct lthread *t)
{
    t->open_sessions--;
    if (t->shutting && t->open_sessions == 0) {
        ur_timer_cancel(t->loop, &t->stop_timer);
        ur_loop_stop(t->loop);
    }
}

static void shutdown_cb(struct ur_loop *loop, void *arg)
{
    (void)loop;
    struct lthread *t = arg;
    t->shutting = true;
    thread_finish(t);
    ur_timer_cancel(t->loop, &t->setup_timer);
    /* Bounded: whatever does not close in time is dropped with the loop. */
    ur_timer_arm(t->loop, &t->stop_timer, SHUTDOWN_GRACE_MS, 0);
    for (unsigned i = 0; i < t->n_pairs; i++) {
        struct pair *p = &t->pairs[i];
        if (p->tx)
            gw_session_shutdown(p->tx, false);
        if (p->rx)
            gw_session_shutdown(p->rx, false);
    }
    if (t->open_sessions == 0) {
        ur_timer_cancel(t->loop, &t->stop_timer);
        ur_loop_stop(t->loop);
    }
}

static void setup_tick(struct ur_timer *tm, void *arg);

static void pair_settled(struct pair *p, bool ok)
{
    struct lthread *t = p->t;
    if (p->settled)
        return;
    p->settled = true;
    if (!ok) {
        p->failed = true;
        t->st.setup_fail++;
        atomic_fetch_add(&setup_failures, 1);
    }
    t->setup_inflight--;
    t->settled++;
    if (t->settled == t->n_pairs)
        atomic_fetch_add(&threads_settled, 1);
    else
        setup_tick(NULL, t);
}

static void setup_failed(struct pair *p, struct gw_session *s, int err)
{
    int code = gw_session_last_code(s);
    count_code(p->t->st.setup_codes, code ? code : err);
    if (args.verbose)
        fprintf(stderr, "msrpload: session %u setup failed: %d (%s)\n", p->idx, code,
                strerror(-err));
    pair_settled(p, false);
}

static void on_close(struct gw_session *s, int err)
{
    (void)err;
    struct pair *p = gw_session_data(s);
    struct lthread *t = p->t;
    bool was_tx = s == p->tx;
    if (was_tx)
        p->tx = NULL;
    else
        p->rx = NULL;
    if (!t->shutting && p->settled && !p->failed) {
        /* Closed in the middle of the run: everything outstanding is lost. */
        t->st.closed_early++;
        count_code(t->st.codes, GW_CODE_CLOSED);
        p->failed = true;
        pair_maybe_done(p);
        thread_check_finished(t);
    }
    if (!p->settled)
        pair_settled(p, false);
    session_gone(t);
}

/* A session of ours connected over TLS: count it, and whether its
 * handshake resumed an earlier one (the client context keeps a ticket per
 * server name: every connection to the relay after the first can resume). */
static void note_tls(struct lthread *t, const struct gw_session *s)
{
    if (!tls_client)
        return;
    t->st.tls_conns++;
    t->st.tls_resumed += gw_session_tls_resumed(s) ? 1 : 0;
}

static void tx_ready(struct gw_session *s, int err)
{
    struct pair *p = gw_session_data(s);
    if (err) {
        setup_failed(p, s, err);
        return;
    }
    note_tls(p->t, s);
    p->tx_ready = true;
    pair_settled(p, true);
}

static const struct gw_session_ops tx_ops = {
    .on_ready = tx_ready,
    .on_close = on_close,
};

/* The sender's To-Path: the receiver's path, or with --via the same URI
 * with the forwarder's address (the receiver matches on the session id). */
static int make_remote_path(const struct lthread *t, const char *path, char *out, size_t cap)
{
    if (!args.via)
        return snprintf(out, cap, "%s", path) < (int)cap ? 0 : -ENAMETOOLONG;
    const char *scheme_end = strstr(path, "://");
    if (!scheme_end)
        return -EINVAL;
    const char *rest = strchr(scheme_end + 3, '/');
    if (!rest)
        return -EINVAL;
    /* One forwarder port per loop, as there is one receiver port per loop. */
    unsigned port = args.via_at.port + (t ? t->idx : 0);
    int n = snprintf(out, cap, "%.*s://%s:%u%s", (int)(scheme_end - path), path, args.via_at.host,
                     port, rest);
    return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

static struct gw_session_config session_cfg(void)
{
    struct gw_session_config c;
    gw_session_config_default(&c);
    c.response_timeout_ms = args.response_timeout_ms;
    c.bind_timeout_ms = args.setup_timeout_ms;
    c.sessmatch = args.via;
    c.max_in_messages = args.window + 2;
    return c;
}

static void start_sender(struct pair *p)
{
    char rpath[1024];
    int rc = make_remote_path(p->t, gw_session_local_path(p->rx), rpath, sizeof(rpath));
    struct gw_session_config c = session_cfg();
    if (rc == 0)
        rc = gw_session_connect(p->t->loop, &c, &tx_ops, p, NULL, rpath, tls_client, NULL,
                                &p->tx);
    if (rc < 0) {
        count_code(p->t->st.setup_codes, rc);
        pair_settled(p, false);
        return;
    }
    p->t->open_sessions++;
}

static void rx_ready(struct gw_session *s, int err)
{
    struct pair *p = gw_session_data(s);
    if (err) {
        setup_failed(p, s, err);
        return;
    }
    p->rx_ready = true;
    if (!args.relay)
        return; /* direct: bound by our own sender, which settles the pair */
    note_tls(p->t, s); /* relay: its connection is ours */
    if (p->idle)
        pair_settled(p, true); /* an AUTHed receiver nobody sends to */
    else
        start_sender(p);
}

static int rx_start(struct gw_session *s, struct gw_msg_in *m)
{
    struct pair *p = gw_session_data(s);
    unsigned pi;
    uint64_t mn;
    if (!mid_parse(m->message_id, &pi, &mn) || pi != p->idx) {
        p->rx_bad++;
        p->t->st.rx_bad++;
        m->ud = NULL;
        return 0;
    }
    /* The session layer held From-Path to reverse(our relay's Use-Path) +
     * the path it learned from the binding SEND; that path must be our
     * sender's, byte for byte (every relay moved its own URIs, RFC 4976). */
    const char *want = p->tx ? gw_session_local_path(p->tx) : NULL;
    if (!want || strcmp(gw_session_remote_path(s), want) != 0) {
        if (args.verbose)
            fprintf(stderr, "msrpload: session %u: From-Path ends in \"%s\", expected \"%s\"\n",
                    p->idx, gw_session_remote_path(s), want ? want : "?");
        p->rx_bad++;
        p->t->st.rx_bad++;
        m->ud = NULL;
        return 481;
    }
    /* ud: pattern offset << 2 | 2 ("ours": the offset may be 0) | 1 ("mismatch seen") */
    m->ud = (void *)(((uintptr_t)msg_pattern(pi, mn) << 2) | 2);
    return 0;
}

static int rx_data(struct gw_session *s, struct gw_msg_in *m, const char *p, size_t n,
                   uint64_t pos, struct ur_buf *buf)
{
    (void)buf;
    struct pair *pr = gw_session_data(s);
    pr->t->st.rx_bytes += n;
    uintptr_t ud = (uintptr_t)m->ud;
    if (ud & 1)
        return GW_MCONN_CONTINUE;
    if (!(ud & 2) || pos + n > args.msg_size || !pattern_matches((uint32_t)(ud >> 2), pos, p, n))
        m->ud = (void *)(ud | 1);
    return GW_MCONN_CONTINUE;
}

static void rx_end(struct gw_session *s, struct gw_msg_in *m, int status)
{
    struct pair *p = gw_session_data(s);
    struct lthread *t = p->t;
    uintptr_t ud = (uintptr_t)m->ud;
    if (status == GW_CODE_CLOSED && t->shutting)
        return;
    if (status == GW_CODE_CLOSED || (status != 0 && t->stop_new)) {
        p->rx_incomplete++;
        t->st.rx_incomplete++;
        return;
    }
    if (status == 0 && (ud & 2) && !(ud & 1) && m->received == args.msg_size &&
        m->total == args.msg_size) {
        p->rx_ok++;
        t->st.rx_ok++;
    } else {
        p->rx_bad++;
        t->st.rx_bad++;
        if (args.verbose)
            fprintf(stderr, "msrpload: session %u message %s: status %d, %" PRIu64
                    " of %" PRIu64 " bytes, %s\n", p->idx, m->message_id, status,
                    m->received, args.msg_size, (ud & 1) ? "data mismatch" : "data ok");
    }
}

static const struct gw_session_ops rx_ops = {
    .on_ready = rx_ready,
    .on_message_start = rx_start,
    .on_data = rx_data,
    .on_message_end = rx_end,
    .on_close = on_close,
};

static void start_pair(struct pair *p)
{
    struct lthread *t = p->t;
    struct gw_session_config c = session_cfg();
    int rc;
    t->setup_inflight++;
    if (args.relay) {
        struct gw_relay_settings rs = {
            .host = args.relay_at.host, .port = args.relay_at.port, .tls = tls_client,
            .username = args.user, .password = args.password,
        };
        rc = gw_session_relay_accept(t->loop, &c, &rx_ops, p, NULL, &rs, &p->rx);
    } else {
        rc = gw_session_accept(t->sv, &c, &rx_ops, p, NULL, &p->rx);
    }
    if (rc < 0) {
        count_code(t->st.setup_codes, rc);
        pair_settled(p, false);
        return;
    }
    t->open_sessions++;
    if (!args.relay)
        start_sender(p); /* the acceptor's path is known at once */
}

/* Starts setups up to SETUP_INFLIGHT at once, and with --ramp-up no faster
 * than evenly spread over the ramp. */
static void setup_tick(struct ur_timer *tm, void *arg)
{
    (void)tm;
    struct lthread *t = arg;
    unsigned allowed = t->n_pairs;
    if (args.ramp > 0) {
        double frac = (double)(ur_now_ns() - t->setup_t0) / (args.ramp * 1e9);
        allowed = frac >= 1 ? t->n_pairs : (unsigned)(frac * t->n_pairs) + 1;
    }
    while (t->setup_next < allowed && t->setup_inflight < SETUP_INFLIGHT && !t->shutting)
        start_pair(&t->pairs[t->setup_next++]);
    if (t->setup_next < t->n_pairs && !ur_timer_armed(&t->setup_timer))
        ur_timer_arm(t->loop, &t->setup_timer, 10, 0);
}

static int thread_init(struct ur_loop *loop, unsigned idx, void *ud)
{
    (void)ud;
    struct lthread *t = &lthreads[idx];
    t->loop = loop;
    ur_timer_init(&t->setup_timer, setup_tick, t);
    ur_timer_init(&t->rate_timer, rate_tick, t);
    ur_timer_init(&t->end_timer, end_cb, t);
    ur_timer_init(&t->drain_timer, drain_tick, t);
    ur_timer_init(&t->stop_timer, stop_now, t);
    if (!args.relay) {
        uint16_t port = args.listen_port ? (uint16_t)(args.listen_port + idx) : 0;
        int rc = gw_server_new(loop, "127.0.0.1", port, NULL, tls_server, NULL,
                               args.setup_timeout_ms, &t->sv);
        if (rc < 0)
            return rc;
    }
    t->setup_t0 = ur_now_ns();
    if (t->n_pairs == 0)
        atomic_fetch_add(&threads_settled, 1);
    else
        setup_tick(NULL, t);
    return 0;
}

static void thread_fini(struct ur_loop *loop, unsigned idx, void *ud)
{
    (void)loop, (void)ud;
    if (lthreads[idx].sv)
        gw_server_free(lthreads[idx].sv);
    lthreads[idx].sv = NULL;
    /* wolfSSL's per-thread ECC cache: ur_runtime frees it right after
     * this (ur_tls_thread_cleanup), once the server above is gone. */
}

/* ---- report ---- */

static void merge_codes(struct code_count *dst, const struct code_count *src)
{
    for (unsigned i = 0; i < MAX_CODES && src[i].code; i++)
        for (uint64_t k = 0; k < src[i].n; k++)
            count_code(dst, src[i].code);
}

static void print_codes(FILE *f, const struct code_count *cc, bool json)
{
    bool first = true;
    for (unsigned i = 0; i < MAX_CODES && cc[i].code; i++) {
        if (json)
            fprintf(f, "%s\"%d\": %" PRIu64, first ? "" : ", ", cc[i].code, cc[i].n);
        else
            fprintf(f, "%s%d x%" PRIu64, first ? "" : ", ", cc[i].code, cc[i].n);
        first = false;
    }
    if (first && !json)
        fputs("none", f);
}

static void usage(FILE *f)
{
    fputs("usage: msrpload [--relay HOST:PORT [--user U --password P] | --via HOST:PORT]\n"
          "                [--sessions N] [--idle-sessions M] [--threads T]\n"
          "                [--chunk-size B] [--message-size B] [--messages K] [--window W]\n"
          "                [--rate CHUNKS_PER_S] [--duration S] [--ramp-up S]\n"
          "                [--tls (--ca F | --insecure) [--cert F --key F]]\n"
          "                [--target-pid PID]... [--target-pgid PGID]...\n"
          "                [--listen-port P] [--response-timeout S] [--setup-timeout S]\n"
          "                [--resolver HOST:PORT] [--json] [--verbose]\n"
          "Defaults: 10 sessions, 1 thread, 64 KiB chunks and messages, window 8,\n"
          "closed loop, 10 s when neither --messages nor --duration is given.\n"
          "Direct mode (no --relay) with --tls needs --cert/--key for the receivers.\n"
          "Relay mode: idle sessions are AUTHed receivers (one connection each);\n"
          "direct mode: idle sessions are bound sender/receiver pairs.\n"
          "--via H:V with --listen-port P: loop i listens on P+i, its senders connect\n"
          "to H:V+i (one TCP forwarder V+i -> P+i per loop).\n",
          f);
}

static uint64_t parse_u64(const char *opt, const char *v, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    uint64_t mult = 1;
    if (*end == 'K' || *end == 'k')
        mult = 1024, end++;
    else if (*end == 'M')
        mult = 1024 * 1024, end++;
    else if (*end == 'G')
        mult = 1024ull * 1024 * 1024, end++;
    if (errno || *end || end == v || x > max / mult || x * mult < min || x * mult > max)
        die_usage("bad value for %s: %s", opt, v);
    return x * mult;
}

static double parse_double(const char *opt, const char *v, double min, double max)
{
    char *end;
    double x = strtod(v, &end);
    if (*end || end == v || !(x >= min && x <= max))
        die_usage("bad value for %s: %s", opt, v);
    return x;
}

static void log_hook(enum ur_log_level level, const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "msrpload: [%s] %s\n", ur_log_level_name(level), msg);
}

static void parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        { "sessions", required_argument, 0, 's' },   { "idle-sessions", required_argument, 0, 'i' },
        { "threads", required_argument, 0, 't' },    { "chunk-size", required_argument, 0, 'c' },
        { "message-size", required_argument, 0, 'm' }, { "messages", required_argument, 0, 'n' },
        { "window", required_argument, 0, 'w' },     { "rate", required_argument, 0, 'r' },
        { "duration", required_argument, 0, 'd' },   { "ramp-up", required_argument, 0, 'u' },
        { "tls", no_argument, 0, 'T' },              { "insecure", no_argument, 0, 'I' },
        { "ca", required_argument, 0, 'A' },         { "cert", required_argument, 0, 'C' },
        { "key", required_argument, 0, 'K' },        { "relay", required_argument, 0, 'R' },
        { "via", required_argument, 0, 'V' },        { "user", required_argument, 0, 'U' },
        { "password", required_argument, 0, 'P' },  { "target-pid", required_argument, 0, 'p' },
        { "target-pgid", required_argument, 0, 'g' },
        { "response-timeout", required_argument, 0, 'o' },
        { "setup-timeout", required_argument, 0, 'b' },
        { "listen-port", required_argument, 0, 'L' },
        { "resolver", required_argument, 0, 'Z' },
        { "json", no_argument, 0, 'j' },             { "verbose", no_argument, 0, 'v' },
        { "help", no_argument, 0, 'h' },             { 0, 0, 0, 0 },
    };
    args.sessions = 10;
    args.threads = 1;
    args.window = 8;
    args.chunk = 65536;
    args.msg_size = 0;
    args.response_timeout_ms = 30000;
    args.setup_timeout_ms = 30000;
    bool have_msg_size = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': args.sessions = (unsigned)parse_u64("--sessions", optarg, 0, 1000000); break;
        case 'i': args.idle = (unsigned)parse_u64("--idle-sessions", optarg, 0, 1000000); break;
        case 't': args.threads = (unsigned)parse_u64("--threads", optarg, 1, 256); break;
        case 'c': args.chunk = (uint32_t)parse_u64("--chunk-size", optarg, 1, 16u << 20); break;
        case 'm':
            args.msg_size = parse_u64("--message-size", optarg, 1, UINT64_MAX / 2);
            have_msg_size = true;
            break;
        case 'n': args.messages = parse_u64("--messages", optarg, 0, UINT64_MAX / 2); break;
        case 'w': args.window = (unsigned)parse_u64("--window", optarg, 1, 4096); break;
        case 'r': args.rate = parse_double("--rate", optarg, 1, 1e9); break;
        case 'd': args.duration = parse_double("--duration", optarg, 0.01, 86400); break;
        case 'u': args.ramp = parse_double("--ramp-up", optarg, 0, 3600); break;
        case 'T': args.tls = true; break;
        case 'I': args.insecure = true; args.tls = true; break;
        case 'A': args.ca = optarg; args.tls = true; break;
        case 'C': args.cert = optarg; break;
        case 'K': args.key = optarg; break;
        case 'R':
            if (gw_addr_parse(optarg, &args.relay_at, NULL, 0) || args.relay_at.port == 0)
                die_usage("bad --relay %s", optarg);
            args.relay = true;
            break;
        case 'V':
            if (gw_addr_parse(optarg, &args.via_at, NULL, 0) || args.via_at.port == 0)
                die_usage("bad --via %s", optarg);
            args.via = true;
            break;
        case 'U': args.user = optarg; break;
        case 'P': args.password = optarg; break;
        case 'p':
            if (args.n_pids >= MAX_TARGETS)
                die_usage("too many --target-pid");
            args.target_pids[args.n_pids++] = (int)parse_u64("--target-pid", optarg, 1, INT32_MAX);
            break;
        case 'g':
            if (args.n_pgids >= MAX_TARGETS)
                die_usage("too many --target-pgid");
            args.target_pgids[args.n_pgids++] = (int)parse_u64("--target-pgid", optarg, 1, INT32_MAX);
            break;
        case 'o':
            args.response_timeout_ms = (uint32_t)parse_u64("--response-timeout", optarg, 1, 3600) * 1000;
            break;
        case 'b':
            args.setup_timeout_ms = (uint32_t)parse_u64("--setup-timeout", optarg, 1, 3600) * 1000;
            break;
        case 'L': args.listen_port = (uint16_t)parse_u64("--listen-port", optarg, 1, 65000); break;
        case 'Z':
            /* --relay and --via may name hosts: resolved on the loops. */
            if (ur_dns_configure(optarg, 0) < 0)
                die_usage("bad --resolver %s", optarg);
            break;
        case 'j': args.json = true; break;
        case 'v': args.verbose = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind != argc)
        die_usage("unexpected argument %s", argv[optind]);
    if (!have_msg_size)
        args.msg_size = args.chunk;
    if (args.messages == 0 && args.duration == 0)
        args.duration = 10;
    if (args.relay && args.via)
        die_usage("--relay and --via exclude each other");
    if (args.via && !args.listen_port)
        die_usage("--via needs --listen-port (the forwarders' upstream ports)");
    if (args.tls && !args.ca && !args.insecure)
        die_usage("--tls needs --ca or --insecure for the connecting side");
    if (args.tls && !args.relay && (!args.cert || !args.key))
        die_usage("--tls in direct mode needs --cert and --key for the receivers");
    if (args.sessions + args.idle == 0)
        die_usage("nothing to do: --sessions 0 and no --idle-sessions");
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    ur_log_set(log_hook, NULL, args.verbose ? UR_LOG_INFO : UR_LOG_ERROR);
    pattern_init();
    if (args.tls) {
        struct ur_tls_config cc = { .ca_file = args.ca, .insecure = args.insecure };
        int rc = ur_tls_ctx_new(&tls_client, &cc);
        if (rc == 0 && !args.relay) {
            struct ur_tls_config sc = { .server = 1, .cert_file = args.cert, .key_file = args.key };
            rc = ur_tls_ctx_new(&tls_server, &sc);
        }
        if (rc < 0) {
            fprintf(stderr, "msrpload: TLS setup failed: %s\n", strerror(-rc));
            return 2;
        }
    }

    /* Sessions are dealt round robin to the loops; idle ones last. */
    lthreads = calloc(args.threads, sizeof(*lthreads));
    unsigned total = args.sessions + args.idle;
    for (unsigned i = 0; i < args.threads; i++) {
        lthreads[i].idx = i;
        lthreads[i].n_pairs = total / args.threads + (i < total % args.threads);
        lthreads[i].pairs = calloc(lthreads[i].n_pairs ? lthreads[i].n_pairs : 1, sizeof(struct pair));
        gw_hist_init(&lthreads[i].st.hist);
    }
    unsigned *fill = calloc(args.threads, sizeof(unsigned));
    for (unsigned g = 0; g < total; g++) {
        struct lthread *t = &lthreads[g % args.threads];
        struct pair *p = &t->pairs[fill[t->idx]++];
        p->t = t;
        p->idx = g;
        p->idle = g >= args.sessions;
        if (!p->idle)
            p->slots = calloc(args.window, sizeof(struct slot));
    }
    free(fill);

    struct proc_sample before, ready, at_start, at_end;
    sample_targets(&before);

    struct ur_runtime_config rc_cfg = { .threads = args.threads, .init = thread_init,
                                        .fini = thread_fini };
    ur_loop_config_default(&rc_cfg.loop);
    rc_cfg.loop.sq_entries = 4096;
    struct ur_runtime *rt;
    uint64_t t_setup0 = ur_now_ns();
    int rc = ur_runtime_start(&rt, &rc_cfg);
    if (rc < 0) {
        fprintf(stderr, "msrpload: runtime start failed: %s\n", strerror(-rc));
        return 2;
    }

    /* Setup: bounded by the ramp plus the per-session setup timeout. */
    uint64_t setup_deadline = t_setup0 + (uint64_t)((args.ramp + 5) * 1e9) +
                              (uint64_t)args.setup_timeout_ms * 2000000ull;
    struct timespec nap = { 0, 5 * 1000 * 1000 };
    while (atomic_load(&threads_settled) < args.threads && ur_now_ns() < setup_deadline)
        nanosleep(&nap, NULL);
    bool setup_ok = atomic_load(&threads_settled) == args.threads;
    double setup_s = (double)(ur_now_ns() - t_setup0) / 1e9;
    /* Let the target finish reacting to the last setups before sampling. */
    nap.tv_nsec = 200 * 1000 * 1000;
    nanosleep(&nap, NULL);
    nap.tv_nsec = 5 * 1000 * 1000;
    sample_targets(&ready);

    unsigned setup_fail = atomic_load(&setup_failures);

    sample_targets(&at_start);
    double self0 = self_cpu();
    uint64_t t0 = ur_now_ns();
    bool run_ok = false;
    if (setup_ok && setup_fail == 0) {
        for (unsigned i = 0; i < args.threads; i++)
            ur_loop_post(ur_runtime_loop(rt, i), start_cb, &lthreads[i]);
        double bound = (args.duration > 0 ? args.duration : 86400) + args.response_timeout_ms / 1000.0 +
                       DRAIN_GRACE_MS / 1000.0 + 5;
        uint64_t deadline = t0 + (uint64_t)(bound * 1e9);
        while (atomic_load(&threads_finished) < args.threads && ur_now_ns() < deadline)
            nanosleep(&nap, NULL);
        run_ok = atomic_load(&threads_finished) == args.threads;
        if (!run_ok)
            fprintf(stderr, "msrpload: the run did not finish within %.0f s\n", bound);
    } else if (!setup_ok) {
        fprintf(stderr, "msrpload: sessions not set up within %.0f s\n", setup_s);
    }
    uint64_t t_done = ur_now_ns();
    sample_targets(&at_end);
    double self1 = self_cpu();

    for (unsigned i = 0; i < args.threads; i++)
        ur_loop_post(ur_runtime_loop(rt, i), shutdown_cb, &lthreads[i]);
    ur_runtime_join(rt);

    /* Merge. */
    static struct lstats S;
    gw_hist_init(&S.hist);
    uint64_t t_last = t0;
    for (unsigned i = 0; i < args.threads; i++) {
        struct lstats *s = &lthreads[i].st;
        gw_hist_merge(&S.hist, &s->hist);
        S.chunks_ok += s->chunks_ok;
        S.bytes_ok += s->bytes_ok;
        S.msgs_acked += s->msgs_acked;
        S.rx_ok += s->rx_ok;
        S.rx_bad += s->rx_bad;
        S.rx_incomplete += s->rx_incomplete;
        S.rx_bytes += s->rx_bytes;
        S.setup_fail += s->setup_fail;
        S.closed_early += s->closed_early;
        S.tls_conns += s->tls_conns;
        S.tls_resumed += s->tls_resumed;
        merge_codes(S.codes, s->codes);
        merge_codes(S.setup_codes, s->setup_codes);
        if (s->t_last_ack > t_last)
            t_last = s->t_last_ack;
    }
    uint64_t errors = 0;
    for (unsigned i = 0; i < MAX_CODES; i++)
        errors += S.codes[i].n;
    double elapsed = (double)((S.chunks_ok ? t_last : t_done) - t0) / 1e9;
    if (elapsed <= 0)
        elapsed = 1e-9;
    double goodput = (double)S.bytes_ok / elapsed / 1e6;
    double cps = (double)S.chunks_ok / elapsed;
    double tcpu = at_end.cpu_s - at_start.cpu_s;
    double scpu = self1 - self0;
    bool targets = args.n_pids + args.n_pgids > 0;
    /* Connections the target holds for our sessions: per active pair the
     * receiver's and the sender's; per idle session one (relay: the AUTHed
     * receiver) or two (direct pair). */
    uint64_t conns = (uint64_t)args.sessions * 2 + (uint64_t)args.idle * (args.relay ? 1 : 2);
    double rss_per_conn = conns && targets
                              ? ((double)ready.rss_kib - (double)before.rss_kib) * 1024.0 /
                                    (double)conns
                              : 0;
    bool verified = S.rx_bad == 0 && S.rx_ok >= S.msgs_acked;
    bool ok = setup_ok && run_ok && S.setup_fail == 0 && errors == 0 && verified;
    double q[5] = { 0.5, 0.9, 0.99, 0.999, 1.0 };
    double lat_us[5];
    for (int i = 0; i < 5; i++)
        lat_us[i] = (double)gw_hist_quantile(&S.hist, q[i]) / 1e3;
    const char *mode = args.relay ? "relay" : args.via ? "via" : "direct";

    if (args.json) {
        printf("{\"mode\": \"%s\", \"tls\": %s, \"sessions\": %u, \"idle_sessions\": %u, "
               "\"threads\": %u, \"chunk_size\": %u, \"message_size\": %" PRIu64
               ", \"messages_per_session\": %" PRIu64 ", \"window\": %u, \"rate\": %.0f, "
               "\"setup_s\": %.3f, \"elapsed_s\": %.3f, \"bytes_acked\": %" PRIu64
               ", \"goodput_MBps\": %.2f, \"chunks_acked\": %" PRIu64
               ", \"chunks_per_s\": %.0f, ",
               mode, args.tls ? "true" : "false", args.sessions, args.idle, args.threads, args.chunk,
               args.msg_size, args.messages, args.window, args.rate, setup_s, elapsed, S.bytes_ok, goodput,
               S.chunks_ok, cps);
        printf("\"tls_connections\": %" PRIu64 ", \"tls_resumed\": %" PRIu64 ", ", S.tls_conns,
               S.tls_resumed);
        printf("\"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"p999\": %.1f, "
               "\"max\": %.1f, \"mean\": %.1f}, ",
               lat_us[0], lat_us[1], lat_us[2], lat_us[3], lat_us[4],
               gw_hist_mean(&S.hist) / 1e3);
        printf("\"errors\": {");
        print_codes(stdout, S.codes, true);
        printf("}, \"error_count\": %" PRIu64 ", \"setup_failures\": %" PRIu64
               ", \"setup_errors\": {", errors, S.setup_fail);
        print_codes(stdout, S.setup_codes, true);
        printf("}, \"messages_acked\": %" PRIu64 ", \"messages_verified\": %" PRIu64
               ", \"messages_corrupt\": %" PRIu64 ", \"messages_incomplete\": %" PRIu64
               ", \"bytes_received\": %" PRIu64 ", \"verified\": %s, ",
               S.msgs_acked, S.rx_ok, S.rx_bad, S.rx_incomplete, S.rx_bytes,
               verified ? "true" : "false");
        printf("\"target\": {\"processes\": %u, \"cpu_s\": %.3f, \"bytes_per_cpu_s\": %.0f, "
               "\"chunks_per_cpu_s\": %.0f, \"rss_kib_before\": %" PRIu64
               ", \"rss_kib_ready\": %" PRIu64 ", \"rss_kib_end\": %" PRIu64
               ", \"connections\": %" PRIu64 ", \"rss_bytes_per_conn\": %.0f}, ",
               at_end.procs, tcpu, tcpu > 0 ? (double)S.bytes_ok / tcpu : 0,
               tcpu > 0 ? (double)S.chunks_ok / tcpu : 0, before.rss_kib, ready.rss_kib,
               at_end.rss_kib, conns, rss_per_conn);
        printf("\"self\": {\"cpu_s\": %.3f, \"bytes_per_cpu_s\": %.0f}, \"ok\": %s}\n", scpu,
               scpu > 0 ? (double)S.bytes_ok / scpu : 0, ok ? "true" : "false");
    } else {
        printf("msrpload: %s%s, %u sessions (+%u idle) on %u thread(s), %u B chunks, "
               "%" PRIu64 " B messages, %s\n",
               mode, args.tls ? " (TLS)" : "", args.sessions, args.idle, args.threads, args.chunk, args.msg_size,
               args.rate > 0 ? "open loop" : "closed loop");
        printf("  setup       %.3f s%s\n", setup_s, setup_ok ? "" : " (INCOMPLETE)");
        printf("  elapsed     %.3f s\n", elapsed);
        if (args.tls)
            printf("  tls         %" PRIu64 " client connections, %" PRIu64 " resumed\n",
                   S.tls_conns, S.tls_resumed);
        printf("  goodput     %.2f MB/s (%" PRIu64 " body bytes answered 200)\n", goodput,
               S.bytes_ok);
        printf("  chunks      %.0f /s (%" PRIu64 ")\n", cps, S.chunks_ok);
        printf("  latency us  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", lat_us[0],
               lat_us[1], lat_us[2], lat_us[3], lat_us[4]);
        printf("  errors      ");
        print_codes(stdout, S.codes, false);
        printf("; setup failures %" PRIu64 " (", S.setup_fail);
        print_codes(stdout, S.setup_codes, false);
        printf(")\n  verified    %" PRIu64 " of %" PRIu64 " acked messages, %" PRIu64
               " corrupt, %" PRIu64 " cut short -> %s\n",
               S.rx_ok, S.msgs_acked, S.rx_bad, S.rx_incomplete, verified ? "OK" : "FAILED");
        if (targets)
            printf("  target      %.3f CPU-s (%u procs), %.1f MB per CPU-s, %.0f chunks per "
                   "CPU-s; RSS %" PRIu64 " -> %" PRIu64 " KiB (%.0f B per connection, %" PRIu64
                   " conns)\n",
                   tcpu, at_end.procs, tcpu > 0 ? (double)S.bytes_ok / tcpu / 1e6 : 0,
                   tcpu > 0 ? (double)S.chunks_ok / tcpu : 0, before.rss_kib, ready.rss_kib,
                   rss_per_conn, conns);
        printf("  msrpload    %.3f CPU-s (%.1f MB per CPU-s)\n", scpu,
               scpu > 0 ? (double)S.bytes_ok / scpu / 1e6 : 0);
        printf("  result      %s\n", ok ? "OK" : "FAILED");
    }
    fflush(stdout);

    for (unsigned i = 0; i < args.threads; i++) {
        for (unsigned k = 0; k < lthreads[i].n_pairs; k++)
            free(lthreads[i].pairs[k].slots);
        free(lthreads[i].pairs);
    }
    free(lthreads);
    free(pattern);
    if (tls_client)
        ur_tls_ctx_free(tls_client);
    if (tls_server)
        ur_tls_ctx_free(tls_server);
    if (!setup_ok || S.setup_fail)
        return 3;
    return ok ? 0 : 1;
}
