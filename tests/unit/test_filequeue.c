/*
 * test_filequeue.c: the outgoing queue on a real loop (sender connector ->
 * receiver acceptor over 127.0.0.1). Checks the exact order and Byte-Range
 * of every chunk when several messages are queued (round robin, chunk by
 * chunk; from memory with a window of 8, and from files read through
 * io_uring with a window of 1), that each message arrives intact, and
 * aborts: an in-progress message's next chunk carries '#', a queued one
 * never reaches the wire.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/session/endpoint.h"
#include "gateway/session/session.h"
#include "uring/loop.h"
#include "uring/timer.h"

#define MAXC 64

struct rx_msg {
    char id[GW_MSGID_MAX + 1];
    uint8_t data[2048];
    uint64_t n;
    int status; /* -1 until ended */
};

struct fq {
    struct ur_loop *loop;
    struct gw_server *sv;
    struct gw_session *rx, *tx;
    unsigned window, chunk;
    int use_files;
    /* sent chunk log: "ID START-END/TOTAL" */
    char out[MAXC][160];
    unsigned n_out;
    /* receiver */
    struct rx_msg msgs[4];
    char in_flags[MAXC];
    unsigned n_in_flags;
    int closed;
    /* messages to send */
    const char *ids[4];
    size_t sizes[4];
    uint8_t *bodies[4];
    int done_code[4];
    unsigned n_done;
    char tmpl[4][64];
    int fds[4];
    /* abort test */
    int abort_mode;
    struct gw_msg_out *a_msg, *b_msg;
    unsigned responses;
};

static uint8_t pattern(unsigned msg, size_t i)
{
    return (uint8_t)(msg * 77 + i * 31 + (i >> 7));
}

static const char *hdr(const char *head, size_t n, const char *name, char *out, size_t cap)
{
    char *h = strndup(head, n);
    char *p = strstr(h, name);
    out[0] = '\0';
    if (p) {
        p += strlen(name);
        size_t k = strcspn(p, "\r");
        snprintf(out, cap, "%.*s", (int)k, p);
    }
    free(h);
    return out;
}

static void tx_log(struct gw_session *s, const struct gw_slog_event *ev, void *ud)
{
    struct fq *t = ud;
    if (ev->kind == GW_SLOG_OUT) {
        char mid[64], br[64];
        hdr(ev->p, ev->n, "Message-ID: ", mid, sizeof(mid));
        hdr(ev->p, ev->n, "Byte-Range: ", br, sizeof(br));
        if (br[0] && t->n_out < MAXC)
            snprintf(t->out[t->n_out++], sizeof(t->out[0]), "%s %s", mid, br);
    } else if (ev->kind == GW_SLOG_IN_START && ev->head->kind == MSRP_RESPONSE) {
        /* Abort A while the response to its 3rd data chunk is being
         * handled: its next chunk must be the '#' one. */
        t->responses++;
        if (t->abort_mode && t->responses == 4 /* bind + 3 chunks */)
            cr_assert_eq(gw_session_abort_message(s, t->a_msg), 0);
    }
}

static void rx_log(struct gw_session *s, const struct gw_slog_event *ev, void *ud)
{
    (void)s;
    struct fq *t = ud;
    if (ev->kind == GW_SLOG_IN_END && ev->head->kind == MSRP_REQUEST && ev->head->has_body &&
        t->n_in_flags < MAXC)
        t->in_flags[t->n_in_flags++] = ev->p[0];
}

static struct rx_msg *rx_find(struct fq *t, const char *id)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(t->msgs[i].id, id))
            return &t->msgs[i];
    for (int i = 0; i < 4; i++)
        if (!t->msgs[i].id[0]) {
            snprintf(t->msgs[i].id, sizeof(t->msgs[i].id), "%s", id);
            t->msgs[i].status = -1;
            return &t->msgs[i];
        }
    return NULL;
}

static int rx_start(struct gw_session *s, struct gw_msg_in *m)
{
    struct fq *t = gw_session_data(s);
    m->ud = rx_find(t, m->message_id);
    return m->ud ? 0 : 413;
}

static int rx_data(struct gw_session *s, struct gw_msg_in *m, const char *p, size_t n,
                   uint64_t pos, struct ur_buf *buf)
{
    (void)s, (void)buf;
    struct rx_msg *r = m->ud;
    cr_assert(pos + n <= sizeof(r->data));
    memcpy(r->data + pos, p, n);
    if (pos + n > r->n)
        r->n = pos + n;
    return GW_MCONN_CONTINUE;
}

