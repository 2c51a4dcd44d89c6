#!/usr/bin/env bash
# perf/run.sh: msrpgw against Kamailio's msrp relay and raw TCP forwarders,
# all on loopback, driven by msrpload (tools/msrpload.c). Starts and stops
# every process itself; every wait is bounded.
#
#   perf/run.sh [--quick] [--out DIR]
#
# Environment: MSRP_BUILD (build dir, default <repo>/build), LOAD_THREADS
# (msrpload loops, default 1), GW_THREADS ("1 2": msrpgw configs to run),
# SKIP_KAMAILIO=1 (no Kamailio, e.g. not installed), W7_ONLY=1 (only W7),
# W7_REPS (W7 repetitions, default 2), W5_ONLY=1 (only W5 and the crypto
# benchmark, threads = first of GW_THREADS; about 1 minute), W5_REPS (W5
# repetitions, default 1; the table takes medians).
#
# Targets: raw-splice (perf/bench_rawproxy, splice(2): the physical limit),
# raw-copy (perf/bench_rawproxy --copy, read/write through a 64 KiB buffer:
# the least a forwarder pays that must see every byte), socat (userspace
# copier), msrpgw-t1 / msrpgw-t2 (threads = 1 / 2),
# kamailio (tests/peers/kamailio, msrp module). For the forwarders msrpload
# runs direct with --via (senders -> forwarder -> receivers); for the relays
# receivers AUTH and senders send to Use-Path + receiver URI.
#
# Workloads:
#   W1  large files: 1 and 16 sessions, one 256 MiB message each, 64 KiB
#       chunks (10000 B toward Kamailio, which relays <= ~10.9 KB; msrpgw is
#       also run at 10000 B for a like-for-like ratio) -> goodput
#   W2  small chunks: 1 KiB SEND + 200, 100 sessions, closed loop, 10 s,
#       window 8 (as PEERS.md's baselines; the goal is read there) and
#       window 1 (one SEND per session in flight: latency without queueing;
#       msrpload itself tops out near 83k chunks/s per thread there)
#       -> chunks/s, p50..p99.9
#   W3  body bytes relayed per CPU-second of the target (from W1 and W2)
#   W4  10000 idle sessions (AUTHed receivers) + 100 active (64 KiB chunks,
#       10 s) through msrpgw -> RSS per connection, active goodput
#   W5  msrps (TLS) vs plain through msrpgw: 1 session x 4 and 16 sessions
#       x 1 message of 64 MiB in 64 KiB chunks -> goodput and body bytes
#       per gateway CPU-second, for this build's wolfSSL and, with
#       W5_ALT_BUILD=DIR (e.g. a build configured with
#       -DMSRP_WOLFSSL_AESNI=OFF), the other one; plus
#       perf/bench_crypto (AES-128-GCM, ChaCha20-Poly1305 GB/s per core)
#   W6  attack mix: W2 (window 8) on a fresh msrpgw with its default config,
#       once unloaded and once while tests/hostile/lib/attack.py runs 1,000
#       slowloris, 5,000 idle connections, an AUTH flood and a client that
#       never reads (from 127.0.0.2, the bystanders come from 127.0.0.1)
#       -> goodput and body bytes per gateway CPU-second for both, their
#       ratio (goal >= 0.8), errors seen by the W2 sessions (goal 0)
#   W7  per CPU-s vs splice (issue 12): 2 KiB, 8 KiB and 64 KiB chunks x
#       N = 1 / 10 / 100 sessions, window 8, relay mode with Digest through
#       msrpgw (threads = 1) and the same through perf/bench_rawproxy in
#       both modes (splice, copy), all in this run, W7_REPS reps (default 2)
#       interleaved; -> msrpgw / splice and msrpgw / copy body bytes per
#       server CPU-second, wall goodput (medians), SEND->200 p99
#       (per-chunk instruction counts: perf/chunk_cost.sh)
# --quick: same shapes with small sizes (8 MiB messages, 2 s runs, 500 idle
# sessions; W7 only 2 KiB and 64 KiB at N = 10, 1 s, one rep): under 2
# minutes; exits non-zero if a target fails to start or a run reports
# errors / unverified data (a missed goal is not a failure).
# Full mode takes about 9 minutes on a 2-core VM (W7: about 5).
#
# Output: perf/results/<UTC timestamp>/ (or --out): table.md, results.json,
# runs.jsonl (one msrpload JSON per run), *.png plots, logs/.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
BUILD=${MSRP_BUILD:-$src/build}
LOAD=$BUILD/tools/msrpload
GW=$BUILD/gateway/msrpgw
RAWPROXY=$BUILD/perf/bench_rawproxy
LT=${LOAD_THREADS:-1}
GW_THREADS=${GW_THREADS:-"1 2"}

