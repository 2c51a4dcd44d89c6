#!/bin/bash
# admin_accounting: the admin commands of the control socket (msrpgw-ctl
# sessions, kill, stats, config, reload, drain) and the accounting file,
# with msrpcat transfers through msrpgw.
#  - sessions lists the reservations with exact counters: body bytes =
#    the file's size, chunks = the file's chunks + the binding SEND, and
#    MSRP bytes each way = what the kernel counted on the gateway's socket
#    (ss), i.e. every header, AUTH and response byte;
#  - kill ends the named reservation only: its receiver loses the
#    connection, a transfer to another receiver arrives intact (SHA-256);
#  - stats is JSON whose counters equal /metrics'; config masks passwords;
#  - reload reopens the accounting file (moved away: a new one starts);
#  - drain closes the listener, sessions and the socket stay;
#  - anchored sections (ng offer) are listed too (over UDP from loopback)
#    and killed by id;
#  - the accounting file has exactly one record per ended session with
#    the same exact figures and the end reason: normal, killed,
#    idle_timeout (a second gateway with idle_timeout = 1), and for
#    anchors deleted and killed.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init admin_accounting
CTL=$MSRP_BUILD/tools/msrpgw-ctl
CAT=$MSRP_BUILD/tools/msrpcat
SOCK=$IT_DIR/ctl.sock
ACCT=$IT_DIR/acct.jsonl
IT_METRICS=127.0.0.1:0 gw_start GW "[sbc]
unix = $SOCK
listen = 127.0.0.1:0
[log]
accounting_file = $ACCT"
ctl() { timeout 10 "$CTL" --unix "$SOCK" "$@"; }
NG=127.0.0.1:$(awk '$1=="ng"{print $2}' "$IT_DIR/GW/ports")
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
# rec N EXPR: Python expression on record N (0-based) of the accounting file.
rec() { python3 -c 'import json,sys; j=json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2])]); print(eval(sys.argv[3]))' "${3:-$ACCT}" "$1" "$2"; }
# sess ID EXPR: on the session ID of $IT_DIR/sessions.json.
sess() { python3 -c 'import json,sys; j=[s for s in json.load(open(sys.argv[1]))["sessions"] if s["id"]==sys.argv[2]][0]; print(eval(sys.argv[3]))' "$IT_DIR/sessions.json" "$1" "$2"; }
# sockbytes PORT: "SENT RECEIVED" of the gateway's end of the connection
# from client port PORT, as the kernel counted them.
sockbytes() {
    ss -tinH state established "( sport = :$GW_PORT and dport = :$1 )" |
        python3 -c 'import re,sys; t=sys.stdin.read(); print(re.search(r"bytes_sent:(\d+)", t).group(1), re.search(r"bytes_received:(\d+)", t).group(1))'
}
sid_of() { sed -n 's|^msrp://[^/]*/\([A-Za-z0-9]*\);tcp .*|\1|p' "$1"; }
port_of() { sed -n 's|^msrp://[^ ]* msrp://127.0.0.1:\([0-9]*\)/.*|\1|p' "$1"; }

check "[ -S $SOCK ]" "the control socket exists"
ctl sessions >"$IT_DIR/s0.json"
check "[ \"$(json_get "$IT_DIR/s0.json" 'j["sessions"]')\" = '[]' ]" "sessions: none at start"

# Two receivers AUTH as alice: R1 waits for 2 messages (stays), R2 for one.
bg "$CAT" recv --relay 127.0.0.1:$GW_PORT --user alice --password secret --count 2 \
    --out "$IT_DIR/r1" --path-file "$IT_DIR/p1" >"$IT_DIR/r1.log" 2>&1
R1_PID=$LAST_PID
bg "$CAT" recv --relay 127.0.0.1:$GW_PORT --user alice --password secret --count 1 \
    --out "$IT_DIR/r2" --path-file "$IT_DIR/p2" >"$IT_DIR/r2.log" 2>&1
R2_PID=$LAST_PID
wait_file "$IT_DIR/p1" 10 && wait_file "$IT_DIR/p2" 10 || check false "receivers AUTHed"
R1=$(sid_of "$IT_DIR/p1") R2=$(sid_of "$IT_DIR/p2")
R1_PORT=$(port_of "$IT_DIR/p1")

