/*
 * relay.c: the relay's cores, listeners and connections, and the dispatch
 * of each received frame: responses to relay_fwd.c, AUTH to relay_auth.c,
 * SEND/REPORT routed by To-Path (RFC 4976 section 6) to a reservation or
 * to a next hop, everything else answered here.
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

#include "gateway/relay_internal.h"
#include "proto/writer.h"
#include "uring/conn.h"
#include "uring/dns.h"
#include "uring/listener.h"
#include "uring/loop.h"

struct lctx {
    struct gw_relay_core *core;
    bool tls;
};

static const struct gw_mconn_ops relay_ops;

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

static uint16_t self_port(const struct gw_relay *r, bool tls)
{
    for (unsigned i = 0; i < r->cfg.n_listen; i++)
        if (r->cfg.listen[i].tls == tls)
            return r->cfg.listen[i].port;
    return 0;
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
    struct msrp_slice host = msrp_slice(r->cfg.uri_host, r->uri_host_n);
    bool host_ok = msrp_slice_caseeq(u->host, host);
    bool port_ok = false;
    for (unsigned i = 0; i < r->cfg.n_listen; i++) {
        const struct gw_relay_listen *l = &r->cfg.listen[i];
        if (l->tls != tls || l->port != port)
            continue;
        port_ok = true;
        if (!host_ok && msrp_slice_caseeq(u->host, msrp_slice(l->host, r->listen_host_n[i])))
            host_ok = true;
    }
    return host_ok && port_ok;
}

/* --- sessions ------------------------------------------------------------ */

static uint64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void conn_bytes(const struct rconn *rc, uint64_t *in, uint64_t *out)
{
    struct ur_conn_stats cs = { 0 };
    if (rc->m)
        ur_conn_get_stats(gw_mconn_conn(rc->m), &cs);
    *in = cs.bytes_in;
    *out = cs.bytes_out;
}

/* A reservation starts (its duration counts from its AUTH's 200). Its
 * bytes and chunks count from the connection's start -- the AUTH exchange
 * is the session's too, and the kernel's counts of the socket say the
 * same -- or, after an "Expires: 0" ended an earlier reservation of the
 * connection, from that end (acct_rebase). */
static void acct_begin(struct rconn *rc)
{
    rc->acct_start_ms = unix_ms();
    rc->acct_start_ns = ur_now_ns();
    rc->end_reason = NULL;
}

static void acct_rebase(struct rconn *rc)
{
    conn_bytes(rc, &rc->acct_base_in, &rc->acct_base_out);
    rc->acct_base_chunks_in = rc->chunks_in;
    rc->acct_base_chunks_out = rc->chunks_out;
    rc->acct_base_body_in = rc->body_in;
    rc->acct_base_body_out = rc->body_out;
}

void relay_acct_fill(struct rconn *rc, struct gw_acct_record *out)
{
    uint64_t in, o;
    conn_bytes(rc, &in, &o);
    *out = (struct gw_acct_record){
        .kind = "reservation", .id = rc->sessid, .user = rc->user,
        .peer = rc->m ? gw_mconn_peer(rc->m) : "", .remote = rc->client_uri,
        .start_ms = rc->acct_start_ms, .duration_ms = (ur_now_ns() - rc->acct_start_ns) / 1000000u,
        .bytes_in = in - rc->acct_base_in, .bytes_out = o - rc->acct_base_out,
        .body_in = rc->body_in - rc->acct_base_body_in,
        .body_out = rc->body_out - rc->acct_base_body_out,
        .chunks_in = rc->chunks_in - rc->acct_base_chunks_in,
        .chunks_out = rc->chunks_out - rc->acct_base_chunks_out,
    };
}

void gw_relay_sessions(struct gw_relay_core *core,
                       void (*fn)(void *arg, const struct gw_acct_record *s), void *arg)
{
    for (struct rconn *rc = core->conns; rc; rc = rc->next) {
        if (!rc->reserved || rc->closing)
            continue;
        struct gw_acct_record rec;
        relay_acct_fill(rc, &rec);
        fn(arg, &rec);
    }
    relay_anchor_sessions(core, fn, arg);
}

