/* test_bencode.c: the ng protocol's bencode codec and cookie split (gateway/ng/bencode.c). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/ng/bencode.h"

#define LIT(s) (s), (sizeof(s) - 1)

static void expect_str(const struct ng_bval *v, const char *want, const char *what)
{
    cr_assert_not_null(v, "%s: missing", what);
    cr_assert_eq(v->type, NG_BSTR, "%s: type %d", what, v->type);
    cr_assert(v->s.n == strlen(want) && memcmp(v->s.p, want, v->s.n) == 0,
              "%s: '%.*s', want '%s'", what, (int)v->s.n, v->s.p, want);
    cr_assert(v->first == 0 && v->n == 0 && v->i == 0, "%s: stray fields", what);
}

/* Re-encodes v and its descendants through the links (depth is bounded by
 * the decoder's max_depth); checks n against the children walked. */
static void encode_val(struct ng_benc *e, const struct ng_bval *nodes, const struct ng_bval *v)
{
    switch (v->type) {
    case NG_BSTR:
        ng_benc_str(e, v->s.p, v->s.n);
        return;
    case NG_BINT:
        ng_benc_int(e, v->i);
        return;
    case NG_BLIST:
    case NG_BDICT: {
        v->type == NG_BLIST ? ng_benc_list(e) : ng_benc_dict(e);
        uint32_t kids = 0;
        for (const struct ng_bval *c = ng_bchild(nodes, v); c; c = ng_bnext(nodes, c)) {
            encode_val(e, nodes, c);
            kids++;
        }
        cr_assert_eq(kids, v->type == NG_BLIST ? v->n : 2 * v->n, "children %u, n %u", kids, v->n);
        ng_benc_end(e);
        return;
    }
    }
    cr_assert_fail("bad type %d", v->type);
}

static void expect_same_nodes(const struct ng_bval *a, const struct ng_bval *b, int k, const char *what)
{
    for (int j = 0; j < k; j++) {
        cr_assert(a[j].type == b[j].type && a[j].i == b[j].i && a[j].n == b[j].n &&
                      a[j].first == b[j].first && a[j].next == b[j].next &&
                      msrp_slice_eq(a[j].s, b[j].s),
                  "%s: node %d differs", what, j);
    }
}

/* --- decoding ------------------------------------------------------------- */

