#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# build-wt11.sh -- build WiredTiger 11.3.1 (library + wt) from its PyPI source package into
# the project cache, once. A second run finds the stamp and returns at once.
#
# Usage: scripts/build-wt11.sh [CACHE_DIR]     (default: .cache in the repository)
# Prints the install prefix (CACHE_DIR/wt-11.3.1) on its last line.
set -euo pipefail
VERSION=11.3.1
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-${WTKMS_CACHE:-$top/.cache}}
prefix=$cache/wt-$VERSION
stamp=$prefix/.built
if [ -f "$stamp" ]; then
    "$top/scripts/build-wt-compressors.sh" "$prefix"
    echo "$prefix"
    exit 0
fi
mkdir -p "$cache/src"
cd "$cache/src"
if [ ! -f "wiredtiger-$VERSION.tar.gz" ]; then
    python3 -m pip download --quiet --no-binary :all: --no-deps "wiredtiger==$VERSION" -d . >&2
fi
rm -rf "wiredtiger-$VERSION" build-$VERSION
tar xzf "wiredtiger-$VERSION.tar.gz"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
# gcc 12 reports a false -Warray-bounds error in WiredTiger's sources: ENABLE_STRICT=0 keeps the
# warning a warning. No Python bindings, no unit tests, no compressors built in (the snappy, zlib and
# zstd extensions are built as loadable extensions below): only what wtkms tests need.
cmake -S "wiredtiger-$VERSION" -B build-$VERSION "${gen[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DENABLE_STRICT=0 -DENABLE_PYTHON=0 -DHAVE_UNITTEST=0 -DENABLE_STATIC=0 -DENABLE_SHARED=1 \
    -DENABLE_LZ4=0 -DENABLE_SNAPPY=0 -DENABLE_ZLIB=0 -DENABLE_ZSTD=0 -DENABLE_SODIUM=0 \
    -DENABLE_CPPSUITE=0 -DENABLE_LLVM=0 -DWT_STANDALONE_BUILD=1 >&2
cmake --build build-$VERSION --parallel "$(nproc)" --target wiredtiger_shared wt >&2
mkdir -p "$prefix/include" "$prefix/lib" "$prefix/bin"
cp "$(find build-$VERSION -name wiredtiger.h | head -1)" "$prefix/include/"
cp "wiredtiger-$VERSION/src/include/wiredtiger_ext.h" "$prefix/include/"
find build-$VERSION -maxdepth 2 -name 'libwiredtiger*.so*' -exec cp -a {} "$prefix/lib/" \;
cp build-$VERSION/wt "$prefix/bin/wt"
rm -rf "wiredtiger-$VERSION" build-$VERSION
touch "$stamp"
# WiredTiger's snappy, zlib and zstd extensions beside the library (a stamp of their own).
"$top/scripts/build-wt-compressors.sh" "$prefix"
echo "$prefix"