int gw_relay_kill(struct gw_relay_core *core, struct msrp_slice id)
{
    struct rnode *n = relay_table_get(&core->sessions, id.p, id.n);
    if (!n)
        return relay_anchor_kill(core, id);
    struct rconn *rc = RCONTAINER(n, struct rconn, sess_node);
    if (rc->closing)
        return 0;
    RLOG(UR_LOG_INFO, rc, "session killed by the admin: closing its connection");
    rc->end_reason = "killed";
    rc->closing = true; /* on_close (the cleanup) comes later */
    gw_mconn_close(rc->m);
    return 1;
}

int relay_bind_session(struct rconn *rc, const struct msrp_uri *client)
{
    struct gw_relay_core *core = rc->core;
    char *text = malloc(client->raw.n + 1);
    if (!text)
        return -ENOMEM;
    memcpy(text, client->raw.p, client->raw.n);
    text[client->raw.n] = '\0';
    struct msrp_uri u;
    if (msrp_uri_parse(&u, text, client->raw.n, 0) != 0) {
        free(text);
        return -EINVAL;
    }
    if (!rc->reserved) {
        int rcode = relay_new_sessid(core, rc->sessid);
        if (rcode < 0) {
            free(text);
            return rcode;
        }
        rc->sess_node.key = rc->sessid;
        rc->sess_node.klen = GW_RELAY_SESSID_LEN;
        relay_table_put(&core->sessions, &rc->sess_node);
        rc->reserved = true;
        RSTAT_ADD(core, sessions, 1);
        MET(core, sessions_current);
        acct_begin(rc);
    }
    free(rc->client_uri);
    rc->client_uri = text;
    rc->client = u;
    return 0;
}

void relay_unbind_session(struct rconn *rc)
{
    if (!rc->reserved)
        return;
    if (gw_acct_enabled()) {
        struct gw_acct_record rec;
        relay_acct_fill(rc, &rec);
        rec.reason = rc->end_reason ? rc->end_reason : rc->closing ? "normal" : "unregistered";
        gw_acct_put(&rec);
    }
    acct_rebase(rc);
    relay_table_del(&rc->core->sessions, &rc->sess_node);
    rc->reserved = false;
    relay_auth_unbound(rc); /* the user's reservation count */
    RSTAT_SUB(rc->core, sessions, 1);
    MET_SUB(rc->core, sessions_current, 1);
    free(rc->client_uri);
    rc->client_uri = NULL;
}

/* --- connections --------------------------------------------------------- */

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

static void sweep_cb(struct ur_timer *t, void *arg)
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

static uint64_t sweep_period_ms(const struct gw_relay_config *cfg)
{
    uint64_t t = cfg->bind_timeout_ms < cfg->header_timeout_ms ? cfg->bind_timeout_ms
                                                                : cfg->header_timeout_ms;
    if (cfg->idle_timeout_ms && cfg->idle_timeout_ms < t)
        t = cfg->idle_timeout_ms;
    t /= 4;
    return t < 100 ? 100 : t > 1000 ? 1000 : t;
}

static struct rconn *rconn_new(struct gw_relay_core *core, bool tls, bool outgoing)
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

static void rconn_unlist(struct rconn *rc)
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

static void on_accept(struct ur_listener *l, int fd, void *ud)
{
    (void)l;
    struct lctx *lc = ud;
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
    struct rconn *rc = core->draining ? NULL : rconn_new(core, tls, false);
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
    rconn_unlist(rc);
    free(rc);
}

void relay_adopt(struct gw_relay_core *core, int fd, bool tls)
{
    struct rconn *rc = inbound_new(core, tls);
    if (!rc) {
        close(fd);
        return;
    }
    struct ur_tls_ctx *tls_ctx = tls ? atomic_load(&core->r->tls_server) : NULL;
    int err = gw_mconn_adopt(core->loop, fd, tls_ctx, &core->r->cfg.limits,
                             &relay_ops, rc, &rc->m);
    if (err < 0) {
        inbound_abandon(rc);
        gw_log(GW_LOG_WARN, NULL, NULL, "adopting a connection failed: %s", strerror(-err));
    }
}

