#!/bin/bash
# relay_kamailio: interop with Kamailio's msrp relay (tests/peers/kamailio),
# in the arrangements PEERS.md says Kamailio supports:
#  (a) sender -> Kamailio -> msrpgw -> receiver: the receiver AUTHs to
#      msrpgw; the probe sender sends 8 KiB chunks (Kamailio relays at most
#      ~10.9 KB) to Kamailio with To-Path = K, msrpgw Use-Path, receiver.
#      Kamailio opens the connection to msrpgw and relays. Kamailio answers
#      each chunk 200 before relaying it and queues at most ~32 KB per
#      connection while it is still connecting ("write queue full", the
#      frame is dropped), so the sender keeps a window of 2 chunks.
#  (b) sender -> msrpgw -> Kamailio -> receiver: the receiver AUTHs to
#      Kamailio; the sender AUTHs to msrpgw (so it may open the connection
#      to Kamailio) and sends 64 KiB chunks, which msrpgw splits into
#      8 KiB pieces (max_chunk_out) so that Kamailio accepts them.
# Both: the file arrives intact and every chunk is answered 200.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_kamailio
command -v kamailio >/dev/null || { echo "SKIP: kamailio not installed"; exit 77; }
KDIR=$IT_DIR/kamailio
kstop() { bash "$MSRP_SRC/tests/peers/kamailio/stop.sh" "$KDIR" >/dev/null 2>&1; }
trap 'kstop; it_cleanup' EXIT
read -r K_PORT K_PID < <(bash "$MSRP_SRC/tests/peers/kamailio/start.sh" "$KDIR" 2>$IT_DIR/kstart.err)
check "[ -n \"$K_PORT\" ]" "Kamailio started (port ${K_PORT:-none})"
[ -n "$K_PORT" ] || { cat $IT_DIR/kstart.err; it_done; }
gw_start GW "max_chunk_out = 8KiB"
KURI="msrp://127.0.0.1:$K_PORT;tcp"
GURI="msrp://127.0.0.1:$GW_PORT;tcp"

# (a) Kamailio in front, msrpgw next to the receiver.
head -c 1048576 /dev/urandom >$IT_DIR/a.in
bg timeout 60 python3 "$PROBE" recv --relay 127.0.0.1:$GW_PORT --out $IT_DIR/a.out \
    --ready-file $IT_DIR/a.ready --user alice --password secret --timeout 50 >$IT_DIR/a.recv.json
RPID=$LAST_PID
wait_file $IT_DIR/a.ready 10 || check false "(a) receiver ready"
timeout 60 python3 "$PROBE" send --relay 127.0.0.1:$K_PORT --to-path "$KURI $(cat $IT_DIR/a.ready)" \
    --chunk 8192 --window 2 $IT_DIR/a.in >$IT_DIR/a.send.json
check "[ $? -eq 0 ]" "(a) sender: bind and all 128 chunks answered 200 (by Kamailio)"
wait $RPID
check "[ $? -eq 0 ]" "(a) receiver behind msrpgw got the message"
check "[ \"$(sha256sum <$IT_DIR/a.in | cut -d' ' -f1)\" = \"$(sha256sum <$IT_DIR/a.out | cut -d' ' -f1)\" ]" \
    "(a) 1 MiB intact through Kamailio then msrpgw"

# (b) msrpgw in front, Kamailio next to the receiver.
head -c 1048576 /dev/urandom >$IT_DIR/b.in
bg timeout 60 python3 "$PROBE" recv --relay 127.0.0.1:$K_PORT --out $IT_DIR/b.out \
    --ready-file $IT_DIR/b.ready --timeout 50 >$IT_DIR/b.recv.json
RPID=$LAST_PID
wait_file $IT_DIR/b.ready 10 || check false "(b) receiver ready"
timeout 60 python3 "$RCLIENT" send --relay 127.0.0.1:$GW_PORT --user alice --password secret \
    --to-path "$GURI $(cat $IT_DIR/b.ready)" --chunk 65536 $IT_DIR/b.in >$IT_DIR/b.send.json
check "[ \"$(json_get $IT_DIR/b.send.json 'set(j["codes"]) == {200} and len(j["codes"]) == 17')\" = True ]" \
    "(b) sender: bind and 16 chunks of 64 KiB answered 200"
wait $RPID
check "[ $? -eq 0 ]" "(b) receiver behind Kamailio got the message"
check "[ \"$(sha256sum <$IT_DIR/b.in | cut -d' ' -f1)\" = \"$(sha256sum <$IT_DIR/b.out | cut -d' ' -f1)\" ]" \
    "(b) 1 MiB intact through msrpgw (split to 8 KiB) then Kamailio"
check "[ \"$(json_get $IT_DIR/b.recv.json 'j["messages"][0]["chunks"]')\" = 128 ]" \
    "(b) Kamailio delivered 128 pieces of 8 KiB"
gw_stop GW
kstop
it_done
