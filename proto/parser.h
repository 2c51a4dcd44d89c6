/*
 * parser.h: incremental MSRP frame parser (RFC 4975 section 7).
 *
 * The caller owns the state and feeds it whatever bytes arrived, in any
 * slicing (one byte at a time gives the same events as all at once). Each
 * call consumes a prefix of the input and reports at most one event:
 *
 *   FRAME_START   start line parsed: kind, transaction id, method or status
 *   HEADER        one header line parsed (typed fields filled in head)
 *   HEADERS_END   header section complete; head is final for this frame
 *   BODY          a run of body bytes: a slice of the caller's input (zero
 *                 copy) with its offset from the start of this chunk's body
 *   FRAME_END     end-line seen; flag is '$', '+' or '#'
 *   ERROR         precise error code and the stream offset where it was seen
 *
 * A body of any size streams through: the parser never buffers it. Header
 * lines are copied into caller-provided scratch memory (bounded by
 * limits.max_header_bytes), so every slice in head stays valid until the
 * parser consumes the first byte of the next frame (the call after
 * FRAME_END that is given more input). The end-line search is linear,
 * survives an end-line split across feeds, and bytes it held back as a
 * possible end-line that turn out to be body are reported as a BODY slice
 * pointing into the parser's own state (valid until the next call).
 *
 * No allocation, no I/O, no globals.
 */
#ifndef MSRP_PARSER_H
#define MSRP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"
#include "proto/headers.h"
#include "proto/slice.h"
#include "proto/uri.h"

/* Compile-time ceilings; the run-time limits may only be lower. */
#define MSRP_HEADERS_CAP 64
#define MSRP_PATH_CAP 16
#define MSRP_TID_CAP 64

struct msrp_limits {
    uint32_t max_header_bytes; /* start line + header lines; default 16384 */
    uint16_t max_headers;      /* default 32, at most MSRP_HEADERS_CAP */
    uint16_t max_path_uris;    /* per path header; default 8, <= MSRP_PATH_CAP.
                                * A longer To-Path or From-Path keeps its first
                                * max_path_uris URIs and fails the frame with
                                * MSRP_E_TOO_MANY_URIS where the header section
                                * ends: the head then has both paths, so the
                                * error can be answered (400). */
    uint16_t max_uri_len;      /* default 1024 */
    uint16_t max_tid_len;      /* default 32 (RFC 4975 ident), <= MSRP_TID_CAP */
    /* Responses' To-Path and From-Path are not parsed into URIs (n_to_path
     * and n_from_path stay 0; the values are in headers[], checked for
     * control bytes like every value). For a relay, which matches a
     * response by its tid alone and never echoes its paths. Default false. */
    bool raw_response_paths;
};

void msrp_limits_default(struct msrp_limits *l);
/* Clamps every field into its allowed range (1..cap); returns 0 or
 * MSRP_E_INVALID when a field had to be changed. */
int msrp_limits_check(struct msrp_limits *l);

enum msrp_kind {
    MSRP_REQUEST = 0,
    MSRP_RESPONSE = 1,
};

enum msrp_method {
    MSRP_M_UNKNOWN = 0, /* surfaced so the layer above can answer 501 */
    MSRP_M_SEND,
    MSRP_M_REPORT,
    MSRP_M_AUTH,
};

/* Everything known about the frame once its header section is read. */
struct msrp_head {
    enum msrp_kind kind;
    struct msrp_slice tid;
    enum msrp_method method;       /* requests */
    struct msrp_slice method_name; /* requests, as received */
    uint16_t status;               /* responses: 3-digit code */
    struct msrp_slice comment;     /* responses: may be empty */

    struct msrp_header headers[MSRP_HEADERS_CAP]; /* in arrival order */
    uint16_t n_headers;

    struct msrp_uri to_path[MSRP_PATH_CAP];
    uint16_t n_to_path;
    struct msrp_uri from_path[MSRP_PATH_CAP];
    uint16_t n_from_path;
    struct msrp_uri use_path[MSRP_PATH_CAP];
    uint16_t n_use_path;

