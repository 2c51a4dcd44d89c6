# tests/integration/lib/msrpgw.sh: shared helpers for integration tests
# (source it). Every process it starts is recorded and killed on exit;
# every wait is bounded.
#
#   it_init NAME          temp dir $IT_DIR, traps, tool paths ($PROBE, $RCLIENT)
#   gw_start VAR [INI]    start msrpgw with a generated config (127.0.0.1,
#                         ephemeral port, users alice:secret and bob:pw,
#                         extra [gateway] lines from INI; loopback next hops
#                         allowed unless INI or IT_DEST_ALLOW says otherwise); sets ${VAR}_PORT,
#                         ${VAR}_PID, ${VAR}_LOG. IT_THREADS (default 2)
#                         sets threads; IT_LISTEN (default 127.0.0.1:0)
#                         the plain listener, IT_LISTEN= for none;
#                         IT_METRICS (e.g. 127.0.0.1:0) adds a [metrics]
#                         listener, its port in ${VAR}_MPORT
#   gw_stop VAR           SIGTERM, wait (<= 15 s), require exit status 0
#   bg CMD...             start CMD in the background, recorded for cleanup
#   wait_file F [S]       wait until F exists (default 10 s)
#   wait_until S COND     wait until the bash expression COND holds (<= S s)
#   wait_port PORT [S]    wait until a socket listens on TCP port PORT
#   log_has FILE PAT [S]  wait until the log FILE has a line matching PAT
#   check COND MSG        count a failure when COND (a bash expression) fails
#   it_done               print the verdict, exit 0/1
#   json_get FILE EXPR    evaluate a Python expression on the JSON in FILE (as j)

IT_FAILS=0
IT_PIDS=()

it_init() {
    IT_NAME=$1
    : "${MSRP_BUILD:?set MSRP_BUILD to the build directory}"
    : "${MSRP_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
    MSRPGW=${MSRPGW_BIN:-$MSRP_BUILD/gateway/msrpgw}
    PROBE=$MSRP_SRC/tests/peers/msrp_probe.py
    RCLIENT=$MSRP_SRC/tests/integration/lib/relay_client.py
    IT_DIR=$(mktemp -d "/tmp/it-$IT_NAME.XXXXXX")
    trap it_cleanup EXIT
    [ -x "$MSRPGW" ] || { echo "FAIL: no msrpgw binary at $MSRPGW"; exit 1; }
}

it_cleanup() {
    for p in "${IT_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    if [ "$IT_FAILS" -ne 0 ] || [ -n "$IT_KEEP" ]; then
        echo "logs kept in $IT_DIR"
    else
        rm -rf "$IT_DIR"
    fi
}

bg() {
    "$@" &
    IT_PIDS+=($!)
    LAST_PID=$!
}

wait_file() {
    local f=$1 t=${2:-10} i=0
    while [ ! -s "$f" ]; do
        i=$((i + 1))
        [ $i -gt $((t * 20)) ] && return 1
        sleep 0.05
    done
    return 0
}

# wait_until SECONDS COND: poll the bash expression COND every 50 ms; 1 on
# timeout.
wait_until() {
    local t=$1 cond=$2 i=0
    until eval "$cond"; do
        i=$((i + 1))
        [ $i -gt $((t * 20)) ] && return 1
        sleep 0.05
    done
    return 0
}

# log_has FILE PATTERN [S]: FILE gets a line matching PATTERN (grep BRE)
# within S s (default 5). The daemon's lines are written by its log
# thread a moment after the event: never grep a live log without this.
log_has() {
    wait_until "${3:-5}" "grep -q -- $(printf %q "$2") $(printf %q "$1")"
}

# wait_port PORT [S]: until a socket listens on TCP port PORT (default
# 10 s). Read from /proc/net/tcp*, without connecting: a single-accept
# listener (socat without fork) would spend its one accept on a probe.
wait_port() {
    local hex
    hex=$(printf ':%04X ' "$1")
    wait_until "${2:-10}" "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '\$4 == \"0A\"' | grep -q '$hex'"
}

check() {
    if eval "$1"; then
        echo "ok   - $2"
    else
        echo "FAIL - $2"
        IT_FAILS=$((IT_FAILS + 1))
    fi
}

json_get() {
    python3 -c 'import json,sys; j=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print(eval(sys.argv[2]))' "$1" "$2"
}

gw_start() {
    local var=$1 extra=${2:-}
    local dir=$IT_DIR/$var
    mkdir -p "$dir"
    # Every peer of these tests is on loopback, which the destination
    # policy denies by default: allowed here unless the test sets its own
    # destinations_allow (or IT_DEST_ALLOW, empty = the default policy).
    local allow=""
    case "$extra" in
    *destinations_allow*) ;;
    *) [ -n "${IT_DEST_ALLOW-127.0.0.0/8, ::1}" ] &&
           allow="destinations_allow = ${IT_DEST_ALLOW-127.0.0.0/8, ::1}" ;;
    esac
    # IT_USERS: `user =` lines in place of alice:secret and bob:pw.
    local users=${IT_USERS-"user = alice:secret
user = bob:pw"}
    cat >"$dir/msrpgw.ini" <<EOF
[gateway]
threads = ${IT_THREADS:-2}
listen = ${IT_LISTEN-127.0.0.1:0}
$users
$allow
$extra
${IT_METRICS:+[metrics]
listen = $IT_METRICS}
[log]
level = debug
EOF
    "$MSRPGW" -c "$dir/msrpgw.ini" --port-file "$dir/ports" >"$dir/log" 2>&1 &
    local pid=$!
    IT_PIDS+=($pid)
    if ! wait_file "$dir/ports" 10; then
        echo "FAIL - $var did not start:"; cat "$dir/log"
        IT_FAILS=$((IT_FAILS + 1))
        it_done
    fi
    eval "${var}_PORT=$(awk '$1=="tcp"{print $2}' "$dir/ports")"
    eval "${var}_PID=$pid"
    eval "${var}_LOG=$dir/log"
    eval "${var}_MPORT=$(awk '$1=="metrics"{print $2}' "$dir/ports")"
}

gw_stop() {
    local var=$1
    local pid_var=${var}_PID
    local pid=${!pid_var}
    kill -TERM "$pid" 2>/dev/null
    local i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 300 ]; then
            kill -KILL "$pid"
            check false "$var exits within 15 s of SIGTERM"
            return
        fi
        sleep 0.05
    done
    wait "$pid"
    local rc=$?
    check "[ $rc -eq 0 ]" "$var exits 0 after SIGTERM (got $rc)"
}

it_done() {
    if [ "$IT_FAILS" -eq 0 ]; then
        echo "PASS $IT_NAME"
        exit 0
    fi
    echo "FAIL $IT_NAME: $IT_FAILS failure(s)"
    exit 1
}
