/*
 * relay_anchor.c: MSRP sessions anchored for an SBC (the ng control
 * protocol's offer/answer, gateway/ng/). Each MSRP media section of a call
 * becomes an anchor of two legs: leg 0 faces the offerer (A), leg 1 the
 * answerer (B). Each endpoint is told that msrpgw is its peer -- its SDP
 * path is replaced by a URI of ours with a session id per leg -- so an
 * endpoint sends with To-Path = our URI alone and From-Path = its own path
 * as it announced it. msrpgw forwards each request to the other leg with
 * the paths that endpoint negotiated: To-Path = its announced path,
 * From-Path = our URI on that leg. Bodies stream through the relay's
 * forwarding path (relay_fwd.c: backpressure, splitting, hop-by-hop
 * responses, Failure REPORTs); msrpgw itself answers each endpoint's
 * binding SEND (it is that endpoint's peer).
 *
 * Connection roles (RFC 4975 section 5.4, RFC 6135): an endpoint whose SDP
 * says a=setup:passive is dialled by us; otherwise the offerer dials us,
 * and we dial the answerer unless its answer says a=setup:active. A leg we
 * dial is our own connection (never shared), bound with an empty SEND
 * whose 200 must come before anything else is written on it (deployed
 * clients need that, PEERS.md).
 *
 * Everything here runs on the anchor's owner core: the core named by the
 * first character of both legs' session ids, where connections to them
 * are steered like any reservation's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway/relay/relay_internal.h"
#include "proto/status.h"
#include "proto/writer.h"
#include "uring/conn.h"

struct anchor_leg {
    struct anchor *a;
    unsigned side;              /* 0: the offerer's leg, 1: the answerer's */
    char sessid[GW_RELAY_SESSID_LEN + 1];
    struct rnode node;          /* core->anchor_legs, by sessid */
    bool registered;
    bool tls;
    bool we_dial;               /* we connect to the endpoint */
    char self[320];             /* our URI on this leg */
    size_t self_n;
    char *path_text;            /* the endpoint's path, as its SDP said */
    struct msrp_uri path[MSRP_PATH_CAP];
    struct msrp_slice path_s[MSRP_PATH_CAP];
    unsigned npath;
    struct rconn *rc;           /* the leg's connection, once there is one */
    uint64_t chunks_in, bytes_in; /* from this leg's endpoint */
    /* A request of this leg's endpoint that came before the other leg was
     * connected waits for it (the head is delivered again when it comes),
     * at most connect_timeout; wait_over: that time ran out (481). */
    struct ur_timer wait;
    bool waiting, wait_over;
};

struct anchor {
    struct gw_relay_core *core;
    struct anchor *prev, *next; /* core->anchors */
    char call_id[GW_ANCHOR_ID_MAX + 1];
    char from_tag[GW_ANCHOR_ID_MAX + 1];
    char to_tag[GW_ANCHOR_ID_MAX + 1];
    unsigned media;             /* MSRP section index within the SDP */
    int setup_a;                /* the offerer's a=setup (setup_of) */
    bool answered;
    uint64_t created_s;         /* Unix time, as rtpengine reports it */
    uint64_t created_ms, created_ns; /* accounting: Unix ms, monotonic */
    struct ur_timer expire;
    struct anchor_leg leg[2];
};

/* --- legs ------------------------------------------------------------------ */

static int leg_set_path(struct anchor_leg *l, const char *path, size_t n)
{
    char *t = malloc(n + 1);
    if (!t)
        return -ENOMEM;
    memcpy(t, path, n);
    t[n] = '\0';
    int k = msrp_path_parse(l->path, MSRP_PATH_CAP, t, n, l->a->core->r->cfg.limits.max_uri_len);
    if (k < 1) {
        free(t);
        return -EINVAL;
    }
    free(l->path_text);
    l->path_text = t;
    l->npath = (unsigned)k;
    for (unsigned i = 0; i < l->npath; i++)
        l->path_s[i] = l->path[i].raw;
    return 0;
}

static bool path_is(const struct anchor_leg *l, const struct msrp_head *h)
{
    if (h->n_from_path != l->npath)
        return false;
    for (unsigned i = 0; i < l->npath; i++)
        if (!msrp_uri_equal(&h->from_path[i], &l->path[i]))
            return false;
    return true;
}

