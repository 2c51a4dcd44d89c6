/*
 * config.c: the settings table and the INI reader it drives. Each row
 * names a field of struct gw_config by offset and size; the default is
 * written in file syntax and goes through the same setter as a file value,
 * so the table, the parser, --check-config and the README reference can
 * never disagree.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/daemon/config.h"
#include "gateway/wire/accepttypes.h"
#include "gateway/common/errmsg.h"
#include "gateway/relay/relay_policy.h"
#include "gateway/common/slurp.h"
#include "gateway/daemon/users.h"

enum opt_type {
    T_UINT,  /* unsigned integer, field of 2, 4 or 8 bytes */
    T_SECS,  /* seconds (uint32_t), optional s/m/h suffix */
    T_SIZE,  /* bytes (uint64_t), optional KiB/MiB/GiB suffix */
    T_BOOL,
    T_STR,   /* char[GW_CONFIG_STR_MAX] */
    T_ADDRS, /* struct gw_addr_list; repeatable; max = entries allowed */
    T_USERS, /* cfg->users; repeatable */
    T_ENUM,  /* int-sized enum; names[] */
};

static const char *const type_names[] = {
    [T_UINT] = "integer", [T_SECS] = "seconds", [T_SIZE] = "bytes",
    [T_BOOL] = "bool", [T_STR] = "string", [T_ADDRS] = "host:port list",
    [T_USERS] = "name:secret", [T_ENUM] = "enum",
};

static const char *const level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const format_names[] = {"text", "json", NULL};

struct opt {
    const char *section;
    const char *name;
    enum opt_type type;
    size_t off, size;
    const char *def;          /* in file syntax */
    uint64_t min, max;        /* numbers: bounds; T_ADDRS: max = entries */
    const char *help;
    const char *const *names; /* T_ENUM */
};

#define F(field) offsetof(struct gw_config, field), sizeof(((struct gw_config *)0)->field)
#define KIB ((uint64_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)
#define DAY (24 * 3600)