quick=0
out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,55p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$out" ] || out=$here/results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out/logs" || exit 2
out=$(cd "$out" && pwd)
LOG=$out/logs
: >"$LOG/failures.txt" # this run's failures only, also in a reused --out

if [ $quick = 1 ]; then
    W1_MSG=8M; W2_DUR=2; W4_IDLE=500; W4_ACTIVE=10; W4_DUR=2; W4_RAMP=1; W5_MSG=8M
    W6_SLOW=20; W6_IDLE=100; W6_FLOOD=1
    W7_DUR=1; W7_REPS=1; W7_CHUNKS="2048 65536"; W7_SESSIONS="10"
else
    W1_MSG=256M; W2_DUR=10; W4_IDLE=10000; W4_ACTIVE=100; W4_DUR=10; W4_RAMP=5; W5_MSG=64M
    W6_SLOW=1000; W6_IDLE=5000; W6_FLOOD=4
    W7_DUR=4; W7_REPS=${W7_REPS:-2}; W7_CHUNKS="2048 8192 65536"; W7_SESSIONS="1 10 100"
fi
KAM_CHUNK=10000

for b in "$LOAD" "$GW" "$RAWPROXY"; do
    [ -x "$b" ] || { echo "run.sh: missing $b (build first: cmake --build $BUILD)" >&2; exit 2; }
done
command -v socat >/dev/null || { echo "run.sh: socat not installed" >&2; exit 2; }
# W4 needs ~2 descriptors per session on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null

FAILS=0
PIDS=()
KAM_DIR=""
cleanup() {
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    [ -n "$KAM_DIR" ] && "$src/tests/peers/kamailio/stop.sh" "$KAM_DIR" >/dev/null 2>&1
    wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAIL: $*" | tee -a "$LOG/failures.txt" >&2
    FAILS=$((FAILS + 1))
}

wait_file() {
    local f=$1 i
    for i in $(seq 200); do
        [ -s "$f" ] && return 0
        sleep 0.05
    done
    return 1
}

# Free ports base..base+n-1 on 127.0.0.1 (for msrpload's per-loop listeners
# and the forwarders in front of them).
free_base() {
    python3 - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randint(20000, 40000)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(base); sys.exit(0)
sys.exit(1)
EOF
}

# ---- targets ----

CERT=$LOG/cert.pem
KEY=$LOG/key.pem
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
    -keyout "$KEY" -out "$CERT" >/dev/null 2>&1 || { fail "openssl could not make a certificate"; exit 1; }

