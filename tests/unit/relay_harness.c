/*
 * relay_harness.c: a relay core on a uring loop with the harness as every
 * peer (see relay_harness.h).
 */
#include "relay_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gateway/obs/log.h"
#include "gateway/wire/mconn.h"
#include "gateway/relay/relay_internal.h"
#include "proto/digest.h"
#include "proto/parser.h"
#include "proto/writer.h"
#include "uring/loop.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define RH_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#define RH_LSAN 1
#endif
#endif

#define RH_SCRATCH 32768
#define RH_RAW_CAP (8u << 20) /* bytes kept per endpoint */

struct rh_ep {
    int fd;
    bool used, hop, eof;
    int perr;                  /* first parse error (stops parsing) */
    uint16_t answer;           /* auto-answer code for SENDs, 0 = none */
    struct msrp_parser p;
    struct msrp_head head;
    char *scratch;
    struct rh_frame cur;       /* being received */
    size_t cur_cap;            /* body capacity */
    struct rh_frame *frames;
    size_t n_frames, cap_frames;
    char *raw;
    size_t raw_n, raw_cap;
    char *out;                 /* queued for the relay */
    size_t out_n, out_off, out_cap;
    char use_path[512];
};

struct rh {
    struct gw_relay *relay;
    struct ur_loop *loop;
    struct gw_relay_core *core;
    struct gw_metrics *met;
    int pair_lfd, hop_lfd;
    uint16_t port, hop_port;
    uint16_t hop_answer;
    long answer_budget;        /* answers the endpoints may still write; < 0 = no limit */
    struct msrp_limits plim;
    struct rh_ep eps[RH_MAX_EPS];
    int hops[RH_MAX_EPS];
    unsigned n_hops;
    char self_uri[128];
};

/* The wrapped connect needs the harness; one per process. */
static struct rh *rh_cur;

/* --- the fake next hop ------------------------------------------------------ */

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
    return __real_gw_mconn_connect(loop, "127.0.0.1", rh_cur->hop_port, timeout_ms, tls,
                                   server_name, lim, ops, ud, out);
}

/* --- small things ---------------------------------------------------------- */

static void die(const char *what)
{
    fprintf(stderr, "relay_harness: %s: %s\n", what, strerror(errno));
    abort();
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die("out of memory");
    return q;
}

static char *xstrndup(const char *p, size_t n)
{
    char *s = xrealloc(NULL, n + 1);
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

uint64_t rh_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int user_lookup(void *ud, unsigned idx, const char *name, size_t n,
                       struct msrp_slice *secret, bool *is_ha1)
{
    (void)ud;
    (void)idx;
    if (n != strlen(RH_USER) || memcmp(name, RH_USER, n) != 0)
        return -ENOENT;
    *secret = MSRP_SLICE_LIT(RH_PASS);
    *is_ha1 = false;
    return 0;
}

static int listen_local(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 256) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0)
        die("listen on 127.0.0.1");
    *port = ntohs(a.sin_port);
    return fd;
}

/* --- endpoints ------------------------------------------------------------------ */

static void frame_clear(struct rh_frame *f)
{
    free(f->tid);
    free(f->comment);
    for (size_t i = 0; i < f->n_hdrs; i++) {
        free(f->hdrs[i].name);
        free(f->hdrs[i].value);
    }
    free(f->hdrs);
    free(f->body);
    memset(f, 0, sizeof(*f));
}

static int ep_new(struct rh *h, int fd, bool hop)
{
    for (int i = 0; i < RH_MAX_EPS; i++) {
        struct rh_ep *e = &h->eps[i];
        if (e->used)
            continue;
        memset(e, 0, sizeof(*e));
        e->used = true;
        e->fd = fd;
        e->hop = hop;
        e->answer = hop ? h->hop_answer : 200;
        e->scratch = xrealloc(NULL, RH_SCRATCH);
        if (msrp_parser_init(&e->p, &h->plim, &e->head, e->scratch, RH_SCRATCH) != 0)
            die("parser init");
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fcntl(fd, F_SETFL, O_NONBLOCK);
        return i;
    }
    /* Full: the relay sees this one closed (a fuzz input may make it
     * dial any number of next hops). */
    close(fd);
    return -1;
}

