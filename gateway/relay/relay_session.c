/*
 * relay_session.c: reservations (RFC 4976 section 5): a connection AUTHed
 * by a user gets a session id of this core, found by the SENDs naming it;
 * its accounting record (bytes, chunks, duration) from its start to its
 * end; and the admin's list and kill of sessions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/relay/relay_internal.h"
#include <time.h>

#include "uring/conn.h"
#include "uring/loop.h"

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

struct rconn *relay_session_owner(struct rconn *rc, struct msrp_slice sid)
{
    /* reserved: rc->sess_node is in the table under rc->sessid */
    if (rc->reserved && sid.n == GW_RELAY_SESSID_LEN &&
        memcmp(sid.p, rc->sessid, GW_RELAY_SESSID_LEN) == 0)
        return rc;
    if (rc->memo_sid == sid.p && rc->memo_sid_n == sid.n && sid.p)
        return rc->memo_owner;
    struct rnode *n = relay_table_get(&rc->core->sessions, sid.p, sid.n);
    rc->memo_sid = sid.p;
    rc->memo_sid_n = sid.n;
    rc->memo_owner = n ? RCONTAINER(n, struct rconn, sess_node) : NULL;
    return rc->memo_owner;
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
