#!/usr/bin/env python3
"""msrp_probe: a small, independent MSRP client (RFC 4975/4976), stdlib only.

It checks a relay (Kamailio's msrp module, or msrpgw itself) from the
outside, as a second implementation written without our C code in mind.

CLI (every run prints one JSON report line on stdout at the end; exit
status 0 means "everything as expected", 1 a protocol failure, 2 usage):

  msrp_probe.py recv --relay 127.0.0.1:PORT --out FILE [--ready-file F]
                [--messages N] [--user U --password P [--digest-uri]]
                [--timeout S]
      AUTH to the relay as the receiver (answering one 401 Digest challenge
      if credentials are given), then keep the connection: answer every
      SEND with 200 and write each message's body (placed by Byte-Range)
      to FILE (the 2nd message to FILE.2, ...).  The full To-Path a sender
      must use (relay Use-Path + receiver URI) is printed on stdout as
      "PATH <uris>" and written atomically to --ready-file.  Exits after N
      complete messages (default 1; 0 = until the relay closes or timeout).

  msrp_probe.py send --relay 127.0.0.1:PORT --to-path "URI URI" FILE
                [--chunk 2048] [--window 8] [--no-bind] [--open-range]
                [--content-type T] [--expect-code 200] [--timeout S]
      Connect straight to the relay (no AUTH), bind the connection with an
      empty SEND (and wait for its 200), then send FILE as one message in
      chunks of --chunk bytes, each with a Byte-Range, at most --window
      chunks awaiting their response.  Stops at the first response whose
      code differs from 200.  Succeeds iff every chunk was answered with
      --expect-code.

  msrp_probe.py selftest
      Checks the probe's own parser (byte-at-a-time feeding, end-lines
      split across reads, bodies that look like end-lines of another
      transaction) and its Digest computation against RFC 2617's example.

Digest (RFC 4976 section 5, RFC 2617 with qop=auth): HA2 = MD5("AUTH:" +
uri) where uri is the To-Path URI of the AUTH request.  Like the widely
deployed client library described in /work/shared/PEERS.md, the
Authorization header has no uri= parameter unless --digest-uri is given.
"""

import argparse
import hashlib
import json
import os
import secrets
import socket
import string
import sys
import time

# ---------------------------------------------------------------------------
# URIs (RFC 4975 section 6)

DEFAULT_PORT = 2855


class MsrpUri:
    """msrp[s]://[user@]host[:port][/session-id];transport[;params]."""

    def __init__(self, text):
        self.text = text
        scheme, sep, rest = text.partition("://")
        if not sep or scheme.lower() not in ("msrp", "msrps"):
            raise ValueError("not an MSRP URI: %r" % text)
        self.scheme = scheme.lower()
        rest, _, params = rest.partition(";")
        self.params = params.split(";") if params else []
        self.transport = self.params[0].lower() if self.params else ""
        authority, _, self.session = rest.partition("/")
        if "@" in authority:
            self.user, _, authority = authority.rpartition("@")
        else:
            self.user = None
        if authority.startswith("["):
            host, _, port = authority[1:].partition("]")
            port = port[1:] if port.startswith(":") else ""
        else:
            host, _, port = authority.partition(":")
        if not host:
            raise ValueError("MSRP URI without host: %r" % text)
        self.host = host.lower()
        self.port = int(port) if port else DEFAULT_PORT
        if not 0 < self.port < 65536:
            raise ValueError("bad port in %r" % text)

    def key(self):
        # RFC 4975 section 6.1: scheme, host and transport compare
        # case-insensitively, the session id case-sensitively, the user
        # part is ignored, and a missing port means the default one.
        return (self.scheme, self.host, self.port, self.session,
                self.transport)

    def __eq__(self, other):
        return isinstance(other, MsrpUri) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def __repr__(self):
        return self.text


def parse_path(value):
    return [MsrpUri(u) for u in value.split()]


# ---------------------------------------------------------------------------
# Frames

class ProtocolError(Exception):
    pass


