/*
 * conn.h: a TCP (or TLS over TCP) connection on one loop.
 *
 * Receive: one multishot recv into the loop's provided-buffer ring; each
 * completion calls on_data(conn, p, n, buf) -- see buf.h for keeping the
 * bytes. For TLS connections the slice is decrypted plaintext, otherwise
 * the received bytes; the upper layer does not see the difference.
 *
 * Send: an ordered queue of segments per connection. Each segment is
 * (pointer, length) with an optional buffer reference, released when the
 * bytes have left (after SEND_ZC's notification for zero-copy sends), and an
 * optional completion callback. Partial sends continue where they stopped;
 * one send op is in flight per connection, so order is preserved. Segments
 * of at least ur_loop_config.zc_threshold bytes go out with SEND_ZC, smaller
 * ones are gathered into one sendmsg.
 *
 * Backpressure: ur_conn_pending() is the number of queued, unsent bytes.
 * When it reaches ur_loop_config.conn_mem_ceiling, ur_conn_over_ceiling()
 * says so until it falls under conn_low_watermark, which calls on_drain.
 * Sends are never refused for being over the ceiling: a producer watches
 * ur_conn_pending() (or ur_conn_over_ceiling()), pauses its own source
 * (ur_conn_pause_read, or the relay's GW_MCONN_STALL) and resumes it from
 * the sink's on_drain. A
 * send that would take the queue past ur_loop_config.conn_hard_limit (when
 * set) closes the connection instead: the send returns -ENOBUFS and
 * on_close gets -ENOBUFS.
 *
 * Lifetime: on_close is called exactly once, after every op of the
 * connection has completed; the struct is freed right after on_close
 * returns. ur_conn_close() may be called from any callback, including the
 * connection's own; the conn stays valid (but inert) until on_close.
 */
#ifndef UR_CONN_H
#define UR_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct ur_loop;
struct ur_conn;
struct ur_buf;
struct ur_tls_ctx;

struct ur_conn_ops {
    /*
     * The connection is usable: outbound connect (and TLS handshake)
     * finished, or an adopted socket (after its TLS handshake, if any).
     * Called once, never from inside the creating call. err < 0 (-ETIMEDOUT,
     * -ECONNREFUSED, -EKEYREJECTED for a certificate that fails verification,
     * -EPROTO for other TLS failures): on_close follows with the same err.
     */
    void (*on_open)(struct ur_conn *c, int err);
    /* Received bytes; never called while reading is paused or after close. */
    void (*on_data)(struct ur_conn *c, const uint8_t *p, size_t n, struct ur_buf *buf);
    /* Pending bytes fell under the low watermark after reaching the ceiling. */
    void (*on_drain)(struct ur_conn *c);
    /* Exactly once. err: 0 = peer closed cleanly or ur_conn_close(), else
     * -errno / TLS error. Queued sends have already failed with -ECANCELED. */
    void (*on_close)(struct ur_conn *c, int err);
};

/* Send completion: err 0 when every byte of the segment was handed to the
 * kernel, else -errno (-ECANCELED when the conn closed first). */
typedef void (*ur_send_fn)(struct ur_conn *c, void *arg, int err);

/*
 * Wraps a connected socket (e.g. from ur_accept_fn) on loop. tls = NULL for
 * plain TCP, else a server context (handshake as server). Takes ownership of
 * fd, even on error. 0 or -errno.
 */
int ur_conn_adopt(struct ur_loop *loop, int fd, struct ur_tls_ctx *tls,
                  const struct ur_conn_ops *ops, void *ud, struct ur_conn **out);

/*
 * Connects asynchronously to addr, failing with -ETIMEDOUT after
 * timeout_ms (0 = no timeout). tls = NULL for plain TCP, else a client
 * context; server_name (may be NULL) is sent as SNI and checked against the
 * certificate unless the context is insecure. Result via on_open. *out is
 * valid at once, so sends may be queued before the connection is up.
 */
int ur_conn_connect(struct ur_loop *loop, const struct sockaddr *addr, socklen_t len,
                    unsigned timeout_ms, struct ur_tls_ctx *tls, const char *server_name,
                    const struct ur_conn_ops *ops, void *ud, struct ur_conn **out);

/*
 * The same to host:port, where host is an address ("127.0.0.1", "::1") or
 * a name: then it is resolved on the loop (dns.h) and its addresses tried
 * in turn (IPv6 first, 250 ms each but the last) within timeout_ms in all;
 * a failed look-up fails the connection (on_open) with a UR_DNS_E_* code. With TLS, server_name NULL means host: SNI and the
 * certificate check use the name, never the address. *out is valid at once.
 */
int ur_conn_connect_host(struct ur_loop *loop, const char *host, uint16_t port,
                         unsigned timeout_ms, struct ur_tls_ctx *tls, const char *server_name,
                         const struct ur_conn_ops *ops, void *ud, struct ur_conn **out);

