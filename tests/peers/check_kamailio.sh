#!/usr/bin/env bash
# check_kamailio.sh: end-to-end check of msrp_probe.py through Kamailio's
# msrp relay, with the traffic captured and checked by tshark.
#
#   check_kamailio.sh [WORKDIR]     (default: a fresh mktemp -d, removed
#                                    on success, kept on failure)
#
# Starts Kamailio (kamailio/start.sh), captures loopback traffic on its
# port (tshark_capture.sh; failing to capture is a failure, NO_CAPTURE=1
# skips capture and tshark check), then runs a probe receiver (AUTH, waits for
# one message) and a probe sender (empty bind SEND, then the message)
# through the relay for:
#   (i)   a small text message (one chunk, text/plain);
#   (ii)  a 1 MiB random file in 8 KiB chunks (128 chunks, window 8);
#   (iii) a SEND to an unknown session: Kamailio must answer 481.
# Asserts for (i) and (ii): receiver got exactly the file (SHA-256 of the
# source, of the sender's report and of the receiver's report all equal,
# byte counts equal), every chunk got a 200 (the sender's report), the
# bind SEND got 200, the receiver answered every SEND with 200.  Then
# stops the capture and asserts tshark_check.sh passes (zero unexplained
# malformed frames, clean MSRP byte streams), stops Kamailio.
# Whole run bounded (~60 s: each step has its own timeout).  Exit 0 on
# success, 1 with a "FAIL: ..." line otherwise; never leaves processes.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
probe="$here/msrp_probe.py"

if [ $# -ge 1 ]; then
    work=$1
    mkdir -p "$work"
    keep=1
else
    work=$(mktemp -d /tmp/check_kamailio.XXXXXX)
    keep=0
fi
work=$(cd "$work" && pwd)
pcap="$work/kamailio.pcapng"
capturing=0
pids=()

cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    [ $capturing = 1 ] && "$here/tshark_capture.sh" stop "$pcap" >/dev/null 2>&1
    "$here/kamailio/stop.sh" "$work" || echo "check_kamailio: stop.sh failed" >&2
}
fail() {
    echo "FAIL: $*" >&2
    echo "  work dir kept: $work (kamailio.log, *.json)" >&2
    cleanup
    trap - EXIT
    exit 1
}
trap cleanup EXIT

# json FILE EXPR: evaluate a Python expression over the report in FILE (j).
json() {
    python3 -c 'import json, sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(eval(sys.argv[2]))' "$1" "$2"
}

read -r port kpid < <("$here/kamailio/start.sh" "$work") || true
[ -n "${port:-}" ] || fail "Kamailio did not start (see above)"
echo "kamailio: 127.0.0.1:$port (pid $kpid)"

if [ "${NO_CAPTURE:-0}" = 1 ]; then
    echo "NOTICE: NO_CAPTURE=1: no capture, no tshark check" >&2
else
    command -v tshark >/dev/null || fail "tshark not installed (NO_CAPTURE=1 skips the capture)"
    "$here/tshark_capture.sh" start lo "$port" "$pcap" ||
        fail "cannot capture on lo (needs root/CAP_NET_RAW; NO_CAPTURE=1 skips)"
    capturing=1
fi

# run_case NAME FILE CHUNK: one receiver + one sender through the relay.
run_case() {
    local name=$1 file=$2 chunk=$3 rpid i
    local rjson="$work/$name.recv.json" sjson="$work/$name.send.json"
    local ready="$work/$name.ready" out="$work/$name.out"
    rm -f "$ready"
    timeout 25 python3 "$probe" recv --relay "127.0.0.1:$port" \
        --out "$out" --ready-file "$ready" --timeout 20 >"$rjson" &
    rpid=$!
    pids+=("$rpid")
    for i in $(seq 100); do
        [ -s "$ready" ] && break
        kill -0 "$rpid" 2>/dev/null || break
        sleep 0.1
    done
    [ -s "$ready" ] || fail "$name: receiver did not AUTH ($(cat "$rjson"))"
    timeout 25 python3 "$probe" send --relay "127.0.0.1:$port" \
        --to-path "$(cat "$ready")" --chunk "$chunk" --window 8 \
        --content-type "$4" --timeout 20 "$file" >"$sjson"
    local src=$?
    # A failed sender will not finish the message: do not wait out the
    # receiver's timeout.
    [ $src -eq 0 ] || kill "$rpid" 2>/dev/null
    wait "$rpid"
    local rrc=$?
    [ $src -eq 0 ] || fail "$name: sender failed (rc $src): $(cat "$sjson")"
    [ $rrc -eq 0 ] || fail "$name: receiver failed (rc $rrc): $(cat "$rjson")"

    local want nchunks
    want=$(sha256sum "$file" | cut -d' ' -f1)
    nchunks=$(( ($(stat -c %s "$file") + chunk - 1) / chunk ))
    [ "$(json "$sjson" 'j["sha256"]')" = "$want" ] || fail "$name: sender hashed another file"
    [ "$(json "$rjson" 'j["messages"][0]["sha256"]')" = "$want" ] ||
        fail "$name: received SHA-256 differs: $(cat "$rjson")"
    [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$want" ] || fail "$name: output file differs"
    [ "$(json "$sjson" 'j["bind_code"]')" = 200 ] || fail "$name: bind SEND not answered 200"
    [ "$(json "$sjson" 'j["chunks"]')" = "$nchunks" ] || fail "$name: sender sent $(json "$sjson" 'j["chunks"]') chunks, want $nchunks"
    [ "$(json "$sjson" 'j["codes"]')" = "{'200': $nchunks}" ] ||
        fail "$name: chunk responses $(json "$sjson" 'j["codes"]'), want {'200': $nchunks}"
    [ "$(json "$rjson" 'j["messages"][0]["chunks"]')" = "$nchunks" ] || fail "$name: receiver got a different number of chunks"
    [ "$(json "$rjson" 'j["responses_sent"]')" = "{'200': $((nchunks + 1))}" ] ||
        fail "$name: receiver responses $(json "$rjson" 'j["responses_sent"]')"
    echo "ok: $name: $nchunks chunk(s) of $chunk, 200 each, sha256 $want"
}

printf 'Hello through Kamailio; caf\xc3\xa9 \xe2\x98\x95\r\nsecond line\n' >"$work/small.txt"
run_case small "$work/small.txt" 2048 "text/plain;charset=UTF-8"

head -c 1048576 /dev/urandom >"$work/big.bin"
run_case big "$work/big.bin" 8192 application/octet-stream

# (iii) no such session: 481 to the chunk (sent without bind, so it is the
# data chunk that meets the 481).
timeout 15 python3 "$probe" send --relay "127.0.0.1:$port" --no-bind \
    --expect-code 481 --timeout 10 \
    --to-path "msrp://127.0.0.1:$port/no-such-session;tcp msrp://127.0.0.1:9/x;tcp" \
    "$work/small.txt" >"$work/nosession.send.json" ||
    fail "unknown session: $(cat "$work/nosession.send.json")"
echo "ok: unknown session answered 481"

if [ $capturing = 1 ]; then
    "$here/tshark_capture.sh" stop "$pcap" || fail "capture did not stop cleanly"
    capturing=0
    "$here/tshark_check.sh" "$pcap" "$port" || fail "tshark check of $pcap"
fi

cleanup
trap - EXIT
pids=()
[ $keep = 0 ] && rm -rf "$work"
echo "check_kamailio: PASS"
exit 0
