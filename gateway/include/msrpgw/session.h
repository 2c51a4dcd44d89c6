/*
 * msrpgw/session.h: MSRP endpoint sessions on an io_uring event loop --
 * the connector, acceptor and relay-client of RFC 4975 / RFC 4976.
 *
 *   msrpgw_loop        one event loop per thread; run it on the thread that
 *                      made it. Every call on a session, server or loop
 *                      happens on that thread, callbacks included.
 *   msrpgw_tls         a TLS context for msrps:// (client or server).
 *   msrpgw_server      a listening socket shared by accepting sessions; an
 *                      incoming connection goes to the session its first
 *                      chunk's To-Path names.
 *   msrpgw_relay       how to reach an RFC 4976 relay (host, port, user,
 *                      password; TLS optional).
 *   msrpgw_session     one session bound to one connection:
 *     msrpgw_session_connect()       connects to the first URI of the
 *                                    remote path (or AUTHs to a relay and
 *                                    puts its Use-Path in front), binds with
 *                                    an empty SEND;
 *     msrpgw_session_accept()        waits on a server for its peer;
 *     msrpgw_session_relay_accept()  AUTHs to a relay and receives there
 *                                    (the local path to publish, e.g. in
 *                                    SDP a=path, is then relay + local URI).
 *
 * Incoming SENDs are checked as strictly as deployed clients check them
 * (To-Path = our URI, From-Path = the peer's path, else 481) and their
 * bodies are delivered in pieces as they arrive, with their position in
 * the message. Outgoing messages (files or memory) are sent in chunks
 * with Byte-Range, several messages interleaved, a window of chunks
 * outstanding and a response timeout per chunk (408).
 */
#ifndef MSRPGW_SESSION_H
#define MSRPGW_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <msrpgw/export.h>

