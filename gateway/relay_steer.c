/*
 * relay_steer.c: puts each accepted connection on the core that owns the
 * session its first frame is for, before anything of it is read.
 *
 * SO_REUSEPORT spreads connections over cores at random, but the session a
 * sender wants lives on the core where its receiver AUTHed (the first
 * character of the session id says which). Moving a connection once it is
 * wrapped in a ur_conn would mean taking back bytes already received and
 * receives already in flight, so the relay decides before wrapping: it
 * peeks (MSG_PEEK, nothing consumed) at the first frame's header section,
 * parses it with a throwaway parser, and posts the bare fd to the owner
 * core, which adopts it as if it had accepted it. The bytes are still in
 * the kernel's socket buffer, so nothing is lost or copied.
 *
 * A frame that has not fully arrived is peeked again on a short timer
 * (1 ms, doubling to 16 ms) for at most steer_max_ms; after that, or for
 * anything that is not a SEND/REPORT to another core's session (AUTH,
 * unparsable bytes, a head larger than the peek buffer), the connection
 * stays where it was accepted. TLS connections cannot be peeked at (the
 * bytes are ciphertext): they stay on their accepting core, so a TLS
 * sender reaches only that core's sessions (it gets 481 otherwise).
 * Later frames of a connection are not steered: a connection serves the
 * sessions of one core (see relay_peer_get for how outgoing connections
 * respect that).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/relay_internal.h"
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
};

/* -1: undecided (need more bytes); else the core to adopt on. */
static int steer_decide(struct gw_relay_core *core, int fd, bool *eof)
{
    size_t cap = core->r->cfg.limits.max_header_bytes;
    ssize_t n = recv(fd, core->peek_buf, cap, MSG_PEEK | MSG_DONTWAIT);
    *eof = n == 0;
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : (int)core->idx;
    if (n == 0)
        return (int)core->idx;
    struct msrp_parser p;
    if (msrp_parser_init(&p, &core->r->cfg.limits, core->peek_head, core->peek_scratch, cap) != 0)
        return (int)core->idx;
    const char *s = core->peek_buf;
    size_t left = (size_t)n;
    for (;;) {
        struct msrp_event ev;
        size_t used = msrp_parse(&p, s, left, &ev);
        s += used;
        left -= used;
        if (ev.type == MSRP_EV_NONE)
            return (size_t)n >= cap ? (int)core->idx : -1;
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

static void adopt_cb(struct ur_loop *loop, void *arg)
{
    struct steer_post *sp = arg;
    struct gw_relay_core *core = ur_loop_data(loop);
    relay_adopt(core, sp->fd, sp->tls);
    free(sp);
}

/* Adopts here, or posts the fd to its owner core. */
static void steer_to(struct gw_relay_core *core, int fd, bool tls, int owner)
{
    if (owner < 0 || (unsigned)owner == core->idx || !core->r->cores[owner]) {
        relay_adopt(core, fd, tls);
        return;
    }
    struct steer_post *sp = malloc(sizeof(*sp));
    if (sp) {
        sp->fd = fd;
        sp->tls = tls;
    }
    if (!sp || ur_loop_post(core->r->cores[owner]->loop, adopt_cb, sp) != 0) {
        free(sp);
        relay_adopt(core, fd, tls);
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
    while (core->steer_list) {
        struct steer *st = core->steer_list;
        ur_timer_cancel(core->loop, &st->t);
        steer_unlist(st);
        close(st->fd);
        free(st);
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
    steer_to(core, st->fd, st->tls, owner);
    free(st);
}

void relay_steer(struct gw_relay_core *core, int fd, bool tls)
{
    if (tls || core->r->ncores == 1 || !core->peek_buf) {
        relay_adopt(core, fd, tls);
        return;
    }
    bool eof = false;
    int owner = steer_decide(core, fd, &eof);
    if (owner >= 0) {
        steer_to(core, fd, tls, owner);
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