# gw_start NAME THREADS: sets GW_PID, GW_PORT, GW_TLS_PORT
gw_start() {
    local name=$1 threads=$2 dir=$LOG/$1
    mkdir -p "$dir"
    # A port file left by an earlier run into the same --out would be
    # read before this msrpgw writes its own (wait_file sees it at once).
    rm -f "$dir/ports"
    cat >"$dir/msrpgw.ini" <<EOF
[gateway]
threads = $threads
listen = 127.0.0.1:0
tls_listen = 127.0.0.1:0
destinations_allow = 127.0.0.0/8, ::1
tls_cert = $CERT
tls_key = $KEY
user = load:load
# W4 holds 10,000 reservations of one user: no per-user cap here.
max_reservations_per_user = 0
[log]
level = warn
EOF
    "$GW" -c "$dir/msrpgw.ini" --port-file "$dir/ports" >"$dir/log" 2>&1 &
    GW_PID=$!
    PIDS+=("$GW_PID")
    if ! wait_file "$dir/ports"; then
        fail "$name did not start (log: $dir/log)"
        return 1
    fi
    GW_PORT=$(awk '$1=="tcp"{print $2}' "$dir/ports")
    GW_TLS_PORT=$(awk '$1=="tls"{print $2}' "$dir/ports")
    [ -n "$GW_PORT" ] && [ -n "$GW_TLS_PORT" ] || { fail "$name: no ports in $dir/ports"; return 1; }
}

gw_stop() {
    kill -TERM "$GW_PID" 2>/dev/null
    local i
    for i in $(seq 300); do
        kill -0 "$GW_PID" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$GW_PID" 2>/dev/null && { fail "msrpgw ignored SIGTERM for 15 s"; kill -KILL "$GW_PID"; }
    wait "$GW_PID" 2>/dev/null
}

# fwd_start KIND: one forwarder per msrpload loop, VIA+i -> LISTEN+i.
# Sets FWD_ARGS (msrpload options) and FWD_TARGET (--target-* options).
fwd_start() {
    local kind=$1 i base
    base=$(free_base $((2 * LT))) || { fail "no free ports"; return 1; }
    LISTEN=$base
    VIA=$((base + LT))
    FWD_PIDS=()
    FWD_TARGET=()
    for i in $(seq 0 $((LT - 1))); do
        if [ "$kind" = raw-splice ] || [ "$kind" = raw-copy ]; then
            local mode=()
            [ "$kind" = raw-copy ] && mode=(--copy)
            rm -f "$LOG/rawproxy.$i.port"
            "$RAWPROXY" "${mode[@]}" "127.0.0.1:$((VIA + i))" "127.0.0.1:$((LISTEN + i))" \
                "$LOG/rawproxy.$i.port" >/dev/null 2>"$LOG/rawproxy.$i.log" &
            FWD_TARGET+=(--target-pid $!)
            wait_file "$LOG/rawproxy.$i.port" || { fail "bench_rawproxy did not start"; return 1; }
        else
            # setsid: its own process group, so the per-connection children
            # are counted with --target-pgid. socat's default backlog (5)
            # drops SYNs when 100 sessions connect at once.
            setsid socat "TCP-LISTEN:$((VIA + i)),fork,reuseaddr,bind=127.0.0.1,backlog=1024" \
                "TCP:127.0.0.1:$((LISTEN + i)),nodelay" 2>"$LOG/socat.$i.log" &
            FWD_TARGET+=(--target-pgid $!)
        fi
        FWD_PIDS+=($!)
        PIDS+=($!)
    done
    if [ "$kind" = socat ]; then
        # socat has no ready signal: wait (<= 2.5 s) until its port listens.
        for i in $(seq 50); do
            python3 -c 'import sys
lst = open("/proc/net/tcp").read().split("\n")[1:]
sys.exit(0 if any(l.split()[1].endswith(":%04X" % int(sys.argv[1])) and l.split()[3] == "0A"
                  for l in lst if l.strip()) else 1)' "$VIA" && break
            sleep 0.05
        done
    fi
    FWD_ARGS=(--via "127.0.0.1:$VIA" --listen-port "$LISTEN")
}

fwd_stop() {
    local p
    for p in "${FWD_PIDS[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
}

# ---- runs ----