void relay_adopt_handoff(struct gw_relay_core *core, struct ur_handoff *h, bool tls)
{
    struct rconn *rc = inbound_new(core, tls);
    if (!rc) {
        ur_handoff_free(h);
        return;
    }
    int err = gw_mconn_adopt_handoff(core->loop, h, &core->r->cfg.limits, &relay_ops, rc,
                                     &rc->m);
    if (err < 0) {
        inbound_abandon(rc);
        gw_log(GW_LOG_WARN, NULL, NULL, "adopting a connection failed: %s", strerror(-err));
    }
}

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
static int self_hop_get(struct gw_relay_core *core, const struct msrp_uri *u, struct rconn **out)
{
    const struct gw_relay *r = core->r;
    const struct gw_relay_listen *l = NULL;
    for (unsigned i = 0; i < r->cfg.n_listen; i++)
        if (!l || (l->tls && !r->cfg.listen[i].tls))
            l = &r->cfg.listen[i];
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
            rc->last_use_ns = ur_now_ns();
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
    struct rconn *rc = rconn_new(core, tls, true);
    if (!rc)
        return -ENOMEM;
    rc->self_hop = self_hop;
    int err = gw_mconn_connect(core->loop, host, msrp_uri_port(u), cfg->connect_timeout_ms,
                               tls_ctx, server_name ? server_name : host, &cfg->limits,
                               &relay_ops, rc, &rc->m);
    if (err < 0) {
        rconn_unlist(rc);
        free(rc);
        return err;
    }
    if (numeric < 0 && !self_hop)
        ur_conn_set_addr_filter(gw_mconn_conn(rc->m), dest_filter, rc);
    RSTAT(core, conns_out);
    *out = rc;
    return 0;
}

void relay_respond(struct rconn *rc, const struct msrp_head *h, uint16_t code,
                   const char *comment, const struct msrp_frame *extra)
{
    struct gw_relay_core *core = rc->core;
    switch (code) {
    case 403:
        RSTAT(core, resp_403);
        MET(core, drops[GW_DROP_NOT_AUTHORIZED]);
        break;
    case 481:
        RSTAT(core, resp_481);
        MET(core, drops[GW_DROP_UNKNOWN_SESSION]);
        break;
    case 501: RSTAT(core, resp_501); break;
    default: break;
    }
    if (h->kind == MSRP_REQUEST && h->method != MSRP_M_REPORT)
        MET(core, resp_sent[gw_status_index(code)]);
    gw_mconn_respond(rc->m, h, code, comment, extra);
}

/* --- routing --------------------------------------------------------------- */

/* A next hop the destination policy refuses: 403 (RFC 4975 section 7.3,
 * "the attempted action is not allowed"), like any forward the sender may
 * not make; counted as dest_denied where the policy said no. */
static int respond_dest_denied(struct rconn *rc, const struct msrp_head *h)
{
    RSTAT(rc->core, resp_403);
    if (h->method != MSRP_M_REPORT)
        MET(rc->core, resp_sent[gw_status_index(403)]);
    gw_mconn_respond(rc->m, h, 403, "Forbidden", NULL);
    return GW_MCONN_CONTINUE;
}

/*
 * Reverse traffic of a cross-core hop. A sender with no reservation here
 * (a foreign relay's shared connection, say) reached core B's session over
 * core A: A forwarded the frame as it came (skip 0) over its loopback hop,
 * so B learned the sender's URI on its end of that hop (relay_learn.c) and
 * sends the receiver's REPORTs and SENDs for it back over it. They arrive
 * here, on A's outgoing hop, with To-Path naming the sender first: A
 * forwards them, again as they are, to where it learned that URI.
 */
static int route_back(struct rconn *rc, const struct msrp_head *h)
{
    struct rconn *down = relay_learned(rc->core, &h->to_path[0]);
    if (!down || down == rc) {
        relay_respond(rc, h, 481, "No Such Session", NULL);
        return GW_MCONN_CONTINUE;
    }
    int r = relay_fwd_start(rc, h, 0, down, NULL);
    if (r < 0) {
        MET(rc->core, drops[GW_DROP_BAD_PATH]);
        relay_respond(rc, h, 400, "Cannot Forward", NULL);
        return GW_MCONN_CONTINUE;
    }
    rc->cur_ignore = false;
    return r;
}

