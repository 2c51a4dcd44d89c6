#!/usr/bin/env python3
"""relay_client: scenario driver for the relay integration tests.

Built on tests/peers/msrp_probe.py (imported as a library: its frame
reader, Digest and request builders), for the roles that probe's CLI does
not play: a sender that AUTHs first (to make a relay open a connection), a
receiver that never answers, single requests whose exact answer matters,
and many sessions at once. Every command prints one JSON line and exits 0
when what it saw matches what it was told to expect, 1 otherwise.

  auth   --relay H:P [--user U --password P] [--wrong] [--expires N]
         AUTH (answering challenges with the credentials, at most twice);
         prints the codes and the headers of the last answer.
  frame  --relay H:P --to-path "URIS" [--auth-user U --password P]
         one SEND with a small body, prints the response code.
  silent --relay H:P --user U --password P --ready-file F --hold S
         AUTH as a receiver, publish the path, read and never answer.
  send   --relay H:P --to-path "URIS" FILE [--user U --password P]
         [--chunk N] [--linger S] [--from-uri URI]: (AUTH, then) send FILE in chunks,
         one at a time; prints codes and REPORTs received.
  many   --relay H:P --user U --password P --n N --size BYTES
         N receivers AUTH, N senders each send a random file to one of
         them (all in parallel); checks every sha256.
  vias   --relay H:P --user U --password P --n N --cap C
         One unauthenticated connection acting for N senders (N distinct
         From-Paths, as a previous relay's shared connection does) sends
         one SEND each to a receiver that AUTHed on a second connection.
         Checks the exact paths (receiver: From-Path = Use-Path + sender;
         sender's 200: From-Path = Use-Path), then sends reverse SENDs
         from the receiver (To-Path = Use-Path + sender): to the newest,
         the oldest still remembered (200, delivered over the shared
         connection with From-Path = Use-Path + receiver) and the first,
         which the relay forgot once it remembered C newer ones (481:
         dialled instead, nobody listens).
  both   --relay H:P --user U --password P --gw-log LOG
         Both directions at once on one connection: the relay's answer
         to R's chunk waits for the end-line of the chunk streaming into
         R's connection (see cmd_both).
"""

import argparse
import hashlib
import json
import os
import secrets
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "peers"))
import msrp_probe as mp  # noqa: E402


