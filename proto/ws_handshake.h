/*
 * ws_handshake.h: the HTTP/1.1 Upgrade handshake of a WebSocket
 * connection carrying MSRP (RFC 6455 section 4, RFC 7977 section 4),
 * both sides, no I/O.
 *
 * Server: msrp_ws_hs_parse_request() reads the request's header section
 * (incrementally: call again with more bytes on MSRP_WS_HS_INCOMPLETE) and
 * checks GET, HTTP/1.1, Host, Upgrade: websocket, Connection: upgrade (in
 * comma lists, case-insensitive), Sec-WebSocket-Version: 13, a
 * Sec-WebSocket-Key that is the base64 of 16 bytes, and `msrp` among the
 * offered Sec-WebSocket-Protocol values. The Origin is returned for the
 * caller's allow-list (refuse with MSRP_WS_HS_E_ORIGIN -> 403). Then
 * msrp_ws_hs_accept() writes the 101 response (Sec-WebSocket-Accept,
 * Sec-WebSocket-Protocol: msrp) or msrp_ws_hs_reject() the error response
 * for msrp_ws_hs_status(err) (426 carries Sec-WebSocket-Version: 13).
 *
 * Client: msrp_ws_hs_client_request() writes the request from a
 * caller-supplied 16-byte nonce (no randomness here) and
 * msrp_ws_hs_check_response() validates the server's answer.
 *
 * Bounds: the header section is at most MSRP_WS_HS_MAX_BYTES bytes and
 * MSRP_WS_HS_MAX_HEADERS header lines (431 beyond); results are slices
 * into the caller's buffer.
 */
#ifndef MSRP_WS_HANDSHAKE_H
#define MSRP_WS_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/slice.h"

#define MSRP_WS_HS_MAX_BYTES 8192
#define MSRP_WS_HS_MAX_HEADERS 64
#define MSRP_WS_HS_KEY_LEN 24    /* base64 of 16 bytes */
#define MSRP_WS_HS_ACCEPT_LEN 28 /* base64 of a SHA-1 */

/* X(code, value, HTTP status, name) */
#define MSRP_WS_HS_ERRORS(X)                                                   \
    X(MSRP_WS_HS_INCOMPLETE, -1, 0, "ws_hs_incomplete")                        \
    X(MSRP_WS_HS_E_SYNTAX, -2, 400, "ws_hs_bad_syntax")                        \
    X(MSRP_WS_HS_E_METHOD, -3, 400, "ws_hs_not_get")                           \
    X(MSRP_WS_HS_E_HTTP_VERSION, -4, 400, "ws_hs_not_http11")                  \
    X(MSRP_WS_HS_E_HOST, -5, 400, "ws_hs_bad_host")                            \
    X(MSRP_WS_HS_E_UPGRADE, -6, 400, "ws_hs_no_upgrade_websocket")             \
    X(MSRP_WS_HS_E_CONNECTION, -7, 400, "ws_hs_no_connection_upgrade")         \
    X(MSRP_WS_HS_E_KEY, -8, 400, "ws_hs_bad_key")                              \
    X(MSRP_WS_HS_E_VERSION_MISSING, -9, 400, "ws_hs_no_version")               \
    X(MSRP_WS_HS_E_VERSION, -10, 426, "ws_hs_unsupported_version")             \
    X(MSRP_WS_HS_E_PROTOCOL, -11, 400, "ws_hs_msrp_not_offered")               \
    X(MSRP_WS_HS_E_TOO_LARGE, -12, 431, "ws_hs_header_section_too_large")      \
    X(MSRP_WS_HS_E_TOO_MANY, -13, 431, "ws_hs_too_many_headers")               \
    X(MSRP_WS_HS_E_ORIGIN, -14, 403, "ws_hs_origin_refused")                   \
    X(MSRP_WS_HS_E_STATUS, -15, 0, "ws_hs_response_not_101")                   \
    X(MSRP_WS_HS_E_ACCEPT, -16, 0, "ws_hs_bad_accept")                         \
    X(MSRP_WS_HS_E_NOSPACE, -17, 0, "ws_hs_buffer_too_small")

enum msrp_ws_hs_err {
#define MSRP_WS_HS_ERR_ENUM(code, value, status, name) code = value,
    MSRP_WS_HS_ERRORS(MSRP_WS_HS_ERR_ENUM)
#undef MSRP_WS_HS_ERR_ENUM
};

/* HTTP status a server answers err with (0: not a server-side error). */
int msrp_ws_hs_status(int err);
const char *msrp_ws_hs_strerror(int err);

struct msrp_ws_request {
    struct msrp_slice path;   /* origin-form request target */
    struct msrp_slice host;
    struct msrp_slice origin; /* p == NULL when absent (non-browser client) */
    struct msrp_slice key;    /* Sec-WebSocket-Key, 24 base64 characters */
};

/*
 * Parses buf[0..len) as an Upgrade request. Returns 0 with *consumed = the
 * header section's length (bytes after it are already WebSocket frames),
 * MSRP_WS_HS_INCOMPLETE when no blank line yet (and len is within bound),
 * or an error.
 */
int msrp_ws_hs_parse_request(struct msrp_ws_request *r, const char *buf, size_t len,
                             size_t *consumed);

/* Sec-WebSocket-Accept for key: base64(SHA-1(key + GUID)); out gets 28
 * characters and a NUL. Returns 0 or MSRP_WS_HS_E_KEY (hash failure). */
int msrp_ws_hs_accept_value(char out[MSRP_WS_HS_ACCEPT_LEN + 1], struct msrp_slice key);

/* The 101 response for a parsed request. Returns its length or
 * MSRP_WS_HS_E_NOSPACE. */
int msrp_ws_hs_accept(char *out, size_t cap, const struct msrp_ws_request *r);

/* The error response (status msrp_ws_hs_status(err), Connection: close).
 * Returns its length, MSRP_WS_HS_E_NOSPACE, or MSRP_WS_HS_E_SYNTAX when
 * err has no status. */
int msrp_ws_hs_reject(char *out, size_t cap, int err);

/* Client request for ws(s)://host/path with key = base64(nonce); origin
 * may have p == NULL. Returns its length or MSRP_WS_HS_E_NOSPACE. */
int msrp_ws_hs_client_request(char *out, size_t cap, struct msrp_slice host,
                              struct msrp_slice path, struct msrp_slice origin,
                              const uint8_t nonce[16]);

/* Validates the server's response to the request made with nonce: 101,
 * Upgrade: websocket, Connection: upgrade, the right Sec-WebSocket-Accept,
 * Sec-WebSocket-Protocol: msrp. Returns 0 with *consumed, INCOMPLETE, or
 * an error. */
int msrp_ws_hs_check_response(const char *buf, size_t len, size_t *consumed,
                              const uint8_t nonce[16]);

#endif
