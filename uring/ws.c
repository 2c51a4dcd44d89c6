/*
 * ws.c: the WebSocket transform of a connection (see ws.h): the server's
 * opening handshake, received frames decoded into on_data, control frames
 * answered, frame headers for sends. proto/ws.c and proto/ws_handshake.c
 * parse and write; this file owns the per-connection state and decides
 * what to send and when to close.
 *
 * conn.c routes TLS plaintext (or plain received bytes) here through
 * ur_conn_deliver_plain() and asks ur_ws_holding() before delivering
 * newer bytes, so input stays in stream order across pauses; send.c asks
 * ur_ws_frame() for the header of each application send.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/ws.h"
#include "proto/ws_handshake.h"
#include "uring/conn_internal.h"
#include "uring/ws.h"

const char *const ur_ws_hs_result_names[UR_WS_HS_N] = {
    [UR_WS_HS_OK] = "ok",
    [UR_WS_HS_BAD_REQUEST] = "bad_request",
    [UR_WS_HS_FORBIDDEN] = "forbidden",
    [UR_WS_HS_UPGRADE_REQUIRED] = "upgrade_required",
    [UR_WS_HS_TOO_LARGE] = "too_large",
    [UR_WS_HS_TIMEOUT] = "timeout",
};

enum ws_state {
    WS_HANDSHAKE, /* reading the Upgrade request */
    WS_OPEN,      /* 101 sent: frames both ways */
    WS_DONE,      /* refused, failed or close sent: nothing more is read */
};

struct ur_ws_conn {
    const struct ur_ws_config *cfg;
    enum ws_state state;
    bool msg_open;          /* our current message's FIN is not sent yet */
    bool counted;           /* in ur_loop_stats.ws_open */
    bool hs_counted;        /* handshake result counted */
    struct ur_buf *hs;      /* the Upgrade request so far */
    size_t hs_n;
    struct ur_timer timer;  /* handshake deadline */
    struct msrp_ws_decoder dec;
    struct ur_buf *held;    /* undecoded input kept over a pause */
    const uint8_t *held_p;
    size_t held_n;
    struct ur_conn *c;
};

static void count_hs(struct ur_conn *c, enum ur_ws_hs_result r)
{
    if (c->ws->hs_counted)
        return;
    c->ws->hs_counted = true;
    c->loop->stats.ws_handshakes[r]++;
}

static void hs_timeout(struct ur_timer *t, void *arg)
{
    (void)t;
    struct ur_conn *c = arg;

    c->ws->state = WS_DONE;
    count_hs(c, UR_WS_HS_TIMEOUT);
    ur_conn_fail(c, -ETIMEDOUT);
}

int ur_conn_ws_server(struct ur_conn *c, const struct ur_ws_config *cfg)
{
    struct ur_ws_conn *w;

    if (!c || c->ws || (c->flags & (CF_OPEN_NOTIFIED | CF_CLOSING | CF_CONNECTING)) ||
        !(c->flags & CF_OPEN))
        return -EINVAL;
    if (!(w = calloc(1, sizeof(*w))))
        return -ENOMEM;
    w->cfg = cfg;
    w->c = c;
    msrp_ws_decoder_init(&w->dec, MSRP_WS_SERVER,
                         cfg->max_message ? cfg->max_message : UR_WS_MAX_MESSAGE_DEFAULT);
    ur_timer_init(&w->timer, hs_timeout, c);
    ur_timer_arm(c->loop, &w->timer,
                 cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms
                                           : UR_WS_HANDSHAKE_TIMEOUT_DEFAULT,
                 0);
    c->ws = w;
    return 0;
}

int ur_conn_is_ws(const struct ur_conn *c) { return c->ws != NULL; }
int ur_ws_ready(const struct ur_conn *c) { return c->ws && c->ws->state == WS_OPEN; }
int ur_ws_holding(const struct ur_conn *c) { return c->ws && c->ws->held; }

/* ---- sending ---- */

/* A control frame (server frames are unmasked), queued as one copy. */
static int send_control(struct ur_conn *c, enum msrp_ws_opcode op, const uint8_t *p, size_t n)
{
    uint8_t f[MSRP_WS_MAX_HEADER + MSRP_WS_MAX_CONTROL];
    long len = msrp_ws_encode_frame(f, sizeof(f), op, true, p, n, NULL);

    return len < 0 ? -EINVAL : ur_conn_send_copy_raw(c, f, (size_t)len);
}

static void send_close(struct ur_conn *c, uint16_t code)
{
    uint8_t pl[MSRP_WS_MAX_CONTROL];
    size_t n = code == MSRP_WS_CLOSE_NO_STATUS ? 0 : msrp_ws_close_payload(pl, code, NULL, 0);

    (void)send_control(c, MSRP_WS_OP_CLOSE, pl, n);
}

