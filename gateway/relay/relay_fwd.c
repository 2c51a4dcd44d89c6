/*
 * relay_fwd.c: forwarding one incoming chunk to the next hop, as it
 * arrives, and answering it hop by hop (RFC 4976 section 7, RFC 4975
 * sections 7.1-7.3).
 *
 * A chunk owns the next hop's frame slot from its first head byte to its
 * end-line: frames cannot interleave on a connection. Others wanting the
 * slot wait in a FIFO with their sender stalled, so nothing is buffered.
 * With max_chunk_out set, the body is cut into pieces of at most that many
 * bytes, each a complete outgoing chunk ending in '+' (the last one keeps
 * the sender's flag). At a piece boundary with others waiting, the chunk
 * yields the slot: it holds the rest of its current receive slice by
 * reference, queues behind the waiters and stalls its sender, so a waiter
 * waits at most one piece per chunk ahead of it. It also lets a peer
 * that caps chunk sizes (Kamailio: ~10 KB, PEERS.md) receive big chunks
 * from our clients. The default, 64 KiB, is the chunk size file-transfer
 * clients already use (PEERS.md), so their chunks pass unsplit, and a
 * 64 KiB piece is about 60 us of a loopback connection's time.
 *
 * Each piece is a transaction with its own tid and a chunk_timeout timer.
 * The upstream answer (original tid) is sent when the sender's end-line
 * has been forwarded and every piece is answered; the first non-200 wins.
 * A piece that times out or whose connection is lost counts as 408 (481
 * when the next hop could never be reached) and, unless Failure-Report is
 * no, also earns the sender a Failure REPORT (Status 000 408), sent back
 * over the connection the chunk came in on (PEERS.md: never dial a
 * sender's From-Path).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/relay/relay_internal.h"
#include "proto/status.h"
#include "proto/writer.h"
#include "uring/buf.h"
#include "uring/conn.h"
#include "uring/loop.h"


static void chunk_check(struct chunk *c);

/*
 * One allocation per chunk: the chunk, its first piece (an unsplit chunk
 * has no other), the texts copied out of its head and the forwarded head.
 * Four mallocs and frees per forwarded chunk were measurable in the
 * per-chunk instruction count (perf/chunk_cost.sh); the sizes are the same
 * as before, so memory per chunk in flight is unchanged. Later pieces of a
 * split chunk, while the first is still out, get their own allocation.
 */
struct chunk_mem {
    struct chunk c;  /* first: a struct chunk * is a struct chunk_mem * */
    struct piece p0; /* in use while p0.core != NULL */
    char bytes[];    /* texts, then the head */
};

static struct piece *chunk_piece0(struct chunk *c)
{
    return &((struct chunk_mem *)(void *)c)->p0;
}

static struct piece *piece_new(struct chunk *c)
{
    struct piece *pc = chunk_piece0(c);
    if (pc->core)
        return calloc(1, sizeof(*pc));
    memset(pc, 0, sizeof(*pc));
    return pc;
}

/* --- pieces ------------------------------------------------------------- */

static void piece_free(struct piece *pc)
{
    struct gw_relay_core *core = pc->core;
    ur_timer_cancel(core->loop, &pc->timer);
    relay_table_del(&core->pieces, &pc->node);
    if (pc->down) {
        if (pc->prev)
            pc->prev->next = pc->next;
        else
            pc->down->pieces = pc->next;
        if (pc->next)
            pc->next->prev = pc->prev;
    }
    if (pc == chunk_piece0(pc->c))
        pc->core = NULL; /* the chunk's own: free again, freed with it */
    else
        free(pc);
}

/* Folds one piece result into its chunk: the first non-200 wins. */
static void chunk_result(struct chunk *c, uint16_t code, bool local)
{
    if (c->status == 0 || c->status == 200) {
        c->status = code;
        c->local_fail = local && code != 200;
    }
}

static void piece_done(struct piece *pc, uint16_t code, bool local)
{
    struct chunk *c = pc->c;
    piece_free(pc);
    chunk_result(c, code, local);
    c->pieces_out--;
    chunk_check(c);
}

