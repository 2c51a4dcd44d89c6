#!/usr/bin/env python3
"""msrp_pcap: second opinion on a capture's MSRP, for tshark_check.sh.

  tshark ... -T fields -e tcp.stream -e ip.src -e tcp.srcport -e ip.dst \
      -e tcp.dstport -e tcp.seq -e tcp.len -e tcp.payload \
      | msrp_pcap.py streams PORT...
      Rebuilds every TCP byte stream that has one of PORTs at either end
      (placing segments by relative sequence number: retransmissions are
      merged, a hole is an error), parses it with msrp_probe's frame
      parser and prints one JSON line: frames per method/status, streams,
      and errors (unparsable bytes, holes, a stream that ends inside a
      frame).  Exit 1 on any error or if no MSRP frame was seen.

  tshark ... -Y MALFORMED_FILTER -T fields -e frame.number -e tcp.payload \
      | msrp_pcap.py malformed
      Classifies the frames tshark flagged.  Wireshark 4.0's MSRP
      dissector searches the Content-Type header for ';' over linelen
      bytes starting at the value, i.e. past the end of the line by the
      length of "Content-Type: ", and throws when it finds one there: a
      ';' in the first 10 or so body bytes (about 4% of random 8 KiB
      chunks) flags a correct frame as malformed.  Frames that our
      parser accepts and that have such a ';' are reported as
      "known_false_positive"; the rest as "unexplained".  Exit 1 if any
      frame is unexplained.

Why not trust tshark's own counts: its MSRP dissector dissects only the
first MSRP frame of each TCP segment (several frames coalesced into one
loopback segment go uncounted) and does no reassembly across segments.
"""

import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from msrp_probe import FrameReader, ProtocolError  # noqa: E402


def ct_semicolon_overshoot(payload):
    """True if payload has Wireshark 4.0's Content-Type ';' overshoot."""
    end_hdrs = payload.find(b"\r\n\r\n")
    off = 0
    while True:
        eol = payload.find(b"\r\n", off)
        if eol < 0:
            return False
        line = payload[off:eol]
        name, sep, _ = line.partition(b":")
        if sep and name.strip().lower() == b"content-type":
            value_off = off + len(name) + 1
            while value_off < eol and payload[value_off:value_off + 1] in \
                    (b" ", b"\t"):
                value_off += 1
            window = payload[value_off:value_off + len(line)]
            semi = window.find(b";")
            # Only a ';' past the line end is a false positive; one inside
            # the value is a real parameter and dissects fine.
            return semi >= 0 and value_off + semi >= eol
        if end_hdrs >= 0 and off > end_hdrs:
            return False
        off = eol + 2


def cmd_malformed():
    known, unexplained = [], []
    for row in sys.stdin:
        cols = row.rstrip("\n").split("\t")
        if not cols or not cols[0]:
            continue
        num = cols[0]
        payload = bytes.fromhex(cols[1]) if len(cols) > 1 and cols[1] \
            else b""
        ok_parse = False
        if payload:
            rd = FrameReader()
            rd.feed(payload)
            try:
                ok_parse = len(list(rd.frames())) >= 1
            except ProtocolError:
                ok_parse = False
        if ok_parse and ct_semicolon_overshoot(payload):
            known.append(int(num))
        else:
            unexplained.append(int(num))
    print(json.dumps({"known_false_positive": known,
                      "unexplained": unexplained}))
    return 1 if unexplained else 0


def cmd_streams(ports):
    ports = {int(p) for p in ports}
    # (stream, src, sport) -> {seq: bytes}
    segs = {}
    for row in sys.stdin:
        cols = row.rstrip("\n").split("\t")
        if len(cols) < 8 or not cols[7]:
            continue
        stream, src, sport, dst, dport, seq, length, hexdata = cols[:8]
        if int(sport) not in ports and int(dport) not in ports:
            continue
        data = bytes.fromhex(hexdata)
        if len(data) != int(length):
            # Truncated capture (snaplen): cannot check what is missing.
            raise SystemExit("frame of stream %s truncated in capture" %
                             stream)
        key = (int(stream), "%s:%s>%s:%s" % (src, sport, dst, dport))
        segs.setdefault(key, {})[int(seq)] = data
    counts = {}
    errors = []
    frames_total = 0
    for key in sorted(segs):
        buf = bytearray()
        expect = None
        for seq in sorted(segs[key]):
            data = segs[key][seq]
            if expect is None:
                expect = seq
            if seq > expect:
                errors.append("%s: %d bytes missing at seq %d" %
                              (key[1], seq - expect, expect))
                break
            skip = expect - seq   # retransmitted overlap
            if skip < len(data):
                buf += data[skip:]
                expect = seq + len(data)
        rd = FrameReader()
        rd.feed(bytes(buf))
        try:
            for f in rd.frames():
                frames_total += 1
                k = f.method if f.is_request() else str(f.code)
                counts[k] = counts.get(k, 0) + 1
            if rd.buf or rd.state != "start":
                errors.append("%s: stream ends inside a frame (%d bytes "
                              "left)" % (key[1], len(rd.buf)))
        except ProtocolError as e:
            errors.append("%s: %s" % (key[1], e))
    if frames_total == 0:
        errors.append("no MSRP frame on ports %s" % sorted(ports))
    print(json.dumps({"directions": len(segs), "frames": frames_total,
                      "counts": dict(sorted(counts.items())),
                      "errors": errors}))
    return 1 if errors else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "streams":
        return cmd_streams(sys.argv[2:])
    if len(sys.argv) == 2 and sys.argv[1] == "malformed":
        return cmd_malformed()
    print("usage: msrp_pcap.py streams PORT... | malformed", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
