#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# demo.sh -- an encrypted WiredTiger database on the local key provider, end to end:
# make a master key, create a database whose tables and journal are encrypted by wtkms, write
# rows holding canary strings, close, reopen, read them back, and show that no canary is on disk.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${WTKMS_BUILD:-$top/build}
wt=${WT:-wt}
work=$(mktemp -d "${TMPDIR:-/tmp}/wtkms-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
home=$work/db
key=$work/master.key
mkdir "$home"

say() { printf '\n== %s\n' "$*"; }

say "1. a new local master key (32 random bytes, mode 600)"
"$build/wtkms" keys generate-local --key-file "$key"

ext="extensions=[$build/libwtkms.so=(config=(provider=local,key_file=$key))]"
conn="$ext,encryption=(name=wtkms,keyid=system),log=(enabled=true,file_max=1MB)"

say "2. create a database: metadata and journal under keyid 'system', the table under 'customers'"
"$wt" -h "$home" -C "create,$conn" create \
    -c 'key_format=S,value_format=S,encryption=(name=wtkms,keyid=customers)' table:customers

say "3. write rows holding canary strings"
args=()
for i in $(seq 1 200); do
    args+=("customer-$i" "CANARY-card-4111-1111-1111-$(printf '%04d' "$i")")
done
"$wt" -h "$home" -C "$conn" write table:customers "${args[@]}"

say "4. reopen and read them back"
rows=$("$wt" -h "$home" -C "$conn" dump table:customers | grep -c '^CANARY-card-' || true)
echo "read $rows rows; first: $("$wt" -h "$home" -C "$conn" dump table:customers | grep -m1 '^CANARY')"
[ "$rows" -eq 200 ] || { echo "demo: expected 200 rows, read $rows" >&2; exit 1; }

say "5. look for the canaries in every file of the home"
if grep -rl --binary-files=text 'CANARY-card' "$home"; then
    echo "demo: a canary is on disk in clear: FAILED" >&2
    exit 1
fi
ls -l "$home"
echo "no canary in any file: pages, journal and metadata are encrypted"

say "6. the keystore beside the data"
"$build/wtkms" keys status --home "$home" --verify --key-file "$key"

say "7. the wrong master key cannot open it"
other=$work/other.key
"$build/wtkms" keys generate-local --key-file "$other" >/dev/null
bad="extensions=[$build/libwtkms.so=(config=(provider=local,key_file=$other))],encryption=(name=wtkms,keyid=system)"
if "$wt" -h "$home" -C "$bad" dump table:customers >/dev/null 2>"$work/err"; then
    echo "demo: the wrong key opened the database: FAILED" >&2
    exit 1
fi
grep -o 'wtkms: .*' "$work/err" | head -1
echo
echo "demo: OK"
