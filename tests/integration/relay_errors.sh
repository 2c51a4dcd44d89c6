#!/bin/bash
# relay_errors: the relay's own answers, exactly: 401 (challenge, then
# again for a wrong password), 423 with Min-Expires, Expires clamping,
# 403 for an unauthenticated SEND that would open a connection, 481 for an
# unknown session / a wrong client URI / a To-Path naming only the relay,
# 501 for an unknown method.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_errors
gw_start GW "expires_min = 60
expires_max = 3600
nonce_lifetime = 10
[metrics]
listen = 127.0.0.1:0
[gateway]"
R=127.0.0.1:$GW_PORT
SELF="msrp://127.0.0.1:$GW_PORT;tcp"
o=$IT_DIR/out.json

python3 "$RCLIENT" auth --relay $R --user alice --password wrong --expect 401,401 >$o
check "[ $? -eq 0 ]" "wrong password: 401, then 401 again ($(cat $o | cut -c1-60))"
check "[ \"$(json_get $o '"nonce=" in j["headers"]["WWW-Authenticate"] and "opaque=" in j["headers"]["WWW-Authenticate"]')\" = True ]" \
    "the second 401 carries a fresh challenge with nonce and opaque"
python3 "$RCLIENT" auth --relay $R --user nobody --password x --expect 401,401 >$o
check "[ $? -eq 0 ]" "unknown user: 401 twice"
python3 "$RCLIENT" auth --relay $R --expect 401 >$o
check "[ $? -eq 0 ]" "no credentials: 401"

python3 "$RCLIENT" auth --relay $R --user alice --password secret --expires 10 --expect 401,423 >$o
check "[ $? -eq 0 ]" "Expires 10 < expires_min: 423"
check "[ \"$(json_get $o 'j["headers"].get("Min-Expires")')\" = 60 ]" "423 carries Min-Expires: 60"
python3 "$RCLIENT" auth --relay $R --user alice --password secret --expires 99999 --expect 401,200 >$o
check "[ \"$(json_get $o 'j["headers"].get("Expires")')\" = 3600 ]" "Expires 99999 is clamped to 3600"
python3 "$RCLIENT" auth --relay $R --user bob --password pw --expect 401,200 >$o
check "[ \"$(json_get $o 'j["headers"].get("Expires")')\" = 600 ]" "no Expires: the default 600"
check "[ \"$(json_get $o 'j["headers"]["Use-Path"].startswith("msrp://127.0.0.1:'$GW_PORT'/") and j["headers"]["Use-Path"].endswith(";tcp")')\" = True ]" \
    "Use-Path is msrp://HOST:PORT/SESSID;tcp"

# Nonce timestamps have 1 s resolution: 12 s is surely past a 10 s lifetime.
python3 "$RCLIENT" auth --relay $R --user alice --password secret --delay 12 --expect 401,401 >$o
check "[ $? -eq 0 ]" "right password, nonce older than nonce_lifetime: 401 again"
check "[ \"$(json_get $o '"stale=true" in j["headers"]["WWW-Authenticate"]')\" = True ]" "that 401 says stale=true"
python3 "$RCLIENT" auth --relay $R --user alice --password secret --replay --expect 401,200,401 >$o
check "[ $? -eq 0 ]" "the same Authorization (same nonce-count) replayed on the connection: 401"

# A header that fails to parse after the paths: 400, then the relay closes.
python3 - $R "$SELF" >$IT_DIR/bad.json <<'PY'
import json, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=5)
s.sendall(("MSRP badf00d1 SEND\r\nTo-Path: %s msrp://127.0.0.1:9/x;tcp\r\n"
           "From-Path: msrp://127.0.0.1:8/y;tcp\r\nByte-Range: nonsense\r\n"
           "-------badf00d1$\r\n" % sys.argv[2]).encode())
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
print(json.dumps({"reply": data.decode(errors="replace"), "closed": True}))
PY
check "[ \"$(json_get $IT_DIR/bad.json 'j["reply"].startswith("MSRP badf00d1 400")')\" = True ]" "bad Byte-Range: 400 with the request's tid"
check "[ \"$(json_get $IT_DIR/bad.json 'j["closed"]')\" = True ]" "then the relay closes the connection"

