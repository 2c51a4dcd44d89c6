#!/usr/bin/env python3
"""sip_call.py: a scripted SIP UAC and UAS (Python 3, stdlib only) that place
calls through an SBC (Kamailio with sbc.cfg) and record what the SBC did to
the SDP.  Used by tests/peers/sbc_kamailio.sh.

Both agents run in one process on 127.0.0.1 with ephemeral UDP ports: the
UAC sends every request to the proxy (--proxy HOST:PORT, an outbound proxy);
the INVITE's Request-URI is sip:bob@127.0.0.1:<UAS port>, so the proxy
forwards it to the UAS.  The UAC follows the Record-Route set of the 200 for
the ACK and the BYE.  Requests are retransmitted with RFC 3261 timers (T1 =
0.5 s, doubling) until a response; the UAS answers INVITE with 100 at once,
retransmits its 200 until the ACK, answers BYE with 200 and re-sends its last
response to a retransmitted request.  Every bound is explicit; nothing waits
for ever.  All messages sent and received are appended to DIR/sip.log.

The offer (UAC):  session c=IN IP4 127.0.0.1, an audio section
(m=audio 40000 RTP/AVP 0) and an MSRP section
  m=message 9 TCP/MSRP *  /  a=accept-types:*  /  a=path:<--offer-path>
(no a=setup: the offerer dials, RFC 4975).

Modes:

  call --proxy H:P --call-id CID --dir DIR [--answer-path-file F]
       [--bye-file F] [--hold S] [--timeout S]
      One call, with hand-offs through files in DIR (each written whole,
      by rename):
        DIR/uas.port        the UAS's UDP port (before the INVITE is sent)
        DIR/offer.sent.sdp  the SDP the UAC sent
        DIR/offer.recv.sdp  the SDP the UAS received (after the SBC)
        DIR/offered_path    its MSRP a=path (empty line if none)
      With --answer-path-file F the UAS then waits (--timeout) until F
      holds an MSRP URI -- the path of the receiver the caller started for
      that offered path -- and answers 200 with it (m=message <its port>,
      no a=setup: the answerer listens); without it the UAS answers at once
      with a=path msrp://127.0.0.1:9/bob;tcp and a=setup:active (it would
      dial: the media relay dials nobody).
        DIR/answer.sent.sdp the SDP the UAS sent in its 200
        DIR/answer.recv.sdp the SDP the UAC got in the 200 (after the SBC)
        DIR/answer_path     its MSRP a=path
      The UAC ACKs; then, with --bye-file F, it waits (at most --hold
      seconds) until F exists, and sends BYE through the proxy:
        DIR/bye_status      the BYE's final status code
      Prints "uas-port N", "offered-path URI", "answer-path URI",
      "bye CODE" as they happen.  Exit 0 when the INVITE got 200, the ACK
      reached the UAS and the BYE got 200 (with the UAS having seen it);
      1 otherwise, with a "sip_call: ..." reason on stderr.

  calls --proxy H:P --prefix PFX --first N --count K --dir DIR [--timeout S]
      K calls one after the other, call-ids PFX-NN (NN = N .. N+K-1, two
      digits at least), each: INVITE, 200 (the UAS answers at once as
      above), ACK, BYE.  Prints one line per call:
        call CID status=CODE invite_ms=MS offered=URI answered=URI bye=CODE
      (URI "-" when absent).  Exit 0 when every call completed (200 to
      INVITE and BYE), 1 otherwise.  The SDP checks are the caller's.

  selftest
      Both agents against a stateless in-process stand-in proxy that
      forwards by Request-URI / Route and inserts Record-Route; no SDP
      rewriting.  Exit 0 on success.
"""
import argparse
import os
import random
import socket
import string
import sys
import threading
import time

T1 = 0.5
HOST = "127.0.0.1"


def rand_token(n=10):
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


