#!/usr/bin/env bash
# wolfssl-aesni.sh DIR: builds Debian's own wolfSSL source package with the
# x86-64 assembly paths (AES-NI, AVX2 GHASH, ChaCha20/Poly1305 asm) into
# DIR/install as a static, position-independent library. CMake runs it at
# configure time when MSRP_WOLFSSL_AESNI is ON (see CMakeLists.txt); it is
# idempotent and safe to run from several build trees at once: the first
# caller builds under a lock, the others wait and reuse DIR.
#
# The configure options are Debian's own (debian/rules: --enable-distro
# --enable-pkcs11 --disable-examples), so the API and options.h msrpgw
# compiles against are the system package's, plus the assembly.
#
# Needs: a deb-src entry for bookworm (tools/setup.sh deps adds one),
# dpkg-dev, autoconf, automake, libtool. Exit status nonzero on any failure;
# the caller then falls back to the system libwolfssl.
#
# WOLFSSL_EXTRA_CFLAGS (environment, empty by default) is added to CFLAGS
# and to the stamp, e.g. -DLARGE_STATIC_BUFFERS: 16 KiB record buffers inside
# every WOLFSSL instead of a malloc, zeroing and free per record received
# (about 5 % fewer gateway instructions per msrps MB, ~33 KB more per TLS
# connection, idle or not).
set -euo pipefail
dir=${1:?usage: wolfssl-aesni.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
opts=(--enable-distro --enable-pkcs11 --disable-examples
      --enable-aesni --enable-intelasm --enable-sp --enable-sp-asm
      --enable-static --disable-shared --with-pic
      --disable-silent-rules --disable-dependency-tracking)
# The stamp names the source version and the options: a change rebuilds.
ver=$(dpkg-query -W -f='${Version}' libwolfssl-dev 2>/dev/null || echo unknown)
extra=${WOLFSSL_EXTRA_CFLAGS:-}
# HAVE_SECRET_CALLBACK: wolfSSL_set_tls13_secret_cb, which gives msrpgw the
# TLS 1.3 traffic secrets so that it can protect application records itself
# (uring/tls_rec.c); nothing is written anywhere (that is
# WOLFSSL_SSLKEYLOGFILE, not set).
cflags="-O2 -g -fPIC -DHAVE_SECRET_CALLBACK${extra:+ $extra}"
key="$ver ${opts[*]} CC=${WOLFSSL_CC:-gcc} CFLAGS=$cflags"

exec 9>"$dir/.lock"
flock 9
if [ -f "$dir/install/lib/libwolfssl.a" ] && [ -f "$dir/install/include/wolfssl/options.h" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$key" ]; then
    echo "wolfssl-aesni: reusing $dir/install ($ver)"
    exit 0
fi
rm -rf "$dir/src" "$dir/install" "$dir/stamp"
mkdir -p "$dir/src"
cd "$dir/src"
echo "wolfssl-aesni: fetching Debian source of wolfssl $ver (apt-get source)"
apt-get source -q "wolfssl=$ver" >apt-source.log 2>&1 || apt-get source -q wolfssl >>apt-source.log 2>&1 || {
    echo "wolfssl-aesni: apt-get source wolfssl failed (no deb-src entry? run: bash tools/setup.sh deps)" >&2
    tail -n 5 apt-source.log >&2
    exit 1
}
src=$(find . -maxdepth 1 -type d -name 'wolfssl-*' | head -n 1)
cd "$src"
echo "wolfssl-aesni: configuring and building $(pwd) (a few minutes)"
{
    ./autogen.sh &&
    CC=${WOLFSSL_CC:-gcc} CFLAGS="$cflags" ./configure --prefix="$dir/install" "${opts[@]}" &&
    make -j"$(nproc)" &&
    make install &&
    # --enable-distro leaves options.h out of "make install" (Debian's
    # packaging copies it): the headers are unusable without it.
    install -m 644 wolfssl/options.h "$dir/install/include/wolfssl/options.h"
} >"$dir/build.log" 2>&1 || {
    echo "wolfssl-aesni: build failed, see $dir/build.log" >&2
    tail -n 20 "$dir/build.log" >&2
    exit 1
}
echo "$key" >"$dir/stamp"
echo "wolfssl-aesni: built $dir/install/lib/libwolfssl.a"
