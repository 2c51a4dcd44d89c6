/*
 * users.h: who may AUTH to the relay. A table maps a user name to its
 * secret: a password, or a precomputed HA1 = MD5(user:realm:password) in
 * hex, written `ha1:<32 hex>` (so the file holds no password; the HA1 is
 * only valid for the realm it was computed with). Entries come from
 * `user = name:secret` config lines or from a users file with one
 * `name:secret` per line (`#` comment lines, blank lines ignored).
 *
 * Per-user policy limits: an entry may carry attributes between the name
 * and the ':' that ends it, in brackets after at least one blank:
 *
 *     alice [max_message_size = 10MiB; allowed_content_types = text/plain image/png]:secret
 *     bob [max_reservations=2; session_bandwidth=200KiB]:ha1:<32 hex>
 *
 * Why there: a secret is everything after the name's ':' and may hold
 * any printable byte (':', ';', blanks, brackets), so nothing appended to
 * it could be told apart from a password; a name, though, never holds a
 * blank, so "name<blank>" was an error in every older file and now opens
 * the attributes: old files mean what they meant (`alice[x]:pw` is still
 * the user "alice[x]"). The block ends at the first ']' and values hold no
 * ']' or ':' (sizes, media types never do). Pairs are `key = value`
 * separated by ';' (a content-type list uses ',' or blanks). Keys, each
 * parsed exactly as the global [gateway] key in brackets (config.c, same
 * units, bounds and checks):
 *     max_reservations      (max_reservations_per_user)
 *     max_message_size      (max_message_size)
 *     allowed_content_types (allowed_content_types; at most
 *                            GW_USER_TYPES_MAX bytes)
 *     session_bandwidth     (session_bandwidth)
 * A key set replaces the global value for that user, 0 included (0 =
 * unlimited, "" = all types); keys left out follow the global setting.
 * At most GW_USER_ATTRS_MAX bytes of attributes; a key twice, an unknown
 * key or a bad value fails the load ("file:line: ...", so a reload keeps
 * the old table).
 *
 * A table is immutable once built. Reload (SIGHUP) builds a new table and
 * publishes it in a struct gw_users_slot; readers on the relay threads
 * keep using the table they hold until they look again.
 *
 * Reclamation scheme (deliberately simple):
 *  - every table has an atomic reference count; the slot holds one;
 *  - gw_users_acquire() takes a reference under the slot's mutex, so the
 *    table cannot be freed between reading the pointer and counting;
 *  - gw_users_publish() swaps the pointer under the mutex, bumps the
 *    slot's generation and drops the slot's reference to the old table;
 *  - the last gw_users_release() frees a table.
 * The data path avoids the mutex with a per-loop struct gw_users_cache:
 * gw_users_cache_get() costs one acquire-load of the generation and only
 * re-acquires after a publish. An idle loop keeps its old table until its
 * next lookup or gw_users_cache_drop(), so at most (loops + 1) tables live.
 *
 * Comparing secrets in constant time is msrp_digest_verify()'s job: pass
 * gw_user.secret as its password or ha1_hex.
 */
#ifndef GW_USERS_H
#define GW_USERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_USER_NAME_MAX 128     /* bytes of a user name */
#define GW_USER_SECRET_MAX 256   /* bytes of a password */
#define GW_USERS_MAX (1u << 20)  /* entries of one table */
#define GW_USERS_FILE_MAX ((size_t)64 << 20) /* bytes of a users file */
#define GW_USER_ATTRS_MAX 1024   /* bytes between '[' and ']' */
#define GW_USER_TYPES_MAX 255    /* bytes of a user's allowed_content_types */

/* A user's own limits (see the top); has_* false: the global key applies. */
struct gw_user_limits {
    bool has_max_reservations, has_max_message_size, has_allowed_content_types,
        has_session_bandwidth;
    uint32_t max_reservations;
    uint64_t max_message_size;
    uint64_t session_bandwidth;
    const char *allowed_content_types; /* inside the table; "" when unset */
};

struct gw_user {
    const char *name;     /* NUL-terminated, inside the table */
    size_t name_len;
    const char *secret;   /* password, or 32 lower-case hex digits */
    size_t secret_len;
    bool is_ha1;
    struct gw_user_limits lim;
};

struct gw_users;

/*
 * Checks one `name:secret` or `name [attributes]:secret` line (name:
 * 1..GW_USER_NAME_MAX bytes, no ':', blanks or control bytes; secret:
 * 1..GW_USER_SECRET_MAX bytes without control bytes, or `ha1:` + 32 hex
 * digits; attributes as at the top). 0 or -EINVAL with a reason in msg
 * (msglen may be 0).
 */
int gw_users_check_line(const char *line, char *msg, size_t msglen);

/*
 * Builds a table from n lines (as in `user =` config lines). A bad line or
 * a duplicate name fails with -EINVAL and "<origin> #<i+1>: reason" in err;
 * -ENOMEM. The table starts with one reference (the caller's).
 */
int gw_users_from_lines(struct gw_users **out, const char *const *lines, size_t n,
                        const char *origin, char *err, size_t errlen);

/*
 * Builds a table from a users file. Errors: -errno when unreadable,
 * -EFBIG over GW_USERS_FILE_MAX, -EINVAL "path:line: reason" (bad line,
 * duplicate, more than GW_USERS_MAX entries), -ENOMEM.
 */
int gw_users_load_file(struct gw_users **out, const char *path, char *err, size_t errlen);

/* Same from an in-memory text (tests); name is used in messages. */
int gw_users_load_string(struct gw_users **out, const char *text, size_t len,
                         const char *name, char *err, size_t errlen);

/* Looks a name up (exact, case-sensitive bytes). NULL when absent. */
const struct gw_user *gw_users_find(const struct gw_users *t, const char *name, size_t len);

size_t gw_users_count(const struct gw_users *t);

/* Reference counting; release(NULL) is a no-op. */
struct gw_users *gw_users_ref(struct gw_users *t);
void gw_users_release(struct gw_users *t);

/* The published table. Zero-initialise, or gw_users_slot_init(). */
struct gw_users_slot {
    pthread_mutex_t mu;
    struct gw_users *cur;        /* guarded by mu */
    _Atomic uint64_t gen;        /* bumped by every publish */
};

void gw_users_slot_init(struct gw_users_slot *s);
/* Drops the slot's reference (readers may still hold theirs). */
void gw_users_slot_destroy(struct gw_users_slot *s);

/* Takes ownership of the caller's reference to t and makes it current. */
void gw_users_publish(struct gw_users_slot *s, struct gw_users *t);

/* A new reference to the current table (NULL if none published). */
struct gw_users *gw_users_acquire(struct gw_users_slot *s);

/* Per-loop cache; zero-initialise. Owned by one thread. */
struct gw_users_cache {
    struct gw_users *t;
    uint64_t gen;
};

/* The current table, re-acquired only after a publish. Valid until the
 * next call on this cache or gw_users_cache_drop(). */
const struct gw_users *gw_users_cache_get(struct gw_users_cache *c, struct gw_users_slot *s);
void gw_users_cache_drop(struct gw_users_cache *c);

#endif
