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

# --- both ways: ws client <-> relay <-> msrpcat over TCP ---------------------
# bridge TAG TCP_PORT WS_PORT RELAY_URI OUT_BYTES IN_BYTES [ws_client options]:
# msrpcat recv AUTHs on TCP; the ws client AUTHs on WS_PORT and sends
# OUT_BYTES in 256 KiB chunks to it, then msrpcat send sends IN_BYTES in
# 100000-byte chunks to the ws client. Both files checked by sha256; the
# client's JSON is $D/TAG.json, its Use-Path and URI in BR_USE / BR_OWN.
bridge() {
    local tag=$1 tcp=$2 ws=$3 uri=$4 nout=$5 nin=$6
    shift 6
    head -c "$nout" /dev/urandom >"$D/$tag.out"
    head -c "$nin" /dev/urandom >"$D/$tag.in"
    local want_out want_in rp wp rc
    want_out=$(sha256sum "$D/$tag.out" | cut -c1-64)
    want_in=$(sha256sum "$D/$tag.in" | cut -c1-64)
    bg timeout 60 "$CAT" recv --relay "127.0.0.1:$tcp" --user bob --password pw \
        --out "$D/$tag.got_out" --path-file "$D/$tag.bob_path" --expect-sha256 "$want_out"
    rp=$LAST_PID
    wait_file "$D/$tag.bob_path" 10 || check false "$tag: msrpcat receiver ready"
    bg timeout 90 python3 "$WSC" session --ws 127.0.0.1:$ws "$@" \
        --user alice --password secret --relay-uri "$uri" --ready-file "$D/$tag.path" \
        --send "$D/$tag.out" --to-path "$(cat "$D/$tag.bob_path")" --chunk 262144 \
        --recv-out "$D/$tag.got_in" --recv-sha256 "$want_in" --timeout 60 >"$D/$tag.json"
    wp=$LAST_PID
    wait_file "$D/$tag.path" 10 || check false "$tag: client AUTHed"
    read -r BR_USE BR_OWN <"$D/$tag.path"
    wait "$rp"
    rc=$?
    check "[ $rc = 0 ] && cmp -s \"$D/$tag.out\" \"$D/$tag.got_out\"" \
        "$tag -> tcp: msrpcat received $nout bytes from the $tag client intact"
    timeout 60 "$CAT" send "$D/$tag.in" --to-path "$(cat "$D/$tag.path")" --chunk-size 100000 \
        >"$D/$tag.send.out" 2>"$D/$tag.send.err"
    rc=$?
    check "[ $rc = 0 ]" "msrpcat sent to the $tag client: $(cat "$D/$tag.send.err")"
    wait "$wp"
    rc=$?
    check "[ $rc = 0 ] && cmp -s \"$D/$tag.in\" \"$D/$tag.got_in\"" \
        "tcp -> $tag: file intact, client session ok: $(cat "$D/$tag.json")"
    check "[ \"$(json_get "$D/$tag.json" 'j["auth_codes"]')\" = '[401, 200]' ]" \
        "AUTH over $tag: 401 then 200"
    check "[ \"$(json_get "$D/$tag.json" 'j["bad_messages"]')\" = 0 ]" \
        "every WebSocket message from the relay over $tag held exactly one MSRP frame"
}

bridge ws "$GW_PORT" "$WS_PORT" "$RELAY_WS" 3145728 2000003 --origin http://127.0.0.1:8080
check '[[ $BR_USE =~ ^msrp://127\.0\.0\.1:$GW_PORT/[A-Za-z0-9]+\;tcp$ ]]' \
    "Use-Path for the ws client is the relay's TCP URI: $BR_USE"
check '[[ $BR_OWN =~ ^msrp://[0-9a-f]+\.invalid:2855/[0-9a-f]+\;ws$ ]]' \
    "the ws client's own URI is a .invalid one with ;ws: $BR_OWN"
check "[ \"$(json_get "$D/ws.json" 'j["send_codes"]')\" = \"{'200': 12}\" ]" \
    "12 chunks of 256 KiB, each answered 200 over ws"
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
    bridge wss "$GWS_PORT" "$WSS_PORT" "msrps://127.0.0.1:$WSS_PORT;ws" 1048576 500000 --tls
    check '[[ $BR_USE =~ ^msrp://127\.0\.0\.1:$GWS_PORT/[A-Za-z0-9]+\;tcp$ ]]' \
        "Use-Path for the wss client is the relay's TCP URI: $BR_USE"
    check '[[ $BR_OWN =~ ^msrps://[0-9a-f]+\.invalid:2855/[0-9a-f]+\;ws$ ]]' \
        "the wss client's own URI is an msrps .invalid one with ;ws: $BR_OWN"
    check "[ \"$(json_get "$D/wss.json" 'j["send_codes"]')\" = \"{'200': 4}\" ]" \
        "4 chunks of 256 KiB, each answered 200 over wss"
    gw_stop GWS
else
    check false "openssl is needed for the wss part (tools/setup.sh installs it)"
fi
it_done
