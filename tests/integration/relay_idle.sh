#!/bin/bash
# relay_idle: an outgoing connection unused for idle_timeout is closed (and
# logged); the next chunk for that hop opens a fresh one and gets through.
# Both messages come from one sender URI: the receiver is strict (it holds
# every request to the From-Path of the first).
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_idle
IT_THREADS=1 gw_start A "idle_timeout = 1"
gw_start B
head -c 100000 /dev/urandom >$IT_DIR/in
bg timeout 60 python3 "$PROBE" recv --relay 127.0.0.1:$B_PORT --out $IT_DIR/out --messages 2 \
    --ready-file $IT_DIR/ready --user bob --password pw --timeout 50 >$IT_DIR/recv.json
RPID=$LAST_PID
wait_file $IT_DIR/ready 10 || check false "receiver ready"
TO="msrp://127.0.0.1:$A_PORT;tcp $(cat $IT_DIR/ready)"
FROM="msrp://127.0.0.1:9/alice$$;tcp"
python3 "$RCLIENT" send --relay 127.0.0.1:$A_PORT --user alice --password secret --to-path "$TO" \
    --from-uri "$FROM" $IT_DIR/in >$IT_DIR/s1.json
check "[ \"$(json_get $IT_DIR/s1.json 'j["codes"]')\" = '[200, 200, 200]' ]" "first message: 200s"
wait_until 10 "grep -q 'closing idle connection to msrp://127.0.0.1:$B_PORT' $A_LOG"
check "[ $? -eq 0 ]" "A closed its idle connection to B"
python3 "$RCLIENT" send --relay 127.0.0.1:$A_PORT --user alice --password secret --to-path "$TO" \
    --from-uri "$FROM" $IT_DIR/in >$IT_DIR/s2.json
check "[ \"$(json_get $IT_DIR/s2.json 'j["codes"]')\" = '[200, 200, 200]' ]" "second message after the close: 200s"
check "[ $(grep -c 'connecting to next hop' $A_LOG) -eq 2 ]" "A opened a second connection to B"
wait $RPID
check "[ $? -eq 0 ]" "receiver got both messages"
check "cmp -s $IT_DIR/in $IT_DIR/out.2" "second message intact"
gw_stop A
gw_stop B
it_done
