/*
 * bencode.c: owns the ng protocol's bencode decoder, the lookups over its
 * node array, the encoder, and the cookie split of an ng datagram.
 *
 * The decoder keeps no stack of its own: while a container is open, its
 * node's `next` holds the index of the enclosing container and its `i` the
 * index of its last child so far (both fields are otherwise unused until
 * the container closes, when they are reset). Nesting then costs nothing
 * but a counter checked against max_depth, and hostile input cannot grow
 * the C stack. Only libc and proto/ here: the fuzz target links this file
 * alone.
 */
#include "gateway/ng/bencode.h"

#include <limits.h>
#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "i" ["-"] digits "e" at p[*pos..n), *pos just past the 'i'. */
static int parse_int(const char *p, size_t n, size_t *pos, int64_t *out)
{
    size_t j = *pos;
    bool neg = j < n && p[j] == '-';
    if (neg)
        j++;
    size_t start = j;
    /* Magnitude bound: 2^63 for a negative value, 2^63 - 1 otherwise. */
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    while (j < n && is_digit(p[j])) {
        uint64_t d = (uint64_t)(p[j] - '0');
        if (v > (limit - d) / 10)
            return NG_B_EINVAL;
        v = v * 10 + d;
        j++;
    }
    if (j == start || j >= n || p[j] != 'e')
        return NG_B_EINVAL;
    if (p[start] == '0' && (j - start > 1 || neg)) /* "i03e", "i-0e" */
        return NG_B_EINVAL;
    if (!neg)
        *out = (int64_t)v;
    else
        *out = v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
    *pos = j + 1;
    return 0;
}

/* digits ":" bytes at p[*pos..n), *pos at the first digit. */
static int parse_str(const char *p, size_t n, size_t *pos, struct msrp_slice *out)
{
    size_t j = *pos, len = 0;
    while (j < n && is_digit(p[j])) {
        len = len * 10 + (size_t)(p[j] - '0');
        j++;
        /* j <= n and len > n - j cannot fit: stop before len can wrap. */
        if (len > n - j)
            return NG_B_EINVAL;
    }
    if (j >= n || p[j] != ':')
        return NG_B_EINVAL;
    if (p[*pos] == '0' && j - *pos > 1) /* "03:abc" */
        return NG_B_EINVAL;
    j++;
    if (len > n - j)
        return NG_B_EINVAL;
    *out = msrp_slice(p + j, len);
    *pos = j + len;
    return 0;
}

int ng_bdecode(const char *p, size_t n, struct ng_bval *nodes, size_t max_nodes, unsigned max_depth)
{
    if (max_nodes > INT_MAX)
        max_nodes = INT_MAX;
    size_t pos = 0, count = 0;
    unsigned depth = 0;
    uint32_t cur = 0; /* the innermost open container, when depth > 0 */
    do {
        if (pos >= n)
            return NG_B_EINVAL;
        char c = p[pos];
        if (c == 'e') {
            if (depth == 0)
                return NG_B_EINVAL;
            struct ng_bval *v = &nodes[cur];
            if (v->type == NG_BDICT) {
                if (v->n % 2) /* a key without a value */
                    return NG_B_EINVAL;
                v->n /= 2;
            }
            uint32_t parent = v->next;
            v->next = 0;
            v->i = 0;
            cur = parent;
            depth--;
            pos++;
            continue;
        }
        bool container = c == 'l' || c == 'd';
        if (depth > 0 && nodes[cur].type == NG_BDICT && nodes[cur].n % 2 == 0 && !is_digit(c))
            return NG_B_EINVAL; /* a dict key must be a string */
        if (container && depth >= max_depth)
            return NG_B_EDEPTH;
        if (count >= max_nodes)
            return NG_B_ETOOBIG;
        uint32_t k = (uint32_t)count++;
        struct ng_bval *v = &nodes[k];
        *v = (struct ng_bval){ 0 };
        if (depth > 0) {
            struct ng_bval *par = &nodes[cur];
            if (par->n == 0)
                par->first = k;
            else
                nodes[(uint32_t)par->i].next = k;
            par->i = k;
            par->n++;
        }
        if (container) {
            v->type = c == 'l' ? NG_BLIST : NG_BDICT;
            v->next = cur; /* the parent, while open; meaningless for the root */
            cur = k;
            depth++;
            pos++;
        } else if (c == 'i') {
            v->type = NG_BINT;
            pos++;
            if (parse_int(p, n, &pos, &v->i) < 0)
                return NG_B_EINVAL;
        } else if (is_digit(c)) {
            v->type = NG_BSTR;
            if (parse_str(p, n, &pos, &v->s) < 0)
                return NG_B_EINVAL;
        } else {
            return NG_B_EINVAL;
        }
    } while (depth > 0);
    return pos == n ? (int)count : NG_B_ETRAIL;
}

