/*
 * main.c: the msrpgw daemon -- configuration, users, TLS contexts, the
 * per-core relay runtime, the metrics endpoint, and signals:
 *   SIGTERM / SIGINT  graceful drain: stop accepting, let chunks in flight
 *                     be answered, exit 0 within drain_max (10 s);
 *   SIGHUP            reload the users (file or config lines) and the TLS
 *                     certificate, key and CA files, and reopen
 *                     the log file and the accounting file.
 * The admin's drain, reload and config (gateway/ng/server.h) are the
 * relay's drain without the exit, a SIGHUP, and gw_config_dump's text.
 * Signals are blocked in every thread and taken with sigtimedwait() in the
 * main thread, so no work happens in a signal handler.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gateway/obs/accounting.h"
#include "gateway/daemon/config.h"
#include "gateway/obs/log.h"
#include "gateway/obs/log_sink.h"
#include "gateway/obs/metrics.h"
#include "gateway/ng/server.h"
#include "gateway/relay/relay.h"
#include "gateway/daemon/users.h"
#include "uring/dns.h"
#include "uring/listener.h"
#include "uring/runtime.h"
#include "uring/tls.h"

/* The project's version, from CMake (the library's version.h): one number
 * for the daemon, libmsrpgw and the packages. */
#include "msrpgw/version.h"
#define MSRPGW_VERSION MSRPGW_VERSION_STRING
#define DRAIN_MAX_MS 10000

/*
 * jemalloc (linked in builds without sanitizers) reads this at start-up.
 * Freed pages go back to the OS about a second after a burst -- e.g. the
 * responses queued for a peer that stopped reading -- purged by jemalloc's
 * own background threads, so an idle gateway shrinks too (without them
 * decay runs only when the same arena allocates again). muzzy 0: purged
 * pages are released outright (MADV_DONTNEED), so RSS shows it at once.
 * MALLOC_CONF in the environment still overrides these.
 */
const char *malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";

struct daemon {
    struct gw_config cfg;
    const char *cfg_path;
    struct gw_users_slot users;
    struct gw_users_cache caches[GW_RELAY_MAX_CORES];
    struct gw_relay *relay;
    struct gw_metrics_hub *hub;
    struct gw_metrics met[GW_RELAY_MAX_CORES];
    struct gw_metrics_http *http;
    uint16_t metrics_port;
    unsigned ncores;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: msrpgw [-c FILE] [--check-config] [--port-file FILE] [-h] [--version]\n"
            "  -c, --config FILE   load the configuration (default: built-in, 127.0.0.1:2855,\n"
            "                      user demo/demo, realm msrpgw)\n"
            "  --check-config      validate the configuration, print it and exit 0 / 1\n"
            "  --port-file FILE    once listening, write the bound ports (\"tcp N\", \"tls N\",\n"
            "                      \"ws N\", \"wss N\", \"metrics N\" lines) to FILE; listen\n"
            "                      ports may be 0\n"
            "  -h, --help          this help\n"
            "  --version           print the version, the linked wolfSSL and its crypto paths\n"
            "Signals: SIGTERM/SIGINT drain and exit, SIGHUP reloads users and TLS files and\n"
            "reopens the log and the accounting file.\n");
}

static int user_lookup(void *ud, unsigned idx, const char *name, size_t n,
                       struct msrp_slice *secret, bool *is_ha1)
{
    struct daemon *d = ud;
    const struct gw_users *t = gw_users_cache_get(&d->caches[idx], &d->users);
    const struct gw_user *u = t ? gw_users_find(t, name, n) : NULL;
    if (!u)
        return -ENOENT;
    *secret = msrp_slice(u->secret, u->secret_len);
    *is_ha1 = u->is_ha1;
    return 0;
}