/*
 * Destination filter for a connection made by name (ur_conn_connect_host):
 * each resolved address (port set) is tried only when fn(arg, addr)
 * returns true; when none is left the connection fails with -EACCES.
 * Set it right after connecting (names resolve later, on the loop);
 * numeric hosts are the caller's to check before connecting.
 */
typedef bool (*ur_addr_filter_fn)(void *arg, const struct sockaddr *addr);
void ur_conn_set_addr_filter(struct ur_conn *c, ur_addr_filter_fn fn, void *arg);

/*
 * Queues n bytes at p. buf (may be NULL): a buffer the bytes live in; the
 * queue takes its own reference and drops it once the bytes are sent --
 * except when three quarters of the loop's receive ring are already held
 * and done is NULL: the bytes are then copied and buf is not kept, so
 * slow readers cannot starve the ring (counted in ur_loop_stats).
 * Otherwise p must stay valid until done runs (done may be NULL when p is
 * static or owned elsewhere for long enough). 0 or -ENOMEM / -EPIPE (closing).
 * On error done is not called and no reference is taken.
 */
int ur_conn_send(struct ur_conn *c, const void *p, size_t n, struct ur_buf *buf,
                 ur_send_fn done, void *arg);

/* Copies n bytes into the queue: p may be reused at once (headers, small
 * responses). 0 or -ENOMEM / -EPIPE. */
int ur_conn_send_copy(struct ur_conn *c, const void *p, size_t n);

/* Queued, not yet sent bytes (including TLS ciphertext not yet sent). */
size_t ur_conn_pending(const struct ur_conn *c);
/* 1 from the moment pending reached conn_mem_ceiling until it fell under
 * conn_low_watermark (the on_drain that ends it is guaranteed). */
int ur_conn_over_ceiling(const struct ur_conn *c);

/*
 * Stops receiving: cancels the multishot recv, so unread data waits in the
 * kernel's socket buffer and TCP flow control pushes back on the peer.
 * Completions already in flight are kept (with their buffers) and delivered
 * after resume. Pauses nest: reading restarts when every pauser has
 * resumed.
 */
void ur_conn_pause_read(struct ur_conn *c);
void ur_conn_resume_read(struct ur_conn *c);
int ur_conn_read_paused(const struct ur_conn *c);


/*
 * Handing a connection to another loop (the core that owns its session).
 *
 * ur_conn_detach() stops reading (the recv is cancelled; the socket is not
 * shut down), lets the queued sends go out, and once no op of the conn is
 * in flight calls fn(c, h, arg) -- instead of on_close -- with a handoff
 * holding the socket, its TLS state (keys, sequence numbers, records
 * wolfSSL has buffered) and every byte received but not yet delivered.
 * pre (may be NULL) is application data the caller was already given and
 * wants the next owner to get again first; it is copied. The conn is freed
 * when fn returns. If the connection fails first, on_close(c, err) is
 * called as usual and fn never is. -EBUSY while TLS application data waits
 * for the handshake, -EPIPE when closing, -ENOMEM.
 *
 * ur_conn_adopt_handoff() wraps a handoff on loop (any thread: the
 * handoff is plain memory, post it with ur_loop_post): on_open follows as
 * for ur_conn_adopt() (after the handshake, if it was not finished), then
 * on_data with pre and the unread bytes, in stream order. It takes
 * ownership of h, even on error. ur_handoff_free() closes a handoff that
 * will not be adopted.
 */
struct ur_handoff;
typedef void (*ur_detach_fn)(struct ur_conn *c, struct ur_handoff *h, void *arg);
int ur_conn_detach(struct ur_conn *c, const void *pre, size_t pre_n, ur_detach_fn fn,
                   void *arg);
int ur_conn_adopt_handoff(struct ur_loop *loop, struct ur_handoff *h,
                          const struct ur_conn_ops *ops, void *ud, struct ur_conn **out);
void ur_handoff_free(struct ur_handoff *h);
int ur_handoff_fd(const struct ur_handoff *h);

/* Closes now: cancels in-flight ops, fails queued sends with -ECANCELED,
 * then on_close(c, 0). Idempotent. */
void ur_conn_close(struct ur_conn *c);

/* Closes once the send queue is empty (new sends fail with -EPIPE). */
void ur_conn_close_after_flush(struct ur_conn *c);

void *ur_conn_data(const struct ur_conn *c);
void ur_conn_set_data(struct ur_conn *c, void *ud);
struct ur_loop *ur_conn_loop(const struct ur_conn *c);
int ur_conn_fd(const struct ur_conn *c);
int ur_conn_is_tls(const struct ur_conn *c);

/* Per-connection counters. */
struct ur_conn_stats {
    uint64_t bytes_in;     /* application bytes delivered to on_data */
    uint64_t bytes_out;    /* application bytes whose send completed */
    uint64_t pauses;       /* times reading was paused (user or backpressure) */
    size_t pending_max;    /* high-water mark of ur_conn_pending() */
};
void ur_conn_get_stats(const struct ur_conn *c, struct ur_conn_stats *st);

#endif