static void piece_timeout(struct ur_timer *t, void *arg)
{
    (void)t;
    struct piece *pc = arg;
    struct chunk *c = pc->c;
    if (c->fr == MSRP_REPORT_PARTIAL) {
        /* partial: the next hop only answers failures, so silence is
         * success (RFC 4975 section 7.1.2). */
        piece_done(pc, 200, true);
        return;
    }
    RSTAT(pc->core, timeouts_408);
    MET(pc->core, drops[GW_DROP_TIMEOUT]);
    RLOG(UR_LOG_WARN, pc->down, "chunk %.*s from sess %s timed out (408)", (int)c->otid_n,
         c->otid, c->up ? c->up->sessid : "-");
    piece_done(pc, 408, true);
}

/* --- the next hop's frame slot ------------------------------------------ */

static int send_piece_head(struct chunk *c)
{
    struct gw_relay_core *core = c->core;
    int rc = relay_new_tid(core, c->tid);
    if (rc < 0)
        return rc;
    c->piece_bytes = 0;
    /* head = "MSRP <tid> ..." with our 16-char tid placeholder at offset 5,
     * and the Byte-Range line at br_span. */
    memcpy(c->head + 5, c->tid, RELAY_TID_LEN);
    struct gw_mconn *m = c->down->m;
    /* The first piece's Byte-Range (if any) is already in the head. */
    if (!c->split_range || c->sent == 0) {
        rc = gw_mconn_send_copy(m, c->head, c->head_n);
        if (rc == 0 && core->hep) {
            struct msrp_slice parts[3] = { msrp_slice(c->head, c->head_n) };
            relay_hep_capture(c, parts);
        }
    } else {
        static const char name[] = "Byte-Range: ";
        char line[sizeof(name) - 1 + RELAY_RANGE_MAX + 2];
        struct msrp_byte_range br;
        if (gw_relay_piece_range(c->has_br, &c->br, c->sent, core->r->cfg.max_chunk_out,
                                 &br) < 0) {
            chunk_result(c, 400, true); /* its range outgrew Byte-Range (relay_wire.c) */
            return -ERANGE;
        }
        memcpy(line, name, sizeof(name) - 1);
        size_t n = sizeof(name) - 1 + relay_fmt_range(line + sizeof(name) - 1, &br);
        line[n++] = '\r';
        line[n++] = '\n';
        c->piece_br = br;
        rc = gw_mconn_send_copy(m, c->head, c->br_off);
        if (rc == 0)
            rc = gw_mconn_send_copy(m, line, n);
        if (rc == 0)
            rc = gw_mconn_send_copy(m, c->head + c->br_off + c->br_len,
                                    c->head_n - c->br_off - c->br_len);
        if (rc == 0 && core->hep) {
            struct msrp_slice parts[3] = {
                msrp_slice(c->head, c->br_off), msrp_slice(line, n),
                msrp_slice(c->head + c->br_off + c->br_len, c->head_n - c->br_off - c->br_len),
            };
            relay_hep_capture(c, parts);
        }
    }
    /* The piece owns the hop's output until its end-line: answers and
     * REPORTs for the hop's own chunks wait behind it (mconn.h). */
    if (rc == 0)
        gw_mconn_frame_begin(m);
    RSTAT(core, pieces_out);
    MET(core, chunks_out);
    c->down->chunks_out++; /* accounting (accounting.h) */
    c->head_queued = true;
    return rc;
}

static void send_piece_end(struct chunk *c, char flag)
{
    struct gw_relay_core *core = c->core;
    if (c->hep_head)
        relay_hep_body(c, NULL, 0); /* a piece without body bytes */
    char line[16 + MSRP_TID_CAP];
    int n = msrp_write_end_line(line, sizeof(line), msrp_slice(c->tid, RELAY_TID_LEN), flag,
                                c->has_body);
    if (n < 0 || gw_mconn_send_copy(c->down->m, line, (size_t)n) < 0 ||
        gw_mconn_frame_end(c->down->m) < 0) {
        c->dead = true;
        chunk_result(c, 408, true);
        return;
    }
    /* Responses come back only for SENDs, and not at all with
     * Failure-Report: no (RFC 4975 section 7.1.2). */
    if (c->method != MSRP_M_SEND || c->fr == MSRP_REPORT_NO)
        return;
    struct piece *pc = piece_new(c);
    if (!pc) {
        chunk_result(c, 408, true);
        return;
    }
    pc->core = core;
    pc->c = c;
    pc->down = c->down;
    memcpy(pc->tid, c->tid, RELAY_TID_LEN);
    pc->node.key = pc->tid;
    pc->node.klen = RELAY_TID_LEN;
    relay_table_put(&core->pieces, &pc->node);
    pc->next = c->down->pieces;
    if (pc->next)
        pc->next->prev = pc;
    c->down->pieces = pc;
    ur_timer_init(&pc->timer, piece_timeout, pc);
    ur_timer_arm(core->loop, &pc->timer, core->r->cfg.chunk_timeout_ms, 0);
    c->pieces_out++;
}