class Frame:
    def __init__(self, tid, method=None, code=None, comment=""):
        self.tid = tid
        self.method = method      # request
        self.code = code          # response
        self.comment = comment
        self.headers = []         # (name, value) in order
        self.body = b""
        self.flag = "$"

    def is_request(self):
        return self.method is not None

    def header(self, name):
        lname = name.lower()
        for n, v in self.headers:
            if n.lower() == lname:
                return v
        return None

    def byte_range(self):
        """(start, end or None, total or None) from Byte-Range, or None."""
        v = self.header("Byte-Range")
        if v is None:
            return None
        try:
            rng, _, total = v.strip().partition("/")
            start, _, end = rng.partition("-")
            return (int(start), None if end == "*" else int(end),
                    None if total == "*" else int(total))
        except ValueError:
            raise ProtocolError("bad Byte-Range %r" % v)

    def __repr__(self):
        what = self.method if self.is_request() else self.code
        return "<MSRP %s %s %d bytes %s>" % (self.tid, what, len(self.body),
                                             self.flag)


# Bounds: everything from the network is hostile.
MAX_LINE = 8192
MAX_HEADERS = 64
MAX_BODY = 16 * 1024 * 1024
TID_CHARS = set(string.ascii_letters + string.digits + ".-+%=")


class FrameReader:
    """Incremental MSRP frame parser: feed() bytes, frames() yields frames.

    Works for any split of the input (one byte at a time included).  The
    body search looks for CRLF "-------" tid flag CRLF; it restarts from
    where the previous search stopped, less the length of the end-line, so
    it is linear in the input.
    """

    def __init__(self):
        self.buf = bytearray()
        self.frame = None
        self.state = "start"
        self.scan = 0

    def feed(self, data):
        self.buf += data

    def _line(self):
        i = self.buf.find(b"\r\n")
        if i < 0:
            if len(self.buf) > MAX_LINE:
                raise ProtocolError("line longer than %d bytes" % MAX_LINE)
            return None
        if i > MAX_LINE:
            raise ProtocolError("line longer than %d bytes" % MAX_LINE)
        line = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return line

    def _end_line(self, line):
        """The flag if line is this frame's end-line, else None."""
        prefix = b"-------" + self.frame.tid.encode()
        if len(line) == len(prefix) + 1 and line.startswith(prefix) \
                and line[-1:] in (b"$", b"+", b"#"):
            return line[-1:].decode()
        return None

    def frames(self):
        while True:
            f = self._step()
            if f is None:
                return
            yield f

    def _step(self):
        while True:
            if self.state == "start":
                line = self._line()
                if line is None:
                    return None
                self.frame = self._start_line(line)
                self.state = "headers"
            elif self.state == "headers":
                line = self._line()
                if line is None:
                    return None
                if line == b"":
                    self.state = "body"
                    self.scan = 0
                    continue
                flag = self._end_line(line)
                if flag is not None:
                    return self._done(flag)
                if len(self.frame.headers) >= MAX_HEADERS:
                    raise ProtocolError("more than %d headers" % MAX_HEADERS)
                name, sep, value = line.decode("utf-8", "replace") \
                    .partition(":")
                if not sep or not name or name != name.strip():
                    raise ProtocolError("bad header line %r" % line)
                self.frame.headers.append((name, value.strip()))
            else:  # body: CRLF end-line CRLF terminates it
                pat = b"\r\n-------" + self.frame.tid.encode()
                i = self.buf.find(pat, self.scan)
                while i >= 0:
                    j = i + len(pat)
                    if len(self.buf) < j + 3:
                        break   # need the flag and CRLF
                    flag = self.buf[j:j + 1]
                    if flag in (b"$", b"+", b"#") and \
                            self.buf[j + 1:j + 3] == b"\r\n":
                        self.frame.body = bytes(self.buf[:i])
                        del self.buf[:j + 3]
                        return self._done(flag.decode())
                    i = self.buf.find(pat, i + 1)
                if i < 0:
                    self.scan = max(0, len(self.buf) - len(pat) - 2)
                else:
                    self.scan = i
                if len(self.buf) > MAX_BODY:
                    raise ProtocolError("body over %d bytes" % MAX_BODY)
                return None

    def _done(self, flag):
        f = self.frame
        f.flag = flag
        self.frame = None
        self.state = "start"
        return f

    def _start_line(self, line):
        parts = line.split(b" ", 3)
        if len(parts) < 3 or parts[0] != b"MSRP":
            raise ProtocolError("bad start line %r" % line)
        tid = parts[1].decode("ascii", "replace")
        if not 4 <= len(tid) <= 64 or not set(tid) <= TID_CHARS:
            raise ProtocolError("bad transaction id %r" % tid)
        word = parts[2].decode("ascii", "replace")
        if word.isdigit() and len(word) == 3:
            comment = b" ".join(parts[3:]).decode("utf-8", "replace")
            return Frame(tid, code=int(word), comment=comment)
        if len(parts) != 3 or not word.isalpha() or not word.isupper():
            raise ProtocolError("bad start line %r" % line)
        return Frame(tid, method=word)


