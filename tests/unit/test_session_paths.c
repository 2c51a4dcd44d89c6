/*
 * test_session_paths.c: the endpoint's path checks, as strict as deployed
 * clients (PEERS.md). A raw client thread plays the peer of an acceptor
 * session and sends SENDs and REPORTs with chosen To-Path / From-Path:
 *  - To-Path must be our URI alone, else 481;
 *  - From-Path must equal the remote path (given, as from SDP, or learned
 *    from the first SEND and held), URI by URI with RFC 4975 section 6.1
 *    comparison, else 481 "Invalid From-Path";
 *  - a REPORT may come from a relay on the way (From-Path a leading part
 *    of the expected one); any other is dropped, not delivered;
 *  - sessmatch compares only the remote endpoint's session id.
 * (Behind a relay, the expected From-Path starts with the reversed
 * Use-Path: the relay integration tests run msrpcat receivers that AUTH.)
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/session/endpoint.h"
#include "gateway/session/session.h"
#include "uring/loop.h"
#include "uring/timer.h"

#define MAX_STEPS 8

struct step {
    const char *method;    /* "SEND" or "REPORT" */
    const char *to;        /* NULL: our URI */
    const char *from;
    int want;              /* SEND: response code; REPORT: 1 delivered, 0 dropped */
    const char *br;        /* Byte-Range, NULL: 1-3/3 */
};

struct pt {
    struct ur_loop *loop;
    struct gw_server *sv;
    struct gw_session *s;
    char local[256];
    uint16_t port;
    const struct step *steps;
    unsigned n_steps;
    int got[MAX_STEPS];
    int reports;
    int closed;
};

static void on_report(struct gw_session *s, struct msrp_slice mid, uint16_t code,
                      const struct msrp_byte_range *br, const struct msrp_head *h)
{
    (void)mid, (void)code, (void)br, (void)h;
    ((struct pt *)gw_session_data(s))->reports++;
}

static void on_close(struct gw_session *s, int err)
{
    (void)err;
    struct pt *t = gw_session_data(s);
    t->closed = 1;
    ur_loop_stop(t->loop);
}

static const struct gw_session_ops ops = { .on_report = on_report, .on_close = on_close };

static int connect_port(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads until the response to tid has arrived whole; its code, or -1. */
static int read_response(int fd, const char *tid)
{
    static char buf[16384];
    size_t n = 0;
    char start[64], end[64];
    snprintf(start, sizeof(start), "MSRP %s ", tid);
    snprintf(end, sizeof(end), "-------%s$\r\n", tid);
    for (;;) {
        char *s = n ? strstr(buf, start) : NULL;
        if (s && strstr(s, end))
            return atoi(s + strlen(start));
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = '\0';
    }
}

static void *client(void *arg)
{
    struct pt *t = arg;
    int fd = connect_port(t->port);
    if (fd < 0)
        return NULL;
    for (unsigned i = 0; i < t->n_steps; i++) {
        const struct step *st = &t->steps[i];
        char f[2048], tid[16];
        snprintf(tid, sizeof(tid), "tid%05u", i);
        bool report = !strcmp(st->method, "REPORT");
        int n = snprintf(f, sizeof(f),
                         "MSRP %s %s\r\nTo-Path: %s\r\nFrom-Path: %s\r\nMessage-ID: m%u\r\n"
                         "Byte-Range: %s\r\n%s",
                         tid, st->method, st->to ? st->to : t->local, st->from, i,
                         st->br ? st->br : "1-3/3",
                         report ? "Status: 000 200 OK\r\n-------" : "Content-Type: text/plain\r\n\r\nabc\r\n-------");
        n += snprintf(f + n, sizeof(f) - (size_t)n, "%s$\r\n", tid);
        if (write(fd, f, (size_t)n) != n)
            break;
        t->got[i] = report ? 0 : read_response(fd, tid);
        if (t->got[i] < 0)
            break; /* closed: a refused binding SEND */
    }
    close(fd);
    /* An unbound session (refused binding SEND) never closes by itself. */
    if (t->got[0] < 0 || t->got[0] == 481)
        ur_loop_post(t->loop, ur_loop_stop_cb, NULL);
    return NULL;
}

static void watchdog(struct ur_timer *tm, void *arg)
{
    (void)tm;
    *(int *)arg = 1;
    ur_loop_stop(ur_loop_current());
}

/* Runs steps against an acceptor with the given remote path (NULL: learn)
 * and checks every SEND's code; returns the REPORTs delivered. */
static uint64_t max_message_size;

static int run(const struct step *steps, unsigned n, const char *remote, bool sessmatch)
{
    static struct pt t;
    memset(&t, 0, sizeof(t));
    t.steps = steps;
    t.n_steps = n;
    cr_assert_eq(ur_loop_new(&t.loop, NULL), 0);
    cr_assert_eq(gw_server_new(t.loop, "127.0.0.1", 0, NULL, NULL, NULL, 5000, &t.sv), 0);
    t.port = gw_server_port(t.sv);
    struct gw_session_config cfg;
    gw_session_config_default(&cfg);
    cfg.sessmatch = sessmatch;
    cfg.max_message_size = max_message_size;
    cr_assert_eq(gw_session_accept(t.sv, &cfg, &ops, &t, NULL, &t.s), 0);
    if (remote)
        cr_assert_eq(gw_session_set_remote_path(t.s, remote), 0);
    snprintf(t.local, sizeof(t.local), "%s", gw_session_local_uri(t.s));
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, client, &t), 0);
    struct ur_timer wd;
    int fired = 0;
    ur_timer_init(&wd, watchdog, &fired);
    ur_timer_arm(t.loop, &wd, 10000, 0);
    ur_loop_run(t.loop); /* until the session closes (client hung up) */
    if (!t.closed) {     /* never bound: its binding SEND was refused */
        gw_session_shutdown(t.s, false);
        ur_loop_run(t.loop);
    }
    ur_timer_cancel(t.loop, &wd);
    pthread_join(th, NULL);
    cr_assert_eq(fired, 0, "timed out");
    int want_reports = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!strcmp(steps[i].method, "REPORT"))
            want_reports += steps[i].want;
        else
            cr_expect_eq(t.got[i], steps[i].want, "step %u (From-Path %s): got %d, want %d", i,
                         steps[i].from, t.got[i], steps[i].want);
    }
    gw_server_free(t.sv);
    ur_loop_free(t.loop);
    return want_reports == t.reports ? t.reports : -1 - t.reports;
}

