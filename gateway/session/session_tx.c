/*
 * session_tx.c: what a session sends: chunk buffers (recycled up to the
 * window), transactions (a tid, a response timeout, the outcome handed to
 * the file queue or the binding), SEND frames built around a body already
 * in place, and the connector's binding SEND (RFC 4975 section 5.4).
 */
#include "gateway/session/session_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/writer.h"
#include "uring/conn.h"
#include "uring/loop.h"

/* ---- buffers ---- */

uint8_t *gw_tx_alloc_buf(struct gw_session *s)
{
    if (s->n_free_bufs)
        return s->free_bufs[--s->n_free_bufs];
    return malloc(GW_HEAD_RESERVE + (size_t)s->cfg.chunk_size + GW_TAIL_RESERVE);
}

void gw_tx_free_buf(struct gw_session *s, uint8_t *buf)
{
    if (!buf)
        return;
    if (s->n_free_bufs < s->cfg.window)
        s->free_bufs[s->n_free_bufs++] = buf;
    else
        free(buf);
}

/*
 * A buffer for a frame of at most need bytes. Chunk buffers (above) serve
 * every frame they can hold: a malloc per SEND of 5 to 14 KiB (the head
 * reserve is 5 KiB) took jemalloc's slow path each time, about 2,100
 * instructions per chunk with its free (callgrind, perf/load_cost.sh).
 */
static uint8_t *frame_buf_get(struct gw_session *s, size_t need, bool *pooled)
{
    *pooled = need <= GW_HEAD_RESERVE + (size_t)s->cfg.chunk_size + GW_TAIL_RESERVE;
    return *pooled ? gw_tx_alloc_buf(s) : malloc(need);
}

static void frame_buf_put(struct gw_session *s, uint8_t *buf, bool pooled)
{
    if (pooled)
        gw_tx_free_buf(s, buf);
    else
        free(buf);
}

/* ---- transactions ---- */

static void tx_timeout(struct ur_timer *t, void *arg);

struct gw_tx *gw_tx_new(struct gw_session *s, enum gw_tx_kind kind, enum msrp_report fr)
{
    struct gw_tx *tx = calloc(1, sizeof(*tx));
    if (!tx)
        return NULL;
    tx->s = s;
    tx->kind = kind;
    tx->fr = fr;
    gw_session_next_tid(s, tx->tid);
    ur_timer_init(&tx->timer, tx_timeout, tx);
    tx->next = s->txs;
    if (s->txs)
        s->txs->prev = tx;
    s->txs = tx;
    return tx;
}

void gw_tx_maybe_free(struct gw_tx *tx)
{
    struct gw_session *s = tx->s;
    if (tx->sending || tx->reading || !tx->resolved || ur_timer_armed(&tx->timer))
        return;
    if (tx->prev)
        tx->prev->next = tx->next;
    else
        s->txs = tx->next;
    if (tx->next)
        tx->next->prev = tx->prev;
    frame_buf_put(s, tx->buf, tx->kind == GW_TX_CHUNK || tx->buf_pooled);
    free(tx);
}

/* Delivers the outcome of tx once. */
void gw_tx_resolve(struct gw_tx *tx, int code)
{
    struct gw_session *s = tx->s;
    if (tx->resolved)
        return;
    tx->resolved = true;
    if (tx->holds_slot) {
        tx->holds_slot = false;
        s->slots--;
    }
    switch (tx->kind) {
    case GW_TX_CHUNK:
        GW_SESSION_HOOKS_CALL(s, on_chunk_done, s, tx, code);
        break;
    case GW_TX_USER:
        if (tx->resp)
            tx->resp(s, code, tx->resp_arg);
        break;
    case GW_TX_AUTH:
        break;
    }
}

static void tx_timeout(struct ur_timer *t, void *arg)
{
    (void)t;
    struct gw_tx *tx = arg;
    struct gw_session *s = tx->s;
    if (!tx->resolved) {
        gw_session_slog(s, GW_SLOG_WARN, "no response to transaction %.*s within %u ms: 408",
                        GW_TID_LEN, tx->tid, s->cfg.response_timeout_ms);
        if (tx->kind == GW_TX_AUTH) {
            tx->resolved = true;
            gw_session_fail(s, -ETIMEDOUT);
        } else {
            gw_tx_resolve(tx, GW_CODE_TIMEOUT);
        }
    }
    gw_tx_maybe_free(tx);
    GW_SESSION_HOOKS_CALL(s, on_room, s);
    gw_session_maybe_finish(s);
}

