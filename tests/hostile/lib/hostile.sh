# tests/hostile/lib/hostile.sh: harness of the hostile-peer suite (issue
# 10). Source it from tests/hostile/NN_name.sh; it sources
# tests/integration/lib/msrpgw.sh (it_init, gw_start, gw_stop, check,
# wait_until, log_has, bg, it_done ...) and adds:
#
#   hostile_init NAME       it_init + a raised fd limit; $HOSTILE_LIB is
#                           this directory, $ATTACK the attack.py path, $PY
#                           the python3 interpreter (run "$PY" "$ATTACK" ...)
#   gw_start GW [INI]       msrpgw.sh's gw_start with a [metrics] listener
#                           (its port in ${GW}_MPORT); loopback next hops
#                           are allowed by gw_start itself
#   bystanders_start GW [N=50] [SIZE=32768] [extra bystanders.py options]
#                           N receivers AUTH as alice, N senders send SIZE-
#                           byte random files to them in a loop through GW;
#                           returns once all are AUTHed and bound (fails
#                           the test if they cannot be)
#   bystanders_stop         stops them, prints their JSON result, and
#                           check()s: every file intact (SHA-256, exact
#                           paths, every chunk's 200), 0 errors, >= 1 file
#                           per session, no file slower than
#                           BYSTANDER_MAX_SECONDS (default 10); returns 1
#                           on failure. $BYSTANDERS_JSON has the result
#   gw_metric GW NAME [LABELS]   sum over cores of the samples of NAME
#                           whose labels contain LABELS (e.g.
#                           'reason="parse_error"'); 0 if absent
#   gw_rss_kb GW            VmRSS of the gateway in KiB
#   rss_settle GW [S=15]    wait until RSS stops moving (jemalloc decay,
#                           first-touched pools), deadline S; see below
#   rss_baseline GW         remember the RSS now (after rss_settle)
#   rss_check GW MAX_KB MSG check(): RSS grew by less than MAX_KB since
#                           rss_baseline (MAX_KB x3 in an ASan build, whose
#                           quarantine hostile_init shrinks to 4 MiB)
#   wait_until S COND       (from msrpgw.sh) poll COND, 1 on timeout
#
# Bystanders cost CPU (one Python thread per connection, 2 per session):
# tests keep N=50 and small files; each sender pauses 200 ms between files
# (--pause), so 50 sessions move about 250 files/s.

HOSTILE_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HOSTILE_LIB/../../integration/lib/msrpgw.sh"
ATTACK=$HOSTILE_LIB/attack.py
BYSTANDERS=$HOSTILE_LIB/bystanders.py
# The interpreter itself, not a version manager's shim (pyenv's costs
# 0.3 s per start, and tests start Python often).
PY=$(python3 -c 'import sys; print(sys.executable)')

hostile_init() {
    it_init "$1"
    # Attack scripts hold thousands of sockets; the gateway inherits this.
    ulimit -n 65536 2>/dev/null || ulimit -n 16384 2>/dev/null || ulimit -n 4096 2>/dev/null
    # Tests scrape metrics: every gateway gets a listener.
    export IT_METRICS=${IT_METRICS:-127.0.0.1:0}
    BYSTANDERS_PID=
    # Under ASan freed memory sits in a quarantine (256 MiB by default)
    # and every allocation has shadow and redzones: RSS bounds would
    # measure ASan. A small quarantine, and bounds scaled by
    # HOSTILE_RSS_FACTOR (rss_check), keep them meaningful.
    HOSTILE_RSS_FACTOR=${HOSTILE_RSS_FACTOR:-1}
    if ldd "$MSRPGW" 2>/dev/null | grep -q libasan; then
        export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4:thread_local_quarantine_size_kb=64
        HOSTILE_RSS_FACTOR=3
    fi
}

# gw_metrics_text GW: the metrics endpoint's text (Prometheus format).
gw_metrics_text() {
    local port_var=${1}_MPORT
    local port=${!port_var}
    [ -n "$port" ] || { echo "gw_metrics_text: $1 has no metrics port" >&2; return 1; }
    "$PY" - "$port" <<'PY'
import sys, urllib.request
with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5) as r:
    sys.stdout.write(r.read().decode())
PY
}

