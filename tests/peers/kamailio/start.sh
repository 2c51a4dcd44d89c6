#!/usr/bin/env bash
# start.sh: run Kamailio's msrp module as an MSRP relay on 127.0.0.1.
#
#   start.sh [--debug] WORKDIR    start; prints "PORT PID" on stdout
#   start.sh --stop WORKDIR       stop (same as stop.sh WORKDIR)
#
# Picks a free ephemeral TCP port on 127.0.0.1, checks the config with
# `kamailio -c` (printing its errors on failure), starts Kamailio in the
# foreground mode (-DD -E) in its own session/process group, with its pid
# file (-P) and runtime dir (-Y) inside WORKDIR and its log in
# WORKDIR/kamailio.log, then waits (at most 10 s) until the port accepts a
# TCP connection.  On any failure it kills what it started, prints the log
# tail to stderr and exits non-zero: no stray process is left behind.
# Runs as root without switching user (no -u/-g).  --debug (or
# KAMAILIO_DEBUG=1) defines MSRP_DEBUG so every MSRP frame is logged.
#
# Files in WORKDIR: kamailio.pid (written by Kamailio), kamailio.pgid
# (process group to kill), kamailio.port, kamailio.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cfg="$here/msrp-relay.cfg"
KAMAILIO=${KAMAILIO:-kamailio}
. "$here/launch.sh"
kamailio_prepare 1 1 "[--debug] WORKDIR | --stop WORKDIR" "$@"

defs=()
[ "$debug" = 1 ] && defs+=(-A MSRP_DEBUG)

# Ask the kernel for a free port; a race with another binder is possible
# but short, and a failed start is retried on a fresh port.
free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Accepting a TCP connection is what "ready" means for a relay.
port_open() {
    python3 -c 'import socket, sys
s = socket.socket(); s.settimeout(0.5)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
s.close()' "$1"
}

kamailio_launch MSRP_PORT free_port port_open 100 0.1