static void ep_free(struct rh_ep *e)
{
    if (e->fd >= 0)
        close(e->fd);
    for (size_t i = 0; i < e->n_frames; i++)
        frame_clear(&e->frames[i]);
    frame_clear(&e->cur);
    free(e->frames);
    free(e->raw);
    free(e->out);
    free(e->scratch);
    memset(e, 0, sizeof(*e));
}

static struct rh_ep *ep_get(const struct rh *h, int ep)
{
    if (ep < 0 || ep >= RH_MAX_EPS || !h->eps[ep].used) {
        fprintf(stderr, "relay_harness: no endpoint %d\n", ep);
        abort();
    }
    return (struct rh_ep *)&h->eps[ep];
}

void rh_shut_wr(struct rh *h, int ep)
{
    struct rh_ep *e = ep_get(h, ep);
    if (e->fd >= 0)
        shutdown(e->fd, SHUT_WR);
}

void rh_close(struct rh *h, int ep)
{
    struct rh_ep *e = ep_get(h, ep);
    if (e->fd >= 0)
        close(e->fd);
    e->fd = -1;
}

static void ep_flush(struct rh_ep *e, bool *moved)
{
    while (e->fd >= 0 && e->out_off < e->out_n) {
        ssize_t w = send(e->fd, e->out + e->out_off, e->out_n - e->out_off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w <= 0)
            return; /* the relay stopped reading (its right), or closed */
        e->out_off += (size_t)w;
        *moved = true;
    }
    e->out_off = e->out_n = 0;
}

void rh_write(struct rh *h, int ep, const void *p, size_t n)
{
    struct rh_ep *e = ep_get(h, ep);
    if (n == 0)
        return;
    if (e->out_n + n > e->out_cap) {
        e->out_cap = (e->out_n + n) * 2;
        e->out = xrealloc(e->out, e->out_cap);
    }
    memcpy(e->out + e->out_n, p, n);
    e->out_n += n;
    bool moved;
    ep_flush(e, &moved);
}

/* --- what the relay writes ------------------------------------------------- */

static void head_to_frame(struct rh_frame *f, const struct msrp_head *hd)
{
    f->request = hd->kind == MSRP_REQUEST;
    if (f->request)
        snprintf(f->method, sizeof(f->method), "%.*s", (int)hd->method_name.n,
                 hd->method_name.p);
    f->status = hd->status;
    f->tid = xstrndup(hd->tid.p, hd->tid.n);
    f->comment = xstrndup(hd->comment.p, hd->comment.n);
    f->hdrs = xrealloc(NULL, sizeof(*f->hdrs) * (hd->n_headers ? hd->n_headers : 1));
    f->n_hdrs = hd->n_headers;
    for (uint16_t i = 0; i < hd->n_headers; i++) {
        f->hdrs[i].name = xstrndup(hd->headers[i].name.p, hd->headers[i].name.n);
        f->hdrs[i].value = xstrndup(hd->headers[i].value.p, hd->headers[i].value.n);
    }
    f->has_body = hd->has_body;
    f->body = xstrndup("", 0);
}

static void body_append(struct rh_ep *e, const char *p, size_t n)
{
    struct rh_frame *f = &e->cur;
    if (f->body_n + n + 1 > e->cur_cap) {
        e->cur_cap = (f->body_n + n + 1) * 2;
        f->body = xrealloc(f->body, e->cur_cap);
    }
    memcpy(f->body + f->body_n, p, n);
    f->body_n += n;
    f->body[f->body_n] = '\0';
}

static void frame_done(struct rh *h, int ep, const struct msrp_head *hd, char flag)
{
    struct rh_ep *e = &h->eps[ep];
    e->cur.flag = flag;
    if (e->n_frames == e->cap_frames) {
        e->cap_frames = e->cap_frames ? e->cap_frames * 2 : 16;
        e->frames = xrealloc(e->frames, e->cap_frames * sizeof(*e->frames));
    }
    e->frames[e->n_frames++] = e->cur;
    memset(&e->cur, 0, sizeof(e->cur));
    e->cur_cap = 0;
    const struct rh_frame *f = &e->frames[e->n_frames - 1];
    if (!f->request) {
        if (f->status == 200 && hd->n_use_path)
            snprintf(e->use_path, sizeof(e->use_path), "%.*s", (int)hd->use_path[0].raw.n,
                     hd->use_path[0].raw.p);
        return;
    }
    /* Every SEND, whatever its Failure-Report says: the relay must cope
     * with answers it did not ask for (they match no piece). */
    if (hd->method != MSRP_M_SEND || e->answer == 0 || h->answer_budget == 0)
        return;
    if (h->answer_budget > 0)
        h->answer_budget--;
    char out[4096];
    int n = msrp_write_response(out, sizeof(out), hd, e->answer, NULL, NULL);
    if (n < 0) {
        fprintf(stderr, "relay_harness: cannot answer: %s\n", msrp_strerror(n));
        abort();
    }
    rh_write(h, ep, out, (size_t)n);
}

