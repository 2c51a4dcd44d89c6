/*
 * writer.c: serializes MSRP frame heads, end-lines, responses and REPORTs
 * into caller buffers, and checks bodies for their own end-line.
 *
 * Every byte goes through one bounded appender (struct wbuf) that records
 * overflow instead of writing past cap, so no code path can overrun the
 * buffer whatever the sizes; the result is checked once at the end.
 */
#include "proto/writer.h"

#include <string.h>

#include "proto/endscan.h"

struct wbuf {
    char *p;
    size_t cap;
    size_t len;
    int err; /* first error seen; 0 while fine */
};

static void w_bytes(struct wbuf *w, const char *s, size_t n)
{
    if (w->err)
        return;
    if (n > w->cap - w->len) {
        w->err = MSRP_E_NOSPACE;
        return;
    }
    if (n)
        memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void w_str(struct wbuf *w, const char *s)
{
    w_bytes(w, s, strlen(s));
}

static void w_fail(struct wbuf *w, int err)
{
    if (!w->err)
        w->err = err;
}

/* Does any byte of x equal CR, LF or NUL? The has-a-zero-byte test
 * ((v - 0x01..) & ~v & 0x80..) is exact for "any", applied to x, x ^ CR..
 * and x ^ LF..: eight bytes in about a dozen instructions. */
static inline bool word_has_crlf_nul(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t a = x ^ (ones * '\r'), b = x ^ (ones * '\n');
    return (((x - ones) & ~x) | ((a - ones) & ~a) | ((b - ones) & ~b)) & highs;
}

/* A header value never carries CR, LF or NUL: they would end the line.
 * Checked a word at a time (every header of every chunk passes here). */
static void w_value(struct wbuf *w, struct msrp_slice v)
{
    size_t i = 0;
    bool bad = false;
    for (; i + 8 <= v.n && !bad; i += 8) {
        uint64_t x;
        memcpy(&x, v.p + i, 8);
        bad = word_has_crlf_nul(x);
    }
    for (; i < v.n && !bad; i++)
        bad = v.p[i] == '\r' || v.p[i] == '\n' || v.p[i] == '\0';
    if (bad) {
        w_fail(w, MSRP_E_HEADER_VALUE);
        return;
    }
    w_bytes(w, v.p, v.n);
}

static void w_u64(struct wbuf *w, uint64_t v)
{
    char tmp[20];
    size_t k = sizeof(tmp);
    do {
        tmp[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    w_bytes(w, tmp + k, sizeof(tmp) - k);
}

static void w_3digits(struct wbuf *w, unsigned v)
{
    char d[3] = { (char)('0' + v / 100 % 10), (char)('0' + v / 10 % 10), (char)('0' + v % 10) };
    w_bytes(w, d, 3);
}

/* RFC 4975 ident: ALPHANUM (1) first, then ident-char (2): alphanum . - + % =
 * One lookup per byte: a tid is checked for every head and end-line. */
static const unsigned char ident_cls[256] = {
    ['0' ... '9'] = 3, ['A' ... 'Z'] = 3, ['a' ... 'z'] = 3,
    ['.'] = 2,         ['-'] = 2,         ['+'] = 2,
    ['%'] = 2,         ['='] = 2,
};

static bool is_alnum(unsigned char c)
{
    return ident_cls[c] & 1;
}

/* ident = ALPHANUM *ident-char, bounded by what the parser can echo. */
static bool valid_tid(struct msrp_slice t)
{
    if (t.p == NULL || t.n == 0 || t.n > MSRP_TID_CAP || !is_alnum((unsigned char)t.p[0]))
        return false;
    unsigned char all = 2;
    for (size_t i = 1; i < t.n; i++)
        all &= ident_cls[(unsigned char)t.p[i]];
    return all != 0;
}

static bool valid_token(struct msrp_slice t)
{
    if (t.n == 0)
        return false;
    for (size_t i = 0; i < t.n; i++) {
        unsigned char c = (unsigned char)t.p[i];
        if (!is_alnum(c) && !strchr("-.!%*_+`'~", c))
            return false;
    }
    return true;
}

static void w_tid(struct wbuf *w, struct msrp_slice tid)
{
    if (!valid_tid(tid))
        w_fail(w, MSRP_E_TID);
    w_bytes(w, tid.p, tid.n);
}

static void w_header(struct wbuf *w, const char *name, struct msrp_slice v)
{
    if (v.n == 0)
        return;
    w_str(w, name);
    w_bytes(w, ": ", 2);
    w_value(w, v);
    w_bytes(w, "\r\n", 2);
}

static void w_path(struct wbuf *w, const char *name, const struct msrp_wpath *pa)
{
    if (pa->n == 0)
        return;
    if ((pa->uris == NULL) == (pa->texts == NULL)) {
        w_fail(w, MSRP_E_INVALID);
        return;
    }
    w_str(w, name);
    w_bytes(w, ": ", 2);
    for (size_t i = 0; i < pa->n; i++) {
        if (i)
            w_bytes(w, " ", 1);
        if (pa->uris) {
            /* Parsed: the URI grammar already excluded SP, HTAB, CR, LF
             * and NUL (and these paths go out with every chunk). */
            w_bytes(w, pa->uris[i].raw.p, pa->uris[i].raw.n);
            continue;
        }
        struct msrp_slice s = pa->texts[i];
        /* A URI with a space would read as two path entries. */
        if (s.n == 0 || memchr(s.p, ' ', s.n) || memchr(s.p, '\t', s.n))
            w_fail(w, MSRP_E_URI);
        w_value(w, s);
    }
    w_bytes(w, "\r\n", 2);
}

static const char *report_name(enum msrp_report r)
{
    static const char *const names[] = {
        [MSRP_REPORT_YES] = "yes",
        [MSRP_REPORT_NO] = "no",
        [MSRP_REPORT_PARTIAL] = "partial",
    };
    return (r > MSRP_REPORT_ABSENT && r <= MSRP_REPORT_PARTIAL) ? names[r] : NULL;
}

static void w_report(struct wbuf *w, const char *name, enum msrp_report r, bool allow_partial)
{
    if (r == MSRP_REPORT_ABSENT)
        return;
    const char *v = report_name(r);
    if (v == NULL || (r == MSRP_REPORT_PARTIAL && !allow_partial)) {
        w_fail(w, MSRP_E_INVALID);
        return;
    }
    w_str(w, name);
    w_bytes(w, ": ", 2);
    w_str(w, v);
    w_bytes(w, "\r\n", 2);
}

static void w_byte_range(struct wbuf *w, const struct msrp_byte_range *br)
{
    /* Same rules as msrp_byte_range_parse, so what we write parses. */
    if (br->start == 0 || br->start == MSRP_BR_STAR ||
        (br->end != MSRP_BR_STAR && br->end + 1 < br->start) ||
        (br->end != MSRP_BR_STAR && br->total != MSRP_BR_STAR && br->end > br->total)) {
        w_fail(w, MSRP_E_BYTE_RANGE);
        return;
    }
    w_str(w, "Byte-Range: ");
    w_u64(w, br->start);
    w_bytes(w, "-", 1);
    if (br->end == MSRP_BR_STAR)
        w_bytes(w, "*", 1);
    else
        w_u64(w, br->end);
    w_bytes(w, "/", 1);
    if (br->total == MSRP_BR_STAR)
        w_bytes(w, "*", 1);
    else
        w_u64(w, br->total);
    w_bytes(w, "\r\n", 2);
}

static void w_status(struct wbuf *w, const struct msrp_status_hdr *st)
{
    if (st->ns > 999 || st->code < 100 || st->code > 999) {
        w_fail(w, MSRP_E_STATUS_HEADER);
        return;
    }
    w_str(w, "Status: ");
    w_3digits(w, st->ns);
    w_bytes(w, " ", 1);
    w_3digits(w, st->code);
    if (st->comment.n) {
        w_bytes(w, " ", 1);
        w_value(w, st->comment);
    }
    w_bytes(w, "\r\n", 2);
}

static void w_u32_header(struct wbuf *w, const char *name, bool has, uint32_t v)
{
    if (!has)
        return;
    w_str(w, name);
    w_bytes(w, ": ", 2);
    w_u64(w, v);
    w_bytes(w, "\r\n", 2);
}

const char *msrp_method_name(enum msrp_method m)
{
    switch (m) {
    case MSRP_M_SEND:
        return "SEND";
    case MSRP_M_REPORT:
        return "REPORT";
    case MSRP_M_AUTH:
        return "AUTH";
    case MSRP_M_UNKNOWN:
        break;
    }
    return NULL;
}

static void w_start_line(struct wbuf *w, const struct msrp_frame *f)
{
    w_bytes(w, "MSRP ", 5);
    w_tid(w, f->tid);
    w_bytes(w, " ", 1);
    if (f->kind == MSRP_REQUEST) {
        if (f->method_name.n) {
            /* method = 1*UPALPHA */
            for (size_t i = 0; i < f->method_name.n; i++)
                if (f->method_name.p[i] < 'A' || f->method_name.p[i] > 'Z')
                    w_fail(w, MSRP_E_METHOD);
            w_bytes(w, f->method_name.p, f->method_name.n);
        } else {
            const char *m = msrp_method_name(f->method);
            if (m == NULL)
                w_fail(w, MSRP_E_METHOD);
            else
                w_str(w, m);
        }
    } else if (f->kind == MSRP_RESPONSE) {
        if (f->status < 100 || f->status > 999)
            w_fail(w, MSRP_E_STATUS_CODE);
        w_3digits(w, f->status);
        if (f->comment.n) {
            w_bytes(w, " ", 1);
            w_value(w, f->comment);
        }
    } else {
        w_fail(w, MSRP_E_INVALID);
    }
    w_bytes(w, "\r\n", 2);
}

/* Everything after To-Path/From-Path, in the documented order. */
static void w_optional(struct wbuf *w, const struct msrp_frame *f)
{
    w_header(w, "Message-ID", f->message_id);
    w_report(w, "Success-Report", f->success_report, false);
    w_report(w, "Failure-Report", f->failure_report, true);
    if (f->has_byte_range)
        w_byte_range(w, &f->byte_range);
    if (f->has_status)
        w_status(w, &f->status_hdr);
    w_u32_header(w, "Expires", f->has_expires, f->expires);
    w_u32_header(w, "Min-Expires", f->has_min_expires, f->min_expires);
    w_u32_header(w, "Max-Expires", f->has_max_expires, f->max_expires);
    w_path(w, "Use-Path", &f->use_path);
    w_header(w, "Authorization", f->authorization);
    w_header(w, "WWW-Authenticate", f->www_authenticate);
    w_header(w, "Authentication-Info", f->authentication_info);
    if (f->n_ext && f->ext == NULL)
        w_fail(w, MSRP_E_INVALID);
    for (size_t i = 0; f->ext && i < f->n_ext; i++) {
        if (!valid_token(f->ext[i].name))
            w_fail(w, MSRP_E_HEADER_SYNTAX);
        w_bytes(w, f->ext[i].name.p, f->ext[i].name.n);
        w_bytes(w, ": ", 2);
        w_value(w, f->ext[i].value);
        w_bytes(w, "\r\n", 2);
    }
    w_header(w, "Content-ID", f->content_id);
    w_header(w, "Content-Description", f->content_description);
    w_header(w, "Content-Disposition", f->content_disposition);
    w_header(w, "Content-Type", f->content_type);
}

static int w_result(const struct wbuf *w)
{
    if (w->err)
        return w->err;
    if (w->len > (size_t)INT32_MAX)
        return MSRP_E_NOSPACE;
    return (int)w->len;
}

static void w_head(struct wbuf *w, const struct msrp_frame *f)
{
    if (f->to_path.n == 0 || f->from_path.n == 0)
        w_fail(w, MSRP_E_INVALID);
    /* RFC 4975: a body needs a Content-Type; responses carry no body. */
    if (f->has_body && (f->content_type.n == 0 || f->kind != MSRP_REQUEST))
        w_fail(w, MSRP_E_INVALID);
    w_start_line(w, f);
    w_path(w, "To-Path", &f->to_path);
    w_path(w, "From-Path", &f->from_path);
    w_optional(w, f);
    if (f->has_body)
        w_bytes(w, "\r\n", 2);
}

int msrp_write_head(char *buf, size_t cap, const struct msrp_frame *f)
{
    struct wbuf w = { buf, buf ? cap : 0, 0, 0 };
    if (f == NULL)
        return MSRP_E_INVALID;
    w_head(&w, f);
    return w_result(&w);
}

static void w_end_line(struct wbuf *w, struct msrp_slice tid, char flag, bool after_body)
{
    if (flag != '$' && flag != '+' && flag != '#')
        w_fail(w, MSRP_E_END_LINE);
    if (after_body)
        w_bytes(w, "\r\n", 2);
    w_bytes(w, "-------", 7);
    w_tid(w, tid);
    w_bytes(w, &flag, 1);
    w_bytes(w, "\r\n", 2);
}

int msrp_write_end_line(char *buf, size_t cap, struct msrp_slice tid, char flag,
                        bool after_body)
{
    struct wbuf w = { buf, buf ? cap : 0, 0, 0 };
    w_end_line(&w, tid, flag, after_body);
    return w_result(&w);
}

int msrp_write_bodiless(char *buf, size_t cap, const struct msrp_frame *f, char flag)
{
    struct wbuf w = { buf, buf ? cap : 0, 0, 0 };
    if (f == NULL || f->has_body)
        return MSRP_E_INVALID;
    w_head(&w, f);
    w_end_line(&w, f->tid, flag, false);
    return w_result(&w);
}

int msrp_write_response(char *buf, size_t cap, const struct msrp_head *req, uint16_t code,
                        const char *comment, const struct msrp_frame *extra)
{
    if (req == NULL || req->kind != MSRP_REQUEST || req->n_to_path == 0 ||
        req->n_from_path == 0)
        return MSRP_E_INVALID;
    struct msrp_frame f;
    if (extra)
        f = *extra;
    else
        memset(&f, 0, sizeof(f));
    f.kind = MSRP_RESPONSE;
    f.tid = req->tid;
    f.status = code;
    f.comment = comment ? msrp_slice(comment, strlen(comment)) : msrp_slice(NULL, 0);
    /* Hop by hop: back to the previous hop, from the node that answers. */
    f.to_path = (struct msrp_wpath){ .uris = &req->from_path[0], .n = 1 };
    f.from_path = (struct msrp_wpath){ .uris = &req->to_path[0], .n = 1 };
    f.has_body = false;
    f.content_type = msrp_slice(NULL, 0);
    return msrp_write_bodiless(buf, cap, &f, '$');
}

int msrp_write_report(char *buf, size_t cap, const struct msrp_head *send,
                      struct msrp_slice tid, const struct msrp_slice *reporter,
                      uint16_t code, const char *comment, const struct msrp_byte_range *br)
{
    if (send == NULL || send->kind != MSRP_REQUEST || send->n_to_path == 0 ||
        send->n_from_path == 0 || send->message_id.n == 0)
        return MSRP_E_INVALID;
    struct msrp_frame f;
    memset(&f, 0, sizeof(f));
    f.kind = MSRP_REQUEST;
    f.method = MSRP_M_REPORT;
    f.tid = tid;
    f.to_path = (struct msrp_wpath){ .uris = send->from_path, .n = send->n_from_path };
    if (reporter)
        f.from_path = (struct msrp_wpath){ .texts = reporter, .n = 1 };
    else
        f.from_path = (struct msrp_wpath){ .uris = &send->to_path[send->n_to_path - 1], .n = 1 };
    f.message_id = send->message_id;
    if (br) {
        f.has_byte_range = true;
        f.byte_range = *br;
    } else if (send->has_byte_range) {
        f.has_byte_range = true;
        f.byte_range = send->byte_range;
    }
    f.has_status = true;
    f.status_hdr.ns = 0;
    f.status_hdr.code = code;
    f.status_hdr.comment = comment ? msrp_slice(comment, strlen(comment)) : msrp_slice(NULL, 0);
    return msrp_write_bodiless(buf, cap, &f, '$');
}

int msrp_body_scan_init(struct msrp_body_scan *s, struct msrp_slice tid)
{
    memset(s, 0, sizeof(*s));
    if (!valid_tid(tid))
        return MSRP_E_TID;
    memcpy(s->pat, "-------", 7);
    memcpy(s->pat + 7, tid.p, tid.n);
    s->len = (uint32_t)(7 + tid.n);
    /* KMP failure function: fail[i] = length of the longest proper border
     * of pat[0..i]. Needed because an ident may itself contain '-'. */
    uint32_t k = 0;
    for (uint32_t i = 1; i < s->len; i++) {
        while (k && s->pat[i] != s->pat[k])
            k = s->fail[k - 1];
        if (s->pat[i] == s->pat[k])
            k++;
        s->fail[i] = (uint8_t)k;
    }
    return 0;
}

int msrp_body_scan_feed(struct msrp_body_scan *s, const char *p, size_t n)
{
    if (s->found)
        return MSRP_E_BODY_HAS_END_LINE;
    if (s->len == 0)
        return MSRP_E_TID;
    uint32_t k = s->match;
    for (size_t i = 0; i < n; i++) {
        if (k == 0) {
            /* Nothing matched yet: skip straight to the next "---" (or
             * dashes cut by the end of p), which every match starts with;
             * random bodies hold a '-' every 256 bytes but almost never
             * three in a row (endscan.c walks 64-byte vector blocks). */
            i += msrp_scan3(p + i, n - i, "---");
            if (i == n)
                break;
        }
        while (k && p[i] != s->pat[k])
            k = s->fail[k - 1];
        if (p[i] == s->pat[k])
            k++;
        if (k == s->len) {
            s->found = true;
            s->match = k;
            return MSRP_E_BODY_HAS_END_LINE;
        }
    }
    s->match = k;
    return 0;
}

int msrp_body_check(const char *body, size_t n, struct msrp_slice tid)
{
    struct msrp_body_scan s;
    int rc = msrp_body_scan_init(&s, tid);
    if (rc < 0)
        return rc;
    return msrp_body_scan_feed(&s, body, n);
}
