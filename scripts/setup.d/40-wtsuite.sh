#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 40-wtsuite.sh -- what tests/wtsuite (WiredTiger's own Python test suite with wtkms as the
# encryptor) needs: SWIG and the Python headers to build WiredTiger's Python bindings, and liblz4
# for the suite's lz4 compressor scenarios (snappy, zlib and zstd come with
# scripts/build-wt-compressors.sh), all from Debian; then the bindings of each 11.x line the
# suite runs on (WTKMS_WTSUITE_VERSIONS, default 11.3.1), built once into .cache/ by
# scripts/build-wt-python.sh. Idempotent and quiet.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
pkgs=(swig python3-dev liblz4-dev libsnappy-dev zlib1g-dev libzstd-dev)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "40-wtsuite: installing ${missing[*]}" >&2
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swig >/dev/null || { echo "40-wtsuite: swig is missing after the install" >&2; exit 1; }
for v in ${WTKMS_WTSUITE_VERSIONS:-11.3.1}; do
    "$top/scripts/build-wt-python.sh" "$v" >/dev/null
done
