#!/bin/bash
# relay_fifo: frames never interleave on a connection. Two senders share
# one next hop (the receiver's connection): S1 sends half a chunk and
# pauses, S2 sends a whole chunk, S1 finishes. The receiver must see A
# whole and only then B (B waited for the slot, its sender stalled), both
# bodies intact, both senders answered 200.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_fifo
IT_THREADS=1 gw_start GW
python3 "$RCLIENT" fifo --relay 127.0.0.1:$GW_PORT --user alice --password secret >$IT_DIR/fifo.json
rc=$?
cat $IT_DIR/fifo.json
check "[ $rc -eq 0 ]" "B waited for A's end-line; A then B, intact, both 200"
gw_stop GW
check "grep -q ' 1 chunks waited for a busy next hop' $GW_LOG" "the relay counted exactly one slot wait"
it_done
