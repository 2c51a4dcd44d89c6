#!/usr/bin/env bash
# strict_paths: msrpgw's path rewriting (RFC 4976 sections 6-7) as seen by
# strict endpoints -- tests/peers/msrp_probe.py, which, like deployed MSRP
# clients, answers 481 to any SEND whose From-Path is not what it predicts
# (reverse of its own Use-Path, then the peer's path as SDP gave it) and
# checks the From-Path of the Success REPORT it gets back. Every path is
# compared byte for byte (--byte-exact).
#
# Notation: U_R / U_S = receiver's / sender's Use-Path (from its AUTH 200),
# R / S = receiver's / sender's own URI.
#   A  receiver AUTHs, sender connects straight to the relay (no AUTH,
#      From-Path URI on port 9 where nobody listens): the receiver gets
#      From-Path "U_R S"; the relay's 200s reach the sender with To-Path S,
#      From-Path U_R; the REPORT reaches it with From-Path "U_R R".
#   B  both AUTH to the same relay, To-Path "U_S U_R R": receiver gets
#      "U_R U_S S"; 200s From-Path U_S; REPORT From-Path "U_S U_R R".
#   C  sender AUTHs, receiver listens on its own port (the relay connects
#      to it), To-Path "U_S R": receiver gets "U_S S"; REPORT "U_S R".
#   chain  sender AUTHs to relay 1, receiver to relay 2, To-Path
#      "U_S U_R R": receiver gets "U_R U_S S"; REPORT "U_S U_R R".
#   timeout  a receiver that never answers (relay chunk_timeout = 1): the
#      sender gets 408 and one relay-generated Failure REPORT whose
#      From-Path is a single URI of the relay's own.
# Each transfer: 300 KiB in 8 KiB chunks (plus the binding empty SEND),
# Success-Report: yes; the receiver and the sender must exit 0, the
# sha256 must match, and every path string is asserted exactly. A, B, C
# run on a 1-thread and a 2-thread msrpgw (rounds repeat until both
# cores -- the first character of a relay session id -- held a receiver
# reservation and a sender reservation); then the chain, the timeout
# case, and a negative check: a receiver given a wrong --remote-path
# answers 481, the sender sees that 481.
#
# Run: MSRP_BUILD=build bash tests/peers/strict_paths.sh (IT_KEEP=1 keeps
# the logs and JSON reports). ctest: peers.strict_paths.
# shellcheck source=../integration/lib/msrpgw.sh
. "$(dirname "$0")/../integration/lib/msrpgw.sh"
it_init strict_paths
FILE=$IT_DIR/file
head -c 307200 /dev/urandom >"$FILE"
WANT_SHA=$(sha256sum <"$FILE" | cut -c1-64)
PT=20   # probe timeout, seconds
SESS_R=""   # first characters of receivers' relay session ids (cores)
SESS_S=""   # same, senders'

