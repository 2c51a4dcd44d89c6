#!/usr/bin/env bash
# build-deb.sh: builds the Debian packages msrpgw, libmsrpgw0 and
# libmsrpgw-dev from this checkout.
#
#   bash tools/packaging/build-deb.sh [OUTDIR]      (default: ./out/deb)
#
# The recipe lives in tools/packaging/debian/ (the repository's top level
# stays the project's own). This script copies the source files of the
# checkout (git's tracked and untracked-but-not-ignored files, so no build
# tree comes along; every file but build*/ and out/ when it is not a git
# checkout) into a fresh directory, puts the recipe there as debian/, and
# runs `dpkg-buildpackage -us -uc -b` in it. The .deb files (and the
# .buildinfo/.changes) end up in OUTDIR. Needs dpkg-dev, debhelper and the
# Build-Depends of debian/control (bash tools/setup.sh deps installs them).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "${1:-$top/out/deb}" && cd "${1:-$top/out/deb}" && pwd)
version=$(sed -n 's/^project(msrpgw VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
deb_version=$(sed -n '1s/^msrpgw (\([^)]*\)).*/\1/p' "$top/tools/packaging/debian/changelog")
# A native package's version is the project's: say so when they drift.
if [ "${deb_version%%-*}" != "$version" ]; then
    echo "build-deb: debian/changelog says $deb_version, CMakeLists.txt $version:" \
         "add a changelog entry (dch -v $version)" >&2
    exit 1
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
src="$stage/msrpgw-$version"
mkdir -p "$src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$top" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -xf - -C "$src"
else
    (cd "$top" && tar --exclude='./build*' --exclude=./out -cf - .) | tar -xf - -C "$src"
fi
rm -rf "$src/debian"
cp -r "$src/tools/packaging/debian" "$src/debian"
# The library's symbols file, from the list the install test holds the
# library to (tests/install/public-symbols.txt), so dpkg-gensymbols fails
# the build when a public symbol disappears or an unlisted one appears.
# Each symbol's version is this one with "~" (sorting just below it):
# stamped with the version being built, a symbol that is missing would
# count as added and dropped in the same version, which dpkg-gensymbols
# does not report. (Programs then depend on libmsrpgw0 >= this version~:
# strict, as a 0.x API should be.)
{
    echo "libmsrpgw.so.0 libmsrpgw0 #MINVER#"
    grep -v '^#' "$src/tests/install/public-symbols.txt" | sed "s/.*/ &@Base $version~/"
} >"$src/debian/libmsrpgw0.symbols"

echo "build-deb: building msrpgw $version in $src"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$stage/build.log" 2>&1 || {
    tail -n 60 "$stage/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed (log above)" >&2
    exit 1
}
cp "$stage"/*.deb "$stage"/*.buildinfo "$stage"/*.changes "$out"/
cp "$stage/build.log" "$out/build.log"
ls -1 "$out"/*.deb
