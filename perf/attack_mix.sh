# perf/attack_mix.sh: the attack mix of perf/run.sh's W6 and perf/soak.sh
# (source it). Each attacker is tests/hostile/lib/attack.py's CLI in its own
# process, connecting from ATTACK_SOURCE (default 127.0.0.2: the
# bystanders use 127.0.0.1, so limits per source address fall on the
# attackers only, as they would for attackers elsewhere on the network).
#
#   attack_mix_start HOST PORT SLOW IDLE FLOOD SECONDS LOGDIR
#       SLOW slowloris connections (attack.py slowloris: one byte of a
#       header section per second), IDLE connections that send nothing
#       (hold), an AUTH flood over FLOOD connections (auth-guess: wrong
#       Digest passwords for user bob, as fast as the gateway answers),
#       and one client that pipelines AUTH requests and never reads its
#       responses (auth-flood). An attacker the gateway shut out (its
#       timeouts and ceilings close them) comes back at once, as a real
#       one would, until SECONDS have passed. Returns once the slowloris
#       and idle connections are established (<= 60 s; 1 if they never
#       are).
#   attack_mix_report   the connections from ATTACK_SOURCE established now,
#                       and per attacker its finished runs and the last one's
#                       JSON summary
#   attack_mix_stop     stops every attacker (SIGTERM, then SIGKILL)
ATTACK_PY=${ATTACK_PY:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/hostile/lib/attack.py}
ATTACK_SOURCE=${ATTACK_SOURCE:-127.0.0.2}
ATTACK_PIDS=()
ATTACK_LOGDIR=""
ATTACK_PORT=""

# Connections from ATTACK_SOURCE to port $1 in state ESTABLISHED.
attack_established() {
    local src_hex port_hex
    src_hex=$(printf '%02X%02X%02X%02X' $(echo "$ATTACK_SOURCE" | awk -F. '{print $4, $3, $2, $1}'))
    port_hex=$(printf '%04X' "$1")
    awk -v s="$src_hex" -v p="$port_hex" \
        'split($2, l, ":") && split($3, r, ":") && l[1] == s && r[2] == p && $4 == "01" { n++ }
         END { print n + 0 }' /proc/net/tcp
}

attack_one() { # NAME UNTIL ARGS...: one attacker, relaunched until UNTIL
    local name=$1 until=$2
    shift 2
    (
        trap 'kill -TERM $child 2>/dev/null; exit 0' TERM
        while [ "$(date +%s)" -lt "$until" ]; do
            python3 "$ATTACK_PY" "$@" --seconds $((until - $(date +%s))) &
            child=$!
            wait "$child"
            sleep 0.2
        done
    ) >>"$ATTACK_LOGDIR/$name.log" 2>&1 &
    ATTACK_PIDS+=($!)
}

attack_mix_start() {
    local host=$1 port=$2 slow=$3 idle=$4 flood=$5 secs=$6 dir=$7 i want
    ATTACK_LOGDIR=$dir
    ATTACK_PORT=$port
    mkdir -p "$dir"
    [ -f "$ATTACK_PY" ] || { echo "attack_mix: no $ATTACK_PY" >"$dir/error"; return 1; }
    local until=$(($(date +%s) + secs)) common=(--host "$host" --port "$port" --src "$ATTACK_SOURCE")
    attack_one slowloris "$until" slowloris "${common[@]}" --n "$slow"
    attack_one idle "$until" hold "${common[@]}" --n "$idle"
    attack_one auth-flood "$until" auth-guess "${common[@]}" --conns "$flood" --user bob
    attack_one no-read "$until" auth-flood "${common[@]}" --conns 1 --block-seconds "$secs" 
    want=$((slow + idle))
    for i in $(seq 600); do
        [ "$(attack_established "$port")" -ge "$want" ] && return 0
        sleep 0.1
    done
    echo "attack_mix: $(attack_established "$port") of $want connections after 60 s" >"$dir/error"
    return 1
}

attack_mix_report() {
    local f
    echo "established from $ATTACK_SOURCE: $(attack_established "$ATTACK_PORT")"
    for f in "$ATTACK_LOGDIR"/*.log; do
        [ -e "$f" ] || continue
        # attack.py prints one JSON line per finished run; a run cut short
        # by attack_mix_stop prints nothing.
        echo "$(basename "$f" .log): $(grep -c '^{' "$f") run(s) finished before now, last: $(grep '^{' "$f" | tail -n 1)"
    done
}

attack_mix_stop() {
    local p i
    for p in "${ATTACK_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${ATTACK_PIDS[@]}"; do
        for i in $(seq 50); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    ATTACK_PIDS=()
}
