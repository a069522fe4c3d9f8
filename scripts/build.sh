#!/usr/bin/env bash
# build.sh -- build every variant the tests use: the system (3.2) line and WiredTiger 11.3 (built
# once into .cache/), each plain and with ASan/UBSan.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
wt11=$("$top/scripts/build-wt11.sh" | tail -1)
scons -Q -j"$jobs"
scons -Q -j"$jobs" --wiredtiger="$wt11"
if [ "${WTKMS_NO_ASAN:-0}" != 1 ]; then
    scons -Q -j"$jobs" --sanitize
    scons -Q -j"$jobs" --sanitize --wiredtiger="$wt11"
fi
