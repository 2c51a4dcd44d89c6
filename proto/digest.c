/*
 * digest.c: RFC 4976 AUTH Digest (RFC 2617 MD5, qop=auth): header value
 * parsing, stateless HMAC nonces, response verification, client answers.
 *
 * Hostile input is bounded at every step: the parser copies values into a
 * fixed store and counts parameters; nothing here loops over more than
 * the input once; secrets are compared in constant time so timing does
 * not leak how much of a response or nonce tag was right.
 */
#include "proto/digest.h"

#include <stddef.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/md5.h>

#include "proto/error.h"
#include "proto/uri.h"

/* ---- small helpers ---------------------------------------------------- */

static bool is_token_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* LWS = [CRLF] 1*( SP / HT ); returns bytes skipped. */
static size_t skip_lws(const char *s, size_t n, size_t i)
{
    for (;;) {
        if (i < n && is_wsp(s[i]))
            i++;
        else if (i + 2 < n && s[i] == '\r' && s[i + 1] == '\n' && is_wsp(s[i + 2]))
            i += 3;
        else
            return i;
    }
}

static const char hexd[] = "0123456789abcdef";

static void to_hex(char *out, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexd[in[i] >> 4];
        out[2 * i + 1] = hexd[in[i] & 15];
    }
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Constant-time equality of two equal-length byte runs. */
static bool ct_eq(const char *a, const char *b, size_t n)
{
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* Lower-cases a hex run into out; false if it is not n hex digits. */
static bool lower_hex(char *out, struct msrp_slice s, size_t n)
{
    if (s.p == NULL || s.n != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int v = hex_nibble(s.p[i]);
        if (v < 0)
            return false;
        out[i] = hexd[v];
    }
    return true;
}

static bool present(struct msrp_slice s)
{
    return s.p != NULL;
}

/* ---- parsing ------------------------------------------------------------ */

static const struct {
    const char *name;
    size_t off;
} known[] = {
    { "username", offsetof(struct msrp_digest_fields, username) },
    { "realm", offsetof(struct msrp_digest_fields, realm) },
    { "nonce", offsetof(struct msrp_digest_fields, nonce) },
    { "uri", offsetof(struct msrp_digest_fields, uri) },
    { "response", offsetof(struct msrp_digest_fields, response) },
    { "cnonce", offsetof(struct msrp_digest_fields, cnonce) },
    { "nc", offsetof(struct msrp_digest_fields, nc) },
    { "qop", offsetof(struct msrp_digest_fields, qop) },
    { "opaque", offsetof(struct msrp_digest_fields, opaque) },
    { "algorithm", offsetof(struct msrp_digest_fields, algorithm) },
    { "stale", offsetof(struct msrp_digest_fields, stale) },
    { "domain", offsetof(struct msrp_digest_fields, domain) },
};

static struct msrp_slice *field_slot(struct msrp_digest_fields *f, const char *name, size_t n)
{
    for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
        if (msrp_slice_caseeq(msrp_slice(name, n), msrp_slice(known[k].name, strlen(known[k].name))))
            return (struct msrp_slice *)(void *)((char *)f + known[k].off);
    return NULL;
}

int msrp_digest_parse(struct msrp_digest_fields *f, const char *s, size_t n)
{
    memset(f, 0, offsetof(struct msrp_digest_fields, store));
    f->used = 0;
    if (s == NULL)
        return MSRP_E_AUTH_PARAM;
    size_t i = skip_lws(s, n, 0);
    if (n - i < 6 || !msrp_slice_caseeq(msrp_slice(s + i, 6), MSRP_SLICE_LIT("Digest")))
        return MSRP_E_AUTH_PARAM;
    i += 6;
    size_t j = skip_lws(s, n, i);
    if (j == i)
        return MSRP_E_AUTH_PARAM; /* "Digestfoo" or "Digest" alone */
    i = j;
    unsigned count = 0;
    for (;;) {
        /* Empty list elements (",,") are allowed by the #rule. */
        for (;;) {
            size_t k = skip_lws(s, n, i);
            if (k < n && s[k] == ',') {
                i = k + 1;
                continue;
            }
            i = k;
            break;
        }
        if (i == n)
            break;
        size_t name = i;
        while (i < n && is_token_char((unsigned char)s[i]))
            i++;
        size_t name_n = i - name;
        if (name_n == 0)
            return MSRP_E_AUTH_PARAM;
        i = skip_lws(s, n, i);
        if (i >= n || s[i] != '=')
            return MSRP_E_AUTH_PARAM;
        i = skip_lws(s, n, i + 1);
        if (i >= n)
            return MSRP_E_AUTH_PARAM;
        char *out = f->store + f->used;
        size_t room = sizeof(f->store) - f->used;
        size_t len = 0;
        if (s[i] == '"') {
            i++;
            for (;;) {
                if (i >= n)
                    return MSRP_E_AUTH_PARAM; /* unterminated */
                unsigned char c = (unsigned char)s[i];
                if (c == '"') {
                    i++;
                    break;
                }
                if (c == '\\') {
                    if (i + 1 >= n)
                        return MSRP_E_AUTH_PARAM;
                    c = (unsigned char)s[i + 1];
                    if (c > 127)
                        return MSRP_E_AUTH_PARAM;
                    i++;
                }
                /* No control bytes, not even escaped (HTAB is text). */
                if ((c < 32 && c != '\t') || c == 127)
                    return MSRP_E_AUTH_PARAM;
                if (len == room)
                    return MSRP_E_AUTH_PARAM;
                out[len++] = (char)c;
                i++;
            }
        } else {
            while (i < n && is_token_char((unsigned char)s[i])) {
                if (len == room)
                    return MSRP_E_AUTH_PARAM;
                out[len++] = s[i++];
            }
            if (len == 0)
                return MSRP_E_AUTH_PARAM;
        }
        if (++count > MSRP_DIGEST_MAX_PARAMS)
            return MSRP_E_AUTH_PARAM;
        struct msrp_slice *slot = field_slot(f, s + name, name_n);
        if (slot) {
            if (present(*slot))
                return MSRP_E_AUTH_PARAM; /* a parameter twice: ambiguous */
            *slot = msrp_slice(out, len);
            f->used += len;
        }
        i = skip_lws(s, n, i);
        if (i < n && s[i] != ',')
            return MSRP_E_AUTH_PARAM;
    }
    return count ? 0 : MSRP_E_AUTH_PARAM;
}

/* ---- hashing ------------------------------------------------------------ */

int msrp_digest_md5_hex(char out[MSRP_DIGEST_HEX_LEN + 1], const struct msrp_slice *parts,
                        size_t n)
{
    wc_Md5 md5;
    uint8_t h[WC_MD5_DIGEST_SIZE];
    if (wc_InitMd5(&md5) != 0)
        return MSRP_E_INVALID;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i)
            rc = wc_Md5Update(&md5, (const byte *)":", 1);
        if (rc == 0 && parts[i].n)
            rc = parts[i].n > UINT32_MAX ? -1
                                         : wc_Md5Update(&md5, (const byte *)parts[i].p,
                                                        (word32)parts[i].n);
    }
    if (rc == 0)
        rc = wc_Md5Final(&md5, h);
    wc_Md5Free(&md5);
    if (rc != 0)
        return MSRP_E_INVALID;
    to_hex(out, h, sizeof(h));
    out[MSRP_DIGEST_HEX_LEN] = '\0';
    return 0;
}

