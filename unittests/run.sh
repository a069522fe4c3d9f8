#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh -- run every C unit test three ways: plain (build/unittests/), under valgrind memcheck
# with leak checking, and the ASan/UBSan build (build/asan/unittests/). Build first with
# scripts/build.sh. A missing binary or build fails the run; nothing is skipped silently.
#
#   unittests/run.sh              all three
#   unittests/run.sh plain        one mode (plain, valgrind or asan); several may be given
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(plain valgrind asan)

mapfile -t names < <(cd unittests && ls test_*.c | sed 's/\.c$//')
[ ${#names[@]} -gt 0 ] || { echo "run.sh: no unittests/test_*.c" >&2; exit 1; }

failed=()
run() { # mode name command...
    local mode=$1 name=$2 t0=$SECONDS
    shift 2
    if "$@" >"$log" 2>&1; then
        printf '  %-8s %-24s ok (%ds)\n' "$mode" "$name" $((SECONDS - t0))
    else
        printf '  %-8s %-24s FAILED (%ds)\n' "$mode" "$name" $((SECONDS - t0))
        sed 's/^/      /' "$log" | tail -40
        failed+=("$mode/$name")
    fi
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for mode in "${modes[@]}"; do
    case $mode in
    plain | valgrind) dir=build/unittests ;;
    asan) dir=build/asan/unittests ;;
    *) echo "run.sh: unknown mode $mode (plain, valgrind, asan)" >&2; exit 2 ;;
    esac
    echo "unit tests: $mode ($dir)"
    for n in "${names[@]}"; do
        bin=$dir/$n
        if [ ! -x "$bin" ]; then
            printf '  %-8s %-24s MISSING: %s is not built (run scripts/build.sh)\n' "$mode" "$n" "$bin"
            failed+=("$mode/$n")
            continue
        fi
        case $mode in
        plain) run "$mode" "$n" "$bin" ;;
        valgrind)
            # Valgrind runs threads one at a time and ~50x slower: fewer nonce-test blocks and
            # fewer 16 MiB decrypts (the plain and ASan runs do them all).
            run "$mode" "$n" env WTKMS_NONCE_BLOCKS=2000 WTKMS_UT_QUICK=1 valgrind -q --error-exitcode=1 \
                --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
                --show-leak-kinds=definite,indirect,possible "$bin" ;;
        asan)
            run "$mode" "$n" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$bin" ;;
        esac
    done
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "unit tests FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "unit tests: all passed"
