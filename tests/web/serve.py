#!/usr/bin/env python3
"""serve.py: a tiny static file server for the demo page (tests/web/).

Serves one directory (default: this one) on 127.0.0.1 at an ephemeral port
and writes that port to --port-file once it listens. It is not msrpgw: the
daemon never serves the page, the browser only reaches it over WebSocket.

  serve.py --port-file F [--root DIR] [--log FILE]
"""

import argparse
import functools
import http.server
import os
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    log_file = None

    def end_headers(self):
        # Each test run loads the page fresh: no cached msrp.js from an
        # older checkout.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, fmt, *args):
        if self.log_file:
            self.log_file.write("%s %s\n" % (self.address_string(), fmt % args))
            self.log_file.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--root", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--log")
    a = ap.parse_args()
    Handler.log_file = open(a.log, "a") if a.log else None
    handler = functools.partial(Handler, directory=a.root)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % httpd.server_address[1])
    os.rename(tmp, a.port_file)   # readers never see a half-written port
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