static void tx_send_done(struct ur_conn *c, void *arg, int err)
{
    (void)c;
    struct gw_tx *tx = arg;
    struct gw_session *s = tx->s;
    tx->sending = false;
    frame_buf_put(s, tx->buf, tx->kind == GW_TX_CHUNK || tx->buf_pooled);
    tx->buf = NULL;
    if (err) {
        ur_timer_cancel(s->loop, &tx->timer);
        gw_tx_resolve(tx, GW_CODE_CLOSED);
    } else if (tx->fr == MSRP_REPORT_NO || tx->fr == MSRP_REPORT_PARTIAL) {
        /* No 200 will come: sent is success (partial keeps its timer to
         * recognise a late error response). */
        gw_tx_resolve(tx, GW_CODE_OK);
    }
    gw_tx_maybe_free(tx);
    if (s->state != GW_S_CLOSED) {
        GW_SESSION_HOOKS_CALL(s, on_room, s);
        gw_session_maybe_finish(s);
    }
}

int gw_tx_send(struct gw_tx *tx, uint8_t *buf, const void *p, size_t n)
{
    struct gw_session *s = tx->s;
    tx->buf = buf;
    if (!s->m)
        return -ENOTCONN;
    int rc = gw_mconn_send(s->m, p, n, tx_send_done, tx);
    if (rc < 0) {
        tx->buf = NULL;
        return rc;
    }
    tx->sending = true;
    if (tx->fr != MSRP_REPORT_NO)
        ur_timer_arm(s->loop, &tx->timer, s->cfg.response_timeout_ms, 0);
    return 0;
}

struct gw_tx *gw_tx_find(struct gw_session *s, struct msrp_slice tid)
{
    if (tid.n != GW_TID_LEN)
        return NULL;
    for (struct gw_tx *tx = s->txs; tx; tx = tx->next)
        if (memcmp(tx->tid, tid.p, GW_TID_LEN) == 0)
            return tx;
    return NULL;
}

/* ---- building SEND frames ---- */

/* gw_session_send_chunk_static sends bodies from this size on by reference. */
#define GW_STATIC_MIN 4096

/*
 * Writes a SEND around the body already at buf + GW_HEAD_RESERVE (n bytes):
 * the head right before it, the end-line right after, so the frame is one
 * contiguous send. Picks a new tid while the body contains the end-line.
 */
/* The head of a SEND carrying body[0..n), into head (GW_HEAD_RESERVE
 * bytes), with a tid whose end-line the body does not contain (a new one
 * is picked while it does). Returns its length or a negative errno. */
static int write_send_head(struct gw_session *s, const char *body, size_t n,
                           char tid[GW_TID_LEN], const char *message_id,
                           const struct msrp_byte_range *br, const char *ctype,
                           enum msrp_report fr, enum msrp_report sr, char *head)
{
    for (int tries = 0;; tries++) {
        if (msrp_body_check(body, n, msrp_slice(tid, GW_TID_LEN)) == 0)
            break;
        if (tries > 16)
            return -EIO;
        gw_session_next_tid(s, tid);
    }
    struct msrp_frame f;
    memset(&f, 0, sizeof(f));
    f.kind = MSRP_REQUEST;
    f.method = MSRP_M_SEND;
    f.tid = msrp_slice(tid, GW_TID_LEN);
    f.to_path = (struct msrp_wpath){ .uris = s->to.uris, .n = s->to.n };
    f.from_path = (struct msrp_wpath){ .uris = s->local.uris, .n = s->local.n };
    f.message_id = msrp_slice(message_id, strlen(message_id));
    f.success_report = sr;
    f.failure_report = fr;
    if (br) {
        f.has_byte_range = true;
        f.byte_range = *br;
    }
    f.content_type = msrp_slice(ctype, strlen(ctype));
    f.has_body = true;
    int hl = msrp_write_head(head, GW_HEAD_RESERVE, &f);
    if (hl < 0)
        return hl == MSRP_E_NOSPACE ? -E2BIG : -EINVAL;
    return hl;
}

