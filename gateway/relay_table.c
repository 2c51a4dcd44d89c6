/*
 * relay_table.c: chained hash tables keyed by short strings (session ids,
 * transaction ids, next-hop authorities). Nodes are embedded in the owning
 * objects, so put/del never allocate; only growth does. One table per core,
 * never shared, so nothing is locked. Keys are random ids or our own
 * authority strings; FNV-1a is enough (a peer cannot choose a key that
 * lands in the table without knowing our random ids).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/relay_internal.h"

static size_t hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)k[i];
        h *= 1099511628211ull;
    }
    return (size_t)(h ^ (h >> 29));
}

int rtable_init(struct rtable *t, size_t nb)
{
    size_t n = 16;
    while (n < nb)
        n <<= 1;
    t->b = calloc(n, sizeof(*t->b));
    if (!t->b)
        return -ENOMEM;
    t->nb = n;
    t->n = 0;
    return 0;
}

void rtable_free(struct rtable *t)
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
            size_t j = hash(n->key, n->klen) & (nb - 1);
            n->next = b[j];
            b[j] = n;
            n = next;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
}

int rtable_put(struct rtable *t, struct rnode *n)
{
    if (t->n >= t->nb)
        grow(t);
    size_t i = hash(n->key, n->klen) & (t->nb - 1);
    n->next = t->b[i];
    t->b[i] = n;
    t->n++;
    return 0;
}

struct rnode *rtable_get(const struct rtable *t, const char *key, size_t klen)
{
    if (!t->b)
        return NULL;
    for (struct rnode *n = t->b[hash(key, klen) & (t->nb - 1)]; n; n = n->next)
        if (n->klen == klen && memcmp(n->key, key, klen) == 0)
            return n;
    return NULL;
}

void rtable_del(struct rtable *t, struct rnode *n)
{
    struct rnode **pp = &t->b[hash(n->key, n->klen) & (t->nb - 1)];
    for (; *pp; pp = &(*pp)->next)
        if (*pp == n) {
            *pp = n->next;
            n->next = NULL;
            t->n--;
            return;
        }
}
