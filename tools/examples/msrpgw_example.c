/*
 * msrpgw_example.c: a program built against the installed libmsrpgw, the
 * way a library user builds one:
 *
 *   cc msrpgw_example.c -o msrpgw_example $(pkg-config --cflags --libs msrpgw)
 *
 *   msrpgw_example frame
 *       writes a SEND with the frame writer, parses it back one byte at a
 *       time and prints what the parser saw; exit 0 when they agree.
 *   msrpgw_example send FILE "TO-PATH"
 *       sends FILE as one message to the MSRP endpoint at TO-PATH (e.g.
 *       the path `msrpcat recv` prints), waits for every chunk's 200 and
 *       prints "sent MESSAGE-ID BYTES"; exit 0 on success.
 *
 * Only <msrpgw/msrpgw.h> is used: no structure of the library is visible.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msrpgw/msrpgw.h>

/* ---- frame: write, then parse back ---- */

static int frame_demo(void)
{
    static const char body[] = "Hello from libmsrpgw";
    struct msrpgw_frame *f;
    char head[2048], end[128];
    int rc = msrpgw_frame_new_request(&f, "SEND", NULL);
    if (rc < 0)
        return fprintf(stderr, "frame: %s\n", strerror(-rc)), 1;
    const char *hdrs[][2] = {
        {"To-Path", "msrp://bob.example.com:8888/9di4ea;tcp"},
        {"From-Path", "msrp://alice.example.com:7777/iau39;tcp"},
        {"Message-ID", "12339sdqwer"},
        {"Byte-Range", "1-20/20"},
        {"Content-Type", "text/plain"},
    };
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
        if ((rc = msrpgw_frame_add_header(f, hdrs[i][0], hdrs[i][1])) < 0)
            return fprintf(stderr, "header %s: %s\n", hdrs[i][0], strerror(-rc)), 1;
    int hn = msrpgw_frame_write_head(f, head, sizeof(head));
    int en = msrpgw_frame_write_end(f, '$', end, sizeof(end));
    if (hn < 0 || en < 0 || msrpgw_frame_check_body(f, body, sizeof(body) - 1) < 0)
        return fprintf(stderr, "write failed\n"), 1;

    /* The wire bytes: head, body, end-line. */
    size_t wn = (size_t)hn + sizeof(body) - 1 + (size_t)en;
    char *wire = malloc(wn);
    if (!wire)
        return 1;
    memcpy(wire, head, (size_t)hn);
    memcpy(wire + hn, body, sizeof(body) - 1);
    memcpy(wire + hn + sizeof(body) - 1, end, (size_t)en);

    struct msrpgw_parser *p;
    if (msrpgw_parser_new(&p, 0) < 0)
        return 1;
    char got[sizeof(body)] = "";
    size_t got_n = 0;
    char flag = 0;
    int frames = 0, ok = 1;
    for (size_t off = 0; off < wn; off++) { /* one byte per feed */
        size_t used = 0;
        const char *at = wire + off;
        size_t left = 1;
        for (;;) {
            int ev = msrpgw_parser_feed(p, at, left, &used);
            at += used;
            left -= used;
            if (ev == MSRPGW_EV_NONE)
                break;
            if (ev == MSRPGW_EV_ERROR) {
                uint64_t where;
                int err = msrpgw_parser_error(p, &where);
                fprintf(stderr, "parse error %s at %llu\n", msrpgw_parse_error_name(err),
                        (unsigned long long)where);
                ok = 0;
                goto out;
            }
            if (ev == MSRPGW_EV_HEADERS_END) {
                size_t n, tn;
                const char *m = msrpgw_parser_method(p, &n);
                const char *tid = msrpgw_parser_tid(p, &tn);
                uint64_t s, e, t;
                printf("frame %.*s tid %.*s headers %u", (int)n, m, (int)tn, tid,
                       msrpgw_parser_header_count(p));
                if (msrpgw_parser_byte_range(p, &s, &e, &t) == 0)
                    printf(" byte-range %llu-%llu/%llu", (unsigned long long)s,
                           (unsigned long long)e, (unsigned long long)t);
                const char *ct = msrpgw_parser_header(p, "content-type", &n);
                printf(" content-type %.*s\n", ct ? (int)n : 0, ct ? ct : "");
                ok &= strlen(msrpgw_frame_tid(f)) == tn && !memcmp(tid, msrpgw_frame_tid(f), tn);
            }
            if (ev == MSRPGW_EV_BODY) {
                size_t n;
                uint64_t at_off;
                const char *b = msrpgw_parser_body(p, &n, &at_off);
                if (at_off + n > sizeof(body) - 1)
                    ok = 0;
                else
                    memcpy(got + at_off, b, n), got_n = (size_t)(at_off + n);
            }
            if (ev == MSRPGW_EV_FRAME_END) {
                flag = msrpgw_parser_flag(p);
                frames++;
            }
        }
    }
    printf("body \"%.*s\" flag %c\n", (int)got_n, got, flag ? flag : '?');
    ok &= frames == 1 && flag == '$' && got_n == sizeof(body) - 1 && !memcmp(got, body, got_n);

    /* URIs: RFC 4975 section 6.1 comparison. */
    struct msrpgw_uri *a, *b;
    if (msrpgw_uri_parse(&a, "msrp://Bob.Example.com:8888/9di4ea;tcp") < 0 ||
        msrpgw_uri_parse(&b, "msrp://bob.example.com:8888/9di4ea;TCP") < 0)
        return 1;
    printf("uri host %s port %u session %s equal %d\n", msrpgw_uri_host(a), msrpgw_uri_port(a),
           msrpgw_uri_session_id(a), msrpgw_uri_equal(a, b));
    ok &= msrpgw_uri_equal(a, b) == 1;
    msrpgw_uri_free(a);
    msrpgw_uri_free(b);
out:
    msrpgw_parser_free(p);
    msrpgw_frame_free(f);
    free(wire);
    printf("libmsrpgw %s (headers %s): %s\n", msrpgw_version(), MSRPGW_VERSION_STRING,
           ok ? "ok" : "MISMATCH");
    return ok ? 0 : 1;
}