static void ep_feed(struct rh *h, int ep, const char *buf, size_t n)
{
    struct rh_ep *e = &h->eps[ep];
    if (e->raw_n + n <= RH_RAW_CAP) {
        if (e->raw_n + n + 1 > e->raw_cap) {
            e->raw_cap = (e->raw_n + n + 1) * 2;
            e->raw = xrealloc(e->raw, e->raw_cap);
        }
        memcpy(e->raw + e->raw_n, buf, n);
        e->raw_n += n;
        e->raw[e->raw_n] = '\0';
    }
    while (!e->perr) {
        struct msrp_event ev;
        size_t used = msrp_parse(&e->p, buf, n, &ev);
        buf += used;
        n -= used;
        switch (ev.type) {
        case MSRP_EV_NONE:
            return;
        case MSRP_EV_ERROR:
            /* The relay must only write well-formed MSRP. */
            e->perr = ev.error;
            fprintf(stderr, "relay_harness: the relay wrote a malformed frame to ep %d: %s at %llu\n",
                    ep, msrp_strerror(ev.error), (unsigned long long)ev.error_offset);
            return;
        case MSRP_EV_HEADERS_END:
            head_to_frame(&e->cur, ev.head);
            break;
        case MSRP_EV_BODY:
            body_append(e, ev.body.p, ev.body.n);
            break;
        case MSRP_EV_FRAME_END:
            frame_done(h, ep, ev.head, ev.flag);
            break;
        default:
            break;
        }
    }
}

/* Accepts next-hop connections, reads and writes every endpoint; true if
 * anything moved. */
static bool pump(struct rh *h)
{
    bool moved = false;
    for (;;) {
        int fd = accept4(h->hop_lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            break;
        int ep = ep_new(h, fd, true);
        if (ep >= 0)
            h->hops[h->n_hops++] = ep;
        moved = true;
    }
    static char buf[65536];
    for (int i = 0; i < RH_MAX_EPS; i++) {
        struct rh_ep *e = &h->eps[i];
        if (!e->used || e->fd < 0)
            continue;
        ep_flush(e, &moved);
        for (int k = 0; k < 64 && !e->eof; k++) {
            ssize_t r = recv(e->fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                e->eof = true;
                moved = true;
                break;
            }
            if (r < 0)
                break;
            moved = true;
            ep_feed(h, i, buf, (size_t)r);
        }
        ep_flush(e, &moved);
    }
    return moved;
}

/* One round: the loop (waiting up to wait_ms for a completion), then the
 * harness. True if anything moved. */
static bool round_once(struct rh *h, int wait_ms)
{
    struct ur_loop_stats a, b;
    ur_loop_get_stats(h->loop, &a);
    if (ur_loop_run_once(h->loop, wait_ms) < 0)
        die("ur_loop_run_once");
    ur_loop_get_stats(h->loop, &b);
    bool moved = pump(h);
    return moved || a.cqes != b.cqes;
}

bool rh_run_until(struct rh *h, bool (*cond)(struct rh *h, void *arg), void *arg,
                  unsigned deadline_ms)
{
    uint64_t end = rh_now_ms() + deadline_ms;
    for (;;) {
        if (cond(h, arg))
            return true;
        if (rh_now_ms() > end)
            return false;
        round_once(h, 1);
    }
}

struct nframes_arg {
    int ep;
    size_t n;
};

static bool has_nframes(struct rh *h, void *arg)
{
    const struct nframes_arg *a = arg;
    const struct rh_ep *e = &h->eps[a->ep];
    return e->n_frames >= a->n || e->perr || e->eof; /* no more will come */
}

bool rh_wait_frames(struct rh *h, int ep, size_t n)
{
    struct nframes_arg a = { ep, n };
    ep_get(h, ep);
    rh_run_until(h, has_nframes, &a, RH_DEADLINE_MS);
    return h->eps[ep].n_frames >= n && !h->eps[ep].perr;
}

static bool has_hops(struct rh *h, void *arg)
{
    return h->n_hops >= *(unsigned *)arg;
}

bool rh_wait_hops(struct rh *h, unsigned n)
{
    return rh_run_until(h, has_hops, &n, RH_DEADLINE_MS);
}

bool rh_settle_rounds(struct rh *h, unsigned idle_rounds, int wait_ms, unsigned max_rounds)
{
    /* Bounded, so a relay that keeps busy (timers) cannot hang a test. */
    uint64_t end = rh_now_ms() + RH_DEADLINE_MS;
    unsigned idle = 0;
    for (unsigned r = 0; idle < idle_rounds && (!max_rounds || r < max_rounds) &&
                         rh_now_ms() < end; r++)
        idle = round_once(h, wait_ms) ? 0 : idle + 1;
    return idle >= idle_rounds;
}

void rh_settle(struct rh *h)
{
    /* Idle: nothing moved over 20 rounds of up to 2 ms each. */
    rh_settle_rounds(h, 20, 2, 0);
}

/* --- setup and teardown ------------------------------------------------------ */

void rh_config_default(struct gw_relay_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen[0].host, sizeof(cfg->listen[0].host), "127.0.0.1");
    cfg->n_listen = 1;
    snprintf(cfg->uri_host, sizeof(cfg->uri_host), "127.0.0.1");
    snprintf(cfg->realm, sizeof(cfg->realm), RH_REALM);
    cfg->expires_default = 900;
    cfg->expires_min = 10;
    cfg->expires_max = 3600;
    cfg->nonce_lifetime = 300;
    cfg->chunk_timeout_ms = 30000;
    cfg->connect_timeout_ms = 5000;
    msrp_limits_default(&cfg->limits);
    cfg->user_lookup = user_lookup;
}

