/*
 * relay_table.c: chained hash tables keyed by short strings (session ids,
 * transaction ids, next-hop authorities). Nodes are embedded in the owning
 * objects, so put/del never allocate; only growth does. One table per core,
 * never shared, so nothing is locked. Some keys are chosen by peers (the
 * URIs senders arrive with, relay_learn.c; transaction ids of responses):
 * keys are hashed with SipHash-2-4 under a key drawn per process, so a peer
 * cannot aim its keys at one bucket. A table whose keys are all our own
 * random tids (own_keys) uses a cheap mix instead: peers can look its keys
 * up but never choose them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "gateway/relay/relay_internal.h"

static uint8_t hash_key[16];
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;

static void hash_key_init(void)
{
    /* Without randomness the tables still work, only predictably. */
    if (getrandom(hash_key, sizeof(hash_key), 0) != (ssize_t)sizeof(hash_key))
        memset(hash_key, 0x5a, sizeof(hash_key));
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                   \
    do {                                                                           \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                  \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                     \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                     \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                  \
    } while (0)

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

uint64_t relay_siphash24(const uint8_t key[16], const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t k0 = le64(key), k1 = le64(key + 8);
    uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
    size_t full = n & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = le64(p + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)n << 56;
    for (size_t i = 0; i < (n & 7); i++)
        b |= (uint64_t)p[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static size_t hash(const struct rtable *t, const char *k, size_t n)
{
    if (t->own_keys && n >= 8) {
        /* Our own tids, drawn from a CSPRNG (rtable.own_keys): the first
         * and last eight bytes, multiplied and folded. */
        uint64_t a, b;
        memcpy(&a, k, 8);
        memcpy(&b, k + n - 8, 8);
        uint64_t x = (a ^ (b * 0x9E3779B97F4A7C15ull) ^ n) * 0xC2B2AE3D27D4EB4Full;
        return (size_t)(x ^ (x >> 29));
    }
    return (size_t)relay_siphash24(hash_key, k, n);
}

int relay_table_init(struct rtable *t, size_t nb)
{
    pthread_once(&hash_once, hash_key_init);
    size_t n = 16;
    while (n < nb)
        n <<= 1;
    t->b = calloc(n, sizeof(*t->b));
    if (!t->b)
        return -ENOMEM;
    t->nb = n;
    t->n = 0;
    t->own_keys = false;
    return 0;
}

void relay_table_free(struct rtable *t)
{
    free(t->b);
    t->b = NULL;
    t->nb = t->n = 0;
}

static void grow(struct rtable *t)
{
    size_t nb = t->nb * 2;
    struct rnode **b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* stay correct, just slower */
    for (size_t i = 0; i < t->nb; i++) {
        struct rnode *n = t->b[i];
        while (n) {
            struct rnode *next = n->next;
            size_t j = n->hash & (nb - 1);
            n->next = b[j];
            b[j] = n;
            n = next;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
}

void relay_table_put(struct rtable *t, struct rnode *n)
{
    if (t->n >= t->nb)
        grow(t);
    n->hash = hash(t, n->key, n->klen);
    size_t i = n->hash & (t->nb - 1);
    n->next = t->b[i];
    t->b[i] = n;
    t->n++;
}

struct rnode *relay_table_get(const struct rtable *t, const char *key, size_t klen)
{
    if (!t->b)
        return NULL;
    for (struct rnode *n = t->b[hash(t, key, klen) & (t->nb - 1)]; n; n = n->next)
        if (n->klen == klen && memcmp(n->key, key, klen) == 0)
            return n;
    return NULL;
}

void relay_table_del(struct rtable *t, struct rnode *n)
{
    /* The hash put stored: one SipHash per chunk fewer (issue 12). */
    struct rnode **pp = &t->b[n->hash & (t->nb - 1)];
    for (; *pp; pp = &(*pp)->next)
        if (*pp == n) {
            *pp = n->next;
            n->next = NULL;
            t->n--;
            return;
        }
}
