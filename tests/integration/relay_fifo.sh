#!/bin/bash
# relay_fifo: frames never interleave on a connection. Two senders share
# one next hop (the receiver's connection): S1 sends half a chunk and
# pauses, S2 sends a whole chunk, S1 finishes. The receiver must see A
# whole and only then B (B waited for the slot, its sender stalled), both
# bodies intact, both senders answered 200.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_fifo
IT_THREADS=1 gw_start GW
python3 "$RCLIENT" fifo --gw-log $GW_LOG --relay 127.0.0.1:$GW_PORT --user alice --password secret >$IT_DIR/fifo.json
rc=$?
cat $IT_DIR/fifo.json
check "[ $rc -eq 0 ]" "B waited for A's end-line; A then B, intact, both 200"
gw_stop GW
check "log_has $GW_LOG ' 1 chunks waited for a busy next hop'" "the relay counted exactly one slot wait"

# Splitting bounds the wait: with 16 KiB pieces, B goes out at the first
# piece boundary of A after it arrived, then A continues.
IT_THREADS=1 gw_start GW2 "max_chunk_out = 16KiB"
python3 "$RCLIENT" fifo --split --gw-log $GW2_LOG --relay 127.0.0.1:$GW2_PORT --user alice --password secret >$IT_DIR/split.json
rc=$?
cat $IT_DIR/split.json
check "[ $rc -eq 0 ]" "B overtakes the rest of a split chunk at a piece boundary; A and B intact, both 200"
gw_stop GW2
it_done
