/*
 * sdp.h: the MSRP media sections of an SDP body (RFC 4566 syntax, RFC 4975
 * section 8 and RFC 6135/6714 attributes), and the rewrite that anchors
 * them on msrpgw: our address, port and a=path in each MSRP section,
 * every other byte of the body unchanged.
 *
 * A pure parser: no allocation, no I/O; results are slices into the SDP
 * the caller passed, valid as long as those bytes are.
 *
 * Lines end in CRLF or LF, mixed in one body; the last line may lack one.
 * A NUL, a CR not followed by LF (RFC 4566's byte-string excludes both) or
 * a line longer than NG_SDP_MAX_LINE anywhere in the body is an error.
 *
 * An MSRP section is one whose m= line reads "m=message PORT TCP/MSRP ..."
 * or "... TCP/TLS/MSRP ..." with PORT not 0. A port of 0 is a disabled or
 * rejected stream (RFC 3264 sections 5.1, 6): nothing to anchor, so it is
 * no MSRP section here -- copied as it is and not counted (media_index
 * still counts every m= line, so callers key anchors by media_index).
 */
#ifndef GW_NG_SDP_H
#define GW_NG_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/slice.h"

#define NG_SDP_MAX_MSRP 8
/* Longest line accepted, line ending excluded. */
#define NG_SDP_MAX_LINE 4096

struct ng_sdp_msrp {            /* one MSRP media section, as parsed */
    unsigned media_index;       /* 0-based among all m= lines */
    bool tls;                   /* TCP/TLS/MSRP */
    uint16_t port;              /* from the m= line, never 0 */
    struct msrp_slice addr;     /* connection address in effect (media-level c=, else session-level) */
    bool addr_ip6;              /* c=IN IP6 */
    struct msrp_slice path;     /* a=path value (space-separated MSRP URIs), never empty */
    struct msrp_slice setup;    /* a=setup value (active|passive|actpass|holdconn), media-level
                                   else session-level (RFC 4145 section 4); empty if none */
    bool cema;                  /* a=msrp-cema present */
    struct msrp_slice accept_types;  /* a=accept-types value; empty if none */
    uint64_t max_size;          /* a=max-size, valid when has_max_size */
    bool has_max_size;
};

/*
 * Finds the MSRP sections of sdp[0..n) and stores at most max of them in
 * out (out may be NULL to only count them, up to max). Returns 0 with
 * *count set, or a negative errno:
 *   -EINVAL  not an SDP (empty, or no v= first line); a NUL, bare CR or
 *            over-long line; an m=message line lacking port, proto or a
 *            format. In an MSRP section: a bad port (not 0..65535 in
 *            digits, or PORT/N); an m= line with no room for a 5-digit
 *            port (the rewrite's); a malformed c= (not "IN" SP "IP4"|"IP6"
 *            SP address) or none in effect; no a=path; an a=setup other
 *            than the four RFC 4145 roles; a non-numeric a=max-size; a
 *            value with control bytes; c=, a=path, a=setup, a=max-size or
 *            a=accept-types twice;
 *   -E2BIG   more than max MSRP sections.
 * Values are trimmed of surrounding spaces and tabs. The a=path URIs are
 * not parsed here (msrp_path_parse is the caller's, with its limits).
 */
int ng_sdp_parse(const char *sdp, size_t n, struct ng_sdp_msrp *out, size_t max, size_t *count);

struct ng_sdp_rewrite {         /* what one MSRP section becomes */
    const char *addr;           /* our address: c=IN IP4|IP6 addr (IP6 when it holds a ':') */
    uint16_t port;              /* m= port, not 0 */
    const char *path;           /* new a=path value */
    const char *setup;          /* new a=setup value, NULL = leave as is (or absent) */
    uint64_t max_size_cap;      /* clamp a=max-size to this (add none if absent); 0 = no clamp */
};

/*
 * Writes sdp with MSRP section i rewritten by rw[i] into out[0..cap) and
 * returns the length written, or a negative errno:
 *   -EINVAL  sdp does not parse (as ng_sdp_parse), nrw is not its number
 *            of MSRP sections, or an rw[i] is unusable: addr empty or not
 *            visible ASCII (or holding '/'), path empty, with control
 *            bytes or edge spaces, setup not one of the four roles, port
 *            0, or addr or path too long for a line (NG_SDP_MAX_LINE);
 *   -ENOSPC  the result needs more than cap bytes (out holds no partial
 *            result to use; nothing is written past cap);
 *   -E2BIG   the result is longer than INT_MAX.
 * The output is NOT NUL-terminated. Rules, per MSRP section:
 *  - m= line: only the port field changes; proto and the fmt list stay;
 *  - the section gets a media-level c= with our address, replacing its own
 *    c= if it had one, else inserted right after the m= line (so a
 *    session-level c= other sections use stays);
 *  - a=path value replaced; a=setup value replaced when rw.setup, added
 *    right after a=path when the section has no a=setup of its own;
 *  - a=max-size clamped to max_size_cap when larger;
 *  - every other line (a=msrp-cema, a=accept-types, ...) kept verbatim,
 *    in order; each line keeps its own line ending, inserted lines take
 *    the m= line's.
 * Non-MSRP sections and the session part (o= included) are copied byte
 * for byte. Parsing the result finds the same sections with the new
 * address, port, path and setup.
 */
int ng_sdp_rewrite(const char *sdp, size_t n, const struct ng_sdp_rewrite *rw, size_t nrw,
                   char *out, size_t cap);

#endif