struct rh *rh_start(const struct gw_relay_config *cfg_in)
{
    return rh_start_loop(cfg_in, NULL);
}

struct rh *rh_start_loop(const struct gw_relay_config *cfg_in, const struct ur_loop_config *lcfg)
{
    struct rh *h = calloc(1, sizeof(*h));
    if (!h)
        die("out of memory");
    rh_cur = h;
    for (int i = 0; i < RH_MAX_EPS; i++)
        h->eps[i].fd = -1;
    const char *lvl = getenv("RH_LOG");
    gw_log_open(lvl && !strcmp(lvl, "debug") ? GW_LOG_DEBUG : GW_LOG_ERROR, GW_LOG_TEXT, NULL);
    h->hop_answer = 200;
    h->answer_budget = -1;
    h->hop_lfd = listen_local(&h->hop_port);
    fcntl(h->hop_lfd, F_SETFL, O_NONBLOCK);
    h->met = aligned_alloc(64, sizeof(*h->met));
    if (!h->met)
        die("out of memory");
    memset(h->met, 0, sizeof(*h->met));
    struct ur_loop_config lc;
    ur_loop_config_default(&lc);
    lc.buf_count = 64;
    if (lcfg)
        lc = *lcfg;
    if (ur_loop_new(&h->loop, &lc) != 0)
        die("ur_loop_new");
    /* The relay's listener needs a free port: one the kernel just gave
     * us, released right before (another process may take it in
     * between: then try again). */
    int err = -1;
    for (int tries = 0; tries < 20 && err != 0; tries++) {
        int fd = listen_local(&h->port);
        close(fd);
        struct gw_relay_config cfg = *cfg_in;
        cfg.listen[0].port = h->port;
        cfg.n_listen = cfg.n_listen ? cfg.n_listen : 1;
        cfg.metrics = h->met;
        if (!cfg.user_lookup)
            cfg.user_lookup = user_lookup;
        if (gw_relay_new(&h->relay, &cfg, 1) != 0)
            die("gw_relay_new");
        err = gw_relay_core_init(h->loop, 0, h->relay);
        if (err != 0) {
            gw_relay_free(h->relay);
            h->relay = NULL;
        }
    }
    if (err != 0)
        die("gw_relay_core_init");
    h->core = gw_relay_core_of(h->loop);
    h->pair_lfd = listen_local(&(uint16_t){ 0 });
    snprintf(h->self_uri, sizeof(h->self_uri), "msrp://127.0.0.1:%u;tcp", h->port);
    msrp_limits_default(&h->plim);
    h->plim.max_header_bytes = RH_SCRATCH;
    h->plim.max_headers = MSRP_HEADERS_CAP;
    h->plim.max_path_uris = MSRP_PATH_CAP;
    h->plim.max_uri_len = 4096;
    h->plim.max_tid_len = MSRP_TID_CAP;
    msrp_limits_check(&h->plim);
    return h;
}

