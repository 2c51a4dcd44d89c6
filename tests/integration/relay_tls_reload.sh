#!/bin/bash
# relay_tls_reload: SIGHUP reloads the TLS certificate and key. New TLS
# connections get the new certificate (serial checked with openssl
# s_client), AUTH and transfers over TLS work before and after, and a
# broken key file on the next reload keeps the running certificate (the
# error is logged, nothing else changes).
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_tls_reload
command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 77; }
mkcert() { # DIR NAME
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout $1/$2.key -out $1/$2.pem -days 1 -subj /CN=$2 >/dev/null 2>&1
}
serial_of_file() { openssl x509 -noout -serial -in "$1"; }
serial_served() {
    openssl s_client -connect 127.0.0.1:$TLS_PORT </dev/null 2>/dev/null | openssl x509 -noout -serial
}
mkcert $IT_DIR one
mkcert $IT_DIR two
cp $IT_DIR/one.pem $IT_DIR/cert.pem
cp $IT_DIR/one.key $IT_DIR/key.pem
IT_THREADS=2 gw_start GW "tls_listen = 127.0.0.1:0
tls_cert = $IT_DIR/cert.pem
tls_key = $IT_DIR/key.pem
tls_ciphers = TLS13-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256"
TLS_PORT=$(awk '$1=="tls"{print $2}' $IT_DIR/GW/ports)
check "[ \"$(serial_served)\" = \"$(serial_of_file $IT_DIR/one.pem)\" ]" "first certificate served"
# tls_ciphers replaces the ChaCha20-first default.
cipher=$(openssl s_client -connect 127.0.0.1:$TLS_PORT </dev/null 2>/dev/null | awk '/Cipher is/ {print $NF; exit}')
check "[ \"$cipher\" = TLS_AES_128_GCM_SHA256 ]" "tls_ciphers honoured (negotiated $cipher)"

python3 "$RCLIENT" many --tls --relay 127.0.0.1:$TLS_PORT --user alice --password secret --n 4 --size 100000 >$IT_DIR/before.json
check "[ $? -eq 0 ]" "4 TLS sessions intact before the reload"

cp $IT_DIR/two.pem $IT_DIR/cert.pem
cp $IT_DIR/two.key $IT_DIR/key.pem
kill -HUP $GW_PID
for _ in $(seq 50); do grep -q "TLS contexts renewed" $GW_LOG && break; sleep 0.1; done
check "log_has $GW_LOG 'TLS contexts renewed'" "reload logged"
check "[ \"$(serial_served)\" = \"$(serial_of_file $IT_DIR/two.pem)\" ]" "new certificate served after SIGHUP"
python3 "$RCLIENT" auth --tls --relay 127.0.0.1:$TLS_PORT --user alice --password secret --expect 401,200 >$IT_DIR/auth.json
check "[ $? -eq 0 ]" "AUTH over TLS after the reload"

python3 "$RCLIENT" many --tls --relay 127.0.0.1:$TLS_PORT --user alice --password secret --n 4 --size 100000 >$IT_DIR/after.json
check "[ $? -eq 0 ]" "4 TLS sessions intact after the reload"

echo "not a key" >$IT_DIR/key.pem
kill -HUP $GW_PID
for _ in $(seq 50); do grep -q "TLS files kept" $GW_LOG && break; sleep 0.1; done
check "log_has $GW_LOG 'TLS files kept'" "a broken key is refused on reload"
check "[ \"$(serial_served)\" = \"$(serial_of_file $IT_DIR/two.pem)\" ]" "running certificate kept"
gw_stop GW
it_done
