/*
 * ws_handshake.c: RFC 6455 section 4 opening handshake, server and client
 * side (see ws_handshake.h).
 *
 * The header section is located first (bounded by MSRP_WS_HS_MAX_BYTES),
 * then read once, line by line, with every header of interest recorded as
 * a slice or a flag; the checks come after, so the error reported for a
 * request with several faults is the first one in a fixed order (method,
 * version, Host, Upgrade, Connection, Sec-WebSocket-Version, key,
 * protocol), which is what the tests pin.
 */
#include "proto/ws_handshake.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---- errors ----------------------------------------------------------- */

int msrp_ws_hs_status(int err)
{
    switch (err) {
#define MSRP_WS_HS_ERR_STATUS(code, value, status, name) \
    case value:                                          \
        return status;
        MSRP_WS_HS_ERRORS(MSRP_WS_HS_ERR_STATUS)
#undef MSRP_WS_HS_ERR_STATUS
    default:
        return 0;
    }
}

const char *msrp_ws_hs_strerror(int err)
{
    if (err == 0)
        return "ok";
    switch (err) {
#define MSRP_WS_HS_ERR_NAME(code, value, status, name) \
    case value:                                        \
        return name;
        MSRP_WS_HS_ERRORS(MSRP_WS_HS_ERR_NAME)
#undef MSRP_WS_HS_ERR_NAME
    default:
        return "unknown";
    }
}

/* ---- small helpers ---------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static struct msrp_slice trim(struct msrp_slice s)
{
    while (s.n && is_ows(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && is_ows(s.p[s.n - 1]))
        s.n--;
    return s;
}

/* Whether the comma list v holds token t (case-insensitively or not). */
static bool list_has(struct msrp_slice v, struct msrp_slice t, bool nocase)
{
    size_t i = 0;
    while (i <= v.n) {
        size_t j = i;
        while (j < v.n && v.p[j] != ',')
            j++;
        struct msrp_slice e = trim(msrp_slice(v.p + i, j - i));
        if (nocase ? msrp_slice_caseeq(e, t) : msrp_slice_eq(e, t))
            return true;
        i = j + 1;
    }
    return false;
}

static void b64_encode(char *out, const uint8_t *in, size_t n)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
}

/*
 * A canonical base64 encoding of exactly 16 bytes: 21 full sextets, a
 * 22nd whose low 4 bits are zero (it carries the last 2 bits), then "==".
 */
