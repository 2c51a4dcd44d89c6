#!/bin/bash
# relay_hep: HEP3 capture (relay_hep.c) to a collector on 127.0.0.1. A
# sender sends a 300-byte and a 100000-byte message (split by the relay
# into 65536 + 34464-byte pieces) to a receiver; the collector
# (lib/hep_listen.py, a HEP3 decoder written from the specification) must
# get one datagram per forwarded head -- binding SEND, the small message,
# both pieces -- each with the relay's end of the receiver's connection as
# source and the receiver as destination, TCP, a timestamp within the run,
# our capture id, protocol type and session id, and as payload exactly
# the head bytes the receiver got, in order; run again with
# hep_body_bytes = 16, each payload is the head and the first 16 bytes of
# that piece's body. tshark decodes them too when it has a HEP dissector
# (Debian 12's 4.0 has none: then skipped, said so).
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_hep
PCLIENT=$MSRP_SRC/tests/integration/lib/policy_client.py
HEPL=$MSRP_SRC/tests/integration/lib/hep_listen.py

run() {
    BODY=$1
    # The collector exits 3 s after its last datagram (a bounded wait).
    rm -f $IT_DIR/hport
    bg python3 "$HEPL" --port-file $IT_DIR/hport --idle 3 >$IT_DIR/hep.jsonl
    HEPL_PID=$LAST_PID
    wait_file $IT_DIR/hport 5 || { check false "the HEP listener started"; it_done; }
    HPORT=$(cat $IT_DIR/hport)

    T0=$(date +%s)
    rm -rf $IT_DIR/GW # the previous run's (gw_start waits for its ports file)
    IT_THREADS=1 IT_METRICS=127.0.0.1:0 gw_start GW "[log]
hep_address = 127.0.0.1:$HPORT
hep_id = 4242
hep_proto_type = 61
hep_body_bytes = $BODY"
    log_has $GW_LOG "HEP3 capture to udp 127.0.0.1:$HPORT (capture id 4242)"
    check "[ $? -eq 0 ]" "the relay says where it captures to"
    timeout 30 python3 "$PCLIENT" raw --relay 127.0.0.1:$GW_PORT --raw $IT_DIR/raw.bin >$IT_DIR/out.json
    check "[ \"$(json_get $IT_DIR/out.json 'j["codes"]')\" = \"['200 OK', '200 OK']\" ]" \
        "both messages delivered ($(cat $IT_DIR/out.json))"
    RXPORT=$(json_get $IT_DIR/out.json 'j["rx_port"]')
    wait $HEPL_PID # exits 3 s after the last datagram
    T1=$(date +%s)

    python3 - "$IT_DIR/hep.jsonl" "$IT_DIR/raw.bin" "$GW_PORT" "$RXPORT" "$T0" "$T1" "$BODY" >$IT_DIR/verdict.txt <<'EOF'
import base64, json, re, sys
hep = [json.loads(l) for l in open(sys.argv[1])]
raw = open(sys.argv[2], "rb").read()
gw_port, rx_port, t0, t1, body_max = (int(x) for x in sys.argv[3:8])

# The heads of the SENDs the receiver got (among the AUTH answers), in
# order: from a start line to the blank line before a body, or to the
# end-line of a bodiless request.
heads = []
pos = 0
start = re.compile(rb"MSRP (\S+) (\S+)")
while pos < len(raw):
    m = start.match(raw, pos)
    if not m:
        break
    tid = m.group(1)
    endline = raw.index(b"\r\n-------" + tid, pos) + 2
    if m.group(2) == b"SEND":
        blank = raw.find(b"\r\n\r\n", pos, endline)
        # What a datagram carries: the head, then (hep_body_bytes) the
        # start of the body.
        head = raw[pos:blank + 4] if blank >= 0 else raw[pos:endline]
        body = raw[blank + 4:endline - 2] if blank >= 0 else b""
        heads.append(head + body[:body_max])
    pos = raw.index(b"\r\n", endline) + 2
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)
want(len(heads) == 4, "receiver got 4 SENDs, got %d" % len(heads))
want(len(hep) == len(heads), "one datagram per head: %d vs %d" % (len(hep), len(heads)))
want(all("error" not in h for h in hep), "every datagram decodes")
for i, h in enumerate(hep):
    want(h.get("family") == 2 and h.get("ip_proto") == 6, "#%d: IPv4 TCP" % i)
    want(h.get("src") == "127.0.0.1" and h.get("sport") == gw_port,
         "#%d: source 127.0.0.1:%d (got %s:%s)" % (i, gw_port, h.get("src"), h.get("sport")))
    want(h.get("dst") == "127.0.0.1" and h.get("dport") == rx_port,
         "#%d: destination 127.0.0.1:%d (got %s:%s)" % (i, rx_port, h.get("dst"), h.get("dport")))
    want(t0 <= h.get("ts_sec", 0) <= t1 and 0 <= h.get("ts_usec", -1) < 1000000,
         "#%d: timestamp within the run" % i)
    want(h.get("capture_id") == 4242 and h.get("proto_type") == 61, "#%d: id and type" % i)
    want(re.fullmatch(r"[A-Za-z0-9]{16}", h.get("correlation", "")) is not None,
         "#%d: the session id as correlation id" % i)
    got = base64.b64decode(h.get("payload", ""))
    want(i < len(heads) and got == heads[i], "#%d: payload is the head as relayed" % i)
want(body_max == 0 or all(len(h) > 16 and not h.endswith(b"\r\n\r\n") for h in heads[1:]),
     "bodies captured after the heads")
want(len(heads) == 4 and b"Byte-Range: 65537-100000/100000\r\n" in heads[3],
     "the second piece's head has its own Byte-Range")
print("ok" if not bad else "\n".join(bad))
EOF
    check "[ \"$(cat $IT_DIR/verdict.txt)\" = ok ]" "hep_body_bytes $BODY: the datagrams decode as the relayed heads ($(head -3 $IT_DIR/verdict.txt))"
    check "[ \"$(curl -s --max-time 5 http://127.0.0.1:$GW_MPORT/metrics | grep '^msrpgw_hep_sent_total' | awk '{s+=$2} END {print s}')\" = 4 ]" \
        "msrpgw_hep_sent_total = 4"
    gw_stop GW

}
run 0
run 16

if tshark -G protocols 2>/dev/null | awk -F'\t' '$3=="hep"' | grep -q hep; then
    echo "tshark has a HEP dissector: not exercised by this script yet"
else
    echo "note: this tshark has no HEP dissector; decoded by hep_listen.py only"
fi
it_done
