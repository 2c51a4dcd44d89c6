#!/bin/bash
# hostile 05, password guessing (issue 10 row 5): guessers answer every
# challenge with a wrong password as fast as the gateway answers, from
# 127.0.0.2 (bob's password) and 127.0.0.3 (made-up user names). Required:
# after auth_fail_limit failures within auth_fail_window the address and
# the user get 403 (reason throttled) for auth_block_time, without their
# password being checked; the log stays small: the failure warnings are
# rate-limited with a "N similar lines suppressed" count; after a failure
# a connection is not read for auth_fail_delay (one guess a second).
#
# The attackers use their own loopback source addresses (any 127.x.y.z
# reaches lo on Linux): the bystanders (alice, 127.0.0.1) must keep
# working, and a block is per address. bob is blocked for everyone while
# the block lasts (per-user throttle: guessing from many addresses must
# not get more tries), which is checked too, then its end.
. "$(dirname "$0")/lib/hostile.sh"
hostile_init guessing
RSS_BOUND=16384
ldd "$MSRPGW" 2>/dev/null | grep -q libasan && RSS_BOUND=$((RSS_BOUND * 5))
LIMIT=10
BLOCK=8
SECS=4
CONNS=8
gw_start GW "auth_fail_limit = $LIMIT
auth_fail_window = 60
auth_block_time = $BLOCK"
bystanders_start GW 50 || it_done
rss_settle GW
rss_baseline GW
LOG0=$(stat -c %s $GW_LOG)

T0=$(date +%s.%N)
python3 $ATTACK auth-guess --port $GW_PORT --src 127.0.0.2 --seconds $SECS --conns $CONNS \
    --user bob >$IT_DIR/bob.json &
G1=$!
python3 $ATTACK auth-guess --port $GW_PORT --src 127.0.0.3 --seconds $SECS --conns $CONNS \
    --user "nobody$RANDOM" >$IT_DIR/nobody.json &
G2=$!
# While they guess: alice from 127.0.0.1 is not affected; bob is blocked
# (once the guessers made their LIMIT tries).
wait_until 10 "[ \$(gw_metric GW msrpgw_auth_failed_total 'reason=\"bad_password\"') -ge $LIMIT ]"
python3 "$RCLIENT" auth --relay 127.0.0.1:$GW_PORT --user alice --password secret \
    --expect 401,200 >$IT_DIR/alice.json
check "[ $? -eq 0 ]" "during the attack, alice from 127.0.0.1 AUTHs: 401, 200"
python3 "$RCLIENT" auth --relay 127.0.0.1:$GW_PORT --user bob --password pw \
    --expect 401,403 >$IT_DIR/bob_during.json
check "[ $? -eq 0 ]" "during the block, bob (right password, other address) gets 403 ($(cat $IT_DIR/bob_during.json | cut -c1-40))"
wait $G1 $G2
cat $IT_DIR/bob.json $IT_DIR/nobody.json
j1() { json_get $IT_DIR/bob.json "$1"; }
j2() { json_get $IT_DIR/nobody.json "$1"; }
# Every connection's first AUTH has no credentials (401); then at most
# LIMIT wrong answers got a 401, everything else 403.
C401=$(j1 'j["codes"].get("401", 0)')
C403=$(j1 'j["codes"].get("403", 0)')
check "[ $C401 -le $((CONNS + LIMIT)) ]" "bob's guesser: at most $LIMIT guesses checked ($C401 401s over $CONNS connections)"
# A refused connection is not read for auth_fail_delay (1 s) either: each
# gets about one 403 a second, not thousands.
check "[ $C403 -ge $CONNS ] && [ $C403 -le $((CONNS * (SECS + 2))) ]" \
    "... the rest refused with 403, about one per connection per second ($C403 over $CONNS connections in $SECS s)"
N401=$(j2 'j["codes"].get("401", 0)')
N403=$(j2 'j["codes"].get("403", 0)')
check "[ $N401 -le $((CONNS + LIMIT)) ] && [ $N403 -ge $CONNS ] && [ $N403 -le $((CONNS * (SECS + 2))) ]" \
    "made-up users from one address: blocked the same way ($N401 x 401, $N403 x 403)"
