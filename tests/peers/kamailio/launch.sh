# launch.sh: the Kamailio launcher that tests/peers/kamailio/start.sh and
# tests/peers/kamailio-sbc/start.sh share (source it). Each start.sh keeps
# what differs: its config, its defines, how it finds a free port and what
# "ready" means (a TCP accept for the MSRP relay, a 200 to OPTIONS for the
# SBC).

KAMAILIO_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# kamailio_prepare NMIN NMAX USAGE "$@": the front both start.sh share.
# "--stop WORKDIR..." execs stop.sh; "--debug" (or KAMAILIO_DEBUG=1) sets
# debug=1; then NMIN..NMAX arguments (NMAX empty: no limit) or USAGE and
# exit 2. The first is the work dir: created, absolute in $work, refused
# while a Kamailio started from it still runs; the rest are left in the
# array args. Needs $KAMAILIO installed.
kamailio_prepare() {
    local nmin=$1 nmax=$2 usage=$3
    shift 3
    debug=${KAMAILIO_DEBUG:-0}
    if [ "${1:-}" = "--stop" ]; then
        shift
        exec "$KAMAILIO_LIB/stop.sh" "$@"
    fi
    if [ "${1:-}" = "--debug" ]; then
        debug=1
        shift
    fi
    if [ $# -lt "$nmin" ] || { [ -n "$nmax" ] && [ $# -gt "$nmax" ]; }; then
        echo "usage: $0 $usage" >&2
        exit 2
    fi
    work=$1
    shift
    args=("$@")
    mkdir -p "$work"
    work=$(cd "$work" && pwd)
    command -v "$KAMAILIO" >/dev/null || { echo "start.sh: kamailio not installed" >&2; exit 1; }
    if [ -f "$work/kamailio.pgid" ] && kill -0 -- "-$(cat "$work/kamailio.pgid")" 2>/dev/null; then
        echo "start.sh: a Kamailio started from $work is still running; stop it first" >&2
        exit 1
    fi
}

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
