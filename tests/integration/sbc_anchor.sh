#!/bin/bash
# sbc_anchor: msrpgw as an SBC's MSRP media anchor, driven over the ng
# control protocol (rtpengine's) with msrpgw-ctl, between two strict
# msrpcat endpoints (each checks that every request comes from the path it
# negotiated -- msrpgw's -- and answers 481 otherwise).
#  1. offer: A's SDP (a=path S_A) comes back with msrpgw's address, port
#     and a=path (our URI for B), every other line unchanged;
#  2. answer: B's SDP (a=path R_B, B listens) comes back with our URI for
#     A; msrpgw dials B and binds with an empty SEND;
#  3. A (the offerer, active) dials msrpgw and sends a file in 64 KiB
#     chunks with Success-Report: B gets it intact with From-Path = our
#     URI for B; A gets B's Success REPORT with From-Path = our URI for A;
#  4. query shows the legs connected and the bytes; a retransmitted
#     request (same cookie) is answered from the cache; delete tears the
#     call down and a later query says the call-id is unknown;
#  5. roles reversed (a=setup:passive in the offer, B answers active):
#     msrpgw dials A, B dials msrpgw; a file goes from B to A;
#  5b. both endpoints active: A's data waits (up to connect_timeout) for B
#     to dial in, then flows; B never dialling: A gets 481 after the wait;
#  6. an offer with no MSRP section comes back unchanged; bad requests get
#     result error with a reason;
#  7. a call whose endpoints never connect is removed after anchor_timeout.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init sbc_anchor
CAT=$MSRP_BUILD/tools/msrpcat
CTL=$MSRP_BUILD/tools/msrpgw-ctl
D=$IT_DIR
IT_THREADS=2 gw_start GW "[sbc]
listen = 127.0.0.1:0
unix = $D/ng.sock
anchor_timeout = 3
[metrics]
listen = 127.0.0.1:0
[gateway]
connect_timeout = 2"
NG=127.0.0.1:$(awk '$1=="ng"{print $2}' "$D/GW/ports")
ctl() { "$CTL" --ng "$NG" "$@"; }
head -c 1000003 /dev/urandom >"$D/file"
WANT=$(sha256sum "$D/file" | cut -c1-64)

PONG=$(ctl ping)
check '[ "$PONG" = "{\"result\":\"pong\"}" ]' "ping answers pong ($PONG)"
UPONG=$("$CTL" --unix "$D/ng.sock" ping)
check '[ "$UPONG" = "{\"result\":\"pong\"}" ]' "ping over the unix stream socket ($UPONG)"
ctl frobnicate 2>"$D/unk.err" >/dev/null
check "[ $? = 1 ] && grep -q 'Unrecognized command' \"$D/unk.err\"" "an unknown command: result error, Unrecognized command"
metric() { # NAME: the sum over cores
    python3 - "$(awk '$1=="metrics"{print $2}' "$D/GW/ports")" "$1" <<'PY'
import sys, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
print(int(sum(float(l.split()[-1]) for l in t.splitlines() if l.startswith(sys.argv[2] + "{"))))
PY
}

# 1. offer
S_A="msrp://127.0.0.1:9/alice$$;tcp"
sdp() { # ADDR PORT PATH [SETUP]
    printf 'v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n' "$1" "$1"
    printf 'm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n'
    printf 'm=message %s TCP/MSRP *\r\na=accept-types:*\r\na=path:%s\r\n' "$2" "$3"
    [ -n "${4:-}" ] && printf 'a=setup:%s\r\n' "$4"
    printf 'a=max-size:1000000000\r\n'
}
sdp 127.0.0.1 9 "$S_A" >"$D/offer.sdp"
ctl offer "$D/offer.sdp" --call-id c1 --from-tag ta >"$D/offer.out"
check "[ $? = 0 ]" "offer: result ok"
U_B=$(sed -n 's/^a=path:\(.*\)\r$/\1/p' "$D/offer.out")
check "[[ \"$U_B\" =~ ^msrp://127\\.0\\.0\\.1:$GW_PORT/[0-9A-Za-z]{16}\\;tcp\$ ]]" "offer: a=path is our URI ($U_B)"
check "grep -q \"^m=message $GW_PORT TCP/MSRP \\*\" \"$D/offer.out\"" "offer: m= port is ours"
check "[ \"$(grep -c '^c=IN IP4 127.0.0.1' "$D/offer.out")\" = 2 ]" "offer: a media-level c= with our address (session c= kept)"
check "diff <(grep -v '^a=path\\|^m=message\\|^c=' \"$D/offer.sdp\") <(grep -v '^a=path\\|^m=message\\|^c=' \"$D/offer.out\")" \
    "offer: every other line byte for byte"

