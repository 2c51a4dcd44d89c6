#!/bin/bash
# hostile 12, SIGHUP storm on a TLS gateway (issue 10 row 12): every
# reload builds new TLS contexts (with tls_ca = the system CA bundle,
# about 330 KB each) and used to leak the replaced ones. Required: a
# replaced context is freed once no connection uses it (uring/tls.c
# reference counts; main.c drops the daemon's reference through each
# loop). 200 reloads must not grow RSS by more than a few MB, a TLS
# connection made before the storm keeps working on its old context, new
# TLS AUTHs work after it, and 50 bystanders transfer intact meanwhile.
. "$(dirname "$0")/lib/hostile.sh"
hostile_init sighup_tls
command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 77; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout $IT_DIR/key.pem -out $IT_DIR/cert.pem -days 1 -subj /CN=localhost >/dev/null 2>&1
CA=/etc/ssl/certs/ca-certificates.crt
[ -r $CA ] || CA=$IT_DIR/cert.pem
gw_start GW "tls_listen = 127.0.0.1:0
tls_cert = $IT_DIR/cert.pem
tls_key = $IT_DIR/key.pem
tls_ca = $CA
bind_timeout = 300"
TLS_PORT=$(awk '$1=="tls"{print $2}' $IT_DIR/GW/ports)
bystanders_start GW 50 || it_done

# N: sends N SIGHUPs, each once the previous reload is done (signals
# pending together would count once).
reloads() {
    local n0 done=0
    n0=$(grep -c "TLS contexts renewed" $GW_LOG)
    for i in $(seq $1); do
        kill -HUP $GW_PID
        for _ in $(seq 400); do
            [ $(grep -c "TLS contexts renewed" $GW_LOG) -ge $((n0 + i)) ] && break
            sleep 0.005
        done
    done
    done=$(($(grep -c "TLS contexts renewed" $GW_LOG) - n0))
    check "[ $done -eq $1 ]" "$1 reloads done ($done)"
}

# A TLS connection on the first contexts, idle through the storm.
"$PY" - $TLS_PORT $IT_DIR/holder >$IT_DIR/holder.out 2>&1 <<'PY' &
import os, socket, ssl, sys, time
port, d = int(sys.argv[1]), sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60))
open(d + ".ready", "w").close()
while not os.path.exists(d + ".go"):
    time.sleep(0.05)
uri = "msrp://127.0.0.1:%d;tls" % port
s.sendall(("MSRP hold1 AUTH\r\nTo-Path: %s\r\nFrom-Path: msrps://127.0.0.1:9/h;tls\r\n"
           "-------hold1$\r\n" % uri).encode())
buf = b""
while b"-------hold1" not in buf:
    b = s.recv(4096)
    if not b:
        break
    buf += b
print(buf.split(b"\r\n")[0].decode(errors="replace"))
PY
HOLDER=$!
wait_until 10 "[ -e $IT_DIR/holder.ready ]"
check "[ $? -eq 0 ]" "a TLS connection is up before the reloads"

reloads 20 # warm-up: the allocator's first arenas, log buffers
rss_settle GW
rss_baseline GW
reloads 200
rss_settle GW
# Leaked, 200 reloads with the CA bundle would hold some 66 MB.
rss_check GW 8192 "200 SIGHUPs with tls_ca = $CA"

touch $IT_DIR/holder.go
wait $HOLDER
check "grep -q 'MSRP hold1 401' $IT_DIR/holder.out" "the connection made before the storm still works on its old context ($(head -1 $IT_DIR/holder.out))"
"$PY" "$RCLIENT" auth --tls --relay 127.0.0.1:$TLS_PORT --user alice --password secret \
    --expect 401,200 >$IT_DIR/auth.json
check "[ $? -eq 0 ]" "a new TLS AUTH after the storm: 401, 200"
bystanders_stop
it_done
