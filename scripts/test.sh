#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test.sh -- run every test suite: style, build (all variants), C unit tests (plain, valgrind,
# ASan/UBSan), a short run of every fuzz target, integration tests (pytest, every WiredTiger
# line: 3.2, 10.0, 11.2, 11.3), WiredTiger's own encryption tests with wtkms (tests/wtsuite),
# then the WiredTiger-touching integration tests again under ASan/UBSan (3.2 and 11.3), the demo,
# and the README's first command on a fresh minimal Debian root (scripts/test-fresh.sh). Run
# scripts/setup-tests.sh first (the README's second command does both).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
py=$top/.venv/bin/python
[ -x "$py" ] || { echo "test.sh: no project venv: run scripts/setup-tests.sh first" >&2; exit 2; }
start=$(date +%s)
stage() { printf '\n=== %s (%ds)\n' "$*" $(($(date +%s) - start)); }

stage "style: clang-format"
mapfile -t cfiles < <(git ls-files '*.c' '*.h')
clang-format --dry-run -Werror "${cfiles[@]}"

stage "build: WiredTiger 3.2 (system), 10.0, 11.2, 11.3; 3.2 and 11.3 also with ASan/UBSan"
scripts/build.sh

if [ -x unittests/run.sh ]; then
    stage "unit tests (plain, valgrind, ASan/UBSan)"
    unittests/run.sh
fi

stage "fuzz smoke: every libFuzzer target (fuzz/), ASan/UBSan, a few seconds each"
# Builds with clang into build/fuzz/, replays the committed corpora (regressions included), then
# fuzzes each target for WTKMS_FUZZ_SECONDS (default 6). Any crash, leak or timeout fails.
fuzz/build.sh >/dev/null
fuzz/run.sh "${WTKMS_FUZZ_SECONDS:-6}"

stage "integration tests, every WiredTiger line"
"$py" -m pytest -q -ra tests "$@"

stage "WiredTiger's own encryption, salvage, verify and backup tests with wtkms (tests/wtsuite)"
# WiredTiger's Python test suite from the 11.x source package, with a wtkms scenario overlaid
# (tests/wtsuite/overlay.py); the bindings are built once into .cache/
# (scripts/setup.d/40-wtsuite.sh).
tests/wtsuite/run.sh

stage "integration tests under ASan/UBSan"
# Our code is the same C on every line; what differs per line is how WiredTiger drives the
# encryptor. So: the suites about the encryptor, snapshots and lines on 3.2 and 11.3, the oldest
# and the newest extension API (10.0 and 11.2 run the plain stage only: README, "Tests"); the
# providers, keys and the oplog tool (line-independent paths) on 3.2. One pytest run per
# directory: test modules import helpers from their own directory's conftest.py, which a run
# given several directories at once would shadow.
for d in tests/foundation tests/lines tests/snapshot; do
    WTKMS_SANITIZE=1 WTKMS_LINES=${WTKMS_SANITIZE_LINES:-3.2,11.3} \
        "$py" -m pytest -q -ra "$d" -m "not nosanitize" "$@"
done
for d in tests/keys tests/providers tests/oplog; do
    WTKMS_SANITIZE=1 WTKMS_LINES=3.2 "$py" -m pytest -q -ra "$d" -m "not nosanitize" "$@"
done

stage "jstests (a real mongod with the extension: runs where mongod is on PATH)"
jstests/run.sh

stage "demo"
scripts/demo.sh >/dev/null

stage "fresh machine: the README's first command in a minimal Debian root"
scripts/test-fresh.sh

stage "done"
