# SPDX-License-Identifier: Apache-2.0
"""Every replay and export path over the corpus of oplog entries each mongod line writes
(oplog_corpus.py, whose docstring lists the shapes): pit restore --to writes exactly the entries
the corpus tags (transaction parts from before T0 first, commits decided by commitTimestamp
after TS last), byte for byte; --target applies what mongorestore --oplogReplay would apply from
that oplog.bson (with ui stripped, and with ui kept when the target runs on the snapshot's files);
oplog export --from any point inside a transaction never tears it.
"""
import bson
import pytest

from oplog_corpus import (LINES, S, build, delivered, mongorestore_replay, tool_replay, uuid)
from pitutil import make_pit, restore_to


@pytest.mark.parametrize("line", LINES)
def test_corpus_restore_and_replay(tool, oplog_server, tmp_path, line):
    c = build(line)
    pit = make_pit(tool, oplog_server, tmp_path, [c.entries[i] for i in sorted(c.entries)],
                   (S, c.t0))
    until = "%d:%d" % (S, c.ts)

    # --to: the oplog.bson mongorestore replays.
    j, got = restore_to(tool, pit, until)
    want = delivered(c)
    assert [d["ts"].inc for d in got] == want, line
    assert [d.raw for d in got] == [c.entries[i].raw for i in want]
    # The chains plus the small transaction (one applyOps); an 8.0 retryable applyOps is none.
    assert j["transactions_committed"] == len(c.chains) + 1
    docs = [bson.decode(d.raw) for d in got]

    # --target alone on a rebuilt target (its collections have UUIDs of their own, which the
    # replay asks for): ui stripped, as mongorestore does by default.
    oplog_server.applied.clear()
    oplog_server.collections = {"shop.orders": bson.Binary(b"\xee" * 16, 4)}
    p = tool.run("pit", "restore", "--snapshot", pit["sid"], "--store", pit["snaps"],
                 "--oplog-store", pit["ostore"], "--until", until, "--target", oplog_server.uri,
                 "--json")
    assert '"uuids" : "stripped"' in p.stdout, p.stdout
    model = mongorestore_replay(docs, preserve_uuid=False)
    assert tool_replay(oplog_server.applied) == model, line
    assert not any("ui" in op for kind, op in model if kind == "applyOps")

    # --target alone on a node started on the snapshot's files: its UUIDs are the source's.
    oplog_server.applied.clear()
    oplog_server.collections = {"shop.orders": uuid("shop.orders")}
    p = tool.run("pit", "restore", "--snapshot", pit["sid"], "--store", pit["snaps"],
                 "--oplog-store", pit["ostore"], "--until", until, "--target", oplog_server.uri,
                 "--json")
    assert '"uuids" : "kept"' in p.stdout, p.stdout
    assert tool_replay(oplog_server.applied) == mongorestore_replay(docs, preserve_uuid=True)

    # --to and --target: the target runs on the snapshot's files; ui kept (--preserveUUID).
    oplog_server.applied.clear()
    j, got2 = restore_to(tool, pit, until, "--target", oplog_server.uri)
    assert [d.raw for d in got2] == [d.raw for d in got]
    assert j["replayed"]["uuids"] == "kept"
    model = mongorestore_replay(docs, preserve_uuid=True)
    assert tool_replay(oplog_server.applied) == model, line
    assert any("ui" in op for kind, op in model if kind == "applyOps")
    assert j["replayed"]["transactions"] == len(c.chains) + 1


@pytest.mark.parametrize("line", LINES)
def test_corpus_export_never_tears_a_transaction(tool, oplog_server, tmp_path, line):
    c = build(line)
    pit = make_pit(tool, oplog_server, tmp_path, [c.entries[i] for i in sorted(c.entries)],
                   (S, c.t0))
    froms = {1, c.t0 + 1}
    chains = c.chains + c.later
    for chain in chains:
        froms.update(range(chain[0] + 1, chain[-1] + 1))
    for f in sorted(froms):
        got = tool.exported(pit["ostore"], "--from", "%d:%d" % (S, f))
        incs = [d["ts"].inc for d in got]
        early = sorted({i for chain in chains if chain[-1] >= f for i in chain if i < f})
        assert incs == early + [i for i in sorted(c.entries) if i >= f], (line, f)
        assert [d.raw for d in got] == [c.entries[i].raw for i in incs]
