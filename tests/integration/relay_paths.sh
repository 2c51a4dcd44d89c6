#!/bin/bash
# relay_paths: the paths deployed clients check, end to end, with msrpcat
# endpoints that are as strict as those clients (a request whose From-Path
# is not reverse(my relay's Use-Path) + the sender's path gets 481, a
# REPORT with a wrong one is dropped). RFC 4976 section 7.2: every relay
# moves each URI of its own that it takes off To-Path to From-Path, byte
# for byte. U_R = the receiver's Use-Path, U_S the sender's, S/R their URIs.
#  A  receiver AUTHs, sender dials the relay path straight (From-Path
#     names port 9: nobody listens there): receiver sees "U_R S", the
#     sender's Success REPORT carries "U_R R";
#  B  both AUTH: "U_R U_S S" and "U_S U_R R";
#  C  sender AUTHs, receiver listens: "U_S S" and "U_S R";
#  chain  sender AUTHs to relay 1, receiver to relay 2: "U_R U_S S", "U_S U_R R";
# each with one core and with two (reservations on different cores: a
# loopback hop, which must not show in any path); then Kamailio before and
# after msrpgw. Every file intact, every Success REPORT back.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_paths
CAT=$MSRP_BUILD/tools/msrpcat
D=$IT_DIR
head -c 300017 /dev/urandom >"$D/file"
WANT=$(sha256sum "$D/file" | cut -c1-64)
S="msrp://127.0.0.1:9/snd$$;tcp"

# recv NAME ARGS...: a strict receiver in the background ($RPID), its path in $D/NAME.path.
recv() {
    local name=$1; shift
    bg timeout 30 "$CAT" recv --out "$D/$name.out" --path-file "$D/$name.path" \
        --expect-sha256 "$WANT" "$@" >"$D/$name.rout" 2>"$D/$name.rerr"
    RPID=$LAST_PID
    wait_file "$D/$name.path" 10 || check false "$name: receiver ready"
}

# send NAME ARGS...: the sender (Success-Report yes); checks both ends.
send() {
    local name=$1; shift
    timeout 30 "$CAT" send "$D/file" --local-uri "$S" --success-report --chunk-size 8192 "$@" \
        >"$D/$name.sout" 2>"$D/$name.serr"
    local rc=$?
    check "[ $rc = 0 ]" "$name: send succeeds, Success REPORT back (rc $rc): $(tail -1 "$D/$name.serr")"
    wait "$RPID"
    rc=$?
    check "[ $rc = 0 ]" "$name: receiver accepts every chunk, file intact (rc $rc): $(tail -1 "$D/$name.rerr")"
}

got_from() { sed -n 's/^from-path //p' "$D/$1.rout" | head -1; }
got_report() { sed -n 's/^report 200 from-path //p' "$D/$1.sout" | head -1; }
use_of() { cut -d' ' -f1 "$D/$1.path"; } # the receiver's Use-Path (one relay)
own_of() { awk '{print $NF}' "$D/$1.path"; } # the receiver's URI

# eq NAME WHAT GOT WANT
eq() { check "[ \"$3\" = \"$4\" ]" "$1: $2 is \"$4\" (got \"$3\")"; }

# The sender's reservation, read off the From-Path the receiver got at
# position $2 (1-based); checked to be a URI of the relay on port $3 with a
# session id of ours.
sender_use() {
    us=$(got_from "$1" | cut -d' ' -f"$2")
    check "[[ \"$us\" =~ ^msrp://127\\.0\\.0\\.1:$3/[0-9A-Za-z]{16}\\;tcp\$ ]]" \
        "$1: the sender's Use-Path ($us) is relay port $3's URI with a 16-character session id"
}

arrangements() { # TAG PORT
    local t=$1 P=$2
    recv "$t.A" --relay "127.0.0.1:$P" --user bob --password pw --expect-remote-path "$S"
    send "$t.A" --to-path "$(cat "$D/$t.A.path")"
    eq "$t.A" "receiver's From-Path" "$(got_from "$t.A")" "$(use_of "$t.A") $S"
    eq "$t.A" "Success REPORT's From-Path" "$(got_report "$t.A")" "$(cat "$D/$t.A.path")"

    recv "$t.B" --relay "127.0.0.1:$P" --user bob --password pw
    send "$t.B" --relay "127.0.0.1:$P" --user alice --password secret \
        --to-path "$(cat "$D/$t.B.path")"
    sender_use "$t.B" 2 "$P"
    eq "$t.B" "receiver's From-Path" "$(got_from "$t.B")" "$(use_of "$t.B") $us $S"
    eq "$t.B" "Success REPORT's From-Path" "$(got_report "$t.B")" "$us $(cat "$D/$t.B.path")"

    recv "$t.C" --listen 127.0.0.1:0
    send "$t.C" --relay "127.0.0.1:$P" --user alice --password secret \
        --to-path "$(cat "$D/$t.C.path")"
    sender_use "$t.C" 1 "$P"
    eq "$t.C" "receiver's From-Path" "$(got_from "$t.C")" "$us $S"
    eq "$t.C" "Success REPORT's From-Path" "$(got_report "$t.C")" "$us $(cat "$D/$t.C.path")"
}

