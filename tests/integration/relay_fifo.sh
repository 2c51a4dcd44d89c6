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
# run VAR WHAT "CONFIG" CLIENT-ARGS...: a fresh msrpgw (one core, CONFIG),
# relay_client.py CLIENT-ARGS against it (its JSON in $IT_DIR/VAR.json),
# which must exit 0; the gateway is stopped (its log is ${VAR}_LOG).
run() {
    local var=$1 what=$2 conf=$3 port_var log_var
    shift 3
    IT_THREADS=1 gw_start "$var" "$conf"
    port_var=${var}_PORT
    log_var=${var}_LOG
    python3 "$RCLIENT" "$@" --gw-log "${!log_var}" --relay "127.0.0.1:${!port_var}" \
        --user alice --password secret >"$IT_DIR/$var.json"
    local rc=$?
    cat "$IT_DIR/$var.json"
    check "[ $rc -eq 0 ]" "$what"
    gw_stop "$var"
}

run GW "B waited for A's end-line; A then B, intact, both 200" "" fifo
check "log_has $GW_LOG ' 1 chunks waited for a busy next hop'" "the relay counted exactly one slot wait"

# Splitting bounds the wait: with 16 KiB pieces, B goes out at the first
# piece boundary of A after it arrived, then A continues.
run GW2 "B overtakes the rest of a split chunk at a piece boundary; A and B intact, both 200" \
    "max_chunk_out = 16KiB" fifo --split

# Both directions at once on one connection: R's own chunk is answered
# while another sender's chunk streams into R's connection. The answer
# waits for that chunk's end-line; R gets the chunk intact, then its 200.
run GW3 "an answer waits for the frame streaming into its connection; both bodies intact, all 200" \
    "" both
it_done
