/*
 * uri.c: MSRP URIs and paths (RFC 4975 sections 6, 9; authority per
 * RFC 3986 section 3.2). Owns parsing, canonical formatting and the
 * section 6.1 comparison. Pure: no allocation, no I/O, no globals.
 *
 * The grammar is applied strictly because a URI is both a routing key (the
 * relay looks sessions up by it) and text we echo back into frames: any
 * byte we let through that the grammar forbids (SP, CR, LF, controls) could
 * split a header or a path on the next hop.
 */
#include "proto/uri.h"

#include <arpa/inet.h>
#include <string.h>

#include "proto/error.h"

/* Character classes, one bit each, so each grammar rule is one mask. */
enum {
    C_ALNUM = 1 << 0,  /* ALPHA / DIGIT */
    C_UNRES = 1 << 1,  /* RFC 3986 unreserved: ALPHA DIGIT - . _ ~ */
    C_SUBD = 1 << 2,   /* RFC 3986 sub-delims: ! $ & ' ( ) * + , ; = */
    C_SESS = 1 << 3,   /* session-id: unreserved / + / = / / */
    C_TOKEN = 1 << 4,  /* RFC 4975 token (RFC 3261 token chars) */
};

/* Classes of every byte; letters and digits are in every class but
 * C_SUBD. A table of all 256, so the per-character cost on the hot path
 * (every URI of every frame) is one load and no range test. */
#define C_WORD (C_UNRES | C_SESS | C_TOKEN)
static const unsigned char cls_tab[256] = {
    ['0' ... '9'] = C_ALNUM | C_WORD, ['A' ... 'Z'] = C_ALNUM | C_WORD,
    ['a' ... 'z'] = C_ALNUM | C_WORD,
    ['-'] = C_WORD, ['.'] = C_WORD, ['_'] = C_WORD, ['~'] = C_WORD,
    ['!'] = C_SUBD | C_TOKEN, ['$'] = C_SUBD, ['&'] = C_SUBD,
    ['\''] = C_SUBD | C_TOKEN, ['('] = C_SUBD, [')'] = C_SUBD,
    ['*'] = C_SUBD | C_TOKEN, ['+'] = C_SUBD | C_SESS | C_TOKEN,
    [','] = C_SUBD, [';'] = C_SUBD, ['='] = C_SUBD | C_SESS,
    ['/'] = C_SESS, ['%'] = C_TOKEN, ['`'] = C_TOKEN,
};

static inline unsigned char cls(unsigned char c)
{
    return cls_tab[c];
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return (unsigned)((c | 0x20) - 'a' + 10);
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/*
 * userinfo = *( unreserved / pct-encoded / sub-delims / ":" )
 * reg-name = *( unreserved / pct-encoded / sub-delims ), minus ';' here:
 * in an MSRP URI ';' starts the transport, so a host cannot contain it.
 */
static bool valid_pct_run(const char *s, size_t n, bool is_user)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || !is_hex((unsigned char)s[i + 1]) ||
                !is_hex((unsigned char)s[i + 2]))
                return false;
            i += 2;
            continue;
        }
        if (cls(c) & C_UNRES)
            continue;
        if ((cls(c) & C_SUBD) && (is_user || c != ';'))
            continue;
        if (is_user && c == ':')
            continue;
        return false;
    }
    return true;
}

static bool all_class(const char *s, size_t n, unsigned char mask)
{
    for (size_t i = 0; i < n; i++)
        if (!(cls((unsigned char)s[i]) & mask))
            return false;
    return true;
}

/* URI-parameter list "a=b;c": each is token ["=" token], none empty. */
static bool valid_params(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && s[i] != ';' && s[i] != '=')
            i++;
        if (i == start || !all_class(s + start, i - start, C_TOKEN))
            return false;
        if (i < n && s[i] == '=') {
            size_t v = ++i;
            while (i < n && s[i] != ';')
                i++;
            if (i == v || !all_class(s + v, i - v, C_TOKEN))
                return false;
        }
        if (i < n) { /* at ';' */
            i++;
            if (i == n)
                return false; /* trailing ';' */
        }
    }
    return true;
}

