/*
 * conn_internal.h: private to uring/. struct ur_conn, its send segments and
 * the helpers shared by conn.c (lifecycle, receive, backpressure), send.c
 * (send queue) and tls.c (wolfSSL glue).
 */
#ifndef UR_CONN_INTERNAL_H
#define UR_CONN_INTERNAL_H

#include "uring/dns.h"
#include <sys/socket.h>
#include <sys/uio.h>

#include "uring/internal.h"
#include "uring/tls.h"

#define UR_SEND_IOV_MAX 64

struct ur_seg {
    struct ur_seg *next;
    struct ur_conn *c;
    const uint8_t *p;
    size_t n, off;
    struct ur_buf *buf;     /* reference dropped when finished */
    ur_send_fn done;
    void *arg;
    void *owned;            /* heap copy freed when finished */
    struct ur_bufcache *owned_cache; /* ...or returned there (uring/pool.h) */
    size_t cap;             /* bytes allocated at owned (small copies share it) */
    size_t app_bytes;       /* application bytes this seg completes */
    uint32_t zc_wait;       /* SEND_ZC notifications outstanding */
    uint8_t sent;           /* every byte handed to the kernel */
};

struct ur_stash {           /* received while paused, delivered on resume */
    struct ur_stash *next;
    struct ur_buf *buf;
    const uint8_t *p;
    size_t n;
    uint8_t plain;          /* STASH_* below */
};
enum {
    STASH_WIRE = 0,         /* received bytes: through TLS and WebSocket */
    STASH_APP = 1,          /* application bytes: straight to on_data */
    STASH_WS = 2,           /* TLS plaintext: through WebSocket only */
};

struct ur_handoff {         /* ur_conn_detach -> ur_conn_adopt_handoff */
    int fd;
    int eof;                /* the peer had finished sending */
    struct ur_tls_conn *tls;
    struct ur_ws_conn *ws;
    uint8_t *ws_held;       /* TLS plaintext the WebSocket decoder had not read */
    size_t ws_held_n;
    uint8_t *pre;           /* application bytes to deliver first */
    size_t pre_n;
    uint8_t *raw;           /* received, not yet delivered (ciphertext for TLS) */
    size_t raw_n;
    ur_detach_fn fn;
    void *arg;
};

enum ur_conn_flag {
    CF_OPEN = 1u << 0,          /* TCP connected: sends may go out */
    CF_OPEN_NOTIFIED = 1u << 1, /* on_open delivered */
    CF_OPEN_PENDING = 1u << 2,  /* on_open(0) to deliver from the loop */
    CF_CLOSING = 1u << 3,
    CF_FLUSH_CLOSE = 1u << 4,   /* close when the queue empties */
    CF_RECV_ARMED = 1u << 5,
    CF_RECV_CANCEL = 1u << 6,   /* cancel of the recv submitted */
    CF_STARVED = 1u << 7,       /* recv stopped on ENOBUFS */
    CF_SEND_INFLIGHT = 1u << 8,
    CF_DEFERRED = 1u << 9,      /* on loop->deferred */
    CF_OVER = 1u << 10,         /* pending reached the ceiling */
    CF_TLS_PUMP = 1u << 11,     /* wolfSSL may hold plaintext: read it */
    CF_CONNECTING = 1u << 12,
    CF_EOF = 1u << 13,          /* peer finished sending; close once what was
                                   received has been delivered */
    CF_DETACHING = 1u << 14,    /* ur_conn_detach(): hand off once idle */
    CF_RESOLVING = 1u << 15,    /* connect by name: look-up pending, no fd */
};

struct ur_tls_conn;
struct ur_ws_conn;

struct ur_conn {
    struct ur_loop *loop;
    struct ur_conn *next, *prev;      /* loop->conns */
    struct ur_conn *defer_next;
    struct ur_conn *starve_next;
    int fd;
    unsigned flags;
    int inflight;                     /* ops whose CQEs are still due */
    int close_err;
    unsigned pause_cnt;
    struct ur_conn_ops ops;
    void *ud;

    struct ur_seg *sq_head, *sq_tail; /* wire queue */
    struct ur_seg *app_head, *app_tail; /* TLS plaintext before the handshake */
    size_t pending;
    struct ur_stash *st_head, *st_tail;
    struct ur_buf *rbuf;              /* recv buffer without a buffer ring */

    struct msghdr msg;
    struct iovec iov[UR_SEND_IOV_MAX];
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct __kernel_timespec connect_ts;
    /* Connecting by name (ur_conn_connect_host): the look-up, then each
     * address in turn until one accepts or the deadline passes. */
    struct ur_dns_wait dns;
    struct ur_dns_addrs *addrs;       /* malloc'd once resolved */
    unsigned addr_next;
    uint16_t port;
    uint64_t connect_deadline_ns;
    ur_addr_filter_fn addr_filter;    /* NULL = every resolved address */
    void *addr_filter_arg;