# gw_metric GW NAME [LABELS]: the sum over all samples of family NAME
# whose label set contains the text LABELS (cores are summed).
gw_metric() {
    gw_metrics_text "$1" | awk -v name="$2" -v want="${3:-}" '
        /^#/ { next }
        {
            n = $1; sub(/\{.*/, "", n)
            if (n != name) next
            if (want != "" && index($1, want) == 0) next
            sum += $2
        }
        END { printf "%d\n", sum }'
}

gw_rss_kb() {
    local pid_var=${1}_PID
    awk '/^VmRSS:/ { print $2 }' "/proc/${!pid_var}/status" 2>/dev/null || echo 0
}

# rss_settle GW [DEADLINE_S=15]: returns once GW's RSS has stopped moving,
# before an rss_baseline or a "back near the baseline" check. Why a wait
# is needed at all: after a burst (the bystanders' first files, a warm-up
# flood, TLS reloads) RSS still moves for a while -- ring buffers and slab
# pools are touched for the first time, and jemalloc hands dirty pages
# back only over its decay time (dirty_decay_ms:1000, gateway/daemon/main.c) --
# and no metric says when that is over. So: with bystanders running, first
# wait until the gateway has taken 100 more chunks (they are moving
# files), then sample RSS every 0.5 s until three samples in a row (one
# decay period) lie within 1% of each other (at least 256 KiB). At the
# deadline it says so and returns 1; the caller's bound then judges.
rss_settle() {
    local gw=$1 deadline=${2:-15} c0 a b c tol
    if [ -n "$BYSTANDERS_PID" ]; then
        c0=$(gw_metric "$gw" msrpgw_chunks_in_total)
        wait_until "$deadline" "[ \$(gw_metric $gw msrpgw_chunks_in_total) -ge $((c0 + 100)) ]" ||
            echo "rss_settle: $gw took fewer than 100 chunks in $deadline s"
    fi
    a=$(gw_rss_kb "$gw")
    sleep 0.5
    b=$(gw_rss_kb "$gw")
    local end=$((SECONDS + deadline))
    while [ $SECONDS -lt $end ]; do
        sleep 0.5
        c=$(gw_rss_kb "$gw")
        tol=$((c / 100 > 256 ? c / 100 : 256))
        # a, b and c within tol of each other: max - min <= tol
        local hi=$((a > b ? a : b)) lo=$((a < b ? a : b))
        hi=$((c > hi ? c : hi))
        lo=$((c < lo ? c : lo))
        if [ $((hi - lo)) -le $tol ]; then
            echo "rss_settle: $gw at $a, $b, $c KiB"
            return 0
        fi
        a=$b
        b=$c
    done
    echo "rss_settle: $gw RSS still moving after $deadline s (last samples $a, $b KiB)"
    return 1
}

rss_baseline() {
    eval "${1}_RSS0=$(gw_rss_kb "$1")"
    local v=${1}_RSS0
    echo "rss baseline of $1: ${!v} KiB"
}

# rss_check GW MAX_GROWTH_KB MSG (the bound times HOSTILE_RSS_FACTOR: 3
# under ASan)
rss_check() {
    local v=${1}_RSS0
    local now max=$(($2 * HOSTILE_RSS_FACTOR))
    now=$(gw_rss_kb "$1")
    check "[ $((now - ${!v})) -lt $max ]" "$3: RSS ${!v} -> $now KiB (growth < $max KiB)"
}

# bystanders_start GW [N] [SIZE] [options...]: see the header.
bystanders_start() {
    local gw=$1 n=${2:-50} size=${3:-32768}
    shift; shift; shift
    local port_var=${gw}_PORT
    BYSTANDERS_DIR=$IT_DIR/bystanders.$$.$RANDOM
    mkdir -p "$BYSTANDERS_DIR"
    "$PY" "$BYSTANDERS" --relay "127.0.0.1:${!port_var}" --n "$n" --size "$size" \
        --ready-file "$BYSTANDERS_DIR/ready" --stop-file "$BYSTANDERS_DIR/stop" \
        --max-file-seconds "${BYSTANDER_MAX_SECONDS:-10}" --duration 280 "$@" \
        >"$BYSTANDERS_DIR/result.json" 2>"$BYSTANDERS_DIR/stderr" &
    BYSTANDERS_PID=$!
    IT_PIDS+=($BYSTANDERS_PID)
    if ! wait_until 60 "[ -s $BYSTANDERS_DIR/ready ] || ! kill -0 $BYSTANDERS_PID 2>/dev/null"; then
        check false "bystanders: $n sessions AUTHed and bound within 60 s"
        return 1
    fi
    local ready
    ready=$(cat "$BYSTANDERS_DIR/ready" 2>/dev/null)
    check "[ '${ready:-0}' -eq $n ]" "bystanders: $n sessions AUTHed and bound (${ready:-0})"
}

# bystanders_stop: see the header. Waits at most 60 s for the drain.
bystanders_stop() {
    [ -n "$BYSTANDERS_PID" ] || { check false "bystanders_stop without bystanders_start"; return 1; }
    touch "$BYSTANDERS_DIR/stop"
    local i=0
    while kill -0 "$BYSTANDERS_PID" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 1200 ]; then
            kill -KILL "$BYSTANDERS_PID" 2>/dev/null
            break
        fi
        sleep 0.05
    done
    wait "$BYSTANDERS_PID"
    local rc=$?
    BYSTANDERS_PID=
    BYSTANDERS_JSON=$BYSTANDERS_DIR/result.json
    cat "$BYSTANDERS_JSON"
    [ -s "$BYSTANDERS_DIR/stderr" ] && sed 's/^/bystanders stderr: /' "$BYSTANDERS_DIR/stderr" | head -20
    local files min
    files=$(json_get "$BYSTANDERS_JSON" 'j["files_ok"]' 2>/dev/null)
    min=$(json_get "$BYSTANDERS_JSON" 'j["per_session_min"]' 2>/dev/null)
    local before=$IT_FAILS
    check "[ $rc -eq 0 ]" "bystanders: every file intact, 0 errors, >= 1 file per session (${files:-?} files, min ${min:-?} per session, exit $rc)"
    [ "$IT_FAILS" -eq "$before" ]
}