/* A user's own limits (users.h attributes), for the relay at AUTH. */
static int user_limits(void *ud, unsigned idx, const char *name, size_t n,
                       struct gw_relay_user_limits *lim)
{
    _Static_assert(GW_USER_TYPES_MAX == GW_RELAY_USER_TYPES_MAX, "one bound for both");
    struct daemon *d = ud;
    const struct gw_users *t = gw_users_cache_get(&d->caches[idx], &d->users);
    const struct gw_user *u = t ? gw_users_find(t, name, n) : NULL;
    if (!u)
        return -ENOENT;
    lim->has_max_reservations = u->lim.has_max_reservations;
    lim->has_max_message_size = u->lim.has_max_message_size;
    lim->has_allowed_content_types = u->lim.has_allowed_content_types;
    lim->has_session_bandwidth = u->lim.has_session_bandwidth;
    lim->max_reservations = u->lim.max_reservations;
    lim->max_message_size = u->lim.max_message_size;
    lim->session_bandwidth = u->lim.session_bandwidth;
    lim->allowed_content_types = msrp_slice(u->lim.allowed_content_types,
                                            strlen(u->lim.allowed_content_types));
    return 0;
}

static int load_users(struct daemon *d, const struct gw_config *cfg, char *err, size_t errlen)
{
    struct gw_users *t = NULL;
    int rc;
    if (cfg->users_file[0])
        rc = gw_users_load_file(&t, cfg->users_file, err, errlen);
    else
        rc = gw_users_from_lines(&t, (const char *const *)cfg->users, cfg->n_users, "config",
                                 err, errlen);
    if (rc < 0)
        return rc;
    gw_users_publish(&d->users, t);
    gw_log(GW_LOG_INFO, NULL, NULL, "users loaded: %zu", gw_users_count(t));
    return 0;
}

/* Binds an ephemeral port for host with SO_REUSEPORT and keeps the socket
 * (not listening) until every core bound the same port, so the port cannot
 * be taken by someone else in between. */
static int reserve_port(const char *host, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        len = sizeof(*a4);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        len = sizeof(*a6);
    } else {
        return -EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&ss, len) < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    *port = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
    return fd;
}

/* Our listening sockets use SO_REUSEPORT (one per core), which would let
 * a second msrpgw of the same user bind the same ports and take half of
 * the connections: each address:port we listen on (MSRP and metrics) is
 * claimed for this process first (ur_listen_lock); the locks stay open
 * until the process ends. -1 (logged) when another process has one. */
static int claim_one(const char *what, const char *host, uint16_t port)
{
    int fd = ur_listen_lock("msrpgw", host, port);
    if (fd >= 0)
        return 0; /* held for the process's lifetime */
    if (fd == -EADDRINUSE)
        gw_log(GW_LOG_ERROR, NULL, NULL,
               "cannot listen on %s %s:%u: another msrpgw process already listens there", what,
               host, port);
    else
        gw_log(GW_LOG_ERROR, NULL, NULL, "cannot claim %s %s:%u: %s", what, host, port,
               strerror(-fd));
    return -1;
}

static int claim_ports(const struct gw_config *cfg, const struct gw_relay_config *rcfg)
{
    for (unsigned i = 0; i < rcfg->n_listen; i++)
        if (claim_one(rcfg->listen[i].ws ? (rcfg->listen[i].tls ? "wss_listen" : "ws_listen")
                      : rcfg->listen[i].tls ? "tls_listen" : "listen",
                      rcfg->listen[i].host,
                      rcfg->listen[i].port) < 0)
            return -1;
    /* Port 0: the kernel picks a free one, nobody else's. */
    if (cfg->metrics_listen.n && cfg->metrics_listen.a[0].port &&
        claim_one("[metrics] listen", cfg->metrics_listen.a[0].host,
                  cfg->metrics_listen.a[0].port) < 0)
        return -1;
    return 0;
}