# 2. answer: B listens (passive), strict about who sends.
bg timeout 30 "$CAT" recv --listen 127.0.0.1:0 --out "$D/b.out" --path-file "$D/b.path" \
    --expect-remote-path "$U_B" --expect-sha256 "$WANT" >"$D/b.rout" 2>"$D/b.rerr"
BPID=$LAST_PID
wait_file "$D/b.path" 10 || check false "B ready"
R_B=$(cat "$D/b.path")
B_PORT=$(echo "$R_B" | sed 's|msrp://127.0.0.1:\([0-9]*\)/.*|\1|')
sdp 127.0.0.1 "$B_PORT" "$R_B" >"$D/answer.sdp"
"$CTL" --unix "$D/ng.sock" answer "$D/answer.sdp" --call-id c1 --from-tag ta --to-tag tb >"$D/answer.out"
check "[ $? = 0 ]" "answer (over the unix socket): result ok"
check "[ \"$(metric msrpgw_anchors_current)\" = 1 ]" "msrpgw_anchors_current is 1"
U_A=$(sed -n 's/^a=path:\(.*\)\r$/\1/p' "$D/answer.out")
check "[[ \"$U_A\" =~ ^msrp://127\\.0\\.0\\.1:$GW_PORT/[0-9A-Za-z]{16}\\;tcp\$ ]] && [ \"$U_A\" != \"$U_B\" ]" \
    "answer: a=path is our other URI ($U_A)"

# 3. A dials msrpgw and sends.
timeout 30 "$CAT" send "$D/file" --to-path "$U_A" --local-uri "$S_A" --success-report \
    >"$D/a.sout" 2>"$D/a.serr"
rc=$?
check "[ $rc = 0 ]" "A: file sent, every chunk 200, Success REPORT back (rc $rc): $(tail -1 "$D/a.serr")"
wait "$BPID"
rc=$?
check "[ $rc = 0 ]" "B: strict receiver got the file intact (rc $rc)"
check "[ \"$(sed -n 's/^from-path //p' "$D/b.rout")\" = \"$U_B\" ]" "B: From-Path is our URI for B, alone"
check "[ \"$(sed -n 's/^report 200 from-path //p' "$D/a.sout")\" = \"$U_A\" ]" \
    "A: Success REPORT's From-Path is our URI for A"

# 4. query, retransmission, delete.
ctl query --call-id c1 >"$D/q.json"
# Both endpoints have hung up: the anchor stays (until delete or
# anchor_timeout) with its legs waiting, and counts what went through.
check "python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); s=j[\"streams\"][0]; sys.exit(0 if (s[\"offerer\"][\"state\"], s[\"answerer\"][\"state\"], s[\"offerer\"][\"peer-path\"], s[\"answerer\"][\"our-uri\"]) == (\"waiting\", \"waiting\", \"$S_A\", \"$U_B\") else 1)' \"$D/q.json\"" \
    "query: both legs waiting after the endpoints left, paths as negotiated ($(cut -c1-200 "$D/q.json"))"
check "python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); s=j[\"streams\"][0]; sys.exit(0 if s[\"offerer\"][\"bytes\"] == 1000003 else 1)' \"$D/q.json\"" \
    "query: 1000003 body bytes from the offerer"
