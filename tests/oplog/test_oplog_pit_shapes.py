# SPDX-License-Identifier: Apache-2.0
"""pit restore and oplog export on oplog shapes mongod writes that a restore once got wrong (issue
15's findings), each built as mongod writes it (oplog_corpus.Corpus), against the scripted server
(tests/peers/oplog_mock.py) as source and as --target.
"""
import json

import bson
from bson.int64 import Int64
from bson.timestamp import Timestamp

from oplog_corpus import Corpus, S, uuid
from oplogutil import entry, read_bson
from pitutil import make_pit, restore, restore_to
from txn_entries import chain, end_prepared


def ts(inc):
    return "%d:%d" % (S, inc)


def applied_ops(server):
    return [cmd["applyOps"][0] for cmd in server.applied if "applyOps" in cmd]


def test_80_retryable_applyops_are_applied_separately(tool, oplog_server, tmp_path):
    """8.0 retryable insertMany/bulkWrite: applyOps with lsid, txnNumber, multiOpType 1 and no
    partialTxn, the second's prevOpTime naming the first (here across T0) or a CRUD entry."""
    c = Corpus("8.0")
    ins = [c.entry("i", "shop.o", {"_id": k}, inner=True, stmt=k) for k in range(6)]
    a1 = c.entry("c", "admin.$cmd", {"applyOps": ins[0:2]}, ui=False, session=(1, 1), prev=None,
                 top={"multiOpType": 1})                                   # before T0
    c.mark_t0()
    c.entry("i", "shop.o", {"_id": 50})
    a2 = c.entry("c", "admin.$cmd", {"applyOps": ins[2:4]}, ui=False, session=(1, 1), prev=a1,
                 top={"multiOpType": 1})                                   # straddles T0
    crud = c.entry("i", "shop.o", {"_id": 60}, session=(2, 1), stmt=0, prev=None)
    a3 = c.entry("c", "admin.$cmd", {"applyOps": ins[4:6]}, ui=False, session=(2, 1), prev=crud,
                 top={"multiOpType": 1})                                   # names a CRUD entry
    b1 = c.entry("c", "admin.$cmd", {"applyOps": [
        c.entry("i", "shop.o", {"_id": 70}, inner=True, stmt=0)]}, ui=False, session=(3, 1),
        prev=None, top={"multiOpType": 1})
    b2 = c.entry("c", "admin.$cmd", {"applyOps": [
        c.entry("i", "shop.o", {"_id": 71}, inner=True, stmt=1)]}, ui=False, session=(3, 1),
        prev=b1, top={"multiOpType": 1})
    pit = make_pit(tool, oplog_server, tmp_path, [c.entries[i] for i in sorted(c.entries)],
                   (S, c.t0))
    j, got = restore_to(tool, pit, ts(b2))
    assert [d["ts"].inc for d in got] == [c.t0 + 1, a2, crud, a3, b1, b2]
    assert j["transactions_committed"] == 0 and j["transaction_entries_left_out"] == 0
    # Up to the middle of the bulkWrite: the first entry alone, which mongod applied alone.
    j, got = restore_to(tool, pit, ts(b1))
    assert [d["ts"].inc for d in got] == [c.t0 + 1, a2, crud, a3, b1]
    oplog_server.applied.clear()
    p = restore(tool, pit, ts(b2), "--target", oplog_server.uri, "--json")
    assert json.loads(p.stdout)["replayed"]["transactions"] == 0
    assert [op["o"]["_id"] for op in applied_ops(oplog_server)] == [50, 2, 3, 60, 4, 5, 70, 71]
    assert not any("stmtId" in op or "lsid" in op for op in applied_ops(oplog_server))


