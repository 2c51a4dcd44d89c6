#!/usr/bin/env bash
# perf/chunk_cost.sh: instructions msrpgw spends per forwarded chunk, counted
# by valgrind's callgrind (user-space instructions of the gateway process;
# stable from run to run, unlike wall or CPU time on a shared machine).
#
#   perf/chunk_cost.sh [--build DIR] [--sizes "2048 8192 65536"] [--sessions "1 10"]
#                      [--scale X] [--strace]
#
# For each chunk size C and session count N, msrpgw (threads = 1, under
# callgrind) relays msrpload's traffic in relay mode with Digest, window 8
# (the W2 arrangement of perf/run.sh): every session sends one message of
# K chunks of C bytes, and each chunk is a SEND forwarded to the receiver
# plus its 200 relayed back. Two runs per cell, with K1 and K2 = 2 x K1
# chunks per session; start-up, AUTH and shutdown are the same in both, so
#
#     Ir per chunk = (Ir(K2) - Ir(K1)) / (N x (K2 - K1))
#
# Kernel work (copies, io_uring_enter, getrandom) is not in these counts;
# --strace runs each cell twice more under strace -c -f and adds the
# io_uring_enter and getrandom calls per chunk (same differencing).
#
# Output: one line per cell, and perf/results/chunk_cost-<UTC>.txt. Takes
# about 2 minutes with the defaults. Only loopback, ephemeral ports.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
BUILD=${MSRP_BUILD:-$src/build}
SIZES="2048 8192 65536"
SESSIONS="1 10"
SCALE=1
STRACE=0
while [ $# -gt 0 ]; do
    case "$1" in
    --build) BUILD=$2; shift ;;
    --sizes) SIZES=$2; shift ;;
    --sessions) SESSIONS=$2; shift ;;
    --scale) SCALE=$2; shift ;;
    --strace) STRACE=1 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "chunk_cost.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
GW=$BUILD/gateway/msrpgw
LOAD=$BUILD/tools/msrpload
for b in "$GW" "$LOAD"; do
    [ -x "$b" ] || { echo "chunk_cost.sh: missing $b" >&2; exit 2; }
done
command -v valgrind >/dev/null || { echo "chunk_cost.sh: valgrind not installed" >&2; exit 2; }

work=$(mktemp -d /tmp/chunk_cost.XXXXXX)
GW_PID=""
cleanup() {
    [ -n "$GW_PID" ] && kill -KILL "$GW_PID" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$work/msrpgw.ini" <<EOF
[gateway]
threads = 1
listen = 127.0.0.1:0
destinations_allow = 127.0.0.0/8
user = load:load
[log]
level = warn
EOF

# Chunks per session in the first run: about 4 MiB
# of body per cell in total, at least 64 chunks per session.
k1_of() { # CHUNK SESSIONS
    local k
    k=$(python3 -c 'import sys
c, n, s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
budget = 4 << 20
print(max(64, int(budget * s / c / n)))' "$1" "$2" "$SCALE")
    echo "$k"
}

wait_ports() {
    local i
    for i in $(seq 600); do
        [ -s "$work/ports" ] && return 0
        kill -0 "$GW_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# one WRAPPER CHUNK SESSIONS K OUT: runs msrpgw under WRAPPER (callgrind or
# strace) and msrpload against it; OUT gets the wrapper's output file.
one() {
    local wrap=$1 chunk=$2 n=$3 k=$4 outf=$5
    rm -f "$work/ports"
    case "$wrap" in
    callgrind)
        valgrind --tool=callgrind --callgrind-out-file="$outf" --dump-instr=no \
            "$GW" -c "$work/msrpgw.ini" --port-file "$work/ports" >"$work/gw.log" 2>&1 & ;;
    strace)
        strace -f -c -o "$outf" "$GW" -c "$work/msrpgw.ini" --port-file "$work/ports" \
            >"$work/gw.log" 2>&1 & ;;
    esac
    GW_PID=$!
    wait_ports || { echo "msrpgw did not start: $(tail -3 "$work/gw.log")" >&2; return 1; }
    local port
    port=$(awk '$1=="tcp"{print $2}' "$work/ports")
    timeout -k 5 120 "$LOAD" --relay "127.0.0.1:$port" --user load --password load \
        --sessions "$n" --messages 1 --message-size $((chunk * k)) --chunk-size "$chunk" \
        --window 8 --response-timeout 60 --setup-timeout 60 >"$work/load.out" 2>&1
    local rc=$? kpid=$GW_PID
    # strace -c writes its table when msrpgw exits: signal msrpgw itself.
    [ "$wrap" = strace ] && kpid=$(pgrep -P "$GW_PID" | head -1)
    kill -TERM "${kpid:-$GW_PID}" 2>/dev/null
    wait "$GW_PID" 2>/dev/null
    GW_PID=""
    [ $rc -eq 0 ] || { echo "msrpload failed ($rc): $(tail -3 "$work/load.out")" >&2; return 1; }
}

ir_of() { # callgrind out file -> total Ir
    awk '/^(summary|totals):/{print $2; exit}' "$1"
}

syscalls_of() { # strace -c file, NAME -> calls
    awk -v s="$2" '$NF==s{print ($4 ~ /^[0-9]+$/) ? $4 : $5}' "$1" | head -1
}

mkdir -p "$here/results"
report=$here/results/chunk_cost-$(date -u +%Y%m%dT%H%M%SZ).txt
{
    echo "# msrpgw Ir per chunk ($(git -C "$src" rev-parse --short HEAD 2>/dev/null)$(git -C "$src" diff --quiet 2>/dev/null || echo '+dirty'), $BUILD)"
    printf '%-7s %4s %6s %14s %14s %10s\n' chunk N chunks Ir_K1 Ir_K2 Ir/chunk
} | tee "$report"
t0=$(date +%s)
for c in $SIZES; do
    for n in $SESSIONS; do
        k1=$(k1_of "$c" "$n")
        k2=$((2 * k1))
        one callgrind "$c" "$n" "$k1" "$work/cg1" || exit 1
        one callgrind "$c" "$n" "$k2" "$work/cg2" || exit 1
        i1=$(ir_of "$work/cg1")
        i2=$(ir_of "$work/cg2")
        per=$(( (i2 - i1) / (n * (k2 - k1)) ))
        line=$(printf '%-7s %4s %6s %14s %14s %10s' "$c" "$n" $((n * (k2 - k1))) "$i1" "$i2" "$per")
        if [ $STRACE = 1 ]; then
            one strace "$c" "$n" "$k1" "$work/st1" || exit 1
            one strace "$c" "$n" "$k2" "$work/st2" || exit 1
            for sc in io_uring_enter getrandom; do
                a=$(syscalls_of "$work/st1" $sc); b=$(syscalls_of "$work/st2" $sc)
                line+=$(python3 -c 'import sys
a, b, d = int(sys.argv[2] or 0), int(sys.argv[3] or 0), int(sys.argv[4])
print("  %s/chunk %.3f" % (sys.argv[1], (b - a) / d))' "$sc" "${a:-0}" "${b:-0}" $((n * (k2 - k1))))
            done
        fi
        echo "$line" | tee -a "$report"
    done
done
echo "# $(( $(date +%s) - t0 )) s" | tee -a "$report"
