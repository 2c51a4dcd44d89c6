/*
 * filequeue.c: the session's outgoing messages (contract in session.h).
 *
 * Messages wait in a FIFO list; the pump hands out window slots round robin,
 * one chunk at a time, to messages that have no read in flight, so queued
 * messages interleave chunk by chunk and each message's chunks leave in
 * order. A chunk's body is read (ur_file_read, or copied from memory)
 * straight into a buffer with room for the head in front and the end-line
 * behind, so head, body and end-line go out as one contiguous send
 * (PEERS.md: end-line in the same send as the body).
 *
 * A slot is held from the read until the chunk's outcome: its 200 (or
 * 408), or, for Failure-Report no/partial, the end of its send.
 */
#include "gateway/session/session_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uring/file.h"

static void fq_pump(struct gw_session *s);

static void msg_free(struct gw_msg_out *m)
{
    if (m->own_fd && m->fd >= 0)
        close(m->fd);
    free(m->mem);
    free(m);
}

static void msg_maybe_free(struct gw_msg_out *m)
{
    if (m->zombie && !m->reading && m->inflight == 0)
        msg_free(m);
}

/* Decides the message's outcome: out of the queue, done() once. */
static void msg_complete(struct gw_session *s, struct gw_msg_out *m, int code)
{
    if (m->zombie)
        return;
    m->result = code;
    m->finished = true;
    struct gw_msg_out *prev = NULL;
    for (struct gw_msg_out *q = s->q_head; q; prev = q, q = q->next) {
        if (q != m)
            continue;
        if (prev)
            prev->next = m->next;
        else
            s->q_head = m->next;
        if (s->q_tail == m)
            s->q_tail = prev;
        if (s->rr == m)
            s->rr = prev; /* the next pick is m's successor */
        s->n_queued--;
        break;
    }
    m->zombie = true;
    if (m->done)
        m->done(s, m, code, m->arg);
    msg_maybe_free(m);
}

static void msg_check_done(struct gw_session *s, struct gw_msg_out *m)
{
    if (m->zombie || !m->finished || m->inflight || m->reading)
        return;
    if (m->io_err)
        msg_complete(s, m, GW_CODE_IO);
    else if (m->aborted)
        msg_complete(s, m, GW_CODE_ABORTED);
    else
        msg_complete(s, m, GW_CODE_OK);
}

/* The body of the next chunk of m is at buf + GW_HEAD_RESERVE (n bytes,
 * or fewer on a short read: got). Frames and sends it. */
static void chunk_send(struct gw_session *s, struct gw_tx *tx, struct gw_msg_out *m, size_t n,
                       long got)
{
    uint8_t *buf = tx->buf;
    char flag;
    if (got < 0 || (size_t)got < n) {
        /* The file shrank or failed: end the message visibly. */
        m->io_err = got < 0 ? (int)got : -EIO;
        n = got > 0 ? (size_t)got : 0;
        flag = '#';
        gw_session_slog(s, GW_SLOG_ERROR, "reading message %s failed at %llu: %s",
                        m->message_id, (unsigned long long)m->pos, strerror(-m->io_err));
    } else if (m->aborted) {
        flag = '#';
    } else {
        flag = m->pos + n == m->size ? '$' : '+';
    }
    if (m->tap && n)
        m->tap(m->arg, (const char *)buf + GW_HEAD_RESERVE, n);
    struct msrp_byte_range br = { m->pos + 1, m->pos + n, m->size };
    uint8_t *frame;
    size_t len, hl;
    int rc = gw_session_build_send(s, buf, n, tx->tid, m->message_id, &br, m->content_type,
                                   m->fr, m->sr, flag, &frame, &len, &hl);
    if (rc == 0)
        rc = gw_tx_send(tx, buf, frame, len);
    m->pos += n;
    m->started = true;
    if (flag != '+')
        m->finished = true;
    if (rc < 0) {
        /* Nothing went out: the transaction fails at once. */
        gw_tx_free_buf(s, buf);
        tx->buf = NULL;
        if (!m->io_err)
            m->io_err = rc;
        m->finished = true;
        tx->resolved = true;
        if (tx->holds_slot) {
            tx->holds_slot = false;
            s->slots--;
        }
        m->inflight--;
        msg_check_done(s, m);
        return;
    }
    m->sent += n;
    gw_session_log_out(s, frame, hl);
}