static void be64(uint8_t *out, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* HMAC-SHA256(secret, a || b) truncated to 16 bytes, as 32 hex. */
static int hmac_hex32(const struct msrp_digest_server *sv, const uint8_t *a, size_t an,
                      struct msrp_slice b, char out[32])
{
    Hmac h;
    uint8_t mac[WC_SHA256_DIGEST_SIZE];
    if (sv->secret == NULL || sv->secret_len == 0 || sv->secret_len > UINT32_MAX ||
        b.n > UINT32_MAX)
        return MSRP_E_INVALID;
    if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
        return MSRP_E_INVALID;
    int rc = wc_HmacSetKey(&h, WC_SHA256, sv->secret, (word32)sv->secret_len);
    if (rc == 0)
        rc = wc_HmacUpdate(&h, a, (word32)an);
    if (rc == 0 && b.n)
        rc = wc_HmacUpdate(&h, (const byte *)b.p, (word32)b.n);
    if (rc == 0)
        rc = wc_HmacFinal(&h, mac);
    wc_HmacFree(&h);
    if (rc != 0)
        return MSRP_E_INVALID;
    to_hex(out, mac, 16);
    return 0;
}

static int make_nonce(const struct msrp_digest_server *sv, uint64_t ts, uint64_t salt,
                      char out[MSRP_DIGEST_NONCE_LEN])
{
    uint8_t msg[16];
    be64(msg, ts);
    be64(msg + 8, salt);
    to_hex(out, msg, 16);
    return hmac_hex32(sv, msg, sizeof(msg), sv->realm, out + 32);
}

static int make_opaque(const struct msrp_digest_server *sv, char out[32])
{
    return hmac_hex32(sv, (const uint8_t *)"opaque", 6, sv->realm, out);
}

/* ---- bounded output ----------------------------------------------------- */

struct obuf {
    char *p;
    size_t cap, len;
    int err;
};

static void o_bytes(struct obuf *o, const char *s, size_t n)
{
    if (o->err)
        return;
    if (n > o->cap - o->len) {
        o->err = MSRP_E_NOSPACE;
        return;
    }
    if (n)
        memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void o_str(struct obuf *o, const char *s)
{
    o_bytes(o, s, strlen(s));
}

/* quoted-string: escape '"' and '\'; control bytes cannot be carried. */
static void o_quoted(struct obuf *o, struct msrp_slice v)
{
    o_bytes(o, "\"", 1);
    for (size_t i = 0; i < v.n; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if ((c < 32 && c != '\t') || c == 127) {
            if (!o->err)
                o->err = MSRP_E_HEADER_VALUE;
            return;
        }
        if (c == '"' || c == '\\')
            o_bytes(o, "\\", 1);
        o_bytes(o, v.p + i, 1);
    }
    o_bytes(o, "\"", 1);
}

static int o_result(const struct obuf *o)
{
    if (o->err)
        return o->err;
    return o->len > (size_t)INT32_MAX ? MSRP_E_NOSPACE : (int)o->len;
}

/* ---- server ------------------------------------------------------------- */

int msrp_digest_challenge(char *buf, size_t cap, const struct msrp_digest_server *sv,
                          uint64_t now, uint64_t salt, bool stale)
{
    char nonce[MSRP_DIGEST_NONCE_LEN], opaque[32];
    struct obuf o = { buf, buf ? cap : 0, 0, 0 };
    if (sv == NULL || make_nonce(sv, now, salt, nonce) < 0 || make_opaque(sv, opaque) < 0)
        return MSRP_E_INVALID;
    o_str(&o, "Digest realm=");
    o_quoted(&o, sv->realm);
    o_str(&o, ", nonce=\"");
    o_bytes(&o, nonce, sizeof(nonce));
    o_str(&o, "\", opaque=\"");
    o_bytes(&o, opaque, sizeof(opaque));
    o_str(&o, "\", qop=\"auth\", algorithm=MD5");
    if (stale)
        o_str(&o, ", stale=true");
    return o_result(&o);
}

static uint64_t hex_u64(const char *s)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++)
        v = v << 4 | (uint64_t)hex_nibble(s[i]);
    return v;
}

