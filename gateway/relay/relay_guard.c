/*
 * relay_guard.c: the AUTH state that all cores share (relay_auth.c uses it):
 *
 *   - the nonce replay cache: per nonce (its timestamp and salt, which
 *     name it under our secret) the highest nonce-count accepted, so a
 *     captured Authorization is refused on every connection and core;
 *   - the failure throttle: failures per source address and per user in a
 *     window, and the blocks they earn;
 *   - reservations held per user, for max_reservations_per_user.
 *
 * AUTH is not the data path, so a mutex is fine; to keep cores from
 * queueing on one lock, each table is split over GUARD_SHARDS mutexes by
 * the hash of the key. The two caches are fixed arrays of GUARD_WAYS-way
 * sets allocated once (calloc: pages nobody touched cost no RSS), so their
 * memory is bounded whatever peers send; keys are hashed with SipHash
 * under a per-process key, so a peer cannot aim its keys at one set.
 *
 * When a replay set is full of live nonces, a new nonce is refused (the
 * caller re-challenges with stale=true) rather than a live one forgotten:
 * forgetting would reopen its replay. When a throttle set is full, the
 * entry least worth keeping goes (not blocked, then least recently seen).
 * Reservation counts exist only while a user holds one, so they are
 * bounded by the connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "gateway/relay/relay_internal.h"

#define GUARD_SHARDS 64
#define GUARD_WAYS 32
#define GUARD_USER_BUCKETS 64 /* per shard */

struct nonce_slot {
    uint64_t ts, salt;
    uint64_t expires;  /* wall-clock seconds; <= now: free */
    uint32_t nc_max;
};

struct thr_slot {
    uint64_t key;      /* 0: free */
    uint32_t window_start, fails, blocked_until, last_seen;
    uint32_t checking; /* checks begun and not done (relay_guard_begin) */
};

struct ures {
    struct ures *next;
    uint64_t h;
    uint32_t n;
    char name[];
};

struct relay_guard {
    struct relay_guard_config cfg;
    uint8_t hkey[16];
    size_t nonce_sets, thr_sets;
    struct nonce_slot *nonces;   /* nonce_sets * GUARD_WAYS */
    struct thr_slot *thr;        /* thr_sets * GUARD_WAYS */
    struct ures *users[GUARD_SHARDS][GUARD_USER_BUCKETS];
    pthread_mutex_t mu[GUARD_SHARDS];
    _Atomic uint32_t res_total;  /* reservations of all users, against max_res_total */
};

static size_t sets_for(uint32_t entries)
{
    size_t sets = ((size_t)entries + GUARD_WAYS - 1) / GUARD_WAYS;
    return sets ? sets : 1;
}

int relay_guard_new(struct relay_guard **out, const struct relay_guard_config *cfg)
{
    struct relay_guard *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->cfg = *cfg;
    if (!g->cfg.nonce_entries)
        g->cfg.nonce_entries = RELAY_GUARD_NONCES_DEFAULT;
    if (!g->cfg.throttle_entries)
        g->cfg.throttle_entries = RELAY_GUARD_THROTTLE_DEFAULT;
    if (!g->cfg.fail_window_s)
        g->cfg.fail_window_s = 60;
    if (!g->cfg.block_s)
        g->cfg.block_s = 300;
    g->nonce_sets = sets_for(g->cfg.nonce_entries);
    g->thr_sets = sets_for(g->cfg.throttle_entries);
    g->nonces = calloc(g->nonce_sets * GUARD_WAYS, sizeof(*g->nonces));
    g->thr = calloc(g->thr_sets * GUARD_WAYS, sizeof(*g->thr));
    if (!g->nonces || !g->thr) {
        free(g->nonces);
        free(g->thr);
        free(g);
        return -ENOMEM;
    }
    /* Without randomness the sets are only predictable, still bounded. */
    if (getrandom(g->hkey, sizeof(g->hkey), 0) != (ssize_t)sizeof(g->hkey))
        memset(g->hkey, 0x3c, sizeof(g->hkey));
    for (unsigned i = 0; i < GUARD_SHARDS; i++)
        pthread_mutex_init(&g->mu[i], NULL);
    *out = g;
    return 0;
}

