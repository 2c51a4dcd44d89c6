#!/usr/bin/env python3
"""bystanders: innocent sessions that keep transferring files through a
gateway while a hostile test attacks it (issue 10: "one hostile peer must
never cost another user a byte or a second").

N receivers AUTH (alice by default) and publish their path; N senders, one
per receiver, send random files to them in a loop until told to stop. All
in one process, one thread per connection (blocking sockets, bounded by
deadlines). Strict, as relay_client.py's checks are (its AUTH and request
functions are imported, not copied):
  - every chunk's 200 is checked, with its exact To-Path / From-Path;
  - the receiver checks every request's exact paths (To-Path = its own URI,
    From-Path = Use-Path + the sender's URI), contiguous Byte-Ranges, and
    the SHA-256 of every file;
  - with --success-reports, every file asks for a Success REPORT, the
    receiver sends it, the sender waits for it and checks it; any REPORT
    with a non-200 Status is an error either way;
  - a file that takes longer than --max-file-seconds is an error (a second
    lost counts, not only a byte).
On stop (the --stop-file appears, SIGTERM/SIGINT, or --duration passes)
each sender finishes its current file, each receiver drains until it has
every file its sender finished, and one JSON line is printed:
  {"ok", "n", "files_sent", "files_ok", "bytes_ok", "per_session_min",
   "per_session_max", "file_seconds_max", "file_seconds_p99", "errors"}
Exit 0 when there are no errors and every session completed at least
--min-files files. --ready-file is written once every session is AUTHed
and bound (a test starts its attack after that).

  bystanders.py --relay 127.0.0.1:PORT [--n 50] [--size 32768]
      [--chunk 16384] [--user alice --password secret] [--pause 0.2]
      [--ready-file F] [--stop-file F] [--duration S] [--min-files 1]
      [--max-file-seconds 10] [--success-reports] [--corrupt K]

--corrupt K (harness self-test only): the K-th file flips one byte after
its digest was taken, which the receiver must catch.
"""

import argparse
import hashlib
import json
import os
import secrets
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration", "lib"))
import relay_client as rc  # noqa: E402
from relay_client import mp  # noqa: E402  (msrp_probe, as relay_client imports it)


class Shared:
    """What all threads see: the stop event, results, the expected files."""

    def __init__(self, a):
        self.a = a
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.errors = []
        self.n_errors = 0
        self.durations = []
        self.files_corrupted = 0

    def err(self, msg):
        with self.lock:
            self.n_errors += 1
            if len(self.errors) < 20:
                self.errors.append(msg)


class Session:
    """One receiver and its sender."""

    def __init__(self, i):
        self.i = i
        self.path = None            # Use-Path + receiver URI (the sender's To-Path)
        self.use = None             # the reservation URI
        self.rx_own = None
        self.ready = threading.Event()
        self.bound = threading.Event()
        self.expect = {}            # Message-ID -> (sha256, size, t0)
        self.sent = 0               # files whose last chunk got its 200
        self.received = 0           # files received intact
        self.failed = 0             # files received broken (already reported)
        self.bytes_ok = 0
        self.sender_done = threading.Event()
        self.cond = threading.Condition()


def recv_loop(sh, s, conn):
    """The receiver: answer every request 200, reassemble, verify."""
    a = sh.a
    parts = {}                      # Message-ID -> (bytearray, next offset)
    want_from = None
    drain_end = None
    while True:
        if s.sender_done.is_set():
            with s.cond:
                if s.received + s.failed >= s.sent:
                    return
            drain_end = drain_end or time.monotonic() + a.max_file_seconds
            if time.monotonic() > drain_end:
                sh.err("recv %d: %d of %d files never arrived" % (
                    s.i, s.sent - s.received - s.failed, s.sent))
                return
        try:
            f = conn.recv_frame(time.monotonic() + 0.2)
        except TimeoutError:
            continue
        if f is None:
            sh.err("recv %d: the relay closed the connection" % s.i)
            return
        if f.method != "SEND":
            sh.err("recv %d: unexpected %r" % (s.i, f))
            continue
        conn.send(mp.build_response(f, 200, "OK", s.rx_own))
        sender_uri = (f.header("From-Path") or "").split()[-1:]
        want_from = "%s %s" % (s.use, sender_uri[0]) if sender_uri else None
        if f.header("To-Path") != s.rx_own or f.header("From-Path") != want_from:
            sh.err("recv %d: paths To %r From %r" % (s.i, f.header("To-Path"),
                                                   f.header("From-Path")))
        if f.header("Content-Type") is None:
            continue                # the sender's empty bind SEND
        mid = f.header("Message-ID")
        with s.cond:
            exp = s.expect.get(mid)
        if exp is None:
            sh.err("recv %d: unknown Message-ID %r" % (s.i, mid))
            continue
        digest, size, t0 = exp
        buf, nxt = parts.get(mid, (bytearray(), 1))
        start, end, total = f.byte_range()
        if start != nxt or total != size or (end is not None and end != start + len(f.body) - 1):
            sh.err("recv %d: %s Byte-Range %r after %d bytes" % (
                s.i, mid, f.header("Byte-Range"), nxt - 1))
        buf += f.body
        if f.flag == "+":
            parts[mid] = (buf, nxt + len(f.body))
            continue
        parts.pop(mid, None)
        if f.flag != "$" or hashlib.sha256(buf).digest() != digest:
            sh.err("recv %d: %s flag %s, %d bytes, sha256 %s" % (
                s.i, mid, f.flag, len(buf),
                "ok" if hashlib.sha256(buf).digest() == digest else "MISMATCH"))
            with s.cond:
                s.failed += 1
                del s.expect[mid]
            continue
        if f.header("Success-Report") == "yes":
            conn.send(mp.build_success_report(f, s.rx_own, size))
        took = time.monotonic() - t0
        with sh.lock:
            sh.durations.append(took)
        if took > a.max_file_seconds:
            sh.err("recv %d: %s took %.2f s" % (s.i, mid, took))
        with s.cond:
            s.received += 1
            s.bytes_ok += size
            del s.expect[mid]
            s.cond.notify_all()


