/*
 * relay.h: the RFC 4976 MSRP relay -- msrpgw's core job.
 *
 * What it does
 *   - AUTH (RFC 4976 section 5): Digest challenge (401), verification with
 *     the To-Path fallback for clients that send no uri= (PEERS.md), a
 *     nonce usable only on the connection it was challenged on and once
 *     per nonce-count over all cores, failures throttled per address and
 *     per user (403), at most max_reservations_per_user reservations per
 *     user (403), 423 + Min-Expires for too short an
 *     Expires, 200 with Use-Path "msrp[s]://HOST:PORT/SESSID;tcp" and the
 *     clamped Expires. The reservation lives as long as the connection
 *     (clients never refresh, PEERS.md); "Expires: 0" cancels it.
 *   - Forwarding (RFC 4976 sections 6-7): a SEND/REPORT whose To-Path[0] is
 *     one of our URIs goes to the connection of the reservation named by
 *     its session id (To-Path[1] must be that client's URI, else 481), or,
 *     without a session id, to To-Path[1]'s authority over a reused or new
 *     connection -- for AUTHed senders only: an unauthenticated sender
 *     reaches reservations (403 otherwise), never a connection someone
 *     else opened. Next hops pass the destination policy (relay_policy.h:
 *     loopback, link-local, our own ports... denied unless allowed; 403,
 *     drop reason dest_denied) on every address tried. The
 *     forwarded frame moves each URI of ours it consumed from the head of
 *     To-Path to the head of From-Path, byte for byte as received (RFC
 *     4976 section 7.2; two of them when both endpoints AUTHed here), gets
 *     a new transaction id, and keeps every other header verbatim.
 *     Reverse traffic (REPORTs, the receiver's SENDs) finds a sender that
 *     has no reservation here by the From-Path[0] URI it last arrived with
 *     (learned per connection, at most max_learned_uris each), so senders
 *     reached over a shared connection of another relay get their own
 *     traffic back.
 *   - Streaming: bodies are forwarded as they arrive, zero copy from the
 *     receive buffers; a next hop over its memory ceiling stalls the
 *     sender (GW_MCONN_STALL) until its on_drain. Frames never interleave
 *     on a connection: a sender waiting for a busy next hop is stalled and
 *     queued (FIFO). Chunks over max_chunk_out body bytes are split into
 *     pieces ('+' continuation, own tids, adjusted Byte-Range), so a big
 *     chunk holds a shared connection at most max_chunk_out bytes at a
 *     time; chunks are never merged.
 *   - Responses are hop by hop: each outgoing piece has a record (its tid,
 *     a chunk_timeout timer) tied to the incoming chunk; the upstream
 *     response (original tid) goes out when every piece is answered, with
 *     the first non-200 code. Timeout or loss of the next hop: 408 and,
 *     unless Failure-Report is no, a Failure REPORT (Status 000 408) to
 *     the sender's From-Path. Failure-Report no/partial are honoured.
 *
 * Sharding: one gw_relay_core per ur_loop (per core). Each core owns its
 * connections, its share of the session table and its transaction records;
 * nothing on the data path is locked. A session id's first character names
 * the owning core, so any core knows where a reservation lives without a
 * shared table. A connection AUTHs on the core that accepted it. Before an
 * accepted connection is wrapped, the accepting core peeks (MSG_PEEK, so
 * nothing is consumed) at its first frame; a SEND/REPORT for another
 * core's session makes it post the bare fd to that core, which adopts it
 * (relay_steer.c). A TLS connection is wrapped first: after the handshake
 * the first frame's head is read as plaintext, then the connection is
 * detached (socket, wolfSSL state, unread bytes) and adopted by the owner
 * with those bytes replayed. Both legs of a session then live on one
 * core. Later frames of a connection are not re-steered, so one
 * connection serves the sessions of one core (outgoing connections are
 * keyed per next-hop authority and first session id character to match);
 * a frame for another core's session -- both endpoints AUTHed here, on
 * different cores, or a foreign relay's shared connection carrying
 * several sessions -- goes over a loopback connection to our own
 * listener, which steers it like any sender's (a frame that consumed no
 * URI of ours yet goes as it came; the owner core learns its sender on
 * the hop, and its reverse traffic comes back over the hop to the
 * connection the sender arrived on: relay.c route_back). The hop is
 * exempt from the destination policy. Connections whose first frame has not
 * arrived after 2 s stay where they are.
 *
 * Flow control and memory: per connection at most conn_mem_ceiling queued
 * bytes (then the sender is stalled), at most one receive buffer held per
 * stalled sender, one head copy (sized by the head read) per chunk in
 * flight, and at most max_chunks_in_flight unanswered chunks per sender
 * connection (then it is not read until answers come).
 *
 * Policy (relay_limits.c): max_reservations over all users (403), SENDs
 * over max_message_size (413) or of a type allowed_content_types does not
 * list (415), a sender's connection read at most session_bandwidth bytes
 * a second (stalled, then resumed by a timer); a user's own limits
 * (user_limits) replace the global ones for that user's reservations and
 * for unauthenticated SENDs to them, taken at AUTH. HEP3 capture
 * (relay_hep.c): every forwarded head as a UDP datagram to hep_address.
 *
 * Shutdown: gw_relay_drain() stops the listeners; chunks in flight are
 * forwarded and answered; gw_relay_close_all() then closes the rest.
 */