unsigned rh_reset(struct rh *h, unsigned max_rounds)
{
    for (int i = 0; i < RH_MAX_EPS; i++)
        if (h->eps[i].used)
            rh_close(h, i);
    /* Next-hop connections still in the backlog: accepted (and closed) by
     * the rounds below. */
    uint64_t end = rh_now_ms() + RH_DEADLINE_MS;
    for (unsigned r = 0; gw_relay_conns(h->relay) > 0 && rh_now_ms() < end &&
                         (!max_rounds || r < max_rounds); r++) {
        round_once(h, 1);
        for (int i = 0; i < RH_MAX_EPS; i++)
            if (h->eps[i].used && h->eps[i].fd >= 0)
                rh_close(h, i);
    }
    unsigned left = gw_relay_conns(h->relay);
    for (int i = 0; i < RH_MAX_EPS; i++)
        if (h->eps[i].used)
            ep_free(&h->eps[i]);
    for (int i = 0; i < RH_MAX_EPS; i++)
        h->eps[i].fd = -1;
    h->n_hops = 0;
    return left;
}

void rh_release(struct rh **hp)
{
    if (*hp)
        rh_stop(*hp);
    *hp = NULL;
}

void rh_stop(struct rh *h)
{
    unsigned left = rh_reset(h, 0);
    gw_relay_core_fini(h->loop, 0, h->relay);
    ur_loop_free(h->loop);
    gw_relay_free(h->relay);
    close(h->pair_lfd);
    close(h->hop_lfd);
    free(h->met);
    free(h);
    rh_cur = NULL;
    gw_log_close();
    if (left) {
        fprintf(stderr, "relay_harness: %u relay connections left after every peer closed\n",
                left);
        abort();
    }
#ifdef RH_LSAN
    /* Criterion reports a test's result before its process exits, where
     * LeakSanitizer would look: look now, so a leak fails the test. */
    if (__lsan_do_recoverable_leak_check()) {
        fprintf(stderr, "relay_harness: memory leaked (see LeakSanitizer's report above)\n");
        abort();
    }
#endif
}

/* --- accessors -------------------------------------------------------------------- */

const char *rh_self_uri(const struct rh *h) { return h->self_uri; }
uint16_t rh_port(const struct rh *h) { return h->port; }
struct gw_relay_core *rh_core(struct rh *h) { return h->core; }
const struct gw_metrics *rh_metrics(const struct rh *h) { return h->met; }
void rh_stats(const struct rh *h, struct gw_relay_stats *st) { gw_relay_get_stats(h->relay, st); }

int rh_peer(struct rh *h)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    if (getsockname(h->pair_lfd, (struct sockaddr *)&a, &al) != 0)
        die("getsockname");
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) != 0)
        die("connect");
    int s = accept4(h->pair_lfd, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0)
        die("accept");
    int ep = ep_new(h, c, false);
    if (ep < 0) {
        fprintf(stderr, "relay_harness: more than %d endpoints\n", RH_MAX_EPS);
        abort();
    }
    relay_adopt(h->core, s, false);
    return ep;
}

int rh_hop(const struct rh *h, unsigned k) { return k < h->n_hops ? h->hops[k] : -1; }
unsigned rh_hops(const struct rh *h) { return h->n_hops; }
void rh_answer_code(struct rh *h, int ep, uint16_t code) { ep_get(h, ep)->answer = code; }
void rh_hop_answer(struct rh *h, uint16_t code) { h->hop_answer = code; }
void rh_answer_budget(struct rh *h, long n) { h->answer_budget = n; }
size_t rh_nframes(const struct rh *h, int ep) { return ep_get(h, ep)->n_frames; }
int rh_parse_error(const struct rh *h, int ep) { return ep_get(h, ep)->perr; }
bool rh_eof(const struct rh *h, int ep) { return ep_get(h, ep)->eof; }
const char *rh_use_path(const struct rh *h, int ep) { return ep_get(h, ep)->use_path; }

const struct rh_frame *rh_frame(const struct rh *h, int ep, size_t idx)
{
    const struct rh_ep *e = ep_get(h, ep);
    return idx < e->n_frames ? &e->frames[idx] : NULL;
}

