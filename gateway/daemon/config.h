/*
 * config.h: the daemon's settings. One INI-style file (`[section]`,
 * `key = value`, `#` or `;` comment lines) is parsed into struct
 * gw_config. Every setting -- its section, name, type, default, bounds and
 * help text -- lives in one table in config.c; that table drives parsing,
 * validation, gw_config_dump() (--check-config) and
 * gw_config_print_reference() (the README section). Adding a setting means
 * adding one row there and one field here.
 *
 * The built-in defaults (no file at all) listen on 127.0.0.1:2855, plain
 * TCP, realm "msrpgw", with the single demo user `demo` / `demo`. The demo
 * user exists ONLY in the built-in defaults: gw_config_load() starts from
 * the defaults minus that user, so a file must name its users (`user =`
 * lines or users_file) and never inherits a well-known password.
 *
 * Repeatable keys (listen, tls_listen, user) accumulate over repeated lines
 * and comma lists; the first occurrence in a file replaces the default.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gateway/obs/log.h"
#include "proto/parser.h"

#define GW_CONFIG_HOST_MAX 256  /* host part of a listen address, with NUL */
#define GW_CONFIG_STR_MAX 512   /* paths, realm, relay host, with NUL */
#define GW_CONFIG_ADDRS_MAX 16  /* addresses per listen list */
#define GW_CONFIG_USERS_MAX 1024 /* `user =` lines; use users_file for more */
#define GW_CONFIG_LINE_MAX 4096 /* longest line of a config file */

struct gw_addr {
    char host[GW_CONFIG_HOST_MAX]; /* numeric or name, no brackets */
    uint16_t port;
};

/* Parses "host:port" or "[v6]:port" (port 0..65535) into *a: the syntax of
 * every listen key, shared with the tools' address options. 0, or -EINVAL
 * with the reason in msg (may be NULL). */
int gw_addr_parse(const char *s, struct gw_addr *a, char *msg, size_t msglen);

struct gw_addr_list {
    struct gw_addr a[GW_CONFIG_ADDRS_MAX];
    unsigned n;
};

/* "host:port,[v6]:port" (c-ares' server list format); its length or -ENOSPC. */
int gw_addr_list_csv(const struct gw_addr_list *l, char *buf, size_t cap);