static void rx_end(struct gw_session *s, struct gw_msg_in *m, int status)
{
    (void)s;
    struct rx_msg *r = m->ud;
    r->status = status;
}

static void rx_close(struct gw_session *s, int err)
{
    (void)err;
    struct fq *t = gw_session_data(s);
    t->closed++;
    if (t->closed == 2)
        ur_loop_stop(t->loop);
}

static const struct gw_session_ops rx_ops = {
    .on_message_start = rx_start,
    .on_data = rx_data,
    .on_message_end = rx_end,
    .on_close = rx_close,
};

static void sent_cb(struct gw_session *s, struct gw_msg_out *m, int code, void *arg)
{
    (void)m;
    struct fq *t = gw_session_data(s);
    t->done_code[(intptr_t)arg] = code;
    if (++t->n_done == 3 || (t->abort_mode && t->n_done == 2))
        gw_session_shutdown(s, true);
}

/* Queues the messages right after connecting, before the session is
 * bound, so the queue holds all of them when the first chunk goes out. */
static void queue_all(struct fq *t, struct gw_session *s)
{
    unsigned n = t->abort_mode ? 2 : 3;
    for (unsigned i = 0; i < n; i++) {
        struct gw_send_opts o = { .message_id = t->ids[i], .content_type = "text/plain" };
        struct gw_msg_out **out = i == 0 ? &t->a_msg : &t->b_msg;
        if (t->use_files)
            cr_assert_eq(gw_session_send_file(s, t->fds[i], NULL, t->sizes[i], &o, sent_cb,
                                              (void *)(intptr_t)i, out), 0);
        else
            cr_assert_eq(gw_session_send_mem(s, t->bodies[i], t->sizes[i], &o, sent_cb,
                                             (void *)(intptr_t)i, out), 0);
    }
    if (t->abort_mode) {
        /* B never started: aborting it completes it at once, nothing sent. */
        cr_assert_eq(gw_session_abort_message(s, t->b_msg), 0);
        cr_assert_eq(t->done_code[1], GW_CODE_ABORTED);
    }
}

static void tx_ready(struct gw_session *s, int err)
{
    (void)s;
    cr_assert_eq(err, 0);
}

static const struct gw_session_ops tx_ops = {
    .on_ready = tx_ready,
    .on_close = rx_close,
};

static void watchdog(struct ur_timer *tm, void *arg)
{
    (void)tm;
    *(int *)arg = 1;
    ur_loop_stop(ur_loop_current());
}

static void run(struct fq *t)
{
    cr_assert_eq(ur_loop_new(&t->loop, NULL), 0);
    cr_assert_eq(gw_server_new(t->loop, "127.0.0.1", 0, NULL, NULL, NULL, 5000, &t->sv), 0);
    cr_assert_eq(gw_session_accept(t->sv, NULL, &rx_ops, t, NULL, &t->rx), 0);
    gw_session_set_log(t->rx, rx_log, t);
    struct gw_session_config cfg;
    gw_session_config_default(&cfg);
    cfg.chunk_size = t->chunk;
    cfg.window = t->window;
    for (int i = 0; i < 4; i++)
        t->fds[i] = -1;
    for (unsigned i = 0; i < 3 && t->use_files; i++) {
        snprintf(t->tmpl[i], sizeof(t->tmpl[i]), "/tmp/test_filequeue.XXXXXX");
        t->fds[i] = mkstemp(t->tmpl[i]);
        cr_assert(t->fds[i] >= 0);
        unlink(t->tmpl[i]);
        cr_assert_eq(write(t->fds[i], t->bodies[i], t->sizes[i]), (ssize_t)t->sizes[i]);
    }
    cr_assert_eq(gw_session_connect(t->loop, &cfg, &tx_ops, t, NULL,
                                    gw_session_local_path(t->rx), NULL, NULL, &t->tx), 0);
    gw_session_set_log(t->tx, tx_log, t);
    queue_all(t, t->tx);
    struct ur_timer wd;
    int fired = 0;
    ur_timer_init(&wd, watchdog, &fired);
    ur_timer_arm(t->loop, &wd, 20000, 0);
    ur_loop_run(t->loop);
    ur_timer_cancel(t->loop, &wd);
    cr_assert_eq(fired, 0, "timed out");
    cr_assert_eq(t->closed, 2);
    gw_server_free(t->sv);
    ur_loop_free(t->loop);
    for (int i = 0; i < 4; i++)
        if (t->fds[i] >= 0)
            close(t->fds[i]);
}