python3 - "$NG" >"$D/retx.txt" <<'PY'
import socket, sys
h, p = sys.argv[1].rsplit(":", 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
req = b"retx1 d7:command5:query7:call-id2:c1e"
s.sendto(req, (h, int(p)))
a = s.recv(65536)
s.sendto(req, (h, int(p)))
b = s.recv(65536)
print("same" if a == b and a.startswith(b"retx1 d") else "differ")
PY
check "[ \"$(cat "$D/retx.txt")\" = same ]" "a retransmitted request gets the same reply"
ctl delete --call-id c1 --from-tag ta >/dev/null
check "[ $? = 0 ]" "delete: result ok"
check "[ \"$(metric msrpgw_anchors_current)\" = 0 ]" "msrpgw_anchors_current back to 0"
ctl query --call-id c1 >/dev/null 2>"$D/q2.err"
check "[ $? = 1 ] && grep -q 'Unknown call-id' \"$D/q2.err\"" "query after delete: Unknown call-id"

# 5. Roles reversed: A asks to be dialled, B dials us.
bg timeout 30 "$CAT" recv --listen 127.0.0.1:0 --out "$D/a2.out" --path-file "$D/a2.path" \
    --expect-sha256 "$WANT" >"$D/a2.rout" 2>"$D/a2.rerr"
APID=$LAST_PID
wait_file "$D/a2.path" 10 || check false "A2 ready"
S_A2=$(cat "$D/a2.path")
A2_PORT=$(echo "$S_A2" | sed 's|msrp://127.0.0.1:\([0-9]*\)/.*|\1|')
sdp 127.0.0.1 "$A2_PORT" "$S_A2" passive >"$D/offer2.sdp"
ctl offer "$D/offer2.sdp" --call-id c2 --from-tag ta2 >"$D/offer2.out"
check "grep -q '^a=setup:actpass' \"$D/offer2.out\"" "offer with a=setup: B is offered actpass"
U_B2=$(sed -n 's/^a=path:\(.*\)\r$/\1/p' "$D/offer2.out")
S_B2="msrp://127.0.0.1:9/bob$$;tcp"
sdp 127.0.0.1 9 "$S_B2" active >"$D/answer2.sdp"
ctl answer "$D/answer2.sdp" --call-id c2 --from-tag ta2 --to-tag tb2 >"$D/answer2.out"
check "grep -q '^a=setup:active' \"$D/answer2.out\"" "answer to a passive offerer: we are active"
timeout 30 "$CAT" send "$D/file" --to-path "$U_B2" --local-uri "$S_B2" >"$D/b2.sout" 2>"$D/b2.serr"
rc=$?
check "[ $rc = 0 ]" "B dials msrpgw, msrpgw dials A: file sent (rc $rc): $(tail -1 "$D/b2.serr")"
wait "$APID"
check "[ $? = 0 ]" "A (dialled by msrpgw) got the file intact"
U_A2=$(sed -n 's/^a=path:\(.*\)\r$/\1/p' "$D/answer2.out")
check "[ \"$(sed -n 's/^from-path //p' "$D/a2.rout")\" = \"$U_A2\" ]" "A: From-Path is our URI for A ($U_A2)"

# 5b. Both active (RFC 6135: each endpoint dials msrpgw): A sends before
# B has called in. A's first data SEND waits (the relay logs it) for B's
# leg, at most connect_timeout (2 s here); B, an independent strict
# receiver, then dials and binds, and gets the file intact from our URI.
S_A3="msrp://127.0.0.1:9/alice3$$;tcp"
S_B3="msrp://127.0.0.1:9/bob3$$;tcp"
sdp 127.0.0.1 9 "$S_A3" active >"$D/offer3.sdp"
ctl offer "$D/offer3.sdp" --call-id c5 --from-tag ta5 >"$D/offer3.out"
U_B3=$(sed -n 's/^a=path:\(.*\)\r$/\1/p' "$D/offer3.out")
sdp 127.0.0.1 9 "$S_B3" active >"$D/answer3.sdp"
ctl answer "$D/answer3.sdp" --call-id c5 --from-tag ta5 --to-tag tb5 >"$D/answer3.out"
U_A3=$(sed -n 's/^a=path:\(.*\)\r$/\1/p' "$D/answer3.out")
check "[ -n \"$U_A3\" ] && [ -n \"$U_B3\" ]" "both active: offer and answer ok ($U_A3, $U_B3)"
bg timeout 30 "$CAT" send "$D/file" --to-path "$U_A3" --local-uri "$S_A3" >"$D/a3.sout" 2>"$D/a3.serr"
A3PID=$LAST_PID
check "log_has \"$GW_LOG\" 'anchor c5 leg 0: .* waits up to 2000 ms for the other leg'" \
    "A's SEND waits for B's leg to connect"
timeout 30 python3 "$MSRP_SRC/tests/peers/msrp_probe.py" recv --connect "$U_B3" --own-uri "$S_B3" \
    --remote-path "$U_B3" --byte-exact --out "$D/b3.out" >"$D/b3.json" 2>"$D/b3.err"
rc=$?
check "[ $rc = 0 ] && [ \"$(sha256sum <"$D/b3.out" | cut -c1-64)\" = \"$WANT\" ]" \
    "B dialled in later and got the file intact, every request from our URI: $(tail -c 300 "$D/b3.json")"
wait "$A3PID"
rc=$?
check "[ $rc = 0 ]" "A: every chunk answered 200 (rc $rc): $(tail -1 "$D/a3.serr")"
# ... and when B never calls in: 481 once connect_timeout has passed.
sdp 127.0.0.1 9 "$S_A3" active >"$D/offer4.sdp"
ctl offer "$D/offer4.sdp" --call-id c6 --from-tag ta6 >/dev/null
ctl answer "$D/answer3.sdp" --call-id c6 --from-tag ta6 --to-tag tb6 >"$D/answer4.out"
U_A4=$(sed -n 's/^a=path:\(.*\)\r$/\1/p' "$D/answer4.out")
t0=$SECONDS
timeout 30 "$CAT" send "$D/file" --to-path "$U_A4" --local-uri "$S_A3" >"$D/a4.sout" 2>"$D/a4.serr"
rc=$?
check "[ $rc != 0 ] && grep -q 481 \"$D/a4.serr\" && [ $((SECONDS - t0)) -ge 1 ]" \
    "B never calls in: A gets 481 after the wait (rc $rc, $((SECONDS - t0)) s): $(tail -1 "$D/a4.serr")"

# 6. No MSRP: unchanged. Errors.
printf 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n' >"$D/audio.sdp"
ctl offer "$D/audio.sdp" --call-id c3 --from-tag t3 >"$D/audio.out"
check "cmp -s \"$D/audio.sdp\" \"$D/audio.out\"" "an offer without MSRP comes back unchanged"
ctl answer "$D/answer.sdp" --call-id nosuch --from-tag x --to-tag y 2>"$D/e1.err" >/dev/null
check "[ $? = 1 ] && grep -q 'no offer' \"$D/e1.err\"" "answer without an offer: error ($(cat "$D/e1.err"))"

# 7. Offered, never answered, nobody connects: gone after anchor_timeout.
ctl offer "$D/offer.sdp" --call-id c4 --from-tag t4 >/dev/null
check "ctl query --call-id c4 >/dev/null" "an offered call is there"
for i in $(seq 1 100); do # bounded: 10 s for a 3 s timeout
    ctl query --call-id c4 >/dev/null 2>&1 || break
    sleep 0.1
done
check "! ctl query --call-id c4 >/dev/null 2>&1" "the unconnected call is removed after anchor_timeout"
check "log_has \"$GW_LOG\" 'anchor c4: no connection within anchor_timeout'" "its removal is logged"
gw_stop GW
it_done
