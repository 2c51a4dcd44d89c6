/*
 * server.c: the ng control thread (see server.h): sockets, framing,
 * retransmission cache, and the hand-off of commands to the cores.
 *
 * Bounds: a datagram or stream message of at most NG_MSG_MAX bytes; at
 * most NG_UNIX_CONNS unix clients (more are closed at accept); at most
 * NG_CACHE remembered replies (the oldest forgotten); a request whose
 * cookie is still being worked on is dropped (its reply will come).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <signal.h>

#include "gateway/obs/accounting.h"
#include "gateway/obs/log.h"
#include "gateway/obs/metrics.h"
#include "gateway/ng/bencode.h"
#include "gateway/ng/server.h"
#include "gateway/relay/relay.h"
#include "uring/loop.h"
#include "uring/runtime.h"

#define NG_MSG_MAX (256 * 1024)
#define NG_REPLY_MAX (512 * 1024)
#define NG_UNIX_CONNS 16
#define NG_CACHE 256
#define NG_COOKIE_MAX 64
#define NG_DGRAM_REPLY_MAX 65000 /* a sessions reply over UDP stays one datagram */

struct ng_origin {
    int unix_idx;                   /* -1: UDP */
    uint64_t unix_gen;              /* the unix connection it came on */
    struct sockaddr_storage addr;   /* UDP peer */
    socklen_t addr_len;
};

struct ng_job {
    struct gw_ng_server *s;
    struct ng_job *next;            /* s->done */
    char cookie[NG_COOKIE_MAX + 1];
    struct ng_origin from;
    char *req;
    size_t req_n;
    char *reply;
    int reply_n;
    /* list: one post per core, the last one finishing replies. */
    _Atomic unsigned parts;
    pthread_mutex_t lock;
    struct ng_benc e;
    unsigned omitted;               /* sessions: left out for room */
};

struct ng_cached {
    char cookie[NG_COOKIE_MAX + 1];
    bool pending;
    char *reply;
    size_t reply_n;
};

struct ng_unix {
    int fd;
    uint64_t gen;
    char *buf;
    size_t n;
};

struct gw_ng_server {
    struct gw_relay *r;
    struct ur_runtime *rt;
    struct gw_ng_config cfg;
    char unix_path[108];
    int udp, ux, efd;
    uint16_t port;
    pthread_t th;
    bool running;
    _Atomic bool stop;
    struct ng_unix conns[NG_UNIX_CONNS];
    uint64_t gen;
    struct ng_cached cache[NG_CACHE];
    unsigned cache_next;
    pthread_mutex_t qlock;
    struct ng_job *done;            /* replies ready, from the cores */
    _Atomic unsigned inflight;      /* jobs posted, not yet replied */
    char *config_text;              /* our copy of cfg.config_text */
};

/* --- the retransmission cache ------------------------------------------- */

static struct ng_cached *cache_find(struct gw_ng_server *s, const char *cookie)
{
    for (unsigned i = 0; i < NG_CACHE; i++)
        if (s->cache[i].cookie[0] && !strcmp(s->cache[i].cookie, cookie))
            return &s->cache[i];
    return NULL;
}

static struct ng_cached *cache_add(struct gw_ng_server *s, const char *cookie)
{
    struct ng_cached *c = &s->cache[s->cache_next++ % NG_CACHE];
    free(c->reply);
    memset(c, 0, sizeof(*c));
    snprintf(c->cookie, sizeof(c->cookie), "%s", cookie);
    c->pending = true;
    return c;
}

/* --- replies -------------------------------------------------------------- */

static void send_reply(struct gw_ng_server *s, const struct ng_origin *o, const char *cookie,
                       const char *body, size_t n)
{
    size_t cn = strlen(cookie);
    char *msg = malloc(cn + 1 + n);
    if (!msg)
        return;
    memcpy(msg, cookie, cn);
    msg[cn] = ' ';
    memcpy(msg + cn + 1, body, n);
    if (o->unix_idx < 0) {
        if (sendto(s->udp, msg, cn + 1 + n, MSG_DONTWAIT, (const struct sockaddr *)&o->addr,
                   o->addr_len) < 0)
            gw_log(GW_LOG_WARN, NULL, NULL, "ng: reply lost: %s", strerror(errno));
    } else {
        struct ng_unix *u = &s->conns[o->unix_idx];
        if (u->fd >= 0 && u->gen == o->unix_gen) {
            size_t off = 0;
            while (off < cn + 1 + n) {
                ssize_t w = write(u->fd, msg + off, cn + 1 + n - off);
                if (w <= 0)
                    break;
                off += (size_t)w;
            }
        }
    }
    free(msg);
}