static const struct opt opts[] = {
    {"gateway", "threads", T_UINT, F(threads), "0", 0, 1024,
     "Event-loop threads, one per core; 0 = one per online CPU.", NULL},
    {"gateway", "listen", T_ADDRS, F(listen), "127.0.0.1:2855", 0, GW_CONFIG_ADDRS_MAX,
     "Plain TCP (msrp://) listen addresses, host:port or [v6]:port; repeat the key or use a comma list; empty = none.", NULL},
    {"gateway", "tls_listen", T_ADDRS, F(tls_listen), "", 0, GW_CONFIG_ADDRS_MAX,
     "TLS (msrps://) listen addresses; empty = no TLS listener (then tls_cert/tls_key are not needed).", NULL},
    {"gateway", "ws_listen", T_ADDRS, F(ws_listen), "", 0, GW_CONFIG_ADDRS_MAX,
     "MSRP over WebSocket (RFC 7977, ws://, subprotocol msrp) listen addresses; empty = none. Needs listen or tls_listen too: the Use-Path given to WebSocket clients names the TCP side.", NULL},
    {"gateway", "wss_listen", T_ADDRS, F(wss_listen), "", 0, GW_CONFIG_ADDRS_MAX,
     "MSRP over secure WebSocket (wss://) listen addresses, with tls_cert/tls_key; empty = none.", NULL},
    {"gateway", "ws_origins", T_STR, F(ws_origins), "", 0, 0,
     "Origins a browser may open a WebSocket from (exact, e.g. https://app.example.com; space or comma list; others get 403); empty = any. A request without Origin (not a browser) is accepted.", NULL},
    {"gateway", "ws_max_message", T_SIZE, F(ws_max_message), "1MiB", 1 * KIB, GIB,
     "Largest WebSocket message accepted (one MSRP chunk each); a larger one closes the connection with 1009.", NULL},
    {"gateway", "ws_handshake_timeout", T_SECS, F(ws_handshake_timeout), "10", 1, 3600,
     "Time from accept to a complete WebSocket Upgrade request; then the connection is closed.", NULL},
    {"gateway", "tls_cert", T_STR, F(tls_cert), "", 0, 0,
     "PEM certificate chain for tls_listen.", NULL},
    {"gateway", "tls_key", T_STR, F(tls_key), "", 0, 0,
     "PEM private key for tls_listen.", NULL},
    {"gateway", "tls_ca", T_STR, F(tls_ca), "", 0, 0,
     "PEM CA bundle to verify next hops reached over msrps://; empty = no CAs loaded (every verification fails unless tls_insecure_outbound).", NULL},
    {"gateway", "tls_ciphers", T_STR, F(tls_ciphers), "", 0, 0,
     "wolfSSL cipher list for TLS listeners and next hops, most preferred first; empty = decided at start-up: AES-GCM first where the CPU has AES-NI and the linked wolfSSL uses it (msrpgw --version says), ChaCha20-Poly1305 first otherwise; TLS 1.3 and 1.2 only.", NULL},
    {"gateway", "tls_insecure_outbound", T_BOOL, F(tls_insecure_outbound), "false", 0, 1,
     "Do not verify next hops' certificates. Tests only.", NULL},
    {"gateway", "relay_uri_host", T_STR, F(relay_uri_host), "", 0, 0,
     "Host put in our Use-Path / From-Path URIs; empty = host of the first listen address (must then not be a wildcard).", NULL},
    {"gateway", "realm", T_STR, F(realm), "msrpgw", 0, 0,
     "Digest realm of AUTH challenges (ha1: secrets must be computed with it).", NULL},
    {"gateway", "users_file", T_STR, F(users_file), "", 0, 0,
     "File of name:password or name:ha1:HEX lines, each optionally with per-user limits as name [key = value; ...]:secret (keys max_reservations, max_message_size, allowed_content_types, session_bandwidth), reloaded on SIGHUP; empty = the user lines.", NULL},
    {"gateway", "user", T_USERS, F(users), "demo:demo", 0, GW_CONFIG_USERS_MAX,
     "A user, name:password or name:ha1:HEX with HEX = md5(name:realm:password), optionally with per-user limits as in users_file: name [max_message_size = 1MiB; ...]:secret; repeatable. The built-in demo:demo exists only without a config file.", NULL},
    {"gateway", "expires_default", T_SECS, F(expires_default), "600", 1, DAY,
     "AUTH Expires granted when the client asks for none.", NULL},
    {"gateway", "expires_min", T_SECS, F(expires_min), "60", 1, DAY,
     "Shortest Expires accepted; below it AUTH gets 423 with Min-Expires.", NULL},
    {"gateway", "expires_max", T_SECS, F(expires_max), "3600", 1, DAY,
     "Longest Expires granted (longer requests are shortened).", NULL},
    {"gateway", "nonce_lifetime", T_SECS, F(nonce_lifetime), "300", 10, DAY,
     "Seconds a Digest nonce stays fresh (older: 401 stale=true).", NULL},
    {"gateway", "auth_fail_limit", T_UINT, F(auth_fail_limit), "10", 0, 1000000,
     "AUTH failures (wrong password; unknown user counts for the address only) from one source address (IPv6: its /64) or for one user within auth_fail_window that block it: further AUTHs from that address or for that user get 403 for auth_block_time (auth failure reason throttled); 0 = no throttle.", NULL},
    {"gateway", "auth_fail_window", T_SECS, F(auth_fail_window), "60", 1, DAY,
     "Seconds over which auth_fail_limit failures are counted.", NULL},
    {"gateway", "auth_block_time", T_SECS, F(auth_block_time), "300", 1, DAY,
     "Seconds an address or user stays blocked after auth_fail_limit failures.", NULL},
    {"gateway", "auth_fail_delay", T_SECS, F(auth_fail_delay), "1", 0, 60,
     "Seconds a connection is not read after an AUTH failure (its 401 is sent at once), so one connection guesses at most once per delay; 0 = none.", NULL},
    {"gateway", "max_reservations_per_user", T_UINT, F(max_reservations_per_user), "100", 0, 10000000,
     "Reservations (AUTHed connections) one user may hold at once over all threads; beyond it AUTH gets 403 (reason reservation_limit); 0 = unlimited. A user's own max_reservations (users file) replaces it for that user.", NULL},
    {"gateway", "max_reservations", T_UINT, F(max_reservations), "0", 0, 100000000,
     "Reservations all users together may hold at once over all threads; beyond it AUTH gets 403 (auth failure reason reservation_limit_total); 0 = unlimited. Global only; a user's own max_reservations, max_message_size, allowed_content_types and session_bandwidth (users file attributes) replace the four per-user keys for that user.", NULL},
    {"gateway", "max_message_size", T_SIZE, F(max_message_size), "0", 0, 1024 * GIB,
     "Largest message a SEND may carry through the relay: a chunk whose Byte-Range shows a bigger message (its total; with total '*', the chunk's end or start) gets 413 \"Message Too Large\"; a chunk of unknown length is counted as it streams, and the byte over the limit ends its forwarded copy with '#' and gets the sender 413. Later chunks of a refused message get 413 \"Message Refused\" (drop reason message_too_large). 0 = no limit. A user's own max_message_size (users file) replaces it for the SENDs of that user's reservations and for unauthenticated SENDs to them.", NULL},
    {"gateway", "allowed_content_types", T_STR, F(allowed_content_types), "", 0, 0,
     "Content types a SEND may carry, e.g. \"image/*, text/plain, message/cpim\" (*, type/* or type/subtype; parameters ignored, case-insensitive); the first chunk of a message with another type gets 415 \"Unsupported Media Type\" and its later chunks 413 (drop reason content_type); empty = all. A user's own allowed_content_types (users file) replaces it as max_message_size's does.", NULL},
    {"gateway", "session_bandwidth", T_SIZE, F(session_bandwidth), "0", 0, GIB,
     "Body bytes per second a sender's connection may send in SENDs; faster senders are not read for a while (counted in msrpgw_bandwidth_pauses_total), never dropped; 0 = unlimited. A user's own session_bandwidth (users file) replaces it as max_message_size's does.", NULL},
    {"gateway", "nonce_cache_size", T_UINT, F(nonce_cache_size), "131072", 1024, 67108864,
     "Digest nonces remembered (32 bytes each) so an Authorization is accepted once per nonce-count on any connection; entries live nonce_lifetime. When full, an AUTH on a new nonce gets 401 stale=true (live entries are never forgotten).", NULL},
    {"gateway", "auth_throttle_size", T_UINT, F(auth_throttle_size), "65536", 1024, 67108864,
     "Addresses and users whose AUTH failures are tracked (24 bytes each); when full, the least recently seen entry that is not blocked is forgotten first.", NULL},
    {"gateway", "chunk_timeout", T_SECS, F(chunk_timeout), "30", 1, 3600,
     "Per-chunk response timeout toward the next hop; on expiry 408 (RFC 4975 s7.1.1).", NULL},
    {"gateway", "chunk_stall_timeout", T_SECS, F(chunk_stall_timeout), "10", 1, 3600,
     "Seconds an incoming chunk's body may make no progress (while the relay would read it) before the next hop gets it ended with '#' and the sender's connection is closed (drop reason chunk_stall).", NULL},
    {"gateway", "chunk_min_rate", T_SIZE, F(chunk_min_rate), "512", 0, GIB,
     "Body bytes per second an incoming chunk must average over chunk_stall_timeout (while the relay would read it); a slower one is handled as a stalled one: ended with '#' downstream, its sender's connection closed (drop reason chunk_stall). 0 = any byte is progress.", NULL},
    {"gateway", "max_chunks_in_flight", T_UINT, F(max_chunks_in_flight), "64", 1, 65536,
     "Chunks one connection may have forwarded and not yet answered; at this many the relay stops reading it until answers come (a next hop that reads but never answers cannot grow memory).", NULL},
    {"gateway", "bind_timeout", T_SECS, F(bind_timeout), "30", 1, 3600,
     "Seconds a new inbound connection has to complete its first request (an AUTH that succeeds, or a SEND/REPORT the relay routes); then it is closed (drop reason bind_timeout).", NULL},
    {"gateway", "header_timeout", T_SECS, F(header_timeout), "10", 1, 3600,
     "Seconds a frame's header section may take from its first byte to its blank line; then the connection is closed (drop reason header_timeout).", NULL},
    {"gateway", "max_chunk_out", T_SIZE, F(max_chunk_out), "64KiB", 0, GIB,
     "Largest chunk body sent to a next hop; larger chunks are split (never merged); 0 = never split.", NULL},
    {"gateway", "conn_mem_ceiling", T_SIZE, F(conn_mem_ceiling), "4MiB", 64 * KIB, GIB,
     "Queued unsent bytes per connection at which its producers stop reading (backpressure); an accepted connection whose own output (e.g. responses it does not read) reaches it also stops being read until that output drains under a quarter of it.", NULL},
    {"gateway", "conn_output_hard_limit", T_SIZE, F(conn_output_hard_limit), "16MiB", 128 * KIB, 4 * GIB,
     "Queued unsent bytes past which a connection is closed (drop reason output_overflow): the bound for output that backpressure cannot stop (e.g. frames forwarded to a peer that does not read); at least 2x conn_mem_ceiling (raised to that).", NULL},
    {"gateway", "max_connections", T_UINT, F(max_connections), "100000", 1, 10000000,
     "Inbound connections alive at once, one count over all threads (taken at accept, before a connection is handed to the core owning its session, released at close); further accepts are closed at once (drop reason conn_limit).", NULL},
    {"gateway", "destinations_allow", T_STR, F(destinations_allow), "", 0, 0,
     "Next-hop addresses the relay may connect to although destinations_deny or the built-in ranges (loopback 127.0.0.0/8 and ::1, unspecified 0.0.0.0/8 and ::, link-local 169.254.0.0/16 and fe80::/10) deny them: CIDR list, IPv4 and IPv6, e.g. \"127.0.0.1/32, ::1\". Checked on every resolved address before connecting; a denied next hop gets the sender a 403 (drop reason dest_denied).", NULL},
    {"gateway", "destinations_deny", T_STR, F(destinations_deny), "", 0, 0,
     "Next-hop addresses denied in addition to the built-in ranges: CIDR list (\"0.0.0.0/0, ::/0\" with destinations_allow = an allow-list).", NULL},
    {"gateway", "destination_ports", T_STR, F(destination_ports), "", 0, 0,
     "Next-hop ports allowed, e.g. \"2855, 3000-3999\"; empty = all. Our own listening ports (MSRP, metrics, ng) on loopback or this host's addresses are always denied.", NULL},
    {"gateway", "max_learned_uris", T_UINT, F(max_learned_uris), "4096", 1, 1000000,
     "Senders without a reservation remembered per connection (From-Path[0] URIs, for reverse traffic); least recently used forgotten.", NULL},
    {"gateway", "resolvers", T_ADDRS, F(resolvers), "", 0, 8,
     "DNS servers for next-hop names, host:port; empty = the system's (resolv.conf).", NULL},
    {"gateway", "dns_timeout", T_SECS, F(dns_timeout), "5", 1, 60,
     "Seconds a name look-up may take; then the next hop counts as unreachable (481).", NULL},
    {"gateway", "connect_timeout", T_SECS, F(connect_timeout), "5", 1, 300,
     "Seconds to open (and TLS-handshake) a connection to a next hop; also how long an anchored leg's request waits for the other leg to call in.", NULL},
    {"gateway", "idle_timeout", T_SECS, F(idle_timeout), "3600", 0, 7 * DAY,
     "Seconds a connection (inbound, reservations included, or to a next hop) may carry no traffic in either direction before it is closed (drop reason idle_timeout); never one carrying a chunk or awaiting responses; 0 = never.", NULL},
    {"limits", "max_header_bytes", T_UINT, F(limits.max_header_bytes), "16384", 256, 1048576,
     "Bytes of a frame's start line and headers; more is a parse error (400 or close).", NULL},
    {"limits", "max_headers", T_UINT, F(limits.max_headers), "32", 4, MSRP_HEADERS_CAP,
     "Header fields per frame.", NULL},
    {"limits", "max_path_uris", T_UINT, F(limits.max_path_uris), "8", 1, MSRP_PATH_CAP,
     "URIs in one To-Path / From-Path / Use-Path.", NULL},
    {"limits", "max_uri_len", T_UINT, F(limits.max_uri_len), "1024", 32, 65535,
     "Bytes of one MSRP URI.", NULL},
    {"limits", "max_tid_len", T_UINT, F(limits.max_tid_len), "32", 4, MSRP_TID_CAP,
     "Bytes of a transaction id (RFC 4975 allows 4..32).", NULL},
    {"sbc", "listen", T_ADDRS, F(sbc_listen), "", 0, 1,
     "ng control socket (UDP host:port) for an SBC's rtpengine module; empty = off.", NULL},
    {"sbc", "unix", T_STR, F(sbc_unix), "", 0, 0,
     "ng control on a unix stream socket at this path; empty = off.", NULL},
    {"sbc", "anchor_timeout", T_SECS, F(anchor_timeout), "60", 1, 86400,
     "Seconds an anchored session may go without any connection before it is removed.", NULL},
    {"sbc", "max_size", T_SIZE, F(sbc_max_size), "0", 0, 1024 * GIB,
     "a=max-size offered to endpoints is clamped to this; 0 = as negotiated.", NULL},
    {"sbc", "admin_remote", T_BOOL, F(sbc_admin_remote), "false", 0, 1,
     "Accept the admin commands (sessions, kill, drain, reload, config, stats) from UDP peers that are not on loopback; the unix socket and loopback peers always may.", NULL},
    {"metrics", "listen", T_ADDRS, F(metrics_listen), "", 0, 1,
     "Prometheus endpoint (GET /metrics), host:port; empty = off. Port 0 = ephemeral (logged).", NULL},
    {"log", "level", T_ENUM, F(log_level), "info", 0, 3,
     "Most verbose level written: error, warn, info, debug.", level_names},
    {"log", "format", T_ENUM, F(log_format), "text", 0, 1,
     "text (ts level sess= peer= msg) or json (one object per line).", format_names},
    {"log", "file", T_STR, F(log_file), "", 0, 0,
     "Log file (appended, reopened on SIGHUP); empty = stderr.", NULL},
    {"log", "accounting_file", T_STR, F(accounting_file), "", 0, 0,
     "Accounting: one JSON line per ended session (reservation or anchored section) appended to this file by a writer thread, reopened on SIGHUP; empty = off.", NULL},
    {"log", "accounting_syslog", T_BOOL, F(accounting_syslog), "false", 0, 1,
     "Accounting records also to syslog (facility daemon, ident msrpgw, level info).", NULL},
    {"log", "hep_address", T_ADDRS, F(hep_address), "", 0, 1,
     "HEP3 capture: every frame head the relay forwards (each piece of a split chunk) goes over UDP to a Homer collector at this numeric IP:PORT or [IPv6]:PORT, with the TCP connection's addresses (source: the relay, destination: the next hop) and the session id as correlation id; datagrams the socket cannot take at once are dropped (msrpgw_hep_dropped_total); empty = off.", NULL},
    {"log", "hep_id", T_UINT, F(hep_id), "2001", 0, 4294967295u,
     "HEP3 capture agent id of this relay.", NULL},
    {"log", "hep_proto_type", T_UINT, F(hep_proto_type), "0", 0, 255,
     "HEP3 protocol type of the captured MSRP frames: HEP3 assigns MSRP none, so set what the collector expects; 0 = unspecified.", NULL},
    {"log", "hep_body_bytes", T_SIZE, F(hep_body_bytes), "0", 0, 60 * KIB,
     "Body bytes captured with each head (HEP3 payload = head + at most this many bytes of the piece's body, from the first receive slice forwarded); 0 = heads only.", NULL},
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))


