/*
 * send.c: the per-connection ordered send queue. One send op in flight per
 * connection keeps the order without sequence numbers. Small segments are
 * gathered into one sendmsg; a segment of at least zc_threshold bytes goes
 * alone with SEND_ZC, whose buffer stays owned by the kernel until the
 * IORING_CQE_F_NOTIF completion -- only then is the segment finished (its
 * buffer reference dropped and its callback run).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "uring/conn_internal.h"

struct ur_seg *ur_seg_new(struct ur_conn *c)
{
    struct ur_pool *p = &c->loop->seg_pool;
    struct ur_seg *s;

    if (!p->obj_size)
        ur_pool_init(p, sizeof(struct ur_seg), 256);
    s = ur_pool_get(p);
    if (s)
        s->c = c;
    return s;
}

/* Small copies (responses, headers) share one allocation: a peer that
 * lets thousands of responses queue up costs their bytes, not a segment
 * and a malloc each. */
#define COPY_GATHER_MAX 1024
#define COPY_GATHER_CAP 4096
/* Copy buffers of COPY_GATHER_CAP bytes kept by the loop (1 MiB). */
#define COPY_CACHE_MAX 256u

void ur_send_loop_free(struct ur_loop *loop)
{
    ur_bufcache_free(&loop->copy_bufs);
}

static void *copy_buf_get(struct ur_loop *loop)
{
    if (!loop->copy_bufs.max)
        ur_bufcache_init(&loop->copy_bufs, COPY_GATHER_CAP, COPY_CACHE_MAX);
    return ur_bufcache_get(&loop->copy_bufs);
}

void ur_seg_drop_owned(struct ur_seg *s)
{
    if (s->owned_cache)
        ur_bufcache_put(s->owned_cache, s->owned);
    else
        free(s->owned);
    s->owned = NULL;
    s->owned_cache = NULL;
}

void ur_seg_finish(struct ur_conn *c, struct ur_seg *s, int err)
{
    if (!err)
        c->stats.bytes_out += s->app_bytes;
    ur_buf_unref(s->buf);
    ur_seg_drop_owned(s);
    if (s->done)
        s->done(c, s->arg, err);
    ur_pool_put(&c->loop->seg_pool, s);
}

void ur_conn_wire_append(struct ur_conn *c, struct ur_seg *s)
{
    s->next = NULL;
    if (c->sq_tail)
        c->sq_tail->next = s;
    else
        c->sq_head = s;
    c->sq_tail = s;
    c->pending += s->n - s->off;
}

static int over_hard_limit(const struct ur_conn *c, size_t n)
{
    size_t lim = c->loop->cfg.conn_hard_limit;
    return lim && (c->pending >= lim || n > lim - c->pending);
}

static int queue_seg(struct ur_conn *c, const void *p, size_t n, struct ur_buf *buf,
                     void *owned, struct ur_bufcache *cache, ur_send_fn done, void *arg)
{
    struct ur_seg *s;

    if (c->flags & (CF_CLOSING | CF_FLUSH_CLOSE))
        return -EPIPE;
    if (over_hard_limit(c, n)) {
        /* A peer that does not read what it is sent: its queue would grow
         * without bound. Closing it is the only bound left (the owner
         * logs and counts it from on_close). */
        ur_conn_fail(c, -ENOBUFS);
        return -ENOBUFS;
    }
    s = ur_seg_new(c);
    if (!s)
        return -ENOMEM;
    s->p = p;
    s->n = n;
    s->buf = buf ? ur_buf_ref(buf) : NULL;
    s->owned = owned;
    s->owned_cache = cache;
    s->done = done;
    s->arg = arg;
    s->app_bytes = n;
    if (c->tls)
        ur_tls_send(c, s);
    else
        ur_conn_wire_append(c, s);
    ur_conn_check_ceiling(c);
    /* Flushed from the loop: sends queued by one callback leave together. */
    ur_conn_defer(c);
    return 0;
}

/* A quarter of the ring left: received bytes queued for sending are copied
 * rather than kept in their ring buffer, so connections whose peers read
 * slowly cannot pin every buffer and stop this loop from receiving at all
 * (a relay would then not even read the responses that drain the queues). */
static int ring_low(const struct ur_loop *loop)
{
    return loop->stats.bufs_out * 4 >= (uint64_t)loop->cfg.buf_count * 3;
}

int ur_conn_send_raw(struct ur_conn *c, const void *p, size_t n, struct ur_buf *buf,
                     ur_send_fn done, void *arg)
{
    if (buf && !buf->heap && !done && ring_low(c->loop)) {
        c->loop->stats.ring_copies++;
        return ur_conn_send_copy_raw(c, p, n);
    }
    return queue_seg(c, p, n, buf, NULL, NULL, done, arg);
}

