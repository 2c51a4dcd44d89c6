#!/usr/bin/env bash
# msrpcat through the msrpgw relay daemon (tests/integration/lib/msrpgw.sh
# starts it on 127.0.0.1 with users alice:secret and bob:pw): the receiver
# AUTHs with Digest and prints Use-Path + its URI; the sender sends straight
# to the relay with that To-Path (no AUTH), large chunks that the relay may
# split, with a Success REPORT asked and checked end to end.
: "${IT_KEEP:=}"
source "$(dirname "$0")/lib/msrpgw.sh"
it_init msrpcat_msrpgw
CAT=$MSRP_BUILD/tools/msrpcat
gw_start GW
D=$IT_DIR
head -c 3000001 /dev/urandom >"$D/f"
want=$(sha256sum "$D/f" | cut -c1-64)

bg timeout 30 "$CAT" recv --relay "127.0.0.1:$GW_PORT" --user bob --password pw \
    --out "$D/r" --path-file "$D/p" --expect-sha256 "$want"
RP=$!
wait_file "$D/p" 10
read -r u1 u2 rest <"$D/p"
check '[[ $u1 == msrp://127.0.0.1:$GW_PORT/* ]]' "path starts with the relay's Use-Path: $(cat "$D/p")"
check '[[ $u2 == msrp://127.0.0.1:*/*\;tcp && -z ${rest:-} ]]' "then the receiver's URI"
timeout 30 "$CAT" send "$D/f" --to-path "$(cat "$D/p")" --chunk-size 1000000 --success-report \
    >"$D/s.out" 2>"$D/s.err"
rc=$? # the message's $(...) would reset $? before check's eval sees it
check "[ $rc = 0 ]" "send through msrpgw: $(cat "$D/s.err")"
wait "$RP"
check '[ $? = 0 ]' "recv through msrpgw"
check 'cmp -s "$D/f" "$D/r"' "file intact through msrpgw"

# Wrong password: msrpgw refuses, the receiver exits 3 and says why.
timeout 30 "$CAT" recv --relay "127.0.0.1:$GW_PORT" --user bob --password nope \
    --out "$D/r2" >/dev/null 2>"$D/r2.err"
check '[ $? = 3 ]' "wrong password exit status"
check 'grep -q "refused AUTH: 40[13]" "$D/r2.err"' "wrong password named: $(cat "$D/r2.err")"
gw_stop GW
it_done
