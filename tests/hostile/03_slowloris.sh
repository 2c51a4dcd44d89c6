#!/bin/bash
# hostile 03, slowloris and idle connections (issue 10 row 3): peers that
# connect and send nothing, or one byte of a header section a second, or
# AUTH and then fall silent. Required: bind_timeout, header_timeout and
# idle_timeout all fire on inbound connections, each counted under its
# own drops reason, while 50 bystander sessions transfer through the same
# gateway, and the gateway's memory stays bounded. Each kind must be closed
# neither before its timeout nor much after it (connections not yet
# adopted may spend up to 2 s in accept-time steering first).
. "$(dirname "$0")/lib/hostile.sh"
hostile_init slowloris
NSLOW=1000
NIDLE=5000
NAUTH=40
# Room for the attacker's sockets (and the gateway's: it inherits this).
FDS=$(ulimit -n)
if [ "$FDS" -lt $((NSLOW + NIDLE + NAUTH + 1000)) ]; then
    NIDLE=$((FDS - NSLOW - NAUTH - 1000))
    [ $NIDLE -ge 1000 ] || { echo "SKIP: ulimit -n $FDS is too low"; exit 77; }
fi
# RSS bound: 5.5-7 KiB per connection measured (6,100 at once: +33..41 MiB);
# under ASan redzones and its 256 MiB free quarantine add much more.
RSS_BOUND=98304
ldd "$MSRPGW" 2>/dev/null | grep -q libasan && RSS_BOUND=$((RSS_BOUND * 5))
# TLS too: a handshake that never starts or crawls is bounded by accept-
# time steering (2 s) and then bind_timeout; a crawling header section
# inside TLS by header_timeout.
command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 77; }
openssl req -x509 -newkey rsa:2048 -nodes -keyout $IT_DIR/key.pem -out $IT_DIR/cert.pem \
    -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1
NTLS=20
gw_start GW "bind_timeout = 3
header_timeout = 2
idle_timeout = 5
tls_listen = 127.0.0.1:0
tls_cert = $IT_DIR/cert.pem
tls_key = $IT_DIR/key.pem"
TLS_PORT=$(awk '$1=="tls"{print $2}' $IT_DIR/GW/ports)
bystanders_start GW 50 || it_done
rss_settle GW
rss_baseline GW

cat >$IT_DIR/holders.py <<'PY'
"""Opens NSLOW slowloris connections (a SEND header section, one byte a
second, the first at once), NIDLE connections that send nothing and NAUTH
that AUTH (bob) and then send nothing; notes when the gateway closes each,
relative to its own start (for AUTHed ones: to its 200). Writes READY once
all are open; prints one JSON line."""
import json, os, resource, secrets, selectors, socket, sys, time
sys.path.insert(0, os.path.join(os.environ["MSRP_SRC"], "tests", "integration", "lib"))
import relay_client as rcl  # noqa: E402

relay, nslow, nidle, nauth, ready, limit = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                            int(sys.argv[4]), sys.argv[5], float(sys.argv[6]))
host, port = rcl.hostport(relay)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
head = ("MSRP %s SEND\r\nTo-Path: msrp://%s:%d/s1ow;tcp\r\nFrom-Path: msrp://127.0.0.1:9/x;tcp\r\n"
        "Message-ID: m\r\nContent-Type: text/plain\r\n\r\n" % (secrets.token_hex(4), host, port)).encode()
sel = selectors.DefaultSelector()
conns = []  # [sock, kind, start, closed_after, bytes_sent]
args = type("A", (), {"relay": relay, "tls": False, "timeout": 20.0})()
for i in range(nauth):
    c = rcl.connect(args)
    codes, _ = rcl.do_auth(c, args, c.own_uri("ia%d" % i), "bob", "pw")
    assert codes[-1] == 200, codes
    c.sock.setblocking(False)
    conns.append([c.sock, "auth", time.monotonic(), None, 0])
