#!/bin/bash
# relay_policy: the operator's limits on what passes through the relay
# (relay_limits.c), exactly: 415 for a content type allowed_content_types
# does not list and 413 for the rest of that message; 413 for a message
# whose Byte-Range shows it over max_message_size, and for one that grows
# over it while streaming (its forwarded copy then ends with '#'); messages
# within the limits before and after pass whole; max_reservations over all
# users (403); session_bandwidth paces two senders at once, each at the
# rate, neither slowing the other; and the metrics count each refusal.
# Per-user limits (users file attributes, one run, two cores): alice's own
# max_message_size refuses (413) what bob sends through, bob's own
# allowed_content_types refuses (415) what alice sends through, an
# unauthenticated sender is held to the receiving reservation's user's
# limits, alice's own max_reservations refuses her third AUTH (403) while
# bob gets his, and bob's own session_bandwidth = 0 lifts the global pacing
# that still holds carol (no attributes, a password with ':').
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_policy
PCLIENT=$MSRP_SRC/tests/integration/lib/policy_client.py
o=$IT_DIR/out.json

metric() { # metric PORT 'NAME{LABELS}': the value summed over cores
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" |
        python3 -c 'import sys, re
name, _, labels = sys.argv[1].partition("{")
labels = [l for l in labels.rstrip("}").split(",") if l]
total = 0
for line in sys.stdin:
    if line.startswith(name + "{") and all(l in line for l in labels):
        total += int(float(line.split()[-1]))
print(total)' "$2"
}

