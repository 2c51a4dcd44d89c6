/*
 * bench_ws: decode throughput of proto/ws.c on one core: a stream of
 * 64 KiB masked binary frames (what a browser sends), decoded and
 * unmasked in place, next to memcpy of the same bytes measured in the
 * same run (ratio = decoder speed / memcpy speed). Also a text case
 * (ASCII payload, so the UTF-8 check runs over every byte) and the
 * into-a-buffer mode.
 *
 *   bench_ws            the figures (a couple of seconds; wall-clock, so
 *                       noisy on a shared machine)
 *   bench_ws --callgrind decodes each case once, for
 *     valgrind --tool=callgrind --toggle-collect=bench_decode_once \
 *         --toggle-collect=bench_memcpy_once perf/bench_ws --callgrind
 *   (then callgrind_annotate --inclusive=yes: Ir of each / the bytes printed).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/ws.h"

#define PAYLOAD (64 * 1024)
#define FRAMES 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* FRAMES masked frames of PAYLOAD bytes, each its own message. */
static size_t build(uint8_t *buf, enum msrp_ws_opcode op)
{
    static const uint8_t key[4] = { 0x12, 0x9a, 0x47, 0xe1 };
    uint8_t *payload = malloc(PAYLOAD);
    for (size_t i = 0; i < PAYLOAD; i++)
        payload[i] = op == MSRP_WS_OP_TEXT ? (uint8_t)('a' + i % 26) : (uint8_t)(i * 131 + 7);
    size_t n = 0;
    for (int f = 0; f < FRAMES; f++)
        n += (size_t)msrp_ws_encode_frame(buf + n, PAYLOAD + 16, op, true, payload, PAYLOAD, key);
    free(payload);
    return n;
}

static volatile size_t sink;

/* Decodes buf (re-masked each pass so in-place unmasking sees fresh
 * bytes: the copy back from pristine is memcpy, subtracted below). */
static double decode_gbps(const uint8_t *pristine, uint8_t *buf, size_t n, uint8_t *out,
                          double memcpy_s)
{
    static struct msrp_ws_decoder d;
    int reps = 0;
    double t0 = now(), t;
    do {
        memcpy(buf, pristine, n);
        msrp_ws_decoder_init(&d, MSRP_WS_SERVER, PAYLOAD);
        if (out)
            msrp_ws_decoder_set_out(&d, out, PAYLOAD);
        size_t at = 0, got = 0;
        for (;;) {
            struct msrp_ws_event ev;
            size_t used;
            int rc = msrp_ws_decode(&d, buf + at, n - at, &used, &ev);
            at += used;
            if (rc < 0) {
                fprintf(stderr, "decode error %s\n", msrp_ws_strerror(rc));
                exit(1);
            }
            if (rc == 0)
                break;
            if (ev.type == MSRP_WS_EV_DATA)
                got += ev.n;
        }
        if (got != (size_t)FRAMES * PAYLOAD) {
            fprintf(stderr, "decoded %zu bytes\n", got);
            exit(1);
        }
        sink = got;
        reps++;
        t = now() - t0;
    } while (t < 0.5);
    double per = t / reps - memcpy_s;
    return (double)n / (per > 0 ? per : 1e-12) / 1e9;
}

/* One decode pass over buf, in place (out == NULL) or into out. */
__attribute__((noinline)) size_t bench_decode_once(uint8_t *buf, size_t n, uint8_t *out);
__attribute__((noinline)) size_t bench_decode_once(uint8_t *buf, size_t n, uint8_t *out)
{
    static struct msrp_ws_decoder d;
    msrp_ws_decoder_init(&d, MSRP_WS_SERVER, PAYLOAD);
    if (out)
        msrp_ws_decoder_set_out(&d, out, PAYLOAD);
    size_t at = 0, got = 0;
    struct msrp_ws_event ev;
    size_t used;
    int rc;
    while ((rc = msrp_ws_decode(&d, buf + at, n - at, &used, &ev)) > 0) {
        at += used;
        if (ev.type == MSRP_WS_EV_DATA)
            got += ev.n;
    }
    return rc < 0 ? 0 : got;
}

__attribute__((noinline)) void bench_memcpy_once(uint8_t *dst, const uint8_t *src, size_t n);
__attribute__((noinline)) void bench_memcpy_once(uint8_t *dst, const uint8_t *src, size_t n)
{
    memcpy(dst, src, n);
}

static double memcpy_seconds(uint8_t *dst, const uint8_t *src, size_t n)
{
    int reps = 0;
    double t0 = now(), t;
    do {
        memcpy(dst, src, n);
        sink = dst[reps % n];
        reps++;
        t = now() - t0;
    } while (t < 0.3);
    return t / reps;
}

int main(int argc, char **argv)
{
    size_t cap = (size_t)FRAMES * (PAYLOAD + 16);
    uint8_t *pristine = malloc(cap), *buf = malloc(cap), *out = malloc(PAYLOAD);
    size_t n = build(pristine, MSRP_WS_OP_BINARY);
    if (argc > 1 && strcmp(argv[1], "--callgrind") == 0) {
        /* memcpy, binary in place, binary into out, text in place. */
        bench_memcpy_once(buf, pristine, n);
        size_t got = bench_decode_once(buf, n, NULL);
        memcpy(buf, pristine, n);
        got += bench_decode_once(buf, n, out);
        n = build(pristine, MSRP_WS_OP_TEXT);
        memcpy(buf, pristine, n);
        got += bench_decode_once(buf, n, NULL);
        printf("%zu bytes per case, %zu payload bytes decoded\n", n, got);
        return 0;
    }
    double mc = memcpy_seconds(buf, pristine, n);
    double memcpy_gbps = (double)n / mc / 1e9;
    printf("memcpy                          %6.2f GB/s (baseline)\n", memcpy_gbps);
    double g = decode_gbps(pristine, buf, n, NULL, mc);
    printf("binary 64 KiB masked, in place  %6.2f GB/s  ratio %.2f\n", g, g / memcpy_gbps);
    g = decode_gbps(pristine, buf, n, out, mc);
    printf("binary 64 KiB masked, into buf  %6.2f GB/s  ratio %.2f\n", g, g / memcpy_gbps);
    n = build(pristine, MSRP_WS_OP_TEXT);
    g = decode_gbps(pristine, buf, n, NULL, mc);
    printf("text 64 KiB masked (UTF-8 check) %5.2f GB/s  ratio %.2f\n", g, g / memcpy_gbps);
    free(out);
    free(buf);
    free(pristine);
    return 0;
}
