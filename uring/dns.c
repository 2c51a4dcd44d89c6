/*
 * dns.c: the loop's resolver (see dns.h) -- c-ares driven by io_uring.
 *
 * c-ares tells us which sockets it wants watched (sock_state_cb); each gets
 * a one-shot IORING_OP_POLL_ADD for the events it wants, re-armed after
 * ares_process_fd() has read or written it. A wider interest while a poll
 * is in flight cancels it (by user_data) and re-arms on its completion. The
 * retransmission clock is one loop timer set from ares_timeout().
 *
 * A look-up is an entry in the loop's cache (kind + lowercase name) with
 * the callers waiting on it. Answers are always delivered from the loop
 * (the "ready" timer), never inside the caller's own call, even when the
 * cache or /etc/hosts answers at once. Each entry has a deadline timer: at
 * timeout_ms the waiters get UR_DNS_E_TIMEOUT whatever c-ares is still doing
 * (search domains, retries); c-ares's late answer then only frees it.
 */
#include <ares.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uring/dns.h"
#include "uring/internal.h"

#define MAX_ENTRIES 512
#define SRV_TTL_S 30
#define NONAME_TTL_S 2
#define TTL_MAX_S 3600

static struct {
    char servers[1024];
    unsigned timeout_ms;
} g_cfg = { "", 5000 };

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status = ARES_SUCCESS;

static void lib_init(void) { lib_status = ares_library_init(ARES_LIB_INIT_ALL); }

enum entry_kind { E_ADDR, E_SRV };

struct dns_sock {
    struct ur_dns *d;
    struct dns_sock *next;
    int fd;
    unsigned want;  /* POLLIN | POLLOUT */
    unsigned armed; /* events of the poll in flight; 0 = none */
    bool removing;  /* its cancel is submitted */
    bool closed;    /* c-ares is done with it */
    bool in_cb;     /* ares_process_fd running for it */
} __attribute__((aligned(16)));

struct ur_dns_entry {
    struct ur_dns *d;
    struct ur_dns_entry *next, *prev; /* d->entries, newest first */
    enum entry_kind kind;
    bool pending;   /* answer not known yet */
    bool in_ares;   /* c-ares still holds a pointer to it */
    int err;
    unsigned refs;  /* waiters pending or ready */
    uint64_t expires_ns;
    struct ur_timer deadline;
    struct ur_dns_wait *waiters;
    union {
        struct ur_dns_addrs a;
        struct ur_dns_srv s;
    } res;
    char name[UR_DNS_NAME_MAX + 1];
};

struct ur_dns {
    struct ur_loop *loop;
    ares_channel ch;
    bool dying;
    uint32_t rnd;
    struct dns_sock *socks;
    struct ur_dns_entry *entries;
    unsigned n_entries;
    struct ur_timer tick;  /* c-ares timeouts */
    struct ur_timer ready; /* delivers answers from the loop */
    struct ur_dns_wait *ready_list;
};

/* --- configuration ------------------------------------------------------- */

int ur_dns_configure(const char *servers, unsigned timeout_ms)
{
    if (servers && strlen(servers) >= sizeof(g_cfg.servers))
        return -EINVAL;
    snprintf(g_cfg.servers, sizeof(g_cfg.servers), "%s", servers ? servers : "");
    g_cfg.timeout_ms = timeout_ms ? timeout_ms : 5000;
    return 0;
}

const char *ur_dns_strerror(int err)
{
    switch (err) {
    case UR_DNS_E_NONAME: return "no such name";
    case UR_DNS_E_TIMEOUT: return "timed out";
    case UR_DNS_E_FAIL: return "resolver failure";
    default: return NULL;
    }
}

static int map_status(int status)
{
    switch (status) {
    case ARES_SUCCESS: return 0;
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
    case ARES_ENONAME: return UR_DNS_E_NONAME;
    case ARES_ETIMEOUT: return UR_DNS_E_TIMEOUT;
    case ARES_ENOMEM: return -ENOMEM;
    default: return UR_DNS_E_FAIL;
    }
}

/* --- waiter lists -------------------------------------------------------- */

static void wait_link(struct ur_dns_wait **head, struct ur_dns_wait *w)
{
    w->head = head;
    w->prev = NULL;
    w->next = *head;
    if (w->next)
        w->next->prev = w;
    *head = w;
}

