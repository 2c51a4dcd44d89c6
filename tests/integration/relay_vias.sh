#!/bin/bash
# relay_vias: one unauthenticated connection carrying many senders (what a
# previous relay's shared connection looks like). The relay invents no
# session ids: each receiver sees From-Path = its Use-Path + the sender
# (RFC 4976), and reverse SENDs (To-Path = Use-Path + sender) must reach
# the right sender over that connection, found by the From-Path[0] URI it
# arrived with. The table is bounded per connection (max_learned_uris):
# with 20 senders and a bound of 16, the first 4 are forgotten (a reverse
# SEND to one of them gets 481), the oldest kept and the newest still get
# through, and the evictions are counted in the metrics.
. "$(dirname "$0")/lib/msrpgw.sh"
it_init relay_vias
gw_start GW
R=127.0.0.1:$GW_PORT
python3 "$RCLIENT" vias --relay $R --user bob --password pw --n 20 >$IT_DIR/small.json
check "[ $? -eq 0 ]" "20 senders on one connection, default bound: exact paths, reverse SENDs reach senders 0 and 19 ($(cut -c1-200 $IT_DIR/small.json))"
gw_stop GW

gw_start GB "max_learned_uris = 16
[metrics]
listen = 127.0.0.1:0
[gateway]"
R=127.0.0.1:$GB_PORT
MPORT=$(awk '$1=="metrics"{print $2}' "$IT_DIR/GB/ports")
python3 "$RCLIENT" vias --relay $R --user bob --password pw --n 20 --cap 16 >$IT_DIR/big.json
check "[ $? -eq 0 ]" "20 senders, bound 16: the first forgotten (481), the oldest kept and the newest reached ($(cut -c1-300 $IT_DIR/big.json))"
check "[ \"$(json_get $IT_DIR/big.json 'j["first"]["code"]')\" = 481 ]" "reverse SEND to a forgotten sender: 481"
check "log_has $GB_LOG 'forgetting the least recently used of 16 senders'" "the eviction is logged"
ev=$(python3 - "$MPORT" <<'PY'
import sys, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
print(sum(float(l.split()[-1]) for l in t.splitlines() if l.startswith("msrpgw_learned_uri_evictions_total{")))
PY
)
check "[ \"$ev\" = 4.0 ]" "msrpgw_learned_uri_evictions_total counts the 4 forgotten senders ($ev)"
gw_stop GB
it_done