# S1 (AUTHed as bob) sends 100000 bytes in 10 chunks of 10000 to R1.
head -c 100000 /dev/urandom >"$IT_DIR/f1"
timeout 30 "$CAT" send "$IT_DIR/f1" --to-path "$(cat "$IT_DIR/p1")" --relay 127.0.0.1:$GW_PORT \
    --user bob --password pw --chunk-size 10000 >/dev/null 2>&1
check "[ $? -eq 0 ]" "S1 sends 100000 bytes to R1"
wait_until 5 "[ \$(lines $ACCT) -ge 1 ]" || check false "S1's record written"
check "[ \"$(rec 0 '(j["kind"], j["user"], j["reason"], j["body_in"], j["chunks_in"], j["body_out"], j["chunks_out"])')\" = \"('reservation', 'bob', 'normal', 100000, 11, 0, 0)\" ]" \
    "record 1: S1 (bob) ended normally; 100000 body bytes in 11 chunks (10 + the binding SEND) in, none out"
# R1's connection is quiet now: the gateway's counters against the kernel's.
read -r K_OUT K_IN <<<"$(sockbytes "$R1_PORT")"
ctl sessions >"$IT_DIR/sessions.json"
check "[ \"$(python3 -c 'import json,sys; print(sorted((s["kind"], s["user"]) for s in json.load(open(sys.argv[1]))["sessions"]))' "$IT_DIR/sessions.json")\" = \"[('reservation', 'alice'), ('reservation', 'alice')]\" ]" \
    "sessions: R1 and R2 (S1 is gone)"
check "[ \"$(sess "$R1" '(j["body_out"], j["chunks_out"], j["body_in"], j["chunks_in"])')\" = '(100000, 11, 0, 0)' ]" \
    "sessions: R1 got 100000 body bytes in 11 chunks and sent none"
check "[ \"$(sess "$R1" '(j["bytes_out"], j["bytes_in"])')\" = \"($K_OUT, $K_IN)\" ]" \
    "sessions: R1's MSRP bytes out/in ($K_OUT/$K_IN) are exactly the kernel's counts of its socket"
check "[ \"$(sess "$R2" '(j["body_out"], j["chunks_out"], j["chunks_in"])')\" = '(0, 0, 0)' ]" \
    "sessions: R2 has had no chunk"
check "[ \"$(sess "$R1" 'j["peer"]')\" = 127.0.0.1:$R1_PORT ] && [ \"$(sess "$R1" 'j["age_ms"] >= 0')\" = True ]" \
    "sessions: R1's peer address and age"

# Kill R1 while S2 sends 3 MiB to R2: only R1 ends.
head -c 3145728 /dev/urandom >"$IT_DIR/f2"
bg timeout 30 "$CAT" send "$IT_DIR/f2" --to-path "$(cat "$IT_DIR/p2")" \
    --relay 127.0.0.1:$GW_PORT --user bob --password pw >"$IT_DIR/s2.log" 2>&1
S2_PID=$LAST_PID
ctl kill "$R1" >"$IT_DIR/kill.json"
check "[ $? -eq 0 ] && [ \"$(json_get "$IT_DIR/kill.json" 'j["result"]')\" = ok ]" "kill R1: ok"
wait $R1_PID
check "[ $? -ne 0 ]" "R1's msrpcat ends with an error (its connection was closed)"
wait $S2_PID
check "[ $? -eq 0 ]" "S2's transfer to R2 completes"
wait $R2_PID
check "[ $? -eq 0 ] && [ \"$(sha256sum <"$IT_DIR/f2" | cut -d' ' -f1)\" = \"$(sha256sum <"$IT_DIR/r2" | cut -d' ' -f1)\" ]" \
    "R2 received the 3 MiB intact (sha256)"
timeout 10 "$CTL" --unix "$SOCK" kill "$R1" 2>"$IT_DIR/kill2.err"
check "[ $? -eq 1 ] && grep -q 'Unknown session' $IT_DIR/kill2.err" "kill of a session that ended: Unknown session"

