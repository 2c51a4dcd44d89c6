/*
 * test_config.c: gateway/daemon/config.c -- built-in defaults, a complete file,
 * every class of error with its file:line message, repeatable keys, the
 * --check-config dump and the README reference table.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/daemon/config.h"

static char err[512];

static int load(struct gw_config *cfg, const char *text)
{
    err[0] = '\0';
    return gw_config_load_string(cfg, text, "t.conf", err, sizeof(err));
}

/* Captures a FILE* printer's output. */
static char *capture(void (*fn)(const struct gw_config *, FILE *), const struct gw_config *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    cr_assert_not_null(f);
    fn(cfg, f);
    fclose(f);
    return buf;
}

static void print_ref(const struct gw_config *cfg, FILE *f)
{
    (void)cfg;
    gw_config_print_reference(f);
}

Test(config, builtin_defaults)
{
    struct gw_config c;

    cr_assert_eq(gw_config_defaults(&c), 0);
    cr_assert_eq(c.threads, 0);
    cr_assert_eq(c.listen.n, 1);
    cr_assert_str_eq(c.listen.a[0].host, "127.0.0.1");
    cr_assert_eq(c.listen.a[0].port, 2855);
    cr_assert_eq(c.tls_listen.n, 0);
    cr_assert_str_eq(c.realm, "msrpgw");
    cr_assert_eq(c.n_users, 1);
    cr_assert_str_eq(c.users[0], "demo:demo");
    cr_assert_eq(c.expires_default, 600);
    cr_assert_eq(c.expires_min, 60);
    cr_assert_eq(c.expires_max, 3600);
    cr_assert_eq(c.nonce_lifetime, 300);
    cr_assert_eq(c.chunk_timeout, 30);
    cr_assert_eq(c.bind_timeout, 30);
    cr_assert_eq(c.chunk_stall_timeout, 10);
    cr_assert_eq(c.max_chunks_in_flight, 64);
    cr_assert_eq(c.header_timeout, 10);
    cr_assert_eq(c.max_chunk_out, 65536);
    cr_assert_eq(c.conn_mem_ceiling, 4u << 20);
    cr_assert_eq(c.conn_output_hard_limit, 16u << 20);
    cr_assert_eq(c.max_connections, 100000);
    cr_assert_eq(c.max_learned_uris, 4096);
    cr_assert_eq(c.connect_timeout, 5);
    cr_assert_eq(c.idle_timeout, 3600);
    cr_assert_eq(c.tls_insecure_outbound, false);
    cr_assert_str_eq(c.tls_ciphers, "");
    cr_assert_eq(c.metrics_listen.n, 0);
    cr_assert_eq(c.log_level, GW_LOG_INFO);
    cr_assert_eq(c.log_format, GW_LOG_TEXT);
    cr_assert_str_eq(c.log_file, "");
    cr_assert_str_eq(gw_config_relay_host(&c), "127.0.0.1");

    /* The [limits] defaults are the parser's own. */
    struct msrp_limits l;
    msrp_limits_default(&l);
    cr_assert_eq(memcmp(&l, &c.limits, sizeof(l)), 0);
    cr_assert_eq(gw_config_validate(&c, err, sizeof(err)), 0, "%s", err);
    gw_config_free(&c);
}

static const char full_conf[] =
    "# every setting\n"
    "[gateway]\n"
    "threads = 4\n"
    "listen = 192.0.2.10:2855, [2001:db8::1]:2856\n"
    "listen = 10.0.0.1:2857\n"
    "tls_listen = 0.0.0.0:2856\n"
    "tls_cert = /etc/msrpgw/cert.pem\n"
    "tls_key = /etc/msrpgw/key.pem\n"
    "tls_ca = /etc/ssl/certs/ca-certificates.crt\n"
    "tls_ciphers = TLS13-AES128-GCM-SHA256\n"
    "tls_insecure_outbound = yes\n"
    "relay_uri_host = relay.example.net\n"
    "realm = example.net\n"
    "user = alice:s3cr:et\n"
    "user = bob:ha1:0123456789ABCDEF0123456789abcdef\n"
    "  ; indented comment\r\n"
    "expires_default = 10m\n"
    "expires_min = 30s\n"
    "expires_max = 2h\n"
    "nonce_lifetime = 120\n"
    "chunk_timeout = 15\n"
    "bind_timeout = 20\n"
    "max_chunk_out = 10KiB\n"
    "conn_mem_ceiling = 8M\n"
    "conn_output_hard_limit = 1GiB\n"
    "max_connections = 5000\n"
    "connect_timeout = 3\n"
    "idle_timeout = 0\n"
    "\n"
    "[limits]\n"
    "max_header_bytes = 8192\n"
    "max_headers = 40\n"
    "max_path_uris = 4\n"
    "max_uri_len = 512\n"
    "max_tid_len = 24\n"
    "[metrics]\n"
    "listen = 127.0.0.1:9102\n"
    "[log]\n"
    "level = DEBUG\n"
    "format = json\n"
    "file = /var/log/msrpgw.log\n";

