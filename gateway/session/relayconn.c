/*
 * relayconn.c: a session's connection through its own RFC 4976 relay.
 * AUTH (answering one Digest 401, as deployed clients do), Use-Path from
 * the 200, refresh before Expires runs out (a fresh AUTH round, so a
 * relay whose nonces expired still accepts it). The receiver keeps the
 * AUTHed connection and receives on it; the sender then binds it with an
 * empty SEND to Use-Path + remote path.
 *
 * Finding the relay: a host (address or name) and port, or a domain
 * (RFC 4976 section 6.2): SRV _msrps._tcp.DOMAIN (_msrp._tcp without TLS),
 * targets by priority and weight, each tried until one accepts the
 * connection; without SRV records, the domain itself on port 2855.
 */
#include "gateway/session/session_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/digest.h"
#include "proto/writer.h"
#include "uring/dns.h"

struct gw_relay_state {
    char relay_uri[UR_DNS_NAME_MAX + 32]; /* the target being dialled */
    char domain[UR_DNS_NAME_MAX + 1];
    struct ur_dns_wait dns;               /* the SRV look-up */
    struct ur_dns_srv targets;
    unsigned next_target;
    struct ur_tls_ctx *tls;
    char server_name[UR_DNS_NAME_MAX + 1]; /* "" = each target's host */
    char user[128];
    char pass[128];
    bool has_creds;
    bool receiver;
    bool authed;
    unsigned rounds;   /* 401s answered in this AUTH cycle */
    struct gw_path use_path;
    struct ur_timer refresh;
};

static bool relay_on_open(struct gw_session *s);
static void relay_on_response(struct gw_session *s, struct gw_tx *tx, const struct msrp_head *h);
static void relay_free(struct gw_session *s);
static const struct gw_session_hook relay_hook = {
    .on_open = relay_on_open,
    .on_auth_response = relay_on_response,
    .detach = relay_free,
};

static int send_auth(struct gw_session *s, const char *authorization)
{
    struct gw_relay_state *r = s->relay;
    struct gw_tx *tx = gw_tx_new(s, GW_TX_AUTH, MSRP_REPORT_ABSENT);
    if (!tx)
        return -ENOMEM;
    struct msrp_frame f;
    memset(&f, 0, sizeof(f));
    f.kind = MSRP_REQUEST;
    f.method = MSRP_M_AUTH;
    f.tid = msrp_slice(tx->tid, GW_TID_LEN);
    struct msrp_slice to = msrp_slice(r->relay_uri, strlen(r->relay_uri));
    f.to_path = (struct msrp_wpath){ .texts = &to, .n = 1 };
    f.from_path = (struct msrp_wpath){ .uris = s->local.uris, .n = s->local.n };
    if (authorization)
        f.authorization = msrp_slice(authorization, strlen(authorization));
    char *buf = malloc(GW_HEAD_RESERVE);
    int len = buf ? msrp_write_bodiless(buf, GW_HEAD_RESERVE, &f, '$') : -1;
    int rc = len < 0 ? -EINVAL : gw_tx_send(tx, (uint8_t *)buf, buf, (size_t)len);
    if (rc < 0) {
        free(buf);
        tx->resolved = true;
        gw_tx_maybe_free(tx);
        return rc;
    }
    gw_session_log_out(s, (const uint8_t *)buf, (size_t)len);
    return 0;
}

static void refresh_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    struct gw_session *s = arg;
    if (!s->relay || !s->m)
        return;
    s->relay->rounds = 0;
    gw_session_slog(s, GW_SLOG_DEBUG, "refreshing AUTH with %s", s->relay->relay_uri);
    send_auth(s, NULL);
}

/* --- dialling the relay ---------------------------------------------------- */

static int dial_next(struct gw_session *s, int err);

/* Connections to relay candidates carry these ops until one opens: a
 * failed one gives way to the next target, the first that opens becomes
 * the session's connection. */
static void dial_on_open(struct gw_mconn *m, int err)
{
    struct gw_session *s = gw_mconn_data(m);
    if (m != s->m)
        return;
    if (err) {
        const char *dns = ur_dns_strerror(err);
        gw_session_slog(s, GW_SLOG_WARN, "relay %s: %s%s", s->relay->relay_uri,
                        dns ? "cannot resolve its host: " : "", dns ? dns : strerror(-err));
        if (s->relay->next_target < s->relay->targets.n) {
            s->m = NULL; /* its on_close is ignored */
            gw_mconn_close(m);
            if (dial_next(s, err) == 0)
                return;
            gw_session_fail(s, err);
            return;
        }
        gw_session_mconn_ops.on_open(m, err); /* on_close follows */
        return;
    }
    gw_mconn_set_ops(m, &gw_session_mconn_ops, s);
    gw_session_mconn_ops.on_open(m, 0);
}

