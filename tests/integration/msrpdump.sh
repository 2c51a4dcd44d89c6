#!/usr/bin/env bash
# msrpdump.sh: msrpdump as the parser's oracle. Every seed of the parser
# corpus must decode identically whatever the feed size (1, 7, 4096 and the
# default 64 KiB reads), the RFC 4975 SEND must print exactly the expected
# JSON (its body hash computed here with sha256sum, independently of
# wolfSSL), and malformed or truncated input must print the exact error
# line and exit 1.
# Run by ctest with MSRP_BUILD (build dir) and MSRP_SRC (source dir).
set -uo pipefail

: "${MSRP_BUILD:?MSRP_BUILD must name the build directory}"
: "${MSRP_SRC:?MSRP_SRC must name the source directory}"
dump="$MSRP_BUILD/tools/msrpdump"
corpus="$MSRP_SRC/tests/fuzz/corpus/parser"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

[ -x "$dump" ] || { echo "FAIL: $dump not built" >&2; exit 1; }
ls "$corpus"/*.msrp >/dev/null 2>&1 || { echo "FAIL: no seeds in $corpus" >&2; exit 1; }

# 1. Feed-size independence, output and exit status, on every seed.
for seed in "$corpus"/*.msrp; do
    name=$(basename "$seed")
    "$dump" "$seed" >"$work/ref" 2>&1
    ref_rc=$?
    for feed in 1 7 4096; do
        "$dump" --feed "$feed" <"$seed" >"$work/out" 2>&1
        rc=$?
        if [ "$rc" != "$ref_rc" ]; then
            fail "$name: exit $rc with --feed $feed, $ref_rc by default"
        elif ! cmp -s "$work/ref" "$work/out"; then
            fail "$name: output with --feed $feed differs from default:"
            diff "$work/ref" "$work/out" | head -n 10 >&2
        fi
    done
    [ -s "$work/ref" ] || fail "$name: no output at all"
done

# 2. Exact JSON for the RFC 4975 SEND and its 200.
seed="$corpus/rfc4975_send.msrp"
body_sha=$(printf 'Hey Bob, are you there?' | sha256sum | cut -d' ' -f1)
empty_sha=$(printf '' | sha256sum | cut -d' ' -f1)
cat >"$work/want" <<EOF
{"kind":"request","tid":"a786hjs2","method":"SEND","status":null,"comment":null,"headers":[["To-Path","msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp"],["From-Path","msrp://atlanta.example.com:7654/jshA7weztas;tcp"],["Message-ID","87652491"],["Byte-Range","1-25/25"],["Content-Type","text/plain"]],"to_path":["msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp"],"from_path":["msrp://atlanta.example.com:7654/jshA7weztas;tcp"],"message_id":"87652491","byte_range":[1,25,25],"content_type":"text/plain","body_bytes":23,"body_sha256":"$body_sha","flag":"\$"}
{"kind":"response","tid":"a786hjs2","method":null,"status":200,"comment":"OK","headers":[["To-Path","msrp://atlanta.example.com:7654/jshA7weztas;tcp"],["From-Path","msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp"]],"to_path":["msrp://atlanta.example.com:7654/jshA7weztas;tcp"],"from_path":["msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp"],"message_id":null,"byte_range":null,"content_type":null,"body_bytes":0,"body_sha256":"$empty_sha","flag":"\$"}
EOF
if ! "$dump" "$seed" >"$work/out"; then
    fail "rfc4975_send.msrp: msrpdump exited non-zero"
elif ! cmp -s "$work/want" "$work/out"; then
    fail "rfc4975_send.msrp: JSON differs from the expected text:"
    diff "$work/want" "$work/out" >&2
fi

# 3. A body with binary, quotes and a non-UTF-8 byte: escaping and hash.
body=$'bin\x01"\\\xc3\xa9\xff\r\n---'
{
    printf 'MSRP tid12345 SEND\r\nTo-Path: msrp://b.example.com:2855/s1;tcp\r\n'
    printf 'From-Path: msrp://a.example.com:2855/s2;tcp\r\nX-Note: caf\xc3\xa9 \x80 "q"\r\n'
    printf 'Byte-Range: 1-*/*\r\n\r\n%s\r\n-------tid12345+\r\n' "$body"
} >"$work/bin.msrp"
bin_sha=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
bin_len=$(printf '%s' "$body" | wc -c)
out=$("$dump" --feed 3 "$work/bin.msrp")
case "$out" in
*'["X-Note","café \u0080 \"q\""]'*) ;;
*) fail "escaping of header value wrong: $out" ;;
esac
case "$out" in
*"\"byte_range\":[1,null,null]"*"\"body_bytes\":$bin_len,\"body_sha256\":\"$bin_sha\",\"flag\":\"+\"}") ;;
*) fail "binary body: wanted $bin_len bytes sha $bin_sha, got: $out" ;;
esac

# 4. Malformed input: exact error line, exit 1, frames before it printed.
printf 'MSRP tid12345 SEND\r\nTo-Path: msrp://b.example.com:2855/s1;tcp\r\nMessage-ID: 1\r\n\r\n' >"$work/bad.msrp"
for feed in 1 65536; do
    out=$("$dump" --feed "$feed" "$work/bad.msrp")
    rc=$?
    [ "$rc" = 1 ] || fail "malformed input: exit $rc, wanted 1"
    [ "$out" = '{"error":"path_headers_not_first","offset":63}' ] ||
        fail "malformed input (--feed $feed): got '$out'"
done
out=$( { cat "$corpus/rfc4975_send.msrp"; printf 'MSRP x SEND\r\n'; } | "$dump" --feed 5)
rc=$?
[ "$rc" = 1 ] || fail "bad tid after a good frame: exit $rc, wanted 1"
[ "$(printf '%s\n' "$out" | wc -l)" = 3 ] || fail "bad tid: wanted 2 frames then the error, got: $out"
[ "$(printf '%s\n' "$out" | tail -n 1)" = '{"error":"bad_transaction_id","offset":422}' ] ||
    fail "bad tid: got '$(printf '%s\n' "$out" | tail -n 1)'"

# 5. Truncated input: exact line, exit 1.
head -c 200 "$corpus/rfc4975_send.msrp" >"$work/trunc.msrp"
out=$("$dump" "$work/trunc.msrp")
rc=$?
[ "$rc" = 1 ] || fail "truncated input: exit $rc, wanted 1"
[ "$out" = '{"error":"truncated","offset":200}' ] || fail "truncated input: got '$out'"

# 6. Usage.
"$dump" -h | grep -q '^usage: msrpdump' || fail "-h prints no usage"
"$dump" --feed 0 "$seed" >/dev/null 2>&1
[ $? = 2 ] || fail "--feed 0 is not refused with exit 2"

if [ "$failures" -ne 0 ]; then
    echo "msrpdump.sh: $failures check(s) failed" >&2
    exit 1
fi
echo "msrpdump.sh: all checks passed"
