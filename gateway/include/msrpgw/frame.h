/*
 * msrpgw/frame.h: MSRP frames (RFC 4975 section 7) -- an incremental
 * parser and a head writer.
 *
 * Parser: feed it whatever bytes arrived, in any slicing (one byte at a
 * time gives the same events as all at once). Each call consumes a prefix
 * of the input and reports at most one event; call again with the rest
 * while the event is not MSRPGW_EV_NONE. A body of any size streams
 * through as MSRPGW_EV_BODY slices that point into the caller's input
 * (zero copy): the parser never buffers a body. The start line and
 * headers of the current frame stay readable (msrpgw_parser_tid, ...)
 * from MSRPGW_EV_FRAME_START / MSRPGW_EV_HEADERS_END until the parser is
 * given the first byte of the next frame. Strings returned are not
 * NUL-terminated: use the length given with them.
 *
 * Writer: build a frame description, write its head (start line and
 * headers) into a buffer, send the body yourself, then write the end-line.
 */
#ifndef MSRPGW_FRAME_H
#define MSRPGW_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <msrpgw/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- parser ---- */

struct msrpgw_parser;

enum msrpgw_event {
    MSRPGW_EV_NONE = 0,     /* every byte given was consumed: feed more */
    MSRPGW_EV_FRAME_START,  /* start line parsed (kind, tid, method/status) */
    MSRPGW_EV_HEADER,       /* one header line parsed */
    MSRPGW_EV_HEADERS_END,  /* header section complete */
    MSRPGW_EV_BODY,         /* body bytes: msrpgw_parser_body() */
    MSRPGW_EV_FRAME_END,    /* end-line seen: msrpgw_parser_flag() */
    MSRPGW_EV_ERROR,        /* msrpgw_parser_error(); sticky until reset */
};

/* Byte-Range end or total given as '*'. */
#define MSRPGW_STAR UINT64_MAX

/*
 * A parser with the default limits (16 KiB of start line and headers, 32
 * headers, 8 URIs per path, 1024-byte URIs, 32-byte transaction ids);
 * max_header_bytes, when not 0, replaces the first (256..1048576).
 * 0, -ENOMEM or -EINVAL.
 */
MSRPGW_API int msrpgw_parser_new(struct msrpgw_parser **out, uint32_t max_header_bytes);
MSRPGW_API void msrpgw_parser_free(struct msrpgw_parser *p);
/* Forgets a partial frame and a sticky error. */
MSRPGW_API void msrpgw_parser_reset(struct msrpgw_parser *p);

/* Consumes a prefix of buf[0..len): *used bytes (may be 0 with an event).
 * Returns the event (enum msrpgw_event). */
MSRPGW_API int msrpgw_parser_feed(struct msrpgw_parser *p, const void *buf, size_t len,
                                  size_t *used);
/* 1 while inside a frame (input that ends here was truncated), else 0. */
MSRPGW_API int msrpgw_parser_in_frame(const struct msrpgw_parser *p);

/* The current frame. */
MSRPGW_API int msrpgw_parser_is_request(const struct msrpgw_parser *p);
MSRPGW_API const char *msrpgw_parser_tid(const struct msrpgw_parser *p, size_t *len);
/* Requests: the method as received ("SEND", "REPORT", "AUTH", others). */
MSRPGW_API const char *msrpgw_parser_method(const struct msrpgw_parser *p, size_t *len);
/* Responses: the status code (e.g. 200); 0 for a request. */
MSRPGW_API int msrpgw_parser_status(const struct msrpgw_parser *p);
/* Headers in arrival order: names as received, values trimmed. */
MSRPGW_API unsigned msrpgw_parser_header_count(const struct msrpgw_parser *p);
/* 0, or -ENOENT when i >= the count. */
MSRPGW_API int msrpgw_parser_header_at(const struct msrpgw_parser *p, unsigned i,
                                       const char **name, size_t *name_len,
                                       const char **value, size_t *value_len);