static int pump(struct chunk *c, const char *p, size_t n, struct ur_buf *buf, bool in_slot_next);

/* Grants down's free slot to waiters in FIFO order. A waiter that yielded
 * mid-chunk first sends the bytes it held back; it may yield again at its
 * next piece boundary, which simply lets the loop go on (no recursion). */
/* The first head of c could not be written to its next hop (closing):
 * c is dead (408), gives the slot back, and forgets the hop -- it is then
 * no longer the hop's writer nor in its queue, so nothing would clear
 * c->down when the hop is freed. */
static void chunk_lost_slot(struct chunk *c)
{
    c->dead = true;
    chunk_result(c, 408, true);
    if (c->down->writer == c)
        c->down->writer = NULL;
    c->down = NULL;
}

void relay_fwd_slot_next(struct rconn *down)
{
    while (!down->writer && down->wq_head && !down->binding) {
        struct chunk *c = down->wq_head;
        down->wq_head = c->wq_next;
        if (!down->wq_head)
            down->wq_tail = NULL;
        c->wq_next = NULL;
        c->waiting = false;
        down->writer = c;
        RLOG(UR_LOG_DEBUG, c->up, "chunk %.*s gets the slot of %s (held %zu, sent %llu)",
             (int)c->otid_n, c->otid, down->key, c->held_n, (unsigned long long)c->sent);
        if (send_piece_head(c) < 0)
            chunk_lost_slot(c);
        if (c->held_n) {
            struct ur_buf *hb = c->held_buf;
            size_t hn = c->held_n;
            const char *hp = hb ? c->held_p : c->held_copy;
            char copy[sizeof(c->held_copy)];
            if (!hb) {
                memcpy(copy, hp, hn);
                hp = copy;
            }
            c->held_buf = NULL;
            c->held_n = 0;
            if (!c->dead)
                pump(c, hp, hn, hb, true);
            ur_buf_unref(hb);
        }
        if (c->up && !c->waiting && !c->drain_wait)
            relay_conn_kick(c->up);
    }
}

static void slot_release(struct chunk *c)
{
    if (c->down && c->down->writer == c) {
        c->down->writer = NULL;
        relay_fwd_slot_next(c->down);
    }
}

static void wq_remove(struct rconn *down, struct chunk *c)
{
    struct chunk **pp = &down->wq_head;
    struct chunk *prev = NULL;
    for (; *pp; prev = *pp, pp = &(*pp)->wq_next)
        if (*pp == c) {
            *pp = c->wq_next;
            if (down->wq_tail == c)
                down->wq_tail = prev;
            c->wq_next = NULL;
            c->waiting = false;
            return;
        }
}

/* --- chunks --------------------------------------------------------------- */

static void ups_unlink(struct chunk *c)
{
    if (!c->up)
        return;
    if (c->up_prev)
        c->up_prev->up_next = c->up_next;
    else
        c->up->ups = c->up_next;
    if (c->up_next)
        c->up_next->up_prev = c->up_prev;
    c->up_prev = c->up_next = NULL;
    struct rconn *up = c->up;
    c->up = NULL;
    up->n_ups--;
    if (up->ups_full && up->n_ups < up->core->r->cfg.max_chunks_in_flight) {
        up->ups_full = false; /* an answer came: read the sender again */
        relay_conn_kick(up);
    }
}

static void chunk_free(struct chunk *c)
{
    ups_unlink(c);
    ur_buf_unref(c->held_buf);
    RSTAT_SUB(c->core, active_chunks, 1);
    free(c->hep_head);
    free(c); /* with its first piece, texts and head (struct chunk_mem) */
}

