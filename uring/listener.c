/*
 * listener.c: SO_REUSEPORT listening sockets with multishot accept. Each
 * loop listens on the same address; the kernel balances connections
 * between the loops' sockets. ur_listen_lock keeps other processes out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "uring/internal.h"
#include "uring/listener.h"

struct ur_listener {
    struct ur_loop *loop;
    struct ur_listener *next;
    int fd;
    uint16_t port;
    int inflight;
    int closing;
    int armed;
    ur_accept_fn on_accept;
    void *ud;
    struct ur_timer retry;   /* re-arm delay after EMFILE and friends */
} __attribute__((aligned(16)));

static void accept_arm(struct ur_listener *l)
{
    struct io_uring_sqe *sqe;

    if (l->armed || l->closing)
        return;
    sqe = ur_sqe(l->loop);
    if (ur_has(l->loop, UR_FEAT_ACCEPT_MULTISHOT))
        io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    else
        io_uring_prep_accept(sqe, l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, ur_ud(l, UR_TAG_ACCEPT));
    l->armed = 1;
    l->inflight++;
}

static void retry_cb(struct ur_timer *t, void *arg)
{
    (void)t;
    accept_arm(arg);
}

static int parse_host(const char *host, uint16_t port, struct sockaddr_storage *ss,
                      socklen_t *len)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (!host)
        host = "::";
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof(*a4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof(*a6);
        return 0;
    }
    return -EINVAL;
}

int ur_listen(struct ur_loop *loop, struct ur_listener **out, const char *host, uint16_t port,
              int backlog, ur_accept_fn on_accept, void *ud)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct ur_listener *l;
    int fd, one = 1, zero = 0, rc;

    *out = NULL;
    rc = parse_host(host, port, &ss, &len);
    if (rc < 0)
        return rc;
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        goto fail;
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
        listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        goto fail;
    l = aligned_alloc(16, sizeof(*l));
    if (!l) {
        close(fd);
        return -ENOMEM;
    }
    memset(l, 0, sizeof(*l));
    l->loop = loop;
    l->fd = fd;
    l->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
    l->on_accept = on_accept;
    l->ud = ud;
    ur_timer_init(&l->retry, retry_cb, l);
    l->next = loop->listeners;
    loop->listeners = l;
    accept_arm(l);
    *out = l;
    return 0;
fail:
    rc = -errno;
    close(fd);
    return rc;
}

int ur_listen_lock(const char *tag, const char *host, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char addr[INET6_ADDRSTRLEN];
    int rc = parse_host(host, port, &ss, &len);
    if (rc < 0)
        return rc;
    const void *a = ss.ss_family == AF_INET ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
                                            : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
    if (!inet_ntop(ss.ss_family, a, addr, sizeof(addr)))
        return -EINVAL;
    struct sockaddr_un su;
    memset(&su, 0, sizeof(su));
    su.sun_family = AF_UNIX;
    /* sun_path[0] = '\0': the abstract namespace, no file to clean up. */
    int n = snprintf(su.sun_path + 1, sizeof(su.sun_path) - 1, "%s/tcp/%s/%u", tag, addr, port);
    if (n < 0 || (size_t)n >= sizeof(su.sun_path) - 1)
        return -ENAMETOOLONG;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&su, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                                                      (size_t)n)) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

uint16_t ur_listener_port(const struct ur_listener *l) { return l->port; }
int ur_listener_fd(const struct ur_listener *l) { return l->fd; }

static void listener_free(struct ur_listener *l)
{
    struct ur_listener **pp = &l->loop->listeners;

    while (*pp && *pp != l)
        pp = &(*pp)->next;
    if (*pp)
        *pp = l->next;
    ur_timer_cancel(l->loop, &l->retry);
    close(l->fd);
    free(l);
}

void ur_listener_close(struct ur_listener *l)
{
    struct io_uring_sqe *sqe;

    if (l->closing)
        return;
    l->closing = 1;
    ur_timer_cancel(l->loop, &l->retry);
    if (l->inflight == 0) {
        listener_free(l);
        return;
    }
    sqe = ur_sqe(l->loop);
    io_uring_prep_cancel64(sqe, ur_ud(l, UR_TAG_ACCEPT), 0);
    io_uring_sqe_set_data64(sqe, ur_ud(l, UR_TAG_LISTENER_OP));
    l->inflight++;
}

void ur_listener_cqe(struct ur_loop *loop, enum ur_tag tag, struct ur_listener *l,
                     const struct io_uring_cqe *cqe)
{
    int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    int res = cqe->res;

    if (tag == UR_TAG_LISTENER_OP) {
        l->inflight--;
    } else {
        if (!more) {
            l->armed = 0;
            l->inflight--;
        }
        if (res >= 0) {
            int one = 1;
            setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            if (l->closing)
                close(res);
            else
                l->on_accept(l, res, l->ud);
        } else if (res == -EINVAL && ur_has(loop, UR_FEAT_ACCEPT_MULTISHOT)) {
            ur_feature_lost(loop, UR_FEAT_ACCEPT_MULTISHOT, "accept-multishot", res);
        } else if (res != -ECANCELED && !l->closing) {
            l->on_accept(l, res, l->ud);
            if (!more && !l->closing) {
                /* Out of fds or memory: retrying at once would spin. */
                ur_timer_arm(loop, &l->retry, 100, 0);
                return;
            }
        }
        if (!more && !l->closing)
            accept_arm(l);
    }
    if (l->closing && l->inflight == 0)
        listener_free(l);
}

void ur_listeners_free(struct ur_loop *loop)
{
    while (loop->listeners)
        listener_free(loop->listeners);
}
