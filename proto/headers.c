/*
 * headers.c: MSRP header names and the grammars of single header values
 * (RFC 4975 section 9, RFC 4976 section 5). Values reach these functions
 * already trimmed by the frame parser, so each grammar is applied strictly:
 * a value that parses here can be echoed onto the next hop unchanged.
 */
#include "proto/headers.h"

#include <string.h>

#include "proto/error.h"

struct hdr_name {
    const char *lower; /* lowercase spelling: the lookup key */
    const char *canon; /* spelling we write */
    unsigned char len;
};

#define H(id, lower, canon) [id] = { lower, canon, sizeof(lower) - 1 }
static const struct hdr_name names[MSRP_H__COUNT] = {
    H(MSRP_H_TO_PATH, "to-path", "To-Path"),
    H(MSRP_H_FROM_PATH, "from-path", "From-Path"),
    H(MSRP_H_MESSAGE_ID, "message-id", "Message-ID"),
    H(MSRP_H_SUCCESS_REPORT, "success-report", "Success-Report"),
    H(MSRP_H_FAILURE_REPORT, "failure-report", "Failure-Report"),
    H(MSRP_H_BYTE_RANGE, "byte-range", "Byte-Range"),
    H(MSRP_H_STATUS, "status", "Status"),
    H(MSRP_H_CONTENT_TYPE, "content-type", "Content-Type"),
    H(MSRP_H_CONTENT_ID, "content-id", "Content-ID"),
    H(MSRP_H_CONTENT_DESCRIPTION, "content-description", "Content-Description"),
    H(MSRP_H_CONTENT_DISPOSITION, "content-disposition", "Content-Disposition"),
    H(MSRP_H_EXPIRES, "expires", "Expires"),
    H(MSRP_H_MIN_EXPIRES, "min-expires", "Min-Expires"),
    H(MSRP_H_MAX_EXPIRES, "max-expires", "Max-Expires"),
    H(MSRP_H_USE_PATH, "use-path", "Use-Path"),
    H(MSRP_H_WWW_AUTHENTICATE, "www-authenticate", "WWW-Authenticate"),
    H(MSRP_H_AUTHORIZATION, "authorization", "Authorization"),
    H(MSRP_H_AUTHENTICATION_INFO, "authentication-info", "Authentication-Info"),
};
#undef H

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

const char *msrp_hdr_name(enum msrp_hdr_id id)
{
    if (id <= MSRP_H_OTHER || id >= MSRP_H__COUNT)
        return NULL;
    return names[id].canon;
}

/* Word of 8 (or 4) bytes at p. */
static inline uint64_t load64(const char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

static inline uint32_t load32(const char *p)
{
    uint32_t x;
    memcpy(&x, p, 4);
    return x;
}

/*
 * name[0..n) equals the known name lc (lowercase letters and '-', n >= 6)
 * in any case, eight bytes at a time (overlapping at the end). lc's bit
 * 0x40 is set exactly on its letters, so ((lc & 0x40..) >> 1) ORs 0x20 into
 * the letter positions of name only: 'A'..'Z' become 'a'..'z' there, while
 * a '-' position still needs '-' itself (0x0d | 0x20 would be '-' too).
 */
static bool name_caseeq(const char *name, const char *lc, size_t n)
{
    if (n < 8) {
        uint32_t a = load32(lc), b = load32(lc + n - 4);
        return (load32(name) | ((a & 0x40404040u) >> 1)) == a &&
               (load32(name + n - 4) | ((b & 0x40404040u) >> 1)) == b;
    }
    for (size_t i = 0;; i += 8) {
        if (i + 8 > n)
            i = n - 8;
        uint64_t m = load64(lc + i);
        if ((load64(name + i) | ((m & 0x4040404040404040ull) >> 1)) != m)
            return false;
        if (i + 8 == n)
            return true;
    }
}

/*
 * Called for every header line of every frame: the length picks at most
 * three candidates and the first letter nearly always settles it before
 * any byte loop.
 */
enum msrp_hdr_id msrp_hdr_lookup(const char *name, size_t n)
{
    /* Candidates by length (at most three share one), 0-terminated. */
    static const unsigned char by_len[20][4] = {
        [6] = { MSRP_H_STATUS },
        [7] = { MSRP_H_TO_PATH, MSRP_H_EXPIRES },
        [8] = { MSRP_H_USE_PATH },
        [9] = { MSRP_H_FROM_PATH },
        [10] = { MSRP_H_MESSAGE_ID, MSRP_H_BYTE_RANGE, MSRP_H_CONTENT_ID },
        [11] = { MSRP_H_MIN_EXPIRES, MSRP_H_MAX_EXPIRES },
        [12] = { MSRP_H_CONTENT_TYPE },
        [13] = { MSRP_H_AUTHORIZATION },
        [14] = { MSRP_H_SUCCESS_REPORT, MSRP_H_FAILURE_REPORT },
        [16] = { MSRP_H_WWW_AUTHENTICATE },
        [19] = { MSRP_H_CONTENT_DESCRIPTION, MSRP_H_CONTENT_DISPOSITION,
                 MSRP_H_AUTHENTICATION_INFO },
    };
    if (n < 6 || n >= 20)
        return MSRP_H_OTHER;
    unsigned char c0 = lower((unsigned char)name[0]);
    for (const unsigned char *id = by_len[n]; *id; id++) {
        const struct hdr_name *e = &names[*id];
        if ((unsigned char)e->lower[0] == c0 && name_caseeq(name, e->lower, n))
            return (enum msrp_hdr_id)*id;
    }
    return MSRP_H_OTHER;
}

/*
 * 1*DIGIT into *out, stopping at the first non-digit; returns the digits
 * read (0: none) or -1 when the value exceeds max.
 */
static long parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    /* v * 10 + d > max exactly when v > max / 10, or v == max / 10 and
     * d > max % 10: one division per field, not one per digit. */
    const uint64_t vmax = max / 10, dmax = max % 10;
    uint64_t v = 0;
    size_t i = 0;
    while (i < n && is_digit(s[i])) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > vmax || (v == vmax && d > dmax))
            return -1;
        v = v * 10 + d;
        i++;
    }
    *out = v;
    return (long)i;
}

