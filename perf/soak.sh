#!/usr/bin/env bash
# perf/soak.sh: a long soak of msrpgw (not in CI: 30 minutes by default).
#
#   perf/soak.sh [--seconds N] [--out DIR]
#
# One msrpgw (threads = SOAK_THREADS, default 2; otherwise its default
# config, plus a metrics listener and the users below) carries for the
# whole time:
#   - msrpload sessions (user load): SOAK_SESSIONS (20) sessions of 4 KiB
#     chunks at SOAK_RATE (1000) chunks/s, in back-to-back runs of at most
#     60 s; msrpload checks every byte it receives;
#   - bystander-style checked transfers (user alice): msrpcat recv + send of
#     a fresh 512 KiB random file, SHA-256 checked, one after the other;
#   - the attack mix in waves (perf/attack_mix.sh, from 127.0.0.2): every
#     SOAK_WAVE (60) seconds, attackers for the first half, none for the
#     second; sizes SOAK_SLOW (1000) slowloris, SOAK_IDLE (5000) idle, an
#     AUTH flood of SOAK_FLOOD (4) connections guessing bob's password, and
#     a client that never reads.
# Every 10 s a row goes to soak.csv: time, the gateway's RSS, its open
# connections, drops, and the errors seen so far by the load and the
# transfers. At the end it prints whether there were zero errors and how
# flat RSS was over the second half of the run (max/min, goal <= 1.10):
# over every sample, over the samples at the end of each quiet half-wave
# (attackers gone half a wave), and over the peaks of the attack
# half-waves. RSS rises and falls with the attackers' 6,000 connections,
# so a leak is judged on the quiet-phase samples (when there are at least
# 3; else on every sample). Exit status 0 when zero errors and flat RSS
# both hold, else 1.
#
# Environment: MSRP_BUILD (default <repo>/build), SOAK_SECONDS (default
# 1800), and the SOAK_* sizes above. Output: perf/results/soak-<UTC time>/
# (or --out): soak.csv, summary.txt, logs/.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
BUILD=${MSRP_BUILD:-$src/build}
GW=$BUILD/gateway/msrpgw
LOAD=$BUILD/tools/msrpload
CAT=$BUILD/tools/msrpcat
SECS=${SOAK_SECONDS:-1800}
THREADS=${SOAK_THREADS:-2}
SESSIONS=${SOAK_SESSIONS:-20}
RATE=${SOAK_RATE:-1000}
WAVE=${SOAK_WAVE:-60}
SLOW=${SOAK_SLOW:-1000}
IDLE=${SOAK_IDLE:-5000}
FLOOD=${SOAK_FLOOD:-4}
out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) SECS=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$out" ] || out=$here/results/soak-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out/logs" || exit 2
out=$(cd "$out" && pwd)
LOG=$out/logs
for b in "$GW" "$LOAD" "$CAT"; do
    [ -x "$b" ] || { echo "soak.sh: missing $b (build first)" >&2; exit 2; }
