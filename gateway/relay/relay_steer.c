/*
 * relay_steer.c: puts each accepted connection on the core that owns the
 * session its first frame is for.
 *
 * SO_REUSEPORT spreads connections over cores at random, but the session a
 * sender wants lives on the core where its receiver AUTHed (the first
 * character of the session id says which). The first frame's header
 * section decides: a SEND/REPORT whose To-Path starts with our URI goes to
 * that session's core; anything else (AUTH, unparsable bytes, a head
 * larger than max_header_bytes, nothing within steer_max_ms) stays where
 * it was accepted. Later frames of a connection are not steered: a
 * connection serves the sessions of one core (see relay_peer_get for how
 * outgoing connections respect that).
 *
 * An accepted connection holds a slot of max_connections (relay.c,
 * relay_slot_take) from accept on: adopting it, here or on the owner core,
 * passes the slot to the rconn; a connection that ends while being
 * steered releases it.
 *
 * Plain TCP is decided before the connection is wrapped: the relay peeks
 * (MSG_PEEK, nothing consumed) at the first frame, on a short timer (1 ms,
 * doubling to 16 ms) until its head is in, and posts the bare fd to the
 * owner core, which adopts it as if it had accepted it. The bytes are
 * still in the kernel's socket buffer: nothing is lost or copied.
 *
 * TLS bytes are ciphertext until the handshake is done, so a TLS
 * connection is wrapped here first: the handshake runs on the accepting
 * core and the plaintext of the first frame's head is collected (not
 * parsed as MSRP yet). Once it decides, the connection is detached
 * (ur_conn_detach: socket, wolfSSL state and every unread byte) and
 * adopted by the owner core -- or by this one -- with the collected
 * plaintext replayed in front, so the relay sees the stream from byte 0.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/relay/relay_internal.h"
#include "uring/conn.h"
#include "uring/loop.h"

#define STEER_MAX_MS 2000

struct steer {
    struct gw_relay_core *core;
    struct steer *prev, *next; /* core->steer_list */
    int fd;
    bool tls;
    unsigned delay_ms;
    uint64_t deadline_ns;
    struct ur_timer t;
};

struct steer_post {
    int fd;
    bool tls;
    struct ur_handoff *h;       /* TLS: a detached connection, else NULL */
};

/* A TLS connection whose first frame's head is being collected. */
struct tsteer {
    struct gw_relay_core *core;
    struct tsteer *prev, *next; /* core->tsteer_list */
    struct ur_conn *c;
    char *buf;                  /* plaintext received so far */
    size_t n;
    bool detaching;
    int owner;
    struct ur_timer t;          /* steer_max_ms from accept */
};

/* The core that owns the first frame in p[0..n): -1 when its header
 * section is not complete yet (and n < cap), else a core index. */
static int decide_bytes(struct gw_relay_core *core, const char *p, size_t n, size_t cap)
{
    struct msrp_parser ps;
    if (msrp_parser_init(&ps, &core->r->cfg.limits, core->peek_head, core->peek_scratch,
                         core->r->cfg.limits.max_header_bytes) != 0)
        return (int)core->idx;
    size_t left = n;
    for (;;) {
        struct msrp_event ev;
        size_t used = msrp_parse(&ps, p, left, &ev);
        p += used;
        left -= used;
        if (ev.type == MSRP_EV_NONE)
            return n >= cap ? (int)core->idx : -1;
        if (ev.type == MSRP_EV_ERROR)
            return (int)core->idx;
        if (ev.type != MSRP_EV_HEADERS_END)
            continue;
        const struct msrp_head *h = ev.head;
        if (h->kind != MSRP_REQUEST || (h->method != MSRP_M_SEND && h->method != MSRP_M_REPORT) ||
            h->n_to_path == 0)
            return (int)core->idx;
        int owner = gw_relay_sessid_core(h->to_path[0].session_id, core->r->ncores);
        return owner >= 0 && relay_is_self(core, &h->to_path[0]) ? owner : (int)core->idx;
    }
}

