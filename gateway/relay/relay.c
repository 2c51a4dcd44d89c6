/*
 * relay.c: the relay and its cores: creation with the configuration's
 * defaults, a core's tables, listeners and sweep timer, drain and
 * shutdown, the relay's own ids and URIs, and the figures summed over
 * cores. Connections live in relay_conn.c, routing in relay_route.c,
 * next hops in relay_peer.c, reservations in relay_session.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "gateway/relay/relay_internal.h"
#include "proto/writer.h"
#include "uring/conn.h"
#include "uring/dns.h"
#include "uring/listener.h"
#include "uring/loop.h"

/* --- ids and URIs ------------------------------------------------------- */

int relay_new_tid(struct gw_relay_core *core, char out[RELAY_TID_LEN])
{
    return msrp_tid_gen_next(&core->tids, out, RELAY_TID_LEN) == 0 ? 0 : -EIO;
}

int relay_new_sessid(struct gw_relay_core *core, char out[GW_RELAY_SESSID_LEN + 1])
{
    for (int tries = 0; tries < 4; tries++) {
        out[0] = gw_relay_core_char(core->idx);
        if (msrp_tid_gen_next(&core->tids, out + 1, GW_RELAY_SESSID_LEN - 1) != 0)
            return -EIO;
        out[GW_RELAY_SESSID_LEN] = '\0';
        if (!relay_table_get(&core->sessions, out, GW_RELAY_SESSID_LEN))
            return 0;
    }
    return -EEXIST;
}

/* The TCP (or TLS) listener our Use-Path names. WebSocket listeners
 * never: the Use-Path is for the far side, which reaches us over TCP
 * (RFC 7977's example answers a ws client's AUTH with a ;tcp Use-Path). */
static uint16_t self_port(const struct gw_relay *r, bool tls)
{
    for (unsigned i = 0; i < r->cfg.n_listen; i++)
        if (r->cfg.listen[i].tls == tls && !r->cfg.listen[i].ws)
            return r->cfg.listen[i].port;
    return 0;
}

/* Splits ws_origins into r->ws (the config every ws connection reads). */
static void ws_config_init(struct gw_relay *r)
{
    snprintf(r->ws_origins_buf, sizeof(r->ws_origins_buf), "%s", r->cfg.ws_origins);
    unsigned n = 0;
    char *save = NULL;
    for (char *t = strtok_r(r->ws_origins_buf, " ,\t", &save);
         t && n < sizeof(r->ws_origins) / sizeof(r->ws_origins[0]);
         t = strtok_r(NULL, " ,\t", &save))
        r->ws_origins[n++] = t;
    r->ws.origins = r->ws_origins;
    r->ws.n_origins = n;
    r->ws.max_message = r->cfg.ws_max_message;
    r->ws.handshake_timeout_ms = r->cfg.ws_handshake_timeout_ms;
}

int relay_self_uri(const struct gw_relay_core *core, bool tls, const char *sessid, char *buf,
                   size_t cap)
{
    const struct gw_relay *r = core->r;
    size_t pn = r->self_pre_n[tls];
    size_t sn = sessid ? strlen(sessid) : 0;
    size_t n = pn + (sn ? 1 + sn : 0) + 4;
    if (pn == 0 || n >= cap)
        return -ENOSPC;
    char *o = buf;
    memcpy(o, r->self_pre[tls], pn);
    o += pn;
    if (sn) {
        *o++ = '/';
        memcpy(o, sessid, sn);
        o += sn;
    }
    memcpy(o, ";tcp", 5);
    return (int)n;
}

bool relay_is_self(const struct gw_relay_core *core, const struct msrp_uri *u)
{
    const struct gw_relay *r = core->r;
    bool tls = u->scheme == MSRP_SCHEME_MSRPS;
    uint16_t port = msrp_uri_port(u);
    /* Ports first: most URIs that are not ours (the receivers a chunk
     * goes to) fail there, before any host is compared. */
    bool port_ok = false, host_ok = false;
    for (unsigned i = 0; i < r->cfg.n_listen; i++) {
        const struct gw_relay_listen *l = &r->cfg.listen[i];
        if (l->tls != tls || l->port != port)
            continue;
        port_ok = true;
        if (!host_ok && msrp_slice_caseeq(u->host, msrp_slice(l->host, r->listen_host_n[i])))
            host_ok = true;
    }
    if (!port_ok)
        return false;
    return host_ok || msrp_slice_caseeq(u->host, msrp_slice(r->cfg.uri_host, r->uri_host_n));
}