static void wait_unlink(struct ur_dns_wait *w)
{
    if (!w->head)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        *w->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->next = w->prev = NULL;
    w->head = NULL;
}

/* --- entries ------------------------------------------------------------- */

static void entry_free(struct ur_dns_entry *e)
{
    struct ur_dns *d = e->d;
    ur_timer_cancel(d->loop, &e->deadline);
    if (e->prev)
        e->prev->next = e->next;
    else
        d->entries = e->next;
    if (e->next)
        e->next->prev = e->prev;
    d->n_entries--;
    free(e);
}

static bool entry_idle(const struct ur_dns_entry *e)
{
    return !e->pending && !e->in_ares && e->refs == 0;
}

/* Frees idle entries that expired; past MAX_ENTRIES, the oldest idle ones
 * too (entries in use are never freed, so the bound can be exceeded by
 * look-ups in flight, which the callers bound). */
static void entries_trim(struct ur_dns *d)
{
    uint64_t now = ur_now_ns();
    struct ur_dns_entry *e = d->entries, *last = NULL;
    for (; e; e = e->next)
        last = e;
    for (e = last; e;) {
        struct ur_dns_entry *prev = e->prev;
        if (entry_idle(e) && (e->expires_ns <= now || d->n_entries > MAX_ENTRIES))
            entry_free(e);
        e = prev;
    }
}

static void ready_arm(struct ur_dns *d)
{
    if (!ur_timer_armed(&d->ready))
        ur_timer_arm(d->loop, &d->ready, 0, 0);
}

/* The answer is known: its waiters get it from the loop. */
static void entry_complete(struct ur_dns_entry *e, int err)
{
    struct ur_dns *d = e->d;
    uint64_t now = ur_now_ns();
    e->pending = false;
    e->err = err;
    if (err == UR_DNS_E_NONAME)
        e->expires_ns = now + (uint64_t)NONAME_TTL_S * 1000000000u;
    else if (err)
        e->expires_ns = now; /* not cached */
    if (err)
        d->loop->stats.dns_failures++;
    ur_timer_cancel(d->loop, &e->deadline);
    while (e->waiters) {
        struct ur_dns_wait *w = e->waiters;
        wait_unlink(w);
        wait_link(&d->ready_list, w);
    }
    ready_arm(d);
}

static void deadline_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    struct ur_dns_entry *e = arg;
    if (e->pending) {
        ur_log(UR_LOG_WARN, "dns: %s: no answer within %u ms", e->name, g_cfg.timeout_ms);
        entry_complete(e, UR_DNS_E_TIMEOUT);
    }
}

static void ready_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    struct ur_dns *d = arg;
    while (d->ready_list) {
        struct ur_dns_wait *w = d->ready_list;
        struct ur_dns_entry *e = w->e;
        wait_unlink(w);
        w->e = NULL;
        e->refs--;
        if (e->kind == E_ADDR)
            w->afn(w->arg, e->err, e->err ? NULL : &e->res.a);
        else
            w->sfn(w->arg, e->err, e->err ? NULL : &e->res.s);
    }
    entries_trim(d);
}

/* --- c-ares sockets on io_uring ----------------------------------------- */

static void sock_free(struct dns_sock *s)
{
    struct dns_sock **pp = &s->d->socks;
    while (*pp && *pp != s)
        pp = &(*pp)->next;
    if (*pp)
        *pp = s->next;
    free(s);
}

static void sock_arm(struct dns_sock *s)
{
    struct ur_loop *loop = s->d->loop;
    if (s->closed || s->removing || s->in_cb)
        return;
    if (s->armed) {
        if (s->want & ~s->armed) {
            /* Wider interest: cancel, re-arm when its completion comes. */
            struct io_uring_sqe *sqe = ur_sqe(loop);
            io_uring_prep_poll_remove(sqe, ur_ud(s, UR_TAG_DNS));
            io_uring_sqe_set_data64(sqe, 0);
            s->removing = true;
        }
        return;
    }
    if (!s->want)
        return;
    struct io_uring_sqe *sqe = ur_sqe(loop);
    io_uring_prep_poll_add(sqe, s->fd, s->want);
    io_uring_sqe_set_data64(sqe, ur_ud(s, UR_TAG_DNS));
    s->armed = s->want;
}

