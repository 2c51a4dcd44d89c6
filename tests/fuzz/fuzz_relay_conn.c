/*
 * fuzz_relay_conn.c: the relay's connection input path, end to end --
 * arbitrary byte streams into relay connections (mconn framing, AUTH,
 * routing, forwarding, splitting, responses, REPORTs, closes) with a fake
 * next hop, not only the parser.
 *
 * One relay core and its ur_loop live for the whole process (threads = 1,
 * one user alice:secret). Per input:
 *   - up to two upstream connections U1, U2 and a receiver R: TCP pairs on
 *     127.0.0.1 whose server ends are given to relay_adopt(); the harness
 *     holds the client ends. The harness AUTHs R (and U1 when asked) with
 *     real Digest, so inputs can address R's reservation by token.
 *   - every outgoing connection the relay opens, whatever host the input
 *     named, goes to a fake next hop listening on 127.0.0.1 (the link
 *     wraps gw_mconn_connect: no DNS, no traffic beyond loopback). The
 *     destination policy still sees the named host first, so %H names a
 *     TEST-NET address it allows, and a loopback one gets its 403.
 *   - the harness ends of R, U1, U2 and of the next-hop connections parse
 *     what the relay writes (a framing error there is a relay bug: abort)
 *     and answer each SEND (200, another code, or nothing).
 * Then everything is closed and the loop runs until the relay holds no
 * connection: one left over is a leak between inputs (abort).
 * The sockets, the fake next hop, the parsing and the AUTH are
 * tests/unit/relay_harness.c's, shared with the relay core's unit tests.
 *
 * Input: byte 0 = flags, byte 1 = response code selector, then segments
 * separated by 0xFF. A segment's first byte picks where its bytes go
 * (U1, U2, raw into R, raw into the newest next-hop connection); the loop
 * runs until idle after each segment, so the fuzzer chooses the split
 * points. Tokens in segments expand to what the input cannot know:
 *   %R  R's reservation URI (Use-Path of its AUTH)    %C  R's own URI
 *   %V  U1's reservation URI (when U1 was AUTHed)      %S  U1's own URI
 *   %U  the relay's URI without session               %H  a next-hop URI
 *   %P  the relay's port
 *   %%  a '%'
 * The harness answers at most 32 SENDs per input (two endpoints streaming
 * unterminated chunks to each other would echo answers for ever).
 * Environment: FUZZ_RELAY_LOG=debug (the relay's log), FUZZ_RELAY_DUMP=1
 * (what the relay wrote, and connections that outlive their peers),
 * FUZZ_RELAY_STRICT=1 (a known malformed Byte-Range is fatal too).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/obs/log.h"
#include "gateway/wire/mconn.h"
#include "gateway/relay/relay.h"
#include "gateway/relay/relay_internal.h"
#include "proto/error.h"
#include "relay_harness.h"
#include "uring/loop.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

/* UBSan findings must stop the run like ASan's (fuzz builds recover). */
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }

#define FZ_HOP_URI RH_HOP_URI
#define FZ_R_URI "msrp://127.0.0.1:9/rcv;tcp"
#define FZ_U_URI "msrp://127.0.0.1:9/snd;tcp"
#define FZ_EXPAND_CAP (1u << 20)

/* Flags (byte 0). */
enum {
    FZ_AUTH_R = 1u << 0,   /* harness AUTHs the receiver */
    FZ_AUTH_U = 1u << 1,   /* harness AUTHs U1 (it may then open next hops) */
    FZ_RESP_MASK = 3u << 2,/* answers: 0,1 = 200, 2 = none, 3 = code from byte 1 */
    FZ_TWO_UP = 1u << 4,   /* a second upstream connection */
    FZ_HALF_CLOSE = 1u << 5,/* shut U1's write side and run before closing */
};

static struct {
    struct rh *h;
    uint16_t code;              /* what every endpoint answers this input */
    char self_port[8];
    bool dump;                  /* FUZZ_RELAY_DUMP=1: print what the relay wrote */
    bool strict;
    char *expand;
} G;

