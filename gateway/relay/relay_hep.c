/*
 * relay_hep.c: HEP3 capture of the frames the relay forwards, for a Homer
 * collector (hep.h encodes). Each core has its own connected UDP socket;
 * every head the relay writes to a next hop (each piece of a split chunk
 * included) is encoded with the TCP connection's addresses -- source our
 * end, destination the next hop -- the time it was queued, and as
 * correlation id the session id of the reservation it came from or goes to.
 * With hep_body_bytes, a piece's head waits for the piece's first body
 * bytes and goes with at most that many of them (from the first receive
 * slice forwarded: a shorter slice gives fewer).
 *
 * Nothing waits for the collector: a datagram is written through the
 * loop's ring (ur_file_write on the non-blocking socket: a full socket
 * completes with -EAGAIN), at most HEP_INFLIGHT_MAX at once per core; a
 * datagram over that, or one the socket refused, is dropped and counted
 * (msrpgw_hep_dropped_total). Each datagram is one allocation, freed at
 * its completion (or at core shutdown).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gateway/relay/hep.h"
#include "gateway/relay/relay_internal.h"
#include "uring/conn.h"
#include "uring/file.h"

#define HEP_INFLIGHT_MAX 256

struct hep_dgram {
    struct relay_hep *h;
    struct hep_dgram *prev, *next;
    size_t n;
    uint8_t data[];
};

struct relay_hep {
    struct gw_relay_core *core;
    int fd;
    uint32_t inflight;
    struct hep_dgram *list;     /* in flight */
    uint8_t scratch[GW_HEP_MAX];
};

/* "IP:PORT" or "[IPv6]:PORT", numeric only: no resolver on a loop thread. */
static int resolve(const char *text, struct sockaddr_storage *sa, socklen_t *len)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    if (!colon)
        return -EINVAL;
    const char *h = text;
    size_t hn = (size_t)(colon - text);
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
        h++;
        hn -= 2;
    }
    if (hn == 0 || hn >= sizeof(host))
        return -EINVAL;
    memcpy(host, h, hn);
    host[hn] = '\0';
    struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                              .ai_socktype = SOCK_DGRAM };
    struct addrinfo *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return -EINVAL;
    memcpy(sa, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

int relay_hep_open(struct gw_relay_core *core)
{
    const char *addr = core->r->cfg.hep_address;
    if (!addr[0])
        return 0;
    struct sockaddr_storage sa;
    socklen_t len;
    int err = resolve(addr, &sa, &len);
    if (err < 0) {
        gw_log(GW_LOG_ERROR, NULL, NULL, "hep_address %s: want IP:PORT or [IPv6]:PORT", addr);
        return err;
    }
    struct relay_hep *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->core = core;
    h->fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->fd < 0 || connect(h->fd, (struct sockaddr *)&sa, len) < 0) {
        err = -errno;
        gw_log(GW_LOG_ERROR, NULL, NULL, "hep_address %s: %s", addr, strerror(-err));
        if (h->fd >= 0)
            close(h->fd);
        free(h);
        return err;
    }
    core->hep = h;
    if (core->idx == 0)
        gw_log(GW_LOG_INFO, NULL, NULL, "HEP3 capture to udp %s (capture id %u)", addr,
               core->r->cfg.hep_id);
    return 0;
}

static void dgram_unlink(struct hep_dgram *d)
{
    struct relay_hep *h = d->h;
    if (d->prev)
        d->prev->next = d->next;
    else
        h->list = d->next;
    if (d->next)
        d->next->prev = d->prev;
    h->inflight--;
}

static void dgram_done(struct ur_loop *loop, void *arg, long res)
{
    (void)loop;
    struct hep_dgram *d = arg;
    struct relay_hep *h = d->h;
    if (res == (long)d->n)
        MET(h->core, hep_sent);
    else
        MET(h->core, hep_dropped);
    dgram_unlink(d);
    free(d);
}

void relay_hep_close(struct gw_relay_core *core)
{
    struct relay_hep *h = core->hep;
    if (!h)
        return;
    /* The loop is stopping: no completion will come for what is still in
     * flight. */
    while (h->list) {
        struct hep_dgram *d = h->list;
        dgram_unlink(d);
        free(d);
    }
    close(h->fd);
    free(h);
    core->hep = NULL;
}

static void hep_send(struct chunk *c, const struct msrp_slice parts[3])
{
    struct relay_hep *h = c->core->hep;
    if (!h || !c->down || !c->down->m)
        return;
    if (h->inflight >= HEP_INFLIGHT_MAX) {
        MET(c->core, hep_dropped);
        return;
    }
    int fd = ur_conn_fd(gw_mconn_conn(c->down->m));
    struct sockaddr_storage src, dst;
    socklen_t sl = sizeof(src), dl = sizeof(dst);
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&src, &sl) < 0 ||
        getpeername(fd, (struct sockaddr *)&dst, &dl) < 0)
        return; /* not connected (yet, or any more): nothing was sent */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    const char *sid = c->up && c->up->sessid[0] ? c->up->sessid : c->down->sessid;
    struct gw_hep_packet p = {
        .src = (struct sockaddr *)&src,
        .dst = (struct sockaddr *)&dst,
        .ts_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u,
        .proto_type = c->core->r->cfg.hep_proto_type,
        .capture_id = c->core->r->cfg.hep_id,
        .correlation = msrp_slice(sid, strlen(sid)),
        .payload = { parts[0], parts[1], parts[2] },
    };
    int n = gw_hep_encode(h->scratch, sizeof(h->scratch), &p);
    struct hep_dgram *d = n > 0 ? malloc(sizeof(*d) + (size_t)n) : NULL;
    if (!d) {
        MET(c->core, hep_dropped);
        return;
    }
    d->h = h;
    d->n = (size_t)n;
    memcpy(d->data, h->scratch, d->n);
    d->prev = NULL;
    d->next = h->list;
    if (d->next)
        d->next->prev = d;
    h->list = d;
    h->inflight++;
    if (ur_file_write(c->core->loop, h->fd, d->data, d->n, 0, dgram_done, d) < 0) {
        MET(c->core, hep_dropped);
        dgram_unlink(d);
        free(d);
    }
}

void relay_hep_capture(struct chunk *c, const struct msrp_slice parts[3])
{
    uint32_t body = c->core->r->cfg.hep_body_bytes;
    if (!body || !c->has_body) {
        hep_send(c, parts);
        return;
    }
    size_t n = parts[0].n + parts[1].n + parts[2].n;
    free(c->hep_head);
    c->hep_head = malloc(n ? n : 1);
    c->hep_head_n = 0;
    if (!c->hep_head) {
        MET(c->core, hep_dropped);
        return;
    }
    for (int i = 0; i < 3; i++) {
        if (parts[i].n)
            memcpy(c->hep_head + c->hep_head_n, parts[i].p, parts[i].n);
        c->hep_head_n += parts[i].n;
    }
}

void relay_hep_body(struct chunk *c, const char *p, size_t n)
{
    uint32_t max = c->core->r->cfg.hep_body_bytes;
    struct msrp_slice parts[3] = {
        msrp_slice(c->hep_head, c->hep_head_n), msrp_slice(p, n < max ? n : max),
    };
    hep_send(c, parts);
    free(c->hep_head);
    c->hep_head = NULL;
}
