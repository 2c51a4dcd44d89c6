#!/bin/bash
# relay_tls_policy: the TLS policy seen from outside (openssl s_client).
# msrpgw --version names the linked wolfSSL and the default AEAD, and a
# client offering both AEADs gets that one (AES-GCM on an AES-NI build,
# ChaCha20-Poly1305 with Debian's library); tls_ciphers overrides it both
# ways; TLS 1.1 is refused; a client that reconnects with its session
# resumes it (TLS 1.3 ticket, TLS 1.2 ticket).
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_tls_policy
command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 77; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $IT_DIR/key.pem \
    -out $IT_DIR/cert.pem -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1

"$MSRPGW" --version >$IT_DIR/version.txt
check "grep -q '^tls: wolfSSL 5\.' $IT_DIR/version.txt" "--version names the wolfSSL ($(sed -n 2p $IT_DIR/version.txt | cut -c1-60)...)"
check "grep -qE 'compiled in: AES-NI (yes|no), intel asm .* (yes|no), ChaCha20-Poly1305 asm (yes|no)' $IT_DIR/version.txt" \
    "--version lists the crypto paths"
if grep -q 'built from Debian source' $IT_DIR/version.txt; then
    check "grep -q 'compiled in: AES-NI yes' $IT_DIR/version.txt" "the built library has AES-NI"
fi
if grep -q 'default AEAD: AES-GCM' $IT_DIR/version.txt; then
    want=TLS_AES_128_GCM_SHA256 other=TLS_CHACHA20_POLY1305_SHA256
    other_list="TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256"
else
    want=TLS_CHACHA20_POLY1305_SHA256 other=TLS_AES_128_GCM_SHA256
    other_list="TLS13-AES128-GCM-SHA256:TLS13-CHACHA20-POLY1305-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305"
fi

cipher_of() { # PORT [s_client options...]
    local port=$1
    shift
    openssl s_client -connect 127.0.0.1:$port "$@" </dev/null 2>/dev/null | awk '/Cipher is/ {print $NF; exit}'
}

gw_start GW "tls_listen = 127.0.0.1:0
tls_cert = $IT_DIR/cert.pem
tls_key = $IT_DIR/key.pem"
P=$(awk '$1=="tls"{print $2}' $IT_DIR/GW/ports)
# Both AEADs offered, in either order: the server's order decides.
c1=$(cipher_of $P -ciphersuites TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256)
c2=$(cipher_of $P -ciphersuites TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256)
check "[ \"$c1\" = $want ] && [ \"$c2\" = $want ]" "default policy picks $want ($c1, $c2)"
c=$(cipher_of $P -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305)
check "[ -n \"$c\" ] && [ \"$c\" != '(NONE)' ]" "TLS 1.2 accepted ($c)"
openssl s_client -connect 127.0.0.1:$P -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' </dev/null >$IT_DIR/tls11 2>&1
# The ClientHello went out (the server closes on it: no cipher, nothing read).
check "grep -q 'written [1-9]' $IT_DIR/tls11 && grep -q 'Cipher is (NONE)' $IT_DIR/tls11" "TLS 1.1 refused by the server"

# Resumption: save the session (after the TLS 1.3 ticket arrived), offer it again.
for v in tls1_3 tls1_2; do
    (sleep 1.5) | openssl s_client -connect 127.0.0.1:$P -$v -sess_out $IT_DIR/sess.$v >$IT_DIR/first.$v 2>&1
    openssl s_client -connect 127.0.0.1:$P -$v -sess_in $IT_DIR/sess.$v </dev/null >$IT_DIR/again.$v 2>&1
    check "grep -q '^New,' $IT_DIR/first.$v && grep -q '^Reused,' $IT_DIR/again.$v" \
        "$v: a reconnecting client resumes its session ($(grep -E '^(New|Reused),' $IT_DIR/again.$v | head -1))"
done
# msrpload's 32 connections per run share one client context: the later
# ones resume tickets the earlier ones got, many at once; none may fail.
for i in 1 2 3; do
    "$MSRP_BUILD/tools/msrpload" --relay 127.0.0.1:$P --user alice --password secret --tls --insecure \
        --sessions 16 --messages 1 --message-size 256K --json >$IT_DIR/load$i.json 2>$IT_DIR/load$i.err
    check "[ \"\$(json_get $IT_DIR/load$i.json 'j[\"ok\"]')\" = True ]" "msrpload 16 TLS sessions, run $i"
    # The senders connect once their receivers are up: the first of them
    # at least resumes a receiver's ticket.
    conns=$(json_get $IT_DIR/load$i.json 'j["tls_connections"]')
    res=$(json_get $IT_DIR/load$i.json 'j["tls_resumed"]')
    check "[ \"$conns\" = 32 ] && [ \"$res\" -ge 1 ] && [ \"$res\" -le 32 ]" \
        "msrpload run $i counts $conns TLS connections, $res resumed"
done
# One session: the receiver's full handshake leaves a ticket, the sender
# (connecting after it) resumes it: exactly 2 connections, 1 resumed.
"$MSRP_BUILD/tools/msrpload" --relay 127.0.0.1:$P --user alice --password secret --tls --insecure \
    --sessions 1 --messages 1 --message-size 64K --json >$IT_DIR/load1s.json 2>$IT_DIR/load1s.err
check "[ \"\$(json_get $IT_DIR/load1s.json 'j[\"ok\"]')\" = True ] &&
       [ \"\$(json_get $IT_DIR/load1s.json 'j[\"tls_connections\"]')\" = 2 ] &&
       [ \"\$(json_get $IT_DIR/load1s.json 'j[\"tls_resumed\"]')\" = 1 ]" \
    "msrpload 1 TLS session: 2 connections, the sender's resumed ($(cat $IT_DIR/load1s.json | tr -d '\n' | grep -o '"tls_[a-z]*": [0-9]*' | tr '\n' ' '))"
gw_stop GW

# tls_ciphers overrides the start-up choice.
gw_start GW2 "tls_listen = 127.0.0.1:0
tls_cert = $IT_DIR/cert.pem
tls_key = $IT_DIR/key.pem
tls_ciphers = $other_list"
P=$(awk '$1=="tls"{print $2}' $IT_DIR/GW2/ports)
c=$(cipher_of $P -ciphersuites TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256)
check "[ \"$c\" = $other ]" "tls_ciphers forces $other ($c)"
gw_stop GW2
it_done
