#!/usr/bin/env bash
# sbc_kamailio: msrpgw as the MSRP media anchor of a real SBC -- Kamailio
# 5.6 with its stock rtpengine module (tests/peers/kamailio-sbc/sbc.cfg)
# speaking the ng protocol to msrpgw's [sbc] socket(s) -- with SIP calls
# placed by a scripted UAC/UAS (kamailio-sbc/sip_call.py) and the media
# carried by strict msrpcat endpoints.
#
#  0. sbc.cfg loads (`kamailio -c`) with one ng socket and with a set of
#     two; sip_call.py's self-test passes.
#  1. One call through Kamailio to one msrpgw: Kamailio pings it at start
#     (log "rtpengine instance <udp:127.0.0.1:NG> found"); the INVITE's
#     offer (audio + m=message 9 TCP/MSRP *, a=path S_A, the offerer dials)
#     reaches the UAS with m=message <msrpgw port>, a=path U_B =
#     msrp://127.0.0.1:<msrpgw port>/<16 chars>;tcp, and the session part
#     and the audio section byte for byte as sent; the UAS answers 200 with
#     the path R_B of a strict msrpcat receiver started for U_B
#     (--expect-remote-path U_B); the UAC gets the 200 with a=path U_A,
#     msrpgw's other URI (audio section of the answer unchanged too), ACKs;
#     `msrpcat send` (1 MiB, 64 KiB chunks, Success-Report) to U_A with
#     --local-uri S_A succeeds; the receiver exits 0 (sha256 checked by
#     msrpcat, From-Path checked strictly) and printed from-path U_B; the
#     sender's Success REPORT came from U_A; `msrpgw-ctl query` shows
#     1048576 bytes from the offerer, `list` exactly this call-id,
#     `statistics` bytesforwarded >= 1048576; the UAC's BYE through Kamailio gets
#     200, msrpgw logs "anchor <call-id> media 1: deleted" (1: the index of
#     the MSRP section's m= line, which msrpgw keys anchors by; the offer
#     has audio first) and a query then fails with "Unknown call-id";
#     Kamailio logged no failed rtpengine call.
#  2. Scale-out the operator's way: two msrpgw instances in one rtpengine
#     set (rtpengine_sock "udp:127.0.0.1:NG1=1 udp:127.0.0.1:NG2=1");
#     Kamailio finds both at start; 20 calls (INVITE/200/ACK/BYE, call-ids
#     PFX-01..20; the UAS answers a=setup:active so nobody is dialled)
#     all complete; each offered a=path is one instance's URI and the
#     answer's a=path the same instance's (Kamailio sends answer and delete
#     to the node of the offer); each instance took >= 3 of them, and each
#     instance's log shows "anchor <cid> media 1: offer" and "... deleted"
#     for exactly the calls its port appeared in.
#  3. Fail-over: SIGKILL one instance; the next 5 calls (PFX-21..25) all
#     complete with offer and answer rewritten by the survivor (its port in
#     every a=path), each INVITE within 3 s; Kamailio logged an error
#     naming the dead node's socket (it did try it -- the call-ids alternate
#     the parity that Kamailio 5.6's hash, the byte sum of the call-id mod
#     2, uses to pick the node -- and failed over within the same request).
#     The survivor exits 0 on SIGTERM.
#
# Kamailio timing (sbc.cfg defines): rtpengine_tout_ms 300, rtpengine_retr
# 2, rtpengine_disable_tout 60.  Whole run about 10 s; every wait bounded.
#
# Run: MSRP_BUILD=build bash tests/peers/sbc_kamailio.sh (IT_KEEP=1 keeps
# the logs; KAMAILIO_DEBUG=1 makes Kamailio log every ng reply, "proxy
# reply: ..."). ctest: peers.sbc_kamailio.
# shellcheck source=../integration/lib/msrpgw.sh
. "$(dirname "$0")/../integration/lib/msrpgw.sh"
it_init sbc_kamailio
HERE=$MSRP_SRC/tests/peers/kamailio-sbc
SIPC=$HERE/sip_call.py
CAT=$MSRP_BUILD/tools/msrpcat
CTL=$MSRP_BUILD/tools/msrpgw-ctl
D=$IT_DIR
KAMS=()

