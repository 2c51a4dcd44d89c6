/*
 * endpoint.c: server (shared listening socket, binding by To-Path),
 * acceptor and connector sessions (contract in endpoint.h). The relay
 * AUTH round is relayconn.c's.
 *
 * An accepted connection is "pending" until its first request names a
 * waiting session in its To-Path; it is then handed over to that session
 * (gw_mconn_set_ops) inside the same on_head event, so the session sees
 * the binding chunk itself.
 */
#include "proto/status.h"
#include "gateway/session/session_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uring/listener.h"
#include "uring/loop.h"

struct gw_pending {
    struct gw_pending *next, *prev;
    struct gw_server *sv;
    struct gw_mconn *m;
    struct ur_timer timer;
};

struct gw_server {
    struct ur_loop *loop;
    struct ur_listener *l;
    struct ur_tls_ctx *tls;
    struct msrp_limits lim;
    char uri_host[64];
    uint16_t port;
    uint32_t bind_timeout_ms;
    struct gw_session *sessions; /* waiting for their connection */
    struct gw_pending *pending;
};

/* An acceptor's session is registered with its server until it ends. */
static void server_unregister(struct gw_session *s);
static const struct gw_session_hook server_hook = {
    .detach = server_unregister,
};

static void pending_unlink(struct gw_pending *p)
{
    struct gw_server *sv = p->sv;
    if (!sv)
        return;
    ur_timer_cancel(sv->loop, &p->timer);
    if (p->prev)
        p->prev->next = p->next;
    else
        sv->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->sv = NULL;
}

static struct gw_session *server_lookup(struct gw_server *sv, const struct msrp_head *h)
{
    if (h->n_to_path == 0)
        return NULL;
    const struct msrp_uri *to = &h->to_path[0];
    for (struct gw_session *s = sv->sessions; s; s = s->sv_next) {
        const struct msrp_uri *mine = &s->local.uris[0];
        if (s->cfg.sessmatch ? msrp_slice_eq(mine->session_id, to->session_id)
                             : msrp_uri_equal(mine, to))
            return s;
    }
    return NULL;
}

static int pend_on_head(struct gw_mconn *m, const struct msrp_head *h)
{
    struct gw_pending *p = gw_mconn_data(m);
    if (!p->sv)
        return GW_MCONN_CONTINUE;
    if (h->kind != MSRP_REQUEST) {
        gw_mconn_close(m);
        return GW_MCONN_CONTINUE;
    }
    struct gw_session *s = h->method == MSRP_M_SEND ? server_lookup(p->sv, h) : NULL;
    if (!s || !gw_session_from_path_ok(s, h, false)) {
        /* RFC 4975 section 7.3: no such session here. */
        gw_mconn_respond(m, h, 481, msrp_status_phrase(481), NULL);
        pending_unlink(p);
        gw_mconn_close_after_flush(m);
        return GW_MCONN_CONTINUE;
    }
    pending_unlink(p);
    free(p);
    server_unregister(s);
    s->m = m;
    gw_mconn_set_ops(m, &gw_session_mconn_ops, s);
    gw_session_slog(s, GW_SLOG_DEBUG, "bound to connection from %s", gw_mconn_peer(m));
    gw_session_set_ready(s, 0);
    return gw_session_on_head(m, h);
}

static int pend_on_body(struct gw_mconn *m, const struct msrp_head *h, const char *p, size_t n,
                        uint64_t off, struct ur_buf *buf)
{
    (void)m, (void)h, (void)p, (void)n, (void)off, (void)buf;
    return GW_MCONN_CONTINUE;
}

static int pend_on_end(struct gw_mconn *m, const struct msrp_head *h, char flag)
{
    (void)m, (void)h, (void)flag;
    return GW_MCONN_CONTINUE;
}

static void pend_on_close(struct gw_mconn *m, int err)
{
    (void)err;
    struct gw_pending *p = gw_mconn_data(m);
    pending_unlink(p);
    free(p);
}

