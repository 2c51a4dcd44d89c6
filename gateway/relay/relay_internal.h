/*
 * relay_internal.h: what the relay's files share (not a public API).
 *
 *   relay.c         the relay and its cores: defaults, listeners, drain,
 *                   the relay's ids and URIs
 *   relay_conn.c    connections, their timers, frame dispatch, accept and
 *                   adoption
 *   relay_route.c   SEND/REPORT routing by To-Path, the relay's answers
 *   relay_peer.c    next-hop connections, destination policy, hops between
 *                   cores
 *   relay_session.c reservations and their accounting, admin list and kill
 *   relay_auth.c    AUTH: challenge, verification, reservations
 *   relay_fwd.c    chunks and pieces: streaming, splitting, responses,
 *                  timeouts, Failure REPORTs
 *   relay_steer.c  accept-time steering of connections to the owner core
 *   relay_learn.c  senders without a reservation, found by the URI they
 *                  arrived with (reverse traffic)
 *   relay_table.c  small string-keyed hash tables (sessions, tids, peers)
 *   relay_wire.c   pure helpers (see relay.h)
 *
 * Ownership: a struct rconn belongs to its gw_mconn (freed in on_close). A
 * struct chunk (one incoming request being forwarded) is referenced by its
 * upstream conn (up->cur while its body streams), by the next hop's write
 * slot or wait queue, and by its outstanding pieces; it is freed when none
 * of those remain. A struct piece (one outgoing transaction) lives in the
 * core's tid table until its response, its timeout, or the loss of its
 * connection.
 */
#ifndef GW_RELAY_INTERNAL_H
#define GW_RELAY_INTERNAL_H

#include <stdatomic.h>

#include "gateway/obs/accounting.h"
#include "gateway/obs/log.h"
#include "gateway/wire/mconn.h"
#include "gateway/obs/metrics.h"
#include "gateway/relay/relay.h"
#include "proto/digest.h"
#include "proto/tid.h"
#include "uring/log.h"
#include "uring/timer.h"
#include "uring/ws.h"

#define RELAY_TID_LEN 16
#define GW_USER_NAME_CAP 129
#define RELAY_KEY_MAX 300 /* authority keys "scheme://host:port" */
#define RELAY_REFUSED_MAX 4      /* refused messages remembered per connection */
#define RELAY_REFUSED_ID_CAP 64   /* bytes of a Message-ID remembered (longer: not) */

/* --- hash table (relay_table.c) ----------------------------------------- */

struct rnode {
    struct rnode *next;
    const char *key; /* points into the owning object */
    size_t klen;
    size_t hash;     /* of key, set by relay_table_put: del and grow reuse it */
};

struct rtable {
    struct rnode **b;
    size_t nb;      /* power of two */
    size_t n;
    /* Every key put is one of our own random tids (the pieces table):
     * peers only look keys up, so a multiply-mix of the key's bytes spreads
     * the buckets as well as SipHash, at a tenth of its cost. Set after
     * relay_table_init. */
    bool own_keys;
};

int relay_table_init(struct rtable *t, size_t nb);
/* SipHash-2-4 (Aumasson & Bernstein) of data under key: the tables' hash. */
uint64_t relay_siphash24(const uint8_t key[16], const void *data, size_t n);
void relay_table_free(struct rtable *t);
/* Never fails: when the table cannot grow, its chains get longer. */
void relay_table_put(struct rtable *t, struct rnode *n);
struct rnode *relay_table_get(const struct rtable *t, const char *key, size_t klen);
void relay_table_del(struct rtable *t, struct rnode *n);

#define RCONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* --- objects ------------------------------------------------------------ */

struct gw_relay_core;
struct steer;
struct tsteer;
struct chunk;
struct piece;
struct rlearn;
struct anchor_leg;

/* The policy limits in force for a user's reservation (relay_limits.c):
 * the user's own where set, else the global ones. */