def new_tid():
    # 16 random alphanumerics: 95 bits, so a body cannot contain the
    # end-line by accident; send_request() still checks.
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


def build_request(method, tid, headers, body=None, flag="$"):
    out = ["MSRP %s %s\r\n" % (tid, method)]
    out += ["%s: %s\r\n" % (n, v) for n, v in headers]
    head = "".join(out).encode()
    end = ("-------%s%s\r\n" % (tid, flag)).encode()
    if body is None:
        return head + end
    return head + b"\r\n" + body + b"\r\n" + end


def build_response(req, code, comment, own_uri):
    # RFC 4975 section 7.2: To-Path is the first URI of the request's
    # From-Path (the previous hop only), From-Path is the responder.
    prev = req.header("From-Path").split()[0]
    text = "MSRP %s %03d %s\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------%s$\r\n" \
        % (req.tid, code, comment, prev, own_uri, req.tid)
    return text.encode()


# ---------------------------------------------------------------------------
# Digest (RFC 2617 as used by RFC 4976 section 5)

def md5hex(s):
    return hashlib.md5(s.encode()).hexdigest()


def parse_challenge(value):
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ProtocolError("challenge is not Digest: %r" % value)
    params = {}
    i = 0
    while i < len(rest):
        while i < len(rest) and rest[i] in " ,\t":
            i += 1
        eq = rest.find("=", i)
        if eq < 0:
            break
        name = rest[i:eq].strip().lower()
        i = eq + 1
        if i < len(rest) and rest[i] == '"':
            end = i + 1
            val = []
            while end < len(rest) and rest[end] != '"':
                if rest[end] == "\\" and end + 1 < len(rest):
                    end += 1
                val.append(rest[end])
                end += 1
            params[name] = "".join(val)
            i = end + 1
        else:
            end = rest.find(",", i)
            end = len(rest) if end < 0 else end
            params[name] = rest[i:end].strip()
            i = end
    return params


def digest_response(user, realm, password, method, uri, nonce, nc, cnonce,
                    qop):
    ha1 = md5hex("%s:%s:%s" % (user, realm, password))
    ha2 = md5hex("%s:%s" % (method, uri))
    if qop:
        return md5hex("%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop,
                                              ha2))
    return md5hex("%s:%s:%s" % (ha1, nonce, ha2))


