/*
 * bench_ws_leg: one MSRP sender whose leg to msrpgw is either TCP or
 * WebSocket (RFC 7977), everything else equal, so that perf/ws_leg.sh can
 * compare what the gateway spends per body byte on each kind of leg. It
 * sends one message of --size bytes in --chunk byte SENDs to --to-path
 * (no AUTH: a sender reaching an AUTHed receiver's Use-Path), keeping at
 * most --window chunks unanswered, and counts the 200s.
 *
 *   bench_ws_leg --mode tcp|ws --connect HOST:PORT --to-path "URIS"
 *                [--size BYTES] [--chunk BYTES] [--window N]
 *
 * WebSocket mode: the Upgrade (subprotocol msrp) first; then each SEND is
 * one masked binary frame (one message), the answers are decoded with
 * proto/ws.c (client role). The masking is this process's cost, not the
 * gateway's. Prints one JSON line: mode, bytes, seconds, MB/s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/ws.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_ws_leg: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            die("send");
        }
        p += w;
        n -= (size_t)w;
    }
}

static int dial(const char *hostport)
{
    char host[64];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof(host))
        die("--connect HOST:PORT");
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = 0;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1)) };
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        die("IPv4 address");
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void upgrade(int fd, const char *hostport)
{
    char req[512], resp[1024];
    size_t n = 0;
    int len = snprintf(req, sizeof(req),
                       "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: msrp\r\n\r\n",
                       hostport);
    send_all(fd, (const uint8_t *)req, (size_t)len);
    while (n < sizeof(resp) - 1) { /* byte by byte: no frame byte is eaten */
        if (recv(fd, resp + n, 1, 0) != 1)
            die("upgrade answer");
        n++;
        resp[n] = 0;
        if (n >= 4 && !memcmp(resp + n - 4, "\r\n\r\n", 4))
            break;
    }
    if (strncmp(resp, "HTTP/1.1 101 ", 13) != 0) {
        fprintf(stderr, "bench_ws_leg: upgrade refused: %s\n", resp);
        exit(1);
    }
}

/* Counts the answers in the byte stream: every MSRP frame coming back is
 * a response (no reports are asked for), one end-line each. */
struct counter {
    char tail[8]; /* the last bytes of the previous read: an end-line may straddle */
    size_t tail_n;
    unsigned long answers, ok;
};

static void count(struct counter *k, const uint8_t *p, size_t n)
{
    /* "\r\n-------" starts an end-line; " 200 " after the tid marks an OK
     * (responses have no body, so both are unambiguous). */
    static const char el[] = "\r\n-------";
    char buf[8 + 65536];
    while (n) {
        size_t take = n > 65536 ? 65536 : n;
        memcpy(buf, k->tail, k->tail_n);
        memcpy(buf + k->tail_n, p, take);
        size_t len = k->tail_n + take;
        for (size_t i = 0; i + 9 <= len; i++)
            if (buf[i] == '\r' && !memcmp(buf + i, el, 9))
                k->answers++;
        for (size_t i = 0; i + 5 <= len; i++)
            if (buf[i] == ' ' && !memcmp(buf + i, " 200 ", 5))
                k->ok++;
        k->tail_n = len < 8 ? len : 8;
        memcpy(k->tail, buf + len - k->tail_n, k->tail_n);
        p += take;
        n -= take;
    }
}

