#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# build.sh -- build every libFuzzer target (fuzz/fuzz_*.c) with clang, ASan and UBSan, into
# build/fuzz/. The project's sources are compiled again for this build, with
# -fsanitize=fuzzer-no-link (coverage) and -DWTKMS_FUZZING (the fuzzing-only hooks: see
# docs/FUZZING.md); they never reach a normal build.
#
#   fuzz/build.sh            every target
#   fuzz/build.sh kmip_ttlv  the named targets only
#   fuzz/build.sh --seeds    also rebuild the seeds made by the project's writers
#                            (fuzz/seedgen.c), by fuzz/seeds.py and by fuzz/seeds_pit.py
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
CC=${FUZZ_CC:-clang}
command -v "$CC" >/dev/null || { echo "fuzz/build.sh: $CC not found (scripts/setup-tests.sh installs clang)" >&2; exit 2; }
out=build/fuzz
mkdir -p "$out/obj"

san=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
pkgs="libcrypto libssl libcurl libbson-1.0 libzstd libmongoc-1.0"
read -r -a pcflags <<<"$(pkg-config --cflags $pkgs)"
read -r -a plibs <<<"$(pkg-config --libs $pkgs)"
cflags=(-std=c11 -g -O1 -Wall -Wextra -Werror -Wno-unused-command-line-argument
    -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DWTKMS_FUZZING "-DWTKMS_FUZZ_DIR=\"$top/fuzz\"" "${san[@]}"
    -fsanitize=fuzzer-no-link -Isrc/common -Isrc/crypto -Isrc/kms -Isrc/keystore
    -Isrc/encryptor -Isrc/s3 -Isrc/snapshot -Isrc/oplog -Isrc/compress -Ifuzz "${pcflags[@]}")

# The parsers' modules: everything that does not need WiredTiger (mongo-c-driver only for the
# oplog replay, whose commands the pit target answers itself).
srcs=(src/common/*.c src/crypto/*.c src/kms/*.c src/keystore/*.c src/encryptor/block.c src/encryptor/keycache.c src/s3/*.c
    src/snapshot/manifest.c src/snapshot/manifest_encode.c src/snapshot/chunk.c src/snapshot/snaputil.c src/snapshot/store.c
    src/snapshot/store_local.c src/snapshot/store_s3.c src/oplog/oplog_segment.c
    src/oplog/oplog_store.c src/oplog/oplog_store_local.c src/oplog/oplog_store_s3.c
    src/oplog/oplog_catalog.c src/oplog/oplog_ts.c src/compress/zcodec.c
    src/oplog/oplog_txn.c src/oplog/oplog_shape.c src/oplog/oplog_export.c
    src/oplog/oplog_segmenter.c src/oplog/oplog_verify.c src/oplog/oplog_replay.c
    fuzz/fuzz_common.c)

# Rebuild an object when its source, any header or this script is newer.
newest=$(find src fuzz -name '*.h' -newer "$out/stamp" 2>/dev/null | head -1 || true)
[ -f "$out/stamp" ] && [ -z "$newest" ] && [ ! "$0" -nt "$out/stamp" ] || rm -f "$out"/obj/*.o
objs=()
for s in "${srcs[@]}"; do
    o=$out/obj/$(echo "${s%.c}" | tr / _).o
    if [ ! -f "$o" ] || [ "$s" -nt "$o" ]; then
        echo "  CC    $s"
        "$CC" "${cflags[@]}" -c "$s" -o "$o"
    fi
    objs+=("$o")
done
rm -f "$out/libwtkms_fuzz.a"
ar rcs "$out/libwtkms_fuzz.a" "${objs[@]}"
touch "$out/stamp"

seeds=0
if [ "${1:-}" = --seeds ]; then
    seeds=1
    shift
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cd fuzz && ls fuzz_*.c | sed -e 's/^fuzz_//' -e 's/\.c$//' | grep -v '^common$')
fi
for t in "${targets[@]}"; do
    [ -f "fuzz/fuzz_$t.c" ] || { echo "fuzz/build.sh: no target fuzz/fuzz_$t.c" >&2; exit 2; }
    echo "  LINK  $out/$t"
    # Providers reach their services only through wtkms_http_request: the targets that fuzz
    # their answers replace it (fuzz_common.c) by the linker's --wrap, the real one unchanged.
    # The kmip target plays the server below kmip.c's transport: the libcurl calls of its raw
    # TLS connection, and net.c's sleep and certificate records (fuzz_kmip.c). The pit target
    # plays the mongod a replay sends its commands to (fuzz_pit.c).
    extra=()
    case $t in
    kmip) extra=(-Wl,--wrap=curl_easy_perform,--wrap=curl_easy_send,--wrap=curl_easy_recv
        -Wl,--wrap=curl_easy_getinfo,--wrap=wtkms_net_sleep_ms,--wrap=wtkms_tls_verify_error
        -Wl,--wrap=wtkms_tls_peer_refused_cert) ;;
    pit) extra=(-Wl,--wrap=mongoc_client_command_simple) ;;
    esac
    "$CC" "${cflags[@]}" -fsanitize=fuzzer "fuzz/fuzz_$t.c" -o "$out/$t" \
        -Wl,--wrap=wtkms_http_request ${extra[@]+"${extra[@]}"} "$out/libwtkms_fuzz.a" \
        "${plibs[@]}" -lpthread -lm
done

if [ $seeds = 1 ]; then
    echo "  LINK  $out/seedgen"
    "$CC" "${cflags[@]}" fuzz/seedgen.c -o "$out/seedgen" "$out/libwtkms_fuzz.a" "${plibs[@]}" \
        -lpthread -lm
    # Files of the same names are replaced; others (older formats' seeds, regressions) stay.
    ASAN_OPTIONS=detect_leaks=0 "$out/seedgen" "$top"
    python3 fuzz/seeds.py
    # The pit seeds come from the oplog test corpus, which needs pymongo's bson.
    py=python3
    [ -x .venv/bin/python ] && py=.venv/bin/python
    "$py" fuzz/seeds_pit.py
fi

# The oauth target's PEM seed (a certificate and its private key) is made here, never committed:
# a throwaway key, in the generated corpus beside the committed one.
pem=$out/corpus/oauth/pem_cert_key
if [ ! -s "$pem" ]; then
    mkdir -p "$out/corpus/oauth"
    tmp=$(mktemp -d)
    openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=wtkms-fuzz -days 3650 \
        -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
    cat "$tmp/cert.pem" "$tmp/key.pem" >"$pem"
    rm -rf "$tmp"
fi
