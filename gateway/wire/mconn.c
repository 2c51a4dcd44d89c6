/*
 * mconn.c: MSRP framing over a uring connection (contract in mconn.h).
 *
 * Ownership: the mconn owns its ur_conn and its parser. The parser's head
 * and scratch storage (some 25 KiB) is lent from a per-thread cache only
 * while a frame is being read, so thousands of idle connections cost
 * little memory. The ur_conn owns the mconn's lifetime: the mconn is
 * freed in the ur_conn's on_close, after the owner's on_close.
 */
#include "gateway/wire/mconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/writer.h"
#include "uring/buf.h"
#include "uring/conn.h"
#include "uring/loop.h"
#include "uring/timer.h"
#include "uring/ws.h"

/* Held frames (gw_mconn_frame_begin): a buffer grown past KEEP is freed
 * once flushed; MAX bounds it when the loop sets no conn_hard_limit. */
#define MCONN_HELD_KEEP (16u * 1024)
#define MCONN_HELD_MAX (16u * 1024 * 1024)

static void unblock_cb(struct ur_timer *t, void *arg);

struct gw_mconn {
    struct ur_conn *conn;
    const struct gw_mconn_ops *ops;
    void *ud;
    struct msrp_parser parser;
    struct mstore *store; /* lent only while a frame is being read */
    /* Bytes kept back by a stall: the rest of a receive buffer. */
    struct ur_buf *stash_buf;
    const char *stash_p;
    size_t stash_n;
    uint8_t stalled;
    /* Self-backpressure (inbound connections only): our own unsent output
     * to this peer reached conn_mem_ceiling, so its input -- which is what
     * makes us answer it -- waits until the output drains under the low
     * watermark (on_drain). Independent of `stalled`: input flows again
     * only when both are clear. Connections we opened never stop reading
     * for this: two relays each stalling the other's shared connection
     * would wait on each other for ever; one side always keeps reading. */
    uint8_t self_stalled;
    uint8_t inbound;
    /* The ur_conn's reading is paused by us (once: pauses nest in uring/,
     * and a stall inside gw_mconn_resume's re-feed must not add a second
     * pause that the single resume would leave behind). */
    uint8_t read_paused;
    uint8_t failed;   /* parse error seen: ignore further input */
    uint8_t in_feed;  /* guards resume() called from inside a callback */
    uint8_t head_again; /* on_head said GW_MCONN_AGAIN: deliver it again */
    /* Output frame lock: a frame written in parts (gw_mconn_frame_begin ..
     * gw_mconn_frame_end, a relayed chunk streaming as its bytes arrive)
     * owns the output; whole frames sent meanwhile (answers, REPORTs)
     * wait in held, each as [uint32 length][bytes], and follow its
     * end-line. held_over: held outgrew its bound and closed the
     * connection (on_close gets -ENOBUFS). */
    uint8_t out_open;
    uint8_t held_over;
    char *held;
    size_t held_n, held_cap;
    struct ur_timer unblock; /* deferred end of a self-stall on held */
    struct gw_mconn_stats stats;
    char peer[64];
};

/*
 * Parser storage: struct msrp_head plus the header scratch in one block.
 * Freed blocks wait in a small per-thread cache (connections live on one
 * loop thread), so a busy connection does not pay malloc per frame. Under
 * AddressSanitizer the cache is off, so a head used after its frame ended
 * is caught as a use after free.
 */
struct mstore {
    struct mstore *next;
    size_t cap;
    struct msrp_head head;
    char scratch[];
};

#if defined(__SANITIZE_ADDRESS__)
#define MSTORE_CACHE_MAX 0
#else
#define MSTORE_CACHE_MAX 64
#endif

static _Thread_local struct mstore *mstore_cache;
static _Thread_local unsigned mstore_cached;

static struct mstore *mstore_get(size_t cap)
{
    struct mstore *st = mstore_cache;
    if (st && st->cap == cap) {
        mstore_cache = st->next;
        mstore_cached--;
        return st;
    }
    st = malloc(sizeof(*st) + cap);
    if (st)
        st->cap = cap;
    return st;
}

