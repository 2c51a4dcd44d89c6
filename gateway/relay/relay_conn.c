/*
 * relay_conn.c: the relay's connections (struct rconn) on one core: made
 * for an accepted socket (its max_connections slot, adoption after
 * steering) or a next hop (relay_peer.c), their timers (resume, idle,
 * the core's sweep of bind/header/idle timeouts), and the mconn callbacks
 * that hand each frame to its owner: responses to relay_fwd.c, AUTH to
 * relay_auth.c, SEND and REPORT to relay_route.c, the rest answered 501.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/status.h"
#include "gateway/relay/relay_internal.h"
#include <unistd.h>

#include "uring/conn.h"
#include "uring/dns.h"
#include "uring/listener.h"
#include "uring/loop.h"

static void kick_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    struct rconn *rc = arg;
    rc->resume_pending = false;
    RLOG(UR_LOG_DEBUG, rc, "resume (stalled %d)", gw_mconn_stalled(rc->m));
    /* Time the sender waited for us is not its chunk's stall: its clock
     * (relay_fwd_stall_check) starts again now. */
    rc->stall_since_ns = ur_now_ns();
    if (!rc->closing)
        gw_mconn_resume(rc->m);
}

void relay_conn_drop(struct rconn *rc, enum gw_drop why)
{
    if (rc->closing)
        return;
    RLOG(why == GW_DROP_BIND_TIMEOUT || why == GW_DROP_HEADER_TIMEOUT ? UR_LOG_DEBUG : UR_LOG_INFO,
         rc, "closing %s connection: %s", rc->outgoing ? "outgoing" : "inbound",
         gw_drop_names[why]);
    if (!rc->end_reason)
        rc->end_reason = gw_drop_names[why];
    MET(rc->core, drops[why]);
    rc->closing = true; /* on_close (the cleanup) comes later */
    gw_mconn_close(rc->m);
}

void relay_conn_kick(struct rconn *rc)
{
    /* Deferred to the loop, not called in place: resuming delivers the
     * sender's held-back events at once, and doing that from inside
     * another connection's callback would nest one chunk's forwarding in
     * another's (unbounded recursion through a wait queue). */
    if (rc->resume_pending || rc->closing)
        return;
    rc->resume_pending = true;
    ur_timer_arm(rc->core->loop, &rc->kick, 0, 0);
}

/* Outgoing connections nobody used for idle_timeout are closed; one still
 * carrying a chunk, waiters or unanswered pieces is never idle. */
static void idle_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    struct rconn *rc = arg;
    uint64_t limit = (uint64_t)rc->core->r->cfg.idle_timeout_ms * 1000000u;
    uint64_t now = ur_now_ns();
    bool busy = rc->writer || rc->wq_head || rc->pieces || rc->cur;
    if (busy || now - rc->last_use_ns < limit) {
        uint64_t left = busy ? limit : limit - (now - rc->last_use_ns);
        ur_timer_arm_ns(rc->core->loop, &rc->idle, left, 0);
        return;
    }
    RLOG(UR_LOG_INFO, rc, "closing idle connection to %s", rc->key);
    MET(rc->core, drops[GW_DROP_IDLE_TIMEOUT]);
    gw_mconn_close(rc->m);
}

/*
 * The core's sweep: every period (a quarter of the shortest of the three
 * timeouts, 0.1 s to 1 s) it looks at each connection of the core, so
 * 20,000 idle connections cost one timer and a walk, not 20,000 timers.
 * Which timeout is due for rc at now (GW_DROP_N: none):
 *  - header_timeout (any connection): a header section seen in progress
 *    by the sweep at head_mark_ns and still the same frame's;
 *  - bind_timeout (inbound): first request not done since accept;
 *  - idle_timeout (inbound): no byte in or out, nothing in flight.
 * Time the relay itself stopped reading rc does not count against it --
 * unless it stopped because rc's peer does not read its answers.
 */
