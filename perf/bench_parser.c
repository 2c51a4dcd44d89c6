/*
 * bench_parser: throughput of proto/parser.c on one core, each figure next
 * to a baseline measured in the same run over the same bytes: memchr for
 * '\r' called again after each one, which is how the body scan worked
 * before proto/endscan.c (ratio = parser speed / memchr speed; above 1.0
 * the parser's vector scan beats that loop: about 2 on random bodies).
 *
 *   bench_parser                 all figures (a few seconds)
 *   bench_parser --callgrind [mix|send|ok]
 *                                parses a fixed stream of small frames once
 *                                (10000 SENDs and/or 10000 200s) and prints
 *                                the frame count; run as
 *     valgrind --tool=callgrind --toggle-collect=bench_parse_stream \
 *         perf/bench_parser --callgrind mix
 *   and divide the instructions (Ir) by the frames printed.
 *
 * Body cases: one SEND whose body arrives as 64 KiB reads, random bytes
 * (a '\r' every 256 bytes on average) and text (CRLF every ~70 bytes).
 * Frame cases: a typical SEND (~200-byte head, 2 KiB text body) and a
 * bodyless 200 response, many back to back, read 64 KiB at a time.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/parser.h"

#define CHUNK (64 * 1024)
#define TIDSTR "Xk3rq9Zt2bLm7wPa"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_s = 0x2545F4914F6CDD1Dull;
static uint64_t rng(void)
{
    rng_s ^= rng_s << 13;
    rng_s ^= rng_s >> 7;
    rng_s ^= rng_s << 17;
    return rng_s;
}

static struct msrp_parser P;
static struct msrp_head H;
static char scratch[16384];

/* Counters the parse loops feed, so the compiler cannot drop the work. */
static volatile uint64_t sink;

struct counts {
    uint64_t frames, body, errors;
};

/* Feeds buf[0..n) and counts; the unit callgrind measures. */
__attribute__((noinline)) void bench_parse_stream(const char *buf, size_t n, size_t rd,
                                                 struct counts *c)
{
    for (size_t off = 0; off < n;) {
        size_t len = n - off < rd ? n - off : rd;
        const char *p = buf + off;
        size_t used = 0;
        for (;;) {
            struct msrp_event ev;
            used += msrp_parse(&P, p + used, len - used, &ev);
            if (ev.type == MSRP_EV_NONE)
                break;
            if (ev.type == MSRP_EV_BODY)
                c->body += ev.body.n;
            else if (ev.type == MSRP_EV_FRAME_END)
                c->frames++;
            else if (ev.type == MSRP_EV_ERROR) {
                c->errors++;
                return;
            }
        }
        off += len;
    }
}

static size_t count_cr(const char *buf, size_t n)
{
    size_t k = 0;
    const char *q = buf, *end = buf + n;
    while ((q = memchr(q, '\r', (size_t)(end - q))) != NULL) {
        k++;
        q++;
    }
    return k;
}

static void reset_parser(void)
{
    if (msrp_parser_init(&P, NULL, &H, scratch, sizeof scratch) != 0) {
        fprintf(stderr, "init failed\n");
        exit(1);
    }
}

static const char *SEND_HEAD = "MSRP " TIDSTR " SEND\r\n"
                               "To-Path: msrp://bob.example.com:2855/s9di4eae923wzd;tcp\r\n"
                               "From-Path: msrp://alice.example.com:2855/iau39soe2843z;tcp\r\n"
                               "Message-ID: 4564dpWd3x\r\n"
                               "Byte-Range: 1-*/*\r\n"
                               "Content-Type: application/octet-stream\r\n\r\n";

static void fill_text(char *b, size_t n)
{
    static const char words[] = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do ";
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        if (col >= 68 && i + 2 <= n) {
            b[i++] = '\r';
            b[i] = '\n';
            col = 0;
            continue;
        }
        b[i] = words[(i * 7 + col) % (sizeof words - 1)];
        col++;
    }
}

/* One endless SEND: the head once, then the same 64 KiB chunk fed again
 * and again, as a relay sees a large file go by. */
static void bench_body(const char *label, const char *chunk, double seconds)
{
    reset_parser();
    struct counts c = { 0 };
    bench_parse_stream(SEND_HEAD, strlen(SEND_HEAD), CHUNK, &c);
    double best_p = 0, best_m = 0;
    for (int round = 0; round < 3; round++) {
        uint64_t bytes = 0;
        double t0 = now(), t;
        do {
            for (int i = 0; i < 256; i++)
                bench_parse_stream(chunk, CHUNK, CHUNK, &c);
            bytes += 256ull * CHUNK;
            t = now() - t0;
        } while (t < seconds / 3);
        if (bytes / t > best_p)
            best_p = (double)bytes / t;
        bytes = 0;
        size_t crs = 0;
        t0 = now();
        do {
            for (int i = 0; i < 256; i++)
                crs += count_cr(chunk, CHUNK);
            bytes += 256ull * CHUNK;
            t = now() - t0;
        } while (t < seconds / 3);
        sink += crs;
        if (bytes / t > best_m)
            best_m = (double)bytes / t;
    }
    sink += c.body;
    if (c.errors || c.frames) {
        fprintf(stderr, "%s: unexpected frames/errors\n", label);
        exit(1);
    }
    printf("body %-22s parser %6.2f GB/s   memchr %6.2f GB/s   ratio %.2f\n", label,
           best_p / 1e9, best_m / 1e9, best_p / best_m);
}

