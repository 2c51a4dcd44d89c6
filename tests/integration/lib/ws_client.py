#!/usr/bin/env python3
"""ws_client: an MSRP-over-WebSocket client (RFC 6455 + RFC 7977) for the
integration tests, Python standard library only (socket, hashlib, base64,
os.urandom for the masks). MSRP framing, Digest and request building come
from tests/peers/msrp_probe.py, imported as a library.

Every MSRP frame it sends is one WebSocket message (RFC 7977), cut into
several masked frames with a ping between them now and then; every
message it receives must hold exactly one MSRP frame, which it checks.
Each command prints one JSON line and exits 0 when what it saw matches
what it was told to expect, 1 otherwise.

  handshake --ws H:P [--origin O] [--protocol P] [--version V]
      sends an Upgrade request, prints the status line and the whole
      answer (header section and body) as received, and the accept value
      a 101 must carry; --answer-file F also writes the answer's bytes.
  session --ws H:P --user U --password P --relay-uri URI --ready-file F
          [--send FILE --to-path "URIS" --chunk N] [--recv-out F --recv-sha256 H]
      AUTHs over WebSocket (To-Path: --relay-uri, the relay's ;ws URI),
      writes "Use-Path own-URI" to F, then sends FILE in chunks of N
      bytes (waiting for each 200) and/or receives one message into
      --recv-out, answering 200, until it is complete.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "peers"))
import msrp_probe as mp  # noqa: E402

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BIN, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def hostport(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def mask(data, key):
    # XOR as one big integer: fast enough for MiBs in pure Python.
    n = len(data)
    if n == 0:
        return b""
    rep = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(rep, "big")).to_bytes(n, "big")


def frame(op, payload, fin=True):
    """A masked client frame (RFC 6455 5.2)."""
    b0 = (0x80 if fin else 0) | op
    n = len(payload)
    if n < 126:
        head = bytes([b0, 0x80 | n])
    elif n < 65536:
        head = bytes([b0, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, 0x80 | 127]) + n.to_bytes(8, "big")
    key = os.urandom(4)
    return head + key + mask(payload, key)


def upgrade_request(host, port, origin=None, protocol="msrp", version="13"):
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET / HTTP/1.1", "Host: %s:%d" % (host, port), "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: " + key,
             "Sec-WebSocket-Version: " + version]
    if protocol:
        lines.append("Sec-WebSocket-Protocol: " + protocol)
    if origin:
        lines.append("Origin: " + origin)
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), key


def accept_value(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


class WsConnection:
    """MSRP over one WebSocket connection: the interface of
    msrp_probe.Connection (send one frame, recv_frame)."""

    def __init__(self, host, port, timeout, origin=None, tls=False):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.tls = tls
        if tls:
            # wss: TLS from the first byte; the test relay's certificate
            # is self-signed, so no verification here.
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock, server_hostname=host)
        self.deadline = time.monotonic() + timeout
        self.buf = b""
        req, key = upgrade_request(host, port, origin)
        self.sock.sendall(req)
        head = self._read_head()
        self.head = head
        want = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                "Sec-WebSocket-Protocol: msrp\r\n\r\n" % accept_value(key))
        if head != want:
            raise mp.ProtocolError("unexpected upgrade answer: %r" % head)
        self.reader = mp.FrameReader()
        self.pending = []
        self.msg = []            # payload pieces of the message being received
        self.messages = 0        # WebSocket messages received
        self.bad_messages = 0    # ... not holding exactly one MSRP frame
        self.pings = self.pongs = 0
        self.rng = random.Random(7977)

    def _read(self, n):
        while len(self.buf) < n:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no data before the deadline")
            self.sock.settimeout(left)
            data = self.sock.recv(262144)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _read_head(self):
        while b"\r\n\r\n" not in self.buf:
            self.sock.settimeout(max(0.01, self.deadline - time.monotonic()))
            data = self.sock.recv(4096)
            if not data:
                break
            self.buf += data
        i = self.buf.find(b"\r\n\r\n")
        if i < 0:
            return self.buf.decode(errors="replace")
        head, self.buf = self.buf[:i + 4], self.buf[i + 4:]
        return head.decode(errors="replace")

    def own_uri(self, session):
        # RFC 7977: a WebSocket client cannot be reached by address.
        scheme = "msrps" if self.tls else "msrp"
        return "%s://%s.invalid:2855/%s;ws" % (scheme, os.urandom(6).hex(), session)

    def send(self, data):
        """One MSRP frame = one message, in 1..3 frames, maybe a ping
        between them (server must answer it in the middle)."""
        cuts = sorted(self.rng.sample(range(1, len(data)), min(2, len(data) - 1))) \
            if len(data) > 2 and self.rng.random() < 0.7 else []
        pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
        out = []
        for i, p in enumerate(pieces):
            out.append(frame(OP_BIN if i == 0 else OP_CONT, p, i == len(pieces) - 1))
            if i + 1 < len(pieces) and self.rng.random() < 0.3:
                out.append(frame(OP_PING, b"msrp"))
                self.pings += 1
        self.sock.sendall(b"".join(out))

    def _next_ws_frame(self):
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if b1 & 0x80:
            raise mp.ProtocolError("server frame is masked")
        if n == 126:
            n = int.from_bytes(self._read(2), "big")
        elif n == 127:
            n = int.from_bytes(self._read(8), "big")
        return b0 & 0x80, b0 & 0x0F, self._read(n)

    def recv_frame(self, deadline=None):
        if deadline:
            self.deadline = deadline
        while not self.pending:
            try:
                fin, op, payload = self._next_ws_frame()
            except EOFError:
                return None
            if op == OP_PING:
                self.sock.sendall(frame(OP_PONG, payload))
                continue
            if op == OP_PONG:
                self.pongs += 1
                continue
            if op == OP_CLOSE:
                self.close_payload = payload
                return None
            self.msg.append(payload)
            if not fin:
                continue
            data = b"".join(self.msg)
            self.msg = []
            self.messages += 1
            self.reader.feed(data)
            got = list(self.reader.frames())
            if len(got) != 1 or self.reader.buf or self.reader.state != "start":
                self.bad_messages += 1
            self.pending.extend(got)
        return self.pending.pop(0)

    def close(self, code=1000):
        try:
            self.sock.sendall(frame(OP_CLOSE, code.to_bytes(2, "big")))
            self.sock.settimeout(2)
            self._read_until_close()
        except (OSError, EOFError, TimeoutError, mp.ProtocolError):
            pass
        self.sock.close()

    def _read_until_close(self):
        while True:
            fin, op, payload = self._next_ws_frame()
            if op == OP_PONG:
                self.pongs += 1
            if op == OP_CLOSE:
                self.close_payload = payload
                return


def request(conn, method, headers, body=None, flag="$"):
    tid = mp.new_tid()
    conn.send(mp.build_request(method, tid, headers, body, flag))
    while True:
        f = conn.recv_frame()
        if f is None:
            raise mp.ProtocolError("closed while waiting for %s" % tid)
        if f.tid == tid and not f.is_request():
            return f


def cmd_handshake(a):
    host, port = hostport(a.ws)
    s = socket.create_connection((host, port), timeout=a.timeout)
    req, key = upgrade_request(host, port, a.origin, a.protocol, a.version)
    s.sendall(req)
    data = b""
    s.settimeout(a.timeout)
    while True:
        try:
            d = s.recv(4096)
        except socket.timeout:
            break
        if not d:
            break
        data += d
        if data.startswith(b"HTTP/1.1 101") and b"\r\n\r\n" in data:
            break
    s.close()
    if a.answer_file:
        with open(a.answer_file, "wb") as f:
            f.write(data)
    text = data.decode(errors="replace")
    print(json.dumps({"status": text.split("\r\n", 1)[0], "answer": text,
                      "accept": accept_value(key)}))
    return 0


def cmd_session(a):
    host, port = hostport(a.ws)
    conn = WsConnection(host, port, a.timeout, a.origin, a.tls)
    own = conn.own_uri(os.urandom(5).hex())
    out = {"own": own}
    ok = True
    codes = []
    authz = None
    last = None
    for _ in range(2):
        hdrs = [("To-Path", a.relay_uri), ("From-Path", own)]
        if authz:
            hdrs.append(("Authorization", authz))
        last = request(conn, "AUTH", hdrs)
        codes.append(last.code)
        if last.code != 401:
            break
        authz = mp.authorization(last.header("WWW-Authenticate"), a.user, a.password,
                                 a.relay_uri, False)
    out["auth_codes"] = codes
    if codes[-1] != 200:
        print(json.dumps(out))
        return 1
    use = last.header("Use-Path")
    out["use_path"] = use
    tmp = a.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%s %s\n" % (use, own))
    os.replace(tmp, a.ready_file)

    if a.send:
        data = open(a.send, "rb").read()
        total = len(data)
        mid = os.urandom(8).hex()
        send_codes = {}
        off = 0
        to_path = "%s %s" % (use, a.to_path)
        while True:
            chunk = data[off:off + a.chunk]
            end = off + len(chunk)
            flag = "$" if end == total else "+"
            hdrs = [("To-Path", to_path), ("From-Path", own), ("Message-ID", mid),
                    ("Byte-Range", "%d-%d/%d" % (off + 1, end, total)),
                    ("Content-Type", "application/octet-stream")]
            r = request(conn, "SEND", hdrs, chunk, flag)
            send_codes[r.code] = send_codes.get(r.code, 0) + 1
            off = end
            if off >= total:
                break
        out["send_codes"] = send_codes
        ok = ok and list(send_codes) == [200]

    if a.recv_out:
        got = {}
        total = None
        chunks = 0
        while total is None or sum(len(v) for v in got.values()) < total:
            f = conn.recv_frame(time.monotonic() + a.timeout)
            if f is None:
                ok = False
                out["recv_error"] = "closed"
                break
            if not f.is_request():
                continue
            if f.method == "SEND":
                rng = f.header("Byte-Range")
                if rng and f.body:  # else a bodiless SEND binding the session
                    start = int(rng.split("-")[0])
                    total = int(rng.split("/")[1])
                    got[start] = f.body
                    chunks += 1
                conn.send(mp.build_response(f, 200, "OK", own))
        body = b"".join(got[k] for k in sorted(got))
        with open(a.recv_out, "wb") as fo:
            fo.write(body)
        out["recv_chunks"] = chunks
        out["recv_sha256"] = hashlib.sha256(body).hexdigest()
        if a.recv_sha256:
            ok = ok and out["recv_sha256"] == a.recv_sha256

    conn.close()  # pongs still on their way are read until the close's echo
    out["close"] = getattr(conn, "close_payload", b"").hex()
    out["messages"] = conn.messages
    out["bad_messages"] = conn.bad_messages
    out["pings"] = conn.pings
    out["pongs"] = conn.pongs
    ok = ok and conn.bad_messages == 0 and conn.pongs == conn.pings
    print(json.dumps(out))
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("handshake")
    h.add_argument("--ws", required=True)
    h.add_argument("--origin")
    h.add_argument("--protocol", default="msrp")
    h.add_argument("--version", default="13")
    h.add_argument("--timeout", type=float, default=5)
    h.add_argument("--answer-file", help="write the answer's bytes here")
    s = sub.add_parser("session")
    s.add_argument("--ws", required=True)
    s.add_argument("--origin")
    s.add_argument("--user", required=True)
    s.add_argument("--password", required=True)
    s.add_argument("--relay-uri", required=True)
    s.add_argument("--ready-file", required=True)
    s.add_argument("--send")
    s.add_argument("--to-path", default="")
    s.add_argument("--chunk", type=int, default=262144)
    s.add_argument("--recv-out")
    s.add_argument("--recv-sha256")
    s.add_argument("--tls", action="store_true", help="wss: TLS under the WebSocket")
    s.add_argument("--timeout", type=float, default=30)
    a = p.parse_args()
    return {"handshake": cmd_handshake, "session": cmd_session}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
