/*
 * ws.h: WebSocket (RFC 6455) frame codec for MSRP over WebSocket (RFC
 * 7977), in the no-I/O style of proto/: a caller-owned decoder state fed
 * any split of the byte stream, yielding one event per call, and an
 * encoder that writes frame headers (and masks with a caller-supplied key,
 * so the codec holds no randomness).
 *
 * Decoding (msrp_ws_decode): each call consumes some input and returns
 *   1  with *ev filled: MSG_START (opcode text/binary), DATA (a piece of
 *      the message's payload, unmasked), MSG_END, PING, PONG or CLOSE
 *      (whole control payload, <= 125 bytes, in the decoder's own buffer);
 *   0  when all input was consumed and no event is ready (feed more);
 *   <0 an msrp_ws_err: the connection must be failed with the close code
 *      msrp_ws_err_close_code(err) (1002, 1007 or 1009). The decoder stays
 *      failed: every later call returns the same error.
 * DATA pieces are unmasked in place (the input is written) unless the
 * caller set an output buffer (msrp_ws_decoder_set_out), in which case they
 * are unmasked into it, at most out_cap bytes a piece, and the input is
 * only read. A DATA piece points into the input (or out) and is valid until
 * the caller reuses that memory.
 *
 * Rules enforced (RFC 6455 section 5): RSV1-3 zero (no extension is ever
 * negotiated); unknown opcodes refused; frames from a client (we are the
 * server) must be masked and frames from a server (we are the client) must
 * not; control frames have FIN set and <= 125 bytes, and may come between
 * the fragments of a message; a continuation with no message open, or a
 * new text/binary frame inside one, is an error; a 64-bit length with the
 * top bit set is an error; a message's total payload above the caller's
 * max_message fails with 1009 as soon as the frame header announcing it is
 * read (before any payload is buffered); text messages are UTF-8 validated
 * incrementally across fragments and pieces (1007 on the first bad byte or
 * on a message ending mid-sequence); close payloads are empty or a valid
 * code (1000-1003, 1007-1014, 3000-4999: never 1004-1006, 1015 or the
 * unassigned ranges) plus a UTF-8 reason; nothing may follow a close.
 *
 * Length encoding: RFC 6455 5.2 tells senders to use the minimal length
 * form but gives receivers no rule; this decoder accepts a non-minimal
 * form (the length is bounded by max_message either way, so there is no
 * safety reason to refuse it). The encoder always writes the minimal form.
 *
 * Text vs binary (RFC 7977 section 5): an MSRP chunk may travel in text
 * or binary messages; the codec reports which and the relay treats both
 * alike. Text messages still get RFC 6455's UTF-8 check (a non-UTF-8 MSRP
 * body must be sent as binary).
 */
#ifndef MSRP_WS_H
#define MSRP_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSRP_WS_MAX_HEADER 14      /* 2 + 8 (length) + 4 (mask key) */
#define MSRP_WS_MAX_CONTROL 125    /* control frame payload bound */

enum msrp_ws_opcode {
    MSRP_WS_OP_CONT = 0x0,
    MSRP_WS_OP_TEXT = 0x1,
    MSRP_WS_OP_BINARY = 0x2,
    MSRP_WS_OP_CLOSE = 0x8,
    MSRP_WS_OP_PING = 0x9,
    MSRP_WS_OP_PONG = 0xA,
};

/* Close codes this codec produces or names (RFC 6455 section 7.4.1). */
enum {
    MSRP_WS_CLOSE_NORMAL = 1000,
    MSRP_WS_CLOSE_GOING_AWAY = 1001,
    MSRP_WS_CLOSE_PROTOCOL = 1002,
    MSRP_WS_CLOSE_NO_STATUS = 1005, /* never on the wire: "close had no code" */
    MSRP_WS_CLOSE_BAD_DATA = 1007,
    MSRP_WS_CLOSE_TOO_BIG = 1009,
};

/* X(code, value, close code, name) */
#define MSRP_WS_ERRORS(X)                                                  \
    X(MSRP_WS_E_RSV, -1, 1002, "ws_rsv_bits_set")                          \
    X(MSRP_WS_E_OPCODE, -2, 1002, "ws_reserved_opcode")                    \
    X(MSRP_WS_E_UNMASKED, -3, 1002, "ws_client_frame_unmasked")            \
    X(MSRP_WS_E_MASKED, -4, 1002, "ws_server_frame_masked")                \
    X(MSRP_WS_E_CONTROL_LEN, -5, 1002, "ws_control_frame_too_long")        \
    X(MSRP_WS_E_CONTROL_FRAG, -6, 1002, "ws_control_frame_fragmented")     \
    X(MSRP_WS_E_CONT_NO_MSG, -7, 1002, "ws_continuation_without_start")    \
    X(MSRP_WS_E_START_IN_MSG, -8, 1002, "ws_new_message_inside_message")   \
    X(MSRP_WS_E_LEN64, -9, 1002, "ws_length_top_bit_set")                  \
    X(MSRP_WS_E_TOO_BIG, -10, 1009, "ws_message_too_big")                  \
    X(MSRP_WS_E_CLOSE_LEN, -11, 1002, "ws_close_payload_one_byte")         \
    X(MSRP_WS_E_CLOSE_CODE, -12, 1002, "ws_bad_close_code")                \
    X(MSRP_WS_E_UTF8, -13, 1007, "ws_invalid_utf8")                        \
    X(MSRP_WS_E_AFTER_CLOSE, -14, 1002, "ws_frame_after_close")