BAD=$(gw_metric GW msrpgw_auth_failed_total 'reason="bad_password"')
UNK=$(gw_metric GW msrpgw_auth_failed_total 'reason="unknown_user"')
THR=$(gw_metric GW msrpgw_auth_failed_total 'reason="throttled"')
check "[ $BAD -eq $LIMIT ] && [ $UNK -eq $LIMIT ]" \
    "exactly $LIMIT wrong passwords and $LIMIT unknown users were checked ($BAD, $UNK)"
# (Each guesser may leave one AUTH per connection unread when it stops.)
check "[ $THR -ge $((C403 + N403 + 1)) ] && [ $THR -le $((C403 + N403 + 1 + 2 * CONNS)) ]" \
    "auth_failed{reason=\"throttled\"} counts every 403 ($THR ~ $C403 + $N403 + bob's 1)"
echo "guess rate: $(( (C401 + C403 + N401 + N403) / SECS )) AUTHs/s answered, $(( (C401 - CONNS + N401 - CONNS) )) guesses checked in $SECS s"

# The log: a handful of lines a second, with the suppressed count.
LOG1=$(stat -c %s $GW_LOG)
AUTHLOG=$(grep -E "AUTH (failed|refused)|AUTH: blocking|similar lines suppressed" $GW_LOG | wc -c)
SUPP=$(sed -n 's/.* \([0-9]*\) similar lines suppressed.*/\1/p' $GW_LOG | awk '{s += $1} END {print s + 0}')
echo "log: $((LOG1 - LOG0)) bytes written during the attack, $AUTHLOG bytes of AUTH warnings, $SUPP lines suppressed"
check "[ $AUTHLOG -lt 65536 ]" "AUTH warnings in the log: $AUTHLOG bytes (< 64 KiB) for $((C401 + C403 + N401 + N403)) refused AUTHs"
check "[ $SUPP -gt 0 ]" "the log says how many lines it suppressed ($SUPP)"
check "grep -q 'AUTH: blocking the address' $GW_LOG && grep -q 'AUTH: blocking user=bob' $GW_LOG" \
    "the blocks are logged"

# auth_fail_delay: a connection that failed is not read for a second, so
# one connection guesses at most once a second (127.0.0.4: a fresh
# address; 3 tries stay under the limit).
HOSTILE_LIB=$HOSTILE_LIB python3 - $GW_PORT >$IT_DIR/delay.json <<'PY'
import json, os, sys, time
sys.path.insert(0, os.environ["HOSTILE_LIB"])
import attack as at  # noqa: E402
import relay_client as rc  # noqa: E402
from relay_client import mp  # noqa: E402
p = at.connect(int(sys.argv[1]), src="127.0.0.4")
p.own, p.seen = p.own_uri("d"), []
hdrs = [("To-Path", at.relay_uri(p)), ("From-Path", p.own)]
f = rc.request(p, "AUTH", hdrs)
codes, times = [f.code], []
for _ in range(3):
    t = time.monotonic()
    auth = mp.authorization(f.header("WWW-Authenticate"), "alice", "guess", at.relay_uri(p), False)
    f = rc.request(p, "AUTH", hdrs + [("Authorization", auth)])
    codes.append(f.code)
    times.append(round(time.monotonic() - t, 2))
print(json.dumps({"codes": codes, "times": times}))
PY
cat $IT_DIR/delay.json
check "[ '$(json_get $IT_DIR/delay.json 'j["codes"]')' = '[401, 401, 401, 401]' ]" "3 wrong passwords on one connection: 401 each"
check "[ $(json_get $IT_DIR/delay.json 'int(j["times"][0] < 0.9 and min(j["times"][1:]) >= 0.9)') = 1 ]" \
    "... the first at once, each further one after auth_fail_delay (1 s): $(json_get $IT_DIR/delay.json 'j["times"]')"

# The block ends after auth_block_time: bob's right password works again.
wait_until $((BLOCK + 4)) "python3 $RCLIENT auth --relay 127.0.0.1:$GW_PORT --user bob --password pw --expect 401,200 >/dev/null"
check "[ $? -eq 0 ]" "after auth_block_time ($BLOCK s) bob AUTHs again: 401, 200 ($(echo "$(date +%s.%N) - $T0" | bc | cut -c1-4) s after the attack began)"
bystanders_stop
rss_check GW $RSS_BOUND "after the guessing"
gw_stop GW
it_done
