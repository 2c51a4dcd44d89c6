#!/usr/bin/env python3
"""policy_client: drives the relay's policy limits (relay_limits.c) for
tests/integration/relay_policy.sh. A receiver (bob) and a sender (alice)
AUTH to the relay; the sender sends SENDs with chosen Byte-Range,
Content-Type and Message-ID, one at a time, and the receiver answers every
SEND 200 and records what reached it. Prints one JSON line.

  script --relay H:P   the scenario of relay_policy.sh (sizes there)
  pace   --relay H:P --size N --chunk C
         sends N bytes in chunks of C, one after the other, and prints the
         seconds it took (the relay paces the sender's connection).
  raw    --relay H:P --raw FILE
         sends a 300-byte and a 100000-byte message; the receiver writes
         every byte the relay sent it to FILE; prints the receiver's port.
  peruser --relay H:P
         per-user limits (users file attributes): alice and bob each hold a
         reservation and send the same messages to each other, each held to
         its own limits; an unauthenticated sender to each reservation is
         held to the receiver's; then one more reservation for each user.
--sender/--receiver USER:PASSWORD choose the users (alice:secret, bob:pw).
"""

import argparse
import json
import os
import secrets
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "peers"))
import msrp_probe as mp  # noqa: E402
import relay_client as rcl  # noqa: E402


class Tap:
    """A socket whose received bytes are also kept (the relay's bytes as
    they came)."""

    def __init__(self, sock):
        self.sock = sock
        self.raw = bytearray()

    def recv(self, n):
        data = self.sock.recv(n)
        self.raw += data
        return data

    def __getattr__(self, name):
        return getattr(self.sock, name)


class Receiver(threading.Thread):
    """AUTHs as bob (or user), answers SENDs 200 and records them."""

    def __init__(self, a, user="bob", password="pw"):
        super().__init__(daemon=True)
        self.conn = rcl.connect(a)
        self.conn.sock = Tap(self.conn.sock)
        self.own = self.conn.own_uri("r" + secrets.token_hex(6))
        codes, last = rcl.do_auth(self.conn, a, self.own, user, password)
        if codes[-1] != 200:
            raise SystemExit("receiver AUTH: %s" % codes)
        self.path = last.header("Use-Path") + " " + self.own
        self.got = []
        self.lock = threading.Lock()

    def run(self):
        try:
            while True:
                f = self.conn.recv_frame(time.monotonic() + 60)
                if f is None:
                    return
                if not f.is_request():
                    continue
                # Recorded before the answer: once the sender has its
                # 200, the frame is in self.got.
                with self.lock:
                    self.got.append({"mid": f.header("Message-ID"), "len": len(f.body),
                                     "br": f.header("Byte-Range"), "flag": f.flag,
                                     "ct": f.header("Content-Type")})
                if f.method == "SEND":
                    self.conn.send(mp.build_response(f, 200, "OK", self.own))
        except (TimeoutError, OSError, mp.ProtocolError):
            return

    def frames(self, mid):
        with self.lock:
            return [g for g in self.got if g["mid"] == mid]


class Sender:
    """AUTHs as alice (or user) and sends through its reservation; with
    user None it does not AUTH (an unauthenticated sender: to_path must
    then start with the receiver's reservation)."""

    def __init__(self, a, to_path, user="alice", password="secret"):
        self.conn = rcl.connect(a)
        self.own = self.conn.own_uri("s" + secrets.token_hex(6))
        if user is None:
            self.to_path = to_path
            return
        codes, last = rcl.do_auth(self.conn, a, self.own, user, password)
        if codes[-1] != 200:
            raise SystemExit("sender AUTH: %s" % codes)
        self.to_path = last.header("Use-Path") + " " + to_path
        r = rcl.request(self.conn, "SEND", self.base(secrets.token_hex(6)))
        if r.code != 200:
            raise SystemExit("binding SEND: %d" % r.code)

    def base(self, mid):
        return [("To-Path", self.to_path), ("From-Path", self.own), ("Message-ID", mid)]

    def send(self, mid, body, ctype, br=None, flag="$"):
        """One chunk; br: "1-100/300" or None (no Byte-Range). Returns
        "code comment"."""
        hdrs = self.base(mid)
        if br is not None:
            hdrs.append(("Byte-Range", br))
        hdrs.append(("Content-Type", ctype))
        r = rcl.request(self.conn, "SEND", hdrs, body, flag,
                        time.monotonic() + 30)
        return "%d %s" % (r.code, r.comment.strip())