static void *field(struct gw_config *cfg, const struct opt *o)
{
    return (char *)cfg + o->off;
}

static const void *cfield(const struct gw_config *cfg, const struct opt *o)
{
    return (const char *)cfg + o->off;
}

/* Decimal digits then an optional unit from units[] (case-insensitive). */
struct unit {
    const char *suffix;
    uint64_t mult;
};

static const struct unit size_units[] = {
    {"", 1}, {"b", 1}, {"k", KIB}, {"kib", KIB}, {"m", MIB}, {"mib", MIB},
    {"g", GIB}, {"gib", GIB}, {NULL, 0},
};
static const struct unit secs_units[] = {
    {"", 1}, {"s", 1}, {"m", 60}, {"min", 60}, {"h", 3600}, {NULL, 0},
};
static const struct unit no_units[] = {{"", 1}, {NULL, 0}};

static int parse_number(const char *s, const struct unit *units, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;

    if (!isdigit((unsigned char)*p))
        return -EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    for (const struct unit *u = units; u->suffix; u++) {
        if (strcasecmp(p, u->suffix) == 0) {
            if (u->mult > 1 && v > UINT64_MAX / u->mult)
                return -ERANGE;
            *out = v * u->mult;
            return 0;
        }
    }
    return -EINVAL;
}

