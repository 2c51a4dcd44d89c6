#!/usr/bin/env python3
"""hep_listen: a minimal HEP3 collector for tests/integration/relay_hep.sh.

Binds a UDP socket on 127.0.0.1 (ephemeral port, written to --port-file),
decodes every datagram as HEP3 -- written from the HEP3 specification
(sipcapture.org, "HEP3 Network Protocol Specification" rev. 12): "HEP3",
uint16 total length, then chunks of uint16 vendor id, uint16 type, uint16
length (header included), value; all integers big-endian -- and prints
one JSON line per datagram. Exits after --idle seconds without one.
"""

import argparse
import base64
import ipaddress
import json
import socket
import struct
import sys


def decode(d):
    if len(d) < 6 or d[:4] != b"HEP3":
        raise ValueError("not HEP3")
    (total,) = struct.unpack("!H", d[4:6])
    if total != len(d):
        raise ValueError("length field %d, datagram %d" % (total, len(d)))
    out = {"chunks": []}
    off = 6
    while off < total:
        if total - off < 6:
            raise ValueError("truncated chunk header at %d" % off)
        vendor, ctype, clen = struct.unpack("!HHH", d[off:off + 6])
        if clen < 6 or off + clen > total:
            raise ValueError("bad chunk length %d at %d" % (clen, off))
        v = d[off + 6:off + clen]
        out["chunks"].append([vendor, ctype])
        if vendor == 0:
            if ctype in (1, 2, 11):
                out[{1: "family", 2: "ip_proto", 11: "proto_type"}[ctype]] = v[0]
            elif ctype in (3, 4, 5, 6):
                key = "src" if ctype in (3, 5) else "dst"
                out[key] = str(ipaddress.ip_address(bytes(v)))
            elif ctype in (7, 8):
                out["sport" if ctype == 7 else "dport"] = struct.unpack("!H", v)[0]
            elif ctype in (9, 10, 12):
                key = {9: "ts_sec", 10: "ts_usec", 12: "capture_id"}[ctype]
                out[key] = struct.unpack("!I", v)[0]
            elif ctype == 15:
                out["payload"] = base64.b64encode(v).decode()
            elif ctype == 17:
                out["correlation"] = v.decode()
        off += clen
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--idle", type=float, default=5.0)
    a = p.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    with open(a.port_file + ".tmp", "w") as fp:
        fp.write("%d\n" % s.getsockname()[1])
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    s.settimeout(a.idle)
    while True:
        try:
            d, _ = s.recvfrom(65535)
        except socket.timeout:
            return 0
        try:
            print(json.dumps(decode(d)), flush=True)
        except ValueError as e:
            print(json.dumps({"error": str(e)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
