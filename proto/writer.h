/*
 * writer.h: MSRP frame serializer (RFC 4975 sections 7, 9; RFC 4976).
 *
 * Writes the start line and header section of a frame into a caller
 * buffer. The body is never copied: the caller sends it separately (from
 * a file, with SEND_ZC, ...) and then the end-line. A frame is on the wire:
 *
 *   with a body:     head (ends "Content-Type: x\r\n\r\n") + body
 *                    + end-line written with after_body = true
 *                    ("\r\n-------tid$\r\n")
 *   without a body:  head (ends with the last header's "\r\n")
 *                    + end-line with after_body = false ("-------tid$\r\n")
 *
 * msrp_write_bodiless() and msrp_write_response() produce a complete
 * bodiless frame (head and end-line) in one buffer: one send, as peers
 * prefer (PEERS.md).
 *
 * Every writer returns the number of bytes written (> 0) or a negative
 * code: MSRP_E_NOSPACE when cap is too small (nothing beyond cap is ever
 * touched; the buffer content is then unspecified), MSRP_E_TID for a
 * transaction id outside the RFC's ident grammar, MSRP_E_HEADER_VALUE for
 * a value containing CR, LF or NUL (header injection: a comment or a
 * value echoed from a peer must never split a header), MSRP_E_INVALID for
 * an inconsistent description (no To-Path, a body without Content-Type...).
 *
 * No allocation, no I/O, no globals.
 */
#ifndef MSRP_WRITER_H
#define MSRP_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"
#include "proto/headers.h"
#include "proto/parser.h"
#include "proto/slice.h"
#include "proto/uri.h"

/*
 * A path (To-Path, From-Path, Use-Path): either parsed URIs (their raw
 * text is written, as received) or URI texts. Set exactly one of uris /
 * texts, with n entries; n = 0 means the header is absent. Texts are
 * checked (no SP, HTAB, CR, LF or NUL); parsed URIs are not again: their
 * raw text is what msrp_uri_parse accepted, which excludes all of those.
 */
struct msrp_wpath {
    const struct msrp_uri *uris;
    const struct msrp_slice *texts;
    size_t n;
};

/* An extension header (or any header not modelled below), written as
 * "name: value". name must be a token; value must not contain CR/LF/NUL. */
struct msrp_wheader {
    struct msrp_slice name;
    struct msrp_slice value;
};

/*
 * Description of one frame. Zero-fill it, then set what the frame has:
 * every optional field is omitted when empty / absent / false. Headers are
 * written in this order: To-Path, From-Path, Message-ID, Success-Report,
 * Failure-Report, Byte-Range, Status, Expires, Min-Expires, Max-Expires,
 * Use-Path, Authorization, WWW-Authenticate, Authentication-Info,
 * extension headers, Content-ID, Content-Description, Content-Disposition,
 * Content-Type (which RFC 4975 section 9 requires last before the body).
 */
struct msrp_frame {
    enum msrp_kind kind;
    struct msrp_slice tid;          /* ALPHANUM *ident-char, at most
                                       MSRP_TID_CAP chars; see tid.h */

    /* Requests. method_name, when non-empty, is written instead of the
     * name of method (for extension methods); otherwise method must be
     * SEND, REPORT or AUTH. */
    enum msrp_method method;
    struct msrp_slice method_name;

    /* Responses: 3-digit code (100..999) and an optional comment. */
    uint16_t status;
    struct msrp_slice comment;

    struct msrp_wpath to_path;     /* required */
    struct msrp_wpath from_path;   /* required */
    struct msrp_slice message_id;
    enum msrp_report success_report; /* ABSENT, YES, NO */
    enum msrp_report failure_report; /* ABSENT, YES, NO, PARTIAL */
    bool has_byte_range;
    struct msrp_byte_range byte_range; /* end/total may be MSRP_BR_STAR */
    bool has_status;
    struct msrp_status_hdr status_hdr; /* "ns code [comment]" */
    bool has_expires, has_min_expires, has_max_expires;
    uint32_t expires, min_expires, max_expires;
    struct msrp_wpath use_path;
    struct msrp_slice authorization;       /* value, e.g. from digest.h */
    struct msrp_slice www_authenticate;
    struct msrp_slice authentication_info;
    const struct msrp_wheader *ext;
    size_t n_ext;
    struct msrp_slice content_id;
    struct msrp_slice content_description;
    struct msrp_slice content_disposition;
    struct msrp_slice content_type;

