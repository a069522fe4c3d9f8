#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# long.sh -- long fuzzing runs on a machine with cores to spare: every target (built by
# fuzz/build.sh) for a given number of CPU-minutes each, one target after another, each on every
# core, and one line per target appended to a log (target, CPU and wall seconds, executions,
# crashes). The committed seeds in fuzz/corpus/TARGET/ are read, never written; new inputs go to
# build/fuzz/corpus/TARGET/, crashes, leaks, timeouts and out-of-memory inputs to
# build/fuzz/crashes/TARGET-*.
#
#   fuzz/long.sh CPU_MINUTES [TARGET...]      default: every target
#
# Environment:
#   FUZZ_JOBS       parallel fuzzing processes (default: the number of cores, nproc)
#   FUZZ_LONG_MODE  fork (default): libFuzzer -fork=FUZZ_JOBS, which goes on after a crash,
#                   leak, timeout or out-of-memory (each input is kept and counted);
#                   jobs: -jobs=FUZZ_JOBS -workers=FUZZ_JOBS, where a crash ends its worker
#   FUZZ_LOG        the log (default build/fuzz/long.log)
#   FUZZ_FLAGS      more libFuzzer flags
#
# Each target runs CPU_MINUTES * 60 / FUZZ_JOBS seconds of wall time, so about CPU_MINUTES of CPU
# when the cores are free; the log records the CPU time it really had (user + system of every
# process). Exits 1 when any target crashed. Example, an hour of CPU per target on 16 cores:
#   fuzz/build.sh && fuzz/long.sh 60
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ $# -ge 1 ] && [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]] || {
    echo "usage: fuzz/long.sh CPU_MINUTES [TARGET...]" >&2
    exit 2
}
minutes=$1
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cd fuzz && ls fuzz_*.c | sed -e 's/^fuzz_//' -e 's/\.c$//' | grep -v '^common$')
fi
jobs=${FUZZ_JOBS:-$(nproc)}
mode=${FUZZ_LONG_MODE:-fork}
out=$top/build/fuzz
log=${FUZZ_LOG:-$out/long.log}
case $mode in fork | jobs) ;; *) echo "long.sh: FUZZ_LONG_MODE is fork or jobs" >&2; exit 2 ;; esac
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "long.sh: FUZZ_JOBS must be a positive number" >&2; exit 2; }
for t in "${targets[@]}"; do
    [ -x "$out/$t" ] || { echo "long.sh: $out/$t is not built (run fuzz/build.sh)" >&2; exit 2; }
done
mkdir -p "$out/crashes" "$(dirname "$log")"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
wall=$(awk -v m="$minutes" -v j="$jobs" 'BEGIN{w=int(m*60/j+0.5); print w<1?1:w}')
tck=$(getconf CLK_TCK)
failed=0
# The inputs target $t left since its run began (in $work/start's time).
found() {
    find "$out/crashes" -maxdepth 1 -newer "$work/start" \( -name "$t-crash-*" -o \
        -name "$t-leak-*" -o -name "$t-timeout-*" -o -name "$t-oom-*" \)
}
for t in "${targets[@]}"; do
    work=$out/long/$t
    rm -rf "$work"
    mkdir -p "$work" "$out/corpus/$t" "$top/fuzz/corpus/$t"
    touch "$work/start"
    if [ "$mode" = fork ]; then
        par=(-fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    else
        par=(-jobs="$jobs" -workers="$jobs")
    fi
    c0=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
    t0=$(date +%s)
    set +e
    # -jobs writes each worker's output to fuzz-N.log in the current directory: the work one.
    (cd "$work" && nice -n 10 "$out/$t" "${par[@]}" -max_total_time="$wall" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$out/crashes/$t-" ${FUZZ_FLAGS:-} "$out/corpus/$t" \
        "$top/fuzz/corpus/$t" </dev/null >"$work/fuzz.log" 2>&1)
    rc=$?
    set -e
    cpu=$(awk -v c0="$c0" -v tck="$tck" '{printf "%.0f", ($14+$15+$16+$17-c0)/tck}' /proc/$$/stat)
    secs=$(($(date +%s) - t0))
    # Executions: the sum of every process's final count (-jobs), or the last progress line of
    # the parent (-fork, which counts its children's).
    execs=$(cat "$work"/*.log | sed -n 's/^stat::number_of_executed_units: *//p' | awk '{s+=$1} END{print s+0}')
    if [ "$mode" = fork ] || [ "$execs" = 0 ]; then
        e=$(sed -n 's/^#\([0-9][0-9]*\):* .*/\1/p' "$work/fuzz.log" | tail -1)
        [ -n "$e" ] && execs=$e
    fi
    crashes=$(found | wc -l)
    # A run that ended in error without leaving an input still failed.
    [ "$crashes" -eq 0 ] && [ $rc -ne 0 ] && crashes=1
    line=$(printf '%s target=%s cpu_s=%s wall_s=%s execs=%s crashes=%s jobs=%s mode=%s' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$t" "$cpu" "$secs" "$execs" "$crashes" "$jobs" "$mode")
    echo "$line" >>"$log"
    echo "  $line"
    if [ "$crashes" -ne 0 ]; then
        failed=1
        found | head -5 | sed 's/^/      /'
        echo "      output: $work/" >&2
    fi
done
exit $failed