static int route(struct rconn *rc, const struct msrp_head *h)
{
    struct gw_relay_core *core = rc->core;
    if (h->n_to_path == 0 || h->n_from_path == 0) {
        MET(core, drops[GW_DROP_BAD_PATH]);
        relay_respond(rc, h, 400, "Missing path", NULL);
        return GW_MCONN_CONTINUE;
    }
    /* A session anchored for an SBC: the endpoint sends to our URI alone,
     * as to its peer (relay_anchor.c). */
    struct anchor_leg *leg = h->n_to_path == 1 ? relay_anchor_leg_find(core, &h->to_path[0]) : NULL;
    if (leg)
        return relay_anchor_route(rc, h, leg);
    if (rc->self_hop && relay_is_self(core, &h->from_path[0]) &&
        !relay_is_self(core, &h->to_path[0]))
        return route_back(rc, h);
    if (!relay_is_self(core, &h->to_path[0]) || h->n_to_path < 2) {
        /* Not for us, or for us alone: a relay is never the target of a
         * SEND (RFC 4976 section 6.2). */
        relay_respond(rc, h, 481, "No Such Session", NULL);
        return GW_MCONN_CONTINUE;
    }
    /* Walk our own URIs at the head of To-Path. A sender that AUTHed to us
     * puts its own reservation first (RFC 4976 section 7: its path starts
     * with its Use-Path); when the receiver AUTHed to us too, the
     * receiver's reservation follows. Both are ours: one hop, skipping
     * every leading URI of ours -- unless the next reservation lives on
     * another core: then a loopback hop to ourselves (self_hop_get). */
    struct rconn *down = NULL;
    unsigned skip = 0;
    bool outbound = false; /* took the sender's own reservation */
    while (skip + 1 < h->n_to_path && relay_is_self(core, &h->to_path[skip])) {
        struct msrp_slice sid = h->to_path[skip].session_id;
        int owner = sid.n ? gw_relay_sessid_core(sid, core->r->ncores) : (int)core->idx;
        if (owner >= 0 && (unsigned)owner != core->idx) {
            /* A frame that already came from us (From-Path[0] is ours) and
             * still is on the wrong core was not steered: no second hop. */
            int err = relay_is_self(core, &h->from_path[0]) ? -ELOOP
                                                           : self_hop_get(core, &h->to_path[skip], &down);
            if (err < 0) {
                RLOG(UR_LOG_WARN, rc, "no hop to core %d for session %.*s: %s", owner,
                     (int)sid.n, sid.p, strerror(-err));
                relay_respond(rc, h, 481, "No Such Session", NULL);
                return GW_MCONN_CONTINUE;
            }
            RSTAT(core, core_hops);
            break;
        }
        skip++;
        if (sid.n == 0)
            continue;
        struct rnode *n = relay_table_get(&core->sessions, sid.p, sid.n);
        struct rconn *owner_rc = n ? RCONTAINER(n, struct rconn, sess_node) : NULL;
        if (owner_rc == rc && rc->authed) {
            outbound = true; /* the sender's own reservation */
            continue;
        }
        /* RFC 4975 section 6.1: the next URI must be the session's client,
         * or someone is guessing session ids. */
        if (!owner_rc || owner_rc->closing || owner_rc == rc ||
            !msrp_uri_equal(&h->to_path[skip], &owner_rc->client)) {
            relay_respond(rc, h, 481, "No Such Session", NULL);
            return GW_MCONN_CONTINUE;
        }
        down = owner_rc;
        break;
    }
    if (!down) {
        if (relay_is_self(core, &h->to_path[skip])) {
            relay_respond(rc, h, 481, "No Such Session", NULL);
            return GW_MCONN_CONTINUE;
        }
        /* Reverse traffic from a client through its own reservation to a
         * sender that has none here: back over the connection the
         * sender's URI arrived on (relay_learn.c), never by dialling it. */
        if (outbound && (down = relay_learned(core, &h->to_path[skip])) == rc)
            down = NULL;
    }
    if (!down) {
        /* RFC 4976 section 6.3: only authenticated clients make the relay
         * open connections. Nor may anyone else use one an authenticated
         * client opened: that would let an unauthenticated sender write
         * to wherever that client was allowed to go. Unauthenticated
         * senders reach reservations (and, as reverse traffic, the
         * senders learned on them) only. */
        if (!rc->authed) {
            relay_respond(rc, h, 403, "Forbidden", NULL);
            return GW_MCONN_CONTINUE;
        }
        bool may_open = true;
        int err = relay_peer_get(core, &h->to_path[skip], &down, &may_open);
        if (err == -EACCES)
            return respond_dest_denied(rc, h);
        if (err < 0) {
            RLOG(UR_LOG_WARN, rc, "cannot reach next hop %.*s: %s",
                 (int)h->to_path[skip].raw.n, h->to_path[skip].raw.p, strerror(-err));
            relay_respond(rc, h, 481, "No Such Session", NULL);
            return GW_MCONN_CONTINUE;
        }
    }
    /* Remember where this sender is, for the reverse traffic whose To-Path
     * will name it after our URIs -- unless it is the client of this
     * connection's reservation (reached by its session id) or one of our
     * own URIs (a hop between two of our cores). */
    const struct msrp_uri *from = &h->from_path[0];
    if (!(rc->reserved && msrp_uri_equal(from, &rc->client)) && !relay_is_self(core, from) &&
        relay_learn(rc, from) < 0) {
        RLOG(UR_LOG_WARN, rc, "cannot remember sender %.*s: out of memory", (int)from->raw.n,
             from->raw.p);
        relay_respond(rc, h, 500, "Out of memory", NULL);
        return GW_MCONN_CONTINUE;
    }
    int r = relay_fwd_start(rc, h, skip, down, NULL);
    if (r < 0) {
        MET(core, drops[GW_DROP_BAD_PATH]);
        relay_respond(rc, h, 400, "Cannot Forward", NULL);
        return GW_MCONN_CONTINUE;
    }
    rc->cur_ignore = false;
    return r;
}