/* --- checks on what the relay wrote ------------------------------------------ */

/* The relay must only ever write well-formed MSRP to any endpoint. */
static void check_ep(int ep)
{
    if (ep < 0)
        return;
    int e = rh_parse_error(G.h, ep);
    /* Known (issue 10 report): a body longer than its Byte-Range end got
     * split into pieces whose ranges run past it ("321-320/320"); the
     * endpoint stopped reading. FUZZ_RELAY_STRICT=1 makes it fatal. */
    if (e == 0 || (e == MSRP_E_BYTE_RANGE && !G.strict))
        return;
    fprintf(stderr, "fuzz_relay_conn: the relay wrote a malformed frame to ep %d: %s\n", ep,
            msrp_strerror(e));
    abort();
}

static void check_all(int r, int u1, int u2)
{
    check_ep(r);
    check_ep(u1);
    check_ep(u2);
    for (unsigned k = 0; k < rh_hops(G.h); k++)
        check_ep(rh_hop(G.h, k));
}

static void dump_ep(const char *name, int ep)
{
    if (!G.dump || ep < 0)
        return;
    size_t n;
    const char *raw = rh_raw(G.h, ep, &n);
    fprintf(stderr, "<<< relay to %s (%zu bytes):\n%.*s\n", name, n, (int)n, raw);
}

/* Runs the loop and the harness until neither has anything to do. */
static void settle(void)
{
    if (!rh_settle_rounds(G.h, 3, 0, 4000) && G.dump)
        fprintf(stderr, "settle: still busy after 4000 rounds\n");
}

/* --- tokens ----------------------------------------------------------------- */

static size_t expand(const uint8_t *s, size_t n, int r, int u)
{
    size_t o = 0;
    const char *self = rh_self_uri(G.h);
    const char *rp = r >= 0 && rh_use_path(G.h, r)[0] ? rh_use_path(G.h, r) : self;
    const char *up = u >= 0 && rh_use_path(G.h, u)[0] ? rh_use_path(G.h, u) : self;
    for (size_t k = 0; k < n && o + 600 < FZ_EXPAND_CAP; k++) {
        if (s[k] != '%' || k + 1 == n) {
            G.expand[o++] = (char)s[k];
            continue;
        }
        const char *t = NULL;
        switch (s[++k]) {
        case 'R': t = rp; break;
        case 'C': t = FZ_R_URI; break;
        case 'V': t = up; break;
        case 'S': t = FZ_U_URI; break;
        case 'U': t = self; break;
        case 'H': t = FZ_HOP_URI; break;
        case 'P': t = G.self_port; break;
        case '%': t = "%"; break;
        default:
            G.expand[o++] = '%';
            G.expand[o++] = (char)s[k];
            continue;
        }
        size_t tn = strlen(t);
        memcpy(G.expand + o, t, tn);
        o += tn;
    }
    return o;
}

/* --- setup ------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *lvl = getenv("FUZZ_RELAY_LOG"); /* "debug" to watch a run */
    if (lvl && !strcmp(lvl, "debug"))
        setenv("RH_LOG", "debug", 1);
    G.dump = getenv("FUZZ_RELAY_DUMP") != NULL;
    G.strict = getenv("FUZZ_RELAY_STRICT") != NULL;
    G.expand = malloc(FZ_EXPAND_CAP);

    struct gw_relay_config cfg;
    rh_config_default(&cfg);
    /* Never reached within one input: every piece is answered, or its
     * connection closes at the end of the input. */
    cfg.chunk_timeout_ms = 30000;
    cfg.connect_timeout_ms = 2000;
    cfg.idle_timeout_ms = 0;
    /* Small, so inputs of a few hundred bytes get split. */
    cfg.max_chunk_out = 64;
    struct ur_loop_config lc;
    ur_loop_config_default(&lc);
    lc.buf_count = 64;
    lc.conn_mem_ceiling = 4096; /* so stalls and drains happen */
    lc.conn_low_watermark = 1024;
    G.h = rh_start_loop(&cfg, &lc);
    snprintf(G.self_port, sizeof(G.self_port), "%u", rh_port(G.h));
    return 0;
}

