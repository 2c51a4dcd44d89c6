#!/bin/bash
# hostile 10, Byte-Range near the top (issue 10 row 10): chunks larger than
# max_chunk_out are split and each piece gets start = the chunk's start +
# bytes already sent; with a start near 2^64 that sum wrapped ("65534-*/*").
# The parser bounds Byte-Range values to 2^62 (MSRP_BR_MAX); the piece
# arithmetic is checked on top (relay_wire.c gw_relay_piece_range).
# Required, max_chunk_out = 64KiB, a receiver (bob) and an unauthenticated
# sender, 200,000-byte bodies:
#  A  start 2^62 - 199999, end 2^62, total 2^62: 200, four pieces, their
#     ranges exact and contiguous up to 2^62, the body intact;
#  B  start 2^62 - 10, end '*': the second piece would start past 2^62,
#     which no Byte-Range can say: 400 for the sender, and no piece the
#     receiver sees starts below the chunk's start or above 2^62;
#  C  start 2^64 - 2 (unrepresentable from the start): 400 from the parser,
#     nothing forwarded.
# 50 bystander sessions transfer meanwhile.
. "$(dirname "$0")/lib/hostile.sh"
hostile_init byte_range
gw_start GW "max_chunk_out = 64KiB"
bystanders_start GW 50 || it_done
rss_settle GW
rss_baseline GW
# The bystanders' traffic alone grows an ASan build by the quarantine of
# freed blocks (256 MB by default): the bound is for the normal build.
RSS_BOUND=65536
ldd "$MSRPGW" 2>/dev/null | grep -q libasan && RSS_BOUND=$((RSS_BOUND * 6))

cat >$IT_DIR/br.py <<'PY'
import hashlib, json, os, sys, time
sys.path.insert(0, os.path.join(os.environ["MSRP_SRC"], "tests", "hostile", "lib"))
import attack as at  # noqa: E402
import relay_client as rcl  # noqa: E402
mp = rcl.mp
A = type("A", (), {"relay": sys.argv[1], "tls": False, "timeout": 20.0})()
TOP = 1 << 62
rx = at.Receiver(rcl.hostport(sys.argv[1])[1], "bob", "pw")
path, got = rx.path, rx.got
s = rcl.connect(A)
me = s.own_uri("snd")
out = {}
for name, rng in (("A", "%d-%d/%d" % (TOP - 199999, TOP, TOP)),
                  ("B", "%d-*/*" % (TOP - 10)),
                  ("C", "%d-*/*" % ((1 << 64) - 2))):
    body = os.urandom(200000)
    tid = mp.new_tid()
    s.send(mp.build_request("SEND", tid, [
        ("To-Path", path), ("From-Path", me), ("Message-ID", name),
        ("Byte-Range", rng), ("Failure-Report", "yes"), ("Content-Type", "application/octet-stream")],
        body))
    code = at.await_response(s, tid, time.monotonic() + 15)
    # Every piece the receiver will get, up to the one that ends the chunk
    # ('$', or '#' when the sender's chunk was cut). C must get none: an
    # absence, so a wrongly forwarded piece gets 0.3 s to show.
    rx.wait_for(lambda f: f.header("Message-ID") == name and f.flag in "$#",
                0.3 if name == "C" else 5)
    pieces = [f for f in got if f.header("Message-ID") == name]
    out[name] = {"code": code, "ranges": [f.header("Byte-Range") for f in pieces],
                 "flags": "".join(f.flag for f in pieces),
                 "starts": [f.byte_range()[0] for f in pieces],
                 "intact": b"".join(f.body for f in pieces) == body,
                 "sha": hashlib.sha256(body).hexdigest()[:8]}
    if name == "C":
        s.close()   # the parser error may have closed it
print(json.dumps(out))
PY
python3 $IT_DIR/br.py 127.0.0.1:$GW_PORT >$IT_DIR/br.json
cat $IT_DIR/br.json
j() { json_get $IT_DIR/br.json "$1"; }
TOP=4611686018427387904
check "[ \"$(j 'j["A"]["code"]')\" = 200 ]" "A: 200 ($(j 'j["A"]["code"]'))"
want="['$((TOP - 199999))-$((TOP - 199999 + 65535))/$TOP', '$((TOP - 199999 + 65536))-$((TOP - 199999 + 131071))/$TOP', '$((TOP - 199999 + 131072))-$((TOP - 199999 + 196607))/$TOP', '$((TOP - 199999 + 196608))-$TOP/$TOP']"
check "[ \"$(j 'j["A"]["ranges"]')\" = \"$want\" ]" "A: four pieces, exact contiguous ranges up to 2^62 ($(j 'j["A"]["ranges"]'))"
check "[ \"$(j 'j["A"]["flags"]') $(j 'j["A"]["intact"]')\" = '+++\$ True' ]" "A: flags +++\$, body intact"
check "[ \"$(j 'j["B"]["code"]')\" = 400 ]" "B: the piece past 2^62 cannot be represented: 400 ($(j 'j["B"]["code"]'))"
check "[ \"$(j "all($((TOP - 10)) <= x <= $TOP for x in j['B']['starts'])")\" = True ]" \
    "B: no piece start wrapped or passed 2^62 ($(j 'j["B"]["ranges"]'))"
check "[ \"$(j 'j["B"]["ranges"][:1]')\" = \"['$((TOP - 10))-*/*']\" ]" "B: the first piece went out with its own range"
check "[ \"$(j 'j["C"]["code"]') $(j 'len(j["C"]["ranges"])')\" = '400 0' ]" "C: start 2^64 - 2: 400, nothing forwarded"

bystanders_stop
rss_check GW $RSS_BOUND "after the attempts"
gw_stop GW
it_done
