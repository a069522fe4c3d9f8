#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# snapshot_bench.sh -- throughput and peak RSS of "wtkms snapshot create/restore/verify" against
# "tar -cf"/"tar -xf" of the same files, in the same run, on homes of 1 GiB (and 4 GiB when
# asked). Not a test: it prints a table.
#
#   bench/snapshot_bench.sh                       1 GiB
#   WTKMS_BENCH_SIZES="1024 4096" bench/snapshot_bench.sh   1 GiB and 4 GiB (needs ~5x the
#                                                 size in free disk)
#   WTKMS_BUILD=build/wt-11.3 ...                 another line's build (default build/)
#   WTKMS_BENCH_DIR=DIR                           where homes, archives and stores go
#                                                 (default .cache/bench/snapshot; homes are kept
#                                                 for the next run)
#
# The page cache is warm for every contender (each reads its input once before it is timed), and
# every timed step starts after a sync, so no step pays for another's dirty pages. Each figure is
# the median of WTKMS_BENCH_REPS runs (default 3).
# create and restore fsync what they write (a backup that is not durable is not done); tar does
# not, so "tar + sync" (tar, then fsync of what it wrote, timed as one step) is shown too. Peak RSS is GNU time's maximum resident set size.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${WTKMS_BUILD:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
dir=${WTKMS_BENCH_DIR:-$top/.cache/bench/snapshot}
sizes=${WTKMS_BENCH_SIZES:-1024}
wtkms=$build/wtkms
gen=$build/bench/snap_gen
[ -x /usr/bin/time ] || { echo "snapshot_bench: needs GNU time (apt-get install time)" >&2; exit 2; }
for f in "$wtkms" "$gen" "$build/libwtkms.so"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "snapshot_bench: $f is missing: build first (scons benchmarks)" >&2; exit 2; }
done
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
# "seconds rss_kib" to $dir/NAME.t
timed() {
    local name=$1
    shift
    sync
    /usr/bin/time -f '%e %M' -a -o "$dir/$name.t" "$@" >/dev/null
}
# median of column COL (1 seconds, 2 RSS KiB) of NAME.t
med() { sort -n -k"$2","$2" "$dir/$1.t" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", b / 1048576 / s; else print "-" }'; }
row() { # row LABEL SECONDS [RSS_KIB]
    printf '%-20s %6s %9s %8s %10s\n' "$1" "$gib" "$2" "$(rate "$bytes" "$2")" \
        "$([ -n "${3:-}" ] && echo "$(($3 / 1024)) MiB" || echo -)"
}

reps=${WTKMS_BENCH_REPS:-3}
echo "median of $reps runs; $(nproc) CPUs; $(uname -r)"
printf '%-20s %6s %9s %8s %10s\n' "operation" "GiB" "seconds" "MiB/s" "peak RSS"
for mib in $sizes; do
    home=$dir/home-$mib
    if [ ! -f "$home/.complete" ]; then
        rm -rf "$home"
        mkdir -p "$home"
        "$gen" "$home" "create,$ext,encryption=(name=wtkms,keyid=system)" \
            "encryption=(name=wtkms,keyid=bench)" "$mib"
        touch "$home/.complete"
    fi
    bytes=$(find "$home" -type f ! -name .complete -printf '%s\n' | awk '{ s += $1 } END { print s }')
    gib=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1073741824 }')
    rm -f "$dir"/*.t
    for rep in $(seq "$reps"); do
        rm -rf "$dir/home.tar" "$dir/store" "$dir/restored" "$dir/untarred"
        cat "$home"/* >/dev/null
        timed tar tar -cf "$dir/home.tar" --exclude=.complete -C "$home" .
        rm -f "$dir/home.tar"
        cat "$home"/* >/dev/null
        timed tarsync sh -c 'tar -cf "$1" --exclude=.complete -C "$2" . && sync "$1"' - \
            "$dir/home.tar" "$home"
        cat "$home"/* >/dev/null
        timed create "$wtkms" snapshot create --home "$home" --store "$dir/store" \
            --key-file "$key" --no-progress
        id=$(ls "$dir/store/snapshots")
        cat "$dir/store/snapshots/$id/files"/* >/dev/null
        timed verify "$wtkms" snapshot verify "$id" --store "$dir/store" --key-file "$key" \
            --no-progress
        timed restore "$wtkms" snapshot restore "$id" --store "$dir/store" \
            --to "$dir/restored" --key-file "$key" --no-progress
        mkdir "$dir/untarred"
        cat "$dir/home.tar" >/dev/null
        timed untar tar -xf "$dir/home.tar" -C "$dir/untarred"
        rm -rf "$dir/untarred"
        mkdir "$dir/untarred"
        cat "$dir/home.tar" >/dev/null
        timed untarsync sh -c 'tar -xf "$1" -C "$2" && sync -f "$2"' - "$dir/home.tar" \
            "$dir/untarred"
    done
    row "tar -cf" "$(med tar 1)" "$(med tar 2)"
    row "tar -cf + sync" "$(med tarsync 1)" "$(med tarsync 2)"
    row "snapshot create" "$(med create 1)" "$(med create 2)"
    row "snapshot verify" "$(med verify 1)" "$(med verify 2)"
    row "tar -xf" "$(med untar 1)" "$(med untar 2)"
    row "tar -xf + sync" "$(med untarsync 1)" "$(med untarsync 2)"
    row "snapshot restore" "$(med restore 1)" "$(med restore 2)"
    rm -rf "$dir/home.tar" "$dir/store" "$dir/restored" "$dir/untarred" "$dir"/*.t
done
