/*
 * session_in.c: what a session receives: each frame's paths checked as
 * RFC 4975/4976 require of a peer (To-Path ours, From-Path the peer's
 * with the relays' Use-Path), SENDs reassembled by Message-ID and
 * Byte-Range into at most max_in_messages incoming messages, REPORTs and
 * responses matched to their transactions, and the mconn callbacks of a
 * bound session.
 */
#include "gateway/session/session_int.h"

#include "gateway/wire/accepttypes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/status.h"
#include "proto/writer.h"
#include "uring/conn.h"
#include "uring/loop.h"

/* RFC 4975 section 7.3: a request is ours when its To-Path is our URI,
 * alone (every relay on the way took its own URI off). */
static bool to_path_ok(struct gw_session *s, const struct msrp_head *h)
{
    if (h->n_to_path != 1 || s->local.n == 0)
        return false;
    const struct msrp_uri *mine = &s->local.uris[0];
    const struct msrp_uri *theirs = &h->to_path[0];
    if (s->cfg.sessmatch)
        return msrp_slice_eq(mine->session_id, theirs->session_id);
    return msrp_uri_equal(mine, theirs);
}

/* URIs of our own relays' Use-Path in front of our URI (0 when direct). */
static unsigned use_path_n(const struct gw_session *s)
{
    return s->local_full.n > s->local.n ? s->local_full.n - s->local.n : 0;
}

/* URI i of the From-Path we predict: reverse(our Use-Path) + remote path
 * (NULL past its end, or in the remote part while it is unknown). */
static const struct msrp_uri *want_from(const struct gw_session *s, unsigned i)
{
    unsigned use_n = use_path_n(s);
    if (i < use_n)
        return &s->local_full.uris[use_n - 1 - i];
    return i - use_n < s->remote.n ? &s->remote.uris[i - use_n] : NULL;
}

bool gw_session_from_path_ok(const struct gw_session *s, const struct msrp_head *h, bool report)
{
    unsigned n = h->n_from_path;
    if (n == 0)
        return false;
    if (s->cfg.sessmatch) {
        /* draft-ietf-simple-msrp-sessmatch: SBCs and relays may rewrite
         * hosts and hops; only the remote endpoint's session id counts. */
        const struct msrp_uri *last = gw_path_last(&s->remote);
        return report || !last ||
               msrp_slice_eq(last->session_id, h->from_path[n - 1].session_id);
    }
    /* Each relay between us prepends the URI it took off To-Path (RFC 4976
     * section 7.2), so From-Path = our relays' URIs, last AUTHed first,
     * then the peer's path. A REPORT may come from a relay on the way
     * (it generated it): then From-Path is a leading part of that. */
    unsigned use_n = use_path_n(s), want_n = use_n + s->remote.n;
    if (s->remote.n ? (report ? n > want_n : n != want_n) : (!report && n <= use_n))
        return false;
    for (unsigned i = 0; i < n; i++) {
        const struct msrp_uri *w = want_from(s, i);
        if (w && !msrp_uri_equal(w, &h->from_path[i]))
            return false;
    }
    return true;
}

/* Logs why a request was refused: the From-Path seen and the one predicted. */
static void log_bad_from(struct gw_session *s, const struct msrp_head *h)
{
    char want[GW_PATH_TEXT_MAX * 2];
    size_t o = 0;
    for (unsigned i = 0; o < sizeof(want) - 1; i++) {
        const struct msrp_uri *w = want_from(s, i);
        if (!w)
            break;
        int k = snprintf(want + o, sizeof(want) - o, "%s%.*s", i ? " " : "", (int)w->raw.n,
                         w->raw.p);
        o += k > 0 ? (size_t)k : 0;
    }
    if (o >= sizeof(want))
        o = sizeof(want) - 1;
    want[o] = '\0';
    const struct msrp_header *fp = msrp_head_find(h, MSRP_H_FROM_PATH);
    gw_session_slog(s, GW_SLOG_WARN, "%s %.*s: From-Path \"%.*s\", expected \"%s%s\"",
                    h->method == MSRP_M_REPORT ? "REPORT" : "SEND", (int)h->tid.n, h->tid.p,
                    fp ? (int)fp->value.n : 0, fp ? fp->value.p : "", want,
                    s->remote.n ? "" : " <remote path>");
}

