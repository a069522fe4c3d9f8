#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# setup-tests.sh -- install what the tests need: Debian packages, the project venv (.venv) with
# tests/requirements.txt, and every peer in scripts/setup.d/*.sh (each caches under .cache/).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup-build.sh"
# mmdebstrap: scripts/test-fresh.sh builds a minimal Debian root with it.
# clang: fuzz/build.sh builds the libFuzzer targets with it.
# xfsprogs: the snapshot tests clone files with reflinks on a loop-mounted XFS image.
pkgs=(libcmocka-dev valgrind clang-format openssl mmdebstrap clang xfsprogs)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -x "$top/.venv/bin/python" ]; then
    python3 -m venv "$top/.venv"
fi
req_stamp="$top/.venv/.req-$(sha256sum "$top/tests/requirements.txt" | cut -c1-16)"
if [ ! -f "$req_stamp" ]; then
    "$top/.venv/bin/pip" install -q --upgrade pip
    "$top/.venv/bin/pip" install -q -r "$top/tests/requirements.txt"
    touch "$req_stamp"
fi
for s in "$top"/scripts/setup.d/*.sh; do
    [ -e "$s" ] || continue
    echo "setup-tests: $(basename "$s")" >&2
    bash "$s"
done
