/*
 * session.h: one MSRP session endpoint (RFC 4975) bound to one connection,
 * the C-shaped counterpart of python-msrplib's MSRPTransport + MSRPSession:
 *
 *   - transport: writes chunks and responses, validates incoming SENDs
 *     (To-Path = our local URI, From-Path = reverse(our relay's Use-Path)
 *     + the remote path, else 481; REPORTs likewise, dropped) and
 *     delivers their bodies as segments ("virtual chunks") with their
 *     absolute position in the message, so a chunk is never buffered whole;
 *   - session: accept-types filter (415 answered at the head, body
 *     discarded), per-chunk response timeouts (408 when Failure-Report is
 *     yes or absent), an outgoing queue that sends messages (files read
 *     through io_uring, or memory) chunk by chunk, round robin between
 *     queued messages, with Byte-Range on every chunk and a window of
 *     outstanding chunks; abort ('#'), Success/Failure REPORTs, orderly
 *     shutdown.
 *
 * How a session gets its connection (connector, acceptor/server, relay
 * AUTH) is endpoint.h's business; this header is what a bound session
 * does. Everything runs on one ur_loop; callbacks run on it.
 *
 * Failure-Report of outgoing chunks (RFC 4975 section 7.1.1):
 *   yes / absent: every chunk waits for its response; none within
 *                 response_timeout_ms counts as 408 and fails the message;
 *   no:           no response expected: a chunk succeeds once sent;
 *   partial:      a chunk is assumed successful once sent; the transaction
 *                 is remembered for response_timeout_ms, and a non-200
 *                 arriving meanwhile is logged (GW_SLOG_WARN), not
 *                 reported to the message, whose outcome may be known.
 * The binding SEND follows the same rule (with no/partial, the session is
 * bound once it is sent).
 */
#ifndef GW_SESSION_H
#define GW_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/wire/mconn.h"
#include "gateway/wire/path.h"
#include "proto/headers.h"
#include "proto/parser.h"

struct ur_loop;
struct ur_buf;
struct gw_session;
struct gw_msg_out;

#define GW_MSGID_MAX 64
#define GW_CTYPE_MAX 128

/* Outcome codes that are not MSRP status codes (all > 999 or 0). */
enum {
    GW_CODE_OK = 200,
    GW_CODE_TIMEOUT = 408,
    GW_CODE_ABORTED = 1000,  /* we aborted it (gw_session_abort_message) */
    GW_CODE_CLOSED = 1001,   /* connection closed before the outcome */
    GW_CODE_IO = 1002,       /* reading the file failed */
};

struct gw_session_config {
    uint32_t chunk_size;          /* body bytes per outgoing chunk; 65536 */
    uint32_t window;              /* outstanding chunks; 8 */
    uint32_t response_timeout_ms; /* 30000 */
    uint32_t bind_timeout_ms;     /* binding / AUTH deadline; 30000 */
    const char *accept_types;     /* NULL = "*" (copied) */
    enum msrp_report failure_report; /* of outgoing chunks; ABSENT */
    enum msrp_report success_report; /* ABSENT or YES */
    /* draft-ietf-simple-msrp-sessmatch-10: an incoming To-Path matches when
     * its session id equals ours (host/port may be rewritten by an SBC),
     * and of the From-Path only the last URI's session id is compared with
     * the remote endpoint's. Default (what deployed clients do): To-Path
     * must be our URI alone and From-Path must equal reverse(our relay's
     * Use-Path) + the remote path, URI by URI (RFC 4975 section 6.1); the
     * remote path is learned from the first SEND when not given. */
    bool sessmatch;
    unsigned max_in_messages;     /* incoming messages in progress; 16 */
    /* Largest incoming message taken, by its total or by where its bytes
     * would go (413 beyond: a peer cannot make us write past it); 0 = no
     * bound. */
    uint64_t max_message_size;
};
void gw_session_config_default(struct gw_session_config *c);

