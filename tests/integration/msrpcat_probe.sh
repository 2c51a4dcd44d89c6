#!/usr/bin/env bash
# Cross-check with an independent implementation: tests/peers/msrp_probe.py
# (stdlib Python client) sends files to msrpcat recv on 127.0.0.1 --
# closed Byte-Ranges, open-ended "N-*/TOTAL" ranges, 1-byte and odd chunk
# sizes, Success-Report -- and the received file must hash the same.
set -u
B=${MSRP_BUILD:?MSRP_BUILD not set}
S=${MSRP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
CAT=$B/tools/msrpcat
PROBE=$S/tests/peers/msrp_probe.py
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
n=0

start_recv() {
    local name=$1; shift
    timeout 60 "$CAT" recv --path-file "$T/$name.path" "$@" >"$T/$name.rout" 2>"$T/$name.rerr" &
    RPID=$!
    PIDS+=("$RPID")
    for _ in $(seq 100); do [ -s "$T/$name.path" ] && break; sleep 0.05; done
    [ -s "$T/$name.path" ] || fail "$name: receiver printed no path"
    RPATH=$(cat "$T/$name.path")
}

# probe_case NAME SIZE PROBE-ARGS...
probe_case() {
    local name=$1 size=$2; shift 2
    head -c "$size" /dev/urandom >"$T/$name.src"
    local want; want=$(sha256sum "$T/$name.src" | cut -c1-64)
    start_recv "$name" --out "$T/$name.recv" --expect-sha256 "$want"
    timeout 60 python3 "$PROBE" send --to-path "$RPATH" "$@" --timeout 20 "$T/$name.src" \
        >"$T/$name.json" 2>"$T/$name.perr" || fail "$name: probe failed: $(cat "$T/$name.json" "$T/$name.perr")"
    grep -q '"ok": true' "$T/$name.json" || fail "$name: probe report: $(cat "$T/$name.json")"
    wait "$RPID" || fail "$name: msrpcat recv failed: $(cat "$T/$name.rerr")"
    grep -q "^sha256 $want " "$T/$name.rout" || fail "$name: SHA-256 differs"
    cmp -s "$T/$name.src" "$T/$name.recv" || fail "$name: file differs"
    n=$((n + 1))
    echo "ok: $name"
}

probe_case closed 300000 --chunk 2048 --window 8
probe_case open_range 300000 --chunk 4096 --open-range
probe_case one_byte 1 --chunk 2048
probe_case odd_chunks 100003 --chunk 977 --window 3
probe_case big_chunks 2000000 --chunk 65536
probe_case success_report 50000 --chunk 8192 --success-report --linger 0.5
# The Success REPORT reached the probe (counted as a request it received).
grep -q '"REPORT": 1' "$T/success_report.json" || fail "no Success REPORT: $(cat "$T/success_report.json")"

# A probe that skips the binding SEND still gets through (its first chunk binds).
probe_case no_bind 10000 --chunk 2048 --no-bind

echo "OK: $n probe -> msrpcat transfers"
