#!/bin/bash
# relay_tls: msrps. A TLS listener with a self-signed certificate; AUTH
# over TLS gets a 401 then 200 with an msrps:// Use-Path on the TLS port;
# 20 sessions with TLS receivers and TLS senders (1 MB each for 4 of them)
# arrive intact. Two cores: a TLS sender that lands on the core that does
# not own its session is handed over after the handshake, mid-stream (the
# stop log must count such handovers; about half the senders need one).
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_tls
command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 77; }
openssl req -x509 -newkey rsa:2048 -nodes -keyout $IT_DIR/key.pem -out $IT_DIR/cert.pem \
    -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1
IT_THREADS=2 gw_start GW "tls_listen = 127.0.0.1:0
tls_cert = $IT_DIR/cert.pem
tls_key = $IT_DIR/key.pem"
TLS_PORT=$(awk '$1=="tls"{print $2}' $IT_DIR/GW/ports)
check "[ -n \"$TLS_PORT\" ]" "TLS listener bound (port $TLS_PORT)"
python3 "$RCLIENT" auth --tls --relay 127.0.0.1:$TLS_PORT --user alice --password secret --expect 401,200 >$IT_DIR/auth.json
check "[ $? -eq 0 ]" "AUTH over TLS: 401 then 200"
check "[ \"$(json_get $IT_DIR/auth.json 'j["headers"]["Use-Path"].startswith("msrps://127.0.0.1:'$TLS_PORT'/")')\" = True ]" \
    "Use-Path is msrps:// on the TLS port"
python3 "$RCLIENT" many --tls --relay 127.0.0.1:$TLS_PORT --user alice --password secret --n 20 --size 20000 >$IT_DIR/many.json
check "[ $? -eq 0 ]" "20 TLS sessions intact ($(cut -c1-80 $IT_DIR/many.json))"
python3 "$RCLIENT" many --tls --relay 127.0.0.1:$TLS_PORT --user alice --password secret --n 4 --size 1000000 >$IT_DIR/big.json
check "[ $? -eq 0 ]" "4 TLS sessions of 1 MB intact ($(cut -c1-80 $IT_DIR/big.json))"
gw_stop GW
steered=$(grep -o '[0-9]* connections steered' "$GW_LOG" | cut -d' ' -f1)
check "[ \"\${steered:-0}\" -gt 0 ]" "TLS connections handed to their session's core: ${steered:-none}"
it_done
