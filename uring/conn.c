/*
 * conn.c: connection lifecycle (adopt, connect, open, close, deferred
 * free), the receive side (multishot recv into the buffer ring, pause and
 * resume, ENOBUFS starvation) and producer -> sink backpressure links.
 *
 * A conn is freed only from the loop's deferred phase, once every op it
 * submitted has produced its last CQE (c->inflight == 0): closing from any
 * callback is therefore safe, and the kernel never writes into freed
 * memory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uring/conn_internal.h"

static struct ur_pool *pool_of(struct ur_loop *loop, struct ur_pool *p, size_t sz)
{
    (void)loop;
    if (!p->obj_size)
        ur_pool_init(p, sz, 64);
    return p;
}

void ur_conn_defer(struct ur_conn *c)
{
    if (c->flags & CF_DEFERRED)
        return;
    c->flags |= CF_DEFERRED;
    c->defer_next = c->loop->deferred;
    c->loop->deferred = c;
}

static void set_nodelay(int fd)
{
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static struct ur_conn *conn_new(struct ur_loop *loop, int fd, const struct ur_conn_ops *ops,
                                void *ud)
{
    struct ur_conn *c = ur_pool_get(pool_of(loop, &loop->conn_pool, sizeof(struct ur_conn)));

    if (!c)
        return NULL;
    c->loop = loop;
    c->fd = fd;
    if (ops)
        c->ops = *ops;
    c->ud = ud;
    c->next = loop->conns;
    if (loop->conns)
        loop->conns->prev = c;
    loop->conns = c;
    loop->stats.conns_open++;
    return c;
}

static void conn_unlist(struct ur_conn *c)
{
    struct ur_loop *loop = c->loop;

    if (c->prev)
        c->prev->next = c->next;
    else
        loop->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    loop->stats.conns_open--;
}

int ur_conn_adopt(struct ur_loop *loop, int fd, struct ur_tls_ctx *tls,
                  const struct ur_conn_ops *ops, void *ud, struct ur_conn **out)
{
    struct ur_conn *c;
    int rc;

    *out = NULL;
    c = conn_new(loop, fd, ops, ud);
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    set_nodelay(fd);
    c->flags |= CF_OPEN;
    if (tls) {
        rc = ur_tls_conn_new(c, tls, NULL);
        if (rc < 0) {
            conn_unlist(c);
            ur_pool_put(&loop->conn_pool, c);
            close(fd);
            return rc;
        }
    } else {
        c->flags |= CF_OPEN_PENDING;
    }
    ur_conn_defer(c);
    *out = c;
    return 0;
}

static void submit_connect(struct ur_conn *c, unsigned timeout_ms);

int ur_conn_connect(struct ur_loop *loop, const struct sockaddr *addr, socklen_t len,
                    unsigned timeout_ms, struct ur_tls_ctx *tls, const char *server_name,
                    const struct ur_conn_ops *ops, void *ud, struct ur_conn **out)
{
    struct ur_conn *c;
    int fd, rc;

    *out = NULL;
    if (len > sizeof(struct sockaddr_storage))
        return -EINVAL;
    fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    c = conn_new(loop, fd, ops, ud);
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    if (tls) {
        rc = ur_tls_conn_new(c, tls, server_name);
        if (rc < 0) {
            conn_unlist(c);
            ur_pool_put(&loop->conn_pool, c);
            close(fd);
            return rc;
        }
    }
    memcpy(&c->addr, addr, len);
    c->addr_len = len;
    submit_connect(c, timeout_ms);
    *out = c;
    return 0;
}

/* A connect to c->addr on c->fd, bounded by timeout_ms (0 = none). */
static void submit_connect(struct ur_conn *c, unsigned timeout_ms)
{
    struct ur_loop *loop = c->loop;
    struct io_uring_sqe *sqe;

    c->flags |= CF_CONNECTING;
    sqe = ur_sqe(loop);
    io_uring_prep_connect(sqe, c->fd, (struct sockaddr *)&c->addr, c->addr_len);
    io_uring_sqe_set_data64(sqe, ur_ud(c, UR_TAG_CONNECT));
    c->inflight++;
    if (timeout_ms) {
        sqe->flags |= IOSQE_IO_LINK;
        c->connect_ts.tv_sec = timeout_ms / 1000;
        c->connect_ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
        sqe = ur_sqe(loop);
        io_uring_prep_link_timeout(sqe, &c->connect_ts, 0);
        io_uring_sqe_set_data64(sqe, ur_ud(c, UR_TAG_CONN_OP));
        c->inflight++;
    }
}