static void tick_rearm(struct ur_dns *d)
{
    struct timeval tv, *t = ares_timeout(d->ch, NULL, &tv);
    if (!t) {
        ur_timer_cancel(d->loop, &d->tick);
        return;
    }
    uint64_t ms = (uint64_t)t->tv_sec * 1000 + (uint64_t)t->tv_usec / 1000 + 1;
    ur_timer_arm(d->loop, &d->tick, ms, 0);
}

static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    struct ur_dns *d = data;
    struct dns_sock *s = d->socks;
    while (s && (s->fd != fd || s->closed))
        s = s->next;
    if (!readable && !writable) {
        if (!s)
            return;
        s->closed = true;
        s->want = 0;
        if (s->armed && !s->removing) {
            struct io_uring_sqe *sqe = ur_sqe(d->loop);
            io_uring_prep_poll_remove(sqe, ur_ud(s, UR_TAG_DNS));
            io_uring_sqe_set_data64(sqe, 0);
            s->removing = true;
        }
        if (!s->armed && !s->in_cb)
            sock_free(s);
        return;
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return; /* c-ares then times the query out */
        s->d = d;
        s->fd = fd;
        s->next = d->socks;
        d->socks = s;
    }
    s->want = (readable ? POLLIN : 0) | (writable ? POLLOUT : 0);
    sock_arm(s);
}

void ur_dns_cqe(struct ur_loop *loop, void *ptr, int res)
{
    (void)loop;
    struct dns_sock *s = ptr;
    struct ur_dns *d = s->d;
    s->armed = 0;
    s->removing = false;
    if (s->closed) {
        sock_free(s);
        return;
    }
    if (res != -ECANCELED) {
        unsigned ev = res < 0 ? (POLLIN | POLLOUT) : (unsigned)res;
        ares_socket_t rfd = ev & (POLLIN | POLLERR | POLLHUP) ? s->fd : ARES_SOCKET_BAD;
        ares_socket_t wfd = ev & (POLLOUT | POLLERR) ? s->fd : ARES_SOCKET_BAD;
        s->in_cb = true;
        ares_process_fd(d->ch, rfd, wfd);
        s->in_cb = false;
    }
    if (s->closed)
        sock_free(s);
    else
        sock_arm(s);
    tick_rearm(d);
}

static void tick_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    struct ur_dns *d = arg;
    ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    tick_rearm(d);
}

/* --- the channel ---------------------------------------------------------- */

static struct ur_dns *dns_get(struct ur_loop *loop)
{
    if (loop->dns)
        return loop->dns;
    pthread_once(&lib_once, lib_init);
    if (lib_status != ARES_SUCCESS)
        return NULL;
    struct ur_dns *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->loop = loop;
    d->rnd = (uint32_t)ur_now_ns() | 1u;
    ur_timer_init(&d->tick, tick_cb, d);
    ur_timer_init(&d->ready, ready_cb, d);
    struct ares_options o;
    memset(&o, 0, sizeof(o));
    o.sock_state_cb = sock_state_cb;
    o.sock_state_cb_data = d;
    /* Two tries per server within the look-up's bound. */
    o.timeout = (int)(g_cfg.timeout_ms / 2 > 100 ? g_cfg.timeout_ms / 2 : 100);
    o.tries = 2;
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    int st = ares_init_options(&d->ch, &o, mask);
    if (st == ARES_SUCCESS && g_cfg.servers[0])
        st = ares_set_servers_ports_csv(d->ch, g_cfg.servers);
    if (st != ARES_SUCCESS) {
        ur_log(UR_LOG_ERROR, "dns: cannot start the resolver: %s", ares_strerror(st));
        if (d->ch)
            ares_destroy(d->ch);
        free(d);
        return NULL;
    }
    loop->dns = d;
    return d;
}

void ur_dns_free(struct ur_loop *loop)
{
    struct ur_dns *d = loop->dns;
    if (!d)
        return;
    d->dying = true;
    ur_timer_cancel(loop, &d->tick);
    ur_timer_cancel(loop, &d->ready);
    ares_destroy(d->ch); /* callbacks see dying and touch nothing */
    while (d->socks) {
        struct dns_sock *s = d->socks;
        d->socks = s->next;
        free(s);
    }
    while (d->entries)
        entry_free(d->entries);
    free(d);
    loop->dns = NULL;
}