static bool key_valid(struct msrp_slice k)
{
    if (k.n != MSRP_WS_HS_KEY_LEN || k.p[22] != '=' || k.p[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++) {
        const char *at = memchr(b64, k.p[i], 64);
        if (!at || (i == 21 && ((at - b64) & 15)))
            return false;
    }
    return true;
}

/* ---- header section --------------------------------------------------- */

/* Finds the end of the header section; returns its length (through the
 * blank line) or an error / INCOMPLETE. */
static int find_end(const char *buf, size_t len, size_t *end)
{
    size_t lim = len < MSRP_WS_HS_MAX_BYTES ? len : MSRP_WS_HS_MAX_BYTES;
    for (size_t i = 0; i + 4 <= lim; i++) {
        if (buf[i] == '\r' && memcmp(buf + i, "\r\n\r\n", 4) == 0) {
            *end = i + 4;
            return 0;
        }
    }
    return len >= MSRP_WS_HS_MAX_BYTES ? MSRP_WS_HS_E_TOO_LARGE : MSRP_WS_HS_INCOMPLETE;
}

/* What one pass over the header lines records. */
struct hs_fields {
    struct msrp_slice host, origin, key, version, protocol_last, accept;
    unsigned host_n, key_n, version_n, origin_n, accept_n, protocol_n;
    bool upgrade_ws, connection_upgrade, protocol_msrp;
};

static void record(struct hs_fields *f, struct msrp_slice name, struct msrp_slice v)
{
    if (msrp_slice_caseeq(name, MSRP_SLICE_LIT("Host"))) {
        f->host = v;
        f->host_n++;
    } else if (msrp_slice_caseeq(name, MSRP_SLICE_LIT("Upgrade"))) {
        f->upgrade_ws |= list_has(v, MSRP_SLICE_LIT("websocket"), true);
    } else if (msrp_slice_caseeq(name, MSRP_SLICE_LIT("Connection"))) {
        f->connection_upgrade |= list_has(v, MSRP_SLICE_LIT("upgrade"), true);
    } else if (msrp_slice_caseeq(name, MSRP_SLICE_LIT("Sec-WebSocket-Key"))) {
        f->key = v;
        f->key_n++;
    } else if (msrp_slice_caseeq(name, MSRP_SLICE_LIT("Sec-WebSocket-Version"))) {
        f->version = v;
        f->version_n++;
    } else if (msrp_slice_caseeq(name, MSRP_SLICE_LIT("Sec-WebSocket-Protocol"))) {
        /* Subprotocol names compare case-sensitively (RFC 6455 4.1). */
        f->protocol_msrp |= list_has(v, MSRP_SLICE_LIT("msrp"), false);
        f->protocol_last = v;
        f->protocol_n++;
    } else if (msrp_slice_caseeq(name, MSRP_SLICE_LIT("Origin"))) {
        f->origin = v;
        f->origin_n++;
    } else if (msrp_slice_caseeq(name, MSRP_SLICE_LIT("Sec-WebSocket-Accept"))) {
        f->accept = v;
        f->accept_n++;
    }
}

/*
 * Header lines in p[0..n) (after the start line's CRLF, through the CRLF
 * of the last header, without the blank line). name ":" OWS value OWS;
 * obsolete line folding and bare CR/LF are syntax errors.
 */
static int parse_lines(struct hs_fields *f, const char *p, size_t n)
{
    unsigned count = 0;
    size_t i = 0;
    while (i < n) {
        const char *eol = memchr(p + i, '\r', n - i);
        if (!eol || (size_t)(eol - p) + 1 >= n || eol[1] != '\n')
            return MSRP_WS_HS_E_SYNTAX;
        size_t e = (size_t)(eol - p);
        if (++count > MSRP_WS_HS_MAX_HEADERS)
            return MSRP_WS_HS_E_TOO_MANY;
        size_t c = i;
        while (c < e && is_tchar((unsigned char)p[c]))
            c++;
        if (c == i || c == e || p[c] != ':')
            return MSRP_WS_HS_E_SYNTAX;
        struct msrp_slice v = trim(msrp_slice(p + c + 1, e - c - 1));
        for (size_t k = 0; k < v.n; k++) {
            unsigned char ch = (unsigned char)v.p[k];
            if ((ch < 0x20 && ch != '\t') || ch == 0x7F)
                return MSRP_WS_HS_E_SYNTAX;
        }
        record(f, msrp_slice(p + i, c - i), v);
        i = e + 2;
    }
    return 0;
}

/* Splits the section into its start line and header lines. */
static int split_section(const char *buf, size_t end, struct msrp_slice *start,
                         struct hs_fields *f)
{
    const char *eol = memchr(buf, '\r', end);
    /* end >= 4 and the section ends in CRLFCRLF, so eol exists. */
    size_t s = (size_t)(eol - buf);
    if (eol[1] != '\n' || memchr(buf, '\n', s))
        return MSRP_WS_HS_E_SYNTAX;
    *start = msrp_slice(buf, s);
    memset(f, 0, sizeof(*f));
    return parse_lines(f, buf + s + 2, end - 2 - (s + 2));
}

/* "HTTP/1.x" with x >= 1. */
static bool http11(struct msrp_slice v)
{
    return v.n == 8 && memcmp(v.p, "HTTP/1.", 7) == 0 && v.p[7] >= '1' && v.p[7] <= '9';
}

/* ---- server ----------------------------------------------------------- */

static int parse_request_line(struct msrp_ws_request *r, struct msrp_slice l)
{
    const char *sp1 = memchr(l.p, ' ', l.n);
    if (!sp1)
        return MSRP_WS_HS_E_SYNTAX;
    size_t m = (size_t)(sp1 - l.p);
    const char *sp2 = memchr(sp1 + 1, ' ', l.n - m - 1);
    if (!sp2)
        return MSRP_WS_HS_E_SYNTAX;
    struct msrp_slice target = msrp_slice(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    struct msrp_slice version = msrp_slice(sp2 + 1, l.n - (size_t)(sp2 + 1 - l.p));
    if (target.n == 0 || target.p[0] != '/')
        return MSRP_WS_HS_E_SYNTAX;
    for (size_t i = 0; i < target.n; i++)
        if ((unsigned char)target.p[i] <= 0x20 || target.p[i] == 0x7F)
            return MSRP_WS_HS_E_SYNTAX;
    if (!msrp_slice_eq(msrp_slice(l.p, m), MSRP_SLICE_LIT("GET")))
        return MSRP_WS_HS_E_METHOD;
    if (!http11(version))
        return MSRP_WS_HS_E_HTTP_VERSION;
    r->path = target;
    return 0;
}

int msrp_ws_hs_parse_request(struct msrp_ws_request *r, const char *buf, size_t len,
                             size_t *consumed)
{
    size_t end;
    struct msrp_slice start;
    struct hs_fields f;
    memset(r, 0, sizeof(*r));
    *consumed = 0;
    int rc = find_end(buf, len, &end);
    if (rc == 0)
        rc = split_section(buf, end, &start, &f);
    if (rc == 0)
        rc = parse_request_line(r, start);
    if (rc)
        return rc;
    if (f.host_n != 1 || f.host.n == 0)
        return MSRP_WS_HS_E_HOST;
    if (!f.upgrade_ws)
        return MSRP_WS_HS_E_UPGRADE;
    if (!f.connection_upgrade)
        return MSRP_WS_HS_E_CONNECTION;
    if (f.version_n == 0)
        return MSRP_WS_HS_E_VERSION_MISSING;
    if (f.version_n > 1 || !msrp_slice_eq(f.version, MSRP_SLICE_LIT("13")))
        return MSRP_WS_HS_E_VERSION;
    if (f.key_n != 1 || !key_valid(f.key))
        return MSRP_WS_HS_E_KEY;
    if (!f.protocol_msrp)
        return MSRP_WS_HS_E_PROTOCOL;
    if (f.origin_n > 1)
        return MSRP_WS_HS_E_SYNTAX;
    r->host = f.host;
    r->key = f.key;
    r->origin = f.origin_n ? f.origin : (struct msrp_slice){ NULL, 0 };
    *consumed = end;
    return 0;
}

int msrp_ws_hs_accept_value(char out[MSRP_WS_HS_ACCEPT_LEN + 1], struct msrp_slice key)
{
    wc_Sha sha;
    byte h[WC_SHA_DIGEST_SIZE];
    if (wc_InitSha(&sha) != 0)
        return MSRP_WS_HS_E_KEY;
    int rc = wc_ShaUpdate(&sha, (const byte *)key.p, (word32)key.n);
    if (rc == 0)
        rc = wc_ShaUpdate(&sha, (const byte *)ws_guid, sizeof(ws_guid) - 1);
    if (rc == 0)
        rc = wc_ShaFinal(&sha, h);
    wc_ShaFree(&sha);
    if (rc != 0)
        return MSRP_WS_HS_E_KEY;
    b64_encode(out, h, sizeof(h));
    return 0;
}

static int fit(int n, size_t cap)
{
    return n < 0 || (size_t)n >= cap ? MSRP_WS_HS_E_NOSPACE : n;
}

int msrp_ws_hs_accept(char *out, size_t cap, const struct msrp_ws_request *r)
{
    char acc[MSRP_WS_HS_ACCEPT_LEN + 1];
    int rc = msrp_ws_hs_accept_value(acc, r->key);
    if (rc)
        return rc;
    int n = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "Sec-WebSocket-Protocol: msrp\r\n"
                     "\r\n",
                     acc);
    return fit(n, cap);
}

int msrp_ws_hs_reject(char *out, size_t cap, int err)
{
    int status = msrp_ws_hs_status(err);
    const char *reason = status == 426   ? "Upgrade Required"
                         : status == 403 ? "Forbidden"
                         : status == 431 ? "Request Header Fields Too Large"
                                         : "Bad Request";
    if (status == 0)
        return MSRP_WS_HS_E_SYNTAX;
    /* The body names the refusal (msrp_ws_hs_strerror), so whoever
     * debugs a client sees which rule failed, not just "400". */
    const char *why = msrp_ws_hs_strerror(err);
    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "%s"
                     "Connection: close\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n"
                     "%s\n",
                     status, reason, status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "",
                     strlen(why) + 1, why);
    return fit(n, cap);
}