def test_export_inside_a_transaction_keeps_it_whole(tool, oplog_server, tmp_path):
    """--from inside a large transaction (parts before, commit after) or after a prepare: the
    earlier parts go out with the commit; when the store lacks them the export is refused."""
    ents = {i: e for i, e in zip((10, 12, 15), chain(S, [10, 12, 15], 100, txn=2))}
    ents.update(zip((11,), chain(S, [11], 200, txn=3, prepare=True)))
    ents[16] = end_prepared(S, 16, 11, txn=3)
    for i in (13, 14, 17):
        ents[i] = entry(S, i)
    pit = make_pit(tool, oplog_server, tmp_path, [ents[i] for i in sorted(ents)], (S, 10))
    out = tmp_path / "x.bson"
    p = tool.export(pit["ostore"], out, "--from", ts(13), "--json")
    assert json.loads(p.stdout)["earlier_transaction_parts"] == 3
    got = read_bson(out)
    assert [d["ts"].inc for d in got] == [10, 11, 12, 13, 14, 15, 16, 17]
    # After the large transaction's commit only the prepare is needed.
    got = tool.exported(pit["ostore"], "--from", ts(16))
    assert [d["ts"].inc for d in got] == [11, 16, 17]
    # A store that lost the first part (the server rolled over before the tap read it).
    oplog_server2 = type(oplog_server)(batch_size=7)
    oplog_server2.start()
    try:
        oplog_server2.append([ents[i] for i in sorted(ents) if i >= 11])
        store2 = tmp_path / "store2"
        tool.tap_once(oplog_server2.uri, store2)
        p = tool.export(store2, tmp_path / "y.bson", "--from", ts(13), check=False)
        assert p.returncode == 6, p.stderr
        assert "transaction committed at %s began at %s" % (ts(15), ts(10)) in p.stderr, p.stderr
        assert not (tmp_path / "y.bson").exists()
    finally:
        oplog_server2.stop()


def test_config_sharding_metadata_is_replayed(tool, oplog_server, tmp_path):
    """mongorestore replays config.chunks, collections, databases, settings, shards, tags and
    version (a config server's routing table); the server's own config.* are skipped."""
    c = Corpus("7.0")
    c.entry("n", "", {"msg": "periodic noop"}, ui=False)
    c.mark_t0()
    keep = ("chunks", "collections", "databases", "settings", "shards", "tags", "version")
    skip = ("system.sessions", "transactions", "image_collection", "cache.chunks.shop.o",
            "system.preimages", "migrationCoordinators")
    for coll in keep + skip:
        c.entry("i", "config." + coll, {"_id": coll})
    pit = make_pit(tool, oplog_server, tmp_path, [c.entries[i] for i in sorted(c.entries)],
                   (S, c.t0))
    oplog_server.applied.clear()
    restore(tool, pit, ts(c.inc), "--target", oplog_server.uri)
    assert [op["ns"] for op in applied_ops(oplog_server)] == ["config." + k for k in keep]


def _ui_corpus():
    """A collection created after T0, and $out twice into one target (renameCollection with
    dropTarget naming the previous target's UUID)."""
    c = Corpus("7.0")
    c.entry("n", "", {"msg": "periodic noop"}, ui=False)
    c.mark_t0()
    c.entry("c", "shop.$cmd", {"create": "fresh"}, ui=uuid("shop.fresh"))
    c.entry("i", "shop.fresh", {"_id": 1})
    for k, prev in ((1, "shop.report"), (2, "shop.tmp.agg_out.1")):
        tmp = "shop.tmp.agg_out.%d" % k
        c.entry("c", "shop.$cmd", {"create": "tmp.agg_out.%d" % k, "temp": True}, ui=uuid(tmp))
        c.entry("i", tmp, {"_id": k})
        c.entry("c", "shop.$cmd", {"renameCollection": tmp, "to": "shop.report",
                                   "stayTemp": False, "dropTarget": uuid(prev)},
                o2={"numRecords": Int64(1)}, ui=uuid(tmp))
    return c


def test_ui_kept_on_the_snapshots_node_stripped_elsewhere(tool, oplog_server, tmp_path):
    c = _ui_corpus()
    pit = make_pit(tool, oplog_server, tmp_path, [c.entries[i] for i in sorted(c.entries)],
                   (S, c.t0))
    until = ts(c.inc)
    # --to and --target: the target runs on the restored files; the UUIDs are the source's. The
    # same when the user says so, and when the target, asked, holds the source's UUIDs.
    for extra, colls in ((("--to", pit["base"] / "restored"), {}), (("--preserve-uuid",), {}),
                         ((), {"shop.fresh": uuid("shop.fresh")})):
        oplog_server.applied.clear()
        oplog_server.collections = colls
        p = restore(tool, pit, until, "--target", oplog_server.uri, "--json", *extra)
        assert json.loads(p.stdout)["replayed"]["uuids"] == "kept"
        ops = applied_ops(oplog_server)
        assert ops[0]["ui"] == uuid("shop.fresh") and ops[0]["o"] == {"create": "fresh"}
        renames = [op for op in ops if "renameCollection" in op["o"]]
        assert [r["o"]["dropTarget"] for r in renames] == [uuid("shop.report"),
                                                           uuid("shop.tmp.agg_out.1")]
        assert all("ui" in op for op in ops)
    # --target alone on a rebuilt target: asked at the first write to a collection it holds,
    # its UUID differs; ui stripped from then on, and dropTarget then means "what is there".
    oplog_server.applied.clear()
    oplog_server.collections = {"shop.fresh": bson.Binary(b"\xee" * 16, 4)}
    p = restore(tool, pit, until, "--target", oplog_server.uri, "--json")
    assert json.loads(p.stdout)["replayed"]["uuids"] == "stripped"
    ops = applied_ops(oplog_server)
    assert ops[0]["o"] == {"create": "fresh"} and not any("ui" in op for op in ops[1:])
    assert [op["o"]["dropTarget"] for op in ops if "renameCollection" in op["o"]] == [True, True]