int gw_session_build_send(struct gw_session *s, uint8_t *buf, size_t n, char tid[GW_TID_LEN],
                          const char *message_id, const struct msrp_byte_range *br,
                          const char *ctype, enum msrp_report fr, enum msrp_report sr,
                          char flag, uint8_t **frame, size_t *len, size_t *head_len)
{
    char *body = (char *)buf + GW_HEAD_RESERVE;
    char head[GW_HEAD_RESERVE];
    int hl = write_send_head(s, body, n, tid, message_id, br, ctype, fr, sr, head);
    if (hl < 0)
        return hl;
    int el = msrp_write_end_line(body + n, GW_TAIL_RESERVE, msrp_slice(tid, GW_TID_LEN), flag,
                                 true);
    if (el < 0)
        return -EINVAL;
    memcpy(buf + GW_HEAD_RESERVE - hl, head, (size_t)hl);
    *frame = buf + GW_HEAD_RESERVE - hl;
    *len = (size_t)hl + n + (size_t)el;
    if (head_len)
        *head_len = (size_t)hl;
    return 0;
}

void gw_session_log_out(struct gw_session *s, const uint8_t *head, size_t n)
{
    if (!s->logfn)
        return;
    struct gw_slog_event ev = { .kind = GW_SLOG_OUT, .p = (const char *)head, .n = n };
    s->logfn(s, &ev, s->logud);
}

/* The transaction of one chunk sent on its own, answered to resp. */
static struct gw_tx *chunk_tx(struct gw_session *s, enum msrp_report fr, gw_resp_fn resp,
                              void *arg)
{
    struct gw_tx *tx = gw_tx_new(s, GW_TX_USER, fr);
    if (tx) {
        tx->resp = resp;
        tx->resp_arg = arg;
    }
    return tx;
}

int gw_session_send_chunk(struct gw_session *s, const char *message_id,
                          const struct msrp_byte_range *br, const char *content_type,
                          const void *body, size_t n, char flag, enum msrp_report fr,
                          gw_resp_fn resp, void *arg)
{
    if (!s->m || s->closing)
        return -ENOTCONN;
    bool pooled;
    uint8_t *buf = frame_buf_get(s, GW_HEAD_RESERVE + n + GW_TAIL_RESERVE, &pooled);
    if (!buf)
        return -ENOMEM;
    if (n)
        memcpy(buf + GW_HEAD_RESERVE, body, n);
    struct gw_tx *tx = chunk_tx(s, fr, resp, arg);
    if (!tx) {
        frame_buf_put(s, buf, pooled);
        return -ENOMEM;
    }
    tx->buf_pooled = pooled;
    uint8_t *frame;
    size_t len, hl;
    int rc = gw_session_build_send(s, buf, n, tx->tid, message_id, br,
                                   content_type ? content_type : "text/plain", fr,
                                   s->cfg.success_report, flag, &frame, &len, &hl);
    if (rc == 0)
        rc = gw_tx_send(tx, buf, frame, len);
    if (rc < 0) {
        frame_buf_put(s, buf, pooled);
        tx->resolved = true;
        gw_tx_maybe_free(tx);
        return rc;
    }
    gw_session_log_out(s, frame, hl);
    return 0;
}