    struct ur_tls_conn *tls;
    struct ur_ws_conn *ws;            /* WebSocket transform (ws.c), or NULL */
    int flush_err;                    /* on_close's err after CF_FLUSH_CLOSE */
    struct ur_handoff *handoff;       /* being detached */
    struct ur_seg *tls_last;          /* last ciphertext seg appended */
    struct ur_conn_stats stats;
};

/* conn.c */
void ur_conn_defer(struct ur_conn *c);
void ur_conn_fail(struct ur_conn *c, int err);
void ur_conn_notify_open(struct ur_conn *c, int err);
void ur_conn_check_ceiling(struct ur_conn *c);
void ur_conn_check_drain(struct ur_conn *c);
/* TLS plaintext (or plain received bytes): through WebSocket if any. */
size_t ur_conn_deliver_plain(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n);
/* Application bytes: counted and handed to on_data. */
size_t ur_conn_deliver_app(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n);
/* Closes once the queue is empty, on_close then getting err. */
void ur_conn_fail_after_flush(struct ur_conn *c, int err);

/* send.c */
struct ur_seg *ur_seg_new(struct ur_conn *c);
void ur_seg_finish(struct ur_conn *c, struct ur_seg *s, int err);
/* Gives up the segment's own buffer: back to its cache, or freed. */
void ur_seg_drop_owned(struct ur_seg *s);
void ur_conn_wire_append(struct ur_conn *c, struct ur_seg *s);
void ur_conn_flush(struct ur_conn *c);
void ur_send_cqe(struct ur_conn *c, enum ur_tag tag, struct ur_seg *s,
                 const struct io_uring_cqe *cqe);
void ur_conn_fail_queues(struct ur_conn *c);
/* ur_conn_send / ur_conn_send_copy below any WebSocket framing. */
int ur_conn_send_raw(struct ur_conn *c, const void *p, size_t n, struct ur_buf *buf,
                     ur_send_fn done, void *arg);
int ur_conn_send_copy_raw(struct ur_conn *c, const void *p, size_t n);

/* ws.c: the WebSocket transform (ws.h) */
/* Decodes n received bytes (TLS plaintext for wss), delivering payload;
 * what a pause leaves undecoded is held (ur_ws_holding). Returns n. */
size_t ur_ws_input(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n);
int ur_ws_holding(const struct ur_conn *c);
void ur_ws_pump(struct ur_conn *c);          /* decodes held bytes (not paused) */
int ur_ws_ready(const struct ur_conn *c);    /* 101 sent */
/* The frame header of an n-byte data send (server: unmasked), queued raw. */
int ur_ws_frame(struct ur_conn *c, size_t n, uint8_t hdr[14], size_t *hdr_n);
void ur_ws_shutdown(struct ur_conn *c);      /* queue a close (1000) */
void ur_ws_conn_free(struct ur_conn *c);
/* Moving it with a handoff: bytes held undecoded come back as a malloc'd
 * copy (*held, NULL when none; -ENOMEM leaves *held_n set, *held NULL). */
struct ur_ws_conn *ur_ws_conn_take(struct ur_conn *c, uint8_t **held, size_t *held_n);
void ur_ws_conn_give(struct ur_conn *c, struct ur_ws_conn *w);
void ur_ws_conn_destroy(struct ur_ws_conn *w);

/* tls.c */
int ur_tls_conn_new(struct ur_conn *c, struct ur_tls_ctx *ctx, const char *server_name);
void ur_tls_conn_free(struct ur_conn *c);
void ur_tls_start(struct ur_conn *c);      /* client: send the ClientHello */
size_t ur_tls_input(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n);
void ur_tls_send(struct ur_conn *c, struct ur_seg *s);
void ur_tls_shutdown(struct ur_conn *c);   /* queue close_notify */
/* Encrypts the plaintext staged into a record (end of the loop turn). */
void ur_tls_flush(struct ur_conn *c);
/* Fails the sends waiting in the staged record (-ECANCELED); drops it. */
void ur_tls_fail_staged(struct ur_conn *c);
int ur_tls_ready(const struct ur_conn *c);
/* Moving TLS state between conns (ur_conn_detach / ur_conn_adopt_handoff). */
struct ur_tls_conn *ur_tls_conn_take(struct ur_conn *c);
void ur_tls_conn_give(struct ur_conn *c, struct ur_tls_conn *t);
void ur_tls_conn_destroy(struct ur_tls_conn *t);

#endif
