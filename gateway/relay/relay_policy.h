/*
 * relay_policy.h: where the relay may open connections (the destination
 * policy against SSRF: an AUTHed user names any host:port after our URI
 * in To-Path, and the relay would connect there and write that user's
 * bytes). Pure: parsing and matching only, no I/O; the relay checks every
 * address it is about to connect to (numeric hosts before dialling, each
 * resolved address of a name in the connect path). Unit tests:
 * tests/unit/test_relay_policy.c.
 *
 * Verdict for address A, port P (first match wins):
 *   1. P is 0, or destination_ports is set and does not list P: denied;
 *   2. P is one of our own listening ports (MSRP, metrics, ng) and A is
 *      loopback, unspecified or an address of this host: denied, always
 *      (a relay loop or a poke at our own metrics endpoint);
 *   3. A is in destinations_allow: allowed;
 *   4. A is in destinations_deny or in the built-in ranges -- loopback
 *      127.0.0.0/8 and ::1, unspecified 0.0.0.0/8 and ::, link-local
 *      169.254.0.0/16 (cloud metadata services) and fe80::/10: denied;
 *   5. otherwise allowed.
 * So the built-in ranges are opened only by destinations_allow, and an
 * allow-list-only policy is destinations_deny = 0.0.0.0/0, ::/0 plus the
 * allowed ranges. IPv4 is matched in its IPv4-mapped IPv6 form
 * (::ffff:a.b.c.d), so ::ffff:127.0.0.1 is loopback like 127.0.0.1.
 */
#ifndef GW_RELAY_POLICY_H
#define GW_RELAY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define GW_POLICY_CIDR_MAX 64
#define GW_POLICY_PORTS_MAX 64
#define GW_POLICY_SELF_PORTS_MAX 40
#define GW_POLICY_LOCAL_MAX 64

/* An IPv6 prefix; IPv4 as IPv4-mapped (bits counted from the v6 address). */
struct gw_cidr {
    uint8_t a[16];
    uint8_t bits;
};

struct gw_port_range {
    uint16_t lo, hi;
};

struct gw_dest_policy {
    struct gw_cidr allow[GW_POLICY_CIDR_MAX];
    unsigned n_allow;
    struct gw_cidr deny[GW_POLICY_CIDR_MAX];
    unsigned n_deny;
    struct gw_port_range ports[GW_POLICY_PORTS_MAX];
    unsigned n_ports;           /* 0 = every port but 0 */
    uint16_t self_ports[GW_POLICY_SELF_PORTS_MAX];
    unsigned n_self_ports;
    struct gw_cidr local[GW_POLICY_LOCAL_MAX]; /* this host's addresses */
    unsigned n_local;
};

enum gw_dest_verdict {
    GW_DEST_OK,
    GW_DEST_PORT,      /* port not allowed */
    GW_DEST_SELF,      /* one of our own listeners */
    GW_DEST_ADDR,      /* address denied */
};

/* "10.0.0.0/8, 2001:db8::/32 192.0.2.1" (commas and/or blanks; no prefix
 * length = one address) into out[0..cap). 0, or -EINVAL with a message. */
int gw_policy_parse_cidrs(const char *text, struct gw_cidr *out, unsigned cap, unsigned *n,
                          char *err, size_t errlen);
/* "2855, 5060-5070" into out[0..cap). 0, or -EINVAL with a message. */
int gw_policy_parse_ports(const char *text, struct gw_port_range *out, unsigned cap,
                          unsigned *n, char *err, size_t errlen);
/* A policy from the three config values (empty = none / every port). */
int gw_policy_init(struct gw_dest_policy *p, const char *allow, const char *deny,
                   const char *ports, char *err, size_t errlen);
/* Our own listening port / an address of this host (ignored when full). */
void gw_policy_add_self_port(struct gw_dest_policy *p, uint16_t port);
void gw_policy_add_local(struct gw_dest_policy *p, const struct sockaddr *sa);

/* The verdict for a 16-byte address (IPv4-mapped for IPv4) and port. */
enum gw_dest_verdict gw_policy_check_ip(const struct gw_dest_policy *p, const uint8_t a[16],
                                        uint16_t port);
/* The same for an AF_INET / AF_INET6 socket address (port included);
 * other families are denied. */
enum gw_dest_verdict gw_policy_check(const struct gw_dest_policy *p, const struct sockaddr *sa);
const char *gw_policy_verdict_name(enum gw_dest_verdict v);

#endif
