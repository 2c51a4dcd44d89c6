#!/bin/bash
# relay_timeout: a receiver that stops answering. With chunk_timeout = 2 s
# the sender gets 408 for its chunk (original transaction id) and a
# Failure REPORT (Status 000 408) with the chunk's Message-ID and
# Byte-Range; the relay stays usable afterwards.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_timeout
gw_start GW "chunk_timeout = 2"
R=127.0.0.1:$GW_PORT
bg timeout 30 python3 "$RCLIENT" silent --relay $R --user alice --password secret \
    --ready-file $IT_DIR/ready --hold 8 >$IT_DIR/silent.json
wait_file $IT_DIR/ready 10 || check false "silent receiver ready"
head -c 5000 /dev/urandom >$IT_DIR/in
# The bind SEND is answered (by the relay) 408; send a data chunk too by
# binding with --no-bind semantics: relay_client always binds first, so
# the first answer is the 408 of the bind.
start=$(date +%s.%N)
python3 "$RCLIENT" send --relay $R --to-path "$(cat $IT_DIR/ready)" --linger 1 $IT_DIR/in >$IT_DIR/send.json
end=$(date +%s.%N)
o=$IT_DIR/send.json
check "[ \"$(json_get $o 'j["codes"]')\" = '[408]' ]" "sender gets 408 ($(json_get $o 'j["codes"]'))"
check "[ \"$(json_get $o 'len(j["reports"])')\" = 1 ]" "sender gets exactly one REPORT"
check "[ \"$(json_get $o 'j["reports"][0]["status"]')\" = '000 408 Request Timeout' ]" "REPORT Status: 000 408"
check "python3 -c 'import sys; d=float(sys.argv[2])-float(sys.argv[1]); sys.exit(0 if 1.5 <= d <= 6 else 1)' $start $end" \
    "the 408 comes after chunk_timeout (2 s), not before"

# A data chunk (with Byte-Range) through a second silent receiver.
bg timeout 30 python3 "$RCLIENT" silent --relay $R --user bob --password pw \
    --ready-file $IT_DIR/ready2 --hold 8 >$IT_DIR/silent2.json
wait_file $IT_DIR/ready2 10
python3 - "$RCLIENT" $R "$(cat $IT_DIR/ready2)" >$IT_DIR/data.json <<'PY'
import json, os, sys, secrets
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import relay_client as rc
mp = rc.mp
host, port = rc.hostport(sys.argv[2])
conn = mp.Connection(host, port, 20); conn.seen = []
own = conn.own_uri("d1")
hdrs = [("To-Path", sys.argv[3]), ("From-Path", own), ("Message-ID", "mid42"),
        ("Byte-Range", "1-100/300"), ("Failure-Report", "yes"), ("Content-Type", "text/plain")]
r = rc.request(conn, "SEND", hdrs, b"x" * 100, "+")
rep = None
while rep is None:
    rep = conn.seen.pop(0) if conn.seen else conn.recv_frame()
print(json.dumps({"code": r.code, "tid_ok": True, "report_status": rep.header("Status"),
                  "report_br": rep.header("Byte-Range"), "report_mid": rep.header("Message-ID"),
                  "report_to": rep.header("To-Path"), "own": own}))
PY
o=$IT_DIR/data.json
check "[ \"$(json_get $o 'j["code"]')\" = 408 ]" "data chunk: 408"
check "[ \"$(json_get $o 'j["report_br"]')\" = '1-100/300' ]" "REPORT carries the chunk's Byte-Range"
check "[ \"$(json_get $o 'j["report_mid"]')\" = 'mid42' ]" "REPORT carries the chunk's Message-ID"
check "[ \"$(json_get $o 'j["report_to"] == j["own"]')\" = True ]" "REPORT goes to the sender's From-Path"

# Failure-Report: no => no response and no REPORT at all.
python3 - "$RCLIENT" $R "$(cat $IT_DIR/ready2)" >$IT_DIR/frno.json <<'PY'
import json, os, sys, time
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import relay_client as rc
mp = rc.mp
host, port = rc.hostport(sys.argv[2])
conn = mp.Connection(host, port, 20)
own = conn.own_uri("d2")
conn.send(mp.build_request("SEND", mp.new_tid(), [("To-Path", sys.argv[3]), ("From-Path", own),
          ("Message-ID", "m2"), ("Failure-Report", "no"), ("Content-Type", "text/plain")], b"abc"))
got = []
try:
    while True:
        f = conn.recv_frame(time.monotonic() + 3.5)
        if f is None:
            break
        got.append(f.method or f.code)
except TimeoutError:
    pass
print(json.dumps({"frames": got}))
PY
check "[ \"$(json_get $IT_DIR/frno.json 'j["frames"]')\" = '[]' ]" "Failure-Report: no: neither response nor REPORT"
check "log_has $GW_LOG 'timed out (408)'" "the timeout is logged"
gw_stop GW
it_done
