/*
 * api_frame.c: libmsrpgw's public parser and frame writer (msrpgw/frame.h),
 * thin handles over proto/parser.h and proto/writer.h. The handles own
 * the memory proto/ leaves to its caller (head, scratch, header copies),
 * so a library user never sees a proto/ structure.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/lib/lib.h"
#include "proto/parser.h"
#include "proto/tid.h"
#include "proto/writer.h"

/* ---- parser ---- */

struct msrpgw_parser {
    struct msrp_parser p;
    struct msrp_head head;
    struct msrp_event ev; /* the last event reported */
    size_t scratch_cap;
    char scratch[];
};

MSRPGW_API int msrpgw_parser_new(struct msrpgw_parser **out, uint32_t max_header_bytes)
{
    struct msrp_limits lim;
    msrp_limits_default(&lim);
    if (max_header_bytes) {
        if (max_header_bytes < 256 || max_header_bytes > 1048576)
            return -EINVAL;
        lim.max_header_bytes = max_header_bytes;
    }
    struct msrpgw_parser *w = calloc(1, sizeof(*w) + lim.max_header_bytes);
    if (!w)
        return -ENOMEM;
    w->scratch_cap = lim.max_header_bytes;
    if (msrp_parser_init(&w->p, &lim, &w->head, w->scratch, w->scratch_cap) != 0) {
        free(w);
        return -EINVAL;
    }
    *out = w;
    return 0;
}

MSRPGW_API void msrpgw_parser_free(struct msrpgw_parser *p)
{
    free(p);
}

MSRPGW_API void msrpgw_parser_reset(struct msrpgw_parser *p)
{
    msrp_parser_reset(&p->p);
    memset(&p->ev, 0, sizeof(p->ev));
}

/* proto/'s events in the public numbering (kept apart so either may grow). */
static int event_public(enum msrp_event_type t)
{
    switch (t) {
    case MSRP_EV_NONE: return MSRPGW_EV_NONE;
    case MSRP_EV_FRAME_START: return MSRPGW_EV_FRAME_START;
    case MSRP_EV_HEADER: return MSRPGW_EV_HEADER;
    case MSRP_EV_HEADERS_END: return MSRPGW_EV_HEADERS_END;
    case MSRP_EV_BODY: return MSRPGW_EV_BODY;
    case MSRP_EV_FRAME_END: return MSRPGW_EV_FRAME_END;
    case MSRP_EV_ERROR: return MSRPGW_EV_ERROR;
    }
    return MSRPGW_EV_ERROR;
}

MSRPGW_API int msrpgw_parser_feed(struct msrpgw_parser *p, const void *buf, size_t len,
                                  size_t *used)
{
    size_t n = msrp_parse(&p->p, buf, len, &p->ev);
    if (used)
        *used = n;
    return event_public(p->ev.type);
}

MSRPGW_API int msrpgw_parser_in_frame(const struct msrpgw_parser *p)
{
    return msrp_parser_in_frame(&p->p) ? 1 : 0;
}

static const char *slice_out(struct msrp_slice s, size_t *len)
{
    if (len)
        *len = s.n;
    return s.p ? s.p : "";
}

MSRPGW_API int msrpgw_parser_is_request(const struct msrpgw_parser *p)
{
    return p->head.kind == MSRP_REQUEST;
}

MSRPGW_API const char *msrpgw_parser_tid(const struct msrpgw_parser *p, size_t *len)
{
    return slice_out(p->head.tid, len);
}

MSRPGW_API const char *msrpgw_parser_method(const struct msrpgw_parser *p, size_t *len)
{
    struct msrp_slice none = {"", 0};
    return slice_out(p->head.kind == MSRP_REQUEST ? p->head.method_name : none, len);
}

MSRPGW_API int msrpgw_parser_status(const struct msrpgw_parser *p)
{
    return p->head.kind == MSRP_RESPONSE ? p->head.status : 0;
}

MSRPGW_API unsigned msrpgw_parser_header_count(const struct msrpgw_parser *p)
{
    return p->head.n_headers;
}

MSRPGW_API int msrpgw_parser_header_at(const struct msrpgw_parser *p, unsigned i,
                                       const char **name, size_t *name_len,
                                       const char **value, size_t *value_len)
{
    if (i >= p->head.n_headers)
        return -ENOENT;
    const struct msrp_header *h = &p->head.headers[i];
    if (name)
        *name = slice_out(h->name, name_len);
    if (value)
        *value = slice_out(h->value, value_len);
    return 0;
}