/* An incoming message being received. */
struct gw_msg_in {
    char message_id[GW_MSGID_MAX + 1]; /* "" when the sender gave none */
    char content_type[GW_CTYPE_MAX + 1];
    uint64_t total;    /* UINT64_MAX while unknown ("*") */
    uint64_t received; /* distinct bytes received */
    bool success_report;
    void *ud;          /* the owner's, e.g. an output file */
    /* The head of the message's first chunk: valid during on_message_start
     * only (its paths, its extension headers), NULL elsewhere. */
    const struct msrp_head *head;
};

/* Log hook kinds (msrplib's logger: received chunk start/data/end, sent
 * chunk, and messages by level). */
enum gw_slog {
    GW_SLOG_IN_START = 0, /* p,n: nothing; head given */
    GW_SLOG_IN_DATA,      /* p,n: body bytes (pos in *pos) */
    GW_SLOG_IN_END,       /* p[0]: flag */
    GW_SLOG_OUT,          /* p,n: the head of the frame sent (no body) */
    GW_SLOG_DEBUG,
    GW_SLOG_INFO,
    GW_SLOG_WARN,
    GW_SLOG_ERROR,
    GW_SLOG_FATAL,
};
struct gw_slog_event {
    enum gw_slog kind;
    const struct msrp_head *head; /* IN_* */
    const char *p;
    size_t n;
    uint64_t pos;                 /* IN_DATA: absolute position */
};
typedef void (*gw_session_log_fn)(struct gw_session *s, const struct gw_slog_event *ev,
                                  void *ud);

struct gw_session_ops {
    /* Bound (err 0; the local path is final), or failed to bind / AUTH /
     * connect (err < 0: -ETIMEDOUT, -ECONNREFUSED, -EACCES for a refused
     * AUTH, -EPROTO for a non-200 to the binding SEND...; on_close follows). */
    void (*on_ready)(struct gw_session *s, int err);
    /* First chunk of a new incoming message, before its body. Return 0 to
     * take it, or an MSRP code (e.g. 413, 415) to refuse the chunk. */
    int (*on_message_start)(struct gw_session *s, struct gw_msg_in *m);
    /* n body bytes at absolute position pos (0-based) of message m. buf is
     * the receive buffer holding them (ur_buf_ref() to keep them), or NULL
     * (copy before returning). Return GW_MCONN_STALL to stop reading until
     * gw_session_resume(). */
    int (*on_data)(struct gw_session *s, struct gw_msg_in *m, const char *p, size_t n,
                   uint64_t pos, struct ur_buf *buf);
    /* Message finished: 0 complete, GW_CODE_ABORTED when the sender
     * aborted it ('#'), GW_CODE_CLOSED when the connection closed first,
     * or the MSRP code it was refused with. m is freed after the call. */
    void (*on_message_end)(struct gw_session *s, struct gw_msg_in *m, int status);
    /* An incoming REPORT: its Message-ID, Status code and Byte-Range. */
    void (*on_report)(struct gw_session *s, struct msrp_slice message_id, uint16_t code,
                      const struct msrp_byte_range *br, const struct msrp_head *h);
    /* Exactly once; s is freed when it returns. */
    void (*on_close)(struct gw_session *s, int err);
};

/* Outcome of an outgoing message: GW_CODE_OK, an MSRP error code from a
 * response (or 408), or a GW_CODE_*. */
typedef void (*gw_sent_fn)(struct gw_session *s, struct gw_msg_out *m, int code, void *arg);

/* ---- outgoing messages (the file queue) ---- */

struct gw_send_opts {
    const char *content_type;   /* default application/octet-stream */
    const char *message_id;     /* NULL: generated */
    uint64_t start;             /* resume: first byte offset to send */
    enum msrp_report failure_report; /* override, ABSENT = session's */
    enum msrp_report success_report; /* override, ABSENT = session's */
    /* Sees every byte read from the file in order (e.g. a hash). */
    void (*tap)(void *arg, const char *p, size_t n);
};

