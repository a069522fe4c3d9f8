#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# snapshot_bench.sh -- time, stored size and peak RSS of "wtkms snapshot create" (local store,
# local key, zstd level 1 before AES-256-GCM) against "tar -cf - | zstd -T0 -1 > FILE" + sync and
# "tar -cf FILE" + sync of the same files, interleaved in one run; then verify and restore against
# tar -xf. Not a test: it prints a table and the ratios the goals are stated in.
#
#   bench/snapshot_bench.sh                       a 1 GiB home of mixed compressibility
#   WTKMS_BENCH_SIZES="256 4096" ...              homes of 256 MiB and 4 GiB of rows (needs
#                                                 about 4x the size in free disk)
#   WTKMS_BENCH_HOME=encrypted ...                the home's table encrypted by wtkms (nothing in
#                                                 it compresses; the journal still does)
#   WTKMS_BENCH_REPS=3                            runs per figure (the median is shown)
#   WTKMS_BUILD=build/wt-11.3 ...                 another line's build (default build/)
#   WTKMS_BENCH_DIR=DIR                           where homes, archives and stores go
#                                                 (default .cache/bench/snapshot; homes are kept
#                                                 for the next run)
#
# A home is bench/snap_gen's table (8 KiB values; "mixed": a third random, a third text, a third
# templated documents) with WiredTiger's journal on (its log file preallocated: 100 MiB of zeros),
# then a checkpoint. tar archives exactly the files the snapshot copies (what its backup cursor
# lists: the journal's preallocated spares are not among them), so every contender reads the same
# bytes. The page cache is warm for every contender (each reads its input once before it is
# timed), and every timed step starts after a sync, so no step pays for another's dirty pages.
# create and restore fsync what they write; tar does not, so each tar step is timed with a sync
# of what it wrote. Peak RSS is GNU time's maximum resident set size (of the largest process of
# a pipeline); CPU is user + system time of all its processes: on a shared machine, where the
# wall clock depends on what else runs, it is the steadier figure. "snapshot create" includes
# opening the home with WiredTiger (recovery reads its journal) and taking the backup cursor.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${WTKMS_BUILD:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
dir=${WTKMS_BENCH_DIR:-$top/.cache/bench/snapshot}
sizes=${WTKMS_BENCH_SIZES:-1024}
kind=${WTKMS_BENCH_HOME:-mixed}
wtkms=$build/wtkms
gen=$build/bench/snap_gen
[ -x /usr/bin/time ] || { echo "snapshot_bench: needs GNU time (apt-get install time)" >&2; exit 2; }
command -v zstd >/dev/null || { echo "snapshot_bench: needs the zstd program (apt-get install zstd)" >&2; exit 2; }
for f in "$wtkms" "$gen" "$build/libwtkms.so"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "snapshot_bench: $f is missing: build first (scons benchmarks)" >&2; exit 2; }
done
case $kind in mixed | encrypted) ;; *) echo "snapshot_bench: WTKMS_BENCH_HOME is mixed or encrypted" >&2; exit 2 ;; esac
libdir=
case $build in
*/wt-11.3*) libdir=$top/.cache/wt-11.3.1/lib ;;
*/wt-10.0*) libdir=$top/.cache/wt-10.0.0/lib ;;
esac
[ -n "$libdir" ] && export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
mkdir -p "$dir"
key=$dir/master.key
[ -f "$key" ] || { head -c 32 /dev/urandom >"$key"; chmod 600 "$key"; }
ext="extensions=[$build/libwtkms.so=(config=(provider=local,key_file=$key))]"

