/*
 * relay_route.c: where a SEND or REPORT goes (RFC 4976 section 6), by its
 * To-Path: a reservation of this core, another core's (a loopback hop), an
 * anchored leg, a sender learned on a connection, or a next hop that an
 * authenticated client may make us dial; and the relay's own answers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/status.h"
#include "gateway/relay/relay_internal.h"

#include "uring/loop.h"

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

/* A next hop the destination policy refuses: 403 (RFC 4975 section 7.3,
 * "the attempted action is not allowed"), like any forward the sender may
 * not make; counted as dest_denied where the policy said no. */
static int respond_dest_denied(struct rconn *rc, const struct msrp_head *h)
{
    RSTAT(rc->core, resp_403);
    if (h->method != MSRP_M_REPORT)
        MET(rc->core, resp_sent[gw_status_index(403)]);
    gw_mconn_respond(rc->m, h, 403, msrp_status_phrase(403), NULL);
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
        relay_respond(rc, h, 481, msrp_status_phrase(481), NULL);
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

int relay_route(struct rconn *rc, const struct msrp_head *h)
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
        relay_respond(rc, h, 481, msrp_status_phrase(481), NULL);
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
                                                           : relay_peer_self_hop(core, &h->to_path[skip], &down);
            if (err < 0) {
                RLOG(UR_LOG_WARN, rc, "no hop to core %d for session %.*s: %s", owner,
                     (int)sid.n, sid.p, strerror(-err));
                relay_respond(rc, h, 481, msrp_status_phrase(481), NULL);
                return GW_MCONN_CONTINUE;
            }
            RSTAT(core, core_hops);
            break;
        }
        skip++;
        if (sid.n == 0)
            continue;
        struct rconn *owner_rc = relay_session_owner(rc, sid);
        if (owner_rc == rc && rc->authed) {
            outbound = true; /* the sender's own reservation */
            continue;
        }
        /* RFC 4975 section 6.1: the next URI must be the session's client,
         * or someone is guessing session ids. */
        if (!owner_rc || owner_rc->closing || owner_rc == rc ||
            !msrp_uri_equal(&h->to_path[skip], &owner_rc->client)) {
            relay_respond(rc, h, 481, msrp_status_phrase(481), NULL);
            return GW_MCONN_CONTINUE;
        }
        down = owner_rc;
        break;
    }
    if (!down) {
        if (relay_is_self(core, &h->to_path[skip])) {
            relay_respond(rc, h, 481, msrp_status_phrase(481), NULL);
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
            relay_respond(rc, h, 403, msrp_status_phrase(403), NULL);
            return GW_MCONN_CONTINUE;
        }
        bool may_open = true;
        int err = relay_peer_get(core, &h->to_path[skip], &down, &may_open);
        if (err == -EACCES)
            return respond_dest_denied(rc, h);
        if (err < 0) {
            RLOG(UR_LOG_WARN, rc, "cannot reach next hop %.*s: %s",
                 (int)h->to_path[skip].raw.n, h->to_path[skip].raw.p, strerror(-err));
            relay_respond(rc, h, 481, msrp_status_phrase(481), NULL);
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
