#!/bin/bash
# hostile 08, SSRF and shared connections (issue 10 row 8). An AUTHed user
# could put any host:port after our URI in To-Path and msrpgw connected
# there and wrote the user's bytes -- loopback services included; and an
# unauthenticated sender could use a connection an AUTHed user had opened
# (7 of 12 tries). Required, with the default destination policy plus
# destinations_allow = 127.0.0.2/32 (the allowed next hop, relay GB, lives
# on 127.0.0.2):
#  - 403 for a loopback service (127.0.0.1), the same by name (localhost,
#    resolved: every address checked), IPv4-mapped IPv6 ([::ffff:127.0.0.1]),
#    link-local (169.254.169.254, cloud metadata) and our own port on an
#    allowed address (127.0.0.2); drops{reason="dest_denied"} = 5; the
#    loopback service never sees a connection;
#  - the allowed next hop still works (200, exact paths at bob);
#  - 12 of 12 unauthenticated senders get 403 (not_authorized) and bob gets
#    none of their bytes, although alice's GW -> GB connection is open.
# 50 bystander sessions transfer through GW meanwhile.
. "$(dirname "$0")/lib/hostile.sh"
hostile_init ssrf
IT_LISTEN=127.0.0.2:0 gw_start GB
gw_start GW "destinations_allow = 127.0.0.2/32"
bystanders_start GW 50 || it_done
rss_baseline GW
# The bystanders' traffic alone grows an ASan build by the quarantine of
# freed blocks (256 MB by default): the bound is for the normal build.
RSS_BOUND=65536
ldd "$MSRPGW" 2>/dev/null | grep -q libasan && RSS_BOUND=$((RSS_BOUND * 6))

# The loopback service an attacker would like to reach: counts connections.
cat >$IT_DIR/service.py <<'PY'
import socket, sys, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
n = 0
while True:
    c, _ = s.accept(); n += 1
    open(sys.argv[2], "w").write(str(n)); c.close()
PY
bg python3 $IT_DIR/service.py $IT_DIR/service.port $IT_DIR/service.count
wait_file $IT_DIR/service.port 10
SVC=$(cat $IT_DIR/service.port)

python3 "$HOSTILE_LIB/ssrf.py" --gw 127.0.0.1:$GW_PORT --gb 127.0.0.2:$GB_PORT --service-port $SVC \
    --tries 12 >$IT_DIR/ssrf.json
cat $IT_DIR/ssrf.json
j() { json_get $IT_DIR/ssrf.json "$1"; }
for t in loopback_service localhost_name v4_mapped_v6 link_local_metadata own_port; do
    check "[ \"$(j "j['denied']['$t']")\" = 403 ]" "next hop $t: 403 ($(j "j['denied']['$t']"))"
done
check "[ ! -e $IT_DIR/service.count ]" "the loopback service never saw a connection ($(cat $IT_DIR/service.count 2>/dev/null || echo 0))"
check "[ \"$(gw_metric GW msrpgw_drops_total 'reason="dest_denied"')\" = 5 ]" \
    "drops{reason=\"dest_denied\"} = 5 ($(gw_metric GW msrpgw_drops_total 'reason="dest_denied"'))"
check "[ \"$(j "j['allowed']") $(j "j['bob_ok']")\" = '200 True' ]" "the allowed next hop (127.0.0.2): 200, bob got it with exact paths"
check "[ \"$(j "j['unauth'].count(403)")\" = 12 ]" "12 of 12 unauthenticated senders: 403 ($(j "j['unauth']"))"
check "[ \"$(j "j['bob_leaks']")\" = 0 ]" "bob received none of the unauthenticated senders' messages"
check "[ \"$(gw_metric GW msrpgw_drops_total 'reason="not_authorized"')\" -ge 12 ]" "drops{reason=\"not_authorized\"} >= 12"

bystanders_stop
rss_check GW $RSS_BOUND "after the attempts"
gw_stop GW
gw_stop GB
it_done
