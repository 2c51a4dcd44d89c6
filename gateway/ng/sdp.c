/*
 * sdp.c: owns the SDP line scanner, the parse of MSRP media sections and
 * the rewrite that anchors them (API and rules in sdp.h).
 *
 * One walker serves both: the session part lends its c= and a=setup to the
 * media sections; section() parses one media section and says where it
 * ends. The rewrite validates the whole body first (so it never fails half
 * way for a reason other than space), then copies everything outside the
 * MSRP sections as byte ranges and rebuilds only the lines it changes.
 */
#include "gateway/ng/sdp.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

struct line {
    const char *p;  /* content, line ending excluded */
    size_t n;
    size_t eol;     /* bytes of line ending after p[n]: 2 CRLF, 1 LF, 0 none (last line) */
};

/* The next line of s[*pos..n): 1, 0 at the end, -EINVAL for a NUL, a bare
 * CR or an over-long line. */
static int next_line(const char *s, size_t n, size_t *pos, struct line *l)
{
    if (*pos >= n)
        return 0;
    const char *p = s + *pos;
    size_t left = n - *pos;
    const char *lf = memchr(p, '\n', left);
    size_t len = lf ? (size_t)(lf - p) : left;
    size_t eol = lf ? 1 : 0;
    if (lf && len > 0 && p[len - 1] == '\r') {
        len--;
        eol = 2;
    }
    if (len > NG_SDP_MAX_LINE || memchr(p, '\0', len) || memchr(p, '\r', len))
        return -EINVAL;
    *l = (struct line){ p, len, eol };
    *pos += len + eol;
    return 1;
}

static bool is_type(const struct line *l, char t)
{
    return l->n >= 2 && l->p[0] == t && l->p[1] == '=';
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static struct msrp_slice trim(struct msrp_slice v)
{
    while (v.n && is_ws(v.p[0]))
        v.p++, v.n--;
    while (v.n && is_ws(v.p[v.n - 1]))
        v.n--;
    return v;
}

/* Every byte visible ASCII (or SP when sp_ok): no control bytes in a value
 * we hand on or write. */
static bool visible(const char *p, size_t n, bool sp_ok)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!((c > 0x20 && c < 0x7f) || (c == ' ' && sp_ok)))
            return false;
    }
    return true;
}

static bool is(struct msrp_slice v, const char *lit)
{
    return msrp_slice_caseeq(v, msrp_slice(lit, strlen(lit)));
}

/* The next SP-separated token of [*p, end), advancing *p past it. */
static struct msrp_slice token(const char **p, const char *end)
{
    while (*p < end && **p == ' ')
        (*p)++;
    const char *b = *p;
    while (*p < end && **p != ' ')
        (*p)++;
    return msrp_slice(b, (size_t)(*p - b));
}

