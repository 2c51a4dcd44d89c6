/*
 * users.c: immutable user tables (one allocation for the entries, one for
 * their strings, one open-addressing index) and the slot through which a
 * reload publishes a new table to the relay threads. See users.h for the
 * reclamation scheme.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/common/errmsg.h"
#include "gateway/common/slurp.h"
#include "gateway/daemon/config.h"
#include "gateway/daemon/users.h"
#include "gateway/wire/accepttypes.h"

struct gw_users {
    _Atomic uint64_t refs;
    size_t n;
    struct gw_user *users;
    uint32_t *index;      /* 1 + entry number; 0 = empty slot */
    size_t index_mask;
    char *arena;
};


struct parsed {
    const char *name;
    size_t name_len;
    const char *secret;
    size_t secret_len;
    bool is_ha1;
    struct gw_user_limits lim;   /* allowed_content_types: see types */
    char types[GW_USER_TYPES_MAX + 1];
};

/* The per-user keys and the global [gateway] keys whose parsing they
 * borrow (config.c gw_config_parse_value: same units, bounds, messages). */
enum attr { A_MAX_RES, A_MAX_MSG, A_TYPES, A_BANDWIDTH };
static const struct {
    const char *key;
    const char *global;
} attrs[] = {
    [A_MAX_RES] = {"max_reservations", "max_reservations_per_user"},
    [A_MAX_MSG] = {"max_message_size", "max_message_size"},
    [A_TYPES] = {"allowed_content_types", "allowed_content_types"},
    [A_BANDWIDTH] = {"session_bandwidth", "session_bandwidth"},
};
#define N_ATTRS (sizeof(attrs) / sizeof(attrs[0]))

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Cuts blanks at both ends of a NUL-terminated string, in place. */
static char *trim_blanks(char *p)
{
    while (is_blank(*p))
        p++;
    size_t n = strlen(p);
    while (n > 0 && is_blank(p[n - 1]))
        p[--n] = '\0';
    return p;
}

/* One `key = value` of an attribute block into pl->lim. */
static int parse_attr(char *pair, bool seen[N_ATTRS], struct parsed *pl, char *msg,
                      size_t msglen)
{
    char *eq = strchr(pair, '=');
    if (!eq) {
        gw_seterr(msg, msglen, "attribute '%s' is not key = value", trim_blanks(pair));
        return -EINVAL;
    }
    *eq = '\0';
    const char *key = trim_blanks(pair), *val = trim_blanks(eq + 1);
    size_t a = 0;
    while (a < N_ATTRS && strcmp(attrs[a].key, key) != 0)
        a++;
    if (a == N_ATTRS) {
        gw_seterr(msg, msglen, "unknown attribute '%s' (max_reservations, max_message_size, "
                  "allowed_content_types, session_bandwidth)", key);
        return -EINVAL;
    }
    if (seen[a]) {
        gw_seterr(msg, msglen, "attribute %s given twice", key);
        return -EINVAL;
    }
    seen[a] = true;
    char why[200];
    char types[GW_CONFIG_STR_MAX];
    int rc;
    switch ((enum attr)a) {
    case A_MAX_RES:
        rc = gw_config_parse_value("gateway", attrs[a].global, val, &pl->lim.max_reservations,
                                   sizeof(pl->lim.max_reservations), why, sizeof(why));
        pl->lim.has_max_reservations = true;
        break;
    case A_MAX_MSG:
        rc = gw_config_parse_value("gateway", attrs[a].global, val, &pl->lim.max_message_size,
                                   sizeof(pl->lim.max_message_size), why, sizeof(why));
        pl->lim.has_max_message_size = true;
        break;
    case A_BANDWIDTH:
        rc = gw_config_parse_value("gateway", attrs[a].global, val, &pl->lim.session_bandwidth,
                                   sizeof(pl->lim.session_bandwidth), why, sizeof(why));
        pl->lim.has_session_bandwidth = true;
        break;
    case A_TYPES:
    default:
        rc = gw_config_parse_value("gateway", attrs[a].global, val, types, sizeof(types), why,
                                   sizeof(why));
        if (rc == 0 && strlen(types) > GW_USER_TYPES_MAX) {
            gw_seterr(why, sizeof(why), "longer than %d bytes", GW_USER_TYPES_MAX);
            rc = -EINVAL;
        }
        if (rc == 0 && gw_accept_types_check(types, why, sizeof(why)) < 0)
            rc = -EINVAL;
        if (rc == 0)
            memcpy(pl->types, types, strlen(types) + 1);
        pl->lim.has_allowed_content_types = true;
        break;
    }
    if (rc != 0) {
        gw_seterr(msg, msglen, "attribute %s: %s", key, why);
        return -EINVAL;
    }
    return 0;
}

