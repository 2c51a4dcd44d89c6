/*
 * path.c: owned MSRP paths and local URI generation (contract in path.h).
 */
#include "gateway/wire/path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto/tid.h"

int gw_path_set(struct gw_path *p, const char *text, size_t n)
{
    /* Trim surrounding blanks: paths come from command lines and SDP. */
    while (n > 0 && (text[0] == ' ' || text[0] == '\t')) {
        text++;
        n--;
    }
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t' || text[n - 1] == '\n' ||
                     text[n - 1] == '\r'))
        n--;
    if (n == 0)
        return -EINVAL;
    if (n >= sizeof(p->text))
        return -E2BIG;
    memcpy(p->text, text, n);
    p->text[n] = '\0';
    p->len = n;
    int r = msrp_path_parse(p->uris, MSRP_PATH_CAP, p->text, n, 1024);
    if (r < 0) {
        p->n = 0;
        p->len = 0;
        p->text[0] = '\0';
        return r == MSRP_E_TOO_MANY_URIS ? -E2BIG : -EINVAL;
    }
    p->n = (unsigned)r;
    return 0;
}

int gw_path_set_uris(struct gw_path *p, const struct msrp_uri *u, size_t n)
{
    char tmp[GW_PATH_TEXT_MAX];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (len + u[i].raw.n + 1 >= sizeof(tmp))
            return -E2BIG;
        if (i)
            tmp[len++] = ' ';
        memcpy(tmp + len, u[i].raw.p, u[i].raw.n);
        len += u[i].raw.n;
    }
    return gw_path_set(p, tmp, len);
}

int gw_path_prepend(struct gw_path *p, const struct gw_path *front)
{
    char tmp[GW_PATH_TEXT_MAX];
    if (front->n == 0)
        return 0;
    if (front->len + 1 + p->len >= sizeof(tmp))
        return -E2BIG;
    memcpy(tmp, front->text, front->len);
    size_t len = front->len;
    if (p->len) {
        tmp[len++] = ' ';
        memcpy(tmp + len, p->text, p->len);
        len += p->len;
    }
    return gw_path_set(p, tmp, len);
}

int gw_path_copy(struct gw_path *dst, const struct gw_path *src)
{
    if (src->n == 0) {
        dst->n = 0;
        dst->len = 0;
        dst->text[0] = '\0';
        return 0;
    }
    return gw_path_set(dst, src->text, src->len);
}

const struct msrp_uri *gw_path_last(const struct gw_path *p)
{
    return p->n ? &p->uris[p->n - 1] : NULL;
}

int gw_local_uri_make(char *buf, size_t cap, const char *host, unsigned port, int tls)
{
    char id[21];
    if (msrp_tid_generate(id, 20) != 0)
        return -EIO;
    id[20] = '\0';
    int v6 = strchr(host, ':') != NULL;
    int n = snprintf(buf, cap, "%s://%s%s%s:%u/%s;tcp", tls ? "msrps" : "msrp", v6 ? "[" : "",
                     host, v6 ? "]" : "", port, id);
    if (n < 0 || (size_t)n >= cap)
        return -ENOSPC;
    return n;
}
