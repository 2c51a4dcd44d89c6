/*
 * session_int.h: the session's private structures, shared by the files
 * that implement it. Not for other modules. The core: session.c (lifetime),
 * session_in.c (frames in), session_tx.c (transactions, frames out). Above
 * it, attaching hooks (struct gw_session_hook) instead of being called by
 * name: filequeue.c (outgoing messages), relayconn.c (RFC 4976 AUTH with
 * the session's relay), endpoint.c (server, connector, acceptor: where
 * sessions are made).
 */
#ifndef GW_SESSION_INT_H
#define GW_SESSION_INT_H

#include <stdarg.h>

#include "gateway/session/endpoint.h"
#include "gateway/session/session.h"
#include "proto/ranges.h"
#include "proto/tid.h"
#include "uring/timer.h"

#define GW_TID_LEN MSRP_TID_DEFAULT_LEN
/* Room in front of a chunk body for its head (two full paths + headers),
 * and after it for the end-line. */
#define GW_HEAD_RESERVE (2 * GW_PATH_TEXT_MAX + 1024)
#define GW_TAIL_RESERVE 64
#define GW_IN_RANGES 32

enum gw_state {
    GW_S_WAIT_CONN = 0, /* acceptor: waiting for a connection on the server */
    GW_S_CONNECTING,    /* connector / relay: TCP (+TLS) connect running */
    GW_S_AUTH,          /* AUTH round with our relay */
    GW_S_BINDING,       /* empty SEND sent, waiting for its 200 */
    GW_S_BOUND,
    GW_S_CLOSED,        /* connection gone; freeing when reads are done */
};

enum gw_tx_kind {
    GW_TX_CHUNK = 0, /* a chunk of a queued message */
    GW_TX_USER,      /* gw_session_send_chunk / binding SEND */
    GW_TX_AUTH,
};

struct gw_tx {
    struct gw_tx *next, *prev;
    struct gw_session *s;
    enum gw_tx_kind kind;
    char tid[GW_TID_LEN];
    enum msrp_report fr;
    struct ur_timer timer;
    struct gw_msg_out *msg; /* CHUNK */
    gw_resp_fn resp;        /* USER */
    void *resp_arg;
    uint8_t *buf;           /* frame bytes while the send runs */
    bool buf_pooled;        /* buf is a chunk buffer (gw_tx_alloc_buf) */
    bool sending;
    bool reading;           /* CHUNK: its file read is in flight */
    bool resolved;
    bool holds_slot;
};

struct gw_msg_out {
    struct gw_msg_out *next;
    struct gw_session *s;
    int fd;
    bool own_fd;
    uint8_t *mem;           /* memory message (owned copy) */
    uint64_t size;
    uint64_t pos;           /* next byte to read */
    uint64_t sent;          /* bytes handed to the connection */
    char message_id[GW_MSGID_MAX + 1];
    char content_type[GW_CTYPE_MAX + 1];
    enum msrp_report fr, sr;
    unsigned inflight;      /* chunk transactions not resolved */
    bool reading;
    bool started;           /* a chunk of it went out */
    bool aborted;           /* abort asked: next chunk carries '#' */
    bool finished;          /* last chunk ('$' or '#') queued, or failed */
    bool zombie;            /* done() ran; freed when reads/txs are over */
    int io_err;             /* reading the file failed */
    int result;             /* 0 while undecided */
    void (*tap)(void *arg, const char *p, size_t n);
    gw_sent_fn done;
    void *arg;
};

struct gw_in_slot {
    bool used;
    struct gw_msg_in m;
    bool last_seen;          /* a '$' chunk arrived */
    uint64_t next_pos;       /* for chunks without Byte-Range */
    struct msrp_ranges ranges;
    struct msrp_range store[GW_IN_RANGES];
};

/* What the chunk being received is for. */
enum gw_in_mode {
    GW_IN_IDLE = 0,
    GW_IN_DELIVER,           /* a SEND whose body goes to on_data */
    GW_IN_DISCARD,           /* answered or dropped at its head */
    GW_IN_BIND,              /* an empty SEND: binding or keep-alive */
};

/* The chunk being received. */
struct gw_in_cur {
    enum gw_in_mode mode;
    struct gw_in_slot *slot;
    uint64_t start;          /* absolute position of body byte 0 */
    uint64_t len;            /* body bytes seen */
    uint16_t code;           /* response at the end (0: 200) */
};

struct gw_relay_state;

/*
 * A layer above the session core (filequeue.c, endpoint.c, relayconn.c)
 * attaches a hook to the sessions it serves; the core (session.c,
 * session_in.c, session_tx.c) calls the hooks and never those layers by
 * name, so the core depends on nothing above it. Any member may be NULL.
 */
struct gw_session_hook {
    /* The connection is up: true when the hook takes the opening over
     * (relayconn: AUTH first), else the core binds. */
    bool (*on_open)(struct gw_session *s);
    /* The response to a transaction of kind GW_TX_AUTH. */
    void (*on_auth_response)(struct gw_session *s, struct gw_tx *tx, const struct msrp_head *h);
    /* Room in the window (or the session became bound): send more. */
    void (*on_room)(struct gw_session *s);
    /* A transaction of kind GW_TX_CHUNK resolved with code. */
    void (*on_chunk_done)(struct gw_session *s, struct gw_tx *tx, int code);
    /* Everything queued fails with code (close, abort). */
    void (*on_abort)(struct gw_session *s, int code);
    /* The session ends (may be called more than once): let go of it. */
    void (*detach)(struct gw_session *s);
};
#define GW_SESSION_HOOKS 3

