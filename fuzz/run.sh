#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh -- run fuzz targets (built by fuzz/build.sh) for a while each, one after another, one
# process each (nice'd: the machine is shared). New inputs go to build/fuzz/corpus/TARGET/, the
# committed seeds in fuzz/corpus/TARGET/ are read, never written. A crash, leak, timeout or
# out-of-memory stops the target, leaves the input in build/fuzz/crashes/ and fails the run.
#
#   fuzz/run.sh [SECONDS_PER_TARGET [TARGET...]]     default 60 s, every target
#
# Prints the CPU time each target used (user + system).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cd fuzz && ls fuzz_*.c | sed -e 's/^fuzz_//' -e 's/\.c$//' | grep -v '^common$')
fi
out=build/fuzz
mkdir -p "$out/crashes"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=()
for t in "${targets[@]}"; do
    bin=$out/$t
    [ -x "$bin" ] || { echo "run.sh: $bin is not built (run fuzz/build.sh)" >&2; exit 2; }
    mkdir -p "$out/corpus/$t" "fuzz/corpus/$t"
    log=$out/$t.log
    t0=$(date +%s.%N)
    c0=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
    set +e
    # -timeout: no single input may take 10 s; -rss_limit_mb: nor 2 GiB.
    nice -n 10 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" \
        ${FUZZ_FLAGS:-} "$out/corpus/$t" "fuzz/corpus/$t" </dev/null >"$log" 2>&1
    rc=$?
    set -e
    cpu=$(awk -v c0="$c0" -v tck="$(getconf CLK_TCK)" '{printf "%.1f", ($14+$15+$16+$17-c0)/tck}' /proc/$$/stat)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    # -fork mode prints no final stats: its last progress line counts the executions.
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\):* .*/\1/p' "$log" | tail -1)
    wall=$(awk -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN{printf "%.0f", t1-t0}')
    if [ $rc -eq 0 ]; then
        printf '  %-16s ok      %6ss wall %8ss cpu %12s execs\n' "$t" "$wall" "$cpu" "${execs:-?}"
    else
        printf '  %-16s FAILED  %6ss wall %8ss cpu (exit %d): see %s\n' "$t" "$wall" "$cpu" $rc "$log"
        grep -E 'ERROR: |runtime error|SUMMARY|Test unit written' "$log" | head -8 | sed 's/^/      /'
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