wait_until 5 "[ \$(lines $ACCT) -ge 4 ]" || check false "4 records written"
sleep 0.3 # nothing more may come: exactly one record per session
check "[ \$(lines $ACCT) -eq 4 ]" "accounting: exactly 4 records (S1, R1, S2, R2)"
python3 - "$ACCT" "$R1" "$R2" >"$IT_DIR/acct.txt" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
by = {r["id"]: r for r in recs}
r1, r2 = by[sys.argv[2]], by[sys.argv[3]]
s2 = [r for r in recs if r["user"] == "bob"][1]
print(r1["reason"], r1["body_out"], r1["chunks_out"], r1["bytes_out"], r1["bytes_in"])
print(s2["reason"], s2["body_in"], s2["chunks_in"], r2["reason"], r2["body_out"], r2["chunks_out"])
print(len(set(by)) == 4 and all(r["duration_ms"] >= 0 and r["start_ms"] > 0 for r in recs))
EOF
check "[ \"$(sed -n 1p "$IT_DIR/acct.txt")\" = \"killed 100000 11 $K_OUT $K_IN\" ]" \
    "record R1: killed, 100000 bytes in 11 chunks, MSRP bytes = the kernel's counts"
check "[ \"$(sed -n 2p "$IT_DIR/acct.txt")\" = 'normal 3145728 49 normal 3145728 49' ]" \
    "records S2 and R2: normal, 3 MiB in 49 chunks (48 + the binding SEND) each way"
check "[ \"$(sed -n 3p "$IT_DIR/acct.txt")\" = True ]" "records: four distinct sessions, times set"

# stats: JSON, with the counters /metrics shows.
ctl stats >"$IT_DIR/stats.json"
curl -s "http://127.0.0.1:$GW_MPORT/metrics" >"$IT_DIR/metrics.txt" 2>/dev/null ||
    python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
        "http://127.0.0.1:$GW_MPORT/metrics" >"$IT_DIR/metrics.txt"
python3 - "$IT_DIR/stats.json" "$IT_DIR/metrics.txt" >"$IT_DIR/stats.txt" <<'EOF'
import json, re, sys
j = json.load(open(sys.argv[1]))
prom = {}
for l in open(sys.argv[2]):
    m = re.match(r'(\w+)\{([^}]*)\} (\d+)$', l)
    if m:
        prom[(m.group(1), m.group(2))] = int(m.group(3))
ours = {}
for name, fam in j.items():
    for s in fam["samples"]:
        labels = ",".join('%s="%s"' % (k, v) for k, v in s.items() if k != "value")
        ours[(name, labels)] = s["value"]
# Counters that moved between the two reads: only the loop's own (posts,
# completions) and the metrics endpoint's connections may differ.
moving = ("msrpgw_loop_",)
diff = [k for k in prom if not k[0].startswith(moving) and ours.get(k) != prom[k]]
print(len(ours) == len(prom), diff, sum(v for (n, l), v in ours.items() if n == "msrpgw_chunks_in_total") > 0)
EOF
check "[ \"$(cat "$IT_DIR/stats.txt")\" = 'True [] True' ]" \
    "stats: JSON with every /metrics series, equal values (got $(cat "$IT_DIR/stats.txt"))"

# config: the effective settings, passwords masked.
ctl config >"$IT_DIR/config.json"
check "[ \"$(json_get "$IT_DIR/config.json" 'j["config"]["gateway"]["user"]')\" = \"['alice:***', 'bob:***']\" ]" \
    "config: users listed with masked passwords"
check "[ \"$(json_get "$IT_DIR/config.json" 'j["config"]["log"]["accounting_file"]')\" = $ACCT ]" \
    "config: the accounting file as configured"
check "! grep -q -e secret -e ':pw' $IT_DIR/config.json" "config: no password appears"

# reload = SIGHUP: users reloaded, the accounting file reopened.
mv "$ACCT" "$IT_DIR/acct.old"
ctl reload >/dev/null
check "[ $? -eq 0 ]" "reload: ok"
wait_until 5 "[ \$(grep -c 'users loaded' $GW_LOG) -eq 2 ]"
check "[ $? -eq 0 ]" "reload: the users were loaded again (as on SIGHUP)"
bg "$CAT" recv --relay 127.0.0.1:$GW_PORT --user alice --password secret --out "$IT_DIR/r3" \
    --path-file "$IT_DIR/p3" >/dev/null 2>&1
R3_PID=$LAST_PID
wait_file "$IT_DIR/p3" 10
kill "$R3_PID"
wait_until 5 "[ \$(lines $ACCT) -eq 1 ]"
check "[ $? -eq 0 ] && [ \"$(rec 0 '(j["id"], j["reason"])')\" = \"('$(sid_of "$IT_DIR/p3")', 'normal')\" ]" \
    "reload: the next record goes to a new accounting file"