struct gw_config {
    /* [gateway] */
    uint32_t threads;               /* 0 = one per online CPU */
    struct gw_addr_list listen;     /* msrp:// (TCP) */
    struct gw_addr_list tls_listen; /* msrps:// (TLS); empty = off */
    struct gw_addr_list ws_listen;  /* MSRP over WebSocket (RFC 7977); empty = off */
    struct gw_addr_list wss_listen; /* the same over TLS; empty = off */
    char ws_origins[GW_CONFIG_STR_MAX]; /* allowed Origins, space/comma list; "" = any */
    uint64_t ws_max_message;        /* bytes per received WebSocket message */
    uint32_t ws_handshake_timeout;  /* seconds */
    char tls_cert[GW_CONFIG_STR_MAX];
    char tls_key[GW_CONFIG_STR_MAX];
    char tls_ca[GW_CONFIG_STR_MAX];
    char tls_ciphers[GW_CONFIG_STR_MAX];
    bool tls_insecure_outbound;
    char relay_uri_host[GW_CONFIG_STR_MAX]; /* "" = host of the first listen */
    char realm[GW_CONFIG_STR_MAX];
    char users_file[GW_CONFIG_STR_MAX];
    char **users;                   /* "name:password" or "name:ha1:<hex>" */
    size_t n_users;
    uint32_t expires_default, expires_min, expires_max; /* seconds */
    uint32_t nonce_lifetime;        /* seconds */
    uint32_t auth_fail_limit;       /* AUTH failures that block; 0 = off */
    uint32_t auth_fail_window;      /* seconds */
    uint32_t auth_block_time;       /* seconds */
    uint32_t max_reservations_per_user; /* 0 = unlimited */
    uint32_t max_reservations;      /* all users; 0 = unlimited */
    uint64_t max_message_size;      /* bytes; 0 = no limit (413) */
    char allowed_content_types[GW_CONFIG_STR_MAX]; /* "" = all (415) */
    uint64_t session_bandwidth;     /* body bytes/s per sender connection; 0 = unlimited */
    uint32_t nonce_cache_size;      /* entries */
    uint32_t auth_throttle_size;    /* entries */
    uint32_t auth_fail_delay;       /* seconds */
    uint32_t chunk_timeout;         /* seconds, per-chunk response -> 408 */
    uint32_t chunk_stall_timeout;   /* seconds, incoming body silent -> '#' + close */
    uint64_t chunk_min_rate;        /* body bytes/s an incoming chunk must average; 0 = off */
    uint32_t max_chunks_in_flight;  /* per connection, unanswered */
    uint32_t bind_timeout;          /* seconds */
    uint32_t header_timeout;        /* seconds, a started header section */
    uint64_t max_chunk_out;         /* bytes; 0 = never split */
    uint64_t conn_mem_ceiling;      /* bytes */
    uint64_t conn_output_hard_limit; /* bytes, queued output -> close */
    uint32_t max_connections;
    /* Destination policy (relay_policy.h): CIDR lists and a port list. */
    char destinations_allow[GW_CONFIG_STR_MAX];
    char destinations_deny[GW_CONFIG_STR_MAX];
    char destination_ports[GW_CONFIG_STR_MAX];
    uint32_t max_learned_uris;      /* per connection */
    struct gw_addr_list resolvers;  /* DNS servers; empty = resolv.conf */
    uint32_t dns_timeout;           /* seconds */
    uint32_t connect_timeout;       /* seconds */
    uint32_t idle_timeout;          /* seconds; 0 = never */
    /* [limits] */
    struct msrp_limits limits;
    /* [metrics] */
    struct gw_addr_list metrics_listen; /* at most one; empty = off */
    /* [sbc] */
    struct gw_addr_list sbc_listen; /* ng over UDP; empty = off */
    char sbc_unix[GW_CONFIG_STR_MAX];
    uint32_t anchor_timeout;        /* seconds */
    uint64_t sbc_max_size;          /* bytes; 0 = no clamp */
    bool sbc_admin_remote;          /* admin commands from non-loopback UDP peers */
    /* [log] */
    enum gw_log_level log_level;
    enum gw_log_format log_format;
    char log_file[GW_CONFIG_STR_MAX];  /* "" = stderr */
    char accounting_file[GW_CONFIG_STR_MAX]; /* "" = off */
    bool accounting_syslog;
    struct gw_addr_list hep_address; /* at most one; empty = off */
    uint32_t hep_id;
    uint32_t hep_proto_type;        /* 0..255 */
    uint64_t hep_body_bytes;        /* 0 = heads only */
};

/* The built-in configuration (see the top of this file). 0 or -ENOMEM
 * (the demo user line). */
int gw_config_defaults(struct gw_config *cfg);

/*
 * Fills *cfg from the file at path (defaults for absent keys). On error
 * returns -EINVAL (syntax, unknown key, bad or out-of-range value, an
 * inconsistent combination), -errno when the file cannot be read, or
 * -ENOMEM, and writes "path:line: what" into err (errlen may be 0). *cfg
 * is then freed and must not be used except with gw_config_free().
 */
int gw_config_load(struct gw_config *cfg, const char *path, char *err, size_t errlen);

/* Same, reading an in-memory text; name is used in messages. For tests
 * and for configs that do not come from a file. */
int gw_config_load_string(struct gw_config *cfg, const char *text, const char *name,
                          char *err, size_t errlen);

/* Checks cross-setting consistency (expires_min <= default <= max, TLS
 * listen needs cert and key, a user source exists, a wildcard listen host
 * needs relay_uri_host...). Called by the loaders; 0 or -EINVAL with err. */
int gw_config_validate(const struct gw_config *cfg, char *err, size_t errlen);

/* Parses val as the value of `key` in [section] is parsed (type, units,
 * bounds; not gw_config_validate's checks) into out, which must be as big
 * as that key's field of struct gw_config (a scalar or string key). The
 * users file's per-user limits reuse it (users.h). 0, or -EINVAL with the
 * reason in msg ("key = val out of range [..]", as in a config file). */
int gw_config_parse_value(const char *section, const char *key, const char *val, void *out,
                          size_t size, char *msg, size_t msglen);

/* Frees what the loaders allocated; the struct may be reloaded after. */
void gw_config_free(struct gw_config *cfg);

/* The host to put in our Use-Path / From-Path URIs. */
const char *gw_config_relay_host(const struct gw_config *cfg);

/* Every setting with its effective value, as a loadable INI file
 * (`--check-config`). Passwords in `user` lines are printed as "***". */
void gw_config_dump(const struct gw_config *cfg, FILE *out);

/* Markdown table of every setting: key, type, default, range, help. */
void gw_config_print_reference(FILE *out);

#endif