/* Plain: peeks at the socket. -1: undecided; else the core to adopt on. */
static int steer_decide(struct gw_relay_core *core, int fd, bool *eof)
{
    size_t cap = core->r->cfg.limits.max_header_bytes;
    ssize_t n = recv(fd, core->peek_buf, cap, MSG_PEEK | MSG_DONTWAIT);
    *eof = n == 0;
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : (int)core->idx;
    if (n == 0)
        return (int)core->idx;
    return decide_bytes(core, core->peek_buf, (size_t)n, cap);
}

static void tsteer_free(struct tsteer *ts);

static void adopt_here(struct gw_relay_core *core, const struct steer_post *sp)
{
    if (sp->h)
        relay_adopt_handoff(core, sp->h, sp->tls);
    else
        relay_adopt(core, sp->fd, sp->tls);
}

static void adopt_cb(struct ur_loop *loop, void *arg)
{
    struct steer_post *sp = arg;
    adopt_here(ur_loop_data(loop), sp);
    free(sp);
}

/* Adopts here, or posts the fd to its owner core. */
/* Adopts the connection (a bare fd, or a detached TLS one) here, or posts
 * it to its owner core. */
static void steer_to(struct gw_relay_core *core, struct steer_post what, int owner)
{
    if (owner < 0 || (unsigned)owner == core->idx || !core->r->cores[owner]) {
        adopt_here(core, &what);
        return;
    }
    struct steer_post *sp = malloc(sizeof(*sp));
    if (sp)
        *sp = what;
    if (!sp || ur_loop_post(core->r->cores[owner]->loop, adopt_cb, sp) != 0) {
        free(sp);
        adopt_here(core, &what);
        return;
    }
    RSTAT(core, handovers);
}

static void steer_unlist(struct steer *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else
        st->core->steer_list = st->next;
    if (st->next)
        st->next->prev = st->prev;
    st->core->steering--;
}

void relay_steer_abort_all(struct gw_relay_core *core)
{
    while (core->tsteer_list) {
        struct tsteer *ts = core->tsteer_list;
        ur_conn_set_data(ts->c, NULL); /* its on_close finds nothing to free */
        ur_conn_close(ts->c);
        tsteer_free(ts);
        relay_slot_release(core->r);
    }
    while (core->steer_list) {
        struct steer *st = core->steer_list;
        ur_timer_cancel(core->loop, &st->t);
        steer_unlist(st);
        close(st->fd);
        free(st);
        relay_slot_release(core->r);
    }
}

static void steer_retry(struct ur_timer *t, void *arg)
{
    (void)t;
    struct steer *st = arg;
    struct gw_relay_core *core = st->core;
    bool eof = false;
    int owner = steer_decide(core, st->fd, &eof);
    if (owner < 0 && ur_now_ns() < st->deadline_ns) {
        if (st->delay_ms < 16)
            st->delay_ms *= 2;
        ur_timer_arm(core->loop, &st->t, st->delay_ms, 0);
        return;
    }
    steer_unlist(st);
    steer_to(core, (struct steer_post){.fd = st->fd, .tls = st->tls}, owner);
    free(st);
}

/* ---- TLS: collect the first head's plaintext, then detach ---- */

static void tsteer_free(struct tsteer *ts)
{
    struct gw_relay_core *core = ts->core;
    ur_timer_cancel(core->loop, &ts->t);
    if (ts->prev)
        ts->prev->next = ts->next;
    else
        core->tsteer_list = ts->next;
    if (ts->next)
        ts->next->prev = ts->prev;
    core->steering--;
    free(ts->buf);
    free(ts);
}

static void tsteer_detached(struct ur_conn *c, struct ur_handoff *h, void *arg)
{
    (void)c;
    struct tsteer *ts = arg;
    struct gw_relay_core *core = ts->core;
    int owner = ts->owner;
    tsteer_free(ts);
    steer_to(core, (struct steer_post){.fd = -1, .tls = true, .h = h}, owner);
}

