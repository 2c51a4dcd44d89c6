/*
 * bench_crypto: the TLS record ciphers of the wolfSSL msrpgw actually
 * links, on one core: AES-128-GCM and ChaCha20-Poly1305 sealing and opening
 * 16 KiB records (TLS's largest, what bulk file data travels in), in GB/s
 * of plaintext per CPU-second of this thread. The first line says which
 * library (ur_tls_describe: system or built with AES-NI, the paths compiled
 * in), so figures from the two builds can be told apart.
 *
 *   bench_crypto [--seconds S] [--json]
 *
 * Reference points on the 2-core VM of PEERS.md: Debian's libwolfssl
 * AES-128-GCM ~0.17 GB/s, ChaCha20-Poly1305 ~0.46 GB/s; built with
 * --enable-aesni --enable-intelasm ~3.5 and ~1.6 GB/s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>

#include "uring/tls.h"

#define REC (16 * 1024)

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint8_t pt[REC], ct[REC], back[REC], tag[16];
static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";
static uint8_t iv[12];
static const uint8_t aad[13] = "\x17\x03\x03\x40\x11";

enum op { SEAL, OPEN };

static int aes_gcm(enum op op, Aes *aes)
{
    iv[11]++; /* a fresh nonce per record, as TLS does */
    if (op == SEAL)
        return wc_AesGcmEncrypt(aes, ct, pt, REC, iv, sizeof(iv), tag, sizeof(tag), aad,
                                sizeof(aad));
    return wc_AesGcmDecrypt(aes, back, ct, REC, iv, sizeof(iv), tag, sizeof(tag), aad,
                            sizeof(aad));
}

static int chacha(enum op op)
{
    iv[11]++;
    if (op == SEAL)
        return wc_ChaCha20Poly1305_Encrypt(key, iv, aad, sizeof(aad), pt, REC, ct, tag);
    return wc_ChaCha20Poly1305_Decrypt(key, iv, aad, sizeof(aad), ct, REC, tag, back);
}

/* GB/s per CPU-second; -1 on a crypto error. Open runs on a record that
 * was just sealed with the same nonce, so the tag must verify. */
static double run(int which, enum op op, double seconds)
{
    Aes aes;
    uint64_t bytes = 0;
    double t0, t;

    if (which == 0 && (wc_AesInit(&aes, NULL, INVALID_DEVID) != 0 ||
                       wc_AesGcmSetKey(&aes, key, 16) != 0))
        return -1;
    t0 = cpu_now();
    do {
        for (int i = 0; i < 64; i++) {
            if (op == OPEN) { /* seal a record to open, off the clock */
                double s = cpu_now();
                if ((which == 0 ? aes_gcm(SEAL, &aes) : chacha(SEAL)) != 0)
                    return -1;
                iv[11]--;
                t0 += cpu_now() - s;
            }
            if ((which == 0 ? aes_gcm(op, &aes) : chacha(op)) != 0)
                return -1;
            bytes += REC;
        }
        t = cpu_now() - t0;
    } while (t < seconds);
    if (which == 0)
        wc_AesFree(&aes);
    if (op == OPEN && memcmp(back, pt, REC) != 0)
        return -1;
    return (double)bytes / t / 1e9;
}

int main(int argc, char **argv)
{
    double seconds = 1.0, r[2][2];
    int json = 0;
    char desc[512];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_crypto [--seconds S] [--json]\n");
            return 2;
        }
    }
    for (size_t i = 0; i < sizeof(pt); i++)
        pt[i] = (uint8_t)(i * 131u + 7u);
    ur_tls_describe(desc, sizeof(desc));
    for (int w = 0; w < 2; w++)
        for (int o = 0; o < 2; o++)
            if ((r[w][o] = run(w, (enum op)o, seconds)) < 0) {
                fprintf(stderr, "bench_crypto: %s %s failed\n", w ? "chacha20-poly1305" : "aes-128-gcm",
                        o ? "open" : "seal");
                return 1;
            }
    if (json) {
        printf("{\"library\": \"%s\", \"aes_fast\": %s, \"record\": %d, "
               "\"aes128gcm_seal_GBps\": %.3f, \"aes128gcm_open_GBps\": %.3f, "
               "\"chacha20poly1305_seal_GBps\": %.3f, \"chacha20poly1305_open_GBps\": %.3f}\n",
               desc, ur_tls_aes_fast() ? "true" : "false", REC, r[0][0], r[0][1], r[1][0], r[1][1]);
        return 0;
    }
    printf("%s\n", desc);
    printf("16 KiB records, GB/s per CPU-second of one core:\n");
    printf("  AES-128-GCM        seal %6.3f  open %6.3f\n", r[0][0], r[0][1]);
    printf("  ChaCha20-Poly1305  seal %6.3f  open %6.3f\n", r[1][0], r[1][1]);
    printf("  AES-GCM / ChaCha20 (seal): %.2f\n", r[0][0] / r[1][0]);
    return 0;
}