/* WebSocket: each send is one frame; its header goes first as a small
 * copy (gathered with neighbouring copies), the payload as it would
 * without WebSocket, so a zero-copy send stays zero-copy. */
int ur_conn_send(struct ur_conn *c, const void *p, size_t n, struct ur_buf *buf,
                 ur_send_fn done, void *arg)
{
    if (c->ws && n) {
        uint8_t hdr[14];
        size_t hn;
        int rc = ur_ws_frame(c, n, hdr, &hn);
        if (rc == 0)
            rc = ur_conn_send_copy_raw(c, hdr, hn);
        if (rc < 0)
            return rc;
    }
    return ur_conn_send_raw(c, p, n, buf, done, arg);
}

/* Appends to the tail segment when it is a gathering copy with room that
 * no send is reading from. Plain connections only: TLS encrypts per seg. */
static int gather_copy(struct ur_conn *c, const void *p, size_t n)
{
    struct ur_seg *t = c->sq_tail;

    if (c->tls || !t || !t->owned || t->done || t->buf || t->zc_wait)
        return 0;
    if (t->cap < t->n || t->cap - t->n < n || (t == c->sq_head && (c->flags & CF_SEND_INFLIGHT)))
        return 0;
    memcpy((uint8_t *)t->owned + t->n, p, n);
    t->n += n;
    t->app_bytes += n;
    c->pending += n;
    ur_conn_check_ceiling(c);
    ur_conn_defer(c);
    return 1;
}

int ur_conn_send_copy(struct ur_conn *c, const void *p, size_t n)
{
    if (c->ws && n) {
        /* Header and payload in one copy when small (the usual case:
         * MSRP heads, end-lines, responses). */
        uint8_t f[14 + COPY_GATHER_MAX];
        size_t hn;
        int rc = ur_ws_frame(c, n, f, &hn);
        if (rc < 0)
            return rc;
        if (n <= COPY_GATHER_MAX) {
            memcpy(f + hn, p, n);
            return ur_conn_send_copy_raw(c, f, hn + n);
        }
        rc = ur_conn_send_copy_raw(c, f, hn);
        if (rc < 0)
            return rc;
    }
    return ur_conn_send_copy_raw(c, p, n);
}

int ur_conn_send_copy_raw(struct ur_conn *c, const void *p, size_t n)
{
    void *copy;
    size_t cap;
    struct ur_bufcache *cache;
    int rc;

    if (c->flags & (CF_CLOSING | CF_FLUSH_CLOSE))
        return -EPIPE;
    if (over_hard_limit(c, n))
        return queue_seg(c, p, n, NULL, NULL, NULL, NULL, NULL); /* closes, -ENOBUFS */
    if (n <= COPY_GATHER_MAX && gather_copy(c, p, n))
        return 0;
    /* A small copy starts a gathering segment only behind other queued
     * bytes: alone in the queue it leaves at once, room would be waste. */
    cap = n <= COPY_GATHER_MAX && c->sq_tail && !c->tls ? COPY_GATHER_CAP : (n ? n : 1);
    cache = cap == COPY_GATHER_CAP ? &c->loop->copy_bufs : NULL;
    copy = cache ? copy_buf_get(c->loop) : malloc(cap);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, p, n);
    rc = queue_seg(c, copy, n, NULL, copy, cache, NULL, NULL);
    if (rc < 0)
        free(copy);
    else if (c->sq_tail && c->sq_tail->owned == copy)
        c->sq_tail->cap = cap;
    return rc;
}

/* Pops the head segment (all its bytes were handed to the kernel). */
static void pop_head(struct ur_conn *c)
{
    struct ur_seg *s = c->sq_head;

    c->sq_head = s->next;
    if (!c->sq_head)
        c->sq_tail = NULL;
    s->next = NULL;
    s->sent = 1;
    if (!s->zc_wait)
        ur_seg_finish(c, s, 0);
}