Test(config, full_file)
{
    struct gw_config c;

    cr_assert_eq(load(&c, full_conf), 0, "%s", err);
    cr_assert_eq(c.threads, 4);
    cr_assert_eq(c.listen.n, 3);
    cr_assert_str_eq(c.listen.a[0].host, "192.0.2.10");
    cr_assert_eq(c.listen.a[0].port, 2855);
    cr_assert_str_eq(c.listen.a[1].host, "2001:db8::1");
    cr_assert_eq(c.listen.a[1].port, 2856);
    cr_assert_str_eq(c.listen.a[2].host, "10.0.0.1");
    cr_assert_eq(c.listen.a[2].port, 2857);
    cr_assert_eq(c.tls_listen.n, 1);
    cr_assert_str_eq(c.tls_listen.a[0].host, "0.0.0.0");
    cr_assert_str_eq(c.tls_cert, "/etc/msrpgw/cert.pem");
    cr_assert_str_eq(c.tls_key, "/etc/msrpgw/key.pem");
    cr_assert_str_eq(c.tls_ca, "/etc/ssl/certs/ca-certificates.crt");
    cr_assert_eq(c.tls_insecure_outbound, true);
    cr_assert_str_eq(c.tls_ciphers, "TLS13-AES128-GCM-SHA256");
    cr_assert_str_eq(gw_config_relay_host(&c), "relay.example.net");
    cr_assert_str_eq(c.realm, "example.net");
    cr_assert_eq(c.n_users, 2);
    cr_assert_str_eq(c.users[0], "alice:s3cr:et");
    cr_assert_str_eq(c.users[1], "bob:ha1:0123456789ABCDEF0123456789abcdef");
    cr_assert_eq(c.expires_default, 600);
    cr_assert_eq(c.expires_min, 30);
    cr_assert_eq(c.expires_max, 7200);
    cr_assert_eq(c.nonce_lifetime, 120);
    cr_assert_eq(c.chunk_timeout, 15);
    cr_assert_eq(c.bind_timeout, 20);
    cr_assert_eq(c.max_chunk_out, 10240);
    cr_assert_eq(c.conn_mem_ceiling, 8u << 20);
    cr_assert_eq(c.conn_output_hard_limit, 1u << 30);
    cr_assert_eq(c.max_connections, 5000);
    cr_assert_eq(c.connect_timeout, 3);
    cr_assert_eq(c.idle_timeout, 0);
    cr_assert_eq(c.limits.max_header_bytes, 8192);
    cr_assert_eq(c.limits.max_headers, 40);
    cr_assert_eq(c.limits.max_path_uris, 4);
    cr_assert_eq(c.limits.max_uri_len, 512);
    cr_assert_eq(c.limits.max_tid_len, 24);
    cr_assert_eq(c.metrics_listen.n, 1);
    cr_assert_str_eq(c.metrics_listen.a[0].host, "127.0.0.1");
    cr_assert_eq(c.metrics_listen.a[0].port, 9102);
    cr_assert_eq(c.log_level, GW_LOG_DEBUG);
    cr_assert_eq(c.log_format, GW_LOG_JSON);
    cr_assert_str_eq(c.log_file, "/var/log/msrpgw.log");
    gw_config_free(&c);
}