def test_t0_must_be_an_entry_of_the_store(tool, oplog_server, tmp_path):
    """A T0 the store does not hold (another replica set, a typo, a rolled-back entry) is refused
    with the reason; a T0 held with another term too."""
    ents = [entry(S, i) for i in (1, 2, 4, 5)]
    pit = make_pit(tool, oplog_server, tmp_path, ents, (S, 3))
    p = restore(tool, pit, ts(5), "--to", pit["base"] / "r", check=False)
    assert p.returncode == 6, p.stderr
    assert "holds no entry at %s" % ts(3) in p.stderr and "another replica set" in p.stderr
    assert not (pit["base"] / "r").exists() and not (pit["base"] / "r-oplog").exists()
    # The snapshot read T0 and its term (2) from the fsync-locked source; the store holds an
    # entry at that ts written in term 1 (another replica set's history).
    src = type(oplog_server)()
    src.start()
    try:
        src.fsync_locked = True
        src.append([entry(S, 1, t=2), entry(S, 2, t=2)])
        pit2 = make_pit(tool, oplog_server, tmp_path, [], None, name="pit2",
                        snapshot_uri=src.uri)
    finally:
        src.stop()
    p = restore(tool, pit2, ts(5), "--to", pit2["base"] / "r", check=False)
    assert p.returncode == 6, p.stderr
    assert "in term 2" in p.stderr and "has term 1" in p.stderr, p.stderr
    # A snapshot of another replica set (its name read from the locked source), even at a ts
    # and term the store holds: refused, both names given.
    other = type(oplog_server)(set_name="rs-other")
    other.start()
    try:
        other.fsync_locked = True
        other.append([entry(S, 1), entry(S, 2)])
        pit3 = make_pit(tool, oplog_server, tmp_path, [], None, name="pit3",
                        snapshot_uri=other.uri)
    finally:
        other.stop()
    p = restore(tool, pit3, ts(5), "--to", pit3["base"] / "r", check=False)
    assert p.returncode == 6, p.stderr
    assert "replica set rs-other" in p.stderr and "replica set rs0" in p.stderr, p.stderr


def test_prepared_transaction_decided_by_commit_timestamp(tool, oplog_server, tmp_path):
    """A distributed transaction commits at one commitTimestamp (S:37) on every shard; each shard
    writes its commit entry at its own ts (38 on one, 40 on the other). Restoring both to S:38
    includes it on both."""
    def shard(commit_inc):
        ents = {i: entry(S, i) for i in (30, 31, 33, 36, 39, 41)}
        ents.update(zip((32,), chain(S, [32], 200, txn=3, prepare=True)))
        fin = bson.decode(end_prepared(S, commit_inc, 32, txn=3).raw)
        fin["o"]["commitTimestamp"] = Timestamp(S, 37)
        ents[commit_inc] = bson.raw_bson.RawBSONDocument(bson.encode(fin))
        return [ents[i] for i in sorted(ents)]

    seen = []
    for name, commit_inc in (("a", 38), ("b", 40)):
        server = type(oplog_server)()
        server.start()
        try:
            pit = make_pit(tool, server, tmp_path, shard(commit_inc), (S, 30), name=name)
            j, got = restore_to(tool, pit, ts(38))
            seen.append([d["ts"].inc for d in got])
            assert j["transactions_committed"] == 1, name
            server.applied.clear()
            restore(tool, pit, ts(38), "--target", server.uri)
            assert [op["o"]["_id"] for op in applied_ops(server)
                    if op["o"]["_id"] < 1000] == [200, 201]
            # Before the commitTimestamp: on neither shard.
            j, got = restore_to(tool, pit, ts(36))
            assert 32 not in [d["ts"].inc for d in got] and j["transactions_committed"] == 0
        finally:
            server.stop()
    assert seen == [[31, 32, 33, 36, 38], [31, 32, 33, 36, 40]]


