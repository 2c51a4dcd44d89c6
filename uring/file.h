/*
 * file.h: asynchronous file I/O through the loop's ring (IORING_OP_READ /
 * IORING_OP_WRITE), for the outgoing file queue (read a range of the file
 * into a chunk buffer) and the receiving side (write a chunk at its
 * Byte-Range offset). The caller owns fd and buf, which must stay valid until
 * the callback runs.
 */
#ifndef UR_FILE_H
#define UR_FILE_H

#include <stddef.h>
#include <stdint.h>

struct ur_loop;

/* res: bytes transferred (a read shorter than n means end of file), or
 * -errno. */
typedef void (*ur_file_fn)(struct ur_loop *loop, void *arg, long res);

/* Reads up to n bytes at offset off. 0 or -ENOMEM; result via done. */
int ur_file_read(struct ur_loop *loop, int fd, void *buf, size_t n, uint64_t off,
                 ur_file_fn done, void *arg);

/* Writes all n bytes at offset off (short writes are continued); done gets
 * n or -errno. 0 or -ENOMEM. */
int ur_file_write(struct ur_loop *loop, int fd, const void *buf, size_t n, uint64_t off,
                  ur_file_fn done, void *arg);

#endif
