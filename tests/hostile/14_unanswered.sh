#!/bin/bash
# hostile 14, a next hop that reads but never answers (issue 16: chunks in
# flight per connection): each forwarded chunk keeps a record until it is
# answered or chunk_timeout passes, so a receiver that swallows requests
# without answering used to grow the gateway by one record (a head copy of
# max_header_bytes) per request of its sender, for 30 s each.
# Required, with max_chunks_in_flight = 8: the receiver sees exactly 8 of
# the sender's 400 pipelined SENDs and no more while it stays silent; once
# it answers, the rest flow (the sender is read again), every SEND gets its
# 200 in order, and the gateway's RSS stays bounded while 50 bystanders
# transfer through it.
. "$(dirname "$0")/lib/hostile.sh"
hostile_init unanswered
gw_start GW "max_chunks_in_flight = 8"
bystanders_start GW 50 || it_done
rss_baseline GW
RSS_BOUND=32768

"$PY" - "$GW_PORT" >$IT_DIR/unanswered.json <<'PY'
import json, os, sys, time
sys.path.insert(0, os.path.join(os.environ["MSRP_SRC"], "tests", "hostile", "lib"))
import attack  # noqa: E402
mp = attack.mp
port = int(sys.argv[1])
N, CAP = 400, 8
out = {}
rx = attack.connect(port)
use = attack.digest_auth(rx, "bob", "pw")
to = use + " " + rx.own
tx = attack.connect(port)
tx_uri = tx.own_uri("s14")
body = b"x" * 2000
frames = b"".join(attack.frame("SEND", [("To-Path", to), ("From-Path", tx_uri),
                                        ("Message-ID", "m%d" % i), ("Byte-Range", "1-2000/2000"),
                                        ("Content-Type", "text/plain")], body)
                  for i in range(N))
tx.sock.sendall(frames)

# Silent receiver: count what arrives in 3 s.
seen = []
deadline = time.monotonic() + 3
try:
    while True:
        f = rx.recv_frame(deadline)
        if f is None:
            break
        seen.append(f)
except TimeoutError:
    pass
out["seen_while_silent"] = len(seen)
# Now answer everything, as it comes.
for f in seen:
    rx.send(mp.build_response(f, 200, "OK", rx.own))
answered = len(seen)
deadline = time.monotonic() + 30
try:
    while answered < N:
        f = rx.recv_frame(deadline)
        if f is None:
            break
        rx.send(mp.build_response(f, 200, "OK", rx.own))
        answered += 1
except TimeoutError:
    pass
out["answered"] = answered
codes = []
deadline = time.monotonic() + 30
try:
    while len(codes) < N:
        f = tx.recv_frame(deadline)
        if f is None:
            break
        if not f.is_request():
            codes.append(f.code)
except TimeoutError:
    pass
out["sender_200s"] = codes.count(200)
out["sender_codes"] = len(codes)
print(json.dumps(out))
PY
cat $IT_DIR/unanswered.json
j=$IT_DIR/unanswered.json
check "[ \"$(json_get $j 'j["seen_while_silent"]')\" = 8 ]" \
    "a silent receiver gets exactly max_chunks_in_flight (8) chunks ($(json_get $j 'j["seen_while_silent"]'))"
check "[ \"$(json_get $j 'j["answered"]')\" = 400 ]" "once it answers, all 400 SENDs reach it"
check "[ \"$(json_get $j 'j["sender_200s"]')\" = 400 ]" "the sender gets 400 x 200"
rss_check GW $RSS_BOUND "RSS with a silent receiver"
bystanders_stop
gw_stop GW
it_done