/* The remote path, learned from the first request when nobody told us
 * (gw_session_set_remote_path): From-Path without our relays' URIs. */
static void learn_remote(struct gw_session *s, const struct msrp_head *h)
{
    unsigned use_n = use_path_n(s);
    if (s->remote.n == 0 && h->n_from_path > use_n)
        gw_path_set_uris(&s->remote, h->from_path + use_n, h->n_from_path - use_n);
}

int gw_session_set_remote_path(struct gw_session *s, const char *path)
{
    struct gw_path p;
    int rc = gw_path_set(&p, path, strlen(path));
    if (rc < 0)
        return rc;
    rc = gw_path_copy(&s->remote, &p);
    /* A direct acceptor sends along the peer's path; behind a relay, the
     * To-Path is the mirror of the first From-Path (the relay's URI in
     * front), taken when it arrives. */
    if (rc == 0 && !s->active && !s->relay && s->to.n == 0)
        rc = gw_path_copy(&s->to, &s->remote);
    return rc;
}

static struct gw_in_slot *in_find(struct gw_session *s, struct msrp_slice mid, bool create)
{
    struct gw_in_slot *free_slot = NULL;
    for (unsigned i = 0; i < s->cfg.max_in_messages; i++) {
        struct gw_in_slot *sl = &s->in[i];
        if (!sl->used) {
            if (!free_slot)
                free_slot = sl;
            continue;
        }
        if (strlen(sl->m.message_id) == mid.n && memcmp(sl->m.message_id, mid.p, mid.n) == 0)
            return sl;
    }
    if (!create || !free_slot)
        return NULL;
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = true;
    memcpy(free_slot->m.message_id, mid.p, mid.n);
    free_slot->m.total = UINT64_MAX;
    msrp_ranges_init(&free_slot->ranges, free_slot->store, GW_IN_RANGES);
    return free_slot;
}

static void in_release(struct gw_in_slot *sl)
{
    sl->used = false;
}

