#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# jstests/run.sh -- mongo-shell tests against a real mongod running the wtkms extension, with the
# oplog tap beside it: write, snapshot, write, point-in-time restore, compare.
#
#     jstests/run.sh
#
# Needs mongod (4.2 to 8.0: its WiredTiger line picks build/, build/wt-10.0/, build/wt-11.2/ or
# build/wt-11.3/) and mongosh (or the legacy mongo shell) on PATH, and scripts/build.sh run first
# (jstests/README says where to get the server binaries). When mongod is not on PATH
# it prints that it skipped and why, and exits 0. The restore is replayed with wtkms' own applyOps
# replay (pit restore --target) and, when mongorestore is on PATH too, a second time with
# mongorestore --oplogReplay from the oplog.bson pit restore writes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
here=$top/jstests

mongod=$(command -v mongod || true)
shell=$(command -v mongosh || command -v mongo || true)
if [ -z "$mongod" ]; then
    echo "jstests: SKIPPED: no mongod on PATH (put MongoDB server binaries, 4.2 to 8.0, and" \
         "mongosh on PATH and run jstests/run.sh again: jstests/README)"
    exit 0
fi
if [ -z "$shell" ]; then
    echo "jstests: SKIPPED: mongod is on PATH but neither mongosh nor mongo is"
    exit 0
fi
full=$("$mongod" --version | sed -n 's/^db version v\([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p')
ver=${full%.*}
# Each mongod carries one WiredTiger line (docs/WIREDTIGER.md); the extension of another line is
# refused by the version guard, so each version gets its own line's build.
case "$full" in
4.2.[0-5]) build=$top/build ;;
4.2.*)
    echo "jstests: SKIPPED: mongod $full carries WiredTiger 3.3.0 (4.2.6 and later), for which" \
         "wtkms has no build (docs/WIREDTIGER.md); use mongod 4.2.0 to 4.2.5 or 4.4 and later"
    exit 0
    ;;
4.4.* | 5.0.* | 6.0.*) build=$top/build/wt-10.0 ;;
7.0.*) build=$top/build/wt-11.2 ;;
8.0.*) build=$top/build/wt-11.3 ;;
*)
    echo "jstests: SKIPPED: mongod $full: wtkms has builds for mongod 4.2.0 to 4.2.5 (WiredTiger" \
         "3.2), 4.4 to 6.0 (10.0), 7.0 (11.2) and 8.0 (11.3)"
    exit 0
    ;;
esac
if [ ! -x "$build/wtkms" ] || [ ! -f "$build/libwtkms.so" ]; then
    echo "jstests: FAILED: mongod $ver needs the build in $build, which is missing: run" \
         "scripts/build.sh" >&2
    exit 1
fi
wtkms=$build/wtkms

