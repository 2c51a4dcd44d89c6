#!/bin/bash
# hostile 04, Digest replay (issue 10 row 4): a captured Authorization
# replayed on a new connection, replayed on its own connection with the
# same nonce-count, and two nonces of one connection used in turn to
# defeat a "last nonce" check. Required: a nonce is usable once per
# nonce-count on any connection and core (the shared replay cache), and
# only on the connection it was challenged on: elsewhere 401 with a fresh
# challenge (reason foreign_nonce), which a legitimate client answers. All
# while 50 bystander sessions transfer through the same gateway.
. "$(dirname "$0")/lib/hostile.sh"
hostile_init nonce_replay
RSS_BOUND=16384
ldd "$MSRPGW" 2>/dev/null | grep -q libasan && RSS_BOUND=$((RSS_BOUND * 5))
gw_start GW ""
bystanders_start GW 50 || it_done
rss_settle GW
rss_baseline GW

cat >$IT_DIR/replay.py <<'PY'
"""Prints one JSON line: the status code of every step."""
import json, os, secrets, sys
sys.path.insert(0, os.environ["HOSTILE_LIB"])
import attack as at  # noqa: E402
import relay_client as rc  # noqa: E402
from relay_client import mp  # noqa: E402

port, nrep = int(sys.argv[1]), int(sys.argv[2])
out = {}


def peer():
    p = at.connect(port)
    p.own = p.own_uri("r" + secrets.token_hex(4))
    p.seen = []
    return p


def auth(p, authz=None):
    hdrs = [("To-Path", at.relay_uri(p)), ("From-Path", p.own)]
    if authz:
        hdrs.append(("Authorization", authz))
    return rc.request(p, "AUTH", hdrs)


def answer(p, challenge, nc=1, user="alice", password="secret"):
    """An Authorization for challenge with nonce-count nc (a fresh
    cnonce each time, as a client counting up would send)."""
    c = mp.parse_challenge(challenge)
    ncs, cnonce = "%08x" % nc, secrets.token_hex(8)
    uri = at.relay_uri(p)
    resp = mp.digest_response(user, c["realm"], password, "AUTH", uri, c["nonce"], ncs,
                              cnonce, "auth")
    return ('Digest username="%s", realm="%s", nonce="%s", response="%s", qop=auth, '
            'nc=%s, cnonce="%s", opaque="%s"' % (user, c["realm"], c["nonce"], resp, ncs,
                                                 cnonce, c["opaque"]))


def step(name, f):
    out[name] = f.code
    return f

# A legitimate client: challenge, answer, 200. Its Authorization is the
# attacker's capture.
a = peer()
chal_a = step("a_challenge", auth(a)).header("WWW-Authenticate")
captured = answer(a, chal_a)
step("a_auth", auth(a, captured))

# The capture on a new connection: refused with a fresh challenge, which
# the client on that connection can answer (the re-challenge).
b = peer()
f = step("b_replay", auth(b, captured))
chal_b = f.header("WWW-Authenticate") or ""
out["b_fresh_nonce"] = "nonce=" in chal_b and mp.parse_challenge(chal_b)["nonce"] != \
    mp.parse_challenge(chal_a)["nonce"]
out["b_not_stale"] = "stale" not in chal_b
step("b_rechallenged", auth(b, answer(b, chal_b)))

# The capture again on its own connection: same nonce-count, refused; a
# client counting up (nc 2) passes, once.
step("a_same_nc", auth(a, captured))
step("a_nc2", auth(a, answer(a, chal_a, 2)))
step("a_nc2_again", auth(a, answer(a, chal_a, 2)))

# Two nonces of one connection used in turn: the first one's nc 1 again
# (a per-connection "last nonce" record would have forgotten it).
c = peer()
n1 = step("c_challenge1", auth(c)).header("WWW-Authenticate")
n2 = step("c_challenge2", auth(c)).header("WWW-Authenticate")
step("c_n1", auth(c, answer(c, n1)))
step("c_n2", auth(c, answer(c, n2)))
step("c_n1_again", auth(c, answer(c, n1)))

# The capture on many new connections (both cores), after its own
# connection closed: never accepted.
a.close()
codes = []
for _ in range(nrep):
    p = peer()
    codes.append(auth(p, captured).code)
    p.close()
out["many_replays"] = codes
print(json.dumps(out))
PY
NREP=20
HOSTILE_LIB=$HOSTILE_LIB timeout 60 python3 $IT_DIR/replay.py $GW_PORT $NREP >$IT_DIR/replay.json 2>$IT_DIR/replay.err
cat $IT_DIR/replay.json $IT_DIR/replay.err
j() { json_get $IT_DIR/replay.json "$1"; }
check "[ '$(j 'j["a_challenge"], j["a_auth"]')' = '(401, 200)' ]" "the legitimate AUTH: 401, 200"
check "[ $(j 'j["b_replay"]') -eq 401 ]" "the captured Authorization on a new connection: 401"
check "[ $(j 'j["b_fresh_nonce"] and j["b_not_stale"]') = True ]" "... with a fresh (not stale) challenge"
check "[ $(j 'j["b_rechallenged"]') -eq 200 ]" "... which the client on that connection answers: 200"
check "[ $(j 'j["a_same_nc"]') -eq 401 ]" "the capture on its own connection, same nonce-count: 401"
check "[ '$(j 'j["a_nc2"], j["a_nc2_again"]')' = '(200, 401)' ]" \
    "the same nonce with nonce-count 2: 200 once, then 401"
check "[ '$(j 'j["c_challenge1"], j["c_challenge2"], j["c_n1"], j["c_n2"], j["c_n1_again"]')' = '(401, 401, 200, 200, 401)' ]" \
    "two nonces of one connection in turn: the first one's nonce-count 1 again is refused"
check "[ '$(j 'sorted(set(j["many_replays"]))')' = '[401]' ]" \
    "the capture on $NREP new connections after its own closed: 401 every time"
FOREIGN=$(gw_metric GW msrpgw_auth_failed_total 'reason="foreign_nonce"')
REPLAY=$(gw_metric GW msrpgw_auth_failed_total 'reason="replay"')
check "[ $FOREIGN -eq $((NREP + 1)) ]" "auth_failed{reason=\"foreign_nonce\"} = $((NREP + 1)) ($FOREIGN)"
check "[ $REPLAY -eq 3 ]" "auth_failed{reason=\"replay\"} = 3 ($REPLAY)"
check "[ $(gw_metric GW msrpgw_auth_failed_total 'reason="bad_password"') -eq 0 ]" \
    "no replay counted as a wrong password"
bystanders_stop
rss_check GW $RSS_BOUND "after the replays"
gw_stop GW
it_done
