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
          python3 openssl socat tshark kamailio valgrind gnuplot-nox)

deps() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update
    # tshark asks whether non-root users may capture; answer no, quietly.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
}

build() {
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
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
