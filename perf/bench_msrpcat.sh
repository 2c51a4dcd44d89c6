#!/usr/bin/env bash
# bench_msrpcat.sh: goodput of a direct msrpcat transfer (MSRP over TCP on
# 127.0.0.1, file read through io_uring, written with pwrite) against a
# plain TCP copy of the same file with socat, in the same run.
#
#   perf/bench_msrpcat.sh [SIZE_MB (default 1024)] [RUNS (default 3)]
#   env: MSRP_BUILD (default ./build), MSRPCAT_ARGS (extra send options,
#        e.g. "--chunk-size 262144 --window 16")
#
# Both receivers write the file into the same temp directory (page cache);
# msrpcat runs with --no-verify (the SHA-256 passes are not transfer work;
# the integration tests cover verification). Time = from the sender's
# start until both sides exited. Prints MB/s (10^6 bytes/s) per run, the
# median of each, and msrpcat/socat.
set -eu
MB=${1:-1024}
RUNS=${2:-3}
B=${MSRP_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
CAT=$B/tools/msrpcat
command -v socat >/dev/null || { echo "socat not installed" >&2; exit 2; }
[ -x "$CAT" ] || { echo "no $CAT (set MSRP_BUILD)" >&2; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
head -c $((MB * 1048576)) /dev/urandom >"$T/src"
BYTES=$((MB * 1048576))
now() { date +%s.%N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rate() { echo "scale=1; $BYTES / ($2 - $1) / 1000000" | bc; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_msrpcat() {
    rm -f "$T/path" "$T/dst"
    "$CAT" recv --no-verify --out "$T/dst" --path-file "$T/path" >/dev/null 2>"$T/recv.err" &
    local rp=$!
    for _ in $(seq 100); do [ -s "$T/path" ] && break; sleep 0.02; done
    local t0; t0=$(now)
    # shellcheck disable=SC2086
    "$CAT" send "$T/src" --to-path "$(cat "$T/path")" --no-verify ${MSRPCAT_ARGS:-} \
        >/dev/null 2>"$T/send.err" || { cat "$T/send.err" >&2; exit 1; }
    wait "$rp" || { cat "$T/recv.err" >&2; exit 1; }
    local t1; t1=$(now)
    [ "$(stat -c %s "$T/dst")" = "$BYTES" ] || { echo "msrpcat: short file" >&2; exit 1; }
    rate "$t0" "$t1"
}

run_socat() { # [socat options]
    rm -f "$T/dst"
    local port; port=$(free_port)
    socat "$@" -u "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" "OPEN:$T/dst,creat,trunc,wronly" &
    local sp=$!
    for _ in $(seq 100); do ss -ltn "sport = :$port" | grep -q LISTEN && break; sleep 0.02; done
    local t0; t0=$(now)
    socat "$@" -u "FILE:$T/src" "TCP:127.0.0.1:$port"
    wait "$sp"
    local t1; t1=$(now)
    [ "$(stat -c %s "$T/dst")" = "$BYTES" ] || { echo "socat: short file" >&2; exit 1; }
    rate "$t0" "$t1"
}

# socat copies 8 KiB per read by default; "socat -b 65536" uses msrpcat's
# chunk size, the fairer baseline.
m=() s=() s64=()
for i in $(seq "$RUNS"); do
    m+=("$(run_msrpcat)")
    s+=("$(run_socat)")
    s64+=("$(run_socat -b 65536)")
    echo "run $i: msrpcat ${m[-1]} MB/s, socat ${s[-1]} MB/s, socat -b 65536 ${s64[-1]} MB/s"
done
mm=$(echo "${m[*]}" | median)
sm=$(echo "${s[*]}" | median)
s64m=$(echo "${s64[*]}" | median)
echo "file: $MB MiB, msrpcat args: ${MSRPCAT_ARGS:-(defaults: 64 KiB chunks, window 8)}"
echo "msrpcat          median: $mm MB/s"
echo "socat            median: $sm MB/s"
echo "socat -b 65536   median: $s64m MB/s"
echo "ratio msrpcat/socat: $(echo "scale=2; $mm / $sm" | bc)"
echo "ratio msrpcat/socat -b 65536: $(echo "scale=2; $mm / $s64m" | bc)"