/* Starts the next send of the wire queue (one in flight at a time). */
static void wire_flush(struct ur_conn *c)
{
    struct ur_loop *loop = c->loop;
    struct io_uring_sqe *sqe;
    struct ur_seg *s;
    int cnt = 0;

    if (!(c->flags & CF_OPEN) || (c->flags & (CF_SEND_INFLIGHT | CF_CLOSING)))
        return;
    while (c->sq_head && c->sq_head->off == c->sq_head->n && !c->sq_head->zc_wait)
        pop_head(c);
    ur_conn_check_drain(c);
    if (c->flags & CF_CLOSING)
        return;
    s = c->sq_head;
    if (!s) {
        if (c->flags & CF_FLUSH_CLOSE)
            ur_conn_fail(c, c->flush_err);
        return;
    }
    if (ur_has(loop, UR_FEAT_SEND_ZC) && s->n - s->off >= loop->cfg.zc_threshold) {
        sqe = ur_sqe(loop);
        io_uring_prep_send_zc(sqe, c->fd, s->p + s->off, s->n - s->off, MSG_NOSIGNAL, 0);
        io_uring_sqe_set_data64(sqe, ur_ud(s, UR_TAG_SEND_ZC));
        loop->stats.send_zc++;
    } else {
        for (; s && cnt < UR_SEND_IOV_MAX; s = s->next) {
            if (ur_has(loop, UR_FEAT_SEND_ZC) && s->n - s->off >= loop->cfg.zc_threshold)
                break; /* goes alone with SEND_ZC next */
            if (s->n == s->off)
                continue;
            c->iov[cnt].iov_base = (void *)(s->p + s->off);
            c->iov[cnt].iov_len = s->n - s->off;
            cnt++;
        }
        if (cnt == 0)
            return;
        memset(&c->msg, 0, sizeof(c->msg));
        c->msg.msg_iov = c->iov;
        c->msg.msg_iovlen = (size_t)cnt;
        sqe = ur_sqe(loop);
        io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, ur_ud(c, UR_TAG_SEND));
        loop->stats.send_plain++;
    }
    c->flags |= CF_SEND_INFLIGHT;
    c->inflight++;
}

/* The end of a loop turn (deferred phase): TLS plaintext staged during
 * the turn becomes its record now, then the queue goes out. */
void ur_conn_flush(struct ur_conn *c)
{
    if (c->tls)
        ur_tls_flush(c);
    wire_flush(c);
}

/* Consumes `res` sent bytes from the head of the queue. */
static void advance(struct ur_conn *c, size_t res)
{
    while (res && c->sq_head) {
        struct ur_seg *s = c->sq_head;
        size_t take = s->n - s->off < res ? s->n - s->off : res;

        s->off += take;
        c->pending -= take;
        res -= take;
        if (s->off == s->n)
            pop_head(c);
    }
    /* Zero-length segments that reached the head complete too. */
    while (c->sq_head && c->sq_head->n == c->sq_head->off && !c->sq_head->zc_wait)
        pop_head(c);
}

void ur_send_cqe(struct ur_conn *c, enum ur_tag tag, struct ur_seg *s,
                 const struct io_uring_cqe *cqe)
{
    struct ur_loop *loop = c->loop;
    int res = cqe->res;

    if (tag == UR_TAG_SEND_ZC && (cqe->flags & IORING_CQE_F_NOTIF)) {
        c->inflight--;
        if (--s->zc_wait == 0 && s->sent)
            ur_seg_finish(c, s, 0);
        goto out;
    }
    c->inflight--;
    c->flags &= ~CF_SEND_INFLIGHT;
    if (tag == UR_TAG_SEND_ZC && (cqe->flags & IORING_CQE_F_MORE)) {
        c->inflight++;
        s->zc_wait++;
    }
    if (res < 0) {
        if (tag == UR_TAG_SEND_ZC && (res == -EOPNOTSUPP || res == -EINVAL) &&
            !(c->flags & CF_CLOSING)) {
            ur_feature_lost(loop, UR_FEAT_SEND_ZC, "send-zc", res);
        } else if (res != -EAGAIN && res != -EINTR) {
            ur_conn_fail(c, res == -ECANCELED ? 0 : res);
        }
    } else if (res == 0 && c->sq_head && c->sq_head->n > c->sq_head->off) {
        ur_conn_fail(c, -EPIPE);
    } else {
        advance(c, (size_t)res);
    }
    ur_conn_check_drain(c);
out:
    if (c->flags & CF_CLOSING) {
        if (c->inflight == 0)
            ur_conn_defer(c);
    } else {
        /* Not ur_conn_flush: a record staged this turn may still grow
         * (the conn is deferred; the deferred phase flushes it). */
        wire_flush(c);
        if (c->flags & CF_DETACHING)
            ur_conn_defer(c); /* ready to hand off? */
    }
}

void ur_conn_fail_queues(struct ur_conn *c)
{
    while (c->sq_head) {
        struct ur_seg *s = c->sq_head;
        c->sq_head = s->next;
        ur_seg_finish(c, s, -ECANCELED);
    }
    c->sq_tail = NULL;
    while (c->app_head) {
        struct ur_seg *s = c->app_head;
        c->app_head = s->next;
        ur_seg_finish(c, s, -ECANCELED);
    }
    c->app_tail = NULL;
    if (c->tls)
        ur_tls_fail_staged(c);
    c->pending = 0;
}
