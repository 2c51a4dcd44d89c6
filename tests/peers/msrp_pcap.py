#!/usr/bin/env python3
"""msrp_pcap: second opinion on a capture's MSRP, for tshark_check.sh.

  tshark ... -T fields -e tcp.stream -e ip.src -e tcp.srcport -e ip.dst \
      -e tcp.dstport -e tcp.seq -e tcp.len -e tcp.payload \
      | msrp_pcap.py streams PORT...
      Rebuilds every TCP byte stream that has one of PORTs at either end
      (placing segments by relative sequence number: retransmissions are
      merged; after a hole -- packets the capture lost -- parsing goes on
      from the next start line), parses it with msrp_probe's frame parser
      and prints one JSON line: frames per method/status, streams, capture
      holes, and errors (unparsable bytes, a stream that ends inside a
      frame, more than MAX_HOLES holes or over 5% of the bytes lost).
      Exit 1 on any error or if no MSRP frame was seen.

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

  msrp_pcap.py selftest
      Checks `streams` on synthetic segments (clean, retransmitted, one
      hole, an error after a hole, a truncated end, too many holes).

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


# A hole in a loopback TCP stream is always the capture's loss (the
# receiver got every byte: the tests check its SHA-256), never the
# sender's: dumpcap starved of CPU drops packets.  The check goes on after
# a hole from the next frame start, so a lossy capture still checks the
# framing of everything it holds; it fails only when too much is missing.
MAX_HOLES = 8
MAX_RESYNC = 1 << 20   # bytes searched for a start line after a hole


class Run(bytearray):
    """Bytes of one direction captured without a gap, from seq."""
    seq = 0


def contiguous_runs(segs, name, holes):
    runs = []
    expect = None
    for seq in sorted(segs):
        data = segs[seq]
        if expect is None or seq > expect:
            if expect is not None:
                holes.append((name, seq - expect, expect))
            run = Run()
            run.seq = seq
            runs.append(run)
            expect = seq
        skip = expect - seq   # retransmitted overlap
        if skip < len(data):
            runs[-1] += data[skip:]
            expect = seq + len(data)
    return runs


def resync(run):
    """Offset of the first line starting with "MSRP " in run, or None."""
    at = 0 if run.startswith(b"MSRP ") else -1
    if at < 0:
        at = run.find(b"\r\nMSRP ", 0, MAX_RESYNC)
        if at < 0:
            return None
        at += 2
    return at


def parse_run(run, counts, last):
    """Parses the frames of run into counts: (frames, error or None).  A
    run that a hole cuts short (not last) may end inside a frame."""
    rd = FrameReader()
    rd.feed(bytes(run))
    n = 0
    try:
        for f in rd.frames():
            n += 1
            k = f.method if f.is_request() else str(f.code)
            counts[k] = counts.get(k, 0) + 1
    except ProtocolError as e:
        return n, str(e)
    if last and (rd.buf or rd.state != "start"):
        return n, "stream ends inside a frame (%d bytes left)" % len(rd.buf)
    return n, None


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
    holes = []
    frames_total = 0
    bytes_total = 0
    for key in sorted(segs):
        runs = contiguous_runs(segs[key], key[1], holes)
        bytes_total += sum(len(r) for r in runs)
        for i, run in enumerate(runs):
            last = i == len(runs) - 1
            if i > 0:
                # After a capture hole: the rest of the cut frame is
                # skipped up to the next start line.
                at = resync(run)
                if at is None:
                    if last or len(run) > MAX_RESYNC:
                        errors.append("%s: no MSRP start line after the hole "
                                      "before seq %d" % (key[1], run.seq))
                    continue
                run = run[at:]
            n, err = parse_run(run, counts, last)
            frames_total += n
            if err:
                errors.append("%s: %s" % (key[1], err))
    lost = sum(h[1] for h in holes)
    if len(holes) > MAX_HOLES or lost * 20 > bytes_total:
        errors.append("capture too lossy to judge: %d hole(s), %d of %d bytes "
                      "missing" % (len(holes), lost, bytes_total + lost))
    if frames_total == 0:
        errors.append("no MSRP frame on ports %s" % sorted(ports))
    print(json.dumps({"directions": len(segs), "frames": frames_total,
                      "counts": dict(sorted(counts.items())),
                      "capture_holes": ["%s: %d bytes at seq %d" % h
                                        for h in holes],
                      "errors": errors}))
    return 1 if errors else 0


def _frame(tid, body):
    return (b"MSRP %s SEND\r\nTo-Path: msrp://a:1/x;tcp\r\n"
            b"From-Path: msrp://b:2/y;tcp\r\nMessage-ID: m\r\n"
            b"Byte-Range: 1-%d/%d\r\nContent-Type: text/plain\r\n\r\n%s"
            b"\r\n-------%s$\r\n" % (tid, len(body), len(body), body, tid))


def _rows(stream, segs):
    return ["%d\t127.0.0.1\t5000\t127.0.0.1\t6000\t%d\t%d\t%s\n" %
            (stream, seq, len(d), d.hex()) for seq, d in segs]


def _run_streams(rows):
    import io
    out, old_in, old_out = io.StringIO(), sys.stdin, sys.stdout
    sys.stdin, sys.stdout = io.StringIO("".join(rows)), out
    try:
        rc = cmd_streams(["6000"])
    finally:
        sys.stdin, sys.stdout = old_in, old_out
    return rc, json.loads(out.getvalue())


def cmd_selftest():
    """Streams check on synthetic segments: clean, retransmitted, holes."""
    frames = b"".join(_frame(b"tid%05d" % i, bytes([65 + i % 26]) * 3000)
                      for i in range(40))
    segs = [(1 + o, frames[o:o + 1000]) for o in range(0, len(frames), 1000)]
    cases = []
    rc, j = _run_streams(_rows(0, segs))
    cases.append(("clean", rc == 0 and j["counts"] == {"SEND": 40}
                  and not j["capture_holes"]))
    rc, j = _run_streams(_rows(0, segs + segs[5:9]))   # retransmissions
    cases.append(("retransmitted", rc == 0 and j["counts"] == {"SEND": 40}))
    rc, j = _run_streams(_rows(0, segs[:50] + segs[53:]))  # one hole
    cases.append(("one hole", rc == 0 and len(j["capture_holes"]) == 1
                  and 37 <= j["counts"]["SEND"] < 40))
    at = frames.index(b"MSRP tid00020 ")   # a broken frame after the hole
    bad = bytearray(frames)
    bad[at + 5:at + 13] = b"t!!!!!!!"
    bsegs = [(1 + o, bytes(bad[o:o + 1000])) for o in range(0, len(bad), 1000)]
    rc, j = _run_streams(_rows(0, bsegs[:30] + bsegs[31:]))
    cases.append(("error after hole", rc == 1 and j["errors"]))
    rc, j = _run_streams(_rows(0, segs[:-1]))    # ends inside a frame
    cases.append(("truncated end", rc == 1 and j["errors"]))
    holey = [sg for i, sg in enumerate(segs) if i % 10 != 5]
    rc, j = _run_streams(_rows(0, holey))        # 12 holes, 10% lost
    cases.append(("too lossy", rc == 1 and "too lossy" in j["errors"][-1]))
    fails = [name for name, ok in cases if not ok]
    print(json.dumps({"selftest": "msrp_pcap", "ok": not fails,
                      "failed": fails}))
    return 1 if fails else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "streams":
        return cmd_streams(sys.argv[2:])
    if len(sys.argv) == 2 and sys.argv[1] == "selftest":
        return cmd_selftest()
    if len(sys.argv) == 2 and sys.argv[1] == "malformed":
        return cmd_malformed()
    print("usage: msrp_pcap.py streams PORT... | malformed | selftest", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
