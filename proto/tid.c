/*
 * tid.c: transaction ids from the kernel CSPRNG (getrandom(2)).
 *
 * Bytes are mapped to the 62-character alphabet by rejection sampling:
 * 256 is not a multiple of 62, so a plain modulo would make the first 8
 * characters more likely; bytes >= 248 (= 4 * 62) are discarded instead.
 */
#include "proto/tid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "proto/error.h"

#define ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
static const char alphabet[62] = ALPHABET;
/* alphabet[b % 62] for every accepted byte b (< 248 = 4 * 62), without the
 * division: the alphabet four times over. */
static const char by_byte[4 * 62 + 1] = ALPHABET ALPHABET ALPHABET ALPHABET;

/* Fills buf completely: loops on EINTR and on short reads. */
static int fill_random(uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return MSRP_E_RANDOM;
        }
        if (r == 0)
            return MSRP_E_RANDOM; /* never expected; avoids spinning */
        got += (size_t)r;
    }
    return 0;
}

int msrp_tid_gen_next(struct msrp_tid_gen *g, char *out, size_t len)
{
    if (g == NULL || out == NULL || len < MSRP_TID_MIN_LEN || len > MSRP_TID_MAX_LEN)
        return MSRP_E_INVALID;
    if (g->pos > g->len || g->len > sizeof(g->pool))
        g->pos = g->len = 0; /* repair a corrupted state rather than overread */
    size_t i = 0;
    while (i < len) {
        if (g->pos == g->len) {
            int rc = fill_random(g->pool, sizeof(g->pool));
            if (rc < 0) {
                g->pos = g->len = 0;
                return rc;
            }
            g->pos = 0;
            g->len = sizeof(g->pool);
        }
        /* One id per chunk forwarded: the run of pool bytes it uses is
         * mapped in a tight loop and then zeroed at once. */
        const uint8_t *src = g->pool + g->pos;
        size_t avail = (size_t)(g->len - g->pos), k = 0;
        while (k < avail && i < len) {
            uint8_t b = src[k++];
            if (b < 248)
                out[i++] = by_byte[b];
        }
        memset(g->pool + g->pos, 0, k);
        g->pos = (uint16_t)(g->pos + k);
    }
    return 0;
}

int msrp_tid_generate(char *out, size_t len)
{
    /* Ask only for what one id needs (plus slack for rejections). */
    if (out == NULL || len < MSRP_TID_MIN_LEN || len > MSRP_TID_MAX_LEN)
        return MSRP_E_INVALID;
    size_t i = 0;
    while (i < len) {
        uint8_t buf[MSRP_TID_MAX_LEN + 8];
        size_t want = len - i + 8;
        int rc = fill_random(buf, want);
        if (rc < 0)
            return rc;
        for (size_t k = 0; k < want && i < len; k++)
            if (buf[k] < 248)
                out[i++] = alphabet[buf[k] % 62];
        memset(buf, 0, sizeof(buf));
    }
    return 0;
}
