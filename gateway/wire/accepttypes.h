/*
 * accepttypes.h: the SDP a=accept-types filter of an MSRP endpoint
 * (RFC 4975 section 8.6), also the relay's allowed_content_types. A list
 * is entries separated by blanks (config values: commas too), each a star
 * (anything), "type/" followed by a star (any subtype) or "type/subtype";
 * comparison is case-insensitive and ignores the content type's parameters
 * ("text/plain; charset=utf-8" matches "text/plain").
 */
#ifndef GW_ACCEPTTYPES_H
#define GW_ACCEPTTYPES_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/slice.h"

/* True when ctype is accepted by list (NULL or empty list = "*"). An empty
 * or malformed ctype (no '/') is accepted only by "*". */
bool gw_accept_types_match(const char *list, struct msrp_slice ctype);

/* Checks that every entry of list is one of the three forms above (type
 * and subtype non-empty, without blanks, '/', ';' or '*'). 0, or -EINVAL
 * with the first bad entry in msg. */
int gw_accept_types_check(const char *list, char *msg, size_t msglen);

#endif
