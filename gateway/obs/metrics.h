/*
 * metrics.h: counters for operators, and the Prometheus endpoint that
 * exposes them.
 *
 * Counting: each loop owns one struct gw_metrics and is the only writer of
 * it, with plain increments (no atomics, no shared cache lines on the data
 * path). Nobody else reads a live block: a scrape posts a request to every
 * loop (ur_loop_post), each loop copies its own block and its
 * ur_loop_get_stats() into the scrape on its own thread, then posts back;
 * the endpoint renders when every loop has answered. So the snapshot is
 * race-free (the post hand-off orders the copy before the render), and a
 * core's numbers are consistent with each other; different cores are
 * copied at slightly different moments, which Prometheus tolerates.
 * Connection counters belong to the loop owning the connection, so a
 * per-core "current" gauge is opened - closed on that core.
 *
 * Series: one per core (label core="N"), never summed here: sum() in
 * PromQL. Arrays carry a second label: code="NNN" (or "other"),
 * reason="...".
 *
 * The endpoint: a tiny HTTP/1.1 server on one loop (ur_listen +
 * ur_conn). GET /metrics (HEAD too, query string ignored) -> 200 with
 * text format 0.0.4; another path -> 404; another method -> 405; a
 * malformed request or one whose head exceeds 4 KiB -> 400. The
 * connection closes after each response; a client silent for 5 s is
 * closed; at most 64 endpoint connections at once (more are closed on
 * accept). Nothing blocks the loop.
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uring/loop.h"

/* Response status codes counted by name; anything else is "other". */
enum gw_status {
    GW_ST_200, GW_ST_400, GW_ST_401, GW_ST_403, GW_ST_408, GW_ST_413, GW_ST_415,
    GW_ST_423, GW_ST_481, GW_ST_500, GW_ST_501, GW_ST_506, GW_ST_OTHER,
    GW_ST_N
};

/* Why an AUTH was refused. */
enum gw_auth_fail {
    GW_AUTHF_NO_CREDENTIALS,  /* no Authorization: challenged with 401 */
    GW_AUTHF_UNKNOWN_USER,
    GW_AUTHF_BAD_PASSWORD,    /* response did not match */
    GW_AUTHF_STALE_NONCE,     /* re-challenged with stale=true */
    GW_AUTHF_BAD_PARAM,       /* unparsable or incomplete Authorization */
    GW_AUTHF_REPLAY,          /* nonce-count not increasing */
    GW_AUTHF_EXPIRES,         /* Expires below expires_min: 423 */
    GW_AUTHF_THROTTLED,       /* too many failures from the address or user: 403 */
    GW_AUTHF_FOREIGN_NONCE,   /* nonce issued to another connection */
    GW_AUTHF_RESERVATION_LIMIT, /* user holds max_reservations_per_user: 403 */
    GW_AUTHF_RESERVATION_TOTAL, /* the relay holds max_reservations: 403 */
    GW_AUTHF_N
};

/* Why a frame, a chunk or a connection was dropped. */
enum gw_drop {
    GW_DROP_PARSE_ERROR,        /* malformed frame (400 or close) */
    GW_DROP_UNKNOWN_SESSION,    /* To-Path names no session we hold (481) */
    GW_DROP_NEXT_HOP_FAILED,    /* connect/TLS/send to the next hop failed */
    GW_DROP_TIMEOUT,            /* no response from the next hop in chunk_timeout (408) */
    GW_DROP_NOT_AUTHORIZED,     /* request from an unauthenticated peer (403) */
    GW_DROP_BAD_PATH,           /* a request whose paths cannot be forwarded (400) */
    GW_DROP_CONN_LIMIT,         /* accept over max_connections */
    GW_DROP_BIND_TIMEOUT,       /* connection sent nothing in bind_timeout */
    GW_DROP_IDLE_TIMEOUT,       /* connection idle for idle_timeout */
    GW_DROP_HEADER_TIMEOUT,     /* header section not complete in header_timeout */
    GW_DROP_CHUNK_STALL,        /* chunk body made no progress in chunk_stall_timeout */
    GW_DROP_OUTPUT_OVERFLOW,    /* peer does not read: queued output over the hard bound */
    GW_DROP_DEST_DENIED,        /* next hop refused by the destination policy */
    GW_DROP_MESSAGE_TOO_LARGE,  /* SEND of a message over max_message_size (413) */
    GW_DROP_CONTENT_TYPE,       /* SEND whose Content-Type is not allowed (415) */
    GW_DROP_N
};

extern const uint16_t gw_status_codes[GW_ST_N];      /* 0 for GW_ST_OTHER */
extern const char *const gw_auth_fail_names[GW_AUTHF_N];
extern const char *const gw_drop_names[GW_DROP_N];

/* One loop's counters; zero-initialise. Written only by the owning loop.
 * Cache-line aligned so an array of per-core blocks shares no line
 * between cores (heap copies need aligned_alloc(64, ...)). */
