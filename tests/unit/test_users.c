/*
 * test_users.c: gateway/daemon/users.c -- users files and config lines, ha1
 * entries, bad lines with their line numbers, lookups, and publishing a
 * new table while readers (including another thread) hold the old one;
 * per-user limit attributes (`name [key = value; ...]:secret`): parsing,
 * errors with their line, bounds, old lines keeping their meaning.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/daemon/config.h"
#include "gateway/daemon/users.h"

static char err[256];

static struct gw_users *load(const char *text, int want_rc)
{
    struct gw_users *t = (struct gw_users *)1;
    int rc;

    err[0] = '\0';
    rc = gw_users_load_string(&t, text, strlen(text), "users", err, sizeof(err));
    cr_assert_eq(rc, want_rc, "rc %d: %s", rc, err);
    if (rc != 0)
        cr_assert_null(t);
    return t;
}

static void expect_user(const struct gw_users *t, const char *name, const char *secret,
                        bool ha1)
{
    const struct gw_user *u = gw_users_find(t, name, strlen(name));

    cr_assert_not_null(u, "no user %s", name);
    cr_assert_str_eq(u->name, name);
    cr_assert_eq(u->name_len, strlen(name));
    cr_assert_str_eq(u->secret, secret);
    cr_assert_eq(u->secret_len, strlen(secret));
    cr_assert_eq(u->is_ha1, ha1);
}

Test(users, file_parse)
{
    struct gw_users *t = load("# operators\n"
                              "alice:wonderland\n"
                              "\n"
                              "  bob:pass:with:colons  \r\n"
                              "carol:ha1:0123456789ABCDEF0123456789abcdef\n"
                              "\t# indented comment\n"
                              "dave:p#not-a-comment",  /* no final newline */
                              0);

    cr_assert_eq(gw_users_count(t), 4);
    expect_user(t, "alice", "wonderland", false);
    expect_user(t, "bob", "pass:with:colons", false);
    /* HA1 hex is stored lower-case: the digest module compares hex text. */
    expect_user(t, "carol", "0123456789abcdef0123456789abcdef", true);
    expect_user(t, "dave", "p#not-a-comment", false);
    cr_assert_null(gw_users_find(t, "Alice", 5), "names are case-sensitive");
    cr_assert_null(gw_users_find(t, "alic", 4));
    cr_assert_null(gw_users_find(t, "alicex", 6));
    cr_assert_null(gw_users_find(t, "", 0));
    /* A name given by length, not NUL: the peer's bytes in a buffer. */
    cr_assert_not_null(gw_users_find(t, "alice,more", 5));
    gw_users_release(t);
}

Test(users, empty_file_is_empty_table)
{
    struct gw_users *t = load("# nobody yet\n\n", 0);

    cr_assert_eq(gw_users_count(t), 0);
    cr_assert_null(gw_users_find(t, "x", 1));
    gw_users_release(t);
}

struct bad {
    const char *text;
    const char *msg;
};

static const struct bad bads[] = {
    {"alice:a\nbob\n", "users:2: expected name:password or name:ha1:<hex>"},
    {"alice:a\n\n# c\n:nobody\n", "users:4: user name must be 1..128 bytes"},
    {"alice:\n", "users:1: password must be 1..256 bytes"},
    {"al ice:x\n", "users:1: user name with a blank, control byte, '\"' or '\\'"},
    {"al\"ice:x\n", "users:1: user name with a blank, control byte, '\"' or '\\'"},
    {"alice:x\x01y\n", "users:1: password with a control byte"},
    {"carol:ha1:0123\n", "users:1: ha1: wants 32 hex digits, got 4 bytes"},
    {"carol:ha1:0123456789abcdef0123456789abcdeg\n", "users:1: ha1: wants 32 hex digits"},
    {"alice:a\nbob:b\n\nalice:c\n", "users:4: duplicate user 'alice'"},
};

Test(users, bad_lines_name_their_line)
{
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        struct gw_users *t;
        int rc = gw_users_load_string(&t, bads[i].text, strlen(bads[i].text), "users", err,
                                      sizeof(err));
        cr_expect_eq(rc, -EINVAL, "case %zu", i);
        cr_expect_str_eq(err, bads[i].msg, "case %zu", i);
    }
}

