/*
 * parser.c: the incremental MSRP frame parser (RFC 4975 section 7,
 * contract in parser.h).
 *
 * Two regimes. The head (start line, header lines, and the end-line of a
 * bodyless frame) is read line by line into the caller's scratch memory,
 * and every decision about a line is taken only once the line is complete
 * or the header budget is exhausted, so the events and error offsets do not
 * depend on how the stream was sliced. The body is never copied: it is
 * scanned for "\r\n-------" tid flag CRLF, keyed on its '\r' (endscan.c
 * finds the next "\r\n-" in 64-byte vector blocks); since a tid cannot
 * contain CR, '\r' occurs only at the start of that pattern and a
 * mismatch restarts cleanly at the next '\r' (linear time). A candidate
 * end-line cut by the end of a feed is held in p->hold until it resolves.
 */
#include "proto/parser.h"

#include <string.h>

#include "proto/endscan.h"

enum {
    S_START = 0,   /* reading a start line (or blank lines between frames) */
    S_HEADERS,     /* reading header lines */
    S_BODY,        /* scanning the body for the end-line */
    S_END_PENDING, /* bodyless frame: HEADERS_END sent, FRAME_END is next */
};

#define DASHES "-------"

void msrp_limits_default(struct msrp_limits *l)
{
    l->max_header_bytes = 16384;
    l->max_headers = 32;
    l->max_path_uris = 8;
    l->max_uri_len = 1024;
    l->max_tid_len = 32;
    l->raw_response_paths = false;
}

static bool clamp16(uint16_t *v, uint16_t cap)
{
    if (*v < 1) {
        *v = 1;
        return true;
    }
    if (*v > cap) {
        *v = cap;
        return true;
    }
    return false;
}

int msrp_limits_check(struct msrp_limits *l)
{
    bool changed = false;
    if (l->max_header_bytes < 1) {
        l->max_header_bytes = 1;
        changed = true;
    }
    changed |= clamp16(&l->max_headers, MSRP_HEADERS_CAP);
    changed |= clamp16(&l->max_path_uris, MSRP_PATH_CAP);
    changed |= clamp16(&l->max_uri_len, UINT16_MAX);
    changed |= clamp16(&l->max_tid_len, MSRP_TID_CAP);
    return changed ? MSRP_E_INVALID : 0;
}

static void head_clear(struct msrp_head *h)
{
    /* Field by field: the arrays make the struct ~10 KiB, too much to
     * memset for every small frame; counts guard them instead. */
    static const struct msrp_slice none = { "", 0 };
    h->method = MSRP_M_UNKNOWN;
    h->method_name = none;
    h->status = 0;
    h->comment = none;
    h->n_headers = 0;
    h->n_to_path = h->n_from_path = h->n_use_path = 0;
    h->message_id = none;
    h->has_byte_range = false;
    h->success_report = h->failure_report = MSRP_REPORT_ABSENT;
    h->has_status = false;
    h->content_type = none;
    h->has_expires = h->has_min_expires = h->has_max_expires = false;
    h->expires = h->min_expires = h->max_expires = 0;
    h->has_body = false;
}

static void frame_reset(struct msrp_parser *p)
{
    p->state = S_START;
    p->path_err = 0;
    p->scratch_len = 0;
    p->line_begin = 0;
    p->match = 0;
    p->held = 0;
    p->body_off = 0;
}

int msrp_parser_init(struct msrp_parser *p, const struct msrp_limits *lim,
                     struct msrp_head *head, char *scratch, size_t scratch_cap)
{
    if (!p || !head || !scratch)
        return MSRP_E_INVALID;
    memset(p, 0, sizeof(*p));
    if (lim) {
        p->lim = *lim;
        if (msrp_limits_check(&p->lim) != 0)
            return MSRP_E_INVALID;
    } else {
        msrp_limits_default(&p->lim);
    }
    if (scratch_cap < p->lim.max_header_bytes)
        return MSRP_E_INVALID;
    p->head = head;
    p->scratch = scratch;
    p->scratch_cap = scratch_cap;
    head_clear(head);
    head->kind = MSRP_REQUEST;
    head->tid = msrp_slice("", 0);
    frame_reset(p);
    return 0;
}

