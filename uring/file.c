/*
 * file.c: file reads and writes through the ring, one pooled op per
 * request. Writes are continued until every byte is written, so the
 * receiving side can treat a chunk write as all-or-error.
 */
#include <errno.h>

#include "uring/file.h"
#include "uring/internal.h"

struct ur_fop {
    void *next_free; /* pool link; keeps the object at least a word */
    int fd;
    int write;
    uint8_t *buf;
    size_t n, done_n;
    uint64_t off;
    ur_file_fn fn;
    void *arg;
};

static void fop_submit(struct ur_loop *loop, struct ur_fop *op)
{
    struct io_uring_sqe *sqe = ur_sqe(loop);
    unsigned len = op->n - op->done_n > (1u << 30) ? (1u << 30) : (unsigned)(op->n - op->done_n);

    if (op->write)
        io_uring_prep_write(sqe, op->fd, op->buf + op->done_n, len, op->off + op->done_n);
    else
        io_uring_prep_read(sqe, op->fd, op->buf, len, op->off);
    io_uring_sqe_set_data64(sqe, ur_ud(op, UR_TAG_FILE));
}

static int fop_start(struct ur_loop *loop, int fd, void *buf, size_t n, uint64_t off, int write,
                     ur_file_fn done, void *arg)
{
    struct ur_fop *op;

    if (!loop->fop_pool.obj_size)
        ur_pool_init(&loop->fop_pool, sizeof(struct ur_fop), 64);
    op = ur_pool_get(&loop->fop_pool);
    if (!op)
        return -ENOMEM;
    op->fd = fd;
    op->write = write;
    op->buf = buf;
    op->n = n;
    op->off = off;
    op->fn = done;
    op->arg = arg;
    fop_submit(loop, op);
    return 0;
}

int ur_file_read(struct ur_loop *loop, int fd, void *buf, size_t n, uint64_t off,
                 ur_file_fn done, void *arg)
{
    return fop_start(loop, fd, buf, n, off, 0, done, arg);
}

int ur_file_write(struct ur_loop *loop, int fd, const void *buf, size_t n, uint64_t off,
                  ur_file_fn done, void *arg)
{
    return fop_start(loop, fd, (void *)buf, n, off, 1, done, arg);
}

void ur_file_cqe(struct ur_loop *loop, void *ptr, int res)
{
    struct ur_fop *op = ptr;
    long result;

    if (op->write && res > 0) {
        op->done_n += (size_t)res;
        if (op->done_n < op->n) {
            fop_submit(loop, op);
            return;
        }
        result = (long)op->n;
    } else if (op->write && res == 0 && op->n > 0) {
        result = -EIO; /* no progress: would loop forever */
    } else {
        result = res;
    }
    ur_file_fn fn = op->fn;
    void *arg = op->arg;
    ur_pool_put(&loop->fop_pool, op);
    fn(loop, arg, result);
}
