/*
 * relay_learn.c: senders reached back over the connection they came in on.
 *
 * A relay moves the URIs of its own that it takes off To-Path to From-Path
 * (RFC 4976 section 7.2) and invents none, so a sender that holds no
 * reservation here -- an endpoint that dialled the receiver's relay path
 * straight, or a previous relay whose connection carries many senders --
 * is named in reverse traffic (REPORTs, the receiver's SENDs) only by the
 * From-Path[0] URI it arrived with. The receiver's To-Path mirrors its
 * From-Path: "relay/R sender". So each core remembers, per URI (RFC 4975
 * section 6.1 equality, msrp_uri_key), the connection on which it last
 * arrived as From-Path[0], and forwards reverse traffic for it there,
 * never by dialling it (PEERS.md: such a sender may name a port nobody
 * listens on).
 *
 * Across cores: a sender reaching another core's session over our
 * loopback hop is learned twice -- on the connection it arrived on (core
 * A) and on the hop's inbound end (core B, the owner). B's reverse
 * traffic goes back over the hop; A, seeing it arrive on its outgoing
 * hop, forwards it to where it learned the sender (relay.c route_back).
 *
 * Bounds: at most max_learned_uris per connection, least recently used
 * dropped (counted: msrpgw_learned_uri_evictions_total); all of a
 * connection's go with it. A URI that arrives on another connection moves
 * there: the last arrival wins.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/relay/relay_internal.h"

struct rlearn {
    struct rnode node;          /* core->learned, by URI key */
    struct rconn *rc;
    struct rlearn *prev, *next; /* rc->learned, most recent first */
    size_t raw_n;               /* the URI as it arrived (key + klen) */
    char key[];
};

static void unlink_conn(struct rlearn *l)
{
    struct rconn *rc = l->rc;
    if (l->prev)
        l->prev->next = l->next;
    else
        rc->learned = l->next;
    if (l->next)
        l->next->prev = l->prev;
    else
        rc->learned_tail = l->prev;
    l->prev = l->next = NULL;
    rc->n_learned--;
}

static void link_front(struct rconn *rc, struct rlearn *l)
{
    l->rc = rc;
    l->prev = NULL;
    l->next = rc->learned;
    if (l->next)
        l->next->prev = l;
    else
        rc->learned_tail = l;
    rc->learned = l;
    rc->n_learned++;
}

static void learn_free(struct rlearn *l)
{
    struct gw_relay_core *core = l->rc->core;
    unlink_conn(l);
    relay_table_del(&core->learned, &l->node);
    MET_SUB(core, learned_uris, 1);
    free(l);
}

static const char *raw_of(const struct rlearn *l)
{
    return l->key + l->node.klen;
}

/* The entry for u, or NULL (-ENOMEM in *err when the key could not be
 * built). The key lives on the stack when it fits: this runs per chunk. */
static struct rlearn *find(struct gw_relay_core *core, const struct msrp_uri *u, int *err)
{
    char kbuf[512];
    size_t kn = msrp_uri_key(u, kbuf, sizeof(kbuf));
    char *key = kbuf;
    *err = 0;
    if (kn > sizeof(kbuf)) {
        if (!(key = malloc(kn))) {
            *err = -ENOMEM;
            return NULL;
        }
        msrp_uri_key(u, key, kn);
    }
    struct rnode *n = relay_table_get(&core->learned, key, kn);
    if (key != kbuf)
        free(key);
    return n ? RCONTAINER(n, struct rlearn, node) : NULL;
}

int relay_learn(struct rconn *rc, const struct msrp_uri *u)
{
    struct gw_relay_core *core = rc->core;
    /* The common case: the same sender as this connection's last chunk. */
    struct rlearn *l = rc->learned;
    if (l && l->raw_n == u->raw.n && memcmp(raw_of(l), u->raw.p, u->raw.n) == 0)
        return 0;
    int err;
    if ((l = find(core, u, &err))) {
        if (l->rc != rc)
            RLOG(UR_LOG_DEBUG, rc, "sender %.*s moves here from another connection",
                 (int)u->raw.n, u->raw.p);
        unlink_conn(l);
        link_front(rc, l);
        /* Keep the latest spelling for the fast path above. */
        if (l->raw_n == u->raw.n)
            memcpy(l->key + l->node.klen, u->raw.p, u->raw.n);
        return 0;
    }
    if (err < 0)
        return err;
    size_t kn = msrp_uri_key(u, NULL, 0);
    l = malloc(sizeof(*l) + kn + u->raw.n);
    if (!l)
        return -ENOMEM;
    msrp_uri_key(u, l->key, kn);
    memcpy(l->key + kn, u->raw.p, u->raw.n);
    l->raw_n = u->raw.n;
    l->node.key = l->key;
    l->node.klen = kn;
    relay_table_put(&core->learned, &l->node);
    MET(core, learned_uris);
    uint32_t max = core->r->cfg.max_learned_uris;
    if (rc->n_learned >= max) {
        struct rlearn *old = rc->learned_tail;
        RLOG(UR_LOG_DEBUG, rc, "forgetting the least recently used of %u senders (%.*s)",
             (unsigned)rc->n_learned, (int)old->raw_n, raw_of(old));
        learn_free(old);
        MET(core, learned_evictions);
    }
    link_front(rc, l);
    RLOG(UR_LOG_DEBUG, rc, "sender %.*s is reached over this connection", (int)u->raw.n,
         u->raw.p);
    return 0;
}

struct rconn *relay_learned(struct gw_relay_core *core, const struct msrp_uri *u)
{
    int err;
    struct rlearn *l = find(core, u, &err);
    return l && !l->rc->closing ? l->rc : NULL;
}

void relay_learn_forget(struct rconn *rc)
{
    while (rc->learned)
        learn_free(rc->learned);
}
