#!/bin/bash
# hostile 09, a second instance (issue 10 row 9): a second msrpgw started
# with the same config bound the same MSRP and metrics ports (SO_REUSEPORT
# works across processes of one user) and the kernel split connections
# between the two (17 of 40 pairs failed). Required: the second instance
# refuses to start -- exit 1, "another msrpgw process already listens
# there" naming the address -- for the MSRP listener and for the metrics
# listener alike, every time (20 tries), while 50 bystander sessions keep
# transferring through the first; once the first is gone, the same config
# starts (the claim dies with its process).
. "$(dirname "$0")/lib/hostile.sh"
hostile_init second_instance
gw_start GW
bystanders_start GW 50 || it_done

# The very same config, with the ports the first instance got.
sed -e "s/^listen = 127.0.0.1:0$/listen = 127.0.0.1:$GW_PORT/" \
    -e "/^\[metrics\]/,/^\[/ s/^listen = .*/listen = 127.0.0.1:$GW_MPORT/" \
    $IT_DIR/GW/msrpgw.ini >$IT_DIR/same.ini
# Only the metrics port the same.
sed -e "/^\[metrics\]/,/^\[/ s/^listen = .*/listen = 127.0.0.1:$GW_MPORT/" \
    $IT_DIR/GW/msrpgw.ini >$IT_DIR/metrics.ini
grep -q "^listen = 127.0.0.1:$GW_PORT$" $IT_DIR/same.ini &&
    [ "$(grep -c "^listen = 127.0.0.1:$GW_MPORT$" $IT_DIR/same.ini)" = 1 ]
check "[ $? -eq 0 ]" "setup: second config names ports $GW_PORT and $GW_MPORT"

try() { # try INI N WANT_PATTERN: N starts, each must exit 1 with the message
    local ini=$1 n=$2 pat=$3 ok=0 i rc
    for i in $(seq $n); do
        timeout 10 "$MSRPGW" -c $ini --port-file $IT_DIR/p2.$i >$IT_DIR/second.log 2>&1
        rc=$?
        if [ $rc = 1 ] && grep -q "$pat" $IT_DIR/second.log && [ ! -e $IT_DIR/p2.$i ]; then
            ok=$((ok + 1))
        else
            echo "try $i: exit $rc: $(tail -3 $IT_DIR/second.log)"
        fi
    done
    echo $ok
}
n=$(try $IT_DIR/same.ini 20 "cannot listen on listen 127.0.0.1:$GW_PORT: another msrpgw process already listens there" | tail -1)
check "[ \"$n\" = 20 ]" "same config: 20 of 20 second instances exit 1, naming 127.0.0.1:$GW_PORT ($n; $(head -c 300 $IT_DIR/second.log))"
n=$(try $IT_DIR/metrics.ini 5 "cannot listen on \[metrics\] listen 127.0.0.1:$GW_MPORT: another msrpgw process already listens there" | tail -1)
check "[ \"$n\" = 5 ]" "same metrics port: 5 of 5 exit 1, naming the metrics address ($n; $(head -c 300 $IT_DIR/second.log))"
check "kill -0 $GW_PID" "the first instance still runs"
check "[ \"$(gw_metric GW msrpgw_connections_current)\" -gt 0 ]" "its metrics endpoint still answers"

bystanders_stop
gw_stop GW
# The claim went with the first process: the same config starts now.
"$MSRPGW" -c $IT_DIR/same.ini --port-file $IT_DIR/p3 >$IT_DIR/third.log 2>&1 &
P3=$!
IT_PIDS+=($P3)
wait_file $IT_DIR/p3 10
P3_PORT=$(awk '$1=="tcp"{print $2}' $IT_DIR/p3 2>/dev/null)
check "[ \"$P3_PORT\" = $GW_PORT ]" \
    "after the first stopped, the same config starts on port $GW_PORT ($P3_PORT)"
kill -TERM $P3; wait $P3
check "[ $? = 0 ]" "and exits 0 on SIGTERM"
it_done