static void fq_read_cb(struct ur_loop *loop, void *arg, long res)
{
    (void)loop;
    struct gw_tx *tx = arg;
    struct gw_session *s = tx->s;
    struct gw_msg_out *m = tx->msg;
    tx->reading = false;
    m->reading = false;
    if (s->state == GW_S_CLOSED || m->zombie) {
        /* The session closed or the message failed meanwhile. */
        gw_tx_free_buf(s, tx->buf);
        tx->buf = NULL;
        gw_tx_resolve(tx, GW_CODE_CLOSED); /* no-op when already resolved */
        msg_maybe_free(m);
        gw_tx_maybe_free(tx);
        if (s->state == GW_S_CLOSED) {
            gw_session_read_done(s); /* may free s */
            return;
        }
        s->reads--;
        fq_pump(s);
        gw_session_maybe_finish(s);
        return;
    }
    size_t n = m->size - m->pos < s->cfg.chunk_size ? (size_t)(m->size - m->pos)
                                                    : s->cfg.chunk_size;
    chunk_send(s, tx, m, n, res);
    s->reads--;
    msg_check_done(s, m);
    fq_pump(s);
    gw_session_maybe_finish(s);
}

/* Starts the next chunk of m. 0 or -errno. */
static int chunk_start(struct gw_session *s, struct gw_msg_out *m)
{
    uint8_t *buf = gw_tx_alloc_buf(s);
    if (!buf)
        return -ENOMEM;
    struct gw_tx *tx = gw_tx_new(s, GW_TX_CHUNK, m->fr);
    if (!tx) {
        gw_tx_free_buf(s, buf);
        return -ENOMEM;
    }
    tx->msg = m;
    tx->buf = buf;
    tx->holds_slot = true;
    s->slots++;
    m->inflight++;
    size_t n = m->size - m->pos < s->cfg.chunk_size ? (size_t)(m->size - m->pos)
                                                    : s->cfg.chunk_size;
    if (m->mem) {
        memcpy(buf + GW_HEAD_RESERVE, m->mem + m->pos, n);
        chunk_send(s, tx, m, n, (long)n);
        return 0;
    }
    if (m->fd < 0 || n == 0) {
        chunk_send(s, tx, m, n, (long)n);
        return 0;
    }
    tx->reading = true;
    m->reading = true;
    int rc = ur_file_read(s->loop, m->fd, buf + GW_HEAD_RESERVE, n, m->pos, fq_read_cb, tx);
    if (rc < 0) {
        tx->reading = false;
        m->reading = false;
        chunk_send(s, tx, m, n, rc);
        return 0;
    }
    s->reads++;
    return 0;
}

static bool msg_ready(const struct gw_msg_out *m)
{
    return !m->reading && !m->finished && !m->zombie;
}

static void fq_pump(struct gw_session *s)
{
    if (s->state != GW_S_BOUND || !s->m || s->in_pump)
        return;
    s->in_pump = true;
    while (s->slots < s->cfg.window && s->q_head) {
        /* Round robin: first ready message after the last one served. */
        struct gw_msg_out *start = s->rr && s->rr->next ? s->rr->next : s->q_head;
        struct gw_msg_out *pick = NULL, *q = start;
        for (unsigned i = 0; i < s->n_queued; i++) {
            if (msg_ready(q)) {
                pick = q;
                break;
            }
            q = q->next ? q->next : s->q_head;
        }
        if (!pick)
            break;
        s->rr = pick;
        if (pick->aborted && !pick->started) {
            msg_complete(s, pick, GW_CODE_ABORTED); /* nothing was on the wire */
            continue;
        }
        if (chunk_start(s, pick) < 0)
            break;
        msg_check_done(s, pick);
    }
    s->in_pump = false;
}

static void fq_chunk_done(struct gw_session *s, struct gw_tx *tx, int code)
{
    struct gw_msg_out *m = tx->msg;
    if (!m)
        return;
    m->inflight--;
    if (m->zombie) {
        msg_maybe_free(m);
        return;
    }
    if (code != GW_CODE_OK) {
        gw_session_slog(s, GW_SLOG_WARN, "chunk of message %s failed: %d", m->message_id, code);
        msg_complete(s, m, code);
        return;
    }
    msg_check_done(s, m);
}

