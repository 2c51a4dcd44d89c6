/*
 * relay_auth.c: AUTH requests (RFC 4976 section 5) -- Digest challenge and
 * verification, Expires rules, the reservation handed out in Use-Path --
 * and the defences around them (state shared by cores in relay_guard.c):
 *
 *   - Replay: every nonce we challenge with carries, in its HMAC'd salt,
 *     the core and an id of the connection it was sent on; an
 *     Authorization on another connection gets 401 with a fresh challenge
 *     (foreign_nonce: the re-challenge that makes a nonce usable). Per
 *     nonce, the highest nonce-count accepted is kept across all cores
 *     (relay_guard's replay cache), so a captured Authorization is refused
 *     anywhere, and switching between nonces does not reopen it.
 *   - Guessing: wrong passwords count per source address and per user;
 *     auth_fail_limit of them within auth_fail_window block the address or
 *     user for auth_block_time: its AUTHs then get 403 without their
 *     password being checked (no oracle). An unknown user name counts for
 *     the address only, so made-up names cannot fill the table. A right
 *     password forgives the user's failures, never the address's (one
 *     account of its own must not let an attacker reset its count). Failure
 *     warnings are rate-limited per call site with a suppressed count.
 *   - Reservations per user: at most max_reservations_per_user (or the
 *     user's own max_reservations, relay_limits_take) at once over all
 *     cores, and max_reservations over all users; 403 beyond. The count
 *     follows the reservation: taken here, given back by
 *     relay_unbind_session (close or Expires 0).
 *
 * Interop rules from PEERS.md: Authorization may lack uri= (the digest then
 * covers the AUTH's To-Path URI, which msrp_digest_verify falls back to);
 * the challenge carries opaque; clients never refresh, so the reservation
 * lasts as long as the connection whatever Expires said. A second 401 is
 * fatal to some clients: that is acceptable only for wrong credentials, a
 * nonce used on another connection than the one it was sent on (which
 * deployed clients do not do: they answer on the connection that got the
 * 401) or a replay. Clients that refresh answer a fresh challenge (nc 1 on
 * a new nonce) or count nc up on the old one: both pass.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "gateway/relay/relay_internal.h"
#include "proto/status.h"
#include "proto/writer.h"
#include "uring/loop.h"

/* Salt of our nonces: core (8 bits) | connection's auth_id (32) |
 * challenge count on that connection (24). The salt is under the nonce's
 * HMAC, so a peer cannot move a nonce to another connection. */
#define SALT_CORE_SHIFT 56
#define SALT_ID_SHIFT 24
#define SALT_CHAL_MASK ((UINT64_C(1) << SALT_ID_SHIFT) - 1)

/* Warnings a peer can repeat at will: at most this many lines a second per
 * call site, then a suppressed count. */
#define AUTH_LOG_PER_SEC 5
#define RLOG_LIMITED(lvl, rc, ...)                                                       \
    GW_LOG_LIMITED(AUTH_LOG_PER_SEC, (enum gw_log_level)(lvl),                           \
                   (rc)->sessid[0] ? (rc)->sessid : NULL, gw_mconn_peer((rc)->m),        \
                   __VA_ARGS__)

int relay_auth_init(struct gw_relay *r)
{
    const struct gw_relay_config *c = &r->cfg;
    struct relay_guard_config gc = {
        .nonce_entries = c->nonce_cache_size,
        .throttle_entries = c->auth_throttle_size,
        .fail_limit = c->auth_fail_limit,
        .fail_window_s = c->auth_fail_window_s,
        .block_s = c->auth_block_s,
        .max_res_per_user = c->max_reservations_per_user,
        .max_res_total = c->max_reservations,
    };
    return relay_guard_new(&r->guard, &gc);
}

void relay_auth_fini(struct gw_relay *r)
{
    relay_guard_free(r->guard);
    r->guard = NULL;
}

void relay_auth_unbound(struct rconn *rc)
{
    if (!rc->res_charged)
        return;
    relay_guard_res_give(rc->core->r->guard, rc->user);
    rc->res_charged = false;
}

/* Monotonic seconds for the throttle (never 0, so 0 can mean "never"). */
static uint32_t mono_s(void)
{
    return (uint32_t)(ur_now_ns() / 1000000000u) + 1;
}