struct anchor_leg *relay_anchor_leg_find(struct gw_relay_core *core, const struct msrp_uri *u)
{
    if (!core->anchors || u->session_id.n != GW_RELAY_SESSID_LEN)
        return NULL;
    struct rnode *n = relay_table_get(&core->anchor_legs, u->session_id.p, u->session_id.n);
    if (!n || !relay_is_self(core, u))
        return NULL;
    struct anchor_leg *l = RCONTAINER(n, struct anchor_leg, node);
    /* The scheme must be the leg's: msrps legs only over TLS. */
    return (u->scheme == MSRP_SCHEME_MSRPS) == l->tls ? l : NULL;
}

/* The leg's connection is going: nothing of it waits any more. */
static void leg_wait_end(struct anchor_leg *l)
{
    if (l->waiting)
        ur_timer_cancel(l->a->core->loop, &l->wait);
    l->waiting = l->wait_over = false;
}

/* The other leg is connected now: a request of l that waited goes on. */
static void leg_wake(struct anchor_leg *l)
{
    if (!l->waiting || !l->rc)
        return;
    ur_timer_cancel(l->a->core->loop, &l->wait);
    l->waiting = false;
    RLOG(UR_LOG_DEBUG, l->rc, "anchor %s leg %u: the other leg is connected, going on",
         l->a->call_id, l->side);
    relay_conn_kick(l->rc);
}

static void leg_wait_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    struct anchor_leg *l = arg;
    l->waiting = false;
    l->wait_over = true;
    if (l->rc)
        relay_conn_kick(l->rc);
}

static void leg_detach(struct anchor_leg *l, bool close)
{
    struct rconn *rc = l->rc;
    if (!rc)
        return;
    leg_wait_end(l);
    l->rc = NULL;
    rc->leg = NULL;
    if (close && !rc->closing)
        gw_mconn_close_after_flush(rc->m);
}

static void expire_arm(struct anchor *a)
{
    uint32_t s = a->core->r->cfg.anchor_timeout_s ? a->core->r->cfg.anchor_timeout_s : 60;
    ur_timer_arm(a->core->loop, &a->expire, (uint64_t)s * 1000, 0);
}

/* Sends the binding SEND on a leg we dialled (queued until it opens). */
static int leg_bind(struct anchor_leg *l)
{
    struct rconn *rc = l->rc;
    struct gw_relay_core *core = l->a->core;
    if (relay_new_tid(core, rc->bind_tid) < 0)
        return -EIO;
    char mid[17];
    if (relay_new_tid(core, mid) < 0)
        return -EIO;
    mid[16] = '\0';
    struct msrp_frame f;
    memset(&f, 0, sizeof(f));
    f.kind = MSRP_REQUEST;
    f.method = MSRP_M_SEND;
    f.tid = msrp_slice(rc->bind_tid, RELAY_TID_LEN);
    f.to_path.texts = l->path_s;
    f.to_path.n = l->npath;
    struct msrp_slice self = msrp_slice(l->self, l->self_n);
    f.from_path.texts = &self;
    f.from_path.n = 1;
    f.message_id = msrp_slice(mid, 16);
    char buf[8192];
    int n = msrp_write_bodiless(buf, sizeof(buf), &f, '$');
    if (n < 0 || gw_mconn_send_frame(rc->m, buf, (size_t)n) < 0)
        return -EIO;
    rc->binding = true;
    ur_timer_arm(core->loop, &rc->bind_timer, core->r->cfg.chunk_timeout_ms, 0);
    RLOG(UR_LOG_DEBUG, rc, "anchor %s leg %u: binding SEND to %s", l->a->call_id, l->side,
         l->path_text);
    return 0;
}

/* Dials a leg's endpoint (the first URI of its path) and binds it. */
static int leg_dial(struct anchor_leg *l)
{
    struct gw_relay_core *core = l->a->core;
    if (l->rc)
        return 0;
    struct rconn *rc;
    int err = relay_connect_private(core, &l->path[0], &rc);
    if (err < 0) {
        gw_log(GW_LOG_WARN, l->sessid, NULL, "anchor %s leg %u: cannot connect to %s: %s",
               l->a->call_id, l->side, l->path_text, strerror(-err));
        return err;
    }
    memcpy(rc->sessid, l->sessid, sizeof(rc->sessid)); /* for the logs */
    l->rc = rc;
    rc->leg = l;
    leg_wake(&l->a->leg[!l->side]); /* chunks queue behind the binding */
    err = leg_bind(l);
    if (err < 0) {
        leg_detach(l, true);
        return err;
    }
    return 0;
}