class Trace:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def log(self, who, direction, addr, data):
        if not self.path:
            return
        with self.lock, open(self.path, "a") as f:
            f.write("==== %.3f %s %s %s:%d (%d bytes)\n" % (
                time.time(), who, direction, addr[0], addr[1], len(data)))
            f.write(data.decode("utf-8", "replace"))
            if not data.endswith(b"\n"):
                f.write("\n")


class Msg:
    """A parsed SIP message: start line, ordered headers, body."""

    COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
               "l": "content-length", "c": "content-type"}

    def __init__(self, data):
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("no end of headers")
        lines = head.decode("utf-8", "replace").split("\r\n")
        self.start = lines[0]
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + " " + line.strip())
                continue
            name, _, value = line.partition(":")
            name = name.strip()
            self.headers.append((name, value.strip()))
        self.body = body
        parts = self.start.split(" ", 2)
        if parts[0] == "SIP/2.0":
            self.is_request = False
            self.status = int(parts[1])
            self.method = None
        else:
            self.is_request = True
            self.method = parts[0]
            self.ruri = parts[1]
            self.status = None

    def _canon(self, name):
        n = name.lower()
        return self.COMPACT.get(n, n)

    def all(self, name):
        """Every value of a header, comma-separated lists split (for the
        headers where that is allowed and used here)."""
        want = name.lower()
        out = []
        for n, v in self.headers:
            if self._canon(n) != want:
                continue
            if want in ("via", "record-route", "route"):
                out.extend(split_commas(v))
            else:
                out.append(v)
        return out

    def raw(self, name):
        """The header lines as received (name and value), in order."""
        want = name.lower()
        return [(n, v) for n, v in self.headers if self._canon(n) == want]

    def get(self, name, default=None):
        v = self.all(name)
        return v[0] if v else default

    def cseq(self):
        num, _, method = self.get("cseq", "0 X").partition(" ")
        return int(num), method.strip()

    def branch(self):
        return param(self.get("via", ""), "branch")


def split_commas(v):
    out, depth, cur, quote = [], 0, "", False
    for ch in v:
        if ch == '"':
            quote = not quote
        elif not quote and ch == "<":
            depth += 1
        elif not quote and ch == ">":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def param(value, name):
    for p in value.split(";")[1:]:
        k, _, v = p.partition("=")
        if k.strip().lower() == name:
            return v.strip()
    return None


def uri_of(nameaddr):
    if "<" in nameaddr:
        return nameaddr[nameaddr.index("<") + 1:nameaddr.index(">")]
    return nameaddr.split(";")[0].strip()


def hostport_of(uri):
    """(host, port) of a sip: URI."""
    u = uri.split(":", 1)[1]
    if "@" in u:
        u = u.split("@", 1)[1]
    u = u.split(";")[0].split("?")[0].split(">")[0]
    if ":" in u:
        h, p = u.rsplit(":", 1)
        return h, int(p)
    return u, 5060


def build(start, headers, body=b""):
    lines = [start] + ["%s: %s" % (n, v) for n, v in headers]
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def msrp_path(sdp_bytes):
    """The a=path of the first m=message section, or None."""
    in_msrp = False
    for line in sdp_bytes.decode("utf-8", "replace").split("\r\n"):
        if line.startswith("m="):
            in_msrp = line.startswith("m=message ")
        elif in_msrp and line.startswith("a=path:"):
            return line[len("a=path:"):]
    return None


def offer_sdp(path):
    return ("v=0\r\n"
            "o=alice 2890844526 2890844526 IN IP4 127.0.0.1\r\n"
            "s=-\r\n"
            "c=IN IP4 127.0.0.1\r\n"
            "t=0 0\r\n"
            "m=audio 40000 RTP/AVP 0\r\n"
            "a=rtpmap:0 PCMU/8000\r\n"
            "a=sendrecv\r\n"
            "m=message 9 TCP/MSRP *\r\n"
            "a=accept-types:*\r\n"
            "a=path:%s\r\n"
            "a=max-size:1000000000\r\n" % path).encode()


