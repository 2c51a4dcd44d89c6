#!/usr/bin/env bash
# msrpload_smoke: short msrpload runs, direct and through msrpgw: zero
# errors, every message verified byte for byte, exact byte counts, the
# --json document's keys; the open-loop rate cap; a refused AUTH (exit 3,
# 401 counted); and a forwarder that flips one body byte must be caught
# (exit 1, one corrupt message).
. "$(dirname "$0")/lib/msrpgw.sh"
it_init msrpload_smoke
LOAD=$MSRP_BUILD/tools/msrpload
[ -x "$LOAD" ] || { echo "FAIL: no msrpload at $LOAD"; exit 1; }

KEYS='["mode","tls","sessions","idle_sessions","threads","chunk_size","message_size","setup_s","elapsed_s","bytes_acked","goodput_MBps","chunks_acked","chunks_per_s","latency_us","errors","error_count","setup_failures","setup_errors","messages_acked","messages_verified","messages_corrupt","messages_incomplete","verified","target","self","ok"]'

# load NAME ARGS...: runs msrpload --json, keeps its exit status in RC.
load() {
    local name=$1
    shift
    timeout 60 "$LOAD" --json "$@" >"$IT_DIR/$name.json" 2>"$IT_DIR/$name.err"
    RC=$?
    J=$IT_DIR/$name.json
}
# jexpect PYEXPR WANT MSG: the Python expression on the run's JSON (as j)
# must print WANT.
jexpect() {
    local got
    got=$(json_get "$J" "$1" 2>&1)
    if [ "$got" = "$2" ]; then
        echo "ok   - $3"
    else
        echo "FAIL - $3 (got '$got', want '$2')"
        IT_FAILS=$((IT_FAILS + 1))
    fi
}

# 1. direct: 4 sessions x 2 messages x 1 MiB in 16 KiB chunks, 2 threads.
load direct --sessions 4 --messages 2 --message-size 1M --chunk-size 16K --threads 2
check "[ $RC -eq 0 ]" "direct: exit 0 (got $RC)"
jexpect "sorted(set($KEYS) - set(j))" "[]" "direct: --json has every expected key"
jexpect 'j["mode"]' "direct" "direct: mode direct"
jexpect 'j["bytes_acked"]' "$((8 << 20))" "direct: exactly 8 MiB answered 200"
jexpect 'j["chunks_acked"]' "512" "direct: 512 chunks of 16 KiB"
jexpect 'j["messages_verified"], j["messages_acked"], j["messages_corrupt"]' "(8, 8, 0)" \
    "direct: 8 of 8 messages verified, none corrupt"
jexpect 'j["error_count"], j["setup_failures"], j["verified"], j["ok"]' "(0, 0, True, True)" \
    "direct: no errors, verified, ok"
jexpect 'j["latency_us"]["p50"] > 0 and j["latency_us"]["p50"] <= j["latency_us"]["p99"] <= j["latency_us"]["max"]' "True" \
    "direct: latency percentiles ordered"

# 1b. direct over TLS (msrps), 2 threads: same exact counts.
if openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
    -keyout "$IT_DIR/key.pem" -out "$IT_DIR/cert.pem" >/dev/null 2>&1; then
    load tls --tls --ca "$IT_DIR/cert.pem" --cert "$IT_DIR/cert.pem" --key "$IT_DIR/key.pem" \
        --sessions 2 --messages 1 --message-size 1M --threads 2
    check "[ $RC -eq 0 ]" "tls: exit 0 (got $RC)"
    jexpect 'j["tls"], j["bytes_acked"], j["messages_verified"], j["ok"]' "(True, $((2 << 20)), 2, True)" \
        "tls: 2 MiB over msrps, 2 messages verified"
else
    check false "openssl could make a test certificate"
fi

