#!/usr/bin/env python3
"""attack: scripted hostile MSRP peers for the hostile-peer suite (issue 10)
and perf/'s attack mix. Python 3 stdlib only; the frame reader and Digest
come from tests/peers/msrp_probe.py and tests/integration/lib/
relay_client.py (imported, not copied). Everything is bounded: every
command takes a count and/or a time limit and prints one JSON line.

As a module (sys.path.insert(0, HOSTILE_LIB); import attack as at):
  p = at.connect(port, src="127.0.0.2")     a Peer (msrp_probe Connection)
  p.send(b"...")                            raw bytes
  at.read_responses(p, seconds)             ([{"tid","code","comment"}...],
                                             closed: bool)
  at.await_response(p, tid, deadline)       the response's code, "closed", "timeout"
  rx = at.Receiver(port, "bob", "pw")       an AUTHed receiver answering 200 on
                                            its thread: rx.path, rx.got, rx.wait_for
  at.wait_closed(p, seconds)                True when the gateway closes
  use = at.digest_auth(p, "alice", "secret")   AUTH with Digest -> Use-Path
  at.frame(method, headers, body, tid)      one request's bytes
  at.hold(...), at.slowloris(...), at.auth_flood(...), at.send_flood(...),
  at.split(...)                             the CLI commands below

CLI (python3 attack.py CMD --port P [--host 127.0.0.1] [--src IP] ...):
  raw --data-hex HEX | --data TEXT(\\r\\n escapes) | --data-file F
      [--repeat N] [--wait S]
      send the bytes on one connection, read what comes back for --wait
      seconds: {"responses": [...], "closed": bool, "sent": n}
  hold --n N --seconds S          N connections that send nothing (or
      [--auth alice:secret]       only AUTH); held for S seconds or until
                                  the gateway closes them: {"opened",
                                  "refused", "closed", "close_after": [min,
                                  median, max] seconds}
  slowloris --n N --seconds S [--interval 1.0] [--payload TEXT]
      N connections each sending one byte of a header section per
      --interval: {"opened", "closed", "bytes_sent_max", "close_after"}
  auth-flood --seconds S [--count N] [--conns C]
      pipelined AUTH requests, never reading: {"sent_bytes", "requests",
      "blocked" (the gateway stopped reading: our send buffer filled),
      "closed"}
  send-flood --seconds S [--count N] [--to-path URIS | --receiver U:P]
      [--size B] [--auth U:P]   pipelined SENDs never reading the 200s;
      --receiver: AUTH a receiver that answers everything (in a thread)
      and flood to it: {"sent_bytes", "requests", "blocked", "closed",
      "receiver_frames"}
  endless (--to-path URIS | --receiver U:P) [--mbytes 8] [--seconds 20]
      a SEND whose body never ends (no end-line): {"sent", "responses",
      "closed", "receiver": {"bytes", "pieces", "largest", "flags"}}
  auth-guess --seconds S [--conns C] [--user bob]
      password guessing that reads its answers: each 401's challenge is
      answered with a wrong Digest response; closed connections reopen:
      {"guesses", "codes": {code: n}, "reconnects", "connect_failures"}
  split --frames-file F | --sample [--mode offsets|bytes] [--expect 200,...]
      the frames (one blob) sent on fresh connections split at every
      byte offset (offsets: two writes per connection, one per offset;
      bytes: one byte per write on one connection); every connection must
      get exactly the --expect codes in order: {"tries", "bad": [...]}
Exit status 0, except: split exits 1 when any try got other responses.
"""

import argparse
import json
import os
import secrets
import select
import socket
import sys
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration", "lib"))
import relay_client as rc  # noqa: E402
from relay_client import mp  # noqa: E402


class Peer(mp.Connection):
    """A connection to the gateway with msrp_probe's frame reader; the
    sock attribute is the raw socket for byte-level abuse."""

    def __init__(self, sock, timeout):
        super().__init__(None, None, timeout, sock=sock)
        self.seen = []
        self.host, self.port = sock.getpeername()[:2]

    def relay_args(self):
        """What relay_client's functions expect as their 'a'."""
        return types.SimpleNamespace(relay="%s:%d" % (self.host, self.port), tls=False,
                                     timeout=10.0)