static void store_uint(void *f, size_t size, uint64_t v)
{
    switch (size) {
    case 2: *(uint16_t *)f = (uint16_t)v; break;
    case 4: *(uint32_t *)f = (uint32_t)v; break;
    default: *(uint64_t *)f = v; break;
    }
}

static uint64_t load_uint(const void *f, size_t size)
{
    switch (size) {
    case 2: return *(const uint16_t *)f;
    case 4: return *(const uint32_t *)f;
    default: return *(const uint64_t *)f;
    }
}

static const struct {
    const char *s;
    bool v;
} bool_words[] = {
    {"true", true}, {"yes", true}, {"on", true}, {"1", true},
    {"false", false}, {"no", false}, {"off", false}, {"0", false},
};

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* "host:port" or "[v6]:port"; port 0..65535 (0 = ephemeral). */
int gw_addr_list_csv(const struct gw_addr_list *l, char *buf, size_t cap)
{
    size_t o = 0;
    for (unsigned i = 0; i < l->n; i++) {
        bool v6 = strchr(l->a[i].host, ':') != NULL;
        int n = snprintf(buf + o, cap - o, "%s%s%s%s:%u", i ? "," : "", v6 ? "[" : "",
                         l->a[i].host, v6 ? "]" : "", l->a[i].port);
        if (n < 0 || (size_t)n >= cap - o)
            return -ENOSPC;
        o += (size_t)n;
    }
    if (cap)
        buf[o] = '\0';
    return (int)o;
}