void relay_guard_free(struct relay_guard *g)
{
    if (!g)
        return;
    for (unsigned s = 0; s < GUARD_SHARDS; s++) {
        for (unsigned b = 0; b < GUARD_USER_BUCKETS; b++) {
            struct ures *u = g->users[s][b];
            while (u) {
                struct ures *next = u->next;
                free(u);
                u = next;
            }
        }
        pthread_mutex_destroy(&g->mu[s]);
    }
    free(g->nonces);
    free(g->thr);
    free(g);
}

const struct relay_guard_config *relay_guard_config(const struct relay_guard *g)
{
    return &g->cfg;
}

static pthread_mutex_t *lock_for(struct relay_guard *g, uint64_t h)
{
    pthread_mutex_t *mu = &g->mu[(h >> 32) % GUARD_SHARDS];
    pthread_mutex_lock(mu);
    return mu;
}

/* --- nonce replay cache ----------------------------------------------------- */

enum relay_guard_nonce relay_guard_nonce_use(struct relay_guard *g, uint64_t ts, uint64_t salt,
                                             uint32_t nc, uint64_t expires, uint64_t now)
{
    uint64_t k[2] = { ts, salt };
    uint64_t h = relay_siphash24(g->hkey, k, sizeof(k));
    struct nonce_slot *set = &g->nonces[(h % g->nonce_sets) * GUARD_WAYS];
    pthread_mutex_t *mu = lock_for(g, h);
    struct nonce_slot *free_slot = NULL;
    enum relay_guard_nonce res = RELAY_GUARD_NONCE_FULL;
    for (unsigned i = 0; i < GUARD_WAYS; i++) {
        struct nonce_slot *s = &set[i];
        if (s->expires <= now) {
            if (!free_slot)
                free_slot = s;
            continue;
        }
        if (s->ts == ts && s->salt == salt) {
            /* Strictly growing, as RFC 2617 lets a server demand: a
             * client reusing a nonce counts up; a replay repeats. */
            if (nc <= s->nc_max) {
                res = RELAY_GUARD_NONCE_REPLAY;
            } else {
                s->nc_max = nc;
                res = RELAY_GUARD_NONCE_OK;
            }
            free_slot = NULL;
            break;
        }
    }
    if (free_slot) {
        free_slot->ts = ts;
        free_slot->salt = salt;
        free_slot->expires = expires > now ? expires : now + 1;
        free_slot->nc_max = nc;
        res = RELAY_GUARD_NONCE_OK;
    }
    pthread_mutex_unlock(mu);
    return res;
}

/* --- failure throttle ------------------------------------------------------- */

uint64_t relay_guard_key(const struct relay_guard *g, char kind, const void *data, size_t n)
{
    uint8_t buf[1 + GW_USER_NAME_CAP + 64];
    if (n > sizeof(buf) - 1)
        n = sizeof(buf) - 1;
    buf[0] = (uint8_t)kind;
    memcpy(buf + 1, data, n);
    uint64_t h = relay_siphash24(g->hkey, buf, n + 1);
    return h ? h : 1; /* 0 marks a free slot */
}

static bool thr_live(const struct relay_guard *g, const struct thr_slot *s, uint32_t now)
{
    /* A slot with nothing counted is free: names that were only looked
     * up (relay_guard_begin, then no verdict) take no room from those
     * that earned failures. */
    return s->key && (s->blocked_until > now || s->checking ||
                      (s->fails && now - s->window_start < g->cfg.fail_window_s));
}

static struct thr_slot *thr_set(struct relay_guard *g, uint64_t key)
{
    return &g->thr[(key % g->thr_sets) * GUARD_WAYS];
}

static struct thr_slot *thr_find(struct relay_guard *g, struct thr_slot *set, uint64_t key,
                                 uint32_t now)
{
    for (unsigned i = 0; i < GUARD_WAYS; i++)
        if (set[i].key == key && thr_live(g, &set[i], now))
            return &set[i];
    return NULL;
}

