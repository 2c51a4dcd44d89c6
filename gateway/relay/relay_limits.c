/*
 * relay_limits.c: the operator's policy on what senders may send through
 * the relay -- message size, content types, bandwidth (gw_relay_config).
 *
 *   - max_message_size: a SEND whose Byte-Range says the message is larger
 *     (its total, or with a '*' total the end of this chunk, or the bytes
 *     before it) gets 413 at its head; a chunk whose size is not known
 *     ahead ('*' end, or no Byte-Range) is counted as its body streams,
 *     and the byte that crosses the limit ends the forwarded copy with '#'
 *     and earns the sender 413 at its end-line (relay_fwd.c). 413 is RFC
 *     4975's "stop sending this message": the sender must not send the
 *     rest of it, so later chunks of a refused message get 413 again
 *     (remembered per connection by Message-ID).
 *   - allowed_content_types: the first chunk of a message (Byte-Range
 *     start 1) whose Content-Type the list does not match gets 415 (RFC
 *     4975: the media type is not understood). Later chunks of that message
 *     carry the same type but are not checked again: they get 413, the code
 *     RFC 4975 gives a receiver that wants the rest of a message not sent
 *     (the sender aborts it), as an endpoint would answer them.
 *   - session_bandwidth: the body bytes of a sender's SENDs are read at
 *     most this fast. Nothing is dropped or buffered: past its budget the
 *     connection is stalled (GW_MCONN_STALL, the relay's backpressure) and
 *     a timer resumes it when the bytes read are paid for. Idle time saves
 *     up at most PACE_BURST_NS worth of bytes.
 * A frame crossing between two of our cores (a loopback hop, From-Path[0]
 * ours) was checked on the first core and is not checked again.
 *
 * Whose limits: a user's own (the users file's attributes, users.h) where
 * set, else the global ones, taken when the user AUTHs (relay_limits_take)
 * and kept on the connection for its reservation's life: a reload (SIGHUP)
 * applies to later AUTHs only. A SEND is held to the limits of
 *   - its sender's user, when the sender AUTHed here;
 *   - else the user of the reservation it goes to (To-Path[0]'s session):
 *     the receiver who gave out the path decides what reaches it, and an
 *     unauthenticated sender has no user of its own. When that
 *     reservation lives on another core, this core checks nothing: the
 *     frame crosses the loopback hop unchanged (From-Path[0] not ours) and
 *     the owner core checks it with the receiver's limits. A reservation
 *     that does not exist gets the global limits (and 481 from routing);
 *   - anchored sessions (no user) and everything else: the global limits.
 * max_reservations_per_user counts per user as before; the cap compared
 * with is the AUTHing user's own max_reservations when set.
 */
#include <string.h>

#include "proto/status.h"
#include "gateway/wire/accepttypes.h"
#include "gateway/relay/relay_internal.h"
#include "uring/loop.h"

#define PACE_BURST_NS 100000000u /* 100 ms */

static bool refused_has(const struct rconn *rc, struct msrp_slice id)
{
    if (id.n == 0 || id.n > RELAY_REFUSED_ID_CAP)
        return false;
    for (unsigned i = 0; i < RELAY_REFUSED_MAX; i++)
        if (rc->refused_n[i] == id.n && memcmp(rc->refused[i], id.p, id.n) == 0)
            return true;
    return false;
}

void relay_limits_refused(struct rconn *rc, struct msrp_slice id)
{
    if (!rc || id.n == 0 || id.n > RELAY_REFUSED_ID_CAP || refused_has(rc, id))
        return;
    unsigned i = rc->refused_next;
    memcpy(rc->refused[i], id.p, id.n);
    rc->refused_n[i] = (uint8_t)id.n;
    rc->refused_next = (uint8_t)((i + 1) % RELAY_REFUSED_MAX);
}

/* Does the head alone show the message to be over max bytes? */
static bool head_over_size(const struct msrp_head *h, uint64_t max)
{
    if (!max || !h->has_body || !h->has_byte_range)
        return false;
    const struct msrp_byte_range *br = &h->byte_range;
    if (br->total != MSRP_BR_STAR)
        return br->total > max;
    if (br->end != MSRP_BR_STAR)
        return br->end > max;
    return br->start - 1 > max;
}

static bool refuse(struct rconn *rc, const struct msrp_head *h, uint16_t code, const char *comment,
                   enum gw_drop why)
{
    MET(rc->core, drops[why]);
    RLOG(UR_LOG_DEBUG, rc, "SEND %.*s refused: %u %s", (int)h->tid.n, h->tid.p, code, comment);
    relay_limits_refused(rc, h->message_id);
    relay_respond(rc, h, code, comment, NULL);
    return true;
}