#ifdef __cplusplus
extern "C" {
#endif

struct msrpgw_loop;
struct msrpgw_tls;
struct msrpgw_server;
struct msrpgw_relay;
struct msrpgw_session;
struct msrpgw_session_opts;
struct msrpgw_message;
struct msrpgw_outgoing;

/* Outcome codes that are not MSRP status codes. */
#define MSRPGW_OK 200
#define MSRPGW_ABORTED 1000 /* aborted ('#' from the sender, or by us) */
#define MSRPGW_CLOSED 1001  /* the connection closed before the outcome */
#define MSRPGW_IO 1002      /* reading the file failed */
/* on_data's return value that stops reading until msrpgw_session_resume(). */
#define MSRPGW_STALL 1

/* ---- loop ---- */

/* A loop owned by the calling thread. 0 or -errno. */
MSRPGW_API int msrpgw_loop_new(struct msrpgw_loop **out);
/* Runs callbacks until msrpgw_loop_stop(). 0 or -errno. */
MSRPGW_API int msrpgw_loop_run(struct msrpgw_loop *loop);
/* Makes msrpgw_loop_run() return (from a callback on this loop). */
MSRPGW_API void msrpgw_loop_stop(struct msrpgw_loop *loop);
/* After msrpgw_loop_run() returned; closes what is still open. */
MSRPGW_API void msrpgw_loop_free(struct msrpgw_loop *loop);

/* ---- TLS ---- */

/* Client context: verifies the peer against ca_file (PEM), or does not
 * verify at all when insecure is nonzero (tests only). */
MSRPGW_API int msrpgw_tls_client_new(struct msrpgw_tls **out, const char *ca_file, int insecure);
/* Server context from a PEM certificate chain and key. */
MSRPGW_API int msrpgw_tls_server_new(struct msrpgw_tls **out, const char *cert_file,
                                     const char *key_file);
/* Drops the caller's reference; connections keep theirs. */
MSRPGW_API void msrpgw_tls_free(struct msrpgw_tls *t);

/* ---- session options ---- */

/* Defaults: 64 KiB chunks, window 8, 30 s response and bind timeouts,
 * accept-types "*", Failure-Report absent, no Success-Report, at most
 * 16 incoming messages in progress, no size bound. */
MSRPGW_API int msrpgw_session_opts_new(struct msrpgw_session_opts **out);
MSRPGW_API void msrpgw_session_opts_free(struct msrpgw_session_opts *o);
/* Each returns 0 or -EINVAL (value out of range). */
MSRPGW_API int msrpgw_session_opts_chunk_size(struct msrpgw_session_opts *o, uint32_t bytes);
MSRPGW_API int msrpgw_session_opts_window(struct msrpgw_session_opts *o, uint32_t chunks);
MSRPGW_API int msrpgw_session_opts_response_timeout(struct msrpgw_session_opts *o, uint32_t ms);
MSRPGW_API int msrpgw_session_opts_bind_timeout(struct msrpgw_session_opts *o, uint32_t ms);
/* Space-separated list of "type/subtype", "type/" followed by a star (any
 * subtype) or a star alone (anything), as SDP a=accept-types; a message of
 * another type is refused with 415. Copied. */
MSRPGW_API int msrpgw_session_opts_accept_types(struct msrpgw_session_opts *o,
                                                const char *types);
/* "yes", "no" or "partial" (RFC 4975 section 7.1.1), NULL = absent. */
MSRPGW_API int msrpgw_session_opts_failure_report(struct msrpgw_session_opts *o,
                                                  const char *value);
MSRPGW_API int msrpgw_session_opts_success_report(struct msrpgw_session_opts *o, int on);
/* Largest incoming message taken (413 beyond); 0 = no bound. */
MSRPGW_API int msrpgw_session_opts_max_message_size(struct msrpgw_session_opts *o,
                                                    uint64_t bytes);

/* ---- relay ---- */

/* host: an address or a name (resolved on the loop); port 0 = 2855.
 * user/password may be NULL (then a 401 fails the AUTH). Copied. */
MSRPGW_API int msrpgw_relay_new(struct msrpgw_relay **out, const char *host, uint16_t port,
                                const char *user, const char *password);
/* msrps:// to the relay with this client context (borrowed: keep it
 * until the sessions that use it are closed). */
MSRPGW_API int msrpgw_relay_set_tls(struct msrpgw_relay *r, struct msrpgw_tls *tls);
MSRPGW_API void msrpgw_relay_free(struct msrpgw_relay *r);

/* ---- callbacks ---- */

struct msrpgw_session_handlers {
    /* Bound (err 0), or failed to bind / AUTH / connect (err < 0:
     * -ETIMEDOUT, -ECONNREFUSED, -EACCES for a refused AUTH, -EPROTO for
     * a non-200 to the binding SEND; on_close follows). */
    void (*on_ready)(struct msrpgw_session *s, int err, void *ud);
    /* A new incoming message. Return 0 to take it, or an MSRP code (413,
     * 415, ...) to refuse it. NULL: every message is taken. */
    int (*on_message_start)(struct msrpgw_session *s, struct msrpgw_message *m, void *ud);
    /* n bytes at position pos (0-based) of message m; copy them before
     * returning. Return 0, or MSRPGW_STALL to stop reading until
     * msrpgw_session_resume(). */
    int (*on_data)(struct msrpgw_session *s, struct msrpgw_message *m, const void *p, size_t n,
                   uint64_t pos, void *ud);
    /* Message finished: 0 complete, MSRPGW_ABORTED, MSRPGW_CLOSED or the
     * MSRP code it was refused with. m is freed after the call. */
    void (*on_message_end)(struct msrpgw_session *s, struct msrpgw_message *m, int status,
                           void *ud);
    /* A REPORT about one of our messages: its Message-ID and status code. */
    void (*on_report)(struct msrpgw_session *s, const char *message_id, int code, void *ud);
    /* Exactly once, last; s is freed when it returns. */
    void (*on_close)(struct msrpgw_session *s, int err, void *ud);
};

/* ---- sessions ---- */

/* Listens on host:port (port 0 = ephemeral: msrpgw_server_port). uri_host:
 * the host written in local URIs (NULL = host). tls NULL = msrp://. A
 * connection whose first chunk names no session of this server gets 481
 * and is closed; one that sends nothing is closed after 30 s. */
MSRPGW_API int msrpgw_server_new(struct msrpgw_loop *loop, const char *host, uint16_t port,
                                 const char *uri_host, struct msrpgw_tls *tls,
                                 struct msrpgw_server **out);
MSRPGW_API uint16_t msrpgw_server_port(const struct msrpgw_server *sv);
/* Stops listening; sessions not yet bound fail with -ECANCELED. */
MSRPGW_API void msrpgw_server_free(struct msrpgw_server *sv);

/*
 * opts NULL = defaults; handlers are copied; ud is passed to every handler.
 * remote_path: the peer's path (space-separated URIs, from its SDP
 * a=path), or NULL for an acceptor to learn it from the peer's first SEND.
 * tls: the client context when the first hop is msrps://. 0 or -errno;
 * on success on_close will run exactly once.
 */
MSRPGW_API int msrpgw_session_connect(struct msrpgw_loop *loop,
                                      const struct msrpgw_session_opts *opts,
                                      const struct msrpgw_session_handlers *handlers, void *ud,
                                      const char *remote_path, struct msrpgw_tls *tls,
                                      const struct msrpgw_relay *relay,
                                      struct msrpgw_session **out);
MSRPGW_API int msrpgw_session_accept(struct msrpgw_server *sv,
                                     const struct msrpgw_session_opts *opts,
                                     const struct msrpgw_session_handlers *handlers, void *ud,
                                     const char *remote_path, struct msrpgw_session **out);
MSRPGW_API int msrpgw_session_relay_accept(struct msrpgw_loop *loop,
                                           const struct msrpgw_session_opts *opts,
                                           const struct msrpgw_session_handlers *handlers,
                                           void *ud, const struct msrpgw_relay *relay,
                                           struct msrpgw_session **out);

/* Outcome of an outgoing message: MSRPGW_OK, an MSRP error code (408 when
 * a chunk got no response in time) or MSRPGW_ABORTED/CLOSED/IO. */
typedef void (*msrpgw_sent_fn)(struct msrpgw_session *s, struct msrpgw_outgoing *m, int code,
                               void *arg);

/* Queues the file at path, whole (opened and closed by the session);
 * content_type NULL = application/octet-stream. done runs once. *out (may
 * be NULL) names the message for msrpgw_session_abort(). 0 or -errno. */
MSRPGW_API int msrpgw_session_send_file(struct msrpgw_session *s, const char *path,
                                        const char *content_type, msrpgw_sent_fn done,
                                        void *arg, struct msrpgw_outgoing **out);
/* Queues n bytes of memory (copied). */
MSRPGW_API int msrpgw_session_send_mem(struct msrpgw_session *s, const void *p, size_t n,
                                       const char *content_type, msrpgw_sent_fn done,
                                       void *arg, struct msrpgw_outgoing **out);
/* Aborts a queued or partly sent message ('#'); done gets MSRPGW_ABORTED. */
MSRPGW_API int msrpgw_session_abort(struct msrpgw_session *s, struct msrpgw_outgoing *m);
MSRPGW_API const char *msrpgw_outgoing_message_id(const struct msrpgw_outgoing *m);
MSRPGW_API uint64_t msrpgw_outgoing_sent(const struct msrpgw_outgoing *m);

/* Restarts delivery after on_data returned MSRPGW_STALL. */
MSRPGW_API void msrpgw_session_resume(struct msrpgw_session *s);
/* drain nonzero: finish the queue and its responses, then close;
 * else abort everything and close now. on_close follows. */
MSRPGW_API void msrpgw_session_shutdown(struct msrpgw_session *s, int drain);

/* Our full path (relay Use-Path + our URI): what the peer sends to. */
MSRPGW_API const char *msrpgw_session_local_path(const struct msrpgw_session *s);
MSRPGW_API const char *msrpgw_session_local_uri(const struct msrpgw_session *s);
MSRPGW_API const char *msrpgw_session_remote_path(const struct msrpgw_session *s);
/* The path the peer announced, before its first request: From-Path must
 * then match it exactly (else 481). 0, -EINVAL or -E2BIG. */
MSRPGW_API int msrpgw_session_set_remote_path(struct msrpgw_session *s, const char *path);
/* MSRP code of our last refused request (binding SEND, AUTH), 0 if none. */
MSRPGW_API int msrpgw_session_last_code(const struct msrpgw_session *s);
MSRPGW_API unsigned msrpgw_session_queued(const struct msrpgw_session *s);
MSRPGW_API void *msrpgw_session_user_data(const struct msrpgw_session *s);

/* ---- an incoming message (valid during the handlers that get it) ---- */

MSRPGW_API const char *msrpgw_message_id(const struct msrpgw_message *m);
MSRPGW_API const char *msrpgw_message_content_type(const struct msrpgw_message *m);
/* Total size, or MSRPGW_UNKNOWN_SIZE while the sender said '*'. */
#define MSRPGW_UNKNOWN_SIZE UINT64_MAX
MSRPGW_API uint64_t msrpgw_message_total(const struct msrpgw_message *m);
/* Distinct bytes received so far. */
MSRPGW_API uint64_t msrpgw_message_received(const struct msrpgw_message *m);
MSRPGW_API void msrpgw_message_set_data(struct msrpgw_message *m, void *data);
MSRPGW_API void *msrpgw_message_data(const struct msrpgw_message *m);

#ifdef __cplusplus
}
#endif

#endif
