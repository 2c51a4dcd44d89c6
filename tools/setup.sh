#!/usr/bin/env bash
# setup.sh: installs msrpgw's build and test dependencies (Debian 12),
# builds, and runs the gateway or the test suite.
#
#   bash tools/setup.sh run    install, build, run msrpgw on its built-in config
#   bash tools/setup.sh test   install, build, run every test (ctest)
#   bash tools/setup.sh deps   install packages only
#   bash tools/setup.sh build  configure and build into ./build
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# Everything the build, the tests and the perf harness use, from Debian 12.
PACKAGES=(build-essential cmake pkg-config clang llvm
          liburing-dev libwolfssl-dev libjemalloc-dev libcriterion-dev
          libc-ares-dev dnsmasq-base
          python3 openssl socat tshark kamailio valgrind gnuplot-nox
          chromium chromium-driver
          dpkg-dev autoconf automake libtool
          debhelper adduser man-db)
# dpkg-dev and the autotools build Debian's wolfSSL source with AES-NI
# (tools/wolfssl-aesni.sh, run by CMake when MSRP_WOLFSSL_AESNI is ON).
# debhelper builds the Debian packages (tools/packaging/build-deb.sh);
# adduser is what their postinst uses, man-db what tests/install/deb.sh
# finds their man pages with (groff, from groff-base, lints them).
# chromium + chromium-driver run the demo page headless in
# integration.browser_ws (tests/web/browser_test.py).

# A deb-src entry for Debian 12, so that "apt-get source wolfssl" works:
# added once (its own file), unless some entry already serves bookworm
# sources (one-line "deb-src ... bookworm" or a deb822 stanza with
# "Types: deb-src" and a bookworm suite). 0 if it was added.
DEBSRC=/etc/apt/sources.list.d/msrpgw-deb-src.sources
debsrc() {
    local f sudo=""
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        grep -qE '^[[:space:]]*deb-src[[:space:]].*bookworm' "$f" && return 1
        awk 'BEGIN { RS = "" } /(^|\n)Types:[^\n]*deb-src/ && /(^|\n)Suites:[^\n]*bookworm/ { f = 1 }
             END { exit !f }' "$f" && return 1
    done
    grep -q 'VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null || return 1
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo tee "$DEBSRC" >/dev/null <<'EOF'
# Added by msrpgw tools/setup.sh: Debian 12 source packages, so the build can
# compile Debian's wolfSSL source with AES-NI (apt-get source wolfssl).
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    echo "setup: added $DEBSRC (deb-src for bookworm)"
    return 0
}


deps() {
    local missing=() sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    if debsrc; then
        $sudo apt-get update
    fi
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    $sudo apt-get update
    # tshark asks whether non-root users may capture; answer no, quietly.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
}

build() {
    # Warnings (the AES-NI wolfSSL build failing, falling back) go to
    # stderr; which wolfSSL was chosen is said here either way.
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    echo "setup: wolfSSL: $(sed -n 's/^MSRP_WOLFSSL_CHOSEN:INTERNAL=//p' build/CMakeCache.txt)"
    cmake --build build -j"$(nproc)"
}

case "${1:-}" in
deps) deps ;;
build) deps; build ;;
run)
    deps; build
    if [ -x build/gateway/msrpgw ]; then
        exec build/gateway/msrpgw
    fi
    exec build/tools/msrpdump tests/fuzz/corpus/parser/rfc4975_send.msrp
    ;;
test)
    deps; build
    ctest --test-dir build --output-on-failure -j"$(nproc)"
    ;;
*)
    echo "usage: $0 run|test|deps|build" >&2
    exit 2
    ;;
esac
