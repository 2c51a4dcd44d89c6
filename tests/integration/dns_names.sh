#!/bin/bash
# dns_names: host names everywhere a host is dialled, resolved with c-ares
# against a dnsmasq of our own (127.0.0.1, a free high port, zone msrp.test)
# and a "silent" resolver that never answers.
#  1  msrpcat recv --relay-domain msrp.test finds its relay by SRV
#     (_msrp._tcp.msrp.test: a preferred target on a port nobody listens
#     on, then relay.msrp.test on the relay's port): the second target
#     takes it; a sender sends to its path; file intact. With --tls the
#     look-up is _msrps._tcp.msrp.test (scenario 5).
#  2  no SRV record: the domain's own address on port 2855 (only when
#     127.0.0.1:2855 is free; otherwise skipped, said so in the output).
#  3  --relay relay.msrp.test:P (a name) for receiver and sender, and a
#     sender dialling a To-Path URI that names its host.
#  4  relay A forwards to a next hop named in To-Path (relay B's Use-Path
#     carries relayb.msrp.test, A has resolvers = our dnsmasq); file
#     intact, A's log shows it connecting to the name.
#  5  msrps to a name: the certificate is checked against the name from
#     --relay / the URI (a CA of ours, a server certificate for
#     DNS:tls.msrp.test); a certificate for another name, or dialling the
#     address, fails (exit 3).
#  6  NXDOMAIN: msrpcat exits 3 quickly with "cannot resolve NAME: no such
#     name"; the relay answers an AUTHed sender 481 and logs the name.
#  7  a resolver that never answers: msrpcat exits 3 within
#     --dns-timeout (+ slack) with "timed out"; msrpgw with that resolver
#     keeps forwarding another session while a look-up is pending, then
#     answers the waiting sender 481 after its dns_timeout.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init dns_names
CAT=$MSRP_BUILD/tools/msrpcat
DNSMASQ=${DNSMASQ:-/usr/sbin/dnsmasq}
D=$IT_DIR
[ -x "$DNSMASQ" ] || { echo "SKIP: no dnsmasq at $DNSMASQ"; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 77; }
[ -x "$CAT" ] || { echo "FAIL: no msrpcat at $CAT"; exit 1; }

head -c 200003 /dev/urandom >"$D/file"
WANT=$(sha256sum "$D/file" | cut -c1-64)
S="msrp://127.0.0.1:9/snd$$;tcp" # the senders' own URI (nobody listens on 9)
DEAD=9                            # SRV target port nobody listens on

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; } # lt A B: A < B

# A port free on 127.0.0.1 for both UDP and TCP (for dnsmasq, which must
# be started after the relays whose ports it serves, while relay A's
# config must already name it). The window until dnsmasq binds is small.
free_port() {
    python3 - <<'PY'
import socket
for _ in range(100):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    p = u.getsockname()[1]
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(p)
    break
PY
}