MSRPGW_API const char *msrpgw_parser_header(const struct msrpgw_parser *p, const char *name,
                                            size_t *len)
{
    struct msrp_slice want = msrp_slice(name, strlen(name));
    for (unsigned i = 0; i < p->head.n_headers; i++)
        if (msrp_slice_caseeq(p->head.headers[i].name, want))
            return slice_out(p->head.headers[i].value, len);
    return NULL;
}

MSRPGW_API int msrpgw_parser_byte_range(const struct msrpgw_parser *p, uint64_t *start,
                                        uint64_t *end, uint64_t *total)
{
    if (!p->head.has_byte_range)
        return -ENOENT;
    /* MSRP_BR_STAR and MSRPGW_STAR are both UINT64_MAX. */
    *start = p->head.byte_range.start;
    *end = p->head.byte_range.end;
    *total = p->head.byte_range.total;
    return 0;
}

MSRPGW_API const void *msrpgw_parser_body(const struct msrpgw_parser *p, size_t *len,
                                          uint64_t *offset)
{
    bool body = p->ev.type == MSRP_EV_BODY;
    if (len)
        *len = body ? p->ev.body.n : 0;
    if (offset)
        *offset = body ? p->ev.body_offset : 0;
    return body ? p->ev.body.p : NULL;
}

MSRPGW_API char msrpgw_parser_flag(const struct msrpgw_parser *p)
{
    return p->ev.type == MSRP_EV_FRAME_END ? p->ev.flag : '\0';
}

MSRPGW_API int msrpgw_parser_error(const struct msrpgw_parser *p, uint64_t *offset)
{
    bool err = p->ev.type == MSRP_EV_ERROR;
    if (offset)
        *offset = err ? p->ev.error_offset : 0;
    return err ? p->ev.error : 0;
}

MSRPGW_API const char *msrpgw_parse_error_name(int err)
{
    return err < 0 ? msrp_strerror(err) : "unknown";
}

/* proto/ writer codes as errno values. */
static int wr_errno(int rc)
{
    if (rc >= 0)
        return rc;
    return rc == MSRP_E_NOSPACE ? -ENOSPC : -EINVAL;
}

MSRPGW_API int msrpgw_parser_write_response(const struct msrpgw_parser *p, int code,
                                            const char *comment, char *buf, size_t cap)
{
    if (code < 100 || code > 999 || p->head.kind != MSRP_REQUEST || p->head.n_to_path == 0)
        return -EINVAL;
    return wr_errno(msrp_write_response(buf, cap, &p->head, (uint16_t)code, comment, NULL));
}

/* ---- writer ---- */

#define FRAME_HDR_MAX MSRP_HEADERS_CAP

struct fhdr {
    enum msrp_hdr_id id;
    char *name;
    char *value;
};

struct msrpgw_frame {
    enum msrp_kind kind;
    char *method;
    char tid[MSRP_TID_CAP + 1];
    uint16_t status;
    char *comment;
    struct fhdr h[FRAME_HDR_MAX];
    unsigned n;
};

static int frame_alloc(struct msrpgw_frame **out, const char *tid)
{
    struct msrpgw_frame *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    if (tid) {
        size_t n = strlen(tid);
        if (n < MSRP_TID_MIN_LEN || n > MSRP_TID_CAP) {
            free(f);
            return -EINVAL;
        }
        memcpy(f->tid, tid, n + 1);
    } else if (msrp_tid_generate(f->tid, MSRP_TID_DEFAULT_LEN) != 0) {
        free(f);
        return -EIO;
    }
    *out = f;
    return 0;
}

static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s)))
            return false;
    return true;
}

MSRPGW_API int msrpgw_frame_new_request(struct msrpgw_frame **out, const char *method,
                                        const char *tid)
{
    if (!method || !is_token(method))
        return -EINVAL;
    int rc = frame_alloc(out, tid);
    if (rc < 0)
        return rc;
    (*out)->kind = MSRP_REQUEST;
    if (!((*out)->method = strdup(method))) {
        msrpgw_frame_free(*out);
        return -ENOMEM;
    }
    return 0;
}