/* The dump is a loadable config that reproduces the same settings. */
Test(config, dump_round_trip)
{
    struct gw_config c, d;
    char *text, *again;

    cr_assert_eq(load(&c, full_conf), 0, "%s", err);
    text = capture(gw_config_dump, &c);
    cr_assert(strstr(text, "[gateway]\nthreads = 4\n"), "%s", text);
    cr_assert(strstr(text, "listen = 192.0.2.10:2855, [2001:db8::1]:2856, 10.0.0.1:2857\n"));
    cr_assert(strstr(text, "user = alice:***\nuser = bob:***\n"));
    cr_assert(strstr(text, "conn_mem_ceiling = 8MiB\n"));
    cr_assert(strstr(text, "max_chunk_out = 10KiB\n"));
    cr_assert(strstr(text, "[log]\nlevel = debug\nformat = json\nfile = /var/log/msrpgw.log\n"));
    cr_assert_null(strstr(text, "s3cr"), "password leaked into the dump");

    /* Passwords are masked, so put real ones back to reload it. */
    char *fixed = malloc(strlen(text) + 64);
    char *p = strstr(text, "user = alice:***\nuser = bob:***\n");
    size_t head = (size_t)(p - text);
    memcpy(fixed, text, head);
    strcpy(fixed + head, "user = alice:x\nuser = bob:y\n");
    strcat(fixed, p + strlen("user = alice:***\nuser = bob:***\n"));
    cr_assert_eq(load(&d, fixed), 0, "%s\n%s", err, fixed);
    again = capture(gw_config_dump, &d);
    cr_assert_str_eq(again, text);
    free(fixed);
    free(text);
    free(again);
    gw_config_free(&c);
    gw_config_free(&d);
}

Test(config, file_drops_demo_user_and_default_listen)
{
    struct gw_config c;

    cr_assert_eq(load(&c, "[gateway]\nuser = carol:pw\nlisten = 127.0.0.1:0\n"), 0, "%s", err);
    cr_assert_eq(c.n_users, 1);
    cr_assert_str_eq(c.users[0], "carol:pw");
    cr_assert_eq(c.listen.n, 1, "the first listen line replaces the default");
    cr_assert_eq(c.listen.a[0].port, 0);
    gw_config_free(&c);

    /* A file naming no user has none: demo:demo is never inherited. */
    cr_assert_eq(load(&c, "[gateway]\nthreads = 1\n"), -EINVAL);
    cr_assert_str_eq(err, "t.conf: no users: set users_file or add user = name:password lines");
}