# dnsq NAME TYPE [SERVER]: one query over UDP (stdlib only, dig may be
# absent); prints the rcode, then one line per answer (A/AAAA: the
# address; SRV: "priority weight port target").
cat >"$D/dnsq.py" <<'PY'
import random, socket, struct, sys
name, qtype, srv = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = srv.rsplit(":", 1)
qid = random.randrange(65536)
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
for label in name.rstrip(".").split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack(">HH", {"A": 1, "AAAA": 28, "SRV": 33}[qtype], 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(q, (host, int(port)))
d = s.recvfrom(4096)[0]
def rname(off):
    labels = []
    while True:
        n = d[off]
        if n >= 0xC0:
            ptr = struct.unpack(">H", d[off:off + 2])[0] & 0x3FFF
            return ".".join(labels + [rname(ptr)[0]]).strip("."), off + 2
        off += 1
        if n == 0:
            return ".".join(labels), off
        labels.append(d[off:off + n].decode())
        off += n
_, flags, qd, an, _, _ = struct.unpack(">HHHHHH", d[:12])
print({0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}.get(flags & 15, flags & 15))
off = 12
for _ in range(qd):
    off = rname(off)[1] + 4
for _ in range(an):
    off = rname(off)[1]
    t, _, _, rl = struct.unpack(">HHIH", d[off:off + 10])
    off += 10
    if t == 1:
        print(socket.inet_ntop(socket.AF_INET, d[off:off + rl]))
    elif t == 28:
        print(socket.inet_ntop(socket.AF_INET6, d[off:off + rl]))
    elif t == 33:
        pr, w, p = struct.unpack(">HHH", d[off:off + 6])
        print(pr, w, p, rname(off + 6)[0])
    off += rl
PY
dnsq() { python3 "$D/dnsq.py" "$1" "$2" "${3:-127.0.0.1:$DNS_PORT}" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }

# --- certificates: a CA, a server certificate for tls.msrp.test, one for
# other.msrp.test (both signed by the CA, no IP address in either) -------
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=msrpgw test CA" \
    -keyout "$D/ca.key" -out "$D/ca.pem" >/dev/null 2>&1
mkcert() { # NAME DNSNAME
    printf 'subjectAltName = DNS:%s\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n' "$2" >"$D/$1.ext"
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$D/$1.key" -out "$D/$1.csr" >/dev/null 2>&1 &&
        openssl x509 -req -in "$D/$1.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial -days 1 \
            -extfile "$D/$1.ext" -out "$D/$1.pem" >/dev/null 2>&1
}
mkcert good tls.msrp.test
mkcert other other.msrp.test
check "openssl verify -CAfile '$D/ca.pem' -verify_hostname tls.msrp.test '$D/good.pem' >/dev/null 2>&1 &&
       openssl verify -CAfile '$D/ca.pem' -verify_hostname other.msrp.test '$D/other.pem' >/dev/null 2>&1" \
    "setup: CA and server certificates for tls.msrp.test and other.msrp.test"

# --- the silent resolver: a UDP socket that reads nothing, answers nothing
cat >"$D/silent.py" <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(300)
PY
bg python3 "$D/silent.py" "$D/silent.port"
wait_file "$D/silent.port" 10
SILENT=$(cat "$D/silent.port")

# --- relays --------------------------------------------------------------
DNS_PORT=$(free_port)
RES="--resolver 127.0.0.1:$DNS_PORT"
IT_THREADS=1 gw_start A "resolvers = 127.0.0.1:$DNS_PORT"
IT_THREADS=1 gw_start B "relay_uri_host = relayb.msrp.test"
IT_THREADS=1 gw_start T "tls_listen = 127.0.0.1:0
tls_cert = $D/good.pem
tls_key = $D/good.key
relay_uri_host = tls.msrp.test"
TP=$(awk '$1=="tls"{print $2}' "$D/T/ports")
IT_THREADS=1 gw_start T2 "tls_listen = 127.0.0.1:0
tls_cert = $D/other.pem
tls_key = $D/other.key"
T2P=$(awk '$1=="tls"{print $2}' "$D/T2/ports")
# One loop, so the pending look-up and the other session share it.
IT_THREADS=1 gw_start SIL "resolvers = 127.0.0.1:$SILENT
dns_timeout = 4"
# Scenario 2 needs a relay on 127.0.0.1:2855 (the RFC 4976 default port;
# unprivileged, but a developer's own msrpgw may sit there, and msrpgw
# listens with SO_REUSEPORT, so it would share the port silently: probe
# with a plain bind first and skip the scenario when it is taken).
if python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 2855))' 2>/dev/null; then
    IT_THREADS=1 IT_LISTEN=127.0.0.1:2855 gw_start F
else
    F_PORT=
fi

