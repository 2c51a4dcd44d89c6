/*
 * test_admin.c: what the admin commands render and whom they answer --
 * the metrics as JSON (the same series and values as the Prometheus text,
 * no byte past the buffer) and the loopback rule of the UDP control
 * socket.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/obs/metrics.h"
#include "gateway/ng/server.h"

static struct gw_metrics cores[2];

static void fill(void)
{
    memset(cores, 0, sizeof(cores));
    cores[0].chunks_in = 7;
    cores[1].chunks_in = 1234567890123ull;
    cores[1].drops[GW_DROP_IDLE_TIMEOUT] = 3;
    cores[0].resp_sent[GW_ST_200] = 42;
}

Test(admin, metrics_json_series)
{
    fill();
    static char buf[1 << 17];
    int n = gw_metrics_render_json(buf, sizeof(buf), cores, 2);
    cr_assert_gt(n, 0);
    cr_assert_eq(buf[0], '{');
    cr_assert_eq(buf[n - 2], '}');
    cr_assert_eq(buf[n - 1], '\n');
    cr_assert_not_null(strstr(buf, "\"msrpgw_chunks_in_total\":{\"type\":\"counter\",\"help\":"
                                   "\"SEND/REPORT chunks received.\",\"samples\":["
                                   "{\"core\":\"0\",\"value\":7},"
                                   "{\"core\":\"1\",\"value\":1234567890123}]}"),
                   "%s", buf);
    cr_assert_not_null(strstr(buf, "{\"core\":\"1\",\"reason\":\"idle_timeout\",\"value\":3}"));
    cr_assert_not_null(strstr(buf, "{\"core\":\"0\",\"code\":\"200\",\"value\":42}"));
    cr_assert_not_null(strstr(buf, "\"msrpgw_sessions_current\":{\"type\":\"gauge\""));
}

/* Every sample line of the text format has its twin in the JSON. */
Test(admin, metrics_json_matches_text)
{
    fill();
    static char text[1 << 17], json[1 << 17];
    cr_assert_gt(gw_metrics_render(text, sizeof(text), cores, 2), 0);
    cr_assert_gt(gw_metrics_render_json(json, sizeof(json), cores, 2), 0);
    unsigned samples = 0;
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
        if (l[0] == '#')
            continue;
        char name[128], labels[256], want[512];
        unsigned long long v;
        cr_assert_eq(sscanf(l, "%127[^{]{%255[^}]} %llu", name, labels, &v), 3, "%s", l);
        /* core="0",reason="x" -> "core":"0","reason":"x" */
        char jl[300];
        size_t k = 0;
        for (const char *p = labels; *p && k + 3 < sizeof(jl); p++) {
            if (*p == '=') {
                jl[k++] = '"';
                jl[k++] = ':';
                continue;
            }
            if (p == labels || p[-1] == ',')
                jl[k++] = '"';
            jl[k++] = *p;
        }
        jl[k] = '\0';
        snprintf(want, sizeof(want), "{%s,\"value\":%llu}", jl, v);
        cr_assert_not_null(strstr(json, want), "%s: no %s", name, want);
        samples++;
    }
    cr_assert_gt(samples, 100);
}

Test(admin, metrics_json_too_small)
{
    fill();
    static char buf[1 << 17];
    int n = gw_metrics_render_json(buf, sizeof(buf), cores, 2);
    cr_assert_gt(n, 0);
    memset(buf, 'Z', sizeof(buf));
    cr_assert_eq(gw_metrics_render_json(buf, (size_t)n, cores, 2), -ENOSPC);
    cr_assert_eq(buf[n], 'Z');
    cr_assert_eq(gw_metrics_render_json(buf, (size_t)n + 1, cores, 2), n);
}

static bool allowed4(const char *ip, bool remote)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5) };
    cr_assert_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return gw_ng_admin_allowed(&a, sizeof(a), remote);
}

static bool allowed6(const char *ip, bool remote)
{
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(5) };
    cr_assert_eq(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
    return gw_ng_admin_allowed(&a, sizeof(a), remote);
}

Test(admin, loopback_only_unless_configured)
{
    cr_assert(allowed4("127.0.0.1", false));
    cr_assert(allowed4("127.255.3.4", false));
    cr_assert_not(allowed4("128.0.0.1", false));
    cr_assert_not(allowed4("10.0.0.1", false));
    cr_assert_not(allowed4("0.0.0.0", false));
    cr_assert(allowed6("::1", false));
    cr_assert(allowed6("::ffff:127.0.0.1", false));
    cr_assert_not(allowed6("::ffff:10.0.0.1", false));
    cr_assert_not(allowed6("::2", false));
    cr_assert_not(allowed6("fe80::1", false));
    cr_assert(allowed4("10.0.0.1", true));
    cr_assert(allowed6("2001:db8::1", true));
    struct sockaddr_in a = { .sin_family = AF_INET };
    cr_assert_not(gw_ng_admin_allowed(&a, 4, false), "a short address is nobody's");
}