/*
 * Queues a file: fd >= 0 (borrowed; must stay open until done runs) or
 * path (opened and closed by the session). size: the message's total
 * (bytes [0, size) of the file). Chunks are read with ur_file_read and
 * interleaved with the other queued messages. done runs once. *out (may
 * be NULL) identifies the message for gw_session_abort_message().
 * 0 or -errno.
 */
int gw_session_send_file(struct gw_session *s, int fd, const char *path, uint64_t size,
                         const struct gw_send_opts *o, gw_sent_fn done, void *arg,
                         struct gw_msg_out **out);

/* Queues a message held in memory (copied). */
int gw_session_send_mem(struct gw_session *s, const void *p, size_t n,
                        const struct gw_send_opts *o, gw_sent_fn done, void *arg,
                        struct gw_msg_out **out);

/* Aborts a queued or in-progress message: if some of it was sent, its
 * next chunk goes out terminated with '#'; done gets GW_CODE_ABORTED. */
int gw_session_abort_message(struct gw_session *s, struct gw_msg_out *m);

const char *gw_msg_out_id(const struct gw_msg_out *m);
uint64_t gw_msg_out_sent(const struct gw_msg_out *m); /* bytes sent */

/* ---- transport ---- */

/* A single chunk outside the queue (e.g. an empty SEND, a small message).
 * resp gets the response code (or 408 / GW_CODE_CLOSED) once. */
typedef void (*gw_resp_fn)(struct gw_session *s, int code, void *arg);
int gw_session_send_chunk(struct gw_session *s, const char *message_id,
                          const struct msrp_byte_range *br, const char *content_type,
                          const void *body, size_t n, char flag, enum msrp_report fr,
                          gw_resp_fn resp, void *arg);

/* The same, with a body of 4 KiB or more sent from the caller's memory
 * instead of a copy (its head and end-line are built apart): body must
 * stay valid and unchanged for as long as the session lives -- a load
 * generator's pattern, not a file buffer. */
int gw_session_send_chunk_static(struct gw_session *s, const char *message_id,
                                 const struct msrp_byte_range *br, const char *content_type,
                                 const void *body, size_t n, char flag, enum msrp_report fr,
                                 gw_resp_fn resp, void *arg);

/* Restarts delivery after on_data returned GW_MCONN_STALL. */
void gw_session_resume(struct gw_session *s);

/*
 * Ends the session. drain: stop taking new messages, finish the queue and
 * wait for every response, then close. Otherwise abort every queued message
 * and close now. on_close follows in both cases.
 */
void gw_session_shutdown(struct gw_session *s, bool drain);

/* ---- accessors ---- */
const char *gw_session_local_uri(const struct gw_session *s);
/* Full local path for SDP a=path / the sender's To-Path (relay Use-Path +
 * local URI). Final once on_ready(0) ran (before it for direct sessions). */
const char *gw_session_local_path(const struct gw_session *s);
const char *gw_session_remote_path(const struct gw_session *s);
/*
 * The path the peer announced (SDP a=path), for an acceptor or a receiver
 * behind a relay, before its first request arrives: From-Path must then
 * equal reverse(our relay's Use-Path) + path exactly, or the request gets
 * 481 (without it, the path is learned from the first SEND and held).
 * 0, -EINVAL or -E2BIG.
 */
int gw_session_set_remote_path(struct gw_session *s, const char *path);
void *gw_session_data(const struct gw_session *s);
void gw_session_set_log(struct gw_session *s, gw_session_log_fn fn, void *ud);
struct ur_loop *gw_session_loop(const struct gw_session *s);
/* MSRP code of the last refused request of ours (binding SEND, AUTH),
 * 0 if none: lets a program name the failure behind on_ready(err). */
int gw_session_last_code(const struct gw_session *s);
/* 1 when the session's connection is TLS and its handshake resumed an
 * earlier session (ur_conn_tls_resumed), 0 otherwise. */
int gw_session_tls_resumed(const struct gw_session *s);
/* Queued or in-progress outgoing messages. */
unsigned gw_session_queued(const struct gw_session *s);

#endif