MSRPGW_API int msrpgw_frame_new_response(struct msrpgw_frame **out, const char *tid, int code,
                                         const char *comment)
{
    if (!tid || code < 100 || code > 999 || (comment && strpbrk(comment, "\r\n")))
        return -EINVAL;
    int rc = frame_alloc(out, tid);
    if (rc < 0)
        return rc;
    (*out)->kind = MSRP_RESPONSE;
    (*out)->status = (uint16_t)code;
    if (comment && !((*out)->comment = strdup(comment))) {
        msrpgw_frame_free(*out);
        return -ENOMEM;
    }
    return 0;
}

MSRPGW_API void msrpgw_frame_free(struct msrpgw_frame *f)
{
    if (!f)
        return;
    for (unsigned i = 0; i < f->n; i++) {
        free(f->h[i].name);
        free(f->h[i].value);
    }
    free(f->method);
    free(f->comment);
    free(f);
}

MSRPGW_API const char *msrpgw_frame_tid(const struct msrpgw_frame *f)
{
    return f->tid;
}

/* A path value split at spaces into slices of the stored text. */
static int split_path(const char *v, struct msrp_slice *out, size_t max)
{
    size_t n = 0;
    while (*v) {
        while (*v == ' ')
            v++;
        if (!*v)
            break;
        const char *e = strchr(v, ' ');
        size_t len = e ? (size_t)(e - v) : strlen(v);
        if (n == max)
            return -EINVAL;
        out[n++] = msrp_slice(v, len);
        v += len;
    }
    return n ? (int)n : -EINVAL;
}

/* Checks a typed header's value the way the writer will use it. */
static int check_value(enum msrp_hdr_id id, const char *v)
{
    size_t n = strlen(v);
    struct msrp_byte_range br;
    enum msrp_report r;
    struct msrp_status_hdr st;
    struct msrp_uri u;
    struct msrp_slice texts[MSRP_PATH_CAP];
    uint32_t secs;
    int k;

    switch (id) {
    case MSRP_H_TO_PATH:
    case MSRP_H_FROM_PATH:
    case MSRP_H_USE_PATH:
        k = split_path(v, texts, MSRP_PATH_CAP);
        for (int i = 0; i < k; i++)
            if (msrp_uri_parse(&u, texts[i].p, texts[i].n, 0) != 0)
                return -EINVAL;
        return k < 0 ? k : 0;
    case MSRP_H_BYTE_RANGE:
        return msrp_byte_range_parse(&br, v, n) ? -EINVAL : 0;
    case MSRP_H_SUCCESS_REPORT:
        return msrp_report_parse(&r, v, n, false) ? -EINVAL : 0;
    case MSRP_H_FAILURE_REPORT:
        return msrp_report_parse(&r, v, n, true) ? -EINVAL : 0;
    case MSRP_H_STATUS:
        return msrp_status_hdr_parse(&st, v, n) ? -EINVAL : 0;
    case MSRP_H_EXPIRES:
    case MSRP_H_MIN_EXPIRES:
    case MSRP_H_MAX_EXPIRES:
        return msrp_expires_parse(&secs, v, n) ? -EINVAL : 0;
    default:
        return 0;
    }
}

MSRPGW_API int msrpgw_frame_add_header(struct msrpgw_frame *f, const char *name,
                                       const char *value)
{
    if (!name || !value || !is_token(name) || strpbrk(value, "\r\n"))
        return -EINVAL;
    enum msrp_hdr_id id = msrp_hdr_lookup(name, strlen(name));
    for (unsigned i = 0; id != MSRP_H_OTHER && i < f->n; i++)
        if (f->h[i].id == id)
            return -EINVAL;
    if (f->n == FRAME_HDR_MAX)
        return -EINVAL;
    int rc = check_value(id, value);
    if (rc < 0)
        return rc;
    struct fhdr *h = &f->h[f->n];
    h->id = id;
    h->name = strdup(name);
    h->value = strdup(value);
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        return -ENOMEM;
    }
    f->n++;
    return 0;
}

static bool frame_has_body(const struct msrpgw_frame *f)
{
    for (unsigned i = 0; i < f->n; i++)
        if (f->h[i].id == MSRP_H_CONTENT_TYPE)
            return true;
    return false;
}

/* The path slices of one struct msrp_wpath, held by the caller. */
struct wpath_store {
    struct msrp_slice texts[MSRP_PATH_CAP];
};

static void set_path(struct msrp_wpath *w, struct wpath_store *st, const char *v)
{
    int n = split_path(v, st->texts, MSRP_PATH_CAP); /* checked when added */
    w->texts = st->texts;
    w->n = n > 0 ? (size_t)n : 0;
}

