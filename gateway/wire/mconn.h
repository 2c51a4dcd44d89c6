/*
 * mconn.h: one MSRP connection -- a uring connection (plain or TLS) whose
 * byte stream is parsed into MSRP frames as it arrives.
 *
 * Received frames reach the owner as events: on_head once the header
 * section is complete, on_body for each run of body bytes (zero copy: the
 * bytes live in a receive buffer the owner may reference to forward them),
 * on_end with the continuation flag. A parse error answers 400 where the
 * frame can still be answered (RFC 4975 section 7.3), tells the owner, and
 * closes the connection once the answer is sent: after a framing error the
 * stream cannot be trusted.
 *
 * Flow control: any event callback may return GW_MCONN_STALL. The event
 * counts as consumed, but the connection stops delivering events and stops
 * reading from the socket (the unparsed rest of the current receive buffer
 * is kept by reference) until gw_mconn_resume(). This is how a relay waits
 * for a busy or slow next hop without buffering.
 *
 * Self-backpressure: an accepted (inbound) connection whose own unsent
 * output reached conn_mem_ceiling (uring/conn.h) stops delivering events
 * and reading the same way, until that output drains under the low
 * watermark: a peer that sends requests and never reads the answers
 * cannot make us queue them without bound. Both reasons compose: input
 * flows again only when the owner resumed and the output drained.
 * Connections we opened keep reading (see mconn.c). Output past
 * conn_hard_limit (from other sources, e.g. forwarded frames) closes the
 * connection: on_close gets -ENOBUFS.
 */
#ifndef GW_MCONN_H
#define GW_MCONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto/parser.h"

struct ur_loop;
struct ur_buf;
struct ur_conn;
struct ur_tls_ctx;
struct gw_mconn;
struct msrp_frame;

enum {
    GW_MCONN_CONTINUE = 0,
    GW_MCONN_STALL = 1,
    /* on_head only: the owner cannot decide about this frame yet (what it
     * needs is not there). Stalls like GW_MCONN_STALL, and once resumed
     * on_head gets the same head again, before anything else. */
    GW_MCONN_AGAIN = 2,
};

struct gw_mconn_ops {
    /* Outbound connect (and TLS handshake) done, or failed (err < 0; on_close
     * follows). Adopted connections get it too, once usable. */
    void (*on_open)(struct gw_mconn *m, int err);
    /* Header section of a frame complete; h stays valid until on_end. */
    int (*on_head)(struct gw_mconn *m, const struct msrp_head *h);
    /* Body bytes at offset off of the chunk body. buf is the receive buffer
     * holding them (ur_buf_ref() it, or pass it to gw_mconn_send_ref(), to
     * keep them past the callback), or NULL when the bytes are held by the
     * parser (copy them before returning). */
    int (*on_body)(struct gw_mconn *m, const struct msrp_head *h, const char *p, size_t n,
                   uint64_t off, struct ur_buf *buf);
    /* End-line seen: flag '$', '+' or '#'. */
    int (*on_end)(struct gw_mconn *m, const struct msrp_head *h, char flag);
    /* Framing error (negative enum msrp_err) at stream offset off. The
     * connection answers 400 if it can and closes after the flush. h is the
     * partial frame's head when a start line was read, else NULL. */
    void (*on_error)(struct gw_mconn *m, int err, uint64_t off, const struct msrp_head *h);
    /* Queued bytes fell under the low watermark (see uring/conn.h). */
    void (*on_drain)(struct gw_mconn *m);
    /* Exactly once; m is freed when it returns. */
    void (*on_close)(struct gw_mconn *m, int err);
};

/* Wraps an accepted socket (takes ownership of fd, even on error). */
int gw_mconn_adopt(struct ur_loop *loop, int fd, struct ur_tls_ctx *tls,
                   const struct msrp_limits *lim, const struct gw_mconn_ops *ops, void *ud,
                   struct gw_mconn **out);

/* Wraps a connection handed over from another loop (see ur_conn_detach in
 * uring/conn.h): its replayed and unread bytes are parsed first. Takes
 * ownership of h, even on error. */
struct ur_handoff;
int gw_mconn_adopt_handoff(struct ur_loop *loop, struct ur_handoff *h,
                           const struct msrp_limits *lim, const struct gw_mconn_ops *ops,
                           void *ud, struct gw_mconn **out);

/* Connects to host:port (numeric host); result through on_open. Sends may
 * be queued at once. */