struct relay_lim {
    bool set;                 /* taken at an AUTH */
    bool own_types;           /* types is the user's; else the global list */
    uint32_t max_res;         /* 0 = unlimited */
    uint64_t max_msg;         /* 0 = no limit */
    uint64_t bandwidth;       /* 0 = unlimited */
    char types[GW_RELAY_USER_TYPES_MAX + 1];
};

struct rconn {
    struct gw_mconn *m;
    struct gw_relay_core *core;
    struct rconn *prev, *next;  /* core's list of all conns */
    bool tls;
    bool outgoing;
    bool open;                  /* outgoing: connected */
    bool closing;
    bool authed;
    bool reserved;              /* sess_node in the session table */
    bool resume_pending;
    /* Routing (relay.c route): counted in gw_relay.n_inbound (released at
     * close); an outgoing hop to our own listener (another core); an
     * outgoing connection whose every address the destination policy
     * denied (its chunks get 403). */
    bool counted;
    bool self_hop;
    bool dest_denied;
    uint64_t frames;

    /* Session id of this connection's reservation (after AUTH) and the
     * client URI that the URI after it in To-Path must equal to reach it. */
    char sessid[GW_RELAY_SESSID_LEN + 1];
    struct rnode sess_node;
    char *client_uri;           /* malloc'd text */
    struct msrp_uri client;     /* parsed from client_uri */
    /* From-Path[0] URIs that arrived on this connection (relay_learn.c),
     * most recently used first. */
    struct rlearn *learned, *learned_tail;
    uint32_t n_learned;
    char user[GW_USER_NAME_CAP];

    /* AUTH (relay_auth.c): auth_id (0 = none yet) goes into the salt of
     * every nonce challenged on this connection, so a nonce is usable only
     * here; auth_chal counts those challenges. res_charged: the
     * reservation counts against user (max_reservations_per_user). */
    uint32_t auth_id;
    uint32_t auth_chal;
    bool res_charged;

    /* Outgoing: authority key in the core's peers table. */
    char key[RELAY_KEY_MAX];
    struct rnode peer_node;
    bool in_peers;

    /* Receiving side: the chunk this connection's current frame feeds. */
    struct chunk *cur;
    bool cur_ignore;            /* current frame is answered/ignored locally */

    /* Sending side: the chunk that owns this connection's frame slot, and
     * chunks waiting for it (FIFO). */
    struct chunk *writer;
    struct chunk *wq_head, *wq_tail;

    /* Pieces written on this conn awaiting a response; chunks that came
     * in on this conn (to forget their upstream when it closes). */
    struct piece *pieces;
    struct chunk *ups;
    uint32_t n_ups;             /* chunks in ups */
    bool ups_full;              /* reading stopped at max_chunks_in_flight */

    /* Anchored session (relay_anchor.c): the leg this connection carries;
     * an outbound leg is "binding" from its empty SEND to that SEND's 200,
     * and nothing else is written on it meanwhile. */
    struct anchor_leg *leg;
    bool binding;
    bool head_again;            /* the head in progress is delivered again (GW_MCONN_AGAIN) */
    /* The reservation a look-up of this head found (relay_session_owner):
     * its limits and its route ask for the same one. Valid for one head;
     * rc_on_head clears it. */
    const char *memo_sid;
    size_t memo_sid_n;
    struct rconn *memo_owner;
    char bind_tid[RELAY_TID_LEN];
    struct ur_timer bind_timer;

    struct ur_timer kick;       /* deferred resume of this conn */
    struct ur_timer idle;
    uint64_t last_use_ns;

