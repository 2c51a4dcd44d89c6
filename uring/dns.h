/*
 * dns.h: host names resolved on the loop, never blocking it.
 *
 * One c-ares channel per loop, created at the first look-up: its sockets
 * are watched with io_uring poll requests and its retransmission timers
 * run on the loop's timers, so a look-up costs the loop nothing while it
 * waits. Results are cached per loop for their TTL (A/AAAA) or 30 s (SRV);
 * concurrent look-ups of the same name share one query. Every look-up ends
 * within the configured timeout, whatever the servers do.
 *
 * Addresses come in a simple happy-eyeballs order (RFC 8305): IPv6 first,
 * then alternating families, so a caller that tries them in order with a
 * short per-attempt bound falls back to IPv4 quickly.
 */
#ifndef UR_DNS_H
#define UR_DNS_H

#include <stdint.h>
#include <sys/socket.h>

struct ur_loop;
struct ur_dns_entry;

#define UR_DNS_MAX_ADDRS 8
#define UR_DNS_MAX_SRV 16
#define UR_DNS_NAME_MAX 253

struct ur_dns_addrs {
    unsigned n;
    struct sockaddr_storage a[UR_DNS_MAX_ADDRS]; /* port 0 */
    socklen_t len[UR_DNS_MAX_ADDRS];
};

struct ur_dns_srv_target {
    char host[UR_DNS_NAME_MAX + 1];
    uint16_t port, priority, weight;
};

/* In the order to try them: priority ascending, weighted random within a
 * priority (RFC 2782). */
struct ur_dns_srv {
    unsigned n;
    struct ur_dns_srv_target t[UR_DNS_MAX_SRV];
};

/* err: 0, UR_DNS_E_NONAME, UR_DNS_E_TIMEOUT, UR_DNS_E_FAIL or -ENOMEM.
 * The result is valid during the call. */
typedef void (*ur_dns_addr_fn)(void *arg, int err, const struct ur_dns_addrs *res);
typedef void (*ur_dns_srv_fn)(void *arg, int err, const struct ur_dns_srv *res);

/* Look-up failures, as errnos that connecting never yields, so that a
 * connection's on_open error tells a failed look-up from a failed connect:
 * the name does not exist (or has no record of the type asked); no answer
 * within the timeout; server failure, refusal or a malformed answer. */
#define UR_DNS_E_NONAME (-ENXIO)
#define UR_DNS_E_TIMEOUT (-ETIME)
#define UR_DNS_E_FAIL (-EREMOTEIO)

/* A pending look-up's registration, embedded in the caller's object;
 * private to dns.c. */
struct ur_dns_wait {
    struct ur_dns_wait *next, *prev;
    struct ur_dns_wait **head;  /* the list it is on; NULL = none */
    struct ur_dns_entry *e;
    ur_dns_addr_fn afn;
    ur_dns_srv_fn sfn;
    void *arg;
};

/*
 * Process-wide settings, before any loop looks a name up (later calls
 * apply to channels created afterwards). servers: "host:port,host:port"
 * (IPv6 as [addr]:port), NULL or "" = the system's resolv.conf.
 * timeout_ms: bound of one look-up, 0 = 5000. 0 or -EINVAL (bad list).
 */
int ur_dns_configure(const char *servers, unsigned timeout_ms);

/*
 * Looks up name's A and AAAA records; fn runs once, later, on the loop
 * (also for cached answers), unless ur_dns_cancel() comes first. w must
 * stay valid until then. 0, -EINVAL (bad name) or -ENOMEM (fn not called).
 */
int ur_dns_resolve(struct ur_loop *loop, const char *name, struct ur_dns_wait *w,
                   ur_dns_addr_fn fn, void *arg);

/* The same for SRV records (name = "_service._proto.domain"). */
int ur_dns_resolve_srv(struct ur_loop *loop, const char *name, struct ur_dns_wait *w,
                       ur_dns_srv_fn fn, void *arg);

/* Forgets a pending registration: its callback will not run. */
void ur_dns_cancel(struct ur_dns_wait *w);

/* "no such name", "timed out", "resolver failure" for the UR_DNS_E_*
 * codes, NULL for any other err. */
const char *ur_dns_strerror(int err);

/* Frees the loop's resolver (ur_loop_free calls it); callbacks do not run. */
void ur_dns_free(struct ur_loop *loop);

#endif
