#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# build.sh -- build every variant the tests use: the system (3.2) line, WiredTiger 11.3 and 10.0
# (each built once into .cache/), each plain, and 3.2 and 11.3 with ASan/UBSan. Each variant gets
# scons's "all" target: what a user runs, plus the unit tests, the integration-test programs and
# the benchmarks (the default target builds only the extension and the command).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
wt11=$("$top/scripts/build-wt11.sh" | tail -1)
wt10=$("$top/scripts/build-wt10.sh" | tail -1)
scons -Q -j"$jobs" all
scons -Q -j"$jobs" all --wiredtiger="$wt11"
scons -Q -j"$jobs" all --wiredtiger="$wt10"
if [ "${WTKMS_NO_ASAN:-0}" != 1 ]; then
    scons -Q -j"$jobs" all --sanitize
    scons -Q -j"$jobs" all --sanitize --wiredtiger="$wt11"
    # The sanitizer stage of scripts/test.sh covers 3.2 and 11.3: 10.0 differs from 11.3 in
    # nothing our code sees, and a third ASan run would cost CI minutes for no new finding.
    # WTKMS_ASAN_WT10=1 builds it anyway.
    if [ "${WTKMS_ASAN_WT10:-0}" = 1 ]; then
        scons -Q -j"$jobs" all --sanitize --wiredtiger="$wt10"
    fi
fi