static uint64_t conn_salt(struct rconn *rc)
{
    struct gw_relay_core *core = rc->core;
    if (rc->auth_id == 0) {
        /* Ids start at a random point so nonces do not tell how many
         * connections a core has seen; 0 is never used. */
        if (core->salt == 0) {
            uint32_t seed = 0;
            if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
                seed = (uint32_t)time(NULL);
            core->salt = seed;
        }
        do
            rc->auth_id = (uint32_t)++core->salt;
        while (rc->auth_id == 0);
    }
    rc->auth_chal = (rc->auth_chal + 1) & (uint32_t)SALT_CHAL_MASK;
    return (uint64_t)core->idx << SALT_CORE_SHIFT | (uint64_t)rc->auth_id << SALT_ID_SHIFT |
           rc->auth_chal;
}

/* Was a nonce with this salt challenged on rc? */
static bool salt_is_ours(const struct rconn *rc, uint64_t salt)
{
    return rc->auth_id != 0 && (salt >> SALT_CORE_SHIFT) == rc->core->idx &&
           (uint32_t)(salt >> SALT_ID_SHIFT) == rc->auth_id;
}

static void challenge(struct rconn *rc, const struct msrp_head *h, bool stale)
{
    struct gw_relay_core *core = rc->core;
    char chal[512];
    int n = msrp_digest_challenge(chal, sizeof(chal), &core->r->dsv, (uint64_t)time(NULL),
                                  conn_salt(rc), stale);
    if (n < 0) {
        RLOG(UR_LOG_ERROR, rc, "cannot build a Digest challenge: %s", msrp_strerror(n));
        return;
    }
    struct msrp_frame extra;
    memset(&extra, 0, sizeof(extra));
    extra.www_authenticate = msrp_slice(chal, (size_t)n);
    relay_respond(rc, h, 401, msrp_status_phrase(401), &extra);
}

static void auth_failed(struct rconn *rc, const struct msrp_head *h, const char *user,
                        const char *why, bool stale, enum gw_auth_fail reason)
{
    RSTAT(rc->core, auth_failures);
    MET(rc->core, auth_failed[reason]);
    RLOG_LIMITED(UR_LOG_WARN, rc, "AUTH failed user=%s: %s", user, why);
    challenge(rc, h, stale);
}

/* 403 with no challenge: the request is refused whatever it carries. */
static void auth_refused(struct rconn *rc, const struct msrp_head *h, const char *comment,
                         enum gw_auth_fail reason)
{
    RSTAT(rc->core, auth_failures);
    MET(rc->core, auth_failed[reason]);
    relay_respond(rc, h, 403, comment, NULL); /* counts resp_403 */
}

/* Ends the checks begun on the address and the user (relay_guard_begin)
 * with their verdicts: a wrong password counts against both, an unknown
 * name against the address only. */
static void finish_checks(struct rconn *rc, uint64_t addr_key, uint64_t user_key,
                          const char *user, enum relay_guard_verdict addr_v,
                          enum relay_guard_verdict user_v)
{
    struct relay_guard *g = rc->core->r->guard;
    uint32_t now = mono_s();
    const struct relay_guard_config *gc = relay_guard_config(g);
    if (relay_guard_done(g, addr_key, now, addr_v))
        RLOG_LIMITED(UR_LOG_WARN, rc, "AUTH: blocking the address for %u s after %u failures",
                     gc->block_s, gc->fail_limit);
    if (relay_guard_done(g, user_key, now, user_v))
        RLOG_LIMITED(UR_LOG_WARN, rc, "AUTH: blocking user=%s for %u s after %u failures", user,
                     gc->block_s, gc->fail_limit);
}

/* Charges rc's reservation to user unless it already is: 0, or the
 * request was answered (403 at the cap, max: the user's own or global). */