int ur_ws_frame(struct ur_conn *c, size_t n, uint8_t hdr[MSRP_WS_MAX_HEADER], size_t *hdr_n)
{
    struct ur_ws_conn *w = c->ws;

    if (w->state == WS_HANDSHAKE)
        return -ENOTCONN;
    if (w->state != WS_OPEN)
        return -EPIPE;
    *hdr_n = msrp_ws_frame_header(hdr, w->msg_open ? MSRP_WS_OP_CONT : MSRP_WS_OP_BINARY, false,
                                  n, NULL);
    w->msg_open = true;
    return 0;
}

int ur_conn_ws_message_end(struct ur_conn *c)
{
    static const uint8_t fin[2] = { 0x80, 0x00 }; /* FIN, continuation, no payload */

    if (!c->ws || !c->ws->msg_open)
        return 0;
    c->ws->msg_open = false;
    return ur_conn_send_copy_raw(c, fin, sizeof(fin));
}

void ur_ws_shutdown(struct ur_conn *c)
{
    if (c->ws->state != WS_OPEN)
        return;
    c->ws->state = WS_DONE;
    send_close(c, MSRP_WS_CLOSE_NORMAL);
}

/* ---- receiving frames ---- */

/* Protocol error: the codec's close code, then close (RFC 6455 7.1.7). */
static void ws_fail(struct ur_conn *c, int err)
{
    c->ws->state = WS_DONE;
    send_close(c, (uint16_t)msrp_ws_err_close_code(err));
    ur_conn_fail_after_flush(c, -EPROTO);
}

static void on_event(struct ur_conn *c, struct ur_buf *buf, const struct msrp_ws_event *ev)
{
    switch (ev->type) {
    case MSRP_WS_EV_DATA:
        if (ev->n)
            ur_conn_deliver_app(c, buf, ev->data, ev->n);
        break;
    case MSRP_WS_EV_PING:
        (void)send_control(c, MSRP_WS_OP_PONG, ev->data, ev->n);
        break;
    case MSRP_WS_EV_CLOSE:
        /* Echo the code (none for none) and close once it is sent. */
        c->ws->state = WS_DONE;
        send_close(c, ev->close_code);
        ur_conn_fail_after_flush(c, 0);
        break;
    default: /* message start / end, pong: nothing to do */
        break;
    }
}

static void hold(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n)
{
    struct ur_ws_conn *w = c->ws;

    if (!buf) { /* never from conn.c (it always passes a buffer); be safe */
        if (!(buf = ur_buf_heap_new(c->loop, n))) {
            ur_conn_fail(c, -ENOMEM);
            return;
        }
        memcpy(buf->data, p, n);
        p = buf->data;
    } else {
        ur_buf_ref(buf);
    }
    w->held = buf;
    w->held_p = p;
    w->held_n = n;
}

/* Decodes frames; the payload is unmasked in place (the buffer is ours:
 * a ring buffer or a heap one) and handed on without copying. */
static void frames_input(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n)
{
    struct ur_ws_conn *w = c->ws;
    uint8_t *q = (uint8_t *)p;

    while (n && w->state == WS_OPEN && !(c->flags & CF_CLOSING)) {
        struct msrp_ws_event ev;
        size_t used = 0;
        int rc;

        if (c->pause_cnt) {
            hold(c, buf, q, n);
            return;
        }
        rc = msrp_ws_decode(&w->dec, q, n, &used, &ev);
        if (rc < 0) {
            ws_fail(c, rc);
            return;
        }
        q += used;
        n -= used;
        if (rc == 1)
            on_event(c, buf, &ev);
    }
}

void ur_ws_pump(struct ur_conn *c)
{
    struct ur_ws_conn *w = c->ws;
    struct ur_buf *buf = w->held;

    if (!buf || c->pause_cnt || (c->flags & CF_CLOSING))
        return;
    w->held = NULL;
    frames_input(c, buf, w->held_p, w->held_n);
    ur_buf_unref(buf);
}

/* ---- the opening handshake ---- */

static bool origin_allowed(const struct ur_ws_config *cfg, struct msrp_slice o)
{
    if (!cfg->n_origins || !o.p)
        return true;
    for (unsigned i = 0; i < cfg->n_origins; i++)
        if (strlen(cfg->origins[i]) == o.n && strncasecmp(cfg->origins[i], o.p, o.n) == 0)
            return true;
    return false;
}

static enum ur_ws_hs_result result_of(int status)
{
    switch (status) {
    case 403: return UR_WS_HS_FORBIDDEN;
    case 426: return UR_WS_HS_UPGRADE_REQUIRED;
    case 431: return UR_WS_HS_TOO_LARGE;
    default: return UR_WS_HS_BAD_REQUEST;
    }
}