static void dial_on_close(struct gw_mconn *m, int err)
{
    struct gw_session *s = gw_mconn_data(m);
    if (m == s->m)
        gw_session_mconn_ops.on_close(m, err);
}

static int dial_on_head(struct gw_mconn *m, const struct msrp_head *h)
{
    (void)h;
    gw_mconn_close(m); /* nothing may arrive before we spoke */
    return GW_MCONN_CONTINUE;
}

static const struct gw_mconn_ops dial_ops = {
    .on_open = dial_on_open,
    .on_head = dial_on_head,
    .on_close = dial_on_close,
};

/* Connects to the next target; 0, or err when none is left. */
static int dial_next(struct gw_session *s, int err)
{
    struct gw_relay_state *r = s->relay;
    while (r->next_target < r->targets.n) {
        const struct ur_dns_srv_target *t = &r->targets.t[r->next_target++];
        int v6 = strchr(t->host, ':') != NULL;
        char uri[sizeof(r->relay_uri)];
        snprintf(uri, sizeof(uri), "%s://%s%s%s:%u;tcp", r->tls ? "msrps" : "msrp",
                 v6 ? "[" : "", t->host, v6 ? "]" : "", t->port);
        memcpy(r->relay_uri, uri, sizeof(uri));
        int rc = gw_mconn_connect(s->loop, t->host, t->port, s->cfg.bind_timeout_ms, r->tls,
                                  r->server_name[0] ? r->server_name : t->host, NULL, &dial_ops,
                                  s, &s->m);
        if (rc == 0)
            return 0;
        err = rc;
    }
    return err;
}

static void srv_done(void *arg, int err, const struct ur_dns_srv *res)
{
    struct gw_session *s = arg;
    struct gw_relay_state *r = s->relay;
    if (err == UR_DNS_E_NONAME) {
        /* No SRV records: the domain itself, on the default port. */
        r->targets.n = 1;
        memcpy(r->targets.t[0].host, r->domain, strlen(r->domain) + 1);
        r->targets.t[0].port = 2855;
        err = 0;
    } else if (!err) {
        r->targets = *res;
    }
    if (!err) {
        for (unsigned i = 0; i < r->targets.n; i++)
            gw_session_slog(s, GW_SLOG_DEBUG, "relay candidate %u for %s: %s:%u", i + 1,
                            r->domain, r->targets.t[i].host, r->targets.t[i].port);
        err = dial_next(s, -EHOSTUNREACH);
    } else {
        gw_session_slog(s, GW_SLOG_ERROR, "cannot find the relay of %s: %s", r->domain,
                        ur_dns_strerror(err) ? ur_dns_strerror(err) : strerror(-err));
    }
    if (err)
        gw_session_fail(s, err);
}

int gw_session_relay_start(struct gw_session *s, const struct gw_relay_settings *rs, int receiver)
{
    const char *where = rs->domain ? rs->domain : rs->host;
    if (!where || !*where || strlen(where) > UR_DNS_NAME_MAX ||
        (rs->server_name && strlen(rs->server_name) > UR_DNS_NAME_MAX))
        return -EINVAL;
    struct gw_relay_state *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->tls = rs->tls;
    if (rs->server_name)
        strcpy(r->server_name, rs->server_name);
    if (rs->username) {
        if (strlen(rs->username) >= sizeof(r->user) ||
            (rs->password && strlen(rs->password) >= sizeof(r->pass))) {
            free(r);
            return -E2BIG;
        }
        strcpy(r->user, rs->username);
        strcpy(r->pass, rs->password ? rs->password : "");
        r->has_creds = true;
    }
    r->receiver = receiver != 0;
    ur_timer_init(&r->refresh, refresh_cb, s);
    int hr = gw_session_hook_add(s, &relay_hook);
    if (hr < 0) {
        free(r);
        return hr;
    }
    s->relay = r;
    int rc;
    if (rs->domain) {
        char q[UR_DNS_NAME_MAX + 16];
        strcpy(r->domain, rs->domain);
        snprintf(q, sizeof(q), "_%s._tcp.%s", rs->tls ? "msrps" : "msrp", rs->domain);
        rc = strlen(q) > UR_DNS_NAME_MAX ? -EINVAL : ur_dns_resolve_srv(s->loop, q, &r->dns, srv_done, s);
    } else {
        r->targets.n = 1;
        strcpy(r->targets.t[0].host, rs->host);
        r->targets.t[0].port = rs->port;
        rc = dial_next(s, -EINVAL);
    }
    if (rc < 0) {
        relay_free(s);
        return rc;
    }
    return 0;
}

