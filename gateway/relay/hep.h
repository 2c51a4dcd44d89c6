/*
 * hep.h: HEP3 (Homer Encapsulation Protocol version 3, the "EEP" of
 * sipcapture.org) encoding of one captured frame, for a Homer collector.
 * Pure: writes bytes into the caller's buffer, no I/O, no allocation.
 *
 * A HEP3 packet is "HEP3", its total length (uint16, network order), then
 * chunks: vendor id (uint16, 0 = generic), chunk type (uint16), chunk
 * length (uint16, its 6-byte header included), value. The packet written
 * here has, in this order: IP family (type 1, uint8: 2 = IPv4, 10 =
 * IPv6), IP protocol (2, uint8: 6 = TCP), source and destination address
 * (3 and 4 for IPv4, 5 and 6 for IPv6), source and destination port (7,
 * 8, uint16), timestamp seconds and microseconds (9, 10, uint32), protocol
 * type (11, uint8), capture agent id (12, uint32), the correlation id (17,
 * octets; omitted when empty) and the payload (15, octets). Integers are
 * big-endian. Unit tests: tests/unit/test_hep.c.
 */
#ifndef GW_HEP_H
#define GW_HEP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto/slice.h"

#define GW_HEP_MAX 65507 /* one UDP datagram over IPv4 */

struct gw_hep_packet {
    const struct sockaddr *src, *dst; /* AF_INET or AF_INET6, both the same */
    uint64_t ts_us;                   /* Unix time in microseconds */
    uint8_t proto_type;
    uint32_t capture_id;
    struct msrp_slice correlation;    /* e.g. the MSRP session id; may be empty */
    /* The payload in up to three parts, sent one after the other. */
    struct msrp_slice payload[3];
};

/* Writes p into buf[0..cap). Returns the length, -ENOSPC when cap (or
 * the 16-bit length field) is too small, -EAFNOSUPPORT for another
 * family or differing families. */
int gw_hep_encode(uint8_t *buf, size_t cap, const struct gw_hep_packet *p);

#endif