# --- dnsmasq ---------------------------------------------------------------
# --local=/msrp.test/ makes every other name in the zone NXDOMAIN (without
# it, with --no-resolv, dnsmasq answers REFUSED). Addresses are
# --host-record, not --address=/NAME/IP: under --local, --address answers
# AAAA with NXDOMAIN, while --host-record gives the correct NODATA for the
# family a name lacks.
DNSARGS=(--no-daemon --port="$DNS_PORT" --listen-address=127.0.0.1 --bind-interfaces
    --no-resolv --no-hosts --log-queries --log-facility="$D/dnsmasq.log" --pid-file=
    --local=/msrp.test/
    --host-record=relay.msrp.test,127.0.0.1
    --host-record=dead.msrp.test,127.0.0.1
    --host-record=relayb.msrp.test,127.0.0.1
    --host-record=tls.msrp.test,127.0.0.1
    --host-record=fallback.msrp.test,127.0.0.1
    --srv-host=_msrp._tcp.msrp.test,dead.msrp.test,$DEAD,10,0
    --srv-host=_msrp._tcp.msrp.test,relay.msrp.test,$A_PORT,20,0
    --srv-host=_msrps._tcp.msrp.test,tls.msrp.test,$TP,10,0)
bg "$DNSMASQ" "${DNSARGS[@]}" 2>"$D/dnsmasq.err"
DNS_PID=$LAST_PID
for _ in $(seq 100); do
    [ "$(dnsq relay.msrp.test A)" = "NOERROR 127.0.0.1" ] && break
    kill -0 "$DNS_PID" 2>/dev/null || break
    sleep 0.05
done
check "[ \"$(dnsq relay.msrp.test A)\" = 'NOERROR 127.0.0.1' ]" \
    "setup: dnsmasq on 127.0.0.1:$DNS_PORT answers relay.msrp.test A 127.0.0.1 ($(tail -1 "$D/dnsmasq.err"))"
check "[ \"$(dnsq relay.msrp.test AAAA)\" = NOERROR ]" "setup: relay.msrp.test AAAA: no data"
check "[ \"$(dnsq _msrp._tcp.msrp.test SRV | tr ' ' '\n' | sort | tr '\n' ' ')\" = \"$(printf '%s\n' NOERROR 10 0 $DEAD dead.msrp.test 20 0 $A_PORT relay.msrp.test | sort | tr '\n' ' ')\" ]" \
    "setup: _msrp._tcp.msrp.test SRV: dead.msrp.test:$DEAD (priority 10), relay.msrp.test:$A_PORT (20) ($(dnsq _msrp._tcp.msrp.test SRV))"
check "[ \"$(dnsq _msrps._tcp.msrp.test SRV)\" = \"NOERROR 10 0 $TP tls.msrp.test\" ]" \
    "setup: _msrps._tcp.msrp.test SRV: tls.msrp.test:$TP"
check "[ \"$(dnsq nosuch.msrp.test A)\" = NXDOMAIN ] && [ \"$(dnsq _msrp._tcp.fallback.msrp.test SRV)\" = NXDOMAIN ]" \
    "setup: nosuch.msrp.test and _msrp._tcp.fallback.msrp.test: NXDOMAIN"
check "! timeout 3 python3 '$D/dnsq.py' relay.msrp.test A 127.0.0.1:$SILENT >/dev/null 2>&1" \
    "setup: the silent resolver on 127.0.0.1:$SILENT never answers"