Test(config, repeated_user_lines)
{
    struct gw_config c;
    char text[64 * 1100];
    size_t n = 0;

    n += (size_t)sprintf(text + n, "[gateway]\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(text + n, "user = u%d:p%d\n", i, i);
    cr_assert_eq(load(&c, text), 0, "%s", err);
    cr_assert_eq(c.n_users, 100);
    cr_assert_str_eq(c.users[0], "u0:p0");
    cr_assert_str_eq(c.users[99], "u99:p99");
    gw_config_free(&c);

    /* Bounded: one line more than GW_CONFIG_USERS_MAX is refused. */
    n = (size_t)sprintf(text, "[gateway]\n");
    for (int i = 0; i <= GW_CONFIG_USERS_MAX; i++)
        n += (size_t)sprintf(text + n, "user = u%d:p\n", i);
    cr_assert_eq(load(&c, text), -EINVAL);
    cr_assert_str_eq(err, "t.conf:1026: more than 1024 user lines (use users_file)");
}

struct bad {
    const char *text;
    const char *msg;
};

static const struct bad bads[] = {
    {"[gateway]\nuser = a:b\nthreads = 4\nthread = 2\n",
     "t.conf:4: unknown key 'thread' in [gateway]"},
    {"[gateway]\nuser = a:b\n[limits]\nrealm = x\n", "t.conf:4: unknown key 'realm' in [limits]"},
    {"[gatway]\n", "t.conf:1: unknown section [gatway]"},
    {"threads = 1\n", "t.conf:1: 'threads' outside a [section]"},
    {"[gateway]\nthreads\n", "t.conf:2: expected key = value"},
    {"[gateway\n", "t.conf:1: bad section header"},
    {"[gateway]\nuser = a:b\nthreads = four\n", "t.conf:3: threads: invalid integer 'four'"},
    {"[gateway]\nuser = a:b\nthreads = 4 # comment\n",
     "t.conf:3: threads: invalid integer '4 # comment'"},
    {"[gateway]\nuser = a:b\nthreads = 2000\n", "t.conf:3: threads = 2000 out of range [0, 1024]"},
    {"[gateway]\nuser = a:b\nthreads = -1\n", "t.conf:3: threads: invalid integer '-1'"},
    {"[gateway]\nuser = a:b\nthreads = 99999999999999999999999\n",
     "t.conf:3: threads = 99999999999999999999999 out of range [0, 1024]"},
    {"[gateway]\nuser = a:b\nchunk_timeout = 0\n",
     "t.conf:3: chunk_timeout = 0 out of range [1, 3600]"},
    {"[gateway]\nuser = a:b\nchunk_timeout = 2h\n",
     "t.conf:3: chunk_timeout = 2h out of range [1, 3600]"},
    {"[gateway]\nuser = a:b\nconn_mem_ceiling = 4 MiB\n",
     "t.conf:3: conn_mem_ceiling: invalid bytes '4 MiB'"},
    {"[gateway]\nuser = a:b\nconn_mem_ceiling = 2GiB\n",
     "t.conf:3: conn_mem_ceiling = 2GiB out of range [65536, 1073741824]"},
    {"[gateway]\nuser = a:b\ntls_insecure_outbound = maybe\n",
     "t.conf:3: tls_insecure_outbound: invalid bool 'maybe' (true/false/yes/no/on/off/1/0)"},
    {"[gateway]\nuser = a:b\n[log]\nlevel = verbose\n", "t.conf:4: level: invalid value 'verbose'"},
    {"[gateway]\nuser = a:b\nlisten = localhost\n",
     "t.conf:3: bad address 'localhost' (want host:port, [v6]:port for IPv6)"},
    {"[gateway]\nuser = a:b\nlisten = ::1:2855\n",
     "t.conf:3: bad address '::1:2855' (want host:port, [v6]:port for IPv6)"},
    {"[gateway]\nuser = a:b\nlisten = 127.0.0.1:65536\n",
     "t.conf:3: bad port in '127.0.0.1:65536' (0..65535)"},
    {"[gateway]\nuser = a:b\n[metrics]\nlisten = 127.0.0.1:1, 127.0.0.1:2\n",
     "t.conf:4: listen: more than 1 address(es)"},
    {"[gateway]\nuser = a:b\nthreads = 1\nthreads = 2\n",
     "t.conf:4: 'threads' already set at line 3"},
    {"[gateway]\nuser = nopassword\n",
     "t.conf:2: expected name:password or name:ha1:<hex>"},
    {"[gateway]\nuser = bob:ha1:1234\n", "t.conf:2: ha1: wants 32 hex digits, got 4 bytes"},
    {"[limits]\nmax_headers = 65\n", "t.conf:2: max_headers = 65 out of range [4, 64]"},
    {"[limits]\nmax_tid_len = 3\n", "t.conf:2: max_tid_len = 3 out of range [4, 64]"},
    {"[gateway]\nuser = a:b\nrealm = \x01x\n", "t.conf:3: control character in line"},
    /* Cross-setting checks name the file, not a line. */
    {"[gateway]\nuser = a:b\nexpires_min = 700\n",
     "t.conf: expires_min (700) <= expires_default (600) <= expires_max (3600) does not hold"},
    {"[gateway]\nuser = a:b\ntls_listen = 127.0.0.1:2856\n",
     "t.conf: tls_listen needs tls_cert and tls_key"},
    {"[gateway]\nuser = a:b\nlisten =\n", "t.conf: nothing to listen on: set listen or tls_listen"},
    {"[gateway]\nuser = a:b\nwss_listen = 127.0.0.1:8443\n",
     "t.conf: wss_listen needs tls_cert and tls_key"},
    {"[gateway]\nuser = a:b\nlisten =\nws_listen = 127.0.0.1:8080\n",
     "t.conf: ws_listen/wss_listen need listen or tls_listen too: the Use-Path given to "
     "WebSocket clients names the TCP side"},
    {"[gateway]\nuser = a:b\nws_max_message = 100\n",
     "t.conf:3: ws_max_message = 100 out of range [1024, 1073741824]"},
    {"[gateway]\nuser = a:b\nlisten = 0.0.0.0:2855\n",
     "t.conf: listen host 0.0.0.0 is a wildcard: set relay_uri_host to the address peers reach"},
    {"[gateway]\nuser = a:b\nusers_file = /etc/users\n",
     "t.conf: users_file and user lines are exclusive: choose one"},
    {"[gateway]\nuser = a:b\nrealm = a\"b\n", "t.conf: realm must be non-empty, without '\"' or '\\'"},
};

Test(config, errors_name_file_line_and_bounds)
{
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        struct gw_config c;
        int rc = load(&c, bads[i].text);
        cr_expect_eq(rc, -EINVAL, "case %zu: rc %d", i, rc);
        cr_expect_str_eq(err, bads[i].msg, "case %zu", i);
    }
}