static bool valid_ipv6(const char *s, size_t n)
{
    char tmp[INET6_ADDRSTRLEN + 1];
    unsigned char bin[16];
    if (n == 0 || n >= sizeof(tmp))
        return false;
    /* Only what an IPv6 address is written with: inet_pton reads a C
     * string, so bytes after an embedded NUL would pass unchecked. */
    for (size_t i = 0; i < n; i++)
        if (!is_hex((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
            return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return inet_pton(AF_INET6, tmp, bin) == 1;
}

static bool parse_port(const char *s, size_t n, uint16_t *port)
{
    uint32_t v = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint32_t)(s[i] - '0');
        if (v > 65535)
            return false;
    }
    if (v == 0)
        return false;
    *port = (uint16_t)v;
    return true;
}

static const char *find(const char *p, const char *end, char c)
{
    return memchr(p, c, (size_t)(end - p));
}

int msrp_uri_parse(struct msrp_uri *u, const char *s, size_t n, size_t max_len)
{
    memset(u, 0, sizeof(*u));
    if (max_len && n > max_len)
        return MSRP_E_URI_TOO_LONG;
    if (s == NULL || n == 0)
        return MSRP_E_URI;
    const char *end = s + n;
    const char *p = s;

    /* msrp-scheme "://", case-insensitive. */
    /* "msrp" compared once, then "s://" or "://" (every URI of every frame). */
    if (n < 7 || lower((unsigned char)s[0]) != 'm' || lower((unsigned char)s[1]) != 's' ||
        lower((unsigned char)s[2]) != 'r' || lower((unsigned char)s[3]) != 'p')
        return MSRP_E_URI;
    if (lower((unsigned char)s[4]) == 's' && n >= 8 && memcmp(s + 5, "://", 3) == 0) {
        u->scheme = MSRP_SCHEME_MSRPS;
        p += 8;
    } else if (memcmp(s + 4, "://", 3) == 0) {
        u->scheme = MSRP_SCHEME_MSRP;
        p += 7;
    } else {
        return MSRP_E_URI;
    }

    /*
     * '@' is legal only in the userinfo (not in host, session-id or token),
     * and '/' is legal in none of userinfo/host/port: so an '@' before the
     * first '/' ends the userinfo, which may itself contain ';' and ':'.
     */
    const char *slash = find(p, end, '/');
    const char *auth_end = slash ? slash : end;
    const char *at = find(p, auth_end, '@');
    if (at) {
        if (!valid_pct_run(p, (size_t)(at - p), true))
            return MSRP_E_URI;
        u->user = msrp_slice(p, (size_t)(at - p));
        p = at + 1;
    }

    /* host */
    if (p < end && *p == '[') {
        const char *rb = find(p, auth_end, ']');
        if (!rb || !valid_ipv6(p + 1, (size_t)(rb - p - 1)))
            return MSRP_E_URI;
        u->host = msrp_slice(p + 1, (size_t)(rb - p - 1));
        u->host_is_ipv6 = true;
        p = rb + 1;
    } else {
        /* reg-name, validated as it is scanned (one pass): it ends at
         * ':', ';' or '/', none of which it may contain. */
        const char *h = p;
        while (p < end) {
            unsigned char c = (unsigned char)*p;
            if ((cls(c) & (C_UNRES | C_SUBD)) && c != ';') {
                p++;
            } else if (c == '%' && end - p > 2 && is_hex((unsigned char)p[1]) &&
                       is_hex((unsigned char)p[2])) {
                p += 3;
            } else {
                break;
            }
        }
        if (p == h || (p < end && *p != ':' && *p != ';' && *p != '/'))
            return MSRP_E_URI;
        u->host = msrp_slice(h, (size_t)(p - h));
    }

    /* [":" port] */
    if (p < end && *p == ':') {
        const char *d = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (!parse_port(d, (size_t)(p - d), &u->port))
            return MSRP_E_URI;
        u->has_port = true;
    }

    /* ["/" session-id] */
    if (p < end && *p == '/') {
        const char *d = ++p;
        while (p < end && (cls((unsigned char)*p) & C_SESS))
            p++;
        if (p == d || (p < end && *p != ';'))
            return MSRP_E_URI;
        u->session_id = msrp_slice(d, (size_t)(p - d));
    }

    /* ";" transport, mandatory */
    if (p >= end || *p != ';')
        return MSRP_E_URI;
    const char *t = ++p;
    while (p < end && (cls((unsigned char)*p) & C_ALNUM))
        p++;
    if (p == t || (p < end && *p != ';'))
        return MSRP_E_URI;
    u->transport = msrp_slice(t, (size_t)(p - t));

    /* *( ";" URI-parameter ) */
    if (p < end) {
        p++; /* ';' */
        if (p == end || !valid_params(p, (size_t)(end - p)))
            return MSRP_E_URI;
        u->params = msrp_slice(p, (size_t)(end - p));
    }
    u->raw = msrp_slice(s, n);
    return 0;
}

uint16_t msrp_uri_port(const struct msrp_uri *u)
{
    return u->has_port ? u->port : MSRP_DEFAULT_PORT;
}

/* Appends to a snprintf-style buffer: always counts, writes what fits. */
struct out {
    char *buf;
    size_t cap;
    size_t len;
};

static void put(struct out *o, const char *s, size_t n, bool lowercase)
{
    for (size_t i = 0; i < n; i++) {
        if (o->len + 1 < o->cap)
            o->buf[o->len] = lowercase ? (char)lower((unsigned char)s[i]) : s[i];
        o->len++;
    }
}

size_t msrp_uri_format(const struct msrp_uri *u, char *buf, size_t cap)
{
    struct out o = { buf, cap, 0 };
    char port[8];

    /* Scheme and transport are case-insensitive: lower case is canonical. */
    if (u->scheme == MSRP_SCHEME_MSRPS)
        put(&o, "msrps://", 8, false);
    else
        put(&o, "msrp://", 7, false);
    if (u->user.n) {
        put(&o, u->user.p, u->user.n, false);
        put(&o, "@", 1, false);
    }
    if (u->host_is_ipv6)
        put(&o, "[", 1, false);
    put(&o, u->host.p, u->host.n, false);
    if (u->host_is_ipv6)
        put(&o, "]", 1, false);
    if (u->has_port) {
        /* Decimal without leading zeros, whatever the input had. */
        size_t k = sizeof(port);
        unsigned v = u->port;
        do {
            port[--k] = (char)('0' + v % 10);
            v /= 10;
        } while (v && k > 1);
        port[--k] = ':';
        put(&o, port + k, sizeof(port) - k, false);
    }
    if (u->session_id.n) {
        put(&o, "/", 1, false);
        put(&o, u->session_id.p, u->session_id.n, false);
    }
    put(&o, ";", 1, false);
    put(&o, u->transport.p, u->transport.n, true);
    if (u->params.n) {
        put(&o, ";", 1, false);
        put(&o, u->params.p, u->params.n, false);
    }
    if (cap)
        buf[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len;
}

/*
 * Next comparison unit of an authority component after RFC 3986
 * percent-encoding normalisation: an encoded unreserved character counts
 * as the character itself; other encodings stay distinct from the literal
 * (tagged with 0x100) but compare case-insensitively on their hex digits.
 * Letters are folded: hosts compare case-insensitively.
 */
static unsigned next_unit(const struct msrp_slice *s, size_t *i)
{
    unsigned char c = (unsigned char)s->p[*i];
    if (c == '%' && *i + 2 < s->n) {
        unsigned v = hex_val((unsigned char)s->p[*i + 1]) << 4 |
                     hex_val((unsigned char)s->p[*i + 2]);
        *i += 3;
        if (cls((unsigned char)v) & C_UNRES)
            return lower((unsigned char)v);
        return 0x100 | v;
    }
    *i += 1;
    return lower(c);
}

static bool host_equal(const struct msrp_uri *a, const struct msrp_uri *b)
{
    if (a->host_is_ipv6 != b->host_is_ipv6)
        return false;
    if (a->host_is_ipv6) {
        /* Address equivalence: "2001:DB8::1" equals "2001:db8:0::1". */
        char ta[INET6_ADDRSTRLEN + 1], tb[INET6_ADDRSTRLEN + 1];
        unsigned char ba[16], bb[16];
        if (a->host.n >= sizeof(ta) || b->host.n >= sizeof(tb))
            return false;
        memcpy(ta, a->host.p, a->host.n);
        ta[a->host.n] = '\0';
        memcpy(tb, b->host.p, b->host.n);
        tb[b->host.n] = '\0';
        if (inet_pton(AF_INET6, ta, ba) != 1 || inet_pton(AF_INET6, tb, bb) != 1)
            return false;
        return memcmp(ba, bb, 16) == 0;
    }
    size_t i = 0, j = 0;
    while (i < a->host.n && j < b->host.n)
        if (next_unit(&a->host, &i) != next_unit(&b->host, &j))
            return false;
    return i == a->host.n && j == b->host.n;
}

/*
 * RFC 4975 section 6.1, rule by rule:
 *  - the scheme must match (parsed case-insensitively into an enum);
 *  - userinfo is not considered; the host is compared as an address for
 *    IP literals, else case-insensitively after percent-decoding;
 *  - "If the port exists explicitly in either URI, then it MUST match
 *    exactly. A URI with an explicit port is never equivalent to another
 *    with no port specified": so has_port takes part, and an absent port
 *    is NOT the default port here (msrp_uri_port() is for connecting);
 *  - the session-id is case-sensitive; absent never equals present;
 *  - transports must match, case-insensitively;
 *  - other URI parameters are not compared.
 */
bool msrp_uri_equal(const struct msrp_uri *a, const struct msrp_uri *b)
{
    if (a->scheme != b->scheme)
        return false;
    if (a->has_port != b->has_port || (a->has_port && a->port != b->port))
        return false;
    if (!msrp_slice_eq(a->session_id, b->session_id))
        return false;
    if (!msrp_slice_caseeq(a->transport, b->transport))
        return false;
    return host_equal(a, b);
}

struct keyw {
    char *p;
    size_t cap, n;
};

static void key_put(struct keyw *w, char c)
{
    if (w->n < w->cap)
        w->p[w->n] = c;
    w->n++;
}

static void key_puts(struct keyw *w, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        key_put(w, s[i]);
}

/* The host as msrp_uri_equal compares it: an IPv6 literal as its address
 * (16 bytes), else unit by unit (lowercase, unreserved escapes decoded,
 * reserved ones kept as "%XX" in upper case). */
static void key_host(struct keyw *w, const struct msrp_uri *u)
{
    if (u->host_is_ipv6) {
        char t[INET6_ADDRSTRLEN + 1];
        unsigned char a[16];
        if (u->host.n < sizeof(t)) {
            memcpy(t, u->host.p, u->host.n);
            t[u->host.n] = '\0';
            if (inet_pton(AF_INET6, t, a) == 1) {
                key_put(w, '6');
                key_puts(w, (const char *)a, sizeof(a));
                return;
            }
        }
        /* Never equal to anything (host_equal fails): a key of its own. */
        key_put(w, '!');
        key_puts(w, u->raw.p, u->raw.n);
        return;
    }
    key_put(w, '4');
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < u->host.n;) {
        unsigned v = next_unit(&u->host, &i);
        if (v < 0x100) {
            key_put(w, (char)v);
        } else {
            key_put(w, '%');
            key_put(w, hex[(v >> 4) & 15]);
            key_put(w, hex[v & 15]);
        }
    }
}

size_t msrp_uri_key(const struct msrp_uri *u, char *buf, size_t cap)
{
    struct keyw w = { buf, cap, 0 };
    key_put(&w, u->scheme == MSRP_SCHEME_MSRPS ? 's' : 'p');
    if (u->has_port) {
        key_put(&w, 'P');
        key_put(&w, (char)(u->port >> 8));
        key_put(&w, (char)(u->port & 0xff));
    } else {
        key_put(&w, '-');
    }
    for (size_t i = 0; i < u->transport.n; i++)
        key_put(&w, (char)lower((unsigned char)u->transport.p[i]));
    key_put(&w, ' ');
    key_puts(&w, u->session_id.p, u->session_id.n);
    key_put(&w, ' ');
    key_host(&w, u);
    return w.n;
}

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Length of the separator at s[0..n): 1*( SP / HTAB / CRLF 1*WSP ).
 * A CR or LF not part of a fold is left for the URI parser to reject.
 */
static size_t sep_len(const char *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        if (i < n && is_wsp(s[i])) {
            i++;
        } else if (i + 2 < n && s[i] == '\r' && s[i + 1] == '\n' && is_wsp(s[i + 2])) {
            i += 3;
        } else {
            return i;
        }
    }
}