Test(bencode, decodes_nested_exactly)
{
    static const char msg[] = "d3:bar4:spam3:fooi42e4:listli1ei-2e0:lee3:subd1:ad1:bi0eeee";
    struct ng_bval nodes[32];
    int k = ng_bdecode(LIT(msg), nodes, 32, 8);
    cr_assert_eq(k, 17, "k = %d", k);
    /* 0 d{bar,foo,list,sub} */
    cr_assert(nodes[0].type == NG_BDICT && nodes[0].n == 4 && nodes[0].first == 1 &&
              nodes[0].next == 0 && nodes[0].i == 0);
    expect_str(&nodes[1], "bar", "key bar");
    cr_assert_eq(nodes[1].next, 2);
    expect_str(&nodes[2], "spam", "bar");
    cr_assert_eq(nodes[2].next, 3);
    expect_str(&nodes[3], "foo", "key foo");
    cr_assert(nodes[4].type == NG_BINT && nodes[4].i == 42 && nodes[4].next == 5 && nodes[4].s.n == 0);
    expect_str(&nodes[5], "list", "key list");
    /* 6 l[1, -2, "", l[]] */
    cr_assert(nodes[6].type == NG_BLIST && nodes[6].n == 4 && nodes[6].first == 7 &&
              nodes[6].next == 11 && nodes[6].i == 0);
    cr_assert(nodes[7].type == NG_BINT && nodes[7].i == 1 && nodes[7].next == 8);
    cr_assert(nodes[8].type == NG_BINT && nodes[8].i == -2 && nodes[8].next == 9);
    expect_str(&nodes[9], "", "empty");
    cr_assert_eq(nodes[9].next, 10);
    cr_assert(nodes[10].type == NG_BLIST && nodes[10].n == 0 && nodes[10].first == 0 &&
              nodes[10].next == 0);
    expect_str(&nodes[11], "sub", "key sub");
    cr_assert(nodes[12].type == NG_BDICT && nodes[12].n == 1 && nodes[12].first == 13 &&
              nodes[12].next == 0);
    expect_str(&nodes[13], "a", "key a");
    cr_assert(nodes[14].type == NG_BDICT && nodes[14].n == 1 && nodes[14].first == 15 &&
              nodes[14].next == 0);
    expect_str(&nodes[15], "b", "key b");
    cr_assert(nodes[16].type == NG_BINT && nodes[16].i == 0 && nodes[16].next == 0);
    /* strings point into the input */
    cr_assert_eq(nodes[2].s.p, msg + 8);

    /* lookups */
    cr_assert_eq(ng_bdict_get(nodes, &nodes[0], "foo"), &nodes[4]);
    cr_assert_eq(ng_bdict_get(nodes, &nodes[0], "list"), &nodes[6]);
    cr_assert_null(ng_bdict_get(nodes, &nodes[0], "spam"));     /* a value, not a key */
    cr_assert_null(ng_bdict_get(nodes, &nodes[0], "fo"));
    cr_assert_null(ng_bdict_get(nodes, &nodes[6], "foo"));      /* not a dict */
    cr_assert_null(ng_bdict_get(nodes, NULL, "foo"));
    const struct ng_bval *b = ng_bdict_get(nodes, ng_bdict_get(nodes, ng_bdict_get(nodes, &nodes[0], "sub"), "a"), "b");
    cr_assert(b && b->type == NG_BINT && b->i == 0);
    cr_assert(ng_bstr_eq(&nodes[2], "spam"));
    cr_assert(!ng_bstr_eq(&nodes[2], "spa"));
    cr_assert(!ng_bstr_eq(&nodes[2], "spams"));
    cr_assert(!ng_bstr_eq(&nodes[4], "42"));
    cr_assert(!ng_bstr_eq(NULL, "spam"));
    cr_assert(ng_bstr_eq(&nodes[9], ""));
    cr_assert_null(ng_bchild(nodes, &nodes[10]));
    cr_assert_null(ng_bchild(nodes, &nodes[1]));
    cr_assert_null(ng_bnext(nodes, &nodes[0]));
    cr_assert_null(ng_bchild(nodes, NULL));
    cr_assert_null(ng_bnext(nodes, NULL));
}

#define OFFER_SDP                                                                      \
    "v=0\r\no=- 1545997027 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\n"  \
    "t=0 0\r\nm=message 2855 TCP/MSRP *\r\na=accept-types:message/cpim text/plain\r\n" \
    "a=path:msrp://198.51.100.1:2855/kjhd37s2s20w2a;tcp\r\na=setup:actpass\r\n"

/* What Kamailio's rtpengine module sends for rtpengine_offer("trust-address
 * replace-origin replace-session-connection"), cookie stripped. */
static const char offer[] =
    "d3:sdp214:" OFFER_SDP
    "5:flagsl13:trust-addresse7:replacel6:origin18:session-connectione"
    "13:received-froml3:IP411:203.0.113.5e"
    "7:call-id39:a84b4c76e66710@pc33.atlanta.example.com"
    "10:via-branch18:z9hG4bK776asdhds.0"
    "8:from-tag10:1928301774"
    "7:command5:offere";