    struct msrp_slice message_id;  /* empty when absent */
    bool has_byte_range;
    struct msrp_byte_range byte_range;
    enum msrp_report success_report; /* MSRP_REPORT_ABSENT when absent */
    enum msrp_report failure_report;
    bool has_status;
    struct msrp_status_hdr status_hdr;
    struct msrp_slice content_type; /* empty when absent */
    bool has_expires, has_min_expires, has_max_expires;
    uint32_t expires, min_expires, max_expires;

    bool has_body; /* a blank line ended the headers: the chunk has a body
                      section (possibly empty) */
};

/* Returns the first header with this id, or NULL. */
const struct msrp_header *msrp_head_find(const struct msrp_head *h, enum msrp_hdr_id id);

enum msrp_event_type {
    MSRP_EV_NONE = 0, /* input exhausted without an event: feed more */
    MSRP_EV_FRAME_START,
    MSRP_EV_HEADER,
    MSRP_EV_HEADERS_END,
    MSRP_EV_BODY,
    MSRP_EV_FRAME_END,
    MSRP_EV_ERROR,
};

struct msrp_event {
    enum msrp_event_type type;
    const struct msrp_head *head;     /* every event but NONE and ERROR */
    const struct msrp_header *header; /* HEADER */
    struct msrp_slice body;           /* BODY */
    uint64_t body_offset;             /* BODY: offset of body.p[0] in the chunk body */
    char flag;                        /* FRAME_END: '$', '+' or '#' */
    int error;                        /* ERROR: negative enum msrp_err */
    uint64_t error_offset;            /* ERROR: offset in the whole stream */
};

/* Opaque in spirit: fields are private to parser.c. */
struct msrp_parser {
    struct msrp_limits lim;
    struct msrp_head *head;
    char *scratch;
    size_t scratch_cap;
    size_t scratch_len;
    uint64_t stream_off;  /* bytes consumed since init */
    uint64_t body_off;    /* body bytes reported in this frame */
    int state;
    int err;
    int path_err;         /* MSRP_E_TOO_MANY_URIS deferred to the section's end */
    uint32_t match;       /* end-line bytes matched so far */
    uint32_t held;        /* bytes held back as a possible end-line */
    char endline[2 + 7 + MSRP_TID_CAP + 3]; /* "\r\n-------" tid */
    uint32_t endline_len;
    char hold[2 + 7 + MSRP_TID_CAP + 3];
    char flag;
    uint64_t err_off;     /* stream offset reported with err */
    uint64_t line_off;    /* stream offset of the line being read */
    uint32_t line_begin;  /* scratch index where that line starts */
};

/*
 * Prepares p. head and scratch are caller-owned and must outlive p;
 * scratch_cap must be at least lim->max_header_bytes. lim may be NULL for
 * the defaults. Returns 0 or MSRP_E_INVALID.
 */
int msrp_parser_init(struct msrp_parser *p, const struct msrp_limits *lim,
                     struct msrp_head *head, char *scratch, size_t scratch_cap);

/*
 * Points the parser at other head and scratch storage (same contract as
 * init). Only between frames: MSRP_E_INVALID while msrp_parser_in_frame().
 * Lets a server with many idle connections lend storage only to those in
 * the middle of a frame.
 */
int msrp_parser_set_storage(struct msrp_parser *p, struct msrp_head *head, char *scratch,
                            size_t scratch_cap);

/* Forgets any partial frame and a sticky error; keeps limits and storage. */
void msrp_parser_reset(struct msrp_parser *p);

/*
 * Consumes a prefix of buf[0..len) and reports at most one event in *ev.
 * Returns the number of bytes consumed. Call again with the rest of the
 * input while ev->type != MSRP_EV_NONE; NONE means every byte given was
 * consumed and more input is needed. After ERROR the parser consumes
 * nothing and repeats the error until msrp_parser_reset().
 */
size_t msrp_parse(struct msrp_parser *p, const char *buf, size_t len, struct msrp_event *ev);

/* True between FRAME_START and FRAME_END, and also while a start line is
 * partly read: a stream that ends when this is true was truncated. */
bool msrp_parser_in_frame(const struct msrp_parser *p);

#endif