int gw_addr_parse(const char *s, struct gw_addr *a, char *msg, size_t msglen)
{
    const char *colon, *host = s;
    size_t hlen;
    uint64_t port;

    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':') {
            gw_seterr(msg, msglen, "bad address '%s' (want [v6]:port)", s);
            return -EINVAL;
        }
        host = s + 1;
        hlen = (size_t)(rb - host);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s))) {
            gw_seterr(msg, msglen, "bad address '%s' (want host:port, [v6]:port for IPv6)", s);
            return -EINVAL;
        }
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= sizeof(a->host)) {
        gw_seterr(msg, msglen, "bad host in '%s'", s);
        return -EINVAL;
    }
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!(isalnum(c) || c == '.' || c == '-' || c == ':' || c == '_' || c == '%')) {
            gw_seterr(msg, msglen, "bad host in '%s'", s);
            return -EINVAL;
        }
    }
    if (parse_number(colon + 1, no_units, &port) != 0 || port > 65535) {
        gw_seterr(msg, msglen, "bad port in '%s' (0..65535)", s);
        return -EINVAL;
    }
    memcpy(a->host, host, hlen);
    a->host[hlen] = '\0';
    a->port = (uint16_t)port;
    return 0;
}

static int add_user(struct gw_config *cfg, const char *line, size_t cap, char *msg, size_t msglen)
{
    char **v;
    char *dup;

    if (gw_users_check_line(line, msg, msglen) != 0)
        return -EINVAL;
    if (cfg->n_users >= cap) {
        gw_seterr(msg, msglen, "more than %zu user lines (use users_file)", (size_t)cap);
        return -EINVAL;
    }
    dup = strdup(line);
    v = realloc(cfg->users, (cfg->n_users + 1) * sizeof(*v));
    if (!dup || !v) {
        free(dup);
        if (v)
            cfg->users = v;
        gw_seterr(msg, msglen, "out of memory");
        return -ENOMEM;
    }
    cfg->users = v;
    cfg->users[cfg->n_users++] = dup;
    return 0;
}

static void clear_users(struct gw_config *cfg)
{
    for (size_t i = 0; i < cfg->n_users; i++)
        free(cfg->users[i]);
    free(cfg->users);
    cfg->users = NULL;
    cfg->n_users = 0;
}

/*
 * Applies one value. first: this is the key's first occurrence in the
 * current source, so a repeatable key drops its default first.
 */