    /* Timeouts of inbound connections, checked by the core's sweep
     * (relay.c): bound = its first request done (AUTH granted, a chunk
     * routed, an anchored leg); in_body = between on_head and on_end;
     * head_mark_ns = first sweep that saw the header section of frame
     * head_mark_frame in progress (0 = none); io_seen = bytes in + out at
     * the last sweep (a change is traffic). */
    bool bound;
    bool in_body;
    uint64_t born_ns;
    uint64_t head_mark_ns;
    uint64_t head_mark_frame;
    uint64_t io_seen;
    /* The incoming chunk's progress (relay_fwd.c, relay_fwd_stall_check): bytes
     * received at the last check that saw progress, and when. */
    struct ur_timer stall;
    uint64_t stall_rx;
    uint64_t stall_since_ns;
    /* Policy (relay_limits.c): the Message-IDs of this sender's messages
     * refused last (their later chunks get 413), and session_bandwidth
     * pacing -- pace_due_ns is when the body bytes read so far are paid
     * for; reading waits for pace until then. */
    char refused[RELAY_REFUSED_MAX][RELAY_REFUSED_ID_CAP];
    uint8_t refused_n[RELAY_REFUSED_MAX];
    uint8_t refused_next;
    bool pace_on;               /* this frame's body is paced */
    uint64_t pace_due_ns;
    struct ur_timer pace;
    /* Per-user policy (relay_limits.c): the limits of the user this
     * connection AUTHed as, taken at AUTH and kept for the reservation's
     * life (a reload applies to later AUTHs); frame_max_msg and pace_rate
     * are the ones in force for the SEND being received. */
    struct relay_lim lim;
    uint64_t frame_max_msg;
    uint64_t pace_rate;

    /* Accounting and the admin's session list (accounting.h, relay.c
     * relay_acct_*): SEND/REPORT requests forwarded from this connection
     * (chunks_in) and pieces written to it (chunks_out), their body bytes;
     * for a reservation, when it was made, and the counts when an
     * earlier reservation of the connection ended (0: none did);
     * end_reason: why it ends (NULL = the peer closed: "normal"). */
    uint64_t chunks_in, chunks_out, body_in, body_out;
    uint64_t acct_start_ms, acct_start_ns;
    uint64_t acct_base_in, acct_base_out, acct_base_chunks_in, acct_base_chunks_out;
    uint64_t acct_base_body_in, acct_base_body_out;
    const char *end_reason;
};

struct chunk {
    struct gw_relay_core *core;
    struct rconn *up, *down;
    struct chunk *wq_next;      /* in down's wait queue */
    struct chunk *up_prev, *up_next; /* in up->ups */
    enum msrp_method method;
    enum msrp_report fr;
    bool has_br;
    struct msrp_byte_range br;
    bool has_body;
    bool head_queued;           /* first piece head written */
    bool waiting;               /* queued for down's slot */
    bool drain_wait;            /* up stalled until down drains */
    bool ended;                 /* up's end-line seen */
    bool streaming;             /* up->cur == this */
    bool dead;                  /* down lost: discard the rest */
    bool answered;
    bool local_fail;            /* status made up here (timeout, lost hop) */
    bool split_range;           /* pieces get their own Byte-Range */
    bool refused;               /* policy: over max_message_size mid-chunk (413) */
    /* HEP3 with hep_body_bytes (relay_hep.c): the current piece's head,
     * captured when its first body bytes are forwarded. */
    char *hep_head;
    size_t hep_head_n;
    char flag;
    uint16_t status;            /* worst piece result so far (0 = none) */
    uint32_t pieces_out;
    uint64_t sent;              /* body bytes forwarded */
    uint64_t piece_bytes;       /* body bytes in the current piece */
    char tid[RELAY_TID_LEN];    /* current piece's tid */
    /* Copies out of the incoming head (it dies at on_end): */
    char otid[MSRP_TID_CAP];
    size_t otid_n;
    char *text;                 /* the slices below; in c's allocation (chunk_mem) */
    struct msrp_slice prev_hop; /* From-Path[0]: To-Path of our answer */
    struct msrp_slice self;     /* To-Path[0]: From-Path of our answer */
    struct msrp_slice from_path;/* whole From-Path: To-Path of a REPORT */
    struct msrp_slice message_id;
    char *head;                 /* the forwarded head, tid placeholder at 5 */
    size_t head_n;
    size_t br_off, br_len;      /* its Byte-Range line (or insertion point) */
    struct msrp_byte_range piece_br;
    /* Body bytes held back while the slot was yielded to a waiter. */
    struct ur_buf *held_buf;
    const char *held_p;
    size_t held_n;
    char held_copy[2 + 7 + MSRP_TID_CAP + 3];
};