/* --- lifecycle ------------------------------------------------------------ */

/* This host's addresses: our own ports there are ours (relay_policy.h),
 * whatever name or address a To-Path gives them. Interfaces that come
 * later are not known; loopback and unspecified are covered anyway. */
static void policy_add_host_addrs(struct gw_dest_policy *p)
{
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0) {
        gw_log(GW_LOG_WARN, NULL, NULL, "cannot list this host's addresses: %s", strerror(errno));
        return;
    }
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next)
        if (i->ifa_addr && (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
            gw_policy_add_local(p, i->ifa_addr);
    freeifaddrs(ifs);
}

int gw_relay_new(struct gw_relay **out, const struct gw_relay_config *cfg, unsigned ncores)
{
    if (ncores == 0 || ncores > GW_RELAY_MAX_CORES || cfg->n_listen == 0 ||
        cfg->n_listen > GW_RELAY_LISTEN_MAX)
        return -EINVAL;
    struct gw_relay *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->cfg = *cfg;
    atomic_init(&r->tls_server, cfg->tls_server);
    atomic_init(&r->tls_client, cfg->tls_client);
    r->ncores = ncores;
    msrp_limits_check(&r->cfg.limits);
    /* Responses are matched by tid alone (relay_fwd_response): their paths
     * are never read, so not parsed either (issue 12: per-chunk cost). */
    r->cfg.limits.raw_response_paths = true;
    if (!r->cfg.chunk_timeout_ms)
        r->cfg.chunk_timeout_ms = 30000;
    if (!r->cfg.connect_timeout_ms)
        r->cfg.connect_timeout_ms = 10000;
    if (!r->cfg.max_learned_uris)
        r->cfg.max_learned_uris = 4096;
    if (!r->cfg.bind_timeout_ms)
        r->cfg.bind_timeout_ms = 30000;
    if (!r->cfg.header_timeout_ms)
        r->cfg.header_timeout_ms = 10000;
    if (!r->cfg.chunk_stall_timeout_ms)
        r->cfg.chunk_stall_timeout_ms = 10000;
    if (!r->cfg.max_chunks_in_flight)
        r->cfg.max_chunks_in_flight = 64;
    /* The Digest nonce key: fresh per process start, so nonces from a
     * previous run are refused. */
    if (getrandom(r->secret, sizeof(r->secret), 0) != (ssize_t)sizeof(r->secret)) {
        free(r);
        return -EIO;
    }
    r->dsv.secret = r->secret;
    r->dsv.secret_len = sizeof(r->secret);
    r->dsv.realm = msrp_slice(r->cfg.realm, strlen(r->cfg.realm));
    r->dsv.lifetime = r->cfg.nonce_lifetime ? r->cfg.nonce_lifetime : 300;
    if (relay_auth_init(r) < 0) {
        free(r);
        return -ENOMEM;
    }
    r->uri_host_n = strlen(r->cfg.uri_host);
    for (unsigned i = 0; i < r->cfg.n_listen; i++) {
        r->listen_host_n[i] = strlen(r->cfg.listen[i].host);
        gw_policy_add_self_port(&r->cfg.dest, r->cfg.listen[i].port);
    }
    policy_add_host_addrs(&r->cfg.dest);
    bool v6 = strchr(r->cfg.uri_host, ':') != NULL;
    for (int tls = 0; tls < 2; tls++) {
        int n = snprintf(r->self_pre[tls], sizeof(r->self_pre[tls]), "%s://%s%s%s:%u",
                         tls ? "msrps" : "msrp", v6 ? "[" : "", r->cfg.uri_host, v6 ? "]" : "",
                         self_port(r, tls));
        r->self_pre_n[tls] = n > 0 && (size_t)n < sizeof(r->self_pre[tls]) ? (size_t)n : 0;
    }
    if (!self_port(r, true)) {
        /* No TLS listener: a wss client's Use-Path names the plain one. */
        memcpy(r->self_pre[1], r->self_pre[0], sizeof(r->self_pre[1]));
        r->self_pre_n[1] = r->self_pre_n[0];
    }
    ws_config_init(r);
    *out = r;
    return 0;
}

void gw_relay_free(struct gw_relay *r)
{
    if (!r)
        return;
    for (unsigned i = 0; i < r->ncores; i++)
        free(r->cores[i]);
    relay_auth_fini(r);
    free(r);
}

static void core_tables_free(struct gw_relay_core *core)
{
    relay_table_free(&core->sessions);
    relay_table_free(&core->pieces);
    relay_table_free(&core->peers);
    relay_table_free(&core->learned);
    relay_table_free(&core->anchor_legs);
}

int gw_relay_core_init(struct ur_loop *loop, unsigned idx, void *ud)
{
    struct gw_relay *r = ud;
    if (idx >= r->ncores)
        return -EINVAL;
    struct gw_relay_core *core = calloc(1, sizeof(*core) + sizeof(struct relay_listen_ctx) * GW_RELAY_LISTEN_MAX);
    if (!core)
        return -ENOMEM;
    core->r = r;
    core->loop = loop;
    core->met = r->cfg.metrics ? &r->cfg.metrics[idx] : NULL;
    core->idx = idx;
    if (relay_table_init(&core->sessions, 1024) < 0 || relay_table_init(&core->pieces, 1024) < 0 ||
        relay_table_init(&core->peers, 64) < 0 || relay_table_init(&core->learned, 64) < 0 ||
        relay_table_init(&core->anchor_legs, 64) < 0) {
        core_tables_free(core);
        free(core);
        return -ENOMEM;
    }
    core->pieces.own_keys = true; /* keyed by relay_new_tid's ids only */
    size_t hb = r->cfg.limits.max_header_bytes;
    core->peek_buf = malloc(hb);
    core->peek_head = malloc(sizeof(*core->peek_head));
    core->peek_scratch = malloc(hb);
    if (!core->peek_buf || !core->peek_head || !core->peek_scratch) {
        /* Steering is an optimisation of placement: without it every
         * connection stays where it was accepted. */
        free(core->peek_buf);
        core->peek_buf = NULL;
    }
    struct relay_listen_ctx *lcs = (struct relay_listen_ctx *)(core + 1);
    for (unsigned i = 0; i < r->cfg.n_listen; i++) {
        const struct gw_relay_listen *l = &r->cfg.listen[i];
        lcs[i].core = core;
        lcs[i].tls = l->tls;
        lcs[i].ws = l->ws;
        int err = ur_listen(loop, &core->ls[i], l->host, l->port, 0, relay_conn_on_accept, &lcs[i]);
        if (err < 0) {
            gw_log(GW_LOG_ERROR, NULL, NULL, "cannot listen on %s:%u: %s", l->host, l->port, strerror(-err));
            for (unsigned j = 0; j < i; j++)
                ur_listener_close(core->ls[j]);
            core_tables_free(core);
            free(core);
            return err;
        }
        core->nls++;
        if (idx == 0)
            gw_log(GW_LOG_INFO, NULL, NULL, "listening on %s://%s:%u (relay URI %s://%s:%u;%s)",
                   l->ws ? (l->tls ? "wss" : "ws") : l->tls ? "msrps" : "msrp", l->host,
                   l->port, l->tls ? "msrps" : "msrp", r->cfg.uri_host, l->port,
                   l->ws ? "ws" : "tcp");
    }
    relay_hep_open(core); /* HEP3 capture: off (logged) when it cannot open */
    ur_timer_init(&core->sweep, relay_conn_sweep, core);
    uint64_t period = relay_conn_sweep_period_ms(&r->cfg);
    ur_timer_arm(loop, &core->sweep, period, period);
    r->cores[idx] = core;
    ur_loop_set_data(loop, core);
    return 0;
}

void gw_relay_core_fini(struct ur_loop *loop, unsigned idx, void *ud)
{
    struct gw_relay *r = ud;
    struct gw_relay_core *core = r->cores[idx];
    if (!core)
        return;
    ur_timer_cancel(loop, &core->sweep);
    /* Connections still open are freed with the loop, without callbacks
     * (uring/loop.h); the relay's per-connection state goes with them. */
    relay_anchor_free_all(core);
    while (core->conns) {
        struct rconn *rc = core->conns;
        relay_conn_unlist(rc);
        relay_learn_forget(rc);
        free(rc->client_uri);
        free(rc);
    }
    core_tables_free(core);
    relay_hep_close(core);
    free(core->peek_buf);
    free(core->peek_head);
    free(core->peek_scratch);
    core->peek_buf = NULL;
}

static void drain_cb(struct ur_loop *loop, void *arg)
{
    (void)arg;
    struct gw_relay_core *core = ur_loop_data(loop);
    if (!core || core->draining)
        return;
    core->draining = true;
    for (unsigned i = 0; i < core->nls; i++)
        ur_listener_close(core->ls[i]);
    core->nls = 0;
}

/* Runs fn on every core. A post fails only when memory is short: retried
 * for up to a second, then the core is named in the log (the caller's
 * bounded waits then end the daemon regardless). */
static void post_all(struct gw_relay *r, ur_post_fn fn, const char *what)
{
    for (unsigned i = 0; i < r->ncores; i++) {
        if (!r->cores[i])
            continue;
        int err = 0;
        for (int tries = 0; tries < 100; tries++) {
            if ((err = ur_loop_post(r->cores[i]->loop, fn, NULL)) == 0)
                break;
            struct timespec pause = { 0, 10 * 1000 * 1000 };
            nanosleep(&pause, NULL);
        }
        if (err < 0)
            gw_log(GW_LOG_ERROR, NULL, NULL, "cannot reach core %u to %s: %s", i, what,
                   strerror(-err));
    }
}

void gw_relay_drain(struct gw_relay *r)
{
    atomic_store(&r->draining, 1);
    post_all(r, drain_cb, "drain it");
}

static void close_all_cb(struct ur_loop *loop, void *arg)
{
    (void)arg;
    struct gw_relay_core *core = ur_loop_data(loop);
    if (!core)
        return;
    drain_cb(loop, NULL);
    relay_steer_abort_all(core);
    for (struct rconn *rc = core->conns; rc; rc = rc->next) {
        if (!rc->end_reason)
            rc->end_reason = "shutdown";
        gw_mconn_close(rc->m); /* on_close (and the unlisting) comes later */
    }
}

void gw_relay_close_all(struct gw_relay *r)
{
    post_all(r, close_all_cb, "close its connections");
}

unsigned gw_relay_conns(const struct gw_relay *r)
{
    unsigned n = 0;
    for (unsigned i = 0; i < r->ncores; i++)
        if (r->cores[i])
            n += atomic_load(&r->cores[i]->nconns);
    return n;
}

bool gw_relay_busy(const struct gw_relay *r)
{
    for (unsigned i = 0; i < r->ncores; i++)
        if (r->cores[i] &&
            atomic_load_explicit(&r->cores[i]->stats.active_chunks, memory_order_relaxed) > 0)
            return true;
    return false;
}

void gw_relay_get_stats(const struct gw_relay *r, struct gw_relay_stats *st)
{
    memset(st, 0, sizeof(*st));
    for (unsigned i = 0; i < r->ncores; i++) {
        const struct gw_relay_core *c = r->cores[i];
        if (!c)
            continue;
#define GW_RELAY_STAT_SUM(name, help) \
    st->name += atomic_load_explicit(&c->stats.name, memory_order_relaxed);
        GW_RELAY_STATS(GW_RELAY_STAT_SUM)
#undef GW_RELAY_STAT_SUM
        st->sessions += atomic_load_explicit(&c->stats.sessions, memory_order_relaxed);
        st->active_chunks += atomic_load_explicit(&c->stats.active_chunks, memory_order_relaxed);
    }
}

struct gw_relay_core *gw_relay_core_of(struct ur_loop *loop)
{
    return ur_loop_data(loop);
}

const char *gw_relay_sdp_addr(const struct gw_relay *r) { return r->cfg.uri_host; }

uint16_t gw_relay_port(const struct gw_relay *r, bool tls) { return self_port(r, tls); }

unsigned gw_relay_ncores(const struct gw_relay *r) { return r->ncores; }

void gw_relay_set_tls(struct gw_relay *r, struct ur_tls_ctx *server, struct ur_tls_ctx *client,
                      struct ur_tls_ctx **old_server, struct ur_tls_ctx **old_client)
{
    *old_server = atomic_exchange(&r->tls_server, server);
    *old_client = atomic_exchange(&r->tls_client, client);
}
