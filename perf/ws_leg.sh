#!/usr/bin/env bash
# perf/ws_leg.sh: what msrpgw spends on a WebSocket leg (RFC 7977) compared
# with a TCP leg, everything else equal (issue 14: goal >= 0.8x the TCP leg
# per gateway CPU-second).
#
#   perf/ws_leg.sh [--build DIR] [--size BYTES] [--chunk BYTES] [--reps N]
#
# One msrpgw (threads = 1) with a TCP and a WebSocket listener; a receiver
# (msrpcat recv) AUTHed over TCP; a sender (perf/bench_ws_leg) that sends
# one message of --size bytes in --chunk SENDs to the receiver's path over
# either leg (ws: the Upgrade, then one masked binary message per SEND;
# the relay answers with one message per frame). Per run: wall goodput and
# the gateway's CPU time (utime + stime of the msrpgw process from
# /proc, before and after the transfer), so MB per gateway CPU-second.
# The legs alternate, --reps runs each; the medians and their ratio
# (ws / tcp) are printed and written to perf/results/ws_leg-<UTC>.txt.
# CPU time on a shared 2-core VM is noisy: compare the ratio of medians.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
BUILD=${MSRP_BUILD:-$src/build}
SIZE=$((256 << 20))
CHUNK=65536
REPS=3
while [ $# -gt 0 ]; do
    case "$1" in
    --build) BUILD=$2; shift ;;
    --size) SIZE=$2; shift ;;
    --chunk) CHUNK=$2; shift ;;
    --reps) REPS=$2; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "ws_leg.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
GW=$BUILD/gateway/msrpgw
CAT=$BUILD/tools/msrpcat
SEND=$BUILD/perf/bench_ws_leg
for b in "$GW" "$CAT" "$SEND"; do
    [ -x "$b" ] || { echo "ws_leg.sh: missing $b" >&2; exit 2; }
done

work=$(mktemp -d /tmp/ws_leg.XXXXXX)
GW_PID=""
cleanup() {
    if [ -n "$GW_PID" ]; then
        kill -TERM "$GW_PID" 2>/dev/null
        wait "$GW_PID" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$work/msrpgw.ini" <<EOF
[gateway]
threads = 1
listen = 127.0.0.1:0
ws_listen = 127.0.0.1:0
user = bob:pw
[log]
level = warn
EOF
"$GW" -c "$work/msrpgw.ini" --port-file "$work/ports" >"$work/gw.log" 2>&1 &
GW_PID=$!
for _ in $(seq 200); do
    [ -s "$work/ports" ] && grep -q '^ws ' "$work/ports" && break
    kill -0 "$GW_PID" 2>/dev/null || break
    sleep 0.05
done
TCP=$(awk '$1=="tcp"{print $2}' "$work/ports")
WS=$(awk '$1=="ws"{print $2}' "$work/ports")
[ -n "$TCP" ] && [ -n "$WS" ] || { echo "ws_leg.sh: msrpgw did not start: $(tail -3 "$work/gw.log")" >&2; exit 1; }

ticks() { awk '{print $14 + $15}' "/proc/$GW_PID/stat"; }
HZ=$(getconf CLK_TCK)

# one MODE: prints "MB/s MB_per_cpu_s"
one() {
    local mode=$1 port=$TCP
    [ "$mode" = ws ] && port=$WS
    rm -f "$work/path"
    timeout 120 "$CAT" recv --relay "127.0.0.1:$TCP" --user bob --password pw \
        --out /dev/null --path-file "$work/path" --max-size "$SIZE" >"$work/recv.log" 2>&1 &
    local rp=$!
    for _ in $(seq 200); do [ -s "$work/path" ] && break; sleep 0.05; done
    [ -s "$work/path" ] || { echo "ws_leg.sh: receiver not ready: $(cat "$work/recv.log")" >&2; return 1; }
    local t0 t1
    t0=$(ticks)
    timeout 120 "$SEND" --mode "$mode" --connect "127.0.0.1:$port" --to-path "$(cat "$work/path")" \
        --size "$SIZE" --chunk "$CHUNK" --window 8 >"$work/send.json" 2>"$work/send.err" ||
        { echo "ws_leg.sh: $mode sender failed: $(cat "$work/send.err")" >&2; return 1; }
    wait "$rp" || { echo "ws_leg.sh: receiver failed: $(cat "$work/recv.log")" >&2; return 1; }
    t1=$(ticks)
    python3 - "$work/send.json" "$t0" "$t1" "$HZ" <<'EOF'
import json, sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
cpu = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4])
mb = j["bytes"] / 1e6
print("%.1f %.1f" % (mb / j["seconds"], mb / cpu if cpu > 0 else float("inf")))
EOF
}

mkdir -p "$here/results"
report=$here/results/ws_leg-$(date -u +%Y%m%dT%H%M%SZ).txt
: >"$work/tcp"
: >"$work/ws"
for r in $(seq "$REPS"); do
    for mode in tcp ws; do
        line=$(one "$mode") || exit 1
        echo "$line" >>"$work/$mode"
        echo "rep $r $mode: $line (MB/s, MB per gateway CPU-s)"
    done
done
python3 - "$work/tcp" "$work/ws" "$SIZE" "$CHUNK" "$(uptime | sed 's/.*load average: //')" <<'EOF' | tee "$report"
import statistics, sys
def cols(p):
    rows = [list(map(float, l.split())) for l in open(p) if l.strip()]
    return [statistics.median(c) for c in zip(*rows)]
t, w = cols(sys.argv[1]), cols(sys.argv[2])
print("# ws_leg: %s bytes in %s-byte chunks, medians of the runs (load %s)" % (sys.argv[3], sys.argv[4], sys.argv[5]))
print("%-6s %10s %16s" % ("leg", "MB/s", "MB/gw-CPU-s"))
print("%-6s %10.1f %16.1f" % ("tcp", t[0], t[1]))
print("%-6s %10.1f %16.1f" % ("ws", w[0], w[1]))
print("ratio ws/tcp: goodput %.2f, per gateway CPU-s %.2f (goal >= 0.80)" % (w[0] / t[0], w[1] / t[1]))
EOF