/* Decimal digits only, value <= max. */
static bool parse_uint(struct msrp_slice v, uint64_t max, uint64_t *out)
{
    uint64_t x = 0;
    if (!v.n)
        return false;
    for (size_t i = 0; i < v.n; i++) {
        unsigned d = (unsigned)(unsigned char)v.p[i] - '0';
        if (d > 9 || x > (max - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *out = x;
    return true;
}

/* RFC 4145 section 4 roles (ABNF literals: case-insensitive). */
static const char *const setup_roles[] = { "active", "passive", "actpass", "holdconn" };

static bool setup_ok(struct msrp_slice v)
{
    for (size_t i = 0; i < sizeof(setup_roles) / sizeof(setup_roles[0]); i++)
        if (is(v, setup_roles[i]))
            return true;
    return false;
}

enum attr { A_OTHER, A_PATH, A_SETUP, A_MAX_SIZE, A_ACCEPT_TYPES, A_CEMA };

static const struct {
    const char *name;
    enum attr a;
} attrs[] = {
    { "path", A_PATH },
    { "setup", A_SETUP },
    { "max-size", A_MAX_SIZE },
    { "accept-types", A_ACCEPT_TYPES },
    { "msrp-cema", A_CEMA },
};

/* Which a= attribute l is; *prefix = bytes up to and including the ':'
 * (the part a rewrite keeps), *val = the trimmed value. */
static enum attr attr_of(const struct line *l, size_t *prefix, struct msrp_slice *val)
{
    const char *colon = memchr(l->p + 2, ':', l->n - 2);
    size_t name_end = colon ? (size_t)(colon - l->p) : l->n;
    struct msrp_slice name = msrp_slice(l->p + 2, name_end - 2);
    *prefix = colon ? name_end + 1 : l->n;
    *val = trim(msrp_slice(l->p + *prefix, l->n - *prefix));
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
        if (is(name, attrs[i].name))
            return attrs[i].a;
    return A_OTHER;
}

/* c= content after "c=": "IN" SP "IP4"|"IP6" SP address, one address
 * (no multicast /ttl: MSRP is TCP). */
static int parse_c(struct msrp_slice c, struct msrp_slice *addr, bool *ip6)
{
    const char *p = c.p, *end = c.p + c.n;
    struct msrp_slice net = token(&p, end), type = token(&p, end), a = token(&p, end);
    if (token(&p, end).n || !is(net, "IN") || !(is(type, "IP4") || is(type, "IP6")) || !a.n ||
        !visible(a.p, a.n, false) || memchr(a.p, '/', a.n))
        return -EINVAL;
    *addr = a;
    *ip6 = is(type, "IP6");
    return 0;
}

struct mline {
    struct msrp_slice media, port, proto;
    bool fmt; /* at least one format */
};

static void split_m(const struct line *l, struct mline *m)
{
    const char *p = l->p + 2, *end = l->p + l->n;
    m->media = token(&p, end);
    m->port = token(&p, end);
    m->proto = token(&p, end);
    m->fmt = token(&p, end).n > 0;
}

struct sess {                   /* what the session part lends the media sections */
    struct msrp_slice c;        /* c= content after "c=" */
    unsigned nc;
    struct msrp_slice setup;    /* a=setup value */
    unsigned nsetup;
};

struct sec {
    bool msrp;
    bool has_c, has_setup;      /* media-level c= and a=setup */
    struct ng_sdp_msrp m;
};

/* The session part, up to the first m= line (left at *pos). */
static int session(const char *s, size_t n, size_t *pos, struct sess *ss)
{
    struct line l;
    memset(ss, 0, sizeof(*ss));
    int rc = next_line(s, n, pos, &l);
    if (rc < 0)
        return rc;
    if (rc == 0 || !is_type(&l, 'v'))
        return -EINVAL;
    for (;;) {
        size_t before = *pos;
        if ((rc = next_line(s, n, pos, &l)) <= 0)
            return rc;
        if (is_type(&l, 'm')) {
            *pos = before;
            return 0;
        }
        if (is_type(&l, 'c')) {
            ss->c = msrp_slice(l.p + 2, l.n - 2);
            ss->nc++;
        } else if (is_type(&l, 'a')) {
            size_t prefix;
            struct msrp_slice v;
            if (attr_of(&l, &prefix, &v) == A_SETUP) {
                ss->setup = v;
                ss->nsetup++;
            }
        }
    }
}

/* The media section whose m= line is at s[*pos]; leaves *pos at the next
 * m= line or at n. Only MSRP sections are checked beyond their lines. */
static int section(const char *s, size_t n, size_t *pos, const struct sess *ss, unsigned index,
                   struct sec *sec)
{
    struct line l;
    memset(sec, 0, sizeof(*sec));
    int rc = next_line(s, n, pos, &l);
    if (rc <= 0)
        return rc < 0 ? rc : -EINVAL;
    struct mline ml;
    split_m(&l, &ml);
    struct ng_sdp_msrp *m = &sec->m;
    m->media_index = index;
    if (is(ml.media, "message")) {
        if (!ml.port.n || !ml.proto.n || !ml.fmt)
            return -EINVAL;
        bool tls = is(ml.proto, "TCP/TLS/MSRP");
        uint64_t port;
        if (tls || is(ml.proto, "TCP/MSRP")) {
            /* The rewrite may write 5 port digits: the line must still fit. */
            if (!parse_uint(ml.port, 65535, &port) || l.n - ml.port.n + 5 > NG_SDP_MAX_LINE)
                return -EINVAL;
            sec->msrp = port != 0;
            m->tls = tls;
            m->port = (uint16_t)port;
        }
    }
    struct msrp_slice c = { 0 };
    bool has_path = false, has_accept = false;
    for (;;) {
        size_t before = *pos;
        if ((rc = next_line(s, n, pos, &l)) < 0)
            return rc;
        if (rc == 0)
            break;
        if (is_type(&l, 'm')) {
            *pos = before;
            break;
        }
        if (!sec->msrp)
            continue;
        if (is_type(&l, 'c')) {
            if (sec->has_c)
                return -EINVAL;
            sec->has_c = true;
            c = msrp_slice(l.p + 2, l.n - 2);
            continue;
        }
        if (!is_type(&l, 'a'))
            continue;
        size_t prefix;
        struct msrp_slice v;
        switch (attr_of(&l, &prefix, &v)) {
        case A_PATH:
            if (has_path || !v.n || !visible(v.p, v.n, true))
                return -EINVAL;
            has_path = true;
            m->path = v;
            break;
        case A_SETUP:
            if (sec->has_setup || !setup_ok(v))
                return -EINVAL;
            sec->has_setup = true;
            m->setup = v;
            break;
        case A_MAX_SIZE:
            if (m->has_max_size || !parse_uint(v, UINT64_MAX, &m->max_size))
                return -EINVAL;
            m->has_max_size = true;
            break;
        case A_ACCEPT_TYPES:
            if (has_accept || !visible(v.p, v.n, true))
                return -EINVAL;
            has_accept = true;
            m->accept_types = v;
            break;
        case A_CEMA:
            m->cema = true;
            break;
        case A_OTHER:
            break;
        }
    }
    if (!sec->msrp)
        return 0;
    if (!has_path)
        return -EINVAL;
    if (!sec->has_c) {
        if (ss->nc != 1)
            return -EINVAL;
        c = ss->c;
    }
    if ((rc = parse_c(c, &m->addr, &m->addr_ip6)) < 0)
        return rc;
    if (!sec->has_setup && ss->nsetup) {
        if (ss->nsetup > 1 || !setup_ok(ss->setup))
            return -EINVAL;
        m->setup = ss->setup;
    }
    return 0;
}

/* out may be NULL: count only (still at most max). */
static int scan(const char *s, size_t n, struct ng_sdp_msrp *out, size_t max, size_t *count)
{
    struct sess ss;
    size_t pos = 0, k = 0;
    int rc = session(s, n, &pos, &ss);
    if (rc < 0)
        return rc;
    for (unsigned index = 0; pos < n; index++) {
        struct sec sec;
        if ((rc = section(s, n, &pos, &ss, index, &sec)) < 0)
            return rc;
        if (!sec.msrp)
            continue;
        if (k == max)
            return -E2BIG;
        if (out)
            out[k] = sec.m;
        k++;
    }
    *count = k;
    return 0;
}

int ng_sdp_parse(const char *sdp, size_t n, struct ng_sdp_msrp *out, size_t max, size_t *count)
{
    if (!count)
        return -EINVAL;
    *count = 0;
    if (!sdp)
        return -EINVAL;
    size_t k;
    int rc = scan(sdp, n, out, max, &k);
    if (rc == 0)
        *count = k;
    return rc;
}

/* --- rewrite ----------------------------------------------------------- */

/* Output that counts past cap instead of writing there: one pass tells
 * both the bytes and the size needed. */
struct out {
    char *p;
    size_t cap, n;
};

static void put(struct out *o, const void *s, size_t k)
{
    if (o->n <= o->cap && k <= o->cap - o->n && k)
        memcpy(o->p + o->n, s, k);
    o->n += k;
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static size_t fmt_u64(char buf[20], uint64_t v)
{
    char tmp[20];
    size_t k = 0;
    do
        tmp[k++] = (char)('0' + v % 10);
    while ((v /= 10));
    for (size_t i = 0; i < k; i++)
        buf[i] = tmp[k - 1 - i];
    return k;
}

static void put_u64(struct out *o, uint64_t v)
{
    char b[20];
    put(o, b, fmt_u64(b, v));
}

static void put_c(struct out *o, const char *addr, const char *eol, size_t eoln)
{
    put_str(o, strchr(addr, ':') ? "c=IN IP6 " : "c=IN IP4 ");
    put_str(o, addr);
    put(o, eol, eoln);
}

static bool rw_ok(const struct ng_sdp_rewrite *rw)
{
    if (!rw->addr || !rw->path || !rw->port)
        return false;
    size_t na = strlen(rw->addr), np = strlen(rw->path);
    if (!na || na > NG_SDP_MAX_LINE - 9 || !visible(rw->addr, na, false) || strchr(rw->addr, '/'))
        return false;
    if (!np || np > NG_SDP_MAX_LINE - 7 || !visible(rw->path, np, true) || rw->path[0] == ' ' ||
        rw->path[np - 1] == ' ')
        return false;
    return !rw->setup || setup_ok(msrp_slice(rw->setup, strlen(rw->setup)));
}

/* One MSRP section s[0..n) (validated by section()) rewritten by rw. */
static int emit_section(struct out *o, const char *s, size_t n, const struct sec *sec,
                        const struct ng_sdp_rewrite *rw)
{
    size_t pos = 0;
    struct line l;
    if (next_line(s, n, &pos, &l) != 1)
        return -EINVAL;
    struct mline ml;
    split_m(&l, &ml);
    /* Inserted lines end like the m= line (which has an ending: a=path follows). */
    const char *meol = l.eol == 1 ? "\n" : "\r\n";
    size_t meoln = l.eol == 1 ? 1 : 2;
    char port[20];
    size_t nport = fmt_u64(port, rw->port);
    const char *after = ml.port.p + ml.port.n;
    put(o, l.p, (size_t)(ml.port.p - l.p));
    put(o, port, nport);
    put(o, after, (size_t)(l.p + l.n - after) + l.eol);
    if (!sec->has_c)
        put_c(o, rw->addr, meol, meoln);
    while (next_line(s, n, &pos, &l) == 1) {
        const char *eol = l.p + l.n;
        if (is_type(&l, 'c')) {
            put_c(o, rw->addr, eol, l.eol);
            continue;
        }
        size_t prefix = 0;
        struct msrp_slice v;
        switch (is_type(&l, 'a') ? attr_of(&l, &prefix, &v) : A_OTHER) {
        case A_PATH:
            put(o, l.p, prefix);
            put_str(o, rw->path);
            if (rw->setup && !sec->has_setup) {
                /* After a last line without an ending, the body still ends without one. */
                if (l.eol)
                    put(o, eol, l.eol);
                else
                    put(o, meol, meoln);
                put_str(o, "a=setup:");
                put_str(o, rw->setup);
                if (l.eol)
                    put(o, meol, meoln);
            } else {
                put(o, eol, l.eol);
            }
            break;
        case A_SETUP:
            if (!rw->setup) {
                put(o, l.p, l.n + l.eol);
                break;
            }
            put(o, l.p, prefix);
            put_str(o, rw->setup);
            put(o, eol, l.eol);
            break;
        case A_MAX_SIZE:
            if (!rw->max_size_cap || sec->m.max_size <= rw->max_size_cap) {
                put(o, l.p, l.n + l.eol);
                break;
            }
            put(o, l.p, prefix);
            put_u64(o, rw->max_size_cap);
            put(o, eol, l.eol);
            break;
        default:
            put(o, l.p, l.n + l.eol);
            break;
        }
    }
    return 0;
}

int ng_sdp_rewrite(const char *sdp, size_t n, const struct ng_sdp_rewrite *rw, size_t nrw,
                   char *out, size_t cap)
{
    if (!sdp || (nrw && !rw) || (!out && cap))
        return -EINVAL;
    size_t count;
    int rc = scan(sdp, n, NULL, nrw, &count);
    if (rc == -E2BIG || (rc == 0 && count != nrw))
        return -EINVAL;
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < nrw; i++)
        if (!rw_ok(&rw[i]))
            return -EINVAL;

    struct out o = { out, cap, 0 };
    struct sess ss;
    size_t pos = 0, k = 0;
    if ((rc = session(sdp, n, &pos, &ss)) < 0)
        return rc;
    put(&o, sdp, pos);
    for (unsigned index = 0; pos < n; index++) {
        size_t start = pos;
        struct sec sec;
        if ((rc = section(sdp, n, &pos, &ss, index, &sec)) < 0)
            return rc;
        if (!sec.msrp)
            put(&o, sdp + start, pos - start);
        else if ((rc = emit_section(&o, sdp + start, pos - start, &sec, &rw[k++])) < 0)
            return rc;
    }
    if (o.n > INT_MAX)
        return -E2BIG;
    if (o.n > cap)
        return -ENOSPC;
    return (int)o.n;
}
