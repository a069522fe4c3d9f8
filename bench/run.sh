#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/run.sh -- the wtkms benchmark (not a test): every figure is a ratio measured side by side
# in one run and printed here.
#
#   1. block throughput: wtkms_block_encrypt/decrypt against raw OpenSSL AES-256-GCM (a pre-keyed
#      EVP context doing the same work) at 256 B, 4 KiB and 32 KiB, timed over interleaved
#      rounds, and as instructions per block under callgrind (deterministic);
#   2. a WiredTiger workload (insert one transaction each with the journal on, checkpoint, reopen
#      with a small cache, BENCH_SCANS full scans): wtkms against no encryption, a copy-only
#      encryptor of the same expansion and WiredTiger's sodium example encryptor, timed over
#      interleaved rounds (wall, process CPU, and the scan half's CPU alone), and as instructions
#      under callgrind (whole run and scan half);
#   3. decrypt-heavy: the same with a cold, smaller cache and BENCH_DH_SCANS scans, the scan half's
#      wall, CPU and instructions compared.
#
# The workload of issue 16 (larger than the cache): BENCH_ROWS=600000 BENCH_SCANS=2
# BENCH_CACHE_MB=32. Callgrind always runs BENCH_CG_ROWS rows (slow under valgrind), and prints
# which size each figure is from.
#
# Environment: BENCH_LINE=11.3 (or 3.2, 10.0: which build), BENCH_ROUNDS=15 (WiredTiger rounds),
# BENCH_BLOCK_ROUNDS=31, BENCH_ROWS=100000, BENCH_SCANS=1, BENCH_CACHE_MB=2 (cache at reopen),
# BENCH_DH_SCANS=4, BENCH_DH_CACHE_MB=2, BENCH_DH_ROUNDS=BENCH_ROUNDS, BENCH_CG_ROWS=20000 (rows
# under callgrind), BENCH_NO_CALLGRIND=1, BENCH_ONLY=block|wt|dh.  Needs scripts/build.sh (or
# scons for the line).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
line=${BENCH_LINE:-11.3}
rounds=${BENCH_ROUNDS:-15}
block_rounds=${BENCH_BLOCK_ROUNDS:-31}
rows=${BENCH_ROWS:-100000}
cg_rows=${BENCH_CG_ROWS:-20000}
scans=${BENCH_SCANS:-1}
cache_mb=${BENCH_CACHE_MB:-2}
dh_scans=${BENCH_DH_SCANS:-4}
dh_cache_mb=${BENCH_DH_CACHE_MB:-2}
dh_rounds=${BENCH_DH_ROUNDS:-$rounds}
only=${BENCH_ONLY:-}

case "$line" in
3.2) build=build; wtdir= ;;
10.0) build=build/wt-10.0; wtdir=$("$top/scripts/build-wt10.sh" | tail -1) ;;
11.3) build=build/wt-11.3; wtdir=$("$top/scripts/build-wt11.sh" | tail -1) ;;
*) echo "run.sh: BENCH_LINE must be 3.2, 10.0 or 11.3" >&2; exit 2 ;;
esac
if [ -n "$wtdir" ]; then
    export LD_LIBRARY_PATH=$wtdir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

# WiredTiger's sodium example needs libsodium-dev (Debian) to build; nothing else here does.
if [ "$line" != 3.2 ] && [ "$line" != 10.0 ] && ! pkg-config --exists libsodium; then
    echo "run.sh: installing libsodium-dev for WiredTiger's sodium example encryptor" >&2
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get install -y -qq libsodium-dev >/dev/null || true
fi
scons -Q -j"$(nproc)" ${wtdir:+--wiredtiger="$wtdir"} "$build/libwtkms.so" "$build/bench" >&2

bench=$build/bench
sodium=()
[ -f "$bench/libsodium_encryptor.so" ] && sodium=(--sodium "$bench/libsodium_encryptor.so")
cg=1
[ "${BENCH_NO_CALLGRIND:-0}" = 1 ] && cg=0
command -v valgrind >/dev/null || cg=0

echo "wtkms benchmark, WiredTiger line $line, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(openssl version)"