# run WORKLOAD TARGET VARIANT MSRPLOAD-ARGS...: one msrpload run, its JSON
# appended to runs.jsonl with the labels.
run() {
    local wl=$1 target=$2 variant=$3
    shift 3
    local name="${wl}_${target}_${variant// /_}"
    local bound=600
    [ $quick = 1 ] && bound=60
    echo "== $wl $target $variant: msrpload $*" | tee -a "$LOG/runs.txt"
    timeout -k 5 $bound "$LOAD" --threads "$LT" --json "$@" >"$LOG/$name.json" 2>"$LOG/$name.err"
    local rc=$?
    local line
    line=$(tail -n 1 "$LOG/$name.json")
    if [ $rc -ne 0 ] || ! python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1]).get("ok") else 1)' "$line" 2>/dev/null; then
        fail "$wl $target $variant: msrpload exit $rc (see $LOG/$name.err, $LOG/$name.json)"
        [ -n "$line" ] || line='{"ok": false}'
    fi
    python3 -c 'import json,sys
j = json.loads(sys.argv[4]) if sys.argv[4].startswith("{") else {"ok": False}
j.update(workload=sys.argv[1], system=sys.argv[2], variant=sys.argv[3])
print(json.dumps(j))' "$wl" "$target" "$variant" "$line" >>"$out/runs.jsonl"
    python3 -c 'import json,sys; j=json.loads(sys.argv[1])
print("   %s MB/s, %s chunks/s, p99 %s us, target %s CPU-s, ok=%s" % (j.get("goodput_MBps"), j.get("chunks_per_s"), j.get("latency_us",{}).get("p99"), j.get("target",{}).get("cpu_s"), j.get("ok")))' "$line" 2>/dev/null
}

# W5 label of a build: the wolfSSL its msrpgw links ("aesni" when built from
# source with AES-NI, "system" for Debian's libwolfssl).
w5_lib() { # BUILD
    local v
    v=$("$1/gateway/msrpgw" --version 2>/dev/null) || return 1
    case "$v" in
    *"built from Debian source"*"AES-NI yes"*) echo aesni ;;
    *) echo system ;;
    esac
}

# The W1 / W2 shapes, against whatever TARGET_ARGS point at.
w1() { # TARGET CHUNK LABEL-SUFFIX
    local t=$1 chunk=$2 sfx=${3:-}
    run W1 "$t" "1 session$sfx" "${TARGET_ARGS[@]}" --sessions 1 --messages 1 \
        --message-size "$W1_MSG" --chunk-size "$chunk"
    run W1 "$t" "16 sessions$sfx" "${TARGET_ARGS[@]}" --sessions 16 --messages 1 \
        --message-size "$W1_MSG" --chunk-size "$chunk"
}
w2() {
    local w
    for w in 8 1; do
        run W2 "$1" "window $w" "${TARGET_ARGS[@]}" --sessions 100 --chunk-size 1024 \
            --window $w --duration "$W2_DUR"
    done
}

# W6: the W2 shape (window 8) twice on one daemon, unloaded and under the
# attack mix (perf/attack_mix.sh). The daemon keeps its default config
# (timeouts, ceilings, throttles): the figure is what an operator gets
# without tuning.
. "$here/attack_mix.sh"
w6() { # TARGET
    local t=$1 w2=(--sessions 100 --chunk-size 1024 --window 8 --duration "$W2_DUR")
    run W6 "$t" "unloaded" "${TARGET_ARGS[@]}" "${w2[@]}"
    if ! attack_mix_start 127.0.0.1 "$GW_PORT" "$W6_SLOW" "$W6_IDLE" "$W6_FLOOD" \
        $((W2_DUR + 120)) "$LOG/w6-$t"; then
        fail "W6 $t: the attack mix did not start (see $LOG/w6-$t)"
        attack_mix_stop
        return
    fi
    run W6 "$t" "attack mix" "${TARGET_ARGS[@]}" "${w2[@]}"
    attack_mix_report >"$LOG/w6-$t/summary.txt"
    attack_mix_stop
    sed 's/^/   attackers: /' "$LOG/w6-$t/summary.txt"
}