bool relay_anchor_bind_response(struct rconn *rc, const struct msrp_head *h)
{
    if (!rc->binding || h->tid.n != RELAY_TID_LEN || memcmp(h->tid.p, rc->bind_tid, RELAY_TID_LEN))
        return false;
    ur_timer_cancel(rc->core->loop, &rc->bind_timer);
    rc->binding = false;
    if (h->status != 200) {
        RLOG(UR_LOG_WARN, rc, "anchored leg refused its binding SEND: %u", h->status);
        gw_mconn_close(rc->m); /* waiting chunks fail (relay_fwd_conn_closed) */
        return true;
    }
    RLOG(UR_LOG_DEBUG, rc, "anchored leg bound");
    relay_fwd_slot_next(rc);
    return true;
}

void relay_anchor_bind_timeout(struct ur_timer *t, void *arg)
{
    (void)t;
    struct rconn *rc = arg;
    if (!rc->binding)
        return;
    RLOG(UR_LOG_WARN, rc, "anchored leg: no answer to its binding SEND");
    MET(rc->core, drops[GW_DROP_TIMEOUT]);
    gw_mconn_close(rc->m);
}

void relay_anchor_conn_closed(struct rconn *rc)
{
    struct anchor_leg *l = rc->leg;
    if (!l)
        return;
    leg_wait_end(l);
    l->rc = NULL;
    rc->leg = NULL;
    struct anchor *a = l->a;
    /* Nobody left on either leg: the call may still be resumed (the
     * endpoints reconnect), but not for ever. */
    if (!a->leg[0].rc && !a->leg[1].rc)
        expire_arm(a);
}

/* --- forwarding ------------------------------------------------------------ */

int relay_anchor_route(struct rconn *rc, const struct msrp_head *h, struct anchor_leg *leg)
{
    struct anchor *a = leg->a;
    /* The endpoint talks to us as to its peer: its From-Path is the path
     * it announced, exactly (RFC 4975 section 7.3). */
    if (!path_is(leg, h)) {
        RLOG(UR_LOG_WARN, rc, "anchor %s leg %u: From-Path is not %s: 481", a->call_id,
             leg->side, leg->path_text);
        relay_respond(rc, h, 481, "Invalid From-Path", NULL);
        return GW_MCONN_CONTINUE;
    }
    if (leg->rc != rc) {
        if (leg->rc && leg->we_dial) {
            /* The endpoint dialled us although we dial it: use its
             * connection, ours goes. */
            leg_detach(leg, true);
        } else if (leg->rc) {
            leg_detach(leg, false); /* a newer connection of the endpoint */
        }
        if (rc->leg && rc->leg != leg) {
            relay_respond(rc, h, 481, "Other Session On This Connection", NULL);
            return GW_MCONN_CONTINUE;
        }
        leg->rc = rc;
        rc->leg = leg;
        memcpy(rc->sessid, leg->sessid, sizeof(rc->sessid));
        ur_timer_cancel(a->core->loop, &a->expire);
        leg_wake(&a->leg[!leg->side]);
    }
    if (h->method == MSRP_M_SEND && !h->has_body && h->content_type.n == 0) {
        /* A binding (or keep-alive) SEND: to us, its peer, to answer. */
        relay_respond(rc, h, 200, msrp_status_phrase(200), NULL);
        return GW_MCONN_CONTINUE;
    }
    struct anchor_leg *other = &a->leg[!leg->side];
    if (!other->rc && other->npath && other->we_dial)
        leg_dial(other);
    if (!other->rc && !other->we_dial && !leg->wait_over) {
        /* The other endpoint is to call in and has not yet (both active:
         * the race of RFC 6135 is ordinary): wait for it, as long as we
         * would wait for a connection of our own. */
        uint32_t ms = a->core->r->cfg.connect_timeout_ms ? a->core->r->cfg.connect_timeout_ms : 5000;
        leg->waiting = true;
        ur_timer_arm(a->core->loop, &leg->wait, ms, 0);
        rc->head_again = true;
        RLOG(UR_LOG_DEBUG, rc, "anchor %s leg %u: %.*s waits up to %u ms for the other leg to connect",
             a->call_id, leg->side, (int)h->tid.n, h->tid.p, ms);
        return GW_MCONN_AGAIN;
    }
    leg->wait_over = false;
    if (!other->rc) {
        /* The other endpoint has neither been reached nor called in. */
        relay_respond(rc, h, 481, "Peer Not Connected", NULL);
        return GW_MCONN_CONTINUE;
    }
    struct msrp_slice self = msrp_slice(other->self, other->self_n);
    struct fwd_paths p = { .to = other->path_s, .nto = other->npath, .from = &self, .nfrom = 1 };
    int r = relay_fwd_start(rc, h, 0, other->rc, &p);
    if (r < 0) {
        MET(rc->core, drops[GW_DROP_BAD_PATH]);
        relay_respond(rc, h, 400, "Cannot Forward", NULL);
        return GW_MCONN_CONTINUE;
    }
    leg->chunks_in++;
    rc->cur_ignore = false;
    return r;
}

