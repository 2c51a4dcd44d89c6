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
 * Limits are global: the users file holds name:secret lines whose secret
 * may contain ':' (users.h), so per-user values have no clean place there.
 */
#include <string.h>

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

bool relay_limits_refuse(struct rconn *rc, const struct msrp_head *h)
{
    const struct gw_relay_config *cfg = &rc->core->r->cfg;
    bool hop = rc->self_hop || (h->n_from_path > 0 && relay_is_self(rc->core, &h->from_path[0]));
    rc->pace_on = cfg->session_bandwidth > 0 && !hop;
    if (hop || (!cfg->max_message_size && !cfg->allowed_content_types[0]))
        return false;
    if (refused_has(rc, h->message_id))
        return refuse(rc, h, 413, "Message Refused", GW_DROP_MESSAGE_TOO_LARGE);
    if (head_over_size(h, cfg->max_message_size))
        return refuse(rc, h, 413, "Message Too Large", GW_DROP_MESSAGE_TOO_LARGE);
    bool first = !h->has_byte_range || h->byte_range.start == 1;
    if (first && h->has_body && !gw_accept_types_match(cfg->allowed_content_types, h->content_type))
        return refuse(rc, h, 415, "Unsupported Media Type", GW_DROP_CONTENT_TYPE);
    return false;
}

int relay_limits_pace(struct rconn *rc, size_t n, int r)
{
    uint64_t rate = rc->core->r->cfg.session_bandwidth;
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
