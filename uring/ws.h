/*
 * ws.h: WebSocket (RFC 6455) as a per-connection transform, for MSRP over
 * WebSocket (RFC 7977) -- the accept (server) side.
 *
 * Where it lives: in the connection layer, beside TLS, not in the MSRP
 * layer. A ws connection is an ordinary struct ur_conn: the upper layer
 * (the gateway's mconn) keeps its byte-stream contract -- on_data gets the
 * payload bytes of the WebSocket messages in order, message boundaries
 * dropped, exactly as it gets TCP or TLS plaintext bytes, and its sends are
 * wrapped in frames. So the MSRP parser, the relay's forwarding,
 * backpressure and connection handoff between loops work unchanged; the
 * stack is socket <-> TLS (wss) <-> WebSocket <-> application.
 *
 * Opening: ur_conn_ws_server() right after ur_conn_adopt() (before the
 * loop runs again) makes the connection a WebSocket server. The HTTP/1.1
 * Upgrade request is read first (at most MSRP_WS_HS_MAX_BYTES, within
 * handshake_timeout_ms) and answered: 101 with Sec-WebSocket-Protocol:
 * msrp, or 400 (malformed, `msrp` not offered), 403 (Origin not in the
 * allow-list), 426 (not version 13), 431 (too large), each with a
 * Connection: close and the connection closed once it is sent (on_open
 * then on_close get -EPROTO; -ETIMEDOUT for a handshake that did not
 * finish in time). on_open(c, 0) comes only after the 101 is queued.
 *
 * Receiving: frames are decoded by proto/ws.c (masking required, RSV bits
 * refused, UTF-8 of text messages checked, max_message per message);
 * payload is unmasked in place in the receive buffer and handed to on_data
 * zero-copy. Pings are answered with a pong carrying the same payload
 * (between the fragments of a message being sent, as RFC 6455 5.4
 * allows); pongs are ignored; a close is answered with a close echoing its
 * code (RFC 6455 5.5.1) and the connection closes once that is sent
 * (on_close gets 0). A protocol error sends a close with the codec's code
 * (1002, 1007, 1009) and closes (on_close gets -EPROTO). Reading stays
 * paused exactly as for TCP: what a paused reader did not take waits
 * undecoded.
 *
 * Sending: RFC 7977 (section 5) wants each MSRP chunk in one WebSocket
 * message, but the relay streams a chunk (head, body slices as they
 * arrive, end-line) without knowing its length first. So every send
 * becomes one frame of a fragmented binary message -- the first opens it,
 * later ones continue it, the frame header its own small segment so
 * zero-copy sends stay zero-copy -- and ur_conn_ws_message_end() ends it
 * with an empty FIN frame. The MSRP layer calls it after each frame's
 * end-line (a response, a chunk, a REPORT). Messages are always binary:
 * a body need not be UTF-8, and a text message must be. Sends before the
 * handshake finished fail with -ENOTCONN; after a close was sent, -EPIPE.
 * ur_conn_close_after_flush() sends a close (1000) after the queue.
 *
 * Not here (yet): the client side (connecting to a ws:// next hop; the
 * codec has it: msrp_ws_hs_client_request / check_response, role CLIENT),
 * extensions (permessage-deflate is never negotiated).
 */
#ifndef UR_WS_H
#define UR_WS_H

#include <stdint.h>

struct ur_conn;

#define UR_WS_MAX_MESSAGE_DEFAULT (1u << 20)
#define UR_WS_HANDSHAKE_TIMEOUT_DEFAULT 10000

struct ur_ws_config {
    uint64_t max_message;          /* per received message; 0 = default (1 MiB) */
    unsigned handshake_timeout_ms; /* 0 = default (10 s) */
    /* Origins allowed (exact serialized origins, compared without case);
     * n_origins 0 = any. A request without Origin (not from a browser,
     * whose cross-site use the check is about) is always accepted. */
    const char *const *origins;
    unsigned n_origins;
};

/*
 * Makes an adopted connection a WebSocket server (see the top). cfg is
 * read, not copied: it must outlive the connection (the daemon keeps its
 * listener configuration for its lifetime). 0, -ENOMEM, or -EINVAL when
 * the connection is not freshly adopted or already a ws connection.
 */
int ur_conn_ws_server(struct ur_conn *c, const struct ur_ws_config *cfg);

/* 1 for a WebSocket connection (handshake done or not), else 0. */
int ur_conn_is_ws(const struct ur_conn *c);

/* Ends the message the last sends belong to (an empty FIN frame); no-op
 * when none is open or c is not a ws connection. 0 or a send error. */
int ur_conn_ws_message_end(struct ur_conn *c);

/* Handshake results counted in ur_loop_stats.ws_handshakes[]. */
enum ur_ws_hs_result {
    UR_WS_HS_OK,               /* 101 */
    UR_WS_HS_BAD_REQUEST,      /* 400 */
    UR_WS_HS_FORBIDDEN,        /* 403: Origin refused */
    UR_WS_HS_UPGRADE_REQUIRED, /* 426: not version 13 */
    UR_WS_HS_TOO_LARGE,        /* 431 */
    UR_WS_HS_TIMEOUT,          /* no complete request in time (or the peer left) */
    UR_WS_HS_N
};
/* Label of each result for metrics: "ok", "bad_request", ... */
extern const char *const ur_ws_hs_result_names[UR_WS_HS_N];

#endif