int msrp_parser_set_storage(struct msrp_parser *p, struct msrp_head *head, char *scratch,
                            size_t scratch_cap)
{
    if (!head || !scratch || scratch_cap < p->lim.max_header_bytes || msrp_parser_in_frame(p))
        return MSRP_E_INVALID;
    p->head = head;
    p->scratch = scratch;
    p->scratch_cap = scratch_cap;
    head_clear(head);
    head->kind = MSRP_REQUEST;
    head->tid = msrp_slice("", 0);
    return 0;
}

void msrp_parser_reset(struct msrp_parser *p)
{
    p->err = 0;
    p->err_off = 0;
    frame_reset(p);
}

bool msrp_parser_in_frame(const struct msrp_parser *p)
{
    /* A partly read start line counts: input that stops there is as
     * truncated as input that stops in a body. */
    return p->state != S_START || p->scratch_len > 0;
}

const struct msrp_header *msrp_head_find(const struct msrp_head *h, enum msrp_hdr_id id)
{
    for (uint16_t i = 0; i < h->n_headers; i++)
        if (h->headers[i].id == id)
            return &h->headers[i];
    return NULL;
}

static size_t fail(struct msrp_parser *p, int err, uint64_t off, struct msrp_event *ev)
{
    /* Failing before this frame's start line was parsed: the head still
     * holds the previous frame's fields (their slices into reused memory);
     * a caller answering the failed frame must see no paths at all. */
    if (p->state == S_START && p->head)
        head_clear(p->head);
    p->err = err;
    p->err_off = off;
    ev->type = MSRP_EV_ERROR;
    ev->error = err;
    ev->error_offset = off;
    return 0;
}

/* --- character classes ------------------------------------------------ */

/* One table lookup per byte on the head's hot loops. */
enum { C_ALNUM = 1, C_IDENT = 2, C_TOKEN = 4 };
#define C_AN (C_ALNUM | C_IDENT | C_TOKEN)
static const unsigned char cls[256] = {
    ['0' ... '9'] = C_AN,
    ['A' ... 'Z'] = C_AN,
    ['a' ... 'z'] = C_AN,
    /* RFC 4975 ident-char: alphanum . - + % = */
    ['.'] = C_IDENT | C_TOKEN,
    ['-'] = C_IDENT | C_TOKEN,
    ['+'] = C_IDENT | C_TOKEN,
    ['%'] = C_IDENT | C_TOKEN,
    ['='] = C_IDENT,
    /* RFC 3261 token characters, which RFC 4975 uses for header names */
    ['!'] = C_TOKEN,
    ['*'] = C_TOKEN,
    ['_'] = C_TOKEN,
    ['`'] = C_TOKEN,
    ['\''] = C_TOKEN,
    ['~'] = C_TOKEN,
};
#undef C_AN

static inline bool is_alnum(unsigned char c)
{
    return cls[c] & C_ALNUM;
}

static inline bool is_ident(unsigned char c)
{
    return cls[c] & C_IDENT;
}

static inline bool is_token(unsigned char c)
{
    return cls[c] & C_TOKEN;
}

static inline bool is_flag(unsigned char c)
{
    return c == '$' || c == '+' || c == '#';
}

/* Control bytes other than HTAB have no place in a header line. */
static inline bool is_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

/*
 * Index of the first control byte (not HTAB) in s[0..n), or n. Header
 * values are checked 16 bytes at a time on x86-64 (SSE2, part of the
 * ABI): a byte is flagged when it is at most 0x1f and not HTAB, or 0x7f,
 * and the first flagged byte is the answer. The last partial block is the
 * last 16 bytes of s (bytes already seen hold no control byte), so no load
 * reads outside s. Elsewhere, eight bytes at a time: the word test flags
 * every word holding a byte below 0x20 or equal to 0x7f (and, rarely, a
 * neighbour of one), and only flagged words are looked at byte by byte.
 */
/* The first control byte in s[i..n), or n: byte by byte. */
static inline size_t find_ctl_from(const char *s, size_t i, size_t n)
{
    for (; i < n; i++)
        if (is_ctl((unsigned char)s[i]))
            return i;
    return n;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <emmintrin.h>

static inline unsigned ctl_mask16(const char *s)
{
    const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
    const __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
    const __m128i tab = _mm_cmpeq_epi8(v, _mm_set1_epi8('\t'));
    const __m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_andnot_si128(tab, low), del));
}