static const struct gw_mconn_ops pending_ops = {
    .on_head = pend_on_head,
    .on_body = pend_on_body,
    .on_end = pend_on_end,
    .on_close = pend_on_close,
};

static void pending_timeout(struct ur_timer *t, void *arg)
{
    (void)t;
    struct gw_pending *p = arg;
    pending_unlink(p);
    gw_mconn_close(p->m);
}

static void server_on_accept(struct ur_listener *l, int fd, void *ud)
{
    (void)l;
    struct gw_server *sv = ud;
    if (fd < 0)
        return;
    struct gw_pending *p = calloc(1, sizeof(*p));
    if (!p) {
        close(fd);
        return;
    }
    if (gw_mconn_adopt(sv->loop, fd, sv->tls, &sv->lim, &pending_ops, p, &p->m) < 0) {
        free(p);
        return;
    }
    p->sv = sv;
    p->next = sv->pending;
    if (sv->pending)
        sv->pending->prev = p;
    sv->pending = p;
    ur_timer_init(&p->timer, pending_timeout, p);
    ur_timer_arm(sv->loop, &p->timer, sv->bind_timeout_ms, 0);
}

int gw_server_new(struct ur_loop *loop, const char *host, uint16_t port, const char *uri_host,
                  struct ur_tls_ctx *tls, const struct msrp_limits *lim,
                  uint32_t bind_timeout_ms, struct gw_server **out)
{
    const char *uh = uri_host ? uri_host : host;
    if (!uh || strlen(uh) >= sizeof(((struct gw_server *)0)->uri_host))
        return -EINVAL;
    struct gw_server *sv = calloc(1, sizeof(*sv));
    if (!sv)
        return -ENOMEM;
    sv->loop = loop;
    sv->tls = tls;
    if (lim)
        sv->lim = *lim;
    else
        msrp_limits_default(&sv->lim);
    strcpy(sv->uri_host, uh);
    sv->bind_timeout_ms = bind_timeout_ms ? bind_timeout_ms : 30000;
    int rc = ur_listen(loop, &sv->l, host, port, 0, server_on_accept, sv);
    if (rc < 0) {
        free(sv);
        return rc;
    }
    sv->port = ur_listener_port(sv->l);
    *out = sv;
    return 0;
}

uint16_t gw_server_port(const struct gw_server *sv)
{
    return sv->port;
}

void gw_server_free(struct gw_server *sv)
{
    ur_listener_close(sv->l);
    while (sv->pending) {
        struct gw_pending *p = sv->pending;
        pending_unlink(p);
        gw_mconn_close(p->m); /* its on_close frees p */
    }
    while (sv->sessions) {
        struct gw_session *s = sv->sessions;
        server_unregister(s);
        gw_session_fail(s, -ECANCELED);
    }
    free(sv);
}

static void server_unregister(struct gw_session *s)
{
    struct gw_server *sv = s->server;
    if (!sv)
        return;
    for (struct gw_session **pp = &sv->sessions; *pp; pp = &(*pp)->sv_next) {
        if (*pp == s) {
            *pp = s->sv_next;
            break;
        }
    }
    s->server = NULL;
    s->sv_next = NULL;
}

static void session_discard(struct gw_session *s)
{
    /* Never announced: no callbacks, nothing to wait for. */
    s->ready_done = true;
    static const struct gw_session_ops none;
    s->ops = &none;
    gw_session_fail(s, -ECANCELED);
}