/* One Byte-Range field: digits (below the '*' sentinel) or "*". */
static long br_field(const char *s, size_t n, bool star_ok, uint64_t *out)
{
    if (star_ok && n > 0 && s[0] == '*') {
        *out = MSRP_BR_STAR;
        return 1;
    }
    long k = parse_u64(s, n, MSRP_BR_MAX, out);
    return k <= 0 ? -1 : k;
}

int msrp_byte_range_parse(struct msrp_byte_range *br, const char *s, size_t n)
{
    uint64_t start, end, total;
    size_t i = 0;
    long k = br_field(s, n, false, &start);
    if (k < 0)
        return MSRP_E_BYTE_RANGE;
    i += (size_t)k;
    if (i >= n || s[i++] != '-')
        return MSRP_E_BYTE_RANGE;
    k = br_field(s + i, n - i, true, &end);
    if (k < 0)
        return MSRP_E_BYTE_RANGE;
    i += (size_t)k;
    if (i >= n || s[i++] != '/')
        return MSRP_E_BYTE_RANGE;
    k = br_field(s + i, n - i, true, &total);
    if (k < 0 || i + (size_t)k != n)
        return MSRP_E_BYTE_RANGE;
    /* start is 1-based; end = start - 1 is the empty range ("1-0/0"). */
    if (start == 0)
        return MSRP_E_BYTE_RANGE;
    if (end != MSRP_BR_STAR && end < start - 1)
        return MSRP_E_BYTE_RANGE;
    if (end != MSRP_BR_STAR && total != MSRP_BR_STAR && end > total)
        return MSRP_E_BYTE_RANGE;
    /* A chunk starts inside the message, or just after it (empty). */
    if (total != MSRP_BR_STAR && start - 1 > total)
        return MSRP_E_BYTE_RANGE;
    br->start = start;
    br->end = end;
    br->total = total;
    return 0;
}

static bool word_caseeq(const char *s, size_t n, const char *lit, size_t litn)
{
    if (n != litn)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return false;
    return true;
}

int msrp_report_parse(enum msrp_report *r, const char *s, size_t n, bool allow_partial)
{
    /* ABNF literals are case-insensitive (RFC 5234 section 2.3). */
    if (word_caseeq(s, n, "yes", 3))
        *r = MSRP_REPORT_YES;
    else if (word_caseeq(s, n, "no", 2))
        *r = MSRP_REPORT_NO;
    else if (allow_partial && word_caseeq(s, n, "partial", 7))
        *r = MSRP_REPORT_PARTIAL;
    else
        return MSRP_E_REPORT_VALUE;
    return 0;
}

static bool three_digits(const char *s, size_t n)
{
    return n >= 3 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]);
}

int msrp_status_hdr_parse(struct msrp_status_hdr *st, const char *s, size_t n)
{
    /* namespace SP status-code [SP comment] */
    if (!three_digits(s, n) || n < 7 || s[3] != ' ' || !three_digits(s + 4, n - 4))
        return MSRP_E_STATUS_HEADER;
    if (s[4] == '0')
        return MSRP_E_STATUS_HEADER; /* codes are 100..999 */
    if (n > 7 && s[7] != ' ')
        return MSRP_E_STATUS_HEADER;
    for (size_t i = 8; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return MSRP_E_STATUS_HEADER;
    }
    st->ns = (uint16_t)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
    st->code = (uint16_t)((s[4] - '0') * 100 + (s[5] - '0') * 10 + (s[6] - '0'));
    st->comment = n > 8 ? msrp_slice(s + 8, n - 8) : msrp_slice("", 0);
    return 0;
}

int msrp_expires_parse(uint32_t *out, const char *s, size_t n)
{
    uint64_t v;
    long k = parse_u64(s, n, UINT32_MAX, &v);
    if (k <= 0 || (size_t)k != n)
        return MSRP_E_EXPIRES;
    *out = (uint32_t)v;
    return 0;
}
