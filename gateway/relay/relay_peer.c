/*
 * relay_peer.c: connections to next hops. Outgoing connections are shared
 * per authority (and per target core of an msrpgw); the destination
 * policy (relay_policy.h) sees every address a next hop may reach before
 * a connection is made; a hop between two cores of this relay goes over
 * a loopback connection to our own listener.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/relay/relay_internal.h"

#include "uring/conn.h"
#include "uring/loop.h"

/* Outgoing connections are shared per authority and per first character of
 * the next hop's session id: a sharded relay (msrpgw) serves a connection
 * from the core its first frame steered it to, and that character names
 * the core; for other relays it only means a few more connections. */
static int authority_key(const struct msrp_uri *u, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s://%.*s:%u/%.*s", u->scheme == MSRP_SCHEME_MSRPS ? "msrps" : "msrp",
                     (int)u->host.n, u->host.p, msrp_uri_port(u), u->session_id.n ? 1 : 0,
                     u->session_id.p ? u->session_id.p : "");
    if (n < 0 || (size_t)n >= cap)
        return -ENOSPC;
    for (int i = 0; i < n; i++)
        if (buf[i] >= 'A' && buf[i] <= 'Z')
            buf[i] = (char)(buf[i] - 'A' + 'a');
    return n;
}

/* relay_peer_get, with the TLS server name given apart from the host and
 * the TLS client context (NULL: the configured one). */
static int peer_get_at(struct gw_relay_core *core, const struct msrp_uri *u,
                       const char *server_name, struct ur_tls_ctx *tls_ctx, bool self_hop,
                       struct rconn **out, bool *is_new);
static int connect_new(struct gw_relay_core *core, const struct msrp_uri *u,
                       const char *server_name, struct ur_tls_ctx *tls_ctx, bool self_hop,
                       struct rconn **out);

int relay_peer_get(struct gw_relay_core *core, const struct msrp_uri *u, struct rconn **out,
                   bool *is_new)
{
    return peer_get_at(core, u, NULL, NULL, false, out, is_new);
}

/*
 * A hop between two cores of this relay: u is our own URI naming another
 * core's session (both endpoints AUTHed here, on different cores). The
 * chunk goes over a loopback connection to our own listener -- plain if
 * we have one (the bytes never leave this host), else TLS with tls_self,
 * which does not verify: the peer is our own listening socket -- whose
 * first frame the listener steers to u's core, like any sender's. Shared
 * per target core like every outgoing connection.
 */
int relay_peer_self_hop(struct gw_relay_core *core, const struct msrp_uri *u, struct rconn **out)
{
    const struct gw_relay *r = core->r;
    const struct gw_relay_listen *l = NULL;
    for (unsigned i = 0; i < r->cfg.n_listen; i++)
        if (!r->cfg.listen[i].ws && (!l || (l->tls && !r->cfg.listen[i].tls)))
            l = &r->cfg.listen[i]; /* our hop speaks MSRP over TCP, not WebSocket */
    if (!l)
        return -ENOENT;
    /* The hop relies on the listener steering its first frame to u's
     * core; a core that cannot steer would adopt it and hop again. */
    for (unsigned i = 0; i < r->ncores; i++)
        if (r->cores[i] && !r->cores[i]->peek_buf)
            return -ENOTSUP;
    const char *host = l->host;
    if (!strcmp(host, "0.0.0.0") || !*host)
        host = "127.0.0.1";
    else if (!strcmp(host, "::"))
        host = "::1";
    struct msrp_uri v = *u;
    v.scheme = l->tls ? MSRP_SCHEME_MSRPS : MSRP_SCHEME_MSRP;
    v.host = msrp_slice(host, strlen(host));
    v.has_port = true;
    v.port = l->port;
    bool may_open = true;
    return peer_get_at(core, &v, r->cfg.uri_host, l->tls ? r->cfg.tls_self : NULL, true, out,
                       &may_open);
}

static int peer_get_at(struct gw_relay_core *core, const struct msrp_uri *u,
                       const char *server_name, struct ur_tls_ctx *tls_ctx, bool self_hop,
                       struct rconn **out, bool *is_new)
{
    char key[RELAY_KEY_MAX];
    int kn = authority_key(u, key, sizeof(key));
    if (kn < 0)
        return kn;
    struct rnode *n = relay_table_get(&core->peers, key, (size_t)kn);
    if (n) {
        struct rconn *rc = RCONTAINER(n, struct rconn, peer_node);
        if (!rc->closing) {
            rc->last_use_ns = ur_loop_turn_ns(core->loop);
            *out = rc;
            *is_new = false;
            RSTAT(core, conns_reused);
            return 0;
        }
    }
    if (!*is_new)
        return -ENOENT; /* caller may not open connections */
    struct rconn *rc;
    int err = connect_new(core, u, server_name, tls_ctx, self_hop, &rc);
    if (err < 0)
        return err;
    memcpy(rc->key, key, (size_t)kn + 1);
    rc->peer_node.key = rc->key;
    rc->peer_node.klen = (size_t)kn;
    relay_table_put(&core->peers, &rc->peer_node);
    rc->in_peers = true;
    const struct gw_relay_config *cfg = &core->r->cfg;
    if (cfg->idle_timeout_ms)
        ur_timer_arm(core->loop, &rc->idle, cfg->idle_timeout_ms, 0);
    *out = rc;
    *is_new = true;
    RLOG(UR_LOG_INFO, rc, "connecting to next hop %s", key);
    return 0;
}

