#!/bin/bash
# relay_vias: one unauthenticated connection carrying many senders (what a
# previous relay's shared connection looks like). Each sender must get its
# own session id in the From-Path msrpgw adds, reverse SENDs must reach
# the right sender over that connection, and the per-connection table is
# bounded: with 4,098 senders the oldest extra one (beyond the 4,096 kept,
# RELAY_VIAS_MAX) is answered 481 while the first (the connection's own
# session) and the newest still get through.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_vias
gw_start GW
R=127.0.0.1:$GW_PORT
python3 "$RCLIENT" vias --relay $R --user bob --password pw --n 20 >$IT_DIR/small.json
check "[ $? -eq 0 ]" "20 senders on one connection: 20 sessions, reverse SENDs reach senders 0, 1 and 19 ($(cut -c1-120 $IT_DIR/small.json))"
python3 "$RCLIENT" vias --relay $R --user bob --password pw --n 4098 --cap 4096 >$IT_DIR/big.json
check "[ $? -eq 0 ]" "4,098 senders: 4,098 sessions, the oldest extra one dropped (481), the first and newest reached"
check "[ \"$(json_get $IT_DIR/big.json 'j["oldest_extra"]["code"]')\" = 481 ]" "reverse SEND to the dropped sender: 481"
check "grep -q 'dropping the least recently used of 4096 senders' $GW_LOG" "the drop is logged"
gw_stop GW
it_done