static void send_failure_report(struct chunk *c, uint16_t code)
{
    struct gw_relay_core *core = c->core;
    char tid[RELAY_TID_LEN];
    if (relay_new_tid(core, tid) < 0)
        return;
    struct msrp_frame f;
    memset(&f, 0, sizeof(f));
    f.kind = MSRP_REQUEST;
    f.method = MSRP_M_REPORT;
    f.tid = msrp_slice(tid, sizeof(tid));
    f.to_path.texts = &c->from_path;
    f.to_path.n = 1;
    f.from_path.texts = &c->self;
    f.from_path.n = 1;
    f.message_id = c->message_id;
    f.has_byte_range = c->has_br;
    f.byte_range = c->br;
    f.has_status = true;
    f.status_hdr.ns = 0;
    f.status_hdr.code = code;
    const char *cm = msrp_status_phrase(code);
    if (cm)
        f.status_hdr.comment = msrp_slice(cm, strlen(cm));
    char buf[8192];
    int n = msrp_write_bodiless(buf, sizeof(buf), &f, '$');
    if (n > 0 && gw_mconn_send_frame(c->up->m, buf, (size_t)n) == 0) {
        RSTAT(core, failure_reports);
        MET(core, reports_sent);
    }
}

/*
 * The upstream 200, written by copying: it is sent for every forwarded
 * chunk, and its parts need no checking (the tid and both URIs come from
 * a head the parser accepted). The same bytes msrp_write_bodiless makes.
 * Returns the length, or -1 when it does not fit.
 */
static int write_ok(char *buf, size_t cap, const struct chunk *c)
{
    static const char ok[] = " 200 OK\r\nTo-Path: ";
    static const char from[] = "\r\nFrom-Path: ";
    static const char dashes[] = "\r\n-------";
    size_t n = 5 + c->otid_n + (sizeof(ok) - 1) + c->prev_hop.n + (sizeof(from) - 1) +
               c->self.n + (sizeof(dashes) - 1) + c->otid_n + 3;
    if (n > cap || c->otid_n == 0 || c->prev_hop.n == 0 || c->self.n == 0)
        return -1;
    char *o = buf;
#define PUT(p, len) (memcpy(o, (p), (len)), o += (len))
    PUT("MSRP ", 5);
    PUT(c->otid, c->otid_n);
    PUT(ok, sizeof(ok) - 1);
    PUT(c->prev_hop.p, c->prev_hop.n);
    PUT(from, sizeof(from) - 1);
    PUT(c->self.p, c->self.n);
    PUT(dashes, sizeof(dashes) - 1);
    PUT(c->otid, c->otid_n);
    PUT("$\r\n", 3);
#undef PUT
    return (int)n;
}

static void chunk_answer(struct chunk *c)
{
    if (c->answered)
        return;
    c->answered = true;
    uint16_t code = c->status ? c->status : 200;
    if (!c->up || c->method != MSRP_M_SEND || c->fr == MSRP_REPORT_NO)
        return;
    if (c->fr == MSRP_REPORT_PARTIAL && code == 200)
        return;
    char buf[4096];
    int n = code == 200 ? write_ok(buf, sizeof(buf), c) : -1;
    if (n < 0) {
        struct msrp_frame f;
        memset(&f, 0, sizeof(f));
        f.kind = MSRP_RESPONSE;
        f.tid = msrp_slice(c->otid, c->otid_n);
        f.status = code;
        const char *cm = msrp_status_phrase(code);
        if (cm)
            f.comment = msrp_slice(cm, strlen(cm));
        f.to_path.texts = &c->prev_hop;
        f.to_path.n = 1;
        f.from_path.texts = &c->self;
        f.from_path.n = 1;
        n = msrp_write_bodiless(buf, sizeof(buf), &f, '$');
    }
    if (c->up->writer)
        RLOG(UR_LOG_DEBUG, c->up, "answer to %.*s waits for the end-line of chunk %.*s",
             (int)c->otid_n, c->otid, (int)c->up->writer->otid_n, c->up->writer->otid);
    if (n > 0 && gw_mconn_send_frame(c->up->m, buf, (size_t)n) == 0) {
        RSTAT(c->core, responses_up);
        if (c->local_fail || c->refused)
            MET(c->core, resp_sent[gw_status_index(code)]);
        else
            MET(c->core, resp_relayed[gw_status_index(code)]);
    }
    /* A failure we made up ourselves (nobody downstream will report it):
     * tell the sender's endpoint, as Failure-Report yes/partial asks. */
    if (code != 200 && c->local_fail)
        send_failure_report(c, code);
}

/* Answers when everything is known, frees when nothing refers to c. */
static void chunk_check(struct chunk *c)
{
    if (!c->ended || c->pieces_out > 0)
        return;
    chunk_answer(c);
    if (c->streaming || c->waiting || (c->down && c->down->writer == c))
        return;
    chunk_free(c);
}