def receiver(sh, s, a):
    try:
        conn = rc.connect(a)
        s.rx_own = conn.own_uri("by%d" % s.i)
        codes, last = rc.do_auth(conn, a, s.rx_own, a.user, a.password)
        if codes[-1] != 200:
            raise mp.ProtocolError("AUTH %s" % codes)
        s.use = last.header("Use-Path")
        if not s.use or len(s.use.split()) != 1:
            raise mp.ProtocolError("Use-Path %r" % s.use)
        s.path = s.use + " " + s.rx_own
        s.ready.set()
        recv_loop(sh, s, conn)
        conn.close()
    except Exception as e:  # noqa: BLE001 - every failure is reported
        sh.err("recv %d: %s: %s" % (s.i, type(e).__name__, e))
    finally:
        s.ready.set()


def check_reports(sh, s, conn, own, mid, waiting):
    """Checks the REPORTs the sender got; True once mid's Success REPORT is
    in (waiting: block for it, bounded)."""
    got = False
    deadline = time.monotonic() + sh.a.max_file_seconds
    while True:
        for f in conn.seen:
            if f.method != "REPORT":
                sh.err("send %d: unexpected %s" % (s.i, f.method))
                continue
            # REPORTs are never answered (RFC 4975 section 7.1.2).
            errs = mp.check_success_report(f, own, [s.use, s.rx_own], True)
            if errs:
                sh.err("send %d: REPORT %s: %s" % (s.i, f.header("Message-ID"), "; ".join(errs)))
            if f.header("Message-ID") == mid and f.header("Byte-Range") == "1-%d/%d" % (
                    sh.a.size, sh.a.size):
                got = True
        conn.seen.clear()
        if got or not waiting:
            return got
        f = conn.recv_frame(deadline)
        if f is None:
            raise mp.ProtocolError("closed while waiting for a REPORT")
        if f.is_request():
            conn.seen.append(f)
        else:
            sh.err("send %d: stray response %r" % (s.i, f))


def send_file(sh, s, conn, own, base, k):
    a = sh.a
    data = os.urandom(a.size)
    mid = "f%d-%d-%s" % (s.i, k, secrets.token_hex(4))
    digest = hashlib.sha256(data).digest()
    if a.corrupt and k + 1 == a.corrupt and s.i == 0:
        data = bytes([data[0] ^ 1]) + data[1:]
        sh.files_corrupted += 1
    with s.cond:
        s.expect[mid] = (digest, a.size, time.monotonic())
    extra = [("Success-Report", "yes")] if a.success_reports else []
    deadline = time.monotonic() + a.max_file_seconds + 5
    off = 0
    while off < a.size:
        body = data[off:off + a.chunk]
        last = off + len(body) >= a.size
        hdrs = base + [("Message-ID", mid),
                       ("Byte-Range", "%d-%d/%d" % (off + 1, off + len(body), a.size))] + extra + [
                       ("Content-Type", "application/octet-stream")]
        r = rc.request(conn, "SEND", hdrs, body, "$" if last else "+", deadline)
        if r.code != 200 or r.header("To-Path") != own or r.header("From-Path") != s.use:
            raise mp.ProtocolError("%s chunk at %d: %d %s To %r From %r" % (
                mid, off, r.code, r.comment, r.header("To-Path"), r.header("From-Path")))
        off += len(body)
    check_reports(sh, s, conn, own, mid, a.success_reports)
    with s.cond:
        s.sent += 1


