#!/usr/bin/env python3
"""msrp_probe: a small, independent MSRP client (RFC 4975/4976), stdlib only.

It checks a relay (Kamailio's msrp module, or msrpgw itself) from the
outside, as a second implementation written without our C code in mind.

CLI (every run prints one JSON report line on stdout at the end; exit
status 0 means "everything as expected", 1 a protocol failure, 2 usage):

  msrp_probe.py recv (--relay 127.0.0.1:PORT | --listen HOST:PORT |
                     --connect "URIS" [--own-uri URI])
                --out FILE [--ready-file F] [--messages N]
                [--user U --password P [--digest-uri]] [--relay-uri URI]
                [--remote-path "URIS"] [--one-peer] [--byte-exact]
                [--success-report] [--silent] [--no-frames] [--drain S]
                [--timeout S]
      With --relay: AUTH to the relay as the receiver (answering one 401
      Digest challenge if credentials are given) and keep the connection.
      With --listen (port 0 = ephemeral): no relay, accept the
      connection(s) a relay opens to our URI.  With --connect (an
      active receiver, a=setup:active): dial the first URI of the peer's
      path, bind with an empty SEND (its 200 first), then serve that
      connection; --own-uri is our URI as our SDP gave it.  Answer every SEND with 200
      and write each message's body (placed by Byte-Range) to FILE (the
      2nd message to FILE.2, ...).  The full To-Path a sender must use
      (Use-Path + receiver URI, or the URI alone with --listen) is printed
      on stdout as "PATH <uris>" and written atomically to --ready-file.
      Exits after N complete messages (default 1; 0 = until the relay
      closes or timeout).
      Strict paths, like deployed clients (/work/shared/PEERS.md): the
      To-Path of every SEND must be exactly our own URI, and its
      From-Path reverse(our Use-Path) + --remote-path (the sender's path
      as SDP gives it); without --remote-path the From-Path must start
      with reverse(our Use-Path) and the rest is learned from a sender's
      first SEND and held for its later ones (per sender URI, the last
      From-Path URI; --one-peer: only the first sender's path at all).
      A violation is answered 481, recorded in "path_errors" (got and
      wanted paths), and ends the run (after --drain seconds) with exit 1.
      Paths compare per RFC 4975 section 6.1 (scheme/host/transport
      case-insensitive, default port 2855, session id exact), or byte
      for byte with --byte-exact.  --success-report: when a message that
      asked Success-Report: yes is complete, send a Success REPORT
      (RFC 4975 7.1.2: To-Path = the From-Path received, From-Path = our
      URI, Byte-Range 1-N/N, Status 000 200 OK) on its connection.  The
      report lists every frame's exact To-Path/From-Path ("frames"), the
      distinct SEND paths ("send_to_paths", "send_from_paths") and the
      REPORTs sent ("success_reports_sent").  --silent: answer nothing
      (a hung receiver) and end at --timeout with exit 0.

  msrp_probe.py send (--to-path "URIS" | --to-path-file F) FILE
                [--relay 127.0.0.1:PORT] [--user U --password P
                [--digest-uri] [--relay-uri URI]] [--from-uri URI]
                [--path-file F] [--chunk 2048] [--window 8] [--no-bind]
                [--open-range] [--success-report] [--check-response-from]
                [--byte-exact] [--content-type T] [--expect-code 200]
                [--linger S] [--timeout S]
      Connect to --relay (default: the first To-Path URI); with --user,
      AUTH first and prepend our Use-Path to the To-Path.  --from-uri sets
      our own URI (e.g. a port nobody listens on); --path-file publishes
      our path (Use-Path + URI, an SDP offer) after AUTH; --to-path-file
      waits for the peer's path (an SDP answer) there.  Bind the
      connection with an empty SEND (and wait for its 200), then send
      FILE as one message in chunks of --chunk bytes, each with a
      Byte-Range, at most --window chunks awaiting their response.  Stops
      at the first response whose code differs from 200.  Every
      response's To-Path must be our URI (and with --check-response-from
      its From-Path our first To-Path URI, the one the first hop
      consumed).  --success-report: Success-Report: yes on the message,
      then wait for the REPORT: To-Path = our URI, From-Path =
      reverse(our Use-Path) + the peer's path, Status 000 200.  Succeeds
      iff every chunk was answered with --expect-code and every path
      check held; "responses", "reports", "success_report" and
      "path_errors" in the report give the exact paths seen.

  msrp_probe.py selftest
      Checks the probe's own parser (byte-at-a-time feeding, end-lines
      split across reads, bodies that look like end-lines of another
      transaction), its Digest computation against RFC 2617's example,
      and the path rules (expected From-Path, 481s, Success REPORT
      contents, the sender's REPORT check) without a network.

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
# Path rules an endpoint enforces (RFC 4975 section 7.3.1, RFC 4976
# section 5; /work/shared/PEERS.md): deployed clients predict the From-Path
# of every request they receive and answer 481 when it differs.

def same_path(got, want, exact):
    """got, want: lists of URI strings.  exact: byte-equal URI by URI;
    else RFC 4975 section 6.1 equality (scheme, host, transport
    case-insensitive, default port 2855, session id exact)."""
    if len(got) != len(want):
        return False
    if exact:
        return list(got) == list(want)
    try:
        return all(MsrpUri(g) == MsrpUri(w) for g, w in zip(got, want))
    except ValueError:
        return False


def expected_from_path(use_path, remote_path):
    """What an endpoint expects as From-Path of an incoming request: the
    reverse of its own Use-Path (the relays it AUTHed to, nearest last in
    its Use-Path, so first here), then the peer's path as SDP gave it."""
    return list(reversed(use_path)) + list(remote_path)