/* The parts of h a chunk keeps after on_end (copy_texts); their length. */
static size_t text_parts(const struct msrp_head *h, struct msrp_slice parts[4])
{
    const struct msrp_header *fp = msrp_head_find(h, MSRP_H_FROM_PATH);
    parts[0] = h->from_path[0].raw;
    parts[1] = h->to_path[0].raw;
    parts[2] = fp ? fp->value : h->from_path[0].raw;
    parts[3] = h->message_id;
    return parts[0].n + parts[1].n + parts[2].n + parts[3].n;
}

/* Copies the parts into t (text_parts bytes) and points c's slices there. */
static void copy_texts(struct chunk *c, const struct msrp_slice parts[4], char *t)
{
    struct msrp_slice *dst[4] = { &c->prev_hop, &c->self, &c->from_path, &c->message_id };
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        if (parts[i].n)
            memcpy(t + off, parts[i].p, parts[i].n);
        *dst[i] = msrp_slice(t + off, parts[i].n);
        off += parts[i].n;
    }
    c->text = t;
}

/* --- stalled senders ---------------------------------------------------------
 *
 * A chunk owns the next hop's slot until its end-line, so a sender that
 * stops mid-chunk would hold every other sender to that hop for ever. Each
 * connection with a chunk coming in has one timer, checking every quarter
 * of chunk_stall_timeout whether the connection received any byte since
 * the last check: the data path only reads the connection's byte count
 * when a check is due, and the timer stays armed from chunk to chunk (it
 * rests when a check finds no chunk). Checks that find the relay itself
 * holding the sender back (waiting for the slot, the next hop over its
 * ceiling, reading paused) restart the clock, as does every resume
 * (kick_cb): only time we would have read counts. On expiry the sender's
 * connection is closed; relay_fwd_conn_closed then ends the forwarded copy with
 * '#' and the slot goes to the next waiter.
 */

static uint64_t stall_check_ms(const struct gw_relay_config *cfg)
{
    uint64_t p = cfg->chunk_stall_timeout_ms / 4;
    return p < 10 ? 10 : p;
}

/* Whether got bytes since the last progress, elapsed_ns ago, are progress:
 * any byte when chunk_min_rate is 0, else at least that rate on average
 * over the time (a drip of a byte a second is not). */
static bool stall_progress(const struct gw_relay_config *cfg, uint64_t got, uint64_t elapsed_ns)
{
    if (got == 0)
        return false;
    if (!cfg->chunk_min_rate)
        return true;
    /* rate <= 1 GiB/s, elapsed <= the timeout (1 h) plus a check: no overflow */
    return got >= cfg->chunk_min_rate * (elapsed_ns / 1000000u) / 1000u;
}

static uint64_t conn_bytes_in(const struct rconn *rc)
{
    struct ur_conn_stats cs;
    ur_conn_get_stats(gw_mconn_conn(rc->m), &cs);
    return cs.bytes_in;
}

static void stall_watch(struct rconn *up)
{
    up->stall_rx = conn_bytes_in(up);
    up->stall_since_ns = ur_now_ns();
    ur_timer_arm(up->core->loop, &up->stall, stall_check_ms(&up->core->r->cfg), 0);
}

void relay_fwd_stall_check(struct ur_timer *t, void *arg)
{
    (void)t;
    struct rconn *rc = arg;
    struct chunk *c = rc->cur;
    if (!c || rc->closing)
        return; /* between chunks: the next relay_fwd_start re-arms */
    const struct gw_relay_config *cfg = &rc->core->r->cfg;
    uint64_t now = ur_now_ns();
    uint64_t rx = conn_bytes_in(rc);
    bool held = c->waiting || c->drain_wait || gw_mconn_stalled(rc->m) ||
                ur_conn_read_paused(gw_mconn_conn(rc->m));
    if (held || stall_progress(cfg, rx - rc->stall_rx, now - rc->stall_since_ns)) {
        rc->stall_rx = rx;
        rc->stall_since_ns = now;
    } else if (now - rc->stall_since_ns >= (uint64_t)cfg->chunk_stall_timeout_ms * 1000000u) {
        if (rx == rc->stall_rx)
            RLOG(UR_LOG_WARN, rc, "chunk %.*s made no progress for %u ms after %llu bytes: aborting it",
                 (int)c->otid_n, c->otid, cfg->chunk_stall_timeout_ms, (unsigned long long)c->sent);
        else
            RLOG(UR_LOG_WARN, rc,
                 "chunk %.*s got %llu bytes in %u ms, under chunk_min_rate %llu B/s, after %llu bytes: "
                 "aborting it", (int)c->otid_n, c->otid, (unsigned long long)(rx - rc->stall_rx),
                 cfg->chunk_stall_timeout_ms, (unsigned long long)cfg->chunk_min_rate,
                 (unsigned long long)c->sent);
        relay_conn_drop(rc, GW_DROP_CHUNK_STALL);
        return;
    }
    ur_timer_arm(rc->core->loop, &rc->stall, stall_check_ms(cfg), 0);
}

