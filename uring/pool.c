/*
 * pool.c: slab free-list pool for fixed-size objects, one per loop and
 * object kind, and the bounded buffer cache (pool.h). No locking: both
 * have one owning thread.
 */
#include <stdlib.h>
#include <string.h>

#include "uring/pool.h"

#define SLAB_HDR 16 /* keeps objects 16-byte aligned after the slab link */

void ur_pool_init(struct ur_pool *pool, size_t obj_size, size_t per_slab)
{
    memset(pool, 0, sizeof(*pool));
    pool->obj_size = (obj_size + 15) & ~(size_t)15;
    pool->per_slab = per_slab ? per_slab : 64;
}

static int pool_grow(struct ur_pool *pool)
{
    char *slab = aligned_alloc(16, SLAB_HDR + pool->obj_size * pool->per_slab);

    if (!slab)
        return -1;
    *(void **)slab = pool->slabs;
    pool->slabs = slab;
    for (size_t i = 0; i < pool->per_slab; i++) {
        void *obj = slab + SLAB_HDR + i * pool->obj_size;
        *(void **)obj = pool->free_list;
        pool->free_list = obj;
    }
    pool->capacity += pool->per_slab;
    return 0;
}

void *ur_pool_get(struct ur_pool *pool)
{
    void *obj;

    if (!pool->free_list && pool_grow(pool) < 0)
        return NULL;
    obj = pool->free_list;
    pool->free_list = *(void **)obj;
    memset(obj, 0, pool->obj_size);
    pool->in_use++;
    return obj;
}

void ur_pool_put(struct ur_pool *pool, void *obj)
{
    if (!obj)
        return;
    *(void **)obj = pool->free_list;
    pool->free_list = obj;
    pool->in_use--;
}

void ur_pool_destroy(struct ur_pool *pool)
{
    void *slab = pool->slabs;

    while (slab) {
        void *next = *(void **)slab;
        free(slab);
        slab = next;
    }
    memset(pool, 0, sizeof(*pool));
}

void ur_bufcache_init(struct ur_bufcache *bc, size_t size, unsigned max)
{
    bc->size = size;
    bc->max = max;
}

void *ur_bufcache_get(struct ur_bufcache *bc)
{
    void *b = bc->head;

    if (!b)
        return malloc(bc->size);
    bc->head = *(void **)b;
    bc->n--;
    return b;
}

void ur_bufcache_put(struct ur_bufcache *bc, void *b)
{
    if (bc->n >= bc->max) {
        free(b);
        return;
    }
    *(void **)b = bc->head;
    bc->head = b;
    bc->n++;
}

void ur_bufcache_free(struct ur_bufcache *bc)
{
    while (bc->head) {
        void *b = bc->head;
        bc->head = *(void **)b;
        free(b);
    }
    bc->n = 0;
}