/* ---- client ----------------------------------------------------------- */

int msrp_ws_hs_client_request(char *out, size_t cap, struct msrp_slice host,
                              struct msrp_slice path, struct msrp_slice origin,
                              const uint8_t nonce[16])
{
    char key[MSRP_WS_HS_KEY_LEN + 1];
    b64_encode(key, nonce, 16);
    int n = snprintf(out, cap,
                     "GET " MSRP_SLICE_FMT " HTTP/1.1\r\n"
                     "Host: " MSRP_SLICE_FMT "\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: msrp\r\n"
                     "%s" MSRP_SLICE_FMT "%s"
                     "\r\n",
                     MSRP_SLICE_ARG(path), MSRP_SLICE_ARG(host), key, origin.p ? "Origin: " : "",
                     (int)(origin.p ? origin.n : 0), origin.p ? origin.p : "",
                     origin.p ? "\r\n" : "");
    return fit(n, cap);
}

int msrp_ws_hs_check_response(const char *buf, size_t len, size_t *consumed,
                              const uint8_t nonce[16])
{
    size_t end;
    struct msrp_slice start;
    struct hs_fields f;
    *consumed = 0;
    int rc = find_end(buf, len, &end);
    if (rc == 0)
        rc = split_section(buf, end, &start, &f);
    if (rc)
        return rc;
    /* "HTTP/1.1 101" then SP reason (the reason may be empty). */
    if (start.n < 12 || !http11(msrp_slice(start.p, 8)) || start.p[8] != ' ')
        return MSRP_WS_HS_E_SYNTAX;
    if (memcmp(start.p + 9, "101", 3) != 0 || (start.n > 12 && start.p[12] != ' '))
        return MSRP_WS_HS_E_STATUS;
    if (!f.upgrade_ws)
        return MSRP_WS_HS_E_UPGRADE;
    if (!f.connection_upgrade)
        return MSRP_WS_HS_E_CONNECTION;
    char key[MSRP_WS_HS_KEY_LEN + 1], want[MSRP_WS_HS_ACCEPT_LEN + 1];
    b64_encode(key, nonce, 16);
    rc = msrp_ws_hs_accept_value(want, msrp_slice(key, MSRP_WS_HS_KEY_LEN));
    if (rc)
        return rc;
    if (f.accept_n != 1 || !msrp_slice_eq(f.accept, msrp_slice(want, MSRP_WS_HS_ACCEPT_LEN)))
        return MSRP_WS_HS_E_ACCEPT;
    /* The server selects exactly one offered subprotocol: ours. */
    if (f.protocol_n != 1 || !msrp_slice_eq(f.protocol_last, MSRP_SLICE_LIT("msrp")))
        return MSRP_WS_HS_E_PROTOCOL;
    *consumed = end;
    return 0;
}