Test(bencode, decodes_rtpengine_offer)
{
    cr_assert_eq(strlen(OFFER_SDP), 214);
    struct ng_bval nodes[64];
    int k = ng_bdecode(LIT(offer), nodes, 64, 4);
    cr_assert_eq(k, 22, "k = %d", k);
    const struct ng_bval *req = &nodes[0];
    cr_assert(req->type == NG_BDICT && req->n == 8);
    cr_assert(ng_bstr_eq(ng_bdict_get(nodes, req, "command"), "offer"));
    expect_str(ng_bdict_get(nodes, req, "call-id"), "a84b4c76e66710@pc33.atlanta.example.com", "call-id");
    expect_str(ng_bdict_get(nodes, req, "from-tag"), "1928301774", "from-tag");
    expect_str(ng_bdict_get(nodes, req, "via-branch"), "z9hG4bK776asdhds.0", "via-branch");
    expect_str(ng_bdict_get(nodes, req, "sdp"), OFFER_SDP, "sdp");
    cr_assert_null(ng_bdict_get(nodes, req, "to-tag"));

    const struct ng_bval *flags = ng_bdict_get(nodes, req, "flags");
    cr_assert(flags && flags->type == NG_BLIST && flags->n == 1);
    cr_assert(ng_blist_has(nodes, flags, "trust-address"));
    cr_assert(!ng_blist_has(nodes, flags, "trust"));
    const struct ng_bval *replace = ng_bdict_get(nodes, req, "replace");
    cr_assert(ng_blist_has(nodes, replace, "origin"));
    cr_assert(ng_blist_has(nodes, replace, "session-connection"));
    cr_assert(!ng_blist_has(nodes, replace, "trust-address"));
    cr_assert(!ng_blist_has(nodes, req, "command"));           /* not a list */
    cr_assert(!ng_blist_has(nodes, NULL, "origin"));
    const struct ng_bval *rf = ng_bdict_get(nodes, req, "received-from");
    cr_assert(rf && rf->n == 2);
    expect_str(ng_bchild(nodes, rf), "IP4", "received-from[0]");
    expect_str(ng_bnext(nodes, ng_bchild(nodes, rf)), "203.0.113.5", "received-from[1]");
    cr_assert_null(ng_bnext(nodes, ng_bnext(nodes, ng_bchild(nodes, rf))));

    /* Keys in any order, as rtpengine accepts them; the first duplicate wins. */
    static const char shuffled[] = "d7:command4:ping3:sdp0:7:command5:offer1:ae";
    cr_assert_eq(ng_bdecode(LIT(shuffled), nodes, 64, 4), NG_B_EINVAL); /* "1:a" has no value */
    static const char dup[] = "d7:command4:ping3:sdp0:7:command5:offere";
    cr_assert_eq(ng_bdecode(LIT(dup), nodes, 64, 4), 7);
    cr_assert(ng_bstr_eq(ng_bdict_get(nodes, &nodes[0], "command"), "ping"));
    static const char unsorted[] = "d1:zi1e1:ai2ee";
    cr_assert_eq(ng_bdecode(LIT(unsorted), nodes, 64, 4), 5);
    cr_assert_eq(ng_bdict_get(nodes, &nodes[0], "a")->i, 2);
    cr_assert_eq(ng_bdict_get(nodes, &nodes[0], "z")->i, 1);
}

Test(bencode, any_top_level_type)
{
    struct ng_bval nodes[4];
    cr_assert_eq(ng_bdecode(LIT("4:spam"), nodes, 4, 0), 1);
    expect_str(&nodes[0], "spam", "top string");
    cr_assert_eq(ng_bdecode(LIT("i-7e"), nodes, 4, 0), 1);
    cr_assert(nodes[0].type == NG_BINT && nodes[0].i == -7);
    cr_assert_eq(ng_bdecode(LIT("le"), nodes, 4, 1), 1);
    cr_assert(nodes[0].type == NG_BLIST && nodes[0].n == 0 && nodes[0].first == 0);
    cr_assert_eq(ng_bdecode(LIT("de"), nodes, 4, 1), 1);
    cr_assert(nodes[0].type == NG_BDICT && nodes[0].n == 0);
    cr_assert_eq(ng_bdecode(LIT("0:"), nodes, 4, 0), 1);
    expect_str(&nodes[0], "", "empty string");
    /* Strings carry any byte, NUL included. */
    cr_assert_eq(ng_bdecode("3:a\0b", 5, nodes, 4, 0), 1);
    cr_assert(nodes[0].s.n == 3 && nodes[0].s.p[1] == '\0');
}

Test(bencode, integer_limits)
{
    static const struct { const char *in; int64_t v; } ok[] = {
        { "i0e", 0 }, { "i1e", 1 }, { "i-1e", -1 }, { "i10e", 10 },
        { "i9223372036854775807e", INT64_MAX },
        { "i-9223372036854775808e", INT64_MIN },
        { "i-9223372036854775807e", -INT64_MAX },
    };
    struct ng_bval v;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        cr_assert_eq(ng_bdecode(ok[i].in, strlen(ok[i].in), &v, 1, 0), 1, "%s", ok[i].in);
        cr_assert(v.type == NG_BINT && v.i == ok[i].v, "%s -> %lld", ok[i].in, (long long)v.i);
    }
}

/* --- round trip ----------------------------------------------------------- */