static void finish(struct gw_ng_server *s, const struct ng_origin *o, const char *cookie,
                   const char *body, size_t n)
{
    send_reply(s, o, cookie, body, n);
    struct ng_cached *c = cache_find(s, cookie);
    if (!c)
        c = cache_add(s, cookie);
    free(c->reply);
    c->reply = malloc(n);
    c->reply_n = c->reply ? n : 0;
    if (c->reply)
        memcpy(c->reply, body, n);
    c->pending = false;
}

static void simple_reply(struct gw_ng_server *s, const struct ng_origin *o, const char *cookie,
                         const char *result, const char *reason)
{
    char buf[512];
    struct ng_benc e;
    ng_benc_init(&e, buf, sizeof(buf));
    ng_benc_dict(&e);
    ng_benc_kv_cstr(&e, "result", result);
    if (reason)
        ng_benc_kv_cstr(&e, "error-reason", reason);
    ng_benc_end(&e);
    if (!e.err)
        finish(s, o, cookie, buf, e.n);
}

/* From a core: queue the job's reply for the control thread. */
static void job_done(struct ng_job *j)
{
    struct gw_ng_server *s = j->s;
    pthread_mutex_lock(&s->qlock);
    j->next = s->done;
    s->done = j;
    pthread_mutex_unlock(&s->qlock);
    uint64_t one = 1;
    if (write(s->efd, &one, sizeof(one)) < 0) {
        /* the counter saturates only after 2^64 - 1 unread wakeups */
    }
}

