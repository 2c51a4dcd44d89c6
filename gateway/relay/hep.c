/*
 * hep.c: HEP3 encoder (format in hep.h).
 */
#include "gateway/relay/hep.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

struct out {
    uint8_t *p;
    size_t cap, n;
    int full;
};

static void put(struct out *o, const void *p, size_t n)
{
    if (o->full || n > o->cap - o->n) {
        o->full = 1;
        return;
    }
    if (n)
        memcpy(o->p + o->n, p, n);
    o->n += n;
}

static void put16(struct out *o, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    put(o, b, 2);
}

static void put32(struct out *o, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    put(o, b, 4);
}

/* A generic chunk's header: vendor 0, type, length with the header. */
static void chunk(struct out *o, uint16_t type, size_t value_len)
{
    if (value_len > UINT16_MAX - 6) {
        o->full = 1;
        return;
    }
    put16(o, 0);
    put16(o, type);
    put16(o, (uint16_t)(6 + value_len));
}

static void chunk8(struct out *o, uint16_t type, uint8_t v)
{
    chunk(o, type, 1);
    put(o, &v, 1);
}

static void chunk16(struct out *o, uint16_t type, uint16_t v)
{
    chunk(o, type, 2);
    put16(o, v);
}

static void chunk32(struct out *o, uint16_t type, uint32_t v)
{
    chunk(o, type, 4);
    put32(o, v);
}

static void chunk_bytes(struct out *o, uint16_t type, const void *p, size_t n)
{
    chunk(o, type, n);
    put(o, p, n);
}

int gw_hep_encode(uint8_t *buf, size_t cap, const struct gw_hep_packet *p)
{
    int fam = p->src->sa_family;
    if ((fam != AF_INET && fam != AF_INET6) || p->dst->sa_family != fam)
        return -EAFNOSUPPORT;
    struct out o = { buf, cap, 0, 0 };
    put(&o, "HEP3", 4);
    put16(&o, 0); /* total length, written last */
    chunk8(&o, 1, fam == AF_INET ? 2 : 10);
    chunk8(&o, 2, IPPROTO_TCP);
    uint16_t sport, dport;
    if (fam == AF_INET) {
        const struct sockaddr_in *s = (const void *)p->src, *d = (const void *)p->dst;
        chunk_bytes(&o, 3, &s->sin_addr, 4);
        chunk_bytes(&o, 4, &d->sin_addr, 4);
        sport = ntohs(s->sin_port);
        dport = ntohs(d->sin_port);
    } else {
        const struct sockaddr_in6 *s = (const void *)p->src, *d = (const void *)p->dst;
        chunk_bytes(&o, 5, &s->sin6_addr, 16);
        chunk_bytes(&o, 6, &d->sin6_addr, 16);
        sport = ntohs(s->sin6_port);
        dport = ntohs(d->sin6_port);
    }
    chunk16(&o, 7, sport);
    chunk16(&o, 8, dport);
    chunk32(&o, 9, (uint32_t)(p->ts_us / 1000000u));
    chunk32(&o, 10, (uint32_t)(p->ts_us % 1000000u));
    chunk8(&o, 11, p->proto_type);
    chunk32(&o, 12, p->capture_id);
    if (p->correlation.n)
        chunk_bytes(&o, 17, p->correlation.p, p->correlation.n);
    size_t total = 0;
    for (int i = 0; i < 3; i++)
        total += p->payload[i].n;
    chunk(&o, 15, total);
    for (int i = 0; i < 3; i++)
        put(&o, p->payload[i].p, p->payload[i].n);
    if (o.full || o.n > UINT16_MAX)
        return -ENOSPC;
    buf[4] = (uint8_t)(o.n >> 8);
    buf[5] = (uint8_t)o.n;
    return (int)o.n;
}