const char *rh_raw(const struct rh *h, int ep, size_t *n)
{
    const struct rh_ep *e = ep_get(h, ep);
    if (n)
        *n = e->raw_n;
    return e->raw ? e->raw : "";
}

const char *rh_hdr(const struct rh_frame *f, const char *name)
{
    for (size_t i = 0; f && i < f->n_hdrs; i++)
        if (strcasecmp(f->hdrs[i].name, name) == 0)
            return f->hdrs[i].value;
    return NULL;
}

/* --- requests ------------------------------------------------------------------- */

void rh_request(struct rh *h, int ep, const char *method, const char *tid, const char *to,
                const char *from, const char *extra, const void *body, size_t body_n,
                char flag)
{
    char head[16384];
    int n = snprintf(head, sizeof(head), "MSRP %s %s\r\nTo-Path: %s\r\nFrom-Path: %s\r\n%s%s",
                     tid, method, to, from, extra ? extra : "", body ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof(head))
        die("request head too long");
    rh_write(h, ep, head, (size_t)n);
    if (body && body_n)
        rh_write(h, ep, body, body_n);
    n = snprintf(head, sizeof(head), "%s-------%s%c\r\n", body ? "\r\n" : "", tid, flag);
    rh_write(h, ep, head, (size_t)n);
}

/* The first URI of a path header value. */
static size_t first_uri(const char *v)
{
    size_t n = strcspn(v, " \t");
    return n;
}

void rh_answer(struct rh *h, int ep, size_t idx, uint16_t code)
{
    const struct rh_frame *f = rh_frame(h, ep, idx);
    const char *to = f ? rh_hdr(f, "To-Path") : NULL;
    const char *from = f ? rh_hdr(f, "From-Path") : NULL;
    if (!f || !f->request || !to || !from) {
        fprintf(stderr, "relay_harness: ep %d has no request %zu to answer\n", ep, idx);
        abort();
    }
    char out[4096];
    int n = snprintf(out, sizeof(out), "MSRP %s %u\r\nTo-Path: %.*s\r\nFrom-Path: %.*s\r\n-------%s$\r\n",
                     f->tid, code, (int)first_uri(from), from, (int)first_uri(to), to, f->tid);
    rh_write(h, ep, out, (size_t)n);
}

/* --- AUTH -------------------------------------------------------------------------- */

void rh_authorization(char *out, size_t cap, const char *www, const char *uri, const char *user,
                      const char *pass, uint32_t nc)
{
    static struct msrp_digest_fields chal;
    if (msrp_digest_parse(&chal, www, strlen(www)) != 0) {
        fprintf(stderr, "relay_harness: cannot parse challenge %s\n", www);
        abort();
    }
    const struct msrp_digest_client cl = {
        msrp_slice(user, strlen(user)), msrp_slice(pass, strlen(pass)),
        msrp_slice(uri, strlen(uri)), MSRP_SLICE_LIT("0a4f113b"), nc, false
    };
    int n = msrp_digest_authorization(out, cap, &chal, &cl);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "relay_harness: cannot build an Authorization\n");
        abort();
    }
    out[n] = '\0';
}

int rh_auth(struct rh *h, int ep, const char *from, const char *user, const char *pass,
            int64_t expires)
{
    struct rh_ep *e = ep_get(h, ep);
    size_t k = e->n_frames;
    rh_request(h, ep, "AUTH", "rhauth01", h->self_uri, from, NULL, NULL, 0, '$');
    if (!rh_wait_frames(h, ep, k + 1))
        return 0;
    const struct rh_frame *f = &e->frames[k];
    const char *www = rh_hdr(f, "WWW-Authenticate");
    if (f->status != 401 || !www)
        return f->status;
    char extra[2048];
    char authz[1536];
    rh_authorization(authz, sizeof(authz), www, h->self_uri, user, pass, 1);
    int n = snprintf(extra, sizeof(extra), "Authorization: %s\r\n", authz);
    if (expires >= 0)
        snprintf(extra + n, sizeof(extra) - (size_t)n, "Expires: %lld\r\n", (long long)expires);
    e->use_path[0] = '\0';
    rh_request(h, ep, "AUTH", "rhauth02", h->self_uri, from, extra, NULL, 0, '$');
    if (!rh_wait_frames(h, ep, k + 2))
        return 0;
    return e->frames[k + 1].status;
}