# --- helpers ---------------------------------------------------------------
# recv NAME ARGS...: a receiver in the background ($RPID), its path in $D/NAME.path.
recv() {
    local name=$1; shift
    bg timeout 30 "$CAT" recv --out "$D/$name.out" --path-file "$D/$name.path" \
        --expect-sha256 "$WANT" "$@" >"$D/$name.rout" 2>"$D/$name.rerr"
    RPID=$LAST_PID
    wait_file "$D/$name.path" 10
}
# send NAME ARGS...: the sender, then both ends checked.
send() {
    local name=$1; shift
    if [ ! -s "$D/$name.path" ]; then
        check false "$name: the receiver published a path: $(tail -2 "$D/$name.rerr" | tr '\n' ' ')"
        kill "$RPID" 2>/dev/null
        wait "$RPID" 2>/dev/null
        return
    fi
    timeout 30 "$CAT" send "$D/file" --local-uri "$S" --chunk-size 16384 "$@" \
        >"$D/$name.sout" 2>"$D/$name.serr"
    local rc=$?
    check "[ $rc = 0 ]" "$name: send succeeds (rc $rc): $(tail -1 "$D/$name.serr")"
    wait "$RPID"
    rc=$?
    check "[ $rc = 0 ]" "$name: receiver got the file, sha256 equal (rc $rc): $(tail -1 "$D/$name.rerr")"
}
# fails NAME SECONDS REASON CMD...: CMD exits 3 within SECONDS, and its
# stderr says "cannot resolve", the host named in $HOST and REASON.
fails() {
    local name=$1 bound=$2 reason=$3; shift 3
    local t0 t1 rc
    t0=$(now)
    timeout 30 "$@" >"$D/$name.out" 2>"$D/$name.err"
    rc=$?
    t1=$(now)
    local el
    el=$(elapsed "$t0" "$t1")
    check "[ $rc = 3 ]" "$name: exit 3 (got $rc)"
    check "grep -q 'cannot resolve' '$D/$name.err' && grep -qF '$HOST' '$D/$name.err' && grep -qF '$reason' '$D/$name.err'" \
        "$name: stderr names $HOST and '$reason': $(grep -v '^$' "$D/$name.err" | tail -1)"
    check "lt $el $bound" "$name: within ${bound} s (took ${el} s)"
}

# --- 1: relay by SRV, the preferred target refuses, the next one accepts ---
LOG0=$(wc -l <"$D/dnsmasq.log") # dnsmasq's log from here on: scenario 1 only
recv srv --relay-domain msrp.test $RES --user bob --password pw --verbose
send srv --to-path "$(cat "$D/srv.path" 2>/dev/null)"
check "grep -q \"^msrp://127.0.0.1:$A_PORT/\" '$D/srv.path'" \
    "srv: the receiver's path starts with relay A's Use-Path (port $A_PORT): $(cut -d' ' -f1 "$D/srv.path" 2>/dev/null)"
tail -n +$((LOG0 + 1)) "$D/dnsmasq.log" >"$D/srv.dns"
check "grep -q 'query\\[SRV\\] _msrp._tcp.msrp.test' '$D/srv.dns'" "srv: msrpcat asked SRV _msrp._tcp.msrp.test"
order=$(grep -Eo 'query\[(A|AAAA|SRV)\] [^ ]+' "$D/srv.dns" | awk '{print $2}' | uniq | tr '\n' ' ')
check "[[ \"$order\" == '_msrp._tcp.msrp.test dead.msrp.test relay.msrp.test'* ]]" \
    "srv: SRV first, then the targets in priority order: dead.msrp.test (10), relay.msrp.test (20) (asked: $order)"
echo "# srv: the receiver's connection log: $(grep -iE 'refused|dead|:9[;: ]' "$D/srv.rerr" | head -3 | tr '\n' ' ')"

# --- 2: no SRV record: the domain itself on port 2855 ---------------------
if [ -n "$F_PORT" ]; then
    recv fallback --relay-domain fallback.msrp.test $RES --user bob --password pw
    send fallback --to-path "$(cat "$D/fallback.path" 2>/dev/null)"
    check "grep -q '^msrp://127.0.0.1:2855/' '$D/fallback.path'" \
        "fallback: the receiver AUTHed to the relay on fallback.msrp.test:2855: $(cut -d' ' -f1 "$D/fallback.path" 2>/dev/null)"
    check "grep -q 'query\\[SRV\\] _msrp._tcp.fallback.msrp.test' '$D/dnsmasq.log'" \
        "fallback: SRV _msrp._tcp.fallback.msrp.test asked first"
else
    echo "# SKIP scenario 2 (SRV-less fallback to port 2855): 127.0.0.1:2855 is in use"
fi

