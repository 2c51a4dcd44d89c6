/*
 * test_tls_rec.c: msrpgw's TLS 1.3 AES-GCM record protection
 * (uring/tls_rec.c) between two instances keyed as the two ends of one
 * connection: round trips, and every record a peer must refuse (a changed
 * byte, a replay, a wrong header, all padding, too long). The same layer
 * against wolfSSL's own (and KeyUpdate) is in test_uring_conn
 * (uring_tls/key_update_*); against OpenSSL in the integration tests.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "uring/tls.h"
#include "uring/tls_rec.h"

#ifdef UR_TLS_REC

static const uint8_t sec_c[32] = "client application traffic sec";
static const uint8_t sec_s[32] = "server application traffic sec";

/* srv reads the client's secret and writes the server's; cli the reverse. */
static void pair(struct ur_tls_rec **srv, struct ur_tls_rec **cli, size_t key_n)
{
    cr_assert_eq(ur_tls_rec_new(srv, key_n, sec_c, sec_s, 32, 0, 3), 0);
    cr_assert_eq(ur_tls_rec_new(cli, key_n, sec_s, sec_c, 32, 3, 0), 0);
}

static uint8_t rec[UR_TLS_REC_HDR + UR_TLS_REC_CIPHER_MAX];

static size_t seal(struct ur_tls_rec *r, const void *p, size_t n, int type)
{
    memcpy(rec + UR_TLS_REC_HDR, p, n);
    return ur_tls_rec_seal(r, rec, n, type);
}

static int open_(struct ur_tls_rec *r, size_t n, size_t *pt_n, int *type)
{
    return ur_tls_rec_open(r, rec, n, rec + UR_TLS_REC_HDR, pt_n, type);
}

Test(tls_rec, round_trip_both_ways_and_sizes)
{
    static uint8_t msg[UR_TLS_REC_PLAIN_MAX];
    struct ur_tls_rec *srv, *cli;
    size_t sizes[] = {0, 1, 15, 16, 17, 1000, UR_TLS_REC_PLAIN_MAX}, pt_n, n;
    int type;

    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 31 + 7);
    for (size_t key_n = 16; key_n <= 32; key_n += 16) {
        pair(&srv, &cli, key_n);
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            n = seal(srv, msg, sizes[i], UR_TLS_CT_APP);
            cr_assert_eq(n, UR_TLS_REC_HDR + sizes[i] + UR_TLS_REC_TAIL);
            cr_assert_eq(rec[0], UR_TLS_CT_APP);
            cr_assert_eq(ur_tls_rec_length(rec), (long)n);
            cr_assert_eq(open_(cli, n, &pt_n, &type), 0, "size %zu", sizes[i]);
            cr_assert_eq(pt_n, sizes[i]);
            cr_assert_eq(type, UR_TLS_CT_APP);
            cr_assert_eq(memcmp(rec + UR_TLS_REC_HDR, msg, pt_n), 0);
            /* and back */
            n = seal(cli, msg, sizes[i], UR_TLS_CT_ALERT);
            cr_assert_eq(open_(srv, n, &pt_n, &type), 0);
            cr_assert_eq(type, UR_TLS_CT_ALERT);
            cr_assert_eq(memcmp(rec + UR_TLS_REC_HDR, msg, pt_n), 0);
        }
        /* A record of a direction is not one of the other. */
        n = seal(srv, msg, 100, UR_TLS_CT_APP);
        cr_assert_eq(open_(srv, n, &pt_n, &type), -UR_TLS_ALERT_BAD_MAC);
        ur_tls_rec_free(srv);
        ur_tls_rec_free(cli);
    }
}

/* A record sealed from pieces (the send queue's buffers, split anywhere)
 * is byte for byte the record sealed from one buffer. */
