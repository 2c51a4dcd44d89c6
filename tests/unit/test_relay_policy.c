/*
 * test_relay_policy.c: the destination policy (gateway/relay/relay_policy.h) --
 * parsing of CIDR and port lists, IPv4 / IPv6 / IPv4-mapped matching, the
 * built-in denials, our own ports, and the order of the rules.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "gateway/daemon/config.h"
#include "gateway/relay/relay_policy.h"

static struct gw_dest_policy pol;

static void init(const char *allow, const char *deny, const char *ports)
{
    char err[256] = "";
    cr_assert_eq(gw_policy_init(&pol, allow, deny, ports, err, sizeof(err)), 0, "%s", err);
}

/* The verdict for "addr" (v4 or v6 text) and port. */
static enum gw_dest_verdict check(const char *addr, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
    } else {
        cr_assert_eq(inet_pton(AF_INET6, addr, &a6->sin6_addr), 1, "%s", addr);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
    }
    return gw_policy_check(&pol, (struct sockaddr *)&ss);
}

Test(relay_policy, parse_cidrs)
{
    struct gw_cidr c[4];
    unsigned n;
    char err[128];
    cr_assert_eq(gw_policy_parse_cidrs("10.0.0.0/8, 2001:db8::/32  192.0.2.1", c, 4, &n, err,
                                       sizeof(err)), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(c[0].bits, 96 + 8);
    cr_assert_eq(c[0].a[10], 0xff, "IPv4 is kept IPv4-mapped");
    cr_assert_eq(c[0].a[12], 10);
    cr_assert_eq(c[1].bits, 32);
    cr_assert_eq(c[2].bits, 128, "no prefix length: one address");
    /* Host bits are cleared: 10.1.2.3/8 is 10.0.0.0/8. */
    cr_assert_eq(gw_policy_parse_cidrs("10.1.2.3/8", c, 4, &n, err, sizeof(err)), 0);
    cr_assert_eq(c[0].a[13], 0);
    cr_assert_eq(c[0].a[15], 0);
    cr_assert_eq(gw_policy_parse_cidrs("", c, 4, &n, err, sizeof(err)), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(gw_policy_parse_cidrs(NULL, c, 4, &n, err, sizeof(err)), 0);
    static const char *const bad[] = {
        "10.0.0.0/33", "::1/129", "example.com", "10.0.0.0/", "10.0.0.0/-1", "10.0.0/8",
        "1.2.3.4/8x", "[::1]", "/8",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        cr_assert_eq(gw_policy_parse_cidrs(bad[i], c, 4, &n, err, sizeof(err)), -EINVAL, "%s",
                     bad[i]);
        cr_assert(strstr(err, "not an address"), "%s: %s", bad[i], err);
    }
    cr_assert_eq(gw_policy_parse_cidrs("1.1.1.1 2.2.2.2 3.3.3.3", c, 2, &n, err, sizeof(err)),
                 -EINVAL, "more than cap");
}

Test(relay_policy, parse_ports)
{
    struct gw_port_range r[4];
    unsigned n;
    char err[128];
    cr_assert_eq(gw_policy_parse_ports("2855, 5060-5070 65535", r, 4, &n, err, sizeof(err)), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(r[0].lo, 2855);
    cr_assert_eq(r[0].hi, 2855);
    cr_assert_eq(r[1].lo, 5060);
    cr_assert_eq(r[1].hi, 5070);
    cr_assert_eq(r[2].lo, 65535);
    static const char *const bad[] = { "0", "65536", "10-5", "-5", "5-", "a", "1-2-3", "123456" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(gw_policy_parse_ports(bad[i], r, 4, &n, err, sizeof(err)), -EINVAL, "%s",
                     bad[i]);
}

Test(relay_policy, init_names_the_key)
{
    char err[256];
    cr_assert_eq(gw_policy_init(&pol, "nope", "", "", err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "destinations_allow"), "%s", err);
    cr_assert_eq(gw_policy_init(&pol, "", "1.2.3.4/40", "", err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "destinations_deny"), "%s", err);
    cr_assert_eq(gw_policy_init(&pol, "", "", "99999", err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "destination_ports"), "%s", err);
}

Test(relay_policy, defaults_deny_loopback_unspecified_link_local)
{
    init("", "", "");
    cr_assert_eq(check("127.0.0.1", 80), GW_DEST_ADDR);
    cr_assert_eq(check("127.255.0.9", 6379), GW_DEST_ADDR);
    cr_assert_eq(check("::1", 80), GW_DEST_ADDR);
    cr_assert_eq(check("0.0.0.0", 80), GW_DEST_ADDR);
    cr_assert_eq(check("::", 80), GW_DEST_ADDR);
    cr_assert_eq(check("169.254.169.254", 80), GW_DEST_ADDR, "cloud metadata");
    cr_assert_eq(check("fe80::1", 80), GW_DEST_ADDR);
    /* IPv4-mapped IPv6 is the IPv4 address. */
    cr_assert_eq(check("::ffff:127.0.0.1", 80), GW_DEST_ADDR);
    cr_assert_eq(check("::ffff:169.254.1.1", 80), GW_DEST_ADDR);
    /* Anything else is allowed by default. */
    cr_assert_eq(check("192.0.2.10", 2855), GW_DEST_OK);
    cr_assert_eq(check("2001:db8::5", 2855), GW_DEST_OK);
    cr_assert_eq(check("::ffff:192.0.2.10", 2855), GW_DEST_OK);
    cr_assert_eq(check("128.0.0.1", 2855), GW_DEST_OK, "just outside 127/8");
    cr_assert_eq(check("192.0.2.10", 0), GW_DEST_PORT, "port 0 never");
}

Test(relay_policy, allow_opens_builtin_and_wins_over_deny)
{
    init("127.0.0.1/32, ::1", "192.0.2.0/24", "");
    cr_assert_eq(check("127.0.0.1", 9999), GW_DEST_OK);
    cr_assert_eq(check("::ffff:127.0.0.1", 9999), GW_DEST_OK, "mapped form of an allowed v4");
    cr_assert_eq(check("::1", 9999), GW_DEST_OK);
    cr_assert_eq(check("127.0.0.2", 9999), GW_DEST_ADDR, "only what is allowed");
    cr_assert_eq(check("192.0.2.200", 2855), GW_DEST_ADDR);
    cr_assert_eq(check("192.0.3.1", 2855), GW_DEST_OK);
    init("192.0.2.7", "192.0.2.0/24", "");
    cr_assert_eq(check("192.0.2.7", 2855), GW_DEST_OK, "allow before deny");
    cr_assert_eq(check("192.0.2.8", 2855), GW_DEST_ADDR);
}

Test(relay_policy, allow_list_only)
{
    init("198.51.100.0/24, 2001:db8:1::/48", "0.0.0.0/0, ::/0", "");
    cr_assert_eq(check("198.51.100.9", 2855), GW_DEST_OK);
    cr_assert_eq(check("2001:db8:1:2::1", 2855), GW_DEST_OK);
    cr_assert_eq(check("2001:db8:2::1", 2855), GW_DEST_ADDR);
    cr_assert_eq(check("8.8.8.8", 2855), GW_DEST_ADDR);
    cr_assert_eq(check("::ffff:8.8.8.8", 2855), GW_DEST_ADDR);
}

Test(relay_policy, odd_prefix_lengths)
{
    init("", "10.128.0.0/9, 2001:db8:8000::/33", "");
    cr_assert_eq(check("10.128.0.1", 1), GW_DEST_ADDR);
    cr_assert_eq(check("10.255.255.255", 1), GW_DEST_ADDR);
    cr_assert_eq(check("10.127.255.255", 1), GW_DEST_OK);
    cr_assert_eq(check("2001:db8:8000::1", 1), GW_DEST_ADDR);
    cr_assert_eq(check("2001:db8:7fff::1", 1), GW_DEST_OK);
}

Test(relay_policy, ports)
{
    init("", "", "2855, 3000-3999");
    cr_assert_eq(check("192.0.2.1", 2855), GW_DEST_OK);
    cr_assert_eq(check("192.0.2.1", 3000), GW_DEST_OK);
    cr_assert_eq(check("192.0.2.1", 3999), GW_DEST_OK);
    cr_assert_eq(check("192.0.2.1", 4000), GW_DEST_PORT);
    cr_assert_eq(check("192.0.2.1", 22), GW_DEST_PORT);
    /* The port rule comes first: an allowed address does not help. */
    init("192.0.2.1", "", "2855");
    cr_assert_eq(check("192.0.2.1", 22), GW_DEST_PORT);
}

Test(relay_policy, own_ports_on_own_addresses)
{
    init("127.0.0.0/8, ::1", "", "");
    gw_policy_add_self_port(&pol, 2855);
    gw_policy_add_self_port(&pol, 9100);
    gw_policy_add_self_port(&pol, 9100); /* once */
    cr_assert_eq(pol.n_self_ports, 2);
    struct sockaddr_in me = { .sin_family = AF_INET };
    inet_pton(AF_INET, "203.0.113.5", &me.sin_addr);
    gw_policy_add_local(&pol, (struct sockaddr *)&me);
    /* Even with loopback allowed, our own ports there are not. */
    cr_assert_eq(check("127.0.0.1", 2855), GW_DEST_SELF);
    cr_assert_eq(check("::1", 9100), GW_DEST_SELF);
    cr_assert_eq(check("::ffff:127.0.0.1", 9100), GW_DEST_SELF);
    cr_assert_eq(check("0.0.0.0", 2855), GW_DEST_SELF);
    cr_assert_eq(check("203.0.113.5", 2855), GW_DEST_SELF, "this host's address");
    cr_assert_eq(check("::ffff:203.0.113.5", 2855), GW_DEST_SELF);
    cr_assert_eq(check("127.0.0.1", 2856), GW_DEST_OK);
    /* Another host on the standard port is someone else's relay. */
    cr_assert_eq(check("203.0.113.6", 2855), GW_DEST_OK);
}

Test(relay_policy, other_families_denied)
{
    init("", "", "");
    struct sockaddr sa = { .sa_family = AF_UNIX };
    cr_assert_eq(gw_policy_check(&pol, &sa), GW_DEST_ADDR);
    cr_assert_str_neq(gw_policy_verdict_name(GW_DEST_ADDR), "?");
}

/* The config loader checks the lists (gw_config_validate) and names the key. */
Test(relay_policy, config_keys_checked_at_load)
{
    struct gw_config c;
    char err[512] = "";
    const char *ok = "[gateway]\nuser = a:b\ndestinations_allow = 127.0.0.1/32, ::1\n"
                     "destinations_deny = 10.0.0.0/8\ndestination_ports = 2855, 3000-3999\n";
    cr_assert_eq(gw_config_load_string(&c, ok, "t.ini", err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(c.destinations_allow, "127.0.0.1/32, ::1");
    cr_assert_str_eq(c.destination_ports, "2855, 3000-3999");
    gw_config_free(&c);
    const char *bad = "[gateway]\nuser = a:b\ndestinations_deny = 10.0.0.0/33\n";
    cr_assert_eq(gw_config_load_string(&c, bad, "t.ini", err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "destinations_deny") && strstr(err, "10.0.0.0/33"), "%s", err);
    gw_config_free(&c);
    /* The built-in configuration denies loopback: nothing set. */
    cr_assert_eq(gw_config_defaults(&c), 0);
    cr_assert_str_eq(c.destinations_allow, "");
    gw_config_free(&c);
}