int gw_mconn_connect(struct ur_loop *loop, const char *host, uint16_t port,
                     unsigned timeout_ms, struct ur_tls_ctx *tls, const char *server_name,
                     const struct msrp_limits *lim, const struct gw_mconn_ops *ops, void *ud,
                     struct gw_mconn **out);

/* Restarts event delivery after a callback returned GW_MCONN_STALL. Events
 * for the bytes kept back are delivered from inside this call. No-op when
 * not stalled. */
void gw_mconn_resume(struct gw_mconn *m);
/* The owner's stall (GW_MCONN_STALL) is in effect. */
int gw_mconn_stalled(const struct gw_mconn *m);
/* Input held back because our output to the peer is over the ceiling. */
bool gw_mconn_output_blocked(const struct gw_mconn *m);

/* Sending: copy (headers, responses), zero-copy from a receive buffer (buf
 * may be NULL: then p is copied), or caller-owned memory released in done. */
int gw_mconn_send_copy(struct gw_mconn *m, const void *p, size_t n);
int gw_mconn_send_ref(struct gw_mconn *m, const void *p, size_t n, struct ur_buf *buf);
int gw_mconn_send(struct gw_mconn *m, const void *p, size_t n,
                  void (*done)(struct ur_conn *c, void *arg, int err), void *arg);

/*
 * Frames written in parts. gw_mconn_frame_begin says a frame is being
 * written piece by piece (a relayed chunk whose body is sent as it
 * arrives): until gw_mconn_frame_end, the output belongs to it, and whole
 * frames sent with gw_mconn_send_frame / gw_mconn_respond meanwhile are
 * held and queued right after its end-line, in order -- an answer must
 * never land inside another frame's body. Held frames count against the
 * self-backpressure ceiling (an inbound peer is not read while they are
 * over it) and past conn_hard_limit close the connection (-ENOBUFS).
 *
 * gw_mconn_frame_end: the frame whose bytes were just queued is complete
 * (its end-line is queued). On a WebSocket connection this ends its
 * message: RFC 7977 carries one MSRP frame per WebSocket message
 * (uring/ws.h). Every writer of frames calls it after the end-line.
 */
void gw_mconn_frame_begin(struct gw_mconn *m);
int gw_mconn_frame_end(struct gw_mconn *m);
/* A whole frame in one copy (a response, a REPORT): send_copy + frame_end,
 * or held while a frame written in parts is open. */
int gw_mconn_send_frame(struct gw_mconn *m, const void *p, size_t n);

/* Answers request h with code (RFC 4975 section 7.2), unless it is a REPORT
 * (never answered) or Failure-Report forbids it (no: never; partial: only
 * codes other than 200). extra may add headers (see proto/writer.h).
 * Returns 0 (sent or correctly not sent) or a negative error. */
int gw_mconn_respond(struct gw_mconn *m, const struct msrp_head *h, uint16_t code,
                     const char *comment, const struct msrp_frame *extra);

size_t gw_mconn_pending(const struct gw_mconn *m);
void gw_mconn_close(struct gw_mconn *m);
void gw_mconn_close_after_flush(struct gw_mconn *m);

struct ur_conn *gw_mconn_conn(const struct gw_mconn *m);
struct ur_loop *gw_mconn_loop(const struct gw_mconn *m);
void *gw_mconn_data(const struct gw_mconn *m);
void gw_mconn_set_data(struct gw_mconn *m, void *ud);
/* Hands the connection to another owner (a server binding an accepted
 * connection to a session), also from inside one of its callbacks: the
 * next event goes to the new ops. */
void gw_mconn_set_ops(struct gw_mconn *m, const struct gw_mconn_ops *ops, void *ud);
/* Peer address as "ip:port" (for logs). */
const char *gw_mconn_peer(const struct gw_mconn *m);

/* Counters. */
struct gw_mconn_stats {
    uint64_t frames_in;
    uint64_t body_bytes_in;
    uint64_t parse_errors;
    /* 400s sent for a framing error (0 or 1: the connection then closes);
     * for the owner's responses_sent count, read in on_error. */
    uint64_t error_answers;
    /* Whole frames that waited for a frame written in parts to end. */
    uint64_t frames_held;
};
void gw_mconn_get_stats(const struct gw_mconn *m, struct gw_mconn_stats *st);

/* A frame has started arriving (its start line, headers or body) and has
 * not ended: with the owner's own record of on_head/on_end, tells a header
 * section in progress (header timeouts). */
bool gw_mconn_in_frame(const struct gw_mconn *m);

#endif