static enum gw_drop conn_overdue(struct rconn *rc, uint64_t now)
{
    const struct gw_relay_config *cfg = &rc->core->r->cfg;
    struct ur_conn *uc = gw_mconn_conn(rc->m);
    bool held = gw_mconn_stalled(rc->m) || ur_conn_read_paused(uc);
    if (!held && !rc->in_body && gw_mconn_in_frame(rc->m)) {
        if (!rc->head_mark_ns || rc->head_mark_frame != rc->frames) {
            rc->head_mark_ns = now;
            rc->head_mark_frame = rc->frames;
        } else if (now - rc->head_mark_ns >= (uint64_t)cfg->header_timeout_ms * 1000000u) {
            return GW_DROP_HEADER_TIMEOUT;
        }
    } else {
        rc->head_mark_ns = 0;
    }
    if (rc->outgoing)
        return GW_DROP_N; /* idle: idle_cb; bind: connect_timeout */
    if (!rc->bound)
        return now - rc->born_ns >= (uint64_t)cfg->bind_timeout_ms * 1000000u
                   ? GW_DROP_BIND_TIMEOUT : GW_DROP_N;
    if (!cfg->idle_timeout_ms)
        return GW_DROP_N;
    struct ur_conn_stats cs;
    ur_conn_get_stats(uc, &cs);
    bool busy = rc->writer || rc->wq_head || rc->pieces || rc->cur;
    /* Reading stopped because the peer does not read what we owe it
     * (mconn's output bound) is the peer's idleness, not ours. */
    bool held_by_us = held && !gw_mconn_output_blocked(rc->m);
    if (busy || held_by_us || cs.bytes_in + cs.bytes_out != rc->io_seen) {
        rc->io_seen = cs.bytes_in + cs.bytes_out;
        rc->last_use_ns = now;
        return GW_DROP_N;
    }
    return now - rc->last_use_ns >= (uint64_t)cfg->idle_timeout_ms * 1000000u
               ? GW_DROP_IDLE_TIMEOUT : GW_DROP_N;
}

void relay_conn_sweep(struct ur_timer *t, void *arg)
{
    (void)t;
    struct gw_relay_core *core = arg;
    uint64_t now = ur_now_ns();
    /* Closing only marks rc: the list stays intact until on_close. */
    for (struct rconn *rc = core->conns; rc; rc = rc->next) {
        if (rc->closing || !rc->m)
            continue;
        enum gw_drop why = conn_overdue(rc, now);
        if (why != GW_DROP_N)
            relay_conn_drop(rc, why);
    }
}

uint64_t relay_conn_sweep_period_ms(const struct gw_relay_config *cfg)
{
    uint64_t t = cfg->bind_timeout_ms < cfg->header_timeout_ms ? cfg->bind_timeout_ms
                                                                : cfg->header_timeout_ms;
    if (cfg->idle_timeout_ms && cfg->idle_timeout_ms < t)
        t = cfg->idle_timeout_ms;
    t /= 4;
    return t < 100 ? 100 : t > 1000 ? 1000 : t;
}

struct rconn *relay_conn_new(struct gw_relay_core *core, bool tls, bool outgoing)
{
    struct rconn *rc = calloc(1, sizeof(*rc));
    if (!rc)
        return NULL;
    rc->core = core;
    rc->tls = tls;
    rc->outgoing = outgoing;
    ur_timer_init(&rc->kick, kick_cb, rc);
    ur_timer_init(&rc->idle, idle_cb, rc);
    ur_timer_init(&rc->bind_timer, relay_anchor_bind_timeout, rc);
    ur_timer_init(&rc->stall, relay_fwd_stall_check, rc);
    ur_timer_init(&rc->pace, relay_limits_pace_cb, rc);
    rc->last_use_ns = ur_now_ns();
    rc->born_ns = rc->last_use_ns;
    rc->next = core->conns;
    if (rc->next)
        rc->next->prev = rc;
    core->conns = rc;
    core->nconns++;
    MET(core, conns_opened);
    MET(core, conns_current);
    return rc;
}

void relay_conn_unlist(struct rconn *rc)
{
    struct gw_relay_core *core = rc->core;
    if (rc->prev)
        rc->prev->next = rc->next;
    else
        core->conns = rc->next;
    if (rc->next)
        rc->next->prev = rc->prev;
    core->nconns--;
    MET(core, conns_closed);
    MET_SUB(core, conns_current, 1);
}

void relay_conn_on_accept(struct ur_listener *l, int fd, void *ud)
{
    (void)l;
    struct relay_listen_ctx *lc = ud;
    struct gw_relay_core *core = lc->core;
    if (fd < 0) {
        gw_log(GW_LOG_WARN, NULL, NULL, "accept failed: %s", strerror(-fd));
        return;
    }
    RSTAT(core, conns_accepted);
    /* max_connections counts every inbound connection once, over all
     * cores, from here: the slot travels with the fd through steering
     * (relay_steer.c) and belongs to its rconn once adopted. */
    if (!relay_slot_take(core->r)) {
        MET(core, drops[GW_DROP_CONN_LIMIT]);
        close(fd);
        return;
    }
    /* WebSocket: its first bytes are an HTTP Upgrade, nothing to steer
     * by; a browser AUTHs first anyway, whose reservation lives here. */
    if (lc->ws) {
        relay_adopt_ws(core, fd, lc->tls);
        return;
    }
    relay_steer(core, fd, lc->tls);
}

bool relay_slot_take(struct gw_relay *r)
{
    uint32_t max = r->cfg.max_connections;
    uint32_t n = atomic_fetch_add_explicit(&r->n_inbound, 1, memory_order_relaxed);
    if (max && n >= max) {
        atomic_fetch_sub_explicit(&r->n_inbound, 1, memory_order_relaxed);
        return false;
    }
    return true;
}