kam_stop_all() {
    local k
    for k in "${KAMS[@]}"; do
        "$HERE/start.sh" --stop "$k" || echo "sbc_kamailio: stopping Kamailio in $k failed"
    done
    KAMS=()
}
trap 'kam_stop_all; it_cleanup' EXIT

# On failure: what Kamailio and msrpgw said (full logs stay in $IT_DIR).
finish() {
    if [ "$IT_FAILS" -ne 0 ]; then
        local f
        for f in "$D"/kam*/kamailio.log; do
            [ -f "$f" ] || continue
            echo "---- $f (rtpengine module / errors, last 25)"
            grep -aE 'rtpengine|ERROR|CRITICAL|WARN' "$f" | tail -n 25
        done
        for f in "$D"/GW*/log; do
            [ -f "$f" ] || continue
            echo "---- $f (last 25)"
            tail -n 25 "$f"
        done
    fi
    kam_stop_all
    it_done
}

command -v kamailio >/dev/null || { echo "FAIL - kamailio not installed"; exit 1; }
[ -x "$CTL" ] || { echo "FAIL - no msrpgw-ctl at $CTL"; exit 1; }
[ -x "$CAT" ] || { echo "FAIL - no msrpcat at $CAT"; exit 1; }

# wait_grep FILE REGEX [SECONDS]: until FILE has a line matching REGEX.
wait_grep() {
    local f=$1 re=$2 t=${3:-5} i=0
    while ! grep -aqE -- "$re" "$f" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt $((t * 20)) ] && return 1
        sleep 0.05
    done
    return 0
}
# sdp_part FILE WHICH: the lines before the first m= (WHICH=session) or the
# m=audio section up to the next m= (WHICH=audio), CRLFs kept.
sdp_part() {
    awk -v w="$2" '/^m=/ { sec = ($0 ~ /^m=audio /) ? "audio" : "other" }
        !/^m=/ && sec == "" { if (w == "session") print; next }
        { if (sec == w) print }' "$1"
}
uri_re() { # PORT -> regex of an msrpgw URI on that port
    printf '^msrp://127\\.0\\.0\\.1:%s/[0-9A-Za-z]{16};tcp$' "$1"
}
port_of() { # msrp URI -> port
    sed -n 's|^msrp://[^/]*:\([0-9]*\)/.*|\1|p' <<<"$1"
}
ctl() { local ng=$1; shift; "$CTL" --ng "$ng" "$@"; }

# ---------------------------------------------------------------- 0. config
for socks in "udp:127.0.0.1:2223" "udp:127.0.0.1:2223=1 udp:127.0.0.1:2224=1"; do
    out=$(kamailio -c -f "$HERE/sbc.cfg" -A SIP_PORT=5060 -A "NG_SOCKS=\"$socks\"" 2>&1)
    rc=$?
    check "[ $rc = 0 ] && grep -q 'config file ok' <<<\"\$out\"" \
        "kamailio -c accepts sbc.cfg with rtpengine_sock \"$socks\" (rc $rc)"
    [ $rc = 0 ] || echo "$out" | grep -E 'ERROR|CRITICAL' | head -5
done
python3 "$SIPC" selftest >"$D/selftest.out" 2>&1
check "[ $? = 0 ]" "sip_call.py selftest: $(tail -1 "$D/selftest.out")"

# ---------------------------------------------------------- 1. one call
IT_THREADS=2 gw_start GW1 "[sbc]
listen = 127.0.0.1:0
[gateway]"
NG1_PORT=$(awk '$1=="ng"{print $2}' "$D/GW1/ports")
check "[ -n \"$NG1_PORT\" ]" "msrpgw 1 wrote an ng port to its port file ($(tr '\n' ' ' <"$D/GW1/ports"))"
[ -n "$NG1_PORT" ] || finish
NG1=127.0.0.1:$NG1_PORT
PONG=$(ctl "$NG1" ping 2>&1)
check "[ \"\$PONG\" = '{\"result\":\"pong\"}' ]" "msrpgw 1 answers an ng ping ($PONG)"

KAMS+=("$D/kam1")
if ! kout=$("$HERE/start.sh" "$D/kam1" "udp:$NG1" 2>"$D/kam1.start.err"); then
    check false "Kamailio (one ng socket) starts: $(tail -3 "$D/kam1.start.err")"
    finish
fi
KPORT=${kout%% *}
check "wait_grep \"$D/kam1/kamailio.log\" 'rtpengine instance <udp:$NG1> found' 5" \
    "Kamailio pinged msrpgw at start and got pong (udp:$NG1 found)"