struct piece {
    struct gw_relay_core *core;
    struct chunk *c;
    struct rconn *down;
    struct piece *prev, *next;  /* in down->pieces */
    struct rnode node;
    char tid[RELAY_TID_LEN];
    struct msrp_byte_range br;
    struct ur_timer timer;
    bool expect_200;            /* Failure-Report yes: a 200 will come */
};

struct gw_relay_stats_a {
#define GW_RELAY_STAT_AFIELD(name, help) _Atomic uint64_t name;
    GW_RELAY_STATS(GW_RELAY_STAT_AFIELD)
#undef GW_RELAY_STAT_AFIELD
    _Atomic uint64_t sessions;
    _Atomic uint64_t active_chunks;
};

/* Operator metrics (metrics.h): plain increments, this core only. */
#define MET(core, field) \
    do { if ((core)->met) (core)->met->field++; } while (0)
#define MET_ADD(core, field, v) \
    do { if ((core)->met) (core)->met->field += (v); } while (0)
#define MET_SUB(core, field, v) \
    do { if ((core)->met) (core)->met->field -= (v); } while (0)

#define RSTAT(core, name) \
    atomic_fetch_add_explicit(&(core)->stats.name, 1, memory_order_relaxed)
#define RSTAT_ADD(core, name, v) \
    atomic_fetch_add_explicit(&(core)->stats.name, (v), memory_order_relaxed)
#define RSTAT_SUB(core, name, v) \
    atomic_fetch_sub_explicit(&(core)->stats.name, (v), memory_order_relaxed)

struct gw_relay_core {
    struct gw_relay *r;
    struct gw_metrics *met;     /* this core's block, or NULL */
    struct ur_loop *loop;
    unsigned idx;
    struct ur_listener *ls[GW_RELAY_LISTEN_MAX];
    bool ls_tls[GW_RELAY_LISTEN_MAX];
    unsigned nls;
    struct msrp_tid_gen tids;
    struct rtable sessions;     /* sessid -> rconn */
    struct rtable learned;      /* URI key -> rlearn */
    struct rtable anchor_legs;  /* sessid -> anchor_leg (relay_anchor.c) */
    struct anchor *anchors;     /* anchored sessions of this core */
    struct rtable pieces;       /* tid -> piece */
    struct rtable peers;        /* authority -> outgoing rconn */
    struct rconn *conns;
    _Atomic uint32_t nconns;    /* read by gw_relay_conns() */
    uint64_t salt;
    bool draining;
    /* Accept-time steering (relay_steer.c). */
    char *peek_buf;
    struct msrp_head *peek_head;
    char *peek_scratch;
    uint32_t steering;
    struct steer *steer_list;   /* fds being peeked at */
    struct tsteer *tsteer_list; /* TLS connections collecting a first head */
    struct ur_timer sweep;      /* inbound bind/header/idle timeouts (relay.c) */
    struct relay_hep *hep;      /* HEP3 capture (relay_hep.c); NULL = off */
    struct gw_relay_stats_a stats;
};

