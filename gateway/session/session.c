/*
 * session.c: a session's lifetime: creation with the config's defaults,
 * readiness, failure, drain and close, and the small accessors of
 * session.h. What it receives is session_in.c's, what it sends
 * session_tx.c's, its outgoing queue filequeue.c's; how the connection is
 * obtained is endpoint.c's and relayconn.c's. Contract in session.h.
 *
 * Lifetime: the session owns its mconn. When the mconn closes, every
 * transaction, queued message and incoming message is finished with
 * GW_CODE_CLOSED, then on_close runs; the struct itself is freed once no
 * file read still targets one of its buffers.
 */
#include "gateway/session/session_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uring/conn.h"
#include "uring/loop.h"
#include "uring/tls.h"

void gw_session_config_default(struct gw_session_config *c)
{
    memset(c, 0, sizeof(*c));
    c->chunk_size = 65536;
    c->window = 8;
    c->response_timeout_ms = 30000;
    c->bind_timeout_ms = 30000;
    c->max_in_messages = 16;
}

static void session_close_cb(struct ur_timer *t, void *arg);
static void session_bind_timeout(struct ur_timer *t, void *arg);

int gw_session_new(struct ur_loop *loop, const struct gw_session_config *cfg,
                   const struct gw_session_ops *ops, void *ud, struct gw_session **out)
{
    struct gw_session *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    if (cfg)
        s->cfg = *cfg;
    else
        gw_session_config_default(&s->cfg);
    /* Zero fields mean defaults, so a partly filled config works. */
    struct gw_session_config d;
    gw_session_config_default(&d);
    if (!s->cfg.chunk_size)
        s->cfg.chunk_size = d.chunk_size;
    if (!s->cfg.window)
        s->cfg.window = d.window;
    if (!s->cfg.response_timeout_ms)
        s->cfg.response_timeout_ms = d.response_timeout_ms;
    if (!s->cfg.bind_timeout_ms)
        s->cfg.bind_timeout_ms = d.bind_timeout_ms;
    if (!s->cfg.max_in_messages)
        s->cfg.max_in_messages = d.max_in_messages;
    if (s->cfg.chunk_size > (64u << 20))
        s->cfg.chunk_size = 64u << 20;
    if (s->cfg.accept_types) {
        if (strlen(s->cfg.accept_types) >= sizeof(s->accept_types)) {
            free(s);
            return -E2BIG;
        }
        strcpy(s->accept_types, s->cfg.accept_types);
    }
    s->cfg.accept_types = s->accept_types;
    s->in = calloc(s->cfg.max_in_messages, sizeof(*s->in));
    s->free_bufs = calloc(s->cfg.window, sizeof(*s->free_bufs));
    if (!s->in || !s->free_bufs) {
        free(s->in);
        free(s->free_bufs);
        free(s);
        return -ENOMEM;
    }
    s->loop = loop;
    s->ops = ops;
    s->ud = ud;
    ur_timer_init(&s->bind_timer, session_bind_timeout, s);
    ur_timer_init(&s->close_timer, session_close_cb, s);
    *out = s;
    return 0;
}

void gw_session_slog(struct gw_session *s, enum gw_slog kind, const char *fmt, ...)
{
    if (!s->logfn)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    struct gw_slog_event ev = { .kind = kind, .p = msg,
                                .n = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1 };
    s->logfn(s, &ev, s->logud);
}

void gw_session_next_tid(struct gw_session *s, char tid[GW_TID_LEN])
{
    if (msrp_tid_gen_next(&s->tidgen, tid, GW_TID_LEN) != 0) {
        /* No random source: ids must still differ per transaction. */
        static unsigned long ctr;
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "x%015lu", ++ctr);
        memcpy(tid, tmp, GW_TID_LEN);
    }
}

int gw_session_hook_add(struct gw_session *s, const struct gw_session_hook *h)
{
    for (unsigned i = 0; i < s->n_hooks; i++)
        if (s->hooks[i] == h)
            return 0;
    if (s->n_hooks == GW_SESSION_HOOKS)
        return -ENOSPC;
    s->hooks[s->n_hooks++] = h;
    return 0;
}

/* ---- readiness, failure, close ---- */

void gw_session_set_ready(struct gw_session *s, int err)
{
    if (err == 0) {
        s->state = GW_S_BOUND;
        ur_timer_cancel(s->loop, &s->bind_timer);
    }
    if (s->ready_done)
        return;
    s->ready_done = true;
    if (s->ops->on_ready)
        s->ops->on_ready(s, err);
}

static void session_free(struct gw_session *s)
{
    for (unsigned i = 0; i < s->n_free_bufs; i++)
        free(s->free_bufs[i]);
    free(s->free_bufs);
    free(s->in);
    GW_SESSION_HOOKS_CALL(s, detach, s);
    free(s);
}

