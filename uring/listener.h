/*
 * listener.h: a listening TCP socket per loop with SO_REUSEPORT, so every
 * core binds the same address and the kernel spreads incoming connections
 * between them. Accepts are multishot (one SQE for every connection;
 * re-armed when the kernel ends the multishot).
 */
#ifndef UR_LISTENER_H
#define UR_LISTENER_H

#include <stdint.h>

struct ur_loop;
struct ur_listener;

/*
 * Called on the loop thread for each accepted socket (non-blocking,
 * CLOEXEC, TCP_NODELAY set). The callback owns fd: wrap it with
 * ur_conn_adopt(), post it to another core, or close it. A negative fd is
 * a persistent accept error (-errno, e.g. -EMFILE) -- the listener keeps
 * going.
 */
typedef void (*ur_accept_fn)(struct ur_listener *l, int fd, void *ud);

/*
 * Listens on host:port ("127.0.0.1", "::1", "0.0.0.0", "::"; NULL = "::"
 * dual-stack). port 0 binds an ephemeral port: read it back with
 * ur_listener_port() and pass it to the other loops so they share it.
 * backlog 0 = SOMAXCONN. Returns 0 or -errno (-EINVAL for a bad host).
 */
int ur_listen(struct ur_loop *loop, struct ur_listener **out, const char *host,
              uint16_t port, int backlog, ur_accept_fn on_accept, void *ud);

/*
 * SO_REUSEPORT lets any process of the same user bind the same address
 * and port, and the kernel would then split connections between two
 * daemons. ur_listen_lock() claims host:port for this process: it binds
 * an abstract unix socket named "tag/tcp/ADDR/PORT" (ADDR normalised, so
 * "::ffff:127.0.0.1" and "127.0.0.1" differ but spellings of one address
 * do not), which only one process at a time can hold and which the kernel
 * releases when the process ends, however it ends. Returns the lock's fd
 * (keep it open, CLOEXEC) or -EADDRINUSE when another process holds it,
 * -EINVAL for a bad host, -errno. The same network namespace only, like
 * the ports; a wildcard and a specific address of one port are different
 * locks.
 */
int ur_listen_lock(const char *tag, const char *host, uint16_t port);

/* The bound port (host order). */
uint16_t ur_listener_port(const struct ur_listener *l);

/* The listening socket (for getsockname() and the like). */
int ur_listener_fd(const struct ur_listener *l);

/* Stops accepting and frees the listener once its accept op completed;
 * on_accept is not called after this returns. */
void ur_listener_close(struct ur_listener *l);

#endif
