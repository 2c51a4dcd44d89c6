/*
 * test_accounting.c: the accounting record's JSON line byte for byte
 * (escaping, left-out fields, no byte past the buffer), and the writer:
 * records reach the file whole and in order, a reopen after the file was
 * moved starts a new one, and without a sink nothing is written.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/obs/accounting.h"

static const struct gw_acct_record rec = {
    .kind = "reservation", .id = "0AbCdEfGhIjKlMnO", .user = "alice",
    .peer = "127.0.0.1:40000", .remote = "msrp://127.0.0.1:40000/x;tcp",
    .start_ms = 1795878128426, .duration_ms = 818, .bytes_in = 2489, .bytes_out = 104677,
    .body_in = 0, .body_out = 100000, .chunks_in = 0, .chunks_out = 11, .reason = "killed",
};

static const char rec_json[] =
    "{\"kind\":\"reservation\",\"id\":\"0AbCdEfGhIjKlMnO\",\"user\":\"alice\","
    "\"peer\":\"127.0.0.1:40000\",\"remote\":\"msrp://127.0.0.1:40000/x;tcp\","
    "\"start_ms\":1795878128426,\"duration_ms\":818,\"bytes_in\":2489,\"bytes_out\":104677,"
    "\"body_in\":0,\"body_out\":100000,\"chunks_in\":0,\"chunks_out\":11,\"reason\":\"killed\"}\n";

Test(accounting, record_as_one_json_line)
{
    char buf[1024];
    int n = gw_acct_format(buf, sizeof(buf), &rec);
    cr_assert_eq(n, (int)strlen(rec_json));
    cr_assert_eq(memcmp(buf, rec_json, (size_t)n), 0, "got %.*s", n, buf);
}

Test(accounting, anchor_fields_and_escapes)
{
    struct gw_acct_record r = {
        .kind = "anchor", .id = "1x", .call_id = "c\"1\\", .user = "",
        .peer = "a\tb\x01\xc3\xa9", .remote = NULL, .reason = "deleted",
    };
    char buf[1024];
    int n = gw_acct_format(buf, sizeof(buf), &r);
    const char *want =
        "{\"kind\":\"anchor\",\"id\":\"1x\",\"call_id\":\"c\\\"1\\\\\",\"user\":\"\","
        "\"peer\":\"a\\u0009b\\u0001\\u00c3\\u00a9\",\"start_ms\":0,\"duration_ms\":0,"
        "\"bytes_in\":0,\"bytes_out\":0,\"body_in\":0,\"body_out\":0,\"chunks_in\":0,"
        "\"chunks_out\":0,\"reason\":\"deleted\"}\n";
    cr_assert_eq(n, (int)strlen(want), "got %.*s", n, buf);
    cr_assert_eq(memcmp(buf, want, (size_t)n), 0, "got %.*s", n, buf);
}

Test(accounting, small_buffers_fail_without_overrun)
{
    size_t len = strlen(rec_json);
    char buf[1024];
    for (size_t cap = 0; cap < len; cap++) {
        memset(buf, 'Z', sizeof(buf));
        cr_assert_eq(gw_acct_format(buf, cap, &rec), -ENOSPC, "cap %zu", cap);
        for (size_t i = cap; i < sizeof(buf); i++)
            cr_assert_eq(buf[i], 'Z', "cap %zu: byte %zu written", cap, i);
    }
    cr_assert_eq(gw_acct_format(buf, len, &rec), (int)len);
}

Test(accounting, json_str)
{
    char buf[32];
    cr_assert_eq(gw_json_str(buf, sizeof(buf), "a\"\\\n", 4), 13);
    cr_assert_eq(memcmp(buf, "\"a\\\"\\\\\\u000a\"", 13), 0);
    cr_assert_eq(gw_json_str(buf, 3, "ab", 2), 0, "no room for the closing quote");
    cr_assert_eq(gw_json_str(buf, 4, "ab", 2), 4);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = calloc(1, 1 << 16);
    size_t n = fread(b, 1, (1 << 16) - 1, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

Test(accounting, writer_appends_and_reopens)
{
    char dir[] = "/tmp/test_acct.XXXXXX", path[256], moved[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/acct", dir);
    snprintf(moved, sizeof(moved), "%s/acct.1", dir);
    cr_assert_eq(gw_acct_start(path, false), 0);
    cr_assert(gw_acct_enabled());
    for (int i = 0; i < 3; i++)
        gw_acct_put(&rec);
    /* Moved away (log rotation), then reopened: the next record starts a
     * new file; whatever was queued before may land in either. */
    for (int i = 0; i < 200; i++) {
        char *b = slurp(path);
        bool all = b && strlen(b) == 3 * strlen(rec_json);
        free(b);
        if (all)
            break;
        usleep(10000);
    }
    cr_assert_eq(rename(path, moved), 0);
    gw_acct_reopen();
    for (int i = 0; i < 200 && access(path, F_OK) != 0; i++)
        usleep(10000);
    struct gw_acct_record r2 = rec;
    r2.reason = "normal";
    gw_acct_put(&r2);
    gw_acct_stop();
    cr_assert_not(gw_acct_enabled());
    gw_acct_put(&rec); /* stopped: nothing */

    char *old = slurp(moved), *now = slurp(path);
    cr_assert_not_null(old);
    cr_assert_not_null(now);
    char want_old[3 * sizeof(rec_json)] = "";
    for (int i = 0; i < 3; i++)
        strcat(want_old, rec_json);
    cr_assert_str_eq(old, want_old);
    char want_new[sizeof(rec_json) + 8];
    int n = gw_acct_format(want_new, sizeof(want_new), &r2);
    want_new[n] = '\0';
    cr_assert_str_eq(now, want_new);
    cr_assert_eq(gw_acct_dropped(), 0);
    free(old);
    free(now);
    unlink(path);
    unlink(moved);
    rmdir(dir);
}

Test(accounting, off_without_a_sink)
{
    cr_assert_eq(gw_acct_start("", false), 0);
    cr_assert_not(gw_acct_enabled());
    gw_acct_put(&rec);
    gw_acct_stop();
    cr_assert_eq(gw_acct_start("/nonexistent-dir/acct", false), -ENOENT);
    cr_assert_not(gw_acct_enabled());
}