static void setup_msgs(struct fq *t, const size_t *sizes, unsigned n)
{
    static const char *ids[] = { "msgA", "msgB", "msgC" };
    for (unsigned i = 0; i < n; i++) {
        t->ids[i] = ids[i];
        t->sizes[i] = sizes[i];
        t->bodies[i] = malloc(sizes[i] ? sizes[i] : 1);
        for (size_t k = 0; k < sizes[i]; k++)
            t->bodies[i][k] = pattern(i, k);
    }
}

static const char *expected_rr[] = {
    "msgA 1-100/250",  "msgB 1-100/100",  "msgC 1-100/450",  "msgA 101-200/250",
    "msgC 101-200/450", "msgA 201-250/250", "msgC 201-300/450", "msgC 301-400/450",
    "msgC 401-450/450",
};

static void check_rr(struct fq *t)
{
    cr_assert_eq(t->n_out, 9, "chunks sent: %u", t->n_out);
    for (unsigned i = 0; i < 9; i++)
        cr_assert_str_eq(t->out[i], expected_rr[i], "chunk %u: %s", i, t->out[i]);
    for (unsigned i = 0; i < 3; i++) {
        cr_assert_eq(t->done_code[i], GW_CODE_OK, "message %u: %d", i, t->done_code[i]);
        struct rx_msg *r = NULL;
        for (int k = 0; k < 4; k++)
            if (!strcmp(t->msgs[k].id, t->ids[i]))
                r = &t->msgs[k];
        cr_assert_not_null(r, "message %s not received", t->ids[i]);
        cr_assert_eq(r->status, 0);
        cr_assert_eq(r->n, t->sizes[i]);
        cr_assert_eq(memcmp(r->data, t->bodies[i], t->sizes[i]), 0);
    }
    /* One '$' per message, the other chunks '+'. */
    unsigned dollars = 0;
    for (unsigned i = 0; i < t->n_in_flags; i++)
        dollars += t->in_flags[i] == '$';
    cr_assert_eq(t->n_in_flags, 9);
    cr_assert_eq(dollars, 3);
}

Test(filequeue, round_robin_from_memory_window_8)
{
    static struct fq t;
    memset(&t, 0, sizeof(t));
    static const size_t sizes[] = { 250, 100, 450 };
    setup_msgs(&t, sizes, 3);
    t.window = 8;
    t.chunk = 100;
    run(&t);
    check_rr(&t);
}

Test(filequeue, round_robin_from_files_window_1)
{
    static struct fq t;
    memset(&t, 0, sizeof(t));
    static const size_t sizes[] = { 250, 100, 450 };
    setup_msgs(&t, sizes, 3);
    t.window = 1;
    t.chunk = 100;
    t.use_files = 1;
    run(&t);
    check_rr(&t);
}

Test(filequeue, abort_in_progress_and_queued)
{
    static struct fq t;
    memset(&t, 0, sizeof(t));
    static const size_t sizes[] = { 1000, 300 };
    setup_msgs(&t, sizes, 2);
    t.window = 1;
    t.chunk = 100;
    t.abort_mode = 1;
    run(&t);
    /* A: three chunks, then its 4th chunk terminated with '#'; B never sent. */
    cr_assert_eq(t.n_out, 4, "chunks sent: %u", t.n_out);
    cr_assert_str_eq(t.out[0], "msgA 1-100/1000");
    cr_assert_str_eq(t.out[3], "msgA 301-400/1000");
    cr_assert_eq(t.n_in_flags, 4);
    cr_assert_eq(t.in_flags[2], '+');
    cr_assert_eq(t.in_flags[3], '#');
    cr_assert_eq(t.done_code[0], GW_CODE_ABORTED);
    cr_assert_eq(t.done_code[1], GW_CODE_ABORTED);
    cr_assert_str_eq(t.msgs[0].id, "msgA");
    cr_assert_eq(t.msgs[0].status, GW_CODE_ABORTED);
    cr_assert_eq(t.msgs[1].id[0], '\0', "B reached the receiver");
}