static void tsteer_go(struct tsteer *ts, int owner)
{
    if (ts->detaching)
        return;
    ts->detaching = true;
    ts->owner = owner;
    ur_timer_cancel(ts->core->loop, &ts->t);
    int err = ur_conn_detach(ts->c, ts->buf, ts->n, tsteer_detached, ts);
    if (err < 0) {
        gw_log(GW_LOG_WARN, NULL, NULL, "steering a TLS connection failed: %s", strerror(-err));
        ur_conn_close(ts->c);
    }
}

static void tsteer_data(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf)
{
    (void)buf;
    struct tsteer *ts = ur_conn_data(c);
    if (ts->detaching)
        return; /* not reached: detaching stops delivery */
    char *nb = realloc(ts->buf, ts->n + n);
    if (!nb) {
        ur_conn_close(c);
        return;
    }
    memcpy(nb + ts->n, p, n);
    ts->buf = nb;
    ts->n += n;
    int owner = decide_bytes(ts->core, ts->buf, ts->n, ts->core->r->cfg.limits.max_header_bytes);
    if (owner >= 0)
        tsteer_go(ts, owner);
}

static void tsteer_close(struct ur_conn *c, int err)
{
    struct tsteer *ts = ur_conn_data(c);
    if (!ts)
        return;
    if (err)
        gw_log(GW_LOG_DEBUG, NULL, NULL, "TLS connection closed before its first frame: %s",
               strerror(-err));
    relay_slot_release(ts->core->r);
    tsteer_free(ts);
}

static const struct ur_conn_ops tsteer_ops = {.on_data = tsteer_data, .on_close = tsteer_close};

/* Nothing decisive within steer_max_ms (handshake included): the
 * connection stays here, the relay's own limits take over. */
static void tsteer_timeout(struct ur_timer *t, void *arg)
{
    (void)t;
    struct tsteer *ts = arg;
    tsteer_go(ts, (int)ts->core->idx);
}

static void tsteer_start(struct gw_relay_core *core, int fd)
{
    struct ur_tls_ctx *tls_ctx = atomic_load(&core->r->tls_server);
    struct tsteer *ts = calloc(1, sizeof(*ts));
    if (!ts || !tls_ctx) {
        free(ts);
        relay_adopt(core, fd, true);
        return;
    }
    ts->core = core;
    int err = ur_conn_adopt(core->loop, fd, tls_ctx, &tsteer_ops, ts, &ts->c);
    if (err < 0) {
        free(ts);
        relay_slot_release(core->r);
        gw_log(GW_LOG_WARN, NULL, NULL, "adopting a TLS connection failed: %s", strerror(-err));
        return;
    }
    ur_timer_init(&ts->t, tsteer_timeout, ts);
    ur_timer_arm(core->loop, &ts->t, STEER_MAX_MS, 0);
    core->steering++;
    ts->next = core->tsteer_list;
    if (ts->next)
        ts->next->prev = ts;
    core->tsteer_list = ts;
}

void relay_steer(struct gw_relay_core *core, int fd, bool tls)
{
    if (core->r->ncores == 1 || !core->peek_buf) {
        relay_adopt(core, fd, tls);
        return;
    }
    if (tls) {
        tsteer_start(core, fd);
        return;
    }
    bool eof = false;
    int owner = steer_decide(core, fd, &eof);
    if (owner >= 0) {
        steer_to(core, (struct steer_post){.fd = fd, .tls = tls}, owner);
        return;
    }
    struct steer *st = calloc(1, sizeof(*st));
    if (!st) {
        relay_adopt(core, fd, tls);
        return;
    }
    st->core = core;
    st->fd = fd;
    st->tls = tls;
    st->delay_ms = 1;
    st->deadline_ns = ur_now_ns() + (uint64_t)STEER_MAX_MS * 1000000u;
    ur_timer_init(&st->t, steer_retry, st);
    core->steering++;
    st->next = core->steer_list;
    if (st->next)
        st->next->prev = st;
    core->steer_list = st;
    ur_timer_arm(core->loop, &st->t, st->delay_ms, 0);
}