done
[ "$SECS" -ge 30 ] || { echo "soak.sh: --seconds must be >= 30" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null
. "$here/attack_mix.sh"

PIDS=()
cleanup() {
    attack_mix_stop
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the gateway ----
cat >"$LOG/msrpgw.ini" <<EOF
[gateway]
threads = $THREADS
listen = 127.0.0.1:0
destinations_allow = 127.0.0.0/8, ::1
user = load:load
user = alice:secret
user = bob:pw
max_reservations_per_user = 0
[metrics]
listen = 127.0.0.1:0
[log]
level = warn
EOF
"$GW" -c "$LOG/msrpgw.ini" --port-file "$LOG/ports" >"$LOG/msrpgw.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")
for _ in $(seq 200); do
    [ -s "$LOG/ports" ] && break
    sleep 0.05
done
GW_PORT=$(awk '$1=="tcp"{print $2}' "$LOG/ports" 2>/dev/null)
MET_PORT=$(awk '$1=="metrics"{print $2}' "$LOG/ports" 2>/dev/null)
[ -n "$GW_PORT" ] && [ -n "$MET_PORT" ] || { echo "soak.sh: msrpgw did not start:" >&2; cat "$LOG/msrpgw.log" >&2; exit 1; }
echo "soak: msrpgw pid $GW_PID port $GW_PORT metrics $MET_PORT, $SECS s, results in $out"

RSS0=$(awk '/^VmRSS/{print $2}' "/proc/$GW_PID/status")
t0=$(date +%s)
END=$((t0 + SECS))

# ---- load: back-to-back msrpload runs ----
load_loop() {
    local n=0 left
    while :; do
        left=$((END - $(date +%s) - 5))
        [ "$left" -ge 5 ] || break
        [ "$left" -le 60 ] || left=60
        n=$((n + 1))
        timeout -k 5 $((left + 90)) "$LOAD" --relay "127.0.0.1:$GW_PORT" --user load --password load \
            --sessions "$SESSIONS" --chunk-size 4096 --message-size 256K --rate "$RATE" \
            --duration "$left" --setup-timeout 30 --json >"$LOG/load.$n.json" 2>"$LOG/load.$n.err"
        # One line per run: errors (responses other than 200, setup
        # failures, bad or missing data; a failed run counts at least 1).
        python3 - "$LOG/load.$n.json" $? >>"$LOG/load.tally" <<'EOF'
import json, sys
try:
    j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
    e = j.get("error_count", 0) + j.get("setup_failures", 0) + (0 if j.get("verified") else 1)
    if sys.argv[2] != "0" and e == 0:
        e = 1
    print(e, j.get("chunks_acked", 0))
except Exception:
    print(1, 0)
EOF
    done
}

# ---- bystander transfers: msrpcat, SHA-256 checked ----
transfer_loop() {
    local n=0 want rp rc
    while [ $(($(date +%s) + 15)) -lt "$END" ]; do
        n=$((n + 1))
        head -c 524288 /dev/urandom >"$LOG/xfer.in"
        want=$(sha256sum "$LOG/xfer.in" | cut -c1-64)
        rm -f "$LOG/xfer.path" "$LOG/xfer.out"
        timeout 30 "$CAT" recv --relay "127.0.0.1:$GW_PORT" --user alice --password secret \
            --out "$LOG/xfer.out" --path-file "$LOG/xfer.path" --expect-sha256 "$want" \
            >/dev/null 2>"$LOG/xfer.recv.err" &
        rp=$!
        for _ in $(seq 200); do
            [ -s "$LOG/xfer.path" ] && break
            sleep 0.05
        done
        rc=1
        if [ -s "$LOG/xfer.path" ] && timeout 30 "$CAT" send "$LOG/xfer.in" \
            --to-path "$(cat "$LOG/xfer.path")" --chunk-size 65536 >/dev/null 2>"$LOG/xfer.send.err"; then
            wait "$rp" && rc=0
        else
            kill "$rp" 2>/dev/null
            wait "$rp" 2>/dev/null
        fi
        if [ $rc = 0 ]; then
            echo ok >>"$LOG/xfer.tally"
        else
            echo fail >>"$LOG/xfer.tally"
            { echo "transfer $n failed at $(date -u +%T):"; cat "$LOG/xfer.recv.err" "$LOG/xfer.send.err"; } \
                >>"$LOG/xfer.failures"
        fi
        sleep 1
    done
}

# ---- attack waves ----
attack_loop() {
    local half=$((WAVE / 2)) w=0
    # Runs in a subshell: its attackers are stopped here, not by cleanup.
    trap 'attack_mix_stop; exit 0' TERM
    while [ $(($(date +%s) + WAVE)) -le "$END" ]; do
        w=$((w + 1))
        if attack_mix_start 127.0.0.1 "$GW_PORT" "$SLOW" "$IDLE" "$FLOOD" "$((half + 30))" \
            "$LOG/wave.$w"; then
            echo "on $(date +%s)" >>"$LOG/waves"
            sleep "$half" & wait $!
            attack_mix_report >"$LOG/wave.$w/summary.txt"
        else
            echo "failed $(date +%s) wave $w: the attack mix did not start (see $LOG/wave.$w)" >>"$LOG/waves"
            sleep "$half" & wait $!
        fi
        attack_mix_stop
        echo "off $(date +%s)" >>"$LOG/waves"
        sleep "$half" & wait $!
        echo "quiet-end $(date +%s)" >>"$LOG/waves"
    done
}

: >"$LOG/load.tally"
: >"$LOG/xfer.tally"
: >"$LOG/waves"
load_loop & PIDS+=($!)
transfer_loop & PIDS+=($!)
attack_loop & ATTACK_LOOP=$!
PIDS+=("$ATTACK_LOOP")

metric() { # FAMILY: sum over every series of that family
    curl -s --max-time 3 "http://127.0.0.1:$MET_PORT/metrics" 2>/dev/null |
        awk -v f="$1" '$1 == f || index($1, f "{") == 1 { s += $NF } END { printf "%d\n", s }'
}

CSV=$out/soak.csv
echo "t_s,rss_kib,connections,drops,load_runs,load_errors,load_chunks,transfers_ok,transfers_failed,attack_on,gateway_alive" >"$CSV"
next=$t0
while [ "$(date +%s)" -lt "$END" ]; do
    next=$((next + 10))
    while [ "$(date +%s)" -lt "$next" ]; do sleep 0.5; done
    alive=1
    kill -0 "$GW_PID" 2>/dev/null || alive=0
    rss=$(awk '/^VmRSS/{print $2}' "/proc/$GW_PID/status" 2>/dev/null || echo 0)
    conns=$(metric msrpgw_connections_current)
    drops=$(metric msrpgw_drops_total)
    read -r lruns lerr lchunks < <(awk '{n++; e += $1; c += $2} END {printf "%d %d %d\n", n, e, c}' "$LOG/load.tally")
    xok=$(grep -c '^ok' "$LOG/xfer.tally")
    xfail=$(grep -c '^fail' "$LOG/xfer.tally")
    on=$(tail -n 1 "$LOG/waves" | awk '{print ($1 == "on") ? 1 : 0}')
    echo "$(($(date +%s) - t0)),${rss:-0},$conns,$drops,$lruns,$lerr,$lchunks,$xok,$xfail,${on:-0},$alive" | tee -a "$CSV"
    [ $alive = 1 ] || break
done

# Let the last runs finish and be tallied (they end before END).
for p in "${PIDS[@]}"; do
    [ "$p" = "$GW_PID" ] && continue
    timeout 120 tail --pid="$p" -f /dev/null 2>/dev/null
done
kill -0 "$GW_PID" 2>/dev/null && gw_alive=1 || gw_alive=0

python3 - "$CSV" "$LOG" "$gw_alive" "$t0" "$RSS0" >"$out/summary.txt" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
log, alive, t0 = sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
load = [l.split() for l in open(log + "/load.tally") if l.strip()]
lerr = sum(int(e) for e, _ in load)
lchunks = sum(int(c) for _, c in load)
xfer = [l.strip() for l in open(log + "/xfer.tally") if l.strip()]
xok, xfail = xfer.count("ok"), xfer.count("fail")
waves = [l.split() for l in open(log + "/waves") if l.strip()]
zero = lerr == 0 and xfail == 0 and alive and len(load) > 0 and xok > 0
started = sum(1 for w in waves if w[0] == "on")
failed = sum(1 for w in waves if w[0] == "failed")
t_end = int(rows[-1]["t_s"]) if rows else 0

def spread(vals):
    return (max(vals) / min(vals), min(vals), max(vals)) if vals and min(vals) > 0 else None

second = [r for r in rows if int(r["t_s"]) >= t_end / 2]
raw = spread([int(r["rss_kib"]) for r in second])
# The sample at the end of each quiet half-wave (attackers gone for half a
# wave): the gateway's footprint without the attack's own working set.
quiet = []
for w in waves:
    if w[0] != "quiet-end":
        continue
    q = int(w[1]) - t0
    before = [r for r in rows if int(r["t_s"]) <= q]
    if before and int(before[-1]["t_s"]) >= t_end / 2:
        quiet.append(int(before[-1]["rss_kib"]))
qs = spread(quiet)
# The highest sample of each attack half-wave in the second half.
peaks, cur = [], None
for r in second:
    if r["attack_on"] == "1":
        cur = max(cur or 0, int(r["rss_kib"]))
    elif cur is not None:
        peaks.append(cur)
        cur = None
ps = spread(peaks)
# With attack waves, RSS rises and falls with the attackers' connections:
# a leak shows as growth of the quiet-phase footprint, so that is judged
# when the second half has at least 3 quiet samples (else the raw spread).
judged = qs if len(quiet) >= 3 else raw
print(f"duration: {t_end} s, samples: {len(rows)} (soak.csv); RSS before any load: {sys.argv[5]} KiB")
print(f"load: {len(load)} msrpload runs, {lchunks} chunks acked and verified, errors {lerr}")
print(f"transfers: {xok} ok, {xfail} failed (512 KiB, SHA-256 checked)")
print(f"attack waves: {started} started, {failed} failed to start")
print(f"gateway alive at the end: {'yes' if alive else 'NO'}")
print(f"zero errors: {'yes' if zero else 'no'}")
if raw:
    print(f"RSS over the second half: min {raw[1]} KiB, max {raw[2]} KiB, max/min {raw[0]:.3f}: "
          f"{'flat' if raw[0] <= 1.10 else 'NOT flat'} within 10%")
if qs:
    print(f"RSS at the end of each quiet half-wave, second half ({len(quiet)} samples): "
          f"min {qs[1]} KiB, max {qs[2]} KiB, max/min {qs[0]:.3f}: "
          f"{'flat' if qs[0] <= 1.10 else 'NOT flat'} within 10%")
if ps:
    print(f"RSS peaks of the attack half-waves, second half ({len(peaks)}): min {ps[1]} KiB, "
          f"max {ps[2]} KiB, max/min {ps[0]:.3f}")
flat = judged is not None and judged[0] <= 1.10
print(f"RSS flat (judged on the {'quiet-phase samples' if judged is qs else 'raw second half'}): "
      f"{'yes' if flat else 'no'}")
sys.exit(0 if zero and flat and started > 0 and failed == 0 else 1)
EOF
rc=$?
cat "$out/summary.txt"
echo "soak: $CSV, $out/summary.txt"
exit $rc