int relay_connect_private(struct gw_relay_core *core, const struct msrp_uri *u, struct rconn **out)
{
    struct rconn *rc;
    int err = connect_new(core, u, NULL, NULL, false, &rc);
    if (err < 0)
        return err;
    /* For the logs; cut to the key's size. */
    snprintf(rc->key, sizeof(rc->key), "%.*s", (int)u->raw.n, u->raw.p);
    *out = rc;
    return 0;
}

/* --- the destination policy (relay_policy.h) ------------------------------ */

static bool dest_log_denied(const struct sockaddr *sa, enum gw_dest_verdict v)
{
    char a[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof(a));
        port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, a, sizeof(a));
        port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    }
    /* Debug level: senders choose these; the metric counts them. */
    gw_log(GW_LOG_DEBUG, NULL, NULL, "next hop %s port %u refused: %s", a, port,
           gw_policy_verdict_name(v));
    return false;
}

/* ur_addr_filter_fn of a connection by name: each resolved address. */
static bool dest_filter(void *arg, const struct sockaddr *sa)
{
    struct rconn *rc = arg;
    enum gw_dest_verdict v = gw_policy_check(&rc->core->r->cfg.dest, sa);
    if (v == GW_DEST_OK)
        return true;
    rc->dest_denied = true; /* if no address is left: 403 (rc_on_open) */
    return dest_log_denied(sa, v);
}

/* A numeric host: 1 = a denied address, 0 = allowed, -1 = a name. */
static int dest_check_numeric(struct gw_relay_core *core, const char *host, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
    } else {
        return -1;
    }
    enum gw_dest_verdict v = gw_policy_check(&core->r->cfg.dest, (struct sockaddr *)&ss);
    if (v == GW_DEST_OK)
        return 0;
    dest_log_denied((struct sockaddr *)&ss, v);
    return 1;
}

/* A new outgoing connection to u's authority (TLS for msrps: with tls_ctx,
 * else the configured client context; server_name NULL = u's host). Every
 * address it may reach passes the destination policy first (-EACCES for
 * a denied numeric host) -- except the hop to our own listener. */
static int connect_new(struct gw_relay_core *core, const struct msrp_uri *u,
                       const char *server_name, struct ur_tls_ctx *tls_ctx, bool self_hop,
                       struct rconn **out)
{
    const struct gw_relay_config *cfg = &core->r->cfg;
    bool tls = u->scheme == MSRP_SCHEME_MSRPS;
    /* A ws next hop is a WebSocket client (RFC 7977: it cannot be
     * dialled; it is reached over the connection it AUTHed on) or a
     * WebSocket server, which we do not connect to (uring/ws.h). */
    if (msrp_slice_caseeq(u->transport, msrp_slice("ws", 2)))
        return -EPROTONOSUPPORT;
    if (!tls)
        tls_ctx = NULL;
    else if (!tls_ctx)
        tls_ctx = atomic_load(&core->r->tls_client);
    if (tls && !tls_ctx)
        return -EPROTONOSUPPORT;
    char host[256];
    if (u->host.n >= sizeof(host))
        return -EINVAL;
    memcpy(host, u->host.p, u->host.n);
    host[u->host.n] = '\0';
    int numeric = self_hop ? 0 : dest_check_numeric(core, host, msrp_uri_port(u));
    if (numeric > 0) {
        MET(core, drops[GW_DROP_DEST_DENIED]);
        return -EACCES;
    }
    struct rconn *rc = relay_conn_new(core, tls, true);
    if (!rc)
        return -ENOMEM;
    rc->self_hop = self_hop;
    int err = gw_mconn_connect(core->loop, host, msrp_uri_port(u), cfg->connect_timeout_ms,
                               tls_ctx, server_name ? server_name : host, &cfg->limits,
                               &relay_conn_ops, rc, &rc->m);
    if (err < 0) {
        relay_conn_unlist(rc);
        free(rc);
        return err;
    }
    if (numeric < 0 && !self_hop)
        ur_conn_set_addr_filter(gw_mconn_conn(rc->m), dest_filter, rc);
    RSTAT(core, conns_out);
    *out = rc;
    return 0;
}
