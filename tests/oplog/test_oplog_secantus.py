# SPDX-License-Identifier: Apache-2.0
"""The tap against a real MongoDB-wire server on WiredTiger: SecantusDB (PyPI), started here on
127.0.0.1. Write with pymongo, tap, stop, write more, tap again, then export and compare entry by
entry, byte for byte, with the server's own local.oplog.rs: no gap, no duplicate. The exported
oplog.bson is decoded with pymongo's bson.decode_all.
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import bson
import pymongo
import pytest
from bson.raw_bson import RawBSONDocument

from oplogutil import RAW, REPO, free_port, peer, read_bson

SECANTUSD = REPO / ".venv" / "bin" / "secantusd-py"


@pytest.fixture
def secantus(tmp_path):
    if not SECANTUSD.exists():
        pytest.fail("SecantusDB is not installed (%s): run scripts/setup-tests.sh" % SECANTUSD)
    port = free_port()
    data = tmp_path / "secantus-data"
    cmd = [SECANTUSD, "--host", "127.0.0.1", "--port", port, "--storage-path", data,
           "--log-level", "WARNING"]
    with peer(cmd, port, tmp_path / "secantus.log", timeout=60, cwd=tmp_path) as proc:
        uri = "mongodb://127.0.0.1:%d/?directConnection=true" % port
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10000)
        client.admin.command("ping")
        yield uri, client
        client.close()


def server_oplog(client):
    coll = client.local.get_collection("oplog.rs", codec_options=RAW)
    return [d.raw for d in coll.find({}, sort=[("$natural", 1)])]


def write_batch(client, tag, n=40):
    db = client.shop
    db.orders.insert_many([{"_id": "%s-%d" % (tag, i), "qty": i, "note": "x" * (i % 7)}
                           for i in range(n)])
    db.orders.update_many({"qty": {"$lt": 10}, "_id": {"$regex": "^%s-" % tag}},
                          {"$set": {"state": "paid"}, "$inc": {"qty": 100}})
    db.orders.delete_one({"_id": "%s-3" % tag})
    db.orders.replace_one({"_id": "%s-4" % tag}, {"qty": -1, "replaced": True})
    db["log_%s" % tag].insert_one({"event": "batch %s" % tag})


def test_round_trip_against_secantusdb(tool, secantus, tmp_path):
    uri, client = secantus
    store = tmp_path / "store"
    write_batch(client, "a")
    p = tool.tap_once(uri, store, "--segment-bytes", "4K")
    assert "saved segment 1" in p.stderr
    write_batch(client, "b")
    write_batch(client, "c")
    p = tool.tap_once(uri, store, "--segment-bytes", "4K")
    assert "resuming" in p.stderr and "GAP" not in p.stderr

    out = tmp_path / "oplog.bson"
    tool.export(store, out)
    exported = read_bson(out)
    theirs = server_oplog(client)
    assert len(exported) == len(theirs) > 100
    for i, (mine, srv) in enumerate(zip(exported, theirs)):
        assert mine.raw == srv, "entry %d differs: %r vs %r" % (i, bson.decode(mine.raw),
                                                                 bson.decode(srv))
    ts = [(d["ts"].time, d["ts"].inc) for d in exported]
    assert ts == sorted(set(ts)), "duplicates or disorder"
    # pymongo's decoder reads the whole file as documents back to back.
    decoded = bson.decode_all(out.read_bytes())
    assert {d["op"] for d in decoded} >= {"i", "u", "d"}
    assert any(d["op"] == "u" and "$v" in d["o"] for d in decoded)  # o kept as the server wrote it
    assert tool.run("oplog", "verify", "--store", store).returncode == 0
    listing = tool.list(store)
    assert listing["gaps"] == []
    print("SecantusDB round trip: %d entries in %d segments over two tap runs, identical to the "
          "server's local.oplog.rs byte for byte" % (len(exported), listing["segments"]))


def test_live_tap_and_sigterm_against_secantusdb(tool, secantus, tmp_path, wait_until):
    """A tap left running while writes arrive, cut by time, stopped with SIGTERM: everything the
    server wrote is saved once."""
    uri, client = secantus
    store = tmp_path / "store"
    tap = tool.start_tap(uri, store, "--segment-seconds", "1")
    try:
        # SecantusDB's tailable oplog cursor takes its position after the find's initial scan,
        # so an entry written while that find runs can be missed (mongod has no such window):
        # write once the tap says the find answered.
        tap.wait_for("tailing local.oplog.rs", timeout=20)
        for tag in ("p", "q", "r"):
            write_batch(client, tag, n=15)
            time.sleep(0.7)
        wait_until(lambda: len(list(store.glob("oplog-*.seg"))) >= 2, timeout=20,
                   what="segments cut by time")
        time.sleep(1.0)
    finally:
        rc, output = tap.stop()
    assert rc == 0, output
    exported = [d.raw for d in tool.exported(store)]
    theirs = server_oplog(client)
    assert len(exported) == len(theirs), output
    assert exported == theirs, output