def sender(sh, s, a):
    try:
        s.ready.wait(a.timeout)
        if s.path is None:
            return
        conn = rc.connect(a)
        own = conn.own_uri("bs%d" % s.i)
        base = [("To-Path", s.path), ("From-Path", own)]
        # Bind with an empty SEND first, as deployed clients do.
        r = rc.request(conn, "SEND", base + [("Message-ID", "bind%d" % s.i)])
        if r.code != 200:
            raise mp.ProtocolError("bind SEND %d %s" % (r.code, r.comment))
        s.bound.set()
        k = 0
        while not sh.stop.is_set():
            send_file(sh, s, conn, own, base, k)
            k += 1
            sh.stop.wait(a.pause)
        conn.close()
    except Exception as e:  # noqa: BLE001
        sh.err("send %d: %s: %s" % (s.i, type(e).__name__, e))
    finally:
        s.bound.set()
        s.sender_done.set()


def run(a):
    sh = Shared(a)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sh.stop.set())
    sessions = [Session(i) for i in range(a.n)]
    threads = []
    for s in sessions:
        threads.append(threading.Thread(target=receiver, args=(sh, s, a), daemon=True))
        threads.append(threading.Thread(target=sender, args=(sh, s, a), daemon=True))
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for s in sessions:
        s.bound.wait(max(0.1, t0 + a.timeout - time.monotonic()))
    if a.ready_file:
        with open(a.ready_file + ".tmp", "w") as fp:
            fp.write("%d\n" % sum(1 for s in sessions if s.path))
        os.rename(a.ready_file + ".tmp", a.ready_file)
    end = t0 + a.duration
    while not sh.stop.is_set() and time.monotonic() < end:
        if a.stop_file and os.path.exists(a.stop_file):
            break
        sh.stop.wait(0.05)
    sh.stop.set()
    stop_t = time.monotonic()
    for t in threads:
        t.join(max(0.1, stop_t + 2 * a.max_file_seconds + 5 - time.monotonic()))
    if any(t.is_alive() for t in threads):
        sh.err("%d threads still running after stop" % sum(t.is_alive() for t in threads))
    per = [s.received for s in sessions]
    durs = sorted(sh.durations)
    out = {
        "n": a.n, "size": a.size,
        "files_sent": sum(s.sent for s in sessions),
        "files_ok": sum(per), "bytes_ok": sum(s.bytes_ok for s in sessions),
        "per_session_min": min(per) if per else 0, "per_session_max": max(per) if per else 0,
        "file_seconds_max": round(durs[-1], 3) if durs else None,
        "file_seconds_p99": round(durs[int(len(durs) * 0.99)], 3) if durs else None,
        "seconds": round(time.monotonic() - t0, 2),
        "n_errors": sh.n_errors, "errors": sh.errors,
    }
    if a.corrupt:
        out["files_corrupted"] = sh.files_corrupted
    short = [s.i for s in sessions if s.received < a.min_files]
    if short:
        sh.err("%d sessions completed fewer than %d files (first: %s)" % (
            len(short), a.min_files, short[:5]))
        out["n_errors"], out["errors"] = sh.n_errors, sh.errors
    out["ok"] = sh.n_errors == 0
    print(json.dumps(out), flush=True)
    return 0 if out["ok"] else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--relay", required=True, help="host:port of the gateway")
    p.add_argument("--n", type=int, default=50, help="sessions (receiver + sender each)")
    p.add_argument("--size", type=int, default=32768, help="bytes per file")
    p.add_argument("--chunk", type=int, default=16384, help="bytes per SEND chunk")
    p.add_argument("--user", default="alice")
    p.add_argument("--password", default="secret")
    p.add_argument("--pause", type=float, default=0.2,
                   help="seconds between a sender's files (bystanders must not starve the gateway)")
    p.add_argument("--ready-file", help="written once every session is AUTHed and bound")
    p.add_argument("--stop-file", help="stop once this file exists")
    p.add_argument("--duration", type=float, default=600.0, help="stop after S seconds at most")
    p.add_argument("--min-files", type=int, default=1, help="files every session must complete")
    p.add_argument("--max-file-seconds", type=float, default=10.0,
                   help="a file taking longer (first chunk sent to last received) is an error")
    p.add_argument("--success-reports", action="store_true",
                   help="ask for, send and check a Success REPORT per file")
    p.add_argument("--corrupt", type=int, default=0,
                   help="self-test: flip a byte in session 0's K-th file")
    p.add_argument("--timeout", type=float, default=30.0, help="AUTH and bind deadline")
    p.add_argument("--tls", action="store_true", help="msrps to the gateway")
    a = p.parse_args()
    return run(a)


if __name__ == "__main__":
    sys.exit(main())