/* Canonical encodings: decode, re-encode to the same bytes, decode again to
 * the same nodes. */
static const char *const canon[] = {
    "i0e", "i-1e", "i9223372036854775807e", "i-9223372036854775808e", "i1234567890e",
    "0:", "1:x", "4:spam", "10:0123456789", "5:d1:ae", "3:i0e", "1: ",
    "le", "de", "llee", "llleee", "ldelee", "l0:0:0:e", "li1ei2ei3ee",
    "d1:ale1:bdee", "d0:0:e", "d4:spaml1:a1:bee", "d3:cow3:moo4:spam4:eggse",
    "d1:zi1e1:ai2ee", "ld1:xi-5eeli0eee", "d7:command4:pinge",
    "d6:result4:pong7:warning0:e",
    "d6:result2:ok7:streamsld5:mediai0e7:offererd9:peer-path0:6:chunksi12eeeee",
};

Test(bencode, round_trip_table)
{
    for (size_t t = 0; t < sizeof(canon) / sizeof(canon[0]); t++) {
        const char *in = canon[t];
        size_t len = strlen(in);
        struct ng_bval a[32], b[32];
        int k = ng_bdecode(in, len, a, 32, 8);
        cr_assert_gt(k, 0, "%s: rc %d", in, k);
        char buf[256];
        struct ng_benc e;
        ng_benc_init(&e, buf, sizeof(buf));
        encode_val(&e, a, &a[0]);
        cr_assert(e.err == 0 && e.n == len && memcmp(buf, in, len) == 0, "%s -> '%.*s'", in,
                  (int)e.n, buf);
        cr_assert_eq(ng_bdecode(buf, e.n, b, 32, 8), k, "%s: re-decode", in);
        expect_same_nodes(a, b, k, in);
    }
    cr_assert_eq(ng_bdecode(LIT(offer), (struct ng_bval[64]){ 0 }, 64, 4), 22);
}

/* A value built with the encoder decodes to what was put in. */
Test(bencode, decode_of_encode)
{
    static const char sdp[] = "v=0\r\n\0binary\xff";
    char buf[512];
    struct ng_benc e;
    ng_benc_init(&e, buf, sizeof(buf));
    ng_benc_dict(&e);
    ng_benc_kv_cstr(&e, "command", "offer");
    ng_benc_kv_str(&e, "sdp", sdp, sizeof(sdp) - 1);
    ng_benc_kv_int(&e, "min", INT64_MIN);
    ng_benc_kv_int(&e, "max", INT64_MAX);
    ng_benc_cstr(&e, "flags");
    ng_benc_list(&e);
    ng_benc_cstr(&e, "trust-address");
    ng_benc_cstr(&e, NULL);
    ng_benc_int(&e, 0);
    ng_benc_end(&e);
    ng_benc_end(&e);
    cr_assert_eq(e.err, 0);
    struct ng_bval nodes[32];
    int k = ng_bdecode(buf, e.n, nodes, 32, 2);
    cr_assert_eq(k, 14, "k = %d", k);
    cr_assert_eq(nodes[0].n, 5);
    cr_assert(ng_bstr_eq(ng_bdict_get(nodes, &nodes[0], "command"), "offer"));
    const struct ng_bval *s = ng_bdict_get(nodes, &nodes[0], "sdp");
    cr_assert(s && s->s.n == sizeof(sdp) - 1 && memcmp(s->s.p, sdp, s->s.n) == 0);
    cr_assert_eq(ng_bdict_get(nodes, &nodes[0], "min")->i, INT64_MIN);
    cr_assert_eq(ng_bdict_get(nodes, &nodes[0], "max")->i, INT64_MAX);
    const struct ng_bval *f = ng_bdict_get(nodes, &nodes[0], "flags");
    cr_assert(f && f->n == 3 && ng_blist_has(nodes, f, "trust-address") && ng_blist_has(nodes, f, ""));
}

/* --- hostile input -------------------------------------------------------- */

struct bad {
    const char *in;
    size_t max_nodes;
    unsigned max_depth;
    int want;
};