Test(config, long_line_refused)
{
    struct gw_config c;
    char *text = malloc(GW_CONFIG_LINE_MAX + 64);

    strcpy(text, "[gateway]\nrealm = ");
    memset(text + strlen(text), 'a', GW_CONFIG_LINE_MAX);
    text[18 + GW_CONFIG_LINE_MAX] = '\0';
    cr_assert_eq(load(&c, text), -EINVAL);
    cr_assert_str_eq(err, "t.conf:2: line longer than 4096 bytes");
    free(text);

    text = malloc(GW_CONFIG_STR_MAX + 64);
    strcpy(text, "[gateway]\nuser = a:b\nrealm = ");
    size_t at = strlen(text);
    memset(text + at, 'a', GW_CONFIG_STR_MAX);
    text[at + GW_CONFIG_STR_MAX] = '\0';
    cr_assert_eq(load(&c, text), -EINVAL);
    cr_assert_str_eq(err, "t.conf:3: realm: longer than 511 bytes");
    free(text);
}

Test(config, load_from_file)
{
    char path[] = "/tmp/msrpgw-test-config-XXXXXX";
    int fd = mkstemp(path);
    struct gw_config c;

    cr_assert_geq(fd, 0);
    const char text[] = "[gateway]\nuser = a:b\nthreads = 2\nbogus = 1\n";
    cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
    close(fd);
    cr_assert_eq(gw_config_load(&c, path, err, sizeof(err)), -EINVAL);
    char want[128];
    snprintf(want, sizeof(want), "%s:4: unknown key 'bogus' in [gateway]", path);
    cr_assert_str_eq(err, want);

    fd = open(path, O_WRONLY | O_TRUNC);
    cr_assert_eq(write(fd, text, 32), 32);  /* up to and with "threads = 2\n" */
    close(fd);
    cr_assert_eq(gw_config_load(&c, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.threads, 2);
    gw_config_free(&c);
    unlink(path);

    cr_assert_eq(gw_config_load(&c, path, err, sizeof(err)), -ENOENT);
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    cr_assert_str_eq(err, want);
}

/* Every key of the dump appears in the reference, and vice versa. */
Test(config, reference_lists_every_key)
{
    struct gw_config c;
    char *ref = capture(print_ref, NULL);
    char *dump;
    static const char *const keys[] = {
        "threads", "listen", "tls_listen", "ws_listen", "wss_listen", "ws_origins",
        "ws_max_message", "ws_handshake_timeout", "tls_cert", "tls_key", "tls_ca", "tls_ciphers",
        "tls_insecure_outbound", "relay_uri_host", "realm", "users_file", "user",
        "expires_default", "expires_min", "expires_max", "nonce_lifetime",
        "auth_fail_limit", "auth_fail_window", "auth_block_time", "auth_fail_delay",
        "max_reservations_per_user", "max_reservations", "max_message_size",
        "allowed_content_types", "session_bandwidth", "hep_address", "hep_id",
        "hep_proto_type", "hep_body_bytes",
        "nonce_cache_size", "auth_throttle_size", "chunk_timeout",
        "chunk_stall_timeout", "chunk_min_rate", "max_chunks_in_flight", "header_timeout",
        "bind_timeout", "max_chunk_out", "conn_mem_ceiling", "conn_output_hard_limit",
        "max_connections",
        "destinations_allow", "destinations_deny", "destination_ports",
        "max_learned_uris", "resolvers", "dns_timeout", "connect_timeout", "idle_timeout", "max_header_bytes",
        "max_headers", "max_path_uris", "max_uri_len", "max_tid_len", "level", "format",
        "file", "unix", "anchor_timeout", "max_size",
        "admin_remote", "accounting_file", "accounting_syslog",
    };
    size_t rows = 0;

    cr_assert_eq(strncmp(ref, "| Section | Key | Type | Default | Range | Description |\n"
                              "|---|---|---|---|---|---|\n", 82), 0, "%s", ref);
    for (const char *p = ref; (p = strstr(p, "\n| [")); p++)
        rows++;
    cr_assert_eq(rows, sizeof(keys) / sizeof(keys[0]) + 2 /* [metrics] and [sbc] listen */);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char cell[64];
        snprintf(cell, sizeof(cell), "| `%s` |", keys[i]);
        cr_expect(strstr(ref, cell), "reference lacks %s", keys[i]);
    }
    cr_assert(strstr(ref, "| [gateway] | `chunk_timeout` | seconds | `30` | 1..3600 | "));
    cr_assert(strstr(ref, "| [gateway] | `conn_mem_ceiling` | bytes | `4MiB` | 64KiB..1GiB | "));
    cr_assert(strstr(ref, "| [metrics] | `listen` | host:port list | (empty) | at most 1 | "));
    cr_assert(strstr(ref, "| [log] | `level` | enum | `info` | error, warn, info, debug | "));

    cr_assert_eq(gw_config_defaults(&c), 0);
    dump = capture(gw_config_dump, &c);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char line[64];
        snprintf(line, sizeof(line), "\n%s = ", keys[i]);
        cr_expect(strstr(dump, line), "dump lacks %s", keys[i]);
    }
    free(ref);
    free(dump);
    gw_config_free(&c);
}