class FromPathCheck:
    """The From-Path rule of one endpoint.

    With remote_path (the peer's a=path), the whole From-Path must equal
    reverse(use_path) + remote_path.  Without it, the From-Path must start
    with reverse(use_path) and have at least one more URI; the rest is
    learned from the first request that passes and every later request is
    held to it.  Learning is per sender (the last From-Path URI, the
    sending endpoint's own URI): a request from the same sender over a
    different path is refused, a new sender is learned anew -- unless
    one_peer, where the first learned path is the only one accepted (a
    client in a single session).  Per sender keeps a receiver usable as a
    sink for several senders (tests/integration/relay_idle.sh)."""

    def __init__(self, use_path, remote_path=None, exact=False,
                 one_peer=False):
        self.prefix = list(reversed(use_path))
        self.remote = None if remote_path is None else list(remote_path)
        self.fixed = remote_path is not None
        self.exact = exact
        self.one_peer = one_peer
        self.learned = {}       # sender key -> remote path

    def _key(self, uri):
        if self.exact:
            return uri
        try:
            return MsrpUri(uri).key()
        except ValueError:
            return uri

    def expected(self, got=None):
        """The full expected From-Path as a string (for got's sender when
        learning; prefix + "..." while nothing is learned for it)."""
        rest = self.remote
        if not self.fixed and not self.one_peer and got:
            rest = self.learned.get(self._key(got[-1]))
        rest = rest if rest is not None else ["..."]
        return " ".join(self.prefix + rest)

    def check(self, got):
        """got: list of URI strings.  True if acceptable (learning the
        remote path on the first good request of a sender)."""
        if self.fixed or (self.one_peer and self.remote is not None):
            return same_path(got, self.prefix + self.remote, self.exact)
        n = len(self.prefix)
        if len(got) <= n or not same_path(got[:n], self.prefix, self.exact):
            return False
        key = self._key(got[-1])
        if key in self.learned:
            return same_path(got[n:], self.learned[key], self.exact)
        self.learned[key] = list(got[n:])
        if self.remote is None:
            self.remote = list(got[n:])
        return True


def status_code(value):
    """The status code of a Status header ("000 200 OK" -> 200), or None."""
    parts = (value or "").split()
    if len(parts) >= 2 and parts[0] == "000" and parts[1].isdigit() and \
            len(parts[1]) == 3:
        return int(parts[1])
    return None


def build_success_report(send, own_uri, total, tid=None):
    """RFC 4975 section 7.1.2: a Success REPORT for the whole message that
    SEND belongs to, To-Path = the From-Path the SEND arrived with,
    From-Path = our own URI, Byte-Range 1-N/N, Status 000 200 OK."""
    tid = tid or new_tid()
    return build_request("REPORT", tid, [
        ("To-Path", " ".join(send.header("From-Path").split())),
        ("From-Path", own_uri),
        ("Message-ID", send.header("Message-ID")),
        ("Byte-Range", "1-%d/%d" % (total, total)),
        ("Status", "000 200 OK")])