static size_t find_ctl(const char *s, size_t n)
{
    size_t i = 0;
    if (n >= 16) {
        for (; i + 16 <= n; i += 16) {
            unsigned m = ctl_mask16(s + i);
            if (m)
                return i + (unsigned)__builtin_ctz(m);
        }
        if (i < n) {
            /* Bits of bytes before i were clear in their own block. */
            unsigned m = ctl_mask16(s + n - 16) >> (16 - (n - i));
            return m ? i + (unsigned)__builtin_ctz(m) : n;
        }
        return n;
    }
    return find_ctl_from(s, 0, n);
}
#else
static size_t find_ctl(const char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, s + i, 8);
        y = x ^ (0x7f * ones);
        if ((((x - 0x20 * ones) & ~x) | ((y - ones) & ~y)) & highs) {
            size_t k = find_ctl_from(s, i, i + 8);
            if (k < i + 8)
                return k;
        }
    }
    if (i < n && n >= 8) {
        /* The tail as the last eight bytes (overlapping bytes already
         * seen, which hold no control byte): one word test, not a loop. */
        uint64_t x, y;
        memcpy(&x, s + n - 8, 8);
        y = x ^ (0x7f * ones);
        if (!((((x - 0x20 * ones) & ~x) | ((y - ones) & ~y)) & highs))
            return n;
    }
    return find_ctl_from(s, i, n);
}
#endif

/* --- start line ---------------------------------------------------------- */

static enum msrp_method method_of(const char *s, size_t n)
{
    if (n == 4 && memcmp(s, "SEND", 4) == 0)
        return MSRP_M_SEND;
    if (n == 6 && memcmp(s, "REPORT", 6) == 0)
        return MSRP_M_REPORT;
    if (n == 4 && memcmp(s, "AUTH", 4) == 0)
        return MSRP_M_AUTH;
    return MSRP_M_UNKNOWN;
}

/*
 * The first bytes of a frame must be "MSRP " (or a stray CRLF between
 * frames). Checked as bytes arrive, so garbage is refused at its first
 * byte rather than after a whole header budget of it.
 */
static bool start_prefix_ok(size_t idx, unsigned char c, unsigned char first)
{
    if (first == '\r')
        return idx == 0 || c == '\n';
    return c == (unsigned char)"MSRP "[idx];
}

/* line[0..n) without its CRLF. Returns 0 or an error with *at its index. */
static int start_line(struct msrp_parser *p, const char *line, size_t n, size_t *at)
{
    struct msrp_head *h = p->head;
    size_t i = 5; /* "MSRP " checked as it arrived */
    size_t tid0 = i;
    /* The budget bounds the loop; an ident byte at the budget's end is
     * one too many. */
    size_t stop = n > tid0 && n - tid0 > p->lim.max_tid_len ? tid0 + p->lim.max_tid_len : n;
    while (i < stop && is_ident((unsigned char)line[i]))
        i++;
    if (i == tid0 + p->lim.max_tid_len && i < n && is_ident((unsigned char)line[i])) {
        *at = i;
        return MSRP_E_TID_TOO_LONG;
    }
    size_t tid_len = i - tid0;
    /* ident = alphanum 3*31(ident-char): at least 4 bytes */
    if (tid_len == 0 || !is_alnum((unsigned char)line[tid0])) {
        *at = tid0;
        return MSRP_E_TID;
    }
    if (i >= n || line[i] != ' ' || tid_len < 4) {
        *at = i;
        return MSRP_E_TID;
    }
    i++;
    head_clear(h);
    h->tid = msrp_slice(line + tid0, tid_len);
    if (i < n && line[i] >= '0' && line[i] <= '9') {
        for (size_t k = 0; k < 3; k++) {
            if (i + k >= n || line[i + k] < '0' || line[i + k] > '9' ||
                (k == 0 && line[i] == '0')) {
                *at = i + k;
                return MSRP_E_STATUS_CODE;
            }
        }
        h->kind = MSRP_RESPONSE;
        h->status = (uint16_t)((line[i] - '0') * 100 + (line[i + 1] - '0') * 10 + (line[i + 2] - '0'));
        i += 3;
        if (i < n) {
            if (line[i] != ' ') {
                *at = i;
                return MSRP_E_STATUS_CODE;
            }
            i++;
            size_t bad = i + find_ctl(line + i, n - i);
            if (bad < n) {
                *at = bad;
                return MSRP_E_START_LINE;
            }
            h->comment = msrp_slice(line + i, n - i);
        }
    } else {
        size_t m0 = i;
        while (i < n && line[i] >= 'A' && line[i] <= 'Z')
            i++;
        if (i == m0 || i != n) {
            *at = i;
            return MSRP_E_METHOD;
        }
        h->kind = MSRP_REQUEST;
        h->method_name = msrp_slice(line + m0, n - m0);
        h->method = method_of(line + m0, n - m0);
    }
    memcpy(p->endline, "\r\n" DASHES, 9);
    memcpy(p->endline + 9, line + tid0, tid_len);
    p->endline_len = (uint32_t)(9 + tid_len);
    return 0;
}

