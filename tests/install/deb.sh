#!/usr/bin/env bash
# deb.sh: the Debian packages, end to end, on this machine (root; CI runs
# it after the test suites: .ci/run). It
#   1. builds msrpgw, libmsrpgw0 and libmsrpgw-dev with
#      tools/packaging/build-deb.sh;
#   2. installs them with dpkg -i and checks what an operator gets: the
#      msrpgw system user, /etc/msrpgw root:msrpgw 0750,
#      /etc/msrpgw/msrpgw.conf a conffile root:msrpgw 0640, an empty users
#      file, the unit, the man pages (man -w), and that the shipped config
#      passes the unit's ExecStartPre as the unit's user;
#   3. builds tools/examples/msrpgw_example.c with
#      `pkg-config --cflags --libs msrpgw` against the system's
#      libmsrpgw-dev and runs its frame round trip;
#   4. starts the daemon: under systemd (PID 1) as msrpgw.service with a
#      drop-in that points it at a test config on an ephemeral port;
#      otherwise the unit's own ExecStart line, as the unit's User, with the
#      config path swapped for the same test config (and --port-file); then
#      one file through it with the installed msrpcat (receiver AUTHed,
#      SHA-256 compared) and a SIGTERM drain that exits 0;
#   5. purges the packages again when they were not installed before.
# Exit 77 (skipped) when not root or dpkg-buildpackage/dh are missing.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
chmod 0755 "$work"
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (dpkg -i)" >&2; exit 77; }
for tool in dpkg-buildpackage dh pkg-config cc runuser setpriv man; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool missing" >&2; exit 77; }
done
pkgs=(msrpgw libmsrpgw0 libmsrpgw-dev)
preinstalled=""
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && preinstalled=1
done
gw_pid=""
systemd=""
[ -d /run/systemd/system ] && [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ] && systemd=1
dropin=/run/systemd/system/msrpgw.service.d/zz-test.conf
cleanup() {
    [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null
    if [ -n "$systemd" ] && [ -e "$dropin" ]; then
        systemctl stop msrpgw >/dev/null 2>&1
        rm -f "$dropin"
        systemctl daemon-reload
    fi
    rm -f /etc/msrpgw/test.conf /etc/msrpgw/test-users
    if [ -z "$preinstalled" ]; then
        dpkg --purge "${pkgs[@]}" >"$work/purge.log" 2>&1 || cat "$work/purge.log" >&2
    fi
    if [ "$failures" -eq 0 ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT

# ---- 1. build ----
if ! bash "$top/tools/packaging/build-deb.sh" "$work/debs" >"$work/build.out" 2>&1; then
    cat "$work/build.out" >&2
    echo "FAIL: build-deb.sh failed" >&2
    failures=1
    exit 1
fi
version=$(sed -n 's/^project(msrpgw VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")

# ---- 2. install ----
debs=()
for p in "${pkgs[@]}"; do debs+=("$work/debs/${p}_${version}_$(dpkg --print-architecture).deb"); done
if ! dpkg -i "${debs[@]}" >"$work/dpkg.log" 2>&1; then
    cat "$work/dpkg.log" >&2
    echo "FAIL: dpkg -i failed" >&2
    failures=1
    exit 1
fi
getent passwd msrpgw >/dev/null || fail "no msrpgw user"
[ "$(stat -c '%U:%G %a' /etc/msrpgw)" = "root:msrpgw 750" ] ||
    fail "/etc/msrpgw is $(stat -c '%U:%G %a' /etc/msrpgw), not root:msrpgw 750"
[ "$(stat -c '%U:%G %a' /etc/msrpgw/msrpgw.conf)" = "root:msrpgw 640" ] ||
    fail "msrpgw.conf is $(stat -c '%U:%G %a' /etc/msrpgw/msrpgw.conf), not root:msrpgw 640"
[ -f /etc/msrpgw/users ] && [ ! -s /etc/msrpgw/users ] || fail "no empty /etc/msrpgw/users"
dpkg-query -W -f='${Conffiles}\n' msrpgw | grep -q '^ /etc/msrpgw/msrpgw.conf ' ||
    fail "/etc/msrpgw/msrpgw.conf is not a conffile"
unit=$(dpkg -L msrpgw | grep '/systemd/system/msrpgw.service$' | head -n 1)
[ -n "$unit" ] || fail "msrpgw.service not in the package"
# In the package; and found by man where dpkg installed it (a container's
# dpkg may be told to leave /usr/share/man out).
contents=$(dpkg-deb -c "${debs[0]}")
for page in msrpgw.8 msrpgw.conf.5 msrpcat.1 msrpload.1 msrpdump.1 msrpgw-ctl.1; do
    path=/usr/share/man/man${page##*.}/$page.gz
    grep -q "\.$path\$" <<<"$contents" || fail "$path not in the msrpgw package"
    [ ! -e "$path" ] || man -w "${page%.*}" 2>/dev/null | grep -qx "$path" ||
        fail "man -w ${page%.*} does not find $path"
done
# systemd's own check of the unit (works without systemd running): the
# binaries exist, every setting parses, the Documentation= man pages open.
if command -v systemd-analyze >/dev/null; then
    verify=$(systemd-analyze verify "$unit" 2>&1)
    [ -e /usr/share/man/man8/msrpgw.8.gz ] || verify=$(grep -v "Command 'man " <<<"$verify")
    [ -z "$verify" ] || fail "systemd-analyze verify $unit: $verify"
fi
user=$(sed -n 's/^User=//p' "$unit")
exec_pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ "$user" = msrpgw ] || fail "unit User= is '$user'"
[ "${exec_start%% *}" = /usr/sbin/msrpgw ] || fail "unit ExecStart is '$exec_start'"
# shellcheck disable=SC2086 # the unit's command line, split as systemd does here
runuser -u "$user" -- $exec_pre >"$work/check.log" 2>&1 ||
    fail "the unit's ExecStartPre fails as $user: $(cat "$work/check.log")"

# ---- 3. the example against the system's libmsrpgw-dev ----
# shellcheck disable=SC2046
if cc -std=c11 -Wall -Wextra -Werror "$top/tools/examples/msrpgw_example.c" -o "$work/example" \
        $(pkg-config --cflags --libs msrpgw) 2>"$work/cc.log"; then
    "$work/example" frame >"$work/frame.log" 2>&1 &&
        grep -qx "libmsrpgw $version (headers $version): ok" "$work/frame.log" ||
        fail "example frame: $(cat "$work/frame.log")"
else
    fail "example does not build against the packaged library: $(cat "$work/cc.log")"
fi

# ---- 4. the daemon, one transfer ----
printf 'alice:%s\n' "pw$RANDOM$RANDOM" >/etc/msrpgw/test-users
password=$(cut -d: -f2 /etc/msrpgw/test-users)
sed -e 's/^listen = .*/listen = 127.0.0.1:0/' \
    -e 's|^users_file = .*|users_file = /etc/msrpgw/test-users|' \
    /etc/msrpgw/msrpgw.conf >/etc/msrpgw/test.conf
chown root:msrpgw /etc/msrpgw/test.conf /etc/msrpgw/test-users
chmod 0640 /etc/msrpgw/test.conf /etc/msrpgw/test-users
if [ -n "$systemd" ]; then
    ports=/run/msrpgw-test/ports
    mkdir -p "$(dirname "$dropin")"
    cat >"$dropin" <<EOF
[Service]
RuntimeDirectory=msrpgw-test
ExecStartPre=
ExecStartPre=${exec_pre/msrpgw.conf/test.conf}
ExecStart=
ExecStart=${exec_start/msrpgw.conf/test.conf} --port-file $ports
EOF
    systemctl daemon-reload
    systemctl restart msrpgw || fail "systemctl restart msrpgw failed: $(systemctl status msrpgw 2>&1 | tail -n 5)"
else
    ports="$work/ports"
    chown "$user" "$work"
    # shellcheck disable=SC2086
    # setpriv execs the daemon (runuser would stay its parent and take the
    # SIGTERM meant for it)
    setpriv --reuid="$user" --regid="$user" --init-groups -- \
        ${exec_start/msrpgw.conf/test.conf} --port-file "$ports" \
        >"$work/gw.log" 2>&1 &
    gw_pid=$!
fi
for _ in $(seq 100); do [ -s "$ports" ] && break; sleep 0.1; done
port=$(sed -n 's/^tcp //p' "$ports" 2>/dev/null)
if [ -z "$port" ]; then
    fail "the daemon did not start: $(cat "$work/gw.log" 2>/dev/null ||
        journalctl -u msrpgw -n 20 --no-pager 2>&1)"
else
    head -c 2000000 /dev/urandom >"$work/file"
    msrpcat recv --relay "127.0.0.1:$port" --user alice --password "$password" \
        --out "$work/got" --path-file "$work/path" --bind-timeout 20 >"$work/recv.log" 2>&1 &
    recv=$!
    for _ in $(seq 100); do [ -s "$work/path" ] && break; sleep 0.1; done
    timeout 30 msrpcat send "$work/file" --to-path "$(cat "$work/path" 2>/dev/null)" \
        >"$work/send.log" 2>&1 || fail "msrpcat send failed: $(cat "$work/send.log")"
    wait "$recv" || fail "msrpcat recv failed: $(cat "$work/recv.log")"
    cmp -s "$work/file" "$work/got" || fail "the file came through changed"
fi
if [ -n "$systemd" ]; then
    systemctl stop msrpgw
    [ "$(systemctl show -p ExecMainStatus --value msrpgw)" = 0 ] || fail "msrpgw.service did not exit 0"
elif [ -n "$gw_pid" ]; then
    kill -TERM "$gw_pid"
    wait "$gw_pid"
    rc=$?
    gw_pid=""
    [ "$rc" -eq 0 ] || fail "msrpgw exited $rc after SIGTERM: $(tail -n 5 "$work/gw.log")"
fi

if [ "$failures" -ne 0 ]; then
    echo "deb: $failures failure(s)" >&2
    exit 1
fi
echo "deb: ok (${pkgs[*]} $version built, installed, one transfer through the daemon)"