/* --- the anchors ------------------------------------------------------------- */

static bool slice_is(const char *s, struct msrp_slice v)
{
    return strlen(s) == v.n && memcmp(s, v.p, v.n) == 0;
}

static bool slice_caseis(const char *s, struct msrp_slice v)
{
    return strlen(s) == v.n && strncasecmp(s, v.p, v.n) == 0;
}

static struct anchor *anchor_find(struct gw_relay_core *core, struct msrp_slice call_id,
                                  struct msrp_slice from_tag, unsigned media)
{
    for (struct anchor *a = core->anchors; a; a = a->next)
        if (a->media == media && slice_is(a->call_id, call_id) &&
            (from_tag.n == 0 || slice_is(a->from_tag, from_tag)))
            return a;
    return NULL;
}

/* The anchor as an accounting record: "in" is what its offerer sent
 * (leg 0's endpoint), "out" what its answerer sent; body bytes only. */
static void anchor_record(const struct anchor *a, struct gw_acct_record *out)
{
    *out = (struct gw_acct_record){
        .kind = "anchor", .id = a->leg[0].sessid, .user = "", .call_id = a->call_id,
        .peer = a->leg[0].path_text ? a->leg[0].path_text : "",
        .remote = a->leg[1].path_text ? a->leg[1].path_text : "",
        .start_ms = a->created_ms, .duration_ms = (ur_now_ns() - a->created_ns) / 1000000u,
        .bytes_in = a->leg[0].bytes_in, .body_in = a->leg[0].bytes_in,
        .chunks_in = a->leg[0].chunks_in,
        .bytes_out = a->leg[1].bytes_in, .body_out = a->leg[1].bytes_in,
        .chunks_out = a->leg[1].chunks_in,
    };
}

void relay_anchor_sessions(struct gw_relay_core *core,
                           void (*fn)(void *arg, const struct gw_acct_record *s), void *arg)
{
    for (struct anchor *a = core->anchors; a; a = a->next) {
        struct gw_acct_record rec;
        anchor_record(a, &rec);
        fn(arg, &rec);
    }
}

/* reason: the accounting record's (NULL: the anchor never was a session,
 * no record). */
static void anchor_free(struct anchor *a, bool fini, const char *reason)
{
    struct gw_relay_core *core = a->core;
    if (reason && gw_acct_enabled()) {
        struct gw_acct_record rec;
        anchor_record(a, &rec);
        rec.reason = reason;
        gw_acct_put(&rec);
    }
    for (int i = 0; i < 2; i++) {
        struct anchor_leg *l = &a->leg[i];
        if (l->registered)
            relay_table_del(&core->anchor_legs, &l->node);
        if (fini) {
            if (l->rc)
                l->rc->leg = NULL;
        } else {
            leg_detach(l, true);
        }
        free(l->path_text);
        ur_timer_cancel(core->loop, &l->wait);
    }
    ur_timer_cancel(core->loop, &a->expire);
    if (a->prev)
        a->prev->next = a->next;
    else
        core->anchors = a->next;
    if (a->next)
        a->next->prev = a->prev;
    RSTAT_SUB(core, anchors, 1);
    MET_SUB(core, anchors_current, 1);
    free(a);
}

