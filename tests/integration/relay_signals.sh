#!/bin/bash
# relay_signals: SIGHUP reloads the users (a user added to the config file
# can AUTH afterwards, a removed one cannot; existing connections are not
# touched); SIGTERM drains: a chunk in flight (its receiver answers late)
# is still answered to its sender, then the daemon exits 0 well within
# the 10 s bound; --check-config says OK / names the bad line.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_signals
gw_start GW "chunk_timeout = 20"
R=127.0.0.1:$GW_PORT
python3 "$RCLIENT" auth --relay $R --user carol --password c4 --expect 401,401 >/dev/null
check "[ $? -eq 0 ]" "carol unknown before the reload"
sed -i 's/^user = bob:pw$/user = carol:c4/' $IT_DIR/GW/msrpgw.ini
loads=$(grep -c 'users loaded:' $GW_LOG)
kill -HUP $GW_PID
wait_until 10 "[ \$(grep -c 'users loaded:' $GW_LOG) -gt $loads ]"
check "[ $? -eq 0 ]" "SIGHUP reloaded the users (log line)"
python3 "$RCLIENT" auth --relay $R --user carol --password c4 --expect 401,200 >/dev/null
check "[ $? -eq 0 ]" "carol can AUTH after SIGHUP"
python3 "$RCLIENT" auth --relay $R --user bob --password pw --expect 401,401 >/dev/null
check "[ $? -eq 0 ]" "bob, removed from the file, is refused after SIGHUP"

# Drain: a receiver that answers after 1.5 s; SIGTERM while the chunk is
# in flight; the sender must still get its 200, the daemon exit 0.
python3 - "$RCLIENT" $R $IT_DIR/ready $IT_DIR/inflight >$IT_DIR/slow.json 2>&1 <<'PY' &
import json, os, sys, time
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import relay_client as rc
mp = rc.mp
class A: pass
a = A(); a.relay = sys.argv[2]; a.timeout = 20
conn = rc.connect(a)
own = conn.own_uri("slow")
codes, last = rc.do_auth(conn, a, own, "alice", "secret")
open(sys.argv[3] + ".tmp", "w").write(last.header("Use-Path") + " " + own + "\n")
os.rename(sys.argv[3] + ".tmp", sys.argv[3])
n = 0
while n < 2:
    f = conn.recv_frame()
    if f is None:
        break
    if f.is_request():
        if n == 1:
            open(sys.argv[4], "w").write("chunk in flight\n")
            time.sleep(1.5)
        conn.send(mp.build_response(f, 200, "OK", own))
        n += 1
print(json.dumps({"answered": n}))
PY
SLOW=$!
IT_PIDS+=($SLOW)
wait_file $IT_DIR/ready 10
echo hello >$IT_DIR/small
python3 "$RCLIENT" send --relay $R --to-path "$(cat $IT_DIR/ready)" $IT_DIR/small >$IT_DIR/send.json &
SENDER=$!
wait_file $IT_DIR/inflight 10
check "[ $? -eq 0 ]" "the chunk reached the slow receiver"
t0=$(date +%s%N)
kill -TERM $GW_PID
wait $SENDER
check "[ \"$(json_get $IT_DIR/send.json 'j["codes"]')\" = '[200, 200]' ]" "chunk in flight at SIGTERM still answered 200"
gw_stop GW
t1=$(date +%s%N)
check "[ $(( (t1 - t0) / 1000000 )) -lt 10000 ]" "exit within the 10 s drain bound ($(( (t1 - t0) / 1000000 )) ms)"
wait $SLOW

"$MSRPGW" --check-config -c $IT_DIR/GW/msrpgw.ini >$IT_DIR/cc.out 2>&1
check "[ $? -eq 0 ] && grep -q 'configuration OK' $IT_DIR/cc.out" "--check-config: OK, exit 0"
printf '[gateway]\nbogus_key = 1\n' >$IT_DIR/bad.ini
"$MSRPGW" --check-config -c $IT_DIR/bad.ini >$IT_DIR/cc2.out 2>&1
check "[ $? -eq 1 ] && grep -q 'bad.ini:2' $IT_DIR/cc2.out" "--check-config: bad file, exit 1, names the line ($(head -c 100 $IT_DIR/cc2.out))"
"$MSRPGW" --version | grep -q '^msrpgw ' ; check "[ $? -eq 0 ]" "--version"
"$MSRPGW" -h | grep -q 'usage: msrpgw' ; check "[ $? -eq 0 ]" "-h prints usage"
it_done