core_of() { # URI -> first character of its session id
    local s=${1#*://}
    s=${s#*/}
    printf '%s' "${s:0:1}"
}

# verify DIR LABEL WANT_RECV_FROM WANT_RECV_TO WANT_REPORT_FROM WANT_RESP_TO WANT_RESP_FROM
# Checks exit codes ($src/$rrc), sha256 and every path against the JSON
# reports DIR/send.json and DIR/recv.json.
verify() {
    local d=$1 l=$2 wfrom=$3 wto=$4 wrep=$5 wrto=$6 wrfrom=$7
    local s=$d/send.json r=$d/recv.json got
    check "[ $rrc = 0 ]" "$l: strict receiver exits 0 (rc $rrc; path_errors: $(json_get "$r" 'j.get("path_errors")' 2>&1 | cut -c1-600))"
    check "[ $src = 0 ]" "$l: strict sender exits 0 (rc $src; errors: $(json_get "$s" '(j.get("errors"), j.get("path_errors"), j.get("bind_code"))' 2>&1 | cut -c1-600))"
    got=$(sha256sum <"$d/out" 2>/dev/null | cut -c1-64)
    check "[ '$got' = '$WANT_SHA' ]" "$l: sha256 of what the receiver stored matches"
    got=$(json_get "$r" '" | ".join(j.get("send_from_paths", []))' 2>&1)
    check "[ \"\$(json_get $r 'j.get(\"send_from_paths\")')\" = \"['$wfrom']\" ]" \
        "$l: every SEND reached the receiver with From-Path '$wfrom' (got '$got')"
    got=$(json_get "$r" '" | ".join(j.get("send_to_paths", []))' 2>&1)
    check "[ \"\$(json_get $r 'j.get(\"send_to_paths\")')\" = \"['$wto']\" ]" \
        "$l: every SEND reached the receiver with To-Path '$wto' (got '$got')"
    got=$(json_get "$s" '(j.get("success_report") or {}).get("from_path")' 2>&1)
    check "[ '$got' = '$wrep' ]" "$l: the Success REPORT reached the sender with From-Path '$wrep' (got '$got')"
    got=$(json_get "$s" '(j.get("success_report") or {}).get("to_path")' 2>&1)
    check "[ '$got' = '$wrto' ]" "$l: ... and To-Path '$wrto' (got '$got')"
    got=$(json_get "$s" '" | ".join("%d %s / %s x%d" % (r["code"], r["to_path"], r["from_path"], r["count"]) for r in j.get("responses", []))' 2>&1)
    check "[ \"\$(json_get $s '[(r[\"code\"], r[\"to_path\"], r[\"from_path\"]) for r in j[\"responses\"]]')\" = \"[(200, '$wrto', '$wrfrom')]\" ]" \
        "$l: every response reached the sender as 200 To-Path '$wrto' From-Path '$wrfrom' (got '$got')"
}

# run_A LABEL PORT: receiver AUTHs, sender sends straight to the relay.
run_A() {
    local l=$1 port=$2 d=$IT_DIR/$1
    mkdir -p "$d"
    local S="msrp://127.0.0.1:9/${l//[^A-Za-z0-9]/}snd;tcp"
    bg timeout 40 python3 "$PROBE" recv --relay "127.0.0.1:$port" --user bob --password pw \
        --out "$d/out" --ready-file "$d/rpath" --remote-path "$S" --byte-exact \
        --success-report --timeout $PT >"$d/recv.json" 2>"$d/recv.err"
    local rp=$LAST_PID
    wait_file "$d/rpath" 10 || check false "$l: receiver published its path"
    timeout 40 python3 "$PROBE" send --relay "127.0.0.1:$port" --to-path "$(cat "$d/rpath")" \
        --from-uri "$S" --chunk 8192 --success-report --byte-exact --check-response-from \
        --timeout $PT "$FILE" >"$d/send.json" 2>"$d/send.err"
    src=$?
    wait "$rp"
    rrc=$?
    local U_R R
    read -r U_R R <"$d/rpath"
    SESS_R="$SESS_R$(core_of "$U_R")"
    verify "$d" "$l (A: receiver AUTHs, sender direct)" "$U_R $S" "$R" "$U_R $R" "$S" "$U_R"
}

# run_B LABEL PORT_S PORT_R: both AUTH (to the same relay, or to two
# relays when the ports differ: the chain). The sender AUTHs first and
# publishes its path (SDP offer), the receiver gets it as --remote-path
# and publishes its own (SDP answer), which the sender then uses.
run_B() {
    local l=$1 ps=$2 pr=$3 d=$IT_DIR/$1
    mkdir -p "$d"
    bg timeout 40 python3 "$PROBE" send --relay "127.0.0.1:$ps" --user alice --password secret \
        --path-file "$d/spath" --to-path-file "$d/rpath" --chunk 8192 --success-report \
        --byte-exact --check-response-from --timeout $PT "$FILE" >"$d/send.json" 2>"$d/send.err"
    local sp=$LAST_PID
    wait_file "$d/spath" 10 || check false "$l: sender published its path"
    bg timeout 40 python3 "$PROBE" recv --relay "127.0.0.1:$pr" --user bob --password pw \
        --out "$d/out" --ready-file "$d/rpath" --remote-path "$(cat "$d/spath")" --byte-exact \
        --success-report --timeout $PT >"$d/recv.json" 2>"$d/recv.err"
    local rp=$LAST_PID
    wait "$sp"
    src=$?
    wait "$rp"
    rrc=$?
    local U_S S U_R R
    read -r U_S S <"$d/spath"
    read -r U_R R <"$d/rpath"
    SESS_R="$SESS_R$(core_of "$U_R")"
    SESS_S="$SESS_S$(core_of "$U_S")"
    local what="B: both AUTH to one relay"
    [ "$ps" != "$pr" ] && what="chain: sender AUTHs to relay 1, receiver to relay 2"
    verify "$d" "$l ($what)" "$U_R $U_S $S" "$R" "$U_S $U_R $R" "$S" "$U_S"
}

# run_C LABEL PORT: sender AUTHs, receiver listens (the relay connects).
run_C() {
    local l=$1 port=$2 d=$IT_DIR/$1
    mkdir -p "$d"
    bg timeout 40 python3 "$PROBE" send --relay "127.0.0.1:$port" --user alice --password secret \
        --path-file "$d/spath" --to-path-file "$d/rpath" --chunk 8192 --success-report \
        --byte-exact --check-response-from --timeout $PT "$FILE" >"$d/send.json" 2>"$d/send.err"
    local sp=$LAST_PID
    wait_file "$d/spath" 10 || check false "$l: sender published its path"
    bg timeout 40 python3 "$PROBE" recv --listen 127.0.0.1:0 --out "$d/out" --ready-file "$d/rpath" \
        --remote-path "$(cat "$d/spath")" --byte-exact --success-report --timeout $PT \
        >"$d/recv.json" 2>"$d/recv.err"
    local rp=$LAST_PID
    wait "$sp"
    src=$?
    wait "$rp"
    rrc=$?
    local U_S S R
    read -r U_S S <"$d/spath"
    read -r R <"$d/rpath"
    SESS_S="$SESS_S$(core_of "$U_S")"
    verify "$d" "$l (C: sender AUTHs, receiver listens)" "$U_S $S" "$R" "$U_S $R" "$S" "$U_S"
}

echo "# one thread"
IT_THREADS=1 gw_start G1
run_A t1_A "$G1_PORT"
run_B t1_B "$G1_PORT" "$G1_PORT"
run_C t1_C "$G1_PORT"
gw_stop G1

echo "# threads = 2"
SESS_R=""
SESS_S=""
IT_THREADS=2 gw_start G2
round=0
while [ $round -lt 6 ]; do
    round=$((round + 1))
    run_A "t2_A$round" "$G2_PORT"
    run_B "t2_B$round" "$G2_PORT" "$G2_PORT"
    run_C "t2_C$round" "$G2_PORT"
    # Both cores must have held a receiver's and a sender's reservation.
    nr=$(printf '%s' "$SESS_R" | fold -w1 | sort -u | wc -l)
    ns=$(printf '%s' "$SESS_S" | fold -w1 | sort -u | wc -l)
    [ $round -ge 2 ] && [ "$nr" -ge 2 ] && [ "$ns" -ge 2 ] && break
done
check "[ $nr -ge 2 ] && [ $ns -ge 2 ]" \
    "threads = 2: reservations on both cores (receivers' cores: $SESS_R, senders': $SESS_S, $round rounds)"
gw_stop G2

echo "# chain of two relays"
IT_THREADS=1 gw_start C1
gw_start C2
run_B chain "$C1_PORT" "$C2_PORT"
check "log_has $C1_LOG 'connecting to next hop msrp://127.0.0.1:$C2_PORT'" "chain: relay 1 opened a connection to relay 2"
gw_stop C1
gw_stop C2

echo "# relay-generated Failure REPORT: the receiver never answers (chunk_timeout = 1)"
IT_THREADS=1 gw_start T "chunk_timeout = 1"
d=$IT_DIR/timeout
mkdir -p "$d"
S="msrp://127.0.0.1:9/tosnd;tcp"
bg timeout 40 python3 "$PROBE" recv --relay "127.0.0.1:$T_PORT" --user bob --password pw \
    --out "$d/out" --ready-file "$d/rpath" --silent --timeout 6 >"$d/recv.json" 2>"$d/recv.err"
rp=$LAST_PID
wait_file "$d/rpath" 10 || check false "timeout: receiver published its path"
timeout 40 python3 "$PROBE" send --relay "127.0.0.1:$T_PORT" --to-path "$(cat "$d/rpath")" \
    --from-uri "$S" --expect-code 408 --linger 1.5 --timeout $PT "$FILE" >"$d/send.json" 2>"$d/send.err"
src=$?
wait "$rp"
read -r U_R R <"$d/rpath"
check "[ $src = 0 ]" "timeout: the sender's binding SEND was answered 408 by the relay (rc $src, $(json_get "$d/send.json" 'j["responses"]' 2>&1))"
got=$(json_get "$d/send.json" '" | ".join("%s / %s / %s" % (r["status"], r["to_path"], r["from_path"]) for r in j["reports"])' 2>&1)
check "[ \"\$(json_get $d/send.json '[(r[\"status\"].split()[1], r[\"to_path\"], len(r[\"from_path\"].split()), r[\"from_path\"].startswith(\"msrp://127.0.0.1:$T_PORT\"), r[\"from_path\"].endswith(\";tcp\")) for r in j[\"reports\"]]')\" = \"[('408', '$S', 1, True, True)]\" ]" \
    "timeout: one Failure REPORT, Status 408, To-Path '$S', From-Path one URI of the relay's own (got: $got)"
gw_stop T

echo "# strictness: a receiver expecting another sender answers 481"
IT_THREADS=1 gw_start N
d=$IT_DIR/neg
mkdir -p "$d"
S="msrp://127.0.0.1:9/negsnd;tcp"
WRONG="msrp://127.0.0.1:9/somebody-else;tcp"
bg timeout 40 python3 "$PROBE" recv --relay "127.0.0.1:$N_PORT" --user bob --password pw \
    --out "$d/out" --ready-file "$d/rpath" --remote-path "$WRONG" --byte-exact \
    --timeout $PT >"$d/recv.json" 2>"$d/recv.err"
rp=$LAST_PID
wait_file "$d/rpath" 10 || check false "negative: receiver published its path"
timeout 40 python3 "$PROBE" send --relay "127.0.0.1:$N_PORT" --to-path "$(cat "$d/rpath")" \
    --from-uri "$S" --chunk 8192 --expect-code 481 --timeout $PT "$FILE" >"$d/send.json" 2>"$d/send.err"
src=$?
wait "$rp"
rrc=$?
read -r U_R R <"$d/rpath"
check "[ $src = 0 ] && [ \"\$(json_get $d/send.json 'j[\"bind_code\"]')\" = 481 ]" \
    "negative: the sender's binding SEND was answered 481 (rc $src, bind_code $(json_get "$d/send.json" 'j["bind_code"]'))"
check "[ $rrc = 1 ]" "negative: the strict receiver exits 1 (rc $rrc)"
check "[ \"\$(json_get $d/recv.json 'j[\"path_errors\"][0][\"want_from_path\"]')\" = '$U_R $WRONG' ]" \
    "negative: the receiver recorded the From-Path it wanted, '$U_R $WRONG' (got: $(json_get "$d/recv.json" 'j["path_errors"][0]["got_from_path"]' 2>&1))"
check "[ \"\$(json_get $d/recv.json 'j[\"responses_sent\"]')\" = \"{'481': 1}\" ]" \
    "negative: the receiver sent exactly one response, a 481 ($(json_get "$d/recv.json" 'j["responses_sent"]'))"
check "[ \"\$(json_get $d/recv.json 'j[\"messages\"]')\" = '[]' ]" "negative: the receiver stored nothing"
gw_stop N
it_done
