#!/usr/bin/env python3
"""relay_goodput: one large MSRP transfer through a relay, timed.

  relay_goodput.py --relay H:P [--user U --password P] --mib N [--chunk B]

The receiver AUTHs (when credentials are given: msrpgw) or not (a plain TCP
proxy such as socat, which just splices bytes to --target), then counts
raw bytes; the sender blasts N MiB as SENDs of --chunk bytes with
Failure-Report: no, so neither side waits for responses and the relay's
forwarding alone is measured. Receiver-side the run ends when at least
N MiB arrived and the stream ends with the last chunk's "$" end-line.
Prints {"mib":..,"seconds":..,"mb_per_s":..} (MB = 10^6 bytes of body).

  --proxy-target H:P   the receiver listens on H:P and the sender connects
                       to --relay, which is a TCP proxy forwarding to H:P.
"""

import argparse
import json
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "peers"))
import msrp_probe as mp  # noqa: E402
import relay_client as rc  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--relay", required=True)
    p.add_argument("--user")
    p.add_argument("--password", default="")
    p.add_argument("--mib", type=int, default=256)
    p.add_argument("--chunk", type=int, default=65536)
    p.add_argument("--proxy-target")
    p.add_argument("--timeout", type=float, default=120.0)
    a = p.parse_args()
    total = a.mib << 20
    host, port = rc.hostport(a.relay)

    if a.proxy_target:
        th, tp = rc.hostport(a.proxy_target)
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((th, tp))
        ls.listen(1)
        rsock = None
        path = "msrp://%s:%d/x;tcp msrp://%s:%d/r;tcp" % (host, port, th, tp)
    else:
        conn = rc.connect(a)
        own = conn.own_uri("g1")
        codes, last = rc.do_auth(conn, a, own, a.user, a.password)
        if codes[-1] != 200:
            print(json.dumps({"error": "auth %s" % codes}))
            return 1
        path = last.header("Use-Path") + " " + own
        rsock = conn.sock

    body = os.urandom(a.chunk)
    result = {}

    def receiver():
        nonlocal rsock
        if rsock is None:
            rsock, _ = ls.accept()
        rsock.settimeout(a.timeout)
        buf = bytearray(1 << 20)
        got = 0
        tail = b""
        while True:
            n = rsock.recv_into(buf)
            if n == 0:
                break
            got += n
            tail = (tail + bytes(buf[max(0, n - 8):n]))[-8:]
            if got >= total and tail.endswith(b"$\r\n"):
                break
        result["t_end"] = time.monotonic()
        result["bytes"] = got

    t = threading.Thread(target=receiver)
    t.start()
    s = socket.create_connection((host, port), timeout=a.timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    lh, lp = s.getsockname()[:2]
    sender = "msrp://%s:%d/s;tcp" % (lh, lp)

    def drain():
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass

    threading.Thread(target=drain, daemon=True).start()
    t0 = time.monotonic()
    off = 0
    while off < total:
        n = min(a.chunk, total - off)
        last = off + n >= total
        tid = mp.new_tid()
        head = ("MSRP %s SEND\r\nTo-Path: %s\r\nFrom-Path: %s\r\nMessage-ID: big\r\n"
                "Byte-Range: %d-%d/%d\r\nFailure-Report: no\r\n"
                "Content-Type: application/octet-stream\r\n\r\n"
                % (tid, path, sender, off + 1, off + n, total)).encode()
        s.sendall(head + body[:n] + ("\r\n-------%s%s\r\n" % (tid, "$" if last else "+")).encode())
        off += n
    t.join(a.timeout)
    s.close()
    if "t_end" not in result:
        print(json.dumps({"error": "receiver did not finish"}))
        return 1
    secs = result["t_end"] - t0
    print(json.dumps({"mib": a.mib, "chunk": a.chunk, "seconds": round(secs, 3),
                      "mb_per_s": round(total / secs / 1e6, 1), "wire_bytes": result["bytes"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
