/*
 * relay_auth.c: AUTH requests (RFC 4976 section 5) -- Digest challenge and
 * verification, Expires rules, the reservation handed out in Use-Path.
 *
 * Interop rules from PEERS.md: Authorization may lack uri= (the digest then
 * covers the AUTH's To-Path URI, which msrp_digest_verify falls back to);
 * the challenge carries opaque; clients never refresh, so the reservation
 * lasts as long as the connection whatever Expires said. A second 401 is
 * fatal to some clients: that is acceptable only for wrong credentials.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/relay_internal.h"
#include "proto/writer.h"

static void challenge(struct rconn *rc, const struct msrp_head *h, bool stale)
{
    struct gw_relay_core *core = rc->core;
    char chal[512];
    uint64_t salt = ((uint64_t)core->idx << 56) | ++core->salt;
    int n = msrp_digest_challenge(chal, sizeof(chal), &core->r->dsv, (uint64_t)time(NULL), salt,
                                  stale);
    if (n < 0) {
        RLOG(UR_LOG_ERROR, rc, "cannot build a Digest challenge: %s", msrp_strerror(n));
        return;
    }
    struct msrp_frame extra;
    memset(&extra, 0, sizeof(extra));
    extra.www_authenticate = msrp_slice(chal, (size_t)n);
    relay_respond(rc, h, 401, "Unauthorized", &extra);
}

static void auth_failed(struct rconn *rc, const struct msrp_head *h, const char *user,
                        const char *why, bool stale, enum gw_auth_fail reason)
{
    RSTAT(rc->core, auth_failures);
    MET(rc->core, auth_failed[reason]);
    RLOG(UR_LOG_WARN, rc, "AUTH failed user=%s: %s", user, why);
    challenge(rc, h, stale);
}

static void auth_ok(struct rconn *rc, const struct msrp_head *h, const char *user)
{
    struct gw_relay_core *core = rc->core;
    const struct gw_relay_config *cfg = &core->r->cfg;
    struct msrp_frame extra;
    memset(&extra, 0, sizeof(extra));
    if (h->has_expires && h->expires == 0) {
        /* Expires: 0 gives the reservation back (RFC 4976 section 5.1). */
        RLOG(UR_LOG_INFO, rc, "AUTH user=%s released its reservation", user);
        relay_unbind_session(rc);
        rc->sessid[0] = '\0';
        extra.has_expires = true;
        extra.expires = 0;
        relay_respond(rc, h, 200, "OK", &extra);
        return;
    }
    int64_t exp = gw_relay_expires(h->has_expires, h->expires, cfg->expires_default,
                                   cfg->expires_min, cfg->expires_max);
    if (exp < 0) {
        RSTAT(core, auth_423);
        MET(core, auth_failed[GW_AUTHF_EXPIRES]);
        extra.has_min_expires = true;
        extra.min_expires = cfg->expires_min;
        relay_respond(rc, h, 423, "Interval Out-of-Bounds", &extra);
        return;
    }
    if (relay_bind_session(rc, &h->from_path[0]) < 0) {
        relay_respond(rc, h, 400, "Bad From-Path", NULL);
        return;
    }
    rc->authed = true;
    snprintf(rc->user, sizeof(rc->user), "%s", user);
    char use[512];
    int un = relay_self_uri(core, rc->tls, rc->sessid, use, sizeof(use));
    if (un < 0) {
        relay_respond(rc, h, 400, "Bad Request", NULL);
        return;
    }
    struct msrp_slice use_s = msrp_slice(use, (size_t)un);
    extra.use_path.texts = &use_s;
    extra.use_path.n = 1;
    extra.has_expires = true;
    extra.expires = (uint32_t)exp;
    RSTAT(core, auth_ok);
    MET(core, auth_ok);
    RLOG(UR_LOG_INFO, rc, "AUTH ok user=%s use-path=%s expires=%u", user, use, (unsigned)exp);
    relay_respond(rc, h, 200, "OK", &extra);
}

void relay_auth(struct rconn *rc, const struct msrp_head *h)
{
    struct gw_relay_core *core = rc->core;
    const struct gw_relay_config *cfg = &core->r->cfg;
    if (h->n_to_path != 1 || h->n_from_path == 0 || h->to_path[0].session_id.n) {
        /* AUTH is hop by hop: it must name this relay and nothing else.
         * Which name it uses for us is the client's business (an address,
         * a DNS name, an SRV target, relay_uri_host or not): it reached us
         * over this connection, and its digest covers the URI it used. */
        relay_respond(rc, h, 481, "Not This Relay", NULL);
        return;
    }
    const struct msrp_header *ah = msrp_head_find(h, MSRP_H_AUTHORIZATION);
    if (!ah) {
        RSTAT(core, auth_challenges);
        MET(core, auth_failed[GW_AUTHF_NO_CREDENTIALS]);
        challenge(rc, h, false);
        return;
    }
    struct msrp_digest_fields cred;
    if (msrp_digest_parse(&cred, ah->value.p, ah->value.n) != 0 || !cred.username.p) {
        RSTAT(core, auth_failures);
        MET(core, auth_failed[GW_AUTHF_BAD_PARAM]);
        relay_respond(rc, h, 400, "Bad Authorization", NULL);
        return;
    }
    char user[GW_USER_NAME_CAP];
    snprintf(user, sizeof(user), "%.*s", (int)cred.username.n, cred.username.p);
    struct msrp_slice secret = { 0 };
    bool is_ha1 = false;
    if (!cfg->user_lookup ||
        cfg->user_lookup(cfg->user_ud, core->idx, cred.username.p, cred.username.n, &secret,
                         &is_ha1) != 0) {
        auth_failed(rc, h, user, "unknown user", false, GW_AUTHF_UNKNOWN_USER);
        return;
    }
    struct msrp_digest_check chk;
    memset(&chk, 0, sizeof(chk));
    chk.method = MSRP_SLICE_LIT("AUTH");
    chk.to_path_uri = h->to_path[0].raw;
    if (is_ha1)
        chk.ha1_hex = secret;
    else
        chk.password = secret;
    uint32_t nc = 0;
    int v = msrp_digest_verify(&core->r->dsv, (uint64_t)time(NULL), &cred, &chk, &nc);
    if (v == MSRP_E_AUTH_STALE) {
        auth_failed(rc, h, user, "stale nonce", true, GW_AUTHF_STALE_NONCE);
        return;
    }
    if (v != 0) {
        auth_failed(rc, h, user, msrp_strerror(v), false,
                    v == MSRP_E_AUTH_PARAM ? GW_AUTHF_BAD_PARAM : GW_AUTHF_BAD_PASSWORD);
        return;
    }
    /* Replay: a nonce-count must grow for the same nonce on a connection
     * (digest.h leaves this to the caller). */
    bool same = cred.nonce.n == strlen(rc->nonce) && cred.nonce.n &&
                memcmp(cred.nonce.p, rc->nonce, cred.nonce.n) == 0;
    if (same && nc <= rc->nc_max) {
        auth_failed(rc, h, user, "replayed nonce count", false, GW_AUTHF_REPLAY);
        return;
    }
    if (!same) {
        snprintf(rc->nonce, sizeof(rc->nonce), "%.*s", (int)cred.nonce.n, cred.nonce.p);
    }
    rc->nc_max = nc;
    auth_ok(rc, h, user);
}