/* The slot a new key takes: a free or dead one, else the one least worth
 * keeping (not blocked before blocked, then least recently seen). */
static struct thr_slot *thr_victim(struct relay_guard *g, struct thr_slot *set, uint32_t now)
{
    struct thr_slot *v = NULL;
    for (unsigned i = 0; i < GUARD_WAYS; i++) {
        struct thr_slot *s = &set[i];
        if (!thr_live(g, s, now))
            return s;
        bool sb = s->blocked_until > now;
        if (!v) {
            v = s;
            continue;
        }
        bool vb = v->blocked_until > now;
        if ((vb && !sb) || (vb == sb && s->last_seen < v->last_seen))
            v = s;
    }
    return v;
}

uint32_t relay_guard_blocked(struct relay_guard *g, uint64_t key, uint32_t now)
{
    if (!g->cfg.fail_limit)
        return 0;
    struct thr_slot *set = thr_set(g, key);
    pthread_mutex_t *mu = lock_for(g, key);
    struct thr_slot *s = thr_find(g, set, key, now);
    uint32_t left = s && s->blocked_until > now ? s->blocked_until - now : 0;
    pthread_mutex_unlock(mu);
    return left;
}

/* The slot of key, taken for it when it has none. */
static struct thr_slot *thr_get(struct relay_guard *g, uint64_t key, uint32_t now)
{
    struct thr_slot *set = thr_set(g, key);
    struct thr_slot *s = thr_find(g, set, key, now);
    if (!s) {
        s = thr_victim(g, set, now);
        memset(s, 0, sizeof(*s));
        s->key = key;
        s->window_start = now;
    }
    s->last_seen = now;
    if (now - s->window_start >= g->cfg.fail_window_s) {
        s->window_start = now;
        s->fails = 0;
    }
    return s;
}

static bool thr_fail(struct relay_guard *g, struct thr_slot *s, uint32_t now)
{
    if (s->blocked_until > now || ++s->fails < g->cfg.fail_limit)
        return false;
    /* The block starts a fresh window: when it ends, the key gets
     * fail_limit tries again, not one. */
    s->blocked_until = now + g->cfg.block_s;
    s->window_start = now;
    s->fails = 0;
    return true;
}

uint32_t relay_guard_begin(struct relay_guard *g, uint64_t key, uint32_t now)
{
    if (!g->cfg.fail_limit)
        return 0;
    pthread_mutex_t *mu = lock_for(g, key);
    struct thr_slot *s = thr_get(g, key, now);
    uint32_t left = 0;
    if (s->blocked_until > now)
        left = s->blocked_until - now;
    else if (s->fails + s->checking >= g->cfg.fail_limit)
        left = 1; /* the tries left are being checked on other connections */
    else
        s->checking++;
    pthread_mutex_unlock(mu);
    return left;
}

bool relay_guard_done(struct relay_guard *g, uint64_t key, uint32_t now,
                      enum relay_guard_verdict v)
{
    if (!g->cfg.fail_limit)
        return false;
    pthread_mutex_t *mu = lock_for(g, key);
    struct thr_slot *s = thr_get(g, key, now);
    if (s->checking) /* 0 when the slot was reused meanwhile */
        s->checking--;
    bool blocks = false;
    if (v == RELAY_GUARD_FAILED)
        blocks = thr_fail(g, s, now);
    else if (v == RELAY_GUARD_PASSED && s->blocked_until <= now)
        s->fails = 0;
    pthread_mutex_unlock(mu);
    return blocks;
}

/* --- reservations per user -------------------------------------------------- */

static struct ures **ures_slot(struct relay_guard *g, uint64_t h, const char *name)
{
    struct ures **pp = &g->users[(h >> 32) % GUARD_SHARDS][h % GUARD_USER_BUCKETS];
    while (*pp && ((*pp)->h != h || strcmp((*pp)->name, name) != 0))
        pp = &(*pp)->next;
    return pp;
}