static const struct bad bads[] = {
    { "", 8, 8, NG_B_EINVAL },
    { "e", 8, 8, NG_B_EINVAL },
    { "x", 8, 8, NG_B_EINVAL },
    { " i1e", 8, 8, NG_B_EINVAL },
    { "ie", 8, 8, NG_B_EINVAL },
    { "i-e", 8, 8, NG_B_EINVAL },
    { "i-0e", 8, 8, NG_B_EINVAL },
    { "i03e", 8, 8, NG_B_EINVAL },
    { "i00e", 8, 8, NG_B_EINVAL },
    { "i-03e", 8, 8, NG_B_EINVAL },
    { "i+3e", 8, 8, NG_B_EINVAL },
    { "i--3e", 8, 8, NG_B_EINVAL },
    { "i 3e", 8, 8, NG_B_EINVAL },
    { "i3 e", 8, 8, NG_B_EINVAL },
    { "i3", 8, 8, NG_B_EINVAL },
    { "i1.5e", 8, 8, NG_B_EINVAL },
    { "i9223372036854775808e", 8, 8, NG_B_EINVAL },
    { "i-9223372036854775809e", 8, 8, NG_B_EINVAL },
    { "i18446744073709551616e", 8, 8, NG_B_EINVAL },
    { "i99999999999999999999999999e", 8, 8, NG_B_EINVAL },
    { "4:spa", 8, 8, NG_B_EINVAL },
    { "4spam", 8, 8, NG_B_EINVAL },
    { "04:spam", 8, 8, NG_B_EINVAL },
    { "00:", 8, 8, NG_B_EINVAL },
    { "-1:x", 8, 8, NG_B_EINVAL },
    { "99999999999999999999:x", 8, 8, NG_B_EINVAL },
    { "18446744073709551617:x", 8, 8, NG_B_EINVAL },
    { "l99999999999999999999:xe", 8, 8, NG_B_EINVAL },
    { "1", 8, 8, NG_B_EINVAL },
    { "1:", 8, 8, NG_B_EINVAL },
    { "l", 8, 8, NG_B_EINVAL },
    { "li1e", 8, 8, NG_B_EINVAL },
    { "d", 8, 8, NG_B_EINVAL },
    { "d1:ae", 8, 8, NG_B_EINVAL },         /* key without a value */
    { "d1:a", 8, 8, NG_B_EINVAL },
    { "di1ei2ee", 8, 8, NG_B_EINVAL },      /* keys are strings */
    { "dlei2ee", 8, 8, NG_B_EINVAL },
    { "ddee", 8, 8, NG_B_EINVAL },
    { "d1:ai1ei2ei3ee", 8, 8, NG_B_EINVAL },
    { "lxe", 8, 8, NG_B_EINVAL },
    { "i1ee", 8, 8, NG_B_ETRAIL },
    { "lee", 8, 8, NG_B_ETRAIL },
    { "dei0e", 8, 8, NG_B_ETRAIL },
    { "4:spam ", 8, 8, NG_B_ETRAIL },
    { "d7:command4:pinge\n", 8, 8, NG_B_ETRAIL },
    { "lelel", 8, 8, NG_B_ETRAIL },
    { "i1e", 0, 8, NG_B_ETOOBIG },
    { "li1ee", 1, 8, NG_B_ETOOBIG },
    { "li1ei2ei3ee", 3, 8, NG_B_ETOOBIG },
    { "d1:ai1ee", 2, 8, NG_B_ETOOBIG },
    { "le", 8, 0, NG_B_EDEPTH },
    { "d1:alee", 8, 1, NG_B_EDEPTH },
    { "lllleeee", 8, 3, NG_B_EDEPTH },
};

Test(bencode, rejects_hostile_table)
{
    for (size_t t = 0; t < sizeof(bads) / sizeof(bads[0]); t++) {
        const struct bad *b = &bads[t];
        size_t len = strlen(b->in);
        /* An exact-size heap copy, so a read past the end shows under ASan. */
        char *in = malloc(len ? len : 1);
        memcpy(in, b->in, len);
        struct ng_bval nodes[8];
        int rc = ng_bdecode(in, len, nodes, b->max_nodes, b->max_depth);
        cr_assert_eq(rc, b->want, "'%s' (nodes %zu, depth %u): rc %d, want %d", b->in,
                     b->max_nodes, b->max_depth, rc, b->want);
        free(in);
    }
    /* The limits are exact: one more node or level and it decodes. */
    struct ng_bval nodes[8];
    cr_assert_eq(ng_bdecode(LIT("li1ei2ei3ee"), nodes, 4, 1), 4);
    cr_assert_eq(ng_bdecode(LIT("lllleeee"), nodes, 4, 4), 4);
    cr_assert_eq(ng_bdecode(LIT("i1e"), nodes, 1, 0), 1);
}

