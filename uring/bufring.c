/*
 * bufring.c: the loop's provided-buffer ring (buffer group 0), hand-rolled
 * because liburing 2.3 has no io_uring_setup_buf_ring(): the ring of
 * descriptors is an anonymous mapping registered with
 * io_uring_register_buf_ring(), the buffers one aligned block. Buffers are
 * reference counted (struct ur_buf) and go back to the ring when the last
 * reference drops. Heap buffers share the same handle type, so on_data has
 * one contract whatever fed it (ring, TLS plaintext, fallback recv).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "uring/internal.h"

int ur_bufring_init(struct ur_loop *loop)
{
    unsigned n = loop->cfg.buf_count;
    size_t sz = loop->cfg.buf_size;
    struct io_uring_buf_reg reg;
    int rc;

    if (!ur_has(loop, UR_FEAT_BUF_RING))
        return 0;
    loop->br_bytes = (n * sizeof(struct io_uring_buf) + 4095) & ~(size_t)4095;
    loop->br = mmap(NULL, loop->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                    -1, 0);
    if (loop->br == MAP_FAILED) {
        loop->br = NULL;
        return -errno;
    }
    loop->buf_mem = aligned_alloc(4096, sz * n);
    loop->bufs = calloc(n, sizeof(*loop->bufs));
    if (!loop->buf_mem || !loop->bufs) {
        ur_bufring_free(loop);
        return -ENOMEM;
    }
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (uint64_t)(uintptr_t)loop->br;
    reg.ring_entries = n;
    reg.bgid = loop->bgid;
    rc = io_uring_register_buf_ring(&loop->ring, &reg, 0);
    if (rc < 0) {
        ur_bufring_free(loop);
        ur_feature_lost(loop, UR_FEAT_BUF_RING, "buf-ring", rc);
        return 0;
    }
    io_uring_buf_ring_init(loop->br);
    for (unsigned i = 0; i < n; i++) {
        struct ur_buf *b = &loop->bufs[i];
        b->data = loop->buf_mem + (size_t)i * sz;
        b->cap = (uint32_t)sz;
        b->loop = loop;
        b->bid = (uint16_t)i;
        io_uring_buf_ring_add(loop->br, b->data, b->cap, b->bid, io_uring_buf_ring_mask(n),
                              (int)i);
    }
    io_uring_buf_ring_advance(loop->br, (int)n);
    return 0;
}

void ur_bufring_free(struct ur_loop *loop)
{
    if (loop->br)
        munmap(loop->br, loop->br_bytes);
    loop->br = NULL;
    free(loop->buf_mem);
    loop->buf_mem = NULL;
    free(loop->bufs);
    loop->bufs = NULL;
}

struct ur_buf *ur_bufring_take(struct ur_loop *loop, uint16_t bid)
{
    struct ur_buf *b;

    if (!loop->bufs || bid >= loop->cfg.buf_count)
        return NULL;
    b = &loop->bufs[bid];
    b->refs = 1;
    loop->stats.bufs_out++;
    return b;
}

struct ur_buf *ur_buf_heap_new(struct ur_loop *loop, size_t cap)
{
    struct ur_buf *b = aligned_alloc(16, (sizeof(*b) + 15 + cap) & ~(size_t)15);

    if (!b)
        return NULL;
    memset(b, 0, sizeof(*b));
    b->data = (uint8_t *)(b + 1);
    b->cap = (uint32_t)cap;
    b->refs = 1;
    b->loop = loop;
    b->heap = 1;
    return b;
}

struct ur_buf *ur_buf_ref(struct ur_buf *buf)
{
    buf->refs++;
    return buf;
}

void ur_buf_unref(struct ur_buf *buf)
{
    struct ur_loop *loop;

    if (!buf || --buf->refs > 0)
        return;
    if (buf->heap) {
        free(buf);
        return;
    }
    loop = buf->loop;
    io_uring_buf_ring_add(loop->br, buf->data, buf->cap, buf->bid,
                          io_uring_buf_ring_mask(loop->cfg.buf_count), 0);
    io_uring_buf_ring_advance(loop->br, 1);
    loop->stats.bufs_out--;
    /* Receives that stopped on ENOBUFS are re-armed from the loop, not from
     * here: unref may run deep inside a caller's callback. */
    if (loop->starved)
        loop->kick_starved = 1;
}

uint8_t *ur_buf_data(const struct ur_buf *buf) { return buf->data; }
size_t ur_buf_capacity(const struct ur_buf *buf) { return buf->cap; }