/* RFC 8305's connection attempt delay: an address that has not connected
 * within it gives way to the next (the last one gets what is left). */
#define ATTEMPT_MS 250

/* Connects to the next resolved address; 0, or -errno when none is left
 * or the deadline has passed. */
static int attempt_next(struct ur_conn *c, int err)
{
    while (c->addr_next < c->addrs->n) {
        unsigned i = c->addr_next++;
        uint64_t now = ur_now_ns();
        if (c->connect_deadline_ns && now >= c->connect_deadline_ns)
            return -ETIMEDOUT;
        struct sockaddr_storage *sa = &c->addrs->a[i];
        if (sa->ss_family == AF_INET6)
            ((struct sockaddr_in6 *)sa)->sin6_port = htons(c->port);
        else
            ((struct sockaddr_in *)sa)->sin_port = htons(c->port);
        if (c->addr_filter && !c->addr_filter(c->addr_filter_arg, (struct sockaddr *)sa)) {
            if (err == -EHOSTUNREACH) /* nothing tried yet: refused by the filter */
                err = -EACCES;
            continue;
        }
        int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        c->fd = fd;
        memcpy(&c->addr, sa, c->addrs->len[i]);
        c->addr_len = c->addrs->len[i];
        unsigned ms = 0;
        if (c->connect_deadline_ns)
            ms = (unsigned)((c->connect_deadline_ns - now + 999999) / 1000000);
        if (c->addr_next < c->addrs->n && (ms == 0 || ms > ATTEMPT_MS))
            ms = ATTEMPT_MS;
        submit_connect(c, ms);
        return 0;
    }
    return err;
}

static void resolved(void *arg, int err, const struct ur_dns_addrs *res)
{
    struct ur_conn *c = arg;

    c->flags &= ~CF_RESOLVING;
    if (!err && !(c->addrs = malloc(sizeof(*c->addrs))))
        err = -ENOMEM;
    if (!err) {
        *c->addrs = *res;
        err = attempt_next(c, -EHOSTUNREACH);
    }
    if (err)
        ur_conn_fail(c, err);
    ur_conn_defer(c);
}

void ur_conn_set_addr_filter(struct ur_conn *c, ur_addr_filter_fn fn, void *arg)
{
    c->addr_filter = fn;
    c->addr_filter_arg = arg;
}

int ur_conn_connect_host(struct ur_loop *loop, const char *host, uint16_t port,
                         unsigned timeout_ms, struct ur_tls_ctx *tls, const char *server_name,
                         const struct ur_conn_ops *ops, void *ud, struct ur_conn **out)
{
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;

    memset(&a4, 0, sizeof(a4));
    memset(&a6, 0, sizeof(a6));
    if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons(port);
        return ur_conn_connect(loop, (struct sockaddr *)&a4, sizeof(a4), timeout_ms, tls,
                               server_name, ops, ud, out);
    }
    if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons(port);
        return ur_conn_connect(loop, (struct sockaddr *)&a6, sizeof(a6), timeout_ms, tls,
                               server_name, ops, ud, out);
    }
    /* A name: the socket comes once it is resolved (its family is not
     * known before); sends queue meanwhile, as while connecting. */
    if (strlen(host) > UR_DNS_NAME_MAX)
        return *out = NULL, -EINVAL;
    struct ur_conn *c = conn_new(loop, -1, ops, ud);
    if (!c)
        return *out = NULL, -ENOMEM;
    int rc = tls ? ur_tls_conn_new(c, tls, server_name ? server_name : host) : 0;
    if (rc == 0) {
        c->port = port;
        c->connect_deadline_ns = timeout_ms ? ur_now_ns() + (uint64_t)timeout_ms * 1000000u : 0;
        c->flags |= CF_RESOLVING;
        rc = ur_dns_resolve(loop, host, &c->dns, resolved, c);
    }
    if (rc < 0) {
        if (c->tls)
            ur_tls_conn_free(c);
        conn_unlist(c);
        ur_pool_put(&loop->conn_pool, c);
        return *out = NULL, rc;
    }
    *out = c;
    return 0;
}