def check_success_report(frame, own_uri, want_from, exact):
    """Errors (a list of strings) of a Success REPORT received by the
    sender: To-Path must be our own URI, From-Path the path we predict,
    Status 000 200."""
    errs = []
    to = (frame.header("To-Path") or "").split()
    frm = (frame.header("From-Path") or "").split()
    if not same_path(to, [own_uri], exact):
        errs.append("REPORT To-Path %r, want %r" % (" ".join(to), own_uri))
    if not same_path(frm, want_from, exact):
        errs.append("REPORT From-Path %r, want %r" %
                    (" ".join(frm), " ".join(want_from)))
    code = status_code(frame.header("Status"))
    if code != 200:
        errs.append("REPORT Status %r, want 000 200" % frame.header("Status"))
    return errs


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
    def __init__(self, host, port, timeout, sock=None):
        # sock: an accepted socket (a receiver listening for a relay).
        self.sock = sock or socket.create_connection((host, port),
                                                     timeout=timeout)
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


def frame_record(conn_no, f):
    """What the JSON report keeps of every frame: its exact paths."""
    r = {"conn": conn_no, "tid": f.tid,
         "to_path": f.header("To-Path"), "from_path": f.header("From-Path")}
    if f.is_request():
        r["method"] = f.method
        for name in ("Message-ID", "Byte-Range", "Status"):
            v = f.header(name)
            if v is not None:
                r[name.lower().replace("-", "_")] = v
        r["bytes"] = len(f.body)
    else:
        r["code"] = f.code
    return r


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as fp:
        fp.write(text)
    os.rename(tmp, path)


class Receiver:
    """The receiving endpoint's handling of frames, network-free: handle()
    gets a frame and the connection it came on (anything with send()).

    Every SEND must have To-Path = our own URI exactly and the From-Path
    that FromPathCheck predicts; otherwise 481, recorded in the report's
    path_errors.  Good SENDs are stored by Byte-Range; with
    success_report, a complete message that asked Success-Report: yes
    gets a Success REPORT on the connection its last chunk came on."""

    def __init__(self, own, use_path, remote_path, exact, out,
                 success_report, report, one_peer=False):
        self.own = own
        self.exact = exact
        self.check = FromPathCheck(use_path, remote_path, exact, one_peer)
        self.out = out
        self.success_report = success_report
        self.report = report
        self.messages = {}
        self.order = []
        self.asked_report = set()
        self.done = 0
        self.path_error = False
        self.silent = False
        report.setdefault("frames", [])
        report.setdefault("path_errors", [])
        report.setdefault("success_reports_sent", [])
        report.setdefault("send_from_paths", [])
        report.setdefault("send_to_paths", [])

    def handle(self, conn, f, conn_no=0):
        rep = self.report
        rec = frame_record(conn_no, f)
        rep["frames"].append(rec)
        if not f.is_request():
            return
        if f.method == "REPORT":
            rep["reports_received"] = rep.get("reports_received", 0) + 1
            return      # REPORTs are never answered (RFC 4975 7.1.2)
        if self.silent:
            # Never answer (a receiver that hangs): the relay's timeout
            # is what is being tested.
            return
        code, comment = 200, "OK"
        to = f.header("To-Path")
        frm = f.header("From-Path")
        if f.method != "SEND":
            code, comment = 501, "Unknown method"
        elif not to or not frm or not f.header("Message-ID"):
            code, comment = 400, "Missing header"
        else:
            for key, val in (("send_to_paths", to), ("send_from_paths", frm)):
                if val not in rep[key]:
                    rep[key].append(val)
            err = None
            if not same_path(to.split(), [self.own], self.exact):
                # RFC 4975 section 7.3.1: the To-Path that reaches us must
                # be our own URI and nothing else.
                code, comment = 481, "Not my session"
                err = "To-Path"
            elif not self.check.check(frm.split()):
                code, comment = 481, "Invalid From-Path"
                err = "From-Path"
            if err:
                self.path_error = True
                rep["path_errors"].append({
                    "what": err, "tid": f.tid,
                    "message_id": f.header("Message-ID"),
                    "got_to_path": to, "want_to_path": self.own,
                    "got_from_path": frm,
                    "want_from_path": self.check.expected(frm.split())})
        data_chunk = False
        if code == 200 and f.body == b"" and \
                f.header("Content-Type") is None:
            rep["empty_sends"] = rep.get("empty_sends", 0) + 1
        elif code == 200:
            data_chunk = True
            mid = f.header("Message-ID")
            if mid not in self.messages:
                n = len(self.order) + 1
                path = self.out if n == 1 else "%s.%d" % (self.out, n)
                self.messages[mid] = Message(path)
                self.order.append(mid)
            m = self.messages[mid]
            if (f.header("Success-Report") or "no").lower() == "yes":
                self.asked_report.add(mid)
            try:
                m.write(f)
            except ProtocolError as e:
                code, comment = 400, "Bad Byte-Range"
                rep["errors"].append(str(e))
        fr = (f.header("Failure-Report") or "yes").lower()
        if fr == "yes" or (fr == "partial" and code != 200):
            conn.send(build_response(f, code, comment, self.own))
            key = str(code)
            rep["responses_sent"][key] = rep["responses_sent"].get(key, 0) + 1
        if data_chunk and code == 200:
            m = self.messages[f.header("Message-ID")]
            if m.done or f.flag == "#":
                self.done += 1
                if self.success_report and f.flag == "$" and \
                        f.header("Message-ID") in self.asked_report:
                    total = m.total if m.total is not None else m.bytes
                    data = build_success_report(f, self.own, total)
                    conn.send(data)
                    rep["success_reports_sent"].append({
                        "to_path": " ".join(frm.split()),
                        "from_path": self.own,
                        "message_id": f.header("Message-ID"),
                        "byte_range": "1-%d/%d" % (total, total)})

    def close(self):
        for mid in self.order:
            r = self.messages[mid].close()
            r["message_id"] = mid
            self.report["messages"].append(r)