static int core_init(struct ur_loop *loop, unsigned idx, void *ud)
{
    struct daemon *d = ud;
    int rc = gw_relay_core_init(loop, idx, d->relay);
    if (rc < 0)
        return rc;
    if (d->hub) {
        gw_metrics_hub_attach(d->hub, idx, loop, &d->met[idx]);
        if (idx == 0 && d->cfg.metrics_listen.n) {
            const struct gw_addr *a = &d->cfg.metrics_listen.a[0];
            rc = gw_metrics_http_start(&d->http, loop, a->host, a->port, d->hub);
            if (rc < 0) {
                gw_log(GW_LOG_ERROR, NULL, NULL, "metrics endpoint %s:%u: %s", a->host, a->port,
                       strerror(-rc));
                return rc;
            }
            d->metrics_port = gw_metrics_http_port(d->http);
            /* An ephemeral port is claimed once known (claim_ports). */
            if (!a->port && claim_one("[metrics] listen", a->host, d->metrics_port) < 0)
                return -EADDRINUSE;
            gw_log(GW_LOG_INFO, NULL, NULL, "metrics on http://%s:%u/metrics", a->host,
                   d->metrics_port);
        }
    }
    return 0;
}

static void core_fini(struct ur_loop *loop, unsigned idx, void *ud)
{
    struct daemon *d = ud;
    gw_relay_core_fini(loop, idx, d->relay);
    gw_users_cache_drop(&d->caches[idx]);
}

static void flush_log_at_exit(void)
{
    gw_log_sink_stop(2000);
}

/* Stopping the metrics endpoint on its loop, before the loops stop: the
 * main thread waits on `done` (posts to one loop are not ordered, so the
 * runtime's stop could otherwise overtake it). */
struct http_stop {
    struct gw_metrics_http *http;
    sem_t done;
};

static void http_stop_cb(struct ur_loop *loop, void *arg)
{
    (void)loop;
    struct http_stop *hs = arg;
    gw_metrics_http_stop(hs->http);
    sem_post(&hs->done);
}

/* 0 once the endpoint is stopped, or -errno: not posted, or no answer in
 * 5 s (a wedged loop; stopping the runtime frees the endpoint regardless,
 * and the request is left allocated for a callback that may still come). */
