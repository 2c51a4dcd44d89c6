#!/bin/bash
# hostile 01, peers that never read (issue 10 row 1): four connections
# pipeline AUTH requests without credentials (each answer: a 401 with a
# challenge) and never read; a fifth floods SENDs at a reservation (its
# receiver reads and answers) and never reads the 200s. Required: once a
# connection's unread output reaches conn_mem_ceiling the gateway stops
# reading it (the attacker's writes block), so the gateway's RSS grows by a
# bounded amount per attacker; output past conn_output_hard_limit would
# close it (drop reason output_overflow: the unit tests in test_mconn.c
# cover it; a peer that only gets answers never reaches it). After the
# attackers leave, RSS returns near the baseline within seconds (jemalloc
# decays freed pages in 1 s from its background threads: malloc_conf in
# gateway/daemon/main.c). 50 bystander sessions transfer intact throughout.
. "$(dirname "$0")/lib/hostile.sh"
hostile_init no_read
CEILING_KB=1024
# A small nonce cache: each 401 remembers its nonce (32 bytes) for
# nonce_lifetime, a bounded table that would otherwise stay resident after
# the flood (4 MiB at the default size) and hide what this test measures.
gw_start GW "conn_mem_ceiling = ${CEILING_KB}KiB
conn_output_hard_limit = 4MiB
nonce_cache_size = 4096"
bystanders_start GW 50 || it_done
# Warm-up: a short flood touches every receive-ring buffer (preallocated,
# 16 MiB per core, resident once used): the baseline then counts them.
"$PY" "$ATTACK" auth-flood --port $GW_PORT --conns 8 --seconds 6 --block-seconds 1 >/dev/null
rss_settle GW
rss_baseline GW
RSS0=$(gw_rss_kb GW)

# watch PID...: the peak RSS while the attackers run, in $PEAK.
watch_peak() {
    PEAK=$(gw_rss_kb GW)
    while kill -0 "$@" 2>/dev/null; do
        local r
        r=$(gw_rss_kb GW)
        [ "$r" -gt "$PEAK" ] && PEAK=$r
        sleep 0.2
    done
}
# Back near the baseline: within 4 MiB or 15% of the peak growth, whichever
# is more (measured: 3.5 MiB after the AUTH flood, 9 MiB of 86 after the
# SEND flood: freed pages go back to the OS; what stays is pooled by
# design -- uring's segment/stash pools never shrink, receive buffers once
# touched stay resident -- plus the bystanders' own drift).
back_near() { # WHAT [MIN_SLACK_KB]
    local slack=$(((PEAK - RSS0) * 15 / 100))
    [ $slack -lt "${2:-4096}" ] && slack=${2:-4096}
    slack=$((slack * HOSTILE_RSS_FACTOR))
    wait_until 10 "[ \$((\$(gw_rss_kb GW) - $RSS0)) -lt $slack ]"
    check "[ $? -eq 0 ]" "$1: RSS back near the baseline within 10 s after the attackers left: $RSS0 -> $(gw_rss_kb GW) KiB (peak $PEAK, slack $slack KiB)"
}

# flood_phase WHAT CONNS BOUND_KB SLACK_KB ATTACK-ARGS...: runs one attack
# (attack.py ATTACK-ARGS, CONNS connections, 10 s, then held open 3 s),
# watching the peak RSS; checks that the gateway stopped reading every
# attacking connection, that the peak grew by less than BOUND_KB (times
# HOSTILE_RSS_FACTOR) and that RSS comes back near the baseline (at least
# SLACK_KB of slack). The attack's JSON is in $IT_DIR/WHAT.json
# (blanks as _).
flood_phase() {
    local what=$1 conns=$2 bound=$(($3 * HOSTILE_RSS_FACTOR)) slack=$4 json=$IT_DIR/${1// /_}.json
    shift 4
    "$PY" "$ATTACK" "$@" --port $GW_PORT --conns "$conns" --seconds 10 --block-seconds 1.5 \
        --hold-after 3 >"$json" &
    local pid=$!
    watch_peak $pid
    wait $pid
    cat "$json"
    local blocked requests
    blocked=$(json_get "$json" 'j["blocked"]')
    requests=$(json_get "$json" 'j["requests"]')
    check "[ '$blocked' -eq $conns ]" "$what: the gateway stopped reading all $conns attacking connections ($requests requests, $(json_get "$json" 'j["sent_bytes"]') bytes written)"
    check "[ $((PEAK - RSS0)) -lt $bound ]" "$what: peak RSS $RSS0 -> $PEAK KiB (growth < $bound KiB)"
    back_near "$what" "$slack"
}

# Phase 1: four AUTH flooders. Per attacker: its unread 401s (the 1 MiB
# ceiling plus one answer, in gathered 4 KiB copies) and one parked receive
# buffer: 4 MiB. What stays after it (measured 3.5-4.3 MiB of 27 MB
# written): the nonce cache's entries until nonce_lifetime, pooled segments.
flood_phase "AUTH flood" 4 $((4 * 4096)) 8192 auth-flood

# Phase 2: a SEND flooder whose receiver reads and answers. The sender's
# unread 200s are bounded like the 401s above; the relay's per-chunk state
# for SENDs the receiver has not answered yet is bounded by
# max_chunks_in_flight (64) records, each sized by its head (it was 86 MB
# when every chunk in flight kept a max_header_bytes copy, unbounded in
# number). What stays after a SEND flood (measured 9 MiB): pooled send
# segments and receive-side state that uring's slab pools keep for reuse
# (they never shrink); bounded by the flood's size, not growing with
# repeats.
flood_phase "SEND flood" 1 $((24 * 1024)) 12288 send-flood --receiver alice:secret --size 1024
echo "SEND flood: the receiver got $(json_get $IT_DIR/SEND_flood.json 'j["receiver_frames"]') frames"

OVF=$(gw_metric GW msrpgw_drops_total 'reason="output_overflow"')
echo "output_overflow drops: $OVF (blocked attackers are not closed)"
bystanders_stop
it_done
