/*
 * tls_rec.h: TLS 1.3 record protection for AES-GCM application traffic
 * (RFC 8446 5.1-5.4, 7.1-7.3), done by msrpgw itself once wolfSSL has
 * finished a handshake. wolfSSL copies every record into its own input
 * buffer, its plaintext out of it, and each record it writes once more into
 * our send queue; here a record is opened in place in the buffer it was
 * received into and sealed in place in the buffer it is sent from.
 *
 * Available when the linked wolfSSL gives the traffic secrets
 * (HAVE_SECRET_CALLBACK: the AES-NI build of tools/wolfssl-aesni.sh);
 * UR_TLS_REC says so. Errors are negative TLS alert descriptions.
 */
#ifndef UR_TLS_REC_H
#define UR_TLS_REC_H

#include <stddef.h>
#include <stdint.h>

#include <wolfssl/options.h>

#if defined(HAVE_SECRET_CALLBACK) && defined(WOLFSSL_TLS13) && defined(HAVE_AESGCM) && \
    defined(HAVE_HKDF) && defined(WOLFSSL_AESGCM_STREAM)
#define UR_TLS_REC 1
#endif

#define UR_TLS_REC_HDR 5u                  /* type, legacy version, length */
#define UR_TLS_REC_TAIL 17u                /* inner content type + GCM tag */
#define UR_TLS_REC_PLAIN_MAX 16384u        /* 2^14 (RFC 8446 5.1) */
#define UR_TLS_REC_CIPHER_MAX (16384u + 256u) /* 5.2 */
#define UR_TLS_REC_SECRET_MAX 48u          /* SHA-384 */

/* Content types (5.1) and the alerts this layer sends or reports (6). */
enum {
    UR_TLS_CT_ALERT = 21,
    UR_TLS_CT_HANDSHAKE = 22,
    UR_TLS_CT_APP = 23,
    UR_TLS_ALERT_CLOSE_NOTIFY = 0,
    UR_TLS_ALERT_UNEXPECTED = 10,
    UR_TLS_ALERT_BAD_MAC = 20,
    UR_TLS_ALERT_OVERFLOW = 22,
    UR_TLS_ALERT_DECODE = 50,
    UR_TLS_ALERT_ILLEGAL = 47,
    UR_TLS_ALERT_INTERNAL = 80,
};

struct ur_tls_rec;

#ifndef UR_TLS_REC
static inline void ur_tls_rec_free(struct ur_tls_rec *r) { (void)r; }
#else
/* From the two application traffic secrets (secret_n 32: SHA-256, 48:
 * SHA-384), the AES key length (16 or 32) and the next sequence numbers of
 * each direction. 0, -UR_TLS_ALERT_INTERNAL, or -ENOMEM... as an alert. */
int ur_tls_rec_new(struct ur_tls_rec **out, size_t key_n, const uint8_t *rd_secret,
                   const uint8_t *wr_secret, size_t secret_n, uint64_t rd_seq, uint64_t wr_seq);
void ur_tls_rec_free(struct ur_tls_rec *r);

/* 1 when this direction's key and IV are key/iv (checked against the
 * library's own before taking over). */
int ur_tls_rec_is(const struct ur_tls_rec *r, int write, const uint8_t *key, const uint8_t *iv);

/* The whole record's length from its header (5 + length), or a negative
 * alert: only application_data records are valid after the handshake. */
long ur_tls_rec_length(const uint8_t hdr[UR_TLS_REC_HDR]);

/* Opens the record rec[0..rec_n) (header included) into out, which may be
 * rec + UR_TLS_REC_HDR (in place). *pt_n, *type: the plaintext length and
 * the inner content type. 0 or a negative alert. */
int ur_tls_rec_open(struct ur_tls_rec *r, const uint8_t *rec, size_t rec_n, uint8_t *out,
                    size_t *pt_n, int *type);

/* Seals pt_n (<= UR_TLS_REC_PLAIN_MAX) plaintext bytes at rec +
 * UR_TLS_REC_HDR in place; rec has UR_TLS_REC_TAIL bytes more after them.
 * Returns the record's length, 0 when the sequence numbers are used up. */
size_t ur_tls_rec_seal(struct ur_tls_rec *r, uint8_t *rec, size_t pt_n, int type);

/* The same, gathered: the record's plaintext comes from several buffers and
 * its ciphertext goes to rec + UR_TLS_REC_HDR. begin (pt_n: the total),
 * then more for each piece in order (out: where its ciphertext goes), then
 * end, which returns the record's length. A negative alert, or 0 from end,
 * means the connection must close. */
int ur_tls_rec_seal_begin(struct ur_tls_rec *r, uint8_t *rec, size_t pt_n);
int ur_tls_rec_seal_more(struct ur_tls_rec *r, uint8_t *out, const uint8_t *in, size_t n);
size_t ur_tls_rec_seal_end(struct ur_tls_rec *r, uint8_t *rec, size_t pt_n, int type);

/* KeyUpdate (4.6.3): the next traffic secret, key and IV of one direction,
 * sequence number 0. 0 or a negative alert. */
int ur_tls_rec_update(struct ur_tls_rec *r, int write);
#endif /* UR_TLS_REC */

#endif