# --- 3: --relay NAME:PORT, and a To-Path URI with a name -----------------
recv byname --relay "relay.msrp.test:$A_PORT" $RES --user bob --password pw
send byname --relay "relay.msrp.test:$A_PORT" $RES --user alice --password secret \
    --to-path "$(cat "$D/byname.path" 2>/dev/null)"
# A receiver that listens; the sender dials the To-Path URI by name
# (--sessmatch on both ends: the URIs differ in their host only).
recv topath --listen 127.0.0.1:0 --sessmatch
sed -i 's#^msrp://127\.0\.0\.1:#msrp://relay.msrp.test:#' "$D/topath.path"
send topath --to-path "$(cat "$D/topath.path" 2>/dev/null)" $RES --sessmatch

# --- 4: relay A forwards to a next hop named in To-Path -------------------
recv chain --relay "relayb.msrp.test:$B_PORT" $RES --user bob --password pw
check "grep -q \"^msrp://relayb.msrp.test:$B_PORT/\" '$D/chain.path'" \
    "chain: B's Use-Path names relayb.msrp.test: $(cut -d' ' -f1 "$D/chain.path" 2>/dev/null)"
send chain --relay "127.0.0.1:$A_PORT" --user alice --password secret \
    --to-path "$(cat "$D/chain.path" 2>/dev/null)"
check "log_has '$A_LOG' 'connecting to next hop msrp://relayb.msrp.test:$B_PORT'" \
    "chain: A connected to the next hop by its name: $(grep -o 'connecting to next hop [^ ]*' "$A_LOG" | tail -1)"

# --- 5: msrps to a name -----------------------------------------------------
recv tls --tls --ca "$D/ca.pem" --relay "tls.msrp.test:$TP" $RES --user bob --password pw
check "grep -q \"^msrps://tls.msrp.test:$TP/\" '$D/tls.path'" \
    "tls: the receiver AUTHed over TLS to tls.msrp.test:$TP: $(cut -d' ' -f1 "$D/tls.path" 2>/dev/null)"
send tls --tls --ca "$D/ca.pem" $RES --to-path "$(cat "$D/tls.path" 2>/dev/null)"
recv tlssrv --tls --ca "$D/ca.pem" --relay-domain msrp.test $RES --user bob --password pw
check "grep -q \"^msrps://tls.msrp.test:$TP/\" '$D/tlssrv.path'" \
    "tlssrv: --tls --relay-domain found tls.msrp.test:$TP by SRV _msrps._tcp: $(cut -d' ' -f1 "$D/tlssrv.path" 2>/dev/null)"
send tlssrv --tls --ca "$D/ca.pem" $RES --to-path "$(cat "$D/tlssrv.path" 2>/dev/null)"
timeout 30 "$CAT" recv --tls --ca "$D/ca.pem" --relay "tls.msrp.test:$T2P" $RES --user bob --password pw \
    --out "$D/tlsbad.out" --path-file "$D/tlsbad.path" --bind-timeout 3 >"$D/tlsbad.rout" 2>"$D/tlsbad.rerr"
rc=$?
# (no path printed: it failed at the handshake, not by a bind time-out after AUTH)
check "[ $rc = 3 ] && [ ! -s '$D/tlsbad.path' ] && grep -q 'TLS certificate of tls.msrp.test was not accepted' '$D/tlsbad.rerr'" "tlsbad: a certificate for other.msrp.test on tls.msrp.test:$T2P is refused, exit 3 (got $rc): $(tail -1 "$D/tlsbad.rerr")"
timeout 30 "$CAT" recv --tls --ca "$D/ca.pem" --relay "127.0.0.1:$TP" --user bob --password pw \
    --out "$D/tlsip.out" --path-file "$D/tlsip.path" --bind-timeout 3 >"$D/tlsip.rout" 2>"$D/tlsip.rerr"
rc=$?
check "[ $rc = 3 ] && [ ! -s '$D/tlsip.path' ] && grep -q 'TLS certificate of 127.0.0.1 was not accepted' '$D/tlsip.rerr'" "tlsip: dialling the address 127.0.0.1:$TP, the certificate (tls.msrp.test) does not match, exit 3 (got $rc): $(tail -1 "$D/tlsip.rerr")"

