/*
 * msrpgw-ctl: a small client of msrpgw's SBC control socket (rtpengine's
 * ng protocol), for operators and tests.
 *
 *   msrpgw-ctl [--ng HOST:PORT | --unix PATH] [--timeout S] COMMAND ...
 *     ping
 *     offer FILE.sdp --call-id ID --from-tag TAG          rewritten SDP on stdout
 *     answer FILE.sdp --call-id ID --from-tag TAG --to-tag TAG
 *     delete --call-id ID [--from-tag TAG]
 *     query --call-id ID | list | statistics              the reply as JSON
 *   admin commands (the unix socket, or UDP from loopback), JSON out:
 *     sessions                  reservations and anchors with their counters
 *     kill ID                   ends session ID (a reservation or an anchor)
 *     drain                     stop accepting connections; sessions go on
 *     reload                    what SIGHUP does
 *     config                    the effective configuration, secrets masked
 *     stats                     the Prometheus metrics as one JSON object
 *   FILE.sdp "-" reads standard input. Over UDP a request is sent again
 *   with the same cookie when no reply came within a third of the timeout
 *   (as SBC modules do; msrpgw answers a repeat from its cache).
 *
 * Exit status: 0 result ok (or pong), 1 result error (error-reason on
 * stderr), 2 usage, 3 no reply within the timeout.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "gateway/daemon/config.h"
#include "gateway/ng/bencode.h"

#define MSG_MAX (512 * 1024)

static void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("msrpgw-ctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\nusage: msrpgw-ctl [--ng HOST:PORT | --unix PATH] [--timeout S] "
          "ping|offer FILE|answer FILE|delete|query|list|statistics\n"
          "       [--call-id ID] [--from-tag TAG] [--to-tag TAG]\n"
          "       admin: sessions|kill ID|drain|reload|config|stats\n",
          stderr);
    va_end(ap);
    exit(2);
}

static char *read_all(const char *path, size_t *n)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return NULL;
    char *buf = malloc(MSG_MAX);
    size_t k = buf ? fread(buf, 1, MSG_MAX, f) : 0;
    if (f != stdin)
        fclose(f);
    if (k == MSG_MAX) {
        free(buf);
        return NULL;
    }
    *n = k;
    return buf;
}

static void json_str(struct msrp_slice s)
{
    putchar('"');
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json(const struct ng_bval *nodes, const struct ng_bval *v, unsigned depth)
{
    if (depth > 32) {
        fputs("null", stdout);
        return;
    }
    switch (v->type) {
    case NG_BSTR:
        json_str(v->s);
        break;
    case NG_BINT:
        printf("%lld", (long long)v->i);
        break;
    case NG_BLIST:
    case NG_BDICT: {
        bool dict = v->type == NG_BDICT;
        putchar(dict ? '{' : '[');
        unsigned k = 0;
        for (const struct ng_bval *c = ng_bchild(nodes, v); c; c = ng_bnext(nodes, c), k++) {
            if (k)
                putchar(dict && k % 2 ? ':' : ',');
            json(nodes, c, depth + 1);
        }
        putchar(dict ? '}' : ']');
        break;
    }
    }
}

static int connect_to(const char *ng, const char *unix_path, bool *udp)
{
    if (unix_path) {
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        if (strlen(unix_path) >= sizeof(a.sun_path))
            die_usage("--unix path too long");
        strcpy(a.sun_path, unix_path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
            fprintf(stderr, "msrpgw-ctl: cannot connect to %s: %s\n", unix_path, strerror(errno));
            exit(3);
        }
        *udp = false;
        return fd;
    }
    struct gw_addr ga;
    if (gw_addr_parse(ng, &ga, NULL, 0) != 0)
        die_usage("bad --ng %s", ng);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ga.host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(ga.port);
        len = sizeof(*a4);
    } else if (inet_pton(AF_INET6, ga.host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(ga.port);
        len = sizeof(*a6);
    } else {
        die_usage("--ng takes an address, not a name: %s", ng);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
        fprintf(stderr, "msrpgw-ctl: cannot reach %s: %s\n", ng, strerror(errno));
        exit(3);
    }
    *udp = true;
    return fd;
}

/* Sends msg and reads the reply carrying cookie into buf; its length. */
static size_t exchange(int fd, bool udp, const char *msg, size_t n, const char *cookie, char *buf,
                       unsigned timeout_ms)
{
    size_t cn = strlen(cookie), got = 0;
    unsigned tries = udp ? 3 : 1, slice = timeout_ms / tries;
    for (unsigned t = 0; t < tries; t++) {
        if (t == 0 || udp) {
            if (send(fd, msg, n, 0) != (ssize_t)n) {
                fprintf(stderr, "msrpgw-ctl: send: %s\n", strerror(errno));
                exit(3);
            }
        }
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long el = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
            if (el >= (long)slice)
                break;
            struct pollfd pf = { .fd = fd, .events = POLLIN };
            if (poll(&pf, 1, (int)(slice - el)) <= 0)
                continue;
            ssize_t r = recv(fd, buf + got, MSG_MAX - got, 0);
            if (r <= 0)
                break;
            got = udp ? (size_t)r : got + (size_t)r;
            if (got > cn && !memcmp(buf, cookie, cn) && buf[cn] == ' ') {
                /* A stream delivers the reply in pieces: complete once it
                 * decodes (a datagram is always whole). */
                static struct ng_bval probe[65536];
                if (udp || ng_bdecode(buf + cn + 1, got - cn - 1, probe, 65536, 32) >= 1)
                    return got;
            } else if (udp) {
                got = 0; /* a stale reply: another cookie */
            }
        }
    }
    fprintf(stderr, "msrpgw-ctl: no reply within %u ms\n", timeout_ms);
    exit(3);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "ng", required_argument, 0, 'n' },       { "unix", required_argument, 0, 'u' },
        { "timeout", required_argument, 0, 't' },  { "call-id", required_argument, 0, 'c' },
        { "from-tag", required_argument, 0, 'f' }, { "to-tag", required_argument, 0, 'o' },
        { "help", no_argument, 0, 'h' },           { 0, 0, 0, 0 },
    };
    const char *ng = "127.0.0.1:2223", *unix_path = NULL, *call_id = NULL, *from_tag = NULL,
               *to_tag = NULL;
    unsigned timeout_ms = 3000;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n': ng = optarg; break;
        case 'u': unix_path = optarg; break;
        case 't': timeout_ms = (unsigned)(atof(optarg) * 1000); break;
        case 'c': call_id = optarg; break;
        case 'f': from_tag = optarg; break;
        case 'o': to_tag = optarg; break;
        case 'h': die_usage("help"); break;
        default: die_usage("unknown option");
        }
    }
    if (optind >= argc)
        die_usage("no command");
    const char *cmd = argv[optind++];
    bool sdp_cmd = !strcmp(cmd, "offer") || !strcmp(cmd, "answer");
    char *sdp = NULL;
    size_t sdp_n = 0;
    if (sdp_cmd) {
        if (optind >= argc)
            die_usage("%s needs an SDP file", cmd);
        if (!(sdp = read_all(argv[optind++], &sdp_n)))
            die_usage("cannot read %s", argv[optind - 1]);
        if (!call_id || !from_tag || (!strcmp(cmd, "answer") && !to_tag))
            die_usage("%s needs --call-id, --from-tag%s", cmd,
                      strcmp(cmd, "answer") ? "" : " and --to-tag");
    } else if ((!strcmp(cmd, "delete") || !strcmp(cmd, "query")) && !call_id) {
        die_usage("%s needs --call-id", cmd);
    }
    const char *kill_id = NULL;
    if (!strcmp(cmd, "kill")) {
        if (optind >= argc)
            die_usage("kill needs a session id");
        kill_id = argv[optind++];
    }
    if (optind != argc)
        die_usage("unexpected argument %s", argv[optind]);

    char cookie[17];
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
        return 3;
    for (int i = 0; i < 8; i++)
        snprintf(cookie + 2 * i, 3, "%02x", rnd[i]);
    char *msg = malloc(MSG_MAX), *buf = malloc(MSG_MAX);
    if (!msg || !buf)
        return 3;
    size_t cn = strlen(cookie);
    memcpy(msg, cookie, cn);
    msg[cn] = ' ';
    struct ng_benc e;
    ng_benc_init(&e, msg + cn + 1, MSG_MAX - cn - 1);
    ng_benc_dict(&e);
    ng_benc_kv_cstr(&e, "command", cmd);
    if (call_id)
        ng_benc_kv_cstr(&e, "call-id", call_id);
    if (from_tag)
        ng_benc_kv_cstr(&e, "from-tag", from_tag);
    if (to_tag)
        ng_benc_kv_cstr(&e, "to-tag", to_tag);
    if (sdp)
        ng_benc_kv_str(&e, "sdp", sdp, sdp_n);
    if (kill_id)
        ng_benc_kv_cstr(&e, "id", kill_id);
    ng_benc_end(&e);
    if (e.err)
        die_usage("request too large");
    bool udp;
    int fd = connect_to(ng, unix_path, &udp);
    size_t got = exchange(fd, udp, msg, cn + 1 + e.n, cookie, buf, timeout_ms);
    close(fd);

    static struct ng_bval nodes[65536];
    int k = ng_bdecode(buf + cn + 1, got - cn - 1, nodes, 65536, 32);
    int status = 0;
    const struct ng_bval *result = k >= 1 && nodes[0].type == NG_BDICT
                                       ? ng_bdict_get(nodes, &nodes[0], "result")
                                       : NULL;
    if (!result) {
        fprintf(stderr, "msrpgw-ctl: malformed reply\n");
        status = 3;
    } else if (!ng_bstr_eq(result, "ok") && !ng_bstr_eq(result, "pong")) {
        const struct ng_bval *why = ng_bdict_get(nodes, &nodes[0], "error-reason");
        fprintf(stderr, "msrpgw-ctl: %s: %.*s\n", cmd, why ? (int)why->s.n : 5,
                why ? why->s.p : "error");
        status = 1;
    } else {
        const struct ng_bval *out_sdp = sdp_cmd ? ng_bdict_get(nodes, &nodes[0], "sdp") : NULL;
        /* stats: the daemon renders the JSON itself (metrics.h). */
        const struct ng_bval *raw = !strcmp(cmd, "stats") ? ng_bdict_get(nodes, &nodes[0], "json")
                                                          : NULL;
        if (out_sdp && out_sdp->type == NG_BSTR) {
            fwrite(out_sdp->s.p, 1, out_sdp->s.n, stdout);
        } else if (raw && raw->type == NG_BSTR) {
            fwrite(raw->s.p, 1, raw->s.n, stdout);
        } else {
            json(nodes, &nodes[0], 0);
            putchar('\n');
        }
    }
    free(sdp);
    free(msg);
    free(buf);
    return status;
}
