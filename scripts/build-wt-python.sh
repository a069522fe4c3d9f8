#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# build-wt-python.sh -- build an 11.x WiredTiger line with its Python bindings (SWIG), the wt
# utility and the extensions its Python test suite loads (the nop and rotn encryptors; the nop,
# lz4, snappy, zlib and zstd compressors), from its PyPI source package, into the project cache,
# once. A second run finds the stamp and returns at once.
#
# This build is for tests/wtsuite (WiredTiger's own test/suite with wtkms as the encryptor) only.
# It has a directory of its own, CACHE/wt-VERSION-python/, holding the unpacked source (whose
# test/ the suite runs from) and the cmake build directory (build/: run.py's WT_BUILDDIR), so the
# library build the other tests use (CACHE/wt-VERSION, scripts/build-wt11.sh) is not touched.
#
# Usage: scripts/build-wt-python.sh [VERSION] [CACHE_DIR]   (default 11.3.1; .cache, or
#                                                            $WTKMS_CACHE)
# Prints CACHE_DIR/wt-VERSION-python on its last line. Needs swig, python3-dev and the
# compression libraries (scripts/setup.d/40-wtsuite.sh installs them).
set -euo pipefail
version=${1:-11.3.1}
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${2:-${WTKMS_CACHE:-$top/.cache}}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd -P)  # physical: the build records its paths (rpath)
case "$version" in
11.*) ;;
*) echo "build-wt-python: WiredTiger $version: only 11.x lines (cmake) are built here" >&2
    exit 2 ;;
esac
dir=$cache/wt-$version-python
stamp=$dir/.built
if [ -f "$stamp" ]; then
    echo "$dir"
    exit 0
fi
for c in swig cmake; do
    command -v "$c" >/dev/null ||
        { echo "build-wt-python: $c is missing: run scripts/setup-tests.sh" >&2; exit 1; }
done
tarball=$cache/src/wiredtiger-$version.tar.gz
if [ ! -f "$tarball" ]; then
    mkdir -p "$cache/src"
    python3 -m pip download --quiet --no-binary :all: --no-deps "wiredtiger==$version" \
        -d "$cache/src" >&2
fi
rm -rf "$dir"
mkdir -p "$dir"
tar xzf "$tarball" -C "$dir"
src=$dir/wiredtiger-$version
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
# Release without debug information: the suite needs no debugger, and it keeps the build short.
# ENABLE_STRICT=0: gcc 12 reports a false -Warray-bounds error in WiredTiger's sources. The
# compressors are loadable extensions (ext/compressors/NAME/libwiredtiger_NAME.so), where the
# suite's harness looks for them; sodium is not built (its scenarios are not run).
cmake -S "$src" -B "$dir/build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DENABLE_STRICT=0 -DENABLE_PYTHON=1 -DHAVE_UNITTEST=0 -DENABLE_STATIC=0 -DENABLE_SHARED=1 \
    -DENABLE_LZ4=1 -DENABLE_SNAPPY=1 -DENABLE_ZLIB=1 -DENABLE_ZSTD=1 -DENABLE_SODIUM=0 \
    -DENABLE_CPPSUITE=0 -DENABLE_LLVM=0 -DWT_STANDALONE_BUILD=1 >&2
cmake --build "$dir/build" --parallel "$(nproc)" --target wiredtiger_python wt \
    wiredtiger_nop_encrypt wiredtiger_rotn wiredtiger_nop_compress wiredtiger_lz4 \
    wiredtiger_snappy wiredtiger_zlib wiredtiger_zstd >&2
# The object files are not needed again (the stamp stops any rebuild): keep the cache small.
find "$dir/build" -name '*.o' -delete
# The bindings import and name their line.
PYTHONPATH=$dir/build/lang/python python3 -c \
    'import wiredtiger; print(wiredtiger.wiredtiger_version()[0])' >&2
touch "$stamp"
echo "$dir"
