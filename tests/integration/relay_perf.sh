#!/bin/bash
# relay_perf: goodput of one large transfer (RELAY_PERF_MIB, default 256)
# through msrpgw vs through socat (a plain TCP proxy) in the same run, with
# the same Python endpoints (lib/relay_goodput.py: Failure-Report no, so
# only forwarding is measured). Prints both figures; asserts only that
# every byte arrived both ways (speed is reported, never asserted).
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_perf
MIB=${RELAY_PERF_MIB:-256}
gw_start GW
GP=$MSRP_SRC/tests/integration/lib/relay_goodput.py
timeout 120 python3 $GP --relay 127.0.0.1:$GW_PORT --user alice --password secret --mib $MIB >$IT_DIR/gw.json
check "[ $? -eq 0 ]" "msrpgw: $MIB MiB forwarded: $(cat $IT_DIR/gw.json)"
if command -v socat >/dev/null; then
    PP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    TP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    bg socat TCP-LISTEN:$PP,bind=127.0.0.1,reuseaddr TCP:127.0.0.1:$TP
    wait_port $PP 10
    timeout 120 python3 $GP --relay 127.0.0.1:$PP --proxy-target 127.0.0.1:$TP --mib $MIB >$IT_DIR/socat.json
    check "[ $? -eq 0 ]" "socat:  $MIB MiB forwarded: $(cat $IT_DIR/socat.json)"
fi
gw_stop GW
it_done
