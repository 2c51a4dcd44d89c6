#!/bin/bash
# hostile 02, stalled chunk (issue 10 row 2): a peer that knows a
# receiver's path sends a SEND head and half the body, trickles 1 KB every
# half second for a while, then stops; in a second run it drips one byte
# every half second instead (2 B/s, under chunk_min_rate 512 B/s). A chunk owns the next hop's frame slot until its end-line, so
# without a bound every other sender to that receiver would wait for ever.
# Required: once the body made no progress for chunk_stall_timeout (2 s
# here) while the relay would read it, the receiver gets the chunk ended
# with '#', the attacker's connection is closed, drops{reason="chunk_stall"}
# counts it, and the sender queued behind it gets its file through intact --
# although it waited for the slot longer than chunk_stall_timeout itself
# (time the relay holds a sender back is not that sender's stall). The
# dripping sender is handled as a stalled one, chunk_stall_timeout after
# its drip began.
# Meanwhile 50 bystander sessions transfer through the same gateway.
. "$(dirname "$0")/lib/hostile.sh"
hostile_init stalled_chunk
gw_start GW "chunk_stall_timeout = 2"
bystanders_start GW 50 || it_done
rss_settle GW
rss_baseline GW

cat >$IT_DIR/stall.py <<'PY'
"""A receiver (bob) AUTHs; the attacker sends a head, 50,000 of 100,000
body bytes, then TICK bytes every 0.5 s for TRICKLE s (TRICKLE < 0: until
the relay closes it, at most 20 s), then nothing; 0.3 s after it, a victim sender (unauthenticated, its own
connection) sends 300 kB in 64 KiB chunks to the same receiver and queues
behind the attacker. Prints one JSON line."""
import hashlib, json, os, secrets, socket, sys, threading, time
sys.path.insert(0, os.path.join(os.environ["MSRP_SRC"], "tests", "integration", "lib"))
import relay_client as rcl  # noqa: E402
mp = rcl.mp

relay, trickle, tick = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
host, port = rcl.hostport(relay)
args = type("A", (), {"relay": relay, "tls": False, "timeout": 30.0})()
out = {"errors": []}
r = rcl.connect(args)
own = r.own_uri("rv" + secrets.token_hex(4))
codes, last = rcl.do_auth(r, args, own, "bob", "pw")
path = last.header("Use-Path") + " " + own
chunks, got = [], {}
t0 = time.monotonic()

def receiver():
    try:
        while True:
            f = r.recv_frame(time.monotonic() + 40)
            if f is None:
                return
            if not f.is_request():
                continue
            r.send(mp.build_response(f, 200, "OK", own))
            mid = f.header("Message-ID")
            chunks.append({"mid": mid, "flag": f.flag, "n": len(f.body or b""),
                           "t": round(time.monotonic() - t0, 2)})
            if f.body and f.header("Byte-Range"):
                got.setdefault(mid, {})[f.byte_range()[0]] = f.body
    except Exception as e:  # noqa: BLE001
        out["errors"].append("receiver: %r" % e)

threading.Thread(target=receiver, daemon=True).start()

a = socket.create_connection((host, port))
head = ("MSRP %s SEND\r\nTo-Path: %s\r\nFrom-Path: msrp://127.0.0.1:9/att;tcp\r\n"
        "Message-ID: stalled\r\nByte-Range: 1-100000/100000\r\n"
        "Content-Type: application/octet-stream\r\n\r\n" % (secrets.token_hex(6), path))
a.sendall(head.encode() + os.urandom(50000))
t_burst = time.monotonic()

data = os.urandom(300000)
res = {}

def victim():
    s = rcl.connect(args)
    sown = s.own_uri("vi" + secrets.token_hex(4))
    cs = []
    try:
        off = 0
        while off < len(data):
            body = data[off:off + 65536]
            end = off + len(body) >= len(data)
            h = [("To-Path", path), ("From-Path", sown), ("Message-ID", "victim"),
                 ("Byte-Range", "%d-%d/%d" % (off + 1, off + len(body), len(data))),
                 ("Content-Type", "application/octet-stream")]
            cs.append(rcl.request(s, "SEND", h, body, "$" if end else "+",
                                  time.monotonic() + 30).code)
            off += len(body)
    except Exception as e:  # noqa: BLE001
        out["errors"].append("victim: %r" % e)
    res["codes"] = cs
    res["done"] = round(time.monotonic() - t0, 2)

def wait_for(cond, seconds):
    end = time.monotonic() + seconds
    while not cond() and time.monotonic() < end:
        time.sleep(0.02)

# The victim must queue behind the attacker, whose chunk is forwarded as it
# comes (the receiver sees no whole frame before its end, and no metric
# tells this connection's chunk apart from the bystanders'): 0.3 s for
# the attacker's 50 kB to reach the gateway first.
time.sleep(0.3)
vt = threading.Thread(target=victim)
vt.start()
# Progress: the relay must not abort a chunk at 2 KB/s, only a stopped (or
# dripping) one.
t_stop = time.monotonic() + (trickle if trickle >= 0 else 20)
a.settimeout(0.5)
closed_early = False
t_silent = time.monotonic()
while time.monotonic() < t_stop:
    t_silent = time.monotonic()
    a.send(b"x" * tick)
    try:
        if a.recv(1) == b"":
            closed_early = True
            break
    except socket.timeout:
        pass