check "[ \$(lines $IT_DIR/acct.old) -eq 4 ]" "reload: the moved file keeps its 4 records"

# Anchored sections (SBC sidecar) are sessions too: listed (here over UDP
# from loopback), ended by delete or kill, one record each.
S_A="msrp://127.0.0.1:9/alice$$;tcp"
printf 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 9 TCP/MSRP *\r\na=accept-types:*\r\na=path:%s\r\n' \
    "$S_A" >"$IT_DIR/offer.sdp"
timeout 10 "$CTL" --ng "$NG" offer "$IT_DIR/offer.sdp" --call-id c1 --from-tag f1 >/dev/null
timeout 10 "$CTL" --ng "$NG" offer "$IT_DIR/offer.sdp" --call-id c2 --from-tag f2 >/dev/null
timeout 10 "$CTL" --ng "$NG" sessions >"$IT_DIR/sessions.json"
check "[ \"$(python3 -c 'import json,sys; print(sorted((s["kind"], s["call-id"], s["peer"], s["chunks_in"], s["chunks_out"]) for s in json.load(open(sys.argv[1]))["sessions"]))' "$IT_DIR/sessions.json")\" = \"[('anchor', 'c1', '$S_A', 0, 0), ('anchor', 'c2', '$S_A', 0, 0)]\" ]" \
    "sessions over UDP from loopback: the two anchored calls"
C2=$(python3 -c 'import json,sys; print([s["id"] for s in json.load(open(sys.argv[1]))["sessions"] if s["call-id"] == "c2"][0])' "$IT_DIR/sessions.json")
timeout 10 "$CTL" --ng "$NG" delete --call-id c1 >/dev/null
timeout 10 "$CTL" --ng "$NG" kill "$C2" >/dev/null
check "[ $? -eq 0 ]" "kill of anchor c2 by its id: ok"
timeout 10 "$CTL" --ng "$NG" query --call-id c2 >/dev/null 2>&1
check "[ $? -eq 1 ]" "the killed anchor is gone (query: unknown call-id)"
wait_until 5 "[ \$(lines $ACCT) -ge 3 ]"
check "[ \"$(rec 1 '(j["kind"], j["call_id"], j["peer"], j["reason"], j["body_in"])')\" = \"('anchor', 'c1', '$S_A', 'deleted', 0)\" ] && [ \"$(rec 2 '(j["kind"], j["id"], j["call_id"], j["reason"])')\" = \"('anchor', '$C2', 'c2', 'killed')\" ]" \
    "records: anchor c1 deleted, anchor c2 killed"

# drain: no new connections; the control socket and the gateway go on.
ctl drain >/dev/null
check "[ $? -eq 0 ]" "drain: ok"
log_has "$GW_LOG" "draining (admin)"
python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' $GW_PORT 2>/dev/null
check "[ $? -ne 0 ]" "drain: the listener is closed"
ctl sessions >"$IT_DIR/s9.json"
check "[ \"$(json_get "$IT_DIR/s9.json" 'j["sessions"]')\" = '[]' ]" "drain: sessions still answers"
gw_stop GW

# Idle timeout on a second gateway: one record, reason idle_timeout.
ACCT2=$IT_DIR/acct2.jsonl
gw_start GW2 "idle_timeout = 1
[log]
accounting_file = $ACCT2"
bg "$CAT" recv --relay 127.0.0.1:$GW2_PORT --user alice --password secret --out "$IT_DIR/r4" \
    --path-file "$IT_DIR/p4" >/dev/null 2>&1
wait_file "$IT_DIR/p4" 10
wait_until 10 "[ \$(lines $ACCT2) -ge 1 ]"
check "[ \"$(rec 0 '(j["id"], j["user"], j["reason"], j["chunks_in"], j["chunks_out"], j["duration_ms"] >= 1000)' "$ACCT2")\" = \"('$(sid_of "$IT_DIR/p4")', 'alice', 'idle_timeout', 0, 0, True)\" ]" \
    "idle: one record, reason idle_timeout, after at least 1 s"
gw_stop GW2
check "[ \$(lines $ACCT2) -eq 1 ]" "idle: exactly one record"
it_done
