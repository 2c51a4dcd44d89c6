/*
 * test_status.c: the one table of reason phrases (proto/status.c), and
 * that the relay and the endpoint answer with it: the same phrase for the
 * same code on both sides.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "proto/status.h"

Test(status, the_codes_we_send_have_their_phrase)
{
    static const struct {
        unsigned code;
        const char *phrase;
    } want[] = {
        { 200, "OK" },
        { 400, "Bad Request" },
        { 401, "Unauthorized" },
        { 403, "Forbidden" },
        { 408, "Request Timeout" },
        { 413, "Message Too Large" },
        { 415, "Unsupported Media Type" },
        { 423, "Interval Out-of-Bounds" },
        { 481, "Session Does Not Exist" },
        { 501, "Not Implemented" },
        { 506, "Session Already Bound" },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *p = msrp_status_phrase(want[i].code);
        cr_assert_not_null(p, "no phrase for %u", want[i].code);
        cr_assert_str_eq(p, want[i].phrase, "%u", want[i].code);
    }
}

Test(status, other_codes_have_none)
{
    static const unsigned none[] = { 0, 100, 199, 201, 202, 404, 409, 480, 500, 999 };
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
        cr_assert_null(msrp_status_phrase(none[i]), "%u has a phrase", none[i]);
}
