/*
 * test_ctypes.c: allowed_content_types (gateway/wire/accepttypes.h as the relay
 * uses it): comma or blank separated lists, wildcards, parameters and case
 * ignored, and the config-time check of the entries.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "gateway/wire/accepttypes.h"

static bool ok(const char *list, const char *ct)
{
    return gw_accept_types_match(list, msrp_slice(ct, strlen(ct)));
}

Test(ctypes, config_lists)
{
    const char *l = "image/*, text/plain,message/cpim";
    cr_assert(ok(l, "image/png"));
    cr_assert(ok(l, "IMAGE/JPEG"));
    cr_assert(ok(l, "text/plain; charset=utf-8"));
    cr_assert(ok(l, " Text/Plain"));
    cr_assert(ok(l, "message/cpim"));
    cr_assert_not(ok(l, "text/html"));
    cr_assert_not(ok(l, "application/pdf"));
    cr_assert_not(ok(l, "imagex/png"), "image/* is not a prefix match of the type");
    cr_assert_not(ok(l, "image"), "no subtype");
    cr_assert_not(ok(l, ""), "no Content-Type");
    cr_assert_not(ok(l, "text/plainx"));
    cr_assert(ok("", "application/pdf"), "empty list: everything");
    cr_assert(ok("*", "application/pdf"));
    cr_assert(ok(",, *", "x/y"));
}

Test(ctypes, check_entries)
{
    char msg[128];
    cr_assert_eq(gw_accept_types_check("", msg, sizeof(msg)), 0);
    cr_assert_eq(gw_accept_types_check("image/*, text/plain message/cpim *", msg, sizeof(msg)), 0);
    cr_assert_eq(gw_accept_types_check("text/plain, image", msg, sizeof(msg)), -EINVAL);
    cr_assert_str_eq(msg, "bad content type 'image' (want *, type/* or type/subtype)");
    cr_assert_eq(gw_accept_types_check("*/plain", msg, sizeof(msg)), -EINVAL);
    cr_assert_eq(gw_accept_types_check("text/", msg, sizeof(msg)), -EINVAL);
    cr_assert_eq(gw_accept_types_check("/plain", msg, sizeof(msg)), -EINVAL);
    cr_assert_eq(gw_accept_types_check("text/plain;charset=x", msg, sizeof(msg)), -EINVAL);
    cr_assert_eq(gw_accept_types_check("a/b/c", msg, sizeof(msg)), -EINVAL);
    cr_assert_eq(gw_accept_types_check("text/pl*", msg, sizeof(msg)), -EINVAL);
    cr_assert_eq(gw_accept_types_check("bad", NULL, 0), -EINVAL);
}