void ur_conn_notify_open(struct ur_conn *c, int err)
{
    if (c->flags & CF_OPEN_NOTIFIED)
        return;
    if (err == 0 && c->ws && !ur_ws_ready(c)) {
        /* Usable once the WebSocket handshake is done (ws.c opens it). */
        c->flags &= ~CF_OPEN_PENDING;
        return;
    }
    c->flags |= CF_OPEN_NOTIFIED;
    c->flags &= ~CF_OPEN_PENDING;
    if (c->ops.on_open)
        c->ops.on_open(c, err);
}

/* ---- closing ---- */

void ur_conn_fail(struct ur_conn *c, int err)
{
    struct io_uring_sqe *sqe;

    if (c->flags & CF_CLOSING)
        return;
    c->flags |= CF_CLOSING;
    c->close_err = err;
    if (c->flags & CF_RESOLVING) {
        ur_dns_cancel(&c->dns);
        c->flags &= ~CF_RESOLVING;
    }
    if (c->fd < 0) {
        ur_conn_defer(c);
        return;
    }
    if (c->flags & (CF_RECV_ARMED | CF_SEND_INFLIGHT | CF_CONNECTING)) {
        sqe = ur_sqe(c->loop);
        io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, ur_ud(c, UR_TAG_CONN_OP));
        c->inflight++;
    }
    /* Wakes ops the cancel might race with, and tells the peer now. */
    shutdown(c->fd, SHUT_RDWR);
    ur_conn_defer(c);
}

void ur_conn_close(struct ur_conn *c) { ur_conn_fail(c, 0); }

void ur_conn_fail_after_flush(struct ur_conn *c, int err)
{
    if (c->flags & (CF_CLOSING | CF_FLUSH_CLOSE))
        return;
    if (c->tls)
        ur_tls_shutdown(c);
    c->flags |= CF_FLUSH_CLOSE;
    c->flush_err = err;
    ur_conn_defer(c);
}

void ur_conn_close_after_flush(struct ur_conn *c)
{
    if (c->flags & (CF_CLOSING | CF_FLUSH_CLOSE))
        return;
    if (c->ws)
        ur_ws_shutdown(c); /* the close frame, before TLS's close_notify */
    ur_conn_fail_after_flush(c, 0);
}

static void handoff_fill(struct ur_conn *c);
static void conn_pause(struct ur_conn *c);
static void stash_push(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n,
                       int front);