def authorization(challenge, user, password, uri, with_uri):
    c = parse_challenge(challenge)
    if "nonce" not in c or "realm" not in c:
        raise ProtocolError("challenge without nonce/realm: %r" % challenge)
    if c.get("algorithm", "MD5").upper() != "MD5":
        raise ProtocolError("unsupported algorithm %r" % c["algorithm"])
    qops = [q.strip() for q in c.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in qops else ("" if not qops else None)
    if qop is None:
        raise ProtocolError("no usable qop in %r" % challenge)
    nc, cnonce = "00000001", secrets.token_hex(8)
    resp = digest_response(user, c["realm"], password, "AUTH", uri,
                           c["nonce"], nc, cnonce, qop)
    parts = ['username="%s"' % user, 'realm="%s"' % c["realm"],
             'nonce="%s"' % c["nonce"]]
    if with_uri:
        parts.append('uri="%s"' % uri)
    parts.append('response="%s"' % resp)
    if qop:
        parts += ['qop="%s"' % qop, 'nc="%s"' % nc, 'cnonce="%s"' % cnonce]
    if "opaque" in c:
        parts.append('opaque="%s"' % c["opaque"])
    return "Digest " + ", ".join(parts)


# ---------------------------------------------------------------------------
# Connection

class Connection:
    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = FrameReader()
        self.pending = []
        self.deadline = time.monotonic() + timeout
        lhost, lport = self.sock.getsockname()[:2]
        self.local = (lhost, lport)

    def own_uri(self, session):
        # The real local address: a relay that answers by address finds
        # this very connection.
        return "msrp://%s:%d/%s;tcp" % (self.local[0], self.local[1], session)

    def send(self, data):
        # One sendall per frame: the end-line goes with the bytes before it.
        self.sock.sendall(data)

    def recv_frame(self, deadline=None):
        """Next frame, or None when the peer closed the connection."""
        deadline = deadline or self.deadline
        while True:
            if self.pending:
                return self.pending.pop(0)
            self.pending.extend(self.reader.frames())
            if self.pending:
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no MSRP frame before the deadline")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("no MSRP frame before the deadline")
            if not data:
                if self.reader.buf or self.reader.state != "start":
                    raise ProtocolError("connection closed inside a frame")
                return None
            self.reader.feed(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def split_hostport(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


# ---------------------------------------------------------------------------
# Receiver

def auth(conn, relay_uri, own, user=None, password=None, with_uri=False,
         expires=None):
    """AUTH to the relay; returns (status codes seen, Use-Path URIs)."""
    codes = []
    authz = None
    for _ in range(2):
        tid = new_tid()
        hdrs = [("To-Path", relay_uri), ("From-Path", own)]
        if authz:
            hdrs.append(("Authorization", authz))
        if expires is not None:
            hdrs.append(("Expires", str(expires)))
        conn.send(build_request("AUTH", tid, hdrs))
        while True:
            f = conn.recv_frame()
            if f is None:
                raise ProtocolError("relay closed the connection during AUTH")
            if not f.is_request() and f.tid == tid:
                break
        codes.append(f.code)
        if f.code == 200:
            use_path = f.header("Use-Path")
            if not use_path:
                raise ProtocolError("200 to AUTH without Use-Path")
            parse_path(use_path)   # must parse
            return codes, use_path.split(), f.header("Expires")
        if f.code == 401 and authz is None and user is not None:
            chal = f.header("WWW-Authenticate")
            if not chal:
                raise ProtocolError("401 without WWW-Authenticate")
            # The digest-uri is the AUTH's own To-Path URI.
            authz = authorization(chal, user, password, relay_uri, with_uri)
            continue
        raise ProtocolError("AUTH answered %d %s" % (f.code, f.comment))
    raise ProtocolError("AUTH failed after a second challenge")


class Message:
    def __init__(self, path):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.chunks = 0
        self.bytes = 0
        self.total = None
        self.done = False

    def write(self, frame):
        br = frame.byte_range()
        start, end, total = br if br else (1, None, None)
        if start < 1:
            raise ProtocolError("Byte-Range start %d < 1" % start)
        if end is not None and end - start + 1 != len(frame.body):
            raise ProtocolError("Byte-Range %s but %d body bytes" %
                                (frame.header("Byte-Range"), len(frame.body)))
        if total is not None:
            self.total = total
        os.pwrite(self.fd, frame.body, start - 1)
        self.chunks += 1
        self.bytes += len(frame.body)
        if frame.flag == "$":
            self.done = True
        return frame.flag

    def close(self):
        os.close(self.fd)
        h = hashlib.sha256()
        with open(self.path, "rb") as fp:
            for block in iter(lambda: fp.read(1 << 20), b""):
                h.update(block)
        return {"file": self.path, "chunks": self.chunks,
                "bytes": self.bytes, "size": os.path.getsize(self.path),
                "total": self.total, "complete": self.done,
                "sha256": h.hexdigest()}


def cmd_recv(a):
    host, port = split_hostport(a.relay)
    conn = Connection(host, port, a.timeout)
    session = "r" + secrets.token_hex(8)
    own = conn.own_uri(session)
    relay_uri = a.relay_uri or "msrp://%s:%d;tcp" % (host, port)
    report = {"role": "recv", "ok": False, "auth_codes": [],
              "responses_sent": {}, "reports_received": 0, "messages": [],
              "empty_sends": 0, "errors": []}
    messages = {}
    order = []
    try:
        codes, use_path, expires = auth(conn, relay_uri, own, a.user,
                                        a.password, a.digest_uri)
        report["auth_codes"] = codes
        report["expires"] = expires
        full = use_path + [own]
        report["path"] = " ".join(full)
        print("PATH " + report["path"], flush=True)
        if a.ready_file:
            tmp = a.ready_file + ".tmp"
            with open(tmp, "w") as fp:
                fp.write(report["path"] + "\n")
            os.rename(tmp, a.ready_file)
        own_parsed = MsrpUri(own)
        done = 0
        while a.messages == 0 or done < a.messages:
            f = conn.recv_frame()
            if f is None:
                break
            if not f.is_request():
                continue
            if f.method == "REPORT":
                report["reports_received"] += 1
                continue
            code, comment = 200, "OK"
            to = f.header("To-Path")
            if f.method != "SEND":
                code, comment = 501, "Unknown method"
            elif not to or not f.header("From-Path") or \
                    not f.header("Message-ID"):
                code, comment = 400, "Missing header"
            elif parse_path(to)[-1] != own_parsed:
                # RFC 4975 section 7.3.1: the last To-Path URI must be us.
                code, comment = 481, "Not my session"
            if code == 200 and f.body == b"" and \
                    f.header("Content-Type") is None:
                report["empty_sends"] += 1
            elif code == 200:
                mid = f.header("Message-ID")
                if mid not in messages:
                    n = len(order) + 1
                    path = a.out if n == 1 else "%s.%d" % (a.out, n)
                    messages[mid] = Message(path)
                    order.append(mid)
                m = messages[mid]
                try:
                    m.write(f)
                except ProtocolError as e:
                    code, comment = 400, "Bad Byte-Range"
                    report["errors"].append(str(e))
                if m.done or f.flag == "#":
                    done += 1
            fr = f.header("Failure-Report") or "yes"
            if fr == "yes" or (fr == "partial" and code != 200):
                conn.send(build_response(f, code, comment, own))
                key = str(code)
                report["responses_sent"][key] = \
                    report["responses_sent"].get(key, 0) + 1
        report["ok"] = (a.messages == 0 or done >= a.messages) and \
            not report["errors"]
    except (ProtocolError, TimeoutError, OSError, ValueError) as e:
        report["errors"].append("%s: %s" % (type(e).__name__, e))
    finally:
        conn.close()
        for mid in order:
            r = messages[mid].close()
            r["message_id"] = mid
            report["messages"].append(r)
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


# ---------------------------------------------------------------------------
# Sender

def cmd_send(a):
    to_path = a.to_path.split()
    parse_path(a.to_path)
    if a.relay:
        host, port = split_hostport(a.relay)
    else:
        first = MsrpUri(to_path[0])
        host, port = first.host, first.port
    with open(a.file, "rb") as fp:
        data = fp.read()
    report = {"role": "send", "ok": False, "bind_code": None,
              "chunks": 0, "bytes": len(data), "codes": {},
              "unexpected_responses": 0, "requests_received": {},
              "sha256": hashlib.sha256(data).hexdigest(), "errors": []}
    conn = Connection(host, port, a.timeout)
    own = conn.own_uri("s" + secrets.token_hex(8))
    base = [("To-Path", " ".join(to_path)), ("From-Path", own)]
    outstanding = {}
    failed = False

    def await_one():
        nonlocal failed
        f = conn.recv_frame()
        if f is None:
            raise ProtocolError("relay closed the connection")
        if f.is_request():
            k = f.method
            report["requests_received"][k] = \
                report["requests_received"].get(k, 0) + 1
            if f.method == "SEND":
                conn.send(build_response(f, 200, "OK", own))
            return
        if f.tid not in outstanding:
            report["unexpected_responses"] += 1
            return
        del outstanding[f.tid]
        if f.tid == bind_tid:
            report["bind_code"] = f.code
        else:
            k = str(f.code)
            report["codes"][k] = report["codes"].get(k, 0) + 1
        if f.code != 200:
            failed = True

    bind_tid = None
    try:
        if not a.no_bind:
            # An empty SEND binds the connection (RFC 4975 section 7.1.1);
            # many clients need its 200 before data flows.
            bind_tid = new_tid()
            outstanding[bind_tid] = True
            conn.send(build_request("SEND", bind_tid, base + [
                ("Message-ID", secrets.token_hex(8))]))
            while outstanding:
                await_one()
        mid = secrets.token_hex(10)
        total = len(data)
        off = 0
        n = max(1, -(-total // a.chunk))
        for i in range(n):
            if failed:
                break
            body = data[off:off + a.chunk]
            last = i == n - 1
            tid = new_tid()
            while (b"\r\n-------" + tid.encode()) in body:
                tid = new_tid()
            if a.open_range:
                br = "%d-*/%d" % (off + 1, total)
            else:
                br = "%d-%d/%d" % (off + 1, off + len(body), total)
            hdrs = base + [("Message-ID", mid), ("Byte-Range", br)]
            if a.success_report:
                hdrs.append(("Success-Report", "yes"))
            hdrs.append(("Content-Type", a.content_type))
            while len(outstanding) >= a.window:
                await_one()
            if failed:
                break
            outstanding[tid] = True
            conn.send(build_request("SEND", tid, hdrs, body,
                                    "$" if last else "+"))
            report["chunks"] += 1
            off += len(body)
        while outstanding:
            await_one()
        if a.linger > 0:
            # Late frames (a duplicate response, a REPORT) get counted.
            end = time.monotonic() + a.linger
            try:
                while True:
                    f = conn.recv_frame(end)
                    if f is None:
                        break
                    conn.pending.insert(0, f)
                    await_one()
            except TimeoutError:
                pass
        codes = dict(report["codes"])
        if report["bind_code"] is not None:
            k = str(report["bind_code"])
            codes[k] = codes.get(k, 0) + 1
        want = str(a.expect_code)
        answered = sum(codes.values())
        # Every answer has the expected code; when success is expected,
        # every chunk of the file was sent and answered.
        report["ok"] = answered > 0 and codes.get(want, 0) == answered
        if a.expect_code == 200:
            report["ok"] = report["ok"] and report["chunks"] == n and \
                sum(report["codes"].values()) == n
    except (ProtocolError, TimeoutError, OSError, ValueError) as e:
        report["errors"].append("%s: %s" % (type(e).__name__, e))
    finally:
        conn.close()
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


# ---------------------------------------------------------------------------
# Self test

def _selftest_digest_relay(with_uri):
    """Run auth() against a one-shot challenging relay on 127.0.0.1.

    The relay checks what PEERS.md says real clients send: one challenge
    round, qop=auth, nc, cnonce, opaque echoed, HA2 over "AUTH:" + the
    AUTH's To-Path URI, and uri= only when asked for.  Returns None or an
    error string.
    """
    import threading
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(5)
    port = lsock.getsockname()[1]
    relay = "msrp://127.0.0.1:%d;tcp" % port
    result = {}

    def serve():
        try:
            s, _ = lsock.accept()
            s.settimeout(5)
            rd = FrameReader()

            def next_frame():
                while True:
                    got = list(rd.frames())
                    if got:
                        return got[0]
                    data = s.recv(4096)
                    if not data:
                        raise ProtocolError("client closed")
                    rd.feed(data)
            f = next_frame()
            if f.header("Authorization") is not None:
                raise ProtocolError("credentials before a challenge")
            s.sendall(("MSRP %s 401 Unauthorized\r\nTo-Path: %s\r\n"
                       "From-Path: %s\r\nWWW-Authenticate: Digest "
                       "realm=\"probe\", nonce=\"n0nce\", qop=\"auth\", "
                       "opaque=\"0paque\"\r\n-------%s$\r\n" %
                       (f.tid, f.header("From-Path"), relay, f.tid)).encode())
            f = next_frame()
            c = parse_challenge(f.header("Authorization"))
            want = digest_response("alice", "probe", "secret", "AUTH",
                                   f.header("To-Path"), "n0nce",
                                   c.get("nc"), c.get("cnonce", ""), "auth")
            ok = (c.get("response") == want and c.get("opaque") == "0paque"
                  and c.get("qop") == "auth" and c.get("nc") == "00000001"
                  and ("uri" in c) == with_uri
                  and (not with_uri or c["uri"] == relay))
            code = "200 OK" if ok else "403 Forbidden"
            s.sendall(("MSRP %s %s\r\nTo-Path: %s\r\nFrom-Path: %s\r\n"
                       "Use-Path: msrp://127.0.0.1:%d/sess1;tcp\r\n"
                       "Expires: 600\r\n-------%s$\r\n" %
                       (f.tid, code, f.header("From-Path"), relay, port,
                        f.tid)).encode())
            result["server"] = code
            s.close()
        except (OSError, ProtocolError) as e:
            result["server"] = "server error: %s" % e

    t = threading.Thread(target=serve)
    t.start()
    conn = None
    try:
        conn = Connection("127.0.0.1", port, 5)
        codes, use_path, expires = auth(conn, relay, conn.own_uri("r1"),
                                        "alice", "secret", with_uri)
        if codes != [401, 200] or use_path != [
                "msrp://127.0.0.1:%d/sess1;tcp" % port] or expires != "600":
            return "got %r %r %r" % (codes, use_path, expires)
        return None
    except (OSError, ProtocolError, TimeoutError) as e:
        return "%s (%s)" % (e, result.get("server"))
    finally:
        if conn:
            conn.close()
        t.join(10)
        lsock.close()


def cmd_selftest(_a):
    fails = []

    def check(cond, what):
        if not cond:
            fails.append(what)

    # RFC 2617 section 3.5 example.
    r = digest_response("Mufasa", "testrealm@host.com", "Circle Of Life",
                        "GET", "/dir/index.html",
                        "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001",
                        "0a4f113b", "auth")
    check(r == "6629fae49393a05397450978507c4ef1", "RFC 2617 digest %s" % r)
    c = parse_challenge('Digest realm="r, x", nonce="n\\"1", qop="auth",'
                        'opaque=o1, algorithm=MD5')
    check(c == {"realm": "r, x", "nonce": 'n"1', "qop": "auth",
                "opaque": "o1", "algorithm": "MD5"}, "challenge %r" % c)

    tricky = b"line\r\n-------abcd$\r\nnot the end\r\n-------tid12345+x"
    stream = (build_request("SEND", "tid12345",
                            [("To-Path", "msrp://a:1/x;tcp"),
                             ("From-Path", "msrp://b:2/y;tcp"),
                             ("Message-ID", "m1"),
                             ("Byte-Range", "1-%d/*" % len(tricky)),
                             ("Content-Type", "text/plain")], tricky, "+") +
              b"MSRP abcd 200 OK\r\nTo-Path: msrp://b:2/y;tcp\r\n"
              b"From-Path: msrp://a:1/x;tcp\r\n-------abcd$\r\n" +
              build_request("SEND", "zz99", [("To-Path", "msrp://a:1/x;tcp"),
                                             ("From-Path", "msrp://b/y;tcp"),
                                             ("Message-ID", "m2")]))
    for step in (1, 2, 3, 7, len(stream)):
        rd = FrameReader()
        got = []
        for i in range(0, len(stream), step):
            rd.feed(stream[i:i + step])
            got.extend(rd.frames())
        ok = (len(got) == 3 and got[0].method == "SEND" and
              got[0].body == tricky and got[0].flag == "+" and
              got[0].byte_range() == (1, len(tricky), None) and
              got[1].code == 200 and got[1].tid == "abcd" and
              got[2].body == b"" and got[2].flag == "$" and
              got[2].header("message-id") == "m2" and not rd.buf)
        check(ok, "parser, feeding %d bytes at a time: %r" % (step, got))
    for bad in (b"HTTP/1.1 200 OK\r\n", b"MSRP ab SEND\r\n",
                b"MSRP abcd send\r\n", b"MSRP abcd SEND\r\nnocolon\r\n",
                b"MSRP abcd SEND\r\n" + b"x" * (MAX_LINE + 10)):
        try:
            list_ = FrameReader()
            list_.feed(bad)
            list(list_.frames())
            fails.append("accepted %r" % bad[:40])
        except ProtocolError:
            pass
    a, b = MsrpUri("MSRP://Host.Example:2855/AbC;TCP"), \
        MsrpUri("msrp://host.example/AbC;tcp")
    check(a == b, "URI equality with default port")
    check(MsrpUri("msrp://h/abc;tcp") != MsrpUri("msrp://h/ABC;tcp"),
          "session id is case-sensitive")
    resp = build_response(got[0], 200, "OK", "msrp://a:1/x;tcp")
    check(resp == b"MSRP tid12345 200 OK\r\nTo-Path: msrp://b:2/y;tcp\r\n"
          b"From-Path: msrp://a:1/x;tcp\r\n-------tid12345$\r\n",
          "response bytes %r" % resp)
    for with_uri in (False, True):
        err = _selftest_digest_relay(with_uri)
        check(err is None, "digest AUTH (uri=%s): %s" % (with_uri, err))
    print(json.dumps({"role": "selftest", "ok": not fails, "errors": fails}))
    return 0 if not fails else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("recv", help="AUTH as the receiver, store messages")
    r.add_argument("--relay", required=True, help="HOST:PORT of the relay")
    r.add_argument("--relay-uri", help="To-Path of the AUTH "
                   "(default msrp://HOST:PORT;tcp)")
    r.add_argument("--out", required=True)
    r.add_argument("--ready-file")
    r.add_argument("--messages", type=int, default=1)
    r.add_argument("--user")
    r.add_argument("--password", default="")
    r.add_argument("--digest-uri", action="store_true",
                   help="put uri= in the Authorization header")
    r.add_argument("--timeout", type=float, default=30.0,
                   help="deadline for the whole run, in seconds")

    s = sub.add_parser("send", help="send a file through the relay")
    s.add_argument("--relay", help="HOST:PORT (default: first To-Path URI)")
    s.add_argument("--to-path", required=True)
    s.add_argument("--chunk", type=int, default=2048)
    s.add_argument("--window", type=int, default=8)
    s.add_argument("--no-bind", action="store_true")
    s.add_argument("--open-range", action="store_true",
                   help="Byte-Range N-*/TOTAL on every chunk")
    s.add_argument("--success-report", action="store_true")
    s.add_argument("--content-type", default="application/octet-stream")
    s.add_argument("--expect-code", type=int, default=200)
    s.add_argument("--linger", type=float, default=0.0,
                   help="after the last response, keep reading this long")
    s.add_argument("--timeout", type=float, default=30.0,
                   help="deadline for the whole run, in seconds")
    s.add_argument("file")

    sub.add_parser("selftest")
    a = p.parse_args(argv)
    if a.cmd == "send" and (a.chunk < 1 or a.window < 1):
        p.error("--chunk and --window must be positive")
    return {"recv": cmd_recv, "send": cmd_send,
            "selftest": cmd_selftest}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
