#!/usr/bin/env bash
# msrpcat failure paths, each bounded in time, on 127.0.0.1 with ephemeral
# ports: bind timeout, a peer that accepts and never answers (408 with
# Failure-Report yes/absent, success with no), abort mid-file ('#' seen by
# the receiver), wrong To-Path (481), unsupported content type (415).
set -u
B=${MSRP_BUILD:?MSRP_BUILD not set}
CAT=$B/tools/msrpcat
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
n=0
ok() { n=$((n + 1)); echo "ok: $*"; }

start_recv() {
    local name=$1; shift
    timeout 60 "$CAT" recv --path-file "$T/$name.path" "$@" >"$T/$name.rout" 2>"$T/$name.rerr" &
    RPID=$!
    PIDS+=("$RPID")
    for _ in $(seq 100); do [ -s "$T/$name.path" ] && break; sleep 0.05; done
    [ -s "$T/$name.path" ] || fail "$name: receiver printed no path"
    RPATH=$(cat "$T/$name.path")
}
head -c 100000 /dev/urandom >"$T/small"
head -c 20000000 /dev/urandom >"$T/mid"

# 1. Bind timeout: nobody connects; recv gives up after --bind-timeout.
start=$(date +%s)
start_recv bindto --out "$T/bindto.recv" --bind-timeout 1
wait "$RPID"; rc=$?
el=$(( $(date +%s) - start ))
[ "$rc" = 3 ] || fail "bind timeout: exit $rc, want 3"
[ "$el" -le 5 ] || fail "bind timeout took ${el}s"
grep -q "no sender bound the session in time" "$T/bindto.rerr" || fail "bind timeout: message"
ok "bind timeout -> exit 3"

# 2. A peer that accepts, reads everything and never answers.
python3 - "$T/silent.port" <<'PY' &
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(60)
def sink(c):
    while c.recv(65536):
        pass
while True:
    try:
        c, _ = s.accept()
    except OSError:
        break
    threading.Thread(target=sink, args=(c,), daemon=True).start()
PY
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/silent.port" ] && break; sleep 0.05; done
SP=$(cat "$T/silent.port")
SPATH="msrp://127.0.0.1:$SP/silentsession;tcp"
for fr in absent yes; do
    args=(); [ $fr = yes ] && args=(--fail-report yes)
    start=$(date +%s)
    timeout 30 "$CAT" send "$T/small" --to-path "$SPATH" --response-timeout 1 "${args[@]}" \
        >/dev/null 2>"$T/silent_$fr.err"
    rc=$?
    el=$(( $(date +%s) - start ))
    [ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "silent peer ($fr): exit $rc"
    [ "$el" -le 6 ] || fail "silent peer ($fr) took ${el}s"
    grep -q "408 Request Timeout" "$T/silent_$fr.err" || fail "silent peer ($fr): no 408: $(cat "$T/silent_$fr.err")"
    ok "silent peer, Failure-Report $fr -> 408"
done
timeout 30 "$CAT" send "$T/small" --to-path "$SPATH" --response-timeout 1 --fail-report no \
    >/dev/null 2>"$T/silent_no.err" || fail "silent peer (no): failed: $(cat "$T/silent_no.err")"
ok "silent peer, Failure-Report no -> success"

# 3. Abort mid-file: the receiver sees '#' and fails with a clear message.
start_recv abort --out "$T/abort.recv"
timeout 30 "$CAT" send "$T/mid" --to-path "$RPATH" --abort-after 1000000 \
    >/dev/null 2>"$T/abort.serr"
src=$?
wait "$RPID"; rrc=$?
[ "$src" != 0 ] || fail "abort: sender exit 0"
[ "$rrc" = 1 ] || fail "abort: receiver exit $rrc, want 1"
grep -q "aborted" "$T/abort.serr" || fail "abort: sender message: $(cat "$T/abort.serr")"
grep -q "aborted by the sender ('#')" "$T/abort.rerr" || fail "abort: receiver message: $(cat "$T/abort.rerr")"
ok "abort mid-file -> receiver exit 1, '#' reported"

# 4. Wrong To-Path (right port, unknown session id): 481.
start_recv wrong --out "$T/wrong.recv" --bind-timeout 3
WP=$(echo "$RPATH" | sed 's|/[^/;]*;tcp|/nosuchsession;tcp|')
timeout 30 "$CAT" send "$T/small" --to-path "$WP" >/dev/null 2>"$T/wrong.serr" \
    && fail "wrong To-Path: sender exit 0"
grep -q "481 Session Does Not Exist" "$T/wrong.serr" || fail "wrong To-Path: $(cat "$T/wrong.serr")"
wait "$RPID" && fail "wrong To-Path: receiver exit 0"
ok "wrong To-Path -> 481"

# 5. Content type outside the receiver's accept-types: 415; inside: accepted.
start_recv ctype --out "$T/ctype.recv" --accept-types "text/* message/cpim" --bind-timeout 5
timeout 30 "$CAT" send "$T/small" --to-path "$RPATH" --content-type application/pdf \
    >/dev/null 2>"$T/ctype.serr" && fail "415: sender exit 0"
grep -q "415 Unsupported Media Type" "$T/ctype.serr" || fail "415: $(cat "$T/ctype.serr")"
wait "$RPID" && fail "415: receiver exit 0"
[ -e "$T/ctype.recv" ] && fail "415: receiver created the output"
ok "unsupported type -> 415"
start_recv ctype2 --out "$T/ctype2.recv" --accept-types "text/* message/cpim"
timeout 30 "$CAT" send "$T/small" --to-path "$RPATH" --content-type "Text/Plain; charset=utf-8" \
    >/dev/null 2>"$T/ctype2.serr" || fail "text/plain refused: $(cat "$T/ctype2.serr")"
wait "$RPID" || fail "text/plain: receiver failed"
cmp -s "$T/small" "$T/ctype2.recv" || fail "text/plain: file differs"
ok "accepted type (parameters ignored)"

echo "OK: $n msrpcat error cases"