head -c 1048576 /dev/urandom >"$D/file"
WANT=$(sha256sum "$D/file" | cut -c1-64)
CID="sbc-kam-$$-1"
S_A="msrp://127.0.0.1:9/alice$$;tcp"
C=$D/call
mkdir -p "$C"
bg timeout 90 python3 "$SIPC" call --proxy "127.0.0.1:$KPORT" --call-id "$CID" --dir "$C" \
    --offer-path "$S_A" --answer-path-file "$C/answer.path" --bye-file "$C/bye" \
    --hold 60 --timeout 15 >"$D/call.out" 2>"$D/call.err"
SIP_PID=$LAST_PID

if ! wait_file "$C/offered_path" 15; then
    check false "the UAS got the INVITE through Kamailio ($(cat "$D/call.err"))"
    finish
fi
U_B=$(cat "$C/offered_path")
# msrpgw keys anchors by the index of the MSRP section's m= line (the
# "media" of its log lines and of query's streams).
MIDX=$(awk '/^m=/ { if ($0 ~ /^m=message /) { print n; exit } n++ }' "$C/offer.sent.sdp")
RE1=$(uri_re "$GW1_PORT")
check "[[ \"$U_B\" =~ \$RE1 ]]" "offer at the UAS: a=path is msrpgw's URI ($U_B)"
if ! [[ "$U_B" =~ $RE1 ]]; then
    grep -q "SBC: offer failed for $CID" "$D/kam1/kamailio.log" &&
        echo "     (Kamailio: rtpengine_offer failed for $CID, the SDP was relayed unchanged)"
    finish
fi
check "grep -q \"^m=message $GW1_PORT TCP/MSRP \\*\" \"$C/offer.recv.sdp\"" "offer at the UAS: m=message port is msrpgw's"
check "cmp -s <(sdp_part \"$C/offer.sent.sdp\" session) <(sdp_part \"$C/offer.recv.sdp\" session)" \
    "offer at the UAS: session-level lines byte for byte as sent"
check "[ -n \"\$(sdp_part \"$C/offer.recv.sdp\" audio)\" ] && cmp -s <(sdp_part \"$C/offer.sent.sdp\" audio) <(sdp_part \"$C/offer.recv.sdp\" audio)" \
    "offer at the UAS: audio section byte for byte as sent"

# The answerer: a strict receiver that accepts only what comes from U_B.
bg timeout 60 "$CAT" recv --listen 127.0.0.1:0 --out "$D/b.out" --path-file "$D/b.path" \
    --expect-remote-path "$U_B" --expect-sha256 "$WANT" >"$D/b.rout" 2>"$D/b.rerr"
B_PID=$LAST_PID
if ! wait_file "$D/b.path" 10; then
    check false "receiver ready ($(cat "$D/b.rerr"))"
    finish
fi
R_B=$(head -1 "$D/b.path")
printf '%s\n' "$R_B" >"$C/answer.path.tmp" && mv "$C/answer.path.tmp" "$C/answer.path"

if ! wait_file "$C/answer_path" 15; then
    check false "the UAC got the 200 through Kamailio ($(cat "$D/call.err"))"
    finish
fi
U_A=$(cat "$C/answer_path")
check "[[ \"$U_A\" =~ \$RE1 ]] && [ \"$U_A\" != \"$U_B\" ]" \
    "answer at the UAC: a=path is msrpgw's other URI ($U_A)"
check "[ -n \"\$(sdp_part \"$C/answer.recv.sdp\" audio)\" ] && cmp -s <(sdp_part \"$C/answer.sent.sdp\" audio) <(sdp_part \"$C/answer.recv.sdp\" audio)" \
    "answer at the UAC: audio section byte for byte as the UAS sent it"

timeout 60 "$CAT" send "$D/file" --to-path "$U_A" --local-uri "$S_A" --success-report \
    >"$D/a.sout" 2>"$D/a.serr"
rc=$?
check "[ $rc = 0 ]" "UAC side: msrpcat send of 1 MiB to U_A succeeded, Success REPORT back (rc $rc): $(tail -1 "$D/a.serr")"
wait "$B_PID"
rc=$?
check "[ $rc = 0 ]" "UAS side: strict receiver got the file intact (sha256) (rc $rc): $(tail -1 "$D/b.rerr")"
check "[ \"$(sed -n 's/^from-path //p' "$D/b.rout")\" = \"$U_B\" ]" \
    "UAS side: the message came with From-Path U_B alone ($(sed -n 's/^from-path //p' "$D/b.rout" | head -1))"