def test_dbcheck_is_applied(tool, oplog_server, tmp_path):
    """mongorestore applies dbCheck entries (mongod only logs them); the restore goes through."""
    c = Corpus("6.0")
    c.entry("n", "", {"msg": "periodic noop"}, ui=False)
    c.mark_t0()
    c.entry("c", "shop.$cmd", {"dbCheck": "o", "type": "batch",
                               "md5": "d41d8cd98f00b204e9800998ecf8427e",
                               "minKey": {"$minKey": 1}, "maxKey": {"$maxKey": 1},
                               "count": Int64(0)}, ui=uuid("shop.o"))
    c.entry("i", "shop.o", {"_id": 1})
    pit = make_pit(tool, oplog_server, tmp_path, [c.entries[i] for i in sorted(c.entries)],
                   (S, c.t0))
    oplog_server.applied.clear()
    restore(tool, pit, ts(c.inc), "--target", oplog_server.uri)
    assert [list(op["o"])[0] for op in applied_ops(oplog_server)] == ["dbCheck", "_id"]


def test_record_ids_replicated_is_stripped(tool, oplog_server, tmp_path):
    """8.0 collections with recordIdsReplicated: create loses the option and inserts their rid,
    as mongorestore does, so the target chooses its own record ids consistently."""
    c = Corpus("8.0")
    c.entry("n", "", {"msg": "periodic noop"}, ui=False)
    c.mark_t0()
    c.entry("c", "shop.$cmd", {"create": "r", "recordIdsReplicated": True,
                               "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"}},
            ui=uuid("shop.r"))
    c.entry("i", "shop.r", {"_id": 1}, top={"rid": Int64(1)})
    pit = make_pit(tool, oplog_server, tmp_path, [c.entries[i] for i in sorted(c.entries)],
                   (S, c.t0))
    oplog_server.applied.clear()
    restore(tool, pit, ts(c.inc), "--target", oplog_server.uri)
    create, ins = applied_ops(oplog_server)
    assert create["o"] == {"create": "r", "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"}}
    assert "rid" not in ins


def test_failure_inside_a_transaction_is_reported_as_partial(tool, oplog_server, tmp_path):
    """The target refuses the second of a transaction's three operations: the report says the
    first is applied (the target holds part of the transaction), and it is not counted."""
    c = Corpus("7.0")
    c.entry("n", "", {"msg": "periodic noop"}, ui=False)
    c.mark_t0()
    c.entry("i", "shop.o", {"_id": 1})
    tx = c.txn_entry((1, 1), c.txn_ops("shop.o", 100, n=3), None)
    pit = make_pit(tool, oplog_server, tmp_path, [c.entries[i] for i in sorted(c.entries)],
                   (S, c.t0))
    oplog_server.applied.clear()
    oplog_server.apply_count = 0
    oplog_server.apply_faults = {3: (11000, "E11000 duplicate key error")}
    p = restore(tool, pit, ts(tx), "--target", oplog_server.uri, check=False)
    assert p.returncode == 1, p.stderr
    assert "operation 2 of the 3 of the transaction committed at %s" % ts(tx) in p.stderr
    assert "holds PART of this transaction" in p.stderr and "before %s only" % ts(tx) \
        not in p.stderr, p.stderr
    assert "2 operations applied, 0 skipped, 0 transactions applied whole" in p.stderr, p.stderr
    # A failure on a plain entry: nothing of it is applied.
    oplog_server.apply_count = 0
    oplog_server.apply_faults = {1: (11000, "E11000 duplicate key error")}
    p = restore(tool, pit, ts(tx), "--target", oplog_server.uri, check=False)
    assert "the target holds every entry before %s and nothing of it" % ts(c.t0 + 1) in p.stderr