#define PEER "msrp://127.0.0.1:9/peer;tcp"
#define RELAY "msrp://relay.example:2855/Ab9;tcp"

Test(session_paths, learned_from_first_send_and_held)
{
    static const struct step steps[] = {
        { "SEND", NULL, PEER, 200, NULL },                          /* learns PEER */
        { "SEND", NULL, "msrp://127.0.0.1:9/other;tcp", 481, NULL }, /* another sender */
        { "SEND", NULL, RELAY " " PEER, 481, NULL },                 /* a hop more */
        { "SEND", NULL, "MSRP://127.0.0.1:9/peer;TCP", 200, NULL },  /* RFC 4975 6.1 equal */
        { "REPORT", NULL, "msrp://127.0.0.1:9/other;tcp", 0, NULL }, /* dropped */
        { "REPORT", NULL, PEER, 1, NULL },
        { "SEND", "msrp://127.0.0.1:1/x;tcp", PEER, 481, NULL },     /* not our URI */
        { "SEND", NULL, PEER, 200, NULL },
    };
    cr_assert_eq(run(steps, 8, NULL, false), 1);
}

Test(session_paths, given_remote_path_must_match_whole)
{
    /* The sender is behind its relay: every request must carry the
     * relay's URI first, as the relay moved it there. */
    static const struct step steps[] = {
        { "SEND", NULL, "MSRP://RELAY.example:2855/Ab9;tcp " PEER, 200, NULL },
        { "SEND", NULL, PEER, 481, NULL },                         /* relay's URI missing */
        { "SEND", NULL, "msrp://relay.example:2855/AB9;tcp " PEER, 481, NULL }, /* session id case */
        { "REPORT", NULL, RELAY, 1, NULL },                        /* generated by that relay */
        { "REPORT", NULL, "msrp://relay.example:2855/zz;tcp", 0, NULL },
        { "REPORT", NULL, RELAY " " PEER " " PEER, 0, NULL },      /* longer than the path */
        { "SEND", NULL, RELAY " " PEER, 200, NULL },
    };
    cr_assert_eq(run(steps, 7, RELAY " " PEER, false), 1);
}

Test(session_paths, wrong_binding_send_is_refused)
{
    static const struct step steps[] = {
        { "SEND", NULL, PEER, 481, NULL }, /* the relay's URI is missing: not bound */
    };
    cr_assert_eq(run(steps, 1, RELAY " " PEER, false), 0);
}

Test(session_paths, sessmatch_compares_the_endpoint_session_id)
{
    static const struct step steps[] = {
        { "SEND", NULL, "msrp://sbc:5/q;tcp msrp://10.0.0.1:7/peer;tcp", 200, NULL },
        { "SEND", NULL, "msrp://127.0.0.1:9/peerX;tcp", 481, NULL },
        { "SEND", NULL, "msrp://h:1/peer;tcp", 200, NULL },
    };
    cr_assert_eq(run(steps, 3, RELAY " " PEER, true), 0);
}

/* A receiver's bound on message size holds whatever the peer announces:
 * a total over it, or bytes placed past it, get 413 and are never
 * delivered (here nothing is delivered at all: on_data is not set). */
Test(session_paths, max_message_size_bounds_where_bytes_go)
{
    static const struct step steps[] = {
        { "SEND", NULL, PEER, 200, "1-3/1000" },
        { "SEND", NULL, PEER, 413, "1-3/1001" },               /* total too large */
        { "SEND", NULL, PEER, 413, "4000000000-4000000002/*" }, /* far offset, no total */
        { "SEND", NULL, PEER, 413, "999-*/*" },                 /* runs past the bound */
        { "SEND", NULL, PEER, 200, "998-1000/1000" },
    };
    max_message_size = 1000;
    cr_assert_eq(run(steps, 5, NULL, false), 0);
}
