/*
 * relay_harness.h: one relay core on a uring loop, in the calling thread,
 * with the harness playing every peer -- for unit tests of the relay core
 * (tests/unit/test_relay_*.c) and its fuzz target.
 *
 *   - Peers ("endpoints", small ints): TCP pairs on 127.0.0.1 whose server
 *     end goes to relay_adopt() (rh_peer), and the fake next hop: every
 *     outgoing connection the relay opens, whatever host it named, is
 *     accepted by the harness (the binary links with
 *     -Wl,--wrap=gw_mconn_connect; the destination policy still sees the
 *     named host first).
 *   - What the relay writes to an endpoint is kept twice: raw (every byte,
 *     in order) and parsed into frames (start line, headers as received,
 *     body, end flag). Bytes that do not parse are a relay bug: the
 *     endpoint records the error and stops parsing.
 *   - Each endpoint answers every SEND it receives (whatever its
 *     Failure-Report) with its answer code (200 by default; 0 = never), or
 *     the test answers them one by one.
 *   - Nothing sleeps: rh_run_until runs loop and harness until a condition
 *     holds or a deadline passes; rh_settle until neither has moved for a
 *     while (so "nothing more happens" can be asserted).
 *
 * One harness per process at a time (Criterion runs each test in its own
 * process). The user table holds RH_USER:RH_PASS.
 */
#ifndef RELAY_HARNESS_H
#define RELAY_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/obs/metrics.h"
#include "gateway/relay/relay.h"

struct gw_relay_core;

#define RH_USER "alice"
#define RH_PASS "secret"
#define RH_REALM "rh.example.com"
/* A next hop the default destination policy allows (TEST-NET-1); the
 * wrapped connect takes it to the harness. */
#define RH_HOP_URI "msrp://192.0.2.7:2855/hop77;tcp"
/* Generous: a loaded 2-core machine under ASan. */
#define RH_DEADLINE_MS 20000
#define RH_MAX_EPS 32

struct rh;

struct rh_hdr {
    char *name, *value; /* as received (value without surrounding blanks) */
};

struct rh_frame {
    bool request;
    char method[16];    /* requests */
    uint16_t status;    /* responses */
    char *tid;
    char *comment;      /* responses; "" when none */
    struct rh_hdr *hdrs;
    size_t n_hdrs;
    char *body;         /* NUL-terminated copy; body_n bytes */
    size_t body_n;
    bool has_body;
    char flag;          /* '$', '+' or '#' */
};

/* A test configuration: one plain listener on 127.0.0.1 (port chosen by
 * rh_start), realm RH_REALM, the harness's user table, defaults
 * elsewhere. Tests change what they need before rh_start. */
void rh_config_default(struct gw_relay_config *cfg);

/* Starts the relay core (threads = 1) with cfg (its listen port, users and
 * metrics are filled in). Aborts on failure. RH_LOG=debug shows the
 * relay's log. */
struct rh *rh_start(const struct gw_relay_config *cfg);
/* The same with the loop's configuration given (NULL: the default). */
struct ur_loop_config;
struct rh *rh_start_loop(const struct gw_relay_config *cfg, const struct ur_loop_config *lc);
/* Closes every endpoint, runs until the relay holds no connection (a
 * leftover is a leak: the test fails), frees everything. */
void rh_stop(struct rh *h);
/* rh_stop(*hp) when *hp is set, then *hp = NULL: a test ends with it in its
 * body (so the leak check runs inside the test: a failure in .fini would
 * only warn) and its suite's .fini calls it again after a failed assertion. */
void rh_release(struct rh **hp);
/* Closes and forgets every endpoint and runs until the relay holds no
 * connection (at most max_rounds loop rounds, 0 = until the deadline);
 * returns how many it still holds. The core goes on (one per fuzz run). */
unsigned rh_reset(struct rh *h, unsigned max_rounds);

/* Our URI without session ("msrp://127.0.0.1:PORT;tcp") and the port. */
const char *rh_self_uri(const struct rh *h);
uint16_t rh_port(const struct rh *h);
struct gw_relay_core *rh_core(struct rh *h);
const struct gw_metrics *rh_metrics(const struct rh *h);
void rh_stats(const struct rh *h, struct gw_relay_stats *st);

