/*
 * tls_rec.c: TLS 1.3 AES-GCM record protection (see tls_rec.h).
 *
 * Per direction: the traffic secret (kept for KeyUpdate), the AES key
 * schedule, the 12-byte write IV and the 64-bit sequence number. The nonce
 * of a record is the IV XOR the sequence number left-padded to 12 bytes
 * (5.3); the additional data is the record header (5.2).
 */
#include "uring/tls_rec.h"

#ifdef UR_TLS_REC

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/kdf.h>

#define TAG_N 16u
#define IV_N 12u

struct rec_dir {
    Aes aes;
    uint8_t secret[UR_TLS_REC_SECRET_MAX];
    uint8_t key[32];
    uint8_t iv[IV_N];
    uint64_t seq;
    int aes_ready;
};

struct ur_tls_rec {
    struct rec_dir dir[2]; /* 0: read, 1: write */
    size_t key_n, secret_n;
    int hash; /* WC_SHA256 or WC_SHA384 */
};

/* HKDF-Expand-Label(secret, label, "", n) (7.1). */
static int expand(const struct ur_tls_rec *r, const uint8_t *secret, const char *label,
                  uint8_t *out, size_t n)
{
    static const uint8_t proto[] = "tls13 ";
    return wc_Tls13_HKDF_Expand_Label(out, (word32)n, secret, (word32)r->secret_n, proto,
                                      sizeof(proto) - 1, (const uint8_t *)label,
                                      (word32)strlen(label), NULL, 0, r->hash);
}

/* The key and IV of a direction from its current secret (7.3). */
static int dir_keys(struct ur_tls_rec *r, struct rec_dir *d)
{
    if (expand(r, d->secret, "key", d->key, r->key_n) != 0 ||
        expand(r, d->secret, "iv", d->iv, IV_N) != 0)
        return -UR_TLS_ALERT_INTERNAL;
    if (d->aes_ready) {
        wc_AesFree(&d->aes);
        d->aes_ready = 0;
    }
    if (wc_AesInit(&d->aes, NULL, INVALID_DEVID) != 0)
        return -UR_TLS_ALERT_INTERNAL;
    d->aes_ready = 1;
    if (wc_AesGcmSetKey(&d->aes, d->key, (word32)r->key_n) != 0)
        return -UR_TLS_ALERT_INTERNAL;
    d->seq = 0;
    return 0;
}

int ur_tls_rec_new(struct ur_tls_rec **out, size_t key_n, const uint8_t *rd_secret,
                   const uint8_t *wr_secret, size_t secret_n, uint64_t rd_seq, uint64_t wr_seq)
{
    struct ur_tls_rec *r;

    *out = NULL;
    if ((key_n != 16 && key_n != 32) || (secret_n != 32 && secret_n != 48))
        return -UR_TLS_ALERT_INTERNAL;
    r = calloc(1, sizeof(*r)); /* Aes wants 16-byte alignment: malloc's */
    if (!r)
        return -UR_TLS_ALERT_INTERNAL;
    r->key_n = key_n;
    r->secret_n = secret_n;
    r->hash = secret_n == 48 ? WC_SHA384 : WC_SHA256;
    memcpy(r->dir[0].secret, rd_secret, secret_n);
    memcpy(r->dir[1].secret, wr_secret, secret_n);
    if (dir_keys(r, &r->dir[0]) < 0 || dir_keys(r, &r->dir[1]) < 0) {
        ur_tls_rec_free(r);
        return -UR_TLS_ALERT_INTERNAL;
    }
    r->dir[0].seq = rd_seq;
    r->dir[1].seq = wr_seq;
    *out = r;
    return 0;
}

void ur_tls_rec_free(struct ur_tls_rec *r)
{
    if (!r)
        return;
    for (int i = 0; i < 2; i++)
        if (r->dir[i].aes_ready)
            wc_AesFree(&r->dir[i].aes);
    explicit_bzero(r, sizeof(*r));
    free(r);
}

int ur_tls_rec_is(const struct ur_tls_rec *r, int write, const uint8_t *key, const uint8_t *iv)
{
    const struct rec_dir *d = &r->dir[write ? 1 : 0];
    return key && iv && memcmp(d->key, key, r->key_n) == 0 && memcmp(d->iv, iv, IV_N) == 0;
}

long ur_tls_rec_length(const uint8_t hdr[UR_TLS_REC_HDR])
{
    size_t len = ((size_t)hdr[3] << 8) | hdr[4];

    /* After the handshake every record is application_data (5.1; a
     * change_cipher_spec is allowed only before the peer's Finished). The
     * legacy version is not checked: 5.1 says it MUST be ignored. */
    if (hdr[0] != UR_TLS_CT_APP)
        return -UR_TLS_ALERT_UNEXPECTED;
    if (len > UR_TLS_REC_CIPHER_MAX)
        return -UR_TLS_ALERT_OVERFLOW;
    if (len < TAG_N + 1) /* a tag and at least the inner content type */
        return -UR_TLS_ALERT_DECODE;
    return (long)(UR_TLS_REC_HDR + len);
}

static void nonce(const struct rec_dir *d, uint8_t out[IV_N])
{
    memcpy(out, d->iv, IV_N);
    for (int i = 0; i < 8; i++)
        out[IV_N - 1 - i] ^= (uint8_t)(d->seq >> (8 * i));
}