static size_t build_frames(char **out, int n_send, int n_ok)
{
    char body[2048];
    fill_text(body, sizeof body);
    char send[4096], ok[512];
    int sn = snprintf(send, sizeof send, "%s%.*s\r\n-------" TIDSTR "$\r\n", SEND_HEAD,
                      (int)sizeof body, body);
    int on = snprintf(ok, sizeof ok,
                      "MSRP " TIDSTR " 200 OK\r\n"
                      "To-Path: msrp://alice.example.com:2855/iau39soe2843z;tcp\r\n"
                      "From-Path: msrp://bob.example.com:2855/s9di4eae923wzd;tcp\r\n"
                      "-------" TIDSTR "$\r\n");
    size_t total = (size_t)n_send * (size_t)sn + (size_t)n_ok * (size_t)on;
    char *b = malloc(total);
    size_t off = 0;
    int s = n_send, o = n_ok;
    while (s || o) {
        if (s) {
            memcpy(b + off, send, (size_t)sn);
            off += (size_t)sn;
            s--;
        }
        if (o) {
            memcpy(b + off, ok, (size_t)on);
            off += (size_t)on;
            o--;
        }
    }
    *out = b;
    return total;
}

static void bench_frames(const char *label, int n_send, int n_ok, double seconds)
{
    char *buf;
    size_t n = build_frames(&buf, n_send, n_ok);
    uint64_t per = (uint64_t)n_send + (uint64_t)n_ok;
    double best_f = 0, best_bytes = 0, best_m = 0;
    for (int round = 0; round < 3; round++) {
        uint64_t frames = 0;
        double t0 = now(), t;
        do {
            reset_parser();
            struct counts c = { 0 };
            bench_parse_stream(buf, n, CHUNK, &c);
            if (c.errors || c.frames != per) {
                fprintf(stderr, "%s: %llu frames, %llu errors\n", label,
                        (unsigned long long)c.frames, (unsigned long long)c.errors);
                exit(1);
            }
            frames += c.frames;
            t = now() - t0;
        } while (t < seconds / 3);
        if (frames / t > best_f) {
            best_f = (double)frames / t;
            best_bytes = best_f * (double)n / (double)per;
        }
        uint64_t bytes = 0;
        size_t crs = 0;
        t0 = now();
        do {
            crs += count_cr(buf, n);
            bytes += n;
            t = now() - t0;
        } while (t < seconds / 3);
        sink += crs;
        if (bytes / t > best_m)
            best_m = (double)bytes / t;
    }
    printf("frames %-20s parser %6.2f M frames/s (%5.0f ns/frame, %5.2f GB/s)   memchr %6.2f GB/s   ratio %.2f\n",
           label, best_f / 1e6, 1e9 / best_f, best_bytes / 1e9, best_m / 1e9,
           best_bytes / best_m);
    free(buf);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--callgrind") == 0) {
        enum { N = 10000 };
        const char *what = argc > 2 ? argv[2] : "mix";
        int ns = N, no = N;
        if (strcmp(what, "send") == 0)
            no = 0;
        else if (strcmp(what, "ok") == 0)
            ns = 0;
        else if (strcmp(what, "mix") != 0) {
            fprintf(stderr, "usage: bench_parser --callgrind [mix|send|ok]\n");
            return 2;
        }
        char *buf;
        size_t n = build_frames(&buf, ns, no);
        reset_parser();
        struct counts c = { 0 };
        bench_parse_stream(buf, n, CHUNK, &c);
        printf("frames %llu (%s: %d SEND with 2 KiB body, %d 200 OK; %zu bytes) errors %llu\n",
               (unsigned long long)c.frames, what, ns, no, n, (unsigned long long)c.errors);
        free(buf);
        return c.errors ? 1 : 0;
    }
    if (argc > 1) {
        fprintf(stderr, "usage: bench_parser [--callgrind]\n");
        return 2;
    }

    static char chunk[CHUNK];
    for (size_t i = 0; i < CHUNK; i += 8) {
        uint64_t r = rng();
        memcpy(chunk + i, &r, 8);
    }
    printf("(random chunk: %zu CRs in %d bytes)\n", count_cr(chunk, CHUNK), CHUNK);
    bench_body("64KiB random", chunk, 1.5);
    fill_text(chunk, CHUNK);
    printf("(text chunk: %zu CRs in %d bytes)\n", count_cr(chunk, CHUNK), CHUNK);
    bench_body("64KiB text", chunk, 1.5);
    bench_frames("SEND 2KiB text body", 20000, 0, 1.5);
    bench_frames("200 OK bodyless", 0, 20000, 1.5);
    bench_frames("SEND+200 mix", 10000, 10000, 1.5);
    return 0;
}