static void fq_fail_all(struct gw_session *s, int code)
{
    while (s->q_head)
        msg_complete(s, s->q_head, code);
}

static const struct gw_session_hook fq_hook = {
    .on_room = fq_pump,
    .on_chunk_done = fq_chunk_done,
    .on_abort = fq_fail_all,
};

static int msg_new(struct gw_session *s, const struct gw_send_opts *o, gw_sent_fn done,
                   void *arg, struct gw_msg_out **out)
{
    if (s->closing || s->draining || s->state == GW_S_CLOSED)
        return -ESHUTDOWN;
    /* The queue attaches itself to the session by its first message. */
    int rc = gw_session_hook_add(s, &fq_hook);
    if (rc < 0)
        return rc;
    struct gw_msg_out *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->s = s;
    m->fd = -1;
    const char *ct = o && o->content_type ? o->content_type : "application/octet-stream";
    if (strlen(ct) > GW_CTYPE_MAX || (o && o->message_id && strlen(o->message_id) > GW_MSGID_MAX)) {
        free(m);
        return -E2BIG;
    }
    strcpy(m->content_type, ct);
    if (o && o->message_id) {
        strcpy(m->message_id, o->message_id);
    } else {
        gw_session_next_tid(s, m->message_id);
        gw_session_next_tid(s, m->message_id + GW_TID_LEN);
        m->message_id[2 * GW_TID_LEN] = '\0';
    }
    m->fr = o && o->failure_report ? o->failure_report : s->cfg.failure_report;
    m->sr = o && o->success_report ? o->success_report : s->cfg.success_report;
    m->tap = o ? o->tap : NULL;
    m->done = done;
    m->arg = arg;
    *out = m;
    return 0;
}

static void msg_enqueue(struct gw_session *s, struct gw_msg_out *m, uint64_t start)
{
    m->pos = start > m->size ? m->size : start;
    if (s->q_tail)
        s->q_tail->next = m;
    else
        s->q_head = m;
    s->q_tail = m;
    s->n_queued++;
    fq_pump(s);
}

int gw_session_send_file(struct gw_session *s, int fd, const char *path, uint64_t size,
                         const struct gw_send_opts *o, gw_sent_fn done, void *arg,
                         struct gw_msg_out **out)
{
    struct gw_msg_out *m;
    int rc = msg_new(s, o, done, arg, &m);
    if (rc < 0)
        return rc;
    if (fd < 0) {
        fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        if (fd < 0) {
            rc = path ? -errno : -EINVAL;
            free(m);
            return rc;
        }
        m->own_fd = true;
    }
    m->fd = fd;
    if (size == UINT64_MAX) {
        struct stat st;
        if (fstat(fd, &st) != 0) {
            rc = -errno;
            msg_free(m);
            return rc;
        }
        size = (uint64_t)st.st_size;
    }
    m->size = size;
    if (out)
        *out = m;
    msg_enqueue(s, m, o ? o->start : 0);
    return 0;
}

int gw_session_send_mem(struct gw_session *s, const void *p, size_t n,
                        const struct gw_send_opts *o, gw_sent_fn done, void *arg,
                        struct gw_msg_out **out)
{
    struct gw_msg_out *m;
    int rc = msg_new(s, o, done, arg, &m);
    if (rc < 0)
        return rc;
    m->mem = malloc(n ? n : 1);
    if (!m->mem) {
        free(m);
        return -ENOMEM;
    }
    if (n)
        memcpy(m->mem, p, n);
    m->size = n;
    if (out)
        *out = m;
    msg_enqueue(s, m, o ? o->start : 0);
    return 0;
}

int gw_session_abort_message(struct gw_session *s, struct gw_msg_out *m)
{
    if (m->zombie || m->finished)
        return -EALREADY;
    m->aborted = true;
    if (!m->started && !m->reading) {
        msg_complete(s, m, GW_CODE_ABORTED);
        return 0;
    }
    fq_pump(s);
    return 0;
}

const char *gw_msg_out_id(const struct gw_msg_out *m)
{
    return m->message_id;
}

uint64_t gw_msg_out_sent(const struct gw_msg_out *m)
{
    return m->sent;
}
