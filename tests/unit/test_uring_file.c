/*
 * test_uring_file.c: ranged reads through the ring match the file, reads at
 * the end are short, reads past it are empty, writes land at their offset.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uring/file.h"
#include "uring/loop.h"

#define SZ (1u << 20)

static long results[4];
static int ncb;

static void on_done(struct ur_loop *loop, void *arg, long res)
{
    (void)loop;
    results[(intptr_t)arg] = res;
    ncb++;
}

Test(uring_file, read_ranges_and_write)
{
    char path[] = "/tmp/ur_file_XXXXXX";
    int fd = mkstemp(path);
    uint8_t *data = malloc(SZ), *a = malloc(300000), *b = malloc(4096), *c = malloc(16);
    struct ur_loop *loop;
    uint8_t back[6];

    cr_assert_geq(fd, 0);
    unlink(path);
    for (size_t i = 0; i < SZ; i++)
        data[i] = (uint8_t)(i * 2654435761u >> 13);
    cr_assert_eq(write(fd, data, SZ), (ssize_t)SZ);
    cr_assert_eq(ur_loop_new(&loop, NULL), 0);
    cr_assert_eq(ur_file_read(loop, fd, a, 300000, 12345, on_done, (void *)0), 0);
    cr_assert_eq(ur_file_read(loop, fd, b, 4096, SZ - 1000, on_done, (void *)1), 0);
    cr_assert_eq(ur_file_read(loop, fd, c, 16, SZ + 5, on_done, (void *)2), 0);
    cr_assert_eq(ur_file_write(loop, fd, "CHUNK!", 6, 777, on_done, (void *)3), 0);
    for (int i = 0; i < 100 && ncb < 4; i++)
        cr_assert_eq(ur_loop_run_once(loop, 100), 0);
    cr_assert_eq(ncb, 4);
    cr_assert_eq(results[0], 300000);
    cr_assert_eq(memcmp(a, data + 12345, 300000), 0);
    cr_assert_eq(results[1], 1000);
    cr_assert_eq(memcmp(b, data + SZ - 1000, 1000), 0);
    cr_assert_eq(results[2], 0);
    cr_assert_eq(results[3], 6);
    cr_assert_eq(pread(fd, back, 6, 777), 6);
    cr_assert_eq(memcmp(back, "CHUNK!", 6), 0);

    ncb = 0;
    cr_assert_eq(ur_file_read(loop, -1, c, 16, 0, on_done, (void *)0), 0);
    for (int i = 0; i < 100 && ncb < 1; i++)
        cr_assert_eq(ur_loop_run_once(loop, 100), 0);
    cr_assert_eq(results[0], -EBADF);
    ur_loop_free(loop);
    close(fd);
    free(data);
    free(a);
    free(b);
    free(c);
}