static void hs_refuse(struct ur_conn *c, int err)
{
    char out[512];
    int n = msrp_ws_hs_reject(out, sizeof(out), err);

    c->ws->state = WS_DONE;
    ur_timer_cancel(c->loop, &c->ws->timer);
    count_hs(c, result_of(msrp_ws_hs_status(err)));
    if (n > 0)
        (void)ur_conn_send_copy_raw(c, out, (size_t)n);
    ur_conn_fail_after_flush(c, -EPROTO);
}

static int hs_accept(struct ur_conn *c, const struct msrp_ws_request *r)
{
    struct ur_ws_conn *w = c->ws;
    char out[512];
    int n = msrp_ws_hs_accept(out, sizeof(out), r);

    if (n < 0 || ur_conn_send_copy_raw(c, out, (size_t)n) < 0) {
        w->state = WS_DONE;
        ur_conn_fail(c, -ENOMEM);
        return -1;
    }
    ur_timer_cancel(c->loop, &w->timer);
    w->state = WS_OPEN;
    count_hs(c, UR_WS_HS_OK);
    w->counted = true;
    c->loop->stats.ws_open++;
    ur_conn_notify_open(c, 0);
    return 0;
}

/* Collects the request into one heap buffer with room for the largest
 * request plus one receive slice, so a slice always fits whole: frames a
 * client sent right behind its request are decoded from there. */
static void hs_input(struct ur_conn *c, const uint8_t *p, size_t n)
{
    struct ur_ws_conn *w = c->ws;
    size_t cap = MSRP_WS_HS_MAX_BYTES + c->loop->cfg.buf_size;
    struct msrp_ws_request r;
    size_t used = 0;
    int rc;

    if (!w->hs && !(w->hs = ur_buf_heap_new(c->loop, cap))) {
        ur_conn_fail(c, -ENOMEM);
        return;
    }
    if (n > cap - w->hs_n) /* a replayed slice larger than a receive buffer */
        n = cap - w->hs_n;
    memcpy(w->hs->data + w->hs_n, p, n);
    w->hs_n += n;
    rc = msrp_ws_hs_parse_request(&r, (const char *)w->hs->data, w->hs_n, &used);
    if (rc == MSRP_WS_HS_INCOMPLETE)
        return;
    if (rc == 0 && !origin_allowed(w->cfg, r.origin))
        rc = MSRP_WS_HS_E_ORIGIN;
    if (rc < 0) {
        hs_refuse(c, rc);
        return;
    }
    if (hs_accept(c, &r) < 0)
        return;
    struct ur_buf *hb = w->hs;
    size_t extra = w->hs_n - used;
    w->hs = NULL;
    if (extra)
        frames_input(c, hb, hb->data + used, extra);
    ur_buf_unref(hb);
}

size_t ur_ws_input(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n)
{
    switch (c->ws->state) {
    case WS_HANDSHAKE:
        hs_input(c, p, n);
        break;
    case WS_OPEN:
        frames_input(c, buf, p, n);
        break;
    case WS_DONE: /* nothing is read after a close or a failure */
        break;
    }
    return n;
}

/* ---- lifetime and handoff ---- */

struct ur_ws_conn *ur_ws_conn_take(struct ur_conn *c, uint8_t **held, size_t *held_n)
{
    struct ur_ws_conn *w = c->ws;

    *held = NULL;
    *held_n = 0;
    if (!w)
        return NULL;
    c->ws = NULL;
    ur_timer_cancel(c->loop, &w->timer);
    if (w->counted)
        c->loop->stats.ws_open--;
    if (w->held) { /* this loop's buffer stays here: carry a copy */
        *held_n = w->held_n;
        *held = malloc(w->held_n);
        if (*held)
            memcpy(*held, w->held_p, w->held_n);
        ur_buf_unref(w->held);
        w->held = NULL;
    }
    ur_buf_unref(w->hs);
    w->hs = NULL;
    w->c = NULL;
    return w;
}

void ur_ws_conn_give(struct ur_conn *c, struct ur_ws_conn *w)
{
    c->ws = w;
    w->c = c;
    ur_timer_init(&w->timer, hs_timeout, c);
    if (w->counted)
        c->loop->stats.ws_open++;
}

void ur_ws_conn_destroy(struct ur_ws_conn *w) { free(w); }

void ur_ws_conn_free(struct ur_conn *c)
{
    struct ur_ws_conn *w = c->ws;

    if (!w)
        return;
    ur_timer_cancel(c->loop, &w->timer);
    if (!w->hs_counted && w->state == WS_HANDSHAKE)
        count_hs(c, UR_WS_HS_TIMEOUT); /* the peer left before asking */
    if (w->counted)
        c->loop->stats.ws_open--;
    ur_buf_unref(w->held);
    ur_buf_unref(w->hs);
    free(w);
    c->ws = NULL;
}