def cmd_recv(a):
    import selectors
    session = "r" + secrets.token_hex(8)
    report = {"role": "recv", "ok": False, "auth_codes": [],
              "responses_sent": {}, "reports_received": 0, "messages": [],
              "empty_sends": 0, "errors": [],
              "compare": "bytes" if a.byte_exact else "rfc4975-6.1"}
    remote = a.remote_path.split() if a.remote_path is not None else None
    conns = []          # Connection objects being served
    lsock = None
    rcv = None
    sel = selectors.DefaultSelector()
    deadline = time.monotonic() + a.timeout
    try:
        if remote is not None:
            parse_path(a.remote_path)
        use_path = []
        if a.listen:
            # Direct receiver (no relay of ours): the sender's relay opens
            # a connection to the host:port of our URI.
            host, port = split_hostport(a.listen)
            lsock = socket.socket(socket.AF_INET6 if ":" in host
                                  else socket.AF_INET)
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lsock.bind((host, port))
            lsock.listen(16)
            lhost, lport = lsock.getsockname()[:2]
            fmt = "msrp://[%s]:%d/%s;tcp" if ":" in lhost \
                else "msrp://%s:%d/%s;tcp"
            own = fmt % (lhost, lport, session)
            sel.register(lsock, selectors.EVENT_READ, None)
        elif a.connect:
            # Active receiver (RFC 6135 a=setup:active, no relay of ours):
            # dial the peer named by the first URI of its path and bind
            # the connection with an empty SEND, whose 200 comes first.
            peer = parse_path(a.connect)[0]
            conn = Connection(peer.host, peer.port, a.timeout)
            own = a.own_uri or conn.own_uri(session)
            bind_tid = new_tid()
            conn.send(build_request("SEND", bind_tid, [
                ("To-Path", a.connect), ("From-Path", own),
                ("Message-ID", secrets.token_hex(8))]))
            early = []
            while True:
                f = conn.recv_frame()
                if f is None:
                    raise ProtocolError("closed before the binding SEND's answer")
                if f.is_request():
                    early.append(f)     # served below, in order
                    continue
                if f.tid == bind_tid:
                    report["bind_code"] = f.code
                    if f.code != 200:
                        raise ProtocolError("binding SEND answered %d" % f.code)
                    break
            conn.pending = early + conn.pending
            conns.append(conn)
        else:
            if not a.relay:
                raise ValueError("recv needs --relay or --listen")
            host, port = split_hostport(a.relay)
            conn = Connection(host, port, a.timeout)
            own = conn.own_uri(session)
            relay_uri = a.relay_uri or "msrp://%s:%d;tcp" % (host, port)
            codes, use_path, expires = auth(conn, relay_uri, own, a.user,
                                            a.password, a.digest_uri)
            report["auth_codes"] = codes
            report["expires"] = expires
            conns.append(conn)
        report["own_uri"] = own
        report["use_path"] = " ".join(use_path)
        report["path"] = " ".join(use_path + [own])
        report["expected_from_path"] = None
        rcv = Receiver(own, use_path, remote, a.byte_exact, a.out,
                       a.success_report, report, a.one_peer)
        rcv.silent = a.silent
        report["expected_from_path"] = rcv.check.expected()
        print("PATH " + report["path"], flush=True)
        if a.ready_file:
            write_atomically(a.ready_file, report["path"] + "\n")
        for i, c in enumerate(conns):
            c.no = i
            # Frames that came behind the AUTH's 200.
            for f in list(c.pending) + list(c.reader.frames()):
                rcv.handle(c, f, c.no)
            c.pending = []
            c.sock.setblocking(False)
            sel.register(c.sock, selectors.EVENT_READ, c)
        closed = False
        stop_at = None
        while not closed and (a.messages == 0 or rcv.done < a.messages):
            if rcv.path_error and stop_at is None:
                # A path error ends the run: a moment more to answer
                # what is in flight, then exit 1.
                stop_at = time.monotonic() + a.drain
            now = time.monotonic()
            if stop_at is not None and now >= stop_at:
                break
            left = min(deadline, stop_at or deadline) - now
            if left <= 0 and a.silent:
                break       # silent: the timeout is the normal end
            if left <= 0:
                raise TimeoutError("no complete message before the deadline")
            for key, _ in sel.select(left):
                if key.data is None:
                    s, _ = lsock.accept()
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    c = Connection(None, None, a.timeout, sock=s)
                    c.no = len(conns)
                    conns.append(c)
                    s.setblocking(False)
                    sel.register(s, selectors.EVENT_READ, c)
                    continue
                c = key.data
                try:
                    data = c.sock.recv(65536)
                except BlockingIOError:
                    continue
                if not data:
                    sel.unregister(c.sock)
                    if c.reader.buf or c.reader.state != "start":
                        report["errors"].append(
                            "connection %d closed inside a frame" % c.no)
                    c.close()
                    if not a.listen:
                        closed = True   # the relay (or the peer we dialled) closed
                    continue
                c.reader.feed(data)
                c.sock.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    for f in c.reader.frames():
                        rcv.handle(c, f, c.no)
                finally:
                    c.sock.setblocking(False)
        report["ok"] = (a.silent or a.messages == 0 or
                        rcv.done >= a.messages) and \
            not report["errors"] and not report["path_errors"]
    except (ProtocolError, TimeoutError, OSError, ValueError) as e:
        report["errors"].append("%s: %s" % (type(e).__name__, e))
    finally:
        for c in conns:
            c.close()
        if lsock:
            lsock.close()
        if rcv:
            rcv.close()
            report["expected_from_path"] = rcv.check.expected()
            if rcv.check.learned:
                report["learned_remote_paths"] = [
                    " ".join(v) for v in rcv.check.learned.values()]
    if report.get("path_errors"):
        report["ok"] = False
    if a.no_frames:
        report.pop("frames", None)
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