Test(bencode, deep_nesting_is_bounded)
{
    enum { DEEP = 10000 };
    char *in = malloc(2 * DEEP);
    memset(in, 'l', DEEP);
    memset(in + DEEP, 'e', DEEP);
    struct ng_bval *nodes = calloc(DEEP, sizeof(*nodes));
    cr_assert_eq(ng_bdecode(in, DEEP, nodes, DEEP, 32), NG_B_EDEPTH);
    cr_assert_eq(ng_bdecode(in, 2 * DEEP, nodes, DEEP, 32), NG_B_EDEPTH);
    cr_assert_eq(ng_bdecode(in, 2 * DEEP, nodes, 64, 32), NG_B_EDEPTH);
    /* Allowed, 10,000 levels still need no C stack: the decoder has none. */
    cr_assert_eq(ng_bdecode(in, 2 * DEEP, nodes, DEEP, DEEP), DEEP);
    for (int j = 0; j < DEEP - 1; j++)
        cr_assert(nodes[j].type == NG_BLIST && nodes[j].n == 1 && nodes[j].first == (uint32_t)j + 1 &&
                  nodes[j].next == 0, "level %d", j);
    cr_assert(nodes[DEEP - 1].n == 0 && nodes[DEEP - 1].first == 0);
    cr_assert_eq(ng_bdecode(in, 2 * DEEP - 1, nodes, DEEP, DEEP), NG_B_EINVAL);
    /* Dicts nest the same way: d1:ad1:ad1:a... */
    char *d = malloc(4 * DEEP + 2);
    for (int j = 0; j < DEEP; j++)
        memcpy(d + 4 * j, "d1:a", 4);
    cr_assert_eq(ng_bdecode(d, 4 * DEEP, nodes, DEEP, 32), NG_B_EDEPTH);
    free(d);
    free(nodes);
    free(in);
}

static void truncations(const char *msg, size_t len, unsigned depth)
{
    struct ng_bval nodes[64];
    cr_assert_gt(ng_bdecode(msg, len, nodes, 64, depth), 0);
    for (size_t cut = 0; cut < len; cut++) {
        char *in = malloc(cut ? cut : 1);
        memcpy(in, msg, cut);
        int rc = ng_bdecode(in, cut, nodes, 64, depth);
        cr_assert_eq(rc, NG_B_EINVAL, "cut at %zu of %zu: rc %d", cut, len, rc);
        free(in);
    }
}

Test(bencode, truncation_at_every_byte)
{
    truncations(LIT(offer), 4);
    truncations(LIT("d3:bar4:spam3:fooi-42e4:listli1ei-2e0:lee3:subd1:ad1:bi0eeee"), 8);
    truncations(LIT("i-9223372036854775808e"), 0);
}

/* --- encoder -------------------------------------------------------------- */

static void build_reply(struct ng_benc *e)
{
    ng_benc_dict(e);
    ng_benc_kv_cstr(e, "result", "ok");
    ng_benc_kv_str(e, "sdp", "v=0\r\n", 5);
    ng_benc_kv_int(e, "created", 1700000000);
    ng_benc_cstr(e, "streams");
    ng_benc_list(e);
    ng_benc_int(e, -1);
    ng_benc_int(e, 0);
    ng_benc_int(e, INT64_MIN);
    ng_benc_int(e, INT64_MAX);
    ng_benc_str(e, NULL, 0);
    ng_benc_dict(e);
    ng_benc_end(e);
    ng_benc_end(e);
    ng_benc_end(e);
}

static const char reply_text[] =
    "d6:result2:ok3:sdp5:v=0\r\n7:createdi1700000000e7:streams"
    "li-1ei0ei-9223372036854775808ei9223372036854775807e0:deee";

