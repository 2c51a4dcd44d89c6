#!/bin/bash
# relay_backpressure: a receiver that reads slowly (16 KiB per 5 ms, about
# 3 MB/s) and a sender that pushes 8 MiB with 8 chunks of 64 KiB in flight.
# With conn_mem_ceiling = 64 KiB the relay must stall the sender (counted)
# instead of queueing: the most bytes ever queued toward the receiver stay
# under the ceiling plus one receive buffer and a few heads (256 KiB), far
# from the 8 MiB a buffering relay would hold; and the file arrives intact.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_backpressure
IT_THREADS=1 gw_start GW "conn_mem_ceiling = 64KiB"
head -c 8388608 /dev/urandom >$IT_DIR/in
bg timeout 60 python3 "$RCLIENT" slow --relay 127.0.0.1:$GW_PORT --user alice --password secret \
    --ready-file $IT_DIR/ready --out $IT_DIR/out >$IT_DIR/slow.json
RPID=$LAST_PID
wait_file $IT_DIR/ready 10 || check false "receiver ready"
timeout 60 python3 "$PROBE" send --to-path "$(cat $IT_DIR/ready)" --chunk 65536 --window 8 \
    --timeout 50 $IT_DIR/in >$IT_DIR/send.json
check "[ $? -eq 0 ]" "sender: every chunk answered 200"
wait $RPID
check "cmp -s $IT_DIR/in $IT_DIR/out" "8 MiB intact through the slow receiver"
gw_stop GW
qmax=$(sed -n 's/.*queued at most \([0-9]*\)$/\1/p' $GW_LOG | sort -n | tail -1)
check "[ -n \"$qmax\" ] && [ $qmax -lt 262144 ]" "at most ${qmax} bytes ever queued on a connection (< 256 KiB)"
stalls=$(sed -n 's/.* \([0-9]*\) stalls$/\1/p' $GW_LOG)
check "[ \"${stalls:-0}\" -gt 0 ]" "the sender was stalled by the slow next hop (${stalls} stalls)"
it_done