void relay_slot_release(struct gw_relay *r)
{
    atomic_fetch_sub_explicit(&r->n_inbound, 1, memory_order_relaxed);
}

/* A new inbound rconn holding the accept's slot, or NULL (slot released)
 * when the core is draining. */
static struct rconn *inbound_new(struct gw_relay_core *core, bool tls)
{
    struct rconn *rc = core->draining ? NULL : relay_conn_new(core, tls, false);
    if (!rc) {
        relay_slot_release(core->r);
        return NULL;
    }
    rc->counted = true;
    return rc;
}

/* An adopted connection that failed before use: its slot goes too. */
static void inbound_abandon(struct rconn *rc)
{
    relay_slot_release(rc->core->r);
    relay_conn_unlist(rc);
    free(rc);
}

static void adopt(struct gw_relay_core *core, int fd, bool tls, bool ws)
{
    struct rconn *rc = inbound_new(core, tls);
    if (!rc) {
        close(fd);
        return;
    }
    struct ur_tls_ctx *tls_ctx = tls ? atomic_load(&core->r->tls_server) : NULL;
    int err = gw_mconn_adopt(core->loop, fd, tls_ctx, &core->r->cfg.limits,
                             &relay_conn_ops, rc, &rc->m);
    if (err < 0) {
        inbound_abandon(rc);
        gw_log(GW_LOG_WARN, NULL, NULL, "adopting a connection failed: %s", strerror(-err));
        return;
    }
    if (ws && (err = ur_conn_ws_server(gw_mconn_conn(rc->m), &core->r->ws)) < 0) {
        gw_log(GW_LOG_WARN, NULL, NULL, "WebSocket on an adopted connection: %s",
               strerror(-err));
        gw_mconn_close(rc->m); /* its on_close frees rc, as for any adopted conn */
    }
}

void relay_adopt(struct gw_relay_core *core, int fd, bool tls) { adopt(core, fd, tls, false); }
void relay_adopt_ws(struct gw_relay_core *core, int fd, bool tls) { adopt(core, fd, tls, true); }

void relay_adopt_handoff(struct gw_relay_core *core, struct ur_handoff *h, bool tls)
{
    struct rconn *rc = inbound_new(core, tls);
    if (!rc) {
        ur_handoff_free(h);
        return;
    }
    int err = gw_mconn_adopt_handoff(core->loop, h, &core->r->cfg.limits, &relay_conn_ops, rc,
                                     &rc->m);
    if (err < 0) {
        inbound_abandon(rc);
        gw_log(GW_LOG_WARN, NULL, NULL, "adopting a connection failed: %s", strerror(-err));
    }
}

static void rc_on_open(struct gw_mconn *m, int err)
{
    struct rconn *rc = gw_mconn_data(m);
    if (err == 0) {
        rc->open = true;
        return;
    }
    if (!rc->outgoing) {
        /* An inbound TLS handshake that failed or was cut short (by one
         * of our timeouts, counted there): no next hop failed. */
        RLOG(UR_LOG_DEBUG, rc, "inbound connection not opened: %s", strerror(-err));
        return;
    }
    if (err == -EACCES && rc->dest_denied) {
        MET(rc->core, drops[GW_DROP_DEST_DENIED]);
        RLOG(UR_LOG_DEBUG, rc, "connection to %s refused: no address allowed by the destination "
             "policy", rc->key[0] ? rc->key : "peer");
        return;
    }
    rc->dest_denied = false; /* some address was allowed: an ordinary failure */
    MET(rc->core, drops[GW_DROP_NEXT_HOP_FAILED]);
    const char *dns = ur_dns_strerror(err);
    RLOG(UR_LOG_WARN, rc, "connection to %s failed: %s%s", rc->key[0] ? rc->key : "peer",
         dns ? "cannot resolve its host: " : "",
         dns ? dns : err == -EKEYREJECTED ? "its TLS certificate was not accepted" : strerror(-err));
}

static int dispatch_head(struct rconn *rc, const struct msrp_head *h);

static int rc_on_head(struct gw_mconn *m, const struct msrp_head *h)
{
    struct rconn *rc = gw_mconn_data(m);
    rc->cur_ignore = true;
    rc->pace_on = false;
    if (!rc->head_again)
        rc->frames++; /* not twice for a head delivered again */
    rc->head_again = false;
    rc->memo_sid = NULL; /* relay_session_owner: a new head */
    rc->in_body = true;
    rc->last_use_ns = ur_loop_turn_ns(rc->core->loop);
    int r = dispatch_head(rc, h);
    /* The first request done: a reservation, a routed chunk, a leg. */
    if (!rc->bound && (rc->authed || rc->cur || rc->leg))
        rc->bound = true;
    return r;
}

