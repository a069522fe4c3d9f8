#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# build-wt.sh -- build one WiredTiger release (library + wt, and WiredTiger's snappy, zlib and
# zstd compressor extensions) from its PyPI source package into the project cache, once. A second
# run finds the stamp and returns at once.
#
# Usage: scripts/build-wt.sh VERSION [CACHE_DIR]   (default: .cache in the repository, or
#                                                   $WTKMS_CACHE)
#        scripts/build-wt.sh all [CACHE_DIR]       every line in WT_LINES below, one per line
# Prints the install prefix (CACHE_DIR/wt-VERSION) on its last line.
#
# Sourced (`. scripts/build-wt.sh`), it only defines the functions, for other scripts:
#   wt_sdist VERSION CACHE     download wiredtiger-VERSION.tar.gz into CACHE/src (once); print it
#   wt_build VERSION CACHE     the build above; print the prefix
#
# The lines MongoDB ships (docs/WIREDTIGER.md, "Which build"): 3.2.1 is Debian's libwiredtiger,
# the others are built here. 10.0.x builds with autotools (build_posix/), 11.x with cmake.
WT_LINES="10.0.0 11.2.0 11.3.1"

wt_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# wt_need_debs PKG... -- install the Debian packages missing among PKG (quietly).
wt_need_debs() {
    local missing=() p SUDO=
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "build-wt: installing ${missing[*]}" >&2
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

# wt_sdist VERSION CACHE -- the source package, downloaded with pip once; prints its path.
wt_sdist() {
    local version=$1 cache=$2
    local tarball=$cache/src/wiredtiger-$version.tar.gz
    if [ ! -f "$tarball" ]; then
        # pip's metadata step runs the package's setup.py, which for 10.0 calls autoreconf.
        case "$version" in 10.*) wt_need_debs autoconf automake libtool ;; esac
        mkdir -p "$cache/src"
        python3 -m pip download --quiet --no-binary :all: --no-deps "wiredtiger==$version" \
            -d "$cache/src" >&2
    fi
    [ -f "$tarball" ] || { echo "build-wt: pip gave no $tarball" >&2; return 1; }
    echo "$tarball"
}

# wt_build_autotools SRC PREFIX -- 10.0: autogen.sh, configure, the library and wt only.
wt_build_autotools() {
    local src=$1 prefix=$2
    wt_need_debs autoconf automake libtool
    (
        cd "$src"
        sh autogen.sh >&2
        # Not --enable-strict: its -Werror stops gcc 12 on warnings the 10.0 sources predate.
        ./configure --quiet --prefix="$prefix" --disable-static --enable-shared --disable-python >&2
        make --quiet -j"$(nproc)" libwiredtiger.la wt >&2
        rm -rf "$prefix"
        make --quiet install-libLTLIBRARIES install-binPROGRAMS install-includeHEADERS >&2
        rm -f "$prefix"/lib/*.la
    )
}

# wt_build_cmake SRC BUILDDIR PREFIX -- 11.x: the shared library and wt only.
wt_build_cmake() {
    local src=$1 build=$2 prefix=$3 gen=()
    command -v ninja >/dev/null && gen=(-G Ninja)
    # gcc 12 reports a false -Warray-bounds error in WiredTiger's sources: ENABLE_STRICT=0 keeps
    # the warning a warning. No Python bindings, no unit tests, no compressors built in (the
    # snappy, zlib and zstd extensions are built as loadable extensions): only what wtkms tests
    # need.
    cmake -S "$src" -B "$build" "${gen[@]}" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX="$prefix" \
        -DENABLE_STRICT=0 -DENABLE_PYTHON=0 -DHAVE_UNITTEST=0 -DENABLE_STATIC=0 -DENABLE_SHARED=1 \
        -DENABLE_LZ4=0 -DENABLE_SNAPPY=0 -DENABLE_ZLIB=0 -DENABLE_ZSTD=0 -DENABLE_SODIUM=0 \
        -DENABLE_CPPSUITE=0 -DENABLE_LLVM=0 -DWT_STANDALONE_BUILD=1 >&2
    cmake --build "$build" --parallel "$(nproc)" --target wiredtiger_shared wt >&2
    rm -rf "$prefix"
    mkdir -p "$prefix/include" "$prefix/lib" "$prefix/bin"
    cp "$(find "$build" -name wiredtiger.h | head -1)" "$prefix/include/"
    cp "$src/src/include/wiredtiger_ext.h" "$prefix/include/"
    find "$build" -maxdepth 2 -name 'libwiredtiger*.so*' -exec cp -a {} "$prefix/lib/" \;
    cp "$build/wt" "$prefix/bin/wt"
}

# wt_build VERSION CACHE -- build VERSION into CACHE/wt-VERSION once; prints the prefix.
wt_build() {
    local version=$1 cache=$2
    local prefix=$cache/wt-$version tarball work
    case "$version" in
    10.* | 11.*) ;;
    *) echo "build-wt: WiredTiger $version: only 10.x and 11.x are built here (3.2 is Debian's)" >&2
        return 2 ;;
    esac
    if [ ! -f "$prefix/.built" ]; then
        tarball=$(wt_sdist "$version" "$cache")
        work=$(mktemp -d "$cache/src/build-$version.XXXXXX")
        tar xzf "$tarball" -C "$work"
        case "$version" in
        10.*) wt_build_autotools "$work/wiredtiger-$version" "$prefix" ;;
        *) wt_build_cmake "$work/wiredtiger-$version" "$work/build" "$prefix" ;;
        esac
        rm -rf "$work"
        touch "$prefix/.built"
    fi
    # WiredTiger's snappy, zlib and zstd extensions beside the library (a stamp of their own, so
    # a line cached before they existed gets them now).
    "$wt_top/scripts/build-wt-compressors.sh" "$prefix"
    echo "$prefix"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    version=${1:?usage: build-wt.sh VERSION|all [CACHE_DIR]}
    cache=${2:-${WTKMS_CACHE:-$wt_top/.cache}}
    mkdir -p "$cache"
    cache=$(cd "$cache" && pwd)
    if [ "$version" = all ]; then
        for v in $WT_LINES; do wt_build "$v" "$cache"; done
    else
        wt_build "$version" "$cache"
    fi
fi
