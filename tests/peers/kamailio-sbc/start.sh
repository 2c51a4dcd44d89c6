#!/usr/bin/env bash
# start.sh: run Kamailio with sbc.cfg (an SBC whose rtpengine module drives
# msrpgw's ng socket(s)) on 127.0.0.1.
#
#   start.sh [--debug] WORKDIR NG_SOCKS [NAME=VALUE...]
#                                 start; prints "PORT PID" on stdout
#   start.sh --stop WORKDIR       stop (tests/peers/kamailio/stop.sh WORKDIR)
#
# NG_SOCKS is the rtpengine_sock value, e.g. "udp:127.0.0.1:40000" or
# "udp:127.0.0.1:40000=1 udp:127.0.0.1:40001=1"; NAME=VALUE pairs are more
# defines for sbc.cfg (NG_TOUT_MS, NG_RETR, NG_DISABLE).
#
# Picks a free ephemeral UDP port on 127.0.0.1, checks the config with
# `kamailio -c` (printing its errors on failure), starts Kamailio in the
# foreground mode (-DD -E) in its own session/process group, pid file (-P)
# and runtime dir (-Y) inside WORKDIR, log in WORKDIR/kamailio.log, then
# waits (at most 10 s) until it answers a SIP OPTIONS with 200 (sbc.cfg
# answers OPTIONS addressed to itself).  On failure it kills what it
# started, prints the log tail to stderr and exits non-zero.  Runs as root
# without switching user.  --debug (or KAMAILIO_DEBUG=1) defines SBC_DEBUG.
#
# Files in WORKDIR: kamailio.pid, kamailio.pgid (process group to kill),
# kamailio.port, kamailio.log -- the names tests/peers/kamailio/stop.sh
# expects.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cfg="$here/sbc.cfg"
KAMAILIO=${KAMAILIO:-kamailio}
. "$here/../kamailio/launch.sh"
kamailio_prepare 2 "" "[--debug] WORKDIR NG_SOCKS [NAME=VALUE...] | --stop WORKDIR" "$@"

defs=(-A "NG_SOCKS=\"${args[0]}\"")
for kv in "${args[@]:1}"; do
    defs+=(-A "$kv")
done
[ "$debug" = 1 ] && defs+=(-A SBC_DEBUG)

free_port() {
    python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Ready = answers an OPTIONS (one try, 0.3 s).
sip_ready() {
    python3 -c 'import socket, sys
p = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.settimeout(0.3)
me = s.getsockname()[1]
m = ("OPTIONS sip:ping@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKready%d\r\n"
     "Max-Forwards: 70\r\nFrom: <sip:start@127.0.0.1>;tag=r\r\nTo: <sip:ping@127.0.0.1>\r\n"
     "Call-ID: ready-%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" % (p, me, me, me))
s.sendto(m.encode(), ("127.0.0.1", p))
try:
    d = s.recv(65535)
except OSError:
    sys.exit(1)
sys.exit(0 if d.startswith(b"SIP/2.0 200") else 1)' "$1"
}

kamailio_launch SIP_PORT free_port sip_ready 30 0.05
