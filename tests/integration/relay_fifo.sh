#!/bin/bash
# relay_fifo: frames never interleave on a connection. Two senders share
# one next hop (the receiver's connection): S1 sends half a chunk and
# pauses, S2 sends a whole chunk, S1 finishes. The receiver must see A
# whole and only then B (B waited for the slot, its sender stalled), both
# bodies intact, both senders answered 200. Then with pieces (B overtakes
# at a piece boundary), and both directions at once on one connection
# (an answer waits for the end-line of the chunk streaming into it).
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

# Both directions at once on one connection: R's own chunk is answered
# while another sender's chunk streams into R's connection. The answer
# waits for that chunk's end-line; R gets the chunk intact, then its 200.
IT_THREADS=1 gw_start GW3
python3 "$RCLIENT" both --gw-log $GW3_LOG --relay 127.0.0.1:$GW3_PORT --user alice --password secret >$IT_DIR/both.json
rc=$?
cat $IT_DIR/both.json
check "[ $rc -eq 0 ]" "an answer waits for the frame streaming into its connection; both bodies intact, all 200"
gw_stop GW3
it_done