static void header(uint8_t *rec, size_t pt_n)
{
    size_t len = pt_n + 1 + TAG_N;

    rec[0] = UR_TLS_CT_APP;
    rec[1] = 0x03; /* legacy_record_version 0x0303 */
    rec[2] = 0x03;
    rec[3] = (uint8_t)(len >> 8);
    rec[4] = (uint8_t)len;
}

int ur_tls_rec_open(struct ur_tls_rec *r, const uint8_t *rec, size_t rec_n, uint8_t *out,
                    size_t *pt_n, int *type)
{
    struct rec_dir *d = &r->dir[0];
    uint8_t iv[IV_N];
    long want = ur_tls_rec_length(rec);
    size_t n;

    if (want < 0)
        return (int)want;
    if ((size_t)want != rec_n)
        return -UR_TLS_ALERT_DECODE;
    if (d->seq == UINT64_MAX) /* 5.5: never wrap; a peer this long closes */
        return -UR_TLS_ALERT_INTERNAL;
    n = rec_n - UR_TLS_REC_HDR - TAG_N;
    nonce(d, iv);
    if (wc_AesGcmDecrypt(&d->aes, out, rec + UR_TLS_REC_HDR, (word32)n, iv, IV_N,
                         rec + UR_TLS_REC_HDR + n, TAG_N, rec, UR_TLS_REC_HDR) != 0)
        return -UR_TLS_ALERT_BAD_MAC;
    d->seq++;
    /* TLSInnerPlaintext: content, the type, then zero padding (5.2, 5.4),
     * 2^14 + 1 bytes at most. */
    if (n > UR_TLS_REC_PLAIN_MAX + 1)
        return -UR_TLS_ALERT_OVERFLOW;
    while (n && out[n - 1] == 0)
        n--;
    if (!n)
        return -UR_TLS_ALERT_UNEXPECTED; /* all padding: no type */
    *type = out[n - 1];
    *pt_n = n - 1;
    return 0;
}

size_t ur_tls_rec_seal(struct ur_tls_rec *r, uint8_t *rec, size_t pt_n, int type)
{
    struct rec_dir *d = &r->dir[1];
    uint8_t iv[IV_N];
    size_t len = pt_n + 1 + TAG_N;
    uint8_t *body = rec + UR_TLS_REC_HDR;

    if (pt_n > UR_TLS_REC_PLAIN_MAX || d->seq == UINT64_MAX)
        return 0;
    header(rec, pt_n);
    body[pt_n] = (uint8_t)type;
    nonce(d, iv);
    if (wc_AesGcmEncrypt(&d->aes, body, body, (word32)(pt_n + 1), iv, IV_N, body + pt_n + 1,
                         TAG_N, rec, UR_TLS_REC_HDR) != 0)
        return 0;
    d->seq++;
    return UR_TLS_REC_HDR + len;
}

int ur_tls_rec_seal_begin(struct ur_tls_rec *r, uint8_t *rec, size_t pt_n)
{
    struct rec_dir *d = &r->dir[1];
    uint8_t iv[IV_N];

    if (pt_n > UR_TLS_REC_PLAIN_MAX || d->seq == UINT64_MAX)
        return -UR_TLS_ALERT_INTERNAL;
    header(rec, pt_n);
    nonce(d, iv);
    if (wc_AesGcmEncryptInit(&d->aes, NULL, 0, iv, IV_N) != 0 ||
        wc_AesGcmEncryptUpdate(&d->aes, NULL, NULL, 0, rec, UR_TLS_REC_HDR) != 0)
        return -UR_TLS_ALERT_INTERNAL;
    return 0;
}

int ur_tls_rec_seal_more(struct ur_tls_rec *r, uint8_t *out, const uint8_t *in, size_t n)
{
    if (n && wc_AesGcmEncryptUpdate(&r->dir[1].aes, out, in, (word32)n, NULL, 0) != 0)
        return -UR_TLS_ALERT_INTERNAL;
    return 0;
}

size_t ur_tls_rec_seal_end(struct ur_tls_rec *r, uint8_t *rec, size_t pt_n, int type)
{
    struct rec_dir *d = &r->dir[1];
    uint8_t *body = rec + UR_TLS_REC_HDR, t = (uint8_t)type;

    if (wc_AesGcmEncryptUpdate(&d->aes, body + pt_n, &t, 1, NULL, 0) != 0 ||
        wc_AesGcmEncryptFinal(&d->aes, body + pt_n + 1, TAG_N) != 0)
        return 0;
    d->seq++;
    return UR_TLS_REC_HDR + pt_n + 1 + TAG_N;
}

int ur_tls_rec_update(struct ur_tls_rec *r, int write)
{
    struct rec_dir *d = &r->dir[write ? 1 : 0];
    uint8_t next[UR_TLS_REC_SECRET_MAX];

    /* application_traffic_secret_N+1 = HKDF-Expand-Label(
     *     application_traffic_secret_N, "traffic upd", "", Hash.length) */
    if (expand(r, d->secret, "traffic upd", next, r->secret_n) != 0)
        return -UR_TLS_ALERT_INTERNAL;
    memcpy(d->secret, next, r->secret_n);
    explicit_bzero(next, sizeof(next));
    return dir_keys(r, d);
}

#endif /* UR_TLS_REC */