static int on_send_head(struct gw_session *s, const struct msrp_head *h)
{
    struct gw_in_cur *cur = &s->cur;
    if (!to_path_ok(s, h)) {
        gw_session_slog(s, GW_SLOG_WARN, "SEND %.*s for another session: 481",
                        (int)h->tid.n, h->tid.p);
        gw_mconn_respond(s->m, h, 481, msrp_status_phrase(481), NULL);
        cur->mode = GW_IN_DISCARD;
        return GW_MCONN_CONTINUE;
    }
    if (!gw_session_from_path_ok(s, h, false)) {
        log_bad_from(s, h);
        gw_mconn_respond(s->m, h, 481, "Invalid From-Path", NULL);
        cur->mode = GW_IN_DISCARD;
        return GW_MCONN_CONTINUE;
    }
    learn_remote(s, h);
    if (s->to.n == 0)
        gw_path_set_uris(&s->to, h->from_path, h->n_from_path);
    if (!h->has_body && h->content_type.n == 0) {
        cur->mode = GW_IN_BIND; /* empty SEND: binding or keep-alive */
        return GW_MCONN_CONTINUE;
    }
    if (h->content_type.n && !gw_accept_types_match(s->accept_types, h->content_type)) {
        gw_session_slog(s, GW_SLOG_INFO, "Content-Type %.*s not accepted: 415",
                        (int)h->content_type.n, h->content_type.p);
        gw_mconn_respond(s->m, h, 415, msrp_status_phrase(415), NULL);
        cur->mode = GW_IN_DISCARD;
        return GW_MCONN_CONTINUE;
    }
    if (h->message_id.n > GW_MSGID_MAX) {
        gw_mconn_respond(s->m, h, 400, "Message-ID too long", NULL);
        cur->mode = GW_IN_DISCARD;
        return GW_MCONN_CONTINUE;
    }
    bool fresh = in_find(s, h->message_id, false) == NULL;
    struct gw_in_slot *sl = in_find(s, h->message_id, true);
    if (!sl) {
        gw_mconn_respond(s->m, h, 413, "Too many messages in progress", NULL);
        cur->mode = GW_IN_DISCARD;
        return GW_MCONN_CONTINUE;
    }
    uint64_t start = h->has_byte_range ? h->byte_range.start - 1 : sl->next_pos;
    uint64_t max = s->cfg.max_message_size;
    if (max && ((h->has_byte_range && h->byte_range.total != MSRP_BR_STAR &&
                 h->byte_range.total > max) || start >= max)) {
        if (fresh)
            in_release(sl);
        gw_mconn_respond(s->m, h, 413, msrp_status_phrase(413), NULL);
        cur->mode = GW_IN_DISCARD;
        return GW_MCONN_CONTINUE;
    }
    if (h->has_byte_range && h->byte_range.total != MSRP_BR_STAR) {
        if (sl->m.total != UINT64_MAX && sl->m.total != h->byte_range.total) {
            gw_mconn_respond(s->m, h, 400, "Byte-Range total changed", NULL);
            cur->mode = GW_IN_DISCARD;
            return GW_MCONN_CONTINUE;
        }
        sl->m.total = h->byte_range.total;
    }
    if (fresh) {
        size_t cl = h->content_type.n > GW_CTYPE_MAX ? GW_CTYPE_MAX : h->content_type.n;
        memcpy(sl->m.content_type, h->content_type.p, cl);
        sl->m.content_type[cl] = '\0';
        sl->m.success_report = h->success_report == MSRP_REPORT_YES;
        sl->m.head = h;
        int code = s->ops->on_message_start ? s->ops->on_message_start(s, &sl->m) : 0;
        sl->m.head = NULL;
        if (code) {
            in_release(sl);
            gw_mconn_respond(s->m, h, (uint16_t)code, NULL, NULL);
            cur->mode = GW_IN_DISCARD;
            return GW_MCONN_CONTINUE;
        }
    }
    if (h->success_report == MSRP_REPORT_YES)
        sl->m.success_report = true;
    cur->mode = GW_IN_DELIVER;
    cur->slot = sl;
    cur->start = start;
    cur->len = 0;
    cur->code = 0;
    return GW_MCONN_CONTINUE;
}

static void on_report_head(struct gw_session *s, const struct msrp_head *h)
{
    if (!h->has_status) {
        gw_session_slog(s, GW_SLOG_WARN, "REPORT without Status ignored");
        return;
    }
    if (s->ops->on_report)
        s->ops->on_report(s, h->message_id, h->status_hdr.code,
                          h->has_byte_range ? &h->byte_range : NULL, h);
}

static void on_response_head(struct gw_session *s, const struct msrp_head *h)
{
    struct gw_tx *tx = gw_tx_find(s, h->tid);
    if (!tx) {
        gw_session_slog(s, GW_SLOG_DEBUG, "response %u to unknown transaction %.*s",
                        h->status, (int)h->tid.n, h->tid.p);
        return;
    }
    if (tx->resolved) {
        if (h->status != 200)
            gw_session_slog(s, GW_SLOG_WARN, "late response %u to %.*s (Failure-Report %s)",
                            h->status, GW_TID_LEN, tx->tid,
                            tx->fr == MSRP_REPORT_PARTIAL ? "partial" : "no");
        return;
    }
    ur_timer_cancel(s->loop, &tx->timer);
    if (tx->kind == GW_TX_AUTH) {
        tx->resolved = true;
        GW_SESSION_HOOKS_CALL(s, on_auth_response, s, tx, h);
    } else {
        gw_tx_resolve(tx, h->status);
    }
    gw_tx_maybe_free(tx);
    GW_SESSION_HOOKS_CALL(s, on_room, s);
    gw_session_maybe_finish(s);
}