#ifndef GW_RELAY_H
#define GW_RELAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/relay/relay_policy.h"
#include "proto/parser.h"
#include "proto/slice.h"

struct ur_loop;
struct ur_tls_ctx;
struct gw_relay;
struct gw_metrics;

#define GW_RELAY_LISTEN_MAX 16

struct gw_relay_listen {
    char host[256];
    uint16_t port;  /* bound port (the caller resolves port 0 beforehand) */
    bool tls;
    bool ws;        /* MSRP over WebSocket (RFC 7977): ws://, or wss:// with tls */
};

/* Looks a user up: sets *secret (password or HA1 hex, *is_ha1 says which;
 * must stay valid until the next call on this core). 0 or -ENOENT.
 * Called on loop threads; idx names the calling core (per-core caches). */
typedef int (*gw_relay_user_fn)(void *ud, unsigned idx, const char *name, size_t n,
                                struct msrp_slice *secret, bool *is_ha1);

/* A user's own policy limits (the users file's attributes); a has_* false
 * leaves that limit to gw_relay_config. */
#define GW_RELAY_USER_TYPES_MAX 255 /* bytes of allowed_content_types */
struct gw_relay_user_limits {
    bool has_max_reservations, has_max_message_size, has_allowed_content_types,
        has_session_bandwidth;
    uint32_t max_reservations;     /* replaces max_reservations_per_user */
    uint64_t max_message_size;
    uint64_t session_bandwidth;
    struct msrp_slice allowed_content_types; /* valid until the next call on this core */
};

/* Optional: fills *lim for a user who just AUTHed (on core idx). 0 or
 * -ENOENT (then the global limits apply). */
typedef int (*gw_relay_limits_fn)(void *ud, unsigned idx, const char *name, size_t n,
                                  struct gw_relay_user_limits *lim);