int gw_session_send_chunk_static(struct gw_session *s, const char *message_id,
                                 const struct msrp_byte_range *br, const char *content_type,
                                 const void *body, size_t n, char flag, enum msrp_report fr,
                                 gw_resp_fn resp, void *arg)
{
    /* A small body is cheaper copied into one contiguous send than sent
     * as three (callgrind, perf/load_cost.sh: the crossover is near
     * 3.5 KiB). */
    if (n < GW_STATIC_MIN)
        return gw_session_send_chunk(s, message_id, br, content_type, body, n, flag, fr, resp,
                                     arg);
    if (!s->m || s->closing)
        return -ENOTCONN;
    /* head at buf[0..hl), end-line at buf[GW_HEAD_RESERVE..) */
    bool pooled;
    uint8_t *buf = frame_buf_get(s, GW_HEAD_RESERVE + GW_TAIL_RESERVE, &pooled);
    if (!buf)
        return -ENOMEM;
    struct gw_tx *tx = chunk_tx(s, fr, resp, arg);
    if (!tx) {
        frame_buf_put(s, buf, pooled);
        return -ENOMEM;
    }
    tx->buf_pooled = pooled;
    char *end = (char *)buf + GW_HEAD_RESERVE;
    int hl = write_send_head(s, body, n, tx->tid, message_id, br,
                             content_type ? content_type : "text/plain", fr,
                             s->cfg.success_report, (char *)buf);
    int el = 0, rc = hl;
    if (rc >= 0) {
        el = msrp_write_end_line(end, GW_TAIL_RESERVE, msrp_slice(tx->tid, GW_TID_LEN), flag, true);
        rc = el < 0 ? -EINVAL : gw_mconn_send_copy(s->m, buf, (size_t)hl);
    }
    bool queued = rc == 0; /* the head is out: a failure now cuts a frame short */
    if (rc == 0 && n)
        rc = gw_mconn_send(s->m, body, n, NULL, NULL); /* static: no release */
    if (rc == 0)
        rc = gw_tx_send(tx, buf, end, (size_t)el);
    if (rc < 0) {
        frame_buf_put(s, buf, pooled);
        tx->resolved = true;
        gw_tx_maybe_free(tx);
        if (queued)
            gw_mconn_close(s->m); /* a frame cut short cannot be finished */
        return rc;
    }
    gw_session_log_out(s, buf, (size_t)hl);
    return 0;
}

/* ---- binding (connector side) ---- */

static void bind_resp(struct gw_session *s, int code, void *arg)
{
    (void)arg;
    if (code == GW_CODE_OK) {
        gw_session_slog(s, GW_SLOG_DEBUG, "bound: empty SEND answered 200");
        gw_session_set_ready(s, 0);
        GW_SESSION_HOOKS_CALL(s, on_room, s);
        gw_session_maybe_finish(s);
        return;
    }
    gw_session_slog(s, GW_SLOG_ERROR, "binding SEND answered %d", code);
    s->last_code = code;
    gw_session_fail(s, code == GW_CODE_TIMEOUT ? -ETIMEDOUT : -EPROTO);
}

int gw_session_bind_send(struct gw_session *s)
{
    char mid[17];
    gw_session_next_tid(s, mid);
    mid[16] = '\0';
    /* Failure-Report no/partial applies to the binding SEND too: then no
     * 200 comes, and the session counts as bound once it is sent. */
    enum msrp_report fr = s->cfg.failure_report == MSRP_REPORT_PARTIAL ? MSRP_REPORT_NO
                                                                       : s->cfg.failure_report;
    struct gw_tx *tx = gw_tx_new(s, GW_TX_USER, fr);
    if (!tx)
        return -ENOMEM;
    tx->resp = bind_resp;
    struct msrp_frame f;
    memset(&f, 0, sizeof(f));
    f.kind = MSRP_REQUEST;
    f.method = MSRP_M_SEND;
    f.tid = msrp_slice(tx->tid, GW_TID_LEN);
    f.to_path = (struct msrp_wpath){ .uris = s->to.uris, .n = s->to.n };
    f.from_path = (struct msrp_wpath){ .uris = s->local.uris, .n = s->local.n };
    f.message_id = msrp_slice(mid, 16);
    f.failure_report = fr;
    char *buf = malloc(GW_HEAD_RESERVE);
    int len = buf ? msrp_write_bodiless(buf, GW_HEAD_RESERVE, &f, '$') : -ENOMEM;
    int rc = len < 0 ? (len == -ENOMEM ? -ENOMEM : -EINVAL)
                     : gw_tx_send(tx, (uint8_t *)buf, buf, (size_t)len);
    if (rc < 0) {
        free(buf);
        tx->resolved = true;
        gw_tx_maybe_free(tx);
        return rc;
    }
    s->state = GW_S_BINDING;
    gw_session_log_out(s, (const uint8_t *)buf, (size_t)len);
    return 0;
}
