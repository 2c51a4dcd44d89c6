#!/usr/bin/env python3
"""ssrf: an AUTHed user (alice) names next hops msrpgw must not dial, and
unauthenticated senders try to ride a connection alice opened (issue 10
row 8). Prints one JSON line with the status of every attempt:
  denied:    {name: code} for To-Path next hops the policy refuses
  allowed:   code for a next hop the policy allows (relay GB, bob there),
             and whether bob got it with the exact paths
  unauth:    codes of --tries fresh unauthenticated connections that send
             to GB's bob through our URI after alice opened GW -> GB
  bob_leaks: messages of those unauthenticated senders bob received
"""
import argparse
import json
import os
import secrets
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration", "lib"))
import attack as at  # noqa: E402
import relay_client as rcl  # noqa: E402

mp = rcl.mp


def A(relay):
    return type("A", (), {"relay": relay, "tls": False, "timeout": 20.0})()


def send(conn, to, frm, mid, deadline=15):
    body = b"attacker bytes\r\n"
    tid = mp.new_tid()
    conn.send(mp.build_request("SEND", tid, [
        ("To-Path", to), ("From-Path", frm), ("Message-ID", mid),
        ("Byte-Range", "1-%d/%d" % (len(body), len(body))), ("Content-Type", "text/plain")],
        body))
    return at.await_response(conn, tid, time.monotonic() + deadline)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gw", required=True)          # host:port of the gateway under test
    ap.add_argument("--gb", required=True)          # host:port of the allowed next hop
    ap.add_argument("--service-port", type=int, required=True)
    ap.add_argument("--tries", type=int, default=12)
    a = ap.parse_args()
    gw_host, gw_port = rcl.hostport(a.gw)
    out = {"denied": {}, "allowed": None, "bob_ok": False, "unauth": [], "bob_leaks": 0}

    # bob on GB: a receiver that answers and records.
    gb_host, gb_port = rcl.hostport(a.gb)
    rx = at.Receiver(gb_port, "bob", "pw", gb_host)
    bob, bob_path, got = rx.p.own, rx.path, rx.got

    # alice on GW.
    c = rcl.connect(A(a.gw))
    alice = c.own_uri("al" + secrets.token_hex(3))
    codes, last = rcl.do_auth(c, A(a.gw), alice, "alice", "secret")
    use = last.header("Use-Path")
    targets = {
        "loopback_service": "msrp://127.0.0.1:%d/x;tcp" % a.service_port,
        "localhost_name": "msrp://localhost:%d/x;tcp" % a.service_port,
        "v4_mapped_v6": "msrp://[::ffff:127.0.0.1]:%d/x;tcp" % a.service_port,
        "link_local_metadata": "msrp://169.254.169.254:80/x;tcp",
        # our own listener under a spelling that is not our URI
        "own_port": "msrp://127.0.0.2:%d/x;tcp" % gw_port,
    }
    for name, uri in targets.items():
        out["denied"][name] = send(c, "%s %s" % (use, uri), alice, "ssrf-" + name)
    # An allowed next hop still works (and opens GW -> GB).
    out["allowed"] = send(c, "%s %s" % (use, bob_path), alice, "alice-ok")
    rx.wait_for(lambda f: f.header("Message-ID") == "alice-ok", 5)
    for f in got:
        if f.header("Message-ID") == "alice-ok":
            out["bob_ok"] = (f.header("To-Path") == bob and
                             f.header("From-Path").split()[-1] == alice)
    # Unauthenticated senders through our URI to GB's bob: fresh
    # connections, so both cores are tried.
    for i in range(a.tries):
        u = rcl.connect(A(a.gw))
        me = u.own_uri("un%d" % i)
        out["unauth"].append(send(u, "msrp://%s:%d;tcp %s" % (gw_host, gw_port, bob_path), me,
                                  "unauth-%d" % i))
        u.close()
    # A leak is the absence of an event: give one that was forwarded half a
    # second to reach bob (ends at once when it does).
    rx.wait_for(lambda f: (f.header("Message-ID") or "").startswith("unauth"), 0.5)
    out["bob_leaks"] = sum(1 for f in got if (f.header("Message-ID") or "").startswith("unauth"))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