int main(int argc, char **argv)
{
    const char *mode = "tcp", *to = NULL, *path = NULL;
    uint64_t size = 256u << 20;
    size_t chunk = 65536;
    unsigned window = 8;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mode")) mode = argv[i + 1];
        else if (!strcmp(argv[i], "--connect")) to = argv[i + 1];
        else if (!strcmp(argv[i], "--to-path")) path = argv[i + 1];
        else if (!strcmp(argv[i], "--size")) size = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--chunk")) chunk = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--window")) window = (unsigned)atoi(argv[i + 1]);
    }
    bool ws = !strcmp(mode, "ws");
    if (!to || !path || !chunk || !window || size == 0) {
        fprintf(stderr, "usage: bench_ws_leg --mode tcp|ws --connect HOST:PORT --to-path "
                        "\"URIS\" [--size B] [--chunk B] [--window N]\n");
        return 2;
    }
    int fd = dial(to);
    if (ws)
        upgrade(fd, to);

    size_t cap = chunk + 2048;
    uint8_t *msg = malloc(cap + MSRP_WS_MAX_HEADER), *body = malloc(chunk), *in = malloc(1 << 16);
    for (size_t i = 0; i < chunk; i++)
        body[i] = (uint8_t)(i * 131 + 7);
    struct msrp_ws_decoder dec;
    msrp_ws_decoder_init(&dec, MSRP_WS_CLIENT, 1u << 20);
    struct counter k = { 0 };
    uint64_t rng = 0x9e3779b97f4a7c15ull, off = 0;
    unsigned long sent = 0, chunks = (unsigned long)((size + chunk - 1) / chunk);
    const char *from = ws ? "msrp://bench.invalid:2855/wsleg;ws" : "msrp://127.0.0.1:9/tcpleg;tcp";
    double t0 = now();

    while (k.answers < chunks) {
        while (sent < chunks && sent - k.answers < window) {
            size_t n = size - off < chunk ? (size_t)(size - off) : chunk;
            uint8_t *m = msg + MSRP_WS_MAX_HEADER;
            int h = snprintf((char *)m, cap,
                             "MSRP t%015lu SEND\r\nTo-Path: %s\r\nFrom-Path: %s\r\n"
                             "Message-ID: wsleg\r\nByte-Range: %llu-%llu/%llu\r\n"
                             "Content-Type: application/octet-stream\r\n\r\n",
                             sent, path, from, (unsigned long long)off + 1,
                             (unsigned long long)(off + n), (unsigned long long)size);
            memcpy(m + h, body, n);
            int e = snprintf((char *)m + h + n, 64, "\r\n-------t%015lu%c\r\n", sent,
                             off + n == size ? '$' : '+');
            size_t len = (size_t)h + n + (size_t)e;
            uint8_t *start = m;
            if (ws) {
                uint8_t key[4];
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                memcpy(key, &rng, 4);
                uint8_t hdr[MSRP_WS_MAX_HEADER];
                size_t hn = msrp_ws_frame_header(hdr, MSRP_WS_OP_BINARY, true, len, key);
                msrp_ws_mask(m, len, key, 0);
                start = m - hn;
                memcpy(start, hdr, hn);
                len += hn;
            }
            send_all(fd, start, len);
            off += n;
            sent++;
        }
        ssize_t r = recv(fd, in, 1 << 16, 0);
        if (r <= 0)
            die("connection closed before every answer");
        if (!ws) {
            count(&k, in, (size_t)r);
            continue;
        }
        uint8_t *p = in;
        size_t left = (size_t)r;
        while (left) {
            struct msrp_ws_event ev;
            size_t used;
            int rc = msrp_ws_decode(&dec, p, left, &used, &ev);
            if (rc < 0) {
                fprintf(stderr, "bench_ws_leg: bad frame from the gateway: %s\n",
                        msrp_ws_strerror(rc));
                return 1;
            }
            p += used;
            left -= used;
            if (rc == 1 && ev.type == MSRP_WS_EV_DATA)
                count(&k, ev.data, ev.n);
        }
    }
    double secs = now() - t0;
    printf("{\"mode\": \"%s\", \"bytes\": %llu, \"chunks\": %lu, \"ok\": %lu, \"seconds\": %.4f, "
           "\"mb_per_s\": %.1f}\n",
           mode, (unsigned long long)size, chunks, k.ok, secs, (double)size / secs / 1e6);
    close(fd);
    return k.ok == chunks ? 0 : 1;
}