/* Everything ends here, with or without a connection. */
void gw_session_finalize(struct gw_session *s, int err)
{
    if (s->state == GW_S_CLOSED)
        return;
    s->state = GW_S_CLOSED;
    s->closing = true;
    ur_timer_cancel(s->loop, &s->bind_timer);
    ur_timer_cancel(s->loop, &s->close_timer);
    GW_SESSION_HOOKS_CALL(s, detach, s);
    /* Outstanding transactions: their sends already failed (the mconn
     * cancels queued sends before on_close), so only timers remain. */
    for (struct gw_tx *tx = s->txs, *next; tx; tx = next) {
        next = tx->next;
        ur_timer_cancel(s->loop, &tx->timer);
        tx->sending = false;
        gw_tx_resolve(tx, GW_CODE_CLOSED);
        tx->resolved = true;
        gw_tx_maybe_free(tx); /* kept while its file read runs */
    }
    GW_SESSION_HOOKS_CALL(s, on_abort, s, GW_CODE_CLOSED);
    for (unsigned i = 0; i < s->cfg.max_in_messages; i++) {
        struct gw_in_slot *sl = &s->in[i];
        if (!sl->used)
            continue;
        sl->used = false;
        if (s->ops->on_message_end)
            s->ops->on_message_end(s, &sl->m, GW_CODE_CLOSED);
    }
    if (!s->ready_done)
        gw_session_set_ready(s, err ? err : -ECONNRESET);
    if (s->ops->on_close)
        s->ops->on_close(s, err);
    if (s->reads == 0)
        session_free(s);
}

/* A file read finished after the session closed. */
void gw_session_read_done(struct gw_session *s)
{
    s->reads--;
    if (s->state == GW_S_CLOSED && s->reads == 0)
        session_free(s);
}

static void session_close_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    struct gw_session *s = arg;
    if (!s->m) {
        gw_session_finalize(s, s->close_err);
    } else if (!s->flush_closing) {
        /* Let queued responses out (the 200 to a '#' chunk, a 481...),
         * but never wait long for a peer that does not read. */
        s->flush_closing = true;
        gw_mconn_close_after_flush(s->m);
        ur_timer_arm(s->loop, &s->close_timer, 2000, 0);
    } else {
        gw_mconn_close(s->m);
    }
}

void gw_session_fail(struct gw_session *s, int err)
{
    if (s->state == GW_S_CLOSED)
        return;
    if (!s->close_err)
        s->close_err = err;
    s->closing = true;
    if (!s->ready_done)
        gw_session_set_ready(s, err);
    /* Deferred: callers are often deep inside mconn callbacks. */
    ur_timer_arm(s->loop, &s->close_timer, 0, 0);
}

static void session_bind_timeout(struct ur_timer *t, void *arg)
{
    (void)t;
    struct gw_session *s = arg;
    gw_session_slog(s, GW_SLOG_ERROR, "not bound within %u ms", s->cfg.bind_timeout_ms);
    gw_session_fail(s, -ETIMEDOUT);
}

/* Drain finished? Then close after the last bytes left. */
void gw_session_maybe_finish(struct gw_session *s)
{
    if (!s->draining || s->state == GW_S_CLOSED || s->q_head)
        return;
    for (struct gw_tx *tx = s->txs; tx; tx = tx->next)
        if (!tx->resolved || tx->sending)
            return;
    if (s->m && !s->flush_closing) {
        s->flush_closing = true;
        gw_mconn_close_after_flush(s->m);
        ur_timer_arm(s->loop, &s->close_timer, 2000, 0); /* a peer that never reads */
    } else if (!s->m) {
        ur_timer_arm(s->loop, &s->close_timer, 0, 0);
    }
}

void gw_session_shutdown(struct gw_session *s, bool drain)
{
    if (s->state == GW_S_CLOSED)
        return;
    if (drain && s->state == GW_S_BOUND) {
        s->draining = true;
        gw_session_maybe_finish(s);
        return;
    }
    s->closing = true;
    GW_SESSION_HOOKS_CALL(s, on_abort, s, GW_CODE_ABORTED);
    ur_timer_arm(s->loop, &s->close_timer, 0, 0);
}

/* ---- misc API ---- */

void gw_session_resume(struct gw_session *s)
{
    if (s->m)
        gw_mconn_resume(s->m);
}

const char *gw_session_local_uri(const struct gw_session *s)
{
    return s->local.text;
}

const char *gw_session_local_path(const struct gw_session *s)
{
    return s->local_full.n ? s->local_full.text : s->local.text;
}

const char *gw_session_remote_path(const struct gw_session *s)
{
    return s->remote.text;
}

void *gw_session_data(const struct gw_session *s)
{
    return s->ud;
}

void gw_session_set_log(struct gw_session *s, gw_session_log_fn fn, void *ud)
{
    s->logfn = fn;
    s->logud = ud;
}

struct ur_loop *gw_session_loop(const struct gw_session *s)
{
    return s->loop;
}

unsigned gw_session_queued(const struct gw_session *s)
{
    return s->n_queued;
}

int gw_session_tls_resumed(const struct gw_session *s)
{
    struct ur_conn *c = s->m ? gw_mconn_conn(s->m) : NULL;
    return c ? ur_conn_tls_resumed(c) : 0;
}

int gw_session_last_code(const struct gw_session *s)
{
    return s->last_code;
}
