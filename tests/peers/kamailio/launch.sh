# launch.sh: the Kamailio launcher that tests/peers/kamailio/start.sh and
# tests/peers/kamailio-sbc/start.sh share (source it). Each start.sh keeps
# what differs: its config, its defines, how it finds a free port and what
# "ready" means (a TCP accept for the MSRP relay, a 200 to OPTIONS for the
# SBC).

kill_group() {
    local pgid=$1 i
    kill -TERM -- "-$pgid" 2>/dev/null || return 0
    for i in $(seq 50); do
        kill -0 -- "-$pgid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL -- "-$pgid" 2>/dev/null || true
}

# kamailio_launch PORT_DEFINE FREE_PORT_FN READY_FN POLLS POLL_SLEEP
# With $KAMAILIO, $cfg, $work and the defines in the array defs: checks the
# config (`kamailio -c`, its errors printed on failure), then starts
# Kamailio in the foreground mode (-DD -E) in its own process group, with
# PORT_DEFINE=<a free port>, pid file and runtime dir in $work, log in
# $work/kamailio.log, and polls READY_FN PORT at most POLLS times. Prints
# "PORT PID" and exits 0 once ready; retries on a fresh port when the port
# was taken meanwhile (3 tries); else kills what it started, prints the log
# tail and exits 1.
kamailio_launch() {
    local define=$1 free_port_fn=$2 ready_fn=$3 polls=$4 poll_sleep=$5
    local check_out port pid ready
    check_out=$("$KAMAILIO" -c -f "$cfg" -A "$define=2855" "${defs[@]}" 2>&1) || {
        echo "start.sh: kamailio -c rejected $cfg:" >&2
        echo "$check_out" >&2
        exit 1
    }
    for _ in 1 2 3; do
        port=$("$free_port_fn")
        rm -f "$work/kamailio.pid"
        # setsid: own process group, so stop.sh can reach every child even
        # if the main process dies first.  (Started from a non-interactive
        # script we are not a group leader, so setsid execs in place and $!
        # is Kamailio's main pid and its process group id.)
        setsid "$KAMAILIO" -f "$cfg" -A "$define=$port" "${defs[@]}" \
            -P "$work/kamailio.pid" -Y "$work" -w "$work" -DD -E -m 64 -M 8 \
            </dev/null >"$work/kamailio.log" 2>&1 &
        pid=$!
        echo "$pid" >"$work/kamailio.pgid"
        echo "$port" >"$work/kamailio.port"
        ready=0
        for _ in $(seq "$polls"); do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            if "$ready_fn" "$port"; then
                ready=1
                break
            fi
            sleep "$poll_sleep"
        done
        if [ $ready = 1 ]; then
            echo "$port $pid"
            exit 0
        fi
        kill_group "$pid"
        wait "$pid" 2>/dev/null || true
        rm -f "$work/kamailio.pgid"
        if ! grep -qi "address already in use" "$work/kamailio.log"; then
            break
        fi
    done
    echo "start.sh: Kamailio did not start on 127.0.0.1:$port; log tail:" >&2
    tail -n 30 "$work/kamailio.log" >&2
    exit 1
}