static void job_free(struct ng_job *j)
{
    free(j->req);
    free(j->reply);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

/* The jobs the cores finished, all at once. */
static struct ng_job *take_done(struct gw_ng_server *s)
{
    pthread_mutex_lock(&s->qlock);
    struct ng_job *j = s->done;
    s->done = NULL;
    pthread_mutex_unlock(&s->qlock);
    return j;
}

static void drain_done(struct gw_ng_server *s)
{
    uint64_t v;
    if (read(s->efd, &v, sizeof(v)) < 0) {
        /* nothing pending: another wakeup consumed it */
    }
    struct ng_job *j = take_done(s);
    while (j) {
        struct ng_job *next = j->next;
        if (j->reply_n > 0)
            finish(s, &j->from, j->cookie, j->reply, (size_t)j->reply_n);
        else
            simple_reply(s, &j->from, j->cookie, "error", "reply too large");
        atomic_fetch_sub(&s->inflight, 1);
        job_free(j);
        j = next;
    }
}

/* --- commands on the cores ---------------------------------------------- */

static void run_on_core(struct ur_loop *loop, void *arg)
{
    struct ng_job *j = arg;
    struct gw_relay_core *core = gw_relay_core_of(loop);
    j->reply = malloc(NG_REPLY_MAX);
    j->reply_n = j->reply && core ? gw_ng_command(j->s->r, core, j->s->cfg.max_size, j->req,
                                                  j->req_n, j->reply, NG_REPLY_MAX)
                                  : -ENOMEM;
    job_done(j);
}

static void add_call(void *arg, const char *call_id)
{
    struct ng_job *j = arg;
    ng_benc_cstr(&j->e, call_id);
}

static void list_on_core(struct ur_loop *loop, void *arg)
{
    struct ng_job *j = arg;
    struct gw_relay_core *core = gw_relay_core_of(loop);
    pthread_mutex_lock(&j->lock);
    if (core)
        gw_anchor_list(core, add_call, j);
    pthread_mutex_unlock(&j->lock);
    if (atomic_fetch_sub(&j->parts, 1) == 1) {
        ng_benc_end(&j->e);
        ng_benc_end(&j->e);
        j->reply_n = j->e.err ? -ENOSPC : (int)j->e.n;
        job_done(j);
    }
}

static struct ng_job *job_new(struct gw_ng_server *s, const char *cookie,
                              const struct ng_origin *o, const char *body, size_t n)
{
    struct ng_job *j = calloc(1, sizeof(*j));
    if (!j || !(j->req = malloc(n ? n : 1))) {
        free(j);
        return NULL;
    }
    j->s = s;
    snprintf(j->cookie, sizeof(j->cookie), "%s", cookie);
    j->from = *o;
    memcpy(j->req, body, n);
    j->req_n = n;
    pthread_mutex_init(&j->lock, NULL);
    return j;
}

static void statistics(struct gw_ng_server *s, const struct ng_origin *o, const char *cookie)
{
    struct gw_relay_stats st;
    gw_relay_get_stats(s->r, &st);
    char buf[1024];
    struct ng_benc e;
    ng_benc_init(&e, buf, sizeof(buf));
    ng_benc_dict(&e);
    ng_benc_kv_cstr(&e, "result", "ok");
    ng_benc_cstr(&e, "currentstatistics");
    ng_benc_dict(&e);
    ng_benc_kv_int(&e, "sessionsown", (int64_t)st.anchors);
    ng_benc_kv_int(&e, "sessionstotal", (int64_t)st.anchors);
    ng_benc_kv_int(&e, "reservations", (int64_t)st.sessions);
    ng_benc_kv_int(&e, "activechunks", (int64_t)st.active_chunks);
    ng_benc_kv_int(&e, "bytesforwarded", (int64_t)st.body_bytes);
    ng_benc_end(&e);
    ng_benc_end(&e);
    if (!e.err)
        finish(s, o, cookie, buf, e.n);
}

/* --- admin commands (server.h) ------------------------------------------- */

bool gw_ng_admin_allowed(const void *sa, unsigned len, bool remote_ok)
{
    if (remote_ok)
        return true;
    const struct sockaddr *a = sa;
    if (len >= sizeof(struct sockaddr_in) && a->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = sa;
        return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    }
    if (len >= sizeof(struct sockaddr_in6) && a->sa_family == AF_INET6) {
        const struct in6_addr *x = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(x) || (IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127);
    }
    return false;
}

static size_t cstr_len(const char *s) { return s ? strlen(s) : 0; }

/* On a core, j->lock held: one session as a dict, unless the reply would
 * outgrow its buffer (then counted in omitted). */
static void add_session(void *arg, const struct gw_acct_record *r)
{
    struct ng_job *j = arg;
    struct ng_benc *e = &j->e;
    size_t need = 512 + cstr_len(r->id) + cstr_len(r->user) + cstr_len(r->peer) +
                  cstr_len(r->remote) + cstr_len(r->call_id);
    if (e->err || e->cap - e->n < need + 64) {
        j->omitted++;
        return;
    }
    ng_benc_dict(e);
    ng_benc_kv_cstr(e, "kind", r->kind);
    ng_benc_kv_cstr(e, "id", r->id);
    if (r->call_id)
        ng_benc_kv_cstr(e, "call-id", r->call_id);
    else
        ng_benc_kv_cstr(e, "user", r->user);
    ng_benc_kv_cstr(e, "peer", r->peer);
    ng_benc_kv_cstr(e, "remote", r->remote);
    ng_benc_kv_int(e, "start_ms", (int64_t)r->start_ms);
    ng_benc_kv_int(e, "age_ms", (int64_t)r->duration_ms);
    ng_benc_kv_int(e, "bytes_in", (int64_t)r->bytes_in);
    ng_benc_kv_int(e, "bytes_out", (int64_t)r->bytes_out);
    ng_benc_kv_int(e, "body_in", (int64_t)r->body_in);
    ng_benc_kv_int(e, "body_out", (int64_t)r->body_out);
    ng_benc_kv_int(e, "chunks_in", (int64_t)r->chunks_in);
    ng_benc_kv_int(e, "chunks_out", (int64_t)r->chunks_out);
    ng_benc_end(e);
}

static void sessions_on_core(struct ur_loop *loop, void *arg)
{
    struct ng_job *j = arg;
    struct gw_relay_core *core = loop ? gw_relay_core_of(loop) : NULL;
    pthread_mutex_lock(&j->lock);
    if (core)
        gw_relay_sessions(core, add_session, j);
    pthread_mutex_unlock(&j->lock);
    if (atomic_fetch_sub(&j->parts, 1) == 1) {
        ng_benc_end(&j->e); /* the list */
        if (j->omitted)
            ng_benc_kv_int(&j->e, "omitted", j->omitted);
        ng_benc_end(&j->e);
        j->reply_n = j->e.err ? -ENOSPC : (int)j->e.n;
        job_done(j);
    }
}

static int small_reply(struct ng_job *j, const char *result, const char *reason)
{
    struct ng_benc e;
    if (!j->reply && !(j->reply = malloc(512)))
        return -ENOMEM;
    ng_benc_init(&e, j->reply, 512);
    ng_benc_dict(&e);
    ng_benc_kv_cstr(&e, "result", result);
    if (reason)
        ng_benc_kv_cstr(&e, "error-reason", reason);
    ng_benc_end(&e);
    return e.err ? -ENOSPC : (int)e.n;
}

/* On the session's owner core; j->req holds the id. */
static void kill_on_core(struct ur_loop *loop, void *arg)
{
    struct ng_job *j = arg;
    struct gw_relay_core *core = gw_relay_core_of(loop);
    int k = core ? gw_relay_kill(core, msrp_slice(j->req, j->req_n)) : 0;
    j->reply_n = small_reply(j, k > 0 ? "ok" : "error", k > 0 ? NULL : "Unknown session");
    job_done(j);
}

/* On loop 0 (gw_metrics_scrape_as runs on a loop): the metrics as JSON. */
static void stats_done(const char *text, size_t len, void *ud)
{
    struct ng_job *j = ud;
    size_t cap = len + 128;
    if (!text || !(j->reply = malloc(cap))) {
        j->reply_n = small_reply(j, "error", "out of memory");
        job_done(j);
        return;
    }
    struct ng_benc e;
    ng_benc_init(&e, j->reply, cap);
    ng_benc_dict(&e);
    ng_benc_kv_cstr(&e, "result", "ok");
    ng_benc_kv_str(&e, "json", text, len);
    ng_benc_end(&e);
    j->reply_n = e.err ? -ENOSPC : (int)e.n;
    job_done(j);
}

static void stats_on_core(struct ur_loop *loop, void *arg)
{
    (void)loop;
    struct ng_job *j = arg;
    if (gw_metrics_scrape_as(j->s->cfg.hub, true, stats_done, j, NULL) < 0) {
        j->reply_n = small_reply(j, "error", "out of memory");
        job_done(j);
    }
}

/* config: the dump's "[section]" and "key = value" lines as a dict of
 * dicts; a key on consecutive lines (user, listen) becomes a list. */
static void config_reply(struct gw_ng_server *s, const struct ng_origin *o, const char *cookie)
{
    char *buf = s->config_text ? malloc(NG_REPLY_MAX) : NULL;
    if (!buf) {
        simple_reply(s, o, cookie, "error", s->config_text ? "out of memory" : "no configuration");
        return;
    }
    struct ng_benc e;
    ng_benc_init(&e, buf, NG_REPLY_MAX);
    ng_benc_dict(&e);
    ng_benc_kv_cstr(&e, "result", "ok");
    ng_benc_cstr(&e, "config");
    ng_benc_dict(&e);
    bool in_section = false;
    const char *p = s->config_text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        const char *next = eol ? eol + 1 : p + n;
        const char *eq = memchr(p, '=', n);
        if (n > 2 && p[0] == '[' && p[n - 1] == ']') {
            if (in_section)
                ng_benc_end(&e);
            ng_benc_str(&e, p + 1, n - 2);
            ng_benc_dict(&e);
            in_section = true;
        } else if (in_section && eq && eq > p && eq[-1] == ' ' && p[0] != '#') {
            size_t kn = (size_t)(eq - p) - 1;
            const char *v = eq + 1 < p + n && eq[1] == ' ' ? eq + 2 : eq + 1;
            /* Lines that repeat this key right after it: a list. */
            size_t run = 0;
            for (const char *q = next; *q && !strncmp(q, p, kn + 3); run++) {
                const char *qe = strchr(q, '\n');
                q = qe ? qe + 1 : q + strlen(q);
            }
            ng_benc_str(&e, p, kn);
            if (run)
                ng_benc_list(&e);
            for (size_t i = 0; i <= run; i++) {
                ng_benc_str(&e, v, (size_t)(p + n - v));
                if (i == run)
                    break;
                p = next;
                eol = strchr(p, '\n');
                n = eol ? (size_t)(eol - p) : strlen(p);
                next = eol ? eol + 1 : p + n;
                v = p + kn + 3;
            }
            if (run)
                ng_benc_end(&e);
        }
        p = next;
    }
    if (in_section)
        ng_benc_end(&e);
    ng_benc_end(&e);
    ng_benc_end(&e);
    if (e.err)
        simple_reply(s, o, cookie, "error", "reply too large");
    else
        finish(s, o, cookie, buf, e.n);
    free(buf);
}

