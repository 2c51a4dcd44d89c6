/*
 * test_headers.c: header names and single-value grammars (proto/headers.c).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "proto/error.h"
#include "proto/headers.h"

static int br(const char *s, struct msrp_byte_range *out)
{
    memset(out, 0x5A, sizeof *out);
    return msrp_byte_range_parse(out, s, strlen(s));
}

Test(byte_range, valid_forms)
{
    static const struct {
        const char *s;
        uint64_t start, end, total;
    } ok[] = {
        { "1-*/*", 1, MSRP_BR_STAR, MSRP_BR_STAR },
        { "1-100/100", 1, 100, 100 },
        { "101-*/2000", 101, MSRP_BR_STAR, 2000 },
        { "1-0/0", 1, 0, 0 },             /* empty message */
        { "1-25/*", 1, 25, MSRP_BR_STAR },
        { "5-4/8", 5, 4, 8 },             /* empty chunk at 5 */
        { "4611686018427387904-*/*", 4611686018427387904ull, MSRP_BR_STAR, MSRP_BR_STAR }, /* 2^62 */
        { "11-10/10", 11, 10, 10 },       /* empty chunk just after the end */
        { "0001-0002/0003", 1, 2, 3 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct msrp_byte_range r;
        cr_assert_eq(br(ok[i].s, &r), 0, "%s", ok[i].s);
        cr_assert_eq(r.start, ok[i].start, "%s", ok[i].s);
        cr_assert_eq(r.end, ok[i].end, "%s", ok[i].s);
        cr_assert_eq(r.total, ok[i].total, "%s", ok[i].s);
    }
}

Test(byte_range, invalid_forms)
{
    static const char *bad[] = {
        "",
        "0-10/10",                  /* start is 1-based */
        "5-3/8",                    /* end < start - 1 */
        "1-101/100",                /* end > total */
        "*-10/10",                  /* start cannot be '*' */
        "1-10",                     /* no total */
        "1/10",
        "1-10/10 ",                 /* trailing byte */
        " 1-10/10",
        "1-10/1x",
        "1--10/10",
        "1-/10",
        "1-10/",
        "18446744073709551615-*/*", /* the '*' sentinel itself */
        "18446744073709551614-*/*", /* past 2^62: start + bytes moved could wrap */
        "4611686018427387905-*/*",
        "1-*/4611686018427387905",
        "12-*/10",                  /* starts past the end of the message */
        "12-11/10",
        "18446744073709551616-*/*", /* overflow */
        "1-99999999999999999999999/*",
        "1-**/*",
        "+1-2/3",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct msrp_byte_range r;
        cr_assert_eq(br(bad[i], &r), MSRP_E_BYTE_RANGE, "'%s' accepted", bad[i]);
    }
}

Test(report, values)
{
    enum msrp_report r = MSRP_REPORT_ABSENT;
    cr_assert_eq(msrp_report_parse(&r, "yes", 3, false), 0);
    cr_assert_eq(r, MSRP_REPORT_YES);
    cr_assert_eq(msrp_report_parse(&r, "No", 2, false), 0);
    cr_assert_eq(r, MSRP_REPORT_NO);
    cr_assert_eq(msrp_report_parse(&r, "partial", 7, true), 0);
    cr_assert_eq(r, MSRP_REPORT_PARTIAL);
    r = MSRP_REPORT_YES;
    cr_assert_eq(msrp_report_parse(&r, "partial", 7, false), MSRP_E_REPORT_VALUE);
    cr_assert_eq(msrp_report_parse(&r, "yess", 4, true), MSRP_E_REPORT_VALUE);
    cr_assert_eq(msrp_report_parse(&r, "ye", 2, true), MSRP_E_REPORT_VALUE);
    cr_assert_eq(msrp_report_parse(&r, "", 0, true), MSRP_E_REPORT_VALUE);
    cr_assert_eq(r, MSRP_REPORT_YES, "a failed parse must not change the value");
}

