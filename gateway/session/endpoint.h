/*
 * endpoint.h: how a session (session.h) gets its connection -- the
 * counterparts of python-msrplib's ConnectorDirect / AcceptorDirect /
 * ConnectorRelay / AcceptorRelay and its shared-port server:
 *
 *   gw_server_new()        one listening socket (plain or TLS) shared by
 *                          many sessions; each incoming connection is bound
 *                          to the session whose local URI its first chunk's
 *                          To-Path names (481 and close when none does;
 *                          closed after bind_timeout when it says nothing).
 *   gw_session_accept()    acceptor: a session with a fresh local URI on a
 *                          server ("prepare"); it is bound by the first
 *                          matching incoming chunk (its empty SEND is
 *                          answered 200), or fails with -ETIMEDOUT after
 *                          bind_timeout_ms.
 *   gw_session_connect()   connector: connects to the first URI of the
 *                          remote path (or AUTHs to our relay first and
 *                          prepends its Use-Path), sends an empty SEND
 *                          (no body, no Content-Type) and is bound by its
 *                          200, before any data (PEERS.md).
 *   gw_session_relay_accept()  receiver behind an RFC 4976 relay: AUTH
 *                          (Digest on 401), local path = Use-Path + local
 *                          URI, the AUTHed connection is kept and carries
 *                          the incoming chunks; AUTH is refreshed before
 *                          Expires runs out.
 *
 * Relay hosts and URI hosts to connect to are addresses or names; names
 * are resolved on the loop (uring/dns.h) and TLS checks the name.
 */
#ifndef GW_ENDPOINT_H
#define GW_ENDPOINT_H

#include <stdint.h>

#include "gateway/session/session.h"

struct ur_loop;
struct ur_tls_ctx;
struct gw_server;

struct gw_relay_settings {
    const char *host;        /* an address or a name (resolved on the loop) */
    uint16_t port;
    /* Instead of host/port: find the relay of this domain by SRV
     * (_msrps._tcp / _msrp._tcp, RFC 4976 section 6.2), falling back to
     * the domain's own addresses on port 2855. */
    const char *domain;
    struct ur_tls_ctx *tls;  /* NULL: plain TCP (msrp://) */
    const char *server_name; /* TLS SNI / certificate name; NULL = the host
                                dialled (the SRV target's with a domain) */
    const char *username;    /* NULL: no credentials (a 401 then fails) */
    const char *password;
};

/*
 * Listens on host:port (port 0 = ephemeral; read it with gw_server_port).
 * uri_host: the host written in local URIs (NULL = host). tls: server
 * context for msrps (NULL = msrp). 0 or -errno.
 */
int gw_server_new(struct ur_loop *loop, const char *host, uint16_t port, const char *uri_host,
                  struct ur_tls_ctx *tls, const struct msrp_limits *lim,
                  uint32_t bind_timeout_ms, struct gw_server **out);
uint16_t gw_server_port(const struct gw_server *sv);
/* Stops listening and closes connections not yet bound. Sessions already
 * created stay alive (unbound ones fail with -ECANCELED). */
void gw_server_free(struct gw_server *sv);

/* Acceptor (see above). remote_path: the peer's path from its SDP, or
 * NULL to learn it from the binding chunk's From-Path. */
int gw_session_accept(struct gw_server *sv, const struct gw_session_config *cfg,
                      const struct gw_session_ops *ops, void *ud, const char *remote_path,
                      struct gw_session **out);

/* Connector (see above). local_uri NULL: made from the socket's local
 * address once connected. tls: client context used when the first hop is
 * msrps (required then). relay NULL: direct. */
int gw_session_connect(struct ur_loop *loop, const struct gw_session_config *cfg,
                       const struct gw_session_ops *ops, void *ud, const char *local_uri,
                       const char *remote_path, struct ur_tls_ctx *tls,
                       const struct gw_relay_settings *relay, struct gw_session **out);

/* Receiver behind a relay (see above). local_uri NULL: generated. */
int gw_session_relay_accept(struct ur_loop *loop, const struct gw_session_config *cfg,
                            const struct gw_session_ops *ops, void *ud, const char *local_uri,
                            const struct gw_relay_settings *relay, struct gw_session **out);

#endif