def hostport(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def relay_uri(a):
    host, port = hostport(a.relay)
    return "%s://%s:%d;tcp" % ("msrps" if getattr(a, "tls", False) else "msrp", host, port)


def request(conn, method, headers, body=None, flag="$", deadline=None):
    """Sends one request and returns its response frame (requests that
    arrive meanwhile are answered 200 and kept in conn.seen)."""
    tid = mp.new_tid()
    conn.send(mp.build_request(method, tid, headers, body, flag))
    while True:
        f = conn.recv_frame(deadline)
        if f is None:
            raise mp.ProtocolError("closed while waiting for %s" % tid)
        if f.is_request():
            conn.seen.append(f)
            continue
        if f.tid == tid:
            return f


def do_auth(conn, a, own, user, password, expires=None, delay=0.0, replay=False):
    """AUTH with up to two rounds; returns (codes, last response). delay:
    wait before answering the challenge (stale nonces); replay: after a
    200, send the very same Authorization again (nonce-count replay)."""
    codes = []
    authz = None
    last = None
    for _ in range(2):
        hdrs = [("To-Path", relay_uri(a)), ("From-Path", own)]
        if authz:
            hdrs.append(("Authorization", authz))
        if expires is not None:
            hdrs.append(("Expires", str(expires)))
        last = request(conn, "AUTH", hdrs)
        codes.append(last.code)
        if last.code != 401 or user is None:
            break
        authz = mp.authorization(last.header("WWW-Authenticate"), user, password,
                                 relay_uri(a), False)
        time.sleep(delay)
    if replay and codes and codes[-1] == 200 and authz:
        last = request(conn, "AUTH", [("To-Path", relay_uri(a)), ("From-Path", own),
                                      ("Authorization", authz)])
        codes.append(last.code)
    return codes, last


def connect(a):
    host, port = hostport(a.relay)
    conn = mp.Connection(host, port, a.timeout)
    if getattr(a, "tls", False):
        # msrps: TLS from the first byte; the test relay's certificate is
        # self-signed, so no verification here.
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn.sock = ctx.wrap_socket(conn.sock, server_hostname=host)
    conn.seen = []
    return conn


def cmd_auth(a):
    conn = connect(a)
    own = conn.own_uri("a" + secrets.token_hex(6))
    codes, last = do_auth(conn, a, own, a.user, a.password, a.expires, a.delay, a.replay)
    out = {"codes": codes, "headers": dict(last.headers) if last else {}}
    print(json.dumps(out))
    want = [int(x) for x in a.expect.split(",")] if a.expect else None
    return 0 if want is None or codes == want else 1


def cmd_frame(a):
    conn = connect(a)
    own = conn.own_uri("f" + secrets.token_hex(6))
    if a.user:
        codes, _ = do_auth(conn, a, own, a.user, a.password)
        if codes[-1] != 200:
            print(json.dumps({"auth": codes}))
            return 1
    hdrs = [("To-Path", a.to_path), ("From-Path", own), ("Message-ID", secrets.token_hex(6)),
            ("Byte-Range", "1-5/5"), ("Content-Type", "text/plain")]
    method = a.method
    r = request(conn, method, hdrs, b"hello")
    print(json.dumps({"code": r.code, "comment": r.comment, "to": r.header("To-Path"),
                      "from": r.header("From-Path")}))
    return 0 if a.expect is None or r.code == a.expect else 1


def cmd_vias(a):
    rx = connect(a)
    rx_uri = rx.own_uri("r" + secrets.token_hex(6))
    codes, last = do_auth(rx, a, rx_uri, a.user, a.password)
    if codes[-1] != 200:
        print(json.dumps({"auth": codes}))
        return 1
    use = last.header("Use-Path").split()[0]
    tx = connect(a)
    senders = ["msrp://127.0.0.1:9/s%05d;tcp" % i for i in range(a.n)]
    errors = []
    for i, s in enumerate(senders):
        tid = mp.new_tid()
        tx.send(mp.build_request("SEND", tid, [
            ("To-Path", "%s %s" % (use, rx_uri)), ("From-Path", s),
            ("Message-ID", "m%d" % i), ("Byte-Range", "1-2/2"),
            ("Content-Type", "text/plain")], b"hi"))
        f = rx.recv_frame()
        if f is None or not f.is_request():
            errors.append("sender %d: receiver got %r" % (i, f))
            break
        # RFC 4976: the relay moved the URI it consumed (our reservation)
        # to From-Path, byte for byte; it invents nothing.
        want = "%s %s" % (use, s)
        if f.header("From-Path") != want or f.header("To-Path") != rx_uri:
            errors.append("sender %d: paths To %r From %r, want From %r" % (
                i, f.header("To-Path"), f.header("From-Path"), want))
        rx.send(mp.build_response(f, 200, "OK", rx_uri))
        r = tx.recv_frame()
        if r is None or r.tid != tid or r.code != 200:
            errors.append("sender %d: answer %r" % (i, r))
            break
        if r.header("To-Path") != s or r.header("From-Path") != use:
            errors.append("sender %d: 200 paths To %r From %r" % (
                i, r.header("To-Path"), r.header("From-Path")))
        if len(errors) > 5:
            break

    def reverse(k):
        """The receiver SENDs back to sender k; (code, what tx got)."""
        tid = mp.new_tid()
        # The mirror of the From-Path we saw: our reservation, sender k.
        rx.send(mp.build_request("SEND", tid, [
            ("To-Path", "%s %s" % (use, senders[k])), ("From-Path", rx_uri),
            ("Message-ID", "back%d" % k), ("Byte-Range", "1-4/4"),
            ("Content-Type", "text/plain")], b"back"))
        delivered = None

        def answer(deadline):
            while True:
                f = rx.recv_frame(deadline)
                if f is None or f.tid == tid:
                    return f
        # A refusal comes back soon; a delivery reaches tx first, and the
        # relay answers rx only once tx has answered.
        try:
            f = answer(time.monotonic() + 0.5)
        except TimeoutError:
            g = tx.recv_frame(time.monotonic() + 5)
            if g is not None:
                delivered = {"to": g.header("To-Path"), "from": g.header("From-Path")}
                tx.send(mp.build_response(g, 200, "OK", senders[k]))
            f = answer(time.monotonic() + 5)
        if f is None:
            return None, delivered
        return f.code, delivered

    def reached(k):
        return {"code": 200, "delivered": {"to": senders[k], "from": "%s %s" % (use, rx_uri)}}

    out = {"n": a.n, "cap": a.cap, "errors": errors}
    # Only the newest cap senders are remembered (least recently used
    # forgotten). A forgotten one is dialled instead (the receiver AUTHed,
    # so it may make the relay connect), and nobody listens on port 9: 481.
    checks = {"newest": a.n - 1, "first": 0}
    if a.n > a.cap:
        checks["oldest_kept"] = a.n - a.cap
    for name, k in checks.items():
        code, got = reverse(k)
        out[name] = {"code": code, "delivered": got}
    ok = not errors and out["newest"] == reached(a.n - 1)
    if a.n > a.cap:
        ok = ok and out["oldest_kept"] == reached(a.n - a.cap)
        ok = ok and out["first"]["code"] == 481 and out["first"]["delivered"] is None
    else:
        ok = ok and out["first"] == reached(0)
    out["ok"] = ok
    print(json.dumps(out))
    return 0 if ok else 1


def cmd_silent(a):
    conn = connect(a)
    own = conn.own_uri("q" + secrets.token_hex(6))
    codes, last = do_auth(conn, a, own, a.user, a.password)
    if codes[-1] != 200:
        print(json.dumps({"auth": codes}))
        return 1
    path = last.header("Use-Path") + " " + own
    with open(a.ready_file + ".tmp", "w") as fp:
        fp.write(path + "\n")
    os.rename(a.ready_file + ".tmp", a.ready_file)
    got = 0
    end = time.monotonic() + a.hold
    try:
        while True:
            f = conn.recv_frame(end)
            if f is None:
                break
            got += 1
    except TimeoutError:
        pass
    print(json.dumps({"frames_ignored": got}))
    return 0


def cmd_slow(a):
    """A receiver that reads slowly (--pause seconds per 64 KiB read): the
    relay must stall the sender instead of buffering. Writes the message
    to --out, answers every SEND 200."""
    conn = connect(a)
    own = conn.own_uri("sl")
    codes, last = do_auth(conn, a, own, a.user, a.password)
    with open(a.ready_file + ".tmp", "w") as fp:
        fp.write(last.header("Use-Path") + " " + own + "\n")
    os.rename(a.ready_file + ".tmp", a.ready_file)
    fd = os.open(a.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    got = 0
    class SlowSock:
        def __init__(self, sock):
            self.sock = sock

        def recv(self, n):
            time.sleep(a.pause)
            return self.sock.recv(min(n, 16384))

        def __getattr__(self, name):
            return getattr(self.sock, name)

    conn.sock = SlowSock(conn.sock)
    while True:
        f = conn.recv_frame()
        if f is None:
            break
        if not f.is_request():
            continue
        conn.send(mp.build_response(f, 200, "OK", own))
        if f.header("Content-Type") is None:
            continue
        os.pwrite(fd, f.body, f.byte_range()[0] - 1)
        got += len(f.body)
        if f.flag == "$":
            break
    os.close(fd)
    print(json.dumps({"bytes": got}))
    return 0


def cmd_send(a):
    conn = connect(a)
    own = a.from_uri or conn.own_uri("s" + secrets.token_hex(6))
    report = {"auth": None, "codes": [], "reports": [], "ok": False}
    if a.user:
        codes, _ = do_auth(conn, a, own, a.user, a.password)
        report["auth"] = codes
        if codes[-1] != 200:
            print(json.dumps(report))
            return 1
    with open(a.file, "rb") as fp:
        data = fp.read()
    base = [("To-Path", a.to_path), ("From-Path", own)]
    mid = secrets.token_hex(8)
    deadline = time.monotonic() + a.timeout
    try:
        # Bind with an empty SEND first, as deployed clients do (PEERS.md).
        r = request(conn, "SEND", base + [("Message-ID", secrets.token_hex(6))],
                    deadline=deadline)
        report["codes"].append(r.code)
        off = 0
        total = len(data)
        while r.code == 200:
            body = data[off:off + a.chunk]
            last = off + len(body) >= total
            hdrs = base + [("Message-ID", mid),
                           ("Byte-Range", "%d-%d/%d" % (off + 1, off + len(body), total)),
                           ("Content-Type", "application/octet-stream")]
            r = request(conn, "SEND", hdrs, body, "$" if last else "+", deadline)
            report["codes"].append(r.code)
            off += len(body)
            if last:
                break
        end = time.monotonic() + a.linger
        try:
            while time.monotonic() < end:
                f = conn.recv_frame(end)
                if f is None:
                    break
                conn.seen.append(f)
        except TimeoutError:
            pass
    except (mp.ProtocolError, TimeoutError, OSError) as e:
        report["error"] = "%s: %s" % (type(e).__name__, e)
    for f in conn.seen:
        if f.method == "REPORT":
            report["reports"].append({"status": f.header("Status"),
                                      "byte_range": f.header("Byte-Range"),
                                      "message_id": f.header("Message-ID"),
                                      "to": f.header("To-Path")})
    want = [int(x) for x in a.expect.split(",")] if a.expect else None
    report["ok"] = want is None or report["codes"] == want
    report["message_id"] = mid
    print(json.dumps(report))
    return 0 if report["ok"] else 1


def cmd_many(a):
    results = {"recv_ok": 0, "send_ok": 0, "errors": []}
    lock = threading.Lock()
    paths = [None] * a.n
    ready = [threading.Event() for _ in range(a.n)]
    datas = [os.urandom(a.size) for _ in range(a.n)]

    def err(msg):
        with lock:
            if len(results["errors"]) < 20:
                results["errors"].append(msg)

    def receiver(i):
        try:
            conn = connect(a)
            own = conn.own_uri("m%d" % i)
            codes, last = do_auth(conn, a, own, a.user, a.password)
            if codes[-1] != 200:
                raise mp.ProtocolError("auth %s" % codes)
            paths[i] = last.header("Use-Path") + " " + own
            ready[i].set()
            body = bytearray(a.size)
            got = 0
            while True:
                f = conn.recv_frame()
                if f is None:
                    raise mp.ProtocolError("closed")
                if not f.is_request():
                    continue
                conn.send(mp.build_response(f, 200, "OK", own))
                if f.method != "SEND" or f.header("Content-Type") is None:
                    continue
                start, _, _ = f.byte_range()
                body[start - 1:start - 1 + len(f.body)] = f.body
                got += len(f.body)
                if f.flag == "$":
                    break
            if hashlib.sha256(bytes(body)).digest() != hashlib.sha256(datas[i]).digest():
                raise mp.ProtocolError("sha256 mismatch (%d bytes)" % got)
            with lock:
                results["recv_ok"] += 1
            conn.close()
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            ready[i].set()
            err("recv %d: %s: %s" % (i, type(e).__name__, e))

    def sender(i):
        try:
            ready[i].wait(a.timeout)
            if paths[i] is None:
                return
            conn = connect(a)
            own = conn.own_uri("n%d" % i)
            base = [("To-Path", paths[i]), ("From-Path", own)]
            r = request(conn, "SEND", base + [("Message-ID", "b%d" % i)])
            if r.code != 200:
                raise mp.ProtocolError("bind %d" % r.code)
            r = request(conn, "SEND", base + [
                ("Message-ID", "m%d" % i),
                ("Byte-Range", "1-%d/%d" % (a.size, a.size)),
                ("Content-Type", "application/octet-stream")], datas[i])
            if r.code != 200:
                raise mp.ProtocolError("send %d" % r.code)
            with lock:
                results["send_ok"] += 1
            conn.close()
        except Exception as e:  # noqa: BLE001
            err("send %d: %s: %s" % (i, type(e).__name__, e))

    threads = [threading.Thread(target=receiver, args=(i,)) for i in range(a.n)]
    threads += [threading.Thread(target=sender, args=(i,)) for i in range(a.n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(a.timeout + 5)
    results["seconds"] = round(time.monotonic() - t0, 3)
    results["n"] = a.n
    ok = results["recv_ok"] == a.n and results["send_ok"] == a.n
    results["ok"] = ok
    print(json.dumps(results))
    return 0 if ok else 1


def cmd_fifo(a):
    """Two senders, one receiver: the receiver's connection is the shared
    next hop. S1 sends part of chunk A and pauses; S2 sends a whole chunk
    B meanwhile; S1 finishes. Without --split the receiver must get A
    whole, then B (B waited for the slot). With --split (the relay runs
    max_chunk_out = 16 KiB and A is 100 kB, 20 kB sent before the pause)
    B must arrive between A's pieces, at the first piece boundary after
    it came: the relay yielded the slot."""
    out = {"order": [], "errors": []}
    size_a = 100000 if a.split else 2000
    first = 20000 if a.split else 1000
    r = connect(a)
    own = r.own_uri("ff")
    codes, last = do_auth(r, a, own, a.user, a.password)
    path = last.header("Use-Path") + " " + own
    bodies = {"A": bytearray(size_a), "B": bytearray(500)}
    done = {"A": False, "B": False}

    def receiver():
        try:
            while not (done["A"] and done["B"]):
                f = r.recv_frame()
                if f is None:
                    return
                if not f.is_request():
                    continue
                r.send(mp.build_response(f, 200, "OK", own))
                mid = f.header("Message-ID")
                out["order"].append(mid)
                if mid in bodies:
                    start = f.byte_range()[0] if f.header("Byte-Range") else 1
                    bodies[mid][start - 1:start - 1 + len(f.body)] = f.body
                    if f.flag == "$":
                        done[mid] = True
        except Exception as e:  # noqa: BLE001
            out["errors"].append("recv: %s" % e)

    # Readiness, not sleeps: the receiver counts the heads of A it has
    # seen (each piece of a split A has one), and the relay's debug log
    # says when B is queued for the slot.
    heads = {"n": 0, "tail": b""}
    seen = threading.Condition()
    needle = b"Message-ID: A\r\n"
    plain_feed = r.reader.feed

    def feed(data):
        window = heads["tail"] + bytes(data)
        with seen:
            heads["n"] += window.count(needle)
            heads["tail"] = window[-(len(needle) - 1):]
            seen.notify_all()
        plain_feed(data)

    r.reader.feed = feed

    def wait_heads(n):
        with seen:
            return seen.wait_for(lambda: heads["n"] >= n, timeout=a.timeout)

    t = threading.Thread(target=receiver)
    t.start()
    s1, s2 = connect(a), connect(a)
    o1, o2 = s1.own_uri("s1"), s2.own_uri("s2")
    for c, o, mid in ((s1, o1, "bind1"), (s2, o2, "bind2")):
        resp = request(c, "SEND", [("To-Path", path), ("From-Path", o), ("Message-ID", mid)])
        out[mid] = resp.code
    body_a = os.urandom(size_a)
    tid = mp.new_tid()
    frame = mp.build_request("SEND", tid, [("To-Path", path), ("From-Path", o1),
                                           ("Message-ID", "A"),
                                           ("Byte-Range", "1-%d/%d" % (size_a, size_a)),
                                           ("Content-Type", "application/octet-stream")], body_a)
    cut = len(frame) - len("\r\n-------%s$\r\n" % tid) - (size_a - first)
    s1.send(frame[:cut])
    # A owns the receiver's slot once its head is through (split: piece 2
    # has begun, so B must wait for that piece's end).
    out["a_started"] = wait_heads(2 if a.split else 1)
    body_b = os.urandom(500)
    tid_b = mp.new_tid()
    s2.send(mp.build_request("SEND", tid_b, [("To-Path", path), ("From-Path", o2),
                                             ("Message-ID", "B"), ("Byte-Range", "1-500/500"),
                                             ("Content-Type", "application/octet-stream")], body_b))
    out["b_queued"] = wait_log_line(a, "chunk %s waits for the slot" % tid_b)
    out["seen_before_a_done"] = list(out["order"])
    s1.send(frame[cut:])
    for c, want, key in ((s1, tid, "code_a"), (s2, tid_b, "code_b")):
        while True:
            f = c.recv_frame()
            if f is None:
                break
            if not f.is_request() and f.tid == want:
                out[key] = f.code
                break
    t.join(a.timeout)
    out["a_ok"] = bytes(bodies["A"]) == body_a and done["A"]
    out["b_ok"] = bytes(bodies["B"]) == body_b and done["B"]
    if a.split:
        # 100000 bytes in 16384-byte pieces: 7 pieces. 20000 bytes were
        # there before B: piece 1 went out whole, piece 2 was in progress,
        # so B goes right after piece 2.
        want_order = ["bind1", "bind2", "A", "A", "B"] + ["A"] * 5
        want_before = ["bind1", "bind2", "A"]
    else:
        want_order = ["bind1", "bind2", "A", "B"]
        want_before = ["bind1", "bind2"]
    ok = (out["a_started"] and out["b_queued"]
          and out["order"] == want_order and out["a_ok"] and out["b_ok"]
          and out.get("code_a") == 200 and out.get("code_b") == 200
          and out["seen_before_a_done"] == want_before)
    out["ok"] = ok
    print(json.dumps(out))
    return 0 if ok else 1


def cmd_both(a):
    """Both directions at once on one connection. R (AUTHed) receives a
    chunk A from an unauthenticated sender S while R's own chunk O to T
    (AUTHed too) is answered: S sends A's head and part of its body and
    pauses; R sends O, T answers it 200 at once, and the relay's 200 for
    O must wait for A's end-line (the relay logs that it waits): written
    at once it would land inside A's body. Then S finishes A. R must get
    A whole (sha256) and then its 200 for O; T gets O intact; S gets 200."""
    out = {"errors": []}
    size_a, first = 50000, 20000  # one piece at the default max_chunk_out
    r, t, snd = connect(a), connect(a), connect(a)
    own_r, own_t, own_s = r.own_uri("rr"), t.own_uri("tt"), snd.own_uri("ss")
    use_r = do_auth(r, a, own_r, a.user, a.password)[1].header("Use-Path")
    use_t = do_auth(t, a, own_t, a.user, a.password)[1].header("Use-Path")
    r_lock = threading.Lock()  # R writes whole frames only, never mixed

    def r_send(data):
        with r_lock:
            r.send(data)

    body_a, body_o = os.urandom(size_a), os.urandom(1000)
    tid_a, tid_o = mp.new_tid(), mp.new_tid()
    got = {"A": bytearray(size_a), "O": None, "A_end": False, "order": []}
    heads = threading.Event()
    plain_feed = r.reader.feed
    tail = {"b": b""}

    def feed(data):  # readiness: A's head has reached R
        window = tail["b"] + bytes(data)
        if b"Message-ID: A\r\n" in window:
            heads.set()
        tail["b"] = window[-16:]
        plain_feed(data)

    r.reader.feed = feed

    def r_reader():
        try:
            while not (got["A_end"] and "200" in got["order"]):
                f = r.recv_frame()
                if f is None:
                    return
                if f.is_request():
                    r_send(mp.build_response(f, 200, "OK", own_r))
                    if f.header("Message-ID") == "A":
                        start = f.byte_range()[0]
                        got["A"][start - 1:start - 1 + len(f.body)] = f.body
                        got["order"].append("A")
                        got["A_end"] = f.flag == "$"
                elif f.tid == tid_o:
                    got["order"].append(str(f.code))
        except Exception as e:  # noqa: BLE001
            out["errors"].append("R: %s" % e)

    def t_reader():
        try:
            while got["O"] is None:
                f = t.recv_frame()
                if f is None:
                    return
                if f.is_request():
                    t.send(mp.build_response(f, 200, "OK", own_t))
                    if f.header("Message-ID") == "O":
                        got["O"] = bytes(f.body)
        except Exception as e:  # noqa: BLE001
            out["errors"].append("T: %s" % e)

    threads = [threading.Thread(target=r_reader), threading.Thread(target=t_reader)]
    for th in threads:
        th.start()
    frame_a = mp.build_request("SEND", tid_a, [("To-Path", use_r + " " + own_r),
                                               ("From-Path", own_s), ("Message-ID", "A"),
                                               ("Byte-Range", "1-%d/%d" % (size_a, size_a)),
                                               ("Content-Type", "application/octet-stream")],
                               body_a)
    cut = len(frame_a) - len("\r\n-------%s$\r\n" % tid_a) - (size_a - first)
    snd.send(frame_a[:cut])
    out["a_started"] = heads.wait(a.timeout)
    r_send(mp.build_request("SEND", tid_o, [("To-Path", use_r + " " + use_t + " " + own_t),
                                            ("From-Path", own_r), ("Message-ID", "O"),
                                            ("Byte-Range", "1-1000/1000"),
                                            ("Content-Type", "application/octet-stream")], body_o))
    out["answer_held"] = wait_log_line(a, "answer to %s waits" % tid_o)
    out["order_before_a_done"] = list(got["order"])
    snd.send(frame_a[cut:])
    while True:
        f = snd.recv_frame()
        if f is None or (not f.is_request() and f.tid == tid_a):
            out["code_a"] = f.code if f else None
            break
    for th in threads:
        th.join(a.timeout)
    out["order"] = got["order"]
    out["a_ok"] = got["A_end"] and hashlib.sha256(got["A"]).digest() == hashlib.sha256(body_a).digest()
    out["o_ok"] = got["O"] == body_o
    ok = (out["a_started"] and out["answer_held"] and out["order_before_a_done"] == []
          and out["order"] == ["A", "200"] and out["a_ok"] and out["o_ok"]
          and out.get("code_a") == 200 and not out["errors"])
    out["ok"] = ok
    print(json.dumps(out))
    return 0 if ok else 1


def wait_log_line(a, text):
    """Whether the relay's log (--gw-log) has text within the timeout."""
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline:
        with open(a.gw_log, errors="replace") as f:
            if text in f.read():
                return True
        time.sleep(0.01)
    return False


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("auth", "frame", "silent", "send", "many", "fifo", "slow", "vias", "both"):
        s = sub.add_parser(name)
        s.add_argument("--relay", required=True)
        s.add_argument("--user")
        s.add_argument("--password", default="")
        s.add_argument("--timeout", type=float, default=30.0)
        s.add_argument("--tls", action="store_true", help="msrps: TLS to the relay")
        if name == "auth":
            s.add_argument("--expires", type=int)
            s.add_argument("--expect")
            s.add_argument("--delay", type=float, default=0.0)
            s.add_argument("--replay", action="store_true")
        if name == "frame":
            s.add_argument("--to-path", required=True)
            s.add_argument("--method", default="SEND")
            s.add_argument("--expect", type=int)
        if name == "silent":
            s.add_argument("--ready-file", required=True)
            s.add_argument("--hold", type=float, default=5.0)
        if name == "send":
            s.add_argument("--to-path", required=True)
            s.add_argument("--chunk", type=int, default=65536)
            s.add_argument("--linger", type=float, default=0.0)
            s.add_argument("--expect")
            s.add_argument("--from-uri", help="our URI (default: the socket's address)")
            s.add_argument("file")
        if name == "slow":
            s.add_argument("--ready-file", required=True)
            s.add_argument("--out", required=True)
            s.add_argument("--pause", type=float, default=0.005)
        if name == "both":
            s.add_argument("--gw-log", required=True,
                           help="the relay's log (level debug): the held answer is read there")
        if name == "fifo":
            s.add_argument("--split", action="store_true")
            s.add_argument("--gw-log", required=True,
                           help="the relay's log (level debug): B's wait is read there")
        if name == "vias":
            s.add_argument("--n", type=int, default=10)
            s.add_argument("--cap", type=int, default=4096)
        if name == "many":
            s.add_argument("--n", type=int, default=10)
            s.add_argument("--size", type=int, default=4096)
    a = p.parse_args()
    return {"auth": cmd_auth, "frame": cmd_frame, "silent": cmd_silent, "send": cmd_send,
            "many": cmd_many, "fifo": cmd_fifo, "slow": cmd_slow, "vias": cmd_vias,
            "both": cmd_both}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