Test(tls_rec, gathered_seal_equals_one_piece)
{
    static uint8_t msg[UR_TLS_REC_PLAIN_MAX], one[sizeof(rec)], many[sizeof(rec)];
    size_t cuts[][4] = {{0, 0, 0, 0}, {1, 2, 3, 4}, {15, 16, 17, 100},
                        {5000, 11, 7000, 1}, {16384, 0, 0, 0}};
    struct ur_tls_rec *a, *b, *cli_a, *cli_b;
    size_t pt_n, n1, n2;
    int type;

    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 131 + 3);
    pair(&a, &cli_a, 16);
    pair(&b, &cli_b, 16);
    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        size_t total = 0, off = 0;
        for (int k = 0; k < 4; k++)
            total += cuts[c][k];
        memcpy(one + UR_TLS_REC_HDR, msg, total);
        n1 = ur_tls_rec_seal(a, one, total, UR_TLS_CT_APP);
        cr_assert_eq(ur_tls_rec_seal_begin(b, many, total), 0);
        for (int k = 0; k < 4; k++) {
            cr_assert_eq(ur_tls_rec_seal_more(b, many + UR_TLS_REC_HDR + off, msg + off,
                                              cuts[c][k]), 0);
            off += cuts[c][k];
        }
        n2 = ur_tls_rec_seal_end(b, many, total, UR_TLS_CT_APP);
        cr_assert_eq(n1, n2);
        cr_assert_eq(memcmp(one, many, n1), 0, "cut %zu differs", c);
        memcpy(rec, many, n2);
        cr_assert_eq(open_(cli_b, n2, &pt_n, &type), 0);
        cr_assert_eq(pt_n, total);
        cr_assert_eq(memcmp(rec + UR_TLS_REC_HDR, msg, total), 0);
    }
    ur_tls_rec_free(a);
    ur_tls_rec_free(b);
    ur_tls_rec_free(cli_a);
    ur_tls_rec_free(cli_b);
}

Test(tls_rec, changed_replayed_or_reordered_records_are_refused)
{
    struct ur_tls_rec *srv, *cli;
    uint8_t a[200], b[200];
    size_t na, nb, pt_n;
    int type;

    pair(&srv, &cli, 16);
    na = seal(srv, "first", 5, UR_TLS_CT_APP);
    memcpy(a, rec, na);
    nb = seal(srv, "second", 6, UR_TLS_CT_APP);
    memcpy(b, rec, nb);
    /* every byte matters: header (additional data), body and tag */
    for (size_t i = 0; i < na; i++) {
        if (i == 0 || i == 3 || i == 4)
            continue; /* type and length are refused before the MAC: below */
        memcpy(rec, a, na);
        rec[i] ^= 0x40;
        cr_assert_eq(open_(cli, na, &pt_n, &type), -UR_TLS_ALERT_BAD_MAC, "byte %zu", i);
    }
    /* out of order: the second record first */
    memcpy(rec, b, nb);
    cr_assert_eq(open_(cli, nb, &pt_n, &type), -UR_TLS_ALERT_BAD_MAC);
    memcpy(rec, a, na);
    cr_assert_eq(open_(cli, na, &pt_n, &type), 0);
    cr_assert_eq(pt_n, 5);
    /* replayed */
    memcpy(rec, a, na);
    cr_assert_eq(open_(cli, na, &pt_n, &type), -UR_TLS_ALERT_BAD_MAC);
    ur_tls_rec_free(srv);
    ur_tls_rec_free(cli);
}