/* Value of the first header named name (case-insensitive), or NULL. */
MSRPGW_API const char *msrpgw_parser_header(const struct msrpgw_parser *p, const char *name,
                                            size_t *len);
/* The Byte-Range header, parsed (end, total may be MSRPGW_STAR); 0 or
 * -ENOENT when the frame has none. */
MSRPGW_API int msrpgw_parser_byte_range(const struct msrpgw_parser *p, uint64_t *start,
                                        uint64_t *end, uint64_t *total);

/* MSRPGW_EV_BODY: the bytes (inside the input just fed, or the parser's
 * own memory; valid until the next feed) and their offset in this chunk's
 * body. */
MSRPGW_API const void *msrpgw_parser_body(const struct msrpgw_parser *p, size_t *len,
                                          uint64_t *offset);
/* MSRPGW_EV_FRAME_END: '$' (message complete), '+' (more chunks follow)
 * or '#' (aborted). */
MSRPGW_API char msrpgw_parser_flag(const struct msrpgw_parser *p);
/* MSRPGW_EV_ERROR: the negative code (msrpgw_parse_error_name names it) and the
 * stream offset where it was seen. */
MSRPGW_API int msrpgw_parser_error(const struct msrpgw_parser *p, uint64_t *offset);

/*
 * A complete response to the current frame (a request whose headers were
 * read): "MSRP tid code [comment]" with To-Path = the request's first
 * From-Path URI and From-Path = its first To-Path URI (responses go hop by
 * hop). comment may be NULL. Returns the length written, or a negative
 * code (-ENOSPC when cap is too small, -EINVAL when there is no request).
 */
MSRPGW_API int msrpgw_parser_write_response(const struct msrpgw_parser *p, int code,
                                            const char *comment, char *buf, size_t cap);

/* ---- writer ---- */

struct msrpgw_frame;

/* A request (method "SEND", "REPORT", "AUTH" or an extension token). tid
 * NULL: a random 16-character transaction id. 0, -ENOMEM or -EINVAL. */
MSRPGW_API int msrpgw_frame_new_request(struct msrpgw_frame **out, const char *method,
                                        const char *tid);
/* A response with its code (100..999) and optional comment. */
MSRPGW_API int msrpgw_frame_new_response(struct msrpgw_frame **out, const char *tid, int code,
                                         const char *comment);
MSRPGW_API void msrpgw_frame_free(struct msrpgw_frame *f);
MSRPGW_API const char *msrpgw_frame_tid(const struct msrpgw_frame *f);

/*
 * Adds a header (copied). To-Path and From-Path are required (URIs
 * separated by spaces) and are written first; Content-Type is written
 * last and gives the frame a body section (a frame without it has none);
 * the others are written in RFC 4975's order, extension headers as given.
 * Typed headers (Byte-Range, Success-Report, Failure-Report, Status,
 * Expires, paths) are checked here: 0, -EINVAL (bad value, CR/LF/NUL, a
 * header given twice) or -ENOMEM.
 */
MSRPGW_API int msrpgw_frame_add_header(struct msrpgw_frame *f, const char *name,
                                       const char *value);

/* Writes the start line and headers into buf. Returns the length, or
 * -ENOSPC (cap too small) / -EINVAL (no To-Path or From-Path). */
MSRPGW_API int msrpgw_frame_write_head(const struct msrpgw_frame *f, char *buf, size_t cap);
/* Writes the end-line ("\r\n" first when the frame has a body section)
 * with flag '$', '+' or '#'. Length or -ENOSPC / -EINVAL. */
MSRPGW_API int msrpgw_frame_write_end(const struct msrpgw_frame *f, char flag, char *buf,
                                      size_t cap);
/* 0, or -EINVAL when body contains this frame's end-line delimiter (pick
 * another transaction id: a new frame). */
MSRPGW_API int msrpgw_frame_check_body(const struct msrpgw_frame *f, const void *body,
                                       size_t n);

#ifdef __cplusplus
}
#endif

#endif