/* The mconn is open: AUTH with the relay comes before binding. */
static bool relay_on_open(struct gw_session *s)
{
    if (!s->relay)
        return false;
    s->state = GW_S_AUTH;
    int rc = send_auth(s, NULL);
    if (rc < 0)
        gw_session_fail(s, rc);
    return true;
}

static void auth_failed(struct gw_session *s, int err)
{
    if (s->relay->authed) {
        /* A failed refresh: the reservation may still hold until Expires;
         * the relay closes the connection if it does not. */
        gw_session_slog(s, GW_SLOG_WARN, "AUTH refresh failed");
        return;
    }
    gw_session_fail(s, err);
}

static void on_401(struct gw_session *s, const struct msrp_head *h)
{
    struct gw_relay_state *r = s->relay;
    const struct msrp_header *wa = msrp_head_find(h, MSRP_H_WWW_AUTHENTICATE);
    if (!r->has_creds || r->rounds++ >= 1 || !wa) {
        s->last_code = 401;
        gw_session_slog(s, GW_SLOG_ERROR, "relay %s refused AUTH: 401%s", r->relay_uri,
                        r->has_creds ? "" : " (no credentials given)");
        auth_failed(s, -EACCES);
        return;
    }
    struct msrp_digest_fields *chal = malloc(sizeof(*chal));
    if (!chal) {
        auth_failed(s, -ENOMEM);
        return;
    }
    char cnonce[17], value[1024];
    int len = -1;
    if (msrp_digest_parse(chal, wa->value.p, wa->value.n) == 0) {
        gw_session_next_tid(s, cnonce);
        struct msrp_digest_client c = {
            .username = msrp_slice(r->user, strlen(r->user)),
            .password = msrp_slice(r->pass, strlen(r->pass)),
            .uri = msrp_slice(r->relay_uri, strlen(r->relay_uri)),
            .cnonce = msrp_slice(cnonce, 16),
            .nc = 1,
        };
        len = msrp_digest_authorization(value, sizeof(value) - 1, chal, &c);
    }
    free(chal);
    if (len < 0) {
        gw_session_slog(s, GW_SLOG_ERROR, "cannot answer the relay's Digest challenge");
        auth_failed(s, -EPROTO);
        return;
    }
    value[len] = '\0';
    if (send_auth(s, value) < 0)
        auth_failed(s, -ENOMEM);
}

static void on_200(struct gw_session *s, const struct msrp_head *h)
{
    struct gw_relay_state *r = s->relay;
    if (h->n_use_path == 0 || gw_path_set_uris(&r->use_path, h->use_path, h->n_use_path) != 0) {
        gw_session_slog(s, GW_SLOG_ERROR, "AUTH 200 without a usable Use-Path");
        auth_failed(s, -EPROTO);
        return;
    }
    if (h->has_expires && h->expires > 0) {
        /* Refresh at 80% of the lifetime, never more often than 1 s. */
        uint64_t ms = (uint64_t)h->expires * 800;
        ur_timer_arm(s->loop, &r->refresh, ms < 1000 ? 1000 : ms, 0);
    }
    if (r->authed)
        return;
    r->authed = true;
    gw_session_slog(s, GW_SLOG_DEBUG, "AUTH accepted, Use-Path %s", r->use_path.text);
    /* Our path is the Use-Path + our URI: what the peer sends to (the
     * receiver's a=path), and what incoming From-Paths start with,
     * reversed (gw_session_from_path_ok). */
    gw_path_copy(&s->local_full, &s->local);
    if (gw_path_prepend(&s->local_full, &r->use_path) != 0) {
        auth_failed(s, -E2BIG);
        return;
    }
    if (r->receiver) {
        gw_session_set_ready(s, 0);
        return;
    }
    if (gw_path_prepend(&s->to, &r->use_path) != 0) {
        auth_failed(s, -E2BIG);
        return;
    }
    int rc = gw_session_bind_send(s);
    if (rc < 0)
        auth_failed(s, rc);
}

static void relay_on_response(struct gw_session *s, struct gw_tx *tx, const struct msrp_head *h)
{
    (void)tx;
    if (!s->relay)
        return;
    if (h->status != 200 && h->status != 401)
        s->last_code = h->status;
    switch (h->status) {
    case 200:
        on_200(s, h);
        break;
    case 401:
        on_401(s, h);
        break;
    default:
        gw_session_slog(s, GW_SLOG_ERROR, "relay refused AUTH: %u %.*s", h->status,
                        (int)h->comment.n, h->comment.p);
        auth_failed(s, -EACCES);
        break;
    }
}

static void relay_free(struct gw_session *s)
{
    if (!s->relay)
        return;
    ur_timer_cancel(s->loop, &s->relay->refresh);
    ur_dns_cancel(&s->relay->dns);
    free(s->relay);
    s->relay = NULL;
}
