/*
 * digest.h: HTTP Digest authentication for MSRP AUTH (RFC 4976 section 5,
 * RFC 2617 MD5 with qop=auth), server and client side.
 *
 * Server (relay): msrp_digest_challenge() builds a WWW-Authenticate value
 * whose nonce is stateless-verifiable:
 *
 *   nonce = hex16(timestamp) hex16(salt) hex32(HMAC-SHA256(secret,
 *           timestamp_be64 || salt_be64 || realm)[0..16))
 *
 * so any core (or a restarted relay with the same secret) checks a nonce's
 * authenticity and age without storing it. msrp_digest_verify() checks an
 * Authorization value: 0, MSRP_E_AUTH_FAILED (forged nonce, wrong realm,
 * wrong password...), MSRP_E_AUTH_STALE (right password, nonce older than
 * the lifetime: re-challenge with stale=true) or MSRP_E_AUTH_PARAM.
 *
 * Replay protection is the caller's: verify reports the nonce-count (nc);
 * keep, per nonce (e.g. per connection that was challenged), the highest
 * nc accepted and refuse a response whose nc is not greater. A nonce
 * older than the lifetime is refused anyway, so that table only needs
 * entries for lifetime seconds.
 *
 * Interop (PEERS.md): a widely deployed client sends no uri= and hashes
 * "AUTH:<To-Path URI of the AUTH>", so the caller always passes that URI;
 * it quotes qop and nc, which the parser accepts as well as bare tokens.
 *
 * Client: msrp_digest_parse() reads a WWW-Authenticate value too, and
 * msrp_digest_authorization() builds the Authorization value.
 *
 * No allocation, no I/O, no globals; the secret and the time come from
 * the caller.
 */
#ifndef MSRP_DIGEST_H
#define MSRP_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/slice.h"

#define MSRP_DIGEST_HEX_LEN 32   /* MD5 in lower-case hex */
#define MSRP_DIGEST_NONCE_LEN 64 /* hex16 time + hex16 salt + hex32 tag */
#define MSRP_DIGEST_STORE 2048   /* bound on the unescaped values of one header */
#define MSRP_DIGEST_MAX_PARAMS 32

/*
 * Parameters of one Digest header value (Authorization or
 * WWW-Authenticate). Absent parameters have p == NULL; values are
 * unescaped copies in store[] (so this struct must not be copied or
 * moved after parsing: the slices point into it).
 */
struct msrp_digest_fields {
    struct msrp_slice username, realm, nonce, uri, response, cnonce, nc, qop, opaque,
        algorithm, stale, domain;
    char store[MSRP_DIGEST_STORE];
    size_t used;
};

/*
 * Parses `Digest name=value, ...` (scheme case-insensitive; values token
 * or quoted-string with \-escapes; LWS around '=' and ','; unknown
 * parameters ignored). Returns 0 or MSRP_E_AUTH_PARAM (another scheme,
 * syntax, control bytes, a known parameter twice, more than
 * MSRP_DIGEST_MAX_PARAMS parameters, values beyond MSRP_DIGEST_STORE).
 */
int msrp_digest_parse(struct msrp_digest_fields *f, const char *s, size_t n);

/* Server configuration; all borrowed. */
struct msrp_digest_server {
    const uint8_t *secret;  /* HMAC key, >= 16 random bytes recommended */
    size_t secret_len;
    struct msrp_slice realm;
    uint32_t lifetime;      /* seconds a nonce stays fresh, e.g. 300 */
};

/*
 * WWW-Authenticate value: Digest realm="..", nonce="..", opaque="..",
 * qop="auth", algorithm=MD5[, stale=true]. now is the caller's clock in
 * seconds; salt makes nonces issued in the same second distinct (a
 * counter or random value). Returns the length or MSRP_E_NOSPACE,
 * MSRP_E_INVALID (no secret), MSRP_E_HEADER_VALUE (realm with '"', '\\'
 * or control bytes).
 */
int msrp_digest_challenge(char *buf, size_t cap, const struct msrp_digest_server *sv,
                          uint64_t now, uint64_t salt, bool stale);

/* What the server knows about the request being checked. */
struct msrp_digest_check {
    struct msrp_slice method;      /* "AUTH" */
    struct msrp_slice to_path_uri; /* the AUTH's To-Path URI: digest-uri
                                      when uri= is absent, and what a
                                      present uri= must equal (RFC 4975
                                      6.1 comparison) */
    struct msrp_slice password;    /* either the password... */
    struct msrp_slice ha1_hex;     /* ...or MD5(user:realm:password) hex */
};

/*
 * Checks cred (parsed Authorization) against the server's state. On 0 or
 * MSRP_E_AUTH_STALE, *nc_out (if not NULL) holds the nonce-count for the
 * caller's replay check. Comparisons of secrets are constant-time.
 */
int msrp_digest_verify(const struct msrp_digest_server *sv, uint64_t now,
                       const struct msrp_digest_fields *cred,
                       const struct msrp_digest_check *chk, uint32_t *nc_out);

/*
 * The timestamp and salt a nonce of ours carries (after msrp_digest_verify
 * proved it authentic, they name it: a replay cache keys on them, and a
 * salt can bind the nonce to what it was issued for). 0, or
 * MSRP_E_AUTH_PARAM when nonce is not MSRP_DIGEST_NONCE_LEN hex digits.
 */
int msrp_digest_nonce_stamp(struct msrp_slice nonce, uint64_t *ts, uint64_t *salt);

/* Client side: what to answer a challenge with. */
struct msrp_digest_client {
    struct msrp_slice username;
    struct msrp_slice password;
    struct msrp_slice uri;     /* To-Path URI of the AUTH */
    struct msrp_slice cnonce;  /* fresh random token per response */
    uint32_t nc;               /* 1 for the first response to a nonce */
    bool omit_uri;             /* imitate clients that send no uri= */
};

/*
 * Authorization value answering challenge chal (a parsed
 * WWW-Authenticate): Digest username, realm, nonce, uri, response,
 * qop=auth, nc, cnonce, opaque (if the challenge had one),
 * algorithm=MD5. Returns the length, MSRP_E_NOSPACE, MSRP_E_AUTH_PARAM
 * (challenge without realm/nonce, or offering neither qop auth nor MD5).
 */
int msrp_digest_authorization(char *buf, size_t cap, const struct msrp_digest_fields *chal,
                              const struct msrp_digest_client *c);

/*
 * Authentication-Info value for a verified cred (RFC 2617 section 3.2.3,
 * no nextnonce): qop=auth, rspauth="..", cnonce="..", nc=..; rspauth
 * proves to the client that the server knows its password (it hashes
 * ":" digest-uri in place of method ":" digest-uri). Optional: relays
 * may send no Authentication-Info at all.
 */
int msrp_digest_auth_info(char *buf, size_t cap, const struct msrp_digest_fields *cred,
                          const struct msrp_digest_check *chk);

/* MD5 of parts joined with ':' as lower-case hex (33 bytes with NUL).
 * The building block of HA1, HA2 and the response; 0 or MSRP_E_INVALID. */
int msrp_digest_md5_hex(char out[MSRP_DIGEST_HEX_LEN + 1], const struct msrp_slice *parts,
                        size_t n);

#endif