def cmd_script(a):
    rx = Receiver(a)
    rx.start()
    tx = Sender(a, rx.path)
    out = {}
    mids = {k: secrets.token_hex(8) for k in
            ("text", "image", "pdf", "total", "star", "nobr", "after")}
    body = lambda n: bytes((i * 7) & 0xFF for i in range(n))  # noqa: E731
    out["text"] = tx.send(mids["text"], body(1000), "text/plain; charset=utf-8", "1-1000/1000")
    out["image"] = tx.send(mids["image"], body(2000), "Image/PNG", "1-2000/2000")
    # 415 on the first chunk, 413 on the next one of the same message.
    out["pdf1"] = tx.send(mids["pdf"], body(100), "application/pdf", "1-100/300", "+")
    out["pdf2"] = tx.send(mids["pdf"], body(100), "application/pdf", "101-200/300", "+")
    # Byte-Range total over max_message_size (100000): 413 at the head.
    out["total"] = tx.send(mids["total"], body(1000), "text/plain", "1-1000/200000", "+")
    # Total unknown: the first chunk passes, the second (its end unknown)
    # crosses 100000 bytes while streaming, the third is refused at once.
    out["star1"] = tx.send(mids["star"], body(60000), "text/plain", "1-60000/*", "+")
    out["star2"] = tx.send(mids["star"], body(60000), "text/plain", "60001-*/*", "+")
    out["star3"] = tx.send(mids["star"], body(10), "text/plain", "120001-120010/*", "$")
    # No Byte-Range at all: the whole message in one chunk of 150000.
    out["nobr"] = tx.send(mids["nobr"], body(150000), "text/plain")
    # A message within every limit after all that: delivered whole.
    out["after"] = tx.send(mids["after"], body(50000), "image/jpeg", "1-50000/50000")
    time.sleep(0.3)
    out["rx"] = {k: rx.frames(v) for k, v in mids.items()}
    print(json.dumps(out))
    return 0


def cmd_peruser(a):
    rx_bob = Receiver(a, "bob", "pw")
    rx_bob.start()
    rx_alice = Receiver(a, "alice", "secret")
    rx_alice.start()
    alice = Sender(a, rx_bob.path, "alice", "secret")
    bob = Sender(a, rx_alice.path, "bob", "pw")
    anon_to_alice = Sender(a, rx_alice.path, None)
    anon_to_bob = Sender(a, rx_bob.path, None)
    body = bytes(20000)
    out = {}
    mid = secrets.token_hex(8)
    # The same 20000-byte text/plain message: over alice's 10000, within
    # bob's (the global 50000).
    out["alice_big"] = alice.send(mid, body, "text/plain", "1-20000/20000")
    out["bob_big"] = bob.send(mid, body, "text/plain", "1-20000/20000")
    # image/png: bob's own list is text/plain only; alice has the global (all).
    out["bob_png"] = bob.send(secrets.token_hex(8), body[:1000], "image/png", "1-1000/1000")
    out["alice_png"] = alice.send(secrets.token_hex(8), body[:1000], "image/png", "1-1000/1000")
    # Unauthenticated senders: the receiving reservation's user's limits.
    out["anon_big_to_alice"] = anon_to_alice.send(secrets.token_hex(8), body, "text/plain",
                                                  "1-20000/20000")
    out["anon_big_to_bob"] = anon_to_bob.send(secrets.token_hex(8), body, "text/plain",
                                              "1-20000/20000")
    out["anon_png_to_bob"] = anon_to_bob.send(secrets.token_hex(8), body[:1000], "image/png",
                                              "1-1000/1000")
    out["anon_png_to_alice"] = anon_to_alice.send(secrets.token_hex(8), body[:1000],
                                                  "image/png", "1-1000/1000")
    # alice holds 2 reservations (her max_reservations); bob holds 2 too.
    for who, pw in (("alice", "secret"), ("bob", "pw")):
        conn = rcl.connect(a)
        codes, _ = rcl.do_auth(conn, a, conn.own_uri("x" + secrets.token_hex(6)), who, pw)
        out["third_" + who] = codes
    time.sleep(0.3)
    out["rx_bob"] = len(rx_bob.got)
    out["rx_alice"] = len(rx_alice.got)
    print(json.dumps(out))
    return 0


def cmd_pace(a):
    rx = Receiver(a, *a.receiver.split(":", 1))
    rx.start()
    tx = Sender(a, rx.path, *a.sender.split(":", 1))
    mid = secrets.token_hex(8)
    data = bytes(a.size)
    t0 = time.monotonic()
    codes = []
    off = 0
    while off < a.size:
        n = min(a.chunk, a.size - off)
        last = off + n >= a.size
        codes.append(tx.send(mid, data[off:off + n], "application/octet-stream",
                             "%d-%d/%d" % (off + 1, off + n, a.size), "$" if last else "+"))
        off += n
    secs = time.monotonic() - t0
    got = sum(f["len"] for f in rx.frames(mid))
    print(json.dumps({"secs": round(secs, 3), "codes": sorted(set(codes)), "received": got}))
    return 0


def cmd_raw(a):
    rx = Receiver(a)
    rx.start()
    tx = Sender(a, rx.path)
    codes = [tx.send(secrets.token_hex(8), b"x" * 300, "text/plain", "1-300/300"),
             tx.send(secrets.token_hex(8), bytes(100000), "image/png", "1-100000/100000")]
    time.sleep(0.3)
    with open(a.raw, "wb") as fp:
        fp.write(bytes(rx.conn.sock.raw))
    print(json.dumps({"codes": codes, "rx_port": rx.conn.local[1],
                      "frames": len(rx.got)}))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("script", "pace", "raw", "peruser"):
        s = sub.add_parser(name)
        s.add_argument("--relay", required=True)
        s.add_argument("--timeout", type=float, default=30.0)
        s.add_argument("--sender", default="alice:secret")
        s.add_argument("--receiver", default="bob:pw")
        if name == "pace":
            s.add_argument("--size", type=int, default=1 << 20)
            s.add_argument("--chunk", type=int, default=65536)
        if name == "raw":
            s.add_argument("--raw", required=True)
    a = p.parse_args()
    return {"script": cmd_script, "pace": cmd_pace, "raw": cmd_raw,
            "peruser": cmd_peruser}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