int gw_session_accept(struct gw_server *sv, const struct gw_session_config *cfg,
                      const struct gw_session_ops *ops, void *ud, const char *remote_path,
                      struct gw_session **out)
{
    struct gw_session *s;
    int rc = gw_session_new(sv->loop, cfg, ops, ud, &s);
    if (rc < 0)
        return rc;
    char uri[256];
    int n = gw_local_uri_make(uri, sizeof(uri), sv->uri_host, sv->port, sv->tls != NULL);
    rc = n < 0 ? n : gw_path_set(&s->local, uri, (size_t)n);
    if (rc == 0)
        rc = gw_path_copy(&s->local_full, &s->local);
    if (rc == 0 && remote_path) {
        rc = gw_path_set(&s->remote, remote_path, strlen(remote_path));
        if (rc == 0)
            rc = gw_path_copy(&s->to, &s->remote);
    }
    if (rc < 0) {
        session_discard(s);
        return rc;
    }
    rc = gw_session_hook_add(s, &server_hook);
    if (rc < 0) {
        session_discard(s);
        return rc;
    }
    s->state = GW_S_WAIT_CONN;
    s->server = sv;
    s->sv_next = sv->sessions;
    sv->sessions = s;
    ur_timer_arm(sv->loop, &s->bind_timer, s->cfg.bind_timeout_ms, 0);
    *out = s;
    return 0;
}

/* NUL-terminated copy of a URI host. */
static int host_copy(char *dst, size_t cap, const struct msrp_uri *u)
{
    if (u->host.n == 0 || u->host.n >= cap)
        return -EINVAL;
    memcpy(dst, u->host.p, u->host.n);
    dst[u->host.n] = '\0';
    return 0;
}

int gw_session_connect(struct ur_loop *loop, const struct gw_session_config *cfg,
                       const struct gw_session_ops *ops, void *ud, const char *local_uri,
                       const char *remote_path, struct ur_tls_ctx *tls,
                       const struct gw_relay_settings *relay, struct gw_session **out)
{
    struct gw_session *s;
    int rc = gw_session_new(loop, cfg, ops, ud, &s);
    if (rc < 0)
        return rc;
    s->active = true;
    s->tls = tls;
    rc = gw_path_set(&s->remote, remote_path, strlen(remote_path));
    if (rc == 0)
        rc = gw_path_copy(&s->to, &s->remote);
    if (rc == 0 && local_uri) {
        rc = gw_path_set(&s->local, local_uri, strlen(local_uri));
        if (rc == 0)
            rc = gw_path_copy(&s->local_full, &s->local);
    }
    if (rc == 0 && relay) {
        rc = gw_session_relay_start(s, relay, 0);
    } else if (rc == 0) {
        const struct msrp_uri *first = &s->to.uris[0];
        char host[256];
        rc = host_copy(host, sizeof(host), first);
        if (rc == 0 && first->scheme == MSRP_SCHEME_MSRPS && !tls)
            rc = -EINVAL;
        if (rc == 0)
            rc = gw_mconn_connect(loop, host, msrp_uri_port(first), s->cfg.bind_timeout_ms,
                                  first->scheme == MSRP_SCHEME_MSRPS ? tls : NULL, host, NULL,
                                  &gw_session_mconn_ops, s, &s->m);
    }
    if (rc < 0) {
        session_discard(s);
        return rc;
    }
    s->state = GW_S_CONNECTING;
    ur_timer_arm(loop, &s->bind_timer, s->cfg.bind_timeout_ms, 0);
    *out = s;
    return 0;
}

int gw_session_relay_accept(struct ur_loop *loop, const struct gw_session_config *cfg,
                            const struct gw_session_ops *ops, void *ud, const char *local_uri,
                            const struct gw_relay_settings *relay, struct gw_session **out)
{
    struct gw_session *s;
    int rc = gw_session_new(loop, cfg, ops, ud, &s);
    if (rc < 0)
        return rc;
    if (local_uri) {
        rc = gw_path_set(&s->local, local_uri, strlen(local_uri));
        if (rc == 0)
            rc = gw_path_copy(&s->local_full, &s->local);
    }
    if (rc == 0)
        rc = gw_session_relay_start(s, relay, 1);
    if (rc < 0) {
        session_discard(s);
        return rc;
    }
    s->state = GW_S_CONNECTING;
    ur_timer_arm(loop, &s->bind_timer, s->cfg.bind_timeout_ms, 0);
    *out = s;
    return 0;
}