# W5: each build's msrpgw with its own msrpload (the client encrypts too),
# labelled by the wolfSSL it links: this build, then W5_ALT_BUILD (a build
# with the other wolfSSL) if given. W5_REPS repetitions (default 1; the
# report takes medians).
w5() { # TARGET THREADS
    local t=$1 gt=$2 b lib sess rep
    for b in "$BUILD" ${W5_ALT_BUILD:+"$W5_ALT_BUILD"}; do
        lib=$(w5_lib "$b") || { fail "W5: no msrpgw in $b"; continue; }
        "$b/perf/bench_crypto" --json --seconds 0.5 >"$LOG/crypto-$lib.json" 2>&1 ||
            fail "bench_crypto ($b) failed"
        python3 -c 'import json,sys; j=json.loads(open(sys.argv[1]).read().splitlines()[-1])
j.update(workload="C", system="bench_crypto", variant=sys.argv[2], ok=True); print(json.dumps(j))' \
            "$LOG/crypto-$lib.json" "$lib" >>"$out/runs.jsonl" 2>/dev/null
        GW=$b/gateway/msrpgw LOAD=$b/tools/msrpload
        gw_start "$t-w5-$lib" "$gt" || { GW=$BUILD/gateway/msrpgw LOAD=$BUILD/tools/msrpload; continue; }
        for rep in $(seq "${W5_REPS:-1}"); do
            for sess in 1 16; do
                # One session moves 4 messages: one 64 MiB message is
                # 0.05 s of gateway CPU plain, too coarse a figure.
                local msgs=$((sess == 1 ? 4 : 1))
                run W5 "$t" "plain $sess $lib" --relay "127.0.0.1:$GW_PORT" --user load --password load \
                    --target-pid "$GW_PID" --sessions $sess --messages $msgs --message-size "$W5_MSG" \
                    --chunk-size 65536
                run W5 "$t" "tls $sess $lib" --relay "127.0.0.1:$GW_TLS_PORT" --user load --password load \
                    --target-pid "$GW_PID" --tls --insecure --sessions $sess --messages $msgs \
                    --message-size "$W5_MSG" --chunk-size 65536
            done
        done
        gw_stop
        GW=$BUILD/gateway/msrpgw LOAD=$BUILD/tools/msrpload
    done
}

: >"$out/runs.jsonl"
t_start=$(date +%s)

# W7_ONLY=1: the W7 table alone (about 3 minutes), skipping W1-W6 and Kamailio.
if [ "${W5_ONLY:-0}" = 1 ]; then
    gt=$(echo $GW_THREADS | awk '{print $1}')
    w5 "msrpgw-t$gt" "$gt"
elif [ "${W7_ONLY:-0}" != 1 ]; then
# msrpload's own ceiling: both ends in this process, no target.
TARGET_ARGS=()
w1 self 65536
w2 self

for kind in raw-splice socat; do
    if fwd_start "$kind"; then
        TARGET_ARGS=("${FWD_ARGS[@]}" "${FWD_TARGET[@]}")
        w1 "$kind" 65536
        w2 "$kind"
        fwd_stop
    fi
done