def answer_sdp(path, setup=None):
    port = path.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]
    s = ("v=0\r\n"
         "o=bob 2808844564 2808844564 IN IP4 127.0.0.1\r\n"
         "s=-\r\n"
         "c=IN IP4 127.0.0.1\r\n"
         "t=0 0\r\n"
         "m=audio 41000 RTP/AVP 0\r\n"
         "a=rtpmap:0 PCMU/8000\r\n"
         "a=sendrecv\r\n"
         "m=message %s TCP/MSRP *\r\n"
         "a=accept-types:*\r\n"
         "a=path:%s\r\n" % (port, path))
    if setup:
        s += "a=setup:%s\r\n" % setup
    return s.encode()


class Agent:
    def __init__(self, name, trace):
        self.name = name
        self.trace = trace
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]

    def send(self, data, addr):
        self.trace.log(self.name, "->", addr, data)
        self.sock.sendto(data, addr)

    def recv(self, timeout):
        """One SIP message (Msg, addr) or (None, None) after timeout."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, addr = self.sock.recvfrom(65535)
        except socket.timeout:
            return None, None
        self.trace.log(self.name, "<-", addr, data)
        if data.strip() == b"":
            return None, None
        try:
            return Msg(data), addr
        except ValueError:
            return None, None


def response_to(req, code, reason, extra=(), body=b"", to_tag=None):
    hs = []
    for n, v in req.raw("via"):
        hs.append(("Via", v))
    if 180 <= code < 300:
        for n, v in req.raw("record-route"):
            hs.append(("Record-Route", v))
    hs.append(("From", req.get("from")))
    to = req.get("to")
    if to_tag and param(to, "tag") is None:
        to += ";tag=" + to_tag
    hs.append(("To", to))
    hs.append(("Call-ID", req.get("call-id")))
    hs.append(("CSeq", req.get("cseq")))
    hs.extend(extra)
    return build("SIP/2.0 %d %s" % (code, reason), hs, body)


class UAS(threading.Thread):
    """Answers INVITEs (per call-id state), takes ACKs, answers BYEs."""

    def __init__(self, trace, deadline_s):
        super().__init__(daemon=True)
        self.agent = Agent("uas", trace)
        self.port = self.agent.port
        self.calls = {}          # call-id -> dict
        self.lock = threading.Condition()
        self.stop = False
        self.plans = {}          # call-id -> dict(dir, answer_path_file)
        self.deadline_s = deadline_s
        self.errors = []

    def plan(self, call_id, d=None, answer_path_file=None):
        with self.lock:
            self.plans[call_id] = {"dir": d, "answer_path_file": answer_path_file}

    def wait(self, call_id, key, timeout):
        end = time.monotonic() + timeout
        with self.lock:
            while not self.calls.get(call_id, {}).get(key):
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(left)
            return True

    def run(self):
        while not self.stop:
            msg, addr = self.agent.recv(0.05)
            if msg is not None and msg.is_request:
                try:
                    self.on_request(msg, addr)
                except Exception as e:  # keep serving; report at the end
                    self.errors.append("uas: %r" % e)
            self.tick()

    def on_request(self, req, addr):
        cid = req.get("call-id")
        with self.lock:
            c = self.calls.setdefault(cid, {})
        if req.method == "INVITE":
            if c.get("invite_branch") == req.branch():
                self.agent.send(c["last_invite_resp"], addr)   # retransmission
                return
            plan = self.plans.get(cid, {})
            c.update(invite=req, invite_branch=req.branch(), addr=addr,
                     to_tag=rand_token(), created=time.monotonic())
            c["last_invite_resp"] = response_to(req, 100, "Trying")
            self.agent.send(c["last_invite_resp"], addr)
            path = msrp_path(req.body)
            c["offered_path"] = path
            d = plan.get("dir")
            if d:
                write_atomic(os.path.join(d, "offer.recv.sdp"), req.body.decode("utf-8", "replace"))
                write_atomic(os.path.join(d, "offered_path"), (path or "") + "\n")
                print("offered-path %s" % (path or "-"), flush=True)
            c["answer_path_file"] = plan.get("answer_path_file")
            c["pending_answer"] = True
        elif req.method == "ACK":
            with self.lock:
                c["acked"] = True
                self.lock.notify_all()
        elif req.method == "BYE":
            resp = response_to(req, 200, "OK", to_tag=None)
            self.agent.send(resp, addr)
            with self.lock:
                c["bye"] = True
                self.lock.notify_all()
        elif req.method == "CANCEL":
            self.agent.send(response_to(req, 200, "OK"), addr)
        else:
            self.agent.send(response_to(req, 501, "Not Implemented"), addr)

    def tick(self):
        now = time.monotonic()
        for cid, c in list(self.calls.items()):
            if c.get("pending_answer"):
                apf = c.get("answer_path_file")
                if apf:
                    if not os.path.exists(apf) or not open(apf).read().strip():
                        if now - c["created"] > self.deadline_s:
                            c["pending_answer"] = False
                            self.errors.append("uas: no answer path in %s within %ss" % (apf, self.deadline_s))
                            c["last_invite_resp"] = response_to(c["invite"], 500, "No Receiver",
                                                                to_tag=c["to_tag"])
                            self.agent.send(c["last_invite_resp"], c["addr"])
                        continue
                    sdp = answer_sdp(open(apf).read().strip())
                else:
                    sdp = answer_sdp("msrp://127.0.0.1:9/bob%s;tcp" % rand_token(6), setup="active")
                c["pending_answer"] = False
                plan = self.plans.get(cid, {})
                if plan.get("dir"):
                    write_atomic(os.path.join(plan["dir"], "answer.sent.sdp"), sdp.decode())
                c["last_invite_resp"] = response_to(
                    c["invite"], 200, "OK", to_tag=c["to_tag"], body=sdp,
                    extra=[("Contact", "<sip:bob@127.0.0.1:%d>" % self.port),
                           ("Content-Type", "application/sdp")])
                self.agent.send(c["last_invite_resp"], c["addr"])
                c["ok_sent"] = now
                c["ok_next"] = now + T1
                c["ok_interval"] = T1
            elif c.get("ok_sent") and not c.get("acked") and now >= c["ok_next"]:
                if now - c["ok_sent"] > 32 * T1:
                    self.errors.append("uas: no ACK for %s" % cid)
                    c["ok_sent"] = None
                    continue
                self.agent.send(c["last_invite_resp"], c["addr"])
                c["ok_interval"] = min(c["ok_interval"] * 2, 4.0)
                c["ok_next"] = now + c["ok_interval"]


class UAC:
    def __init__(self, trace, proxy):
        self.agent = Agent("uac", trace)
        self.port = self.agent.port
        self.proxy = proxy

    def transaction(self, req_bytes, dest, method, call_id, cseq, timeout):
        """Send a request, retransmit per Timer A/E, return the final
        response (Msg) or None.  Provisional responses stop the
        retransmissions (INVITE) as RFC 3261 says."""
        self.agent.send(req_bytes, dest)
        end = time.monotonic() + timeout
        interval, nxt, provisional = T1, time.monotonic() + T1, False
        while True:
            now = time.monotonic()
            if now >= end:
                return None
            msg, _ = self.agent.recv(min(nxt, end) - now if not provisional else end - now)
            if msg is None:
                if not provisional and time.monotonic() >= nxt:
                    self.agent.send(req_bytes, dest)
                    interval = min(interval * 2, 4.0)
                    nxt = time.monotonic() + interval
                continue
            if msg.is_request:
                continue
            if msg.get("call-id") != call_id or msg.cseq() != (cseq, method):
                continue
            if msg.status < 200:
                provisional = True if method == "INVITE" else provisional
                continue
            return msg

    def invite(self, call_id, sdp, uas_port, timeout):
        ftag = rand_token()
        branch = "z9hG4bK" + rand_token(16)
        ruri = "sip:bob@127.0.0.1:%d" % uas_port
        hs = [("Via", "SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport" % (self.port, branch)),
              ("Max-Forwards", "70"),
              ("From", "<sip:alice@127.0.0.1>;tag=" + ftag),
              ("To", "<sip:bob@127.0.0.1>"),
              ("Call-ID", call_id),
              ("CSeq", "1 INVITE"),
              ("Contact", "<sip:alice@127.0.0.1:%d>" % self.port),
              ("Content-Type", "application/sdp")]
        req = build("INVITE %s SIP/2.0" % ruri, hs, sdp)
        t0 = time.monotonic()
        resp = self.transaction(req, self.proxy, "INVITE", call_id, 1, timeout)
        ms = int((time.monotonic() - t0) * 1000)
        dlg = {"call_id": call_id, "from": "<sip:alice@127.0.0.1>;tag=" + ftag,
               "ms": ms, "status": resp.status if resp else None, "resp": resp}
        if resp is None or resp.status >= 300:
            if resp is not None:  # ACK for a non-2xx goes hop by hop, same branch
                ack = build("ACK %s SIP/2.0" % ruri,
                            [("Via", "SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport" % (self.port, branch)),
                             ("Max-Forwards", "70"), ("From", dlg["from"]), ("To", resp.get("to")),
                             ("Call-ID", call_id), ("CSeq", "1 ACK")])
                self.agent.send(ack, self.proxy)
            return dlg
        dlg["to"] = resp.get("to")
        dlg["remote_target"] = uri_of(resp.get("contact", "<%s>" % ruri))
        dlg["route"] = list(reversed(resp.all("record-route")))
        dlg["body"] = resp.body
        self.ack(dlg)
        return dlg

    def in_dialog(self, dlg, method, cseq):
        branch = "z9hG4bK" + rand_token(16)
        hs = [("Via", "SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport" % (self.port, branch))]
        for r in dlg["route"]:
            hs.append(("Route", r))
        hs += [("Max-Forwards", "70"), ("From", dlg["from"]), ("To", dlg["to"]),
               ("Call-ID", dlg["call_id"]), ("CSeq", "%d %s" % (cseq, method))]
        req = build("%s %s SIP/2.0" % (method, dlg["remote_target"]), hs)
        dest = hostport_of(uri_of(dlg["route"][0])) if dlg["route"] else hostport_of(dlg["remote_target"])
        return req, dest

    def ack(self, dlg):
        req, dest = self.in_dialog(dlg, "ACK", 1)
        self.agent.send(req, dest)

    def bye(self, dlg, timeout):
        req, dest = self.in_dialog(dlg, "BYE", 2)
        end = time.monotonic() + timeout
        self.agent.send(req, dest)
        interval, nxt = T1, time.monotonic() + T1
        while time.monotonic() < end:
            now = time.monotonic()
            msg, _ = self.agent.recv(min(nxt, end) - now)
            if msg is None:
                if time.monotonic() >= nxt:
                    self.agent.send(req, dest)
                    interval = min(interval * 2, 4.0)
                    nxt = time.monotonic() + interval
                continue
            if msg.is_request:
                continue
            if msg.get("call-id") != dlg["call_id"]:
                continue
            if msg.cseq() == (1, "INVITE") and msg.status == 200:
                self.ack(dlg)        # our ACK was lost: the 200 came again
                continue
            if msg.cseq() == (2, "BYE") and msg.status >= 200:
                return msg.status
        return None


def parse_hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def fail(msg):
    print("sip_call: " + msg, file=sys.stderr, flush=True)
    return 1


def cmd_call(a):
    os.makedirs(a.dir, exist_ok=True)
    trace = Trace(os.path.join(a.dir, "sip.log"))
    uas = UAS(trace, a.timeout)
    uas.plan(a.call_id, a.dir, a.answer_path_file)
    uas.start()
    uac = UAC(trace, parse_hostport(a.proxy))
    write_atomic(os.path.join(a.dir, "uas.port"), "%d\n" % uas.port)
    print("uas-port %d" % uas.port, flush=True)
    sdp = offer_sdp(a.offer_path)
    write_atomic(os.path.join(a.dir, "offer.sent.sdp"), sdp.decode())
    dlg = uac.invite(a.call_id, sdp, uas.port, a.timeout + 5)
    if dlg["status"] != 200:
        return fail("INVITE %s: final response %s (UAS errors: %s)"
                    % (a.call_id, dlg["status"], uas.errors))
    path = msrp_path(dlg["body"])
    write_atomic(os.path.join(a.dir, "answer.recv.sdp"), dlg["body"].decode("utf-8", "replace"))
    write_atomic(os.path.join(a.dir, "answer_path"), (path or "") + "\n")
    print("answer-path %s" % (path or "-"), flush=True)
    if not uas.wait(a.call_id, "acked", 5):
        return fail("the UAS never got the ACK of %s" % a.call_id)
    if a.bye_file:
        end = time.monotonic() + a.hold
        while not os.path.exists(a.bye_file):
            if time.monotonic() > end:
                fail("no %s within %ss: sending BYE anyway" % (a.bye_file, a.hold))
                break
            time.sleep(0.05)
    code = uac.bye(dlg, 10)
    write_atomic(os.path.join(a.dir, "bye_status"), "%s\n" % code)
    print("bye %s" % code, flush=True)
    if code != 200:
        return fail("BYE %s: final response %s" % (a.call_id, code))
    if not uas.wait(a.call_id, "bye", 2):
        return fail("the UAS never saw the BYE of %s" % a.call_id)
    if uas.errors:
        return fail("; ".join(uas.errors))
    return 0


def cmd_calls(a):
    os.makedirs(a.dir, exist_ok=True)
    trace = Trace(os.path.join(a.dir, "sip.log"))
    uas = UAS(trace, a.timeout)
    uas.start()
    uac = UAC(trace, parse_hostport(a.proxy))
    rc = 0
    for i in range(a.first, a.first + a.count):
        cid = "%s-%02d" % (a.prefix, i)
        dlg = uac.invite(cid, offer_sdp(a.offer_path), uas.port, a.timeout)
        offered = uas.calls.get(cid, {}).get("offered_path") or "-"
        answered, bye = "-", None
        if dlg["status"] == 200:
            answered = msrp_path(dlg["body"]) or "-"
            uas.wait(cid, "acked", 5)
            bye = uac.bye(dlg, 10)
        if dlg["status"] != 200 or bye != 200:
            rc = 1
        print("call %s status=%s invite_ms=%d offered=%s answered=%s bye=%s"
              % (cid, dlg["status"], dlg["ms"], offered, answered, bye), flush=True)
    if uas.errors:
        print("sip_call: " + "; ".join(uas.errors), file=sys.stderr, flush=True)
        rc = 1
    return rc


class StandIn(threading.Thread):
    """A stateless proxy for the self-test: Record-Route on INVITE, loose
    routing, responses back by the second Via."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.05)
        self.stop = False

    def run(self):
        me = "127.0.0.1:%d" % self.port
        while not self.stop:
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            m = Msg(data)
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            if m.is_request:
                routes = m.all("route")
                lines = [l for l in lines if not l.lower().startswith("route:")]
                extra = ["Via: SIP/2.0/UDP %s;branch=z9hG4bK%s" % (me, rand_token())]
                if m.method == "INVITE":
                    extra.append("Record-Route: <sip:%s;lr>" % me)
                lines = [lines[0]] + extra + lines[1:]
                rest = [r for r in routes if me not in r]
                lines += ["Route: %s" % r for r in rest]
                dest = hostport_of(uri_of(rest[0])) if rest else hostport_of(m.ruri)
            else:
                vias = [i for i, l in enumerate(lines) if l.lower().startswith("via:")]
                del lines[vias[0]]
                dest = hostport_of("sip:" + Msg(("\r\n".join(lines) + "\r\n\r\n").encode())
                                   .get("via").split()[1].split(";")[0])
            self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode() + body, dest)


