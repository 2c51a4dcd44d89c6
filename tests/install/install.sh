#!/usr/bin/env bash
# install.sh: `cmake --install` into a temporary prefix, then use what was
# installed the way an operator and a developer would:
#   1. the files: daemon in sbin/, tools in bin/, man pages (each one
#      formats without a warning and documents every long option its
#      program parses; msrpgw.conf(5) lists every key of
#      `msrpgw --check-config`), headers, the shared library with soname
#      libmsrpgw.so.0 and its version, the static one, msrpgw.pc, the
#      example config and the systemd unit (ExecStart = the installed
#      daemon's configured path);
#   2. the ABI: `nm -D --defined-only` of the shared library equals
#      tests/install/public-symbols.txt exactly (nothing internal leaks),
#      and so do the global symbols of libmsrpgw.a,
#      every MSRPGW_API function of the installed headers is in it, and
#      the headers include nothing but <msrpgw/...> and the C library;
#   3. tests/install/api_check.c (the API's exact behaviour: error codes,
#      bytes written, parser fields) and the example
#      tools/examples/msrpgw_example.c, compiled with
#      `pkg-config --cflags --libs msrpgw` against the install only (the
#      source tree is not on its include path) and linked once against
#      the shared and once against the static library: its frame
#      round trip, and a file sent to the installed `msrpcat recv` on
#      127.0.0.1 (SHA-256 compared).
# Run by ctest with MSRP_BUILD (build dir) and MSRP_SRC (source dir);
# MSRP_SANITIZE=ON (the ASan build) compiles the example with the same
# sanitizers as the library.
set -uo pipefail