int relay_fwd_start(struct rconn *up, const struct msrp_head *h, unsigned skip, struct rconn *down,
              const struct fwd_paths *paths)
{
    struct gw_relay_core *core = up->core;
    const struct gw_relay_config *cfg = &core->r->cfg;
    /* The head is rendered once, with a placeholder tid; each piece patches
     * the tid (and its Byte-Range when splitting). */
    /* Sized by the head that was read (gw_relay_head_bound): chunks in
     * flight cost what their heads cost, not max_header_bytes each. */
    size_t cap = gw_relay_head_bound(h);
    for (size_t i = 0; paths && i < paths->nto + paths->nfrom; i++)
        cap += 1 + (i < paths->nto ? paths->to[i].n : paths->from[i - paths->nto].n);
    struct msrp_slice parts[4];
    size_t text_n = text_parts(h, parts);
    struct chunk_mem *mem = malloc(sizeof(*mem) + text_n + cap);
    if (!mem)
        return -ENOMEM;
    /* Only the structs are zeroed: the texts and head are written below. */
    memset(mem, 0, sizeof(*mem));
    struct chunk *c = &mem->c;
    c->core = core;
    c->method = h->method;
    c->fr = h->failure_report;
    c->has_br = h->has_byte_range;
    c->br = h->byte_range;
    c->has_body = h->has_body;
    c->otid_n = h->tid.n < sizeof(c->otid) ? h->tid.n : sizeof(c->otid);
    memcpy(c->otid, h->tid.p, c->otid_n);
    copy_texts(c, parts, mem->bytes);
    c->head = mem->bytes + text_n;
    c->split_range = cfg->max_chunk_out > 0 && c->has_body;
    struct msrp_byte_range br0;
    bool br_bad = c->split_range && c->has_br &&
                  gw_relay_piece_range(true, &c->br, 0, cfg->max_chunk_out, &br0) < 0;
    size_t span[2];
    const struct msrp_byte_range *brp = c->split_range && c->has_br ? &br0 : NULL;
    struct msrp_slice tid0 = MSRP_SLICE_LIT("0000000000000000");
    int n = br_bad ? -EINVAL
            : paths ? gw_relay_write_head(c->head, cap, h, tid0, paths->to, paths->nto,
                                          paths->from, paths->nfrom, brp, span)
                    : gw_relay_write_fwd_head(c->head, cap, h, skip, tid0, brp, span);
    if (n < 0) {
        free(mem);
        return n == -ENOMEM ? n : -EINVAL;
    }
    c->head_n = (size_t)n;
    c->br_off = span[0];
    c->br_len = span[1];
    /* Without its own Byte-Range the first piece goes out verbatim; later
     * pieces insert one at the span (send_piece_head). */
    c->up = up;
    c->up_next = up->ups;
    if (c->up_next)
        c->up_next->up_prev = c;
    up->ups = c;
    up->n_ups++;
    c->down = down;
    c->streaming = true;
    up->cur = c;
    if (!ur_timer_armed(&up->stall))
        stall_watch(up);
    RSTAT(core, frames_forwarded);
    RSTAT_ADD(core, active_chunks, 1);
    MET(core, chunks_in);
    up->chunks_in++; /* accounting (accounting.h) */

    if (!down->writer && !down->wq_head && !down->binding) {
        down->writer = c;
        if (send_piece_head(c) < 0)
            chunk_lost_slot(c);
        return GW_MCONN_CONTINUE;
    }
    c->waiting = true;
    RLOG(UR_LOG_DEBUG, up, "chunk %.*s waits for the slot of %s", (int)c->otid_n, c->otid,
         down->key);
    if (down->wq_tail)
        down->wq_tail->wq_next = c;
    else
        down->wq_head = c;
    down->wq_tail = c;
    RSTAT(core, stalls);
    RSTAT(core, slot_waits);
    return GW_MCONN_STALL;
}

/* Gives the slot up at a piece boundary: the rest of this receive slice
 * (one receive buffer at most) is held back by reference, and the chunk
 * queues behind the waiters. */