work=$(mktemp -d "${TMPDIR:-/tmp}/wtkms-jstests.XXXXXX")
tap_pid=
ports=()
cleanup() {
    local rc=$?
    [ -n "$tap_pid" ] && kill "$tap_pid" 2>/dev/null || true
    for p in "${ports[@]}"; do
        "$shell" --quiet --port "$p" --eval 'db.getSiblingDB("admin").shutdownServer({force: true})' \
            >/dev/null 2>&1 || true
    done
    if [ $rc -ne 0 ]; then
        echo "jstests: FAILED (logs kept in $work)" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

key=$work/master.key
head -c 32 /dev/urandom >"$key"
chmod 600 "$key"
conf=$work/wtkms.conf
printf 'provider=local\nkey_file=%s\n' "$key" >"$conf"
chmod 600 "$conf"
engine="extensions=[$build/libwtkms.so=(config=(config_file=$conf))],encryption=(name=wtkms,keyid=system)"

start_mongod() { # dbpath port [mongod flags...]
    local dbpath=$1 port=$2
    shift 2
    mkdir -p "$dbpath"
    "$mongod" --dbpath "$dbpath" --port "$port" --bind_ip 127.0.0.1 --fork --logpath "$dbpath.log" \
        --wiredTigerEngineConfigString "$engine" \
        --wiredTigerCollectionConfigString 'encryption=(name=wtkms,keyid=default)' \
        --wiredTigerIndexConfigString 'encryption=(name=wtkms,keyid=default)' "$@" >/dev/null
    ports+=("$port")
}

js() { # port phase
    "$shell" --quiet --port "$1" --eval "var phase='$2', stateFile='$work/state';" "$here/pit_restore.js"
}

uri_of() { echo "mongodb://127.0.0.1:$1/?directConnection=true"; }

echo "jstests: mongod $ver ($mongod), shell $shell, wtkms $build"

# The source: a one-member replica set (a standalone keeps no oplog).
p1=$(free_port)
start_mongod "$work/src" "$p1" --replSet rs0
"$shell" --quiet --port "$p1" --eval \
    "rs.initiate({_id: 'rs0', members: [{_id: 0, host: '127.0.0.1:$p1'}]})" >/dev/null
for _ in $(seq 1 60); do
    "$shell" --quiet --port "$p1" --eval 'db.hello().isWritablePrimary' | grep -q true && break
    sleep 1
done

"$wtkms" oplog tap --uri "$(uri_of "$p1")" --store "$work/oplog" --key-file "$key" \
    --segment-seconds 1 >"$work/tap.log" 2>&1 &
tap_pid=$!

js "$p1" write1

# Snapshot of the running source (--live: its $backupCursor on Enterprise or Percona, else an
# fsyncLock held while the files are cloned or read); the manifest records the oplog time.
snap_json=$("$wtkms" snapshot create --home "$work/src" --store "$work/snaps" --live \
    --uri "$(uri_of "$p1")" --key-file "$key" --json)
id=$(echo "$snap_json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
echo "jstests: snapshot $id ($(echo "$snap_json" |
    python3 -c 'import json, sys; j = json.load(sys.stdin); print(j["source"]["method"], "lock_ms", j["lock_ms"])'))"
# The server must not be left locked.
"$shell" --quiet --port "$p1" --eval 'db.currentOp().fsyncLock ? quit(1) : quit(0)' ||
    { echo "jstests: FAILED: mongod is still fsync-locked after the snapshot" >&2; exit 1; }

until=$(js "$p1" write2 | sed -n 's/^UNTIL //p')
echo "jstests: restoring to $until"

# Wait for the tap to have saved everything up to the target time, then stop it.
for _ in $(seq 1 60); do
    last=$("$wtkms" oplog list --store "$work/oplog" --json |
        python3 -c 'import json, sys; print(json.load(sys.stdin).get("last_ts", "0:0"))')
    python3 -c "import sys; a, b = (tuple(map(int, x.split(':'))) for x in sys.argv[1:]); sys.exit(a < b)" \
        "$last" "$until" && break
    sleep 1
done
kill -TERM "$tap_pid"
wait "$tap_pid"
tap_pid=
"$wtkms" oplog verify --store "$work/oplog" --key-file "$key"

# Restore the snapshot and the oplog slice, start it, replay with applyOps, compare.
"$wtkms" pit restore --snapshot "$id" --store "$work/snaps" --oplog-store "$work/oplog" \
    --until "$until" --to "$work/restored" --key-file "$key"
p2=$(free_port)
start_mongod "$work/restored" "$p2"
"$wtkms" pit restore --snapshot "$id" --store "$work/snaps" --oplog-store "$work/oplog" \
    --until "$until" --target "$(uri_of "$p2")" --key-file "$key"
js "$p2" check

# The same with mongorestore --oplogReplay and the oplog.bson pit restore wrote.
if command -v mongorestore >/dev/null; then
    "$wtkms" pit restore --snapshot "$id" --store "$work/snaps" --oplog-store "$work/oplog" \
        --until "$until" --to "$work/restored2" --key-file "$key"
    p3=$(free_port)
    start_mongod "$work/restored2" "$p3"
    mongorestore --quiet --host "127.0.0.1:$p3" --oplogReplay --dir "$work/restored2-oplog"
    js "$p3" check
else
    echo "jstests: mongorestore is not on PATH: replayed with wtkms' applyOps replay only"
fi
echo "jstests: PASSED"