static void mstore_put(struct mstore *st)
{
    if (!st)
        return;
#if MSTORE_CACHE_MAX > 0
    if (mstore_cached < MSTORE_CACHE_MAX && (!mstore_cache || mstore_cache->cap == st->cap)) {
        st->next = mstore_cache;
        mstore_cache = st;
        mstore_cached++;
        return;
    }
#endif
    free(st);
}

/* Lends storage to the parser before input is fed (between frames). */
static int mconn_lend(struct gw_mconn *m)
{
    if (m->store)
        return 0;
    size_t cap = m->parser.lim.max_header_bytes;
    m->store = mstore_get(cap);
    if (!m->store)
        return -ENOMEM;
    if (msrp_parser_set_storage(&m->parser, &m->store->head, m->store->scratch, cap) != 0) {
        mstore_put(m->store);
        m->store = NULL;
        return -EINVAL;
    }
    return 0;
}

/* Takes the storage back once no frame is in progress. */
static bool mconn_blocked(const struct gw_mconn *m)
{
    return m->stalled || m->self_stalled;
}

static void mconn_pause(struct gw_mconn *m)
{
    if (!m->read_paused) {
        m->read_paused = 1;
        ur_conn_pause_read(m->conn);
    }
}

/* Stops taking input from a peer that does not read what we send it
 * (see self_stalled): checked before each event, so at most one event's
 * answer (a response, some KiB) lands past the ceiling. */
static bool mconn_held_over_ceiling(const struct gw_mconn *m)
{
    return m->held_n >= ur_loop_config(ur_conn_loop(m->conn))->conn_mem_ceiling;
}

static void mconn_check_output(struct gw_mconn *m)
{
    if (m->inbound && !m->self_stalled &&
        (ur_conn_over_ceiling(m->conn) || (m->held_n && mconn_held_over_ceiling(m)))) {
        m->self_stalled = 1;
        mconn_pause(m);
    }
}

static void mconn_reclaim(struct gw_mconn *m)
{
    if (m->store && !mconn_blocked(m) && !m->failed && !msrp_parser_in_frame(&m->parser)) {
        mstore_put(m->store);
        m->store = NULL;
    }
}