def test_history_it_cannot_replay_has_its_own_exit_code(tool, oplog_server, tmp_path):
    """An intact entry of a command it cannot replay: exit 10, naming the entry, before anything
    is written (--to too: mongorestore would stop there); damaged history (a commitTransaction
    without prevOpTime) stays exit 4."""
    c = Corpus("7.0")
    c.entry("n", "", {"msg": "periodic noop"}, ui=False)
    c.mark_t0()
    c.entry("i", "shop.o", {"_id": 1})
    imp = c.entry("c", "shop.$cmd", {"importCollection": "o", "collectionProperties": {}},
                  ui=uuid("shop.o"))
    pit = make_pit(tool, oplog_server, tmp_path, [c.entries[i] for i in sorted(c.entries)],
                   (S, c.t0))
    oplog_server.applied.clear()
    p = restore(tool, pit, ts(imp), "--target", oplog_server.uri, check=False)
    assert p.returncode == 10, p.stderr
    assert "entry at %s" % ts(imp) in p.stderr and "importCollection" in p.stderr, p.stderr
    assert oplog_server.applied == []
    p = restore(tool, pit, ts(imp), "--to", pit["base"] / "r", check=False)
    assert p.returncode == 10 and not (pit["base"] / "r").exists(), p.stderr
    # Inside a transaction's applyOps; applyOps nested deeper than mongod writes; and damaged
    # history: a commitTransaction without prevOpTime cannot be tied to its transaction.
    d = {"op": "c", "ns": "shop.$cmd", "o": {"importCollection": "o"}}
    for _ in range(9):
        d = {"op": "c", "ns": "admin.$cmd", "o": {"applyOps": [d]}}
    for name, code, text, make in (
            ("txn", 10, "holds a \"importCollection\" command", lambda c: c.txn_entry(
                (1, 1), [c.entry("c", "shop.$cmd", {"importCollection": "o"}, inner=True)],
                None)),
            ("deep", 10, "nests applyOps more than 8 deep",
             lambda c: c.entry("c", "admin.$cmd", d["o"], ui=False)),
            ("damaged", 4, "has no prevOpTime", lambda c: c.entry(
                "c", "admin.$cmd", {"commitTransaction": 1,
                                    "commitTimestamp": Timestamp(S, c.inc + 1)},
                ui=False, session=(1, 1)))):
        c2 = Corpus("7.0")
        c2.entry("n", "", {"msg": "periodic noop"}, ui=False)
        c2.mark_t0()
        at = make(c2)
        server2 = type(oplog_server)()
        server2.start()
        try:
            pit2 = make_pit(tool, server2, tmp_path, [c2.entries[i] for i in sorted(c2.entries)],
                            (S, c2.t0), name=name)
        finally:
            server2.stop()
        p = restore(tool, pit2, ts(at), "--to", pit2["base"] / "r", check=False)
        assert p.returncode == code, (name, p.stderr)
        assert "entry at %s" % ts(at) in p.stderr and text in p.stderr, (name, p.stderr)
        assert not (pit2["base"] / "r").exists()


def test_transaction_chains_mongod_never_writes_are_refused(tool, oplog_server, tmp_path):
    """Found with the pit fuzz target (fuzz/fuzz_pit.c): a prevOpTime chain that does not run
    back in time (two parts naming each other) made the planner loop, growing its list without
    end, and a part named by two commits was applied twice, or with one of them only. Both are
    damage mongod never writes: exit 4 naming the entries, quickly, nothing written."""
    from txn_entries import _inner, _txn_entry

    def noop(inc):
        return entry(S, inc)

    ops = [_inner("i", "test.t", 1)]
    cases = {
        "cycle": ([noop(1), _txn_entry(S, 2, ops, (S, 3), 5, {"partialTxn": True}),
                   _txn_entry(S, 3, ops, (S, 2), 5, {"partialTxn": True}),
                   _txn_entry(S, 4, ops, (S, 3), 5, {"count": Int64(3)})],
                  "entry at %s names %s as its previous entry, which is not before it"
                  % (ts(2), ts(3))),
        "shared": ([noop(1), _txn_entry(S, 2, ops, (0, 0), 5, {"partialTxn": True}),
                    _txn_entry(S, 3, ops, (S, 2), 5, {"count": Int64(2)}),
                    _txn_entry(S, 4, ops, (S, 2), 6, {"count": Int64(2)})],
                   "entry at %s is named by the commits at %s and at %s" % (ts(2), ts(3), ts(4))),
    }
    for name, (ents, text) in cases.items():
        server = type(oplog_server)()
        server.start()
        try:
            pit = make_pit(tool, server, tmp_path, ents, (S, 1), name=name)
        finally:
            server.stop()
        # From T0 (every part in the slice) and from inside the chain (parts read back).
        for t0_note, extra in (("slice", ()), ("early", ("--from", ts(3)))):
            if extra:
                p = tool.run("oplog", "export", "--store", pit["ostore"], "--out",
                             pit["base"] / "x.bson", "--until", ts(4), *extra, check=False,
                             timeout=30)
            else:
                p = tool.run("pit", "restore", "--snapshot", pit["sid"], "--store", pit["snaps"],
                             "--oplog-store", pit["ostore"], "--until", ts(4), "--to",
                             pit["base"] / "r", check=False, timeout=30)
            assert p.returncode == 4, (name, t0_note, p.returncode, p.stderr)
            assert text in p.stderr and "damaged" in p.stderr, (name, t0_note, p.stderr)
            assert not (pit["base"] / "r").exists() and not (pit["base"] / "x.bson").exists()