Test(users, long_name_and_password_bounds)
{
    char line[600];
    struct gw_users *t;

    memset(line, 'n', GW_USER_NAME_MAX);
    strcpy(line + GW_USER_NAME_MAX, ":pw");
    t = load(line, 0);
    cr_assert_eq(gw_users_count(t), 1);
    gw_users_release(t);
    memset(line, 'n', GW_USER_NAME_MAX + 1);
    strcpy(line + GW_USER_NAME_MAX + 1, ":pw");
    load(line, -EINVAL);
    cr_assert_str_eq(err, "users:1: user name must be 1..128 bytes");

    strcpy(line, "u:");
    memset(line + 2, 'p', GW_USER_SECRET_MAX + 1);
    line[2 + GW_USER_SECRET_MAX + 1] = '\0';
    load(line, -EINVAL);
    cr_assert_str_eq(err, "users:1: password must be 1..256 bytes");
}

Test(users, from_config_lines)
{
    static const char *const lines[] = {"alice:a", "bob:ha1:ffffffffffffffffffffffffffffffff"};
    static const char *const dup[] = {"alice:a", "bob:b", "alice:c"};
    static const char *const bad[] = {"alice:a", "bob"};
    struct gw_users *t;

    cr_assert_eq(gw_users_from_lines(&t, lines, 2, "config user", err, sizeof(err)), 0);
    expect_user(t, "alice", "a", false);
    expect_user(t, "bob", "ffffffffffffffffffffffffffffffff", true);
    gw_users_release(t);
    cr_assert_eq(gw_users_from_lines(&t, dup, 3, "config user", err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "config user #3: duplicate user 'alice'");
    cr_assert_eq(gw_users_from_lines(&t, bad, 2, "config user", err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "config user #2: expected name:password or name:ha1:<hex>");
}

Test(users, many_users_all_found)
{
    size_t n = 20000, len = 0;
    char *text = malloc(n * 32);
    struct gw_users *t;

    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "user%zu:pw%zu\n", i, i * 7);
    cr_assert_eq(gw_users_load_string(&t, text, len, "big", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(gw_users_count(t), n);
    for (size_t i = 0; i < n; i++) {
        char name[32], pw[32];
        snprintf(name, sizeof(name), "user%zu", i);
        snprintf(pw, sizeof(pw), "pw%zu", i * 7);
        const struct gw_user *u = gw_users_find(t, name, strlen(name));
        cr_assert_not_null(u, "%s", name);
        cr_assert_str_eq(u->secret, pw);
    }
    cr_assert_null(gw_users_find(t, "user20000", 9));
    gw_users_release(t);
    free(text);
}

Test(users, load_file_and_missing_file)
{
    char path[] = "/tmp/msrpgw-test-users-XXXXXX";
    int fd = mkstemp(path);
    struct gw_users *t;
    char want[128];

    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "a:1\nb:2\nbroken\n", 15), 15);
    close(fd);
    cr_assert_eq(gw_users_load_file(&t, path, err, sizeof(err)), -EINVAL);
    snprintf(want, sizeof(want), "%s:3: expected name:password or name:ha1:<hex>", path);
    cr_assert_str_eq(err, want);
    fd = open(path, O_WRONLY | O_TRUNC);
    cr_assert_eq(write(fd, "a:1\nb:2\n", 8), 8);
    close(fd);
    cr_assert_eq(gw_users_load_file(&t, path, err, sizeof(err)), 0, "%s", err);
    expect_user(t, "b", "2", false);
    gw_users_release(t);
    unlink(path);
    cr_assert_eq(gw_users_load_file(&t, path, err, sizeof(err)), -ENOENT);
}

/* A reader holding the old table keeps it intact across a publish; the
 * per-loop cache moves to the new table on its next lookup. */
Test(users, reload_swap_while_reader_holds_old)
{
    struct gw_users_slot slot;
    struct gw_users_cache cache = {0};
    struct gw_users *v1 = load("alice:old\n", 0), *v2 = load("alice:new\nbob:b\n", 0);
    struct gw_users *held;
    const struct gw_users *seen;

    gw_users_slot_init(&slot);
    cr_assert_null(gw_users_cache_get(&cache, &slot), "nothing published yet");
    gw_users_publish(&slot, v1);
    seen = gw_users_cache_get(&cache, &slot);
    cr_assert_eq(seen, v1);
    held = gw_users_acquire(&slot);
    cr_assert_eq(held, v1);

    gw_users_publish(&slot, v2);
    /* The old table is still whole for both holders (ASan would flag a
     * use after free here). */
    expect_user(held, "alice", "old", false);
    expect_user(seen, "alice", "old", false);
    cr_assert_null(gw_users_find(held, "bob", 3));

    seen = gw_users_cache_get(&cache, &slot);
    cr_assert_eq(seen, v2);
    expect_user(seen, "alice", "new", false);
    expect_user(held, "alice", "old", false);   /* cache let go, we did not */
    gw_users_release(held);                     /* last reference: v1 freed */

    struct gw_users *cur = gw_users_acquire(&slot);
    cr_assert_eq(cur, v2);
    gw_users_release(cur);
    gw_users_cache_drop(&cache);
    gw_users_slot_destroy(&slot);               /* v2 freed (LSan checks) */
}

/* Readers on threads looking names up while the main thread publishes:
 * every lookup sees a complete table, either generation. */
struct reader {
    struct gw_users_slot *slot;
    _Atomic int *stop;
    _Atomic unsigned long lookups;
    unsigned long bad;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct gw_users_cache cache = {0};

    while (!atomic_load(r->stop)) {
        const struct gw_users *t = gw_users_cache_get(&cache, r->slot);
        const struct gw_user *a = gw_users_find(t, "alice", 5);
        const struct gw_user *g = gw_users_find(t, "gen", 3);
        /* Each table has alice's secret equal to its gen's secret. */
        if (!a || !g || strcmp(a->secret, g->secret) != 0)
            r->bad++;
        atomic_fetch_add(&r->lookups, 1);
    }
    gw_users_cache_drop(&cache);
    return NULL;
}

Test(users, concurrent_readers_and_publishes)
{
    struct gw_users_slot slot;
    _Atomic int stop = 0;
    struct reader rd[3];
    pthread_t th[3];
    char text[64];

    gw_users_slot_init(&slot);
    gw_users_publish(&slot, load("alice:0\ngen:0\n", 0));
    for (int i = 0; i < 3; i++) {
        rd[i].slot = &slot;
        rd[i].stop = &stop;
        atomic_init(&rd[i].lookups, 0);
        rd[i].bad = 0;
        cr_assert_eq(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
    }
    /* Publish only once every reader runs, so the swaps race lookups. */
    for (int i = 0; i < 3; i++)
        while (atomic_load(&rd[i].lookups) == 0)
            sched_yield();
    for (int g = 1; g <= 2000; g++) {
        if (g % 8 == 0)
            sched_yield();
        snprintf(text, sizeof(text), "alice:%d\ngen:%d\nx%d:y\n", g, g, g);
        gw_users_publish(&slot, load(text, 0));
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(rd[i].bad, 0, "reader %d saw %lu inconsistent tables", i, rd[i].bad);
        cr_expect_gt(atomic_load(&rd[i].lookups), 0);
    }
    struct gw_users *t = gw_users_acquire(&slot);
    expect_user(t, "alice", "2000", false);
    gw_users_release(t);
    gw_users_slot_destroy(&slot);
}

/* A file far larger than the first read buffer (its size + 4 KiB): every
 * line is read, the last one included. */
Test(users, large_file_read_whole)
{
    char path[] = "/tmp/msrpgw_users_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 30000; i++)
        fprintf(f, "user%05d:password%05d\n", i, i);
    fclose(f);
    struct gw_users *t = NULL;
    char msg[256] = "";
    cr_assert_eq(gw_users_load_file(&t, path, msg, sizeof(msg)), 0, "%s", msg);
    unlink(path);
    cr_assert_eq(gw_users_count(t), 30000);
    const struct gw_user *u = gw_users_find(t, "user29999", 9);
    cr_assert_not_null(u);
    cr_assert_eq(u->secret_len, strlen("password29999"));
    cr_assert_arr_eq(u->secret, "password29999", u->secret_len);
    gw_users_release(t);
}

/* --- per-user limits (attributes between the name and the ':') ------------ */

Test(users, attributes_parse)
{
    struct gw_users *t = load(
        "alice [max_message_size = 10KiB; allowed_content_types = text/plain, image/*]:s:e;c [r]t\n"
        "bob\t[ max_reservations=2 ;session_bandwidth=200k; ]\t:ha1:0123456789ABCDEF0123456789abcdef\n"
        "carol []:plain\n"
        "dave [max_message_size=0; allowed_content_types=]:pw\n"
        "old:pass [max_message_size=1]:x\n"
        "eve[max_message_size=1]:pw\n",
        0);
    cr_assert_eq(gw_users_count(t), 6);
    const struct gw_user *u = gw_users_find(t, "alice", 5);
    cr_assert_not_null(u);
    /* The secret is everything after the ':' that follows the ']'. */
    cr_assert_str_eq(u->secret, "s:e;c [r]t");
    cr_assert(u->lim.has_max_message_size && u->lim.has_allowed_content_types);
    cr_assert(!u->lim.has_max_reservations && !u->lim.has_session_bandwidth);
    cr_assert_eq(u->lim.max_message_size, 10240);
    cr_assert_str_eq(u->lim.allowed_content_types, "text/plain, image/*");

    expect_user(t, "bob", "0123456789abcdef0123456789abcdef", true);
    u = gw_users_find(t, "bob", 3);
    cr_assert(u->lim.has_max_reservations && u->lim.has_session_bandwidth);
    cr_assert(!u->lim.has_max_message_size && !u->lim.has_allowed_content_types);
    cr_assert_eq(u->lim.max_reservations, 2);
    cr_assert_eq(u->lim.session_bandwidth, 200 * 1024);
    cr_assert_str_eq(u->lim.allowed_content_types, "", "unset reads as the empty list");

    u = gw_users_find(t, "carol", 5);
    cr_assert_str_eq(u->secret, "plain");
    cr_assert(!u->lim.has_max_reservations && !u->lim.has_max_message_size &&
              !u->lim.has_allowed_content_types && !u->lim.has_session_bandwidth);
    /* Explicit 0 and "" are set (they replace the global limit). */
    u = gw_users_find(t, "dave", 4);
    cr_assert(u->lim.has_max_message_size && u->lim.has_allowed_content_types);
    cr_assert_eq(u->lim.max_message_size, 0);
    cr_assert_str_eq(u->lim.allowed_content_types, "");
    /* Old lines mean what they meant: a password with " [" in it, and a
     * name with brackets but no blank. */
    expect_user(t, "old", "pass [max_message_size=1]:x", false);
    u = gw_users_find(t, "old", 3);
    cr_assert(!u->lim.has_max_message_size);
    expect_user(t, "eve[max_message_size=1]", "pw", false);
    gw_users_release(t);
}

static const struct bad bad_attrs[] = {
    {"a:1\nalice [max_message_size=1x]:pw\n",
     "users:2: attribute max_message_size: max_message_size: invalid bytes '1x'"},
    {"alice [max_reservations=10000001]:pw\n",
     "users:1: attribute max_reservations: max_reservations_per_user = 10000001 out of range "
     "[0, 10000000]"},
    {"alice [session_bandwidth=2GiB]:pw\n",
     "users:1: attribute session_bandwidth: session_bandwidth = 2GiB out of range [0, 1073741824]"},
    {"\n\nalice [allowed_content_types=text]:pw\n",
     "users:3: attribute allowed_content_types: bad content type 'text' (want *, type/* or "
     "type/subtype)"},
    {"alice [max_size=1]:pw\n",
     "users:1: unknown attribute 'max_size' (max_reservations, max_message_size, "
     "allowed_content_types, session_bandwidth)"},
    {"alice [max_message_size=1; max_message_size=2]:pw\n",
     "users:1: attribute max_message_size given twice"},
    {"alice [max_message_size]:pw\n", "users:1: attribute 'max_message_size' is not key = value"},
    {"alice [max_message_size=1:pw\n", "users:1: attributes without a closing ']'"},
    {"alice [max_message_size=1] pw\n",
     "users:1: expected ':' and the secret after the attributes' ']'"},
    {"alice [max_message_size=1]:\n", "users:1: password must be 1..256 bytes"},
    {"al\"ice [max_message_size=1]:pw\n",
     "users:1: user name with a blank, control byte, '\"' or '\\'"},
    {"alice [max_message_size=1]:pw\nalice:pw\n", "users:2: duplicate user 'alice'"},
};

Test(users, bad_attributes_name_their_line)
{
    for (size_t i = 0; i < sizeof(bad_attrs) / sizeof(bad_attrs[0]); i++) {
        struct gw_users *t = (struct gw_users *)1;
        int rc = gw_users_load_string(&t, bad_attrs[i].text, strlen(bad_attrs[i].text), "users",
                                      err, sizeof(err));
        cr_expect_eq(rc, -EINVAL, "case %zu", i);
        cr_expect_null(t, "case %zu", i);
        cr_expect_str_eq(err, bad_attrs[i].msg, "case %zu", i);
    }
}

Test(users, attribute_bounds)
{
    /* allowed_content_types: at most GW_USER_TYPES_MAX bytes. */
    char types[GW_USER_TYPES_MAX + 2];
    char line[GW_USER_ATTRS_MAX + 64];
    struct gw_users *t;
    memset(types, 'y', sizeof(types));
    memcpy(types, "x/", 2);              /* one long type x/yyy... */
    types[GW_USER_TYPES_MAX] = '\0';    /* exactly the bound: fine */
    snprintf(line, sizeof(line), "u [allowed_content_types=%s]:pw", types);
    t = load(line, 0);
    cr_assert_eq(strlen(gw_users_find(t, "u", 1)->lim.allowed_content_types), GW_USER_TYPES_MAX);
    gw_users_release(t);
    types[GW_USER_TYPES_MAX] = 'y';
    types[GW_USER_TYPES_MAX + 1] = '\0';
    snprintf(line, sizeof(line), "u [allowed_content_types=%s]:pw", types);
    load(line, -EINVAL);
    cr_assert_str_eq(err, "users:1: attribute allowed_content_types: longer than 255 bytes");
    /* The whole block: at most GW_USER_ATTRS_MAX bytes (blanks count). */
    memset(line, ' ', sizeof(line));
    memcpy(line, "u [", 3);
    /* '[' at 2, ']' at 3 + GW_USER_ATTRS_MAX: a block of exactly the bound. */
    memcpy(line + 3 + GW_USER_ATTRS_MAX - 18, "max_message_size=1]:pw", 23);
    t = load(line, 0);
    cr_assert_eq(gw_users_find(t, "u", 1)->lim.max_message_size, 1);
    gw_users_release(t);
    memset(line, ' ', sizeof(line));
    memcpy(line, "u [", 3);
    memcpy(line + 3 + GW_USER_ATTRS_MAX - 17, "max_message_size=1]:pw", 23);
    load(line, -EINVAL);
    cr_assert_str_eq(err, "users:1: attributes longer than 1024 bytes");
}

Test(users, attributes_in_config_lines)
{
    static const char *const lines[] = {"alice [max_reservations = 3]:a", "bob:b"};
    static const char *const bad[] = {"alice:a", "bob [max_reservations=x]:b"};
    struct gw_users *t;
    cr_assert_eq(gw_users_from_lines(&t, lines, 2, "config user", err, sizeof(err)), 0, "%s", err);
    const struct gw_user *u = gw_users_find(t, "alice", 5);
    cr_assert(u->lim.has_max_reservations);
    cr_assert_eq(u->lim.max_reservations, 3);
    cr_assert(!gw_users_find(t, "bob", 3)->lim.has_max_reservations);
    gw_users_release(t);
    cr_assert_eq(gw_users_from_lines(&t, bad, 2, "config user", err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "config user #2: attribute max_reservations: max_reservations_per_user: "
                          "invalid integer 'x'");
    cr_assert_eq(gw_users_check_line("carol [session_bandwidth=1MiB]:pw", err, sizeof(err)), 0);
}

/* `user =` config lines carry attributes too: the config loader checks
 * them (file:line), and --check-config shows them with the secret hidden. */
Test(users, attributes_through_the_config_file)
{
    struct gw_config c;
    char cerr[256];
    const char *good = "[gateway]\n"
                       "user = alice [max_message_size = 1MiB; session_bandwidth = 64k]:pw:x\n"
                       "user = bob:pw\n";
    cr_assert_eq(gw_config_load_string(&c, good, "t.conf", cerr, sizeof(cerr)), 0, "%s", cerr);
    cr_assert_eq(c.n_users, 2);
    cr_assert_str_eq(c.users[0], "alice [max_message_size = 1MiB; session_bandwidth = 64k]:pw:x");
    char *dump = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&dump, &len);
    gw_config_dump(&c, f);
    fclose(f);
    cr_assert(strstr(dump, "\nuser = alice [max_message_size = 1MiB; session_bandwidth = 64k]:***\n"),
              "%s", dump);
    cr_assert_null(strstr(dump, "pw:x"));
    free(dump);
    struct gw_users *t;
    cr_assert_eq(gw_users_from_lines(&t, (const char *const *)c.users, c.n_users, "config", err,
                                     sizeof(err)), 0, "%s", err);
    cr_assert_eq(gw_users_find(t, "alice", 5)->lim.session_bandwidth, 64 * 1024);
    cr_assert_str_eq(gw_users_find(t, "alice", 5)->secret, "pw:x");
    gw_users_release(t);
    gw_config_free(&c);

    const char *bad = "[gateway]\nuser = bob:pw\n\nuser = alice [max_message_size = 2TiB]:pw\n";
    cr_assert_eq(gw_config_load_string(&c, bad, "t.conf", cerr, sizeof(cerr)), -EINVAL);
    cr_assert_str_eq(cerr, "t.conf:4: attribute max_message_size: max_message_size: invalid "
                           "bytes '2TiB'");
}