/* The shipped example loads, and every value in it is the default: it
 * differs from the built-in config only by its user source. */
Test(config, example_file_states_the_defaults)
{
    char path[1024];
    const char *slash = strrchr(__FILE__, '/');
    struct gw_config e, d;
    char *de, *dd, *p;

    snprintf(path, sizeof(path), "%.*s/../../gateway/daemon/msrpgw.conf.example",
             (int)(slash - __FILE__), __FILE__);
    cr_assert_eq(gw_config_load(&e, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(e.users_file, "/etc/msrpgw/users");
    cr_assert_eq(e.n_users, 0);
    cr_assert_eq(gw_config_defaults(&d), 0);
    de = capture(gw_config_dump, &e);
    dd = capture(gw_config_dump, &d);
    p = strstr(de, "users_file = /etc/msrpgw/users\n");
    cr_assert_not_null(p);
    memmove(p + strlen("users_file = "), p + strlen("users_file = /etc/msrpgw/users"),
            strlen(p + strlen("users_file = /etc/msrpgw/users")) + 1);
    p = strstr(dd, "user = demo:***\n");
    cr_assert_not_null(p);
    memmove(p, p + strlen("user = demo:***\n"), strlen(p + strlen("user = demo:***\n")) + 1);
    cr_assert_str_eq(de, dd);
    free(de);
    free(dd);
    gw_config_free(&e);
    gw_config_free(&d);
}

/* The policy and HEP keys load, and a bad content type is refused with
 * the entry named. */
Test(config, policy_and_hep_keys)
{
    struct gw_config c;

    cr_assert_eq(gw_config_load_string(&c,
                                       "[gateway]\nuser = a:b\nmax_message_size = 10MiB\n"
                                       "allowed_content_types = image/*, text/plain\n"
                                       "session_bandwidth = 200KiB\nmax_reservations = 5\n"
                                       "[log]\nhep_address = [::1]:9060\nhep_id = 7\n"
                                       "hep_proto_type = 61\nhep_body_bytes = 1KiB\n",
                                       "t", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.max_message_size, 10u << 20);
    cr_assert_str_eq(c.allowed_content_types, "image/*, text/plain");
    cr_assert_eq(c.session_bandwidth, 200u << 10);
    cr_assert_eq(c.max_reservations, 5);
    cr_assert_eq(c.hep_address.n, 1);
    cr_assert_str_eq(c.hep_address.a[0].host, "::1");
    cr_assert_eq(c.hep_address.a[0].port, 9060);
    cr_assert_eq(c.hep_id, 7);
    cr_assert_eq(c.hep_proto_type, 61);
    cr_assert_eq(c.hep_body_bytes, 1024);
    gw_config_free(&c);
    cr_assert_eq(gw_config_load_string(&c, "[gateway]\nuser = a:b\nallowed_content_types = text\n",
                                       "t", err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "bad content type 'text'"), "%s", err);
    cr_assert_eq(gw_config_load_string(&c, "[gateway]\nuser = a:b\n[log]\nhep_proto_type = 256\n",
                                       "t", err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "hep_proto_type"), "%s", err);
}