static int http_stop_wait(struct ur_runtime *rt, struct gw_metrics_http *http)
{
    struct http_stop *hs = calloc(1, sizeof(*hs));
    if (!hs)
        return -ENOMEM;
    hs->http = http;
    sem_init(&hs->done, 0, 0);
    int rc = ur_loop_post(ur_runtime_loop(rt, 0), http_stop_cb, hs);
    if (rc < 0) {
        gw_log(GW_LOG_ERROR, NULL, NULL, "metrics endpoint: cannot post its stop: %s",
               strerror(-rc));
        sem_destroy(&hs->done);
        free(hs);
        return rc;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while ((rc = sem_timedwait(&hs->done, &until)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        rc = -errno;
        gw_log(GW_LOG_ERROR, NULL, NULL, "metrics endpoint did not stop in 5 s: %s",
               strerror(-rc));
        return rc;
    }
    sem_destroy(&hs->done);
    free(hs);
    return 0;
}

static int write_port_file(const char *path, const struct gw_relay_config *rc, uint16_t mport,
                           uint16_t ngport)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    /* The first port of each kind: tcp, tls, ws, wss (main's order). */
    static const char *const kind_name[4] = { "tcp", "tls", "ws", "wss" };
    bool seen[4] = { false };
    for (unsigned i = 0; i < rc->n_listen; i++) {
        int k = (rc->listen[i].tls ? 1 : 0) | (rc->listen[i].ws ? 2 : 0);
        if (!seen[k])
            fprintf(f, "%s %u\n", kind_name[k], rc->listen[i].port);
        seen[k] = true;
    }
    if (mport)
        fprintf(f, "metrics %u\n", mport);
    if (ngport)
        fprintf(f, "ng %u\n", ngport);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -errno;
    return 0;
}

/*
 * TLS contexts from the config: the server's (when a TLS listener is
 * configured) and the client's for msrps next hops (optional: without it
 * such next hops are refused). Logs what fails; 0 or -errno.
 */
static int make_tls(const struct gw_config *cfg, struct ur_tls_ctx **server,
                    struct ur_tls_ctx **client)
{
    *server = NULL;
    *client = NULL;
    char desc[512];
    gw_log(GW_LOG_INFO, NULL, NULL, "tls: %s; cipher list: %s", ur_tls_describe(desc, sizeof(desc)),
           cfg->tls_ciphers[0] ? "from tls_ciphers" : "default");
    if (cfg->tls_listen.n || cfg->wss_listen.n) {
        struct ur_tls_config tc = { .server = 1, .cert_file = cfg->tls_cert,
                                    .key_file = cfg->tls_key,
                                    .cipher_list = cfg->tls_ciphers[0] ? cfg->tls_ciphers : NULL };
        int rc = ur_tls_ctx_new(server, &tc);
        if (rc < 0) {
            gw_log(GW_LOG_ERROR, NULL, NULL, "TLS server context (%s, %s): %s", cfg->tls_cert,
                   cfg->tls_key, strerror(-rc));
            *server = NULL;
            return rc;
        }
    }
    struct ur_tls_config cc = { .server = 0, .ca_file = cfg->tls_ca[0] ? cfg->tls_ca : NULL,
                                .insecure = cfg->tls_insecure_outbound,
                                .cipher_list = cfg->tls_ciphers[0] ? cfg->tls_ciphers : NULL };
    if (ur_tls_ctx_new(client, &cc) < 0) {
        gw_log(GW_LOG_WARN, NULL, NULL, "no TLS client context: msrps next hops refused");
        *client = NULL;
    }
    return 0;
}

/*
 * A context replaced by a reload: connections hold their own references
 * (uring/tls.h), but a loop thread may have loaded the old pointer from
 * the relay just before the swap and not yet made its connection. So the
 * daemon's reference is split into one share per loop, each dropped by a
 * message to that loop: messages run between callbacks, so once every
 * loop has run its share no loop can still be between loading the pointer
 * and taking its reference. The context is freed with its last
 * connection. A post that fails (out of memory) leaks one share.
 */
static void tls_share_drop(struct ur_loop *loop, void *arg)
{
    (void)loop;
    ur_tls_ctx_free(arg);
}

static void retire(struct ur_runtime *rt, struct ur_tls_ctx *ctx)
{
    if (!ctx)
        return;
    unsigned n = ur_runtime_count(rt);
    for (unsigned i = 1; i < n; i++)
        ur_tls_ctx_ref(ctx);
    for (unsigned i = 0; i < n; i++)
        if (ur_loop_post(ur_runtime_loop(rt, i), tls_share_drop, ctx) < 0)
            gw_log(GW_LOG_WARN, NULL, NULL, "reload: an old TLS context is kept (no memory)");
}

/* SIGHUP: new contexts from the reloaded config's files; on any failure
 * the running ones stay. The listeners themselves are not changed: a
 * TLS listener added or removed by the reload needs a restart. */
static void reload_tls(struct ur_runtime *rt, struct gw_relay *relay,
                       const struct gw_config *fresh)
{
    struct ur_tls_ctx *srv, *cli, *old_srv, *old_cli;
    if (make_tls(fresh, &srv, &cli) < 0) {
        gw_log(GW_LOG_ERROR, NULL, NULL, "reload: TLS files kept");
        return;
    }
    gw_relay_set_tls(relay, srv, cli, &old_srv, &old_cli);
    retire(rt, old_srv);
    retire(rt, old_cli);
    gw_log(GW_LOG_INFO, NULL, NULL, "reload: TLS contexts renewed%s%s", srv ? " (certificate " : "",
           srv ? "reloaded)" : "");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check-config", no_argument, NULL, 'C' },
        { "port-file", required_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    static struct daemon d; /* large; static keeps it off the stack */
    bool check = false;
    const char *port_file = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': d.cfg_path = optarg; break;
        case 'C': check = true; break;
        case 'p': port_file = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': {
            char tls[512];
            printf("msrpgw %s\ntls: %s\n", MSRPGW_VERSION, ur_tls_describe(tls, sizeof(tls)));
            return 0;
        }
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    char err[512] = "";
    int rc = d.cfg_path ? gw_config_load(&d.cfg, d.cfg_path, err, sizeof(err))
                        : gw_config_defaults(&d.cfg);
    if (rc == 0 && !d.cfg_path)
        rc = gw_config_validate(&d.cfg, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "msrpgw: configuration %s: %s\n", d.cfg_path ? d.cfg_path : "(built-in)",
                err[0] ? err : strerror(-rc));
        return 1;
    }
    gw_users_slot_init(&d.users);
    if (load_users(&d, &d.cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "msrpgw: users: %s\n", err);
        return 1;
    }
    if (check) {
        gw_config_dump(&d.cfg, stdout);
        printf("# configuration OK\n");
        return 0;
    }
    rc = gw_log_open(d.cfg.log_level, d.cfg.log_format, d.cfg.log_file);
    if (rc < 0) {
        fprintf(stderr, "msrpgw: log file %s: %s\n", d.cfg.log_file, strerror(-rc));
        return 1;
    }
    /* From here on no loop thread blocks on the log (log_sink.h); every
     * way out of main flushes it. */
    /* The signals main() waits for are blocked before the first thread
     * starts (the log writer here, the loops later): a thread created
     * with them open would take a SIGHUP that arrives while main() is
     * busy reloading, and its default action ends the process. */
    sigset_t early;
    sigemptyset(&early);
    sigaddset(&early, SIGTERM);
    sigaddset(&early, SIGINT);
    sigaddset(&early, SIGHUP);
    sigaddset(&early, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &early, NULL);
    int sink_err = gw_log_sink_start(gw_log_fd);
    if (sink_err < 0)
        gw_log(GW_LOG_WARN, NULL, NULL, "log: no writer thread (%s): lines are written in place",
               strerror(-sink_err));
    else
        atexit(flush_log_at_exit);
    /* Accounting records leave the loops the same way (accounting.h). */
    rc = gw_acct_start(d.cfg.accounting_file, d.cfg.accounting_syslog);
    if (rc < 0) {
        gw_log(GW_LOG_ERROR, NULL, NULL, "accounting file %s: %s", d.cfg.accounting_file,
               strerror(-rc));
        return 1;
    }
    atexit(gw_acct_stop);

    /* Relay settings from the config; port 0 listeners get a reserved
     * ephemeral port shared by every core. */
    struct gw_relay_config rcfg;
    memset(&rcfg, 0, sizeof(rcfg));
    int reserved[4 * GW_CONFIG_ADDRS_MAX];
    unsigned nres = 0;
    /* kind: bit 0 = TLS, bit 1 = WebSocket (listen, tls_listen, ws_listen,
     * wss_listen); the TCP ones first, so they are the Use-Path's. */
    const struct gw_addr_list *kinds[4] = { &d.cfg.listen, &d.cfg.tls_listen, &d.cfg.ws_listen,
                                            &d.cfg.wss_listen };
    for (int kind = 0; kind < 4; kind++) {
        const struct gw_addr_list *l = kinds[kind];
        for (unsigned i = 0; i < l->n && rcfg.n_listen < GW_RELAY_LISTEN_MAX; i++) {
            struct gw_relay_listen *rl = &rcfg.listen[rcfg.n_listen++];
            snprintf(rl->host, sizeof(rl->host), "%s", l->a[i].host);
            rl->port = l->a[i].port;
            rl->tls = kind & 1;
            rl->ws = kind & 2;
            if (rl->port == 0) {
                int fd = reserve_port(rl->host, &rl->port);
                if (fd < 0) {
                    gw_log(GW_LOG_ERROR, NULL, NULL, "cannot bind %s:0: %s", rl->host,
                           strerror(-fd));
                    return 1;
                }
                reserved[nres++] = fd;
            }
        }
    }
    if (claim_ports(&d.cfg, &rcfg) < 0)
        return 1;
    snprintf(rcfg.uri_host, sizeof(rcfg.uri_host), "%s", gw_config_relay_host(&d.cfg));
    snprintf(rcfg.ws_origins, sizeof(rcfg.ws_origins), "%s", d.cfg.ws_origins);
    rcfg.ws_max_message = d.cfg.ws_max_message;
    rcfg.ws_handshake_timeout_ms = d.cfg.ws_handshake_timeout * 1000u;
    snprintf(rcfg.realm, sizeof(rcfg.realm), "%s", d.cfg.realm);
    rcfg.expires_default = d.cfg.expires_default;
    rcfg.expires_min = d.cfg.expires_min;
    rcfg.expires_max = d.cfg.expires_max;
    rcfg.nonce_lifetime = d.cfg.nonce_lifetime;
    rcfg.auth_fail_limit = d.cfg.auth_fail_limit;
    rcfg.auth_fail_window_s = d.cfg.auth_fail_window;
    rcfg.auth_block_s = d.cfg.auth_block_time;
    rcfg.max_reservations_per_user = d.cfg.max_reservations_per_user;
    rcfg.max_reservations = d.cfg.max_reservations;
    rcfg.max_message_size = d.cfg.max_message_size;
    snprintf(rcfg.allowed_content_types, sizeof(rcfg.allowed_content_types), "%s",
             d.cfg.allowed_content_types);
    rcfg.session_bandwidth = d.cfg.session_bandwidth;
    if (d.cfg.hep_address.n) {
        const struct gw_addr *ha = &d.cfg.hep_address.a[0];
        bool v6 = strchr(ha->host, ':') != NULL;
        snprintf(rcfg.hep_address, sizeof(rcfg.hep_address), "%s%s%s:%u", v6 ? "[" : "",
                 ha->host, v6 ? "]" : "", ha->port);
    }
    rcfg.hep_id = d.cfg.hep_id;
    rcfg.hep_proto_type = (uint8_t)d.cfg.hep_proto_type;
    rcfg.hep_body_bytes = (uint32_t)d.cfg.hep_body_bytes;
    rcfg.nonce_cache_size = d.cfg.nonce_cache_size;
    rcfg.auth_throttle_size = d.cfg.auth_throttle_size;
    rcfg.auth_fail_delay_ms = d.cfg.auth_fail_delay * 1000u;
    rcfg.chunk_timeout_ms = d.cfg.chunk_timeout * 1000u;
    rcfg.connect_timeout_ms = d.cfg.connect_timeout * 1000u;
    rcfg.idle_timeout_ms = d.cfg.idle_timeout * 1000u;
    rcfg.bind_timeout_ms = d.cfg.bind_timeout * 1000u;
    rcfg.header_timeout_ms = d.cfg.header_timeout * 1000u;
    rcfg.chunk_stall_timeout_ms = d.cfg.chunk_stall_timeout * 1000u;
    rcfg.chunk_min_rate = d.cfg.chunk_min_rate;
    rcfg.max_chunks_in_flight = d.cfg.max_chunks_in_flight;
    rcfg.max_chunk_out = d.cfg.max_chunk_out;
    rcfg.max_connections = d.cfg.max_connections;
    /* Checked by the loader already; our own fixed ports are denied. */
    if (gw_policy_init(&rcfg.dest, d.cfg.destinations_allow, d.cfg.destinations_deny,
                       d.cfg.destination_ports, err, sizeof(err)) < 0) {
        gw_log(GW_LOG_ERROR, NULL, NULL, "%s", err);
        return 1;
    }
    if (d.cfg.metrics_listen.n)
        gw_policy_add_self_port(&rcfg.dest, d.cfg.metrics_listen.a[0].port);
    if (d.cfg.sbc_listen.n)
        gw_policy_add_self_port(&rcfg.dest, d.cfg.sbc_listen.a[0].port);
    rcfg.max_learned_uris = d.cfg.max_learned_uris;
    rcfg.anchor_timeout_s = d.cfg.anchor_timeout;
    rcfg.limits = d.cfg.limits;
    rcfg.user_lookup = user_lookup;
    rcfg.user_limits = user_limits;
    /* Counted always: the admin's stats show them without an endpoint. */
    rcfg.metrics = d.met;
    rcfg.user_ud = &d;

    struct ur_tls_ctx *tls_server = NULL, *tls_client = NULL;
    if (make_tls(&d.cfg, &tls_server, &tls_client) < 0)
        return 1;
    rcfg.tls_server = tls_server;
    rcfg.tls_client = tls_client;
    /* Cross-core hops go to our own plain listener; without one, over TLS
     * to our own TLS listener, where verifying ourselves proves nothing. */
    struct ur_tls_ctx *tls_self = NULL;
    if (tls_server && !d.cfg.listen.n) {
        struct ur_tls_config sc = { .insecure = 1,
                                    .cipher_list = d.cfg.tls_ciphers[0] ? d.cfg.tls_ciphers : NULL };
        if (ur_tls_ctx_new(&tls_self, &sc) < 0)
            tls_self = NULL; /* then tls_client, verified */
    }
    rcfg.tls_self = tls_self;

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    d.ncores = d.cfg.threads ? d.cfg.threads : (unsigned)(ncpu > 0 ? ncpu : 1);
    if (d.ncores > GW_RELAY_MAX_CORES)
        d.ncores = GW_RELAY_MAX_CORES;
    rc = gw_relay_new(&d.relay, &rcfg, d.ncores);
    if (rc < 0) {
        gw_log(GW_LOG_ERROR, NULL, NULL, "relay: %s", strerror(-rc));
        return 1;
    }
    if (gw_metrics_hub_new(&d.hub, d.ncores) < 0) {
        gw_log(GW_LOG_ERROR, NULL, NULL, "metrics: out of memory");
        return 1;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by the loop threads */

    /* Next hops named by DNS names are resolved on the loops (c-ares). */
    char servers[1024];
    if (gw_addr_list_csv(&d.cfg.resolvers, servers, sizeof(servers)) < 0 ||
        ur_dns_configure(servers, d.cfg.dns_timeout * 1000u) < 0) {
        gw_log(GW_LOG_ERROR, NULL, NULL, "resolvers: list too long");
        return 1;
    }

    struct ur_runtime_config rtc;
    memset(&rtc, 0, sizeof(rtc));
    rtc.threads = d.ncores;
    ur_loop_config_default(&rtc.loop);
    if (d.cfg.conn_mem_ceiling) {
        rtc.loop.conn_mem_ceiling = d.cfg.conn_mem_ceiling;
        rtc.loop.conn_low_watermark = d.cfg.conn_mem_ceiling / 4;
    }
    /* The hard bound stays clear of the ceiling, so ordinary backpressure
     * (which overshoots the ceiling by a receive buffer) never reaches it. */
    rtc.loop.conn_hard_limit = d.cfg.conn_output_hard_limit;
    if (rtc.loop.conn_hard_limit < 2 * rtc.loop.conn_mem_ceiling)
        rtc.loop.conn_hard_limit = 2 * rtc.loop.conn_mem_ceiling;
    rtc.init = core_init;
    rtc.fini = core_fini;
    rtc.ud = &d;
    struct ur_runtime *rt;
    rc = ur_runtime_start(&rt, &rtc);
    for (unsigned i = 0; i < nres; i++)
        close(reserved[i]);
    if (rc < 0) {
        gw_log(GW_LOG_ERROR, NULL, NULL, "cannot start: %s", strerror(-rc));
        return 1;
    }
    gw_log(GW_LOG_INFO, NULL, NULL, "msrpgw %s running on %u cores, relay host %s, realm %s",
           MSRPGW_VERSION, d.ncores, rcfg.uri_host, rcfg.realm);
    /* The SBC control socket (rtpengine's ng protocol). */
    struct gw_ng_server *ng = NULL;
    if (d.cfg.sbc_listen.n || d.cfg.sbc_unix[0]) {
        /* The admin's config command: the settings as --check-config
         * prints them (passwords masked), as loaded at start. */
        char *cfg_text = NULL;
        size_t cfg_len = 0;
        FILE *mf = open_memstream(&cfg_text, &cfg_len);
        if (mf) {
            gw_config_dump(&d.cfg, mf);
            fclose(mf);
        }
        struct gw_ng_config nc = {
            .udp_host = d.cfg.sbc_listen.n ? d.cfg.sbc_listen.a[0].host : NULL,
            .udp_port = d.cfg.sbc_listen.n ? d.cfg.sbc_listen.a[0].port : 0,
            .unix_path = d.cfg.sbc_unix[0] ? d.cfg.sbc_unix : NULL,
            .max_size = d.cfg.sbc_max_size,
            .admin_remote = d.cfg.sbc_admin_remote,
            .hub = d.hub,
            .config_text = cfg_text,
        };
        rc = gw_ng_server_start(&ng, &nc, d.relay, rt);
        free(cfg_text);
        if (rc < 0) {
            gw_log(GW_LOG_ERROR, NULL, NULL, "cannot open the ng control socket: %s", strerror(-rc));
            ur_runtime_stop(rt);
            ur_runtime_join(rt);
            return 1;
        }
    }
    if (port_file &&
        (rc = write_port_file(port_file, &rcfg, d.metrics_port, ng ? gw_ng_server_port(ng) : 0)) < 0)
        gw_log(GW_LOG_ERROR, NULL, NULL, "port file %s: %s", port_file, strerror(-rc));

    for (;;) {
        int sig = sigwaitinfo(&set, NULL);
        if (sig == SIGHUP) {
            struct gw_config fresh;
            int lr = d.cfg_path ? gw_config_load(&fresh, d.cfg_path, err, sizeof(err)) : -ENOENT;
            if (lr == 0) {
                if (load_users(&d, &fresh, err, sizeof(err)) < 0)
                    gw_log(GW_LOG_ERROR, NULL, NULL, "reload: users kept: %s", err);
                reload_tls(rt, d.relay, &fresh);
                gw_log_set_level(fresh.log_level);
                gw_config_free(&fresh);
            } else if (d.cfg_path) {
                gw_log(GW_LOG_ERROR, NULL, NULL, "reload: %s: config kept", err);
            }
            gw_log_reopen();
            gw_acct_reopen();
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT)
            break;
    }

    gw_ng_server_stop(ng);
    gw_log(GW_LOG_INFO, NULL, NULL, "draining: no new connections, finishing chunks in flight");
    gw_relay_drain(d.relay);
    struct timespec step = { 0, 50 * 1000 * 1000 };
    for (int waited = 0; waited < DRAIN_MAX_MS && gw_relay_busy(d.relay); waited += 50)
        nanosleep(&step, NULL);
    if (gw_relay_busy(d.relay))
        gw_log(GW_LOG_WARN, NULL, NULL, "drain bound reached with chunks still in flight");
    gw_relay_close_all(d.relay);
    for (int waited = 0; waited < 2000 && gw_relay_conns(d.relay) > 0; waited += 50)
        nanosleep(&step, NULL);
    if (d.http)
        http_stop_wait(rt, d.http);
    struct gw_relay_stats st;
    gw_relay_get_stats(d.relay, &st);
    ur_runtime_stop(rt);
    ur_runtime_join(rt);
    gw_log(GW_LOG_INFO, NULL, NULL,
           "stopped: %llu connections, %llu AUTH ok, %llu AUTH failures, %llu chunks forwarded, "
           "%llu body bytes, %llu connections steered to their session's core, "
           "%llu chunks over a loopback hop to another core, "
           "%llu chunks waited for a busy next hop, %llu stalls",
           (unsigned long long)st.conns_accepted, (unsigned long long)st.auth_ok,
           (unsigned long long)st.auth_failures, (unsigned long long)st.frames_forwarded,
           (unsigned long long)st.body_bytes, (unsigned long long)st.handovers,
           (unsigned long long)st.core_hops,
           (unsigned long long)st.slot_waits, (unsigned long long)st.stalls);
    struct ur_tls_ctx *last_srv, *last_cli;
    gw_relay_set_tls(d.relay, NULL, NULL, &last_srv, &last_cli);
    gw_relay_free(d.relay);
    if (d.hub)
        gw_metrics_hub_free(d.hub);
    ur_tls_ctx_free(last_srv);
    ur_tls_ctx_free(last_cli);
    ur_tls_ctx_free(tls_self);
    gw_users_slot_destroy(&d.users);
    gw_config_free(&d.cfg);
    gw_acct_stop();
    gw_log_sink_stop(2000);
    gw_log_close();
    return 0;
}