for i in range(nslow + nidle):
    s = socket.create_connection((host, port))
    s.setblocking(False)
    kind = "slow" if i < nslow else "idle"
    n = 0
    if kind == "slow":
        n = s.send(head[:1])
    conns.append([s, kind, time.monotonic(), None, n])
for k, c in enumerate(conns):
    sel.register(c[0], selectors.EVENT_READ, k)
with open(ready, "w") as fp:
    fp.write("%d\n" % len(conns))
t_end = time.monotonic() + limit
t_tick = time.monotonic() + 1
left = len(conns)
while left and time.monotonic() < t_end:
    for key, _ in sel.select(0.1):
        c = conns[key.data]
        try:
            d = c[0].recv(4096)
        except BlockingIOError:
            continue
        except OSError:
            d = b""
        if d == b"":
            c[3] = time.monotonic() - c[2]
            sel.unregister(c[0])
            c[0].close()
            left -= 1
    if time.monotonic() >= t_tick:
        t_tick += 1
        for c in conns:
            if c[1] == "slow" and c[3] is None and c[4] < len(head) - 1:
                try:
                    c[4] += c[0].send(head[c[4]:c[4] + 1])
                except OSError:
                    pass
out = {}
for kind in ("slow", "idle", "auth"):
    t = [c[3] for c in conns if c[1] == kind and c[3] is not None]
    out[kind] = {"n": sum(1 for c in conns if c[1] == kind), "closed": len(t),
                 "min": round(min(t), 2) if t else None, "max": round(max(t), 2) if t else None}
out["slow_bytes_max"] = max([c[4] for c in conns if c[1] == "slow"] or [0])
print(json.dumps(out))
PY

cat >$IT_DIR/tls.py <<'PY'
"""On the TLS port, N each of: a connection that sends nothing, one that
sends a real ClientHello one byte a second, one that completes the
handshake and sends a header section one byte a second. Prints when the
gateway closed each (seconds after connecting)."""
import json, socket, ssl, sys, threading, time
port, n, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
res = {"idle": [], "hello": [], "head": []}
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

def crawl(kind):
    data = b"MSRP t1 SEND\r\nTo-Path: msrp://127.0.0.1/s1ow;tcp\r\n"
    if kind == "hello":
        inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
        o = ctx.wrap_bio(inb, outb)
        try:
            o.do_handshake()
        except ssl.SSLWantReadError:
            pass
        data = outb.read()
    s = socket.create_connection(("127.0.0.1", port))
    if kind == "head":
        s = ctx.wrap_socket(s, server_hostname="x")
    t0 = time.monotonic()
    s.settimeout(1)
    k = 0
    while time.monotonic() - t0 < limit:
        if kind != "idle" and k < len(data) - 1:
            s.send(data[k:k + 1])
            k += 1
        try:
            if s.recv(16) == b"":
                break
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except OSError:
            break
    else:
        return
    res[kind].append(time.monotonic() - t0)

ts = [threading.Thread(target=crawl, args=(k,)) for k in res for _ in range(n)]
[t.start() for t in ts]
[t.join() for t in ts]
print(json.dumps({k: {"closed": len(v), "min": round(min(v), 2) if v else None,
                      "max": round(max(v), 2) if v else None} for k, v in res.items()}))
PY
timeout 60 python3 $IT_DIR/tls.py $TLS_PORT $NTLS 20 >$IT_DIR/tls.json 2>$IT_DIR/tls.err &
TPID=$!
IT_PIDS+=($TPID)
timeout 60 python3 $IT_DIR/holders.py 127.0.0.1:$GW_PORT $NSLOW $NIDLE $NAUTH $IT_DIR/ready 25 \
    >$IT_DIR/holders.json 2>$IT_DIR/holders.err &