# --- sizes and content types --------------------------------------------------
IT_THREADS=1 IT_METRICS=127.0.0.1:0 gw_start GW "max_message_size = 100000
allowed_content_types = text/plain, image/*"
timeout 60 python3 "$PCLIENT" script --relay 127.0.0.1:$GW_PORT >$o
check "[ $? -eq 0 ]" "the scenario ran ($(head -c 300 $o))"
want() { # want KEY "CODE COMMENT"
    check "[ \"$(json_get $o "j['$1']")\" = \"$2\" ]" "$1: $2 (got $(json_get $o "j['$1']"))"
}
want text "200 OK"
want image "200 OK"
want pdf1 "415 Unsupported Media Type"
want pdf2 "413 Message Refused"
want total "413 Message Too Large"
want star1 "200 OK"
want star2 "413 Message Too Large"
want star3 "413 Message Refused"
want nobr "413 Message Too Large"
want after "200 OK"
check "[ \"$(json_get $o '[(f["len"], f["flag"]) for f in j["rx"]["text"]]')\" = \"[(1000, '\$')]\" ]" \
    "text/plain; charset=utf-8 reached the receiver whole"
check "[ \"$(json_get $o '[(f["len"], f["flag"]) for f in j["rx"]["after"]]')\" = \"[(50000, '\$')]\" ]" \
    "a message within the limits after the refusals reached the receiver whole"
check "[ \"$(json_get $o 'len(j["rx"]["pdf"]) + len(j["rx"]["total"])')\" = 0 ]" \
    "nothing of the refused application/pdf and 200000-byte messages was forwarded"
check "[ \"$(json_get $o '[(f["len"], f["flag"]) for f in j["rx"]["star"]][0]')\" = \"(60000, '+')\" ]" \
    "the first 60000 bytes of the growing message were forwarded"
check "[ \"$(json_get $o '[f["flag"] for f in j["rx"]["star"]]')\" = \"['+', '#']\" ]" \
    "its second chunk reached the receiver aborted ('#'), its third not at all"
check "[ \"$(json_get $o '[f["flag"] for f in j["rx"]["nobr"]]')\" = \"['#']\" ]" \
    "the 150000-byte chunk without Byte-Range was cut off with '#'"
check "[ \"$(json_get $o 'max(f["len"] for f in j["rx"]["nobr"]) <= 100000')\" = True ]" \
    "and at most 100000 of its bytes were forwarded"
check "[ \"$(metric $GW_MPORT 'msrpgw_drops_total{reason="message_too_large"}')\" = 5 ]" \
    "drops{reason=message_too_large} = 5"
check "[ \"$(metric $GW_MPORT 'msrpgw_drops_total{reason="content_type"}')\" = 1 ]" \
    "drops{reason=content_type} = 1"
check "[ \"$(metric $GW_MPORT 'msrpgw_responses_sent_total{code="413"}')\" = 5 ]" \
    "responses_sent{code=413} = 5"
check "[ \"$(metric $GW_MPORT 'msrpgw_responses_sent_total{code="415"}')\" = 1 ]" \
    "responses_sent{code=415} = 1"
gw_stop GW

# --- reservations over all users -----------------------------------------------
IT_METRICS=127.0.0.1:0 gw_start GR "max_reservations = 2"
R=127.0.0.1:$GR_PORT
bg python3 "$RCLIENT" silent --relay $R --user alice --password secret --ready-file $IT_DIR/h1 --hold 20
H1=$LAST_PID
bg python3 "$RCLIENT" silent --relay $R --user bob --password pw --ready-file $IT_DIR/h2 --hold 20
H2=$LAST_PID
wait_file $IT_DIR/h1 10 && wait_file $IT_DIR/h2 10
python3 "$RCLIENT" auth --relay $R --user bob --password pw --expect 401,403 >$o
check "[ $? -eq 0 ]" "a third reservation (2 held by alice and bob): 403 ($(cat $o | cut -c1-80))"
check "[ \"$(metric $GR_MPORT 'msrpgw_auth_failed_total{reason="reservation_limit_total"}')\" = 1 ]" \
    "auth_failed{reason=reservation_limit_total} = 1"
kill $H1
wait_until 5 "[ \"\$(metric $GR_MPORT msrpgw_sessions_current)\" = 1 ]"
check "[ $? -eq 0 ]" "the closed holder gave its reservation back"
python3 "$RCLIENT" auth --relay $R --user alice --password secret --expect 401,200 >$o
check "[ $? -eq 0 ]" "then a new reservation gets 200"
kill $H2
gw_stop GR

# --- bandwidth per session ---------------------------------------------------------
# 1 MiB at 200 KiB/s: 5.1 s less the 0.1 s burst allowance; two senders
# at once each take that long (pacing is per connection), not twice it.
IT_METRICS=127.0.0.1:0 gw_start GB "session_bandwidth = 200KiB"
bg python3 "$PCLIENT" pace --relay 127.0.0.1:$GB_PORT --size 1048576 >$IT_DIR/pace2.json
P2=$LAST_PID
timeout 30 python3 "$PCLIENT" pace --relay 127.0.0.1:$GB_PORT --size 1048576 >$IT_DIR/pace1.json
wait $P2
for f in pace1 pace2; do
    check "[ \"$(json_get $IT_DIR/$f.json 'j["codes"] == ["200 OK"] and j["received"] == 1048576')\" = True ]" \
        "$f: 1 MiB delivered, every chunk 200 ($(cat $IT_DIR/$f.json))"
    check "[ \"$(json_get $IT_DIR/$f.json '4.0 <= j["secs"] <= 9.0')\" = True ]" \
        "$f: 1 MiB at 200 KiB/s took 4-9 s ($(json_get $IT_DIR/$f.json 'j["secs"]') s)"
done
check "[ \"$(metric $GB_MPORT msrpgw_bandwidth_pauses_total)\" -gt 10 ]" \
    "bandwidth_pauses_total counts the pauses ($(metric $GB_MPORT msrpgw_bandwidth_pauses_total))"
gw_stop GB

# --- per-user limits ------------------------------------------------------------------
IT_USERS="user = alice [max_message_size = 10000; max_reservations = 2]:secret
user = bob [allowed_content_types = text/plain application/octet-stream; session_bandwidth = 0]:pw
user = carol:pw:with:colons" \
IT_METRICS=127.0.0.1:0 gw_start GU "max_message_size = 1MiB
session_bandwidth = 128KiB"
U=127.0.0.1:$GU_PORT
timeout 60 python3 "$PCLIENT" peruser --relay $U >$o
check "[ $? -eq 0 ]" "the per-user scenario ran ($(head -c 300 $o))"
want alice_big "413 Message Too Large"
want bob_big "200 OK"
want bob_png "415 Unsupported Media Type"
want alice_png "200 OK"
want anon_big_to_alice "413 Message Too Large"
want anon_big_to_bob "200 OK"
want anon_png_to_bob "415 Unsupported Media Type"
want anon_png_to_alice "200 OK"
check "[ \"$(json_get $o 'j["third_alice"]')\" = '[401, 403]' ]" \
    "alice's third reservation (her max_reservations = 2): 403 ($(json_get $o 'j["third_alice"]'))"
check "[ \"$(json_get $o 'j["third_bob"]')\" = '[401, 200]' ]" \
    "bob's third reservation (the global 100): 200 ($(json_get $o 'j["third_bob"]'))"
check "[ \"$(json_get $o '(j["rx_alice"], j["rx_bob"])')\" = '(3, 3)' ]" \
    "each receiver got its binding SEND and the two messages let through, nothing refused"
check "[ \"$(metric $GU_MPORT 'msrpgw_drops_total{reason="message_too_large"}')\" = 2 ]" \
    "drops{reason=message_too_large} = 2"
check "[ \"$(metric $GU_MPORT 'msrpgw_drops_total{reason="content_type"}')\" = 2 ]" \
    "drops{reason=content_type} = 2"
check "[ \"$(metric $GU_MPORT 'msrpgw_responses_sent_total{code="413"}')\" = 2 ]" \
    "responses_sent{code=413} = 2"
check "[ \"$(metric $GU_MPORT 'msrpgw_responses_sent_total{code="415"}')\" = 2 ]" \
    "responses_sent{code=415} = 2"
check "[ \"$(metric $GU_MPORT 'msrpgw_auth_failed_total{reason="reservation_limit"}')\" = 1 ]" \
    "auth_failed{reason=reservation_limit} = 1"
# 512 KiB: carol at the global 128 KiB/s takes 3.9 s; bob (own 0) is not paced.
pauses0=$(metric $GU_MPORT msrpgw_bandwidth_pauses_total)
timeout 30 python3 "$PCLIENT" pace --relay $U --size 524288 --sender bob:pw \
    --receiver alice:secret >$IT_DIR/pace_bob.json
check "[ \"$(json_get $IT_DIR/pace_bob.json 'j["codes"] == ["200 OK"] and j["received"] == 524288 and j["secs"] < 2.5')\" = True ]" \
    "bob (session_bandwidth = 0): 512 KiB unpaced ($(cat $IT_DIR/pace_bob.json))"
check "[ \"$(metric $GU_MPORT msrpgw_bandwidth_pauses_total)\" = \"$pauses0\" ]" \
    "and no bandwidth pause counted for bob"
timeout 30 python3 "$PCLIENT" pace --relay $U --size 524288 --sender carol:pw:with:colons \
    --receiver bob:pw >$IT_DIR/pace_carol.json
check "[ \"$(json_get $IT_DIR/pace_carol.json 'j["codes"] == ["200 OK"] and j["received"] == 524288 and 3.0 <= j["secs"] <= 9.0')\" = True ]" \
    "carol (the global 128 KiB/s): 512 KiB took 3-9 s ($(cat $IT_DIR/pace_carol.json))"
check "[ \"$(metric $GU_MPORT msrpgw_bandwidth_pauses_total)\" -gt \"$pauses0\" ]" \
    "bandwidth pauses counted for carol"
gw_stop GU

# --- per-user limits from a users file, across reloads --------------------------------
# A reload (SIGHUP) applies to later AUTHs; a file with a bad attribute is
# refused with its file:line and the table before it stays.
UF=$IT_DIR/users
printf 'alice [max_message_size = 10000]:secret\nbob:pw\n' >$UF
IT_USERS="users_file = $UF" gw_start GF
F=127.0.0.1:$GF_PORT
pace_code() { # pace_code: alice's 20000-byte message, its distinct answers
    timeout 30 python3 "$PCLIENT" pace --relay $F --size 20000 | python3 -c \
        'import json, sys; print(",".join(json.load(sys.stdin)["codes"]))'
}
check "[ \"$(pace_code)\" = '413 Message Too Large' ]" "users file: alice's own 10000 bytes: 413"
printf 'alice [max_message_size = 100000]:secret\nbob:pw\n' >$UF
kill -HUP $GF_PID
wait_until 5 "[ \$(grep -c 'users loaded: 2' $GF_LOG) -ge 2 ]"
check "[ $? -eq 0 ]" "the users file was reloaded"
check "[ \"$(pace_code)\" = '200 OK' ]" "after the reload, alice's new 100000: 200"
printf 'bob:pw\nalice [max_message_size = 1x]:secret\n' >$UF
kill -HUP $GF_PID
log_has $GF_LOG "reload: users kept: $UF:2: attribute max_message_size: max_message_size: invalid bytes '1x'"
check "[ $? -eq 0 ]" "a bad attribute is refused with its file and line"
check "[ \"$(pace_code)\" = '200 OK' ]" "and the table before it stays (alice's 100000: 200)"
gw_stop GF
it_done