static int opt_set(struct gw_config *cfg, const struct opt *o, char *val, bool first,
                   char *msg, size_t msglen)
{
    void *f = field(cfg, o);
    uint64_t v;
    int rc;

    switch (o->type) {
    case T_UINT:
    case T_SECS:
    case T_SIZE:
        rc = parse_number(val, o->type == T_SECS ? secs_units
                               : o->type == T_SIZE ? size_units : no_units, &v);
        if (rc == -EINVAL) {
            gw_seterr(msg, msglen, "%s: invalid %s '%s'", o->name, type_names[o->type], val);
            return rc;
        }
        if (rc != 0 || v < o->min || v > o->max) {
            gw_seterr(msg, msglen, "%s = %s out of range [%" PRIu64 ", %" PRIu64 "]", o->name,
                   val, o->min, o->max);
            return -EINVAL;
        }
        store_uint(f, o->size, v);
        return 0;
    case T_BOOL:
        for (size_t i = 0; i < sizeof(bool_words) / sizeof(bool_words[0]); i++) {
            if (strcasecmp(val, bool_words[i].s) == 0) {
                *(bool *)f = bool_words[i].v;
                return 0;
            }
        }
        gw_seterr(msg, msglen, "%s: invalid bool '%s' (true/false/yes/no/on/off/1/0)", o->name, val);
        return -EINVAL;
    case T_STR:
        if (strlen(val) >= GW_CONFIG_STR_MAX) {
            gw_seterr(msg, msglen, "%s: longer than %d bytes", o->name, GW_CONFIG_STR_MAX - 1);
            return -EINVAL;
        }
        strcpy(f, val);
        return 0;
    case T_ENUM:
        for (unsigned i = 0; o->names[i]; i++) {
            if (strcasecmp(val, o->names[i]) == 0) {
                *(int *)f = (int)i;
                return 0;
            }
        }
        gw_seterr(msg, msglen, "%s: invalid value '%s'", o->name, val);
        return -EINVAL;
    case T_ADDRS: {
        struct gw_addr_list *l = f;
        char *save = NULL;
        if (first)
            l->n = 0;
        for (char *tok = strtok_r(val, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            tok = trim(tok);
            if (*tok == '\0')
                continue;
            if (l->n >= o->max) {
                gw_seterr(msg, msglen, "%s: more than %" PRIu64 " address(es)", o->name, o->max);
                return -EINVAL;
            }
            if (gw_addr_parse(tok, &l->a[l->n], msg, msglen) != 0)
                return -EINVAL;
            l->n++;
        }
        return 0;
    }
    case T_USERS:
        if (first)
            clear_users(cfg);
        return add_user(cfg, val, o->max, msg, msglen);
    }
    return -EINVAL;
}

int gw_config_defaults(struct gw_config *cfg)
{
    char msg[256], val[GW_CONFIG_STR_MAX];

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < N_OPTS; i++) {
        int rc;
        snprintf(val, sizeof(val), "%s", opts[i].def);
        rc = opt_set(cfg, &opts[i], val, true, msg, sizeof(msg));
        if (rc != 0) {
            gw_config_free(cfg);
            return rc;  /* only -ENOMEM: the table's defaults are tested */
        }
    }
    return 0;
}

void gw_config_free(struct gw_config *cfg)
{
    clear_users(cfg);
}

static const struct opt *find_opt(const char *section, const char *name)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (strcmp(opts[i].section, section) == 0 && strcmp(opts[i].name, name) == 0)
            return &opts[i];
    return NULL;
}

int gw_config_parse_value(const char *section, const char *key, const char *val, void *out,
                          size_t size, char *msg, size_t msglen)
{
    const struct opt *o = find_opt(section, key);
    if (!o || o->size != size || o->type == T_ADDRS || o->type == T_USERS) {
        gw_seterr(msg, msglen, "%s: not a setting of this kind", key);
        return -EINVAL;
    }
    char buf[GW_CONFIG_STR_MAX + 1];
    if (strlen(val) >= sizeof(buf)) {
        gw_seterr(msg, msglen, "%s: longer than %d bytes", key, GW_CONFIG_STR_MAX - 1);
        return -EINVAL;
    }
    strcpy(buf, val);
    /* The same setter as a file line, on a scratch struct: opt_set writes
     * the key's own field only (no need to clear the rest). */
    struct gw_config *tmp = malloc(sizeof(*tmp));
    if (!tmp) {
        gw_seterr(msg, msglen, "out of memory");
        return -ENOMEM;
    }
    int rc = opt_set(tmp, o, buf, true, msg, msglen);
    if (rc == 0)
        memcpy(out, field(tmp, o), size);
    free(tmp);
    return rc;
}

static bool known_section(const char *s)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (strcmp(opts[i].section, s) == 0)
            return true;
    return false;
}

static bool repeatable(const struct opt *o)
{
    return o->type == T_ADDRS || o->type == T_USERS;
}