struct gw_relay {
    struct gw_relay_config cfg;
    unsigned ncores;
    uint8_t secret[32];
    struct msrp_digest_server dsv;
    struct relay_guard *guard;  /* AUTH state shared by cores (relay_guard.c) */
    /* [tls]: "msrp[s]://HOST:PORT", rendered once: our URIs are this,
     * "/SESSID" and ";tcp", copied per chunk rather than formatted. */
    char self_pre[2][sizeof(((struct gw_relay_config *)0)->uri_host) + 32];
    size_t self_pre_n[2];       /* 0: no room (relay_self_uri fails) */
    /* WebSocket listeners' settings (uring/ws.h), read by every core's
     * ws connections for the relay's lifetime; origins point into
     * ws_origins_buf. */
    struct ur_ws_config ws;
    char ws_origins_buf[512];
    const char *ws_origins[32];
    size_t uri_host_n;          /* strlen(cfg.uri_host) */
    size_t listen_host_n[GW_RELAY_LISTEN_MAX];
    struct gw_relay_core *cores[GW_RELAY_MAX_CORES];
    _Atomic int draining;
    /* TLS contexts in use for new connections; swapped by SIGHUP reloads
     * (gw_relay_set_tls). Connections keep the context they started with. */
    struct ur_tls_ctx *_Atomic tls_server;
    struct ur_tls_ctx *_Atomic tls_client;
    /* Inbound connections over all cores, against max_connections: taken
     * at accept (before steering), moved with a handover, released when
     * the connection (or a steering attempt) ends. */
    _Atomic uint32_t n_inbound;
};

/* --- relay_wire.c ------------------------------------------------------- */

/* "START-END/TOTAL" ('*' for MSRP_BR_STAR) without a NUL; returns its length. */
#define RELAY_RANGE_MAX 64
size_t relay_fmt_range(char out[RELAY_RANGE_MAX], const struct msrp_byte_range *br);

/* --- relay_conn.c ------------------------------------------------------- */

/* What a core's listener i accepts for (the core's struct follows it). */
struct relay_listen_ctx {
    struct gw_relay_core *core;
    bool tls;
    bool ws;
};
struct ur_listener;
void relay_conn_on_accept(struct ur_listener *l, int fd, void *ud);
/* The core's sweep of timeouts (core->sweep) and its period. */
void relay_conn_sweep(struct ur_timer *t, void *arg);
uint64_t relay_conn_sweep_period_ms(const struct gw_relay_config *cfg);
/* A new rconn listed on core (NULL: no memory), and its unlisting. */
struct rconn *relay_conn_new(struct gw_relay_core *core, bool tls, bool outgoing);
void relay_conn_unlist(struct rconn *rc);
/* The mconn callbacks of every relay connection. */
extern const struct gw_mconn_ops relay_conn_ops;
void relay_conn_kick(struct rconn *rc);     /* resume rc's reading soon */
/* Closes rc for a timeout or limit, counted as drop reason why. */
void relay_conn_drop(struct rconn *rc, enum gw_drop why);
/* A slot of max_connections for an accepted connection (false: none
 * left), and its release; adopting passes the slot to the rconn. */
bool relay_slot_take(struct gw_relay *r);
void relay_slot_release(struct gw_relay *r);
/* Wraps an accepted fd on core (takes ownership). */
void relay_adopt(struct gw_relay_core *core, int fd, bool tls);
/* The same for a WebSocket listener's connection (uring/ws.h); not steered. */
void relay_adopt_ws(struct gw_relay_core *core, int fd, bool tls);
/* Wraps a connection detached on another core (takes ownership). */
struct ur_handoff;
void relay_adopt_handoff(struct gw_relay_core *core, struct ur_handoff *h, bool tls);

/* --- relay_session.c ---------------------------------------------------- */

/* Accounting of reservations: rc's figures since its
 * reservation was made, as a record (strings point into rc). */
void relay_acct_fill(struct rconn *rc, struct gw_acct_record *out);

/* --- relay_steer.c -------------------------------------------------------- */

/* Adopts fd on the core owning its first frame's session (see there). */
void relay_steer(struct gw_relay_core *core, int fd, bool tls);
/* Closes the connections still being steered (shutdown). */
void relay_steer_abort_all(struct gw_relay_core *core);
/* --- relay.c ------------------------------------------------------------ */

