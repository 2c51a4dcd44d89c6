/*
 * headers.h: MSRP header names and their typed values (RFC 4975 section 9,
 * RFC 4976 section 5). Parsers of single values live here so the frame
 * parser, the gateway and the tools share one definition of each grammar.
 */
#ifndef MSRP_HEADERS_H
#define MSRP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/slice.h"

enum msrp_hdr_id {
    MSRP_H_OTHER = 0, /* extension header, kept verbatim */
    MSRP_H_TO_PATH,
    MSRP_H_FROM_PATH,
    MSRP_H_MESSAGE_ID,
    MSRP_H_SUCCESS_REPORT,
    MSRP_H_FAILURE_REPORT,
    MSRP_H_BYTE_RANGE,
    MSRP_H_STATUS,
    MSRP_H_CONTENT_TYPE,
    MSRP_H_CONTENT_ID,
    MSRP_H_CONTENT_DESCRIPTION,
    MSRP_H_CONTENT_DISPOSITION,
    MSRP_H_EXPIRES,
    MSRP_H_MIN_EXPIRES,
    MSRP_H_MAX_EXPIRES,
    MSRP_H_USE_PATH,
    MSRP_H_WWW_AUTHENTICATE,
    MSRP_H_AUTHORIZATION,
    MSRP_H_AUTHENTICATION_INFO,
    MSRP_H__COUNT
};

struct msrp_header {
    enum msrp_hdr_id id;
    struct msrp_slice name;  /* as received */
    struct msrp_slice value; /* leading and trailing whitespace removed */
};

/* Canonical spelling ("To-Path"); NULL for MSRP_H_OTHER. */
const char *msrp_hdr_name(enum msrp_hdr_id id);
/* Case-insensitive lookup of a header name; MSRP_H_OTHER when unknown. */
enum msrp_hdr_id msrp_hdr_lookup(const char *name, size_t n);

/* Byte-Range: start-end/total, end and total may be '*' (MSRP_BR_STAR). */
#define MSRP_BR_STAR UINT64_MAX
/* Largest start, end or total accepted (2^62): far beyond any message, and
 * low enough that start + any count of bytes actually moved cannot wrap. */
#define MSRP_BR_MAX (UINT64_C(1) << 62)
struct msrp_byte_range {
    uint64_t start; /* 1-based, >= 1 */
    uint64_t end;   /* inclusive, or MSRP_BR_STAR */
    uint64_t total; /* or MSRP_BR_STAR */
};
/* 0 or MSRP_E_BYTE_RANGE (syntax, overflow, start 0, end < start - 1,
 * end > total). */
int msrp_byte_range_parse(struct msrp_byte_range *br, const char *s, size_t n);

/* Success-Report (yes/no) and Failure-Report (yes/no/partial). */
enum msrp_report {
    MSRP_REPORT_ABSENT = 0,
    MSRP_REPORT_YES,
    MSRP_REPORT_NO,
    MSRP_REPORT_PARTIAL,
};
/* 0 or MSRP_E_REPORT_VALUE; "partial" only when allow_partial. */
int msrp_report_parse(enum msrp_report *r, const char *s, size_t n, bool allow_partial);

/* Status: namespace SP status-code [SP comment], e.g. "000 200 OK". */
struct msrp_status_hdr {
    uint16_t ns;   /* always 0 in RFC 4975 */
    uint16_t code; /* 100..999 */
    struct msrp_slice comment;
};
int msrp_status_hdr_parse(struct msrp_status_hdr *st, const char *s, size_t n);

/* Expires / Min-Expires / Max-Expires: 1*DIGIT seconds, at most 2^32-1. */
int msrp_expires_parse(uint32_t *out, const char *s, size_t n);

#endif