/* Fills fr from f's headers: typed fields for the headers proto/ models,
 * the rest as extension headers in the order given. */
static void frame_describe(const struct msrpgw_frame *f, struct msrp_frame *fr,
                           struct wpath_store ps[3], struct msrp_wheader *ext)
{
    memset(fr, 0, sizeof(*fr));
    fr->kind = f->kind;
    fr->tid = msrp_slice(f->tid, strlen(f->tid));
    if (f->kind == MSRP_REQUEST) {
        fr->method_name = msrp_slice(f->method, strlen(f->method));
    } else {
        fr->status = f->status;
        if (f->comment)
            fr->comment = msrp_slice(f->comment, strlen(f->comment));
    }
    for (unsigned i = 0; i < f->n; i++) {
        const char *v = f->h[i].value;
        struct msrp_slice s = msrp_slice(v, strlen(v));
        switch (f->h[i].id) {
        case MSRP_H_TO_PATH: set_path(&fr->to_path, &ps[0], v); break;
        case MSRP_H_FROM_PATH: set_path(&fr->from_path, &ps[1], v); break;
        case MSRP_H_USE_PATH: set_path(&fr->use_path, &ps[2], v); break;
        case MSRP_H_MESSAGE_ID: fr->message_id = s; break;
        case MSRP_H_SUCCESS_REPORT: msrp_report_parse(&fr->success_report, v, s.n, false); break;
        case MSRP_H_FAILURE_REPORT: msrp_report_parse(&fr->failure_report, v, s.n, true); break;
        case MSRP_H_BYTE_RANGE:
            fr->has_byte_range = msrp_byte_range_parse(&fr->byte_range, v, s.n) == 0;
            break;
        case MSRP_H_STATUS:
            fr->has_status = msrp_status_hdr_parse(&fr->status_hdr, v, s.n) == 0;
            break;
        case MSRP_H_EXPIRES:
            fr->has_expires = msrp_expires_parse(&fr->expires, v, s.n) == 0;
            break;
        case MSRP_H_MIN_EXPIRES:
            fr->has_min_expires = msrp_expires_parse(&fr->min_expires, v, s.n) == 0;
            break;
        case MSRP_H_MAX_EXPIRES:
            fr->has_max_expires = msrp_expires_parse(&fr->max_expires, v, s.n) == 0;
            break;
        case MSRP_H_AUTHORIZATION: fr->authorization = s; break;
        case MSRP_H_WWW_AUTHENTICATE: fr->www_authenticate = s; break;
        case MSRP_H_AUTHENTICATION_INFO: fr->authentication_info = s; break;
        case MSRP_H_CONTENT_ID: fr->content_id = s; break;
        case MSRP_H_CONTENT_DESCRIPTION: fr->content_description = s; break;
        case MSRP_H_CONTENT_DISPOSITION: fr->content_disposition = s; break;
        case MSRP_H_CONTENT_TYPE: fr->content_type = s; break;
        case MSRP_H_OTHER:
        case MSRP_H__COUNT:
            ext[fr->n_ext].name = msrp_slice(f->h[i].name, strlen(f->h[i].name));
            ext[fr->n_ext].value = s;
            fr->n_ext++;
            break;
        }
    }
    fr->ext = ext;
    fr->has_body = fr->content_type.n > 0;
}

MSRPGW_API int msrpgw_frame_write_head(const struct msrpgw_frame *f, char *buf, size_t cap)
{
    struct msrp_frame fr;
    struct wpath_store ps[3];
    struct msrp_wheader ext[FRAME_HDR_MAX];
    frame_describe(f, &fr, ps, ext);
    if (fr.to_path.n == 0 || fr.from_path.n == 0)
        return -EINVAL;
    return wr_errno(msrp_write_head(buf, cap, &fr));
}

MSRPGW_API int msrpgw_frame_write_end(const struct msrpgw_frame *f, char flag, char *buf,
                                      size_t cap)
{
    if (flag != '$' && flag != '+' && flag != '#')
        return -EINVAL;
    return wr_errno(msrp_write_end_line(buf, cap, msrp_slice(f->tid, strlen(f->tid)), flag,
                                        frame_has_body(f)));
}

MSRPGW_API int msrpgw_frame_check_body(const struct msrpgw_frame *f, const void *body, size_t n)
{
    return msrp_body_check(body, n, msrp_slice(f->tid, strlen(f->tid))) == 0 ? 0 : -EINVAL;
}
