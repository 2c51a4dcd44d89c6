/*
 * relay_policy.c: the destination policy (relay_policy.h) -- CIDR and port
 * lists, parsed once at start, matched for every address the relay is
 * about to connect to. Pure: no I/O, no state of its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/common/errmsg.h"
#include "gateway/relay/relay_policy.h"

/* IPv4-mapped IPv6 (RFC 4291 section 2.5.5.2): ::ffff:a.b.c.d */
static void map_v4(uint8_t out[16], const uint8_t v4[4])
{
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, v4, 4);
}

/* The ranges every policy denies unless destinations_allow opens them. */
static const char *const builtin_deny[] = {
    "127.0.0.0/8", "::1/128", "0.0.0.0/8", "::/128", "169.254.0.0/16", "fe80::/10",
};

static bool prefix_match(const struct gw_cidr *c, const uint8_t a[16])
{
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->a, a, full) != 0)
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (c->a[full] & mask) == (a[full] & mask);
}

static bool in_list(const struct gw_cidr *list, unsigned n, const uint8_t a[16])
{
    for (unsigned i = 0; i < n; i++)
        if (prefix_match(&list[i], a))
            return true;
    return false;
}

/* One "addr" or "addr/bits" of len n; canonical (host bits cleared). */
static int parse_cidr(const char *s, size_t n, struct gw_cidr *out)
{
    char buf[INET6_ADDRSTRLEN + 8];
    if (n == 0 || n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *slash = strchr(buf, '/');
    long bits = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        if (!slash[1] || slash[1] == '-' || slash[1] == '+')
            return -EINVAL;
        bits = strtol(slash + 1, &end, 10);
        if (*end)
            return -EINVAL;
    }
    uint8_t v4[4];
    if (inet_pton(AF_INET, buf, v4) == 1) {
        if (bits > 32)
            return -EINVAL;
        map_v4(out->a, v4);
        out->bits = (uint8_t)(96 + (bits < 0 ? 32 : bits));
    } else if (inet_pton(AF_INET6, buf, out->a) == 1) {
        if (bits > 128)
            return -EINVAL;
        out->bits = (uint8_t)(bits < 0 ? 128 : bits);
    } else {
        return -EINVAL;
    }
    for (unsigned b = out->bits; b < 128; b++)
        out->a[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
    return 0;
}

static bool is_sep(char c)
{
    return c == ',' || c == ' ' || c == '\t';
}

/* The next item of a separated list at *p: its start and length, *p moved
 * past it; false at the end. */
static bool next_item(const char **p, const char **item, size_t *len)
{
    while (is_sep(**p))
        (*p)++;
    if (!**p)
        return false;
    *item = *p;
    while (**p && !is_sep(**p))
        (*p)++;
    *len = (size_t)(*p - *item);
    return true;
}

int gw_policy_parse_cidrs(const char *text, struct gw_cidr *out, unsigned cap, unsigned *n,
                          char *err, size_t errlen)
{
    *n = 0;
    const char *p = text ? text : "", *s;
    size_t len;
    while (next_item(&p, &s, &len)) {
        if (*n == cap) {
            gw_seterr(err, errlen, "more than %u address ranges", cap);
            return -EINVAL;
        }
        if (parse_cidr(s, len, &out[*n]) < 0) {
            gw_seterr(err, errlen, "'%.*s' is not an address or address/prefix-length",
                      (int)len, s);
            return -EINVAL;
        }
        (*n)++;
    }
    return 0;
}

static int parse_port(const char *s, size_t n, uint16_t *out)
{
    unsigned long v = 0;
    if (n == 0 || n > 5)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

int gw_policy_parse_ports(const char *text, struct gw_port_range *out, unsigned cap,
                          unsigned *n, char *err, size_t errlen)
{
    *n = 0;
    const char *p = text ? text : "", *s;
    size_t len;
    while (next_item(&p, &s, &len)) {
        const char *dash = memchr(s, '-', len);
        struct gw_port_range r;
        int bad = dash ? parse_port(s, (size_t)(dash - s), &r.lo) < 0 ||
                             parse_port(dash + 1, (size_t)(s + len - dash - 1), &r.hi) < 0 || r.lo > r.hi
                       : parse_port(s, len, &r.lo) < 0;
        if (!dash)
            r.hi = r.lo;
        if (bad) {
            gw_seterr(err, errlen, "'%.*s' is not a port (1-65535) or a range LO-HI", (int)len, s);
            return -EINVAL;
        }
        if (*n == cap) {
            gw_seterr(err, errlen, "more than %u port ranges", cap);
            return -EINVAL;
        }
        out[(*n)++] = r;
    }
    return 0;
}

int gw_policy_init(struct gw_dest_policy *p, const char *allow, const char *deny,
                   const char *ports, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    char sub[200];
    if (gw_policy_parse_cidrs(allow, p->allow, GW_POLICY_CIDR_MAX, &p->n_allow, sub,
                              sizeof(sub)) < 0) {
        gw_seterr(err, errlen, "destinations_allow: %s", sub);
        return -EINVAL;
    }
    if (gw_policy_parse_cidrs(deny, p->deny, GW_POLICY_CIDR_MAX, &p->n_deny, sub,
                              sizeof(sub)) < 0) {
        gw_seterr(err, errlen, "destinations_deny: %s", sub);
        return -EINVAL;
    }
    if (gw_policy_parse_ports(ports, p->ports, GW_POLICY_PORTS_MAX, &p->n_ports, sub,
                              sizeof(sub)) < 0) {
        gw_seterr(err, errlen, "destination_ports: %s", sub);
        return -EINVAL;
    }
    return 0;
}

void gw_policy_add_self_port(struct gw_dest_policy *p, uint16_t port)
{
    for (unsigned i = 0; i < p->n_self_ports; i++)
        if (p->self_ports[i] == port)
            return;
    if (port && p->n_self_ports < GW_POLICY_SELF_PORTS_MAX)
        p->self_ports[p->n_self_ports++] = port;
}

/* sa's address as 16 bytes (IPv4 mapped) and its port; false: not IP. */
static bool sa_addr(const struct sockaddr *sa, uint8_t a[16], uint16_t *port)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        map_v4(a, (const uint8_t *)&s4->sin_addr);
        *port = ntohs(s4->sin_port);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        memcpy(a, &s6->sin6_addr, 16);
        *port = ntohs(s6->sin6_port);
        return true;
    }
    return false;
}

