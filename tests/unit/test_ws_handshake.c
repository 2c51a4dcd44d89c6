/* test_ws_handshake.c: WebSocket opening handshake for MSRP: RFC 6455's
 * key example, every refusal with its HTTP status, incremental input,
 * bounds, and the client side against the server side. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "proto/ws_handshake.h"

#define RL "GET /chat HTTP/1.1\r\n"
#define HOST "Host: server.example.com\r\n"
#define UPG "Upgrade: websocket\r\n"
#define CONN "Connection: Upgrade\r\n"
#define KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define VER "Sec-WebSocket-Version: 13\r\n"
#define PROTO "Sec-WebSocket-Protocol: msrp\r\n"
#define ORIGIN "Origin: http://example.com\r\n"
#define GOOD RL HOST UPG CONN KEY ORIGIN PROTO VER "\r\n"

/* RFC 6455 section 1.3's nonce: "the sample nonce". */
static const char nonce_text[] = "the sample nonce";
#define sample_nonce ((const uint8_t *)nonce_text)

static int parse(const char *s, struct msrp_ws_request *r, size_t *used)
{
    return msrp_ws_hs_parse_request(r, s, strlen(s), used);
}

Test(ws_handshake, rfc6455_accept_key)
{
    char out[MSRP_WS_HS_ACCEPT_LEN + 1];
    cr_assert_eq(msrp_ws_hs_accept_value(out, MSRP_SLICE_LIT("dGhlIHNhbXBsZSBub25jZQ==")), 0);
    cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(ws_handshake, good_request_and_101)
{
    struct msrp_ws_request r;
    size_t used;
    const char *req = GOOD "\x81\x85";
    cr_assert_eq(parse(req, &r, &used), 0);
    cr_assert_eq(used, strlen(GOOD), "frames after the blank line are not consumed");
    cr_assert(msrp_slice_eq(r.path, MSRP_SLICE_LIT("/chat")));
    cr_assert(msrp_slice_eq(r.host, MSRP_SLICE_LIT("server.example.com")));
    cr_assert(msrp_slice_eq(r.origin, MSRP_SLICE_LIT("http://example.com")));
    cr_assert(msrp_slice_eq(r.key, MSRP_SLICE_LIT("dGhlIHNhbXBsZSBub25jZQ==")));
    char out[512];
    int n = msrp_ws_hs_accept(out, sizeof(out), &r);
    const char *want = "HTTP/1.1 101 Switching Protocols\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                       "Sec-WebSocket-Protocol: msrp\r\n"
                       "\r\n";
    cr_assert_eq(n, (int)strlen(want));
    cr_assert_str_eq(out, want);
    cr_assert_eq(msrp_ws_hs_accept(out, (size_t)n, &r), MSRP_WS_HS_E_NOSPACE);
}

Test(ws_handshake, tolerant_spellings)
{
    struct msrp_ws_request r;
    size_t used;
    /* Case-insensitive names and tokens, comma lists, repeated headers,
     * OWS, no Origin (non-browser client), another subprotocol first. */
    const char *req = "GET /ws?x=1 HTTP/1.1\r\n"
                      "host:  relay.example.com:443 \r\n"
                      "UPGRADE: WebSocket\r\n"
                      "connection: keep-alive\r\n"
                      "Connection: foo , UPGRADE\r\n"
                      "sec-websocket-key:dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Protocol: sip\r\n"
                      "Sec-WebSocket-Protocol: chat,msrp\r\n"
                      "sec-websocket-version: 13\r\n"
                      "\r\n";
    cr_assert_eq(parse(req, &r, &used), 0);
    cr_assert(msrp_slice_eq(r.host, MSRP_SLICE_LIT("relay.example.com:443")));
    cr_assert(msrp_slice_eq(r.path, MSRP_SLICE_LIT("/ws?x=1")));
    cr_assert_null(r.origin.p);
}

struct bad {
    const char *req;
    int err;
    int status;
};

Test(ws_handshake, every_refusal_with_its_status)
{
    static const struct bad t[] = {
        { "POST /chat HTTP/1.1\r\n" HOST UPG CONN KEY PROTO VER "\r\n", MSRP_WS_HS_E_METHOD, 400 },
        { "get /chat HTTP/1.1\r\n" HOST UPG CONN KEY PROTO VER "\r\n", MSRP_WS_HS_E_METHOD, 400 },
        { "GET /chat HTTP/1.0\r\n" HOST UPG CONN KEY PROTO VER "\r\n", MSRP_WS_HS_E_HTTP_VERSION,
          400 },
        { "GET chat HTTP/1.1\r\n" HOST UPG CONN KEY PROTO VER "\r\n", MSRP_WS_HS_E_SYNTAX, 400 },
        { "GET /chat\r\n" HOST UPG CONN KEY PROTO VER "\r\n", MSRP_WS_HS_E_SYNTAX, 400 },
        { RL "Host server.example.com\r\n" UPG CONN KEY PROTO VER "\r\n", MSRP_WS_HS_E_SYNTAX,
          400 },
        { RL HOST " folded: x\r\n" UPG CONN KEY PROTO VER "\r\n", MSRP_WS_HS_E_SYNTAX, 400 },
        { RL HOST "X: a\nb\r\n" UPG CONN KEY PROTO VER "\r\n", MSRP_WS_HS_E_SYNTAX, 400 },
        { RL UPG CONN KEY PROTO VER "\r\n", MSRP_WS_HS_E_HOST, 400 },
        { RL HOST HOST UPG CONN KEY PROTO VER "\r\n", MSRP_WS_HS_E_HOST, 400 },
        { RL HOST CONN KEY PROTO VER "\r\n", MSRP_WS_HS_E_UPGRADE, 400 },
        { RL HOST "Upgrade: h2c\r\n" CONN KEY PROTO VER "\r\n", MSRP_WS_HS_E_UPGRADE, 400 },
        { RL HOST UPG KEY PROTO VER "\r\n", MSRP_WS_HS_E_CONNECTION, 400 },
        { RL HOST UPG "Connection: upgrades\r\n" KEY PROTO VER "\r\n", MSRP_WS_HS_E_CONNECTION,
          400 },
        { RL HOST UPG CONN KEY PROTO "\r\n", MSRP_WS_HS_E_VERSION_MISSING, 400 },
        { RL HOST UPG CONN KEY PROTO "Sec-WebSocket-Version: 8\r\n\r\n", MSRP_WS_HS_E_VERSION,
          426 },
        { RL HOST UPG CONN KEY PROTO VER VER "\r\n", MSRP_WS_HS_E_VERSION, 426 },
        { RL HOST UPG CONN PROTO VER "\r\n", MSRP_WS_HS_E_KEY, 400 },
        { RL HOST UPG CONN KEY KEY PROTO VER "\r\n", MSRP_WS_HS_E_KEY, 400 },
        /* 15 bytes, 17 bytes, bad alphabet, non-canonical last sextet. */
        { RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j\r\n" PROTO VER "\r\n",
          MSRP_WS_HS_E_KEY, 400 },
        { RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==QQ==\r\n" PROTO VER
          "\r\n",
          MSRP_WS_HS_E_KEY, 400 },
        { RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==\r\n" PROTO VER "\r\n",
          MSRP_WS_HS_E_KEY, 400 },
        { RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n" PROTO VER "\r\n",
          MSRP_WS_HS_E_KEY, 400 },
        { RL HOST UPG CONN KEY VER "\r\n", MSRP_WS_HS_E_PROTOCOL, 400 },
        { RL HOST UPG CONN KEY "Sec-WebSocket-Protocol: MSRP\r\n" VER "\r\n",
          MSRP_WS_HS_E_PROTOCOL, 400 },
        { RL HOST UPG CONN KEY "Sec-WebSocket-Protocol: msrps\r\n" VER "\r\n",
          MSRP_WS_HS_E_PROTOCOL, 400 },
        { RL HOST UPG CONN KEY PROTO VER ORIGIN ORIGIN "\r\n", MSRP_WS_HS_E_SYNTAX, 400 },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct msrp_ws_request r;
        size_t used = 99;
        int rc = parse(t[i].req, &r, &used);
        cr_assert_eq(rc, t[i].err, "case %zu: %s, wanted %s", i, msrp_ws_hs_strerror(rc),
                     msrp_ws_hs_strerror(t[i].err));
        cr_assert_eq(used, 0);
        cr_assert_eq(msrp_ws_hs_status(rc), t[i].status, "case %zu", i);
    }
    cr_assert_eq(msrp_ws_hs_status(MSRP_WS_HS_E_ORIGIN), 403);
}

Test(ws_handshake, reject_responses)
{
    char out[256];
    int n = msrp_ws_hs_reject(out, sizeof(out), MSRP_WS_HS_E_VERSION);
    cr_assert_str_eq(out, "HTTP/1.1 426 Upgrade Required\r\n"
                          "Sec-WebSocket-Version: 13\r\n"
                          "Connection: close\r\n"
                          "Content-Type: text/plain\r\n"
                          "Content-Length: 26\r\n"
                          "\r\n"
                          "ws_hs_unsupported_version\n");
    cr_assert_eq(n, (int)strlen(out));
    msrp_ws_hs_reject(out, sizeof(out), MSRP_WS_HS_E_ORIGIN);
    cr_assert_str_eq(out, "HTTP/1.1 403 Forbidden\r\nConnection: close\r\n"
                          "Content-Type: text/plain\r\nContent-Length: 21\r\n\r\n"
                          "ws_hs_origin_refused\n");
    msrp_ws_hs_reject(out, sizeof(out), MSRP_WS_HS_E_PROTOCOL);
    cr_assert_str_eq(out, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                          "Content-Type: text/plain\r\nContent-Length: 23\r\n\r\n"
                          "ws_hs_msrp_not_offered\n");
    msrp_ws_hs_reject(out, sizeof(out), MSRP_WS_HS_E_TOO_MANY);
    cr_assert(strncmp(out, "HTTP/1.1 431 ", 13) == 0);
    cr_assert_eq(msrp_ws_hs_reject(out, sizeof(out), MSRP_WS_HS_INCOMPLETE), MSRP_WS_HS_E_SYNTAX);
    cr_assert_eq(msrp_ws_hs_reject(out, 10, MSRP_WS_HS_E_KEY), MSRP_WS_HS_E_NOSPACE);
}

Test(ws_handshake, every_prefix_is_incomplete)
{
    const char *req = GOOD;
    size_t n = strlen(req);
    for (size_t i = 0; i < n; i++) {
        struct msrp_ws_request r;
        size_t used;
        cr_assert_eq(msrp_ws_hs_parse_request(&r, req, i, &used), MSRP_WS_HS_INCOMPLETE,
                     "prefix %zu", i);
    }
}

Test(ws_handshake, bounds)
{
    static char big[MSRP_WS_HS_MAX_BYTES + 64];
    struct msrp_ws_request r;
    size_t used;
    /* No blank line within the bound: 431 as soon as the bound is reached. */
    memset(big, 'a', sizeof(big));
    cr_assert_eq(msrp_ws_hs_parse_request(&r, big, MSRP_WS_HS_MAX_BYTES - 1, &used),
                 MSRP_WS_HS_INCOMPLETE);
    cr_assert_eq(msrp_ws_hs_parse_request(&r, big, MSRP_WS_HS_MAX_BYTES, &used),
                 MSRP_WS_HS_E_TOO_LARGE);
    /* A section ending just beyond the bound is refused too. */
    size_t n = (size_t)snprintf(big, sizeof(big), RL HOST UPG CONN KEY PROTO VER "X: ");
    memset(big + n, 'x', MSRP_WS_HS_MAX_BYTES - n - 3);
    memcpy(big + MSRP_WS_HS_MAX_BYTES - 3, "\r\n\r\n", 4);
    cr_assert_eq(msrp_ws_hs_parse_request(&r, big, MSRP_WS_HS_MAX_BYTES + 1, &used),
                 MSRP_WS_HS_E_TOO_LARGE);
    /* ...and one ending exactly at it is fine. */
    memcpy(big + MSRP_WS_HS_MAX_BYTES - 4, "\r\n\r\n", 4);
    cr_assert_eq(msrp_ws_hs_parse_request(&r, big, MSRP_WS_HS_MAX_BYTES, &used), 0);
    cr_assert_eq(used, MSRP_WS_HS_MAX_BYTES);
    /* Header count: the 64 allowed, then one more. */
    n = (size_t)snprintf(big, sizeof(big), RL HOST UPG CONN KEY PROTO VER);
    for (int i = 6; i < MSRP_WS_HS_MAX_HEADERS; i++) /* 6 above */
        n += (size_t)snprintf(big + n, sizeof(big) - n, "X: %d\r\n", i);
    snprintf(big + n, sizeof(big) - n, "\r\n");
    cr_assert_eq(parse(big, &r, &used), 0);
    snprintf(big + n, sizeof(big) - n, "Y: 1\r\n\r\n");
    cr_assert_eq(parse(big, &r, &used), MSRP_WS_HS_E_TOO_MANY);
    cr_assert_eq(msrp_ws_hs_status(MSRP_WS_HS_E_TOO_MANY), 431);
}

/* ---- client side ------------------------------------------------------ */

Test(ws_handshake, client_request_parses_and_accepts)
{
    char req[512], rsp[512];
    int n = msrp_ws_hs_client_request(req, sizeof(req), MSRP_SLICE_LIT("server.example.com"),
                                      MSRP_SLICE_LIT("/chat"), MSRP_SLICE_LIT("http://example.com"),
                                      sample_nonce);
    cr_assert_gt(n, 0);
    cr_assert(strstr(req, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
    cr_assert(strstr(req, "Origin: http://example.com\r\n"));
    struct msrp_ws_request r;
    size_t used;
    cr_assert_eq(msrp_ws_hs_parse_request(&r, req, (size_t)n, &used), 0);
    cr_assert_eq(used, (size_t)n);
    int m = msrp_ws_hs_accept(rsp, sizeof(rsp), &r);
    cr_assert_gt(m, 0);
    cr_assert_eq(msrp_ws_hs_check_response(rsp, (size_t)m, &used, sample_nonce), 0);
    cr_assert_eq(used, (size_t)m);
    for (int i = 0; i < m; i++)
        cr_assert_eq(msrp_ws_hs_check_response(rsp, (size_t)i, &used, sample_nonce),
                     MSRP_WS_HS_INCOMPLETE);
    /* Without an Origin. */
    n = msrp_ws_hs_client_request(req, sizeof(req), MSRP_SLICE_LIT("h"), MSRP_SLICE_LIT("/"),
                                  (struct msrp_slice){ NULL, 0 }, sample_nonce);
    cr_assert_null(strstr(req, "Origin"));
    cr_assert_eq(msrp_ws_hs_parse_request(&r, req, (size_t)n, &used), 0);
    cr_assert_eq(msrp_ws_hs_client_request(req, 20, MSRP_SLICE_LIT("h"), MSRP_SLICE_LIT("/"),
                                           (struct msrp_slice){ NULL, 0 }, sample_nonce),
                 MSRP_WS_HS_E_NOSPACE);
}

Test(ws_handshake, client_refuses_bad_responses)
{
    static const struct bad t[] = {
        { "HTTP/1.1 400 Bad Request\r\n\r\n", MSRP_WS_HS_E_STATUS, 0 },
        { "HTTP/1.1 1010 x\r\n\r\n", MSRP_WS_HS_E_STATUS, 0 },
        { "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: msrp\r\n\r\n",
          MSRP_WS_HS_E_UPGRADE, 0 },
        { "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: msrp\r\n\r\n",
          MSRP_WS_HS_E_CONNECTION, 0 },
        { "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOx=\r\nSec-WebSocket-Protocol: msrp\r\n\r\n",
          MSRP_WS_HS_E_ACCEPT, 0 },
        { "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Protocol: msrp\r\n\r\n",
          MSRP_WS_HS_E_ACCEPT, 0 },
        { "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
          MSRP_WS_HS_E_PROTOCOL, 0 },
        { "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n",
          MSRP_WS_HS_E_PROTOCOL, 0 },
        { "HTTP/1.1 101\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: msrp\r\n\r\n",
          0, 0 },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t used;
        int rc = msrp_ws_hs_check_response(t[i].req, strlen(t[i].req), &used, sample_nonce);
        cr_assert_eq(rc, t[i].err, "case %zu: %s", i, msrp_ws_hs_strerror(rc));
    }
}
