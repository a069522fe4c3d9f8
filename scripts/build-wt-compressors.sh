#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# build-wt-compressors.sh -- WiredTiger's own snappy, zlib and zstd compressor extensions for a
# WiredTiger built here (scripts/build-wt10.sh, build-wt11.sh), once, as
# PREFIX/lib/libwiredtiger_NAME.so: the names and place Debian's libwiredtiger0 uses for its
# snappy and zlib extensions, where `wtkms snapshot create` looks for the compressors a home
# needs (mongod journals with snappy by default). Each is one C file of the line's source package
# (ext/compressors/NAME/NAME_compress.c), compiled against PREFIX/include and the compression
# library from Debian (libsnappy-dev, zlib1g-dev, libzstd-dev; installed when missing).
#
# Usage: scripts/build-wt-compressors.sh PREFIX     (PREFIX: CACHE/wt-X.Y.Z, the source package
#                                                    CACHE/src/wiredtiger-X.Y.Z.tar.gz beside it)
set -euo pipefail
prefix=${1:?usage: build-wt-compressors.sh PREFIX}
prefix=$(cd "$prefix" && pwd)
stamp=$prefix/.compressors
[ -f "$stamp" ] && exit 0
version=${prefix##*/wt-}
tarball=$(dirname "$prefix")/src/wiredtiger-$version.tar.gz
[ -f "$tarball" ] || { echo "build-wt-compressors: no source package $tarball" >&2; exit 1; }
pkgs=(libsnappy-dev zlib1g-dev libzstd-dev)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "build-wt-compressors: installing ${missing[*]}" >&2
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/wt-compressors.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The files include <wiredtiger_config.h> only to learn whether they are built into the library
# (HAVE_BUILTIN_EXTENSION_*) and the byte order (WORDS_BIGENDIAN): a loadable extension on a
# little-endian machine defines neither, so an empty header is WiredTiger's own configuration.
: >"$work/wiredtiger_config.h"
[ "$(printf '\001\000' | od -An -tu2 | tr -d ' ')" = 1 ] ||
    { echo "build-wt-compressors: big-endian machine: WORDS_BIGENDIAN would be needed" >&2; exit 1; }
for c in snappy:snappy zlib:z zstd:zstd; do
    name=${c%%:*} lib=${c#*:}
    member=wiredtiger-$version/ext/compressors/$name/${name}_compress.c
    tar -xzf "$tarball" -C "$work" "$member"
    gcc -std=gnu11 -O2 -g -fPIC -shared -I"$work" -I"$prefix/include" \
        -o "$prefix/lib/libwiredtiger_$name.so" "$work/$member" -l"$lib" -Wl,--no-undefined
done
touch "$stamp"
echo "build-wt-compressors: built snappy, zlib and zstd into $prefix/lib" >&2