/* A new inbound connection given to the relay; its endpoint. */
int rh_peer(struct rh *h);
/* The k-th connection the relay opened to the fake next hop (in accept
 * order), or -1 when there is none (yet). */
int rh_hop(const struct rh *h, unsigned k);
unsigned rh_hops(const struct rh *h);
/* Code an endpoint answers SENDs with (0 = never); rh_hop_answer sets it
 * for next-hop connections accepted from now on (default 200). */
void rh_answer_code(struct rh *h, int ep, uint16_t code);
void rh_hop_answer(struct rh *h, uint16_t code);
/* At most n more answers by all endpoints together (< 0: no limit, the
 * default): two endpoints streaming unterminated chunks to each other
 * would otherwise echo answers for ever. */
void rh_answer_budget(struct rh *h, long n);
/* Closes the harness end of ep; shuts its write side only. */
void rh_close(struct rh *h, int ep);
void rh_shut_wr(struct rh *h, int ep);

/* Queues bytes to the relay on ep (written as the relay reads them). */
void rh_write(struct rh *h, int ep, const void *p, size_t n);
/* A request on ep: "MSRP tid METHOD", To-Path, From-Path, then the lines
 * in extra ("Name: value\r\n" each, may be NULL), then the body (body NULL:
 * no body section) and the end-line with flag. */
void rh_request(struct rh *h, int ep, const char *method, const char *tid, const char *to,
                const char *from, const char *extra, const void *body, size_t body_n,
                char flag);
/* Answers frame idx received on ep (a request) with code. */
void rh_answer(struct rh *h, int ep, size_t idx, uint16_t code);

/* Runs until cond(h, arg) is true (true) or deadline_ms passed (false). */
bool rh_run_until(struct rh *h, bool (*cond)(struct rh *h, void *arg), void *arg,
                  unsigned deadline_ms);
/* Runs until ep has received at least n frames; false at the deadline. */
bool rh_wait_frames(struct rh *h, int ep, size_t n);
/* Runs until the relay opened at least n next-hop connections. */
bool rh_wait_hops(struct rh *h, unsigned n);
/* Runs until the relay and the harness have been idle for a while. */
void rh_settle(struct rh *h);
/* The same, idle meaning idle_rounds rounds in a row that waited up to
 * wait_ms each and moved nothing, at most max_rounds rounds (0 = up to
 * the deadline). True if it got idle. */
bool rh_settle_rounds(struct rh *h, unsigned idle_rounds, int wait_ms, unsigned max_rounds);

/* Frames the relay wrote to ep, and the raw bytes. */
size_t rh_nframes(const struct rh *h, int ep);
const struct rh_frame *rh_frame(const struct rh *h, int ep, size_t idx);
const char *rh_raw(const struct rh *h, int ep, size_t *n);
/* The first header named name (case-insensitive), or NULL. */
const char *rh_hdr(const struct rh_frame *f, const char *name);
/* 0, or the msrp_err of the first unparsable byte the relay wrote to ep. */
int rh_parse_error(const struct rh *h, int ep);
/* Whether the relay closed its end of ep (EOF seen). */
bool rh_eof(const struct rh *h, int ep);

/* Digest AUTH of ep as user/pass, To-Path our URI, From-Path from: the
 * 401, then the Authorization. Returns the final status (0: no answer);
 * the Use-Path of a 200 is then rh_use_path(). expires (>= 0) adds an
 * Expires header to the second request. */
int rh_auth(struct rh *h, int ep, const char *from, const char *user, const char *pass,
            int64_t expires);
const char *rh_use_path(const struct rh *h, int ep);
/* Builds an Authorization value answering challenge www (a
 * WWW-Authenticate value) for uri with nonce-count nc. Aborts on error. */
void rh_authorization(char *out, size_t cap, const char *www, const char *uri, const char *user,
                      const char *pass, uint32_t nc);

/* Monotonic milliseconds. */
uint64_t rh_now_ms(void);

#endif