void gw_policy_add_local(struct gw_dest_policy *p, const struct sockaddr *sa)
{
    struct gw_cidr c = {.bits = 128};
    uint16_t port;
    if (p->n_local < GW_POLICY_LOCAL_MAX && sa_addr(sa, c.a, &port) &&
        !in_list(p->local, p->n_local, c.a))
        p->local[p->n_local++] = c;
}

static bool in_builtin(const uint8_t a[16])
{
    for (size_t i = 0; i < sizeof(builtin_deny) / sizeof(builtin_deny[0]); i++) {
        struct gw_cidr c;
        const char *t = builtin_deny[i];
        if (parse_cidr(t, strlen(t), &c) == 0 && prefix_match(&c, a))
            return true;
    }
    return false;
}

static bool port_listed(const struct gw_dest_policy *p, uint16_t port)
{
    for (unsigned i = 0; i < p->n_ports; i++)
        if (port >= p->ports[i].lo && port <= p->ports[i].hi)
            return true;
    return false;
}

static bool is_self_port(const struct gw_dest_policy *p, uint16_t port)
{
    for (unsigned i = 0; i < p->n_self_ports; i++)
        if (p->self_ports[i] == port)
            return true;
    return false;
}

enum gw_dest_verdict gw_policy_check_ip(const struct gw_dest_policy *p, const uint8_t a[16],
                                        uint16_t port)
{
    if (port == 0 || (p->n_ports && !port_listed(p, port)))
        return GW_DEST_PORT;
    if (is_self_port(p, port) && (in_builtin(a) || in_list(p->local, p->n_local, a)))
        return GW_DEST_SELF;
    if (in_list(p->allow, p->n_allow, a))
        return GW_DEST_OK;
    if (in_list(p->deny, p->n_deny, a) || in_builtin(a))
        return GW_DEST_ADDR;
    return GW_DEST_OK;
}

enum gw_dest_verdict gw_policy_check(const struct gw_dest_policy *p, const struct sockaddr *sa)
{
    uint8_t a[16];
    uint16_t port;
    if (!sa_addr(sa, a, &port))
        return GW_DEST_ADDR;
    return gw_policy_check_ip(p, a, port);
}

const char *gw_policy_verdict_name(enum gw_dest_verdict v)
{
    switch (v) {
    case GW_DEST_OK: return "allowed";
    case GW_DEST_PORT: return "port not in destination_ports";
    case GW_DEST_SELF: return "one of our own listeners";
    case GW_DEST_ADDR: return "address denied by destinations_deny or the built-in ranges";
    }
    return "?";
}