Test(tls_rec, headers_padding_and_lengths)
{
    struct ur_tls_rec *srv, *cli;
    uint8_t zeros[40] = {0};
    size_t n, pt_n;
    int type;

    rec[0] = UR_TLS_CT_HANDSHAKE, rec[1] = 3, rec[2] = 3, rec[3] = 0, rec[4] = 40;
    cr_assert_eq(ur_tls_rec_length(rec), -UR_TLS_ALERT_UNEXPECTED);
    rec[0] = 20; /* change_cipher_spec after the handshake */
    cr_assert_eq(ur_tls_rec_length(rec), -UR_TLS_ALERT_UNEXPECTED);
    rec[0] = UR_TLS_CT_APP, rec[3] = (16384 + 257) >> 8, rec[4] = (16384 + 257) & 0xff;
    cr_assert_eq(ur_tls_rec_length(rec), -UR_TLS_ALERT_OVERFLOW);
    rec[3] = (16384 + 256) >> 8, rec[4] = (16384 + 256) & 0xff;
    cr_assert_eq(ur_tls_rec_length(rec), 5 + 16384 + 256);
    rec[3] = 0, rec[4] = 16; /* a tag and no content type */
    cr_assert_eq(ur_tls_rec_length(rec), -UR_TLS_ALERT_DECODE);

    pair(&srv, &cli, 16);
    /* Padding: "hi", type 23, then zeros is sealed as content "hi\x17\0..."
     * with type 0 -- the last non-zero byte is the type. */
    memcpy(rec + UR_TLS_REC_HDR, "hi\x17", 3);
    memset(rec + UR_TLS_REC_HDR + 3, 0, 20);
    n = ur_tls_rec_seal(srv, rec, 23, 0);
    cr_assert_eq(open_(cli, n, &pt_n, &type), 0);
    cr_assert_eq(type, UR_TLS_CT_APP);
    cr_assert_eq(pt_n, 2);
    cr_assert_eq(memcmp(rec + UR_TLS_REC_HDR, "hi", 2), 0);
    /* all zeros: no content type */
    n = seal(srv, zeros, sizeof(zeros) - 1, 0);
    cr_assert_eq(open_(cli, n, &pt_n, &type), -UR_TLS_ALERT_UNEXPECTED);
    /* a length that is not the record's */
    n = seal(srv, "x", 1, UR_TLS_CT_APP);
    cr_assert_eq(open_(cli, n - 1, &pt_n, &type), -UR_TLS_ALERT_DECODE);
    /* more than 2^14 + 1 inner bytes (padding included) */
    static uint8_t big[UR_TLS_REC_PLAIN_MAX + 2];
    memset(big, 'a', sizeof(big));
    cr_assert_eq(ur_tls_rec_seal(srv, rec, sizeof(big), UR_TLS_CT_APP), 0,
                 "sealed past 2^14");
    ur_tls_rec_free(srv);
    ur_tls_rec_free(cli);
}

Test(tls_rec, key_update_moves_one_direction)
{
    struct ur_tls_rec *srv, *cli;
    size_t n, pt_n;
    int type;

    pair(&srv, &cli, 32);
    cr_assert_eq(ur_tls_rec_update(srv, 1), 0); /* the server's write key */
    n = seal(srv, "after", 5, UR_TLS_CT_APP);
    cr_assert_eq(open_(cli, n, &pt_n, &type), -UR_TLS_ALERT_BAD_MAC, "old key opened it");
    cr_assert_eq(ur_tls_rec_update(cli, 0), 0);
    n = seal(srv, "after", 5, UR_TLS_CT_APP); /* seq 1 of the new key */
    cr_assert_eq(open_(cli, n, &pt_n, &type), -UR_TLS_ALERT_BAD_MAC, "sequence not reset");
    ur_tls_rec_free(srv);
    ur_tls_rec_free(cli);
    pair(&srv, &cli, 32);
    cr_assert_eq(ur_tls_rec_update(srv, 1), 0);
    cr_assert_eq(ur_tls_rec_update(cli, 0), 0);
    n = seal(srv, "after", 5, UR_TLS_CT_APP);
    cr_assert_eq(open_(cli, n, &pt_n, &type), 0);
    cr_assert_eq(memcmp(rec + UR_TLS_REC_HDR, "after", 5), 0);
    /* the other direction is unchanged */
    n = seal(cli, "back", 4, UR_TLS_CT_APP);
    cr_assert_eq(open_(srv, n, &pt_n, &type), 0);
    ur_tls_rec_free(srv);
    ur_tls_rec_free(cli);
}

#else

/* Without the secrets (Debian's libwolfssl), wolfSSL keeps the records and
 * the gateway says so. */
Test(tls_rec, not_claimed_without_the_secrets)
{
    char line[512];

    cr_assert_eq(ur_tls_own_records(), 0);
    cr_assert_not_null(strstr(ur_tls_describe(line, sizeof(line)), "records (server side): wolfSSL"));
}

#endif