static void yield_slot(struct chunk *c, const char *p, size_t n, struct ur_buf *buf,
                       bool in_slot_next)
{
    struct rconn *down = c->down;
    if (buf) {
        c->held_buf = ur_buf_ref(buf);
        c->held_p = p;
    } else {
        /* Parser-held bytes (a partial end-line match): a few dozen. */
        memcpy(c->held_copy, p, n);
    }
    c->held_n = n;
    c->waiting = true;
    RLOG(UR_LOG_DEBUG, c->up, "chunk %.*s yields the slot of %s after %llu bytes", (int)c->otid_n,
         c->otid, down->key, (unsigned long long)c->sent);
    down->wq_tail->wq_next = c;
    down->wq_tail = c;
    down->writer = NULL;
    RSTAT(c->core, slot_yields);
    if (!in_slot_next)
        relay_fwd_slot_next(down);
}

/*
 * Forwards body bytes of c, cutting pieces at max_chunk_out. Returns
 * GW_MCONN_STALL when the sender must wait (slot yielded to a waiter, or
 * the next hop over its ceiling), else GW_MCONN_CONTINUE.
 */
static int pump(struct chunk *c, const char *p, size_t n, struct ur_buf *buf, bool in_slot_next)
{
    struct gw_relay_core *core = c->core;
    uint64_t max = core->r->cfg.max_chunk_out;
    while (n > 0) {
        if (max && c->piece_bytes == max) {
            /* Cut here: this piece ends with '+', the next one continues
             * the same message (RFC 4975 section 7.1: chunks may be split,
             * never merged). */
            if (c->sent == max)
                RSTAT(core, chunks_split);
            send_piece_end(c, '+');
            if (c->dead)
                return GW_MCONN_CONTINUE;
            if (c->down->wq_head && (buf || n <= sizeof(c->held_copy))) {
                /* Others wait for this connection: let them have a turn,
                 * so the wait is bounded by max_chunk_out, not by the
                 * size of the chunk in front of them. */
                yield_slot(c, p, n, buf, in_slot_next);
                return GW_MCONN_STALL;
            }
            if (send_piece_head(c) < 0) {
                /* The hop is closing, or the body outgrew its Byte-Range
                 * (400): either way the slot goes to the next waiter now,
                 * not when (if ever) the hop closes. */
                struct rconn *down = c->down;
                chunk_lost_slot(c);
                if (!in_slot_next)
                    relay_fwd_slot_next(down); /* else the caller's loop goes on */
                return GW_MCONN_CONTINUE;
            }
        }
        size_t take = n;
        if (max && take > max - c->piece_bytes)
            take = (size_t)(max - c->piece_bytes);
        if (gw_mconn_send_ref(c->down->m, p, take, buf) < 0) {
            c->dead = true;
            chunk_result(c, 408, true);
            return GW_MCONN_CONTINUE;
        }
        if (c->hep_head)
            relay_hep_body(c, p, take); /* the piece's head waited for its body */
        p += take;
        n -= take;
        c->sent += take;
        c->piece_bytes += take;
        RSTAT_ADD(core, body_bytes, take);
        if (c->up && c->up->leg)
            relay_anchor_count_bytes(c->up->leg, take);
        MET_ADD(core, bytes_in, take);
        MET_ADD(core, bytes_out, take);
        c->down->body_out += take; /* accounting (accounting.h) */
        if (c->up)
            c->up->body_in += take;
    }
    const struct ur_loop_config *lc = ur_loop_config(core->loop);
    if (gw_mconn_pending(c->down->m) >= lc->conn_mem_ceiling) {
        /* The next hop is slow: stop reading the sender until on_drain. */
        c->drain_wait = true;
        RSTAT(core, stalls);
        return GW_MCONN_STALL;
    }
    return GW_MCONN_CONTINUE;
}

/* The message outgrew max_message_size in this chunk's body (relay_limits.c):
 * the copy forwarded so far ends with '#' (the message is aborted, its
 * receiver discards it), the rest of the body is discarded, and the
 * sender gets 413 -- stop sending this message -- at its end-line. */
static void chunk_refuse(struct chunk *c)
{
    c->refused = true;
    chunk_result(c, 413, false);
    if (c->down->writer == c) {
        send_piece_end(c, '#');
        slot_release(c);
    }
    c->dead = true;
    MET(c->core, drops[GW_DROP_MESSAGE_TOO_LARGE]);
    relay_limits_refused(c->up, c->message_id);
}