int msrp_path_parse(struct msrp_uri *out, size_t max, const char *s, size_t n,
                    size_t max_uri_len)
{
    size_t count = 0;
    size_t i = 0;
    if (s == NULL)
        return MSRP_E_URI;
    i += sep_len(s, n);
    while (i < n) {
        size_t start = i;
        if (count == max)
            return MSRP_E_TOO_MANY_URIS;
        /* Fast path: the URI usually ends at the next SP (or the end),
         * found by memchr. The URI grammar admits no HTAB, CR or LF, so a
         * span that parses holds none, and is exactly the token the byte
         * scan below would find. A span that does not parse is rescanned
         * byte by byte, so errors and folded paths come out as before. */
        const char *sp = memchr(s + i, ' ', n - i);
        size_t end = sp ? (size_t)(sp - s) : n;
        if (msrp_uri_parse(&out[count], s + start, end - start, max_uri_len) == 0) {
            i = end;
        } else {
            while (i < n && !is_wsp(s[i]) && !(s[i] == '\r' && sep_len(s + i, n - i)))
                i++;
            int rc = msrp_uri_parse(&out[count], s + start, i - start, max_uri_len);
            if (rc < 0)
                return rc;
        }
        count++;
        i += sep_len(s + i, n - i);
    }
    if (count == 0)
        return MSRP_E_URI;
    return (int)count;
}