/* --- answers -------------------------------------------------------------- */

static void addrinfo_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    (void)timeouts;
    struct ur_dns_entry *e = arg;
    if (e->d->dying || status == ARES_EDESTRUCTION) {
        ares_freeaddrinfo(res);
        return;
    }
    e->in_ares = false;
    if (!e->pending) { /* timed out meanwhile */
        ares_freeaddrinfo(res);
        entries_trim(e->d);
        return;
    }
    /* IPv6 first, then the families alternate (RFC 8305 section 4). */
    struct ares_addrinfo_node *v6[UR_DNS_MAX_ADDRS], *v4[UR_DNS_MAX_ADDRS];
    unsigned n6 = 0, n4 = 0;
    int ttl = TTL_MAX_S;
    for (struct ares_addrinfo_node *n = res ? res->nodes : NULL; n; n = n->ai_next) {
        if (n->ai_family == AF_INET6 && n6 < UR_DNS_MAX_ADDRS &&
            n->ai_addrlen == sizeof(struct sockaddr_in6))
            v6[n6++] = n;
        else if (n->ai_family == AF_INET && n4 < UR_DNS_MAX_ADDRS &&
                 n->ai_addrlen == sizeof(struct sockaddr_in))
            v4[n4++] = n;
        else
            continue;
        if (n->ai_ttl < ttl)
            ttl = n->ai_ttl;
    }
    struct ur_dns_addrs *a = &e->res.a;
    a->n = 0;
    for (unsigned i = 0; a->n < UR_DNS_MAX_ADDRS && (i < n6 || i < n4); i++) {
        struct ares_addrinfo_node *pick[2] = { i < n6 ? v6[i] : NULL, i < n4 ? v4[i] : NULL };
        for (int k = 0; k < 2 && a->n < UR_DNS_MAX_ADDRS; k++) {
            if (!pick[k])
                continue;
            memcpy(&a->a[a->n], pick[k]->ai_addr, pick[k]->ai_addrlen);
            a->len[a->n] = pick[k]->ai_addrlen;
            a->n++;
        }
    }
    ares_freeaddrinfo(res);
    int err = map_status(status);
    if (!err && a->n == 0)
        err = UR_DNS_E_NONAME;
    if (err)
        ur_log(UR_LOG_INFO, "dns: %s: %s (%s)", e->name,
               ur_dns_strerror(err) ? ur_dns_strerror(err) : "error", ares_strerror(status));
    if (ttl < 1)
        ttl = 1;
    e->expires_ns = ur_now_ns() + (uint64_t)ttl * 1000000000u;
    entry_complete(e, err);
}

static uint32_t rnd_next(struct ur_dns *d)
{
    uint32_t x = d->rnd;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return d->rnd = x;
}

/* RFC 2782: by priority; within one, each next target drawn with
 * probability proportional to its weight (weight 0 rarely first). */
static void srv_order(struct ur_dns *d, struct ur_dns_srv *s)
{
    for (unsigned i = 1; i < s->n; i++) /* insertion sort by priority */
        for (unsigned j = i; j > 0 && s->t[j].priority < s->t[j - 1].priority; j--) {
            struct ur_dns_srv_target t = s->t[j];
            s->t[j] = s->t[j - 1];
            s->t[j - 1] = t;
        }
    for (unsigned lo = 0; lo < s->n;) {
        unsigned hi = lo;
        while (hi < s->n && s->t[hi].priority == s->t[lo].priority)
            hi++;
        for (unsigned i = lo; i + 1 < hi; i++) {
            uint32_t sum = 0;
            for (unsigned j = i; j < hi; j++)
                sum += s->t[j].weight + 1u;
            uint32_t r = rnd_next(d) % sum, acc = 0;
            unsigned pick = i;
            for (unsigned j = i; j < hi; j++) {
                acc += s->t[j].weight + 1u;
                if (r < acc) {
                    pick = j;
                    break;
                }
            }
            struct ur_dns_srv_target t = s->t[i];
            s->t[i] = s->t[pick];
            s->t[pick] = t;
        }
        lo = hi;
    }
}

