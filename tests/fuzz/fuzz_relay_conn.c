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
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/log.h"
#include "gateway/mconn.h"
#include "gateway/relay.h"
#include "gateway/relay_internal.h"
#include "proto/digest.h"
#include "proto/parser.h"
#include "proto/writer.h"
#include "uring/loop.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

/* UBSan findings must stop the run like ASan's (fuzz builds recover). */
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }

#define FZ_USER "alice"
#define FZ_PASS "secret"
#define FZ_HOP_URI "msrp://192.0.2.7:2855/hop77;tcp"
#define FZ_R_URI "msrp://127.0.0.1:9/rcv;tcp"
#define FZ_U_URI "msrp://127.0.0.1:9/snd;tcp"
#define FZ_MAX_EPS 24
#define FZ_SCRATCH 32768
#define FZ_EXPAND_CAP (1u << 20)

/* Flags (byte 0). */
enum {
    FZ_AUTH_R = 1u << 0,   /* harness AUTHs the receiver */
    FZ_AUTH_U = 1u << 1,   /* harness AUTHs U1 (it may then open next hops) */
    FZ_RESP_MASK = 3u << 2,/* answers: 0,1 = 200, 2 = none, 3 = code from byte 1 */
    FZ_TWO_UP = 1u << 4,   /* a second upstream connection */
    FZ_HALF_CLOSE = 1u << 5,/* shut U1's write side and run before closing */
};

/* A harness-side socket: what the relay writes to it is parsed. */
struct ep {
    int fd;
    bool used;
    bool dead;                  /* stopped parsing: a tolerated known error */
    struct msrp_parser p;
    struct msrp_head head;
    char scratch[FZ_SCRATCH];
    /* Last response seen (AUTH handshakes). */
    uint16_t status;
    char www_auth[1024];
    char use_path[512];
};

static struct {
    struct gw_relay *relay;
    struct ur_loop *loop;
    struct gw_relay_core *core;
    int pair_lfd;               /* listener the harness builds TCP pairs on */
    int hop_lfd;                /* the fake next hop */
    uint16_t relay_port, hop_port;
    struct msrp_limits plim;    /* the harness parsers' (loose) limits */
    struct ep eps[FZ_MAX_EPS];
    int resp_mode;
    unsigned resp_budget;       /* answers the harness may still write */
    uint16_t resp_code;
    int newest_hop;             /* index into eps, -1 = none */
    char self_uri[128];
    char self_port[8];
    bool dump;                  /* FUZZ_RELAY_DUMP=1: print what the relay wrote */
    bool strict;
    char *expand;
} G;

/* --- the fake next hop: every connect goes there ------------------------- */

int __real_gw_mconn_connect(struct ur_loop *loop, const char *host, uint16_t port,
                            unsigned timeout_ms, struct ur_tls_ctx *tls, const char *server_name,
                            const struct msrp_limits *lim, const struct gw_mconn_ops *ops,
                            void *ud, struct gw_mconn **out);
int __wrap_gw_mconn_connect(struct ur_loop *loop, const char *host, uint16_t port,
                            unsigned timeout_ms, struct ur_tls_ctx *tls, const char *server_name,
                            const struct msrp_limits *lim, const struct gw_mconn_ops *ops,
                            void *ud, struct gw_mconn **out);

int __wrap_gw_mconn_connect(struct ur_loop *loop, const char *host, uint16_t port,
                            unsigned timeout_ms, struct ur_tls_ctx *tls, const char *server_name,
                            const struct msrp_limits *lim, const struct gw_mconn_ops *ops,
                            void *ud, struct gw_mconn **out)
{
    (void)host;
    (void)port;
    return __real_gw_mconn_connect(loop, "127.0.0.1", G.hop_port, timeout_ms, tls, server_name,
                                   lim, ops, ud, out);
}

/* --- users ---------------------------------------------------------------- */

static int user_lookup(void *ud, unsigned idx, const char *name, size_t n,
                       struct msrp_slice *secret, bool *is_ha1)
{
    (void)ud;
    (void)idx;
    if (n != strlen(FZ_USER) || memcmp(name, FZ_USER, n) != 0)
        return -ENOENT;
    *secret = MSRP_SLICE_LIT(FZ_PASS);
    *is_ha1 = false;
    return 0;
}

/* --- sockets ---------------------------------------------------------------- */

static int listen_local(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 256) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0)
        abort();
    *port = ntohs(a.sin_port);
    return fd;
}

/* A connected TCP pair on loopback: *cli for the harness, the return
 * value for the relay. */