static int dispatch_head(struct rconn *rc, const struct msrp_head *h)
{
    if (h->kind == MSRP_RESPONSE) {
        if (!relay_anchor_bind_response(rc, h))
            relay_fwd_response(rc, h);
        return GW_MCONN_CONTINUE;
    }
    switch (h->method) {
    case MSRP_M_AUTH:
        return relay_auth(rc, h);
    case MSRP_M_SEND:
        if (relay_limits_refuse(rc, h))
            return GW_MCONN_CONTINUE;
        return relay_route(rc, h);
    case MSRP_M_REPORT:
        return relay_route(rc, h);
    default:
        relay_respond(rc, h, 501, msrp_status_phrase(501), NULL);
        return GW_MCONN_CONTINUE;
    }
}

static int rc_on_body(struct gw_mconn *m, const struct msrp_head *h, const char *p, size_t n,
                      uint64_t off, struct ur_buf *buf)
{
    (void)h;
    (void)off;
    struct rconn *rc = gw_mconn_data(m);
    if (rc->cur_ignore)
        return GW_MCONN_CONTINUE;
    int r = relay_fwd_body(rc, p, n, buf);
    return rc->pace_on ? relay_limits_pace(rc, n, r) : r; /* session_bandwidth */
}

static int rc_on_end(struct gw_mconn *m, const struct msrp_head *h, char flag)
{
    (void)h;
    struct rconn *rc = gw_mconn_data(m);
    rc->in_body = false;
    if (rc->cur_ignore)
        return GW_MCONN_CONTINUE;
    return relay_fwd_end(rc, flag);
}

static void rc_on_error(struct gw_mconn *m, int err, uint64_t off, const struct msrp_head *h)
{
    (void)h;
    struct rconn *rc = gw_mconn_data(m);
    struct gw_mconn_stats st;
    MET(rc->core, drops[GW_DROP_PARSE_ERROR]);
    gw_mconn_get_stats(m, &st);
    if (st.error_answers) /* mconn answered the frame with a 400 */
        MET(rc->core, resp_sent[gw_status_index(400)]);
    RLOG(UR_LOG_WARN, rc, "framing error %s at offset %llu: closing", msrp_strerror(err),
         (unsigned long long)off);
}

static void rc_on_drain(struct gw_mconn *m)
{
    relay_fwd_drained(gw_mconn_data(m));
}

static void rc_on_close(struct gw_mconn *m, int err)
{
    struct rconn *rc = gw_mconn_data(m);
    struct gw_relay_core *core = rc->core;
    rc->closing = true;
    struct ur_conn_stats cs;
    ur_conn_get_stats(gw_mconn_conn(m), &cs);
    RLOG(UR_LOG_DEBUG, rc, "closed after %llu frames: %llu bytes in, %llu out, queued at most %zu",
         (unsigned long long)rc->frames, (unsigned long long)cs.bytes_in,
         (unsigned long long)cs.bytes_out, cs.pending_max);
    if (err == -ENOBUFS) {
        /* uring/conn.h: the peer left more than conn_output_hard_limit unread. */
        MET(core, drops[GW_DROP_OUTPUT_OVERFLOW]);
        RLOG(UR_LOG_INFO, rc, "closed: %zu bytes queued for a peer that does not read",
             cs.pending_max);
    } else if (err < 0) {
        RSTAT(core, conn_errors);
        RLOG(UR_LOG_INFO, rc, "connection closed: %s", strerror(-err));
    }
    if (!rc->end_reason && err < 0)
        rc->end_reason = err == -ENOBUFS ? gw_drop_names[GW_DROP_OUTPUT_OVERFLOW] : "error";
    relay_anchor_conn_closed(rc);
    relay_fwd_conn_closed(rc);
    relay_unbind_session(rc);
    relay_learn_forget(rc);
    if (rc->in_peers)
        relay_table_del(&core->peers, &rc->peer_node);
    ur_timer_cancel(core->loop, &rc->kick);
    ur_timer_cancel(core->loop, &rc->idle);
    ur_timer_cancel(core->loop, &rc->bind_timer);
    ur_timer_cancel(core->loop, &rc->stall);
    ur_timer_cancel(core->loop, &rc->pace);
    if (rc->counted)
        relay_slot_release(core->r);
    relay_conn_unlist(rc);
    free(rc);
}

const struct gw_mconn_ops relay_conn_ops = {
    .on_open = rc_on_open,
    .on_head = rc_on_head,
    .on_body = rc_on_body,
    .on_end = rc_on_end,
    .on_error = rc_on_error,
    .on_drain = rc_on_drain,
    .on_close = rc_on_close,
};