const struct ng_bval *ng_bchild(const struct ng_bval *nodes, const struct ng_bval *v)
{
    return v && v->first ? &nodes[v->first] : NULL;
}

const struct ng_bval *ng_bnext(const struct ng_bval *nodes, const struct ng_bval *v)
{
    return v && v->next ? &nodes[v->next] : NULL;
}

bool ng_bstr_eq(const struct ng_bval *v, const char *s)
{
    return v && v->type == NG_BSTR && s && msrp_slice_eq(v->s, msrp_slice(s, strlen(s)));
}

const struct ng_bval *ng_bdict_get(const struct ng_bval *nodes, const struct ng_bval *dict,
                                   const char *key)
{
    if (!dict || dict->type != NG_BDICT)
        return NULL;
    for (const struct ng_bval *k = ng_bchild(nodes, dict); k; k = ng_bnext(nodes, ng_bnext(nodes, k))) {
        if (ng_bstr_eq(k, key))
            return ng_bnext(nodes, k);
    }
    return NULL;
}

bool ng_blist_has(const struct ng_bval *nodes, const struct ng_bval *list, const char *s)
{
    if (!list || list->type != NG_BLIST)
        return false;
    for (const struct ng_bval *v = ng_bchild(nodes, list); v; v = ng_bnext(nodes, v)) {
        if (ng_bstr_eq(v, s))
            return true;
    }
    return false;
}

/* --- encoder ------------------------------------------------------------- */

void ng_benc_init(struct ng_benc *e, char *buf, size_t cap)
{
    *e = (struct ng_benc){ .p = buf, .n = 0, .cap = cap, .err = 0 };
}

static void put(struct ng_benc *e, const char *p, size_t n)
{
    if (e->err)
        return;
    if (n > e->cap - e->n) {
        e->err = -1;
        return;
    }
    if (n)
        memcpy(e->p + e->n, p, n);
    e->n += n;
}

/* Decimal digits of v into the end of buf[0..20), returns the first. */
static char *utoa(uint64_t v, char buf[20])
{
    char *q = buf + 20;
    do {
        *--q = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return q;
}

void ng_benc_dict(struct ng_benc *e)
{
    put(e, "d", 1);
}

void ng_benc_list(struct ng_benc *e)
{
    put(e, "l", 1);
}

void ng_benc_end(struct ng_benc *e)
{
    put(e, "e", 1);
}

void ng_benc_str(struct ng_benc *e, const char *p, size_t n)
{
    /* Length, colon and bytes go in one put, so a string never half fits. */
    char num[21];
    char *d = utoa(n, num);
    num[20] = ':';
    size_t dn = (size_t)(num + 21 - d);
    if (e->err)
        return;
    if (dn > e->cap - e->n || n > e->cap - e->n - dn) {
        e->err = -1;
        return;
    }
    put(e, d, dn);
    put(e, p, n);
}

void ng_benc_cstr(struct ng_benc *e, const char *s)
{
    ng_benc_str(e, s, s ? strlen(s) : 0);
}

void ng_benc_int(struct ng_benc *e, int64_t v)
{
    char num[24]; /* "i", "-", up to 20 digits, "e" */
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char *d = utoa(m, num + 2);
    if (v < 0)
        *--d = '-';
    *--d = 'i';
    num[22] = 'e';
    put(e, d, (size_t)(num + 23 - d));
}

void ng_benc_kv_str(struct ng_benc *e, const char *key, const char *p, size_t n)
{
    ng_benc_cstr(e, key);
    ng_benc_str(e, p, n);
}

void ng_benc_kv_cstr(struct ng_benc *e, const char *key, const char *v)
{
    ng_benc_cstr(e, key);
    ng_benc_cstr(e, v);
}

void ng_benc_kv_int(struct ng_benc *e, const char *key, int64_t v)
{
    ng_benc_cstr(e, key);
    ng_benc_int(e, v);
}

/* --- datagram ------------------------------------------------------------ */

int ng_split_cookie(const char *p, size_t n, struct msrp_slice *cookie, struct msrp_slice *body)
{
    size_t i = 0;
    while (i < n && p[i] != ' ') {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x21 || c > 0x7e || i == NG_COOKIE_LEN_MAX)
            return NG_B_EINVAL;
        i++;
    }
    if (i == 0 || i == n)
        return NG_B_EINVAL;
    *cookie = msrp_slice(p, i);
    *body = msrp_slice(p + i + 1, n - i - 1);
    return 0;
}