static bool is_admin(const struct ng_bval *cmd)
{
    static const char *const names[] = { "sessions", "kill", "drain", "reload", "config", "stats" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (ng_bstr_eq(cmd, names[i]))
            return true;
    return false;
}

/* Posts job j to one core (the control thread's side); false: answered
 * with an error. */
static bool post_job(struct gw_ng_server *s, struct ng_job *j, unsigned core, ur_post_fn fn)
{
    cache_add(s, j->cookie);
    atomic_fetch_add(&s->inflight, 1);
    if (ur_loop_post(ur_runtime_loop(s->rt, core), fn, j) == 0)
        return true;
    atomic_fetch_sub(&s->inflight, 1);
    struct ng_cached *c = cache_find(s, j->cookie);
    if (c)
        c->cookie[0] = '\0';
    simple_reply(s, &j->from, j->cookie, "error", "busy");
    job_free(j);
    return false;
}

static void admin(struct gw_ng_server *s, const struct ng_origin *o, const char *cookie,
                  const struct ng_bval *nodes, const struct ng_bval *cmd)
{
    if (o->unix_idx < 0 &&
        !gw_ng_admin_allowed(&o->addr, o->addr_len, s->cfg.admin_remote)) {
        gw_log(GW_LOG_WARN, NULL, NULL, "ng: admin command %.*s refused: not from loopback",
               (int)cmd->s.n, cmd->s.p);
        simple_reply(s, o, cookie, "error", "admin commands not allowed from this address");
        return;
    }
    gw_log(GW_LOG_INFO, NULL, NULL, "ng: admin command %.*s", (int)cmd->s.n, cmd->s.p);
    unsigned ncores = gw_relay_ncores(s->r);
    if (ng_bstr_eq(cmd, "drain")) {
        gw_log(GW_LOG_INFO, NULL, NULL, "draining (admin): no new connections; sessions go on");
        gw_relay_drain(s->r);
        simple_reply(s, o, cookie, "ok", NULL);
    } else if (ng_bstr_eq(cmd, "reload")) {
        /* The main thread takes SIGHUP with sigwaitinfo (main.c). */
        simple_reply(s, o, cookie, kill(getpid(), SIGHUP) == 0 ? "ok" : "error",
                     NULL);
    } else if (ng_bstr_eq(cmd, "config")) {
        config_reply(s, o, cookie);
    } else if (ng_bstr_eq(cmd, "stats")) {
        struct ng_job *j = s->cfg.hub ? job_new(s, cookie, o, "", 0) : NULL;
        if (!j)
            simple_reply(s, o, cookie, "error", s->cfg.hub ? "out of memory" : "no metrics");
        else
            post_job(s, j, 0, stats_on_core);
    } else if (ng_bstr_eq(cmd, "kill")) {
        const struct ng_bval *id = ng_bdict_get(nodes, &nodes[0], "id");
        int owner = id && id->type == NG_BSTR ? gw_relay_sessid_core(id->s, ncores) : -1;
        struct ng_job *j = owner >= 0 ? job_new(s, cookie, o, id->s.p, id->s.n) : NULL;
        if (!j)
            simple_reply(s, o, cookie, "error", owner < 0 ? "Unknown session" : "out of memory");
        else
            post_job(s, j, (unsigned)owner, kill_on_core);
    } else { /* sessions */
        size_t cap = o->unix_idx < 0 ? NG_DGRAM_REPLY_MAX : NG_REPLY_MAX;
        struct ng_job *j = job_new(s, cookie, o, "", 0);
        if (!j || !(j->reply = malloc(cap))) {
            if (j)
                job_free(j);
            simple_reply(s, o, cookie, "error", "out of memory");
            return;
        }
        ng_benc_init(&j->e, j->reply, cap);
        ng_benc_dict(&j->e);
        ng_benc_kv_cstr(&j->e, "result", "ok");
        ng_benc_cstr(&j->e, "sessions");
        ng_benc_list(&j->e);
        atomic_store(&j->parts, ncores);
        cache_add(s, cookie);
        atomic_fetch_add(&s->inflight, 1);
        for (unsigned i = 0; i < ncores; i++)
            if (ur_loop_post(ur_runtime_loop(s->rt, i), sessions_on_core, j) < 0)
                sessions_on_core(NULL, j); /* that core's part stays empty */
    }
}

/* One request: "COOKIE SP DICT". */
static void handle(struct gw_ng_server *s, const struct ng_origin *o, const char *p, size_t n)
{
    struct msrp_slice ck, body;
    if (ng_split_cookie(p, n, &ck, &body) != 0 || ck.n > NG_COOKIE_MAX) {
        gw_log(GW_LOG_WARN, NULL, NULL, "ng: request without a cookie dropped (%zu bytes)", n);
        return;
    }
    char cookie[NG_COOKIE_MAX + 1];
    memcpy(cookie, ck.p, ck.n);
    cookie[ck.n] = '\0';
    struct ng_cached *c = cache_find(s, cookie);
    if (c) {
        if (!c->pending && c->reply)
            send_reply(s, o, cookie, c->reply, c->reply_n); /* a retransmission */
        return;
    }
    /* Only the command and the call-id matter here; the core decodes the
     * request again where it runs. The control thread is alone here. */
    static struct ng_bval nodes[4096];
    int k = ng_bdecode(body.p, body.n, nodes, 4096, 16);
    const struct ng_bval *cmd = NULL, *call = NULL;
    if (k >= 1 && nodes[0].type == NG_BDICT) {
        cmd = ng_bdict_get(nodes, &nodes[0], "command");
        call = ng_bdict_get(nodes, &nodes[0], "call-id");
    }
    if (!cmd || cmd->type != NG_BSTR) {
        simple_reply(s, o, cookie, "error", k < 1 ? "malformed request" : "no command");
        return;
    }
    if (ng_bstr_eq(cmd, "ping")) {
        simple_reply(s, o, cookie, "pong", NULL);
        return;
    }
    if (ng_bstr_eq(cmd, "statistics")) {
        statistics(s, o, cookie);
        return;
    }
    if (is_admin(cmd)) {
        admin(s, o, cookie, nodes, cmd);
        return;
    }
    unsigned ncores = gw_relay_ncores(s->r);
    if (ng_bstr_eq(cmd, "list")) {
        struct ng_job *j = job_new(s, cookie, o, "", 0);
        if (!j || !(j->reply = malloc(NG_REPLY_MAX))) {
            if (j)
                job_free(j);
            simple_reply(s, o, cookie, "error", "out of memory");
            return;
        }
        ng_benc_init(&j->e, j->reply, NG_REPLY_MAX);
        ng_benc_dict(&j->e);
        ng_benc_kv_cstr(&j->e, "result", "ok");
        ng_benc_cstr(&j->e, "calls");
        ng_benc_list(&j->e);
        atomic_store(&j->parts, ncores);
        cache_add(s, cookie);
        atomic_fetch_add(&s->inflight, 1);
        for (unsigned i = 0; i < ncores; i++)
            ur_loop_post(ur_runtime_loop(s->rt, i), list_on_core, j);
        return;
    }
    if (!ng_bstr_eq(cmd, "offer") && !ng_bstr_eq(cmd, "answer") && !ng_bstr_eq(cmd, "delete") &&
        !ng_bstr_eq(cmd, "query")) {
        simple_reply(s, o, cookie, "error", "Unrecognized command");
        return;
    }
    if (!call || call->type != NG_BSTR || call->s.n == 0) {
        simple_reply(s, o, cookie, "error", "missing call-id");
        return;
    }
    struct ng_job *j = job_new(s, cookie, o, body.p, body.n);
    if (!j) {
        simple_reply(s, o, cookie, "error", "out of memory");
        return;
    }
    cache_add(s, cookie);
    atomic_fetch_add(&s->inflight, 1);
    unsigned core = gw_anchor_core(s->r, call->s);
    if (ur_loop_post(ur_runtime_loop(s->rt, core), run_on_core, j) < 0) {
        atomic_fetch_sub(&s->inflight, 1);
        job_free(j);
        struct ng_cached *c2 = cache_find(s, cookie);
        if (c2)
            c2->cookie[0] = '\0';
        simple_reply(s, o, cookie, "error", "busy");
    }
}

/* --- sockets -------------------------------------------------------------- */

/* Length of the bencoded value at p[0..n): > 0 complete, 0 not yet, -1 bad. */
static long benc_span(const char *p, size_t n)
{
    size_t i = 0;
    unsigned depth = 0;
    do {
        if (i >= n)
            return 0;
        char c = p[i];
        if (c == 'l' || c == 'd') {
            if (++depth > 64)
                return -1;
            i++;
            continue;
        }
        if (c == 'e') {
            if (depth == 0)
                return -1;
            depth--;
            i++;
        } else if (c == 'i') {
            const char *e = memchr(p + i, 'e', n - i);
            if (!e)
                return n - i > 24 ? -1 : 0;
            i = (size_t)(e - p) + 1;
        } else if (c >= '0' && c <= '9') {
            size_t len = 0, j = i;
            while (j < n && p[j] >= '0' && p[j] <= '9') {
                if (j - i > 9)
                    return -1;
                len = len * 10 + (size_t)(p[j] - '0');
                j++;
            }
            if (j >= n)
                return 0;
            if (p[j] != ':')
                return -1;
            if (len > NG_MSG_MAX)
                return -1;
            i = j + 1 + len;
            if (i > n)
                return 0;
        } else {
            return -1;
        }
    } while (depth > 0);
    return (long)i;
}

static void unix_close(struct ng_unix *u)
{
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
    free(u->buf);
    u->buf = NULL;
    u->n = 0;
}

/* Reads what a unix client sent and runs each complete message. */
static void unix_read(struct gw_ng_server *s, int idx)
{
    struct ng_unix *u = &s->conns[idx];
    if (!u->buf && !(u->buf = malloc(NG_MSG_MAX))) {
        unix_close(u);
        return;
    }
    ssize_t r = read(u->fd, u->buf + u->n, NG_MSG_MAX - u->n);
    if (r <= 0) {
        unix_close(u);
        return;
    }
    u->n += (size_t)r;
    for (;;) {
        char *sp = memchr(u->buf, ' ', u->n);
        if (!sp) {
            if (u->n > NG_COOKIE_MAX)
                unix_close(u);
            return;
        }
        size_t ck = (size_t)(sp - u->buf);
        long v = benc_span(sp + 1, u->n - ck - 1);
        if (v < 0 || (v == 0 && u->n == NG_MSG_MAX)) {
            gw_log(GW_LOG_WARN, NULL, NULL, "ng: malformed stream message: closing");
            unix_close(u);
            return;
        }
        if (v == 0)
            return;
        size_t msg = ck + 1 + (size_t)v;
        struct ng_origin o = { .unix_idx = idx, .unix_gen = u->gen };
        handle(s, &o, u->buf, msg);
        if (u->fd < 0)
            return;
        memmove(u->buf, u->buf + msg, u->n - msg);
        u->n -= msg;
    }
}

static void *ng_thread(void *arg)
{
    struct gw_ng_server *s = arg;
    char *dgram = malloc(NG_MSG_MAX);
    if (!dgram)
        return NULL;
    while (!atomic_load(&s->stop)) {
        struct pollfd pf[3 + NG_UNIX_CONNS];
        int map[3 + NG_UNIX_CONNS];
        nfds_t n = 0;
        pf[n] = (struct pollfd){ .fd = s->efd, .events = POLLIN };
        map[n++] = -1;
        if (s->udp >= 0) {
            pf[n] = (struct pollfd){ .fd = s->udp, .events = POLLIN };
            map[n++] = -2;
        }
        if (s->ux >= 0) {
            pf[n] = (struct pollfd){ .fd = s->ux, .events = POLLIN };
            map[n++] = -3;
        }
        for (int i = 0; i < NG_UNIX_CONNS; i++)
            if (s->conns[i].fd >= 0) {
                pf[n] = (struct pollfd){ .fd = s->conns[i].fd, .events = POLLIN };
                map[n++] = i;
            }
        if (poll(pf, n, 500) <= 0)
            continue;
        for (nfds_t k = 0; k < n; k++) {
            if (!pf[k].revents)
                continue;
            if (map[k] == -1) {
                drain_done(s);
            } else if (map[k] == -2) {
                struct ng_origin o = { .unix_idx = -1, .addr_len = sizeof(o.addr) };
                ssize_t r = recvfrom(s->udp, dgram, NG_MSG_MAX, MSG_DONTWAIT,
                                     (struct sockaddr *)&o.addr, &o.addr_len);
                if (r > 0)
                    handle(s, &o, dgram, (size_t)r);
            } else if (map[k] == -3) {
                int fd = accept4(s->ux, NULL, NULL, SOCK_CLOEXEC);
                int slot = -1;
                for (int i = 0; fd >= 0 && i < NG_UNIX_CONNS && slot < 0; i++)
                    if (s->conns[i].fd < 0)
                        slot = i;
                if (slot < 0) {
                    if (fd >= 0)
                        close(fd);
                    continue;
                }
                s->conns[slot].fd = fd;
                s->conns[slot].gen = ++s->gen;
            } else {
                unix_read(s, map[k]);
            }
        }
    }
    free(dgram);
    return NULL;
}

static int open_udp(struct gw_ng_server *s, const char *host, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        len = sizeof(*a4);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        len = sizeof(*a6);
    } else {
        return -EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    s->port = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
    s->udp = fd;
    return 0;
}

static int open_unix(struct gw_ng_server *s, const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(a.sun_path))
        return -ENAMETOOLONG;
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink(path); /* a stale socket of a previous run */
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    snprintf(s->unix_path, sizeof(s->unix_path), "%s", path);
    s->ux = fd;
    return 0;
}

