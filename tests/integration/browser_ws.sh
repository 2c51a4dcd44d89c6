#!/usr/bin/env bash
# The demo page (tests/web/) in a real headless Chromium, driven through
# chromedriver by tests/web/browser_test.py (W3C WebDriver, urllib only):
#  1. against tests/web/ws_fixture.py, a stand-in relay + peer that checks
#     every frame the page sends and probes its strictness (stray
#     response, SEND bypassing the relay, false Byte-Range);
#  2. through msrpgw's WebSocket listener (RFC 7977): the page AUTHs as
#     alice with Digest, sends a 2 MiB file picked in its file chooser to
#     an `msrpcat recv` that AUTHed on the TCP listener, and receives a
#     file from `msrpcat send`; SHA-256s equal on both sides; a page from
#     an Origin not in ws_origins is refused.
# Screenshots of the page (PNG, checked) are kept in
# $MSRP_BUILD/Testing/Temporary/browser_ws/ and their paths printed.
# Exit 77 (skipped, which CI counts as a failure) only when chromium or
# chromedriver is missing (tools/setup.sh installs both).
: "${IT_KEEP:=}"
source "$(dirname "$0")/lib/msrpgw.sh"
it_init browser_ws
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "SKIP: chromium and chromium-driver are not installed (tools/setup.sh deps)"
    exit 77
fi
WEB=$MSRP_SRC/tests/web
ART=$MSRP_BUILD/Testing/Temporary/browser_ws
mkdir -p "$ART"
D=$IT_DIR
t0=$SECONDS

bg python3 "$WEB/serve.py" --port-file "$D/http.port" --log "$D/http.log"
wait_file "$D/http.port" 10 || { check false "static server started"; it_done; }
HPORT=$(cat "$D/http.port")

mkdir -p "$D/fixture"
python3 "$WEB/browser_test.py" fixture --http-port "$HPORT" --dir "$D/fixture" --artifacts "$ART"
check '[ $? = 0 ]' "page against the WebSocket fixture"

# The page's Origin is the static server's; a page from elsewhere is refused.
gw_start GW "ws_listen = 127.0.0.1:0
ws_origins = http://127.0.0.1:$HPORT"
WSPORT=$(awk '$1=="ws"{print $2}' "$D/GW/ports")
if [ -z "$WSPORT" ]; then # a --port-file without a "ws" line: the start-up log names it
    log_has "$GW_LOG" 'listening on ws://127.0.0.1:[0-9]'
    WSPORT=$(sed -n 's|.*listening on ws://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$GW_LOG" | head -n 1)
fi
check '[ -n "$WSPORT" ]' "msrpgw listens for WebSocket on port ${WSPORT:-?}"
mkdir -p "$D/gw"
python3 "$WEB/browser_test.py" msrpgw --http-port "$HPORT" --ws-port "${WSPORT:-0}" --tcp-port "$GW_PORT" \
    --msrpcat "$MSRP_BUILD/tools/msrpcat" --dir "$D/gw" --artifacts "$ART"
check '[ $? = 0 ]' "page through msrpgw to and from msrpcat"
# The page from the refused Origin never got as far as AUTH.
check '[ "$(grep -c "AUTH ok user=alice" "$GW_LOG")" = 1 ]' "one AUTH as alice: the refused page's never reached msrpgw"
gw_stop GW
echo "browser_ws took $((SECONDS - t0)) s"
it_done