def raw_socket(port, host="127.0.0.1", src=None, timeout=10.0):
    """A connected TCP socket, optionally from source address src (any
    127.x.y.z works on Linux loopback without configuration)."""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    if src:
        s.bind((src, 0))
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def connect(port, host="127.0.0.1", src=None, timeout=10.0):
    return Peer(raw_socket(port, host, src, timeout), timeout)


def as_peer(p):
    return p if isinstance(p, Peer) else Peer(p, 10.0)


def relay_uri(p):
    return "msrp://%s:%d;tcp" % (p.host, p.port)


def frame(method, headers, body=None, tid=None, flag="$"):
    """The bytes of one request (headers: [(name, value)])."""
    return mp.build_request(method, tid or mp.new_tid(), headers, body, flag)


def digest_auth(p, user, password, expires=None):
    """AUTH on p (a Peer or a connected socket), answering the Digest
    challenge; returns the Use-Path. Raises mp.ProtocolError unless the
    gateway says 200."""
    p = as_peer(p)
    own = p.own_uri("x" + secrets.token_hex(5))
    p.own = own
    codes, last = rc.do_auth(p, p.relay_args(), own, user, password, expires)
    if codes[-1] != 200:
        raise mp.ProtocolError("AUTH answered %s" % codes)
    return last.header("Use-Path")


def read_responses(p, seconds):
    """Frames the gateway sends within seconds; (responses, closed). A
    reset counts as closed; requests are returned as {"method": ...}."""
    p = as_peer(p)
    out = []
    end = time.monotonic() + seconds
    try:
        while True:
            f = p.recv_frame(end)
            if f is None:
                return out, True
            if f.is_request():
                out.append({"tid": f.tid, "method": f.method})
            else:
                out.append({"tid": f.tid, "code": f.code, "comment": f.comment})
    except TimeoutError:
        return out, False
    except (ConnectionError, mp.ProtocolError) as e:
        out.append({"error": "%s: %s" % (type(e).__name__, e)})
        return out, True


def await_response(p, tid, deadline):
    """The status code of the response to tid on p (frames before it are
    read and dropped), "closed" when the gateway closes p first, "timeout"
    at deadline (a time.monotonic() value)."""
    while True:
        try:
            f = p.recv_frame(deadline)
        except TimeoutError:
            return "timeout"
        if f is None:
            return "closed"
        if not f.is_request() and f.tid == tid:
            return f.code


class Receiver:
    """An AUTHed receiver (user:password on the gateway at host:port) on
    its own thread: answers 200 to every SEND, keeps every request it gets
    in got (and passes each to on_request, if given) until close() or
    seconds have passed. path is the To-Path that reaches it. Raises
    mp.ProtocolError when the AUTH fails."""

    def __init__(self, port, user, password, host="127.0.0.1", seconds=60, on_request=None,
                 keep=True):
        self.p = connect(port, host, None, 30.0)
        self.path = digest_auth(self.p, user, password) + " " + self.p.own
        self.got = []
        self.keep = keep
        self.on_request = on_request
        self.stop = threading.Event()
        self.end = time.monotonic() + seconds
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stop.is_set():
            try:
                f = self.p.recv_frame(min(self.end, time.monotonic() + 0.2))
            except TimeoutError:
                if time.monotonic() > self.end:
                    break
                continue
            except (OSError, mp.ProtocolError):
                break
            if f is None:
                break
            if not f.is_request():
                continue
            if f.method == "SEND":
                self.p.send(mp.build_response(f, 200, "OK", self.p.own))
            if self.keep:
                self.got.append(f)
            if self.on_request:
                self.on_request(f)

    def wait_for(self, pred, seconds):
        """True once a request it got satisfies pred (within seconds)."""
        end = time.monotonic() + seconds
        while not any(pred(f) for f in list(self.got)):
            if time.monotonic() > end or not self.thread.is_alive():
                return any(pred(f) for f in list(self.got))
            time.sleep(0.02)
        return True

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.p.close()


def wait_closed(p, seconds):
    """True when the gateway closes (or resets) p within seconds; whatever
    it sends meanwhile is read and dropped."""
    sock = p.sock if isinstance(p, Peer) else p
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return False
        try:
            if not sock.recv(65536):
                return True
        except ConnectionError:
            return True