int msrp_digest_nonce_stamp(struct msrp_slice nonce, uint64_t *ts, uint64_t *salt)
{
    char hex[MSRP_DIGEST_NONCE_LEN];
    if (!lower_hex(hex, nonce, MSRP_DIGEST_NONCE_LEN))
        return MSRP_E_AUTH_PARAM;
    *ts = hex_u64(hex);
    *salt = hex_u64(hex + 16);
    return 0;
}

/* The digest-uri to hash, after checking a present uri= names the AUTH's
 * To-Path (RFC 2617 3.2.2.5: the server checks it is the request's). */
static int pick_uri(const struct msrp_digest_fields *cred, const struct msrp_digest_check *chk,
                    struct msrp_slice *uri)
{
    if (!present(cred->uri)) {
        if (chk->to_path_uri.n == 0)
            return MSRP_E_AUTH_PARAM;
        *uri = chk->to_path_uri;
        return 0;
    }
    *uri = cred->uri;
    if (chk->to_path_uri.n == 0)
        return 0;
    struct msrp_uri a, b;
    if (msrp_uri_parse(&a, cred->uri.p, cred->uri.n, 0) == 0 &&
        msrp_uri_parse(&b, chk->to_path_uri.p, chk->to_path_uri.n, 0) == 0)
        return msrp_uri_equal(&a, &b) ? 0 : MSRP_E_AUTH_FAILED;
    return msrp_slice_eq(cred->uri, chk->to_path_uri) ? 0 : MSRP_E_AUTH_FAILED;
}