# --- 6: NXDOMAIN ----------------------------------------------------------------
HOST=nosuch.msrp.test
fails nx_recv 10 "no such name" "$CAT" recv --relay "nosuch.msrp.test:$A_PORT" $RES --dns-timeout 2 \
    --user bob --password pw --out "$D/nx.out"
fails nx_send 10 "no such name" "$CAT" send "$D/file" --to-path "msrp://nosuch.msrp.test:$A_PORT/x1;tcp" \
    $RES --dns-timeout 2
t0=$(now)
python3 "$RCLIENT" frame --relay "127.0.0.1:$A_PORT" --user alice --password secret \
    --to-path "msrp://127.0.0.1:$A_PORT;tcp msrp://nosuch.msrp.test:1/x;tcp" --expect 481 >"$D/nx_frame.json"
rc=$?
el=$(elapsed "$t0" "$(now)")
check "[ $rc = 0 ]" "nx_relay: next hop nosuch.msrp.test: the AUTHed sender gets 481 ($(cat "$D/nx_frame.json"))"
check "lt $el 5" "nx_relay: the 481 comes within 5 s (took $el s)"
check "log_has '$A_LOG' 'nosuch.msrp.test.*cannot resolve.*no such name'" \
    "nx_relay: A logs the failure naming nosuch.msrp.test: $(grep 'nosuch.msrp.test.*resolve' "$A_LOG" | tail -1 | cut -d' ' -f2-)"

# --- 7: a resolver that never answers -------------------------------------------
HOST=slow.msrp.test
fails slow_recv 10 "timed out" "$CAT" recv --relay "slow.msrp.test:$A_PORT" --resolver "127.0.0.1:$SILENT" \
    --dns-timeout 2 --user bob --password pw --out "$D/slow.out"
# msrpgw SIL (one loop, dns_timeout 4): a look-up hangs while another
# session (IP literals only) is forwarded on the same loop.
t0=$(now)
python3 "$RCLIENT" frame --relay "127.0.0.1:$SIL_PORT" --user alice --password secret \
    --to-path "msrp://127.0.0.1:$SIL_PORT;tcp msrp://slow.msrp.test:1/x;tcp" --expect 481 \
    >"$D/slow_frame.json" 2>&1 &
FPID=$!
IT_PIDS+=($FPID)
for _ in $(seq 100); do grep -q 'slow.msrp.test' "$SIL_LOG" && break; sleep 0.02; done
sleep 0.3
t1=$(now)
recv busy --relay "127.0.0.1:$SIL_PORT" --user bob --password pw
send busy --to-path "$(cat "$D/busy.path" 2>/dev/null)"
el=$(elapsed "$t1" "$(now)")
check "kill -0 $FPID 2>/dev/null" "busy: the look-up of slow.msrp.test was still pending when the transfer ended"
check "lt $el 3" "busy: the transfer took under 3 s while the look-up hung (took $el s)"
wait "$FPID"
rc=$?
el=$(elapsed "$t0" "$(now)")
check "[ $rc = 0 ]" "slow_relay: after dns_timeout the waiting sender gets 481 ($(cat "$D/slow_frame.json"))"
check "lt $el 8" "slow_relay: the 481 comes within dns_timeout = 4 s plus slack (took $el s)"
check "log_has '$SIL_LOG' 'slow.msrp.test.*cannot resolve.*timed out'" \
    "slow_relay: SIL logs the failure naming slow.msrp.test: $(grep 'slow.msrp.test.*resolve' "$SIL_LOG" | tail -1 | cut -d' ' -f2-)"

for g in A B T T2 SIL; do gw_stop "$g"; done
[ -n "$F_PORT" ] && gw_stop F
kill "$DNS_PID" 2>/dev/null
wait "$DNS_PID" 2>/dev/null
it_done