static void conn_finalize(struct ur_conn *c)
{
    struct ur_loop *loop = c->loop;
    struct ur_handoff *h = c->handoff;
    int detached = h && !(c->flags & CF_CLOSING);

    c->flags |= CF_CLOSING; /* inert from here on (e.g. to link resumes) */

    if (c->flags & CF_STARVED) {
        struct ur_conn **pp = &loop->starved;
        while (*pp && *pp != c)
            pp = &(*pp)->starve_next;
        if (*pp)
            *pp = c->starve_next;
    }
    if (detached)
        handoff_fill(c); /* takes fd, TLS state and the stash */
    else
        ur_conn_notify_open(c, c->close_err ? c->close_err : -ECANCELED);
    ur_conn_fail_queues(c);
    while (c->st_head) {
        struct ur_stash *st = c->st_head;
        c->st_head = st->next;
        ur_buf_unref(st->buf);
        ur_pool_put(&loop->stash_pool, st);
    }
    ur_buf_unref(c->rbuf);
    c->rbuf = NULL;
    if (c->tls)
        ur_tls_conn_free(c);
    ur_ws_conn_free(c);
    if (c->fd >= 0)
        close(c->fd);
    free(c->addrs);
    c->addrs = NULL;
    conn_unlist(c);
    c->handoff = NULL;
    if (detached)
        h->fn(c, h, h->arg);
    else {
        if (h)
            ur_handoff_free(h);
        if (c->ops.on_close)
            c->ops.on_close(c, c->close_err);
    }
    ur_pool_put(&loop->conn_pool, c);
}

/* ---- handing a connection to another loop ---- */

int ur_conn_detach(struct ur_conn *c, const void *pre, size_t pre_n, ur_detach_fn fn,
                   void *arg)
{
    struct ur_handoff *h;

    if (c->flags & (CF_CLOSING | CF_FLUSH_CLOSE | CF_DETACHING))
        return -EPIPE;
    if (c->app_head || (c->ws && !ur_ws_ready(c)))
        return -EBUSY;
    h = calloc(1, sizeof(*h));
    if (!h || (pre_n && !(h->pre = malloc(pre_n)))) {
        free(h);
        return -ENOMEM;
    }
    if (pre_n)
        memcpy(h->pre, pre, pre_n);
    h->pre_n = pre_n;
    h->fd = -1;
    h->fn = fn;
    h->arg = arg;
    c->handoff = h;
    c->flags |= CF_DETACHING;
    conn_pause(c); /* cancels the recv; what it still delivers is stashed */
    ur_conn_defer(c);
    return 0;
}

static int detach_ready(const struct ur_conn *c)
{
    return c->inflight == 0 && !c->sq_head && !c->app_head &&
           !(c->flags & (CF_RECV_ARMED | CF_SEND_INFLIGHT | CF_CONNECTING));
}

static void handoff_fill(struct ur_conn *c)
{
    struct ur_handoff *h = c->handoff;
    size_t n = 0;

    for (struct ur_stash *st = c->st_head; st; st = st->next)
        n += st->n;
    if (n && !(h->raw = malloc(n))) {
        /* Cannot carry the bytes: the stream would lose them. */
        h->raw_n = 0;
        shutdown(c->fd, SHUT_RDWR);
        h->eof = 1;
    } else {
        for (struct ur_stash *st = c->st_head; st; st = st->next) {
            memcpy(h->raw + h->raw_n, st->p, st->n);
            h->raw_n += st->n;
        }
    }
    h->ws = ur_ws_conn_take(c, &h->ws_held, &h->ws_held_n);
    if (h->ws_held_n && !h->ws_held) { /* as above: the stream would lose them */
        h->ws_held_n = 0;
        shutdown(c->fd, SHUT_RDWR);
        h->eof = 1;
    }
    h->eof |= (c->flags & CF_EOF) != 0;
    h->fd = c->fd;
    c->fd = -1;
    h->tls = ur_tls_conn_take(c);
}

void ur_handoff_free(struct ur_handoff *h)
{
    if (!h)
        return;
    if (h->fd >= 0)
        close(h->fd);
    ur_tls_conn_destroy(h->tls);
    ur_ws_conn_destroy(h->ws);
    free(h->ws_held);
    free(h->pre);
    free(h->raw);
    free(h);
}

int ur_handoff_fd(const struct ur_handoff *h) { return h->fd; }

static struct ur_buf *buf_copy(struct ur_loop *loop, const uint8_t *p, size_t n)
{
    struct ur_buf *b = ur_buf_heap_new(loop, n);

    if (b)
        memcpy(b->data, p, n);
    return b;
}

