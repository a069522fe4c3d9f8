#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# setup-build.sh -- install what building wtkms needs (Debian packages). Idempotent.
set -euo pipefail
pkgs=(scons gcc pkg-config libssl-dev libcurl4-openssl-dev libbson-dev libmongoc-dev libzstd-dev
      libwiredtiger-dev wiredtiger cmake ninja-build python3-venv)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup-build: installing ${missing[*]}" >&2
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
