#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# build.sh -- build every variant the tests use: the system (3.2) line and each WiredTiger line
# scripts/build-wt.sh builds from its source package (10.0, 11.2, 11.3: each built once into
# .cache/), each plain, and 3.2 and 11.3 with ASan/UBSan. Each variant gets scons's "all" target:
# what a user runs, plus the unit tests, the integration-test programs and the benchmarks (the
# default target builds only the extension and the command).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
wtlist=$("$top/scripts/build-wt.sh" all)
mapfile -t wtdirs <<<"$wtlist"
scons -Q -j"$jobs" all
for d in "${wtdirs[@]}"; do
    scons -Q -j"$jobs" all --wiredtiger="$d"
done
if [ "${WTKMS_NO_ASAN:-0}" != 1 ]; then
    scons -Q -j"$jobs" all --sanitize
    # The sanitizer stage of scripts/test.sh covers 3.2 and 11.3, the oldest and the newest
    # line: 10.0 and 11.2 run the same C against the same calls (only the offsets of the
    # WiredTiger tables differ, which the compiler resolves per line), and more ASan runs would
    # cost CI minutes for no new finding. WTKMS_ASAN_LINES="10.0 11.2" builds those too.
    for d in "${wtdirs[@]}"; do
        v=${d##*/wt-}
        case " 11.3 ${WTKMS_ASAN_LINES:-} " in
        *" ${v%.*} "*) scons -Q -j"$jobs" all --sanitize --wiredtiger="$d" ;;
        esac
    done
fi