struct gw_relay_config {
    struct gw_relay_listen listen[GW_RELAY_LISTEN_MAX];
    unsigned n_listen;
    /* WebSocket listeners (uring/ws.h): allowed Origins (space or comma
     * list, "" = any), largest message received, handshake deadline. */
    char ws_origins[512];
    uint64_t ws_max_message;       /* 0 = uring's default (1 MiB) */
    uint32_t ws_handshake_timeout_ms; /* 0 = uring's default (10 s) */
    char uri_host[512];            /* host of our URIs */
    char realm[512];
    uint32_t expires_default, expires_min, expires_max; /* seconds */
    uint32_t nonce_lifetime;       /* seconds */
    /* AUTH abuse (relay_auth.c, relay_guard.c): auth_fail_limit failures
     * from an address or for a user within auth_fail_window_s seconds
     * block it for auth_block_s (403); 0 = no throttle. Reservations per
     * user; 0 = unlimited. Cache sizes in entries; 0 = defaults. */
    uint32_t auth_fail_limit;
    uint32_t auth_fail_window_s;   /* 0 = 60 */
    uint32_t auth_block_s;         /* 0 = 300 */
    uint32_t max_reservations_per_user;
    uint32_t max_reservations;     /* over all users; 0 = unlimited */
    /* Policy (relay_limits.c): a SEND of a message over max_message_size
     * bytes gets 413, one whose Content-Type allowed_content_types does not
     * list gets 415 (accepttypes.h; "" = all); a sender's connection is
     * read at most session_bandwidth body bytes a second. 0 = no limit. */
    uint64_t max_message_size;
    char allowed_content_types[512];
    uint64_t session_bandwidth;
    /* HEP3 capture (relay_hep.c): every forwarded frame head goes to the
     * collector at hep_address ("IP:PORT", "[IPv6]:PORT"; "" = off) over
     * UDP, tagged with capture agent hep_id and protocol type
     * hep_proto_type, with at most hep_body_bytes of the piece's body. */
    char hep_address[300];
    uint32_t hep_id;
    uint8_t hep_proto_type;
    uint32_t hep_body_bytes;       /* body bytes after each head; 0 = none */
    uint32_t nonce_cache_size;     /* 0 = 131072 */
    uint32_t auth_throttle_size;   /* 0 = 65536 */
    uint32_t auth_fail_delay_ms;   /* a wrong password's connection pauses; 0 = none */
    uint32_t chunk_timeout_ms;     /* per outgoing piece -> 408 */
    uint32_t connect_timeout_ms;
    uint32_t idle_timeout_ms;      /* outgoing conns with no traffic; 0 = never */
    /* Inbound connections (relay.c's sweep): first request (AUTH or a
     * routed SEND/REPORT) within bind_timeout_ms; a started header section
     * complete within header_timeout_ms (any connection). 0 = 30 s / 10 s. */
    uint32_t bind_timeout_ms;
    uint32_t header_timeout_ms;
    /* An incoming chunk whose body makes no progress for this long while
     * we would read it loses the next hop's slot ('#') and its connection
     * (relay_fwd.c). 0 = 10 s. */
    uint32_t chunk_stall_timeout_ms;
    /* Body bytes per second an incoming chunk must average over that
     * time, or it counts as stalled (a sender dripping a byte a second
     * would hold the next hop's slot for hours). 0 = any byte is progress. */
    uint64_t chunk_min_rate;
    uint32_t max_chunks_in_flight; /* per sender connection; 0 = 64 */
    uint64_t max_chunk_out;        /* split above this many body bytes; 0 = never */
    uint32_t max_connections;      /* inbound, over all cores; 0 = unbounded */
    /* Where next hops may be (relay_policy.h); our listen ports and this
     * host's addresses are added by gw_relay_new. */
    struct gw_dest_policy dest;
    uint32_t max_learned_uris;     /* sender URIs remembered per connection; 0 = 4096 */
    uint32_t anchor_timeout_s;     /* anchored session without connections; 0 = 60 */
    struct msrp_limits limits;
    struct ur_tls_ctx *tls_server; /* for tls listeners */
    struct ur_tls_ctx *tls_client; /* for msrps next hops; NULL = refuse them */
    /* For the loopback hop between two cores when there is no plain
     * listener: a client context that does not verify (the hop connects
     * to our own listening socket). NULL = use tls_client. */
    struct ur_tls_ctx *tls_self;
    gw_relay_user_fn user_lookup;
    void *user_ud;
    /* Per-user limits (relay_limits.c), also called with user_ud; NULL =
     * every user has the global limits. */
    gw_relay_limits_fn user_limits;
    /* Optional: one struct gw_metrics per core (metrics.h), written by
     * that core only; NULL = not counted there. */
    struct gw_metrics *metrics;
};

/* Counters, summed over cores by gw_relay_get_stats. */
#define GW_RELAY_STATS(X)                                                   \
    X(conns_accepted, "connections accepted")                               \
    X(conns_out, "outgoing connections opened")                             \
    X(conns_reused, "frames sent over a reused outgoing connection")        \
    X(conn_errors, "connections closed with an error")                      \
    X(auth_ok, "AUTH answered 200")                                         \
    X(auth_challenges, "AUTH answered 401 without credentials")             \
    X(auth_failures, "AUTH with wrong credentials, stale or replayed nonce")\
    X(auth_423, "AUTH answered 423 (Expires too small)")                    \
    X(frames_forwarded, "requests forwarded (incoming chunks)")             \
    X(pieces_out, "outgoing chunks written (pieces of split chunks count)") \
    X(chunks_split, "incoming chunks split into several pieces")            \
    X(body_bytes, "body bytes forwarded")                                   \
    X(responses_up, "responses sent upstream for forwarded chunks")         \
    X(resp_403, "requests refused with 403")                                \
    X(resp_481, "requests refused with 481")                                \
    X(resp_501, "requests refused with 501")                                \
    X(timeouts_408, "pieces that timed out (408)")                          \
    X(failure_reports, "Failure REPORTs generated")                         \
    X(stalls, "senders stalled by a busy or full next hop")                 \
    X(slot_waits, "chunks that waited for another chunk's frame slot")      \
    X(slot_yields, "split chunks that let waiters go first between pieces") \
    X(handovers, "connections handed over to another core")                \
    X(core_hops, "chunks sent to another core's session over a loopback hop")       \
    X(anchors, "anchored MSRP sections alive (SBC sidecar)")