int gw_ng_server_start(struct gw_ng_server **out, const struct gw_ng_config *cfg,
                       struct gw_relay *r, struct ur_runtime *rt)
{
    struct gw_ng_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->r = r;
    s->rt = rt;
    s->cfg = *cfg;
    s->cfg.config_text = NULL; /* ours is s->config_text */
    s->udp = s->ux = -1;
    for (int i = 0; i < NG_UNIX_CONNS; i++)
        s->conns[i].fd = -1;
    pthread_mutex_init(&s->qlock, NULL);
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int err = s->efd < 0 ? -errno : 0;
    if (!err && cfg->config_text && !(s->config_text = strdup(cfg->config_text)))
        err = -ENOMEM;
    if (!err && cfg->udp_host)
        err = open_udp(s, cfg->udp_host, cfg->udp_port);
    if (!err && cfg->unix_path)
        err = open_unix(s, cfg->unix_path);
    if (!err && (err = -pthread_create(&s->th, NULL, ng_thread, s)) == 0)
        s->running = true;
    if (err) {
        gw_ng_server_stop(s);
        return err;
    }
    if (cfg->udp_host)
        gw_log(GW_LOG_INFO, NULL, NULL, "ng control on udp %s:%u", cfg->udp_host, s->port);
    if (cfg->unix_path)
        gw_log(GW_LOG_INFO, NULL, NULL, "ng control on unix %s", cfg->unix_path);
    *out = s;
    return 0;
}

uint16_t gw_ng_server_port(const struct gw_ng_server *s) { return s->port; }

void gw_ng_server_stop(struct gw_ng_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    if (s->running)
        pthread_join(s->th, NULL);
    /* Jobs still on the cores finish there and queue their replies: wait
     * for them (bounded: each is one command on a running loop). */
    for (int i = 0; i < 200 && atomic_load(&s->inflight) > 0; i++) {
        usleep(10000);
        struct ng_job *j = take_done(s);
        while (j) {
            struct ng_job *next = j->next;
            atomic_fetch_sub(&s->inflight, 1);
            job_free(j);
            j = next;
        }
    }
    for (int i = 0; i < NG_UNIX_CONNS; i++)
        unix_close(&s->conns[i]);
    if (s->udp >= 0)
        close(s->udp);
    if (s->ux >= 0) {
        close(s->ux);
        unlink(s->unix_path);
    }
    if (s->efd >= 0)
        close(s->efd);
    for (unsigned i = 0; i < NG_CACHE; i++)
        free(s->cache[i].reply);
    free(s->config_text);
    pthread_mutex_destroy(&s->qlock);
    free(s);
}
