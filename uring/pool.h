/*
 * pool.h: per-loop free-list pool for small fixed-size objects (connections,
 * send segments, file ops). A pool belongs to one loop thread and is never
 * locked. Objects are 16-byte aligned (uring/ keeps a tag in the low bits of
 * io_uring user_data pointers). Memory grows in slabs and is returned to the
 * allocator only by ur_pool_destroy().
 */
#ifndef UR_POOL_H
#define UR_POOL_H

#include <stddef.h>

struct ur_pool {
    size_t obj_size;     /* rounded up to 16 */
    size_t per_slab;     /* objects per slab */
    void *free_list;     /* singly linked through the first word */
    void *slabs;         /* singly linked list of slabs */
    size_t in_use;       /* objects handed out and not returned */
    size_t capacity;     /* objects allocated in all slabs */
};

/* Zero-fills the pool header; obj_size > 0; per_slab 0 = 64. */
void ur_pool_init(struct ur_pool *pool, size_t obj_size, size_t per_slab);

/* A zeroed object, or NULL when the allocator fails. */
void *ur_pool_get(struct ur_pool *pool);

/* Returns an object from this pool; NULL is ignored. */
void ur_pool_put(struct ur_pool *pool, void *obj);

/* Frees every slab; objects still in use become invalid. */
void ur_pool_destroy(struct ur_pool *pool);

/*
 * A bounded cache of malloc'd buffers of one size (per loop, never
 * locked): buffers jemalloc would serve slowly (large ones, or sizes its
 * thread cache holds few of) go back here instead of to free(), up to a
 * bound; beyond it they are freed. Unlike a pool, memory above the bound
 * returns to the allocator at once.
 */
struct ur_bufcache {
    void *head;          /* singly linked through the first word */
    unsigned n;          /* buffers held */
    unsigned max;        /* held at most; 0 until ur_bufcache_init */
    size_t size;         /* bytes per buffer */
};

/* Sets the buffer size and the bound (the cache starts empty). */
void ur_bufcache_init(struct ur_bufcache *bc, size_t size, unsigned max);

/* A buffer of bc->size bytes: a cached one, else malloc'd. */
void *ur_bufcache_get(struct ur_bufcache *bc);

/* Takes back a buffer of ur_bufcache_get; frees it when max are held
 * already. */
void ur_bufcache_put(struct ur_bufcache *bc, void *b);

/* Frees every held buffer. */
void ur_bufcache_free(struct ur_bufcache *bc);

#endif
