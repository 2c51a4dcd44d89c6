/*
 * msrpgw/msrpgw.h: the public API of libmsrpgw, the MSRP (RFC 4975 /
 * RFC 4976) library under the msrpgw relay. Include this one header:
 *
 *   msrpgw/frame.h    parse MSRP frames incrementally, write frame heads
 *   msrpgw/uri.h      MSRP URIs: parse, compare (RFC 4975 section 6.1)
 *   msrpgw/session.h  endpoint sessions on an io_uring event loop:
 *                     connect, accept, receive behind a relay (AUTH),
 *                     send files and memory in chunks
 *
 * Every object is an opaque handle made and freed by the library; no
 * structure of the implementation is visible, so the ABI (soname
 * libmsrpgw.so.0) changes only when a function does. Functions return 0
 * (or a count) on success and a negated errno value on failure (-ENOMEM,
 * -EINVAL, ...: strerror(-rc) says it); only msrpgw_parser_error() gives
 * the parser's own error codes, which msrpgw_parse_error_name() names.
 *
 * Build against it with: cc prog.c $(pkg-config --cflags --libs msrpgw)
 */
#ifndef MSRPGW_MSRPGW_H
#define MSRPGW_MSRPGW_H

#include <msrpgw/export.h>
#include <msrpgw/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version string, "MAJOR.MINOR.PATCH", as built (compare
 * with MSRPGW_VERSION_STRING, the headers' version). */
MSRPGW_API const char *msrpgw_version(void);

/* Short stable name of a code from msrpgw_parser_error(): "bad_start_line",
 * "bad_uri", ... (the list is in msrpdump(1)); "unknown" otherwise. */
MSRPGW_API const char *msrpgw_parse_error_name(int err);

#ifdef __cplusplus
}
#endif

#include <msrpgw/frame.h>
#include <msrpgw/uri.h>
#include <msrpgw/session.h>

#endif
