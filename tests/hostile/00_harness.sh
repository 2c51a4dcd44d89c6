#!/bin/bash
# 00_harness: the hostile suite's own checks can fail (a test that cannot
# fail is a defect). A bystander run in which one file has a flipped byte
# fails bystanders_stop (SHA-256 mismatch), so does a run whose gateway
# dies or stalls 2 s; a clean run passes; gw_metric and gw_rss_kb read
# real values.
. "$(dirname "$0")/lib/hostile.sh"
hostile_init 00_harness
gw_start GW

# Runs bystanders_stop expecting it to fail: its own FAIL line is the
# expected outcome here, so the failure count is restored.
expect_stop_fails() {
    local before=$IT_FAILS
    bystanders_stop >$IT_DIR/stop.out
    local rc=$?
    IT_FAILS=$before
    sed 's/^/    | /' $IT_DIR/stop.out
    check "[ $rc -ne 0 ] && grep -q -- \"$1\" $BYSTANDERS_JSON" "$2"
}

bystanders_start GW 5 4096 --corrupt 2 || it_done
wait_until 10 "[ \$(gw_metric GW msrpgw_chunks_in_total) -ge 40 ]"
expect_stop_fails "sha256 MISMATCH" "a corrupted byte in one file fails bystanders_stop"

bystanders_start GW 5 4096 || it_done
wait_until 10 "[ \$(gw_metric GW msrpgw_chunks_in_total) -ge 80 ]"
bystanders_stop >/dev/null
check "[ \$(json_get $BYSTANDERS_JSON 'j[\"ok\"] and j[\"per_session_min\"] >= 1') = True ]" \
    "a clean run passes ($(json_get $BYSTANDERS_JSON 'j["files_ok"]') files)"

# A stall fails too: with a 1 s bound per file, a gateway frozen for 2 s.
BYSTANDER_MAX_SECONDS=1 bystanders_start GW 5 4096 || it_done
wait_until 10 "[ \$(gw_metric GW msrpgw_chunks_in_total) -ge 100 ]"
kill -STOP $GW_PID
sleep 2
kill -CONT $GW_PID
expect_stop_fails "took" "a file delayed past --max-file-seconds fails bystanders_stop"

# A run whose gateway disappears must fail (receivers see the close).
bystanders_start GW 5 4096 || it_done
wait_until 10 "[ \$(gw_metric GW msrpgw_chunks_in_total) -ge 200 ]"
{ kill -KILL $GW_PID; wait $GW_PID; } 2>/dev/null
expect_stop_fails "closed" "the gateway going away fails bystanders_stop"

# The metric and RSS helpers see real numbers.
gw_start GW2
check "[ \$(gw_rss_kb GW2) -gt 1000 ]" "gw_rss_kb reads the gateway's VmRSS ($(gw_rss_kb GW2) KiB)"
"$PY" "$ATTACK" raw --port $GW2_PORT --data 'GARBAGE\r\n' >/dev/null
wait_until 5 "[ \$(gw_metric GW2 msrpgw_drops_total 'reason=\"parse_error\"') -eq 1 ]"
check "[ \$(gw_metric GW2 msrpgw_drops_total 'reason=\"parse_error\"') -eq 1 ]" \
    "gw_metric sums drops{reason=\"parse_error\"} over cores (1)"
check "[ \$(gw_metric GW2 msrpgw_no_such_family) -eq 0 ]" "gw_metric of an absent family is 0"
gw_stop GW2
it_done