IT_THREADS=1 gw_start G1
arrangements t1 "$G1_PORT"

# Chain: sender AUTHs to G1, receiver to G2 (G1 opens the connection).
IT_THREADS=1 gw_start G2
recv chain --relay "127.0.0.1:$G2_PORT" --user bob --password pw
send chain --relay "127.0.0.1:$G1_PORT" --user alice --password secret \
    --to-path "$(cat "$D/chain.path")"
sender_use chain 2 "$G1_PORT"
eq chain "receiver's From-Path" "$(got_from chain)" "$(use_of chain) $us $S"
eq chain "Success REPORT's From-Path" "$(got_report chain)" "$us $(cat "$D/chain.path")"
gw_stop G2

# Two cores: reservations land on either; both-AUTH pairs on different
# cores cross a loopback hop that no path may show.
IT_THREADS=2 gw_start G3
for i in 1 2 3; do
    arrangements "t2.$i" "$G3_PORT"
done
hops=$(grep -c "connecting to next hop msrp://127.0.0.1:$G3_PORT/" "$G3_LOG")
echo "# two cores: $hops loopback hop connection(s) in 3 runs"

# Kamailio (tests/peers/kamailio): chunks <= 10 KB, and it relays no
# REPORT back to a sender, so no Success-Report through it.
if command -v kamailio >/dev/null; then
    KDIR=$D/kamailio
    kstop() { bash "$MSRP_SRC/tests/peers/kamailio/stop.sh" "$KDIR" >/dev/null 2>&1; }
    trap 'kstop; it_cleanup' EXIT
    read -r K_PORT _ < <(bash "$MSRP_SRC/tests/peers/kamailio/start.sh" "$KDIR" 2>"$D/kstart.err")
    check "[ -n \"$K_PORT\" ]" "Kamailio started"
    K="msrp://127.0.0.1:$K_PORT;tcp"
    # (a) sender -> Kamailio -> msrpgw -> receiver: both relays move the
    # URI they consume.
    recv ka --relay "127.0.0.1:$G1_PORT" --user bob --password pw --expect-remote-path "$K $S"
    timeout 60 "$CAT" send "$D/file" --local-uri "$S" --chunk-size 8192 --window 2 \
        --to-path "$K $(cat "$D/ka.path")" >"$D/ka.sout" 2>"$D/ka.serr"
    check "[ $? = 0 ]" "ka: send through Kamailio then msrpgw: $(tail -1 "$D/ka.serr")"
    wait "$RPID"
    check "[ $? = 0 ]" "ka: strict receiver behind msrpgw got the file: $(tail -1 "$D/ka.rerr")"
    eq ka "receiver's From-Path" "$(got_from ka)" "$(use_of ka) $K $S"
    # (b) sender -> msrpgw -> Kamailio -> receiver (AUTHed to Kamailio).
    recv kb --relay "127.0.0.1:$K_PORT"
    timeout 60 "$CAT" send "$D/file" --local-uri "$S" --relay "127.0.0.1:$G1_PORT" --user alice \
        --password secret --chunk-size 8192 --window 2 --to-path "$(cat "$D/kb.path")" \
        >"$D/kb.sout" 2>"$D/kb.serr"
    check "[ $? = 0 ]" "kb: send through msrpgw then Kamailio: $(tail -1 "$D/kb.serr")"
    wait "$RPID"
    check "[ $? = 0 ]" "kb: strict receiver behind Kamailio got the file: $(tail -1 "$D/kb.rerr")"
    sender_use kb 2 "$G1_PORT"
    eq kb "receiver's From-Path" "$(got_from kb)" "$(use_of kb) $us $S"
    kstop
fi
gw_stop G1
gw_stop G3
it_done
