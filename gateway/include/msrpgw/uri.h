/*
 * msrpgw/uri.h: MSRP URIs (RFC 4975 section 9)
 *
 *   msrp://user@host:port/session-id;tcp;param=value
 *   msrps://[2001:db8::1]:2855/abc;tcp
 *
 * A parsed URI owns a copy of its text; every string it returns is
 * NUL-terminated and lives as long as the URI.
 */
#ifndef MSRPGW_URI_H
#define MSRPGW_URI_H

#include <stddef.h>
#include <stdint.h>

#include <msrpgw/export.h>

#ifdef __cplusplus
extern "C" {
#endif

struct msrpgw_uri;

/* Parses text (at most 65535 bytes). 0, -EINVAL (not an MSRP URI),
 * -E2BIG or -ENOMEM. */
MSRPGW_API int msrpgw_uri_parse(struct msrpgw_uri **out, const char *text);
MSRPGW_API void msrpgw_uri_free(struct msrpgw_uri *u);

/* 1 for msrps:// (TLS), 0 for msrp://. */
MSRPGW_API int msrpgw_uri_is_tls(const struct msrpgw_uri *u);
/* userinfo before '@' ("" when absent). */
MSRPGW_API const char *msrpgw_uri_user(const struct msrpgw_uri *u);
/* Host; an IPv6 literal without its brackets. */
MSRPGW_API const char *msrpgw_uri_host(const struct msrpgw_uri *u);
/* The explicit port, else 2855 (MSRP's default). */
MSRPGW_API uint16_t msrpgw_uri_port(const struct msrpgw_uri *u);
/* Session id ("" for a relay URI without one). */
MSRPGW_API const char *msrpgw_uri_session_id(const struct msrpgw_uri *u);
/* Transport ("tcp"). */
MSRPGW_API const char *msrpgw_uri_transport(const struct msrpgw_uri *u);
/* The text as given. */
MSRPGW_API const char *msrpgw_uri_text(const struct msrpgw_uri *u);

/*
 * RFC 4975 section 6.1 equality: scheme and host case-insensitive, a port
 * present in either must match (an explicit 2855 never equals an absent
 * port), session id case-sensitive, transport case-insensitive, userinfo
 * and parameters ignored. 1 equal, 0 not.
 */
MSRPGW_API int msrpgw_uri_equal(const struct msrpgw_uri *a, const struct msrpgw_uri *b);

#ifdef __cplusplus
}
#endif

#endif