static int parse_text(struct gw_config *cfg, const char *text, const char *name, char *err,
                      size_t errlen)
{
    unsigned seen_line[N_OPTS] = {0};
    char section[64] = "";
    char line[GW_CONFIG_LINE_MAX + 1];
    const char *p = text;
    unsigned lineno = 0;
    char msg[256];

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *s, *eq, *key, *val;
        const struct opt *o;
        size_t idx;
        int rc;

        lineno++;
        if (len > GW_CONFIG_LINE_MAX) {
            gw_seterr(err, errlen, "%s:%u: line longer than %d bytes", name, lineno,
                   GW_CONFIG_LINE_MAX);
            return -EINVAL;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (nl ? 1 : 0);
        s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        for (char *c = s; *c; c++) {
            if ((unsigned char)*c < 0x20 && *c != '\t') {
                gw_seterr(err, errlen, "%s:%u: control character in line", name, lineno);
                return -EINVAL;
            }
        }
        if (*s == '[') {
            char *rb = strchr(s, ']');
            if (!rb || rb[1] != '\0' || (size_t)(rb - s - 1) >= sizeof(section)) {
                gw_seterr(err, errlen, "%s:%u: bad section header", name, lineno);
                return -EINVAL;
            }
            *rb = '\0';
            snprintf(section, sizeof(section), "%s", trim(s + 1));
            if (!known_section(section)) {
                gw_seterr(err, errlen, "%s:%u: unknown section [%s]", name, lineno, section);
                return -EINVAL;
            }
            continue;
        }
        eq = strchr(s, '=');
        if (!eq) {
            gw_seterr(err, errlen, "%s:%u: expected key = value", name, lineno);
            return -EINVAL;
        }
        *eq = '\0';
        key = trim(s);
        val = trim(eq + 1);
        if (section[0] == '\0') {
            gw_seterr(err, errlen, "%s:%u: '%s' outside a [section]", name, lineno, key);
            return -EINVAL;
        }
        o = find_opt(section, key);
        if (!o) {
            gw_seterr(err, errlen, "%s:%u: unknown key '%s' in [%s]", name, lineno, key, section);
            return -EINVAL;
        }
        idx = (size_t)(o - opts);
        if (seen_line[idx] && !repeatable(o)) {
            gw_seterr(err, errlen, "%s:%u: '%s' already set at line %u", name, lineno, key,
                   seen_line[idx]);
            return -EINVAL;
        }
        rc = opt_set(cfg, o, val, seen_line[idx] == 0, msg, sizeof(msg));
        if (rc != 0) {
            gw_seterr(err, errlen, "%s:%u: %s", name, lineno, msg);
            return rc;
        }
        if (!seen_line[idx])
            seen_line[idx] = lineno;
    }
    return 0;
}

int gw_config_load_string(struct gw_config *cfg, const char *text, const char *name,
                          char *err, size_t errlen)
{
    int rc = gw_config_defaults(cfg);

    if (rc != 0) {
        gw_seterr(err, errlen, "%s: out of memory", name);
        return rc;
    }
    /* A file never inherits the demo password. */
    clear_users(cfg);
    rc = parse_text(cfg, text, name, err, errlen);
    if (rc == 0) {
        char msg[256];
        rc = gw_config_validate(cfg, msg, sizeof(msg));
        if (rc != 0)
            gw_seterr(err, errlen, "%s: %s", name, msg);
    }
    if (rc != 0)
        gw_config_free(cfg);
    return rc;
}

#define GW_CONFIG_FILE_MAX ((size_t)1 << 20)

int gw_config_load(struct gw_config *cfg, const char *path, char *err, size_t errlen)
{
    char *text;
    size_t got;

    memset(cfg, 0, sizeof(*cfg));
    int rc = gw_slurp(path, GW_CONFIG_FILE_MAX, &text, &got, err, errlen);
    if (rc < 0)
        return rc;
    if (memchr(text, '\0', got)) {
        gw_seterr(err, errlen, "%s: contains a NUL byte", path);
        free(text);
        return -EINVAL;
    }
    rc = gw_config_load_string(cfg, text, path, err, errlen);
    free(text);
    return rc;
}

static bool wildcard_host(const char *h)
{
    return strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0;
}