int relay_fwd_body(struct rconn *up, const char *p, size_t n, struct ur_buf *buf)
{
    struct chunk *c = up->cur;
    if (!c || c->dead || !c->down)
        return GW_MCONN_CONTINUE;
    uint64_t max = up->frame_max_msg; /* the sender's or receiver's user's (relay_limits.c) */
    if (max && c->method == MSRP_M_SEND &&
        (c->has_br ? c->br.start - 1 : 0) + c->sent + n > max) {
        chunk_refuse(c);
        return GW_MCONN_CONTINUE;
    }
    return pump(c, p, n, buf, false);
}

int relay_fwd_end(struct rconn *up, char flag)
{
    struct chunk *c = up->cur;
    if (!c)
        return GW_MCONN_CONTINUE;
    up->cur = NULL;
    c->streaming = false;
    c->ended = true;
    c->flag = flag;
    RLOG(UR_LOG_DEBUG, up, "chunk %.*s ends '%c' (writer %d dead %d)", (int)c->otid_n, c->otid,
         flag, c->down && c->down->writer == c, c->dead);
    if (!c->dead && c->down && c->down->writer == c) {
        send_piece_end(c, flag);
        slot_release(c);
    }
    if (c->dead && c->status == 0)
        chunk_result(c, 408, true);
    chunk_check(c);
    if (up->n_ups >= up->core->r->cfg.max_chunks_in_flight) {
        /* A next hop that reads but does not answer: the sender waits
         * for answers (ups_unlink resumes it) instead of memory growing
         * by a chunk record per request for chunk_timeout. */
        up->ups_full = true;
        RSTAT(up->core, stalls);
        return GW_MCONN_STALL;
    }
    return GW_MCONN_CONTINUE;
}

void relay_fwd_response(struct rconn *rc, const struct msrp_head *h)
{
    struct rnode *n = relay_table_get(&rc->core->pieces, h->tid.p, h->tid.n);
    if (!n)
        return; /* late (after a timeout) or not ours: nothing to answer */
    struct piece *pc = RCONTAINER(n, struct piece, node);
    if (pc->down != rc)
        return;
    piece_done(pc, h->status, false);
}

void relay_fwd_drained(struct rconn *rc)
{
    struct chunk *c = rc->writer;
    if (c && c->drain_wait) {
        c->drain_wait = false;
        if (c->up)
            relay_conn_kick(c->up);
    }
}

void relay_fwd_conn_closed(struct rconn *rc)
{
    /* 408 for chunks already on their way, 481 when the next hop never
     * answered the connect (RFC 4975: the session cannot be reached). */
    uint16_t lost = rc->open ? 408 : rc->dest_denied ? 403 : 481; /* 403: relay.c dest_filter */
    /* Pieces sent over rc will never be answered. */
    while (rc->pieces) {
        struct piece *pc = rc->pieces;
        struct chunk *c = pc->c;
        piece_free(pc);
        chunk_result(c, lost, true);
        c->pieces_out--;
        chunk_check(c);
    }
    /* The chunk writing into rc, and those waiting for it: discard the
     * rest of their bodies and answer them at their end-line. */
    if (rc->writer) {
        struct chunk *c = rc->writer;
        rc->writer = NULL;
        c->dead = true;
        chunk_result(c, lost, true);
        c->down = NULL;
        if (c->up)
            relay_conn_kick(c->up);
        chunk_check(c);
    }
    while (rc->wq_head) {
        struct chunk *c = rc->wq_head;
        wq_remove(rc, c);
        c->dead = true;
        c->down = NULL;
        chunk_result(c, lost, true);
        if (c->up)
            relay_conn_kick(c->up);
        chunk_check(c);
    }
    /* rc's own frame in flight (rc as the sender): abort the outgoing copy
     * with '#' so the next hop does not wait for the rest. */
    if (rc->cur) {
        struct chunk *c = rc->cur;
        rc->cur = NULL;
        c->streaming = false;
        c->ended = true;
        ups_unlink(c);
        if (c->waiting && c->down) {
            wq_remove(c->down, c);
        } else if (!c->dead && c->down && c->down->writer == c) {
            send_piece_end(c, '#');
            slot_release(c);
        }
        chunk_check(c);
    }
    /* Chunks that came from rc and still await answers: nobody to tell. */
    while (rc->ups)
        ups_unlink(rc->ups);
}