static int ha1_of(const struct msrp_digest_fields *cred, const struct msrp_digest_check *chk,
                  char ha1[MSRP_DIGEST_HEX_LEN + 1])
{
    if (chk->ha1_hex.n) {
        if (!lower_hex(ha1, chk->ha1_hex, MSRP_DIGEST_HEX_LEN))
            return MSRP_E_INVALID;
        ha1[MSRP_DIGEST_HEX_LEN] = '\0';
        return 0;
    }
    struct msrp_slice p[3] = { cred->username, cred->realm, chk->password };
    return msrp_digest_md5_hex(ha1, p, 3);
}

/* response (or rspauth) = MD5(HA1:nonce:nc:cnonce:qop:MD5(a2_method:uri)) */
static int expected_response(const struct msrp_digest_fields *cred, const char *ha1,
                             struct msrp_slice a2_method, struct msrp_slice uri,
                             char out[MSRP_DIGEST_HEX_LEN + 1])
{
    char ha2[MSRP_DIGEST_HEX_LEN + 1];
    struct msrp_slice a2[2] = { a2_method, uri };
    int rc = msrp_digest_md5_hex(ha2, a2, 2);
    if (rc < 0)
        return rc;
    struct msrp_slice r[6] = { msrp_slice(ha1, MSRP_DIGEST_HEX_LEN), cred->nonce, cred->nc,
                               cred->cnonce, cred->qop, msrp_slice(ha2, MSRP_DIGEST_HEX_LEN) };
    return msrp_digest_md5_hex(out, r, 6);
}

/* Syntax every verified response must have; parses nc. */
static int check_cred_syntax(const struct msrp_digest_fields *cred, uint32_t *nc)
{
    if (!present(cred->username) || !present(cred->realm) || !present(cred->nonce) ||
        !present(cred->response) || !present(cred->qop) || !present(cred->cnonce) ||
        !present(cred->nc) || cred->cnonce.n == 0)
        return MSRP_E_AUTH_PARAM;
    if (present(cred->algorithm) && !msrp_slice_caseeq(cred->algorithm, MSRP_SLICE_LIT("MD5")))
        return MSRP_E_AUTH_PARAM;
    if (!msrp_slice_caseeq(cred->qop, MSRP_SLICE_LIT("auth")))
        return MSRP_E_AUTH_PARAM;
    if (cred->nc.n != 8)
        return MSRP_E_AUTH_PARAM;
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        int d = hex_nibble(cred->nc.p[i]);
        if (d < 0)
            return MSRP_E_AUTH_PARAM;
        v = v << 4 | (uint32_t)d;
    }
    *nc = v;
    return 0;
}