/* The block between '[' and ']': `key = value` pairs separated by ';'
 * (empty pairs ignored). */
static int parse_attrs(const char *p, size_t n, struct parsed *pl, char *msg, size_t msglen)
{
    char buf[GW_USER_ATTRS_MAX + 1];
    bool seen[N_ATTRS] = {false};
    if (n > GW_USER_ATTRS_MAX) {
        gw_seterr(msg, msglen, "attributes longer than %d bytes", GW_USER_ATTRS_MAX);
        return -EINVAL;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *save = NULL;
    for (char *pair = strtok_r(buf, ";", &save); pair; pair = strtok_r(NULL, ";", &save)) {
        if (*trim_blanks(pair) == '\0')
            continue;
        if (parse_attr(pair, seen, pl, msg, msglen) != 0)
            return -EINVAL;
    }
    return 0;
}

/* `name<blanks>[attributes]<blanks>:` -- the form a name never had (it
 * holds no blank): finds the ':' that ends the entry's head and parses the
 * attributes. 0 with *colon set; 1: not this form (the caller parses the
 * line as `name:secret`); -EINVAL. */
static int split_attrs(const char *s, size_t len, struct parsed *pl, const char **colon,
                       char *msg, size_t msglen)
{
    size_t i = 0;
    while (i < len && s[i] != ':' && !is_blank(s[i]))
        i++;
    size_t j = i;
    while (j < len && is_blank(s[j]))
        j++;
    if (i == j || j == len || s[j] != '[')
        return 1;
    const char *open = s + j + 1;
    const char *close = memchr(open, ']', len - j - 1);
    if (!close) {
        gw_seterr(msg, msglen, "attributes without a closing ']'");
        return -EINVAL;
    }
    const char *c = close + 1;
    while (c < s + len && is_blank(*c))
        c++;
    if (c == s + len || *c != ':') {
        gw_seterr(msg, msglen, "expected ':' and the secret after the attributes' ']'");
        return -EINVAL;
    }
    if (parse_attrs(open, (size_t)(close - open), pl, msg, msglen) != 0)
        return -EINVAL;
    pl->name_len = i;
    *colon = c;
    return 0;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int parse_line(const char *s, size_t len, struct parsed *pl, char *msg, size_t msglen)
{
    const char *colon = NULL;

    memset(&pl->lim, 0, sizeof(pl->lim));
    pl->types[0] = '\0';
    int form = split_attrs(s, len, pl, &colon, msg, msglen);
    if (form < 0)
        return form;
    if (form == 1) {
        colon = memchr(s, ':', len);
        if (!colon) {
            gw_seterr(msg, msglen, "expected name:password or name:ha1:<hex>");
            return -EINVAL;
        }
        pl->name_len = (size_t)(colon - s);
    }
    pl->name = s;
    pl->secret = colon + 1;
    pl->secret_len = (size_t)(s + len - pl->secret);
    if (pl->name_len == 0 || pl->name_len > GW_USER_NAME_MAX) {
        gw_seterr(msg, msglen, "user name must be 1..%d bytes", GW_USER_NAME_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < pl->name_len; i++) {
        unsigned char c = (unsigned char)s[i];
        /* The name goes verbatim into Digest quoted-strings and logs. */
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '\\') {
            gw_seterr(msg, msglen, "user name with a blank, control byte, '\"' or '\\'");
            return -EINVAL;
        }
    }
    pl->is_ha1 = pl->secret_len >= 4 && memcmp(pl->secret, "ha1:", 4) == 0;
    if (pl->is_ha1) {
        pl->secret += 4;
        pl->secret_len -= 4;
        if (pl->secret_len != 32) {
            gw_seterr(msg, msglen, "ha1: wants 32 hex digits, got %zu bytes", pl->secret_len);
            return -EINVAL;
        }
        for (size_t i = 0; i < 32; i++) {
            if (!is_hex(pl->secret[i])) {
                gw_seterr(msg, msglen, "ha1: wants 32 hex digits");
                return -EINVAL;
            }
        }
        return 0;
    }
    if (pl->secret_len == 0 || pl->secret_len > GW_USER_SECRET_MAX) {
        gw_seterr(msg, msglen, "password must be 1..%d bytes", GW_USER_SECRET_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < pl->secret_len; i++) {
        unsigned char c = (unsigned char)pl->secret[i];
        if (c < 0x20 || c == 0x7f) {
            gw_seterr(msg, msglen, "password with a control byte");
            return -EINVAL;
        }
    }
    return 0;
}

int gw_users_check_line(const char *line, char *msg, size_t msglen)
{
    struct parsed pl;

    return parse_line(line, strlen(line), &pl, msg, msglen);
}

/* FNV-1a: names are short and not attacker-chosen (they come from the
 * operator's files), so a simple hash is enough. */
static uint64_t hash_name(const char *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* A table being built: entries hold arena offsets until finish(). */
struct builder {
    struct gw_users *t;
    size_t cap;           /* entries allocated */
    size_t arena_len, arena_cap;
};

static int builder_init(struct builder *b)
{
    memset(b, 0, sizeof(*b));
    b->t = calloc(1, sizeof(*b->t));
    if (!b->t)
        return -ENOMEM;
    atomic_init(&b->t->refs, 1);
    return 0;
}

static void table_free(struct gw_users *t)
{
    if (!t)
        return;
    free(t->users);
    free(t->index);
    free(t->arena);
    free(t);
}

static int arena_put(struct builder *b, const char *p, size_t n, bool lower, size_t *off)
{
    if (b->arena_len + n + 1 > b->arena_cap) {
        size_t cap = b->arena_cap ? b->arena_cap : 4096;
        char *a;
        while (cap < b->arena_len + n + 1)
            cap *= 2;
        a = realloc(b->t->arena, cap);
        if (!a)
            return -ENOMEM;
        b->t->arena = a;
        b->arena_cap = cap;
    }
    *off = b->arena_len;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        b->t->arena[b->arena_len + i] = lower && c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
    }
    b->t->arena[b->arena_len + n] = '\0';
    b->arena_len += n + 1;
    return 0;
}

/* Offsets are kept in the pointer fields (as integers) until finish(). */
static int builder_add(struct builder *b, const struct parsed *pl)
{
    struct gw_user *u;
    size_t noff, soff;

    if (b->t->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct gw_user *v = realloc(b->t->users, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        b->t->users = v;
        b->cap = cap;
    }
    size_t toff = 0;
    if (arena_put(b, pl->name, pl->name_len, false, &noff) != 0 ||
        arena_put(b, pl->secret, pl->secret_len, pl->is_ha1, &soff) != 0 ||
        (pl->lim.has_allowed_content_types &&
         arena_put(b, pl->types, strlen(pl->types), false, &toff) != 0))
        return -ENOMEM;
    u = &b->t->users[b->t->n++];
    u->name = (const char *)(uintptr_t)noff;
    u->name_len = pl->name_len;
    u->secret = (const char *)(uintptr_t)soff;
    u->secret_len = pl->secret_len;
    u->is_ha1 = pl->is_ha1;
    u->lim = pl->lim;
    u->lim.allowed_content_types = (const char *)(uintptr_t)toff;
    return 0;
}

/* Turns offsets into pointers and indexes the entries. Returns the entry
 * number of a duplicate name (>= 0), -1 when done, -ENOMEM... as -2. */
static long builder_finish(struct builder *b)
{
    struct gw_users *t = b->t;
    size_t cap = 16;

    while (cap < t->n * 2)
        cap *= 2;
    t->index = calloc(cap, sizeof(*t->index));
    if (!t->index)
        return -2;
    t->index_mask = cap - 1;
    for (size_t i = 0; i < t->n; i++) {
        struct gw_user *u = &t->users[i];
        size_t h;
        u->name = t->arena + (uintptr_t)u->name;
        u->secret = t->arena + (uintptr_t)u->secret;
        u->lim.allowed_content_types = u->lim.has_allowed_content_types
                                           ? t->arena + (uintptr_t)u->lim.allowed_content_types
                                           : "";
        for (h = hash_name(u->name, u->name_len) & t->index_mask; t->index[h];
             h = (h + 1) & t->index_mask) {
            const struct gw_user *o = &t->users[t->index[h] - 1];
            if (o->name_len == u->name_len && memcmp(o->name, u->name, u->name_len) == 0)
                return (long)i;
        }
        t->index[h] = (uint32_t)(i + 1);
    }
    return -1;
}

int gw_users_from_lines(struct gw_users **out, const char *const *lines, size_t n,
                        const char *origin, char *err, size_t errlen)
{
    struct builder b;
    char msg[160];
    long dup;

    *out = NULL;
    if (n > GW_USERS_MAX) {
        gw_seterr(err, errlen, "%s: more than %u users", origin, GW_USERS_MAX);
        return -EINVAL;
    }
    if (builder_init(&b) != 0)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct parsed pl;
        if (parse_line(lines[i], strlen(lines[i]), &pl, msg, sizeof(msg)) != 0) {
            gw_seterr(err, errlen, "%s #%zu: %s", origin, i + 1, msg);
            table_free(b.t);
            return -EINVAL;
        }
        if (builder_add(&b, &pl) != 0) {
            table_free(b.t);
            return -ENOMEM;
        }
    }
    dup = builder_finish(&b);
    if (dup == -2) {
        table_free(b.t);
        return -ENOMEM;
    }
    if (dup >= 0) {
        gw_seterr(err, errlen, "%s #%ld: duplicate user '%s'", origin, dup + 1,
               b.t->users[dup].name);
        table_free(b.t);
        return -EINVAL;
    }
    *out = b.t;
    return 0;
}

int gw_users_load_string(struct gw_users **out, const char *text, size_t len,
                         const char *name, char *err, size_t errlen)
{
    struct builder b;
    char msg[160];
    size_t pos = 0;
    unsigned lineno = 0;
    unsigned *linenos = NULL;   /* line of each entry, for duplicate messages */
    size_t lines_cap = 0;
    long dup;

    *out = NULL;
    if (builder_init(&b) != 0)
        return -ENOMEM;
    while (pos < len) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        struct parsed pl;

        pos += n + (nl ? 1 : 0);
        lineno++;
        while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        while (n > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        if (n == 0 || *s == '#')
            continue;
        if (parse_line(s, n, &pl, msg, sizeof(msg)) != 0) {
            gw_seterr(err, errlen, "%s:%u: %s", name, lineno, msg);
            goto fail_inval;
        }
        if (b.t->n >= GW_USERS_MAX) {
            gw_seterr(err, errlen, "%s:%u: more than %u users", name, lineno, GW_USERS_MAX);
            goto fail_inval;
        }
        if (b.t->n == lines_cap) {
            size_t cap = lines_cap ? lines_cap * 2 : 16;
            unsigned *v = realloc(linenos, cap * sizeof(*v));
            if (!v)
                goto fail_nomem;
            linenos = v;
            lines_cap = cap;
        }
        linenos[b.t->n] = lineno;
        if (builder_add(&b, &pl) != 0)
            goto fail_nomem;
    }
    dup = builder_finish(&b);
    if (dup == -2)
        goto fail_nomem;
    if (dup >= 0) {
        gw_seterr(err, errlen, "%s:%u: duplicate user '%s'", name, linenos[dup],
               b.t->users[dup].name);
        goto fail_inval;
    }
    free(linenos);
    *out = b.t;
    return 0;
fail_nomem:
    gw_seterr(err, errlen, "%s: out of memory", name);
    free(linenos);
    table_free(b.t);
    return -ENOMEM;
fail_inval:
    free(linenos);
    table_free(b.t);
    return -EINVAL;
}

int gw_users_load_file(struct gw_users **out, const char *path, char *err, size_t errlen)
{
    char *text;
    size_t got;

    *out = NULL;
    int rc = gw_slurp(path, GW_USERS_FILE_MAX, &text, &got, err, errlen);
    if (rc < 0)
        return rc;
    rc = gw_users_load_string(out, text, got, path, err, errlen);
    free(text);
    return rc;
}

const struct gw_user *gw_users_find(const struct gw_users *t, const char *name, size_t len)
{
    if (!t || t->n == 0)
        return NULL;
    for (size_t h = hash_name(name, len) & t->index_mask; t->index[h];
         h = (h + 1) & t->index_mask) {
        const struct gw_user *u = &t->users[t->index[h] - 1];
        if (u->name_len == len && memcmp(u->name, name, len) == 0)
            return u;
    }
    return NULL;
}

size_t gw_users_count(const struct gw_users *t)
{
    return t ? t->n : 0;
}

struct gw_users *gw_users_ref(struct gw_users *t)
{
    if (t)
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void gw_users_release(struct gw_users *t)
{
    /* acq_rel: the freeing thread must see every reader's last use. */
    if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        table_free(t);
}

void gw_users_slot_init(struct gw_users_slot *s)
{
    pthread_mutex_init(&s->mu, NULL);
    s->cur = NULL;
    atomic_init(&s->gen, 0);
}

void gw_users_slot_destroy(struct gw_users_slot *s)
{
    gw_users_release(s->cur);
    s->cur = NULL;
    pthread_mutex_destroy(&s->mu);
}

void gw_users_publish(struct gw_users_slot *s, struct gw_users *t)
{
    struct gw_users *old;

    pthread_mutex_lock(&s->mu);
    old = s->cur;
    s->cur = t;
    atomic_fetch_add_explicit(&s->gen, 1, memory_order_release);
    pthread_mutex_unlock(&s->mu);
    gw_users_release(old);
}

static struct gw_users *acquire_gen(struct gw_users_slot *s, uint64_t *gen)
{
    struct gw_users *t;

    pthread_mutex_lock(&s->mu);
    t = gw_users_ref(s->cur);
    *gen = atomic_load_explicit(&s->gen, memory_order_relaxed);
    pthread_mutex_unlock(&s->mu);
    return t;
}

struct gw_users *gw_users_acquire(struct gw_users_slot *s)
{
    uint64_t gen;

    return acquire_gen(s, &gen);
}

const struct gw_users *gw_users_cache_get(struct gw_users_cache *c, struct gw_users_slot *s)
{
    uint64_t gen = atomic_load_explicit(&s->gen, memory_order_acquire);

    if (c->t && gen == c->gen)
        return c->t;
    gw_users_release(c->t);
    c->t = acquire_gen(s, &c->gen);
    return c->t;
}

void gw_users_cache_drop(struct gw_users_cache *c)
{
    gw_users_release(c->t);
    c->t = NULL;
    c->gen = 0;
}