/* --- header lines -------------------------------------------------------- */

/* A To-Path or From-Path of more than max_path_uris URIs: msrp_path_parse
 * has filled the first max_path_uris, which is all a response needs (it
 * names the first URI of each). The error waits for the end of the header
 * section so that the other path is read too and the frame can get its
 * 400 (header_line); any other error r is returned as it is. */
static int path_too_long(struct msrp_parser *p, int r, uint16_t *n_path)
{
    if (r != MSRP_E_TOO_MANY_URIS)
        return r;
    *n_path = p->lim.max_path_uris;
    p->path_err = r;
    return 0;
}

/* Fills the typed field of header e. Errors are about the value. */
static int typed_value(struct msrp_parser *p, const struct msrp_header *e)
{
    struct msrp_head *h = p->head;
    const char *v = e->value.p;
    size_t n = e->value.n;
    int r;
    switch (e->id) {
    case MSRP_H_TO_PATH:
        if (h->n_headers != 0)
            return MSRP_E_DUPLICATE_HEADER;
        if (h->kind == MSRP_RESPONSE && p->lim.raw_response_paths)
            return 0;
        r = msrp_path_parse(h->to_path, p->lim.max_path_uris, v, n, p->lim.max_uri_len);
        if (r < 0)
            return path_too_long(p, r, &h->n_to_path);
        h->n_to_path = (uint16_t)r;
        return 0;
    case MSRP_H_FROM_PATH:
        if (h->n_headers != 1)
            return MSRP_E_DUPLICATE_HEADER;
        if (h->kind == MSRP_RESPONSE && p->lim.raw_response_paths)
            return 0;
        r = msrp_path_parse(h->from_path, p->lim.max_path_uris, v, n, p->lim.max_uri_len);
        if (r < 0)
            return path_too_long(p, r, &h->n_from_path);
        h->n_from_path = (uint16_t)r;
        return 0;
    case MSRP_H_USE_PATH:
        if (h->n_use_path)
            return MSRP_E_DUPLICATE_HEADER;
        r = msrp_path_parse(h->use_path, p->lim.max_path_uris, v, n, p->lim.max_uri_len);
        if (r < 0)
            return r;
        h->n_use_path = (uint16_t)r;
        return 0;
    case MSRP_H_MESSAGE_ID:
        if (h->message_id.n)
            return MSRP_E_DUPLICATE_HEADER;
        /* ident in the RFC; deployed clients also use '@' and the like,
         * so only emptiness and inner whitespace are refused. */
        if (n == 0 || memchr(v, ' ', n) || memchr(v, '\t', n))
            return MSRP_E_HEADER_VALUE;
        h->message_id = e->value;
        return 0;
    case MSRP_H_SUCCESS_REPORT:
        if (h->success_report != MSRP_REPORT_ABSENT)
            return MSRP_E_DUPLICATE_HEADER;
        return msrp_report_parse(&h->success_report, v, n, false);
    case MSRP_H_FAILURE_REPORT:
        if (h->failure_report != MSRP_REPORT_ABSENT)
            return MSRP_E_DUPLICATE_HEADER;
        return msrp_report_parse(&h->failure_report, v, n, true);
    case MSRP_H_BYTE_RANGE:
        if (h->has_byte_range)
            return MSRP_E_DUPLICATE_HEADER;
        r = msrp_byte_range_parse(&h->byte_range, v, n);
        h->has_byte_range = r == 0;
        return r;
    case MSRP_H_STATUS:
        if (h->has_status)
            return MSRP_E_DUPLICATE_HEADER;
        r = msrp_status_hdr_parse(&h->status_hdr, v, n);
        h->has_status = r == 0;
        return r;
    case MSRP_H_CONTENT_TYPE:
        if (h->content_type.n)
            return MSRP_E_DUPLICATE_HEADER;
        if (n == 0)
            return MSRP_E_HEADER_VALUE;
        h->content_type = e->value;
        return 0;
    case MSRP_H_EXPIRES:
        if (h->has_expires)
            return MSRP_E_DUPLICATE_HEADER;
        r = msrp_expires_parse(&h->expires, v, n);
        h->has_expires = r == 0;
        return r;
    case MSRP_H_MIN_EXPIRES:
        if (h->has_min_expires)
            return MSRP_E_DUPLICATE_HEADER;
        r = msrp_expires_parse(&h->min_expires, v, n);
        h->has_min_expires = r == 0;
        return r;
    case MSRP_H_MAX_EXPIRES:
        if (h->has_max_expires)
            return MSRP_E_DUPLICATE_HEADER;
        r = msrp_expires_parse(&h->max_expires, v, n);
        h->has_max_expires = r == 0;
        return r;
    default:
        /* Content-ID/-Description/-Disposition, the auth headers and
         * extensions: verbatim. */
        return 0;
    }
}