Test(bencode, encoder_exact)
{
    char buf[256];
    struct ng_benc e;
    ng_benc_init(&e, buf, sizeof(buf));
    build_reply(&e);
    cr_assert_eq(e.err, 0);
    cr_assert(e.n == sizeof(reply_text) - 1 && memcmp(buf, reply_text, e.n) == 0, "'%.*s'",
              (int)e.n, buf);

    ng_benc_init(&e, buf, sizeof(buf));
    ng_benc_dict(&e);
    ng_benc_kv_cstr(&e, "result", "error");
    ng_benc_kv_cstr(&e, "error-reason", "Unknown call-id");
    ng_benc_end(&e);
    static const char err[] = "d6:result5:error12:error-reason15:Unknown call-ide";
    cr_assert(e.err == 0 && e.n == sizeof(err) - 1 && memcmp(buf, err, e.n) == 0);
}

Test(bencode, encoder_out_of_room)
{
    const size_t full = sizeof(reply_text) - 1;
    for (size_t cap = 0; cap <= full; cap++) {
        char buf[256];
        memset(buf, '#', sizeof(buf));
        struct ng_benc e;
        ng_benc_init(&e, buf, cap);
        build_reply(&e);
        if (cap == full) {
            cr_assert(e.err == 0 && e.n == full);
            break;
        }
        cr_assert_eq(e.err, -1, "cap %zu", cap);
        cr_assert(e.n <= cap && memcmp(buf, reply_text, e.n) == 0, "cap %zu: n %zu", cap, e.n);
        for (size_t j = cap; j < sizeof(buf); j++)
            cr_assert_eq(buf[j], '#', "cap %zu: byte %zu written", cap, j);
        /* Errors stick: a small write that would fit now still fails. */
        size_t n = e.n;
        ng_benc_end(&e);
        cr_assert(e.err == -1 && e.n == n);
    }
    /* A string's length prefix is never written without its bytes. */
    char buf[4];
    struct ng_benc e;
    ng_benc_init(&e, buf, sizeof(buf));
    ng_benc_cstr(&e, "abcd");
    cr_assert(e.err == -1 && e.n == 0);
    ng_benc_init(&e, NULL, 0);
    ng_benc_end(&e);
    cr_assert(e.err == -1 && e.n == 0);
}

/* --- datagram ------------------------------------------------------------- */

Test(bencode, split_cookie)
{
    struct msrp_slice ck, body;
    static const char dg[] = "5342_7 d7:command4:pinge";
    cr_assert_eq(ng_split_cookie(LIT(dg), &ck, &body), 0);
    cr_assert(ck.p == dg && ck.n == 6);
    cr_assert(body.p == dg + 7 && body.n == sizeof(dg) - 8);
    struct ng_bval nodes[4];
    cr_assert_eq(ng_bdecode(body.p, body.n, nodes, 4, 1), 3);

    /* Only the first space splits; what follows is the body's problem. */
    cr_assert_eq(ng_split_cookie(LIT("c  de"), &ck, &body), 0);
    cr_assert(ck.n == 1 && body.n == 3 && body.p[0] == ' ');
    /* An empty body still names a cookie to answer. */
    cr_assert_eq(ng_split_cookie(LIT("abc "), &ck, &body), 0);
    cr_assert(ck.n == 3 && body.n == 0);

    char max[NG_COOKIE_LEN_MAX + 4];
    memset(max, 'k', sizeof(max));
    max[NG_COOKIE_LEN_MAX] = ' ';
    cr_assert_eq(ng_split_cookie(max, NG_COOKIE_LEN_MAX + 3, &ck, &body), 0);
    cr_assert(ck.n == NG_COOKIE_LEN_MAX && body.n == 2);
    max[NG_COOKIE_LEN_MAX] = 'k';
    max[NG_COOKIE_LEN_MAX + 1] = ' ';
    cr_assert_eq(ng_split_cookie(max, NG_COOKIE_LEN_MAX + 3, &ck, &body), NG_B_EINVAL);

    static const char *const bad[] = {
        "", " ", " d7:command4:pinge", "nocookie", "d7:command4:pinge",
        "a\tb de", "a\rb de", "a\nb de", "caf\xc3\xa9 de", "a\x7f de",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(ng_split_cookie(bad[i], strlen(bad[i]), &ck, &body), NG_B_EINVAL, "'%s'", bad[i]);
    cr_assert_eq(ng_split_cookie("a\0b de", 6, &ck, &body), NG_B_EINVAL);
}
