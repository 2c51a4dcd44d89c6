#!/usr/bin/env python3
"""ws_fixture.py: a stand-in MSRP relay + peer over WebSocket (stdlib only).

Lets tests/web/msrp.js be tested without msrpgw: one WebSocket endpoint
(RFC 6455 handshake, subprotocol "msrp" required) that plays the relay and
the remote peer at once, checks everything the page sends and writes what
it saw as one JSON object to --result when the browser closes or --hold
seconds pass:

  1. AUTH without credentials -> 401 Digest (realm, nonce, qop="auth",
     opaque); the second AUTH must carry a correct MD5 response with
     qop=auth, nc, cnonce and the opaque, for alice:secret -> 200 with
     Use-Path msrp://127.0.0.1:PORT/fixsess;tcp (as msrpgw: the relay URI
     on the ws leg is msrp://127.0.0.1:PORT;ws, the Use-Path is for the peer).
  2. Probes of the client's strictness, right after the 200: a response to
     a transaction it never opened (must be dropped), a SEND whose
     From-Path bypasses the relay (must get 481), a SEND whose Byte-Range
     disagrees with its body (must get 400).
  3. The client's SEND chunks: To-Path = Use-Path + the peer URI
     msrp://127.0.0.1:PORT/peersess;tcp, From-Path = its ;ws URI from AUTH,
     one Message-ID, contiguous Byte-Ranges with one total, '+' then '$'.
     Each answered 200; the file is reassembled and hashed.
  4. When that file is complete: an empty binding SEND, then --send-size
     random bytes in 50000-byte chunks (Success-Report: yes) to the client,
     every chunk must be answered 200 and the REPORT must cover the whole.

Outgoing messages are sent as binary WebSocket messages split into several
frames, as msrpgw does, so the page's reassembly is exercised too.

  5. Every AUTH 200 carries Expires: --expires (default 600); a client
     must AUTH again (a fresh round: 401 with a new nonce, then 200)
     before it runs out. Probes run after the first 200 only.

  ws_fixture.py --port-file F --result R [--send-size N] [--hold S] [--expires S]
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
import msrp_probe as mp  # noqa: E402

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
USER, PASSWORD, REALM = "alice", "secret", "fixture"
CHUNK_OUT = 50000


class WsConn:
    """Server side of one RFC 6455 connection: messages in, messages out."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.frag = None     # (opcode, parts) of a fragmented message

    def _read(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(262144)
            if not d:
                raise EOFError("peer closed")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def handshake(self):
        while b"\r\n\r\n" not in self.buf:
            d = self.sock.recv(4096)
            if not d or len(self.buf) > 16384:
                raise EOFError("no handshake")
            self.buf += d
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin1").split("\r\n")
        hdr = {}
        for line in lines[1:]:
            n, _, v = line.partition(":")
            hdr[n.strip().lower()] = v.strip()
        protos = [p.strip() for p in hdr.get("sec-websocket-protocol", "").split(",")]
        if not lines[0].startswith("GET ") or "msrp" not in protos or \
                hdr.get("upgrade", "").lower() != "websocket":
            self.sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            raise EOFError("bad handshake: %r" % lines[0])
        accept = base64.b64encode(hashlib.sha1((hdr["sec-websocket-key"] + GUID).encode()).digest())
        self.sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\nSec-WebSocket-Protocol: msrp\r\n"
                          b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        return hdr.get("origin")

    def recv_message(self):
        """(opcode, payload) of the next data message; None on close."""
        while True:
            b0, b1 = self._read(2)
            fin, op, masked, n = b0 & 0x80, b0 & 0x0F, b1 & 0x80, b1 & 0x7F
            if not masked:
                raise EOFError("unmasked client frame")
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            if n > 4 << 20:
                raise EOFError("frame too large")
            key = self._read(4)
            data = bytes(c ^ key[i & 3] for i, c in enumerate(self._read(n))) if n < 4096 \
                else _unmask(self._read(n), key)
            if op == 8:
                self.send_frame(8, data[:2], True)
                return None
            if op == 9:
                self.send_frame(10, data, True)
                continue
            if op == 10:
                continue
            if op in (1, 2):
                self.frag = (op, [data])
            elif op == 0 and self.frag:
                self.frag[1].append(data)
            else:
                raise EOFError("bad opcode %d" % op)
            if fin:
                op, parts = self.frag
                self.frag = None
                return op, b"".join(parts)

    def send_frame(self, op, data, fin):
        n = len(data)
        if n < 126:
            hdr = struct.pack("!BB", (0x80 if fin else 0) | op, n)
        elif n < 65536:
            hdr = struct.pack("!BBH", (0x80 if fin else 0) | op, 126, n)
        else:
            hdr = struct.pack("!BBQ", (0x80 if fin else 0) | op, 127, n)
        self.sock.sendall(hdr + data)

    def send_message(self, data, pieces=3):
        """One binary message, in `pieces` frames (continuations)."""
        step = max(1, -(-len(data) // pieces))
        parts = [data[i:i + step] for i in range(0, len(data), step)] or [b""]
        for i, p in enumerate(parts):
            self.send_frame(2 if i == 0 else 0, p, i == len(parts) - 1)


def _unmask(data, key):
    n = len(data)
    k = int.from_bytes((key * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(data, "big") ^ k).to_bytes(n, "big")


class Fixture:
    def __init__(self, ws, port, send_size, expires=600):
        self.ws = ws
        self.relay = "msrp://127.0.0.1:%d;ws" % port
        self.use = "msrp://127.0.0.1:%d/fixsess;tcp" % port
        self.peer = "msrp://127.0.0.1:%d/peersess;tcp" % port
        self.send_size = send_size
        self.expires = expires
        self.nonce = secrets.token_hex(12)
        self.opaque = secrets.token_hex(4)
        self.client = None
        self.reader = mp.FrameReader()
        self.r = {"errors": [], "auth": [], "probes": {}, "chunks_in": 0,
                  "recv_sha256": None, "recv_bytes": 0, "sent_sha256": None,
                  "sent_acked": 0, "report": None}
        self.msg = None          # the client's message being received
        self.waiting = {}        # tid -> what we expect back
        self.out_total = None

    def err(self, text):
        self.r["errors"].append(text)
        print("fixture: " + text, file=sys.stderr)

    def send_frame(self, data):
        self.ws.send_message(data)

    def run(self, deadline):
        while time.time() < deadline:
            m = self.ws.recv_message()
            if m is None:
                return
            self.reader.feed(m[1])
            for f in self.reader.frames():
                self.on_frame(f)

    def on_frame(self, f):
        if not f.is_request():
            self.on_response(f)
        elif f.method == "AUTH":
            self.on_auth(f)
        elif f.method == "SEND":
            self.on_send(f)
        elif f.method == "REPORT":
            self.on_report(f)
        else:
            self.err("unexpected %s" % f.method)

    def on_auth(self, f):
        to, frm = f.header("To-Path"), f.header("From-Path")
        if to != self.relay:
            self.err("AUTH To-Path %r, want %r" % (to, self.relay))
        u = mp.MsrpUri(frm)
        if u.transport != "ws" or not u.host.endswith(".invalid") or not u.session:
            self.err("client URI %r is not RFC 7977 style (;ws, .invalid host)" % frm)
        self.client = frm
        authz = f.header("Authorization")
        if authz is None:
            self.r["auth"].append(401)
            self.nonce = secrets.token_hex(12)  # a fresh nonce for every challenge
            chal = 'Digest realm="%s", nonce="%s", qop="auth", opaque="%s", algorithm=MD5' % (
                REALM, self.nonce, self.opaque)
            self.send_frame(mp.build_request("401 Unauthorized", f.tid, [
                ("To-Path", frm), ("From-Path", self.relay), ("WWW-Authenticate", chal)]))
            return
        c = mp.parse_challenge(authz)
        want = mp.digest_response(USER, REALM, PASSWORD, "AUTH", self.relay, self.nonce,
                                  c.get("nc", ""), c.get("cnonce", ""), "auth")
        ok = (c.get("username") == USER and c.get("realm") == REALM and c.get("nonce") == self.nonce
              and c.get("qop") == "auth" and c.get("nc") == "00000001" and len(c.get("cnonce", "")) >= 8
              and c.get("opaque") == self.opaque and c.get("response") == want)
        if not ok:
            self.err("bad Authorization: %s" % authz)
            self.r["auth"].append(403)
            self.send_frame(mp.build_request("403 Forbidden", f.tid, [("To-Path", frm), ("From-Path", self.relay)]))
            return
        self.r["auth"].append(200)
        self.send_frame(mp.build_request("200 OK", f.tid, [
            ("To-Path", frm), ("From-Path", self.relay), ("Use-Path", self.use),
            ("Expires", str(self.expires))]))
        if self.r["auth"].count(200) == 1:
            self.probe()  # once: a refresh is not a new client

    def probe(self):
        """What a strict client must refuse, before any real traffic."""
        self.send_frame(mp.build_request("200 OK", "strayTid0001", [("To-Path", self.client), ("From-Path", self.use)]))
        tid = mp.new_tid()
        self.waiting[tid] = ("probe_bypass", 481)
        self.send_frame(mp.build_request("SEND", tid, [
            ("To-Path", self.client), ("From-Path", "msrp://evil.example:2855/x;tcp"),
            ("Message-ID", "probe1"), ("Byte-Range", "1-3/3"), ("Content-Type", "text/plain")], b"bad"))
        tid = mp.new_tid()
        self.waiting[tid] = ("probe_byte_range", 400)
        self.send_frame(mp.build_request("SEND", tid, [
            ("To-Path", self.client), ("From-Path", self.use + " " + self.peer),
            ("Message-ID", "probe2"), ("Byte-Range", "1-10/10"), ("Content-Type", "text/plain")], b"short"))

    def on_send(self, f):
        want_to = self.use + " " + self.peer
        if f.header("To-Path") != want_to or f.header("From-Path") != self.client:
            self.err("SEND paths To %r From %r" % (f.header("To-Path"), f.header("From-Path")))
        br = f.byte_range()
        mid = f.header("Message-ID")
        ok = br is not None and mid and f.header("Content-Type")
        if ok:
            start, end, total = br
            m = self.msg = self.msg or {"id": mid, "total": total, "data": bytearray(), "done": False}
            ok = (mid == m["id"] and total == m["total"] and start == len(m["data"]) + 1
                  and end == start + len(f.body) - 1 and not m["done"]
                  and f.flag == ("$" if end == total else "+"))
        if not ok:
            self.err("bad chunk %r %r %s (%d bytes, flag %s)" % (mid, f.header("Byte-Range"),
                                                                f.header("Content-Type"), len(f.body), f.flag))
            self.send_frame(mp.build_request("400 Bad Request", f.tid, [("To-Path", self.client), ("From-Path", self.use)]))
            return
        self.r["chunks_in"] += 1
        m["data"] += f.body
        self.send_frame(mp.build_request("200 OK", f.tid, [("To-Path", self.client), ("From-Path", self.use)]))
        if f.flag == "$":
            m["done"] = True
            self.r["recv_bytes"] = len(m["data"])
            self.r["recv_sha256"] = hashlib.sha256(m["data"]).hexdigest()
            self.send_back()

    def send_back(self):
        path = [("To-Path", self.client), ("From-Path", self.use + " " + self.peer)]
        tid = mp.new_tid()
        self.waiting[tid] = ("bind", 200)
        self.send_frame(mp.build_request("SEND", tid, path + [("Message-ID", "bind1"), ("Byte-Range", "1-0/0")]))
        data = os.urandom(self.send_size)
        self.r["sent_sha256"] = hashlib.sha256(data).hexdigest()
        self.out_total = len(data)
        self.out_id = secrets.token_hex(8)
        for off in range(0, len(data), CHUNK_OUT):
            body = data[off:off + CHUNK_OUT]
            end = off + len(body)
            tid = mp.new_tid()
            self.waiting[tid] = ("chunk", 200, len(body))
            self.send_frame(mp.build_request("SEND", tid, path + [
                ("Message-ID", self.out_id), ("Success-Report", "yes"),
                ("Byte-Range", "%d-%d/%d" % (off + 1, end, len(data))),
                ("Content-Type", "application/octet-stream")], body, "$" if end == len(data) else "+"))

    def on_response(self, f):
        w = self.waiting.pop(f.tid, None)
        if w is None:
            self.err("response %d to unknown tid %s" % (f.code, f.tid))
            return
        # RFC 4975 7.2: To-Path = the first URI of the request's From-Path.
        want_to = "msrp://evil.example:2855/x;tcp" if w[0] == "probe_bypass" else self.use
        if f.header("To-Path") != want_to or f.header("From-Path") != self.client:
            self.err("response paths To %r From %r" % (f.header("To-Path"), f.header("From-Path")))
        if w[0].startswith("probe"):
            self.r["probes"][w[0]] = f.code
        if f.code != w[1]:
            self.err("%s answered %d, want %d" % (w[0], f.code, w[1]))
        elif w[0] == "chunk":
            self.r["sent_acked"] += w[2]

    def on_report(self, f):
        ok = (f.header("To-Path") == self.use + " " + self.peer and f.header("From-Path") == self.client
              and f.header("Message-ID") == self.out_id and f.header("Status") == "000 200 OK"
              and f.header("Byte-Range") == "1-%d/%d" % (self.out_total, self.out_total))
        self.r["report"] = "ok" if ok else "bad"
        if not ok:
            self.err("bad REPORT %r" % f.headers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--send-size", type=int, default=1 << 20)
    ap.add_argument("--hold", type=float, default=60)
    ap.add_argument("--expires", type=int, default=600, help="Expires in the AUTH 200s")
    a = ap.parse_args()
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    port = ls.getsockname()[1]
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(a.port_file + ".tmp", a.port_file)
    deadline = time.time() + a.hold
    ls.settimeout(a.hold)
    fx = None
    try:
        sock, _ = ls.accept()
        sock.settimeout(max(1.0, deadline - time.time()))
        ws = WsConn(sock)
        origin = ws.handshake()
        fx = Fixture(ws, port, a.send_size, a.expires)
        fx.r["origin"] = origin
        fx.run(deadline)
    except (EOFError, OSError, mp.ProtocolError) as e:
        if fx is None:
            fx = Fixture(None, port, 0)
        if not isinstance(e, EOFError) or "peer closed" not in str(e):
            fx.err("connection: %s" % e)
    with open(a.result + ".tmp", "w") as f:
        json.dump(fx.r, f)
    os.rename(a.result + ".tmp", a.result)
    return 0 if not fx.r["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