/* "-------" tid flag, the whole line; sets p->flag. */
static int end_line(struct msrp_parser *p, const char *line, size_t n, size_t *at)
{
    const struct msrp_slice tid = p->head->tid;
    size_t want = 7 + tid.n + 1;
    /* The usual case in one compare (p->endline is CRLF, dashes, tid); the
     * loop below only finds where a wrong line goes wrong. */
    if (n == want && memcmp(line, p->endline + 2, want - 1) == 0 &&
        is_flag((unsigned char)line[want - 1])) {
        p->flag = line[want - 1];
        return 0;
    }
    size_t i = 0;
    for (; i < n && i < want - 1; i++) {
        char c = i < 7 ? '-' : tid.p[i - 7];
        if (line[i] != c)
            break;
    }
    if (i < want - 1 || n != want || !is_flag((unsigned char)line[i])) {
        *at = i < n && i == want - 1 && is_flag((unsigned char)line[i]) ? want : i;
        return MSRP_E_END_LINE;
    }
    p->flag = line[i];
    return 0;
}

/* A complete header-section line; returns 0 with ev filled or an error. */
static int header_line(struct msrp_parser *p, const char *line, size_t n, size_t *at,
                       struct msrp_event *ev)
{
    struct msrp_head *h = p->head;
    if (n == 0 || line[0] == '-') {
        /* The paths are mandatory and first, in requests and responses. */
        if (h->n_headers < 2) {
            *at = 0;
            return MSRP_E_PATH_ORDER;
        }
        if (p->path_err) { /* reported here, where the head can be answered */
            *at = 0;
            return p->path_err;
        }
        if (n == 0) {
            h->has_body = true;
            p->state = S_BODY;
            /* The blank line's CRLF may double as the CRLF before the
             * end-line: an empty body written without its own CRLF still
             * ends the frame. Counted as matched but not held, so it is
             * never reported as body. */
            p->match = 2;
            p->held = 0;
            p->hold[0] = '\r';
            p->hold[1] = '\n';
            p->body_off = 0;
        } else {
            int r = end_line(p, line, n, at);
            if (r)
                return r;
            p->state = S_END_PENDING;
        }
        ev->type = MSRP_EV_HEADERS_END;
        ev->head = h;
        return 0;
    }
    if (h->n_headers >= p->lim.max_headers) {
        *at = 0;
        return MSRP_E_TOO_MANY_HEADERS;
    }
    size_t i = 0;
    if (!((line[0] | 0x20) >= 'a' && (line[0] | 0x20) <= 'z')) {
        *at = 0;
        return MSRP_E_HEADER_SYNTAX;
    }
    while (i < n && is_token((unsigned char)line[i]))
        i++;
    if (i == n || line[i] != ':') {
        *at = i;
        return MSRP_E_HEADER_SYNTAX;
    }
    struct msrp_header *e = &h->headers[h->n_headers];
    e->name = msrp_slice(line, i);
    e->id = msrp_hdr_lookup(line, i);
    i++;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    size_t v0 = i, end = n;
    while (end > v0 && (line[end - 1] == ' ' || line[end - 1] == '\t'))
        end--;
    size_t bad = v0 + find_ctl(line + v0, end - v0);
    if (bad < end) {
        *at = bad;
        return MSRP_E_HEADER_VALUE;
    }
    e->value = msrp_slice(line + v0, end - v0);
    if ((h->n_headers == 0 && e->id != MSRP_H_TO_PATH) ||
        (h->n_headers == 1 && e->id != MSRP_H_FROM_PATH)) {
        *at = 0;
        return MSRP_E_PATH_ORDER;
    }
    int r = typed_value(p, e);
    if (r) {
        /* a second singleton is wrong as a whole line; a bad value is
         * reported where the value starts */
        *at = r == MSRP_E_DUPLICATE_HEADER ? 0 : v0;
        return r;
    }
    h->n_headers++;
    ev->type = MSRP_EV_HEADER;
    ev->head = h;
    ev->header = e;
    return 0;
}