int relay_new_sessid(struct gw_relay_core *core, char out[GW_RELAY_SESSID_LEN + 1]);
int relay_new_tid(struct gw_relay_core *core, char out[RELAY_TID_LEN]);
/* Our URI for connections of this kind, optionally with a session id. */
int relay_self_uri(const struct gw_relay_core *core, bool tls, const char *sessid,
                   char *buf, size_t cap);
/* Is u one of our URIs (RFC 4975 6.1 host/port/scheme match)? */
bool relay_is_self(const struct gw_relay_core *core, const struct msrp_uri *u);
/* relay_session.c: gives rc (AUTHed) a reservation if it has none yet;
 * client: the URI that must follow the reservation in To-Path. */
int relay_bind_session(struct rconn *rc, const struct msrp_uri *client);
void relay_unbind_session(struct rconn *rc);
/* The connection holding reservation sid on rc's core, or NULL: rc's own
 * (the first URI of an AUTHed sender's To-Path) without a look-up, and one
 * look-up per head (the limits' and the route's are the same). */
struct rconn *relay_session_owner(struct rconn *rc, struct msrp_slice sid);
/* relay_peer.c: outgoing connection to u's authority, reused or new. */
int relay_peer_get(struct gw_relay_core *core, const struct msrp_uri *u, struct rconn **out,
                   bool *is_new);
/* The loopback hop to the core owning u's session (u is our own URI). */
int relay_peer_self_hop(struct gw_relay_core *core, const struct msrp_uri *u, struct rconn **out);
/* relay_route.c: on_head of a SEND or REPORT, and the relay's answers. */
int relay_route(struct rconn *rc, const struct msrp_head *h);
void relay_respond(struct rconn *rc, const struct msrp_head *h, uint16_t code,
                   const char *comment, const struct msrp_frame *extra);

/* --- relay_learn.c -------------------------------------------------------- */

/* u arrived as From-Path[0] on rc: reverse traffic for u goes over rc.
 * 0 or -ENOMEM. */
int relay_learn(struct rconn *rc, const struct msrp_uri *u);
/* The open connection u last arrived on, or NULL. */
struct rconn *relay_learned(struct gw_relay_core *core, const struct msrp_uri *u);
void relay_learn_forget(struct rconn *rc); /* every URI learned on rc */

/* --- relay_anchor.c ------------------------------------------------------- */

/* The anchored leg whose URI of ours is u, or NULL. */
struct anchor_leg *relay_anchor_leg_find(struct gw_relay_core *core, const struct msrp_uri *u);
/* on_head for a request to an anchored leg (To-Path = that URI alone). */
int relay_anchor_route(struct rconn *rc, const struct msrp_head *h, struct anchor_leg *leg);
/* A response on rc: its binding SEND's? Then handled (true). */
bool relay_anchor_bind_response(struct rconn *rc, const struct msrp_head *h);
/* No 200 to an outbound leg's binding SEND in time (rc->bind_timer). */
void relay_anchor_bind_timeout(struct ur_timer *t, void *arg);
/* n body bytes came from the endpoint of leg l (query's figures). */
void relay_anchor_count_bytes(struct anchor_leg *l, uint64_t n);
/* rc is closing: detach it from its leg. */
void relay_anchor_conn_closed(struct rconn *rc);
/* The admin's session list and kill (relay.c gw_relay_sessions,
 * gw_relay_kill): the core's anchors as records; the anchor whose leg
 * has session id id torn down (1) or none (0). */
void relay_anchor_sessions(struct gw_relay_core *core,
                           void (*fn)(void *arg, const struct gw_acct_record *s), void *arg);
int relay_anchor_kill(struct gw_relay_core *core, struct msrp_slice id);
/* Tears down every anchored session of the core (shutdown). */
void relay_anchor_free_all(struct gw_relay_core *core);
/* An outgoing connection of its own (never shared) to u's authority. */
int relay_connect_private(struct gw_relay_core *core, const struct msrp_uri *u, struct rconn **out);