int ur_conn_adopt_handoff(struct ur_loop *loop, struct ur_handoff *h,
                          const struct ur_conn_ops *ops, void *ud, struct ur_conn **out)
{
    struct ur_buf *pre = NULL, *raw = NULL, *wsh = NULL;
    struct ur_conn *c;

    *out = NULL;
    if ((h->pre_n && !(pre = buf_copy(loop, h->pre, h->pre_n))) ||
        (h->ws_held_n && !(wsh = buf_copy(loop, h->ws_held, h->ws_held_n))) ||
        (h->raw_n && !(raw = buf_copy(loop, h->raw, h->raw_n))) ||
        !(c = conn_new(loop, h->fd, ops, ud))) {
        ur_buf_unref(pre);
        ur_buf_unref(wsh);
        ur_buf_unref(raw);
        ur_handoff_free(h);
        return -ENOMEM;
    }
    h->fd = -1;
    c->flags |= CF_OPEN;
    set_nodelay(c->fd);
    if (pre) {
        stash_push(c, pre, pre->data, h->pre_n, 0);
        if (c->st_tail)
            c->st_tail->plain = STASH_APP;
        ur_buf_unref(pre);
    }
    if (wsh) { /* after pre, before what TLS has not decrypted */
        stash_push(c, wsh, wsh->data, h->ws_held_n, 0);
        if (c->st_tail)
            c->st_tail->plain = STASH_WS;
        ur_buf_unref(wsh);
    }
    if (h->ws) {
        ur_ws_conn_give(c, h->ws);
        h->ws = NULL;
    }
    if (raw) {
        stash_push(c, raw, raw->data, h->raw_n, 0);
        ur_buf_unref(raw);
    }
    if (h->eof)
        c->flags |= CF_EOF;
    if (h->tls) {
        ur_tls_conn_give(c, h->tls);
        h->tls = NULL;
        if (ur_tls_ready(c))
            c->flags |= CF_OPEN_PENDING | CF_TLS_PUMP;
    } else {
        c->flags |= CF_OPEN_PENDING;
    }
    ur_handoff_free(h);
    ur_conn_defer(c);
    *out = c;
    return 0;
}

/* ---- receive ---- */