void relay_limits_take(const struct rconn *rc, const char *user, struct relay_lim *lim)
{
    const struct gw_relay_config *cfg = &rc->core->r->cfg;
    struct gw_relay_user_limits own;
    memset(&own, 0, sizeof(own));
    if (cfg->user_limits &&
        cfg->user_limits(cfg->user_ud, rc->core->idx, user, strlen(user), &own) != 0)
        memset(&own, 0, sizeof(own)); /* gone since its password was checked */
    lim->set = true;
    lim->max_res = own.has_max_reservations ? own.max_reservations
                                            : cfg->max_reservations_per_user;
    lim->max_msg = own.has_max_message_size ? own.max_message_size : cfg->max_message_size;
    lim->bandwidth = own.has_session_bandwidth ? own.session_bandwidth : cfg->session_bandwidth;
    /* A list longer than the users file allows cannot come: refused whole
     * rather than cut (a cut list would let other types through). */
    lim->own_types = own.has_allowed_content_types;
    size_t n = own.allowed_content_types.n;
    if (lim->own_types && n > GW_RELAY_USER_TYPES_MAX) {
        lim->own_types = false;
        RLOG(UR_LOG_ERROR, rc, "user=%s: allowed_content_types over %d bytes: global list used",
             user, GW_RELAY_USER_TYPES_MAX);
    }
    if (lim->own_types)
        memcpy(lim->types, own.allowed_content_types.p, n);
    lim->types[lim->own_types ? n : 0] = '\0';
}

/* The connection whose user's limits a SEND from rc is held to (see the
 * top); NULL = the global limits. *elsewhere: its reservation lives on
 * another core, which checks the frame. */
static const struct rconn *limits_owner(const struct rconn *rc, const struct msrp_head *h,
                                        bool *elsewhere)
{
    struct gw_relay_core *core = rc->core;
    *elsewhere = false;
    if (rc->authed && rc->lim.set)
        return rc;
    if (h->n_to_path == 0 || !relay_is_self(core, &h->to_path[0]))
        return NULL;
    struct msrp_slice sid = h->to_path[0].session_id;
    if (sid.n == 0)
        return NULL;
    int owner = gw_relay_sessid_core(sid, core->r->ncores);
    if (owner >= 0 && (unsigned)owner != core->idx) {
        *elsewhere = true;
        return NULL;
    }
    const struct rconn *o = relay_session_owner((struct rconn *)rc, sid);
    return o && o->authed && o->lim.set ? o : NULL;
}

bool relay_limits_refuse(struct rconn *rc, const struct msrp_head *h)
{
    const struct gw_relay_config *cfg = &rc->core->r->cfg;
    bool hop = rc->self_hop || (h->n_from_path > 0 && relay_is_self(rc->core, &h->from_path[0]));
    bool elsewhere = false;
    const struct rconn *o = hop ? NULL : limits_owner(rc, h, &elsewhere);
    uint64_t max_msg = o ? o->lim.max_msg : cfg->max_message_size;
    const char *types = o && o->lim.own_types ? o->lim.types : cfg->allowed_content_types;
    /* Checked on another core (before the hop, or after it). */
    bool skip = hop || elsewhere;
    rc->pace_rate = skip ? 0 : o ? o->lim.bandwidth : cfg->session_bandwidth;
    rc->pace_on = rc->pace_rate > 0;
    rc->frame_max_msg = skip ? 0 : max_msg; /* relay_fwd_body counts a streaming chunk */
    if (skip || (!max_msg && !types[0]))
        return false;
    if (refused_has(rc, h->message_id))
        return refuse(rc, h, 413, "Message Refused", GW_DROP_MESSAGE_TOO_LARGE);
    if (head_over_size(h, max_msg))
        return refuse(rc, h, 413, msrp_status_phrase(413), GW_DROP_MESSAGE_TOO_LARGE);
    bool first = !h->has_byte_range || h->byte_range.start == 1;
    if (first && h->has_body && !gw_accept_types_match(types, h->content_type))
        return refuse(rc, h, 415, msrp_status_phrase(415), GW_DROP_CONTENT_TYPE);
    return false;
}

int relay_limits_pace(struct rconn *rc, size_t n, int r)
{
    uint64_t rate = rc->pace_rate;
    if (!rc->pace_on || !rate || n == 0)
        return r;
    uint64_t now = ur_now_ns();
    if (rc->pace_due_ns + PACE_BURST_NS < now)
        rc->pace_due_ns = now - PACE_BURST_NS;
    rc->pace_due_ns += (uint64_t)((unsigned __int128)n * 1000000000u / rate);
    if (rc->pace_due_ns <= now)
        return r;
    MET(rc->core, paced);
    ur_timer_arm_ns(rc->core->loop, &rc->pace, rc->pace_due_ns - now, 0);
    return GW_MCONN_STALL;
}

void relay_limits_pace_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    struct rconn *rc = arg;
    struct chunk *c = rc->cur;
    /* Held back for another reason too: whoever holds it resumes it. */
    if (rc->closing || rc->ups_full || (c && (c->waiting || c->drain_wait)))
        return;
    relay_conn_kick(rc);
}