/* --- relay_auth.c --------------------------------------------------------- */

/* on_head of an AUTH: GW_MCONN_CONTINUE, or GW_MCONN_STALL after a wrong
 * password (rc->kick resumes it auth_fail_delay_ms later). */
int relay_auth(struct rconn *rc, const struct msrp_head *h);
/* gw_relay_new / gw_relay_free: the shared AUTH state. 0 or -ENOMEM. */
int relay_auth_init(struct gw_relay *r);
void relay_auth_fini(struct gw_relay *r);
/* relay_unbind_session: rc's reservation is gone (per-user count). */
void relay_auth_unbound(struct rconn *rc);

/* relay_guard.c: AUTH state shared by all cores, each table under sharded
 * mutexes, bounded (see there). Times are seconds; the caller's clock. */
#define RELAY_GUARD_NONCES_DEFAULT 131072
#define RELAY_GUARD_THROTTLE_DEFAULT 65536
struct relay_guard_config {
    uint32_t nonce_entries;    /* replay cache; 0 = default */
    uint32_t throttle_entries; /* addresses and users tracked; 0 = default */
    uint32_t fail_limit;       /* failures that block; 0 = never block */
    uint32_t fail_window_s;    /* ...within this many seconds; 0 = 60 */
    uint32_t block_s;          /* block length; 0 = 300 */
    uint32_t max_res_per_user; /* 0 = unlimited */
    uint32_t max_res_total;    /* over all users; 0 = unlimited */
};
struct relay_guard;
int relay_guard_new(struct relay_guard **out, const struct relay_guard_config *cfg);
void relay_guard_free(struct relay_guard *g);
const struct relay_guard_config *relay_guard_config(const struct relay_guard *g);
enum relay_guard_nonce {
    RELAY_GUARD_NONCE_OK,     /* first use of nc for this nonce: recorded */
    RELAY_GUARD_NONCE_REPLAY, /* nc not above the highest accepted */
    RELAY_GUARD_NONCE_FULL,   /* no room for a new nonce: re-challenge */
};
/* Nonce (ts, salt) used with nonce-count nc; the entry lives until expires
 * (wall clock: ts + lifetime + 1). */
enum relay_guard_nonce relay_guard_nonce_use(struct relay_guard *g, uint64_t ts, uint64_t salt,
                                             uint32_t nc, uint64_t expires, uint64_t now);
/* Throttle keys: kind 'U' for user names; addresses from gw_mconn_peer()
 * text (IPv4, or the /64 of IPv6). Never 0. */
uint64_t relay_guard_key(const struct relay_guard *g, char kind, const void *data, size_t n);
uint64_t relay_guard_addr_key(const struct relay_guard *g, const char *peer);
/* Seconds key stays blocked (0 = not blocked). */
uint32_t relay_guard_blocked(struct relay_guard *g, uint64_t key, uint32_t now);
/* A check that may fail (a password): relay_guard_begin returns the
 * seconds key stays refused, or 0 and counts the check as in flight until
 * relay_guard_done gives its verdict. A key whose failures plus checks in
 * flight reach fail_limit is refused too (1 s), so concurrent connections
 * on any cores never get more than fail_limit checks between blocks. */
enum relay_guard_verdict {
    RELAY_GUARD_NO_VERDICT, /* not checked after all: nothing counted */
    RELAY_GUARD_FAILED,     /* a failure counts; fail_limit of them start a block */
    RELAY_GUARD_PASSED,     /* the key's failures so far are forgiven (not a block) */
};
uint32_t relay_guard_begin(struct relay_guard *g, uint64_t key, uint32_t now);
/* Ends a check begun: true when the failure starts a block. */
bool relay_guard_done(struct relay_guard *g, uint64_t key, uint32_t now,
                      enum relay_guard_verdict v);
/* One more reservation for user: 0, -EDQUOT (at max_res_per_user),
 * -EUSERS (the relay at max_res_total) or -ENOMEM; give it back with
 * relay_guard_res_give. */