int gw_session_on_head(struct gw_mconn *m, const struct msrp_head *h)
{
    struct gw_session *s = gw_mconn_data(m);
    struct gw_in_cur *cur = &s->cur;
    cur->mode = GW_IN_DISCARD;
    if (s->logfn) {
        struct gw_slog_event ev = { .kind = GW_SLOG_IN_START, .head = h };
        s->logfn(s, &ev, s->logud);
    }
    if (s->state == GW_S_CLOSED)
        return GW_MCONN_CONTINUE;
    if (h->kind == MSRP_RESPONSE) {
        on_response_head(s, h);
        return GW_MCONN_CONTINUE;
    }
    switch (h->method) {
    case MSRP_M_SEND:
        return on_send_head(s, h);
    case MSRP_M_REPORT:
        /* REPORTs get no response (RFC 4975 section 7.1.2): a wrong one is
         * logged and dropped. */
        if (!to_path_ok(s, h))
            gw_session_slog(s, GW_SLOG_WARN, "REPORT %.*s for another session dropped",
                            (int)h->tid.n, h->tid.p);
        else if (!gw_session_from_path_ok(s, h, true))
            log_bad_from(s, h);
        else
            on_report_head(s, h);
        return GW_MCONN_CONTINUE;
    default:
        gw_mconn_respond(m, h, 501, msrp_status_phrase(501), NULL);
        return GW_MCONN_CONTINUE;
    }
}

static int sm_on_body(struct gw_mconn *m, const struct msrp_head *h, const char *p, size_t n,
                      uint64_t off, struct ur_buf *buf)
{
    (void)h;
    struct gw_session *s = gw_mconn_data(m);
    struct gw_in_cur *cur = &s->cur;
    if (cur->mode != GW_IN_DELIVER || cur->code)
        return GW_MCONN_CONTINUE;
    uint64_t pos = cur->start + off;
    cur->len = off + n;
    uint64_t total = cur->slot->m.total;
    if (total != UINT64_MAX && pos + n > total) {
        /* An open-ended chunk ran past the announced total. */
        cur->code = 400;
        if (pos >= total)
            return GW_MCONN_CONTINUE;
        n = (size_t)(total - pos);
    }
    uint64_t max = s->cfg.max_message_size;
    if (max && pos + n > max) {
        /* Past what this receiver takes, total or not: no byte beyond. */
        cur->code = 413;
        if (pos >= max)
            return GW_MCONN_CONTINUE;
        n = (size_t)(max - pos);
    }
    if (s->logfn) {
        struct gw_slog_event ev = { .kind = GW_SLOG_IN_DATA, .head = h, .p = p, .n = n, .pos = pos };
        s->logfn(s, &ev, s->logud);
    }
    if (!s->ops->on_data)
        return GW_MCONN_CONTINUE;
    return s->ops->on_data(s, &cur->slot->m, p, n, pos, buf);
}

static void send_success_report(struct gw_session *s, const struct msrp_head *h, uint64_t total)
{
    if (h->message_id.n == 0 || !s->m)
        return;
    char tid[GW_TID_LEN];
    gw_session_next_tid(s, tid);
    struct msrp_byte_range br = { 1, total, total };
    char buf[GW_HEAD_RESERVE];
    int len = msrp_write_report(buf, sizeof(buf), h, msrp_slice(tid, GW_TID_LEN), NULL, 200,
                                "OK", &br);
    if (len > 0) {
        gw_mconn_send_copy(s->m, buf, (size_t)len);
        gw_session_log_out(s, (const uint8_t *)buf, (size_t)len);
    }
}