# ---------------------------------------------------------------------------
# Sender

def wait_for_file(path, deadline):
    while time.monotonic() < deadline:
        try:
            with open(path) as fp:
                text = fp.read().strip()
            if text:
                return text
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise TimeoutError("%s did not appear before the deadline" % path)


def cmd_send(a):
    with open(a.file, "rb") as fp:
        data = fp.read()
    report = {"role": "send", "ok": False, "bind_code": None,
              "chunks": 0, "bytes": len(data), "codes": {},
              "unexpected_responses": 0, "requests_received": {},
              "sha256": hashlib.sha256(data).hexdigest(), "errors": [],
              "compare": "bytes" if a.byte_exact else "rfc4975-6.1",
              "auth_codes": [], "use_path": "", "responses": [],
              "reports": [], "path_errors": [], "success_report": None}
    deadline = time.monotonic() + a.timeout
    conn = None
    bind_tid = None
    outstanding = {}
    failed = False
    mid = secrets.token_hex(10)
    state = {}

    def note_path_error(what, got, want, tid):
        report["path_errors"].append({"what": what, "tid": tid,
                                      "got": got, "want": want})

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
            elif f.method == "REPORT":
                rec = {"tid": f.tid, "to_path": f.header("To-Path"),
                       "from_path": f.header("From-Path"),
                       "message_id": f.header("Message-ID"),
                       "byte_range": f.header("Byte-Range"),
                       "status": f.header("Status")}
                report["reports"].append(rec)
                if f.header("Message-ID") == mid and \
                        status_code(f.header("Status")) == 200 and \
                        report["success_report"] is None:
                    errs = check_success_report(f, own, want_report_from,
                                                a.byte_exact)
                    rec = dict(rec, ok=not errs,
                               want_from_path=" ".join(want_report_from))
                    report["success_report"] = rec
                    for e in errs:
                        note_path_error("REPORT", rec["from_path"]
                                        if "From-Path" in e else
                                        rec["to_path"], e, f.tid)
                elif f.header("Message-ID") == mid:
                    failed = True   # a Failure REPORT for our message
            return
        to = (f.header("To-Path") or "").split()
        frm = (f.header("From-Path") or "").split()
        key = (f.code, " ".join(to), " ".join(frm))
        for r in report["responses"]:
            if (r["code"], r["to_path"], r["from_path"]) == key:
                r["count"] += 1
                break
        else:
            report["responses"].append({"code": f.code, "to_path": key[1],
                                        "from_path": key[2], "count": 1})
        # Responses are hop by hop: To-Path is our own URI, From-Path the
        # URI the first hop consumed (our first To-Path URI).
        if not same_path(to, [own], a.byte_exact):
            note_path_error("response To-Path", key[1], own, f.tid)
        if a.check_response_from and \
                not same_path(frm, [to_path[0]], a.byte_exact):
            note_path_error("response From-Path", key[2], to_path[0], f.tid)
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

    try:
        given = a.to_path.split() if a.to_path else []
        if a.relay:
            host, port = split_hostport(a.relay)
        else:
            if not given:
                raise ValueError("--to-path-file needs --relay")
            first = MsrpUri(given[0])
            host, port = first.host, first.port
        conn = Connection(host, port, a.timeout)
        conn.deadline = deadline
        own = a.from_uri or conn.own_uri("s" + secrets.token_hex(8))
        MsrpUri(own)
        report["own_uri"] = own
        use_path = []
        if a.user is not None:
            # RFC 4976 section 5.1: AUTH first, then every request goes
            # through our relay: To-Path = our Use-Path + the peer's path.
            relay_uri = a.relay_uri or "msrp://%s:%d;tcp" % (host, port)
            codes, use_path, _exp = auth(conn, relay_uri, own, a.user,
                                         a.password, a.digest_uri)
            report["auth_codes"] = codes
            report["use_path"] = " ".join(use_path)
        report["path"] = " ".join(use_path + [own])
        if a.path_file:
            # Our a=path, as SDP would carry it to the peer.
            write_atomically(a.path_file, report["path"] + "\n")
        if a.to_path_file:
            given = wait_for_file(a.to_path_file, deadline).split()
        if not given:
            raise ValueError("empty To-Path")
        parse_path(" ".join(given))
        to_path = use_path + given
        report["to_path_sent"] = " ".join(to_path)
        # The far end's REPORT comes back through our relays in reverse.
        want_report_from = expected_from_path(use_path, given)
        report["want_report_from_path"] = " ".join(want_report_from)
        base = [("To-Path", " ".join(to_path)), ("From-Path", own)]
        if not a.no_bind:
            # An empty SEND binds the connection (RFC 4975 section 7.1.1);
            # many clients need its 200 before data flows.
            bind_tid = new_tid()
            outstanding[bind_tid] = True
            conn.send(build_request("SEND", bind_tid, base + [
                ("Message-ID", secrets.token_hex(8))]))
            while outstanding:
                await_one()
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
        if a.success_report and not failed and a.expect_code == 200:
            # Wait for the far end's Success REPORT (RFC 4975 7.1.2).
            while report["success_report"] is None and not failed:
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
            if a.success_report:
                sr = report["success_report"]
                report["ok"] = report["ok"] and sr is not None and sr["ok"]
        report["ok"] = report["ok"] and not report["path_errors"]
    except (ProtocolError, TimeoutError, OSError, ValueError) as e:
        report["errors"].append("%s: %s" % (type(e).__name__, e))
    finally:
        if conn:
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