void relay_anchor_free_all(struct gw_relay_core *core)
{
    while (core->anchors)
        anchor_free(core->anchors, true, "shutdown");
}

static void expire_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    struct anchor *a = arg;
    if (a->leg[0].rc || a->leg[1].rc)
        return;
    gw_log(GW_LOG_INFO, NULL, NULL, "anchor %s: no connection within anchor_timeout: removed",
           a->call_id);
    MET(a->core, drops[GW_DROP_BIND_TIMEOUT]);
    anchor_free(a, false, "anchor_timeout");
}

static int leg_init(struct anchor *a, unsigned side, bool tls)
{
    struct gw_relay_core *core = a->core;
    struct anchor_leg *l = &a->leg[side];
    l->a = a;
    l->side = side;
    l->tls = tls;
    ur_timer_init(&l->wait, leg_wait_cb, l);
    for (int tries = 0; tries < 4; tries++) {
        if (relay_new_sessid(core, l->sessid) < 0)
            return -EIO;
        if (!relay_table_get(&core->anchor_legs, l->sessid, GW_RELAY_SESSID_LEN))
            break;
    }
    int n = relay_self_uri(core, tls, l->sessid, l->self, sizeof(l->self));
    if (n < 0)
        return n;
    l->self_n = (size_t)n;
    l->node.key = l->sessid;
    l->node.klen = GW_RELAY_SESSID_LEN;
    relay_table_put(&core->anchor_legs, &l->node);
    l->registered = true;
    return 0;
}

static void copy_id(char *dst, struct msrp_slice v)
{
    size_t n = v.n > GW_ANCHOR_ID_MAX ? GW_ANCHOR_ID_MAX : v.n;
    memcpy(dst, v.p, n);
    dst[n] = '\0';
}

/* The value of a=setup, as a small enum. */
static int setup_of(struct msrp_slice v)
{
    /* RFC 4145 values are case-insensitive tokens. */
    if (slice_caseis("active", v))
        return 1;
    if (slice_caseis("passive", v))
        return 2;
    if (slice_caseis("actpass", v))
        return 3;
    return v.n ? 4 : 0; /* holdconn or unknown: treated as absent */
}

int gw_anchor_offer(struct gw_relay_core *core, const struct gw_anchor_media *m,
                    struct gw_anchor_result *out)
{
    struct anchor *a = anchor_find(core, m->call_id, m->from_tag, m->media);
    bool fresh = !a;
    if (fresh) {
        if (!(a = calloc(1, sizeof(*a))))
            return -ENOMEM;
        a->core = core;
        a->media = m->media;
        copy_id(a->call_id, m->call_id);
        copy_id(a->from_tag, m->from_tag);
        a->created_s = (uint64_t)time(NULL);
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        a->created_ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
        a->created_ns = ur_now_ns();
        ur_timer_init(&a->expire, expire_cb, a);
        a->leg[0].a = a->leg[1].a = a;
        int err = leg_init(a, 0, m->tls);
        if (!err)
            err = leg_init(a, 1, m->tls);
        if (err) {
            for (int i = 0; i < 2; i++)
                if (a->leg[i].registered)
                    relay_table_del(&core->anchor_legs, &a->leg[i].node);
            free(a);
            return err;
        }
        a->next = core->anchors;
        if (a->next)
            a->next->prev = a;
        core->anchors = a;
        RSTAT_ADD(core, anchors, 1);
        MET(core, anchors_current);
        expire_arm(a);
    }
    int err = leg_set_path(&a->leg[0], m->path.p, m->path.n);
    if (err) {
        if (fresh)
            anchor_free(a, false, NULL);
        return err;
    }
    /* The offerer dials us unless it wants to be dialled. */
    int setup = setup_of(m->setup);
    a->setup_a = setup;
    a->leg[0].we_dial = setup == 2;
    out->uri = a->leg[1].self;
    out->uri_n = a->leg[1].self_n;
    /* Toward B we offer whatever role it likes when A negotiates roles at
     * all; otherwise the default (the offerer, us, dials). */
    out->setup = setup ? "actpass" : NULL;
    gw_log(GW_LOG_INFO, a->leg[0].sessid, NULL, "anchor %s media %u: offer from %s, B leg %s",
           a->call_id, a->media, a->leg[0].path_text, a->leg[1].self);
    return 0;
}