check "[ \"$(sed -n 's/^report 200 from-path //p' "$D/a.sout")\" = \"$U_A\" ]" \
    "UAC side: the Success REPORT came with From-Path U_A"

ctl "$NG1" query --call-id "$CID" >"$D/q.json" 2>"$D/q.err"
check "python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); s=j[\"streams\"][0]; sys.exit(0 if s[\"offerer\"][\"bytes\"] == 1048576 and s[\"media\"] == $MIDX else 1)' \"$D/q.json\"" \
    "query: media $MIDX, 1048576 body bytes from the offerer ($(cut -c1-300 "$D/q.json") $(cat "$D/q.err"))"

ctl "$NG1" list >"$D/list.json" 2>&1
check "python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))[\"calls\"] == [sys.argv[2]] else 1)' \"$D/list.json\" \"$CID\"" \
    "list: exactly this call ($(cut -c1-200 "$D/list.json"))"
ctl "$NG1" statistics >"$D/stats.json" 2>&1
check "python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))[\"currentstatistics\"][\"bytesforwarded\"] >= 1048576 else 1)' \"$D/stats.json\"" \
    "statistics: bytesforwarded >= 1048576 ($(cut -c1-200 "$D/stats.json"))"

touch "$C/bye"
wait "$SIP_PID"
rc=$?
check "[ $rc = 0 ] && [ \"$(cat "$C/bye_status" 2>/dev/null)\" = 200 ]" \
    "BYE through Kamailio: 200, the UAS saw it (rc $rc; $(cat "$D/call.err"))"
check "wait_grep \"$GW1_LOG\" 'anchor $CID media $MIDX: deleted' 5" \
    "msrpgw logged 'anchor $CID media $MIDX: deleted' (Kamailio's rtpengine_delete on BYE)"
ctl "$NG1" query --call-id "$CID" >/dev/null 2>"$D/q2.err"
rc=$?
check "[ $rc = 1 ] && grep -q 'Unknown call-id' \"$D/q2.err\"" "query after BYE: Unknown call-id (rc $rc: $(cat "$D/q2.err"))"
check "! grep -aq 'SBC: .* failed for $CID' \"$D/kam1/kamailio.log\"" \
    "Kamailio: no rtpengine call failed for $CID ($(grep -a "SBC: .* failed for $CID" "$D/kam1/kamailio.log" | head -1))"
"$HERE/start.sh" --stop "$D/kam1"
KAMS=()

# ------------------------------------------------------- 2. scale-out
IT_THREADS=2 gw_start GW2 "[sbc]
listen = 127.0.0.1:0
[gateway]"
NG2_PORT=$(awk '$1=="ng"{print $2}' "$D/GW2/ports")
check "[ -n \"$NG2_PORT\" ]" "msrpgw 2 wrote an ng port to its port file"
[ -n "$NG2_PORT" ] || finish
NG2=127.0.0.1:$NG2_PORT

KAMS+=("$D/kam2")
if ! kout=$("$HERE/start.sh" "$D/kam2" "udp:$NG1=1 udp:$NG2=1" NG_TOUT_MS=300 NG_RETR=2 NG_DISABLE=60 \
        2>"$D/kam2.start.err"); then
    check false "Kamailio (set of two ng sockets) starts: $(tail -3 "$D/kam2.start.err")"
    finish
fi
KPORT=${kout%% *}
KLOG=$D/kam2/kamailio.log
check "wait_grep \"$KLOG\" 'rtpengine instance <udp:$NG1> found' 5 && wait_grep \"$KLOG\" 'rtpengine instance <udp:$NG2> found' 5" \
    "Kamailio pinged both msrpgw instances at start and got pong"

PFX="scale$$"
timeout 90 python3 "$SIPC" calls --proxy "127.0.0.1:$KPORT" --prefix "$PFX" --first 1 --count 20 \
    --dir "$D/scale" --offer-path "$S_A" >"$D/scale1.out" 2>"$D/scale1.err"
