#!/bin/bash
# relay_chain_reports: reverse traffic through a shared relay-to-relay
# connection. Three senders AUTH to relay A and send, each with
# Success-Report yes, to three receivers that AUTHed to relay B. A carries
# all three over one connection to B, so B sees three senders on one
# unauthenticated connection, each by the From-Path[0] A gave it (A's URI
# for that sender's reservation): B must route each receiver's Success
# REPORT back by that URI, or the REPORTs (and anything else sent back)
# could only reach one of them. Every sender must get its REPORT
# (msrpcat send --success-report fails without it) and every file must
# arrive intact.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_chain_reports
CAT=$MSRP_BUILD/tools/msrpcat
D=$IT_DIR
IT_THREADS=1 gw_start A
IT_THREADS=1 gw_start B
for i in 1 2 3; do
    head -c $((200000 * i + 17)) /dev/urandom >"$D/f$i"
    want=$(sha256sum "$D/f$i" | cut -c1-64)
    bg timeout 30 "$CAT" recv --relay "127.0.0.1:$B_PORT" --user bob --password pw \
        --out "$D/r$i" --path-file "$D/p$i" --expect-sha256 "$want"
    eval "R$i=$LAST_PID"
done
for i in 1 2 3; do
    wait_file "$D/p$i" 10 || check false "receiver $i ready"
    bg timeout 30 "$CAT" send "$D/f$i" --relay "127.0.0.1:$A_PORT" --user alice \
        --password secret --to-path "$(cat "$D/p$i")" --success-report
    eval "S$i=$LAST_PID"
done
for i in 1 2 3; do
    s=S$i; r=R$i
    wait ${!s}
    rc=$?
    check "[ $rc = 0 ]" "sender $i got its Success REPORT back through B and A (rc $rc)"
    wait ${!r}
    rc=$?
    check "[ $rc = 0 ]" "receiver $i succeeded (rc $rc)"
    check 'cmp -s "$D/f$i" "$D/r$i"' "file $i intact through two relays"
done
conns=$(grep -c "connecting to next hop msrp://127.0.0.1:$B_PORT" "$A_LOG")
check "[ $conns = 1 ]" "A carried the three sessions over one connection to B ($conns)"
senders=$(grep -c "sender msrp://127.0.0.1:$A_PORT/[^ ]*;tcp is reached over this connection" "$B_LOG")
check "[ $senders = 3 ]" "B learned the three senders on that connection by A's URIs ($senders)"
gw_stop A
gw_stop B
it_done