int gw_anchor_answer(struct gw_relay_core *core, const struct gw_anchor_media *m,
                     struct gw_anchor_result *out)
{
    struct anchor *a = anchor_find(core, m->call_id, m->from_tag, m->media);
    if (!a)
        return -ENOENT;
    int err = leg_set_path(&a->leg[1], m->path.p, m->path.n);
    if (err)
        return err;
    copy_id(a->to_tag, m->to_tag);
    a->answered = true;
    /* We dial the answerer unless it said it dials (a=setup:active). */
    a->leg[1].we_dial = setup_of(m->setup) != 1;
    out->uri = a->leg[0].self;
    out->uri_n = a->leg[0].self_n;
    /* Our role toward A, stated when A's offer negotiated roles: we dial
     * it when it asked to be dialled, else it dials us. */
    out->setup = a->setup_a == 2 ? "active" : a->setup_a ? "passive" : NULL;
    for (int i = 0; i < 2; i++)
        if (a->leg[i].we_dial && !a->leg[i].rc)
            leg_dial(&a->leg[i]);
    gw_log(GW_LOG_INFO, a->leg[1].sessid, NULL, "anchor %s media %u: answer from %s", a->call_id,
           a->media, a->leg[1].path_text);
    return 0;
}

int gw_anchor_delete(struct gw_relay_core *core, struct msrp_slice call_id,
                     struct msrp_slice from_tag)
{
    int n = 0;
    for (struct anchor *a = core->anchors, *next; a; a = next) {
        next = a->next;
        if (slice_is(a->call_id, call_id) && (from_tag.n == 0 || slice_is(a->from_tag, from_tag) ||
                                              slice_is(a->to_tag, from_tag))) {
            gw_log(GW_LOG_INFO, NULL, NULL, "anchor %s media %u: deleted", a->call_id, a->media);
            anchor_free(a, false, "deleted");
            n++;
        }
    }
    return n;
}

static const char *leg_state(const struct anchor_leg *l)
{
    if (!l->npath)
        return "unanswered";
    if (!l->rc)
        return "waiting";
    if (!l->rc->open && l->rc->outgoing)
        return "connecting";
    return l->rc->binding ? "binding" : "connected";
}

int gw_anchor_query(struct gw_relay_core *core, struct msrp_slice call_id,
                    struct gw_anchor_info *info, size_t max)
{
    size_t n = 0;
    for (struct anchor *a = core->anchors; a && n < max; a = a->next) {
        if (!slice_is(a->call_id, call_id))
            continue;
        struct gw_anchor_info *in = &info[n++];
        in->media = a->media;
        in->created_s = a->created_s;
        for (int i = 0; i < 2; i++) {
            in->leg[i].uri = a->leg[i].self;
            in->leg[i].peer = a->leg[i].path_text ? a->leg[i].path_text : "";
            in->leg[i].state = leg_state(&a->leg[i]);
            in->leg[i].chunks_in = a->leg[i].chunks_in;
            in->leg[i].bytes_in = a->leg[i].bytes_in;
        }
    }
    return (int)n;
}

void relay_anchor_count_bytes(struct anchor_leg *l, uint64_t n) { l->bytes_in += n; }

int relay_anchor_kill(struct gw_relay_core *core, struct msrp_slice id)
{
    struct rnode *n = core->anchors ? relay_table_get(&core->anchor_legs, id.p, id.n) : NULL;
    if (!n)
        return 0;
    struct anchor *a = RCONTAINER(n, struct anchor_leg, node)->a;
    gw_log(GW_LOG_INFO, NULL, NULL, "anchor %s media %u: killed by the admin", a->call_id,
           a->media);
    anchor_free(a, false, "killed");
    return 1;
}

unsigned gw_anchor_core(const struct gw_relay *r, struct msrp_slice call_id)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < call_id.n; i++)
        h = (h ^ (uint8_t)call_id.p[i]) * 16777619u;
    return r->ncores ? h % r->ncores : 0;
}

void gw_anchor_list(struct gw_relay_core *core, void (*fn)(void *arg, const char *call_id),
                    void *arg)
{
    for (struct anchor *a = core->anchors; a; a = a->next) {
        struct anchor *b = core->anchors;
        while (b != a && strcmp(b->call_id, a->call_id))
            b = b->next;
        if (b == a) /* the call's first anchor in the list */
            fn(arg, a->call_id);
    }
}