static void recv_arm(struct ur_conn *c)
{
    struct ur_loop *loop = c->loop;
    struct io_uring_sqe *sqe;

    if (c->flags & (CF_RECV_ARMED | CF_STARVED | CF_CLOSING | CF_EOF) || !(c->flags & CF_OPEN) ||
        c->pause_cnt)
        return;
    sqe = ur_sqe(loop);
    if (ur_has(loop, UR_FEAT_BUF_RING)) {
        if (ur_has(loop, UR_FEAT_RECV_MULTISHOT))
            io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
        else
            io_uring_prep_recv(sqe, c->fd, NULL, loop->cfg.buf_size, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = loop->bgid;
    } else {
        /* The callback may have kept the last buffer: take a fresh one. */
        if (c->rbuf && c->rbuf->refs > 1) {
            ur_buf_unref(c->rbuf);
            c->rbuf = NULL;
        }
        if (!c->rbuf)
            c->rbuf = ur_buf_heap_new(loop, loop->cfg.buf_size);
        if (!c->rbuf) {
            io_uring_prep_nop(sqe);
            io_uring_sqe_set_data64(sqe, 0);
            ur_conn_fail(c, -ENOMEM);
            return;
        }
        io_uring_prep_recv(sqe, c->fd, c->rbuf->data, c->rbuf->cap, 0);
    }
    io_uring_sqe_set_data64(sqe, ur_ud(c, UR_TAG_RECV));
    c->flags |= CF_RECV_ARMED;
    c->inflight++;
}

size_t ur_conn_deliver_plain(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n)
{
    if (c->ws)
        return ur_ws_input(c, buf, p, n);
    return ur_conn_deliver_app(c, buf, p, n);
}

size_t ur_conn_deliver_app(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n)
{
    c->stats.bytes_in += n;
    if (c->ops.on_data)
        c->ops.on_data(c, p, n, buf);
    return n;
}

static size_t deliver(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n)
{
    if (c->tls)
        return ur_tls_input(c, buf, p, n);
    return ur_conn_deliver_plain(c, buf, p, n);
}

static void stash_push(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n,
                       int front)
{
    struct ur_stash *st = ur_pool_get(pool_of(c->loop, &c->loop->stash_pool, sizeof(*st)));

    if (!st) {
        ur_conn_fail(c, -ENOMEM);
        return;
    }
    st->buf = ur_buf_ref(buf);
    st->p = p;
    st->n = n;
    st->plain = STASH_WIRE;
    if (front) {
        st->next = c->st_head;
        c->st_head = st;
        if (!c->st_tail)
            c->st_tail = st;
    } else {
        if (c->st_tail)
            c->st_tail->next = st;
        else
            c->st_head = st;
        c->st_tail = st;
    }
}

static void conn_input(struct ur_conn *c, struct ur_buf *buf, const uint8_t *p, size_t n)
{
    size_t used;

    if (c->pause_cnt || c->st_head || ur_ws_holding(c)) {
        stash_push(c, buf, p, n, 0);
        return;
    }
    used = deliver(c, buf, p, n);
    if (used < n && !(c->flags & CF_CLOSING))
        stash_push(c, buf, p + used, n - used, 0);
}

static void drain_stash(struct ur_conn *c)
{
    while (c->st_head && !c->pause_cnt && !(c->flags & CF_CLOSING)) {
        struct ur_stash *st = c->st_head;
        size_t used;

        c->st_head = st->next;
        if (!c->st_head)
            c->st_tail = NULL;
        used = st->plain == STASH_APP  ? ur_conn_deliver_app(c, st->buf, st->p, st->n)
               : st->plain == STASH_WS ? ur_conn_deliver_plain(c, st->buf, st->p, st->n)
                                       : deliver(c, st->buf, st->p, st->n);
        if (used < st->n && !(c->flags & CF_CLOSING))
            stash_push(c, st->buf, st->p + used, st->n - used, 1);
        ur_buf_unref(st->buf);
        ur_pool_put(&c->loop->stash_pool, st);
    }
}

static void recv_cqe(struct ur_conn *c, const struct io_uring_cqe *cqe)
{
    struct ur_loop *loop = c->loop;
    int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    struct ur_buf *buf = NULL;
    int res = cqe->res;

    if (!more) {
        c->flags &= ~(CF_RECV_ARMED | CF_RECV_CANCEL);
        c->inflight--;
    }
    if (cqe->flags & IORING_CQE_F_BUFFER)
        buf = ur_bufring_take(loop, (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
    else if (res > 0 && c->rbuf)
        buf = ur_buf_ref(c->rbuf);

    if (res > 0 && buf) {
        if (!(c->flags & CF_CLOSING))
            conn_input(c, buf, buf->data, (size_t)res);
    } else if (res == 0) {
        /* End of stream. Bytes received before it may still wait for a
         * paused reader: they are delivered first, then the conn closes. */
        if (c->pause_cnt || c->st_head)
            c->flags |= CF_EOF;
        else
            ur_conn_fail(c, 0);
    } else if (res == -ENOBUFS) {
        loop->stats.enobufs++;
        if (!more && !(c->flags & CF_STARVED)) {
            c->flags |= CF_STARVED;
            c->starve_next = loop->starved;
            loop->starved = c;
            if (loop->stats.bufs_out < loop->cfg.buf_count)
                loop->kick_starved = 1;
        }
    } else if (res == -EINVAL && ur_has(loop, UR_FEAT_RECV_MULTISHOT)) {
        ur_feature_lost(loop, UR_FEAT_RECV_MULTISHOT, "recv-multishot", res);
    } else if (res < 0 && res != -ECANCELED && res != -EINTR) {
        ur_conn_fail(c, res);
    }
    ur_buf_unref(buf);
    if (!more)
        ur_conn_defer(c); /* re-arm, or reap if closing */
}

static void connect_cqe(struct ur_conn *c, int res)
{
    c->inflight--;
    c->flags &= ~CF_CONNECTING;
    if (c->flags & CF_CLOSING)
        return;
    if (res < 0 && c->addrs && c->addr_next < c->addrs->n) {
        /* Connecting by name: on to the next address. */
        close(c->fd);
        c->fd = -1;
        if (attempt_next(c, res == -ECANCELED ? -ETIMEDOUT : res) == 0)
            return;
    }
    if (res < 0) {
        ur_conn_fail(c, res == -ECANCELED ? -ETIMEDOUT : res);
        return;
    }
    set_nodelay(c->fd);
    c->flags |= CF_OPEN;
    if (c->tls)
        ur_tls_start(c);
    else
        ur_conn_notify_open(c, 0);
    ur_conn_defer(c);
}

void ur_conn_cqe(struct ur_loop *loop, enum ur_tag tag, void *ptr, const struct io_uring_cqe *cqe)
{
    struct ur_conn *c = ptr;

    (void)loop;
    switch (tag) {
    case UR_TAG_RECV:
        recv_cqe(c, cqe);
        break;
    case UR_TAG_CONNECT:
        connect_cqe(c, cqe->res);
        break;
    case UR_TAG_CONN_OP:
        c->inflight--;
        break;
    case UR_TAG_SEND:
        ur_send_cqe(c, tag, NULL, cqe);
        c = NULL;
        break;
    case UR_TAG_SEND_ZC: {
        struct ur_seg *s = ptr;
        c = s->c;
        ur_send_cqe(c, tag, s, cqe);
        c = NULL;
        break;
    }
    default:
        break;
    }
    if (c && (c->flags & (CF_CLOSING | CF_DETACHING)) && c->inflight == 0)
        ur_conn_defer(c);
}

/* ---- deferred phase ---- */

static void conn_service(struct ur_conn *c)
{
    if (c->flags & CF_CLOSING) {
        if (c->inflight == 0)
            conn_finalize(c);
        return;
    }
    if (c->flags & CF_DETACHING) {
        ur_conn_flush(c);
        if (detach_ready(c))
            conn_finalize(c);
        return;
    }
    if (c->flags & CF_OPEN_PENDING)
        ur_conn_notify_open(c, 0);
    if (!c->pause_cnt && !(c->flags & CF_CLOSING)) {
        if (c->ws)
            ur_ws_pump(c); /* WebSocket input a pause left undecoded goes first */
        if (!ur_ws_holding(c))
            drain_stash(c);
        if ((c->flags & CF_TLS_PUMP) && !c->pause_cnt && !c->st_head && !ur_ws_holding(c) &&
            !(c->flags & CF_CLOSING)) {
            c->flags &= ~CF_TLS_PUMP;
            ur_tls_input(c, NULL, NULL, 0);
        }
        if ((c->flags & CF_EOF) && !c->pause_cnt && !c->st_head && !ur_ws_holding(c) &&
            !(c->flags & CF_CLOSING))
            ur_conn_fail(c, 0);
    }
    if (c->flags & CF_CLOSING) {
        ur_conn_defer(c);
        return;
    }
    ur_conn_flush(c);
    recv_arm(c);
}

void ur_conns_deferred(struct ur_loop *loop)
{
    if (loop->kick_starved) {
        struct ur_conn *c = loop->starved;
        loop->starved = NULL;
        loop->kick_starved = 0;
        while (c) {
            struct ur_conn *next = c->starve_next;
            c->flags &= ~CF_STARVED;
            ur_conn_defer(c);
            c = next;
        }
    }
    /* Bounded rounds: work a callback keeps adding waits for the next
     * iteration (which then polls the ring without blocking). */
    for (int round = 0; round < 8 && loop->deferred; round++) {
        struct ur_conn *c = loop->deferred;
        loop->deferred = NULL;
        while (c) {
            struct ur_conn *next = c->defer_next;
            c->flags &= ~CF_DEFERRED;
            conn_service(c);
            c = next;
        }
    }
}

void ur_conns_free(struct ur_loop *loop)
{
    /* Loop teardown: no callbacks, the ring exit reaps the ops. */
    while (loop->conns) {
        struct ur_conn *c = loop->conns;
        c->ops.on_open = NULL;
        c->ops.on_close = NULL;
        c->ops.on_drain = NULL;
        while (c->sq_head) {
            struct ur_seg *s = c->sq_head;
            c->sq_head = s->next;
            s->done = NULL;
            ur_seg_finish(c, s, -ECANCELED);
        }
        c->flags |= CF_OPEN_NOTIFIED | CF_CLOSING; /* no handoff either */
        c->flags &= ~CF_STARVED;
        c->inflight = 0;
        conn_finalize(c);
    }
    loop->deferred = NULL;
    loop->starved = NULL;
}

/* ---- pause / resume and backpressure links ---- */

static void conn_pause(struct ur_conn *c)
{
    struct io_uring_sqe *sqe;

    if (c->pause_cnt++ > 0)
        return;
    c->stats.pauses++;
    if ((c->flags & CF_RECV_ARMED) && !(c->flags & (CF_RECV_CANCEL | CF_CLOSING))) {
        sqe = ur_sqe(c->loop);
        io_uring_prep_cancel64(sqe, ur_ud(c, UR_TAG_RECV), 0);
        io_uring_sqe_set_data64(sqe, ur_ud(c, UR_TAG_CONN_OP));
        c->inflight++;
        c->flags |= CF_RECV_CANCEL;
    }
}

static void conn_resume(struct ur_conn *c)
{
    if (!c->pause_cnt)
        return;
    /* A closing conn is reaped by its CQEs; deferring it here could queue
     * it again while conn_finalize() frees it. */
    if (--c->pause_cnt == 0 && !(c->flags & CF_CLOSING)) {
        if (c->tls)
            c->flags |= CF_TLS_PUMP;
        ur_conn_defer(c);
    }
}

void ur_conn_pause_read(struct ur_conn *c) { conn_pause(c); }
void ur_conn_resume_read(struct ur_conn *c) { conn_resume(c); }
int ur_conn_read_paused(const struct ur_conn *c) { return c->pause_cnt > 0; }

void ur_conn_check_ceiling(struct ur_conn *c)
{
    if (c->pending > c->stats.pending_max)
        c->stats.pending_max = c->pending;
    if ((c->flags & CF_OVER) || c->pending < c->loop->cfg.conn_mem_ceiling)
        return;
    c->flags |= CF_OVER;
}

void ur_conn_check_drain(struct ur_conn *c)
{
    if (!(c->flags & CF_OVER) || c->pending >= c->loop->cfg.conn_low_watermark)
        return;
    c->flags &= ~CF_OVER;
    if (c->ops.on_drain && !(c->flags & CF_CLOSING))
        c->ops.on_drain(c);
}

/* ---- accessors ---- */

size_t ur_conn_pending(const struct ur_conn *c) { return c->pending; }
int ur_conn_over_ceiling(const struct ur_conn *c) { return (c->flags & CF_OVER) != 0; }
void *ur_conn_data(const struct ur_conn *c) { return c->ud; }
void ur_conn_set_data(struct ur_conn *c, void *ud) { c->ud = ud; }
struct ur_loop *ur_conn_loop(const struct ur_conn *c) { return c->loop; }
int ur_conn_fd(const struct ur_conn *c) { return c->fd; }
int ur_conn_is_tls(const struct ur_conn *c) { return c->tls != NULL; }
void ur_conn_get_stats(const struct ur_conn *c, struct ur_conn_stats *st) { *st = c->stats; }
