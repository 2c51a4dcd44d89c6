#!/usr/bin/env bash
# perf/load_cost.sh: msrpload's own cost per chunk -- the load generator's
# ceiling, which must stay well above what it measures (issue 12).
#
#   perf/load_cost.sh [--build DIR] [--wall SECONDS]
#
# msrpload runs direct through perf/bench_rawproxy (splice(2): next to no
# work on the far side), window 8, 10 sessions, in three shapes: W2's (1 KiB
# messages of one chunk) and W7's 2 KiB and 64 KiB chunks of 1 MiB messages.
# Each shape runs twice under valgrind's callgrind with M1 and 2 x M1
# messages per session; set-up and shutdown are the same in both, so
#
#     Ir per chunk = (Ir(M2) - Ir(M1)) / (chunks(M2) - chunks(M1))
#
# counts msrpload's user-space instructions per chunk sent and received
# (the sender's SEND and its 200, the receiver's SEND and its 200), stable
# from run to run. Kernel work is not in it. With --wall S, each shape also
# runs S seconds natively and reports chunks per msrpload CPU-second (user +
# system, from msrpload's own report): noisy on a shared machine.
#
# Output: one line per shape, also to perf/results/load_cost-<UTC>.txt.
# About a minute. Only loopback, ephemeral ports.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
BUILD=${MSRP_BUILD:-$src/build}
WALL=0
while [ $# -gt 0 ]; do
    case "$1" in
    --build) BUILD=$2; shift ;;
    --wall) WALL=$2; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "load_cost.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
LOAD=$BUILD/tools/msrpload
RAWPROXY=$BUILD/perf/bench_rawproxy
for b in "$LOAD" "$RAWPROXY"; do
    [ -x "$b" ] || { echo "load_cost.sh: missing $b" >&2; exit 2; }
done
command -v valgrind >/dev/null || { echo "load_cost.sh: valgrind not installed" >&2; exit 2; }

work=$(mktemp -d /tmp/load_cost.XXXXXX)
RP_PID=""
cleanup() {
    [ -n "$RP_PID" ] && kill "$RP_PID" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two free loopback ports: msrpload's listener and the forwarder's.
read -r LISTEN VIA < <(python3 - <<'EOF'
import random, socket
for _ in range(200):
    b = random.randint(20000, 40000)
    socks = []
    try:
        for p in (b, b + 1):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(b, b + 1); break
EOF
)
[ -n "${VIA:-}" ] || { echo "load_cost.sh: no free ports" >&2; exit 2; }
"$RAWPROXY" "127.0.0.1:$VIA" "127.0.0.1:$LISTEN" "$work/rp.port" >/dev/null 2>"$work/rp.log" &
RP_PID=$!
for _ in $(seq 100); do [ -s "$work/rp.port" ] && break; sleep 0.05; done
[ -s "$work/rp.port" ] || { echo "load_cost.sh: bench_rawproxy did not start" >&2; exit 2; }

# load PREFIX-COMMAND... -- MSRPLOAD-ARGS: one msrpload run through the forwarder.
load() {
    local pre=()
    while [ "$1" != -- ]; do pre+=("$1"); shift; done
    shift
    timeout -k 5 300 "${pre[@]}" "$LOAD" --via "127.0.0.1:$VIA" --listen-port "$LISTEN" \
        --sessions 10 --window 8 "$@" >"$work/load.out" 2>"$work/load.err" ||
        { echo "load_cost.sh: msrpload failed: $(tail -3 "$work/load.err")" >&2; exit 1; }
}

ir_of() { awk '/^(summary|totals):/{print $2; exit}' "$1"; }

mkdir -p "$here/results"
report=$here/results/load_cost-$(date -u +%Y%m%dT%H%M%SZ).txt
{
    echo "# msrpload Ir per chunk ($(git -C "$src" rev-parse --short HEAD 2>/dev/null)$(git -C "$src" diff --quiet 2>/dev/null || echo '+dirty'), $BUILD)"
    printf '%-4s %7s %8s %7s %10s %s\n' shape chunk message chunks Ir/chunk "chunks/CPU-s"
} | tee "$report"
# shape CHUNK MESSAGE M1
shape() {
    local name=$1 c=$2 msg=$3 m1=$4 m2=$(($4 * 2))
    local per_msg=$(( (msg + c - 1) / c ))
    load valgrind --tool=callgrind --callgrind-out-file="$work/cg1" -- \
        --chunk-size "$c" --message-size "$msg" --messages "$m1"
    load valgrind --tool=callgrind --callgrind-out-file="$work/cg2" -- \
        --chunk-size "$c" --message-size "$msg" --messages "$m2"
    local chunks=$(( 10 * (m2 - m1) * per_msg ))
    local ir=$(( ($(ir_of "$work/cg2") - $(ir_of "$work/cg1")) / chunks ))
    local wall="-"
    if [ "$WALL" != 0 ]; then
        load -- --chunk-size "$c" --message-size "$msg" --duration "$WALL" --json
        wall=$(python3 -c 'import json,sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
cpu = j.get("self", {}).get("cpu_s")
n = j.get("chunks_acked")
print("%.0f" % (n / cpu) if cpu and n else "?")' "$work/load.out" 2>/dev/null || echo "?")
    fi
    printf '%-4s %7s %8s %7s %10s %s\n' "$name" "$c" "$msg" "$chunks" "$ir" "$wall" | tee -a "$report"
}
shape W2 1024 1024 300
shape W7 2048 1048576 1
shape W7 65536 1048576 1