/* --- line reader --------------------------------------------------------- */

static size_t parse_lines(struct msrp_parser *p, const char *buf, size_t len,
                          struct msrp_event *ev)
{
    size_t used = 0;
    for (;;) {
        const char *in = buf + used;
        size_t avail = len - used;
        size_t have = p->scratch_len - p->line_begin; /* bytes of this line so far */
        if (have == 0)
            p->line_off = p->stream_off + used;
        size_t room = p->lim.max_header_bytes - p->scratch_len;
        size_t n = avail < room ? avail : room;

        if (p->state == S_START) {
            unsigned char first = have ? (unsigned char)p->scratch[p->line_begin]
                                       : (n ? (unsigned char)in[0] : 0);
            size_t lim = first == '\r' ? 2 : 5;
            for (size_t idx = have; idx < lim && idx - have < n; idx++) {
                if (!start_prefix_ok(idx, (unsigned char)in[idx - have], first))
                    return fail(p, MSRP_E_START_LINE, p->line_off + idx, ev);
            }
        }

        const char *lf = n ? memchr(in, '\n', n) : NULL;
        if (!lf) {
            if (n < avail)
                return fail(p, MSRP_E_HEADERS_TOO_LARGE, p->stream_off + used + n, ev);
            memcpy(p->scratch + p->scratch_len, in, n);
            p->scratch_len += n;
            return len; /* MSRP_EV_NONE: need more */
        }
        size_t take = (size_t)(lf - in) + 1;
        memcpy(p->scratch + p->scratch_len, in, take);
        p->scratch_len += take;
        used += take;

        char *line = p->scratch + p->line_begin;
        size_t line_len = p->scratch_len - p->line_begin; /* with LF */
        if (line_len < 2 || line[line_len - 2] != '\r')
            return fail(p, MSRP_E_LINE_ENDING, p->line_off + line_len - 1, ev);
        size_t n_text = line_len - 2;
        const char *cr = memchr(line, '\r', n_text);
        if (cr)
            return fail(p, MSRP_E_LINE_ENDING, p->line_off + (uint64_t)(cr - line), ev);

        size_t at = 0;
        int r;
        if (p->state == S_START) {
            if (n_text == 0) {
                /* stray CRLF between frames: tolerated, not counted */
                p->scratch_len = 0;
                continue;
            }
            r = start_line(p, line, n_text, &at);
            if (r)
                return fail(p, r, p->line_off + at, ev);
            p->state = S_HEADERS;
            ev->type = MSRP_EV_FRAME_START;
            ev->head = p->head;
        } else {
            r = header_line(p, line, n_text, &at, ev);
            if (r)
                return fail(p, r, p->line_off + at, ev);
        }
        p->line_begin = (uint32_t)p->scratch_len;
        return used;
    }
}

/* --- body ---------------------------------------------------------------- */

/* Does byte c extend a candidate end-line whose first m bytes matched? */
static inline bool end_step(const struct msrp_parser *p, uint32_t m, unsigned char c)
{
    uint32_t L = p->endline_len;
    if (m < L)
        return c == (unsigned char)p->endline[m];
    if (m == L)
        return is_flag(c);
    return c == (m == L + 1 ? '\r' : '\n');
}