: "${MSRP_BUILD:?MSRP_BUILD must name the build directory}"
: "${MSRP_SRC:?MSRP_SRC must name the source directory}"
work=$(mktemp -d)
prefix="$work/prefix"
recv_pid=""
cleanup() {
    [ -n "$recv_pid" ] && kill "$recv_pid" 2>/dev/null
    if [ "$failures" -eq 0 ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
for tool in pkg-config nm readelf cc groff; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool missing" >&2; exit 77; }
done
san=()
# shellcheck disable=SC2054 # one flag with a comma-separated value
[ "${MSRP_SANITIZE:-OFF}" = ON ] && san=(-fsanitize=address,undefined)

# ---- 1. files ----
if ! cmake --install "$MSRP_BUILD" --prefix "$prefix" >"$work/install.log" 2>&1; then
    cat "$work/install.log" >&2
    echo "FAIL: cmake --install failed" >&2
    exit 1
fi
libdir=$(dirname "$(find "$prefix" -name libmsrpgw.so.0 | head -n 1)")
[ -d "$libdir" ] || { echo "FAIL: no libmsrpgw.so.0 installed" >&2; exit 1; }
for f in sbin/msrpgw bin/msrpcat bin/msrpload bin/msrpdump bin/msrpgw-ctl; do
    [ -x "$prefix/$f" ] || fail "$f not installed"
done
for f in man8/msrpgw.8 man5/msrpgw.conf.5 man1/msrpcat.1 man1/msrpload.1 man1/msrpdump.1 \
         man1/msrpgw-ctl.1; do
    page="$prefix/share/man/$f"
    if [ ! -s "$page" ]; then
        fail "share/man/$f not installed"
    elif warn=$(LC_ALL=C.UTF-8 groff -ww -z -man "$page" 2>&1) && [ -n "$warn" ]; then
        fail "share/man/$f: groff warns: $warn"
    fi
done
for f in msrpgw.h export.h version.h frame.h uri.h session.h; do
    [ -s "$prefix/include/msrpgw/$f" ] || fail "include/msrpgw/$f not installed"
done
[ -f "$libdir/libmsrpgw.a" ] || fail "libmsrpgw.a not installed"
[ -L "$libdir/libmsrpgw.so" ] || fail "libmsrpgw.so (dev symlink) not installed"
[ -s "$libdir/pkgconfig/msrpgw.pc" ] || fail "pkgconfig/msrpgw.pc not installed"
[ -s "$prefix/share/doc/msrpgw/msrpgw.conf.example" ] || fail "msrpgw.conf.example not installed"
unit="$prefix/lib/systemd/system/msrpgw.service"
if [ -s "$unit" ]; then
    want=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$MSRP_BUILD/CMakeCache.txt")/sbin/msrpgw
    grep -qx "ExecStart=$want -c /etc/msrpgw/msrpgw.conf" "$unit" ||
        fail "msrpgw.service: ExecStart is not $want: $(grep ExecStart= "$unit")"
else
    fail "lib/systemd/system/msrpgw.service not installed"
fi
soname=$(readelf -d "$libdir/libmsrpgw.so.0" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libmsrpgw.so.0 ] || fail "soname is '$soname', not libmsrpgw.so.0"
version=$(sed -n 's/^project(msrpgw VERSION \([0-9.]*\).*/\1/p' "$MSRP_SRC/CMakeLists.txt")
[ -e "$libdir/libmsrpgw.so.$version" ] || fail "libmsrpgw.so.$version not installed"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
[ "$(pkg-config --modversion msrpgw)" = "$version" ] || fail "msrpgw.pc version is not $version"
grep -q "#define MSRPGW_VERSION_STRING \"$version\"" "$prefix/include/msrpgw/version.h" ||
    fail "version.h does not say $version"

# Every long option a program parses (its getopt_long table, or the
# strcmp chain of msrpdump) is in its man page: a new option needs its
# documentation.
for pair in gateway/daemon/main.c:man8/msrpgw.8 tools/msrpcat.c:man1/msrpcat.1 \
            tools/msrpload.c:man1/msrpload.1 tools/msrpdump.c:man1/msrpdump.1 \
            tools/msrpgw-ctl.c:man1/msrpgw-ctl.1; do
    srcf="$MSRP_SRC/${pair%%:*}"
    page="$prefix/share/man/${pair#*:}"
    opts=$( { grep -oE '\{ *"[a-z0-9-]+", *(required|no|optional)_argument' "$srcf" |
                sed -E 's/\{ *"([a-z0-9-]+)".*/\1/'
              grep -oE 'strcmp\(argv\[i\], "--[a-z0-9-]+"' "$srcf" |
                sed -E 's/.*"--([a-z0-9-]+)"/\1/'; } | sort -u)
    [ -n "$opts" ] || fail "no options found in ${pair%%:*}"
    for o in $opts; do
        grep -qF -- "\\-\\-${o//-/\\-}" "$page" || fail "$(basename "$page"): option --$o undocumented"
    done
done

# The daemon and the man pages say the project's version.
[ "$("$prefix/sbin/msrpgw" --version | head -n 1)" = "msrpgw $version" ] ||
    fail "msrpgw --version does not say $version: $("$prefix/sbin/msrpgw" --version | head -n 1)"
for page in "$prefix"/share/man/man*/*; do
    grep -q "^\.TH .* \"msrpgw $version\"" "$page" || fail "$(basename "$page"): .TH lacks msrpgw $version"
done

# Every key --check-config prints is documented in msrpgw.conf(5).
"$prefix/sbin/msrpgw" --check-config >"$work/dump" 2>&1 || fail "msrpgw --check-config failed"
man5="$prefix/share/man/man5/msrpgw.conf.5"
keys=0
while read -r key _; do
    keys=$((keys + 1))
    grep -q "^\\\\fB${key}\\\\fR = " "$man5" || fail "msrpgw.conf(5) lacks key $key"
done < <(grep -E '^[a-z_]+ = ' "$work/dump")
[ "$keys" -ge 40 ] || fail "only $keys keys in the --check-config dump"

# ---- 2. ABI ----
nm -D --defined-only "$libdir/libmsrpgw.so.0" | awk '{print $3}' | sort >"$work/exported"
grep -v '^#' "$MSRP_SRC/tests/install/public-symbols.txt" | sort >"$work/allowed"
if ! diff -u "$work/allowed" "$work/exported" >"$work/abi.diff"; then
    fail "exported symbols differ from tests/install/public-symbols.txt (+ exported, - missing):"
    grep '^[+-][^+-]' "$work/abi.diff" | head -n 20 >&2
fi
# The static library too: its objects are linked into one whose internal
# symbols are local.
nm -g --defined-only "$libdir/libmsrpgw.a" 2>/dev/null | awk 'NF == 3 {print $3}' | sort \
    >"$work/exported-static"
if ! diff -u "$work/allowed" "$work/exported-static" >"$work/abi-static.diff"; then
    fail "libmsrpgw.a's global symbols differ from public-symbols.txt (+ global, - missing):"
    grep '^[+-][^+-]' "$work/abi-static.diff" | head -n 20 >&2
fi
grep -ho '^MSRPGW_API [^(]*(' "$prefix"/include/msrpgw/*.h |
    sed 's/.*[ *]\([a-z_0-9]*\)($/\1/' | sort >"$work/declared"
missing=$(comm -23 "$work/declared" "$work/allowed")
[ -z "$missing" ] || fail "declared MSRPGW_API but not in public-symbols.txt: $missing"
if grep -n '#include "\|#include <\(proto\|uring\|gateway\)/' "$prefix"/include/msrpgw/*.h >&2; then
    fail "installed headers include internal headers"
fi
for h in "$prefix"/include/msrpgw/*.h; do
    printf '#include <msrpgw/%s>\nint msrpgw_header_check;\n' "$(basename "$h")" >"$work/h.c"
    cc -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$prefix/include" -c "$work/h.c" \
        -o "$work/h.o" 2>&1 || fail "$(basename "$h") does not compile alone"
done

# ---- 3. the example, against the install only ----
example="$MSRP_SRC/tools/examples/msrpgw_example.c"
# shellcheck disable=SC2046 # pkg-config's output is a list of words
if ! cc -std=c11 -Wall -Wextra -Werror "${san[@]}" "$example" -o "$work/example" \
        $(pkg-config --cflags --libs msrpgw) -Wl,-rpath,"$libdir" 2>"$work/cc.log"; then
    cat "$work/cc.log" >&2
    echo "FAIL: the example does not build with pkg-config --cflags --libs msrpgw" >&2
    exit 1
fi
# (ldd's output in a variable: grep -q quitting early must not fail ldd
# with SIGPIPE under pipefail)
deps=$(ldd "$work/example")
grep -q "libmsrpgw.so.0 => $libdir/" <<<"$deps" ||
    fail "the example does not load the installed libmsrpgw.so.0: $(grep msrpgw <<<"$deps")"
# Static: the archive plus what pkg-config --static adds (Libs.private,
# Requires.private).
static_libs=$(pkg-config --static --libs msrpgw | sed 's/-lmsrpgw\b//')
# shellcheck disable=SC2046,SC2086 # pkg-config's output is a list of words
if ! cc -std=c11 -Wall -Wextra -Werror "${san[@]}" "$example" -o "$work/example-static" \
        $(pkg-config --cflags msrpgw) "$libdir/libmsrpgw.a" $static_libs 2>"$work/cc.log"; then
    cat "$work/cc.log" >&2
    fail "the example does not link against libmsrpgw.a with pkg-config --static --libs"
elif grep -q libmsrpgw <<<"$(ldd "$work/example-static")"; then
    fail "the static example still loads libmsrpgw.so"
fi

# The API's exact behaviour (error codes, bytes written, parser fields).
# shellcheck disable=SC2046
if cc -std=c11 -Wall -Wextra -Werror "${san[@]}" "$MSRP_SRC/tests/install/api_check.c" \
        -o "$work/api_check" $(pkg-config --cflags --libs msrpgw) -Wl,-rpath,"$libdir" \
        2>"$work/cc.log"; then
    "$work/api_check" >"$work/api.log" 2>&1 || fail "api_check: $(cat "$work/api.log")"
else
    fail "api_check does not build: $(cat "$work/cc.log")"
fi

for ex in example example-static; do
    [ -x "$work/$ex" ] || continue
    if ! "$work/$ex" frame >"$work/$ex.frame" 2>&1; then
        fail "$ex frame failed: $(cat "$work/$ex.frame")"
    elif ! grep -qx "libmsrpgw $version (headers $version): ok" "$work/$ex.frame" ||
         ! grep -qx 'body "Hello from libmsrpgw" flag \$' "$work/$ex.frame"; then
        fail "$ex frame: unexpected output: $(cat "$work/$ex.frame")"
    fi
done

# A file to the installed msrpcat receiver on loopback.
head -c 1000000 /dev/urandom >"$work/file"
"$prefix/bin/msrpcat" recv --listen 127.0.0.1:0 --out "$work/got" --path-file "$work/path" \
    --bind-timeout 20 >"$work/recv.log" 2>&1 &
recv_pid=$!
for _ in $(seq 100); do [ -s "$work/path" ] && break; sleep 0.1; done
if [ ! -s "$work/path" ]; then
    fail "msrpcat recv printed no path: $(cat "$work/recv.log")"
else
    if ! timeout 30 "$work/example" send "$work/file" "$(cat "$work/path")" >"$work/send.log" 2>&1; then
        fail "example send failed: $(cat "$work/send.log")"
    fi
    grep -qE '^sent [A-Za-z0-9]+ 1000000$' "$work/send.log" ||
        fail "example send did not report 1000000 bytes: $(cat "$work/send.log")"
    wait "$recv_pid" || fail "msrpcat recv exited $?: $(cat "$work/recv.log")"
    recv_pid=""
    want=$(sha256sum <"$work/file" | cut -d' ' -f1)
    grep -q "^sha256 $want " "$work/recv.log" || fail "receiver's SHA-256 differs: $(cat "$work/recv.log")"
    cmp -s "$work/file" "$work/got" || fail "received file differs"
fi

if [ "$failures" -ne 0 ]; then
    echo "install: $failures failure(s)" >&2
    exit 1
fi
echo "install: ok ($(wc -l <"$work/exported") exported symbols, $keys config keys documented)"
