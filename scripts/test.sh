#!/usr/bin/env bash
# test.sh -- run every test suite: style, build (all variants), C unit tests (plain, valgrind,
# ASan/UBSan), integration tests (pytest, both WiredTiger lines), then the WiredTiger-touching
# integration tests again under ASan/UBSan. Run scripts/setup-tests.sh first (the README's second
# command does both).
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

stage "build: system WiredTiger, WiredTiger 11.3, each plain and with ASan/UBSan"
scripts/build.sh

if [ -x unittests/run.sh ]; then
    stage "unit tests (plain, valgrind, ASan/UBSan)"
    unittests/run.sh
fi

stage "integration tests, both WiredTiger lines"
"$py" -m pytest -q -ra tests "$@"

stage "integration tests that touch WiredTiger, under ASan/UBSan"
san_dirs=()
for d in tests/foundation tests/lines tests/snapshot; do
    [ -d "$d" ] && san_dirs+=("$d")
done
if [ ${#san_dirs[@]} -gt 0 ]; then
    WTKMS_SANITIZE=1 "$py" -m pytest -q -ra "${san_dirs[@]}" -m "not nosanitize" "$@"
fi

stage "demo"
scripts/demo.sh >/dev/null

stage "done"
