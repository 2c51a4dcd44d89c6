#!/usr/bin/env bash
# tshark_check.sh PCAP PORT...: check the MSRP in a capture with tshark.
#
# Decodes TCP on each PORT as MSRP (-d tcp.port==PORT,msrp) and asserts:
#   1. no frame is malformed or carries an expert error
#      (_ws.malformed || _ws.expert.severity >= error), except frames that
#      msrp_pcap.py proves to be Wireshark 4.0's known Content-Type ';'
#      false positive (a valid frame whose first body bytes hold a ';');
#   2. every TCP byte stream on PORTs, rebuilt in order and parsed with
#      msrp_probe.py's independent parser, is a clean sequence of complete
#      MSRP frames (no garbage, no hole, no half frame at the end);
#   3. at least one MSRP frame was seen.
# Prints a summary: MSRP requests by method and responses by status as the
# dissector sees them (-T fields -e msrp.method -e msrp.status.code; it
# only dissects the first frame of each TCP segment, so it undercounts
# when frames were coalesced) and the exact counts from the stream parse.
# Exit 0 if all assertions hold, 1 otherwise, 2 on usage errors.
#
# Environment: TSHARK (default tshark).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TSHARK=${TSHARK:-tshark}

if [ $# -lt 2 ]; then
    echo "usage: $0 PCAP PORT..." >&2
    exit 2
fi
pcap=$1
shift
[ -r "$pcap" ] || { echo "tshark_check.sh: cannot read $pcap" >&2; exit 2; }
dargs=()
for p in "$@"; do
    case "$p" in ''|*[!0-9]*) echo "tshark_check.sh: bad port '$p'" >&2; exit 2 ;; esac
    dargs+=(-d "tcp.port==$p,msrp")
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# tshark complains about running as root on stderr: keep its stderr in a
# file and show it only when tshark itself fails.
ts() {
    "$TSHARK" -n -r "$pcap" -2 "${dargs[@]}" "$@" 2>"$tmp/err"
    local rc=$?
    if [ $rc -ne 0 ]; then
        echo "tshark_check.sh: tshark failed ($rc):" >&2
        grep -v 'Running as user "root"' "$tmp/err" >&2
    fi
    return $rc
}

ts -Y '_ws.malformed || _ws.expert.severity >= error' \
    -T fields -e frame.number -e tcp.payload >"$tmp/bad" || exit 1
nbad=$(grep -c . "$tmp/bad")
if [ "$nbad" -gt 0 ]; then
    ts -Y '_ws.malformed || _ws.expert.severity >= error' >"$tmp/bad.txt" || exit 1
    verdict=$(python3 "$here/msrp_pcap.py" malformed <"$tmp/bad")
    vrc=$?
    echo "flagged frames: $nbad; $verdict"
    if [ $vrc -ne 0 ]; then
        echo "FAIL: malformed/expert-error MSRP frames not explained:" >&2
        cat "$tmp/bad.txt" >&2
        fail=1
    fi
else
    echo "flagged frames: 0"
fi

echo "tshark MSRP summary (first frame per TCP segment):"
ts -Y msrp -T fields -E occurrence=a -E aggregator=' ' \
    -e msrp.method -e msrp.status.code >"$tmp/sum" || exit 1
tr ' \t' '\n\n' <"$tmp/sum" | grep . | sort | uniq -c | sed 's/^/  /'
if ! grep -q . "$tmp/sum"; then
    echo "FAIL: tshark saw no MSRP frame on ports $*" >&2
    fail=1
fi

ts -Y 'tcp.len > 0' -T fields -e tcp.stream -e ip.src -e tcp.srcport \
    -e ip.dst -e tcp.dstport -e tcp.seq -e tcp.len -e tcp.payload \
    >"$tmp/segs" || exit 1
streams=$(python3 "$here/msrp_pcap.py" streams "$@" <"$tmp/segs")
src=$?
echo "stream parse: $streams"
if [ $src -ne 0 ]; then
    echo "FAIL: MSRP byte streams do not parse cleanly" >&2
    fail=1
fi
[ $fail -eq 0 ] && echo "tshark_check: OK"
exit $fail