int gw_config_validate(const struct gw_config *cfg, char *err, size_t errlen)
{
    if (cfg->expires_min > cfg->expires_default || cfg->expires_default > cfg->expires_max) {
        gw_seterr(err, errlen,
               "expires_min (%u) <= expires_default (%u) <= expires_max (%u) does not hold",
               cfg->expires_min, cfg->expires_default, cfg->expires_max);
        return -EINVAL;
    }
    if (cfg->listen.n == 0 && cfg->tls_listen.n == 0 &&
        (cfg->ws_listen.n || cfg->wss_listen.n)) {
        gw_seterr(err, errlen, "ws_listen/wss_listen need listen or tls_listen too: "
                               "the Use-Path given to WebSocket clients names the TCP side");
        return -EINVAL;
    }
    if (cfg->listen.n == 0 && cfg->tls_listen.n == 0) {
        gw_seterr(err, errlen, "nothing to listen on: set listen or tls_listen");
        return -EINVAL;
    }
    if (cfg->tls_listen.n > 0 && (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0')) {
        gw_seterr(err, errlen, "tls_listen needs tls_cert and tls_key");
        return -EINVAL;
    }
    if (cfg->wss_listen.n > 0 && (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0')) {
        gw_seterr(err, errlen, "wss_listen needs tls_cert and tls_key");
        return -EINVAL;
    }
    if (cfg->users_file[0] != '\0' && cfg->n_users > 0) {
        gw_seterr(err, errlen, "users_file and user lines are exclusive: choose one");
        return -EINVAL;
    }
    if (cfg->users_file[0] == '\0' && cfg->n_users == 0) {
        gw_seterr(err, errlen, "no users: set users_file or add user = name:password lines");
        return -EINVAL;
    }
    if (cfg->realm[0] == '\0' || strpbrk(cfg->realm, "\"\\")) {
        gw_seterr(err, errlen, "realm must be non-empty, without '\"' or '\\'");
        return -EINVAL;
    }
    if (gw_accept_types_check(cfg->allowed_content_types, err, errlen) < 0)
        return -EINVAL; /* accepttypes.h */
    struct gw_dest_policy pol; /* parsed to check it (relay_policy.h) */
    if (gw_policy_init(&pol, cfg->destinations_allow, cfg->destinations_deny,
                       cfg->destination_ports, err, errlen) < 0)
        return -EINVAL;
    if (cfg->relay_uri_host[0] == '\0') {
        const struct gw_addr *a = cfg->listen.n ? &cfg->listen.a[0] : &cfg->tls_listen.a[0];
        if (wildcard_host(a->host)) {
            gw_seterr(err, errlen,
                   "listen host %s is a wildcard: set relay_uri_host to the address peers reach",
                   a->host);
            return -EINVAL;
        }
    } else if (strpbrk(cfg->relay_uri_host, " \t/;@")) {
        gw_seterr(err, errlen, "relay_uri_host '%s' is not a host", cfg->relay_uri_host);
        return -EINVAL;
    }
    return 0;
}

const char *gw_config_relay_host(const struct gw_config *cfg)
{
    if (cfg->relay_uri_host[0])
        return cfg->relay_uri_host;
    if (cfg->listen.n)
        return cfg->listen.a[0].host;
    if (cfg->tls_listen.n)
        return cfg->tls_listen.a[0].host;
    return "";
}

static void print_addrs(FILE *out, const struct gw_addr_list *l)
{
    for (unsigned i = 0; i < l->n; i++) {
        const char *fmt = strchr(l->a[i].host, ':') ? "%s[%s]:%u" : "%s%s:%u";
        fprintf(out, fmt, i ? ", " : "", l->a[i].host, l->a[i].port);
    }
}

/* Sizes print in the largest binary unit that divides them. */
static void print_size(FILE *out, uint64_t v)
{
    if (v != 0 && v % GIB == 0)
        fprintf(out, "%" PRIu64 "GiB", v / GIB);
    else if (v != 0 && v % MIB == 0)
        fprintf(out, "%" PRIu64 "MiB", v / MIB);
    else if (v != 0 && v % KIB == 0)
        fprintf(out, "%" PRIu64 "KiB", v / KIB);
    else
        fprintf(out, "%" PRIu64, v);
}

static void print_value(FILE *out, const struct gw_config *cfg, const struct opt *o)
{
    const void *f = cfield(cfg, o);

    switch (o->type) {
    case T_UINT:
    case T_SECS:
        fprintf(out, "%" PRIu64, load_uint(f, o->size));
        break;
    case T_SIZE:
        print_size(out, load_uint(f, o->size));
        break;
    case T_BOOL:
        fputs(*(const bool *)f ? "true" : "false", out);
        break;
    case T_STR:
        fputs((const char *)f, out);
        break;
    case T_ENUM:
        fputs(o->names[*(const int *)f], out);
        break;
    case T_ADDRS:
        print_addrs(out, f);
        break;
    case T_USERS:
        break;  /* one line per user, see gw_config_dump */
    }
}

void gw_config_dump(const struct gw_config *cfg, FILE *out)
{
    const char *section = "";

    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt *o = &opts[i];
        if (strcmp(section, o->section) != 0) {
            fprintf(out, "%s[%s]\n", i ? "\n" : "", o->section);
            section = o->section;
        }
        if (o->type == T_USERS) {
            for (size_t u = 0; u < cfg->n_users; u++) {
                const char *c = strchr(cfg->users[u], ':');
                fprintf(out, "%s = %.*s:***\n", o->name, (int)(c - cfg->users[u]),
                        cfg->users[u]);
            }
            continue;
        }
        fprintf(out, "%s = ", o->name);
        print_value(out, cfg, o);
        fputc('\n', out);
    }
}

static void print_range(FILE *out, const struct opt *o)
{
    switch (o->type) {
    case T_UINT:
    case T_SECS:
        fprintf(out, "%" PRIu64 "..%" PRIu64, o->min, o->max);
        break;
    case T_SIZE:
        print_size(out, o->min);
        fputs("..", out);
        print_size(out, o->max);
        break;
    case T_ENUM:
        for (unsigned i = 0; o->names[i]; i++)
            fprintf(out, "%s%s", i ? ", " : "", o->names[i]);
        break;
    case T_ADDRS:
        fprintf(out, "at most %" PRIu64, o->max);
        break;
    case T_USERS:
        fprintf(out, "at most %" PRIu64 " lines", o->max);
        break;
    case T_BOOL:
    case T_STR:
        break;
    }
}

void gw_config_print_reference(FILE *out)
{
    fputs("| Section | Key | Type | Default | Range | Description |\n", out);
    fputs("|---|---|---|---|---|---|\n", out);
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt *o = &opts[i];
        fprintf(out, "| [%s] | `%s` | %s | %s%s%s | ", o->section, o->name, type_names[o->type],
                o->def[0] ? "`" : "", o->def[0] ? o->def : "(empty)", o->def[0] ? "`" : "");
        print_range(out, o);
        fprintf(out, " | %s |\n", o->help);
    }
}