for gt in $GW_THREADS; do
    t=msrpgw-t$gt
    gw_start "$t" "$gt" || continue
    TARGET_ARGS=(--relay "127.0.0.1:$GW_PORT" --user load --password load --target-pid "$GW_PID")
    w1 "$t" 65536
    w1 "$t" "$KAM_CHUNK" " 10KB"
    w2 "$t"
    gw_stop
    # W4 on a fresh daemon, so its RSS baseline is the idle daemon's.
    gw_start "$t-w4" "$gt" || continue
    TARGET_ARGS=(--relay "127.0.0.1:$GW_PORT" --user load --password load --target-pid "$GW_PID")
    run W4 "$t" "$W4_IDLE idle + $W4_ACTIVE active" "${TARGET_ARGS[@]}" \
        --sessions "$W4_ACTIVE" --idle-sessions "$W4_IDLE" --ramp-up "$W4_RAMP" \
        --chunk-size 65536 --message-size 1M --duration "$W4_DUR" --setup-timeout 60
    gw_stop
    [ "$gt" = "$(echo $GW_THREADS | awk '{print $1}')" ] && w5 "$t" "$gt"
    if [ $quick = 0 ] || [ "$gt" = "$(echo $GW_THREADS | awk '{print $1}')" ]; then
        gw_start "$t-w6" "$gt" || continue
        TARGET_ARGS=(--relay "127.0.0.1:$GW_PORT" --user load --password load --target-pid "$GW_PID")
        w6 "$t"
        gw_stop
    fi
done

fi # W7_ONLY

# W7: msrpgw (threads = 1) and both forwarders on the same cells, reps
# interleaved so that all see the same machine.
w7_cells() { # TARGET REP
    local c n
    for c in $W7_CHUNKS; do
        for n in $W7_SESSIONS; do
            run W7 "$1" "$c $n rep$2" "${TARGET_ARGS[@]}" --sessions "$n" --chunk-size "$c" \
                --message-size 1M --window 8 --duration "$W7_DUR"
        done
    done
}
[ "${W5_ONLY:-0}" = 1 ] && W7_REPS=0
for rep in $(seq "$W7_REPS"); do
    for fwd in raw-splice raw-copy; do
        if fwd_start $fwd; then
            TARGET_ARGS=("${FWD_ARGS[@]}" "${FWD_TARGET[@]}")
            w7_cells $fwd "$rep"
            fwd_stop
        fi
    done
    if gw_start "msrpgw-t1-w7-$rep" 1; then
        TARGET_ARGS=(--relay "127.0.0.1:$GW_PORT" --user load --password load --target-pid "$GW_PID")
        w7_cells msrpgw-t1 "$rep"
        gw_stop
    fi
done

if [ "${SKIP_KAMAILIO:-0}" != 1 ] && [ "${W7_ONLY:-0}" != 1 ] && [ "${W5_ONLY:-0}" != 1 ]; then
    KAM_DIR=$LOG/kamailio
    if read -r KAM_PORT KAM_PID < <("$src/tests/peers/kamailio/start.sh" "$KAM_DIR" 2>"$LOG/kamailio.start.err") \
        && [ -n "${KAM_PORT:-}" ]; then
        TARGET_ARGS=(--relay "127.0.0.1:$KAM_PORT" --target-pgid "$(cat "$KAM_DIR/kamailio.pgid")")
        w1 kamailio "$KAM_CHUNK" " 10KB"
        w2 kamailio
        "$src/tests/peers/kamailio/stop.sh" "$KAM_DIR" || fail "kamailio did not stop"
        KAM_DIR=""
    else
        fail "kamailio did not start ($(cat "$LOG/kamailio.start.err"))"
        KAM_DIR=""
    fi
fi

t_end=$(date +%s)
python3 "$here/report.py" "$out" --quick "$quick" --seconds $((t_end - t_start)) \
    --load-threads "$LT" || fail "report.py failed"
if command -v gnuplot >/dev/null; then
    for gp in "$out"/*.gp; do
        [ -e "$gp" ] || continue
        (cd "$out" && gnuplot "$gp") 2>>"$LOG/gnuplot.err" || fail "gnuplot $gp"
    done
else
    echo "run.sh: gnuplot not installed: no plots (apt-get install gnuplot-nox)" >&2
fi
echo "results: $out/table.md ($((t_end - t_start)) s)"
[ "$FAILS" -eq 0 ] || { echo "run.sh: $FAILS failure(s), see $LOG/failures.txt" >&2; exit 1; }
exit 0