rc=$?
check "[ $rc = 0 ] && [ \$(grep -c 'status=200 .* bye=200\$' \"$D/scale1.out\") = 20 ]" \
    "20 calls through the set: INVITE 200 and BYE 200 each (rc $rc $(cat "$D/scale1.err"))"

# Per call: which instance's port is in the offered and the answered a=path.
n1=0 n2=0 bad=() logbad=()
while read -r _ cid _ _ offered answered _; do
    o=${offered#offered=} a=${answered#answered=}
    po=$(port_of "$o") pa=$(port_of "$a")
    if [[ "$o" =~ ^msrp://127\.0\.0\.1:[0-9]+/[0-9A-Za-z]{16}\;tcp$ ]] && [ "$po" = "$pa" ] \
        && { [ "$po" = "$GW1_PORT" ] || [ "$po" = "$GW2_PORT" ]; } && [ "$o" != "$a" ]; then
        if [ "$po" = "$GW1_PORT" ]; then n1=$((n1 + 1)); mine=$GW1_LOG other=$GW2_LOG
        else n2=$((n2 + 1)); mine=$GW2_LOG other=$GW1_LOG; fi
        grep -q "anchor $cid media $MIDX: offer" "$mine" && grep -q "anchor $cid media $MIDX: deleted" "$mine" \
            && ! grep -q "anchor $cid " "$other" || logbad+=("$cid")
    else
        bad+=("$cid:$o:$a")
    fi
done <"$D/scale1.out"
check "[ ${#bad[@]} = 0 ] && [ $((n1 + n2)) = 20 ]" \
    "every offer and its answer rewritten by one and the same instance (bad: ${bad[*]:-none})"
check "[ $n1 -ge 3 ] && [ $n2 -ge 3 ]" "both instances took calls: msrpgw 1 $n1, msrpgw 2 $n2 (each >= 3)"
check "[ ${#logbad[@]} = 0 ]" \
    "each instance's log shows offer and delete for exactly its calls (mismatched: ${logbad[*]:-none})"
g1=$(grep -c "anchor $PFX-[0-9]* media $MIDX: offer" "$GW1_LOG")
g2=$(grep -c "anchor $PFX-[0-9]* media $MIDX: offer" "$GW2_LOG")
check "[ $g1 = $n1 ] && [ $g2 = $n2 ]" "offer lines in the logs: msrpgw 1 $g1, msrpgw 2 $g2"

# ------------------------------------------------------- 3. fail-over
kill -KILL "$GW1_PID"
wait "$GW1_PID" 2>/dev/null
klines=$(wc -l <"$KLOG")
timeout 60 python3 "$SIPC" calls --proxy "127.0.0.1:$KPORT" --prefix "$PFX" --first 21 --count 5 \
    --dir "$D/scale" --offer-path "$S_A" >"$D/scale2.out" 2>"$D/scale2.err"
rc=$?
check "[ $rc = 0 ] && [ \$(grep -c 'status=200 .* bye=200\$' \"$D/scale2.out\") = 5 ]" \
    "after SIGKILL of msrpgw 1: 5 more calls complete (rc $rc $(cat "$D/scale2.err"))"
nsurv=0 slow=()
while read -r _ cid _ ims offered answered _; do
    o=${offered#offered=} a=${answered#answered=} ms=${ims#invite_ms=}
    if [[ "$o" =~ $(uri_re "$GW2_PORT") ]] && [[ "$a" =~ $(uri_re "$GW2_PORT") ]] \
        && grep -q "anchor $cid media $MIDX: offer" "$GW2_LOG"; then
        nsurv=$((nsurv + 1))
    fi
    [ "$ms" -lt 3000 ] || slow+=("$cid:${ms}ms")
done <"$D/scale2.out"
check "[ $nsurv = 5 ]" "all 5 offers and answers rewritten by the survivor (port $GW2_PORT in every a=path): $nsurv"
check "[ ${#slow[@]} = 0 ]" "each INVITE completed within 3 s ($(awk '{print $4}' "$D/scale2.out" | tr '\n' ' '))"
check "tail -n +$((klines + 1)) \"$KLOG\" | grep -aq 'RTPEngine <udp:$NG1>'" \
    "Kamailio noticed the dead node and failed over: $(tail -n +$((klines + 1)) "$KLOG" | grep -a "RTPEngine <udp:$NG1>" | head -1 | sed 's/^.*ERROR: //')"

kam_stop_all
gw_stop GW2
finish