/* An upstream connection given to the relay; its endpoint. */
static int upstream(void)
{
    int ep = rh_peer(G.h);
    rh_answer_code(G.h, ep, G.code);
    return ep;
}

static void auth(int ep, const char *from)
{
    rh_auth(G.h, ep, from, RH_USER, RH_PASS, -1);
}

/* What holds the relay's connections after every peer closed. */
static void dump_conns(void)
{
    for (struct rconn *rc = rh_core(G.h)->conns; rc; rc = rc->next)
        fprintf(stderr, "lingering rconn %p: out %d closing %d stalled %d pending %zu writer %p "
                "wq %p cur %p pieces %p ups %p\n", (void *)rc, rc->outgoing, rc->closing,
                gw_mconn_stalled(rc->m), gw_mconn_pending(rc->m), (void *)rc->writer,
                (void *)rc->wq_head, (void *)rc->cur, (void *)rc->pieces, (void *)rc->ups);
}

/* Closes every harness socket and runs until the relay let go of all its
 * connections. */
static void teardown(void)
{
    unsigned left = rh_reset(G.h, 200);
    if (left && G.dump)
        dump_conns();
    if (left)
        left = rh_reset(G.h, 1800);
    if (left != 0) {
        fprintf(stderr, "fuzz_relay_conn: %u relay connections left after every peer closed\n",
                left);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned flags = data[0];
    int resp_mode = (int)((flags & FZ_RESP_MASK) >> 2);
    G.code = resp_mode == 2 ? 0
             : resp_mode == 3 ? (uint16_t)(200 + (data[1] % 50) * 10 + data[1] % 7) /* 200..696 */
                              : 200;
    rh_hop_answer(G.h, G.code);
    /* The harness answers at most 32 SENDs per input (two endpoints
     * streaming unterminated chunks to each other would echo answers for
     * ever: correct relay behaviour, but no fuzzing). */
    rh_answer_budget(G.h, 32);
    data += 2;
    size -= 2;

    int r = -1, u1, u2 = -1;
    if (flags & FZ_AUTH_R) {
        r = upstream();
        auth(r, FZ_R_URI);
    }
    u1 = upstream();
    if (flags & FZ_AUTH_U)
        auth(u1, FZ_U_URI);
    if (flags & FZ_TWO_UP)
        u2 = upstream();
    settle();
    /* The AUTHs' answers do not count against the input's budget. */
    rh_answer_budget(G.h, 32);

    size_t k = 0;
    while (k < size) {
        const uint8_t *end = memchr(data + k, 0xff, size - k);
        size_t seg = end ? (size_t)(end - (data + k)) : size - k;
        if (seg > 0) {
            int target = data[k] & 3;
            size_t n = expand(data + k + 1, seg - 1, r, u1);
            int newest = rh_hops(G.h) ? rh_hop(G.h, rh_hops(G.h) - 1) : -1;
            int to = target == 0 ? u1 : target == 1 ? (u2 >= 0 ? u2 : u1)
                   : target == 2 ? r : newest;
            if (to >= 0)
                rh_write(G.h, to, G.expand, n);
            settle();
            check_all(r, u1, u2);
        }
        k += seg + 1;
    }
    if (flags & FZ_HALF_CLOSE) {
        rh_shut_wr(G.h, u1);
        settle();
        check_all(r, u1, u2);
    }
    dump_ep("R", r);
    dump_ep("U1", u1);
    dump_ep("U2", u2);
    for (unsigned h = 0; h < rh_hops(G.h); h++)
        dump_ep("a next hop", rh_hop(G.h, h));
    teardown();
    return 0;
}