def unescape(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


# ---------------------------------------------------------------------------
# Many-socket attacks: one thread, select over the sockets.

def open_many(a, n):
    socks, refused = [], 0
    for _ in range(n):
        try:
            socks.append(raw_socket(a.port, a.host, a.src, 5.0))
        except OSError:
            refused += 1
    return socks, refused


def summary(times):
    if not times:
        return None
    t = sorted(times)
    return [round(t[0], 2), round(t[len(t) // 2], 2), round(t[-1], 2)]


def watch(socks, seconds, tick=None, interval=1.0):
    """Holds socks for seconds; calls tick(sock) every interval for each
    open one. Returns {sock: seconds until the gateway closed it}."""
    t0 = time.monotonic()
    closed = {}
    live = set(socks)
    for s in socks:
        s.setblocking(False)
    next_tick = t0
    while live and time.monotonic() < t0 + seconds:
        now = time.monotonic()
        if tick and now >= next_tick:
            for s in list(live):
                try:
                    tick(s)
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    live.discard(s)
                    closed[s] = now - t0
            next_tick += interval
        wait = min(t0 + seconds, next_tick if tick else t0 + seconds) - time.monotonic()
        # select() takes at most FD_SETSIZE: poll instead.
        poller = select.poll()
        for s in live:
            poller.register(s, select.POLLIN)
        for fd, _ in poller.poll(max(0, wait) * 1000):
            s = next(x for x in live if x.fileno() == fd)
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                live.discard(s)
                closed[s] = time.monotonic() - t0
    return closed


def hold(a):
    socks, refused = open_many(a, a.n)
    authed = 0
    if a.auth:
        user, _, pw = a.auth.partition(":")
        for s in socks:
            try:
                digest_auth(Peer(s, 10.0), user, pw)
                authed += 1
            except (OSError, mp.ProtocolError, TimeoutError):
                pass
    closed = watch(socks, a.seconds)
    for s in socks:
        s.close()
    return {"opened": len(socks), "refused": refused, "authed": authed,
            "closed": len(closed), "close_after": summary(list(closed.values()))}


SLOW_PAYLOAD = ("MSRP slowloris SEND\r\nTo-Path: msrp://127.0.0.1:9/x;tcp\r\n"
                "From-Path: msrp://127.0.0.1:9/y;tcp\r\nMessage-ID: m\r\n" + "X-Pad: " + "a" * 4000)


def slowloris(a):
    payload = unescape(a.payload) if a.payload else SLOW_PAYLOAD.encode()
    socks, refused = open_many(a, a.n)
    pos = {s: 0 for s in socks}

    def tick(s):
        if pos[s] < len(payload):
            pos[s] += s.send(payload[pos[s]:pos[s] + 1])

    closed = watch(socks, a.seconds, tick, a.interval)
    for s in socks:
        s.close()
    return {"opened": len(socks), "refused": refused, "closed": len(closed),
            "bytes_sent_max": max(pos.values()) if pos else 0,
            "close_after": summary(list(closed.values()))}


def flood(a, make, extra=None):
    """Writes make(i) on --conns connections round robin without reading,
    until --count requests, --seconds, or every connection blocks (the
    gateway stopped reading) or closes."""
    socks, refused = open_many(a, a.conns)
    for s in socks:
        s.setblocking(False)
    res = {"opened": len(socks), "refused": refused, "requests": 0, "sent_bytes": 0,
           "blocked": 0, "closed": 0}
    pend = {s: b"" for s in socks}
    blocked_since = {}
    end = time.monotonic() + a.seconds
    i = 0
    def all_made():
        return a.count and res["requests"] >= a.count

    while pend and time.monotonic() < end and not (all_made() and not any(pend.values())):
        progressed = False
        for s in list(pend):
            if not pend[s] and not all_made():
                # Up to 64 KiB of requests per write, as a fast client does.
                batch = []
                size = 0
                while size < 65536 and (a.count == 0 or res["requests"] < a.count):
                    batch.append(make(i))
                    size += len(batch[-1])
                    i += 1
                    res["requests"] += 1
                pend[s] = b"".join(batch)
            if not pend[s]:
                continue
            try:
                n = s.send(pend[s])
                pend[s] = pend[s][n:]
                res["sent_bytes"] += n
                blocked_since.pop(s, None)
                progressed = True
            except BlockingIOError:
                blocked_since.setdefault(s, time.monotonic())
            except OSError:
                del pend[s]
                res["closed"] += 1
        if not progressed:
            # Every socket's send buffer is full: the gateway does not read.
            if pend and all(time.monotonic() - blocked_since.get(s, 1e18) > a.block_seconds
                            for s in pend):
                break
            select.select([], list(pend)[:500], [], 0.05)
    res["blocked"] = sum(1 for s in pend if s in blocked_since)
    # Closed by the gateway meanwhile (reading never happened: peek EOF).
    for s in list(pend):
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                res["closed"] += 1
        except BlockingIOError:
            pass
        except OSError:
            res["closed"] += 1
    res["seconds"] = round(a.seconds - max(0, end - time.monotonic()), 2)
    if extra:
        res.update(extra())
    if a.hold_after:
        time.sleep(a.hold_after)
    for s in socks:
        s.close()
    return res


def auth_flood(a):
    uri = "msrp://%s:%d;tcp" % (a.host, a.port)

    def make(i):
        return frame("AUTH", [("To-Path", uri), ("From-Path", "msrp://127.0.0.1:9/f%d;tcp" % i)],
                     tid="af%08x" % i)
    return flood(a, make)


def start_receiver(a, **kw):
    """--receiver U:P as a Receiver (None when its AUTH fails)."""
    user, _, pw = a.receiver.partition(":")
    try:
        return Receiver(a.port, user, pw, a.host, **kw)
    except (OSError, mp.ProtocolError):
        return None


def send_flood(a):
    count = [0]
    rx = None
    to_path = a.to_path
    if a.receiver:
        def counted(f):
            count[0] += 1
        rx = start_receiver(a, seconds=a.seconds + a.hold_after + 30, on_request=counted,
                            keep=False)
        if not rx:
            return {"error": "receiver did not AUTH"}
        to_path = rx.path
    body = os.urandom(a.size)
    salt = secrets.token_hex(4)     # a body cannot contain "-------sf...<salt>"

    def make(i):
        return frame("SEND", [("To-Path", to_path), ("From-Path", "msrp://127.0.0.1:9/s;tcp"),
                              ("Message-ID", "m%d" % i),
                              ("Byte-Range", "1-%d/%d" % (len(body), len(body))),
                              ("Content-Type", "application/octet-stream")], body,
                     tid="sf%08x%s" % (i, salt))
    res = flood(a, make, lambda: {"receiver_frames": count[0]})
    if rx:
        rx.close()
    return res


# ---------------------------------------------------------------------------
# Frames split at every byte

def sample_frames(a):
    """Three pipelined requests the gateway answers locally and exactly: a
    SEND to an unknown session (481), an unsupported method (501) and a
    SEND with a body to an unknown session (481)."""
    me = "msrp://127.0.0.1:%d/nosuch;tcp msrp://127.0.0.1:9/rx;tcp" % a.port
    frm = "msrp://127.0.0.1:9/tx;tcp"
    return b"".join([
        frame("SEND", [("To-Path", me), ("From-Path", frm), ("Message-ID", "a")]),
        frame("FROB", [("To-Path", me), ("From-Path", frm)]),
        frame("SEND", [("To-Path", me), ("From-Path", frm), ("Message-ID", "b"),
                       ("Byte-Range", "1-11/11"), ("Content-Type", "text/plain")],
              b"hello\r\nworld"[:11]),
    ]), [481, 501, 481]


def split(a):
    if a.frames_file:
        with open(a.frames_file, "rb") as fp:
            blob = fp.read()
        want = [int(x) for x in a.expect.split(",")] if a.expect else None
    else:
        blob, want = sample_frames(a)
        if a.expect:
            want = [int(x) for x in a.expect.split(",")]
    bad = []
    tries = 0

    def got_codes(p):
        codes = []
        end = time.monotonic() + a.wait
        while want is None or len(codes) < len(want):
            try:
                f = p.recv_frame(end)
            except TimeoutError:
                break
            if f is None:
                break
            codes.append(f.code if not f.is_request() else f.method)
        return codes

    def one(cuts):
        nonlocal tries
        tries += 1
        p = connect(a.port, a.host, a.src, 10.0)
        prev = 0
        for c in cuts + [len(blob)]:
            p.send(blob[prev:c])
            prev = c
            if a.gap:
                time.sleep(a.gap)
        codes = got_codes(p)
        p.close()
        if want is not None and codes != want:
            bad.append({"cuts": cuts[:4], "codes": codes})

    if a.mode == "bytes":
        one(list(range(1, len(blob))))
    else:
        for k in range(1, len(blob)):
            one([k])
            if len(bad) > 10:
                break
    return {"tries": tries, "bytes": len(blob), "want": want, "bad": bad, "ok": not bad}


def endless(a):
    """One SEND head and --mbytes of body that never ends (no end-line),
    to --to-path or to a receiver this command AUTHs (--receiver U:P),
    which reads and counts what the gateway forwards. Reports what came
    back to the sender while it wrote."""
    got = {"bytes": 0, "pieces": 0, "largest": 0, "flags": ""}
    rx = None
    to_path = a.to_path
    if a.receiver:
        def piece(f):
            if f.method == "SEND" and f.header("Content-Type"):
                got["bytes"] += len(f.body)
                got["pieces"] += 1
                got["largest"] = max(got["largest"], len(f.body))
                got["flags"] = (got["flags"] + f.flag)[-8:]
        rx = start_receiver(a, seconds=a.seconds + 5, on_request=piece, keep=False)
        if not rx:
            return {"error": "receiver did not AUTH"}
        to_path = rx.path
    p = connect(a.port, a.host, a.src, 10.0)
    tid = "endless" + secrets.token_hex(4)
    head = frame("SEND", [("To-Path", to_path), ("From-Path", p.own_uri("e")),
                          ("Message-ID", "endless"), ("Byte-Range", "1-*/*"),
                          ("Content-Type", "application/octet-stream")], b"", tid=tid)
    head = head[:head.index(b"\r\n-------")]     # the head, CRLF CRLF, no end-line
    block = os.urandom(65536)
    res = {"sent": 0, "closed": False}
    deadline = time.monotonic() + a.seconds
    try:
        p.sock.settimeout(max(0.1, a.seconds))
        p.send(head)
        while res["sent"] < a.mbytes * 1048576 and time.monotonic() < deadline:
            p.sock.sendall(block)
            res["sent"] += len(block)
    except socket.timeout:
        res["send_blocked"] = True
    except OSError as e:
        res["closed"] = True
        res["send_error"] = str(e)
    responses, closed = read_responses(p, a.wait)
    res["responses"] = responses
    res["closed"] = res["closed"] or closed
    p.close()
    if rx:
        # The chunk ends ('#') at the receiver once the sender has gone.
        end = time.monotonic() + 5
        while (not got["flags"].endswith(("#", "$")) and time.monotonic() < end and
               rx.thread.is_alive()):
            time.sleep(0.02)
        res["receiver"] = dict(got)
        rx.close()
    return res


def raw(a):
    if a.data_file:
        with open(a.data_file, "rb") as fp:
            data = fp.read()
    else:
        data = bytes.fromhex(a.data_hex) if a.data_hex else unescape(a.data)
    p = connect(a.port, a.host, a.src, 10.0)
    sent = 0
    try:
        for _ in range(a.repeat):
            p.send(data)
            sent += len(data)
    except OSError as e:
        return {"sent": sent, "responses": [], "closed": True, "send_error": str(e)}
    responses, closed = read_responses(p, a.wait)
    p.close()
    return {"sent": sent, "responses": responses, "closed": closed}


# ---------------------------------------------------------------------------
# auth-guess (added for perf/'s attack mix, H6): a password guesser that
# reads its answers, unlike auth-flood. Kept apart from the commands above.

def auth_guess(a):
    """--conns threads, each guessing --user's password as fast as the
    gateway answers: every challenge (401) is answered with a wrong
    Digest response, whose answer carries the next challenge; a closed
    connection is reopened. Until --seconds: {"guesses", "codes":
    {code: n}, "reconnects", "connect_failures"}."""
    end = time.monotonic() + a.seconds
    lock = threading.Lock()
    res = {"conns": a.conns, "guesses": 0, "codes": {}, "reconnects": 0,
           "connect_failures": 0}

    def count(key, code=None):
        with lock:
            if code is None:
                res[key] += 1
            else:
                res["codes"][str(code)] = res["codes"].get(str(code), 0) + 1

    def one():
        p = None
        chal = None
        while time.monotonic() < end:
            try:
                if p is None:
                    p = connect(a.port, a.host, a.src, max(0.5, min(10.0, end - time.monotonic())))
                    p.own = p.own_uri("g" + secrets.token_hex(4))
                    chal = None
                hdrs = [("To-Path", relay_uri(p)), ("From-Path", p.own)]
                if chal:
                    hdrs.append(("Authorization", mp.authorization(
                        chal, a.user, "wrong-" + secrets.token_hex(4), relay_uri(p), False)))
                f = rc.request(p, "AUTH", hdrs, deadline=end)
                count("codes", f.code)
                if chal:
                    count("guesses")
                chal = f.header("WWW-Authenticate") if f.code == 401 else None
            except TimeoutError:
                break
            except (OSError, mp.ProtocolError):
                if p is None:
                    count("connect_failures")
                    time.sleep(0.1)
                else:
                    count("reconnects")
                    p.sock.close()
                    p = None
        if p is not None:
            p.sock.close()

    threads = [threading.Thread(target=one, daemon=True) for _ in range(a.conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(a.seconds + 15)
    return res


def main():
    ap = argparse.ArgumentParser(description="scripted hostile MSRP peers")
    sub = ap.add_subparsers(dest="cmd", required=True)
    cmds = {"raw": raw, "hold": hold, "slowloris": slowloris, "auth-flood": auth_flood,
            "send-flood": send_flood, "split": split, "endless": endless,
            "auth-guess": auth_guess}
    for name in cmds:
        s = sub.add_parser(name)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--host", default="127.0.0.1")
        s.add_argument("--src", help="source address, e.g. 127.0.0.2")
        if name == "raw":
            g = s.add_mutually_exclusive_group(required=True)
            g.add_argument("--data", help="bytes, with \\r\\n style escapes")
            g.add_argument("--data-hex")
            g.add_argument("--data-file", help="the bytes of this file")
            s.add_argument("--repeat", type=int, default=1)
            s.add_argument("--wait", type=float, default=2.0)
        if name in ("hold", "slowloris"):
            s.add_argument("--n", type=int, default=10)
            s.add_argument("--seconds", type=float, default=5.0)
        if name == "hold":
            s.add_argument("--auth", help="user:password: AUTH first, then idle")
        if name == "slowloris":
            s.add_argument("--interval", type=float, default=1.0)
            s.add_argument("--payload")
        if name in ("auth-flood", "send-flood"):
            s.add_argument("--seconds", type=float, default=5.0)
            s.add_argument("--count", type=int, default=0, help="requests, 0 = no limit")
            s.add_argument("--conns", type=int, default=1)
            s.add_argument("--block-seconds", type=float, default=1.0,
                           help="stop once every connection could not send for this long")
            s.add_argument("--hold-after", type=float, default=0.0,
                           help="keep the connections open this long after flooding")
        if name == "auth-guess":
            s.add_argument("--seconds", type=float, default=5.0)
            s.add_argument("--conns", type=int, default=1)
            s.add_argument("--user", default="bob")
        if name == "send-flood":
            g = s.add_mutually_exclusive_group(required=True)
            g.add_argument("--to-path")
            g.add_argument("--receiver", help="user:password of a receiver to AUTH and flood")
            s.add_argument("--size", type=int, default=1024)
        if name == "endless":
            g = s.add_mutually_exclusive_group(required=True)
            g.add_argument("--to-path")
            g.add_argument("--receiver", help="user:password of a receiver to AUTH")
            s.add_argument("--mbytes", type=int, default=8)
            s.add_argument("--seconds", type=float, default=20.0)
            s.add_argument("--wait", type=float, default=1.0)
        if name == "split":
            s.add_argument("--frames-file")
            s.add_argument("--expect", help="comma-separated codes, in order")
            s.add_argument("--mode", choices=("offsets", "bytes"), default="offsets")
            s.add_argument("--wait", type=float, default=5.0)
            s.add_argument("--gap", type=float, default=0.0, help="seconds between writes")
    a = ap.parse_args()
    res = cmds[a.cmd](a)
    print(json.dumps(res), flush=True)
    return 1 if res.get("ok") is False else 0


if __name__ == "__main__":
    sys.exit(main())
