/*
 * fuzz_tls_rec.c: msrpgw's TLS 1.3 record layer (uring/tls_rec.c) driven
 * by the input as a list of operations on two ends of one connection:
 *
 *   0  raw bytes as a received record: header check and open must refuse
 *      them with one of the layer's alerts (or open them) and never touch
 *      a byte outside the record or the output;
 *   1  plaintext (length and bytes from the input) sealed by one end in
 *      pieces cut where the input says, opened by the other: the same bytes
 *      and content type back; with one byte of the record changed first
 *      (also input-chosen), refused;
 *   2  KeyUpdate: the sender's write key and the receiver's read key.
 *
 * The first byte picks AES-128 or AES-256 (bit 0). Without the traffic
 * secrets from wolfSSL (UR_TLS_REC unset) there is nothing to fuzz.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uring/tls_rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef UR_TLS_REC

static uint8_t rec[UR_TLS_REC_HDR + UR_TLS_REC_CIPHER_MAX];
static uint8_t out[UR_TLS_REC_CIPHER_MAX];

struct in {
    const uint8_t *p;
    size_t n;
};

static int take(struct in *in, void *dst, size_t k)
{
    if (in->n < k)
        return 0;
    memcpy(dst, in->p, k);
    in->p += k;
    in->n -= k;
    return 1;
}

static int known_alert(int e)
{
    return e == -UR_TLS_ALERT_UNEXPECTED || e == -UR_TLS_ALERT_BAD_MAC ||
           e == -UR_TLS_ALERT_OVERFLOW || e == -UR_TLS_ALERT_DECODE ||
           e == -UR_TLS_ALERT_INTERNAL;
}

static void raw_record(struct ur_tls_rec *rd, struct in *in)
{
    uint16_t n16;
    size_t n, pt_n;
    long want;
    int type, e;

    if (!take(in, &n16, 2))
        return;
    n = n16 % (sizeof(rec) + 1);
    if (n < UR_TLS_REC_HDR || !take(in, rec, n))
        return;
    want = ur_tls_rec_length(rec);
    if (want < 0) {
        if (!known_alert((int)want))
            abort();
        return;
    }
    e = ur_tls_rec_open(rd, rec, n, out, &pt_n, &type);
    if (e < 0 && !known_alert(e))
        abort();
    if (e == 0 && (pt_n > UR_TLS_REC_PLAIN_MAX || (size_t)want != n))
        abort();
}

static void sealed_record(struct ur_tls_rec *wr, struct ur_tls_rec *rd, struct in *in)
{
    uint8_t hdr[6]; /* length (2), type, cuts (2), change */
    static uint8_t pt[UR_TLS_REC_PLAIN_MAX];
    size_t n, cut1, cut2, len, pt_n;
    int type, e;

    if (!take(in, hdr, sizeof(hdr)))
        return;
    n = ((size_t)hdr[0] << 8 | hdr[1]) % (UR_TLS_REC_PLAIN_MAX + 1);
    if (n > in->n)
        n = in->n;
    take(in, pt, n);
    type = hdr[2] ? hdr[2] : UR_TLS_CT_APP; /* type 0 would read as padding */
    cut1 = n ? hdr[3] * n / 256 : 0;
    cut2 = cut1 + (n - cut1) * hdr[4] / 256;
    if (ur_tls_rec_seal_begin(wr, rec, n) < 0 ||
        ur_tls_rec_seal_more(wr, rec + UR_TLS_REC_HDR, pt, cut1) < 0 ||
        ur_tls_rec_seal_more(wr, rec + UR_TLS_REC_HDR + cut1, pt + cut1, cut2 - cut1) < 0 ||
        ur_tls_rec_seal_more(wr, rec + UR_TLS_REC_HDR + cut2, pt + cut2, n - cut2) < 0)
        abort();
    len = ur_tls_rec_seal_end(wr, rec, n, type);
    if (len != UR_TLS_REC_HDR + n + UR_TLS_REC_TAIL)
        abort();
    if (hdr[5] & 1) { /* one byte changed: refused, and the stream is done */
        rec[(hdr[5] >> 1) * len / 128] ^= 0x5a;
        e = ur_tls_rec_open(rd, rec, len, rec + UR_TLS_REC_HDR, &pt_n, &type);
        if (e == 0 || !known_alert(e))
            abort();
        return;
    }
    e = ur_tls_rec_open(rd, rec, len, rec + UR_TLS_REC_HDR, &pt_n, &type);
    if (e != 0 || pt_n != n || type != (hdr[2] ? hdr[2] : UR_TLS_CT_APP) ||
        memcmp(rec + UR_TLS_REC_HDR, pt, n) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t s1[48] = "fuzz client secret", s2[48] = "fuzz server secret";
    struct ur_tls_rec *a, *b;
    struct in in = {data, size};
    uint8_t op, mode;
    int broken = 0;

    if (!take(&in, &mode, 1))
        return 0;
    if (ur_tls_rec_new(&a, mode & 1 ? 32 : 16, s1, s2, 48, 0, 0) < 0)
        abort();
    if (ur_tls_rec_new(&b, mode & 1 ? 32 : 16, s2, s1, 48, 0, 0) < 0)
        abort();
    for (int steps = 0; steps < 64 && take(&in, &op, 1); steps++) {
        switch (op % 3) {
        case 0:
            raw_record(b, &in); /* a failed open leaves b's state as it was */
            break;
        case 1:
            if (!broken) {
                broken = in.n >= 6 && (in.p[5] & 1); /* a changed record ends it */
                sealed_record(a, b, &in);
            }
            break;
        default:
            if (ur_tls_rec_update(a, 1) < 0 || ur_tls_rec_update(b, 0) < 0)
                abort();
            break;
        }
    }
    ur_tls_rec_free(a);
    ur_tls_rec_free(b);
    return 0;
}

#else

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}

#endif
