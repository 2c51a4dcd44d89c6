/*
 * accepttypes.h: the SDP a=accept-types filter of an MSRP endpoint
 * (RFC 4975 section 8.6). A list is space-separated entries, each a star
 * (anything), "type/" followed by a star (any subtype) or "type/subtype";
 * comparison is case-insensitive and ignores the content type's parameters
 * ("text/plain; charset=utf-8" matches "text/plain").
 */
#ifndef GW_ACCEPTTYPES_H
#define GW_ACCEPTTYPES_H

#include <stdbool.h>

#include "proto/slice.h"

/* True when ctype is accepted by list (NULL or empty list = "*"). An empty
 * or malformed ctype (no '/') is accepted only by "*". */
bool gw_accept_types_match(const char *list, struct msrp_slice ctype);

#endif