int msrp_digest_verify(const struct msrp_digest_server *sv, uint64_t now,
                       const struct msrp_digest_fields *cred,
                       const struct msrp_digest_check *chk, uint32_t *nc_out)
{
    if (sv == NULL || cred == NULL || chk == NULL || sv->secret == NULL || sv->secret_len == 0)
        return MSRP_E_INVALID;
    uint32_t nc;
    int rc = check_cred_syntax(cred, &nc);
    if (rc < 0)
        return rc;
    if (!msrp_slice_eq(cred->realm, sv->realm))
        return MSRP_E_AUTH_FAILED;

    /* Nonce: ours (HMAC tag) or not at all. */
    char nonce_hex[MSRP_DIGEST_NONCE_LEN];
    if (!lower_hex(nonce_hex, cred->nonce, MSRP_DIGEST_NONCE_LEN))
        return MSRP_E_AUTH_FAILED;
    uint64_t ts = hex_u64(nonce_hex), salt = hex_u64(nonce_hex + 16);
    char want_nonce[MSRP_DIGEST_NONCE_LEN];
    if (make_nonce(sv, ts, salt, want_nonce) < 0)
        return MSRP_E_INVALID;
    if (!ct_eq(want_nonce + 32, nonce_hex + 32, 32))
        return MSRP_E_AUTH_FAILED;

    /* The opaque we issue is constant per secret and realm; a client that
     * returns one must return ours, one that omits it loses nothing. */
    if (present(cred->opaque)) {
        char op[32];
        if (make_opaque(sv, op) < 0)
            return MSRP_E_INVALID;
        if (cred->opaque.n != 32 || !ct_eq(op, cred->opaque.p, 32))
            return MSRP_E_AUTH_FAILED;
    }

    struct msrp_slice uri;
    rc = pick_uri(cred, chk, &uri);
    if (rc < 0)
        return rc;
    char ha1[MSRP_DIGEST_HEX_LEN + 1], want[MSRP_DIGEST_HEX_LEN + 1];
    char got[MSRP_DIGEST_HEX_LEN];
    rc = ha1_of(cred, chk, ha1);
    if (rc < 0)
        return rc;
    struct msrp_slice method = chk->method.n ? chk->method : MSRP_SLICE_LIT("AUTH");
    rc = expected_response(cred, ha1, method, uri, want);
    if (rc < 0)
        return rc;
    if (!lower_hex(got, cred->response, MSRP_DIGEST_HEX_LEN) ||
        !ct_eq(got, want, MSRP_DIGEST_HEX_LEN))
        return MSRP_E_AUTH_FAILED;
    if (nc_out)
        *nc_out = nc;
    /* Only now, with the password proven, does age matter: the client can
     * then retry on a fresh nonce without asking its user again. A stamp
     * from the future is ours (authentic), so only a clock step: fresh. */
    if (now > ts && now - ts > sv->lifetime)
        return MSRP_E_AUTH_STALE;
    return 0;
}

int msrp_digest_auth_info(char *buf, size_t cap, const struct msrp_digest_fields *cred,
                          const struct msrp_digest_check *chk)
{
    uint32_t nc;
    int rc = check_cred_syntax(cred, &nc);
    if (rc < 0)
        return rc;
    struct msrp_slice uri;
    rc = pick_uri(cred, chk, &uri);
    if (rc < 0)
        return rc;
    char ha1[MSRP_DIGEST_HEX_LEN + 1], rsp[MSRP_DIGEST_HEX_LEN + 1];
    rc = ha1_of(cred, chk, ha1);
    if (rc < 0)
        return rc;
    rc = expected_response(cred, ha1, msrp_slice("", 0), uri, rsp);
    if (rc < 0)
        return rc;
    struct obuf o = { buf, buf ? cap : 0, 0, 0 };
    o_str(&o, "qop=auth, rspauth=\"");
    o_bytes(&o, rsp, MSRP_DIGEST_HEX_LEN);
    o_str(&o, "\", cnonce=");
    o_quoted(&o, cred->cnonce);
    o_str(&o, ", nc=");
    o_bytes(&o, cred->nc.p, cred->nc.n);
    return o_result(&o);
}