# timed NAME CMD...: sync first (nobody pays for another's dirty pages), then run and append
# "seconds rss_kib cpu_seconds" to $dir/NAME.t (CPU: user + system, of every process)
timed() {
    local name=$1
    shift
    sync
    /usr/bin/time -f '%e %M %U %S' -o "$dir/$name.t1" "$@" >/dev/null
    awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$dir/$name.t1" >>"$dir/$name.t"
}
# median of column COL (1 seconds, 2 RSS KiB, 3 CPU seconds) of NAME.t
med() { sort -n -k"$2","$2" "$dir/$1.t" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", b / 1048576 / s; else print "-" }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
row() { # row NAME LABEL [STORED_BYTES]
    printf '%-24s %8s %9s %8s %9s %10s %12s\n' "$2" "$gib" "$(med "$1" 1)" \
        "$(rate "$bytes" "$(med "$1" 1)")" "$(med "$1" 3)" "$(($(med "$1" 2) / 1024)) MiB" \
        "$([ -n "${3:-}" ] && mib "$3" || echo -)"
}
# warm FILES...: read into the page cache
warm() { cat "$@" >/dev/null; }

reps=${WTKMS_BENCH_REPS:-3}
echo "snapshot benchmark: median of $reps interleaved runs; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $(uname -r); $(zstd --version | head -1)"
for mib_rows in $sizes; do
    home=$dir/home-$kind-$mib_rows
    if [ ! -f "$home/.complete" ]; then
        rm -rf "$home"
        mkdir -p "$home"
        if [ "$kind" = mixed ]; then
            "$gen" "$home" "create,log=(enabled=true)" "" "$mib_rows" mixed
        else
            "$gen" "$home" "create,log=(enabled=true),$ext,encryption=(name=wtkms,keyid=system)" \
                "encryption=(name=wtkms,keyid=bench)" "$mib_rows"
        fi
        touch "$home/.complete"
    fi
    # The files a snapshot copies (its backup cursor's list): tar archives exactly these.
    rm -rf "$dir/store"
    "$wtkms" snapshot create --home "$home" --store "$dir/store" --key-file "$key" --no-progress \
        --json >"$dir/first.json"
    python3 -c 'import json,sys; print("\n".join(f["name"] for f in json.load(open(sys.argv[1]))["files"]))' \
        <(id=$(ls "$dir/store/snapshots"); "$wtkms" snapshot show "$id" --store "$dir/store" --json) \
        >"$dir/files.all"
    # WiredTiger.backup and a new log file exist only while a backup cursor is open: tar the rest.
    (cd "$home" && while read -r f; do [ -f "$f" ] && echo "$f"; done) <"$dir/files.all" >"$dir/files.txt"
    bytes=$(cd "$home" && xargs -d '\n' stat -c %s <"$dir/files.txt" | awk '{ s += $1 } END { print s }')
    gib=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1073741824 }')
    echo
    echo "home: $kind, $(mib "$bytes") MiB in $(wc -l <"$dir/files.txt") files"
    printf '%-24s %8s %9s %8s %9s %10s %12s\n' "operation" "GiB" "seconds" "MiB/s" "CPU s" \
        "peak RSS" "stored MiB"
    rm -f "$dir"/*.t "$dir"/*.t1 "$dir"/*.size
    for rep in $(seq "$reps"); do
        rm -rf "$dir/home.tar" "$dir/home.tar.zst" "$dir/store" "$dir/restored" "$dir/untarred"
        # The three creators, interleaved.
        (cd "$home" && warm $(cat "$dir/files.txt"))
        timed tarsync sh -c 'tar -cf "$1" -C "$2" -T "$3" && sync "$1"' - \
            "$dir/home.tar" "$home" "$dir/files.txt"
        stat -c %s "$dir/home.tar" >>"$dir/tar.size"
        (cd "$home" && warm $(cat "$dir/files.txt"))
        timed zstdsync sh -c 'tar -cf - -C "$2" -T "$3" | zstd -q -T0 -1 >"$1" && sync "$1"' - \
            "$dir/home.tar.zst" "$home" "$dir/files.txt"
        stat -c %s "$dir/home.tar.zst" >>"$dir/zstd.size"
        (cd "$home" && warm $(cat "$dir/files.txt"))
        timed create "$wtkms" snapshot create --home "$home" --store "$dir/store" \
            --key-file "$key" --no-progress
        id=$(ls "$dir/store/snapshots")
        find "$dir/store" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }' >>"$dir/create.size"
        # Reading back.
        warm "$dir/store/snapshots/$id/files"/*
        timed verify "$wtkms" snapshot verify "$id" --store "$dir/store" --key-file "$key" \
            --no-progress
        timed restore "$wtkms" snapshot restore "$id" --store "$dir/store" \
            --to "$dir/restored" --key-file "$key" --no-progress --no-recover
        mkdir "$dir/untarred"
        warm "$dir/home.tar"
        timed untarsync sh -c 'tar -xf "$1" -C "$2" && sync -f "$2"' - "$dir/home.tar" \
            "$dir/untarred"
    done
    tar_size=$(sort -n "$dir/tar.size" | tail -1)
    zstd_size=$(sort -n "$dir/zstd.size" | tail -1)
    snap_size=$(sort -n "$dir/create.size" | tail -1)
    row tarsync "tar -cf + sync" "$tar_size"
    row zstdsync "tar | zstd -T0 -1 + sync" "$zstd_size"
    row create "snapshot create" "$snap_size"
    row verify "snapshot verify"
    row restore "snapshot restore"
    row untarsync "tar -xf + sync"
    echo "ratios (goal): create time / tar|zstd time $(ratio "$(med create 1)" "$(med zstdsync 1)") (<= 1)," \
        "create CPU / tar|zstd CPU $(ratio "$(med create 3)" "$(med zstdsync 3)")," \
        "stored / tar.zst $(ratio "$snap_size" "$zstd_size") (<= 1.05)," \
        "create peak RSS $(($(med create 2) / 1024)) MiB (<= 64)," \
        "create time / tar time $(ratio "$(med create 1)" "$(med tarsync 1)")"
    rm -rf "$dir/home.tar" "$dir/home.tar.zst" "$dir/store" "$dir/restored" "$dir/untarred" \
        "$dir"/*.t "$dir"/*.t1 "$dir"/*.size "$dir/first.json" "$dir/files.all"
done