int relay_guard_res_take(struct relay_guard *g, const char *user);
/* The same with the user's own cap (0 = unlimited) for max_res_per_user. */
int relay_guard_res_take_max(struct relay_guard *g, const char *user, uint32_t max);
void relay_guard_res_give(struct relay_guard *g, const char *user);
uint32_t relay_guard_res_count(struct relay_guard *g, const char *user);

/* --- relay_limits.c ------------------------------------------------------- */

/* on_head of a SEND: answers it (413, 415) and returns true when policy
 * refuses it (max_message_size, allowed_content_types). */
bool relay_limits_refuse(struct rconn *rc, const struct msrp_head *h);
/* The message of rc's chunk c outgrew max_message_size mid-body (relay_fwd.c):
 * remembers its Message-ID so later chunks get 413 at once. */
void relay_limits_refused(struct rconn *rc, struct msrp_slice message_id);
/* n body bytes were read from rc: returns GW_MCONN_STALL (r unchanged
 * otherwise) when rc is over session_bandwidth, and re-arms its reading
 * by rc->pace when the bytes are paid for. */
int relay_limits_pace(struct rconn *rc, size_t n, int r);
void relay_limits_pace_cb(struct ur_timer *t, void *arg);
/* At AUTH, before the reservation is charged: the limits of user on rc's
 * core, its own (cfg.user_limits) over the global ones. */
void relay_limits_take(const struct rconn *rc, const char *user, struct relay_lim *lim);

/* --- relay_hep.c ------------------------------------------------------------ */

/* The core's HEP3 socket when hep_address is set: 0 or -errno (logged). */
int relay_hep_open(struct gw_relay_core *core);
void relay_hep_close(struct gw_relay_core *core);
/* A head of c was queued on c->down: its bytes, in up to three parts.
 * With hep_body_bytes and a body, it is kept (c->hep_head) until
 * relay_hep_body gives the piece's first body bytes (n = 0: none came). */
void relay_hep_capture(struct chunk *c, const struct msrp_slice parts[3]);
void relay_hep_body(struct chunk *c, const char *p, size_t n);

/* --- relay_fwd.c ---------------------------------------------------------- */

/* Paths of a forwarded request given outright (anchored sessions). */
struct fwd_paths {
    const struct msrp_slice *to, *from;
    size_t nto, nfrom;
};
/* on_head for a SEND/REPORT to forward to down: its first skip To-Path
 * URIs (ours) moved to From-Path, or with paths (not NULL) the paths
 * replaced by those. */
int relay_fwd_start(struct rconn *up, const struct msrp_head *h, unsigned skip, struct rconn *down,
              const struct fwd_paths *paths);
int relay_fwd_body(struct rconn *up, const char *p, size_t n, struct ur_buf *buf);
int relay_fwd_end(struct rconn *up, char flag);
/* A response frame arrived on rc. */
void relay_fwd_response(struct rconn *rc, const struct msrp_head *h);
/* rc drained under its low watermark. */
void relay_fwd_drained(struct rconn *rc);
/* rc is going away: fail its pieces, drop its queue, forget its chunks. */
void relay_fwd_conn_closed(struct rconn *rc);
/* Gives down's frame slot to the next waiter, if any. */
void relay_fwd_slot_next(struct rconn *down);
/* rc->stall fired: closes rc if its incoming chunk made no progress for
 * chunk_stall_timeout while we were willing to read it. */
void relay_fwd_stall_check(struct ur_timer *t, void *arg);

/* A log line about connection rc (its session id and peer). */
#define RLOG(lvl, rc, ...)                                                              \
    gw_log((enum gw_log_level)(lvl), (rc) && (rc)->sessid[0] ? (rc)->sessid : NULL,    \
           (rc) ? gw_mconn_peer((rc)->m) : NULL, __VA_ARGS__)

#endif
