#!/usr/bin/env python3
"""browser_test.py: the demo page (tests/web/) in a real headless Chromium.

Drives Debian's chromium through chromedriver with the W3C WebDriver HTTP
protocol (urllib only). The page, served by tests/web/serve.py, connects
over WebSocket, AUTHs with Digest, sends a generated file chosen through
its <input type=file> and receives one; both SHA-256s are compared with
what the other side computed, and a screenshot is kept as an artifact.

  browser_test.py msrpgw --http-port P --ws-port W --tcp-port T --msrpcat BIN
                  --dir D --artifacts A
      The other side is msrpcat through msrpgw: `msrpcat recv` (AUTHed on
      the TCP listener as bob) receives the page's file; `msrpcat send`
      (AUTHed as bob too) sends one to the page's path, asking a Success
      REPORT. The page AUTHs as alice on the WebSocket listener.
  browser_test.py fixture --http-port P --dir D --artifacts A
      The other side is tests/web/ws_fixture.py (a stand-in relay + peer
      that also probes the client's strictness).

Exit 0 when every check passed, 1 otherwise (each check printed).
"""

import argparse
import base64
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SEND_SIZE = 2 * 1048576          # the page's file
RECV_SIZE = 1536 * 1024 + 7      # the file sent to the page (not chunk-aligned)
FAILS = []
PROCS = []


def check(cond, what):
    print(("ok   - " if cond else "FAIL - ") + what, flush=True)
    if not cond:
        FAILS.append(what)
    return cond


def start(args, **kw):
    p = subprocess.Popen(args, **kw)
    PROCS.append(p)
    return p


def wait_for(cond, seconds, step=0.05):
    end = time.time() + seconds
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def read_file_when(path, seconds):
    if wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 0, seconds):
        with open(path) as f:
            return f.read()
    return None


