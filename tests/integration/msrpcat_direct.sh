#!/usr/bin/env bash
# msrpcat -> msrpcat directly over 127.0.0.1 (ephemeral ports): files of
# 0 B, 1 B, chunk size -1/0/+1, several files queued on one session, TLS
# (self-signed certificate made here; sender with --ca and --insecure), and
# a large file (MSRPCAT_BIG_MB, default 1024). Every transfer must give the
# same SHA-256 on the sender, the receiver and sha256sum.
set -u
B=${MSRP_BUILD:?MSRP_BUILD not set}
CAT=$B/tools/msrpcat
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
n=0

# start_recv NAME ARGS...: starts a receiver, waits for its path (5 s max).
start_recv() {
    local name=$1; shift
    timeout 120 "$CAT" recv --path-file "$T/$name.path" "$@" >"$T/$name.rout" 2>"$T/$name.rerr" &
    RPID=$!
    PIDS+=("$RPID")
    for _ in $(seq 100); do [ -s "$T/$name.path" ] && break; sleep 0.05; done
    [ -s "$T/$name.path" ] || fail "$name: receiver printed no path: $(cat "$T/$name.rerr")"
    RPATH=$(cat "$T/$name.path")
    [ "$(head -1 "$T/$name.rout")" = "$RPATH" ] || fail "$name: stdout line 1 is not the path"
    case $RPATH in *:0/*) fail "$name: path shows port 0: $RPATH";; esac
}

# xfer NAME FILE CHUNK [extra send args] [-- extra recv args]
xfer() {
    local name=$1 file=$2 chunk=$3; shift 3
    local sargs=() rargs=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do sargs+=("$1"); shift; done
    [ $# -gt 0 ] && shift && rargs=("$@")
    local want; want=$(sha256sum "$file" | cut -c1-64)
    start_recv "$name" --out "$T/$name.recv" --expect-sha256 "$want" "${rargs[@]}"
    timeout 120 "$CAT" send "$file" --to-path "$RPATH" --chunk-size "$chunk" "${sargs[@]}" \
        >"$T/$name.sout" 2>"$T/$name.serr" || fail "$name: send failed: $(cat "$T/$name.serr")"
    wait "$RPID" || fail "$name: recv failed: $(cat "$T/$name.rerr")"
    grep -q "^sha256 $want " "$T/$name.sout" || fail "$name: sender SHA-256 differs"
    grep -q "^sha256 $want " "$T/$name.rout" || fail "$name: receiver SHA-256 differs"
    cmp -s "$file" "$T/$name.recv" || fail "$name: received file differs"
    n=$((n + 1))
}

mk() { head -c "$2" /dev/urandom >"$T/$1"; }

# Sizes around the chunk size, small chunks so each case is quick.
for sz in 0 1 4095 4096 4097 100000; do
    mk "f$sz" "$sz"
    xfer "plain$sz" "$T/f$sz" 4096
done
# Default 64 KiB chunks around their boundary.
for sz in 65535 65536 65537; do
    mk "g$sz" "$sz"
    xfer "def$sz" "$T/g$sz" 65536
done
# Failure-Report no and partial: no responses expected, still delivered.
xfer fr_no "$T/f100000" 1000 --fail-report no
xfer fr_partial "$T/f100000" 1000 --fail-report partial
# Success-Report: the sender waits for the REPORT covering the message.
xfer success_report "$T/f100000" 8192 --success-report

# Several files on one session, interleaved; receiver takes 3 messages.
mk m1 300000; mk m2 5000; mk m3 150001
start_recv multi --out "$T/multi.recv" --count 3
timeout 60 "$CAT" send "$T/m1" "$T/m2" "$T/m3" --to-path "$RPATH" --chunk-size 10000 \
    >"$T/multi.sout" 2>"$T/multi.serr" || fail "multi: send failed: $(cat "$T/multi.serr")"
wait "$RPID" || fail "multi: recv failed: $(cat "$T/multi.rerr")"
# Messages are named in the order they started (round robin: m1, m2, m3).
for i in 1 2 3; do
    suffix=$([ $i = 1 ] && echo "" || echo ".$((i - 1))")
    cmp -s "$T/m$i" "$T/multi.recv$suffix" || fail "multi: message $i differs"
done
# Interleaved, not one after the other: m2 (1 chunk) completes before m1 (30 chunks).
l1=$(grep -n "complete: 300000 bytes" "$T/multi.rerr" | cut -d: -f1)
l2=$(grep -n "complete: 5000 bytes" "$T/multi.rerr" | cut -d: -f1)
[ -n "$l1" ] && [ -n "$l2" ] && [ "$l2" -lt "$l1" ] \
    || fail "multi: messages were not interleaved: $(cat "$T/multi.rerr")"
n=$((n + 1))

# TLS with a self-signed certificate for 127.0.0.1.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$T/key.pem" -out "$T/cert.pem" \
    >/dev/null 2>&1 || fail "openssl could not make a certificate"
mk tlsf 1000000
xfer tls_ca "$T/tlsf" 65536 --ca "$T/cert.pem" -- --tls --cert "$T/cert.pem" --key "$T/key.pem"
grep -q '^msrps://' "$T/tls_ca.path" || fail "TLS path is not msrps"
xfer tls_insecure "$T/tlsf" 65536 --insecure -- --tls --cert "$T/cert.pem" --key "$T/key.pem"
# A sender that trusts another CA must refuse the receiver's certificate.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=other" \
    -keyout "$T/okey.pem" -out "$T/other.pem" >/dev/null 2>&1
start_recv tls_bad --out "$T/tls_bad.recv" --tls --cert "$T/cert.pem" --key "$T/key.pem" \
    --bind-timeout 3
if timeout 20 "$CAT" send "$T/tlsf" --to-path "$RPATH" --ca "$T/other.pem" \
    >/dev/null 2>"$T/tls_bad.serr"; then
    fail "tls_bad: send succeeded with an untrusted certificate"
fi
grep -q "TLS certificate of 127.0.0.1 was not accepted" "$T/tls_bad.serr" ||
    fail "tls_bad: the refusal is not named: $(cat "$T/tls_bad.serr")"
wait "$RPID" && fail "tls_bad: receiver succeeded"
n=$((n + 1))

# Large file.
MB=${MSRPCAT_BIG_MB:-1024}
head -c $((MB * 1048576)) /dev/urandom >"$T/big" 2>/dev/null || fail "cannot make the big file"
start=$(date +%s.%N)
xfer big "$T/big" 65536
end=$(date +%s.%N)
echo "big: $MB MiB in $(echo "$end - $start" | bc) s (including SHA-256 on both sides)"
grep -h "bytes in" "$T/big.serr" "$T/big.rerr"

echo "OK: $n msrpcat transfers"
