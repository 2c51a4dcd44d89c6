/*
 * relay_wire.c: the relay's pure pieces -- session id encoding, Expires
 * clamping, the forwarded head and the Byte-Range of split pieces. No I/O,
 * no state, so they are unit-tested byte for byte (tests/unit/test_relay_wire.c).
 */
#include <errno.h>
#include <string.h>

#include "gateway/relay/relay_internal.h"
#include "proto/error.h"
#include "proto/writer.h"

static const char core_chars[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

char gw_relay_core_char(unsigned idx)
{
    return idx < GW_RELAY_MAX_CORES ? core_chars[idx] : '0';
}

int gw_relay_sessid_core(struct msrp_slice id, unsigned ncores)
{
    if (id.n != GW_RELAY_SESSID_LEN)
        return -1;
    const char *c = memchr(core_chars, id.p[0], GW_RELAY_MAX_CORES);
    if (!c)
        return -1;
    unsigned idx = (unsigned)(c - core_chars);
    return idx < ncores ? (int)idx : -1;
}

int64_t gw_relay_expires(bool has, uint32_t requested, uint32_t def, uint32_t min, uint32_t max)
{
    uint32_t v = has ? requested : def;
    if (has && v < min)
        return -1;
    if (v < min)
        v = min;
    if (v > max)
        v = max;
    return v;
}

struct wb {
    char *p;
    size_t n, cap;
    int err;
};

static void put(struct wb *w, const char *s, size_t n)
{
    if (w->err)
        return;
    if (n > w->cap - w->n) {
        w->err = MSRP_E_NOSPACE;
        return;
    }
    memcpy(w->p + w->n, s, n);
    w->n += n;
}

static void puts_(struct wb *w, const char *s) { put(w, s, strlen(s)); }
static void putsl(struct wb *w, struct msrp_slice s) { put(w, s.p, s.n); }

/* Decimal without printf: this runs for every forwarded chunk. */
static size_t fmt_u64(char *out, uint64_t v)
{
    char t[20];
    size_t k = sizeof(t);
    do {
        t[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(out, t + k, sizeof(t) - k);
    return sizeof(t) - k;
}

size_t relay_fmt_range(char out[RELAY_RANGE_MAX], const struct msrp_byte_range *br)
{
    size_t n = fmt_u64(out, br->start);
    out[n++] = '-';
    if (br->end == MSRP_BR_STAR)
        out[n++] = '*';
    else
        n += fmt_u64(out + n, br->end);
    out[n++] = '/';
    if (br->total == MSRP_BR_STAR)
        out[n++] = '*';
    else
        n += fmt_u64(out + n, br->total);
    return n;
}

static void put_range(struct wb *w, const struct msrp_byte_range *br)
{
    char t[RELAY_RANGE_MAX];
    put(w, t, relay_fmt_range(t, br));
}

static void put_header(struct wb *w, const struct msrp_header *hd)
{
    putsl(w, hd->name);
    put(w, ": ", 2);
    putsl(w, hd->value);
    put(w, "\r\n", 2);
}

static void put_path(struct wb *w, const char *name, const struct msrp_slice *uris, size_t n)
{
    puts_(w, name);
    for (size_t i = 0; i < n; i++) {
        put(w, " ", 1);
        putsl(w, uris[i]);
    }
    put(w, "\r\n", 2);
}

int gw_relay_write_fwd_head(char *buf, size_t cap, const struct msrp_head *h, unsigned skip,
                            struct msrp_slice tid, const struct msrp_byte_range *br,
                            size_t br_span[2])
{
    if (h->kind != MSRP_REQUEST || h->n_to_path <= skip || h->n_from_path < 1 ||
        tid.n == 0)
        return MSRP_E_INVALID;
    struct msrp_slice to[MSRP_PATH_CAP], from[2 * MSRP_PATH_CAP];
    size_t nto = 0, nfrom = 0;
    for (uint16_t i = (uint16_t)skip; i < h->n_to_path; i++)
        to[nto++] = h->to_path[i].raw;
    /* RFC 4976 section 7.2: each URI of ours taken off To-Path goes onto
     * From-Path, byte for byte: the last one taken ends up first. */
    for (unsigned i = skip; i-- > 0;)
        from[nfrom++] = h->to_path[i].raw;
    for (uint16_t i = 0; i < h->n_from_path; i++)
        from[nfrom++] = h->from_path[i].raw;
    return gw_relay_write_head(buf, cap, h, tid, to, nto, from, nfrom, br, br_span);
}

int gw_relay_write_head(char *buf, size_t cap, const struct msrp_head *h, struct msrp_slice tid,
                        const struct msrp_slice *to, size_t nto, const struct msrp_slice *from,
                        size_t nfrom, const struct msrp_byte_range *br, size_t br_span[2])
{
    if (h->kind != MSRP_REQUEST || nto < 1 || nfrom < 1 || tid.n == 0)
        return MSRP_E_INVALID;
    struct wb w = { buf, 0, cap, 0 };
    puts_(&w, "MSRP ");
    putsl(&w, tid);
    put(&w, " ", 1);
    putsl(&w, h->method_name);
    put(&w, "\r\n", 2);
    put_path(&w, "To-Path:", to, nto);
    put_path(&w, "From-Path:", from, nfrom);
    const struct msrp_header *ctype = NULL;
    size_t span_off = 0, span_len = 0;
    bool have_span = false;
    for (uint16_t i = 0; i < h->n_headers; i++) {
        const struct msrp_header *hd = &h->headers[i];
        switch (hd->id) {
        case MSRP_H_TO_PATH:
        case MSRP_H_FROM_PATH:
            break;
        case MSRP_H_CONTENT_TYPE:
            /* RFC 4975 section 9: Content-Type is the last header. */
            ctype = hd;
            break;
        case MSRP_H_BYTE_RANGE:
            span_off = w.n;
            have_span = true;
            /* The range the sender wrote, when it is the one to send (an
             * unsplit chunk's first piece): copied, not formatted again. */
            if (!br || (h->has_byte_range && br->start == h->byte_range.start &&
                        br->end == h->byte_range.end && br->total == h->byte_range.total)) {
                put_header(&w, hd);
                span_len = w.n - span_off;
                br = NULL;
                break;
            }
            putsl(&w, hd->name);
            put(&w, ": ", 2);
            put_range(&w, br);
            put(&w, "\r\n", 2);
            span_len = w.n - span_off;
            br = NULL;
            break;
        default:
            put_header(&w, hd);
            break;
        }
    }
    if (!have_span) {
        span_off = w.n;
        have_span = true;
    }
    if (br) {
        /* A piece of a chunk that had no Byte-Range still needs one: the
         * receiver must place every piece. */
        puts_(&w, "Byte-Range: ");
        put_range(&w, br);
        put(&w, "\r\n", 2);
        span_len = w.n - span_off;
    }
    if (ctype)
        put_header(&w, ctype);
    if (h->has_body)
        put(&w, "\r\n", 2);
    if (w.err)
        return w.err;
    if (br_span) {
        br_span[0] = span_off;
        br_span[1] = span_len;
    }
    return (int)w.n;
}

size_t gw_relay_head_bound(const struct msrp_head *h)
{
    /* "MSRP tid METHOD\r\n", then each header as "Name: value\r\n"
     * (moving URIs from To-Path to From-Path keeps their sum: a URI and
     * its separating space change header, nothing more), a Byte-Range line
     * that may be added or rewritten, the blank line. */
    size_t n = 5 + MSRP_TID_CAP + 1 + h->method_name.n + 2;
    for (uint16_t i = 0; i < h->n_headers; i++)
        n += h->headers[i].name.n + 2 + h->headers[i].value.n + 2;
    n += sizeof("Byte-Range: ") - 1 + RELAY_RANGE_MAX + 2;
    return n + 2 + 2 * MSRP_PATH_CAP; /* blank line; a space per path URI */
}

int gw_relay_piece_range(bool has, const struct msrp_byte_range *orig, uint64_t sent,
                         uint64_t max, struct msrp_byte_range *out)
{
    struct msrp_byte_range r = { 1, MSRP_BR_STAR, MSRP_BR_STAR };
    if (has)
        r = *orig;
    /* Every value stays within what a Byte-Range may say (MSRP_BR_MAX,
     * what our parser and RFC 4975 peers accept), so nothing wraps: start
     * and sent are each below 2^63 when this holds. */
    if (r.start == 0 || r.start > MSRP_BR_MAX || sent > MSRP_BR_MAX - r.start)
        return -ERANGE;
    uint64_t start = r.start + sent;
    uint64_t end = MSRP_BR_STAR;
    if (r.end != MSRP_BR_STAR) {
        if (r.end > MSRP_BR_MAX)
            return -ERANGE;
        /* A piece past the end: the body outgrew its own Byte-Range. Only
         * an empty chunk may start right after its end ("1-0/0"). */
        if (start > r.end && !(sent == 0 && start == r.end + 1))
            return -ERANGE;
        uint64_t left = start <= r.end ? r.end - start + 1 : 0;
        if (max && left > max)
            left = max;
        end = left ? start + left - 1 : start - 1;
    }
    if (r.total != MSRP_BR_STAR && r.total > MSRP_BR_MAX)
        return -ERANGE;
    r.start = start;
    r.end = end;
    *out = r;
    return 0;
}