HPID=$!
IT_PIDS+=($HPID)
wait_until 40 "[ -s $IT_DIR/ready ]" || check false "attacker opened its connections"
# The gateway's peak RSS while they are open (and being closed).
PEAK=0
while kill -0 $HPID 2>/dev/null; do
    R=$(gw_rss_kb GW)
    [ "$R" -gt $PEAK ] && PEAK=$R
    sleep 0.2
done
wait $HPID
check "[ $((PEAK - GW_RSS0)) -lt $RSS_BOUND ]" \
    "$((NSLOW + NIDLE + NAUTH)) attacker connections: peak RSS $GW_RSS0 -> $PEAK KiB (growth < $RSS_BOUND KiB)"
cat $IT_DIR/holders.err
cat $IT_DIR/holders.json
j() { json_get $IT_DIR/holders.json "$1"; }
in_range() { python3 -c 'import sys; v = sys.argv[1]; sys.exit(v == "None" or not float(sys.argv[2]) <= float(v) <= float(sys.argv[3]))' "$@"; }
check "[ $(j 'j["slow"]["closed"]') -eq $NSLOW ]" "all $NSLOW slowloris connections closed"
check "in_range $(j 'j["slow"]["min"]') 1.9 8 && in_range $(j 'j["slow"]["max"]') 1.9 8" \
    "... header_timeout (2 s) after their first byte, plus steering ($(j 'j["slow"]["min"]')..$(j 'j["slow"]["max"]') s)"
check "[ $(j 'j["slow_bytes_max"]') -lt 20 ]" "... long before their header section was complete"
check "[ $(j 'j["idle"]["closed"]') -eq $NIDLE ]" "all $NIDLE silent connections closed"
check "in_range $(j 'j["idle"]["min"]') 2.9 9 && in_range $(j 'j["idle"]["max"]') 2.9 9" \
    "... bind_timeout (3 s) after they connected, plus steering ($(j 'j["idle"]["min"]')..$(j 'j["idle"]["max"]') s)"
check "[ $(j 'j["auth"]["closed"]') -eq $NAUTH ]" "all $NAUTH AUTHed, then silent connections closed"
check "in_range $(j 'j["auth"]["min"]') 4.9 9 && in_range $(j 'j["auth"]["max"]') 4.9 9" \
    "... idle_timeout (5 s) after their AUTH ($(j 'j["auth"]["min"]')..$(j 'j["auth"]["max"]') s)"
wait $TPID
cat $IT_DIR/tls.err $IT_DIR/tls.json
t() { json_get $IT_DIR/tls.json "$1"; }
for k in idle hello head; do
    lo=2.9 what="bind_timeout (3 s)"
    [ $k = head ] && lo=1.9 what="header_timeout (2 s)"
    check "[ $(t "j['$k']['closed']") -eq $NTLS ] && in_range $(t "j['$k']['min']") $lo 9 && in_range $(t "j['$k']['max']") $lo 9" \
        "TLS, $k: all $NTLS closed after $what plus steering ($(t "j['$k']['min']")..$(t "j['$k']['max']") s)"
done
check "[ $(gw_metric GW msrpgw_drops_total 'reason="header_timeout"') -eq $((NSLOW + NTLS)) ]" \
    "drops{reason=\"header_timeout\"} = $NSLOW + $NTLS (TLS)"
check "[ $(gw_metric GW msrpgw_drops_total 'reason="bind_timeout"') -eq $((NIDLE + 2 * NTLS)) ]" \
    "drops{reason=\"bind_timeout\"} = $NIDLE + $((2 * NTLS)) (TLS)"
check "[ $(gw_metric GW msrpgw_drops_total 'reason="next_hop_failed"') -eq 0 ]" \
    "cut TLS handshakes are not counted as failed next hops"
check "[ $(gw_metric GW msrpgw_drops_total 'reason="idle_timeout"') -eq $NAUTH ]" \
    "drops{reason=\"idle_timeout\"} = $NAUTH (no bystander among them)"
bystanders_stop
rss_check GW $RSS_BOUND "after the attack"
gw_stop GW
it_done