# A closed port nobody listens on: the relay would have to connect.
python3 "$RCLIENT" frame --relay $R --to-path "$SELF msrp://127.0.0.1:9/x;tcp" --expect 403 >$o
check "[ $? -eq 0 ]" "unauthenticated SEND needing a new connection: 403 ($(cut -c1-40 $o))"
check "[ \"$(json_get $o 'j["from"]')\" = \"$SELF\" ]" "403 comes From-Path: the relay URI"
python3 "$RCLIENT" frame --relay $R --to-path "msrp://127.0.0.1:$GW_PORT/0AAAAAAAAAAAAAAA;tcp msrp://127.0.0.1:9/x;tcp" --expect 481 >$o
check "[ $? -eq 0 ]" "unknown session id: 481"
python3 "$RCLIENT" frame --relay $R --to-path "msrp://127.0.0.1:$GW_PORT/short;tcp msrp://127.0.0.1:9/x;tcp" --expect 481 >$o
check "[ $? -eq 0 ]" "malformed session id: 481"
python3 "$RCLIENT" frame --relay $R --to-path "$SELF" --expect 481 >$o
check "[ $? -eq 0 ]" "To-Path with only the relay: 481"
python3 "$RCLIENT" frame --relay $R --to-path "msrp://127.0.0.1:1;tcp msrp://127.0.0.1:9/x;tcp" --expect 481 >$o
check "[ $? -eq 0 ]" "To-Path not starting with the relay: 481"
python3 "$RCLIENT" frame --relay $R --method FROB --to-path "$SELF msrp://127.0.0.1:9/x;tcp" --expect 501 >$o
check "[ $? -eq 0 ]" "unknown method: 501"
# An authenticated sender may make the relay connect; the refused
# connection then yields 481.
python3 "$RCLIENT" frame --relay $R --user alice --password secret --to-path "$SELF msrp://127.0.0.1:9/x;tcp" --expect 481 >$o
check "[ $? -eq 0 ]" "AUTHed sender, next hop refuses the connection: 481"

# Wrong client URI after a valid session id: 481 (RFC 4975 6.1).
bg timeout 30 python3 "$PROBE" recv --relay $R --out $IT_DIR/r.out --ready-file $IT_DIR/ready \
    --user bob --password pw --messages 0 --timeout 20 >$IT_DIR/recv.json
wait_file $IT_DIR/ready 10
USE=$(cut -d' ' -f1 $IT_DIR/ready)
python3 "$RCLIENT" frame --relay $R --to-path "$USE msrp://127.0.0.1:9/other;tcp" --expect 481 >$o
check "[ $? -eq 0 ]" "valid session id, wrong client URI: 481"
python3 "$RCLIENT" frame --relay $R --to-path "$(cat $IT_DIR/ready)" --expect 200 >$o
check "[ $? -eq 0 ]" "valid session id and client URI: forwarded, 200 from the receiver"
check "log_has $GW_LOG 'AUTH failed user=alice'" "the log names the user of a failed AUTH"
check "log_has $GW_LOG 'AUTH ok user=bob'" "the log names the user and session of a good AUTH"

# The metrics endpoint counts what happened above (summed over cores).
MPORT=$(awk '$1=="metrics"{print $2}' $IT_DIR/GW/ports)
curl -s --max-time 5 http://127.0.0.1:$MPORT/metrics >$IT_DIR/metrics.txt
msum() { # metric-name label-filter
    awk -v n="$1" -v f="$2" 'index($0, n) == 1 && index($0, f) { s += $NF } END { print s + 0 }' $IT_DIR/metrics.txt
}
check "[ $(msum msrpgw_auth_failed_total 'reason="bad_password"') -eq 1 ]" "metrics: 1 bad_password"
check "[ $(msum msrpgw_auth_failed_total 'reason="stale_nonce"') -eq 1 ]" "metrics: 1 stale_nonce"
check "[ $(msum msrpgw_auth_failed_total 'reason="replay"') -eq 1 ]" "metrics: 1 replay"
check "[ $(msum msrpgw_auth_failed_total 'reason="unknown_user"') -eq 1 ]" "metrics: 1 unknown_user"
check "[ $(msum msrpgw_auth_failed_total 'reason="expires_too_short"') -eq 1 ]" "metrics: 1 expires_too_short"
check "[ $(msum msrpgw_auth_ok_total '') -eq 5 ]" "metrics: 5 AUTH ok (2 Expires checks, replay test, 1 authed sender, the receiver)"
check "[ $(msum msrpgw_drops_total 'reason="not_authorized"') -eq 1 ]" "metrics: one 403 drop"
check "[ $(msum msrpgw_responses_sent_total 'code="481"') -eq 6 ]" "metrics: six 481 sent by the relay"
check "[ $(msum msrpgw_responses_relayed_total 'code="200"') -eq 1 ]" "metrics: one 200 relayed from the receiver"
gw_stop GW
it_done
