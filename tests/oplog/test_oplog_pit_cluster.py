# SPDX-License-Identifier: Apache-2.0
"""The cluster point-in-time restore recipe of docs/CLI.md ("Sharded cluster"), step by step:
one tap per shard and one for the config server, a snapshot of each member (fsync-locked, the
snapshot reading its oplog time and term from the member), and every member restored to the same
TS. A distributed transaction (prepared on both shards, one commitTimestamp, a commit entry at a
different ts on each) is on both shards or on neither; a chunk migration's routing change on the
config server and its document moves on the shards (fromMigrate) land together.
"""
import bson
from bson.int64 import Int64
from bson.raw_bson import RawBSONDocument
from bson.timestamp import Timestamp

from oplog_corpus import Corpus, S, uuid
from oplogutil import OplogServer
from pitutil import make_pit, restore, restore_to

COMMIT_TS = 40      # the distributed transaction's commitTimestamp
MIGRATE_TS = 44     # the config server's chunk update (the migration commit)


def shard(name, commit_inc, prepare_inc, moved):
    """A shard's history, one entry per inc from 29 to 50: T0 at 30; the transaction prepared at
    prepare_inc, its commit entry at commit_inc with commitTimestamp COMMIT_TS; the migrated
    document arriving (insert, shard b) or leaving (delete, shard a) at 43, before the config
    server commits the migration at MIGRATE_TS."""
    c = Corpus("7.0")
    for i in range(29, 51):
        if i == 30:
            c.entry("n", "", {"msg": "periodic noop"}, ui=False, inc=i)
        elif i == prepare_inc:
            c.txn_entry((1, 7), c.txn_ops("shop.o", {"a": 1000, "b": 2000}[name]), None,
                        {"prepare": True}, inc=i)
        elif i == commit_inc:
            c.entry("c", "admin.$cmd", {"commitTransaction": 1,
                                        "commitTimestamp": Timestamp(S, COMMIT_TS)},
                    ui=False, session=(1, 7), prev=prepare_inc, inc=i)
        elif i == 43:
            c.entry(moved, "shop.o", {"_id": "moved"}, top={"fromMigrate": True}, inc=i)
        else:
            c.entry("i", "shop.o", {"_id": "%s-%d" % (name, i)}, inc=i)
    return [c.entries[i] for i in sorted(c.entries)]


def config_server():
    c = Corpus("7.0")
    c.inc = 29
    c.entry("n", "", {"msg": "periodic noop"}, ui=False)
    c.mark_t0()
    c.inc = MIGRATE_TS - 1
    c.entry("u", "config.chunks", {"$v": 2, "diff": {"u": {"shard": "b"}}},
            o2={"_id": bson.ObjectId(b"\x01" * 12)})
    c.entry("i", "config.system.sessions", {"_id": "s"})
    c.inc = 49
    c.entry("n", "", {"msg": "periodic noop"}, ui=False)
    return [c.entries[i] for i in sorted(c.entries)]


def member(tool, tmp_path, name, entries):
    """A member: its tap's store, and a snapshot taken fsync-locked at its T0 (S:30)."""
    src = OplogServer()
    src.start()
    try:
        src.fsync_locked = True
        src.append([e for e in entries if e["ts"].inc <= 30])
        pit = make_pit(tool, src, tmp_path, [e for e in entries if e["ts"].inc > 30], None,
                       name=name, snapshot_uri=src.uri)
    finally:
        src.stop()
    return pit


def test_cluster_restore_to_one_ts(tool, tmp_path):
    members = {"a": member(tool, tmp_path, "a", shard("a", 41, 33, "d")),
               "b": member(tool, tmp_path, "b", shard("b", 46, 35, "i")),
               "cfg": member(tool, tmp_path, "cfg", config_server())}
    for until, in_txn, migrated in ((39, False, False), (42, True, False), (43, True, True),
                                    (45, True, True)):
        for name, pit in members.items():
            j, got = restore_to(tool, pit, "%d:%d" % (S, until))
            incs = [d["ts"].inc for d in got]
            if name == "cfg":
                assert (MIGRATE_TS in incs) == (until >= MIGRATE_TS), (until, incs)
                continue
            # The transaction goes by its commitTimestamp: on both shards or on neither, though
            # shard b's commit entry (46) lies after 42 and 45.
            assert (j["transactions_committed"] == 1) == in_txn, (name, until, incs)
            moved = [d for d in got if d["o"].get("_id") == "moved"]
            assert bool(moved) == migrated, (name, until)
    # The replay: into each member's restored node (scripted), the same TS for all.
    target = OplogServer()
    target.start()
    try:
        for name, pit in members.items():
            target.applied.clear()
            restore(tool, pit, "%d:%d" % (S, 45), "--target", target.uri, "--preserve-uuid")
            ops = [c["applyOps"][0] for c in target.applied]
            if name == "cfg":
                assert [o["ns"] for o in ops] == ["config.chunks"]
            else:
                ids = [o["o"]["_id"] for o in ops if isinstance(o["o"].get("_id"), int)]
                assert ids == {"a": [1000, 1001], "b": [2000, 2001]}[name]
    finally:
        target.stop()
