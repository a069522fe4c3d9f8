#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 10-lines.sh -- what tests/lines needs besides the build: the tools that build WiredTiger 10.0.0
# from its source package (autoconf, automake, libtool; scripts/build-wt.sh also installs them
# when it runs first), man to check the installed manual page, and debhelper for the debian/
# package build. Debian packages only; idempotent and quiet.
set -euo pipefail
pkgs=(autoconf automake libtool man-db debhelper dpkg-dev)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "10-lines: installing ${missing[*]}" >&2
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for c in autoreconf libtoolize man dpkg-buildpackage dh; do
    command -v "$c" >/dev/null || { echo "10-lines: $c is missing after the install" >&2; exit 1; }
done