struct gw_relay_stats {
#define GW_RELAY_STAT_FIELD(name, help) uint64_t name;
    GW_RELAY_STATS(GW_RELAY_STAT_FIELD)
#undef GW_RELAY_STAT_FIELD
    uint64_t sessions;     /* reservations alive */
    uint64_t active_chunks;/* chunks being forwarded or awaiting answers */
};

/* Creates the shared relay state for ncores loops (secret drawn here). */
int gw_relay_new(struct gw_relay **out, const struct gw_relay_config *cfg, unsigned ncores);
void gw_relay_free(struct gw_relay *r);

/* ur_runtime init/fini callbacks (ud = the gw_relay): creates the core's
 * listeners and tables on its own thread / closes everything. */
int gw_relay_core_init(struct ur_loop *loop, unsigned idx, void *ud);
void gw_relay_core_fini(struct ur_loop *loop, unsigned idx, void *ud);

/* Graceful drain, from a thread that is no loop's (a failed post is
 * retried with pauses): every core stops accepting; in-flight
 * chunks go on. gw_relay_busy() tells whether chunks are still active. */
void gw_relay_drain(struct gw_relay *r);
bool gw_relay_busy(const struct gw_relay *r);
/* After the drain: closes every connection (any thread); gw_relay_conns()
 * counts those not yet closed, so the caller can stop the loops once it is
 * 0 and nothing leaks. */
void gw_relay_close_all(struct gw_relay *r);
unsigned gw_relay_conns(const struct gw_relay *r);

void gw_relay_get_stats(const struct gw_relay *r, struct gw_relay_stats *st);

/* --- the admin API (gateway/ng/server.c), on a core's own loop ----------- */

/* Calls fn for every session core holds: its reservations (AUTHed
 * connections) and its anchored sections, as accounting records whose
 * duration is their age so far and whose reason is NULL. */
struct gw_acct_record;
struct gw_relay_core;
void gw_relay_sessions(struct gw_relay_core *core,
                       void (*fn)(void *arg, const struct gw_acct_record *s), void *arg);
/* Ends session id on core (gw_relay_sessid_core names it), as a lost peer
 * would: a reservation's connection is closed (a chunk it was sending is
 * ended with '#' at the next hop; chunks toward it get 408 and Failure
 * REPORTs as RFC 4975 says), an anchor is torn down with both legs'
 * connections; the record's reason is "killed". 1, or 0 when unknown. */
int gw_relay_kill(struct gw_relay_core *core, struct msrp_slice id);

/* --- pure helpers (wire.c), exposed for tests ---------------------------- */

/* Session ids: GW_RELAY_SESSID_LEN chars of [A-Za-z0-9]; the first one
 * encodes the owning core (0-9a-zA-Z, so at most 62 cores). */
#define GW_RELAY_SESSID_LEN 16
#define GW_RELAY_MAX_CORES 62
char gw_relay_core_char(unsigned idx);
/* Owning core of a session id, or -1 when it cannot be ours. */
int gw_relay_sessid_core(struct msrp_slice id, unsigned ncores);

/* Expires for a 200 to AUTH: requested (has) or the default, clamped into
 * [min, max]. Returns the value, or -1 when the request is below min (423). */
int64_t gw_relay_expires(bool has, uint32_t requested, uint32_t def, uint32_t min, uint32_t max);

/*
 * Writes the head of a forwarded request: "MSRP tid METHOD", To-Path =
 * h's To-Path without its first skip URIs (ours: 1, or more when the path
 * crosses this relay twice, as when both endpoints AUTHed to it; 0 on the
 * loopback hop between two of our cores, which forwards a frame as it came),
 * From-Path = those skip URIs, byte for byte and in reverse order (RFC
 * 4976 section 7.2: each URI a relay takes off To-Path is prepended to
 * From-Path), followed by h's From-Path; every other header of h verbatim
 * in arrival order except
 * Byte-Range (written from *br when br is not NULL, else h's verbatim) and
 * Content-Type (written last), then the blank line when h has a body.
 * br_span (may be NULL) receives the offset and length of the Byte-Range
 * line written, or an empty span where one would go (before Content-Type),
 * so the pieces of a split chunk can patch it.
 * Returns the length, or MSRP_E_NOSPACE / MSRP_E_INVALID.
 */
int gw_relay_write_fwd_head(char *buf, size_t cap, const struct msrp_head *h, unsigned skip,
                            struct msrp_slice tid, const struct msrp_byte_range *br,
                            size_t br_span[2]);