static void mconn_fill_peer(struct gw_mconn *m)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    m->peer[0] = '\0';
    if (getpeername(ur_conn_fd(m->conn), (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        port = ntohs(a->sin_port);
        snprintf(m->peer, sizeof(m->peer), "%s:%u", ip, port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
        snprintf(m->peer, sizeof(m->peer), "[%s]:%u", ip, port);
    }
}

/* Answers the frame that failed to parse, when it is a request whose
 * paths were read (otherwise there is nobody to address the 400 to). */
static bool respond_wanted(const struct msrp_head *h, uint16_t code);

static void mconn_answer_error(struct gw_mconn *m, const struct msrp_head *h, int err)
{
    /* The one framing error whose cause the sender cannot guess. */
    const char *why = err == MSRP_E_TOO_MANY_URIS ? "Too Many URIs In Path" : "Bad Request";

    if (!h || h->kind != MSRP_REQUEST || h->n_to_path == 0 || h->n_from_path == 0)
        return;
    if (respond_wanted(h, 400) && gw_mconn_respond(m, h, 400, why, NULL) == 0)
        m->stats.error_answers++;
}

/* A callback's answer: GW_MCONN_STALL or GW_MCONN_AGAIN stop delivery. */
static void mconn_stall_on(struct gw_mconn *m, int r)
{
    if (r == GW_MCONN_AGAIN)
        m->head_again = 1;
    if ((r == GW_MCONN_STALL || r == GW_MCONN_AGAIN) && !m->stalled) {
        m->stalled = 1;
        mconn_pause(m);
    }
}

/*
 * Feeds bytes to the parser and dispatches events until the input is used
 * up, a callback stalls, or the connection fails. buf is the receive buffer
 * p lies in (NULL for none). Returns the number of bytes consumed.
 */
static size_t mconn_feed(struct gw_mconn *m, const char *p, size_t n, struct ur_buf *buf)
{
    const char *start = p;
    if (mconn_lend(m) < 0) {
        m->failed = 1;
        ur_conn_close(m->conn);
        return 0;
    }
    m->in_feed = 1;
    for (;;) {
        mconn_check_output(m);
        if (m->failed || mconn_blocked(m))
            break;
        if (m->head_again) {
            /* The head the owner deferred (GW_MCONN_AGAIN), still the
             * parser's: the frame has not moved past its header section. */
            m->head_again = 0;
            mconn_stall_on(m, m->ops->on_head(m, &m->store->head));
            continue;
        }
        struct msrp_event ev;
        size_t used = msrp_parse(&m->parser, p, n, &ev);
        p += used;
        n -= used;
        int r = GW_MCONN_CONTINUE;
        switch (ev.type) {
        case MSRP_EV_NONE:
            m->in_feed = 0;
            mconn_reclaim(m);
            return (size_t)(p - start);
        case MSRP_EV_FRAME_START:
        case MSRP_EV_HEADER:
            break;
        case MSRP_EV_HEADERS_END:
            m->stats.frames_in++;
            r = m->ops->on_head(m, ev.head);
            break;
        case MSRP_EV_BODY: {
            /* Held-back bytes come from the parser, not from buf. */
            int inside = ev.body.p >= start && ev.body.p < start + (p - start) + n;
            m->stats.body_bytes_in += ev.body.n;
            r = m->ops->on_body(m, ev.head, ev.body.p, ev.body.n, ev.body_offset,
                                inside ? buf : NULL);
            break;
        }
        case MSRP_EV_FRAME_END:
            r = m->ops->on_end(m, ev.head, ev.flag);
            break;
        case MSRP_EV_ERROR: {
            const struct msrp_head *h = msrp_parser_in_frame(&m->parser) ? &m->store->head : NULL;
            m->failed = 1;
            m->stats.parse_errors++;
            mconn_answer_error(m, h, ev.error);
            if (m->ops->on_error)
                m->ops->on_error(m, ev.error, ev.error_offset, h);
            ur_conn_close_after_flush(m->conn);
            break;
        }
        }
        if (r == GW_MCONN_AGAIN && ev.type != MSRP_EV_HEADERS_END)
            r = GW_MCONN_STALL; /* only a head can be delivered again */
        mconn_stall_on(m, r);
    }
    m->in_feed = 0;
    return (size_t)(p - start);
}

static void mconn_stash(struct gw_mconn *m, const char *p, size_t n, struct ur_buf *buf)
{
    if (n == 0 || m->failed)
        return;
    /* Paused reading means no new on_data until resume: one stash at most. */
    m->stash_buf = ur_buf_ref(buf);
    m->stash_p = p;
    m->stash_n = n;
}

static void mc_on_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    struct gw_mconn *m = ur_conn_data(c);
    if (m->failed)
        return;
    size_t used = mconn_feed(m, (const char *)p, n, buf);
    if (mconn_blocked(m))
        mconn_stash(m, (const char *)p + used, n - used, buf);
}

/* One of the two stall reasons cleared: when none is left, the bytes
 * kept back are fed and reading restarts. */
static void mconn_unblock(struct gw_mconn *m)
{
    if (mconn_blocked(m))
        return;
    if (m->in_feed) {
        /* Resumed from inside a callback of the same feed: the feed loop
         * simply goes on, nothing was paused for long. */
        if (m->read_paused) {
            m->read_paused = 0;
            ur_conn_resume_read(m->conn);
        }
        return;
    }
    while (m->stash_n > 0 && !mconn_blocked(m) && !m->failed) {
        struct ur_buf *buf = m->stash_buf;
        const char *p = m->stash_p;
        size_t n = m->stash_n;
        m->stash_buf = NULL;
        m->stash_n = 0;
        size_t used = mconn_feed(m, p, n, buf);
        if (mconn_blocked(m))
            mconn_stash(m, p + used, n - used, buf);
        ur_buf_unref(buf);
    }
    /* An event may be pending with no bytes left: the end of a bodyless
     * frame whose last byte came with its head (the parser reports
     * FRAME_END on the call after HEADERS_END). Without this a frame that
     * stalled at its head would end only when the peer sent more -- and a
     * peer waiting for the answer to it never does. */
    if (!mconn_blocked(m) && !m->failed) {
        static const char none[1]; /* not NULL: mconn_feed does p += 0 */
        mconn_feed(m, none, 0, NULL);
    }
    if (!mconn_blocked(m) && m->read_paused) {
        m->read_paused = 0;
        ur_conn_resume_read(m->conn);
    }
}

void gw_mconn_resume(struct gw_mconn *m)
{
    if (!m->stalled)
        return;
    m->stalled = 0;
    mconn_unblock(m);
}

int gw_mconn_stalled(const struct gw_mconn *m)
{
    return m->stalled;
}

bool gw_mconn_output_blocked(const struct gw_mconn *m)
{
    return m->self_stalled;
}

static void mc_on_open(struct ur_conn *c, int err)
{
    struct gw_mconn *m = ur_conn_data(c);
    if (err == 0)
        mconn_fill_peer(m);
    if (m->ops->on_open)
        m->ops->on_open(m, err);
}

static void mc_on_drain(struct ur_conn *c)
{
    struct gw_mconn *m = ur_conn_data(c);
    if (m->ops->on_drain)
        m->ops->on_drain(m);
    /* Then our own input, whose answers now fit again. */
    if (m->self_stalled) {
        m->self_stalled = 0;
        mconn_unblock(m);
    }
}

static void mconn_free(struct gw_mconn *m)
{
    if (ur_timer_armed(&m->unblock))
        ur_timer_cancel(ur_conn_loop(m->conn), &m->unblock);
    free(m->held);
    ur_buf_unref(m->stash_buf);
    mstore_put(m->store);
    free(m);
}

static void mc_on_close(struct ur_conn *c, int err)
{
    struct gw_mconn *m = ur_conn_data(c);
    if (m->held_over && err == 0)
        err = -ENOBUFS;
    if (m->ops->on_close)
        m->ops->on_close(m, err);
    mconn_free(m);
}

static const struct ur_conn_ops mconn_conn_ops = {
    .on_open = mc_on_open,
    .on_data = mc_on_data,
    .on_drain = mc_on_drain,
    .on_close = mc_on_close,
};

static struct gw_mconn *mconn_new(const struct msrp_limits *lim, const struct gw_mconn_ops *ops,
                                  void *ud)
{
    struct msrp_limits l;
    if (lim)
        l = *lim;
    else
        msrp_limits_default(&l);
    msrp_limits_check(&l);
    struct gw_mconn *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    ur_timer_init(&m->unblock, unblock_cb, m);
    /* Storage only for init: it goes back to the cache at once and is lent
     * again when bytes arrive (mconn_lend). */
    m->store = mstore_get(l.max_header_bytes);
    if (!m->store ||
        msrp_parser_init(&m->parser, &l, &m->store->head, m->store->scratch,
                         l.max_header_bytes) != 0) {
        mconn_free(m);
        return NULL;
    }
    mstore_put(m->store);
    m->store = NULL;
    m->ops = ops;
    m->ud = ud;
    return m;
}

int gw_mconn_adopt(struct ur_loop *loop, int fd, struct ur_tls_ctx *tls,
                   const struct msrp_limits *lim, const struct gw_mconn_ops *ops, void *ud,
                   struct gw_mconn **out)
{
    struct gw_mconn *m = mconn_new(lim, ops, ud);
    if (!m) {
        close(fd);
        return -ENOMEM;
    }
    m->inbound = 1;
    int rc = ur_conn_adopt(loop, fd, tls, &mconn_conn_ops, m, &m->conn);
    if (rc < 0) {
        mconn_free(m);
        return rc;
    }
    mconn_fill_peer(m);
    *out = m;
    return 0;
}

int gw_mconn_adopt_handoff(struct ur_loop *loop, struct ur_handoff *h,
                           const struct msrp_limits *lim, const struct gw_mconn_ops *ops,
                           void *ud, struct gw_mconn **out)
{
    struct gw_mconn *m = mconn_new(lim, ops, ud);
    if (!m) {
        ur_handoff_free(h);
        return -ENOMEM;
    }
    m->inbound = 1;
    int rc = ur_conn_adopt_handoff(loop, h, &mconn_conn_ops, m, &m->conn);
    if (rc < 0) {
        mconn_free(m);
        return rc;
    }
    mconn_fill_peer(m);
    *out = m;
    return 0;
}

int gw_mconn_connect(struct ur_loop *loop, const char *host, uint16_t port,
                     unsigned timeout_ms, struct ur_tls_ctx *tls, const char *server_name,
                     const struct msrp_limits *lim, const struct gw_mconn_ops *ops, void *ud,
                     struct gw_mconn **out)
{
    struct gw_mconn *m = mconn_new(lim, ops, ud);
    if (!m)
        return -ENOMEM;
    snprintf(m->peer, sizeof(m->peer), "%s:%u", host, port);
    int rc = ur_conn_connect_host(loop, host, port, timeout_ms, tls, server_name,
                                  &mconn_conn_ops, m, &m->conn);
    if (rc < 0) {
        mconn_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int gw_mconn_send_copy(struct gw_mconn *m, const void *p, size_t n)
{
    return ur_conn_send_copy(m->conn, p, n);
}

int gw_mconn_send_ref(struct gw_mconn *m, const void *p, size_t n, struct ur_buf *buf)
{
    if (!buf)
        return ur_conn_send_copy(m->conn, p, n);
    return ur_conn_send(m->conn, p, n, buf, NULL, NULL);
}

int gw_mconn_send(struct gw_mconn *m, const void *p, size_t n,
                  void (*done)(struct ur_conn *c, void *arg, int err), void *arg)
{
    return ur_conn_send(m->conn, p, n, NULL, done, arg);
}

void gw_mconn_frame_begin(struct gw_mconn *m)
{
    m->out_open = 1;
}

static int send_whole(struct gw_mconn *m, const void *p, size_t n)
{
    int rc = ur_conn_send_copy(m->conn, p, n);
    return rc < 0 ? rc : ur_conn_ws_message_end(m->conn);
}

/* The held frames go out behind the frame that just ended, in order. */
static int flush_held(struct gw_mconn *m)
{
    int rc = 0;
    size_t at = 0;
    while (rc == 0 && at < m->held_n) {
        uint32_t len;
        memcpy(&len, m->held + at, sizeof(len));
        rc = send_whole(m, m->held + at + sizeof(len), len);
        at += sizeof(len) + len;
    }
    m->held_n = 0;
    if (m->held_cap > MCONN_HELD_KEEP) {
        free(m->held);
        m->held = NULL;
        m->held_cap = 0;
    }
    return rc;
}

/* A self-stall that held answers caused ends from the loop, not from
 * inside frame_end: that runs in some other connection's callback, and
 * feeding this one's input there would nest its events in the other's. */
static void unblock_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    struct gw_mconn *m = arg;
    if (m->self_stalled && !ur_conn_over_ceiling(m->conn) && !mconn_held_over_ceiling(m)) {
        m->self_stalled = 0;
        mconn_unblock(m);
    }
}

int gw_mconn_frame_end(struct gw_mconn *m)
{
    int rc = ur_conn_ws_message_end(m->conn);
    m->out_open = 0;
    if (m->held_n == 0)
        return rc;
    int frc = flush_held(m);
    if (m->self_stalled)
        ur_timer_arm(ur_conn_loop(m->conn), &m->unblock, 0, 0);
    return rc < 0 ? rc : frc;
}

/* Keeps a whole frame until the open frame ends. Bounded: past the
 * connection's hard output limit (or MCONN_HELD_MAX) the connection
 * closes, as a send past that limit does. */
static int hold(struct gw_mconn *m, const void *p, size_t n)
{
    const struct ur_loop_config *lc = ur_loop_config(ur_conn_loop(m->conn));
    size_t max = lc->conn_hard_limit ? lc->conn_hard_limit : MCONN_HELD_MAX;
    size_t need = m->held_n + sizeof(uint32_t) + n;
    if (n > UINT32_MAX || need > max) {
        m->held_over = 1;
        m->failed = 1; /* no more events: nothing more may be answered */
        ur_conn_close(m->conn);
        return -ENOBUFS;
    }
    if (need > m->held_cap) {
        size_t cap = m->held_cap ? m->held_cap : 1024;
        while (cap < need)
            cap *= 2;
        char *nb = realloc(m->held, cap);
        if (!nb)
            return -ENOMEM;
        m->held = nb;
        m->held_cap = cap;
    }
    uint32_t len = (uint32_t)n;
    memcpy(m->held + m->held_n, &len, sizeof(len));
    memcpy(m->held + m->held_n + sizeof(len), p, n);
    m->held_n = need;
    m->stats.frames_held++;
    return 0;
}

int gw_mconn_send_frame(struct gw_mconn *m, const void *p, size_t n)
{
    if (m->out_open)
        return hold(m, p, n);
    return send_whole(m, p, n);
}

/* RFC 4975 7.2 / 7.1.2: REPORTs and other responses are never answered;
 * Failure-Report no wants no response, partial no 200. */
static bool respond_wanted(const struct msrp_head *h, uint16_t code)
{
    if (h->kind != MSRP_REQUEST || h->method == MSRP_M_REPORT)
        return false;
    if (h->failure_report == MSRP_REPORT_NO)
        return false;
    return !(h->failure_report == MSRP_REPORT_PARTIAL && code == 200);
}

int gw_mconn_respond(struct gw_mconn *m, const struct msrp_head *h, uint16_t code,
                     const char *comment, const struct msrp_frame *extra)
{
    if (!respond_wanted(h, code))
        return 0;
    char buf[4096];
    int len = msrp_write_response(buf, sizeof(buf), h, code, comment, extra);
    if (len < 0)
        return len;
    return gw_mconn_send_frame(m, buf, (size_t)len);
}

size_t gw_mconn_pending(const struct gw_mconn *m)
{
    return ur_conn_pending(m->conn);
}

void gw_mconn_close(struct gw_mconn *m)
{
    ur_conn_close(m->conn);
}

void gw_mconn_close_after_flush(struct gw_mconn *m)
{
    ur_conn_close_after_flush(m->conn);
}

struct ur_conn *gw_mconn_conn(const struct gw_mconn *m)
{
    return m->conn;
}

struct ur_loop *gw_mconn_loop(const struct gw_mconn *m)
{
    return ur_conn_loop(m->conn);
}

void *gw_mconn_data(const struct gw_mconn *m)
{
    return m->ud;
}

void gw_mconn_set_data(struct gw_mconn *m, void *ud)
{
    m->ud = ud;
}

void gw_mconn_set_ops(struct gw_mconn *m, const struct gw_mconn_ops *ops, void *ud)
{
    m->ops = ops;
    m->ud = ud;
}

const char *gw_mconn_peer(const struct gw_mconn *m)
{
    return m->peer;
}

void gw_mconn_get_stats(const struct gw_mconn *m, struct gw_mconn_stats *st)
{
    *st = m->stats;
}

bool gw_mconn_in_frame(const struct gw_mconn *m)
{
    return msrp_parser_in_frame(&m->parser);
}