static int charge_reservation(struct rconn *rc, const struct msrp_head *h, const char *user,
                              uint32_t max)
{
    struct relay_guard *g = rc->core->r->guard;
    if (rc->res_charged && strcmp(rc->user, user) == 0)
        return 0;
    int e = relay_guard_res_take_max(g, user, max);
    if (e < 0) {
        if (e == -EDQUOT)
            RLOG_LIMITED(UR_LOG_WARN, rc, "AUTH user=%s refused: %u reservations held", user,
                         max);
        if (e == -EUSERS)
            RLOG_LIMITED(UR_LOG_WARN, rc, "AUTH user=%s refused: the relay holds %u reservations",
                         user, relay_guard_config(g)->max_res_total);
        auth_refused(rc, h, "Too Many Reservations",
                     e == -EUSERS ? GW_AUTHF_RESERVATION_TOTAL : GW_AUTHF_RESERVATION_LIMIT);
        return -1;
    }
    /* A connection re-AUTHed by another user moves its reservation. */
    if (rc->res_charged)
        relay_guard_res_give(g, rc->user);
    rc->res_charged = true;
    snprintf(rc->user, sizeof(rc->user), "%s", user);
    return 0;
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
        relay_respond(rc, h, 200, msrp_status_phrase(200), &extra);
        return;
    }
    int64_t exp = gw_relay_expires(h->has_expires, h->expires, cfg->expires_default,
                                   cfg->expires_min, cfg->expires_max);
    if (exp < 0) {
        RSTAT(core, auth_423);
        MET(core, auth_failed[GW_AUTHF_EXPIRES]);
        extra.has_min_expires = true;
        extra.min_expires = cfg->expires_min;
        relay_respond(rc, h, 423, msrp_status_phrase(423), &extra);
        return;
    }
    bool was_reserved = rc->reserved;
    /* The user's limits as of this AUTH: kept for the reservation's life. */
    struct relay_lim lim;
    relay_limits_take(rc, user, &lim);
    if (charge_reservation(rc, h, user, lim.max_res) < 0)
        return;
    if (relay_bind_session(rc, &h->from_path[0]) < 0) {
        if (!was_reserved)
            relay_auth_unbound(rc); /* no reservation came of it */
        MET(rc->core, drops[GW_DROP_BAD_PATH]);
        relay_respond(rc, h, 400, "Bad From-Path", NULL);
        return;
    }
    rc->authed = true;
    rc->lim = lim;
    snprintf(rc->user, sizeof(rc->user), "%s", user);
    char use[512];
    int un = relay_self_uri(core, rc->tls, rc->sessid, use, sizeof(use));
    if (un < 0) {
        relay_respond(rc, h, 400, msrp_status_phrase(400), NULL);
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
    relay_respond(rc, h, 200, msrp_status_phrase(200), &extra);
}

/* After the password is proven: the nonce must be one challenged on rc,
 * and its nonce-count new anywhere. 0, or the request was answered. */
static int check_nonce_use(struct rconn *rc, const struct msrp_head *h, const char *user,
                           const struct msrp_digest_fields *cred, uint32_t nc)
{
    struct gw_relay *r = rc->core->r;
    uint64_t ts, salt;
    if (msrp_digest_nonce_stamp(cred->nonce, &ts, &salt) != 0) {
        auth_failed(rc, h, user, "malformed nonce", false, GW_AUTHF_BAD_PARAM);
        return -1;
    }
    if (!salt_is_ours(rc, salt)) {
        auth_failed(rc, h, user, "nonce challenged on another connection", false,
                    GW_AUTHF_FOREIGN_NONCE);
        return -1;
    }
    uint64_t now = (uint64_t)time(NULL);
    switch (relay_guard_nonce_use(r->guard, ts, salt, nc, ts + r->dsv.lifetime + 1, now)) {
    case RELAY_GUARD_NONCE_OK:
        return 0;
    case RELAY_GUARD_NONCE_REPLAY:
        auth_failed(rc, h, user, "replayed nonce count", false, GW_AUTHF_REPLAY);
        return -1;
    case RELAY_GUARD_NONCE_FULL:
    default:
        /* Forgetting a live nonce would reopen its replays: this one is
         * refused instead, as if it were old (nonce_cache_size). */
        auth_failed(rc, h, user, "nonce cache full", true, GW_AUTHF_STALE_NONCE);
        return -1;
    }
}

/* After a failed guess (its 401 already queued) or a refusal of a blocked
 * address or user (its 403), the connection is not
 * read for auth_fail_delay_ms: a guesser gets one try per delay per
 * connection, and the loop never sleeps (rc->kick resumes it; a kick
 * already pending merely comes later). */
static int fail_pause(struct rconn *rc)
{
    uint32_t ms = rc->core->r->cfg.auth_fail_delay_ms;
    if (!ms || rc->closing)
        return GW_MCONN_CONTINUE;
    rc->resume_pending = true;
    ur_timer_arm(rc->core->loop, &rc->kick, ms, 0);
    return GW_MCONN_STALL;
}

/* The password check of an AUTH whose address and user are not blocked;
 * it ends the checks relay_auth began. */