static int sm_on_end(struct gw_mconn *m, const struct msrp_head *h, char flag)
{
    struct gw_session *s = gw_mconn_data(m);
    struct gw_in_cur *cur = &s->cur;
    if (s->logfn) {
        struct gw_slog_event ev = { .kind = GW_SLOG_IN_END, .head = h, .p = &flag, .n = 1 };
        s->logfn(s, &ev, s->logud);
    }
    enum gw_in_mode mode = cur->mode;
    cur->mode = GW_IN_IDLE;
    if (mode == GW_IN_BIND) {
        gw_mconn_respond(m, h, 200, msrp_status_phrase(200), NULL);
        return GW_MCONN_CONTINUE;
    }
    if (mode != GW_IN_DELIVER)
        return GW_MCONN_CONTINUE;
    struct gw_in_slot *sl = cur->slot;
    uint16_t code = cur->code ? cur->code : 200;
    if (code == 200 && cur->len > 0 &&
        msrp_ranges_add(&sl->ranges, cur->start + 1, cur->start + cur->len) != 0)
        code = 413;
    sl->next_pos = cur->start + cur->len;
    sl->m.received = msrp_ranges_bytes(&sl->ranges);
    gw_mconn_respond(m, h, code, msrp_status_phrase(code), NULL);
    if (code != 200 || flag == '#') {
        int st = code != 200 ? code : GW_CODE_ABORTED;
        if (flag == '#')
            gw_session_slog(s, GW_SLOG_INFO, "message %s aborted by the sender ('#')",
                            sl->m.message_id);
        in_release(sl);
        if (s->ops->on_message_end)
            s->ops->on_message_end(s, &sl->m, st);
        return GW_MCONN_CONTINUE;
    }
    if (flag == '$')
        sl->last_seen = true;
    bool complete;
    if (sl->m.total == UINT64_MAX) {
        complete = sl->last_seen && msrp_ranges_prefix(&sl->ranges) == sl->m.received;
        if (complete)
            sl->m.total = sl->m.received;
    } else {
        complete = sl->last_seen && msrp_ranges_complete(&sl->ranges, sl->m.total);
    }
    if (!complete)
        return GW_MCONN_CONTINUE;
    if (sl->m.success_report)
        send_success_report(s, h, sl->m.total);
    in_release(sl);
    if (s->ops->on_message_end)
        s->ops->on_message_end(s, &sl->m, 0);
    return GW_MCONN_CONTINUE;
}

static void sm_on_error(struct gw_mconn *m, int err, uint64_t off, const struct msrp_head *h)
{
    (void)h;
    struct gw_session *s = gw_mconn_data(m);
    gw_session_slog(s, GW_SLOG_ERROR, "framing error %s at stream offset %llu",
                    msrp_strerror(err), (unsigned long long)off);
    if (!s->close_err)
        s->close_err = -EPROTO;
}

static void sm_on_drain(struct gw_mconn *m)
{
    struct gw_session *s = gw_mconn_data(m);
    GW_SESSION_HOOKS_CALL(s, on_room, s);
}

static void fill_local_from_socket(struct gw_session *s)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "127.0.0.1";
    unsigned port = 2855;
    if (getsockname(ur_conn_fd(gw_mconn_conn(s->m)), (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
            port = ntohs(a->sin6_port);
        }
    }
    char uri[256];
    int n = gw_local_uri_make(uri, sizeof(uri), ip, port, ur_conn_is_tls(gw_mconn_conn(s->m)));
    if (n > 0) {
        gw_path_set(&s->local, uri, (size_t)n);
        gw_path_copy(&s->local_full, &s->local);
    }
}

static void sm_on_open(struct gw_mconn *m, int err)
{
    struct gw_session *s = gw_mconn_data(m);
    if (err) {
        gw_session_slog(s, GW_SLOG_ERROR, "connect to %s failed: %s", gw_mconn_peer(m),
                        strerror(-err));
        if (!s->close_err)
            s->close_err = err;
        return; /* on_close follows */
    }
    if (s->local.n == 0)
        fill_local_from_socket(s);
    if (s->state != GW_S_CONNECTING)
        return;
    for (unsigned i = 0; i < s->n_hooks; i++)
        if (s->hooks[i]->on_open && s->hooks[i]->on_open(s))
            return; /* the hook opens (AUTH with the relay first) */
    int rc = gw_session_bind_send(s);
    if (rc < 0)
        gw_session_fail(s, rc);
}

static void sm_on_close(struct gw_mconn *m, int err)
{
    struct gw_session *s = gw_mconn_data(m);
    s->m = NULL;
    int e = s->close_err ? s->close_err : err;
    if (e == 0 && !s->draining && s->state != GW_S_BOUND)
        e = -ECONNRESET;
    gw_session_finalize(s, e);
}

const struct gw_mconn_ops gw_session_mconn_ops = {
    .on_open = sm_on_open,
    .on_head = gw_session_on_head,
    .on_body = sm_on_body,
    .on_end = sm_on_end,
    .on_error = sm_on_error,
    .on_drain = sm_on_drain,
    .on_close = sm_on_close,
};
