#!/usr/bin/env python3
"""foreign_relay: what another relay's shared connection does to msrpgw with
threads >= 2 (issue 10 row 7), checked to the byte of every path.

Receivers AUTH (bob) on fresh connections until --per-core of them hold a
reservation on each of cores 0 and 1 (a session id's first character names
its core). Then ONE unauthenticated connection F -- a foreign relay whose
URI FR is From-Path[0], with senders S_i behind it -- sends SENDs to all of
them, alternating between the cores, --rounds times. Required:
  - every SEND is answered 200 on F, To-Path FR (the previous hop);
  - each receiver gets it with To-Path = its own URI and From-Path =
    "its Use-Path FR S_i", exactly (the loopback hop between our cores
    leaves no trace);
  - reverse traffic: each receiver sends a SEND and a Success REPORT to
    "Use-Path FR S_i"; they arrive on F with To-Path "FR S_i" and
    From-Path "Use-Path receiver", F answers the SEND 200 and the receiver
    gets that 200.
Prints one JSON line; exit 0 when everything held.
"""
import argparse
import json
import os
import secrets
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration", "lib"))
import relay_client as rcl  # noqa: E402

mp = rcl.mp


def paths(f):
    return f.header("To-Path"), f.header("From-Path")


class Receiver:
    def __init__(self, args):
        self.conn = rcl.connect(args)
        self.own = self.conn.own_uri("rx" + secrets.token_hex(4))
        codes, last = rcl.do_auth(self.conn, args, self.own, "bob", "pw")
        if codes[-1] != 200:
            raise mp.ProtocolError("AUTH %s" % codes)
        self.use = last.header("Use-Path")
        self.core = self.use.rsplit("/", 1)[1][0]
        self.frames = []
        self.lock = threading.Lock()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        try:
            while True:
                f = self.conn.recv_frame(time.monotonic() + 60)
                if f is None:
                    return
                if f.is_request() and f.method == "SEND":
                    self.conn.send(mp.build_response(f, 200, "OK", self.own))
                with self.lock:
                    self.frames.append(f)
        except Exception:  # noqa: BLE001
            return

    def requests(self):
        with self.lock:
            return [f for f in self.frames if f.is_request()]

    def response(self, tid):
        with self.lock:
            return next((f for f in self.frames if not f.is_request() and f.tid == tid), None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--relay", required=True)
    ap.add_argument("--per-core", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    args = type("A", (), {"relay": a.relay, "tls": False, "timeout": 30.0})()
    out = {"bad": [], "receivers": {}, "sends": 0, "ok_200": 0, "delivered": 0,
           "reverse_sends": 0, "reverse_reports": 0, "reverse_200": 0}
    bad = out["bad"]

    rx = {"0": [], "1": []}
    for _ in range(80):
        if all(len(v) >= a.per_core for v in rx.values()):
            break
        r = Receiver(args)
        if r.core in rx and len(rx[r.core]) < a.per_core:
            rx[r.core].append(r)
    out["receivers"] = {k: len(v) for k, v in rx.items()}
    if not all(len(v) >= a.per_core for v in rx.values()):
        bad.append("could not get %d receivers on each core: %s" % (a.per_core, out["receivers"]))
        print(json.dumps(out))
        return 1
    # Alternate cores so that F's first frame goes to one core and the
    # next to the other, as a foreign relay's connection would.
    order = [r for pair in zip(rx["0"], rx["1"]) for r in pair]

    F = rcl.connect(args)
    FR = "msrp://%s:%d/frelay;tcp" % F.local
    senders = {id(r): "msrp://127.0.0.1:9/snd%d;tcp" % i for i, r in enumerate(order)}
    want = {}  # tid -> (receiver, message id)
    for rnd in range(a.rounds):
        for r in order:
            tid = mp.new_tid()
            mid = "m%d-%s" % (rnd, tid)
            body = os.urandom(200 + rnd)
            F.send(mp.build_request("SEND", tid, [
                ("To-Path", "%s %s" % (r.use, r.own)),
                ("From-Path", "%s %s" % (FR, senders[id(r)])),
                ("Message-ID", mid), ("Byte-Range", "1-%d/%d" % (len(body), len(body))),
                ("Success-Report", "no"), ("Content-Type", "text/plain")], body))
            want[tid] = (r, mid)
            out["sends"] += 1
    got = {}
    end = time.monotonic() + 15
    while len(got) < len(want) and time.monotonic() < end:
        try:
            f = F.recv_frame(end)
        except TimeoutError:
            break
        if f is None:
            bad.append("F closed by the gateway")
            break
        if f.is_request():
            bad.append("unexpected request on F: %s" % f.method)
            continue
        got[f.tid] = f
    for tid, (r, mid) in want.items():
        f = got.get(tid)
        if f is None:
            bad.append("no response to %s (core %s)" % (tid, r.core))
        elif f.code != 200 or f.header("To-Path") != FR:
            bad.append("response to %s (core %s): %s %s, To-Path %s" %
                       (tid, r.core, f.code, f.comment, f.header("To-Path")))
        else:
            out["ok_200"] += 1
    # Deliveries, exact paths.
    deadline = time.monotonic() + 10
    for r in order:
        mids = {mid for (rr, mid) in want.values() if rr is r}
        while time.monotonic() < deadline and \
                len([f for f in r.requests() if f.header("Message-ID") in mids]) < len(mids):
            time.sleep(0.02)
        for f in r.requests():
            if f.header("Message-ID") not in mids:
                continue
            to, fr = paths(f)
            if to != r.own or fr != "%s %s %s" % (r.use, FR, senders[id(r)]):
                bad.append("core %s delivery: To-Path %r From-Path %r" % (r.core, to, fr))
            else:
                out["delivered"] += 1

    # Reverse traffic: a SEND and a REPORT from every receiver.
    rev = {}
    for r in order:
        tid = mp.new_tid()
        r.conn.send(mp.build_request("SEND", tid, [
            ("To-Path", "%s %s %s" % (r.use, FR, senders[id(r)])), ("From-Path", r.own),
            ("Message-ID", "back-" + tid), ("Byte-Range", "1-4/4"), ("Success-Report", "no"),
            ("Content-Type", "text/plain")], b"back"))
        rtid = mp.new_tid()
        r.conn.send(mp.build_request("REPORT", rtid, [
            ("To-Path", "%s %s %s" % (r.use, FR, senders[id(r)])), ("From-Path", r.own),
            ("Message-ID", "rep-" + rtid), ("Byte-Range", "1-4/4"), ("Status", "000 200 OK")]))
        rev[tid] = (r, "SEND")
        rev[rtid] = (r, "REPORT")
    seen = {}
    end = time.monotonic() + 15
    while len(seen) < len(rev) and time.monotonic() < end:
        try:
            f = F.recv_frame(end)
        except TimeoutError:
            break
        if f is None:
            bad.append("F closed by the gateway (reverse)")
            break
        if not f.is_request():
            continue
        mid = f.header("Message-ID") or ""
        key = mid.split("-", 1)[1] if "-" in mid else ""
        if key not in rev:
            bad.append("unexpected %s on F: %s" % (f.method, mid))
            continue
        r, method = rev[key]
        seen[key] = f
        to, fr = paths(f)
        if f.method != method or to != "%s %s" % (FR, senders[id(r)]) or \
                fr != "%s %s" % (r.use, r.own):
            bad.append("reverse %s from core %s: %s To-Path %r From-Path %r" %
                       (method, r.core, f.method, to, fr))
            continue
        if method == "SEND":
            F.send(mp.build_response(f, 200, "OK", FR))
            out["reverse_sends"] += 1
        else:
            out["reverse_reports"] += 1
    for key, (r, method) in rev.items():
        if key not in seen:
            bad.append("reverse %s from core %s never reached F" % (method, r.core))
    deadline = time.monotonic() + 10
    for key, (r, method) in rev.items():
        if method != "SEND":
            continue
        while r.response(key) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        f = r.response(key)
        if f is None or f.code != 200:
            bad.append("reverse SEND from core %s: response %s" %
                       (r.core, None if f is None else f.code))
        else:
            out["reverse_200"] += 1
    print(json.dumps(out))
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
