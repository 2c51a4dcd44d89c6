#!/usr/bin/env bash
# relay_ws: MSRP over WebSocket (RFC 7977) bridged to TCP by msrpgw.
# A WebSocket client (tests/integration/lib/ws_client.py: stdlib Python,
# each MSRP frame one WebSocket message cut into masked fragments with
# pings between them) AUTHs over ws_listen and sends a 3 MiB file in
# 256 KiB chunks to an msrpcat receiver that AUTHed over TCP; then msrpcat
# sends a file over TCP to the WebSocket client. Both checked by sha256,
# and every message the client received must hold exactly one MSRP frame.
# Also exact: the 101, the Use-Path (the TCP side's URI: the far peer
# reaches the relay over TCP, as in RFC 7977's examples), the 400 / 426 /
# 403 refusals, and the ws metrics. Then the same over wss_listen (TLS).
: "${IT_KEEP:=}"
source "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_ws
CAT=$MSRP_BUILD/tools/msrpcat
WSC=$MSRP_SRC/tests/integration/lib/ws_client.py
D=$IT_DIR
IT_METRICS=127.0.0.1:0 gw_start GW "ws_listen = 127.0.0.1:0
ws_origins = https://app.example, http://127.0.0.1:8080
max_chunk_out = 64KiB"
WS_PORT=$(awk '$1=="ws"{print $2}' "$D/GW/ports")
check '[[ $WS_PORT =~ ^[0-9]+$ ]]' "the port file names the ws listener: $(cat "$D/GW/ports")"
RELAY_WS="msrp://127.0.0.1:$WS_PORT;ws"

# --- handshakes -------------------------------------------------------------
# hs NAME [ws_client handshake options]: the answer's bytes in $D/NAME.
hs() { local n=$1; shift; python3 "$WSC" handshake --ws 127.0.0.1:$WS_PORT \
    --answer-file "$D/$n" "$@" >"$D/$n.json"; }
same() { cmp -s "$D/$1" "$D/$1.want" || echo "got: $(od -c "$D/$1" | head -5)"; }

hs ok --origin https://app.example
printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: msrp\r\n\r\n' \
    "$(json_get "$D/ok.json" 'j["accept"]')" >"$D/ok.want"
check '[ -z "$(same ok)" ]' "101 with exactly the accept value and subprotocol msrp $(same ok)"
hs proto --protocol sip
printf 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 23\r\n\r\nws_hs_msrp_not_offered\n' >"$D/proto.want"
check '[ -z "$(same proto)" ]' "subprotocol sip only: 400 naming why $(same proto)"
hs noproto --protocol ""
cp "$D/proto.want" "$D/noproto.want"
check '[ -z "$(same noproto)" ]' "no subprotocol at all: the same 400 $(same noproto)"
hs version --version 8
printf 'HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n\r\nws_hs_unsupported_version\n' >"$D/version.want"
check '[ -z "$(same version)" ]' "version 8: 426 with Sec-WebSocket-Version: 13 $(same version)"
hs origin --origin https://evil.example
printf 'HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n\r\nws_hs_origin_refused\n' >"$D/origin.want"
check '[ -z "$(same origin)" ]' "an Origin not in ws_origins: 403 $(same origin)"

# --- ws client -> relay -> msrpcat over TCP ---------------------------------
head -c 3145728 /dev/urandom >"$D/f1"
want1=$(sha256sum "$D/f1" | cut -c1-64)
head -c 2000003 /dev/urandom >"$D/f2"
want2=$(sha256sum "$D/f2" | cut -c1-64)

bg timeout 60 "$CAT" recv --relay "127.0.0.1:$GW_PORT" --user bob --password pw \
    --out "$D/r1" --path-file "$D/bob_path" --expect-sha256 "$want1"
RP=$LAST_PID
wait_file "$D/bob_path" 10 || check false "msrpcat receiver ready"

bg timeout 90 python3 "$WSC" session --ws 127.0.0.1:$WS_PORT --origin http://127.0.0.1:8080 \
    --user alice --password secret --relay-uri "$RELAY_WS" --ready-file "$D/ws_path" \
    --send "$D/f1" --to-path "$(cat "$D/bob_path")" --chunk 262144 \
    --recv-out "$D/r2" --recv-sha256 "$want2" --timeout 60 >"$D/ws.json"
WP=$LAST_PID
wait_file "$D/ws_path" 10 || check false "ws client AUTHed"
read -r ws_use ws_own <"$D/ws_path"
check '[[ $ws_use =~ ^msrp://127\.0\.0\.1:$GW_PORT/[A-Za-z0-9]+\;tcp$ ]]' \
    "Use-Path for the ws client is the relay's TCP URI: $ws_use"
check '[[ $ws_own =~ ^msrp://[0-9a-f]+\.invalid:2855/[0-9a-f]+\;ws$ ]]' \
    "the ws client's own URI is a .invalid one with ;ws: $ws_own"
wait "$RP"
rc=$?
check "[ $rc = 0 ]" "msrpcat received the 3 MiB file from the ws client intact"
check 'cmp -s "$D/f1" "$D/r1"' "ws -> tcp: file intact"

# --- msrpcat over TCP -> relay -> ws client ---------------------------------
timeout 60 "$CAT" send "$D/f2" --to-path "$(cat "$D/ws_path")" --chunk-size 100000 \
    >"$D/s2.out" 2>"$D/s2.err"