static int check_credentials(struct rconn *rc, const struct msrp_head *h,
                             const struct msrp_digest_fields *cred, const char *user,
                             uint64_t addr_key, uint64_t user_key)
{
    struct gw_relay_core *core = rc->core;
    const struct gw_relay_config *cfg = &core->r->cfg;
    struct msrp_slice secret = { 0 };
    bool is_ha1 = false;
    if (!cfg->user_lookup ||
        cfg->user_lookup(cfg->user_ud, core->idx, cred->username.p, cred->username.n, &secret,
                         &is_ha1) != 0) {
        finish_checks(rc, addr_key, user_key, user, RELAY_GUARD_FAILED, RELAY_GUARD_NO_VERDICT);
        auth_failed(rc, h, user, "unknown user", false, GW_AUTHF_UNKNOWN_USER);
        return fail_pause(rc);
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
    int v = msrp_digest_verify(&core->r->dsv, (uint64_t)time(NULL), cred, &chk, &nc);
    if (v == MSRP_E_AUTH_STALE || v == MSRP_E_AUTH_PARAM) {
        finish_checks(rc, addr_key, user_key, user, RELAY_GUARD_NO_VERDICT,
                      RELAY_GUARD_NO_VERDICT);
        if (v == MSRP_E_AUTH_STALE)
            auth_failed(rc, h, user, "stale nonce", true, GW_AUTHF_STALE_NONCE);
        else
            auth_failed(rc, h, user, msrp_strerror(v), false, GW_AUTHF_BAD_PARAM);
        return GW_MCONN_CONTINUE;
    }
    if (v != 0) {
        finish_checks(rc, addr_key, user_key, user, RELAY_GUARD_FAILED, RELAY_GUARD_FAILED);
        auth_failed(rc, h, user, msrp_strerror(v), false, GW_AUTHF_BAD_PASSWORD);
        return fail_pause(rc);
    }
    /* The password was right: the user's failures are forgiven (the
     * address's are not: it may be guessing other names). */
    finish_checks(rc, addr_key, user_key, user, RELAY_GUARD_NO_VERDICT, RELAY_GUARD_PASSED);
    if (check_nonce_use(rc, h, user, cred, nc) < 0)
        return GW_MCONN_CONTINUE;
    auth_ok(rc, h, user);
    return GW_MCONN_CONTINUE;
}

int relay_auth(struct rconn *rc, const struct msrp_head *h)
{
    struct gw_relay_core *core = rc->core;
    struct relay_guard *g = core->r->guard;
    if (h->n_to_path != 1 || h->n_from_path == 0 || h->to_path[0].session_id.n) {
        /* AUTH is hop by hop: it must name this relay and nothing else.
         * Which name it uses for us is the client's business (an address,
         * a DNS name, an SRV target, relay_uri_host or not): it reached us
         * over this connection, and its digest covers the URI it used. */
        relay_respond(rc, h, 481, "Not This Relay", NULL);
        return GW_MCONN_CONTINUE;
    }
    uint64_t addr_key = relay_guard_addr_key(g, gw_mconn_peer(rc->m));
    uint32_t left = relay_guard_blocked(g, addr_key, mono_s());
    if (left) {
        RLOG_LIMITED(UR_LOG_WARN, rc, "AUTH refused: address blocked for %u more s", left);
        auth_refused(rc, h, "Too Many Failures", GW_AUTHF_THROTTLED);
        return fail_pause(rc); /* a refused guesser is not answered at full speed either */
    }
    const struct msrp_header *ah = msrp_head_find(h, MSRP_H_AUTHORIZATION);
    if (!ah) {
        RSTAT(core, auth_challenges);
        MET(core, auth_failed[GW_AUTHF_NO_CREDENTIALS]);
        challenge(rc, h, false);
        return GW_MCONN_CONTINUE;
    }
    struct msrp_digest_fields cred;
    if (msrp_digest_parse(&cred, ah->value.p, ah->value.n) != 0 || !cred.username.p) {
        RSTAT(core, auth_failures);
        MET(core, auth_failed[GW_AUTHF_BAD_PARAM]);
        relay_respond(rc, h, 400, "Bad Authorization", NULL);
        return GW_MCONN_CONTINUE;
    }
    char user[GW_USER_NAME_CAP];
    snprintf(user, sizeof(user), "%.*s", (int)cred.username.n, cred.username.p);
    /* From here the check counts against the user and the address until
     * finish_checks: a guesser's connections on all cores together get
     * auth_fail_limit checks, not one more each. */
    uint64_t user_key = relay_guard_key(g, 'U', user, strlen(user));
    uint32_t now = mono_s();
    left = relay_guard_begin(g, user_key, now);
    if (left) {
        RLOG_LIMITED(UR_LOG_WARN, rc, "AUTH refused: user=%s blocked for %u more s", user, left);
        auth_refused(rc, h, "Too Many Failures", GW_AUTHF_THROTTLED);
        return fail_pause(rc);
    }
    left = relay_guard_begin(g, addr_key, now);
    if (left) {
        relay_guard_done(g, user_key, now, RELAY_GUARD_NO_VERDICT);
        RLOG_LIMITED(UR_LOG_WARN, rc, "AUTH refused: address blocked for %u more s", left);
        auth_refused(rc, h, "Too Many Failures", GW_AUTHF_THROTTLED);
        return fail_pause(rc);
    }
    return check_credentials(rc, h, &cred, user, addr_key, user_key);
}