static size_t frame_end(struct msrp_parser *p, char flag, size_t used, struct msrp_event *ev)
{
    p->flag = flag;
    ev->type = MSRP_EV_FRAME_END;
    ev->head = p->head;
    ev->flag = flag;
    frame_reset(p);
    return used;
}

static size_t body_event(struct msrp_parser *p, const char *s, size_t n, size_t used,
                         struct msrp_event *ev)
{
    ev->type = MSRP_EV_BODY;
    ev->head = p->head;
    ev->body = msrp_slice(s, n);
    ev->body_offset = p->body_off;
    p->body_off += n;
    return used;
}

static size_t parse_body(struct msrp_parser *p, const char *buf, size_t len,
                         struct msrp_event *ev)
{
    const uint32_t full = p->endline_len + 3; /* + flag CR LF */
    size_t i = 0;

    if (p->match) {
        /* A candidate end-line carried over from the previous feed. */
        uint32_t m = p->match;
        while (i < len && end_step(p, m, (unsigned char)buf[i])) {
            p->hold[m++] = buf[i++];
            if (m == full)
                return frame_end(p, p->hold[p->endline_len], i, ev);
        }
        if (i == len) {
            p->match = m;
            p->held += (uint32_t)i;
            return len;
        }
        /* buf[i] breaks it: what was held is body after all. buf[i] itself
         * is left for the scan below or the next call. */
        uint32_t held = p->held + (uint32_t)i;
        p->match = 0;
        p->held = 0;
        if (held)
            return body_event(p, p->hold + (m - held), held, i, ev);
    }

    const char *q = buf + i;
    const char *end = buf + len;
    for (;;) {
        /* The next '\r' followed by "\n-" (or too near the end to tell):
         * the '\r's of random and text bodies are passed over in there. */
        size_t k = (size_t)(q - buf) + msrp_endline_scan(q, (size_t)(end - q)), j = k;
        if (k == len) {
            if (end == buf + i)
                return len;
            return body_event(p, buf + i, len - i, len, ev);
        }
        const char *cr = buf + k;
        uint32_t m = 0;
        /* The end-line itself, whole in this feed (every chunk has one):
         * one compare instead of the byte matcher. A mismatch takes the
         * matcher, which finds where the scan resumes. */
        if (len - k >= full && memcmp(cr, p->endline, p->endline_len) == 0 &&
            is_flag((unsigned char)cr[p->endline_len]) && cr[p->endline_len + 1] == '\r' &&
            cr[p->endline_len + 2] == '\n') {
            m = full;
            j = k + full;
        }
        while (m < full && j < len && end_step(p, m, (unsigned char)buf[j])) {
            m++;
            j++;
            if (m == full)
                break;
        }
        if (m == full || j == len) {
            /* Complete or cut by the feed: report the body before it
             * first, then deal with the candidate from offset 0. */
            if (k > i)
                return body_event(p, buf + i, k - i, k, ev);
            if (m == full)
                return frame_end(p, buf[k + p->endline_len], j, ev);
            memcpy(p->hold, buf + k, m);
            p->match = m;
            p->held = m;
            return len;
        }
        /* Mismatch at j. Bytes k+1..j-1 hold no CR that could start a
         * match (the only later CR of the pattern, after the flag, is
         * followed by LF or the pattern would not have failed at j), so
         * the scan resumes at j, which may itself be '\r'. */
        q = buf + j;
    }
}

size_t msrp_parse(struct msrp_parser *p, const char *buf, size_t len, struct msrp_event *ev)
{
    size_t used;
    ev->type = MSRP_EV_NONE;
    if (p->err) {
        ev->type = MSRP_EV_ERROR;
        ev->error = p->err;
        ev->error_offset = p->err_off;
        return 0;
    }
    /* Nothing to scan (buf may then be NULL); only a pending FRAME_END
     * can still be reported. */
    if (len == 0 && p->state != S_END_PENDING)
        return 0;
    switch (p->state) {
    case S_BODY:
        used = parse_body(p, buf, len, ev);
        break;
    case S_END_PENDING:
        used = frame_end(p, p->flag, 0, ev);
        break;
    default:
        used = parse_lines(p, buf, len, ev);
        break;
    }
    p->stream_off += used;
    return used;
}
