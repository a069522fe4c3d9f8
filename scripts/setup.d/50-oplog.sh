#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 50-oplog.sh -- the oplog tap's peers: mockupdb (a scripted MongoDB-wire server; the tests script
# gaps, CappedPositionLost, torn replies and step-downs with it) and SecantusDB (a single-node
# MongoDB-wire server on WiredTiger whose local.oplog.rs can be tailed), from PyPI through
# tests/requirements.txt (pinned) into the project venv. Checks that both import and that
# SecantusDB's daemon is there, so a broken install fails here with its cause.
#
# Not installable here, and so not used: mongod (jstests/run.sh says it skipped and why) and
# mongo-tools' bsondump/mongorestore (the Go module proxy refuses
# github.com/mongodb/mongo-tools; the tests decode oplog.bson with pymongo's bson.decode_all).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
venv=$top/.venv
req=$top/tests/requirements.txt
if [ ! -x "$venv/bin/secantusd-py" ] || ! "$venv/bin/python" -c 'import mockupdb' 2>/dev/null; then
    "$venv/bin/pip" install -q $(grep -iE '^(mockupdb|SecantusDB)==' "$req")
fi
"$venv/bin/python" -c 'import mockupdb, secantus, bson, pymongo' \
    || { echo "50-oplog: mockupdb/SecantusDB do not import in $venv" >&2; exit 1; }
[ -x "$venv/bin/secantusd-py" ] || { echo "50-oplog: secantusd-py is missing from $venv" >&2; exit 1; }