/* Bytes enough for gw_relay_write_fwd_head of h with any skip, any tid up
 * to MSRP_TID_CAP and any Byte-Range: a forwarded head's copy is sized by
 * what was read, not by the max_header_bytes a peer could have sent. */
size_t gw_relay_head_bound(const struct msrp_head *h);

/* The same with the paths given: To-Path = to[0..nto), From-Path =
 * from[0..nfrom) (an anchored session replaces both, relay_anchor.c). */
int gw_relay_write_head(char *buf, size_t cap, const struct msrp_head *h, struct msrp_slice tid,
                        const struct msrp_slice *to, size_t nto, const struct msrp_slice *from,
                        size_t nfrom, const struct msrp_byte_range *br, size_t br_span[2]);

/*
 * Byte-Range of the piece that starts after `sent` body bytes of a chunk
 * whose own range is orig (has: whether it had one), when pieces carry at
 * most max body bytes: start = orig.start + sent; end = start + the
 * piece's expected length - 1 when orig.end is known (the sender may still
 * interrupt it early with '+', which RFC 4975 allows), else '*'; total
 * copied. 0, or -ERANGE when a value would exceed MSRP_BR_MAX (cannot be
 * represented: the chunk is refused with 400).
 */
int gw_relay_piece_range(bool has, const struct msrp_byte_range *orig, uint64_t sent,
                         uint64_t max, struct msrp_byte_range *out);

/* --- anchoring for an SBC (relay_anchor.c), on the anchor's owner core -- */

#define GW_ANCHOR_ID_MAX 255 /* call-id, tags: longer ones are cut */

/* One MSRP media section of an offer or an answer. */
struct gw_anchor_media {
    struct msrp_slice call_id, from_tag, to_tag;
    unsigned media;            /* index among the SDP's MSRP sections */
    bool tls;                  /* TCP/TLS/MSRP */
    struct msrp_slice path;    /* the endpoint's a=path */
    struct msrp_slice setup;   /* its a=setup, empty if none */
};
/* What the SDP going to the other side must say. */
struct gw_anchor_result {
    const char *uri;           /* our URI for that side's a=path */
    size_t uri_n;
    const char *setup;         /* a=setup value to state, NULL = none */
};
struct gw_anchor_info {
    unsigned media;
    uint64_t created_s;        /* Unix time */
    struct {
        const char *uri, *peer, *state;
        uint64_t chunks_in, bytes_in;
    } leg[2];                  /* [0] the offerer's, [1] the answerer's */
};
struct gw_relay_core;
/* The core a call's anchors live on (by call-id). */
unsigned gw_anchor_core(const struct gw_relay *r, struct msrp_slice call_id);
/* The core object of a loop (for ng commands run there), or NULL. */
struct gw_relay_core *gw_relay_core_of(struct ur_loop *loop);
/* Offer: creates (or, re-offered, updates) the anchor of one section;
 * *out tells what the offer to the answerer says. 0 or -errno. */
int gw_anchor_offer(struct gw_relay_core *core, const struct gw_anchor_media *m,
                    struct gw_anchor_result *out);
/* Answer: -ENOENT when no offer made that anchor; dials the legs we dial. */
int gw_anchor_answer(struct gw_relay_core *core, const struct gw_anchor_media *m,
                     struct gw_anchor_result *out);
/* Tears down the call's anchors (from_tag empty: all of the call);
 * returns how many. */
int gw_anchor_delete(struct gw_relay_core *core, struct msrp_slice call_id,
                     struct msrp_slice from_tag);
/* The call's anchors, at most max; valid until the core runs on. */
int gw_anchor_query(struct gw_relay_core *core, struct msrp_slice call_id,
                    struct gw_anchor_info *info, size_t max);
/* Calls with anchors on core (each once). */
void gw_anchor_list(struct gw_relay_core *core, void (*fn)(void *arg, const char *call_id),
                    void *arg);
/* Our address and ports for SDP: c= (uri_host), the plain / TLS port. */
const char *gw_relay_sdp_addr(const struct gw_relay *r);
uint16_t gw_relay_port(const struct gw_relay *r, bool tls);
unsigned gw_relay_ncores(const struct gw_relay *r);

/*
 * Replaces the TLS contexts used for connections made from now on (SIGHUP
 * reload of certificate, key and CA files); any thread. Connections already
 * open keep theirs, so the old contexts come back in *old_server /
 * *old_client for the caller to free once the relay is gone.
 */
void gw_relay_set_tls(struct gw_relay *r, struct ur_tls_ctx *server, struct ur_tls_ctx *client,
                      struct ur_tls_ctx **old_server, struct ur_tls_ctx **old_client);

#endif