rc=$?
check "[ $rc = 0 ]" "msrpcat sent to the ws client: $(cat "$D/s2.err")"
wait "$WP"
rc=$?
check "[ $rc = 0 ]" "ws client session ok: $(cat "$D/ws.json")"
check 'cmp -s "$D/f2" "$D/r2"' "tcp -> ws: file intact"
check "[ \"$(json_get "$D/ws.json" 'j["auth_codes"]')\" = '[401, 200]' ]" "AUTH over ws: 401 then 200"
check "[ \"$(json_get "$D/ws.json" 'j["send_codes"]')\" = \"{'200': 12}\" ]" \
    "12 chunks of 256 KiB, each answered 200 over ws"
check "[ \"$(json_get "$D/ws.json" 'j["bad_messages"]')\" = 0 ]" \
    "every WebSocket message from the relay held exactly one MSRP frame"
check "[ \"$(json_get "$D/ws.json" 'j["recv_chunks"]')\" = 41 ]" \
    "20 chunks of 100000 bytes and one of 3 arrive as 41 SENDs (max_chunk_out 64 KiB) over ws"
check "[ \"$(json_get "$D/ws.json" 'j["close"]')\" = 03e8 ]" "the close (1000) is echoed"

# --- metrics ------------------------------------------------------------------
curl -s "http://127.0.0.1:$GW_MPORT/metrics" >"$D/metrics.txt"
ok=$(grep -E '^msrpgw_ws_handshakes_total\{.*result="ok"' "$D/metrics.txt" | awk '{s+=$NF} END {print s+0}')
bad=$(grep -E '^msrpgw_ws_handshakes_total\{.*result="bad_request"' "$D/metrics.txt" | awk '{s+=$NF} END {print s+0}')
forb=$(grep -E '^msrpgw_ws_handshakes_total\{.*result="forbidden"' "$D/metrics.txt" | awk '{s+=$NF} END {print s+0}')
upg=$(grep -E '^msrpgw_ws_handshakes_total\{.*result="upgrade_required"' "$D/metrics.txt" | awk '{s+=$NF} END {print s+0}')
open=$(grep -E '^msrpgw_ws_connections\{' "$D/metrics.txt" | awk '{s+=$NF} END {print s+0}')
check "[ $ok = 2 ] && [ $bad = 2 ] && [ $forb = 1 ] && [ $upg = 1 ]" \
    "handshakes counted by result: ok=$ok bad_request=$bad forbidden=$forb upgrade_required=$upg"
check "[ $open = 0 ]" "no ws connection left open: $open"

gw_stop GW

# --- wss: the same bridge under TLS -------------------------------------------
# A second relay with only a wss listener besides TCP: the ws client AUTHs
# over TLS (Use-Path: the TCP side, msrp://, as no tls_listen is set) and
# sends 1 MiB in 256 KiB chunks to msrpcat on TCP, then gets 500 kB back.
if command -v openssl >/dev/null; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/key.pem" -out "$D/cert.pem" \
        -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1
    gw_start GWS "wss_listen = 127.0.0.1:0
tls_cert = $D/cert.pem
tls_key = $D/key.pem"
    WSS_PORT=$(awk '$1=="wss"{print $2}' "$D/GWS/ports")
    check '[[ $WSS_PORT =~ ^[0-9]+$ ]]' "the port file names the wss listener: $(cat "$D/GWS/ports")"
    head -c 1048576 /dev/urandom >"$D/f3"
    want3=$(sha256sum "$D/f3" | cut -c1-64)
    head -c 500000 /dev/urandom >"$D/f4"
    want4=$(sha256sum "$D/f4" | cut -c1-64)
    bg timeout 60 "$CAT" recv --relay "127.0.0.1:$GWS_PORT" --user bob --password pw \
        --out "$D/r3" --path-file "$D/bob3_path" --expect-sha256 "$want3"
    RP=$LAST_PID
    wait_file "$D/bob3_path" 10 || check false "msrpcat receiver ready (wss relay)"
    bg timeout 90 python3 "$WSC" session --tls --ws 127.0.0.1:$WSS_PORT \
        --user alice --password secret --relay-uri "msrps://127.0.0.1:$WSS_PORT;ws" \
        --ready-file "$D/wss_path" --send "$D/f3" --to-path "$(cat "$D/bob3_path")" \
        --chunk 262144 --recv-out "$D/r4" --recv-sha256 "$want4" --timeout 60 >"$D/wss.json"
    WP=$LAST_PID
    wait_file "$D/wss_path" 10 || check false "wss client AUTHed"
    read -r wss_use wss_own <"$D/wss_path"
    check '[[ $wss_use =~ ^msrp://127\.0\.0\.1:$GWS_PORT/[A-Za-z0-9]+\;tcp$ ]]' \
        "Use-Path for the wss client is the relay's TCP URI: $wss_use"
    wait "$RP"
    rc=$?
    check "[ $rc = 0 ] && cmp -s \"$D/f3\" \"$D/r3\"" "wss -> tcp: msrpcat received 1 MiB intact"
    timeout 60 "$CAT" send "$D/f4" --to-path "$(cat "$D/wss_path")" --chunk-size 100000 \
        >"$D/s4.out" 2>"$D/s4.err"
    rc=$?
    check "[ $rc = 0 ]" "msrpcat sent to the wss client: $(cat "$D/s4.err")"
    wait "$WP"
    rc=$?
    check "[ $rc = 0 ] && cmp -s \"$D/f4\" \"$D/r4\"" "tcp -> wss: file intact, session ok: $(cat "$D/wss.json")"
    check "[ \"$(json_get "$D/wss.json" 'j["send_codes"]')\" = \"{'200': 4}\" ]" \
        "4 chunks of 256 KiB, each answered 200 over wss"
    check "[ \"$(json_get "$D/wss.json" 'j["bad_messages"]')\" = 0 ]" \
        "every WebSocket message over wss held exactly one MSRP frame"
    gw_stop GWS
else
    check false "openssl is needed for the wss part (tools/setup.sh installs it)"
fi
it_done