a.settimeout(30)
try:
    closed = a.recv(1) == b""
except socket.timeout:
    closed = False
except OSError:
    closed = True
out["attacker_closed_early"] = closed_early
out["closed_after_burst_s"] = round(time.monotonic() - t_burst, 2)
out["attacker_closed"] = closed
out["attacker_silent_for"] = round(time.monotonic() - t_silent, 2)
vt.join(40)
# The receiver's last frames: the victim's whole file, the stalled chunk's end.
wait_for(lambda: (sum(len(b) for b in got.get("victim", {}).values()) >= len(data) and
                  any(c["mid"] == "stalled" and c["flag"] in "#$" for c in chunks)), 5)
out["victim_codes"] = res.get("codes")
out["victim_done"] = res.get("done")
parts = got.get("victim", {})
body = b"".join(parts[k] for k in sorted(parts))
out["victim_intact"] = hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
out["stalled_flags"] = [c["flag"] for c in chunks if c["mid"] == "stalled"]
out["stalled_bytes"] = sum(c["n"] for c in chunks if c["mid"] == "stalled")
print(json.dumps(out))
PY

TRICKLE=3
timeout 60 python3 $IT_DIR/stall.py 127.0.0.1:$GW_PORT $TRICKLE 1000 >$IT_DIR/stall.json
cat $IT_DIR/stall.json
j() { json_get $IT_DIR/stall.json "$1"; }
check "[ \"$(j 'j["errors"]')\" = '[]' ]" "no errors in the scenario"
check "[ \"$(j 'j["attacker_closed_early"]')\" = False ]" "a chunk still making progress (2 KB/s) is not aborted"
check "[ \"$(j 'j["attacker_closed"]')\" = True ]" "the stalled sender's connection is closed"
check "python3 -c 'import sys; t = float(sys.argv[1]); sys.exit(not 1.9 <= t <= 6)' $(j 'j["attacker_silent_for"]')" \
    "closed chunk_stall_timeout (2 s) after its last byte, within 4 s more ($(j 'j["attacker_silent_for"]') s)"
check "[ \"$(j 'j["stalled_flags"]')\" = \"['#']\" ]" "the receiver gets the stalled chunk ended with '#'"
check "[ \"$(j 'j["victim_codes"]')\" = '[200, 200, 200, 200, 200]' ]" "the queued sender gets its 200s"
check "[ \"$(j 'j["victim_intact"]')\" = True ]" "the queued sender's file arrives intact"
check "python3 -c 'import sys; sys.exit(not float(sys.argv[1]) > 2 + $TRICKLE)' $(j 'j["victim_done"]')" \
    "the queued sender waited longer than chunk_stall_timeout and was not cut ($(j 'j["victim_done"]') s)"
check "[ $(gw_metric GW msrpgw_drops_total 'reason="chunk_stall"') -eq 1 ]" \
    "drops{reason=\"chunk_stall\"} = 1 (the attacker only)"
log_has $GW_LOG "made no progress for 2000 ms after 5[0-9]* bytes: aborting it"
check "[ $? -eq 0 ]" "logged, with the bytes it had forwarded"

# The drip: a byte every half second is progress of a kind, but under
# chunk_min_rate (512 B/s): aborted as a stalled chunk would be.
timeout 60 python3 $IT_DIR/stall.py 127.0.0.1:$GW_PORT -1 1 >$IT_DIR/drip.json
cat $IT_DIR/drip.json
k() { json_get $IT_DIR/drip.json "$1"; }
check "[ \"$(k 'j["errors"]')\" = '[]' ]" "drip: no errors in the scenario"
check "[ \"$(k 'j["attacker_closed_early"]')\" = True ]" "drip: the dripping sender is closed while it drips"
check "python3 -c 'import sys; t = float(sys.argv[1]); sys.exit(not 1.9 <= t <= 6)' $(k 'j["closed_after_burst_s"]')" \
    "drip: closed chunk_stall_timeout (2 s) after its last real progress (the 50 kB), within 4 s more ($(k 'j["closed_after_burst_s"]') s)"
check "[ \"$(k 'j["stalled_flags"]')\" = \"['#']\" ]" "drip: the receiver gets the chunk ended with '#'"
check "[ \"$(k 'j["victim_codes"]')\" = '[200, 200, 200, 200, 200]' ] && [ \"$(k 'j["victim_intact"]')\" = True ]" \
    "drip: the queued sender gets its 200s and its file intact"
check "[ $(gw_metric GW msrpgw_drops_total 'reason="chunk_stall"') -eq 2 ]" "drops{reason=\"chunk_stall\"} = 2"
log_has $GW_LOG "bytes in 2000 ms, under chunk_min_rate 512 B/s, after 5[0-9]* bytes: aborting it"
check "[ $? -eq 0 ]" "drip: logged as under chunk_min_rate"
bystanders_stop
RSS_BOUND=32768
ldd "$MSRPGW" 2>/dev/null | grep -q libasan && RSS_BOUND=$((RSS_BOUND * 8)) # redzones, quarantine
rss_check GW $RSS_BOUND "after the attack"
gw_stop GW
it_done