# 2. through msrpgw: receivers AUTH (Digest), senders to Use-Path + URI.
IT_THREADS=2
gw_start G
load relay --relay "127.0.0.1:$G_PORT" --user alice --password secret --sessions 3 \
    --messages 2 --message-size 2M --threads 2 --target-pid "$G_PID"
check "[ $RC -eq 0 ]" "relay: exit 0 (got $RC; $(head -c 300 "$IT_DIR/relay.err"))"
jexpect 'j["mode"], j["bytes_acked"]' "('relay', $((12 << 20)))" \
    "relay: exactly 12 MiB answered 200"
jexpect 'j["messages_verified"], j["messages_corrupt"], j["error_count"], j["ok"]' "(6, 0, 0, True)" \
    "relay: 6 messages verified, no errors"
jexpect 'j["target"]["processes"], j["target"]["connections"], j["target"]["rss_kib_before"] > 0' "(1, 6, True)" \
    "relay: msrpgw sampled (1 process, 6 connections, RSS read)"

# Human summary of the same kind of run.
timeout 60 "$LOAD" --relay "127.0.0.1:$G_PORT" --user alice --password secret --sessions 2 \
    --messages 1 --message-size 256K >"$IT_DIR/human.out" 2>&1
check "[ $? -eq 0 ] && grep -q '^  result      OK' '$IT_DIR/human.out' && grep -q 'verified    2 of 2' '$IT_DIR/human.out'" \
    "relay: human summary says 2 of 2 verified, OK"

# 3. wrong password: the relay's 401 is counted and the exit status is 3.
load badauth --relay "127.0.0.1:$G_PORT" --user alice --password wrong --sessions 2 --messages 1
check "[ $RC -eq 3 ]" "bad password: exit 3 (got $RC)"
jexpect 'j["setup_errors"].get("401"), j["ok"]' "(2, False)" \
    "bad password: two 401 setup errors, not ok"
gw_stop G

# 4. open loop: --rate caps the chunks (50 ms burst allowance at most).
load rate --sessions 5 --rate 400 --duration 1 --chunk-size 1K
check "[ $RC -eq 0 ]" "rate: exit 0"
jexpect '50 <= j["chunks_acked"] <= 400 + 21 + 5' "True" \
    "rate: 400 chunks/s for 1 s sends at most 426 chunks"

# 5. a forwarder that flips one body byte: the receiver must notice.
cat >"$IT_DIR/flip.py" <<'EOF'
import socket, sys, threading
lport, uport, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lport)); ls.listen(8)
open(ready, "w").write("ok\n")
def pump(a, b, flip_at):
    seen = 0
    while True:
        d = a.recv(65536)
        if not d:
            break
        if seen <= flip_at < seen + len(d):
            d = bytearray(d); d[flip_at - seen] ^= 0x01; d = bytes(d)
        seen += len(d)
        b.sendall(d)
    b.shutdown(socket.SHUT_WR)
while True:
    c, _ = ls.accept()
    u = socket.create_connection(("127.0.0.1", uport))
    # Byte 200000 of the sender's stream lies inside the 4th chunk's body
    # (64 KiB bodies, ~300-byte heads).
    threading.Thread(target=pump, args=(c, u, 200000), daemon=True).start()
    threading.Thread(target=pump, args=(u, c, -1), daemon=True).start()
EOF
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
read -r LPORT VPORT <<<"$ports"
bg python3 "$IT_DIR/flip.py" "$VPORT" "$LPORT" "$IT_DIR/flip.ready"
wait_file "$IT_DIR/flip.ready" 10 || check false "flip forwarder started"
load flip --via "127.0.0.1:$VPORT" --listen-port "$LPORT" --sessions 1 --messages 1 \
    --message-size 1M --chunk-size 64K
check "[ $RC -eq 1 ]" "flipped byte: exit 1 (got $RC)"
jexpect 'j["messages_corrupt"], j["messages_verified"], j["verified"], j["ok"]' "(1, 0, False, False)" \
    "flipped byte: the message is reported corrupt"

it_done