/* One slot of max_res_total (a compare-and-swap: users on other shards
 * take slots concurrently, and the cap must hold exactly). */
static bool res_total_take(struct relay_guard *g)
{
    uint32_t n = atomic_load_explicit(&g->res_total, memory_order_relaxed);
    do {
        if (g->cfg.max_res_total && n >= g->cfg.max_res_total)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&g->res_total, &n, n + 1,
                                                    memory_order_relaxed, memory_order_relaxed));
    return true;
}

int relay_guard_res_take(struct relay_guard *g, const char *user)
{
    return relay_guard_res_take_max(g, user, g->cfg.max_res_per_user);
}

/* max: the user's cap, from its own limits or max_res_per_user
 * (relay_limits_take): a user's count is one, whatever caps reloads gave
 * its AUTHs. */
int relay_guard_res_take_max(struct relay_guard *g, const char *user, uint32_t max)
{
    uint64_t h = relay_guard_key(g, 'R', user, strlen(user));
    pthread_mutex_t *mu = lock_for(g, h);
    struct ures **pp = ures_slot(g, h, user);
    int rc = 0;
    if (*pp && max && (*pp)->n >= max) {
        rc = -EDQUOT;
    } else if (!res_total_take(g)) {
        rc = -EUSERS;
    } else if (*pp) {
        (*pp)->n++;
    } else {
        size_t n = strlen(user);
        struct ures *u = malloc(sizeof(*u) + n + 1);
        if (!u) {
            atomic_fetch_sub_explicit(&g->res_total, 1, memory_order_relaxed);
            rc = -ENOMEM;
        } else {
            u->next = NULL;
            u->h = h;
            u->n = 1;
            memcpy(u->name, user, n + 1);
            *pp = u;
        }
    }
    pthread_mutex_unlock(mu);
    return rc;
}

void relay_guard_res_give(struct relay_guard *g, const char *user)
{
    uint64_t h = relay_guard_key(g, 'R', user, strlen(user));
    pthread_mutex_t *mu = lock_for(g, h);
    struct ures **pp = ures_slot(g, h, user);
    struct ures *u = *pp;
    if (u)
        atomic_fetch_sub_explicit(&g->res_total, 1, memory_order_relaxed);
    if (u && --u->n == 0) {
        *pp = u->next;
        free(u);
    }
    pthread_mutex_unlock(mu);
}

uint32_t relay_guard_res_count(struct relay_guard *g, const char *user)
{
    uint64_t h = relay_guard_key(g, 'R', user, strlen(user));
    pthread_mutex_t *mu = lock_for(g, h);
    struct ures *u = *ures_slot(g, h, user);
    uint32_t n = u ? u->n : 0;
    pthread_mutex_unlock(mu);
    return n;
}

uint64_t relay_guard_addr_key(const struct relay_guard *g, const char *peer)
{
    /* "1.2.3.4:port" or "[v6]:port"; an IPv6 peer is keyed by its /64,
     * which is what one subscriber gets: its 2^64 addresses are one. */
    char host[64];
    const char *p = peer ? peer : "";
    size_t n;
    if (*p == '[') {
        const char *e = strchr(p, ']');
        p++;
        n = e ? (size_t)(e - p) : strlen(p);
    } else {
        const char *e = strrchr(p, ':');
        n = e ? (size_t)(e - p) : strlen(p);
    }
    if (n >= sizeof(host))
        n = sizeof(host) - 1;
    memcpy(host, p, n);
    host[n] = '\0';
    uint8_t a[16];
    if (inet_pton(AF_INET, host, a) == 1)
        return relay_guard_key(g, '4', a, 4);
    if (inet_pton(AF_INET6, host, a) == 1) {
        static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        if (memcmp(a, mapped, sizeof(mapped)) == 0)
            return relay_guard_key(g, '4', a + 12, 4);
        return relay_guard_key(g, '6', a, 8);
    }
    return relay_guard_key(g, 'A', host, n);
}