struct gw_session {
    struct ur_loop *loop;
    struct gw_session_config cfg;
    char accept_types[256];
    const struct gw_session_ops *ops;
    void *ud;
    gw_session_log_fn logfn;
    void *logud;

    struct gw_mconn *m;
    enum gw_state state;
    bool ready_done;      /* on_ready was called */
    bool draining;        /* shutdown(drain) asked */
    bool closing;         /* close asked or connection gone */
    bool active;          /* connector: we bind with an empty SEND */
    bool flush_closing;   /* close_after_flush asked, hard close timer armed */
    int close_err;
    int last_code;        /* see gw_session_last_code */
    unsigned reads;       /* file reads in flight (keep s alive) */
    bool in_pump;

    struct gw_path local;      /* our URI */
    struct gw_path local_full; /* relay Use-Path + our URI */
    struct gw_path remote;     /* expected remote path; empty = learn */
    struct gw_path to;         /* To-Path we send to */
    char local_host_hint[64];  /* connector without a local URI */

    struct ur_timer bind_timer;
    struct ur_timer close_timer;
    struct msrp_tid_gen tidgen;

    struct gw_tx *txs;         /* unresolved or sending transactions */
    unsigned slots;            /* window slots in use */

    struct gw_msg_out *q_head, *q_tail, *rr;
    unsigned n_queued;
    uint8_t **free_bufs;       /* chunk buffers kept for reuse */
    unsigned n_free_bufs;

    struct gw_in_slot *in;     /* cfg.max_in_messages slots */
    struct gw_in_cur cur;

    struct gw_server *server;  /* acceptor: registered there */
    struct gw_session *sv_next;

    struct gw_relay_state *relay;
    struct ur_tls_ctx *tls;    /* client context for the connector */

    const struct gw_session_hook *hooks[GW_SESSION_HOOKS];
    unsigned n_hooks;
};

/* session.c */
int gw_session_new(struct ur_loop *loop, const struct gw_session_config *cfg,
                   const struct gw_session_ops *ops, void *ud, struct gw_session **out);
extern const struct gw_mconn_ops gw_session_mconn_ops;
void gw_session_slog(struct gw_session *s, enum gw_slog kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gw_session_set_ready(struct gw_session *s, int err);
void gw_session_fail(struct gw_session *s, int err);
int gw_session_on_head(struct gw_mconn *m, const struct msrp_head *h);
void gw_session_next_tid(struct gw_session *s, char tid[GW_TID_LEN]);
struct gw_tx *gw_tx_new(struct gw_session *s, enum gw_tx_kind kind, enum msrp_report fr);
int gw_tx_send(struct gw_tx *tx, uint8_t *buf, const void *p, size_t n);
void gw_tx_resolve(struct gw_tx *tx, int code);
void gw_tx_maybe_free(struct gw_tx *tx);
void gw_tx_free_buf(struct gw_session *s, uint8_t *buf);
uint8_t *gw_tx_alloc_buf(struct gw_session *s);
void gw_session_maybe_finish(struct gw_session *s);
int gw_session_bind_send(struct gw_session *s);
int gw_session_build_send(struct gw_session *s, uint8_t *buf, size_t n, char tid[GW_TID_LEN],
                          const char *message_id, const struct msrp_byte_range *br,
                          const char *ctype, enum msrp_report fr, enum msrp_report sr,
                          char flag, uint8_t **frame, size_t *len, size_t *head_len);
void gw_session_log_out(struct gw_session *s, const uint8_t *head, size_t n);
void gw_session_read_done(struct gw_session *s);
/* session.c: everything ends here, with or without a connection. */
void gw_session_finalize(struct gw_session *s, int err);
/* Attaches h (static storage; again is a no-op): 0, or -ENOSPC. */
int gw_session_hook_add(struct gw_session *s, const struct gw_session_hook *h);
/* Calls member fn of every hook, in the order they were added. */
#define GW_SESSION_HOOKS_CALL(s, fn, ...)                                  \
    do {                                                                   \
        for (unsigned hook_i_ = 0; hook_i_ < (s)->n_hooks; hook_i_++)     \
            if ((s)->hooks[hook_i_]->fn)                                   \
                (s)->hooks[hook_i_]->fn(__VA_ARGS__);                      \
    } while (0)
/* session_tx.c: the unresolved transaction with this tid, or NULL. */
struct gw_tx *gw_tx_find(struct gw_session *s, struct msrp_slice tid);

/* Does h's From-Path match what RFC 4975/4976 predict for a request from
 * our peer: reverse(our Use-Path) + the remote path (while the remote path
 * is unknown, only the Use-Path part; report: a leading part of it, since a
 * relay on the way may generate a REPORT)? */
bool gw_session_from_path_ok(const struct gw_session *s, const struct msrp_head *h, bool report);

/* Above the core, each attaching its hook (see struct gw_session_hook).
 * filequeue.c: the outgoing queue, attached by the first message queued.
 * endpoint.c: server, connector, acceptor (they create sessions).
 * relayconn.c: RFC 4976 AUTH with the session's relay, started by
 * endpoint.c. */
int gw_session_relay_start(struct gw_session *s, const struct gw_relay_settings *rs, int receiver);

#endif