enum msrp_ws_err {
#define MSRP_WS_ERR_ENUM(code, value, close, name) code = value,
    MSRP_WS_ERRORS(MSRP_WS_ERR_ENUM)
#undef MSRP_WS_ERR_ENUM
};

/* The close code to send when failing for err (0 if err is not ours). */
int msrp_ws_err_close_code(int err);
/* Short stable name of err ("ok" for 0, "unknown" otherwise). */
const char *msrp_ws_strerror(int err);

enum msrp_ws_role {
    MSRP_WS_SERVER, /* we accepted the connection: peer frames are masked */
    MSRP_WS_CLIENT, /* we opened it: peer frames are not masked */
};

enum msrp_ws_event_type {
    MSRP_WS_EV_MSG_START = 1,
    MSRP_WS_EV_DATA,
    MSRP_WS_EV_MSG_END,
    MSRP_WS_EV_PING,
    MSRP_WS_EV_PONG,
    MSRP_WS_EV_CLOSE,
};

struct msrp_ws_event {
    enum msrp_ws_event_type type;
    enum msrp_ws_opcode opcode; /* MSG_START (and DATA, MSG_END): text or binary */
    const uint8_t *data;        /* DATA piece, or the control payload */
    size_t n;
    /* CLOSE: the code (MSRP_WS_CLOSE_NO_STATUS when the payload was
     * empty); the reason is data + 2, n - 2 when n >= 2. */
    uint16_t close_code;
};

/* Incremental UTF-8 validator state (kept across pieces and fragments). */
struct msrp_ws_utf8 {
    uint8_t need;   /* continuation bytes still expected */
    uint8_t lo, hi; /* allowed range of the next continuation byte */
};

struct msrp_ws_decoder {
    enum msrp_ws_role role;
    uint64_t max_message;
    uint8_t *out; /* NULL: unmask in place */
    size_t out_cap;
    /* current frame */
    uint8_t hdr[MSRP_WS_MAX_HEADER];
    uint8_t hdr_have, hdr_need;
    uint8_t opcode; /* of the current frame */
    bool fin;
    bool masked;
    uint8_t mask[4];
    uint8_t mask_pos; /* mask index of the next payload byte */
    uint64_t remaining; /* payload bytes of the current frame not yet read */
    uint8_t state;
    bool pending_start;
    /* current message */
    bool in_message;
    uint8_t msg_opcode;
    uint64_t msg_len;
    struct msrp_ws_utf8 utf8;
    /* control frame being collected */
    uint8_t ctrl[MSRP_WS_MAX_CONTROL];
    uint8_t ctrl_len;
    bool closed; /* a close frame was received */
    int err;
};

/* Zero-fills d; max_message bounds a message's total payload (> 0). */
void msrp_ws_decoder_init(struct msrp_ws_decoder *d, enum msrp_ws_role role,
                          uint64_t max_message);
/* Unmask DATA into out (at most cap bytes a piece) instead of in place. */
void msrp_ws_decoder_set_out(struct msrp_ws_decoder *d, uint8_t *out, size_t cap);

/* See the top of this file. *consumed gets the input bytes used (also on
 * return 0 and 1; on error, how far the decoder read). */
int msrp_ws_decode(struct msrp_ws_decoder *d, uint8_t *buf, size_t len, size_t *consumed,
                   struct msrp_ws_event *ev);

/*
 * Writes a frame header to out and returns its length (2..14). mask is
 * NULL for an unmasked frame (server role) or the 4-byte key (client role:
 * RFC 6455 wants it unpredictable, so the caller supplies fresh random
 * bytes each frame); the caller then masks the payload with msrp_ws_mask().
 */
size_t msrp_ws_frame_header(uint8_t out[MSRP_WS_MAX_HEADER], enum msrp_ws_opcode op, bool fin,
                            uint64_t len, const uint8_t *mask);

/* XORs p[0..n) with key, starting at key index offset & 3 (for a payload
 * masked in several pieces, offset is the bytes already masked). */
void msrp_ws_mask(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset);

/*
 * A whole frame: header + payload (masked when mask != NULL) into out.
 * Returns its length, or -1 when out_cap is too small.
 */
long msrp_ws_encode_frame(uint8_t *out, size_t out_cap, enum msrp_ws_opcode op, bool fin,
                          const uint8_t *payload, size_t n, const uint8_t *mask);

/* A close payload: code (big-endian) + reason, truncated to 125 bytes.
 * Returns its length (0 when code is 0: a close without a code). */
size_t msrp_ws_close_payload(uint8_t out[MSRP_WS_MAX_CONTROL], uint16_t code, const char *reason,
                             size_t reason_len);

/* Whether code may appear in a close frame on the wire. */
bool msrp_ws_close_code_valid(unsigned code);

/* Incremental UTF-8 check: false at the first invalid byte. A message is
 * complete UTF-8 when every piece passed and u->need == 0 at its end. */
bool msrp_ws_utf8_feed(struct msrp_ws_utf8 *u, const uint8_t *p, size_t n);

#endif