/* ---- client ------------------------------------------------------------- */

/* True if a qop-options list ("auth,auth-int") offers "auth". */
static bool offers_auth(struct msrp_slice q)
{
    size_t i = 0;
    while (i < q.n) {
        while (i < q.n && (q.p[i] == ',' || is_wsp(q.p[i])))
            i++;
        size_t s = i;
        while (i < q.n && q.p[i] != ',' && !is_wsp(q.p[i]))
            i++;
        if (msrp_slice_caseeq(msrp_slice(q.p + s, i - s), MSRP_SLICE_LIT("auth")))
            return true;
    }
    return false;
}

int msrp_digest_authorization(char *buf, size_t cap, const struct msrp_digest_fields *chal,
                              const struct msrp_digest_client *c)
{
    if (chal == NULL || c == NULL || !present(chal->realm) || !present(chal->nonce))
        return MSRP_E_AUTH_PARAM;
    if (present(chal->algorithm) && !msrp_slice_caseeq(chal->algorithm, MSRP_SLICE_LIT("MD5")))
        return MSRP_E_AUTH_PARAM;
    if (present(chal->qop) && !offers_auth(chal->qop))
        return MSRP_E_AUTH_PARAM;
    bool qop = present(chal->qop);
    if (qop && c->cnonce.n == 0)
        return MSRP_E_INVALID;

    char ncs[8];
    for (int i = 7, v = 0; i >= 0; i--, v += 4)
        ncs[i] = hexd[(c->nc >> v) & 15];

    char ha1[MSRP_DIGEST_HEX_LEN + 1], ha2[MSRP_DIGEST_HEX_LEN + 1], rsp[MSRP_DIGEST_HEX_LEN + 1];
    struct msrp_slice p1[3] = { c->username, chal->realm, c->password };
    struct msrp_slice p2[2] = { MSRP_SLICE_LIT("AUTH"), c->uri };
    if (msrp_digest_md5_hex(ha1, p1, 3) < 0 || msrp_digest_md5_hex(ha2, p2, 2) < 0)
        return MSRP_E_INVALID;
    int rc;
    if (qop) {
        struct msrp_slice r[6] = { msrp_slice(ha1, 32), chal->nonce, msrp_slice(ncs, 8),
                                   c->cnonce, MSRP_SLICE_LIT("auth"), msrp_slice(ha2, 32) };
        rc = msrp_digest_md5_hex(rsp, r, 6);
    } else {
        /* RFC 2069 compatibility: a challenge without qop. */
        struct msrp_slice r[3] = { msrp_slice(ha1, 32), chal->nonce, msrp_slice(ha2, 32) };
        rc = msrp_digest_md5_hex(rsp, r, 3);
    }
    if (rc < 0)
        return rc;

    struct obuf o = { buf, buf ? cap : 0, 0, 0 };
    o_str(&o, "Digest username=");
    o_quoted(&o, c->username);
    o_str(&o, ", realm=");
    o_quoted(&o, chal->realm);
    o_str(&o, ", nonce=");
    o_quoted(&o, chal->nonce);
    if (!c->omit_uri) {
        o_str(&o, ", uri=");
        o_quoted(&o, c->uri);
    }
    o_str(&o, ", response=\"");
    o_bytes(&o, rsp, MSRP_DIGEST_HEX_LEN);
    o_str(&o, "\"");
    if (qop) {
        o_str(&o, ", qop=auth, nc=");
        o_bytes(&o, ncs, 8);
        o_str(&o, ", cnonce=");
        o_quoted(&o, c->cnonce);
    }
    if (present(chal->opaque)) {
        o_str(&o, ", opaque=");
        o_quoted(&o, chal->opaque);
    }
    o_str(&o, ", algorithm=MD5");
    return o_result(&o);
}
