#!/bin/bash
# hostile 07, cross-core forwarding (issue 10 row 7): with threads = 2, a
# foreign relay's shared connection (unauthenticated, From-Path[0] its own
# URI) carries frames for sessions on both cores. The connection serves
# one core (the one its first frame steered it to); frames for the other
# core's sessions used to get "400 Cannot Forward" (the loopback hop
# between cores refused to forward without taking a URI of ours off
# To-Path). Required: forwarded like any other -- 200 to the foreign
# relay, exact paths at the receivers (the hop leaves no trace), and the
# reverse direction (the receivers' SENDs and REPORTs to "Use-Path FR S")
# back over the same foreign connection with exact paths and the 200
# returned to the receiver. 50 bystander sessions transfer meanwhile.
. "$(dirname "$0")/lib/hostile.sh"
hostile_init cross_core
IT_THREADS=2 gw_start GW
bystanders_start GW 50 || it_done
rss_baseline GW
# The bystanders' traffic alone grows an ASan build by the quarantine of
# freed blocks (256 MB by default): the bound is for the normal build.
RSS_BOUND=65536
ldd "$MSRPGW" 2>/dev/null | grep -q libasan && RSS_BOUND=$((RSS_BOUND * 6))

python3 "$HOSTILE_LIB/foreign_relay.py" --relay 127.0.0.1:$GW_PORT --per-core 3 --rounds 3 \
    >$IT_DIR/fr.json
rc=$?
cat $IT_DIR/fr.json
check "[ $rc -eq 0 ]" "one foreign connection, sessions on both cores: every check held ($(json_get $IT_DIR/fr.json 'j["bad"][:3]'))"
check "[ \"$(json_get $IT_DIR/fr.json 'j["ok_200"]')\" = 18 ]" "18 SENDs (3 rounds x 6 receivers, 3 per core) answered 200 on the foreign connection"
check "[ \"$(json_get $IT_DIR/fr.json 'j["delivered"]')\" = 18 ]" "18 deliveries with To-Path = receiver, From-Path = Use-Path FR S exactly"
check "[ \"$(json_get $IT_DIR/fr.json 'j["reverse_sends"]') $(json_get $IT_DIR/fr.json 'j["reverse_reports"]') $(json_get $IT_DIR/fr.json 'j["reverse_200"]')\" = '6 6 6' ]" \
    "reverse: 6 SENDs and 6 REPORTs reached the foreign connection with exact paths, 6 200s back to the receivers"

bystanders_stop
rss_check GW $RSS_BOUND "after the cross-core traffic"
gw_stop GW
it_done