# ---------------------------------------------------------------------------
# W3C WebDriver over HTTP

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class WebDriver:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port
        self.sid = None

    def call(self, method, path, body=None, timeout=30):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read().decode())["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError("WebDriver %s %s: %s" % (method, path, e.read().decode()[:500]))

    def s(self, method, path, body=None, timeout=30):
        return self.call(method, "/session/%s%s" % (self.sid, path), body, timeout)

    def new_session(self, binary, profile):
        args = ["--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,1000", "--user-data-dir=" + profile,
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")   # Chromium's sandbox refuses to run as root
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "pageLoadStrategy": "normal",
            "goog:chromeOptions": {"binary": binary, "args": args}}}}
        v = self.call("POST", "/session", caps, timeout=60)
        self.sid = v["sessionId"]
        return v["capabilities"]

    def get(self, url):
        self.s("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def send_keys(self, el, text):
        self.s("POST", "/element/%s/value" % el, {"text": text})

    def click(self, el):
        self.s("POST", "/element/%s/click" % el, {})

    def screenshot(self):
        return base64.b64decode(self.s("GET", "/screenshot"))

    def quit(self):
        if self.sid:
            try:
                self.call("DELETE", "/session/" + self.sid, timeout=15)
            except Exception as e:   # noqa: BLE001 - cleanup, report only
                print("note: closing the session: %s" % e)
            self.sid = None


def chromium_binary():
    for b in ("/usr/lib/chromium/chromium", shutil.which("chromium") or ""):
        if b and os.access(b, os.X_OK):
            return b
    return None


def start_chromedriver(d):
    """chromedriver on an ephemeral port (--port=0), read from its banner."""
    log = open(os.path.join(d, "chromedriver.out"), "w+")
    p = start(["chromedriver", "--port=0", "--log-path=" + os.path.join(d, "chromedriver.log")],
              stdout=log, stderr=subprocess.STDOUT)

    def port():
        log.seek(0)
        for line in log.read().splitlines():
            if "started successfully on port" in line:
                return int(line.rstrip(".").split()[-1])
        return None
    pt = wait_for(port, 15)
    if not pt:
        raise RuntimeError("chromedriver did not start: " + open(log.name).read())
    return p, pt


# ---------------------------------------------------------------------------
# PNG check: signature, chunk CRCs, IHDR first, IEND last, pixel data that
# inflates to exactly the size IHDR promises, and not one flat colour.

def check_png(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return "no PNG signature"
    pos, chunks, idat = 8, [], b""
    while pos + 12 <= len(data):
        n, typ = struct.unpack("!I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        crc = struct.unpack("!I", data[pos + 8 + n:pos + 12 + n])[0]
        if len(body) != n or zlib.crc32(typ + body) != crc:
            return "bad chunk %r at %d" % (typ, pos)
        chunks.append((typ, body))
        if typ == b"IDAT":
            idat += body
        pos += 12 + n
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND" or pos != len(data):
        return "chunk order or trailing bytes wrong"
    w, h, depth, ctype = struct.unpack("!IIBB", chunks[0][1][:10])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(ctype)
    if not w or not h or depth != 8 or not channels:
        return "unexpected IHDR %dx%d depth %d type %d" % (w, h, depth, ctype)
    raw = zlib.decompress(idat)
    if len(raw) != h * (1 + w * channels):
        return "pixel data %d bytes, want %d" % (len(raw), h * (1 + w * channels))
    if len(set(raw[1:w * channels * 50:7])) < 3:
        return "image is blank"
    return None


# ---------------------------------------------------------------------------

def page_state(wd):
    return wd.js("return window.demoState || null;")


def wait_state(wd, pred, seconds, what):
    last = [None]

    def poll():
        last[0] = page_state(wd)
        return last[0] and pred(last[0])
    ok = wait_for(poll, seconds, 0.1)
    if not check(bool(ok), what):
        st = last[0] or {}
        print("page state: " + json.dumps({k: v for k, v in st.items() if k != "log"}))
        print("page log:\n  " + "\n  ".join(st.get("log", [])))
    return last[0]


def run(a):
    d = a.dir
    os.makedirs(a.artifacts, exist_ok=True)
    fa = os.path.join(d, "page-send.bin")
    with open(fa, "wb") as f:
        f.write(os.urandom(SEND_SIZE))
    sha_a = hashlib.sha256(open(fa, "rb").read()).hexdigest()
    fb = os.path.join(d, "page-recv.bin")
    with open(fb, "wb") as f:
        f.write(os.urandom(RECV_SIZE))
    sha_b = hashlib.sha256(open(fb, "rb").read()).hexdigest()

    binary = chromium_binary()
    if not binary or not shutil.which("chromedriver"):
        print("SKIP: chromium or chromedriver missing")
        return 77

    t0 = time.time()
    recv = None
    if a.mode == "msrpgw":
        ws_url = "ws://127.0.0.1:%d/" % a.ws_port
        relay = "127.0.0.1:%d" % a.tcp_port
        pathf = os.path.join(d, "bob.path")
        recv_out = open(os.path.join(d, "recv.out"), "w+")
        recv = start(["timeout", "40", a.msrpcat, "recv", "--relay", relay, "--user", "bob",
                      "--password", "pw", "--out", os.path.join(d, "recv.bin"), "--path-file", pathf,
                      "--expect-sha256", sha_a], stdout=recv_out, stderr=subprocess.STDOUT)
        peer = read_file_when(pathf, 10)
        if not check(peer is not None, "msrpcat recv AUTHed and wrote its path"):
            return 1
        peer = peer.strip()
    else:
        fx_port = os.path.join(d, "fixture.port")
        result = os.path.join(d, "fixture.json")
        start([sys.executable, os.path.join(HERE, "ws_fixture.py"), "--port-file", fx_port,
               "--result", result, "--send-size", str(RECV_SIZE), "--hold", "40",
               "--expires", "2"])
        port = read_file_when(fx_port, 10)
        if not check(port is not None, "fixture listens"):
            return 1
        ws_url = "ws://127.0.0.1:%d/" % int(port)
        peer = "msrp://127.0.0.1:%d/peersess;tcp" % int(port)

    _, wd_port = start_chromedriver(d)
    wd = WebDriver(wd_port)
    try:
        caps = wd.new_session(binary, os.path.join(d, "profile"))
        print("browser: %s %s (chromedriver on port %d)" % (caps.get("browserName"),
                                                             caps.get("browserVersion"), wd_port))
        q = urllib.parse.urlencode({"ws": ws_url, "user": "alice", "password": "secret",
                                    "to": peer, "auto": "1"})
        origin = "http://127.0.0.1:%d" % a.http_port
        wd.get("%s/index.html?%s" % (origin, q))
        st = page_state(wd)
        check(st is not None and st["selftest"] == [],
              "page loaded, its self-test (MD5, Digest, parser, URIs) passed: %s" % (st and st["selftest"]))
        st = wait_state(wd, lambda s: s["phase"] in ("ready", "error"), 15, "page connected and AUTHed")
        if not check(st and st["phase"] == "ready", "AUTH with Digest accepted: %s" % (st and st["error"])):
            return 1
        my_path = st["path"]
        print("page path: " + my_path)

        # The file goes in through the file chooser, as a user would pick it.
        wd.send_keys(wd.find("#file"), fa)
        wd.click(wd.find("#sendbtn"))
        st = wait_state(wd, lambda s: s["sent"]["state"] in ("done", "failed"), 30, "page sent its file")
        s = st["sent"] if st else {}
        check(s.get("state") == "done" and s.get("bytes") == SEND_SIZE,
              "every chunk of %d bytes answered 200 (%s, %s ms)" % (SEND_SIZE, s.get("state"), s.get("ms")))
        check(s.get("sha256") == sha_a, "page's SHA-256 of what it sent = the file's")

        if a.mode == "msrpgw":
            try:
                rc = recv.wait(20)
            except subprocess.TimeoutExpired:
                rc = None
            recv_out.seek(0)
            out = recv_out.read()
            check(rc == 0, "msrpcat recv got the page's file, sha256 checked (exit %s): %s" % (rc, out.strip()))
            check(("sha256 %s" % sha_a) in out, "msrpcat recv's SHA-256 = the page's")
            sender = subprocess.run(["timeout", "30", a.msrpcat, "send", fb, "--relay", relay,
                                     "--user", "bob", "--password", "pw", "--to-path", my_path,
                                     "--success-report"],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            check(sender.returncode == 0, "msrpcat send to the page through msrpgw, Success REPORT "
                  "received (exit %d): %s" % (sender.returncode, sender.stdout.strip()))
        st = wait_state(wd, lambda s: s["received"]["state"] in ("done", "aborted"), 30,
                        "page received a file")
        r = st["received"] if st else {}
        check(r.get("state") == "done" and r.get("total") == RECV_SIZE,
              "page reassembled %s of %d bytes, complete" % (r.get("total"), RECV_SIZE))
        if a.mode == "msrpgw":
            check(r.get("sha256") == sha_b, "page's SHA-256 of what it received = msrpcat's file's")
            check(st["stats"]["strayResponses"] == 0 and st["stats"]["refused"] == 0 and
                  st["stats"]["badFrames"] == 0, "page refused nothing from msrpgw: %s" % st["stats"])

        png = wd.screenshot()
        shot = os.path.join(a.artifacts, "page-%s.png" % a.mode)
        with open(shot, "wb") as f:
            f.write(png)
        bad = check_png(png)
        check(bad is None, "screenshot is a valid PNG (%d bytes): %s" % (len(png), bad or "ok"))
        print("screenshot: " + shot)

        if a.mode == "msrpgw":
            # Same page, same relay, but an Origin msrpgw was not told to
            # accept (ws_origins): the handshake must be refused.
            wd.get("http://localhost:%d/index.html?%s" % (a.http_port, q))
            st = wait_state(wd, lambda s: s["phase"] in ("ready", "error"), 15, "page from localhost settled")
            check(st and st["phase"] == "error", "a page from an Origin not in ws_origins is refused: %s"
                  % (st and st["error"]))
        if a.mode == "fixture":
            # Expires 2: the page AUTHs again at 80% of it (1.6 s).
            st = wait_state(wd, lambda s: (s.get("stats") or {}).get("refreshes", 0) >= 1, 10,
                            "page AUTHed again before its 2 s Expires ran out")
            wd.js("window.demoDisconnect();")
            res = read_file_when(result, 15)
            j = json.loads(res) if res else {}
            check(j.get("errors") == [], "fixture saw only correct MSRP: %s" % j.get("errors"))
            auth = j.get("auth") or []
            check(len(auth) >= 4 and auth == [401, 200] * (len(auth) // 2),
                  "AUTH: 401 challenge, then 200, and again (fresh nonce) before Expires: %s" % auth)
            check(st and st["stats"].get("refreshFailures") == 0, "no refresh failed: %s"
                  % (st and st["stats"]))
            check(j.get("origin") == origin, "WebSocket Origin is the page's: %s" % j.get("origin"))
            check(j.get("recv_sha256") == sha_a, "fixture's SHA-256 of the page's file = the file's")
            check(j.get("sent_sha256") == r.get("sha256") and j.get("sent_acked") == RECV_SIZE,
                  "page's SHA-256 of the received file = the fixture's, every chunk answered 200")
            check(j.get("report") == "ok", "page sent the Success REPORT the fixture asked for")
            check(j.get("probes") == {"probe_bypass": 481, "probe_byte_range": 400},
                  "page refused a SEND bypassing its relay (481) and a false Byte-Range (400): %s"
                  % j.get("probes"))
            check(st["stats"]["strayResponses"] == 1, "page dropped the response to a transaction it never "
                  "opened: %s" % st["stats"])
    finally:
        wd.quit()
    print("browser part took %.1f s" % (time.time() - t0))
    return 1 if FAILS else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("msrpgw", "fixture"))
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--ws-port", type=int)
    ap.add_argument("--tcp-port", type=int)
    ap.add_argument("--msrpcat")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--artifacts", required=True)
    a = ap.parse_args()
    if a.mode == "msrpgw" and not (a.ws_port and a.tcp_port and a.msrpcat):
        ap.error("msrpgw mode needs --ws-port, --tcp-port and --msrpcat")
    try:
        rc = run(a)
    except Exception as e:   # noqa: BLE001 - any failure is the test's failure
        check(False, "%s: %s" % (type(e).__name__, e))
        rc = 1
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.terminate()
        for p in PROCS:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
    return rc


if __name__ == "__main__":
    sys.exit(main())