def _selftest_paths(check):
    """Path rules (no network): FromPathCheck, the Receiver's 481s and its
    Success REPORT, the sender's REPORT check."""
    import tempfile
    U = "msrp://relay.example:2855/u1;tcp"
    U2 = "msrp://relay2.example:2855/u2;tcp"
    S = "msrp://alice.example:9/s1;tcp"
    R = "msrp://bob.example:7777/r1;tcp"
    check(expected_from_path([U, U2], [S]) == [U2, U, S],
          "expected From-Path is reverse(Use-Path) + remote path")
    c = FromPathCheck([U], [S], exact=False)
    check(c.check([U, S]), "From-Path U S accepted")
    check(c.check(["MSRP://RELAY.example/u1;TCP", "msrp://alice.example:9/s1;tcp"]),
          "RFC 4975 6.1: case-insensitive scheme/host/transport, default port")
    check(not c.check(["msrp://relay.example:2855/U1;tcp", S]),
          "session id compared exactly")
    check(not c.check([S]), "missing Use-Path URI refused")
    check(not c.check(["msrp://relay.example:2855/made-up;tcp", S]),
          "relay URI other than the reserved one refused")
    check(not c.check([U, U, S]), "extra URI refused")
    e = FromPathCheck([U], [S], exact=True)
    check(e.check([U, S]) and not e.check(["msrp://relay.example/u1;tcp", S]),
          "byte-exact comparison")
    S2 = "msrp://carol.example:9/s2;tcp"
    for one_peer in (False, True):
        lrn = FromPathCheck([U], None, exact=True, one_peer=one_peer)
        check(not lrn.check(["msrp://x:1/y;tcp", S]) and lrn.remote is None,
              "learning: a wrong prefix is refused and teaches nothing")
        check(not lrn.check([U]), "learning: the prefix alone is refused")
        check(lrn.check([U, U2, S]) and lrn.remote == [U2, S],
              "learning: the first good From-Path teaches the remote path")
        check(lrn.check([U, U2, S]) and not lrn.check([U, S]) and
              not lrn.check([U, "msrp://relay2.example:2855/u3;tcp", S]),
              "learning: the sender's later requests are held to its path")
        check(lrn.expected([U, S]) == " ".join([U, U2, S]),
              "expected() %r" % lrn.expected([U, S]))
        check(lrn.check([U, S2]) != one_peer,
              "learning: another sender is %s" %
              ("refused (one peer)" if one_peer else "learned anew"))
    check(FromPathCheck([], None).check([S]), "no Use-Path: anything learned")

    class FakeConn:
        def __init__(self):
            self.out = bytearray()

        def send(self, data):
            self.out += data

        def frames(self):
            rd = FrameReader()
            rd.feed(bytes(self.out))
            self.out.clear()
            return list(rd.frames())

    tmp = tempfile.mkdtemp(prefix="probe-selftest-")
    try:
        rep = {"errors": [], "messages": [], "responses_sent": {}}
        rcv = Receiver(R, [U], [S], True, os.path.join(tmp, "out"), True,
                       rep)
        conn = FakeConn()

        def send(tid, frm, to=R, body=None, br=None, flag="$", sr=False):
            h = [("To-Path", to), ("From-Path", frm), ("Message-ID", "m1")]
            if br:
                h.append(("Byte-Range", br))
            if sr:
                h.append(("Success-Report", "yes"))
            if body is not None:
                h.append(("Content-Type", "text/plain"))
            rd = FrameReader()
            rd.feed(build_request("SEND", tid, h, body, flag))
            rcv.handle(conn, next(rd.frames()))
            return conn.frames()

        got = send("bind1", U + " " + S)
        check(len(got) == 1 and got[0].code == 200 and
              got[0].header("To-Path") == U and
              got[0].header("From-Path") == R,
              "bind SEND answered 200 To-Path U From-Path R: %r" % got)
        got = send("bad01", "msrp://relay.example:2855/x;tcp " + S,
                   body=b"ab", br="1-2/5", flag="+", sr=True)
        check(len(got) == 1 and got[0].code == 481 and
              rcv.path_error and len(rep["path_errors"]) == 1 and
              rep["path_errors"][0]["want_from_path"] == U + " " + S,
              "made-up relay URI in From-Path: 481 and recorded")
        got = send("bad02", U + " " + S, to=U + " " + R, body=b"ab",
                   br="1-2/5", flag="+", sr=True)
        check(len(got) == 1 and got[0].code == 481 and
              rep["path_errors"][-1]["what"] == "To-Path",
              "To-Path other than my URI alone: 481")
        got = send("good1", U + " " + S, body=b"ab", br="1-2/5", flag="+",
                   sr=True)
        check([f.code for f in got] == [200], "chunk 1: 200")
        got = send("good2", U + " " + S, body=b"cde", br="3-5/5", sr=True)
        check(len(got) == 2 and got[0].code == 200 and
              got[1].method == "REPORT" and
              got[1].header("To-Path") == U + " " + S and
              got[1].header("From-Path") == R and
              got[1].header("Byte-Range") == "1-5/5" and
              got[1].header("Status") == "000 200 OK" and
              got[1].header("Message-ID") == "m1" and rcv.done == 1,
              "last chunk: 200 then Success REPORT To-Path U S, "
              "From-Path R, 1-5/5, 000 200 OK: %r" %
              [(f.method, f.headers) for f in got])
        rcv.close()
        check(rep["messages"][0]["bytes"] == 5 and
              open(os.path.join(tmp, "out"), "rb").read() == b"abcde",
              "481'd chunks are not stored")
        rep_frame = got[1] if len(got) == 2 else None
        if rep_frame is not None:
            # The sender side: Success REPORT as it reaches the sender.
            rd = FrameReader()
            rd.feed(build_request("REPORT", "rep01", [
                ("To-Path", S), ("From-Path", U + " " + R),
                ("Message-ID", "m1"), ("Byte-Range", "1-5/5"),
                ("Status", "000 200 OK")]))
            f = next(rd.frames())
            check(check_success_report(f, S, [U, R], True) == [],
                  "sender accepts REPORT From-Path U R")
            errs = check_success_report(f, S, [U2, U, R], True)
            check(len(errs) == 1 and "From-Path" in errs[0],
                  "sender refuses a REPORT From-Path it did not predict")
            check(len(check_success_report(f, "msrp://a:1/b;tcp", [U, R],
                                           True)) == 1,
                  "sender refuses a REPORT To-Path other than its URI")
    finally:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    check(status_code("000 200 OK") == 200 and
          status_code("000 481 No") == 481 and status_code("200") is None,
          "Status header parsing")


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
    _selftest_paths(check)
    for with_uri in (False, True):
        err = _selftest_digest_relay(with_uri)
        check(err is None, "digest AUTH (uri=%s): %s" % (with_uri, err))
    print(json.dumps({"role": "selftest", "ok": not fails, "errors": fails}))
    return 0 if not fails else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("recv", help="AUTH as the receiver, store messages")
    r.add_argument("--relay", help="HOST:PORT of the relay")
    r.add_argument("--listen", help="HOST:PORT: no relay, listen for the "
                   "connection (port 0 = ephemeral)")
    r.add_argument("--connect", help="\"URIS\": the peer's path; dial its "
                   "first URI and bind with an empty SEND (a=setup:active)")
    r.add_argument("--own-uri", help="with --connect: our URI (as our SDP "
                   "said; default from the socket's address)")
    r.add_argument("--remote-path", help="the sender's path (SDP a=path): "
                   "the whole From-Path must be reverse(Use-Path) + it")
    r.add_argument("--one-peer", action="store_true",
                   help="without --remote-path: the first learned sender "
                   "path is the only one accepted (default: learned per "
                   "sender URI)")
    r.add_argument("--byte-exact", action="store_true",
                   help="compare paths byte for byte (default: RFC 4975 "
                   "section 6.1 URI comparison)")
    r.add_argument("--success-report", "--success-report-check",
                   dest="success_report", action="store_true",
                   help="send a Success REPORT when a message asks for one")
    r.add_argument("--silent", action="store_true",
                   help="never answer anything; run until --timeout "
                   "(then exit 0)")
    r.add_argument("--drain", type=float, default=0.5,
                   help="after a path error, keep answering this long")
    r.add_argument("--no-frames", action="store_true",
                   help="leave the per-frame paths out of the report")
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
    s.add_argument("--to-path", help="the peer's path (without our "
                   "Use-Path)")
    s.add_argument("--to-path-file", help="wait for this file and read "
                   "the peer's path from it (after AUTH)")
    s.add_argument("--path-file", help="write our own path (Use-Path + "
                   "our URI) here after AUTH")
    s.add_argument("--user", help="AUTH to the relay first")
    s.add_argument("--password", default="")
    s.add_argument("--digest-uri", action="store_true")
    s.add_argument("--relay-uri", help="To-Path of the AUTH "
                   "(default msrp://HOST:PORT;tcp)")
    s.add_argument("--from-uri", help="our own URI (default: the real "
                   "local address with a random session id)")
    s.add_argument("--byte-exact", action="store_true",
                   help="compare paths byte for byte")
    s.add_argument("--check-response-from", action="store_true",
                   help="every response's From-Path must be our first "
                   "To-Path URI")
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
    if a.cmd == "send" and bool(a.to_path) == bool(a.to_path_file):
        p.error("give exactly one of --to-path and --to-path-file")
    if a.cmd == "recv" and (bool(a.relay) + bool(a.listen) + bool(a.connect)) != 1:
        p.error("give exactly one of --relay, --listen and --connect")
    return {"recv": cmd_recv, "send": cmd_send,
            "selftest": cmd_selftest}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
