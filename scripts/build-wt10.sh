#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# build-wt10.sh -- build WiredTiger 10.0.0 (library + wt) from its PyPI source package into the
# project cache, once. A second run finds the stamp and returns at once.
#
# 10.0 is the line of MongoDB 4.4 to 6.0 (docs/WIREDTIGER.md). Its source package builds with
# autotools (build_posix/), not cmake as 11.x does; only the library and wt are built.
#
# Usage: scripts/build-wt10.sh [CACHE_DIR]     (default: .cache in the repository)
# Prints the install prefix (CACHE_DIR/wt-10.0.0) on its last line.
set -euo pipefail
VERSION=10.0.0
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-${WTKMS_CACHE:-$top/.cache}}
prefix=$cache/wt-$VERSION
stamp=$prefix/.built
if [ -f "$stamp" ]; then
    "$top/scripts/build-wt-compressors.sh" "$prefix"
    echo "$prefix"
    exit 0
fi
# autogen.sh needs autoreconf and libtoolize (pip's metadata step runs the package's setup.py,
# which also calls autoreconf).
missing=()
for p in autoconf automake libtool; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "build-wt10: installing ${missing[*]}" >&2
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
mkdir -p "$cache/src"
cd "$cache/src"
if [ ! -f "wiredtiger-$VERSION.tar.gz" ]; then
    python3 -m pip download --quiet --no-binary :all: --no-deps "wiredtiger==$VERSION" -d . >&2
fi
rm -rf "wiredtiger-$VERSION"
tar xzf "wiredtiger-$VERSION.tar.gz"
cd "wiredtiger-$VERSION"
sh autogen.sh >&2
# Not --enable-strict: its -Werror stops gcc 12 on warnings the 10.0 sources predate.
./configure --quiet --prefix="$prefix" --disable-static --enable-shared --disable-python >&2
make --quiet -j"$(nproc)" libwiredtiger.la wt >&2
rm -rf "$prefix"
make --quiet install-libLTLIBRARIES install-binPROGRAMS install-includeHEADERS >&2
rm -f "$prefix"/lib/*.la
cd "$cache/src"
rm -rf "wiredtiger-$VERSION"
touch "$stamp"
# WiredTiger's snappy, zlib and zstd extensions beside the library (a stamp of their own).
"$top/scripts/build-wt-compressors.sh" "$prefix"
echo "$prefix"