static int tcp_pair(int *cli)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    if (getsockname(G.pair_lfd, (struct sockaddr *)&a, &al) != 0)
        abort();
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) != 0)
        abort();
    int s = accept4(G.pair_lfd, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0)
        abort();
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *cli = c;
    return s;
}

static int ep_new(int fd)
{
    for (int i = 0; i < FZ_MAX_EPS; i++) {
        struct ep *e = &G.eps[i];
        if (e->used)
            continue;
        e->used = true;
        e->fd = fd;
        e->dead = false;
        e->status = 0;
        e->www_auth[0] = e->use_path[0] = '\0';
        if (msrp_parser_init(&e->p, &G.plim, &e->head, e->scratch, sizeof(e->scratch)) != 0)
            abort();
        return i;
    }
    close(fd);
    return -1;
}

static void ep_close(int i)
{
    if (i < 0 || !G.eps[i].used)
        return;
    close(G.eps[i].fd);
    G.eps[i].used = false;
}

/* Best effort: the relay may have stopped reading (that is its right). */
static void ep_write(int i, const char *p, size_t n)
{
    if (i < 0 || !G.eps[i].used)
        return;
    while (n) {
        ssize_t w = send(G.eps[i].fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* --- what the relay writes ------------------------------------------------ */

static void on_frame_end(int i, const struct msrp_head *h)
{
    struct ep *e = &G.eps[i];
    if (h->kind == MSRP_RESPONSE) {
        e->status = h->status;
        const struct msrp_header *wa = msrp_head_find(h, MSRP_H_WWW_AUTHENTICATE);
        if (wa && wa->value.n < sizeof(e->www_auth))
            snprintf(e->www_auth, sizeof(e->www_auth), "%.*s", (int)wa->value.n, wa->value.p);
        if (h->n_use_path && h->use_path[0].raw.n < sizeof(e->use_path))
            snprintf(e->use_path, sizeof(e->use_path), "%.*s", (int)h->use_path[0].raw.n,
                     h->use_path[0].raw.p);
        return;
    }
    /* A budget per input: two endpoints that each stream an unterminated
     * chunk to the other would otherwise echo answers into each other's
     * bodies for ever (correct relay behaviour, but no fuzzing). */
    if (h->method == MSRP_M_REPORT || G.resp_mode == 2 || G.resp_budget == 0)
        return;
    G.resp_budget--;
    char out[4096];
    int n = msrp_write_response(out, sizeof(out), h, G.resp_mode == 3 ? G.resp_code : 200,
                                NULL, NULL);
    if (n > 0)
        ep_write(i, out, (size_t)n);
}

/* Parses bytes the relay wrote; returns false at EOF or error. */
static bool ep_feed(int i, const char *buf, size_t n)
{
    struct ep *e = &G.eps[i];
    while (!e->dead) {
        struct msrp_event ev;
        size_t used = msrp_parse(&e->p, buf, n, &ev);
        buf += used;
        n -= used;
        if (ev.type == MSRP_EV_NONE)
            break;
        if (ev.type == MSRP_EV_ERROR && ev.error == MSRP_E_BYTE_RANGE && !G.strict) {
            /* Known (issue 10 report): a body longer than its Byte-Range
             * end gets split into pieces whose ranges run past it
             * ("321-320/320"). Stop reading this socket; FUZZ_RELAY_STRICT=1
             * makes it fatal again. */
            e->dead = true;
            break;
        }
        if (ev.type == MSRP_EV_ERROR) {
            /* The relay must only ever write well-formed MSRP. */
            fprintf(stderr, "fuzz_relay_conn: the relay wrote a malformed frame to ep %d: %s at %llu\n",
                    i, msrp_strerror(ev.error), (unsigned long long)ev.error_offset);
            abort();
        }
        if (ev.type == MSRP_EV_FRAME_END)
            on_frame_end(i, ev.head);
    }
    return true;
}

/* Reads whatever is there on every harness socket; true if anything moved. */
static bool pump(void)
{
    bool moved = false;
    for (;;) {
        int fd = accept4(G.hop_lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            break;
        int i = ep_new(fd);
        if (i >= 0)
            G.newest_hop = i;
        moved = true;
    }
    static char buf[65536];
    for (int i = 0; i < FZ_MAX_EPS; i++) {
        struct ep *e = &G.eps[i];
        if (!e->used)
            continue;
        for (int k = 0; k < 64; k++) {
            ssize_t r = recv(e->fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (r <= 0)
                break;
            moved = true;
            if (G.dump)
                fprintf(stderr, "<<< relay to ep %d (%zd bytes):\n%.*s\n", i, r, (int)r, buf);
            ep_feed(i, buf, (size_t)r);
        }
    }
    return moved;
}

/* Runs the loop and the harness until neither has anything to do. */
static void settle(void)
{
    int idle = 0;
    for (int round = 0; round < 4000 && idle < 3; round++) {
        struct ur_loop_stats a, b;
        ur_loop_get_stats(G.loop, &a);
        if (ur_loop_run_once(G.loop, 0) < 0)
            abort();
        ur_loop_get_stats(G.loop, &b);
        bool moved = pump();
        idle = (moved || a.cqes != b.cqes) ? 0 : idle + 1;
        if (G.dump && round == 3999)
            fprintf(stderr, "settle: still busy after 4000 rounds\n");
    }
}

/* --- AUTH by the harness -------------------------------------------------- */

static void auth(int i, const char *from)
{
    struct ep *e = &G.eps[i];
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "MSRP fzauth01 AUTH\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------fzauth01$\r\n",
                     G.self_uri, from);
    e->status = 0;
    ep_write(i, req, (size_t)n);
    settle();
    if (e->status != 401)
        return;
    static struct msrp_digest_fields chal;
    if (msrp_digest_parse(&chal, e->www_auth, strlen(e->www_auth)) != 0)
        abort();
    const struct msrp_digest_client cl = {
        MSRP_SLICE_LIT(FZ_USER), MSRP_SLICE_LIT(FZ_PASS),
        msrp_slice(G.self_uri, strlen(G.self_uri)), MSRP_SLICE_LIT("0a4f113b"), 1, false
    };
    char authz[1024];
    int an = msrp_digest_authorization(authz, sizeof(authz), &chal, &cl);
    if (an < 0)
        abort();
    n = snprintf(req, sizeof(req),
                 "MSRP fzauth02 AUTH\r\nTo-Path: %s\r\nFrom-Path: %s\r\nAuthorization: %.*s\r\n"
                 "-------fzauth02$\r\n",
                 G.self_uri, from, an, authz);
    e->status = 0;
    e->use_path[0] = '\0';
    ep_write(i, req, (size_t)n);
    settle();
}

/* --- tokens ----------------------------------------------------------------- */

static size_t expand(const uint8_t *s, size_t n, const struct ep *r, const struct ep *u)
{
    size_t o = 0;
    for (size_t k = 0; k < n && o + 600 < FZ_EXPAND_CAP; k++) {
        if (s[k] != '%' || k + 1 == n) {
            G.expand[o++] = (char)s[k];
            continue;
        }
        const char *t = NULL;
        switch (s[++k]) {
        case 'R': t = r && r->use_path[0] ? r->use_path : G.self_uri; break;
        case 'C': t = FZ_R_URI; break;
        case 'V': t = u && u->use_path[0] ? u->use_path : G.self_uri; break;
        case 'S': t = FZ_U_URI; break;
        case 'U': t = G.self_uri; break;
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
    gw_log_open(lvl && !strcmp(lvl, "debug") ? GW_LOG_DEBUG : GW_LOG_ERROR, GW_LOG_TEXT, NULL);
    G.dump = getenv("FUZZ_RELAY_DUMP") != NULL;
    G.strict = getenv("FUZZ_RELAY_STRICT") != NULL;
    G.expand = malloc(FZ_EXPAND_CAP);
    G.pair_lfd = listen_local(&G.relay_port); /* port reused below, then closed */
    G.hop_lfd = listen_local(&G.hop_port);
    fcntl(G.hop_lfd, F_SETFL, O_NONBLOCK);
    /* The relay's own listener needs a free port: take the pair
     * listener's, then give the pairs a fresh one. */
    close(G.pair_lfd);
    uint16_t pp;
    G.pair_lfd = listen_local(&pp);

    struct gw_relay_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.listen[0].host, sizeof(cfg.listen[0].host), "127.0.0.1");
    cfg.listen[0].port = G.relay_port;
    cfg.n_listen = 1;
    snprintf(cfg.uri_host, sizeof(cfg.uri_host), "127.0.0.1");
    snprintf(cfg.realm, sizeof(cfg.realm), "fuzz.example.com");
    cfg.expires_default = 900;
    cfg.expires_min = 10;
    cfg.expires_max = 3600;
    cfg.nonce_lifetime = 300;
    /* Never reached within one input: every piece is answered, or its
     * connection closes at the end of the input. */
    cfg.chunk_timeout_ms = 30000;
    cfg.connect_timeout_ms = 2000;
    cfg.idle_timeout_ms = 0;
    /* Small, so inputs of a few hundred bytes get split. */
    cfg.max_chunk_out = 64;
    msrp_limits_default(&cfg.limits);
    cfg.user_lookup = user_lookup;
    if (gw_relay_new(&G.relay, &cfg, 1) != 0)
        abort();
    struct ur_loop_config lc;
    ur_loop_config_default(&lc);
    lc.buf_count = 64;
    lc.conn_mem_ceiling = 4096; /* so stalls and drains happen */
    lc.conn_low_watermark = 1024;
    if (ur_loop_new(&G.loop, &lc) != 0 || gw_relay_core_init(G.loop, 0, G.relay) != 0)
        abort();
    G.core = gw_relay_core_of(G.loop);
    snprintf(G.self_uri, sizeof(G.self_uri), "msrp://127.0.0.1:%u;tcp", G.relay_port);
    snprintf(G.self_port, sizeof(G.self_port), "%u", G.relay_port);
    msrp_limits_default(&G.plim);
    G.plim.max_header_bytes = FZ_SCRATCH;
    G.plim.max_headers = MSRP_HEADERS_CAP;
    G.plim.max_path_uris = MSRP_PATH_CAP;
    G.plim.max_uri_len = 4096;
    G.plim.max_tid_len = MSRP_TID_CAP;
    msrp_limits_check(&G.plim);
    return 0;
}

/* An upstream connection given to the relay; its harness end's index. */
static int upstream(void)
{
    int cli;
    int srv = tcp_pair(&cli);
    int i = ep_new(cli);
    relay_adopt(G.core, srv, false);
    return i;
}

/* What holds the relay's connections after every peer closed. */
static void dump_conns(void)
{
    for (struct rconn *rc = G.core->conns; rc; rc = rc->next)
        fprintf(stderr, "lingering rconn %p: out %d closing %d stalled %d pending %zu writer %p "
                "wq %p cur %p pieces %p ups %p\n", (void *)rc, rc->outgoing, rc->closing,
                gw_mconn_stalled(rc->m), gw_mconn_pending(rc->m), (void *)rc->writer,
                (void *)rc->wq_head, (void *)rc->cur, (void *)rc->pieces, (void *)rc->ups);
}

/* Closes every harness socket and runs until the relay let go of all its
 * connections. */
static void teardown(void)
{
    for (int i = 0; i < FZ_MAX_EPS; i++)
        ep_close(i);
    for (int round = 0; round < 2000 && gw_relay_conns(G.relay) > 0; round++) {
        if (round == 200 && G.dump)
            dump_conns();
        if (ur_loop_run_once(G.loop, round < 200 ? 0 : 1) < 0)
            abort();
        /* Next-hop connections still in the backlog: accept and close. */
        pump();
        for (int i = 0; i < FZ_MAX_EPS; i++)
            ep_close(i);
    }
    if (gw_relay_conns(G.relay) != 0) {
        fprintf(stderr, "fuzz_relay_conn: %u relay connections left after every peer closed\n",
                gw_relay_conns(G.relay));
        abort();
    }
    G.newest_hop = -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned flags = data[0];
    G.resp_mode = (int)((flags & FZ_RESP_MASK) >> 2);
    G.resp_code = (uint16_t)(200 + (data[1] % 50) * 10 + data[1] % 7); /* 200..696 */
    G.newest_hop = -1;
    G.resp_budget = 32;
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

    const struct ep *re = r >= 0 ? &G.eps[r] : NULL;
    const struct ep *ue = u1 >= 0 ? &G.eps[u1] : NULL;
    size_t k = 0;
    while (k < size) {
        const uint8_t *end = memchr(data + k, 0xff, size - k);
        size_t seg = end ? (size_t)(end - (data + k)) : size - k;
        if (seg > 0) {
            int target = data[k] & 3;
            size_t n = expand(data + k + 1, seg - 1, re, ue);
            int to = target == 0 ? u1 : target == 1 ? (u2 >= 0 ? u2 : u1)
                   : target == 2 ? r : G.newest_hop;
            ep_write(to, G.expand, n);
            settle();
        }
        k += seg + 1;
    }
    if ((flags & FZ_HALF_CLOSE) && u1 >= 0) {
        shutdown(G.eps[u1].fd, SHUT_WR);
        settle();
    }
    teardown();
    return 0;
}