Test(status, values)
{
    struct msrp_status_hdr st;
    cr_assert_eq(msrp_status_hdr_parse(&st, "000 200 OK", 10), 0);
    cr_assert_eq(st.ns, 0);
    cr_assert_eq(st.code, 200);
    cr_assert(msrp_slice_eq(st.comment, MSRP_SLICE_LIT("OK")));
    cr_assert_eq(msrp_status_hdr_parse(&st, "000 413", 7), 0);
    cr_assert_eq(st.code, 413);
    cr_assert_eq(st.comment.n, 0);
    const char *s = "000 481 No such session here";
    cr_assert_eq(msrp_status_hdr_parse(&st, s, strlen(s)), 0);
    cr_assert(msrp_slice_eq(st.comment, MSRP_SLICE_LIT("No such session here")));
    static const char *bad[] = { "", "000", "000 20", "000 2000", "00 200", "000 099",
                                 "000  200", "000 200OK", "abc 200", "000 200 O\rK" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(msrp_status_hdr_parse(&st, bad[i], strlen(bad[i])), MSRP_E_STATUS_HEADER,
                     "'%s' accepted", bad[i]);
}

Test(expires, values)
{
    uint32_t v = 7;
    cr_assert_eq(msrp_expires_parse(&v, "900", 3), 0);
    cr_assert_eq(v, 900);
    cr_assert_eq(msrp_expires_parse(&v, "0", 1), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(msrp_expires_parse(&v, "4294967295", 10), 0);
    cr_assert_eq(v, 4294967295u);
    cr_assert_eq(msrp_expires_parse(&v, "00000000000000000000600", 23), 0);
    cr_assert_eq(v, 600);
    v = 5;
    cr_assert_eq(msrp_expires_parse(&v, "4294967296", 10), MSRP_E_EXPIRES);
    cr_assert_eq(msrp_expires_parse(&v, "99999999999999999999999", 23), MSRP_E_EXPIRES);
    cr_assert_eq(msrp_expires_parse(&v, "", 0), MSRP_E_EXPIRES);
    cr_assert_eq(msrp_expires_parse(&v, "-1", 2), MSRP_E_EXPIRES);
    cr_assert_eq(msrp_expires_parse(&v, "12 ", 3), MSRP_E_EXPIRES);
    cr_assert_eq(v, 5);
}

Test(names, lookup_case_insensitive_and_round_trip)
{
    for (int id = 1; id < MSRP_H__COUNT; id++) {
        const char *name = msrp_hdr_name((enum msrp_hdr_id)id);
        cr_assert_not_null(name);
        size_t n = strlen(name);
        cr_assert_eq(msrp_hdr_lookup(name, n), id, "%s", name);
        char up[32], low[32];
        for (size_t i = 0; i <= n; i++) {
            up[i] = (char)((name[i] >= 'a' && name[i] <= 'z') ? name[i] - 32 : name[i]);
            low[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
        }
        cr_assert_eq(msrp_hdr_lookup(up, n), id, "%s", up);
        cr_assert_eq(msrp_hdr_lookup(low, n), id, "%s", low);
        /* a prefix or an extension is not the header */
        cr_assert_eq(msrp_hdr_lookup(name, n - 1), MSRP_H_OTHER, "%s", name);
    }
    cr_assert_str_eq(msrp_hdr_name(MSRP_H_WWW_AUTHENTICATE), "WWW-Authenticate");
    cr_assert_str_eq(msrp_hdr_name(MSRP_H_MESSAGE_ID), "Message-ID");
    cr_assert_null(msrp_hdr_name(MSRP_H_OTHER));
    cr_assert_null(msrp_hdr_name(MSRP_H__COUNT));
    cr_assert_eq(msrp_hdr_lookup("To-Pat", 6), MSRP_H_OTHER);
    cr_assert_eq(msrp_hdr_lookup("To-Paths", 8), MSRP_H_OTHER);
    cr_assert_eq(msrp_hdr_lookup("To_Path", 7), MSRP_H_OTHER);
    cr_assert_eq(msrp_hdr_lookup("X-Foo", 5), MSRP_H_OTHER);
    cr_assert_eq(msrp_hdr_lookup("", 0), MSRP_H_OTHER);
    /* '\r' | 0x20 == '-': a lookup that folded case by OR would match */
    cr_assert_eq(msrp_hdr_lookup("To\rPath", 7), MSRP_H_OTHER);
    cr_assert_eq(msrp_hdr_lookup("mIn-ExPiReS", 11), MSRP_H_MIN_EXPIRES);
    cr_assert_eq(msrp_hdr_lookup("content-disposition", 19), MSRP_H_CONTENT_DISPOSITION);
    cr_assert_eq(msrp_hdr_lookup("CONTENT-DESCRIPTION", 19), MSRP_H_CONTENT_DESCRIPTION);
}

/* The lookup compares a word at a time with case folded only where the
 * name has letters: every byte value at every position of every name
 * matches exactly when it is that letter in either case, or that '-'. */
Test(names, lookup_every_byte_at_every_position)
{
    for (int id = 1; id < MSRP_H__COUNT; id++) {
        const char *name = msrp_hdr_name((enum msrp_hdr_id)id);
        size_t n = strlen(name);
        char buf[32];
        for (size_t at = 0; at < n; at++) {
            for (int b = 0; b < 256; b++) {
                memcpy(buf, name, n);
                buf[at] = (char)b;
                unsigned char c = (unsigned char)name[at];
                bool letter = (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
                bool same = letter ? (b | 0x20) == (c | 0x20) && ((b | 0x20) >= 'a')
                                   : b == c;
                enum msrp_hdr_id want = same ? (enum msrp_hdr_id)id : MSRP_H_OTHER;
                cr_assert_eq(msrp_hdr_lookup(buf, n), want, "%s with byte %d at %zu", name, b,
                             at);
            }
        }
    }
}
