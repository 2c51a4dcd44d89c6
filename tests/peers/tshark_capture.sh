#!/usr/bin/env bash
# tshark_capture.sh: capture TCP traffic on given ports to a pcap file.
#
#   tshark_capture.sh start IFACE PORTS OUTFILE
#       PORTS is a comma- or space-separated list, e.g. "5060,2855".
#       Starts `tshark -i IFACE -f "tcp port A or tcp port B" -w OUTFILE`
#       in its own process group and returns only once the capture is
#       really running (tshark said "Capturing on" and the file has its
#       pcapng header), at most 10 s; otherwise kills it and fails.
#       Bookkeeping: OUTFILE.pid (tshark's pid = its process group),
#       OUTFILE.log (tshark's stderr).
#   tshark_capture.sh stop OUTFILE
#       Waits a moment for in-flight packets, sends SIGINT (so tshark and
#       its dumpcap flush and close the file properly), waits at most 10 s,
#       then SIGKILLs the group.  Prints tshark's packet count line and,
#       if the kernel dropped packets, the drop count (the stream check in
#       msrp_pcap.py tolerates a few holes; see there).
#
# Capturing needs root or CAP_NET_RAW (CI runs as root).
set -uo pipefail

usage() {
    echo "usage: $0 start IFACE PORTS OUTFILE | stop OUTFILE" >&2
    exit 2
}

# The group may not exist for a moment after the fork (setsid has not run
# yet), so "still starting" is judged on the process, "gone" on the group.
proc_alive() { kill -0 "$1" 2>/dev/null; }
alive() { kill -0 -- "-$1" 2>/dev/null || kill -0 "$1" 2>/dev/null; }

start() {
    local iface=$1 ports=$2 out=$3 filter="" p pid i
    for p in ${ports//,/ }; do
        case "$p" in ''|*[!0-9]*) echo "tshark_capture.sh: bad port '$p'" >&2; exit 2 ;; esac
        filter="${filter:+$filter or }tcp port $p"
    done
    [ -n "$filter" ] || usage
    command -v tshark >/dev/null || { echo "tshark_capture.sh: tshark not installed" >&2; exit 1; }
    if [ -f "$out.pid" ] && alive "$(cat "$out.pid")"; then
        echo "tshark_capture.sh: a capture into $out is already running" >&2
        exit 1
    fi
    rm -f "$out" "$out.log"
    # -n: no name resolution; -q: no per-packet output.  Loopback frames
    # can be up to 64 KiB, so no snap length limit (tshark's default).
    # -B 256: a 256 MiB kernel capture buffer, so a capture starved of CPU
    # (tests run in parallel on 2 cores) does not drop loopback packets.
    setsid tshark -n -q -B 256 -i "$iface" -f "$filter" -w "$out" \
        </dev/null >/dev/null 2>"$out.log" &
    pid=$!
    echo "$pid" >"$out.pid"
    for i in $(seq 100); do
        if ! proc_alive "$pid"; then
            echo "tshark_capture.sh: tshark exited:" >&2
            cat "$out.log" >&2
            rm -f "$out.pid"
            exit 1
        fi
        if grep -q "Capturing on" "$out.log" 2>/dev/null &&
           [ "$(stat -c %s "$out" 2>/dev/null || echo 0)" -ge 28 ]; then
            exit 0
        fi
        sleep 0.1
    done
    echo "tshark_capture.sh: capture did not start within 10 s:" >&2
    cat "$out.log" >&2
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    rm -f "$out.pid"
    exit 1
}

stop() {
    local out=$1 pid i
    [ -f "$out.pid" ] || { echo "tshark_capture.sh: no capture running for $out" >&2; exit 1; }
    pid=$(cat "$out.pid")
    case "$pid" in ''|*[!0-9]*) echo "tshark_capture.sh: bad pid file" >&2; exit 1 ;; esac
    # Packets sent just before stop may still be on their way to dumpcap.
    sleep 0.5
    kill -INT "$pid" 2>/dev/null
    for i in $(seq 100); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        echo "tshark_capture.sh: tshark ignored SIGINT for 10 s; killing (pcap may be truncated)" >&2
        kill -KILL -- "-$pid" 2>/dev/null
        rm -f "$out.pid"
        exit 1
    fi
    rm -f "$out.pid"
    grep -iE "packets? (captured|dropped)" "$out.log" >&2 || true
}

case "${1:-}" in
start) [ $# -eq 4 ] || usage; start "$2" "$3" "$4" ;;
stop) [ $# -eq 2 ] || usage; stop "$2" ;;
*) usage ;;
esac
