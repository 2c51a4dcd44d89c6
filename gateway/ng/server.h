/*
 * server.h: the SBC control socket -- rtpengine's "ng" protocol, so an SBC
 * that drives rtpengine (Kamailio's and OpenSIPS's rtpengine modules) can
 * drive msrpgw unchanged.
 *
 * A request is "COOKIE SP BENCODED-DICT" (a UDP datagram, or back to back
 * on a unix stream socket); the reply is "COOKIE SP BENCODED-DICT" with the
 * same cookie, and a request repeated with a cookie already answered gets
 * the same reply again (retransmissions), without running twice.
 *
 * One control thread owns the sockets (control plane: no event loop
 * needed, nothing on the data path waits for it). It answers ping itself;
 * offer/answer/delete/query run on the core that owns the call's anchors
 * (gw_anchor_core), list and statistics on every core, and their replies
 * come back to the control thread through a locked queue.
 */
#ifndef GW_NG_SERVER_H
#define GW_NG_SERVER_H

#include <stdbool.h>
#include <stdint.h>

struct gw_relay;
struct ur_runtime;
struct gw_ng_server;

struct gw_metrics_hub;

struct gw_ng_config {
    const char *udp_host;       /* NULL = no UDP socket */
    uint16_t udp_port;          /* 0 = ephemeral (see gw_ng_server_port) */
    const char *unix_path;      /* NULL = no unix stream socket */
    uint64_t max_size;          /* a=max-size clamp of rewritten SDP; 0 = none */
    /* The admin commands (see below): from UDP peers off loopback too;
     * the metrics for stats (NULL: stats answers an error); the effective
     * configuration as gw_config_dump prints it (secrets masked; NULL:
     * config answers an error), copied at start. */
    bool admin_remote;
    struct gw_metrics_hub *hub;
    const char *config_text;
};

/*
 * Admin commands (operators' msrpgw-ctl), answered on the unix socket and
 * to UDP peers on loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104), or to
 * any UDP peer with admin_remote; others get "admin commands not allowed
 * from this address":
 *   sessions        every core's reservations and anchors (post to each
 *                   core, replies gathered): list of dicts, "omitted" when
 *                   the reply would outgrow a datagram (UDP) or 512 KiB
 *   kill   id       on the session's owner core (gw_relay_kill)
 *   drain           gw_relay_drain: listeners closed, sessions go on
 *   reload          SIGHUP to the process: what SIGHUP does
 *   config          the configuration text as a dict of sections
 *   stats           {"json": the metrics as gw_metrics_render_json}
 */
bool gw_ng_admin_allowed(const void *sockaddr, unsigned len, bool remote_ok);

/* Opens the sockets and starts the control thread. 0 or -errno. */
int gw_ng_server_start(struct gw_ng_server **out, const struct gw_ng_config *cfg,
                       struct gw_relay *r, struct ur_runtime *rt);
uint16_t gw_ng_server_port(const struct gw_ng_server *s);
/* Stops the thread and closes the sockets (before the runtime stops). */
void gw_ng_server_stop(struct gw_ng_server *s);

/* Runs one request (cookie excluded) on the calling core and writes the
 * bencoded reply; the ng commands' one entry point (commands.c), exposed
 * for tests. Returns the reply length or -ENOSPC. */
struct gw_relay_core;
int gw_ng_command(struct gw_relay *r, struct gw_relay_core *core, uint64_t max_size,
                  const char *req, size_t n, char *reply, size_t cap);

#endif