/* ---- send: one file to an MSRP endpoint ---- */

struct app {
    struct msrpgw_loop *loop;
    const char *file;
    int status; /* exit code */
};

static void on_sent(struct msrpgw_session *s, struct msrpgw_outgoing *m, int code, void *arg)
{
    struct app *a = arg;
    if (code == MSRPGW_OK) {
        printf("sent %s %llu\n", msrpgw_outgoing_message_id(m),
               (unsigned long long)msrpgw_outgoing_sent(m));
        a->status = 0;
    } else {
        fprintf(stderr, "send failed: %d\n", code);
    }
    msrpgw_session_shutdown(s, 1);
}

static void on_ready(struct msrpgw_session *s, int err, void *ud)
{
    struct app *a = ud;
    if (err) {
        fprintf(stderr, "cannot bind the session: %s (MSRP %d)\n", strerror(-err),
                msrpgw_session_last_code(s));
        return; /* on_close follows */
    }
    printf("bound: local path %s\n", msrpgw_session_local_path(s));
    int rc = msrpgw_session_send_file(s, a->file, "application/octet-stream", on_sent, a, NULL);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", a->file, strerror(-rc));
        msrpgw_session_shutdown(s, 0);
    }
}

static void on_close(struct msrpgw_session *s, int err, void *ud)
{
    (void)s;
    struct app *a = ud;
    if (err && a->status)
        fprintf(stderr, "closed: %s\n", strerror(-err));
    msrpgw_loop_stop(a->loop);
}

static int send_demo(const char *file, const char *to_path)
{
    struct app a = { .file = file, .status = 1 };
    struct msrpgw_session_handlers h = { .on_ready = on_ready, .on_close = on_close };
    struct msrpgw_session_opts *o;
    struct msrpgw_session *s;
    int rc = msrpgw_loop_new(&a.loop);
    if (rc < 0)
        return fprintf(stderr, "loop: %s\n", strerror(-rc)), 1;
    if (msrpgw_session_opts_new(&o) < 0 || msrpgw_session_opts_chunk_size(o, 16384) < 0 ||
        msrpgw_session_opts_response_timeout(o, 10000) < 0)
        return 1;
    rc = msrpgw_session_connect(a.loop, o, &h, &a, to_path, NULL, NULL, &s);
    msrpgw_session_opts_free(o);
    if (rc < 0) {
        fprintf(stderr, "connect: %s\n", strerror(-rc));
        msrpgw_loop_free(a.loop);
        return 1;
    }
    msrpgw_loop_run(a.loop);
    msrpgw_loop_free(a.loop);
    return a.status;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "frame"))
        return frame_demo();
    if (argc == 4 && !strcmp(argv[1], "send"))
        return send_demo(argv[2], argv[3]);
    fprintf(stderr, "usage: %s frame | send FILE \"TO-PATH\"\n", argv[0]);
    return 2;
}