def cmd_selftest(_):
    import tempfile
    px = StandIn()
    px.start()
    d = tempfile.mkdtemp(prefix="sip_call_selftest.")
    apf = os.path.join(d, "recv.path")
    ns = argparse.Namespace(proxy="127.0.0.1:%d" % px.port, call_id="selftest-1", dir=d,
                            answer_path_file=apf, bye_file=os.path.join(d, "bye"), hold=10,
                            timeout=10, offer_path="msrp://127.0.0.1:9/alice;tcp")

    def helper():
        end = time.monotonic() + 10
        while not os.path.exists(os.path.join(d, "offered_path")) and time.monotonic() < end:
            time.sleep(0.02)
        time.sleep(0.8)     # longer than T1: the stand-in retransmits nothing, we do
        write_atomic(apf, "msrp://127.0.0.1:7777/recv;tcp\n")
        end = time.monotonic() + 10
        while not os.path.exists(os.path.join(d, "answer_path")) and time.monotonic() < end:
            time.sleep(0.02)
        open(os.path.join(d, "bye"), "w").close()
    threading.Thread(target=helper, daemon=True).start()
    rc = cmd_call(ns)
    got_o = open(os.path.join(d, "offered_path")).read().strip()
    got_a = open(os.path.join(d, "answer_path")).read().strip()
    ok = (rc == 0 and got_o == "msrp://127.0.0.1:9/alice;tcp"
          and got_a == "msrp://127.0.0.1:7777/recv;tcp")
    ns2 = argparse.Namespace(proxy="127.0.0.1:%d" % px.port, prefix="st", first=1, count=3,
                             dir=d, timeout=5, offer_path="msrp://127.0.0.1:9/alice;tcp")
    rc2 = cmd_calls(ns2)
    px.stop = True
    if ok and rc2 == 0:
        import shutil
        shutil.rmtree(d, ignore_errors=True)
    if ok and rc2 == 0:
        print("selftest ok: one call with a delayed answer, 3 calls in a row")
    else:
        print("selftest FAILED (call rc %d, calls rc %d, offered %r, answered %r; files in %s)"
              % (rc, rc2, got_o, got_a, d))
    return 0 if ok and rc2 == 0 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("call")
    c.add_argument("--proxy", required=True)
    c.add_argument("--call-id", required=True)
    c.add_argument("--dir", required=True)
    c.add_argument("--answer-path-file")
    c.add_argument("--bye-file")
    c.add_argument("--hold", type=float, default=60)
    c.add_argument("--timeout", type=float, default=15)
    c.add_argument("--offer-path", default="msrp://127.0.0.1:9/alice;tcp")
    cs = sub.add_parser("calls")
    cs.add_argument("--proxy", required=True)
    cs.add_argument("--prefix", required=True)
    cs.add_argument("--first", type=int, default=1)
    cs.add_argument("--count", type=int, required=True)
    cs.add_argument("--dir", required=True)
    cs.add_argument("--timeout", type=float, default=10)
    cs.add_argument("--offer-path", default="msrp://127.0.0.1:9/alice;tcp")
    sub.add_parser("selftest")
    a = ap.parse_args()
    return {"call": cmd_call, "calls": cmd_calls, "selftest": cmd_selftest}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
