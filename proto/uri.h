/*
 * uri.h: MSRP URIs (RFC 4975 section 9, comparison in section 6.1).
 *
 *   msrp://user@host:port/session-id;tcp;param=value
 *   msrps://[2001:db8::1]:2855/abc;tcp
 *
 * Parsing never allocates: every field is a slice into the parsed text.
 */
#ifndef MSRP_URI_H
#define MSRP_URI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/slice.h"

#define MSRP_DEFAULT_PORT 2855

enum msrp_scheme {
    MSRP_SCHEME_MSRP = 0,
    MSRP_SCHEME_MSRPS = 1,
};

struct msrp_uri {
    enum msrp_scheme scheme;
    struct msrp_slice user;       /* userinfo before '@'; empty when absent */
    struct msrp_slice host;       /* IPv6 literal without the brackets */
    bool host_is_ipv6;
    bool has_port;
    uint16_t port;                /* valid when has_port */
    struct msrp_slice session_id; /* after '/'; empty when absent (relay URIs) */
    struct msrp_slice transport;  /* "tcp" or another token; never empty */
    struct msrp_slice params;     /* ";a=b;c" after the transport, verbatim,
                                     without the leading ';'; may be empty */
    struct msrp_slice raw;        /* the whole URI text */
};

/*
 * Parses s[0..n) as one MSRP URI. max_len bounds n (MSRP_E_URI_TOO_LONG
 * past it; 0 means no bound). Returns 0, MSRP_E_URI or MSRP_E_URI_TOO_LONG.
 * The slices in *u point into s.
 */
int msrp_uri_parse(struct msrp_uri *u, const char *s, size_t n, size_t max_len);

/* Port to connect to: the explicit one, else MSRP_DEFAULT_PORT. */
uint16_t msrp_uri_port(const struct msrp_uri *u);

/*
 * Writes the canonical text of u into buf (NUL-terminated when cap > 0).
 * Returns the length the full text needs, excluding the NUL, like snprintf:
 * a result >= cap means it was truncated.
 */
size_t msrp_uri_format(const struct msrp_uri *u, char *buf, size_t cap);

/*
 * RFC 4975 section 6.1 equality: scheme and host compared case-insensitively;
 * a port present in either URI must match exactly (an explicit port never
 * equals an absent one, even 2855); session id case-sensitive; transport
 * case-insensitive; userinfo and URI parameters ignored.
 */
bool msrp_uri_equal(const struct msrp_uri *a, const struct msrp_uri *b);

/*
 * Writes a key for u such that two URIs have equal keys exactly when
 * msrp_uri_equal says they are equal (a hash-table key for URIs). Not
 * NUL-terminated, no text form. Returns the length the full key needs;
 * a result > cap means it did not fit. MSRP_URI_KEY_SLACK bounds the key
 * length over the URI's raw length.
 */
#define MSRP_URI_KEY_SLACK 64
size_t msrp_uri_key(const struct msrp_uri *u, char *buf, size_t cap);

/*
 * Splits a space-separated path (To-Path, From-Path, Use-Path values) into
 * at most max URIs. Returns the number parsed (>= 1) or MSRP_E_URI,
 * MSRP_E_URI_TOO_LONG, MSRP_E_TOO_MANY_URIS.
 */
int msrp_path_parse(struct msrp_uri *out, size_t max, const char *s, size_t n,
                    size_t max_uri_len);

#endif