static void srv_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    (void)timeouts;
    struct ur_dns_entry *e = arg;
    if (e->d->dying || status == ARES_EDESTRUCTION)
        return;
    e->in_ares = false;
    if (!e->pending) {
        entries_trim(e->d);
        return;
    }
    struct ares_srv_reply *srv = NULL;
    if (status == ARES_SUCCESS)
        status = ares_parse_srv_reply(abuf, alen, &srv);
    struct ur_dns_srv *s = &e->res.s;
    s->n = 0;
    for (struct ares_srv_reply *r = srv; r && s->n < UR_DNS_MAX_SRV; r = r->next) {
        size_t hl = strlen(r->host);
        if (hl == 0 || hl > UR_DNS_NAME_MAX || r->port == 0)
            continue; /* "." means no service (RFC 2782) */
        memcpy(s->t[s->n].host, r->host, hl + 1);
        s->t[s->n].port = r->port;
        s->t[s->n].priority = r->priority;
        s->t[s->n].weight = r->weight;
        s->n++;
    }
    if (srv)
        ares_free_data(srv);
    int err = map_status(status);
    if (!err && s->n == 0)
        err = UR_DNS_E_NONAME;
    if (err)
        ur_log(UR_LOG_INFO, "dns: SRV %s: %s (%s)", e->name,
               ur_dns_strerror(err) ? ur_dns_strerror(err) : "error", ares_strerror(status));
    srv_order(e->d, s);
    e->expires_ns = ur_now_ns() + (uint64_t)SRV_TTL_S * 1000000000u;
    entry_complete(e, err);
}

/* --- look-ups -------------------------------------------------------------- */

static int lookup(struct ur_loop *loop, enum entry_kind kind, const char *name,
                  struct ur_dns_wait *w, ur_dns_addr_fn afn, ur_dns_srv_fn sfn, void *arg)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > UR_DNS_NAME_MAX)
        return -EINVAL;
    struct ur_dns *d = dns_get(loop);
    if (!d)
        return -ENOMEM;
    char key[UR_DNS_NAME_MAX + 1];
    for (size_t i = 0; i <= n; i++)
        key[i] = (char)tolower((unsigned char)name[i]);
    memset(w, 0, sizeof(*w));
    w->afn = afn;
    w->sfn = sfn;
    w->arg = arg;
    uint64_t now = ur_now_ns();
    struct ur_dns_entry *e = d->entries;
    for (; e; e = e->next)
        if (e->kind == kind && (e->pending || e->expires_ns > now) && !strcmp(e->name, key))
            break;
    if (e) {
        w->e = e;
        e->refs++;
        if (e->pending) {
            wait_link(&e->waiters, w);
        } else {
            loop->stats.dns_cache_hits++;
            wait_link(&d->ready_list, w);
            ready_arm(d);
        }
        return 0;
    }
    e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->d = d;
    e->kind = kind;
    e->pending = true;
    memcpy(e->name, key, n + 1);
    ur_timer_init(&e->deadline, deadline_cb, e);
    e->next = d->entries;
    if (e->next)
        e->next->prev = e;
    d->entries = e;
    d->n_entries++;
    w->e = e;
    e->refs++;
    wait_link(&e->waiters, w);
    ur_timer_arm(loop, &e->deadline, g_cfg.timeout_ms, 0);
    loop->stats.dns_queries++;
    e->in_ares = true;
    if (kind == E_ADDR) {
        struct ares_addrinfo_hints hints;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = ARES_AI_NOSORT;
        ares_getaddrinfo(d->ch, e->name, NULL, &hints, addrinfo_cb, e);
    } else {
        ares_query(d->ch, e->name, 1 /* C_IN */, 33 /* T_SRV */, srv_cb, e);
    }
    tick_rearm(d);
    if (d->n_entries > MAX_ENTRIES)
        entries_trim(d);
    return 0;
}

int ur_dns_resolve(struct ur_loop *loop, const char *name, struct ur_dns_wait *w,
                   ur_dns_addr_fn fn, void *arg)
{
    return lookup(loop, E_ADDR, name, w, fn, NULL, arg);
}

int ur_dns_resolve_srv(struct ur_loop *loop, const char *name, struct ur_dns_wait *w,
                       ur_dns_srv_fn fn, void *arg)
{
    return lookup(loop, E_SRV, name, w, NULL, fn, arg);
}

void ur_dns_cancel(struct ur_dns_wait *w)
{
    struct ur_dns_entry *e = w->e;
    if (!e)
        return;
    wait_unlink(w);
    w->e = NULL;
    e->refs--;
}