# Instructions collected inside one function (and what it calls), from a callgrind run.
cg_count() { # FUNCTION OUTFILE ARGS...
    local fn=$1 out=$2
    shift 2
    valgrind --tool=callgrind --toggle-collect="$fn" --callgrind-out-file="$out" "$@" \
        >/dev/null 2>&1
    awk '/^summary:/ {print $2}' "$out"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -z "$only" ] || [ "$only" = block ]; then
    echo
    echo "== 1. block throughput (timed)"
    "$bench/block_bench" --rounds "$block_rounds" || true
    if [ $cg = 1 ]; then
        echo
        echo "== 1b. block: instructions per block under callgrind (ratio raw / wtkms: >= 1 means"
        echo "       wtkms executes no more instructions than raw; same: raw through wtkms's calls)"
        printf '%-8s %-8s %10s %10s %10s %8s %8s\n' size op raw same wtkms "vs raw" "vs same"
        for size in 256 4096 32768; do
            n=$((size >= 32768 ? 500 : size >= 4096 ? 2000 : 10000))
            for op in seal open; do
                r=$(cg_count "raw_$op" "$tmp/cg.raw" "$bench/block_bench" --callgrind "$size" "$n")
                w=$(cg_count "wtkms_$op" "$tmp/cg.w" "$bench/block_bench" --callgrind "$size" "$n")
                m=$r
                if [ $op = seal ]; then
                    m=$(cg_count raw_seal_same "$tmp/cg.m" "$bench/block_bench" --callgrind "$size" "$n")
                fi
                awk -v s="$size" -v op="$op" -v r="$r" -v m="$m" -v w="$w" -v n="$n" 'BEGIN {
                    printf "%-8s %-8s %10.0f %10.0f %10.0f %7.3fx %7.3fx\n", s,
                        (op == "seal" ? "encrypt" : "decrypt"), r / n, m / n, w / n, r / w, m / w }'
            done
        done
    fi
fi

# wt_section TITLE ONLY-NAME SCANS CACHE_MB ROUNDS: timed rounds, then callgrind instructions.
wt_section() {
    local title=$1 name=$2 sc=$3 cmb=$4 rr=$5 v
    [ -z "$only" ] || [ "$only" = "$name" ] || return 0
    local common=(--wtkms "$build/libwtkms.so" --copy "$bench/libcopy_encryptor.so" "${sodium[@]}"
        --scans "$sc" --cache-mb "$cmb" --dir "$tmp")
    echo
    echo "== $title (timed, $rows rows)"
    "$bench/wt_bench" "${common[@]}" --rows "$rows" --rounds "$rr" || true
    [ $cg = 1 ] || return 0
    echo
    echo "== ${title}: instructions under callgrind ($cg_rows rows, $sc scan(s), ${cmb} MB cache;"
    echo "       one run after a warm-up run; the main thread, which does every encrypt and decrypt)"
    local variants=(none copy wtkms)
    [ ${#sodium[@]} -gt 0 ] && variants+=(sodium)
    declare -A ir irs
    for v in "${variants[@]}"; do
        # --separate-threads: the dumps of the measured run then hold the main thread, which does
        # every encrypt and decrypt here; WiredTiger's background threads spin and yield
        # differently from run to run (10% on the total), the main thread repeats to 0.1%.
        valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$tmp/cg.wt.$v" \
            "$bench/wt_bench" "${common[@]}" --rows "$cg_rows" --only "$v" >/dev/null 2>&1
        # wt_bench dumps the measured run (after a warm-up) as part 1 (insert and checkpoint) and
        # part 2 (reopen and scans); thread 1 is main.
        irs[$v]=$(awk '/^summary:/ {print $2}' "$tmp/cg.wt.$v.2-01")
        ir[$v]=$(awk -v s="${irs[$v]}" '/^summary:/ {printf "%.0f", $2 + s}' "$tmp/cg.wt.$v.1-01")
        printf '  %-8s %14s instructions   scan half %14s\n' "$v" "${ir[$v]}" "${irs[$v]}"
        rm -f "$tmp"/cg.wt."$v"*
    done
    ratio() { awk -v a="$2" -v b="$3" -v l="$1" -v t="${4:-}" 'BEGIN {
        printf "  %-22s %6.3fx%s\n", l, a / b, (t == "" ? "" : (a / b <= t ? "   target <= " t "x ok" : "   target <= " t "x MISSED")) }'; }
    ratio "wtkms / copy" "${ir[wtkms]}" "${ir[copy]}" 1.10
    ratio "wtkms / none" "${ir[wtkms]}" "${ir[none]}"
    ratio "copy / none" "${ir[copy]}" "${ir[none]}"
    ratio "scan: wtkms / copy" "${irs[wtkms]}" "${irs[copy]}" 1.08
    ratio "scan: wtkms / none" "${irs[wtkms]}" "${irs[none]}"
    if [ -n "${ir[sodium]:-}" ]; then
        ratio "sodium / none" "${ir[sodium]}" "${ir[none]}"
        ratio "sodium / wtkms" "${ir[sodium]}" "${ir[wtkms]}"
        ratio "scan: sodium / wtkms" "${irs[sodium]}" "${irs[wtkms]}"
    fi
}

wt_section "2. WiredTiger workload" wt "$scans" "$cache_mb" "$rounds"
wt_section "3. decrypt-heavy scans" dh "$dh_scans" "$dh_cache_mb" "$dh_rounds"
