/*
 * fuzz_bencode.c: ng_bdecode and ng_split_cookie on arbitrary bytes. The
 * decoder accepts only canonical bencode, so a value that decodes must
 * re-encode (walking the child/next links) to exactly the input, decode
 * again to the same nodes, and decode the same way whatever the limits
 * as long as they are not hit. Reads past the input show under ASan
 * (libFuzzer's data is an exact-size heap copy).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/ng/bencode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BIG_NODES 256
#define BIG_DEPTH 16
#define SMALL_NODES 8
#define SMALL_DEPTH 2

struct walk {
    const struct ng_bval *nodes;
    int k;
    uint32_t seen;      /* nodes visited; pre-order means node index == seen */
    unsigned maxdepth;  /* deepest container nesting */
};

static void encode(struct walk *w, struct ng_benc *e, const struct ng_bval *v, unsigned depth)
{
    if ((uint32_t)(v - w->nodes) != w->seen++ || (int)w->seen > w->k)
        abort();
    switch (v->type) {
    case NG_BSTR:
        if (v->first || v->n || v->i)
            abort();
        ng_benc_str(e, v->s.p, v->s.n);
        return;
    case NG_BINT:
        if (v->first || v->n || v->s.n)
            abort();
        ng_benc_int(e, v->i);
        return;
    case NG_BLIST:
    case NG_BDICT: {
        if (++depth > BIG_DEPTH || v->s.n || v->i)
            abort();
        if (depth > w->maxdepth)
            w->maxdepth = depth;
        v->type == NG_BLIST ? ng_benc_list(e) : ng_benc_dict(e);
        uint32_t kids = 0;
        for (const struct ng_bval *c = ng_bchild(w->nodes, v); c; c = ng_bnext(w->nodes, c)) {
            if (v->type == NG_BDICT && kids % 2 == 0 && c->type != NG_BSTR)
                abort();
            encode(w, e, c, depth);
            kids++;
        }
        if (kids != (v->type == NG_BLIST ? v->n : 2 * v->n))
            abort();
        ng_benc_end(e);
        return;
    }
    }
    abort();
}

static bool same_nodes(const struct ng_bval *a, const struct ng_bval *b, int k)
{
    for (int j = 0; j < k; j++) {
        if (a[j].type != b[j].type || a[j].i != b[j].i || a[j].n != b[j].n ||
            a[j].first != b[j].first || a[j].next != b[j].next || !msrp_slice_eq(a[j].s, b[j].s))
            return false;
    }
    return true;
}

/* Decodes p[0..n); when it decodes, checks the round trip. Returns the rc. */
static int check(const char *p, size_t n)
{
    static struct ng_bval big[BIG_NODES], again[BIG_NODES], small[SMALL_NODES];
    static char out[1 << 16];
    int k = ng_bdecode(p, n, big, BIG_NODES, BIG_DEPTH);
    if (k == 0 || k < NG_B_ETRAIL || k > BIG_NODES)
        abort();
    int ks = ng_bdecode(p, n, small, SMALL_NODES, SMALL_DEPTH);
    if (ks == 0 || ks < NG_B_ETRAIL || ks > SMALL_NODES)
        abort();
    if (k < 0) {
        /* Tighter limits decode the same prefix, so they can only stop
         * earlier, on a limit. */
        if (ks != k && ks != NG_B_ETOOBIG && ks != NG_B_EDEPTH)
            abort();
        return k;
    }
    if (ks > 0 && (ks != k || !same_nodes(big, small, k)))
        abort();

    struct walk w = { .nodes = big, .k = k };
    struct ng_benc e;
    ng_benc_init(&e, out, n < sizeof(out) ? n : sizeof(out));
    encode(&w, &e, &big[0], 0);
    if ((int)w.seen != k || e.err || e.n != n || memcmp(out, p, n) != 0)
        abort();
    /* The small limits fail exactly when the value needs more. */
    bool fits = k <= SMALL_NODES && w.maxdepth <= SMALL_DEPTH;
    if (fits != (ks > 0))
        abort();
    if (ng_bdecode(out, e.n, again, BIG_NODES, BIG_DEPTH) != k || !same_nodes(big, again, k))
        abort();

    /* Lookups stay inside the array and agree with the types. */
    const struct ng_bval *cmd = ng_bdict_get(big, &big[0], "command");
    if (cmd && (cmd < big || cmd >= big + k || big[0].type != NG_BDICT))
        abort();
    const struct ng_bval *flags = ng_bdict_get(big, &big[0], "flags");
    if (ng_blist_has(big, flags, "trust-address") && flags->type != NG_BLIST)
        abort();
    if (ng_bstr_eq(&big[0], "") != (big[0].type == NG_BSTR && big[0].s.n == 0))
        abort();
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    check(p, size);

    struct msrp_slice cookie, body;
    int rc = ng_split_cookie(p, size, &cookie, &body);
    if (rc == 0) {
        if (cookie.p != p || cookie.n < 1 || cookie.n > NG_COOKIE_LEN_MAX ||
            body.p != p + cookie.n + 1 || cookie.n + 1 + body.n != size ||
            memchr(cookie.p, ' ', cookie.n))
            abort();
        check(body.p, body.n);
    } else if (rc != NG_B_EINVAL) {
        abort();
    }
    return 0;
}