struct gw_metrics {
    _Alignas(64) uint64_t conns_opened;
    uint64_t conns_closed;
    uint64_t conns_current;     /* gauge */
    uint64_t sessions_current;  /* gauge */
    uint64_t learned_uris;      /* gauge: sender URIs remembered (relay_learn.c) */
    uint64_t learned_evictions; /* ... forgotten to stay within max_learned_uris */
    uint64_t anchors_current;   /* gauge: MSRP sections anchored for an SBC */
    uint64_t auth_ok;
    uint64_t auth_failed[GW_AUTHF_N];
    uint64_t chunks_in, chunks_out;
    uint64_t bytes_in, bytes_out; /* MSRP bytes, frames and bodies */
    uint64_t resp_sent[GW_ST_N];    /* responses this relay generated */
    uint64_t resp_relayed[GW_ST_N]; /* responses forwarded hop by hop */
    uint64_t reports_sent;
    uint64_t drops[GW_DROP_N];
    uint64_t paced;             /* reads paused by session_bandwidth */
    uint64_t hep_sent, hep_dropped; /* HEP3 capture datagrams (relay_hep.c) */
    struct ur_loop_stats loop;  /* filled by the snapshot, not by callers */
};

/* Index of a status code in the arrays above. */
static inline enum gw_status gw_status_index(unsigned code)
{
    for (unsigned i = 0; i < GW_ST_OTHER; i++)
        if (gw_status_codes[i] == code)
            return (enum gw_status)i;
    return GW_ST_OTHER;
}

static inline void gw_metrics_response(struct gw_metrics *m, unsigned code, bool relayed)
{
    if (relayed)
        m->resp_relayed[gw_status_index(code)]++;
    else
        m->resp_sent[gw_status_index(code)]++;
}

/*
 * Prometheus text format 0.0.4 of n per-core snapshots (cores[i] is core
 * i). Returns the length written (NUL-terminated) or -ENOSPC when cap is
 * too small (about 5 KiB per core is needed).
 */
int gw_metrics_render(char *buf, size_t cap, const struct gw_metrics *cores, unsigned n);

/* The same series as one JSON object (msrpgw-ctl stats): metric name ->
 * {"type": "counter"|"gauge", "help": TEXT, "samples": [{"core": "N",
 * [label: value,] "value": V}, ...]}, in the order and with the values of
 * gw_metrics_render; ends in a newline. Length or -ENOSPC. */
int gw_metrics_render_json(char *buf, size_t cap, const struct gw_metrics *cores, unsigned n);

/* The per-loop blocks a scrape gathers. */
struct gw_metrics_hub;

/* A hub for n loops. 0 or -ENOMEM / -EINVAL (n == 0). */
int gw_metrics_hub_new(struct gw_metrics_hub **out, unsigned n);
/* After every loop stopped. */
void gw_metrics_hub_free(struct gw_metrics_hub *h);

/*
 * Registers loop idx and its block (e.g. from the runtime's init, on that
 * loop's thread, before any scrape can start). A scrape skips loops not
 * attached. 0 or -EINVAL (idx out of range).
 */
int gw_metrics_hub_attach(struct gw_metrics_hub *h, unsigned idx, struct ur_loop *loop,
                          struct gw_metrics *m);

/*
 * Snapshots every attached loop (each on its own thread) and renders;
 * calls done(text, len, ud) on the calling loop, never from inside this
 * call, once every attached loop answered (text NULL on allocation
 * failure; valid during the call only). Call on a loop thread. *out (may
 * be NULL) lets the caller cancel: after gw_metrics_scrape_cancel() done
 * is not called; the scrape frees itself when the last loop answered.
 * 0 or -ENOMEM.
 */
struct gw_metrics_scrape;
typedef void (*gw_metrics_scrape_fn)(const char *text, size_t len, void *ud);
int gw_metrics_scrape(struct gw_metrics_hub *h, gw_metrics_scrape_fn done, void *ud,
                      struct gw_metrics_scrape **out);
/* The same, rendered by gw_metrics_render_json when json. */
int gw_metrics_scrape_as(struct gw_metrics_hub *h, bool json, gw_metrics_scrape_fn done, void *ud,
                         struct gw_metrics_scrape **out);
void gw_metrics_scrape_cancel(struct gw_metrics_scrape *s);

/*
 * Routes one HTTP request head (pure; for tests and the endpoint):
 * 0 = incomplete (need more bytes), else the status to answer: 200
 * (GET/HEAD /metrics), 404, 405, 400. *head_only is set for HEAD.
 * Anything over GW_METRICS_HTTP_MAX bytes without a complete head is 400.
 */
#define GW_METRICS_HTTP_MAX 4096
int gw_metrics_http_route(const char *req, size_t len, bool *head_only);

struct gw_metrics_http;

/*
 * Serves the endpoint on loop (the caller's thread) at host:port (port 0
 * = ephemeral: see gw_metrics_http_port). 0 or -errno from ur_listen.
 */
int gw_metrics_http_start(struct gw_metrics_http **out, struct ur_loop *loop,
                          const char *host, uint16_t port, struct gw_metrics_hub *hub);
uint16_t gw_metrics_http_port(const struct gw_metrics_http *s);
/* Endpoint connections alive (e.g. to drain them before the loop ends). */
unsigned gw_metrics_http_conns(const struct gw_metrics_http *s);
/* Stops listening and closes the endpoint's connections (loop thread);
 * the struct is freed once its last connection is closed. */
void gw_metrics_http_stop(struct gw_metrics_http *s);

#endif