/* --- mconn callbacks ---------------------------------------------------- */

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
    rc->frames++;
    rc->in_body = true;
    rc->last_use_ns = ur_now_ns();
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
        return route(rc, h);
    case MSRP_M_REPORT:
        return route(rc, h);
    default:
        relay_respond(rc, h, 501, "Not Implemented", NULL);
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
    rconn_unlist(rc);
    free(rc);
}

static const struct gw_mconn_ops relay_ops = {
    .on_open = rc_on_open,
    .on_head = rc_on_head,
    .on_body = rc_on_body,
    .on_end = rc_on_end,
    .on_error = rc_on_error,
    .on_drain = rc_on_drain,
    .on_close = rc_on_close,
};

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
    struct gw_relay_core *core = calloc(1, sizeof(*core) + sizeof(struct lctx) * GW_RELAY_LISTEN_MAX);
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
    struct lctx *lcs = (struct lctx *)(core + 1);
    for (unsigned i = 0; i < r->cfg.n_listen; i++) {
        const struct gw_relay_listen *l = &r->cfg.listen[i];
        lcs[i].core = core;
        lcs[i].tls = l->tls;
        int err = ur_listen(loop, &core->ls[i], l->host, l->port, 0, on_accept, &lcs[i]);
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
            gw_log(GW_LOG_INFO, NULL, NULL, "listening on %s://%s:%u (relay URI %s://%s:%u;tcp)",
                   l->tls ? "msrps" : "msrp", l->host, l->port, l->tls ? "msrps" : "msrp",
                   r->cfg.uri_host, l->port);
    }
    relay_hep_open(core); /* HEP3 capture: off (logged) when it cannot open */
    ur_timer_init(&core->sweep, sweep_cb, core);
    uint64_t period = sweep_period_ms(&r->cfg);
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
        rconn_unlist(rc);
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
