/*
 * test_hep.c: the HEP3 encoder (gateway/relay/hep.h), byte for byte.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "gateway/relay/hep.h"

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

Test(hep, ipv4_packet_byte_for_byte)
{
    struct sockaddr_in s = v4("10.1.2.3", 2855), d = v4("192.0.2.9", 40000);
    struct gw_hep_packet p = {
        .src = (struct sockaddr *)&s, .dst = (struct sockaddr *)&d,
        .ts_us = 1700000000123456ull, .proto_type = 0x3d, .capture_id = 2001,
        .correlation = MSRP_SLICE_LIT("sess1"),
        .payload = { MSRP_SLICE_LIT("MSRP ab SEND\r\n"), MSRP_SLICE_LIT("X: y\r\n") },
    };
    static const uint8_t want[] = {
        'H', 'E', 'P', '3', 0x00, 0x82, /* 130 bytes */
        0, 0, 0, 1, 0, 7, 2,                      /* IPv4 */
        0, 0, 0, 2, 0, 7, 6,                      /* TCP */
        0, 0, 0, 3, 0, 10, 10, 1, 2, 3,           /* source address */
        0, 0, 0, 4, 0, 10, 192, 0, 2, 9,          /* destination address */
        0, 0, 0, 7, 0, 8, 0x0b, 0x27,             /* source port 2855 */
        0, 0, 0, 8, 0, 8, 0x9c, 0x40,             /* destination port 40000 */
        0, 0, 0, 9, 0, 10, 0x65, 0x53, 0xf1, 0x00, /* 1700000000 s */
        0, 0, 0, 10, 0, 10, 0x00, 0x01, 0xe2, 0x40, /* 123456 us */
        0, 0, 0, 11, 0, 7, 0x3d,                  /* protocol type */
        0, 0, 0, 12, 0, 10, 0, 0, 0x07, 0xd1,     /* capture id 2001 */
        0, 0, 0, 17, 0, 11, 's', 'e', 's', 's', '1', /* correlation id */
        0, 0, 0, 15, 0, 26,                       /* payload: 20 bytes */
        'M', 'S', 'R', 'P', ' ', 'a', 'b', ' ', 'S', 'E', 'N', 'D', '\r', '\n',
        'X', ':', ' ', 'y', '\r', '\n',
    };
    uint8_t buf[512];
    cr_assert_eq(sizeof(want), 130);
    int n = gw_hep_encode(buf, sizeof(buf), &p);
    cr_assert_eq(n, (int)sizeof(want));
    cr_assert_arr_eq(buf, want, sizeof(want));
    /* Exactly enough room works; one byte less does not. */
    cr_assert_eq(gw_hep_encode(buf, sizeof(want), &p), (int)sizeof(want));
    cr_assert_eq(gw_hep_encode(buf, sizeof(want) - 1, &p), -ENOSPC);
    cr_assert_eq(gw_hep_encode(buf, 0, &p), -ENOSPC);
}

Test(hep, ipv6_addresses_and_no_correlation)
{
    struct sockaddr_in6 s = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
    struct sockaddr_in6 d = { .sin6_family = AF_INET6, .sin6_port = htons(65535) };
    inet_pton(AF_INET6, "2001:db8::1", &s.sin6_addr);
    inet_pton(AF_INET6, "::1", &d.sin6_addr);
    struct gw_hep_packet p = {
        .src = (struct sockaddr *)&s, .dst = (struct sockaddr *)&d, .ts_us = 5,
        .payload = { MSRP_SLICE_LIT("h") },
    };
    uint8_t buf[256];
    int n = gw_hep_encode(buf, sizeof(buf), &p);
    /* 6 + family 7 + proto 7 + 2 x 22 + ports 2 x 8 + ts 2 x 10 + type 7
     * + id 10 + payload 7 */
    cr_assert_eq(n, 6 + 7 + 7 + 44 + 16 + 20 + 7 + 10 + 7);
    cr_assert_eq(buf[4] << 8 | buf[5], n);
    static const uint8_t fam[] = { 0, 0, 0, 1, 0, 7, 10 };
    cr_assert_arr_eq(buf + 6, fam, sizeof(fam));
    static const uint8_t src[] = { 0, 0, 0, 5, 0, 22, 0x20, 0x01, 0x0d, 0xb8 };
    cr_assert_arr_eq(buf + 20, src, sizeof(src));
    static const uint8_t dst_head[] = { 0, 0, 0, 6, 0, 22 };
    cr_assert_arr_eq(buf + 42, dst_head, sizeof(dst_head));
    cr_assert_eq(buf[42 + 6 + 15], 1);
    static const uint8_t ports[] = { 0, 0, 0, 7, 0, 8, 0, 1, 0, 0, 0, 8, 0, 8, 0xff, 0xff };
    cr_assert_arr_eq(buf + 64, ports, sizeof(ports));
    static const uint8_t tail[] = { 0, 0, 0, 15, 0, 7, 'h' };
    cr_assert_arr_eq(buf + n - 7, tail, sizeof(tail));
    cr_assert_eq(memchr(buf, 17, 0) == NULL, true);
}

Test(hep, families_must_match)
{
    struct sockaddr_in s = v4("10.0.0.1", 1);
    struct sockaddr_in6 d = { .sin6_family = AF_INET6 };
    struct sockaddr_un_like { sa_family_t f; } u = { AF_UNIX };
    struct gw_hep_packet p = { .src = (struct sockaddr *)&s, .dst = (struct sockaddr *)&d };
    uint8_t buf[256];
    cr_assert_eq(gw_hep_encode(buf, sizeof(buf), &p), -EAFNOSUPPORT);
    p.src = p.dst = (struct sockaddr *)&u;
    cr_assert_eq(gw_hep_encode(buf, sizeof(buf), &p), -EAFNOSUPPORT);
}

Test(hep, payload_over_a_chunk_length_is_refused)
{
    static char big[70000];
    struct sockaddr_in s = v4("10.0.0.1", 1), d = v4("10.0.0.2", 2);
    struct gw_hep_packet p = {
        .src = (struct sockaddr *)&s, .dst = (struct sockaddr *)&d,
        .payload = { { big, sizeof(big) } },
    };
    static uint8_t buf[80000];
    cr_assert_eq(gw_hep_encode(buf, sizeof(buf), &p), -ENOSPC);
}
