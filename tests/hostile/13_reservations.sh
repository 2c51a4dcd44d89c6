#!/bin/bash
# hostile 13, reservations (issue 10 row 13): one user opens far more
# reservations (AUTHed connections) than anyone needs. Required: at most
# max_reservations_per_user at once over all cores, 403 beyond it (reason
# reservation_limit); a reservation given back (connection closed, or
# AUTH with Expires: 0) makes room again. Bystanders (50 reservations of
# alice) keep transferring, and a user's cap is not another user's.
. "$(dirname "$0")/lib/hostile.sh"
hostile_init reservations
RSS_BOUND=16384
ldd "$MSRPGW" 2>/dev/null | grep -q libasan && RSS_BOUND=$((RSS_BOUND * 5))
CAP=60
gw_start GW "max_reservations_per_user = $CAP"
bystanders_start GW 50 || it_done
rss_settle GW
rss_baseline GW

cat >$IT_DIR/res.py <<'PY'
"""bob asks for CAP + 10 reservations, gives some back and asks again;
alice (50 held by the bystanders) asks for CAP - 50 more and one over.
Prints one JSON line of status-code lists."""
import json, os, sys, time
sys.path.insert(0, os.environ["HOSTILE_LIB"])
import attack as at  # noqa: E402
import relay_client as rc  # noqa: E402
from relay_client import mp  # noqa: E402

port, cap, mport = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])


def sessions():
    """Reservations the gateway holds now (its metrics, summed over cores)."""
    import urllib.request
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5).read()
    return sum(float(line.split()[-1]) for line in text.decode().splitlines()
               if line.startswith("msrpgw_sessions_current{"))


def wait_sessions(n, seconds=10):
    """Until the gateway holds at most n reservations (closes reach it,
    on whichever core, a moment after the client closed)."""
    end = time.monotonic() + seconds
    while sessions() > n and time.monotonic() < end:
        time.sleep(0.02)


def reserve(user, password):
    """(connection, last AUTH code); the connection stays open."""
    p = at.connect(port, timeout=20.0)
    p.seen = []
    try:
        at.digest_auth(p, user, password)
        return p, 200
    except mp.ProtocolError as e:
        return p, int(str(e).split("[")[-1].split("]")[0].split(",")[-1])


held = []


def reserve_many(user, password, n):
    """n reservations in turn: the granted ones stay open (in held), the
    refused ones are closed. Their codes, in order."""
    codes = []
    for _ in range(n):
        p, code = reserve(user, password)
        codes.append(code)
        if code == 200:
            held.append(p)
        else:
            p.close()
    return codes


out = {}
out["first"] = reserve_many("bob", "pw", cap + 10)
# Five closed: five new ones fit, the sixth does not.
for p in held[:5]:
    p.close()
held = held[5:]
wait_sessions(50 + len(held))  # the bystanders' 50, and bob's still held
out["after_close"] = reserve_many("bob", "pw", 6)
# Expires: 0 on one held connection gives its reservation back.
p = held.pop()
hdrs = [("To-Path", at.relay_uri(p)), ("From-Path", p.own)]
f = rc.request(p, "AUTH", hdrs)
auth = mp.authorization(f.header("WWW-Authenticate"), "bob", "pw", at.relay_uri(p), False)
out["expires0"] = rc.request(p, "AUTH", hdrs + [("Authorization", auth), ("Expires", "0")]).code
held.append(p)  # the connection stays, without a reservation
out["after_expires0"] = reserve_many("bob", "pw", 2)
# alice: her own count (50 bystanders hold reservations).
out["alice"] = reserve_many("alice", "secret", cap - 50 + 1)
for q in held:
    q.close()
print(json.dumps(out))
PY
HOSTILE_LIB=$HOSTILE_LIB timeout 120 python3 $IT_DIR/res.py $GW_PORT $CAP $GW_MPORT >$IT_DIR/res.json 2>$IT_DIR/res.err
cat $IT_DIR/res.json $IT_DIR/res.err
j() { json_get $IT_DIR/res.json "$1"; }
check "[ '$(j 'j["first"][:'$CAP'] == [200] * '$CAP' and j["first"]['$CAP':] == [403] * 10')' = True ]" \
    "bob asks for $((CAP + 10)) reservations: $CAP granted (over both cores), then 403 x 10"
check "[ '$(j 'j["after_close"]')' = '[200, 200, 200, 200, 200, 403]' ]" \
    "5 connections closed: 5 more granted, then 403"
check "[ $(j 'j["expires0"]') -eq 200 ]" "AUTH with Expires: 0 gives one back (200)"
check "[ '$(j 'j["after_expires0"]')' = '[200, 403]' ]" "... which makes room for exactly one"
check "[ '$(j 'j["alice"][:-1] == [200] * '$((CAP - 50))' and j["alice"][-1] == 403')' = True ]" \
    "alice (50 held by the bystanders) gets $((CAP - 50)) more, then 403: her own count"
LIM=$(gw_metric GW msrpgw_auth_failed_total 'reason="reservation_limit"')
check "[ $LIM -eq 13 ]" "auth_failed{reason=\"reservation_limit\"} = 13 ($LIM)"
bystanders_stop
# Every reservation given back: the sessions gauge is back to 0 once
# everyone has gone (counts follow closes on both cores).
wait_until 10 "[ \$(gw_metric GW msrpgw_sessions_current '') -eq 0 ]"
check "[ $? -eq 0 ]" "all reservations released after the clients left ($(gw_metric GW msrpgw_sessions_current ''))"
python3 "$RCLIENT" auth --relay 127.0.0.1:$GW_PORT --user bob --password pw --expect 401,200 >/dev/null
check "[ $? -eq 0 ]" "bob can reserve again afterwards"
rss_check GW $RSS_BOUND "after the reservations"
gw_stop GW
it_done