    /* The frame has a body section (may be empty, as in RFC 4975's
     * empty-bodied SEND with a Content-Type): the head then ends with
     * the blank line. Requires content_type. */
    bool has_body;
};

/* Writes the start line and headers of f. See the file comment. */
int msrp_write_head(char *buf, size_t cap, const struct msrp_frame *f);

/* A complete bodiless frame: head (f->has_body must be false) + end-line
 * with flag ('$', '+' or '#'). */
int msrp_write_bodiless(char *buf, size_t cap, const struct msrp_frame *f, char flag);

/*
 * End-line: ["\r\n"] "-------" tid flag "\r\n". after_body adds the CRLF
 * that separates a body from its end-line. flag is '$', '+' or '#'.
 */
int msrp_write_end_line(char *buf, size_t cap, struct msrp_slice tid, char flag,
                        bool after_body);

/*
 * A complete response to req (RFC 4975 section 7.2): "MSRP tid code
 * [comment]", To-Path = the first URI of the request's From-Path (the
 * previous hop: responses are hop by hop), From-Path = the first URI of
 * the request's To-Path (the node responding), then "-------tid$".
 * comment may be NULL (no comment). extra, when not NULL, supplies further
 * headers (Use-Path, Expires, Min-Expires, WWW-Authenticate,
 * Authentication-Info, ext...): its kind, tid, status, paths and body
 * fields are ignored. Fails with MSRP_E_INVALID when req is not a request
 * or has an empty To-Path or From-Path.
 */
int msrp_write_response(char *buf, size_t cap, const struct msrp_head *req, uint16_t code,
                        const char *comment, const struct msrp_frame *extra);

/*
 * A complete REPORT request about the SEND send (RFC 4975 section 7.1.2):
 * new transaction id tid; To-Path = the SEND's From-Path (the route back
 * to its sender); From-Path = reporter, or the last URI of the SEND's
 * To-Path when reporter is NULL (the endpoint reporting on its own
 * behalf; a relay passes its own URI); Message-ID copied from the SEND;
 * Byte-Range = *br, or the SEND's when br is NULL (omitted if it had
 * none); Status: "000 code [comment]". A REPORT has no body.
 */
int msrp_write_report(char *buf, size_t cap, const struct msrp_head *send,
                      struct msrp_slice tid, const struct msrp_slice *reporter,
                      uint16_t code, const char *comment, const struct msrp_byte_range *br);

/* Canonical name of a method ("SEND", "REPORT", "AUTH"); NULL otherwise. */
const char *msrp_method_name(enum msrp_method m);

/*
 * Body check before sending: a body that contains "-------" tid would end
 * the frame early on the receiver's side (and let the rest be parsed as
 * frames: an injection). Returns 0 or MSRP_E_BODY_HAS_END_LINE (then pick
 * a new transaction id and check again), MSRP_E_TID for a bad tid.
 */
int msrp_body_check(const char *body, size_t n, struct msrp_slice tid);

/*
 * Incremental variant for streamed bodies: a match split across chunks is
 * found. Linear time (Knuth-Morris-Pratt; the pattern may contain '-'
 * since an ident may). Caller-owned state, no allocation.
 */
struct msrp_body_scan {
    char pat[7 + MSRP_TID_CAP];
    uint8_t fail[7 + MSRP_TID_CAP];
    uint32_t len;   /* pattern length */
    uint32_t match; /* pattern bytes matched at the end of input so far */
    bool found;
};

/* 0 or MSRP_E_TID. */
int msrp_body_scan_init(struct msrp_body_scan *s, struct msrp_slice tid);
/* 0, or MSRP_E_BODY_HAS_END_LINE once the pattern was seen (sticky). */
int msrp_body_scan_feed(struct msrp_body_scan *s, const char *p, size_t n);

#endif
