/*
 * test_session_rules.c: the session's decision tables.
 *  - accept-types matching (star, type/star, exact, parameters, case);
 *  - the outcome of an outgoing chunk per Failure-Report against a peer
 *    that binds (answers the empty SEND) and then never answers, or
 *    answers with a given code: 408 for yes/absent after the (short)
 *    response timeout, success for no/partial, the peer's code otherwise.
 *    Runs a real loop on 127.0.0.1; only outcomes are asserted, no times.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "gateway/wire/accepttypes.h"
#include "gateway/session/endpoint.h"
#include "gateway/wire/mconn.h"
#include "gateway/session/session.h"
#include "uring/listener.h"
#include "uring/loop.h"
#include "uring/timer.h"

static bool match(const char *list, const char *ct)
{
    return gw_accept_types_match(list, msrp_slice(ct, strlen(ct)));
}

Test(accept_types, table)
{
    static const struct {
        const char *list, *ct;
        bool want;
    } cases[] = {
        { NULL, "application/pdf", true },
        { "", "application/pdf", true },
        { "*", "application/pdf", true },
        { "*", "", true },
        { "text/plain", "text/plain", true },
        { "text/plain", "TEXT/Plain", true },
        { "text/plain", "text/plain; charset=utf-8", true },
        { "text/plain", "text/plainx", false },
        { "text/plain", "text/html", false },
        { "text/*", "text/html", true },
        { "text/*", "Text/X-Anything;a=b", true },
        { "text/*", "textual/html", false },
        { "text/*", "application/text", false },
        { "message/cpim text/plain", "text/plain", true },
        { "message/cpim  text/plain", "message/CPIM", true },
        { "message/cpim text/plain", "image/png", false },
        { "text/plain", "", false },
        { "text/*", "text", false },
        { "text/*", "text/", false },
        { "image/* application/octet-stream", "application/octet-stream", true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_expect_eq(match(cases[i].list, cases[i].ct), cases[i].want, "case %zu: [%s] vs [%s]",
                     i, cases[i].list ? cases[i].list : "NULL", cases[i].ct);
}

/* ---- response timeout rule ---- */

struct rt {
    struct ur_loop *loop;
    struct ur_listener *l;
    int peer_code;       /* 0: never answer data chunks */
    int done_code;
    int ready_err;
    int closed;
    int peer_closed;
    struct gw_session *s;
};

static int peer_head(struct gw_mconn *m, const struct msrp_head *h)
{
    struct rt *t = gw_mconn_data(m);
    if (h->kind == MSRP_REQUEST && h->method == MSRP_M_SEND && !h->has_body)
        gw_mconn_respond(m, h, 200, "OK", NULL); /* binding SEND */
    else if (h->kind == MSRP_REQUEST && t->peer_code)
        gw_mconn_respond(m, h, (uint16_t)t->peer_code, NULL, NULL);
    return GW_MCONN_CONTINUE;
}

static int peer_body(struct gw_mconn *m, const struct msrp_head *h, const char *p, size_t n,
                     uint64_t off, struct ur_buf *buf)
{
    (void)m, (void)h, (void)p, (void)n, (void)off, (void)buf;
    return GW_MCONN_CONTINUE;
}

static int peer_end(struct gw_mconn *m, const struct msrp_head *h, char flag)
{
    (void)m, (void)h, (void)flag;
    return GW_MCONN_CONTINUE;
}

static void peer_close(struct gw_mconn *m, int err)
{
    (void)err;
    struct rt *t = gw_mconn_data(m);
    t->peer_closed = 1;
    if (t->closed)
        ur_loop_stop(t->loop);
}

static const struct gw_mconn_ops peer_ops = {
    .on_head = peer_head,
    .on_body = peer_body,
    .on_end = peer_end,
    .on_close = peer_close,
};

static void peer_accept(struct ur_listener *l, int fd, void *ud)
{
    (void)l;
    struct gw_mconn *m;
    if (fd >= 0)
        cr_assert_eq(gw_mconn_adopt(((struct rt *)ud)->loop, fd, NULL, NULL, &peer_ops, ud, &m), 0);
}

static void sent(struct gw_session *s, struct gw_msg_out *m, int code, void *arg)
{
    (void)m, (void)arg;
    struct rt *t = gw_session_data(s);
    t->done_code = code;
    gw_session_shutdown(s, false);
}

static void ready(struct gw_session *s, int err)
{
    struct rt *t = gw_session_data(s);
    t->ready_err = err;
    if (err == 0)
        cr_assert_eq(gw_session_send_mem(s, "0123456789", 10, NULL, sent, NULL, NULL), 0);
}

static void closed(struct gw_session *s, int err)
{
    (void)err;
    struct rt *t = gw_session_data(s);
    t->closed = 1;
    if (t->peer_closed)
        ur_loop_stop(t->loop);
}

static const struct gw_session_ops ops = {
    .on_ready = ready,
    .on_close = closed,
};

static void watchdog(struct ur_timer *tm, void *arg)
{
    (void)tm;
    *(int *)arg = 1;
    ur_loop_stop(ur_loop_current());
}

/* Sends one 10-byte message with Failure-Report fr to a peer answering
 * data chunks with peer_code (0 = never); returns the message outcome. */
static int outcome(enum msrp_report fr, int peer_code)
{
    struct rt t;
    memset(&t, 0, sizeof(t));
    t.peer_code = peer_code;
    t.done_code = -1;
    cr_assert_eq(ur_loop_new(&t.loop, NULL), 0);
    cr_assert_eq(ur_listen(t.loop, &t.l, "127.0.0.1", 0, 0, peer_accept, &t), 0);
    char path[128];
    snprintf(path, sizeof(path), "msrp://127.0.0.1:%u/peersession;tcp", ur_listener_port(t.l));
    struct gw_session_config cfg;
    gw_session_config_default(&cfg);
    /* A silent peer needs the timeout to fire (short: the test waits for
     * it); an answering peer must never lose the race to it, however slow
     * the machine (ASan, a busy CI): there the timeout is far beyond any
     * answer and costs nothing, since the answer ends the test. */
    cfg.response_timeout_ms = peer_code ? 8000 : 150;
    cfg.failure_report = fr;
    cr_assert_eq(gw_session_connect(t.loop, &cfg, &ops, &t, NULL, path, NULL, NULL, &t.s), 0);
    struct ur_timer wd;
    int fired = 0;
    ur_timer_init(&wd, watchdog, &fired);
    ur_timer_arm(t.loop, &wd, 10000, 0);
    ur_loop_run(t.loop);
    ur_timer_cancel(t.loop, &wd);
    cr_assert_eq(fired, 0, "timed out");
    cr_assert_eq(t.ready_err, 0);
    ur_listener_close(t.l);
    ur_loop_free(t.loop);
    return t.done_code;
}

Test(response_timeout, absent_silent_is_408) { cr_assert_eq(outcome(MSRP_REPORT_ABSENT, 0), 408); }
Test(response_timeout, yes_silent_is_408) { cr_assert_eq(outcome(MSRP_REPORT_YES, 0), 408); }
Test(response_timeout, no_silent_is_success) { cr_assert_eq(outcome(MSRP_REPORT_NO, 0), 200); }
Test(response_timeout, partial_silent_is_success)
{
    cr_assert_eq(outcome(MSRP_REPORT_PARTIAL, 0), 200);
}
Test(response_timeout, yes_answered_200) { cr_assert_eq(outcome(MSRP_REPORT_YES, 200), 200); }
Test(response_timeout, absent_answered_403) { cr_assert_eq(outcome(MSRP_REPORT_ABSENT, 403), 403); }
