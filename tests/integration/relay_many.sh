#!/bin/bash
# relay_many: many sessions at once (RELAY_MANY_N, default 200): N
# receivers AUTH, N senders each send a small random file to one of them,
# all in parallel through one msrpgw; every file must arrive intact.
# Perf runs: RELAY_MANY_N=2000 RELAY_MANY_SIZE=65536.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_many
N=${RELAY_MANY_N:-200}
SIZE=${RELAY_MANY_SIZE:-8192}
ulimit -n 65536 2>/dev/null || ulimit -n 4096
gw_start GW "max_connections = 100000
max_reservations_per_user = 0"
python3 "$RCLIENT" many --relay 127.0.0.1:$GW_PORT --user alice --password secret \
    --n $N --size $SIZE --timeout 120 >$IT_DIR/many.json
rc=$?
cat $IT_DIR/many.json
check "[ $rc -eq 0 ]" "$N sessions: every receiver got its $SIZE-byte file intact, every sender got 200"
gw_stop GW
# With 2 cores, about half the senders land on the wrong core and must be
# steered to the core of their receiver's session.
steered=$(sed -n 's/.* \([0-9]*\) connections steered.*/\1/p' $GW_LOG)
check "[ \"${steered:-0}\" -gt 0 ]" "senders were steered to their session's core ($steered)"
it_done
