/* slurp.c: whole-file reads with a size bound (see slurp.h). */
#include "gateway/common/slurp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/common/errmsg.h"

static int too_big(const char *path, size_t max, char *err, size_t errlen)
{
    gw_seterr(err, errlen, "%s: larger than %zu bytes", path, max);
    return -EFBIG;
}

int gw_slurp(const char *path, size_t max, char **text, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    int rc = 0;

    *text = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = -errno;
        gw_seterr(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    if ((size_t)st.st_size > max) {
        close(fd);
        return too_big(path, max, err, errlen);
    }
    /* Room past st_size to notice growth; doubled as needed up to max. */
    size_t cap = (size_t)st.st_size + 4096, got = 0;
    char *buf = malloc(cap);
    while (buf) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            gw_seterr(err, errlen, "%s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > max) {
            rc = too_big(path, max, err, errlen);
            break;
        }
        if (got == cap - 1) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    close(fd);
    if (!buf) {
        gw_seterr(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[got] = '\0';
    *text = buf;
    *len = got;
    return 0;
}
